/* State history: every version of every state value, written by key and height into the block's
 * own WriteBatch, so a state proof against any committed header can show the value that header's
 * state root holds (the tree's nodes are kept already: ledger/smt.c). Reading a value at a height
 * is a point read of the current value or one seek to the newest version at or below it. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* 'Y' SHA-256(state key) height(8 BE): fixed length, so no key's versions run into another's. */
#define HIST_KEY_BYTES (1 + UL_HASH_BYTES + 8)

static void hist_key(uint8_t k[HIST_KEY_BYTES], const uint8_t kh[UL_HASH_BYTES], uint64_t h)
{
    k[0] = UL_KEY_STATEHIST;
    memcpy(k + 1, kh, UL_HASH_BYTES);
    ul_be64_put(k + 1 + UL_HASH_BYTES, h);
}

void ul_statehist_put(ul_chain *c, uint64_t height)
{
    for (size_t i = 0; i < c->ov.cap; i++) {
        const ul_ov_entry *e = &c->ov.slots[i];
        if (e->key && e->key[0] == UL_KEY_STATE) {
            uint8_t kh[UL_HASH_BYTES], k[HIST_KEY_BYTES];
            ul_client_sha256(kh, e->key, e->klen);
            hist_key(k, kh, height);
            ul_batch_put(c->batch, k, sizeof k, e->val, e->vlen);
        }
    }
}

static bool hash_is(const uint8_t *v, size_t len, const uint8_t want32[UL_HASH_BYTES])
{
    uint8_t h[UL_HASH_BYTES];
    ul_client_sha256(h, v, len);
    return memcmp(h, want32, UL_HASH_BYTES) == 0;
}

/* The newest version of kh written at or below height h, which must hash to leaf32. */
static ul_err version_at(ul_chain *c, const uint8_t kh[UL_HASH_BYTES], uint64_t h,
                         const uint8_t leaf32[UL_HASH_BYTES], uint8_t **value, size_t *vlen)
{
    uint8_t want[HIST_KEY_BYTES], found[HIST_KEY_BYTES];
    size_t flen;
    hist_key(want, kh, h);
    ul_err e = ul_store_get_floor(c->store, want, 1 + UL_HASH_BYTES, want, sizeof want, found,
                                  sizeof found, &flen, value, vlen);
    if (e == UL_OK && (flen != HIST_KEY_BYTES || !hash_is(*value, *vlen, leaf32))) {
        free(*value); /* the tree and the history disagree */
        *value = NULL;
        e = UL_E_CORRUPT;
    }
    return e;
}

ul_err ul_statehist_value(ul_chain *c, const uint8_t *key, size_t klen,
                          const uint8_t kh[UL_HASH_BYTES], uint64_t h, const ul_state_proof *p,
                          uint8_t **value, size_t *vlen)
{
    *value = NULL;
    *vlen = 0;
    if (!p->has_leaf || memcmp(p->leaf_key, kh, UL_HASH_BYTES) != 0) {
        return UL_OK; /* absent at h: the proof shows it */
    }
    /* The current value serves the head and every entry unchanged since h, with one point read. */
    uint8_t *v = NULL;
    size_t vl = 0;
    ul_err e = ul_store_get(c->store, key, klen, &v, &vl);
    if (e == UL_OK && hash_is(v, vl, p->leaf_value)) {
        *value = v;
        *vlen = vl;
        return UL_OK;
    }
    free(v);
    if (e != UL_OK && e != UL_E_NOT_FOUND) {
        return e;
    }
    /* UL_E_NOT_FOUND here: the value changed after h in a store written before it kept history. */
    return version_at(c, kh, h, p->leaf_value, value, vlen);
}
