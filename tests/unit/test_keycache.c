/* Unit tests for ledger/keycache.c: ul_sig_verify answers exactly as ul_client_sig_verify for
 * the same arguments while it keeps parsed keys in a per-thread direct-mapped table of
 * UL_KEY_CACHE_SLOTS slots (indexed by the key's first two bytes): valid and refused signatures,
 * keys that do not parse, keys that share a slot, more keys than slots, and threads verifying
 * at once. Every check asks both functions and wants the same code from each. Keys are
 * deterministic (ul_chainfx_key); the table persists between tests (same thread), which only
 * adds to what each test exercises. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "chainfx.h"

static const uint8_t chain_a[UL_HASH_BYTES] = {0xa1, 0xa2};
static const uint8_t chain_b[UL_HASH_BYTES] = {0xb1, 0xb2};
static const uint8_t msg[] = "keycache test message";

/* ---- helpers --------------------------------------------------------------------------- */

/* Key i of this file: ul_chainfx_key takes 256 numbers per tag, so i >> 8 picks the tag. */
static ul_key *key_at(unsigned i)
{
    char tag[32];
    snprintf(tag, sizeof tag, "upledger keycache %u", i >> 8);
    return ul_chainfx_key(tag, i & 0xff);
}

/* The table slot of a public key, as ledger/keycache.c computes it. */
static size_t slot_of(const uint8_t pk[UL_PUBKEY_BYTES])
{
    return (pk[0] | (size_t)pk[1] << 8) & (UL_KEY_CACHE_SLOTS - 1);
}

/* Returns: ul_sig_verify's code, or UL_E_INTERNAL when ul_client_sig_verify answers otherwise
 * (no cmocka calls: worker threads use this). */
static ul_err verify_agreed(const uint8_t sig[UL_SIG_BYTES], ul_domain d,
                            const uint8_t chain[UL_HASH_BYTES], const uint8_t *m, size_t len,
                            const uint8_t pk[UL_PUBKEY_BYTES])
{
    ul_err got = ul_sig_verify(sig, d, chain, m, len, pk);
    ul_err ref = ul_client_sig_verify(sig, d, chain, m, len, pk);
    return got == ref ? got : UL_E_INTERNAL;
}

/* Fails the running test, at the caller's line, unless ul_client_sig_verify and ul_sig_verify
 * both return want (the table's state is whatever earlier calls left). */
static void expect_verify_at(const uint8_t sig[UL_SIG_BYTES], ul_domain d,
                             const uint8_t chain[UL_HASH_BYTES], const uint8_t *m, size_t len,
                             const uint8_t pk[UL_PUBKEY_BYTES], ul_err want, const char *file,
                             int line)
{
    ul_err ref = ul_client_sig_verify(sig, d, chain, m, len, pk);
    ul_err got = ul_sig_verify(sig, d, chain, m, len, pk);
    if (ref != want || got != want) {
        print_error("ul_client_sig_verify: %s, ul_sig_verify: %s, want %s\n", ul_err_name(ref),
                    ul_err_name(got), ul_err_name(want));
        _fail(file, line);
    }
}
#define expect_verify(sig, d, chain, m, len, pk, want)                                             \
    expect_verify_at(sig, d, chain, m, len, pk, want, __FILE__, __LINE__)

/* Out: two keys whose public keys differ but share a table slot (found by walking key_at from
 * first); their signatures over m[len] (UL_DOMAIN_TX, chain_a). */
static void colliding_pair(unsigned first, const uint8_t *m, size_t len, ul_key **a, ul_key **b,
                           uint8_t sig_a[UL_SIG_BYTES], uint8_t sig_b[UL_SIG_BYTES])
{
    ul_key *seen[UL_KEY_CACHE_SLOTS] = {0};
    *a = *b = NULL;
    for (unsigned i = first; !*b; i++) {
        ul_key *k = key_at(i);
        size_t s = slot_of(ul_key_pubkey(k));
        assert_true(i - first < 4 * UL_KEY_CACHE_SLOTS);
        if (seen[s]) {
            assert_memory_not_equal(ul_key_pubkey(seen[s]), ul_key_pubkey(k), UL_PUBKEY_BYTES);
            *a = seen[s];
            *b = k;
            seen[s] = NULL;
        } else {
            seen[s] = k;
        }
    }
    for (size_t s = 0; s < UL_KEY_CACHE_SLOTS; s++) {
        ul_key_destroy(seen[s]);
    }
    assert_int_equal(ul_key_sign(*a, sig_a, UL_DOMAIN_TX, chain_a, m, len), UL_OK);
    assert_int_equal(ul_key_sign(*b, sig_b, UL_DOMAIN_TX, chain_a, m, len), UL_OK);
}

static int group_setup(void **state)
{
    return ul_client_init() == UL_OK ? 0 : -1;
}

/* ---- tests ----------------------------------------------------------------------------- */

/* 1. A valid signature verifies, and again when its key's parse comes from the table. */
static void test_valid_twice(void **state)
{
    uint8_t sig[UL_SIG_BYTES];
    ul_key *k = key_at(0);

    assert_int_equal(ul_key_sign(k, sig, UL_DOMAIN_RELEASE, chain_a, msg, sizeof msg), UL_OK);
    expect_verify(sig, UL_DOMAIN_RELEASE, chain_a, msg, sizeof msg, ul_key_pubkey(k), UL_OK);
    expect_verify(sig, UL_DOMAIN_RELEASE, chain_a, msg, sizeof msg, ul_key_pubkey(k), UL_OK);
    /* an empty message, the key now in the table */
    assert_int_equal(ul_key_sign(k, sig, UL_DOMAIN_PEER, chain_b, NULL, 0), UL_OK);
    expect_verify(sig, UL_DOMAIN_PEER, chain_b, NULL, 0, ul_key_pubkey(k), UL_OK);
    ul_key_destroy(k);
}

/* 2. With the key in the table, whatever was not signed is refused: one bit of the signature,
 * another chain, another domain, a domain past the last, another message. */
static void test_refused(void **state)
{
    uint8_t sig[UL_SIG_BYTES], bad[UL_SIG_BYTES], junk[UL_PUBKEY_BYTES];
    ul_key *k = key_at(1);
    const uint8_t *pk = ul_key_pubkey(k);

    assert_int_equal(ul_key_sign(k, sig, UL_DOMAIN_VOTE, chain_a, msg, sizeof msg), UL_OK);
    expect_verify(sig, UL_DOMAIN_VOTE, chain_a, msg, sizeof msg, pk, UL_OK);
    for (size_t bit = 0; bit < 8 * UL_SIG_BYTES; bit += 37) { /* both halves, r and s */
        memcpy(bad, sig, sizeof bad);
        bad[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        expect_verify(bad, UL_DOMAIN_VOTE, chain_a, msg, sizeof msg, pk, UL_E_SIG);
    }
    expect_verify(sig, UL_DOMAIN_VOTE, chain_b, msg, sizeof msg, pk, UL_E_SIG);
    for (int d = 0; d < UL_DOMAIN_COUNT_; d++) {
        expect_verify(sig, (ul_domain)d, chain_a, msg, sizeof msg, pk,
                      d == UL_DOMAIN_VOTE ? UL_OK : UL_E_SIG);
    }
    expect_verify(sig, UL_DOMAIN_COUNT_, chain_a, msg, sizeof msg, pk, UL_E_SIG);
    expect_verify(sig, (ul_domain)-1, chain_a, msg, sizeof msg, pk, UL_E_SIG);
    expect_verify(sig, UL_DOMAIN_VOTE, chain_a, msg, sizeof msg - 1, pk, UL_E_SIG);
    /* the domain is refused before the key is looked at, by both */
    memset(junk, 0xff, sizeof junk);
    expect_verify(sig, UL_DOMAIN_COUNT_, chain_a, msg, sizeof msg, junk, UL_E_SIG);
    /* and nothing above disturbed the table */
    expect_verify(sig, UL_DOMAIN_VOTE, chain_a, msg, sizeof msg, pk, UL_OK);
    ul_key_destroy(k);
}

/* 3. A key that does not parse is UL_E_KEY, whether its slot is empty or holds a valid key with
 * the same first bytes; it is never kept: the valid key of that slot still verifies. */
static void test_bad_key(void **state)
{
    uint8_t sig[UL_SIG_BYTES], off[UL_PUBKEY_BYTES], ff[UL_PUBKEY_BYTES];
    ul_key *k = key_at(2);
    const uint8_t *pk = ul_key_pubkey(k);
    unsigned tries = 0;

    assert_int_equal(ul_key_sign(k, sig, UL_DOMAIN_TX, chain_a, msg, sizeof msg), UL_OK);

    /* 32 bytes of 0xff: past the field prime, not an x coordinate */
    memset(ff, 0xff, sizeof ff);
    expect_verify(sig, UL_DOMAIN_TX, chain_a, msg, sizeof msg, ff, UL_E_KEY);
    expect_verify(sig, UL_DOMAIN_TX, chain_a, msg, sizeof msg, ff, UL_E_KEY);

    /* an x with no point on the curve, with pk's first 30 bytes (so pk's slot) */
    memcpy(off, pk, sizeof off);
    do {
        assert_true(++tries < 256);
        off[UL_PUBKEY_BYTES - 1]++;
    } while (ul_client_sig_verify(sig, UL_DOMAIN_TX, chain_a, msg, sizeof msg, off) != UL_E_KEY);
    assert_int_equal(slot_of(off), slot_of(pk));

    /* in the slot first: refused, not kept, then pk parses and verifies */
    expect_verify(sig, UL_DOMAIN_TX, chain_a, msg, sizeof msg, off, UL_E_KEY);
    expect_verify(sig, UL_DOMAIN_TX, chain_a, msg, sizeof msg, pk, UL_OK);
    /* pk in the slot: the bad key is still refused as a key, and pk still verifies */
    for (int i = 0; i < 3; i++) {
        expect_verify(sig, UL_DOMAIN_TX, chain_a, msg, sizeof msg, off, UL_E_KEY);
        expect_verify(sig, UL_DOMAIN_TX, chain_a, msg, sizeof msg, pk, UL_OK);
    }
    /* 0xff.. maps to its own slot; a valid key there verifies after it */
    ul_key_destroy(k);
    for (unsigned i = 3;; i++) {
        assert_true(i < 3 + 8 * UL_KEY_CACHE_SLOTS);
        k = key_at(i);
        if (slot_of(ul_key_pubkey(k)) == slot_of(ff)) {
            break;
        }
        ul_key_destroy(k);
    }
    assert_int_equal(ul_key_sign(k, sig, UL_DOMAIN_TX, chain_a, msg, sizeof msg), UL_OK);
    expect_verify(sig, UL_DOMAIN_TX, chain_a, msg, sizeof msg, ff, UL_E_KEY);
    expect_verify(sig, UL_DOMAIN_TX, chain_a, msg, sizeof msg, ul_key_pubkey(k), UL_OK);
    expect_verify(sig, UL_DOMAIN_TX, chain_a, msg, sizeof msg, ff, UL_E_KEY);
    expect_verify(sig, UL_DOMAIN_TX, chain_a, msg, sizeof msg, ul_key_pubkey(k), UL_OK);
    ul_key_destroy(k);
}

/* 4. Two keys in one slot, used in turn: each verifies its own signature and refuses the
 * other's, whichever of them the slot held last — a replaced slot never answers for the wrong
 * key. */
static void test_slot_collision(void **state)
{
    uint8_t sig_a[UL_SIG_BYTES], sig_b[UL_SIG_BYTES];
    ul_key *a, *b;

    colliding_pair(0, msg, sizeof msg, &a, &b, sig_a, sig_b);
    const uint8_t *pa = ul_key_pubkey(a), *pb = ul_key_pubkey(b);
    for (int i = 0; i < 4; i++) {
        expect_verify(sig_a, UL_DOMAIN_TX, chain_a, msg, sizeof msg, pa, UL_OK);    /* a held */
        expect_verify(sig_a, UL_DOMAIN_TX, chain_a, msg, sizeof msg, pb, UL_E_SIG); /* -> b */
        expect_verify(sig_b, UL_DOMAIN_TX, chain_a, msg, sizeof msg, pb, UL_OK);    /* b held */
        expect_verify(sig_b, UL_DOMAIN_TX, chain_a, msg, sizeof msg, pa, UL_E_SIG); /* -> a */
        expect_verify(sig_a, UL_DOMAIN_TX, chain_a, msg, sizeof msg, pa, UL_OK);    /* a held */
        expect_verify(sig_b, UL_DOMAIN_TX, chain_a, msg, sizeof msg, pb, UL_OK);    /* -> b */
        expect_verify(sig_a, UL_DOMAIN_TX, chain_a, msg, sizeof msg, pb, UL_E_SIG); /* b held */
        expect_verify(sig_b, UL_DOMAIN_TX, chain_a, msg, sizeof msg, pa, UL_E_SIG); /* -> a */
    }
    ul_key_destroy(a);
    ul_key_destroy(b);
}

/* 5. More keys than slots (so slots are replaced, many several times): all verify, then all
 * again in the other order, and each refuses its neighbour's signature. */
#define MANY (UL_KEY_CACHE_SLOTS + 1)

static void test_more_keys_than_slots(void **state)
{
    static uint8_t pks[MANY][UL_PUBKEY_BYTES], sigs[MANY][UL_SIG_BYTES];
    uint8_t m[sizeof msg + 4];
    size_t distinct_slots = 0;
    bool used[UL_KEY_CACHE_SLOTS] = {0};

    memcpy(m, msg, sizeof msg);
    for (unsigned i = 0; i < MANY; i++) {
        ul_key *k = key_at(i);
        memcpy(m + sizeof msg, &i, 4); /* each key its own message */
        memcpy(pks[i], ul_key_pubkey(k), UL_PUBKEY_BYTES);
        assert_int_equal(ul_key_sign(k, sigs[i], UL_DOMAIN_PROPOSAL, chain_b, m, sizeof m), UL_OK);
        ul_key_destroy(k);
        if (!used[slot_of(pks[i])]) {
            used[slot_of(pks[i])] = true;
            distinct_slots++;
        }
    }
    assert_true(distinct_slots > UL_KEY_CACHE_SLOTS / 2); /* spread, not one slot */
    for (unsigned i = 0; i < MANY; i++) {
        memcpy(m + sizeof msg, &i, 4);
        expect_verify(sigs[i], UL_DOMAIN_PROPOSAL, chain_b, m, sizeof m, pks[i], UL_OK);
    }
    for (unsigned i = MANY; i-- > 0;) {
        memcpy(m + sizeof msg, &i, 4);
        expect_verify(sigs[i], UL_DOMAIN_PROPOSAL, chain_b, m, sizeof m, pks[i], UL_OK);
        expect_verify(sigs[i], UL_DOMAIN_PROPOSAL, chain_b, m, sizeof m, pks[(i + 1) % MANY],
                      UL_E_SIG);
    }
}

/* 6. Threads verifying at once, each with its own table: two threads, started together, use two
 * keys that share a slot, each also refusing the other's signature under its key and its
 * signature under the other's key; this thread uses a third key of that slot before and after.
 * (With one shared table, a thread would now and then verify with the other's key: the long
 * message widens the window between finding the key and using it, its digest being computed
 * in between.) */
typedef struct {
    pthread_barrier_t *start;
    const uint8_t *pk, *other_pk;
    const uint8_t *sig, *other_sig;
    int wrong; /* results that were not as wanted, or the two functions disagreeing */
} worker_arg;

#define ROUNDS 150

static uint8_t long_msg[16384];

/* Returns: ul_sig_verify's code on long_msg (UL_DOMAIN_TX, chain_a), or UL_E_INTERNAL when
 * ul_client_sig_verify disagrees. */
static ul_err verify_long(const uint8_t sig[UL_SIG_BYTES], const uint8_t pk[UL_PUBKEY_BYTES])
{
    return verify_agreed(sig, UL_DOMAIN_TX, chain_a, long_msg, sizeof long_msg, pk);
}

static void *verify_worker(void *p)
{
    worker_arg *w = p;
    pthread_barrier_wait(w->start);
    for (int i = 0; i < ROUNDS; i++) {
        w->wrong += verify_long(w->sig, w->pk) != UL_OK;
        w->wrong += verify_long(w->other_sig, w->pk) != UL_E_SIG;
        w->wrong += verify_long(w->sig, w->other_pk) != UL_E_SIG;
    }
    return NULL;
}

static void test_threads(void **state)
{
    uint8_t sig_a[UL_SIG_BYTES], sig_b[UL_SIG_BYTES], sig_c[UL_SIG_BYTES];
    ul_key *a, *b, *c = NULL;
    pthread_barrier_t start;
    pthread_t t[2];

    for (size_t i = 0; i < sizeof long_msg; i++) {
        long_msg[i] = (uint8_t)(i * 131 + 7);
    }
    colliding_pair(300, long_msg, sizeof long_msg, &a, &b, sig_a, sig_b);
    /* a third key of the same slot for this thread */
    for (unsigned i = 600;; i++) {
        assert_true(i < 600 + 8 * UL_KEY_CACHE_SLOTS);
        c = key_at(i);
        if (slot_of(ul_key_pubkey(c)) == slot_of(ul_key_pubkey(a))) {
            break;
        }
        ul_key_destroy(c);
    }
    assert_memory_not_equal(ul_key_pubkey(c), ul_key_pubkey(a), UL_PUBKEY_BYTES);
    assert_memory_not_equal(ul_key_pubkey(c), ul_key_pubkey(b), UL_PUBKEY_BYTES);
    assert_int_equal(ul_key_sign(c, sig_c, UL_DOMAIN_TX, chain_a, long_msg, sizeof long_msg),
                     UL_OK);

    worker_arg w[2] = {
        {&start, ul_key_pubkey(a), ul_key_pubkey(b), sig_a, sig_b, 0},
        {&start, ul_key_pubkey(b), ul_key_pubkey(a), sig_b, sig_a, 0},
    };
    assert_int_equal(verify_long(sig_c, ul_key_pubkey(c)), UL_OK);
    assert_int_equal(pthread_barrier_init(&start, NULL, 2), 0);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(pthread_create(&t[i], NULL, verify_worker, &w[i]), 0);
    }
    for (int i = 0; i < 2; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
    }
    pthread_barrier_destroy(&start);
    assert_int_equal(w[0].wrong, 0);
    assert_int_equal(w[1].wrong, 0);
    assert_int_equal(verify_long(sig_c, ul_key_pubkey(c)), UL_OK);
    assert_int_equal(verify_long(sig_a, ul_key_pubkey(c)), UL_E_SIG);
    assert_int_equal(verify_long(sig_c, ul_key_pubkey(a)), UL_E_SIG);
    ul_key_destroy(a);
    ul_key_destroy(b);
    ul_key_destroy(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_twice),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_bad_key),
        cmocka_unit_test(test_slot_collision),
        cmocka_unit_test(test_more_keys_than_slots),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
