/* A bundle's LEAF section read one CBOR item at a time as it streams in, so that a device never
 * holds the release record whole (client/update.c). Each item is decoded by ul_cbor_next_part
 * (libcbor's cbor_stream_decode plus the reader's canonical checks: shortest heads, definite
 * lengths, UTF-8 text, counts within the input) and stepped through the record's grammar here:
 * the same field rules, limits and error codes as ul_schema_release_decode's field table
 * (schema/records.c) and ul_schema_section_decode's LEAF layout (schema/section.c).
 *
 * Canonical form without the bytes to re-encode: every head is checked shortest as it arrives,
 * map keys strictly ascending (ul_cbor_key_order) and only known keys, counts exact; the checks
 * that compare fields with each other need what has gone: the walker reports each hardware class
 * (UL_LEAF_HW, UL_LEAF_KEY_HW) and its caller checks that none repeats and that every wrapped key
 * names a listed class (ul_leaf_event.check says when), as records.c's release_check does.
 */
#include <string.h>

#include "internal.h"

/* ul_leaf_walk.at: where in the section the next item belongs. */
enum {
    AT_ARRAY = 0, /* [3, kind, record, n_sigs] */
    AT_TYPE,
    AT_KIND,
    AT_MAP, /* the record: {1 ns, ... ?14 enc} */
    AT_KEY,
    AT_VALUE,
    AT_LIST, /* 9 links, 10 hw: labels */
    AT_DEP,  /* 11 deps: [ns, constraint] */
    AT_DEP_NS,
    AT_DEP_C,
    AT_ENC_KEY, /* 14 enc: {1 alg, 2 chunk, 3 [+ [hw, sealed]]} */
    AT_ENC_VALUE,
    AT_WRAP,
    AT_WRAP_HW,
    AT_WRAP_SEALED,
    AT_N_SIGS,
    AT_INDEX, /* INCLUSION [5, index, size, [* hash]], SIBLINGS [7, [+ hash]] */
    AT_TREE_SIZE,
    AT_HASHES,
    AT_HASH,
    AT_END
};

/* The record's keys: 1..12 required, 13 (precursor) and 14 (enc) optional. */
#define REC_KEYS 14
#define REC_REQUIRED 0x0ffeu /* bits 1..12 */
#define ENC_REQUIRED 0x0eu   /* bits 1..3 */

void ul_schema_leaf_walk_init(ul_leaf_walk *w)
{
    memset(w, 0, sizeof *w);
}

static ul_err want(const ul_cbor_item *it, ul_cbor_type t)
{
    return it->type == t ? UL_OK : UL_E_CBOR_TYPE;
}

/* An array of min..max elements: fewer UL_E_SCHEMA_FIELD, more UL_E_LIMIT (ul_cbor_enter_array). */
static ul_err list_head(const ul_cbor_item *it, uint64_t min, uint64_t max)
{
    ul_err e = want(it, UL_CBOR_ARRAY);
    if (e == UL_OK && it->val < min) {
        return UL_E_SCHEMA_FIELD;
    }
    return e == UL_OK && it->val > max ? UL_E_LIMIT : e;
}

static ul_err text(const ul_cbor_item *it, ul_leaf_event *ev, size_t max)
{
    ul_err e = want(it, UL_CBOR_TEXT);
    ev->s = (ul_span){it->data, (size_t)it->val};
    return e != UL_OK ? e : ul_label_check(ev->s, max);
}

static ul_err fixed(const ul_cbor_item *it, ul_leaf_event *ev, size_t n)
{
    ul_err e = want(it, UL_CBOR_BYTES);
    ev->s = (ul_span){it->data, (size_t)it->val};
    return e == UL_OK && it->val != n ? UL_E_SCHEMA_FIELD : e;
}

/* One record value is complete: the next key, or the record's end (its required keys and kind;
 * the caller's cross-field checks are due then). */
static ul_err value_done(ul_leaf_walk *w, ul_leaf_event *ev)
{
    if (--w->left > 0) {
        w->at = AT_KEY;
        return UL_OK;
    }
    if ((w->seen & REC_REQUIRED) != REC_REQUIRED) {
        return UL_E_SCHEMA_FIELD; /* missing */
    }
    if (w->kind > UL_KIND_MAX_) {
        return UL_E_SCHEMA_FIELD;
    }
    ev->check = true;
    w->at = AT_N_SIGS;
    return UL_OK;
}

/* A map key: an unsigned int above the last, one the map knows (keys 1..max). */
static ul_err map_key(const ul_cbor_item *it, bool *have_last, uint64_t *last, uint64_t max,
                      uint32_t *seen)
{
    ul_err e = want(it, UL_CBOR_UINT);
    if (e == UL_OK) {
        e = ul_cbor_key_order(*have_last, *last, it->val);
    }
    if (e != UL_OK) {
        return e;
    }
    *have_last = true;
    *last = it->val;
    if (it->val < 1 || it->val > max) {
        return UL_E_SCHEMA_FIELD; /* unknown */
    }
    *seen |= 1u << it->val;
    return UL_OK;
}

static ul_err enc_done(ul_leaf_walk *w, ul_leaf_event *ev)
{
    if (--w->enc_left > 0) {
        w->at = AT_ENC_KEY;
        return UL_OK;
    }
    if ((w->enc_seen & ENC_REQUIRED) != ENC_REQUIRED) {
        return UL_E_SCHEMA_FIELD;
    }
    if (w->alg != UL_ENC_SECRETSTREAM || w->chunk < 1 || w->chunk > UL_MAX_ENC_CHUNK) {
        return UL_E_SCHEMA_FIELD;
    }
    return value_done(w, ev);
}

static ul_err enc_value(ul_leaf_walk *w, const ul_cbor_item *it, ul_leaf_event *ev)
{
    if (w->enc_key == 3) {
        ul_err e = list_head(it, 1, UL_MAX_WRAPPED_KEYS);
        w->list_left = it->val;
        w->at = AT_WRAP;
        return e;
    }
    ul_err e = want(it, UL_CBOR_UINT);
    if (e != UL_OK) {
        return e;
    }
    if (w->enc_key == 1) {
        w->alg = it->val;
    } else {
        w->chunk = it->val;
        ev->what = UL_LEAF_ENC_CHUNK;
        ev->val = it->val;
    }
    return enc_done(w, ev);
}

/* The value of record key w->key. */
static ul_err value(ul_leaf_walk *w, const ul_cbor_item *it, ul_leaf_event *ev)
{
    static const uint8_t uint_ev[REC_KEYS + 1] = {
        [3] = UL_LEAF_TIME, [5] = UL_LEAF_SEQ, [7] = UL_LEAF_SIZE, [12] = UL_LEAF_KIND};
    ul_err e = UL_OK;
    switch (w->key) {
    case 1:
        e = want(it, UL_CBOR_TEXT);
        ev->s = (ul_span){it->data, (size_t)it->val};
        ev->what = UL_LEAF_NS;
        e = e != UL_OK ? e : ul_ns_decode_check(ev->s);
        break;
    case 2:
    case 4:
    case 8:
        ev->what = w->key == 4 ? UL_LEAF_VERSION : UL_LEAF_NONE;
        e = text(it, ev, UL_MAX_LABEL_LEN);
        break;
    case 6:
    case 13:
        ev->what = w->key == 6 ? UL_LEAF_DIGEST : UL_LEAF_NONE;
        e = fixed(it, ev, UL_HASH_BYTES);
        break;
    case 9:
    case 10:
        e = w->key == 9 ? list_head(it, 0, UL_MAX_LINKS) : list_head(it, 1, UL_MAX_HW);
        w->list_left = it->val;
        w->at = AT_LIST;
        return e != UL_OK || w->list_left > 0 ? e : value_done(w, ev);
    case 11:
        e = list_head(it, 0, UL_MAX_DEPS);
        w->list_left = it->val;
        w->at = AT_DEP;
        return e != UL_OK || w->list_left > 0 ? e : value_done(w, ev);
    case 14:
        if ((e = want(it, UL_CBOR_MAP)) != UL_OK) {
            return e;
        }
        if (it->val > 3) {
            return UL_E_SCHEMA_FIELD; /* more entries than known fields */
        }
        ev->what = UL_LEAF_ENC;
        w->enc_left = it->val;
        w->at = AT_ENC_KEY;
        return it->val > 0 ? UL_OK : UL_E_SCHEMA_FIELD; /* its keys are required */
    default:
        e = want(it, UL_CBOR_UINT);
        ev->what = uint_ev[w->key];
        ev->val = it->val;
        w->kind = w->key == 12 ? it->val : w->kind;
        break;
    }
    return e != UL_OK ? e : value_done(w, ev);
}

/* Items inside the record's lists and tuples. */
static ul_err inner(ul_leaf_walk *w, const ul_cbor_item *it, ul_leaf_event *ev)
{
    ul_err e = UL_OK;
    switch (w->at) {
    case AT_LIST:
        ev->what = w->key == 10 ? UL_LEAF_HW : UL_LEAF_NONE;
        e = text(it, ev, w->key == 10 ? UL_MAX_LABEL_LEN : UL_MAX_LINK_LEN);
        return e != UL_OK || --w->list_left > 0 ? e : value_done(w, ev);
    case AT_DEP:
    case AT_WRAP:
        e = want(it, UL_CBOR_ARRAY);
        w->at = w->at == AT_DEP ? AT_DEP_NS : AT_WRAP_HW;
        return e == UL_OK && it->val != 2 ? UL_E_SCHEMA_FIELD : e;
    case AT_DEP_NS:
        e = want(it, UL_CBOR_TEXT);
        ev->s = (ul_span){it->data, (size_t)it->val};
        ev->what = UL_LEAF_DEP_NS;
        w->at = AT_DEP_C;
        return e != UL_OK ? e : ul_ns_decode_check(ev->s);
    case AT_DEP_C:
        ev->what = UL_LEAF_DEP_CONSTRAINT;
        e = text(it, ev, UL_MAX_LABEL_LEN);
        w->at = AT_DEP;
        return e != UL_OK || --w->list_left > 0 ? e : value_done(w, ev);
    case AT_WRAP_HW:
        ev->what = UL_LEAF_KEY_HW;
        w->at = AT_WRAP_SEALED;
        return text(it, ev, UL_MAX_LABEL_LEN);
    default: /* AT_WRAP_SEALED */
        ev->what = UL_LEAF_KEY_SEALED;
        e = fixed(it, ev, UL_SEALED_KEY_BYTES);
        w->at = AT_WRAP;
        return e != UL_OK || --w->list_left > 0 ? e : enc_done(w, ev);
    }
}

/* The section's own items around the record: [3, kind, record, n_sigs]. */
static ul_err frame_item(ul_leaf_walk *w, const ul_cbor_item *it, ul_leaf_event *ev)
{
    ul_err e = want(it, UL_CBOR_UINT);
    if (e != UL_OK) {
        return e;
    }
    switch (w->at) {
    case AT_KIND:
        ev->what = UL_LEAF_TX_KIND;
        ev->val = it->val;
        w->at = AT_MAP;
        return it->val < 1 || it->val > UL_TX_KIND_MAX_ ? UL_E_TX_KIND : UL_OK;
    default: /* AT_N_SIGS */
        ev->what = UL_LEAF_N_SIGS;
        ev->val = it->val;
        w->at = AT_END;
        if (it->val < 1) {
            return UL_E_SCHEMA_FIELD;
        }
        return it->val > UL_MAX_SIGS ? UL_E_LIMIT : UL_OK;
    }
}

static ul_err record_item(ul_leaf_walk *w, const ul_cbor_item *it, ul_leaf_event *ev)
{
    ul_err e = UL_OK;
    ev->record = true;
    w->record_bytes += it->size;
    if (w->record_bytes > UL_MAX_RECORD_BYTES) {
        return UL_E_LIMIT;
    }
    switch (w->at) {
    case AT_MAP:
        if ((e = want(it, UL_CBOR_MAP)) != UL_OK) {
            return e;
        }
        if (it->val > REC_KEYS) {
            return UL_E_SCHEMA_FIELD; /* more entries than known fields */
        }
        w->left = it->val;
        w->at = AT_KEY;
        return it->val > 0 ? UL_OK : UL_E_SCHEMA_FIELD; /* required keys missing */
    case AT_KEY:
        e = map_key(it, &w->have_last, &w->key, REC_KEYS, &w->seen);
        w->at = AT_VALUE;
        return e;
    case AT_VALUE:
        return value(w, it, ev);
    case AT_ENC_KEY:
        e = map_key(it, &w->enc_have_last, &w->enc_key, 3, &w->enc_seen);
        w->at = AT_ENC_VALUE;
        return e;
    case AT_ENC_VALUE:
        return enc_value(w, it, ev);
    default:
        return inner(w, it, ev);
    }
}

/* INCLUSION [5, index, size, [0..64 x bstr(32)]] and SIBLINGS [7, [1..64 x bstr(32)]], as
 * schema/section.c's dec_inclusion and read_hashes read them. */
static ul_err hashes_item(ul_leaf_walk *w, const ul_cbor_item *it, ul_leaf_event *ev)
{
    bool incl = w->kind == UL_SEC_INCLUSION;
    ul_err e = want(it, w->at == AT_HASHES ? UL_CBOR_ARRAY
                        : w->at == AT_HASH ? UL_CBOR_BYTES
                                           : UL_CBOR_UINT);
    if (e != UL_OK) {
        return e;
    }
    ev->val = it->val;
    switch (w->at) {
    case AT_INDEX:
        ev->what = UL_LEAF_INDEX;
        w->left = it->val;
        w->at = AT_TREE_SIZE;
        return UL_OK;
    case AT_TREE_SIZE:
        ev->what = UL_LEAF_TREE_SIZE;
        w->at = AT_HASHES;
        return w->left >= it->val ? UL_E_SCHEMA_FIELD : UL_OK;
    case AT_HASHES:
        ev->what = UL_LEAF_HASHES;
        w->list_left = it->val;
        w->at = it->val > 0 ? AT_HASH : AT_END;
        e = list_head(it, incl ? 0 : 1, incl ? UL_MAX_PROOF_DEPTH : UL_MAX_SIBLINGS_PER_SECTION);
        return e;
    default: /* AT_HASH */
        ev->what = UL_LEAF_HASH;
        w->at = --w->list_left > 0 ? AT_HASH : AT_END;
        return fixed(it, ev, UL_HASH_BYTES);
    }
}

/* The section's array head, then its type: at least the type (ul_schema_section_decode's
 * order), then as many items as the walked section has (a LEAF 4, an INCLUSION 4, a SIBLINGS 2;
 * another type is the caller's to refuse, from its UL_LEAF_TYPE event). */
static ul_err section_start(ul_leaf_walk *w, const ul_cbor_item *it, ul_leaf_event *ev, bool leaf)
{
    ul_err e = want(it, w->at == AT_ARRAY ? UL_CBOR_ARRAY : UL_CBOR_UINT);
    if (e != UL_OK) {
        return e;
    }
    if (w->at == AT_ARRAY) {
        w->n_items = it->val;
        w->at = AT_TYPE;
        return it->val < 1 ? UL_E_SCHEMA_FIELD : UL_OK;
    }
    ev->what = UL_LEAF_TYPE;
    ev->val = it->val;
    bool incl = it->val == UL_SEC_INCLUSION;
    if (!leaf) {
        w->kind = it->val; /* a hash section's type (a LEAF's kind is its record's) */
    }
    w->at = leaf ? AT_KIND : incl ? AT_INDEX : AT_HASHES;
    return it->val > UL_SEC_MAX_ || w->n_items != (leaf || incl ? 4u : 2u) ? UL_E_SCHEMA_FIELD
                                                                           : UL_OK;
}

/* One item of the section (leaf: a LEAF, else an INCLUSION or SIBLINGS section). */
static ul_err walk(ul_leaf_walk *w, ul_leaf_event *ev, const uint8_t *p, size_t have, size_t avail,
                   size_t *need, bool leaf)
{
    ul_cbor_item it;
    memset(ev, 0, sizeof *ev);
    *need = 0;
    if (w->at == AT_END) {
        return UL_E_CBOR_TRAILING;
    }
    ul_err e = ul_cbor_next_part(p, have, avail, &it, need);
    if (e != UL_OK) {
        return e;
    }
    ev->size = it.size;
    if (w->at <= AT_TYPE) {
        e = section_start(w, &it, ev, leaf);
    } else if (!leaf) {
        e = hashes_item(w, &it, ev);
    } else if (w->at <= AT_KIND || w->at == AT_N_SIGS) {
        e = frame_item(w, &it, ev);
    } else {
        e = record_item(w, &it, ev);
    }
    w->done = e == UL_OK && w->at == AT_END;
    if (w->done && it.size < avail) {
        return UL_E_CBOR_TRAILING;
    }
    return e;
}

ul_err ul_schema_leaf_walk(ul_leaf_walk *w, ul_leaf_event *ev, const uint8_t *p, size_t have,
                           size_t avail, size_t *need)
{
    return walk(w, ev, p, have, avail, need, true);
}

ul_err ul_schema_hashes_walk(ul_leaf_walk *w, ul_leaf_event *ev, const uint8_t *p, size_t have,
                             size_t avail, size_t *need)
{
    return walk(w, ev, p, have, avail, need, false);
}
