/* Signing and verifying records whose last map entry is their signature (device reports, a
 * tracker's reply, tracker summaries): the signed bytes are hashed in place, and signing uses a
 * libsecp256k1 context in stack memory, so a device signs its reports without a heap.
 */
#include <string.h>

#include <secp256k1.h>
#include <secp256k1_extrakeys.h>
#include <secp256k1_preallocated.h>
#include <secp256k1_schnorrsig.h>
#include <sodium/utils.h>

#include "internal.h"

/* Key byte, byte-string head (0x58 0x40) and 64 signature bytes. */
#define SIG_TAIL (1 + 2 + UL_SIG_BYTES)
/* Stack memory for a signing context: libsecp256k1 0.2 needs 208 bytes (its tables are static);
 * checked at run time against secp256k1_context_preallocated_size. */
#define SIGN_CTX_BYTES 1024

ul_err ul_client_record_digest(uint8_t out32[UL_HASH_BYTES], const uint8_t *rec, size_t len,
                               ul_domain d, const uint8_t chain_id32[UL_HASH_BYTES])
{
    uint8_t head;
    ul_sha256 s;

    /* A map of 2..23 entries (head 0xa2..0xb7) whose last value is a 64-byte byte string under a
     * key below 24: the canonical shape of all three records. */
    if (rec == NULL || len < 1 + SIG_TAIL + 2 || rec[0] < 0xa2 || rec[0] > 0xb7 ||
        rec[len - SIG_TAIL] > 23 || rec[len - SIG_TAIL + 1] != 0x58 ||
        rec[len - SIG_TAIL + 2] != UL_SIG_BYTES) {
        return UL_E_SCHEMA_FIELD;
    }
    if (!ul_client_signed_digest_init(&s, d, chain_id32)) {
        return UL_E_ARG;
    }
    head = (uint8_t)(rec[0] - 1);
    ul_client_sha256_update(&s, &head, 1);
    ul_client_sha256_update(&s, rec + 1, len - 1 - SIG_TAIL);
    ul_client_sha256_final(&s, out32);
    return UL_OK;
}

/* Signs digest32 with seckey32 into sig64 and verifies the result (a fault during signing can
 * leak the key through a bad signature; one verification keeps it from leaving). */
static ul_err sign_digest(secp256k1_context *ctx, uint8_t sig64[UL_SIG_BYTES],
                          const uint8_t digest32[UL_HASH_BYTES],
                          const uint8_t seckey32[UL_SECKEY_BYTES], const uint8_t aux32[32])
{
    secp256k1_keypair kp;
    secp256k1_xonly_pubkey pk;
    ul_err e = UL_E_KEY;

    if (!secp256k1_context_randomize(ctx, aux32) || !secp256k1_keypair_create(ctx, &kp, seckey32)) {
        goto out;
    }
    e = UL_E_INTERNAL;
    if (secp256k1_schnorrsig_sign32(ctx, sig64, digest32, &kp, aux32) &&
        secp256k1_keypair_xonly_pub(ctx, &pk, NULL, &kp) &&
        secp256k1_schnorrsig_verify(ctx, sig64, digest32, UL_HASH_BYTES, &pk)) {
        e = UL_OK;
    }
out:
    sodium_memzero(&kp, sizeof kp);
    return e;
}

ul_err ul_client_record_sign(uint8_t *rec, size_t len, ul_domain d,
                             const uint8_t chain_id32[UL_HASH_BYTES],
                             const uint8_t seckey32[UL_SECKEY_BYTES], const uint8_t aux32[32])
{
    _Alignas(16) unsigned char mem[SIGN_CTX_BYTES];
    uint8_t digest[UL_HASH_BYTES];
    uint8_t sig[UL_SIG_BYTES];
    secp256k1_context *ctx;

    ul_err e = ul_client_record_digest(digest, rec, len, d, chain_id32);
    if (e != UL_OK) {
        return e;
    }
    if (secp256k1_context_preallocated_size(SECP256K1_CONTEXT_NONE) > sizeof mem) {
        return UL_E_INTERNAL;
    }
    ctx = secp256k1_context_preallocated_create(mem, SECP256K1_CONTEXT_NONE);
    if (ctx == NULL) {
        return UL_E_INTERNAL;
    }
    e = sign_digest(ctx, sig, digest, seckey32, aux32);
    secp256k1_context_preallocated_destroy(ctx);
    sodium_memzero(mem, sizeof mem); /* the blinding derived from aux32 */
    if (e == UL_OK) {
        memcpy(rec + len - UL_SIG_BYTES, sig, UL_SIG_BYTES);
    }
    return e;
}

ul_err ul_client_record_verify(const uint8_t *rec, size_t len, ul_domain d,
                               const uint8_t chain_id32[UL_HASH_BYTES],
                               const uint8_t pubkey32[UL_PUBKEY_BYTES])
{
    uint8_t digest[UL_HASH_BYTES];
    ul_err e = ul_client_record_digest(digest, rec, len, d, chain_id32);
    if (e != UL_OK) {
        return e == UL_E_ARG ? UL_E_SIG : e;
    }
    return ul_client_sig_verify_digest(rec + len - UL_SIG_BYTES, digest, pubkey32);
}

ul_err ul_client_pubkey_from_secret(uint8_t pubkey32[UL_PUBKEY_BYTES],
                                    const uint8_t seckey32[UL_SECKEY_BYTES])
{
    _Alignas(16) unsigned char mem[SIGN_CTX_BYTES];
    secp256k1_context *ctx;
    secp256k1_keypair kp;
    secp256k1_xonly_pubkey pk;
    ul_err e = UL_E_KEY;

    if (secp256k1_context_preallocated_size(SECP256K1_CONTEXT_NONE) > sizeof mem) {
        return UL_E_INTERNAL;
    }
    ctx = secp256k1_context_preallocated_create(mem, SECP256K1_CONTEXT_NONE);
    if (ctx == NULL) {
        return UL_E_INTERNAL;
    }
    if (secp256k1_keypair_create(ctx, &kp, seckey32) &&
        secp256k1_keypair_xonly_pub(ctx, &pk, NULL, &kp) &&
        secp256k1_xonly_pubkey_serialize(ctx, pubkey32, &pk)) {
        e = UL_OK;
    }
    sodium_memzero(&kp, sizeof kp);
    secp256k1_context_preallocated_destroy(ctx);
    return e;
}

ul_err ul_client_report_verify(ul_report *out, const uint8_t *in, size_t len,
                               const uint8_t chain_id32[UL_HASH_BYTES])
{
    ul_err e = ul_schema_report_decode(out, in, len);
    return e != UL_OK ? e
                      : ul_client_record_verify(in, len, UL_DOMAIN_REPORT, chain_id32, out->device);
}

ul_err ul_client_reply_verify(ul_report_reply *out, const uint8_t *in, size_t len,
                              const uint8_t chain_id32[UL_HASH_BYTES],
                              const uint8_t tracker32[UL_PUBKEY_BYTES])
{
    ul_err e = ul_schema_reply_decode(out, in, len);
    return e != UL_OK ? e
                      : ul_client_record_verify(in, len, UL_DOMAIN_REPLY, chain_id32, tracker32);
}

ul_err ul_client_summary_verify(ul_summary *out, const uint8_t *in, size_t len,
                                const uint8_t chain_id32[UL_HASH_BYTES])
{
    ul_err e = ul_schema_summary_decode(out, in, len);
    return e != UL_OK ? e
                      : ul_client_record_verify(in, len, UL_DOMAIN_SUMMARY, chain_id32, out->from);
}
