/* Proof-bundle sections (version 2): each is a byte string wrapping one canonical array, so a
 * device reading a bundle in chunks of any size frames one section with ul_schema_section_frame,
 * buffers it (<= UL_MAX_SECTION_BYTES) and decodes it in place. Layouts: schema/ul_schema.h.
 */
#include <stddef.h>
#include <string.h>

#include "internal.h"

/* Elements of each section's array, type included (VOTER: 3 unsigned, 5 signed; STATE: 5 for a
 * revocation proof, 6 for an installable-list proof, which names its hardware class). */
static const size_t section_items[UL_SEC_MAX_ + 1] = {
    [UL_SEC_BEGIN] = 4, [UL_SEC_HEADER] = 4,   [UL_SEC_VOTER] = 3,
    [UL_SEC_LEAF] = 4,  [UL_SEC_SIG] = 3,      [UL_SEC_INCLUSION] = 4,
    [UL_SEC_STATE] = 5, [UL_SEC_SIBLINGS] = 2, [UL_SEC_CHECKPOINT] = 4,
};

const uint8_t *ul_section_hash(ul_span list, size_t i)
{
    return list.ptr + i * UL_SECTION_HASH_STRIDE + 2;
}

static size_t bitmap_bytes(uint64_t depth)
{
    return (size_t)((depth + 7) / 8);
}

/* Canonical bitmaps carry no bit at or past depth (so each proof has one encoding). */
static bool bitmap_clean(const uint8_t bitmap[32], uint64_t depth)
{
    for (size_t i = (size_t)depth; i < UL_SMT_DEPTH; i++) {
        if ((bitmap[i / 8] >> (7 - i % 8)) & 1) {
            return false;
        }
    }
    return true;
}

/* ---- Decoding ------------------------------------------------------------------------------- */

/* A uint in min..max: below is UL_E_SCHEMA_FIELD, above UL_E_LIMIT. */
static ul_err read_bounded(ul_cbor_reader *r, uint64_t *v, uint64_t min, uint64_t max)
{
    ul_err e = ul_cbor_read_uint(r, v);
    if (e == UL_OK && *v < min) {
        return UL_E_SCHEMA_FIELD;
    }
    return (e == UL_OK && *v > max) ? UL_E_LIMIT : e;
}

/* An embedded map kept as a span: inner counts its nesting as part of the section (a tx body,
 * exactly as inside a tx), otherwise as a record of its own (a header). */
static ul_err read_map_span(ul_cbor_reader *r, ul_span *s, size_t max, bool inner)
{
    ul_cbor_type t;
    ul_err e = inner ? ul_cbor_skip_in(r, s, &t) : ul_cbor_skip(r, s, &t);
    if (e == UL_OK && t != UL_CBOR_MAP) {
        return UL_E_CBOR_TYPE;
    }
    return (e == UL_OK && s->len > max) ? UL_E_LIMIT : e;
}

/* [min..max x bstr(32)] kept as a span over the array's content (stride 34). */
static ul_err read_hashes(ul_cbor_reader *r, ul_span *list, size_t *n, size_t min, size_t max)
{
    uint8_t h[UL_HASH_BYTES];
    ul_err e = ul_cbor_enter_array(r, min, max, n);
    size_t start = r->pos;
    for (size_t i = 0; e == UL_OK && i < *n; i++) {
        e = ul_cbor_read_fixed(r, h, UL_HASH_BYTES);
    }
    if (e == UL_OK) {
        ul_cbor_leave(r);
        *list = (ul_span){r->in + start, r->pos - start};
    }
    return e;
}

static ul_err dec_begin(ul_cbor_reader *r, ul_section *s)
{
    ul_err e = ul_cbor_read_uint(r, &s->u.begin.version);
    if (e == UL_OK) {
        e = ul_cbor_read_fixed(r, s->u.begin.chain_id, UL_HASH_BYTES);
    }
    return e ? e : read_bounded(r, &s->u.begin.n_steps, 0, UL_MAX_VALSET_STEPS);
}

/* HEADER [1, header, round, n] and CHECKPOINT [8, header, time, n]. */
static ul_err dec_header(ul_cbor_reader *r, ul_section *s)
{
    ul_err e = read_map_span(r, &s->u.header.header, UL_MAX_HEADER_BYTES, false);
    if (e == UL_OK) {
        e = ul_cbor_read_uint(r, s->type == UL_SEC_CHECKPOINT ? &s->u.header.time_ms
                                                              : &s->u.header.round);
    }
    return e ? e : read_bounded(r, &s->u.header.n_voters, 1, UL_MAX_VALIDATORS);
}

static ul_err dec_voter(ul_cbor_reader *r, ul_section *s, size_t n)
{
    ul_err e = ul_cbor_read_fixed(r, s->u.voter.key, UL_PUBKEY_BYTES);
    if (e == UL_OK) {
        e = read_bounded(r, &s->u.voter.power, 1, UL_MAX_TOTAL_POWER);
    }
    s->u.voter.has_sig = n == 5;
    if (e == UL_OK && n == 5) {
        e = ul_cbor_read_uint(r, &s->u.voter.time_ms);
        if (e == UL_OK) {
            e = ul_cbor_read_fixed(r, s->u.voter.sig, UL_SIG_BYTES);
        }
    }
    return e;
}

static ul_err dec_leaf(ul_cbor_reader *r, ul_section *s)
{
    ul_err e = ul_cbor_read_uint(r, &s->u.leaf.kind);
    if (e == UL_OK && (s->u.leaf.kind < 1 || s->u.leaf.kind > UL_TX_KIND_MAX_)) {
        return UL_E_TX_KIND;
    }
    if (e == UL_OK) {
        e = read_map_span(r, &s->u.leaf.body, UL_MAX_RECORD_BYTES, true);
    }
    return e ? e : read_bounded(r, &s->u.leaf.n_sigs, 1, UL_MAX_SIGS);
}

static ul_err dec_sig(ul_cbor_reader *r, ul_section *s)
{
    ul_err e = ul_cbor_read_fixed(r, s->u.sig.pubkey, UL_PUBKEY_BYTES);
    return e ? e : ul_cbor_read_fixed(r, s->u.sig.sig, UL_SIG_BYTES);
}

static ul_err dec_inclusion(ul_cbor_reader *r, ul_section *s)
{
    ul_err e = ul_cbor_read_uint(r, &s->u.inclusion.index);
    if (e == UL_OK) {
        e = ul_cbor_read_uint(r, &s->u.inclusion.size);
    }
    if (e == UL_OK && s->u.inclusion.index >= s->u.inclusion.size) {
        return UL_E_SCHEMA_FIELD;
    }
    return e ? e
             : read_hashes(r, &s->u.inclusion.path, &s->u.inclusion.n_path, 0, UL_MAX_PROOF_DEPTH);
}

/* The state proof's terminal: null, bstr (the value) or [key, value hash]. */
static ul_err dec_terminal(ul_cbor_reader *r, ul_section *s)
{
    bool is_null;
    ul_cbor_item it;
    ul_err e = ul_cbor_read_null(r, &is_null);
    if (e != UL_OK || is_null) {
        s->u.state.terminal = UL_TERM_EMPTY;
        return e;
    }
    size_t at = r->pos;
    if ((e = ul_cbor_next(r, &it)) != UL_OK) {
        return e;
    }
    if (it.type == UL_CBOR_BYTES) {
        s->u.state.terminal = UL_TERM_VALUE;
        s->u.state.value = (ul_span){it.data, (size_t)it.val};
        return it.val > UL_MAX_STATE_VALUE_BYTES ? UL_E_LIMIT : UL_OK;
    }
    if (it.type != UL_CBOR_ARRAY) {
        return UL_E_CBOR_TYPE;
    }
    r->pos = at; /* read the pair again as a tuple */
    s->u.state.terminal = UL_TERM_LEAF;
    e = ul_cbor_enter_tuple(r, 2);
    if (e == UL_OK) {
        e = ul_cbor_read_fixed(r, s->u.state.leaf_key, UL_HASH_BYTES);
    }
    if (e == UL_OK) {
        e = ul_cbor_read_fixed(r, s->u.state.leaf_value, UL_HASH_BYTES);
    }
    if (e == UL_OK) {
        ul_cbor_leave(r);
    }
    return e;
}

static ul_err dec_state(ul_cbor_reader *r, ul_section *s, size_t n)
{
    ul_cbor_item it;
    ul_err e = read_bounded(r, &s->u.state.which, UL_PROOF_INSTALLABLE, UL_PROOF_REVOCATION);
    if (e == UL_E_LIMIT) {
        e = UL_E_SCHEMA_FIELD; /* a proof kind, not a size */
    }
    if (e == UL_OK && n != (s->u.state.which == UL_PROOF_INSTALLABLE ? 6u : 5u)) {
        e = UL_E_SCHEMA_FIELD;
    }
    if (e == UL_OK) {
        e = read_bounded(r, &s->u.state.depth, 0, UL_SMT_DEPTH);
    }
    if (e == UL_OK) {
        e = ul_cbor_expect(r, UL_CBOR_BYTES, &it);
    }
    if (e != UL_OK) {
        return e;
    }
    if (it.val != bitmap_bytes(s->u.state.depth)) {
        return UL_E_SCHEMA_FIELD;
    }
    memcpy(s->u.state.bitmap, it.data, (size_t)it.val);
    if (!bitmap_clean(s->u.state.bitmap, s->u.state.depth)) {
        return UL_E_SCHEMA_FIELD;
    }
    e = dec_terminal(r, s);
    if (e == UL_OK && s->u.state.which == UL_PROOF_INSTALLABLE) {
        e = ul_read_label(r, &s->u.state.hw, UL_MAX_LABEL_LEN);
    }
    return e;
}

static ul_err dec_body(ul_cbor_reader *r, ul_section *s, size_t n)
{
    switch (s->type) {
    case UL_SEC_BEGIN:
        return dec_begin(r, s);
    case UL_SEC_HEADER:
    case UL_SEC_CHECKPOINT:
        return dec_header(r, s);
    case UL_SEC_VOTER:
        return dec_voter(r, s, n);
    case UL_SEC_LEAF:
        return dec_leaf(r, s);
    case UL_SEC_SIG:
        return dec_sig(r, s);
    case UL_SEC_INCLUSION:
        return dec_inclusion(r, s);
    case UL_SEC_STATE:
        return dec_state(r, s, n);
    default:
        return read_hashes(r, &s->u.siblings.hashes, &s->u.siblings.n, 1,
                           UL_MAX_SIBLINGS_PER_SECTION);
    }
}

ul_err ul_schema_section_decode(ul_section *out, const uint8_t *in, size_t len)
{
    ul_cbor_reader r;
    size_t n = 0;
    if (out == NULL || (in == NULL && len > 0)) {
        return UL_E_ARG;
    }
    memset(out, 0, sizeof *out);
    if (len > UL_MAX_SECTION_BYTES) {
        return UL_E_LIMIT;
    }
    ul_cbor_reader_init(&r, in, len, 0);
    ul_err e = ul_cbor_enter_array(&r, 1, UL_MAX_SECTION_BYTES, &n);
    if (e == UL_OK) {
        e = ul_cbor_read_uint(&r, &out->type);
    }
    if (e != UL_OK) {
        return e;
    }
    if (out->type > UL_SEC_MAX_) {
        return UL_E_SCHEMA_FIELD; /* unknown section */
    }
    bool voter5 = out->type == UL_SEC_VOTER && n == 5;
    bool state6 = out->type == UL_SEC_STATE && n == 6; /* dec_state checks against the kind */
    if (n != section_items[out->type] && !voter5 && !state6) {
        return UL_E_SCHEMA_FIELD;
    }
    e = dec_body(&r, out, n);
    if (e != UL_OK) {
        return e;
    }
    ul_cbor_leave(&r);
    return ul_cbor_done(&r);
}

ul_err ul_schema_section_frame(const uint8_t *in, size_t len, size_t *head_len, uint64_t *body_len)
{
    if (head_len == NULL || body_len == NULL || (in == NULL && len > 0)) {
        return UL_E_ARG;
    }
    *head_len = 0;
    *body_len = 0;
    size_t h = 0;
    uint64_t n = 0;
    ul_err e = ul_cbor_bstr_head(in, len, &h, &n);
    if (e != UL_OK) {
        return e;
    }
    if (n > UL_MAX_SECTION_BYTES) {
        return UL_E_LIMIT;
    }
    *head_len = h;
    *body_len = n;
    return UL_OK;
}

/* ---- Encoding ------------------------------------------------------------------------------- */

static void put_hashes(ul_cbor_writer *w, const uint8_t (*hashes)[UL_HASH_BYTES], size_t n,
                       size_t min, size_t max)
{
    if (n < min || n > max) {
        ul_cbor_fail(w, n < min ? UL_E_SCHEMA_FIELD : UL_E_LIMIT);
        return;
    }
    if (hashes == NULL && n > 0) {
        ul_cbor_fail(w, UL_E_ARG);
        return;
    }
    ul_cbor_put_array(w, n);
    for (size_t i = 0; i < n; i++) {
        ul_cbor_put_bytes(w, hashes[i], UL_HASH_BYTES);
    }
}

static void enc_state(ul_cbor_writer *w, const ul_section *s)
{
    ul_cbor_put_uint(w, s->u.state.which);
    ul_cbor_put_uint(w, s->u.state.depth);
    if (s->u.state.depth > UL_SMT_DEPTH) {
        ul_cbor_fail(w, UL_E_LIMIT);
        return;
    }
    ul_cbor_put_bytes(w, s->u.state.bitmap, bitmap_bytes(s->u.state.depth));
    switch (s->u.state.terminal) {
    case UL_TERM_EMPTY:
        ul_cbor_put_null(w);
        break;
    case UL_TERM_VALUE:
        ul_cbor_put_bytes(w, s->u.state.value.ptr, s->u.state.value.len);
        break;
    case UL_TERM_LEAF:
        ul_cbor_put_array(w, 2);
        ul_cbor_put_bytes(w, s->u.state.leaf_key, UL_HASH_BYTES);
        ul_cbor_put_bytes(w, s->u.state.leaf_value, UL_HASH_BYTES);
        break;
    default:
        ul_cbor_fail(w, UL_E_SCHEMA_FIELD);
    }
    if (s->u.state.which == UL_PROOF_INSTALLABLE) {
        ul_cbor_put_text(w, s->u.state.hw);
    }
}

/* The array of one section (without its byte-string head). */
static void enc_body(ul_cbor_writer *w, const ul_section *s, const uint8_t (*hashes)[UL_HASH_BYTES])
{
    bool signed_voter = s->type == UL_SEC_VOTER && s->u.voter.has_sig;
    bool inst = s->type == UL_SEC_STATE && s->u.state.which == UL_PROOF_INSTALLABLE;
    ul_cbor_put_array(w, signed_voter ? 5 : inst ? 6 : section_items[s->type]);
    ul_cbor_put_uint(w, s->type);
    switch (s->type) {
    case UL_SEC_BEGIN:
        ul_cbor_put_uint(w, s->u.begin.version);
        ul_cbor_put_bytes(w, s->u.begin.chain_id, UL_HASH_BYTES);
        ul_cbor_put_uint(w, s->u.begin.n_steps);
        break;
    case UL_SEC_HEADER:
    case UL_SEC_CHECKPOINT:
        ul_cbor_put_raw(w, s->u.header.header);
        ul_cbor_put_uint(w, s->type == UL_SEC_CHECKPOINT ? s->u.header.time_ms : s->u.header.round);
        ul_cbor_put_uint(w, s->u.header.n_voters);
        break;
    case UL_SEC_VOTER:
        ul_cbor_put_bytes(w, s->u.voter.key, UL_PUBKEY_BYTES);
        ul_cbor_put_uint(w, s->u.voter.power);
        if (signed_voter) {
            ul_cbor_put_uint(w, s->u.voter.time_ms);
            ul_cbor_put_bytes(w, s->u.voter.sig, UL_SIG_BYTES);
        }
        break;
    case UL_SEC_LEAF:
        ul_cbor_put_uint(w, s->u.leaf.kind);
        ul_cbor_put_raw(w, s->u.leaf.body);
        ul_cbor_put_uint(w, s->u.leaf.n_sigs);
        break;
    case UL_SEC_SIG:
        ul_cbor_put_bytes(w, s->u.sig.pubkey, UL_PUBKEY_BYTES);
        ul_cbor_put_bytes(w, s->u.sig.sig, UL_SIG_BYTES);
        break;
    case UL_SEC_INCLUSION:
        ul_cbor_put_uint(w, s->u.inclusion.index);
        ul_cbor_put_uint(w, s->u.inclusion.size);
        put_hashes(w, hashes, s->u.inclusion.n_path, 0, UL_MAX_PROOF_DEPTH);
        break;
    case UL_SEC_STATE:
        enc_state(w, s);
        break;
    default:
        put_hashes(w, hashes, s->u.siblings.n, 1, UL_MAX_SIBLINGS_PER_SECTION);
    }
}

ul_err ul_schema_section_encode(uint8_t *out, size_t cap, size_t *out_len, const ul_section *s,
                                const uint8_t (*hashes)[UL_HASH_BYTES])
{
    enum { ROOM = 9 }; /* the longest byte-string head */
    ul_cbor_writer w;
    ul_cbor_writer head;
    uint8_t hb[ROOM];
    ul_section check;
    if (out_len == NULL || s == NULL || s->type > UL_SEC_MAX_) {
        return out_len == NULL || s == NULL ? UL_E_ARG : UL_E_SCHEMA_FIELD;
    }
    *out_len = 0;
    if (out == NULL || cap < ROOM) {
        return UL_E_BUFFER;
    }
    /* The array goes after room for the head, then moves down next to the head's real size. */
    ul_cbor_writer_init(&w, out + ROOM, cap - ROOM);
    enc_body(&w, s, hashes);
    if (w.err == UL_OK && w.len > UL_MAX_SECTION_BYTES) {
        ul_cbor_fail(&w, UL_E_LIMIT);
    }
    ul_cbor_writer_init(&head, hb, sizeof hb);
    ul_cbor_put_bytes_head(&head, w.len);
    if (w.err != UL_OK || head.err != UL_OK) {
        return w.err != UL_OK ? w.err : head.err;
    }
    memmove(out + head.len, out + ROOM, w.len);
    memcpy(out, hb, head.len);
    ul_err e = ul_schema_section_decode(&check, out + head.len, w.len);
    if (e == UL_OK) {
        *out_len = head.len + w.len;
    }
    return e;
}
