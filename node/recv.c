/* upledgerd's consensus messages in: proposals, votes, gossiped transactions and status from
 * the peer transport (ul_node_io), checked and fed to the driver; those for the next height are
 * kept (bounded) and replayed once it starts. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static bool is_zero(const uint8_t *h)
{
    static const uint8_t zero[UL_HASH_BYTES];
    return memcmp(h, zero, UL_HASH_BYTES) == 0;
}

static void keep_future(ul_node *n, uint32_t kind, const uint8_t from[UL_PUBKEY_BYTES],
                        const uint8_t *p, size_t len, const ul_span *attach)
{
    ul_cons *s = C(n);
    size_t alen = attach ? attach->len : 0;
    if (s->n_future == UL_MAX_FUTURE_MSGS || s->future_bytes + len + alen > UL_MAX_FUTURE_BYTES) {
        s->want_sync = true; /* far behind, or flooded: fetch blocks instead */
        return;
    }
    future_msg *f = &s->future[s->n_future];
    if (!(f->payload = malloc(len + alen ? len + alen : 1))) {
        return;
    }
    if (len) {
        memcpy(f->payload, p, len);
    }
    if (alen) {
        memcpy(f->payload + len, attach->ptr, alen);
    }
    f->len = len;
    f->alen = alen;
    f->has_attach = attach != NULL;
    f->kind = kind;
    memcpy(f->from, from, UL_PUBKEY_BYTES);
    s->n_future++;
    s->future_bytes += len + alen;
}

/* A vote from any peer (maybe relayed): its own signature decides who cast it. */
static void on_vote(ul_node *n, const uint8_t from[UL_PUBKEY_BYTES], const uint8_t *p, size_t len)
{
    ul_cons *s = C(n);
    ul_msg m;
    ul_span pub, vb, sig;
    ul_vote v;
    if (ul_msg_decode(&m, p, len) != UL_OK || ul_msg_get_bytes(&m, 1, &pub) != UL_OK ||
        ul_msg_get_bytes(&m, 2, &vb) != UL_OK || ul_msg_get_bytes(&m, 3, &sig) != UL_OK ||
        pub.len != UL_PUBKEY_BYTES || sig.len != UL_SIG_BYTES || vb.len > UL_MAX_VOTE_BYTES ||
        ul_schema_vote_decode(&v, vb.ptr, vb.len) != UL_OK || v.round > UL_BFT_MAX_ROUND) {
        return;
    }
    uint64_t h = ul_cons_next_height(n);
    if (v.height < h) {
        return;
    }
    if (v.height > h || !s->started) {
        if (v.height == h || v.height == h + 1) {
            keep_future(n, UL_PEER_VOTE, from, p, len, NULL);
        } else {
            s->want_sync = true;
        }
        return;
    }
    int32_t idx = ul_cons_set_index(&s->set, pub.ptr);
    if (idx < 0 || ul_held_vote_find(s->held, (uint32_t)v.round, (uint32_t)v.type, (uint32_t)idx,
                                     v.block_hash)) {
        return; /* not a validator of this height, or already held (re-sends are frequent) */
    }
    if (ul_sig_verify(sig.ptr, UL_DOMAIN_VOTE, ul_chain_id(n->chain), vb.ptr, vb.len, pub.ptr) !=
        UL_OK) {
        return;
    }
    if (!ul_held_vote_add(s->held, &v, (uint32_t)idx, vb.ptr, vb.len, sig.ptr)) {
        return;
    }
    ul_err e = ul_bft_on_vote(&s->bft, &s->acts, (uint32_t)idx, (uint32_t)v.type, v.height,
                              (uint32_t)v.round, is_zero(v.block_hash) ? NULL : v.block_hash);
    if (e == UL_OK) {
        ul_cons_drain(n);
    }
}

static void on_proposal(ul_node *n, const uint8_t from[UL_PUBKEY_BYTES], const uint8_t *p,
                        size_t len, const ul_span *attach)
{
    ul_cons *s = C(n);
    ul_msg m;
    uint64_t height, round, vr = 0;
    ul_span signed_header, block, lc = {NULL, 0};
    if (!attach || ul_msg_decode(&m, p, len) != UL_OK || ul_msg_get_uint(&m, 1, &height) != UL_OK ||
        ul_msg_get_uint(&m, 2, &round) != UL_OK ||
        ul_msg_get_bytes(&m, 4, &signed_header) != UL_OK || round > UL_BFT_MAX_ROUND) {
        return;
    }
    block = *attach;
    bool has_vr = ul_msg_get_uint(&m, 3, &vr) == UL_OK;
    if ((has_vr && vr >= round) || (ul_msg_get_bytes(&m, 5, &lc) != UL_OK && height > 1)) {
        return;
    }
    uint64_t h = ul_cons_next_height(n);
    if (height < h) {
        return;
    }
    if (height > h || !s->started) {
        if (height == h || height == h + 1) {
            keep_future(n, UL_PEER_PROPOSAL, from, p, len, attach);
        } else {
            s->want_sync = true;
        }
        return;
    }
    int32_t idx = ul_cons_set_index(&s->set, from);
    if (idx < 0 || ul_bft_proposer(&s->bft, (uint32_t)round) != (uint32_t)idx) {
        return; /* only the round's proposer proposes */
    }
    ul_held_prop *again = ul_held_prop_find(s->held, NULL, (int64_t)round);
    if (again && again->blen == block.len && memcmp(again->block, block.ptr, block.len) == 0) {
        return; /* a re-send of what we hold: no need to decode megabytes again */
    }
    /* The signed header names the block; the attached block must carry that header, and its
     * txs must make the header's tx root (prepare_prop checks before executing any). */
    uint8_t hash[UL_HASH_BYTES];
    ul_span header;
    ul_err e = ul_schema_block_header(&header, block.ptr, block.len);
    if (e != UL_OK || header.len != signed_header.len ||
        memcmp(header.ptr, signed_header.ptr, header.len) != 0) {
        return;
    }
    ul_client_sha256(hash, header.ptr, header.len);
    ul_held_prop *same = ul_held_prop_find(s->held, hash, (int64_t)round);
    if (same || ul_held_prop_find(s->held, NULL, (int64_t)round)) {
        if (!same) { /* a second block for one round: the core reports it */
            ul_cons_feed_proposal(n, (uint32_t)idx, (uint32_t)round, hash,
                                  has_vr ? (int32_t)vr : -1, false);
        }
        return;
    }
    ul_held_prop *hp =
        ul_held_prop_add(s->held, (uint32_t)round, has_vr ? (int32_t)vr : -1, hash, block, lc);
    if (!hp) {
        return;
    }
    e = ul_cons_prepare_prop(n, hp);
    if (e == UL_E_TX_ROOT) { /* not the proposer's block: someone swapped the attachment */
        ul_held_prop_drop(s->held, hp);
        return;
    }
    if (e != UL_OK) {
        ul_node_log("proposal for block %llu round %llu from validator %d refused: %s (%s)",
                    (unsigned long long)height, (unsigned long long)round, idx, ul_err_str(e),
                    ul_err_name(e));
    }
    ul_cons_feed_proposal(n, (uint32_t)idx, (uint32_t)round, hash, has_vr ? (int32_t)vr : -1,
                          e == UL_OK);
}

/* A validator's head: a claim, which steers block sync only while the claimer serves it
 * (p2p/claims.c); ul_cons_step decides whether we are behind. */
static void on_status(ul_node *n, const uint8_t from[UL_PUBKEY_BYTES], const uint8_t *p, size_t len)
{
    ul_msg m;
    uint64_t h;
    int32_t idx = ul_cons_set_index(&C(n)->set, from);
    if (idx >= 0 && ul_msg_decode(&m, p, len) == UL_OK && ul_msg_get_uint(&m, 1, &h) == UL_OK) {
        ul_claims_hear(&C(n)->claims, (size_t)idx, h, ul_cons_now(n));
    }
}

void ul_cons_handle_payload(ul_node *n, uint32_t kind, const uint8_t from[UL_PUBKEY_BYTES],
                            const uint8_t *p, size_t len, const ul_span *attach)
{
    switch (kind) {
    case UL_PEER_PROPOSAL:
        on_proposal(n, from, p, len, attach);
        break;
    case UL_PEER_VOTE:
        on_vote(n, from, p, len);
        break;
    case UL_PEER_TXS:
        ul_gossip_on_txs(n, p, len, attach);
        break;
    case UL_PEER_STATUS:
        on_status(n, from, p, len);
        break;
    case UL_PEER_CHECKPOINT:
        ul_ckpt_on_peer(C(n)->ckpt, n->chain, from, p, len, ul_cons_now(n));
        break;
    default:
        break;
    }
}

void ul_cons_on_peer(ul_node *n)
{
    ul_cons *s = C(n);
    uint64_t until = ul_cons_now(n) + UL_NODE_TURN_MS;
    for (int i = 0; s->peer && i < UL_PEER_RECV_BATCH && ul_cons_now(n) < until; i++) {
        uint32_t kind;
        uint8_t from[UL_PUBKEY_BYTES];
        ul_span payload, attach;
        bool has;
        if (n->io->peer_recv(n->io->ctx, &kind, from, &payload, &attach, &has) != UL_OK) {
            break;
        }
        ul_cons_handle_payload(n, kind, from, payload.ptr, payload.len, has ? &attach : NULL);
    }
}

void ul_recv_replay_future(ul_node *n)
{
    ul_cons *s = C(n);
    size_t nf = s->n_future;
    future_msg *f = malloc((nf ? nf : 1) * sizeof *f);
    if (!f) {
        return;
    }
    memcpy(f, s->future, nf * sizeof *f);
    s->n_future = 0;
    s->future_bytes = 0;
    for (size_t i = 0; i < nf; i++) {
        ul_span a = {f[i].payload + f[i].len, f[i].alen};
        ul_cons_handle_payload(n, f[i].kind, f[i].from, f[i].payload, f[i].len,
                               f[i].has_attach ? &a : NULL);
        free(f[i].payload);
    }
    free(f);
}
