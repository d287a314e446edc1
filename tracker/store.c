/* The tracker's store: devices, groups, reports, and what the ledger says (latest installable per
 * (namespace, class), revocations), in one SQLite file; classification is set-based SQL.
 * The statements are plain SQL a server engine takes as written (see ul_tracker.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "../ledger/ul_ledger.h"
#include "ul_tracker.h"

/* The schema. Keys and release ids are 32-byte BLOBs; times are ms since the epoch.
 * components.status is a ul_tstatus (0..3), kept by CLASSIFY below; silence is computed when
 * read (seen_ms against the group's interval), so it needs no writer and is never stale. */
static const char SCHEMA[] =
    "CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v BLOB NOT NULL);"
    "CREATE TABLE IF NOT EXISTS groups (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
    " silence_ms INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS devices (id INTEGER PRIMARY KEY, pubkey BLOB NOT NULL UNIQUE,"
    " grp INTEGER NOT NULL REFERENCES groups(id), enrolled_ms INTEGER NOT NULL,"
    " seen_ms INTEGER NOT NULL, counter INTEGER NOT NULL DEFAULT 0, hw TEXT NOT NULL DEFAULT '',"
    " attempt_err INTEGER NOT NULL DEFAULT 0, head_height INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX IF NOT EXISTS devices_seen ON devices (seen_ms);"
    "CREATE INDEX IF NOT EXISTS devices_grp ON devices (grp, id);"
    "CREATE TABLE IF NOT EXISTS components (device_id INTEGER NOT NULL REFERENCES devices(id),"
    " ns TEXT NOT NULL, hw TEXT NOT NULL, release_id BLOB NOT NULL, seq INTEGER NOT NULL,"
    " slot INTEGER NOT NULL, failed INTEGER NOT NULL, status INTEGER NOT NULL DEFAULT 0,"
    " PRIMARY KEY (device_id, ns));"
    "CREATE INDEX IF NOT EXISTS components_status ON components (status, device_id);"
    "CREATE INDEX IF NOT EXISTS components_ns ON components (ns, status, device_id);"
    "CREATE INDEX IF NOT EXISTS components_pair ON components (ns, hw);"
    "CREATE INDEX IF NOT EXISTS components_release ON components (release_id);"
    "CREATE TABLE IF NOT EXISTS reports (device_id INTEGER NOT NULL REFERENCES devices(id),"
    " counter INTEGER NOT NULL, received_ms INTEGER NOT NULL, body BLOB NOT NULL,"
    " PRIMARY KEY (device_id, counter));"
    "CREATE TABLE IF NOT EXISTS latest (ns TEXT NOT NULL, hw TEXT NOT NULL, release_id BLOB,"
    " seq INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (ns, hw));"
    "CREATE TABLE IF NOT EXISTS releases (id BLOB PRIMARY KEY,"
    " revoked INTEGER NOT NULL DEFAULT 0);"
    /* Cascading: downstream trackers enrolled by key, and the counts of their last summary
     * (status: a ul_fleet_status, as on the wire). */
    "CREATE TABLE IF NOT EXISTS trackers (id INTEGER PRIMARY KEY, pubkey BLOB NOT NULL UNIQUE,"
    " name TEXT NOT NULL, counter INTEGER NOT NULL DEFAULT 0, seen_ms INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE IF NOT EXISTS downstream (tracker_id INTEGER NOT NULL REFERENCES trackers(id),"
    " ns TEXT NOT NULL, hw TEXT NOT NULL, release_id BLOB NOT NULL, status INTEGER NOT NULL,"
    " n INTEGER NOT NULL, PRIMARY KEY (tracker_id, ns, hw, release_id, status));";

/* A component's status from what the ledger says: vulnerable (runs a revoked release) before
 * failing (last attempt failed, or fell back) before outdated (a newer installable release for
 * its pair). One expression over the component's columns (or a new row's parameters), used by
 * every reclassifying UPDATE with its own WHERE and by the report's upsert. */
#define CLASSIFY_EXPR(REL, FAILED, SLOT, NS, HW, SEQ)                                              \
    "CASE WHEN EXISTS (SELECT 1 FROM releases r WHERE r.id = " REL " AND r.revoked > 0) THEN 3"    \
    " WHEN " FAILED " <> 0 OR " SLOT " = 2 THEN 2"                                                 \
    " WHEN EXISTS (SELECT 1 FROM latest l WHERE l.ns = " NS " AND l.hw = " HW "  AND l.seq > " SEQ \
    ") THEN 1 ELSE 0 END"
#define CLASSIFY                                                                                   \
    "UPDATE components SET status = " CLASSIFY_EXPR("components.release_id", "components.failed",  \
                                                    "components.slot", "components.ns",            \
                                                    "components.hw", "components.seq") " "

enum {
    ST_DEVICE,
    ST_UPD_DEVICE,
    ST_UPSERT_COMP,
    ST_INS_REPORT,
    ST_TRIM_REPORTS,
    ST_INS_PAIR,
    ST_INS_RELEASE,
    ST_ADVICE,
    ST_COUNT
};

static const char *const STMT_SQL[ST_COUNT] = {
    [ST_DEVICE] = "SELECT id, counter FROM devices WHERE pubkey = ?1",
    [ST_UPD_DEVICE] = "UPDATE devices SET counter = ?2, seen_ms = ?3, hw = ?4, attempt_err = ?5,"
                      " head_height = ?6 WHERE id = ?1",
    /* A component as reported, classified as it is written; a row that did not change is not
     * written at all (its pages and index entries stay as they are). */
    [ST_UPSERT_COMP] =
        "INSERT INTO components (device_id, ns, hw, release_id, seq, slot, failed, status)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, " CLASSIFY_EXPR(
            "?4", "?7", "?6", "?2", "?3",
            "?5") ") ON CONFLICT (device_id, ns) DO UPDATE SET hw = excluded.hw,"
                  " release_id = excluded.release_id, seq = excluded.seq, slot = excluded.slot,"
                  " failed = excluded.failed, status = excluded.status WHERE components.hw <> "
                  "excluded.hw"
                  " OR components.release_id <> excluded.release_id OR components.seq <> "
                  "excluded.seq"
                  " OR components.slot <> excluded.slot OR components.failed <> excluded.failed"
                  " OR components.status <> excluded.status",
    [ST_INS_REPORT] = "INSERT INTO reports (device_id, counter, received_ms, body)"
                      " VALUES (?1, ?2, ?3, ?4)",
    [ST_TRIM_REPORTS] = "DELETE FROM reports WHERE device_id = ?1 AND counter <= (SELECT counter"
                        " FROM reports WHERE device_id = ?1 ORDER BY counter DESC LIMIT 1"
                        " OFFSET ?2)",
    [ST_INS_PAIR] = "INSERT INTO latest (ns, hw) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
    [ST_INS_RELEASE] = "INSERT INTO releases (id) VALUES (?1) ON CONFLICT DO NOTHING",
    [ST_ADVICE] = "SELECT c.ns, l.release_id, l.seq FROM components c JOIN latest l"
                  " ON l.ns = c.ns AND l.hw = c.hw WHERE c.device_id = ?1 AND l.seq > c.seq"
                  " AND l.release_id IS NOT NULL ORDER BY c.ns LIMIT 1",
};

struct ul_tstore {
    sqlite3 *db;
    sqlite3_stmt *st[ST_COUNT];
    /* del[n]: deletes a device's components but the n a report names (?2..?n+1). */
    sqlite3_stmt *del[UL_MAX_COMPONENTS + 1];
};

static const char *const STATUS_NAMES[UL_TS_COUNT] = {"up_to_date", "outdated", "failing",
                                                      "vulnerable", "silent",   "unknown"};

const char *ul_tstatus_name(ul_tstatus s)
{
    return (unsigned)s < UL_TS_COUNT ? STATUS_NAMES[s] : "unknown";
}

bool ul_tstatus_parse(const char *name, ul_tstatus *out)
{
    for (int i = 0; i < UL_TS_COUNT; i++) {
        if (strcmp(name, STATUS_NAMES[i]) == 0) {
            *out = (ul_tstatus)i;
            return true;
        }
    }
    return false;
}

const char *ul_tstore_errmsg(const ul_tstore *s)
{
    return s && s->db ? sqlite3_errmsg(s->db) : "";
}

/* SQLite's result as a ul_err: a full disk is UL_E_NO_SPACE, a busy database UL_E_LOCKED,
 * anything else UL_E_IO (ul_tstore_errmsg says what). */
static ul_err sql_err(int rc)
{
    switch (rc) {
    case SQLITE_OK:
    case SQLITE_DONE:
    case SQLITE_ROW:
        return UL_OK;
    case SQLITE_FULL:
        return UL_E_NO_SPACE;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return UL_E_LOCKED;
    default:
        return UL_E_IO;
    }
}

static ul_err exec(ul_tstore *s, const char *sql)
{
    return sql_err(sqlite3_exec(s->db, sql, NULL, NULL, NULL));
}

static ul_err prepare_delete(ul_tstore *s, int n)
{
    char sql[256];
    size_t len = (size_t)snprintf(sql, sizeof(sql), "DELETE FROM components WHERE device_id = ?1");
    for (int i = 0; i < n; i++) {
        len += (size_t)snprintf(sql + len, sizeof(sql) - len, "%s?%d",
                                i ? ", " : " AND ns NOT IN (", i + 2);
    }
    snprintf(sql + len, sizeof(sql) - len, "%s", n ? ")" : "");
    return sql_err(sqlite3_prepare_v2(s->db, sql, -1, &s->del[n], NULL));
}

ul_err ul_tstore_open(ul_tstore **out, const char *path, char *errmsg, size_t cap)
{
    ul_tstore *s = calloc(1, sizeof(*s));
    *out = NULL;
    if (!s) {
        return UL_E_NOMEM;
    }
    int rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    /* WAL: readers (lists, the CLI) never block the report writer. synchronous=NORMAL: in WAL
     * mode a commit is written to the WAL before it returns, so a killed process loses nothing
     * acknowledged; only an OS crash or power cut may drop the last commits, which the devices
     * report again on their schedule (their counters move on). FULL costs an fsync per report. */
    const char *pragmas = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                          " PRAGMA foreign_keys=ON; PRAGMA busy_timeout=5000;";
    ul_err e = sql_err(rc);
    if (e == UL_OK) {
        e = exec(s, pragmas);
    }
    if (e == UL_OK) {
        e = exec(s, SCHEMA);
    }
    for (int i = 0; e == UL_OK && i < ST_COUNT; i++) {
        e = sql_err(sqlite3_prepare_v2(s->db, STMT_SQL[i], -1, &s->st[i], NULL));
    }
    for (int n = 0; e == UL_OK && n <= UL_MAX_COMPONENTS; n++) {
        e = prepare_delete(s, n);
    }
    if (e != UL_OK) {
        snprintf(errmsg, cap, "%s: %s", path, s->db ? sqlite3_errmsg(s->db) : "out of memory");
        ul_tstore_close(s);
        return e;
    }
    *out = s;
    return UL_OK;
}

void ul_tstore_close(ul_tstore *s)
{
    if (!s) {
        return;
    }
    for (int i = 0; i < ST_COUNT; i++) {
        sqlite3_finalize(s->st[i]);
    }
    for (int n = 0; n <= UL_MAX_COMPONENTS; n++) {
        sqlite3_finalize(s->del[n]);
    }
    sqlite3_close(s->db);
    free(s);
}

/* Steps a statement to its end (no rows wanted) and resets it. */
static ul_err run(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? UL_OK : sql_err(rc);
}

static ul_err prepare(ul_tstore *s, const char *sql, sqlite3_stmt **st)
{
    return sql_err(sqlite3_prepare_v2(s->db, sql, -1, st, NULL));
}

/* A row of a query, handed to its reader; a reader returns UL_OK to go on. */
typedef ul_err (*row_fn)(sqlite3_stmt *row, void *ctx);

/* Runs sql with ?1 bound to *i1 or to the 32 bytes at b1 (when not NULL), calling fn on every
 * row. Returns: the first error of SQLite or fn. */
static ul_err query(ul_tstore *s, const char *sql, const int64_t *i1, const uint8_t *b1, row_fn fn,
                    void *ctx)
{
    sqlite3_stmt *st = NULL;
    ul_err e = prepare(s, sql, &st);
    int rc = SQLITE_DONE;
    if (e == UL_OK && i1) {
        sqlite3_bind_int64(st, 1, *i1);
    }
    if (e == UL_OK && b1) {
        sqlite3_bind_blob(st, 1, b1, UL_HASH_BYTES, SQLITE_TRANSIENT);
    }
    while (e == UL_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        e = fn(st, ctx);
    }
    e = e == UL_OK ? sql_err(rc) : e;
    sqlite3_finalize(st);
    return e;
}

/* A caller's callback and its context, for the row readers below. */
typedef struct {
    void (*fn)(void); /* the caller's callback, cast back to its type by each reader */
    void *ctx;
} reader;

static void bind_text(sqlite3_stmt *st, int i, const char *t)
{
    sqlite3_bind_text(st, i, t, -1, SQLITE_TRANSIENT);
}

static void bind_blob(sqlite3_stmt *st, int i, const uint8_t *p, size_t n)
{
    sqlite3_bind_blob(st, i, p, (int)n, SQLITE_TRANSIENT);
}

/* Copies a column's text into out[cap] (NUL-terminated; longer values are cut: the store only
 * holds values that were checked against their bound when written). */
static void col_text(sqlite3_stmt *st, int i, char *out, size_t cap)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    snprintf(out, cap, "%s", t ? (const char *)t : "");
}

static void col_blob32(sqlite3_stmt *st, int i, uint8_t out[32])
{
    const void *p = sqlite3_column_blob(st, i);
    memset(out, 0, 32);
    if (p && sqlite3_column_bytes(st, i) == 32) {
        memcpy(out, p, 32);
    }
}

ul_err ul_tstore_meta_get(ul_tstore *s, const char *k, uint8_t *out, size_t cap, size_t *len)
{
    sqlite3_stmt *st = NULL;
    ul_err e = prepare(s, "SELECT v FROM meta WHERE k = ?1", &st);
    if (e == UL_OK) {
        bind_text(st, 1, k);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            size_t n = (size_t)sqlite3_column_bytes(st, 0);
            e = n <= cap ? UL_OK : UL_E_LIMIT;
            if (e == UL_OK) {
                memcpy(out, sqlite3_column_blob(st, 0), n);
                *len = n;
            }
        } else {
            e = rc == SQLITE_DONE ? UL_E_NOT_FOUND : sql_err(rc);
        }
    }
    sqlite3_finalize(st);
    return e;
}

ul_err ul_tstore_meta_put(ul_tstore *s, const char *k, const uint8_t *v, size_t len)
{
    sqlite3_stmt *st = NULL;
    ul_err e = prepare(s,
                       "INSERT INTO meta (k, v) VALUES (?1, ?2)"
                       " ON CONFLICT (k) DO UPDATE SET v = excluded.v",
                       &st);
    if (e == UL_OK) {
        bind_text(st, 1, k);
        bind_blob(st, 2, v, len);
        e = run(st);
    }
    sqlite3_finalize(st);
    return e;
}

static ul_err group_check(const char *name)
{
    size_t n = strlen(name);
    return n == 0 ? UL_E_ARG : n > UL_MAX_LABEL_LEN ? UL_E_LIMIT : UL_OK;
}

ul_err ul_tstore_group_set(ul_tstore *s, const char *name, uint64_t silence_s)
{
    sqlite3_stmt *st = NULL;
    ul_err e = group_check(name);
    if (e == UL_OK && (silence_s == 0 || silence_s > UL_MAX_TRACKER_SILENCE_S)) {
        e = silence_s == 0 ? UL_E_ARG : UL_E_LIMIT;
    }
    if (e == UL_OK) {
        e = prepare(s,
                    "INSERT INTO groups (name, silence_ms) VALUES (?1, ?2)"
                    " ON CONFLICT (name) DO UPDATE SET silence_ms = excluded.silence_ms",
                    &st);
    }
    if (e == UL_OK) {
        bind_text(st, 1, name);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)(silence_s * 1000));
        e = run(st);
    }
    sqlite3_finalize(st);
    return e;
}

ul_err ul_tstore_enroll_many(ul_tstore *s, const uint8_t *pubkeys, size_t n, const char *group,
                             uint64_t now_ms)
{
    sqlite3_stmt *g = NULL, *st = NULL;
    ul_err e = group_check(group);
    if (e == UL_OK) {
        e = exec(s, "BEGIN IMMEDIATE");
    }
    if (e != UL_OK) {
        return e;
    }
    e = prepare(s,
                "INSERT INTO groups (name, silence_ms) VALUES (?1, ?2)"
                " ON CONFLICT (name) DO NOTHING",
                &g);
    if (e == UL_OK) {
        bind_text(g, 1, group);
        sqlite3_bind_int64(g, 2, (sqlite3_int64)(UL_TRACKER_DEFAULT_SILENCE_S * 1000));
        e = run(g);
    }
    if (e == UL_OK) {
        e = prepare(s,
                    "INSERT INTO devices (pubkey, grp, enrolled_ms, seen_ms)"
                    " VALUES (?1, (SELECT id FROM groups WHERE name = ?2), ?3, ?3)"
                    " ON CONFLICT (pubkey) DO UPDATE SET grp = excluded.grp",
                    &st);
    }
    for (size_t i = 0; e == UL_OK && i < n; i++) {
        bind_blob(st, 1, pubkeys + i * UL_PUBKEY_BYTES, UL_PUBKEY_BYTES);
        bind_text(st, 2, group);
        sqlite3_bind_int64(st, 3, (sqlite3_int64)now_ms);
        e = run(st);
    }
    sqlite3_finalize(g);
    sqlite3_finalize(st);
    ul_err c = exec(s, e == UL_OK ? "COMMIT" : "ROLLBACK");
    return e != UL_OK ? e : c;
}

ul_err ul_tstore_enroll(ul_tstore *s, const uint8_t pubkey32[UL_PUBKEY_BYTES], const char *group,
                        uint64_t now_ms)
{
    return ul_tstore_enroll_many(s, pubkey32, 1, group, now_ms);
}

/* The device's row id and last counter; UL_E_UNENROLLED when its key is not enrolled. */
static ul_err device_row(ul_tstore *s, const uint8_t pubkey32[32], int64_t *id, uint64_t *counter)
{
    sqlite3_stmt *st = s->st[ST_DEVICE];
    bind_blob(st, 1, pubkey32, UL_PUBKEY_BYTES);
    int rc = sqlite3_step(st);
    ul_err e = rc == SQLITE_ROW ? UL_OK : rc == SQLITE_DONE ? UL_E_UNENROLLED : sql_err(rc);
    if (e == UL_OK) {
        *id = sqlite3_column_int64(st, 0);
        *counter = (uint64_t)sqlite3_column_int64(st, 1);
    }
    sqlite3_reset(st);
    return e;
}

/* The report's components replace the device's (those it no longer names are deleted); each
 * pair and release becomes known to the poller, which asks the node about it. */
static ul_err put_components(ul_tstore *s, int64_t id, const ul_treport *r)
{
    sqlite3_stmt *del = s->del[r->n_comp], *up = s->st[ST_UPSERT_COMP];
    sqlite3_bind_int64(del, 1, id);
    for (size_t i = 0; i < r->n_comp; i++) {
        bind_text(del, (int)i + 2, r->comp[i].ns);
    }
    ul_err e = run(del);
    for (size_t i = 0; e == UL_OK && i < r->n_comp; i++) {
        const ul_tcomponent *c = &r->comp[i];
        bind_text(s->st[ST_INS_PAIR], 1, c->ns);
        bind_text(s->st[ST_INS_PAIR], 2, r->hw);
        e = run(s->st[ST_INS_PAIR]);
        if (e == UL_OK) {
            bind_blob(s->st[ST_INS_RELEASE], 1, c->release_id, UL_HASH_BYTES);
            e = run(s->st[ST_INS_RELEASE]);
        }
        if (e == UL_OK) {
            sqlite3_bind_int64(up, 1, id);
            bind_text(up, 2, c->ns);
            bind_text(up, 3, r->hw);
            bind_blob(up, 4, c->release_id, UL_HASH_BYTES);
            sqlite3_bind_int64(up, 5, (sqlite3_int64)c->seq);
            sqlite3_bind_int(up, 6, (int)c->slot);
            sqlite3_bind_int(up, 7, c->failed);
            e = run(up);
        }
    }
    return e;
}

static ul_err advice_for(ul_tstore *s, int64_t id, ul_tadvice *a)
{
    sqlite3_stmt *st = s->st[ST_ADVICE];
    memset(a, 0, sizeof(*a));
    sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        a->update = true;
        col_text(st, 0, a->ns, sizeof(a->ns));
        col_blob32(st, 1, a->release_id);
        a->seq = (uint64_t)sqlite3_column_int64(st, 2);
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? UL_OK : sql_err(rc);
}

/* The writes of one accepted report, inside the caller's transaction. */
static ul_err accept_writes(ul_tstore *s, int64_t id, const ul_treport *r, const uint8_t *raw,
                            size_t raw_len, uint64_t now_ms)
{
    sqlite3_stmt *up = s->st[ST_UPD_DEVICE], *rep = s->st[ST_INS_REPORT];
    sqlite3_bind_int64(up, 1, id);
    sqlite3_bind_int64(up, 2, (sqlite3_int64)r->counter);
    sqlite3_bind_int64(up, 3, (sqlite3_int64)now_ms);
    bind_text(up, 4, r->hw);
    sqlite3_bind_int64(up, 5, r->has_attempt ? (sqlite3_int64)r->attempt_err : 0);
    sqlite3_bind_int64(up, 6, (sqlite3_int64)r->head_height);
    ul_err e = run(up);
    if (e == UL_OK) {
        e = put_components(s, id, r);
    }
    if (e == UL_OK) {
        sqlite3_bind_int64(rep, 1, id);
        sqlite3_bind_int64(rep, 2, (sqlite3_int64)r->counter);
        sqlite3_bind_int64(rep, 3, (sqlite3_int64)now_ms);
        bind_blob(rep, 4, raw, raw_len);
        e = run(rep);
    }
    if (e == UL_OK) {
        sqlite3_bind_int64(s->st[ST_TRIM_REPORTS], 1, id);
        sqlite3_bind_int(s->st[ST_TRIM_REPORTS], 2, UL_MAX_TRACKER_HISTORY);
        e = run(s->st[ST_TRIM_REPORTS]);
    }
    return e;
}

/* One report of a batch: its own refusals (unenrolled, replayed, past a bound) go to it->err
 * and write nothing; a store failure is returned (the batch is then rolled back). */
static ul_err accept_one(ul_tstore *s, ul_taccept *it, uint64_t now_ms)
{
    const ul_treport *r = it->r;
    int64_t id = 0;
    uint64_t last = 0;
    memset(&it->advice, 0, sizeof(it->advice));
    if (r->counter > INT64_MAX || r->head_height > INT64_MAX) {
        it->err = UL_E_LIMIT; /* SQL integers are signed 64-bit */
        return UL_OK;
    }
    ul_err e = device_row(s, r->device, &id, &last);
    if (e == UL_E_UNENROLLED || (e == UL_OK && r->counter <= last)) {
        it->err = e == UL_OK ? UL_E_REPORT_REPLAY : e;
        return UL_OK;
    }
    if (e == UL_OK) {
        e = accept_writes(s, id, r, it->raw, it->raw_len, now_ms);
    }
    if (e == UL_OK) {
        e = advice_for(s, id, &it->advice);
    }
    it->err = e;
    return e;
}

ul_err ul_tstore_accept_many(ul_tstore *s, ul_taccept *items, size_t n, uint64_t now_ms)
{
    ul_err e = exec(s, "BEGIN IMMEDIATE");
    for (size_t i = 0; e == UL_OK && i < n; i++) {
        e = accept_one(s, &items[i], now_ms);
    }
    ul_err c = exec(s, e == UL_OK ? "COMMIT" : "ROLLBACK");
    e = e != UL_OK ? e : c;
    for (size_t i = 0; e != UL_OK && i < n; i++) {
        items[i].err = e; /* nothing of the batch is stored */
    }
    return e;
}

ul_err ul_tstore_accept(ul_tstore *s, const ul_treport *r, const uint8_t *raw, size_t raw_len,
                        uint64_t now_ms, ul_tadvice *advice)
{
    ul_taccept it = {.r = r, .raw = raw, .raw_len = raw_len};
    ul_tstore_accept_many(s, &it, 1, now_ms);
    *advice = it.advice;
    return it.err;
}

static ul_err pair_row(sqlite3_stmt *row, void *ctx)
{
    const reader *r = ctx;
    return ((ul_tpair_fn)r->fn)(r->ctx, (const char *)sqlite3_column_text(row, 0),
                                (const char *)sqlite3_column_text(row, 1));
}

ul_err ul_tstore_each_pair(ul_tstore *s, ul_tpair_fn fn, void *ctx)
{
    reader r = {(void (*)(void))fn, ctx};
    /* Only pairs some device runs now: what devices once reported and no longer run costs the
     * poller nothing. */
    return query(s,
                 "SELECT l.ns, l.hw FROM latest l WHERE EXISTS (SELECT 1 FROM components c"
                 " WHERE c.ns = l.ns AND c.hw = l.hw) ORDER BY l.ns, l.hw",
                 NULL, NULL, pair_row, &r);
}

static ul_err release_row(sqlite3_stmt *row, void *ctx)
{
    const reader *r = ctx;
    uint8_t id[UL_HASH_BYTES];
    col_blob32(row, 0, id);
    return ((ul_trelease_fn)r->fn)(r->ctx, id);
}

ul_err ul_tstore_each_unrevoked(ul_tstore *s, ul_trelease_fn fn, void *ctx)
{
    reader r = {(void (*)(void))fn, ctx};
    return query(s,
                 "SELECT r.id FROM releases r WHERE r.revoked = 0 AND EXISTS (SELECT 1"
                 " FROM components c WHERE c.release_id = r.id) ORDER BY r.id",
                 NULL, NULL, release_row, &r);
}

/* Runs one reclassifying UPDATE (CLASSIFY + where) with up to two text and one blob bindings,
 * inside the caller's transaction. */
static ul_err classify_where(ul_tstore *s, const char *where, const char *t1, const char *t2,
                             const uint8_t *blob32)
{
    char sql[1024];
    sqlite3_stmt *st = NULL;
    snprintf(sql, sizeof(sql), "%s%s", CLASSIFY, where);
    ul_err e = prepare(s, sql, &st);
    if (e == UL_OK && t1) {
        bind_text(st, 1, t1);
        bind_text(st, 2, t2);
    }
    if (e == UL_OK && blob32) {
        bind_blob(st, 1, blob32, UL_HASH_BYTES);
    }
    if (e == UL_OK) {
        e = run(st);
    }
    sqlite3_finalize(st);
    return e;
}

/* Writes the pair's new latest release when it differs from the stored one. */
static ul_err latest_update(ul_tstore *s, const char *ns, const char *hw, const uint8_t *id32,
                            uint64_t seq, bool *changed)
{
    sqlite3_stmt *st = NULL;
    ul_err e = prepare(s,
                       "UPDATE latest SET release_id = ?3, seq = ?4 WHERE ns = ?1 AND hw = ?2"
                       " AND (seq <> ?4 OR release_id IS NULL OR release_id <> ?3)",
                       &st);
    if (e == UL_OK) {
        bind_text(st, 1, ns);
        bind_text(st, 2, hw);
        if (id32) {
            bind_blob(st, 3, id32, UL_HASH_BYTES);
        } else {
            sqlite3_bind_zeroblob(st, 3, UL_HASH_BYTES);
        }
        sqlite3_bind_int64(st, 4, (sqlite3_int64)seq);
        e = run(st);
        *changed = e == UL_OK && sqlite3_changes(s->db) > 0;
    }
    sqlite3_finalize(st);
    return e;
}

ul_err ul_tstore_set_latest(ul_tstore *s, const char *ns, const char *hw, const uint8_t *id32,
                            uint64_t seq, bool *changed)
{
    *changed = false;
    if (seq > INT64_MAX) {
        return UL_E_LIMIT;
    }
    ul_err e = exec(s, "BEGIN IMMEDIATE");
    if (e != UL_OK) {
        return e;
    }
    e = latest_update(s, ns, hw, id32, seq, changed);
    if (e == UL_OK && *changed) {
        e = classify_where(s, "WHERE ns = ?1 AND hw = ?2", ns, hw, NULL);
    }
    ul_err c = exec(s, e == UL_OK ? "COMMIT" : "ROLLBACK");
    return e != UL_OK ? e : c;
}

ul_err ul_tstore_set_revoked(ul_tstore *s, const uint8_t id32[UL_HASH_BYTES], uint64_t height)
{
    sqlite3_stmt *st = NULL;
    if (height == 0 || height > INT64_MAX) {
        return UL_E_ARG;
    }
    ul_err e = exec(s, "BEGIN IMMEDIATE");
    if (e != UL_OK) {
        return e;
    }
    e = prepare(s,
                "INSERT INTO releases (id, revoked) VALUES (?1, ?2)"
                " ON CONFLICT (id) DO UPDATE SET revoked = excluded.revoked",
                &st);
    if (e == UL_OK) {
        bind_blob(st, 1, id32, UL_HASH_BYTES);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)height);
        e = run(st);
    }
    sqlite3_finalize(st);
    if (e == UL_OK) {
        e = classify_where(s, "WHERE release_id = ?1", NULL, NULL, id32);
    }
    ul_err c = exec(s, e == UL_OK ? "COMMIT" : "ROLLBACK");
    return e != UL_OK ? e : c;
}

ul_err ul_tstore_reclassify_all(ul_tstore *s)
{
    ul_err e = exec(s, "BEGIN IMMEDIATE");
    if (e == UL_OK) {
        e = classify_where(s, "", NULL, NULL, NULL);
        ul_err c = exec(s, e == UL_OK ? "COMMIT" : "ROLLBACK");
        e = e != UL_OK ? e : c;
    }
    return e;
}

/* ---- reading ---------------------------------------------------------------------------- */

/* The device's most urgent status: vulnerable, then silent, then unknown (nothing reported yet),
 * then its components' worst. */
static ul_tstatus device_status(const ul_tdevice *d)
{
    ul_tstatus worst = UL_TS_UP_TO_DATE;
    for (size_t i = 0; i < d->n_comp; i++) {
        worst = d->comp_status[i] > worst ? d->comp_status[i] : worst;
    }
    return worst == UL_TS_VULNERABLE ? worst
           : d->silent               ? UL_TS_SILENT
           : d->n_comp == 0          ? UL_TS_UNKNOWN
                                     : worst;
}

static ul_err component_row(sqlite3_stmt *row, void *ctx)
{
    ul_tdevice *d = ctx;
    if (d->n_comp == UL_MAX_COMPONENTS) {
        return UL_E_CORRUPT; /* reports hold at most that many: the store was changed */
    }
    ul_tcomponent *c = &d->comp[d->n_comp];
    col_text(row, 0, c->ns, sizeof(c->ns));
    col_blob32(row, 1, c->release_id);
    c->seq = (uint64_t)sqlite3_column_int64(row, 2);
    c->slot = (ul_tslot)sqlite3_column_int(row, 3);
    c->failed = sqlite3_column_int(row, 4) != 0;
    d->comp_status[d->n_comp++] = (ul_tstatus)sqlite3_column_int(row, 5);
    return UL_OK;
}

static ul_err load_components(ul_tstore *s, ul_tdevice *d)
{
    return query(s,
                 "SELECT ns, release_id, seq, slot, failed, status FROM components"
                 " WHERE device_id = ?1 ORDER BY ns",
                 &d->row, NULL, component_row, d);
}

/* One device by row id (key NULL) or by key. */
static ul_err load_device(ul_tstore *s, int64_t row, const uint8_t *key, uint64_t now_ms,
                          ul_tdevice *d)
{
    sqlite3_stmt *st = NULL;
    char sql[320];
    snprintf(sql, sizeof(sql),
             "SELECT d.id, d.pubkey, g.name, d.hw, d.seen_ms, d.counter, g.silence_ms,"
             " d.attempt_err FROM devices d JOIN groups g ON g.id = d.grp WHERE %s",
             key ? "d.pubkey = ?1" : "d.id = ?1");
    memset(d, 0, sizeof(*d));
    ul_err e = prepare(s, sql, &st);
    if (e == UL_OK) {
        if (key) {
            bind_blob(st, 1, key, UL_PUBKEY_BYTES);
        } else {
            sqlite3_bind_int64(st, 1, row);
        }
        int rc = sqlite3_step(st);
        e = rc == SQLITE_ROW ? UL_OK : rc == SQLITE_DONE ? UL_E_UNENROLLED : sql_err(rc);
    }
    if (e == UL_OK) {
        d->row = sqlite3_column_int64(st, 0);
        col_blob32(st, 1, d->pubkey);
        col_text(st, 2, d->group, sizeof(d->group));
        col_text(st, 3, d->hw, sizeof(d->hw));
        d->seen_ms = (uint64_t)sqlite3_column_int64(st, 4);
        d->counter = (uint64_t)sqlite3_column_int64(st, 5);
        d->silence_ms = (uint64_t)sqlite3_column_int64(st, 6);
        d->attempt_err = (uint64_t)sqlite3_column_int64(st, 7);
        d->silent = d->seen_ms + d->silence_ms < now_ms;
    }
    sqlite3_finalize(st);
    if (e == UL_OK) {
        e = load_components(s, d);
        d->status = device_status(d);
    }
    return e;
}

ul_err ul_tstore_device(ul_tstore *s, const uint8_t pubkey32[UL_PUBKEY_BYTES], uint64_t now_ms,
                        ul_tdevice *out)
{
    return load_device(s, 0, pubkey32, now_ms, out);
}

/* The page's SQL: parameters ?1 cursor, ?2 now, ?3 limit, ?4 status, ?5 ns, ?6 hw, ?7 group, ?8
 * now less the shortest silence interval: silent devices lie below it on the seen_ms index, so
 * the page is found from that index's range, not by scanning the whole fleet. */
static void list_sql(const ul_tquery *q, char *sql, size_t cap)
{
    const char *ns = q->ns ? " AND c.ns = ?5" : "", *hw = q->hw ? " AND d.hw = ?6" : "";
    const char *grp = q->group ? " AND g.name = ?7" : "";
    if (q->status == UL_TS_UNKNOWN) {
        snprintf(sql, cap,
                 "SELECT d.id FROM devices d JOIN groups g ON g.id = d.grp WHERE d.id > ?1"
                 " AND NOT EXISTS (SELECT 1 FROM components c WHERE c.device_id = d.id)%s%s"
                 " ORDER BY d.id LIMIT ?3",
                 hw, grp);
        return;
    }
    if (q->status == UL_TS_SILENT) {
        snprintf(sql, cap,
                 "SELECT d.id FROM devices d JOIN groups g ON g.id = d.grp WHERE d.id > ?1"
                 " AND d.id IN (SELECT id FROM devices WHERE seen_ms < ?8)"
                 " AND d.seen_ms < ?2 - g.silence_ms%s%s%s ORDER BY d.id LIMIT ?3",
                 q->ns ? " AND EXISTS (SELECT 1 FROM components c WHERE c.device_id = d.id"
                         " AND c.ns = ?5)"
                       : "",
                 hw, grp);
        return;
    }
    snprintf(sql, cap,
             "SELECT DISTINCT c.device_id FROM components c JOIN devices d ON d.id = c.device_id"
             " JOIN groups g ON g.id = d.grp WHERE c.status = ?4 AND c.device_id > ?1%s%s%s%s"
             " ORDER BY c.device_id LIMIT ?3",
             ns, hw, grp,
             q->status == UL_TS_UP_TO_DATE ? " AND NOT EXISTS (SELECT 1 FROM components c2"
                                             " WHERE c2.device_id = c.device_id AND c2.status > 0)"
                                           : "");
}

/* The shortest silence interval of any group (ms; 0 when there are none). */
static sqlite3_int64 min_silence(ul_tstore *s)
{
    sqlite3_stmt *st = NULL;
    sqlite3_int64 v = 0;
    if (prepare(s, "SELECT MIN(silence_ms) FROM groups", &st) == UL_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
        v = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    return v;
}

ul_err ul_tstore_list(ul_tstore *s, const ul_tquery *q, ul_tdevice_fn fn, void *ctx, int64_t *next)
{
    char sql[1024];
    sqlite3_stmt *st = NULL;
    int64_t ids[UL_MAX_TRACKER_PAGE];
    size_t n = 0;
    *next = 0;
    if (q->limit == 0 || q->limit > UL_MAX_TRACKER_PAGE || (unsigned)q->status >= UL_TS_COUNT) {
        return q->limit > UL_MAX_TRACKER_PAGE ? UL_E_LIMIT : UL_E_ARG;
    }
    list_sql(q, sql, sizeof(sql));
    ul_err e = prepare(s, sql, &st);
    if (e == UL_OK) {
        sqlite3_bind_int64(st, 1, q->after);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)q->now_ms);
        sqlite3_bind_int64(st, 3, (sqlite3_int64)q->limit);
        sqlite3_bind_int(st, 4, (int)q->status); /* a parameter the SQL lacks is ignored */
        bind_text(st, 5, q->ns);
        bind_text(st, 6, q->hw);
        bind_text(st, 7, q->group);
        sqlite3_bind_int64(st, 8, (sqlite3_int64)q->now_ms - min_silence(s));
        int rc;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW && n < q->limit) {
            ids[n++] = sqlite3_column_int64(st, 0);
        }
        e = rc == SQLITE_ROW || rc == SQLITE_DONE ? UL_OK : sql_err(rc);
    }
    sqlite3_finalize(st);
    for (size_t i = 0; e == UL_OK && i < n; i++) {
        ul_tdevice d;
        e = load_device(s, ids[i], NULL, q->now_ms, &d);
        if (e == UL_OK) {
            e = fn(ctx, &d);
        }
    }
    if (e == UL_OK && n == q->limit) {
        *next = ids[n - 1];
    }
    return e;
}

static ul_err history_row(sqlite3_stmt *row, void *ctx)
{
    const reader *r = ctx;
    return ((ul_thistory_fn)r->fn)(
        r->ctx, (uint64_t)sqlite3_column_int64(row, 0), (uint64_t)sqlite3_column_int64(row, 1),
        sqlite3_column_blob(row, 2), (size_t)sqlite3_column_bytes(row, 2));
}

ul_err ul_tstore_history(ul_tstore *s, const uint8_t pubkey32[UL_PUBKEY_BYTES], ul_thistory_fn fn,
                         void *ctx)
{
    reader r = {(void (*)(void))fn, ctx};
    return query(s,
                 "SELECT r.counter, r.received_ms, r.body FROM reports r JOIN devices d"
                 " ON d.id = r.device_id WHERE d.pubkey = ?1 ORDER BY r.counter DESC",
                 NULL, pubkey32, history_row, &r);
}

/* Devices per (group, most urgent status): the same order device_status applies. */
static const char SUMMARY_DEVICES[] =
    "SELECT g.name, CASE WHEN m.mx = 3 THEN 3 WHEN d.seen_ms < ?1 - g.silence_ms THEN 4"
    " WHEN m.mx IS NULL THEN 5 ELSE m.mx END AS st, COUNT(*)"
    " FROM devices d JOIN groups g ON g.id = d.grp"
    " LEFT JOIN (SELECT device_id, MAX(status) AS mx FROM components GROUP BY device_id) m"
    " ON m.device_id = d.id GROUP BY g.name, st ORDER BY g.name, st";
static const char SUMMARY_COMPONENTS[] =
    "SELECT ns, hw, release_id, status, COUNT(*) FROM components"
    " GROUP BY ns, hw, release_id, status ORDER BY ns, hw, release_id, status";

static ul_err group_count_row(sqlite3_stmt *row, void *ctx)
{
    const reader *r = ctx;
    return ((ul_tcount_fn)r->fn)(r->ctx, "group", (const char *)sqlite3_column_text(row, 0), NULL,
                                 NULL, (ul_tstatus)sqlite3_column_int(row, 1),
                                 (uint64_t)sqlite3_column_int64(row, 2));
}

static ul_err component_count_row(sqlite3_stmt *row, void *ctx)
{
    const reader *r = ctx;
    uint8_t id[UL_HASH_BYTES];
    char hex[2 * UL_HASH_BYTES + 1];
    col_blob32(row, 2, id);
    ul_hex_encode(hex, id, UL_HASH_BYTES);
    return ((ul_tcount_fn)r->fn)(r->ctx, "component", (const char *)sqlite3_column_text(row, 0),
                                 (const char *)sqlite3_column_text(row, 1), hex,
                                 (ul_tstatus)sqlite3_column_int(row, 3),
                                 (uint64_t)sqlite3_column_int64(row, 4));
}

ul_err ul_tstore_summary(ul_tstore *s, uint64_t now_ms, ul_tcount_fn fn, void *ctx)
{
    reader r = {(void (*)(void))fn, ctx};
    int64_t now = (int64_t)now_ms;
    ul_err e = query(s, SUMMARY_DEVICES, &now, NULL, group_count_row, &r);
    return e == UL_OK ? query(s, SUMMARY_COMPONENTS, NULL, NULL, component_count_row, &r) : e;
}

/* ---- cascading ---------------------------------------------------------------------------- */

ul_err ul_tstore_enroll_tracker(ul_tstore *s, const uint8_t pubkey32[UL_PUBKEY_BYTES],
                                const char *name)
{
    sqlite3_stmt *st = NULL;
    ul_err e = group_check(name);
    if (e == UL_OK) {
        e = prepare(s,
                    "INSERT INTO trackers (pubkey, name) VALUES (?1, ?2)"
                    " ON CONFLICT (pubkey) DO UPDATE SET name = excluded.name",
                    &st);
    }
    if (e == UL_OK) {
        bind_blob(st, 1, pubkey32, UL_PUBKEY_BYTES);
        bind_text(st, 2, name);
        e = run(st);
    }
    sqlite3_finalize(st);
    return e;
}

/* The downstream tracker's row and last counter; UL_E_UNENROLLED when not enrolled. */
static ul_err tracker_row(ul_tstore *s, const uint8_t key[32], int64_t *id, uint64_t *counter)
{
    sqlite3_stmt *st = NULL;
    ul_err e = prepare(s, "SELECT id, counter FROM trackers WHERE pubkey = ?1", &st);
    if (e == UL_OK) {
        bind_blob(st, 1, key, UL_PUBKEY_BYTES);
        int rc = sqlite3_step(st);
        e = rc == SQLITE_ROW ? UL_OK : rc == SQLITE_DONE ? UL_E_UNENROLLED : sql_err(rc);
        if (e == UL_OK) {
            *id = sqlite3_column_int64(st, 0);
            *counter = (uint64_t)sqlite3_column_int64(st, 1);
        }
    }
    sqlite3_finalize(st);
    return e;
}

/* Replaces the downstream's counts by the summary's, inside the caller's transaction. */
static ul_err put_downstream(ul_tstore *s, int64_t id, const ul_tcount *c, size_t n,
                             uint64_t counter, uint64_t now_ms)
{
    sqlite3_stmt *del = NULL, *ins = NULL, *up = NULL;
    ul_err e = prepare(s, "DELETE FROM downstream WHERE tracker_id = ?1", &del);
    if (e == UL_OK) {
        sqlite3_bind_int64(del, 1, id);
        e = run(del);
    }
    if (e == UL_OK) {
        e = prepare(s,
                    "INSERT INTO downstream (tracker_id, ns, hw, release_id, status, n)"
                    " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    &ins);
    }
    for (size_t i = 0; e == UL_OK && i < n; i++) {
        sqlite3_bind_int64(ins, 1, id);
        bind_text(ins, 2, c[i].ns);
        bind_text(ins, 3, c[i].hw);
        bind_blob(ins, 4, c[i].release_id, UL_HASH_BYTES);
        sqlite3_bind_int64(ins, 5, (sqlite3_int64)c[i].status);
        sqlite3_bind_int64(ins, 6, (sqlite3_int64)c[i].count);
        e = c[i].count > INT64_MAX ? UL_E_LIMIT : run(ins);
    }
    if (e == UL_OK) {
        e = prepare(s, "UPDATE trackers SET counter = ?2, seen_ms = ?3 WHERE id = ?1", &up);
    }
    if (e == UL_OK) {
        sqlite3_bind_int64(up, 1, id);
        sqlite3_bind_int64(up, 2, (sqlite3_int64)counter);
        sqlite3_bind_int64(up, 3, (sqlite3_int64)now_ms);
        e = run(up);
    }
    sqlite3_finalize(del);
    sqlite3_finalize(ins);
    sqlite3_finalize(up);
    return e;
}

ul_err ul_tstore_accept_summary(ul_tstore *s, const uint8_t from32[UL_PUBKEY_BYTES],
                                uint64_t counter, const ul_tcount *c, size_t n, uint64_t now_ms)
{
    int64_t id = 0;
    uint64_t last = 0;
    if (counter > INT64_MAX) {
        return UL_E_LIMIT;
    }
    ul_err e = exec(s, "BEGIN IMMEDIATE");
    if (e != UL_OK) {
        return e;
    }
    e = tracker_row(s, from32, &id, &last);
    if (e == UL_OK && counter <= last) {
        e = UL_E_REPORT_REPLAY;
    }
    if (e == UL_OK) {
        e = put_downstream(s, id, c, n, counter, now_ms);
    }
    ul_err r = exec(s, e == UL_OK ? "COMMIT" : "ROLLBACK");
    return e != UL_OK ? e : r;
}

/* The whole fleet below this tracker: its own components (status as on the wire: a silent
 * device's components are silent unless vulnerable) plus every downstream's last counts. */
static const char FLEET_COUNTS[] =
    "SELECT ns, hw, release_id, st, SUM(n) FROM ("
    " SELECT c.ns AS ns, c.hw AS hw, c.release_id AS release_id, CASE WHEN c.status = 3 THEN 2"
    "  WHEN d.seen_ms < ?1 - g.silence_ms THEN 4 WHEN c.status = 2 THEN 3 ELSE c.status END"
    "  AS st, 1 AS n FROM components c JOIN devices d ON d.id = c.device_id"
    "  JOIN groups g ON g.id = d.grp"
    " UNION ALL SELECT ns, hw, release_id, status, n FROM downstream) t"
    " GROUP BY ns, hw, release_id, st ORDER BY ns, hw, release_id, st";

static ul_err fleet_row(sqlite3_stmt *row, void *ctx)
{
    const reader *r = ctx;
    ul_tcount c = {.status = (uint64_t)sqlite3_column_int64(row, 3),
                   .count = (uint64_t)sqlite3_column_int64(row, 4)};
    col_text(row, 0, c.ns, sizeof(c.ns));
    col_text(row, 1, c.hw, sizeof(c.hw));
    col_blob32(row, 2, c.release_id);
    return ((ul_tfleet_fn)r->fn)(r->ctx, &c);
}

ul_err ul_tstore_fleet_counts(ul_tstore *s, uint64_t now_ms, ul_tfleet_fn fn, void *ctx)
{
    reader r = {(void (*)(void))fn, ctx};
    int64_t now = (int64_t)now_ms;
    return query(s, FLEET_COUNTS, &now, NULL, fleet_row, &r);
}

static ul_err tracker_count_row(sqlite3_stmt *row, void *ctx)
{
    const reader *r = ctx;
    uint8_t key[UL_PUBKEY_BYTES];
    col_blob32(row, 0, key);
    return ((ul_ttracker_fn)r->fn)(r->ctx, key, (const char *)sqlite3_column_text(row, 1),
                                   (uint64_t)sqlite3_column_int64(row, 2),
                                   (uint64_t)sqlite3_column_int64(row, 3),
                                   (uint64_t)sqlite3_column_int64(row, 4));
}

ul_err ul_tstore_each_tracker(ul_tstore *s, ul_ttracker_fn fn, void *ctx)
{
    reader r = {(void (*)(void))fn, ctx};
    return query(s,
                 "SELECT t.pubkey, t.name, t.counter, t.seen_ms, COALESCE(SUM(d.n), 0)"
                 " FROM trackers t LEFT JOIN downstream d ON d.tracker_id = t.id"
                 " GROUP BY t.id, t.pubkey, t.name, t.counter, t.seen_ms ORDER BY t.name",
                 NULL, NULL, tracker_count_row, &r);
}
