/* Unit tests for device reports, tracker replies and tracker summaries (schema/report.c) and their
 * signatures (client/report.c): round trips, every bound at its limit and one past, non-canonical
 * input, bad signatures, and domain separation from every other kind of signed message.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "client/ul_client.h"

static uint8_t g_chain[32];
static uint8_t g_dev_sk[32], g_dev_pk[32];
static uint8_t g_trk_sk[32], g_trk_pk[32];
static const uint8_t g_aux[32];
static uint8_t g_buf[UL_MAX_SUMMARY_BYTES + 64];
static ul_summary_entry g_entries[UL_MAX_SUMMARY_ENTRIES + 1];
static ul_summary_entry g_read[UL_MAX_SUMMARY_ENTRIES];
static char g_names[UL_MAX_SUMMARY_ENTRIES + 1][16];

static int setup(void **state)
{
    (void)state;
    assert_int_equal(ul_client_init(), UL_OK);
    memset(g_chain, 0x5c, sizeof g_chain);
    memset(g_dev_sk, 0x33, sizeof g_dev_sk);
    memset(g_trk_sk, 0x44, sizeof g_trk_sk);
    assert_int_equal(ul_client_pubkey_from_secret(g_dev_pk, g_dev_sk), UL_OK);
    assert_int_equal(ul_client_pubkey_from_secret(g_trk_pk, g_trk_sk), UL_OK);
    return 0;
}

static void set_text(uint8_t *dst, size_t *len, const char *s)
{
    *len = strlen(s);
    memcpy(dst, s, *len);
}

/* A report with two components, the second with a failed attempt. */
static void make_report(ul_report *r)
{
    memset(r, 0, sizeof *r);
    r->version = 1;
    memcpy(r->device, g_dev_pk, 32);
    memcpy(r->tracker, g_trk_pk, 32);
    r->counter = 5;
    r->time = 1767225600;
    r->reason = UL_REPORT_UPDATE;
    set_text(r->hw, &r->hw_len, "router-v2");
    r->height = 42;
    memset(r->header_hash, 0xa1, 32);
    r->n_components = 2;
    set_text(r->comp[0].ns, &r->comp[0].ns_len, "acme/a");
    memset(r->comp[0].release_id, 0x01, 32);
    r->comp[0].seq = 7;
    set_text(r->comp[1].ns, &r->comp[1].ns_len, "acme/b");
    memset(r->comp[1].release_id, 0x02, 32);
    r->comp[1].seq = 3;
    r->comp[1].state = UL_COMP_FELL_BACK;
    r->comp[1].has_attempt = true;
    memset(r->comp[1].attempt_id, 0x03, 32);
    r->comp[1].attempt_result = UL_E_HW_MISMATCH;
    r->comp[1].attempt_time = 1767225500;
}

static size_t encode_report(const ul_report *r)
{
    size_t n = 0;
    assert_int_equal(ul_schema_report_encode(g_buf, sizeof g_buf, &n, r), UL_OK);
    return n;
}

static void test_report_round_trip(void **state)
{
    ul_report r, got;
    uint8_t again[UL_MAX_REPORT_BYTES];
    size_t n, n2;
    (void)state;
    make_report(&r);
    n = encode_report(&r);
    assert_int_equal(ul_client_record_sign(g_buf, n, UL_DOMAIN_REPORT, g_chain, g_dev_sk, g_aux),
                     UL_OK);
    assert_int_equal(ul_client_report_verify(&got, g_buf, n, g_chain), UL_OK);
    memcpy(r.sig, got.sig, 64);
    assert_memory_equal(&got, &r, sizeof r); /* make_report cleared the padding too */
    assert_int_equal(ul_schema_report_encode(again, sizeof again, &n2, &got), UL_OK);
    assert_int_equal(n2, n);
    assert_memory_equal(again, g_buf, n);
    /* Too small a buffer. */
    assert_int_equal(ul_schema_report_encode(again, n - 1, &n2, &got), UL_E_BUFFER);
    assert_int_equal(n2, 0);
}

/* Every field at its bound at once still fits UL_MAX_REPORT_BYTES; one past each is refused. */
static void test_report_bounds(void **state)
{
    ul_report r, got;
    size_t n;
    (void)state;
    make_report(&r);
    memset(r.hw, 'h', UL_MAX_LABEL_LEN);
    r.hw_len = UL_MAX_LABEL_LEN;
    r.counter = UINT64_MAX;
    r.time = UL_MAX_RELEASE_TIME;
    r.height = UINT64_MAX;
    r.n_components = UL_MAX_COMPONENTS;
    for (size_t i = 0; i < UL_MAX_COMPONENTS; i++) {
        ul_report_component *c = &r.comp[i];
        memset(c->ns, 'n', UL_MAX_NS_LEN);
        c->ns[0] = (uint8_t)('a' + i);
        c->ns[5] = '/';
        c->ns_len = UL_MAX_NS_LEN;
        c->seq = UINT64_MAX;
        c->state = UL_COMP_STATE_MAX;
        c->has_attempt = true;
        c->attempt_result = UL_MAX_REPORT_RESULT;
        c->attempt_time = UL_MAX_RELEASE_TIME;
    }
    n = encode_report(&r);
    assert_true(n <= UL_MAX_REPORT_BYTES);
    assert_int_equal(ul_schema_report_decode(&got, g_buf, n), UL_OK);

    ul_report bad = r;
    bad.hw_len = UL_MAX_LABEL_LEN + 1;
    assert_int_equal(ul_schema_report_encode(g_buf, sizeof g_buf, &n, &bad), UL_E_LIMIT);
    bad = r;
    bad.time = UL_MAX_RELEASE_TIME + 1;
    assert_int_equal(ul_schema_report_encode(g_buf, sizeof g_buf, &n, &bad), UL_E_LIMIT);
    bad = r;
    bad.n_components = UL_MAX_COMPONENTS + 1;
    assert_int_equal(ul_schema_report_encode(g_buf, sizeof g_buf, &n, &bad), UL_E_LIMIT);
    bad = r;
    bad.comp[3].ns_len = UL_MAX_NS_LEN + 1;
    assert_int_equal(ul_schema_report_encode(g_buf, sizeof g_buf, &n, &bad), UL_E_LIMIT);
    bad = r;
    bad.comp[3].attempt_result = UL_MAX_REPORT_RESULT + 1;
    assert_int_equal(ul_schema_report_encode(g_buf, sizeof g_buf, &n, &bad), UL_E_LIMIT);
    bad = r;
    bad.comp[3].attempt_time = UL_MAX_RELEASE_TIME + 1;
    assert_int_equal(ul_schema_report_encode(g_buf, sizeof g_buf, &n, &bad), UL_E_LIMIT);
    bad = r;
    bad.comp[3].state = UL_COMP_STATE_MAX + 1;
    assert_int_equal(ul_schema_report_encode(g_buf, sizeof g_buf, &n, &bad), UL_E_SCHEMA_FIELD);
    bad = r;
    bad.reason = UL_REPORT_REASON_MAX + 1;
    assert_int_equal(ul_schema_report_encode(g_buf, sizeof g_buf, &n, &bad), UL_E_SCHEMA_FIELD);
    bad = r;
    bad.counter = 0;
    assert_int_equal(ul_schema_report_encode(g_buf, sizeof g_buf, &n, &bad), UL_E_SCHEMA_FIELD);
    bad = r;
    bad.version = 2;
    assert_int_equal(ul_schema_report_encode(g_buf, sizeof g_buf, &n, &bad), UL_E_VERSION);
    bad = r;
    bad.height = 0; /* a header hash without a header */
    assert_int_equal(ul_schema_report_encode(g_buf, sizeof g_buf, &n, &bad), UL_E_SCHEMA_FIELD);
    bad = r;
    memcpy(bad.comp[4].ns, bad.comp[3].ns, UL_MAX_NS_LEN); /* repeated namespace */
    assert_int_equal(ul_schema_report_encode(g_buf, sizeof g_buf, &n, &bad), UL_E_SCHEMA_FIELD);
    /* An input one byte past the bound is refused before it is read. */
    memset(g_buf, 0, UL_MAX_REPORT_BYTES + 1);
    assert_int_equal(ul_schema_report_decode(&got, g_buf, UL_MAX_REPORT_BYTES + 1), UL_E_LIMIT);
}

/* Decoding refuses what is not the canonical encoding, with the class of error it is. */
static void test_report_noncanonical(void **state)
{
    ul_report r, got;
    uint8_t in[UL_MAX_REPORT_BYTES + 2];
    size_t n;
    (void)state;
    make_report(&r);
    n = encode_report(&r);
    /* The counter (key 4) sits after version and two keys: 1 + 2 + 35 + 35 + key byte. */
    size_t at = 1 + 2 + 35 + 35;
    assert_int_equal(g_buf[at], 0x04);
    assert_int_equal(g_buf[at + 1], 0x05);
    memcpy(in, g_buf, at + 1);
    in[at + 1] = 0x18; /* 5 written in two bytes */
    memcpy(in + at + 2, g_buf + at + 1, n - at - 1);
    assert_int_equal(ul_schema_report_decode(&got, in, n + 1), UL_E_CBOR_NONCANONICAL);
    /* Trailing bytes. */
    memcpy(in, g_buf, n);
    in[n] = 0x00;
    assert_int_equal(ul_schema_report_decode(&got, in, n + 1), UL_E_CBOR_TRAILING);
    /* Truncated. */
    assert_int_equal(ul_schema_report_decode(&got, g_buf, n - 1), UL_E_CBOR_MALFORMED);
    /* Components out of order: swap the last letters of "acme/a" and "acme/b". */
    memcpy(in, g_buf, n);
    uint8_t *a = memmem(in, n, "acme/a", 6);
    uint8_t *b = memmem(in, n, "acme/b", 6);
    assert_non_null(a);
    assert_non_null(b);
    a[5] = 'b';
    b[5] = 'a';
    assert_int_equal(ul_schema_report_decode(&got, in, n), UL_E_SCHEMA_FIELD);
    /* A missing field: the map claims one entry less, so the signature is not read. */
    memcpy(in, g_buf, n);
    in[0] = 0xaa;
    assert_int_equal(ul_schema_report_decode(&got, in, n), UL_E_SCHEMA_FIELD);
    /* An indefinite-length map. */
    in[0] = 0xbf;
    memcpy(in + 1, g_buf + 1, n - 1);
    in[n] = 0xff;
    assert_int_equal(ul_schema_report_decode(&got, in, n + 1), UL_E_CBOR_NONCANONICAL);
    /* A component of the wrong arity (3 elements). */
    memcpy(in, g_buf, n);
    a = memmem(in, n,
               "\x84\x66"
               "acme/a",
               8);
    assert_non_null(a);
    a[0] = 0x83;
    assert_int_not_equal(ul_schema_report_decode(&got, in, n), UL_OK);
}

static void test_report_signature(void **state)
{
    ul_report r, got;
    uint8_t other[32];
    size_t n;
    (void)state;
    make_report(&r);
    n = encode_report(&r);
    assert_int_equal(ul_client_record_sign(g_buf, n, UL_DOMAIN_REPORT, g_chain, g_dev_sk, g_aux),
                     UL_OK);
    assert_int_equal(ul_client_report_verify(&got, g_buf, n, g_chain), UL_OK);
    /* Another chain. */
    memset(other, 0x5d, sizeof other);
    assert_int_equal(ul_client_report_verify(&got, g_buf, n, other), UL_E_SIG);
    /* A report signature verifies as no other kind of signed message. */
    for (int d = 0; d < UL_DOMAIN_COUNT_; d++) {
        if (d != UL_DOMAIN_REPORT) {
            assert_int_equal(ul_client_record_verify(g_buf, n, (ul_domain)d, g_chain, g_dev_pk),
                             UL_E_SIG);
        }
    }
    assert_int_equal(ul_client_record_verify(g_buf, n, UL_DOMAIN_COUNT_, g_chain, g_dev_pk),
                     UL_E_SIG);
    /* Nor as a plain signature over the report's bytes under any domain. */
    for (int d = 0; d < UL_DOMAIN_COUNT_; d++) {
        assert_int_equal(
            ul_client_sig_verify(g_buf + n - 64, (ul_domain)d, g_chain, g_buf, n - 67, g_dev_pk),
            UL_E_SIG);
    }
    /* A changed field. */
    g_buf[n - 70] ^= 1;
    assert_int_not_equal(ul_client_report_verify(&got, g_buf, n, g_chain), UL_OK);
    g_buf[n - 70] ^= 1;
    /* A changed signature. */
    g_buf[n - 1] ^= 1;
    assert_int_equal(ul_client_report_verify(&got, g_buf, n, g_chain), UL_E_SIG);
    g_buf[n - 1] ^= 1;
    /* Signed by a key other than the one it names. */
    assert_int_equal(ul_client_record_sign(g_buf, n, UL_DOMAIN_REPORT, g_chain, g_trk_sk, g_aux),
                     UL_OK);
    assert_int_equal(ul_client_report_verify(&got, g_buf, n, g_chain), UL_E_SIG);
    /* Bad secret keys and a record of the wrong shape. */
    uint8_t zero[32] = {0};
    assert_int_equal(ul_client_record_sign(g_buf, n, UL_DOMAIN_REPORT, g_chain, zero, g_aux),
                     UL_E_KEY);
    assert_int_equal(ul_client_pubkey_from_secret(other, zero), UL_E_KEY);
    assert_int_equal(
        ul_client_record_sign(g_buf, n - 1, UL_DOMAIN_REPORT, g_chain, g_dev_sk, g_aux),
        UL_E_SCHEMA_FIELD);
}

/* ---- Reply ---------------------------------------------------------------------------------- */

static void make_reply(ul_report_reply *p, bool update)
{
    memset(p, 0, sizeof *p);
    memcpy(p->device, g_dev_pk, 32);
    p->counter = 5;
    p->update = update;
    p->has_ns = update;
    p->has_release_id = update;
    if (update) {
        set_text(p->ns, &p->ns_len, "acme/router");
        memset(p->release_id, 0x77, 32);
    }
}

static void test_reply(void **state)
{
    ul_report_reply p, got;
    uint8_t buf[UL_MAX_REPLY_BYTES];
    size_t n;
    (void)state;
    for (int u = 0; u < 2; u++) {
        make_reply(&p, u == 1);
        assert_int_equal(ul_schema_reply_encode(buf, sizeof buf, &n, &p), UL_OK);
        assert_int_equal(ul_client_record_sign(buf, n, UL_DOMAIN_REPLY, g_chain, g_trk_sk, g_aux),
                         UL_OK);
        assert_int_equal(ul_client_reply_verify(&got, buf, n, g_chain, g_trk_pk), UL_OK);
        assert_int_equal(got.update, (uint64_t)u);
        assert_int_equal(got.counter, 5);
        assert_int_equal(ul_client_reply_verify(&got, buf, n, g_chain, g_dev_pk), UL_E_SIG);
        assert_int_equal(ul_client_record_verify(buf, n, UL_DOMAIN_REPORT, g_chain, g_trk_pk),
                         UL_E_SIG);
    }
    make_reply(&p, true);
    memset(p.ns, 'x', UL_MAX_NS_LEN);
    p.ns[1] = '/';
    p.ns_len = UL_MAX_NS_LEN;
    assert_int_equal(ul_schema_reply_encode(buf, sizeof buf, &n, &p), UL_OK);
    assert_true(n <= UL_MAX_REPLY_BYTES);
    p.ns_len = UL_MAX_NS_LEN + 1;
    assert_int_equal(ul_schema_reply_encode(buf, sizeof buf, &n, &p), UL_E_LIMIT);
    make_reply(&p, true);
    p.has_release_id = false; /* update without a target */
    assert_int_equal(ul_schema_reply_encode(buf, sizeof buf, &n, &p), UL_E_SCHEMA_FIELD);
    make_reply(&p, false);
    p.has_ns = true; /* a target without update */
    set_text(p.ns, &p.ns_len, "acme/router");
    assert_int_equal(ul_schema_reply_encode(buf, sizeof buf, &n, &p), UL_E_SCHEMA_FIELD);
    make_reply(&p, false);
    p.update = 2;
    assert_int_equal(ul_schema_reply_encode(buf, sizeof buf, &n, &p), UL_E_SCHEMA_FIELD);
}

/* ---- Summary -------------------------------------------------------------------------------- */

static void make_entries(size_t n)
{
    for (size_t i = 0; i < n; i++) {
        snprintf(g_names[i], sizeof g_names[i], "acme/p%05zu", i / 2);
        g_entries[i] = (ul_summary_entry){.ns = ul_span_str(g_names[i]),
                                          .hw = ul_span_str("router-v2"),
                                          .status = i % 2 ? UL_FLEET_VULNERABLE : UL_FLEET_OUTDATED,
                                          .count = i + 1};
        memset(g_entries[i].release_id, 0x42, 32);
    }
}

static void make_summary(ul_summary *s, size_t n)
{
    memset(s, 0, sizeof *s);
    memcpy(s->from, g_trk_pk, 32);
    memcpy(s->to, g_dev_pk, 32);
    s->counter = 9;
    s->time = 1767225600;
    make_entries(n);
    s->entries = g_entries;
    s->n_entries = n;
}

static void test_summary(void **state)
{
    ul_summary s, got;
    size_t n;
    (void)state;
    make_summary(&s, 3);
    assert_int_equal(ul_schema_summary_encode(g_buf, sizeof g_buf, &n, &s), UL_OK);
    assert_int_equal(ul_client_record_sign(g_buf, n, UL_DOMAIN_SUMMARY, g_chain, g_trk_sk, g_aux),
                     UL_OK);
    assert_int_equal(ul_client_summary_verify(&got, g_buf, n, g_chain), UL_OK);
    assert_int_equal(got.n_entries, 3);
    assert_null(got.entries);
    assert_int_equal(ul_schema_summary_entries(&got, g_read, 2), UL_E_BUFFER);
    assert_int_equal(ul_schema_summary_entries(&got, g_read, 3), UL_OK);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(ul_schema_summary_entry_cmp(&g_read[i], &g_entries[i]), 0);
        assert_int_equal(g_read[i].count, g_entries[i].count);
    }
    assert_int_equal(ul_client_record_verify(g_buf, n, UL_DOMAIN_REPORT, g_chain, g_trk_pk),
                     UL_E_SIG);
    g_buf[n - 5] ^= 1;
    assert_int_equal(ul_client_summary_verify(&got, g_buf, n, g_chain), UL_E_SIG);

    /* Unsorted, repeated, zero counts, unknown statuses. */
    make_summary(&s, 3);
    g_entries[2] = g_entries[1];
    assert_int_equal(ul_schema_summary_encode(g_buf, sizeof g_buf, &n, &s), UL_E_SCHEMA_FIELD);
    make_summary(&s, 3);
    ul_summary_entry t = g_entries[0];
    g_entries[0] = g_entries[2];
    g_entries[2] = t;
    assert_int_equal(ul_schema_summary_encode(g_buf, sizeof g_buf, &n, &s), UL_E_SCHEMA_FIELD);
    qsort(g_entries, 3, sizeof g_entries[0], ul_schema_summary_entry_cmp);
    assert_int_equal(ul_schema_summary_encode(g_buf, sizeof g_buf, &n, &s), UL_OK);
    g_entries[1].count = 0;
    assert_int_equal(ul_schema_summary_encode(g_buf, sizeof g_buf, &n, &s), UL_E_SCHEMA_FIELD);
    make_summary(&s, 3);
    g_entries[2].status = UL_FLEET_STATUS_MAX + 1;
    assert_int_equal(ul_schema_summary_encode(g_buf, sizeof g_buf, &n, &s), UL_E_SCHEMA_FIELD);
    make_summary(&s, 3);
    s.counter = 0;
    assert_int_equal(ul_schema_summary_encode(g_buf, sizeof g_buf, &n, &s), UL_E_SCHEMA_FIELD);
}

static void test_summary_bounds(void **state)
{
    ul_summary s, got;
    size_t n;
    static char long_ns[UL_MAX_NS_LEN + 2], long_hw[UL_MAX_LABEL_LEN + 2];
    (void)state;
    make_summary(&s, UL_MAX_SUMMARY_ENTRIES);
    assert_int_equal(ul_schema_summary_encode(g_buf, sizeof g_buf, &n, &s), UL_OK);
    assert_int_equal(ul_schema_summary_decode(&got, g_buf, n), UL_OK);
    assert_int_equal(got.n_entries, UL_MAX_SUMMARY_ENTRIES);
    assert_int_equal(ul_schema_summary_entries(&got, g_read, UL_MAX_SUMMARY_ENTRIES), UL_OK);
    make_summary(&s, UL_MAX_SUMMARY_ENTRIES + 1);
    assert_int_equal(ul_schema_summary_encode(g_buf, sizeof g_buf, &n, &s), UL_E_LIMIT);

    memset(long_ns, 'n', UL_MAX_NS_LEN + 1);
    long_ns[1] = '/';
    memset(long_hw, 'h', UL_MAX_LABEL_LEN + 1);
    make_summary(&s, 1);
    g_entries[0].ns = (ul_span){(const uint8_t *)long_ns, UL_MAX_NS_LEN};
    g_entries[0].hw = (ul_span){(const uint8_t *)long_hw, UL_MAX_LABEL_LEN};
    assert_int_equal(ul_schema_summary_encode(g_buf, sizeof g_buf, &n, &s), UL_OK);
    assert_true(n <= 256 + 307);
    g_entries[0].ns.len++;
    assert_int_equal(ul_schema_summary_encode(g_buf, sizeof g_buf, &n, &s), UL_E_LIMIT);
    g_entries[0].ns.len--;
    g_entries[0].hw.len++;
    assert_int_equal(ul_schema_summary_encode(g_buf, sizeof g_buf, &n, &s), UL_E_LIMIT);
    memset(g_buf, 0, UL_MAX_SUMMARY_BYTES + 1);
    assert_int_equal(ul_schema_summary_decode(&got, g_buf, UL_MAX_SUMMARY_BYTES + 1), UL_E_LIMIT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_report_round_trip),
        cmocka_unit_test(test_report_bounds),
        cmocka_unit_test(test_report_noncanonical),
        cmocka_unit_test(test_report_signature),
        cmocka_unit_test(test_reply),
        cmocka_unit_test(test_summary),
        cmocka_unit_test(test_summary_bounds),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
