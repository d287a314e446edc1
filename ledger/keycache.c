/* Signature checks on the node side: ul_client_sig_verify with each public key's parse kept.
 * Parsing an x-only key is a field square root, about a fifth of a BIP-340 verify here, and a
 * node verifies thousands of signatures per second from a few dozen keys (publishers,
 * validators, peers). Each thread keeps its own direct-mapped table of parsed keys, so no lock
 * is taken; a key that does not parse is never kept. The table only saves work: results are
 * those of ul_client_sig_verify (devices use that, with no table). */
#include <stdatomic.h>
#include <string.h>

#include <secp256k1.h>
#include <secp256k1_extrakeys.h>
#include <secp256k1_schnorrsig.h>

#include "ul_ledger.h"

_Static_assert((UL_KEY_CACHE_SLOTS & (UL_KEY_CACHE_SLOTS - 1)) == 0,
               "the slot is a mask of the key's bytes");

typedef struct {
    uint8_t raw[UL_PUBKEY_BYTES];
    secp256k1_xonly_pubkey parsed;
    bool used;
} key_slot;

static _Thread_local key_slot slots[UL_KEY_CACHE_SLOTS];
/* Checks made by every thread (block execution runs them on worker threads too): one process
 * runs one node, so this is the node's figure. */
static _Atomic uint64_t verify_count;

uint64_t ul_sig_verify_count(void)
{
    return atomic_load_explicit(&verify_count, memory_order_relaxed);
}

/* An x-only key is a field element: its bytes are spread evenly enough to index by. A key
 * chosen to collide costs its owner only the parse it would have cost anyway. */
static const secp256k1_xonly_pubkey *parsed_key(const uint8_t pk32[UL_PUBKEY_BYTES])
{
    key_slot *s = &slots[(pk32[0] | (size_t)pk32[1] << 8) & (UL_KEY_CACHE_SLOTS - 1)];
    if (s->used && memcmp(s->raw, pk32, UL_PUBKEY_BYTES) == 0) {
        return &s->parsed;
    }
    secp256k1_xonly_pubkey pk;
    if (!secp256k1_xonly_pubkey_parse(secp256k1_context_static, &pk, pk32)) {
        return NULL;
    }
    memcpy(s->raw, pk32, UL_PUBKEY_BYTES);
    s->parsed = pk;
    s->used = true;
    return &s->parsed;
}

ul_err ul_sig_verify(const uint8_t sig64[UL_SIG_BYTES], ul_domain d,
                     const uint8_t chain_id32[UL_HASH_BYTES], const uint8_t *msg, size_t len,
                     const uint8_t pubkey32[UL_PUBKEY_BYTES])
{
    uint8_t digest[UL_HASH_BYTES];
    atomic_fetch_add_explicit(&verify_count, 1, memory_order_relaxed);
    if ((unsigned)d >= (unsigned)UL_DOMAIN_COUNT_) { /* as ul_client_sig_verify: no digest */
        return UL_E_SIG;
    }
    const secp256k1_xonly_pubkey *pk = parsed_key(pubkey32);
    if (!pk) {
        return UL_E_KEY;
    }
    ul_client_signed_digest(digest, d, chain_id32, msg, len);
    if (!secp256k1_schnorrsig_verify(secp256k1_context_static, sig64, digest, UL_HASH_BYTES, pk)) {
        return UL_E_SIG;
    }
    return UL_OK;
}
