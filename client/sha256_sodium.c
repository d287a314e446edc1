/* SHA-256 through libsodium (`make SHA256=sodium`): portable C, what a microcontroller build
 * uses (make mcu). The host build uses client/sha256_openssl.c, which is about 4x faster. */
#include <sodium/crypto_hash_sha256.h>

#include "internal.h"

_Static_assert(sizeof(crypto_hash_sha256_state) <= sizeof(ul_sha256),
               "libsodium's SHA-256 state fits ul_sha256");
_Static_assert(_Alignof(crypto_hash_sha256_state) <= _Alignof(ul_sha256), "and is aligned for it");

static crypto_hash_sha256_state *st(ul_sha256 *s)
{
    return (crypto_hash_sha256_state *)(void *)s->opaque;
}

const char *ul_client_sha256_impl(void)
{
    return "libsodium";
}

void ul_client_sha256(uint8_t out32[UL_HASH_BYTES], const uint8_t *in, size_t len)
{
    crypto_hash_sha256(out32, in, (unsigned long long)len);
}

void ul_client_sha256_init(ul_sha256 *s)
{
    crypto_hash_sha256_init(st(s));
}

void ul_client_sha256_update(ul_sha256 *s, const uint8_t *in, size_t len)
{
    crypto_hash_sha256_update(st(s), in, (unsigned long long)len);
}

void ul_client_sha256_final(ul_sha256 *s, uint8_t out32[UL_HASH_BYTES])
{
    crypto_hash_sha256_final(st(s), out32);
}
