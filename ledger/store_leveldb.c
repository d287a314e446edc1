/* The LevelDB backend of the store (ledger/store.c dispatches): the only file in upledger that
 * includes LevelDB. It maps LevelDB's
 * errptr strings to ul_err codes and frees them here, so no LevelDB string or type leaks out;
 * what a failure said is kept as text (ul_store_fault, ul_store_last_error) for callers to log.
 * Checksums are verified on every read and paranoid checks are on: damage is an error
 * (UL_E_CORRUPT), never a silently skipped block.
 */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <leveldb/c.h>

#include "internal.h"

/* LevelDB's default block cache is 8 MiB; a node reads log nodes and recent blocks far more
 * than that, so 64 MiB unless the caller says otherwise. */
#define STORE_DEFAULT_CACHE_BYTES ((size_t)64 << 20)
/* Bloom filter bits per key: LevelDB's recommended 10 (about 1% false positives). */
#define STORE_BLOOM_BITS 10
/* LevelDB's default write buffer is 4 MiB. A validator under load writes about 0.5 KiB per release,
 * so at 3,000 releases/s the default flushes a level-0 table every few seconds and the compactions
 * that follow took 12% of a validator's CPU in the 4-validator benchmark. 32 MiB flushes
 * eight times less often; the cost is up to twice that in memory and a longer log replay at open.
 */
#define STORE_WRITE_BUFFER_BYTES ((size_t)32 << 20)
/* Entries ul_store_disk_bytes will look at: a LevelDB directory holds a few thousand files
 * at most (2 MiB tables), so this bound only stops a runaway on a wrong directory. */
#define STORE_MAX_DIR_ENTRIES 10000000
/* Free space ul_store_recover wants beyond the write-ahead logs before it reopens a store whose
 * writes failed: reopening flushes the logs into a table and writes a new manifest and log. */
#define STORE_REOPEN_SPARE_BYTES ((uint64_t)1 << 20)

typedef struct {
    leveldb_t *db; /* NULL after a reopen that failed: every call returns the fault */
    char *dir;
    leveldb_options_t *opts;
    leveldb_cache_t *cache;
    leveldb_filterpolicy_t *bloom;
    leveldb_readoptions_t *ropts;
    leveldb_writeoptions_t *wopts_sync;
    leveldb_writeoptions_t *wopts_nosync;
} ldb;

/* The backend state of a LevelDB store. */
static ldb *L(const ul_store *s)
{
    return s->be;
}

struct ul_batch {
    leveldb_writebatch_t *wb;
};

/* LevelDB's Status::ToString: "Corruption: ..." for damage (a checksum that does not match, a
 * missing table), "IO error: PATH: strerror(errno)" for a failed file operation. */
static ul_err map_err(const char *err)
{
    static const char corrupt[] = "Corruption: ";
    if (strncmp(err, corrupt, sizeof(corrupt) - 1) == 0) {
        return UL_E_CORRUPT;
    }
    return strstr(err, strerror(ENOSPC)) != NULL ? UL_E_NO_SPACE : UL_E_STORE;
}

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
    return map_err(err);
}

/* Replaying a damaged log fails the open with "Corruption: checksum mismatch" alone; LevelDB's
 * info log (DIR/LOG, rewritten at each open) names the file: "TIME THREAD DIR/NUM.log: dropping
 * N bytes; Corruption: ...". Out: the last such line without time and thread, or "". */
static void info_log_damage(const char *dir, char *out, size_t cap)
{
    char path[4200], line[1024];
    out[0] = '\0';
    snprintf(path, sizeof path, "%s/LOG", dir);
    FILE *f = fopen(path, "r");
    while (f && fgets(line, sizeof line, f)) { /* LOG holds one open's lines: a few dozen */
        const char *p = strstr(line, "Corruption: ") ? strchr(line, ' ') : NULL;
        if (p && (p = strchr(p + 1, ' ')) != NULL) {
            snprintf(out, cap, "(%.*s)", (int)strcspn(p + 1, "\n"), p + 1);
        }
    }
    if (f) {
        fclose(f);
    }
}

/* Undoes LevelDB's EscapeString (bytes outside ' '..'~' as \xNN) of p[0..n). Returns the length. */
static size_t unescape(const char *p, size_t n, uint8_t *out, size_t cap)
{
    size_t len = 0;
    for (size_t i = 0; i < n && len < cap; len++) {
        unsigned v;
        if (p[i] == '\\' && i + 4 <= n && p[i + 1] == 'x' && sscanf(p + i + 2, "%2x", &v) == 1) {
            out[len] = (uint8_t)v;
            i += 4;
        } else {
            out[len] = (uint8_t)p[i++];
        }
    }
    return len;
}

/* One line of the "leveldb.sstables" property: " NUM:SIZE['LOW' @ SEQ : T .. 'HIGH' @ SEQ : T]".
 * Returns: true when the table's key range meets [lo, hi]; *num is its file number. */
static bool table_meets(const char *line, const uint8_t *lo, size_t lolen, const uint8_t *hi,
                        size_t hilen, unsigned long *num)
{
    uint8_t a[UL_STORE_KEY_SHOWN * 2], b[UL_STORE_KEY_SHOWN * 2];
    const char *open = strstr(line, "['"), *sep = open ? strstr(open, "' @ ") : NULL;
    const char *mid = sep ? strstr(sep, " .. '") : NULL, *end = mid ? strrchr(mid, '@') : NULL;
    if (sscanf(line, " %lu:", num) != 1 || !end || end - mid < 7) {
        return false;
    }
    size_t al = unescape(open + 2, (size_t)(sep - open - 2), a, sizeof a);
    size_t bl = unescape(mid + 5, (size_t)(end - 2 - (mid + 5)), b, sizeof b);
    return ul_store_key_cmp(a, al, hi, hilen) <= 0 && ul_store_key_cmp(lo, lolen, b, bl) <= 0;
}

/* LevelDB 1.23's "block checksum mismatch" names no file: the tables whose key range meets the
 * damaged keys [lo, hi] do (usually one). Appends " in DIR/NUM.ldb[, ...]" to out. */
static void name_tables(ul_store *s, const uint8_t *lo, size_t lolen, const uint8_t *hi,
                        size_t hilen, char *out, size_t cap)
{
    ldb *d = L(s);
    char *prop = d->db ? leveldb_property_value(d->db, "leveldb.sstables") : NULL;
    size_t used = strlen(out);
    unsigned long num;
    int found = 0;
    for (char *line = prop, *next; line && *line && used + 1 < cap; line = next) {
        next = strchr(line, '\n');
        if (next) {
            *next++ = '\0';
        } else {
            next = line + strlen(line);
        }
        if (table_meets(line, lo, lolen, hi, hilen, &num)) {
            int w = snprintf(out + used, cap - used, "%s%s/%06lu.ldb", found++ ? ", " : " in ",
                             d->dir, num);
            used = w < 0 ? cap : used + (size_t)w;
        }
    }
    leveldb_free(prop);
}

static ul_err note_read(ul_store *s, const char *err, const uint8_t *key, size_t klen)
{
    char ctx[UL_STORE_TEXT_MAX / 2], k[128];
    ul_store_describe_key(k, sizeof k, key, klen);
    snprintf(ctx, sizeof ctx, "(reading %s", k);
    if (map_err(err) == UL_E_CORRUPT) {
        name_tables(s, key, klen, key, klen, ctx, sizeof ctx);
    }
    strncat(ctx, ")", sizeof ctx - strlen(ctx) - 1);
    return ul_store_note(s, map_err(err), err, ctx, false);
}

static void ldb_compact(ul_store *s)
{
    if (L(s)->db) {
        leveldb_compact_range(L(s)->db, NULL, 0, NULL, 0);
    }
}

/* Every family's first byte is below 0xff (ul_ledger.h): ["", "\xff") is the whole store. */
static void ldb_size(ul_store *s, uint64_t *approx, uint64_t *disk)
{
    const char *start[1] = {""}, *limit[1] = {"\xff"};
    size_t slen[1] = {0}, llen[1] = {1};
    uint64_t size[1] = {0};
    if (L(s)->db) {
        leveldb_approximate_sizes(L(s)->db, 1, start, slen, limit, llen, size);
    }
    *approx = size[0];
    *disk = ul_store_disk_bytes(L(s)->dir);
}

static void ldb_free(ldb *d)
{
    if (!d) {
        return;
    }
    if (d->db) {
        leveldb_close(d->db);
    }
    /* The options reference the cache and filter policy: destroy them after the database. */
    if (d->opts) {
        leveldb_options_destroy(d->opts);
    }
    if (d->bloom) {
        leveldb_filterpolicy_destroy(d->bloom);
    }
    if (d->cache) {
        leveldb_cache_destroy(d->cache);
    }
    if (d->ropts) {
        leveldb_readoptions_destroy(d->ropts);
    }
    if (d->wopts_sync) {
        leveldb_writeoptions_destroy(d->wopts_sync);
    }
    if (d->wopts_nosync) {
        leveldb_writeoptions_destroy(d->wopts_nosync);
    }
    free(d->dir);
    free(d);
}

static void ldb_close(ul_store *s)
{
    ldb_free(L(s));
}

/* Out: d's options (cache_bytes 0: the default cache). Returns: false when out of memory. */
static bool ldb_options(ldb *d, bool create, size_t cache_bytes)
{
    d->opts = leveldb_options_create();
    d->cache = leveldb_cache_create_lru(cache_bytes ? cache_bytes : STORE_DEFAULT_CACHE_BYTES);
    d->bloom = leveldb_filterpolicy_create_bloom(STORE_BLOOM_BITS);
    d->ropts = leveldb_readoptions_create();
    d->wopts_sync = leveldb_writeoptions_create();
    d->wopts_nosync = leveldb_writeoptions_create();
    if (!d->opts || !d->cache || !d->bloom || !d->ropts || !d->wopts_sync || !d->wopts_nosync) {
        return false;
    }
    leveldb_options_set_create_if_missing(d->opts, create ? 1 : 0);
    leveldb_options_set_cache(d->opts, d->cache);
    leveldb_options_set_filter_policy(d->opts, d->bloom);
    /* No compression: most of what a node stores is hashes, signatures and signed CBOR, which
     * Snappy barely shrinks, and compressing every table cost about 2% of a validator's CPU. */
    leveldb_options_set_compression(d->opts, leveldb_no_compression);
    leveldb_options_set_write_buffer_size(d->opts, STORE_WRITE_BUFFER_BYTES);
    leveldb_writeoptions_set_sync(d->wopts_sync, 1);
    leveldb_writeoptions_set_sync(d->wopts_nosync, 0);
    /* Damage is an error, not a silent wrong answer: paranoid checks make a log or manifest
     * that does not check out fail the open (and a failed background compaction stop writes);
     * every read verifies the checksums of the blocks it reads. */
    leveldb_options_set_paranoid_checks(d->opts, 1);
    leveldb_readoptions_set_verify_checksums(d->ropts, 1);
    return true;
}

static const ul_store_ops ldb_ops;

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
    ldb *d = calloc(1, sizeof(*d));
    if (!d || !(d->dir = strdup(dir)) || !ldb_options(d, create, cache_bytes)) {
        goto out;
    }
    d->db = leveldb_open(d->opts, dir, &err);
    if (err) {
        char ctx[UL_STORE_TEXT_MAX / 2] = "";
        if (open_err(err) == UL_E_CORRUPT) {
            info_log_damage(dir, ctx, sizeof ctx);
        }
        rc = ul_store_note(NULL, open_err(err), err, ctx, false);
        d->db = NULL;
        goto out;
    }
    if (!(*out = ul_store_new(&ldb_ops, d))) {
        goto out;
    }
    d = NULL;
    rc = UL_OK;
out:
    leveldb_free(err);
    ldb_free(d);
    return rc;
}

static ul_err ldb_get(ul_store *s, const uint8_t *key, size_t klen, uint8_t **val, size_t *vlen)
{
    char *err = NULL;
    size_t n = 0;
    if (!L(s)->db) {
        return s->fault;
    }
    char *v = leveldb_get(L(s)->db, L(s)->ropts, (const char *)key, klen, &n, &err);
    if (err) {
        ul_err e = note_read(s, err, key, klen);
        leveldb_free(err);
        leveldb_free(v);
        return e;
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

static ul_err ldb_get_fixed(ul_store *s, const uint8_t *key, size_t klen, uint8_t *out, size_t cap)
{
    char *err = NULL;
    size_t n = 0;
    if (!L(s)->db) {
        return s->fault;
    }
    /* The C API always returns a fresh buffer: copy it straight into the caller's memory. */
    char *v = leveldb_get(L(s)->db, L(s)->ropts, (const char *)key, klen, &n, &err);
    ul_err rc = UL_OK;
    if (err) {
        rc = note_read(s, err, key, klen);
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

/* ul_batch_iterate's callback and its context, as leveldb_writebatch_iterate's state. */
typedef struct {
    void *ctx;
    void (*fn)(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen);
} batch_walk;

static void walk_put(void *state, const char *k, size_t klen, const char *v, size_t vlen)
{
    batch_walk *w = state;
    w->fn(w->ctx, (const uint8_t *)k, klen, v ? (const uint8_t *)v : (const uint8_t *)"", vlen);
}

static void walk_del(void *state, const char *k, size_t klen)
{
    batch_walk *w = state;
    w->fn(w->ctx, (const uint8_t *)k, klen, NULL, 0);
}

void ul_batch_iterate(const ul_batch *b, void *ctx,
                      void (*fn)(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val,
                                 size_t vlen))
{
    assert(b && fn);
    batch_walk w = {ctx, fn};
    leveldb_writebatch_iterate(b->wb, &w, walk_put, walk_del);
}

static ul_err ldb_write(ul_store *s, ul_batch *b, bool sync)
{
    char *err = NULL;
    ldb *d = L(s);
    leveldb_write(d->db, sync ? d->wopts_sync : d->wopts_nosync, b->wb, &err);
    if (err) {
        ul_err e = ul_store_note(s, map_err(err), err, "(writing)", true);
        leveldb_free(err);
        return e;
    }
    return UL_OK;
}

static ul_err ldb_iter_seek(ul_store_iter *it, const uint8_t *start, size_t slen)
{
    ldb *d = L(it->s);
    if (!d->db) {
        return it->s->fault;
    }
    leveldb_iterator_t *li = leveldb_create_iterator(d->db, d->ropts);
    if (!li) {
        return UL_E_NOMEM;
    }
    it->be = li;
    if (it->desc) {
        /* Seek lands on the least key >= start: step back once unless it is start itself; past
         * the end of the database the last key is the first candidate. */
        leveldb_iter_seek(li, (const char *)start, slen);
        if (!leveldb_iter_valid(li)) {
            leveldb_iter_seek_to_last(li);
        } else {
            size_t kl = 0;
            const char *k = leveldb_iter_key(li, &kl);
            if (ul_store_key_cmp((const uint8_t *)k, kl, start, slen) > 0) {
                leveldb_iter_prev(li);
            }
        }
    } else if (ul_store_key_cmp(start, slen, it->prefix, it->plen) >= 0) {
        /* A start key below the prefix would land before the family: seek the later of the two. */
        leveldb_iter_seek(li, (const char *)start, slen);
    } else {
        leveldb_iter_seek(li, (const char *)it->prefix, it->plen);
    }
    return UL_OK;
}

static bool ldb_iter_next(ul_store_iter *it, const uint8_t **key, size_t *klen, const uint8_t **val,
                          size_t *vlen)
{
    leveldb_iterator_t *li = it->be;
    if (it->started && leveldb_iter_valid(li)) {
        if (it->desc) {
            leveldb_iter_prev(li);
        } else {
            leveldb_iter_next(li);
        }
    }
    it->started = true;
    /* A damaged block is skipped by LevelDB's iterator, which only remembers the error: stop
     * there rather than hand out a family with entries missing. */
    char *err = NULL;
    leveldb_iter_get_error(li, &err);
    if (err) {
        (void)note_read(it->s, err, it->prefix, it->plen);
        leveldb_free(err);
        return false;
    }
    if (!leveldb_iter_valid(li)) {
        return false;
    }
    size_t kl = 0, vl = 0;
    const char *k = leveldb_iter_key(li, &kl);
    if (kl < it->plen || (it->plen && memcmp(k, it->prefix, it->plen) != 0)) {
        return false;
    }
    const char *v = leveldb_iter_value(li, &vl);
    *key = (const uint8_t *)k;
    *klen = kl;
    *val = (const uint8_t *)v;
    *vlen = vl;
    return true;
}

static void ldb_iter_free(ul_store_iter *it)
{
    leveldb_iter_destroy(it->be);
}

/* Copies the iterator's entry out when it lies in the prefix's family. */
static ul_err floor_take(leveldb_iterator_t *it, const uint8_t *prefix, size_t plen, uint8_t *found,
                         size_t cap, size_t *flen, uint8_t **val, size_t *vlen)
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

static ul_err ldb_get_floor(ul_store *s, const uint8_t *prefix, size_t plen, const uint8_t *key,
                            size_t klen, uint8_t *found, size_t cap, size_t *flen, uint8_t **val,
                            size_t *vlen)
{
    if (!L(s)->db) {
        return s->fault;
    }
    leveldb_iterator_t *it = leveldb_create_iterator(L(s)->db, L(s)->ropts);
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
        if (ul_store_key_cmp((const uint8_t *)k, kl, key, klen) > 0) {
            leveldb_iter_prev(it);
        }
    }
    ul_err e = floor_take(it, prefix, plen, found, cap, flen, val, vlen);
    char *err = NULL;
    leveldb_iter_get_error(it, &err);
    if (err) {
        e = note_read(s, err, key, klen);
        leveldb_free(err);
        free(*val);
        *val = NULL;
    }
    leveldb_iter_destroy(it);
    return e;
}

/* Bytes of the regular files in dir whose names end in suffix ("": all of them). */
static uint64_t dir_bytes(const char *dir, const char *suffix)
{
    DIR *d = opendir(dir);
    if (!d) {
        return 0;
    }
    uint64_t total = 0;
    size_t sl = strlen(suffix);
    struct dirent *e;
    for (long n = 0; n < STORE_MAX_DIR_ENTRIES && (e = readdir(d)) != NULL; n++) {
        struct stat st;
        size_t nl = strlen(e->d_name);
        if (nl >= sl && strcmp(e->d_name + nl - sl, suffix) == 0 &&
            fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode)) {
            total += (uint64_t)st.st_size;
        }
    }
    closedir(d);
    return total;
}

uint64_t ul_store_disk_bytes(const char *dir)
{
    assert(dir);
    return dir_bytes(dir, "");
}

/* The damage verify met after *entries good ones (last[llen] the last): noted as s's fault. */
static ul_err verify_damage(ul_store *s, leveldb_iterator_t *it, const char *err, uint64_t entries,
                            const uint8_t *last, size_t llen)
{
    /* The damaged block held the keys between the last good one and the next. */
    char ctx[UL_STORE_TEXT_MAX / 2], a[128] = "the first key", b[128] = "the end";
    size_t kl = 0;
    if (entries) {
        ul_store_describe_key(a, sizeof a, last, llen);
    }
    if (leveldb_iter_valid(it)) {
        const char *k = leveldb_iter_key(it, &kl);
        ul_store_describe_key(b, sizeof b, (const uint8_t *)k, kl);
    }
    snprintf(ctx, sizeof ctx, "(damaged entries after %s, before %s", a, b);
    uint8_t top[UL_STORE_KEY_SHOWN];
    const uint8_t *hi = top;
    memset(top, 0xff, sizeof top);
    if (leveldb_iter_valid(it)) {
        hi = (const uint8_t *)leveldb_iter_key(it, &kl);
    }
    size_t hlen = leveldb_iter_valid(it) ? kl : sizeof top;
    name_tables(s, last, entries ? llen : 0, hi, hlen, ctx, sizeof ctx);
    strncat(ctx, ")", sizeof ctx - strlen(ctx) - 1);
    return ul_store_note(s, map_err(err), err, ctx, false);
}

static ul_err ldb_verify(ul_store *s, uint64_t *entries)
{
    if (!L(s)->db) {
        return s->fault;
    }
    leveldb_readoptions_t *ro = leveldb_readoptions_create();
    leveldb_iterator_t *it = NULL;
    if (!ro) {
        return UL_E_NOMEM;
    }
    leveldb_readoptions_set_verify_checksums(ro, 1);
    leveldb_readoptions_set_fill_cache(ro, 0); /* a scan must not evict what the node reads */
    if (!(it = leveldb_create_iterator(L(s)->db, ro))) {
        leveldb_readoptions_destroy(ro);
        return UL_E_NOMEM;
    }
    uint8_t last[UL_STORE_KEY_SHOWN];
    size_t llen = 0, kl = 0;
    char *err = NULL;
    /* One pass over every entry reads every block of every table once. */
    for (leveldb_iter_seek_to_first(it);; leveldb_iter_next(it)) {
        leveldb_iter_get_error(it, &err);
        if (err || !leveldb_iter_valid(it)) {
            break;
        }
        const char *k = leveldb_iter_key(it, &kl);
        llen = kl < sizeof last ? kl : sizeof last;
        memcpy(last, k, llen);
        (*entries)++;
    }
    ul_err e = UL_OK;
    if (err) {
        e = verify_damage(s, it, err, *entries, last, llen);
        leveldb_free(err);
    }
    leveldb_iter_destroy(it);
    leveldb_readoptions_destroy(ro);
    return e;
}

static ul_err ldb_recover(ul_store *s)
{
    ldb *d = L(s);
    /* Root may write into the blocks reserved for it; others may not. */
    struct statvfs v;
    if (statvfs(d->dir, &v) != 0) {
        return s->fault;
    }
    uint64_t avail = (uint64_t)(geteuid() == 0 ? v.f_bfree : v.f_bavail) * v.f_frsize;
    if (avail < dir_bytes(d->dir, ".log") + STORE_REOPEN_SPARE_BYTES) {
        return s->fault;
    }
    /* A new instance replays the log (a torn last record is dropped, as after a crash), writes
     * a new log and forgets LevelDB's sticky background error. */
    char *err = NULL;
    if (d->db) {
        leveldb_close(d->db);
    }
    d->db = leveldb_open(d->opts, d->dir, &err);
    if (err) {
        d->db = NULL;
        ul_err e = ul_store_note(s, open_err(err), err, "(reopening after a failed write)", true);
        leveldb_free(err);
        return e;
    }
    return UL_OK;
}

static const ul_store_ops ldb_ops = {
    .close = ldb_close,
    .get = ldb_get,
    .get_fixed = ldb_get_fixed,
    .write = ldb_write,
    .iter_seek = ldb_iter_seek,
    .iter_next = ldb_iter_next,
    .iter_free = ldb_iter_free,
    .get_floor = ldb_get_floor,
    .verify = ldb_verify,
    .recover = ldb_recover,
    .compact = ldb_compact,
    .size = ldb_size,
};

/* Copies src to a new file dst (mode 0600; a scratch copy: not synced). */
static ul_err copy_file(int sfd, const char *dst)
{
    int dfd = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (dfd < 0) {
        return errno == ENOSPC ? UL_E_NO_SPACE : UL_E_IO;
    }
    char buf[65536];
    ssize_t n;
    ul_err e = UL_OK;
    while (e == UL_OK && (n = read(sfd, buf, sizeof buf)) != 0) { /* ends at EOF or an error */
        if (n < 0) {
            e = errno == EINTR ? UL_OK : UL_E_IO;
            continue;
        }
        ssize_t off = 0;
        while (e == UL_OK && off < n) { /* each pass writes a byte or more, fails, or EINTR */
            ssize_t w = write(dfd, buf + off, (size_t)(n - off));
            if (w > 0) {
                off += w;
            } else if (w < 0 && errno != EINTR) {
                e = errno == ENOSPC ? UL_E_NO_SPACE : UL_E_IO;
            } else if (w == 0) {
                e = UL_E_IO;
            }
        }
    }
    return close(dfd) != 0 && e == UL_OK ? UL_E_IO : e;
}

/* Returns: true when another process holds LevelDB's lock on dir (a running node). F_GETLK only
 * asks: nothing is locked or written. */
static bool dir_locked(const char *dir)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/LOCK", dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    bool locked = fd >= 0 && fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
    if (fd >= 0) {
        close(fd);
    }
    return locked;
}

/* One file of a snapshot: tables (never changed once written) are linked when dest is on the
 * same filesystem; the log, manifest and CURRENT, which LevelDB appends to or replaces, are
 * copied. LOCK and the info logs are LevelDB's own and not part of the data. */
static ul_err snapshot_one(int dfd, const char *name, const char *from, const char *to)
{
    size_t nl = strlen(name);
    bool table = nl > 4 && (!strcmp(name + nl - 4, ".ldb") || !strcmp(name + nl - 4, ".sst"));
    if (!strcmp(name, "LOCK") || !strcmp(name, "LOG") || !strcmp(name, "LOG.old")) {
        return UL_OK;
    }
    if (table && link(from, to) == 0) {
        return UL_OK;
    }
    int sfd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (sfd < 0) {
        return UL_E_IO;
    }
    ul_err e = copy_file(sfd, to);
    close(sfd);
    return e;
}

ul_err ul_store_snapshot(const char *dir, const char *dest)
{
    assert(dir && dest);
    char from[4200], to[4200];
    struct stat st;
    snprintf(from, sizeof from, "%s/CURRENT", dir);
    if (stat(from, &st) != 0) {
        return UL_E_NOT_FOUND;
    }
    if (dir_locked(dir)) {
        return UL_E_LOCKED;
    }
    DIR *d = opendir(dir);
    if (!d) {
        return UL_E_IO;
    }
    struct dirent *e;
    ul_err rc = UL_OK;
    for (long n = 0; rc == UL_OK && n < STORE_MAX_DIR_ENTRIES && (e = readdir(d)) != NULL; n++) {
        if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode)) {
            continue;
        }
        snprintf(from, sizeof from, "%s/%s", dir, e->d_name);
        snprintf(to, sizeof to, "%s/%s", dest, e->d_name);
        rc = snapshot_one(dirfd(d), e->d_name, from, to);
    }
    closedir(d);
    return rc;
}
