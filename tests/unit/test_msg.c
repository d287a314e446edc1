/* Unit tests for the query-endpoint message codec (schema/msg.c): round trips of every value
 * type, limits at the bound and one past it, canonical-form rejections, getters, truncation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "schema/ul_schema.h"

/* ---- helpers ------------------------------------------------------------------------------ */

static void encode_ok(const ul_msg *m, uint8_t *out, size_t cap, size_t *len)
{
    assert_int_equal(ul_msg_encode(out, cap, len, m), UL_OK);
    assert_true(*len <= ul_msg_encoded_max(m));
}

/* Decodes in and re-encodes what was decoded: the bytes must come back unchanged. */
static void assert_reencodes(const uint8_t *in, size_t len)
{
    ul_msg m, r;
    ul_span items[8][16];
    uint8_t out[4096];
    size_t olen;

    assert_int_equal(ul_msg_decode(&m, in, len), UL_OK);
    ul_msg_init(&r);
    for (size_t i = 0; i < m.n; i++) {
        const ul_mfield *f = &m.f[i];
        ul_span rest = f->s, it;
        size_t k = 0;
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
        case UL_MV_LIST:
            assert_true(i < 8 && f->n <= 16);
            while (ul_msg_list_next(&rest, &it)) {
                assert_true(k < f->n);
                items[i][k++] = it;
            }
            assert_int_equal(k, f->n);
            ul_msg_list(&r, f->key, items[i], k);
            break;
        }
    }
    encode_ok(&r, out, sizeof out, &olen);
    assert_int_equal(olen, len);
    assert_memory_equal(out, in, len);
}

static ul_err decode(const uint8_t *in, size_t len)
{
    ul_msg m;
    return ul_msg_decode(&m, in, len);
}

#define DECODE(...)                                                                                \
    do {                                                                                           \
        static const uint8_t in_[] = {__VA_ARGS__};                                                \
        got = decode(in_, sizeof in_);                                                             \
    } while (0)

/* Two canonical records to embed: {1: 2} and {1: h'0102', 2: [3, {4: "x"}]}. */
static const uint8_t ITEM_A[] = {0xa1, 0x01, 0x02};
static const uint8_t ITEM_B[] = {0xa2, 0x01, 0x42, 0x01, 0x02, 0x02,
                                 0x82, 0x03, 0xa1, 0x04, 0x61, 0x78};

/* A message with every value type, used by several tests. */
static void full_msg(ul_msg *m, ul_span *items)
{
    static const uint8_t bytes[] = {0, 1, 2, 0xff};
    items[0] = (ul_span){ITEM_A, sizeof ITEM_A};
    items[1] = (ul_span){ITEM_B, sizeof ITEM_B};
    items[2] = (ul_span){ITEM_A, sizeof ITEM_A};
    ul_msg_init(m);
    ul_msg_uint(m, 0, 7);
    ul_msg_bytes(m, 1, bytes, sizeof bytes);
    ul_msg_text(m, 2, ul_span_str("h\xc3\xa9llo"));
    ul_msg_item(m, 3, (ul_span){ITEM_B, sizeof ITEM_B});
    ul_msg_list(m, 4, items, 3);
    ul_msg_list(m, 5, items, 0);
    ul_msg_uint(m, 24, UINT64_MAX);
    ul_msg_bytes(m, 300, NULL, 0);
    ul_msg_text(m, UINT64_MAX, ul_span_str(""));
}

/* ---- round trips -------------------------------------------------------------------------- */

static void test_uint_values(void **state)
{
    static const uint64_t vals[] = {
        0, 1, 23, 24, 255, 256, 65535, 65536, 0xffffffffu, 0x100000000ULL, UINT64_MAX};
    static const size_t heads[] = {1, 1, 1, 2, 2, 3, 3, 5, 5, 9, 9};
    uint8_t out[64];
    size_t len;
    ul_msg m, d;
    uint64_t v;

    (void)state;
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        ul_msg_init(&m);
        ul_msg_uint(&m, vals[i], vals[i]); /* as key and value */
        encode_ok(&m, out, sizeof out, &len);
        assert_int_equal(len, 1 + 2 * heads[i]);
        assert_int_equal(out[0], 0xa1);
        assert_int_equal(ul_msg_decode(&d, out, len), UL_OK);
        assert_int_equal(d.n, 1);
        assert_int_equal(d.f[0].key, vals[i]);
        assert_int_equal(ul_msg_get_uint(&d, vals[i], &v), UL_OK);
        assert_int_equal(v, vals[i]);
        assert_reencodes(out, len);
    }
}

static void test_all_types(void **state)
{
    ul_msg m, d;
    ul_span items[3], s, arr, it;
    uint8_t out[512], fixed[4];
    size_t len, n;
    uint64_t v;

    (void)state;
    full_msg(&m, items);
    encode_ok(&m, out, sizeof out, &len);
    assert_int_equal(ul_msg_decode(&d, out, len), UL_OK);
    assert_int_equal(d.n, m.n);
    assert_int_equal(ul_msg_get_uint(&d, 0, &v), UL_OK);
    assert_int_equal(v, 7);
    assert_int_equal(ul_msg_get_bytes(&d, 1, &s), UL_OK);
    assert_int_equal(s.len, 4);
    assert_memory_equal(s.ptr, "\x00\x01\x02\xff", 4);
    assert_int_equal(ul_msg_get_fixed(&d, 1, fixed, 4), UL_OK);
    assert_memory_equal(fixed, "\x00\x01\x02\xff", 4);
    assert_int_equal(ul_msg_get_text(&d, 2, &s), UL_OK);
    assert_true(ul_span_eq_str(s, "h\xc3\xa9llo"));
    assert_int_equal(ul_msg_get_item(&d, 3, &s), UL_OK);
    assert_int_equal(s.len, sizeof ITEM_B);
    assert_memory_equal(s.ptr, ITEM_B, sizeof ITEM_B);
    assert_int_equal(ul_msg_get_list(&d, 4, &arr, &n), UL_OK);
    assert_int_equal(n, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_true(ul_msg_list_next(&arr, &it));
        assert_int_equal(it.len, items[i].len);
        assert_memory_equal(it.ptr, items[i].ptr, it.len);
    }
    assert_false(ul_msg_list_next(&arr, &it));
    assert_int_equal(ul_msg_get_list(&d, 5, &arr, &n), UL_OK);
    assert_int_equal(n, 0);
    assert_false(ul_msg_list_next(&arr, &it));
    assert_int_equal(ul_msg_get_uint(&d, 24, &v), UL_OK);
    assert_int_equal(v, UINT64_MAX);
    assert_int_equal(ul_msg_get_bytes(&d, 300, &s), UL_OK);
    assert_int_equal(s.len, 0);
    assert_int_equal(ul_msg_get_text(&d, UINT64_MAX, &s), UL_OK);
    assert_int_equal(s.len, 0);
    assert_reencodes(out, len);

    /* Spans point into the input. */
    assert_int_equal(ul_msg_get_bytes(&d, 1, &s), UL_OK);
    assert_true(s.ptr > out && s.ptr < out + len);
}

/* ul_msg_decode_items keeps the spans of one list's elements as ul_msg_list_next would give
 * them; more than the room it is given is UL_E_LIMIT, and a failed decode leaves none. */
static void test_decode_items(void **state)
{
    ul_msg m, d;
    ul_span items[3], got[3];
    uint8_t out[512];
    size_t len, n = 99;

    (void)state;
    full_msg(&m, items);
    encode_ok(&m, out, sizeof out, &len);
    assert_int_equal(ul_msg_decode_items(&d, out, len, 4, got, 3, &n), UL_OK);
    assert_int_equal(n, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(got[i].len, items[i].len);
        assert_memory_equal(got[i].ptr, items[i].ptr, got[i].len);
        assert_true(got[i].ptr > out && got[i].ptr < out + len); /* into the input */
    }
    assert_int_equal(d.n, m.n); /* the message itself as ul_msg_decode gives it */
    assert_int_equal(ul_msg_decode_items(&d, out, len, 4, got, 2, &n), UL_E_LIMIT);
    assert_int_equal(n, 0);
    assert_int_equal(ul_msg_decode_items(&d, out, len, 5, got, 0, &n), UL_OK); /* empty list */
    assert_int_equal(n, 0);
    assert_int_equal(ul_msg_decode_items(&d, out, len, 0, got, 0, &n), UL_OK); /* not a list */
    assert_int_equal(n, 0);
    assert_int_not_equal(ul_msg_decode_items(&d, out, len - 1, 4, got, 3, &n), UL_OK);
    assert_int_equal(n, 0);
}

static void test_empty_and_long_strings(void **state)
{
    static const size_t sizes[] = {0, 1, 23, 24, 255, 256, 65535, 65536, 70000};
    size_t cap = 2 * 70000 + 64, len;
    uint8_t *big = malloc(70000), *out = malloc(cap);
    ul_msg m;
    ul_span s;

    (void)state;
    assert_non_null(big);
    assert_non_null(out);
    memset(big, 'a', 70000);
    ul_msg_init(&m);
    encode_ok(&m, out, cap, &len);
    assert_int_equal(len, 1);
    assert_int_equal(out[0], 0xa0);
    assert_reencodes(out, len);

    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t n = sizes[i];
        ul_msg d;
        ul_msg_init(&m);
        ul_msg_bytes(&m, 1, big, n);
        ul_msg_text(&m, 2, (ul_span){big, n});
        encode_ok(&m, out, cap, &len);
        assert_int_equal(ul_msg_decode(&d, out, len), UL_OK);
        assert_int_equal(ul_msg_get_bytes(&d, 1, &s), UL_OK);
        assert_int_equal(s.len, n);
        assert_int_equal(ul_msg_get_text(&d, 2, &s), UL_OK);
        assert_int_equal(s.len, n);
        assert_memory_equal(s.ptr, big, n);
    }
    free(big);
    free(out);
}

static void test_buffer_too_small(void **state)
{
    ul_msg m;
    ul_span items[3];
    uint8_t out[512];
    size_t len, full;

    (void)state;
    full_msg(&m, items);
    encode_ok(&m, out, sizeof out, &full);
    for (size_t cap = 0; cap < full; cap++) {
        assert_int_equal(ul_msg_encode(out, cap, &len, &m), UL_E_BUFFER);
    }
    assert_int_equal(ul_msg_encode(out, full, &len, &m), UL_OK);
}

/* ---- limits ------------------------------------------------------------------------------- */

static void test_field_count_limit(void **state)
{
    uint8_t in[64];
    size_t len;
    ul_msg m;

    (void)state;
    /* UL_MSG_MAX_FIELDS fields decode; one more is UL_E_LIMIT. */
    for (size_t n = UL_MSG_MAX_FIELDS; n <= UL_MSG_MAX_FIELDS + 1; n++) {
        len = 0;
        in[len++] = (uint8_t)(n < 24 ? 0xa0 + n : 0xb8);
        if (n >= 24) {
            in[len++] = (uint8_t)n;
        }
        for (size_t i = 0; i < n; i++) {
            in[len++] = (uint8_t)i; /* key i (< 24) */
            in[len++] = 0x00;
        }
        ul_err e = ul_msg_decode(&m, in, len);
        if (n == UL_MSG_MAX_FIELDS) {
            assert_int_equal(e, UL_OK);
            assert_int_equal(m.n, n);
            assert_reencodes(in, len);
        } else {
            assert_int_equal(e, UL_E_LIMIT);
        }
    }
    /* A builder message at the bound encodes. */
    ul_msg_init(&m);
    for (uint64_t k = 0; k < UL_MSG_MAX_FIELDS; k++) {
        ul_msg_uint(&m, k, k);
    }
    encode_ok(&m, in, sizeof in, &len);
    assert_int_equal(ul_msg_decode(&m, in, len), UL_OK);
}

static void test_message_size_limit(void **state)
{
    /* One byte-string field: map head (1) + key (1) + 5-byte string head + payload. */
    size_t payload = UL_MAX_MSG_BYTES - 7, len;
    uint8_t *src = calloc(1, UL_MAX_MSG_BYTES + 16), *out = malloc(UL_MAX_MSG_BYTES + 16);
    ul_msg m, d;
    ul_span s;

    (void)state;
    assert_non_null(src);
    assert_non_null(out);
    ul_msg_init(&m);
    ul_msg_bytes(&m, 1, src, payload);
    assert_int_equal(ul_msg_encode(out, UL_MAX_MSG_BYTES + 16, &len, &m), UL_OK);
    assert_int_equal(len, UL_MAX_MSG_BYTES);
    assert_int_equal(ul_msg_decode(&d, out, len), UL_OK);
    assert_int_equal(ul_msg_get_bytes(&d, 1, &s), UL_OK);
    assert_int_equal(s.len, payload);

    ul_msg_init(&m);
    ul_msg_bytes(&m, 1, src, payload + 1);
    assert_int_equal(ul_msg_encode(out, UL_MAX_MSG_BYTES + 16, &len, &m), UL_E_LIMIT);
    /* The same bytes handed to the decoder: refused for their size before anything else. */
    out[0] = 0xa1;
    out[1] = 0x01;
    out[2] = 0x5a;
    out[3] = (uint8_t)((payload + 1) >> 24);
    out[4] = (uint8_t)((payload + 1) >> 16);
    out[5] = (uint8_t)((payload + 1) >> 8);
    out[6] = (uint8_t)(payload + 1);
    assert_int_equal(ul_msg_decode(&d, out, UL_MAX_MSG_BYTES + 1), UL_E_LIMIT);
    free(src);
    free(out);
}

/* Embedded items (blocks and bundles among them) may nest UL_MAX_WIRE_DEPTH containers. */
static void test_item_depth(void **state)
{
    uint8_t in[64];
    size_t len;
    ul_msg m;

    (void)state;
    for (size_t depth = 1; depth <= UL_MAX_WIRE_DEPTH + 1; depth++) {
        len = 0;
        in[len++] = 0xa1;
        in[len++] = 0x01;
        for (size_t i = 0; i < depth; i++) {
            in[len++] = 0xa1; /* {1: ...} */
            in[len++] = 0x01;
        }
        in[len++] = 0x00;
        ul_err e = ul_msg_decode(&m, in, len);
        if (depth <= UL_MAX_WIRE_DEPTH) {
            assert_int_equal(e, UL_OK);
            assert_reencodes(in, len);
        } else {
            assert_int_equal(e, UL_E_LIMIT);
        }
    }
}

/* ---- canonical form ----------------------------------------------------------------------- */

static void test_key_order(void **state)
{
    ul_err got;

    (void)state;
    DECODE(0xa2, 0x01, 0x00, 0x00, 0x00); /* {1: 0, 0: 0} */
    assert_int_equal(got, UL_E_CBOR_NONCANONICAL);
    DECODE(0xa2, 0x01, 0x00, 0x01, 0x00); /* {1: 0, 1: 0} */
    assert_int_equal(got, UL_E_SCHEMA_FIELD);
    DECODE(0xa2, 0x01, 0x00, 0x01, 0x01); /* duplicate key, other value */
    assert_int_not_equal(got, UL_OK);
    DECODE(0xa2, 0x00, 0x00, 0x01, 0x00); /* {0: 0, 1: 0} */
    assert_int_equal(got, UL_OK);
    DECODE(0xa1, 0x61, 0x61, 0x00); /* {"a": 0}: keys are unsigned ints */
    assert_int_equal(got, UL_E_CBOR_TYPE);
    DECODE(0xa1, 0x20, 0x00); /* {-1: 0} */
    assert_int_equal(got, UL_E_CBOR_TYPE);
    DECODE(0xa1, 0x18, 0x01, 0x00); /* key 1 in a two-byte head */
    assert_int_equal(got, UL_E_CBOR_NONCANONICAL);
}

static void test_noncanonical_values(void **state)
{
    ul_err got;

    (void)state;
    DECODE(0xa1, 0x01, 0x18, 0x05); /* 5 in a two-byte head */
    assert_int_equal(got, UL_E_CBOR_NONCANONICAL);
    DECODE(0xa1, 0x01, 0x19, 0x00, 0xff); /* 255 in a three-byte head */
    assert_int_equal(got, UL_E_CBOR_NONCANONICAL);
    DECODE(0xa1, 0x01, 0x58, 0x01, 0xaa); /* 1-byte string, long head */
    assert_int_equal(got, UL_E_CBOR_NONCANONICAL);
    DECODE(0xa1, 0x01, 0x5f, 0x41, 0xaa, 0xff); /* indefinite byte string */
    assert_int_not_equal(got, UL_OK);
    DECODE(0xbf, 0x01, 0x00, 0xff); /* indefinite map */
    assert_int_not_equal(got, UL_OK);
    DECODE(0xa1, 0x01, 0x62, 0xc3, 0x28); /* invalid UTF-8 */
    assert_int_not_equal(got, UL_OK);
    DECODE(0xa1, 0x01, 0x62, 0xc0, 0x80); /* overlong UTF-8 */
    assert_int_not_equal(got, UL_OK);
    DECODE(0xa1, 0x01, 0x20); /* negative int */
    assert_int_equal(got, UL_E_CBOR_TYPE);
    DECODE(0xa1, 0x01, 0xf5); /* true */
    assert_int_equal(got, UL_E_CBOR_TYPE);
    DECODE(0xa1, 0x01, 0xf9, 0x3c, 0x00); /* half float 1.0 */
    assert_int_equal(got, UL_E_CBOR_TYPE);
    DECODE(0xa1, 0x01, 0xc1, 0x00); /* tag 1 */
    assert_int_equal(got, UL_E_CBOR_TYPE);
    DECODE(0xa1, 0x01, 0x00, 0x00); /* trailing byte */
    assert_int_equal(got, UL_E_CBOR_TRAILING);
    DECODE(0x81, 0x00); /* not a map */
    assert_int_not_equal(got, UL_OK);
    DECODE(0x01);
    assert_int_not_equal(got, UL_OK);
    assert_int_not_equal(decode(NULL, 0), UL_OK);
}

static void test_noncanonical_embedded(void **state)
{
    ul_err got;

    (void)state;
    DECODE(0xa1, 0x01, 0xa2, 0x02, 0x00, 0x01, 0x00); /* item {2: 0, 1: 0} */
    assert_int_equal(got, UL_E_CBOR_NONCANONICAL);
    DECODE(0xa1, 0x01, 0xa2, 0x01, 0x00, 0x01, 0x00); /* item {1: 0, 1: 0} */
    assert_int_not_equal(got, UL_OK);
    DECODE(0xa1, 0x01, 0xa1, 0x01, 0x18, 0x00); /* item {1: 0} with a long head */
    assert_int_equal(got, UL_E_CBOR_NONCANONICAL);
    DECODE(0xa1, 0x01, 0xa1, 0x01, 0x9f, 0xff); /* item holding an indefinite array */
    assert_int_not_equal(got, UL_OK);
    DECODE(0xa1, 0x01, 0xa1, 0x61, 0x61, 0x00); /* item with a text key */
    assert_int_not_equal(got, UL_OK);
    DECODE(0xa1, 0x01, 0xa1, 0x01, 0x20); /* item holding a negative int */
    assert_int_equal(got, UL_E_CBOR_TYPE);
    DECODE(0xa1, 0x01, 0x81, 0xa2, 0x02, 0x00, 0x01, 0x00); /* list element unsorted */
    assert_int_equal(got, UL_E_CBOR_NONCANONICAL);
    DECODE(0xa1, 0x01, 0x82, 0xa0, 0xa1, 0x01, 0x18, 0x01); /* 2nd element long head */
    assert_int_equal(got, UL_E_CBOR_NONCANONICAL);
    DECODE(0xa1, 0x01, 0x98, 0x01, 0xa0); /* list count in a long head */
    assert_int_equal(got, UL_E_CBOR_NONCANONICAL);
    DECODE(0xa1, 0x01, 0x82, 0xa0); /* list shorter than its count */
    assert_int_not_equal(got, UL_OK);
    DECODE(0xa1, 0x01, 0x82, 0xa0, 0xa0); /* fine */
    assert_int_equal(got, UL_OK);
}

/* msg.c: "embedded items and list elements must be canonical records (maps)". */
static void test_list_elements_are_records(void **state)
{
    ul_err got;

    (void)state;
    DECODE(0xa1, 0x01, 0x82, 0x01, 0x02); /* [1, 2] */
    assert_int_not_equal(got, UL_OK);
    DECODE(0xa1, 0x01, 0x81, 0x41, 0x00); /* [h'00'] */
    assert_int_not_equal(got, UL_OK);
    DECODE(0xa1, 0x01, 0x81, 0x80); /* [[]] */
    assert_int_not_equal(got, UL_OK);
}

/* ---- getters ------------------------------------------------------------------------------ */

static void test_getters(void **state)
{
    ul_msg m, d;
    ul_span items[3], s, arr;
    uint8_t out[512], fixed[8];
    size_t len, n;
    uint64_t v;

    (void)state;
    full_msg(&m, items);
    encode_ok(&m, out, sizeof out, &len);
    assert_int_equal(ul_msg_decode(&d, out, len), UL_OK);

    /* Absent keys. */
    assert_int_equal(ul_msg_get_uint(&d, 6, &v), UL_E_PROTOCOL);
    assert_int_equal(ul_msg_get_bytes(&d, 6, &s), UL_E_PROTOCOL);
    assert_int_equal(ul_msg_get_fixed(&d, 6, fixed, 4), UL_E_PROTOCOL);
    assert_int_equal(ul_msg_get_text(&d, 6, &s), UL_E_PROTOCOL);
    assert_int_equal(ul_msg_get_item(&d, 6, &s), UL_E_PROTOCOL);
    assert_int_equal(ul_msg_get_list(&d, 6, &arr, &n), UL_E_PROTOCOL);

    /* Each key under every getter but its own. */
    static const uint64_t keys[] = {0, 1, 2, 3, 4};
    for (size_t i = 0; i < 5; i++) {
        uint64_t k = keys[i];
        assert_int_equal(ul_msg_get_uint(&d, k, &v) == UL_OK, k == 0);
        assert_int_equal(ul_msg_get_bytes(&d, k, &s) == UL_OK, k == 1);
        assert_int_equal(ul_msg_get_text(&d, k, &s) == UL_OK, k == 2);
        assert_int_equal(ul_msg_get_item(&d, k, &s) == UL_OK, k == 3);
        assert_int_equal(ul_msg_get_list(&d, k, &arr, &n) == UL_OK, k == 4);
        if (k != 1) {
            assert_int_equal(ul_msg_get_fixed(&d, k, fixed, 4), UL_E_PROTOCOL);
        }
        if (k != 0) {
            assert_int_equal(ul_msg_get_uint(&d, k, &v), UL_E_PROTOCOL);
        }
    }
    /* get_fixed wants the exact length. */
    assert_int_equal(ul_msg_get_fixed(&d, 1, fixed, 3), UL_E_PROTOCOL);
    assert_int_equal(ul_msg_get_fixed(&d, 1, fixed, 5), UL_E_PROTOCOL);
    assert_int_equal(ul_msg_get_fixed(&d, 300, fixed, 0), UL_OK);

    /* A built (not decoded) message answers the same getters. */
    assert_int_equal(ul_msg_get_uint(&m, 24, &v), UL_OK);
    assert_int_equal(v, UINT64_MAX);
    assert_int_equal(ul_msg_get_text(&m, 24, &s), UL_E_PROTOCOL);
}

/* ---- truncation --------------------------------------------------------------------------- */

static void test_truncation(void **state)
{
    ul_msg m, d;
    ul_span items[3];
    uint8_t out[512];
    size_t len;

    (void)state;
    full_msg(&m, items);
    encode_ok(&m, out, sizeof out, &len);
    for (size_t n = 0; n < len; n++) {
        uint8_t *p = malloc(n ? n : 1); /* exact size: a read past n is caught by ASan */
        assert_non_null(p);
        memcpy(p, out, n);
        assert_int_not_equal(ul_msg_decode(&d, p, n), UL_OK);
        free(p);
    }
    assert_int_equal(ul_msg_decode(&d, out, len), UL_OK);
}

/* Every single-byte change of a valid message either fails or decodes to something that
 * re-encodes to the changed bytes (decoding accepts canonical input only). */
static void test_byte_flips(void **state)
{
    ul_msg m;
    ul_span items[3];
    uint8_t out[512], buf[512];
    size_t len;

    (void)state;
    full_msg(&m, items);
    encode_ok(&m, out, sizeof out, &len);
    for (size_t i = 0; i < len; i++) {
        for (unsigned bit = 0; bit < 8; bit++) {
            ul_msg d;
            memcpy(buf, out, len);
            buf[i] ^= (uint8_t)(1u << bit);
            if (ul_msg_decode(&d, buf, len) == UL_OK) {
                assert_reencodes(buf, len);
            }
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uint_values),
        cmocka_unit_test(test_all_types),
        cmocka_unit_test(test_decode_items),
        cmocka_unit_test(test_empty_and_long_strings),
        cmocka_unit_test(test_buffer_too_small),
        cmocka_unit_test(test_field_count_limit),
        cmocka_unit_test(test_message_size_limit),
        cmocka_unit_test(test_item_depth),
        cmocka_unit_test(test_key_order),
        cmocka_unit_test(test_noncanonical_values),
        cmocka_unit_test(test_noncanonical_embedded),
        cmocka_unit_test(test_list_elements_are_records),
        cmocka_unit_test(test_getters),
        cmocka_unit_test(test_truncation),
        cmocka_unit_test(test_byte_flips),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
