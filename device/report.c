/* upledger-device reports: after every update, start, confirm and fallback, and on a schedule
 * (`report`), the device tells the tracker its owner chose what it runs, in a report signed by
 * its report key (docs/protocol.md section 14). The next counter is persisted before a report is
 * signed, so a crash never makes the device reuse one. The tracker is strictly optional to an
 * update: down, slow or refusing, it costs one line on stderr and at most --tracker-timeout. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "device.h"

/* Default --tracker-timeout: a report is small; a tracker that cannot answer in this long is
 * treated as down, and the update it follows has already happened. */
#define TRACKER_TIMEOUT_S 5
#define TRACKER_TIMEOUT_MAX_S 600
#define URL_MAX (UL_MAX_LINK_LEN + 32)

typedef struct {
    char url[URL_MAX];
    uint8_t key[UL_PUBKEY_BYTES];
    long timeout;
} tracker;

static const char report_help[] =
    "usage: upledger-device report --state DIR [--tracker URL --tracker-key HEX]\n"
    "                              [--tracker-timeout S] [--passphrase-file FILE]\n"
    "                              [--every SECONDS [--count N]]\n"
    "                              [--update-on-reply --mirror URL [--mirror URL]...\n"
    "                               [--health-check CMD] [--max-age S] [--timeout S]]\n"
    "Sends the tracker a signed report of what the device runs (docs/protocol.md section 14):\n"
    "a POST of application/cbor to URL/v1/reports, signed with DIR/report.key (made by init\n"
    "--tracker or --report-key; its passphrase from UPLEDGER_PASSPHRASE or --passphrase-file;\n"
    "none for a --plain-key key), addressed to the tracker key HEX. Without --tracker, the\n"
    "tracker init saved (DIR/tracker.json). The counter is saved before each report is sent.\n"
    "Prints the tracker's verified answer: \"reported N: up to date\" or \"reported N: update\n"
    "NS to RELEASE_ID\". --every: a report each SECONDS (N times with --count, else until\n"
    "stopped). --update-on-reply: when the answer says update, run `update` for that namespace\n"
    "from the --mirror URLs (it reports its outcome). Exit 1 when the tracker did not accept.\n";

int ul_dev_tracker_check(const char *cmd, const ul_dev_tracker_opts *t)
{
    uint8_t key[UL_PUBKEY_BYTES];
    size_t n = 0;
    char *end = NULL;
    if (!t->url != !t->key_hex) {
        return ul_dev_usage("%s: --tracker and --tracker-key go together", cmd);
    }
    if (t->url && strncmp(t->url, "http://", 7) != 0 && strncmp(t->url, "https://", 8) != 0) {
        return ul_dev_usage("%s: --tracker %s is not an http:// or https:// URL", cmd, t->url);
    }
    if (t->url && strlen(t->url) > UL_MAX_LINK_LEN) {
        return ul_dev_usage("%s: --tracker URL is longer than %d bytes", cmd, UL_MAX_LINK_LEN);
    }
    if (t->key_hex &&
        (strlen(t->key_hex) != 64 || sodium_hex2bin(key, 32, t->key_hex, 64, NULL, &n, NULL) != 0 ||
         n != 32 || ul_client_pubkey_check(key) != UL_OK)) {
        return ul_dev_usage("%s: --tracker-key %s is not a public key (64 hex digits)", cmd,
                            t->key_hex);
    }
    if (t->timeout_s) {
        long v = strtol(t->timeout_s, &end, 10);
        if (*end || end == t->timeout_s || v < 1 || v > TRACKER_TIMEOUT_MAX_S) {
            return ul_dev_usage("%s: --tracker-timeout %s is not 1..%d seconds", cmd, t->timeout_s,
                                TRACKER_TIMEOUT_MAX_S);
        }
    }
    return -1;
}

ul_err ul_dev_tracker_save(const char *dir, const ul_dev_tracker_opts *t)
{
    json_t *o = json_pack("{s:s,s:s}", "url", t->url, "key", t->key_hex);
    char *text = o ? json_dumps(o, JSON_INDENT(2)) : NULL;
    ul_err e = text ? ul_dev_write_file(dir, "tracker.json", (const uint8_t *)text, strlen(text),
                                        0600, true)
                    : UL_E_NOMEM;
    free(text);
    json_decref(o);
    return e;
}

/* The tracker of this run: the options, else DIR/tracker.json. Returns: UL_OK; UL_E_NOT_FOUND
 * when none is configured (no report); UL_E_SCHEMA_FIELD for a damaged tracker.json. */
static ul_err tracker_resolve(const char *dir, const ul_dev_tracker_opts *t, tracker *out)
{
    char path[UL_DEV_PATH_MAX], text[2048];
    const char *url = t->url, *key = t->key_hex;
    size_t len = 0, n = 0;
    json_t *o = NULL;
    out->timeout = t->timeout_s ? strtol(t->timeout_s, NULL, 10) : TRACKER_TIMEOUT_S;
    if (!url) {
        snprintf(path, sizeof path, "%s/tracker.json", dir);
        ul_err e = ul_dev_read_file(path, (uint8_t *)text, sizeof text, &len);
        if (e != UL_OK) {
            return e == UL_E_NOT_FOUND ? e : UL_E_SCHEMA_FIELD;
        }
        o = json_loadb(text, len, 0, NULL);
        url = json_string_value(json_object_get(o, "url"));
        key = json_string_value(json_object_get(o, "key"));
    }
    ul_err e = url && key && strlen(key) == 64 && strlen(url) <= UL_MAX_LINK_LEN &&
                       sodium_hex2bin(out->key, 32, key, 64, NULL, &n, NULL) == 0 && n == 32
                   ? UL_OK
                   : UL_E_SCHEMA_FIELD;
    if (e == UL_OK) {
        size_t ul = strlen(url);
        while (ul > 0 && url[ul - 1] == '/') {
            ul--;
        }
        snprintf(out->url, sizeof out->url, "%.*s/v1/reports", (int)ul, url);
    }
    json_decref(o);
    return e;
}

/* ---- What the device remembers between reports: DIR/report.cbor, its last report ---------- */

static ul_err memory_load(const char *dir, ul_report *mem)
{
    static uint8_t buf[UL_MAX_REPORT_BYTES];
    char path[UL_DEV_PATH_MAX];
    size_t len = 0;
    snprintf(path, sizeof path, "%s/report.cbor", dir);
    ul_err e = ul_dev_read_file(path, buf, sizeof buf, &len);
    if (e == UL_E_NOT_FOUND) {
        memset(mem, 0, sizeof *mem); /* no report yet: counter 0, no attempts */
        return UL_OK;
    }
    return e == UL_OK ? ul_schema_report_decode(mem, buf, len) : e;
}

ul_err ul_dev_slot_id_save(const char *slot_dir, uint64_t slot, const uint8_t id[UL_HASH_BYTES])
{
    char name[32];
    snprintf(name, sizeof name, "%llu.id", (unsigned long long)slot);
    return ul_dev_write_file(slot_dir, name, id, UL_HASH_BYTES, 0600, true);
}

/* The release id a slot holds, zero when unknown (a factory image, or staged before reports). */
static void slot_id(const char *dir, const ul_component *c, uint64_t slot, uint8_t id[32])
{
    char sdir[UL_DEV_PATH_MAX], path[UL_DEV_PATH_MAX + 32];
    size_t len = 0;
    memset(id, 0, 32);
    if (ul_dev_slot_dir(sdir, sizeof sdir, dir, c->ns, c->ns_len) != UL_OK) {
        return;
    }
    snprintf(path, sizeof path, "%s/%llu.id", sdir, (unsigned long long)slot);
    if (ul_dev_read_file(path, id, 32, &len) != UL_OK || len != 32) {
        memset(id, 0, 32);
    }
}

static void component_fill(ul_report_component *rc, const char *dir, const ul_component *c,
                           const ul_report *mem, const ul_dev_attempt *att, uint64_t now)
{
    memset(rc, 0, sizeof *rc);
    memcpy(rc->ns, c->ns, c->ns_len);
    rc->ns_len = c->ns_len;
    slot_id(dir, c, c->active & 1, rc->release_id);
    rc->seq = c->slot[c->active & 1].seq;
    rc->state = c->trial                 ? UL_COMP_TRIAL
                : ul_dev_failed_trial(c) ? UL_COMP_FELL_BACK
                                         : UL_COMP_RUNNING;
    if (att && att->ns_len == c->ns_len && !memcmp(att->ns, c->ns, c->ns_len)) {
        rc->has_attempt = true;
        memcpy(rc->attempt_id, att->release_id, UL_HASH_BYTES);
        rc->attempt_result = (uint64_t)att->result;
        rc->attempt_time = now;
        return;
    }
    for (size_t i = 0; i < mem->n_components; i++) { /* the last attempt stays until the next */
        const ul_report_component *m = &mem->comp[i];
        if (m->has_attempt && m->ns_len == c->ns_len && !memcmp(m->ns, c->ns, c->ns_len)) {
            rc->has_attempt = true;
            memcpy(rc->attempt_id, m->attempt_id, UL_HASH_BYTES);
            rc->attempt_result = m->attempt_result;
            rc->attempt_time = m->attempt_time;
        }
    }
}

/* Builds the next report into r (counter = the last + 1) and saves it as the memory, before it
 * is signed or sent. */
static ul_err report_next(ul_report *r, const char *dir, const ul_device_state *st,
                          ul_report_reason reason, const ul_dev_attempt *att, const uint8_t pub[32],
                          const tracker *t)
{
    static ul_report mem;
    static uint8_t buf[UL_MAX_REPORT_BYTES];
    size_t len = 0;
    uint64_t now = (uint64_t)time(NULL);
    ul_err e = memory_load(dir, &mem);
    if (e != UL_OK) {
        return e;
    }
    memset(r, 0, sizeof *r);
    r->version = 1;
    memcpy(r->device, pub, 32);
    memcpy(r->tracker, t->key, 32);
    r->counter = mem.counter + 1;
    r->time = now > UL_MAX_RELEASE_TIME ? UL_MAX_RELEASE_TIME : now;
    r->reason = reason;
    memcpy(r->hw, st->hw, st->hw_len);
    r->hw_len = st->hw_len;
    r->height = st->height;
    memcpy(r->header_hash, st->header_hash, UL_HASH_BYTES);
    r->n_components = st->n_components;
    for (size_t i = 0; i < st->n_components; i++) {
        component_fill(&r->comp[i], dir, &st->comp[i], &mem, att, r->time);
    }
    e = ul_schema_report_encode(buf, sizeof buf, &len, r);
    if (e == UL_OK) {
        e = ul_dev_write_file(dir, "report.cbor", buf, len, 0600, true); /* fsync, rename */
    }
    return e;
}

/* ---- Sending ------------------------------------------------------------------------------- */

typedef struct {
    uint8_t buf[UL_MAX_REPLY_BYTES];
    size_t len;
} reply_buf;

static ul_err reply_body(void *arg, const uint8_t *p, size_t n)
{
    reply_buf *b = arg;
    if (n > sizeof b->buf - b->len) {
        return UL_E_LIMIT; /* no reply is larger */
    }
    memcpy(b->buf + b->len, p, n);
    b->len += n;
    return UL_OK;
}

/* Signs r, POSTs it and verifies the answer into *reply. msg says what failed. */
static ul_err send_report(const tracker *t, ul_report *r, const uint8_t sk[32],
                          const uint8_t chain_id[32], ul_report_reply *reply, char *msg, size_t cap)
{
    static uint8_t out[UL_MAX_REPORT_BYTES];
    static reply_buf rb;
    uint8_t aux[32];
    size_t len = 0;
    randombytes_buf(aux, sizeof aux);
    ul_err e = ul_schema_report_encode(out, sizeof out, &len, r);
    if (e == UL_OK) {
        e = ul_client_record_sign(out, len, UL_DOMAIN_REPORT, chain_id, sk, aux);
    }
    snprintf(msg, cap, "%s", ul_err_str(e));
    rb.len = 0;
    if (e == UL_OK) {
        e = ul_dev_http_post(t->url, out, len, t->timeout, reply_body, &rb, msg, cap);
    }
    if (e == UL_OK) {
        e = ul_client_reply_verify(reply, rb.buf, rb.len, chain_id, t->key);
        snprintf(msg, cap, "reply: %s", ul_err_str(e));
    }
    if (e == UL_OK && (reply->counter != r->counter || memcmp(reply->device, r->device, 32))) {
        e = UL_E_SCHEMA_FIELD;
        snprintf(msg, cap, "the reply answers another report");
    }
    return e;
}

/* The whole exchange; returns its error (already printed), UL_E_NOT_FOUND for no tracker. */
static ul_err report_exchange(const char *dir, const ul_device_state *st, ul_report_reason reason,
                              const ul_dev_attempt *att, const ul_dev_tracker_opts *o,
                              ul_report_reply *reply)
{
    static ul_report r;
    static char pass[1024];
    uint8_t sk[32], pub[32];
    char msg[1024];
    tracker t = {0};
    ul_err e = tracker_resolve(dir, o, &t);
    if (e == UL_E_NOT_FOUND) {
        return e;
    }
    snprintf(msg, sizeof msg, "tracker configuration %s/tracker.json", dir);
    if (e == UL_OK) {
        bool have = ul_dev_passphrase(o->pass_file, pass, sizeof pass) == UL_OK;
        e = ul_dev_report_key_load(dir, have ? pass : NULL, sk, pub);
        sodium_memzero(pass, sizeof pass);
        snprintf(msg, sizeof msg, "report key %s/report.key", dir);
    }
    if (e == UL_OK && (e = report_next(&r, dir, st, reason, att, pub, &t)) != UL_OK) {
        snprintf(msg, sizeof msg, "saving the report counter in %s", dir);
    }
    if (e == UL_OK) {
        e = send_report(&t, &r, sk, st->chain_id, reply, msg, sizeof msg);
    }
    sodium_memzero(sk, sizeof sk);
    if (e != UL_OK) {
        fprintf(stderr, "upledger-device: tracker %s: %s: %s\n", t.url[0] ? t.url : "(none)",
                ul_err_name(e), msg);
    }
    return e;
}

void ul_dev_report(const char *dir, const ul_device_state *st, ul_report_reason reason,
                   const ul_dev_attempt *att, const ul_dev_tracker_opts *t, ul_report_reply *reply)
{
    static ul_report_reply unused;
    ul_report_reply *r = reply ? reply : &unused;
    memset(r, 0, sizeof *r);
    fflush(stdout); /* the command's own lines come first */
    if (ul_dev_http_init() != UL_OK) {
        return;
    }
    if (report_exchange(dir, st, reason, att, t, r) != UL_OK) {
        memset(r, 0, sizeof *r);
    }
    ul_dev_http_cleanup();
}

/* ---- The report command ---------------------------------------------------------------------- */

typedef struct {
    ul_dev_tracker_opts t;
    const char *dir, *every_s, *count_s, *health, *max_age, *timeout;
    const char *mirrors[UL_DEV_MAX_MIRRORS];
    size_t n_mirrors;
    bool follow;
    long every, count;
} report_args;

/* Runs `update` for the namespace the tracker named, from the --mirror URLs. */
static int follow_reply(const report_args *a, const ul_report_reply *reply)
{
    char ns[UL_MAX_NS_LEN + 1];
    const char *argv[2 * UL_DEV_MAX_MIRRORS + 24];
    int n = 0;
    snprintf(ns, sizeof ns, "%.*s", (int)reply->ns_len, (const char *)reply->ns);
    argv[n++] = "update";
    for (size_t i = 0; i < a->n_mirrors; i++) {
        argv[n++] = "--mirror";
        argv[n++] = a->mirrors[i];
    }
    const char *pairs[][2] = {{"--namespace", ns},
                              {"--state", a->dir},
                              {"--health-check", a->health},
                              {"--max-age", a->max_age},
                              {"--timeout", a->timeout},
                              {"--tracker", a->t.url},
                              {"--tracker-key", a->t.key_hex},
                              {"--tracker-timeout", a->t.timeout_s},
                              {"--passphrase-file", a->t.pass_file}};
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        if (pairs[i][1]) {
            argv[n++] = pairs[i][0];
            argv[n++] = pairs[i][1];
        }
    }
    argv[n] = NULL;
    return ul_dev_cmd_update(n, (char **)argv);
}

/* One scheduled report (and the update it asks for). Returns the exit status. */
static int report_once(const report_args *a)
{
    static ul_device_state st;
    ul_report_reply reply;
    char id[65];
    int lock = -1;
    ul_err e = ul_dev_lock(a->dir, &lock);
    if (e == UL_OK && (e = ul_dev_state_load(a->dir, &st)) == UL_OK) {
        ul_dev_report(a->dir, &st, UL_REPORT_SCHEDULE, NULL, &a->t, &reply);
    }
    if (lock >= 0) {
        close(lock);
    }
    if (e != UL_OK) {
        return ul_dev_fail(e, "report: state %s", a->dir);
    }
    if (reply.counter == 0) {
        return ul_dev_fail_msg(
            UL_E_TRACKER, "report",
            "no tracker accepted the report (none configured, or see the line above)");
    }
    if (!reply.update) {
        printf("reported %llu: up to date\n", (unsigned long long)reply.counter);
        return 0;
    }
    sodium_bin2hex(id, sizeof id, reply.release_id, 32);
    printf("reported %llu: update %.*s to %s\n", (unsigned long long)reply.counter,
           (int)reply.ns_len, (const char *)reply.ns, id);
    return a->follow ? follow_reply(a, &reply) : 0;
}

static bool parse_long(const char *s, long min, long max, long *out)
{
    char *end = NULL;
    long v = s ? strtol(s, &end, 10) : 0;
    *out = v;
    return !s || (end != s && *end == 0 && v >= min && v <= max);
}

int ul_dev_cmd_report(int argc, char **argv)
{
    report_args a = {0};
    ul_dev_opt opts[] = {
        {"--state", &a.dir},
        {"--tracker", &a.t.url},
        {"--tracker-key", &a.t.key_hex},
        {"--tracker-timeout", &a.t.timeout_s},
        {"--passphrase-file", &a.t.pass_file},
        {"--every", &a.every_s},
        {"--count", &a.count_s},
        {"--update-on-reply", .flag = &a.follow},
        {"--mirror", .multi = a.mirrors, .n_multi = &a.n_mirrors, .max_multi = UL_DEV_MAX_MIRRORS},
        {"--health-check", &a.health},
        {"--max-age", &a.max_age},
        {"--timeout", &a.timeout}};
    int rc = ul_dev_parse(argc, argv, opts, sizeof opts / sizeof opts[0], report_help);
    if (rc >= 0 || (rc = ul_dev_tracker_check("report", &a.t)) >= 0) {
        return rc;
    }
    if (!a.dir) {
        return ul_dev_usage("report: --state DIR is required");
    }
    if (!parse_long(a.every_s, 1, 86400 * 365, &a.every) ||
        !parse_long(a.count_s, 1, 1L << 30, &a.count) || (a.count_s && !a.every_s)) {
        return ul_dev_usage("report: --every takes seconds, --count a number (with --every)");
    }
    if (a.follow != (a.n_mirrors > 0)) {
        return ul_dev_usage("report: --update-on-reply and --mirror go together");
    }
    for (long i = 0; a.every_s == NULL ? i < 1 : (a.count_s == NULL || i < a.count); i++) {
        if (i > 0) {
            sleep((unsigned)a.every);
        }
        rc = report_once(&a);
        fflush(stdout);
    }
    return rc;
}
