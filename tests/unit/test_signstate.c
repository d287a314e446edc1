/* Unit tests for a validator's sign state: the schema record (schema/signstate.c: round trip,
 * canonical form, every rule of its check) and its file (ledger/signstate.c: one checksummed
 * sector rewritten in place, an older node's file read and replaced, never moved back, a corrupt
 * or foreign file refused, a missing one told apart). Files live in a fresh directory under /tmp,
 * removed at the end. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "client/ul_client.h"
#include "ledger/ul_ledger.h"

static char g_dir[64] = "/tmp/ul-signstate-XXXXXX";
static int g_seq;
static const uint8_t key_a[UL_PUBKEY_BYTES] = {0xa1, 0xa2, 0xa3};
static const uint8_t key_b[UL_PUBKEY_BYTES] = {0xb1};
static const uint8_t hash_1[UL_HASH_BYTES] = {0x11};
static const uint8_t hash_2[UL_HASH_BYTES] = {0x22};

static void fresh_path(char *out, size_t cap)
{
    snprintf(out, cap, "%s/validator-%d.key.sign-state", g_dir, g_seq++);
}

static ul_sign_state fresh(const uint8_t *pub)
{
    ul_sign_state st;
    memset(&st, 0, sizeof st);
    memcpy(st.pubkey, pub, UL_PUBKEY_BYTES);
    return st;
}

static void write_bytes(const char *path, const uint8_t *p, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

/* ---- the record ------------------------------------------------------------------------- */

static void test_record_round_trip(void **state)
{
    (void)state;
    ul_sign_state st = fresh(key_a), back;
    st.height = 730, st.round = 2, st.step = UL_SIGN_PRECOMMIT;
    st.has_lock = st.has_lock_hash = true, st.lock_round = 1;
    memcpy(st.lock_hash, hash_1, UL_HASH_BYTES);
    uint8_t buf[UL_MAX_SIGN_STATE_BYTES], again[UL_MAX_SIGN_STATE_BYTES];
    size_t len, len2;
    assert_int_equal(ul_schema_sign_state_encode(buf, sizeof buf, &len, &st), UL_OK);
    assert_int_equal(ul_schema_sign_state_decode(&back, buf, len), UL_OK);
    assert_memory_equal(back.pubkey, key_a, UL_PUBKEY_BYTES);
    assert_true(back.height == 730 && back.round == 2 && back.step == UL_SIGN_PRECOMMIT);
    assert_true(back.has_lock && back.lock_round == 1);
    assert_memory_equal(back.lock_hash, hash_1, UL_HASH_BYTES);
    assert_int_equal(ul_schema_sign_state_encode(again, sizeof again, &len2, &back), UL_OK);
    assert_int_equal(len2, len);
    assert_memory_equal(again, buf, len); /* canonical: one encoding */
    /* Map keys ascending, integer keys: {1: key, 2: 730, 3: 2, 4: 3, 5: 1, 6: hash}. */
    assert_int_equal(buf[0], 0xa6);
    assert_int_equal(buf[1], 0x01);
    /* A fresh state (nothing signed) has no lock and round trips too. */
    ul_sign_state z = fresh(key_b);
    assert_int_equal(ul_schema_sign_state_encode(buf, sizeof buf, &len, &z), UL_OK);
    assert_int_equal(ul_schema_sign_state_decode(&back, buf, len), UL_OK);
    assert_true(back.height == 0 && back.step == 0 && !back.has_lock);
}

static void test_record_rules(void **state)
{
    (void)state;
    uint8_t buf[UL_MAX_SIGN_STATE_BYTES];
    size_t len;
    ul_sign_state bad[6];
    for (size_t i = 0; i < 6; i++) {
        bad[i] = fresh(key_a);
        bad[i].height = 5, bad[i].round = 3, bad[i].step = UL_SIGN_PREVOTE;
    }
    bad[0].step = 4;                               /* no such step */
    bad[1].round = (uint64_t)UINT32_MAX + 1;       /* a round the node cannot have */
    bad[2].has_lock = true;                        /* a lock round without its hash */
    bad[3].has_lock = bad[3].has_lock_hash = true; /* a lock above the last round */
    bad[3].lock_round = 4;
    bad[4].height = 0;          /* height 0 has signed nothing */
    bad[5].step = UL_SIGN_NONE; /* a height without a step */
    for (size_t i = 0; i < 6; i++) {
        assert_int_equal(ul_schema_sign_state_encode(buf, sizeof buf, &len, &bad[i]),
                         UL_E_SCHEMA_FIELD);
    }
    /* Not canonical (a two-byte integer that fits one) is refused by the decoder. */
    static const uint8_t noncanon[] = {0xa4, 0x01, 0x58, 0x20, [36] = 0x02, 0x18,
                                       0x05, 0x03, 0x00, 0x04, 0x02};
    ul_sign_state out;
    assert_int_not_equal(ul_schema_sign_state_decode(&out, noncanon, sizeof noncanon), UL_OK);
}

/* ---- the file --------------------------------------------------------------------------- */

static void test_file_round_trip_and_mode(void **state)
{
    (void)state;
    char path[128];
    fresh_path(path, sizeof path);
    ul_sign_state st = fresh(key_a), back;
    assert_int_equal(ul_signstate_save(path, &st), UL_OK);
    assert_int_equal(ul_signstate_advance(&st, path, 7, 0, UL_SIGN_PREVOTE, NULL), UL_OK);
    assert_int_equal(ul_signstate_advance(&st, path, 7, 0, UL_SIGN_PRECOMMIT, hash_1), UL_OK);
    assert_int_equal(ul_signstate_load(&back, path, key_a), UL_OK);
    assert_true(back.height == 7 && back.round == 0 && back.step == UL_SIGN_PRECOMMIT);
    assert_true(back.has_lock && back.lock_round == 0);
    assert_memory_equal(back.lock_hash, hash_1, UL_HASH_BYTES);
    /* A nil precommit in a later round keeps the lock; a new height drops it. */
    assert_int_equal(ul_signstate_advance(&st, path, 7, 1, UL_SIGN_PRECOMMIT, NULL), UL_OK);
    assert_int_equal(ul_signstate_load(&back, path, key_a), UL_OK);
    assert_true(back.has_lock && back.lock_round == 0 && back.round == 1);
    assert_int_equal(ul_signstate_advance(&st, path, 8, 0, UL_SIGN_PROPOSAL, NULL), UL_OK);
    assert_int_equal(ul_signstate_load(&back, path, key_a), UL_OK);
    assert_true(back.height == 8 && !back.has_lock);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
}

static void test_file_never_goes_back(void **state)
{
    (void)state;
    char path[128];
    fresh_path(path, sizeof path);
    ul_sign_state st = fresh(key_a), back;
    assert_int_equal(ul_signstate_advance(&st, path, 10, 2, UL_SIGN_PREVOTE, NULL), UL_OK);
    /* The same step again, an earlier step, round or height: refused, nothing written. */
    const uint64_t refused[][3] = {{10, 2, UL_SIGN_PREVOTE},   {10, 2, UL_SIGN_PROPOSAL},
                                   {10, 1, UL_SIGN_PRECOMMIT}, {9, 5, UL_SIGN_PRECOMMIT},
                                   {0, 0, UL_SIGN_NONE},       {11, 0, UL_SIGN_NONE}};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        assert_false(ul_signstate_after(&st, refused[i][0], refused[i][1], refused[i][2]) &&
                     refused[i][2] != UL_SIGN_NONE);
        assert_int_equal(
            ul_signstate_advance(&st, path, refused[i][0], refused[i][1], refused[i][2], hash_2),
            UL_E_SIGN_STATE);
        assert_int_equal(ul_signstate_load(&back, path, key_a), UL_OK);
        assert_true(back.height == 10 && back.round == 2 && back.step == UL_SIGN_PREVOTE);
        assert_false(back.has_lock);
    }
    assert_true(ul_signstate_after(&st, 10, 2, UL_SIGN_PRECOMMIT));
    assert_true(ul_signstate_after(&st, 10, 3, UL_SIGN_PROPOSAL));
    assert_true(ul_signstate_after(&st, 11, 0, UL_SIGN_PROPOSAL));
    /* A failed write leaves the state as it was: a directory that is gone. */
    char gone[160];
    snprintf(gone, sizeof gone, "%s/no-such-dir/x.sign-state", g_dir);
    assert_int_equal(ul_signstate_advance(&st, gone, 12, 0, UL_SIGN_PREVOTE, NULL), UL_E_IO);
    assert_true(st.height == 10 && st.round == 2 && st.step == UL_SIGN_PREVOTE);
}

static void test_file_missing_corrupt_foreign(void **state)
{
    (void)state;
    char path[128];
    ul_sign_state st = fresh(key_a), back;
    fresh_path(path, sizeof path);
    assert_int_equal(ul_signstate_load(&back, path, key_a), UL_E_NOT_FOUND);
    /* Another key's state is not this key's. */
    assert_int_equal(ul_signstate_advance(&st, path, 3, 0, UL_SIGN_PREVOTE, NULL), UL_OK);
    assert_int_equal(ul_signstate_load(&back, path, key_b), UL_E_SIGN_STATE);
    /* Truncated, garbage, empty, oversized, a flipped byte in the height: refused. */
    uint8_t buf[UL_MAX_SIGN_STATE_BYTES];
    size_t len;
    assert_int_equal(ul_schema_sign_state_encode(buf, sizeof buf, &len, &st), UL_OK);
    static uint8_t big[UL_MAX_SIGN_STATE_BYTES + 1];
    uint8_t flipped[UL_MAX_SIGN_STATE_BYTES];
    memcpy(flipped, buf, len);
    flipped[len - 5] ^= 0xff; /* the height byte becomes a CBOR simple value */
    const struct {
        const uint8_t *p;
        size_t n;
    } bad[] = {{buf, len - 1},
               {(const uint8_t *)"not cbor", 8},
               {buf, 0},
               {big, sizeof big},
               {flipped, len}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        fresh_path(path, sizeof path);
        write_bytes(path, bad[i].p, bad[i].n);
        assert_int_equal(ul_signstate_load(&back, path, key_a), UL_E_SIGN_STATE);
    }
}

static void read_bytes(const char *path, uint8_t *p, size_t cap, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    *len = fread(p, 1, cap, f);
    assert_int_equal(fclose(f), 0);
}

/* The file is one sector: length, record, zeros, SHA-256. Each signature rewrites it in place
 * (the same inode); an older node's file, the record alone, is read and then replaced whole. */
static void test_file_sector_in_place(void **state)
{
    (void)state;
    char path[128];
    fresh_path(path, sizeof path);
    ul_sign_state st = fresh(key_a), back;
    uint8_t rec[UL_MAX_SIGN_STATE_BYTES], sec[UL_SIGN_STATE_FILE_BYTES + 1], sum[UL_HASH_BYTES];
    size_t len, n;
    struct stat a, b;
    st.height = 4, st.step = UL_SIGN_PRECOMMIT;
    assert_int_equal(ul_schema_sign_state_encode(rec, sizeof rec, &len, &st), UL_OK);
    write_bytes(path, rec, len); /* an older node's file */
    assert_int_equal(ul_signstate_load(&back, path, key_a), UL_OK);
    assert_int_equal(back.height, 4);
    assert_int_equal(ul_signstate_advance(&st, path, 5, 0, UL_SIGN_PREVOTE, NULL), UL_OK);
    read_bytes(path, sec, sizeof sec, &n);
    assert_int_equal(n, UL_SIGN_STATE_FILE_BYTES);
    assert_int_equal(ul_schema_sign_state_encode(rec, sizeof rec, &len, &st), UL_OK);
    assert_int_equal(sec[0] << 8 | sec[1], len);
    assert_memory_equal(sec + 2, rec, len);
    for (size_t i = 2 + len; i < UL_SIGN_STATE_FILE_BYTES - UL_HASH_BYTES; i++) {
        assert_int_equal(sec[i], 0);
    }
    ul_client_sha256(sum, sec, UL_SIGN_STATE_FILE_BYTES - UL_HASH_BYTES);
    assert_memory_equal(sec + UL_SIGN_STATE_FILE_BYTES - UL_HASH_BYTES, sum, UL_HASH_BYTES);
    assert_int_equal(stat(path, &a), 0);
    assert_int_equal(ul_signstate_advance(&st, path, 5, 0, UL_SIGN_PRECOMMIT, hash_1), UL_OK);
    assert_int_equal(stat(path, &b), 0);
    assert_true(a.st_ino == b.st_ino && b.st_size == UL_SIGN_STATE_FILE_BYTES);
    assert_int_equal(b.st_mode & 0777, 0600);
    assert_int_equal(ul_signstate_load(&back, path, key_a), UL_OK);
    assert_true(back.height == 5 && back.step == UL_SIGN_PRECOMMIT && back.has_lock);
    /* Any byte changed - length, record, padding, checksum - and the sector is refused; so is a
     * file a byte short of it or over it. */
    read_bytes(path, sec, sizeof sec, &n);
    const size_t at[] = {0,
                         1,
                         2,
                         2 + len - 1,
                         2 + len,
                         UL_SIGN_STATE_FILE_BYTES - UL_HASH_BYTES - 1,
                         UL_SIGN_STATE_FILE_BYTES - UL_HASH_BYTES,
                         UL_SIGN_STATE_FILE_BYTES - 1};
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
        char bad[128];
        fresh_path(bad, sizeof bad);
        sec[at[i]] ^= 0x01;
        write_bytes(bad, sec, UL_SIGN_STATE_FILE_BYTES);
        sec[at[i]] ^= 0x01;
        assert_int_equal(ul_signstate_load(&back, bad, key_a), UL_E_SIGN_STATE);
    }
    for (size_t size = UL_SIGN_STATE_FILE_BYTES - 1; size <= UL_SIGN_STATE_FILE_BYTES + 1;
         size += 2) {
        char bad[128];
        fresh_path(bad, sizeof bad);
        write_bytes(bad, sec, size);
        assert_int_equal(ul_signstate_load(&back, bad, key_a), UL_E_SIGN_STATE);
    }
    /* A length past the largest record, with a checksum that matches it: refused. */
    sec[0] = 0x01, sec[1] = 0x01;
    ul_client_sha256(sec + UL_SIGN_STATE_FILE_BYTES - UL_HASH_BYTES, sec,
                     UL_SIGN_STATE_FILE_BYTES - UL_HASH_BYTES);
    char bad[128];
    fresh_path(bad, sizeof bad);
    write_bytes(bad, sec, UL_SIGN_STATE_FILE_BYTES);
    assert_int_equal(ul_signstate_load(&back, bad, key_a), UL_E_SIGN_STATE);
}

static void test_path(void **state)
{
    (void)state;
    char out[32];
    assert_int_equal(ul_signstate_path(out, sizeof out, "/k/validator.key"), UL_OK);
    assert_string_equal(out, "/k/validator.key.sign-state");
    assert_int_equal(ul_signstate_path(out, 27, "/k/validator.key"), UL_E_ARG);
    assert_int_equal(ul_signstate_path(out, 28, "/k/validator.key"), UL_OK);
}

static int setup(void **state)
{
    (void)state;
    return mkdtemp(g_dir) && ul_client_init() == UL_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    DIR *d = opendir(g_dir);
    struct dirent *e;
    char p[512];
    while (d && (e = readdir(d))) {
        if (e->d_name[0] != '.') {
            snprintf(p, sizeof p, "%s/%s", g_dir, e->d_name);
            unlink(p);
        }
    }
    if (d) {
        closedir(d);
    }
    return rmdir(g_dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_record_round_trip),
        cmocka_unit_test(test_record_rules),
        cmocka_unit_test(test_file_round_trip_and_mode),
        cmocka_unit_test(test_file_never_goes_back),
        cmocka_unit_test(test_file_missing_corrupt_foreign),
        cmocka_unit_test(test_file_sector_in_place),
        cmocka_unit_test(test_path),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
