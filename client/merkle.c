/* libupclient RFC 9162 Merkle trees: leaf and node hashes, and the iterative inclusion
 * (section 2.1.3.2) and consistency (section 2.1.4.2) proof verifiers that devices run on the
 * release log. No recursion: every loop is bounded by the 64 bits of a tree size.
 */
#include <stdbool.h>
#include <string.h>

#include "internal.h"

/* SHA256("") : the root of the empty tree (RFC 9162 section 2.1.1). */
static const uint8_t ul_empty_root[UL_HASH_BYTES] = {
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
};

/* Roots and proof hashes are public, so a plain compare leaks nothing worth a constant-time one. */
static bool ul_hash_eq(const uint8_t a[UL_HASH_BYTES], const uint8_t b[UL_HASH_BYTES])
{
    return memcmp(a, b, UL_HASH_BYTES) == 0;
}

/* Shifts fn and sn right together until fn's low bit is set or fn is 0: climbs past the
 * levels where the node is the last one and has no sibling. At most 64 steps. */
static void ul_climb_right_edge(uint64_t *fn, uint64_t *sn)
{
    while ((*fn & 1) == 0 && *fn != 0) {
        *fn >>= 1;
        *sn >>= 1;
    }
}

void ul_client_merkle_leaf_hash(uint8_t out32[UL_HASH_BYTES], const uint8_t *leaf, size_t len)
{
    static const uint8_t prefix = 0x00;
    ul_sha256 s;

    ul_client_sha256_init(&s);
    ul_client_sha256_update(&s, &prefix, 1);
    ul_client_sha256_update(&s, leaf, len);
    ul_client_sha256_final(&s, out32);
}

void ul_client_merkle_node_hash(uint8_t out32[UL_HASH_BYTES], const uint8_t left32[UL_HASH_BYTES],
                                const uint8_t right32[UL_HASH_BYTES])
{
    ul_client_hash_pair(out32, 0x01, left32, right32);
}

void ul_client_merkle_empty_root(uint8_t out32[UL_HASH_BYTES])
{
    memcpy(out32, ul_empty_root, UL_HASH_BYTES);
}

ul_err ul_client_incl_init(ul_incl_fold *f, const uint8_t leaf_hash32[UL_HASH_BYTES],
                           uint64_t index, uint64_t size)
{
    if (index >= size) {
        return UL_E_MERKLE_RANGE;
    }
    f->fn = index;
    f->sn = size - 1;
    memcpy(f->r, leaf_hash32, UL_HASH_BYTES);
    return UL_OK;
}

ul_err ul_client_incl_step(ul_incl_fold *f, const uint8_t sibling32[UL_HASH_BYTES])
{
    /* Reaching the root before the path ends means the path is too long. */
    if (f->sn == 0) {
        return UL_E_MERKLE_PROOF;
    }
    if ((f->fn & 1) != 0 || f->fn == f->sn) {
        ul_client_merkle_node_hash(f->r, sibling32, f->r);
        ul_climb_right_edge(&f->fn, &f->sn);
    } else {
        ul_client_merkle_node_hash(f->r, f->r, sibling32);
    }
    f->fn >>= 1;
    f->sn >>= 1;
    return UL_OK;
}

ul_err ul_client_incl_final(const ul_incl_fold *f, const uint8_t root32[UL_HASH_BYTES])
{
    /* sn != 0: the path ended below the root, so it is too short. */
    if (f->sn != 0 || !ul_hash_eq(f->r, root32)) {
        return UL_E_MERKLE_PROOF;
    }
    return UL_OK;
}

ul_err ul_client_merkle_verify_inclusion(const uint8_t leaf_hash32[UL_HASH_BYTES], uint64_t index,
                                         uint64_t size, const uint8_t (*path)[UL_HASH_BYTES],
                                         size_t n_path, const uint8_t root32[UL_HASH_BYTES])
{
    ul_incl_fold f;

    if (n_path > UL_MAX_PROOF_DEPTH) {
        return UL_E_MERKLE_RANGE;
    }
    ul_err e = ul_client_incl_init(&f, leaf_hash32, index, size);
    for (size_t i = 0; e == UL_OK && i < n_path; i++) {
        e = ul_client_incl_step(&f, path[i]);
    }
    return e != UL_OK ? e : ul_client_incl_final(&f, root32);
}

/* The cases RFC 9162's algorithm does not cover (it assumes 0 < size1 < size2 and a non-empty
 * path). Returns true and sets *res when the case is decided here. */
static bool ul_consistency_trivial(ul_err *res, uint64_t size1, uint64_t size2,
                                   const uint8_t root1[UL_HASH_BYTES],
                                   const uint8_t root2[UL_HASH_BYTES], size_t n_path)
{
    if (size1 > size2 || n_path > UL_MAX_PROOF_DEPTH) {
        *res = UL_E_MERKLE_RANGE;
        return true;
    }
    if (size1 != 0 && size1 != size2) {
        if (n_path == 0) {
            *res = UL_E_MERKLE_PROOF;
            return true;
        }
        return false;
    }
    *res = UL_E_MERKLE_PROOF;
    if (n_path != 0) {
        return true;
    }
    /* A tree of size 0 has exactly one root, so a caller claiming another one for it is
     * confused or lying: fail closed rather than vouch for a root nothing proved. */
    if (size1 == 0 && !ul_hash_eq(root1, ul_empty_root)) {
        return true;
    }
    if (size1 == size2 && !ul_hash_eq(root1, root2)) {
        return true;
    }
    /* Equal sizes with equal roots, or growth from the empty tree: nothing to prove. */
    *res = UL_OK;
    return true;
}

ul_err ul_client_merkle_verify_consistency(uint64_t size1, uint64_t size2,
                                           const uint8_t root1[UL_HASH_BYTES],
                                           const uint8_t root2[UL_HASH_BYTES],
                                           const uint8_t (*path)[UL_HASH_BYTES], size_t n_path)
{
    uint8_t fr[UL_HASH_BYTES];
    uint8_t sr[UL_HASH_BYTES];
    uint64_t fn = size1 - 1;
    uint64_t sn = size2 - 1;
    size_t i = 0;
    ul_err res;

    if (ul_consistency_trivial(&res, size1, size2, root1, root2, n_path)) {
        return res;
    }
    /* When size1 is a power of two the old root is a node of the new tree and the proof omits
     * it: start from root1 instead of prepending it, so the path is never copied. */
    if ((size1 & (size1 - 1)) == 0) {
        memcpy(fr, root1, UL_HASH_BYTES);
    } else {
        memcpy(fr, path[0], UL_HASH_BYTES);
        i = 1;
    }
    memcpy(sr, fr, UL_HASH_BYTES);
    while ((fn & 1) != 0) {
        fn >>= 1;
        sn >>= 1;
    }
    for (; i < n_path; i++) {
        if (sn == 0) {
            return UL_E_MERKLE_PROOF;
        }
        if ((fn & 1) != 0 || fn == sn) {
            ul_client_merkle_node_hash(fr, path[i], fr);
            ul_client_merkle_node_hash(sr, path[i], sr);
            ul_climb_right_edge(&fn, &sn);
        } else {
            ul_client_merkle_node_hash(sr, sr, path[i]);
        }
        fn >>= 1;
        sn >>= 1;
    }
    if (sn != 0 || !ul_hash_eq(fr, root1) || !ul_hash_eq(sr, root2)) {
        return UL_E_MERKLE_PROOF;
    }
    return UL_OK;
}
