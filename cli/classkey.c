/* Hardware-class keys for encrypted images: X25519 keypairs (crypto_box) whose public half the
 * publisher seals each release's content key to, and whose secret half devices of the class hold.
 * Secrets live in sodium_malloc'd memory only and are never parsed by a general JSON library. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "cli.h"

#define CLASS_KEY_FORMAT "upledger-class-key/1"
/* The secret file is ~200 bytes; anything much larger is not one of ours. */
#define CLASS_KEY_MAX_FILE 4096

static ul_err write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            return UL_E_IO;
        }
        p += w;
        n -= (size_t)w;
    }
    return UL_OK;
}

ul_err ul_cli_write_new_file(const char *path, const char *text, size_t len, int mode)
{
    char tmp[4200];
    uint8_t rnd[8];
    char tag[17];
    randombytes_buf(rnd, sizeof rnd);
    ul_hex_encode(tag, rnd, sizeof rnd);
    if (snprintf(tmp, sizeof tmp, "%s.tmp-%s", path, tag) >= (int)sizeof tmp) {
        return UL_E_ARG;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        return UL_E_IO;
    }
    /* fchmod: the umask may take bits away; the mode must be exactly what was asked. */
    ul_err e = fchmod(fd, (mode_t)mode) == 0 ? write_all(fd, text, len) : UL_E_IO;
    if (e == UL_OK && fsync(fd) != 0) {
        e = UL_E_IO;
    }
    if (close(fd) != 0 && e == UL_OK) {
        e = UL_E_IO;
    }
    /* link() never replaces an existing file: that is what "refuses to overwrite" rests on. */
    if (e == UL_OK && link(tmp, path) != 0) {
        e = errno == EEXIST ? UL_E_EXISTS : UL_E_IO;
    }
    unlink(tmp);
    return e;
}

/* Finds "name" : "value" in a flat JSON object and returns a pointer to the value's first
 * character and its length; the object is ours (written above), so no escapes are expected. */
static bool json_str_field(const char *text, const char *name, const char **val, size_t *len)
{
    char key[32];
    snprintf(key, sizeof key, "\"%s\"", name);
    const char *p = strstr(text, key);
    if (!p) {
        return false;
    }
    p += strlen(key);
    p += strspn(p, " \t\r\n");
    if (*p++ != ':') {
        return false;
    }
    p += strspn(p, " \t\r\n");
    if (*p++ != '"') {
        return false;
    }
    const char *end = strchr(p, '"');
    if (!end || memchr(p, '\\', (size_t)(end - p))) {
        return false;
    }
    *val = p;
    *len = (size_t)(end - p);
    return true;
}

static ul_err hex_field(const char *text, const char *name, uint8_t *out, size_t n)
{
    const char *v;
    size_t len;
    if (!json_str_field(text, name, &v, &len) || len != 2 * n ||
        sodium_hex2bin(out, n, v, len, NULL, NULL, NULL) != 0) {
        return UL_E_SCHEMA_FIELD;
    }
    return UL_OK;
}

static ul_err check_format(const char *text)
{
    const char *v;
    size_t len;
    if (!json_str_field(text, "format", &v, &len) || len != strlen(CLASS_KEY_FORMAT) ||
        memcmp(v, CLASS_KEY_FORMAT, len) != 0) {
        return UL_E_SCHEMA_FIELD;
    }
    return UL_OK;
}

/* Reads a whole small file into sodium_malloc'd memory (NUL-terminated). */
static ul_err read_secret_file(const char *path, char **out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0) {
        return UL_E_IO;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > CLASS_KEY_MAX_FILE) {
        close(fd);
        return S_ISREG(st.st_mode) ? UL_E_LIMIT : UL_E_IO;
    }
    char *buf = sodium_malloc(CLASS_KEY_MAX_FILE + 1);
    size_t got = 0;
    ssize_t r = 1;
    while (buf && got < CLASS_KEY_MAX_FILE && r > 0) {
        r = read(fd, buf + got, CLASS_KEY_MAX_FILE - got);
        got += r > 0 ? (size_t)r : 0;
    }
    close(fd);
    if (!buf || r < 0) {
        if (buf) {
            sodium_free(buf);
        }
        return buf ? UL_E_IO : UL_E_NOMEM;
    }
    buf[got] = 0;
    *out = buf;
    return UL_OK;
}

ul_err ul_cli_class_pub_load(const char *path, uint8_t pub32[crypto_box_PUBLICKEYBYTES])
{
    uint8_t *text;
    size_t len;
    ul_err e = ul_cli_read_file(path, CLASS_KEY_MAX_FILE, &text, &len);
    if (e != UL_OK) {
        return e;
    }
    if ((e = check_format((const char *)text)) == UL_OK) {
        e = hex_field((const char *)text, "public", pub32, crypto_box_PUBLICKEYBYTES);
    }
    free(text);
    return e;
}

ul_err ul_cli_class_secret_load(const char *path, uint8_t *sk32)
{
    char *text = NULL;
    uint8_t pub[crypto_box_PUBLICKEYBYTES], derived[crypto_box_PUBLICKEYBYTES];
    ul_err e = read_secret_file(path, &text);
    if (e == UL_OK && (e = check_format(text)) == UL_OK &&
        (e = hex_field(text, "public", pub, sizeof pub)) == UL_OK) {
        e = hex_field(text, "secret", sk32, crypto_box_SECRETKEYBYTES);
    }
    /* A public-only file, or a secret that does not match its public key, is not a class key. */
    if (e == UL_OK && (crypto_scalarmult_base(derived, sk32) != 0 ||
                       sodium_memcmp(derived, pub, sizeof pub) != 0)) {
        e = UL_E_KEY;
    }
    if (e != UL_OK) {
        sodium_memzero(sk32, crypto_box_SECRETKEYBYTES);
    }
    if (text) {
        sodium_free(text); /* sodium_free wipes before releasing */
    }
    return e;
}

/* Writes OUT (the secret, 0600) and OUT.pub; neither may exist. */
static ul_err class_keygen(const char *out, char pubhex[2 * crypto_box_PUBLICKEYBYTES + 1])
{
    char pubpath[4200], pubtext[256];
    uint8_t pub[crypto_box_PUBLICKEYBYTES];
    uint8_t *sk = sodium_malloc(crypto_box_SECRETKEYBYTES);
    char *text = sodium_malloc(512);
    ul_err e = sk && text ? UL_OK : UL_E_NOMEM;
    if (snprintf(pubpath, sizeof pubpath, "%s.pub", out) >= (int)sizeof pubpath) {
        e = UL_E_ARG;
    }
    if (e == UL_OK && (access(out, F_OK) == 0 || access(pubpath, F_OK) == 0)) {
        e = UL_E_EXISTS;
    }
    if (e != UL_OK) {
        goto out;
    }
    crypto_box_keypair(pub, sk);
    sodium_bin2hex(pubhex, 2 * sizeof pub + 1, pub, sizeof pub);
    int n = snprintf(text, 512, "{\"format\":\"%s\",\"public\":\"%s\",\"secret\":\"", CLASS_KEY_FORMAT,
                     pubhex);
    sodium_bin2hex(text + n, 512 - (size_t)n, sk, crypto_box_SECRETKEYBYTES);
    n += 2 * crypto_box_SECRETKEYBYTES;
    snprintf(text + n, 512 - (size_t)n, "\"}\n");
    int pn = snprintf(pubtext, sizeof pubtext, "{\"format\":\"%s\",\"public\":\"%s\"}\n",
                      CLASS_KEY_FORMAT, pubhex);
    if ((e = ul_cli_write_new_file(out, text, strlen(text), 0600)) == UL_OK &&
        (e = ul_cli_write_new_file(pubpath, pubtext, (size_t)pn, 0644)) != UL_OK) {
        unlink(out); /* all or nothing: a secret without its public file is of no use */
    }
out:
    if (sk) {
        sodium_free(sk);
    }
    if (text) {
        sodium_free(text);
    }
    return e;
}

int ul_cli_class_keygen(ul_cli *cli, const char *out)
{
    char pubhex[2 * crypto_box_PUBLICKEYBYTES + 1];
    ul_err e = class_keygen(out, pubhex);
    if (e != UL_OK) {
        return ul_cli_fail(cli, e, "keygen --class %s", out);
    }
    if (cli->json) {
        json_t *o = json_pack("{s:s,s:s}", "public", pubhex, "secret_file", out);
        json_object_set_new(o, "public_file", json_sprintf("%s.pub", out));
        ul_cli_print_json(o);
        return 0;
    }
    printf("%s\n", pubhex);
    fprintf(stderr,
            "upledger: wrote the class secret to %s (UNENCRYPTED: devices of the class hold it in "
            "the clear) and the public key to %s.pub (for publish --encrypt-for)\n",
            out, out);
    return 0;
}
