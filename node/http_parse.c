/* The HTTP API's pure parsing: query numbers, ids, path segments, content types. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "../ledger/ul_ledger.h"
#include "http.h"

ul_err ul_http_parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
    /* digits only: strtoull alone would take a sign, spaces, and saturate */
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 20 || strspn(s, "0123456789") != n) {
        return UL_E_ARG;
    }
    errno = 0;
    unsigned long long v = strtoull(s, NULL, 10);
    if (errno == ERANGE || v < lo || v > hi) {
        return UL_E_ARG;
    }
    *out = (uint64_t)v;
    return UL_OK;
}

ul_err ul_http_parse_hex32(const char *s, uint8_t out[32])
{
    return s ? ul_hex_decode(out, 32, s) : UL_E_ARG;
}

int ul_http_split(char *path, char **seg, int max)
{
    int n = 0;
    char *p = path;
    while (*p) {
        char *slash = strchr(p, '/');
        if (slash) {
            *slash = 0;
        }
        if (n == max || !*p || !strcmp(p, ".") || !strcmp(p, "..")) {
            return -1;
        }
        seg[n++] = p;
        if (!slash) {
            break;
        }
        p = slash + 1;
        if (!*p) {
            return -1; /* a trailing slash: an empty segment */
        }
    }
    return n;
}

const char *ul_http_content_type(const char *name)
{
    static const struct {
        const char *ext, *type;
    } types[] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".json", "application/json"},
        {".map", "application/json"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".ico", "image/x-icon"},
        {".txt", "text/plain; charset=utf-8"},
        {".wasm", "application/wasm"},
        {".cbor", "application/cbor"},
    };
    const char *dot = strrchr(name, '.');
    for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++) {
        if (!strcmp(dot, types[i].ext)) {
            return types[i].type;
        }
    }
    return "application/octet-stream";
}
