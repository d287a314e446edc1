/* Shared CLI plumbing: errors and output, node calls, files, passphrases and key arguments. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "cli.h"

#define MAX_PASSPHRASE 1024

/* What ul_cli_detail last said, for the next ul_cli_fail line (then cleared). */
static char detail[1024];

void ul_cli_detail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
}

void ul_cli_key_perms_detail(const char *path)
{
    char why[256];
    ul_key_perms_msg(why, sizeof why, path);
    ul_cli_detail("%s: %s", path, why);
}

int ul_cli_fail(ul_cli *cli, ul_err e, const char *fmt, ...)
{
    char ctx[2100];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(ctx, 1024, fmt, ap);
    va_end(ap);
    if (detail[0] && n >= 0 && n < 1024) {
        snprintf(ctx + n, sizeof ctx - (size_t)n, ": %s", detail);
    }
    detail[0] = 0;
    if (cli && cli->json) {
        json_t *o = json_pack("{s:{s:i,s:s,s:s,s:s}}", "error", "code", (int)e, "name",
                              ul_err_name(e), "message", ul_err_str(e), "context", ctx);
        ul_cli_print_json(o);
    }
    fprintf(stderr, "upledger: %s: %s (%s)\n", ctx, ul_err_str(e), ul_err_name(e));
    return UL_EXIT_FAIL;
}

ul_err ul_cli_msgf(char *msg, size_t cap, ul_err e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, cap, fmt, ap);
    va_end(ap);
    return e;
}

int ul_cli_usage(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("upledger: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputs(" (see --help)\n", stderr);
    va_end(ap);
    return UL_EXIT_USAGE;
}

void ul_cli_progress(const char *fmt, ...)
{
    const char *force = getenv("UPLEDGER_PROGRESS");
    if (!isatty(STDERR_FILENO) && !(force && !strcmp(force, "1"))) {
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    fputs("upledger: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

void ul_cli_print_json(json_t *v)
{
    if (!v) {
        return;
    }
    char *s = ul_cli_dumps(v, JSON_INDENT(2) | JSON_ENSURE_ASCII);
    if (s) {
        puts(s);
        free(s);
    }
    json_decref(v);
}

ul_err ul_cli_call(ul_cli *cli, const ul_msg *req, ul_msg *reply, uint8_t **buf)
{
    *buf = NULL;
    if (cli->sock < 0) {
        ul_err e = ul_p2p_connect(&cli->sock, cli->node, cli->timeout_ms);
        if (e != UL_OK) {
            return e;
        }
    }
    ul_err e = ul_p2p_call(cli->sock, req, reply, buf);
    if (e == UL_E_TIMEOUT || e == UL_E_NET) {
        /* A REQ socket that lost its reply cannot be reused. */
        ul_p2p_close(cli->sock);
        cli->sock = -1;
    }
    return e;
}

/* Opens path for reading without blocking (a FIFO would block open() until a writer came) and
 * accepts only a regular file: errno is EISDIR, or ENODEV for a FIFO, socket or device. */
static int open_regular(const char *path, struct stat *st)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        return -1;
    }
    if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode) || fcntl(fd, F_SETFL, 0) != 0) {
        int err = S_ISDIR(st->st_mode) ? EISDIR : ENODEV;
        close(fd);
        errno = err;
        return -1;
    }
    return fd;
}

ul_err ul_cli_read_file(const char *path, size_t max, uint8_t **out, size_t *len)
{
    struct stat st = {0};
    int fd = open_regular(path, &st);
    if (fd < 0) {
        return UL_E_IO;
    }
    if ((uint64_t)st.st_size > max) {
        close(fd);
        return UL_E_LIMIT;
    }
    uint8_t *buf = malloc((size_t)st.st_size + 1);
    size_t got = 0;
    while (buf && got < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
        if (r <= 0) {
            break;
        }
        got += (size_t)r;
    }
    int err = errno;
    close(fd);
    if (!buf || got != (size_t)st.st_size) {
        free(buf);
        errno = err;
        return buf ? UL_E_IO : UL_E_NOMEM;
    }
    buf[got] = 0;
    *out = buf;
    *len = got;
    return UL_OK;
}

ul_err ul_cli_regular_file(const char *path)
{
    struct stat st = {0};
    int fd = open_regular(path, &st);
    if (fd < 0) {
        return UL_E_IO;
    }
    close(fd);
    return UL_OK;
}

const char *ul_cli_file_cause(ul_err e, int err, const char *path)
{
    struct stat st;
    if (e != UL_E_IO) {
        return e == UL_E_LIMIT ? "too large" : ul_err_str(e);
    }
    /* stat never blocks, so a FIFO is named as what it is. */
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        return S_ISDIR(st.st_mode)    ? "is a directory"
               : S_ISFIFO(st.st_mode) ? "not a regular file (a FIFO)"
                                      : "not a regular file";
    }
    return strerror(err);
}

ul_err ul_cli_file_msg(char *msg, size_t cap, ul_err e, const char *what, const char *path)
{
    int err = errno;
    if (e != UL_E_IO && e != UL_E_LIMIT) {
        return ul_cli_msgf(msg, cap, e, "%s %s", what, path); /* the content: e says it */
    }
    return ul_cli_msgf(msg, cap, e, "%s %s: %s", what, path, ul_cli_file_cause(e, err, path));
}

ul_err ul_cli_label_len(ul_span s, size_t max, char *msg, size_t cap, const char *fmt, ...)
{
    char what[64];
    va_list ap;
    if (s.len <= max) {
        return UL_OK;
    }
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return ul_cli_msgf(msg, cap, UL_E_LIMIT, "%s is %zu bytes, more than %zu", what, s.len, max);
}

ul_err ul_cli_json_file(const char *what, const char *path, json_t **out, char *msg, size_t cap)
{
    uint8_t *text;
    size_t len;
    json_error_t jerr;
    *out = NULL;
    ul_err e = ul_cli_read_file(path, UL_MAX_JSON_BYTES, &text, &len);
    if (e != UL_OK) {
        return ul_cli_file_msg(msg, cap, e, what, path);
    }
    *out = json_loadb((const char *)text, len, JSON_REJECT_DUPLICATES, &jerr);
    free(text);
    if (!*out) {
        return ul_cli_msgf(msg, cap, UL_E_SCHEMA_FIELD, "%s %s: line %d, column %d: %s", what, path,
                           jerr.line, jerr.column, jerr.text);
    }
    return UL_OK;
}

ul_err ul_cli_write_file(const char *path, const uint8_t *p, size_t len)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        return UL_E_IO;
    }
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, p + off, len - off);
        if (w <= 0) {
            break;
        }
        off += (size_t)w;
    }
    bool ok = off == len && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        unlink(tmp);
        return UL_E_IO;
    }
    return UL_OK;
}

ul_err ul_cli_hash_file(const char *path, uint8_t digest32[UL_HASH_BYTES], uint64_t *size)
{
    struct stat st = {0};
    int fd = open_regular(path, &st);
    if (fd < 0) {
        return UL_E_IO;
    }
    static uint8_t buf[1 << 16];
    ul_sha256 s;
    uint64_t total = 0;
    ssize_t r;
    ul_client_sha256_init(&s);
    while ((r = read(fd, buf, sizeof buf)) > 0) {
        ul_client_sha256_update(&s, buf, (size_t)r);
        total += (uint64_t)r;
        if (total > UL_MAX_IMAGE_BYTES) {
            close(fd);
            return UL_E_LIMIT;
        }
    }
    close(fd);
    if (r < 0) {
        return UL_E_IO;
    }
    ul_client_sha256_final(&s, digest32);
    *size = total;
    return UL_OK;
}
