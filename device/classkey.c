/* upledger-device class key: the X25519 secret of the device's hardware class (written by
 * `upledger keygen --class`), which unseals the content key of encrypted images. The device must
 * hold it in the clear; every buffer that saw it is wiped. */
#include <stdio.h>
#include <string.h>

#include "device.h"

#define CLASS_KEY_FORMAT "upledger-class-key/1"

/* Finds "name": "value" in the flat JSON object keygen writes (no escapes in it). */
static bool str_field(const char *text, const char *name, const char **val, size_t *len)
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

static int hex_digit(char c)
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

static ul_err hex_field(const char *text, const char *name, uint8_t *out, size_t n)
{
    const char *v;
    size_t len;
    if (!str_field(text, name, &v, &len) || len != 2 * n) {
        return UL_E_SCHEMA_FIELD;
    }
    for (size_t i = 0; i < n; i++) {
        int hi = hex_digit(v[2 * i]), lo = hex_digit(v[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            return UL_E_SCHEMA_FIELD;
        }
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return UL_OK;
}

static ul_err parse(const char *text, uint8_t pub32[32], uint8_t sk32[32])
{
    const char *v;
    size_t len;
    if (!str_field(text, "format", &v, &len) || len != strlen(CLASS_KEY_FORMAT) ||
        memcmp(v, CLASS_KEY_FORMAT, len) != 0) {
        return UL_E_SCHEMA_FIELD;
    }
    ul_err e = hex_field(text, "public", pub32, 32);
    return e == UL_OK ? hex_field(text, "secret", sk32, 32) : e;
}

ul_err ul_dev_class_key_load(const char *path, uint8_t sk32[32], bool may_be_absent, bool *have)
{
    char text[UL_DEV_CLASS_KEY_MAX + 1];
    uint8_t pub[32];
    size_t len = 0;
    *have = false;
    ul_err e = ul_dev_read_file(path, (uint8_t *)text, UL_DEV_CLASS_KEY_MAX, &len);
    if (e == UL_E_NOT_FOUND && may_be_absent) {
        return UL_OK;
    }
    if (e == UL_OK) {
        text[len] = 0;
        e = parse(text, pub, sk32);
    }
    *have = e == UL_OK;
    if (e != UL_OK) {
        ul_dev_wipe(sk32, 32);
    }
    ul_dev_wipe(text, sizeof text);
    return e;
}

ul_err ul_dev_class_key_copy(const char *src, const char *dir)
{
    char text[UL_DEV_CLASS_KEY_MAX + 1];
    uint8_t pub[32], sk[32];
    size_t len = 0;
    ul_err e = ul_dev_read_file(src, (uint8_t *)text, UL_DEV_CLASS_KEY_MAX, &len);
    if (e == UL_OK) {
        text[len] = 0;
        e = parse(text, pub, sk); /* only a well-formed secret is provisioned */
    }
    if (e == UL_OK) {
        e = ul_dev_write_file(dir, "class.key", (const uint8_t *)text, len, 0600, false);
    }
    ul_dev_wipe(text, sizeof text);
    ul_dev_wipe(sk, sizeof sk);
    return e;
}
