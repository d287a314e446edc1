/* Unit tests for schema/: error names, spans, the canonical CBOR reader and writer, and every
 * record's encoder and decoder: round trips, golden vectors, every limit at the bound and one
 * past it, and every class of non-canonical or malformed input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <cbor.h>

#include "schema/internal.h"
#include "schema/ul_schema.h"

#define S(x) ul_span_str(x)
#define BIG (1u << 20)

/* ---- Byte helpers ------------------------------------------------------------------------ */

typedef struct {
    uint8_t b[1 << 16];
    size_t n;
} bytes;

static void fill(uint8_t *p, size_t n, uint8_t seed)
{
    for (size_t i = 0; i < n; i++) {
        p[i] = (uint8_t)(seed + i);
    }
}

/* Appends hex (spaces ignored). Tokens: "H32" a byte string of 32 0xbb bytes (58 20 bb..),
 * "B32" the 32 bytes 0xbb alone, "A32" 32 bytes of 'a'. */
static void bh(bytes *b, const char *hex)
{
    while (*hex) {
        if (*hex == ' ') {
            hex++;
        } else if (strncmp(hex, "H32", 3) == 0) {
            b->b[b->n++] = 0x58;
            b->b[b->n++] = 0x20;
            memset(b->b + b->n, 0xbb, 32);
            b->n += 32;
            hex += 3;
        } else if (strncmp(hex, "B32", 3) == 0 || strncmp(hex, "A32", 3) == 0) {
            memset(b->b + b->n, hex[0] == 'B' ? 0xbb : 'a', 32);
            b->n += 32;
            hex += 3;
        } else {
            unsigned v;
            assert_int_equal(sscanf(hex, "%2x", &v), 1);
            b->b[b->n++] = (uint8_t)v;
            hex += 2;
        }
    }
}

static bytes *hb(const char *hex)
{
    static bytes b;
    b.n = 0;
    bh(&b, hex);
    return &b;
}

static void brep(bytes *b, uint8_t c, size_t n)
{
    memset(b->b + b->n, c, n);
    b->n += n;
}

/* A scratch writer for building (possibly invalid) values with the internal writer. */
static uint8_t vbuf[BIG];
static ul_cbor_writer vw;

static ul_cbor_writer *vbegin(void)
{
    ul_cbor_writer_init(&vw, vbuf, sizeof vbuf);
    return &vw;
}

static size_t vend(void)
{
    assert_int_equal(vw.err, UL_OK);
    return vw.len;
}

/* Copies map in to out with key's value replaced by val (val NULL: key removed; key absent:
 * inserted in order). Returns the new length. */
static size_t edit_map(uint8_t *out, size_t cap, const uint8_t *in, size_t len, uint64_t key,
                       const uint8_t *val, size_t vlen)
{
    struct {
        uint64_t k;
        ul_span v;
    } kv[40];
    size_t m = 0;
    size_t n;
    bool done = false;
    ul_cbor_reader r;
    ul_cbor_reader_init(&r, in, len, 0);
    assert_int_equal(ul_cbor_enter_map(&r, &n), UL_OK);
    for (size_t i = 0; i < n; i++) {
        uint64_t k;
        ul_span v;
        ul_cbor_type t;
        assert_int_equal(ul_cbor_read_uint(&r, &k), UL_OK);
        assert_int_equal(ul_cbor_skip(&r, &v, &t), UL_OK);
        if (!done && k >= key) {
            done = true;
            if (val) {
                kv[m].k = key;
                kv[m++].v = (ul_span){val, vlen};
            }
            if (k == key) {
                continue;
            }
        }
        kv[m].k = k;
        kv[m++].v = v;
    }
    if (!done && val) {
        kv[m].k = key;
        kv[m++].v = (ul_span){val, vlen};
    }
    ul_cbor_writer w;
    ul_cbor_writer_init(&w, out, cap);
    ul_cbor_put_map(&w, m);
    for (size_t i = 0; i < m; i++) {
        ul_cbor_put_uint(&w, kv[i].k);
        ul_cbor_put_raw(&w, kv[i].v);
    }
    assert_int_equal(w.err, UL_OK);
    return w.len;
}

/* ---- Fixed examples (the golden vectors encode exactly these) ---------------------------- */

enum {
    R_RELEASE,
    R_REGISTER,
    R_TX,
    R_VALSET,
    R_GENESIS,
    R_HEADER,
    R_VOTE,
    R_COMMIT,
    R_BLOCK,
    R_INCLUSION,
    R_CONSISTENCY,
    R_BUNDLE,
    R_COUNT
};

static const char *const rec_names[R_COUNT] = {
    "release", "register", "tx",    "valset",    "genesis",     "header",
    "vote",    "commit",   "block", "inclusion", "consistency", "bundle",
};

static void ex_release(ul_release *r)
{
    memset(r, 0, sizeof *r);
    r->ns = S("acme/router-x1");
    r->provider = S("ACME Networks");
    r->time = 1700000000;
    r->version = S("2.4.1");
    r->seq = 42;
    fill(r->digest, sizeof r->digest, 0xd0);
    r->size = 1048576;
    r->file = S("router-x1-2.4.1.bin");
    r->n_links = 2;
    r->links[0] = S("https://mirror.example.com/acme/router-x1-2.4.1.bin");
    r->links[1] = S("http://10.0.0.1/fw.bin");
    r->n_hw = 2;
    r->hw[0] = S("rx1-revA");
    r->hw[1] = S("rx1-revB");
    r->n_deps = 1;
    r->deps[0].ns = S("acme/bootloader");
    r->deps[0].constraint = S(">=1.2.0");
    r->kind = UL_KIND_SECURITY;
    r->has_precursor = true;
    fill(r->precursor, sizeof r->precursor, 0xa0);
    r->has_enc = true;
    r->enc.alg = 1;
    r->enc.chunk = 65536;
    r->enc.n_keys = 2;
    r->enc.keys[0].hw = S("rx1-revA");
    fill(r->enc.keys[0].sealed, UL_SEALED_KEY_BYTES, 0x10);
    r->enc.keys[1].hw = S("rx1-revB");
    fill(r->enc.keys[1].sealed, UL_SEALED_KEY_BYTES, 0x60);
}

static void ex_register(ul_register *r)
{
    memset(r, 0, sizeof *r);
    r->ns = S("acme/router-x1");
    r->nonce = 1;
    r->n_owners = 2;
    memset(r->owners[0], 0x11, 32);
    memset(r->owners[1], 0x22, 32);
    r->n_publishers = 1;
    memset(r->publishers[0], 0x33, 32);
}

static void ex_valset(ul_valset *s)
{
    memset(s, 0, sizeof *s);
    s->n = 4;
    for (size_t i = 0; i < 4; i++) {
        memset(s->v[i].pubkey, (int)(0x41 + i), 32);
        s->v[i].power = 10 * (i + 1);
    }
}

static void ex_genesis(ul_genesis *g)
{
    memset(g, 0, sizeof *g);
    g->version = 1;
    g->name = S("upledger-testnet");
    g->time_ms = 1700000000000ULL;
    ex_valset(&g->validators);
}

static void ex_header(ul_header *h)
{
    memset(h, 0, sizeof *h);
    h->version = 1;
    fill(h->chain_id, 32, 0xc0);
    h->height = 7;
    h->time_ms = 1700000123456ULL;
    fill(h->prev, 32, 0x70);
    fill(h->tx_root, 32, 0x71);
    fill(h->log_root, 32, 0x72);
    h->log_size = 42;
    fill(h->state_root, 32, 0x73);
    fill(h->validators_hash, 32, 0x74);
    fill(h->next_validators_hash, 32, 0x75);
    memset(h->proposer, 0x41, 32);
}

static void ex_vote(ul_vote *v)
{
    memset(v, 0, sizeof *v);
    v->type = UL_VOTE_PRECOMMIT;
    v->height = 7;
    v->round = 0;
    fill(v->block_hash, 32, 0xb0);
    v->time_ms = 1700000123999ULL;
}

static void ex_commit(ul_commit *c)
{
    memset(c, 0, sizeof *c);
    c->height = 7;
    c->round = 0;
    fill(c->block_hash, 32, 0xb0);
    c->n_sigs = 3;
    const uint64_t idx[3] = {0, 1, 3};
    for (size_t i = 0; i < 3; i++) {
        c->sigs[i].index = idx[i];
        c->sigs[i].time_ms = 1700000123999ULL + i;
        fill(c->sigs[i].sig, 64, (uint8_t)(0x50 + 0x10 * i));
    }
}

static void ex_inclusion(ul_inclusion *p)
{
    memset(p, 0, sizeof *p);
    p->index = 5;
    p->size = 42;
    p->n_path = 6;
    for (size_t i = 0; i < 6; i++) {
        fill(p->path[i], 32, (uint8_t)(0xe0 + i));
    }
}

static void ex_consistency(ul_consistency *p)
{
    memset(p, 0, sizeof *p);
    p->size1 = 20;
    p->size2 = 42;
    p->n_path = 4;
    for (size_t i = 0; i < 4; i++) {
        fill(p->path[i], 32, (uint8_t)(0xf0 + i));
    }
}

/* Encoded examples that others embed, in static buffers. */
static uint8_t e_release[UL_MAX_RECORD_BYTES], e_register[512], e_header[512];
static uint8_t e_tx_pub[UL_MAX_TX_BYTES], e_tx_reg[UL_MAX_TX_BYTES], e_commit[UL_MAX_COMMIT_BYTES];
static uint8_t e_valset[UL_MAX_VALSET_BYTES], e_inclusion[4096];
static size_t n_release, n_register, n_header, n_tx_pub, n_tx_reg, n_commit, n_valset,
    n_inclusion;

static void ex_tx(ul_tx *t, bool publish)
{
    memset(t, 0, sizeof *t);
    t->kind = publish ? UL_TX_PUBLISH : UL_TX_REGISTER;
    t->body = publish ? (ul_span){e_release, n_release} : (ul_span){e_register, n_register};
    t->n_sigs = publish ? 1 : 2;
    for (size_t i = 0; i < t->n_sigs; i++) {
        memset(t->sigs[i].pubkey, publish ? 0x33 : 0x11 * (int)(i + 1), 32);
        fill(t->sigs[i].sig, 64, (uint8_t)(publish ? 0x90 : 0x20 + 0x40 * i));
    }
}

static void ex_bundle(ul_bundle *b)
{
    memset(b, 0, sizeof *b);
    b->version = 1;
    b->header = (ul_span){e_header, n_header};
    b->commit = (ul_span){e_commit, n_commit};
    b->valset = (ul_span){e_valset, n_valset};
    b->leaf = (ul_span){e_tx_pub, n_tx_pub};
    b->inclusion = (ul_span){e_inclusion, n_inclusion};
}

static void build_parts(void)
{
    ul_release rel;
    ul_register reg;
    ul_header h;
    ul_tx t;
    ul_commit c;
    ul_valset s;
    ul_inclusion p;
    ex_release(&rel);
    assert_int_equal(ul_schema_release_encode(e_release, sizeof e_release, &n_release, &rel),
                     UL_OK);
    ex_register(&reg);
    assert_int_equal(ul_schema_register_encode(e_register, sizeof e_register, &n_register, &reg),
                     UL_OK);
    ex_header(&h);
    assert_int_equal(ul_schema_header_encode(e_header, sizeof e_header, &n_header, &h), UL_OK);
    ex_tx(&t, true);
    assert_int_equal(ul_schema_tx_encode(e_tx_pub, sizeof e_tx_pub, &n_tx_pub, &t), UL_OK);
    ex_tx(&t, false);
    assert_int_equal(ul_schema_tx_encode(e_tx_reg, sizeof e_tx_reg, &n_tx_reg, &t), UL_OK);
    ex_commit(&c);
    assert_int_equal(ul_schema_commit_encode(e_commit, sizeof e_commit, &n_commit, &c), UL_OK);
    ex_valset(&s);
    assert_int_equal(ul_schema_valset_encode(e_valset, sizeof e_valset, &n_valset, &s), UL_OK);
    ex_inclusion(&p);
    assert_int_equal(ul_schema_inclusion_encode(e_inclusion, sizeof e_inclusion, &n_inclusion, &p),
                     UL_OK);
}

/* Encodes the fixed example of record id into out[0..cap). */
static ul_err ex_encode(int id, uint8_t *out, size_t cap, size_t *len)
{
    static union {
        ul_release rel;
        ul_register reg;
        ul_tx tx;
        ul_valset vs;
        ul_genesis gen;
        ul_header hdr;
        ul_vote vote;
        ul_commit com;
        ul_inclusion inc;
        ul_consistency con;
        ul_bundle bun;
    } u;
    build_parts();
    const ul_span txs[2] = {{e_tx_reg, n_tx_reg}, {e_tx_pub, n_tx_pub}};
    switch (id) {
    case R_RELEASE:
        ex_release(&u.rel);
        return ul_schema_release_encode(out, cap, len, &u.rel);
    case R_REGISTER:
        ex_register(&u.reg);
        return ul_schema_register_encode(out, cap, len, &u.reg);
    case R_TX:
        ex_tx(&u.tx, true);
        return ul_schema_tx_encode(out, cap, len, &u.tx);
    case R_VALSET:
        ex_valset(&u.vs);
        return ul_schema_valset_encode(out, cap, len, &u.vs);
    case R_GENESIS:
        ex_genesis(&u.gen);
        return ul_schema_genesis_encode(out, cap, len, &u.gen);
    case R_HEADER:
        ex_header(&u.hdr);
        return ul_schema_header_encode(out, cap, len, &u.hdr);
    case R_VOTE:
        ex_vote(&u.vote);
        return ul_schema_vote_encode(out, cap, len, &u.vote);
    case R_COMMIT:
        ex_commit(&u.com);
        return ul_schema_commit_encode(out, cap, len, &u.com);
    case R_BLOCK:
        return ul_schema_block_encode(out, cap, len, (ul_span){e_header, n_header}, txs, 2);
    case R_INCLUSION:
        ex_inclusion(&u.inc);
        return ul_schema_inclusion_encode(out, cap, len, &u.inc);
    case R_CONSISTENCY:
        ex_consistency(&u.con);
        return ul_schema_consistency_encode(out, cap, len, &u.con);
    case R_BUNDLE:
        ex_bundle(&u.bun);
        return ul_schema_bundle_encode(out, cap, len, &u.bun);
    }
    return UL_E_INTERNAL;
}

/* Decodes in as record id, then re-encodes it into out (when out is not NULL). */
static ul_err any_decode(int id, const uint8_t *in, size_t len, uint8_t *out, size_t cap,
                         size_t *olen)
{
    static union {
        ul_release rel;
        ul_register reg;
        ul_tx tx;
        ul_valset vs;
        ul_genesis gen;
        ul_header hdr;
        ul_vote vote;
        ul_commit com;
        ul_inclusion inc;
        ul_consistency con;
        ul_bundle bun;
        ul_block blk;
    } u;
    static ul_span txs[16];
    ul_err e = UL_E_INTERNAL;
    switch (id) {
#define DEC(R, name, m)                                                                            \
    case R:                                                                                        \
        e = ul_schema_##name##_decode(&u.m, in, len);                                              \
        if (e == UL_OK && out) {                                                                   \
            e = ul_schema_##name##_encode(out, cap, olen, &u.m);                                   \
        }                                                                                          \
        break;
        DEC(R_RELEASE, release, rel)
        DEC(R_REGISTER, register, reg)
        DEC(R_TX, tx, tx)
        DEC(R_VALSET, valset, vs)
        DEC(R_GENESIS, genesis, gen)
        DEC(R_HEADER, header, hdr)
        DEC(R_VOTE, vote, vote)
        DEC(R_COMMIT, commit, com)
        DEC(R_INCLUSION, inclusion, inc)
        DEC(R_CONSISTENCY, consistency, con)
        DEC(R_BUNDLE, bundle, bun)
#undef DEC
    case R_BLOCK:
        e = ul_schema_block_decode(&u.blk, txs, 16, in, len);
        if (e == UL_OK && out) {
            e = ul_schema_block_encode(out, cap, olen, u.blk.header, u.blk.txs, u.blk.n_txs);
        }
        break;
    }
    return e;
}

static size_t example(int id, uint8_t *out)
{
    size_t len = 0;
    assert_int_equal(ex_encode(id, out, BIG, &len), UL_OK);
    return len;
}

/* ---- Golden vectors ---------------------------------------------------------------------- */

static void golden_path(char *path, size_t cap, const char *name)
{
    const char *dir = getenv("UL_VECTORS_DIR");
    snprintf(path, cap, "%s/golden/%s.hex", dir ? dir : "tests/vectors", name);
}

/* Reads a one-line lowercase hex file into out; returns its byte count. */
static size_t golden_read(const char *name, uint8_t *out, size_t cap)
{
    char path[512];
    golden_path(path, sizeof path, name);
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        fail_msg("cannot open %s (run from the repository root or set UL_VECTORS_DIR)", path);
    }
    size_t n = 0;
    int hi = -1;
    int c;
    while ((c = fgetc(f)) != EOF) {
        int v = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
        if (c == '\n') {
            continue;
        }
        assert_true(v >= 0); /* lowercase hex only */
        if (hi < 0) {
            hi = v;
        } else {
            assert_true(n < cap);
            out[n++] = (uint8_t)(hi << 4 | v);
            hi = -1;
        }
    }
    fclose(f);
    assert_int_equal(hi, -1);
    return n;
}

static void golden_write(const char *name, const uint8_t *b, size_t n)
{
    char path[512];
    golden_path(path, sizeof path, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    for (size_t i = 0; i < n; i++) {
        fprintf(f, "%02x", b[i]);
    }
    fprintf(f, "\n");
    fclose(f);
}

static void test_golden(void **state)
{
    static uint8_t enc[BIG], gold[BIG], re[BIG];
    for (int id = 0; id < R_COUNT; id++) {
        size_t n = example(id, enc);
        if (getenv("UL_WRITE_GOLDEN")) {
            golden_write(rec_names[id], enc, n);
        }
        size_t g = golden_read(rec_names[id], gold, sizeof gold);
        if (g != n || memcmp(gold, enc, n) != 0) {
            fail_msg("%s: encoding differs from tests/vectors/golden/%s.hex", rec_names[id],
                     rec_names[id]);
        }
        size_t rn = 0;
        assert_int_equal(any_decode(id, gold, g, re, sizeof re, &rn), UL_OK);
        assert_int_equal(rn, g);
        assert_memory_equal(re, gold, g);
        /* libcbor's own (allocating) loader, independent of our reader, agrees it is one item. */
        struct cbor_load_result res;
        cbor_item_t *item = cbor_load(gold, g, &res);
        assert_non_null(item);
        assert_int_equal(res.error.code, CBOR_ERR_NONE);
        assert_int_equal(res.read, g);
        cbor_decref(&item);
    }
}

/* ---- Properties every record has --------------------------------------------------------- */

static void test_truncation_every_prefix(void **state)
{
    static uint8_t enc[BIG];
    for (int id = 0; id < R_COUNT; id++) {
        size_t n = example(id, enc);
        for (size_t k = 0; k < n; k++) {
            /* An exact-size copy, so a sanitizer sees any read past the input. */
            uint8_t *p = malloc(k ? k : 1);
            assert_non_null(p);
            memcpy(p, enc, k);
            ul_err e = any_decode(id, p, k, NULL, 0, NULL);
            free(p);
            if (e != UL_E_CBOR_MALFORMED) {
                fail_msg("%s prefix %zu/%zu: %s", rec_names[id], k, n, ul_err_name(e));
            }
        }
    }
}

static void test_buffer_every_cap(void **state)
{
    static uint8_t enc[BIG];
    for (int id = 0; id < R_COUNT; id++) {
        size_t n = example(id, enc);
        for (size_t cap = 0; cap < n; cap++) {
            uint8_t *out = malloc(cap ? cap : 1);
            size_t len = 99;
            assert_non_null(out);
            ul_err e = ex_encode(id, cap ? out : NULL, cap, &len);
            free(out);
            if (e != UL_E_BUFFER || len != 0) {
                fail_msg("%s cap %zu/%zu: %s", rec_names[id], cap, n, ul_err_name(e));
            }
        }
        uint8_t *out = malloc(n);
        size_t len = 0;
        assert_int_equal(ex_encode(id, out, n, &len), UL_OK);
        assert_int_equal(len, n);
        assert_memory_equal(out, enc, n);
        free(out);
    }
}

static void test_trailing_and_empty(void **state)
{
    static uint8_t enc[BIG];
    for (int id = 0; id < R_COUNT; id++) {
        size_t n = example(id, enc);
        enc[n] = 0x00;
        assert_int_equal(any_decode(id, enc, n + 1, NULL, 0, NULL), UL_E_CBOR_TRAILING);
        enc[n] = 0xa0;
        assert_int_equal(any_decode(id, enc, n + 1, NULL, 0, NULL), UL_E_CBOR_TRAILING);
        assert_int_equal(any_decode(id, enc, 0, NULL, 0, NULL), UL_E_CBOR_MALFORMED);
        assert_int_equal(any_decode(id, NULL, 0, NULL, 0, NULL), UL_E_CBOR_MALFORMED);
    }
}

/* Every single-byte change of a valid encoding either fails cleanly or decodes to something
 * that re-encodes to exactly the changed bytes (canonical form is unique). */
static void test_byte_flips(void **state)
{
    static uint8_t enc[BIG], re[BIG];
    static const uint8_t deltas[] = {0x01, 0x20, 0x80, 0xff};
    for (int id = 0; id < R_COUNT; id++) {
        size_t n = example(id, enc);
        for (size_t i = 0; i < n; i++) {
            for (size_t d = 0; d < sizeof deltas; d++) {
                enc[i] ^= deltas[d];
                size_t rn = 0;
                ul_err e = any_decode(id, enc, n, re, sizeof re, &rn);
                if (e == UL_OK && (rn != n || memcmp(re, enc, n) != 0)) {
                    fail_msg("%s: flip at %zu re-encodes differently", rec_names[id], i);
                }
                enc[i] ^= deltas[d];
            }
        }
    }
}

/* ---- Error names and spans --------------------------------------------------------------- */

static void test_err_names(void **state)
{
    size_t count = 0;
#define CHECK_(name, num, msg)                                                                     \
    assert_string_equal(ul_err_name(name), #name);                                                 \
    assert_string_equal(ul_err_str(name), msg);                                                    \
    assert_int_equal((int)name, num);                                                              \
    count++;
    UL_ERR_LIST(CHECK_)
#undef CHECK_
    assert_int_equal(count, 48);
    assert_string_equal(ul_err_name((ul_err)9999), "UL_E_UNKNOWN");
    assert_string_equal(ul_err_str((ul_err)9999), "unknown error");
    assert_string_equal(ul_err_name((ul_err)-1), "UL_E_UNKNOWN");
    assert_string_equal(ul_err_str((ul_err)48), "unknown error");
}

static void test_spans(void **state)
{
    ul_span a = S("abc");
    assert_int_equal(a.len, 3);
    assert_true(ul_span_eq_str(a, "abc"));
    assert_false(ul_span_eq_str(a, "abd"));
    assert_false(ul_span_eq_str(a, "ab"));
    assert_false(ul_span_eq_str(a, "abcd"));
    assert_true(ul_span_eq(a, (ul_span){(const uint8_t *)"xabc" + 1, 3}));
    assert_true(ul_span_eq((ul_span){NULL, 0}, S("")));
    assert_int_equal(S(NULL).len, 0);
    assert_false(ul_span_eq(S("a"), S("")));
}

/* ---- Reader and writer ------------------------------------------------------------------- */

static void test_uint_heads(void **state)
{
    static const struct {
        uint64_t v;
        size_t head;
    } cases[] = {{0, 1},          {23, 1},          {24, 2},          {255, 2},
                 {256, 3},        {65535, 3},       {65536, 5},       {0xffffffffu, 5},
                 {1ULL << 32, 9}, {UINT64_MAX, 9}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t b[16];
        ul_cbor_writer *w = vbegin();
        ul_cbor_put_uint(w, cases[i].v);
        assert_int_equal(vend(), cases[i].head);
        ul_cbor_reader r;
        uint64_t v;
        ul_cbor_reader_init(&r, vbuf, vw.len, 0);
        assert_int_equal(ul_cbor_read_uint(&r, &v), UL_OK);
        assert_int_equal(v, cases[i].v);
        assert_int_equal(ul_cbor_done(&r), UL_OK);
        /* Every wider head for the same value is rejected. */
        static const uint8_t ai[] = {24, 25, 26, 27};
        static const size_t wide[] = {1, 2, 4, 8};
        for (size_t k = 0; k < 4; k++) {
            if (wide[k] + 1 <= cases[i].head) {
                continue;
            }
            b[0] = ai[k];
            for (size_t j = 0; j < wide[k]; j++) {
                b[1 + j] = (uint8_t)(cases[i].v >> (8 * (wide[k] - 1 - j)));
            }
            ul_cbor_reader_init(&r, b, 1 + wide[k], 0);
            assert_int_equal(ul_cbor_read_uint(&r, &v), UL_E_CBOR_NONCANONICAL);
        }
    }
}

static void test_reader_classes(void **state)
{
    static const struct {
        const char *hex;
        ul_err want;
    } cases[] = {
        {"20", UL_E_CBOR_TYPE},           {"38 18", UL_E_CBOR_TYPE},
        {"c0 00", UL_E_CBOR_TYPE},        {"d8 18 00", UL_E_CBOR_TYPE},
        {"f4", UL_E_CBOR_TYPE},           {"f5", UL_E_CBOR_TYPE},
        {"f6", UL_E_CBOR_TYPE},           {"f7", UL_E_CBOR_TYPE},
        {"f8 20", UL_E_CBOR_TYPE},        {"f9 3c 00", UL_E_CBOR_TYPE},
        {"fa 3f 80 00 00", UL_E_CBOR_TYPE}, {"fb 3f f0 00 00 00 00 00 00", UL_E_CBOR_TYPE},
        {"ff", UL_E_CBOR_MALFORMED},      {"1c", UL_E_CBOR_MALFORMED},
        {"1f", UL_E_CBOR_MALFORMED},      {"5c", UL_E_CBOR_MALFORMED},
        {"5f 41 00 ff", UL_E_CBOR_NONCANONICAL}, {"7f 61 61 ff", UL_E_CBOR_NONCANONICAL},
        {"9f ff", UL_E_CBOR_NONCANONICAL}, {"bf ff", UL_E_CBOR_NONCANONICAL},
        {"18", UL_E_CBOR_MALFORMED},      {"19 01", UL_E_CBOR_MALFORMED},
        {"1b 00 00 00 01 00 00 00", UL_E_CBOR_MALFORMED},
        {"42 00", UL_E_CBOR_MALFORMED},   {"5b ff ff ff ff ff ff ff ff", UL_E_CBOR_MALFORMED},
        {"58 01 00", UL_E_CBOR_NONCANONICAL}, {"59 00 01 00", UL_E_CBOR_NONCANONICAL},
        {"78 01 61", UL_E_CBOR_NONCANONICAL}, {"98 01 00", UL_E_CBOR_NONCANONICAL},
        {"b8 01 00 00", UL_E_CBOR_NONCANONICAL}, {"62 c3 28", UL_E_CBOR_MALFORMED},
        {"9b ff ff ff ff ff ff ff ff", UL_E_CBOR_MALFORMED}, {"83 00 00", UL_E_CBOR_MALFORMED},
        {"a2 01 00", UL_E_CBOR_MALFORMED},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bytes *b = hb(cases[i].hex);
        ul_cbor_reader r;
        ul_span sp;
        ul_cbor_type t;
        ul_cbor_reader_init(&r, b->b, b->n, 0);
        ul_err e = ul_cbor_skip(&r, &sp, &t);
        if (e != cases[i].want) {
            fail_msg("%s: got %s, want %s", cases[i].hex, ul_err_name(e),
                     ul_err_name(cases[i].want));
        }
    }
}

static void test_skip_maps_and_depth(void **state)
{
    static const struct {
        const char *hex;
        ul_err want;
    } cases[] = {
        {"a2 01 00 02 00", UL_OK},
        {"a2 02 00 01 00", UL_E_CBOR_NONCANONICAL},
        {"a2 01 00 01 00", UL_E_SCHEMA_FIELD},
        {"a1 61 61 00", UL_E_CBOR_TYPE},
        {"a1 41 61 00", UL_E_CBOR_TYPE},
        {"a1 80 00", UL_E_CBOR_TYPE},
        {"a1 01 a2 05 00 03 00", UL_E_CBOR_NONCANONICAL},
        {"82 a1 02 00 a1 01 00", UL_OK}, /* key order is per map */
        {"81 81 81 81 81 81 81 80", UL_OK},
        {"81 81 81 81 81 81 81 81 80", UL_E_LIMIT},
        {"a1 00 a1 00 a1 00 a1 00 a1 00 a1 00 a1 00 a0", UL_OK},
        {"a1 00 a1 00 a1 00 a1 00 a1 00 a1 00 a1 00 a1 00 a0", UL_E_LIMIT},
        {"62 c3 a9", UL_OK},
        {"64 f0 9f 98 80", UL_OK},
        {"62 c0 80", UL_E_CBOR_MALFORMED},
        {"63 ed a0 80", UL_E_CBOR_MALFORMED},
        {"64 f4 90 80 80", UL_E_CBOR_MALFORMED},
        {"63 e0 80 80", UL_E_CBOR_MALFORMED},
        {"61 80", UL_E_CBOR_MALFORMED},
        {"62 e2 82", UL_E_CBOR_MALFORMED},
        {"63 e2 82 ac", UL_OK},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bytes *b = hb(cases[i].hex);
        ul_cbor_reader r;
        ul_span sp;
        ul_cbor_type t;
        ul_cbor_reader_init(&r, b->b, b->n, 0);
        ul_err e = ul_cbor_skip(&r, &sp, &t);
        if (e != cases[i].want) {
            fail_msg("%s: got %s, want %s", cases[i].hex, ul_err_name(e),
                     ul_err_name(cases[i].want));
        }
        if (e == UL_OK) {
            assert_int_equal(sp.len, b->n);
            assert_int_equal(ul_cbor_done(&r), UL_OK);
        }
    }
}

static void test_writer(void **state)
{
    uint8_t out[8];
    ul_cbor_writer w;
    ul_cbor_writer_init(&w, out, sizeof out);
    ul_cbor_put_bytes(&w, (const uint8_t *)"abcdefg", 7); /* 1 + 7 = 8: fits exactly */
    assert_int_equal(w.err, UL_OK);
    assert_int_equal(w.len, 8);
    ul_cbor_put_uint(&w, 0);
    assert_int_equal(w.err, UL_E_BUFFER);
    ul_cbor_writer_init(&w, out, sizeof out);
    ul_cbor_put_text(&w, S("abcdefgh"));
    assert_int_equal(w.err, UL_E_BUFFER);
    ul_cbor_writer_init(&w, NULL, 0);
    ul_cbor_put_map(&w, 0);
    assert_int_equal(w.err, UL_E_BUFFER);
    ul_cbor_writer_init(&w, out, sizeof out);
    ul_cbor_put_bytes(&w, NULL, 3);
    assert_int_equal(w.err, UL_E_ARG);
    ul_cbor_writer_init(&w, out, sizeof out);
    ul_cbor_put_array(&w, 24);
    ul_cbor_put_map(&w, 256);
    assert_int_equal(w.err, UL_OK);
    assert_int_equal(w.len, 5);
    assert_memory_equal(out, "\x98\x18\xb9\x01\x00", 5);
}

static void test_utf8(void **state)
{
    static const struct {
        const char *s;
        bool ok;
    } cases[] = {
        {"", true},           {"plain", true},      {"\xc3\xa9", true},
        {"\xe2\x82\xac", true}, {"\xf0\x9f\x98\x80", true}, {"\xf4\x8f\xbf\xbf", true},
        {"\xc0\xaf", false},  {"\xc1\xbf", false},  {"\xe0\x9f\xbf", false},
        {"\xed\xa0\x80", false}, {"\xf0\x8f\xbf\xbf", false}, {"\xf4\x90\x80\x80", false},
        {"\xf5\x80\x80\x80", false}, {"\x80", false}, {"\xc3", false},
        {"\xe2\x28\xa1", false}, {"\xff", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bool ok = ul_cbor_utf8_valid((const uint8_t *)cases[i].s, strlen(cases[i].s));
        if (ok != cases[i].ok) {
            fail_msg("utf8 case %zu", i);
        }
    }
}

/* ---- Hand-made records: every rejection class on the smallest record (a vote) ------------- */

#define VOTE_OK "a5 01 02 02 07 03 00 04 H32 05 1a 00 01 00 00"

static void test_vote_handmade(void **state)
{
    static const struct {
        const char *hex;
        ul_err want;
    } cases[] = {
        {VOTE_OK, UL_OK},
        {"a5 01 01 02 07 03 00 04 H32 05 00", UL_OK},
        {"a5 01 18 02 02 07 03 00 04 H32 05 00", UL_E_CBOR_NONCANONICAL},
        {"a5 01 02 02 19 00 07 03 00 04 H32 05 00", UL_E_CBOR_NONCANONICAL},
        {"a5 01 02 02 07 03 00 04 H32 05 1a 00 00 ff ff", UL_E_CBOR_NONCANONICAL},
        {"a5 01 02 02 07 03 00 04 H32 05 1b 00 00 00 00 00 01 00 00", UL_E_CBOR_NONCANONICAL},
        {"b8 05 01 02 02 07 03 00 04 H32 05 00", UL_E_CBOR_NONCANONICAL},
        {"a5 18 01 02 02 07 03 00 04 H32 05 00", UL_E_CBOR_NONCANONICAL},
        {"a5 01 02 02 07 03 00 04 59 00 20 B32 05 00", UL_E_CBOR_NONCANONICAL},
        {"a5 01 02 02 07 03 00 04 5a 00 00 00 20 B32 05 00", UL_E_CBOR_NONCANONICAL},
        {"bf 01 02 02 07 03 00 04 H32 05 00 ff", UL_E_CBOR_NONCANONICAL},
        {"a5 02 07 01 02 03 00 04 H32 05 00", UL_E_CBOR_NONCANONICAL},
        {"a5 01 02 02 07 04 H32 03 00 05 00", UL_E_CBOR_NONCANONICAL},
        {"a5 01 02 01 02 03 00 04 H32 05 00", UL_E_SCHEMA_FIELD},
        {"a6 01 02 02 07 03 00 04 H32 05 00 06 00", UL_E_SCHEMA_FIELD},
        {"a5 01 02 02 07 03 00 04 H32 06 00", UL_E_SCHEMA_FIELD},
        {"a5 00 00 01 02 02 07 03 00 04 H32", UL_E_SCHEMA_FIELD},
        {"a4 01 02 02 07 04 H32 05 00", UL_E_SCHEMA_FIELD},
        {"a4 01 02 02 07 03 00 04 H32", UL_E_SCHEMA_FIELD},
        {"a0", UL_E_SCHEMA_FIELD},
        {"a5 01 02 02 41 07 03 00 04 H32 05 00", UL_E_CBOR_TYPE},
        {"a5 01 02 02 07 03 00 04 78 20 A32 05 00", UL_E_CBOR_TYPE},
        {"a5 01 02 02 07 03 00 04 78 20 B32 05 00", UL_E_CBOR_MALFORMED},
        {"a5 01 80 02 07 03 00 04 H32 05 00", UL_E_CBOR_TYPE},
        {"a5 01 c1 02 02 07 03 00 04 H32 05 00", UL_E_CBOR_TYPE},
        {"c1 a5 01 02 02 07 03 00 04 H32 05 00", UL_E_CBOR_TYPE},
        {"a5 01 02 02 07 03 f9 00 00 04 H32 05 00", UL_E_CBOR_TYPE},
        {"a5 01 02 02 07 03 fb 00 00 00 00 00 00 00 00 04 H32 05 00", UL_E_CBOR_TYPE},
        {"a5 01 02 02 07 03 f4 04 H32 05 00", UL_E_CBOR_TYPE},
        {"a5 01 02 02 07 03 f6 04 H32 05 00", UL_E_CBOR_TYPE},
        {"a5 01 02 02 07 03 20 04 H32 05 00", UL_E_CBOR_TYPE},
        {"a5 01 02 02 27 03 00 04 H32 05 00", UL_E_CBOR_TYPE},
        {"a5 61 01 02 02 07 03 00 04 H32 05 00", UL_E_CBOR_TYPE},
        {"a5 20 02 02 07 03 00 04 H32 05 00", UL_E_CBOR_TYPE},
        {"85 01 02 03 04 05", UL_E_CBOR_TYPE},
        {"a5 01 03 02 07 03 00 04 H32 05 00", UL_E_SCHEMA_FIELD},
        {"a5 01 00 02 07 03 00 04 H32 05 00", UL_E_SCHEMA_FIELD},
        {"a5 01 02 02 07 03 00 04 40 05 00", UL_E_SCHEMA_FIELD},
        {"a5 01 02 02 07 03 00 04 5f 58 20 H32 ff 05 00", UL_E_CBOR_NONCANONICAL},
        {"a5 01 02 02 07 03 00 04 H32 05 00 00", UL_E_CBOR_TRAILING},
        {"a5 01 02 02 07 03 00 04 H32 05 1c", UL_E_CBOR_MALFORMED},
        {"a5 01 02 02 07 03 00 04 H32 05 ff", UL_E_CBOR_MALFORMED},
        {"b9 ff ff 01", UL_E_CBOR_MALFORMED},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bytes *b = hb(cases[i].hex);
        ul_vote v;
        ul_err e = ul_schema_vote_decode(&v, b->b, b->n);
        if (e != cases[i].want) {
            fail_msg("case %zu %s: got %s, want %s", i, cases[i].hex, ul_err_name(e),
                     ul_err_name(cases[i].want));
        }
    }
    /* A wrong-length hash: 31 bytes in a well-formed string. */
    bytes b = {.n = 0};
    bh(&b, "a5 01 02 02 07 03 00 04 58 1f");
    brep(&b, 0xbb, 31);
    bh(&b, "05 00");
    ul_vote v;
    assert_int_equal(ul_schema_vote_decode(&v, b.b, b.n), UL_E_SCHEMA_FIELD);
    b.n = 0;
    bh(&b, "a5 01 02 02 07 03 00 04 53");
    brep(&b, 0xbb, 19);
    bh(&b, "05 00");
    assert_int_equal(ul_schema_vote_decode(&v, b.b, b.n), UL_E_SCHEMA_FIELD);
    b.n = 0;
    bh(&b, "a5 01 02 02 07 03 00 04 58 21");
    brep(&b, 0xbb, 33);
    bh(&b, "05 00");
    assert_int_equal(ul_schema_vote_decode(&v, b.b, b.n), UL_E_SCHEMA_FIELD);
}

static void test_vote_fields(void **state)
{
    ul_vote v, d;
    uint8_t out[128];
    size_t n;
    bytes *b = hb(VOTE_OK);
    assert_int_equal(ul_schema_vote_decode(&d, b->b, b->n), UL_OK);
    assert_int_equal(d.type, 2);
    assert_int_equal(d.height, 7);
    assert_int_equal(d.round, 0);
    assert_int_equal(d.time_ms, 65536);
    assert_int_equal(d.block_hash[31], 0xbb);
    assert_int_equal(ul_schema_vote_encode(out, sizeof out, &n, &d), UL_OK);
    assert_int_equal(n, b->n);
    assert_memory_equal(out, b->b, n);
    ex_vote(&v);
    for (uint64_t t = 0; t < 5; t++) {
        v.type = t;
        ul_err want = (t == 1 || t == 2) ? UL_OK : UL_E_SCHEMA_FIELD;
        assert_int_equal(ul_schema_vote_encode(out, sizeof out, &n, &v), want);
    }
    v.type = 1;
    v.height = v.round = v.time_ms = UINT64_MAX;
    assert_int_equal(ul_schema_vote_encode(out, sizeof out, &n, &v), UL_OK);
    assert_int_equal(ul_schema_vote_decode(&d, out, n), UL_OK);
    assert_memory_equal(&d, &v, sizeof v);
    assert_int_equal(ul_schema_vote_encode(out, sizeof out, NULL, &v), UL_E_ARG);
    assert_int_equal(ul_schema_vote_decode(NULL, out, n), UL_E_ARG);
}
