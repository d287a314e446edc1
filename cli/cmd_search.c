/* upledger query search and query metrics: the releases of an image digest or of a signer key
 * (query method 19, a page at a time, each named by its record), and the node's Prometheus page
 * (method 18). */
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

/* One result as JSON: id and height from the index, namespace, version and sequence from the
 * release's record (one release query each: a page is at most --limit of them). */
static json_t *result_json(ul_cli *cli, const uint8_t *entry, ul_err *err)
{
    json_t *rel = ul_cli_fetch_release(cli, entry, err);
    json_t *o =
        rel ? json_pack("{s:o,s:o,s:O,s:O,s:O}", "id", ul_cli_hex_json(entry, UL_HASH_BYTES),
                        "height", ul_cli_u64(ul_be64_get(entry + UL_HASH_BYTES)), "namespace",
                        json_object_get(rel, "namespace"), "version",
                        json_object_get(rel, "version"), "sequence",
                        json_object_get(rel, "sequence"))
            : NULL;
    json_decref(rel);
    if (rel && !o) {
        *err = UL_E_NOMEM;
    }
    return o;
}

/* The page's results, each with its record's namespace and version. NULL on failure (*err). */
static json_t *page_json(ul_cli *cli, ul_span entries, ul_err *err)
{
    json_t *list = json_array();
    *err = list ? UL_OK : UL_E_NOMEM;
    for (size_t i = 0; *err == UL_OK && i < entries.len / UL_RPC_SEARCH_ENTRY_BYTES; i++) {
        json_t *one = result_json(cli, entries.ptr + i * UL_RPC_SEARCH_ENTRY_BYTES, err);
        if (one) {
            json_array_append_new(list, one);
        }
    }
    if (*err != UL_OK) {
        json_decref(list);
        list = NULL;
    }
    return list;
}

static void print_page(ul_cli *cli, json_t *list, const char *what, const char *hex, bool more,
                       uint64_t next, bool oldest_first)
{
    size_t n = json_array_size(list), i;
    json_t *r;
    if (cli->json) {
        ul_cli_print_json(json_pack("{s:s,s:s,s:s,s:o,s:o}", "by", what, what, hex, "order",
                                    oldest_first ? "oldest first" : "newest first", "releases",
                                    list, "next_cursor",
                                    more ? json_integer((json_int_t)next) : json_null()));
        return;
    }
    printf("%s %s: %zu release%s, %s\n", what, hex, n, n == 1 ? "" : "s",
           oldest_first ? "oldest first" : "newest first");
    json_array_foreach(list, i, r)
    {
        printf("  height %-6llu %-24s %-12s seq %-6llu %s\n",
               (unsigned long long)ul_cli_u64_value(json_object_get(r, "height")),
               json_string_value(json_object_get(r, "namespace")),
               json_string_value(json_object_get(r, "version")),
               (unsigned long long)ul_cli_u64_value(json_object_get(r, "sequence")),
               json_string_value(json_object_get(r, "id")));
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
    bool more = UL_Q_HAS(&sr, UL_QREP_SEARCH_NEXT);
    uint64_t next = sr.next;
    json_t *list = page_json(cli, sr.entries, &e);
    ul_p2p_free(buf);
    if (!list) {
        return ul_cli_fail(cli, e, "search of node %s: a release it named", cli->node);
    }
    print_page(cli, list, digest_hex ? "digest" : "signer", digest_hex ? digest_hex : signer_hex,
               more, next, oldest_first);
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
