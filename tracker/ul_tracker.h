/* upledger-tracker, the X.1368 status tracker: the owner's view of its fleet from signed device
 * reports, classified against what the ledger says is installable or revoked.
 *
 * Layers: tracker/ -> p2p/ (the node's query endpoint) and ledger/ (keys) -> client/, schema/.
 *
 * The store (tracker/store.c) is one SQLite file in WAL mode. Its schema and every query are
 * plain SQL (tables, indexes, INSERT ... ON CONFLICT, UPDATE with correlated subqueries, keyset
 * pagination): nothing below depends on SQLite beyond the adapter's open and pragmas, so a fleet
 * that outgrows one machine can move the same statements to a server engine (PostgreSQL takes
 * them as written, BLOB spelled BYTEA). A ul_tstore is used by one thread at a time: the daemon
 * holds a lock around each call. */
#ifndef UL_TRACKER_H
#define UL_TRACKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../schema/ul_limits.h"
#include "../schema/ul_schema.h"

/* A component's status, most urgent last (lists and counts use these names). */
typedef enum {
    UL_TS_UP_TO_DATE = 0,
    UL_TS_OUTDATED = 1,   /* a newer installable release exists for its (namespace, class) */
    UL_TS_FAILING = 2,    /* its last attempt failed, or it fell back */
    UL_TS_VULNERABLE = 3, /* it runs a revoked release */
    UL_TS_SILENT = 4,     /* device-level: no report for longer than its group's interval */
    UL_TS_UNKNOWN = 5,    /* device-level: enrolled, no component reported yet */
} ul_tstatus;
#define UL_TS_COUNT 6

/* "up_to_date", "outdated", "failing", "vulnerable", "silent", "unknown". */
const char *ul_tstatus_name(ul_tstatus s);
/* Returns: true and *out for one of the names above. */
bool ul_tstatus_parse(const char *name, ul_tstatus *out);

/* A component's slot state, as the device reports it. */
typedef enum { UL_TSLOT_RUNNING = 0, UL_TSLOT_TRIAL = 1, UL_TSLOT_FELL_BACK = 2 } ul_tslot;

/* A verified report, as the store keeps it (the codec's fields the fleet view needs). */
typedef struct {
    char ns[UL_MAX_NS_LEN + 1];
    uint8_t release_id[UL_HASH_BYTES];
    uint64_t seq;
    ul_tslot slot;
    bool failed; /* its last attempt failed (the report's attempt concerns this component) */
} ul_tcomponent;

typedef struct {
    uint8_t device[UL_PUBKEY_BYTES];
    uint64_t counter;
    uint64_t time_ms; /* the device's clock */
    char hw[UL_MAX_LABEL_LEN + 1];
    size_t n_comp;
    ul_tcomponent comp[UL_MAX_COMPONENTS];
    bool has_attempt;
    uint8_t attempt_id[UL_HASH_BYTES];
    uint64_t attempt_err; /* a ul_err; 0: it succeeded */
    uint64_t attempt_ms;
    uint64_t head_height;
    uint8_t head_hash[UL_HASH_BYTES];
} ul_treport;

/* The answer to a report: update component ns to release_id, or nothing to do. */
typedef struct {
    bool update;
    char ns[UL_MAX_NS_LEN + 1];
    uint8_t release_id[UL_HASH_BYTES];
    uint64_t seq;
} ul_tadvice;

/* ==== Store (tracker/store.c) ==== */
typedef struct ul_tstore ul_tstore;

/* Opens (creating when absent) the store at path: WAL, synchronous=NORMAL (an acknowledged
 * report is in the WAL file before the answer leaves, so killing the process loses none),
 * foreign keys on. Returns: UL_OK; UL_E_IO, UL_E_LOCKED, UL_E_NO_SPACE, with errmsg[cap] saying
 * why (SQLite's message). */
ul_err ul_tstore_open(ul_tstore **out, const char *path, char *errmsg, size_t cap);
void ul_tstore_close(ul_tstore *s);
/* The last SQL error's text (for one line of a failure); "" when none. */
const char *ul_tstore_errmsg(const ul_tstore *s);

/* Meta values: "tracker_key" (32 bytes), "chain_id" (32 bytes), ... Returns UL_E_NOT_FOUND when
 * absent, UL_E_LIMIT when the value is longer than cap. */
ul_err ul_tstore_meta_get(ul_tstore *s, const char *k, uint8_t *out, size_t cap, size_t *len);
ul_err ul_tstore_meta_put(ul_tstore *s, const char *k, const uint8_t *v, size_t len);

/* Creates group name, or changes its silence interval. UL_E_LIMIT past UL_MAX_LABEL_LEN, UL_E_ARG
 * for an empty name or an interval of 0. */
ul_err ul_tstore_group_set(ul_tstore *s, const char *name, uint64_t silence_s);
/* Enrolls a device in group (created with UL_TRACKER_DEFAULT_SILENCE_S when new), or moves an
 * enrolled one to it. now_ms starts its silence clock. */
ul_err ul_tstore_enroll(ul_tstore *s, const uint8_t pubkey32[UL_PUBKEY_BYTES], const char *group,
                        uint64_t now_ms);
/* Enrolls many in one transaction (files, benchmarks): all or none. */
ul_err ul_tstore_enroll_many(ul_tstore *s, const uint8_t *pubkeys, size_t n, const char *group,
                             uint64_t now_ms);

/* Stores a verified report (raw: its signed bytes, kept as history) in one transaction, after
 * checking it against the device's enrollment: UL_E_UNENROLLED for a key not enrolled,
 * UL_E_REPORT_REPLAY for a counter not above the last accepted. On any error nothing is stored.
 * The device's components are replaced by the report's and classified; *advice says what the
 * device should install next (the first component with a newer installable release). */
ul_err ul_tstore_accept(ul_tstore *s, const ul_treport *r, const uint8_t *raw, size_t raw_len,
                        uint64_t now_ms, ul_tadvice *advice);

/* Group commit: a batch of verified reports stored in one transaction, each judged as
 * ul_tstore_accept judges one (in order: a device's two reports in one batch are checked one
 * after the other). Out: each item's err and advice. A store failure fails every item, and
 * nothing of the batch is stored. Returns: UL_OK, or that failure. */
typedef struct {
    const ul_treport *r;
    const uint8_t *raw;
    size_t raw_len;
    ul_tadvice advice; /* out */
    ul_err err;        /* out */
} ul_taccept;
ul_err ul_tstore_accept_many(ul_tstore *s, ul_taccept *items, size_t n, uint64_t now_ms);

/* What the ledger says, as the poller learns it. */
/* Out: the (namespace, class) pairs devices run, and the releases not known revoked, that the
 * poller asks the node about. Each callback returns UL_OK to go on. */
typedef ul_err (*ul_tpair_fn)(void *ctx, const char *ns, const char *hw);
typedef ul_err (*ul_trelease_fn)(void *ctx, const uint8_t id32[UL_HASH_BYTES]);
ul_err ul_tstore_each_pair(ul_tstore *s, ul_tpair_fn fn, void *ctx);
ul_err ul_tstore_each_unrevoked(ul_tstore *s, ul_trelease_fn fn, void *ctx);
/* Sets the latest installable release of (ns, hw) (seq 0 and id NULL: none installable) and, when
 * it changed, reclassifies that pair's components in one UPDATE. *changed says whether it did. */
ul_err ul_tstore_set_latest(ul_tstore *s, const char *ns, const char *hw, const uint8_t *id32,
                            uint64_t seq, bool *changed);
/* Marks a release revoked at height and reclassifies every component running it in one UPDATE. */
ul_err ul_tstore_set_revoked(ul_tstore *s, const uint8_t id32[UL_HASH_BYTES], uint64_t height);
/* Reclassifies every component (one UPDATE; after a restore or a schema change). */
ul_err ul_tstore_reclassify_all(ul_tstore *s);

/* Reading the fleet. */
typedef struct {
    ul_tstatus status; /* filter: devices with a component in this status, or silent ones */
    const char *ns;    /* NULL: any */
    const char *group; /* NULL: any */
    const char *hw;    /* NULL: any */
    int64_t after;     /* keyset cursor: devices with a row id above it (0: from the start) */
    size_t limit;      /* 1..UL_MAX_TRACKER_PAGE */
    uint64_t now_ms;   /* for silence */
} ul_tquery;

typedef struct {
    int64_t row; /* the cursor value */
    uint8_t pubkey[UL_PUBKEY_BYTES];
    char group[UL_MAX_LABEL_LEN + 1];
    char hw[UL_MAX_LABEL_LEN + 1];
    uint64_t seen_ms, counter, silence_ms;
    bool silent;
    size_t n_comp;
    ul_tcomponent comp[UL_MAX_COMPONENTS];
    ul_tstatus comp_status[UL_MAX_COMPONENTS];
    uint64_t attempt_err;
    ul_tstatus status; /* the most urgent of its components' and silence */
} ul_tdevice;

/* Calls fn for each device of the page, in row order; *next is the cursor of the next page (0:
 * this was the last). */
typedef ul_err (*ul_tdevice_fn)(void *ctx, const ul_tdevice *d);
ul_err ul_tstore_list(ul_tstore *s, const ul_tquery *q, ul_tdevice_fn fn, void *ctx, int64_t *next);
/* One device by key: UL_E_UNENROLLED when it is not enrolled. */
ul_err ul_tstore_device(ul_tstore *s, const uint8_t pubkey32[UL_PUBKEY_BYTES], uint64_t now_ms,
                        ul_tdevice *out);
/* Its kept reports, newest first: fn(ctx, counter, received_ms, raw, len). */
typedef ul_err (*ul_thistory_fn)(void *ctx, uint64_t counter, uint64_t received_ms,
                                 const uint8_t *raw, size_t len);
ul_err ul_tstore_history(ul_tstore *s, const uint8_t pubkey32[UL_PUBKEY_BYTES], ul_thistory_fn fn,
                         void *ctx);

/* Counts: fn(ctx, "group", group name a, NULL, NULL, status, n) for devices by group and most
 * urgent status (vulnerable, silent, unknown, failing, outdated, up to date); then fn(ctx,
 * "component", ns a, class b, release id hex c, status, n) for components. */
typedef ul_err (*ul_tcount_fn)(void *ctx, const char *kind, const char *a, const char *b,
                               const char *c, ul_tstatus st, uint64_t n);
ul_err ul_tstore_summary(ul_tstore *s, uint64_t now_ms, ul_tcount_fn fn, void *ctx);

/* ---- Cascading (X.1368 8.2.3): downstream trackers send signed summaries upstream ---- */

/* One count of a summary: devices' components of class hw running release_id of ns, in a
 * status as on the wire (ul_fleet_status, schema/ul_schema.h). */
typedef struct {
    char ns[UL_MAX_NS_LEN + 1];
    char hw[UL_MAX_LABEL_LEN + 1];
    uint8_t release_id[UL_HASH_BYTES];
    uint64_t status, count;
} ul_tcount;

/* Enrolls a downstream tracker by its key (or renames one). */
ul_err ul_tstore_enroll_tracker(ul_tstore *s, const uint8_t pubkey32[UL_PUBKEY_BYTES],
                                const char *name);
/* Stores a verified summary from downstream tracker from32, replacing its earlier counts, in one
 * transaction: UL_E_UNENROLLED for a tracker not enrolled, UL_E_REPORT_REPLAY for a counter not
 * above its last; nothing stored then. */
ul_err ul_tstore_accept_summary(ul_tstore *s, const uint8_t from32[UL_PUBKEY_BYTES],
                                uint64_t counter, const ul_tcount *c, size_t n, uint64_t now_ms);
/* The fleet below this tracker, counted: its own components plus every downstream's last
 * summary, summed per (ns, class, release, status), in that order. */
typedef ul_err (*ul_tfleet_fn)(void *ctx, const ul_tcount *c);
ul_err ul_tstore_fleet_counts(ul_tstore *s, uint64_t now_ms, ul_tfleet_fn fn, void *ctx);
/* Each enrolled downstream tracker: key, name, last counter, when its last summary came, and the
 * components it counted. */
typedef ul_err (*ul_ttracker_fn)(void *ctx, const uint8_t key32[UL_PUBKEY_BYTES], const char *name,
                                 uint64_t counter, uint64_t seen_ms, uint64_t components);
ul_err ul_tstore_each_tracker(ul_tstore *s, ul_ttracker_fn fn, void *ctx);

#endif
