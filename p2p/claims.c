/* What block sync may believe of its peers' heads. A claimed head is only a hint: it makes a
 * node look for blocks, and each block found is verified against its commit. A claimer that
 * points at blocks nobody serves would keep a node searching (and discarding its pending
 * block) forever; so a claim steers sync only while passes it starts gain something. */
#include <string.h>

#include "ul_p2p.h"

_Static_assert(UL_MAX_PEERS <= 64, "ul_claims_pass returns a bit per slot");

void ul_claims_init(ul_claims *c)
{
    memset(c, 0, sizeof *c);
}

void ul_claims_hear(ul_claims *c, size_t slot, uint64_t height, uint64_t now_ms)
{
    if (slot >= UL_MAX_PEERS) {
        return;
    }
    ul_claim *k = &c->slot[slot];
    if (now_ms < k->ignore_until) {
        return;
    }
    if (k->ignore_until) { /* the time set aside is over: heard from scratch */
        memset(k, 0, sizeof *k);
    }
    k->height = height;
    k->at_ms = now_ms;
}

uint64_t ul_claims_get(const ul_claims *c, size_t slot, uint64_t now_ms)
{
    const ul_claim *k = slot < UL_MAX_PEERS ? &c->slot[slot] : NULL;
    if (!k || now_ms < k->ignore_until || now_ms - k->at_ms > UL_CLAIM_TTL_MS) {
        return 0;
    }
    return k->height;
}

uint64_t ul_claims_max(const ul_claims *c, uint64_t now_ms)
{
    uint64_t best = 0;
    for (size_t i = 0; i < UL_MAX_PEERS; i++) {
        uint64_t h = ul_claims_get(c, i, now_ms);
        best = h > best ? h : best;
    }
    return best;
}

bool ul_claims_set_aside(const ul_claims *c, size_t slot, uint64_t now_ms)
{
    return slot < UL_MAX_PEERS && now_ms < c->slot[slot].ignore_until;
}

/* One claim judged: true when slot is set aside by it. */
static bool judge(ul_claims *c, size_t slot, uint64_t before, uint64_t after, uint64_t now_ms)
{
    ul_claim *k = &c->slot[slot];
    uint64_t h = ul_claims_get(c, slot, now_ms);
    if (h == 0 || h <= after) {
        k->strikes = 0; /* not ahead of us, or reached */
        return false;
    }
    if (after > before) {
        return false; /* blocks were gained, the claim is not reached yet */
    }
    if (++k->strikes < UL_CLAIM_MAX_STRIKES) {
        return false;
    }
    k->ignore_until = now_ms + UL_CLAIM_IGNORE_MS;
    k->height = 0;
    k->strikes = 0;
    c->set_aside++;
    return true;
}

bool ul_claims_served(ul_claims *c, size_t slot, uint64_t before, uint64_t after, uint64_t now_ms)
{
    return slot < UL_MAX_PEERS && judge(c, slot, before, after, now_ms);
}

uint64_t ul_claims_pass(ul_claims *c, uint64_t before, uint64_t after, uint64_t now_ms)
{
    uint64_t set_aside = 0;
    for (size_t i = 0; i < UL_MAX_PEERS; i++) {
        if (judge(c, i, before, after, now_ms)) {
            set_aside |= (uint64_t)1 << i;
        }
    }
    return set_aside;
}
