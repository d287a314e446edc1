/* The keystore file format "upledger-key/1": argon2id13 + crypto_secretbox, or the secret in hex
 * on dev chains and headless devices (keys/ul_keys.h). One implementation, for ledger/key.c and
 * device/devkey.c alike; every buffer that holds secret bytes, hex included, is wiped. */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "../schema/ul_limits.h"
#include "ul_keys.h"

#define KDF_ARGON "argon2id13"
#define KDF_NONE "none"
#define KEY_JSON_FLAGS (JSON_INDENT(2) | JSON_PRESERVE_ORDER)

/* What ul_keys_encode uses: libsodium's interactive argon2id profile (2 passes over 64 MiB, about
 * 0.1 s). The file sits on the owner's own disk with mode 0600; the passphrase is the second line
 * of defence, and a node must be able to start without minutes of key stretching. */
#define KEY_OPSLIMIT ((unsigned long long)crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE)
#define KEY_MEMLIMIT ((size_t)crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE)
/* The most a file may ask for: UL_MAX_KEY_OPSLIMIT, UL_MAX_KEY_MEMLIMIT (schema/ul_limits.h); the
 * minimum is libsodium's own. */

#define SALT_BYTES crypto_pwhash_argon2id_SALTBYTES
#define NONCE_BYTES crypto_secretbox_NONCEBYTES
#define SEALED_BYTES (UL_KEYS_SECRET_BYTES + crypto_secretbox_MACBYTES)

_Static_assert(crypto_secretbox_KEYBYTES == 32, "secretbox key is 32 bytes");
_Static_assert(KEY_MEMLIMIT <= UL_MAX_KEY_MEMLIMIT && KEY_OPSLIMIT <= UL_MAX_KEY_OPSLIMIT,
               "a keystore reads back what it writes");

struct ul_keys_file {
    json_t *root;
    uint8_t pub[UL_KEYS_PUBKEY_BYTES];
    bool encrypted;
    unsigned mode; /* st_mode as read */
};

/* The encrypted half of a keystore file, as stored. */
typedef struct {
    unsigned long long ops;
    size_t mem;
    uint8_t salt[SALT_BYTES];
    uint8_t nonce[NONCE_BYTES];
    uint8_t sealed[SEALED_BYTES];
} ks_box;

static const char *const enc_fields[] = {"format",   "pubkey", "kdf",   "opslimit",
                                         "memlimit", "salt",   "nonce", "sealed"};
static const char *const dev_fields[] = {"format", "pubkey", "kdf", "secret"};

/* ---- JSON fields -------------------------------------------------------------------------- */

/* Releases a keystore document, first wiping the one string that may hold secret hex. (jansson's
 * parser frees its token buffer unwiped, out of our reach: one more reason plain keystores are
 * for dev chains only.) */
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

/* Sets root[name] to the lower-case hex of n bytes. The stack copy is wiped: it may be the
 * secret. */
static int json_set_hex(json_t *root, const char *name, const uint8_t *in, size_t n)
{
    char hex[2 * SEALED_BYTES + 1];
    int rc;

    assert(n <= SEALED_BYTES);
    sodium_bin2hex(hex, sizeof hex, in, n);
    rc = json_object_set_new(root, name, json_string(hex));
    sodium_memzero(hex, sizeof hex);
    return rc;
}

/* Reads exactly 2n hex digits of either case, nothing else. */
static ul_err json_get_hex(const json_t *root, const char *name, uint8_t *out, size_t n)
{
    const char *hex = json_str(root, name), *end = NULL;
    size_t got = 0;

    if (!hex || strlen(hex) != 2 * n || sodium_hex2bin(out, n, hex, 2 * n, NULL, &got, &end) != 0 ||
        got != n || end != hex + 2 * n) {
        return UL_E_SCHEMA_FIELD;
    }
    return UL_OK;
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
static ul_err check_head(ul_keys_file *f)
{
    const char *fmt = json_str(f->root, "format"), *kdf = json_str(f->root, "kdf");
    bool exact;

    if (!fmt || strcmp(fmt, UL_KEYS_FORMAT) != 0 || !kdf) {
        return UL_E_SCHEMA_FIELD;
    }
    if (strcmp(kdf, KDF_ARGON) == 0) {
        f->encrypted = true;
        exact = json_has_exactly(f->root, enc_fields, sizeof enc_fields / sizeof enc_fields[0]);
    } else if (strcmp(kdf, KDF_NONE) == 0) {
        f->encrypted = false;
        exact = json_has_exactly(f->root, dev_fields, sizeof dev_fields / sizeof dev_fields[0]);
    } else {
        return UL_E_SCHEMA_FIELD;
    }
    if (!exact) {
        return UL_E_SCHEMA_FIELD;
    }
    return json_get_hex(f->root, "pubkey", f->pub, UL_KEYS_PUBKEY_BYTES);
}

static ul_err parse_box(const json_t *root, ks_box *b)
{
    unsigned long long mem = 0;
    ul_err e;

    e = json_get_limit(root, "opslimit", crypto_pwhash_argon2id_OPSLIMIT_MIN, UL_MAX_KEY_OPSLIMIT,
                       &b->ops);
    if (e == UL_OK) {
        e = json_get_limit(root, "memlimit", crypto_pwhash_argon2id_MEMLIMIT_MIN,
                           UL_MAX_KEY_MEMLIMIT, &mem);
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

/* ---- Reading ------------------------------------------------------------------------------ */

/* Reads all of the regular file fd (size bytes by fstat) into a malloc'd buffer. Out: *buf,
 * *cap (its size, for the caller's wipe), *got. */
static ul_err read_all(int fd, size_t size, char **buf, size_t *cap, size_t *got)
{
    *cap = size + 1; /* one byte more to notice a file growing under us */
    *got = 0;
    *buf = malloc(*cap);
    if (!*buf) {
        return UL_E_NOMEM;
    }
    while (*got < *cap) { /* each pass reads at least one byte, stops, or retries EINTR */
        ssize_t n = read(fd, *buf + *got, *cap - *got);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return UL_E_IO;
        }
        if (n == 0) {
            break;
        }
        *got += (size_t)n;
    }
    return *got == *cap ? UL_E_IO : UL_OK; /* the file grew while we read it */
}

/* Reads and parses the file at path into f->root and f->mode. The raw bytes are wiped, as is
 * jansson's error text (it quotes the input near the error, which may be secret hex). */
static ul_err read_json(ul_keys_file *f, const char *path)
{
    json_error_t jerr;
    struct stat st;
    char *buf = NULL;
    size_t cap = 0, got = 0;
    ul_err e = UL_E_IO;
    int fd;

    /* O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused just below. */
    fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        return errno == ENOENT ? UL_E_NOT_FOUND : UL_E_IO;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        goto out;
    }
    f->mode = (unsigned)st.st_mode;
    if (st.st_size > UL_MAX_JSON_BYTES) {
        e = UL_E_LIMIT;
        goto out;
    }
    e = read_all(fd, (size_t)st.st_size, &buf, &cap, &got);
    if (e != UL_OK) {
        goto out;
    }
    f->root = json_loadb(buf, got, JSON_REJECT_DUPLICATES, &jerr);
    sodium_memzero(&jerr, sizeof jerr);
    e = json_is_object(f->root) ? UL_OK : UL_E_SCHEMA_FIELD;
out:
    if (buf) {
        sodium_memzero(buf, cap);
        free(buf);
    }
    close(fd);
    return e;
}

ul_err ul_keys_file_read(ul_keys_file **out, const char *path)
{
    ul_keys_file *f;
    ul_err e;

    assert(out && path);
    *out = NULL;
    if (sodium_init() < 0) {
        return UL_E_INTERNAL;
    }
    f = calloc(1, sizeof *f);
    if (!f) {
        return UL_E_NOMEM;
    }
    e = read_json(f, path);
    if (e == UL_OK) {
        e = check_head(f);
    }
    if (e != UL_OK) {
        ul_keys_file_close(f);
        return e;
    }
    *out = f;
    return UL_OK;
}

void ul_keys_file_close(ul_keys_file *f)
{
    if (f) {
        json_release(f->root);
        free(f);
    }
}

const uint8_t *ul_keys_file_pubkey(const ul_keys_file *f)
{
    assert(f);
    return f->pub;
}

bool ul_keys_file_encrypted(const ul_keys_file *f)
{
    assert(f);
    return f->encrypted;
}

ul_err ul_keys_file_mode_check(const ul_keys_file *f)
{
    assert(f);
    return ul_keys_mode_check(f->mode);
}

static ul_err open_sealed(const json_t *root, const char *pass, uint8_t *sec32)
{
    uint8_t *key32 = NULL;
    ks_box b;
    ul_err e;

    e = parse_box(root, &b);
    if (e != UL_OK) {
        return e;
    }
    key32 = sodium_malloc(crypto_secretbox_KEYBYTES);
    if (!key32) {
        return UL_E_NOMEM;
    }
    e = derive(key32, pass, &b);
    if (e == UL_OK &&
        crypto_secretbox_open_easy(sec32, b.sealed, sizeof b.sealed, b.nonce, key32) != 0) {
        e = UL_E_PASSPHRASE;
    }
    sodium_free(key32);
    return e;
}

ul_err ul_keys_file_secret(const ul_keys_file *f, const char *pass,
                           uint8_t sec32[UL_KEYS_SECRET_BYTES])
{
    ul_err e;

    assert(f && sec32);
    if (!f->encrypted) {
        e = json_get_hex(f->root, "secret", sec32, UL_KEYS_SECRET_BYTES);
    } else if (!pass) {
        e = UL_E_ARG;
    } else {
        e = open_sealed(f->root, pass, sec32);
    }
    if (e != UL_OK) {
        sodium_memzero(sec32, UL_KEYS_SECRET_BYTES);
    }
    return e;
}

ul_err ul_keys_mode_check(unsigned st_mode)
{
    const char *allow = getenv(UL_KEYS_ALLOW_OPEN_ENV);

    if ((st_mode & (S_IRWXG | S_IRWXO)) == 0 || (allow && strcmp(allow, "1") == 0)) {
        return UL_OK;
    }
    return UL_E_KEY_PERMS;
}

/* ---- Writing ------------------------------------------------------------------------------ */

static json_t *head_json(const uint8_t *pub32, const char *kdf)
{
    json_t *root = json_object();

    if (root && (json_object_set_new(root, "format", json_string(UL_KEYS_FORMAT)) != 0 ||
                 json_set_hex(root, "pubkey", pub32, UL_KEYS_PUBKEY_BYTES) != 0 ||
                 json_object_set_new(root, "kdf", json_string(kdf)) != 0)) {
        json_decref(root);
        root = NULL;
    }
    return root;
}

/* Adds the sealed fields of sec32 under pass to root. */
static ul_err seal(json_t *root, const uint8_t *sec32, const char *pass)
{
    uint8_t *key32 = sodium_malloc(crypto_secretbox_KEYBYTES);
    ks_box b = {.ops = KEY_OPSLIMIT, .mem = KEY_MEMLIMIT};
    ul_err e = UL_E_NOMEM;
    int rc;

    if (!key32) {
        return UL_E_NOMEM;
    }
    randombytes_buf(b.salt, sizeof b.salt);
    randombytes_buf(b.nonce, sizeof b.nonce);
    e = derive(key32, pass, &b);
    if (e != UL_OK) {
        goto out;
    }
    crypto_secretbox_easy(b.sealed, sec32, UL_KEYS_SECRET_BYTES, b.nonce, key32);
    rc = json_object_set_new(root, "opslimit", json_integer((json_int_t)b.ops));
    rc |= json_object_set_new(root, "memlimit", json_integer((json_int_t)b.mem));
    rc |= json_set_hex(root, "salt", b.salt, sizeof b.salt);
    rc |= json_set_hex(root, "nonce", b.nonce, sizeof b.nonce);
    rc |= json_set_hex(root, "sealed", b.sealed, sizeof b.sealed);
    e = rc == 0 ? UL_OK : UL_E_NOMEM;
out:
    sodium_free(key32);
    return e;
}

ul_err ul_keys_encode(char **text, size_t *len, const uint8_t pub32[UL_KEYS_PUBKEY_BYTES],
                      const uint8_t sec32[UL_KEYS_SECRET_BYTES], const char *pass)
{
    json_t *root;
    size_t n;
    ul_err e = UL_E_NOMEM;

    assert(text && len && pub32 && sec32);
    *text = NULL;
    *len = 0;
    if (sodium_init() < 0) {
        return UL_E_INTERNAL;
    }
    root = head_json(pub32, pass ? KDF_ARGON : KDF_NONE);
    if (!root) {
        return UL_E_NOMEM;
    }
    if (pass) {
        e = seal(root, sec32, pass);
    } else {
        e = json_set_hex(root, "secret", sec32, UL_KEYS_SECRET_BYTES) == 0 ? UL_OK : UL_E_NOMEM;
    }
    if (e != UL_OK) {
        goto out;
    }
    /* Dumped straight into guarded memory: a plain keystore holds the secret in hex. */
    n = json_dumpb(root, NULL, 0, KEY_JSON_FLAGS);
    *text = n ? sodium_malloc(n + 1) : NULL;
    if (!*text || json_dumpb(root, *text, n, KEY_JSON_FLAGS) != n) {
        ul_keys_text_free(*text);
        *text = NULL;
        e = UL_E_NOMEM;
        goto out;
    }
    (*text)[n] = '\n';
    *len = n + 1;
out:
    json_release(root);
    return e;
}

void ul_keys_text_free(char *text)
{
    sodium_free(text); /* wipes; accepts NULL */
}
