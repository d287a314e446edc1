/* Freshness checkpoints (docs/protocol.md section 7.4): every checkpoint interval a validator
 * signs (height, header hash, interval start) for its committed head and sends it to its peers;
 * every node collects its validators' newest signatures for the head and keeps the newest
 * statement more than 2/3 of the head's set signed (ul_chain_checkpoint_put). No block is made
 * and nothing is stored per interval: an idle chain stays fresh for devices at no disk cost.
 * The driver calls ul_ckpt_step from its loop and ul_ckpt_on_peer for UL_PEER_CHECKPOINT. */
#include <stdlib.h>
#include <string.h>

#include "io.h"
#include "node.h"

/* Each validator's newest signature for the head (by its index in the head's set). */
typedef struct {
    bool has;
    uint64_t time_ms;
    uint8_t sig[UL_SIG_BYTES];
} ckpt_entry;

struct ul_ckpt {
    uint64_t interval_ms;
    uint64_t signed_time; /* the interval this validator signed last (0: none) */
    uint64_t height;      /* the head the entries are for (0: none yet) */
    uint8_t hash[UL_HASH_BYTES];
    ul_valset set; /* the set signing that height */
    ckpt_entry e[UL_MAX_VALIDATORS];
    uint64_t kept_time; /* time of the newest checkpoint kept for the head */
    uint64_t made;      /* checkpoints kept since this start (for tests and STATUS) */
};

ul_err ul_ckpt_open(ul_ckpt **out, long interval_ms)
{
    *out = calloc(1, sizeof **out);
    if (!*out) {
        return UL_E_NOMEM;
    }
    (*out)->interval_ms = interval_ms > 0 ? (uint64_t)interval_ms : 0;
    return UL_OK;
}

void ul_ckpt_close(ul_ckpt *k)
{
    free(k);
}

uint64_t ul_ckpt_made(const ul_ckpt *k)
{
    return k ? k->made : 0;
}

/* Follows the committed head: a new head forgets every entry (they were about the old one). */
static bool follow_head(ul_ckpt *k, ul_chain *c)
{
    uint64_t h = ul_chain_height(c);
    uint8_t *hdr = NULL;
    size_t len = 0;
    if (h == 0) {
        return false;
    }
    if (h == k->height) {
        return true;
    }
    if (ul_chain_header_bytes(c, h, &hdr, &len) != UL_OK ||
        ul_chain_valset_at(c, h, &k->set) != UL_OK) {
        free(hdr);
        return false;
    }
    ul_client_sha256(k->hash, hdr, len);
    free(hdr);
    memset(k->e, 0, sizeof k->e);
    k->height = h;
    ul_checkpoint kept;
    k->kept_time = ul_chain_checkpoint_get(c, &kept) == UL_OK ? kept.v.time_ms : 0;
    return true;
}

/* Keeps the statement at time t when the entries signed for it hold more than 2/3 of the set's
 * power (the chain verifies it once more before writing it). */
static void try_quorum(ul_ckpt *k, ul_chain *c, uint64_t t)
{
    ul_checkpoint *cp;
    uint64_t total = 0, power = 0;
    if (t <= k->kept_time || !(cp = calloc(1, sizeof *cp))) {
        return;
    }
    cp->v.height = k->height;
    memcpy(cp->v.header_hash, k->hash, UL_HASH_BYTES);
    cp->v.time_ms = t;
    for (size_t i = 0; i < k->set.n; i++) {
        total += k->set.v[i].power;
        if (k->e[i].has && k->e[i].time_ms == t) {
            power += k->set.v[i].power;
            cp->sigs[cp->n_sigs].index = i;
            memcpy(cp->sigs[cp->n_sigs++].sig, k->e[i].sig, UL_SIG_BYTES);
        }
    }
    if (power * 3 > total * 2) {
        ul_err e = ul_chain_checkpoint_put(c, cp);
        if (e == UL_OK) {
            k->kept_time = t;
            k->made++;
        } else if (e != UL_E_EXISTS) {
            ul_node_logl(UL_LOG_WARN, "checkpoint at height %llu not kept: %s",
                         (unsigned long long)k->height, ul_err_str(e));
        }
    }
    free(cp);
}

/* Takes validator idx's signature of (head, t): verified, and newer than its last. */
static void take(ul_ckpt *k, ul_chain *c, size_t idx, uint64_t t, const uint8_t sig[UL_SIG_BYTES])
{
    ul_checkpoint_vote v = {.height = k->height, .time_ms = t};
    memcpy(v.header_hash, k->hash, UL_HASH_BYTES);
    if ((k->e[idx].has && k->e[idx].time_ms >= t) ||
        ul_client_checkpoint_sig_verify(sig, k->set.v[idx].pubkey, ul_chain_id(c), &v) != UL_OK) {
        return;
    }
    k->e[idx].has = true;
    k->e[idx].time_ms = t;
    memcpy(k->e[idx].sig, sig, UL_SIG_BYTES);
    try_quorum(k, c, t);
}

static int set_index(const ul_valset *s, const uint8_t pub[UL_PUBKEY_BYTES])
{
    for (size_t i = 0; i < s->n; i++) {
        if (memcmp(s->v[i].pubkey, pub, UL_PUBKEY_BYTES) == 0) {
            return (int)i;
        }
    }
    return -1;
}

void ul_ckpt_on_peer(ul_ckpt *k, ul_chain *c, const uint8_t from[UL_PUBKEY_BYTES], const uint8_t *p,
                     size_t len, uint64_t now)
{
    ul_checkpoint *m = calloc(1, sizeof *m);
    int idx;
    /* One signature, by the sender, for our head, not dated past the clock skew. */
    if (m && k && follow_head(k, c) && ul_schema_checkpoint_decode(m, p, len) == UL_OK &&
        m->n_sigs == 1 && m->v.height == k->height &&
        memcmp(m->v.header_hash, k->hash, UL_HASH_BYTES) == 0 &&
        m->v.time_ms <= now + UL_MAX_CLOCK_SKEW_MS && (idx = set_index(&k->set, from)) >= 0 &&
        m->sigs[0].index == (uint64_t)idx) {
        take(k, c, (size_t)idx, m->v.time_ms, m->sigs[0].sig);
    }
    free(m);
}

/* Signs the current interval's statement for the head and sends it to the peers. */
static void sign_interval(ul_ckpt *k, ul_chain *c, const ul_key *key, const ul_node_io *io,
                          uint64_t t)
{
    ul_checkpoint *m = calloc(1, sizeof *m);
    uint8_t vb[UL_MAX_VOTE_BYTES], out[UL_MAX_CHECKPOINT_BYTES];
    size_t vlen = 0, olen = 0;
    int idx = set_index(&k->set, ul_key_pubkey(key));
    if (!m || idx < 0) {
        free(m);
        return;
    }
    m->v.height = k->height;
    memcpy(m->v.header_hash, k->hash, UL_HASH_BYTES);
    m->v.time_ms = t;
    m->n_sigs = 1;
    m->sigs[0].index = (uint64_t)idx;
    ul_err e = ul_schema_checkpoint_vote_encode(vb, sizeof vb, &vlen, &m->v);
    if (e == UL_OK) {
        e = ul_key_sign(key, m->sigs[0].sig, UL_DOMAIN_CHECKPOINT, ul_chain_id(c), vb, vlen);
    }
    if (e == UL_OK) {
        e = ul_schema_checkpoint_encode(out, sizeof out, &olen, m);
    }
    if (e == UL_OK && io && io->has_peer(io->ctx)) {
        e = io->peer_broadcast(io->ctx, UL_PEER_CHECKPOINT, out, olen);
    }
    if (e == UL_OK) {
        k->signed_time = t;
        ul_node_logl(UL_LOG_DEBUG, "checkpoint signed: height %llu, time %llu",
                     (unsigned long long)k->height, (unsigned long long)t);
        take(k, c, (size_t)idx, t, m->sigs[0].sig);
    }
    free(m);
}

void ul_ckpt_step(ul_ckpt *k, ul_chain *c, const ul_key *key, const ul_node_io *io, bool may_sign,
                  uint64_t now, long *next_ms)
{
    if (!k || k->interval_ms == 0 || !key || !follow_head(k, c)) {
        return;
    }
    uint64_t t = now - now % k->interval_ms; /* the interval's start: one statement for all */
    if (k->signed_time == 0) {
        k->signed_time = t; /* the first statement is for the first whole interval */
    }
    if (may_sign && t > k->signed_time) {
        sign_interval(k, c, key, io, t);
    }
    uint64_t due = t + k->interval_ms - now;
    if ((long)due < *next_ms) {
        *next_ms = (long)due;
    }
}
