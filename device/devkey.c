/* upledger-device report key: the BIP-340 secret a device signs its reports with, in
 * DIR/report.key (mode 0600) in the CLI's keystore format "upledger-key/1" (README "Keys";
 * ledger/key.c): argon2id13 (libsodium's interactive limits) + crypto_secretbox under a
 * passphrase, or, when the owner asks with --plain-key (a headless device with no one to type a
 * passphrase), kdf "none" and the secret in hex. device/ may not link ledger/ (Makefile
 * check-device), so the format is read and written here with the same libsodium calls
 * (tests/system/test_device_report.py signs reports with a key `upledger keygen` wrote). Every
 * buffer that saw the secret is wiped. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "device.h"

#define KEY_FORMAT "upledger-key/1"
/* The most a file may ask of argon2id: as ledger/key.c (16 passes over 1 GiB). */
#define OPS_MAX 16ULL
#define MEM_MAX (1ULL << 30)
#define SEALED_BYTES (32 + crypto_secretbox_MACBYTES)
/* A keystore file: a few hex fields, far under this. */
#define KEY_FILE_MAX 4096

ul_err ul_dev_passphrase(const char *file, char *out, size_t cap)
{
    const char *env = getenv("UPLEDGER_PASSPHRASE");
    size_t len = 0;
    if (env && *env) {
        if (strlen(env) >= cap) {
            return UL_E_LIMIT;
        }
        memcpy(out, env, strlen(env) + 1);
        return UL_OK;
    }
    if (!file) {
        return UL_E_PASSPHRASE;
    }
    ul_err e = ul_dev_read_file(file, (uint8_t *)out, cap - 1, &len);
    if (e != UL_OK) {
        return e;
    }
    out[len] = 0;
    out[strcspn(out, "\r\n")] = 0; /* the first line */
    return out[0] ? UL_OK : UL_E_PASSPHRASE;
}

static void set_hex(json_t *o, const char *name, const uint8_t *p, size_t n)
{
    char hex[2 * 64 + 1];
    sodium_bin2hex(hex, sizeof hex, p, n);
    json_object_set_new(o, name, json_string(hex));
    sodium_memzero(hex, sizeof hex);
}

static bool get_hex(const json_t *o, const char *name, uint8_t *out, size_t n)
{
    const char *s = json_string_value(json_object_get(o, name));
    size_t got = 0;
    return s && strlen(s) == 2 * n && sodium_hex2bin(out, n, s, 2 * n, NULL, &got, NULL) == 0 &&
           got == n;
}

/* The passphrase's secretbox key for this salt and these limits. */
static ul_err derive(uint8_t key[32], const char *pass, const uint8_t *salt, uint64_t ops,
                     uint64_t mem)
{
    return crypto_pwhash(key, 32, pass, strlen(pass), salt, ops, (size_t)mem,
                         crypto_pwhash_ALG_ARGON2ID13) == 0
               ? UL_OK
               : UL_E_NOMEM;
}

static ul_err seal(json_t *o, const uint8_t sk[32], const char *pass)
{
    uint8_t salt[crypto_pwhash_SALTBYTES], nonce[crypto_secretbox_NONCEBYTES], key[32];
    uint8_t sealed[SEALED_BYTES];
    uint64_t ops = crypto_pwhash_OPSLIMIT_INTERACTIVE, mem = crypto_pwhash_MEMLIMIT_INTERACTIVE;
    randombytes_buf(salt, sizeof salt);
    randombytes_buf(nonce, sizeof nonce);
    ul_err e = derive(key, pass, salt, ops, mem);
    if (e == UL_OK) {
        crypto_secretbox_easy(sealed, sk, 32, nonce, key);
        json_object_set_new(o, "kdf", json_string("argon2id13"));
        json_object_set_new(o, "opslimit", json_integer((json_int_t)ops));
        json_object_set_new(o, "memlimit", json_integer((json_int_t)mem));
        set_hex(o, "salt", salt, sizeof salt);
        set_hex(o, "nonce", nonce, sizeof nonce);
        set_hex(o, "sealed", sealed, sizeof sealed);
    }
    sodium_memzero(key, sizeof key);
    return e;
}

ul_err ul_dev_report_key_create(const char *dir, const char *pass, uint8_t pub32[32])
{
    uint8_t sk[32];
    char *text = NULL;
    json_t *o = json_object();
    ul_err e = UL_E_KEY;
    do {
        randombytes_buf(sk, sizeof sk); /* a random 32 bytes is a key but with p < 2^-127 */
    } while (ul_client_pubkey_from_secret(pub32, sk) != UL_OK);
    json_object_set_new(o, "format", json_string(KEY_FORMAT));
    set_hex(o, "pubkey", pub32, 32);
    if (pass) {
        e = seal(o, sk, pass);
    } else {
        json_object_set_new(o, "kdf", json_string("none"));
        set_hex(o, "secret", sk, sizeof sk);
        e = UL_OK;
    }
    text = e == UL_OK ? json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    if (e == UL_OK) {
        e = text ? ul_dev_write_file(dir, "report.key", (const uint8_t *)text, strlen(text), 0600,
                                     false)
                 : UL_E_NOMEM;
    }
    if (text) {
        sodium_memzero(text, strlen(text));
        free(text);
    }
    json_decref(o); /* the hex secret inside: jansson frees it unwiped, as ledger/key.c notes */
    sodium_memzero(sk, sizeof sk);
    return e;
}

static ul_err open_sealed(const json_t *o, const char *pass, uint8_t sk[32])
{
    uint8_t salt[crypto_pwhash_SALTBYTES], nonce[crypto_secretbox_NONCEBYTES], key[32];
    uint8_t sealed[SEALED_BYTES];
    json_int_t ops = json_integer_value(json_object_get(o, "opslimit"));
    json_int_t mem = json_integer_value(json_object_get(o, "memlimit"));
    if (!pass) {
        return UL_E_PASSPHRASE;
    }
    if (ops < (json_int_t)crypto_pwhash_OPSLIMIT_MIN || (uint64_t)ops > OPS_MAX ||
        mem < (json_int_t)crypto_pwhash_MEMLIMIT_MIN || (uint64_t)mem > MEM_MAX ||
        !get_hex(o, "salt", salt, sizeof salt) || !get_hex(o, "nonce", nonce, sizeof nonce) ||
        !get_hex(o, "sealed", sealed, sizeof sealed)) {
        return UL_E_SCHEMA_FIELD;
    }
    ul_err e = derive(key, pass, salt, (uint64_t)ops, (uint64_t)mem);
    if (e == UL_OK && crypto_secretbox_open_easy(sk, sealed, sizeof sealed, nonce, key) != 0) {
        e = UL_E_PASSPHRASE;
    }
    sodium_memzero(key, sizeof key);
    return e;
}

ul_err ul_dev_report_key_load(const char *dir, const char *pass, uint8_t sk32[32],
                              uint8_t pub32[32])
{
    char path[UL_DEV_PATH_MAX], text[KEY_FILE_MAX + 1];
    uint8_t want[32];
    size_t len = 0;
    struct stat sb;
    snprintf(path, sizeof path, "%s/report.key", dir);
    ul_err e = ul_dev_read_file(path, (uint8_t *)text, KEY_FILE_MAX, &len);
    if (e == UL_OK && (stat(path, &sb) != 0 || (sb.st_mode & 077) != 0)) {
        e = UL_E_KEY_PERMS;
    }
    if (e != UL_OK) {
        sodium_memzero(text, sizeof text);
        return e == UL_E_LIMIT ? UL_E_KEY : e;
    }
    json_t *o = json_loadb(text, len, 0, NULL);
    sodium_memzero(text, sizeof text);
    const char *fmt = json_string_value(json_object_get(o, "format"));
    const char *kdf = json_string_value(json_object_get(o, "kdf"));
    e = UL_E_SCHEMA_FIELD;
    if (fmt && kdf && !strcmp(fmt, KEY_FORMAT) && get_hex(o, "pubkey", want, 32)) {
        e = !strcmp(kdf, "none") ? (get_hex(o, "secret", sk32, 32) ? UL_OK : UL_E_SCHEMA_FIELD)
            : !strcmp(kdf, "argon2id13") ? open_sealed(o, pass, sk32)
                                         : UL_E_SCHEMA_FIELD;
    }
    json_decref(o);
    if (e == UL_OK && (ul_client_pubkey_from_secret(pub32, sk32) != UL_OK ||
                       sodium_memcmp(pub32, want, 32) != 0)) {
        e = UL_E_KEY; /* the secret is not the key the file names */
    }
    if (e != UL_OK) {
        sodium_memzero(sk32, 32);
    }
    return e;
}
