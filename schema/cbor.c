/* Canonical CBOR over caller memory: an item-at-a-time reader on libcbor's allocation-free
 * streaming decoder, and a writer on libcbor's allocation-free encoders. Only the deterministic
 * forms of RFC 8949 section 4.2.1 pass the reader; anything else is an error, never a guess.
 */
#include <string.h>

#include <cbor/callbacks.h>
#include <cbor/encoding.h>
#include <cbor/streaming.h>

#include "internal.h"

/* The length libcbor's string and collection callbacks take: size_t up to 0.9 (Debian 12's
 * 0.8), uint64_t since 0.10 (the microcontroller build's, scripts/mcu.mk); they differ on a
 * 32-bit target. */
#if CBOR_MAJOR_VERSION == 0 && CBOR_MINOR_VERSION < 10
typedef size_t ul_cbor_cb_len;
#else
typedef uint64_t ul_cbor_cb_len;
#endif

/* ---- Reader ------------------------------------------------------------------------------ */

/* What the libcbor callbacks captured for the one item cbor_stream_decode saw. */
typedef struct {
    int type; /* ul_cbor_type, or -1 while no callback we accept has fired */
    uint64_t val;
    const uint8_t *data;
} ul_cbor_capture;

static void cap_set(void *ctx, ul_cbor_type t, uint64_t v, const uint8_t *data)
{
    ul_cbor_capture *c = ctx;
    c->type = (int)t;
    c->val = v;
    c->data = data;
}

static void cap_u8(void *ctx, uint8_t v)
{
    cap_set(ctx, UL_CBOR_UINT, v, NULL);
}

static void cap_u16(void *ctx, uint16_t v)
{
    cap_set(ctx, UL_CBOR_UINT, v, NULL);
}

static void cap_u32(void *ctx, uint32_t v)
{
    cap_set(ctx, UL_CBOR_UINT, v, NULL);
}

static void cap_u64(void *ctx, uint64_t v)
{
    cap_set(ctx, UL_CBOR_UINT, v, NULL);
}

static void cap_bytes(void *ctx, cbor_data d, ul_cbor_cb_len n)
{
    cap_set(ctx, UL_CBOR_BYTES, n, d);
}

static void cap_text(void *ctx, cbor_data d, ul_cbor_cb_len n)
{
    cap_set(ctx, UL_CBOR_TEXT, n, d);
}

static void cap_array(void *ctx, ul_cbor_cb_len n)
{
    cap_set(ctx, UL_CBOR_ARRAY, n, NULL);
}

static void cap_map(void *ctx, ul_cbor_cb_len n)
{
    cap_set(ctx, UL_CBOR_MAP, n, NULL);
}

/* The callbacks cbor_stream_decode calls: ours for the items upledger uses, libcbor's own no-ops
 * for the rest (initial_byte_check refuses those before libcbor sees them). One constant table:
 * copying cbor_empty_callbacks and setting ours for every item was a 232-byte copy per item. */
static const struct cbor_callbacks capture_callbacks = {
    .uint8 = cap_u8,
    .uint16 = cap_u16,
    .uint32 = cap_u32,
    .uint64 = cap_u64,
    .negint64 = cbor_null_negint64_callback,
    .negint32 = cbor_null_negint32_callback,
    .negint16 = cbor_null_negint16_callback,
    .negint8 = cbor_null_negint8_callback,
    .byte_string_start = cbor_null_byte_string_start_callback,
    .byte_string = cap_bytes, /* libcbor's callback for a definite byte string */
    .string = cap_text,
    .string_start = cbor_null_string_start_callback,
    .indef_array_start = cbor_null_indef_array_start_callback,
    .array_start = cap_array,
    .indef_map_start = cbor_null_indef_map_start_callback,
    .map_start = cap_map,
    .tag = cbor_null_tag_callback,
    .float2 = cbor_null_float2_callback,
    .float4 = cbor_null_float4_callback,
    .float8 = cbor_null_float8_callback,
    .undefined = cbor_null_undefined_callback,
    .null = cbor_null_null_callback,
    .boolean = cbor_null_boolean_callback,
    .indef_break = cbor_null_indef_break_callback,
};

/* Bytes of the shortest head that carries argument v (RFC 8949 section 4.2.1). */
static size_t head_size(uint64_t v)
{
    if (v < 24) {
        return 1;
    }
    if (v <= 0xff) {
        return 2;
    }
    if (v <= 0xffff) {
        return 3;
    }
    if (v <= 0xffffffffu) {
        return 5;
    }
    return 9;
}

void ul_cbor_reader_init(ul_cbor_reader *r, const uint8_t *in, size_t len, unsigned depth)
{
    r->in = in;
    r->len = in ? len : 0;
    r->pos = 0;
    r->depth = depth;
}

/* Classifies the initial byte before libcbor sees it: reserved and indefinite forms, and the
 * major types upledger never uses (negative ints, tags, floats and simple values). */
static ul_err initial_byte_check(uint8_t ib)
{
    unsigned major = ib >> 5;
    unsigned ai = ib & 0x1f;
    if (ai >= 28 && ai <= 30) {
        return UL_E_CBOR_MALFORMED;
    }
    if (ai == 31) {
        return (major >= 2 && major <= 5) ? UL_E_CBOR_NONCANONICAL : UL_E_CBOR_MALFORMED;
    }
    if (major == 1 || major == 6 || major == 7) {
        return UL_E_CBOR_TYPE;
    }
    return UL_OK;
}

static ul_err item_check(const ul_cbor_item *it, size_t avail)
{
    bool str = it->type == UL_CBOR_BYTES || it->type == UL_CBOR_TEXT;
    size_t head = str ? it->size - (size_t)it->val : it->size;
    if (head != head_size(it->val)) {
        return UL_E_CBOR_NONCANONICAL;
    }
    /* Each element takes at least one byte: a count beyond the input is a truncation. */
    if (it->type == UL_CBOR_ARRAY && it->val > avail - head) {
        return UL_E_CBOR_MALFORMED;
    }
    if (it->type == UL_CBOR_MAP && it->val > (avail - head) / 2) {
        return UL_E_CBOR_MALFORMED;
    }
    if (it->type == UL_CBOR_TEXT && !ul_cbor_utf8_valid(it->data, (size_t)it->val)) {
        return UL_E_CBOR_MALFORMED;
    }
    return UL_OK;
}

ul_err ul_cbor_next_part(const uint8_t *p, size_t have, size_t avail, ul_cbor_item *it,
                         size_t *need)
{
    *need = 0;
    if (have == 0 || have > avail) {
        return have == 0 && avail > 0 ? UL_E_TRUNCATED : UL_E_CBOR_MALFORMED;
    }
    ul_err e = initial_byte_check(p[0]);
    if (e != UL_OK) {
        return e;
    }
    ul_cbor_capture c = {.type = -1, .val = 0, .data = NULL};
    struct cbor_decoder_result res = cbor_stream_decode(p, have, &capture_callbacks, &c);
    if (res.status == CBOR_DECODER_NEDATA && have < avail) {
        /* libcbor names the bytes the whole item takes (a string's payload included). */
        if (res.required <= have || res.required > avail) {
            return UL_E_CBOR_MALFORMED;
        }
        *need = res.required;
        return UL_E_TRUNCATED;
    }
    if (res.status != CBOR_DECODER_FINISHED || c.type < 0 || res.read == 0 || res.read > have) {
        return UL_E_CBOR_MALFORMED;
    }
    it->type = (ul_cbor_type)c.type;
    it->val = c.val;
    it->data = c.data;
    it->size = res.read;
    return item_check(it, avail);
}

ul_err ul_cbor_next(ul_cbor_reader *r, ul_cbor_item *it)
{
    size_t need = 0;
    if (r->pos >= r->len) {
        return UL_E_CBOR_MALFORMED;
    }
    size_t avail = r->len - r->pos;
    ul_err e = ul_cbor_next_part(r->in + r->pos, avail, avail, it, &need);
    if (e != UL_OK) {
        return e;
    }
    r->pos += it->size;
    return UL_OK;
}

ul_err ul_cbor_expect(ul_cbor_reader *r, ul_cbor_type t, ul_cbor_item *it)
{
    ul_err e = ul_cbor_next(r, it);
    if (e == UL_OK && it->type != t) {
        return UL_E_CBOR_TYPE;
    }
    return e;
}

ul_err ul_cbor_read_uint(ul_cbor_reader *r, uint64_t *v)
{
    ul_cbor_item it;
    ul_err e = ul_cbor_expect(r, UL_CBOR_UINT, &it);
    if (e == UL_OK) {
        *v = it.val;
    }
    return e;
}

ul_err ul_cbor_read_fixed(ul_cbor_reader *r, uint8_t *out, size_t n)
{
    ul_cbor_item it;
    ul_err e = ul_cbor_expect(r, UL_CBOR_BYTES, &it);
    if (e != UL_OK) {
        return e;
    }
    if (it.val != n) {
        return UL_E_SCHEMA_FIELD;
    }
    memcpy(out, it.data, n);
    return UL_OK;
}

static ul_err enter(ul_cbor_reader *r, ul_cbor_type t, ul_cbor_item *it)
{
    ul_err e = ul_cbor_expect(r, t, it);
    if (e != UL_OK) {
        return e;
    }
    if (r->depth + 1 > UL_MAX_CBOR_DEPTH) {
        return UL_E_LIMIT;
    }
    r->depth++;
    return UL_OK;
}

ul_err ul_cbor_enter_array(ul_cbor_reader *r, size_t min, size_t max, size_t *n)
{
    ul_cbor_item it;
    ul_err e = enter(r, UL_CBOR_ARRAY, &it);
    if (e != UL_OK) {
        return e;
    }
    if (it.val < min) {
        return UL_E_SCHEMA_FIELD;
    }
    if (it.val > max) {
        return UL_E_LIMIT;
    }
    *n = (size_t)it.val;
    return UL_OK;
}

ul_err ul_cbor_enter_tuple(ul_cbor_reader *r, size_t n)
{
    ul_cbor_item it;
    ul_err e = enter(r, UL_CBOR_ARRAY, &it);
    if (e == UL_OK && it.val != n) {
        return UL_E_SCHEMA_FIELD;
    }
    return e;
}

ul_err ul_cbor_enter_map(ul_cbor_reader *r, size_t *n)
{
    ul_cbor_item it;
    ul_err e = enter(r, UL_CBOR_MAP, &it);
    if (e == UL_OK) {
        *n = (size_t)it.val;
    }
    return e;
}

void ul_cbor_leave(ul_cbor_reader *r)
{
    r->depth--;
}

ul_err ul_cbor_key_order(bool have_last, uint64_t last, uint64_t key)
{
    if (!have_last || key > last) {
        return UL_OK;
    }
    return key == last ? UL_E_SCHEMA_FIELD : UL_E_CBOR_NONCANONICAL;
}

/* One open container while skipping: elements left (2 per map pair) and the last map key. */
typedef struct {
    uint64_t left;
    bool map;
    bool have_last;
    uint64_t last;
} ul_cbor_level;

/* Accounts item it against the innermost open container (a map key must be an unsigned int
 * above the previous key), and opens a level when it is itself a container. */
static ul_err skip_step(ul_cbor_level *st, size_t *top, unsigned base, unsigned limit,
                        const ul_cbor_item *it)
{
    if (*top > 0) {
        ul_cbor_level *l = &st[*top - 1];
        if (l->map && l->left % 2 == 0) {
            if (it->type != UL_CBOR_UINT) {
                return UL_E_CBOR_TYPE;
            }
            ul_err e = ul_cbor_key_order(l->have_last, l->last, it->val);
            if (e != UL_OK) {
                return e;
            }
            l->have_last = true;
            l->last = it->val;
        }
        l->left--;
    }
    if (it->type == UL_CBOR_ARRAY || it->type == UL_CBOR_MAP) {
        if (base + *top + 1 > limit) {
            return UL_E_LIMIT;
        }
        bool map = it->type == UL_CBOR_MAP;
        st[*top] = (ul_cbor_level){map ? it->val * 2 : it->val, map, false, 0};
        (*top)++;
    }
    while (*top > 0 && st[*top - 1].left == 0) {
        (*top)--;
    }
    return UL_OK;
}

static ul_err skip_from(ul_cbor_reader *r, unsigned base, unsigned limit, ul_span *span,
                        ul_cbor_type *type)
{
    ul_cbor_level st[UL_MAX_WIRE_DEPTH];
    size_t top = 0;
    size_t start = r->pos;
    /* Every item takes at least one byte, so len + 1 steps bound the walk. */
    for (size_t step = 0; step <= r->len; step++) {
        ul_cbor_item it;
        ul_err e = ul_cbor_next(r, &it);
        if (e == UL_OK) {
            e = skip_step(st, &top, base, limit, &it);
        }
        if (e != UL_OK) {
            return e;
        }
        if (step == 0) {
            *type = it.type;
        }
        if (top == 0) {
            span->ptr = r->in + start;
            span->len = r->pos - start;
            return UL_OK;
        }
    }
    return UL_E_CBOR_MALFORMED;
}

ul_err ul_cbor_skip(ul_cbor_reader *r, ul_span *span, ul_cbor_type *type)
{
    return skip_from(r, 0, UL_MAX_CBOR_DEPTH, span, type);
}

ul_err ul_cbor_skip_wire(ul_cbor_reader *r, ul_span *span, ul_cbor_type *type)
{
    return skip_from(r, 0, UL_MAX_WIRE_DEPTH, span, type);
}

ul_err ul_cbor_skip_in(ul_cbor_reader *r, ul_span *span, ul_cbor_type *type)
{
    if (r->depth >= UL_MAX_CBOR_DEPTH) {
        return UL_E_LIMIT;
    }
    return skip_from(r, r->depth, UL_MAX_CBOR_DEPTH, span, type);
}

/* null is no part of any record, so ul_cbor_next refuses it; a bundle's state proof uses it for
 * "the path ends in an empty subtree", and only there is it read, through this function. */
static void cap_null(void *ctx)
{
    cap_set(ctx, UL_CBOR_UINT, 0, NULL);
}

ul_err ul_cbor_read_null(ul_cbor_reader *r, bool *is_null)
{
    *is_null = false;
    if (r->pos >= r->len) {
        return UL_E_CBOR_MALFORMED;
    }
    struct cbor_callbacks cb = cbor_empty_callbacks;
    cb.null = cap_null;
    ul_cbor_capture c = {.type = -1, .val = 0, .data = NULL};
    struct cbor_decoder_result res = cbor_stream_decode(r->in + r->pos, r->len - r->pos, &cb, &c);
    if (res.status == CBOR_DECODER_FINISHED && c.type >= 0 && res.read == 1) {
        *is_null = true;
        r->pos += 1;
    }
    return UL_OK;
}

/* Splits a byte-string head's libcbor `required` count R (head + length, head complete) into the
 * two: of the five head sizes, only the shortest form for its length can add up to R, and the
 * head bytes must then be exactly that form. */
static ul_err bstr_split(const uint8_t *in, uint64_t need, size_t *head_len, uint64_t *body_len)
{
    static const size_t sizes[] = {1, 2, 3, 5, 9};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        if (need >= sizes[i] && head_size(need - sizes[i]) == sizes[i]) {
            uint8_t canon[9];
            uint64_t n = need - sizes[i];
            size_t h = cbor_encode_bytestring_start((size_t)n, canon, sizeof canon);
            if (h != sizes[i] || memcmp(canon, in, h) != 0) {
                return UL_E_CBOR_NONCANONICAL;
            }
            *head_len = h;
            *body_len = n;
            return UL_OK;
        }
    }
    return UL_E_CBOR_NONCANONICAL;
}

/* One cbor_stream_decode of a byte string: UL_OK with the head and payload sizes when the whole
 * string is in[0..len), UL_E_TRUNCATED with *need (libcbor's `required`) when it is not. */
static ul_err bstr_try(const uint8_t *in, size_t len, size_t *head_len, uint64_t *body_len,
                       uint64_t *need)
{
    struct cbor_callbacks cb = cbor_empty_callbacks;
    cb.byte_string = cap_bytes;
    ul_cbor_capture c = {.type = -1, .val = 0, .data = NULL};
    struct cbor_decoder_result res = cbor_stream_decode(in, len, &cb, &c);
    if (res.status == CBOR_DECODER_NEDATA) {
        *need = res.required;
        return UL_E_TRUNCATED;
    }
    if (res.status != CBOR_DECODER_FINISHED || c.type != UL_CBOR_BYTES) {
        return UL_E_CBOR_MALFORMED;
    }
    *head_len = (size_t)(c.data - in);
    *body_len = c.val;
    return *head_len == head_size(c.val) ? UL_OK : UL_E_CBOR_NONCANONICAL;
}

ul_err ul_cbor_bstr_head(const uint8_t *in, size_t len, size_t *head_len, uint64_t *body_len)
{
    uint8_t pad[9];
    uint64_t need = 0;
    uint64_t pad_need = 0;
    if (len == 0) {
        return UL_E_TRUNCATED;
    }
    ul_err e = initial_byte_check(in[0]);
    if (e != UL_OK) {
        return e;
    }
    if ((in[0] >> 5) != UL_CBOR_BYTES) {
        return UL_E_CBOR_TYPE;
    }
    e = bstr_try(in, len, head_len, body_len, &need);
    if (e != UL_E_TRUNCATED) {
        return e;
    }
    /* Not all there. Decoding the first bytes again with 0xff after them tells a complete head
     * (same result: the head bytes are all real) from a partial one (a length byte of 0xff makes
     * the string at least 255 bytes longer, so the count changes). */
    size_t k = len < sizeof pad ? len : sizeof pad;
    memset(pad, 0xff, sizeof pad);
    memcpy(pad, in, k);
    e = bstr_try(pad, sizeof pad, head_len, body_len, &pad_need);
    if (e != UL_E_TRUNCATED) {
        return e; /* the head is complete and its payload short enough to end inside pad */
    }
    if (pad_need != need) {
        return UL_E_TRUNCATED;
    }
    /* libcbor's count wraps for lengths near 2^64: a count the input already covers. */
    if (need <= len) {
        return UL_E_LIMIT;
    }
    return bstr_split(in, need, head_len, body_len);
}

ul_err ul_cbor_done(const ul_cbor_reader *r)
{
    return r->pos == r->len ? UL_OK : UL_E_CBOR_TRAILING;
}

/* Length of a UTF-8 sequence led by b, and the smallest valid second byte range (RFC 3629:
 * no overlong forms, no surrogates, nothing above U+10FFFF). Returns 0 for an invalid lead. */
static size_t utf8_lead(uint8_t b, uint8_t *lo, uint8_t *hi)
{
    *lo = 0x80;
    *hi = 0xbf;
    if (b < 0x80) {
        return 1;
    }
    if (b >= 0xc2 && b <= 0xdf) {
        return 2;
    }
    if (b >= 0xe0 && b <= 0xef) {
        *lo = b == 0xe0 ? 0xa0 : 0x80;
        *hi = b == 0xed ? 0x9f : 0xbf;
        return 3;
    }
    if (b >= 0xf0 && b <= 0xf4) {
        *lo = b == 0xf0 ? 0x90 : 0x80;
        *hi = b == 0xf4 ? 0x8f : 0xbf;
        return 4;
    }
    return 0;
}

bool ul_cbor_utf8_valid(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t lo;
        uint8_t hi;
        /* Record text is mostly ASCII: eight such bytes at a time. */
        uint64_t w;
        while (n - i >= sizeof w && (memcpy(&w, s + i, sizeof w), (w & 0x8080808080808080u) == 0)) {
            i += sizeof w;
        }
        if (i == n) {
            break;
        }
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        size_t k = utf8_lead(s[i], &lo, &hi);
        if (k == 0 || k > n - i) {
            return false;
        }
        for (size_t j = 1; j < k; j++) {
            uint8_t c = s[i + j];
            if (c < (j == 1 ? lo : 0x80) || c > (j == 1 ? hi : 0xbf)) {
                return false;
            }
        }
        i += k;
    }
    return true;
}

/* ---- Writer ------------------------------------------------------------------------------ */

void ul_cbor_writer_init(ul_cbor_writer *w, uint8_t *out, size_t cap)
{
    w->out = out;
    w->cap = out ? cap : 0;
    w->len = 0;
    w->err = UL_OK;
}

void ul_cbor_fail(ul_cbor_writer *w, ul_err err)
{
    if (w->err == UL_OK) {
        w->err = err;
    }
}

/* Room for the next write: false (with UL_E_BUFFER recorded) when there is none at all. */
static bool writable(ul_cbor_writer *w)
{
    if (w->err != UL_OK) {
        return false;
    }
    if (w->len >= w->cap) {
        ul_cbor_fail(w, UL_E_BUFFER);
        return false;
    }
    return true;
}

/* libcbor's encoders return the bytes written, or 0 when the buffer is too small. */
static void advance(ul_cbor_writer *w, size_t n)
{
    if (n == 0) {
        ul_cbor_fail(w, UL_E_BUFFER);
    } else {
        w->len += n;
    }
}

void ul_cbor_put_uint(ul_cbor_writer *w, uint64_t v)
{
    if (writable(w)) {
        advance(w, cbor_encode_uint(v, w->out + w->len, w->cap - w->len));
    }
}

void ul_cbor_put_array(ul_cbor_writer *w, size_t n)
{
    if (writable(w)) {
        advance(w, cbor_encode_array_start(n, w->out + w->len, w->cap - w->len));
    }
}

void ul_cbor_put_map(ul_cbor_writer *w, size_t n)
{
    if (writable(w)) {
        advance(w, cbor_encode_map_start(n, w->out + w->len, w->cap - w->len));
    }
}

static void put_payload(ul_cbor_writer *w, const uint8_t *p, size_t n)
{
    if (w->err != UL_OK || n == 0) {
        return;
    }
    if (p == NULL) {
        ul_cbor_fail(w, UL_E_ARG);
    } else if (n > w->cap - w->len) {
        ul_cbor_fail(w, UL_E_BUFFER);
    } else {
        memcpy(w->out + w->len, p, n);
        w->len += n;
    }
}

void ul_cbor_put_bytes(ul_cbor_writer *w, const uint8_t *p, size_t n)
{
    if (writable(w)) {
        advance(w, cbor_encode_bytestring_start(n, w->out + w->len, w->cap - w->len));
    }
    put_payload(w, p, n);
}

void ul_cbor_put_text(ul_cbor_writer *w, ul_span s)
{
    if (writable(w)) {
        advance(w, cbor_encode_string_start(s.len, w->out + w->len, w->cap - w->len));
    }
    put_payload(w, s.ptr, s.len);
}

void ul_cbor_put_bytes_head(ul_cbor_writer *w, size_t n)
{
    if (writable(w)) {
        advance(w, cbor_encode_bytestring_start(n, w->out + w->len, w->cap - w->len));
    }
}

void ul_cbor_put_null(ul_cbor_writer *w)
{
    if (writable(w)) {
        advance(w, cbor_encode_null(w->out + w->len, w->cap - w->len));
    }
}

void ul_cbor_put_raw(ul_cbor_writer *w, ul_span s)
{
    if (s.len == 0) {
        ul_cbor_fail(w, UL_E_SCHEMA_FIELD); /* an embedded item is never empty */
        return;
    }
    put_payload(w, s.ptr, s.len);
}
