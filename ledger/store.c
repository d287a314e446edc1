/* The LevelDB adapter: the only file in upledger that includes LevelDB. It maps LevelDB's
 * errptr strings to ul_err codes and frees them here, so no LevelDB string or type leaks out.
 */
#include <assert.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <leveldb/c.h>

#include "ul_ledger.h"

/* LevelDB's default block cache is 8 MiB; a node reads log nodes and recent blocks far more
 * than that, so 64 MiB unless the caller says otherwise. */
#define STORE_DEFAULT_CACHE_BYTES ((size_t)64 << 20)
/* Bloom filter bits per key: LevelDB's recommended 10 (about 1% false positives). */
#define STORE_BLOOM_BITS 10
/* LevelDB's default write buffer is 4 MiB. A validator under load writes about 0.5 KiB per release,
 * so at 3,000 releases/s the default flushes a level-0 table every few seconds and the compactions
 * that follow took 12% of a validator's CPU in the 4-validator benchmark. 32 MiB flushes
 * eight times less often; the cost is up to twice that in memory and a longer log replay at open. */
#define STORE_WRITE_BUFFER_BYTES ((size_t)32 << 20)
/* Entries ul_store_disk_bytes will look at: a LevelDB directory holds a few thousand files
 * at most (2 MiB tables), so this bound only stops a runaway on a wrong directory. */
#define STORE_MAX_DIR_ENTRIES 10000000

struct ul_store {
    leveldb_t *db;
    leveldb_options_t *opts;
    leveldb_cache_t *cache;
    leveldb_filterpolicy_t *bloom;
    leveldb_readoptions_t *ropts;
    leveldb_writeoptions_t *wopts_sync;
    leveldb_writeoptions_t *wopts_nosync;
};

struct ul_batch {
    leveldb_writebatch_t *wb;
};

struct ul_store_iter {
    leveldb_iterator_t *it;
    uint8_t *prefix;
    size_t plen;
    bool started;
};

/* LevelDB reports the lock held by another opener (or this process) as an IOError whose text
 * starts "IO error: lock <dir>/LOCK: ...". Matching the prefix, not any "lock" substring, keeps
 * a directory named e.g. "blocks" from looking like a lock error. */
static ul_err open_err(const char *err)
{
    static const char lock_prefix[] = "IO error: lock ";
    if (strncmp(err, lock_prefix, sizeof(lock_prefix) - 1) == 0) {
        return UL_E_LOCKED;
    }
    /* Opening without create where no database exists: "... does not exist
     * (create_if_missing is false)". */
    if (strstr(err, "(create_if_missing is false)") != NULL) {
        return UL_E_NOT_FOUND;
    }
    return UL_E_STORE;
}

void ul_store_compact(ul_store *s)
{
    leveldb_compact_range(s->db, NULL, 0, NULL, 0);
}

void ul_store_close(ul_store *s)
{
    if (!s) {
        return;
    }
    if (s->db) {
        leveldb_close(s->db);
    }
    /* The options reference the cache and filter policy: destroy them after the database. */
    if (s->opts) {
        leveldb_options_destroy(s->opts);
    }
    if (s->bloom) {
        leveldb_filterpolicy_destroy(s->bloom);
    }
    if (s->cache) {
        leveldb_cache_destroy(s->cache);
    }
    if (s->ropts) {
        leveldb_readoptions_destroy(s->ropts);
    }
    if (s->wopts_sync) {
        leveldb_writeoptions_destroy(s->wopts_sync);
    }
    if (s->wopts_nosync) {
        leveldb_writeoptions_destroy(s->wopts_nosync);
    }
    free(s);
}

ul_err ul_store_open(ul_store **out, const char *dir, bool create, size_t cache_bytes)
{
    assert(out && dir);
    *out = NULL;
    char *err = NULL;
    ul_err rc = UL_E_NOMEM;
    if (!create) {
        /* LevelDB creates the directory, LOCK and LOG even when it then refuses to create the
         * database: look first, so opening a mistyped path leaves nothing behind. */
        char current[4096];
        struct stat st;
        snprintf(current, sizeof current, "%s/CURRENT", dir);
        if (stat(current, &st) != 0) {
            return UL_E_NOT_FOUND;
        }
    }
    ul_store *s = calloc(1, sizeof(*s));
    if (!s) {
        goto out;
    }
    s->opts = leveldb_options_create();
    s->cache = leveldb_cache_create_lru(cache_bytes ? cache_bytes : STORE_DEFAULT_CACHE_BYTES);
    s->bloom = leveldb_filterpolicy_create_bloom(STORE_BLOOM_BITS);
    s->ropts = leveldb_readoptions_create();
    s->wopts_sync = leveldb_writeoptions_create();
    s->wopts_nosync = leveldb_writeoptions_create();
    if (!s->opts || !s->cache || !s->bloom || !s->ropts || !s->wopts_sync || !s->wopts_nosync) {
        goto out;
    }
    leveldb_options_set_create_if_missing(s->opts, create ? 1 : 0);
    leveldb_options_set_cache(s->opts, s->cache);
    leveldb_options_set_filter_policy(s->opts, s->bloom);
    /* No compression: most of what a node stores is hashes, signatures and signed CBOR, which
     * Snappy barely shrinks, and compressing every table cost about 2% of a validator's CPU. */
    leveldb_options_set_compression(s->opts, leveldb_no_compression);
    leveldb_options_set_write_buffer_size(s->opts, STORE_WRITE_BUFFER_BYTES);
    leveldb_writeoptions_set_sync(s->wopts_sync, 1);
    leveldb_writeoptions_set_sync(s->wopts_nosync, 0);

    s->db = leveldb_open(s->opts, dir, &err);
    if (err) {
        rc = open_err(err);
        s->db = NULL;
        goto out;
    }
    *out = s;
    s = NULL;
    rc = UL_OK;
out:
    leveldb_free(err);
    ul_store_close(s);
    return rc;
}

ul_err ul_store_get(ul_store *s, const uint8_t *key, size_t klen, uint8_t **val, size_t *vlen)
{
    assert(s && key && val && vlen);
    char *err = NULL;
    size_t n = 0;
    *val = NULL;
    *vlen = 0;
    char *v = leveldb_get(s->db, s->ropts, (const char *)key, klen, &n, &err);
    if (err) {
        leveldb_free(err);
        leveldb_free(v);
        return UL_E_STORE;
    }
    if (!v) {
        return UL_E_NOT_FOUND;
    }
    /* leveldb_get's buffer comes from LevelDB's malloc; hand out one from ours (a zero-length
     * value still gets a non-NULL pointer so callers can tell it from "absent"). */
    uint8_t *copy = malloc(n ? n : 1);
    if (!copy) {
        leveldb_free(v);
        return UL_E_NOMEM;
    }
    memcpy(copy, v, n);
    leveldb_free(v);
    *val = copy;
    *vlen = n;
    return UL_OK;
}

ul_err ul_store_get_fixed(ul_store *s, const uint8_t *key, size_t klen, uint8_t *out, size_t cap)
{
    assert(s && key && (out || cap == 0));
    char *err = NULL;
    size_t n = 0;
    /* The C API always returns a fresh buffer: copy it straight into the caller's memory. */
    char *v = leveldb_get(s->db, s->ropts, (const char *)key, klen, &n, &err);
    ul_err rc = UL_OK;
    if (err) {
        rc = UL_E_STORE;
    } else if (!v) {
        rc = UL_E_NOT_FOUND;
    } else if (n != cap) {
        rc = UL_E_CORRUPT;
    } else if (cap) {
        memcpy(out, v, cap);
    }
    leveldb_free(err);
    leveldb_free(v);
    return rc;
}

ul_batch *ul_batch_create(void)
{
    ul_batch *b = calloc(1, sizeof(*b));
    if (!b) {
        return NULL;
    }
    b->wb = leveldb_writebatch_create();
    if (!b->wb) {
        free(b);
        return NULL;
    }
    return b;
}

void ul_batch_destroy(ul_batch *b)
{
    if (!b) {
        return;
    }
    leveldb_writebatch_destroy(b->wb);
    free(b);
}

void ul_batch_put(ul_batch *b, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
    assert(b && key && (val || vlen == 0));
    leveldb_writebatch_put(b->wb, (const char *)key, klen, (const char *)val, vlen);
}

void ul_batch_delete(ul_batch *b, const uint8_t *key, size_t klen)
{
    assert(b && key);
    leveldb_writebatch_delete(b->wb, (const char *)key, klen);
}

void ul_batch_clear(ul_batch *b)
{
    assert(b);
    leveldb_writebatch_clear(b->wb);
}

ul_err ul_store_write(ul_store *s, ul_batch *b, bool sync)
{
    assert(s && b);
    char *err = NULL;
    leveldb_write(s->db, sync ? s->wopts_sync : s->wopts_nosync, b->wb, &err);
    if (err) {
        leveldb_free(err);
        return UL_E_STORE;
    }
    return UL_OK;
}

/* Returns: <0, 0, >0 as bytes a sort before, equal to, after bytes b (LevelDB's order). */
static int key_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    int c = n ? memcmp(a, b, n) : 0;
    if (c != 0) {
        return c;
    }
    return alen < blen ? -1 : (alen > blen ? 1 : 0);
}

ul_err ul_store_iter_create(ul_store_iter **out, ul_store *s, const uint8_t *prefix, size_t plen,
                            const uint8_t *start, size_t slen)
{
    assert(out && s && (prefix || plen == 0) && (start || slen == 0));
    *out = NULL;
    ul_store_iter *it = calloc(1, sizeof(*it));
    if (!it) {
        return UL_E_NOMEM;
    }
    it->prefix = malloc(plen ? plen : 1);
    it->it = leveldb_create_iterator(s->db, s->ropts);
    if (!it->prefix || !it->it) {
        ul_store_iter_destroy(it);
        return UL_E_NOMEM;
    }
    if (plen) {
        memcpy(it->prefix, prefix, plen);
    }
    it->plen = plen;
    /* A start key below the prefix would land before the family: seek the later of the two. */
    if (key_cmp(start, slen, prefix, plen) >= 0) {
        leveldb_iter_seek(it->it, (const char *)start, slen);
    } else {
        leveldb_iter_seek(it->it, (const char *)prefix, plen);
    }
    *out = it;
    return UL_OK;
}

bool ul_store_iter_next(ul_store_iter *it, const uint8_t **key, size_t *klen, const uint8_t **val,
                        size_t *vlen)
{
    assert(it && key && klen && val && vlen);
    if (it->started && leveldb_iter_valid(it->it)) {
        leveldb_iter_next(it->it);
    }
    it->started = true;
    if (!leveldb_iter_valid(it->it)) {
        return false;
    }
    size_t kl = 0, vl = 0;
    const char *k = leveldb_iter_key(it->it, &kl);
    if (kl < it->plen || (it->plen && memcmp(k, it->prefix, it->plen) != 0)) {
        return false;
    }
    const char *v = leveldb_iter_value(it->it, &vl);
    *key = (const uint8_t *)k;
    *klen = kl;
    *val = (const uint8_t *)v;
    *vlen = vl;
    return true;
}

void ul_store_iter_destroy(ul_store_iter *it)
{
    if (!it) {
        return;
    }
    if (it->it) {
        leveldb_iter_destroy(it->it);
    }
    free(it->prefix);
    free(it);
}

/* Copies the iterator's entry out when it lies in the prefix's family. */
static ul_err floor_take(leveldb_iterator_t *it, const uint8_t *prefix, size_t plen,
                         uint8_t *found, size_t cap, size_t *flen, uint8_t **val, size_t *vlen)
{
    size_t kl = 0, vl = 0;
    const char *k = leveldb_iter_valid(it) ? leveldb_iter_key(it, &kl) : NULL;
    if (!k || kl < plen || (plen && memcmp(k, prefix, plen) != 0)) {
        return UL_E_NOT_FOUND;
    }
    if (kl > cap) {
        return UL_E_CORRUPT;
    }
    const char *v = leveldb_iter_value(it, &vl);
    if (!(*val = malloc(vl ? vl : 1))) {
        return UL_E_NOMEM;
    }
    memcpy(found, k, kl);
    memcpy(*val, v, vl);
    *flen = kl;
    *vlen = vl;
    return UL_OK;
}

ul_err ul_store_get_floor(ul_store *s, const uint8_t *prefix, size_t plen, const uint8_t *key,
                          size_t klen, uint8_t *found, size_t cap, size_t *flen, uint8_t **val,
                          size_t *vlen)
{
    assert(s && (prefix || plen == 0) && key && found && flen && val && vlen);
    *val = NULL;
    leveldb_iterator_t *it = leveldb_create_iterator(s->db, s->ropts);
    if (!it) {
        return UL_E_NOMEM;
    }
    /* Seek lands on the least key >= key: step back once unless it is key itself; past the end
     * of the database the last key is the candidate. */
    leveldb_iter_seek(it, (const char *)key, klen);
    if (!leveldb_iter_valid(it)) {
        leveldb_iter_seek_to_last(it);
    } else {
        size_t kl = 0;
        const char *k = leveldb_iter_key(it, &kl);
        if (key_cmp((const uint8_t *)k, kl, key, klen) > 0) {
            leveldb_iter_prev(it);
        }
    }
    ul_err e = floor_take(it, prefix, plen, found, cap, flen, val, vlen);
    char *err = NULL;
    leveldb_iter_get_error(it, &err);
    if (err) {
        leveldb_free(err);
        free(*val);
        *val = NULL;
        e = UL_E_STORE;
    }
    leveldb_iter_destroy(it);
    return e;
}

uint64_t ul_store_disk_bytes(const char *dir)
{
    assert(dir);
    DIR *d = opendir(dir);
    if (!d) {
        return 0;
    }
    uint64_t total = 0;
    struct dirent *e;
    for (long n = 0; n < STORE_MAX_DIR_ENTRIES && (e = readdir(d)) != NULL; n++) {
        struct stat st;
        if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode)) {
            total += (uint64_t)st.st_size;
        }
    }
    closedir(d);
    return total;
}
