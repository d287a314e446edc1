/* The signature cache: leaf hashes of transactions whose every signature verified, so that a tx
 * admitted to the mempool, then executed in a proposal and again at commit, is verified once.
 * Bounded (UL_MAX_SIG_CACHE, FIFO eviction) and shared by the execution and parallel paths. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

_Static_assert(UL_MAX_SIG_CACHE > 0 && UL_MAX_SIG_CACHE < UINT32_MAX / 4,
               "ring slots are indexed by uint32 and the index has 2-4 slots per entry");

/* Index slots: a power of two at least twice the ring, so a probe ends within a few slots. */
static size_t index_slots(void)
{
    size_t n = 1;
    while (n < 2 * (size_t)UL_MAX_SIG_CACHE) {
        n <<= 1;
    }
    return n;
}

/* The keys are SHA-256 outputs already: their first bytes are a uniform index. Steering them
 * costs an attacker a valid signature per try, and nothing failing enters the cache. */
static size_t home(const ul_sigcache *s, const uint8_t key32[UL_HASH_BYTES])
{
    uint64_t v;
    memcpy(&v, key32, sizeof v);
    return (size_t)v & s->mask;
}

ul_err ul_sigcache_init(ul_sigcache *s)
{
    memset(s, 0, sizeof *s);
    return pthread_mutex_init(&s->mu, NULL) == 0 ? UL_OK : UL_E_NOMEM;
}

void ul_sigcache_free(ul_sigcache *s)
{
    free(s->ring);
    free(s->index);
    pthread_mutex_destroy(&s->mu);
    memset(s, 0, sizeof *s);
}

/* Slot of key in the index, or the free slot that ends its probe. Caller holds the lock. */
static size_t find(const ul_sigcache *s, const uint8_t key32[UL_HASH_BYTES], bool *found)
{
    size_t i = home(s, key32);
    *found = false;
    for (size_t step = 0; step <= s->mask; step++, i = (i + 1) & s->mask) {
        if (s->index[i] == 0) {
            return i;
        }
        if (memcmp(s->ring[s->index[i] - 1], key32, UL_HASH_BYTES) == 0) {
            *found = true;
            return i;
        }
    }
    abort(); /* unreachable: the index is never more than half full */
}

/* Removes the entry at index slot i by shifting later members of its probe run back (linear
 * probing without tombstones, Knuth 6.4 Algorithm R). */
static void remove_at(ul_sigcache *s, size_t i)
{
    size_t j = i;
    for (size_t step = 0; step < s->mask; step++) {
        j = (j + 1) & s->mask;
        if (s->index[j] == 0) {
            break;
        }
        size_t k = home(s, s->ring[s->index[j] - 1]);
        /* The entry at j may fill the hole at i unless its home lies cyclically in (i, j]. */
        bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
        if (!stays) {
            s->index[i] = s->index[j];
            i = j;
        }
    }
    s->index[i] = 0;
}

bool ul_sigcache_has(ul_sigcache *s, const uint8_t leaf32[UL_HASH_BYTES])
{
    bool found = false;
    pthread_mutex_lock(&s->mu);
    if (s->index) {
        find(s, leaf32, &found);
    }
    if (!found) {
        s->misses++;
    }
    pthread_mutex_unlock(&s->mu);
    return found;
}

void ul_sigcache_add(ul_sigcache *s, const uint8_t leaf32[UL_HASH_BYTES])
{
    pthread_mutex_lock(&s->mu);
    if (!s->index) { /* first use: a chain that never verifies pays nothing */
        size_t slots = index_slots();
        s->ring = malloc((size_t)UL_MAX_SIG_CACHE * sizeof *s->ring);
        s->index = calloc(slots, sizeof *s->index);
        if (!s->ring || !s->index) { /* the cache only saves work: run without it */
            free(s->ring);
            free(s->index);
            s->ring = NULL;
            s->index = NULL;
            goto out;
        }
        s->mask = slots - 1;
    }
    bool found;
    size_t i = find(s, leaf32, &found);
    if (found) {
        goto out;
    }
    if (s->n == UL_MAX_SIG_CACHE) { /* full: the oldest entry gives its ring slot up */
        bool old_found;
        size_t old = find(s, s->ring[s->next], &old_found);
        assert(old_found);
        remove_at(s, old);
        s->n--;
        i = find(s, leaf32, &found); /* the shift may have moved the free slot */
    }
    memcpy(s->ring[s->next], leaf32, UL_HASH_BYTES);
    s->index[i] = (uint32_t)s->next + 1;
    s->next = (s->next + 1) % UL_MAX_SIG_CACHE;
    s->n++;
out:
    pthread_mutex_unlock(&s->mu);
}

size_t ul_sigcache_size(ul_sigcache *s)
{
    pthread_mutex_lock(&s->mu);
    size_t n = s->n;
    pthread_mutex_unlock(&s->mu);
    return n;
}
