/* libupclient cryptography: domain-separated signed digests and BIP-340
 * signature verification (libsecp256k1). Nothing here allocates: verification uses the
 * library's static context, which needs no heap and is safe to share between threads.
 */
#include <string.h>

#include <secp256k1.h>
#include <secp256k1_extrakeys.h>
#include <secp256k1_schnorrsig.h>
#include <sodium/core.h>

#include "internal.h"

ul_err ul_client_init(void)
{
    /* sodium_init() is itself idempotent and thread-safe: 0 first time, 1 afterwards. */
    if (sodium_init() < 0) {
        return UL_E_INTERNAL;
    }
    /* libsecp256k1 asks for this before its static context is used: it catches a library
     * built for the wrong endianness, which would otherwise verify garbage. It aborts on
     * failure; it does not allocate. */
    secp256k1_selftest();
    return UL_OK;
}

/* ---- domains ------------------------------------------------------------------------------ */

static const char *const ul_domain_tags[UL_DOMAIN_COUNT_] = {
    [UL_DOMAIN_RELEASE] = "upledger/v1/release",
    [UL_DOMAIN_TX] = "upledger/v1/tx",
    [UL_DOMAIN_VOTE] = "upledger/v1/vote",
    [UL_DOMAIN_PROPOSAL] = "upledger/v1/proposal",
    [UL_DOMAIN_TRANSFER] = "upledger/v1/transfer",
    [UL_DOMAIN_PEER] = "upledger/v1/peer",
    [UL_DOMAIN_CHECKPOINT] = "upledger/v1/checkpoint",
    [UL_DOMAIN_REPORT] = "upledger/v1/report",
    [UL_DOMAIN_REPLY] = "upledger/v1/reply",
    [UL_DOMAIN_SUMMARY] = "upledger/v1/summary",
};

/* SHA256(tag) for each tag above, precomputed so a signed digest costs one hash pass instead
 * of two. tests/unit/test_client.c recomputes every entry from the tag strings. */
static const uint8_t ul_domain_tag_hashes[UL_DOMAIN_COUNT_][UL_HASH_BYTES] = {
    [UL_DOMAIN_RELEASE] = {0x8e, 0xe2, 0xff, 0xd1, 0x9a, 0xf1, 0x67, 0xf1, 0x20, 0xc7, 0xaa,
                           0x1a, 0xb7, 0xfa, 0x9b, 0xdb, 0x69, 0x53, 0x1b, 0xb4, 0x03, 0x21,
                           0x03, 0x26, 0xcc, 0x50, 0x3f, 0xd1, 0xc0, 0x8f, 0xfa, 0x4a},
    [UL_DOMAIN_TX] = {0x5b, 0x5d, 0xe7, 0x0d, 0xce, 0x3d, 0x4f, 0x5d, 0xe4, 0x20, 0x57,
                      0x64, 0xf9, 0x28, 0xc0, 0x64, 0x7c, 0x36, 0x00, 0x41, 0x60, 0xb1,
                      0x36, 0xa5, 0x7d, 0xfd, 0x36, 0x8e, 0xa8, 0x6b, 0xcd, 0x6c},
    [UL_DOMAIN_VOTE] = {0x2d, 0xc3, 0xff, 0xba, 0x77, 0xdc, 0x6f, 0x26, 0x6a, 0xe0, 0x5a,
                        0xa4, 0x86, 0x29, 0x23, 0xea, 0x3a, 0x8f, 0x68, 0xf9, 0x1c, 0x45,
                        0xbc, 0xb9, 0x48, 0x3d, 0x87, 0x8f, 0x31, 0xc4, 0x9e, 0xf6},
    [UL_DOMAIN_PROPOSAL] = {0x60, 0x98, 0xeb, 0xd2, 0x8f, 0xc6, 0x5f, 0xff, 0xda, 0xed, 0x9a,
                            0x20, 0x91, 0xf4, 0x90, 0x3c, 0x6f, 0x1b, 0x08, 0xc5, 0x19, 0xbb,
                            0xc9, 0x84, 0x51, 0xc2, 0xa2, 0x53, 0x5d, 0x71, 0xb0, 0x3a},
    [UL_DOMAIN_TRANSFER] = {0xef, 0x07, 0xb5, 0x71, 0x22, 0x85, 0xa8, 0xf3, 0x01, 0x44, 0xb3,
                            0xef, 0xa1, 0x0d, 0x96, 0xf9, 0x33, 0xcc, 0x11, 0x11, 0x17, 0xc1,
                            0xa7, 0x56, 0x13, 0x3c, 0x1a, 0xa1, 0x4e, 0xb5, 0x5f, 0xf2},
    [UL_DOMAIN_PEER] = {0xa6, 0xd4, 0xd8, 0x7b, 0x6a, 0x62, 0xdb, 0xe0, 0x10, 0x00, 0x55,
                        0xa1, 0xa4, 0x7f, 0x69, 0x8a, 0x4c, 0x71, 0x8f, 0x71, 0x80, 0xd4,
                        0x95, 0x23, 0xe9, 0x71, 0x4d, 0x50, 0x0e, 0xab, 0x83, 0xf5},
    [UL_DOMAIN_CHECKPOINT] = {0xfe, 0xb4, 0x3d, 0x4b, 0x85, 0xd5, 0x5d, 0xf0, 0xae, 0xb8, 0x6c,
                              0x33, 0x55, 0xfc, 0x72, 0xf3, 0xd3, 0xa2, 0xd3, 0x7d, 0xbb, 0x58,
                              0xc8, 0x65, 0x21, 0x9b, 0x50, 0xaa, 0x9e, 0x6c, 0xac, 0xd4},
    [UL_DOMAIN_REPORT] = {0x44, 0xd9, 0x8f, 0x16, 0x13, 0xcd, 0xd6, 0xed, 0xfa, 0xe6, 0x63,
                          0x8d, 0x3e, 0x3b, 0xf3, 0x41, 0xa9, 0x5a, 0xb8, 0xeb, 0xae, 0x89,
                          0x5e, 0x30, 0xd7, 0x10, 0x65, 0x95, 0xe6, 0x55, 0x0a, 0x33},
    [UL_DOMAIN_REPLY] = {0xe0, 0x1c, 0xa7, 0xf6, 0x8f, 0xe2, 0x66, 0x5c, 0x2e, 0xcd, 0x49,
                         0xb3, 0x55, 0x93, 0x46, 0x49, 0x52, 0xfb, 0xb6, 0x05, 0xc7, 0x1f,
                         0x35, 0x33, 0x32, 0x8f, 0x59, 0x9a, 0x5f, 0x2d, 0xaf, 0x99},
    [UL_DOMAIN_SUMMARY] = {0x3b, 0xc7, 0x1a, 0x3b, 0xd9, 0xe5, 0x21, 0x1f, 0xe1, 0x71, 0xd5,
                           0x9a, 0xae, 0xe1, 0xe7, 0xec, 0xe5, 0xf3, 0x61, 0xfa, 0x26, 0x36,
                           0x32, 0xa9, 0xca, 0x3a, 0x3c, 0x05, 0xe6, 0x63, 0x64, 0x88},
};

static int ul_domain_valid(ul_domain d)
{
    /* ul_domain may be signed or unsigned depending on the compiler; compare as unsigned so
     * a negative value is also out of range. */
    return (unsigned)d < (unsigned)UL_DOMAIN_COUNT_;
}

const char *ul_client_domain_tag(ul_domain d)
{
    /* An unknown domain has no tag; "" can never collide with a real one. */
    if (!ul_domain_valid(d)) {
        return "";
    }
    return ul_domain_tags[d];
}

bool ul_client_signed_digest_init(ul_sha256 *s, ul_domain d,
                                  const uint8_t chain_id32[UL_HASH_BYTES])
{
    if (!ul_domain_valid(d)) {
        return false;
    }
    ul_client_sha256_init(s);
    ul_client_sha256_update(s, ul_domain_tag_hashes[d], UL_HASH_BYTES);
    ul_client_sha256_update(s, ul_domain_tag_hashes[d], UL_HASH_BYTES);
    ul_client_sha256_update(s, chain_id32, UL_HASH_BYTES);
    return true;
}

void ul_client_signed_digest(uint8_t out32[UL_HASH_BYTES], ul_domain d,
                             const uint8_t chain_id32[UL_HASH_BYTES], const uint8_t *msg,
                             size_t len)
{
    ul_sha256 s;

    /* No signature may ever be accepted for an unknown domain: give it a digest no signer
     * is asked to sign (ul_client_sig_verify also rejects the domain before hashing). */
    if (!ul_client_signed_digest_init(&s, d, chain_id32)) {
        memset(out32, 0, UL_HASH_BYTES);
        return;
    }
    ul_client_sha256_update(&s, msg, len);
    ul_client_sha256_final(&s, out32);
}

/* ---- signatures --------------------------------------------------------------------------- */

ul_err ul_client_pubkey_check(const uint8_t pubkey32[UL_PUBKEY_BYTES])
{
    secp256k1_xonly_pubkey pk;

    return secp256k1_xonly_pubkey_parse(secp256k1_context_static, &pk, pubkey32) ? UL_OK : UL_E_KEY;
}

ul_err ul_client_sig_verify_digest(const uint8_t sig64[UL_SIG_BYTES],
                                   const uint8_t digest32[UL_HASH_BYTES],
                                   const uint8_t pubkey32[UL_PUBKEY_BYTES])
{
    secp256k1_xonly_pubkey pk;

    /* The static context can parse and verify (not sign) and never touches the heap. */
    if (!secp256k1_xonly_pubkey_parse(secp256k1_context_static, &pk, pubkey32)) {
        return UL_E_KEY;
    }
    if (!secp256k1_schnorrsig_verify(secp256k1_context_static, sig64, digest32, UL_HASH_BYTES,
                                     &pk)) {
        return UL_E_SIG;
    }
    return UL_OK;
}

ul_err ul_client_sig_verify(const uint8_t sig64[UL_SIG_BYTES], ul_domain d,
                            const uint8_t chain_id32[UL_HASH_BYTES], const uint8_t *msg, size_t len,
                            const uint8_t pubkey32[UL_PUBKEY_BYTES])
{
    uint8_t digest[UL_HASH_BYTES];

    if (!ul_domain_valid(d)) {
        return UL_E_SIG;
    }
    ul_client_signed_digest(digest, d, chain_id32, msg, len);
    return ul_client_sig_verify_digest(sig64, digest, pubkey32);
}

void ul_client_hash_pair(uint8_t out32[UL_HASH_BYTES], uint8_t prefix,
                         const uint8_t a32[UL_HASH_BYTES], const uint8_t b32[UL_HASH_BYTES])
{
    ul_sha256 s;
    ul_client_sha256_init(&s);
    ul_client_sha256_update(&s, &prefix, 1);
    ul_client_sha256_update(&s, a32, UL_HASH_BYTES);
    ul_client_sha256_update(&s, b32, UL_HASH_BYTES);
    ul_client_sha256_final(&s, out32);
}
