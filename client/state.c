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

size_t ul_client_smt_bits(const uint8_t bitmap[UL_SMT_DEPTH / 8], uint64_t depth)
{
    size_t set = 0;
    for (size_t i = 0; i < depth && i < UL_SMT_DEPTH; i++) {
        set += smt_bit(bitmap, i) ? 1 : 0;
    }
    return set;
}

/* The proof's shape on its own: depth in range, no bitmap bit at or past depth. Checked before
 * any sibling is read, so the bitmap's count bounds every sibling taken below. */
static ul_err smt_shape(uint64_t depth, const uint8_t bitmap[UL_SMT_DEPTH / 8])
{
    if (depth > UL_SMT_DEPTH) {
        return UL_E_SCHEMA_FIELD;
    }
    for (size_t i = (size_t)depth; i < UL_SMT_DEPTH; i++) {
        if (smt_bit(bitmap, i)) {
            return UL_E_SCHEMA_FIELD;
        }
    }
    return UL_OK;
}

ul_err ul_client_smt_fold_init(ul_smt_fold *f, const uint8_t key32[UL_HASH_BYTES], uint64_t depth,
                               const uint8_t bitmap[UL_SMT_DEPTH / 8],
                               const uint8_t end32[UL_HASH_BYTES], bool leaf_end)
{
    ul_err e = smt_shape(depth, bitmap);
    if (e != UL_OK) {
        return e;
    }
    memcpy(f->h, end32, UL_HASH_BYTES);
    memcpy(f->key, key32, UL_HASH_BYTES);
    memcpy(f->bitmap, bitmap, sizeof f->bitmap);
    f->depth = depth;
    f->level = depth;
    f->sibs_left = ul_client_smt_bits(bitmap, depth);
    f->leaf_end = leaf_end;
    return UL_OK;
}

/* Folds one level with sibling sib (smt_zero itself for an empty one). */
static ul_err smt_fold_level(ul_smt_fold *f, const uint8_t sib[UL_HASH_BYTES])
{
    size_t i = (size_t)f->level - 1;
    /* No tree holds a node over two empty children, nor a leaf whose sibling is empty (a lone
     * leaf sits one level up): such a path cannot lead to any root. */
    if (sib == smt_zero && (smt_is_zero(f->h) || (f->leaf_end && i + 1 == f->depth))) {
        return UL_E_MERKLE_PROOF;
    }
    if (smt_bit(f->key, i)) {
        smt_node_hash(f->h, sib, f->h);
    } else {
        smt_node_hash(f->h, f->h, sib);
    }
    f->level--;
    return UL_OK;
}

ul_err ul_client_smt_fold_step(ul_smt_fold *f, const uint8_t sibling32[UL_HASH_BYTES])
{
    if (f->sibs_left == 0) {
        return UL_E_SCHEMA_FIELD; /* more siblings than the bitmap has bits */
    }
    /* The bitmap has a bit set below level, so this loop ends there (at most depth levels). */
    while (!smt_bit(f->bitmap, (size_t)f->level - 1)) {
        ul_err e = smt_fold_level(f, smt_zero);
        if (e != UL_OK) {
            return e;
        }
    }
    f->sibs_left--;
    return smt_fold_level(f, sibling32);
}

ul_err ul_client_smt_fold_final(ul_smt_fold *f, const uint8_t root32[UL_HASH_BYTES])
{
    if (f->sibs_left != 0) {
        return UL_E_SCHEMA_FIELD; /* siblings missing */
    }
    while (f->level > 0) {
        ul_err e = smt_fold_level(f, smt_zero);
        if (e != UL_OK) {
            return e;
        }
    }
    return memcmp(f->h, root32, UL_HASH_BYTES) == 0 ? UL_OK : UL_E_MERKLE_PROOF;
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

ul_err ul_client_smt_end(uint8_t end32[UL_HASH_BYTES], bool *own,
                         const uint8_t key32[UL_HASH_BYTES], uint64_t depth,
                         const uint8_t *leaf_key32, const uint8_t *value_hash32)
{
    *own = false;
    if (leaf_key32 == NULL) {
        memset(end32, 0, UL_HASH_BYTES);
        return UL_OK;
    }
    if (memcmp(leaf_key32, key32, UL_HASH_BYTES) == 0) {
        *own = true;
    } else if (depth > UL_SMT_DEPTH || smt_common_bits(leaf_key32, key32, (size_t)depth) < depth) {
        return UL_E_SCHEMA_FIELD;
    }
    ul_client_smt_leaf_hash(end32, leaf_key32, value_hash32);
    return UL_OK;
}

ul_err ul_client_state_verify(const ul_state_proof *p, const uint8_t root32[UL_HASH_BYTES],
                              const uint8_t key32[UL_HASH_BYTES], const uint8_t *value_hash32)
{
    uint8_t h[UL_HASH_BYTES];
    bool present;
    ul_smt_fold f;

    if (p == NULL || root32 == NULL || key32 == NULL) {
        return UL_E_ARG;
    }
    ul_err e = smt_shape(p->depth, p->bitmap);
    if (e == UL_OK && ul_client_smt_bits(p->bitmap, p->depth) != p->n_siblings) {
        e = UL_E_SCHEMA_FIELD;
    }
    if (e == UL_OK) {
        e = ul_client_smt_end(h, &present, key32, p->depth, p->has_leaf ? p->leaf_key : NULL,
                              p->leaf_value);
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
    e = ul_client_smt_fold_init(&f, key32, p->depth, p->bitmap, h, p->has_leaf);
    /* siblings[] runs from the root down; the fold takes them bottom up. */
    for (size_t s = p->n_siblings; e == UL_OK && s-- > 0;) {
        e = ul_client_smt_fold_step(&f, p->siblings[s]);
    }
    return e != UL_OK ? e : ul_client_smt_fold_final(&f, root32);
}

ul_err ul_client_statekey_installable_begin(ul_sha256 *s, ul_span ns)
{
    uint8_t k[2 + UL_MAX_NS_LEN + 1];
    size_t len = 0;
    /* The key with an empty class is exactly the prefix the class follows. */
    ul_err e = ul_schema_statekey_installable(k, sizeof k, &len, ns, (ul_span){NULL, 0});
    if (e == UL_OK) {
        ul_client_sha256_init(s);
        ul_client_sha256_update(s, k, len);
    }
    return e;
}

ul_err ul_client_statekey_installable_final(ul_sha256 *s, ul_span hw, uint8_t out32[UL_HASH_BYTES])
{
    if (hw.len > UL_MAX_LABEL_LEN) {
        return UL_E_LIMIT;
    }
    ul_client_sha256_update(s, hw.ptr, hw.len);
    ul_client_sha256_final(s, out32);
    return UL_OK;
}

void ul_client_statekey_revocation_hash(uint8_t out32[UL_HASH_BYTES],
                                        const uint8_t id32[UL_HASH_BYTES])
{
    uint8_t k[UL_STATEKEY_ID_BYTES];
    size_t len = 0;
    ul_err e = ul_schema_statekey_revocation(k, sizeof k, &len, id32);
    (void)e; /* a fixed-length key into a buffer of its length: it cannot fail */
    ul_client_sha256(out32, k, len);
}
