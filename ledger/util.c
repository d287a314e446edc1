/* Small byte helpers shared by the ledger and the programs: big-endian keys and hex. */
#include <string.h>

#include "ul_ledger.h"

void ul_be64_put(uint8_t out8[8], uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        out8[i] = (uint8_t)v;
        v >>= 8;
    }
}

uint64_t ul_be64_get(const uint8_t in8[8])
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) {
        v = (v << 8) | in8[i];
    }
    return v;
}

void ul_be32_put(uint8_t out4[4], uint32_t v)
{
    for (int i = 3; i >= 0; i--) {
        out4[i] = (uint8_t)v;
        v >>= 8;
    }
}

uint32_t ul_be32_get(const uint8_t in4[4])
{
    return ((uint32_t)in4[0] << 24) | ((uint32_t)in4[1] << 16) | ((uint32_t)in4[2] << 8) | in4[3];
}

void ul_hex_encode(char *out, const uint8_t *in, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
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

ul_err ul_hex_decode(uint8_t *out, size_t n, const char *hex)
{
    if (!hex || strlen(hex) != 2 * n) {
        return UL_E_ARG;
    }
    for (size_t i = 0; i < n; i++) {
        int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            return UL_E_ARG;
        }
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return UL_OK;
}
