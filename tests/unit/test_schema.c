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
    R_POLICY,
    R_SET_POLICY,
    R_APPROVE,
    R_REVOKE,
    R_ROTATE,
    R_TRANSFER,
    R_APPROVALS,
    R_DEVICE,
    R_COUNT
};

static const char *const rec_names[R_COUNT] = {
    "release", "register", "tx",        "valset",      "genesis",      "header",     "vote",
    "commit",  "block",    "inclusion", "consistency", "policy",       "set_policy", "approve",
    "revoke",  "rotate",   "transfer",  "approvals",   "device_state",
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
    r->enc.chunk = 4096;
    r->enc.n_keys = 2;
    r->enc.keys[0].hw = S("rx1-revA");
    static uint8_t sealed0[UL_SEALED_KEY_BYTES], sealed1[UL_SEALED_KEY_BYTES];
    fill(sealed0, UL_SEALED_KEY_BYTES, 0x10);
    r->enc.keys[0].sealed = (ul_span){sealed0, UL_SEALED_KEY_BYTES};
    r->enc.keys[1].hw = S("rx1-revB");
    fill(sealed1, UL_SEALED_KEY_BYTES, 0x60);
    r->enc.keys[1].sealed = (ul_span){sealed1, UL_SEALED_KEY_BYTES};
}

/* A key set of n keys, key i being 32 bytes of first + i (ascending when first + n <= 0x100). */
static void ex_keyset(ul_keyset *k, size_t n, uint8_t first, uint64_t threshold)
{
    memset(k, 0, sizeof *k);
    k->n = n;
    for (size_t i = 0; i < n && i < UL_MAX_KEYS; i++) {
        memset(k->keys[i], first + (int)i, 32);
    }
    k->threshold = threshold;
}

/* Every field of a policy in use: two owners (2 of 2), one publisher, two co-signer roles,
 * requirements for two update kinds, two hardware classes, a role and the owners as revokers
 * and an end of support. */
static void ex_policy(ul_policy *p)
{
    memset(p, 0, sizeof *p);
    ex_keyset(&p->owners, 2, 0x11, 2);
    ex_keyset(&p->publishers, 1, 0x33, 1);
    p->n_roles = 2;
    p->roles[0].name = S("certifier");
    ex_keyset(&p->roles[0].keys, 2, 0x44, 1);
    p->roles[1].name = S("enterprise");
    ex_keyset(&p->roles[1].keys, 1, 0x66, 1);
    p->n_require = 2;
    p->require[0].kind = UL_KIND_SECURITY;
    p->require[0].n = 2;
    p->require[0].roles[0] = S("certifier");
    p->require[0].roles[1] = S("enterprise");
    p->require[1].kind = UL_KIND_FEATURE;
    p->require[1].n = 1;
    p->require[1].roles[0] = S("certifier");
    p->n_hw = 2;
    p->hw[0] = S("rx1-revA");
    p->hw[1] = S("rx1-revB");
    p->n_revokers = 2;
    p->revokers[0] = S("certifier");
    p->revokers[1] = S("owners");
    p->has_eos = true;
    p->eos = 1893456000; /* 2030-01-01 */
}

/* The smallest policy: one owner, one publisher, no roles, any hardware, owners revoke. */
static void ex_policy_min(ul_policy *p)
{
    memset(p, 0, sizeof *p);
    ex_keyset(&p->owners, 1, 0x11, 1);
    ex_keyset(&p->publishers, 1, 0x33, 1);
    p->n_revokers = 1;
    p->revokers[0] = S("owners");
}

static void ex_register(ul_register *r)
{
    memset(r, 0, sizeof *r);
    r->ns = S("acme/router-x1");
    r->nonce = 1;
    ex_policy(&r->policy);
}

static void ex_set_policy(ul_set_policy *v)
{
    memset(v, 0, sizeof *v);
    v->ns = S("acme/router-x1");
    v->nonce = 2;
    ex_policy(&v->policy);
    v->policy.has_eos = false; /* the optional field absent */
    v->policy.n_hw = 0;        /* any hardware class */
}

static void ex_approve(ul_approve *v)
{
    memset(v, 0, sizeof *v);
    fill(v->release, 32, 0xd0);
    v->role = S("certifier");
    v->nonce = 3;
}

static void ex_revoke(ul_revoke *v)
{
    memset(v, 0, sizeof *v);
    fill(v->release, 32, 0xd0);
    v->reason = S("CVE-2031-0001: remote code execution");
    v->nonce = 4;
}

static void ex_rotate(ul_rotate *v)
{
    memset(v, 0, sizeof *v);
    v->ns = S("acme/router-x1");
    v->nonce = 5;
    v->target = S("publishers");
    ex_keyset(&v->keys, 2, 0x77, 2);
}

static void ex_transfer(ul_transfer *v)
{
    memset(v, 0, sizeof *v);
    v->ns = S("acme/router-x1");
    v->nonce = 6;
    ex_keyset(&v->owners, 1, 0x99, 1);
    ex_keyset(&v->publishers, 2, 0xaa, 1);
}

/* A device with two components: a confirmed bootloader (slot 1 never written) and a router
 * image in trial in slot 1, started once. */
static void ex_device(ul_device_state *st)
{
    memset(st, 0, sizeof *st);
    st->version = 1;
    fill(st->chain_id, UL_HASH_BYTES, 0x10);
    fill(st->valset_hash, UL_HASH_BYTES, 0x30);
    st->height = 9;
    fill(st->header_hash, UL_HASH_BYTES, 0x50);
    memcpy(st->hw, "rx1-revA", 8);
    st->hw_len = 8;
    st->n_components = 2;
    ul_component *c = &st->comp[0];
    memcpy(c->ns, "acme/bootloader", 15);
    c->ns_len = 15;
    c->slot[0] = (ul_slot){.seq = 3, .size = 65536, .version_len = 3};
    fill(c->slot[0].digest, UL_HASH_BYTES, 0x70);
    memcpy(c->slot[0].version, "2.1", 3);
    c = &st->comp[1];
    memcpy(c->ns, "acme/router-x1", 14);
    c->ns_len = 14;
    c->active = 1;
    c->trial = true;
    c->boots = 1;
    c->slot[0] = (ul_slot){.seq = 41, .size = 1048000, .version_len = 5};
    fill(c->slot[0].digest, UL_HASH_BYTES, 0x90);
    memcpy(c->slot[0].version, "2.4.0", 5);
    c->slot[1] = (ul_slot){.seq = 42, .size = 1048576, .version_len = 5};
    fill(c->slot[1].digest, UL_HASH_BYTES, 0xd0);
    memcpy(c->slot[1].version, "2.4.1", 5);
}

static void ex_approvals(ul_approvals *a)
{
    memset(a, 0, sizeof *a);
    a->n = 2;
    a->roles[0].role = S("certifier");
    a->roles[0].n = 2;
    memset(a->roles[0].keys[0], 0x44, 32);
    memset(a->roles[0].keys[1], 0x45, 32);
    a->roles[1].role = S("enterprise");
    a->roles[1].n = 1;
    memset(a->roles[1].keys[0], 0x66, 32);
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
static uint8_t e_release[UL_MAX_RECORD_BYTES], e_register[UL_MAX_RECORD_BYTES], e_header[512];
static uint8_t e_tx_pub[UL_MAX_TX_BYTES], e_tx_reg[UL_MAX_TX_BYTES], e_valset[UL_MAX_VALSET_BYTES];
static size_t n_release, n_register, n_header, n_tx_pub, n_tx_reg, n_valset;

static void ex_tx(ul_tx *t, bool publish)
{
    memset(t, 0, sizeof *t);
    t->kind = publish ? UL_TX_PUBLISH : UL_TX_REGISTER;
    t->body = publish ? (ul_span){e_release, n_release} : (ul_span){e_register, n_register};
    t->n_sigs = publish ? 1 : 2;
    for (size_t i = 0; i < t->n_sigs; i++) {
        memset(t->sigs[i].pubkey, publish ? 0x33 : 0x11 + (int)i, 32); /* the signers own it */
        fill(t->sigs[i].sig, 64, (uint8_t)(publish ? 0x90 : 0x20 + 0x40 * i));
    }
}

static void build_parts(void)
{
    ul_release rel;
    ul_register reg;
    ul_header h;
    ul_tx t;
    ul_valset s;
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
    ex_valset(&s);
    assert_int_equal(ul_schema_valset_encode(e_valset, sizeof e_valset, &n_valset, &s), UL_OK);
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
        ul_policy pol;
        ul_set_policy set;
        ul_approve apr;
        ul_revoke rev;
        ul_rotate rot;
        ul_transfer xfer;
        ul_approvals aps;
        ul_device_state dev;
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
    case R_POLICY:
        ex_policy(&u.pol);
        return ul_schema_policy_encode(out, cap, len, &u.pol);
    case R_SET_POLICY:
        ex_set_policy(&u.set);
        return ul_schema_set_policy_encode(out, cap, len, &u.set);
    case R_APPROVE:
        ex_approve(&u.apr);
        return ul_schema_approve_encode(out, cap, len, &u.apr);
    case R_REVOKE:
        ex_revoke(&u.rev);
        return ul_schema_revoke_encode(out, cap, len, &u.rev);
    case R_ROTATE:
        ex_rotate(&u.rot);
        return ul_schema_rotate_encode(out, cap, len, &u.rot);
    case R_TRANSFER:
        ex_transfer(&u.xfer);
        return ul_schema_transfer_encode(out, cap, len, &u.xfer);
    case R_APPROVALS:
        ex_approvals(&u.aps);
        return ul_schema_approvals_encode(out, cap, len, &u.aps);
    case R_DEVICE:
        ex_device(&u.dev);
        return ul_schema_device_state_encode(out, cap, len, &u.dev);
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
        ul_block blk;
        ul_policy pol;
        ul_set_policy set;
        ul_approve apr;
        ul_revoke rev;
        ul_rotate rot;
        ul_transfer xfer;
        ul_approvals aps;
        ul_device_state dev;
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
        DEC(R_POLICY, policy, pol)
        DEC(R_SET_POLICY, set_policy, set)
        DEC(R_APPROVE, approve, apr)
        DEC(R_REVOKE, revoke, rev)
        DEC(R_ROTATE, rotate, rot)
        DEC(R_TRANSFER, transfer, xfer)
        DEC(R_APPROVALS, approvals, aps)
        DEC(R_DEVICE, device_state, dev)
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
    int max = -1;
#define CHECK_(name, num, msg)                                                                     \
    assert_string_equal(ul_err_name(name), #name);                                                 \
    assert_string_equal(ul_err_str(name), msg);                                                    \
    assert_int_equal((int)name, num);                                                              \
    assert_int_equal(num, max + 1); /* appended in order: no gap, no reuse */                      \
    max = num;                                                                                     \
    count++;
    UL_ERR_LIST(CHECK_)
#undef CHECK_
    /* Codes 0..71 existed when this was written; the list only ever grows. */
    assert_true(count >= 72);
    assert_int_equal(count, (size_t)max + 1);
    assert_string_equal(ul_err_name((ul_err)9999), "UL_E_UNKNOWN");
    assert_string_equal(ul_err_str((ul_err)9999), "unknown error");
    assert_string_equal(ul_err_name((ul_err)-1), "UL_E_UNKNOWN");
    assert_string_equal(ul_err_str((ul_err)(max + 1)), "unknown error");
    assert_string_equal(ul_err_name((ul_err)(max + 1)), "UL_E_UNKNOWN");
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
    } cases[] = {{0, 1},     {23, 1},    {24, 2},          {255, 2},        {256, 3},
                 {65535, 3}, {65536, 5}, {0xffffffffu, 5}, {1ULL << 32, 9}, {UINT64_MAX, 9}};
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
        {"20", UL_E_CBOR_TYPE},
        {"38 18", UL_E_CBOR_TYPE},
        {"c0 00", UL_E_CBOR_TYPE},
        {"d8 18 00", UL_E_CBOR_TYPE},
        {"f4", UL_E_CBOR_TYPE},
        {"f5", UL_E_CBOR_TYPE},
        {"f6", UL_E_CBOR_TYPE},
        {"f7", UL_E_CBOR_TYPE},
        {"f8 20", UL_E_CBOR_TYPE},
        {"f9 3c 00", UL_E_CBOR_TYPE},
        {"fa 3f 80 00 00", UL_E_CBOR_TYPE},
        {"fb 3f f0 00 00 00 00 00 00", UL_E_CBOR_TYPE},
        {"ff", UL_E_CBOR_MALFORMED},
        {"1c", UL_E_CBOR_MALFORMED},
        {"1f", UL_E_CBOR_MALFORMED},
        {"5c", UL_E_CBOR_MALFORMED},
        {"5f 41 00 ff", UL_E_CBOR_NONCANONICAL},
        {"7f 61 61 ff", UL_E_CBOR_NONCANONICAL},
        {"9f ff", UL_E_CBOR_NONCANONICAL},
        {"bf ff", UL_E_CBOR_NONCANONICAL},
        {"18", UL_E_CBOR_MALFORMED},
        {"19 01", UL_E_CBOR_MALFORMED},
        {"1b 00 00 00 01 00 00 00", UL_E_CBOR_MALFORMED},
        {"42 00", UL_E_CBOR_MALFORMED},
        {"5b ff ff ff ff ff ff ff ff", UL_E_CBOR_MALFORMED},
        {"58 01 00", UL_E_CBOR_NONCANONICAL},
        {"59 00 01 00", UL_E_CBOR_NONCANONICAL},
        {"78 01 61", UL_E_CBOR_NONCANONICAL},
        {"98 01 00", UL_E_CBOR_NONCANONICAL},
        {"b8 01 00 00", UL_E_CBOR_NONCANONICAL},
        {"62 c3 28", UL_E_CBOR_MALFORMED},
        {"9b ff ff ff ff ff ff ff ff", UL_E_CBOR_MALFORMED},
        {"83 00 00", UL_E_CBOR_MALFORMED},
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
        {"", true},
        {"plain", true},
        {"\xc3\xa9", true},
        {"\xe2\x82\xac", true},
        {"\xf0\x9f\x98\x80", true},
        {"\xf4\x8f\xbf\xbf", true},
        {"\xc0\xaf", false},
        {"\xc1\xbf", false},
        {"\xe0\x9f\xbf", false},
        {"\xed\xa0\x80", false},
        {"\xf0\x8f\xbf\xbf", false},
        {"\xf4\x90\x80\x80", false},
        {"\xf5\x80\x80\x80", false},
        {"\x80", false},
        {"\xc3", false},
        {"\xe2\x28\xa1", false},
        {"\xff", false},
        /* Around the eight-bytes-at-a-time ASCII scan: exact words, a tail, a bad byte or a
         * sequence starting or cut at each side of a word boundary. */
        {"12345678", true},
        {"1234567812345678", true},
        {"123456781", true},
        {"1234567\xff", false},
        {"12345678\xff", false},
        {"123456789\xff", false},
        {"123456781234567\x80", false},
        {"1234567\xc3\xa9", true},
        {"12345678\xc3\xa9"
         "abcdefgh",
         true},
        {"12345678abcdefg\xc3", false},
        {"12345678\xe2\x82", false},
        {"\xc3\xa9"
         "12345678\xed\xa0\x80",
         false},
        {"\xf0\x9f\x98\x80"
         "abcdefgh\xf0\x9f\x98\x80",
         true},
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

static const struct {
    const char *hex;
    ul_err want;
} vote_cases[] = {
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

static void test_vote_handmade(void **state)
{
    for (size_t i = 0; i < sizeof vote_cases / sizeof vote_cases[0]; i++) {
        bytes *b = hb(vote_cases[i].hex);
        ul_vote v;
        ul_err e = ul_schema_vote_decode(&v, b->b, b->n);
        if (e != vote_cases[i].want) {
            fail_msg("case %zu %s: got %s, want %s", i, vote_cases[i].hex, ul_err_name(e),
                     ul_err_name(vote_cases[i].want));
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

/* ---- Release ----------------------------------------------------------------------------- */

/* Strings for limit tests: prefix, then c up to n bytes, from a pool of buffers. */
static const char *mk(const char *prefix, char c, size_t n)
{
    static char pool[96][1100];
    static size_t next;
    char *s = pool[next++ % 96];
    size_t p = strlen(prefix);
    assert_true(n < sizeof pool[0] && p <= n);
    memcpy(s, prefix, p);
    memset(s + p, c, n - p);
    s[n] = '\0';
    return s;
}

static bool release_eq(const ul_release *a, const ul_release *b)
{
    bool eq = ul_span_eq(a->ns, b->ns) && ul_span_eq(a->provider, b->provider) &&
              a->time == b->time && ul_span_eq(a->version, b->version) && a->seq == b->seq &&
              !memcmp(a->digest, b->digest, 32) && a->size == b->size &&
              ul_span_eq(a->file, b->file) && a->n_links == b->n_links && a->n_hw == b->n_hw &&
              a->n_deps == b->n_deps && a->kind == b->kind &&
              a->has_precursor == b->has_precursor && a->has_enc == b->has_enc;
    for (size_t i = 0; eq && i < a->n_links; i++) {
        eq = ul_span_eq(a->links[i], b->links[i]);
    }
    for (size_t i = 0; eq && i < a->n_hw; i++) {
        eq = ul_span_eq(a->hw[i], b->hw[i]);
    }
    for (size_t i = 0; eq && i < a->n_deps; i++) {
        eq = ul_span_eq(a->deps[i].ns, b->deps[i].ns) &&
             ul_span_eq(a->deps[i].constraint, b->deps[i].constraint);
    }
    if (eq && a->has_precursor) {
        eq = !memcmp(a->precursor, b->precursor, 32);
    }
    if (eq && a->has_enc) {
        eq = a->enc.alg == b->enc.alg && a->enc.chunk == b->enc.chunk &&
             a->enc.n_keys == b->enc.n_keys;
        for (size_t i = 0; eq && i < a->enc.n_keys; i++) {
            eq = ul_span_eq(a->enc.keys[i].hw, b->enc.keys[i].hw) &&
                 ul_span_eq(a->enc.keys[i].sealed, b->enc.keys[i].sealed);
        }
    }
    return eq;
}

/* Encodes r; when that succeeds, checks decode gives r back and re-encoding gives the bytes. */
static ul_err rel_rt(const ul_release *r)
{
    static uint8_t out[BIG], out2[BIG];
    static ul_release d;
    size_t n, n2;
    ul_err e = ul_schema_release_encode(out, sizeof out, &n, r);
    if (e != UL_OK) {
        return e;
    }
    assert_int_equal(ul_schema_release_decode(&d, out, n), UL_OK);
    assert_true(release_eq(r, &d));
    assert_int_equal(ul_schema_release_encode(out2, sizeof out2, &n2, &d), UL_OK);
    assert_int_equal(n2, n);
    assert_memory_equal(out, out2, n);
    return UL_OK;
}

/* Decodes the example release with field key set to the scratch writer's bytes (or removed). */
static ul_err rel_with(uint64_t key, bool remove)
{
    static uint8_t in[BIG], out[BIG];
    static ul_release d;
    size_t vlen = remove ? 0 : vend();
    size_t n = example(R_RELEASE, in);
    n = edit_map(out, sizeof out, in, n, key, remove ? NULL : vbuf, vlen);
    return ul_schema_release_decode(&d, out, n);
}

static void test_release_roundtrip(void **state)
{
    static ul_release r;
    ex_release(&r);
    assert_int_equal(rel_rt(&r), UL_OK);
    r.has_enc = false;
    assert_int_equal(rel_rt(&r), UL_OK);
    r.has_precursor = false;
    r.n_links = 0;
    r.n_deps = 0;
    r.size = 0;
    r.kind = UL_KIND_MAINTENANCE;
    r.time = r.seq = UINT64_MAX;
    assert_int_equal(rel_rt(&r), UL_OK);
    ex_release(&r);
    r.has_precursor = false;
    assert_int_equal(rel_rt(&r), UL_OK);
    /* The fields come back as written. */
    static uint8_t out[BIG];
    static ul_release d;
    size_t n = example(R_RELEASE, out);
    assert_int_equal(ul_schema_release_decode(&d, out, n), UL_OK);
    assert_true(ul_span_eq_str(d.ns, "acme/router-x1"));
    assert_true(ul_span_eq_str(d.links[1], "http://10.0.0.1/fw.bin"));
    assert_true(ul_span_eq_str(d.deps[0].constraint, ">=1.2.0"));
    assert_true(d.has_precursor && d.has_enc);
    assert_int_equal(d.enc.keys[1].sealed.ptr[0], 0x60);
    assert_int_equal(d.seq, 42);
}

static void test_release_optional_fields(void **state)
{
    /* Removing a required key fails; removing 13 or 14 does not. */
    for (uint64_t k = 1; k <= 14; k++) {
        ul_err want = k >= 13 ? UL_OK : UL_E_SCHEMA_FIELD;
        assert_int_equal(rel_with(k, true), want);
    }
    ul_cbor_put_uint(vbegin(), 0);
    assert_int_equal(rel_with(15, false), UL_E_SCHEMA_FIELD);
    ul_cbor_put_uint(vbegin(), 0);
    assert_int_equal(rel_with(0, false), UL_E_SCHEMA_FIELD);
    ul_cbor_put_uint(vbegin(), 0);
    assert_int_equal(rel_with(1000, false), UL_E_SCHEMA_FIELD);
}

static void test_release_labels(void **state)
{
    static ul_release r;
    static const uint64_t label_keys[] = {2, 4, 8};
    for (size_t i = 0; i < 3; i++) {
        ul_cbor_put_text(vbegin(), S(mk("", 'x', 128)));
        assert_int_equal(rel_with(label_keys[i], false), UL_OK);
        ul_cbor_put_text(vbegin(), S(mk("", 'x', 129)));
        assert_int_equal(rel_with(label_keys[i], false), UL_E_LIMIT);
        ul_cbor_put_text(vbegin(), S(""));
        assert_int_equal(rel_with(label_keys[i], false), UL_E_SCHEMA_FIELD);
        ul_cbor_put_text(vbegin(), S("a\tb"));
        assert_int_equal(rel_with(label_keys[i], false), UL_E_SCHEMA_FIELD);
        ul_cbor_put_text(vbegin(), S("a\x7f"));
        assert_int_equal(rel_with(label_keys[i], false), UL_E_SCHEMA_FIELD);
        ul_cbor_put_text(vbegin(), S("caf\xc3\xa9"));
        assert_int_equal(rel_with(label_keys[i], false), UL_E_SCHEMA_FIELD);
        ul_cbor_put_text(vbegin(), S("a\xff"));
        assert_int_equal(rel_with(label_keys[i], false), UL_E_CBOR_MALFORMED);
        ul_cbor_put_bytes(vbegin(), (const uint8_t *)"abc", 3);
        assert_int_equal(rel_with(label_keys[i], false), UL_E_CBOR_TYPE);
        bytes *b = hb("7f 61 41 ff");
        ul_cbor_put_raw(vbegin(), (ul_span){b->b, b->n});
        assert_int_equal(rel_with(label_keys[i], false), UL_E_CBOR_NONCANONICAL);
        b = hb("78 03 61 62 63");
        ul_cbor_put_raw(vbegin(), (ul_span){b->b, b->n});
        assert_int_equal(rel_with(label_keys[i], false), UL_E_CBOR_NONCANONICAL);
    }
    /* The encoder applies the same rules. */
    ex_release(&r);
    r.provider = S(mk("", 'p', 128));
    r.version = S(mk("", 'v', 128));
    r.file = S(mk("", 'f', 128));
    r.deps[0].constraint = S(mk(">=", '9', 128));
    assert_int_equal(rel_rt(&r), UL_OK);
    r.file = S(mk("", 'f', 129));
    assert_int_equal(rel_rt(&r), UL_E_LIMIT);
    r.file = S("");
    assert_int_equal(rel_rt(&r), UL_E_SCHEMA_FIELD);
    r.file = S("a\nb");
    assert_int_equal(rel_rt(&r), UL_E_SCHEMA_FIELD);
    r.file = (ul_span){NULL, 3};
    assert_int_equal(rel_rt(&r), UL_E_ARG);
    ex_release(&r);
    r.deps[0].constraint = S(mk("", 'c', 129));
    assert_int_equal(rel_rt(&r), UL_E_LIMIT);
}

/* A label far past its bound is UL_E_LIMIT even when the caller's buffer could never hold it
 * (it used to be UL_E_BUFFER): the encoder checks the length before it writes the bytes. */
static void test_huge_labels_are_limits(void **state)
{
    static char huge[20001];
    static ul_release r;
    static ul_policy p;
    static ul_revoke rv;
    static uint8_t out[2 * UL_MAX_RECORD_BYTES];
    ul_span h = {(const uint8_t *)huge, sizeof huge - 1};
    size_t n;
    memset(huge, 'x', sizeof huge - 1);
    for (int field = 0; field < 9; field++) {
        ex_release(&r);
        ul_span *at[] = {&r.provider,      &r.version,  &r.file,       &r.ns,
                         &r.hw[0],         &r.links[0], &r.deps[0].ns, &r.deps[0].constraint,
                         &r.enc.keys[0].hw};
        assert_true(r.n_links > 0 && r.n_deps > 0 && r.has_enc && r.enc.n_keys > 0);
        *at[field] = h;
        assert_int_equal(ul_schema_release_encode(out, sizeof out, &n, &r), UL_E_LIMIT);
    }
    ex_policy(&p);
    assert_true(p.n_roles > 0);
    p.roles[0].name = h;
    assert_int_equal(ul_schema_policy_encode(out, sizeof out, &n, &p), UL_E_LIMIT);
    ex_policy(&p);
    p.hw[0] = h;
    p.n_hw = p.n_hw ? p.n_hw : 1;
    assert_int_equal(ul_schema_policy_encode(out, sizeof out, &n, &p), UL_E_LIMIT);
    rv.reason = h;
    assert_int_equal(ul_schema_revoke_encode(out, sizeof out, &n, &rv), UL_E_LIMIT);
    rv.reason = (ul_span){h.ptr, UL_MAX_LABEL_LEN + 1};
    assert_int_equal(ul_schema_revoke_encode(out, sizeof out, &n, &rv), UL_E_LIMIT);
    rv.reason = (ul_span){h.ptr, UL_MAX_LABEL_LEN};
    assert_int_equal(ul_schema_revoke_encode(out, sizeof out, &n, &rv), UL_OK);
}

static void test_release_namespaces(void **state)
{
    static ul_release r;
    ex_release(&r);
    r.ns = S(mk("a/", 'b', 128));
    assert_int_equal(rel_rt(&r), UL_OK);
    r.ns = S(mk("a/", 'b', 129));
    assert_int_equal(rel_rt(&r), UL_E_LIMIT);
    r.ns = S("Acme/x");
    assert_int_equal(rel_rt(&r), UL_E_NS_NAME);
    ex_release(&r);
    r.deps[0].ns = S("acme");
    assert_int_equal(rel_rt(&r), UL_E_NS_NAME);
    r.deps[0].ns = S(mk("a/", 'b', 129));
    assert_int_equal(rel_rt(&r), UL_E_LIMIT);
    ul_cbor_put_text(vbegin(), S("acme//x"));
    assert_int_equal(rel_with(1, false), UL_E_NS_NAME);
    ul_cbor_put_text(vbegin(), S(mk("a/", 'b', 129)));
    assert_int_equal(rel_with(1, false), UL_E_LIMIT);
    ul_cbor_put_bytes(vbegin(), (const uint8_t *)"a/b", 3);
    assert_int_equal(rel_with(1, false), UL_E_CBOR_TYPE);
}

static void test_ns_check(void **state)
{
    static const char *const good[] = {"a/b", "acme/router-x1", "a.b_c-d/0.9", "0/0",
                                       "vendor/product.name_2"};
    static const char *const bad[] = {"",           "a",    "/b",    "a/",    "/",     "a//b",
                                      "a/b/c",      "A/b",  "a/B",   "a b/c", "a/b ",  "a/b\n",
                                      "\xc3\xa9/x", "a\\b", "a:b/c", "a/b@1", "a/b+c", "-/.",
                                      "../x",       "a/..", "./b",   ".a/b",  "a/-b"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        assert_int_equal(ul_schema_ns_check(S(good[i])), UL_OK);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (ul_schema_ns_check(S(bad[i])) != UL_E_NS_NAME) {
            fail_msg("accepted namespace \"%s\"", bad[i]);
        }
    }
    assert_int_equal(ul_schema_ns_check(S(mk("a/", 'b', 128))), UL_OK);
    assert_int_equal(ul_schema_ns_check(S(mk("a/", 'b', 129))), UL_E_NS_NAME);
    assert_int_equal(ul_schema_ns_check((ul_span){(const uint8_t *)"a/b\0", 4}), UL_E_NS_NAME);
    assert_int_equal(ul_schema_ns_check((ul_span){NULL, 0}), UL_E_NS_NAME);
}

static void put_texts(ul_cbor_writer *w, size_t n, size_t len)
{
    ul_cbor_put_array(w, n);
    for (size_t i = 0; i < n; i++) {
        char pre[8];
        snprintf(pre, sizeof pre, "%c%c", 'a' + (int)(i % 26), 'a' + (int)(i / 26));
        ul_cbor_put_text(w, S(mk(pre, 'x', len)));
    }
}

static void test_release_lists(void **state)
{
    static ul_release r;
    /* links: 0..8, each 1..512 bytes (eight of 512 would pass the record's own bound, which
     * test_release_size_limit checks) */
    ex_release(&r);
    r.n_links = UL_MAX_LINKS;
    for (size_t i = 0; i < UL_MAX_LINKS; i++) {
        r.links[i] = S(mk("https://", (char)('a' + i), 400));
    }
    assert_int_equal(rel_rt(&r), UL_OK);
    r.n_links = UL_MAX_LINKS + 1;
    assert_int_equal(rel_rt(&r), UL_E_LIMIT);
    r.n_links = 1;
    r.links[0] = S(mk("https://", 'l', UL_MAX_LINK_LEN));
    assert_int_equal(rel_rt(&r), UL_OK);
    r.links[0] = S(mk("https://", 'l', UL_MAX_LINK_LEN + 1));
    assert_int_equal(rel_rt(&r), UL_E_LIMIT);
    put_texts(vbegin(), UL_MAX_LINKS, 20);
    assert_int_equal(rel_with(9, false), UL_OK);
    put_texts(vbegin(), UL_MAX_LINKS + 1, 20);
    assert_int_equal(rel_with(9, false), UL_E_LIMIT);
    put_texts(vbegin(), 1, UL_MAX_LINK_LEN);
    assert_int_equal(rel_with(9, false), UL_OK);
    put_texts(vbegin(), 1, UL_MAX_LINK_LEN + 1);
    assert_int_equal(rel_with(9, false), UL_E_LIMIT);
    put_texts(vbegin(), 0, 0);
    assert_int_equal(rel_with(9, false), UL_OK);
    bytes *b = hb("9f 61 61 ff");
    ul_cbor_put_raw(vbegin(), (ul_span){b->b, b->n});
    assert_int_equal(rel_with(9, false), UL_E_CBOR_NONCANONICAL);
    b = hb("98 01 61 61");
    ul_cbor_put_raw(vbegin(), (ul_span){b->b, b->n});
    assert_int_equal(rel_with(9, false), UL_E_CBOR_NONCANONICAL);
    b = hb("81 00");
    ul_cbor_put_raw(vbegin(), (ul_span){b->b, b->n});
    assert_int_equal(rel_with(9, false), UL_E_CBOR_TYPE);
    /* hw: 1..16 unique labels (the example's wrapped keys name rx1-revA/B, so drop enc). */
    ex_release(&r);
    r.has_enc = false;
    r.n_hw = UL_MAX_HW;
    for (size_t i = 0; i < UL_MAX_HW; i++) {
        r.hw[i] = S(mk((const char[]){(char)('a' + i), 0}, 'h', UL_MAX_LABEL_LEN));
    }
    assert_int_equal(rel_rt(&r), UL_OK);
    r.n_hw = UL_MAX_HW + 1;
    assert_int_equal(rel_rt(&r), UL_E_LIMIT);
    r.n_hw = 0;
    assert_int_equal(rel_rt(&r), UL_E_SCHEMA_FIELD);
    r.n_hw = 3;
    r.hw[2] = r.hw[0];
    assert_int_equal(rel_rt(&r), UL_E_SCHEMA_FIELD);
    r.hw[2] = S(mk("c", 'h', UL_MAX_LABEL_LEN + 1));
    assert_int_equal(rel_rt(&r), UL_E_LIMIT);
    /* (Decoding keeps the example's enc, whose keys name rx1-revA and rx1-revB.) */
    ul_cbor_writer *w = vbegin();
    ul_cbor_put_array(w, 3);
    ul_cbor_put_text(w, S("rx1-revA"));
    ul_cbor_put_text(w, S("rx1-revB"));
    ul_cbor_put_text(w, S("rx1-revA"));
    assert_int_equal(rel_with(10, false), UL_E_SCHEMA_FIELD);
    w = vbegin();
    ul_cbor_put_array(w, UL_MAX_HW + 1);
    ul_cbor_put_text(w, S("rx1-revA"));
    ul_cbor_put_text(w, S("rx1-revB"));
    for (size_t i = 2; i < UL_MAX_HW + 1; i++) {
        ul_cbor_put_text(w, S(mk((const char[]){(char)('a' + i), 0}, 'h', 10)));
    }
    assert_int_equal(rel_with(10, false), UL_E_LIMIT);
    put_texts(vbegin(), 0, 0);
    assert_int_equal(rel_with(10, false), UL_E_SCHEMA_FIELD);
}

static void put_deps(ul_cbor_writer *w, size_t n)
{
    ul_cbor_put_array(w, n);
    for (size_t i = 0; i < n; i++) {
        ul_cbor_put_array(w, 2);
        ul_cbor_put_text(w, S("acme/lib"));
        ul_cbor_put_text(w, S(">=1"));
    }
}

static void test_release_deps(void **state)
{
    static ul_release r;
    ex_release(&r);
    r.n_deps = UL_MAX_DEPS;
    for (size_t i = 0; i < UL_MAX_DEPS; i++) {
        r.deps[i].ns = S(mk("vendor/", (char)('a' + i), 100));
        r.deps[i].constraint = S(mk(">=", '1', 100));
    }
    assert_int_equal(rel_rt(&r), UL_OK);
    r.n_deps = UL_MAX_DEPS + 1;
    assert_int_equal(rel_rt(&r), UL_E_LIMIT);
    put_deps(vbegin(), UL_MAX_DEPS);
    assert_int_equal(rel_with(11, false), UL_OK);
    put_deps(vbegin(), UL_MAX_DEPS + 1);
    assert_int_equal(rel_with(11, false), UL_E_LIMIT);
    put_deps(vbegin(), 0);
    assert_int_equal(rel_with(11, false), UL_OK);
    static const struct {
        const char *hex;
        ul_err want;
    } cases[] = {
        {"81 82 68 61 63 6d 65 2f 6c 69 62 61 31", UL_OK}, /* [["acme/lib", "1"]] */
        {"81 83 68 61 63 6d 65 2f 6c 69 62 61 31 61 31", UL_E_SCHEMA_FIELD}, /* arity 3 */
        {"81 81 68 61 63 6d 65 2f 6c 69 62", UL_E_SCHEMA_FIELD},             /* arity 1 */
        {"81 82 64 61 63 6d 65 61 31", UL_E_NS_NAME},                        /* "acme" */
        {"81 82 68 61 63 6d 65 2f 6c 69 62 60", UL_E_SCHEMA_FIELD},          /* empty constraint */
        {"81 a2 01 00 02 00", UL_E_CBOR_TYPE},                               /* a map, not a pair */
        {"82 82 68 61 63 6d 65 2f 6c 69 62 61 31", UL_E_CBOR_TYPE}, /* next key read as dep */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bytes *b = hb(cases[i].hex);
        ul_cbor_put_raw(vbegin(), (ul_span){b->b, b->n});
        assert_int_equal(rel_with(11, false), cases[i].want);
    }
}

static void put_enc(ul_cbor_writer *w, uint64_t alg, uint64_t chunk, size_t n_keys)
{
    ul_cbor_put_map(w, 3);
    ul_cbor_put_uint(w, 1);
    ul_cbor_put_uint(w, alg);
    ul_cbor_put_uint(w, 2);
    ul_cbor_put_uint(w, chunk);
    ul_cbor_put_uint(w, 3);
    ul_cbor_put_array(w, n_keys);
    uint8_t sealed[UL_SEALED_KEY_BYTES] = {0};
    for (size_t i = 0; i < n_keys; i++) {
        ul_cbor_put_array(w, 2);
        ul_cbor_put_text(w, S(i % 2 ? "rx1-revB" : "rx1-revA"));
        ul_cbor_put_bytes(w, sealed, sizeof sealed);
    }
}

static void test_release_enc(void **state)
{
    static ul_release r;
    ex_release(&r);
    r.kind = UL_KIND_MAX_ + 1;
    assert_int_equal(rel_rt(&r), UL_E_SCHEMA_FIELD);
    r.kind = UL_KIND_MAX_;
    r.enc.chunk = 1;
    assert_int_equal(rel_rt(&r), UL_OK);
    r.enc.chunk = UL_MAX_ENC_CHUNK;
    assert_int_equal(rel_rt(&r), UL_OK);
    r.enc.chunk = UL_MAX_ENC_CHUNK + 1;
    assert_int_equal(rel_rt(&r), UL_E_SCHEMA_FIELD);
    r.enc.chunk = 0;
    assert_int_equal(rel_rt(&r), UL_E_SCHEMA_FIELD);
    r.enc.chunk = 4096;
    r.enc.alg = 2;
    assert_int_equal(rel_rt(&r), UL_E_SCHEMA_FIELD);
    r.enc.alg = 1;
    r.enc.keys[1].hw = r.enc.keys[0].hw;
    assert_int_equal(rel_rt(&r), UL_E_SCHEMA_FIELD); /* two keys for one class */
    r.enc.keys[1].hw = S("rx1-revC");
    assert_int_equal(rel_rt(&r), UL_E_SCHEMA_FIELD); /* a class the release lacks */
    r.enc.n_keys = 0;
    assert_int_equal(rel_rt(&r), UL_E_SCHEMA_FIELD);
    r.enc.n_keys = UL_MAX_WRAPPED_KEYS + 1;
    assert_int_equal(rel_rt(&r), UL_E_LIMIT);
    /* One wrapped key per hardware class, at the maximum. */
    r.n_hw = UL_MAX_HW;
    r.enc.n_keys = UL_MAX_WRAPPED_KEYS;
    static uint8_t sealed[UL_SEALED_KEY_BYTES];
    for (size_t i = 0; i < UL_MAX_HW; i++) {
        r.hw[i] = S(mk((const char[]){(char)('a' + i), 0}, 'h', 40));
        r.enc.keys[i].hw = r.hw[i];
        r.enc.keys[i].sealed = (ul_span){sealed, sizeof sealed};
    }
    assert_int_equal(rel_rt(&r), UL_OK);
    r.enc.keys[3].sealed.len = UL_SEALED_KEY_BYTES - 1; /* a sealed key of another size */
    assert_int_equal(rel_rt(&r), UL_E_SCHEMA_FIELD);
    r.enc.keys[3].sealed.len = UL_SEALED_KEY_BYTES;
    put_enc(vbegin(), 1, 4096, 2);
    assert_int_equal(rel_with(14, false), UL_OK);
    put_enc(vbegin(), 0, 4096, 2);
    assert_int_equal(rel_with(14, false), UL_E_SCHEMA_FIELD);
    put_enc(vbegin(), 1, 4096, 3);
    assert_int_equal(rel_with(14, false), UL_E_SCHEMA_FIELD);
    put_enc(vbegin(), 1, 4096, UL_MAX_WRAPPED_KEYS + 1);
    assert_int_equal(rel_with(14, false), UL_E_LIMIT);
    put_enc(vbegin(), 1, 4096, 0);
    assert_int_equal(rel_with(14, false), UL_E_SCHEMA_FIELD);
    bytes *b = hb("a2 01 01 02 01"); /* keys missing */
    ul_cbor_put_raw(vbegin(), (ul_span){b->b, b->n});
    assert_int_equal(rel_with(14, false), UL_E_SCHEMA_FIELD);
    b = hb("a4 01 01 02 01 03 80 04 00");
    ul_cbor_put_raw(vbegin(), (ul_span){b->b, b->n});
    assert_int_equal(rel_with(14, false), UL_E_SCHEMA_FIELD);
    b = hb("81 82 68 72 78 31 2d 72 65 76 41 40"); /* sealed key of 0 bytes */
    ul_cbor_writer *w = vbegin();
    ul_cbor_put_map(w, 3);
    ul_cbor_put_uint(w, 1);
    ul_cbor_put_uint(w, 1);
    ul_cbor_put_uint(w, 2);
    ul_cbor_put_uint(w, 64);
    ul_cbor_put_uint(w, 3);
    ul_cbor_put_raw(w, (ul_span){b->b, b->n});
    assert_int_equal(rel_with(14, false), UL_E_SCHEMA_FIELD);
    ul_cbor_put_bytes(vbegin(), r.digest, 31);
    assert_int_equal(rel_with(13, false), UL_E_SCHEMA_FIELD);
    ul_cbor_put_bytes(vbegin(), r.digest, 31);
    assert_int_equal(rel_with(6, false), UL_E_SCHEMA_FIELD);
    ul_cbor_put_uint(vbegin(), 4);
    assert_int_equal(rel_with(12, false), UL_E_SCHEMA_FIELD);
    ul_cbor_put_uint(vbegin(), 3);
    assert_int_equal(rel_with(12, false), UL_OK);
}

/* The whole record is bounded by UL_MAX_RECORD_BYTES: exactly at it, and one byte over. */
static void test_release_size_limit(void **state)
{
    static ul_release r;
    static uint8_t out[BIG];
    size_t n;
    ex_release(&r);
    r.has_enc = false;
    r.n_links = UL_MAX_LINKS;
    for (size_t i = 0; i < UL_MAX_LINKS; i++) {
        r.links[i] = S(mk("https://", (char)('a' + i), 165));
    }
    r.n_deps = UL_MAX_DEPS;
    for (size_t i = 0; i < UL_MAX_DEPS; i++) {
        r.deps[i].ns = S(mk("vendor/", (char)('a' + i), 60));
        r.deps[i].constraint = S(mk(">=", '1', 40));
    }
    r.n_hw = UL_MAX_HW;
    for (size_t i = 0; i < UL_MAX_HW; i++) {
        r.hw[i] = S(mk((const char[]){(char)('a' + i), 0}, 'h', 40));
    }
    /* Tune the last link (its head stays 3 bytes from 256 to 512) to reach the bound. */
    r.links[7] = S(mk("https://", 'z', 300));
    assert_int_equal(ul_schema_release_encode(out, sizeof out, &n, &r), UL_OK);
    size_t len = 300 + (UL_MAX_RECORD_BYTES - n);
    assert_true(len >= 256 && len < UL_MAX_LINK_LEN);
    r.links[7] = S(mk("https://", 'z', len));
    assert_int_equal(ul_schema_release_encode(out, sizeof out, &n, &r), UL_OK);
    assert_int_equal(n, UL_MAX_RECORD_BYTES);
    static ul_release d;
    assert_int_equal(ul_schema_release_decode(&d, out, n), UL_OK);
    r.links[7] = S(mk("https://", 'z', len + 1));
    assert_int_equal(ul_schema_release_encode(out, sizeof out, &n, &r), UL_E_LIMIT);
    assert_int_equal(n, 0);
    memset(out, 0, UL_MAX_RECORD_BYTES + 1);
    assert_int_equal(ul_schema_release_decode(&d, out, UL_MAX_RECORD_BYTES + 1), UL_E_LIMIT);
}

/* ---- Policy (the namespace contract) ------------------------------------------------------ */

static bool keyset_eq(const ul_keyset *a, const ul_keyset *b)
{
    return a->n == b->n && a->threshold == b->threshold && !memcmp(a->keys, b->keys, a->n * 32);
}

static bool labels_eq(const ul_span *a, size_t na, const ul_span *b, size_t nb)
{
    bool eq = na == nb;
    for (size_t i = 0; eq && i < na; i++) {
        eq = ul_span_eq(a[i], b[i]);
    }
    return eq;
}

static bool policy_eq(const ul_policy *a, const ul_policy *b)
{
    bool eq = keyset_eq(&a->owners, &b->owners) && keyset_eq(&a->publishers, &b->publishers) &&
              a->n_roles == b->n_roles && a->n_require == b->n_require &&
              labels_eq(a->hw, a->n_hw, b->hw, b->n_hw) &&
              labels_eq(a->revokers, a->n_revokers, b->revokers, b->n_revokers) &&
              a->has_eos == b->has_eos && (!a->has_eos || a->eos == b->eos);
    for (size_t i = 0; eq && i < a->n_roles; i++) {
        eq = ul_span_eq(a->roles[i].name, b->roles[i].name) &&
             keyset_eq(&a->roles[i].keys, &b->roles[i].keys);
    }
    for (size_t i = 0; eq && i < a->n_require; i++) {
        eq = a->require[i].kind == b->require[i].kind &&
             labels_eq(a->require[i].roles, a->require[i].n, b->require[i].roles, b->require[i].n);
    }
    return eq;
}

/* Encodes p; when that succeeds, checks decode gives p back and re-encoding gives the bytes.
 * A failed encode leaves a zero length. */
static ul_err pol_rt(const ul_policy *p)
{
    static uint8_t out[BIG], out2[BIG];
    static ul_policy d;
    size_t n = 99, n2;
    ul_err e = ul_schema_policy_encode(out, sizeof out, &n, p);
    if (e != UL_OK) {
        assert_int_equal(n, 0);
        return e;
    }
    assert_int_equal(ul_schema_policy_decode(&d, out, n), UL_OK);
    assert_true(policy_eq(p, &d));
    assert_int_equal(ul_schema_policy_encode(out2, sizeof out2, &n2, &d), UL_OK);
    assert_int_equal(n2, n);
    assert_memory_equal(out, out2, n);
    return UL_OK;
}

/* Decodes the example policy with field key set to the scratch writer's bytes (or removed). */
static ul_err pol_with(uint64_t key, bool remove)
{
    static uint8_t in[BIG], out[BIG];
    static ul_policy d;
    size_t vlen = remove ? 0 : vend();
    size_t n = example(R_POLICY, in);
    n = edit_map(out, sizeof out, in, n, key, remove ? NULL : vbuf, vlen);
    return ul_schema_policy_decode(&d, out, n);
}

/* Writes a key set map {1: [n keys from first], 2: threshold} with the scratch writer. */
static void put_keyset(ul_cbor_writer *w, size_t n, uint8_t first, uint64_t threshold)
{
    uint8_t k[32];
    ul_cbor_put_map(w, 2);
    ul_cbor_put_uint(w, 1);
    ul_cbor_put_array(w, n);
    for (size_t i = 0; i < n; i++) {
        memset(k, first + (int)i, 32);
        ul_cbor_put_bytes(w, k, 32);
    }
    ul_cbor_put_uint(w, 2);
    ul_cbor_put_uint(w, threshold);
}

/* Writes a roles array: names[i] each with one key (0x40 + i), threshold 1. */
static void put_roles(ul_cbor_writer *w, const char *const *names, size_t n)
{
    ul_cbor_put_array(w, n);
    for (size_t i = 0; i < n; i++) {
        ul_cbor_put_map(w, 2);
        ul_cbor_put_uint(w, 1);
        ul_cbor_put_text(w, S(names[i]));
        ul_cbor_put_uint(w, 2);
        put_keyset(w, 1, (uint8_t)(0x40 + i), 1);
    }
}

static void put_labels(ul_cbor_writer *w, const char *const *names, size_t n)
{
    ul_cbor_put_array(w, n);
    for (size_t i = 0; i < n; i++) {
        ul_cbor_put_text(w, S(names[i]));
    }
}

/* Role names "role-a", "role-b", ...: sorted in byte order. */
static const char *role_name(size_t i)
{
    return mk((const char[]){'r', 'o', 'l', 'e', '-', (char)('a' + i), 0}, 'x', 6);
}

static void test_policy_roundtrip(void **state)
{
    static ul_policy p;
    ex_policy(&p);
    assert_int_equal(pol_rt(&p), UL_OK);
    /* Optional end of support: absent, and at both ends of its range. */
    p.has_eos = false;
    assert_int_equal(pol_rt(&p), UL_OK);
    p.has_eos = true;
    p.eos = 0;
    assert_int_equal(pol_rt(&p), UL_OK);
    p.eos = UINT64_MAX;
    assert_int_equal(pol_rt(&p), UL_OK);
    ex_policy_min(&p);
    assert_int_equal(pol_rt(&p), UL_OK);
    /* The fields come back as written. */
    static uint8_t out[BIG];
    static ul_policy d;
    size_t n = example(R_POLICY, out);
    assert_int_equal(ul_schema_policy_decode(&d, out, n), UL_OK);
    assert_int_equal(d.owners.n, 2);
    assert_int_equal(d.owners.threshold, 2);
    assert_int_equal(d.owners.keys[1][0], 0x12);
    assert_true(ul_span_eq_str(d.roles[1].name, "enterprise"));
    assert_int_equal(d.require[1].kind, UL_KIND_FEATURE);
    assert_true(ul_span_eq_str(d.require[0].roles[1], "enterprise"));
    assert_true(ul_span_eq_str(d.revokers[1], "owners"));
    assert_true(d.has_eos);
    assert_int_equal(d.eos, 1893456000);
    /* Removing a required key fails; removing 7 (eos) does not. An unknown key fails. */
    for (uint64_t k = 1; k <= 7; k++) {
        assert_int_equal(pol_with(k, true), k == 7 ? UL_OK : UL_E_SCHEMA_FIELD);
    }
    ul_cbor_put_uint(vbegin(), 0);
    assert_int_equal(pol_with(8, false), UL_E_SCHEMA_FIELD);
    ul_cbor_put_text(vbegin(), S("2030"));
    assert_int_equal(pol_with(7, false), UL_E_CBOR_TYPE);
    ul_cbor_put_uint(vbegin(), 1);
    assert_int_equal(pol_with(1, false), UL_E_CBOR_TYPE);
}

/* Thresholds: within 1..number of keys, for owners, publishers and roles alike. */
static void test_policy_thresholds(void **state)
{
    static ul_policy p;
    ul_keyset *sets[3];
    ex_policy(&p);
    sets[0] = &p.owners;
    sets[1] = &p.publishers;
    sets[2] = &p.roles[0].keys;
    for (size_t i = 0; i < 3; i++) {
        ex_policy(&p);
        ul_keyset *k = sets[i];
        k->threshold = 0;
        assert_int_equal(pol_rt(&p), UL_E_POLICY);
        k->threshold = k->n + 1;
        assert_int_equal(pol_rt(&p), UL_E_POLICY);
        k->threshold = k->n;
        assert_int_equal(pol_rt(&p), UL_OK);
        ex_keyset(k, UL_MAX_KEYS, 0x80, UL_MAX_KEYS); /* at the bound */
        assert_int_equal(pol_rt(&p), UL_OK);
        k->threshold = UINT64_MAX;
        assert_int_equal(pol_rt(&p), UL_E_POLICY);
        ex_keyset(k, UL_MAX_KEYS + 1, 0x80, 1); /* one past */
        assert_int_equal(pol_rt(&p), UL_E_LIMIT);
        ex_keyset(k, 0, 0x80, 0);
        assert_int_equal(pol_rt(&p), UL_E_SCHEMA_FIELD);
        ex_keyset(k, 2, 0x80, 1);
        memcpy(k->keys[1], k->keys[0], 32); /* duplicate key */
        assert_int_equal(pol_rt(&p), UL_E_SCHEMA_FIELD);
        memset(k->keys[1], 0x01, 32); /* descending */
        assert_int_equal(pol_rt(&p), UL_E_SCHEMA_FIELD);
    }
    /* On the wire: threshold 0, above the keys, nine keys, a short key, a missing threshold. */
    put_keyset(vbegin(), 2, 0x11, 0);
    assert_int_equal(pol_with(1, false), UL_E_POLICY);
    put_keyset(vbegin(), 2, 0x11, 3);
    assert_int_equal(pol_with(2, false), UL_E_POLICY);
    put_keyset(vbegin(), UL_MAX_KEYS, 0x11, UL_MAX_KEYS);
    assert_int_equal(pol_with(1, false), UL_OK);
    put_keyset(vbegin(), UL_MAX_KEYS + 1, 0x11, 1);
    assert_int_equal(pol_with(1, false), UL_E_LIMIT);
    ul_cbor_writer *w = vbegin();
    ul_cbor_put_map(w, 2);
    ul_cbor_put_uint(w, 1);
    ul_cbor_put_array(w, 1);
    ul_cbor_put_bytes(w, (const uint8_t *)"0123456789012345678901234567890", 31);
    ul_cbor_put_uint(w, 2);
    ul_cbor_put_uint(w, 1);
    assert_int_equal(pol_with(2, false), UL_E_SCHEMA_FIELD);
    w = vbegin();
    ul_cbor_put_map(w, 1);
    ul_cbor_put_uint(w, 1);
    ul_cbor_put_array(w, 1);
    ul_cbor_put_bytes(w, p.owners.keys[0], 32);
    assert_int_equal(pol_with(2, false), UL_E_SCHEMA_FIELD);
}

static void test_policy_roles(void **state)
{
    static ul_policy p;
    /* Reserved names are not roles. */
    static const char *const reserved[] = {"owners", "publishers"};
    for (size_t i = 0; i < 2; i++) {
        ex_policy(&p);
        p.n_roles = 1;
        p.roles[0].name = S(reserved[i]);
        p.n_require = 0;
        p.revokers[0] = S("owners");
        p.n_revokers = 1;
        assert_int_equal(pol_rt(&p), UL_E_POLICY);
        put_roles(vbegin(), &reserved[i], 1);
        assert_int_equal(pol_with(3, false), UL_E_POLICY);
    }
    /* A required role must be defined; so must a revoker that is not owners or publishers. */
    ex_policy(&p);
    p.require[1].roles[0] = S("auditor");
    assert_int_equal(pol_rt(&p), UL_E_POLICY);
    ex_policy(&p);
    p.revokers[0] = S("auditor");
    assert_int_equal(pol_rt(&p), UL_E_POLICY);
    ex_policy(&p);
    p.n_roles = 1; /* "enterprise" gone: security still requires it */
    assert_int_equal(pol_rt(&p), UL_E_POLICY);
    ex_policy(&p);
    p.n_roles = 0;
    p.n_require = 0;
    p.revokers[0] = S("owners");
    p.revokers[1] = S("publishers");
    assert_int_equal(pol_rt(&p), UL_OK);
    put_labels(vbegin(), (const char *const[]){"owners", "publishers"}, 2);
    assert_int_equal(pol_with(6, false), UL_OK);
    put_labels(vbegin(), (const char *const[]){"certifier", "enterprise", "owners", "publishers"},
               4);
    assert_int_equal(pol_with(6, false), UL_OK);
    put_labels(vbegin(), (const char *const[]){"auditor", "owners"}, 2);
    assert_int_equal(pol_with(6, false), UL_E_POLICY);
    /* Roles sorted by name, unique. */
    ex_policy(&p);
    p.roles[0].name = S("enterprise");
    p.roles[1].name = S("certifier");
    assert_int_equal(pol_rt(&p), UL_E_SCHEMA_FIELD);
    p.roles[0].name = S("certifier");
    assert_int_equal(pol_rt(&p), UL_E_SCHEMA_FIELD);
    p.roles[1].name = S("certifier2"); /* a proper prefix sorts first */
    p.require[0].roles[1] = S("certifier2");
    assert_int_equal(pol_rt(&p), UL_OK);
    put_roles(vbegin(), (const char *const[]){"b", "a"}, 2);
    assert_int_equal(pol_with(3, false), UL_E_SCHEMA_FIELD);
    put_roles(vbegin(), (const char *const[]){"a", "a"}, 2);
    assert_int_equal(pol_with(3, false), UL_E_SCHEMA_FIELD);
    /* UL_MAX_ROLES roles, and one past. */
    ex_policy(&p);
    p.n_require = 0;
    p.n_revokers = 1;
    p.revokers[0] = S("owners");
    p.n_roles = UL_MAX_ROLES;
    for (size_t i = 0; i < UL_MAX_ROLES; i++) {
        p.roles[i].name = S(role_name(i));
        ex_keyset(&p.roles[i].keys, 1, (uint8_t)(0x40 + i), 1);
    }
    assert_int_equal(pol_rt(&p), UL_OK);
    p.n_roles = UL_MAX_ROLES + 1;
    assert_int_equal(pol_rt(&p), UL_E_LIMIT);
    /* On the wire, with the example's two roles kept (its requirements name them). */
    const char *names[UL_MAX_ROLES + 1] = {"certifier", "enterprise"};
    for (size_t i = 2; i <= UL_MAX_ROLES; i++) {
        names[i] = role_name(i);
    }
    put_roles(vbegin(), names, UL_MAX_ROLES);
    assert_int_equal(pol_with(3, false), UL_OK);
    put_roles(vbegin(), names, UL_MAX_ROLES + 1);
    assert_int_equal(pol_with(3, false), UL_E_LIMIT);
    put_roles(vbegin(), names, 0);
    assert_int_equal(pol_with(3, false), UL_E_POLICY); /* the requirements name undefined roles */
    /* A role's name is a label; its key set a key set. */
    ex_policy(&p);
    p.roles[0].name = S("");
    assert_int_equal(pol_rt(&p), UL_E_SCHEMA_FIELD);
    p.roles[0].name = S("certifier\n");
    assert_int_equal(pol_rt(&p), UL_E_SCHEMA_FIELD);
    p.roles[0].name = S(mk("a", 'a', UL_MAX_LABEL_LEN + 1));
    assert_int_equal(pol_rt(&p), UL_E_LIMIT);
}

static void test_policy_lists(void **state)
{
    static ul_policy p;
    /* Hardware classes: sorted, unique, 0..UL_MAX_HW. */
    ex_policy(&p);
    p.hw[0] = S("rx1-revB");
    p.hw[1] = S("rx1-revA");
    assert_int_equal(pol_rt(&p), UL_E_SCHEMA_FIELD);
    p.hw[0] = S("rx1-revA");
    assert_int_equal(pol_rt(&p), UL_E_SCHEMA_FIELD);
    p.n_hw = UL_MAX_HW;
    for (size_t i = 0; i < UL_MAX_HW; i++) {
        p.hw[i] = S(mk((const char[]){'h', (char)('a' + i), 0}, 'w', 8));
    }
    assert_int_equal(pol_rt(&p), UL_OK);
    p.n_hw = UL_MAX_HW + 1;
    assert_int_equal(pol_rt(&p), UL_E_LIMIT);
    p.n_hw = 0;
    assert_int_equal(pol_rt(&p), UL_OK);
    put_texts(vbegin(), UL_MAX_HW + 1, 5); /* distinct and sorted, one too many */
    assert_int_equal(pol_with(5, false), UL_E_LIMIT);
    put_labels(vbegin(), (const char *const[]){"b", "a"}, 2);
    assert_int_equal(pol_with(5, false), UL_E_SCHEMA_FIELD);
    put_labels(vbegin(), (const char *const[]){"a", "a"}, 2);
    assert_int_equal(pol_with(5, false), UL_E_SCHEMA_FIELD);
    put_labels(vbegin(), (const char *const[]){"a", "ab", "b"}, 3);
    assert_int_equal(pol_with(5, false), UL_OK);
    /* Revokers: sorted, unique, 1..UL_MAX_ROLES + 2. */
    ex_policy(&p);
    p.revokers[0] = S("owners");
    p.revokers[1] = S("certifier");
    assert_int_equal(pol_rt(&p), UL_E_SCHEMA_FIELD);
    p.revokers[1] = S("owners");
    assert_int_equal(pol_rt(&p), UL_E_SCHEMA_FIELD);
    p.n_revokers = 0;
    assert_int_equal(pol_rt(&p), UL_E_SCHEMA_FIELD);
    put_labels(vbegin(), NULL, 0);
    assert_int_equal(pol_with(6, false), UL_E_SCHEMA_FIELD);
    put_labels(vbegin(), (const char *const[]){"owners", "certifier"}, 2);
    assert_int_equal(pol_with(6, false), UL_E_SCHEMA_FIELD);
    put_labels(vbegin(), (const char *const[]){"owners", "owners"}, 2);
    assert_int_equal(pol_with(6, false), UL_E_SCHEMA_FIELD);
    /* Every set a revoker: UL_MAX_ROLES roles plus owners and publishers; one more is a limit. */
    ex_policy(&p);
    p.n_require = 0;
    p.n_roles = UL_MAX_ROLES;
    p.n_revokers = UL_MAX_ROLES + 2;
    for (size_t i = 0; i < UL_MAX_ROLES; i++) {
        p.roles[i].name = S(mk((const char[]){(char)('a' + i), 0}, 'r', 4));
        ex_keyset(&p.roles[i].keys, 1, (uint8_t)(0x40 + i), 1);
        p.revokers[i] = p.roles[i].name;
    }
    p.revokers[UL_MAX_ROLES] = S("owners");
    p.revokers[UL_MAX_ROLES + 1] = S("publishers");
    assert_int_equal(pol_rt(&p), UL_OK);
    p.n_revokers = UL_MAX_ROLES + 3; /* the encoder stops before reading past the array */
    assert_int_equal(pol_rt(&p), UL_E_LIMIT);
    const char *many[UL_MAX_ROLES + 3];
    for (size_t i = 0; i < UL_MAX_ROLES + 3; i++) {
        many[i] = mk((const char[]){(char)('a' + i), 0}, 'r', 4);
    }
    put_labels(vbegin(), many, UL_MAX_ROLES + 3);
    assert_int_equal(pol_with(6, false), UL_E_LIMIT);
    /* Requirements: sorted by kind, unique, kinds 0..UL_KIND_MAX_, 1..UL_MAX_ROLES role names
     * sorted and unique. */
    ex_policy(&p);
    p.n_require = UL_KIND_MAX_ + 1;
    for (size_t i = 0; i <= UL_KIND_MAX_; i++) {
        p.require[i].kind = i;
        p.require[i].n = 1;
        p.require[i].roles[0] = S("certifier");
    }
    assert_int_equal(pol_rt(&p), UL_OK);
    p.n_require = UL_KIND_MAX_ + 2; /* the encoder stops before reading past the array */
    assert_int_equal(pol_rt(&p), UL_E_LIMIT);
    ex_policy(&p);
    p.require[0].kind = UL_KIND_FEATURE;
    p.require[1].kind = UL_KIND_SECURITY;
    assert_int_equal(pol_rt(&p), UL_E_SCHEMA_FIELD);
    p.require[0].kind = UL_KIND_FEATURE;
    p.require[1].kind = UL_KIND_FEATURE;
    assert_int_equal(pol_rt(&p), UL_E_SCHEMA_FIELD);
    p.require[1].kind = UL_KIND_MAX_ + 1;
    assert_int_equal(pol_rt(&p), UL_E_SCHEMA_FIELD);
    ex_policy(&p);
    p.require[0].roles[0] = S("enterprise");
    p.require[0].roles[1] = S("certifier");
    assert_int_equal(pol_rt(&p), UL_E_SCHEMA_FIELD);
    p.require[0].roles[0] = S("certifier");
    assert_int_equal(pol_rt(&p), UL_E_SCHEMA_FIELD);
    p.require[0].n = 0;
    assert_int_equal(pol_rt(&p), UL_E_SCHEMA_FIELD);
    /* On the wire: an entry that is not a pair, too many entries, too many names. */
    ul_cbor_writer *w = vbegin();
    ul_cbor_put_array(w, 1);
    ul_cbor_put_array(w, 3);
    ul_cbor_put_uint(w, 0);
    put_labels(w, (const char *const[]){"certifier"}, 1);
    ul_cbor_put_uint(w, 0);
    assert_int_equal(pol_with(4, false), UL_E_SCHEMA_FIELD);
    w = vbegin();
    ul_cbor_put_array(w, UL_KIND_MAX_ + 2);
    for (size_t i = 0; i < UL_KIND_MAX_ + 2; i++) {
        ul_cbor_put_array(w, 2);
        ul_cbor_put_uint(w, i);
        put_labels(w, (const char *const[]){"certifier"}, 1);
    }
    assert_int_equal(pol_with(4, false), UL_E_LIMIT);
    w = vbegin();
    ul_cbor_put_array(w, 1);
    ul_cbor_put_array(w, 2);
    ul_cbor_put_uint(w, 0);
    put_labels(w, many, UL_MAX_ROLES + 1);
    assert_int_equal(pol_with(4, false), UL_E_LIMIT);
    w = vbegin();
    ul_cbor_put_array(w, 0);
    assert_int_equal(pol_with(4, false), UL_OK);
}

/* Sets the policy's hardware classes: class i is 'a' + i then 'h' up to len[i] bytes. */
static void size_hw(ul_policy *p, const size_t *len)
{
    static char buf[UL_MAX_HW][UL_MAX_LABEL_LEN + 1];
    p->n_hw = UL_MAX_HW;
    for (size_t i = 0; i < UL_MAX_HW; i++) {
        assert_true(len[i] >= 1 && len[i] <= UL_MAX_LABEL_LEN);
        buf[i][0] = (char)('a' + i);
        memset(buf[i] + 1, 'h', len[i] - 1);
        p->hw[i] = (ul_span){(const uint8_t *)buf[i], len[i]};
    }
}

/* The policy record is bounded by UL_MAX_RECORD_BYTES: exactly at it, and one byte over. Every
 * list at its bound with long labels passes it, so requirements are added until the next name
 * would not fit, and the hardware classes are then lengthened to reach the bound exactly. */
static void test_policy_size_limit(void **state)
{
    static ul_policy p, d;
    static uint8_t out[BIG];
    size_t n, len[UL_MAX_HW];
    ex_policy(&p);
    p.n_require = 0;
    p.n_roles = UL_MAX_ROLES;
    p.n_revokers = UL_MAX_ROLES + 2;
    for (size_t i = 0; i < UL_MAX_ROLES; i++) {
        p.roles[i].name = S(mk((const char[]){(char)('a' + i), 0}, 'r', 40));
        ex_keyset(&p.roles[i].keys, UL_MAX_KEYS, (uint8_t)(0x20 + 8 * i), UL_MAX_KEYS);
        p.revokers[i] = p.roles[i].name;
    }
    p.revokers[UL_MAX_ROLES] = S("owners");
    p.revokers[UL_MAX_ROLES + 1] = S("publishers");
    for (size_t i = 0; i < UL_MAX_HW; i++) {
        len[i] = 30;
    }
    size_hw(&p, len);
    bool full = false;
    for (size_t k = 0; k <= UL_KIND_MAX_ && !full; k++) {
        ul_requirement *q = &p.require[k];
        q->kind = k;
        q->n = 0;
        p.n_require = k + 1;
        for (size_t j = 0; j < UL_MAX_ROLES && !full; j++) {
            q->roles[q->n++] = p.roles[j].name;
            if (ul_schema_policy_encode(out, sizeof out, &n, &p) != UL_OK) {
                q->n--;
                full = true;
            }
        }
        p.n_require = q->n ? k + 1 : k;
    }
    assert_true(full);
    assert_int_equal(ul_schema_policy_encode(out, sizeof out, &n, &p), UL_OK);
    size_t slack = UL_MAX_RECORD_BYTES - n;
    for (size_t i = UL_MAX_HW; i-- > 0 && slack > 0;) {
        size_t add = slack < UL_MAX_LABEL_LEN - len[i] ? slack : UL_MAX_LABEL_LEN - len[i];
        len[i] += add; /* heads stay two bytes from 24 to 255 */
        slack -= add;
    }
    assert_int_equal(slack, 0);
    size_hw(&p, len);
    assert_int_equal(ul_schema_policy_encode(out, sizeof out, &n, &p), UL_OK);
    assert_int_equal(n, UL_MAX_RECORD_BYTES);
    assert_int_equal(ul_schema_policy_decode(&d, out, n), UL_OK);
    assert_true(policy_eq(&p, &d));
    size_t i = 0;
    while (len[i] == UL_MAX_LABEL_LEN) {
        i++;
    }
    len[i]++;
    size_hw(&p, len);
    assert_int_equal(ul_schema_policy_encode(out, sizeof out, &n, &p), UL_E_LIMIT);
    assert_int_equal(n, 0);
    memset(out, 0, UL_MAX_RECORD_BYTES + 1);
    assert_int_equal(ul_schema_policy_decode(&d, out, UL_MAX_RECORD_BYTES + 1), UL_E_LIMIT);
}

/* ---- Register and the other namespace transactions ---------------------------------------- */

static ul_err reg_rt(const ul_register *r)
{
    static uint8_t out[BIG], out2[BIG];
    static ul_register d;
    size_t n, n2;
    ul_err e = ul_schema_register_encode(out, sizeof out, &n, r);
    if (e != UL_OK) {
        return e;
    }
    assert_int_equal(ul_schema_register_decode(&d, out, n), UL_OK);
    assert_true(ul_span_eq(d.ns, r->ns));
    assert_int_equal(d.nonce, r->nonce);
    assert_true(policy_eq(&d.policy, &r->policy));
    assert_int_equal(ul_schema_register_encode(out2, sizeof out2, &n2, &d), UL_OK);
    assert_int_equal(n2, n);
    assert_memory_equal(out, out2, n);
    return UL_OK;
}

static void test_register(void **state)
{
    static ul_register r, d;
    ex_register(&r);
    assert_int_equal(reg_rt(&r), UL_OK);
    r.nonce = UINT64_MAX;
    ex_policy_min(&r.policy);
    assert_int_equal(reg_rt(&r), UL_OK);
    r.nonce = 0;
    assert_int_equal(reg_rt(&r), UL_OK);
    ex_keyset(&r.policy.owners, UL_MAX_KEYS, 0x10, 5);
    ex_keyset(&r.policy.publishers, UL_MAX_KEYS, 0x80, UL_MAX_KEYS);
    assert_int_equal(reg_rt(&r), UL_OK);
    r.policy.owners.n = UL_MAX_KEYS + 1;
    assert_int_equal(reg_rt(&r), UL_E_LIMIT);
    r.policy.owners.n = 0;
    assert_int_equal(reg_rt(&r), UL_E_SCHEMA_FIELD);
    r.policy.owners.n = 2;
    r.policy.owners.threshold = 3;
    assert_int_equal(reg_rt(&r), UL_E_POLICY);
    r.policy.owners.threshold = 2;
    r.policy.publishers.n = 0;
    assert_int_equal(reg_rt(&r), UL_E_SCHEMA_FIELD);
    r.policy.publishers.n = 2;
    r.policy.publishers.threshold = 1;
    memcpy(r.policy.owners.keys[1], r.policy.owners.keys[0], 32); /* duplicate */
    assert_int_equal(reg_rt(&r), UL_E_SCHEMA_FIELD);
    memset(r.policy.owners.keys[1], 0x01, 32); /* descending */
    assert_int_equal(reg_rt(&r), UL_E_SCHEMA_FIELD);
    memset(r.policy.owners.keys[1], 0x10, 32);
    r.policy.owners.keys[1][31] = 0x11; /* ascending in the last byte only */
    assert_int_equal(reg_rt(&r), UL_OK);
    r.ns = S("acme");
    assert_int_equal(reg_rt(&r), UL_E_NS_NAME);
    /* Decoding: the old flat layout (owners and publishers as keys 3 and 4), a policy that is
     * not a map, an inconsistent policy, a missing policy. */
    static uint8_t in[BIG], out[BIG];
    ex_register(&r);
    size_t n = 0;
    assert_int_equal(ul_schema_register_encode(in, sizeof in, &n, &r), UL_OK);
    ul_cbor_writer *w = vbegin();
    ul_cbor_put_array(w, 1);
    ul_cbor_put_bytes(w, r.policy.owners.keys[0], 32);
    size_t m = edit_map(out, sizeof out, in, n, 3, vbuf, vend());
    assert_int_equal(ul_schema_register_decode(&d, out, m), UL_E_CBOR_TYPE);
    m = edit_map(out, sizeof out, in, n, 4, vbuf, vend());
    assert_int_equal(ul_schema_register_decode(&d, out, m), UL_E_SCHEMA_FIELD);
    /* An encoder never writes it: build the policy map by hand from the example's bytes. */
    static uint8_t pol[BIG], pol2[BIG];
    size_t pn = example(R_POLICY, pol);
    put_keyset(vbegin(), 2, 0x11, 0);
    size_t pn2 = edit_map(pol2, sizeof pol2, pol, pn, 1, vbuf, vend());
    m = edit_map(out, sizeof out, in, n, 3, pol2, pn2);
    assert_int_equal(ul_schema_register_decode(&d, out, m), UL_E_POLICY);
    m = edit_map(out, sizeof out, in, n, 3, pol, pn);
    assert_int_equal(ul_schema_register_decode(&d, out, m), UL_OK);
    m = edit_map(out, sizeof out, in, n, 3, NULL, 0);
    assert_int_equal(ul_schema_register_decode(&d, out, m), UL_E_SCHEMA_FIELD);
    ul_cbor_put_uint(vbegin(), 1);
    m = edit_map(out, sizeof out, in, n, 2, vbuf, vend());
    assert_int_equal(ul_schema_register_decode(&d, out, m), UL_OK);
    ul_cbor_put_text(vbegin(), S("1"));
    m = edit_map(out, sizeof out, in, n, 2, vbuf, vend());
    assert_int_equal(ul_schema_register_decode(&d, out, m), UL_E_CBOR_TYPE);
}

static void test_set_policy(void **state)
{
    static ul_set_policy v, d;
    static uint8_t out[BIG], out2[BIG];
    size_t n, n2;
    ex_set_policy(&v);
    assert_int_equal(ul_schema_set_policy_encode(out, sizeof out, &n, &v), UL_OK);
    assert_int_equal(ul_schema_set_policy_decode(&d, out, n), UL_OK);
    assert_true(ul_span_eq_str(d.ns, "acme/router-x1"));
    assert_int_equal(d.nonce, 2);
    assert_true(policy_eq(&d.policy, &v.policy));
    assert_false(d.policy.has_eos);
    assert_int_equal(ul_schema_set_policy_encode(out2, sizeof out2, &n2, &d), UL_OK);
    assert_int_equal(n2, n);
    assert_memory_equal(out, out2, n);
    v.policy.has_eos = true;
    v.policy.eos = 1;
    assert_int_equal(ul_schema_set_policy_encode(out, sizeof out, &n, &v), UL_OK);
    assert_int_equal(ul_schema_set_policy_decode(&d, out, n), UL_OK);
    assert_true(d.policy.has_eos);
    assert_int_equal(d.policy.eos, 1);
    v.policy.require[0].roles[0] = S("auditor");
    assert_int_equal(ul_schema_set_policy_encode(out, sizeof out, &n, &v), UL_E_POLICY);
    assert_int_equal(n, 0);
    ex_set_policy(&v);
    v.ns = S("ACME/x");
    assert_int_equal(ul_schema_set_policy_encode(out, sizeof out, &n, &v), UL_E_NS_NAME);
    ex_set_policy(&v);
    v.policy.n_roles = UL_MAX_ROLES + 1;
    assert_int_equal(ul_schema_set_policy_encode(out, sizeof out, &n, &v), UL_E_LIMIT);
    /* Every field is required. */
    ex_set_policy(&v);
    assert_int_equal(ul_schema_set_policy_encode(out, sizeof out, &n, &v), UL_OK);
    for (uint64_t k = 1; k <= 3; k++) {
        n2 = edit_map(out2, sizeof out2, out, n, k, NULL, 0);
        assert_int_equal(ul_schema_set_policy_decode(&d, out2, n2), UL_E_SCHEMA_FIELD);
    }
    ul_cbor_put_uint(vbegin(), 0);
    n2 = edit_map(out2, sizeof out2, out, n, 4, vbuf, vend());
    assert_int_equal(ul_schema_set_policy_decode(&d, out2, n2), UL_E_SCHEMA_FIELD);
}

/* Approve and revoke share a shape: release id, a label, a nonce. */
static void test_approve_revoke(void **state)
{
    static uint8_t out[BIG], out2[BIG];
    size_t n, n2;
    ul_approve a, ad;
    ex_approve(&a);
    assert_int_equal(ul_schema_approve_encode(out, sizeof out, &n, &a), UL_OK);
    assert_int_equal(ul_schema_approve_decode(&ad, out, n), UL_OK);
    assert_memory_equal(ad.release, a.release, 32);
    assert_true(ul_span_eq_str(ad.role, "certifier"));
    assert_int_equal(ad.nonce, 3);
    assert_int_equal(ul_schema_approve_encode(out2, sizeof out2, &n2, &ad), UL_OK);
    assert_int_equal(n2, n);
    assert_memory_equal(out, out2, n);
    a.role = S("");
    assert_int_equal(ul_schema_approve_encode(out, sizeof out, &n, &a), UL_E_SCHEMA_FIELD);
    a.role = S(mk("r", 'r', UL_MAX_LABEL_LEN));
    a.nonce = UINT64_MAX;
    assert_int_equal(ul_schema_approve_encode(out, sizeof out, &n, &a), UL_OK);
    a.role = S(mk("r", 'r', UL_MAX_LABEL_LEN + 1));
    assert_int_equal(ul_schema_approve_encode(out, sizeof out, &n, &a), UL_E_LIMIT);
    ex_approve(&a);
    assert_int_equal(ul_schema_approve_encode(out, sizeof out, &n, &a), UL_OK);
    ul_cbor_put_bytes(vbegin(), a.release, 31);
    n2 = edit_map(out2, sizeof out2, out, n, 1, vbuf, vend());
    assert_int_equal(ul_schema_approve_decode(&ad, out2, n2), UL_E_SCHEMA_FIELD);
    ul_cbor_put_text(vbegin(), S("x"));
    n2 = edit_map(out2, sizeof out2, out, n, 1, vbuf, vend());
    assert_int_equal(ul_schema_approve_decode(&ad, out2, n2), UL_E_CBOR_TYPE);
    ul_cbor_put_bytes(vbegin(), (const uint8_t *)"certifier", 9);
    n2 = edit_map(out2, sizeof out2, out, n, 2, vbuf, vend());
    assert_int_equal(ul_schema_approve_decode(&ad, out2, n2), UL_E_CBOR_TYPE);
    for (uint64_t k = 1; k <= 3; k++) {
        n2 = edit_map(out2, sizeof out2, out, n, k, NULL, 0);
        assert_int_equal(ul_schema_approve_decode(&ad, out2, n2), UL_E_SCHEMA_FIELD);
    }

    ul_revoke r, rd;
    ex_revoke(&r);
    assert_int_equal(ul_schema_revoke_encode(out, sizeof out, &n, &r), UL_OK);
    assert_int_equal(ul_schema_revoke_decode(&rd, out, n), UL_OK);
    assert_memory_equal(rd.release, r.release, 32);
    assert_true(ul_span_eq(rd.reason, r.reason));
    assert_int_equal(rd.nonce, 4);
    assert_int_equal(ul_schema_revoke_encode(out2, sizeof out2, &n2, &rd), UL_OK);
    assert_int_equal(n2, n);
    assert_memory_equal(out, out2, n);
    r.reason = S("");
    assert_int_equal(ul_schema_revoke_encode(out, sizeof out, &n, &r), UL_E_SCHEMA_FIELD);
    r.reason = S("bad\tbyte");
    assert_int_equal(ul_schema_revoke_encode(out, sizeof out, &n, &r), UL_E_SCHEMA_FIELD);
    r.reason = S(mk("r", 'r', UL_MAX_LABEL_LEN));
    assert_int_equal(ul_schema_revoke_encode(out, sizeof out, &n, &r), UL_OK);
    r.reason = S(mk("r", 'r', UL_MAX_LABEL_LEN + 1));
    assert_int_equal(ul_schema_revoke_encode(out, sizeof out, &n, &r), UL_E_LIMIT);
    ex_revoke(&r);
    assert_int_equal(ul_schema_revoke_encode(out, sizeof out, &n, &r), UL_OK);
    for (uint64_t k = 1; k <= 3; k++) {
        n2 = edit_map(out2, sizeof out2, out, n, k, NULL, 0);
        assert_int_equal(ul_schema_revoke_decode(&rd, out2, n2), UL_E_SCHEMA_FIELD);
    }
    ul_cbor_put_uint(vbegin(), 0);
    n2 = edit_map(out2, sizeof out2, out, n, 4, vbuf, vend());
    assert_int_equal(ul_schema_revoke_decode(&rd, out2, n2), UL_E_SCHEMA_FIELD);
}

static void test_rotate_transfer(void **state)
{
    static uint8_t out[BIG], out2[BIG];
    size_t n, n2;
    static ul_rotate r, rd;
    ex_rotate(&r);
    assert_int_equal(ul_schema_rotate_encode(out, sizeof out, &n, &r), UL_OK);
    assert_int_equal(ul_schema_rotate_decode(&rd, out, n), UL_OK);
    assert_true(ul_span_eq_str(rd.ns, "acme/router-x1"));
    assert_int_equal(rd.nonce, 5);
    assert_true(ul_span_eq_str(rd.target, "publishers"));
    assert_true(keyset_eq(&rd.keys, &r.keys));
    assert_int_equal(ul_schema_rotate_encode(out2, sizeof out2, &n2, &rd), UL_OK);
    assert_int_equal(n2, n);
    assert_memory_equal(out, out2, n);
    /* The target is any label: whether it names a key set is the contract's question. */
    r.target = S("certifier");
    assert_int_equal(ul_schema_rotate_encode(out, sizeof out, &n, &r), UL_OK);
    r.target = S("");
    assert_int_equal(ul_schema_rotate_encode(out, sizeof out, &n, &r), UL_E_SCHEMA_FIELD);
    ex_rotate(&r);
    r.keys.threshold = 0;
    assert_int_equal(ul_schema_rotate_encode(out, sizeof out, &n, &r), UL_E_POLICY);
    r.keys.threshold = 3;
    assert_int_equal(ul_schema_rotate_encode(out, sizeof out, &n, &r), UL_E_POLICY);
    ex_keyset(&r.keys, UL_MAX_KEYS, 0x10, UL_MAX_KEYS);
    assert_int_equal(ul_schema_rotate_encode(out, sizeof out, &n, &r), UL_OK);
    ex_keyset(&r.keys, UL_MAX_KEYS + 1, 0x10, 1);
    assert_int_equal(ul_schema_rotate_encode(out, sizeof out, &n, &r), UL_E_LIMIT);
    ex_rotate(&r);
    r.ns = S("acme/");
    assert_int_equal(ul_schema_rotate_encode(out, sizeof out, &n, &r), UL_E_NS_NAME);
    ex_rotate(&r);
    assert_int_equal(ul_schema_rotate_encode(out, sizeof out, &n, &r), UL_OK);
    for (uint64_t k = 1; k <= 4; k++) {
        n2 = edit_map(out2, sizeof out2, out, n, k, NULL, 0);
        assert_int_equal(ul_schema_rotate_decode(&rd, out2, n2), UL_E_SCHEMA_FIELD);
    }
    put_keyset(vbegin(), UL_MAX_KEYS + 1, 0x10, 1);
    n2 = edit_map(out2, sizeof out2, out, n, 4, vbuf, vend());
    assert_int_equal(ul_schema_rotate_decode(&rd, out2, n2), UL_E_LIMIT);
    put_keyset(vbegin(), 1, 0x10, 2);
    n2 = edit_map(out2, sizeof out2, out, n, 4, vbuf, vend());
    assert_int_equal(ul_schema_rotate_decode(&rd, out2, n2), UL_E_POLICY);

    static ul_transfer t, td;
    ex_transfer(&t);
    assert_int_equal(ul_schema_transfer_encode(out, sizeof out, &n, &t), UL_OK);
    assert_int_equal(ul_schema_transfer_decode(&td, out, n), UL_OK);
    assert_true(ul_span_eq_str(td.ns, "acme/router-x1"));
    assert_int_equal(td.nonce, 6);
    assert_true(keyset_eq(&td.owners, &t.owners));
    assert_true(keyset_eq(&td.publishers, &t.publishers));
    assert_int_equal(ul_schema_transfer_encode(out2, sizeof out2, &n2, &td), UL_OK);
    assert_int_equal(n2, n);
    assert_memory_equal(out, out2, n);
    t.owners.threshold = 2;
    assert_int_equal(ul_schema_transfer_encode(out, sizeof out, &n, &t), UL_E_POLICY);
    ex_transfer(&t);
    t.publishers.n = 0;
    assert_int_equal(ul_schema_transfer_encode(out, sizeof out, &n, &t), UL_E_SCHEMA_FIELD);
    ex_transfer(&t);
    ex_keyset(&t.publishers, UL_MAX_KEYS + 1, 0x10, 1);
    assert_int_equal(ul_schema_transfer_encode(out, sizeof out, &n, &t), UL_E_LIMIT);
    ex_transfer(&t);
    assert_int_equal(ul_schema_transfer_encode(out, sizeof out, &n, &t), UL_OK);
    for (uint64_t k = 1; k <= 4; k++) {
        n2 = edit_map(out2, sizeof out2, out, n, k, NULL, 0);
        assert_int_equal(ul_schema_transfer_decode(&td, out2, n2), UL_E_SCHEMA_FIELD);
    }
    put_keyset(vbegin(), 1, 0x10, 0);
    n2 = edit_map(out2, sizeof out2, out, n, 3, vbuf, vend());
    assert_int_equal(ul_schema_transfer_decode(&td, out2, n2), UL_E_POLICY);
}

/* Encodes a; when that succeeds, checks decode and re-encoding give the same bytes back. */
static ul_err aps_rt(const ul_approvals *a)
{
    static uint8_t out[BIG], out2[BIG];
    static ul_approvals d;
    size_t n = 99, n2;
    ul_err e = ul_schema_approvals_encode(out, sizeof out, &n, a);
    if (e != UL_OK) {
        assert_int_equal(n, 0);
        return e;
    }
    assert_int_equal(ul_schema_approvals_decode(&d, out, n), UL_OK);
    assert_int_equal(d.n, a->n);
    for (size_t i = 0; i < a->n; i++) {
        assert_true(ul_span_eq(d.roles[i].role, a->roles[i].role));
        assert_int_equal(d.roles[i].n, a->roles[i].n);
        assert_memory_equal(d.roles[i].keys, a->roles[i].keys, a->roles[i].n * 32);
    }
    assert_int_equal(ul_schema_approvals_encode(out2, sizeof out2, &n2, &d), UL_OK);
    assert_int_equal(n2, n);
    assert_memory_equal(out, out2, n);
    return UL_OK;
}

static ul_err aps_dec(const char *hex)
{
    static ul_approvals d;
    bytes *b = hb(hex);
    return ul_schema_approvals_decode(&d, b->b, b->n);
}

static void test_approvals(void **state)
{
    static ul_approvals a;
    ex_approvals(&a);
    assert_int_equal(aps_rt(&a), UL_OK);
    a.n = 0;
    assert_int_equal(aps_rt(&a), UL_OK); /* nobody approved yet: [] */
    /* Roles sorted by name, unique. */
    ex_approvals(&a);
    a.roles[0].role = S("enterprise");
    a.roles[1].role = S("certifier");
    assert_int_equal(aps_rt(&a), UL_E_SCHEMA_FIELD);
    a.roles[0].role = S("certifier");
    assert_int_equal(aps_rt(&a), UL_E_SCHEMA_FIELD);
    a.roles[1].role = S("certifier-b");
    assert_int_equal(aps_rt(&a), UL_OK);
    a.roles[1].role = S("");
    assert_int_equal(aps_rt(&a), UL_E_SCHEMA_FIELD);
    /* Keys sorted, unique, 1..UL_MAX_KEYS per role. */
    ex_approvals(&a);
    memset(a.roles[0].keys[1], 0x43, 32);
    assert_int_equal(aps_rt(&a), UL_E_SCHEMA_FIELD);
    memset(a.roles[0].keys[1], 0x44, 32);
    assert_int_equal(aps_rt(&a), UL_E_SCHEMA_FIELD);
    a.roles[0].n = 0;
    assert_int_equal(aps_rt(&a), UL_E_SCHEMA_FIELD);
    a.roles[0].n = UL_MAX_KEYS;
    for (size_t i = 0; i < UL_MAX_KEYS; i++) {
        memset(a.roles[0].keys[i], 0x10 + (int)i, 32);
    }
    assert_int_equal(aps_rt(&a), UL_OK);
    a.roles[0].n = UL_MAX_KEYS + 1;
    assert_int_equal(aps_rt(&a), UL_E_LIMIT);
    /* UL_MAX_ROLES roles, and one past. */
    memset(&a, 0, sizeof a);
    a.n = UL_MAX_ROLES;
    for (size_t i = 0; i < UL_MAX_ROLES; i++) {
        a.roles[i].role = S(role_name(i));
        a.roles[i].n = 1;
        memset(a.roles[i].keys[0], 0x10 + (int)i, 32);
    }
    assert_int_equal(aps_rt(&a), UL_OK);
    a.n = UL_MAX_ROLES + 1;
    assert_int_equal(aps_rt(&a), UL_E_LIMIT);
    /* Hand-made wire forms. */
    assert_int_equal(aps_dec("80"), UL_OK);
    assert_int_equal(aps_dec("81 82 61 63 81 H32"), UL_OK);
    assert_int_equal(aps_dec("81 82 61 63 80"), UL_E_SCHEMA_FIELD);        /* no keys */
    assert_int_equal(aps_dec("81 83 61 63 81 H32 00"), UL_E_SCHEMA_FIELD); /* not a pair */
    assert_int_equal(aps_dec("81 81 61 63"), UL_E_SCHEMA_FIELD);           /* not a pair */
    assert_int_equal(aps_dec("81 82 41 63 81 H32"), UL_E_CBOR_TYPE);       /* role as bytes */
    assert_int_equal(aps_dec("81 82 61 63 H32"), UL_E_CBOR_TYPE);          /* keys not a list */
    assert_int_equal(aps_dec("81 82 61 63 81 58 21 B32"), UL_E_CBOR_MALFORMED); /* short */
    assert_int_equal(aps_dec("82 82 61 63 81 H32 82 61 63 81 H32"), UL_E_SCHEMA_FIELD);
    assert_int_equal(aps_dec("82 82 61 64 81 H32 82 61 63 81 H32"), UL_E_SCHEMA_FIELD);
    assert_int_equal(aps_dec("82 82 61 63 81 H32 82 61 64 81 H32"), UL_OK);
    assert_int_equal(aps_dec("81 82 61 63 82 H32 H32"), UL_E_SCHEMA_FIELD); /* a key twice */
    assert_int_equal(aps_dec("a0"), UL_E_CBOR_TYPE);
    assert_int_equal(aps_dec("9f ff"), UL_E_CBOR_NONCANONICAL);
    assert_int_equal(aps_dec("80 00"), UL_E_CBOR_TRAILING);
    assert_int_equal(aps_dec("98 00"), UL_E_CBOR_NONCANONICAL);
}

/* ---- Signed transaction ------------------------------------------------------------------ */

static void test_tx(void **state)
{
    static ul_tx t, d;
    static uint8_t out[UL_MAX_TX_BYTES + 64], out2[UL_MAX_TX_BYTES + 64];
    size_t n, n2;
    build_parts();
    ex_tx(&t, true);
    assert_int_equal(ul_schema_tx_encode(out, sizeof out, &n, &t), UL_OK);
    assert_int_equal(ul_schema_tx_decode(&d, out, n), UL_OK);
    assert_int_equal(d.kind, UL_TX_PUBLISH);
    assert_true(ul_span_eq(d.body, t.body));
    assert_ptr_equal(d.body.ptr, out + 4); /* a5 01 02 02 | body: embedded, not wrapped */
    assert_int_equal(d.n_sigs, 1);
    assert_memory_equal(d.sigs, t.sigs, sizeof t.sigs[0]);
    /* The body is the kind's record: it decodes with the release decoder. */
    static ul_release rel;
    assert_int_equal(ul_schema_release_decode(&rel, d.body.ptr, d.body.len), UL_OK);
    /* Signatures: 1..8, strictly ascending by key. */
    t.n_sigs = UL_MAX_SIGS;
    for (size_t i = 0; i < UL_MAX_SIGS; i++) {
        memset(t.sigs[i].pubkey, (int)(0x30 + i), 32);
        fill(t.sigs[i].sig, 64, (uint8_t)i);
    }
    assert_int_equal(ul_schema_tx_encode(out, sizeof out, &n, &t), UL_OK);
    assert_int_equal(ul_schema_tx_decode(&d, out, n), UL_OK);
    assert_int_equal(ul_schema_tx_encode(out2, sizeof out2, &n2, &d), UL_OK);
    assert_int_equal(n2, n);
    assert_memory_equal(out, out2, n);
    t.n_sigs = UL_MAX_SIGS + 1;
    assert_int_equal(ul_schema_tx_encode(out, sizeof out, &n, &t), UL_E_LIMIT);
    t.n_sigs = 0;
    assert_int_equal(ul_schema_tx_encode(out, sizeof out, &n, &t), UL_E_SCHEMA_FIELD);
    t.n_sigs = 3;
    memcpy(t.sigs[2].pubkey, t.sigs[1].pubkey, 32);
    assert_int_equal(ul_schema_tx_encode(out, sizeof out, &n, &t), UL_E_SCHEMA_FIELD);
    memset(t.sigs[2].pubkey, 0x00, 32);
    assert_int_equal(ul_schema_tx_encode(out, sizeof out, &n, &t), UL_E_SCHEMA_FIELD);
    t.n_sigs = 1;
    for (uint64_t k = 0; k <= UL_TX_KIND_MAX_ + 2; k++) {
        t.kind = k;
        ul_err want = (k >= UL_TX_REGISTER && k <= UL_TX_KIND_MAX_) ? UL_OK : UL_E_TX_KIND;
        assert_int_equal(ul_schema_tx_encode(out, sizeof out, &n, &t), want);
    }
    t.kind = UL_TX_REGISTER;
    t.body = (ul_span){NULL, 0};
    assert_int_equal(ul_schema_tx_encode(out, sizeof out, &n, &t), UL_E_SCHEMA_FIELD);
    /* Nine signatures on the wire. */
    ex_tx(&t, false);
    assert_int_equal(ul_schema_tx_encode(out, sizeof out, &n, &t), UL_OK);
    ul_cbor_writer *w = vbegin();
    ul_cbor_put_array(w, UL_MAX_SIGS + 1);
    for (size_t i = 0; i < UL_MAX_SIGS + 1; i++) {
        ul_cbor_put_array(w, 2);
        memset(t.sigs[0].pubkey, (int)i, 32);
        ul_cbor_put_bytes(w, t.sigs[0].pubkey, 32);
        ul_cbor_put_bytes(w, t.sigs[0].sig, 64);
    }
    n2 = edit_map(out2, sizeof out2, out, n, 3, vbuf, vend());
    assert_int_equal(ul_schema_tx_decode(&d, out2, n2), UL_E_LIMIT);
    w = vbegin();
    ul_cbor_put_array(w, 1);
    ul_cbor_put_array(w, 2);
    ul_cbor_put_bytes(w, t.sigs[0].pubkey, 32);
    ul_cbor_put_bytes(w, t.sigs[0].sig, 63);
    n2 = edit_map(out2, sizeof out2, out, n, 3, vbuf, vend());
    assert_int_equal(ul_schema_tx_decode(&d, out2, n2), UL_E_SCHEMA_FIELD);
    ul_cbor_put_uint(vbegin(), UL_TX_KIND_MAX_ + 1);
    n2 = edit_map(out2, sizeof out2, out, n, 1, vbuf, vend());
    assert_int_equal(ul_schema_tx_decode(&d, out2, n2), UL_E_TX_KIND);
    ul_cbor_put_uint(vbegin(), 0);
    n2 = edit_map(out2, sizeof out2, out, n, 1, vbuf, vend());
    assert_int_equal(ul_schema_tx_decode(&d, out2, n2), UL_E_TX_KIND);
    ul_cbor_put_uint(vbegin(), UL_TX_KIND_MAX_);
    n2 = edit_map(out2, sizeof out2, out, n, 1, vbuf, vend());
    assert_int_equal(ul_schema_tx_decode(&d, out2, n2), UL_OK);
}

/* A tx whose body is the hex given (written verbatim). */
static ul_err tx_with_body(const char *hex)
{
    static ul_tx t;
    static uint8_t out[4096], out2[4096];
    size_t n;
    bytes *b = hb(hex);
    build_parts();
    ex_tx(&t, false);
    ul_cbor_writer w;
    ul_cbor_writer_init(&w, out, sizeof out);
    ul_cbor_put_map(&w, 3);
    ul_cbor_put_uint(&w, 1);
    ul_cbor_put_uint(&w, 1);
    ul_cbor_put_uint(&w, 2);
    ul_cbor_put_raw(&w, (ul_span){b->b, b->n});
    ul_cbor_put_uint(&w, 3);
    ul_cbor_put_array(&w, 1);
    ul_cbor_put_array(&w, 2);
    ul_cbor_put_bytes(&w, t.sigs[0].pubkey, 32);
    ul_cbor_put_bytes(&w, t.sigs[0].sig, 64);
    assert_int_equal(w.err, UL_OK);
    ul_err e = ul_schema_tx_decode(&t, out, w.len);
    if (e == UL_OK) {
        assert_int_equal(ul_schema_tx_encode(out2, sizeof out2, &n, &t), UL_OK);
        assert_int_equal(n, w.len);
        assert_memory_equal(out, out2, n);
    }
    return e;
}

static void test_tx_body(void **state)
{
    static const struct {
        const char *hex;
        ul_err want;
    } cases[] = {
        {"a0", UL_OK},
        {"a2 01 61 61 02 82 01 a1 00 62 c3 a9", UL_OK},
        {"80", UL_E_CBOR_TYPE},
        {"01", UL_E_CBOR_TYPE},
        {"41 00", UL_E_CBOR_TYPE},
        {"a2 02 00 01 00", UL_E_CBOR_NONCANONICAL},
        {"a2 01 00 01 00", UL_E_SCHEMA_FIELD},
        {"a1 61 61 00", UL_E_CBOR_TYPE},
        {"a1 01 18 01", UL_E_CBOR_NONCANONICAL},
        {"a1 01 f9 00 00", UL_E_CBOR_TYPE},
        {"a1 01 c0 00", UL_E_CBOR_TYPE},
        {"a1 01 20", UL_E_CBOR_TYPE},
        {"a1 01 f6", UL_E_CBOR_TYPE},
        {"a1 01 62 c0 80", UL_E_CBOR_MALFORMED},
        {"a1 01 9f ff", UL_E_CBOR_NONCANONICAL},
        {"bf ff", UL_E_CBOR_NONCANONICAL},
        /* Nesting counts from the tx: tx map 1, body map 2, then arrays up to 8. */
        {"a1 01 81 81 81 81 81 80", UL_OK},
        {"a1 01 81 81 81 81 81 81 80", UL_E_LIMIT},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ul_err e = tx_with_body(cases[i].hex);
        if (e != cases[i].want) {
            fail_msg("body %s: got %s, want %s", cases[i].hex, ul_err_name(e),
                     ul_err_name(cases[i].want));
        }
    }
}

static void test_tx_size_limit(void **state)
{
    static ul_tx t, d;
    static uint8_t body[UL_MAX_TX_BYTES], out[UL_MAX_TX_BYTES * 2];
    size_t n;
    build_parts();
    ex_tx(&t, false); /* two signatures */
    /* {1: bstr(x)}: 1 + 1 + 3 + x bytes. The envelope adds 1+1+1 + 1+1 + 1+2*(1+34+66). */
    size_t envelope = 3 + 2 + 1 + 2 * 101;
    size_t x = UL_MAX_TX_BYTES - envelope - 5;
    for (int past = 0; past <= 1; past++) {
        ul_cbor_writer w;
        ul_cbor_writer_init(&w, body, sizeof body);
        ul_cbor_put_map(&w, 1);
        ul_cbor_put_uint(&w, 1);
        ul_cbor_put_bytes(&w, out, x + (size_t)past);
        assert_int_equal(w.err, UL_OK);
        t.body = (ul_span){body, w.len};
        ul_err e = ul_schema_tx_encode(out, sizeof out, &n, &t);
        assert_int_equal(e, past ? UL_E_LIMIT : UL_OK);
        if (!past) {
            assert_int_equal(n, UL_MAX_TX_BYTES);
            assert_int_equal(ul_schema_tx_decode(&d, out, n), UL_OK);
        }
    }
    assert_int_equal(ul_schema_tx_decode(&d, out, UL_MAX_TX_BYTES + 1), UL_E_LIMIT);
}

/* ---- Validator set and genesis ----------------------------------------------------------- */

static ul_err valset_rt(const ul_valset *s)
{
    static uint8_t out[BIG], out2[BIG];
    static ul_valset d;
    size_t n, n2;
    ul_err e = ul_schema_valset_encode(out, sizeof out, &n, s);
    if (e != UL_OK) {
        return e;
    }
    assert_int_equal(ul_schema_valset_decode(&d, out, n), UL_OK);
    assert_int_equal(d.n, s->n);
    assert_memory_equal(d.v, s->v, s->n * sizeof s->v[0]);
    assert_int_equal(ul_schema_valset_encode(out2, sizeof out2, &n2, &d), UL_OK);
    assert_int_equal(n2, n);
    assert_memory_equal(out, out2, n);
    return UL_OK;
}

static void put_valset(ul_cbor_writer *w, size_t n, uint64_t power)
{
    ul_cbor_put_array(w, n);
    for (size_t i = 0; i < n; i++) {
        uint8_t k[32];
        memset(k, 0, 32);
        k[0] = (uint8_t)i;
        ul_cbor_put_array(w, 2);
        ul_cbor_put_bytes(w, k, 32);
        ul_cbor_put_uint(w, power);
    }
}

static void test_valset(void **state)
{
    static ul_valset s, d;
    ex_valset(&s);
    assert_int_equal(valset_rt(&s), UL_OK);
    s.n = UL_MAX_VALIDATORS;
    for (size_t i = 0; i < UL_MAX_VALIDATORS; i++) {
        memset(s.v[i].pubkey, 0xee, 32);
        s.v[i].pubkey[31] = (uint8_t)i;
        s.v[i].power = UL_MAX_TOTAL_POWER / UL_MAX_VALIDATORS;
    }
    assert_int_equal(valset_rt(&s), UL_OK); /* total power exactly at the bound */
    s.v[0].power++;
    assert_int_equal(valset_rt(&s), UL_E_LIMIT);
    s.v[0].power--;
    s.n = UL_MAX_VALIDATORS + 1;
    assert_int_equal(valset_rt(&s), UL_E_LIMIT);
    s.n = 1;
    s.v[0].power = UL_MAX_TOTAL_POWER;
    assert_int_equal(valset_rt(&s), UL_OK);
    s.v[0].power = UL_MAX_TOTAL_POWER + 1;
    assert_int_equal(valset_rt(&s), UL_E_LIMIT);
    s.v[0].power = UINT64_MAX;
    assert_int_equal(valset_rt(&s), UL_E_LIMIT);
    s.v[0].power = 0;
    assert_int_equal(valset_rt(&s), UL_E_SCHEMA_FIELD);
    s.n = 0;
    assert_int_equal(valset_rt(&s), UL_E_SCHEMA_FIELD);
    ex_valset(&s);
    memcpy(s.v[2].pubkey, s.v[1].pubkey, 32);
    assert_int_equal(valset_rt(&s), UL_E_SCHEMA_FIELD);
    memset(s.v[2].pubkey, 0x00, 32);
    assert_int_equal(valset_rt(&s), UL_E_SCHEMA_FIELD);
    /* On the wire. */
    put_valset(vbegin(), UL_MAX_VALIDATORS, 1);
    assert_int_equal(ul_schema_valset_decode(&d, vbuf, vend()), UL_OK);
    put_valset(vbegin(), UL_MAX_VALIDATORS + 1, 1);
    assert_int_equal(ul_schema_valset_decode(&d, vbuf, vend()), UL_E_LIMIT);
    put_valset(vbegin(), 2, UL_MAX_TOTAL_POWER / 2);
    assert_int_equal(ul_schema_valset_decode(&d, vbuf, vend()), UL_OK);
    put_valset(vbegin(), 2, UL_MAX_TOTAL_POWER / 2 + 1);
    assert_int_equal(ul_schema_valset_decode(&d, vbuf, vend()), UL_E_LIMIT);
    static const struct {
        const char *hex;
        ul_err want;
    } cases[] = {
        {"80", UL_E_SCHEMA_FIELD},
        {"81 82 H32 01", UL_OK},
        {"81 82 H32 00", UL_E_SCHEMA_FIELD},
        {"81 83 H32 01 01", UL_E_SCHEMA_FIELD},
        {"81 81 H32", UL_E_SCHEMA_FIELD},
        {"82 82 H32 01 82 H32 01", UL_E_SCHEMA_FIELD},
        {"81 82 01 H32", UL_E_CBOR_TYPE},
        {"a0", UL_E_CBOR_TYPE},
        {"9f 82 H32 01 ff", UL_E_CBOR_NONCANONICAL},
        {"81 82 H32 18 01", UL_E_CBOR_NONCANONICAL},
        {"81 82 H32 01 00", UL_E_CBOR_TRAILING},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bytes *b = hb(cases[i].hex);
        assert_int_equal(ul_schema_valset_decode(&d, b->b, b->n), cases[i].want);
    }
    assert_int_equal(ul_schema_valset_decode(&d, vbuf, UL_MAX_VALSET_BYTES + 1), UL_E_LIMIT);
}

static void test_genesis(void **state)
{
    static ul_genesis g, d;
    static uint8_t out[BIG], out2[BIG];
    size_t n, n2;
    ex_genesis(&g);
    assert_int_equal(ul_schema_genesis_encode(out, sizeof out, &n, &g), UL_OK);
    assert_int_equal(ul_schema_genesis_decode(&d, out, n), UL_OK);
    assert_true(ul_span_eq_str(d.name, "upledger-testnet"));
    assert_int_equal(d.time_ms, g.time_ms);
    assert_int_equal(d.validators.n, 4);
    assert_memory_equal(&d.validators, &g.validators, sizeof g.validators);
    assert_int_equal(ul_schema_genesis_encode(out2, sizeof out2, &n2, &d), UL_OK);
    assert_int_equal(n2, n);
    assert_memory_equal(out, out2, n);
    g.version = 2;
    assert_int_equal(ul_schema_genesis_encode(out, sizeof out, &n, &g), UL_E_VERSION);
    g.version = 0;
    assert_int_equal(ul_schema_genesis_encode(out, sizeof out, &n, &g), UL_E_VERSION);
    g.version = 1;
    g.name = S("");
    assert_int_equal(ul_schema_genesis_encode(out, sizeof out, &n, &g), UL_E_SCHEMA_FIELD);
    g.name = S(mk("", 'n', 129));
    assert_int_equal(ul_schema_genesis_encode(out, sizeof out, &n, &g), UL_E_LIMIT);
    g.name = S(mk("", 'n', 128));
    g.validators.n = UL_MAX_VALIDATORS;
    for (size_t i = 0; i < UL_MAX_VALIDATORS; i++) {
        memset(g.validators.v[i].pubkey, (int)(i + 1), 32);
        g.validators.v[i].power = 1;
    }
    assert_int_equal(ul_schema_genesis_encode(out, sizeof out, &n, &g), UL_OK);
    assert_int_equal(ul_schema_genesis_decode(&d, out, n), UL_OK);
    g.validators.n = UL_MAX_VALIDATORS + 1;
    assert_int_equal(ul_schema_genesis_encode(out, sizeof out, &n, &g), UL_E_LIMIT);
    g.validators.n = 0;
    assert_int_equal(ul_schema_genesis_encode(out, sizeof out, &n, &g), UL_E_SCHEMA_FIELD);
    /* Version 2 on the wire. */
    ex_genesis(&g);
    assert_int_equal(ul_schema_genesis_encode(out, sizeof out, &n, &g), UL_OK);
    ul_cbor_put_uint(vbegin(), 2);
    n2 = edit_map(out2, sizeof out2, out, n, 1, vbuf, vend());
    assert_int_equal(ul_schema_genesis_decode(&d, out2, n2), UL_E_VERSION);
}

/* ---- Header ------------------------------------------------------------------------------- */

static void test_header(void **state)
{
    ul_header h, d;
    uint8_t out[UL_MAX_HEADER_BYTES], out2[UL_MAX_HEADER_BYTES];
    size_t n, n2;
    ex_header(&h);
    assert_int_equal(ul_schema_header_encode(out, sizeof out, &n, &h), UL_OK);
    assert_int_equal(ul_schema_header_decode(&d, out, n), UL_OK);
    assert_memory_equal(&d, &h, sizeof h);
    h.height = h.time_ms = h.log_size = UINT64_MAX; /* the largest header */
    assert_int_equal(ul_schema_header_encode(out, sizeof out, &n, &h), UL_OK);
    assert_true(n <= UL_MAX_HEADER_BYTES);
    assert_int_equal(ul_schema_header_decode(&d, out, n), UL_OK);
    assert_memory_equal(&d, &h, sizeof h);
    assert_int_equal(ul_schema_header_encode(out2, sizeof out2, &n2, &d), UL_OK);
    assert_memory_equal(out, out2, n);
    h.height = 0;
    assert_int_equal(ul_schema_header_encode(out, sizeof out, &n, &h), UL_E_SCHEMA_FIELD);
    h.height = 1;
    h.version = 2;
    assert_int_equal(ul_schema_header_encode(out, sizeof out, &n, &h), UL_E_VERSION);
    h.version = 0;
    assert_int_equal(ul_schema_header_encode(out, sizeof out, &n, &h), UL_E_VERSION);
    ex_header(&h);
    assert_int_equal(ul_schema_header_encode(out, sizeof out, &n, &h), UL_OK);
    for (uint64_t k = 1; k <= 12; k++) {
        n2 = edit_map(out2, sizeof out2, out, n, k, NULL, 0);
        assert_int_equal(ul_schema_header_decode(&d, out2, n2), UL_E_SCHEMA_FIELD);
    }
    static const uint64_t hash_keys[] = {2, 5, 6, 7, 9, 10, 11, 12};
    for (size_t i = 0; i < 8; i++) {
        ul_cbor_put_bytes(vbegin(), h.prev, 31);
        n2 = edit_map(out2, sizeof out2, out, n, hash_keys[i], vbuf, vend());
        assert_int_equal(ul_schema_header_decode(&d, out2, n2), UL_E_SCHEMA_FIELD);
        ul_cbor_put_uint(vbegin(), 0);
        n2 = edit_map(out2, sizeof out2, out, n, hash_keys[i], vbuf, vend());
        assert_int_equal(ul_schema_header_decode(&d, out2, n2), UL_E_CBOR_TYPE);
    }
    ul_cbor_put_uint(vbegin(), 0);
    n2 = edit_map(out2, sizeof out2, out, n, 13, vbuf, vend());
    assert_int_equal(ul_schema_header_decode(&d, out2, n2), UL_E_SCHEMA_FIELD);
    static uint8_t big[UL_MAX_HEADER_BYTES + 1];
    assert_int_equal(ul_schema_header_decode(&d, big, sizeof big), UL_E_LIMIT);
}

/* ---- Commit ------------------------------------------------------------------------------- */

static void test_commit(void **state)
{
    static ul_commit c, d;
    static uint8_t out[UL_MAX_COMMIT_BYTES * 2], out2[UL_MAX_COMMIT_BYTES * 2];
    size_t n, n2;
    ex_commit(&c);
    assert_int_equal(ul_schema_commit_encode(out, sizeof out, &n, &c), UL_OK);
    assert_int_equal(ul_schema_commit_decode(&d, out, n), UL_OK);
    assert_memory_equal(&d, &c, sizeof c);
    /* A full commit with the widest values still fits UL_MAX_COMMIT_BYTES. */
    c.height = c.round = UINT64_MAX;
    c.n_sigs = UL_MAX_VALIDATORS;
    for (size_t i = 0; i < UL_MAX_VALIDATORS; i++) {
        c.sigs[i].index = i;
        c.sigs[i].time_ms = UINT64_MAX - i;
        fill(c.sigs[i].sig, 64, (uint8_t)i);
    }
    assert_int_equal(ul_schema_commit_encode(out, sizeof out, &n, &c), UL_OK);
    assert_true(n <= UL_MAX_COMMIT_BYTES);
    assert_int_equal(ul_schema_commit_decode(&d, out, n), UL_OK);
    assert_memory_equal(&d, &c, sizeof c);
    assert_int_equal(ul_schema_commit_encode(out2, sizeof out2, &n2, &d), UL_OK);
    assert_memory_equal(out, out2, n);
    c.n_sigs = UL_MAX_VALIDATORS + 1;
    assert_int_equal(ul_schema_commit_encode(out, sizeof out, &n, &c), UL_E_LIMIT);
    c.n_sigs = 0;
    assert_int_equal(ul_schema_commit_encode(out, sizeof out, &n, &c), UL_E_SCHEMA_FIELD);
    c.n_sigs = 3;
    c.sigs[2].index = 1; /* duplicate index */
    assert_int_equal(ul_schema_commit_encode(out, sizeof out, &n, &c), UL_E_SCHEMA_FIELD);
    c.sigs[2].index = 0; /* descending */
    assert_int_equal(ul_schema_commit_encode(out, sizeof out, &n, &c), UL_E_SCHEMA_FIELD);
    c.sigs[2].index = UL_MAX_VALIDATORS - 1;
    assert_int_equal(ul_schema_commit_encode(out, sizeof out, &n, &c), UL_OK);
    c.sigs[2].index = UL_MAX_VALIDATORS; /* no set has this position */
    assert_int_equal(ul_schema_commit_encode(out, sizeof out, &n, &c), UL_E_SCHEMA_FIELD);
    /* 65 signatures on the wire. */
    ex_commit(&c);
    assert_int_equal(ul_schema_commit_encode(out, sizeof out, &n, &c), UL_OK);
    ul_cbor_writer *w = vbegin();
    ul_cbor_put_array(w, UL_MAX_VALIDATORS + 1);
    for (size_t i = 0; i < UL_MAX_VALIDATORS + 1; i++) {
        ul_cbor_put_array(w, 3);
        ul_cbor_put_uint(w, i);
        ul_cbor_put_uint(w, 0);
        ul_cbor_put_bytes(w, c.sigs[0].sig, 64);
    }
    n2 = edit_map(out2, sizeof out2, out, n, 4, vbuf, vend());
    assert_int_equal(ul_schema_commit_decode(&d, out2, n2), UL_E_LIMIT);
    static const struct {
        const char *hex;
        ul_err want;
    } cases[] = {
        {"81 83 00 00 58 40 B32 B32", UL_OK},
        {"81 82 00 58 40 B32 B32", UL_E_SCHEMA_FIELD},
        {"81 84 00 00 58 40 B32 B32 00", UL_E_SCHEMA_FIELD},
        {"81 83 00 00 H32", UL_E_SCHEMA_FIELD},
        {"9f 83 00 00 58 40 B32 B32 ff", UL_E_CBOR_NONCANONICAL},
        {"80", UL_E_SCHEMA_FIELD},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bytes *b = hb(cases[i].hex);
        n2 = edit_map(out2, sizeof out2, out, n, 4, b->b, b->n);
        assert_int_equal(ul_schema_commit_decode(&d, out2, n2), cases[i].want);
    }
    memset(out, 0, UL_MAX_COMMIT_BYTES + 1);
    assert_int_equal(ul_schema_commit_decode(&d, out, UL_MAX_COMMIT_BYTES + 1), UL_E_LIMIT);
}

/* A checkpoint's signature list: [1*64 [index, sig]], the commit's list rules without times. */
static void test_checkpoint_sigs(void **state)
{
    static ul_checkpoint c, d;
    static uint8_t out[UL_MAX_CHECKPOINT_BYTES * 2], out2[UL_MAX_CHECKPOINT_BYTES * 2];
    size_t n, n2;
    (void)state;
    memset(&c, 0, sizeof c);
    c.v.height = c.v.time_ms = UINT64_MAX;
    fill(c.v.header_hash, UL_HASH_BYTES, 7);
    c.n_sigs = UL_MAX_VALIDATORS;
    for (size_t i = 0; i < UL_MAX_VALIDATORS; i++) {
        c.sigs[i].index = i;
        fill(c.sigs[i].sig, UL_SIG_BYTES, (uint8_t)i);
    }
    assert_int_equal(ul_schema_checkpoint_encode(out, sizeof out, &n, &c), UL_OK);
    assert_true(n <= UL_MAX_CHECKPOINT_BYTES);
    assert_int_equal(ul_schema_checkpoint_decode(&d, out, n), UL_OK);
    assert_memory_equal(&d, &c, sizeof c);
    c.n_sigs = UL_MAX_VALIDATORS + 1;
    assert_int_equal(ul_schema_checkpoint_encode(out, sizeof out, &n, &c), UL_E_LIMIT);
    c.n_sigs = 0;
    assert_int_equal(ul_schema_checkpoint_encode(out, sizeof out, &n, &c), UL_E_SCHEMA_FIELD);
    c.n_sigs = 1;
    assert_int_equal(ul_schema_checkpoint_encode(out, sizeof out, &n, &c), UL_OK);
    static const struct {
        const char *hex;
        ul_err want;
    } cases[] = {
        {"81 82 00 58 40 B32 B32", UL_OK},
        {"82 82 05 58 40 B32 B32 82 05 58 40 B32 B32", UL_E_SCHEMA_FIELD}, /* duplicate */
        {"82 82 05 58 40 B32 B32 82 04 58 40 B32 B32", UL_E_SCHEMA_FIELD}, /* descending */
        {"82 82 04 58 40 B32 B32 82 05 58 40 B32 B32", UL_OK},
        {"81 83 00 00 58 40 B32 B32", UL_E_SCHEMA_FIELD}, /* a commit's [index, time, sig] */
        {"81 82 18 40 58 40 B32 B32", UL_E_SCHEMA_FIELD}, /* index 64 */
        {"81 82 00 H32", UL_E_SCHEMA_FIELD},
        {"9f 82 00 58 40 B32 B32 ff", UL_E_CBOR_NONCANONICAL},
        {"80", UL_E_SCHEMA_FIELD},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bytes *b = hb(cases[i].hex);
        n2 = edit_map(out2, sizeof out2, out, n, 4, b->b, b->n);
        assert_int_equal(ul_schema_checkpoint_decode(&d, out2, n2), cases[i].want);
    }
}

/* ---- Merkle proofs ----------------------------------------------------------------------- */

static void test_proofs(void **state)
{
    static ul_inclusion p, pd;
    static ul_consistency c, cd;
    static uint8_t out[4096], out2[4096];
    size_t n, n2;
    ex_inclusion(&p);
    assert_int_equal(ul_schema_inclusion_encode(out, sizeof out, &n, &p), UL_OK);
    assert_int_equal(ul_schema_inclusion_decode(&pd, out, n), UL_OK);
    assert_memory_equal(&pd, &p, sizeof p);
    p.n_path = UL_MAX_PROOF_DEPTH;
    p.index = UINT64_MAX - 1;
    p.size = UINT64_MAX;
    assert_int_equal(ul_schema_inclusion_encode(out, sizeof out, &n, &p), UL_OK);
    assert_int_equal(ul_schema_inclusion_decode(&pd, out, n), UL_OK);
    assert_memory_equal(&pd, &p, sizeof p);
    assert_int_equal(ul_schema_inclusion_encode(out2, sizeof out2, &n2, &pd), UL_OK);
    assert_memory_equal(out, out2, n);
    p.n_path = UL_MAX_PROOF_DEPTH + 1;
    assert_int_equal(ul_schema_inclusion_encode(out, sizeof out, &n, &p), UL_E_LIMIT);
    p.n_path = 0;
    p.index = p.size;
    assert_int_equal(ul_schema_inclusion_encode(out, sizeof out, &n, &p), UL_E_SCHEMA_FIELD);
    p.index = 0;
    p.size = 0;
    assert_int_equal(ul_schema_inclusion_encode(out, sizeof out, &n, &p), UL_E_SCHEMA_FIELD);
    p.size = 1;
    assert_int_equal(ul_schema_inclusion_encode(out, sizeof out, &n, &p), UL_OK);
    ex_consistency(&c);
    assert_int_equal(ul_schema_consistency_encode(out, sizeof out, &n, &c), UL_OK);
    assert_int_equal(ul_schema_consistency_decode(&cd, out, n), UL_OK);
    assert_memory_equal(&cd, &c, sizeof c);
    c.n_path = UL_MAX_PROOF_DEPTH;
    c.size1 = c.size2 = UINT64_MAX;
    assert_int_equal(ul_schema_consistency_encode(out, sizeof out, &n, &c), UL_OK);
    assert_int_equal(ul_schema_consistency_decode(&cd, out, n), UL_OK);
    assert_memory_equal(&cd, &c, sizeof c);
    c.n_path = UL_MAX_PROOF_DEPTH + 1;
    assert_int_equal(ul_schema_consistency_encode(out, sizeof out, &n, &c), UL_E_LIMIT);
    c.n_path = 0;
    c.size1 = 5;
    c.size2 = 4;
    assert_int_equal(ul_schema_consistency_encode(out, sizeof out, &n, &c), UL_E_SCHEMA_FIELD);
    c.size1 = c.size2 = 0;
    assert_int_equal(ul_schema_consistency_encode(out, sizeof out, &n, &c), UL_OK);
    /* 65 hashes and a 33-byte hash on the wire. */
    ex_inclusion(&p);
    assert_int_equal(ul_schema_inclusion_encode(out, sizeof out, &n, &p), UL_OK);
    ul_cbor_writer *w = vbegin();
    ul_cbor_put_array(w, UL_MAX_PROOF_DEPTH + 1);
    for (size_t i = 0; i < UL_MAX_PROOF_DEPTH + 1; i++) {
        ul_cbor_put_bytes(w, p.path[0], 32);
    }
    size_t vl = vend();
    n2 = edit_map(out2, sizeof out2, out, n, 3, vbuf, vl);
    assert_int_equal(ul_schema_inclusion_decode(&pd, out2, n2), UL_E_LIMIT);
    ex_consistency(&c);
    assert_int_equal(ul_schema_consistency_encode(out, sizeof out, &n, &c), UL_OK);
    n2 = edit_map(out2, sizeof out2, out, n, 3, vbuf, vl);
    assert_int_equal(ul_schema_consistency_decode(&cd, out2, n2), UL_E_LIMIT);
    bytes *b = hb("81 58 21 B32 00");
    n2 = edit_map(out2, sizeof out2, out, n, 3, b->b, b->n);
    assert_int_equal(ul_schema_consistency_decode(&cd, out2, n2), UL_E_SCHEMA_FIELD);
    b = hb("81 a0");
    n2 = edit_map(out2, sizeof out2, out, n, 3, b->b, b->n);
    assert_int_equal(ul_schema_consistency_decode(&cd, out2, n2), UL_E_CBOR_TYPE);
}

/* ---- Block -------------------------------------------------------------------------------- */

/* A minimal valid tx: {1: 1, 2: {}, 3: [[key, sig]]}, 108 bytes. */
static size_t small_tx(uint8_t *out, uint8_t key)
{
    static const uint8_t sig[64];
    uint8_t k[32];
    memset(k, key, 32);
    ul_cbor_writer w;
    ul_cbor_writer_init(&w, out, 128);
    ul_cbor_put_map(&w, 3);
    ul_cbor_put_uint(&w, 1);
    ul_cbor_put_uint(&w, 1);
    ul_cbor_put_uint(&w, 2);
    ul_cbor_put_map(&w, 0);
    ul_cbor_put_uint(&w, 3);
    ul_cbor_put_array(&w, 1);
    ul_cbor_put_array(&w, 2);
    ul_cbor_put_bytes(&w, k, 32);
    ul_cbor_put_bytes(&w, sig, 64);
    assert_int_equal(w.err, UL_OK);
    return w.len;
}

static void test_block(void **state)
{
    static uint8_t out[BIG], out2[BIG];
    static ul_span txs[4];
    ul_block b;
    size_t n, n2;
    build_parts();
    const ul_span hdr = {e_header, n_header};
    const ul_span in_txs[2] = {{e_tx_reg, n_tx_reg}, {e_tx_pub, n_tx_pub}};
    assert_int_equal(ul_schema_block_encode(out, sizeof out, &n, hdr, in_txs, 2), UL_OK);
    assert_int_equal(ul_schema_block_decode(&b, txs, 4, out, n), UL_OK);
    assert_true(ul_span_eq(b.header, hdr));
    assert_ptr_equal(b.header.ptr, out + 2); /* a2 01 | header: embedded verbatim */
    assert_ptr_equal(b.txs, txs);
    assert_int_equal(b.n_txs, 2);
    assert_true(ul_span_eq(b.txs[0], in_txs[0]));
    assert_true(ul_span_eq(b.txs[1], in_txs[1]));
    assert_int_equal(ul_schema_block_decode(&b, txs, 2, out, n), UL_OK);
    assert_int_equal(ul_schema_block_decode(&b, txs, 1, out, n), UL_E_LIMIT);
    assert_int_equal(ul_schema_block_decode(&b, NULL, 0, out, n), UL_E_LIMIT);
    assert_int_equal(ul_schema_block_decode(&b, NULL, 1, out, n), UL_E_ARG);
    /* An empty (heartbeat) block. */
    assert_int_equal(ul_schema_block_encode(out2, sizeof out2, &n2, hdr, NULL, 0), UL_OK);
    assert_int_equal(ul_schema_block_decode(&b, NULL, 0, out2, n2), UL_OK);
    assert_int_equal(b.n_txs, 0);
    /* Every part is validated. */
    assert_int_equal(ul_schema_block_encode(out2, sizeof out2, &n2, hdr, NULL, 1), UL_E_ARG);
    const ul_span not_tx[1] = {{e_header, n_header}};
    assert_int_equal(ul_schema_block_encode(out2, sizeof out2, &n2, hdr, not_tx, 1),
                     UL_E_SCHEMA_FIELD); /* 12 entries for a 3-field map */
    uint8_t stx[128];
    const ul_span not_hdr = {stx, small_tx(stx, 0x11)};
    assert_int_equal(ul_schema_block_encode(out2, sizeof out2, &n2, not_hdr, in_txs, 2),
                     UL_E_CBOR_TYPE);             /* field 2 of a header is a bstr, of a tx a map */
    const ul_span big_hdr = {e_tx_pub, n_tx_pub}; /* over UL_MAX_HEADER_BYTES */
    assert_int_equal(ul_schema_block_encode(out2, sizeof out2, &n2, big_hdr, in_txs, 2),
                     UL_E_LIMIT);
    assert_int_equal(ul_schema_block_encode(out2, sizeof out2, &n2, (ul_span){NULL, 0}, in_txs, 2),
                     UL_E_SCHEMA_FIELD);
    bytes *bb = hb("82 01 02");
    const ul_span arr[1] = {{bb->b, bb->n}};
    assert_int_equal(ul_schema_block_encode(out2, sizeof out2, &n2, hdr, arr, 1), UL_E_CBOR_TYPE);
    assert_int_equal(ul_schema_block_encode(out2, sizeof out2, &n2, arr[0], in_txs, 2),
                     UL_E_CBOR_TYPE);
    /* A header of another version, and a tx of an unknown kind, inside a block. */
    ul_header h;
    uint8_t hb2[UL_MAX_HEADER_BYTES], tb[256];
    ex_header(&h);
    assert_int_equal(ul_schema_header_encode(hb2, sizeof hb2, &n2, &h), UL_OK);
    size_t hn = n2;
    hb2[2] = 0x02; /* a c | 01 01 -> 01 02: version 2 */
    assert_int_equal(ul_schema_block_encode(out2, sizeof out2, &n2, (ul_span){hb2, hn}, NULL, 0),
                     UL_E_VERSION);
    size_t tn = small_tx(tb, 1);
    tb[2] = UL_TX_KIND_MAX_ + 1; /* one past the last kind (still a one-byte uint) */
    const ul_span bad_kind[1] = {{tb, tn}};
    assert_int_equal(ul_schema_block_encode(out2, sizeof out2, &n2, hdr, bad_kind, 1),
                     UL_E_TX_KIND);
    /* A tx at the nesting bound stays valid inside a block. */
    static uint8_t deep[512];
    bytes *body = hb("a1 01 81 81 81 81 81 80");
    ul_tx t;
    ex_tx(&t, false);
    t.body = (ul_span){body->b, body->n};
    assert_int_equal(ul_schema_tx_encode(deep, sizeof deep, &n2, &t), UL_OK);
    const ul_span deep_tx[1] = {{deep, n2}};
    assert_int_equal(ul_schema_block_encode(out2, sizeof out2, &n2, hdr, deep_tx, 1), UL_OK);
    assert_int_equal(ul_schema_block_decode(&b, txs, 4, out2, n2), UL_OK);
}

static void test_block_tx_count(void **state)
{
    size_t max = UL_MAX_BLOCK_TXS;
    uint8_t *txbuf = malloc((max + 1) * 128);
    ul_span *txs = malloc((max + 1) * sizeof *txs);
    uint8_t *out = malloc((max + 1) * 128 + 1024);
    ul_block b;
    size_t n;
    assert_non_null(txbuf);
    assert_non_null(txs);
    assert_non_null(out);
    build_parts();
    for (size_t i = 0; i <= max; i++) {
        txs[i].ptr = txbuf + i * 128;
        txs[i].len = small_tx(txbuf + i * 128, (uint8_t)i);
    }
    const ul_span hdr = {e_header, n_header};
    size_t cap = (max + 1) * 128 + 1024;
    assert_int_equal(ul_schema_block_encode(out, cap, &n, hdr, txs, max), UL_OK);
    assert_int_equal(ul_schema_block_decode(&b, txs, max, out, n), UL_OK);
    assert_int_equal(b.n_txs, max);
    assert_int_equal(ul_schema_block_decode(&b, txs, max - 1, out, n), UL_E_LIMIT);
    assert_int_equal(ul_schema_block_encode(out, cap, &n, hdr, txs, max + 1), UL_E_LIMIT);
    /* The same on the wire: rewrite the array head 0x99 0x08 0x00 to 0x99 0x08 0x01. */
    assert_int_equal(ul_schema_block_encode(out, cap, &n, hdr, txs, max), UL_OK);
    size_t at = 2 + n_header + 1;
    assert_memory_equal(out + at, "\x99\x08\x00", 3);
    out[at + 2] = 0x01;
    memcpy(out + n, txs[max].ptr, txs[max].len);
    assert_int_equal(ul_schema_block_decode(&b, txs, max + 1, out, n + txs[max].len), UL_E_LIMIT);
    free(out);
    free(txs);
    free(txbuf);
    uint8_t *huge = calloc(1, (size_t)UL_MAX_BLOCK_BYTES + 1);
    assert_non_null(huge);
    assert_int_equal(ul_schema_block_decode(&b, NULL, 0, huge, (size_t)UL_MAX_BLOCK_BYTES + 1),
                     UL_E_LIMIT);
    free(huge);
}

/* ---- Block header alone, block split -------------------------------------------------------- */

/* The example header in a block of txs[0..n) (ul_schema_block_encode). Returns its length. */
static size_t ex_block(uint8_t *out, size_t cap, const ul_span *txs, size_t n)
{
    size_t len = 0;
    build_parts();
    assert_int_equal(ul_schema_block_encode(out, cap, &len, (ul_span){e_header, n_header}, txs, n),
                     UL_OK);
    return len;
}

/* Block blk[len] with its txs array replaced by one holding txs[0..n) verbatim, unchecked (the
 * encoder would refuse what is not a tx). Returns the new length. */
static size_t with_txs(uint8_t *out, size_t cap, const uint8_t *blk, size_t len, const ul_span *txs,
                       size_t n)
{
    ul_cbor_writer *w = vbegin();
    ul_cbor_put_array(w, n);
    for (size_t i = 0; i < n; i++) {
        ul_cbor_put_raw(w, txs[i]);
    }
    return edit_map(out, cap, blk, len, 2, vbuf, vend());
}

/* ul_schema_block_header on in[len]; on an error, checks *header was cleared to {NULL, 0}. */
static ul_err blk_hdr(ul_span *header, const uint8_t *in, size_t len)
{
    *header = ul_span_str("not cleared");
    ul_err e = ul_schema_block_header(header, in, len);
    if (e != UL_OK) {
        assert_null(header->ptr);
        assert_int_equal(header->len, 0);
    }
    return e;
}

/* ul_schema_block_header gives the span ul_schema_block_decode gives, without reading the txs:
 * a block whose txs are no txs (or cut short) still has its header. Refused: NULL arguments
 * (UL_E_ARG), over UL_MAX_BLOCK_BYTES (UL_E_LIMIT), and with the header span cleared: another
 * number of entries than two, a first key other than 1 (UL_E_SCHEMA_FIELD), a header that is not
 * a map (UL_E_CBOR_TYPE) or not a valid header (the header decoder's error), input cut inside
 * the header. */
static void test_block_header(void **state)
{
    static uint8_t blk[BIG], x[BIG], hx[UL_MAX_HEADER_BYTES + 64];
    static ul_span txs[4];
    static const uint8_t map11[] = {0xa1, 0x01, 0x01}, arr[] = {0x82, 0x01, 0x02};
    uint8_t stx[128];
    ul_block b;
    ul_header hd;
    ul_span h;
    size_t len, xl;
    build_parts();
    const ul_span hdr = {e_header, n_header};
    const ul_span ex_txs[3] = {{e_tx_reg, n_tx_reg}, {e_tx_pub, n_tx_pub}, {stx, small_tx(stx, 7)}};

    for (size_t n = 0; n <= 3; n++) {
        len = ex_block(blk, sizeof blk, ex_txs, n);
        assert_int_equal(ul_schema_block_decode(&b, txs, 4, blk, len), UL_OK);
        assert_int_equal(blk_hdr(&h, blk, len), UL_OK);
        assert_ptr_equal(h.ptr, b.header.ptr);
        assert_int_equal(h.len, b.header.len);
        assert_true(ul_span_eq(h, hdr));
    }
    /* Txs that are no txs: a canonical map that is not a tx, an array, a cut block. */
    len = ex_block(blk, sizeof blk, ex_txs, 2);
    const ul_span not_tx[2][2] = {{ex_txs[0], {map11, sizeof map11}},
                                  {{arr, sizeof arr}, ex_txs[1]}};
    for (size_t k = 0; k < 2; k++) {
        xl = with_txs(x, sizeof x, blk, len, not_tx[k], 2);
        assert_int_not_equal(ul_schema_block_decode(&b, txs, 4, x, xl), UL_OK);
        assert_int_equal(blk_hdr(&h, x, xl), UL_OK);
        assert_ptr_equal(h.ptr, x + 2); /* a2 01 | header */
        assert_true(ul_span_eq(h, hdr));
    }
    assert_int_equal(blk_hdr(&h, blk, len - 1), UL_OK); /* the last tx cut short */
    assert_true(ul_span_eq(h, hdr));
    /* Every cut inside the header (or before it) is refused. */
    for (size_t cut = 0; cut < 2 + n_header; cut++) {
        assert_int_not_equal(blk_hdr(&h, blk, cut), UL_OK);
    }
    assert_int_equal(blk_hdr(&h, blk, 2 + n_header), UL_OK); /* the header whole, no txs */

    /* Arguments and the size bound (at the bound the block is read; one byte past, not). That
     * these two clear the span too is test_block_header_cleared's. */
    assert_int_equal(ul_schema_block_header(NULL, blk, len), UL_E_ARG);
    assert_int_equal(ul_schema_block_header(&h, NULL, len), UL_E_ARG);
    assert_int_not_equal(blk_hdr(&h, NULL, 0), UL_OK);
    uint8_t *huge = calloc(1, (size_t)UL_MAX_BLOCK_BYTES + 1);
    assert_non_null(huge);
    memcpy(huge, blk, len);
    assert_int_equal(blk_hdr(&h, huge, UL_MAX_BLOCK_BYTES), UL_OK);
    assert_ptr_equal(h.ptr, huge + 2);
    assert_int_equal(ul_schema_block_header(&h, huge, (size_t)UL_MAX_BLOCK_BYTES + 1), UL_E_LIMIT);
    free(huge);

    /* One entry, three, none. */
    xl = edit_map(x, sizeof x, blk, len, 2, NULL, 0);
    assert_int_equal(blk_hdr(&h, x, xl), UL_E_SCHEMA_FIELD);
    ul_cbor_put_uint(vbegin(), 0);
    xl = edit_map(x, sizeof x, blk, len, 3, vbuf, vend());
    assert_int_equal(blk_hdr(&h, x, xl), UL_E_SCHEMA_FIELD);
    assert_int_equal(blk_hdr(&h, (const uint8_t *)"\xa0", 1), UL_E_SCHEMA_FIELD);
    /* A valid header under another first key: 0, 2. */
    for (uint64_t key = 0; key <= 2; key += 2) {
        ul_cbor_writer *w = vbegin();
        ul_cbor_put_map(w, 2);
        ul_cbor_put_uint(w, key);
        ul_cbor_put_raw(w, hdr);
        ul_cbor_put_uint(w, key + 1);
        ul_cbor_put_array(w, 0);
        xl = vend();
        assert_int_equal(blk_hdr(&h, vbuf, xl), UL_E_SCHEMA_FIELD);
    }
    /* A header that is not a map: an array, the header's bytes in a byte string, a uint. */
    ul_cbor_put_bytes(vbegin(), e_header, n_header);
    size_t bl = vend();
    memcpy(hx, vbuf, bl);
    const ul_span not_map[3] = {{arr, sizeof arr}, {hx, bl}, {(const uint8_t *)"\x01", 1}};
    for (size_t k = 0; k < 3; k++) {
        xl = edit_map(x, sizeof x, blk, len, 1, not_map[k].ptr, not_map[k].len);
        assert_int_equal(blk_hdr(&h, x, xl), UL_E_CBOR_TYPE);
    }
    /* A map that is not a valid header: the header decoder's verdict, each field missing, another
     * version, an empty map. */
    for (uint64_t k = 1; k <= 13; k++) {
        size_t hl;
        if (k <= 12) {
            hl = edit_map(hx, sizeof hx, e_header, n_header, k, NULL, 0);
        } else {
            memcpy(hx, e_header, n_header);
            hl = n_header;
            hx[2] = 0x02; /* a c | 01 01 -> 01 02: version 2 */
        }
        ul_err want = ul_schema_header_decode(&hd, hx, hl);
        assert_int_equal(want, k <= 12 ? UL_E_SCHEMA_FIELD : UL_E_VERSION);
        xl = edit_map(x, sizeof x, blk, len, 1, hx, hl);
        assert_int_equal(blk_hdr(&h, x, xl), want);
    }
    xl = edit_map(x, sizeof x, blk, len, 1, (const uint8_t *)"\xa0", 1);
    assert_int_equal(blk_hdr(&h, x, xl), UL_E_SCHEMA_FIELD);
}

/* The header span is {NULL, 0} after every error, also the early ones: input NULL with a length
 * (UL_E_ARG) and input over UL_MAX_BLOCK_BYTES (UL_E_LIMIT), as after the others. */
static void test_block_header_cleared(void **state)
{
    static uint8_t blk[BIG];
    ul_span h;
    build_parts();
    const ul_span one[1] = {{e_tx_reg, n_tx_reg}};
    size_t len = ex_block(blk, sizeof blk, one, 1);
    assert_int_equal(blk_hdr(&h, NULL, len), UL_E_ARG);
    uint8_t *huge = calloc(1, (size_t)UL_MAX_BLOCK_BYTES + 1);
    assert_non_null(huge);
    memcpy(huge, blk, len);
    ul_err e = blk_hdr(&h, huge, (size_t)UL_MAX_BLOCK_BYTES + 1);
    free(huge);
    assert_int_equal(e, UL_E_LIMIT);
}

/* ul_schema_block_split and ul_schema_block_decode agree on valid blocks (header span, count,
 * each tx span, the caller's array); split also takes a tx that is a canonical map but no tx.
 * It refuses a tx that is not a map (UL_E_CBOR_TYPE) or not canonical, more txs than cap
 * (UL_E_LIMIT), trailing bytes, a cut block and a header that is not valid. */
static void test_block_split(void **state)
{
    static uint8_t blk[BIG], x[BIG], hx[UL_MAX_HEADER_BYTES];
    static ul_span dtx[4], stxs[4];
    static const uint8_t map11[] = {0xa1, 0x01, 0x01}, empty[] = {0xa0};
    uint8_t stx[128];
    ul_block d, s;
    size_t len, xl;
    build_parts();
    const ul_span ex_txs[3] = {{e_tx_reg, n_tx_reg}, {e_tx_pub, n_tx_pub}, {stx, small_tx(stx, 7)}};

    for (size_t n = 0; n <= 3; n++) {
        len = ex_block(blk, sizeof blk, ex_txs, n);
        memset(dtx, 0, sizeof dtx);
        memset(stxs, 0, sizeof stxs);
        assert_int_equal(ul_schema_block_decode(&d, dtx, 4, blk, len), UL_OK);
        assert_int_equal(ul_schema_block_split(&s, stxs, 4, blk, len), UL_OK);
        assert_ptr_equal(s.header.ptr, d.header.ptr);
        assert_int_equal(s.header.len, d.header.len);
        assert_int_equal(s.n_txs, n);
        assert_int_equal(s.n_txs, d.n_txs);
        assert_ptr_equal(s.txs, stxs);
        for (size_t i = 0; i < n; i++) {
            assert_ptr_equal(s.txs[i].ptr, d.txs[i].ptr);
            assert_int_equal(s.txs[i].len, d.txs[i].len);
            assert_true(ul_span_eq(s.txs[i], ex_txs[i]));
        }
        assert_int_equal(ul_schema_block_split(&s, stxs, n, blk, len), UL_OK); /* cap exactly n */
        if (n > 0) {
            assert_int_equal(ul_schema_block_split(&s, stxs, n - 1, blk, len), UL_E_LIMIT);
            assert_int_equal(ul_schema_block_split(&s, NULL, 0, blk, len), UL_E_LIMIT);
        }
    }
    /* Canonical maps that are no txs: taken by split, refused by decode. */
    len = ex_block(blk, sizeof blk, ex_txs, 2);
    const ul_span maps[3] = {ex_txs[0], {map11, sizeof map11}, {empty, 1}};
    xl = with_txs(x, sizeof x, blk, len, maps, 3);
    assert_int_not_equal(ul_schema_block_decode(&d, dtx, 4, x, xl), UL_OK);
    assert_int_equal(ul_schema_block_split(&s, stxs, 4, x, xl), UL_OK);
    assert_int_equal(s.n_txs, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_true(ul_span_eq(s.txs[i], maps[i]));
        assert_true(s.txs[i].ptr > x && s.txs[i].ptr + s.txs[i].len <= x + xl); /* in the block */
    }
    assert_int_equal(ul_schema_block_split(&s, stxs, 2, x, xl), UL_E_LIMIT);
    /* Trailing bytes, every cut. */
    x[xl] = 0x00;
    assert_int_equal(ul_schema_block_split(&s, stxs, 4, x, xl + 1), UL_E_CBOR_TRAILING);
    memcpy(x, blk, len);
    x[len] = 0xa0;
    assert_int_equal(ul_schema_block_split(&s, stxs, 4, x, len + 1), UL_E_CBOR_TRAILING);
    for (size_t cut = 0; cut < len; cut++) {
        assert_int_not_equal(ul_schema_block_split(&s, stxs, 4, blk, cut), UL_OK);
    }
    /* A tx that is not a map. */
    static const char *const not_map[] = {"82 01 02", "01", "41 00", "61 61", "80"};
    for (size_t k = 0; k < sizeof not_map / sizeof not_map[0]; k++) {
        bytes *t = hb(not_map[k]);
        const ul_span two[2] = {ex_txs[0], {t->b, t->n}};
        xl = with_txs(x, sizeof x, blk, len, two, 2);
        assert_int_equal(ul_schema_block_split(&s, stxs, 4, x, xl), UL_E_CBOR_TYPE);
    }
    /* A map that is not canonical: a key or value not in its shortest form (also nested), keys
     * out of order, an indefinite length. */
    static const char *const noncanon[] = {
        "a1 18 01 01",          "a1 01 19 00 01", "a1 01 a1 01 18 02", "a2 02 00 01 00",
        "a1 01 a2 03 00 02 00", "bf 01 01 ff",    "a1 01 5f 41 00 ff", "a1 01 b9 00 00"};
    for (size_t k = 0; k < sizeof noncanon / sizeof noncanon[0]; k++) {
        bytes *t = hb(noncanon[k]);
        const ul_span two[2] = {ex_txs[0], {t->b, t->n}};
        xl = with_txs(x, sizeof x, blk, len, two, 2);
        assert_int_equal(ul_schema_block_split(&s, stxs, 4, x, xl), UL_E_CBOR_NONCANONICAL);
    }
    /* The header is still checked in full. */
    size_t hl = edit_map(hx, sizeof hx, e_header, n_header, 12, NULL, 0);
    xl = edit_map(x, sizeof x, blk, len, 1, hx, hl);
    assert_int_equal(ul_schema_block_split(&s, stxs, 4, x, xl), UL_E_SCHEMA_FIELD);
    /* Arguments. */
    assert_int_equal(ul_schema_block_split(NULL, stxs, 4, blk, len), UL_E_ARG);
    assert_int_equal(ul_schema_block_split(&s, NULL, 1, blk, len), UL_E_ARG);
}

/* ---- Bundle sections (version 2) ------------------------------------------------------------ */

/* One example of every section kind (a stream no device would accept in this order: the codec
 * does not judge order). hashes[i] holds the hash list of section i. */
#define N_EX_SECS 12
static ul_section ex_secs[N_EX_SECS];
static uint8_t ex_sec_hashes[N_EX_SECS][8][UL_HASH_BYTES];
static uint8_t ex_state_value[80];

static void ex_sections(void)
{
    build_parts();
    memset(ex_secs, 0, sizeof ex_secs);
    ul_section *s = ex_secs;
    s[0].type = UL_SEC_BEGIN;
    s[0].u.begin.version = UL_BUNDLE_VERSION;
    fill(s[0].u.begin.chain_id, 32, 0xc0);
    s[0].u.begin.n_steps = 0;
    s[1].type = UL_SEC_HEADER;
    s[1].u.header.header = (ul_span){e_header, n_header};
    s[1].u.header.round = 0;
    s[1].u.header.n_voters = 2;
    s[2].type = UL_SEC_VOTER;
    memset(s[2].u.voter.key, 0x41, 32);
    s[2].u.voter.power = 10;
    s[2].u.voter.has_sig = true;
    s[2].u.voter.time_ms = 1700000123999ULL;
    fill(s[2].u.voter.sig, 64, 0x01);
    s[3].type = UL_SEC_VOTER;
    memset(s[3].u.voter.key, 0x42, 32);
    s[3].u.voter.power = 20;
    s[4].type = UL_SEC_LEAF;
    s[4].u.leaf.kind = UL_TX_PUBLISH;
    s[4].u.leaf.body = (ul_span){e_release, n_release};
    s[4].u.leaf.n_sigs = 1;
    s[5].type = UL_SEC_SIG;
    memset(s[5].u.sig.pubkey, 0x33, 32);
    fill(s[5].u.sig.sig, 64, 0x80);
    s[6].type = UL_SEC_INCLUSION;
    s[6].u.inclusion.index = 5;
    s[6].u.inclusion.size = 42;
    s[6].u.inclusion.n_path = 6;
    s[7].type = UL_SEC_STATE; /* membership, value shown */
    s[7].u.state.which = UL_PROOF_INSTALLABLE;
    s[7].u.state.depth = 10;
    s[7].u.state.bitmap[0] = 0xa0;
    s[7].u.state.bitmap[1] = 0x40;
    s[7].u.state.terminal = UL_TERM_VALUE;
    fill(ex_state_value, sizeof ex_state_value, 0x60);
    s[7].u.state.value = (ul_span){ex_state_value, sizeof ex_state_value};
    s[7].u.state.hw = ul_span_str("rx1-revA");
    s[8].type = UL_SEC_SIBLINGS;
    s[8].u.siblings.n = 3;
    s[9].type = UL_SEC_STATE; /* ends in an empty subtree */
    s[9].u.state.which = UL_PROOF_REVOCATION;
    s[9].u.state.depth = 3;
    s[9].u.state.bitmap[0] = 0x20;
    s[10].type = UL_SEC_SIBLINGS;
    s[10].u.siblings.n = 1;
    s[11].type = UL_SEC_STATE; /* ends in another key's leaf */
    s[11].u.state.which = UL_PROOF_REVOCATION;
    s[11].u.state.terminal = UL_TERM_LEAF;
    fill(s[11].u.state.leaf_key, 32, 0xe0);
    fill(s[11].u.state.leaf_value, 32, 0xf0);
    for (size_t i = 0; i < N_EX_SECS; i++) {
        for (size_t j = 0; j < 8; j++) {
            fill(ex_sec_hashes[i][j], 32, (uint8_t)(0x10 * j + i));
        }
    }
}

/* The example stream, each section in its byte string. */
static size_t ex_sections_stream(uint8_t *out, size_t cap)
{
    size_t at = 0;
    ex_sections();
    for (size_t i = 0; i < N_EX_SECS; i++) {
        size_t n = 0;
        assert_int_equal(ul_schema_section_encode(out + at, cap - at, &n, &ex_secs[i],
                                                  (const uint8_t(*)[32])ex_sec_hashes[i]),
                         UL_OK);
        at += n;
    }
    return at;
}

/* Decodes a section body and re-encodes it: the bytes must come back the same. */
static ul_err sec_rt(const uint8_t *body, size_t n, ul_section *d)
{
    static uint8_t re[UL_MAX_SECTION_BYTES + 16], hs[256][UL_HASH_BYTES];
    size_t rn = 0, m = 0;
    ul_err e = ul_schema_section_decode(d, body, n);
    if (e != UL_OK) {
        return e;
    }
    ul_span list = d->type == UL_SEC_INCLUSION  ? d->u.inclusion.path
                   : d->type == UL_SEC_SIBLINGS ? d->u.siblings.hashes
                                                : (ul_span){NULL, 0};
    m = d->type == UL_SEC_INCLUSION  ? d->u.inclusion.n_path
        : d->type == UL_SEC_SIBLINGS ? d->u.siblings.n
                                     : 0;
    assert_int_equal(list.len, m * UL_SECTION_HASH_STRIDE);
    for (size_t i = 0; i < m; i++) {
        memcpy(hs[i], ul_section_hash(list, i), UL_HASH_BYTES);
    }
    assert_int_equal(ul_schema_section_encode(re, sizeof re, &rn, d, (const uint8_t(*)[32])hs),
                     UL_OK);
    size_t h;
    uint64_t bl;
    assert_int_equal(ul_schema_section_frame(re, rn, &h, &bl), UL_OK);
    assert_int_equal(bl, n);
    assert_int_equal(h + n, rn);
    assert_memory_equal(re + h, body, n);
    return UL_OK;
}

static void test_sections_roundtrip(void **state)
{
    static uint8_t stream[BIG], gold[BIG];
    size_t n = ex_sections_stream(stream, sizeof stream);
    if (getenv("UL_WRITE_GOLDEN")) {
        golden_write("sections", stream, n);
    }
    size_t g = golden_read("sections", gold, sizeof gold);
    if (g != n || memcmp(gold, stream, n) != 0) {
        fail_msg("sections: encoding differs from tests/vectors/golden/sections.hex");
    }
    size_t at = 0;
    for (size_t i = 0; i < N_EX_SECS; i++) {
        size_t h;
        uint64_t bl;
        ul_section d;
        assert_int_equal(ul_schema_section_frame(stream + at, n - at, &h, &bl), UL_OK);
        assert_int_equal(sec_rt(stream + at + h, (size_t)bl, &d), UL_OK);
        assert_int_equal(d.type, ex_secs[i].type);
        const ul_section *x = &ex_secs[i];
        switch (d.type) {
        case UL_SEC_BEGIN:
            assert_int_equal(d.u.begin.version, 2);
            assert_memory_equal(d.u.begin.chain_id, x->u.begin.chain_id, 32);
            break;
        case UL_SEC_HEADER:
            assert_true(ul_span_eq(d.u.header.header, x->u.header.header));
            assert_int_equal(d.u.header.n_voters, x->u.header.n_voters);
            break;
        case UL_SEC_VOTER:
            assert_int_equal(d.u.voter.has_sig, x->u.voter.has_sig);
            assert_int_equal(d.u.voter.power, x->u.voter.power);
            assert_int_equal(d.u.voter.time_ms, x->u.voter.time_ms);
            assert_memory_equal(d.u.voter.sig, x->u.voter.sig, 64);
            break;
        case UL_SEC_LEAF:
            assert_true(ul_span_eq(d.u.leaf.body, x->u.leaf.body));
            assert_int_equal(d.u.leaf.n_sigs, 1);
            break;
        case UL_SEC_SIG:
            assert_memory_equal(&d.u.sig, &x->u.sig, sizeof d.u.sig);
            break;
        case UL_SEC_INCLUSION:
            assert_int_equal(d.u.inclusion.index, 5);
            assert_int_equal(d.u.inclusion.n_path, 6);
            assert_memory_equal(ul_section_hash(d.u.inclusion.path, 5), ex_sec_hashes[i][5], 32);
            break;
        case UL_SEC_STATE:
            assert_int_equal(d.u.state.terminal, x->u.state.terminal);
            assert_int_equal(d.u.state.depth, x->u.state.depth);
            assert_memory_equal(d.u.state.bitmap, x->u.state.bitmap, 32);
            assert_true(ul_span_eq(d.u.state.value, x->u.state.value));
            assert_memory_equal(d.u.state.leaf_key, x->u.state.leaf_key, 32);
            assert_true(ul_span_eq(d.u.state.hw, x->u.state.hw));
            break;
        default:
            assert_int_equal(d.u.siblings.n, x->u.siblings.n);
            assert_memory_equal(ul_section_hash(d.u.siblings.hashes, 0), ex_sec_hashes[i][0], 32);
        }
        /* Every prefix of the body is malformed; every byte flip fails or re-encodes the same. */
        for (size_t k = 0; k < bl; k++) {
            uint8_t *p = malloc(k ? k : 1);
            memcpy(p, stream + at + h, k);
            ul_err e = ul_schema_section_decode(&d, p, k);
            free(p);
            if (e != UL_E_CBOR_MALFORMED) {
                fail_msg("section %zu prefix %zu: %s", i, k, ul_err_name(e));
            }
            uint8_t *q = stream + at + h;
            for (unsigned bit = 0; bit < 8; bit += 3) {
                q[k] ^= (uint8_t)(1u << bit);
                (void)sec_rt(q, (size_t)bl, &d);
                q[k] ^= (uint8_t)(1u << bit);
            }
        }
        /* Every buffer too small. */
        for (size_t cap = 0; cap < h + bl; cap++) {
            static uint8_t out[UL_MAX_SECTION_BYTES + 16];
            size_t len = 99;
            ul_err e = ul_schema_section_encode(cap ? out : NULL, cap, &len, x,
                                                (const uint8_t(*)[32])ex_sec_hashes[i]);
            if (e != UL_E_BUFFER || len != 0) {
                fail_msg("section %zu cap %zu: %s", i, cap, ul_err_name(e));
            }
        }
        at += h + (size_t)bl;
    }
    assert_int_equal(at, n);
}

/* Encoded size of section s with its byte-string head; hash lists are read as zero hashes. */
static size_t sec_size(const ul_section *s)
{
    static uint8_t out[UL_MAX_SECTION_BYTES + 16];
    static const uint8_t zeros[UL_SMT_DEPTH][UL_HASH_BYTES];
    size_t n = 0;
    assert_int_equal(ul_schema_section_encode(out, sizeof out, &n, s, zeros), UL_OK);
    return n;
}

/* The size of the largest bundle's state proof: full depth, every sibling present, a value and
 * a hardware class at their bounds. */
static size_t state_proof_max(void)
{
    static uint8_t value[UL_MAX_STATE_VALUE_BYTES], label[UL_MAX_LABEL_LEN];
    static ul_section s;
    memset(&s, 0, sizeof s);
    memset(label, 'a', sizeof label);
    s.type = UL_SEC_STATE;
    s.u.state.which = UL_PROOF_INSTALLABLE;
    s.u.state.depth = UL_SMT_DEPTH;
    memset(s.u.state.bitmap, 0xff, sizeof s.u.state.bitmap);
    s.u.state.terminal = UL_TERM_VALUE;
    s.u.state.value = (ul_span){value, sizeof value};
    s.u.state.hw = (ul_span){label, sizeof label};
    size_t n = sec_size(&s);
    memset(&s, 0, sizeof s);
    s.type = UL_SEC_SIBLINGS;
    s.u.siblings.n = UL_MAX_SIBLINGS_PER_SECTION;
    return n + UL_SMT_DEPTH / UL_MAX_SIBLINGS_PER_SECTION * sec_size(&s);
}

/* The largest bundle a node writes fits UL_MAX_BUNDLE_BYTES, the buffer ul_chain_bundle fills
 * and the most the CLI and devices read: every validator-set step with a full set that all
 * signed, the release section at its bound, every signature, the deepest inclusion proof and two
 * state proofs at their largest. */
static void test_bundle_max(void **state)
{
    static uint8_t hdr[UL_MAX_HEADER_BYTES];
    static ul_section s;
    ul_header h;
    size_t nh;
    ex_header(&h);
    h.height = h.time_ms = h.log_size = UINT64_MAX;
    assert_int_equal(ul_schema_header_encode(hdr, sizeof hdr, &nh, &h), UL_OK);
    memset(&s, 0, sizeof s);
    s.type = UL_SEC_HEADER;
    s.u.header.header = (ul_span){hdr, nh};
    s.u.header.round = UINT64_MAX;
    s.u.header.n_voters = UL_MAX_VALIDATORS;
    size_t step = sec_size(&s);
    memset(&s, 0, sizeof s);
    s.type = UL_SEC_VOTER;
    s.u.voter.power = UL_MAX_TOTAL_POWER;
    s.u.voter.has_sig = true;
    s.u.voter.time_ms = UINT64_MAX;
    step += UL_MAX_VALIDATORS * sec_size(&s);
    memset(&s, 0, sizeof s);
    s.type = UL_SEC_BEGIN;
    s.u.begin.version = UL_BUNDLE_VERSION;
    s.u.begin.n_steps = UL_MAX_VALSET_STEPS;
    size_t total = sec_size(&s) + (UL_MAX_VALSET_STEPS + 1) * step;
    total += 3 + UL_MAX_SECTION_BYTES; /* the release: the decoder's bound, in a 3-byte head */
    memset(&s, 0, sizeof s);
    s.type = UL_SEC_SIG;
    total += UL_MAX_SIGS * sec_size(&s);
    memset(&s, 0, sizeof s);
    s.type = UL_SEC_INCLUSION;
    s.u.inclusion.index = UINT64_MAX - 1;
    s.u.inclusion.size = UINT64_MAX;
    s.u.inclusion.n_path = UL_MAX_PROOF_DEPTH;
    total += sec_size(&s) + 2 * state_proof_max(); /* revocation's has no class: smaller */
    assert_true(total <= UL_MAX_BUNDLE_BYTES);
    (void)state;
}

/* A section body built with the raw writer: [type, ...] */
static ul_err sec_dec(void)
{
    static ul_section d;
    return ul_schema_section_decode(&d, vbuf, vend());
}

/* Puts n hashes as [* bstr(32)]. */
static void put_hash_list(ul_cbor_writer *w, size_t n, size_t len)
{
    static uint8_t h[64];
    ul_cbor_put_array(w, n);
    for (size_t i = 0; i < n; i++) {
        ul_cbor_put_bytes(w, h, len);
    }
}

static void test_section_counts(void **state)
{
    ul_cbor_writer *w;
    /* Not an array, empty, unknown type, type not a uint, too big, trailing bytes. */
    ul_cbor_put_map(vbegin(), 0);
    assert_int_equal(sec_dec(), UL_E_CBOR_TYPE);
    ul_cbor_put_array(vbegin(), 0);
    assert_int_equal(sec_dec(), UL_E_SCHEMA_FIELD);
    w = vbegin();
    ul_cbor_put_array(w, 2);
    ul_cbor_put_uint(w, UL_SEC_MAX_ + 1);
    ul_cbor_put_uint(w, 0);
    assert_int_equal(sec_dec(), UL_E_SCHEMA_FIELD);
    w = vbegin();
    ul_cbor_put_array(w, 2);
    ul_cbor_put_text(w, S("x"));
    ul_cbor_put_uint(w, 0);
    assert_int_equal(sec_dec(), UL_E_CBOR_TYPE);
    static ul_section d;
    assert_int_equal(ul_schema_section_decode(&d, vbuf, UL_MAX_SECTION_BYTES + 1), UL_E_LIMIT);
    assert_int_equal(ul_schema_section_decode(&d, NULL, 0), UL_E_CBOR_MALFORMED);
    static uint8_t stream[BIG];
    size_t n = ex_sections_stream(stream, sizeof stream);
    assert_true(n > 0);
    /* Each example with one element fewer and one more: the count is exact per type. */
    for (size_t i = 0; i < N_EX_SECS; i++) {
        static uint8_t enc[UL_MAX_SECTION_BYTES + 16];
        size_t len, h;
        uint64_t bl;
        assert_int_equal(ul_schema_section_encode(enc, sizeof enc, &len, &ex_secs[i],
                                                  (const uint8_t(*)[32])ex_sec_hashes[i]),
                         UL_OK);
        assert_int_equal(ul_schema_section_frame(enc, len, &h, &bl), UL_OK);
        enc[len] = 0x00;
        assert_int_equal(ul_schema_section_decode(&d, enc + h, (size_t)bl + 1), UL_E_CBOR_TRAILING);
        uint8_t head = enc[h];
        for (int delta = -1; delta <= 1; delta += 2) {
            enc[h] = (uint8_t)(head + delta); /* arrays of < 24: the count sits in the head */
            size_t extra = delta > 0 ? 1 : 0;
            ul_err e = ul_schema_section_decode(&d, enc + h, (size_t)bl + extra);
            bool voter_ok = ex_secs[i].type == UL_SEC_VOTER; /* 3 -> 4 and 5 -> 4 or 6 */
            if (e != UL_E_SCHEMA_FIELD && !(voter_ok && e == UL_E_SCHEMA_FIELD)) {
                fail_msg("section %zu with %+d elements: %s", i, delta, ul_err_name(e));
            }
        }
        enc[h] = head;
    }
    /* A voter of 4 elements. */
    w = vbegin();
    ul_cbor_put_array(w, 4);
    ul_cbor_put_uint(w, UL_SEC_VOTER);
    ul_cbor_put_bytes(w, vbuf + 100, 32);
    ul_cbor_put_uint(w, 1);
    ul_cbor_put_uint(w, 1);
    assert_int_equal(sec_dec(), UL_E_SCHEMA_FIELD);
}

/* BEGIN, HEADER, VOTER, LEAF, SIG: each field at its bound and one past. */
static void begin_with(uint64_t version, size_t id_len, uint64_t n_steps)
{
    static uint8_t id[40];
    ul_cbor_writer *w = vbegin();
    ul_cbor_put_array(w, 4);
    ul_cbor_put_uint(w, UL_SEC_BEGIN);
    ul_cbor_put_uint(w, version);
    ul_cbor_put_bytes(w, id, id_len);
    ul_cbor_put_uint(w, n_steps);
}

static void header_with(const uint8_t *hdr, size_t hlen, uint64_t n_voters)
{
    ul_cbor_writer *w = vbegin();
    ul_cbor_put_array(w, 4);
    ul_cbor_put_uint(w, UL_SEC_HEADER);
    ul_cbor_put_raw(w, (ul_span){hdr, hlen});
    ul_cbor_put_uint(w, 0);
    ul_cbor_put_uint(w, n_voters);
}

static void voter_with(uint64_t power, size_t sig_len)
{
    static uint8_t k[64];
    ul_cbor_writer *w = vbegin();
    ul_cbor_put_array(w, sig_len ? 5 : 3);
    ul_cbor_put_uint(w, UL_SEC_VOTER);
    ul_cbor_put_bytes(w, k, 32);
    ul_cbor_put_uint(w, power);
    if (sig_len) {
        ul_cbor_put_uint(w, 1);
        ul_cbor_put_bytes(w, k, sig_len);
    }
}

static void leaf_with(uint64_t kind, const uint8_t *body, size_t blen, uint64_t n_sigs)
{
    ul_cbor_writer *w = vbegin();
    ul_cbor_put_array(w, 4);
    ul_cbor_put_uint(w, UL_SEC_LEAF);
    ul_cbor_put_uint(w, kind);
    ul_cbor_put_raw(w, (ul_span){body, blen});
    ul_cbor_put_uint(w, n_sigs);
}

/* {1: bstr(x)} of exactly n bytes (n >= 8). */
static size_t map_of(uint8_t *out, size_t n)
{
    static uint8_t z[UL_MAX_SECTION_BYTES];
    ul_cbor_writer w;
    size_t x = n - 3 - (n - 3 > 255 ? 2 : n - 3 > 23 ? 1 : 0);
    ul_cbor_writer_init(&w, out, n);
    ul_cbor_put_map(&w, 1);
    ul_cbor_put_uint(&w, 1);
    ul_cbor_put_bytes(&w, z, x);
    assert_int_equal(w.err, UL_OK);
    assert_int_equal(w.len, n);
    return n;
}

static void test_section_head_fields(void **state)
{
    static uint8_t m[UL_MAX_SECTION_BYTES + 8];
    build_parts();
    begin_with(2, 32, UL_MAX_VALSET_STEPS);
    assert_int_equal(sec_dec(), UL_OK);
    begin_with(2, 32, UL_MAX_VALSET_STEPS + 1);
    assert_int_equal(sec_dec(), UL_E_LIMIT);
    begin_with(9, 32, 0); /* the version is the verifier's to judge */
    assert_int_equal(sec_dec(), UL_OK);
    begin_with(2, 31, 0);
    assert_int_equal(sec_dec(), UL_E_SCHEMA_FIELD);
    header_with(e_header, n_header, 1);
    assert_int_equal(sec_dec(), UL_OK);
    header_with(e_header, n_header, UL_MAX_VALIDATORS);
    assert_int_equal(sec_dec(), UL_OK);
    header_with(e_header, n_header, UL_MAX_VALIDATORS + 1);
    assert_int_equal(sec_dec(), UL_E_LIMIT);
    header_with(e_header, n_header, 0);
    assert_int_equal(sec_dec(), UL_E_SCHEMA_FIELD);
    header_with(e_valset, n_valset, 1); /* an array where the header map belongs */
    assert_int_equal(sec_dec(), UL_E_CBOR_TYPE);
    header_with(m, map_of(m, UL_MAX_HEADER_BYTES), 1);
    assert_int_equal(sec_dec(), UL_OK);
    header_with(m, map_of(m, UL_MAX_HEADER_BYTES + 1), 1);
    assert_int_equal(sec_dec(), UL_E_LIMIT);
    voter_with(1, 0);
    assert_int_equal(sec_dec(), UL_OK);
    voter_with(UL_MAX_TOTAL_POWER, 64);
    assert_int_equal(sec_dec(), UL_OK);
    voter_with(UL_MAX_TOTAL_POWER + 1, 64);
    assert_int_equal(sec_dec(), UL_E_LIMIT);
    voter_with(0, 0);
    assert_int_equal(sec_dec(), UL_E_SCHEMA_FIELD);
    voter_with(1, 63);
    assert_int_equal(sec_dec(), UL_E_SCHEMA_FIELD);
    leaf_with(UL_TX_PUBLISH, e_release, n_release, 1);
    assert_int_equal(sec_dec(), UL_OK);
    leaf_with(UL_TX_PUBLISH, e_release, n_release, UL_MAX_SIGS);
    assert_int_equal(sec_dec(), UL_OK);
    leaf_with(UL_TX_PUBLISH, e_release, n_release, UL_MAX_SIGS + 1);
    assert_int_equal(sec_dec(), UL_E_LIMIT);
    leaf_with(UL_TX_PUBLISH, e_release, n_release, 0);
    assert_int_equal(sec_dec(), UL_E_SCHEMA_FIELD);
    leaf_with(0, e_release, n_release, 1);
    assert_int_equal(sec_dec(), UL_E_TX_KIND);
    leaf_with(UL_TX_KIND_MAX_ + 1, e_release, n_release, 1);
    assert_int_equal(sec_dec(), UL_E_TX_KIND);
    leaf_with(UL_TX_PUBLISH, e_valset, n_valset, 1);
    assert_int_equal(sec_dec(), UL_E_CBOR_TYPE);
    leaf_with(UL_TX_PUBLISH, m, map_of(m, UL_MAX_RECORD_BYTES), 1);
    assert_int_equal(sec_dec(), UL_OK);
    leaf_with(UL_TX_PUBLISH, m, map_of(m, UL_MAX_RECORD_BYTES + 1), 1);
    assert_int_equal(sec_dec(), UL_E_LIMIT);
    /* The body nests as inside a tx: 7 levels below the section's array, not 8. */
    for (size_t depth = 6; depth <= 7; depth++) {
        static uint8_t nest[32];
        size_t k = 0;
        for (size_t i = 0; i < depth; i++) {
            nest[k++] = 0xa1; /* {1: ...} */
            nest[k++] = 0x01;
        }
        nest[k++] = 0x00;
        leaf_with(UL_TX_PUBLISH, nest, k, 1);
        assert_int_equal(sec_dec(), depth == 7 ? UL_OK : UL_OK);
    }
    {
        static uint8_t nest[32];
        size_t k = 0;
        for (size_t i = 0; i < 8; i++) {
            nest[k++] = 0xa1;
            nest[k++] = 0x01;
        }
        nest[k++] = 0x00;
        leaf_with(UL_TX_PUBLISH, nest, k, 1);
        assert_int_equal(sec_dec(), UL_E_LIMIT);
    }
    ul_cbor_writer *w = vbegin();
    ul_cbor_put_array(w, 3);
    ul_cbor_put_uint(w, UL_SEC_SIG);
    ul_cbor_put_bytes(w, m, 32);
    ul_cbor_put_bytes(w, m, 65);
    assert_int_equal(sec_dec(), UL_E_SCHEMA_FIELD);
}

static void inclusion_with(uint64_t index, uint64_t size, size_t n_path, size_t hlen)
{
    ul_cbor_writer *w = vbegin();
    ul_cbor_put_array(w, 4);
    ul_cbor_put_uint(w, UL_SEC_INCLUSION);
    ul_cbor_put_uint(w, index);
    ul_cbor_put_uint(w, size);
    put_hash_list(w, n_path, hlen);
}

/* A STATE section; the installable kind (1) names a class, hw_len bytes long (0: none sent). */
static void state_with_hw(uint64_t which, uint64_t depth, const uint8_t *bitmap, size_t blen,
                          int terminal, size_t vlen, size_t hw_len)
{
    static uint8_t v[UL_MAX_STATE_VALUE_BYTES + 8];
    static char hw[UL_MAX_LABEL_LEN + 2];
    ul_cbor_writer *w = vbegin();
    ul_cbor_put_array(w, hw_len ? 6 : 5);
    ul_cbor_put_uint(w, UL_SEC_STATE);
    ul_cbor_put_uint(w, which);
    ul_cbor_put_uint(w, depth);
    ul_cbor_put_bytes(w, bitmap, blen);
    switch (terminal) {
    case 0:
        ul_cbor_put_null(w);
        break;
    case 1:
        ul_cbor_put_bytes(w, v, vlen);
        break;
    case 2:
        put_hash_list(w, 2, 32);
        break;
    case 3: /* a pair of the wrong arity */
        put_hash_list(w, 3, 32);
        break;
    case 4:
        ul_cbor_put_uint(w, 0);
        break;
    default:
        ul_cbor_put_raw(w, (ul_span){(const uint8_t *)"\xf5", 1}); /* true */
    }
    if (hw_len) {
        memset(hw, 'h', sizeof hw);
        ul_cbor_put_text(w, (ul_span){(const uint8_t *)hw, hw_len});
    }
}

static void state_with(uint64_t which, uint64_t depth, const uint8_t *bitmap, size_t blen,
                       int terminal, size_t vlen)
{
    state_with_hw(which, depth, bitmap, blen, terminal, vlen, which == 1 ? 8 : 0);
}

static void test_section_proof_fields(void **state)
{
    static uint8_t bm[40];
    memset(bm, 0, sizeof bm);
    inclusion_with(0, 1, 0, 32);
    assert_int_equal(sec_dec(), UL_OK);
    inclusion_with(1, 1, 0, 32);
    assert_int_equal(sec_dec(), UL_E_SCHEMA_FIELD);
    inclusion_with(0, 1, UL_MAX_PROOF_DEPTH, 32);
    assert_int_equal(sec_dec(), UL_OK);
    inclusion_with(0, 1, UL_MAX_PROOF_DEPTH + 1, 32);
    assert_int_equal(sec_dec(), UL_E_LIMIT);
    inclusion_with(0, 1, 2, 31);
    assert_int_equal(sec_dec(), UL_E_SCHEMA_FIELD);
    /* STATE: which 1..2, depth 0..256, bitmap ceil(depth / 8) bytes, nothing past depth. */
    state_with(1, 0, bm, 0, 0, 0);
    assert_int_equal(sec_dec(), UL_OK);
    state_with(2, UL_SMT_DEPTH, bm, 32, 0, 0);
    assert_int_equal(sec_dec(), UL_OK);
    state_with(2, UL_SMT_DEPTH + 1, bm, 33, 0, 0);
    assert_int_equal(sec_dec(), UL_E_LIMIT);
    state_with(0, 0, bm, 0, 0, 0);
    assert_int_equal(sec_dec(), UL_E_SCHEMA_FIELD);
    state_with(3, 0, bm, 0, 0, 0);
    assert_int_equal(sec_dec(), UL_E_SCHEMA_FIELD);
    state_with(1, 9, bm, 1, 0, 0);
    assert_int_equal(sec_dec(), UL_E_SCHEMA_FIELD);
    state_with(1, 9, bm, 3, 0, 0);
    assert_int_equal(sec_dec(), UL_E_SCHEMA_FIELD);
    bm[1] = 0x80; /* bit 8: the last one of depth 9 */
    state_with(1, 9, bm, 2, 0, 0);
    assert_int_equal(sec_dec(), UL_OK);
    bm[1] = 0x40; /* bit 9: past depth */
    state_with(1, 9, bm, 2, 0, 0);
    assert_int_equal(sec_dec(), UL_E_SCHEMA_FIELD);
    bm[1] = 0;
    state_with(1, 9, bm, 2, 1, 0);
    assert_int_equal(sec_dec(), UL_OK);
    state_with(1, 9, bm, 2, 1, UL_MAX_STATE_VALUE_BYTES);
    assert_int_equal(sec_dec(), UL_OK);
    state_with(1, 9, bm, 2, 1, UL_MAX_STATE_VALUE_BYTES + 1);
    assert_int_equal(sec_dec(), UL_E_LIMIT);
    state_with(1, 9, bm, 2, 2, 0);
    assert_int_equal(sec_dec(), UL_OK);
    state_with(1, 9, bm, 2, 3, 0);
    assert_int_equal(sec_dec(), UL_E_SCHEMA_FIELD);
    state_with(1, 9, bm, 2, 4, 0);
    assert_int_equal(sec_dec(), UL_E_CBOR_TYPE);
    state_with(1, 9, bm, 2, 5, 0);
    assert_int_equal(sec_dec(), UL_E_CBOR_TYPE);
    /* The installable proof names its class (a label); the revocation proof names none. */
    state_with_hw(1, 9, bm, 2, 0, 0, 0);
    assert_int_equal(sec_dec(), UL_E_SCHEMA_FIELD);
    state_with_hw(2, 9, bm, 2, 0, 0, 8);
    assert_int_equal(sec_dec(), UL_E_SCHEMA_FIELD);
    state_with_hw(1, 9, bm, 2, 0, 0, UL_MAX_LABEL_LEN);
    assert_int_equal(sec_dec(), UL_OK);
    state_with_hw(1, 9, bm, 2, 0, 0, UL_MAX_LABEL_LEN + 1);
    assert_int_equal(sec_dec(), UL_E_LIMIT);
    /* SIBLINGS: 1..64 hashes. */
    for (size_t n = 0; n <= UL_MAX_SIBLINGS_PER_SECTION + 1; n += UL_MAX_SIBLINGS_PER_SECTION) {
        for (size_t k = n ? n - 1 : 0; k <= n + 1 && k <= UL_MAX_SIBLINGS_PER_SECTION + 1; k++) {
            ul_cbor_writer *w = vbegin();
            ul_cbor_put_array(w, 2);
            ul_cbor_put_uint(w, UL_SEC_SIBLINGS);
            put_hash_list(w, k, 32);
            ul_err want = k == 0                            ? UL_E_SCHEMA_FIELD
                          : k > UL_MAX_SIBLINGS_PER_SECTION ? UL_E_LIMIT
                                                            : UL_OK;
            assert_int_equal(sec_dec(), want);
        }
    }
    /* The encoder refuses what the decoder would, and hash lists it has no hashes for. */
    static uint8_t out[UL_MAX_SECTION_BYTES + 16], hs[UL_MAX_SIBLINGS_PER_SECTION + 1][32];
    size_t len = 7;
    ul_section s;
    memset(&s, 0, sizeof s);
    s.type = UL_SEC_SIBLINGS;
    s.u.siblings.n = UL_MAX_SIBLINGS_PER_SECTION;
    assert_int_equal(ul_schema_section_encode(out, sizeof out, &len, &s, NULL), UL_E_ARG);
    assert_int_equal(ul_schema_section_encode(out, sizeof out, &len, &s, (const uint8_t(*)[32])hs),
                     UL_OK);
    s.u.siblings.n++;
    assert_int_equal(ul_schema_section_encode(out, sizeof out, &len, &s, (const uint8_t(*)[32])hs),
                     UL_E_LIMIT);
    assert_int_equal(len, 0);
    s.u.siblings.n = 0;
    assert_int_equal(ul_schema_section_encode(out, sizeof out, &len, &s, NULL), UL_E_SCHEMA_FIELD);
    s.type = UL_SEC_MAX_ + 1;
    assert_int_equal(ul_schema_section_encode(out, sizeof out, &len, &s, NULL), UL_E_SCHEMA_FIELD);
    memset(&s, 0, sizeof s);
    s.type = UL_SEC_STATE;
    s.u.state.which = 1;
    s.u.state.depth = 3;
    s.u.state.bitmap[0] = 0x10; /* past depth */
    assert_int_equal(ul_schema_section_encode(out, sizeof out, &len, &s, NULL), UL_E_SCHEMA_FIELD);
    s.u.state.bitmap[0] = 0;
    s.u.state.terminal = 3;
    assert_int_equal(ul_schema_section_encode(out, sizeof out, &len, &s, NULL), UL_E_SCHEMA_FIELD);
    s.u.state.terminal = UL_TERM_EMPTY;
    s.u.state.depth = UL_SMT_DEPTH + 1;
    assert_int_equal(ul_schema_section_encode(out, sizeof out, &len, &s, NULL), UL_E_LIMIT);
    memset(&s, 0, sizeof s);
    s.type = UL_SEC_HEADER; /* no header bytes */
    s.u.header.n_voters = 1;
    assert_int_equal(ul_schema_section_encode(out, sizeof out, &len, &s, NULL), UL_E_SCHEMA_FIELD);
    assert_int_equal(ul_schema_section_encode(out, sizeof out, NULL, &s, NULL), UL_E_ARG);
}

static void test_section_frame(void **state)
{
    static uint8_t b[UL_MAX_SECTION_BYTES + 16];
    size_t h = 9;
    uint64_t n = 9;
    /* Every head size, complete and cut. */
    static const struct {
        const char *hex;
        ul_err want;
        size_t head;
        uint64_t body;
    } cases[] = {
        {"", UL_E_TRUNCATED, 0, 0},
        {"40", UL_OK, 1, 0},
        {"41", UL_OK, 1, 1},
        {"57", UL_OK, 1, 23},
        {"58", UL_E_TRUNCATED, 0, 0},
        {"58 18", UL_OK, 2, 24},
        {"58 ff", UL_OK, 2, 255},
        {"59", UL_E_TRUNCATED, 0, 0},
        {"59 01", UL_E_TRUNCATED, 0, 0},
        {"59 01 00", UL_OK, 3, 256},
        {"59 10 40", UL_OK, 3, UL_MAX_SECTION_BYTES},
        {"59 10 41", UL_E_LIMIT, 0, 0},
        {"59 00 ff", UL_E_CBOR_NONCANONICAL, 0, 0},
        {"58 17", UL_E_CBOR_NONCANONICAL, 0, 0},
        {"59 00 17 00", UL_E_CBOR_NONCANONICAL, 0, 0},
        {"5a 00 00 10", UL_E_TRUNCATED, 0, 0},
        {"5a 00 00 10 40", UL_E_CBOR_NONCANONICAL, 0, 0},
        {"5a 00 01 00 00", UL_E_LIMIT, 0, 0},
        {"5b 00 00 00 00", UL_E_TRUNCATED, 0, 0},
        {"5b 00 00 00 01 00 00 00 00", UL_E_LIMIT, 0, 0},
        {"5b ff ff ff ff ff ff ff ff", UL_E_LIMIT, 0, 0},
        {"5b 00 00 00 00 00 00 00 05 00", UL_E_CBOR_NONCANONICAL, 0, 0},
        {"5f", UL_E_CBOR_NONCANONICAL, 0, 0},
        {"5c", UL_E_CBOR_MALFORMED, 0, 0},
        {"83", UL_E_CBOR_TYPE, 0, 0},
        {"61 61", UL_E_CBOR_TYPE, 0, 0},
        {"78", UL_E_CBOR_TYPE, 0, 0},
        {"00", UL_E_CBOR_TYPE, 0, 0},
        {"f6", UL_E_CBOR_TYPE, 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bytes *x = hb(cases[i].hex);
        memcpy(b, x->b, x->n);
        ul_err e = ul_schema_section_frame(b, x->n, &h, &n);
        if (e != cases[i].want) {
            fail_msg("frame %s: %s, want %s", cases[i].hex, ul_err_name(e),
                     ul_err_name(cases[i].want));
        }
        if (e == UL_OK) {
            assert_int_equal(h, cases[i].head);
            assert_int_equal(n, cases[i].body);
        } else {
            assert_int_equal(h, 0);
            assert_int_equal(n, 0);
        }
    }
    /* A real section: any prefix shorter than its head is truncated, any longer is framed. */
    static uint8_t stream[BIG];
    size_t len = ex_sections_stream(stream, sizeof stream);
    assert_true(len > 0);
    for (size_t i = 0; i < N_EX_SECS; i++) {
        size_t l, head;
        uint64_t body;
        assert_int_equal(ul_schema_section_encode(b, sizeof b, &l, &ex_secs[i],
                                                  (const uint8_t(*)[32])ex_sec_hashes[i]),
                         UL_OK);
        assert_int_equal(ul_schema_section_frame(b, l, &head, &body), UL_OK);
        for (size_t k = 0; k <= l; k++) {
            ul_err e = ul_schema_section_frame(b, k, &h, &n);
            assert_int_equal(e, k < head ? UL_E_TRUNCATED : UL_OK);
            if (e == UL_OK) {
                assert_int_equal(h, head);
                assert_int_equal(n, body);
            }
        }
    }
    assert_int_equal(ul_schema_section_frame(b, 1, NULL, &n), UL_E_ARG);
}

/* The tx and validator-set pieces a device hashes concatenate to the whole encodings. */
static void test_pieces(void **state)
{
    static uint8_t whole[UL_MAX_TX_BYTES], cat[UL_MAX_TX_BYTES + 64];
    size_t n, at = 0, k;
    ul_tx t;
    for (int pub = 0; pub <= 1; pub++) {
        ex_tx(&t, pub == 1);
        assert_int_equal(ul_schema_tx_encode(whole, sizeof whole, &n, &t), UL_OK);
        at = 0;
        assert_int_equal(ul_schema_tx_prefix_encode(cat, sizeof cat, &k, t.kind), UL_OK);
        at += k;
        memcpy(cat + at, t.body.ptr, t.body.len);
        at += t.body.len;
        assert_int_equal(ul_schema_tx_middle_encode(cat + at, sizeof cat - at, &k, t.n_sigs),
                         UL_OK);
        at += k;
        for (size_t i = 0; i < t.n_sigs; i++) {
            assert_int_equal(ul_schema_tx_sig_encode(cat + at, sizeof cat - at, &k, &t.sigs[i]),
                             UL_OK);
            at += k;
        }
        assert_int_equal(at, n);
        assert_memory_equal(cat, whole, n);
    }
    assert_int_equal(ul_schema_tx_prefix_encode(cat, sizeof cat, &k, 0), UL_E_TX_KIND);
    assert_int_equal(k, 0);
    assert_int_equal(ul_schema_tx_prefix_encode(cat, sizeof cat, &k, UL_TX_KIND_MAX_ + 1),
                     UL_E_TX_KIND);
    assert_int_equal(ul_schema_tx_prefix_encode(cat, 3, &k, 2), UL_E_BUFFER);
    assert_int_equal(ul_schema_tx_middle_encode(cat, sizeof cat, &k, 0), UL_E_SCHEMA_FIELD);
    assert_int_equal(ul_schema_tx_middle_encode(cat, sizeof cat, &k, UL_MAX_SIGS), UL_OK);
    assert_int_equal(ul_schema_tx_middle_encode(cat, sizeof cat, &k, UL_MAX_SIGS + 1), UL_E_LIMIT);
    assert_int_equal(ul_schema_tx_sig_encode(cat, 100, &k, &t.sigs[0]), UL_E_BUFFER);
    assert_int_equal(ul_schema_tx_sig_encode(cat, 101, &k, &t.sigs[0]), UL_OK);
    assert_int_equal(k, 101);
    /* Validator sets. */
    static ul_valset s;
    ex_valset(&s);
    assert_int_equal(ul_schema_valset_encode(whole, sizeof whole, &n, &s), UL_OK);
    assert_int_equal(ul_schema_valset_head_encode(cat, sizeof cat, &k, s.n), UL_OK);
    at = k;
    for (size_t i = 0; i < s.n; i++) {
        assert_int_equal(ul_schema_validator_encode(cat + at, sizeof cat - at, &k, &s.v[i]), UL_OK);
        at += k;
    }
    assert_int_equal(at, n);
    assert_memory_equal(cat, whole, n);
    assert_int_equal(ul_schema_valset_head_encode(cat, sizeof cat, &k, 0), UL_E_SCHEMA_FIELD);
    assert_int_equal(ul_schema_valset_head_encode(cat, sizeof cat, &k, UL_MAX_VALIDATORS), UL_OK);
    assert_int_equal(ul_schema_valset_head_encode(cat, sizeof cat, &k, UL_MAX_VALIDATORS + 1),
                     UL_E_LIMIT);
    ul_validator v = s.v[0];
    v.power = 0;
    assert_int_equal(ul_schema_validator_encode(cat, sizeof cat, &k, &v), UL_E_SCHEMA_FIELD);
    v.power = UL_MAX_TOTAL_POWER;
    assert_int_equal(ul_schema_validator_encode(cat, sizeof cat, &k, &v), UL_OK);
    v.power++;
    assert_int_equal(ul_schema_validator_encode(cat, sizeof cat, &k, &v), UL_E_LIMIT);
    /* A genesis's set, found without decoding it into a ul_valset. */
    static ul_genesis g;
    ul_span set;
    ex_genesis(&g);
    assert_int_equal(ul_schema_genesis_encode(whole, sizeof whole, &n, &g), UL_OK);
    assert_int_equal(ul_schema_genesis_validators(&set, whole, n), UL_OK);
    assert_int_equal(ul_schema_valset_encode(cat, sizeof cat, &k, &g.validators), UL_OK);
    assert_int_equal(set.len, k);
    assert_memory_equal(set.ptr, cat, k);
    for (size_t len = 0; len < n; len++) {
        assert_int_equal(ul_schema_genesis_validators(&set, whole, len), UL_E_CBOR_MALFORMED);
    }
    g.version = 2;
    whole[2] = 0x02; /* a1.. 01 01 -> version 2 (the map's first key is 1) */
    assert_int_equal(ul_schema_genesis_validators(&set, whole, n), UL_E_VERSION);
    assert_int_equal(ul_schema_genesis_decode(&g, whole, n), UL_E_VERSION);
    ex_genesis(&g);
    ul_validator tmp = g.validators.v[0];
    g.validators.v[0] = g.validators.v[1];
    g.validators.v[1] = tmp;
    ul_cbor_writer *w = vbegin(); /* the set unsorted: written by hand, the encoder refuses it */
    ul_cbor_put_map(w, 4);
    ul_cbor_put_uint(w, 1);
    ul_cbor_put_uint(w, 1);
    ul_cbor_put_uint(w, 2);
    ul_cbor_put_text(w, g.name);
    ul_cbor_put_uint(w, 3);
    ul_cbor_put_uint(w, g.time_ms);
    ul_cbor_put_uint(w, 4);
    ul_valset_write(w, &g.validators);
    n = vend();
    assert_int_equal(ul_schema_genesis_validators(&set, vbuf, n), UL_E_SCHEMA_FIELD);
    assert_int_equal(ul_schema_genesis_decode(&g, vbuf, n), UL_E_SCHEMA_FIELD);
}

/* ---- Device state ------------------------------------------------------------------------- */

static ul_err dev_rt(const ul_device_state *st)
{
    static uint8_t out[8192], out2[8192];
    static ul_device_state d;
    size_t n, n2;
    ul_err e = ul_schema_device_state_encode(out, sizeof out, &n, st);
    if (e != UL_OK) {
        assert_int_equal(n, 0);
        return e;
    }
    assert_int_equal(ul_schema_device_state_decode(&d, out, n), UL_OK);
    assert_int_equal(ul_schema_device_state_encode(out2, sizeof out2, &n2, &d), UL_OK);
    assert_int_equal(n2, n);
    assert_memory_equal(out, out2, n);
    assert_int_equal(d.n_components, st->n_components);
    assert_int_equal(d.height, st->height);
    for (size_t i = 0; i < d.n_components; i++) {
        assert_int_equal(d.comp[i].ns_len, st->comp[i].ns_len);
        assert_memory_equal(d.comp[i].ns, st->comp[i].ns, d.comp[i].ns_len);
        assert_int_equal(d.comp[i].trial, st->comp[i].trial);
        assert_int_equal(d.comp[i].slot[1].seq, st->comp[i].slot[1].seq);
    }
    return UL_OK;
}

/* Decodes the example device state with field key replaced by the scratch writer's bytes. */
static ul_err dev_with(uint64_t key)
{
    static uint8_t in[8192], out[8192];
    static ul_device_state d;
    size_t vlen = vend();
    size_t n = example(R_DEVICE, in);
    n = edit_map(out, sizeof out, in, n, key, vbuf, vlen);
    return ul_schema_device_state_decode(&d, out, n);
}

/* component = [ns, active, trial, boots, [slot, slot]] with one field chosen. */
static void put_component(ul_cbor_writer *w, const char *ns, uint64_t active, uint64_t trial,
                          size_t version_len, size_t n_slots)
{
    static uint8_t d[32], v[UL_MAX_LABEL_LEN + 2];
    memset(v, '1', sizeof v);
    ul_cbor_put_array(w, 5);
    ul_cbor_put_text(w, S(ns));
    ul_cbor_put_uint(w, active);
    ul_cbor_put_uint(w, trial);
    ul_cbor_put_uint(w, 0);
    ul_cbor_put_array(w, n_slots);
    for (size_t i = 0; i < n_slots; i++) {
        ul_cbor_put_array(w, 4);
        ul_cbor_put_uint(w, 1);
        ul_cbor_put_bytes(w, d, 32);
        ul_cbor_put_uint(w, 1);
        ul_cbor_put_text(w, (ul_span){v, version_len});
    }
}

static void test_device_state_codec(void **state)
{
    static ul_device_state st;
    ex_device(&st);
    assert_int_equal(dev_rt(&st), UL_OK);
    st.version = 2;
    assert_int_equal(dev_rt(&st), UL_E_VERSION);
    ex_device(&st);
    st.height = 0;
    assert_int_equal(dev_rt(&st), UL_E_SCHEMA_FIELD); /* a header hash with no header */
    memset(st.header_hash, 0, 32);
    assert_int_equal(dev_rt(&st), UL_OK);
    ex_device(&st);
    st.hw_len = 0;
    assert_int_equal(dev_rt(&st), UL_E_SCHEMA_FIELD);
    memset(st.hw, 'h', sizeof st.hw);
    st.hw_len = UL_MAX_LABEL_LEN;
    assert_int_equal(dev_rt(&st), UL_OK);
    st.hw_len = UL_MAX_LABEL_LEN + 1;
    assert_int_equal(dev_rt(&st), UL_E_LIMIT);
    ex_device(&st);
    st.hw[0] = '\n';
    assert_int_equal(dev_rt(&st), UL_E_SCHEMA_FIELD);
    /* Components: up to UL_MAX_COMPONENTS, sorted by namespace, unique. */
    ex_device(&st);
    st.n_components = UL_MAX_COMPONENTS;
    for (size_t i = 0; i < UL_MAX_COMPONENTS; i++) {
        st.comp[i] = st.comp[1];
        st.comp[i].ns[st.comp[i].ns_len] = (char)('a' + i);
        st.comp[i].ns_len++;
    }
    assert_int_equal(dev_rt(&st), UL_OK);
    st.n_components = UL_MAX_COMPONENTS + 1;
    assert_int_equal(dev_rt(&st), UL_E_LIMIT);
    st.n_components = 3;
    st.comp[2] = st.comp[1];
    assert_int_equal(dev_rt(&st), UL_E_SCHEMA_FIELD);
    st.comp[2] = st.comp[0];
    assert_int_equal(dev_rt(&st), UL_E_SCHEMA_FIELD);
    ex_device(&st);
    st.comp[0].ns_len--; /* "acme/bootloade" < "acme/router-x1": still sorted */
    assert_int_equal(dev_rt(&st), UL_OK);
    st.comp[0].ns[0] = 'A';
    assert_int_equal(dev_rt(&st), UL_E_NS_NAME);
    ex_device(&st);
    memset(st.comp[1].ns, 'z', UL_MAX_NS_LEN);
    st.comp[1].ns[3] = '/';
    st.comp[1].ns_len = UL_MAX_NS_LEN;
    assert_int_equal(dev_rt(&st), UL_OK);
    st.comp[1].ns_len = UL_MAX_NS_LEN + 1;
    assert_int_equal(dev_rt(&st), UL_E_LIMIT);
    ex_device(&st);
    st.comp[1].active = 2;
    assert_int_equal(dev_rt(&st), UL_E_SCHEMA_FIELD);
    ex_device(&st);
    memset(st.comp[1].slot[0].version, '7', UL_MAX_LABEL_LEN);
    st.comp[1].slot[0].version_len = UL_MAX_LABEL_LEN;
    assert_int_equal(dev_rt(&st), UL_OK);
    st.comp[1].slot[0].version_len = UL_MAX_LABEL_LEN + 1;
    assert_int_equal(dev_rt(&st), UL_E_LIMIT);
    st.comp[1].slot[0].version_len = 2;
    st.comp[1].slot[0].version[1] = 0x7f;
    assert_int_equal(dev_rt(&st), UL_E_SCHEMA_FIELD);
    /* The same rules from the bytes' side. */
    ul_cbor_writer *w = vbegin();
    ul_cbor_put_array(w, 1);
    put_component(w, "a/b", 0, 0, 3, 2);
    assert_int_equal(dev_with(7), UL_OK);
    w = vbegin();
    ul_cbor_put_array(w, 1);
    put_component(w, "a/b", 2, 0, 3, 2);
    assert_int_equal(dev_with(7), UL_E_SCHEMA_FIELD);
    w = vbegin();
    ul_cbor_put_array(w, 1);
    put_component(w, "a/b", 0, 2, 3, 2);
    assert_int_equal(dev_with(7), UL_E_SCHEMA_FIELD);
    w = vbegin();
    ul_cbor_put_array(w, 1);
    put_component(w, "a/b", 0, 1, UL_MAX_LABEL_LEN, 2);
    assert_int_equal(dev_with(7), UL_OK);
    w = vbegin();
    ul_cbor_put_array(w, 1);
    put_component(w, "a/b", 0, 1, UL_MAX_LABEL_LEN + 1, 2);
    assert_int_equal(dev_with(7), UL_E_LIMIT);
    w = vbegin();
    ul_cbor_put_array(w, 1);
    put_component(w, "a/b", 0, 1, 0, 3);
    assert_int_equal(dev_with(7), UL_E_SCHEMA_FIELD);
    w = vbegin();
    ul_cbor_put_array(w, 2);
    put_component(w, "a/c", 0, 1, 1, 2);
    put_component(w, "a/b", 0, 1, 1, 2);
    assert_int_equal(dev_with(7), UL_E_SCHEMA_FIELD);
    w = vbegin();
    ul_cbor_put_array(w, UL_MAX_COMPONENTS + 1);
    for (size_t i = 0; i <= UL_MAX_COMPONENTS; i++) {
        char nm[8];
        snprintf(nm, sizeof nm, "a/%c", (char)('a' + i));
        put_component(w, nm, 0, 0, 1, 2);
    }
    assert_int_equal(dev_with(7), UL_E_LIMIT);
    ul_cbor_put_array(vbegin(), 0);
    assert_int_equal(dev_with(7), UL_OK);
    ul_cbor_put_text(vbegin(), S(""));
    assert_int_equal(dev_with(6), UL_E_SCHEMA_FIELD);
    ul_cbor_put_uint(vbegin(), 1);
    assert_int_equal(dev_with(1), UL_OK);
    ul_cbor_put_uint(vbegin(), 0);
    assert_int_equal(dev_with(1), UL_E_VERSION);
    ul_cbor_put_bytes(vbegin(), vbuf + 1000, 31);
    assert_int_equal(dev_with(5), UL_E_SCHEMA_FIELD);
    static uint8_t in[8192], out[8192];
    static ul_device_state d;
    size_t n = example(R_DEVICE, in);
    for (uint64_t key = 1; key <= 7; key++) {
        size_t m = edit_map(out, sizeof out, in, n, key, NULL, 0);
        assert_int_equal(ul_schema_device_state_decode(&d, out, m), UL_E_SCHEMA_FIELD);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_err_names),
        cmocka_unit_test(test_spans),
        cmocka_unit_test(test_uint_heads),
        cmocka_unit_test(test_reader_classes),
        cmocka_unit_test(test_skip_maps_and_depth),
        cmocka_unit_test(test_writer),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_golden),
        cmocka_unit_test(test_truncation_every_prefix),
        cmocka_unit_test(test_buffer_every_cap),
        cmocka_unit_test(test_trailing_and_empty),
        cmocka_unit_test(test_byte_flips),
        cmocka_unit_test(test_vote_handmade),
        cmocka_unit_test(test_vote_fields),
        cmocka_unit_test(test_release_roundtrip),
        cmocka_unit_test(test_release_optional_fields),
        cmocka_unit_test(test_release_labels),
        cmocka_unit_test(test_huge_labels_are_limits),
        cmocka_unit_test(test_release_namespaces),
        cmocka_unit_test(test_ns_check),
        cmocka_unit_test(test_release_lists),
        cmocka_unit_test(test_release_deps),
        cmocka_unit_test(test_release_enc),
        cmocka_unit_test(test_release_size_limit),
        cmocka_unit_test(test_policy_roundtrip),
        cmocka_unit_test(test_policy_thresholds),
        cmocka_unit_test(test_policy_roles),
        cmocka_unit_test(test_policy_lists),
        cmocka_unit_test(test_policy_size_limit),
        cmocka_unit_test(test_register),
        cmocka_unit_test(test_set_policy),
        cmocka_unit_test(test_approve_revoke),
        cmocka_unit_test(test_rotate_transfer),
        cmocka_unit_test(test_approvals),
        cmocka_unit_test(test_tx),
        cmocka_unit_test(test_tx_body),
        cmocka_unit_test(test_tx_size_limit),
        cmocka_unit_test(test_valset),
        cmocka_unit_test(test_genesis),
        cmocka_unit_test(test_header),
        cmocka_unit_test(test_commit),
        cmocka_unit_test(test_checkpoint_sigs),
        cmocka_unit_test(test_proofs),
        cmocka_unit_test(test_block),
        cmocka_unit_test(test_block_tx_count),
        cmocka_unit_test(test_block_header),
        cmocka_unit_test(test_block_header_cleared),
        cmocka_unit_test(test_block_split),
        cmocka_unit_test(test_sections_roundtrip),
        cmocka_unit_test(test_bundle_max),
        cmocka_unit_test(test_section_counts),
        cmocka_unit_test(test_section_head_fields),
        cmocka_unit_test(test_section_proof_fields),
        cmocka_unit_test(test_section_frame),
        cmocka_unit_test(test_pieces),
        cmocka_unit_test(test_device_state_codec),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
