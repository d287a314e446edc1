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
    "  start     a device start: an unconfirmed update started before falls back\n"
    "  confirm   confirm the update on trial (it becomes the installed release)\n"
    "  status    show the device state\n\n"
    "Exit status: 0 success, 1 failure (one line: upledger-device: CONTEXT: UL_E_NAME: message),\n"
    "2 usage error.\n";

static const char init_help[] =
    "usage: upledger-device init --anchor GENESIS.cbor --hw CLASS --state DIR\n"
    "                            [--class-key FILE] [--installed NS=VERSION[@SEQ]]...\n"
    "Creates the device state in DIR (refuses an existing one): trust anchor = the genesis\n"
    "(chain id and validator set; a mirror's genesis.cbor), hardware class CLASS, and the\n"
    "factory-installed components (SEQ defaults to 0). --class-key FILE, the class secret\n"
    "(the 32-byte OUT of upledger keygen --class; any other file is refused with UL_E_KEY),\n"
    "is copied to DIR/class.key (mode 0600, in the clear: the device needs it to decrypt\n"
    "encrypted images of its class).\n";

static const char start_help[] =
    "usage: upledger-device start --state DIR\n"
    "A device start: a component on trial that was started before without being confirmed\n"
    "falls back to its previous slot (printed). Prints what each component runs.\n";

static const char confirm_help[] =
    "usage: upledger-device confirm --state DIR [--namespace NS]\n"
    "Confirms the update on trial of NS (default: the one component on trial): it becomes the\n"
    "installed release, the one later updates must exceed.\n";

static const char status_help[] =
    "usage: upledger-device status --state DIR [--json]\n"
    "Shows the chain id, trusted height and header, hardware class and, per component, the\n"
    "active slot, trial flag and both slots' versions and sequences. Changes nothing.\n";

int ul_dev_parse(int argc, char **argv, const ul_dev_opt *opts, size_t n, const char *help)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(help, stdout);
            return 0;
        }
        size_t k = 0;
        while (k < n && strcmp(opts[k].name, a) != 0) {
            k++;
        }
        if (k == n) {
            return ul_dev_usage("%s: unknown argument %s", argv[0], a);
        }
        if (opts[k].flag) {
            *opts[k].flag = true;
        } else if (i + 1 >= argc) {
            return ul_dev_usage("%s: %s needs a value", argv[0], a);
        } else if (opts[k].value) {
            if (*opts[k].value) {
                return ul_dev_usage("%s: %s given twice", argv[0], a);
            }
            *opts[k].value = argv[++i];
        } else if (*opts[k].n_multi >= opts[k].max_multi) {
            return ul_dev_usage("%s: %s given more than %zu times", argv[0], a, opts[k].max_multi);
        } else {
            opts[k].multi[(*opts[k].n_multi)++] = argv[++i];
        }
    }
    return -1;
}

static const ul_slot *running(const ul_component *c)
{
    return &c->slot[c->active];
}

size_t ul_dev_boot(ul_device_state *st)
{
    bool trial[UL_MAX_COMPONENTS];
    for (size_t i = 0; i < st->n_components; i++) {
        trial[i] = st->comp[i].trial;
    }
    size_t n = ul_client_device_boot(st);
    for (size_t i = 0; n > 0 && i < st->n_components; i++) {
        const ul_component *c = &st->comp[i];
        if (trial[i] && !c->trial) {
            const ul_slot *failed = &c->slot[1 - c->active];
            printf("fell back: %.*s update %.*s (seq %llu) in slot %llu was not confirmed; "
                   "running %.*s (seq %llu) from slot %llu\n",
                   (int)c->ns_len, (const char *)c->ns, (int)failed->version_len,
                   (const char *)failed->version, (unsigned long long)failed->seq,
                   (unsigned long long)(1 - c->active), (int)running(c)->version_len,
                   (const char *)running(c)->version, (unsigned long long)running(c)->seq,
                   (unsigned long long)c->active);
        }
    }
    return n;
}

typedef struct {
    const char *anchor, *hw, *dir, *class_key;
    const char *installed[UL_MAX_COMPONENTS];
    size_t n_installed;
} init_args;

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
    if (a->class_key && (e = ul_dev_class_key_copy(a->class_key, a->dir)) != UL_OK) {
        return ul_dev_fail(e, "init: class key %s", a->class_key);
    }
    if ((e = ul_dev_state_save(a->dir, st)) != UL_OK) {
        char path[UL_DEV_PATH_MAX];
        snprintf(path, sizeof path, "%s/class.key", a->dir);
        if (a->class_key) {
            unlink(path); /* all or nothing */
        }
        return ul_dev_fail(e, "init: writing %s/state.cbor", a->dir);
    }
    char id[65];
    sodium_bin2hex(id, sizeof id, st->chain_id, 32);
    printf("initialised %s: chain %s, hardware %s, %zu component%s%s\n", a->dir, id, a->hw,
           st->n_components, st->n_components == 1 ? "" : "s",
           a->class_key ? ", class key provisioned" : "");
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
                          .max_multi = UL_MAX_COMPONENTS}};
    int rc = ul_dev_parse(argc, argv, opts, 5, init_help), lock = -1;
    if (rc >= 0) {
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

static void print_components(const ul_device_state *st)
{
    for (size_t i = 0; i < st->n_components; i++) {
        const ul_component *c = &st->comp[i];
        printf("%.*s: running %.*s (seq %llu) from slot %llu%s\n", (int)c->ns_len,
               (const char *)c->ns, (int)running(c)->version_len,
               (const char *)running(c)->version, (unsigned long long)running(c)->seq,
               (unsigned long long)c->active, c->trial ? " (trial, not confirmed)" : "");
    }
}

static int cmd_start(int argc, char **argv)
{
    static ul_device_state st;
    const char *dir = NULL;
    ul_dev_opt opts[] = {{"--state", &dir}};
    int rc = ul_dev_parse(argc, argv, opts, 1, start_help), lock = -1;
    if (rc >= 0) {
        return rc;
    }
    if (!dir) {
        return ul_dev_usage("start: --state DIR is required");
    }
    ul_err e = ul_dev_lock(dir, &lock);
    if (e == UL_OK && (e = ul_dev_state_load(dir, &st)) == UL_OK) {
        ul_dev_boot(&st);
        e = ul_dev_state_save(dir, &st); /* the start counts even when nothing fell back */
    }
    if (lock >= 0) {
        close(lock);
    }
    if (e != UL_OK) {
        return ul_dev_fail(e, "start: state %s", dir);
    }
    print_components(&st);
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
    ul_dev_opt opts[] = {{"--state", &dir}, {"--namespace", &ns}};
    int rc = ul_dev_parse(argc, argv, opts, 2, confirm_help), lock = -1;
    if (rc >= 0) {
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
    if (lock >= 0) {
        close(lock);
    }
    if (e != UL_OK) {
        return ul_dev_fail(e, "confirm %s in %s", ns ? ns : "(the component on trial)", dir);
    }
    printf("confirmed %.*s %.*s (seq %llu)\n", (int)c->ns_len, (const char *)c->ns,
           (int)running(c)->version_len, (const char *)running(c)->version,
           (unsigned long long)running(c)->seq);
    return 0;
}

/* A label as a JSON string: printable ASCII (the schema's rule), with " and \ escaped. */
static void json_label(const uint8_t *p, size_t n)
{
    putchar('"');
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '"' || p[i] == '\\') {
            putchar('\\');
        }
        putchar(p[i] >= 0x20 && p[i] < 0x7f ? p[i] : '?');
    }
    putchar('"');
}

static void status_json(const ul_device_state *st)
{
    char id[65], hh[65], dg[65];
    sodium_bin2hex(id, sizeof id, st->chain_id, 32);
    sodium_bin2hex(hh, sizeof hh, st->header_hash, 32);
    printf("{\"chain_id\": \"%s\", \"height\": %llu, \"header_hash\": \"%s\", \"hw\": ", id,
           (unsigned long long)st->height, hh);
    json_label(st->hw, st->hw_len);
    printf(", \"components\": [");
    for (size_t i = 0; i < st->n_components; i++) {
        const ul_component *c = &st->comp[i];
        printf("%s{\"namespace\": ", i ? ", " : "");
        json_label(c->ns, c->ns_len);
        printf(", \"active\": %llu, \"trial\": %s, \"boots\": %llu, \"slots\": [",
               (unsigned long long)c->active, c->trial ? "true" : "false",
               (unsigned long long)c->boots);
        for (int s = 0; s < 2; s++) {
            sodium_bin2hex(dg, sizeof dg, c->slot[s].digest, 32);
            printf("%s{\"slot\": %d, \"seq\": %llu, \"version\": ", s ? ", " : "", s,
                   (unsigned long long)c->slot[s].seq);
            json_label(c->slot[s].version, c->slot[s].version_len);
            printf(", \"digest\": \"%s\", \"size\": %llu}", dg,
                   (unsigned long long)c->slot[s].size);
        }
        printf("]}");
    }
    printf("]}\n");
}

static void status_text(const ul_device_state *st)
{
    char id[65], hh[65];
    sodium_bin2hex(id, sizeof id, st->chain_id, 32);
    sodium_bin2hex(hh, sizeof hh, st->header_hash, 32);
    printf("chain      %s\ntrusted    height %llu, header %s\nhardware   %.*s\n", id,
           (unsigned long long)st->height, hh, (int)st->hw_len, (const char *)st->hw);
    for (size_t i = 0; i < st->n_components; i++) {
        const ul_component *c = &st->comp[i];
        printf("component  %.*s: slot %llu active%s\n", (int)c->ns_len, (const char *)c->ns,
               (unsigned long long)c->active,
               c->trial ? " (trial: not confirmed; the next start falls back)" : "");
        for (int s = 0; s < 2; s++) {
            const ul_slot *sl = &c->slot[s];
            if (sl->seq == 0 && sl->version_len == 0) {
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
                {"start", cmd_start},
                {"confirm", cmd_confirm},
                {"status", cmd_status}};
    if (argc < 2) {
        fputs(main_help, stderr);
        return UL_DEV_EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fputs(main_help, stdout);
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
