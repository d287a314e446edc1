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

/* Mirrors one update may try: a device knows a handful. */
#define UL_DEV_MAX_MIRRORS 16

static const char update_help[] =
    "usage: upledger-device update --mirror URL [--mirror URL]... --namespace NS --state DIR\n"
    "                              [--timeout SECONDS] [--max-age SECONDS] [--health-check CMD]\n"
    "First a device start (an unconfirmed update started before falls back). Then, for each\n"
    "mirror in order until one succeeds: GET URL/NS/hw/CLASS/latest.cbor, streamed into the\n"
    "verifier (at most UL_MAX_BUNDLE_BYTES), then GET URL/images/SHA256 streamed through it into\n"
    "the inactive slot (DIR/slots/VENDOR/PRODUCT/N), decrypted with DIR/class.key when the image\n"
    "is encrypted; then the slot is staged on trial, the state saved, and the device restarted\n"
    "into it. --health-check CMD (run by /bin/sh) exiting 0 confirms the update; otherwise it\n"
    "stays on trial and the next start falls back.\n"
    "--timeout (default 30) bounds connecting and any silence mid-transfer; a whole transfer may\n"
    "take 4 timeouts (plus size / 16 KiB/s for images). --max-age refuses headers older than\n"
    "SECONDS (needs a correct clock; default: no check). Requests carry only the namespace, the\n"
    "class and the public image digest: no identifier, cookie or query string.\n"
    "A failing mirror prints one line (upledger-device: mirror URL: UL_E_NAME: message) and\n"
    "changes nothing; exit 1 when every mirror failed, the last error on the final line.\n";

typedef struct {
    const char *dir, *ns, *health, *timeout_s, *max_age_s;
    const char *mirrors[UL_DEV_MAX_MIRRORS];
    size_t n_mirrors;
    long timeout, max_age;
} update_args;

/* One attempt on one mirror. */
typedef struct {
    ul_update u;
    uint64_t bundle_bytes;
    int fd; /* the slot's .tmp file */
    char tmp[UL_DEV_PATH_MAX + 16], slot_path[UL_DEV_PATH_MAX + 8], slot_dir[UL_DEV_PATH_MAX];
    uint64_t slot;
    ul_release_info info;
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

static ul_err fetch_bundle(attempt *a, const update_args *args, const ul_device_state *st,
                           const char *mirror)
{
    char url[UL_DEV_URL_MAX];
    url_base(url, sizeof url, mirror);
    size_t o = strlen(url);
    snprintf(url + o, sizeof url - o, "/%s/hw/", args->ns);
    ul_dev_url_segment(url, sizeof url, st->hw, st->hw_len);
    o = strlen(url);
    if (snprintf(url + o, sizeof url - o, "/latest.cbor") >= (int)(sizeof url - o)) {
        snprintf(a->msg, sizeof a->msg, "URL too long");
        return UL_E_LIMIT;
    }
    char detail[400];
    ul_err e = ul_dev_http_get(url, args->timeout, args->timeout * UL_DEV_BUNDLE_PERIODS,
                               bundle_body, a, detail, sizeof detail);
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

static ul_err fetch_image(attempt *a, const update_args *args, const char *mirror)
{
    char url[UL_DEV_URL_MAX], detail[400];
    url_base(url, sizeof url, mirror);
    char digest[2 * UL_HASH_BYTES + 1];
    sodium_bin2hex(digest, sizeof digest, a->info.digest, UL_HASH_BYTES);
    size_t o = strlen(url);
    snprintf(url + o, sizeof url - o, "/images/%s", digest);
    long max_s = args->timeout * UL_DEV_BUNDLE_PERIODS + (long)(a->info.size / UL_DEV_MIN_RATE);
    ul_err e = ul_dev_http_get(url, args->timeout, max_s, image_body, a, detail, sizeof detail);
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
    if (e != UL_OK) {
        snprintf(a->msg, sizeof a->msg, "slot %s: %s", a->slot_path, strerror(errno));
    }
    return e;
}

/* Everything up to a verified image in place; st is only read. */
static ul_err try_mirror(attempt *a, const update_args *args, const ul_device_state *st,
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
    if (e != UL_OK) {
        return ul_dev_fail(e, "update %s: staging in %s", args->ns, args->dir);
    }
    const char *v = (const char *)a->info.version;
    int vl = (int)a->info.version_len;
    if (args->health && run_health_check(args->health)) {
        if ((e = ul_client_device_confirm(st, ns, ns_len)) != UL_OK ||
            (e = ul_dev_state_save(args->dir, st)) != UL_OK) {
            return ul_dev_fail(e, "update %s: confirming", args->ns);
        }
        printf("updated to %.*s (seq %llu), confirmed\n", vl, v,
               (unsigned long long)a->info.seq);
        return 0;
    }
    if (args->health) {
        printf("health check failed: %s\n", args->health);
    }
    printf("staged %.*s in slot %llu; awaiting confirmation — the next start falls back\n", vl, v,
           (unsigned long long)a->slot);
    return 0;
}

static int parse_seconds(const char *s, long def, long min, long *out)
{
    char *end;
    if (!s) {
        *out = def;
        return -1;
    }
    long v = strtol(s, &end, 10);
    if (*end || end == s || v < min || v > 86400 * 365) {
        return ul_dev_usage("update: %s is not a number of seconds", s);
    }
    *out = v;
    return -1;
}

static int update_mirrors(const update_args *args, ul_device_state *st, const uint8_t *class_sk)
{
    static attempt a;
    const uint8_t *ns = (const uint8_t *)args->ns;
    uint64_t now_ms = (uint64_t)time(NULL) * 1000;
    ul_err e = UL_E_NET;
    for (size_t i = 0; i < args->n_mirrors; i++) {
        memset(&a, 0, sizeof a);
        a.fd = -1;
        e = ul_client_update_begin(&a.u, st, ns, strlen(args->ns), class_sk, now_ms,
                                   (uint64_t)args->max_age * 1000);
        if (e != UL_OK) { /* about this device, not a mirror: no other mirror can help */
            ul_client_update_abort(&a.u);
            return ul_dev_fail(e, "update %s", args->ns);
        }
        e = try_mirror(&a, args, st, args->mirrors[i]);
        if (e == UL_OK) {
            return finish(&a, args, st);
        }
        ul_client_update_abort(&a.u);
        fprintf(stderr, "upledger-device: mirror %s: %s: %s\n", args->mirrors[i],
                ul_err_name(e), a.msg);
    }
    fprintf(stderr, "upledger-device: update %s: %s: every mirror failed (last: %s)\n", args->ns,
            ul_err_name(e), a.msg);
    return UL_DEV_EXIT_FAIL;
}

static int update_run(const update_args *args)
{
    static ul_device_state st;
    static uint8_t class_sk[32]; /* locked below: never swapped out */
    char path[UL_DEV_PATH_MAX];
    bool have_key = false;
    int lock = -1, rc;
    ul_err e = ul_dev_lock(args->dir, &lock);
    if (e != UL_OK || (e = ul_dev_state_load(args->dir, &st)) != UL_OK) {
        rc = ul_dev_fail(e, "update: state %s", args->dir);
        goto out;
    }
    /* A device start first: an update left unconfirmed by the last run falls back now. The
     * start is persisted whether or not anything fell back (it counts as one). */
    ul_dev_boot(&st);
    if ((e = ul_dev_state_save(args->dir, &st)) != UL_OK) {
        rc = ul_dev_fail(e, "update: state %s", args->dir);
        goto out;
    }
    mlock(class_sk, sizeof class_sk);
    snprintf(path, sizeof path, "%s/class.key", args->dir);
    if ((e = ul_dev_class_key_load(path, class_sk, true, &have_key)) != UL_OK) {
        rc = ul_dev_fail(e, "update: class key %s", path);
        goto out;
    }
    rc = update_mirrors(args, &st, have_key ? class_sk : NULL);
out:
    sodium_memzero(class_sk, sizeof class_sk);
    if (lock >= 0) {
        close(lock);
    }
    return rc;
}

int ul_dev_cmd_update(int argc, char **argv)
{
    update_args a = {0};
    ul_dev_opt opts[] = {{"--mirror", .multi = a.mirrors, .n_multi = &a.n_mirrors,
                          .max_multi = UL_DEV_MAX_MIRRORS},
                         {"--namespace", &a.ns},
                         {"--state", &a.dir},
                         {"--timeout", &a.timeout_s},
                         {"--max-age", &a.max_age_s},
                         {"--health-check", &a.health}};
    int rc = ul_dev_parse(argc, argv, opts, 6, update_help);
    if (rc >= 0) {
        return rc;
    }
    if (a.n_mirrors == 0 || !a.ns || !a.dir) {
        return ul_dev_usage("update: --mirror, --namespace and --state are required");
    }
    if (ul_schema_ns_check(ul_span_str(a.ns)) != UL_OK || strlen(a.ns) > UL_MAX_NS_LEN) {
        return ul_dev_fail(UL_E_NS_NAME, "update: --namespace %s", a.ns);
    }
    if ((rc = parse_seconds(a.timeout_s, UL_DEV_DEFAULT_TIMEOUT, 1, &a.timeout)) >= 0 ||
        (rc = parse_seconds(a.max_age_s, 0, 1, &a.max_age)) >= 0) {
        return rc;
    }
    if (ul_dev_http_init() != UL_OK) {
        return ul_dev_fail(UL_E_INTERNAL, "update: cannot initialise libcurl");
    }
    rc = update_run(&a);
    ul_dev_http_cleanup();
    return rc;
}
