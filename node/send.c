/* upledgerd's consensus messages out: a proposal (its header signed, the block attached), a
 * vote and this node's head (status) to every peer, through ul_node_io's peer transport. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Sends m, and attach (NULL: none) outside the signature: m must bind it by hash. */
void ul_cons_send(ul_node *n, uint32_t kind, const ul_msg *m, const ul_span *attach)
{
    ul_cons *s = C(n);
    size_t cap = ul_msg_encoded_max(m), len;
    uint8_t *buf = malloc(cap);
    if (!s->peer || !buf) {
        free(buf);
        return;
    }
    ul_err e = ul_msg_encode(buf, cap, &len, m);
    if (e == UL_OK) {
        e = attach ? n->io->peer_send(n->io->ctx, kind, buf, len, attach->ptr, attach->len)
                   : n->io->peer_broadcast(n->io->ctx, kind, buf, len);
    }
    if (e != UL_OK) {
        ul_node_log("peer message (kind %u) not sent: %s", kind, ul_err_str(e));
    }
    free(buf);
}

static void broadcast_msg(ul_node *n, uint32_t kind, const ul_msg *m)
{
    ul_cons_send(n, kind, m, NULL);
}

void ul_cons_send_vote(ul_node *n, const ul_held_vote *v)
{
    ul_msg m;
    ul_msg_init(&m);
    ul_msg_bytes(&m, 1, C(n)->set.v[v->idx].pubkey, UL_PUBKEY_BYTES);
    ul_msg_bytes(&m, 2, v->vote, v->vlen);
    ul_msg_bytes(&m, 3, v->sig, UL_SIG_BYTES);
    broadcast_msg(n, UL_PEER_VOTE, &m);
}

/* The signature covers the header (which names the txs by their tx root), not the block: a
 * receiver hashes the txs once, for that root, instead of once more for the signature. */
void ul_cons_send_proposal(ul_node *n, const ul_held_prop *p, uint32_t round, int32_t vr)
{
    ul_msg m;
    ul_span header, block = {p->block, p->blen};
    if (ul_schema_block_header(&header, p->block, p->blen) != UL_OK) {
        return; /* held blocks are this node's own or checked ones: not reached */
    }
    ul_msg_init(&m);
    ul_msg_uint(&m, 1, ul_cons_next_height(n));
    ul_msg_uint(&m, 2, round);
    if (vr >= 0) {
        ul_msg_uint(&m, 3, (uint64_t)vr);
    }
    ul_msg_bytes(&m, 4, header.ptr, header.len);
    if (p->lclen) {
        ul_msg_bytes(&m, 5, p->lc, p->lclen);
    }
    ul_cons_send(n, UL_PEER_PROPOSAL, &m, &block);
}

void ul_cons_send_status(ul_node *n)
{
    ul_msg m;
    ul_msg_init(&m);
    ul_msg_uint(&m, 1, ul_chain_height(n->chain));
    broadcast_msg(n, UL_PEER_STATUS, &m);
}