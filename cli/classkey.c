/* Hardware-class keys for encrypted images: X25519 keypairs (crypto_box) whose public half the
 * publisher seals each release's content key to, and whose secret half devices of the class hold.
 * OUT.pub is JSON {"format":"upledger-class-key/1","public":HEX}; OUT is the raw 32-byte secret
 * (nothing to parse on a device), kept in sodium_malloc'd memory whenever it is in ours. */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "cli.h"

#define CLASS_KEY_FORMAT "upledger-class-key/1"
#define CLASS_PUB_FLAGS (JSON_COMPACT | JSON_PRESERVE_ORDER)
/* The public file is ~110 bytes; anything much larger is not one of ours. */
#define CLASS_PUB_MAX_FILE 4096

ul_err ul_cli_class_pub_load(const char *path, uint8_t pub32[crypto_box_PUBLICKEYBYTES])
{
    uint8_t *text;
    size_t len;
    json_error_t jerr;
    ul_err e = ul_cli_read_file(path, CLASS_PUB_MAX_FILE, &text, &len);
    if (e != UL_OK) {
        return e;
    }
    json_t *o = json_loadb((const char *)text, len, JSON_REJECT_DUPLICATES, &jerr);
    free(text);
    const char *format = json_string_value(json_object_get(o, "format"));
    const char *pub = json_string_value(json_object_get(o, "public"));
    e = json_object_size(o) == 2 && format && !strcmp(format, CLASS_KEY_FORMAT) &&
                ul_hex_decode(pub32, crypto_box_PUBLICKEYBYTES, pub) == UL_OK
            ? UL_OK
            : UL_E_SCHEMA_FIELD;
    json_decref(o);
    return e;
}

ul_err ul_cli_class_secret_load(const char *path, uint8_t *sk32)
{
    struct stat st;
    size_t got = 0;
    ssize_t r = 1;
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC); /* a FIFO must not block open() */
    ul_err e = fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? UL_OK : UL_E_IO;
    if (e == UL_OK && st.st_size != crypto_box_SECRETKEYBYTES) {
        e = UL_E_KEY; /* a class secret is exactly 32 bytes: not the .pub file, not anything */
    }
    while (e == UL_OK && got < crypto_box_SECRETKEYBYTES && r > 0) {
        r = read(fd, sk32 + got, crypto_box_SECRETKEYBYTES - got);
        got += r > 0 ? (size_t)r : 0;
    }
    if (e == UL_OK && got != crypto_box_SECRETKEYBYTES) {
        e = r < 0 ? UL_E_IO : UL_E_KEY;
    }
    if (e == UL_OK && (e = ul_key_mode_check((unsigned)st.st_mode)) != UL_OK) {
        ul_cli_key_perms_detail(path);
    }
    if (fd >= 0) {
        close(fd);
    }
    if (e != UL_OK) {
        sodium_memzero(sk32, crypto_box_SECRETKEYBYTES);
    }
    return e;
}

/* Writes OUT (the secret, 0600) and OUT.pub; neither may exist. */
static ul_err class_keygen(const char *out, char pubhex[2 * crypto_box_PUBLICKEYBYTES + 1])
{
    char pubpath[PATH_MAX], pubtext[256];
    uint8_t pub[crypto_box_PUBLICKEYBYTES];
    uint8_t *sk = sodium_malloc(crypto_box_SECRETKEYBYTES);
    json_t *o = NULL;
    size_t n = 0;
    ul_err e = sk ? UL_OK : UL_E_NOMEM;
    if (e == UL_OK && snprintf(pubpath, sizeof pubpath, "%s.pub", out) >= (int)sizeof pubpath) {
        e = UL_E_ARG;
    }
    if (e == UL_OK && (access(out, F_OK) == 0 || access(pubpath, F_OK) == 0)) {
        e = UL_E_EXISTS; /* early, so neither is written; ul_file_write_new is the guarantee */
    }
    if (e != UL_OK) {
        goto out;
    }
    crypto_box_keypair(pub, sk);
    ul_hex_encode(pubhex, pub, sizeof pub);
    o = json_pack("{s:s,s:s}", "format", CLASS_KEY_FORMAT, "public", pubhex);
    n = o ? json_dumpb(o, pubtext, sizeof pubtext - 1, CLASS_PUB_FLAGS) : 0;
    if (n == 0 || n >= sizeof pubtext - 1) {
        e = UL_E_NOMEM;
        goto out;
    }
    pubtext[n++] = '\n';
    if ((e = ul_file_write_new(out, sk, crypto_box_SECRETKEYBYTES, 0600)) == UL_OK &&
        (e = ul_file_write_new(pubpath, pubtext, n, 0644)) != UL_OK) {
        unlink(out); /* all or nothing: a secret without its public file is of no use */
    }
out:
    json_decref(o);
    sodium_free(sk); /* wipes; accepts NULL */
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
            "upledger: wrote the class secret to %s (32 raw bytes, UNENCRYPTED: devices of the "
            "class hold it in the clear) and the public key to %s.pub (for publish "
            "--encrypt-for)\n",
            out, out);
    return 0;
}
