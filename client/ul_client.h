/* libupclient: the device verification core. The node verifies with this same code.
 *
 * Rules for every function here:
 * - No heap, no recursion, no VLAs, no stdio; all state lives in caller memory.
 * - Argument order: outputs, in-outs, inputs; each length right after its buffer.
 * - Verification fails closed: anything but UL_OK means "do not trust".
 * - Call ul_client_init() once before anything else (it initialises libsodium).
 */
#ifndef UL_CLIENT_H
#define UL_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include <sodium/crypto_hash_sha256.h>

#include "../schema/ul_schema.h"

/* Returns: UL_OK, or UL_E_INTERNAL when libsodium cannot initialise. Idempotent. */
ul_err ul_client_init(void);

/* ---- SHA-256 (libsodium) ------------------------------------------------------------------- */

typedef struct {
    crypto_hash_sha256_state st;
} ul_sha256;

void ul_client_sha256(uint8_t out32[UL_HASH_BYTES], const uint8_t *in, size_t len);
void ul_client_sha256_init(ul_sha256 *s);
void ul_client_sha256_update(ul_sha256 *s, const uint8_t *in, size_t len);
void ul_client_sha256_final(ul_sha256 *s, uint8_t out32[UL_HASH_BYTES]);

/* ---- Domain-separated signed messages ------------------------------------------------------ */

/* Each kind of signed message has its own BIP-340-style tag ("upledger/v1/<kind>"), so a
 * signature made for one kind never verifies as another. Append only. */
typedef enum {
    UL_DOMAIN_RELEASE = 0,  /* publish transactions (the release record body) */
    UL_DOMAIN_TX = 1,       /* other transactions (register, ...) */
    UL_DOMAIN_VOTE = 2,     /* prevotes and precommits, hence commits */
    UL_DOMAIN_PROPOSAL = 3, /* block proposals */
    UL_DOMAIN_TRANSFER = 4, /* namespace authority transfers */
    UL_DOMAIN_COUNT_
} ul_domain;

/* Returns: the tag string of a domain, e.g. "upledger/v1/release". */
const char *ul_client_domain_tag(ul_domain d);

/* The 32-byte message every upledger signature signs:
 *   SHA256(SHA256(tag) || SHA256(tag) || chain_id32 || msg)   (BIP-340 tagged hash)
 * Binding the chain id means nothing signed for one network verifies on another. */
void ul_client_signed_digest(uint8_t out32[UL_HASH_BYTES], ul_domain d,
                             const uint8_t chain_id32[UL_HASH_BYTES], const uint8_t *msg,
                             size_t len);

/* Verifies a BIP-340 signature over ul_client_signed_digest(d, chain_id, msg).
 * Returns: UL_OK; UL_E_KEY when pubkey32 is not a valid x-only key; UL_E_SIG otherwise. */
ul_err ul_client_sig_verify(const uint8_t sig64[UL_SIG_BYTES], ul_domain d,
                            const uint8_t chain_id32[UL_HASH_BYTES], const uint8_t *msg,
                            size_t len, const uint8_t pubkey32[UL_PUBKEY_BYTES]);

/* Verifies a BIP-340 signature over a 32-byte digest already computed. Same returns. */
ul_err ul_client_sig_verify_digest(const uint8_t sig64[UL_SIG_BYTES],
                                   const uint8_t digest32[UL_HASH_BYTES],
                                   const uint8_t pubkey32[UL_PUBKEY_BYTES]);

/* ---- RFC 9162 Merkle trees ----------------------------------------------------------------- */

/* SHA256(0x00 || leaf) */
void ul_client_merkle_leaf_hash(uint8_t out32[UL_HASH_BYTES], const uint8_t *leaf, size_t len);
/* SHA256(0x01 || left || right) */
void ul_client_merkle_node_hash(uint8_t out32[UL_HASH_BYTES], const uint8_t left32[UL_HASH_BYTES],
                                const uint8_t right32[UL_HASH_BYTES]);
/* Root of the empty tree: SHA256(""). */
void ul_client_merkle_empty_root(uint8_t out32[UL_HASH_BYTES]);

/* Verifies that leaf_hash is leaf `index` of the tree of `size` leaves with `root`
 * (RFC 9162 section 2.1.3.2). path holds n_path hashes of 32 bytes, bottom up.
 * Returns: UL_OK; UL_E_MERKLE_RANGE when index >= size or n_path > UL_MAX_PROOF_DEPTH;
 *          UL_E_MERKLE_PROOF when the path has the wrong length or the root differs. */
ul_err ul_client_merkle_verify_inclusion(const uint8_t leaf_hash32[UL_HASH_BYTES], uint64_t index,
                                         uint64_t size, const uint8_t (*path)[UL_HASH_BYTES],
                                         size_t n_path, const uint8_t root32[UL_HASH_BYTES]);

/* Verifies that the tree (size2, root2) extends the tree (size1, root1)
 * (RFC 9162 section 2.1.4.2). Same returns; size1 > size2 is UL_E_MERKLE_RANGE; size1 == size2
 * needs an empty path and equal roots; size1 == 0 needs an empty path. */
ul_err ul_client_merkle_verify_consistency(uint64_t size1, uint64_t size2,
                                           const uint8_t root1[UL_HASH_BYTES],
                                           const uint8_t root2[UL_HASH_BYTES],
                                           const uint8_t (*path)[UL_HASH_BYTES], size_t n_path);

/* ---- Commits --------------------------------------------------------------------------------- */

/* Returns: SHA-256 of a validator set's canonical encoding (the header's validators_hash). */
ul_err ul_client_valset_hash(uint8_t out32[UL_HASH_BYTES], const ul_valset *s);

/* Verifies that commit c carries precommit signatures, each by a distinct member of set s
 * over (height, round, block hash, time), from validators holding more than 2/3 of s's total
 * voting power, for header hash block_hash32 at height `height` on chain chain_id32.
 * Returns: UL_OK; UL_E_HEIGHT or UL_E_HEADER_LINK when the commit is for another block;
 *          UL_E_VALIDATOR for an index outside s or repeated; UL_E_SIG for a bad signature;
 *          UL_E_QUORUM when the verified power is not more than 2/3. */
ul_err ul_client_commit_verify(const ul_commit *c, const ul_valset *s,
                               const uint8_t chain_id32[UL_HASH_BYTES], uint64_t height,
                               const uint8_t block_hash32[UL_HASH_BYTES]);

/* Returns: the weighted median of the commit's vote times (CometBFT's BFT time): the time t
 * such that validators holding more than half the signing power voted at or before t.
 * Precondition: the commit verified against s. */
uint64_t ul_client_commit_time(const ul_commit *c, const ul_valset *s);

/* ---- State proofs ------------------------------------------------------------------------ */

/* Compressed sparse Merkle tree over 256-bit keys (MSB first selects left 0 / right 1):
 *   empty subtree = 32 zero bytes;  leaf = SHA256(0x02 || key32 || value_hash32);
 *   node = SHA256(0x03 || left32 || right32)   (never computed when both are empty);
 * a subtree holding exactly one leaf is that leaf's hash, placed at the shallowest depth where
 * it is alone, so every set of (key, value) has exactly one root. (Prefixes 0x02/0x03 keep these
 * hashes apart from RFC 9162's 0x00/0x01.) */
void ul_client_smt_leaf_hash(uint8_t out32[UL_HASH_BYTES], const uint8_t key32[UL_HASH_BYTES],
                             const uint8_t value_hash32[UL_HASH_BYTES]);

/* Verifies proof p for key32 against root32.
 * value_hash32 non-NULL: membership — key32 maps to value_hash32.
 * value_hash32 NULL: non-membership — key32 is absent.
 * Returns: UL_OK; UL_E_MERKLE_PROOF when the proof does not lead to root32 or proves the
 * opposite; UL_E_SCHEMA_FIELD for an inconsistent proof (sibling count vs bitmap, a terminal leaf
 * whose key does not share the path's prefix). No heap, no recursion. */
ul_err ul_client_state_verify(const ul_state_proof *p, const uint8_t root32[UL_HASH_BYTES],
                              const uint8_t key32[UL_HASH_BYTES],
                              const uint8_t *value_hash32);

/* ---- Versions and dependency constraints -------------------------------------------------- */

/* A version is 1..UL_MAX_VERSION_PARTS dot-separated decimal numbers ("1", "2.0", "1.2.3.4"),
 * each < 2^32, compared numerically part by part with missing parts as 0 ("1.2" == "1.2.0").
 * A constraint is 1..UL_MAX_CONSTRAINT_TERMS space-separated terms, all of which must hold:
 * ">=1.2", ">1.2", "<=2", "<2.0", "=1.2.3" or a bare version (equal). */
typedef struct {
    uint32_t part[UL_MAX_VERSION_PARTS];
} ul_version;

/* Returns: UL_OK or UL_E_VERSION_STR. */
ul_err ul_client_version_parse(ul_version *out, const uint8_t *s, size_t len);
/* Returns: <0, 0, >0 as a is older than, equal to, newer than b. */
int ul_client_version_cmp(const ul_version *a, const ul_version *b);
/* Returns: UL_OK when the constraint parses and some version satisfies it; UL_E_VERSION_STR when
 * it does not parse; UL_E_DEPENDENCY when no version can satisfy it (">2 <1"). */
ul_err ul_client_constraint_check(const uint8_t *c, size_t len);
/* Returns: UL_OK when version v satisfies constraint c; UL_E_DEPENDENCY when not;
 * UL_E_VERSION_STR when c does not parse. */
ul_err ul_client_constraint_match(const uint8_t *c, size_t len, const ul_version *v);

/* ---- Proof bundles ---------------------------------------------------------------------- */

/* What a verified bundle proves: this header was committed by the trusted validator set, and
 * leaf (a signed publish tx, spans into the bundle) is entry leaf_index of its release log. */
typedef struct {
    ul_header header;
    uint8_t header_hash[UL_HASH_BYTES];
    ul_span leaf;
    uint64_t leaf_index;
    ul_span record; /* the release record body inside leaf */
} ul_bundle_result;

/* Verifies a bundle against a trust anchor (chain id and the hash of the validator set the
 * device trusts), in order: envelope; validator set hashes to the anchor and to the header's
 * validators_hash; the header is for this chain; the commit carries > 2/3 of the set's power for
 * this header; the inclusion proof is for the header's log size and proves the leaf in the
 * header's log root; the leaf is a publish tx whose every signature verifies.
 * Returns: UL_OK and *out, or the first failing check's error. Uses ~10 KiB of stack (a commit,
 * a validator set and a proof are decoded); the device issue bounds this further. */
ul_err ul_client_bundle_verify(ul_bundle_result *out, const uint8_t *bundle, size_t len,
                               const uint8_t chain_id32[UL_HASH_BYTES],
                               const uint8_t valset_hash32[UL_HASH_BYTES]);

#endif
