/* Fuzz target for query-endpoint messages (ul_msg_decode): whatever decodes is walked with every
 * getter and list iterator, rebuilt with the builders and re-encoded, which must give back the
 * input bytes exactly; and read by the query protocol's request reader and every reply reader
 * (p2p/ul_query.h), which keep only fields within their specs. Built with -DUL_FUZZ_GEN
 * (without replay.c), main() writes the seeds:
 *   cc -std=c11 -D_GNU_SOURCE -I. -DUL_FUZZ_GEN tests/fuzz/fuzz_msg.c build/libupledger.a \
 *      build/libupclient.a -lsecp256k1 -lsodium -lcbor -o /tmp/gen_msg &&
 *      /tmp/gen_msg tests/fuzz/corpus/fuzz_msg
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p2p/ul_query.h"
#include "schema/ul_schema.h"

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_msg: %s\n", what);
        abort();
    }
}

/* Reads field f back through the typed getters: its own must succeed, the others must not. */
static void walk_field(const ul_msg *m, const ul_mfield *f)
{
    uint64_t u;
    ul_span s, arr;
    size_t n;
    uint8_t fixed[8];

    check((ul_msg_get_uint(m, f->key, &u) == UL_OK) == (f->type == UL_MV_UINT), "get_uint");
    check((ul_msg_get_bytes(m, f->key, &s) == UL_OK) == (f->type == UL_MV_BYTES), "get_bytes");
    check((ul_msg_get_text(m, f->key, &s) == UL_OK) == (f->type == UL_MV_TEXT), "get_text");
    check((ul_msg_get_item(m, f->key, &s) == UL_OK) == (f->type == UL_MV_ITEM), "get_item");
    check((ul_msg_get_list(m, f->key, &arr, &n) == UL_OK) == (f->type == UL_MV_LIST), "get_list");
    if (f->type == UL_MV_BYTES && f->s.len <= sizeof fixed) {
        check(ul_msg_get_fixed(m, f->key, fixed, f->s.len) == UL_OK, "get_fixed");
        check(f->s.len == 0 || memcmp(fixed, f->s.ptr, f->s.len) == 0, "get_fixed bytes");
    }
    if (f->type == UL_MV_UINT) {
        check(ul_msg_get_uint(m, f->key, &u) == UL_OK && u == f->u, "get_uint value");
    }
}

/* The query readers on whatever decoded: what one keeps is within its spec. */
static void query_readers(const ul_msg *m)
{
    ul_q_req q;
    memset(&q, 0, sizeof q);
    if (ul_q_req_read(m, &q) == UL_OK) {
        check(q.method >= 1 && q.method <= UL_RPC_METHOD_MAX, "request method");
        check(q.id.len == 0 || q.id.len == UL_HASH_BYTES, "request id length");
        check(q.ns.len <= UL_MAX_NS_LEN && q.hw.len <= UL_MAX_LABEL_LEN, "request labels");
        check(q.txs.n <= UL_MAX_SUBMIT_TXS, "request txs");
    }
    ul_q_status_reply st;
    if (ul_q_status_reply_read(m, &st) == UL_OK) {
        check(st.chain_id.len == UL_HASH_BYTES, "status chain id");
    }
    ul_q_history_reply h;
    if (ul_q_history_reply_read(m, &h) == UL_OK) {
        check(h.ids.len % UL_HASH_BYTES == 0, "history ids");
    }
    ul_q_block_reply b;
    if (ul_q_block_reply_read(m, &b) == UL_OK) {
        check(b.blocks.n == b.commits.n && b.blocks.n >= 1, "block lists");
    }
    ul_q_latest_reply l;
    if (ul_q_latest_reply_read(m, &l) == UL_OK) {
        check(l.installable.len <= UL_MAX_STATE_VALUE_BYTES, "latest installable");
    }
    ul_q_evidence_reply ev;
    if (ul_q_evidence_reply_read(m, &ev) == UL_OK) {
        check(ev.entries.len % UL_RPC_EVIDENCE_ENTRY_BYTES == 0, "evidence entries");
    }
    /* The others: they must only not crash. */
    ul_q_submit_reply sr;
    ul_q_submit_result res;
    ul_q_tx_status_reply ts;
    ul_q_release_reply rel;
    ul_q_bundle_reply bu;
    ul_q_namespace_reply ns;
    ul_q_nonce_reply no;
    ul_q_genesis_reply g;
    ul_q_consistency_reply c;
    ul_q_release_at_reply at;
    ul_q_release_status_reply rs;
    ul_q_state_proof_reply sp;
    ul_q_validators_reply v;
    (void)ul_q_submit_reply_read(m, &sr);
    (void)ul_q_submit_result_read(m, &res);
    (void)ul_q_tx_status_reply_read(m, &ts);
    (void)ul_q_release_reply_read(m, &rel);
    (void)ul_q_bundle_reply_read(m, &bu);
    (void)ul_q_namespace_reply_read(m, &ns);
    (void)ul_q_nonce_reply_read(m, &no);
    (void)ul_q_genesis_reply_read(m, &g);
    (void)ul_q_consistency_reply_read(m, &c);
    (void)ul_q_release_at_reply_read(m, &at);
    (void)ul_q_release_status_reply_read(m, &rs);
    (void)ul_q_state_proof_reply_read(m, &sp);
    (void)ul_q_validators_reply_read(m, &v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ul_msg m, r;
    ul_span *lists[UL_MSG_MAX_FIELDS] = {0};

    if (ul_msg_decode(&m, data, size) != UL_OK) {
        return 0;
    }
    check(m.n <= UL_MSG_MAX_FIELDS, "field count");
    query_readers(&m);
    ul_msg_init(&r);
    for (size_t i = 0; i < m.n; i++) {
        const ul_mfield *f = &m.f[i];
        check(i == 0 || m.f[i - 1].key < f->key, "keys not ascending");
        walk_field(&m, f);
        if (f->type != UL_MV_UINT) {
            check(f->s.len <= size && f->s.ptr >= data && f->s.ptr + f->s.len <= data + size,
                  "span outside the input");
        }
        switch (f->type) {
        case UL_MV_UINT:
            ul_msg_uint(&r, f->key, f->u);
            break;
        case UL_MV_BYTES:
            ul_msg_bytes(&r, f->key, f->s.ptr, f->s.len);
            break;
        case UL_MV_TEXT:
            ul_msg_text(&r, f->key, f->s);
            break;
        case UL_MV_ITEM:
            ul_msg_item(&r, f->key, f->s);
            break;
        case UL_MV_LIST: {
            ul_span arr, it;
            size_t n, k = 0;
            check(ul_msg_get_list(&m, f->key, &arr, &n) == UL_OK && n == f->n, "list");
            check(n <= size, "list count beyond the input");
            lists[i] = malloc((n ? n : 1) * sizeof *lists[i]);
            check(lists[i] != NULL, "malloc");
            while (ul_msg_list_next(&arr, &it)) {
                check(k < n, "list holds more items than its count");
                lists[i][k++] = it;
            }
            check(k == n && arr.len == 0, "list holds fewer items than its count");
            ul_msg_list(&r, f->key, lists[i], n);
            break;
        }
        }
    }
    size_t cap = ul_msg_encoded_max(&r), len = 0;
    check(cap >= size, "encoded_max below the decoded size");
    uint8_t *out = malloc(cap);
    check(out != NULL, "malloc");
    check(ul_msg_encode(out, cap, &len, &r) == UL_OK, "re-encode");
    check(len == size && memcmp(out, data, size) == 0, "round trip differs");
    free(out);
    for (size_t i = 0; i < m.n; i++) {
        free(lists[i]);
    }
    return 0;
}

#ifdef UL_FUZZ_GEN
/* ---- seed corpus generator ---------------------------------------------------------------- */

static const char *g_outdir;

static void put(const char *name, const uint8_t *p, size_t n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", g_outdir, name);
    FILE *f = fopen(path, "wb");
    check(f != NULL, "open output");
    check(n == 0 || fwrite(p, 1, n, f) == n, "write");
    fclose(f);
}

static void put_msg(const char *name, const ul_msg *m)
{
    uint8_t out[4096];
    size_t len;
    check(ul_msg_encode(out, sizeof out, &len, m) == UL_OK, "encode");
    put(name, out, len);
}

int main(int argc, char **argv)
{
    static const uint8_t item_a[] = {0xa1, 0x01, 0x02};
    static const uint8_t item_b[] = {0xa2, 0x01, 0x42, 0x01, 0x02, 0x02,
                                     0x82, 0x03, 0xa1, 0x04, 0x61, 0x78};
    static const uint8_t deep[] = {0xa1, 0x01, 0xa1, 0x01, 0xa1, 0x01, 0xa1, 0x01, 0xa1,
                                   0x01, 0xa1, 0x01, 0xa1, 0x01, 0xa1, 0x01, 0x00};
    uint8_t id[32];
    ul_span items[3] = {{item_a, sizeof item_a}, {item_b, sizeof item_b}, {deep, sizeof deep}};
    ul_msg m;

    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    g_outdir = argv[1];
    memset(id, 0x42, sizeof id);

    ul_msg_init(&m);
    put_msg("empty", &m);
    ul_msg_init(&m);
    ul_msg_uint(&m, 0, 3);
    ul_msg_bytes(&m, 1, id, sizeof id);
    ul_msg_uint(&m, 2, 1000);
    put_msg("request", &m);
    ul_msg_init(&m);
    ul_msg_uint(&m, 0, 0);
    ul_msg_text(&m, 1, ul_span_str("acme/widget"));
    ul_msg_item(&m, 2, items[1]);
    ul_msg_list(&m, 3, items, 3);
    ul_msg_list(&m, 4, items, 0);
    ul_msg_uint(&m, 300, UINT64_MAX);
    ul_msg_text(&m, 70000, ul_span_str("h\xc3\xa9llo \xf0\x9f\x98\x80"));
    put_msg("reply-all-types", &m);
    ul_msg_init(&m);
    for (uint64_t k = 0; k < UL_MSG_MAX_FIELDS; k++) {
        ul_msg_uint(&m, k * 1000, k);
    }
    put_msg("max-fields", &m);
    ul_msg_init(&m);
    ul_msg_item(&m, 1, items[2]);
    put_msg("deep-item", &m);

    static const uint8_t unsorted[] = {0xa2, 0x01, 0x00, 0x00, 0x00};
    static const uint8_t dup[] = {0xa2, 0x01, 0x00, 0x01, 0x00};
    static const uint8_t longhead[] = {0xa1, 0x01, 0x18, 0x05};
    static const uint8_t indef[] = {0xbf, 0x01, 0x00, 0xff};
    static const uint8_t badutf8[] = {0xa1, 0x01, 0x62, 0xc3, 0x28};
    static const uint8_t list_uint[] = {0xa1, 0x01, 0x82, 0x01, 0x02};
    static const uint8_t too_many[] = {0xb1, 0,  0, 1,  0, 2,  0, 3,  0, 4,  0, 5,
                                       0,    6,  0, 7,  0, 8,  0, 9,  0, 10, 0, 11,
                                       0,    12, 0, 13, 0, 14, 0, 15, 0, 16, 0};
    put("bad-unsorted", unsorted, sizeof unsorted);
    put("bad-duplicate", dup, sizeof dup);
    put("bad-long-head", longhead, sizeof longhead);
    put("bad-indefinite", indef, sizeof indef);
    put("bad-utf8", badutf8, sizeof badutf8);
    put("list-of-uints", list_uint, sizeof list_uint);
    put("bad-17-fields", too_many, sizeof too_many);
    return 0;
}
#endif
