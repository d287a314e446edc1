/* Unit tests for the state tree (ledger/smt.c), its proofs (client/state.c) and their encoding
 * (schema/state.c): roots after seeded random batches against a from-scratch reference model,
 * every transition between subsets of a small key family, every proof through encode -> decode
 * -> verify, forged proofs, old roots, corrupt stores and the codec's limits.
 * UL_TEST_SEED=N repeats a run; the seed is printed at the start and with every failure.
 */
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "ledger/ul_ledger.h"

#define MAXK 4096       /* keys the model holds at most */
#define PROOF_BUF 9216  /* a depth-256 proof is about 8.8 KB */
#define MAX_SNAPSHOTS 8 /* old roots kept to re-prove later */
#define SMALL_KEYS 6    /* the exhaustive family: 2^6 subsets, 4096 transitions */

typedef struct {
    uint8_t key[UL_HASH_BYTES];
    uint8_t value[UL_HASH_BYTES];
} kv;

typedef struct {
    kv *a; /* sorted by key */
    size_t n;
} model;

typedef struct {
    uint8_t root[UL_HASH_BYTES];
    model m;
} snapshot;

typedef struct {
    char dir[64];
    ul_store *s;
    ul_batch *b;
} fixture;

static unsigned long long g_seed;
static uint64_t g_rng;

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            print_error("test_smt: seed %llu: %s:%d: %s\n", g_seed, __FILE__, __LINE__, #c);       \
            fail();                                                                                \
        }                                                                                          \
    } while (0)

#define CHECK_ERR(got, want)                                                                       \
    do {                                                                                           \
        ul_err got_ = (got), want_ = (want);                                                       \
        if (got_ != want_) {                                                                       \
            print_error("test_smt: seed %llu: %s:%d: %s is %s, want %s\n", g_seed, __FILE__,       \
                        __LINE__, #got, ul_err_name(got_), ul_err_name(want_));                    \
            fail();                                                                                \
        }                                                                                          \
    } while (0)

/* splitmix64 */
static uint64_t rnd(void)
{
    uint64_t z = (g_rng += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void rnd_bytes(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        p[i] = (uint8_t)rnd();
    }
}

static void seed_init(const char *test)
{
    const char *env = getenv("UL_TEST_SEED");
    g_seed = env ? strtoull(env, NULL, 10) : (unsigned long long)time(NULL);
    g_rng = g_seed;
    print_message("test_smt: %s seed %llu (UL_TEST_SEED=%llu repeats it)\n", test, g_seed, g_seed);
}

static unsigned bit(const uint8_t *k, size_t i)
{
    return (k[i / 8] >> (7 - i % 8)) & 1u;
}

static void flip(uint8_t *k, size_t i)
{
    k[i / 8] ^= (uint8_t)(0x80u >> (i % 8));
}

/* ---- reference: the root of a sorted set, from scratch (recursive: fine in a test) ---------- */

static void ref_node(uint8_t out[32], const uint8_t l[32], const uint8_t r[32])
{
    uint8_t buf[65];
    buf[0] = 0x03;
    memcpy(buf + 1, l, 32);
    memcpy(buf + 33, r, 32);
    ul_client_sha256(out, buf, sizeof buf);
}

static void ref_leaf(uint8_t out[32], const kv *e)
{
    uint8_t buf[65];
    buf[0] = 0x02;
    memcpy(buf + 1, e->key, 32);
    memcpy(buf + 33, e->value, 32);
    ul_client_sha256(out, buf, sizeof buf);
}

static void ref_root_at(const kv *a, size_t n, size_t depth, uint8_t out[32])
{
    if (n == 0) {
        memset(out, 0, 32);
        return;
    }
    if (n == 1) {
        ref_leaf(out, a);
        return;
    }
    assert_true(depth < 256);
    size_t m = 0;
    while (m < n && bit(a[m].key, depth) == 0) {
        m++;
    }
    uint8_t l[32], r[32];
    ref_root_at(a, m, depth + 1, l);
    ref_root_at(a + m, n - m, depth + 1, r);
    ref_node(out, l, r);
}

static void ref_root(const model *m, uint8_t out[32])
{
    ref_root_at(m->a, m->n, 0, out);
}

/* ---- model ---------------------------------------------------------------------------------- */

static size_t model_find(const model *m, const uint8_t *key, bool *found)
{
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int d = memcmp(m->a[mid].key, key, 32);
        if (d == 0) {
            *found = true;
            return mid;
        }
        if (d < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    *found = false;
    return lo;
}

static void model_apply(model *m, const ul_smt_update *u, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        bool found;
        size_t at = model_find(m, u[i].key, &found);
        if (u[i].del) {
            if (found) {
                memmove(&m->a[at], &m->a[at + 1], (m->n - at - 1) * sizeof *m->a);
                m->n--;
            }
        } else if (found) {
            memcpy(m->a[at].value, u[i].value, 32);
        } else {
            CHECK(m->n < MAXK);
            memmove(&m->a[at + 1], &m->a[at], (m->n - at) * sizeof *m->a);
            memcpy(m->a[at].key, u[i].key, 32);
            memcpy(m->a[at].value, u[i].value, 32);
            m->n++;
        }
    }
}

static model model_new(void)
{
    model m = {calloc(MAXK, sizeof(kv)), 0};
    assert_non_null(m.a);
    return m;
}

static model model_copy(const model *src)
{
    model m = model_new();
    memcpy(m.a, src->a, src->n * sizeof *m.a);
    m.n = src->n;
    return m;
}

/* ---- fixture -------------------------------------------------------------------------------- */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "/tmp/ul-test-smt-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    assert_int_equal(ul_store_open(&f->s, f->dir, true, 0), UL_OK);
    f->b = ul_batch_create();
    assert_non_null(f->b);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    ul_batch_destroy(f->b);
    ul_store_close(f->s);
    nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

/* Applies u to root and commits the batch; new_root gets the result. */
static void commit(fixture *f, const uint8_t root[32], const ul_smt_update *u, size_t n,
                   uint8_t new_root[32])
{
    CHECK_ERR(ul_smt_update_root(f->s, f->b, root, u, n, new_root), UL_OK);
    CHECK_ERR(ul_store_write(f->s, f->b, false), UL_OK);
    ul_batch_clear(f->b);
}

static int cmp_update(const void *a, const void *b)
{
    return memcmp(((const ul_smt_update *)a)->key, ((const ul_smt_update *)b)->key, 32);
}

/* Sorts and drops repeated keys (keeps one of each). Returns the new count. */
static size_t sort_unique(ul_smt_update *u, size_t n)
{
    qsort(u, n, sizeof *u, cmp_update);
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        if (w == 0 || memcmp(u[w - 1].key, u[i].key, 32) != 0) {
            u[w++] = u[i];
        }
    }
    return w;
}

/* ---- proofs --------------------------------------------------------------------------------- */

/* Encodes, decodes and re-encodes p; the decoded proof equals p in every field that counts. */
static void round_trip(const ul_state_proof *p, ul_state_proof *out)
{
    static uint8_t buf[PROOF_BUF], buf2[PROOF_BUF];
    size_t len = 0, len2 = 0;
    CHECK_ERR(ul_schema_state_proof_encode(buf, sizeof buf, &len, p), UL_OK);
    CHECK_ERR(ul_schema_state_proof_decode(out, buf, len), UL_OK);
    CHECK(out->depth == p->depth && out->has_leaf == p->has_leaf);
    CHECK(memcmp(out->bitmap, p->bitmap, sizeof p->bitmap) == 0);
    CHECK(out->n_siblings == p->n_siblings);
    CHECK(memcmp(out->siblings, p->siblings, p->n_siblings * 32) == 0);
    if (p->has_leaf) {
        CHECK(memcmp(out->leaf_key, p->leaf_key, 32) == 0);
        CHECK(memcmp(out->leaf_value, p->leaf_value, 32) == 0);
    }
    CHECK_ERR(ul_schema_state_proof_encode(buf2, sizeof buf2, &len2, out), UL_OK);
    CHECK(len2 == len && memcmp(buf, buf2, len) == 0);
}

static void check_member(fixture *f, const uint8_t root[32], const kv *e)
{
    static ul_state_proof p, q;
    uint8_t v[32], wrong[32];
    CHECK_ERR(ul_smt_prove(f->s, root, e->key, &p), UL_OK);
    CHECK(p.has_leaf && memcmp(p.leaf_key, e->key, 32) == 0);
    round_trip(&p, &q);
    CHECK_ERR(ul_client_state_verify(&q, root, e->key, e->value), UL_OK);
    memcpy(wrong, e->value, 32);
    wrong[31] ^= 1;
    CHECK_ERR(ul_client_state_verify(&q, root, e->key, wrong), UL_E_MERKLE_PROOF);
    CHECK_ERR(ul_client_state_verify(&q, root, e->key, NULL), UL_E_MERKLE_PROOF);
    CHECK_ERR(ul_smt_get(f->s, root, e->key, v), UL_OK);
    CHECK(memcmp(v, e->value, 32) == 0);
}

static void check_absent(fixture *f, const uint8_t root[32], const uint8_t key[32])
{
    static ul_state_proof p, q;
    uint8_t v[32], any[32] = {1};
    CHECK_ERR(ul_smt_prove(f->s, root, key, &p), UL_OK);
    round_trip(&p, &q);
    CHECK_ERR(ul_client_state_verify(&q, root, key, NULL), UL_OK);
    CHECK_ERR(ul_client_state_verify(&q, root, key, any), UL_E_MERKLE_PROOF);
    if (q.has_leaf) {
        CHECK(memcmp(q.leaf_key, key, 32) != 0);
        CHECK_ERR(ul_client_state_verify(&q, root, key, q.leaf_value), UL_E_MERKLE_PROOF);
    }
    CHECK_ERR(ul_smt_get(f->s, root, key, v), UL_E_NOT_FOUND);
}

/* Every key of m, and absent keys: random ones and neighbours of present ones (a flipped last,
 * first or random bit), which end in another key's leaf or in an empty sibling. */
static void check_all(fixture *f, const uint8_t root[32], const model *m, size_t stride)
{
    bool found;
    for (size_t i = 0; i < m->n; i += stride) {
        check_member(f, root, &m->a[i]);
        uint8_t k[32];
        memcpy(k, m->a[i].key, 32);
        flip(k, i % 3 == 0 ? 255 : i % 3 == 1 ? 0 : (size_t)(rnd() % 256));
        model_find(m, k, &found);
        if (!found) {
            check_absent(f, root, k);
        }
    }
    for (int i = 0; i < 16; i++) {
        uint8_t k[32];
        rnd_bytes(k, 32);
        model_find(m, k, &found);
        if (!found) {
            check_absent(f, root, k);
        }
    }
}

/* ---- random batches ------------------------------------------------------------------------- */

/* A key for a new entry: mostly random, at times close to an existing key (differing only in
 * the last or the first bit, or sharing a prefix of random length). Close keys are kept rare:
 * a pair sharing 255 bits hangs a chain of 255 inner nodes below their common prefix. */
static void new_key(const model *m, uint8_t k[32])
{
    unsigned r = (unsigned)(rnd() % 32);
    if (m->n == 0 || r > 3) {
        rnd_bytes(k, 32);
        return;
    }
    memcpy(k, m->a[rnd() % m->n].key, 32);
    if (r == 0) {
        flip(k, 255);
    } else if (r == 1) {
        flip(k, 0);
    } else {
        size_t p = (size_t)(rnd() % 256); /* keep p bits, differ at bit p, randomise the rest */
        for (size_t i = p + 1; i < 256; i++) {
            if (rnd() & 1) {
                flip(k, i);
            }
        }
        flip(k, p);
    }
}

/* A batch of up to n operations; mix: percentages of insert / update / delete (rest: delete of
 * an absent key). Returns the sorted, unique count. */
static size_t make_batch(const model *m, ul_smt_update *u, size_t n, unsigned ins, unsigned upd,
                         unsigned del)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned r = (unsigned)(rnd() % 100);
        memset(&u[k], 0, sizeof u[k]);
        rnd_bytes(u[k].value, 32);
        if (r < ins || m->n == 0) {
            new_key(m, u[k].key);
        } else if (r < ins + upd) {
            memcpy(u[k].key, m->a[rnd() % m->n].key, 32);
        } else if (r < ins + upd + del) {
            memcpy(u[k].key, m->a[rnd() % m->n].key, 32);
            u[k].del = true;
        } else {
            rnd_bytes(u[k].key, 32);
            u[k].del = true;
        }
        k++;
    }
    return sort_unique(u, k);
}

static size_t batch_size(void)
{
    static const size_t sizes[] = {1, 2, 3, 5, 17, 64, 250, 600};
    return sizes[rnd() % (sizeof sizes / sizeof sizes[0])];
}

/* One step: a batch applied to tree and model, the root compared with the reference. */
static void step(fixture *f, model *m, uint8_t root[32], unsigned ins, unsigned upd, unsigned del)
{
    static ul_smt_update u[600];
    uint8_t want[32];
    size_t n = make_batch(m, u, batch_size(), ins, upd, del);
    commit(f, root, u, n, root);
    model_apply(m, u, n);
    ref_root(m, want);
    CHECK(memcmp(root, want, 32) == 0);
}

static void test_random_batches(void **state)
{
    fixture *f = *state;
    static snapshot snaps[MAX_SNAPSHOTS];
    size_t n_snaps = 0;
    uint8_t root[32] = {0}, zero[32] = {0};
    model m = model_new();
    seed_init("random batches");

    for (int round = 0; round < 2; round++) {
        int steps = 0;
        while (m.n < 2500 && steps++ < 200) { /* grow, with updates and deletes mixed in */
            step(f, &m, root, 60, 20, 15);
            if (steps % 10 == 0) {
                check_all(f, root, &m, 7);
                if (n_snaps < MAX_SNAPSHOTS) {
                    memcpy(snaps[n_snaps].root, root, 32);
                    snaps[n_snaps++].m = model_copy(&m);
                }
            }
        }
        check_all(f, root, &m, 1);
        for (steps = 0; m.n > 0 && steps < 2000; steps++) { /* shrink to nothing */
            step(f, &m, root, 5, 10, 80);
            if (steps % 10 == 0) {
                check_all(f, root, &m, 5);
            }
            if (m.n < 40 && m.n > 0) {
                /* delete the rest in one batch, at times leaving one key to collapse upwards */
                static ul_smt_update u[40];
                size_t keep = rnd() % 2, k = 0;
                for (size_t i = keep; i < m.n; i++, k++) {
                    memset(&u[k], 0, sizeof u[k]);
                    memcpy(u[k].key, m.a[i].key, 32);
                    u[k].del = true;
                }
                commit(f, root, u, k, root);
                model_apply(&m, u, k);
                uint8_t want[32];
                ref_root(&m, want);
                CHECK(memcmp(root, want, 32) == 0);
                check_all(f, root, &m, 1);
            }
        }
        CHECK(m.n == 0);
        CHECK(memcmp(root, zero, 32) == 0);
        check_all(f, root, &m, 1); /* non-membership in the empty tree */
    }
    /* Old roots stay provable after everything since. */
    for (size_t i = 0; i < n_snaps; i++) {
        check_all(f, snaps[i].root, &snaps[i].m, 11);
        free(snaps[i].m.a);
    }
    free(m.a);
}

/* ---- exhaustive: every transition between subsets of a family of close keys ----------------- */

static void small_family(uint8_t keys[SMALL_KEYS][32])
{
    /* k0 random; k1 differs in the last bit, k2 in the first, k3 in bit 100, k4 in bits 254
     * and 255; k5 shares nothing in particular. Sorted afterwards by the callers' use. */
    rnd_bytes(keys[0], 32);
    for (int i = 1; i < 5; i++) {
        memcpy(keys[i], keys[0], 32);
    }
    flip(keys[1], 255);
    flip(keys[2], 0);
    flip(keys[3], 100);
    flip(keys[4], 254);
    flip(keys[4], 255);
    rnd_bytes(keys[5], 32);
}

static void value_of(uint8_t out[32], const uint8_t key[32], unsigned variant)
{
    uint8_t buf[33];
    memcpy(buf, key, 32);
    buf[32] = (uint8_t)variant;
    ul_client_sha256(out, buf, sizeof buf);
}

/* The updates turning subset a (values variant va) into subset b (variant vb), sorted. */
static size_t transition(uint8_t keys[SMALL_KEYS][32], unsigned a, unsigned b, unsigned vb,
                         ul_smt_update *u)
{
    size_t n = 0;
    for (unsigned i = 0; i < SMALL_KEYS; i++) {
        bool in_a = (a >> i) & 1, in_b = (b >> i) & 1;
        if (!in_a && !in_b) {
            continue;
        }
        memset(&u[n], 0, sizeof u[n]);
        memcpy(u[n].key, keys[i], 32);
        u[n].del = !in_b;
        if (in_b) {
            value_of(u[n].value, keys[i], vb);
        }
        n++;
    }
    return sort_unique(u, n);
}

static void subset_model(uint8_t keys[SMALL_KEYS][32], unsigned s, unsigned variant, model *m)
{
    ul_smt_update u[SMALL_KEYS];
    m->n = 0;
    size_t n = transition(keys, 0, s, variant, u);
    model_apply(m, u, n);
}

static void test_small_exhaustive(void **state)
{
    fixture *f = *state;
    uint8_t keys[SMALL_KEYS][32], roots[1u << SMALL_KEYS][32], zero[32] = {0}, got[32], want[32];
    ul_smt_update u[SMALL_KEYS];
    model m = model_new();
    seed_init("small exhaustive");
    small_family(keys);

    for (unsigned s = 0; s < (1u << SMALL_KEYS); s++) {
        size_t n = transition(keys, 0, s, 0, u);
        commit(f, zero, u, n, roots[s]);
        subset_model(keys, s, 0, &m);
        ref_root(&m, want);
        CHECK(memcmp(roots[s], want, 32) == 0);
        check_all(f, roots[s], &m, 1);
        for (unsigned i = 0; i < SMALL_KEYS; i++) {
            if (!((s >> i) & 1)) {
                check_absent(f, roots[s], keys[i]);
            }
        }
    }
    /* From every subset to every subset, with every kept key's value changed: nothing written,
     * so each transition starts from committed nodes only. */
    for (unsigned a = 0; a < (1u << SMALL_KEYS); a++) {
        for (unsigned b = 0; b < (1u << SMALL_KEYS); b++) {
            size_t n = transition(keys, a, b, 1, u);
            CHECK_ERR(ul_smt_update_root(f->s, f->b, roots[a], u, n, got), UL_OK);
            ul_batch_clear(f->b);
            subset_model(keys, b, 1, &m);
            ref_root(&m, want);
            if (memcmp(got, want, 32) != 0) {
                print_error("transition %02x -> %02x\n", a, b);
            }
            CHECK(memcmp(got, want, 32) == 0);
            /* the same values again: the root is the target's own root */
            n = transition(keys, a, b, 0, u);
            CHECK_ERR(ul_smt_update_root(f->s, f->b, roots[a], u, n, got), UL_OK);
            ul_batch_clear(f->b);
            CHECK(memcmp(got, roots[b], 32) == 0);
        }
    }
    free(m.a);
}

/* Two keys differing only in the last bit sit at depth 256; nothing else on the path. */
static void test_deepest_pair(void **state)
{
    fixture *f = *state;
    uint8_t zero[32] = {0}, root[32], want[32], one[32];
    ul_smt_update u[2];
    static ul_state_proof p;
    model m = model_new();
    g_seed = 0;
    memset(u, 0, sizeof u);
    memset(u[0].key, 0xa5, 32);
    u[0].key[31] &= 0xfe;
    memcpy(u[1].key, u[0].key, 32);
    u[1].key[31] |= 1;
    memset(u[0].value, 1, 32);
    memset(u[1].value, 2, 32);
    commit(f, zero, u, 2, root);
    model_apply(&m, u, 2);
    ref_root(&m, want);
    CHECK(memcmp(root, want, 32) == 0);
    CHECK_ERR(ul_smt_prove(f->s, root, u[1].key, &p), UL_OK);
    CHECK(p.depth == 256 && p.n_siblings == 1 && p.has_leaf);
    CHECK(bit(p.bitmap, 255) == 1);
    check_all(f, root, &m, 1);
    /* Deleting one leaves the other alone: it moves up to the root. */
    u[0].del = true;
    commit(f, root, u, 1, root);
    ul_client_smt_leaf_hash(one, u[1].key, u[1].value);
    CHECK(memcmp(root, one, 32) == 0);
    CHECK_ERR(ul_smt_prove(f->s, root, u[1].key, &p), UL_OK);
    CHECK(p.depth == 0 && p.n_siblings == 0 && p.has_leaf);
    /* A key differing in the first bit: one level, two leaves. */
    memcpy(u[0].key, u[1].key, 32);
    flip(u[0].key, 0);
    u[0].del = false;
    ul_smt_update v = u[0];
    commit(f, root, &v, 1, root);
    CHECK_ERR(ul_smt_prove(f->s, root, u[1].key, &p), UL_OK);
    CHECK(p.depth == 1 && p.n_siblings == 1);
    free(m.a);
}

/* ---- forged proofs -------------------------------------------------------------------------- */

/* A tree of random keys with a few close pairs, so proofs have siblings and empty levels. */
static void forge_tree(fixture *f, model *m, uint8_t root[32])
{
    static ul_smt_update u[400];
    uint8_t zero[32] = {0};
    size_t n = 0;
    for (size_t i = 0; i < 300; i++, n++) {
        memset(&u[n], 0, sizeof u[n]);
        rnd_bytes(u[n].key, 32);
        rnd_bytes(u[n].value, 32);
        if (i % 10 == 0) { /* a neighbour sharing 250 bits */
            u[n + 1] = u[n];
            flip(u[n + 1].key, 250);
            u[n + 1].value[0] ^= 1;
            n++;
        }
    }
    n = sort_unique(u, n);
    commit(f, zero, u, n, root);
    model_apply(m, u, n);
}

/* Every single change to a valid proof fails, each with its own code. */
static void forge_one(const ul_state_proof *good, const uint8_t root[32], const uint8_t key[32],
                      const uint8_t *value)
{
    static ul_state_proof p;
    const uint8_t *other = value ? NULL : (const uint8_t *)"0123456789abcdef0123456789abcdef";
    CHECK_ERR(ul_client_state_verify(good, root, key, value), UL_OK);
    CHECK_ERR(ul_client_state_verify(good, root, key, other), UL_E_MERKLE_PROOF);
    for (size_t i = 0; i < good->n_siblings; i++) { /* a flipped bit in each sibling */
        p = *good;
        flip(p.siblings[i], (size_t)(rnd() % 256));
        CHECK_ERR(ul_client_state_verify(&p, root, key, value), UL_E_MERKLE_PROOF);
    }
    if (good->n_siblings > 0) {
        p = *good; /* truncated list */
        p.n_siblings--;
        CHECK_ERR(ul_client_state_verify(&p, root, key, value), UL_E_SCHEMA_FIELD);
        p = *good; /* a bit and its sibling dropped: consistent, but another path */
        for (size_t i = 0; i < 256; i++) {
            if (bit(p.bitmap, i)) {
                flip(p.bitmap, i);
                break;
            }
        }
        memmove(p.siblings[0], p.siblings[1], (p.n_siblings - 1) * 32);
        p.n_siblings--;
        CHECK_ERR(ul_client_state_verify(&p, root, key, value), UL_E_MERKLE_PROOF);
    }
    p = *good; /* an extra sibling */
    p.n_siblings++;
    CHECK_ERR(ul_client_state_verify(&p, root, key, value), UL_E_SCHEMA_FIELD);
    if (good->depth < 256) { /* a bit at depth: past the path */
        p = *good;
        flip(p.bitmap, (size_t)good->depth);
        memset(p.siblings[p.n_siblings++], 7, 32);
        CHECK_ERR(ul_client_state_verify(&p, root, key, value), UL_E_SCHEMA_FIELD);
        p = *good; /* one level deeper */
        p.depth++;
        CHECK(ul_client_state_verify(&p, root, key, value) != UL_OK);
    }
    for (size_t i = 0; i < good->depth; i++) { /* bitmap disagrees with the count */
        if (!bit(good->bitmap, i)) {
            p = *good;
            flip(p.bitmap, i);
            CHECK_ERR(ul_client_state_verify(&p, root, key, value), UL_E_SCHEMA_FIELD);
            break;
        }
    }
    if (good->depth > 0) {
        p = *good;
        p.depth--;
        CHECK(ul_client_state_verify(&p, root, key, value) != UL_OK);
    }
    p = *good;
    p.depth = 257;
    CHECK_ERR(ul_client_state_verify(&p, root, key, value), UL_E_SCHEMA_FIELD);
}

static void test_forged_proofs(void **state)
{
    fixture *f = *state;
    static ul_state_proof good, p;
    uint8_t root[32], old_root[32], k[32];
    model m = model_new();
    bool found, by_leaf = false, by_empty = false;
    seed_init("forged proofs");
    forge_tree(f, &m, root);

    for (size_t i = 0; i < m.n; i += 3) {
        const kv *e = &m.a[i];
        CHECK_ERR(ul_smt_prove(f->s, root, e->key, &good), UL_OK);
        forge_one(&good, root, e->key, e->value);
        /* A membership proof for e is, for a neighbour k on the same path, a true proof that k
         * is absent (the path ends in e's leaf), and never a proof that k maps to e's value. */
        memcpy(k, e->key, 32);
        flip(k, i % 2 ? 255 : 20 + (size_t)(rnd() % 230));
        model_find(&m, k, &found);
        if (!found) {
            CHECK(ul_client_state_verify(&good, root, k, e->value) != UL_OK);
            if (i % 2) {
                CHECK_ERR(ul_client_state_verify(&good, root, k, NULL), UL_OK);
            }
        }
        /* non-membership proofs of neighbours: by another leaf or by an empty sibling */
        CHECK_ERR(ul_smt_prove(f->s, root, k, &good), UL_OK);
        if (!found) {
            forge_one(&good, root, k, NULL);
            if (good.has_leaf) {
                by_leaf = true;
                if (good.depth > 0) {
                    p = good; /* a leaf that is not on the key's path */
                    flip(p.leaf_key, (size_t)(rnd() % good.depth));
                    CHECK_ERR(ul_client_state_verify(&p, root, k, NULL), UL_E_SCHEMA_FIELD);
                }
                p = good; /* the other leaf with another value */
                p.leaf_value[5] ^= 0x10;
                CHECK_ERR(ul_client_state_verify(&p, root, k, NULL), UL_E_MERKLE_PROOF);
                p = good; /* claiming the path ends empty */
                p.has_leaf = false;
                CHECK_ERR(ul_client_state_verify(&p, root, k, NULL), UL_E_MERKLE_PROOF);
            } else {
                by_empty = true;
                p = good; /* a made-up leaf where the path ends empty */
                p.has_leaf = true;
                memcpy(p.leaf_key, k, 32);
                flip(p.leaf_key, 255);
                memset(p.leaf_value, 9, 32);
                CHECK(ul_client_state_verify(&p, root, k, NULL) != UL_OK);
            }
        }
    }
    CHECK(by_leaf && by_empty);

    /* A proof against an older root fails once the tree changed, and the other way round. */
    const kv *e = &m.a[m.n / 2];
    CHECK_ERR(ul_smt_prove(f->s, root, e->key, &good), UL_OK);
    memcpy(old_root, root, 32);
    ul_smt_update u = {.del = false};
    memcpy(u.key, m.a[0].key, 32);
    memset(u.value, 0x42, 32);
    commit(f, root, &u, 1, root);
    CHECK_ERR(ul_client_state_verify(&good, root, e->key, e->value), UL_E_MERKLE_PROOF);
    CHECK_ERR(ul_client_state_verify(&good, old_root, e->key, e->value), UL_OK);
    CHECK_ERR(ul_smt_prove(f->s, root, e->key, &p), UL_OK);
    CHECK_ERR(ul_client_state_verify(&p, old_root, e->key, e->value), UL_E_MERKLE_PROOF);
    CHECK_ERR(ul_smt_prove(f->s, old_root, m.a[0].key, &p), UL_OK);
    CHECK_ERR(ul_client_state_verify(&p, old_root, m.a[0].key, m.a[0].value), UL_OK);
    CHECK_ERR(ul_client_state_verify(&p, old_root, m.a[0].key, u.value), UL_E_MERKLE_PROOF);
    free(m.a);
}

/* Every one-bit change to an encoded proof fails to decode or to verify. */
static void test_mutated_bytes(void **state)
{
    fixture *f = *state;
    static ul_state_proof p, q;
    static uint8_t buf[PROOF_BUF];
    uint8_t root[32], k[32];
    size_t len;
    model m = model_new();
    seed_init("mutated bytes");
    forge_tree(f, &m, root);
    for (int t = 0; t < 40; t++) {
        const kv *e = &m.a[rnd() % m.n];
        bool member = t % 2 == 0;
        memcpy(k, e->key, 32);
        if (!member) {
            /* a near miss; the forged tree holds neighbours one bit apart, so skip members */
            bool found = true;
            while (found) {
                memcpy(k, e->key, 32);
                flip(k, t % 4 == 1 ? 255 : (size_t)(rnd() % 256));
                model_find(&m, k, &found);
            }
        }
        CHECK_ERR(ul_smt_prove(f->s, root, k, &p), UL_OK);
        CHECK_ERR(ul_schema_state_proof_encode(buf, sizeof buf, &len, &p), UL_OK);
        for (size_t i = 0; i < len; i++) {
            uint8_t mask = (uint8_t)(1u << (rnd() % 8));
            buf[i] ^= mask;
            if (ul_schema_state_proof_decode(&q, buf, len) == UL_OK) {
                CHECK(ul_client_state_verify(&q, root, k, member ? e->value : NULL) != UL_OK);
            }
            buf[i] ^= mask;
        }
        CHECK(ul_schema_state_proof_decode(&q, buf, len - 1) != UL_OK);
        CHECK_ERR(ul_schema_state_proof_decode(&q, buf, len), UL_OK);
        CHECK_ERR(ul_client_state_verify(&q, root, k, member ? e->value : NULL), UL_OK);
    }
    free(m.a);
}

/* ---- empty tree, lookups, corruption -------------------------------------------------------- */

static void test_empty_tree(void **state)
{
    fixture *f = *state;
    static ul_state_proof p;
    uint8_t zero[32] = {0}, k[32], root[32], v[32];
    ul_smt_update del = {.del = true};
    g_seed = 0;
    memset(k, 0x33, 32);
    CHECK_ERR(ul_smt_prove(f->s, zero, k, &p), UL_OK);
    CHECK(p.depth == 0 && !p.has_leaf && p.n_siblings == 0);
    CHECK_ERR(ul_client_state_verify(&p, zero, k, NULL), UL_OK);
    CHECK_ERR(ul_client_state_verify(&p, zero, k, k), UL_E_MERKLE_PROOF);
    CHECK_ERR(ul_smt_get(f->s, zero, k, v), UL_E_NOT_FOUND);
    root[0] = 1;
    CHECK_ERR(ul_client_state_verify(&p, root, k, NULL), UL_E_MERKLE_PROOF);
    /* no updates, or only deletes of absent keys: the root stays */
    CHECK_ERR(ul_smt_update_root(f->s, f->b, zero, NULL, 0, root), UL_OK);
    CHECK(memcmp(root, zero, 32) == 0);
    memcpy(del.key, k, 32);
    CHECK_ERR(ul_smt_update_root(f->s, f->b, zero, &del, 1, root), UL_OK);
    CHECK(memcmp(root, zero, 32) == 0);
}

static void test_get(void **state)
{
    fixture *f = *state;
    uint8_t root[32], v[32], k[32];
    model m = model_new();
    bool found;
    seed_init("get");
    forge_tree(f, &m, root);
    for (size_t i = 0; i < m.n; i++) {
        CHECK_ERR(ul_smt_get(f->s, root, m.a[i].key, v), UL_OK);
        CHECK(memcmp(v, m.a[i].value, 32) == 0);
        memcpy(k, m.a[i].key, 32);
        flip(k, 255);
        model_find(&m, k, &found);
        if (!found) {
            CHECK_ERR(ul_smt_get(f->s, root, k, v), UL_E_NOT_FOUND);
        }
    }
    free(m.a);
}

/* The store key of node hash h. */
static void node_key(uint8_t k[33], const uint8_t h[32])
{
    k[0] = UL_KEY_SMT;
    memcpy(k + 1, h, 32);
}

static void test_corrupt_store(void **state)
{
    fixture *f = *state;
    uint8_t root[32], nk[33], node[65], got[32], v[32];
    static ul_state_proof p;
    model m = model_new();
    seed_init("corrupt store");
    /* A tree no earlier test built: ledger/smt.c caches upper nodes process-wide, tagged with
     * the store they came from, and a new store may reuse a closed one's address. */
    g_rng ^= 0xc0ffee;
    forge_tree(f, &m, root);
    node_key(nk, root);
    CHECK_ERR(ul_store_get_fixed(f->s, nk, 33, node, 65), UL_OK);
    CHECK(node[0] == 0x03);
    /* Remove the root's left child: every path through it now fails. */
    const kv *left = &m.a[0], *right = &m.a[m.n - 1];
    CHECK(bit(left->key, 0) == 0 && bit(right->key, 0) == 1);
    node_key(nk, node + 1);
    ul_batch_delete(f->b, nk, 33);
    CHECK_ERR(ul_store_write(f->s, f->b, false), UL_OK);
    ul_batch_clear(f->b);
    CHECK_ERR(ul_smt_prove(f->s, root, left->key, &p), UL_E_CORRUPT);
    CHECK_ERR(ul_smt_get(f->s, root, left->key, v), UL_E_CORRUPT);
    ul_smt_update u = {.del = false};
    memcpy(u.key, left->key, 32);
    CHECK_ERR(ul_smt_update_root(f->s, f->b, root, &u, 1, got), UL_E_CORRUPT);
    ul_batch_clear(f->b);
    /* A node of the wrong size, or with an unknown tag (the right half, not read yet: the
     * cache only ever holds nodes read whole from the store). */
    uint8_t bad[65], saved[65];
    memset(bad, 0x07, sizeof bad);
    node_key(nk, node + 33);
    CHECK_ERR(ul_store_get_fixed(f->s, nk, 33, saved, 65), UL_OK);
    ul_batch_put(f->b, nk, 33, bad, 10);
    CHECK_ERR(ul_store_write(f->s, f->b, false), UL_OK);
    ul_batch_clear(f->b);
    CHECK_ERR(ul_smt_prove(f->s, root, right->key, &p), UL_E_CORRUPT);
    ul_batch_put(f->b, nk, 33, bad, 65);
    CHECK_ERR(ul_store_write(f->s, f->b, false), UL_OK);
    ul_batch_clear(f->b);
    CHECK_ERR(ul_smt_get(f->s, root, right->key, v), UL_E_CORRUPT);
    /* Restored, the right half proves again. */
    ul_batch_put(f->b, nk, 33, saved, 65);
    CHECK_ERR(ul_store_write(f->s, f->b, false), UL_OK);
    ul_batch_clear(f->b);
    check_member(f, root, right);
    /* A missing root. */
    memset(got, 0x5a, 32);
    CHECK_ERR(ul_smt_prove(f->s, got, right->key, &p), UL_E_CORRUPT);
    free(m.a);
}

/* ---- codec ---------------------------------------------------------------------------------- */

static void test_schema(void **state)
{
    (void)state;
    static ul_state_proof p, q;
    static uint8_t buf[PROOF_BUF];
    size_t len;
    g_seed = 0;

    /* The empty tree's proof: {1: 0, 2: h'', 3: []}. */
    memset(&p, 0, sizeof p);
    CHECK_ERR(ul_schema_state_proof_encode(buf, sizeof buf, &len, &p), UL_OK);
    static const uint8_t empty[] = {0xa3, 0x01, 0x00, 0x02, 0x40, 0x03, 0x80};
    CHECK(len == sizeof empty && memcmp(buf, empty, len) == 0);
    round_trip(&p, &q);

    /* The deepest: 256 levels, every sibling, a leaf. */
    p.depth = 256;
    memset(p.bitmap, 0xff, sizeof p.bitmap);
    p.n_siblings = 256;
    for (size_t i = 0; i < 256; i++) {
        memset(p.siblings[i], (int)i, 32);
    }
    p.has_leaf = true;
    memset(p.leaf_key, 0xaa, 32);
    memset(p.leaf_value, 0xbb, 32);
    round_trip(&p, &q);
    CHECK_ERR(ul_schema_state_proof_encode(buf, sizeof buf, &len, &p), UL_OK);
    CHECK(len == 1 + 1 + 3 + 1 + 2 + 32 + 1 + 3 + 256 * 34 + 1 + 1 + 2 * 34);
    CHECK_ERR(ul_schema_state_proof_encode(buf, len - 1, &len, &p), UL_E_BUFFER);

    /* Limits: depth 257, 257 siblings. */
    p.depth = 257;
    CHECK_ERR(ul_schema_state_proof_encode(buf, sizeof buf, &len, &p), UL_E_LIMIT);
    p.depth = 256;
    p.n_siblings = 257;
    CHECK_ERR(ul_schema_state_proof_encode(buf, sizeof buf, &len, &p), UL_E_LIMIT);

    /* Shape: a bit past depth, a count that disagrees. */
    memset(&p, 0, sizeof p);
    p.depth = 3;
    p.bitmap[0] = 0x10; /* bit 3 */
    p.n_siblings = 1;
    CHECK_ERR(ul_schema_state_proof_encode(buf, sizeof buf, &len, &p), UL_E_SCHEMA_FIELD);
    p.bitmap[0] = 0x20; /* bit 2 */
    CHECK_ERR(ul_schema_state_proof_encode(buf, sizeof buf, &len, &p), UL_OK);
    p.n_siblings = 2;
    CHECK_ERR(ul_schema_state_proof_encode(buf, sizeof buf, &len, &p), UL_E_SCHEMA_FIELD);
    p.n_siblings = 0;
    CHECK_ERR(ul_schema_state_proof_encode(buf, sizeof buf, &len, &p), UL_E_SCHEMA_FIELD);
}

static void test_schema_decode(void **state)
{
    (void)state;
    static ul_state_proof q;
    static uint8_t buf[PROOF_BUF];
    g_seed = 0;

    /* {1: 257, 2: 33 bytes, 3: []} */
    size_t n = 0;
    const uint8_t head257[] = {0xa3, 0x01, 0x19, 0x01, 0x01, 0x02, 0x58, 0x21};
    memcpy(buf, head257, sizeof head257);
    n = sizeof head257;
    memset(buf + n, 0, 33);
    n += 33;
    buf[n++] = 0x03;
    buf[n++] = 0x80;
    CHECK_ERR(ul_schema_state_proof_decode(&q, buf, n), UL_E_LIMIT);

    /* {1: 0, 2: h'', 3: [257 hashes]} */
    const uint8_t head[] = {0xa3, 0x01, 0x00, 0x02, 0x40, 0x03, 0x99, 0x01, 0x01};
    memcpy(buf, head, sizeof head);
    n = sizeof head;
    for (int i = 0; i < 257; i++) {
        buf[n++] = 0x58;
        buf[n++] = 0x20;
        memset(buf + n, 1, 32);
        n += 32;
    }
    CHECK_ERR(ul_schema_state_proof_decode(&q, buf, n), UL_E_LIMIT);

    /* bitmap of the wrong length: depth 9 needs 2 bytes */
    static const uint8_t short_bitmap[] = {0xa3, 0x01, 0x09, 0x02, 0x41, 0x00, 0x03, 0x80};
    CHECK_ERR(ul_schema_state_proof_decode(&q, short_bitmap, sizeof short_bitmap),
              UL_E_SCHEMA_FIELD);
    static const uint8_t ok9[] = {0xa3, 0x01, 0x09, 0x02, 0x42, 0x00, 0x00, 0x03, 0x80};
    CHECK_ERR(ul_schema_state_proof_decode(&q, ok9, sizeof ok9), UL_OK);
    CHECK(q.depth == 9 && q.n_siblings == 0 && !q.has_leaf);
    /* {1: 9, 2: h'00 80' (bit 8), 3: [hash]}: well formed; then bit 9 instead (past the path),
     * no bit (count disagrees), a 31-byte sibling, trailing bytes */
    static const uint8_t head9[] = {0xa3, 0x01, 0x09, 0x02, 0x42, 0x00,
                                    0x80, 0x03, 0x81, 0x58, 0x20};
    memcpy(buf, head9, sizeof head9);
    n = sizeof head9;
    memset(buf + n, 1, 32);
    n += 32;
    CHECK_ERR(ul_schema_state_proof_decode(&q, buf, n), UL_OK);
    CHECK(q.depth == 9 && q.n_siblings == 1 && bit(q.bitmap, 8) == 1);
    buf[6] = 0x40;
    CHECK_ERR(ul_schema_state_proof_decode(&q, buf, n), UL_E_SCHEMA_FIELD);
    buf[6] = 0x00;
    CHECK_ERR(ul_schema_state_proof_decode(&q, buf, n), UL_E_SCHEMA_FIELD);
    buf[6] = 0x80;
    buf[10] = 0x1f;
    CHECK_ERR(ul_schema_state_proof_decode(&q, buf, n - 1), UL_E_SCHEMA_FIELD);
    buf[10] = 0x20;
    buf[n] = 0x00;
    CHECK_ERR(ul_schema_state_proof_decode(&q, buf, n + 1), UL_E_CBOR_TRAILING);
    static const uint8_t missing[] = {0xa2, 0x01, 0x00, 0x02, 0x40};
    CHECK_ERR(ul_schema_state_proof_decode(&q, missing, sizeof missing), UL_E_SCHEMA_FIELD);
    static const uint8_t leaf3[] = {0xa4, 0x01, 0x00, 0x02, 0x40, 0x03, 0x80, 0x04, 0x83};
    CHECK(ul_schema_state_proof_decode(&q, leaf3, sizeof leaf3) != UL_OK);
    static const uint8_t unordered[] = {0xa3, 0x02, 0x40, 0x01, 0x00, 0x03, 0x80};
    CHECK(ul_schema_state_proof_decode(&q, unordered, sizeof unordered) != UL_OK);
    static const uint8_t nonshortest[] = {0xa3, 0x01, 0x18, 0x01, 0x02, 0x41, 0x00, 0x03, 0x80};
    CHECK_ERR(ul_schema_state_proof_decode(&q, nonshortest, sizeof nonshortest),
              UL_E_CBOR_NONCANONICAL);
    static const uint8_t unknown[] = {0xa4, 0x01, 0x00, 0x02, 0x40, 0x03, 0x80, 0x05, 0x00};
    CHECK_ERR(ul_schema_state_proof_decode(&q, unknown, sizeof unknown), UL_E_SCHEMA_FIELD);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_schema),
        cmocka_unit_test(test_schema_decode),
        cmocka_unit_test_setup_teardown(test_empty_tree, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deepest_pair, setup, teardown),
        cmocka_unit_test_setup_teardown(test_small_exhaustive, setup, teardown),
        cmocka_unit_test_setup_teardown(test_random_batches, setup, teardown),
        cmocka_unit_test_setup_teardown(test_forged_proofs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mutated_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get, setup, teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_store, setup, teardown),
    };
    if (ul_client_init() != UL_OK) {
        return 1;
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
