/* Unit tests for the release log (ledger/log.c): every root, inclusion and consistency proof of
 * small trees against a naive recursive RFC 9162 reference and the client verifiers, pending and
 * rolled-back appends, reopening, the in-memory upper levels, and the RFC 6962 test tree.
 */
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "ledger/ul_ledger.h"

#define MAXN 1600
#define VECTORS_PATH "tests/vectors/rfc6962.json"

typedef uint8_t hash32[UL_HASH_BYTES];

typedef struct {
    char dir[64];
    ul_store *s;
    ul_log *l;
    uint64_t n;      /* leaves appended so far (reference) */
    hash32 lh[MAXN]; /* reference leaf hashes */
} fixture;

/* ---- naive reference (recursive: fine in a test) ---- */

static uint64_t ref_split(uint64_t n)
{
    uint64_t k = 1;
    while (k * 2 < n) {
        k *= 2;
    }
    return k;
}

static void ref_mth(const fixture *f, uint64_t a, uint64_t b, uint8_t out[32])
{
    if (b == a) {
        ul_client_merkle_empty_root(out);
    } else if (b - a == 1) {
        memcpy(out, f->lh[a], 32);
    } else {
        uint64_t k = ref_split(b - a);
        uint8_t l[32], r[32];
        ref_mth(f, a, a + k, l);
        ref_mth(f, a + k, b, r);
        ul_client_merkle_node_hash(out, l, r);
    }
}

/* RFC 9162 2.1.3.1 PATH(m, D[a:b]). */
static void ref_path(const fixture *f, uint64_t m, uint64_t a, uint64_t b, hash32 *out, size_t *n)
{
    if (b - a <= 1) {
        return;
    }
    uint64_t k = ref_split(b - a);
    if (m < a + k) {
        ref_path(f, m, a, a + k, out, n);
        ref_mth(f, a + k, b, out[(*n)++]);
    } else {
        ref_path(f, m, a + k, b, out, n);
        ref_mth(f, a, a + k, out[(*n)++]);
    }
}

/* RFC 9162 2.1.4.1 SUBPROOF(m, D[a:b], whole); m counts leaves from a. */
static void ref_subproof(const fixture *f, uint64_t m, uint64_t a, uint64_t b, bool whole,
                         hash32 *out, size_t *n)
{
    if (m == b - a) {
        if (!whole) {
            ref_mth(f, a, b, out[(*n)++]);
        }
        return;
    }
    uint64_t k = ref_split(b - a);
    if (m <= k) {
        ref_subproof(f, m, a, a + k, whole, out, n);
        ref_mth(f, a + k, b, out[(*n)++]);
    } else {
        ref_subproof(f, m - k, a + k, b, false, out, n);
        ref_mth(f, a, a + k, out[(*n)++]);
    }
}

/* ---- fixture ---- */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int setup(void **state)
{
    assert_int_equal(ul_client_init(), UL_OK);
    fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    snprintf(f->dir, sizeof(f->dir), "/tmp/ul_test_log_XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    assert_int_equal(ul_store_open(&f->s, f->dir, true, 0), UL_OK);
    assert_int_equal(ul_log_open(&f->l, f->s, 0), UL_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    ul_log_close(f->l);
    ul_store_close(f->s);
    nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

/* Closes log and store, reopens both with the log at committed size `size`. */
static void reopen(fixture *f, uint64_t size)
{
    ul_log_close(f->l);
    ul_store_close(f->s);
    f->l = NULL;
    assert_int_equal(ul_store_open(&f->s, f->dir, false, 0), UL_OK);
    assert_int_equal(ul_log_open(&f->l, f->s, size), UL_OK);
    assert_int_equal(ul_log_size(f->l), size);
}

/* Distinct leaves of varying length; `salt` gives a second, different sequence. */
static size_t make_leaf(uint8_t *buf, uint64_t i, unsigned salt)
{
    int n = snprintf((char *)buf, 32, "leaf %u/%llu", salt, (unsigned long long)i);
    assert_true(n > 0);
    size_t len = (size_t)n + (size_t)(i % 9);
    for (size_t j = (size_t)n; j < len; j++) {
        buf[j] = (uint8_t)(i * 31 + j);
    }
    return len;
}

/* Appends one leaf into batch b and checks the pending root against the reference. */
static void append_one(fixture *f, ul_batch *b, unsigned salt)
{
    uint8_t leaf[48];
    size_t len = make_leaf(leaf, f->n, salt);
    uint64_t index = ~0ULL;
    assert_true(f->n < MAXN);
    assert_int_equal(ul_log_append(f->l, b, leaf, len, &index), UL_OK);
    assert_int_equal(index, f->n);
    ul_client_merkle_leaf_hash(f->lh[f->n], leaf, len);
    f->n++;
    assert_int_equal(ul_log_size(f->l), f->n);
    uint8_t got[32], want[32];
    ul_log_root(f->l, got);
    ref_mth(f, 0, f->n, want);
    assert_memory_equal(got, want, 32);
}

/* Appends up to `to` leaves in blocks of irregular sizes, each block written and committed. */
static void build(fixture *f, uint64_t to, unsigned salt)
{
    static const unsigned blocks[] = {1, 3, 2, 7, 1, 16, 5, 37, 64, 4, 129, 11};
    ul_batch *b = ul_batch_create();
    assert_non_null(b);
    for (unsigned i = 0; f->n < to; i++) {
        unsigned want = blocks[i % (sizeof(blocks) / sizeof(blocks[0]))];
        for (unsigned j = 0; j < want && f->n < to; j++) {
            append_one(f, b, salt);
        }
        assert_int_equal(ul_store_write(f->s, b, false), UL_OK);
        ul_batch_clear(b);
        ul_log_commit(f->l);
    }
    ul_batch_destroy(b);
}

static void check_root(fixture *f, uint64_t size)
{
    uint8_t got[32], want[32];
    assert_int_equal(ul_log_root_at(f->l, size, got), UL_OK);
    ref_mth(f, 0, size, want);
    assert_memory_equal(got, want, 32);
}

static void check_inclusion(fixture *f, uint64_t index, uint64_t size)
{
    ul_inclusion p;
    hash32 want[UL_MAX_PROOF_DEPTH];
    size_t nwant = 0;
    uint8_t root[32], leaf[32];
    assert_int_equal(ul_log_inclusion(f->l, index, size, &p), UL_OK);
    assert_int_equal(p.index, index);
    assert_int_equal(p.size, size);
    ref_path(f, index, 0, size, want, &nwant);
    assert_int_equal(p.n_path, nwant);
    assert_memory_equal(p.path, want, nwant * 32);
    assert_int_equal(ul_log_root_at(f->l, size, root), UL_OK);
    assert_int_equal(ul_log_leaf_hash(f->l, index, leaf), UL_OK);
    assert_memory_equal(leaf, f->lh[index], 32);
    assert_int_equal(ul_client_merkle_verify_inclusion(
                         leaf, index, size, (const uint8_t(*)[32])p.path, p.n_path, root),
                     UL_OK);
}

static void check_consistency(fixture *f, uint64_t size1, uint64_t size2)
{
    ul_consistency p;
    hash32 want[UL_MAX_PROOF_DEPTH];
    size_t nwant = 0;
    uint8_t r1[32], r2[32];
    assert_int_equal(ul_log_consistency(f->l, size1, size2, &p), UL_OK);
    assert_int_equal(p.size1, size1);
    assert_int_equal(p.size2, size2);
    if (size1 > 0 && size1 < size2) {
        ref_subproof(f, size1, 0, size2, true, want, &nwant);
    }
    assert_int_equal(p.n_path, nwant);
    assert_memory_equal(p.path, want, nwant * 32);
    assert_int_equal(ul_log_root_at(f->l, size1, r1), UL_OK);
    assert_int_equal(ul_log_root_at(f->l, size2, r2), UL_OK);
    assert_int_equal(ul_client_merkle_verify_consistency(size1, size2, r1, r2,
                                                         (const uint8_t(*)[32])p.path, p.n_path),
                     UL_OK);
}

/* Every root, every inclusion proof and every consistency proof up to n leaves. */
static void check_all(fixture *f, uint64_t n)
{
    for (uint64_t size = 0; size <= n; size++) {
        check_root(f, size);
        for (uint64_t i = 0; i < size; i++) {
            check_inclusion(f, i, size);
        }
        for (uint64_t s1 = 0; s1 <= size; s1++) {
            check_consistency(f, s1, size);
        }
    }
}

static void test_every_size_to_70(void **state)
{
    fixture *f = *state;
    check_root(f, 0);
    build(f, 70, 0);
    check_all(f, 70);
    /* The log reopened at its committed size gives the same roots and proofs. */
    reopen(f, 70);
    check_all(f, 70);
}

static void test_reopen_sizes(void **state)
{
    fixture *f = *state;
    build(f, 70, 0);
    /* An older head (the node's committed height may lag the nodes written): sizes <= it work. */
    reopen(f, 37);
    check_root(f, 37);
    check_inclusion(f, 36, 37);
    check_consistency(f, 5, 37);
    uint8_t root[32];
    assert_int_equal(ul_log_root_at(f->l, 38, root), UL_E_MERKLE_RANGE);

    /* A size whose frontier nodes were never written is corruption. */
    ul_log *bad = (ul_log *)1;
    assert_int_equal(ul_log_open(&bad, f->s, 71), UL_E_CORRUPT);
    assert_null(bad);
    assert_int_equal(ul_log_open(&bad, f->s, 1000), UL_E_CORRUPT);
    ul_log_close(NULL);
}

static void test_pending_vs_committed(void **state)
{
    fixture *f = *state;
    build(f, 5, 0);
    ul_batch *b = ul_batch_create();
    assert_non_null(b);
    for (int i = 0; i < 3; i++) {
        append_one(f, b, 0);
    }
    /* Pending: the root includes them, roots at and proofs into them do not exist yet. */
    uint8_t got[32], want[32];
    ul_inclusion inc;
    ul_consistency con;
    assert_int_equal(ul_log_size(f->l), 8);
    ul_log_root(f->l, got);
    ref_mth(f, 0, 8, want);
    assert_memory_equal(got, want, 32);
    assert_int_equal(ul_log_root_at(f->l, 8, got), UL_E_MERKLE_RANGE);
    assert_int_equal(ul_log_root_at(f->l, 6, got), UL_E_MERKLE_RANGE);
    assert_int_equal(ul_log_inclusion(f->l, 5, 6, &inc), UL_E_MERKLE_RANGE);
    assert_int_equal(ul_log_inclusion(f->l, 1, 8, &inc), UL_E_MERKLE_RANGE);
    assert_int_equal(ul_log_consistency(f->l, 5, 8, &con), UL_E_MERKLE_RANGE);
    assert_int_equal(ul_log_leaf_hash(f->l, 5, got), UL_E_MERKLE_RANGE);
    check_root(f, 5);
    check_inclusion(f, 4, 5);
    check_consistency(f, 3, 5);

    assert_int_equal(ul_store_write(f->s, b, true), UL_OK);
    ul_log_commit(f->l);
    ul_batch_destroy(b);
    check_all(f, 8);
}

static void test_rollback(void **state)
{
    fixture *f = *state;
    build(f, 5, 0);
    uint8_t before[32], got[32];
    ul_log_root(f->l, before);
    ul_batch *b = ul_batch_create();
    assert_non_null(b);
    for (int i = 0; i < 11; i++) {
        append_one(f, b, 0);
    }
    ul_log_rollback(f->l);
    ul_batch_clear(b);
    ul_batch_destroy(b);
    f->n = 5;
    assert_int_equal(ul_log_size(f->l), 5);
    ul_log_root(f->l, got);
    assert_memory_equal(got, before, 32);
    /* Other leaves after the rollback: nothing of the dropped ones survives. */
    build(f, 20, 1);
    check_all(f, 20);
    reopen(f, 20);
    check_all(f, 20);
}

/* Checks a spread of sizes and proofs on a tree large enough for the cached levels. */
static void check_sampled(fixture *f, uint64_t n)
{
    static const uint64_t edges[] = {1, 2, 255, 256, 257, 511, 512, 513, 768, 1023, 1024, 1025};
    for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++) {
        if (edges[i] <= n) {
            check_root(f, edges[i]);
            check_inclusion(f, edges[i] - 1, n);
            check_inclusion(f, edges[i] / 2, edges[i]);
            check_consistency(f, edges[i], n);
        }
    }
    for (uint64_t size = 1; size <= n; size += 97) {
        check_root(f, size);
        check_inclusion(f, (size * 7919) % size, size);
        check_inclusion(f, (size * 104729) % n, n);
        check_consistency(f, size, n);
        check_consistency(f, size / 3 + 1, size);
    }
}

static void test_cached_levels(void **state)
{
    fixture *f = *state;
    build(f, 1100, 0);
    check_sampled(f, 1100);

    /* Pending appends add nodes to several cached levels, then are rolled back. */
    ul_batch *b = ul_batch_create();
    assert_non_null(b);
    for (int i = 0; i < 300; i++) {
        append_one(f, b, 0);
    }
    ul_log_rollback(f->l);
    ul_batch_destroy(b);
    f->n = 1100;
    build(f, 1536, 2);
    check_sampled(f, 1536);

    /* Proofs read few stored nodes: the upper levels and the frontier are in memory. */
    uint8_t root[32];
    ul_inclusion p;
    uint64_t r0 = ul_log_store_reads(f->l);
    assert_int_equal(ul_log_root_at(f->l, 1536, root), UL_OK);
    assert_int_equal(ul_log_store_reads(f->l), r0);
    for (uint64_t i = 0; i < 1536; i += 5) {
        r0 = ul_log_store_reads(f->l);
        assert_int_equal(ul_log_inclusion(f->l, i, 1536, &p), UL_OK);
        assert_true(ul_log_store_reads(f->l) - r0 <= 8);
        if (i < 1535) {
            r0 = ul_log_store_reads(f->l);
            assert_int_equal(ul_log_inclusion(f->l, i, 1535, &p), UL_OK);
            assert_true(ul_log_store_reads(f->l) - r0 <= 16);
        }
    }

    /* Reopened, the cache is loaded from the store and gives the same answers. */
    reopen(f, 1536);
    check_sampled(f, 1536);
    reopen(f, 1300);
    check_sampled(f, 1300);
}

static void test_out_of_range(void **state)
{
    fixture *f = *state;
    uint8_t h[32];
    ul_inclusion inc;
    ul_consistency con;
    assert_int_equal(ul_log_inclusion(f->l, 0, 0, &inc), UL_E_MERKLE_RANGE);
    assert_int_equal(ul_log_leaf_hash(f->l, 0, h), UL_E_MERKLE_RANGE);
    build(f, 10, 0);
    assert_int_equal(ul_log_inclusion(f->l, 10, 10, &inc), UL_E_MERKLE_RANGE);
    assert_int_equal(ul_log_inclusion(f->l, 5, 4, &inc), UL_E_MERKLE_RANGE);
    assert_int_equal(ul_log_inclusion(f->l, 0, 11, &inc), UL_E_MERKLE_RANGE);
    assert_int_equal(ul_log_inclusion(f->l, UINT64_MAX, UINT64_MAX, &inc), UL_E_MERKLE_RANGE);
    assert_int_equal(ul_log_consistency(f->l, 6, 5, &con), UL_E_MERKLE_RANGE);
    assert_int_equal(ul_log_consistency(f->l, 5, 11, &con), UL_E_MERKLE_RANGE);
    assert_int_equal(ul_log_consistency(f->l, 11, 11, &con), UL_E_MERKLE_RANGE);
    assert_int_equal(ul_log_root_at(f->l, 11, h), UL_E_MERKLE_RANGE);
    assert_int_equal(ul_log_leaf_hash(f->l, 10, h), UL_E_MERKLE_RANGE);
    /* Trivial consistency proofs are empty. */
    assert_int_equal(ul_log_consistency(f->l, 0, 10, &con), UL_OK);
    assert_int_equal(con.n_path, 0);
    assert_int_equal(ul_log_consistency(f->l, 10, 10, &con), UL_OK);
    assert_int_equal(con.n_path, 0);
}

/* ---- RFC 6962 test tree ---- */

/* Fallback when tests/vectors/rfc6962.json is absent: the 8 leaf inputs and roots 0..8 of the
 * RFC 6962 test tree, from /work/shared/vectors/rfc6962.json ("leaves", "roots"), which took
 * them from transparency-dev/merkle testonly/constants.go and google/certificate-transparency
 * cpp/merkletree/merkle_tree_test.cc. */
static const char *const rfc_leaves[8] = {
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
};
static const char *const rfc_roots[9] = {
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

/* Appends the 8 leaves (hex), one block per leaf, checking each pending root. */
static void rfc_build(fixture *f, const char *const leaves_hex[8], const char *const roots_hex[9])
{
    ul_batch *b = ul_batch_create();
    assert_non_null(b);
    uint8_t want[32], got[32];
    for (uint64_t i = 0; i < 8; i++) {
        uint8_t leaf[64];
        size_t len = strlen(leaves_hex[i]) / 2;
        assert_true(len <= sizeof(leaf));
        assert_int_equal(ul_hex_decode(leaf, len, leaves_hex[i]), UL_OK);
        assert_int_equal(ul_log_append(f->l, b, leaf, len, NULL), UL_OK);
        ul_client_merkle_leaf_hash(f->lh[f->n++], leaf, len);
        assert_int_equal(ul_store_write(f->s, b, false), UL_OK);
        ul_batch_clear(b);
        ul_log_commit(f->l);
        ul_log_root(f->l, got);
        assert_int_equal(ul_hex_decode(want, 32, roots_hex[i + 1]), UL_OK);
        assert_memory_equal(got, want, 32);
    }
    ul_batch_destroy(b);
    for (uint64_t size = 0; size <= 8; size++) {
        assert_int_equal(ul_log_root_at(f->l, size, got), UL_OK);
        assert_int_equal(ul_hex_decode(want, 32, roots_hex[size]), UL_OK);
        assert_memory_equal(got, want, 32);
    }
}

/* Compares a proof with a JSON array of hex hashes. */
static void expect_path(const uint8_t (*path)[32], size_t n, json_t *arr)
{
    assert_true(json_is_array(arr));
    assert_int_equal(json_array_size(arr), n);
    for (size_t i = 0; i < n; i++) {
        uint8_t h[32];
        assert_int_equal(ul_hex_decode(h, 32, json_string_value(json_array_get(arr, i))), UL_OK);
        assert_memory_equal(path[i], h, 32);
    }
}

static uint64_t num(json_t *v)
{
    assert_true(json_is_number(v));
    return (uint64_t)json_number_value(v);
}

/* With the vector file: its leaves and roots, and its inclusion and consistency proofs. */
static void rfc_from_file(fixture *f, json_t *root)
{
    const char *leaves[8], *roots[9];
    json_t *jl = json_object_get(root, "leaves"), *jr = json_object_get(root, "roots");
    assert_true(json_array_size(jl) == 8 && json_array_size(jr) == 9);
    for (size_t i = 0; i < 8; i++) {
        leaves[i] = json_string_value(json_object_get(json_array_get(jl, i), "input"));
        assert_non_null(leaves[i]);
        assert_string_equal(leaves[i], rfc_leaves[i]);
    }
    for (size_t i = 0; i < 9; i++) {
        roots[i] = json_string_value(json_object_get(json_array_get(jr, i), "root"));
        assert_non_null(roots[i]);
    }
    rfc_build(f, leaves, roots);
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(root, "inclusion_proofs"), i, p)
    {
        ul_inclusion inc;
        uint64_t index = num(json_object_get(p, "leaf_index"));
        uint64_t size = num(json_object_get(p, "tree_size"));
        assert_int_equal(ul_log_inclusion(f->l, index, size, &inc), UL_OK);
        expect_path((const uint8_t(*)[32])inc.path, inc.n_path, json_object_get(p, "proof"));
    }
    json_array_foreach(json_object_get(root, "consistency_proofs"), i, p)
    {
        ul_consistency con;
        uint64_t s1 = num(json_object_get(p, "size1"));
        uint64_t s2 = num(json_object_get(p, "size2"));
        assert_int_equal(ul_log_consistency(f->l, s1, s2, &con), UL_OK);
        expect_path((const uint8_t(*)[32])con.path, con.n_path, json_object_get(p, "proof"));
    }
}

static void test_rfc6962_tree(void **state)
{
    fixture *f = *state;
    json_error_t jerr;
    /* The file's negative probes hold uint64 max, beyond json_int_t: read numbers as reals (the
     * indexes and sizes used here are small and exact as doubles). */
    json_t *root = json_load_file(VECTORS_PATH, JSON_DECODE_INT_AS_REAL, &jerr);
    if (root) {
        rfc_from_file(f, root);
        json_decref(root);
    } else {
        print_message("note: %s not found, using the built-in copy of its leaves\n", VECTORS_PATH);
        rfc_build(f, rfc_leaves, rfc_roots);
    }
    check_all(f, 8);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_rfc6962_tree, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_size_to_70, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reopen_sizes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pending_vs_committed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rollback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cached_levels, setup, teardown),
        cmocka_unit_test_setup_teardown(test_out_of_range, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
