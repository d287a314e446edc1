/* The node's sign log (node/signlog.c): signatures only after the last one recorded, each
 * recorded (through ul_node_io) before it may leave; a node without its file waits for the
 * network's head; a failed write refuses; the old database record moves into the file once;
 * the lock record round-trips, written only when its height outlives the precommit's round, or
 * synced before the precommit by a validator whose own power is a quorum and that has peers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "node/log.h"
#include "node/signlog.h"
#include "nodefx.h"

#define NONE ((ul_span){NULL, 0})

/* A block and a last commit for lock records: small canonical maps. */
static const uint8_t blk[] = {0xa1, 0x01, 0x05}, last[] = {0xa1, 0x02, 0x04};
#define BLK ((ul_span){blk, sizeof blk})
#define LAST ((ul_span){last, sizeof last})

typedef struct {
    ul_nodefx f;
    ul_nodefx_io io;
    char path[256];
} fx;

static int setup(void **state)
{
    fx *x = calloc(1, sizeof *x);
    ul_nodefx_open(&x->f, "signlog");
    ul_nodefx_io_init(&x->io);
    snprintf(x->path, sizeof x->path, "%s/val.key.sign-state", x->f.root);
    *state = x;
    return 0;
}

static int teardown(void **state)
{
    fx *x = *state;
    ul_nodefx_close(&x->f);
    free(x);
    return 0;
}

/* Sends the node's log lines to a file in f's directory, from now until log_has reads it. */
static void log_capture(fx *x)
{
    char path[300];
    snprintf(path, sizeof path, "%s/node.log", x->f.root);
    assert_int_equal(ul_nlog_open(UL_LOG_INFO, false, path), UL_OK);
}

/* Whether a line captured since log_capture holds needle; the log goes back to stderr. */
static bool log_has(fx *x, const char *needle)
{
    char path[300], buf[8192];
    snprintf(path, sizeof path, "%s/node.log", x->f.root);
    assert_int_equal(ul_nlog_open(UL_LOG_INFO, false, NULL), UL_OK);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    return strstr(buf, needle) != NULL;
}

/* A sign state file for f's validator at (h, r, step), no lock. */
static void write_file(fx *x, uint64_t h, uint64_t r, uint64_t step)
{
    ul_sign_state st = {.height = h, .round = r, .step = step};
    memcpy(st.pubkey, ul_key_pubkey(x->f.val), UL_PUBKEY_BYTES);
    assert_int_equal(ul_signstate_save(x->path, &st), UL_OK);
}

static void test_order(void **state)
{
    fx *x = *state;
    ul_signlog l;
    ul_sign_state st;
    write_file(x, 0, 0, 0);
    assert_int_equal(ul_signlog_open(&l, &x->io.io, x->f.chain, x->f.val, x->path, true), UL_OK);
    assert_false(l.missing);
    assert_false(ul_signlog_learning(&l));
    assert_true(ul_signlog_may_sign(&l, 1, 0, UL_SIGNLOG_PROPOSAL, NULL, NONE, NONE));
    assert_false(ul_signlog_may_sign(&l, 1, 0, UL_SIGNLOG_PROPOSAL, NULL, NONE, NONE));
    assert_true(ul_signlog_may_sign(&l, 1, 0, UL_SIGNLOG_PREVOTE, NULL, NONE, NONE));
    assert_false(ul_signlog_may_sign(&l, 1, 0, UL_SIGNLOG_PROPOSAL, NULL, NONE, NONE));
    assert_int_equal(l.signed_count, 2);
    assert_int_equal(x->io.sign_writes, 2);
    /* Durable: the file says (1, 0, prevote). */
    assert_int_equal(ul_signstate_load(&st, x->path, ul_key_pubkey(x->f.val)), UL_OK);
    assert_int_equal(st.height, 1);
    assert_int_equal(st.step, UL_SIGNLOG_PREVOTE);

    /* A write that fails refuses the signature and leaves the state as it was. */
    log_capture(x);
    x->io.sign_fail = UL_E_NO_SPACE;
    assert_false(ul_signlog_may_sign(&l, 1, 0, UL_SIGNLOG_PRECOMMIT, NULL, NONE, NONE));
    assert_int_equal(l.signed_count, 2);
    assert_int_equal(l.fault, UL_E_NO_SPACE); /* for STATUS, naming the file */
    assert_non_null(strstr(l.fault_text, x->path));
    x->io.sign_fail = UL_OK;
    assert_true(ul_signlog_may_sign(&l, 1, 0, UL_SIGNLOG_PRECOMMIT, NULL, NONE, NONE));
    assert_int_equal(l.fault, UL_OK);
    char again[300];
    snprintf(again, sizeof again, "writing %s works again: signing", x->path);
    assert_true(log_has(x, again));
}

static void test_missing(void **state)
{
    fx *x = *state;
    ul_signlog l;
    assert_int_equal(ul_signlog_open(&l, &x->io.io, x->f.chain, x->f.val, x->path, true), UL_OK);
    assert_true(l.missing);
    assert_true(ul_signlog_learning(&l));
    assert_false(ul_signlog_may_sign(&l, 9, 0, UL_SIGNLOG_PROPOSAL, NULL, NONE, NONE));
    ul_signlog_learn(&l, 5, false, false); /* nobody answered: nothing learnt */
    ul_signlog_learn(&l, 5, true, true);   /* a peer is still ahead: nothing learnt */
    assert_true(ul_signlog_learning(&l));
    ul_signlog_learn(&l, 5, true, false); /* the head is 5: this key may have signed at 6 */
    assert_false(ul_signlog_learning(&l));
    assert_int_equal(l.floor, 6);
    assert_false(ul_signlog_may_sign(&l, 6, 3, UL_SIGNLOG_PRECOMMIT, NULL, NONE, NONE));
    assert_true(ul_signlog_may_sign(&l, 7, 0, UL_SIGNLOG_PROPOSAL, NULL, NONE, NONE));
    assert_false(l.missing);
    assert_int_equal(x->io.sign_writes, 1);
}

static void test_damaged(void **state)
{
    fx *x = *state;
    ul_signlog l;
    FILE *fp = fopen(x->path, "wb");
    assert_non_null(fp);
    fputs("not a sign state", fp);
    fclose(fp);
    assert_int_equal(ul_signlog_open(&l, &x->io.io, x->f.chain, x->f.val, x->path, true),
                     UL_E_SIGN_STATE);
}

static void test_migrate_and_lock(void **state)
{
    fx *x = *state;
    ul_signlog l;
    uint8_t old[13], hash[UL_HASH_BYTES], *lock, *rec;
    size_t lock_len;
    ul_span block, lc;
    memset(hash, 7, sizeof hash);
    /* The old records: height 4, round 2, precommit, and the lock of that height in the layout
     * nodes wrote before the lock record (height 8, round 4, hash 32, lengths 4 + bytes). */
    ul_be64_put(old, 4);
    ul_be32_put(old + 8, 2);
    old[12] = UL_SIGNLOG_PRECOMMIT;
    uint8_t legacy[8 + 4 + UL_HASH_BYTES + 4 + 5 + 4 + 2], *w = legacy;
    ul_be64_put(w, 4), w += 8;
    ul_be32_put(w, 2), w += 4;
    memcpy(w, hash, UL_HASH_BYTES), w += UL_HASH_BYTES;
    ul_be32_put(w, 5), w += 4;
    memcpy(w, "block", 5), w += 5;
    ul_be32_put(w, 2), w += 4;
    memcpy(w, "lc", 2);
    ul_batch *b = ul_batch_create();
    assert_non_null(b);
    ul_batch_put(b, (const uint8_t *)"Mlastsign", 9, old, sizeof old);
    ul_batch_put(b, (const uint8_t *)"Mlock", 5, legacy, sizeof legacy);
    assert_int_equal(ul_store_write(ul_chain_store(x->f.chain), b, true), UL_OK);
    ul_batch_destroy(b);

    assert_int_equal(ul_signlog_open(&l, &x->io.io, x->f.chain, x->f.val, x->path, true), UL_OK);
    assert_false(l.missing);
    assert_int_equal(l.st.height, 4);
    assert_int_equal(l.st.round, 2);
    assert_true(l.st.has_lock);
    assert_int_equal(l.st.lock_round, 2);
    assert_memory_equal(l.st.lock_hash, hash, UL_HASH_BYTES);
    assert_false(ul_signlog_may_sign(&l, 4, 2, UL_SIGNLOG_PRECOMMIT, NULL, NONE, NONE));
    uint8_t v[13];
    assert_int_not_equal(ul_store_get_fixed(ul_chain_store(x->f.chain),
                                            (const uint8_t *)"Mlastsign", 9, v, sizeof v),
                         UL_OK); /* moved: the old record is gone */
    /* The old layout is not a lock record: that lock is kept (the sign state), its block is not
     * proposed again. */
    assert_false(ul_signlog_lock_load(x->f.chain, 4, 2, hash, &rec, &block, &lc));
    assert_null(rec);

    /* A precommit at height 5 keeps its lock record (canonical CBOR: a block and its last
     * commit, embedded maps) in memory; the next signature at height 5 (a later round) writes
     * it first. It is read back for (height, round, hash) only. */
    assert_true(ul_signlog_may_sign(&l, 5, 0, UL_SIGNLOG_PRECOMMIT, hash, BLK, LAST));
    assert_false(ul_signlog_lock_load(x->f.chain, 5, 0, hash, &rec, &block, &lc));
    assert_null(rec);
    assert_true(ul_signlog_may_sign(&l, 5, 1, UL_SIGNLOG_PREVOTE, NULL, NONE, NONE));
    assert_null(l.lock);
    assert_true(ul_signlog_lock_load(x->f.chain, 5, 0, hash, &rec, &block, &lc));
    assert_int_equal(block.len, sizeof blk);
    assert_memory_equal(block.ptr, blk, sizeof blk);
    assert_int_equal(lc.len, sizeof last);
    assert_memory_equal(lc.ptr, last, sizeof last);
    free(rec);
    assert_false(ul_signlog_lock_load(x->f.chain, 5, 1, hash, &rec, &block, &lc));
    hash[0] ^= 1;
    assert_false(ul_signlog_lock_load(x->f.chain, 5, 0, hash, &rec, &block, &lc));
    hash[0] ^= 1;
    /* A block is a record holding records (a register's policy sits ten levels down): its
     * nesting counts from itself, as in a block sent whole, not from the lock record's. */
    uint8_t deep[2 * 12 + 1];
    for (size_t i = 0; i < 12; i++) {
        deep[2 * i] = 0xa1, deep[2 * i + 1] = 0x01; /* {1: {1: ... 0}} */
    }
    deep[sizeof deep - 1] = 0x00;
    assert_int_equal(ul_signlog_lock_encode(&lock, &lock_len, 6, 0, hash,
                                            (ul_span){deep, sizeof deep}, (ul_span){0}),
                     UL_OK);
    free(lock);
    /* At height 1 there is no last commit; a block that is not a map is no lock record. */
    assert_int_equal(ul_signlog_lock_encode(&lock, &lock_len, 1, 0, hash, BLK, (ul_span){0}),
                     UL_OK);
    free(lock);
    assert_int_not_equal(
        ul_signlog_lock_encode(&lock, &lock_len, 1, 0, hash, (ul_span){last + 1, 2}, (ul_span){0}),
        UL_OK);
    assert_null(lock);
    assert_true(l.st.has_lock);
    assert_int_equal(l.st.height, 5);
    ul_signlog_close(&l);
}

/* The lock record of a height decided in the precommit's round is never written; that of a
 * height still undecided when the node stops is. */
static void test_lock_kept(void **state)
{
    fx *x = *state;
    ul_signlog l;
    uint8_t hash[UL_HASH_BYTES], *rec;
    ul_span block, lc;
    memset(hash, 9, sizeof hash);
    write_file(x, 0, 0, 0);
    assert_int_equal(ul_signlog_open(&l, &x->io.io, x->f.chain, x->f.val, x->path, true), UL_OK);
    for (uint64_t h = 2; h <= 3; h++) {
        assert_true(ul_signlog_may_sign(&l, h, 0, UL_SIGNLOG_PRECOMMIT, hash, BLK, LAST));
    }
    /* Height 2 was decided (height 3 signed): its record is gone, never written. */
    assert_false(ul_signlog_lock_load(x->f.chain, 2, 0, hash, &rec, &block, &lc));
    assert_false(ul_signlog_lock_load(x->f.chain, 3, 0, hash, &rec, &block, &lc));
    ul_signlog_stop(&l, 3); /* height 3 decided too: nothing to write */
    assert_false(ul_signlog_lock_load(x->f.chain, 3, 0, hash, &rec, &block, &lc));
    ul_signlog_stop(&l, 2); /* height 3 undecided at the stop: written */
    assert_true(ul_signlog_lock_load(x->f.chain, 3, 0, hash, &rec, &block, &lc));
    assert_memory_equal(block.ptr, blk, sizeof blk);
    free(rec);
    ul_signlog_close(&l);
    assert_null(l.lock);
}

/* Out: a new memory disk, f's chain on it, and a never-signed sign log on that chain with
 * lock_durable as given. */
static void open_on_memdisk(fx *x, ul_memdisk **disk, ul_chain **c, ul_signlog *l, bool durable)
{
    write_file(x, 0, 0, 0);
    assert_int_equal(ul_memdisk_create(disk), UL_OK);
    assert_int_equal(ul_chain_open_mem(c, *disk, x->f.genesis, x->f.glen), UL_OK);
    assert_int_equal(ul_signlog_open(l, &x->io.io, *c, x->f.val, x->path, true), UL_OK);
    l->lock_durable = durable;
}

/* Signs a precommit with lock_durable as set, on a chain over a memory disk, then cuts the
 * power: returns whether the lock record is still there. */
static bool lock_survives_crash(fx *x, bool durable)
{
    ul_memdisk *disk;
    ul_chain *c;
    ul_signlog l;
    uint8_t hash[UL_HASH_BYTES], *rec;
    ul_span block, lc;
    memset(hash, 7, sizeof hash);
    open_on_memdisk(x, &disk, &c, &l, durable);
    assert_true(ul_signlog_may_sign(&l, 1, 0, UL_SIGNLOG_PRECOMMIT, hash, BLK, LAST));
    /* Killed before the block is committed (no ul_signlog_stop): unsynced writes are lost. */
    ul_signlog_close(&l);
    ul_chain_close(c);
    assert_int_equal(ul_memdisk_crash(disk, NULL), UL_OK);
    assert_int_equal(ul_chain_open_mem(&c, disk, x->f.genesis, x->f.glen), UL_OK);
    bool held = ul_signlog_lock_load(c, 1, 0, hash, &rec, &block, &lc);
    if (held) {
        assert_memory_equal(block.ptr, blk, sizeof blk);
        assert_memory_equal(lc.ptr, last, sizeof last);
        free(rec);
    }
    ul_chain_close(c);
    ul_memdisk_destroy(disk);
    return held;
}

/* A validator whose own power is a quorum and that has peers (lock_durable) syncs its lock
 * record before the precommit leaves: after a crash it still holds the block it is locked on
 * and can propose it again. Otherwise the record is kept in memory and a crash loses it. */
static void test_lock_durable(void **state)
{
    fx *x = *state;
    assert_true(lock_survives_crash(x, true));
    assert_false(lock_survives_crash(x, false));
}

/* A durable lock record that cannot be written (a full disk) refuses the precommit: the sign
 * state does not move, so the precommit can be signed once the record is written. */
static void test_lock_durable_unwritable(void **state)
{
    fx *x = *state;
    ul_memdisk *disk;
    ul_chain *c;
    ul_signlog l;
    uint8_t hash[UL_HASH_BYTES];
    memset(hash, 7, sizeof hash);
    open_on_memdisk(x, &disk, &c, &l, true);
    log_capture(x);
    ul_memdisk_set_full(disk, true);
    assert_false(ul_signlog_may_sign(&l, 1, 0, UL_SIGNLOG_PRECOMMIT, hash, BLK, LAST));
    assert_int_equal(l.fault, UL_E_NO_SPACE);
    assert_non_null(strstr(l.fault_text, "lock record")); /* not the sign state file */
    assert_int_equal(l.st.height, 0);
    ul_memdisk_set_full(disk, false);
    assert_int_equal(ul_store_recover(ul_chain_store(c)), UL_OK);
    assert_true(ul_signlog_may_sign(&l, 1, 0, UL_SIGNLOG_PRECOMMIT, hash, BLK, LAST));
    assert_int_equal(l.st.height, 1);
    /* The line that says it works again names what had failed: the lock record. */
    assert_true(log_has(x, "writing the chain database (the lock record) works again: signing"));
    ul_signlog_close(&l);
    ul_chain_close(c);
    ul_memdisk_destroy(disk);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damaged, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrate_and_lock, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lock_kept, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lock_durable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lock_durable_unwritable, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
