/* upledger query search and query metrics: the releases of an image digest or of a signer key
 * (query method 19, a page at a time), and the node's Prometheus page (method 18). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* Releases one `query search` page lists unless --limit says otherwise. */
#define SEARCH_PAGE 50

/* The request's arguments, checked: one key, the page size and where it starts. */
static int search_args(const char *digest_hex, const char *signer_hex, const char *limit_s,
                       const char *cursor_s, uint8_t key[UL_HASH_BYTES], uint64_t *limit,
                       uint64_t *from)
{
    if ((digest_hex == NULL) == (signer_hex == NULL)) {
        return ul_cli_usage("query search: give one of --digest HEX or --signer HEX");
    }
    if (ul_cli_id_arg(digest_hex ? digest_hex : signer_hex, key) != UL_OK) {
        return ul_cli_usage("query search: %s is 64 hex digits (%s)",
                            digest_hex ? "--digest" : "--signer",
                            digest_hex ? "the image's SHA-256" : "an x-only public key");
    }
    if (limit_s &&
        (ul_cli_u64_arg(limit_s, limit) != UL_OK || *limit == 0 || *limit > UL_MAX_SEARCH)) {
        return ul_cli_usage("query search: --limit is a number from 1 to %d", UL_MAX_SEARCH);
    }
    if (cursor_s && ul_cli_u64_arg(cursor_s, from) != UL_OK) {
        return ul_cli_usage("query search: --cursor is a log index (a number) a page printed");
    }
    return -1;
}

static void print_page(ul_cli *cli, ul_span entries, const char *what, const char *hex, bool more,
                       uint64_t next, bool oldest_first)
{
    size_t n = entries.len / UL_RPC_SEARCH_ENTRY_BYTES;
    char id[2 * UL_HASH_BYTES + 1];
    json_t *list = json_array();
    if (!cli->json) {
        printf("%s %s: %zu release%s, %s\n", what, hex, n, n == 1 ? "" : "s",
               oldest_first ? "oldest first" : "newest first");
    }
    for (size_t i = 0; i < n; i++) {
        const uint8_t *p = entries.ptr + i * UL_RPC_SEARCH_ENTRY_BYTES;
        ul_hex_encode(id, p, UL_HASH_BYTES);
        uint64_t h = ul_be64_get(p + UL_HASH_BYTES);
        if (cli->json) {
            json_array_append_new(list, json_pack("{s:s,s:I}", "id", id, "height", (json_int_t)h));
        } else {
            printf("  height %-6llu %s\n", (unsigned long long)h, id);
        }
    }
    if (cli->json) {
        ul_cli_print_json(json_pack(
            "{s:s,s:s,s:o,s:o}", what, hex, "order", oldest_first ? "oldest first" : "newest first",
            "releases", list, "next_cursor", more ? json_integer((json_int_t)next) : json_null()));
        return;
    }
    json_decref(list);
    if (more) {
        printf("more: upledger query search --%s %s --cursor %llu%s\n", what, hex,
               (unsigned long long)next, oldest_first ? " --oldest-first" : "");
    }
}

int ul_cli_query_search(ul_cli *cli, const char *digest_hex, const char *signer_hex,
                        const char *limit_s, const char *cursor_s, bool oldest_first)
{
    uint8_t key[UL_HASH_BYTES], *buf = NULL;
    uint64_t limit = SEARCH_PAGE, from = oldest_first ? 0 : UINT64_MAX;
    int rc = search_args(digest_hex, signer_hex, limit_s, cursor_s, key, &limit, &from);
    if (rc >= 0) {
        return rc;
    }
    ul_msg q, r;
    ul_q_search_reply sr;
    ul_q_search_req(&q, digest_hex ? key : NULL, digest_hex ? NULL : key, &from, limit,
                    !oldest_first);
    ul_err e = ul_cli_call(cli, &q, &r, &buf);
    if (e == UL_OK && (e = ul_q_search_reply_read(&r, &sr)) == UL_OK &&
        sr.entries.len > limit * UL_RPC_SEARCH_ENTRY_BYTES) {
        e = UL_E_PROTOCOL; /* more than asked for */
    }
    if (e != UL_OK) {
        ul_p2p_free(buf);
        return ul_cli_fail(cli, e, "search of node %s", cli->node);
    }
    print_page(cli, sr.entries, digest_hex ? "digest" : "signer",
               digest_hex ? digest_hex : signer_hex, UL_Q_HAS(&sr, UL_QREP_SEARCH_NEXT), sr.next,
               oldest_first);
    ul_p2p_free(buf);
    return 0;
}

int ul_cli_query_metrics(ul_cli *cli)
{
    uint8_t *buf = NULL;
    ul_msg q, r;
    ul_q_metrics_reply mr;
    ul_q_metrics_req(&q);
    ul_err e = ul_cli_call(cli, &q, &r, &buf);
    if (e == UL_OK && (e = ul_q_metrics_reply_read(&r, &mr)) == UL_OK) {
        if (cli->json) {
            ul_cli_print_json(json_pack("{s:s%}", "text", (const char *)mr.text.ptr, mr.text.len));
        } else {
            fwrite(mr.text.ptr, 1, mr.text.len, stdout);
        }
    }
    ul_p2p_free(buf);
    return e == UL_OK ? 0 : ul_cli_fail(cli, e, "metrics of node %s", cli->node);
}
