/* Unit tests for the LevelDB adapter (ledger/store.c): reads, writes, batches, prefix iteration,
 * the single-opener lock and reopening. Each test works in its own mkdtemp directory.
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

#include "ledger/ul_ledger.h"

typedef struct {
    char dir[64];
    ul_store *s;
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

static int teardown(void **state)
{
    fixture *f = *state;
    ul_store_close(f->s);
    nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
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
    ul_store_close(f->s);
    f->s = NULL;
    assert_int_equal(ul_store_open(&f->s, f->dir, false, 1 << 20), UL_OK);
    expect_val(f->s, "Bsync", "durable");
    expect_val(f->s, "Bnosync", "also");
    assert_true(ul_store_disk_bytes(f->dir) > 0);
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

/* Collects the keys an iterator yields, joined by ',' into buf. */
static int iter_keys(ul_store *s, const char *prefix, const char *start, char *buf, size_t cap)
{
    ul_store_iter *it = NULL;
    assert_int_equal(
        ul_store_iter_create(&it, s, u8(prefix), strlen(prefix), u8(start), strlen(start)), UL_OK);
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
    const char *keys[] = {"A1", "Ta", "Tb", "Tc", "Td", "U0", "T", "Tb2"};
    ul_batch *b = ul_batch_create();
    assert_non_null(b);
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        ul_batch_put(b, u8(keys[i]), strlen(keys[i]), u8(keys[i]), strlen(keys[i]));
    }
    assert_int_equal(ul_store_write(f->s, b, false), UL_OK);
    ul_batch_destroy(b);

    char buf[128];
    assert_int_equal(iter_keys(f->s, "T", "T", buf, sizeof(buf)), 6);
    assert_string_equal(buf, "T,Ta,Tb,Tb2,Tc,Td");
    assert_int_equal(iter_keys(f->s, "T", "Tb", buf, sizeof(buf)), 4);
    assert_string_equal(buf, "Tb,Tb2,Tc,Td");
    assert_int_equal(iter_keys(f->s, "T", "Tb1", buf, sizeof(buf)), 3);
    assert_string_equal(buf, "Tb2,Tc,Td");
    /* A start key below the prefix starts at the prefix. */
    assert_int_equal(iter_keys(f->s, "T", "A", buf, sizeof(buf)), 6);
    /* A start key past the family yields nothing. */
    assert_int_equal(iter_keys(f->s, "T", "Tz", buf, sizeof(buf)), 0);
    assert_int_equal(iter_keys(f->s, "V", "", buf, sizeof(buf)), 0);
    /* An empty prefix walks everything from start. */
    assert_int_equal(iter_keys(f->s, "", "Tc", buf, sizeof(buf)), 3);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_put_get_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_atomic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sync_write_and_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_fixed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_iter_prefix, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lock_and_missing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damaged_table, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
