/* schema/ internals shared by its .c files: a canonical CBOR reader and writer over caller
 * memory (ul_cbor_*), and the table-driven map codec every record is described with.
 * Nothing here allocates; libcbor is used only through its allocation-free functions.
 */
#ifndef UL_SCHEMA_INTERNAL_H
#define UL_SCHEMA_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ul_schema.h"

/* A programmer error in libupclient (client/ + schema/) stops the program without glibc's assert
 * (__assert_fail, stdio): a device links neither. Operating errors are returned, never this. */
#define UL_ASSERT(x)                                                                               \
    do {                                                                                           \
        if (!(x)) {                                                                                \
            __builtin_trap();                                                                      \
        }                                                                                          \
    } while (0)

/* ---- Reader ----------------------------------------------------------------------------- */

/* The major types a canonical upledger record may hold; everything else is UL_E_CBOR_TYPE. */
typedef enum {
    UL_CBOR_UINT = 0,
    UL_CBOR_BYTES = 2,
    UL_CBOR_TEXT = 3,
    UL_CBOR_ARRAY = 4,
    UL_CBOR_MAP = 5,
} ul_cbor_type;

/* One item head as read: for strings, data/val are the payload and its length; for arrays and
 * maps, val is the element (pair) count; for unsigned ints, val is the value. */
typedef struct {
    ul_cbor_type type;
    uint64_t val;
    const uint8_t *data;
    size_t size; /* bytes consumed: head, plus the payload for strings */
} ul_cbor_item;

/* A cursor over in[0..len); depth counts the containers the cursor is inside of. */
typedef struct {
    const uint8_t *in;
    size_t len;
    size_t pos;
    unsigned depth;
} ul_cbor_reader;

/* depth: the containers already open around in (0 for a whole record). */
void ul_cbor_reader_init(ul_cbor_reader *r, const uint8_t *in, size_t len, unsigned depth);
/* Reads one canonical item head (and a string's payload). Returns: UL_OK or a CBOR error. */
ul_err ul_cbor_next(ul_cbor_reader *r, ul_cbor_item *it);
/* Reads one item that must be of type t. */
/* ul_cbor_next for a stream: p[0..have) holds the first bytes of an item; avail is how many
 * bytes the input holds from p on (have <= avail), so a container's count and a string's length
 * are checked against the input, not against what arrived so far. The same checks as
 * ul_cbor_next (libcbor's cbor_stream_decode decodes the head, the shortest form is checked on
 * it). Returns: UL_OK with *it (it->data points into p); UL_E_TRUNCATED with *need, the bytes
 * the whole item takes (<= avail), when have is short of them; else ul_cbor_next's errors. */
ul_err ul_cbor_next_part(const uint8_t *p, size_t have, size_t avail, ul_cbor_item *it,
                         size_t *need);
ul_err ul_cbor_expect(ul_cbor_reader *r, ul_cbor_type t, ul_cbor_item *it);
ul_err ul_cbor_read_uint(ul_cbor_reader *r, uint64_t *v);
/* Reads a byte string of exactly n bytes into out (UL_E_SCHEMA_FIELD for another length). */
ul_err ul_cbor_read_fixed(ul_cbor_reader *r, uint8_t *out, size_t n);
/* Opens an array (map) of min..max elements (pairs), entering one nesting level.
 * Fewer than min: UL_E_SCHEMA_FIELD; more than max: UL_E_LIMIT. */
ul_err ul_cbor_enter_array(ul_cbor_reader *r, size_t min, size_t max, size_t *n);
/* Opens an array of exactly n elements (a tuple); another count is UL_E_SCHEMA_FIELD. */
ul_err ul_cbor_enter_tuple(ul_cbor_reader *r, size_t n);
ul_err ul_cbor_enter_map(ul_cbor_reader *r, size_t *n);
void ul_cbor_leave(ul_cbor_reader *r);
/* Skips one whole canonical item (map keys unsigned and strictly ascending), iteratively.
 * Out: its bytes in *span and its major type in *type.
 * ul_cbor_skip is for an embedded record: a record counts its nesting from its own start (at
 * most UL_MAX_CBOR_DEPTH), so a record valid alone stays valid inside a block or bundle.
 * ul_cbor_skip_in is for an item that is part of the record being read: its nesting adds to
 * the reader's depth (a transaction's body). */
ul_err ul_cbor_skip(ul_cbor_reader *r, ul_span *span, ul_cbor_type *type);
ul_err ul_cbor_skip_in(ul_cbor_reader *r, ul_span *span, ul_cbor_type *type);
/* ul_cbor_skip for a container of records (a block, a bundle) carried in a query message: up to
 * UL_MAX_WIRE_DEPTH, since each record inside counts its own UL_MAX_CBOR_DEPTH. */
ul_err ul_cbor_skip_wire(ul_cbor_reader *r, ul_span *span, ul_cbor_type *type);
/* Consumes the next item when it is null (*is_null true); leaves anything else for the caller.
 * null belongs to no record; only a bundle's state proof section uses it. */
ul_err ul_cbor_read_null(ul_cbor_reader *r, bool *is_null);
/* The head of a byte string at in[0..len), which may hold only part of it (a stream).
 * Returns: UL_OK with *head_len and *body_len (the payload need not be there yet);
 * UL_E_TRUNCATED when the head itself is incomplete; UL_E_CBOR_TYPE for another major type;
 * UL_E_CBOR_NONCANONICAL for a head not in its shortest form (or indefinite); UL_E_LIMIT for a
 * length near 2^64; UL_E_CBOR_MALFORMED for a reserved head. */
ul_err ul_cbor_bstr_head(const uint8_t *in, size_t len, size_t *head_len, uint64_t *body_len);
/* Returns: UL_OK when the reader consumed all its input, else UL_E_CBOR_TRAILING. */
ul_err ul_cbor_done(const ul_cbor_reader *r);
/* Map key order: UL_OK when key follows last (or is the first), else the error. */
ul_err ul_cbor_key_order(bool have_last, uint64_t last, uint64_t key);
bool ul_cbor_utf8_valid(const uint8_t *s, size_t n);

/* ---- Writer ------------------------------------------------------------------------------ */

/* Appends into out[0..cap); the first failure sticks in err (UL_E_BUFFER when out is full). */
typedef struct {
    uint8_t *out;
    size_t cap;
    size_t len;
    ul_err err;
} ul_cbor_writer;

void ul_cbor_writer_init(ul_cbor_writer *w, uint8_t *out, size_t cap);
void ul_cbor_put_uint(ul_cbor_writer *w, uint64_t v);
void ul_cbor_put_bytes(ul_cbor_writer *w, const uint8_t *p, size_t n);
void ul_cbor_put_text(ul_cbor_writer *w, ul_span s);
void ul_cbor_put_array(ul_cbor_writer *w, size_t n);
void ul_cbor_put_map(ul_cbor_writer *w, size_t n);
/* A byte string's head only: its n payload bytes are written next (by put_raw or in place). */
void ul_cbor_put_bytes_head(ul_cbor_writer *w, size_t n);
void ul_cbor_put_null(ul_cbor_writer *w);
/* Copies already-canonical bytes verbatim (embedded items). */
void ul_cbor_put_raw(ul_cbor_writer *w, ul_span s);
/* Marks the output invalid with err unless an earlier error is already recorded. */
void ul_cbor_fail(ul_cbor_writer *w, ul_err err);

/* ---- Table-driven records ---------------------------------------------------------------- */

typedef struct ul_field ul_field;

/* A field codec: dec reads the field's value into obj; enc writes it from obj. Both find the
 * member at f->off (generic codecs) or know their record's layout (record-specific ones). */
typedef struct {
    ul_err (*dec)(ul_cbor_reader *r, void *obj, const ul_field *f);
    void (*enc)(ul_cbor_writer *w, const void *obj, const ul_field *f);
} ul_codec;

#define UL_FIELD_REQUIRED SIZE_MAX

struct ul_field {
    uint64_t key;
    const ul_codec *codec;
    size_t off;     /* member offset in the record struct */
    size_t arg;     /* codec parameter: a byte length or a maximum length */
    size_t has_off; /* offset of the bool that says an optional field is present, or
                       UL_FIELD_REQUIRED */
};

/* A record that is a CBOR map. check runs after all fields decoded (cross-field rules). */
typedef struct {
    const ul_field *fields; /* ascending keys, at most 64 fields */
    size_t n_fields;
    size_t obj_size; /* sizeof the record struct, cleared before decoding */
    size_t max_bytes;
    ul_err (*check)(const void *obj);
} ul_record;

ul_err ul_map_decode(ul_cbor_reader *r, const ul_record *rec, void *obj);
void ul_map_encode(ul_cbor_writer *w, const ul_record *rec, const void *obj);
/* Decodes a whole input holding exactly one record. */
ul_err ul_record_decode(const ul_record *rec, void *obj, const uint8_t *in, size_t len);
/* Encodes obj, then decodes the output into tmp (same type as obj) so that only a record the
 * decoder accepts is ever returned. */
/* Returns the writer's error, or UL_OK with *out_len set to the bytes written. */
ul_err ul_record_finish(ul_cbor_writer *w, size_t *out_len);
ul_err ul_record_encode(const ul_record *rec, const void *obj, void *tmp, uint8_t *out, size_t cap,
                        size_t *out_len);

/* Generic codecs (fields.c). arg: byte length for fixed, maximum length for labels. */
extern const ul_codec ul_codec_uint;  /* uint64_t */
extern const ul_codec ul_codec_fixed; /* uint8_t[arg] */
extern const ul_codec ul_codec_label; /* ul_span, 1..UL_MAX_LABEL_LEN printable ASCII */
extern const ul_codec ul_codec_ns;    /* ul_span, a namespace */
/* ul_span over one embedded canonical item that is part of this record (a tx body); arg: its
 * required ul_cbor_type. */
extern const ul_codec ul_codec_inner;
/* Lists of 32-byte values; off: the size_t count, arg: the uint8_t[][32] array.
 * keys: 1..UL_MAX_KEYS strictly ascending; path: 0..UL_MAX_PROOF_DEPTH hashes. */
extern const ul_codec ul_codec_keys;
extern const ul_codec ul_codec_path;
/* Signature lists by validator index; off: the size_t count, arg: the entries' array.
 * sigs: [1*64 [index, sig]] of ul_checkpoint_sig; timed_sigs: [1*64 [index, time, sig]] of
 * ul_commit_sig. Indexes strictly ascending below UL_MAX_VALIDATORS. */
extern const ul_codec ul_codec_sigs;
extern const ul_codec ul_codec_timed_sigs;

/* Label rules shared with list codecs: 1..max printable ASCII bytes. */
ul_err ul_label_check(ul_span s, size_t max);
ul_err ul_ns_decode_check(ul_span s);
ul_err ul_read_label(ul_cbor_reader *r, ul_span *s, size_t max);
/* Writes an array of n text labels (UL_E_LIMIT when n > max). */
void ul_labels_enc(ul_cbor_writer *w, const ul_span *spans, size_t n, size_t max, size_t max_len);
/* Writes a text label, or fails the writer with UL_E_LIMIT when it is longer than max bytes. */
void ul_put_label(ul_cbor_writer *w, ul_span s, size_t max);
ul_err ul_read_ns(ul_cbor_reader *r, ul_span *s);

/* The validator set codec genesis embeds (chain.c). */
ul_err ul_valset_read(ul_cbor_reader *r, ul_valset *s);
void ul_valset_write(ul_cbor_writer *w, const ul_valset *s);

#endif
