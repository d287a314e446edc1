/* The store's public API over its two backends: LevelDB (store_leveldb.c, a node's disk) and
 * memory (store_mem.c, a simulated disk). Checks the arguments, keeps the sticky fault and the
 * last error text in one place, keeps a small read cache, and dispatches; the ledger above
 * cannot tell them apart.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

/* What the last failed store call of this thread said: the backend's message and what was read. */
static _Thread_local char last_text[UL_STORE_TEXT_MAX];

_Static_assert((UL_STORE_CACHE_SLOTS & (UL_STORE_CACHE_SLOTS - 1)) == 0,
               "a slot is a mask of the key's hash");
_Static_assert(UL_STORE_CACHE_KEY_MAX <= UINT8_MAX && UL_STORE_CACHE_VAL_MAX <= UINT16_MAX,
               "a slot's lengths fit its fields");

ul_store *ul_store_new(const ul_store_ops *ops, void *be)
{
    ul_store *s = calloc(1, sizeof *s);
    if (s) {
        s->ops = ops;
        s->be = be;
        s->cache = calloc(UL_STORE_CACHE_SLOTS, sizeof *s->cache); /* none: reads go through */
        pthread_mutex_init(&s->mu, NULL);
    }
    return s;
}

/* ---- The read cache: values read, dropped by every write of their key ---------------------- */

/* FNV-1a: keys are chosen by the ledger, and one chosen to collide only costs a read. */
static ul_store_slot *slot_of(const ul_store *s, const uint8_t *key, size_t klen)
{
    uint64_t h = 14695981039346656037ULL;
    for (size_t i = 0; i < klen; i++) {
        h = (h ^ key[i]) * 1099511628211ULL;
    }
    return &s->cache[h & (UL_STORE_CACHE_SLOTS - 1)];
}

static bool slot_is(const ul_store_slot *sl, const uint8_t *key, size_t klen)
{
    return sl->used && sl->klen == klen && memcmp(sl->key, key, klen) == 0;
}

/* Whether the cache answers for key. If it does, *e is UL_OK with the value copied to a new
 * buffer, or UL_E_NOT_FOUND when the key was read absent. */
static bool cache_get(ul_store *s, const uint8_t *key, size_t klen, uint8_t **val, size_t *vlen,
                      ul_err *e)
{
    bool hit = false;
    if (!s->cache || klen > UL_STORE_CACHE_KEY_MAX) {
        return false;
    }
    pthread_mutex_lock(&s->mu);
    const ul_store_slot *sl = slot_of(s, key, klen);
    if (slot_is(sl, key, klen) && sl->absent) {
        *e = UL_E_NOT_FOUND;
        hit = true;
    } else if (slot_is(sl, key, klen)) {
        uint8_t *copy = malloc(sl->vlen ? sl->vlen : 1);
        if (copy) {
            memcpy(copy, sl->val, sl->vlen);
            *val = copy;
            *vlen = sl->vlen;
            *e = UL_OK;
            hit = true;
        }
    }
    pthread_mutex_unlock(&s->mu);
    return hit;
}

/* Keeps key's value (or, absent, that it has none) read while the store was at write count gen. */
static void cache_put(ul_store *s, uint64_t gen, const uint8_t *key, size_t klen, bool absent,
                      const uint8_t *val, size_t vlen)
{
    if (!s->cache || klen > UL_STORE_CACHE_KEY_MAX || vlen > UL_STORE_CACHE_VAL_MAX) {
        return;
    }
    pthread_mutex_lock(&s->mu);
    /* Else a write came between the read and now, or is under way: it may be stale. */
    if (s->gen == gen && s->writing == 0) {
        ul_store_slot *sl = slot_of(s, key, klen);
        sl->used = true;
        sl->absent = absent;
        sl->klen = (uint8_t)klen;
        sl->vlen = (uint16_t)vlen;
        memcpy(sl->key, key, klen);
        if (!absent) {
            memcpy(sl->val, val, vlen);
        }
    }
    pthread_mutex_unlock(&s->mu);
}

static void cache_drop(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
    ul_store *s = ctx;
    (void)val, (void)vlen;
    ul_store_slot *sl = klen <= UL_STORE_CACHE_KEY_MAX ? slot_of(s, key, klen) : NULL;
    if (sl && slot_is(sl, key, klen)) {
        sl->used = false;
    }
}

/* Before a write (whether or not it lands): none of its keys is kept any more, and (begin) no
 * read is kept until cache_end: a read landing while the write is under way may see either. */
static void cache_forget(ul_store *s, const ul_batch *b, bool begin)
{
    if (!s->cache) {
        return;
    }
    pthread_mutex_lock(&s->mu);
    s->gen++;
    s->writing += begin;
    if (b) {
        ul_batch_iterate(b, s, cache_drop);
    } else {
        memset(s->cache, 0, UL_STORE_CACHE_SLOTS * sizeof *s->cache);
    }
    pthread_mutex_unlock(&s->mu);
}

/* After the write: reads are kept again, but not one that began before this (gen moves on). */
static void cache_end(ul_store *s)
{
    if (!s->cache) {
        return;
    }
    pthread_mutex_lock(&s->mu);
    s->gen++;
    s->writing--;
    pthread_mutex_unlock(&s->mu);
}

ul_err ul_store_note(ul_store *s, ul_err e, const char *err, const char *context, bool sticky)
{
    snprintf(last_text, sizeof last_text, "%s%s%s", err, context[0] ? " " : "", context);
    if (s && (sticky || e == UL_E_CORRUPT) && s->fault != UL_E_CORRUPT) {
        s->fault = e;
        memcpy(s->fault_text, last_text, sizeof s->fault_text);
    }
    return e;
}

void ul_store_describe_key(char *out, size_t cap, const uint8_t *k, size_t klen)
{
    uint8_t f = klen ? k[0] : 0;
    if (klen >= 9 &&
        (f == UL_KEY_HEADER || f == UL_KEY_COMMIT || f == UL_KEY_TX || f == UL_KEY_VALSET)) {
        snprintf(out, cap, "key '%c' of height %llu", f, (unsigned long long)ul_be64_get(k + 1));
    } else if (f == UL_KEY_META && klen < 32) {
        snprintf(out, cap, "key \"%.*s\"", (int)klen, (const char *)k);
    } else if (f > 0x20 && f < 0x7f) {
        snprintf(out, cap, "a key of family '%c'", f);
    } else {
        snprintf(out, cap, "a key of family 0x%02x", f);
    }
}

int ul_store_key_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    int c = n ? memcmp(a, b, n) : 0;
    if (c != 0) {
        return c;
    }
    return alen < blen ? -1 : (alen > blen ? 1 : 0);
}

const char *ul_store_last_error(void)
{
    return last_text;
}

ul_err ul_store_fault(const ul_store *s, const char **text)
{
    assert(s);
    if (text) {
        *text = s->fault_text;
    }
    return s->fault;
}

void ul_store_compact(ul_store *s)
{
    assert(s);
    s->ops->compact(s);
}

void ul_store_close(ul_store *s)
{
    if (!s) {
        return;
    }
    s->ops->close(s);
    pthread_mutex_destroy(&s->mu);
    free(s->cache);
    free(s);
}

ul_err ul_store_get(ul_store *s, const uint8_t *key, size_t klen, uint8_t **val, size_t *vlen)
{
    assert(s && key && val && vlen);
    *val = NULL;
    *vlen = 0;
    ul_err e;
    if (cache_get(s, key, klen, val, vlen, &e)) {
        return e;
    }
    pthread_mutex_lock(&s->mu);
    uint64_t gen = s->gen;
    pthread_mutex_unlock(&s->mu);
    e = s->ops->get(s, key, klen, val, vlen);
    if (e == UL_OK || e == UL_E_NOT_FOUND) {
        /* Misses too: a dependency's namespace without a release is looked up for every
         * release that needs it, and a LevelDB miss walks every level the key could be in. */
        cache_put(s, gen, key, klen, e == UL_E_NOT_FOUND, *val, *vlen);
    }
    return e;
}

ul_err ul_store_get_fixed(ul_store *s, const uint8_t *key, size_t klen, uint8_t *out, size_t cap)
{
    assert(s && key && (out || cap == 0));
    return s->ops->get_fixed(s, key, klen, out, cap);
}

ul_err ul_store_write(ul_store *s, ul_batch *b, bool sync)
{
    assert(s && b);
    /* After a failed write the log may end in a torn record: writing on would bury it mid-log,
     * where the next open reads it as damage. Nothing is written until ul_store_recover. */
    if (s->fault != UL_OK) {
        return s->fault;
    }
    /* The batch's keys are dropped before the write, and nothing read is kept until it is done:
     * a read that landed while the write was under way may have seen the old value. (This used
     * to drop the batch's keys a second time after the write, a walk of every key of every
     * block: 0.4% of a validator's CPU at 1000 releases/s.) */
    cache_forget(s, b, true);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ul_err e = s->ops->write(s, b, sync);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    cache_end(s);
    if (sync) {
        s->sync_stats.count++;
        s->sync_stats.ns += (uint64_t)(t1.tv_sec - t0.tv_sec) * 1000000000u + (uint64_t)t1.tv_nsec -
                            (uint64_t)t0.tv_nsec;
    }
    return e;
}

void ul_store_sync_stats_get(const ul_store *s, ul_store_sync_stats *out)
{
    assert(s && out);
    *out = s->sync_stats;
}

void ul_store_size(ul_store *s, uint64_t *approx, uint64_t *disk)
{
    assert(s && approx && disk);
    s->ops->size(s, approx, disk);
}

static ul_err iter_create(ul_store_iter **out, ul_store *s, const uint8_t *prefix, size_t plen,
                          const uint8_t *start, size_t slen, bool desc)
{
    *out = NULL;
    ul_store_iter *it = calloc(1, sizeof(*it));
    if (!it) {
        return UL_E_NOMEM;
    }
    it->s = s;
    it->desc = desc;
    it->prefix = malloc(plen ? plen : 1);
    if (!it->prefix) {
        ul_store_iter_destroy(it);
        return UL_E_NOMEM;
    }
    if (plen) {
        memcpy(it->prefix, prefix, plen);
    }
    it->plen = plen;
    ul_err e = s->ops->iter_seek(it, start, slen);
    if (e != UL_OK) {
        ul_store_iter_destroy(it);
        return e;
    }
    *out = it;
    return UL_OK;
}

ul_err ul_store_iter_create(ul_store_iter **out, ul_store *s, const uint8_t *prefix, size_t plen,
                            const uint8_t *start, size_t slen)
{
    assert(out && s && (prefix || plen == 0) && (start || slen == 0));
    return iter_create(out, s, prefix, plen, start, slen, false);
}

ul_err ul_store_iter_create_desc(ul_store_iter **out, ul_store *s, const uint8_t *prefix,
                                 size_t plen, const uint8_t *start, size_t slen)
{
    assert(out && s && prefix && plen && start && slen);
    return iter_create(out, s, prefix, plen, start, slen, true);
}

bool ul_store_iter_next(ul_store_iter *it, const uint8_t **key, size_t *klen, const uint8_t **val,
                        size_t *vlen)
{
    assert(it && key && klen && val && vlen);
    return it->s->ops->iter_next(it, key, klen, val, vlen);
}

void ul_store_iter_destroy(ul_store_iter *it)
{
    if (!it) {
        return;
    }
    if (it->be) {
        it->s->ops->iter_free(it);
    }
    free(it->prefix);
    free(it);
}

ul_err ul_store_get_floor(ul_store *s, const uint8_t *prefix, size_t plen, const uint8_t *key,
                          size_t klen, uint8_t *found, size_t cap, size_t *flen, uint8_t **val,
                          size_t *vlen)
{
    assert(s && (prefix || plen == 0) && key && found && flen && val && vlen);
    *val = NULL;
    return s->ops->get_floor(s, prefix, plen, key, klen, found, cap, flen, val, vlen);
}

ul_err ul_store_verify(ul_store *s, uint64_t *entries)
{
    assert(s && entries);
    *entries = 0;
    return s->ops->verify(s, entries);
}

ul_err ul_store_recover(ul_store *s)
{
    assert(s);
    if (s->fault == UL_OK || s->fault == UL_E_CORRUPT) {
        return s->fault;
    }
    cache_forget(s, NULL, false); /* a reopened store holds what its log kept */
    ul_err e = s->ops->recover(s);
    if (e == UL_OK) {
        s->fault = UL_OK;
        s->fault_text[0] = '\0';
    }
    return e;
}
