/* Proof bundles (version 2) from the node, and their verification with the device library as a
 * new device of one hardware class would run it: the CLI judges a bundle by the very code that
 * devices run (export, query proof, provenance, verify). */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

ul_err ul_cli_genesis(ul_cli *cli, uint8_t **buf, ul_span *genesis)
{
    ul_msg q, r;
    ul_q_genesis_reply g;
    ul_q_genesis_req(&q);
    ul_err e = ul_cli_call(cli, &q, &r, buf);
    if (e == UL_OK && (e = ul_q_genesis_reply_read(&r, &g)) == UL_OK) {
        *genesis = g.genesis;
    }
    return e;
}

ul_err ul_cli_record(ul_cli *cli, const uint8_t id[UL_HASH_BYTES], uint8_t **buf, ul_span *tx,
                     ul_release *rel)
{
    ul_msg q, r;
    ul_tx t;
    ul_q_release_reply rr;
    ul_q_release_req(&q, id);
    ul_err e = ul_cli_call(cli, &q, &r, buf);
    if (e == UL_OK && (e = ul_q_release_reply_read(&r, &rr)) == UL_OK &&
        (*tx = rr.tx, ul_schema_tx_decode(&t, tx->ptr, tx->len) != UL_OK ||
                          t.kind != UL_TX_PUBLISH ||
                          ul_schema_release_decode(rel, t.body.ptr, t.body.len) != UL_OK)) {
        e = UL_E_CORRUPT; /* the node's own committed record does not decode */
    }
    return e;
}

ul_err ul_cli_bundle(ul_cli *cli, const uint8_t id[UL_HASH_BYTES], ul_span hw, uint64_t h,
                     uint8_t **buf, ul_span *bundle)
{
    ul_msg q, r;
    ul_q_bundle_reply br;
    ul_q_bundle_req(&q, id, h, hw);
    ul_err e = ul_cli_call(cli, &q, &r, buf);
    if (e == UL_OK && (e = ul_q_bundle_reply_read(&r, &br)) == UL_OK &&
        (*bundle = br.bundle).len > UL_MAX_BUNDLE_BYTES) {
        e = UL_E_LIMIT; /* what a device or mirror would refuse */
    }
    return e;
}

/* What a bundle says, read from its sections. Only called after the verifier returned a
 * release-level verdict: every signature and proof held, so the last header here is the one the
 * verifier checked; ul_client_bundle_final fills *info only on UL_OK. */
static void bundle_facts(const uint8_t *b, size_t len, ul_release_info *info)
{
    static ul_section s;
    static ul_release rel;
    static ul_header h;
    size_t off = 0, head;
    uint64_t body;
    while (off < len && ul_schema_section_frame(b + off, len - off, &head, &body) == UL_OK &&
           body <= len - off - head &&
           ul_schema_section_decode(&s, b + off + head, (size_t)body) == UL_OK) {
        if (s.type == UL_SEC_BEGIN) {
            info->steps = s.u.begin.n_steps;
        } else if ((s.type == UL_SEC_HEADER || s.type == UL_SEC_CHECKPOINT) &&
                   ul_schema_header_decode(&h, s.u.header.header.ptr, s.u.header.header.len) ==
                       UL_OK) {
            info->height = h.height;
            info->header_time_ms = h.time_ms;
            info->checkpoint_time_ms = s.u.header.time_ms; /* 0 for a HEADER */
            ul_client_sha256(info->header_hash, s.u.header.header.ptr, s.u.header.header.len);
        } else if (s.type == UL_SEC_LEAF &&
                   ul_schema_release_decode(&rel, s.u.leaf.body.ptr, s.u.leaf.body.len) == UL_OK) {
            ul_client_sha256(info->id, s.u.leaf.body.ptr, s.u.leaf.body.len);
            info->seq = rel.seq;
            info->kind = rel.kind;
            info->time = rel.time;
            info->size = rel.size;
            memcpy(info->digest, rel.digest, UL_HASH_BYTES);
            info->encrypted = rel.has_enc;
            info->version_len = rel.version.len;
            memcpy(info->version, rel.version.ptr, rel.version.len);
        } else if (s.type == UL_SEC_INCLUSION) {
            info->log_index = s.u.inclusion.index;
        }
        off += head + (size_t)body;
    }
}

ul_err ul_cli_bundle_check(ul_span genesis, ul_span hw, ul_span ns, const uint8_t *bundle,
                           size_t len, ul_release_info *info)
{
    static ul_device_state st;
    static ul_update u;
    memset(info, 0, sizeof *info);
    ul_err e = ul_client_device_init(&st, genesis.ptr, genesis.len, hw.ptr, hw.len);
    if (e == UL_OK) {
        e = ul_client_bundle_verify(&u, info, &st, ns.ptr, ns.len, bundle, len);
    }
    ul_client_update_abort(&u);
    if (e != UL_OK && ul_cli_proofs_held(e)) {
        bundle_facts(bundle, len, info);
    }
    return e;
}

bool ul_cli_proofs_held(ul_err verdict)
{
    /* bundle_final reports these only after every signature and proof checked: they are about
     * the release and the device (ul_client.h), not about the bundle's authenticity. */
    switch (verdict) {
    case UL_OK:
    case UL_E_NAMESPACE:
    case UL_E_HW_MISMATCH:
    case UL_E_REVOKED:
    case UL_E_NOT_INSTALLABLE:
    case UL_E_ROLLBACK:
    case UL_E_DEPENDENCY:
        return true;
    default:
        return false;
    }
}
