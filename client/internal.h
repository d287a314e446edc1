/* Cross-file internals of client/ (allocation-free like the rest of the module). */
#ifndef UL_CLIENT_INTERNAL_H
#define UL_CLIENT_INTERNAL_H

#include "ul_client.h"

/* Keeps a function out of its callers: for one whose locals (an encoding buffer, a decoded
 * section) must not stay on the stack under a signature check, whose libsecp256k1 frames are
 * the deepest a device has (its bundle-phase stack peak). */
#define UL_NOINLINE __attribute__((__noinline__))

/* SHA256(prefix || a32 || b32): the shape of every tree node and SMT leaf hash. out32 may alias
 * a32 or b32 (both are absorbed before out32 is written). */
void ul_client_hash_pair(uint8_t out32[UL_HASH_BYTES], uint8_t prefix,
                         const uint8_t a32[UL_HASH_BYTES], const uint8_t b32[UL_HASH_BYTES]);

/* Starts the tagged hash of ul_client_signed_digest: H(tag) || H(tag) || chain_id32, from the
 * precomputed tag hashes; the caller adds the message and finishes. Returns: false for a domain
 * that is not one (nothing started). */
bool ul_client_signed_digest_init(ul_sha256 *s, ul_domain d,
                                  const uint8_t chain_id32[UL_HASH_BYTES]);

/* ---- Incremental proof folds (one implementation each: the whole-proof verifiers in
 * merkle.c and state.c run on them, and so does the streaming bundle verifier) ---- */

/* RFC 9162 inclusion (section 2.1.3.2), one path hash at a time, bottom up (ul_incl_fold is in
 * ul_client.h because ul_update holds one). */

/* Returns: UL_OK; UL_E_MERKLE_RANGE when index >= size. */
ul_err ul_client_incl_init(ul_incl_fold *f, const uint8_t leaf_hash32[UL_HASH_BYTES],
                           uint64_t index, uint64_t size);
/* Returns: UL_OK; UL_E_MERKLE_PROOF when the path is already longer than the tree is tall. */
ul_err ul_client_incl_step(ul_incl_fold *f, const uint8_t sibling32[UL_HASH_BYTES]);
/* Returns: UL_OK when the path ended at the root and the root is root32; else UL_E_MERKLE_PROOF. */
ul_err ul_client_incl_final(const ul_incl_fold *f, const uint8_t root32[UL_HASH_BYTES]);

/* Sparse-Merkle fold of a state proof (ul_smt_fold, in ul_client.h because ul_update holds one)
 * from the path's end up to the root, given the non-empty siblings bottom up (deepest first); the
 * empty ones in between are implied by the bitmap. */

/* The hash a proof's path ends in, into end32: zero when leaf_key32 is NULL (an empty subtree),
 * else the leaf (leaf_key32, value_hash32). A leaf of another key must lie on key32's path (share
 * its first depth bits). Out: *own when the leaf is key32's. Returns: UL_OK; UL_E_SCHEMA_FIELD for
 * a leaf off the path. */
ul_err ul_client_smt_end(uint8_t end32[UL_HASH_BYTES], bool *own,
                         const uint8_t key32[UL_HASH_BYTES], uint64_t depth,
                         const uint8_t *leaf_key32, const uint8_t *value_hash32);
/* Starts a fold at depth with the hash the path ends in (end32: zero for an empty subtree, else a
 * leaf hash) for key32. Returns: UL_OK; UL_E_SCHEMA_FIELD for depth > UL_SMT_DEPTH or a bitmap
 * bit at or past depth. */
ul_err ul_client_smt_fold_init(ul_smt_fold *f, const uint8_t key32[UL_HASH_BYTES], uint64_t depth,
                               const uint8_t bitmap[UL_SMT_DEPTH / 8],
                               const uint8_t end32[UL_HASH_BYTES], bool leaf_end);
/* Folds up to and through the next non-empty sibling. Returns: UL_OK; UL_E_SCHEMA_FIELD when the
 * bitmap has no sibling left; UL_E_MERKLE_PROOF for a path no tree can hold. */
ul_err ul_client_smt_fold_step(ul_smt_fold *f, const uint8_t sibling32[UL_HASH_BYTES]);
/* Folds the remaining empty levels and compares with root32. Returns: UL_OK; UL_E_SCHEMA_FIELD
 * when siblings are missing; UL_E_MERKLE_PROOF. */
ul_err ul_client_smt_fold_final(ul_smt_fold *f, const uint8_t root32[UL_HASH_BYTES]);
/* Siblings the bitmap calls for (bits set below depth). */
size_t ul_client_smt_bits(const uint8_t bitmap[UL_SMT_DEPTH / 8], uint64_t depth);

/* Verifies one precommit vote {type 2, height, round, block hash, time} signed by pubkey32.
 * Returns: UL_OK; UL_E_SIG (also for a key that does not parse: it cannot have signed). */
ul_err ul_client_precommit_verify(const uint8_t sig64[UL_SIG_BYTES],
                                  const uint8_t pubkey32[UL_PUBKEY_BYTES],
                                  const uint8_t chain_id32[UL_HASH_BYTES], uint64_t height,
                                  uint64_t round, const uint8_t block_hash32[UL_HASH_BYTES],
                                  uint64_t time_ms);

/* ---- The update context (update.c, image.c) ---- */

/* ul_update.phase: the call sequence. */
enum { UL_PH_NONE = 0, UL_PH_BUNDLE, UL_PH_IMAGE, UL_PH_IMAGE_OK };

/* Records the first failure in u (it sticks) and wipes u's secrets. Returns: the sticky error. */
ul_err ul_client_update_fail(ul_update *u, ul_err e);
/* The entry check of every call on a context: UL_E_ARG for no context, the sticky error if one
 * was recorded, UL_E_SEQUENCE_CALL (recorded) when u is not in `phase`. UL_OK: go on. */
ul_err ul_client_update_enter(ul_update *u, uint64_t phase);

#endif
