/* upledger error codes: one list generates the enum, names and messages.
 *
 * Codes reach exit statuses, logs, the wire and device reports, so they are only
 * ever appended to this list, never renumbered or reused. Every fallible function
 * in upledger returns ul_err; UL_OK is zero and every failure is non-zero.
 */
#ifndef UL_ERR_H
#define UL_ERR_H

#ifdef __cplusplus
extern "C" {
#endif

/* X(name, number, message) — append only. */
#define UL_ERR_LIST(X)                                                                             \
    X(UL_OK, 0, "ok")                                                                              \
    X(UL_E_INTERNAL, 1, "internal error")                                                          \
    X(UL_E_ARG, 2, "invalid argument")                                                             \
    X(UL_E_NOMEM, 3, "out of memory")                                                              \
    X(UL_E_LIMIT, 4, "a size or count limit was exceeded")                                         \
    X(UL_E_BUFFER, 5, "output buffer too small")                                                   \
    X(UL_E_CBOR_MALFORMED, 6, "malformed CBOR")                                                    \
    X(UL_E_CBOR_NONCANONICAL, 7, "CBOR is not in canonical (deterministic) form")                  \
    X(UL_E_CBOR_TYPE, 8, "CBOR item has the wrong type")                                           \
    X(UL_E_CBOR_TRAILING, 9, "trailing bytes after the CBOR item")                                 \
    X(UL_E_SCHEMA_FIELD, 10, "record has a missing, unknown or invalid field")                     \
    X(UL_E_VERSION, 11, "unsupported version")                                                     \
    X(UL_E_SIG, 12, "signature does not verify")                                                   \
    X(UL_E_KEY, 13, "malformed or invalid public key")                                             \
    X(UL_E_MERKLE_PROOF, 14, "Merkle proof does not verify")                                       \
    X(UL_E_MERKLE_RANGE, 15, "Merkle proof index or tree size out of range")                       \
    X(UL_E_IO, 16, "I/O error")                                                                    \
    X(UL_E_STORE, 17, "storage error")                                                             \
    X(UL_E_CORRUPT, 18, "stored data is corrupt")                                                  \
    X(UL_E_NOT_FOUND, 19, "not found")                                                             \
    X(UL_E_NS_NAME, 20, "invalid namespace name (want vendor/product)")                            \
    X(UL_E_NS_EXISTS, 21, "namespace already registered")                                          \
    X(UL_E_NS_UNKNOWN, 22, "unknown namespace")                                                    \
    X(UL_E_NOT_OWNER, 23, "signer is not an owner named by the transaction")                       \
    X(UL_E_NOT_PUBLISHER, 24, "no signature by a publisher key of the namespace")                  \
    X(UL_E_REPLAY, 25, "transaction replayed (nonce not above the signer's last)")                 \
    X(UL_E_SEQUENCE, 26, "release sequence does not increase for a hardware class")                \
    X(UL_E_DUPLICATE, 27, "release already published")                                             \
    X(UL_E_TX_KIND, 28, "unknown transaction kind")                                                \
    X(UL_E_HEADER_LINK, 29, "block header does not link to its parent")                            \
    X(UL_E_CHAIN_ID, 30, "record belongs to another chain")                                        \
    X(UL_E_QUORUM, 31, "signers hold no more than 2/3 of the voting power")                        \
    X(UL_E_VALIDATOR, 32, "unknown or duplicated validator")                                       \
    X(UL_E_ROOT_MISMATCH, 33, "computed root differs from the header")                             \
    X(UL_E_HEIGHT, 34, "unexpected block height")                                                  \
    X(UL_E_TIME, 35, "block time does not increase")                                               \
    X(UL_E_PASSPHRASE, 36, "wrong passphrase or damaged keystore")                                 \
    X(UL_E_NET, 37, "network error")                                                               \
    X(UL_E_TIMEOUT, 38, "timed out")                                                               \
    X(UL_E_BUSY, 39, "node busy: mempool full")                                                    \
    X(UL_E_PROTOCOL, 40, "malformed request or response")                                          \
    X(UL_E_HW_CLASS, 41, "invalid hardware class")                                                 \
    X(UL_E_DIGEST, 42, "image digest mismatch")                                                    \
    X(UL_E_SIZE, 43, "image size mismatch")                                                        \
    X(UL_E_CONFIG, 44, "invalid configuration")                                                    \
    X(UL_E_EXISTS, 45, "already exists")                                                           \
    X(UL_E_LOCKED, 46, "data directory is in use by another process")                              \
    X(UL_E_TX_INVALID, 47, "transaction is invalid")                                               \
    X(UL_E_THRESHOLD, 48, "not enough distinct signatures for the threshold")                      \
    X(UL_E_NOT_ROLE, 49, "signer does not hold the co-signer role")                                \
    X(UL_E_ROLE_UNKNOWN, 50, "the policy names no such role")                                      \
    X(UL_E_NOT_REVOKER, 51, "signers may not revoke in this namespace")                            \
    X(UL_E_DEPENDENCY, 52, "dependency names no registered namespace or cannot be satisfied")      \
    X(UL_E_RELEASE_UNKNOWN, 53, "no such release")                                                 \
    X(UL_E_REVOKED, 54, "release is revoked")                                                      \
    X(UL_E_EOS, 55, "transfer not allowed: end of support rule")                                   \
    X(UL_E_POLICY, 56, "policy is inconsistent")                                                   \
    X(UL_E_APPROVED, 57, "this key already approved this release in this role")                    \
    X(UL_E_VERSION_STR, 58, "invalid version or version constraint")                               \
    X(UL_E_VALSET_GAP, 59,                                                                         \
      "validator-set changes do not lead from the trusted set to the header's")                    \
    X(UL_E_HEADER_OLD, 60, "header is below the highest height already accepted")                  \
    X(UL_E_HEADER_CONFLICT, 61, "a different header at a height already accepted")                 \
    X(UL_E_NAMESPACE, 62, "release is for another namespace")                                      \
    X(UL_E_HW_MISMATCH, 63, "release does not support this hardware class")                        \
    X(UL_E_ROLLBACK, 64, "release sequence is not above the installed one")                        \
    X(UL_E_NOT_INSTALLABLE, 65, "release is not the latest installable for this hardware class")   \
    X(UL_E_STALE, 66, "header is older than the maximum age")                                      \
    X(UL_E_DECRYPT, 67, "encrypted image does not decrypt or authenticate")                        \
    X(UL_E_TRUNCATED, 68, "input ended before it was complete")                                    \
    X(UL_E_PENDING, 69, "an installed update awaits confirmation")                                 \
    X(UL_E_SEQUENCE_CALL, 70, "call out of sequence (bundle, then image, then accept)")            \
    X(UL_E_VALSET_CHANGE, 71, "invalid validator-set change")                                      \
    X(UL_E_EVIDENCE, 72, "votes do not conflict: not equivocation evidence")                       \
    X(UL_E_EVIDENCE_KNOWN, 73, "this equivocation is already recorded")                            \
    X(UL_E_EVIDENCE_VALIDATOR, 74, "accused key is not a validator at the votes' height")          \
    X(UL_E_READ_ONLY, 75, "this node takes no transactions (an observer, or not a validator)")     \
    X(UL_E_TX_ROOT, 76, "block's transactions do not match its header's tx root")                  \
    X(UL_E_NO_SPACE, 77, "no space left on device")                                                \
    X(UL_E_SIGN_STATE, 78, "validator sign state is missing, corrupt or behind: not signing")      \
    X(UL_E_KEY_PERMS, 79, "private key file is readable by others")                                \
    X(UL_E_DEP_CYCLE, 80, "dependencies form a cycle")                                             \
    X(UL_E_FUTURE, 81, "header time is ahead of the device clock")                                 \
    X(UL_E_CHECKPOINT, 82, "freshness checkpoint does not verify")                                 \
    X(UL_E_UNENROLLED, 83, "device or tracker is not enrolled here")                               \
    X(UL_E_REPORT_REPLAY, 84, "report counter is not above the last one accepted")                 \
    X(UL_E_TRACKER, 85, "report or summary is addressed to another tracker")

typedef enum {
#define UL_ERR_ENUM_(name, num, msg) name = num,
    UL_ERR_LIST(UL_ERR_ENUM_)
#undef UL_ERR_ENUM_
} ul_err;

/* Attributes of the public headers (libsecp256k1's SECP256K1_WARN_UNUSED_RESULT and
 * SECP256K1_ARG_NONNULL), empty for compilers without them:
 * UL_WUR on every function returning ul_err: a verdict ignored is a check skipped, so the
 *   compiler refuses it (-Werror). GCC warns even through a (void) cast of the call: a caller
 *   that truly has nothing to do with a failure keeps it in a variable it (void)s, and says why.
 * UL_NONNULL(i, ...) on pointer arguments (1-based) that must never be NULL. Never on one the
 *   function checks for NULL: GCC would then drop that check. */
#if defined(__GNUC__) || defined(__clang__)
#define UL_WUR __attribute__((__warn_unused_result__))
#define UL_NONNULL(...) __attribute__((__nonnull__(__VA_ARGS__)))
#else
#define UL_WUR
#define UL_NONNULL(...)
#endif

/* Returns: the symbolic name ("UL_E_SIG"), or "UL_E_UNKNOWN" for a number not in the list. */
const char *ul_err_name(ul_err e);
/* Returns: a one-line human message ("signature does not verify"); never NULL. */
const char *ul_err_str(ul_err e);

#ifdef __cplusplus
}
#endif

#endif
