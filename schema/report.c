/* Device reports, a tracker's reply to one, and tracker summaries (docs/protocol.md "Device
 * reports"). Each is a map whose last key is its signature, so the signed bytes are the same map
 * without that key (client/ul_client.h: ul_client_record_sign and _verify).
 */
#include <stddef.h>
#include <string.h>

#include "internal.h"

#define REQ UL_FIELD_REQUIRED
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

_Static_assert(12 + 35 + 35 + 9 + 9 + 2 + 131 + 2 + 9 + 35 + 2 + 3 + 67 +
                       UL_MAX_COMPONENTS * (1 + 131 + 34 + 9 + 1 + 1 + 34 + 3 + 9) <=
                   UL_MAX_REPORT_BYTES,
               "a report at every bound fits UL_MAX_REPORT_BYTES");
_Static_assert(1 + 35 + 10 + 2 + 132 + 35 + 67 <= UL_MAX_REPLY_BYTES,
               "a reply at every bound fits UL_MAX_REPLY_BYTES");
_Static_assert(1 + 2 * 35 + 2 * 10 + 6 + 2 + 67 <= 256 && 1 + 131 + 131 + 34 + 1 + 9 <= 307,
               "a summary at every bound fits UL_MAX_SUMMARY_BYTES");

static const uint8_t zero_hash[UL_HASH_BYTES];

/* Byte order with a prefix before its extensions (namespaces, labels). */
static int bytes_cmp(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    int d = memcmp(a, b, an < bn ? an : bn);
    if (d != 0 || an == bn) {
        return d;
    }
    return an < bn ? -1 : 1;
}

/* Reads a namespace (is_ns) or a label into dst[0..*len), which holds UL_MAX_NS_LEN or
 * UL_MAX_LABEL_LEN bytes. */
static ul_err read_copy(ul_cbor_reader *r, uint8_t *dst, size_t *len, bool is_ns)
{
    ul_span s;
    ul_err e = is_ns ? ul_read_ns(r, &s) : ul_read_label(r, &s, UL_MAX_LABEL_LEN);
    if (e == UL_OK) {
        memcpy(dst, s.ptr, s.len);
        *len = s.len;
    }
    return e;
}

static ul_err time_check(uint64_t t)
{
    return t > UL_MAX_RELEASE_TIME ? UL_E_LIMIT : UL_OK;
}

/* ---- Report --------------------------------------------------------------------------------- */

static ul_err component_check(const ul_report_component *c)
{
    ul_err e =
        c->ns_len > UL_MAX_NS_LEN ? UL_E_LIMIT : ul_ns_decode_check((ul_span){c->ns, c->ns_len});
    if (e == UL_OK && c->state > UL_COMP_STATE_MAX) {
        e = UL_E_SCHEMA_FIELD;
    }
    if (e == UL_OK && c->has_attempt) {
        e = c->attempt_result > UL_MAX_REPORT_RESULT ? UL_E_LIMIT : time_check(c->attempt_time);
    }
    return e;
}

/* Every rule of a report on the struct: what decoding checks last, encoding first. */
static ul_err report_check(const void *obj)
{
    const ul_report *r = obj;
    if (r->version != 1) {
        return UL_E_VERSION;
    }
    if (r->counter == 0 || r->reason > UL_REPORT_REASON_MAX ||
        (r->height == 0 && memcmp(r->header_hash, zero_hash, UL_HASH_BYTES) != 0)) {
        return UL_E_SCHEMA_FIELD;
    }
    ul_err e = time_check(r->time);
    if (e == UL_OK) {
        e = r->hw_len > UL_MAX_LABEL_LEN
                ? UL_E_LIMIT
                : ul_label_check((ul_span){r->hw, r->hw_len}, UL_MAX_LABEL_LEN);
    }
    if (e == UL_OK && r->n_components > UL_MAX_COMPONENTS) {
        e = UL_E_LIMIT;
    }
    for (size_t i = 0; e == UL_OK && i < r->n_components; i++) {
        e = component_check(&r->comp[i]);
        if (e == UL_OK && i > 0 &&
            bytes_cmp(r->comp[i - 1].ns, r->comp[i - 1].ns_len, r->comp[i].ns, r->comp[i].ns_len) >=
                0) {
            e = UL_E_SCHEMA_FIELD; /* unsorted or repeated namespace */
        }
    }
    return e;
}

static ul_err hw_dec(ul_cbor_reader *r, void *obj, const ul_field *f)
{
    ul_report *rep = obj;
    return read_copy(r, rep->hw, &rep->hw_len, false);
}

static void hw_enc(ul_cbor_writer *w, const void *obj, const ul_field *f)
{
    const ul_report *rep = obj;
    ul_cbor_put_text(w, (ul_span){rep->hw, rep->hw_len});
}

/* attempt = [release_id, result, time] */
static ul_err attempt_dec(ul_cbor_reader *r, ul_report_component *c)
{
    ul_err e = ul_cbor_enter_tuple(r, 3);
    if (e == UL_OK) {
        e = ul_cbor_read_fixed(r, c->attempt_id, UL_HASH_BYTES);
    }
    if (e == UL_OK) {
        e = ul_cbor_read_uint(r, &c->attempt_result);
    }
    if (e == UL_OK) {
        e = ul_cbor_read_uint(r, &c->attempt_time);
    }
    if (e == UL_OK) {
        c->has_attempt = true;
        ul_cbor_leave(r);
    }
    return e;
}

/* component = [ns, release_id, seq, state, ? attempt] */
static ul_err component_dec(ul_cbor_reader *r, ul_report_component *c)
{
    size_t n;
    ul_err e = ul_cbor_enter_array(r, 4, 5, &n);
    if (e == UL_OK) {
        e = read_copy(r, c->ns, &c->ns_len, true);
    }
    if (e == UL_OK) {
        e = ul_cbor_read_fixed(r, c->release_id, UL_HASH_BYTES);
    }
    if (e == UL_OK) {
        e = ul_cbor_read_uint(r, &c->seq);
    }
    if (e == UL_OK) {
        e = ul_cbor_read_uint(r, &c->state);
    }
    if (e == UL_OK && n == 5) {
        e = attempt_dec(r, c);
    }
    if (e == UL_OK) {
        ul_cbor_leave(r);
    }
    return e;
}

static ul_err comps_dec(ul_cbor_reader *r, void *obj, const ul_field *f)
{
    ul_report *rep = obj;
    ul_err e = ul_cbor_enter_array(r, 0, UL_MAX_COMPONENTS, &rep->n_components);
    for (size_t i = 0; e == UL_OK && i < rep->n_components; i++) {
        e = component_dec(r, &rep->comp[i]);
    }
    if (e == UL_OK) {
        ul_cbor_leave(r);
    }
    return e;
}

static void comps_enc(ul_cbor_writer *w, const void *obj, const ul_field *f)
{
    const ul_report *rep = obj;
    ul_cbor_put_array(w, rep->n_components);
    for (size_t i = 0; i < rep->n_components; i++) {
        const ul_report_component *c = &rep->comp[i];
        ul_cbor_put_array(w, c->has_attempt ? 5 : 4);
        ul_cbor_put_text(w, (ul_span){c->ns, c->ns_len});
        ul_cbor_put_bytes(w, c->release_id, UL_HASH_BYTES);
        ul_cbor_put_uint(w, c->seq);
        ul_cbor_put_uint(w, c->state);
        if (c->has_attempt) {
            ul_cbor_put_array(w, 3);
            ul_cbor_put_bytes(w, c->attempt_id, UL_HASH_BYTES);
            ul_cbor_put_uint(w, c->attempt_result);
            ul_cbor_put_uint(w, c->attempt_time);
        }
    }
}

static const ul_codec codec_hw = {hw_dec, hw_enc};
static const ul_codec codec_comps = {comps_dec, comps_enc};

static const ul_field report_fields[] = {
    {1, &ul_codec_uint, offsetof(ul_report, version), 0, REQ},
    {2, &ul_codec_fixed, offsetof(ul_report, device), UL_PUBKEY_BYTES, REQ},
    {3, &ul_codec_fixed, offsetof(ul_report, tracker), UL_PUBKEY_BYTES, REQ},
    {4, &ul_codec_uint, offsetof(ul_report, counter), 0, REQ},
    {5, &ul_codec_uint, offsetof(ul_report, time), 0, REQ},
    {6, &ul_codec_uint, offsetof(ul_report, reason), 0, REQ},
    {7, &codec_hw, 0, 0, REQ},
    {8, &ul_codec_uint, offsetof(ul_report, height), 0, REQ},
    {9, &ul_codec_fixed, offsetof(ul_report, header_hash), UL_HASH_BYTES, REQ},
    {10, &codec_comps, 0, 0, REQ},
    {11, &ul_codec_fixed, offsetof(ul_report, sig), UL_SIG_BYTES, REQ},
};

static const ul_record rec_report = {report_fields, COUNT(report_fields), sizeof(ul_report),
                                     UL_MAX_REPORT_BYTES, report_check};

/* As the device state's encoder: the struct (about 2.3 KB) is checked, not decoded into a second
 * copy, since devices encode it. */
ul_err ul_schema_report_encode(uint8_t *out, size_t cap, size_t *out_len, const ul_report *r)
{
    ul_cbor_writer w;
    if (r == NULL || out_len == NULL) {
        return UL_E_ARG;
    }
    *out_len = 0;
    ul_err e = report_check(r);
    if (e != UL_OK) {
        return e;
    }
    ul_cbor_writer_init(&w, out, cap); /* a checked report fits UL_MAX_REPORT_BYTES (above) */
    ul_map_encode(&w, &rec_report, r);
    return ul_record_finish(&w, out_len);
}

ul_err ul_schema_report_decode(ul_report *out, const uint8_t *in, size_t len)
{
    return ul_record_decode(&rec_report, out, in, len);
}

/* ---- Reply ---------------------------------------------------------------------------------- */

static ul_err reply_check(const void *obj)
{
    const ul_report_reply *r = obj;
    bool target = r->update == 1;
    if (r->update > 1 || r->has_ns != target || r->has_release_id != target) {
        return UL_E_SCHEMA_FIELD;
    }
    if (!target) {
        return UL_OK;
    }
    return r->ns_len > UL_MAX_NS_LEN ? UL_E_LIMIT : ul_ns_decode_check((ul_span){r->ns, r->ns_len});
}

static ul_err reply_ns_dec(ul_cbor_reader *r, void *obj, const ul_field *f)
{
    ul_report_reply *rep = obj;
    return read_copy(r, rep->ns, &rep->ns_len, true);
}

static void reply_ns_enc(ul_cbor_writer *w, const void *obj, const ul_field *f)
{
    const ul_report_reply *rep = obj;
    ul_cbor_put_text(w, (ul_span){rep->ns, rep->ns_len});
}

static const ul_codec codec_reply_ns = {reply_ns_dec, reply_ns_enc};

static const ul_field reply_fields[] = {
    {1, &ul_codec_fixed, offsetof(ul_report_reply, device), UL_PUBKEY_BYTES, REQ},
    {2, &ul_codec_uint, offsetof(ul_report_reply, counter), 0, REQ},
    {3, &ul_codec_uint, offsetof(ul_report_reply, update), 0, REQ},
    {4, &codec_reply_ns, 0, 0, offsetof(ul_report_reply, has_ns)},
    {5, &ul_codec_fixed, offsetof(ul_report_reply, release_id), UL_HASH_BYTES,
     offsetof(ul_report_reply, has_release_id)},
    {6, &ul_codec_fixed, offsetof(ul_report_reply, sig), UL_SIG_BYTES, REQ},
};

static const ul_record rec_reply = {reply_fields, COUNT(reply_fields), sizeof(ul_report_reply),
                                    UL_MAX_REPLY_BYTES, reply_check};

ul_err ul_schema_reply_encode(uint8_t *out, size_t cap, size_t *out_len, const ul_report_reply *r)
{
    ul_report_reply tmp;
    return ul_record_encode(&rec_reply, r, &tmp, out, cap, out_len);
}

ul_err ul_schema_reply_decode(ul_report_reply *out, const uint8_t *in, size_t len)
{
    return ul_record_decode(&rec_reply, out, in, len);
}

/* ---- Summary -------------------------------------------------------------------------------- */

int ul_schema_summary_entry_cmp(const void *a, const void *b)
{
    const ul_summary_entry *x = a;
    const ul_summary_entry *y = b;
    int d = bytes_cmp(x->ns.ptr, x->ns.len, y->ns.ptr, y->ns.len);
    if (d == 0) {
        d = bytes_cmp(x->hw.ptr, x->hw.len, y->hw.ptr, y->hw.len);
    }
    if (d == 0) {
        d = memcmp(x->release_id, y->release_id, UL_HASH_BYTES);
    }
    if (d == 0 && x->status != y->status) {
        d = x->status < y->status ? -1 : 1;
    }
    return d;
}

/* entry = [ns, hw, release_id, status, count] */
static ul_err entry_read(ul_cbor_reader *r, ul_summary_entry *en)
{
    ul_err e = ul_cbor_enter_tuple(r, 5);
    if (e == UL_OK) {
        e = ul_read_ns(r, &en->ns);
    }
    if (e == UL_OK) {
        e = ul_read_label(r, &en->hw, UL_MAX_LABEL_LEN);
    }
    if (e == UL_OK) {
        e = ul_cbor_read_fixed(r, en->release_id, UL_HASH_BYTES);
    }
    if (e == UL_OK) {
        e = ul_cbor_read_uint(r, &en->status);
    }
    if (e == UL_OK) {
        e = ul_cbor_read_uint(r, &en->count);
    }
    if (e == UL_OK && (en->status > UL_FLEET_STATUS_MAX || en->count == 0)) {
        e = UL_E_SCHEMA_FIELD;
    }
    if (e == UL_OK) {
        ul_cbor_leave(r);
    }
    return e;
}

/* Reads n entries, each strictly after the one before; out (when not NULL) gets them all. */
static ul_err entries_read(ul_cbor_reader *r, size_t n, ul_summary_entry *out)
{
    ul_summary_entry prev, cur;
    ul_err e = UL_OK;
    for (size_t i = 0; e == UL_OK && i < n; i++) {
        e = entry_read(r, &cur);
        if (e == UL_OK && i > 0 && ul_schema_summary_entry_cmp(&prev, &cur) >= 0) {
            e = UL_E_SCHEMA_FIELD; /* unsorted or repeated */
        }
        if (e == UL_OK && out != NULL) {
            out[i] = cur;
        }
        prev = cur;
    }
    return e;
}

static ul_err entries_dec(ul_cbor_reader *r, void *obj, const ul_field *f)
{
    ul_summary *s = obj;
    size_t start = r->pos;
    ul_err e = ul_cbor_enter_array(r, 0, UL_MAX_SUMMARY_ENTRIES, &s->n_entries);
    if (e == UL_OK) {
        e = entries_read(r, s->n_entries, NULL);
    }
    if (e == UL_OK) {
        ul_cbor_leave(r);
        s->raw = (ul_span){r->in + start, r->pos - start};
        s->entries = NULL;
    }
    return e;
}

static void entries_enc(ul_cbor_writer *w, const void *obj, const ul_field *f)
{
    const ul_summary *s = obj;
    if (s->n_entries > UL_MAX_SUMMARY_ENTRIES || (s->n_entries > 0 && s->entries == NULL)) {
        ul_cbor_fail(w, s->n_entries > UL_MAX_SUMMARY_ENTRIES ? UL_E_LIMIT : UL_E_ARG);
        return;
    }
    ul_cbor_put_array(w, s->n_entries);
    for (size_t i = 0; i < s->n_entries; i++) {
        const ul_summary_entry *en = &s->entries[i];
        ul_cbor_put_array(w, 5);
        ul_put_label(w, en->ns, UL_MAX_NS_LEN);
        ul_put_label(w, en->hw, UL_MAX_LABEL_LEN);
        ul_cbor_put_bytes(w, en->release_id, UL_HASH_BYTES);
        ul_cbor_put_uint(w, en->status);
        ul_cbor_put_uint(w, en->count);
    }
}

static const ul_codec codec_entries = {entries_dec, entries_enc};

static ul_err summary_check(const void *obj)
{
    const ul_summary *s = obj;
    return s->counter == 0 ? UL_E_SCHEMA_FIELD : time_check(s->time);
}

static const ul_field summary_fields[] = {
    {1, &ul_codec_fixed, offsetof(ul_summary, from), UL_PUBKEY_BYTES, REQ},
    {2, &ul_codec_fixed, offsetof(ul_summary, to), UL_PUBKEY_BYTES, REQ},
    {3, &ul_codec_uint, offsetof(ul_summary, counter), 0, REQ},
    {4, &ul_codec_uint, offsetof(ul_summary, time), 0, REQ},
    {5, &codec_entries, 0, 0, REQ},
    {6, &ul_codec_fixed, offsetof(ul_summary, sig), UL_SIG_BYTES, REQ},
};

static const ul_record rec_summary = {summary_fields, COUNT(summary_fields), sizeof(ul_summary),
                                      UL_MAX_SUMMARY_BYTES, summary_check};

ul_err ul_schema_summary_encode(uint8_t *out, size_t cap, size_t *out_len, const ul_summary *s)
{
    ul_summary tmp;
    return ul_record_encode(&rec_summary, s, &tmp, out, cap, out_len);
}

ul_err ul_schema_summary_decode(ul_summary *out, const uint8_t *in, size_t len)
{
    return ul_record_decode(&rec_summary, out, in, len);
}

ul_err ul_schema_summary_entries(const ul_summary *s, ul_summary_entry *out, size_t cap)
{
    ul_cbor_reader r;
    size_t n;
    if (s == NULL || (out == NULL && cap > 0) || s->raw.ptr == NULL) {
        return UL_E_ARG;
    }
    if (cap < s->n_entries) {
        return UL_E_BUFFER;
    }
    /* The array sits inside the record (depth 1), as when the summary was decoded. */
    ul_cbor_reader_init(&r, s->raw.ptr, s->raw.len, 1);
    ul_err e = ul_cbor_enter_array(&r, 0, UL_MAX_SUMMARY_ENTRIES, &n);
    if (e == UL_OK && n != s->n_entries) {
        e = UL_E_ARG;
    }
    return e == UL_OK ? entries_read(&r, n, out) : e;
}
