/* Unit tests for keys/ (ul_keys_*), the keystore file format "upledger-key/1" the CLI, node,
 * tracker and device program share: round trips, files written before keys/ existed (by
 * `upledger keygen`), wrong passphrases, damaged and hostile files, plain keystores and the
 * permission check. Files live in a fresh directory under /tmp, removed at the end. */
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
#include <jansson.h>
#include <sodium.h>

#include "client/ul_client.h"
#include "keys/ul_keys.h"
#include "schema/ul_limits.h"

#define PASS "old file pass"
#define KDF_ARGON_LINE "\"kdf\": \"argon2id13\""

/* Written by `upledger keygen` (ledger/key.c before keys/ existed) under PASS. */
static const char old_enc[] =
    "{\n"
    "  \"format\": \"upledger-key/1\",\n"
    "  \"pubkey\": \"8f350bc43f6b10c3dfcaff97bb4592271d030bb288c10d4471305c590722d6ed\",\n"
    "  \"kdf\": \"argon2id13\",\n"
    "  \"opslimit\": 2,\n"
    "  \"memlimit\": 67108864,\n"
    "  \"salt\": \"f0fc654f28839e53284c18dc057a8b0f\",\n"
    "  \"nonce\": \"2f4c2d1927a522f90f9db33514551eaa58c9063ae7fe1fbf\",\n"
    "  \"sealed\": "
    "\"32edb1159f02ccfe675f21b335c555df6c3b347c04e26c2d780bd83fa452f7c4dcf5383da444d59ab1ba453563fe"
    "24ac\"\n"
    "}\n";
/* Written by `upledger keygen --insecure-no-passphrase` before keys/ existed. */
static const char old_plain[] =
    "{\n"
    "  \"format\": \"upledger-key/1\",\n"
    "  \"pubkey\": \"1d8e749987cf6ee7c6055f2099dcf2a93c9afb300c8014232715dd89ed46ad9b\",\n"
    "  \"kdf\": \"none\",\n"
    "  \"secret\": \"e1e404cf1a3d9f866b03cbd9fb642b3e0c24d87c8187d9ca4e62133e97cda429\"\n"
    "}\n";
static const char old_enc_pub[] =
    "8f350bc43f6b10c3dfcaff97bb4592271d030bb288c10d4471305c590722d6ed";

static char g_dir[64];
static int g_seq; /* names fresh files */

static void unhex(uint8_t *out, size_t n, const char *hex)
{
    size_t got = 0;
    assert_int_equal(sodium_hex2bin(out, n, hex, strlen(hex), NULL, &got, NULL), 0);
    assert_int_equal(got, n);
}

/* Writes data to a fresh file with the given mode; returns its path (out). */
static const char *put(char *out, size_t cap, const char *data, size_t len, mode_t mode)
{
    FILE *f;
    snprintf(out, cap, "%s/k-%d.json", g_dir, g_seq++);
    f = fopen(out, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(chmod(out, mode), 0);
    return out;
}

/* Reads path, expecting want; on UL_OK also the secret under pass, expecting want_secret. */
static void expect_secret(const char *path, const char *pass, ul_err want_read, ul_err want_secret)
{
    ul_keys_file *f = NULL;
    uint8_t sec[UL_KEYS_SECRET_BYTES], zero[UL_KEYS_SECRET_BYTES] = {0};

    assert_int_equal(ul_keys_file_read(&f, path), want_read);
    if (want_read != UL_OK) {
        assert_null(f);
        return;
    }
    memset(sec, 0xaa, sizeof sec);
    assert_int_equal(ul_keys_file_secret(f, pass, sec), want_secret);
    if (want_secret != UL_OK) {
        assert_memory_equal(sec, zero, sizeof sec); /* wiped on failure */
    }
    ul_keys_file_close(f);
}

static int setup(void **state)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/ul-test-keys-XXXXXX");
    return mkdtemp(g_dir) && sodium_init() >= 0 ? 0 : -1;
}

static int teardown(void **state)
{
    char path[sizeof g_dir + 258];
    DIR *d = opendir(g_dir);
    struct dirent *ent;

    while (d && (ent = readdir(d)) != NULL) {
        if (ent->d_name[0] != '.') {
            snprintf(path, sizeof path, "%s/%s", g_dir, ent->d_name);
            unlink(path);
        }
    }
    if (d) {
        closedir(d);
    }
    return rmdir(g_dir);
}

/* ---- tests ------------------------------------------------------------------------------- */

static void round_trip(const char *pass)
{
    uint8_t sec[UL_KEYS_SECRET_BYTES], pub[UL_KEYS_PUBKEY_BYTES], back[UL_KEYS_SECRET_BYTES];
    ul_keys_file *f = NULL;
    char path[128], *text = NULL;
    size_t len = 0;

    do {
        randombytes_buf(sec, sizeof sec);
    } while (ul_client_pubkey_from_secret(pub, sec) != UL_OK);
    assert_int_equal(ul_keys_encode(&text, &len, pub, sec, pass), UL_OK);
    assert_true(len > 1 && text[len - 1] == '\n');
    /* text is not NUL-terminated: memmem, not strstr */
    assert_int_equal(memmem(text, len, KDF_ARGON_LINE, sizeof KDF_ARGON_LINE - 1) != NULL,
                     pass != NULL);
    put(path, sizeof path, text, len, UL_KEYS_FILE_MODE);
    ul_keys_text_free(text);

    assert_int_equal(ul_keys_file_read(&f, path), UL_OK);
    assert_int_equal(ul_keys_file_encrypted(f), pass != NULL);
    assert_memory_equal(ul_keys_file_pubkey(f), pub, sizeof pub);
    assert_int_equal(ul_keys_file_mode_check(f), UL_OK);
    assert_int_equal(ul_keys_file_secret(f, pass, back), UL_OK);
    assert_memory_equal(back, sec, sizeof sec);
    ul_keys_file_close(f);
}

static void test_round_trip(void **state)
{
    round_trip("correct horse battery staple");
    round_trip(NULL);
}

/* Files written before keys/ existed still load, and a plain one is rewritten byte for byte. */
static void test_old_files(void **state)
{
    uint8_t sec[UL_KEYS_SECRET_BYTES], pub[UL_KEYS_PUBKEY_BYTES], want[UL_KEYS_PUBKEY_BYTES];
    ul_keys_file *f = NULL;
    char path[128], *text = NULL;
    size_t len = 0;

    put(path, sizeof path, old_enc, sizeof old_enc - 1, 0600);
    assert_int_equal(ul_keys_file_read(&f, path), UL_OK);
    assert_true(ul_keys_file_encrypted(f));
    assert_int_equal(ul_keys_file_secret(f, PASS, sec), UL_OK);
    assert_int_equal(ul_client_pubkey_from_secret(pub, sec), UL_OK);
    unhex(want, sizeof want, old_enc_pub);
    assert_memory_equal(pub, want, sizeof pub);
    assert_memory_equal(ul_keys_file_pubkey(f), want, sizeof want);
    ul_keys_file_close(f);

    /* the device program wrote no final newline */
    expect_secret(put(path, sizeof path, old_enc, sizeof old_enc - 2, 0600), PASS, UL_OK, UL_OK);

    put(path, sizeof path, old_plain, sizeof old_plain - 1, 0600);
    assert_int_equal(ul_keys_file_read(&f, path), UL_OK);
    assert_false(ul_keys_file_encrypted(f));
    assert_int_equal(ul_keys_file_secret(f, NULL, sec), UL_OK);
    memcpy(pub, ul_keys_file_pubkey(f), sizeof pub);
    ul_keys_file_close(f);
    assert_int_equal(ul_keys_encode(&text, &len, pub, sec, NULL), UL_OK);
    assert_int_equal(len, sizeof old_plain - 1);
    assert_memory_equal(text, old_plain, len);
    ul_keys_text_free(text);
}

static void test_wrong_passphrase(void **state)
{
    char path[128];

    put(path, sizeof path, old_enc, sizeof old_enc - 1, 0600);
    expect_secret(path, "old file pas", UL_OK, UL_E_PASSPHRASE);
    expect_secret(path, "", UL_OK, UL_E_PASSPHRASE);
    expect_secret(path, NULL, UL_OK, UL_E_ARG); /* encrypted: a passphrase is required */
}

/* Replaces the first occurrence of from with to in old_enc; writes the result to a fresh file. */
static const char *edited(char *out, size_t cap, const char *src, const char *from, const char *to)
{
    char buf[1024];
    const char *at = strstr(src, from);
    int n;

    assert_non_null(at);
    n = snprintf(buf, sizeof buf, "%.*s%s%s", (int)(at - src), src, to, at + strlen(from));
    assert_true(n > 0 && (size_t)n < sizeof buf);
    return put(out, cap, buf, (size_t)n, 0600);
}

static void test_damaged(void **state)
{
    char path[128], *big;

    /* the ciphertext, salt or nonce changed: the secretbox refuses, as for a wrong passphrase */
    expect_secret(edited(path, sizeof path, old_enc, "32edb115", "32edb116"), PASS, UL_OK,
                  UL_E_PASSPHRASE);
    expect_secret(edited(path, sizeof path, old_enc, "f0fc654f", "f0fc654e"), PASS, UL_OK,
                  UL_E_PASSPHRASE);
    expect_secret(edited(path, sizeof path, old_enc, "2f4c2d19", "2f4c2d18"), PASS, UL_OK,
                  UL_E_PASSPHRASE);
    /* hex of the wrong length or not hex */
    expect_secret(edited(path, sizeof path, old_enc, "32edb115", "32edb1"), PASS, UL_OK,
                  UL_E_SCHEMA_FIELD);
    expect_secret(edited(path, sizeof path, old_enc, "f0fc654f", "f0fc654g"), PASS, UL_OK,
                  UL_E_SCHEMA_FIELD);
    expect_secret(edited(path, sizeof path, old_enc, "8f350bc4", "8f350bcx"), PASS,
                  UL_E_SCHEMA_FIELD, UL_OK);
    /* limits: below libsodium's minimum, above what a sane file asks (hostile) */
    expect_secret(edited(path, sizeof path, old_enc, "\"opslimit\": 2", "\"opslimit\": 0"), PASS,
                  UL_OK, UL_E_SCHEMA_FIELD);
    expect_secret(edited(path, sizeof path, old_enc, "\"opslimit\": 2", "\"opslimit\": 17"), PASS,
                  UL_OK, UL_E_LIMIT);
    expect_secret(edited(path, sizeof path, old_enc, "67108864", "1073741825"), PASS, UL_OK,
                  UL_E_LIMIT);
    expect_secret(edited(path, sizeof path, old_enc, "\"opslimit\": 2", "\"opslimit\": \"2\""),
                  PASS, UL_OK, UL_E_SCHEMA_FIELD);
    /* the fields: an unknown one, a missing one, a duplicate, another format or kdf */
    expect_secret(edited(path, sizeof path, old_enc, "{\n", "{\"x\": 1,\n"), PASS,
                  UL_E_SCHEMA_FIELD, UL_OK);
    expect_secret(edited(path, sizeof path, old_enc, "\"opslimit\": 2,\n", ""), PASS,
                  UL_E_SCHEMA_FIELD, UL_OK);
    expect_secret(edited(path, sizeof path, old_enc, "{\n", "{\"kdf\": \"argon2id13\",\n"), PASS,
                  UL_E_SCHEMA_FIELD, UL_OK);
    expect_secret(edited(path, sizeof path, old_enc, "upledger-key/1", "upledger-key/2"), PASS,
                  UL_E_SCHEMA_FIELD, UL_OK);
    expect_secret(edited(path, sizeof path, old_enc, "argon2id13", "scrypt"), PASS,
                  UL_E_SCHEMA_FIELD, UL_OK);
    /* not JSON, not an object, truncated, empty */
    expect_secret(put(path, sizeof path, old_enc, sizeof old_enc / 2, 0600), PASS,
                  UL_E_SCHEMA_FIELD, UL_OK);
    expect_secret(put(path, sizeof path, "[1]", 3, 0600), PASS, UL_E_SCHEMA_FIELD, UL_OK);
    expect_secret(put(path, sizeof path, "", 0, 0600), PASS, UL_E_SCHEMA_FIELD, UL_OK);
    /* no such file; a directory; one byte past the size limit */
    expect_secret("/nonexistent/ul-keys.json", PASS, UL_E_NOT_FOUND, UL_OK);
    expect_secret(g_dir, PASS, UL_E_IO, UL_OK);
    big = malloc(UL_MAX_JSON_BYTES + 1);
    assert_non_null(big);
    memset(big, ' ', UL_MAX_JSON_BYTES + 1);
    expect_secret(put(path, sizeof path, big, UL_MAX_JSON_BYTES + 1, 0600), PASS, UL_E_LIMIT,
                  UL_OK);
    free(big);
}

/* A plain keystore: the secret in hex, no passphrase needed; a passphrase given is ignored
 * (callers decide whether to refuse it). */
static void test_unencrypted(void **state)
{
    char path[128];

    put(path, sizeof path, old_plain, sizeof old_plain - 1, 0600);
    expect_secret(path, NULL, UL_OK, UL_OK);
    expect_secret(path, PASS, UL_OK, UL_OK);
    expect_secret(edited(path, sizeof path, old_plain, "e1e404cf", "e1e404c"), NULL, UL_OK,
                  UL_E_SCHEMA_FIELD);
    expect_secret(edited(path, sizeof path, old_plain, "\"kdf\": \"none\"", "\"kdf\": \"\""), NULL,
                  UL_E_SCHEMA_FIELD, UL_OK);
    /* a plain keystore with sealed fields, an encrypted one with a secret: neither form */
    expect_secret(edited(path, sizeof path, old_plain, "{\n", "{\"salt\": \"00\",\n"), NULL,
                  UL_E_SCHEMA_FIELD, UL_OK);
    expect_secret(edited(path, sizeof path, old_enc, "{\n", "{\"secret\": \"00\",\n"), PASS,
                  UL_E_SCHEMA_FIELD, UL_OK);
}

static void test_permissions(void **state)
{
    static const mode_t open_modes[] = {0640, 0604, 0660, 0644, 0610, 0601, 0666, 0700 | 0007};
    static const mode_t owner_modes[] = {0600, 0400, 0700, 0200};
    ul_keys_file *f = NULL;
    char path[128];

    assert_int_equal(unsetenv(UL_KEYS_ALLOW_OPEN_ENV), 0);
    for (size_t i = 0; i < sizeof open_modes / sizeof open_modes[0]; i++) {
        assert_int_equal(ul_keys_mode_check(S_IFREG | open_modes[i]), UL_E_KEY_PERMS);
        put(path, sizeof path, old_plain, sizeof old_plain - 1, open_modes[i]);
        /* read and judged on its content; the mode is the caller's to judge, when it chooses */
        assert_int_equal(ul_keys_file_read(&f, path), UL_OK);
        assert_int_equal(ul_keys_file_mode_check(f), UL_E_KEY_PERMS);
        assert_int_equal(setenv(UL_KEYS_ALLOW_OPEN_ENV, "1", 1), 0);
        assert_int_equal(ul_keys_file_mode_check(f), UL_OK);
        assert_int_equal(setenv(UL_KEYS_ALLOW_OPEN_ENV, "yes", 1), 0);
        assert_int_equal(ul_keys_file_mode_check(f), UL_E_KEY_PERMS);
        assert_int_equal(unsetenv(UL_KEYS_ALLOW_OPEN_ENV), 0);
        ul_keys_file_close(f);
    }
    for (size_t i = 0; i < sizeof owner_modes / sizeof owner_modes[0]; i++) {
        assert_int_equal(ul_keys_mode_check(S_IFREG | owner_modes[i]), UL_OK);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),       cmocka_unit_test(test_old_files),
        cmocka_unit_test(test_wrong_passphrase), cmocka_unit_test(test_damaged),
        cmocka_unit_test(test_unencrypted),      cmocka_unit_test(test_permissions),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
