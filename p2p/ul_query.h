/* The query endpoint's protocol, in one place: the methods, every request and reply key, and
 * typed builders and readers over ul_msg (schema/ul_schema.h) that the node, the CLI, the
 * benchmarks and the tests all use. p2p/README.md describes what each field means; the tables in
 * p2p/query.c are the definition: one entry per key (type, presence, bounds, where the typed
 * struct keeps it), from which both the node's request check and every reader follow.
 *
 * Nothing here allocates. Spans a reader fills point into the decoded message (and so into the
 * bytes it was decoded from); a builder's spans must outlive the message it fills. */
#ifndef UL_QUERY_H
#define UL_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../ledger/ul_ledger.h" /* ul_state_kind */
#include "../schema/ul_schema.h"

/* Query-endpoint methods (key 0 of a request). Append only. */
typedef enum {
    UL_RPC_STATUS = 1,
    UL_RPC_SUBMIT = 2,
    UL_RPC_TX_STATUS = 3,
    UL_RPC_BLOCK = 4,
    UL_RPC_RELEASE = 5,
    UL_RPC_HISTORY = 6,
    UL_RPC_LATEST = 7,
    UL_RPC_BUNDLE = 8, /* (id, height, hw class) -> bundle v2 bytes (ul_chain_bundle) */
    UL_RPC_NAMESPACE = 9,
    UL_RPC_NONCE = 10,
    UL_RPC_GENESIS = 11,
    UL_RPC_CONSISTENCY = 12,
    UL_RPC_RELEASE_AT = 13,
    UL_RPC_RELEASE_STATUS = 14,
    UL_RPC_STATE_PROOF = 15,
    UL_RPC_VALIDATORS = 16,
    UL_RPC_EVIDENCE = 17, /* () -> recorded equivocations (ul_chain_evidence_list) */
    UL_RPC_METRICS = 18,  /* () -> the Prometheus text page (node/metrics.h) */
    UL_RPC_SEARCH = 19, /* (digest | signer, cursor, limit, order) -> releases (ul_chain_search) */
} ul_rpc_method;
#define UL_RPC_METHOD_MAX UL_RPC_SEARCH

/* UL_RPC_EVIDENCE reply key 1: n entries of accused (32), height (8 BE), round (8 BE), vote type
 * (1), recorded at height (8 BE), evidence tx id (32). */
#define UL_RPC_EVIDENCE_ENTRY_BYTES 89
/* UL_RPC_SEARCH reply key 1: n entries of release id (32), height of its publish (8 BE). */
#define UL_RPC_SEARCH_ENTRY_BYTES UL_SEARCH_ENTRY_BYTES
/* UL_RPC_LATEST reply key 3: n entries of sequence (8 BE), release id (32). */
#define UL_RPC_INSTALLABLE_ENTRY_BYTES 40

/* Key 0: a request's method, a reply's ul_err (on error the only key). */
#define UL_QK_METHOD 0
#define UL_QK_ERR 0

/* Request keys, per method (methods without one take no field). */
enum {
    UL_QREQ_SUBMIT_TXS = 1, /* [signed tx items], 1..UL_MAX_SUBMIT_TXS */
    UL_QREQ_TX_STATUS_ID = 1,
    UL_QREQ_BLOCK_HEIGHT = 1,
    UL_QREQ_BLOCK_COUNT = 2, /* ? 1..UL_MAX_BLOCK_RANGE, default 1 */
    UL_QREQ_RELEASE_ID = 1,
    UL_QREQ_HISTORY_NS = 1,
    UL_QREQ_HISTORY_CURSOR = 2,  /* ? log index to start at */
    UL_QREQ_HISTORY_LIMIT = 3,   /* ? page size 1..UL_MAX_HISTORY */
    UL_QREQ_HISTORY_ORDER = 4,   /* ? 0 oldest first, 1 newest first */
    UL_QREQ_HISTORY_RECORDS = 5, /* ? 1: each release's fields too */
    UL_QREQ_LATEST_NS = 1,
    UL_QREQ_LATEST_HW = 2,
    UL_QREQ_BUNDLE_ID = 1,
    UL_QREQ_BUNDLE_HEIGHT = 2, /* ? 0 = head */
    UL_QREQ_BUNDLE_HW = 3,
    UL_QREQ_NAMESPACE_NS = 1,
    UL_QREQ_NONCE_PUBKEY = 1,
    UL_QREQ_CONSISTENCY_SIZE1 = 1,
    UL_QREQ_CONSISTENCY_SIZE2 = 2,
    UL_QREQ_RELEASE_AT_INDEX = 1,
    UL_QREQ_RELEASE_STATUS_ID = 1,
    UL_QREQ_STATE_PROOF_KIND = 1, /* ul_state_kind; then exactly the keys the kind reads */
    UL_QREQ_STATE_PROOF_NS = 2,   /* installable, namespace */
    UL_QREQ_STATE_PROOF_HW = 3,   /* installable */
    UL_QREQ_STATE_PROOF_ID = 4,   /* approvals, revocation */
    UL_QREQ_STATE_PROOF_HEIGHT = 5,
    UL_QREQ_VALIDATORS_HEIGHT = 1, /* ? 0 = the next block */
    UL_QREQ_SEARCH_DIGEST = 1,     /* image SHA-256 (32 bytes); exactly one of 1 and 2 */
    UL_QREQ_SEARCH_SIGNER = 2,     /* a publisher's or co-signer's public key (32 bytes) */
    UL_QREQ_SEARCH_CURSOR = 3,     /* ? log index to start at */
    UL_QREQ_SEARCH_LIMIT = 4,      /* ? page size 1..UL_MAX_SEARCH */
    UL_QREQ_SEARCH_ORDER = 5,      /* ? 0 oldest first, 1 newest first */
};

/* Reply keys, per method ("?": only when there is one). */
enum {
    UL_QREP_STATUS_HEIGHT = 1,
    UL_QREP_STATUS_CHAIN_ID = 2,
    UL_QREP_STATUS_LOG_SIZE = 3,
    UL_QREP_STATUS_POOLED = 4,
    UL_QREP_STATUS_HEAD = 5, /* ? head header (item), when height > 0 */
    UL_QREP_STATUS_ROUND = 6,
    UL_QREP_STATUS_PEER_RECEIVED = 7,
    UL_QREP_STATUS_PEER_MALFORMED = 8, /* malformed or oversized */
    UL_QREP_STATUS_PEER_BAD_SIG = 9,
    UL_QREP_STATUS_PEER_UNKNOWN = 10,
    UL_QREP_STATUS_SEND_DROPPED = 11,
    UL_QREP_STATUS_SIGN_HEIGHT = 12,    /* ? a validator's sign state: last signed height, */
    UL_QREP_STATUS_SIGN_ROUND = 13,     /* ? round, */
    UL_QREP_STATUS_SIGN_STEP = 14,      /* ? step (0 none, 1 proposal, 2 prevote, 3 precommit), */
    UL_QREP_STATUS_SIGN_REFUSING = 15,  /* ? why it does not sign: a ul_err, 0 while it signs, */
    UL_QREP_STATUS_SIGN_UNTIL = 16,     /* ? the height it waits to see committed (0: none), */
    UL_QREP_STATUS_SIGNED = 17,         /* ? signatures since it started */
    UL_QREP_STATUS_SYNC_TARGET = 18,    /* ? block sync's target: highest claim still trusted */
    UL_QREP_STATUS_CLAIMS_IGNORED = 19, /* ? peer head claims set aside */
    UL_QREP_STATUS_STORE_FAULT = 20,    /* ? a ul_err: the store's, or the sign state file's */
    UL_QREP_STATUS_STORE_TEXT = 21,     /* ? what failed (LevelDB's message, or the file) */
    UL_QREP_SUBMIT_RESULTS = 1,         /* [ul_q_submit_result], one per tx */
    UL_QREP_SUBMIT_RESULT_ERR = 1,      /* in each result */
    UL_QREP_SUBMIT_RESULT_ID = 2,
    UL_QREP_TX_STATUS_HEIGHT = 1,
    UL_QREP_BLOCK_BLOCKS = 1,
    UL_QREP_BLOCK_COMMITS = 2,
    UL_QREP_RELEASE_TX = 1, /* also each history record */
    UL_QREP_RELEASE_LOG_INDEX = 2,
    UL_QREP_RELEASE_HEIGHT = 3,
    UL_QREP_RELEASE_TX_INDEX = 4,
    UL_QREP_RELEASE_TIME_MS = 5,
    UL_QREP_HISTORY_IDS = 1,
    UL_QREP_HISTORY_NEXT = 2,    /* ? the cursor of the next page */
    UL_QREP_HISTORY_RECORDS = 3, /* ? [release fields] when the request asked */
    UL_QREP_LATEST_ID = 1,
    UL_QREP_LATEST_SEQ = 2,
    UL_QREP_LATEST_INSTALLABLE = 3,
    UL_QREP_BUNDLE_BUNDLE = 1,
    UL_QREP_NAMESPACE_BODY = 1,
    UL_QREP_NAMESPACE_HEIGHT = 2,
    UL_QREP_NONCE_NONCE = 1,
    UL_QREP_GENESIS_GENESIS = 1,
    UL_QREP_CONSISTENCY_PROOF = 1,
    UL_QREP_RELEASE_AT_ID = 1,
    UL_QREP_RELEASE_STATUS_INSTALLABLE = 1,
    UL_QREP_RELEASE_STATUS_APPROVALS = 2, /* ? */
    UL_QREP_RELEASE_STATUS_REVOKED = 3,
    UL_QREP_RELEASE_STATUS_REASON = 4, /* ? */
    UL_QREP_STATE_PROOF_PROOF = 1,
    UL_QREP_STATE_PROOF_KEY_HASH = 2,
    UL_QREP_STATE_PROOF_VALUE = 3, /* ? absent = non-membership */
    UL_QREP_STATE_PROOF_HEADER = 4,
    UL_QREP_VALIDATORS_HEIGHT = 1,
    UL_QREP_VALIDATORS_SET = 2,
    UL_QREP_VALIDATORS_FROM = 3,
    UL_QREP_VALIDATORS_HEAD = 4,
    UL_QREP_EVIDENCE_ENTRIES = 1,
    UL_QREP_METRICS_TEXT = 1,   /* bytes: the page, UTF-8 text */
    UL_QREP_SEARCH_ENTRIES = 1, /* bytes: n x UL_RPC_SEARCH_ENTRY_BYTES */
    UL_QREP_SEARCH_NEXT = 2,    /* ? the cursor of the next page */
};

/* Every typed struct below starts with `has`: bit k set when key k is there. A reader sets it;
 * a builder writes an optional key only when its bit is set (required keys always). */
#define UL_Q_BIT(key) (1u << (key))
#define UL_Q_HAS(x, key) (((x)->has & UL_Q_BIT(key)) != 0)

/* A list of embedded records: a builder reads items[n]; a reader fills wire (the encoded
 * array, walked with ul_msg_list_next) and n. */
typedef struct {
    const ul_span *items;
    size_t n;
    ul_span wire;
} ul_q_list;

/* A request, of any method: the fields of the method's keys (p2p/README.md), the rest zero. */
typedef struct {
    uint32_t has;
    uint64_t method;
    ul_q_list txs;   /* submit */
    ul_span id;      /* 32 bytes: tx status, release, bundle, release status, state proof */
    ul_span pubkey;  /* 32 bytes: nonce */
    ul_span ns, hw;  /* history, latest, bundle (hw), namespace, state proof */
    uint64_t height; /* block, bundle, state proof, validators */
    uint64_t count;  /* block */
    uint64_t cursor, limit, order, records; /* history */
    uint64_t size1, size2;                  /* consistency */
    uint64_t index;                         /* release at */
    uint64_t kind;                          /* state proof */
    ul_span digest, signer;                 /* search: 32 bytes, exactly one there */
} ul_q_req;

/* Reads a request: its method, then every key against what that method reads, before any field
 * is kept. Optional keys that are absent leave out's field as the caller set it (a default).
 * Returns: UL_OK; UL_E_PROTOCOL for no method, an unknown one, or one that is no uint; else as
 *          ul_msg_check (a key the method does not read, a required key absent: UL_E_SCHEMA_FIELD;
 *          a value of another type: UL_E_CBOR_TYPE; past its bound: UL_E_LIMIT; a state-proof
 *          kind outside 1..5 or an order or records flag outside 0..1: UL_E_ARG; a search
 *          with both a digest and a signer, or neither: UL_E_SCHEMA_FIELD). */
ul_err ul_q_req_read(const ul_msg *m, ul_q_req *out);
/* Writes r (r->method, then its keys: required ones always, optional ones when r->has says)
 * into m, which it initialises. */
void ul_q_req_put(ul_msg *m, const ul_q_req *r);

/* Request builders, one per method; each initialises m. */
void ul_q_status_req(ul_msg *m);
void ul_q_submit_req(ul_msg *m, const ul_span *txs, size_t n);
void ul_q_tx_status_req(ul_msg *m, const uint8_t id32[UL_HASH_BYTES]);
/* count 0: left out (the node sends one block). */
void ul_q_block_req(ul_msg *m, uint64_t height, uint64_t count);
void ul_q_release_req(ul_msg *m, const uint8_t id32[UL_HASH_BYTES]);
/* cursor NULL: the first page (the oldest, or the newest when newest_first); limit 0: the
 * node's page size (UL_MAX_HISTORY); records: each release's fields too. */
void ul_q_history_req(ul_msg *m, ul_span ns, const uint64_t *cursor, uint64_t limit,
                      bool newest_first, bool records);
void ul_q_latest_req(ul_msg *m, ul_span ns, ul_span hw);
/* height 0: the head. */
void ul_q_bundle_req(ul_msg *m, const uint8_t id32[UL_HASH_BYTES], uint64_t height, ul_span hw);
void ul_q_namespace_req(ul_msg *m, ul_span ns);
void ul_q_nonce_req(ul_msg *m, const uint8_t pubkey32[UL_PUBKEY_BYTES]);
void ul_q_genesis_req(ul_msg *m);
void ul_q_consistency_req(ul_msg *m, uint64_t size1, uint64_t size2);
void ul_q_release_at_req(ul_msg *m, uint64_t index);
void ul_q_release_status_req(ul_msg *m, const uint8_t id32[UL_HASH_BYTES]);
/* Writes exactly the keys kind reads: ns and hw (installable), id32 (approvals, revocation), ns
 * (namespace), none (validators); height 0 (the head) is left out. */
void ul_q_state_proof_req(ul_msg *m, uint64_t kind, ul_span ns, ul_span hw, const uint8_t *id32,
                          uint64_t height);
/* height 0: the next block (left out). */
void ul_q_validators_req(ul_msg *m, uint64_t height);
void ul_q_evidence_req(ul_msg *m);
void ul_q_metrics_req(ul_msg *m);
/* Exactly one of digest32 and signer32 (the other NULL). cursor NULL: the first page (the
 * oldest, or the newest when newest_first); limit 0: the node's page size (UL_MAX_SEARCH). */
void ul_q_search_req(ul_msg *m, const uint8_t *digest32, const uint8_t *signer32,
                     const uint64_t *cursor, uint64_t limit, bool newest_first);

/* Replies. The node fills one of these and writes it with its _put (after key 0, which the node
 * writes); a client reads it with its _read, which zeroes *out, checks every key the reply names
 * (type, presence, bounds, whole entries) before it keeps any, and leaves keys it does not know
 * alone (a newer node's). The spans it fills point into m's decoded bytes.
 * Returns: UL_OK; else the code of ul_msg_check for the first bad key (UL_E_SCHEMA_FIELD for a
 *          required key absent, a short value or bytes that are no whole number of entries;
 *          UL_E_CBOR_TYPE; UL_E_LIMIT; UL_E_ARG), and UL_E_SCHEMA_FIELD for lists that do not
 *          agree (blocks and commits, history ids and records). */
typedef struct {
    uint32_t has;
    uint64_t height;
    ul_span chain_id; /* 32 bytes */
    uint64_t log_size, pooled;
    ul_span head; /* ? header item */
    uint64_t round, peer_received, peer_malformed, peer_bad_sig, peer_unknown, send_dropped;
    uint64_t sign_height, sign_round, sign_step, sign_refusing, sign_until, signed_count; /* ? */
    uint64_t sync_target, claims_ignored;                                                 /* ? */
    uint64_t store_fault;                                                                 /* ? */
    ul_span store_text;                                                                   /* ? */
} ul_q_status_reply;

typedef struct {
    uint32_t has;
    ul_q_list results; /* each a ul_q_submit_result map */
} ul_q_submit_reply;

typedef struct {
    uint32_t has;
    uint64_t err; /* the tx's ul_err */
    ul_span id;   /* 32 bytes */
} ul_q_submit_result;

typedef struct {
    uint32_t has;
    uint64_t height; /* 0 = pooled */
} ul_q_tx_status_reply;

typedef struct {
    uint32_t has;
    ul_q_list blocks, commits; /* as many of each */
} ul_q_block_reply;

/* A release's record and where it is: method 5's reply, and each record of a history page. */
typedef struct {
    uint32_t has;
    ul_span tx; /* the publish tx (item) */
    uint64_t log_index, height, tx_index, time_ms;
} ul_q_release_reply;

typedef struct {
    uint32_t has;
    ul_span ids;       /* n x 32 bytes */
    uint64_t next;     /* ? the next page's cursor */
    ul_q_list records; /* ? n ul_q_release_reply maps */
} ul_q_history_reply;

typedef struct {
    uint32_t has;
    ul_span id; /* 32 bytes */
    uint64_t seq;
    ul_span installable; /* n x UL_RPC_INSTALLABLE_ENTRY_BYTES, n <= UL_MAX_INSTALLABLE_KEPT */
} ul_q_latest_reply;

typedef struct {
    uint32_t has;
    ul_span bundle;
} ul_q_bundle_reply;

typedef struct {
    uint32_t has;
    ul_span body; /* the register body (item) */
    uint64_t height;
} ul_q_namespace_reply;

typedef struct {
    uint32_t has;
    uint64_t nonce;
} ul_q_nonce_reply;

typedef struct {
    uint32_t has;
    ul_span genesis; /* item */
} ul_q_genesis_reply;

typedef struct {
    uint32_t has;
    ul_span proof; /* item */
} ul_q_consistency_reply;

typedef struct {
    uint32_t has;
    ul_span id; /* 32 bytes */
} ul_q_release_at_reply;

typedef struct {
    uint32_t has;
    uint64_t installable; /* 0 or 1 */
    ul_span approvals;    /* ? canonical approvals bytes */
    uint64_t revoked_height;
    ul_span reason; /* ? */
} ul_q_release_status_reply;

typedef struct {
    uint32_t has;
    ul_span proof;    /* item */
    ul_span key_hash; /* 32 bytes */
    ul_span value;    /* ? */
    ul_span header;   /* item */
} ul_q_state_proof_reply;

typedef struct {
    uint32_t has;
    uint64_t height;
    ul_span valset; /* canonical valset bytes */
    uint64_t from, head;
} ul_q_validators_reply;

typedef struct {
    uint32_t has;
    ul_span entries; /* n x UL_RPC_EVIDENCE_ENTRY_BYTES */
} ul_q_evidence_reply;

typedef struct {
    uint32_t has;
    ul_span text; /* the Prometheus text page */
} ul_q_metrics_reply;

typedef struct {
    uint32_t has;
    ul_span entries; /* n x UL_RPC_SEARCH_ENTRY_BYTES */
    uint64_t next;   /* ? */
} ul_q_search_reply;

void ul_q_status_reply_put(ul_msg *m, const ul_q_status_reply *r);
ul_err ul_q_status_reply_read(const ul_msg *m, ul_q_status_reply *out);
void ul_q_submit_reply_put(ul_msg *m, const ul_q_submit_reply *r);
ul_err ul_q_submit_reply_read(const ul_msg *m, ul_q_submit_reply *out);
void ul_q_submit_result_put(ul_msg *m, const ul_q_submit_result *r);
ul_err ul_q_submit_result_read(const ul_msg *m, ul_q_submit_result *out);
void ul_q_tx_status_reply_put(ul_msg *m, const ul_q_tx_status_reply *r);
ul_err ul_q_tx_status_reply_read(const ul_msg *m, ul_q_tx_status_reply *out);
void ul_q_block_reply_put(ul_msg *m, const ul_q_block_reply *r);
ul_err ul_q_block_reply_read(const ul_msg *m, ul_q_block_reply *out);
void ul_q_release_reply_put(ul_msg *m, const ul_q_release_reply *r);
ul_err ul_q_release_reply_read(const ul_msg *m, ul_q_release_reply *out);
void ul_q_history_reply_put(ul_msg *m, const ul_q_history_reply *r);
ul_err ul_q_history_reply_read(const ul_msg *m, ul_q_history_reply *out);
void ul_q_latest_reply_put(ul_msg *m, const ul_q_latest_reply *r);
ul_err ul_q_latest_reply_read(const ul_msg *m, ul_q_latest_reply *out);
void ul_q_bundle_reply_put(ul_msg *m, const ul_q_bundle_reply *r);
ul_err ul_q_bundle_reply_read(const ul_msg *m, ul_q_bundle_reply *out);
void ul_q_namespace_reply_put(ul_msg *m, const ul_q_namespace_reply *r);
ul_err ul_q_namespace_reply_read(const ul_msg *m, ul_q_namespace_reply *out);
void ul_q_nonce_reply_put(ul_msg *m, const ul_q_nonce_reply *r);
ul_err ul_q_nonce_reply_read(const ul_msg *m, ul_q_nonce_reply *out);
void ul_q_genesis_reply_put(ul_msg *m, const ul_q_genesis_reply *r);
ul_err ul_q_genesis_reply_read(const ul_msg *m, ul_q_genesis_reply *out);
void ul_q_consistency_reply_put(ul_msg *m, const ul_q_consistency_reply *r);
ul_err ul_q_consistency_reply_read(const ul_msg *m, ul_q_consistency_reply *out);
void ul_q_release_at_reply_put(ul_msg *m, const ul_q_release_at_reply *r);
ul_err ul_q_release_at_reply_read(const ul_msg *m, ul_q_release_at_reply *out);
void ul_q_release_status_reply_put(ul_msg *m, const ul_q_release_status_reply *r);
ul_err ul_q_release_status_reply_read(const ul_msg *m, ul_q_release_status_reply *out);
void ul_q_state_proof_reply_put(ul_msg *m, const ul_q_state_proof_reply *r);
ul_err ul_q_state_proof_reply_read(const ul_msg *m, ul_q_state_proof_reply *out);
void ul_q_validators_reply_put(ul_msg *m, const ul_q_validators_reply *r);
ul_err ul_q_validators_reply_read(const ul_msg *m, ul_q_validators_reply *out);
void ul_q_evidence_reply_put(ul_msg *m, const ul_q_evidence_reply *r);
ul_err ul_q_evidence_reply_read(const ul_msg *m, ul_q_evidence_reply *out);
void ul_q_metrics_reply_put(ul_msg *m, const ul_q_metrics_reply *r);
ul_err ul_q_metrics_reply_read(const ul_msg *m, ul_q_metrics_reply *out);
void ul_q_search_reply_put(ul_msg *m, const ul_q_search_reply *r);
ul_err ul_q_search_reply_read(const ul_msg *m, ul_q_search_reply *out);

/* An embedded record of a list (a submit result, a history record): decodes item into *scratch
 * and reads it as above. out's spans point into item. */
ul_err ul_q_submit_result_decode(ul_msg *scratch, ul_span item, ul_q_submit_result *out);
ul_err ul_q_release_record_decode(ul_msg *scratch, ul_span item, ul_q_release_reply *out);

#endif
