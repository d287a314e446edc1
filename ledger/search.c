/* The ledger's search indexes: the releases of an image digest and those each key signed
 * (publisher or co-signer), kept in the block's batch with the release and read a page at a
 * time, so a key that signed a million releases costs a query one page. */
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

ul_err ul_search_index(ul_chain *c, const uint8_t *digest32, const ul_tx *t,
                       const uint8_t id32[UL_HASH_BYTES])
{
    uint8_t k[UL_KEY_MAX], loc[20], v[UL_SEARCH_ENTRY_BYTES];
    size_t vlen;
    ul_err e = ul_chain_read(c, k, ul_key_id(k, UL_KEY_RELEASE, id32), loc, sizeof loc, &vlen);
    if (e != UL_OK || vlen != sizeof loc) {
        return e == UL_OK || e == UL_E_NOT_FOUND ? UL_E_CORRUPT : e;
    }
    uint64_t index = ul_be64_get(loc);
    memcpy(v, id32, UL_HASH_BYTES);
    memcpy(v + UL_HASH_BYTES, loc + 8, 8); /* the publish's height */
    if (digest32) {
        e = ul_overlay_put(&c->ov, k, search_key(k, UL_KEY_DIGEST, digest32, index), v, sizeof v);
    }
    /* An approval by a key that also published the release, or approved it before, writes
     * the same entry again: one entry per (key, release). */
    for (size_t i = 0; e == UL_OK && i < t->n_sigs; i++) {
        e = ul_overlay_put(&c->ov, k, search_key(k, UL_KEY_SIGNER, t->sigs[i].pubkey, index), v,
                           sizeof v);
    }
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
