/* upledgerd's sign log: whether this validator may sign a step and the record of each
 * signature, in the sign state file (through ul_node_io) before the signature leaves; the lock
 * record a restarted validator re-proposes from; and the move from the old database record. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "signlog.h"

/* Where nodes before the sign state file kept the last signature (height 8, round 4, step 1):
 * taken into the file once, then deleted. */
static const uint8_t META_LASTSIGN[] = "Mlastsign";
/* The block a validator precommitted, a lock-record (schema/upledger.cddl), written before the
 * precommit: a restarted validator locked on it (the sign state's lock) proposes it again
 * (ul_bft_resume). Without it, it stays locked. Nodes before the sign state file wrote it as
 * height 8, round 4, hash 32, then the block and last commit with 4-byte lengths: migrate()
 * reads that one layout once, ul_signlog_lock_load only the record. */
static const uint8_t META_LOCK[] = "Mlock";

/* A node whose data directory predates the sign state file: its last signature, and the lock
 * of that height, from the chain database into the file; then the old record goes. */
static ul_err migrate(ul_signlog *l, const uint8_t v[13])
{
    uint8_t *lock = NULL;
    size_t len;
    l->st.height = ul_be64_get(v);
    l->st.round = ul_be32_get(v + 8);
    l->st.step = v[12];
    if (ul_store_get(ul_chain_store(l->chain), META_LOCK, sizeof META_LOCK - 1, &lock, &len) ==
            UL_OK &&
        len >= 8 + 4 + UL_HASH_BYTES && ul_be64_get(lock) == l->st.height) {
        l->st.has_lock = l->st.has_lock_hash = true;
        l->st.lock_round = ul_be32_get(lock + 8);
        memcpy(l->st.lock_hash, lock + 12, UL_HASH_BYTES);
    }
    free(lock);
    ul_err e = l->io->sign_save(l->io->ctx, l->path, &l->st);
    ul_batch *b = e == UL_OK ? ul_batch_create() : NULL;
    if (e == UL_OK && b) {
        ul_batch_delete(b, META_LASTSIGN, sizeof META_LASTSIGN - 1);
        e = ul_store_write(ul_chain_store(l->chain), b, true);
    }
    ul_batch_destroy(b);
    if (e == UL_OK) {
        ul_node_log("sign state: moved from the chain database into %s (height %llu)", l->path,
                    (unsigned long long)l->st.height);
    }
    return e;
}

ul_err ul_signlog_open(ul_signlog *l, const ul_node_io *io, ul_chain *chain, const ul_key *key,
                       const char *path, bool has_peers)
{
    uint8_t v[8 + 4 + 1];
    memset(l, 0, sizeof *l);
    l->io = io;
    l->chain = chain;
    l->path = path;
    ul_err e = io->sign_load(io->ctx, &l->st, path, ul_key_pubkey(key));
    if (e != UL_E_NOT_FOUND) {
        if (e != UL_OK) {
            ul_node_logl(UL_LOG_ERROR,
                         "sign state %s: %s (%s); not starting: restore it, or run upledgerd "
                         "--reset-sign-state once this key cannot have signed above the chain's "
                         "head",
                         path, e == UL_E_SIGN_STATE ? "corrupt, or another key's" : ul_err_str(e),
                         ul_err_name(e));
        }
        return e;
    }
    memset(&l->st, 0, sizeof l->st);
    memcpy(l->st.pubkey, ul_key_pubkey(key), UL_PUBKEY_BYTES);
    if (ul_store_get_fixed(ul_chain_store(chain), META_LASTSIGN, sizeof META_LASTSIGN - 1, v,
                           sizeof v) == UL_OK) {
        return migrate(l, v);
    }
    l->missing = true;
    ul_node_logl(UL_LOG_WARN,
                 "sign state %s is missing while the key exists: not signing (%s) until this node "
                 "has synced past the network's head%s",
                 path, ul_err_name(UL_E_SIGN_STATE),
                 has_peers ? ""
                           : " (a node without peers never does: restore the file, or "
                             "run upledgerd --reset-sign-state)");
    return UL_OK;
}

/* Whether a node that lost its sign state may sign at height now. */
static bool floor_passed(ul_signlog *l, uint64_t height)
{
    if (!l->missing) {
        return true;
    }
    if (!l->floor_known || height <= l->floor) {
        return false;
    }
    l->missing = false;
    ul_node_log("sign state: synced past height %llu; signing again from height %llu",
                (unsigned long long)l->floor, (unsigned long long)height);
    return true;
}

/* Drops the kept lock copy. */
static void lock_drop(ul_signlog *l)
{
    free(l->lock);
    l->lock = NULL;
    l->lock_block = l->lock_lc = (ul_span){NULL, 0};
}

/* Writes the lock record of a precommit at (height, round) for hash into the database. */
static ul_err lock_write(ul_signlog *l, uint64_t height, uint32_t round,
                         const uint8_t hash[UL_HASH_BYTES], ul_span block, ul_span lc, bool sync)
{
    uint8_t *rec = NULL;
    size_t len;
    ul_batch *b = NULL;
    ul_err e = ul_signlog_lock_encode(&rec, &len, height, round, hash, block, lc);
    if (e == UL_OK && !(b = ul_batch_create())) {
        e = UL_E_NOMEM;
    }
    if (e == UL_OK) {
        ul_batch_put(b, META_LOCK, sizeof META_LOCK - 1, rec, len);
        e = ul_store_write(ul_chain_store(l->chain), b, sync);
    }
    ul_batch_destroy(b);
    free(rec);
    return e;
}

/* The kept lock record into the database, when it is still for height (a later round's
 * signature at that height); dropped when a higher height signs (the height was decided). */
static ul_err lock_flush(ul_signlog *l, uint64_t height)
{
    if (!l->lock || l->lock_height > height) {
        return UL_OK;
    }
    ul_err e = UL_OK;
    if (l->lock_height == height) { /* not synced: losing it costs re-proposing, never safety */
        e = lock_write(l, l->lock_height, l->lock_round, l->lock_hash, l->lock_block, l->lock_lc,
                       false);
    }
    if (e == UL_OK) {
        lock_drop(l);
    }
    return e;
}

/* Keeps a copy of block and lc, what the lock record of a precommit at (height, round) for
 * hash is made of, for lock_flush. */
static ul_err lock_keep(ul_signlog *l, uint64_t height, uint32_t round,
                        const uint8_t hash[UL_HASH_BYTES], ul_span block, ul_span lc)
{
    uint8_t *copy = malloc(block.len + lc.len);
    if (!copy) {
        return UL_E_NOMEM;
    }
    memcpy(copy, block.ptr, block.len);
    if (lc.len) {
        memcpy(copy + block.len, lc.ptr, lc.len);
    }
    lock_drop(l);
    l->lock = copy;
    l->lock_block = (ul_span){copy, block.len};
    l->lock_lc = (ul_span){lc.len ? copy + block.len : NULL, lc.len};
    l->lock_height = height;
    l->lock_round = round;
    memcpy(l->lock_hash, hash, UL_HASH_BYTES);
    return UL_OK;
}

bool ul_signlog_may_sign(ul_signlog *l, uint64_t height, uint32_t round, uint32_t step,
                         const uint8_t *lock_hash, ul_span block, ul_span lc)
{
    if (!ul_signstate_after(&l->st, height, round, step) || !floor_passed(l, height)) {
        return false;
    }
    /* A store that met damage may have handed consensus data with entries missing: no vote on
     * it (the node stops at the end of this turn). */
    if (ul_store_fault(ul_chain_store(l->chain), NULL) == UL_E_CORRUPT) {
        return false;
    }
    const char *where = "the chain database (the lock record)"; /* what failed, for the log */
    ul_err e = lock_flush(l, height);
    if (e == UL_OK && lock_hash && block.len) {
        e = l->lock_durable ? lock_write(l, height, round, lock_hash, block, lc, true)
                            : lock_keep(l, height, round, lock_hash, block, lc);
    }
    if (e == UL_OK) {
        where = l->path;
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        e = l->io->sign_advance(l->io->ctx, &l->st, l->path, height, round, step, lock_hash);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        l->sync_count++;
        l->sync_ns += (uint64_t)(t1.tv_sec - t0.tv_sec) * 1000000000u + (uint64_t)t1.tv_nsec -
                      (uint64_t)t0.tv_nsec;
    }
    if (e != UL_OK) {
        if (e != l->fault) { /* once per cause, not once per round */
            ul_node_logl(UL_LOG_ERROR,
                         "cannot record a signature at height %llu in %s: %s (%s); not signing",
                         (unsigned long long)height, where, ul_err_str(e), ul_err_name(e));
        }
        l->fault = e;
        snprintf(l->fault_text, sizeof l->fault_text, "writing %s", where);
        return false;
    }
    if (l->fault != UL_OK) {
        ul_node_log("%s works again: signing", l->fault_text); /* what failed, by name */
        l->fault = UL_OK;
    }
    l->signed_count++;
    return true;
}

void ul_signlog_stop(ul_signlog *l, uint64_t head)
{
    if (l->lock && l->lock_height > head) {
        (void)lock_flush(l, l->lock_height); /* the height is undecided: a restart may want it */
    }
}

void ul_signlog_close(ul_signlog *l)
{
    lock_drop(l);
}

bool ul_signlog_learning(const ul_signlog *l)
{
    return l->missing && !l->floor_known;
}

void ul_signlog_learn(ul_signlog *l, uint64_t head, bool answered, bool behind)
{
    if (!l->missing || l->floor_known || !answered || behind) {
        return;
    }
    l->floor_known = true;
    l->floor = head + 1;
    ul_node_log("sign state: caught up with the network at height %llu; signing from height %llu "
                "on (this key may have signed up to height %llu before it lost its sign state)",
                (unsigned long long)head, (unsigned long long)l->floor + 1,
                (unsigned long long)l->floor);
}

ul_err ul_signlog_lock_encode(uint8_t **out, size_t *len, uint64_t height, uint32_t round,
                              const uint8_t hash[UL_HASH_BYTES], ul_span block, ul_span lc)
{
    ul_lock_record r = {.height = height, .round = round, .block = block};
    memcpy(r.hash, hash, UL_HASH_BYTES);
    r.has_last_commit = lc.len > 0; /* none at height 1 */
    r.last_commit = lc;
    size_t cap = block.len + lc.len + 64; /* the map's fixed fields take at most 52 bytes */
    ul_err e = (*out = malloc(cap)) ? UL_OK : UL_E_NOMEM;
    if (e == UL_OK && (e = ul_schema_lock_record_encode(*out, cap, len, &r)) != UL_OK) {
        free(*out);
        *out = NULL;
    }
    return e;
}

bool ul_signlog_lock_load(ul_chain *chain, uint64_t height, uint32_t round,
                          const uint8_t hash[UL_HASH_BYTES], uint8_t **rec, ul_span *block,
                          ul_span *lc)
{
    uint8_t *v = NULL;
    size_t len;
    ul_lock_record r;
    bool ok =
        ul_store_get(ul_chain_store(chain), META_LOCK, sizeof META_LOCK - 1, &v, &len) == UL_OK &&
        ul_schema_lock_record_decode(&r, v, len) == UL_OK && r.height == height &&
        r.round == round && memcmp(r.hash, hash, UL_HASH_BYTES) == 0;
    if (ok) {
        *block = r.block;
        *lc = r.has_last_commit ? r.last_commit : (ul_span){NULL, 0};
    } else {
        free(v);
        v = NULL;
    }
    *rec = v;
    return ok;
}
