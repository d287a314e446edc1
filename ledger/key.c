/* Signing keys (BIP-340 Schnorr over secp256k1) held in guarded, locked memory, and the keystore
 * files that keep them at rest, whose format keys/ (ul_keys_*) reads and writes. Every buffer
 * that holds secret bytes is wiped before it is released. */
#include <assert.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <secp256k1.h>
#include <secp256k1_extrakeys.h>
#include <secp256k1_schnorrsig.h>
#include <sodium.h>

#include "../keys/ul_keys.h"
#include "ul_ledger.h"

/* A random 32-byte string is a valid secret unless it is 0 or >= n: p(fail) < 2^-127 a try. */
#define KEY_GEN_TRIES 8

_Static_assert(UL_SECKEY_BYTES == UL_KEYS_SECRET_BYTES && UL_PUBKEY_BYTES == UL_KEYS_PUBKEY_BYTES,
               "keys/ stores the keys ul_key holds");

struct ul_key {
    secp256k1_keypair kp; /* holds the secret; secp256k1's own layout */
    uint8_t pub[UL_PUBKEY_BYTES];
};

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

/* ---- Keystore files: the format is keys/ (ul_keys_*) ---------------------------------------- */

/* A missing file is UL_E_IO to ul_key_* callers, as it always has been (keys/ says NOT_FOUND). */
static ul_err file_read(ul_keys_file **f, const char *path)
{
    ul_err e = ul_keys_file_read(f, path);
    return e == UL_E_NOT_FOUND ? UL_E_IO : e;
}

static ul_err load_secret(ul_key **out, const ul_keys_file *f, const char *pass)
{
    uint8_t *sec = sodium_malloc(UL_SECKEY_BYTES);
    ul_err e;

    if (!sec) {
        return UL_E_NOMEM;
    }
    e = ul_keys_file_secret(f, pass, sec);
    if (e == UL_OK) {
        e = key_build(out, sec);
    }
    sodium_free(sec);
    return e;
}

ul_err ul_key_mode_check(unsigned st_mode)
{
    return ul_keys_mode_check(st_mode);
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
    ul_keys_file *f = NULL;
    ul_err e;

    assert(out && path);
    *out = NULL;
    e = file_read(&f, path);
    /* A passphrase offered for a clear keystore is refused too: otherwise whoever can write the
     * file could swap in a key of their own without knowing the passphrase. */
    if (e == UL_OK && ul_keys_file_encrypted(f) != (passphrase != NULL)) {
        e = UL_E_ARG;
    }
    if (e == UL_OK) {
        e = load_secret(out, f, passphrase);
    }
    if (e == UL_OK && memcmp(ul_key_pubkey(*out), ul_keys_file_pubkey(f), UL_PUBKEY_BYTES) != 0) {
        e = UL_E_KEY;
    }
    /* Judged last, so that a wrong or damaged file is named for what it is. */
    if (e == UL_OK) {
        e = ul_keys_file_mode_check(f);
    }
    if (e != UL_OK && *out) {
        ul_key_destroy(*out);
        *out = NULL;
    }
    ul_keys_file_close(f);
    return e;
}

ul_err ul_key_load_pubkey(const char *path, uint8_t pubkey32[UL_PUBKEY_BYTES])
{
    const secp256k1_context *c = ctx_get();
    secp256k1_xonly_pubkey xpk;
    ul_keys_file *f = NULL; /* a public key may be read from any file, whatever its mode */
    ul_err e;

    assert(path && pubkey32);
    if (!c) {
        return UL_E_INTERNAL;
    }
    e = file_read(&f, path);
    if (e == UL_OK && !secp256k1_xonly_pubkey_parse(c, &xpk, ul_keys_file_pubkey(f))) {
        e = UL_E_KEY;
    }
    if (e == UL_OK) {
        memcpy(pubkey32, ul_keys_file_pubkey(f), UL_PUBKEY_BYTES);
    }
    ul_keys_file_close(f);
    return e;
}

bool ul_key_file_encrypted(const char *path)
{
    ul_keys_file *f = NULL;
    bool enc = false;

    assert(path);
    if (ul_keys_file_read(&f, path) == UL_OK) {
        enc = ul_keys_file_encrypted(f);
    }
    ul_keys_file_close(f);
    return enc;
}

ul_err ul_key_save(const ul_key *k, const char *path, const char *passphrase)
{
    struct stat st;
    uint8_t *sec = NULL;
    char *text = NULL;
    size_t n = 0;
    ul_err e;

    assert(k && path);
    if (lstat(path, &st) == 0) {
        return UL_E_EXISTS; /* early, before the slow KDF; link() is what guarantees it */
    }
    sec = sodium_malloc(UL_SECKEY_BYTES);
    if (!sec) {
        return UL_E_NOMEM;
    }
    e = key_secret(k, sec);
    if (e == UL_OK) {
        e = ul_keys_encode(&text, &n, k->pub, sec, passphrase);
    }
    sodium_free(sec);
    if (e == UL_OK) {
        e = ul_file_write_new(path, text, n, UL_KEYS_FILE_MODE);
    }
    ul_keys_text_free(text);
    return e;
}
