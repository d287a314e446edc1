/* Query-endpoint messages: one flat canonical CBOR map of scalars and embedded records, so the
 * node and its clients share one small codec instead of a record type per request. */
#include <string.h>

#include "internal.h"

void ul_msg_init(ul_msg *m)
{
    m->n = 0;
}

static ul_mfield *add(ul_msg *m, uint64_t key, ul_mv_type t)
{
    UL_ASSERT(m->n < UL_MSG_MAX_FIELDS);
    UL_ASSERT(m->n == 0 || m->f[m->n - 1].key < key);
    ul_mfield *f = &m->f[m->n++];
    memset(f, 0, sizeof *f);
    f->key = key;
    f->type = t;
    return f;
}

void ul_msg_uint(ul_msg *m, uint64_t key, uint64_t v)
{
    add(m, key, UL_MV_UINT)->u = v;
}

void ul_msg_bytes(ul_msg *m, uint64_t key, const uint8_t *p, size_t n)
{
    add(m, key, UL_MV_BYTES)->s = (ul_span){p, n};
}

void ul_msg_text(ul_msg *m, uint64_t key, ul_span s)
{
    add(m, key, UL_MV_TEXT)->s = s;
}

void ul_msg_item(ul_msg *m, uint64_t key, ul_span canonical_item)
{
    add(m, key, UL_MV_ITEM)->s = canonical_item;
}

void ul_msg_list(ul_msg *m, uint64_t key, const ul_span *items, size_t n)
{
    ul_mfield *f = add(m, key, UL_MV_LIST);
    f->items = items;
    f->n = n;
}

size_t ul_msg_encoded_max(const ul_msg *m)
{
    size_t total = 9;
    for (size_t i = 0; i < m->n; i++) {
        total += 18 + m->f[i].s.len;
        for (size_t j = 0; m->f[i].type == UL_MV_LIST && j < m->f[i].n; j++) {
            total += m->f[i].items[j].len;
        }
    }
    return total;
}

ul_err ul_msg_encode(uint8_t *out, size_t cap, size_t *out_len, const ul_msg *m)
{
    ul_cbor_writer w;
    ul_cbor_writer_init(&w, out, cap);
    ul_cbor_put_map(&w, m->n);
    for (size_t i = 0; i < m->n; i++) {
        const ul_mfield *f = &m->f[i];
        ul_cbor_put_uint(&w, f->key);
        switch (f->type) {
        case UL_MV_UINT:
            ul_cbor_put_uint(&w, f->u);
            break;
        case UL_MV_BYTES:
            ul_cbor_put_bytes(&w, f->s.ptr, f->s.len);
            break;
        case UL_MV_TEXT:
            ul_cbor_put_text(&w, f->s);
            break;
        case UL_MV_ITEM:
            ul_cbor_put_raw(&w, f->s);
            break;
        case UL_MV_LIST:
            ul_cbor_put_array(&w, f->n);
            for (size_t j = 0; j < f->n; j++) {
                ul_cbor_put_raw(&w, f->items[j]);
            }
            break;
        }
    }
    if (w.err == UL_OK && w.len > UL_MAX_MSG_BYTES) {
        return UL_E_LIMIT;
    }
    *out_len = w.len;
    return w.err;
}

/* Where ul_msg_decode_items keeps a list's element spans (key: the list's). */
typedef struct {
    uint64_t key;
    ul_span *items;
    size_t cap, n;
} item_sink;

/* Reads one value. Embedded items and list elements are records of their own (maps), each
 * counting its nesting from its own start, as they do when decoded alone. A list under sink's
 * key leaves its elements' spans in the sink. */
static ul_err read_value(ul_cbor_reader *r, ul_mfield *f, item_sink *sink)
{
    size_t start = r->pos;
    ul_cbor_item it;
    ul_cbor_type type;
    ul_span span;
    ul_err e = ul_cbor_next(r, &it);
    if (e != UL_OK) {
        return e;
    }
    switch (it.type) {
    case UL_CBOR_UINT:
    case UL_CBOR_BYTES:
    case UL_CBOR_TEXT:
        f->type = it.type == UL_CBOR_UINT    ? UL_MV_UINT
                  : it.type == UL_CBOR_BYTES ? UL_MV_BYTES
                                             : UL_MV_TEXT;
        f->u = it.val;
        f->s = (ul_span){it.data, it.type == UL_CBOR_UINT ? 0 : (size_t)it.val};
        return UL_OK;
    case UL_CBOR_MAP:
        r->pos = start; /* re-read the whole map as one record (or block, or bundle) */
        f->type = UL_MV_ITEM;
        return ul_cbor_skip_wire(r, &f->s, &type);
    case UL_CBOR_ARRAY:
        f->type = UL_MV_LIST;
        f->n = (size_t)it.val;
        f->s.ptr = r->in + r->pos;
        sink = sink && sink->key == f->key ? sink : NULL;
        if (sink && it.val > sink->cap) {
            return UL_E_LIMIT;
        }
        for (uint64_t i = 0; i < it.val; i++) {
            if ((e = ul_cbor_skip_wire(r, &span, &type)) != UL_OK) {
                return e;
            }
            if (type != UL_CBOR_MAP) {
                return UL_E_CBOR_TYPE;
            }
            if (sink) {
                sink->items[sink->n++] = span;
            }
        }
        f->s.len = (size_t)(r->in + r->pos - f->s.ptr);
        return UL_OK;
    }
    return UL_E_CBOR_TYPE;
}

static ul_err decode(ul_msg *m, const uint8_t *in, size_t len, item_sink *sink)
{
    ul_cbor_reader r;
    size_t n;
    uint64_t last = 0;
    if (len > UL_MAX_MSG_BYTES) {
        return UL_E_LIMIT;
    }
    ul_cbor_reader_init(&r, in, len, 0);
    ul_err e = ul_cbor_enter_map(&r, &n);
    if (e != UL_OK) {
        return e;
    }
    if (n > UL_MSG_MAX_FIELDS) {
        return UL_E_LIMIT;
    }
    m->n = 0;
    for (size_t i = 0; i < n; i++) {
        ul_mfield *f = &m->f[m->n++];
        memset(f, 0, sizeof *f);
        if ((e = ul_cbor_read_uint(&r, &f->key)) != UL_OK ||
            (e = ul_cbor_key_order(i > 0, last, f->key)) != UL_OK ||
            (e = read_value(&r, f, sink)) != UL_OK) {
            return e;
        }
        last = f->key;
    }
    ul_cbor_leave(&r);
    return ul_cbor_done(&r);
}

ul_err ul_msg_decode(ul_msg *m, const uint8_t *in, size_t len)
{
    return decode(m, in, len, NULL);
}

ul_err ul_msg_decode_items(ul_msg *m, const uint8_t *in, size_t len, uint64_t key, ul_span *items,
                           size_t cap, size_t *n)
{
    item_sink sink = {key, items, cap, 0};
    ul_err e = decode(m, in, len, &sink);
    *n = e == UL_OK ? sink.n : 0;
    return e;
}

static const ul_mfield *get(const ul_msg *m, uint64_t key, ul_mv_type t)
{
    for (size_t i = 0; i < m->n; i++) {
        if (m->f[i].key == key) {
            return m->f[i].type == t ? &m->f[i] : NULL;
        }
    }
    return NULL;
}

ul_err ul_msg_get_uint(const ul_msg *m, uint64_t key, uint64_t *v)
{
    const ul_mfield *f = get(m, key, UL_MV_UINT);
    if (!f) {
        return UL_E_PROTOCOL;
    }
    *v = f->u;
    return UL_OK;
}

static ul_err get_span(const ul_msg *m, uint64_t key, ul_mv_type t, ul_span *s)
{
    const ul_mfield *f = get(m, key, t);
    if (!f) {
        return UL_E_PROTOCOL;
    }
    *s = f->s;
    return UL_OK;
}

ul_err ul_msg_get_bytes(const ul_msg *m, uint64_t key, ul_span *s)
{
    return get_span(m, key, UL_MV_BYTES, s);
}

ul_err ul_msg_get_fixed(const ul_msg *m, uint64_t key, uint8_t *out, size_t n)
{
    ul_span s;
    ul_err e = get_span(m, key, UL_MV_BYTES, &s);
    if (e != UL_OK || s.len != n) {
        return UL_E_PROTOCOL;
    }
    memcpy(out, s.ptr, n);
    return UL_OK;
}

ul_err ul_msg_get_text(const ul_msg *m, uint64_t key, ul_span *s)
{
    return get_span(m, key, UL_MV_TEXT, s);
}

ul_err ul_msg_get_item(const ul_msg *m, uint64_t key, ul_span *s)
{
    return get_span(m, key, UL_MV_ITEM, s);
}

ul_err ul_msg_get_list(const ul_msg *m, uint64_t key, ul_span *array, size_t *n)
{
    const ul_mfield *f = get(m, key, UL_MV_LIST);
    if (!f) {
        return UL_E_PROTOCOL;
    }
    *array = f->s;
    *n = f->n;
    return UL_OK;
}

bool ul_msg_list_next(ul_span *rest, ul_span *item)
{
    ul_cbor_reader r;
    ul_cbor_type type;
    if (rest->len == 0) {
        return false;
    }
    ul_cbor_reader_init(&r, rest->ptr, rest->len, 1);
    if (ul_cbor_skip_wire(&r, item, &type) != UL_OK) {
        return false; /* not reached: decode validated every element */
    }
    rest->ptr += r.pos;
    rest->len -= r.pos;
    return true;
}

static const ul_mspec *spec_of(const ul_mspec *spec, size_t n, uint64_t key)
{
    for (size_t i = 0; i < n; i++) {
        if (spec[i].key == key) {
            return &spec[i];
        }
    }
    return NULL;
}

/* A field's value against its spec: type, then bounds. */
static ul_err check_field(const ul_mfield *f, const ul_mspec *s)
{
    if (f->type != s->type) {
        return UL_E_CBOR_TYPE;
    }
    uint64_t v = f->type == UL_MV_UINT   ? f->u
                 : f->type == UL_MV_LIST ? (uint64_t)f->n
                 : f->type == UL_MV_ITEM ? s->min
                                         : (uint64_t)f->s.len;
    if (s->is_enum && (v < s->min || v > s->max)) {
        return UL_E_ARG;
    }
    if (f->type == UL_MV_BYTES && s->unit && v % s->unit) {
        return UL_E_SCHEMA_FIELD;
    }
    return v > s->max ? UL_E_LIMIT : v < s->min ? UL_E_SCHEMA_FIELD : UL_OK;
}

static ul_err check(const ul_msg *m, const ul_mspec *spec, size_t n, bool strict)
{
    for (size_t i = 0; i < m->n; i++) {
        const ul_mspec *s = spec_of(spec, n, m->f[i].key);
        ul_err e = m->f[i].key == 0 ? UL_OK
                   : s              ? check_field(&m->f[i], s)
                   : strict         ? UL_E_SCHEMA_FIELD
                                    : UL_OK;
        if (e != UL_OK) {
            return e;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (spec[i].required && !get(m, spec[i].key, spec[i].type)) {
            return UL_E_SCHEMA_FIELD;
        }
    }
    return UL_OK;
}

ul_err ul_msg_check(const ul_msg *m, const ul_mspec *spec, size_t n)
{
    return check(m, spec, n, true);
}

ul_err ul_msg_check_known(const ul_msg *m, const ul_mspec *spec, size_t n)
{
    return check(m, spec, n, false);
}
