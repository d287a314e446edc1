/* Small byte helpers shared by the ledger and the programs: big-endian keys and hex. */
#include <string.h>

#include <sodium.h>

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

/* libsodium's codecs run in constant time (hex here is mostly keys and key material). */
void ul_hex_encode(char *out, const uint8_t *in, size_t n)
{
    sodium_bin2hex(out, 2 * n + 1, in, n);
}

ul_err ul_hex_decode(uint8_t *out, size_t n, const char *hex)
{
    size_t got = 0;
    const char *end = NULL;
    if (!hex || strlen(hex) != 2 * n) {
        return UL_E_ARG;
    }
    /* sodium_hex2bin stops at the first non-hex character: all 2n digits must be consumed. */
    if (sodium_hex2bin(out, n, hex, 2 * n, NULL, &got, &end) != 0 || got != n ||
        end != hex + 2 * n) {
        return UL_E_ARG;
    }
    return UL_OK;
}
