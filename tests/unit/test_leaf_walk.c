/* Unit tests for schema/leaf_walk.c, the LEAF section read item by item as a device streams it
 * (client/update.c): against the whole-section decoders (ul_schema_section_decode, then
 * ul_schema_release_decode of its record, as the device did before it streamed), fed in chunks
 * of 1..whole bytes through a buffer of the device's size. A valid record gives every value; one
 * fault of each kind gives the whole decoders' error code; every single-byte flip and every
 * truncation of a record is accepted by one exactly when it is accepted by the other. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "client/ul_client.h"

#define S(lit) ((ul_span){(const uint8_t *)(lit), sizeof(lit) - 1})
#define SEC_MAX (UL_MAX_RECORD_BYTES + 64)

static uint8_t sealed0[UL_SEALED_KEY_BYTES], sealed1[UL_SEALED_KEY_BYTES];

/* Every field present: links, two classes each with a wrapped key, a dependency, a precursor. */
static void ex_release(ul_release *r)
{
    static const ul_release fx = {
        .ns = S("acme/router-x1"),
        .provider = S("ACME Networks"),
        .time = 1700000000,
        .version = S("2.4.1"),
        .seq = 42,
        .size = 1048576,
        .file = S("router-x1-2.4.1.bin"),
        .n_links = 2,
        .links = {S("https://mirror.example.com/acme/router-x1-2.4.1.bin"),
                  S("http://10.0.0.1/fw.bin")},
        .n_hw = 2,
        .hw = {S("rx1-revA"), S("rx1-revB")},
        .n_deps = 1,
        .deps = {{S("acme/bootloader"), S(">=1.2.0")}},
        .kind = UL_KIND_SECURITY,
        .has_precursor = true,
        .has_enc = true,
        .enc = {.alg = 1,
                .chunk = 4096,
                .n_keys = 2,
                .keys = {{S("rx1-revA"), {sealed0, UL_SEALED_KEY_BYTES}},
                         {S("rx1-revB"), {sealed1, UL_SEALED_KEY_BYTES}}}},
    };
    *r = fx;
    memset(r->digest, 0xd0, sizeof r->digest);
    memset(r->precursor, 0xa0, sizeof r->precursor);
    memset(sealed0, 0x10, sizeof sealed0);
    memset(sealed1, 0x60, sizeof sealed1);
}

/* The valid record, and a LEAF section body around a record: [3, 2, record, 1]. */
static uint8_t rec[UL_MAX_RECORD_BYTES];
static size_t rec_len;

static size_t leaf_of(uint8_t *out, const uint8_t *r, size_t n)
{
    out[0] = 0x84;
    out[1] = UL_SEC_LEAF;
    out[2] = UL_TX_PUBLISH;
    memcpy(out + 3, r, n);
    out[3 + n] = 0x01;
    return n + 4;
}

static int setup(void **state)
{
    (void)state;
    ul_release r;
    ex_release(&r);
    return ul_schema_release_encode(rec, sizeof rec, &rec_len, &r) == UL_OK ? 0 : -1;
}

/* What the whole decoders say, in the device's former order. */
static ul_err whole(const uint8_t *body, size_t len)
{
    static ul_section s;
    static ul_release r;
    ul_err e = ul_schema_section_decode(&s, body, len);
    if (e != UL_OK) {
        return e;
    }
    if (s.type != UL_SEC_LEAF) {
        return UL_E_SCHEMA_FIELD;
    }
    if (s.u.leaf.kind != UL_TX_PUBLISH) {
        return UL_E_TX_KIND;
    }
    return ul_schema_release_decode(&r, s.u.leaf.body.ptr, s.u.leaf.body.len);
}

/* What a streaming reader learns, and its cross-field checks on the labels themselves. */
typedef struct {
    char ns[UL_MAX_NS_LEN + 1], version[UL_MAX_LABEL_LEN + 1];
    uint64_t seq, size, time, kind, chunk, n_sigs;
    uint8_t digest[32], sealed_b[UL_SEALED_KEY_BYTES];
    char hw[UL_MAX_HW][UL_MAX_LABEL_LEN + 1];
    size_t n_hw, n_keys, n_dep;
    char key_hw[UL_MAX_HW][UL_MAX_LABEL_LEN + 1];
    bool done;
} seen;

static void copy_label(char *dst, ul_span s)
{
    memcpy(dst, s.ptr, s.len);
    dst[s.len] = '\0';
}

static ul_err cross(const seen *v)
{
    for (size_t i = 0; i < v->n_hw; i++) {
        for (size_t j = 0; j < i; j++) {
            if (strcmp(v->hw[i], v->hw[j]) == 0) {
                return UL_E_SCHEMA_FIELD;
            }
        }
    }
    for (size_t i = 0; i < v->n_keys; i++) {
        bool listed = false;
        for (size_t j = 0; j < v->n_hw; j++) {
            listed = listed || strcmp(v->key_hw[i], v->hw[j]) == 0;
        }
        for (size_t j = 0; j < i; j++) {
            listed = listed && strcmp(v->key_hw[i], v->key_hw[j]) != 0;
        }
        if (!listed) {
            return UL_E_SCHEMA_FIELD;
        }
    }
    return UL_OK;
}

static ul_err on_event(seen *v, const ul_leaf_event *ev)
{
    switch (ev->what) {
    case UL_LEAF_TYPE:
        return ev->val != UL_SEC_LEAF ? UL_E_SCHEMA_FIELD : UL_OK;
    case UL_LEAF_TX_KIND:
        return ev->val != UL_TX_PUBLISH ? UL_E_TX_KIND : UL_OK;
    case UL_LEAF_NS:
        copy_label(v->ns, ev->s);
        break;
    case UL_LEAF_VERSION:
        copy_label(v->version, ev->s);
        break;
    case UL_LEAF_SEQ:
        v->seq = ev->val;
        break;
    case UL_LEAF_SIZE:
        v->size = ev->val;
        break;
    case UL_LEAF_TIME:
        v->time = ev->val;
        break;
    case UL_LEAF_KIND:
        v->kind = ev->val;
        break;
    case UL_LEAF_DIGEST:
        memcpy(v->digest, ev->s.ptr, 32);
        break;
    case UL_LEAF_HW:
        copy_label(v->hw[v->n_hw++], ev->s);
        break;
    case UL_LEAF_KEY_HW:
        copy_label(v->key_hw[v->n_keys++], ev->s);
        break;
    case UL_LEAF_KEY_SEALED:
        memcpy(v->sealed_b, ev->s.ptr, UL_SEALED_KEY_BYTES);
        break;
    case UL_LEAF_DEP_CONSTRAINT:
        v->n_dep++;
        break;
    case UL_LEAF_ENC_CHUNK:
        v->chunk = ev->val;
        break;
    case UL_LEAF_N_SIGS:
        v->n_sigs = ev->val;
        v->done = true;
        break;
    default:
        break;
    }
    return ev->check ? cross(v) : UL_OK;
}

/* The device's loop (client/update.c take and leaf_drain): chunk bytes at a time into a buffer
 * of UL_MAX_HELD_SECTION_BYTES, every whole item read, a partial one kept for more. */
static bool g_hashes;   /* walk INCLUSION / SIBLINGS sections instead of the LEAF */
static uint64_t g_type; /* the section type the hashes walk wants */

static ul_err streamed(const uint8_t *body, size_t len, size_t chunk, seen *v)
{
    static uint8_t buf[UL_MAX_HELD_SECTION_BYTES];
    ul_leaf_walk w;
    size_t held = 0, consumed = 0, fed = 0;
    memset(v, 0, sizeof *v);
    ul_schema_leaf_walk_init(&w);
    while (fed < len) {
        size_t n = len - fed < chunk ? len - fed : chunk;
        n = n < sizeof buf - held ? n : sizeof buf - held;
        memcpy(buf + held, body + fed, n);
        held += n;
        fed += n;
        size_t pos = 0;
        while (pos < held) {
            ul_leaf_event ev;
            size_t need = 0;
            ul_err e =
                g_hashes
                    ? ul_schema_hashes_walk(&w, &ev, buf + pos, held - pos, len - consumed, &need)
                    : ul_schema_leaf_walk(&w, &ev, buf + pos, held - pos, len - consumed, &need);
            if (e == UL_E_TRUNCATED) {
                if (need > sizeof buf) {
                    return UL_E_LIMIT;
                }
                break;
            }
            if (e == UL_OK && g_hashes) {
                e = ev.what == UL_LEAF_TYPE && ev.val != g_type ? UL_E_SCHEMA_FIELD : UL_OK;
                v->n_sigs += ev.what == UL_LEAF_HASH; /* hashes seen */
                v->done = w.done;
            } else if (e == UL_OK) {
                e = on_event(v, &ev);
            }
            if (e != UL_OK) {
                return e;
            }
            pos += ev.size;
            consumed += ev.size;
        }
        memmove(buf, buf + pos, held - pos);
        held -= pos;
    }
    return v->done && held == 0 ? UL_OK : UL_E_CBOR_MALFORMED;
}

static void test_valid(void **state)
{
    (void)state;
    static const size_t chunks[] = {1, 2, 3, 7, 34, 128, SEC_MAX};
    uint8_t body[SEC_MAX];
    size_t n = leaf_of(body, rec, rec_len);
    assert_int_equal(whole(body, n), UL_OK);
    for (size_t i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
        seen v;
        assert_int_equal(streamed(body, n, chunks[i], &v), UL_OK);
        assert_string_equal(v.ns, "acme/router-x1");
        assert_string_equal(v.version, "2.4.1");
        assert_int_equal(v.seq, 42);
        assert_int_equal(v.size, 1048576);
        assert_int_equal(v.time, 1700000000);
        assert_int_equal(v.kind, UL_KIND_SECURITY);
        assert_int_equal(v.chunk, 4096);
        assert_int_equal(v.n_sigs, 1);
        assert_int_equal(v.n_hw, 2);
        assert_string_equal(v.hw[1], "rx1-revB");
        assert_int_equal(v.n_keys, 2);
        assert_int_equal(v.n_dep, 1);
        assert_memory_equal(v.sealed_b, sealed1, UL_SEALED_KEY_BYTES);
        assert_int_equal(v.digest[31], 0xd0);
    }
}

/* Replaces the first occurrence of from (after skip bytes) in the record by to. */
static size_t splice(uint8_t *out, const char *from, size_t from_len, const char *to, size_t to_len,
                     size_t skip)
{
    for (size_t i = skip; i + from_len <= rec_len; i++) {
        if (memcmp(rec + i, from, from_len) == 0) {
            memcpy(out, rec, i);
            memcpy(out + i, to, to_len);
            memcpy(out + i + to_len, rec + i + from_len, rec_len - i - from_len);
            return rec_len - from_len + to_len;
        }
    }
    fail_msg("fixture: %s not in the record", from);
    return 0;
}

#define SPLICE(out, from, to) splice(out, from, sizeof(from) - 1, to, sizeof(to) - 1, 0)

static void both(const uint8_t *r, size_t n, ul_err want)
{
    uint8_t body[SEC_MAX + 64];
    seen v;
    size_t len = leaf_of(body, r, n);
    assert_int_equal(whole(body, len), want);
    assert_int_equal(streamed(body, len, 5, &v), want);
    assert_int_equal(streamed(body, len, SEC_MAX, &v), want);
}

static void test_one_fault_each(void **state)
{
    (void)state;
    uint8_t r[UL_MAX_RECORD_BYTES + 256];
    char longv[UL_MAX_LABEL_LEN + 4] = "\x78\x81";
    memset(longv + 2, '1', UL_MAX_LABEL_LEN + 1);
    both(r, SPLICE(r, "\x05\x18\x2a", "\x05\x19\x00\x2a"), UL_E_CBOR_NONCANONICAL);
    both(r, SPLICE(r, "\x0e\xa3", "\x0f\xa3"), UL_E_SCHEMA_FIELD);              /* unknown key */
    both(r, SPLICE(r, "\x0c\x00\x0d", "\x0b\x00\x0d"), UL_E_SCHEMA_FIELD);      /* repeated key */
    both(r, SPLICE(r, "\x0c\x00\x0d", "\x0a\x00\x0d"), UL_E_CBOR_NONCANONICAL); /* key order */
    both(r, SPLICE(r, "\x0c\x00", "\x0c\x04"), UL_E_SCHEMA_FIELD);              /* kind > 3 */
    both(r, SPLICE(r, "rx1-revB", "rx1-revA"), UL_E_SCHEMA_FIELD);              /* hw twice */
    both(r, splice(r, "rx1-revB", 8, "rx1-revC", 8, 200), UL_E_SCHEMA_FIELD);   /* key unlisted */
    both(r, SPLICE(r, "\x02\x19\x10\x00", "\x02\x00"), UL_E_SCHEMA_FIELD);      /* chunk 0 */
    both(r, SPLICE(r, "\x02\x19\x10\x00", "\x02\x19\x10\x01"), UL_E_SCHEMA_FIELD); /* 4097 */
    both(r, SPLICE(r, "\xa3\x01\x01", "\xa3\x01\x02"), UL_E_SCHEMA_FIELD);         /* alg */
    both(r, SPLICE(r, "acme/router-x1", "ACME/router-x1"), UL_E_NS_NAME);
    both(r, SPLICE(r, "\x04\x65\x32\x2e\x34\x2e\x31", "\x04\x65\x32\x2e\x34\x2e\x01"),
         UL_E_SCHEMA_FIELD); /* a control character in a label */
    both(r, SPLICE(r, "\x65\x32\x2e\x34\x2e\x31", longv), UL_E_LIMIT);
    both(r, SPLICE(r, "ACME Networks", "ACME Netw\xc3\x28rks"), UL_E_CBOR_MALFORMED); /* UTF-8 */
    both(r, SPLICE(r, "\x06\x58\x20\xd0", "\x06\x58\x1f"), UL_E_SCHEMA_FIELD);        /* 31 bytes */
    both(r, SPLICE(r, "\x0a\x82", "\x0a\x9f"), UL_E_CBOR_NONCANONICAL); /* indefinite */
    both(r, SPLICE(r, "\x0a\x82\x68rx1-revA\x68rx1-revB", "\x0a\x80"), UL_E_SCHEMA_FIELD);
    both(r,
         SPLICE(r,
                "\x01\x6e"
                "acme/router-x1",
                "\x01\x01"),
         UL_E_CBOR_TYPE); /* ns: uint */
    /* A link longer than any label (and than the device's buffer): refused whole or streamed. */
    char longl[3 + 0x230] = "\x79\x02\x30";
    memset(longl + 3, 'l', 0x230);
    assert_true(0x230 > UL_MAX_LINK_LEN && 0x233 > UL_MAX_HELD_SECTION_BYTES);
    both(r, splice(r, "\x76http://10.0.0.1/fw.bin", 23, longl, 3 + 0x230, 0), UL_E_LIMIT);
    /* Around the record: type, tx kind, signature count, trailing bytes. */
    uint8_t body[SEC_MAX];
    seen v;
    size_t n = leaf_of(body, rec, rec_len);
    static const struct {
        size_t at;
        uint8_t to;
        ul_err want;
    } around[] = {{1, UL_SEC_SIG, UL_E_SCHEMA_FIELD},
                  {2, 1, UL_E_TX_KIND},
                  {2, 0, UL_E_TX_KIND},
                  {0, 0x83, UL_E_SCHEMA_FIELD},
                  {SIZE_MAX, 0, UL_E_SCHEMA_FIELD},
                  {SIZE_MAX, 9, UL_E_LIMIT}};
    for (size_t i = 0; i < sizeof around / sizeof around[0]; i++) {
        size_t at = around[i].at == SIZE_MAX ? n - 1 : around[i].at;
        uint8_t was = body[at];
        body[at] = around[i].to;
        assert_int_equal(whole(body, n), around[i].want);
        assert_int_equal(streamed(body, n, 3, &v), around[i].want);
        body[at] = was;
    }
    body[n] = 0x00;
    assert_int_equal(whole(body, n + 1), UL_E_CBOR_TRAILING);
    assert_int_equal(streamed(body, n + 1, 3, &v), UL_E_CBOR_TRAILING);
}

/* Every single-byte change and every truncation: accepted by both or by neither. */
static void test_flips_and_cuts(void **state)
{
    (void)state;
    static const uint8_t masks[] = {0x01, 0x02, 0x08, 0x20, 0x40, 0x80, 0xff};
    uint8_t body[SEC_MAX];
    size_t n = leaf_of(body, rec, rec_len), same = 0, runs = 0;
    seen v;
    for (size_t i = 0; i < n; i++) {
        for (size_t m = 0; m < sizeof masks; m++) {
            body[i] ^= masks[m];
            ul_err a = whole(body, n), b = streamed(body, n, 1 + i % 40, &v);
            assert_true((a == UL_OK) == (b == UL_OK));
            same += a == b;
            runs++;
            body[i] ^= masks[m];
        }
    }
    for (size_t cut = 0; cut < n; cut++) {
        assert_int_not_equal(streamed(body, cut, 1 + cut % 40, &v), UL_OK);
        assert_int_not_equal(whole(body, cut), UL_OK);
    }
    /* Codes differ only where one change makes two faults that the two read in another order
     * (the whole decoder skipped the record before decoding it). */
    printf("leaf walk: %zu of %zu changed sections refused with the whole decoders' code\n", same,
           runs);
}

/* The whole decoder on an INCLUSION or SIBLINGS section. */
static ul_err whole_hashes(const uint8_t *body, size_t len, size_t *n)
{
    static ul_section s;
    ul_err e = ul_schema_section_decode(&s, body, len);
    if (e == UL_OK && s.type != g_type) {
        return UL_E_SCHEMA_FIELD;
    }
    *n = s.type == UL_SEC_INCLUSION ? s.u.inclusion.n_path : s.u.siblings.n;
    return e;
}

/* INCLUSION and SIBLINGS sections read hash by hash: every hash arrives; single-byte changes
 * and truncations are refused by both readers or by neither. */
static void test_hash_sections(void **state)
{
    (void)state;
    static uint8_t hashes[UL_MAX_PROOF_DEPTH][UL_HASH_BYTES];
    static const uint8_t masks[] = {0x01, 0x20, 0x80, 0xff};
    for (size_t i = 0; i < UL_MAX_PROOF_DEPTH; i++) {
        memset(hashes[i], (int)i + 1, UL_HASH_BYTES);
    }
    for (int k = 0; k < 3; k++) {
        ul_section sec;
        uint8_t out[UL_MAX_SECTION_BYTES];
        size_t n = 0, head = 0, want_n = k == 0 ? 20 : UL_MAX_PROOF_DEPTH, got = 0;
        uint64_t blen = 0;
        memset(&sec, 0, sizeof sec);
        sec.type = k < 2 ? UL_SEC_INCLUSION : UL_SEC_SIBLINGS;
        sec.u.inclusion.index = 5;
        sec.u.inclusion.size = (uint64_t)1 << 62;
        sec.u.inclusion.n_path = want_n;
        sec.u.siblings.n = k == 2 ? want_n : sec.u.siblings.n;
        assert_int_equal(ul_schema_section_encode(out, sizeof out, &n, &sec, hashes), UL_OK);
        assert_int_equal(ul_schema_section_frame(out, n, &head, &blen), UL_OK);
        uint8_t *body = out + head;
        size_t len = (size_t)blen;
        seen v;
        g_hashes = true;
        g_type = sec.type;
        assert_true(len > UL_MAX_HELD_SECTION_BYTES || k == 0);
        assert_int_equal(whole_hashes(body, len, &got), UL_OK);
        assert_int_equal(got, want_n);
        assert_int_equal(streamed(body, len, 7, &v), UL_OK);
        assert_int_equal(v.n_sigs, want_n);
        for (size_t i = 0; i < len; i++) {
            for (size_t m = 0; m < sizeof masks; m++) {
                body[i] ^= masks[m];
                ul_err a = whole_hashes(body, len, &got), b = streamed(body, len, 1 + i % 40, &v);
                assert_true((a == UL_OK) == (b == UL_OK));
                body[i] ^= masks[m];
            }
        }
        for (size_t cut = 0; cut < len; cut++) {
            assert_int_not_equal(streamed(body, cut, 1 + cut % 40, &v), UL_OK);
        }
        g_hashes = false;
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_one_fault_each),
        cmocka_unit_test(test_flips_and_cuts),
        cmocka_unit_test(test_hash_sections),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
