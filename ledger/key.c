/* Signing keys (BIP-340 Schnorr over secp256k1) held in guarded, locked memory, and the keystore
 * files that keep them at rest: argon2id13 + crypto_secretbox, or plain hex on dev chains only.
 * Every buffer that holds secret bytes, hex included, is wiped before it is released. */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <secp256k1.h>
#include <secp256k1_extrakeys.h>
#include <secp256k1_schnorrsig.h>
#include <sodium.h>

#include "ul_ledger.h"

#define KEY_FORMAT "upledger-key/1"
#define KDF_ARGON "argon2id13"
#define KDF_NONE "none"
#define KEY_JSON_FLAGS (JSON_INDENT(2) | JSON_PRESERVE_ORDER)

/* What ul_key_save uses: libsodium's interactive argon2id profile (2 passes over 64 MiB, about
 * 0.1 s). The file sits on a node's own disk with mode 0600; the passphrase is the second line of
 * defence, and a node must be able to start without minutes of key stretching. */
#define KEY_OPSLIMIT ((unsigned long long)crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE)
#define KEY_MEMLIMIT ((size_t)crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE)
/* The most ul_key_load accepts from a file: 16 passes over 1 GiB (libsodium's "sensitive"
 * profile is 4 passes over 1 GiB). Anything above is a damaged or hostile file: honouring it
 * would pin the machine's memory or CPU for minutes. The minimum is libsodium's own. */
#define KEY_OPSLIMIT_MAX 16ULL
#define KEY_MEMLIMIT_MAX (1ULL << 30)

#define SALT_BYTES crypto_pwhash_argon2id_SALTBYTES
#define NONCE_BYTES crypto_secretbox_NONCEBYTES
#define SEALED_BYTES (UL_SECKEY_BYTES + crypto_secretbox_MACBYTES)
/* A random 32-byte string is a valid secret unless it is 0 or >= n: p(fail) < 2^-127 a try. */
#define KEY_GEN_TRIES 8

_Static_assert(crypto_secretbox_KEYBYTES == 32, "secretbox key is 32 bytes");
_Static_assert(KEY_MEMLIMIT <= KEY_MEMLIMIT_MAX && KEY_OPSLIMIT <= KEY_OPSLIMIT_MAX,
               "ul_key_load accepts what ul_key_save writes");

struct ul_key {
    secp256k1_keypair kp; /* holds the secret; secp256k1's own layout */
    uint8_t pub[UL_PUBKEY_BYTES];
};

/* The encrypted half of a keystore file, as stored. */
typedef struct {
    unsigned long long ops;
    size_t mem;
    uint8_t salt[SALT_BYTES];
    uint8_t nonce[NONCE_BYTES];
    uint8_t sealed[SEALED_BYTES];
} ks_box;

/* What every keystore file states in the clear. */
typedef struct {
    uint8_t pub[UL_PUBKEY_BYTES];
    bool encrypted;
} ks_head;

static const char *const enc_fields[] = {"format",   "pubkey", "kdf",   "opslimit",
                                         "memlimit", "salt",   "nonce", "sealed"};
static const char *const dev_fields[] = {"format", "pubkey", "kdf", "secret"};

/* ---- The signing context ------------------------------------------------------------------- */

static pthread_once_t ctx_once = PTHREAD_ONCE_INIT;
static secp256k1_context *ctx; /* set once by ctx_init, then only read (thread-safe in secp) */

/* Randomizing blinds the signing computation against side channels; it also needs libsodium. */
static void ctx_init(void)
{
    uint8_t seed[32];
    secp256k1_context *c;

    if (sodium_init() < 0) {
        return;
    }
    c = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    if (!c) {
        return;
    }
    randombytes_buf(seed, sizeof seed);
    if (!secp256k1_context_randomize(c, seed)) {
        secp256k1_context_destroy(c);
        c = NULL;
    }
    sodium_memzero(seed, sizeof seed);
    ctx = c;
}

/* Returns: the process-wide context, or NULL when libsodium or secp256k1 could not start. */
static const secp256k1_context *ctx_get(void)
{
    if (pthread_once(&ctx_once, ctx_init) != 0) {
        return NULL;
    }
    return ctx;
}

/* ---- Keys -------------------------------------------------------------------------------- */

/* Builds a key from a secret the caller holds (in sodium_malloc'd memory where we choose). The
 * key ends read-only, so a stray write faults instead of silently changing the key. */
static ul_err key_build(ul_key **out, const uint8_t sec[UL_SECKEY_BYTES])
{
    const secp256k1_context *c = ctx_get();
    secp256k1_xonly_pubkey xpk;
    ul_key *k;

    *out = NULL;
    if (!c) {
        return UL_E_INTERNAL;
    }
    k = sodium_malloc(sizeof *k);
    if (!k) {
        return UL_E_NOMEM;
    }
    if (!secp256k1_keypair_create(c, &k->kp, sec)) {
        sodium_free(k);
        return UL_E_KEY;
    }
    if (!secp256k1_keypair_xonly_pub(c, &xpk, NULL, &k->kp) ||
        !secp256k1_xonly_pubkey_serialize(c, k->pub, &xpk)) {
        sodium_free(k);
        return UL_E_INTERNAL;
    }
    sodium_mprotect_readonly(k);
    *out = k;
    return UL_OK;
}

ul_err ul_key_generate(ul_key **out)
{
    uint8_t *sec;
    ul_err e = UL_E_INTERNAL;

    assert(out);
    *out = NULL;
    if (!ctx_get()) {
        return UL_E_INTERNAL;
    }
    sec = sodium_malloc(UL_SECKEY_BYTES);
    if (!sec) {
        return UL_E_NOMEM;
    }
    for (int i = 0; i < KEY_GEN_TRIES; i++) {
        randombytes_buf(sec, UL_SECKEY_BYTES);
        e = key_build(out, sec);
        if (e != UL_E_KEY) {
            break;
        }
    }
    if (e == UL_E_KEY) {
        e = UL_E_INTERNAL; /* eight invalid draws in a row: the RNG is broken */
    }
    sodium_free(sec);
    return e;
}

ul_err ul_key_from_secret(ul_key **out, const uint8_t seckey32[UL_SECKEY_BYTES])
{
    assert(out && seckey32);
    return key_build(out, seckey32);
}

void ul_key_destroy(ul_key *k)
{
    sodium_free(k); /* makes the pages writable again, wipes, unlocks; accepts NULL */
}

const uint8_t *ul_key_pubkey(const ul_key *k)
{
    assert(k);
    return k->pub;
}

ul_err ul_key_sign(const ul_key *k, uint8_t sig64[UL_SIG_BYTES], ul_domain d,
                   const uint8_t chain_id32[UL_HASH_BYTES], const uint8_t *msg, size_t len)
{
    const secp256k1_context *c = ctx_get();
    uint8_t digest[UL_HASH_BYTES], aux[32];
    secp256k1_xonly_pubkey xpk;
    int ok;

    assert(k && sig64 && chain_id32 && (msg || len == 0));
    if (!c) {
        return UL_E_INTERNAL;
    }
    ul_client_signed_digest(digest, d, chain_id32, msg, len);
    randombytes_buf(aux, sizeof aux);
    ok = secp256k1_schnorrsig_sign32(c, sig64, digest, &k->kp, aux);
    sodium_memzero(aux, sizeof aux);
    /* A fault during signing (glitch, bit flip) can yield a signature that leaks the key; one
     * verification makes sure a faulty signature never leaves this function. */
    ok = ok && secp256k1_xonly_pubkey_parse(c, &xpk, k->pub) &&
         secp256k1_schnorrsig_verify(c, sig64, digest, sizeof digest, &xpk);
    if (!ok) {
        sodium_memzero(sig64, UL_SIG_BYTES);
        return UL_E_INTERNAL;
    }
    return UL_OK;
}

/* Out: sec (the caller's locked buffer) gets the key's 32 secret bytes. */
static ul_err key_secret(const ul_key *k, uint8_t sec[UL_SECKEY_BYTES])
{
    const secp256k1_context *c = ctx_get();

    if (!c || !secp256k1_keypair_sec(c, sec, &k->kp)) {
        return UL_E_INTERNAL;
    }
    return UL_OK;
}

/* ---- Keystore JSON ----------------------------------------------------------------------- */

/* Releases a keystore document, first wiping the one string that may hold secret hex. (jansson's
 * parser frees its token buffer unwiped, out of our reach: one more reason dev keystores are for
 * dev chains only.) */
static void json_release(json_t *root)
{
    json_t *s = json_object_get(root, "secret");

    if (json_is_string(s)) {
        sodium_memzero((char *)json_string_value(s), json_string_length(s));
    }
    json_decref(root);
}

static const char *json_str(const json_t *root, const char *name)
{
    const json_t *v = json_object_get(root, name);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* Sets root[name] to the hex of n bytes. The stack copy is wiped: it may be the secret. */
static int json_set_hex(json_t *root, const char *name, const uint8_t *in, size_t n)
{
    char hex[2 * SEALED_BYTES + 1];
    int rc;

    assert(n <= SEALED_BYTES);
    ul_hex_encode(hex, in, n);
    rc = json_object_set_new(root, name, json_string(hex));
    sodium_memzero(hex, sizeof hex);
    return rc;
}

static ul_err json_get_hex(const json_t *root, const char *name, uint8_t *out, size_t n)
{
    return ul_hex_decode(out, n, json_str(root, name)) == UL_OK ? UL_OK : UL_E_SCHEMA_FIELD;
}

/* Returns: true when root has exactly these n fields (jansson keys are unique). */
static bool json_has_exactly(const json_t *root, const char *const *names, size_t n)
{
    if (json_object_size(root) != n) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (!json_object_get(root, names[i])) {
            return false;
        }
    }
    return true;
}

/* Reads an integer field into [min, max]: UL_E_LIMIT above max (hostile), else SCHEMA_FIELD. */
static ul_err json_get_limit(const json_t *root, const char *name, unsigned long long min,
                             unsigned long long max, unsigned long long *out)
{
    const json_t *v = json_object_get(root, name);
    json_int_t n;

    if (!json_is_integer(v)) {
        return UL_E_SCHEMA_FIELD;
    }
    n = json_integer_value(v);
    if (n < 0 || (unsigned long long)n < min) {
        return UL_E_SCHEMA_FIELD;
    }
    if ((unsigned long long)n > max) {
        return UL_E_LIMIT;
    }
    *out = (unsigned long long)n;
    return UL_OK;
}

/* Checks the clear fields every keystore has and that no field is missing or unknown. */
static ul_err check_head(const json_t *root, ks_head *h)
{
    const char *fmt = json_str(root, "format"), *kdf = json_str(root, "kdf");
    bool exact;

    if (!fmt || strcmp(fmt, KEY_FORMAT) != 0 || !kdf) {
        return UL_E_SCHEMA_FIELD;
    }
    if (strcmp(kdf, KDF_ARGON) == 0) {
        h->encrypted = true;
        exact = json_has_exactly(root, enc_fields, sizeof enc_fields / sizeof enc_fields[0]);
    } else if (strcmp(kdf, KDF_NONE) == 0) {
        h->encrypted = false;
        exact = json_has_exactly(root, dev_fields, sizeof dev_fields / sizeof dev_fields[0]);
    } else {
        return UL_E_SCHEMA_FIELD;
    }
    if (!exact) {
        return UL_E_SCHEMA_FIELD;
    }
    return json_get_hex(root, "pubkey", h->pub, UL_PUBKEY_BYTES);
}

static ul_err parse_box(const json_t *root, ks_box *b)
{
    unsigned long long mem = 0;
    ul_err e;

    e = json_get_limit(root, "opslimit", crypto_pwhash_argon2id_OPSLIMIT_MIN, KEY_OPSLIMIT_MAX,
                       &b->ops);
    if (e == UL_OK) {
        e = json_get_limit(root, "memlimit", crypto_pwhash_argon2id_MEMLIMIT_MIN, KEY_MEMLIMIT_MAX,
                           &mem);
    }
    b->mem = (size_t)mem;
    if (e == UL_OK) {
        e = json_get_hex(root, "salt", b->salt, sizeof b->salt);
    }
    if (e == UL_OK) {
        e = json_get_hex(root, "nonce", b->nonce, sizeof b->nonce);
    }
    if (e == UL_OK) {
        e = json_get_hex(root, "sealed", b->sealed, sizeof b->sealed);
    }
    return e;
}

/* Out: key32 (locked) derived from the passphrase with the box's salt and limits. */
static ul_err derive(uint8_t *key32, const char *pass, const ks_box *b)
{
    if (crypto_pwhash(key32, crypto_secretbox_KEYBYTES, pass, strlen(pass), b->salt, b->ops, b->mem,
                      crypto_pwhash_ALG_ARGON2ID13) != 0) {
        return UL_E_NOMEM; /* argon2 fails only when it cannot get its memory */
    }
    return UL_OK;
}

/* ---- Reading keystores ------------------------------------------------------------------- */

/* Reads and parses the keystore at path (out: *mode, its st_mode). The raw bytes are wiped, as
 * is jansson's error text (it quotes the input near the error, which may be secret hex). */
static ul_err read_json(const char *path, json_t **out, unsigned *mode)
{
    json_error_t jerr;
    struct stat st;
    char *buf = NULL;
    size_t cap = 0, got = 0;
    ul_err e = UL_E_IO;
    int fd;

    *out = NULL;
    /* O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused just below. */
    fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        return UL_E_IO;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        goto out;
    }
    *mode = (unsigned)st.st_mode;
    if (st.st_size > UL_MAX_JSON_BYTES) {
        e = UL_E_LIMIT;
        goto out;
    }
    cap = (size_t)st.st_size + 1; /* one byte more to notice a file growing under us */
    buf = malloc(cap);
    if (!buf) {
        e = UL_E_NOMEM;
        goto out;
    }
    while (got < cap) { /* each pass reads at least one byte, stops, or retries EINTR */
        ssize_t n = read(fd, buf + got, cap - got);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            goto out;
        }
        if (n == 0) {
            break;
        }
        got += (size_t)n;
    }
    if (got == cap) {
        goto out; /* the file grew while we read it */
    }
    *out = json_loadb(buf, got, JSON_REJECT_DUPLICATES, &jerr);
    sodium_memzero(&jerr, sizeof jerr);
    e = json_is_object(*out) ? UL_OK : UL_E_SCHEMA_FIELD;
    if (e != UL_OK) {
        json_release(*out);
        *out = NULL;
    }
out:
    if (buf) {
        sodium_memzero(buf, cap);
        free(buf);
    }
    close(fd);
    return e;
}

static ul_err load_sealed(ul_key **out, const json_t *root, const char *pass)
{
    uint8_t *key32 = NULL, *sec = NULL;
    ks_box b;
    ul_err e;

    e = parse_box(root, &b);
    if (e != UL_OK) {
        return e;
    }
    key32 = sodium_malloc(crypto_secretbox_KEYBYTES);
    sec = sodium_malloc(UL_SECKEY_BYTES);
    if (!key32 || !sec) {
        e = UL_E_NOMEM;
        goto out;
    }
    e = derive(key32, pass, &b);
    if (e != UL_OK) {
        goto out;
    }
    if (crypto_secretbox_open_easy(sec, b.sealed, sizeof b.sealed, b.nonce, key32) != 0) {
        e = UL_E_PASSPHRASE;
        goto out;
    }
    e = key_build(out, sec);
out:
    sodium_free(key32);
    sodium_free(sec);
    return e;
}

static ul_err load_plain(ul_key **out, const json_t *root)
{
    uint8_t *sec = sodium_malloc(UL_SECKEY_BYTES);
    ul_err e;

    if (!sec) {
        return UL_E_NOMEM;
    }
    e = json_get_hex(root, "secret", sec, UL_SECKEY_BYTES);
    if (e == UL_OK) {
        e = key_build(out, sec);
    }
    sodium_free(sec);
    return e;
}

ul_err ul_key_mode_check(unsigned st_mode)
{
    const char *allow = getenv(UL_KEY_ALLOW_OPEN_ENV);

    if ((st_mode & (S_IRWXG | S_IRWXO)) == 0 || (allow && strcmp(allow, "1") == 0)) {
        return UL_OK;
    }
    return UL_E_KEY_PERMS;
}

void ul_key_perms_msg(char *msg, size_t cap, const char *path)
{
    struct stat st;
    unsigned mode = stat(path, &st) == 0 ? (unsigned)st.st_mode & 07777 : 0;

    snprintf(msg, cap, "mode %04o gives others access (chmod 600 it, or set %s=1)", mode,
             UL_KEY_ALLOW_OPEN_ENV);
}

ul_err ul_key_load(ul_key **out, const char *path, const char *passphrase)
{
    json_t *root = NULL;
    unsigned mode = 0;
    ks_head h;
    ul_err e;

    assert(out && path);
    *out = NULL;
    e = read_json(path, &root, &mode);
    if (e == UL_OK) {
        e = check_head(root, &h);
    }
    /* A passphrase offered for a clear keystore is refused too: otherwise whoever can write the
     * file could swap in a key of their own without knowing the passphrase. */
    if (e == UL_OK && h.encrypted != (passphrase != NULL)) {
        e = UL_E_ARG;
    }
    if (e == UL_OK) {
        e = h.encrypted ? load_sealed(out, root, passphrase) : load_plain(out, root);
    }
    if (e == UL_OK && memcmp(ul_key_pubkey(*out), h.pub, UL_PUBKEY_BYTES) != 0) {
        e = UL_E_KEY;
    }
    /* Judged last, so that a wrong or damaged file is named for what it is. */
    if (e == UL_OK) {
        e = ul_key_mode_check(mode);
    }
    if (e != UL_OK && *out) {
        ul_key_destroy(*out);
        *out = NULL;
    }
    json_release(root);
    return e;
}

ul_err ul_key_load_pubkey(const char *path, uint8_t pubkey32[UL_PUBKEY_BYTES])
{
    const secp256k1_context *c = ctx_get();
    secp256k1_xonly_pubkey xpk;
    json_t *root = NULL;
    unsigned mode; /* a public key may be read from any file */
    ks_head h;
    ul_err e;

    assert(path && pubkey32);
    if (!c) {
        return UL_E_INTERNAL;
    }
    e = read_json(path, &root, &mode);
    if (e == UL_OK) {
        e = check_head(root, &h);
    }
    if (e == UL_OK && !secp256k1_xonly_pubkey_parse(c, &xpk, h.pub)) {
        e = UL_E_KEY;
    }
    if (e == UL_OK) {
        memcpy(pubkey32, h.pub, UL_PUBKEY_BYTES);
    }
    json_release(root);
    return e;
}

bool ul_key_file_encrypted(const char *path)
{
    json_t *root = NULL;
    unsigned mode;
    ks_head h;
    bool enc = false;

    assert(path);
    if (read_json(path, &root, &mode) == UL_OK && check_head(root, &h) == UL_OK) {
        enc = h.encrypted;
    }
    json_release(root);
    return enc;
}

/* ---- Writing keystores ------------------------------------------------------------------- */

static json_t *head_json(const ul_key *k, const char *kdf)
{
    json_t *root = json_object();

    if (root && (json_object_set_new(root, "format", json_string(KEY_FORMAT)) != 0 ||
                 json_set_hex(root, "pubkey", k->pub, UL_PUBKEY_BYTES) != 0 ||
                 json_object_set_new(root, "kdf", json_string(kdf)) != 0)) {
        json_decref(root);
        root = NULL;
    }
    return root;
}

static ul_err build_plain(const ul_key *k, json_t **out)
{
    uint8_t *sec = sodium_malloc(UL_SECKEY_BYTES);
    ul_err e = UL_E_NOMEM;

    *out = head_json(k, KDF_NONE);
    if (!sec || !*out) {
        goto out;
    }
    e = key_secret(k, sec);
    if (e == UL_OK && json_set_hex(*out, "secret", sec, UL_SECKEY_BYTES) != 0) {
        e = UL_E_NOMEM;
    }
out:
    sodium_free(sec);
    return e; /* on failure the caller still releases *out */
}

static ul_err build_sealed(const ul_key *k, const char *pass, json_t **out)
{
    uint8_t *key32 = sodium_malloc(crypto_secretbox_KEYBYTES);
    uint8_t *sec = sodium_malloc(UL_SECKEY_BYTES);
    ks_box b = {.ops = KEY_OPSLIMIT, .mem = KEY_MEMLIMIT};
    ul_err e = UL_E_NOMEM;
    int rc;

    *out = head_json(k, KDF_ARGON);
    if (!key32 || !sec || !*out) {
        goto out;
    }
    randombytes_buf(b.salt, sizeof b.salt);
    randombytes_buf(b.nonce, sizeof b.nonce);
    e = derive(key32, pass, &b);
    if (e == UL_OK) {
        e = key_secret(k, sec);
    }
    if (e != UL_OK) {
        goto out;
    }
    crypto_secretbox_easy(b.sealed, sec, UL_SECKEY_BYTES, b.nonce, key32);
    rc = json_object_set_new(*out, "opslimit", json_integer((json_int_t)b.ops));
    rc |= json_object_set_new(*out, "memlimit", json_integer((json_int_t)b.mem));
    rc |= json_set_hex(*out, "salt", b.salt, sizeof b.salt);
    rc |= json_set_hex(*out, "nonce", b.nonce, sizeof b.nonce);
    rc |= json_set_hex(*out, "sealed", b.sealed, sizeof b.sealed);
    e = rc == 0 ? UL_OK : UL_E_NOMEM;
out:
    sodium_free(key32);
    sodium_free(sec);
    return e;
}

ul_err ul_key_save(const ul_key *k, const char *path, const char *passphrase)
{
    struct stat st;
    json_t *root = NULL;
    char *text = NULL;
    size_t n;
    ul_err e;

    assert(k && path);
    if (lstat(path, &st) == 0) {
        return UL_E_EXISTS; /* early, before the slow KDF; link() is what guarantees it */
    }
    e = passphrase ? build_sealed(k, passphrase, &root) : build_plain(k, &root);
    if (e != UL_OK) {
        goto out;
    }
    /* Dumped straight into guarded memory: a plain keystore holds the secret in hex. */
    n = json_dumpb(root, NULL, 0, KEY_JSON_FLAGS);
    text = n ? sodium_malloc(n + 1) : NULL;
    if (!text || json_dumpb(root, text, n, KEY_JSON_FLAGS) != n) {
        e = UL_E_NOMEM;
        goto out;
    }
    text[n] = '\n';
    e = ul_file_write_new(path, text, n + 1, 0600);
out:
    sodium_free(text); /* wipes; accepts NULL */
    json_release(root);
    return e;
}
