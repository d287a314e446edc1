/* upledger records: types and canonical CBOR encode/decode into caller buffers.
 *
 * Rules for every function in this header (written once, as LevelDB's c.h does):
 * - Nothing allocates. Decoded records hold ul_span views into the input buffer, which must
 *   outlive the record; arrays are decoded into fixed arrays sized by ul_limits.h or into
 *   caller arrays passed with their capacity.
 * - Encoders write canonical CBOR (RFC 8949 section 4.2.1: shortest integer forms, definite
 *   lengths, integer map keys in ascending order) into out[0..cap) and set *out_len; on
 *   UL_E_BUFFER nothing useful is in out. They validate the record first (same rules as the
 *   decoders) and return the decoder's error for an invalid one.
 * - Decoders accept exactly one canonical item filling the whole input: anything else is
 *   UL_E_CBOR_MALFORMED, UL_E_CBOR_NONCANONICAL (valid CBOR, not the canonical form),
 *   UL_E_CBOR_TYPE, UL_E_CBOR_TRAILING, UL_E_SCHEMA_FIELD (missing, unknown, duplicate or
 *   out-of-range field) or UL_E_LIMIT (a bound of ul_limits.h). On failure *out is unspecified.
 * - Re-encoding a decoded record yields the input bytes exactly; signatures and hashes are
 *   always over those canonical bytes.
 * - So, in the Returns / Out / In terms of client/ul_client.h, an encoder X_encode(out, cap,
 *   out_len, r) is
 *     Returns: UL_OK; UL_E_BUFFER when cap is too small; the decoder's error for an invalid r.
 *     Out:     out, cap: the buffer and its size (the caller's); out_len: the bytes written.
 *     In:      r: the record (read only).
 *   and a decoder X_decode(out, in, len) is
 *     Returns: UL_OK; the errors above.
 *     Out:     out: the record (caller memory); its ul_spans point into in, which the caller
 *              owns and keeps alive and unchanged while it uses out.
 *     In:      in, len: the encoded bytes.
 *   Functions that differ say so. Every function returning ul_err is UL_WUR (schema/ul_err.h).
 *
 * The CDDL for every record is schema/upledger.cddl; the map keys below follow it.
 */
#ifndef UL_SCHEMA_H
#define UL_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ul_err.h"
#include "ul_limits.h"

#ifdef __cplusplus
extern "C" {
#endif

#define UL_HASH_BYTES 32
#define UL_PUBKEY_BYTES 32 /* BIP-340 x-only public key */
#define UL_SECKEY_BYTES 32
#define UL_SIG_BYTES 64 /* BIP-340 signature */
#define UL_SCHEMA_VERSION 1

/* A view of bytes inside a caller buffer; text spans are UTF-8 and not NUL-terminated. */
typedef struct {
    const uint8_t *ptr;
    size_t len;
} ul_span;

/* Builds a span over a NUL-terminated string (for encoders). */
ul_span ul_span_str(const char *s);
/* Returns: true when the span's bytes equal the NUL-terminated string s. */
bool ul_span_eq_str(ul_span a, const char *s);
/* Returns: true when both spans hold the same bytes. */
bool ul_span_eq(ul_span a, ul_span b);

/* ---- Release record (the body of a publish transaction) ---------------------------------- */

typedef enum {
    UL_KIND_SECURITY = 0,
    UL_KIND_FEATURE = 1,
    UL_KIND_BUGFIX = 2,
    UL_KIND_MAINTENANCE = 3,
    UL_KIND_MAX_ = 3
} ul_update_kind;

typedef struct {
    ul_span ns;         /* registered namespace the dependency names */
    ul_span constraint; /* version constraint, e.g. ">=1.2.0" */
} ul_dep;

typedef struct {
    ul_span hw;     /* hardware class this key is for */
    ul_span sealed; /* crypto_box_seal of the 32-byte content key: UL_SEALED_KEY_BYTES */
} ul_wrapped_key;

/* Encrypted image: the file on the mirror (whose digest and size the record carries) is a
 * secretstream XChaCha20-Poly1305 header (24 bytes) followed by chunks of `chunk` plaintext bytes
 * plus 17 bytes each (the last may be shorter and carries TAG_FINAL). */
#define UL_ENC_SECRETSTREAM 1
typedef struct {
    uint64_t alg;   /* UL_ENC_SECRETSTREAM */
    uint64_t chunk; /* plaintext bytes per secretstream chunk, 1..UL_MAX_ENC_CHUNK */
    size_t n_keys;
    ul_wrapped_key keys[UL_MAX_WRAPPED_KEYS];
} ul_enc_info;

/* CBOR map:
 *  1 ns tstr, 2 provider tstr, 3 time uint (unix seconds), 4 version tstr, 5 seq uint,
 *  6 digest bstr(32), 7 size uint, 8 file tstr, 9 links [* tstr], 10 hw [+ tstr],
 *  11 deps [* [ns, constraint]], 12 kind uint, ?13 precursor bstr(32), ?14 enc map
 * Namespaces match "vendor/product" ([a-z0-9._-]+ each side, lower case); labels are 1..
 * UL_MAX_LABEL_LEN printable ASCII bytes; hw classes are unique within a record. */
typedef struct {
    ul_span ns;
    ul_span provider;
    uint64_t time;
    ul_span version;
    uint64_t seq;
    uint8_t digest[UL_HASH_BYTES];
    uint64_t size;
    ul_span file;
    size_t n_links;
    ul_span links[UL_MAX_LINKS];
    size_t n_hw;
    ul_span hw[UL_MAX_HW];
    size_t n_deps;
    ul_dep deps[UL_MAX_DEPS];
    uint64_t kind; /* ul_update_kind */
    bool has_precursor;
    uint8_t precursor[UL_HASH_BYTES];
    bool has_enc;
    ul_enc_info enc;
} ul_release;

UL_WUR ul_err ul_schema_release_encode(uint8_t *out, size_t cap, size_t *out_len,
                                       const ul_release *r);
UL_WUR ul_err ul_schema_release_decode(ul_release *out, const uint8_t *in, size_t len);

/* Returns: UL_OK when s is a valid namespace, UL_E_NS_NAME otherwise.
 * In:      s: the namespace bytes (a NULL s.ptr is UL_E_NS_NAME).
 */
UL_WUR ul_err ul_schema_ns_check(ul_span s);

/* ---- Namespace policy (the contract) ----------------------------------------------------- */

/* A key set with a threshold. CBOR map: 1 keys [+ bstr(32)] sorted, unique, <= UL_MAX_KEYS;
 * 2 threshold uint, 1..number of keys. */
typedef struct {
    size_t n;
    uint8_t keys[UL_MAX_KEYS][UL_PUBKEY_BYTES];
    uint64_t threshold;
} ul_keyset;

/* A named co-signer role. CBOR map: 1 name (label; not "owners" or "publishers"), 2 keyset. */
typedef struct {
    ul_span name;
    ul_keyset keys;
} ul_role;

/* Roles that must approve a release of one update kind before it is installable.
 * CBOR array [kind uint, [+ role name]] (names sorted, unique, each a defined role). */
typedef struct {
    uint64_t kind;
    size_t n;
    ul_span roles[UL_MAX_ROLES];
} ul_requirement;

/* The policy contract of a namespace. CBOR map:
 *  1 owners keyset (policy changes, rotation, transfer), 2 publishers keyset,
 *  3 roles [* role] sorted by name, unique, <= UL_MAX_ROLES,
 *  4 require [* requirement] sorted by kind, unique,
 *  5 hw [* label] allowed hardware classes, sorted, unique (empty: any class),
 *  6 revokers [+ label] sorted, unique: "owners", "publishers" or role names; signatures meeting
 *    the threshold of any one listed set may revoke,
 *  ?7 eos uint: end of support (unix seconds); from then on validators holding more than 2/3 of
 *    the voting power may transfer the namespace; before it only the owners may. */
typedef struct {
    ul_keyset owners;
    ul_keyset publishers;
    size_t n_roles;
    ul_role roles[UL_MAX_ROLES];
    size_t n_require;
    ul_requirement require[UL_KIND_MAX_ + 1];
    size_t n_hw;
    ul_span hw[UL_MAX_HW];
    size_t n_revokers;
    ul_span revokers[UL_MAX_ROLES + 2];
    bool has_eos;
    uint64_t eos;
} ul_policy;

UL_WUR ul_err ul_schema_policy_encode(uint8_t *out, size_t cap, size_t *out_len,
                                      const ul_policy *p);
/* Also checks consistency: thresholds within their key sets, required and revoker names defined
 * (UL_E_POLICY otherwise). */
UL_WUR ul_err ul_schema_policy_decode(ul_policy *out, const uint8_t *in, size_t len);

/* ---- Register-namespace body ------------------------------------------------------------ */

/* CBOR map: 1 ns tstr, 2 nonce uint, 3 policy (embedded map). Signed by owners of the new
 * policy meeting its owner threshold. */
typedef struct {
    ul_span ns;
    uint64_t nonce;
    ul_policy policy;
} ul_register;

UL_WUR ul_err ul_schema_register_encode(uint8_t *out, size_t cap, size_t *out_len,
                                        const ul_register *r);
UL_WUR ul_err ul_schema_register_decode(ul_register *out, const uint8_t *in, size_t len);

/* ---- Signed transaction ---------------------------------------------------------------- */

typedef enum {
    UL_TX_REGISTER = 1,
    UL_TX_PUBLISH = 2,
    UL_TX_SET_POLICY = 3,
    UL_TX_APPROVE = 4,
    UL_TX_REVOKE = 5,
    UL_TX_ROTATE = 6,
    UL_TX_TRANSFER = 7,
    UL_TX_VALSET = 8,
    UL_TX_EVIDENCE = 9,
    UL_TX_KIND_MAX_ = 9
} ul_tx_kind;

/* Set policy. CBOR map: 1 ns, 2 nonce, 3 policy. Signed by the current owners (threshold). */
typedef struct {
    ul_span ns;
    uint64_t nonce;
    ul_policy policy;
} ul_set_policy;

/* Approve (co-sign). CBOR map: 1 release id bstr(32), 2 role label, 3 nonce. Signed by keys of
 * that role; approvals accumulate across transactions, each key counted once. */
typedef struct {
    uint8_t release[UL_HASH_BYTES];
    ul_span role;
    uint64_t nonce;
} ul_approve;

/* Revoke. CBOR map: 1 release id bstr(32), 2 reason label, 3 nonce. Signed by a revoker set. */
typedef struct {
    uint8_t release[UL_HASH_BYTES];
    ul_span reason;
    uint64_t nonce;
} ul_revoke;

/* Rotate keys. CBOR map: 1 ns, 2 nonce, 3 target label ("owners", "publishers" or a role name),
 * 4 keyset. Signed by the current owners (threshold). */
typedef struct {
    ul_span ns;
    uint64_t nonce;
    ul_span target;
    ul_keyset keys;
} ul_rotate;

/* Transfer authority to a successor. CBOR map: 1 ns, 2 nonce, 3 owners keyset, 4 publishers
 * keyset. Signed (domain UL_DOMAIN_TRANSFER) by the current owners (threshold) before the end of
 * support, or by validators holding more than 2/3 of the voting power from it on. */
typedef struct {
    ul_span ns;
    uint64_t nonce;
    ul_keyset owners;
    ul_keyset publishers;
} ul_transfer;

/* Approvals recorded for one release: for each role, the keys that approved (sorted). */
typedef struct {
    ul_span role;
    size_t n;
    uint8_t keys[UL_MAX_KEYS][UL_PUBKEY_BYTES];
} ul_role_approvals;

typedef struct {
    size_t n;
    ul_role_approvals roles[UL_MAX_ROLES];
} ul_approvals;

/* State value of a release's approvals: CBOR [* [role label, [+ bstr(32)]]] sorted by role,
 * keys sorted and unique. */
UL_WUR ul_err ul_schema_approvals_encode(uint8_t *out, size_t cap, size_t *out_len,
                                         const ul_approvals *a);
UL_WUR ul_err ul_schema_approvals_decode(ul_approvals *out, const uint8_t *in, size_t len);

UL_WUR ul_err ul_schema_set_policy_encode(uint8_t *out, size_t cap, size_t *out_len,
                                          const ul_set_policy *v);
UL_WUR ul_err ul_schema_set_policy_decode(ul_set_policy *out, const uint8_t *in, size_t len);
UL_WUR ul_err ul_schema_approve_encode(uint8_t *out, size_t cap, size_t *out_len,
                                       const ul_approve *v);
UL_WUR ul_err ul_schema_approve_decode(ul_approve *out, const uint8_t *in, size_t len);
UL_WUR ul_err ul_schema_revoke_encode(uint8_t *out, size_t cap, size_t *out_len,
                                      const ul_revoke *v);
UL_WUR ul_err ul_schema_revoke_decode(ul_revoke *out, const uint8_t *in, size_t len);
UL_WUR ul_err ul_schema_rotate_encode(uint8_t *out, size_t cap, size_t *out_len,
                                      const ul_rotate *v);
UL_WUR ul_err ul_schema_rotate_decode(ul_rotate *out, const uint8_t *in, size_t len);
UL_WUR ul_err ul_schema_transfer_encode(uint8_t *out, size_t cap, size_t *out_len,
                                        const ul_transfer *v);
UL_WUR ul_err ul_schema_transfer_decode(ul_transfer *out, const uint8_t *in, size_t len);

typedef struct {
    uint8_t pubkey[UL_PUBKEY_BYTES];
    uint8_t sig[UL_SIG_BYTES];
} ul_sig;

/* CBOR map: 1 kind uint, 2 body (the kind's map, embedded), 3 sigs [+ [bstr(32), bstr(64)]].
 * Signatures are sorted by public key, one per key (canonical). Each covers
 * tagged_hash(domain of kind, chain_id || body bytes); see client/ul_client.h. */
typedef struct {
    uint64_t kind; /* ul_tx_kind */
    ul_span body;  /* canonical bytes of the body map */
    size_t n_sigs;
    ul_sig sigs[UL_MAX_SIGS];
} ul_tx;

UL_WUR ul_err ul_schema_tx_encode(uint8_t *out, size_t cap, size_t *out_len, const ul_tx *t);
/* Decodes the envelope and checks that body is a canonical map; it does not decode the body:
 * use the kind's decoder on out->body. */
UL_WUR ul_err ul_schema_tx_decode(ul_tx *out, const uint8_t *in, size_t len);

/* ---- Validator set, genesis ------------------------------------------------------------- */

typedef struct {
    uint8_t pubkey[UL_PUBKEY_BYTES];
    uint64_t power; /* >= 1 */
} ul_validator;

/* CBOR array [+ [bstr(32) key, uint power]], sorted by key, no duplicates, power >= 1,
 * total power <= UL_MAX_TOTAL_POWER, at most UL_MAX_VALIDATORS entries. */
typedef struct {
    size_t n;
    ul_validator v[UL_MAX_VALIDATORS];
} ul_valset;

UL_WUR ul_err ul_schema_valset_encode(uint8_t *out, size_t cap, size_t *out_len,
                                      const ul_valset *s);
UL_WUR ul_err ul_schema_valset_decode(ul_valset *out, const uint8_t *in, size_t len);
/* The canonical bytes of a validator set, in the pieces a streaming verifier hashes: the array
 * head for n (1..UL_MAX_VALIDATORS) members, then each [key, power] (power 1..UL_MAX_TOTAL_POWER)
 * as ul_schema_validator_encode writes it. Concatenated they equal ul_schema_valset_encode. */
UL_WUR ul_err ul_schema_valset_head_encode(uint8_t *out, size_t cap, size_t *out_len, size_t n);
UL_WUR ul_err ul_schema_validator_encode(uint8_t *out, size_t cap, size_t *out_len,
                                         const ul_validator *v);

/* The quorum rule: true when signed_power is more than 2/3 of total (3 x signed > 2 x total),
 * the paper's 2f+1 of a set whose faulty members hold f < total/3; exactly 2/3 is not enough
 * and a zero total is never a quorum. Every commit, bundle, set change and validator transfer
 * is judged by this one function. In: signed_power <= total <= UL_MAX_TOTAL_POWER, as every
 * valid set guarantees (ul_limits.h asserts 3 x UL_MAX_TOTAL_POWER fits in uint64), so neither
 * product overflows. */
static inline bool ul_power_quorum(uint64_t signed_power, uint64_t total)
{
    return total > 0 && 3 * signed_power > 2 * total;
}

/* True when power is more than 1/3 of total (the paper's f+1: at least one correct member);
 * a zero total never is. In: power <= total <= UL_MAX_TOTAL_POWER, so 3 x power fits. */
static inline bool ul_power_over_third(uint64_t power, uint64_t total)
{
    return total > 0 && 3 * power > total;
}

/* ---- State keys (docs/protocol.md section 6) -------------------------------------------- */

/* Every state key is 'S' and a byte naming the entry; the node keeps the value under the key,
 * the state tree under SHA-256 of the whole key. */
enum {
    UL_STATEKEY_PREFIX = 'S',
    UL_STATEKEY_NAMESPACE = 'n',   /* 'S' 'n' ns */
    UL_STATEKEY_NONCE = 'a',       /* 'S' 'a' pubkey(32) */
    UL_STATEKEY_LATEST = 'q',      /* 'S' 'q' ns 0x00 hw: newest published */
    UL_STATEKEY_INSTALLABLE = 'i', /* 'S' 'i' ns 0x00 hw */
    UL_STATEKEY_APPROVALS = 'p',   /* 'S' 'p' release id(32) */
    UL_STATEKEY_REVOCATION = 'v',  /* 'S' 'v' release id(32) */
    UL_STATEKEY_VALSET = 'w',      /* 'S' 'w' */
    UL_STATEKEY_EVIDENCE = 'e',    /* 'S' 'e' accused(32) BE64(height) BE64(round) type(1) */
};
/* The longest state key ('S' 'q' / 'S' 'i' with both labels at their bounds) and the fixed
 * lengths of the others. */
#define UL_STATEKEY_MAX_BYTES (2 + UL_MAX_NS_LEN + 1 + UL_MAX_LABEL_LEN)
#define UL_STATEKEY_ID_BYTES (2 + UL_HASH_BYTES) /* nonce, approvals, revocation */
#define UL_STATEKEY_EVIDENCE_BYTES (2 + UL_PUBKEY_BYTES + 8 + 8 + 1)
_Static_assert(UL_PUBKEY_BYTES == UL_HASH_BYTES &&
                   UL_STATEKEY_EVIDENCE_BYTES <= UL_STATEKEY_MAX_BYTES,
               "every state key fits UL_STATEKEY_MAX_BYTES");

/* Builders, one per family: each writes the key into out[0..cap) and its length into *len.
 * Returns: UL_OK; UL_E_LIMIT when ns is longer than UL_MAX_NS_LEN or hw than UL_MAX_LABEL_LEN;
 * UL_E_BUFFER when the key is longer than cap (*len is 0 on failure). Labels are copied as
 * given: their characters are the caller's to check (the record decoders check them). */
UL_WUR ul_err ul_schema_statekey_ns(uint8_t *out, size_t cap, size_t *len, ul_span ns);
UL_WUR ul_err ul_schema_statekey_nonce(uint8_t *out, size_t cap, size_t *len,
                                       const uint8_t pub32[UL_PUBKEY_BYTES]);
UL_WUR ul_err ul_schema_statekey_latest(uint8_t *out, size_t cap, size_t *len, ul_span ns,
                                        ul_span hw);
UL_WUR ul_err ul_schema_statekey_installable(uint8_t *out, size_t cap, size_t *len, ul_span ns,
                                             ul_span hw);
UL_WUR ul_err ul_schema_statekey_approvals(uint8_t *out, size_t cap, size_t *len,
                                           const uint8_t id32[UL_HASH_BYTES]);
UL_WUR ul_err ul_schema_statekey_revocation(uint8_t *out, size_t cap, size_t *len,
                                            const uint8_t id32[UL_HASH_BYTES]);
UL_WUR ul_err ul_schema_statekey_valset(uint8_t *out, size_t cap, size_t *len);
UL_WUR ul_err ul_schema_statekey_evidence(uint8_t *out, size_t cap, size_t *len,
                                          const uint8_t accused32[UL_PUBKEY_BYTES], uint64_t height,
                                          uint64_t round, uint8_t type);
/* Reads an evidence key back. Returns: UL_OK; UL_E_ARG when k[0..len) is not one. */
UL_WUR ul_err ul_schema_statekey_evidence_read(const uint8_t *k, size_t len,
                                               uint8_t accused32[UL_PUBKEY_BYTES], uint64_t *height,
                                               uint64_t *round, uint8_t *type);

/* Validator-set change (tx kind UL_TX_VALSET, domain UL_DOMAIN_TX). CBOR map: 1 nonce uint,
 * 2 validators (the new set, embedded; the rules of ul_valset). Signed by validators of the
 * current set holding more than 2/3 of its voting power; the new set signs from the next height
 * on. A set breaking a rule of ul_valset (empty, keys unsorted or repeated, zero power, a key not
 * 32 bytes) is UL_E_VALSET_CHANGE; more than UL_MAX_VALIDATORS members or a total power above
 * UL_MAX_TOTAL_POWER is UL_E_LIMIT. */
typedef struct {
    uint64_t nonce;
    ul_valset validators;
} ul_valset_change;

UL_WUR ul_err ul_schema_valset_change_encode(uint8_t *out, size_t cap, size_t *out_len,
                                             const ul_valset_change *v);
UL_WUR ul_err ul_schema_valset_change_decode(ul_valset_change *out, const uint8_t *in, size_t len);

/* CBOR map: 1 version uint (=1), 2 chain name tstr, 3 time uint (unix ms), 4 validators.
 * The chain id is SHA-256 of the canonical genesis bytes. */
typedef struct {
    uint64_t version;
    ul_span name;
    uint64_t time_ms;
    ul_valset validators;
} ul_genesis;

UL_WUR ul_err ul_schema_genesis_encode(uint8_t *out, size_t cap, size_t *out_len,
                                       const ul_genesis *g);
UL_WUR ul_err ul_schema_genesis_decode(ul_genesis *out, const uint8_t *in, size_t len);
/* Checks a genesis as ul_schema_genesis_decode does without keeping its validator set, and sets
 * *validators to the span of the set's canonical bytes (SHA-256 of it is the set's hash). For
 * devices: a ul_valset is 2.6 KB.
 *
 * Returns: UL_OK; a decoder's error (as ul_schema_genesis_decode).
 * Out:     validators: the span of the set's bytes, inside in (valid while in is).
 * In:      in, len:    the genesis file's bytes.
 */
UL_WUR ul_err ul_schema_genesis_validators(ul_span *validators, const uint8_t *in, size_t len);

/* ---- Block header, votes, commit --------------------------------------------------------- */

/* CBOR map: 1 version uint, 2 chain_id bstr(32), 3 height uint (>= 1), 4 time uint (unix ms),
 *  5 prev bstr(32) (the chain id at height 1), 6 tx_root bstr(32), 7 log_root bstr(32),
 *  8 log_size uint, 9 state_root bstr(32), 10 validators_hash bstr(32),
 *  11 next_validators_hash bstr(32), 12 proposer bstr(32).
 * The block hash is SHA-256 of the canonical header bytes. */
typedef struct {
    uint64_t version;
    uint8_t chain_id[UL_HASH_BYTES];
    uint64_t height;
    uint64_t time_ms;
    uint8_t prev[UL_HASH_BYTES];
    uint8_t tx_root[UL_HASH_BYTES];
    uint8_t log_root[UL_HASH_BYTES];
    uint64_t log_size;
    uint8_t state_root[UL_HASH_BYTES];
    uint8_t validators_hash[UL_HASH_BYTES];
    uint8_t next_validators_hash[UL_HASH_BYTES];
    uint8_t proposer[UL_PUBKEY_BYTES];
} ul_header;

UL_WUR ul_err ul_schema_header_encode(uint8_t *out, size_t cap, size_t *out_len,
                                      const ul_header *h);
UL_WUR ul_err ul_schema_header_decode(ul_header *out, const uint8_t *in, size_t len);

typedef enum { UL_VOTE_PREVOTE = 1, UL_VOTE_PRECOMMIT = 2 } ul_vote_type;

/* The signed body of a vote. CBOR map: 1 type uint, 2 height uint, 3 round uint,
 * 4 block hash bstr(32) (all zero for a nil vote), 5 time uint (unix ms).
 * Signed as tagged_hash(UL_DOMAIN_VOTE, chain_id || vote bytes). */
typedef struct {
    uint64_t type;
    uint64_t height;
    uint64_t round;
    uint8_t block_hash[UL_HASH_BYTES];
    uint64_t time_ms;
} ul_vote;

UL_WUR ul_err ul_schema_vote_encode(uint8_t *out, size_t cap, size_t *out_len, const ul_vote *v);
UL_WUR ul_err ul_schema_vote_decode(ul_vote *out, const uint8_t *in, size_t len);

typedef struct {
    uint64_t index; /* position in the validator set that signed */
    uint64_t time_ms;
    uint8_t sig[UL_SIG_BYTES];
} ul_commit_sig;

/* CBOR map: 1 height uint, 2 round uint, 3 block hash bstr(32),
 *  4 sigs [+ [uint index, uint time, bstr(64) sig]] with strictly ascending indexes.
 * Each sig is a precommit vote {type 2, height, round, hash, time} by validator `index`. */
typedef struct {
    uint64_t height;
    uint64_t round;
    uint8_t block_hash[UL_HASH_BYTES];
    size_t n_sigs;
    ul_commit_sig sigs[UL_MAX_VALIDATORS];
} ul_commit;

UL_WUR ul_err ul_schema_commit_encode(uint8_t *out, size_t cap, size_t *out_len,
                                      const ul_commit *c);
UL_WUR ul_err ul_schema_commit_decode(ul_commit *out, const uint8_t *in, size_t len);

/* Equivocation evidence (tx kind UL_TX_EVIDENCE, domain UL_DOMAIN_TX): two votes signed by one
 * validator that conflict. CBOR map: 1 nonce uint, 2 validator bstr(32) (the accused),
 * 3 vote A bstr (canonical vote bytes, 1..UL_MAX_VOTE_BYTES), 4 sig A bstr(64), 5 vote B bstr,
 * 6 sig B bstr(64). The decoder also decodes both votes (a vote's own decoder errors; a vote bstr
 * longer than UL_MAX_VOTE_BYTES is UL_E_LIMIT) into a and b, and requires vote A's block hash to
 * sort strictly below vote B's, so one equivocation has one encoding: the reverse order is
 * UL_E_SCHEMA_FIELD, equal hashes (no conflict at all) UL_E_EVIDENCE. Whether the votes share a
 * type, height and round, and whose they are, is for the ledger to judge (ledger/evidence.c).
 * The encoder reads vote_a and vote_b (not a and b). Signed by one validator of the current set
 * (the reporter). */
typedef struct {
    uint64_t nonce;
    uint8_t validator[UL_PUBKEY_BYTES];
    ul_span vote_a;
    uint8_t sig_a[UL_SIG_BYTES];
    ul_span vote_b;
    uint8_t sig_b[UL_SIG_BYTES];
    ul_vote a; /* decoded from vote_a (decoder output) */
    ul_vote b; /* decoded from vote_b */
} ul_evidence;

UL_WUR ul_err ul_schema_evidence_encode(uint8_t *out, size_t cap, size_t *out_len,
                                        const ul_evidence *v);
UL_WUR ul_err ul_schema_evidence_decode(ul_evidence *out, const uint8_t *in, size_t len);

/* What a validator signs, in the order it may sign them at one height and round. */
typedef enum {
    UL_SIGN_NONE = 0,
    UL_SIGN_PROPOSAL = 1,
    UL_SIGN_PREVOTE = 2,
    UL_SIGN_PRECOMMIT = 3,
} ul_sign_step;

/* A validator's sign state: the last (height, round, step) its key signed, and the block it is
 * locked on at that height (the one it precommitted). upledgerd keeps it in its own file beside
 * the key, never in the chain database (node/README). CBOR map: 1 pubkey bstr(32) (the key it
 * belongs to), 2 height uint, 3 round uint (<= 2^32-1), 4 step uint (ul_sign_step), and, for a
 * lock, 5 lock round uint (<= round) and 6 lock hash bstr(32), both or neither. Height 0 is "no
 * signature yet": round 0, step 0, no lock; step 0 only at height 0. Anything else is
 * UL_E_SCHEMA_FIELD. At most UL_MAX_SIGN_STATE_BYTES. */
typedef struct {
    uint8_t pubkey[UL_PUBKEY_BYTES];
    uint64_t height;
    uint64_t round;
    uint64_t step;
    bool has_lock;
    uint64_t lock_round;
    bool has_lock_hash; /* equals has_lock in a valid state */
    uint8_t lock_hash[UL_HASH_BYTES];
} ul_sign_state;

UL_WUR ul_err ul_schema_sign_state_encode(uint8_t *out, size_t cap, size_t *out_len,
                                          const ul_sign_state *st);
UL_WUR ul_err ul_schema_sign_state_decode(ul_sign_state *out, const uint8_t *in, size_t len);

/* A validator's lock record (node-owned, in its chain database, not synced): the block it
 * precommitted at (height, round), whose hash is hash, with that block's last commit (absent at
 * height 1), so that a validator restarted while locked proposes it again. CBOR map: 1 height,
 * 2 round (<= 2^32-1), 3 hash bstr(32), 4 block (embedded map), ?5 last commit (embedded map).
 * The spans point into the encoded record after a decode. At most UL_MAX_LOCK_RECORD_BYTES. */
typedef struct {
    uint64_t height;
    uint64_t round;
    uint8_t hash[UL_HASH_BYTES];
    ul_span block;
    bool has_last_commit;
    ul_span last_commit;
} ul_lock_record;

UL_WUR ul_err ul_schema_lock_record_encode(uint8_t *out, size_t cap, size_t *out_len,
                                           const ul_lock_record *r);
UL_WUR ul_err ul_schema_lock_record_decode(ul_lock_record *out, const uint8_t *in, size_t len);

/* ---- Block ---------------------------------------------------------------------------------- */

/* CBOR map: 1 header (embedded map), 2 txs [* signed tx] (embedded maps).
 * Decoding validates every tx envelope; it stores spans to each tx in caller array txs[cap]. */
typedef struct {
    ul_span header; /* canonical header bytes */
    size_t n_txs;
    ul_span *txs; /* caller array */
} ul_block;

/* Encodes a block from canonical header bytes and canonical tx bytes (copied verbatim). */
UL_WUR ul_err ul_schema_block_encode(uint8_t *out, size_t cap, size_t *out_len, ul_span header,
                                     const ul_span *txs, size_t n_txs);
/* In: txs is a caller array of cap spans; out->txs is set to it. UL_E_LIMIT if more txs. */
UL_WUR ul_err ul_schema_block_decode(ul_block *out, ul_span *txs, size_t cap, const uint8_t *in,
                                     size_t len);
/* ul_schema_block_decode with each tx checked only as a canonical CBOR map, not decoded as a
 * tx: for a caller that decodes every tx next (execution), so each is decoded once. */
UL_WUR ul_err ul_schema_block_split(ul_block *out, ul_span *txs, size_t cap, const uint8_t *in,
                                    size_t len);
/* Only a block's header (checked as a header), without walking its txs: enough to name a
 * proposal by its hash before executing it, which decodes every tx. The txs are unchecked. */
UL_WUR ul_err ul_schema_block_header(ul_span *header, const uint8_t *in, size_t len);

/* ---- Merkle proofs --------------------------------------------------------------------------- */

/* Inclusion proof. CBOR map: 1 leaf index uint, 2 tree size uint, 3 path [* bstr(32)] (bottom
 * up, RFC 9162 section 2.1.3); index < size; at most UL_MAX_PROOF_DEPTH hashes. */
typedef struct {
    uint64_t index;
    uint64_t size;
    size_t n_path;
    uint8_t path[UL_MAX_PROOF_DEPTH][UL_HASH_BYTES];
} ul_inclusion;

UL_WUR ul_err ul_schema_inclusion_encode(uint8_t *out, size_t cap, size_t *out_len,
                                         const ul_inclusion *p);
UL_WUR ul_err ul_schema_inclusion_decode(ul_inclusion *out, const uint8_t *in, size_t len);

/* Consistency proof. CBOR map: 1 size1 uint, 2 size2 uint, 3 path [* bstr(32)]. */
typedef struct {
    uint64_t size1;
    uint64_t size2;
    size_t n_path;
    uint8_t path[UL_MAX_PROOF_DEPTH][UL_HASH_BYTES];
} ul_consistency;

UL_WUR ul_err ul_schema_consistency_encode(uint8_t *out, size_t cap, size_t *out_len,
                                           const ul_consistency *p);
UL_WUR ul_err ul_schema_consistency_decode(ul_consistency *out, const uint8_t *in, size_t len);

/* ---- Freshness checkpoints (docs/protocol.md section 7.4) ------------------------------- */

/* What each validator signs every freshness interval for its committed head: CBOR map 1 height
 * uint >= 1, 2 header hash bstr(32), 3 time uint (unix ms: the start of the interval). Signed as
 * tagged_hash(UL_DOMAIN_CHECKPOINT, chain_id || these bytes). */
typedef struct {
    uint64_t height;
    uint8_t header_hash[UL_HASH_BYTES];
    uint64_t time_ms;
} ul_checkpoint_vote;

ul_err ul_schema_checkpoint_vote_encode(uint8_t *out, size_t cap, size_t *out_len,
                                        const ul_checkpoint_vote *v);

typedef struct {
    uint64_t index; /* position in the validator set of the header (the set signing its height) */
    uint8_t sig[UL_SIG_BYTES];
} ul_checkpoint_sig;

/* A checkpoint: the statement and the signatures of it. CBOR map 1 height uint >= 1, 2 header
 * hash bstr(32), 3 time uint, 4 sigs [1*64 [index uint, sig bstr(64)]] with strictly ascending
 * indexes below UL_MAX_VALIDATORS. A node keeps the newest one holding a quorum; a validator
 * gossips its own signature as a checkpoint with one entry (UL_PEER_CHECKPOINT). */
typedef struct {
    ul_checkpoint_vote v;
    size_t n_sigs;
    ul_checkpoint_sig sigs[UL_MAX_VALIDATORS];
} ul_checkpoint;

ul_err ul_schema_checkpoint_encode(uint8_t *out, size_t cap, size_t *out_len,
                                   const ul_checkpoint *c);
ul_err ul_schema_checkpoint_decode(ul_checkpoint *out, const uint8_t *in, size_t len);

/* ---- Proof bundles (version 2): a stream of sections ------------------------------------- */

/* A proof bundle is everything a device needs to trust one release for one hardware class, from
 * any mirror. It is a CBOR sequence (RFC 8742) of sections; each section is a byte string whose
 * content is one canonical array [type, ...] (CDDL: section = bstr .cbor [...]), so a device
 * reading chunks of any size buffers one section (<= UL_MAX_SECTION_BYTES) at a time. Order:
 *
 *   BEGIN                      [0, version 2, chain_id bstr(32), n_steps uint]
 *   n_steps + 1 times:
 *     HEADER                   [1, header (embedded map), round uint, n_voters uint]
 *     n_voters times VOTER     [2, key bstr(32), power uint]                  (did not sign)
 *                           or [2, key bstr(32), power uint, time uint, sig bstr(64)]
 *   (the last HEADER may instead be CHECKPOINT [8, header, time uint, n_voters uint], whose
 *    signing voters carry that time and a signature of the checkpoint {height, header hash,
 *    time} under UL_DOMAIN_CHECKPOINT instead of a precommit: docs/protocol.md section 9)
 *   LEAF                       [3, kind uint (2), body (embedded release map), n_sigs uint]
 *   n_sigs times SIG           [4, pubkey bstr(32), sig bstr(64)]
 *   INCLUSION                  [5, leaf index uint, tree size uint, [* bstr(32)] path bottom up]
 *   STATE (installable list)   [6, 1, depth uint, bitmap bstr, terminal, hw tstr]
 *   SIBLINGS ...               [7, [+ bstr(32)]]   bottom up, popcount(bitmap) hashes in all
 *   STATE (revocation)         [6, 2, depth uint, bitmap bstr, terminal]
 *   SIBLINGS ...
 *
 * The first n_steps headers are validator-set changes (next_validators_hash differs from
 * validators_hash), in ascending height; the last header is the one the proofs are against.
 * Each header's commit is given as its validator set, in set order (sorted by key), with the
 * precommit time and signature of those that signed: the device hashes the voters into the
 * set's hash and checks each signature as it arrives, so it never holds a set or a commit.
 * The leaf is the publish transaction, split so that no section holds more than the record; its
 * canonical bytes are map(3) {1: kind, 2: body, 3: [n_sigs x [pubkey, sig]]}.
 * A state proof (see ul_state_proof) has its bitmap (ceil(depth/8) bytes) and terminal:
 * bstr (membership: the value's bytes, whose hash is the leaf's value hash), null (the path
 * ends in an empty subtree) or [key bstr(32), value hash bstr(32)] (it ends in another key's
 * leaf); its siblings follow bottom up (deepest first), at most UL_MAX_SIBLINGS_PER_SECTION per
 * SIBLINGS section. The installable proof names its hardware class, so that a device of a class
 * the release does not support learns exactly that (UL_E_HW_MISMATCH) from a genuine bundle of
 * another class rather than a bare proof failure. State keys: installable = SHA-256("Si" ns 0x00
 * hw), revocation = SHA-256("Sv" release id); the installable value is (seq 8 BE, release id 32)
 * entries, newest first. */
#define UL_BUNDLE_VERSION 2

typedef enum {
    UL_SEC_BEGIN = 0,
    UL_SEC_HEADER = 1,
    UL_SEC_VOTER = 2,
    UL_SEC_LEAF = 3,
    UL_SEC_SIG = 4,
    UL_SEC_INCLUSION = 5,
    UL_SEC_STATE = 6,
    UL_SEC_SIBLINGS = 7,
    UL_SEC_CHECKPOINT = 8, /* in place of the last HEADER: its voters sign a checkpoint */
    UL_SEC_MAX_ = 8
} ul_section_type;

typedef enum { UL_PROOF_INSTALLABLE = 1, UL_PROOF_REVOCATION = 2 } ul_proof_kind;

typedef enum {
    UL_TERM_EMPTY = 0, /* null */
    UL_TERM_VALUE = 1, /* bstr: membership, value bytes in `value` */
    UL_TERM_LEAF = 2   /* [key, value hash]: another key's leaf */
} ul_terminal;

/* Hash lists (inclusion path, siblings) are spans over the array's content: n hashes at a
 * stride of UL_SECTION_HASH_STRIDE bytes (each a canonical bstr(32): 0x58 0x20 + 32 bytes). */
#define UL_SECTION_HASH_STRIDE 34
/* Returns: a pointer to hash i of a list span (the 32 bytes after its two-byte head). */
const uint8_t *ul_section_hash(ul_span list, size_t i);

typedef struct {
    uint64_t type; /* ul_section_type */
    union {
        struct {
            uint64_t version;
            uint8_t chain_id[UL_HASH_BYTES];
            uint64_t n_steps; /* <= UL_MAX_VALSET_STEPS */
        } begin;
        struct {
            ul_span header;    /* canonical header bytes (decode with ul_schema_header_decode) */
            uint64_t round;    /* HEADER: the commit's round (CHECKPOINT: 0) */
            uint64_t time_ms;  /* CHECKPOINT: the checkpoint's time (HEADER: 0) */
            uint64_t n_voters; /* 1..UL_MAX_VALIDATORS */
        } header;
        struct {
            uint8_t key[UL_PUBKEY_BYTES];
            uint64_t power; /* >= 1 */
            bool has_sig;
            uint64_t time_ms;
            uint8_t sig[UL_SIG_BYTES];
        } voter;
        struct {
            uint64_t kind;
            ul_span body;    /* canonical release record bytes */
            uint64_t n_sigs; /* 1..UL_MAX_SIGS */
        } leaf;
        ul_sig sig;
        struct {
            uint64_t index;
            uint64_t size; /* index < size */
            ul_span path;  /* n_path hashes, stride UL_SECTION_HASH_STRIDE */
            size_t n_path; /* <= UL_MAX_PROOF_DEPTH */
        } inclusion;
        struct {
            uint64_t which;                    /* ul_proof_kind */
            uint64_t depth;                    /* 0..UL_SMT_DEPTH */
            uint8_t bitmap[32];                /* ceil(depth/8) bytes as sent, zero beyond */
            uint64_t terminal;                 /* ul_terminal */
            ul_span value;                     /* UL_TERM_VALUE: <= UL_MAX_STATE_VALUE_BYTES */
            uint8_t leaf_key[UL_HASH_BYTES];   /* UL_TERM_LEAF */
            uint8_t leaf_value[UL_HASH_BYTES]; /* UL_TERM_LEAF */
            ul_span hw; /* UL_PROOF_INSTALLABLE: the hardware class the list is for */
        } state;
        struct {
            ul_span hashes; /* n hashes, stride UL_SECTION_HASH_STRIDE */
            size_t n;       /* 1..UL_MAX_SIBLINGS_PER_SECTION */
        } siblings;
    } u;
} ul_section;

/* Encodes one section, wrapped in its byte string, into out. For hash lists the encoder reads
 * n 32-byte hashes from `hashes` (inclusion path, siblings) instead of the spans above. */
UL_WUR ul_err ul_schema_section_encode(uint8_t *out, size_t cap, size_t *out_len,
                                       const ul_section *s, const uint8_t (*hashes)[UL_HASH_BYTES]);
/* Decodes the content of one section's byte string (the array, without the bstr head).
 * Sections larger than UL_MAX_SECTION_BYTES are UL_E_LIMIT; an unknown type UL_E_SCHEMA_FIELD.
 *
 * Returns: UL_OK; a decoder's error.
 * Out:     out:     the section; its spans (hash lists included) point into in.
 * In:      in, len: the section's body.
 */
UL_WUR ul_err ul_schema_section_decode(ul_section *out, const uint8_t *in, size_t len);
/* Frames the next section of a stream: in[0..len) starts at a section's byte-string head.
 * Returns: UL_OK with *head_len (1..9) and *body_len; UL_E_TRUNCATED when the head is not all
 * there yet (read more); UL_E_CBOR_TYPE when it is not a byte string; UL_E_CBOR_NONCANONICAL for
 * a non-shortest head; UL_E_LIMIT when the body would exceed UL_MAX_SECTION_BYTES.
 * Out:     head_len, body_len: the head's and the body's sizes (on UL_OK).
 * In:      in, len:            the stream bytes so far (the head's first byte onward).
 */
UL_WUR ul_err ul_schema_section_frame(const uint8_t *in, size_t len, size_t *head_len,
                                      uint64_t *body_len);

/* A LEAF section read one item at a time as its bytes stream in (schema/leaf_walk.c), for a
 * device that never holds the release record whole: the same rules and error codes as
 * ul_schema_section_decode and ul_schema_release_decode, except the checks across fields that
 * need bytes already gone, which the caller makes from the events (hardware classes unique,
 * every wrapped key's class listed: due when an event has check set). */
typedef enum {
    UL_LEAF_NONE = 0,       /* an item the device does not need (still checked) */
    UL_LEAF_TYPE,           /* val: the section type (the caller wants UL_SEC_LEAF) */
    UL_LEAF_TX_KIND,        /* val: the transaction kind */
    UL_LEAF_NS,             /* s: the record's namespace */
    UL_LEAF_TIME,           /* val */
    UL_LEAF_VERSION,        /* s */
    UL_LEAF_SEQ,            /* val */
    UL_LEAF_DIGEST,         /* s: 32 bytes */
    UL_LEAF_SIZE,           /* val */
    UL_LEAF_HW,             /* s: one supported hardware class */
    UL_LEAF_DEP_NS,         /* s: a dependency's namespace; its constraint comes next */
    UL_LEAF_DEP_CONSTRAINT, /* s */
    UL_LEAF_KIND,           /* val: the update kind */
    UL_LEAF_ENC,            /* the record has encryption info */
    UL_LEAF_ENC_CHUNK,      /* val: plaintext bytes per secretstream chunk */
    UL_LEAF_KEY_HW,         /* s: a wrapped key's class; its sealed key comes next */
    UL_LEAF_KEY_SEALED,     /* s: UL_SEALED_KEY_BYTES */
    UL_LEAF_N_SIGS,         /* val: the signatures that follow, 1..UL_MAX_SIGS */
    /* ul_schema_hashes_walk: INCLUSION and SIBLINGS sections (after UL_LEAF_TYPE) */
    UL_LEAF_INDEX,     /* val: the leaf index (INCLUSION) */
    UL_LEAF_TREE_SIZE, /* val: the tree size, above the index (INCLUSION) */
    UL_LEAF_HASHES,    /* val: the hashes that follow */
    UL_LEAF_HASH       /* s: one path or sibling hash, 32 bytes */
} ul_leaf_what;

typedef struct {
    uint64_t what; /* ul_leaf_what */
    size_t size;   /* bytes of the item (head and payload) */
    bool record;   /* the item is part of the release record (its bytes are the record's) */
    bool check;    /* the record ended: the caller's cross-field checks are due */
    uint64_t val;  /* unsigned values */
    ul_span s;     /* strings: into the bytes given */
} ul_leaf_event;

/* Private: where the walk is. */
typedef struct {
    uint64_t at, n_items, left, list_left, key, enc_left, enc_key, kind, alg, chunk;
    uint32_t seen, enc_seen;
    bool have_last, enc_have_last;
    bool done; /* the section's last item was read */
    size_t record_bytes;
} ul_leaf_walk;

void ul_schema_leaf_walk_init(ul_leaf_walk *w);
/* Reads the next item of the section from p[0..have), the section having avail bytes left from
 * p on (have <= avail).
 * Returns: UL_OK with *ev (ev->size bytes used); UL_E_TRUNCATED with *need, the bytes the item
 *          takes, when have is short of them (give them again with more); UL_E_CBOR_TRAILING
 *          for bytes after the section's last item; a decoding error (the walk is then over).
 */
UL_WUR ul_err ul_schema_leaf_walk(ul_leaf_walk *w, ul_leaf_event *ev, const uint8_t *p, size_t have,
                                  size_t avail, size_t *need);
/* The same for an INCLUSION or a SIBLINGS section (ul_schema_leaf_walk_init first): a device
 * folds each hash as it arrives rather than hold up to 64 of them. */
UL_WUR ul_err ul_schema_hashes_walk(ul_leaf_walk *w, ul_leaf_event *ev, const uint8_t *p,
                                    size_t have, size_t avail, size_t *need);

/* The canonical bytes of a signed transaction, in the pieces a streaming verifier hashes:
 * prefix = map(3), 1, kind, 2 (then the body bytes), middle = 3, array(n_sigs) (then each
 * signature as ul_schema_tx_sig_encode writes it). Concatenated they equal ul_schema_tx_encode. */
UL_WUR ul_err ul_schema_tx_prefix_encode(uint8_t *out, size_t cap, size_t *out_len, uint64_t kind);
UL_WUR ul_err ul_schema_tx_middle_encode(uint8_t *out, size_t cap, size_t *out_len, size_t n_sigs);
UL_WUR ul_err ul_schema_tx_sig_encode(uint8_t *out, size_t cap, size_t *out_len, const ul_sig *s);

/* ---- State proofs (sparse Merkle tree over chain state) ---------------------------------- */

/* The chain state is a map from 32-byte keys (SHA-256 of a state key) to 32-byte value hashes
 * (SHA-256 of the state value), committed by a compressed sparse Merkle tree whose root is the
 * header's state_root (see client/ul_client.h for the hashing rules). A proof walks from the
 * root along the key's bits to the first empty subtree or single-leaf subtree.
 * CBOR map: 1 depth uint (0..256), 2 bitmap bstr (ceil(depth/8) bytes; bit i, most significant
 *  bit first, set when sibling i counting from the root is non-empty), 3 [* bstr(32)] the
 *  non-empty siblings from the root down, ?4 [bstr(32) key, bstr(32) value hash] the leaf that
 *  ends the path (absent: the path ends in an empty subtree).
 * Canonical: bitmap bits past depth are zero; the number of siblings equals the bits set. */
#define UL_SMT_DEPTH 256
typedef struct {
    uint64_t depth;
    uint8_t bitmap[UL_SMT_DEPTH / 8];
    size_t n_siblings;
    uint8_t siblings[UL_SMT_DEPTH][UL_HASH_BYTES];
    bool has_leaf;
    uint8_t leaf_key[UL_HASH_BYTES];
    uint8_t leaf_value[UL_HASH_BYTES];
} ul_state_proof;

UL_WUR ul_err ul_schema_state_proof_encode(uint8_t *out, size_t cap, size_t *out_len,
                                           const ul_state_proof *p);
UL_WUR ul_err ul_schema_state_proof_decode(ul_state_proof *out, const uint8_t *in, size_t len);

/* ---- Device state (what a device persists between updates) ------------------------------- */

/* One slot of a component's A/B pair: what it holds. seq 0: empty (or unknown factory image). */
typedef struct {
    uint64_t seq;
    uint8_t digest[UL_HASH_BYTES];
    uint64_t size;
    size_t version_len; /* 0: no version known */
    uint8_t version[UL_MAX_LABEL_LEN];
} ul_slot;

/* A component (one namespace the device runs) with its A/B slots. The device runs slot
 * `active`; while `trial` is set, that slot holds an update not yet confirmed and the other slot
 * is the fallback. The installed (confirmed) release is slot[trial ? 1 - active : active]; it is
 * what anti-rollback and dependency checks compare against. boots counts starts in trial. */
typedef struct {
    size_t ns_len;
    uint8_t ns[UL_MAX_NS_LEN];
    uint64_t active; /* 0 or 1 */
    bool trial;
    uint64_t boots;
    ul_slot slot[2];
} ul_component;

/* CBOR map: 1 version uint (1), 2 chain_id bstr(32), 3 valset_hash bstr(32), 4 height uint,
 *  5 header_hash bstr(32), 6 hw label, 7 [* component] sorted by namespace, unique;
 *  component = [ns, active uint (0/1), trial bool-as-uint (0/1), boots uint, [slot, slot]];
 *  slot = [seq uint, digest bstr(32), size uint, version tstr (empty: unknown)].
 * valset_hash is the set trusted to sign headers above `height` (the next set of the last
 * accepted header); header_hash is zero while height is 0. */
typedef struct {
    uint64_t version;
    uint8_t chain_id[UL_HASH_BYTES];
    uint8_t valset_hash[UL_HASH_BYTES];
    uint64_t height;
    uint8_t header_hash[UL_HASH_BYTES];
    size_t hw_len;
    uint8_t hw[UL_MAX_LABEL_LEN];
    size_t n_components;
    ul_component comp[UL_MAX_COMPONENTS];
} ul_device_state;

/* The device's persisted state, as an encoder and a decoder (see the rules at the top).
 * ul_schema_device_state_encode also returns UL_E_ARG when st or out_len is NULL.
 * ul_schema_device_state_decode copies everything into *out: it keeps no pointer into in. */
UL_WUR ul_err ul_schema_device_state_encode(uint8_t *out, size_t cap, size_t *out_len,
                                            const ul_device_state *st);
UL_WUR ul_err ul_schema_device_state_decode(ul_device_state *out, const uint8_t *in, size_t len);

/* ---- Device reports, tracker replies and summaries (docs/protocol.md "Device reports") ------- */

/* Why a device sent a report. Append only. */
typedef enum {
    UL_REPORT_SCHEDULE = 0, /* periodic (upledger-device report, --report-every) */
    UL_REPORT_START = 1,    /* the device started (a trial start counted) */
    UL_REPORT_UPDATE = 2,   /* an update was attempted (the component's attempt says how it went) */
    UL_REPORT_CONFIRM = 3,  /* a trial was confirmed */
    UL_REPORT_FALLBACK = 4, /* a trial failed and the device went back to the other slot */
    UL_REPORT_REASON_MAX = 4
} ul_report_reason;

/* What a component runs. Append only. */
typedef enum {
    UL_COMP_RUNNING = 0,   /* a confirmed release */
    UL_COMP_TRIAL = 1,     /* an update on trial, not yet confirmed */
    UL_COMP_FELL_BACK = 2, /* its last trial failed: back on the release it ran before */
    UL_COMP_STATE_MAX = 2
} ul_comp_state;

/* One component as a report states it: its namespace, the release it runs (release_id zero and
 * seq 0 when unknown, e.g. a factory image), its state and, when has_attempt, the last update it
 * attempted (the release, the ul_err result: UL_OK = 0 for success, and when, unix seconds). */
typedef struct {
    size_t ns_len;
    uint8_t ns[UL_MAX_NS_LEN];
    uint8_t release_id[UL_HASH_BYTES];
    uint64_t seq;
    uint64_t state; /* ul_comp_state */
    bool has_attempt;
    uint8_t attempt_id[UL_HASH_BYTES];
    uint64_t attempt_result; /* ul_err, <= UL_MAX_REPORT_RESULT */
    uint64_t attempt_time;   /* unix seconds, <= UL_MAX_RELEASE_TIME */
} ul_report_component;

/* A device report (CBOR map):
 *   1 version uint (1), 2 device pubkey bstr(32), 3 tracker pubkey bstr(32), 4 counter uint >= 1,
 *   5 time uint (unix seconds, <= UL_MAX_RELEASE_TIME), 6 reason uint (0..UL_REPORT_REASON_MAX),
 *   7 hw label, 8 height uint, 9 header_hash bstr(32) (zero while height is 0),
 *   10 [* component] 0..UL_MAX_COMPONENTS sorted by namespace (bytes, a prefix first), unique;
 *      component = [ns, release_id bstr(32), seq uint, state uint (0..2), ? attempt], a 4- or
 *      5-element array; attempt = [release_id bstr(32), result uint, time uint];
 *   11 sig bstr(64): BIP-340 by the device key over ul_client_signed_digest(UL_DOMAIN_REPORT,
 *      chain id, the same map without key 11) (client/ul_client.h: ul_client_record_sign).
 * At most UL_MAX_REPORT_BYTES. Decoded fields are copied: *out keeps no pointer into the input. */
typedef struct {
    uint64_t version;
    uint8_t device[UL_PUBKEY_BYTES];
    uint8_t tracker[UL_PUBKEY_BYTES];
    uint64_t counter;
    uint64_t time;
    uint64_t reason; /* ul_report_reason */
    size_t hw_len;
    uint8_t hw[UL_MAX_LABEL_LEN];
    uint64_t height;
    uint8_t header_hash[UL_HASH_BYTES];
    size_t n_components;
    ul_report_component comp[UL_MAX_COMPONENTS];
    uint8_t sig[UL_SIG_BYTES];
} ul_report;

UL_WUR ul_err ul_schema_report_encode(uint8_t *out, size_t cap, size_t *out_len,
                                      const ul_report *r);
UL_WUR ul_err ul_schema_report_decode(ul_report *out, const uint8_t *in, size_t len);

/* A tracker's reply to one report (CBOR map): 1 device pubkey bstr(32) (the reporter),
 * 2 counter uint (the report's), 3 update uint (0: nothing to do, 1: update), ? 4 ns,
 * ? 5 release_id bstr(32) (4 and 5 present exactly when update is 1), 6 sig bstr(64): BIP-340 by
 * the tracker key over ul_client_signed_digest(UL_DOMAIN_REPLY, chain id, the map without key 6).
 * At most UL_MAX_REPLY_BYTES; decoded fields are copied. */
typedef struct {
    uint8_t device[UL_PUBKEY_BYTES];
    uint64_t counter;
    uint64_t update; /* 0 or 1 */
    bool has_ns;
    size_t ns_len;
    uint8_t ns[UL_MAX_NS_LEN];
    bool has_release_id;
    uint8_t release_id[UL_HASH_BYTES];
    uint8_t sig[UL_SIG_BYTES];
} ul_report_reply;

UL_WUR ul_err ul_schema_reply_encode(uint8_t *out, size_t cap, size_t *out_len,
                                     const ul_report_reply *r);
UL_WUR ul_err ul_schema_reply_decode(ul_report_reply *out, const uint8_t *in, size_t len);

/* A device's status for one component, as a tracker classifies it. Append only. */
typedef enum {
    UL_FLEET_UP_TO_DATE = 0,
    UL_FLEET_OUTDATED = 1,   /* a newer installable release exists for its class */
    UL_FLEET_VULNERABLE = 2, /* it runs a revoked release */
    UL_FLEET_FAILING = 3,    /* its last attempt failed or fell back */
    UL_FLEET_SILENT = 4,     /* no report for longer than its group's interval */
    UL_FLEET_UNKNOWN = 5,    /* it runs a release the ledger does not know (or none reported) */
    UL_FLEET_STATUS_MAX = 5
} ul_fleet_status;

/* One count of a summary: devices of class hw running release_id of namespace ns with status. */
typedef struct {
    ul_span ns;
    ul_span hw;
    uint8_t release_id[UL_HASH_BYTES];
    uint64_t status; /* ul_fleet_status */
    uint64_t count;  /* >= 1: a zero count is left out */
} ul_summary_entry;

/* A tracker summary for cascading (CBOR map): 1 from pubkey bstr(32) (the sending tracker), 2 to
 * pubkey bstr(32) (the upstream it is for), 3 counter uint >= 1, 4 time uint (unix seconds,
 * <= UL_MAX_RELEASE_TIME), 5 [* entry] 0..UL_MAX_SUMMARY_ENTRIES strictly ascending by
 * (ns, hw, release_id, status) (ul_schema_summary_entry_cmp); entry = [ns, hw label,
 * release_id bstr(32), status uint (0..UL_FLEET_STATUS_MAX), count uint >= 1]; 6 sig bstr(64):
 * BIP-340 by `from` over ul_client_signed_digest(UL_DOMAIN_SUMMARY, chain id, the map without
 * key 6). No device identities. At most UL_MAX_SUMMARY_BYTES.
 * Encoding reads entries[0..n_entries) (raw is ignored). Decoding checks every entry and leaves
 * entries NULL, n_entries their count and raw the encoded array; ul_schema_summary_entries reads
 * them into a caller array. */
typedef struct {
    uint8_t from[UL_PUBKEY_BYTES];
    uint8_t to[UL_PUBKEY_BYTES];
    uint64_t counter;
    uint64_t time;
    const ul_summary_entry *entries;
    size_t n_entries;
    ul_span raw;
    uint8_t sig[UL_SIG_BYTES];
} ul_summary;

UL_WUR ul_err ul_schema_summary_encode(uint8_t *out, size_t cap, size_t *out_len,
                                       const ul_summary *s);
UL_WUR ul_err ul_schema_summary_decode(ul_summary *out, const uint8_t *in, size_t len);
/* Reads the entries of a decoded summary into out[0..cap): their spans point into the input the
 * summary was decoded from. Returns: UL_OK; UL_E_BUFFER when cap < s->n_entries; UL_E_ARG. */
UL_WUR ul_err ul_schema_summary_entries(const ul_summary *s, ul_summary_entry *out, size_t cap);
/* The order of summary entries (a qsort comparator over ul_summary_entry): ns, then hw (bytes,
 * a prefix before its extensions), then release_id (bytes), then status. */
int ul_schema_summary_entry_cmp(const void *a, const void *b);

/* ---- Query-endpoint messages ------------------------------------------------------------- */

/* Requests and replies on the node's query endpoint are one flat CBOR map with unsigned keys in
 * ascending order. In a request key 0 is the method; in a reply key 0 is the ul_err. Values are
 * unsigned ints, byte strings, text, embedded records (maps), or arrays of embedded records.
 * The largest is a STATUS reply (0, then keys 1..16: chain, peers and the sign state). */
#define UL_MSG_MAX_FIELDS 24

typedef enum { UL_MV_UINT, UL_MV_BYTES, UL_MV_TEXT, UL_MV_ITEM, UL_MV_LIST } ul_mv_type;

typedef struct {
    uint64_t key;
    ul_mv_type type;
    uint64_t u;           /* UL_MV_UINT */
    ul_span s;            /* bytes, text, item; for a decoded list: the whole array */
    const ul_span *items; /* UL_MV_LIST when encoding: n items, each one canonical item */
    size_t n;             /* UL_MV_LIST: item count */
} ul_mfield;

typedef struct {
    size_t n;
    ul_mfield f[UL_MSG_MAX_FIELDS];
} ul_msg;

/* Builders: keys must be added in strictly ascending order (asserted). */
void ul_msg_init(ul_msg *m);
void ul_msg_uint(ul_msg *m, uint64_t key, uint64_t v);
void ul_msg_bytes(ul_msg *m, uint64_t key, const uint8_t *p, size_t n);
void ul_msg_text(ul_msg *m, uint64_t key, ul_span s);
void ul_msg_item(ul_msg *m, uint64_t key, ul_span canonical_item);
void ul_msg_list(ul_msg *m, uint64_t key, const ul_span *items, size_t n);
UL_WUR ul_err ul_msg_encode(uint8_t *out, size_t cap, size_t *out_len, const ul_msg *m);
/* Size that ul_msg_encode will need (an upper bound). */
size_t ul_msg_encoded_max(const ul_msg *m);
/* Decodes a message (UL_MAX_MSG_BYTES at most); spans point into in. */
UL_WUR ul_err ul_msg_decode(ul_msg *m, const uint8_t *in, size_t len);
/* ul_msg_decode that also keeps the spans of list `key`'s elements, in order, in
 * items[0..cap), as the decode checks them: a caller visiting every element need not walk the
 * list again (ul_msg_list_next). Out: *n elements (0 without such a list, or on failure).
 * Returns: UL_E_LIMIT when that list has more than cap elements; else as ul_msg_decode. */
UL_WUR ul_err ul_msg_decode_items(ul_msg *m, const uint8_t *in, size_t len, uint64_t key,
                                  ul_span *items, size_t cap, size_t *n);

/* Getters: UL_E_PROTOCOL when the key is absent or holds another type. */
UL_WUR ul_err ul_msg_get_uint(const ul_msg *m, uint64_t key, uint64_t *v);
UL_WUR ul_err ul_msg_get_bytes(const ul_msg *m, uint64_t key, ul_span *s);
UL_WUR ul_err ul_msg_get_fixed(const ul_msg *m, uint64_t key, uint8_t *out, size_t n);
UL_WUR ul_err ul_msg_get_text(const ul_msg *m, uint64_t key, ul_span *s);
UL_WUR ul_err ul_msg_get_item(const ul_msg *m, uint64_t key, ul_span *s);
/* Lists: *iter starts at 0; ul_msg_list_next returns false after the last item. */
UL_WUR ul_err ul_msg_get_list(const ul_msg *m, uint64_t key, ul_span *array, size_t *n);
bool ul_msg_list_next(ul_span *array_rest, ul_span *item);

/* One key a message may carry, for ul_msg_check: its type, whether it must be there, and the
 * bounds of its value (UL_MV_UINT), length (UL_MV_BYTES, UL_MV_TEXT) or count (UL_MV_LIST;
 * UL_MV_ITEM: none). */
typedef struct {
    uint64_t key;
    ul_mv_type type;
    bool required;
    bool is_enum; /* UL_MV_UINT naming one of a set (a kind): outside min..max is UL_E_ARG */
    uint64_t min, max;
    uint32_t unit; /* UL_MV_BYTES: the length is a whole number of units this long (0: any) */
    size_t off;    /* where a typed reader keeps the value: its offset in the reader's struct
                    * (p2p/query.c); ul_msg_check does not use it */
} ul_mspec;

/* Checks every key of m but key 0 (a request's method, a reply's error) against spec[n], the
 * keys it may carry, before any of them is read: a reader that checked this reads only fields
 * that are there, of their type, within their bounds.
 * Returns: UL_OK; UL_E_SCHEMA_FIELD for a key spec does not name, a required key absent, or a
 *          value below its min (an empty label, a short id, an empty list) or bytes that are
 *          no whole number of units; UL_E_CBOR_TYPE for
 *          a value of another type; UL_E_LIMIT for a value above its max (UL_E_ARG outside
 *          min..max when is_enum). The first offending key, in key order, decides. */
UL_WUR ul_err ul_msg_check(const ul_msg *m, const ul_mspec *spec, size_t n);
/* As ul_msg_check, but a key spec does not name is left alone: a reader of replies takes the
 * fields a newer node appends and checks the ones it reads. */
UL_WUR ul_err ul_msg_check_known(const ul_msg *m, const ul_mspec *spec, size_t n);

/* ---- Peer envelope (messages between nodes, p2p/peer.c) ---------------------------------- */

/* What a peer message carries; the payload's format is its kind's (node/). Append only. */
typedef enum {
    UL_PEER_PROPOSAL = 1,
    UL_PEER_VOTE = 2,
    UL_PEER_TXS = 3,
    UL_PEER_STATUS = 4,
    UL_PEER_CHECKPOINT = 5, /* one validator's checkpoint signature: a ul_checkpoint, 1 sig */
    UL_PEER_KIND_MAX = 5
} ul_peer_kind;

/* Every message between nodes travels in a signed envelope. CBOR map: 1 kind uint
 * (1..UL_PEER_KIND_MAX), 2 from bstr(32) (the sender's x-only key), 3 payload bstr
 * (<= UL_MAX_PEER_PAYLOAD), 4 sig bstr(64): BIP-340 by `from` over
 * ul_client_signed_digest(UL_DOMAIN_PEER, chain id, the canonical map {1 kind, 2 from,
 * 3 payload}), the bytes ul_schema_envelope_signed_encode writes; the chain id binds it to one
 * network; ? 5 attach bstr (<= UL_MAX_PEER_PAYLOAD): bulk data the signature does not cover,
 * which the payload binds by hash (a proposal's block by its header, gossiped txs by their leaf
 * hashes), so a receiver hashes it once, as it must anyway, instead of once more for the
 * signature. A kind out of range is UL_E_SCHEMA_FIELD; a payload or attachment over
 * UL_MAX_PEER_PAYLOAD or an input over UL_MAX_PEER_ENVELOPE_BYTES is UL_E_LIMIT. */
typedef struct {
    uint64_t kind; /* ul_peer_kind */
    uint8_t from[UL_PUBKEY_BYTES];
    ul_span payload;
    uint8_t sig[UL_SIG_BYTES];
    ul_span attach;
    bool has_attach;
} ul_envelope;

UL_WUR ul_err ul_schema_envelope_encode(uint8_t *out, size_t cap, size_t *out_len,
                                        const ul_envelope *e);
UL_WUR ul_err ul_schema_envelope_decode(ul_envelope *out, const uint8_t *in, size_t len);
/* Writes the bytes the envelope's signature covers: the canonical map {1 kind, 2 from,
 * 3 payload} (e->sig is not read). Same checks and errors as the encoder. At most
 * UL_MAX_PEER_ENVELOPE_BYTES. */
UL_WUR ul_err ul_schema_envelope_signed_encode(uint8_t *out, size_t cap, size_t *out_len,
                                               const ul_envelope *e);

#ifdef __cplusplus
}
#endif

#endif
