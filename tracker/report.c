/* Reports in and answers out: the signed device report (schema/ul_schema.h ul_report, verified
 * by libupclient's ul_client_report_verify) to the store's ul_treport, and the signed reply
 * (ul_report_reply) that tells the device whether to update and to what. */
#include <stdlib.h>
#include <string.h>

#include "../client/ul_client.h"
#include "internal.h"

size_t ul_treport_max_bytes(void)
{
    return UL_MAX_REPORT_BYTES;
}

static void copy_label(char *out, const uint8_t *p, size_t n)
{
    memcpy(out, p, n);
    out[n] = 0;
}

/* Labels are kept as C strings: one holding a NUL byte would read back as another label. */
static bool has_nul(const uint8_t *p, size_t n)
{
    return memchr(p, 0, n) != NULL;
}

static ul_err convert(const ul_report *in, ul_treport *out)
{
    memset(out, 0, sizeof(*out));
    if (has_nul(in->hw, in->hw_len)) {
        return UL_E_SCHEMA_FIELD;
    }
    memcpy(out->device, in->device, UL_PUBKEY_BYTES);
    out->counter = in->counter;
    out->time_ms = in->time * 1000;
    copy_label(out->hw, in->hw, in->hw_len);
    out->head_height = in->height;
    memcpy(out->head_hash, in->header_hash, UL_HASH_BYTES);
    out->n_comp = in->n_components;
    for (size_t i = 0; i < in->n_components; i++) {
        const ul_report_component *c = &in->comp[i];
        ul_tcomponent *t = &out->comp[i];
        if (has_nul(c->ns, c->ns_len)) {
            return UL_E_SCHEMA_FIELD;
        }
        copy_label(t->ns, c->ns, c->ns_len);
        memcpy(t->release_id, c->release_id, UL_HASH_BYTES);
        t->seq = c->seq;
        t->slot = (ul_tslot)c->state;
        t->failed = c->has_attempt && c->attempt_result != UL_OK;
        if (c->has_attempt && (!out->has_attempt || c->attempt_time * 1000 >= out->attempt_ms)) {
            out->has_attempt = true;
            memcpy(out->attempt_id, c->attempt_id, UL_HASH_BYTES);
            out->attempt_err = c->attempt_result;
            out->attempt_ms = c->attempt_time * 1000;
        }
    }
    return UL_OK;
}

ul_err ul_treport_verify(const ul_tident *id, const uint8_t *in, size_t len, ul_treport *out)
{
    ul_report r;
    if (len > UL_MAX_REPORT_BYTES) {
        return UL_E_LIMIT;
    }
    ul_err e = ul_client_report_verify(&r, in, len, id->chain_id);
    if (e == UL_OK && memcmp(r.tracker, id->tracker, UL_PUBKEY_BYTES) != 0) {
        e = UL_E_TRACKER;
    }
    return e == UL_OK ? convert(&r, out) : e;
}

ul_err ul_tsign_record(const ul_tident *id, ul_domain d, uint8_t *rec, size_t len)
{
    /* What is signed: the map head with one entry less, then every entry but the last (key,
     * bytes(64) head of 2, signature: 67 bytes) — ul_client_record_digest's input. */
    size_t mlen = len - UL_SIG_BYTES - 3;
    uint8_t *msg = len >= UL_SIG_BYTES + 4 ? malloc(mlen) : NULL;
    if (!msg) {
        return len >= UL_SIG_BYTES + 4 ? UL_E_NOMEM : UL_E_INTERNAL;
    }
    memcpy(msg, rec, mlen);
    msg[0]--;
    ul_err e = ul_key_sign(id->key, rec + len - UL_SIG_BYTES, d, id->chain_id, msg, mlen);
    free(msg);
    return e;
}

ul_err ul_treport_answer(const ul_tident *id, const ul_treport *r, const ul_tadvice *a,
                         uint8_t *out, size_t cap, size_t *len)
{
    ul_report_reply rep = {.counter = r->counter, .update = a->update};
    memcpy(rep.device, r->device, UL_PUBKEY_BYTES);
    if (a->update) {
        rep.has_ns = rep.has_release_id = true;
        rep.ns_len = strlen(a->ns);
        memcpy(rep.ns, a->ns, rep.ns_len);
        memcpy(rep.release_id, a->release_id, UL_HASH_BYTES);
    }
    ul_err e = ul_schema_reply_encode(out, cap, len, &rep);
    return e == UL_OK ? ul_tsign_record(id, UL_DOMAIN_REPLY, out, *len) : e;
}
