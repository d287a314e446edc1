/* Unit tests for ledger/key.c: BIP-340 keys, signing bound to domain and chain, and keystore
 * files (encrypted and dev), including every way a damaged or hostile file is refused; and the
 * helpers keystores rest on (ledger/util.c hex, ledger/file.c new files).
 * Files live in a fresh directory under /tmp, removed at the end. */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "ledger/ul_ledger.h"

#define PASS "correct horse battery staple"

static char g_dir[64];
static char g_enc[128];   /* an encrypted keystore of g_key, PASS */
static char g_plain[128]; /* a dev keystore of g_key */
static ul_key *g_key;
static int g_seq; /* names fresh files */

static const uint8_t chain_a[UL_HASH_BYTES] = {0xa1, 0xa2};
static const uint8_t chain_b[UL_HASH_BYTES] = {0xb1, 0xb2};

/* ---- helpers --------------------------------------------------------------------------- */

static void fresh_path(char *out, size_t cap, const char *what)
{
    snprintf(out, cap, "%s/%s-%d.json", g_dir, what, g_seq++);
}

static void write_file(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

/* Returns: the file's contents, NUL-terminated (caller frees), and its length in *len. */
static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    assert_true(n >= 0);
    rewind(f);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    if (len) {
        *len = (size_t)n;
    }
    return buf;
}

static void hex_of(char *out, const uint8_t *in, size_t n)
{
    ul_hex_encode(out, in, n);
}

/* One change to a keystore's JSON: set a field to a JSON value, delete it, flip one hex digit
 * (0 <-> 1 keeps it hex) or drop the last byte of hex. */
typedef enum { SET, DEL, FLIP, CHOP } edit_op;

typedef struct {
    const char *name; /* what the case shows */
    edit_op op;
    const char *field;
    const char *value; /* JSON text, for SET */
    ul_err want;
} edit_case;

/* Copies keystore src to a fresh path with one edit applied; returns the new path (out). */
static const char *mutated(const char *src, const edit_case *c, char *out, size_t cap)
{
    json_error_t jerr;
    json_t *root = json_load_file(src, 0, &jerr);
    char *s = NULL;

    assert_non_null(root);
    if (c->op == FLIP || c->op == CHOP) {
        s = strdup(json_string_value(json_object_get(root, c->field)));
        assert_non_null(s);
        if (c->op == FLIP) {
            s[4] = s[4] == '0' ? '1' : '0';
        } else {
            s[strlen(s) - 2] = '\0';
        }
        assert_int_equal(json_object_set_new(root, c->field, json_string(s)), 0);
        free(s);
    } else if (c->op == SET) {
        assert_int_equal(
            json_object_set_new(root, c->field, json_loads(c->value, JSON_DECODE_ANY, &jerr)), 0);
    } else {
        assert_int_equal(json_object_del(root, c->field), 0);
    }
    fresh_path(out, cap, "mut");
    assert_int_equal(json_dump_file(root, out, JSON_COMPACT), 0);
    json_decref(root);
    return out;
}

static void expect_load(const char *path, const char *pass, ul_err want)
{
    ul_key *k = (ul_key *)1;
    assert_int_equal(ul_key_load(&k, path, pass), want);
    if (want == UL_OK) {
        assert_non_null(k);
        ul_key_destroy(k);
    } else {
        assert_null(k);
    }
}

static void rm_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char p[512];

    if (!d) {
        return;
    }
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            if (snprintf(p, sizeof p, "%s/%s", dir, e->d_name) < (int)sizeof p) {
                unlink(p);
            }
        }
    }
    closedir(d);
    rmdir(dir);
}

/* Returns: how many entries of g_dir contain ".tmp-" (leftover temp files). */
static int temp_files_left(void)
{
    DIR *d = opendir(g_dir);
    struct dirent *e;
    int n = 0;

    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        n += strstr(e->d_name, ".tmp-") != NULL;
    }
    closedir(d);
    return n;
}

static int group_setup(void **state)
{
    snprintf(g_dir, sizeof g_dir, "%s", "/tmp/ul-test-key-XXXXXX");
    if (!mkdtemp(g_dir) || ul_client_init() != UL_OK || ul_key_generate(&g_key) != UL_OK) {
        return -1;
    }
    snprintf(g_enc, sizeof g_enc, "%s/enc.json", g_dir);
    snprintf(g_plain, sizeof g_plain, "%s/plain.json", g_dir);
    if (ul_key_save(g_key, g_enc, PASS) != UL_OK || ul_key_save(g_key, g_plain, NULL) != UL_OK) {
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    ul_key_destroy(g_key);
    rm_dir(g_dir);
    return 0;
}

/* ---- keys and signatures ---------------------------------------------------------------- */

static void *sign_worker(void *arg)
{
    ul_key *k = NULL;
    uint8_t sig[UL_SIG_BYTES];
    int *ok = arg;

    *ok = ul_key_generate(&k) == UL_OK &&
          ul_key_sign(k, sig, UL_DOMAIN_TX, chain_a, (const uint8_t *)"x", 1) == UL_OK &&
          ul_client_sig_verify(sig, UL_DOMAIN_TX, chain_a, (const uint8_t *)"x", 1,
                               ul_key_pubkey(k)) == UL_OK;
    ul_key_destroy(k);
    return NULL;
}

/* Many threads generating and signing at once share the one context safely (try it under TSan). */
static void test_concurrent_sign(void **state)
{
    pthread_t t[8];
    int ok[8] = {0};

    for (int i = 0; i < 8; i++) {
        assert_int_equal(pthread_create(&t[i], NULL, sign_worker, &ok[i]), 0);
    }
    for (int i = 0; i < 8; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        assert_true(ok[i]);
    }
}

static void test_sign_verify_binding(void **state)
{
    const uint8_t msg[] = "release body";
    uint8_t sig[UL_SIG_BYTES], sig2[UL_SIG_BYTES];
    ul_key *other = NULL;
    const uint8_t *pk = ul_key_pubkey(g_key);

    assert_int_equal(ul_key_sign(g_key, sig, UL_DOMAIN_RELEASE, chain_a, msg, sizeof msg), UL_OK);
    assert_int_equal(ul_client_sig_verify(sig, UL_DOMAIN_RELEASE, chain_a, msg, sizeof msg, pk),
                     UL_OK);
    /* another domain, another chain, another message, another key: all refused */
    assert_int_equal(ul_client_sig_verify(sig, UL_DOMAIN_VOTE, chain_a, msg, sizeof msg, pk),
                     UL_E_SIG);
    assert_int_equal(ul_client_sig_verify(sig, UL_DOMAIN_TX, chain_a, msg, sizeof msg, pk),
                     UL_E_SIG);
    assert_int_equal(ul_client_sig_verify(sig, UL_DOMAIN_RELEASE, chain_b, msg, sizeof msg, pk),
                     UL_E_SIG);
    assert_int_equal(ul_client_sig_verify(sig, UL_DOMAIN_RELEASE, chain_a, msg, sizeof msg - 1, pk),
                     UL_E_SIG);
    assert_int_equal(ul_key_generate(&other), UL_OK);
    assert_memory_not_equal(ul_key_pubkey(other), pk, UL_PUBKEY_BYTES);
    assert_int_equal(ul_client_sig_verify(sig, UL_DOMAIN_RELEASE, chain_a, msg, sizeof msg,
                                          ul_key_pubkey(other)),
                     UL_E_SIG);
    ul_key_destroy(other);

    /* fresh aux randomness: signing twice gives two different valid signatures */
    assert_int_equal(ul_key_sign(g_key, sig2, UL_DOMAIN_RELEASE, chain_a, msg, sizeof msg), UL_OK);
    assert_memory_not_equal(sig, sig2, UL_SIG_BYTES);
    assert_int_equal(ul_client_sig_verify(sig2, UL_DOMAIN_RELEASE, chain_a, msg, sizeof msg, pk),
                     UL_OK);

    /* an empty message is a message */
    assert_int_equal(ul_key_sign(g_key, sig, UL_DOMAIN_PROPOSAL, chain_b, NULL, 0), UL_OK);
    assert_int_equal(ul_client_sig_verify(sig, UL_DOMAIN_PROPOSAL, chain_b, NULL, 0, pk), UL_OK);
}

/* BIP-340 test vector 0: secret key 3. Its signature (aux 0, message 0) must verify under the
 * public key ul_key derives, which cross-checks derivation against the reference. */
static void test_bip340_vector0(void **state)
{
    static const char *want_pk = "f9308a019258c31049344f85f89d5229b531c845836f99b08601f113bce036f9";
    static const char *vec_sig = "e907831f80848d1069a5371b402410364bdf1c5f8307b0084c55f1ce2dca8215"
                                 "25f66a4a85ea8b71e482a74f382d2ce5ebeee8fdb2172f477df4900d310536c0";
    uint8_t sec[UL_SECKEY_BYTES] = {0}, sig[UL_SIG_BYTES], zero[32] = {0};
    char hex[2 * UL_PUBKEY_BYTES + 1];
    ul_key *k = NULL;

    sec[31] = 3;
    assert_int_equal(ul_key_from_secret(&k, sec), UL_OK);
    hex_of(hex, ul_key_pubkey(k), UL_PUBKEY_BYTES);
    assert_string_equal(hex, want_pk);
    assert_int_equal(ul_hex_decode(sig, sizeof sig, vec_sig), UL_OK);
    assert_int_equal(ul_client_sig_verify_digest(sig, zero, ul_key_pubkey(k)), UL_OK);
    ul_key_destroy(k);
}

static void test_from_secret_invalid(void **state)
{
    /* n, the group order: the first value past the last valid secret */
    static const char *order = "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141";
    uint8_t sec[UL_SECKEY_BYTES];
    ul_key *k = (ul_key *)1;

    memset(sec, 0, sizeof sec);
    assert_int_equal(ul_key_from_secret(&k, sec), UL_E_KEY);
    assert_null(k);
    assert_int_equal(ul_hex_decode(sec, sizeof sec, order), UL_OK);
    assert_int_equal(ul_key_from_secret(&k, sec), UL_E_KEY);
    memset(sec, 0xff, sizeof sec);
    assert_int_equal(ul_key_from_secret(&k, sec), UL_E_KEY);
    sec[0] = 0x7f; /* below n: valid */
    assert_int_equal(ul_key_from_secret(&k, sec), UL_OK);
    ul_key_destroy(k);
    ul_key_destroy(NULL);
}

/* ---- keystores ------------------------------------------------------------------------- */

static void test_encrypted_round_trip(void **state)
{
    uint8_t sig[UL_SIG_BYTES], pk[UL_PUBKEY_BYTES];
    struct timespec t0, t1;
    ul_key *k = NULL;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(ul_key_load(&k, g_enc, PASS), UL_OK);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    print_message("encrypted keystore load: %.0f ms\n",
                  (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6);
    assert_memory_equal(ul_key_pubkey(k), ul_key_pubkey(g_key), UL_PUBKEY_BYTES);
    assert_int_equal(ul_key_sign(k, sig, UL_DOMAIN_VOTE, chain_a, (const uint8_t *)"v", 1), UL_OK);
    assert_int_equal(ul_client_sig_verify(sig, UL_DOMAIN_VOTE, chain_a, (const uint8_t *)"v", 1,
                                          ul_key_pubkey(g_key)),
                     UL_OK);
    ul_key_destroy(k);

    assert_true(ul_key_file_encrypted(g_enc));
    assert_int_equal(ul_key_load_pubkey(g_enc, pk), UL_OK);
    assert_memory_equal(pk, ul_key_pubkey(g_key), UL_PUBKEY_BYTES);
}

static void test_encrypted_file_content(void **state)
{
    uint8_t sec[UL_SECKEY_BYTES] = {0};
    char hex[2 * UL_SECKEY_BYTES + 1], path[128];
    json_error_t jerr;
    ul_key *k = NULL;
    json_t *root;
    char *text;

    /* a key whose secret we know, so we can look for it */
    for (int i = 0; i < UL_SECKEY_BYTES; i++) {
        sec[i] = (uint8_t)(0x11 * (i % 15 + 1));
    }
    assert_int_equal(ul_key_from_secret(&k, sec), UL_OK);
    fresh_path(path, sizeof path, "known");
    assert_int_equal(ul_key_save(k, path, PASS), UL_OK);
    ul_key_destroy(k);
    text = read_all(path, NULL);
    hex_of(hex, sec, sizeof sec);
    assert_null(strstr(text, hex));
    assert_null(strstr(text, PASS));
    free(text);

    root = json_load_file(path, 0, &jerr);
    assert_non_null(root);
    assert_string_equal(json_string_value(json_object_get(root, "format")), "upledger-key/1");
    assert_string_equal(json_string_value(json_object_get(root, "kdf")), "argon2id13");
    assert_int_equal(json_integer_value(json_object_get(root, "opslimit")), 2);
    assert_int_equal(json_integer_value(json_object_get(root, "memlimit")), 64 << 20);
    assert_int_equal(json_object_size(root), 8);
    json_decref(root);
    expect_load(path, PASS, UL_OK);
}

static void test_wrong_passphrase(void **state)
{
    expect_load(g_enc, "correct horse battery stapl", UL_E_PASSPHRASE);
    expect_load(g_enc, "", UL_E_PASSPHRASE);
}

static void test_null_passphrase_on_encrypted(void **state)
{
    expect_load(g_enc, NULL, UL_E_ARG);
}

static void test_plain_round_trip(void **state)
{
    uint8_t pk[UL_PUBKEY_BYTES];
    ul_key *k = NULL;
    json_error_t jerr;
    json_t *root;

    assert_int_equal(ul_key_load(&k, g_plain, NULL), UL_OK);
    assert_memory_equal(ul_key_pubkey(k), ul_key_pubkey(g_key), UL_PUBKEY_BYTES);
    ul_key_destroy(k);
    assert_false(ul_key_file_encrypted(g_plain));
    assert_int_equal(ul_key_load_pubkey(g_plain, pk), UL_OK);
    assert_memory_equal(pk, ul_key_pubkey(g_key), UL_PUBKEY_BYTES);

    root = json_load_file(g_plain, 0, &jerr);
    assert_non_null(root);
    assert_string_equal(json_string_value(json_object_get(root, "kdf")), "none");
    assert_int_equal(strlen(json_string_value(json_object_get(root, "secret"))), 64);
    assert_int_equal(json_object_size(root), 4);
    json_decref(root);

    /* a passphrase offered for a clear file is refused: the file may have been swapped */
    expect_load(g_plain, PASS, UL_E_ARG);
}

static void test_mode_0600(void **state)
{
    static const mode_t masks[] = {0022, 0, 0077};
    char path[128];
    struct stat st;

    for (size_t i = 0; i < sizeof masks / sizeof masks[0]; i++) {
        mode_t old = umask(masks[i]);
        fresh_path(path, sizeof path, "mode");
        assert_int_equal(ul_key_save(g_key, path, NULL), UL_OK);
        umask(old);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0600);
    }
    assert_int_equal(stat(g_enc, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(temp_files_left(), 0);
}

/* Private key files that others may access are refused (UL_E_KEY_PERMS), as OpenSSH refuses
 * them: any group or other bit, plain or encrypted; the owner's bits alone pass. Their public
 * key may still be read, and UPLEDGER_ALLOW_OPEN_KEY_FILES=1 (only "1") lets them through. */
static void test_open_key_files(void **state)
{
    static const mode_t open_modes[] = {0644, 0640, 0604, 0660, 0606, 0620, 0602, 0610, 0601};
    static const mode_t owner_modes[] = {0600, 0400, 0700};
    uint8_t pk[UL_PUBKEY_BYTES];

    assert_int_equal(unsetenv(UL_KEY_ALLOW_OPEN_ENV), 0);
    for (size_t i = 0; i < sizeof open_modes / sizeof open_modes[0]; i++) {
        assert_int_equal(chmod(g_plain, open_modes[i]), 0);
        expect_load(g_plain, NULL, UL_E_KEY_PERMS);
        assert_int_equal(ul_key_mode_check(S_IFREG | open_modes[i]), UL_E_KEY_PERMS);
        assert_int_equal(ul_key_load_pubkey(g_plain, pk), UL_OK);
        assert_false(ul_key_file_encrypted(g_plain));
    }
    assert_int_equal(chmod(g_enc, 0644), 0);
    expect_load(g_enc, PASS, UL_E_KEY_PERMS);
    expect_load(g_enc, "wrong", UL_E_PASSPHRASE); /* what the file holds is judged first */
    assert_int_equal(setenv(UL_KEY_ALLOW_OPEN_ENV, "1", 1), 0);
    expect_load(g_enc, PASS, UL_OK);
    expect_load(g_plain, NULL, UL_OK);
    assert_int_equal(setenv(UL_KEY_ALLOW_OPEN_ENV, "yes", 1), 0);
    expect_load(g_plain, NULL, UL_E_KEY_PERMS);
    assert_int_equal(unsetenv(UL_KEY_ALLOW_OPEN_ENV), 0);
    for (size_t i = 0; i < sizeof owner_modes / sizeof owner_modes[0]; i++) {
        assert_int_equal(chmod(g_plain, owner_modes[i]), 0);
        expect_load(g_plain, NULL, UL_OK);
        assert_int_equal(ul_key_mode_check(S_IFREG | owner_modes[i]), UL_OK);
    }
    assert_int_equal(chmod(g_plain, 0600), 0);
    assert_int_equal(chmod(g_enc, 0600), 0);
    expect_load(g_enc, PASS, UL_OK);
}

static void test_refuses_overwrite(void **state)
{
    static const char old[] = "not a keystore, but mine";
    char path[128], link_path[128], *text;
    struct stat st;
    size_t len;

    fresh_path(path, sizeof path, "exists");
    write_file(path, old, sizeof old - 1);
    assert_int_equal(ul_key_save(g_key, path, PASS), UL_E_EXISTS);
    assert_int_equal(ul_key_save(g_key, path, NULL), UL_E_EXISTS);
    text = read_all(path, &len);
    assert_int_equal(len, sizeof old - 1);
    assert_memory_equal(text, old, len);
    free(text);

    /* a dangling symlink is a name too: nothing is written through it */
    fresh_path(link_path, sizeof link_path, "dangling");
    fresh_path(path, sizeof path, "target");
    assert_int_equal(symlink(path, link_path), 0);
    assert_int_equal(ul_key_save(g_key, link_path, NULL), UL_E_EXISTS);
    assert_int_not_equal(stat(path, &st), 0);

    /* saving into a missing directory fails cleanly */
    snprintf(path, sizeof path, "%s/no/such/dir/key.json", g_dir);
    assert_int_equal(ul_key_save(g_key, path, NULL), UL_E_IO);
    assert_int_equal(temp_files_left(), 0);
}

/* ---- damaged and hostile files ----------------------------------------------------------- */

/* BIP-340 vector 0's key: valid, but not the key of the file's secret. */
#define OTHER_PK "\"f9308a019258c31049344f85f89d5229b531c845836f99b08601f113bce036f9\""
/* x >= p: not a point, so not a key. */
#define BAD_PK "\"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff\""
/* n, the group order: the first value past the last valid secret. */
#define ORDER "\"fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141\""
#define ZERO "\"0000000000000000000000000000000000000000000000000000000000000000\""

static void run_cases(const char *src, const char *pass, const edit_case *c, size_t n)
{
    char path[128];

    for (size_t i = 0; i < n; i++) {
        ul_key *k = (ul_key *)1;
        ul_err e;
        mutated(src, &c[i], path, sizeof path);
        e = ul_key_load(&k, path, pass);
        if (e != c[i].want) {
            fail_msg("%s: got %d, want %d", c[i].name, e, c[i].want);
        }
        assert_null(k);
    }
}

static void test_damaged_encrypted(void **state)
{
    static const edit_case cases[] = {
        {"missing nonce", DEL, "nonce", NULL, UL_E_SCHEMA_FIELD},
        {"missing pubkey", DEL, "pubkey", NULL, UL_E_SCHEMA_FIELD},
        {"unknown field", SET, "comment", "\"hi\"", UL_E_SCHEMA_FIELD},
        {"wrong format", SET, "format", "\"upledger-key/2\"", UL_E_SCHEMA_FIELD},
        {"format not a string", SET, "format", "1", UL_E_SCHEMA_FIELD},
        {"unknown kdf", SET, "kdf", "\"scrypt\"", UL_E_SCHEMA_FIELD},
        {"salt not hex", SET, "salt", "\"zz\"", UL_E_SCHEMA_FIELD},
        {"sealed too short", CHOP, "sealed", NULL, UL_E_SCHEMA_FIELD},
        {"opslimit a string", SET, "opslimit", "\"2\"", UL_E_SCHEMA_FIELD},
        {"opslimit zero", SET, "opslimit", "0", UL_E_SCHEMA_FIELD},
        {"memlimit negative", SET, "memlimit", "-1", UL_E_SCHEMA_FIELD},
        {"memlimit a float", SET, "memlimit", "67108864.0", UL_E_SCHEMA_FIELD},
        {"opslimit absurd", SET, "opslimit", "1000000", UL_E_LIMIT},
        {"memlimit absurd", SET, "memlimit", "1099511627776", UL_E_LIMIT},
        {"invalid pubkey", SET, "pubkey", BAD_PK, UL_E_KEY},
        {"tampered ciphertext", FLIP, "sealed", NULL, UL_E_PASSPHRASE},
        {"tampered nonce", FLIP, "nonce", NULL, UL_E_PASSPHRASE},
        {"tampered salt", FLIP, "salt", NULL, UL_E_PASSPHRASE},
        {"other opslimit", SET, "opslimit", "3", UL_E_PASSPHRASE},
        {"tampered pubkey", SET, "pubkey", OTHER_PK, UL_E_KEY},
    };
    run_cases(g_enc, PASS, cases, sizeof cases / sizeof cases[0]);
}

static void test_damaged_plain(void **state)
{
    static const edit_case cases[] = {
        {"missing secret", DEL, "secret", NULL, UL_E_SCHEMA_FIELD},
        {"unknown field", SET, "comment", "\"hi\"", UL_E_SCHEMA_FIELD},
        {"secret too short", CHOP, "secret", NULL, UL_E_SCHEMA_FIELD},
        {"tampered pubkey", SET, "pubkey", OTHER_PK, UL_E_KEY},
        {"zero secret", SET, "secret", ZERO, UL_E_KEY},
        {"secret = n", SET, "secret", ORDER, UL_E_KEY},
    };
    run_cases(g_plain, NULL, cases, sizeof cases / sizeof cases[0]);
}

static void test_unreadable_and_garbled(void **state)
{
    static const char dup[] = "{\"format\":\"upledger-key/1\",\"format\":\"upledger-key/1\"}";
    char path[128], *text, *big;
    uint8_t pk[UL_PUBKEY_BYTES];
    size_t len;

    expect_load("/nonexistent/ul-key.json", PASS, UL_E_IO);
    expect_load(g_dir, PASS, UL_E_IO); /* a directory */
    assert_int_equal(ul_key_load_pubkey("/nonexistent/ul-key.json", pk), UL_E_IO);
    assert_false(ul_key_file_encrypted("/nonexistent/ul-key.json"));

    text = read_all(g_enc, &len);
    fresh_path(path, sizeof path, "trunc");
    write_file(path, text, len / 2);
    expect_load(path, PASS, UL_E_SCHEMA_FIELD);
    assert_int_equal(ul_key_load_pubkey(path, pk), UL_E_SCHEMA_FIELD);
    assert_false(ul_key_file_encrypted(path));
    free(text);

    fresh_path(path, sizeof path, "empty");
    write_file(path, "", 0);
    expect_load(path, PASS, UL_E_SCHEMA_FIELD);

    fresh_path(path, sizeof path, "text");
    write_file(path, "hello, keystore\n", 16);
    expect_load(path, PASS, UL_E_SCHEMA_FIELD);

    fresh_path(path, sizeof path, "array");
    write_file(path, "[1,2,3]", 7);
    expect_load(path, NULL, UL_E_SCHEMA_FIELD);

    fresh_path(path, sizeof path, "dup");
    write_file(path, dup, sizeof dup - 1);
    expect_load(path, NULL, UL_E_SCHEMA_FIELD);

    /* one byte past the JSON limit is refused before it is parsed */
    big = malloc(UL_MAX_JSON_BYTES + 1);
    assert_non_null(big);
    memset(big, ' ', UL_MAX_JSON_BYTES + 1);
    big[0] = '{';
    big[UL_MAX_JSON_BYTES] = '}';
    fresh_path(path, sizeof path, "big");
    write_file(path, big, UL_MAX_JSON_BYTES + 1);
    expect_load(path, PASS, UL_E_LIMIT);
    assert_int_equal(ul_key_load_pubkey(path, pk), UL_E_LIMIT);
    /* at the limit it is read and judged on its content */
    write_file(path, big, UL_MAX_JSON_BYTES);
    expect_load(path, PASS, UL_E_SCHEMA_FIELD);
    free(big);
}

static void test_load_pubkey_invalid(void **state)
{
    static const edit_case bad_pk = {"invalid pubkey", SET, "pubkey", BAD_PK, UL_E_KEY};
    static const edit_case no_nonce = {"missing nonce", DEL, "nonce", NULL, UL_E_SCHEMA_FIELD};
    static const edit_case flip = {"tampered ciphertext", FLIP, "sealed", NULL, UL_OK};
    uint8_t pk[UL_PUBKEY_BYTES];
    char path[128];

    assert_int_equal(ul_key_load_pubkey(mutated(g_enc, &bad_pk, path, sizeof path), pk), UL_E_KEY);
    assert_int_equal(ul_key_load_pubkey(mutated(g_enc, &no_nonce, path, sizeof path), pk),
                     UL_E_SCHEMA_FIELD);
    assert_false(ul_key_file_encrypted(path));
    /* the clear fields only: a damaged ciphertext does not stop reading the public key */
    assert_int_equal(ul_key_load_pubkey(mutated(g_enc, &flip, path, sizeof path), pk), UL_OK);
    assert_memory_equal(pk, ul_key_pubkey(g_key), UL_PUBKEY_BYTES);
    assert_true(ul_key_file_encrypted(path));
}

/* ul_hex_decode takes exactly 2n hex digits of either case, nothing else. */
static void test_hex(void **state)
{
    static const uint8_t bytes[] = {0x00, 0x01, 0xab, 0xcd, 0xef, 0xff};
    static const char *const bad[] = {"0001abcdeff",  "0001abcdeffff0", "0001abcdefgg",
                                      "0001ab:cdeff", " 001abcdefff",   "0001abcdef f",
                                      "0001abcdeff\n"};
    uint8_t out[sizeof bytes];
    char hex[2 * sizeof bytes + 1];

    ul_hex_encode(hex, bytes, sizeof bytes);
    assert_string_equal(hex, "0001abcdefff");
    assert_int_equal(ul_hex_decode(out, sizeof out, hex), UL_OK);
    assert_memory_equal(out, bytes, sizeof bytes);
    assert_int_equal(ul_hex_decode(out, sizeof out, "0001ABCDEFFF"), UL_OK);
    assert_memory_equal(out, bytes, sizeof bytes);
    assert_int_equal(ul_hex_decode(out, 0, ""), UL_OK);
    assert_int_equal(ul_hex_decode(out, sizeof out, NULL), UL_E_ARG);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(ul_hex_decode(out, sizeof out, bad[i]), UL_E_ARG);
    }
}

/* ul_file_write_new: exactly the bytes and mode asked, whatever the umask; never over a name. */
static void test_file_write_new(void **state)
{
    static const uint8_t body[] = {'a', 0, 'b', '\n'};
    char path[128], *text;
    struct stat st;
    size_t len;

    fresh_path(path, sizeof path, "file");
    mode_t old = umask(0077);
    assert_int_equal(ul_file_write_new(path, body, sizeof body, 0644), UL_OK);
    umask(old);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0644);
    text = read_all(path, &len);
    assert_int_equal(len, sizeof body);
    assert_memory_equal(text, body, len);
    free(text);
    assert_int_equal(ul_file_write_new(path, "x", 1, 0600), UL_E_EXISTS);
    text = read_all(path, &len);
    assert_int_equal(len, sizeof body);
    free(text);
    fresh_path(path, sizeof path, "empty");
    assert_int_equal(ul_file_write_new(path, NULL, 0, 0600), UL_OK);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    snprintf(path, sizeof path, "%s/no/such/dir/f", g_dir);
    assert_int_equal(ul_file_write_new(path, "x", 1, 0600), UL_E_IO);
    assert_int_equal(temp_files_left(), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_concurrent_sign),
        cmocka_unit_test(test_sign_verify_binding),
        cmocka_unit_test(test_bip340_vector0),
        cmocka_unit_test(test_from_secret_invalid),
        cmocka_unit_test(test_encrypted_round_trip),
        cmocka_unit_test(test_encrypted_file_content),
        cmocka_unit_test(test_wrong_passphrase),
        cmocka_unit_test(test_null_passphrase_on_encrypted),
        cmocka_unit_test(test_plain_round_trip),
        cmocka_unit_test(test_mode_0600),
        cmocka_unit_test(test_open_key_files),
        cmocka_unit_test(test_refuses_overwrite),
        cmocka_unit_test(test_damaged_encrypted),
        cmocka_unit_test(test_damaged_plain),
        cmocka_unit_test(test_unreadable_and_garbled),
        cmocka_unit_test(test_load_pubkey_invalid),
        cmocka_unit_test(test_hex),
        cmocka_unit_test(test_file_write_new),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
