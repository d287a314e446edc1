/* Consensus and proof records: validator sets, genesis, headers, votes, commits, blocks,
 * Merkle proofs and proof bundles. Blocks and bundles embed other records verbatim.
 */
#include <stddef.h>
#include <string.h>

#include "internal.h"

#define REQ UL_FIELD_REQUIRED
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ---- Validator set: [+ [key, power]] ------------------------------------------------------ */

/* Reads one [key, power] and adds its power to *total (bounded by UL_MAX_TOTAL_POWER). */
static ul_err validator_read(ul_cbor_reader *r, ul_validator *v, uint64_t *total)
{
    ul_err e = ul_cbor_enter_tuple(r, 2);
    if (e == UL_OK) {
        e = ul_cbor_read_fixed(r, v->pubkey, UL_PUBKEY_BYTES);
    }
    if (e == UL_OK) {
        e = ul_cbor_read_uint(r, &v->power);
    }
    if (e != UL_OK) {
        return e;
    }
    ul_cbor_leave(r);
    if (v->power < 1) {
        return UL_E_SCHEMA_FIELD;
    }
    /* Both terms are at most 2^60 here, so the sum cannot wrap. */
    if (v->power > UL_MAX_TOTAL_POWER || *total + v->power > UL_MAX_TOTAL_POWER) {
        return UL_E_LIMIT;
    }
    *total += v->power;
    return UL_OK;
}

/* Reads a whole set; with s NULL it only checks, one validator at a time (a genesis scan keeps
 * no set in memory). */
static ul_err valset_walk(ul_cbor_reader *r, ul_valset *s)
{
    uint64_t total = 0;
    size_t n = 0;
    ul_validator cur;
    ul_validator prev;
    ul_err e = ul_cbor_enter_array(r, 1, UL_MAX_VALIDATORS, &n);
    memset(&prev, 0, sizeof prev);
    if (e == UL_OK && s) {
        s->n = n;
    }
    for (size_t i = 0; e == UL_OK && i < n; i++) {
        ul_validator *v = s ? &s->v[i] : &cur;
        e = validator_read(r, v, &total);
        if (e == UL_OK && i > 0 && memcmp(prev.pubkey, v->pubkey, UL_PUBKEY_BYTES) >= 0) {
            e = UL_E_SCHEMA_FIELD; /* unsorted or duplicated validator */
        }
        prev = *v;
    }
    if (e == UL_OK) {
        ul_cbor_leave(r);
    }
    return e;
}

ul_err ul_valset_read(ul_cbor_reader *r, ul_valset *s)
{
    return valset_walk(r, s);
}

/* The validator-set pieces: one encoding for whole sets and for streaming hashes. */
static void valset_head_write(ul_cbor_writer *w, size_t n)
{
    if (n > UL_MAX_VALIDATORS) {
        ul_cbor_fail(w, UL_E_LIMIT);
        return;
    }
    ul_cbor_put_array(w, n);
}

static void validator_write(ul_cbor_writer *w, const ul_validator *v)
{
    ul_cbor_put_array(w, 2);
    ul_cbor_put_bytes(w, v->pubkey, UL_PUBKEY_BYTES);
    ul_cbor_put_uint(w, v->power);
}

void ul_valset_write(ul_cbor_writer *w, const ul_valset *s)
{
    valset_head_write(w, s->n);
    for (size_t i = 0; w->err == UL_OK && i < s->n; i++) {
        validator_write(w, &s->v[i]);
    }
}

ul_err ul_schema_valset_head_encode(uint8_t *out, size_t cap, size_t *out_len, size_t n)
{
    ul_cbor_writer w;
    if (n == 0) {
        if (out_len) {
            *out_len = 0;
        }
        return UL_E_SCHEMA_FIELD;
    }
    ul_cbor_writer_init(&w, out, cap);
    valset_head_write(&w, n);
    return ul_record_finish(&w, out_len);
}

ul_err ul_schema_validator_encode(uint8_t *out, size_t cap, size_t *out_len, const ul_validator *v)
{
    ul_cbor_writer w;
    if (v == NULL || v->power < 1 || v->power > UL_MAX_TOTAL_POWER) {
        if (out_len) {
            *out_len = 0;
        }
        return v == NULL ? UL_E_ARG : v->power < 1 ? UL_E_SCHEMA_FIELD : UL_E_LIMIT;
    }
    ul_cbor_writer_init(&w, out, cap);
    validator_write(&w, v);
    return ul_record_finish(&w, out_len);
}

ul_err ul_schema_valset_encode(uint8_t *out, size_t cap, size_t *out_len, const ul_valset *s)
{
    if (s == NULL || out_len == NULL) {
        return UL_E_ARG;
    }
    ul_valset tmp;
    ul_cbor_writer w;
    ul_cbor_writer_init(&w, out, cap);
    ul_valset_write(&w, s);
    ul_err e = ul_record_finish(&w, out_len);
    if (e == UL_OK) {
        e = ul_schema_valset_decode(&tmp, out, w.len);
    }
    if (e != UL_OK) {
        *out_len = 0;
    }
    return e;
}

ul_err ul_schema_valset_decode(ul_valset *out, const uint8_t *in, size_t len)
{
    if (out == NULL || (in == NULL && len > 0)) {
        return UL_E_ARG;
    }
    memset(out, 0, sizeof *out);
    if (len > UL_MAX_VALSET_BYTES) {
        return UL_E_LIMIT;
    }
    ul_cbor_reader r;
    ul_cbor_reader_init(&r, in, len, 0);
    ul_err e = ul_valset_read(&r, out);
    return e != UL_OK ? e : ul_cbor_done(&r);
}

/* ---- Genesis ------------------------------------------------------------------------------ */

static ul_err valset_dec(ul_cbor_reader *r, void *obj, const ul_field *f)
{
    return ul_valset_read(r, (ul_valset *)((char *)obj + f->off));
}

static void valset_enc(ul_cbor_writer *w, const void *obj, const ul_field *f)
{
    ul_valset_write(w, (const ul_valset *)((const char *)obj + f->off));
}

static const ul_codec codec_valset = {valset_dec, valset_enc};

static ul_err genesis_check(const void *obj)
{
    return ((const ul_genesis *)obj)->version == UL_SCHEMA_VERSION ? UL_OK : UL_E_VERSION;
}

static const ul_field genesis_fields[] = {
    {1, &ul_codec_uint, offsetof(ul_genesis, version), 0, REQ},
    {2, &ul_codec_label, offsetof(ul_genesis, name), 0, REQ},
    {3, &ul_codec_uint, offsetof(ul_genesis, time_ms), 0, REQ},
    {4, &codec_valset, offsetof(ul_genesis, validators), 0, REQ},
};

/* No limit of its own: every field is bounded (a label, two uints, a validator set). */
static const ul_record rec_genesis = {genesis_fields, COUNT(genesis_fields), sizeof(ul_genesis),
                                      SIZE_MAX, genesis_check};

ul_err ul_schema_genesis_encode(uint8_t *out, size_t cap, size_t *out_len, const ul_genesis *g)
{
    ul_genesis tmp;
    return ul_record_encode(&rec_genesis, g, &tmp, out, cap, out_len);
}

ul_err ul_schema_genesis_decode(ul_genesis *out, const uint8_t *in, size_t len)
{
    return ul_record_decode(&rec_genesis, out, in, len);
}

/* The same genesis fields with the set checked and kept as a span (ul_schema_genesis_validators):
 * a device learns its trusted set's hash without a ul_valset in memory. */
typedef struct {
    uint64_t version;
    ul_span name;
    uint64_t time_ms;
    ul_span validators;
} ul_genesis_scan;

static ul_err valset_scan_dec(ul_cbor_reader *r, void *obj, const ul_field *f)
{
    ul_span *s = (ul_span *)((char *)obj + f->off);
    size_t start = r->pos;
    ul_err e = valset_walk(r, NULL);
    *s = (ul_span){r->in + start, r->pos - start};
    return e;
}

static const ul_codec codec_valset_scan = {valset_scan_dec, NULL};

static ul_err genesis_scan_check(const void *obj)
{
    return ((const ul_genesis_scan *)obj)->version == UL_SCHEMA_VERSION ? UL_OK : UL_E_VERSION;
}

static const ul_field genesis_scan_fields[] = {
    {1, &ul_codec_uint, offsetof(ul_genesis_scan, version), 0, REQ},
    {2, &ul_codec_label, offsetof(ul_genesis_scan, name), 0, REQ},
    {3, &ul_codec_uint, offsetof(ul_genesis_scan, time_ms), 0, REQ},
    {4, &codec_valset_scan, offsetof(ul_genesis_scan, validators), 0, REQ},
};

static const ul_record rec_genesis_scan = {genesis_scan_fields, COUNT(genesis_scan_fields),
                                           sizeof(ul_genesis_scan), SIZE_MAX, genesis_scan_check};

ul_err ul_schema_genesis_validators(ul_span *validators, const uint8_t *in, size_t len)
{
    ul_genesis_scan g;
    if (validators == NULL) {
        return UL_E_ARG;
    }
    ul_err e = ul_record_decode(&rec_genesis_scan, &g, in, len);
    *validators = e == UL_OK ? g.validators : (ul_span){NULL, 0};
    return e;
}

/* ---- Block header ------------------------------------------------------------------------- */

static ul_err header_check(const void *obj)
{
    const ul_header *h = obj;
    if (h->version != UL_SCHEMA_VERSION) {
        return UL_E_VERSION;
    }
    return h->height >= 1 ? UL_OK : UL_E_SCHEMA_FIELD;
}

#define HASH_FIELD(k, m)                                                                           \
    {                                                                                              \
        k, &ul_codec_fixed, offsetof(ul_header, m), UL_HASH_BYTES, REQ                             \
    }

static const ul_field header_fields[] = {
    {1, &ul_codec_uint, offsetof(ul_header, version), 0, REQ},
    HASH_FIELD(2, chain_id),
    {3, &ul_codec_uint, offsetof(ul_header, height), 0, REQ},
    {4, &ul_codec_uint, offsetof(ul_header, time_ms), 0, REQ},
    HASH_FIELD(5, prev),
    HASH_FIELD(6, tx_root),
    HASH_FIELD(7, log_root),
    {8, &ul_codec_uint, offsetof(ul_header, log_size), 0, REQ},
    HASH_FIELD(9, state_root),
    HASH_FIELD(10, validators_hash),
    HASH_FIELD(11, next_validators_hash),
    HASH_FIELD(12, proposer),
};

static const ul_record rec_header = {header_fields, COUNT(header_fields), sizeof(ul_header),
                                     UL_MAX_HEADER_BYTES, header_check};

ul_err ul_schema_header_encode(uint8_t *out, size_t cap, size_t *out_len, const ul_header *h)
{
    ul_header tmp;
    return ul_record_encode(&rec_header, h, &tmp, out, cap, out_len);
}

ul_err ul_schema_header_decode(ul_header *out, const uint8_t *in, size_t len)
{
    return ul_record_decode(&rec_header, out, in, len);
}

/* ---- Vote --------------------------------------------------------------------------------- */

static ul_err vote_check(const void *obj)
{
    uint64_t t = ((const ul_vote *)obj)->type;
    return (t == UL_VOTE_PREVOTE || t == UL_VOTE_PRECOMMIT) ? UL_OK : UL_E_SCHEMA_FIELD;
}

static const ul_field vote_fields[] = {
    {1, &ul_codec_uint, offsetof(ul_vote, type), 0, REQ},
    {2, &ul_codec_uint, offsetof(ul_vote, height), 0, REQ},
    {3, &ul_codec_uint, offsetof(ul_vote, round), 0, REQ},
    {4, &ul_codec_fixed, offsetof(ul_vote, block_hash), UL_HASH_BYTES, REQ},
    {5, &ul_codec_uint, offsetof(ul_vote, time_ms), 0, REQ},
};

static const ul_record rec_vote = {vote_fields, COUNT(vote_fields), sizeof(ul_vote), SIZE_MAX,
                                   vote_check};

ul_err ul_schema_vote_encode(uint8_t *out, size_t cap, size_t *out_len, const ul_vote *v)
{
    ul_vote tmp;
    return ul_record_encode(&rec_vote, v, &tmp, out, cap, out_len);
}

ul_err ul_schema_vote_decode(ul_vote *out, const uint8_t *in, size_t len)
{
    return ul_record_decode(&rec_vote, out, in, len);
}

/* ---- Commit: sigs [+ [index, time, sig]] -------------------------------------------------- */

static const ul_field commit_fields[] = {
    {1, &ul_codec_uint, offsetof(ul_commit, height), 0, REQ},
    {2, &ul_codec_uint, offsetof(ul_commit, round), 0, REQ},
    {3, &ul_codec_fixed, offsetof(ul_commit, block_hash), UL_HASH_BYTES, REQ},
    {4, &ul_codec_timed_sigs, offsetof(ul_commit, n_sigs), offsetof(ul_commit, sigs), REQ},
};

static const ul_record rec_commit = {commit_fields, COUNT(commit_fields), sizeof(ul_commit),
                                     UL_MAX_COMMIT_BYTES, NULL};

ul_err ul_schema_commit_encode(uint8_t *out, size_t cap, size_t *out_len, const ul_commit *c)
{
    ul_commit tmp;
    return ul_record_encode(&rec_commit, c, &tmp, out, cap, out_len);
}

ul_err ul_schema_commit_decode(ul_commit *out, const uint8_t *in, size_t len)
{
    return ul_record_decode(&rec_commit, out, in, len);
}

/* ---- Merkle proofs ------------------------------------------------------------------------ */

static ul_err inclusion_check(const void *obj)
{
    const ul_inclusion *p = obj;
    return p->index < p->size ? UL_OK : UL_E_SCHEMA_FIELD;
}

static const ul_field inclusion_fields[] = {
    {1, &ul_codec_uint, offsetof(ul_inclusion, index), 0, REQ},
    {2, &ul_codec_uint, offsetof(ul_inclusion, size), 0, REQ},
    {3, &ul_codec_path, offsetof(ul_inclusion, n_path), offsetof(ul_inclusion, path), REQ},
};

/* Bounded by its fields: two uints and at most UL_MAX_PROOF_DEPTH hashes. */
static const ul_record rec_inclusion = {inclusion_fields, COUNT(inclusion_fields),
                                        sizeof(ul_inclusion), SIZE_MAX, inclusion_check};

ul_err ul_schema_inclusion_encode(uint8_t *out, size_t cap, size_t *out_len, const ul_inclusion *p)
{
    ul_inclusion tmp;
    return ul_record_encode(&rec_inclusion, p, &tmp, out, cap, out_len);
}

ul_err ul_schema_inclusion_decode(ul_inclusion *out, const uint8_t *in, size_t len)
{
    return ul_record_decode(&rec_inclusion, out, in, len);
}

static ul_err consistency_check(const void *obj)
{
    const ul_consistency *p = obj;
    return p->size1 <= p->size2 ? UL_OK : UL_E_SCHEMA_FIELD;
}

static const ul_field consistency_fields[] = {
    {1, &ul_codec_uint, offsetof(ul_consistency, size1), 0, REQ},
    {2, &ul_codec_uint, offsetof(ul_consistency, size2), 0, REQ},
    {3, &ul_codec_path, offsetof(ul_consistency, n_path), offsetof(ul_consistency, path), REQ},
};

static const ul_record rec_consistency = {consistency_fields, COUNT(consistency_fields),
                                          sizeof(ul_consistency), SIZE_MAX, consistency_check};

ul_err ul_schema_consistency_encode(uint8_t *out, size_t cap, size_t *out_len,
                                    const ul_consistency *p)
{
    ul_consistency tmp;
    return ul_record_encode(&rec_consistency, p, &tmp, out, cap, out_len);
}

ul_err ul_schema_consistency_decode(ul_consistency *out, const uint8_t *in, size_t len)
{
    return ul_record_decode(&rec_consistency, out, in, len);
}
