/* Image encryption for publish --encrypt-for: libsodium secretstream XChaCha20-Poly1305 in fixed
 * plaintext chunks, the framing a device decrypts one chunk at a time (schema/ul_schema.h,
 * ul_enc_info). The content key and the stream state stay in sodium_malloc'd memory. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "cli.h"

static ul_err read_exact(int fd, uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t r = read(fd, p, n);
        if (r <= 0) {
            return UL_E_IO; /* the file shrank while we read it, or a read error */
        }
        p += r;
        n -= (size_t)r;
    }
    return UL_OK;
}

static ul_err write_exact(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w <= 0) {
            return UL_E_IO;
        }
        p += w;
        n -= (size_t)w;
    }
    return UL_OK;
}

/* Streams size bytes from in to out, chunk by chunk; the last chunk (possibly empty when the
 * input is) carries TAG_FINAL so a truncated file never authenticates. */
static ul_err encrypt_stream(int in, int out, uint64_t size, const uint8_t *key, size_t chunk)
{
    crypto_secretstream_xchacha20poly1305_state *st = sodium_malloc(sizeof *st);
    uint8_t header[crypto_secretstream_xchacha20poly1305_HEADERBYTES];
    uint8_t *plain = malloc(chunk),
            *cipher = malloc(chunk + crypto_secretstream_xchacha20poly1305_ABYTES);
    ul_err e = st && plain && cipher ? UL_OK : UL_E_NOMEM;
    if (e == UL_OK) {
        crypto_secretstream_xchacha20poly1305_init_push(st, header, key);
        e = write_exact(out, header, sizeof header);
    }
    uint64_t left = size;
    bool final = false;
    while (e == UL_OK && !final) {
        size_t n = left < chunk ? (size_t)left : chunk;
        left -= n;
        final = left == 0;
        unsigned long long clen;
        if ((e = read_exact(in, plain, n)) == UL_OK) {
            crypto_secretstream_xchacha20poly1305_push(
                st, cipher, &clen, plain, n, NULL, 0,
                final ? crypto_secretstream_xchacha20poly1305_TAG_FINAL : 0);
            e = write_exact(out, cipher, (size_t)clen);
        }
    }
    if (st) {
        sodium_free(st);
    }
    free(plain);
    free(cipher);
    return e;
}

ul_err ul_cli_encrypt_file(const char *in, const char *out, const uint8_t key32[32], size_t chunk)
{
    char tmp[4200];
    struct stat st;
    /* O_NONBLOCK: a FIFO must not block open(); it is refused as not regular just below. */
    int ifd = open(in, O_RDONLY | O_NONBLOCK | O_CLOEXEC), ofd = -1;
    ul_err e = ifd >= 0 && fstat(ifd, &st) == 0 && S_ISREG(st.st_mode) ? UL_OK : UL_E_IO;
    if (e == UL_OK && access(out, F_OK) == 0) {
        e = UL_E_EXISTS; /* early, before the work; link() below is what guarantees it */
    }
    if (e == UL_OK && (uint64_t)st.st_size > UL_MAX_IMAGE_BYTES) {
        e = UL_E_LIMIT;
    }
    if (e == UL_OK &&
        snprintf(tmp, sizeof tmp, "%s.tmp.%d", out, (int)getpid()) >= (int)sizeof tmp) {
        e = UL_E_ARG;
    }
    if (e == UL_OK) {
        ofd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        e = ofd >= 0 ? UL_OK : UL_E_IO;
    }
    if (e == UL_OK) {
        e = encrypt_stream(ifd, ofd, (uint64_t)st.st_size, key32, chunk);
    }
    if (e == UL_OK && fsync(ofd) != 0) {
        e = UL_E_IO;
    }
    if (ofd >= 0 && close(ofd) != 0 && e == UL_OK) {
        e = UL_E_IO;
    }
    /* link() never replaces: an existing file may be what mirrors serve for an earlier
     * release, and its content key exists nowhere else. */
    if (e == UL_OK && link(tmp, out) != 0) {
        e = errno == EEXIST ? UL_E_EXISTS : UL_E_IO;
    }
    if (ofd >= 0) {
        unlink(tmp);
    }
    if (ifd >= 0) {
        close(ifd);
    }
    return e;
}
