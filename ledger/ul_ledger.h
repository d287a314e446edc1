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
#include "../keys/ul_keys.h"
#include "../schema/ul_schema.h"

/* ==== Signatures (ledger/keycache.c) ==== */

/* ul_client_sig_verify, same results and codes, with each public key's parse kept per thread
 * (UL_KEY_CACHE_SLOTS): the node's signature checks (txs, votes, peer envelopes) use this. */
ul_err ul_sig_verify(const uint8_t sig64[UL_SIG_BYTES], ul_domain d,
                     const uint8_t chain_id32[UL_HASH_BYTES], const uint8_t *msg, size_t len,
                     const uint8_t pubkey32[UL_PUBKEY_BYTES]);
/* Returns: the signatures ul_sig_verify has checked in this process (every thread), whatever
 * their result: one relaxed atomic add per check, beside a verify's ~50 us. */
uint64_t ul_sig_verify_count(void);

/* ==== Store: LevelDB (ledger/store_leveldb.c, the only file that includes it) or memory ==== */

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
    /* state key (ul_schema_statekey_*, docs/protocol.md section 6) -> state value */
    UL_KEY_STATE = UL_STATEKEY_PREFIX,
    UL_KEY_TXHASH = 'X', /* 'X' tx hash(32) -> height(8 BE) index(4 BE) (non-publish txs) */
    UL_KEY_NSHIST = 'N', /* 'N' namespace 0x00 log index(8 BE) -> release id(32) */
    UL_KEY_VALSET = 'V', /* 'V' height(8 BE) -> canonical validator set that block `height`
                            changed to: it signs from height + 1 on (none: the genesis set) */
    UL_KEY_NSLAST = 'G', /* 'G' namespace -> release id(32) of its newest release, whose
                            dependencies stand for the namespace's in cycle checks */
    /* 'Y' SHA-256(state key)(32) height(8 BE) -> the state value block `height` wrote: every
     * version is kept, so a state proof at any past height shows the value its root holds. */
    UL_KEY_STATEHIST = 'Y',
    /* Search indexes (ledger/search.c), written in the block's batch with the release: image
     * digest(32), and each key that signed a release (its publish or an approval) (32), then the
     * release's log index(8 BE) -> release id(32) height(8 BE) of its publish. Not state: no
     * root covers them; replay rebuilds them as it rebuilds every index. */
    UL_KEY_DIGEST = 'D',
    UL_KEY_SIGNER = 'K',
};

typedef struct ul_store ul_store;
typedef struct ul_batch ul_batch;
typedef struct ul_store_iter ul_store_iter;

/* Bytes of a store's failure text (LevelDB's message and what was being read), NUL included. */
#define UL_STORE_TEXT_MAX 512
/* Bytes of a key kept to describe where damage lies (family and height need 9). */
#define UL_STORE_KEY_SHOWN 64

/* Opens (create: creating if missing) the database in directory dir. LevelDB's lock file makes
 * a second opener fail with UL_E_LOCKED; without create, a missing database is UL_E_NOT_FOUND.
 * cache_bytes sizes LevelDB's block cache (0: default). Paranoid checks are on and every read
 * verifies checksums: a log, manifest or table that does not check out is UL_E_CORRUPT; a full
 * disk is UL_E_NO_SPACE; any other LevelDB failure UL_E_STORE (ul_store_last_error says more). */
ul_err ul_store_open(ul_store **out, const char *dir, bool create, size_t cache_bytes);
void ul_store_close(ul_store *s);
/* Returns: what the last failed store call of this thread said (LevelDB's message, which names
 * the file for I/O errors, and the key being read); "" before any failure. */
const char *ul_store_last_error(void);
/* The store's sticky condition: UL_OK; UL_E_CORRUPT once any read met damage (for good: the
 * data must be restored); or the error of a failed write (UL_E_NO_SPACE, UL_E_STORE), after
 * which every write returns it until ul_store_recover succeeds. Out: *text (may be NULL) says
 * what LevelDB said and where; valid until the next store call. */
ul_err ul_store_fault(const ul_store *s, const char **text);
/* After a failed write: once the free space on the store's filesystem exceeds its write-ahead
 * logs (plus a margin), reopens the database (a torn last log record is dropped, as after a
 * crash) and clears the fault. Returns: UL_OK when writable again, else the fault (still no
 * space, or the reopen failed: then reads return it too until a later call succeeds). */
ul_err ul_store_recover(ul_store *s);
/* Reads every entry once, verifying every block's checksum. Out: *entries read. Returns:
 * UL_E_CORRUPT (the store's fault then names the keys around the damage) or UL_OK. */
ul_err ul_store_verify(ul_store *s, uint64_t *entries);

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
/* Iterates keys <= start that begin with prefix, in descending key order (prefix and start not
 * empty). */
ul_err ul_store_iter_create_desc(ul_store_iter **out, ul_store *s, const uint8_t *prefix,
                                 size_t plen, const uint8_t *start, size_t slen);
/* Returns: true and sets key/val views (valid until the next call) while entries remain; false
 * at the end, and at damage (the store's fault is then UL_E_CORRUPT). */
bool ul_store_iter_next(ul_store_iter *it, const uint8_t **key, size_t *klen, const uint8_t **val,
                        size_t *vlen);
void ul_store_iter_destroy(ul_store_iter *it);
/* The greatest key <= key that begins with prefix (one seek, then at most one step back).
 * Out: its key in found[cap] (*flen; UL_E_CORRUPT when longer than cap) and *val (malloc'd, caller
 * frees), *vlen. Returns UL_E_NOT_FOUND when the family holds no such key. */
ul_err ul_store_get_floor(ul_store *s, const uint8_t *prefix, size_t plen, const uint8_t *key,
                          size_t klen, uint8_t *found, size_t cap, size_t *flen, uint8_t **val,
                          size_t *vlen);

/* Makes dest (an empty directory) a copy of the stopped store in dir that can be opened and
 * changed without changing dir by a single byte: opening a LevelDB store rewrites its manifest,
 * log and info log, and recovery would rewrite damage away. Tables are hard-linked (LevelDB never
 * changes one; copied across filesystems), the rest copied. Returns: UL_E_NOT_FOUND (no store),
 * UL_E_LOCKED (a running node holds it), UL_E_NO_SPACE or UL_E_IO (dest then holds a part). */
ul_err ul_store_snapshot(const char *dir, const char *dest);

/* Compacts the whole database (merges levels, drops overwritten values): what remains is the
 * data itself. Slow on a large store; for maintenance and measurement. */
void ul_store_compact(ul_store *s);

/* Approximate bytes on disk used by the database (sum of its files). */
uint64_t ul_store_disk_bytes(const char *dir);
/* Out: *approx, what the store's data takes as its backend estimates it: LevelDB's approximate
 * size of the whole key range (its table files: the write-ahead log not yet compacted is not
 * counted), the memory store's key and value bytes; *disk, the bytes of the database's files
 * (ul_store_disk_bytes; the memory store: *approx). A directory scan: not for every request. */
void ul_store_size(ul_store *s, uint64_t *approx, uint64_t *disk);

/* The store's synced writes (each block's commit batch): how many, and the wall time they took
 * in total (the write and its fsync), since the store was opened. */
typedef struct {
    uint64_t count;
    uint64_t ns;
} ul_store_sync_stats;
void ul_store_sync_stats_get(const ul_store *s, ul_store_sync_stats *out);

/* ---- Memory store: a simulated disk for the whole-node simulator (ledger/store_mem.c) ----
 * A ul_memdisk outlives the stores opened on it, so a simulated node can crash (its store is
 * dropped without a clean close) and reopen from the same disk. It holds the durable contents
 * and the batches written with sync=false since the last synced write. A store over it behaves
 * as the LevelDB one: byte-ordered keys, atomic batches, UL_E_LOCKED for a second opener,
 * UL_E_NOT_FOUND without create on a disk never created, sticky faults and ul_store_recover.
 * Differences: iterators see writes made while they run (LevelDB's see a snapshot);
 * ul_store_compact does nothing. Deterministic: no clock, no system randomness; every random
 * choice comes from the caller's ul_rng. */
typedef struct ul_memdisk ul_memdisk;

/* A seeded generator (splitmix64) for reproducible fault dice; not for cryptography. */
typedef struct {
    uint64_t s;
} ul_rng;
void ul_rng_seed(ul_rng *r, uint64_t seed);
uint64_t ul_rng_next(ul_rng *r);
/* Returns: a number in [0, n); n > 0. */
uint64_t ul_rng_below(ul_rng *r, uint64_t n);

/* Out: *out, an empty disk never created (free with ul_memdisk_destroy). */
ul_err ul_memdisk_create(ul_memdisk **out);
/* Frees the disk. Close every store opened on it first (also those a crash cut off). */
void ul_memdisk_destroy(ul_memdisk *d);
/* Opens (create: creating if missing) a store on disk d. Returns: UL_E_LOCKED while another
 * store holds d; UL_E_NOT_FOUND without create on a disk never created; UL_E_NOMEM. */
ul_err ul_store_open_mem(ul_store **out, ul_memdisk *d, bool create);
/* A power cut: drops the batches written without sync since the last synced write - all of them
 * (rng NULL), or a random suffix of them (rng: a prefix of 0..all survives, each batch whole or
 * not at all). A store still open on d is cut off: its reads fail and its writes return
 * UL_E_STORE (sticky) until it is closed; then d can be opened again. Pending fault knobs
 * (corrupt_reads) are cleared; full and damaged entries stay. Returns: UL_OK; UL_E_NOMEM. */
ul_err ul_memdisk_crash(ul_memdisk *d, ul_rng *rng);
/* While full, writes fail with UL_E_NO_SPACE (as the LevelDB backend maps ENOSPC) and the store
 * stops writing until ul_store_recover succeeds, which it does once the disk is not full. */
void ul_memdisk_set_full(ul_memdisk *d, bool full);
/* The next n reads (get, get_fixed, get_floor, one iterator step) fail with UL_E_CORRUPT, and
 * the store's fault becomes UL_E_CORRUPT, as a checksum mismatch does in LevelDB. */
void ul_memdisk_corrupt_reads(ul_memdisk *d, unsigned n);
/* Damages the stored entry of key (until a write replaces it): every read of it, iterators and
 * ul_store_verify included, is UL_E_CORRUPT. Returns: UL_E_NOT_FOUND when d holds no such key. */
ul_err ul_memdisk_corrupt_key(ul_memdisk *d, const uint8_t *key, size_t klen);
/* Damages one entry chosen by rng among those beginning with prefix (plen 0: any).
 * Returns: UL_E_NOT_FOUND when there is none. */
ul_err ul_memdisk_corrupt_random(ul_memdisk *d, ul_rng *rng, const uint8_t *prefix, size_t plen);
/* Returns: the batches written without sync not yet durable. */
size_t ul_memdisk_unsynced(const ul_memdisk *d);
/* Returns: the entries a store on d reads. */
size_t ul_memdisk_entries(const ul_memdisk *d);
/* Out: out32, SHA-256 over the (durable: crash-proof; else readable) entries, keys and values
 * in order: equal digests mean equal contents (a simulator's determinism check). */
void ul_memdisk_hash(const ul_memdisk *d, bool durable, uint8_t out32[UL_HASH_BYTES]);

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
/* The same with the leaf hash (ul_client_merkle_leaf_hash of the leaf) already computed. */
ul_err ul_log_append_hash(ul_log *l, ul_batch *b, const uint8_t leaf_hash32[UL_HASH_BYTES],
                          uint64_t *index);
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
/* Store reads made by roots, proofs and leaf hashes since open (tests and benchmarks check that
 * a proof reads O(log n) nodes; upper levels come from memory). */
uint64_t ul_log_store_reads(const ul_log *l);

/* ==== State tree: compressed sparse Merkle tree over chain state, in the store ==== */

/* Nodes are content-addressed ('Z' node hash(32) -> 0x02 key32 valuehash32 for a leaf, or
 * 0x03 left32 right32 for an inner node) and never deleted, so every root a header ever carried
 * stays provable; the values behind its leaves are kept by the chain's state history
 * (UL_KEY_STATEHIST). Hashing rules: client/ul_client.h (ul_client_smt_*). */
enum { UL_KEY_SMT = 'Z' };

typedef struct {
    uint8_t key[UL_HASH_BYTES];   /* SHA-256 of the state key */
    uint8_t value[UL_HASH_BYTES]; /* SHA-256 of the state value */
    bool del;                     /* remove the key instead */
} ul_smt_update;

/* Applies updates (sorted by key ascending, keys unique; asserted) to the tree with root
 * root32 (all zero: empty), writing new nodes into b, and sets new_root32. Reads nodes from the
 * store and from nodes written earlier into the same batch by the same call. Bounded: at most
 * 257 levels per key. UL_E_CORRUPT when a node is missing. */
ul_err ul_smt_update_root(ul_store *s, ul_batch *b, const uint8_t root32[UL_HASH_BYTES],
                          const ul_smt_update *u, size_t n, uint8_t new_root32[UL_HASH_BYTES]);
/* Proof for key32 in the tree with root32 (committed nodes only). */
ul_err ul_smt_prove(ul_store *s, const uint8_t root32[UL_HASH_BYTES],
                    const uint8_t key32[UL_HASH_BYTES], ul_state_proof *out);
/* Looks up key32: UL_OK and its value hash, or UL_E_NOT_FOUND. */
ul_err ul_smt_get(ul_store *s, const uint8_t root32[UL_HASH_BYTES],
                  const uint8_t key32[UL_HASH_BYTES], uint8_t value32[UL_HASH_BYTES]);

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

/* Writes k to a new keystore file at path (format "upledger-key/1", keys/ul_keys.h; mode 0600,
 * written atomically, never replacing a file): encrypted under passphrase, or, only when
 * passphrase is NULL (dev chains), in the clear. */
ul_err ul_key_save(const ul_key *k, const char *path, const char *passphrase);
/* Loads a keystore. Returns UL_E_PASSPHRASE for a wrong passphrase, UL_E_ARG when the file is
 * encrypted and passphrase is NULL, UL_E_KEY/UL_E_SCHEMA_FIELD for a malformed file, UL_E_IO;
 * UL_E_KEY_PERMS (after all of those) when the file is open to others (ul_key_mode_check). */
ul_err ul_key_load(ul_key **out, const char *path, const char *passphrase);
/* Private key files (keystores, class secrets) are refused, as OpenSSH refuses them, when their
 * group or others have any access (mode & 077); the environment variable below set to "1" allows
 * them (keys/ul_keys.h says why). */
#define UL_KEY_ALLOW_OPEN_ENV UL_KEYS_ALLOW_OPEN_ENV
/* Returns: UL_OK when st_mode (a private key file's) gives group and others no access, or the
 * override is set; UL_E_KEY_PERMS otherwise (ul_keys_mode_check). */
ul_err ul_key_mode_check(unsigned st_mode);
/* Out: msg[cap], the reason a key file at path is refused with UL_E_KEY_PERMS, for the line that
 * reports it: "mode 0644 gives others access (chmod 600 it, or set ...=1)". */
void ul_key_perms_msg(char *msg, size_t cap, const char *path);
/* Reads only the public key of a keystore (no passphrase needed). */
ul_err ul_key_load_pubkey(const char *path, uint8_t pubkey32[UL_PUBKEY_BYTES]);
/* Returns: true when the keystore at path is encrypted. */
bool ul_key_file_encrypted(const char *path);
/* Reads a passphrase: $UPLEDGER_PASSPHRASE, else the first line of passphrase_file (non-NULL),
 * else a prompt on /dev/tty without echo (twice when confirm). *out is sodium_malloc'd: free it
 * with ul_passphrase_free. Returns: UL_OK; UL_E_PASSPHRASE with no terminal to prompt on, or
 * when the two typed differ; UL_E_LIMIT for one too long; UL_E_IO; UL_E_NOMEM. */
ul_err ul_passphrase_read(const char *passphrase_file, bool confirm, char **out);
void ul_passphrase_free(char *s);

/* ==== Chain: blocks, state and transaction execution over one store ==== */

/* The chain keeps one pending block in memory: submitted transactions are validated and executed
 * against the committed state plus the pending block's writes, in arrival order. Sealing computes
 * the header; committing writes header, commit, transactions, indexes, log nodes and state as
 * one synced LevelDB WriteBatch, so a crash leaves either the whole block or none of it. Blocks
 * received from elsewhere (sync, audit) go through the same path: every transaction is executed
 * again and the resulting header must equal the received one. */
typedef struct ul_chain ul_chain;

/* Opens the chain in dir. With genesis (canonical bytes) a new store is initialised, or an
 * existing one is checked to hold that genesis (UL_E_CHAIN_ID otherwise); with genesis NULL the
 * store must already exist (UL_E_NOT_FOUND otherwise). */
ul_err ul_chain_open(ul_chain **out, const char *dir, const uint8_t *genesis, size_t genesis_len);
/* The same on a memory disk (the simulator's): the store is ul_store_open_mem's. */
ul_err ul_chain_open_mem(ul_chain **out, ul_memdisk *disk, const uint8_t *genesis,
                         size_t genesis_len);
void ul_chain_close(ul_chain *c);

const uint8_t *ul_chain_id(const ul_chain *c);         /* 32 bytes: SHA-256 of the genesis */
const ul_genesis *ul_chain_genesis(const ul_chain *c); /* spans point into chain memory */
ul_span ul_chain_genesis_bytes(const ul_chain *c);
const ul_valset *ul_chain_valset(const ul_chain *c); /* the set that signs the next block */
uint64_t ul_chain_height(const ul_chain *c);         /* committed head, 0 before block 1 */
uint64_t ul_chain_log_size(const ul_chain *c);       /* committed release-log size */
size_t ul_chain_pending_count(const ul_chain *c);
/* Out: the leaf hashes (RFC 9162) of the pending block's txs, in block order, at most cap.
 * Returns: how many were written (ul_chain_pending_count when cap allows). */
size_t ul_chain_pending_leaves(const ul_chain *c, uint8_t (*out)[UL_HASH_BYTES], size_t cap);
/* Returns: the transactions of the blocks this chain committed since it was opened (by
 * ul_chain_commit, block sync's ul_chain_apply included). */
uint64_t ul_chain_txs_committed(const ul_chain *c);
/* After a write failed (the store's fault is UL_E_NO_SPACE or UL_E_STORE): ul_store_recover,
 * then the head, validator set and log are read back from the store (a write whose sync failed
 * may have landed after all). The pending block is discarded. Returns: UL_OK when the chain is
 * writable again, else the store's fault. */
ul_err ul_chain_recover(ul_chain *c);
ul_store *ul_chain_store(ul_chain *c);
ul_log *ul_chain_log(ul_chain *c);

/* Hashes of a tx that do not depend on state: its RFC 9162 leaf hash and its id (the release id
 * for a publish, else the SHA-256 of the tx), as ul_chain_check_tx gives them. */
typedef struct {
    uint8_t leaf[UL_HASH_BYTES];
    uint8_t id[UL_HASH_BYTES];
} ul_txhash;

/* Validates tx and executes it into the pending block. Out: id32 — the release id (SHA-256 of the
 * record body) for a publish, the SHA-256 of the tx bytes otherwise. On any error the pending
 * block is unchanged. UL_E_BUSY when the pending block is full (commit first). */
ul_err ul_chain_submit(ul_chain *c, const uint8_t *tx, size_t len, uint8_t id32[UL_HASH_BYTES]);
/* ul_chain_submit for a tx this process checked with ul_chain_check_tx, byte for byte: h is
 * what that gave, so the tx is not hashed again (its signatures are taken from the signature
 * cache, or verified again if the cache no longer holds them). */
ul_err ul_chain_submit_known(ul_chain *c, const uint8_t *tx, size_t len, const ul_txhash *h,
                             uint8_t id32[UL_HASH_BYTES]);

/* Computes the header of the pending block (proposer, time) without committing. */
ul_err ul_chain_seal(ul_chain *c, const uint8_t proposer32[UL_PUBKEY_BYTES], uint64_t time_ms,
                     ul_header *out, uint8_t hash32[UL_HASH_BYTES]);
/* Block time for the next block: the genesis time at height 1, else the BFT time of the last
 * commit. A validator's vote time is max(now, this + 1). */
uint64_t ul_chain_next_time(const ul_chain *c);
/* Commits the sealed pending block with its commit (canonical bytes), after verifying the commit
 * against the validator set. One synced WriteBatch. On error the pending block is discarded. */
ul_err ul_chain_commit(ul_chain *c, const uint8_t *commit, size_t commit_len);
/* Drops the pending block. */
void ul_chain_discard(ul_chain *c);
/* Single-validator convenience: seal, sign the precommit with key, commit. Empty blocks allowed
 * (heartbeats). Out: *height (optional). Returns UL_E_VALIDATOR when key is not in the set that
 * signs the next block, UL_E_QUORUM when it holds no more than 2/3 of that set's power (it cannot
 * commit alone); either way the pending block is dropped. */
ul_err ul_chain_produce(ul_chain *c, const ul_key *key, uint64_t now_ms, uint64_t *height);
/* Applies a block from elsewhere: executes its txs, requires the same header, verifies the commit
 * against the set that signs its height (a set change takes effect at the height after the block
 * holding it), commits. */
ul_err ul_chain_apply(ul_chain *c, const uint8_t *block, size_t block_len, const uint8_t *commit,
                      size_t commit_len);

/* The steps of ul_chain_apply apart, for consensus: a validator executes a proposed block,
 * votes for its hash, and commits it once a commit for that hash is known. */

/* Executes a block received from its proposer (canonical bytes) into the pending block, after
 * discarding whatever was pending, and seals it: the checks of ul_chain_apply but no commit.
 * Its signatures are verified on all cores, except those of txs in the signature cache.
 * Returns: UL_OK, with the pending block that sealed block, so ul_chain_commit commits it;
 *          UL_E_HEIGHT when it is not for the height after the head; UL_E_VALIDATOR when its
 *          proposer is not in the set that signs it; a tx's error; when the re-executed header
 *          differs from the received one, the first field that differs: UL_E_HEIGHT,
 *          UL_E_HEADER_LINK, UL_E_CHAIN_ID, UL_E_TIME, UL_E_VALSET_CHANGE, else
 *          UL_E_ROOT_MISMATCH; UL_E_TX_ROOT (before any tx executes) when the txs are not
 *          those the header's tx root names. On any error the pending block is empty.
 * Args: block[len]: the block (ul_schema_block_encode).
 * Out: hash32 (optional): the sealed header's hash, the one validators vote for. */
ul_err ul_chain_prepare(ul_chain *c, const uint8_t *block, size_t len,
                        uint8_t hash32[UL_HASH_BYTES]);
/* Says whether the caller checked tx[len] with ul_chain_check_tx (these very bytes), and if so
 * gives the hashes that returned. */
typedef bool (*ul_tx_known_fn)(void *ctx, const uint8_t *tx, size_t len, ul_txhash *h);
/* ul_chain_prepare, taking the hashes of the txs known(ctx, ...) names from the caller (a node's
 * pool) instead of hashing them again; the others are hashed and verified as there. */
ul_err ul_chain_prepare_known(ul_chain *c, const uint8_t *block, size_t len, ul_tx_known_fn known,
                              void *ctx, uint8_t hash32[UL_HASH_BYTES]);
/* Returns: true when the pending block is sealed (ul_chain_seal, ul_chain_prepare), with its
 *          header hash in hash32 (optional); false otherwise (hash32 untouched). */
bool ul_chain_sealed(const ul_chain *c, uint8_t hash32[UL_HASH_BYTES]);
/* The sealed pending block as canonical block bytes, as a proposer sends it.
 * Returns: UL_OK; UL_E_ARG when no block is sealed; UL_E_NOMEM.
 * Out: *blk (malloc'd, caller frees), *len. */
ul_err ul_chain_pending_block(ul_chain *c, uint8_t **blk, size_t *len);
/* Replaces the stored commit of the head block by another commit for that same block (the
 * proposer's, sent with its proposal as CometBFT's LastCommit): validators that collected
 * different precommits for the head would otherwise derive different times for the next block.
 * The next block's time becomes this commit's BFT time. One synced write of the commit.
 * Returns: UL_OK (also for the bytes already stored: nothing is written); UL_E_BUSY while a
 *          block is sealed (its header used the old time); UL_E_HEIGHT when the commit is not
 *          for the head's height (or there is no block yet); UL_E_HEADER_LINK when it is for
 *          another block; UL_E_VALIDATOR, UL_E_SIG, UL_E_QUORUM as ul_client_commit_verify
 *          against the set that signed the head; a decoding error. On error nothing changes.
 * Args: commit[len]: canonical commit bytes. */
ul_err ul_chain_replace_commit(ul_chain *c, const uint8_t *commit, size_t len);
/* Stateless checks of a tx for the mempool: size, decoding, known kind and every signature (a
 * tx that passes enters the signature cache, so executing it later does not verify it again).
 * Whether it applies to the current state (nonces, policy, which keys may sign) is left to
 * ul_chain_submit. Touches neither the pending block nor the store.
 * Returns: UL_OK; UL_E_LIMIT past UL_MAX_TX_BYTES; a decoding error; UL_E_TX_KIND; UL_E_SIG or
 *          UL_E_KEY for a signature that does not verify.
 * Out: id32: the id ul_chain_submit reports (release id for a publish, else SHA-256 of tx);
 *      leaf32 (may be NULL): its RFC 9162 leaf hash. */
ul_err ul_chain_check_tx(ul_chain *c, const uint8_t *tx, size_t len, uint8_t id32[UL_HASH_BYTES],
                         uint8_t leaf32[UL_HASH_BYTES]);
/* ul_chain_check_tx for a tx whose RFC 9162 leaf hash the caller has just computed over these
 * bytes (leaf32, in): the same checks without hashing it again. */
ul_err ul_chain_check_tx_leaf(ul_chain *c, const uint8_t *tx, size_t len,
                              const uint8_t leaf32[UL_HASH_BYTES], uint8_t id32[UL_HASH_BYTES]);
/* Returns: the RFC 9162 leaf hash of pending tx i (NULL past the last): what a node's pool
 * matches a committed block's txs by, without hashing them again. */
const uint8_t *ul_chain_pending_leaf(const ul_chain *c, size_t i);

/* ---- Queries (committed state only); values malloc'd, caller frees ---- */

/* Header bytes, commit bytes and the canonical block encoding of height h. */
ul_err ul_chain_header_bytes(ul_chain *c, uint64_t h, uint8_t **hdr, size_t *hlen);
ul_err ul_chain_commit_bytes(ul_chain *c, uint64_t h, uint8_t **cm, size_t *clen);
ul_err ul_chain_block_bytes(ul_chain *c, uint64_t h, uint8_t **blk, size_t *blen);

typedef struct {
    uint64_t log_index;
    uint64_t height;
    uint32_t tx_index;
} ul_release_loc;

/* The publish tx of release id and where it is. */
ul_err ul_chain_release(ul_chain *c, const uint8_t id32[UL_HASH_BYTES], uint8_t **tx, size_t *len,
                        ul_release_loc *loc);
/* Release id of log leaf `index`. */
ul_err ul_chain_release_at(ul_chain *c, uint64_t index, uint8_t id32[UL_HASH_BYTES]);
/* One page of the release ids of namespace ns: from log index `from` (inclusive) up, oldest
 * first, or (newest_first) from `from` down (UINT64_MAX: from the newest). At most cap
 * (1..UL_MAX_HISTORY) are read, and one more to know whether any follow: the work is bounded
 * however many releases the namespace has.
 * Out: ids[*n]; *next, the `from` of the next page, and *more, whether there is one.
 * Returns: UL_E_ARG for an empty ns or a cap out of range, UL_E_LIMIT for ns too long. */
ul_err ul_chain_history(ul_chain *c, ul_span ns, uint64_t from, bool newest_first,
                        uint8_t (*ids)[UL_HASH_BYTES], size_t cap, size_t *n, uint64_t *next,
                        bool *more);
/* What a search looks up: the releases of an image digest, or those a key signed. */
typedef enum { UL_SEARCH_DIGEST = UL_KEY_DIGEST, UL_SEARCH_SIGNER = UL_KEY_SIGNER } ul_search_kind;
/* A search result: release id (32), height of its publish (8 BE). */
#define UL_SEARCH_ENTRY_BYTES 40
/* One page of the releases whose image has digest key32 (UL_SEARCH_DIGEST), or that key32 signed
 * as a publisher or co-signer (UL_SEARCH_SIGNER), by log index: from `from` (inclusive) up,
 * oldest first, or (newest_first) down (UINT64_MAX: from the newest). At most cap
 * (1..UL_MAX_SEARCH) are read, and one more to know whether any follow.
 * Out: out[*n] entries (UL_SEARCH_ENTRY_BYTES each); *next, the `from` of the next page, and
 *      *more, whether there is one.
 * Returns: UL_E_ARG for a cap out of range or another kind; UL_E_CORRUPT for an index entry of
 *          the wrong shape. */
ul_err ul_chain_search(ul_chain *c, ul_search_kind kind, const uint8_t key32[UL_HASH_BYTES],
                       uint64_t from, bool newest_first, uint8_t (*out)[UL_SEARCH_ENTRY_BYTES],
                       size_t cap, size_t *n, uint64_t *next, bool *more);
/* The installable releases of (ns, hw), newest first, as the state keeps them for devices
 * (approved as the policy requires, not revoked; UL_MAX_INSTALLABLE_KEPT at most): one read of
 * the index that commits keep in the same batch as the releases.
 * Out: out[*n * 40]: sequence (8 BE), release id (32) per entry; *n 0 when none is.
 * Returns: UL_E_ARG for an empty ns or hw, UL_E_LIMIT for one too long. */
ul_err ul_chain_installable(ul_chain *c, ul_span ns, ul_span hw,
                            uint8_t out[UL_MAX_STATE_VALUE_BYTES], size_t *n);
/* The latest release for (ns, hw): highest sequence. */
ul_err ul_chain_latest(ul_chain *c, ul_span ns, ul_span hw, uint8_t id32[UL_HASH_BYTES],
                       uint64_t *seq);
/* A namespace's canonical policy (as it stands now) and the height it was registered at. */
ul_err ul_chain_namespace(ul_chain *c, ul_span ns, uint8_t **body, size_t *len, uint64_t *height);
/* The last nonce used by a signer (0 when it never signed). */
ul_err ul_chain_nonce(ul_chain *c, const uint8_t pubkey32[UL_PUBKEY_BYTES], uint64_t *nonce);
/* Where a tx (by id from ul_chain_submit) is: committed (UL_OK, *height), pending
 * (UL_OK, *height = 0) or unknown (UL_E_NOT_FOUND). */
ul_err ul_chain_tx_status(ul_chain *c, const uint8_t id32[UL_HASH_BYTES], uint64_t *height);
/* What the contract says of a published release now. Buffers malloc'd (caller frees). */
typedef struct {
    bool installable;   /* every approval its kind requires, from current role keys */
    uint8_t *approvals; /* canonical approvals (ul_schema_approvals_decode), or NULL */
    size_t approvals_len;
    uint64_t revoked_height; /* 0: not revoked */
    uint8_t *reason;         /* revocation reason (not NUL-terminated), or NULL */
    size_t reason_len;
} ul_release_status;

ul_err ul_chain_release_status(ul_chain *c, const uint8_t id32[UL_HASH_BYTES],
                               ul_release_status *out);
void ul_release_status_free(ul_release_status *s);

/* State a device can ask to have proven (the state key is derived from the arguments). */
typedef enum {
    UL_STATE_INSTALLABLE = 1, /* ns, hw: installable releases, newest first (seq 8 BE, id 32)... */
    UL_STATE_APPROVALS = 2,   /* id: canonical approvals */
    UL_STATE_REVOCATION = 3,  /* id: height 8 BE, reason */
    UL_STATE_NAMESPACE = 4,   /* ns: registration height 8 BE, canonical policy */
    UL_STATE_VALIDATORS = 5,  /* (no argument): canonical set signing the block after h; absent
                                 until the first set change (then: the genesis set) */
} ul_state_kind;

/* Proves a state entry at committed height h (0: head) against that header's state root, past
 * heights as well as the head: every version of every state value is kept ('Y' state history).
 * Returns: UL_OK; UL_E_NOT_FOUND for a height above the head, or for a value not kept (one
 * changed after h in a data directory written before state history existed); UL_E_ARG for an
 * unknown kind, or an ns or hw the kind keys by that is empty; UL_E_LIMIT for one past
 * UL_MAX_NS_LEN or UL_MAX_LABEL_LEN (history, latest and namespace queries answer both alike);
 * UL_E_CORRUPT, UL_E_STORE.
 * Out: key hash, value (malloc'd, NULL when absent at h: the proof then shows non-membership). */
ul_err ul_chain_state_proof(ul_chain *c, ul_state_kind kind, ul_span ns, ul_span hw,
                            const uint8_t id32[UL_HASH_BYTES], uint64_t h,
                            uint8_t key_hash32[UL_HASH_BYTES], uint8_t **value, size_t *vlen,
                            ul_state_proof *proof);

/* The validator set that signs height h (h >= 1; the set named by header h's validators_hash):
 * the set of the last change at a height below h, else the genesis set. One seek in the store.
 * Returns: UL_OK; UL_E_NOT_FOUND for 0 or above the next height; UL_E_CORRUPT. */
ul_err ul_chain_valset_at(ul_chain *c, uint64_t h, ul_valset *out);
/* ul_chain_valset_at that also names the first height that set signs (*from: the height after
 * the block that changed to it, 1 for the genesis set). */
ul_err ul_chain_valset_since(ul_chain *c, uint64_t h, ul_valset *out, uint64_t *from);
/* Heights <= h whose header changes the set (next_validators_hash != validators_hash),
 * ascending, at most cap (UL_E_LIMIT when there are more): a scan of the 'V' index that stops
 * past h. UL_E_NOT_FOUND when h is above the head. */
ul_err ul_chain_valset_steps(ul_chain *c, uint64_t h, uint64_t *heights, size_t cap, size_t *n);

/* ---- Equivocation evidence (ledger/evidence.c) ---- */

/* Builds a signed evidence transaction (UL_TX_EVIDENCE, schema/ul_schema.h ul_evidence) that
 * accuses accused32 of signing both votes: the canonical vote bytes as signed, each with its
 * signature. Orders the two votes canonically (lower block hash first), takes as nonce the
 * reporter's last nonce, pending block included, + 1, and signs with reporter (UL_DOMAIN_TX).
 * It does not judge the votes: ul_chain_submit does (same type, height and round; heights
 * 1..head + 1; the accused a validator at that height; both signatures; reporter a validator of
 * the current set; not recorded before).
 * Returns: UL_OK and *tx (malloc'd, caller frees), *len; a vote's decoder error; UL_E_EVIDENCE
 * when both votes carry one block hash; UL_E_LIMIT for a vote over UL_MAX_VOTE_BYTES; UL_E_ARG. */
ul_err ul_chain_evidence_tx(ul_chain *c, const ul_key *reporter,
                            const uint8_t accused32[UL_PUBKEY_BYTES], const uint8_t *vote_a,
                            size_t la, const uint8_t sig_a[UL_SIG_BYTES], const uint8_t *vote_b,
                            size_t lb, const uint8_t sig_b[UL_SIG_BYTES], uint8_t **tx,
                            size_t *len);

/* One recorded equivocation (state 'S' 'e', under the state root; see ledger/internal.h). */
typedef struct {
    uint8_t accused[UL_PUBKEY_BYTES];
    uint64_t height;
    uint64_t round;
    uint64_t type;                /* ul_vote_type */
    uint64_t recorded_at;         /* height of the block that recorded it */
    uint8_t tx_id[UL_HASH_BYTES]; /* the evidence tx (SHA-256 of its bytes) */
} ul_evidence_entry;

/* Every recorded equivocation (committed), ordered by accused key, then height, round, type.
 * Out: out[0..*n). Returns: UL_OK; UL_E_LIMIT when more than cap exist (out holds the first cap);
 * UL_E_CORRUPT; UL_E_ARG. */
ul_err ul_chain_evidence_list(ul_chain *c, ul_evidence_entry *out, size_t cap, size_t *n);

/* ---- Freshness checkpoints (ledger/checkpoint.c) ---- */

/* Keeps cp as the chain's newest checkpoint when it is for the committed head, verifies (every
 * signature by the set signing the head's height, more than 2/3 of its power) and is newer than
 * the one kept: one meta record, overwritten (not synced: losing it costs one interval).
 * Returns: UL_OK; UL_E_EXISTS when the kept one is as new or newer; UL_E_CHECKPOINT for another
 * height or header; as ul_client_checkpoint_verify; UL_E_STORE and the like for the write. */
ul_err ul_chain_checkpoint_put(ul_chain *c, const ul_checkpoint *cp);
/* Out: *cp, the newest checkpoint kept, when it is for the committed head. Returns: UL_OK;
 * UL_E_NOT_FOUND when none is kept for the head; UL_E_CORRUPT. */
ul_err ul_chain_checkpoint_get(ul_chain *c, ul_checkpoint *cp);

/* A proof bundle (version 2, schema/ul_schema.h) for release id and hardware class hw against
 * committed height h (0: the head): every validator-set step from genesis, header h with its
 * commit (for the head, with the newest checkpoint's signatures instead when one is kept: a
 * CHECKPOINT section), the publish tx, its inclusion proof and the installable-list and
 * revocation state proofs for (record's namespace, hw) and id — whatever they show (the device
 * judges). Any committed height works: its state sections show the values header h's root holds.
 * Returns: UL_OK and *out (malloc'd); UL_E_NOT_FOUND for an unknown id or one logged after h (or,
 * as ul_chain_state_proof, a state value not kept); UL_E_HW_MISMATCH when the record does not
 * list hw; UL_E_LIMIT past UL_MAX_VALSET_STEPS steps. */
ul_err ul_chain_bundle(ul_chain *c, const uint8_t id32[UL_HASH_BYTES], ul_span hw, uint64_t h,
                       uint8_t **out, size_t *len);

/* ---- Audit: re-verify a whole chain from genesis ---- */

/* A source of blocks: fills block and commit bytes (malloc'd) for height h; UL_E_NOT_FOUND
 * past the head. */
typedef ul_err (*ul_block_source)(void *arg, uint64_t h, uint8_t **blk, size_t *blen, uint8_t **cm,
                                  size_t *clen);
typedef void (*ul_audit_progress)(void *arg, uint64_t height, uint64_t releases);

typedef struct {
    uint64_t height;   /* blocks verified */
    uint64_t releases; /* releases verified */
    uint8_t head[UL_HASH_BYTES];
    uint8_t log_root[UL_HASH_BYTES];
    uint64_t fail_height; /* set on failure */
} ul_audit_result;

/* Replays every block from height 1 into a scratch chain in scratch_dir (an empty directory the
 * caller creates and removes; NULL: on a memory disk, as a simulator audits): checks each header
 * links to its parent, each commit carries > 2/3 of the validator set's power with valid
 * signatures, every transaction and signature is valid, and the tx root, log root and size, state
 * root and validator hashes each header carries. */
ul_err ul_audit_run(const uint8_t *genesis, size_t glen, ul_block_source src, void *src_arg,
                    const char *scratch_dir, ul_audit_progress progress, void *progress_arg,
                    ul_audit_result *res);

/* Hex helpers (lower case). ul_hex_decode returns UL_E_ARG unless hex is exactly 2*n hex digits. */
void ul_hex_encode(char *out, const uint8_t *in, size_t n); /* out holds 2n+1 bytes */
ul_err ul_hex_decode(uint8_t *out, size_t n, const char *hex);

/* Writes a new file at path holding p[0..len) with exactly mode (umask aside), all or nothing:
 * a temporary file in the same directory, fsync, link (never replacing), fsync of the directory.
 * Returns: UL_OK; UL_E_EXISTS when path exists (it is left alone); UL_E_ARG for a path too long;
 * UL_E_IO. */
ul_err ul_file_write_new(const char *path, const void *p, size_t len, int mode);
/* Replaces (or creates) the file at path with p[0..len) and mode, all or nothing: a temporary
 * file beside it, fsync, rename over path, fsync of the directory. On return UL_OK the new
 * content is durable; on any error path holds what it held before. Returns: UL_OK; UL_E_ARG for
 * a path too long; UL_E_IO. */
ul_err ul_file_replace(const char *path, const void *p, size_t len, int mode);
/* Rewrites the existing regular file at path, of exactly len bytes (at most one sector,
 * UL_SIGN_STATE_FILE_BYTES), in place with p: one pwrite and fdatasync, no new inode, no
 * directory entry changed. A device writes the sector whole or not at all; the caller's format
 * must detect one that does not (a checksum).
 * Returns: UL_OK (durable); UL_E_NOT_FOUND (no file); UL_E_ARG (not a regular file of len bytes:
 * replace it whole instead); UL_E_NO_SPACE; UL_E_IO. */
ul_err ul_file_overwrite(const char *path, const void *p, size_t len);

/* ==== Sign state: a validator's double-sign guard, in its own file beside its key ==== */

/* The sign state of the key at key_path: "KEY.sign-state". Returns UL_E_ARG when it does not
 * fit cap bytes. */
ul_err ul_signstate_path(char *out, size_t cap, const char *key_path);
/* Reads and decodes the sign state at path; it must belong to pubkey. The file is one sector of
 * UL_SIGN_STATE_FILE_BYTES (length, record, zero padding, SHA-256 of the sector before it), or
 * the record alone as nodes before it wrote it.
 * Returns: UL_OK; UL_E_NOT_FOUND when there is no file; UL_E_SIGN_STATE when the file is not a
 * sign state (wrong size, checksum or padding, does not decode) or is another key's; UL_E_IO. */
ul_err ul_signstate_load(ul_sign_state *out, const char *path,
                         const uint8_t pubkey[UL_PUBKEY_BYTES]);
/* Writes st at path as a new file (ul_file_replace, mode 0600): durable on return UL_OK. */
ul_err ul_signstate_save(const char *path, const ul_sign_state *st);
/* Whether (height, round, step) comes strictly after the last signature of st. */
bool ul_signstate_after(const ul_sign_state *st, uint64_t height, uint64_t round, uint64_t step);
/* Out: *next, st after a signature at (height, round, step) with lock_hash (as advance records
 * it), without writing anything: for a sign state kept elsewhere than a file (a simulator's).
 * Returns: UL_OK; UL_E_SIGN_STATE when the step is not after the last. */
ul_err ul_signstate_next(ul_sign_state *next, const ul_sign_state *st, uint64_t height,
                         uint64_t round, uint64_t step, const uint8_t *lock_hash);
/* Records a signature at (height, round, step) in st and in its file, before the signature may
 * be released: lock_hash (NULL: none) is the block precommitted, which becomes the lock; a
 * signature at a new height drops the old height's lock. A file of the current layout is
 * rewritten in place (one sector, fdatasync); a missing or older one is replaced whole
 * (ul_signstate_save).
 * Returns: UL_OK (the file holds the new state); UL_E_SIGN_STATE when the step is not after the
 * last (nothing written); the write's error (st unchanged). */
ul_err ul_signstate_advance(ul_sign_state *st, const char *path, uint64_t height, uint64_t round,
                            uint64_t step, const uint8_t *lock_hash);

#endif
