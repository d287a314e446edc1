/* upledger-device: a host device program on libupclient and libcurl. It keeps a device state
 * directory (trust anchor, hardware class, A/B slots per component) and updates it from static
 * mirrors, as a real device would: init, update, start (boot), confirm, status. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <sodium/utils.h>

#include "device.h"

static const char main_help[] =
    "usage: upledger-device COMMAND [OPTIONS]   (each command takes --help)\n\n"
    "  init      create a device state from a trust anchor (genesis) and a hardware class\n"
    "  update    fetch, verify and stage the newest release from mirrors (A/B trial)\n"
    "  install   verify and stage a release from local files (safe mode, USB, recovery)\n"
    "  start     a device start: an unconfirmed update started before falls back\n"
    "  confirm   confirm the update on trial (it becomes the installed release)\n"
    "  status    show the device state\n"
    "  report    send the tracker a signed report (on a schedule with --every)\n\n"
    "Options take \"--name VALUE\" or \"--name=VALUE\". --version prints the version.\n"
    "Exit status: 0 success, 1 failure (one line: upledger-device: CONTEXT: UL_E_NAME: message),\n"
    "2 usage error.\n";

static const char init_help[] =
    "usage: upledger-device init --anchor GENESIS.cbor --hw CLASS --state DIR\n"
    "                            [--class-key FILE] [--installed NS=VERSION[@SEQ]]...\n"
    "                            [--tracker URL --tracker-key HEX] [--report-key]\n"
    "                            [--plain-key] [--passphrase-file FILE]\n"
    "Creates the device state in DIR (refuses an existing one): trust anchor = the genesis\n"
    "(chain id and validator set; a mirror's genesis.cbor), hardware class CLASS, and the\n"
    "factory-installed components (SEQ defaults to 0). --class-key FILE, the class secret\n"
    "(the 32-byte OUT of upledger keygen --class; any other file is refused with UL_E_KEY),\n"
    "is copied to DIR/class.key (mode 0600, in the clear: the device needs it to decrypt\n"
    "encrypted images of its class).\n"
    "--tracker URL --tracker-key HEX: the status tracker the owner chose, saved in\n"
    "DIR/tracker.json: start, confirm, update and install then report to it (report --help).\n"
    "With --tracker (or --report-key) init makes the device's report key, DIR/report.key (mode\n"
    "0600, the keystore format of upledger keygen): encrypted under UPLEDGER_PASSPHRASE or the\n"
    "first line of --passphrase-file, or with --plain-key in the clear (a headless device), and\n"
    "prints its public key, which the owner enrols at the tracker.\n";

static const char start_help[] =
    "usage: upledger-device start --state DIR [TRACKER OPTIONS]\n"
    "A device start: a component on trial that was started before without being confirmed\n"
    "falls back to its previous slot (printed). Prints what each component runs.\n"
    "With a tracker (init --tracker, or --tracker URL --tracker-key HEX [--tracker-timeout S]\n"
    "[--passphrase-file FILE]) it then reports the start (or the fallback); a tracker that is\n"
    "down or slow costs one line on stderr, never the start.\n";

static const char confirm_help[] =
    "usage: upledger-device confirm --state DIR [--namespace NS] [TRACKER OPTIONS]\n"
    "Confirms the update on trial of NS (default: the one component on trial): it becomes the\n"
    "installed release, the one later updates must exceed. Reports the confirmation to the\n"
    "tracker as start does.\n";

static const char status_help[] =
    "usage: upledger-device status --state DIR [--json]\n"
    "Shows the chain id, trusted height and header, hardware class and, per component, the\n"
    "active slot, trial flag and both slots' versions and sequences, the installed release (none\n"
    "after a first install fell back) and a trial that failed and fell back. Changes nothing.\n"
    "--json: the same as one JSON object.\n";

static const ul_slot *running(const ul_component *c)
{
    return &c->slot[c->active];
}

/* A slot that never held a release (nor a factory image's version). */
static bool slot_empty(const ul_slot *sl)
{
    return sl->version_len == 0 && sl->seq == 0;
}

/* "running VERSION (seq N) from slot S", or "no release installed" when that slot is empty. */
static void running_text(char *out, size_t cap, const ul_component *c)
{
    const ul_slot *r = running(c);
    if (slot_empty(r)) {
        snprintf(out, cap, "no release installed");
        return;
    }
    snprintf(out, cap, "running %.*s (seq %llu) from slot %llu", (int)r->version_len,
             (const char *)r->version, (unsigned long long)r->seq, (unsigned long long)c->active);
}

/* The other slot of a component not on trial holds a higher sequence than the running one only
 * when its trial failed and fell back: updates only ever install higher sequences. */
const ul_slot *ul_dev_failed_trial(const ul_component *c)
{
    const ul_slot *o = &c->slot[1 - (c->active & 1)];
    return !c->trial && o->version_len > 0 && o->seq > running(c)->seq ? o : NULL;
}

size_t ul_dev_boot(ul_device_state *st)
{
    bool trial[UL_MAX_COMPONENTS];
    char now[UL_MAX_LABEL_LEN + 64];
    for (size_t i = 0; i < st->n_components; i++) {
        trial[i] = st->comp[i].trial;
    }
    size_t n = ul_client_device_boot(st);
    for (size_t i = 0; n > 0 && i < st->n_components; i++) {
        const ul_component *c = &st->comp[i];
        if (trial[i] && !c->trial) {
            const ul_slot *failed = &c->slot[1 - c->active];
            running_text(now, sizeof now, c);
            printf("fell back: %.*s update %.*s (seq %llu) in slot %llu was not confirmed; %s\n",
                   (int)c->ns_len, (const char *)c->ns, (int)failed->version_len,
                   (const char *)failed->version, (unsigned long long)failed->seq,
                   (unsigned long long)(1 - c->active), now);
        }
    }
    return n;
}

typedef struct {
    const char *anchor, *hw, *dir, *class_key;
    const char *installed[UL_MAX_COMPONENTS];
    size_t n_installed;
    ul_dev_tracker_opts t;
    bool report_key, plain_key;
} init_args;

/* The report key (and the tracker) init provisions; pub32: the key to enrol. */
static ul_err init_reporting(const init_args *a, uint8_t pub32[32], char *what, size_t cap)
{
    static char pass[1024];
    ul_err e = UL_OK;
    snprintf(what, cap, "passphrase (UPLEDGER_PASSPHRASE, --passphrase-file or --plain-key)");
    if (!a->plain_key) {
        e = ul_dev_passphrase(a->t.pass_file, pass, sizeof pass);
    }
    if (e == UL_OK) {
        snprintf(what, cap, "writing %s/report.key", a->dir);
        e = ul_dev_report_key_create(a->dir, a->plain_key ? NULL : pass, pub32);
    }
    sodium_memzero(pass, sizeof pass);
    if (e == UL_OK && a->t.url) {
        snprintf(what, cap, "writing %s/tracker.json", a->dir);
        e = ul_dev_tracker_save(a->dir, &a->t);
    }
    return e;
}

static int init_run(const init_args *a, ul_device_state *st)
{
    static uint8_t gen[UL_DEV_GENESIS_MAX];
    size_t glen;
    ul_err e = ul_dev_read_file(a->anchor, gen, sizeof gen, &glen);
    if (e != UL_OK || (e = ul_client_device_init(st, gen, glen, (const uint8_t *)a->hw,
                                                 strlen(a->hw))) != UL_OK) {
        return ul_dev_fail(e, "init: anchor %s, class %s", a->anchor, a->hw);
    }
    for (size_t i = 0; i < a->n_installed; i++) {
        const char *spec = a->installed[i];
        if ((e = ul_client_device_add_spec(st, (const uint8_t *)spec, strlen(spec))) != UL_OK) {
            return ul_dev_fail(e, "init: --installed %s", a->installed[i]);
        }
    }
    uint8_t pub[32];
    char what[UL_DEV_PATH_MAX + 64];
    bool reporting = a->report_key || a->t.url;
    if (reporting && (e = init_reporting(a, pub, what, sizeof what)) != UL_OK) {
        return ul_dev_fail(e, "init: %s", what);
    }
    if (a->class_key && (e = ul_dev_class_key_copy(a->class_key, a->dir)) != UL_OK) {
        return ul_dev_fail(e, "init: class key %s", a->class_key);
    }
    if ((e = ul_dev_state_save(a->dir, st)) != UL_OK) {
        char path[UL_DEV_PATH_MAX];
        snprintf(path, sizeof path, "%s/class.key", a->dir);
        if (a->class_key) {
            unlink(path); /* all or nothing */
        }
        for (size_t i = 0; reporting && i < 2; i++) {
            snprintf(path, sizeof path, "%s/%s", a->dir, i ? "tracker.json" : "report.key");
            unlink(path);
        }
        return ul_dev_fail(e, "init: writing %s/state.cbor", a->dir);
    }
    char id[65];
    sodium_bin2hex(id, sizeof id, st->chain_id, 32);
    printf("initialised %s: chain %s, hardware %s, %zu component%s%s\n", a->dir, id, a->hw,
           st->n_components, st->n_components == 1 ? "" : "s",
           a->class_key ? ", class key provisioned" : "");
    if (reporting) {
        sodium_bin2hex(id, sizeof id, pub, 32);
        printf("report key %s (%s)\n", id, a->plain_key ? "in the clear" : "encrypted");
    }
    return 0;
}

static int cmd_init(int argc, char **argv)
{
    static ul_device_state st;
    init_args a = {0};
    ul_dev_opt opts[] = {{"--anchor", &a.anchor},
                         {"--hw", &a.hw},
                         {"--state", &a.dir},
                         {"--class-key", &a.class_key},
                         {"--installed", .multi = a.installed, .n_multi = &a.n_installed,
                          .max_multi = UL_MAX_COMPONENTS},
                         {"--tracker", &a.t.url},
                         {"--tracker-key", &a.t.key_hex},
                         {"--passphrase-file", &a.t.pass_file},
                         {"--report-key", .flag = &a.report_key},
                         {"--plain-key", .flag = &a.plain_key}};
    int rc = ul_dev_parse(argc, argv, opts, sizeof opts / sizeof opts[0], init_help), lock = -1;
    if (rc >= 0 || (rc = ul_dev_tracker_check("init", &a.t)) >= 0) {
        return rc;
    }
    if (!a.anchor || !a.hw || !a.dir) {
        return ul_dev_usage("init: --anchor, --hw and --state are required");
    }
    if (ul_dev_state_exists(a.dir)) {
        return ul_dev_fail(UL_E_EXISTS, "init: a device state already exists in %s", a.dir);
    }
    ul_err e = ul_dev_mkdirs(a.dir, 0700);
    if (e != UL_OK || (e = ul_dev_lock(a.dir, &lock)) != UL_OK) {
        return ul_dev_fail(e, "init: state directory %s", a.dir);
    }
    /* Checked again under the lock: two inits racing on one directory. */
    rc = ul_dev_state_exists(a.dir) ? ul_dev_fail(UL_E_EXISTS, "init: %s", a.dir)
                                    : init_run(&a, &st);
    close(lock);
    return rc;
}

/* "; the trial of VERSION (seq N) in slot S failed", or "". */
static void failed_text(char *out, size_t cap, const ul_component *c)
{
    const ul_slot *f = ul_dev_failed_trial(c);
    out[0] = 0;
    if (f) {
        snprintf(out, cap, "; the trial of %.*s (seq %llu) in slot %llu failed",
                 (int)f->version_len, (const char *)f->version, (unsigned long long)f->seq,
                 (unsigned long long)(1 - (c->active & 1)));
    }
}

static void print_components(const ul_device_state *st)
{
    char now[UL_MAX_LABEL_LEN + 64], failed[UL_MAX_LABEL_LEN + 96];
    for (size_t i = 0; i < st->n_components; i++) {
        const ul_component *c = &st->comp[i];
        running_text(now, sizeof now, c);
        failed_text(failed, sizeof failed, c);
        printf("%.*s: %s%s%s\n", (int)c->ns_len, (const char *)c->ns, now, failed,
               c->trial ? " (trial, not confirmed)" : "");
    }
}

static int cmd_start(int argc, char **argv)
{
    static ul_device_state st;
    const char *dir = NULL;
    ul_dev_tracker_opts t = {0};
    size_t fell = 0;
    ul_dev_opt opts[] = {{"--state", &dir},
                         {"--tracker", &t.url},
                         {"--tracker-key", &t.key_hex},
                         {"--tracker-timeout", &t.timeout_s},
                         {"--passphrase-file", &t.pass_file}};
    int rc = ul_dev_parse(argc, argv, opts, sizeof opts / sizeof opts[0], start_help), lock = -1;
    if (rc >= 0 || (rc = ul_dev_tracker_check("start", &t)) >= 0) {
        return rc;
    }
    if (!dir) {
        return ul_dev_usage("start: --state DIR is required");
    }
    ul_err e = ul_dev_lock(dir, &lock);
    if (e == UL_OK && (e = ul_dev_state_load(dir, &st)) == UL_OK) {
        fell = ul_dev_boot(&st);
        e = ul_dev_state_save(dir, &st); /* the start counts even when nothing fell back */
    }
    if (e != UL_OK) {
        if (lock >= 0) {
            close(lock);
        }
        return ul_dev_fail(e, "start: state %s", dir);
    }
    print_components(&st);
    ul_dev_report(dir, &st, fell > 0 ? UL_REPORT_FALLBACK : UL_REPORT_START, NULL, &t, NULL);
    close(lock);
    return 0;
}

/* The component to confirm: ns, or the only one on trial. */
static ul_err pick_trial(const ul_device_state *st, const char *ns, const ul_component **out)
{
    size_t n = 0;
    for (size_t i = 0; i < st->n_components; i++) {
        const ul_component *c = &st->comp[i];
        bool named = ns && c->ns_len == strlen(ns) && !memcmp(c->ns, ns, c->ns_len);
        if ((ns && named) || (!ns && c->trial)) {
            *out = c;
            n++;
        }
    }
    return n == 1 ? UL_OK : n == 0 ? UL_E_NOT_FOUND : UL_E_ARG;
}

static int cmd_confirm(int argc, char **argv)
{
    static ul_device_state st;
    const char *dir = NULL, *ns = NULL;
    const ul_component *c = NULL;
    ul_dev_tracker_opts t = {0};
    ul_dev_opt opts[] = {{"--state", &dir},
                         {"--namespace", &ns},
                         {"--tracker", &t.url},
                         {"--tracker-key", &t.key_hex},
                         {"--tracker-timeout", &t.timeout_s},
                         {"--passphrase-file", &t.pass_file}};
    int rc = ul_dev_parse(argc, argv, opts, sizeof opts / sizeof opts[0], confirm_help), lock = -1;
    if (rc >= 0 || (rc = ul_dev_tracker_check("confirm", &t)) >= 0) {
        return rc;
    }
    if (!dir) {
        return ul_dev_usage("confirm: --state DIR is required");
    }
    ul_err e = ul_dev_lock(dir, &lock);
    if (e == UL_OK && (e = ul_dev_state_load(dir, &st)) == UL_OK &&
        (e = pick_trial(&st, ns, &c)) == UL_OK &&
        (e = ul_client_device_confirm(&st, c->ns, c->ns_len)) == UL_OK) {
        e = ul_dev_state_save(dir, &st);
    }
    if (e != UL_OK) {
        if (lock >= 0) {
            close(lock);
        }
        return ul_dev_fail(e, "confirm %s in %s", ns ? ns : "(the component on trial)", dir);
    }
    printf("confirmed %.*s %.*s (seq %llu)\n", (int)c->ns_len, (const char *)c->ns,
           (int)running(c)->version_len, (const char *)running(c)->version,
           (unsigned long long)running(c)->seq);
    ul_dev_report(dir, &st, UL_REPORT_CONFIRM, NULL, &t, NULL);
    close(lock);
    return 0;
}

static json_t *slot_json(const ul_slot *sl, uint64_t slot)
{
    return json_pack("{s:I,s:o,s:o,s:o,s:o}", "slot", (json_int_t)slot, "seq",
                     ul_dev_u64_json(sl->seq), "version",
                     ul_dev_label_json(sl->version, sl->version_len), "digest",
                     ul_dev_hex_json(sl->digest, UL_HASH_BYTES), "size", ul_dev_u64_json(sl->size));
}

/* {"slot", "version", "seq"} of a slot, or null. */
static json_t *brief_json(const ul_slot *sl, uint64_t slot)
{
    if (!sl || slot_empty(sl)) {
        return json_null();
    }
    return json_pack("{s:I,s:o,s:o}", "slot", (json_int_t)slot, "version",
                     ul_dev_label_json(sl->version, sl->version_len), "seq",
                     ul_dev_u64_json(sl->seq));
}

static json_t *component_json(const ul_component *c)
{
    uint64_t inst = c->trial ? 1 - (c->active & 1) : (c->active & 1);
    json_t *slots = json_array();
    for (uint64_t s = 0; s < 2; s++) {
        json_array_append_new(slots, slot_json(&c->slot[s], s));
    }
    return json_pack("{s:o,s:I,s:b,s:o,s:o,s:o,s:o}", "namespace",
                     ul_dev_label_json(c->ns, c->ns_len), "active", (json_int_t)c->active, "trial",
                     c->trial, "boots", ul_dev_u64_json(c->boots), "installed",
                     brief_json(&c->slot[inst], inst), "failed_trial",
                     brief_json(ul_dev_failed_trial(c), 1 - (c->active & 1)), "slots", slots);
}

static void status_json(const ul_device_state *st)
{
    json_t *comps = json_array();
    for (size_t i = 0; i < st->n_components; i++) {
        json_array_append_new(comps, component_json(&st->comp[i]));
    }
    ul_dev_print_json(json_pack(
        "{s:o,s:o,s:o,s:o,s:o}", "chain_id", ul_dev_hex_json(st->chain_id, UL_HASH_BYTES), "height",
        ul_dev_u64_json(st->height), "header_hash", ul_dev_hex_json(st->header_hash, UL_HASH_BYTES),
        "hw", ul_dev_label_json(st->hw, st->hw_len), "components", comps));
}

static void status_text(const ul_device_state *st)
{
    char id[65], hh[65], now[UL_MAX_LABEL_LEN + 64], failed[UL_MAX_LABEL_LEN + 96];
    sodium_bin2hex(id, sizeof id, st->chain_id, 32);
    sodium_bin2hex(hh, sizeof hh, st->header_hash, 32);
    printf("chain      %s\ntrusted    height %llu, header %s\nhardware   %.*s\n", id,
           (unsigned long long)st->height, hh, (int)st->hw_len, (const char *)st->hw);
    for (size_t i = 0; i < st->n_components; i++) {
        const ul_component *c = &st->comp[i];
        failed_text(failed, sizeof failed, c);
        printf("component  %.*s: ", (int)c->ns_len, (const char *)c->ns);
        if (slot_empty(running(c))) {
            running_text(now, sizeof now, c);
            printf("%s%s\n", now, failed);
        } else {
            printf("slot %llu active%s%s\n", (unsigned long long)c->active,
                   c->trial ? " (trial: not confirmed; the next start falls back)" : "", failed);
        }
        for (int s = 0; s < 2; s++) {
            const ul_slot *sl = &c->slot[s];
            if (slot_empty(sl)) {
                printf("  slot %d   empty\n", s);
                continue;
            }
            printf("  slot %d   %.*s (seq %llu)%s\n", s, (int)sl->version_len,
                   (const char *)sl->version, (unsigned long long)sl->seq,
                   (uint64_t)s == c->active ? ", running" : "");
        }
    }
}

static int cmd_status(int argc, char **argv)
{
    static ul_device_state st;
    const char *dir = NULL;
    bool json = false;
    ul_dev_opt opts[] = {{"--state", &dir}, {"--json", .flag = &json}};
    int rc = ul_dev_parse(argc, argv, opts, 2, status_help);
    if (rc >= 0) {
        return rc;
    }
    if (!dir) {
        return ul_dev_usage("status: --state DIR is required");
    }
    /* Read only, no lock: the state file is only ever replaced whole (rename). */
    ul_err e = ul_dev_state_load(dir, &st);
    if (e != UL_OK) {
        return ul_dev_fail(e, "status: state %s", dir);
    }
    if (json) {
        status_json(&st);
    } else {
        status_text(&st);
    }
    return 0;
}

int main(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*fn)(int, char **);
    } cmds[] = {{"init", cmd_init},
                {"update", ul_dev_cmd_update},
                {"install", ul_dev_cmd_install},
                {"start", cmd_start},
                {"confirm", cmd_confirm},
                {"status", cmd_status},
                {"report", ul_dev_cmd_report}};
    if (argc < 2) {
        fputs(main_help, stderr);
        return UL_DEV_EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fputs(main_help, stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("upledger-device %s\n", UL_VERSION_STRING);
        return 0;
    }
    if (ul_client_init() != UL_OK) {
        return ul_dev_fail(UL_E_INTERNAL, "cannot initialise the client library");
    }
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        if (!strcmp(argv[1], cmds[i].name)) {
            return cmds[i].fn(argc - 1, argv + 1);
        }
    }
    return ul_dev_usage("unknown command %s", argv[1]);
}
