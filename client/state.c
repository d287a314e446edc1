/* libupclient state proofs: the compressed sparse Merkle tree's leaf hash and the verifier a
 * device runs on a ul_state_proof. No heap, no recursion: one fold from the path's end up to the
 * root, at most UL_SMT_DEPTH steps, over caller memory and a few hashes on the stack.
 */
#include <stdbool.h>
#include <string.h>

#include "internal.h"

static const uint8_t smt_zero[UL_HASH_BYTES]; /* the empty subtree */

/* Bit i of a 256-bit string, most significant bit of byte 0 first (the tree's left/right rule). */
static bool smt_bit(const uint8_t *bits, size_t i)
{
    return ((bits[i >> 3] >> (7 - (i & 7))) & 1) != 0;
}

static bool smt_is_zero(const uint8_t h[UL_HASH_BYTES])
{
    return memcmp(h, smt_zero, UL_HASH_BYTES) == 0;
}

void ul_client_smt_leaf_hash(uint8_t out32[UL_HASH_BYTES], const uint8_t key32[UL_HASH_BYTES],
                             const uint8_t value_hash32[UL_HASH_BYTES])
{
    ul_client_hash_pair(out32, 0x02, key32, value_hash32);
}

/* out32 may alias left32 or right32: both are absorbed before out32 is written. */
static void smt_node_hash(uint8_t out32[UL_HASH_BYTES], const uint8_t left32[UL_HASH_BYTES],
                          const uint8_t right32[UL_HASH_BYTES])
{
    ul_client_hash_pair(out32, 0x03, left32, right32);
}

/* The proof's shape on its own: depth in range, no bitmap bit at or past depth, one sibling per
 * bit set. Checked before any sibling is read, so n_siblings bounds every index below. */
static ul_err smt_shape(const ul_state_proof *p)
{
    size_t set = 0;

    if (p->depth > UL_SMT_DEPTH) {
        return UL_E_SCHEMA_FIELD;
    }
    for (size_t i = 0; i < UL_SMT_DEPTH; i++) {
        if (smt_bit(p->bitmap, i)) {
            if (i >= p->depth) {
                return UL_E_SCHEMA_FIELD;
            }
            set++;
        }
    }
    return set == p->n_siblings ? UL_OK : UL_E_SCHEMA_FIELD;
}

/* Length of the common bit prefix of a and b, capped at max bits. */
static size_t smt_common_bits(const uint8_t *a, const uint8_t *b, size_t max)
{
    size_t i = 0;
    while (i < max && smt_bit(a, i) == smt_bit(b, i)) {
        i++;
    }
    return i;
}

/* What the path's end says about key: *present when it ends in key's own leaf. A foreign leaf
 * must lie on key's path (share the first depth bits), or the proof is malformed. */
static ul_err smt_terminal(const ul_state_proof *p, const uint8_t key32[UL_HASH_BYTES],
                           uint8_t h[UL_HASH_BYTES], bool *present)
{
    *present = false;
    if (!p->has_leaf) {
        memset(h, 0, UL_HASH_BYTES);
        return UL_OK;
    }
    if (memcmp(p->leaf_key, key32, UL_HASH_BYTES) == 0) {
        *present = true;
    } else if (smt_common_bits(p->leaf_key, key32, (size_t)p->depth) < p->depth) {
        return UL_E_SCHEMA_FIELD;
    }
    ul_client_smt_leaf_hash(h, p->leaf_key, p->leaf_value);
    return UL_OK;
}

ul_err ul_client_state_verify(const ul_state_proof *p, const uint8_t root32[UL_HASH_BYTES],
                              const uint8_t key32[UL_HASH_BYTES], const uint8_t *value_hash32)
{
    uint8_t h[UL_HASH_BYTES];
    bool present;

    if (p == NULL || root32 == NULL || key32 == NULL) {
        return UL_E_ARG;
    }
    ul_err e = smt_shape(p);
    if (e == UL_OK) {
        e = smt_terminal(p, key32, h, &present);
    }
    if (e != UL_OK) {
        return e;
    }
    /* The proof must prove what was asked before its hashes are worth folding. */
    if (value_hash32 != NULL &&
        (!present || memcmp(p->leaf_value, value_hash32, UL_HASH_BYTES) != 0)) {
        return UL_E_MERKLE_PROOF;
    }
    if (value_hash32 == NULL && present) {
        return UL_E_MERKLE_PROOF;
    }
    size_t s = p->n_siblings;
    for (size_t i = (size_t)p->depth; i-- > 0;) {
        const uint8_t *sib = smt_zero;
        if (smt_bit(p->bitmap, i)) {
            sib = p->siblings[--s];
        }
        /* No tree holds a node over two empty children, nor a leaf whose sibling is empty (a
         * lone leaf sits one level up): such a path cannot lead to any root. */
        if (sib == smt_zero && (smt_is_zero(h) || (p->has_leaf && i + 1 == p->depth))) {
            return UL_E_MERKLE_PROOF;
        }
        if (smt_bit(key32, i)) {
            smt_node_hash(h, sib, h);
        } else {
            smt_node_hash(h, h, sib);
        }
    }
    return memcmp(h, root32, UL_HASH_BYTES) == 0 ? UL_OK : UL_E_MERKLE_PROOF;
}
