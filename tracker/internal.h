/* upledger-tracker internals shared by its files: the node follower, the report verifier and
 * the HTTP server. */
#ifndef UL_TRACKER_INTERNAL_H
#define UL_TRACKER_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>

#include "../ledger/ul_ledger.h"
#include "ul_tracker.h"

/* Milliseconds since the epoch (the tracker's clock: silence, received times). */
uint64_t ul_tracker_now_ms(void);

/* ---- the node (tracker/poll.c) ---- */
typedef struct {
    int sock;
    int timeout_ms;
} ul_tnode;

typedef struct {
    uint64_t height;
    uint8_t chain_id[UL_HASH_BYTES];
    size_t pairs, releases;         /* asked about */
    size_t latest_changed, revoked; /* answers that reclassified */
} ul_tpoll_stats;

ul_err ul_tnode_open(ul_tnode *n, const char *endpoint, int timeout_ms);
void ul_tnode_close(ul_tnode *n);
ul_err ul_tnode_status(ul_tnode *n, uint64_t *height, uint8_t chain_id32[UL_HASH_BYTES]);
/* One poll: the node's status (UL_E_CHAIN_ID, nothing written, when chain_id32 is not NULL and
 * the node follows another chain), then every (namespace, class) pair and every release not
 * known revoked that the store holds, each answer written (under mu, when not NULL) as it comes. */
ul_err ul_tnode_poll(ul_tnode *n, ul_tstore *s, pthread_mutex_t *mu, const uint8_t *chain_id32,
                     ul_tpoll_stats *out);

/* ---- reports (tracker/report.c): the codec's signed report to a ul_treport ---- */
typedef struct {
    uint8_t tracker[UL_PUBKEY_BYTES]; /* this tracker's key: reports name it */
    uint8_t chain_id[UL_HASH_BYTES];  /* the chain the tracker follows: reports bind it */
    ul_key *key;                      /* signs the answers */
} ul_tident;

/* Decodes and verifies a signed report. Returns: UL_OK and *out; UL_E_SIG for a signature that
 * does not verify; UL_E_TRACKER for a report addressed to another tracker; the codec's error for
 * bytes that are no canonical report (UL_E_LIMIT past a bound). */
ul_err ul_treport_verify(const ul_tident *id, const uint8_t *in, size_t len, ul_treport *out);
/* Encodes the answer to a report into out[cap] (*len). */
ul_err ul_treport_answer(const ul_tident *id, const ul_treport *r, const ul_tadvice *a,
                         uint8_t *out, size_t cap, size_t *len);
/* Signs an encoded record whose last entry is its 64-byte signature (a reply, a summary) in
 * place with the tracker's key under domain d (client/ul_client.h ul_client_record_digest). */
ul_err ul_tsign_record(const ul_tident *id, ul_domain d, uint8_t *rec, size_t len);
/* The largest report body the tracker reads (a larger POST is refused with UL_E_LIMIT). */
size_t ul_treport_max_bytes(void);

/* ---- cascading (tracker/cascade.c) ---- */
typedef struct {
    const char *url;              /* the upstream tracker's base URL */
    uint8_t key[UL_PUBKEY_BYTES]; /* its key: summaries are addressed to it */
    const char *cert;             /* PEM: the only certificate trusted for it (NULL: none) */
} ul_tupstream;

struct ul_tracker_state;
/* A signed summary of the fleet below t (its devices and its downstream trackers' counts) for
 * upstream to32, with the next summary counter (stored first). *out is malloc'd. */
ul_err ul_tsummary_build(struct ul_tracker_state *t, const uint8_t to32[UL_PUBKEY_BYTES],
                         uint8_t **out, size_t *len);
/* Verifies and stores a summary from a downstream tracker: UL_E_SIG, UL_E_TRACKER (for another
 * upstream), UL_E_UNENROLLED, UL_E_REPORT_REPLAY, UL_E_LIMIT, the codec's errors. */
ul_err ul_tsummary_accept(struct ul_tracker_state *t, const uint8_t *body, size_t len);
/* POSTs body to u's /v1/summaries. msg[cap] says what happened (a 4xx's JSON included). */
ul_err ul_tupstream_send(const ul_tupstream *u, const uint8_t *body, size_t len, char *msg,
                         size_t cap);
/* Builds and sends one summary. */
ul_err ul_tupstream_push(struct ul_tracker_state *t, const ul_tupstream *u, char *msg, size_t cap);

/* ---- the HTTP API (tracker/http.c) ---- */
typedef struct ul_thttp ul_thttp;

/* Connection threads by default: each verifies the reports of its connections, and while one
 * thread commits a batch the others verify the next; more threads than cores keep the batches
 * full (a thread waiting for its commit holds no CPU). */
#define UL_TRACKER_HTTP_THREADS 8

typedef struct {
    const char *listen_addr; /* "127.0.0.1" */
    unsigned port;
    const char *tls_cert, *tls_key; /* PEM paths; both or neither */
    unsigned threads;               /* connection threads (0: UL_TRACKER_HTTP_THREADS) */
} ul_thttp_opts;

/* A report waiting for the group commit (tracker/ingest.c). */
typedef struct ul_tpending {
    ul_taccept it;
    bool done;
    struct ul_tpending *next;
} ul_tpending;

typedef struct ul_tracker_state {
    ul_tstore *store;
    pthread_mutex_t mu; /* held around every call on store (the writer) */
    /* Group commit: verified reports queue here; one thread at a time writes what is queued (at
     * most UL_MAX_TRACKER_BATCH) in one transaction while the others wait for their verdict. */
    pthread_mutex_t q_mu;
    pthread_cond_t q_cv;
    ul_tpending *q_head, *q_tail;
    bool q_writing;
    /* A second connection for the read API (WAL: it reads while the writer writes, so a long
     * summary never holds reports up); NULL: reads go to store under mu. */
    ul_tstore *reader;
    pthread_mutex_t read_mu;
    ul_tident ident;
    /* Counters (under mu): accepted and refused reports since start. */
    uint64_t accepted, refused;
} ul_tracker_state;

/* The fleet page (tracker/fleet.html, built in: tracker/page.c). */
const char *ul_tracker_page_get(size_t *len);

/* The reading connection, locked (reader, or store under mu); release with ul_tracker_read_end. */
ul_tstore *ul_tracker_read_begin(ul_tracker_state *t);
void ul_tracker_read_end(ul_tracker_state *t);

/* Starts serving; errmsg[cap] says why it could not. */
ul_err ul_thttp_start(ul_thttp **out, ul_tracker_state *t, const ul_thttp_opts *o, char *errmsg,
                      size_t cap);
void ul_thttp_stop(ul_thttp *h);

/* Initialises t's locks (the rest of *t zeroed); ul_tracker_state_destroy releases them. */
void ul_tracker_state_init(ul_tracker_state *t);
void ul_tracker_state_destroy(ul_tracker_state *t);

/* Handles one POST /v1/reports body (also what the benchmark calls in process). Out: the HTTP
 * status, and either the CBOR answer (ok) or the ul_err refusing it. */
ul_err ul_tracker_ingest(ul_tracker_state *t, const uint8_t *body, size_t len, uint8_t *answer,
                         size_t cap, size_t *answer_len);

/* JSON for the read API and `list --json` (tracker/json.c); callers json_decref. */
#include <jansson.h>
json_t *ul_tjson_device(const ul_tdevice *d);
/* The fleet page of devices: {"devices":[...],"next":N|null}. */
ul_err ul_tjson_list(ul_tstore *s, const ul_tquery *q, json_t **out);
ul_err ul_tjson_summary(ul_tstore *s, uint64_t now_ms, json_t **out);
/* A device and its report history (each report's bytes in hex). */
ul_err ul_tjson_device_history(ul_tstore *s, const uint8_t pubkey32[UL_PUBKEY_BYTES],
                               uint64_t now_ms, json_t **out);

#endif
