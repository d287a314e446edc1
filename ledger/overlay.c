/* The pending block's write set: an open-addressing hash table keyed by store key, so that
 * transactions in one block see each other's effects before anything reaches LevelDB. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "internal.h"

#define OV_INITIAL_CAP 1024
/* Arena chunk size: a block's writes are about ten small entries per release (~1 KiB), so a
 * 500-release block fills two chunks, where it made ~5,000 mallocs and frees. */
#define OV_CHUNK_BYTES ((size_t)256 << 10)

ul_err ul_overlay_init(ul_overlay *o)
{
    memset(o, 0, sizeof *o);
    o->slots = calloc(OV_INITIAL_CAP, sizeof *o->slots);
    if (!o->slots) {
        return UL_E_NOMEM;
    }
    o->cap = OV_INITIAL_CAP;
    randombytes_buf(o->seed, sizeof o->seed);
    return UL_OK;
}

/* Frees every chunk after keep (keep NULL: all of them). */
static void arena_free_after(ul_ov_chunk *keep, ul_ov_chunk *c)
{
    while (c) {
        ul_ov_chunk *next = c->next;
        free(c);
        c = next;
    }
    if (keep) {
        keep->next = NULL;
        keep->used = 0;
    }
}

void ul_overlay_clear(ul_overlay *o)
{
    for (size_t i = 0; i < o->cap && o->n > 0; i++) {
        if (o->slots[i].key) {
            o->slots[i].key = NULL;
            o->n--;
        }
    }
    o->n = 0;
    /* The newest chunk is kept for the next block: one chunk's worth of puts allocates nothing. */
    if (o->arena) {
        arena_free_after(o->arena, o->arena->next);
    }
}

void ul_overlay_free(ul_overlay *o)
{
    if (!o->slots) {
        return;
    }
    ul_overlay_clear(o);
    arena_free_after(NULL, o->arena);
    o->arena = NULL;
    free(o->slots);
    o->slots = NULL;
}

/* n bytes that live until the next clear, or NULL when out of memory. */
static uint8_t *arena_alloc(ul_overlay *o, size_t n)
{
    ul_ov_chunk *c = o->arena;
    if (!c || c->cap - c->used < n) {
        size_t cap = n > OV_CHUNK_BYTES ? n : OV_CHUNK_BYTES;
        if (!(c = malloc(sizeof *c + cap))) {
            return NULL;
        }
        c->next = o->arena;
        c->used = 0;
        c->cap = cap;
        o->arena = c;
    }
    uint8_t *p = c->data + c->used;
    c->used += n;
    return p;
}

static size_t slot_of(const ul_overlay *o, const uint8_t *key, size_t klen)
{
    uint8_t h[crypto_shorthash_BYTES];
    crypto_shorthash(h, key, klen, o->seed);
    uint64_t v;
    memcpy(&v, h, sizeof v);
    return (size_t)v & (o->cap - 1);
}

static ul_ov_entry *find(const ul_overlay *o, const uint8_t *key, size_t klen)
{
    size_t i = slot_of(o, key, klen);
    for (size_t probes = 0; probes < o->cap; probes++) {
        ul_ov_entry *e = &o->slots[i];
        if (!e->key) {
            return e;
        }
        if (e->klen == klen && memcmp(e->key, key, klen) == 0) {
            return e;
        }
        i = (i + 1) & (o->cap - 1);
    }
    return NULL; /* unreachable: the table is never more than half full */
}

static ul_err grow(ul_overlay *o)
{
    ul_overlay bigger = *o;
    bigger.cap = o->cap * 2;
    bigger.slots = calloc(bigger.cap, sizeof *bigger.slots);
    if (!bigger.slots) {
        return UL_E_NOMEM;
    }
    for (size_t i = 0; i < o->cap; i++) {
        if (o->slots[i].key) {
            *find(&bigger, o->slots[i].key, o->slots[i].klen) = o->slots[i];
        }
    }
    free(o->slots);
    *o = bigger;
    return UL_OK;
}

ul_err ul_overlay_put(ul_overlay *o, const uint8_t *key, size_t klen, const uint8_t *val,
                      size_t vlen)
{
    if ((o->n + 1) * 2 > o->cap && grow(o) != UL_OK) {
        return UL_E_NOMEM;
    }
    /* Key and value share one piece of the arena. A key written again leaves its old piece
     * there until the block is done: a block's puts are bounded by its transactions. */
    uint8_t *mem = arena_alloc(o, klen + vlen + 1);
    if (!mem) {
        return UL_E_NOMEM;
    }
    memcpy(mem, key, klen);
    if (vlen) {
        memcpy(mem + klen, val, vlen);
    }
    ul_ov_entry *e = find(o, key, klen);
    if (!e->key) {
        o->n++;
    }
    *e = (ul_ov_entry){.key = mem, .klen = klen, .val = mem + klen, .vlen = vlen};
    return UL_OK;
}

const ul_ov_entry *ul_overlay_get(const ul_overlay *o, const uint8_t *key, size_t klen)
{
    const ul_ov_entry *e = find(o, key, klen);
    return (e && e->key) ? e : NULL;
}
