/* reportgen: a simulated fleet for tracker tests and benchmarks. It derives N device keys from a
 * seed (the same seed and index always give the same device, so later runs continue a fleet),
 * writes their public keys for enrolment, signs their reports (libupclient's encoder and signed
 * digest; one long-lived libsecp256k1 context and keypair per device instead of the device's
 * per-report stack context, about 10 times faster), and writes them as a length-prefixed stream
 * and/or POSTs them to a tracker over K keep-alive connections, counting the answers. Usage:
 * reportgen --help.
 */
#include <getopt.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <secp256k1.h>
#include <secp256k1_extrakeys.h>
#include <secp256k1_schnorrsig.h>
#include <sodium.h>

#include "client/ul_client.h"

#define MAX_COMPONENTS UL_MAX_COMPONENTS
#define MAX_JOBS 64

static const char USAGE[] =
    "usage: reportgen --chain-id HEX --tracker-key HEX [options]\n"
    "Derives device keys from --seed and signs their reports (docs/protocol.md section 14).\n"
    "  --devices N          devices (default 100); --first I: index of the first (default 0)\n"
    "  --seed S             fleet seed (default 1): device i's secret key is\n"
    "                       SHA-256(\"upledger/reportgen\" || BE64(S) || BE64(i))\n"
    "  --reports M          reports per device (default 1), counters C, C+1, ... C+M-1\n"
    "  --counter C          first counter (default 1)\n"
    "  --hw CLASS           hardware class (default router-v2)\n"
    "  --component NS:RELEASE_HEX:SEQ[:STATE[:RESULT]]   a component (repeat, sorted by ns);\n"
    "                       STATE running|trial|fell-back (default running); RESULT: the last\n"
    "                       attempt's ul_err code (an attempt for that release is included)\n"
    "  --height H --header-hash HEX   the device's trusted header (default 0, zero)\n"
    "  --time T             report time, unix seconds (default now); --reason 0..4 (default 0)\n"
    "  --keys FILE          write each device's public key, hex, one a line (enrolment)\n"
    "  --secrets FILE       write each device's secret key, hex, one a line (tests only)\n"
    "  --out FILE           write the reports: each a 4-byte big-endian length, then the report\n"
    "  --post URL           POST each report (application/cbor) and count answers by status\n"
    "  --jobs K             concurrent connections for --post (default 4, at most 64)\n"
    "  --timeout S          per-request timeout for --post (default 10)\n"
    "  --verify FILE        only read a stream --out wrote and verify every report against\n"
    "                       --chain-id (and --tracker-key): prints {\"verified\": n}\n"
    "Prints one JSON line: {\"devices\", \"reports\", \"sign_s\", and with --post \"post_s\",\n"
    "\"per_s\", \"status\": {code: count}}. Exit 0, 1 on a failure, 2 on bad usage.\n";

typedef struct {
    const char *chain_hex, *tracker_hex, *hw, *header_hex, *keys, *secrets, *out, *post, *verify;
    const char *comps[MAX_COMPONENTS];
    size_t n_comps;
    uint64_t devices, first, seed, reports, counter, height, time, reason, jobs, timeout;
} options;

typedef struct {
    uint8_t *buf; /* all reports, each at off[i], len[i] */
    size_t *off;
    size_t *len;
    size_t n;
} batch;

static int fail(const char *what)
{
    fprintf(stderr, "reportgen: %s\n", what);
    return 1;
}

static bool hex32(const char *s, uint8_t out[32])
{
    size_t n = 0;
    const char *end = NULL;
    return s != NULL && strlen(s) == 64 && sodium_hex2bin(out, 32, s, 64, NULL, &n, &end) == 0 &&
           n == 32 && *end == '\0';
}

static bool u64(const char *s, uint64_t *v)
{
    char *end = NULL;
    if (s == NULL || *s < '0' || *s > '9') {
        return false;
    }
    *v = strtoull(s, &end, 10);
    return *end == '\0';
}

static void device_secret(uint8_t sk[32], uint64_t seed, uint64_t i)
{
    uint8_t in[18 + 16] = "upledger/reportgen";
    for (int b = 0; b < 8; b++) {
        in[18 + b] = (uint8_t)(seed >> (56 - 8 * b));
        in[26 + b] = (uint8_t)(i >> (56 - 8 * b));
    }
    ul_client_sha256(sk, in, sizeof in);
}

/* NS:RELEASE_HEX:SEQ[:STATE[:RESULT]] into c. */
static bool parse_component(const char *spec, ul_report_component *c, uint64_t when)
{
    char tmp[512], *parts[5] = {0};
    size_t n = 0;
    if (strlen(spec) >= sizeof tmp) {
        return false;
    }
    memcpy(tmp, spec, strlen(spec) + 1);
    for (char *p = tmp, *save = NULL; n < 5 && (p = strtok_r(n ? NULL : p, ":", &save)) != NULL;) {
        parts[n++] = p;
    }
    memset(c, 0, sizeof *c);
    if (n < 3 || strlen(parts[0]) > UL_MAX_NS_LEN || !hex32(parts[1], c->release_id) ||
        !u64(parts[2], &c->seq)) {
        return false;
    }
    c->ns_len = strlen(parts[0]);
    memcpy(c->ns, parts[0], c->ns_len);
    if (n >= 4) {
        const char *st = parts[3];
        c->state = strcmp(st, "trial") == 0       ? UL_COMP_TRIAL
                   : strcmp(st, "fell-back") == 0 ? UL_COMP_FELL_BACK
                                                  : UL_COMP_RUNNING;
        if (c->state == UL_COMP_RUNNING && strcmp(st, "running") != 0) {
            return false;
        }
    }
    if (n == 5) {
        c->has_attempt = true;
        memcpy(c->attempt_id, c->release_id, 32);
        c->attempt_time = when;
        return u64(parts[4], &c->attempt_result);
    }
    return true;
}

/* Options that take a value: a string (str) or a decimal number (num) member of options. */
typedef struct {
    const char *name;
    size_t str, num;
} opt_def;

#define STR(m) offsetof(options, m), SIZE_MAX
#define NUM(m) SIZE_MAX, offsetof(options, m)
static const opt_def OPTS[] = {
    {"chain-id", STR(chain_hex)},
    {"tracker-key", STR(tracker_hex)},
    {"devices", NUM(devices)},
    {"first", NUM(first)},
    {"seed", NUM(seed)},
    {"reports", NUM(reports)},
    {"counter", NUM(counter)},
    {"hw", STR(hw)},
    {"component", SIZE_MAX, SIZE_MAX},
    {"height", NUM(height)},
    {"header-hash", STR(header_hex)},
    {"time", NUM(time)},
    {"reason", NUM(reason)},
    {"keys", STR(keys)},
    {"secrets", STR(secrets)},
    {"out", STR(out)},
    {"post", STR(post)},
    {"jobs", NUM(jobs)},
    {"timeout", NUM(timeout)},
    {"verify", STR(verify)},
};
#define N_OPTS (sizeof OPTS / sizeof OPTS[0])

static bool set_opt(options *o, const opt_def *d, const char *v)
{
    if (d->str != SIZE_MAX) {
        *(const char **)((char *)o + d->str) = v;
        return true;
    }
    if (d->num != SIZE_MAX) {
        return u64(v, (uint64_t *)((char *)o + d->num));
    }
    if (o->n_comps >= MAX_COMPONENTS) {
        return false;
    }
    o->comps[o->n_comps++] = v;
    return true;
}

static int parse(int argc, char **argv, options *o)
{
    struct option longs[N_OPTS + 2];
    int c, idx = 0;
    bool ok = true;
    for (size_t i = 0; i < N_OPTS; i++) {
        longs[i] = (struct option){OPTS[i].name, required_argument, NULL, 1000 + (int)i};
    }
    longs[N_OPTS] = (struct option){"help", no_argument, NULL, 'h'};
    longs[N_OPTS + 1] = (struct option){0, 0, 0, 0};
    *o = (options){.hw = "router-v2",
                   .devices = 100,
                   .seed = 1,
                   .reports = 1,
                   .counter = 1,
                   .time = (uint64_t)time(NULL),
                   .jobs = 4,
                   .timeout = 10};
    while (ok && (c = getopt_long(argc, argv, "h", longs, &idx)) != -1) {
        if (c == 'h') {
            fputs(USAGE, stdout);
            return 0;
        }
        ok = c >= 1000 && c < 1000 + (int)N_OPTS && set_opt(o, &OPTS[c - 1000], optarg);
    }
    ok = ok && o->counter >= 1 && o->jobs >= 1 && o->jobs <= MAX_JOBS && o->timeout >= 1;
    if (!ok || optind != argc || o->chain_hex == NULL || o->tracker_hex == NULL) {
        fputs(USAGE, stderr);
        return 2;
    }
    return -1;
}

/* Fills the fields every report of this run shares. */
static int report_template(const options *o, ul_report *r)
{
    memset(r, 0, sizeof *r);
    r->version = 1;
    r->time = o->time;
    r->reason = o->reason;
    r->height = o->height;
    if (!hex32(o->tracker_hex, r->tracker) || strlen(o->hw) > UL_MAX_LABEL_LEN ||
        (o->header_hex != NULL && !hex32(o->header_hex, r->header_hash))) {
        return fail("bad --tracker-key, --hw or --header-hash");
    }
    r->hw_len = strlen(o->hw);
    memcpy(r->hw, o->hw, r->hw_len);
    r->n_components = o->n_comps;
    for (size_t i = 0; i < o->n_comps; i++) {
        if (!parse_component(o->comps[i], &r->comp[i], o->time)) {
            return fail("bad --component (NS:RELEASE_HEX:SEQ[:STATE[:RESULT]])");
        }
    }
    return 0;
}

static void put_hex_line(FILE *f, const uint8_t *p)
{
    char hex[65];
    sodium_bin2hex(hex, sizeof hex, p, 32);
    fprintf(f, "%s\n", hex);
}

/* Signs every report into b (and writes keys and secrets). */
static int generate(const options *o, batch *b)
{
    uint8_t chain[32], sk[32], aux[32];
    static ul_report r;
    FILE *keys = o->keys ? fopen(o->keys, "w") : NULL;
    FILE *secrets = o->secrets ? fopen(o->secrets, "w") : NULL;
    secp256k1_context *ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    secp256k1_keypair kp;
    secp256k1_xonly_pubkey xpk;
    int rc = 1;
    randombytes_buf(aux, sizeof aux);
    if (ctx == NULL || !secp256k1_context_randomize(ctx, aux)) {
        fail("cannot make a signing context");
        goto out;
    }
    if (!hex32(o->chain_hex, chain) || report_template(o, &r) != 0 || (o->keys && !keys) ||
        (o->secrets && !secrets)) {
        fail("bad --chain-id, or cannot write --keys / --secrets");
        goto out;
    }
    b->n = (size_t)(o->devices * o->reports);
    b->buf = malloc(b->n * UL_MAX_REPORT_BYTES + 1);
    b->off = malloc((b->n + 1) * sizeof(size_t));
    b->len = malloc((b->n + 1) * sizeof(size_t));
    if (!b->buf || !b->off || !b->len) {
        fail("out of memory");
        goto out;
    }
    size_t at = 0, k = 0;
    for (uint64_t d = 0; d < o->devices; d++) {
        device_secret(sk, o->seed, o->first + d);
        if (!secp256k1_keypair_create(ctx, &kp, sk) ||
            !secp256k1_keypair_xonly_pub(ctx, &xpk, NULL, &kp) ||
            !secp256k1_xonly_pubkey_serialize(ctx, r.device, &xpk)) {
            fail("a derived secret is not a key (try another --seed)");
            goto out;
        }
        if (keys) {
            put_hex_line(keys, r.device);
        }
        if (secrets) {
            put_hex_line(secrets, sk);
        }
        for (uint64_t m = 0; m < o->reports; m++, k++) {
            size_t n;
            r.counter = o->counter + m;
            randombytes_buf(aux, sizeof aux);
            uint8_t digest[32];
            if (ul_schema_report_encode(b->buf + at, UL_MAX_REPORT_BYTES, &n, &r) != UL_OK ||
                ul_client_record_digest(digest, b->buf + at, n, UL_DOMAIN_REPORT, chain) != UL_OK ||
                !secp256k1_schnorrsig_sign32(ctx, b->buf + at + n - 64, digest, &kp, aux)) {
                fail("a report does not encode (check --component order and bounds)");
                goto out;
            }
            b->off[k] = at;
            b->len[k] = n;
            at += n;
        }
    }
    rc = 0;
out:
    sodium_memzero(sk, sizeof sk);
    sodium_memzero(&kp, sizeof kp);
    secp256k1_context_destroy(ctx);
    if (keys && fclose(keys) != 0) {
        rc = fail("cannot write --keys");
    }
    if (secrets && fclose(secrets) != 0) {
        rc = fail("cannot write --secrets");
    }
    return rc;
}

/* --verify: every report of the stream decodes, verifies and is for the tracker. */
static int verify_stream(const options *o)
{
    uint8_t chain[32], tracker[32], in[UL_MAX_REPORT_BYTES], be[4];
    static ul_report r;
    size_t n = 0;
    FILE *f = fopen(o->verify, "rb");
    if (f == NULL || !hex32(o->chain_hex, chain) || !hex32(o->tracker_hex, tracker)) {
        return fail("cannot read --verify, or bad --chain-id / --tracker-key");
    }
    while (fread(be, 1, 4, f) == 4) {
        size_t len = (size_t)be[0] << 24 | (size_t)be[1] << 16 | (size_t)be[2] << 8 | be[3];
        ul_err e = len > sizeof in || fread(in, 1, len, f) != len
                       ? UL_E_TRUNCATED
                       : ul_client_report_verify(&r, in, len, chain);
        if (e == UL_OK && memcmp(r.tracker, tracker, 32) != 0) {
            e = UL_E_TRACKER;
        }
        if (e != UL_OK) {
            fclose(f);
            fprintf(stderr, "reportgen: report %zu: %s: %s\n", n, ul_err_name(e), ul_err_str(e));
            return 1;
        }
        n++;
    }
    fclose(f);
    printf("{\"verified\": %zu}\n", n);
    return 0;
}

static int write_stream(const char *path, const batch *b)
{
    FILE *f = fopen(path, "wb");
    bool ok = f != NULL;
    for (size_t i = 0; ok && i < b->n; i++) {
        uint8_t be[4] = {(uint8_t)(b->len[i] >> 24), (uint8_t)(b->len[i] >> 16),
                         (uint8_t)(b->len[i] >> 8), (uint8_t)b->len[i]};
        ok = fwrite(be, 1, 4, f) == 4 && fwrite(b->buf + b->off[i], 1, b->len[i], f) == b->len[i];
    }
    if (f != NULL && fclose(f) != 0) {
        ok = false;
    }
    return ok ? 0 : fail("cannot write --out");
}

/* ---- --post: K threads, each its own keep-alive connection over a share of the reports ---- */

typedef struct {
    const options *o;
    const batch *b;
    size_t from, to;
    uint64_t status[600]; /* answers by HTTP status; [0]: transport failures */
} worker;

static size_t discard(char *p, size_t size, size_t n, void *arg)
{
    (void)p;
    (void)arg;
    return size * n;
}

static void *post_worker(void *arg)
{
    worker *w = arg;
    CURL *c = curl_easy_init();
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/cbor");
    for (size_t i = w->from; c != NULL && h != NULL && i < w->to; i++) {
        long code = 0;
        curl_easy_setopt(c, CURLOPT_URL, w->o->post);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, (const char *)(w->b->buf + w->b->off[i]));
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)w->b->len[i]);
        curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)w->o->timeout);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        if (curl_easy_perform(c) == CURLE_OK &&
            curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code) == CURLE_OK && code > 0 &&
            code < 600) {
            w->status[code]++;
        } else {
            w->status[0]++;
        }
    }
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return NULL;
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Posts every report; device d's reports stay in order (all go to the same worker). */
static int post_all(const options *o, const batch *b, double *secs, uint64_t status[600])
{
    static worker ws[MAX_JOBS];
    pthread_t th[MAX_JOBS];
    size_t jobs = (size_t)o->jobs, per_dev = (size_t)o->reports, devs = (size_t)o->devices;
    double t0 = now_s();
    for (size_t j = 0; j < jobs; j++) {
        ws[j] = (worker){.o = o,
                         .b = b,
                         .from = devs * j / jobs * per_dev,
                         .to = devs * (j + 1) / jobs * per_dev};
        if (pthread_create(&th[j], NULL, post_worker, &ws[j]) != 0) {
            return fail("cannot start a thread");
        }
    }
    for (size_t j = 0; j < jobs; j++) {
        pthread_join(th[j], NULL);
        for (int s = 0; s < 600; s++) {
            status[s] += ws[j].status[s];
        }
    }
    *secs = now_s() - t0;
    return 0;
}

int main(int argc, char **argv)
{
    options o;
    batch b = {0};
    uint64_t status[600] = {0};
    double t0, sign_s, post_s = 0;
    int rc = parse(argc, argv, &o);
    if (rc >= 0) {
        return rc;
    }
    if (ul_client_init() != UL_OK || sodium_init() < 0 || curl_global_init(CURL_GLOBAL_ALL) != 0) {
        return fail("cannot initialise libupclient, libsodium or libcurl");
    }
    if (o.verify) {
        return verify_stream(&o);
    }
    t0 = now_s();
    rc = generate(&o, &b);
    sign_s = now_s() - t0;
    if (rc == 0 && o.out) {
        rc = write_stream(o.out, &b);
    }
    if (rc == 0 && o.post) {
        rc = post_all(&o, &b, &post_s, status);
    }
    if (rc == 0) {
        printf("{\"devices\": %llu, \"reports\": %zu, \"sign_s\": %.3f",
               (unsigned long long)o.devices, b.n, sign_s);
        if (o.post) {
            printf(", \"post_s\": %.3f, \"per_s\": %.0f, \"status\": {", post_s,
                   post_s > 0 ? (double)b.n / post_s : 0.0);
            for (int s = 0, first = 1; s < 600; s++) {
                if (status[s] > 0) {
                    printf("%s\"%d\": %llu", first ? "" : ", ", s, (unsigned long long)status[s]);
                    first = 0;
                }
            }
            printf("}");
        }
        printf("}\n");
    }
    free(b.buf);
    free(b.off);
    free(b.len);
    curl_global_cleanup();
    return rc;
}
