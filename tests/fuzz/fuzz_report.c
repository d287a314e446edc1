/* Fuzz target for what a tracker and a device read from each other: the device report decoder
 * (ul_schema_report_decode, the first code a tracker runs on a device's bytes), the reply decoder
 * (a device reads it) and the summary decoder (an upstream tracker reads it). Whatever decodes
 * must be in range, re-encode to the input bytes exactly, and have the shape the in-place signed
 * digest needs; verifying its signature must not crash. Built with -DUL_FUZZ_GEN (without
 * replay.c), main() writes the seeds:
 *   cc -std=c11 -D_GNU_SOURCE -I. -DUL_FUZZ_GEN tests/fuzz/fuzz_report.c build/libupclient.a \
 *      -lsecp256k1 -lsodium -lcbor -lcrypto -o /tmp/gen_rep && /tmp/gen_rep
 * tests/fuzz/corpus/fuzz_report
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/ul_client.h"

static const uint8_t g_chain[32] = {0x5c};
static uint8_t g_out[UL_MAX_SUMMARY_BYTES];
static ul_summary_entry g_entries[UL_MAX_SUMMARY_ENTRIES];

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_report: %s\n", what);
        abort();
    }
}

static void round_trip(ul_err e, const size_t *n_out, const uint8_t *data, size_t size,
                       const char *what)
{
    size_t n = *n_out; /* read after the encoder ran (argument order is unspecified) */
    uint8_t digest[32];
    check(e == UL_OK && n == size && memcmp(g_out, data, size) == 0, what);
    check(ul_client_record_digest(digest, data, size, UL_DOMAIN_REPORT, g_chain) == UL_OK,
          "a decoded record has no signature tail");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ul_report r;
    ul_report_reply p;
    ul_summary s;
    size_t n = 0;

    if (ul_schema_report_decode(&r, data, size) == UL_OK) {
        check(size <= UL_MAX_REPORT_BYTES && r.n_components <= UL_MAX_COMPONENTS &&
                  r.counter >= 1 && r.reason <= UL_REPORT_REASON_MAX,
              "report out of range");
        round_trip(ul_schema_report_encode(g_out, sizeof g_out, &n, &r), &n, data, size, "report");
        ul_err v = ul_client_record_verify(data, size, UL_DOMAIN_REPORT, g_chain, r.device);
        check(v == UL_OK || v == UL_E_SIG || v == UL_E_KEY, "verify of a decoded report");
    }
    if (ul_schema_reply_decode(&p, data, size) == UL_OK) {
        check(size <= UL_MAX_REPLY_BYTES && p.update <= 1 && p.has_ns == (p.update == 1),
              "reply out of range");
        round_trip(ul_schema_reply_encode(g_out, sizeof g_out, &n, &p), &n, data, size, "reply");
    }
    if (ul_schema_summary_decode(&s, data, size) == UL_OK) {
        check(size <= UL_MAX_SUMMARY_BYTES && s.n_entries <= UL_MAX_SUMMARY_ENTRIES,
              "summary out of range");
        check(ul_schema_summary_entries(&s, g_entries, UL_MAX_SUMMARY_ENTRIES) == UL_OK,
              "entries of a decoded summary");
        s.entries = g_entries;
        round_trip(ul_schema_summary_encode(g_out, sizeof g_out, &n, &s), &n, data, size,
                   "summary");
    }
    return 0;
}

#ifdef UL_FUZZ_GEN
static void put(const char *dir, const char *name, const uint8_t *p, size_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    check(f != NULL && fwrite(p, 1, n, f) == n && fclose(f) == 0, path);
}

static void text(uint8_t *dst, size_t *len, const char *s)
{
    *len = strlen(s);
    memcpy(dst, s, *len);
}

int main(int argc, char **argv)
{
    static uint8_t buf[4096];
    const uint8_t sk[32] = {0x33}, aux[32] = {0};
    ul_report r = {.version = 1, .counter = 7, .time = 1767225600, .reason = UL_REPORT_UPDATE};
    ul_report_reply p = {.counter = 7, .update = 1, .has_ns = true, .has_release_id = true};
    ul_summary_entry en[2] = {{.ns = ul_span_str("acme/router"),
                               .hw = ul_span_str("router-v2"),
                               .status = UL_FLEET_OUTDATED,
                               .count = 90},
                              {.ns = ul_span_str("acme/router"),
                               .hw = ul_span_str("router-v2"),
                               .status = UL_FLEET_VULNERABLE,
                               .count = 3}};
    ul_summary s = {.counter = 1, .time = 1767225600, .entries = en, .n_entries = 2};
    size_t n;

    check(argc == 2, "usage: gen_rep DIR");
    check(ul_client_pubkey_from_secret(r.device, sk) == UL_OK, "key");
    memset(r.tracker, 0x44, 32);
    text(r.hw, &r.hw_len, "router-v2");
    r.height = 12;
    memset(r.header_hash, 0xa1, 32);
    r.n_components = 2;
    text(r.comp[0].ns, &r.comp[0].ns_len, "acme/bootloader");
    r.comp[0].seq = 2;
    text(r.comp[1].ns, &r.comp[1].ns_len, "acme/router");
    memset(r.comp[1].release_id, 0x17, 32);
    r.comp[1].seq = 7;
    r.comp[1].state = UL_COMP_TRIAL;
    r.comp[1].has_attempt = true;
    memset(r.comp[1].attempt_id, 0x17, 32);
    r.comp[1].attempt_time = 1767225500;
    check(ul_schema_report_encode(buf, sizeof buf, &n, &r) == UL_OK, "report");
    check(ul_client_record_sign(buf, n, UL_DOMAIN_REPORT, g_chain, sk, aux) == UL_OK, "sign");
    put(argv[1], "report", buf, n);
    r.n_components = 0;
    r.height = 0;
    memset(r.header_hash, 0, 32);
    check(ul_schema_report_encode(buf, sizeof buf, &n, &r) == UL_OK, "report");
    put(argv[1], "report-empty", buf, n);

    memcpy(p.device, r.device, 32);
    text(p.ns, &p.ns_len, "acme/router");
    memset(p.release_id, 0x18, 32);
    check(ul_schema_reply_encode(buf, sizeof buf, &n, &p) == UL_OK, "reply");
    put(argv[1], "reply-update", buf, n);
    p = (ul_report_reply){.counter = 7};
    check(ul_schema_reply_encode(buf, sizeof buf, &n, &p) == UL_OK, "reply");
    put(argv[1], "reply-none", buf, n);

    memcpy(s.from, r.tracker, 32);
    memset(s.to, 0x55, 32);
    check(ul_schema_summary_encode(buf, sizeof buf, &n, &s) == UL_OK, "summary");
    put(argv[1], "summary", buf, n);
    put(argv[1], "empty", buf, 0);
    return 0;
}
#endif
