/* Unit tests for schema/statekey.c, the device's SMT keys of state keys (client/state.c) and the
 * quorum rule (ul_power_quorum, ul_power_over_third in schema/ul_schema.h): each state-key family
 * against its layout written out by hand in hex (docs/protocol.md section 6), labels at their
 * bounds and one past, buffers of the key's length and one short, and the power thresholds at
 * their boundaries and over every small (signed, total) pair. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "client/ul_client.h"
#include "ledger/ul_ledger.h"

static const char NS[] = "acme/fw", HW[] = "board-a";
static uint8_t pub[UL_PUBKEY_BYTES], id[UL_HASH_BYTES], acc[UL_PUBKEY_BYTES];

static int setup(void **state)
{
    (void)state;
    memset(pub, 0x11, sizeof pub);
    memset(id, 0x22, sizeof id);
    memset(acc, 0x33, sizeof acc);
    return 0;
}

/* One builder call per family, with this file's fixtures: the key into out[0..cap). */
typedef enum { F_NS, F_NONCE, F_LATEST, F_INST, F_APPR, F_REV, F_VALSET, F_EVID, F_COUNT } fam;

static ul_err build(fam f, uint8_t *out, size_t cap, size_t *len)
{
    ul_span ns = ul_span_str(NS), hw = ul_span_str(HW);
    switch (f) {
    case F_NS:
        return ul_schema_statekey_ns(out, cap, len, ns);
    case F_NONCE:
        return ul_schema_statekey_nonce(out, cap, len, pub);
    case F_LATEST:
        return ul_schema_statekey_latest(out, cap, len, ns, hw);
    case F_INST:
        return ul_schema_statekey_installable(out, cap, len, ns, hw);
    case F_APPR:
        return ul_schema_statekey_approvals(out, cap, len, id);
    case F_REV:
        return ul_schema_statekey_revocation(out, cap, len, id);
    case F_VALSET:
        return ul_schema_statekey_valset(out, cap, len);
    default:
        return ul_schema_statekey_evidence(out, cap, len, acc, 0x0102030405060708ULL, 9, 2);
    }
}

/* docs/protocol.md section 6, byte by byte: 'S' = 53, then the family letter. */
/* clang-format off */
static const char *const want_hex[F_COUNT] = {
    /* 'S' 'n' "acme/fw" */
    "536e" "61636d652f6677",
    /* 'S' 'a' pubkey(32) */
    "5361" "1111111111111111111111111111111111111111111111111111111111111111",
    /* 'S' 'q' "acme/fw" 0x00 "board-a" */
    "5371" "61636d652f6677" "00" "626f6172642d61",
    /* 'S' 'i' "acme/fw" 0x00 "board-a" */
    "5369" "61636d652f6677" "00" "626f6172642d61",
    /* 'S' 'p' release id(32) */
    "5370" "2222222222222222222222222222222222222222222222222222222222222222",
    /* 'S' 'v' release id(32) */
    "5376" "2222222222222222222222222222222222222222222222222222222222222222",
    /* 'S' 'w' */
    "5377",
    /* 'S' 'e' accused(32) BE64(height) BE64(round) type(1) */
    "5365" "3333333333333333333333333333333333333333333333333333333333333333"
    "0102030405060708" "0000000000000009" "02",
};
/* clang-format on */

static void test_layouts(void **state)
{
    (void)state;
    for (fam f = 0; f < F_COUNT; f++) {
        uint8_t want[UL_STATEKEY_MAX_BYTES], got[UL_STATEKEY_MAX_BYTES];
        size_t n = strlen(want_hex[f]) / 2, len = 0;
        assert_int_equal(ul_hex_decode(want, n, want_hex[f]), UL_OK);
        assert_int_equal(build(f, got, sizeof got, &len), UL_OK);
        assert_int_equal(len, n);
        assert_memory_equal(got, want, n);
        assert_int_equal(got[0], UL_KEY_STATE); /* the store family of every state key */
    }
    assert_int_equal(strlen(want_hex[F_EVID]) / 2, UL_STATEKEY_EVIDENCE_BYTES);
    assert_int_equal(strlen(want_hex[F_REV]) / 2, UL_STATEKEY_ID_BYTES);
}

/* A buffer of exactly the key's length holds it; one byte short is UL_E_BUFFER with *len 0. */
static void test_buffer_bound(void **state)
{
    (void)state;
    for (fam f = 0; f < F_COUNT; f++) {
        uint8_t out[UL_STATEKEY_MAX_BYTES];
        size_t n = strlen(want_hex[f]) / 2, len = 99;
        assert_int_equal(build(f, out, n, &len), UL_OK);
        assert_int_equal(len, n);
        len = 99;
        assert_int_equal(build(f, out, n - 1, &len), UL_E_BUFFER);
        assert_int_equal(len, 0);
    }
}

/* Labels up to their bounds make keys up to UL_STATEKEY_MAX_BYTES; one byte past is UL_E_LIMIT
 * whatever the buffer. */
static void test_label_bounds(void **state)
{
    static uint8_t ns[UL_MAX_NS_LEN + 1], hw[UL_MAX_LABEL_LEN + 1];
    uint8_t out[UL_STATEKEY_MAX_BYTES + 8];
    ul_span ns_max = {ns, UL_MAX_NS_LEN}, ns_over = {ns, UL_MAX_NS_LEN + 1};
    ul_span hw_max = {hw, UL_MAX_LABEL_LEN}, hw_over = {hw, UL_MAX_LABEL_LEN + 1};
    size_t len = 0;
    (void)state;
    memset(ns, 'n', sizeof ns);
    memset(hw, 'h', sizeof hw);
    assert_int_equal(ul_schema_statekey_ns(out, sizeof out, &len, ns_max), UL_OK);
    assert_int_equal(len, 2 + UL_MAX_NS_LEN);
    assert_int_equal(ul_schema_statekey_ns(out, sizeof out, &len, ns_over), UL_E_LIMIT);
    assert_int_equal(len, 0);
    ul_err (*pair[2])(uint8_t *, size_t, size_t *, ul_span,
                      ul_span) = {ul_schema_statekey_latest, ul_schema_statekey_installable};
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(pair[i](out, UL_STATEKEY_MAX_BYTES, &len, ns_max, hw_max), UL_OK);
        assert_int_equal(len, UL_STATEKEY_MAX_BYTES);
        assert_int_equal(out[2 + UL_MAX_NS_LEN], 0x00);
        assert_int_equal(pair[i](out, sizeof out, &len, ns_over, hw_max), UL_E_LIMIT);
        assert_int_equal(pair[i](out, sizeof out, &len, ns_max, hw_over), UL_E_LIMIT);
        assert_int_equal(len, 0);
        /* Empty labels are bytes like any other: the layout still separates them. */
        assert_int_equal(pair[i](out, sizeof out, &len, (ul_span){NULL, 0}, (ul_span){NULL, 0}),
                         UL_OK);
        assert_int_equal(len, 3);
    }
}

static void test_evidence_read(void **state)
{
    uint8_t k[UL_STATEKEY_EVIDENCE_BYTES], a[UL_PUBKEY_BYTES], type = 0;
    uint64_t h = 0, r = 0;
    size_t len;
    (void)state;
    assert_int_equal(build(F_EVID, k, sizeof k, &len), UL_OK);
    assert_int_equal(ul_schema_statekey_evidence_read(k, len, a, &h, &r, &type), UL_OK);
    assert_memory_equal(a, acc, UL_PUBKEY_BYTES);
    assert_true(h == 0x0102030405060708ULL && r == 9 && type == 2);
    assert_int_equal(ul_schema_statekey_evidence_read(k, len - 1, a, &h, &r, &type), UL_E_ARG);
    k[1] = UL_STATEKEY_REVOCATION;
    assert_int_equal(ul_schema_statekey_evidence_read(k, len, a, &h, &r, &type), UL_E_ARG);
}

/* The device's SMT keys, streamed, against SHA-256 of the whole key computed elsewhere
 * (Python's hashlib over the bytes above). */
static void test_device_smt_keys(void **state)
{
    uint8_t want[UL_HASH_BYTES], got[UL_HASH_BYTES], other[UL_HASH_BYTES];
    static uint8_t big[UL_MAX_NS_LEN + 1];
    ul_sha256 s;
    (void)state;
    assert_int_equal(ul_hex_decode(want, UL_HASH_BYTES,
                                   "832d30ef2e122049e6691ca1f6c5c2d1"
                                   "54bd99ac3d06330dfb385f4791b8088c"),
                     UL_OK);
    ul_client_statekey_revocation_hash(got, id);
    assert_memory_equal(got, want, UL_HASH_BYTES);
    assert_int_equal(ul_hex_decode(want, UL_HASH_BYTES,
                                   "657a55a10a81be6731dc61592304602b"
                                   "32abeb671707e8aaf7cfb02a17a3a0ad"),
                     UL_OK);
    assert_int_equal(ul_client_statekey_installable_begin(&s, ul_span_str(NS)), UL_OK);
    assert_int_equal(ul_client_statekey_installable_final(&s, ul_span_str(HW), got), UL_OK);
    assert_memory_equal(got, want, UL_HASH_BYTES);
    /* Past the bounds: UL_E_LIMIT, and the output untouched. */
    memset(big, 'x', sizeof big);
    assert_int_equal(ul_client_statekey_installable_begin(&s, (ul_span){big, sizeof big}),
                     UL_E_LIMIT);
    assert_int_equal(ul_client_statekey_installable_begin(&s, ul_span_str(NS)), UL_OK);
    memcpy(other, got, UL_HASH_BYTES);
    assert_int_equal(
        ul_client_statekey_installable_final(&s, (ul_span){big, UL_MAX_LABEL_LEN + 1}, got),
        UL_E_LIMIT);
    assert_memory_equal(got, other, UL_HASH_BYTES);
}

/* More than 2/3: exactly 2/3 is not a quorum, one unit more is; a zero total never is. */
static void test_quorum_boundary(void **state)
{
    const uint64_t third = UL_MAX_TOTAL_POWER / 3; /* 3 x third: the largest multiple of 3 */
    (void)state;
    assert_false(ul_power_quorum(0, 0));
    assert_false(ul_power_over_third(0, 0));
    assert_false(ul_power_quorum(2, 3));
    assert_true(ul_power_quorum(3, 3));
    assert_false(ul_power_quorum(200, 300));
    assert_true(ul_power_quorum(201, 300));
    assert_false(ul_power_quorum(2 * third, 3 * third));
    assert_true(ul_power_quorum(2 * third + 1, 3 * third));
    assert_true(ul_power_quorum(UL_MAX_TOTAL_POWER, UL_MAX_TOTAL_POWER));
    assert_false(ul_power_quorum(0, UL_MAX_TOTAL_POWER));
    /* More than 1/3: exactly 1/3 is not, one unit more is. */
    assert_false(ul_power_over_third(1, 3));
    assert_true(ul_power_over_third(2, 3));
    assert_false(ul_power_over_third(100, 300));
    assert_true(ul_power_over_third(101, 300));
    assert_false(ul_power_over_third(third, 3 * third));
    assert_true(ul_power_over_third(third + 1, 3 * third));
    assert_true(ul_power_over_third(UL_MAX_TOTAL_POWER, UL_MAX_TOTAL_POWER));
}

/* Every (signed, total) with total <= 96 against the rule stated in whole numbers: the least
 * quorum is floor(2 total / 3) + 1, the least over a third floor(total / 3) + 1. */
static void test_quorum_exhaustive(void **state)
{
    (void)state;
    for (uint64_t t = 1; t <= 96; t++) {
        for (uint64_t s = 0; s <= t; s++) {
            assert_int_equal(ul_power_quorum(s, t), s >= 2 * t / 3 + 1);
            assert_int_equal(ul_power_over_third(s, t), s >= t / 3 + 1);
        }
    }
}

int main(void)
{
    /* clang-format off */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layouts),
        cmocka_unit_test(test_buffer_bound),
        cmocka_unit_test(test_label_bounds),
        cmocka_unit_test(test_evidence_read),
        cmocka_unit_test(test_device_smt_keys),
        cmocka_unit_test(test_quorum_boundary),
        cmocka_unit_test(test_quorum_exhaustive),
    };
    /* clang-format on */
    return cmocka_run_group_tests(tests, setup, NULL);
}
