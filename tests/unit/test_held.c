/* The node's held votes and proposals (node/held.c): found by what identifies them, bounded,
 * the oldest round's proposal making room, and cleared per height. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "node/held.h"

static ul_vote vote_of(uint32_t type, uint32_t round, uint8_t hash_byte)
{
    ul_vote v = {.type = type, .height = 3, .round = round, .time_ms = 1000 + round};
    memset(v.block_hash, hash_byte, UL_HASH_BYTES);
    return v;
}

static void test_votes(void **state)
{
    (void)state;
    ul_held *h;
    uint8_t sig[UL_SIG_BYTES] = {9}, bytes[UL_MAX_VOTE_BYTES + 1] = {1}, hash[UL_HASH_BYTES];
    assert_int_equal(ul_held_create(&h), UL_OK);
    ul_vote v = vote_of(UL_VOTE_PREVOTE, 0, 0xaa);
    ul_held_vote *w = ul_held_vote_add(h, &v, 2, bytes, 10, sig);
    assert_non_null(w);
    assert_int_equal(w->vlen, 10);
    assert_int_equal(w->time_ms, 1000);
    memset(hash, 0xaa, sizeof hash);
    assert_ptr_equal(ul_held_vote_find(h, 0, UL_VOTE_PREVOTE, 2, hash), w);
    assert_ptr_equal(ul_held_vote_find(h, 0, UL_VOTE_PREVOTE, 2, NULL), w);
    assert_null(ul_held_vote_find(h, 0, UL_VOTE_PRECOMMIT, 2, hash));
    assert_null(ul_held_vote_find(h, 1, UL_VOTE_PREVOTE, 2, hash));
    assert_null(ul_held_vote_find(h, 0, UL_VOTE_PREVOTE, 1, hash));
    hash[0] = 0;
    assert_null(ul_held_vote_find(h, 0, UL_VOTE_PREVOTE, 2, hash));
    /* Oversized bytes are refused; the bound holds. */
    assert_null(ul_held_vote_add(h, &v, 3, bytes, sizeof bytes, sig));
    for (size_t i = 1; i < UL_MAX_HELD_VOTES; i++) {
        assert_non_null(ul_held_vote_add(h, &v, (uint32_t)i + 10, bytes, 1, sig));
    }
    assert_null(ul_held_vote_add(h, &v, 5, bytes, 1, sig));
    ul_held_clear(h);
    assert_int_equal(h->n_votes, 0);
    assert_null(ul_held_vote_find(h, 0, UL_VOTE_PREVOTE, 2, NULL));
    ul_held_destroy(h);
    ul_held_destroy(NULL);
}

static void test_proposals(void **state)
{
    (void)state;
    ul_held *h;
    uint8_t hash[UL_HASH_BYTES];
    assert_int_equal(ul_held_create(&h), UL_OK);
    ul_span block = {(const uint8_t *)"block", 5}, none = {NULL, 0};
    for (uint32_t r = 0; r < UL_MAX_HELD_PROPOSALS; r++) {
        memset(hash, (int)r + 1, sizeof hash);
        ul_held_prop *p = ul_held_prop_add(h, r + 1, -1, hash, block, r ? block : none);
        assert_non_null(p);
        assert_int_equal(p->lclen, r ? 5 : 0);
    }
    memset(hash, 1, sizeof hash);
    assert_non_null(ul_held_prop_find(h, hash, 1));
    assert_non_null(ul_held_prop_find(h, hash, -1));
    assert_non_null(ul_held_prop_find(h, NULL, 1));
    assert_null(ul_held_prop_find(h, hash, 2));
    /* Full: the oldest round (1) makes room for round 0 of another block. */
    uint8_t other[UL_HASH_BYTES];
    memset(other, 0xee, sizeof other);
    ul_held_prop *p = ul_held_prop_add(h, 0, 5, other, block, block);
    assert_non_null(p);
    assert_int_equal(p->vr, 5);
    assert_int_equal(h->n_props, UL_MAX_HELD_PROPOSALS);
    assert_null(ul_held_prop_find(h, hash, 1));
    assert_memory_equal(ul_held_prop_find(h, other, 0)->block, "block", 5);
    ul_held_prop_drop(h, ul_held_prop_find(h, other, -1));
    assert_null(ul_held_prop_find(h, other, -1));
    assert_int_equal(h->n_props, UL_MAX_HELD_PROPOSALS - 1);
    ul_held_destroy(h); /* frees what it holds (ASan checks) */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_votes),
        cmocka_unit_test(test_proposals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
