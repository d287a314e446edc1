/* The table-driven map codec every record uses (one walker for keys: order, duplicates,
 * unknown and missing fields), generic field codecs, and the label and namespace rules.
 */
#include <string.h>

#include "internal.h"

/* ---- Labels and namespaces --------------------------------------------------------------- */

ul_err ul_label_check(ul_span s, size_t max)
{
    if (s.len == 0 || s.ptr == NULL) {
        return UL_E_SCHEMA_FIELD;
    }
    if (s.len > max) {
        return UL_E_LIMIT;
    }
    for (size_t i = 0; i < s.len; i++) {
        if (s.ptr[i] < 0x20 || s.ptr[i] > 0x7e) {
            return UL_E_SCHEMA_FIELD;
        }
    }
    return UL_OK;
}

static bool ns_char(uint8_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

static bool alnum(uint8_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

ul_err ul_schema_ns_check(ul_span s)
{
    if (s.ptr == NULL || s.len < 3 || s.len > UL_MAX_NS_LEN) {
        return UL_E_NS_NAME;
    }
    size_t slash = SIZE_MAX;
    for (size_t i = 0; i < s.len; i++) {
        if (s.ptr[i] == '/') {
            if (slash != SIZE_MAX) {
                return UL_E_NS_NAME;
            }
            slash = i;
        } else if (!ns_char(s.ptr[i])) {
            return UL_E_NS_NAME;
        }
    }
    if (slash == SIZE_MAX || slash == 0 || slash == s.len - 1) {
        return UL_E_NS_NAME;
    }
    /* Each part starts with a letter or digit, so no part is "." or ".." or looks like an
     * option: mirrors use namespaces as directory names. */
    if (!alnum(s.ptr[0]) || !alnum(s.ptr[slash + 1])) {
        return UL_E_NS_NAME;
    }
    return UL_OK;
}

/* In records a namespace over UL_MAX_NS_LEN is a limit hit (UL_E_LIMIT), as for every other
 * bound; any other defect is UL_E_NS_NAME. */
ul_err ul_ns_decode_check(ul_span s)
{
    if (s.len > UL_MAX_NS_LEN) {
        return UL_E_LIMIT;
    }
    return ul_schema_ns_check(s);
}

ul_err ul_read_label(ul_cbor_reader *r, ul_span *s, size_t max)
{
    ul_cbor_item it;
    ul_err e = ul_cbor_expect(r, UL_CBOR_TEXT, &it);
    if (e != UL_OK) {
        return e;
    }
    s->ptr = it.data;
    s->len = (size_t)it.val;
    return ul_label_check(*s, max);
}

ul_err ul_read_ns(ul_cbor_reader *r, ul_span *s)
{
    ul_cbor_item it;
    ul_err e = ul_cbor_expect(r, UL_CBOR_TEXT, &it);
    if (e != UL_OK) {
        return e;
    }
    s->ptr = it.data;
    s->len = (size_t)it.val;
    return ul_ns_decode_check(*s);
}

/* ---- Generic codecs ---------------------------------------------------------------------- */

#define MEMBER(obj, f) ((char *)(obj) + (f)->off)
#define CMEMBER(obj, f) ((const char *)(obj) + (f)->off)

static ul_err uint_dec(ul_cbor_reader *r, void *obj, const ul_field *f)
{
    return ul_cbor_read_uint(r, (uint64_t *)MEMBER(obj, f));
}

static void uint_enc(ul_cbor_writer *w, const void *obj, const ul_field *f)
{
    ul_cbor_put_uint(w, *(const uint64_t *)CMEMBER(obj, f));
}

static ul_err fixed_dec(ul_cbor_reader *r, void *obj, const ul_field *f)
{
    return ul_cbor_read_fixed(r, (uint8_t *)MEMBER(obj, f), f->arg);
}

static void fixed_enc(ul_cbor_writer *w, const void *obj, const ul_field *f)
{
    ul_cbor_put_bytes(w, (const uint8_t *)CMEMBER(obj, f), f->arg);
}

static ul_err label_dec(ul_cbor_reader *r, void *obj, const ul_field *f)
{
    return ul_read_label(r, (ul_span *)MEMBER(obj, f), UL_MAX_LABEL_LEN);
}

void ul_put_label(ul_cbor_writer *w, ul_span s, size_t max)
{
    if (s.len > max) {
        ul_cbor_fail(w, UL_E_LIMIT); /* before the bytes: a huge label is a limit, not a buffer */
        return;
    }
    ul_cbor_put_text(w, s);
}

static void label_enc(ul_cbor_writer *w, const void *obj, const ul_field *f)
{
    ul_put_label(w, *(const ul_span *)CMEMBER(obj, f), UL_MAX_LABEL_LEN);
}

static void ns_enc(ul_cbor_writer *w, const void *obj, const ul_field *f)
{
    ul_put_label(w, *(const ul_span *)CMEMBER(obj, f), UL_MAX_NS_LEN);
}

static ul_err ns_dec(ul_cbor_reader *r, void *obj, const ul_field *f)
{
    return ul_read_ns(r, (ul_span *)MEMBER(obj, f));
}

/* An embedded item (arg: its required major type) kept as a span of its canonical bytes; its
 * nesting counts inside the enclosing record's. */
static ul_err inner_dec(ul_cbor_reader *r, void *obj, const ul_field *f)
{
    ul_cbor_type t;
    ul_span *s = (ul_span *)MEMBER(obj, f);
    ul_err e = ul_cbor_skip_in(r, s, &t);
    if (e == UL_OK && t != (ul_cbor_type)f->arg) {
        return UL_E_CBOR_TYPE;
    }
    return e;
}

static void embedded_enc(ul_cbor_writer *w, const void *obj, const ul_field *f)
{
    ul_cbor_put_raw(w, *(const ul_span *)CMEMBER(obj, f));
}

/* A list of 32-byte values: off names the size_t count, arg the uint8_t[][32] array. */
static ul_err hash_list_dec(ul_cbor_reader *r, void *obj, const ul_field *f, size_t min, size_t max,
                            bool sorted)
{
    size_t *n = (size_t *)MEMBER(obj, f);
    uint8_t(*list)[UL_HASH_BYTES] = (uint8_t(*)[UL_HASH_BYTES])((char *)obj + f->arg);
    ul_err e = ul_cbor_enter_array(r, min, max, n);
    for (size_t i = 0; e == UL_OK && i < *n; i++) {
        e = ul_cbor_read_fixed(r, list[i], UL_HASH_BYTES);
        if (e == UL_OK && sorted && i > 0 && memcmp(list[i - 1], list[i], UL_HASH_BYTES) >= 0) {
            e = UL_E_SCHEMA_FIELD; /* unsorted or duplicated key */
        }
    }
    if (e == UL_OK) {
        ul_cbor_leave(r);
    }
    return e;
}

static void hash_list_enc(ul_cbor_writer *w, const void *obj, const ul_field *f, size_t max)
{
    size_t n = *(const size_t *)CMEMBER(obj, f);
    const uint8_t(*list)[UL_HASH_BYTES] =
        (const uint8_t(*)[UL_HASH_BYTES])((const char *)obj + f->arg);
    if (n > max) {
        ul_cbor_fail(w, UL_E_LIMIT);
        return;
    }
    ul_cbor_put_array(w, n);
    for (size_t i = 0; i < n; i++) {
        ul_cbor_put_bytes(w, list[i], UL_HASH_BYTES);
    }
}

static ul_err keys_dec(ul_cbor_reader *r, void *obj, const ul_field *f)
{
    return hash_list_dec(r, obj, f, 1, UL_MAX_KEYS, true);
}

static void keys_enc(ul_cbor_writer *w, const void *obj, const ul_field *f)
{
    hash_list_enc(w, obj, f, UL_MAX_KEYS);
}

static ul_err path_dec(ul_cbor_reader *r, void *obj, const ul_field *f)
{
    return hash_list_dec(r, obj, f, 0, UL_MAX_PROOF_DEPTH, false);
}

static void path_enc(ul_cbor_writer *w, const void *obj, const ul_field *f)
{
    hash_list_enc(w, obj, f, UL_MAX_PROOF_DEPTH);
}

/* A list of signatures by validator index (commits, checkpoints): off names the size_t count,
 * arg the array of entries; timed entries are {uint64_t index, time_ms; uint8_t sig[64]} and
 * encode as [index, time, sig], the others {uint64_t index; uint8_t sig[64]} as [index, sig].
 * 1..UL_MAX_VALIDATORS entries, indexes strictly ascending below UL_MAX_VALIDATORS (a position
 * in a set of at most that many). */
static size_t sig_entry_bytes(bool timed)
{
    return (timed ? 2 : 1) * sizeof(uint64_t) + UL_SIG_BYTES;
}

static ul_err sig_entry_read(ul_cbor_reader *r, uint8_t *entry, bool timed)
{
    uint64_t v[2];
    size_t n_uints = timed ? 2 : 1;
    ul_err e = ul_cbor_enter_tuple(r, n_uints + 1);
    for (size_t i = 0; e == UL_OK && i < n_uints; i++) {
        e = ul_cbor_read_uint(r, &v[i]);
    }
    if (e == UL_OK) {
        memcpy(entry, v, n_uints * sizeof(uint64_t));
        e = ul_cbor_read_fixed(r, entry + n_uints * sizeof(uint64_t), UL_SIG_BYTES);
    }
    if (e == UL_OK) {
        ul_cbor_leave(r);
    }
    return e;
}

static ul_err sig_list_dec(ul_cbor_reader *r, void *obj, const ul_field *f, bool timed)
{
    size_t *n = (size_t *)MEMBER(obj, f);
    uint8_t *list = (uint8_t *)obj + f->arg;
    uint64_t index, prev = 0;
    ul_err e = ul_cbor_enter_array(r, 1, UL_MAX_VALIDATORS, n);
    for (size_t i = 0; e == UL_OK && i < *n; i++) {
        uint8_t *entry = list + i * sig_entry_bytes(timed);
        e = sig_entry_read(r, entry, timed);
        memcpy(&index, entry, sizeof index);
        if (e == UL_OK && (index >= UL_MAX_VALIDATORS || (i > 0 && prev >= index))) {
            e = UL_E_SCHEMA_FIELD;
        }
        prev = index;
    }
    if (e == UL_OK) {
        ul_cbor_leave(r);
    }
    return e;
}

static void sig_list_enc(ul_cbor_writer *w, const void *obj, const ul_field *f, bool timed)
{
    size_t n = *(const size_t *)CMEMBER(obj, f);
    const uint8_t *list = (const uint8_t *)obj + f->arg;
    size_t n_uints = timed ? 2 : 1;
    if (n > UL_MAX_VALIDATORS) {
        ul_cbor_fail(w, UL_E_LIMIT);
        return;
    }
    ul_cbor_put_array(w, n);
    for (size_t i = 0; i < n; i++) {
        const uint8_t *entry = list + i * sig_entry_bytes(timed);
        uint64_t v[2];
        memcpy(v, entry, n_uints * sizeof(uint64_t));
        ul_cbor_put_array(w, n_uints + 1);
        for (size_t j = 0; j < n_uints; j++) {
            ul_cbor_put_uint(w, v[j]);
        }
        ul_cbor_put_bytes(w, entry + n_uints * sizeof(uint64_t), UL_SIG_BYTES);
    }
}

static ul_err sigs_dec(ul_cbor_reader *r, void *obj, const ul_field *f)
{
    return sig_list_dec(r, obj, f, false);
}

static void sigs_enc(ul_cbor_writer *w, const void *obj, const ul_field *f)
{
    sig_list_enc(w, obj, f, false);
}

static ul_err timed_sigs_dec(ul_cbor_reader *r, void *obj, const ul_field *f)
{
    return sig_list_dec(r, obj, f, true);
}

static void timed_sigs_enc(ul_cbor_writer *w, const void *obj, const ul_field *f)
{
    sig_list_enc(w, obj, f, true);
}

/* The entry layouts the signature lists assume. */
_Static_assert(offsetof(ul_commit_sig, index) == 0 && offsetof(ul_commit_sig, time_ms) == 8 &&
                   offsetof(ul_commit_sig, sig) == 16 && sizeof(ul_commit_sig) == 16 + UL_SIG_BYTES,
               "a commit signature is a timed signature-list entry");
_Static_assert(offsetof(ul_checkpoint_sig, index) == 0 && offsetof(ul_checkpoint_sig, sig) == 8 &&
                   sizeof(ul_checkpoint_sig) == 8 + UL_SIG_BYTES,
               "a checkpoint signature is a signature-list entry");

const ul_codec ul_codec_uint = {uint_dec, uint_enc};
const ul_codec ul_codec_fixed = {fixed_dec, fixed_enc};
const ul_codec ul_codec_label = {label_dec, label_enc};
const ul_codec ul_codec_ns = {ns_dec, ns_enc};
const ul_codec ul_codec_inner = {inner_dec, embedded_enc};
const ul_codec ul_codec_keys = {keys_dec, keys_enc};
const ul_codec ul_codec_path = {path_dec, path_enc};
const ul_codec ul_codec_sigs = {sigs_dec, sigs_enc};
const ul_codec ul_codec_timed_sigs = {timed_sigs_dec, timed_sigs_enc};

/* ---- Maps and records -------------------------------------------------------------------- */

static bool field_present(const void *obj, const ul_field *f)
{
    return f->has_off == UL_FIELD_REQUIRED || *(const bool *)((const char *)obj + f->has_off);
}

/* Finds the field for key among fields[*j..) (keys arrive ascending, so *j only moves on).
 * Missing fields are found at the end, so out-of-order keys report as non-canonical. */
static ul_err field_find(const ul_record *rec, size_t *j, uint64_t key, const ul_field **out)
{
    while (*j < rec->n_fields && rec->fields[*j].key < key) {
        (*j)++;
    }
    if (*j == rec->n_fields || rec->fields[*j].key != key) {
        return UL_E_SCHEMA_FIELD; /* unknown */
    }
    *out = &rec->fields[(*j)++];
    return UL_OK;
}

static void set_present(void *obj, const ul_field *f, bool v)
{
    if (f->has_off != UL_FIELD_REQUIRED) {
        *(bool *)((char *)obj + f->has_off) = v;
    }
}

/* Reads one key and its value; seen gets the field's bit. */
static ul_err map_entry(ul_cbor_reader *r, const ul_record *rec, void *obj, size_t i,
                        uint64_t *last, size_t *j, uint64_t *seen)
{
    uint64_t key;
    const ul_field *f = NULL;
    ul_err e = ul_cbor_read_uint(r, &key);
    if (e == UL_OK) {
        e = ul_cbor_key_order(i > 0, *last, key);
    }
    if (e == UL_OK) {
        *last = key;
        e = field_find(rec, j, key, &f);
    }
    if (e != UL_OK) {
        return e;
    }
    *seen |= 1ULL << (size_t)(f - rec->fields);
    set_present(obj, f, true);
    return f->codec->dec(r, obj, f);
}

ul_err ul_map_decode(ul_cbor_reader *r, const ul_record *rec, void *obj)
{
    size_t n;
    size_t j = 0;
    uint64_t last = 0;
    uint64_t seen = 0;
    ul_err e = ul_cbor_enter_map(r, &n);
    if (e != UL_OK) {
        return e;
    }
    for (size_t i = 0; i < rec->n_fields; i++) {
        set_present(obj, &rec->fields[i], false);
    }
    if (n > rec->n_fields) {
        return UL_E_SCHEMA_FIELD; /* more entries than known fields */
    }
    for (size_t i = 0; e == UL_OK && i < n; i++) {
        e = map_entry(r, rec, obj, i, &last, &j, &seen);
    }
    for (size_t i = 0; e == UL_OK && i < rec->n_fields; i++) {
        if (rec->fields[i].has_off == UL_FIELD_REQUIRED && !(seen & (1ULL << i))) {
            e = UL_E_SCHEMA_FIELD; /* missing */
        }
    }
    if (e != UL_OK) {
        return e;
    }
    ul_cbor_leave(r);
    return rec->check ? rec->check(obj) : UL_OK;
}

void ul_map_encode(ul_cbor_writer *w, const ul_record *rec, const void *obj)
{
    size_t n = 0;
    for (size_t i = 0; i < rec->n_fields; i++) {
        n += field_present(obj, &rec->fields[i]) ? 1 : 0;
    }
    ul_cbor_put_map(w, n);
    for (size_t i = 0; i < rec->n_fields; i++) {
        const ul_field *f = &rec->fields[i];
        if (field_present(obj, f)) {
            ul_cbor_put_uint(w, f->key);
            f->codec->enc(w, obj, f);
        }
    }
}

ul_err ul_record_decode(const ul_record *rec, void *obj, const uint8_t *in, size_t len)
{
    if (obj == NULL || (in == NULL && len > 0)) {
        return UL_E_ARG;
    }
    memset(obj, 0, rec->obj_size);
    if (len > rec->max_bytes) {
        return UL_E_LIMIT;
    }
    ul_cbor_reader r;
    ul_cbor_reader_init(&r, in, len, 0);
    ul_err e = ul_map_decode(&r, rec, obj);
    return e != UL_OK ? e : ul_cbor_done(&r);
}

ul_err ul_record_finish(ul_cbor_writer *w, size_t *out_len)
{
    if (out_len == NULL) {
        return UL_E_ARG;
    }
    *out_len = 0;
    if (w->err != UL_OK) {
        return w->err;
    }
    *out_len = w->len;
    return UL_OK;
}

ul_err ul_record_encode(const ul_record *rec, const void *obj, void *tmp, uint8_t *out, size_t cap,
                        size_t *out_len)
{
    if (obj == NULL || out_len == NULL) {
        return UL_E_ARG;
    }
    ul_cbor_writer w;
    ul_cbor_writer_init(&w, out, cap);
    ul_map_encode(&w, rec, obj);
    ul_err e = ul_record_finish(&w, out_len);
    if (e == UL_OK) {
        e = ul_record_decode(rec, tmp, out, w.len);
    }
    if (e != UL_OK) {
        *out_len = 0;
    }
    return e;
}

void ul_labels_enc(ul_cbor_writer *w, const ul_span *spans, size_t n, size_t max, size_t max_len)
{
    if (n > max) {
        ul_cbor_fail(w, UL_E_LIMIT);
        return;
    }
    ul_cbor_put_array(w, n);
    for (size_t i = 0; i < n; i++) {
        ul_put_label(w, spans[i], max_len);
    }
}
