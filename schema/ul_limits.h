/* Every bound upledger enforces, in one place, each with why it is what it is.
 *
 * Inputs that exceed a limit are rejected with UL_E_LIMIT; nothing is ever truncated.
 * Tests exercise each limit at the bound and one past it.
 */
#ifndef UL_LIMITS_H
#define UL_LIMITS_H

/* Namespace "vendor/product": short enough to print on one line and key an index. */
#define UL_MAX_NS_LEN 128
/* Version strings, provider names, file names, hardware class ids, dependency constraints:
 * human labels, never free text. */
#define UL_MAX_LABEL_LEN 128
/* A mirror link is a hint (mirrors are untrusted); a long URL is still well under this. */
#define UL_MAX_LINK_LEN 512
/* Mirror hints per release: devices try a few, then any mirror they know. */
#define UL_MAX_LINKS 8
/* Hardware classes one release supports: a product line, not a catalogue. */
#define UL_MAX_HW 16
/* Dependencies per release (SUIT manifests rarely name more than a handful). */
#define UL_MAX_DEPS 16
/* Keys per role (owners, publishers) and signatures per transaction: small multi-party sets. */
#define UL_MAX_KEYS 8
#define UL_MAX_SIGS 8
/* Co-signer roles per namespace policy (certifier, enterprise, regulator, ...). */
#define UL_MAX_ROLES 8
/* Installable releases remembered per (namespace, hardware class), newest first: revoking the
 * newest falls back to the next without scanning history; 8 deep covers repeated revocations. */
#define UL_MAX_INSTALLABLE_KEPT 8
/* Numeric parts of a version ("1.2.3.4") and comparators in a dependency constraint. */
#define UL_MAX_VERSION_PARTS 4
#define UL_MAX_CONSTRAINT_TERMS 4
/* Content keys wrapped per encrypted release: one per hardware class at most. */
#define UL_MAX_WRAPPED_KEYS UL_MAX_HW
/* A sealed content key: crypto_box_SEALBYTES (48) + a 32-byte key. */
#define UL_SEALED_KEY_BYTES 80

/* Canonical bytes of one release record body. The bound keeps a device's bundle buffer small;
 * it is reached before every list and label above is at its own maximum at once (~14 KB), so a
 * record that large is refused with UL_E_LIMIT even when each field is within its bound. */
#define UL_MAX_RECORD_BYTES 8192
/* One signed transaction: its body plus UL_MAX_SIGS (key, signature) pairs. */
#define UL_MAX_TX_BYTES (UL_MAX_RECORD_BYTES + 1024)
/* Transactions in one block: bounds block assembly, apply time and the block's tx tree. */
#define UL_MAX_BLOCK_TXS 2048
/* Canonical bytes of one block (header, txs). */
#define UL_MAX_BLOCK_BYTES (UL_MAX_BLOCK_TXS * UL_MAX_TX_BYTES + 4096)

/* Validators in a set: a consortium, not a public chain; a commit of this many signatures still
 * fits a device's bundle buffer. */
#define UL_MAX_VALIDATORS 64
/* Block header canonical bytes (fixed fields only). */
#define UL_MAX_HEADER_BYTES 512
/* A commit: height, round, hash and one (index, time, signature) per validator. */
#define UL_MAX_COMMIT_BYTES (64 + UL_MAX_VALIDATORS * 80)
/* A validator set: (key, power) per validator. */
#define UL_MAX_VALSET_BYTES (16 + UL_MAX_VALIDATORS * 48)
/* Total voting power: sums and 3x products must not overflow uint64. */
#define UL_MAX_TOTAL_POWER (1ULL << 60)

/* Merkle proof depth: a tree of size < 2^64 has at most 64 levels. */
#define UL_MAX_PROOF_DEPTH 64
/* A proof bundle: header, commit, validator set, the leaf and its inclusion proof. */
#define UL_MAX_BUNDLE_BYTES                                                                        \
    (UL_MAX_HEADER_BYTES + UL_MAX_COMMIT_BYTES + UL_MAX_VALSET_BYTES + UL_MAX_TX_BYTES +           \
     UL_MAX_PROOF_DEPTH * 34 + 64)

/* A state proof at its deepest: 256 siblings of 34 bytes, a 32-byte bitmap, a terminal leaf and
 * framing (8,829 bytes); device buffers are sized by this. */
#define UL_MAX_STATE_PROOF_BYTES 8832

/* Nesting depth of any CBOR record we accept: a register tx holding a policy is 7 deep. */
#define UL_MAX_CBOR_DEPTH 8
/* A block or bundle wraps records two levels deeper (each record still counts its own depth);
 * a query message carries those in a list: two more. */
#define UL_MAX_WIRE_DEPTH (UL_MAX_CBOR_DEPTH + 4)

/* A request or reply on the query endpoint: a whole block plus framing. nanomsg enforces it as
 * NN_RCVMAXSIZE so an oversized message never reaches a decoder. */
#define UL_MAX_MSG_BYTES (UL_MAX_BLOCK_BYTES + 65536)
/* Transactions submitted in one request. */
#define UL_MAX_SUBMIT_TXS 1024
/* Waiting transactions: memory stays bounded under a flood; a full pool answers UL_E_BUSY. */
#define UL_MAX_MEMPOOL 65536
/* Blocks returned by one range query (audit over the wire, export). */
#define UL_MAX_BLOCK_RANGE 64
/* Releases listed by one history query. */
#define UL_MAX_HISTORY 1024

/* JSON inputs (manifests, configs, keystores): far above any real one. */
#define UL_MAX_JSON_BYTES (256 * 1024)
/* Image file size the CLI will hash and publish: 64 GiB. */
#define UL_MAX_IMAGE_BYTES (64ULL << 30)

_Static_assert(UL_MAX_TX_BYTES > UL_MAX_RECORD_BYTES + UL_MAX_SIGS * 100,
               "a transaction holds a full record and all its signatures");
_Static_assert(UL_MAX_MSG_BYTES > UL_MAX_BLOCK_BYTES, "a whole block fits in one message");
_Static_assert(UL_MAX_MSG_BYTES > UL_MAX_SUBMIT_TXS * UL_MAX_TX_BYTES,
               "a full submit batch fits in one message");
_Static_assert(UL_MAX_MEMPOOL >= UL_MAX_BLOCK_TXS, "the pool can fill a block");
_Static_assert(UL_MAX_TOTAL_POWER <= ~0ULL / 3, "3 x total power stays in uint64");
_Static_assert(UL_MAX_WRAPPED_KEYS <= UL_MAX_HW, "one wrapped key per hardware class at most");

#endif
