/* libupclient: the device verification core. The node verifies with this same code.
 *
 * Rules for every function here:
 * - No heap, no recursion, no VLAs, no stdio; all state lives in caller memory.
 * - Argument order: outputs, in-outs, inputs; each length right after its buffer.
 * - Verification fails closed: anything but UL_OK means "do not trust".
 * - Call ul_client_init() once before anything else (it initialises libsodium).
 *
 * Each function's comment says, as libsecp256k1's do:
 *   Returns: what it returns (every ul_err is UL_WUR: the compiler refuses an ignored verdict);
 *   Args:    the context it works in and keeps across calls (ul_update, ul_device_state, ...);
 *   Out:     what it writes (and whether on failure too);
 *   In:      what it only reads, each length right after its buffer.
 * The caller owns every buffer it passes; the library keeps no pointer to one after the call
 * returns unless its comment says so (ul_client_update_begin keeps st). An argument may be NULL
 * only where its comment says so; UL_NONNULL marks those that never may. A buffer of length 0
 * may be NULL (none of it is read; the function may still refuse empty input). Sizes in brackets
 * are exact: out32 is 32 bytes.
 */
#ifndef UL_CLIENT_H
#define UL_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include <sodium/crypto_secretstream_xchacha20poly1305.h>

/* schema/'s headers give their own declarations C linkage and spell _Static_assert for C++. */
#include "../schema/ul_schema.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Initialises libsodium (its SHA-256 and secretstream). Idempotent and thread-safe.
 *
 * Returns: UL_OK; UL_E_INTERNAL when libsodium cannot initialise (then nothing here may be used).
 */
UL_WUR ul_err ul_client_init(void);

/* ---- SHA-256 (OpenSSL's libcrypto or libsodium, chosen at build time) ---------------------- */

/* A hashing state in caller memory, opaque: client/sha256_openssl.c (SHA256_CTX, 112 bytes) or
 * client/sha256_sodium.c (crypto_hash_sha256_state, 104 bytes) lives in it, so one layout serves
 * both builds (`make SHA256=openssl|sodium`); each backend checks at compile time that it fits. */
#define UL_SHA256_STATE_BYTES 112
typedef union {
    uint64_t align; /* both backends' states hold 64-bit counters */
    uint8_t opaque[UL_SHA256_STATE_BYTES];
} ul_sha256;

/* Returns: the SHA-256 backend this library was built with, "openssl" or "libsodium" (a static
 * string). */
const char *ul_client_sha256_impl(void);

/* SHA-256 of a buffer in one call.
 *
 * Out: out32:   the digest.
 * In:  in, len: the bytes to hash (in may be NULL when len is 0).
 */
void ul_client_sha256(uint8_t out32[UL_HASH_BYTES], const uint8_t *in, size_t len) UL_NONNULL(1);

/* Incremental SHA-256: init, then update any number of times, then final.
 *
 * Args: s:       the hash state, caller memory (ul_client_sha256_init starts it; after final it
 *                must be started again before reuse).
 * Out:  out32:   (final) the digest of everything fed since init.
 * In:   in, len: (update) the next bytes (in may be NULL when len is 0).
 */
void ul_client_sha256_init(ul_sha256 *s) UL_NONNULL(1);
void ul_client_sha256_update(ul_sha256 *s, const uint8_t *in, size_t len) UL_NONNULL(1);
void ul_client_sha256_final(ul_sha256 *s, uint8_t out32[UL_HASH_BYTES]) UL_NONNULL(1, 2);

/* ---- Domain-separated signed messages ------------------------------------------------------ */

/* Each kind of signed message has its own BIP-340-style tag ("upledger/v1/<kind>"), so a
 * signature made for one kind never verifies as another. Append only. */
typedef enum {
    UL_DOMAIN_RELEASE = 0,    /* publish transactions (the release record body) */
    UL_DOMAIN_TX = 1,         /* other transactions (register, ...) */
    UL_DOMAIN_VOTE = 2,       /* prevotes and precommits, hence commits */
    UL_DOMAIN_PROPOSAL = 3,   /* block proposals */
    UL_DOMAIN_TRANSFER = 4,   /* namespace authority transfers */
    UL_DOMAIN_PEER = 5,       /* envelopes of messages between nodes (schema: ul_envelope) */
    UL_DOMAIN_CHECKPOINT = 6, /* freshness checkpoints (schema: ul_checkpoint_vote) */
    UL_DOMAIN_REPORT = 7,     /* device reports to a tracker (schema: ul_report) */
    UL_DOMAIN_REPLY = 8,      /* a tracker's reply to a report (schema: ul_report_reply) */
    UL_DOMAIN_SUMMARY = 9,    /* tracker summaries sent upstream (schema: ul_summary) */
    UL_DOMAIN_COUNT_
} ul_domain;

/* Returns: the tag string of a domain, e.g. "upledger/v1/release"; "" for a value that is not a
 *          ul_domain. Never NULL; a static string the caller must not free or change.
 * In:      d: the domain.
 */
const char *ul_client_domain_tag(ul_domain d);

/* The 32-byte message every upledger signature signs:
 *   SHA256(SHA256(tag) || SHA256(tag) || chain_id32 || msg)   (BIP-340 tagged hash)
 * Binding the chain id means nothing signed for one network verifies on another.
 *
 * Out: out32:      the digest.
 * In:  d:          the kind of message (its tag: ul_client_domain_tag).
 *      chain_id32: the chain id (SHA-256 of the genesis).
 *      msg, len:   the message bytes (msg may be NULL when len is 0).
 */
void ul_client_signed_digest(uint8_t out32[UL_HASH_BYTES], ul_domain d,
                             const uint8_t chain_id32[UL_HASH_BYTES], const uint8_t *msg,
                             size_t len) UL_NONNULL(1, 3);

/* Checks that pubkey32 is a BIP-340 x-only public key (libsecp256k1's parse: x below the field
 * size and on the curve), so a signature by it can verify at all. All zeros or all 0xff are not.
 *
 * Returns: UL_OK; UL_E_KEY otherwise.
 * In:      pubkey32: the key.
 */
UL_WUR ul_err ul_client_pubkey_check(const uint8_t pubkey32[UL_PUBKEY_BYTES]) UL_NONNULL(1);

/* Verifies a BIP-340 signature over ul_client_signed_digest(d, chain_id32, msg, len).
 *
 * Returns: UL_OK; UL_E_KEY when pubkey32 is not a valid x-only key; UL_E_SIG otherwise.
 * In:      sig64:      the signature.
 *          d:          the kind of message.
 *          chain_id32: the chain id.
 *          msg, len:   the signed message (msg may be NULL when len is 0).
 *          pubkey32:   the signer's x-only public key.
 */
UL_WUR ul_err ul_client_sig_verify(const uint8_t sig64[UL_SIG_BYTES], ul_domain d,
                                   const uint8_t chain_id32[UL_HASH_BYTES], const uint8_t *msg,
                                   size_t len, const uint8_t pubkey32[UL_PUBKEY_BYTES])
    UL_NONNULL(1, 3, 6);

/* Verifies a BIP-340 signature over a 32-byte digest already computed.
 *
 * Returns: UL_OK; UL_E_KEY when pubkey32 is not a valid x-only key; UL_E_SIG otherwise.
 * In:      sig64:    the signature.
 *          digest32: the signed digest (ul_client_signed_digest).
 *          pubkey32: the signer's x-only public key.
 */
UL_WUR ul_err ul_client_sig_verify_digest(const uint8_t sig64[UL_SIG_BYTES],
                                          const uint8_t digest32[UL_HASH_BYTES],
                                          const uint8_t pubkey32[UL_PUBKEY_BYTES])
    UL_NONNULL(1, 2, 3);

/* ---- Signed records whose last map key is their signature (reports, replies, summaries) ---- */

/* A device report, a tracker's reply and a tracker summary (schema/ul_schema.h) are each a
 * canonical map whose last entry is its 64-byte signature under a key below 24 in a map of fewer
 * than 24 entries. What is signed is the same map without that entry: the map head with one entry
 * less followed by every other entry's bytes, hashed in place (no copy):
 *   ul_client_signed_digest(d, chain_id32, (rec[0] - 1) || rec[1 .. len - 67]).
 *
 * Computes that digest. Returns: UL_OK; UL_E_SCHEMA_FIELD when rec is not of that shape (a map
 * head of 1..23 entries, ending in a small key and a 64-byte byte string).
 * Out: out32: the digest.
 * In:  rec, len: the encoded record; d: its domain; chain_id32: the chain id. */
UL_WUR ul_err ul_client_record_digest(uint8_t out32[UL_HASH_BYTES], const uint8_t *rec, size_t len,
                                      ul_domain d, const uint8_t chain_id32[UL_HASH_BYTES])
    UL_NONNULL(1, 5);

/* Signs an encoded record in place: its last 64 bytes become the BIP-340 signature by seckey32
 * of ul_client_record_digest. Uses a libsecp256k1 context in stack memory (no heap), randomized
 * with aux32 (also BIP-340's auxiliary randomness: fresh random bytes, or zeros for tests).
 * Returns: UL_OK; UL_E_SCHEMA_FIELD for a record of the wrong shape; UL_E_KEY for a secret key
 *          that is not one (zero or >= the group order); UL_E_ARG for an invalid domain.
 * In/Out: rec, len: the encoded record (its signature bytes are replaced).
 * In:     d, chain_id32: as above; seckey32: the signer's secret key; aux32: 32 random bytes. */
UL_WUR ul_err ul_client_record_sign(uint8_t *rec, size_t len, ul_domain d,
                                    const uint8_t chain_id32[UL_HASH_BYTES],
                                    const uint8_t seckey32[UL_SECKEY_BYTES],
                                    const uint8_t aux32[32]) UL_NONNULL(4, 5, 6);

/* Verifies an encoded record's signature (its last 64 bytes) by pubkey32.
 * Returns: UL_OK; UL_E_SCHEMA_FIELD for a record of the wrong shape; UL_E_KEY; UL_E_SIG. */
UL_WUR ul_err ul_client_record_verify(const uint8_t *rec, size_t len, ul_domain d,
                                      const uint8_t chain_id32[UL_HASH_BYTES],
                                      const uint8_t pubkey32[UL_PUBKEY_BYTES]) UL_NONNULL(4, 5);

/* The x-only public key of a secret key (a stack context, no heap).
 * Returns: UL_OK; UL_E_KEY for a secret key that is not one. */
UL_WUR ul_err ul_client_pubkey_from_secret(uint8_t pubkey32[UL_PUBKEY_BYTES],
                                           const uint8_t seckey32[UL_SECKEY_BYTES])
    UL_NONNULL(1, 2);

/* Decodes a device report and verifies its signature by the device key it names, on chain
 * chain_id32. A tracker then checks the report's tracker key, its enrolment and its counter.
 * Returns: the decoder's errors; UL_E_KEY (a device key that is not a key); UL_E_SIG.
 * Out: out: the report (copied; keeps no pointer into in). */
UL_WUR ul_err ul_client_report_verify(ul_report *out, const uint8_t *in, size_t len,
                                      const uint8_t chain_id32[UL_HASH_BYTES]) UL_NONNULL(1, 4);

/* Decodes a tracker's reply and verifies its signature by tracker32.
 * Returns: the decoder's errors; UL_E_KEY; UL_E_SIG. */
UL_WUR ul_err ul_client_reply_verify(ul_report_reply *out, const uint8_t *in, size_t len,
                                     const uint8_t chain_id32[UL_HASH_BYTES],
                                     const uint8_t tracker32[UL_PUBKEY_BYTES]) UL_NONNULL(1, 4, 5);

/* Decodes a tracker summary and verifies its signature by the sender it names (`from`); the
 * upstream then checks `to`, the sender's enrolment and the counter. Entries: as
 * ul_schema_summary_decode (read them with ul_schema_summary_entries).
 * Returns: the decoder's errors; UL_E_KEY; UL_E_SIG. */
UL_WUR ul_err ul_client_summary_verify(ul_summary *out, const uint8_t *in, size_t len,
                                       const uint8_t chain_id32[UL_HASH_BYTES]) UL_NONNULL(1, 4);

/* ---- RFC 9162 Merkle trees ----------------------------------------------------------------- */

/* Leaf hash: SHA256(0x00 || leaf).
 *
 * Out: out32:     the hash.
 * In:  leaf, len: the leaf bytes (leaf may be NULL when len is 0).
 */
void ul_client_merkle_leaf_hash(uint8_t out32[UL_HASH_BYTES], const uint8_t *leaf, size_t len)
    UL_NONNULL(1);
/* Interior node hash: SHA256(0x01 || left || right).
 *
 * Out: out32:   the hash.
 * In:  left32:  the left child's hash.
 *      right32: the right child's hash.
 */
void ul_client_merkle_node_hash(uint8_t out32[UL_HASH_BYTES], const uint8_t left32[UL_HASH_BYTES],
                                const uint8_t right32[UL_HASH_BYTES]) UL_NONNULL(1, 2, 3);
/* Root of the empty tree: SHA256("").
 *
 * Out: out32: the root.
 */
void ul_client_merkle_empty_root(uint8_t out32[UL_HASH_BYTES]) UL_NONNULL(1);

/* Verifies that leaf_hash32 is leaf `index` of the tree of `size` leaves with root root32
 * (RFC 9162 section 2.1.3.2).
 *
 * Returns: UL_OK; UL_E_MERKLE_RANGE when index >= size or n_path > UL_MAX_PROOF_DEPTH;
 *          UL_E_MERKLE_PROOF when the path has the wrong length or the root differs.
 * In:      leaf_hash32:  the leaf's hash (ul_client_merkle_leaf_hash).
 *          index, size:  the leaf's position and the tree's size.
 *          path, n_path: n_path sibling hashes of 32 bytes, bottom up (path may be NULL when
 *                        n_path is 0).
 *          root32:       the tree's root.
 */
UL_WUR ul_err ul_client_merkle_verify_inclusion(const uint8_t leaf_hash32[UL_HASH_BYTES],
                                                uint64_t index, uint64_t size,
                                                const uint8_t (*path)[UL_HASH_BYTES], size_t n_path,
                                                const uint8_t root32[UL_HASH_BYTES])
    UL_NONNULL(1, 6);

/* Verifies that the tree (size2, root2) extends the tree (size1, root1)
 * (RFC 9162 section 2.1.4.2). size1 == size2 needs an empty path and equal roots; size1 == 0
 * needs an empty path.
 *
 * Returns: UL_OK; UL_E_MERKLE_RANGE when size1 > size2 or n_path > UL_MAX_PROOF_DEPTH;
 *          UL_E_MERKLE_PROOF when the path has the wrong length or a root differs.
 * In:      size1, size2: the older and the newer tree's sizes.
 *          root1, root2: their roots.
 *          path, n_path: n_path hashes of 32 bytes (path may be NULL when n_path is 0).
 */
UL_WUR ul_err ul_client_merkle_verify_consistency(uint64_t size1, uint64_t size2,
                                                  const uint8_t root1[UL_HASH_BYTES],
                                                  const uint8_t root2[UL_HASH_BYTES],
                                                  const uint8_t (*path)[UL_HASH_BYTES],
                                                  size_t n_path) UL_NONNULL(3, 4);

/* ---- Commits --------------------------------------------------------------------------------- */

/* SHA-256 of a validator set's canonical encoding (the header's validators_hash).
 *
 * Returns: UL_OK; UL_E_SCHEMA_FIELD or UL_E_LIMIT for a set ul_schema_valset_encode refuses
 *          (keys not in ascending order, too many validators, too much power).
 * Out:     out32: the hash (on UL_OK).
 * In:      s:     the validator set.
 */
UL_WUR ul_err ul_client_valset_hash(uint8_t out32[UL_HASH_BYTES], const ul_valset *s)
    UL_NONNULL(1, 2);

/* Verifies that commit c carries precommit signatures, each by a distinct member of set s
 * over (height, round, block hash, time), from validators holding more than 2/3 of s's total
 * voting power, for header hash block_hash32 at height `height` on chain chain_id32.
 *
 * Returns: UL_OK; UL_E_HEIGHT or UL_E_HEADER_LINK when the commit is for another block;
 *          UL_E_VALIDATOR for an index outside s or repeated; UL_E_SIG for a bad signature;
 *          UL_E_QUORUM when the verified power is not more than 2/3.
 * In:      c:            the commit.
 *          s:            the validator set that must have signed it.
 *          chain_id32:   the chain id.
 *          height:       the header's height.
 *          block_hash32: the header's hash.
 */
UL_WUR ul_err ul_client_commit_verify(const ul_commit *c, const ul_valset *s,
                                      const uint8_t chain_id32[UL_HASH_BYTES], uint64_t height,
                                      const uint8_t block_hash32[UL_HASH_BYTES])
    UL_NONNULL(1, 2, 3, 5);

/* Verifies one checkpoint signature: the signer signed the checkpoint statement v (height,
 * header hash, time) under UL_DOMAIN_CHECKPOINT on chain chain_id32.
 *
 * Returns: UL_OK; UL_E_SIG when it does not verify (a key that does not parse included).
 * In:      sig64:      the BIP-340 signature.
 *          pubkey32:   the signer's x-only key.
 *          chain_id32: the chain id.
 *          v:          the statement.
 */
UL_WUR ul_err ul_client_checkpoint_sig_verify(const uint8_t sig64[UL_SIG_BYTES],
                                              const uint8_t pubkey32[UL_PUBKEY_BYTES],
                                              const uint8_t chain_id32[UL_HASH_BYTES],
                                              const ul_checkpoint_vote *v) UL_NONNULL(1, 2, 3, 4);

/* Verifies checkpoint c for header hash header_hash32 at height `height`, signed by set s (the
 * set that signs that height, the header's validators_hash): every signature by a distinct
 * member, together more than 2/3 of s's power.
 *
 * Returns: UL_OK; UL_E_CHECKPOINT when c is for another height or header; UL_E_VALIDATOR for an
 *          index outside s or repeated; UL_E_SIG for a bad signature; UL_E_QUORUM when the
 *          signers hold no more than 2/3 of the power.
 * In:      c:             the checkpoint.
 *          s:             the validator set that must have signed it.
 *          chain_id32:    the chain id.
 *          height:        the header's height.
 *          header_hash32: the header's hash.
 */
UL_WUR ul_err ul_client_checkpoint_verify(const ul_checkpoint *c, const ul_valset *s,
                                          const uint8_t chain_id32[UL_HASH_BYTES], uint64_t height,
                                          const uint8_t header_hash32[UL_HASH_BYTES])
    UL_NONNULL(1, 2, 3, 5);

/* The weighted median of the commit's vote times (CometBFT's BFT time).
 *
 * Returns: the time t such that validators holding more than half the signing power voted at
 *          or before t.
 * In:      c: the commit; it must have verified against s (ul_client_commit_verify).
 *          s: its validator set.
 */
uint64_t ul_client_commit_time(const ul_commit *c, const ul_valset *s) UL_NONNULL(1, 2);

/* ---- State proofs ------------------------------------------------------------------------ */

/* Compressed sparse Merkle tree over 256-bit keys (MSB first selects left 0 / right 1):
 *   empty subtree = 32 zero bytes;  leaf = SHA256(0x02 || key32 || value_hash32);
 *   node = SHA256(0x03 || left32 || right32)   (never computed when both are empty);
 * a subtree holding exactly one leaf is that leaf's hash, placed at the shallowest depth where
 * it is alone, so every set of (key, value) has exactly one root. (Prefixes 0x02/0x03 keep these
 * hashes apart from RFC 9162's 0x00/0x01.) */
/* Out: out32:        the SMT leaf hash SHA256(0x02 || key32 || value_hash32).
 * In:  key32:        the leaf's key.
 *      value_hash32: the hash of its value.
 */
void ul_client_smt_leaf_hash(uint8_t out32[UL_HASH_BYTES], const uint8_t key32[UL_HASH_BYTES],
                             const uint8_t value_hash32[UL_HASH_BYTES]) UL_NONNULL(1, 2, 3);

/* Verifies proof p for key32 against root32. No heap, no recursion.
 *
 * Returns: UL_OK; UL_E_MERKLE_PROOF when the proof does not lead to root32 or proves the
 *          opposite; UL_E_SCHEMA_FIELD for an inconsistent proof (sibling count vs bitmap, a
 *          terminal leaf whose key does not share the path's prefix); UL_E_ARG when p, root32
 *          or key32 is NULL.
 * In:      p:            the proof (ul_schema's decoded form).
 *          root32:       the state root it must lead to.
 *          key32:        the SMT key.
 *          value_hash32: non-NULL: membership, key32 maps to value_hash32 (32 bytes);
 *                        NULL: non-membership, key32 is absent.
 */
UL_WUR ul_err ul_client_state_verify(const ul_state_proof *p, const uint8_t root32[UL_HASH_BYTES],
                                     const uint8_t key32[UL_HASH_BYTES],
                                     const uint8_t *value_hash32);

/* SMT keys of the state entries a device proves: SHA-256 of the whole state key as
 * ul_schema_statekey_* builds it (docs/protocol.md sections 4.3 and 6). */
/* Starts the key of 'S' 'i' ns 0x00 hw before the class is known.
 *
 * Returns: UL_OK; UL_E_LIMIT when ns is longer than UL_MAX_NS_LEN (*s is then unspecified).
 * Out:     s:  the SHA-256 state of the key up to the class.
 * In:      ns: the namespace (its bytes are read during the call only).
 */
UL_WUR ul_err ul_client_statekey_installable_begin(ul_sha256 *s, ul_span ns) UL_NONNULL(1);
/* Finishes that key with the class hw.
 *
 * Returns: UL_OK; UL_E_LIMIT when hw is longer than UL_MAX_LABEL_LEN (*s and out32 are then
 *          unchanged).
 * Args:    s:     the state from ul_client_statekey_installable_begin (consumed on UL_OK).
 * Out:     out32: the key.
 * In:      hw:    the hardware class.
 */
UL_WUR ul_err ul_client_statekey_installable_final(ul_sha256 *s, ul_span hw,
                                                   uint8_t out32[UL_HASH_BYTES]) UL_NONNULL(1, 3);
/* Out: out32: the key of 'S' 'v' id32 (the release's revocation entry).
 * In:  id32:  the release id.
 */
void ul_client_statekey_revocation_hash(uint8_t out32[UL_HASH_BYTES],
                                        const uint8_t id32[UL_HASH_BYTES]) UL_NONNULL(1, 2);

/* Private (ul_update holds one): an RFC 9162 inclusion path folded one hash at a time
 * (client/merkle.c). */
typedef struct {
    uint64_t fn, sn;
    uint8_t r[UL_HASH_BYTES];
} ul_incl_fold;

/* Private (ul_update holds one): a state proof folded from its end up to the root, one
 * non-empty sibling at a time (client/state.c). */
typedef struct {
    uint8_t h[UL_HASH_BYTES];
    uint8_t key[UL_HASH_BYTES];
    uint8_t bitmap[UL_SMT_DEPTH / 8];
    uint64_t depth;
    uint64_t level;     /* levels still to fold: the next sibling is at level - 1 */
    uint64_t sibs_left; /* bitmap bits set below level */
    bool leaf_end;      /* the path ends in a leaf (whose sibling may not be empty) */
} ul_smt_fold;

/* ---- Versions and dependency constraints -------------------------------------------------- */

/* A version is 1..UL_MAX_VERSION_PARTS dot-separated decimal numbers ("1", "2.0", "1.2.3.4"),
 * each < 2^32, compared numerically part by part with missing parts as 0 ("1.2" == "1.2.0").
 * A constraint is 1..UL_MAX_CONSTRAINT_TERMS space-separated terms, all of which must hold:
 * ">=1.2", ">1.2", "<=2", "<2.0", "=1.2.3" or a bare version (equal). */
typedef struct {
    uint32_t part[UL_MAX_VERSION_PARTS];
} ul_version;

/* Parses a version string.
 *
 * Returns: UL_OK; UL_E_VERSION_STR when s is not a version (NULL or empty included).
 * Out:     out:    the version (unspecified on failure).
 * In:      s, len: the string, not NUL-terminated.
 */
UL_WUR ul_err ul_client_version_parse(ul_version *out, const uint8_t *s, size_t len) UL_NONNULL(1);
/* Returns: <0, 0, >0 as a is older than, equal to, newer than b.
 * In:      a, b: the versions.
 */
int ul_client_version_cmp(const ul_version *a, const ul_version *b) UL_NONNULL(1, 2);
/* Checks a dependency constraint on its own.
 *
 * Returns: UL_OK when the constraint parses and some version satisfies it; UL_E_VERSION_STR when
 *          it does not parse (NULL or empty included); UL_E_DEPENDENCY when no version can
 *          satisfy it (">2 <1").
 * In:      c, len: the constraint string, not NUL-terminated.
 */
UL_WUR ul_err ul_client_constraint_check(const uint8_t *c, size_t len);
/* Returns: UL_OK when version v satisfies constraint c; UL_E_DEPENDENCY when not;
 *          UL_E_VERSION_STR when c does not parse (NULL or empty included).
 * In:      c, len: the constraint string, not NUL-terminated.
 *          v:      the version.
 */
UL_WUR ul_err ul_client_constraint_match(const uint8_t *c, size_t len, const ul_version *v)
    UL_NONNULL(3);

/* ---- Device state --------------------------------------------------------------------------- */

/* Fills st for a new device: trust anchor = the genesis (chain id = SHA-256 of its bytes; the
 * trusted validator set = its validators, by hash), height 0, hardware class hw, no components.
 *
 * Returns: UL_OK; UL_E_ARG when st is NULL or a NULL buffer has a length; a genesis decoding
 *          error; UL_E_HW_CLASS for an invalid label.
 * Out:     st:           the device state (complete on UL_OK only).
 * In:      genesis, len: the genesis file's bytes (read during the call only).
 *          hw, hw_len:   the hardware class label, printable ASCII.
 */
UL_WUR ul_err ul_client_device_init(ul_device_state *st, const uint8_t *genesis, size_t len,
                                    const uint8_t *hw, size_t hw_len);

/* Records a factory-installed component (its confirmed slot 0 holds version/seq; digest and size
 * unknown are zero).
 *
 * Returns: UL_OK; UL_E_ARG when st is NULL; UL_E_EXISTS; UL_E_LIMIT past UL_MAX_COMPONENTS;
 *          UL_E_NS_NAME; UL_E_VERSION_STR for a version that does not parse.
 * Args:    st:                   the device state (changed on UL_OK only).
 * In:      ns, ns_len:           the component's namespace.
 *          version, version_len: its version string.
 *          seq:                  its release sequence number.
 */
UL_WUR ul_err ul_client_device_add(ul_device_state *st, const uint8_t *ns, size_t ns_len,
                                   const uint8_t *version, size_t version_len, uint64_t seq);

/* ul_client_device_add of a component written as one string, "NS=VERSION" or "NS=VERSION@SEQ"
 * (the programs' --installed): NS up to the first '=', SEQ after the last '@' of what follows, in
 * decimal digits only (no sign or spaces, at most 2^64 - 1); SEQ defaults to 0.
 *
 * Returns: UL_OK; UL_E_ARG when st or spec is NULL or len is 0, or for a spec without '=', with
 *          an empty NS or VERSION, or with a SEQ that is empty, not all digits or too large (st
 *          unchanged); else ul_client_device_add's verdict (UL_E_NS_NAME, UL_E_VERSION_STR,
 *          UL_E_EXISTS, UL_E_LIMIT).
 * Args:    st:        the device state (changed on UL_OK only).
 * In:      spec, len: the string, not NUL-terminated.
 */
UL_WUR ul_err ul_client_device_add_spec(ul_device_state *st, const uint8_t *spec, size_t len);

/* Returns: the component for ns inside st (owned by st: valid while st is, and changed by what
 *          changes st), or NULL when there is none or st is NULL.
 * In:      st:         the device state.
 *          ns, ns_len: the namespace.
 */
const ul_component *ul_client_device_find(const ul_device_state *st, const uint8_t *ns,
                                          size_t ns_len);

/* Call once per device start. A component in trial that was started once already and not
 * confirmed falls back: active returns to the other slot, trial clears (the failed slot keeps
 * its content for inspection).
 *
 * Returns: the number of components that fell back (0 when st is NULL).
 * Args:    st: the device state (the caller stores it back afterwards).
 */
size_t ul_client_device_boot(ul_device_state *st);

/* Confirms the trial of component ns (the new image works): it becomes the installed release.
 *
 * Returns: UL_OK; UL_E_NOT_FOUND (st NULL included); UL_E_SEQUENCE_CALL when ns is not in trial.
 * Args:    st:         the device state (changed on UL_OK only).
 * In:      ns, ns_len: the namespace.
 */
UL_WUR ul_err ul_client_device_confirm(ul_device_state *st, const uint8_t *ns, size_t ns_len);

/* ---- Update: bundle, then image, then accept ------------------------------------------------ */

/* What a verified bundle says about the release (filled by ul_client_bundle_final). */
typedef struct {
    uint8_t id[UL_HASH_BYTES]; /* release id: SHA-256 of the record bytes */
    uint64_t seq;
    uint64_t kind;
    uint64_t time; /* release time (unix seconds), as the publisher stated it */
    uint64_t size; /* bytes of the image file on the mirror */
    uint8_t digest[UL_HASH_BYTES];
    bool encrypted;
    size_t version_len;
    uint8_t version[UL_MAX_LABEL_LEN];
    uint64_t height; /* the header the proofs are against */
    uint8_t header_hash[UL_HASH_BYTES];
    uint64_t header_time_ms;
    uint64_t checkpoint_time_ms; /* the checkpoint's time when the bundle carried one, else 0 */
    uint64_t log_index;
    uint64_t steps; /* validator-set changes walked */
} ul_release_info;

/* The verification context: fixed size (<= UL_MAX_UPDATE_CTX_BYTES), caller memory, no heap.
 * Its fields are private. Errors stick: after one, every call returns it. */
typedef struct {
    /* call sequence and the device */
    uint64_t phase;
    ul_err err;
    const ul_device_state *st;
    size_t comp; /* index of the target component in st, or st->n_components */
    size_t ns_len;
    uint8_t ns[UL_MAX_NS_LEN];
    uint64_t now_ms, max_age_ms;
    uint8_t class_sk[32]; /* X25519 secret of the device class (wiped on final/abort) */
    bool has_class_sk;
    /* section framing: a head byte at a time, then the body into buf */
    size_t head_have;
    uint8_t head[9];
    bool framed;
    size_t body_have, body_len;
    /* where the stream is: next section wanted, and what is left of each run */
    uint64_t expect, which;
    uint64_t steps_left, voters_left, sigs_left, sibs_left;
    uint64_t item_i; /* position in the current run of voters or of signatures */
    /* the header being verified; the last one is what the proofs are against */
    ul_header hd;
    uint8_t hd_hash[UL_HASH_BYTES];
    uint64_t round, last_height;
    bool hd_skip;                   /* a set-change step the device has already followed */
    bool hd_checkpoint;             /* the last header came as CHECKPOINT: voters sign cp */
    ul_checkpoint_vote cp;          /* that checkpoint's statement */
    uint8_t trusted[UL_HASH_BYTES]; /* hash of the set that must sign the current header */
    /* release: hashes across its sections and the deferred verdicts */
    ul_sha256 leaf_hash;
    uint8_t leaf[UL_HASH_BYTES];
    uint8_t body_digest[UL_HASH_BYTES]; /* signed digest of the record (UL_DOMAIN_RELEASE) */
    uint8_t last_sig_key[UL_PUBKEY_BYTES];
    uint8_t state_key[2][UL_HASH_BYTES]; /* [0] is set per proof from inst_prefix */
    ul_sha256 inst_prefix; /* SHA-256 state after 'S' 'i' ns 0x00: the proof names the class */
    bool ns_ok, hw_ok, rollback, dep_ok, installable, revoked;
    bool current; /* the release is the installed one (ul_client_update_current) */
    ul_release_info info;
    uint64_t chunk_plain;
    uint8_t sealed[UL_SEALED_KEY_BYTES];
    bool has_sealed;
    union { /* each member lives in one stretch of the stream only */
        struct {
            ul_sha256 set_hash;
            uint8_t last_key[UL_PUBKEY_BYTES];
            uint64_t total, signed_power;
        } v; /* the voters of one header */
        struct {
            ul_sha256 id_hash;   /* SHA-256 of the record: the release id */
            ul_sha256 body_hash; /* its signed digest (UL_DOMAIN_RELEASE) */
            /* the classes seen so far, by the first UL_LEAF_HW_TAG bytes of their SHA-256:
             * a class must not repeat, and each wrapped key must name one */
            uint8_t hw[UL_MAX_HW][UL_LEAF_HW_TAG];
            size_t n_hw;
            uint32_t key_hw_used; /* bit i: a wrapped key names hw[i] */
            bool hw_dup, key_dup, key_unlisted, key_own, dep_have;
            ul_version dep_v; /* the installed version of the dependency being read */
        } lf;                 /* the LEAF section, streamed: its record is never held whole */
        ul_incl_fold incl;    /* the INCLUSION section's path, folded hash by hash */
        struct {
            ul_smt_fold fold;
            bool member, installable;
        } sp; /* one state proof */
        struct {
            ul_sha256 hash;
            crypto_secretstream_xchacha20poly1305_state ss;
            uint8_t key[32];
            uint64_t seen;
            size_t have; /* bytes of the header or of one ciphertext chunk in buf */
            bool keyed, started, final;
        } img; /* the image */
    } w;
    /* a streamed section (LEAF, INCLUSION, SIBLINGS): where its walk is, its bytes in buf not
     * yet read (held) and how far into it they are */
    ul_leaf_walk walk;
    bool stream;
    size_t held, consumed;
    /* one section (the LEAF: one item), one secretstream header or one ciphertext chunk */
    uint8_t buf[UL_UPDATE_BUF_BYTES];
} ul_update;

/* Begins one update of component ns on the device st. st is read (not written) until
 * ul_client_update_accept and must not change meanwhile. class_sk32: the X25519 secret key of
 * the device's hardware class, for encrypted images (NULL: none; an encrypted release then fails
 * with UL_E_DECRYPT). now_ms: the device clock (unix ms; 0: the device has none, and no time
 * check runs); with a clock, a header more than UL_MAX_CLOCK_SKEW_MS ahead of now_ms is refused
 * (UL_E_FUTURE), and one older than max_age_ms too (UL_E_STALE; max_age_ms 0: no age check).
 *
 * Returns: UL_OK; UL_E_ARG when u, st or ns is NULL or st breaks its bounds; UL_E_PENDING when
 *          ns awaits confirmation; UL_E_NS_NAME; UL_E_LIMIT when ns is new and the device already
 *          tracks UL_MAX_COMPONENTS. A failure sticks in u.
 * Args:    u:          the update context, caller memory (overwritten: no init needed).
 *          st:         the device state. u keeps this pointer (not a copy) until
 *                      ul_client_update_accept or ul_client_update_abort: the caller keeps st
 *                      alive and unchanged until then.
 * In:      ns, ns_len: the component's namespace (copied into u).
 *          class_sk32: NULL, or the 32-byte class secret (copied into u; the copy is wiped once
 *                      used, on failure, and by accept or abort).
 *          now_ms, max_age_ms: as above.
 */
UL_WUR ul_err ul_client_update_begin(ul_update *u, const ul_device_state *st, const uint8_t *ns,
                                     size_t ns_len, const uint8_t *class_sk32, uint64_t now_ms,
                                     uint64_t max_age_ms);

/* Feeds the next bytes of the proof bundle, in chunks of any size (0 allowed). Each section is
 * checked as soon as it is complete, in this order: validator-set steps from the trusted set
 * (UL_E_VALSET_GAP when a step's or the final header's validators_hash is not the trusted set);
 * each header's commit (UL_E_VALIDATOR for voters that do not hash to the header's set, are not
 * in ascending key order or repeat; UL_E_SIG; UL_E_QUORUM at no more than 2/3 of the power);
 * the final header's height against st (UL_E_HEADER_OLD, UL_E_HEADER_CONFLICT) and time
 * (UL_E_FUTURE, UL_E_STALE); the release's signatures (UL_E_SIG); its inclusion in the header's
 * release log (UL_E_MERKLE_RANGE for another tree size, UL_E_MERKLE_PROOF); the two state proofs
 * against the
 * header's state root (UL_E_MERKLE_PROOF). Bytes past the last section are UL_E_CBOR_TRAILING.
 * A section that does not decode gets its decoder's error; one out of order (or more siblings
 * than the bitmap calls for) UL_E_SCHEMA_FIELD; headers not in ascending height UL_E_HEIGHT; a
 * leaf of another kind than publish UL_E_TX_KIND.
 *
 * Returns: UL_OK while everything so far checks, else the first failure (it sticks);
 *          UL_E_ARG when u is NULL or in is NULL with a length; UL_E_SEQUENCE_CALL when not
 *          after ul_client_update_begin.
 * Args:    u:       the update context.
 * In:      in, len: the next bundle bytes (read during the call only: in may be reused).
 */
UL_WUR ul_err ul_client_bundle_update(ul_update *u, const uint8_t *in, size_t len);

/* Ends the bundle: UL_E_TRUNCATED if sections are missing; then the release itself, in order:
 * UL_E_NAMESPACE, UL_E_HW_MISMATCH (the device's class is not in the record), UL_E_REVOKED,
 * UL_E_NOT_INSTALLABLE (not the newest installable release for the device's namespace and
 * class: unapproved, superseded or revoked), UL_E_ROLLBACK (sequence not above the installed
 * one), UL_E_DEPENDENCY (a dependency not installed or not satisfied). On UL_OK the image is
 * next.
 *
 * Returns: UL_OK; the verdicts above, or an earlier failure (it sticks); UL_E_ARG when u is
 *          NULL; UL_E_SEQUENCE_CALL when not after ul_client_bundle_update.
 * Args:    u:    the update context.
 * Out:     info: NULL, or what the bundle says about the release (a copy; written on UL_OK only).
 */
UL_WUR ul_err ul_client_bundle_final(ul_update *u, ul_release_info *info);

/* After ul_client_bundle_final returned UL_E_ROLLBACK: whether the bundle's release is the one
 * the device has installed (the same sequence in the same namespace, with the same digest when
 * the device knows it), proven installable at a header that passed every check: the device is up
 * to date, and nothing is to be installed. False for an older release, after any other error, or
 * when nothing is installed.
 *
 * Returns: true when the bundle proved the installed release; false otherwise (u NULL included).
 * In:      u:    the update context (not changed).
 * Out:     info: NULL, or the release's description (a copy; written on true only).
 */
bool ul_client_update_current(const ul_update *u, ul_release_info *info);

/* Receives verified-so-far image bytes (plaintext for an encrypted image) to write to the
 * inactive slot; return non-zero to abort (UL_E_IO). Nothing is accepted until image_final. */
typedef int (*ul_sink)(void *arg, const uint8_t *p, size_t n);

/* Feeds the next bytes of the image file, in chunks of any size. UL_E_SIZE as soon as more
 * bytes arrive than the record's size; UL_E_DECRYPT for a chunk that does not authenticate.
 *
 * Returns: UL_OK while the image so far checks, else the first failure (it sticks); UL_E_IO when
 *          sink returned non-zero; UL_E_ARG when u is NULL or in is NULL with a length;
 *          UL_E_SEQUENCE_CALL when not after a successful ul_client_bundle_final.
 * Args:    u:         the update context.
 * In:      in, len:   the next image bytes (read during the call only: in may be reused).
 *          sink, arg: NULL, or the function given the image bytes (and arg, passed through and
 *                     never read), during the call only.
 */
UL_WUR ul_err ul_client_image_update(ul_update *u, const uint8_t *in, size_t len, ul_sink sink,
                                     void *arg);

/* Ends the image: UL_E_SIZE when shorter than recorded, UL_E_DIGEST when its SHA-256 differs,
 * UL_E_DECRYPT when the stream did not end with its final authenticated chunk.
 *
 * Returns: UL_OK when the whole image is the recorded one (then ul_client_update_accept); the
 *          verdicts above or an earlier failure (it sticks); UL_E_IO when sink returned non-zero;
 *          UL_E_ARG when u is NULL; UL_E_SEQUENCE_CALL out of sequence.
 * Args:    u:         the update context.
 * In:      sink, arg: as for ul_client_image_update (given the last plaintext, if any).
 */
UL_WUR ul_err ul_client_image_final(ul_update *u, ul_sink sink, void *arg);

/* After image_final returned UL_OK: stages the release in st (the same state given to begin):
 * the inactive slot of the component now holds it and becomes active in trial (boots 0); the
 * accepted header becomes st's height, header hash and trusted set (its next set). Wipes u.
 *
 * Returns: UL_OK; an earlier failure of u (it sticks); UL_E_ARG when u is NULL;
 *          UL_E_SEQUENCE_CALL when the image was not accepted or st is not the state given to
 *          begin. st is unchanged on every failure.
 * Args:    u:  the update context (wiped on UL_OK; the caller may then reuse or drop it).
 *          st: the device state (the caller stores it back after UL_OK).
 */
UL_WUR ul_err ul_client_update_accept(ul_update *u, ul_device_state *st);

/* Abandons an update and wipes all of u (its secrets included). Safe on any u, NULL included.
 *
 * Args: u: the update context; after this it holds nothing and may be reused or dropped.
 */
void ul_client_update_abort(ul_update *u);

/* Returns: the slot (0/1) an update of ns will be written to: the one not active (0 for a new
 *          component).
 * In:      st:         the device state.
 *          ns, ns_len: the namespace.
 */
uint64_t ul_client_update_slot(const ul_device_state *st, const uint8_t *ns, size_t ns_len)
    UL_NONNULL(1);

/* Verifies a whole bundle held in memory: begin, one update, final. For nodes and tools. No
 * clock (no time check) and no class secret.
 *
 * Returns: UL_OK; the first failure of ul_client_update_begin, ul_client_bundle_update or
 *          ul_client_bundle_final.
 * Args:    u:           the update context (as ul_client_update_begin: u keeps st).
 * Out:     info:        NULL, or the release's description (on UL_OK only).
 * In:      st:          the device state.
 *          ns, ns_len:  the component's namespace.
 *          bundle, len: the whole bundle.
 */
UL_WUR ul_err ul_client_bundle_verify(ul_update *u, ul_release_info *info,
                                      const ul_device_state *st, const uint8_t *ns, size_t ns_len,
                                      const uint8_t *bundle, size_t len);

_Static_assert(sizeof(ul_update) <= UL_MAX_UPDATE_CTX_BYTES, "the update context stays small");

#ifdef __cplusplus
}
#endif

#endif
