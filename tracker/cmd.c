/* upledger-tracker's one-shot commands: init, key, group, enroll, poll, list, show, summary. They
 * open the store directly (WAL lets them read while `run` writes). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../ledger/ul_ledger.h"
#include "cmd.h"

int ul_tracker_fail(ul_err e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "upledger-tracker: ");
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (%s)\n", ul_err_name(e));
    return UL_TEXIT_FAIL;
}

int ul_tracker_usage_err(const char *msg, const char *arg)
{
    fprintf(stderr, "upledger-tracker: %s%s (see upledger-tracker --help)\n", msg, arg ? arg : "");
    return UL_TEXIT_USAGE;
}

ul_err ul_tracker_open_store(const ul_topts *o, ul_tstore **s)
{
    char msg[PATH_MAX + 256];
    struct stat st;
    if (stat(o->db, &st) != 0) {
        fprintf(stderr,
                "upledger-tracker: %s: no tracker here (upledger-tracker init --dir %s)"
                " (UL_E_NOT_FOUND)\n",
                o->db, o->dir);
        return UL_E_NOT_FOUND;
    }
    ul_err e = ul_tstore_open(s, o->db, msg, sizeof(msg));
    if (e != UL_OK) {
        ul_tracker_fail(e, "%s", msg);
    }
    return e;
}

/* A new home: DIR (0700), the key (0600, encrypted unless asked), the store with the key's
 * public half in its meta table. Nothing is overwritten. */
static int cmd_init(ul_topts *o)
{
    char *pass = NULL, hex[2 * UL_PUBKEY_BYTES + 1];
    ul_key *k = NULL;
    ul_tstore *s = NULL;
    if (mkdir(o->dir, 0700) != 0 && errno != EEXIST) {
        return ul_tracker_fail(UL_E_IO, "cannot create %s", o->dir);
    }
    struct stat st;
    if (stat(o->keyfile, &st) == 0 || stat(o->db, &st) == 0) {
        return ul_tracker_fail(UL_E_EXISTS, "%s already holds a tracker", o->dir);
    }
    ul_err e = o->unencrypted ? UL_OK : ul_passphrase_read(o->passphrase_file, true, &pass);
    if (e == UL_OK && !o->unencrypted && pass[0] == 0) {
        e = UL_E_PASSPHRASE;
    }
    if (e == UL_OK && (e = ul_key_generate(&k)) == UL_OK) {
        e = ul_key_save(k, o->keyfile, o->unencrypted ? NULL : pass);
    }
    ul_passphrase_free(pass);
    char msg[PATH_MAX + 256] = "";
    if (e == UL_OK) {
        e = ul_tstore_open(&s, o->db, msg, sizeof(msg));
    }
    if (e == UL_OK) {
        e = ul_tstore_meta_put(s, "tracker_key", ul_key_pubkey(k), UL_PUBKEY_BYTES);
        ul_hex_encode(hex, ul_key_pubkey(k), UL_PUBKEY_BYTES);
    }
    ul_key_destroy(k);
    ul_tstore_close(s);
    if (e != UL_OK) {
        return ul_tracker_fail(e, "init failed: %s",
                               msg[0] ? msg
                               : e == UL_E_PASSPHRASE
                                   ? "no passphrase (set UPLEDGER_PASSPHRASE or type one twice;"
                                     " --unencrypted-key for a test tracker)"
                                   : ul_err_str(e));
    }
    printf("%s\n", hex);
    return 0;
}

static int cmd_key(ul_topts *o)
{
    uint8_t pk[UL_PUBKEY_BYTES];
    char hex[2 * UL_PUBKEY_BYTES + 1];
    ul_err e = ul_key_load_pubkey(o->keyfile, pk);
    if (e != UL_OK) {
        return ul_tracker_fail(e, "%s: cannot be read", o->keyfile);
    }
    ul_hex_encode(hex, pk, UL_PUBKEY_BYTES);
    printf("%s\n", hex);
    return 0;
}

static int cmd_group(ul_topts *o, ul_tstore *s)
{
    if (!o->group || !o->silence) {
        return ul_tracker_usage_err("usage: group NAME --silence SECONDS", NULL);
    }
    ul_err e = ul_tstore_group_set(s, o->group, o->silence);
    if (e != UL_OK) {
        return ul_tracker_fail(e, "group %s: a name of 1..128 bytes", o->group);
    }
    return 0;
}

/* One line of an enrollment file: "HEX [GROUP]" (blank lines and # comments skipped). */
static ul_err enroll_line(char *line, const char *dflt, uint8_t key[32], char *group, size_t cap)
{
    char *hex = line + strspn(line, " \t"), *rest;
    hex[strcspn(hex, "\r\n")] = 0;
    rest = hex + strcspn(hex, " \t");
    if (*rest) {
        *rest++ = 0;
        rest += strspn(rest, " \t");
    }
    if (!*rest && !dflt) {
        return UL_E_ARG;
    }
    snprintf(group, cap, "%s", *rest ? rest : dflt);
    group[strcspn(group, " \t")] = 0;
    return ul_hex_decode(key, UL_PUBKEY_BYTES, hex);
}

/* Reads the whole file first (every line checked), then enrolls per group in one transaction
 * each; a bad line enrolls nothing. */
static int enroll_file(ul_topts *o, ul_tstore *s)
{
    FILE *f = fopen(o->file, "r");
    char line[512], group[UL_MAX_LABEL_LEN + 2], lineno[32];
    size_t n = 0, no = 0;
    uint8_t key[UL_PUBKEY_BYTES];
    if (!f) {
        return ul_tracker_fail(UL_E_IO, "%s: cannot be opened", o->file);
    }
    ul_err e = UL_OK;
    /* Two passes: check every line, then enroll. */
    for (int pass = 0; pass < 2 && e == UL_OK; pass++) {
        rewind(f);
        no = n = 0;
        while (e == UL_OK && fgets(line, sizeof(line), f)) {
            no++;
            char *p = line + strspn(line, " \t\r\n");
            if (!*p || *p == '#') {
                continue;
            }
            e = ++n > UL_MAX_TRACKER_ENROLL_LINES
                    ? UL_E_LIMIT
                    : enroll_line(p, o->group, key, group, sizeof(group));
            if (e == UL_OK && pass == 1) {
                e = ul_tstore_enroll(s, key, group, ul_tracker_now_ms());
            }
        }
    }
    fclose(f);
    if (e != UL_OK) {
        snprintf(lineno, sizeof(lineno), "%zu", no);
        fprintf(stderr, "upledger-tracker: %s line %s: not \"HEX64 [GROUP]\" (%s)\n", o->file,
                lineno, ul_err_name(e));
        return UL_TEXIT_FAIL;
    }
    printf("enrolled %zu devices\n", n);
    return 0;
}

static int cmd_enroll(ul_topts *o, ul_tstore *s)
{
    uint8_t key[UL_PUBKEY_BYTES];
    if (o->file) {
        return enroll_file(o, s);
    }
    if (!o->device || !o->group) {
        return ul_tracker_usage_err("enroll needs --device HEX --group G, or --file PATH", NULL);
    }
    if (ul_hex_decode(key, sizeof(key), o->device) != UL_OK) {
        return ul_tracker_fail(UL_E_ARG, "--device %s: not a 64-hex-digit public key", o->device);
    }
    ul_err e = ul_tstore_enroll(s, key, o->group, ul_tracker_now_ms());
    if (e != UL_OK) {
        return ul_tracker_fail(e, "enroll: %s", ul_tstore_errmsg(s));
    }
    return 0;
}

static int cmd_poll(ul_topts *o, ul_tstore *s)
{
    ul_tnode n = {.sock = -1};
    ul_tpoll_stats st;
    if (!o->node) {
        return ul_tracker_usage_err("poll needs --node ENDPOINT", NULL);
    }
    uint8_t chain[UL_HASH_BYTES];
    size_t clen = 0;
    ul_err e = ul_tstore_meta_get(s, "chain_id", chain, sizeof(chain), &clen);
    bool have = e == UL_OK && clen == UL_HASH_BYTES;
    e = e == UL_E_NOT_FOUND ? UL_OK : e;
    if (e == UL_OK) {
        e = ul_tnode_open(&n, o->node, 5000);
    }
    if (e == UL_OK) {
        e = ul_tnode_poll(&n, s, NULL, have ? chain : NULL, &st);
    }
    ul_tnode_close(&n);
    if (e != UL_OK) {
        return ul_tracker_fail(e, "poll of %s failed", o->node);
    }
    printf("height %llu: %zu pairs, %zu releases asked; %zu latest changed, %zu revoked\n",
           (unsigned long long)st.height, st.pairs, st.releases, st.latest_changed, st.revoked);
    return 0;
}

static ul_err print_device(void *ctx, const ul_tdevice *d)
{
    char hex[2 * UL_PUBKEY_BYTES + 1], rid[2 * UL_HASH_BYTES + 1];
    ul_hex_encode(hex, d->pubkey, UL_PUBKEY_BYTES);
    printf("%s %-10s group=%s hw=%s%s\n", hex, ul_tstatus_name(d->status), d->group, d->hw,
           d->silent ? " silent" : "");
    for (size_t i = 0; i < d->n_comp; i++) {
        ul_hex_encode(rid, d->comp[i].release_id, UL_HASH_BYTES);
        printf("  %s seq %llu %s %s\n", d->comp[i].ns, (unsigned long long)d->comp[i].seq, rid,
               ul_tstatus_name(d->comp_status[i]));
    }
    return UL_OK;
}

static int cmd_list(ul_topts *o, ul_tstore *s)
{
    ul_tquery q = {.status = (ul_tstatus)o->status,
                   .ns = o->ns,
                   .group = o->group,
                   .hw = o->hw,
                   .after = (int64_t)o->after,
                   .limit = o->limit ? o->limit : 100,
                   .now_ms = ul_tracker_now_ms()};
    int64_t next = 0;
    json_t *v = NULL;
    if (o->status < 0) {
        return ul_tracker_usage_err(
            "list needs --outdated, --vulnerable, --failing, --silent, --up-to-date or --unknown",
            NULL);
    }
    ul_err e =
        o->json ? ul_tjson_list(s, &q, &v) : ul_tstore_list(s, &q, print_device, NULL, &next);
    if (e != UL_OK) {
        return ul_tracker_fail(e, "list: %s", ul_tstore_errmsg(s));
    }
    if (v) {
        json_dumpf(v, stdout, JSON_INDENT(2));
        putchar('\n');
        json_decref(v);
    } else if (next) {
        printf("more: --after %lld\n", (long long)next);
    }
    return 0;
}

static int cmd_show(ul_topts *o, ul_tstore *s)
{
    uint8_t key[UL_PUBKEY_BYTES];
    json_t *v = NULL;
    ul_tdevice d;
    if (!o->device || ul_hex_decode(key, sizeof(key), o->device) != UL_OK) {
        return ul_tracker_usage_err("show needs --device HEX (64 hex digits)", NULL);
    }
    ul_err e = o->json ? ul_tjson_device_history(s, key, ul_tracker_now_ms(), &v)
                       : ul_tstore_device(s, key, ul_tracker_now_ms(), &d);
    if (e != UL_OK) {
        return ul_tracker_fail(e, "device %s", o->device);
    }
    if (v) {
        json_dumpf(v, stdout, JSON_INDENT(2));
        putchar('\n');
        json_decref(v);
        return 0;
    }
    print_device(NULL, &d);
    return 0;
}

static int cmd_summary(ul_topts *o, ul_tstore *s)
{
    json_t *v = NULL;
    ul_err e = ul_tjson_summary(s, ul_tracker_now_ms(), &v);
    if (e != UL_OK) {
        return ul_tracker_fail(e, "summary: %s", ul_tstore_errmsg(s));
    }
    if (o->json) {
        json_dumpf(v, stdout, JSON_INDENT(2));
        putchar('\n');
    } else {
        const char *k;
        json_t *n;
        printf("devices %lld\n", json_integer_value(json_object_get(v, "devices")));
        json_object_foreach(json_object_get(v, "by_status"), k, n)
        {
            printf("  %-10s %lld\n", k, json_integer_value(n));
        }
    }
    json_decref(v);
    return 0;
}

static int cmd_enroll_tracker(ul_topts *o, ul_tstore *s)
{
    uint8_t key[UL_PUBKEY_BYTES];
    if (!o->tracker || !o->name) {
        return ul_tracker_usage_err("enroll-tracker needs --tracker HEX --name NAME", NULL);
    }
    if (ul_hex_decode(key, sizeof(key), o->tracker) != UL_OK) {
        return ul_tracker_fail(UL_E_ARG, "--tracker %s: not a 64-hex-digit public key", o->tracker);
    }
    ul_err e = ul_tstore_enroll_tracker(s, key, o->name);
    if (e != UL_OK) {
        return ul_tracker_fail(e, "--name %s: a name of 1..128 bytes", o->name);
    }
    return 0;
}

typedef int (*store_cmd)(ul_topts *o, ul_tstore *s);

int ul_tracker_dispatch(ul_topts *o)
{
    static const struct {
        const char *name;
        store_cmd fn;
    } cmds[] = {{"group", cmd_group},
                {"enroll", cmd_enroll},
                {"poll", cmd_poll},
                {"list", cmd_list},
                {"show", cmd_show},
                {"summary", cmd_summary},
                {"enroll-tracker", cmd_enroll_tracker}};
    if (strcmp(o->cmd, "init") == 0) {
        return cmd_init(o);
    }
    if (strcmp(o->cmd, "key") == 0) {
        return cmd_key(o);
    }
    if (strcmp(o->cmd, "run") == 0) {
        return ul_tracker_run(o);
    }
    if (strcmp(o->cmd, "push") == 0) {
        return ul_tracker_push(o);
    }
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        if (strcmp(o->cmd, cmds[i].name) == 0) {
            ul_tstore *s = NULL;
            if (ul_tracker_open_store(o, &s) != UL_OK) {
                return UL_TEXIT_FAIL;
            }
            int rc = cmds[i].fn(o, s);
            ul_tstore_close(s);
            return rc;
        }
    }
    return ul_tracker_usage_err("unknown command: ", o->cmd);
}
