/* Cross-file internals of ledger/: the pending-block overlay and the chain's private state. */
#ifndef UL_LEDGER_INTERNAL_H
#define UL_LEDGER_INTERNAL_H

#include <pthread.h>

#include "ul_ledger.h"

/* Writes of the pending block, readable before they are committed. Keys and values are copied. */
typedef struct {
    uint8_t *key;
    size_t klen;
    uint8_t *val;
    size_t vlen;
} ul_ov_entry;

/* A chunk of the overlay's arena: entries' keys and values, bump-allocated, freed together. */
typedef struct ul_ov_chunk {
    struct ul_ov_chunk *next;
    size_t used, cap;
    uint8_t data[];
} ul_ov_chunk;

typedef struct {
    ul_ov_entry *slots; /* open addressing; key == NULL marks a free slot */
    size_t cap;         /* power of two */
    size_t n;
    uint8_t seed[16];   /* SipHash key: hostile keys cannot force collisions */
    ul_ov_chunk *arena; /* newest chunk first; NULL until the first put */
} ul_overlay;

ul_err ul_overlay_init(ul_overlay *o);
void ul_overlay_free(ul_overlay *o);
void ul_overlay_clear(ul_overlay *o);
/* Inserts or replaces; UL_E_NOMEM leaves the overlay as it was. */
ul_err ul_overlay_put(ul_overlay *o, const uint8_t *key, size_t klen, const uint8_t *val,
                      size_t vlen);
const ul_ov_entry *ul_overlay_get(const ul_overlay *o, const uint8_t *key, size_t klen);

/* Index keys (see ul_ledger.h for families); state keys are built by ul_schema_statekey_*
 * (schema/statekey.c, docs/protocol.md section 6). Buffers hold UL_KEY_MAX bytes. */
#define UL_KEY_MAX (2 + UL_MAX_NS_LEN + 1 + UL_MAX_LABEL_LEN + 8)
_Static_assert(UL_KEY_MAX >= UL_STATEKEY_MAX_BYTES, "a key buffer holds every state key");
size_t ul_key_nshist(uint8_t *k, ul_span ns, uint64_t index);
size_t ul_key_h(uint8_t *k, uint8_t family, uint64_t h);
size_t ul_key_hi(uint8_t *k, uint8_t family, uint64_t h, uint32_t i);
size_t ul_key_id(uint8_t *k, uint8_t family, const uint8_t id32[UL_HASH_BYTES]);

typedef struct {
    uint8_t *bytes;
    size_t len;
    uint8_t leaf[UL_HASH_BYTES]; /* RFC 9162 leaf hash: used by the tx root and the log */
} ul_buf;

/* Signature cache (ledger/sigcache.c): RFC 9162 leaf hashes of txs whose every signature
 * verified. A leaf hash covers every byte of the tx, and its signatures depend only on those
 * bytes and the chain id, fixed per chain: a hit means the same verdict, so it is skipped. Which
 * keys may sign depends on state and is checked on every execution regardless. Failures are
 * never cached. Thread-safe: ul_verify_block_sigs' workers look up concurrently. */
typedef struct {
    uint8_t (*ring)[UL_HASH_BYTES]; /* UL_MAX_SIG_CACHE keys, FIFO; allocated at first add */
    uint32_t *index;                /* open addressing; 0 free, else ring slot + 1 */
    size_t mask;                    /* index slots - 1 (a power of two >= 2 x ring) */
    size_t n, next;                 /* entries held; ring slot written next (oldest when full) */
    uint64_t misses;                /* look-ups not found: signature verifications (tests) */
    pthread_mutex_t mu;
} ul_sigcache;

ul_err ul_sigcache_init(ul_sigcache *s); /* UL_E_NOMEM when the lock cannot be made */
void ul_sigcache_free(ul_sigcache *s);
/* Returns: true when leaf32 is held (counts a miss otherwise). */
bool ul_sigcache_has(ul_sigcache *s, const uint8_t leaf32[UL_HASH_BYTES]);
/* Adds leaf32 (no-op when held), evicting the oldest entry when full. Out of memory leaves the
 * cache empty: it only saves work. */
void ul_sigcache_add(ul_sigcache *s, const uint8_t leaf32[UL_HASH_BYTES]);
size_t ul_sigcache_size(ul_sigcache *s);

struct ul_chain {
    ul_store *store;
    ul_log *log;
    uint8_t *genesis_bytes;
    size_t genesis_len;
    ul_genesis genesis;
    uint8_t chain_id[UL_HASH_BYTES];
    /* The validator set that signs the next block (height + 1) and its hash; a set change
     * executed into the pending block waits in next_vals until that block commits. */
    ul_valset vals;
    uint8_t valset_hash[UL_HASH_BYTES];
    bool change_pending;
    ul_valset next_vals;
    uint8_t next_valset_hash[UL_HASH_BYTES];
    uint64_t txs_committed; /* since this chain was opened (metrics) */
    bool sync;              /* fsync every block (off only for audit's scratch chain) */
    bool sigs_checked;      /* the block being applied had every signature verified up front */
    const ul_txhash *pre;   /* its hashes, for the tx being submitted now (or NULL) */
    ul_sigcache sigcache;
    const uint8_t *exec_leaf; /* leaf hash of the tx ul_exec_tx runs now, for the cache */
    /* committed head */
    uint64_t height;
    uint8_t head_hash[UL_HASH_BYTES];
    ul_header head;
    uint64_t next_time_ms;
    /* pending block */
    ul_overlay ov;
    ul_batch *batch;
    ul_buf txs[UL_MAX_BLOCK_TXS];
    size_t n_txs;
    bool sealed;
    uint8_t sealed_hdr[UL_MAX_HEADER_BYTES];
    size_t sealed_len;
    ul_header sealed_h;
    uint8_t sealed_hash[UL_HASH_BYTES];
    struct ul_policy_memo *policy_memo; /* exec.c: decoded policies by their bytes (or NULL) */
};

/* State 'S' 'w' holds the canonical validator set that signs the next block, written by each
 * set change (absent until the first: the genesis set), under the state root. */
/* Loads the set that signs the next block (state 'Sw', else the genesis set) into c->vals and
 * checks that it is the set the head header names next (UL_E_CORRUPT otherwise). */
ul_err ul_chain_valset_load(ul_chain *c);
/* Returns: UL_OK when every key of vs is an x-only point; UL_E_KEY for a key that can never
 * sign (it could never vote, yet its power would count toward every quorum). */
ul_err ul_chain_valset_keys_check(const ul_valset *vs);
/* Checks that the pending block may change the set to next (a valid set): UL_E_VALSET_CHANGE
 * when the block already holds a change or next equals the current set; UL_E_KEY as
 * ul_chain_valset_keys_check. Out: next's hash. */
ul_err ul_chain_valset_check(const ul_chain *c, const ul_valset *next,
                             uint8_t hash32[UL_HASH_BYTES]);
/* Writes a checked set change into the pending block (state 'Sw' and history 'V' height) and
 * holds next as the set that signs from the next height on. */
ul_err ul_chain_valset_stage(ul_chain *c, const ul_valset *next,
                             const uint8_t hash32[UL_HASH_BYTES]);

/* One page of an index family whose keys are prefix[plen] then a log index (8 BE) and whose
 * values are vsize bytes each: from `from` up (or, newest_first, down), at most cap values into
 * out, reading one key more to know whether another page follows (ledger/query.c).
 * Out: *n values; *next, the index the next page starts at, and *more, whether there is one.
 * Returns: UL_E_CORRUPT for a key or value of another shape; the store's errors. */
ul_err ul_chain_page(ul_chain *c, const uint8_t *prefix, size_t plen, uint64_t from,
                     bool newest_first, uint8_t *out, size_t vsize, size_t cap, size_t *n,
                     uint64_t *next, bool *more);
/* Writes release id32's search entries into the pending block (ledger/search.c): its image
 * digest (digest32; NULL for an approval) and each key that signed t, under the release's log
 * index (the release must be in the pending block or the store). */
ul_err ul_search_index(ul_chain *c, const uint8_t *digest32, const ul_tx *t,
                       const uint8_t id32[UL_HASH_BYTES]);
/* Marks, in b, a new store's search indexes whole (written with its genesis). */
void ul_search_mark(ul_batch *b);
/* At open: a store written before the search indexes (no mark) gets them from every committed
 * publish and approval, then the mark, synced; a crash in between builds them again. One pass
 * over the stored transactions, once.
 * Returns: UL_OK; UL_E_CORRUPT for a stored tx that does not decode; the store's errors. */
ul_err ul_search_open(ul_chain *c);

/* Reads a key from the pending overlay, else the store, into buf[cap]. UL_E_NOT_FOUND, or
 * UL_E_CORRUPT when the value is larger than cap. */
ul_err ul_chain_read(ul_chain *c, const uint8_t *key, size_t klen, uint8_t *buf, size_t cap,
                     size_t *vlen);
/* Empties the pending block (keeps the log's pending appends: callers commit or roll back). */
void ul_chain_pending_reset(ul_chain *c);
/* Domain a transaction kind is signed under (UL_DOMAIN_COUNT_ for an unknown kind). */
ul_domain ul_exec_domain(uint64_t kind);
/* Verifies every signature of every transaction of a block and computes their hashes (into
 * hashes[n]) on all cores: none of it depends on state, so it can all be done before the
 * transactions execute in order. Txs in the signature cache are not verified again; when all
 * verify, all are added to it. */
ul_err ul_verify_block_sigs(ul_chain *c, const ul_span *txs, size_t n, ul_txhash *hashes);
/* The same for txs whose leaf hashes the caller computed over these bytes (hashes[i].leaf in). */
ul_err ul_verify_sigs_leaf_given(ul_chain *c, const ul_span *txs, size_t n, ul_txhash *hashes);
/* ul_chain_apply for a block whose signatures the caller already verified, and whose tx hashes
 * it computed, with ul_verify_block_sigs (pre: one per tx), or not (pre NULL): ul_chain_prepare
 * then ul_chain_commit. */
ul_err ul_chain_apply_checked(ul_chain *c, const uint8_t *block, size_t block_len,
                              const uint8_t *commit, size_t commit_len, const ul_txhash *pre);
/* Validates and executes one transaction into the pending block (ledger/exec.c). */
/* Frees a chain's decoded-policy memo (exec.c); NULL is fine. */
void ul_policy_memo_free(struct ul_policy_memo *m);
ul_err ul_exec_tx(ul_chain *c, const ul_buf *tx, uint32_t tx_index, uint8_t id32[UL_HASH_BYTES]);
/* RFC 9162 root over leaves whose leaf hashes are given. */
ul_err ul_merkle_root_of(uint8_t out32[UL_HASH_BYTES], const ul_buf *leaves, size_t n);

/* State history (ledger/statehist.c): 'Y' SHA-256(state key) height(8 BE) -> state value. */
/* Puts every state write of the pending block into c->batch as the version of block height. */
void ul_statehist_put(ul_chain *c, uint64_t height);
/* The committed value of state key[klen] (SHA-256 kh) that proof p, made against the state root
 * of header h, shows: *value NULL when p shows the key absent, else the value hashing to p's leaf
 * (malloc'd, caller frees). Returns: UL_OK; UL_E_NOT_FOUND when that value is not kept (it changed
 * after h in a store written before state history); UL_E_CORRUPT when the history disagrees with
 * the tree; UL_E_STORE, UL_E_NOMEM. */
ul_err ul_statehist_value(ul_chain *c, const uint8_t *key, size_t klen,
                          const uint8_t kh[UL_HASH_BYTES], uint64_t h, const ul_state_proof *p,
                          uint8_t **value, size_t *vlen);

/* Equivocation evidence (ledger/evidence.c). 'S' 'e' accused(32) height(8 BE) round(8 BE)
 * type(1) -> recording height (8 BE), evidence tx id (32): a state entry, under the state root. */
/* The state checks of an evidence tx t with decoded body ev, cheapest first: one signer
 * (UL_E_TX_INVALID) of the current set (UL_E_VALIDATOR); votes of one type, height and round
 * (UL_E_EVIDENCE); height 1..head + 1 (UL_E_HEIGHT); the accused in the set signing that height
 * (UL_E_EVIDENCE_VALIDATOR); not recorded yet, pending block included (UL_E_EVIDENCE_KNOWN). */
ul_err ul_evidence_check(ul_chain *c, const ul_evidence *ev, const ul_tx *t);
/* Both votes' signatures by the accused (UL_DOMAIN_VOTE, this chain): UL_E_SIG otherwise. */
ul_err ul_evidence_verify(ul_chain *c, const ul_evidence *ev);
/* Writes the record of a checked evidence into the pending block; id32: the tx id. */
ul_err ul_evidence_record(ul_chain *c, const ul_evidence *ev, const uint8_t id32[UL_HASH_BYTES]);

/* ==== Store backends: ledger/store.c keeps the public ul_store_ API and dispatches to LevelDB
 * (store_leveldb.c, the only file that includes it) or memory (store_mem.c, a simulated disk). */

/* What a backend does; store.c has checked the arguments and, for writes, the sticky fault. */
typedef struct {
    void (*close)(ul_store *s); /* frees s->be */
    ul_err (*get)(ul_store *s, const uint8_t *key, size_t klen, uint8_t **val, size_t *vlen);
    ul_err (*get_fixed)(ul_store *s, const uint8_t *key, size_t klen, uint8_t *out, size_t cap);
    ul_err (*write)(ul_store *s, ul_batch *b, bool sync);
    /* Positions it->be at start (it->desc: the greatest key <= start, else the least >= start,
     * not below it->prefix). */
    ul_err (*iter_seek)(ul_store_iter *it, const uint8_t *start, size_t slen);
    bool (*iter_next)(ul_store_iter *it, const uint8_t **key, size_t *klen, const uint8_t **val,
                      size_t *vlen);
    void (*iter_free)(ul_store_iter *it); /* frees it->be */
    ul_err (*get_floor)(ul_store *s, const uint8_t *prefix, size_t plen, const uint8_t *key,
                        size_t klen, uint8_t *found, size_t cap, size_t *flen, uint8_t **val,
                        size_t *vlen);
    ul_err (*verify)(ul_store *s, uint64_t *entries);
    ul_err (*recover)(ul_store *s); /* the fault is a failed write's */
    void (*compact)(ul_store *s);
    void (*size)(ul_store *s, uint64_t *approx, uint64_t *disk); /* ul_store_size */
} ul_store_ops;

/* One value of the store's read cache (store.c). */
typedef struct {
    bool used;
    bool absent; /* the key was read and is not in the store (val unused) */
    uint8_t klen;
    uint16_t vlen;
    uint8_t key[UL_STORE_CACHE_KEY_MAX];
    uint8_t val[UL_STORE_CACHE_VAL_MAX];
} ul_store_slot;

struct ul_store {
    const ul_store_ops *ops;
    void *be; /* the backend's state */
    /* Values read, and keys read absent, direct-mapped by key (NULL: none kept); every write
     * drops its keys before it, and no read is kept while writing is non-zero. gen counts the
     * drops and the writes' ends, so a read that raced a write is not kept; mu guards all. */
    ul_store_slot *cache;
    uint64_t gen;
    unsigned writing;
    pthread_mutex_t mu;
    /* Sticky: UL_E_CORRUPT once damage was read (never cleared); a write error (UL_E_NO_SPACE,
     * UL_E_STORE) stops all writes until ul_store_recover succeeds. */
    ul_err fault;
    char fault_text[UL_STORE_TEXT_MAX];
    ul_store_sync_stats sync_stats; /* synced writes and the time they took */
};

struct ul_store_iter {
    ul_store *s;
    void *be; /* the backend's cursor */
    uint8_t *prefix;
    size_t plen;
    bool started;
    bool desc; /* ul_store_iter_create_desc: steps back */
};

/* Returns: a new store of backend ops with state be, or NULL (out of memory). */
ul_store *ul_store_new(const ul_store_ops *ops, void *be);
/* Keeps what a failed call said (err, then context) as this thread's last error and, for damage
 * or a failed write (sticky), as s's fault (s may be NULL). Returns: e. */
ul_err ul_store_note(ul_store *s, ul_err e, const char *err, const char *context, bool sticky);
/* A key for a log line: the family, and the height for families keyed by height. */
void ul_store_describe_key(char *out, size_t cap, const uint8_t *k, size_t klen);
/* Returns: <0, 0, >0 as bytes a sort before, equal to, after bytes b (LevelDB's order). */
int ul_store_key_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);
/* Calls put (val non-NULL) or del (val NULL) for each write of b, in the order they were made. */
void ul_batch_iterate(const ul_batch *b, void *ctx,
                      void (*fn)(void *ctx, const uint8_t *key, size_t klen, const uint8_t *val,
                                 size_t vlen));

#endif
