/* upledger-device update: a device start, then each mirror in turn until one gives a release
 * that verifies: the bundle streamed straight into the verifier, the image streamed through it
 * into the inactive slot, then accept, persist, restart into the new slot and confirm (health
 * check) or leave it on trial. A failing mirror changes nothing; the next one is tried. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sodium/utils.h>

#include "device.h"

static const char update_help[] =
    "usage: upledger-device update --mirror URL [--mirror URL]... --namespace NS --state DIR\n"
    "                              [--timeout SECONDS] [--max-age SECONDS] [--health-check CMD]\n"
    "                              [--json]\n"
    "First a device start (an unconfirmed update started before falls back). Then, for each\n"
    "mirror in order until one succeeds: GET URL/NS/hw/CLASS/latest.cbor, streamed into the\n"
    "verifier (at most UL_MAX_BUNDLE_BYTES), then GET URL/images/SHA256 streamed through it into\n"
    "the inactive slot (DIR/slots/VENDOR/PRODUCT/N), decrypted with DIR/class.key when the image\n"
    "is encrypted; then the slot is staged on trial, the state saved, and the device restarted\n"
    "into it. --health-check CMD (run by /bin/sh) exiting 0 confirms the update; otherwise it\n"
    "stays on trial, the next start falls back, and update exits 1 (UL_E_PENDING).\n"
    "A mirror whose verified release is the one installed ends the update: \"up to date\", exit "
    "0,\n"
    "nothing fetched or changed. An older release is refused (UL_E_ROLLBACK).\n"
    "URL: http://, https:// or file:// (a directory upledger export wrote, e.g. on a USB stick).\n"
    "--timeout (default 30) bounds connecting and any silence mid-transfer; a whole transfer may\n"
    "take 4 timeouts (plus size / 16 KiB/s for images). --max-age (default 604800, 7 days)\n"
    "refuses a head older than SECONDS (UL_E_STALE) and one more than 10 minutes ahead of the\n"
    "device clock (UL_E_FUTURE); --max-age 0 turns both off, for a device without a clock.\n"
    "Requests carry only the namespace, the class and the public image digest: no identifier,\n"
    "cookie or query string. --json: the outcome as one JSON object ({\"result\": \"staged\",\n"
    "\"confirmed\" or \"up_to_date\", ...}, or {\"error\": ...}).\n"
    "A failing mirror prints one line (upledger-device: mirror URL: UL_E_NAME: message) and\n"
    "changes nothing; exit 1 when every mirror failed, the last error on the final line.\n"
    "With a tracker (init --tracker, or --tracker URL --tracker-key HEX [--tracker-timeout S]\n"
    "[--passphrase-file FILE]) the outcome is reported to it afterwards (and a fallback at the\n"
    "start); a tracker that is down or slow costs one line on stderr and at most\n"
    "--tracker-timeout (default 5) seconds, never the update (report --help).\n";

static const char install_help[] =
    "usage: upledger-device install --bundle FILE --image FILE --namespace NS --state DIR\n"
    "                               [--max-age SECONDS] [--health-check CMD] [--json]\n"
    "Manual install from local files (X.1368 11.1 b: safe mode, USB or local recovery): the\n"
    "same device start, verification and A/B staging as update, the bundle (a mirror's\n"
    "NS/hw/CLASS/latest.cbor or upledger query proof --out) and the image read from FILEs\n"
    "instead of a mirror. A refused bundle or image changes nothing. Options, output and exit\n"
    "status as update's.\n";

typedef struct {
    const char *cmd; /* "update" or "install" */
    const char *dir, *ns, *health, *timeout_s, *max_age_s, *bundle, *image;
    const char *mirrors[UL_DEV_MAX_MIRRORS];
    size_t n_mirrors;
    long timeout, max_age;
    bool json;
    ul_dev_tracker_opts t;
} update_args;

/* One attempt on one mirror. */
typedef struct {
    ul_update u;
    uint64_t bundle_bytes;
    int fd; /* the slot's .tmp file */
    char tmp[UL_DEV_PATH_MAX + 16], slot_path[UL_DEV_PATH_MAX + 8], slot_dir[UL_DEV_PATH_MAX];
    uint64_t slot;
    ul_release_info info;
    bool refused_begin; /* the device itself cannot take an update (not a mirror's fault) */
    bool current;       /* the source proved the installed release the newest: up to date */
    ul_err outcome;     /* finish: staged and confirmed (UL_OK), left on trial, or failed */
    char msg[8192];
} attempt;

static ul_err bundle_body(void *arg, const uint8_t *p, size_t n)
{
    attempt *a = arg;
    a->bundle_bytes += n;
    if (a->bundle_bytes > UL_MAX_BUNDLE_BYTES) {
        return UL_E_LIMIT; /* no honest bundle is larger: stop reading */
    }
    return ul_client_bundle_update(&a->u, p, n);
}

static int slot_sink(void *arg, const uint8_t *p, size_t n)
{
    attempt *a = arg;
    while (n > 0) {
        ssize_t w = write(a->fd, p, n);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static ul_err image_body(void *arg, const uint8_t *p, size_t n)
{
    attempt *a = arg;
    return ul_client_image_update(&a->u, p, n, slot_sink, a);
}

static void url_base(char *out, size_t cap, const char *mirror)
{
    size_t n = strlen(mirror);
    while (n > 0 && mirror[n - 1] == '/') {
        n--;
    }
    snprintf(out, cap, "%.*s", (int)n, mirror);
}

/* mirror NULL: the local --bundle file. */
static ul_err fetch_bundle(attempt *a, const update_args *args, const ul_device_state *st,
                           const char *mirror)
{
    char url[UL_DEV_URL_MAX], detail[UL_DEV_PATH_MAX + 400];
    ul_err e;
    if (!mirror) {
        snprintf(url, sizeof url, "%s", args->bundle);
        e = ul_dev_stream_file(args->bundle, bundle_body, a, detail, sizeof detail);
    } else {
        url_base(url, sizeof url, mirror);
        size_t o = strlen(url);
        snprintf(url + o, sizeof url - o, "/%s/hw/", args->ns);
        ul_dev_url_segment(url, sizeof url, st->hw, st->hw_len);
        o = strlen(url);
        if (snprintf(url + o, sizeof url - o, "/latest.cbor") >= (int)(sizeof url - o)) {
            snprintf(a->msg, sizeof a->msg, "URL too long");
            return UL_E_LIMIT;
        }
        e = ul_dev_http_get(url, args->timeout, args->timeout * UL_DEV_BUNDLE_PERIODS, bundle_body,
                            a, detail, sizeof detail);
    }
    if (e == UL_OK) {
        e = ul_client_bundle_final(&a->u, &a->info);
        snprintf(detail, sizeof detail, "%s", ul_err_str(e));
    }
    snprintf(a->msg, sizeof a->msg, "bundle %s: %s", url, detail);
    return e;
}

static ul_err open_slot(attempt *a, const update_args *args, const ul_device_state *st)
{
    const uint8_t *ns = (const uint8_t *)args->ns;
    a->slot = ul_client_update_slot(st, ns, strlen(args->ns));
    ul_err e = ul_dev_slot_dir(a->slot_dir, sizeof a->slot_dir, args->dir, ns, strlen(args->ns));
    if (e == UL_OK) {
        e = ul_dev_mkdirs(a->slot_dir, 0700);
    }
    snprintf(a->slot_path, sizeof a->slot_path, "%s/%llu", a->slot_dir,
             (unsigned long long)a->slot);
    snprintf(a->tmp, sizeof a->tmp, "%s.tmp", a->slot_path);
    if (e == UL_OK) {
        a->fd = open(a->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
        e = a->fd >= 0 ? UL_OK : UL_E_IO;
    }
    if (e != UL_OK) {
        snprintf(a->msg, sizeof a->msg, "slot %s: %s", a->tmp, strerror(errno));
    }
    return e;
}

/* mirror NULL: the local --image file. */
static ul_err fetch_image(attempt *a, const update_args *args, const char *mirror)
{
    char url[UL_DEV_URL_MAX], detail[UL_DEV_PATH_MAX + 400];
    ul_err e;
    if (!mirror) {
        snprintf(url, sizeof url, "%s", args->image);
        e = ul_dev_stream_file(args->image, image_body, a, detail, sizeof detail);
    } else {
        url_base(url, sizeof url, mirror);
        char digest[2 * UL_HASH_BYTES + 1];
        sodium_bin2hex(digest, sizeof digest, a->info.digest, UL_HASH_BYTES);
        size_t o = strlen(url);
        snprintf(url + o, sizeof url - o, "/images/%s", digest);
        long max_s = args->timeout * UL_DEV_BUNDLE_PERIODS + (long)(a->info.size / UL_DEV_MIN_RATE);
        e = ul_dev_http_get(url, args->timeout, max_s, image_body, a, detail, sizeof detail);
    }
    if (e == UL_OK) {
        e = ul_client_image_final(&a->u, slot_sink, a);
        snprintf(detail, sizeof detail, "%s", ul_err_str(e));
    }
    snprintf(a->msg, sizeof a->msg, "image %s: %s", url, detail);
    return e;
}

/* The verified image becomes the slot file: data synced, then renamed over the old slot. */
static ul_err commit_slot(attempt *a)
{
    ul_err e = fsync(a->fd) == 0 ? UL_OK : UL_E_IO;
    if (close(a->fd) != 0 && e == UL_OK) {
        e = UL_E_IO;
    }
    a->fd = -1;
    if (e == UL_OK && rename(a->tmp, a->slot_path) != 0) {
        e = UL_E_IO;
    }
    if (e == UL_OK) {
        e = ul_dev_fsync_dir(a->slot_dir);
    }
    if (e == UL_OK) { /* which release the slot holds, for reports to the tracker */
        e = ul_dev_slot_id_save(a->slot_dir, a->slot, a->info.id);
    }
    if (e != UL_OK) {
        snprintf(a->msg, sizeof a->msg, "slot %s: %s", a->slot_path, strerror(errno));
    }
    return e;
}

/* Everything up to a verified image in place (mirror NULL: from the local files); st is only
 * read. */
static ul_err try_source(attempt *a, const update_args *args, const ul_device_state *st,
                         const char *mirror)
{
    ul_err e = fetch_bundle(a, args, st, mirror);
    if (e == UL_OK) {
        e = open_slot(a, args, st);
    }
    if (e == UL_OK) {
        e = fetch_image(a, args, mirror);
    }
    if (e == UL_OK) {
        e = commit_slot(a);
    }
    if (a->fd >= 0) {
        close(a->fd);
        a->fd = -1;
    }
    if (e != UL_OK && a->tmp[0]) {
        unlink(a->tmp); /* nothing of a failed attempt stays */
    }
    return e;
}

static int run_health_check(const char *cmd)
{
    fflush(NULL);
    int status = system(cmd);
    return status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* The outcome: one line, or with --json one object. */
static void report(const update_args *args, const char *result, const ul_release_info *in,
                   const attempt *a)
{
    const char *v = (const char *)in->version;
    int vl = (int)in->version_len;
    unsigned long long seq = (unsigned long long)in->seq;
    if (args->json) {
        json_t *o = json_pack("{s:s,s:s,s:o,s:o}", "result", result, "namespace", args->ns,
                              "version", ul_dev_label_json(in->version, in->version_len), "seq",
                              ul_dev_u64_json(in->seq));
        if (a) {
            json_object_set_new(o, "slot", json_integer((json_int_t)a->slot));
            json_object_set_new(o, "height", ul_dev_u64_json(in->height));
        }
        ul_dev_print_json(o);
    } else if (!strcmp(result, "up_to_date")) {
        printf("up to date: %s %.*s (seq %llu)\n", args->ns, vl, v, seq);
    } else if (!strcmp(result, "confirmed")) {
        printf("updated to %.*s (seq %llu), confirmed\n", vl, v, seq);
    } else {
        printf("staged %.*s in slot %llu; awaiting confirmation — the next start falls back\n", vl,
               v, (unsigned long long)a->slot);
    }
}

/* After a verified image: stage it, persist, restart into it, confirm or leave on trial. */
static int finish(attempt *a, const update_args *args, ul_device_state *st)
{
    const uint8_t *ns = (const uint8_t *)args->ns;
    size_t ns_len = strlen(args->ns);
    ul_err e = ul_client_update_accept(&a->u, st);
    if (e == UL_OK && (e = ul_dev_state_save(args->dir, st)) == UL_OK) {
        ul_client_device_boot(st); /* the restart into the new slot: its first start on trial */
        e = ul_dev_state_save(args->dir, st);
    }
    a->outcome = e;
    if (e != UL_OK) {
        return ul_dev_fail(e, "%s %s: staging in %s", args->cmd, args->ns, args->dir);
    }
    if (args->health && run_health_check(args->health)) {
        if ((e = ul_client_device_confirm(st, ns, ns_len)) != UL_OK ||
            (e = ul_dev_state_save(args->dir, st)) != UL_OK) {
            a->outcome = e;
            return ul_dev_fail(e, "%s %s: confirming", args->cmd, args->ns);
        }
        report(args, "confirmed", &a->info, a);
        return 0;
    }
    if (args->health) { /* staged, but the new image is not healthy: not a success */
        a->outcome = UL_E_PENDING;
        if (!args->json) {
            report(args, "staged", &a->info, a);
        }
        char ctx[UL_MAX_NS_LEN + 16], msg[UL_DEV_PATH_MAX + UL_MAX_LABEL_LEN + 128];
        snprintf(ctx, sizeof ctx, "%s %s", args->cmd, args->ns);
        snprintf(msg, sizeof msg,
                 "health check failed (%s): %.*s stays on trial in slot %llu; the next start "
                 "falls back",
                 args->health, (int)a->info.version_len, (const char *)a->info.version,
                 (unsigned long long)a->slot);
        return ul_dev_fail_msg(UL_E_PENDING, ctx, msg);
    }
    report(args, "staged", &a->info, a);
    return 0;
}

static int parse_seconds(const update_args *args, const char *s, long def, long min, long *out)
{
    char *end;
    if (!s) {
        *out = def;
        return -1;
    }
    long v = strtol(s, &end, 10);
    if (*end || end == s || v < min || v > 86400 * 365) {
        return ul_dev_usage("%s: %s is not a number of seconds", args->cmd, s);
    }
    *out = v;
    return -1;
}

/* One attempt from a mirror (NULL: the local files). Returns: UL_OK when staged (a->info says
 * what); else the attempt's error (a->msg says where), with a->current set when that error is
 * only that the verified release is the installed one (a->info says which). */
static ul_err attempt_one(attempt *a, const update_args *args, const ul_device_state *st,
                          const uint8_t *class_sk, const char *mirror)
{
    /* A device without a clock (--max-age 0) passes none: no age or future check. */
    uint64_t now_ms = args->max_age > 0 ? (uint64_t)time(NULL) * 1000 : 0;
    memset(a, 0, sizeof *a);
    a->fd = -1;
    ul_err e = ul_client_update_begin(&a->u, st, (const uint8_t *)args->ns, strlen(args->ns),
                                      class_sk, now_ms, (uint64_t)args->max_age * 1000);
    if (e != UL_OK) {
        snprintf(a->msg, sizeof a->msg, "%s", ul_err_str(e));
        a->refused_begin = true;
        return e;
    }
    e = try_source(a, args, st, mirror);
    a->current = e == UL_E_ROLLBACK && ul_client_update_current(&a->u, &a->info);
    if (e != UL_OK) {
        ul_client_update_abort(&a->u);
    }
    return e;
}

/* Out: *att, the attempt to report (att->ns NULL: none, the device was up to date). */
static int update_sources(const update_args *args, ul_device_state *st, const uint8_t *class_sk,
                          attempt *a, ul_dev_attempt *att)
{
    char ctx[UL_MAX_NS_LEN + 128];
    ul_err e = UL_E_NET;
    snprintf(ctx, sizeof ctx, "%s %s", args->cmd, args->ns);
    size_t n = args->bundle ? 1 : args->n_mirrors;
    for (size_t i = 0; i < n; i++) {
        const char *mirror = args->bundle ? NULL : args->mirrors[i];
        e = attempt_one(a, args, st, class_sk, mirror);
        memcpy(att->release_id, a->info.id, UL_HASH_BYTES); /* zero before a bundle verified */
        att->result = e;
        if (e == UL_OK) {
            int rc = finish(a, args, st);
            att->result = a->outcome;
            return rc;
        }
        if (a->current) { /* the installed release is the newest: a success */
            att->ns = NULL;
            report(args, "up_to_date", &a->info, NULL);
            return 0;
        }
        if (a->refused_begin || !mirror) {
            /* about this device, or the local files: no other source can help */
            return ul_dev_fail_msg(e, ctx, a->msg);
        }
        fprintf(stderr, "upledger-device: mirror %s: %s: %s\n", mirror, ul_err_name(e), a->msg);
    }
    char last[sizeof a->msg + 64];
    snprintf(last, sizeof last, "every mirror failed (last: %s)", a->msg);
    return ul_dev_fail_msg(e, ctx, last);
}

static int update_run(const update_args *args)
{
    static ul_device_state st;
    static attempt a;
    static uint8_t class_sk[32]; /* locked below: never swapped out */
    char path[UL_DEV_PATH_MAX];
    bool have_key = false;
    int lock = -1, rc;
    ul_err e = ul_dev_lock(args->dir, &lock);
    if (e != UL_OK || (e = ul_dev_state_load(args->dir, &st)) != UL_OK) {
        rc = ul_dev_fail(e, "%s: state %s", args->cmd, args->dir);
        goto out;
    }
    /* A device start first: an update left unconfirmed by the last run falls back now. The
     * start is persisted whether or not anything fell back (it counts as one). */
    size_t fell = ul_dev_boot(&st);
    if ((e = ul_dev_state_save(args->dir, &st)) != UL_OK) {
        rc = ul_dev_fail(e, "%s: state %s", args->cmd, args->dir);
        goto out;
    }
    if (fell > 0) {
        ul_dev_report(args->dir, &st, UL_REPORT_FALLBACK, NULL, &args->t, NULL);
    }
    mlock(class_sk, sizeof class_sk);
    snprintf(path, sizeof path, "%s/class.key", args->dir);
    if ((e = ul_dev_class_key_load(path, class_sk, true, &have_key)) != UL_OK) {
        rc = ul_dev_fail(e, "%s: class key %s", args->cmd, path);
        goto out;
    }
    ul_dev_attempt att = {.ns = (const uint8_t *)args->ns, .ns_len = strlen(args->ns)};
    rc = update_sources(args, &st, have_key ? class_sk : NULL, &a, &att);
    sodium_memzero(class_sk, sizeof class_sk);
    /* Only an attempt on this device is news for the tracker: not a usage or state error. */
    ul_dev_report(args->dir, &st, UL_REPORT_UPDATE, att.ns ? &att : NULL, &args->t, NULL);
out:
    sodium_memzero(class_sk, sizeof class_sk);
    if (lock >= 0) {
        close(lock);
    }
    return rc;
}

/* What update and install check alike once parsed, then the run. */
static int update_main(update_args *a)
{
    int rc;
    ul_dev_json_errors(a->json);
    if (ul_schema_ns_check(ul_span_str(a->ns)) != UL_OK || strlen(a->ns) > UL_MAX_NS_LEN) {
        return ul_dev_fail(UL_E_NS_NAME, "%s: --namespace %s", a->cmd, a->ns);
    }
    if ((rc = parse_seconds(a, a->timeout_s, UL_DEV_DEFAULT_TIMEOUT, 1, &a->timeout)) >= 0 ||
        (rc = parse_seconds(a, a->max_age_s, UL_DEV_DEFAULT_MAX_AGE, 0, &a->max_age)) >= 0) {
        return rc;
    }
    if (!a->bundle && ul_dev_http_init() != UL_OK) {
        return ul_dev_fail(UL_E_INTERNAL, "%s: cannot initialise libcurl", a->cmd);
    }
    rc = update_run(a);
    if (!a->bundle) {
        ul_dev_http_cleanup();
    }
    return rc;
}

int ul_dev_cmd_update(int argc, char **argv)
{
    update_args a = {.cmd = "update"};
    ul_dev_opt opts[] = {
        {"--mirror", .multi = a.mirrors, .n_multi = &a.n_mirrors, .max_multi = UL_DEV_MAX_MIRRORS},
        {"--namespace", &a.ns},
        {"--state", &a.dir},
        {"--timeout", &a.timeout_s},
        {"--max-age", &a.max_age_s},
        {"--health-check", &a.health},
        {"--json", .flag = &a.json},
        {"--tracker", &a.t.url},
        {"--tracker-key", &a.t.key_hex},
        {"--tracker-timeout", &a.t.timeout_s},
        {"--passphrase-file", &a.t.pass_file}};
    int rc = ul_dev_parse(argc, argv, opts, sizeof opts / sizeof opts[0], update_help);
    if (rc >= 0 || (rc = ul_dev_tracker_check("update", &a.t)) >= 0) {
        return rc;
    }
    if (a.n_mirrors == 0 || !a.ns || !a.dir) {
        return ul_dev_usage("update: --mirror, --namespace and --state are required");
    }
    return update_main(&a);
}

int ul_dev_cmd_install(int argc, char **argv)
{
    update_args a = {.cmd = "install"};
    ul_dev_opt opts[] = {{"--bundle", &a.bundle},
                         {"--image", &a.image},
                         {"--namespace", &a.ns},
                         {"--state", &a.dir},
                         {"--max-age", &a.max_age_s},
                         {"--health-check", &a.health},
                         {"--json", .flag = &a.json},
                         {"--tracker", &a.t.url},
                         {"--tracker-key", &a.t.key_hex},
                         {"--tracker-timeout", &a.t.timeout_s},
                         {"--passphrase-file", &a.t.pass_file}};
    int rc = ul_dev_parse(argc, argv, opts, sizeof opts / sizeof opts[0], install_help);
    if (rc >= 0 || (rc = ul_dev_tracker_check("install", &a.t)) >= 0) {
        return rc;
    }
    if (!a.bundle || !a.image || !a.ns || !a.dir) {
        return ul_dev_usage("install: --bundle, --image, --namespace and --state are required");
    }
    return update_main(&a);
}
