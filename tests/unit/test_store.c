/* Unit tests for the store (ledger/store.c) on both backends: reads, writes, batches, prefix
 * iteration, the single-opener lock and reopening run on LevelDB (each test in its own mkdtemp
 * directory) and on the memory disk; then the memory disk's faults: crashes that drop unsynced
 * writes, a full disk, damaged reads, and its determinism.
 */
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "ledger/internal.h" /* test_read_cache_racing_read: the backend's ops */
#include "ledger/ul_ledger.h"

typedef struct {
    char dir[64];
    ul_store *s;
    ul_memdisk *disk; /* the memory backend's disk; NULL: LevelDB in dir */
} fixture;

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    snprintf(f->dir, sizeof(f->dir), "/tmp/ul_test_store_XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    assert_int_equal(ul_store_open(&f->s, f->dir, true, 0), UL_OK);
    *state = f;
    return 0;
}

static int setup_mem(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    assert_int_equal(ul_memdisk_create(&f->disk), UL_OK);
    assert_int_equal(ul_store_open_mem(&f->s, f->disk, true), UL_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    ul_store_close(f->s);
    if (f->disk) {
        ul_memdisk_destroy(f->disk);
    } else {
        nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    }
    free(f);
    return 0;
}

/* Closes f's store and opens it again (without create) on the same directory or disk. */
static void reopen(fixture *f)
{
    ul_store_close(f->s);
    f->s = NULL;
    if (f->disk) {
        assert_int_equal(ul_store_open_mem(&f->s, f->disk, false), UL_OK);
    } else {
        assert_int_equal(ul_store_open(&f->s, f->dir, false, 1 << 20), UL_OK);
    }
}

static const uint8_t *u8(const char *s)
{
    return (const uint8_t *)s;
}

static void put1(ul_store *s, const char *k, const char *v, bool sync)
{
    ul_batch *b = ul_batch_create();
    assert_non_null(b);
    ul_batch_put(b, u8(k), strlen(k), u8(v), strlen(v));
    assert_int_equal(ul_store_write(s, b, sync), UL_OK);
    ul_batch_destroy(b);
}

static void expect_val(ul_store *s, const char *k, const char *want)
{
    uint8_t *v = NULL;
    size_t n = 0;
    assert_int_equal(ul_store_get(s, u8(k), strlen(k), &v, &n), UL_OK);
    assert_int_equal(n, strlen(want));
    assert_memory_equal(v, want, n);
    free(v);
}

static void expect_absent(ul_store *s, const char *k)
{
    uint8_t *v = (uint8_t *)1;
    size_t n = 1;
    assert_int_equal(ul_store_get(s, u8(k), strlen(k), &v, &n), UL_E_NOT_FOUND);
    assert_null(v);
    assert_int_equal(n, 0);
}

/* Writes key -> key for each of keys[0..n) in one batch. */
static void put_batch(ul_store *s, const char *const *keys, size_t n, bool sync)
{
    ul_batch *b = ul_batch_create();
    assert_non_null(b);
    for (size_t i = 0; i < n; i++) {
        ul_batch_put(b, u8(keys[i]), strlen(keys[i]), u8(keys[i]), strlen(keys[i]));
    }
    assert_int_equal(ul_store_write(s, b, sync), UL_OK);
    ul_batch_destroy(b);
}

/* The keys the iterator tests walk, each stored with itself as value. */
static void put_family(ul_store *s)
{
    const char *keys[] = {"A1", "Ta", "Tb", "Tc", "Td", "U0", "T", "Tb2"};
    put_batch(s, keys, sizeof(keys) / sizeof(keys[0]), false);
}

static void test_put_get_delete(void **state)
{
    fixture *f = *state;
    expect_absent(f->s, "Mhead");
    put1(f->s, "Mhead", "one", false);
    expect_val(f->s, "Mhead", "one");
    put1(f->s, "Mhead", "two", false); /* overwrite */
    expect_val(f->s, "Mhead", "two");

    /* A zero-length value is present, not absent. */
    put1(f->s, "Mempty", "", false);
    uint8_t *v = NULL;
    size_t n = 7;
    assert_int_equal(ul_store_get(f->s, u8("Mempty"), 6, &v, &n), UL_OK);
    assert_non_null(v);
    assert_int_equal(n, 0);
    free(v);

    ul_batch *b = ul_batch_create();
    assert_non_null(b);
    ul_batch_delete(b, u8("Mhead"), 5);
    assert_int_equal(ul_store_write(f->s, b, false), UL_OK);
    ul_batch_destroy(b);
    expect_absent(f->s, "Mhead");
    expect_val(f->s, "Mempty", "");
}

/* The read cache: a value read is kept, and every write of its key (put or delete, in a batch
 * of many, synced or not) drops it, so a read never sees an old value; values larger than a
 * slot are read through. */
static void test_read_cache(void **state)
{
    fixture *f = *state;
    put1(f->s, "Kpolicy", "v1", false);
    expect_val(f->s, "Kpolicy", "v1");
    expect_val(f->s, "Kpolicy", "v1"); /* from the cache */
    const char *keys[] = {"Ka", "Kpolicy", "Kz"};
    put_batch(f->s, keys, 3, true); /* Kpolicy -> "Kpolicy" */
    expect_val(f->s, "Kpolicy", "Kpolicy");
    ul_batch *b = ul_batch_create();
    assert_non_null(b);
    ul_batch_put(b, u8("Ka"), 2, u8("x"), 1);
    ul_batch_delete(b, u8("Kpolicy"), 7);
    assert_int_equal(ul_store_write(f->s, b, false), UL_OK);
    ul_batch_destroy(b);
    expect_absent(f->s, "Kpolicy");
    expect_val(f->s, "Ka", "x");
    static char big[UL_STORE_CACHE_VAL_MAX + 2];
    memset(big, 'b', sizeof big - 1);
    put1(f->s, "Kbig", big, false);
    expect_val(f->s, "Kbig", big);
    big[0] = 'c';
    put1(f->s, "Kbig", big, false);
    expect_val(f->s, "Kbig", big);
    /* Many keys share slots: each read returns its own key's value, twice. */
    for (int round = 0; round < 2; round++) {
        for (unsigned i = 0; i < 3 * UL_STORE_CACHE_SLOTS; i += 97) {
            char k[16], v[16];
            snprintf(k, sizeof k, "Q%u", i);
            snprintf(v, sizeof v, "%u", i);
            if (round == 0) {
                put1(f->s, k, v, false);
            }
            expect_val(f->s, k, v);
        }
    }
}

/* A read that lands while a write is under way (here: inside the backend's write, before the
 * batch applies, as another thread could) reads the old value; the cache must not keep it past
 * the write. */
static const ul_store_ops *racing_orig;

static ul_err racing_write(ul_store *s, ul_batch *b, bool sync)
{
    expect_val(s, "Krace", "old"); /* the backend has not applied the batch yet */
    return racing_orig->write(s, b, sync);
}

static void test_read_cache_racing_read(void **state)
{
    fixture *f = *state;
    put1(f->s, "Krace", "old", false);
    ul_store_ops racing = *f->s->ops;
    racing_orig = f->s->ops;
    racing.write = racing_write;
    f->s->ops = &racing;
    put1(f->s, "Krace", "new", true);
    f->s->ops = racing_orig;
    expect_val(f->s, "Krace", "new");
}

/* Misses are kept too: a key read absent is answered from the cache until a write of it (here
 * in a batch of many, and a racing read of it during that write), then it reads present. */
static size_t counted_gets;

static ul_err counting_get(ul_store *s, const uint8_t *key, size_t klen, uint8_t **val,
                           size_t *vlen)
{
    counted_gets++;
    return racing_orig->get(s, key, klen, val, vlen);
}

static ul_err racing_absent_write(ul_store *s, ul_batch *b, bool sync)
{
    expect_absent(s, "Knew"); /* the backend has not applied the batch yet */
    return racing_orig->write(s, b, sync);
}

static void test_read_cache_absent(void **state)
{
    fixture *f = *state;
    static ul_store_ops counting; /* static: a failed assertion leaves the store pointing here */
    counting = *f->s->ops;
    racing_orig = f->s->ops;
    counting.get = counting_get;
    f->s->ops = &counting;
    counted_gets = 0;
    expect_absent(f->s, "Knew");
    expect_absent(f->s, "Knew");
    assert_int_equal(counted_gets, 1); /* the second miss came from the cache */
    const char *keys[] = {"Ka", "Knew", "Kz"};
    put_batch(f->s, keys, 3, false);
    expect_val(f->s, "Knew", "Knew");
    ul_batch *b = ul_batch_create();
    assert_non_null(b);
    ul_batch_delete(b, u8("Knew"), 4);
    assert_int_equal(ul_store_write(f->s, b, false), UL_OK);
    ul_batch_destroy(b);
    expect_absent(f->s, "Knew");
    /* A miss read while the write that creates the key is under way is not kept past it. */
    counting.write = racing_absent_write;
    put1(f->s, "Knew", "back", true);
    f->s->ops = racing_orig;
    expect_val(f->s, "Knew", "back");
}

static void test_batch_atomic(void **state)
{
    fixture *f = *state;
    put1(f->s, "Sold", "x", false);
    ul_batch *b = ul_batch_create();
    assert_non_null(b);
    char key[16];
    for (int i = 0; i < 100; i++) {
        snprintf(key, sizeof(key), "S%03d", i);
        ul_batch_put(b, u8(key), strlen(key), u8(key), strlen(key));
    }
    ul_batch_delete(b, u8("Sold"), 4);
    /* Nothing of the batch is visible before it is written. */
    expect_absent(f->s, "S000");
    expect_val(f->s, "Sold", "x");
    assert_int_equal(ul_store_write(f->s, b, true), UL_OK);
    for (int i = 0; i < 100; i++) {
        snprintf(key, sizeof(key), "S%03d", i);
        expect_val(f->s, key, key);
    }
    expect_absent(f->s, "Sold");

    /* A cleared batch writes nothing; the batch is reusable after clear. */
    ul_batch_clear(b);
    ul_batch_put(b, u8("Sgone"), 5, u8("1"), 1);
    ul_batch_clear(b);
    assert_int_equal(ul_store_write(f->s, b, false), UL_OK);
    expect_absent(f->s, "Sgone");
    ul_batch_put(b, u8("Sback"), 5, u8("2"), 1);
    assert_int_equal(ul_store_write(f->s, b, false), UL_OK);
    expect_val(f->s, "Sback", "2");
    ul_batch_destroy(b);
    ul_batch_destroy(NULL);
}

static void test_sync_write_and_reopen(void **state)
{
    fixture *f = *state;
    put1(f->s, "Bsync", "durable", true);
    put1(f->s, "Bnosync", "also", false);
    reopen(f); /* a clean close and reopen keeps unsynced writes too: no crash happened */
    expect_val(f->s, "Bsync", "durable");
    expect_val(f->s, "Bnosync", "also");
    assert_true(f->disk || ul_store_disk_bytes(f->dir) > 0);
    ul_store_close(NULL);
}

static void test_get_fixed(void **state)
{
    fixture *f = *state;
    uint8_t h[32], out[32];
    for (int i = 0; i < 32; i++) {
        h[i] = (uint8_t)(i * 7);
    }
    ul_batch *b = ul_batch_create();
    assert_non_null(b);
    ul_batch_put(b, u8("L1"), 2, h, 32);
    ul_batch_put(b, u8("L2"), 2, h, 31);
    ul_batch_put(b, u8("L3"), 2, h, 0);
    assert_int_equal(ul_store_write(f->s, b, false), UL_OK);
    ul_batch_destroy(b);

    memset(out, 0, sizeof(out));
    assert_int_equal(ul_store_get_fixed(f->s, u8("L1"), 2, out, 32), UL_OK);
    assert_memory_equal(out, h, 32);
    assert_int_equal(ul_store_get_fixed(f->s, u8("L2"), 2, out, 32), UL_E_CORRUPT);
    assert_int_equal(ul_store_get_fixed(f->s, u8("L1"), 2, out, 33), UL_E_CORRUPT);
    assert_int_equal(ul_store_get_fixed(f->s, u8("L3"), 2, out, 32), UL_E_CORRUPT);
    assert_int_equal(ul_store_get_fixed(f->s, u8("L3"), 2, NULL, 0), UL_OK);
    assert_int_equal(ul_store_get_fixed(f->s, u8("L4"), 2, out, 32), UL_E_NOT_FOUND);
}

/* Collects the keys an iterator (desc: descending) yields, joined by ',' into buf. */
static int iter_walk(ul_store *s, bool desc, const char *prefix, const char *start, char *buf,
                     size_t cap)
{
    ul_store_iter *it = NULL;
    size_t pl = strlen(prefix), sl = strlen(start);
    assert_int_equal(desc ? ul_store_iter_create_desc(&it, s, u8(prefix), pl, u8(start), sl)
                          : ul_store_iter_create(&it, s, u8(prefix), pl, u8(start), sl),
                     UL_OK);
    const uint8_t *k, *v;
    size_t kl, vl;
    int n = 0;
    buf[0] = '\0';
    while (ul_store_iter_next(it, &k, &kl, &v, &vl)) {
        assert_int_equal(vl, kl); /* values mirror keys in this test */
        assert_memory_equal(k, v, kl);
        size_t used = strlen(buf);
        assert_true(used + kl + 2 < cap);
        if (n++) {
            buf[used++] = ',';
        }
        memcpy(buf + used, k, kl);
        buf[used + kl] = '\0';
    }
    /* Once exhausted it stays exhausted. */
    assert_false(ul_store_iter_next(it, &k, &kl, &v, &vl));
    ul_store_iter_destroy(it);
    return n;
}

static void test_iter_prefix(void **state)
{
    fixture *f = *state;
    put_family(f->s);

    char buf[128];
    assert_int_equal(iter_walk(f->s, false, "T", "T", buf, sizeof(buf)), 6);
    assert_string_equal(buf, "T,Ta,Tb,Tb2,Tc,Td");
    assert_int_equal(iter_walk(f->s, false, "T", "Tb", buf, sizeof(buf)), 4);
    assert_string_equal(buf, "Tb,Tb2,Tc,Td");
    assert_int_equal(iter_walk(f->s, false, "T", "Tb1", buf, sizeof(buf)), 3);
    assert_string_equal(buf, "Tb2,Tc,Td");
    /* A start key below the prefix starts at the prefix. */
    assert_int_equal(iter_walk(f->s, false, "T", "A", buf, sizeof(buf)), 6);
    /* A start key past the family yields nothing. */
    assert_int_equal(iter_walk(f->s, false, "T", "Tz", buf, sizeof(buf)), 0);
    assert_int_equal(iter_walk(f->s, false, "V", "", buf, sizeof(buf)), 0);
    /* An empty prefix walks everything from start. */
    assert_int_equal(iter_walk(f->s, false, "", "Tc", buf, sizeof(buf)), 3);
    assert_string_equal(buf, "Tc,Td,U0");
}

static void test_lock_and_missing(void **state)
{
    fixture *f = *state;
    ul_store *second = (ul_store *)1;
    assert_int_equal(ul_store_open(&second, f->dir, true, 0), UL_E_LOCKED);
    assert_null(second);

    /* Not created without create; a directory named like "blocks" is no lock error. */
    char missing[128];
    snprintf(missing, sizeof(missing), "%s/blocks-lock", f->dir);
    assert_int_equal(ul_store_open(&second, missing, false, 0), UL_E_NOT_FOUND);
    assert_null(second);
    assert_int_equal(ul_store_disk_bytes(missing), 0);
    struct stat st;
    assert_int_not_equal(stat(missing, &st), 0); /* a failed open leaves nothing behind */

    /* After close, the directory opens again. */
    ul_store_close(f->s);
    f->s = NULL;
    assert_int_equal(ul_store_open(&f->s, f->dir, false, 0), UL_OK);
}

/* Puts n values of 200 bytes under 'B' height(8 BE), compacts them into a table and closes. */
static void fill_table(fixture *f, uint64_t n)
{
    uint8_t k[9] = {'B'}, v[200];
    ul_batch *b = ul_batch_create();
    assert_non_null(b);
    for (uint64_t h = 0; h < n; h++) {
        ul_be64_put(k + 1, h);
        memset(v, (int)(h & 0xff), sizeof v);
        ul_batch_put(b, k, sizeof k, v, sizeof v);
    }
    assert_int_equal(ul_store_write(f->s, b, true), UL_OK);
    ul_batch_destroy(b);
    ul_store_compact(f->s);
    ul_store_close(f->s);
    f->s = NULL;
}

/* XORs 8 bytes at offset of the one table file (.ldb) in dir with 0xff. Out: its name. */
static void flip_table(const char *dir, long offset, char *name, size_t cap)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "ls %s | grep '[.]ldb$'", dir);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    assert_non_null(fgets(name, (int)cap, p));
    pclose(p);
    name[strcspn(name, "\n")] = '\0';
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *t = fopen(path, "r+b");
    uint8_t x[8];
    assert_non_null(t);
    assert_int_equal(fseek(t, offset, SEEK_SET), 0);
    assert_int_equal(fread(x, 1, sizeof x, t), sizeof x);
    for (size_t i = 0; i < sizeof x; i++) {
        x[i] ^= 0xff;
    }
    assert_int_equal(fseek(t, offset, SEEK_SET), 0);
    assert_int_equal(fwrite(x, 1, sizeof x, t), sizeof x);
    fclose(t);
}

/* Damage in a table is an error naming the table and the height, never a silent answer: a
 * read, an iteration (LevelDB's iterator would skip the block) and a full verify all fail. */
static void test_damaged_table(void **state)
{
    fixture *f = *state;
    char name[64];
    const char *text;
    uint8_t k[9] = {'B'}, *v;
    size_t vlen, kl, vl;
    uint64_t entries;
    fill_table(f, 2000);
    flip_table(f->dir, 64, name, sizeof name);

    assert_int_equal(ul_store_open(&f->s, f->dir, false, 0), UL_OK);
    assert_int_equal(ul_store_verify(f->s, &entries), UL_E_CORRUPT);
    assert_int_equal(ul_store_fault(f->s, &text), UL_E_CORRUPT);
    assert_non_null(strstr(text, name));
    assert_non_null(strstr(text, "before key 'B' of height"));
    ul_store_close(f->s);

    assert_int_equal(ul_store_open(&f->s, f->dir, false, 0), UL_OK);
    assert_int_equal(ul_store_fault(f->s, NULL), UL_OK);
    ul_be64_put(k + 1, 0);
    assert_int_equal(ul_store_get(f->s, k, sizeof k, &v, &vlen), UL_E_CORRUPT);
    assert_int_equal(ul_store_fault(f->s, &text), UL_E_CORRUPT);
    assert_non_null(strstr(text, "reading key 'B' of height 0"));
    assert_non_null(strstr(text, name));
    assert_non_null(strstr(ul_store_last_error(), name));
    ul_batch *b = ul_batch_create();
    ul_batch_put(b, k, sizeof k, k, sizeof k);
    assert_int_equal(ul_store_write(f->s, b, true), UL_E_CORRUPT); /* nothing more written */
    ul_batch_destroy(b);

    ul_store_iter *it;
    const uint8_t *ik, *iv;
    size_t n = 0;
    assert_int_equal(ul_store_iter_create(&it, f->s, k, 1, k, 1), UL_OK);
    while (ul_store_iter_next(it, &ik, &kl, &iv, &vl)) {
        n++;
    }
    ul_store_iter_destroy(it);
    assert_int_equal(n, 0); /* the first block is the damaged one: nothing after it either */
}

/* Out: the key get_floor finds for (prefix, key) in buf, or "-" when there is none. */
static void floor_of(ul_store *s, const char *prefix, const char *key, char *buf, size_t cap)
{
    uint8_t *v = NULL;
    size_t flen = 0, vlen = 0;
    ul_err e = ul_store_get_floor(s, u8(prefix), strlen(prefix), u8(key), strlen(key),
                                  (uint8_t *)buf, cap - 1, &flen, &v, &vlen);
    if (e == UL_E_NOT_FOUND) {
        snprintf(buf, cap, "-");
        return;
    }
    assert_int_equal(e, UL_OK);
    assert_memory_equal(v, buf, flen); /* values mirror keys */
    buf[flen] = '\0';
    free(v);
}

static void test_desc_and_floor(void **state)
{
    fixture *f = *state;
    put_family(f->s);
    char buf[128];
    assert_int_equal(iter_walk(f->s, true, "T", "Tz", buf, sizeof buf), 6);
    assert_string_equal(buf, "Td,Tc,Tb2,Tb,Ta,T");
    assert_int_equal(iter_walk(f->s, true, "T", "Tb", buf, sizeof buf), 3);
    assert_string_equal(buf, "Tb,Ta,T");
    assert_int_equal(iter_walk(f->s, true, "T", "Tb1", buf, sizeof buf), 3);
    assert_string_equal(buf, "Tb,Ta,T");
    assert_int_equal(iter_walk(f->s, true, "U", "Uz", buf, sizeof buf), 1); /* past the end */
    assert_int_equal(iter_walk(f->s, true, "T", "S", buf, sizeof buf), 0);
    floor_of(f->s, "T", "Tb1", buf, sizeof buf);
    assert_string_equal(buf, "Tb");
    floor_of(f->s, "T", "Tb", buf, sizeof buf);
    assert_string_equal(buf, "Tb");
    floor_of(f->s, "U", "Zz", buf, sizeof buf);
    assert_string_equal(buf, "U0");
    floor_of(f->s, "T", "S", buf, sizeof buf);
    assert_string_equal(buf, "-");
    floor_of(f->s, "V", "Vz", buf, sizeof buf); /* the floor "U0" is outside the family */
    assert_string_equal(buf, "-");
}

static void test_mem_lock_and_missing(void **state)
{
    fixture *f = *state;
    ul_store *second = (ul_store *)1;
    assert_int_equal(ul_store_open_mem(&second, f->disk, true), UL_E_LOCKED);
    assert_null(second);
    ul_memdisk *blank;
    assert_int_equal(ul_memdisk_create(&blank), UL_OK);
    assert_int_equal(ul_store_open_mem(&second, blank, false), UL_E_NOT_FOUND);
    assert_null(second);
    ul_memdisk_destroy(blank);
    reopen(f);
}

/* A crash drops exactly the batches written without sync since the last synced one; the store
 * open across it is cut off, and the disk opens again once that store is closed. */
static void test_mem_crash_drops_unsynced(void **state)
{
    fixture *f = *state;
    const char *a[] = {"Ka", "Kb"}, *c[] = {"Kc", "Kd"}, *e[] = {"Ke"};
    put_batch(f->s, a, 1, false);
    put_batch(f->s, a + 1, 1, true); /* makes Ka durable too: it came first */
    put_batch(f->s, c, 2, false);
    put_batch(f->s, e, 1, false);
    assert_int_equal(ul_memdisk_unsynced(f->disk), 2);
    expect_val(f->s, "Kd", "Kd");
    uint8_t before[32], after[32];
    ul_memdisk_hash(f->disk, true, before);
    assert_int_equal(ul_memdisk_crash(f->disk, NULL), UL_OK);
    ul_memdisk_hash(f->disk, false, after);
    assert_memory_equal(before, after, 32); /* what is readable now is what was durable */

    uint8_t *v;
    size_t n;
    assert_int_equal(ul_store_get(f->s, u8("Ka"), 2, &v, &n), UL_E_STORE);
    ul_batch *b = ul_batch_create();
    assert_int_equal(ul_store_write(f->s, b, true), UL_E_STORE);
    ul_batch_destroy(b);
    reopen(f);
    expect_val(f->s, "Ka", "Ka");
    expect_val(f->s, "Kb", "Kb");
    expect_absent(f->s, "Kc");
    expect_absent(f->s, "Kd");
    expect_absent(f->s, "Ke");
    assert_int_equal(ul_memdisk_unsynced(f->disk), 0);
    assert_int_equal(ul_memdisk_entries(f->disk), 2);
}

/* With dice, a crash keeps a prefix of the unsynced batches, each whole; over seeds every
 * prefix length turns up. */
static void test_mem_crash_keeps_prefix(void **state)
{
    fixture *f = *state;
    bool seen[5] = {false};
    for (uint64_t seed = 1; seed <= 64; seed++) {
        ul_rng rng;
        ul_rng_seed(&rng, seed);
        char keys[4][2][8];
        for (int i = 0; i < 4; i++) {
            snprintf(keys[i][0], 8, "P%d-%02u", i, (unsigned)seed % 100);
            snprintf(keys[i][1], 8, "Q%d-%02u", i, (unsigned)seed % 100);
            const char *pair[] = {keys[i][0], keys[i][1]};
            put_batch(f->s, pair, 2, false);
        }
        assert_int_equal(ul_memdisk_crash(f->disk, &rng), UL_OK);
        reopen(f);
        int kept = 0;
        for (int i = 0; i < 4; i++) {
            uint8_t *v = NULL;
            size_t n;
            ul_err p = ul_store_get(f->s, u8(keys[i][0]), strlen(keys[i][0]), &v, &n);
            free(v);
            ul_err q = ul_store_get(f->s, u8(keys[i][1]), strlen(keys[i][1]), &v, &n);
            free(v);
            assert_int_equal(p, q); /* a batch lands whole or not at all */
            if (p == UL_OK) {
                assert_int_equal(kept, i); /* a prefix: nothing after a dropped batch */
                kept++;
            }
        }
        seen[kept] = true;
        /* Make what survived durable, so the next round starts with nothing unsynced. */
        put_batch(f->s, NULL, 0, true);
    }
    for (int i = 0; i <= 4; i++) {
        assert_true(seen[i]);
    }
}

/* A full disk refuses a batch whole with UL_E_NO_SPACE and stops writes until ul_store_recover,
 * which succeeds once the disk has room; reads go on meanwhile. */
static void test_mem_full_disk(void **state)
{
    fixture *f = *state;
    const char *a[] = {"Fa"}, *b2[] = {"Fb", "Fc"};
    const char *text;
    put_batch(f->s, a, 1, true);
    ul_memdisk_set_full(f->disk, true);
    ul_batch *b = ul_batch_create();
    assert_non_null(b);
    ul_batch_put(b, u8("Fb"), 2, u8("Fb"), 2);
    ul_batch_put(b, u8("Fc"), 2, u8("Fc"), 2);
    assert_int_equal(ul_store_write(f->s, b, true), UL_E_NO_SPACE);
    assert_int_equal(ul_store_fault(f->s, &text), UL_E_NO_SPACE);
    assert_non_null(strstr(text, "No space left on device"));
    expect_absent(f->s, "Fb");
    expect_val(f->s, "Fa", "Fa");
    assert_int_equal(ul_store_recover(f->s), UL_E_NO_SPACE); /* still full */
    ul_memdisk_set_full(f->disk, false);
    assert_int_equal(ul_store_write(f->s, b, true), UL_E_NO_SPACE); /* sticky until recover */
    assert_int_equal(ul_store_recover(f->s), UL_OK);
    assert_int_equal(ul_store_fault(f->s, NULL), UL_OK);
    assert_int_equal(ul_store_write(f->s, b, true), UL_OK);
    ul_batch_destroy(b);
    expect_val(f->s, b2[0], "Fb");
    expect_val(f->s, b2[1], "Fc");
}

/* A damaged read is UL_E_CORRUPT and the store's fault for good (no more writes); damage to a
 * stored entry outlives a reopen and verify and iterators stop at it. */
static void test_mem_corrupt_reads(void **state)
{
    fixture *f = *state;
    const char *keys[] = {"Ca", "Cb", "Cc"};
    const char *text;
    put_batch(f->s, keys, 3, true);
    ul_memdisk_corrupt_reads(f->disk, 1);
    uint8_t *v = NULL;
    size_t n;
    assert_int_equal(ul_store_get(f->s, u8("Ca"), 2, &v, &n), UL_E_CORRUPT);
    assert_null(v);
    assert_int_equal(ul_store_fault(f->s, &text), UL_E_CORRUPT);
    assert_non_null(strstr(text, "Corruption"));
    assert_int_equal(ul_store_recover(f->s), UL_E_CORRUPT);
    ul_batch *b = ul_batch_create();
    assert_int_equal(ul_store_write(f->s, b, true), UL_E_CORRUPT);
    ul_batch_destroy(b);
    expect_val(f->s, "Ca", "Ca"); /* the one damaged read is spent */

    reopen(f);
    assert_int_equal(ul_store_fault(f->s, NULL), UL_OK);
    assert_int_equal(ul_memdisk_corrupt_key(f->disk, u8("Zz"), 2), UL_E_NOT_FOUND);
    assert_int_equal(ul_memdisk_corrupt_key(f->disk, u8("Cb"), 2), UL_OK);
    uint64_t entries;
    assert_int_equal(ul_store_verify(f->s, &entries), UL_E_CORRUPT);
    assert_int_equal(entries, 1);
    reopen(f);
    char buf[64];
    assert_int_equal(iter_walk(f->s, true, "C", "Cz", buf, sizeof buf), 1);
    assert_string_equal(buf, "Cc");
    assert_int_equal(ul_store_fault(f->s, NULL), UL_E_CORRUPT);
    reopen(f);
    uint8_t out[2];
    assert_int_equal(ul_store_get_fixed(f->s, u8("Cb"), 2, out, 2), UL_E_CORRUPT);
}

/* Runs a seeded mix of writes, crashes and damage on a fresh disk. Out: the digest of what it
 * holds readable. */
static void random_run(uint64_t seed, uint8_t out32[32])
{
    ul_memdisk *d;
    ul_store *s;
    ul_rng rng;
    ul_rng_seed(&rng, seed);
    assert_int_equal(ul_memdisk_create(&d), UL_OK);
    assert_int_equal(ul_store_open_mem(&s, d, true), UL_OK);
    for (int step = 0; step < 300; step++) {
        uint64_t dice = ul_rng_below(&rng, 20);
        if (dice == 0) {
            assert_int_equal(ul_memdisk_crash(d, &rng), UL_OK);
            ul_store_close(s);
            assert_int_equal(ul_store_open_mem(&s, d, false), UL_OK);
            continue;
        }
        ul_batch *b = ul_batch_create();
        assert_non_null(b);
        for (uint64_t i = 0, n = 1 + ul_rng_below(&rng, 4); i < n; i++) {
            uint8_t k[3] = {'R', (uint8_t)ul_rng_below(&rng, 8), (uint8_t)ul_rng_below(&rng, 8)};
            uint8_t v[8];
            ul_be64_put(v, ul_rng_next(&rng));
            if (ul_rng_below(&rng, 4) == 0) {
                ul_batch_delete(b, k, sizeof k);
            } else {
                ul_batch_put(b, k, sizeof k, v, sizeof v);
            }
        }
        assert_int_equal(ul_store_write(s, b, ul_rng_below(&rng, 3) == 0), UL_OK);
        ul_batch_destroy(b);
    }
    ul_memdisk_hash(d, false, out32);
    ul_store_close(s);
    ul_memdisk_destroy(d);
}

/* The same seed gives the same bytes; another seed other bytes. */
static void test_mem_deterministic(void **state)
{
    (void)state;
    uint8_t a[32], b[32], c[32];
    random_run(7, a);
    random_run(7, b);
    random_run(8, c);
    assert_memory_equal(a, b, 32);
    assert_memory_not_equal(a, c, 32);
    ul_rng r;
    ul_rng_seed(&r, 42);
    uint64_t first = ul_rng_next(&r);
    ul_rng_seed(&r, 42);
    assert_int_equal(ul_rng_next(&r), first);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_put_get_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_cache, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_cache_racing_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_read_cache_absent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_atomic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sync_write_and_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_fixed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_iter_prefix, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lock_and_missing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damaged_table, setup, teardown),
        cmocka_unit_test_setup_teardown(test_desc_and_floor, setup, teardown),
        /* The same cases on the memory backend, then its faults. */
        cmocka_unit_test_setup_teardown(test_put_get_delete, setup_mem, teardown),
        cmocka_unit_test_setup_teardown(test_read_cache, setup_mem, teardown),
        cmocka_unit_test_setup_teardown(test_read_cache_racing_read, setup_mem, teardown),
        cmocka_unit_test_setup_teardown(test_read_cache_absent, setup_mem, teardown),
        cmocka_unit_test_setup_teardown(test_batch_atomic, setup_mem, teardown),
        cmocka_unit_test_setup_teardown(test_sync_write_and_reopen, setup_mem, teardown),
        cmocka_unit_test_setup_teardown(test_get_fixed, setup_mem, teardown),
        cmocka_unit_test_setup_teardown(test_iter_prefix, setup_mem, teardown),
        cmocka_unit_test_setup_teardown(test_desc_and_floor, setup_mem, teardown),
        cmocka_unit_test_setup_teardown(test_mem_lock_and_missing, setup_mem, teardown),
        cmocka_unit_test_setup_teardown(test_mem_crash_drops_unsynced, setup_mem, teardown),
        cmocka_unit_test_setup_teardown(test_mem_crash_keeps_prefix, setup_mem, teardown),
        cmocka_unit_test_setup_teardown(test_mem_full_disk, setup_mem, teardown),
        cmocka_unit_test_setup_teardown(test_mem_corrupt_reads, setup_mem, teardown),
        cmocka_unit_test(test_mem_deterministic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
