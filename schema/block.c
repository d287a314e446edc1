/* Blocks: a header and signed transactions, the one container record. Parts are embedded as
 * their exact canonical bytes, never wrapped in byte strings, so hashes and signatures cover
 * what is on the wire. (Proof bundles are a stream of sections: section.c.)
 */
#include <stddef.h>
#include <string.h>

#include "internal.h"

#define REQ UL_FIELD_REQUIRED
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ---- Block -------------------------------------------------------------------------------- */

/* Both directions of a block: src when encoding; dst[cap] when decoding with store set
 * (without store the decoder only validates, as the encoder's self-check does). */
typedef struct {
    ul_span header;
    const ul_span *src;
    ul_span *dst;
    size_t cap;
    bool store;
    size_t n_txs;
    bool split; /* txs checked only as canonical CBOR maps (ul_schema_block_split) */
} ul_block_ctx;

static ul_err block_header_dec(ul_cbor_reader *r, void *obj, const ul_field *f)
{
    ul_block_ctx *b = obj;
    ul_cbor_type t;
    ul_header h;
    ul_err e = ul_cbor_skip(r, &b->header, &t);
    if (e == UL_OK && t != UL_CBOR_MAP) {
        e = UL_E_CBOR_TYPE;
    }
    if (e == UL_OK) {
        e = ul_schema_header_decode(&h, b->header.ptr, b->header.len);
    }
    return e;
}

static void block_header_enc(ul_cbor_writer *w, const void *obj, const ul_field *f)
{
    ul_cbor_put_raw(w, ((const ul_block_ctx *)obj)->header);
}

static ul_err block_tx_dec(ul_cbor_reader *r, ul_span *s, bool split)
{
    ul_cbor_type t;
    ul_tx tx;
    ul_err e = ul_cbor_skip(r, s, &t);
    if (e == UL_OK && t != UL_CBOR_MAP) {
        e = UL_E_CBOR_TYPE;
    }
    if (e == UL_OK && !split) {
        e = ul_schema_tx_decode(&tx, s->ptr, s->len);
    }
    return e;
}

static ul_err block_txs_dec(ul_cbor_reader *r, void *obj, const ul_field *f)
{
    ul_block_ctx *b = obj;
    size_t n = 0;
    ul_err e = ul_cbor_enter_array(r, 0, UL_MAX_BLOCK_TXS, &n);
    if (e == UL_OK && b->store && n > b->cap) {
        e = UL_E_LIMIT;
    }
    for (size_t i = 0; e == UL_OK && i < n; i++) {
        ul_span s;
        e = block_tx_dec(r, &s, b->split);
        if (e == UL_OK && b->store) {
            b->dst[i] = s;
        }
    }
    if (e == UL_OK) {
        ul_cbor_leave(r);
        b->n_txs = n;
    }
    return e;
}

static void block_txs_enc(ul_cbor_writer *w, const void *obj, const ul_field *f)
{
    const ul_block_ctx *b = obj;
    if (b->n_txs > UL_MAX_BLOCK_TXS) {
        ul_cbor_fail(w, UL_E_LIMIT);
        return;
    }
    ul_cbor_put_array(w, b->n_txs);
    for (size_t i = 0; i < b->n_txs; i++) {
        ul_cbor_put_raw(w, b->src[i]);
    }
}

static const ul_codec codec_block_header = {block_header_dec, block_header_enc};
static const ul_codec codec_block_txs = {block_txs_dec, block_txs_enc};

static const ul_field block_fields[] = {
    {1, &codec_block_header, 0, 0, REQ},
    {2, &codec_block_txs, 0, 0, REQ},
};

static const ul_record rec_block = {block_fields, COUNT(block_fields), sizeof(ul_block_ctx),
                                    UL_MAX_BLOCK_BYTES, NULL};

static ul_err block_run(ul_block_ctx *b, const uint8_t *in, size_t len)
{
    if (in == NULL && len > 0) {
        return UL_E_ARG;
    }
    if (len > UL_MAX_BLOCK_BYTES) {
        return UL_E_LIMIT;
    }
    ul_cbor_reader r;
    ul_cbor_reader_init(&r, in, len, 0);
    ul_err e = ul_map_decode(&r, &rec_block, b);
    return e != UL_OK ? e : ul_cbor_done(&r);
}

ul_err ul_schema_block_header(ul_span *header, const uint8_t *in, size_t len)
{
    if (header == NULL) {
        return UL_E_ARG;
    }
    *header = (ul_span){NULL, 0};
    if (in == NULL && len > 0) {
        return UL_E_ARG;
    }
    if (len > UL_MAX_BLOCK_BYTES) {
        return UL_E_LIMIT;
    }
    ul_cbor_reader r;
    ul_cbor_type t;
    ul_header h;
    size_t n;
    uint64_t key;
    ul_cbor_reader_init(&r, in, len, 0);
    ul_err e = ul_cbor_enter_map(&r, &n);
    if (e == UL_OK && n != COUNT(block_fields)) {
        e = UL_E_SCHEMA_FIELD; /* a block has its header and its txs, nothing else */
    }
    if (e == UL_OK && (e = ul_cbor_read_uint(&r, &key)) == UL_OK && key != 1) {
        e = UL_E_SCHEMA_FIELD;
    }
    if (e == UL_OK && (e = ul_cbor_skip(&r, header, &t)) == UL_OK && t != UL_CBOR_MAP) {
        e = UL_E_CBOR_TYPE;
    }
    if (e == UL_OK) {
        e = ul_schema_header_decode(&h, header->ptr, header->len);
    }
    if (e != UL_OK) {
        *header = (ul_span){NULL, 0};
    }
    return e;
}

ul_err ul_schema_block_encode(uint8_t *out, size_t cap, size_t *out_len, ul_span header,
                              const ul_span *txs, size_t n_txs)
{
    if (out_len == NULL || (txs == NULL && n_txs > 0)) {
        return UL_E_ARG;
    }
    ul_block_ctx b = {header, txs, NULL, 0, false, n_txs, false};
    ul_cbor_writer w;
    ul_cbor_writer_init(&w, out, cap);
    ul_map_encode(&w, &rec_block, &b);
    ul_err e = ul_record_finish(&w, out_len);
    if (e == UL_OK) {
        ul_block_ctx check = {{NULL, 0}, NULL, NULL, 0, false, 0, false};
        e = block_run(&check, out, w.len);
    }
    if (e != UL_OK) {
        *out_len = 0;
    }
    return e;
}

static ul_err block_decode(ul_block *out, ul_span *txs, size_t cap, const uint8_t *in, size_t len,
                           bool split)
{
    if (out == NULL || (txs == NULL && cap > 0)) {
        return UL_E_ARG;
    }
    memset(out, 0, sizeof *out);
    out->txs = txs;
    ul_block_ctx b = {{NULL, 0}, NULL, txs, cap, true, 0, split};
    ul_err e = block_run(&b, in, len);
    if (e == UL_OK) {
        out->header = b.header;
        out->n_txs = b.n_txs;
    }
    return e;
}

ul_err ul_schema_block_decode(ul_block *out, ul_span *txs, size_t cap, const uint8_t *in,
                              size_t len)
{
    return block_decode(out, txs, cap, in, len, false);
}

ul_err ul_schema_block_split(ul_block *out, ul_span *txs, size_t cap, const uint8_t *in, size_t len)
{
    return block_decode(out, txs, cap, in, len, true);
}
