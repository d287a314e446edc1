/* SHA-256 through OpenSSL's libcrypto (`make SHA256=openssl`, the host default): its assembly
 * uses the CPU's SHA extensions (x86 SHA-NI, ARMv8 SHA2), about 4x libsodium's portable C on a
 * host (tests/bench/bench_device prints both). Only SHA-256 comes from libcrypto.
 *
 * The low-level SHA256_Init/Update/Final API keeps the state in caller memory and never
 * allocates; OpenSSL 3's EVP_MD_CTX would be heap-allocated, which libupclient may not do. The
 * low-level API is deprecated in OpenSSL 3.0 but present (and used by OpenSSL itself), and it
 * runs the same sha256_block_data_order assembly as EVP.
 */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>

#include "internal.h"

_Static_assert(sizeof(SHA256_CTX) <= sizeof(ul_sha256), "OpenSSL's SHA-256 state fits ul_sha256");
_Static_assert(_Alignof(SHA256_CTX) <= _Alignof(ul_sha256), "and is aligned for it");

static SHA256_CTX *ctx(ul_sha256 *s)
{
    return (SHA256_CTX *)(void *)s->opaque;
}

const char *ul_client_sha256_impl(void)
{
    return "openssl";
}

void ul_client_sha256(uint8_t out32[UL_HASH_BYTES], const uint8_t *in, size_t len)
{
    ul_sha256 s;
    ul_client_sha256_init(&s);
    ul_client_sha256_update(&s, in, len);
    ul_client_sha256_final(&s, out32);
}

/* SHA256_Init/Update/Final return 0 only for a NULL argument; every caller passes its own. */
void ul_client_sha256_init(ul_sha256 *s)
{
    (void)SHA256_Init(ctx(s));
}

void ul_client_sha256_update(ul_sha256 *s, const uint8_t *in, size_t len)
{
    (void)SHA256_Update(ctx(s), in, len);
}

void ul_client_sha256_final(ul_sha256 *s, uint8_t out32[UL_HASH_BYTES])
{
    (void)SHA256_Final(out32, ctx(s));
}
