/* The HTTP API's pure parsing: query numbers, ids, path segments, content types. */
#include <string.h>

#include "http.h"

ul_err ul_http_parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
    uint64_t v = 0;
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 20) {
        return UL_E_ARG;
    }
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return UL_E_ARG;
        }
        uint64_t d = (uint64_t)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10) {
            return UL_E_ARG;
        }
        v = v * 10 + d;
    }
    if (v < lo || v > hi) {
        return UL_E_ARG;
    }
    *out = v;
    return UL_OK;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

ul_err ul_http_parse_hex32(const char *s, uint8_t out[32])
{
    if (!s || strlen(s) != 64) {
        return UL_E_ARG;
    }
    for (size_t i = 0; i < 32; i++) {
        int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            return UL_E_ARG;
        }
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return UL_OK;
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
