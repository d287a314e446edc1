/* Unit tests for tracker/store.c, the tracker's SQLite store and its set-based classifier:
 * enrollment, accepting reports (replay, unenrolled: nothing stored), classification as the
 * ledger changes (newer release, revocation), failing and silent devices, keyset pagination,
 * summaries, bounds, and persistence across a reopen. Each test gets a fresh file under /tmp. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "tracker/internal.h"

#define NOW 1000000000ULL /* ms: the tests' clock */
#define NS "acme/router"
#define HW "hw-a"

typedef struct {
    char dir[64], path[96];
    ul_tstore *s;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof(*f));
    char msg[256];
    snprintf(f->dir, sizeof(f->dir), "/tmp/ul-test-tracker-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof(f->path), "%s/t.db", f->dir);
    assert_int_equal(ul_tstore_open(&f->s, f->path, msg, sizeof(msg)), UL_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    char p[160];
    ul_tstore_close(f->s);
    const char *sfx[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof(p), "%s%s", f->path, sfx[i]);
        unlink(p);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

static void key_of(int i, uint8_t out[32])
{
    memset(out, 0, 32);
    out[0] = 0x5a;
    out[30] = (uint8_t)(i >> 8);
    out[31] = (uint8_t)i;
}

static void rid(int seq, uint8_t out[32])
{
    memset(out, 0xc0 + seq, 32);
}

/* A report of device i running NS at seq (release rid(seq)). */
static ul_treport report(int i, uint64_t counter, int seq)
{
    ul_treport r = {.counter = counter, .n_comp = 1};
    key_of(i, r.device);
    snprintf(r.hw, sizeof(r.hw), "%s", HW);
    snprintf(r.comp[0].ns, sizeof(r.comp[0].ns), "%s", NS);
    rid(seq, r.comp[0].release_id);
    r.comp[0].seq = (uint64_t)seq;
    return r;
}

static ul_err accept(fx *f, const ul_treport *r, ul_tadvice *a)
{
    ul_tadvice dummy;
    const uint8_t raw[3] = {1, 2, 3};
    return ul_tstore_accept(f->s, r, raw, sizeof(raw), NOW, a ? a : &dummy);
}

static void enroll_n(fx *f, int n, const char *group)
{
    uint8_t *keys = malloc((size_t)n * 32);
    for (int i = 0; i < n; i++) {
        key_of(i, keys + i * 32);
    }
    assert_int_equal(ul_tstore_enroll_many(f->s, keys, (size_t)n, group, NOW), UL_OK);
    free(keys);
}

static ul_tstatus status_of(fx *f, int i)
{
    uint8_t k[32];
    ul_tdevice d;
    key_of(i, k);
    assert_int_equal(ul_tstore_device(f->s, k, NOW, &d), UL_OK);
    return d.status;
}

static ul_err count_dev(void *ctx, const ul_tdevice *d)
{
    (*(size_t *)ctx)++;
    return UL_OK;
}

/* Devices listed in status st, following the cursor with pages of `page`. */
static size_t listed(fx *f, ul_tstatus st, size_t page, const char *ns)
{
    ul_tquery q = {.status = st, .limit = page, .now_ms = NOW, .ns = ns};
    size_t n = 0, pages = 0;
    int64_t next;
    do {
        assert_int_equal(ul_tstore_list(f->s, &q, count_dev, &n, &next), UL_OK);
        q.after = next;
        pages++;
    } while (next && pages < 10000);
    return n;
}

static void test_accept_and_replay(void **state)
{
    fx *f = *state;
    ul_treport r = report(1, 5, 1);
    uint8_t k[32];
    ul_tdevice d;
    assert_int_equal(accept(f, &r, NULL), UL_E_UNENROLLED); /* not enrolled: nothing stored */
    enroll_n(f, 2, "g");
    assert_int_equal(status_of(f, 1), UL_TS_UNKNOWN);
    assert_int_equal(accept(f, &r, NULL), UL_OK);
    assert_int_equal(status_of(f, 1), UL_TS_UP_TO_DATE);
    ul_treport again = report(1, 5, 2), lower = report(1, 4, 2);
    assert_int_equal(accept(f, &again, NULL), UL_E_REPORT_REPLAY);
    assert_int_equal(accept(f, &lower, NULL), UL_E_REPORT_REPLAY);
    key_of(1, k);
    assert_int_equal(ul_tstore_device(f->s, k, NOW, &d), UL_OK);
    assert_int_equal(d.counter, 5);
    assert_int_equal(d.comp[0].seq, 1); /* the refused reports changed nothing */
    r.counter = (uint64_t)INT64_MAX + 1;
    assert_int_equal(accept(f, &r, NULL), UL_E_LIMIT);
}

static ul_err count_report(void *ctx, uint64_t counter, uint64_t received_ms, const uint8_t *raw,
                           size_t len)
{
    (*(size_t *)ctx)++;
    return UL_OK;
}

static void test_group_commit(void **state)
{
    fx *f = *state;
    const uint8_t raw[1] = {9};
    enroll_n(f, 2, "g");
    /* Device 0 twice in order, device 1 out of order, an unenrolled device between them. */
    ul_treport r[5] = {report(0, 1, 1), report(0, 2, 1), report(7, 1, 1), report(1, 5, 1),
                       report(1, 4, 1)};
    ul_taccept it[5];
    for (int i = 0; i < 5; i++) {
        it[i] = (ul_taccept){.r = &r[i], .raw = raw, .raw_len = 1};
    }
    assert_int_equal(ul_tstore_accept_many(f->s, it, 5, NOW), UL_OK);
    assert_int_equal(it[0].err, UL_OK);
    assert_int_equal(it[1].err, UL_OK);
    assert_int_equal(it[2].err, UL_E_UNENROLLED);
    assert_int_equal(it[3].err, UL_OK);
    assert_int_equal(it[4].err, UL_E_REPORT_REPLAY);
    uint8_t k[32];
    ul_tdevice d;
    key_of(0, k);
    assert_int_equal(ul_tstore_device(f->s, k, NOW, &d), UL_OK);
    assert_int_equal(d.counter, 2);
    key_of(1, k);
    assert_int_equal(ul_tstore_device(f->s, k, NOW, &d), UL_OK);
    assert_int_equal(d.counter, 5);
}

static ul_err count_pair(void *ctx, const char *ns, const char *hw)
{
    (*(size_t *)ctx)++;
    return UL_OK;
}

static ul_err count_release(void *ctx, const uint8_t id32[UL_HASH_BYTES])
{
    (*(size_t *)ctx)++;
    return UL_OK;
}

/* The poller asks only about releases and pairs some device runs now, and not about revoked
 * releases (they stay revoked). */
static void test_poller_asks_about_what_runs(void **state)
{
    fx *f = *state;
    size_t pairs = 0, releases = 0;
    uint8_t id2[32];
    enroll_n(f, 2, "g");
    ul_treport a = report(0, 1, 1), b = report(1, 1, 2), a2 = report(0, 2, 2);
    assert_int_equal(accept(f, &a, NULL), UL_OK);
    assert_int_equal(accept(f, &b, NULL), UL_OK);
    assert_int_equal(ul_tstore_each_unrevoked(f->s, count_release, &releases), UL_OK);
    assert_int_equal(releases, 2);
    assert_int_equal(accept(f, &a2, NULL), UL_OK); /* nobody runs release 1 any more */
    releases = 0;
    assert_int_equal(ul_tstore_each_unrevoked(f->s, count_release, &releases), UL_OK);
    assert_int_equal(releases, 1);
    rid(2, id2);
    assert_int_equal(ul_tstore_set_revoked(f->s, id2, 4), UL_OK);
    releases = 0;
    assert_int_equal(ul_tstore_each_unrevoked(f->s, count_release, &releases), UL_OK);
    assert_int_equal(releases, 0);
    assert_int_equal(ul_tstore_each_pair(f->s, count_pair, &pairs), UL_OK);
    assert_int_equal(pairs, 1);
}

static void test_history_is_bounded(void **state)
{
    fx *f = *state;
    enroll_n(f, 1, "g");
    for (int c = 1; c <= UL_MAX_TRACKER_HISTORY + 5; c++) {
        ul_treport r = report(0, (uint64_t)c, 1);
        assert_int_equal(accept(f, &r, NULL), UL_OK);
    }
    uint8_t k[32];
    size_t n = 0;
    key_of(0, k);
    assert_int_equal(ul_tstore_history(f->s, k, count_report, &n), UL_OK);
    assert_int_equal(n, UL_MAX_TRACKER_HISTORY);
}

static void test_ledger_changes_reclassify(void **state)
{
    fx *f = *state;
    uint8_t id2[32], id1[32];
    bool changed;
    ul_tadvice a;
    enroll_n(f, 10, "g");
    for (int i = 0; i < 10; i++) {
        ul_treport r = report(i, 1, i < 5 ? 1 : 2);
        assert_int_equal(accept(f, &r, &a), UL_OK);
        assert_false(a.update);
    }
    rid(2, id2);
    rid(1, id1);
    assert_int_equal(ul_tstore_set_latest(f->s, NS, HW, id2, 2, &changed), UL_OK);
    assert_true(changed);
    assert_int_equal(ul_tstore_set_latest(f->s, NS, HW, id2, 2, &changed), UL_OK);
    assert_false(changed); /* the same answer twice: no rewrite */
    assert_int_equal(listed(f, UL_TS_OUTDATED, 3, NULL), 5);
    assert_int_equal(listed(f, UL_TS_OUTDATED, 3, "other/ns"), 0);
    assert_int_equal(listed(f, UL_TS_UP_TO_DATE, 1000, NULL), 5);
    /* A report from an outdated device is told what to install. */
    ul_treport r = report(0, 2, 1);
    assert_int_equal(accept(f, &r, &a), UL_OK);
    assert_true(a.update);
    assert_string_equal(a.ns, NS);
    assert_memory_equal(a.release_id, id2, 32);
    /* Revoking release 1 turns its devices vulnerable, with no report. */
    assert_int_equal(ul_tstore_set_revoked(f->s, id1, 7), UL_OK);
    assert_int_equal(listed(f, UL_TS_VULNERABLE, 2, NULL), 5);
    assert_int_equal(listed(f, UL_TS_OUTDATED, 2, NULL), 0);
    assert_int_equal(status_of(f, 0), UL_TS_VULNERABLE);
    assert_int_equal(status_of(f, 9), UL_TS_UP_TO_DATE);
    assert_int_equal(ul_tstore_reclassify_all(f->s), UL_OK); /* idempotent */
    assert_int_equal(listed(f, UL_TS_VULNERABLE, 1000, NULL), 5);
    assert_int_equal(ul_tstore_set_revoked(f->s, id1, 0), UL_E_ARG);
}

static void test_failing_and_fell_back(void **state)
{
    fx *f = *state;
    enroll_n(f, 3, "g");
    ul_treport ok = report(0, 1, 1), failed = report(1, 1, 1), back = report(2, 1, 1);
    failed.comp[0].failed = true;
    back.comp[0].slot = UL_TSLOT_FELL_BACK;
    assert_int_equal(accept(f, &ok, NULL), UL_OK);
    assert_int_equal(accept(f, &failed, NULL), UL_OK);
    assert_int_equal(accept(f, &back, NULL), UL_OK);
    assert_int_equal(status_of(f, 0), UL_TS_UP_TO_DATE);
    assert_int_equal(status_of(f, 1), UL_TS_FAILING);
    assert_int_equal(status_of(f, 2), UL_TS_FAILING);
    ul_treport trial = report(2, 2, 1);
    trial.comp[0].slot = UL_TSLOT_TRIAL;
    assert_int_equal(accept(f, &trial, NULL), UL_OK);
    assert_int_equal(status_of(f, 2), UL_TS_UP_TO_DATE);
}

static void test_silence_per_group(void **state)
{
    fx *f = *state;
    uint8_t k[32];
    ul_tdevice d;
    enroll_n(f, 1, "slow");
    key_of(1, k);
    assert_int_equal(ul_tstore_enroll(f->s, k, "fast", NOW), UL_OK);
    assert_int_equal(ul_tstore_group_set(f->s, "fast", 10), UL_OK);
    ul_tquery q = {.status = UL_TS_SILENT, .limit = 10, .now_ms = NOW + 11000};
    size_t n = 0;
    int64_t next;
    assert_int_equal(ul_tstore_list(f->s, &q, count_dev, &n, &next), UL_OK);
    assert_int_equal(n, 1); /* only the 10 s group's device */
    assert_int_equal(ul_tstore_device(f->s, k, NOW + 11000, &d), UL_OK);
    assert_true(d.silent);
    assert_int_equal(d.status, UL_TS_SILENT);
    assert_int_equal(ul_tstore_device(f->s, k, NOW + 9000, &d), UL_OK);
    assert_false(d.silent);
    assert_int_equal(ul_tstore_group_set(f->s, "fast", 0), UL_E_ARG);
    assert_int_equal(ul_tstore_group_set(f->s, "fast", UL_MAX_TRACKER_SILENCE_S + 1), UL_E_LIMIT);
    assert_int_equal(ul_tstore_group_set(f->s, "fast", UL_MAX_TRACKER_SILENCE_S), UL_OK);
}

static void test_group_name_bound(void **state)
{
    fx *f = *state;
    char name[UL_MAX_LABEL_LEN + 2];
    uint8_t k[32];
    key_of(0, k);
    memset(name, 'g', sizeof(name));
    name[UL_MAX_LABEL_LEN] = 0;
    assert_int_equal(ul_tstore_enroll(f->s, k, name, NOW), UL_OK);
    name[UL_MAX_LABEL_LEN] = 'g';
    name[UL_MAX_LABEL_LEN + 1] = 0;
    assert_int_equal(ul_tstore_enroll(f->s, k, name, NOW), UL_E_LIMIT);
    assert_int_equal(ul_tstore_enroll(f->s, k, "", NOW), UL_E_ARG);
}

static void test_pages_and_limits(void **state)
{
    fx *f = *state;
    enroll_n(f, 250, "g");
    for (int i = 0; i < 250; i++) {
        ul_treport r = report(i, 1, 1);
        assert_int_equal(accept(f, &r, NULL), UL_OK);
    }
    assert_int_equal(listed(f, UL_TS_UP_TO_DATE, 7, NULL), 250);
    assert_int_equal(listed(f, UL_TS_UP_TO_DATE, UL_MAX_TRACKER_PAGE, NULL), 250);
    ul_tquery q = {.status = UL_TS_UP_TO_DATE, .limit = UL_MAX_TRACKER_PAGE + 1, .now_ms = NOW};
    size_t n = 0;
    int64_t next;
    assert_int_equal(ul_tstore_list(f->s, &q, count_dev, &n, &next), UL_E_LIMIT);
    q.limit = 0;
    assert_int_equal(ul_tstore_list(f->s, &q, count_dev, &n, &next), UL_E_ARG);
}

static ul_err sum_counts(void *ctx, const char *kind, const char *a, const char *b, const char *c,
                         ul_tstatus st, uint64_t n)
{
    uint64_t *by = ctx;
    if (strcmp(kind, "group") == 0) {
        by[st] += n;
    } else {
        by[UL_TS_COUNT + st] += n;
    }
    return UL_OK;
}

static void test_summary_and_reopen(void **state)
{
    fx *f = *state;
    uint8_t id1[32];
    char msg[256];
    uint64_t by[2 * UL_TS_COUNT] = {0};
    enroll_n(f, 6, "g");
    for (int i = 0; i < 4; i++) {
        ul_treport r = report(i, 1, i < 2 ? 1 : 2);
        assert_int_equal(accept(f, &r, NULL), UL_OK);
    }
    rid(1, id1);
    assert_int_equal(ul_tstore_set_revoked(f->s, id1, 3), UL_OK);
    ul_tstore_close(f->s);
    assert_int_equal(ul_tstore_open(&f->s, f->path, msg, sizeof(msg)), UL_OK);
    assert_int_equal(ul_tstore_summary(f->s, NOW, sum_counts, by), UL_OK);
    assert_int_equal(by[UL_TS_VULNERABLE], 2);
    assert_int_equal(by[UL_TS_UP_TO_DATE], 2);
    assert_int_equal(by[UL_TS_UNKNOWN], 2);
    assert_int_equal(by[UL_TS_COUNT + UL_TS_VULNERABLE], 2);
    assert_int_equal(by[UL_TS_COUNT + UL_TS_UP_TO_DATE], 2);
}

static ul_err sum_fleet(void *ctx, const ul_tcount *c)
{
    uint64_t *by = ctx; /* by ul_fleet_status */
    by[c->status] += c->count;
    return UL_OK;
}

static void test_downstream_summaries(void **state)
{
    fx *f = *state;
    uint8_t down[32], other[32], id1[32];
    uint64_t by[UL_FLEET_STATUS_MAX + 1] = {0};
    ul_tcount c[2] = {{.ns = NS, .hw = HW, .status = UL_FLEET_OUTDATED, .count = 40},
                      {.ns = NS, .hw = HW, .status = UL_FLEET_VULNERABLE, .count = 2}};
    memset(down, 0xd1, 32);
    memset(other, 0xd2, 32);
    rid(1, id1);
    memcpy(c[0].release_id, id1, 32);
    memcpy(c[1].release_id, id1, 32);
    assert_int_equal(ul_tstore_accept_summary(f->s, down, 1, c, 2, NOW), UL_E_UNENROLLED);
    assert_int_equal(ul_tstore_enroll_tracker(f->s, down, "site-1"), UL_OK);
    assert_int_equal(ul_tstore_accept_summary(f->s, down, 1, c, 2, NOW), UL_OK);
    assert_int_equal(ul_tstore_accept_summary(f->s, down, 1, c, 1, NOW), UL_E_REPORT_REPLAY);
    assert_int_equal(ul_tstore_accept_summary(f->s, other, 5, c, 1, NOW), UL_E_UNENROLLED);
    /* Own devices: 3 up to date on release 1; the fleet is their sum with the downstream's. */
    enroll_n(f, 3, "g");
    for (int i = 0; i < 3; i++) {
        ul_treport r = report(i, 1, 1);
        assert_int_equal(accept(f, &r, NULL), UL_OK);
    }
    assert_int_equal(ul_tstore_fleet_counts(f->s, NOW, sum_fleet, by), UL_OK);
    assert_int_equal(by[UL_FLEET_UP_TO_DATE], 3);
    assert_int_equal(by[UL_FLEET_OUTDATED], 40);
    assert_int_equal(by[UL_FLEET_VULNERABLE], 2);
    /* A newer summary replaces the older counts. */
    memset(by, 0, sizeof(by));
    assert_int_equal(ul_tstore_accept_summary(f->s, down, 2, c, 1, NOW), UL_OK);
    assert_int_equal(ul_tstore_fleet_counts(f->s, NOW, sum_fleet, by), UL_OK);
    assert_int_equal(by[UL_FLEET_VULNERABLE], 0);
    assert_int_equal(by[UL_FLEET_OUTDATED], 40);
}

static void test_status_names(void **state)
{
    ul_tstatus s;
    for (int i = 0; i < UL_TS_COUNT; i++) {
        assert_true(ul_tstatus_parse(ul_tstatus_name((ul_tstatus)i), &s));
        assert_int_equal(s, i);
    }
    assert_false(ul_tstatus_parse("fine", &s));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_accept_and_replay, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_history_is_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_poller_asks_about_what_runs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ledger_changes_reclassify, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failing_and_fell_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_silence_per_group, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_name_bound, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pages_and_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_summary_and_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_downstream_summaries, setup, teardown),
        cmocka_unit_test(test_status_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
