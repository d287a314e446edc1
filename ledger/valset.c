/* Validator sets over the chain's history: which set signs a height, and the heights whose
 * headers change the set (the steps a device walks from its trust anchor). */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

ul_err ul_chain_valset_at(ul_chain *c, uint64_t h, ul_valset *out)
{
    if (h == 0 || h > c->height + 1) {
        return UL_E_NOT_FOUND;
    }
    /* No transaction changes the set yet: every height is signed by the genesis set. */
    *out = c->genesis.validators;
    return UL_OK;
}

ul_err ul_chain_valset_steps(ul_chain *c, uint64_t h, uint64_t *heights, size_t cap, size_t *n)
{
    *n = 0;
    (void)heights;
    (void)cap;
    return h > c->height ? UL_E_NOT_FOUND : UL_OK;
}
