/* The ledger's search indexes: the releases of an image digest and those each key signed
 * (publisher or co-signer), kept in the block's batch with the release and read a page at a
 * time, so a key that signed a million releases costs a query one page. A store written before
 * them gets them once, from its committed transactions, when the chain is opened. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* family(1) key(32) log index(8 BE) */
#define SEARCH_KEY_BYTES (1 + UL_HASH_BYTES + 8)

static size_t search_key(uint8_t *k, uint8_t family, const uint8_t key32[UL_HASH_BYTES],
                         uint64_t index)
{
    k[0] = family;
    memcpy(k + 1, key32, UL_HASH_BYTES);
    ul_be64_put(k + 1 + UL_HASH_BYTES, index);
    return SEARCH_KEY_BYTES;
}

/* Release id32's entries: into batch b, or (b NULL) the pending block's overlay. */
static ul_err index_entries(ul_chain *c, ul_batch *b, const uint8_t *digest32, const ul_tx *t,
                            const uint8_t id32[UL_HASH_BYTES])
{
    uint8_t k[UL_KEY_MAX], loc[20], v[UL_SEARCH_ENTRY_BYTES];
    size_t vlen, kl;
    ul_err e = ul_chain_read(c, k, ul_key_id(k, UL_KEY_RELEASE, id32), loc, sizeof loc, &vlen);
    if (e != UL_OK || vlen != sizeof loc) {
        return e == UL_OK || e == UL_E_NOT_FOUND ? UL_E_CORRUPT : e;
    }
    uint64_t index = ul_be64_get(loc);
    memcpy(v, id32, UL_HASH_BYTES);
    memcpy(v + UL_HASH_BYTES, loc + 8, 8); /* the publish's height */
    /* An approval by a key that also published the release, or approved it before, writes
     * the same entry again: one entry per (key, release). */
    for (size_t i = 0; e == UL_OK && i <= t->n_sigs; i++) {
        if (i == t->n_sigs && !digest32) {
            break;
        }
        kl = i < t->n_sigs ? search_key(k, UL_KEY_SIGNER, t->sigs[i].pubkey, index)
                           : search_key(k, UL_KEY_DIGEST, digest32, index);
        if (b) {
            ul_batch_put(b, k, kl, v, sizeof v);
        } else {
            e = ul_overlay_put(&c->ov, k, kl, v, sizeof v);
        }
    }
    return e;
}

ul_err ul_search_index(ul_chain *c, const uint8_t *digest32, const ul_tx *t,
                       const uint8_t id32[UL_HASH_BYTES])
{
    return index_entries(c, NULL, digest32, t, id32);
}

/* ---- stores written before the search indexes --------------------------------------------- */

/* Present once a store's search indexes are whole: written with a new store's genesis, or after
 * ul_search_open rebuilt them. */
static const uint8_t META_SEARCH[] = "Msearch";
/* Committed txs whose entries go into one unsynced batch while rebuilding. */
#define REBUILD_TXS 4096

void ul_search_mark(ul_batch *b)
{
    static const uint8_t one = 1;
    ul_batch_put(b, META_SEARCH, sizeof META_SEARCH - 1, &one, 1);
}

/* The entries of one committed tx (a publish or an approval; others have none) into b. */
static ul_err index_tx(ul_chain *c, ul_batch *b, const uint8_t *bytes, size_t len)
{
    ul_tx t;
    ul_approve a;
    uint8_t id[UL_HASH_BYTES];
    if (ul_schema_tx_decode(&t, bytes, len) != UL_OK) {
        return UL_E_CORRUPT;
    }
    if (t.kind == UL_TX_APPROVE) {
        return ul_schema_approve_decode(&a, t.body.ptr, t.body.len) == UL_OK
                   ? index_entries(c, b, NULL, &t, a.release)
                   : UL_E_CORRUPT;
    }
    if (t.kind != UL_TX_PUBLISH) {
        return UL_OK;
    }
    ul_release *r = malloc(sizeof *r);
    ul_err e = r ? ul_schema_release_decode(r, t.body.ptr, t.body.len) : UL_E_NOMEM;
    if (e == UL_OK) {
        ul_client_sha256(id, t.body.ptr, t.body.len);
        e = index_entries(c, b, r->digest, &t, id);
    } else if (e != UL_E_NOMEM) {
        e = UL_E_CORRUPT;
    }
    free(r);
    return e;
}

ul_err ul_search_open(ul_chain *c)
{
    static const uint8_t family = UL_KEY_TX;
    uint8_t flag;
    ul_err e = ul_store_get_fixed(c->store, META_SEARCH, sizeof META_SEARCH - 1, &flag, 1);
    if (e != UL_E_NOT_FOUND) {
        return e;
    }
    const uint8_t *k, *v;
    size_t kl, vl, n = 0;
    ul_store_iter *it = NULL;
    ul_batch *b = ul_batch_create();
    e = b ? ul_store_iter_create(&it, c->store, &family, 1, &family, 1) : UL_E_NOMEM;
    while (e == UL_OK && ul_store_iter_next(it, &k, &kl, &v, &vl)) {
        if ((e = index_tx(c, b, v, vl)) == UL_OK && ++n % REBUILD_TXS == 0) {
            e = ul_store_write(c->store, b, false);
            ul_batch_clear(b);
        }
    }
    ul_store_iter_destroy(it);
    if (e == UL_OK && ul_store_fault(c->store, NULL) == UL_E_CORRUPT) {
        e = UL_E_CORRUPT; /* the walk stopped at damage */
    }
    if (e == UL_OK) { /* the flag last, synced with the rest: a crash before it starts again */
        ul_search_mark(b);
        e = ul_store_write(c->store, b, true);
    }
    ul_batch_destroy(b);
    return e;
}

ul_err ul_chain_search(ul_chain *c, ul_search_kind kind, const uint8_t key32[UL_HASH_BYTES],
                       uint64_t from, bool newest_first, uint8_t (*out)[UL_SEARCH_ENTRY_BYTES],
                       size_t cap, size_t *n, uint64_t *next, bool *more)
{
    uint8_t prefix[SEARCH_KEY_BYTES];
    *n = 0;
    *more = false;
    if (cap == 0 || cap > UL_MAX_SEARCH || (kind != UL_SEARCH_DIGEST && kind != UL_SEARCH_SIGNER)) {
        return UL_E_ARG;
    }
    size_t plen = search_key(prefix, (uint8_t)kind, key32, 0) - 8;
    return ul_chain_page(c, prefix, plen, from, newest_first, out[0], UL_SEARCH_ENTRY_BYTES, cap, n,
                         next, more);
}
