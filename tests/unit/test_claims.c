/* Unit tests for p2p/claims.c: a peer's claimed head steers block sync only while it serves
 * (strikes for passes that gain nothing, set aside at the bound and counted), claims decay, a
 * claimer set aside is heard again after the time, and honest peers ahead are never struck. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "p2p/ul_p2p.h"

#define LIAR 3
#define HONEST 1
static const uint64_t HUGE = UINT64_MAX;

static void test_liar_set_aside_at_the_bound(void **state)
{
    (void)state;
    ul_claims c;
    uint64_t t = 1000;
    ul_claims_init(&c);
    for (int pass = 1; pass <= UL_CLAIM_MAX_STRIKES; pass++) {
        ul_claims_hear(&c, LIAR, HUGE, t);
        ul_claims_hear(&c, HONEST, 10, t);
        assert_true(ul_claims_max(&c, t) == HUGE);
        uint64_t aside = ul_claims_pass(&c, 10, 10, t); /* nothing gained */
        assert_true(aside == (pass < UL_CLAIM_MAX_STRIKES ? 0 : (uint64_t)1 << LIAR));
        t += 250;
    }
    assert_int_equal(c.set_aside, 1);
    assert_true(ul_claims_set_aside(&c, LIAR, t));
    assert_false(ul_claims_set_aside(&c, HONEST, t));
    /* It keeps claiming: not heard, no longer steering. */
    ul_claims_hear(&c, LIAR, HUGE, t);
    assert_true(ul_claims_get(&c, LIAR, t) == 0);
    assert_true(ul_claims_max(&c, t) == 10);
    /* After the time set aside it is heard from scratch: three more passes to be set aside. */
    t += UL_CLAIM_IGNORE_MS;
    ul_claims_hear(&c, LIAR, HUGE, t);
    assert_true(ul_claims_get(&c, LIAR, t) == HUGE);
    for (int pass = 1; pass < UL_CLAIM_MAX_STRIKES; pass++) {
        assert_true(ul_claims_pass(&c, 10, 10, t) == 0);
    }
    assert_true(ul_claims_pass(&c, 10, 10, t) == (uint64_t)1 << LIAR);
    assert_int_equal(c.set_aside, 2);
}

static void test_claims_decay(void **state)
{
    (void)state;
    ul_claims c;
    ul_claims_init(&c);
    ul_claims_hear(&c, HONEST, 50, 0);
    assert_true(ul_claims_get(&c, HONEST, UL_CLAIM_TTL_MS) == 50);
    assert_true(ul_claims_get(&c, HONEST, UL_CLAIM_TTL_MS + 1) == 0);
    assert_true(ul_claims_max(&c, UL_CLAIM_TTL_MS + 1) == 0);
    /* A decayed claim takes no strike. */
    assert_true(ul_claims_pass(&c, 10, 10, UL_CLAIM_TTL_MS + 1) == 0);
    assert_int_equal(c.slot[HONEST].strikes, 0);
    /* Out-of-range slots are ignored. */
    ul_claims_hear(&c, UL_MAX_PEERS, 99, 0);
    assert_true(ul_claims_get(&c, UL_MAX_PEERS, 0) == 0);
}

static void test_serving_peers_are_never_struck(void **state)
{
    (void)state;
    ul_claims c;
    uint64_t t = 0, head = 100;
    ul_claims_init(&c);
    /* Far ahead, each pass gaining some blocks (the budget cuts it): never a strike. */
    for (int pass = 0; pass < 10 * UL_CLAIM_MAX_STRIKES; pass++, t += 250) {
        ul_claims_hear(&c, HONEST, 100000, t);
        assert_true(ul_claims_pass(&c, head, head + 50, t) == 0);
        head += 50;
    }
    /* Reached: strikes cleared, so two barren passes later it is still heard. */
    c.slot[HONEST].strikes = UL_CLAIM_MAX_STRIKES - 1;
    ul_claims_hear(&c, HONEST, head + 1, t);
    assert_true(ul_claims_pass(&c, head, head + 1, t) == 0);
    assert_int_equal(c.slot[HONEST].strikes, 0);
    /* A claim at or below our head is no claim to serve. */
    for (int pass = 0; pass < 2 * UL_CLAIM_MAX_STRIKES; pass++) {
        ul_claims_hear(&c, HONEST, head, t);
        assert_true(ul_claims_pass(&c, head + 1, head + 1, t) == 0);
    }
    assert_int_equal(c.set_aside, 0);
}

/* A pass that gained blocks from someone strikes nobody; a barren pass strikes every claimer
 * above us, and one that serves in between starts again from zero. */
static void test_strikes_are_in_a_row(void **state)
{
    (void)state;
    ul_claims c;
    ul_claims_init(&c);
    for (int round = 0; round < 10; round++) {
        for (int k = 0; k < UL_CLAIM_MAX_STRIKES - 1; k++) {
            ul_claims_hear(&c, HONEST, 20, 0);
            assert_true(ul_claims_pass(&c, 10, 10, 0) == 0);
        }
        ul_claims_hear(&c, HONEST, 20, 0);
        assert_true(ul_claims_pass(&c, 10, 20, 0) == 0); /* it served: reached */
    }
    assert_int_equal(c.set_aside, 0);
}

/* ul_claims_served judges one slot alone (the claimer asked, in a pass the budget cut short):
 * the liar is set aside at the bound, the other slots are left as they are. */
static void test_served_judges_one_slot(void **state)
{
    (void)state;
    ul_claims c;
    ul_claims_init(&c);
    for (int k = 0; k < UL_CLAIM_MAX_STRIKES; k++) {
        ul_claims_hear(&c, LIAR, HUGE, 0);
        ul_claims_hear(&c, HONEST, 20, 0);
        assert_int_equal(ul_claims_served(&c, LIAR, 10, 10, 0), k == UL_CLAIM_MAX_STRIKES - 1);
    }
    assert_true(ul_claims_set_aside(&c, LIAR, 0));
    assert_int_equal(c.set_aside, 1);
    assert_int_equal(c.slot[HONEST].strikes, 0); /* not asked: not judged */
    assert_true(ul_claims_get(&c, HONEST, 0) == 20);
    /* A slot that served (or was reached) takes no strike; a slot out of range is no slot. */
    ul_claims_hear(&c, HONEST, 20, 0);
    assert_false(ul_claims_served(&c, HONEST, 10, 12, 0));
    assert_false(ul_claims_served(&c, HONEST, 20, 20, 0));
    assert_int_equal(c.slot[HONEST].strikes, 0);
    assert_false(ul_claims_served(&c, UL_MAX_PEERS, 10, 10, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_liar_set_aside_at_the_bound),
        cmocka_unit_test(test_claims_decay),
        cmocka_unit_test(test_serving_peers_are_never_struck),
        cmocka_unit_test(test_strikes_are_in_a_row),
        cmocka_unit_test(test_served_judges_one_slot),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
