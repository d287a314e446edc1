/* ledger/: the node's block store, release log, chain state and transaction execution.
 *
 * Rules for this header:
 * - Functions return ul_err; operating errors (disk, input, signatures) are returned, programmer
 *   errors are asserted.
 * - _open/_create allocate and pair with _close/_destroy, which accept NULL.
 * - Values returned through `uint8_t **val` were allocated with malloc; the caller frees them.
 * - Nothing here logs; callers decide what to print.
 */
#ifndef UL_LEDGER_H
#define UL_LEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../client/ul_client.h"
#include "../schema/ul_schema.h"

/* ==== Store: the LevelDB adapter (ledger/store.c is the only file that includes LevelDB) ==== */

/* Key families: the first key byte. One database per node. Append only. */
enum {
    UL_KEY_META = 'M',    /* "M" name -> value (head height, genesis, chain id, ...) */
    UL_KEY_HEADER = 'B',  /* 'B' height(8 BE) -> block record: header bytes + tx count */
    UL_KEY_COMMIT = 'C',  /* 'C' height(8 BE) -> commit bytes */
    UL_KEY_TX = 'T',      /* 'T' height(8 BE) index(4 BE) -> signed tx bytes */
    UL_KEY_HASH = 'H',    /* 'H' block hash(32) -> height(8 BE) */
    UL_KEY_RELEASE = 'R', /* 'R' release id(32) -> log index(8 BE) height(8 BE) tx index(4 BE) */
    UL_KEY_LOGIDX = 'I',  /* 'I' log index(8 BE) -> height(8 BE) tx index(4 BE) */
    UL_KEY_LOGNODE = 'L', /* 'L' level(1) index(8 BE) -> hash(32) of a perfect subtree */
    UL_KEY_STATE = 'S',   /* 'S' state key -> state value (see ledger/state.c) */
    UL_KEY_TXHASH = 'X',  /* 'X' tx hash(32) -> height(8 BE) index(4 BE) */
};

typedef struct ul_store ul_store;
typedef struct ul_batch ul_batch;
typedef struct ul_store_iter ul_store_iter;

/* Opens (create: creating if missing) the database in directory dir. LevelDB's lock file makes
 * a second opener fail with UL_E_LOCKED. cache_bytes sizes LevelDB's block cache (0: default). */
ul_err ul_store_open(ul_store **out, const char *dir, bool create, size_t cache_bytes);
void ul_store_close(ul_store *s);

/* Out: *val (malloc'd, caller frees) and *vlen. Returns UL_E_NOT_FOUND when absent. */
ul_err ul_store_get(ul_store *s, const uint8_t *key, size_t klen, uint8_t **val, size_t *vlen);
/* Reads a value of exactly cap bytes into out: UL_E_NOT_FOUND when absent, UL_E_CORRUPT when the
 * stored value has another length. No allocation in the caller's path. */
ul_err ul_store_get_fixed(ul_store *s, const uint8_t *key, size_t klen, uint8_t *out, size_t cap);

ul_batch *ul_batch_create(void); /* NULL on out of memory */
void ul_batch_destroy(ul_batch *b);
void ul_batch_put(ul_batch *b, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen);
void ul_batch_delete(ul_batch *b, const uint8_t *key, size_t klen);
void ul_batch_clear(ul_batch *b);
/* Applies the batch atomically; sync makes it durable (fsync) before returning. */
ul_err ul_store_write(ul_store *s, ul_batch *b, bool sync);

/* Iterates keys >= start that begin with prefix, in key order. */
ul_err ul_store_iter_create(ul_store_iter **out, ul_store *s, const uint8_t *prefix, size_t plen,
                            const uint8_t *start, size_t slen);
/* Returns: true and sets key/val views (valid until the next call) while entries remain. */
bool ul_store_iter_next(ul_store_iter *it, const uint8_t **key, size_t *klen, const uint8_t **val,
                        size_t *vlen);
void ul_store_iter_destroy(ul_store_iter *it);

/* Approximate bytes on disk used by the database (sum of its files). */
uint64_t ul_store_disk_bytes(const char *dir);

/* Big-endian helpers for keys. */
void ul_be64_put(uint8_t out8[8], uint64_t v);
uint64_t ul_be64_get(const uint8_t in8[8]);
void ul_be32_put(uint8_t out4[4], uint32_t v);
uint32_t ul_be32_get(const uint8_t in4[4]);

/* ==== Release log: RFC 9162 Merkle tree of every published release, in the store ==== */

/* Storage: for every perfect subtree (level L covers 2^L leaves, index i covers leaves
 * [i*2^L, (i+1)*2^L)) the node hash under 'L' L i. Appends touch only the right frontier (at most
 * 64 hashes held in memory); roots and proofs for any size <= the committed size read O(log n)
 * stored nodes. Upper levels are cached in memory so a proof at 10^6 leaves reads few keys. */
typedef struct ul_log ul_log;

/* Opens the log stored in s, whose committed size is `size` (from the node's head). */
ul_err ul_log_open(ul_log **out, ul_store *s, uint64_t size);
void ul_log_close(ul_log *l);

/* Size including pending appends. */
uint64_t ul_log_size(const ul_log *l);
/* Appends a leaf (the canonical bytes of a publish tx) as pending: its nodes are put in batch b;
 * they become readable for proofs after ul_log_commit(). Out: *index (optional). */
ul_err ul_log_append(ul_log *l, ul_batch *b, const uint8_t *leaf, size_t len, uint64_t *index);
/* Marks pending appends as committed (call after the batch was written). */
void ul_log_commit(ul_log *l);
/* Drops pending appends (the batch was not written). */
void ul_log_rollback(ul_log *l);
/* Root of the current tree including pending appends (the value the next header carries). */
void ul_log_root(const ul_log *l, uint8_t out32[UL_HASH_BYTES]);
/* Root of the committed tree of `size` leaves (size <= committed size). */
ul_err ul_log_root_at(ul_log *l, uint64_t size, uint8_t out32[UL_HASH_BYTES]);
/* Inclusion proof of leaf `index` in the committed tree of `size` leaves. */
ul_err ul_log_inclusion(ul_log *l, uint64_t index, uint64_t size, ul_inclusion *out);
/* Consistency proof between committed sizes size1 <= size2. */
ul_err ul_log_consistency(ul_log *l, uint64_t size1, uint64_t size2, ul_consistency *out);
/* Leaf hash of leaf `index` (committed). */
ul_err ul_log_leaf_hash(ul_log *l, uint64_t index, uint8_t out32[UL_HASH_BYTES]);

/* ==== Keys: BIP-340 signing keys and keystore files ==== */

/* A signing key in locked, guarded memory (sodium_malloc); wiped when destroyed. */
typedef struct ul_key ul_key;

ul_err ul_key_generate(ul_key **out);
/* Builds a key from 32 secret bytes (tests and deterministic dev setups). UL_E_KEY if invalid. */
ul_err ul_key_from_secret(ul_key **out, const uint8_t seckey32[UL_SECKEY_BYTES]);
void ul_key_destroy(ul_key *k);
const uint8_t *ul_key_pubkey(const ul_key *k); /* 32-byte x-only public key */
/* Signs ul_client_signed_digest(d, chain_id, msg) with BIP-340 (fresh aux randomness). */
ul_err ul_key_sign(const ul_key *k, uint8_t sig64[UL_SIG_BYTES], ul_domain d,
                   const uint8_t chain_id32[UL_HASH_BYTES], const uint8_t *msg, size_t len);

/* Keystore file (JSON, mode 0600, written atomically; refuses to overwrite):
 *   {"format":"upledger-key/1","pubkey":HEX,"kdf":"argon2id13","opslimit":N,"memlimit":N,
 *    "salt":HEX,"nonce":HEX,"sealed":HEX}        (crypto_pwhash + crypto_secretbox)
 * or, only when passphrase is NULL (dev chains): {"format":"upledger-key/1","pubkey":HEX,
 *   "kdf":"none","secret":HEX}. */
ul_err ul_key_save(const ul_key *k, const char *path, const char *passphrase);
/* Loads a keystore. Returns UL_E_PASSPHRASE for a wrong passphrase, UL_E_ARG when the file is
 * encrypted and passphrase is NULL, UL_E_KEY/UL_E_SCHEMA_FIELD for a malformed file, UL_E_IO. */
ul_err ul_key_load(ul_key **out, const char *path, const char *passphrase);
/* Reads only the public key of a keystore (no passphrase needed). */
ul_err ul_key_load_pubkey(const char *path, uint8_t pubkey32[UL_PUBKEY_BYTES]);
/* Returns: true when the keystore at path is encrypted. */
bool ul_key_file_encrypted(const char *path);

/* Hex helpers (lower case). ul_hex_decode returns UL_E_ARG unless hex is exactly 2*n hex digits. */
void ul_hex_encode(char *out, const uint8_t *in, size_t n); /* out holds 2n+1 bytes */
ul_err ul_hex_decode(uint8_t *out, size_t n, const char *hex);

#endif
