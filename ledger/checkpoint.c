/* The chain's newest freshness checkpoint: one meta record for the committed head, overwritten
 * by each newer one a quorum signed (docs/protocol.md section 7.4). Nothing is kept per interval.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* The newest checkpoint kept (a ul_checkpoint record). Not state: outside the state root. */
static const uint8_t META_CHECKPOINT[] = "Mcheckpoint";

ul_err ul_chain_checkpoint_get(ul_chain *c, ul_checkpoint *cp)
{
    uint8_t *v = NULL;
    size_t len = 0;
    ul_err e = ul_store_get(c->store, META_CHECKPOINT, sizeof META_CHECKPOINT - 1, &v, &len);
    if (e == UL_OK) {
        e = ul_schema_checkpoint_decode(cp, v, len) == UL_OK ? UL_OK : UL_E_CORRUPT;
    }
    free(v);
    /* One for an earlier head is no longer the newest statement about the chain. */
    if (e == UL_OK && (cp->v.height != c->height ||
                       memcmp(cp->v.header_hash, c->head_hash, UL_HASH_BYTES) != 0)) {
        e = UL_E_NOT_FOUND;
    }
    return e;
}

ul_err ul_chain_checkpoint_put(ul_chain *c, const ul_checkpoint *cp)
{
    ul_checkpoint *old = malloc(sizeof *old);
    ul_valset *set = malloc(sizeof *set);
    uint8_t buf[UL_MAX_CHECKPOINT_BYTES];
    size_t len = 0;
    ul_err e = old && set ? UL_OK : UL_E_NOMEM;
    if (e == UL_OK && (cp->v.height != c->height || c->height == 0 ||
                       memcmp(cp->v.header_hash, c->head_hash, UL_HASH_BYTES) != 0)) {
        e = UL_E_CHECKPOINT;
    }
    if (e == UL_OK && ul_chain_checkpoint_get(c, old) == UL_OK && old->v.time_ms >= cp->v.time_ms) {
        e = UL_E_EXISTS;
    }
    if (e == UL_OK) {
        e = ul_chain_valset_at(c, c->height, set);
    }
    if (e == UL_OK) {
        e = ul_client_checkpoint_verify(cp, set, c->chain_id, c->height, c->head_hash);
    }
    if (e == UL_OK) {
        e = ul_schema_checkpoint_encode(buf, sizeof buf, &len, cp);
    }
    ul_batch *b = e == UL_OK ? ul_batch_create() : NULL;
    if (e == UL_OK && !b) {
        e = UL_E_NOMEM;
    } else if (e == UL_OK) {
        ul_batch_put(b, META_CHECKPOINT, sizeof META_CHECKPOINT - 1, buf, len);
        e = ul_store_write(c->store, b, false);
    }
    ul_batch_destroy(b);
    free(old);
    free(set);
    return e;
}
