/* upledger audit: re-verify a whole chain from genesis (verify is cli/cmd_verify.c). */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

typedef struct {
    ul_cli *cli;
    ul_chain *chain;                   /* a snapshot of the local data dir, or NULL for the node */
    char snap[4096];                   /* the snapshot's directory ("" when none) */
    char why[UL_STORE_TEXT_MAX + 256]; /* what the store said when it failed, in DIR's terms */
    uint64_t until;                    /* audit up to this height */
    /* node source: a window of prefetched blocks */
    ul_msg q, r;
    uint8_t *buf;
    uint64_t first;
    size_t n;
    ul_span blocks, commits;
    time_t last_progress;
} source;

static ul_err dup_span(ul_span s, uint8_t **out, size_t *len)
{
    *out = malloc(s.len ? s.len : 1);
    if (!*out) {
        return UL_E_NOMEM;
    }
    memcpy(*out, s.ptr, s.len);
    *len = s.len;
    return UL_OK;
}

static ul_err fetch_window(source *s, uint64_t h)
{
    ul_q_block_reply br;
    ul_p2p_free(s->buf);
    s->buf = NULL;
    ul_q_block_req(&s->q, h, UL_MAX_BLOCK_RANGE);
    ul_err e = ul_cli_call(s->cli, &s->q, &s->r, &s->buf);
    if (e == UL_OK && (e = ul_q_block_reply_read(&s->r, &br)) == UL_OK) {
        s->blocks = br.blocks.wire, s->commits = br.commits.wire, s->n = br.blocks.n;
    }
    s->first = h;
    if (e != UL_OK) {
        s->n = 0;
    }
    return e;
}

static ul_err next_block(void *arg, uint64_t h, uint8_t **blk, size_t *blen, uint8_t **cm,
                         size_t *clen)
{
    source *s = arg;
    ul_span b, c;
    if (h > s->until) {
        return UL_E_NOT_FOUND;
    }
    if (s->chain) {
        ul_err e = ul_chain_block_bytes(s->chain, h, blk, blen);
        if (e == UL_OK && (e = ul_chain_commit_bytes(s->chain, h, cm, clen)) != UL_OK) {
            free(*blk);
        }
        return e;
    }
    if (s->n == 0 || h >= s->first + s->n) {
        ul_err e = fetch_window(s, h);
        if (e != UL_OK) {
            return e;
        }
    }
    /* Blocks come in order: take the next of the window. */
    if (!ul_msg_list_next(&s->blocks, &b) || !ul_msg_list_next(&s->commits, &c)) {
        return UL_E_PROTOCOL;
    }
    ul_err e = dup_span(b, blk, blen);
    if (e == UL_OK && (e = dup_span(c, cm, clen)) != UL_OK) {
        free(*blk);
    }
    return e;
}

static void on_progress(void *arg, uint64_t h, uint64_t releases)
{
    source *s = arg;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (now.tv_sec == s->last_progress) { /* at most one line a second */
        return;
    }
    s->last_progress = now.tv_sec;
    ul_cli_progress("audit: height %llu of %llu, %llu releases verified", (unsigned long long)h,
                    (unsigned long long)s->until, (unsigned long long)releases);
}

static void remove_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[4400];
    while (d && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            unlink(path);
        }
    }
    if (d) {
        closedir(d);
    }
    rmdir(dir);
}

/* Copies text to out with every occurrence of from (the snapshot) replaced by to (the data). */
static void unsnap(char *out, size_t cap, const char *text, const char *from, const char *to)
{
    size_t used = 0, fl = strlen(from);
    out[0] = '\0';
    for (const char *p = text, *hit; *p && used + 1 < cap; p = hit ? hit + fl : p + strlen(p)) {
        hit = fl ? strstr(p, from) : NULL;
        int w = snprintf(out + used, cap - used, "%.*s%s",
                         (int)(hit ? (size_t)(hit - p) : strlen(p)), p, hit ? to : "");
        used = w < 0 ? cap : used + (size_t)w;
    }
}

/* Audits a stopped node's store through a snapshot in a scratch directory: opening LevelDB
 * rewrites its manifest and log (and recovery would rewrite damage away), so DIR itself is never
 * opened. Every block of the snapshot is read once first: damage anywhere is reported. */
static ul_err open_snapshot(source *s, const char *db, const char *tmp)
{
    uint64_t entries;
    const char *text = "";
    snprintf(s->snap, sizeof s->snap, "%s/upledger-audit-data-XXXXXX", tmp);
    if (!mkdtemp(s->snap)) {
        s->snap[0] = '\0';
        return UL_E_IO;
    }
    ul_err e = ul_store_snapshot(db, s->snap);
    if (e == UL_OK && (e = ul_chain_open(&s->chain, s->snap, NULL, 0)) != UL_OK) {
        text = ul_store_last_error();
    } else if (e == UL_OK && (e = ul_store_verify(ul_chain_store(s->chain), &entries)) != UL_OK) {
        (void)ul_store_fault(ul_chain_store(s->chain), &text);
    }
    unsnap(s->why, sizeof s->why, text, s->snap, db);
    return e;
}

static const char audit_help[] =
    "usage: upledger audit [--data DIR]\n"
    "Re-verifies the whole chain from genesis: every header's link, chain id, time and roots\n"
    "(transactions, release log, state, validators), every commit's quorum signatures, and\n"
    "every transaction, by re-executing all of them in a scratch store. Reads the node given by\n"
    "--node, or the data directory of a stopped node with --data DIR: never DIR itself, which\n"
    "is left as it was to the byte, but a snapshot of it in $TMPDIR (tables hard-linked when on\n"
    "the same filesystem, the rest copied), read in full first so damage anywhere in it is\n"
    "reported (UL_E_CORRUPT, naming the file), not repaired. Exit 0 only if all pass.\n";

/* Opens the source: a stopped node's data dir, or the node; sets the genesis and target height. */
static ul_err open_source(source *s, const char *data, uint8_t **genesis, size_t *glen)
{
    if (data) {
        char db[4200];
        const char *tmp = getenv("TMPDIR");
        snprintf(db, sizeof db, "%s/db", data);
        ul_err e = open_snapshot(s, db, tmp && *tmp ? tmp : "/tmp");
        if (e != UL_OK) {
            return e;
        }
        s->until = ul_chain_height(s->chain);
        return dup_span(ul_chain_genesis_bytes(s->chain), genesis, glen);
    }
    ul_msg q, r;
    uint8_t *buf;
    ul_q_genesis_reply g;
    ul_q_status_reply st;
    ul_q_genesis_req(&q);
    ul_err e = ul_cli_call(s->cli, &q, &r, &buf);
    if (e == UL_OK && (e = ul_q_genesis_reply_read(&r, &g)) == UL_OK) {
        e = dup_span(g.genesis, genesis, glen);
    }
    ul_p2p_free(buf);
    ul_q_status_req(&q);
    if (e == UL_OK && (e = ul_cli_call(s->cli, &q, &r, &buf)) == UL_OK &&
        (e = ul_q_status_reply_read(&r, &st)) == UL_OK) {
        s->until = st.height;
    }
    ul_p2p_free(buf);
    return e;
}

int ul_cmd_audit(ul_cli *cli, int argc, char **argv)
{
    const char *data = NULL, *pos[1];
    size_t np, glen = 0;
    ul_opt opts[] = {{"--data", &data}};
    int rc = ul_cli_parse(argc, argv, opts, 1, pos, 0, 0, &np, audit_help);
    if (rc >= 0) {
        return rc;
    }
    source s = {.cli = cli};
    uint8_t *genesis = NULL;
    ul_audit_result res;
    const char *tmp = getenv("TMPDIR");
    char scratch[4096];
    snprintf(scratch, sizeof scratch, "%s/upledger-audit-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    ul_err e = open_source(&s, data, &genesis, &glen);
    if (e != UL_OK) {
        ul_chain_close(s.chain);
        if (s.snap[0]) {
            remove_dir(s.snap);
        }
        return ul_cli_fail(cli, e, "audit: reading %s%s%s", data ? data : cli->node,
                           s.why[0] ? ": " : "", s.why);
    }
    if (!mkdtemp(scratch)) {
        free(genesis);
        ul_chain_close(s.chain);
        return ul_cli_fail(cli, UL_E_IO, "audit: scratch directory in %s", scratch);
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    e = ul_audit_run(genesis, glen, next_block, &s, scratch, on_progress, &s, &res);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    remove_dir(scratch);
    free(genesis);
    ul_p2p_free(s.buf);
    ul_chain_close(s.chain);
    if (s.snap[0]) {
        remove_dir(s.snap);
    }
    if (e != UL_OK) {
        return ul_cli_fail(cli, e, "audit FAILED at height %llu",
                           (unsigned long long)res.fail_height);
    }
    char head[65], root[65];
    ul_hex_encode(head, res.head, 32);
    ul_hex_encode(root, res.log_root, 32);
    if (cli->json) {
        ul_cli_print_json(json_pack("{s:b,s:I,s:I,s:s,s:s,s:f}", "ok", 1, "height",
                                    (json_int_t)res.height, "releases", (json_int_t)res.releases,
                                    "head", head, "log_root", root, "seconds", secs));
    } else {
        printf("audit passed: %llu blocks, %llu releases re-verified in %.2f s\n"
               "  head      %s\n  log root  %s\n",
               (unsigned long long)res.height, (unsigned long long)res.releases, secs, head, root);
    }
    return 0;
}
