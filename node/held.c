/* upledgerd's held votes and proposals of the height being decided: found by (round, type,
 * validator, hash) and by (hash, round), each bounded (UL_MAX_HELD_VOTES,
 * UL_MAX_HELD_PROPOSALS) so a flood of valid messages cannot grow them. */
#include <stdlib.h>
#include <string.h>

#include "held.h"

ul_held_vote *ul_held_vote_find(ul_held *h, uint32_t round, uint32_t type, uint32_t idx,
                                const uint8_t *hash)
{
    for (size_t i = 0; i < h->n_votes; i++) {
        ul_held_vote *v = &h->votes[i];
        if (v->round == round && v->type == type && v->idx == idx &&
            (!hash || memcmp(v->hash, hash, UL_HASH_BYTES) == 0)) {
            return v;
        }
    }
    return NULL;
}

ul_held_vote *ul_held_vote_add(ul_held *h, const ul_vote *v, uint32_t idx, const uint8_t *bytes,
                               size_t len, const uint8_t sig[UL_SIG_BYTES])
{
    if (h->n_votes >= UL_MAX_HELD_VOTES || len > UL_MAX_VOTE_BYTES) {
        return NULL;
    }
    ul_held_vote *w = &h->votes[h->n_votes++];
    w->round = (uint32_t)v->round;
    w->type = (uint32_t)v->type;
    w->idx = idx;
    memcpy(w->hash, v->block_hash, UL_HASH_BYTES);
    w->time_ms = v->time_ms;
    memcpy(w->vote, bytes, len);
    w->vlen = len;
    memcpy(w->sig, sig, UL_SIG_BYTES);
    return w;
}

ul_held_prop *ul_held_prop_find(ul_held *h, const uint8_t *hash, int64_t round)
{
    for (size_t i = 0; i < h->n_props; i++) {
        if ((!hash || memcmp(h->props[i].hash, hash, UL_HASH_BYTES) == 0) &&
            (round < 0 || h->props[i].round == (uint32_t)round)) {
            return &h->props[i];
        }
    }
    return NULL;
}

static void prop_free(ul_held_prop *p)
{
    free(p->block);
    free(p->lc);
    memset(p, 0, sizeof *p);
}

ul_held_prop *ul_held_prop_add(ul_held *h, uint32_t round, int32_t vr,
                               const uint8_t hash[UL_HASH_BYTES], ul_span block, ul_span lc)
{
    if (h->n_props == UL_MAX_HELD_PROPOSALS) {
        size_t old = 0;
        for (size_t i = 1; i < h->n_props; i++) {
            old = h->props[i].round < h->props[old].round ? i : old;
        }
        prop_free(&h->props[old]);
        h->props[old] = h->props[--h->n_props];
    }
    ul_held_prop *p = &h->props[h->n_props];
    memset(p, 0, sizeof *p);
    p->block = malloc(block.len ? block.len : 1);
    p->lc = lc.len ? malloc(lc.len) : NULL;
    if (!p->block || (lc.len && !p->lc)) {
        prop_free(p);
        return NULL;
    }
    if (block.len) {
        memcpy(p->block, block.ptr, block.len);
    }
    p->blen = block.len;
    if (lc.len) {
        memcpy(p->lc, lc.ptr, lc.len);
    }
    p->lclen = lc.len;
    p->round = round;
    p->vr = vr;
    memcpy(p->hash, hash, UL_HASH_BYTES);
    h->n_props++;
    return p;
}

void ul_held_prop_drop(ul_held *h, ul_held_prop *p)
{
    prop_free(p);
    *p = h->props[--h->n_props];
}

void ul_held_clear(ul_held *h)
{
    for (size_t i = 0; i < h->n_props; i++) {
        prop_free(&h->props[i]);
    }
    h->n_props = 0;
    h->n_votes = 0;
}

ul_err ul_held_create(ul_held **out)
{
    ul_held *h = calloc(1, sizeof *h);
    *out = NULL;
    if (!h || !(h->votes = malloc(UL_MAX_HELD_VOTES * sizeof *h->votes))) {
        free(h);
        return UL_E_NOMEM;
    }
    *out = h;
    return UL_OK;
}

void ul_held_destroy(ul_held *h)
{
    if (!h) {
        return;
    }
    ul_held_clear(h);
    free(h->votes);
    free(h);
}
