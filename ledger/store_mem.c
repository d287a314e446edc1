/* The memory backend of the store and the simulated disk under it, for the whole-node simulator:
 * a sorted map with LevelDB's semantics (atomic batches, byte order, sticky faults), whose
 * unsynced writes a crash drops and whose faults (a full disk, damaged reads) a seeded RNG drives.
 * Nothing here reads a clock or the system's randomness: the same calls give the same bytes.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* One stored entry; bad: its bytes are damaged (every read of it is UL_E_CORRUPT). */
typedef struct {
    uint8_t *k, *v;
    size_t klen, vlen;
    bool bad;
} mem_ent;

/* Entries in ascending key order (ul_store_key_cmp, LevelDB's), found by binary search. */
typedef struct {
    mem_ent *e;
    size_t n, cap;
} mem_map;

/* A batch written without sync, kept as records (op 1: 0 delete, 1 put; klen 4 BE; key; for a
 * put vlen 4 BE; value) until a synced write makes it durable or a crash drops it. */
typedef struct {
    uint8_t *b;
    size_t len, cap;
} mem_rec;

struct ul_memdisk {
    mem_map live;    /* what the store reads: every write applied */
    mem_map durable; /* what survives a crash: synced writes and the batches before them */
    mem_rec *pend;   /* unsynced batches, oldest first */
    size_t n_pend, cap_pend;
    bool created;       /* a store was created on it (LevelDB's CURRENT exists) */
    bool open;          /* a store holds it (LevelDB's lock) */
    bool full;          /* writes fail with UL_E_NO_SPACE */
    unsigned bad_reads; /* the next reads that fail as damaged */
    uint64_t gen;       /* bumped by a crash: a store opened before it is cut off */
};

/* A memory store: the disk and the generation it was opened in. */
typedef struct {
    ul_memdisk *d;
    uint64_t gen;
} mem_store;

/* A cursor: copies of the entry handed out last (valid until the next call, whatever is written
 * meanwhile); each step searches the live map again from that key. */
typedef struct {
    mem_rec key, val;
    bool at_end;
} mem_cursor;

static const char crashed_text[] = "IO error: the memory disk crashed under this store";

void ul_rng_seed(ul_rng *r, uint64_t seed)
{
    assert(r);
    r->s = seed;
}

uint64_t ul_rng_next(ul_rng *r)
{
    /* splitmix64 (Steele, Lea, Flood 2014): reproducible dice, not cryptography. */
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

uint64_t ul_rng_below(ul_rng *r, uint64_t n)
{
    assert(n > 0);
    return ul_rng_next(r) % n; /* the modulo bias is irrelevant for fault dice */
}

static bool rec_put(mem_rec *r, const void *p, size_t n)
{
    if (r->cap - r->len < n) {
        size_t cap = r->cap ? r->cap : 64;
        while (cap - r->len < n) {
            cap *= 2;
        }
        uint8_t *b = realloc(r->b, cap);
        if (!b) {
            return false;
        }
        r->b = b;
        r->cap = cap;
    }
    if (n) {
        memcpy(r->b + r->len, p, n);
    }
    r->len += n;
    return true;
}

/* Returns: the index of the least entry >= key (m->n: none). */
static size_t map_lower(const mem_map *m, const uint8_t *key, size_t klen)
{
    size_t lo = 0, hi = m->n;
    while (lo < hi) { /* halves each pass */
        size_t mid = lo + (hi - lo) / 2;
        if (ul_store_key_cmp(m->e[mid].k, m->e[mid].klen, key, klen) < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return lo;
}

static bool map_is(const mem_map *m, size_t i, const uint8_t *key, size_t klen)
{
    return i < m->n && ul_store_key_cmp(m->e[i].k, m->e[i].klen, key, klen) == 0;
}

/* Puts (val non-NULL) or deletes key. Returns: false when out of memory (m unchanged). */
static bool map_apply(mem_map *m, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
    size_t i = map_lower(m, key, klen);
    bool hit = map_is(m, i, key, klen);
    if (!val) {
        if (hit) {
            free(m->e[i].k);
            free(m->e[i].v);
            memmove(m->e + i, m->e + i + 1, (m->n - i - 1) * sizeof *m->e);
            m->n--;
        }
        return true;
    }
    uint8_t *v = malloc(vlen ? vlen : 1), *k = hit ? NULL : malloc(klen ? klen : 1);
    if (!v || (!hit && !k)) {
        free(v);
        free(k);
        return false;
    }
    memcpy(v, val, vlen);
    if (hit) {
        free(m->e[i].v);
        m->e[i] = (mem_ent){m->e[i].k, v, m->e[i].klen, vlen, false};
        return true;
    }
    if (m->n == m->cap) {
        size_t cap = m->cap ? 2 * m->cap : 256;
        mem_ent *e = realloc(m->e, cap * sizeof *e);
        if (!e) {
            free(v);
            free(k);
            return false;
        }
        m->e = e;
        m->cap = cap;
    }
    memcpy(k, key, klen);
    memmove(m->e + i + 1, m->e + i, (m->n - i) * sizeof *m->e);
    m->e[i] = (mem_ent){k, v, klen, vlen, false};
    m->n++;
    return true;
}

static void map_free(mem_map *m)
{
    for (size_t i = 0; i < m->n; i++) {
        free(m->e[i].k);
        free(m->e[i].v);
    }
    free(m->e);
    *m = (mem_map){0};
}

/* Out: dst, a deep copy of src. Returns: false when out of memory (dst then empty). */
static bool map_copy(mem_map *dst, const mem_map *src)
{
    *dst = (mem_map){0};
    for (size_t i = 0; i < src->n; i++) { /* appends in order: map_apply never moves entries */
        const mem_ent *s = &src->e[i];
        if (!map_apply(dst, s->k, s->klen, s->v, s->vlen)) {
            map_free(dst);
            return false;
        }
        dst->e[dst->n - 1].bad = s->bad;
    }
    return true;
}

/* Applies the records r[0..len) to m. Returns: false when out of memory (m may hold a part). */
static bool rec_apply(mem_map *m, const uint8_t *r, size_t len)
{
    for (size_t o = 0; o < len;) { /* each pass consumes one record the encoder wrote */
        bool put = r[o] == 1;
        size_t klen = ul_be32_get(r + o + 1), vlen = put ? ul_be32_get(r + o + 5 + klen) : 0;
        const uint8_t *k = r + o + 5, *v = put ? r + o + 9 + klen : NULL;
        if (!map_apply(m, k, klen, v, vlen)) {
            return false;
        }
        o += 5 + klen + (put ? 4 + vlen : 0);
    }
    return true;
}

/* ul_batch_iterate's callback: appends one record (a failure leaves ctx's len at SIZE_MAX). */
static void rec_add(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
    mem_rec *r = ctx;
    uint8_t op = val ? 1 : 0, n[4];
    if (r->len == SIZE_MAX) {
        return;
    }
    bool ok = klen <= UINT32_MAX && vlen <= UINT32_MAX && rec_put(r, &op, 1);
    ul_be32_put(n, (uint32_t)klen);
    ok = ok && rec_put(r, n, 4) && rec_put(r, key, klen);
    ul_be32_put(n, (uint32_t)vlen);
    ok = ok && (!val || (rec_put(r, n, 4) && rec_put(r, val, vlen)));
    if (!ok) {
        r->len = SIZE_MAX;
    }
}

ul_err ul_memdisk_create(ul_memdisk **out)
{
    assert(out);
    *out = calloc(1, sizeof **out);
    return *out ? UL_OK : UL_E_NOMEM;
}

static void pend_drop(ul_memdisk *d)
{
    for (size_t i = 0; i < d->n_pend; i++) {
        free(d->pend[i].b);
    }
    d->n_pend = 0;
}

void ul_memdisk_destroy(ul_memdisk *d)
{
    if (!d) {
        return;
    }
    assert(!d->open); /* close the store first */
    map_free(&d->live);
    map_free(&d->durable);
    pend_drop(d);
    free(d->pend);
    free(d);
}

ul_err ul_memdisk_crash(ul_memdisk *d, ul_rng *rng)
{
    assert(d);
    /* A real disk may have written any prefix of what was not synced; a batch is one log
     * record, so it lands whole or not at all. */
    size_t keep = rng ? (size_t)ul_rng_below(rng, d->n_pend + 1) : 0;
    bool ok = true;
    for (size_t i = 0; i < keep && ok; i++) {
        ok = rec_apply(&d->durable, d->pend[i].b, d->pend[i].len);
    }
    pend_drop(d);
    map_free(&d->live);
    ok = ok && map_copy(&d->live, &d->durable);
    d->gen++;
    d->open = false;
    d->bad_reads = 0;
    return ok ? UL_OK : UL_E_NOMEM;
}

void ul_memdisk_set_full(ul_memdisk *d, bool full)
{
    assert(d);
    d->full = full;
}

void ul_memdisk_corrupt_reads(ul_memdisk *d, unsigned n)
{
    assert(d);
    d->bad_reads = n;
}

/* Marks the entry of key bad in m. Returns: true when m holds it. */
static bool map_damage(mem_map *m, const uint8_t *key, size_t klen)
{
    size_t i = map_lower(m, key, klen);
    if (!map_is(m, i, key, klen)) {
        return false;
    }
    m->e[i].bad = true;
    return true;
}

ul_err ul_memdisk_corrupt_key(ul_memdisk *d, const uint8_t *key, size_t klen)
{
    assert(d && key);
    bool live = map_damage(&d->live, key, klen);
    bool durable = map_damage(&d->durable, key, klen);
    return live || durable ? UL_OK : UL_E_NOT_FOUND;
}

ul_err ul_memdisk_corrupt_random(ul_memdisk *d, ul_rng *rng, const uint8_t *prefix, size_t plen)
{
    assert(d && rng && (prefix || plen == 0));
    size_t lo = map_lower(&d->live, prefix, plen), hi = lo;
    while (hi < d->live.n && d->live.e[hi].klen >= plen && /* bounded by the map's size */
           (plen == 0 || memcmp(d->live.e[hi].k, prefix, plen) == 0)) {
        hi++;
    }
    if (hi == lo) {
        return UL_E_NOT_FOUND;
    }
    const mem_ent *e = &d->live.e[lo + ul_rng_below(rng, hi - lo)];
    return ul_memdisk_corrupt_key(d, e->k, e->klen);
}

size_t ul_memdisk_unsynced(const ul_memdisk *d)
{
    assert(d);
    return d->n_pend;
}

size_t ul_memdisk_entries(const ul_memdisk *d)
{
    assert(d);
    return d->live.n;
}

void ul_memdisk_hash(const ul_memdisk *d, bool durable, uint8_t out32[UL_HASH_BYTES])
{
    assert(d && out32);
    const mem_map *m = durable ? &d->durable : &d->live;
    ul_sha256 h;
    uint8_t n[8];
    ul_client_sha256_init(&h);
    for (size_t i = 0; i < m->n; i++) {
        ul_be64_put(n, m->e[i].klen);
        ul_client_sha256_update(&h, n, 8);
        ul_client_sha256_update(&h, m->e[i].k, m->e[i].klen);
        ul_be64_put(n, m->e[i].vlen);
        ul_client_sha256_update(&h, n, 8);
        ul_client_sha256_update(&h, m->e[i].v, m->e[i].vlen);
    }
    ul_client_sha256_final(&h, out32);
}

/* ---- The store over a disk ---------------------------------------------------------------- */

static ul_memdisk *D(const ul_store *s)
{
    return ((mem_store *)s->be)->d;
}

/* Returns: UL_OK when s may read or write its disk; the error of a crash under it, else. */
static ul_err mem_alive(ul_store *s)
{
    const mem_store *m = s->be;
    if (m->gen != m->d->gen) {
        return ul_store_note(s, UL_E_STORE, crashed_text, "", true);
    }
    return UL_OK;
}

/* Reads entry i of the live map (i == n: none). Returns: UL_OK, or UL_E_CORRUPT (noted as the
 * store's fault) for a damaged entry or a read the disk was told to fail. */
static ul_err mem_read(ul_store *s, size_t i, const uint8_t *key, size_t klen)
{
    ul_memdisk *d = D(s);
    bool bad = i < d->live.n && d->live.e[i].bad;
    if (!bad && d->bad_reads == 0) {
        return UL_OK;
    }
    if (!bad) {
        d->bad_reads--;
    }
    char ctx[UL_STORE_TEXT_MAX / 2], k[128];
    ul_store_describe_key(k, sizeof k, key, klen);
    snprintf(ctx, sizeof ctx, "(reading %s on the memory disk)", k);
    return ul_store_note(s, UL_E_CORRUPT, "Corruption: checksum mismatch", ctx, false);
}

static void mem_close(ul_store *s)
{
    mem_store *m = s->be;
    if (m->gen == m->d->gen) {
        m->d->open = false;
    }
    free(m);
}

static const ul_store_ops mem_ops;

ul_err ul_store_open_mem(ul_store **out, ul_memdisk *d, bool create)
{
    assert(out && d);
    *out = NULL;
    if (d->open) {
        return ul_store_note(NULL, UL_E_LOCKED, "IO error: lock memory disk", "(already open)",
                             false);
    }
    if (!d->created && !create) {
        return UL_E_NOT_FOUND;
    }
    mem_store *m = calloc(1, sizeof *m);
    if (!m || !(*out = ul_store_new(&mem_ops, m))) {
        free(m);
        return UL_E_NOMEM;
    }
    *m = (mem_store){d, d->gen};
    d->created = true; /* created durably, as LevelDB syncs its first manifest */
    d->open = true;
    return UL_OK;
}

/* Out: *e, the live entry of key. Returns: UL_OK; UL_E_NOT_FOUND; a crash's or a damaged read's
 * error. */
static ul_err mem_find(ul_store *s, const uint8_t *key, size_t klen, const mem_ent **e)
{
    ul_err rc = mem_alive(s);
    const mem_map *m = &D(s)->live;
    size_t i = map_lower(m, key, klen);
    if (rc != UL_OK || (rc = mem_read(s, i, key, klen)) != UL_OK) {
        return rc;
    }
    *e = map_is(m, i, key, klen) ? &m->e[i] : NULL;
    return *e ? UL_OK : UL_E_NOT_FOUND;
}

static ul_err mem_get(ul_store *s, const uint8_t *key, size_t klen, uint8_t **val, size_t *vlen)
{
    const mem_ent *f;
    ul_err e = mem_find(s, key, klen, &f);
    if (e != UL_OK) {
        return e;
    }
    /* A zero-length value still gets a non-NULL pointer, as the LevelDB backend's. */
    if (!(*val = malloc(f->vlen ? f->vlen : 1))) {
        return UL_E_NOMEM;
    }
    memcpy(*val, f->v, f->vlen);
    *vlen = f->vlen;
    return UL_OK;
}

static ul_err mem_get_fixed(ul_store *s, const uint8_t *key, size_t klen, uint8_t *out, size_t cap)
{
    const mem_ent *f;
    ul_err e = mem_find(s, key, klen, &f);
    if (e != UL_OK) {
        return e;
    }
    if (f->vlen != cap) {
        return UL_E_CORRUPT;
    }
    if (cap) {
        memcpy(out, f->v, cap);
    }
    return UL_OK;
}

/* Makes the unsynced batches durable, oldest first. Returns: false when out of memory. */
static bool mem_sync(ul_memdisk *d)
{
    for (size_t i = 0; i < d->n_pend; i++) {
        if (!rec_apply(&d->durable, d->pend[i].b, d->pend[i].len)) {
            return false;
        }
    }
    pend_drop(d);
    return true;
}

/* Keeps r (taken) as the newest unsynced batch. Returns: false when out of memory. */
static bool pend_push(ul_memdisk *d, mem_rec *r)
{
    if (d->n_pend == d->cap_pend) {
        size_t cap = d->cap_pend ? 2 * d->cap_pend : 16;
        mem_rec *p = realloc(d->pend, cap * sizeof *p);
        if (!p) {
            return false;
        }
        d->pend = p;
        d->cap_pend = cap;
    }
    d->pend[d->n_pend++] = *r;
    *r = (mem_rec){0};
    return true;
}

static ul_err mem_write(ul_store *s, ul_batch *b, bool sync)
{
    ul_memdisk *d = D(s);
    mem_rec r = {0};
    ul_err e = mem_alive(s);
    if (e != UL_OK) {
        return e;
    }
    ul_batch_iterate(b, &r, rec_add);
    size_t n_put = 0;
    for (size_t o = 0; r.len != SIZE_MAX && o < r.len;) { /* each pass steps over one record */
        size_t klen = ul_be32_get(r.b + o + 1);
        bool put = r.b[o] == 1;
        n_put += put;
        o += 5 + klen + (put ? 4 + ul_be32_get(r.b + o + 5 + klen) : 0);
    }
    /* Checked before anything changes, so a refused batch leaves no part behind. */
    if (r.len == SIZE_MAX) {
        e = ul_store_note(s, UL_E_STORE, "IO error: out of memory", "(writing)", true);
    } else if (d->full || d->live.n + n_put > UL_MAX_MEMSTORE_ENTRIES) {
        e = ul_store_note(s, UL_E_NO_SPACE, "IO error: memory disk: No space left on device",
                          "(writing)", true);
    } else if (!rec_apply(&d->live, r.b, r.len) || (sync && !mem_sync(d)) ||
               (sync ? !rec_apply(&d->durable, r.b, r.len) : !pend_push(d, &r))) {
        e = ul_store_note(s, UL_E_STORE, "IO error: out of memory", "(writing)", true);
    }
    free(r.b);
    return e;
}

/* Out: *i, the entry a cursor stands on next (n: none). */
static size_t mem_step(const ul_store_iter *it, const mem_map *m, const uint8_t *key, size_t klen,
                       bool first)
{
    size_t i = map_lower(m, key, klen);
    bool hit = map_is(m, i, key, klen);
    if (!it->desc) {
        return first || !hit ? i : i + 1;
    }
    /* Descending: the greatest key <= key (at the start) or < key (after it). */
    if (first && hit) {
        return i;
    }
    return i == 0 ? m->n : i - 1;
}

static ul_err mem_iter_seek(ul_store_iter *it, const uint8_t *start, size_t slen)
{
    ul_err e = mem_alive(it->s);
    if (e != UL_OK) {
        return e;
    }
    mem_cursor *c = calloc(1, sizeof *c);
    if (!c) {
        return UL_E_NOMEM;
    }
    /* A start key below the prefix would land before the family: start at the later. */
    bool below = !it->desc && ul_store_key_cmp(start, slen, it->prefix, it->plen) < 0;
    if (!(below ? rec_put(&c->key, it->prefix, it->plen) : rec_put(&c->key, start, slen))) {
        free(c);
        return UL_E_NOMEM;
    }
    it->be = c;
    return UL_OK;
}

static bool mem_iter_next(ul_store_iter *it, const uint8_t **key, size_t *klen, const uint8_t **val,
                          size_t *vlen)
{
    mem_cursor *c = it->be;
    if (c->at_end || mem_alive(it->s) != UL_OK) {
        return false;
    }
    const mem_map *m = &D(it->s)->live;
    size_t i = mem_step(it, m, c->key.b, c->key.len, !it->started);
    it->started = true;
    c->at_end = true;
    if (mem_read(it->s, i, it->prefix, it->plen) != UL_OK || i >= m->n) {
        return false;
    }
    const mem_ent *e = &m->e[i];
    if (e->klen < it->plen || (it->plen && memcmp(e->k, it->prefix, it->plen) != 0)) {
        return false;
    }
    c->key.len = c->val.len = 0;
    if (!rec_put(&c->key, e->k, e->klen) || !rec_put(&c->val, e->v, e->vlen)) {
        return false;
    }
    c->at_end = false;
    *key = c->key.b;
    *klen = e->klen;
    *val = c->val.b ? c->val.b : (const uint8_t *)"";
    *vlen = e->vlen;
    return true;
}

static void mem_iter_free(ul_store_iter *it)
{
    mem_cursor *c = it->be;
    free(c->key.b);
    free(c->val.b);
    free(c);
}

static ul_err mem_get_floor(ul_store *s, const uint8_t *prefix, size_t plen, const uint8_t *key,
                            size_t klen, uint8_t *found, size_t cap, size_t *flen, uint8_t **val,
                            size_t *vlen)
{
    ul_err e = mem_alive(s);
    const mem_map *m = &D(s)->live;
    size_t i = map_lower(m, key, klen);
    if (!map_is(m, i, key, klen)) {
        i = i == 0 ? m->n : i - 1;
    }
    if (e != UL_OK || (e = mem_read(s, i, key, klen)) != UL_OK) {
        return e;
    }
    const mem_ent *f = i < m->n ? &m->e[i] : NULL;
    if (!f || f->klen < plen || (plen && memcmp(f->k, prefix, plen) != 0)) {
        return UL_E_NOT_FOUND;
    }
    if (f->klen > cap) {
        return UL_E_CORRUPT;
    }
    if (!(*val = malloc(f->vlen ? f->vlen : 1))) {
        return UL_E_NOMEM;
    }
    memcpy(found, f->k, f->klen);
    memcpy(*val, f->v, f->vlen);
    *flen = f->klen;
    *vlen = f->vlen;
    return UL_OK;
}

static ul_err mem_verify(ul_store *s, uint64_t *entries)
{
    ul_err e = mem_alive(s);
    const mem_map *m = &D(s)->live;
    for (size_t i = 0; e == UL_OK && i < m->n; i++) {
        if (m->e[i].bad) {
            char ctx[UL_STORE_TEXT_MAX / 2], a[128] = "the first key";
            if (i) {
                ul_store_describe_key(a, sizeof a, m->e[i - 1].k, m->e[i - 1].klen);
            }
            snprintf(ctx, sizeof ctx, "(damaged entries after %s on the memory disk)", a);
            return ul_store_note(s, UL_E_CORRUPT, "Corruption: checksum mismatch", ctx, false);
        }
        (*entries)++;
    }
    return e;
}

static ul_err mem_recover(ul_store *s)
{
    const mem_store *m = s->be;
    /* A reopen replays what this process wrote: unsynced batches stay (no crash happened). */
    return m->gen != m->d->gen || m->d->full ? s->fault : UL_OK;
}

static void mem_compact(ul_store *s)
{
    (void)s;
}

static void mem_size(ul_store *s, uint64_t *approx, uint64_t *disk)
{
    const mem_map *m = &D(s)->live;
    uint64_t bytes = 0;
    for (size_t i = 0; i < m->n; i++) {
        bytes += m->e[i].klen + m->e[i].vlen;
    }
    *approx = *disk = bytes;
}

static const ul_store_ops mem_ops = {
    .close = mem_close,
    .get = mem_get,
    .get_fixed = mem_get_fixed,
    .write = mem_write,
    .iter_seek = mem_iter_seek,
    .iter_next = mem_iter_next,
    .iter_free = mem_iter_free,
    .get_floor = mem_get_floor,
    .verify = mem_verify,
    .recover = mem_recover,
    .compact = mem_compact,
    .size = mem_size,
};
