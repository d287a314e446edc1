/* Chain fixtures shared by the unit tests that build chains in process (see chainfx.h): one copy
 * of the keys, genesis, transaction and commit builders those tests used to carry each. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <ftw.h>

#include "chainfx.h"

ul_key *ul_chainfx_key(const char *tag, unsigned n)
{
    uint8_t seed[32] = {0}, sk[UL_SECKEY_BYTES];
    ul_key *k = NULL;
    size_t len = strlen(tag);
    assert_true(len < sizeof seed);
    memcpy(seed, tag, len);
    seed[31] = (uint8_t)n;
    ul_client_sha256(sk, seed, sizeof seed);
    assert_int_equal(ul_key_from_secret(&k, sk), UL_OK);
    return k;
}

void ul_chainfx_tmpdir(char *root, size_t cap, const char *name)
{
    assert_int_equal(ul_client_init(), UL_OK);
    assert_true(snprintf(root, cap, "/tmp/ul-test-%s-XXXXXX", name) < (int)cap);
    assert_non_null(mkdtemp(root));
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* The memory disks of UL_TEST_STORE=mem, by the path a test gave its chain. */
#define FX_MAX_DISKS 256
static struct {
    char path[256];
    ul_memdisk *disk;
} fx_disks[FX_MAX_DISKS];

bool ul_chainfx_mem(void)
{
    const char *v = getenv("UL_TEST_STORE");
    return v && strcmp(v, "mem") == 0;
}

/* Returns: the memory disk of path, made on first use. */
static ul_memdisk *fx_disk(const char *path)
{
    size_t free_slot = FX_MAX_DISKS;
    for (size_t i = 0; i < FX_MAX_DISKS; i++) {
        if (fx_disks[i].disk && strcmp(fx_disks[i].path, path) == 0) {
            return fx_disks[i].disk;
        }
        if (!fx_disks[i].disk && free_slot == FX_MAX_DISKS) {
            free_slot = i;
        }
    }
    assert_true(free_slot < FX_MAX_DISKS);
    assert_true(strlen(path) < sizeof fx_disks[free_slot].path);
    assert_int_equal(ul_memdisk_create(&fx_disks[free_slot].disk), UL_OK);
    snprintf(fx_disks[free_slot].path, sizeof fx_disks[free_slot].path, "%s", path);
    return fx_disks[free_slot].disk;
}

ul_err ul_chainfx_chain_open(ul_chain **out, const char *dir, const uint8_t *genesis, size_t glen)
{
    if (ul_chainfx_mem()) {
        return ul_chain_open_mem(out, fx_disk(dir), genesis, glen);
    }
    return ul_chain_open(out, dir, genesis, glen);
}

ul_err ul_chainfx_store_open(ul_store **out, const char *dir, bool create)
{
    if (ul_chainfx_mem()) {
        return ul_store_open_mem(out, fx_disk(dir), create);
    }
    return ul_store_open(out, dir, create, 0);
}

ul_chain *ul_chainfx_open(const char *root, const char *name, const uint8_t *genesis, size_t glen)
{
    char dir[256];
    ul_chain *c = NULL;
    assert_true(snprintf(dir, sizeof dir, "%s/%s", root, name) < (int)sizeof dir);
    assert_int_equal(ul_chainfx_chain_open(&c, dir, genesis, glen), UL_OK);
    return c;
}

void ul_chainfx_rm_tree(const char *dir)
{
    size_t n = strlen(dir);
    for (size_t i = 0; i < FX_MAX_DISKS; i++) {
        const char *p = fx_disks[i].path;
        if (fx_disks[i].disk && strncmp(p, dir, n) == 0 && (p[n] == '\0' || p[n] == '/')) {
            ul_memdisk_destroy(fx_disks[i].disk);
            fx_disks[i].disk = NULL;
        }
    }
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int cmp_validator(const void *a, const void *b)
{
    return memcmp(a, b, UL_PUBKEY_BYTES); /* pubkey is the first member */
}

void ul_chainfx_valset(ul_valset *vs, const ul_key *const *keys, const uint64_t *power, size_t n)
{
    assert_true(n <= UL_MAX_VALIDATORS);
    memset(vs, 0, sizeof *vs);
    vs->n = n;
    for (size_t i = 0; i < n; i++) {
        memcpy(vs->v[i].pubkey, ul_key_pubkey(keys[i]), UL_PUBKEY_BYTES);
        vs->v[i].power = power[i];
    }
    qsort(vs->v, n, sizeof vs->v[0], cmp_validator);
}

void ul_chainfx_genesis(uint8_t *out, size_t cap, size_t *len, uint8_t chain_id[UL_HASH_BYTES],
                        const char *name, uint64_t time_ms, const ul_valset *vs)
{
    static ul_genesis g;
    memset(&g, 0, sizeof g);
    g.version = UL_SCHEMA_VERSION;
    g.name = ul_span_str(name);
    g.time_ms = time_ms;
    g.validators = *vs;
    assert_int_equal(ul_schema_genesis_encode(out, cap, len, &g), UL_OK);
    if (chain_id) {
        ul_client_sha256(chain_id, out, *len);
    }
}

void ul_chainfx_tx(ul_chainfx_txbuf *t, const uint8_t chain_id[UL_HASH_BYTES], uint64_t kind,
                   const uint8_t *body, size_t blen, const ul_key *const *signers, size_t n,
                   ul_domain d)
{
    static ul_tx tx;
    assert_true(n <= UL_MAX_SIGS);
    memset(&tx, 0, sizeof tx);
    tx.kind = kind;
    tx.body = (ul_span){body, blen};
    tx.n_sigs = n;
    for (size_t i = 0; i < n; i++) {
        memcpy(tx.sigs[i].pubkey, ul_key_pubkey(signers[i]), UL_PUBKEY_BYTES);
        assert_int_equal(ul_key_sign(signers[i], tx.sigs[i].sig, d, chain_id, body, blen), UL_OK);
    }
    qsort(tx.sigs, n, sizeof tx.sigs[0], cmp_validator); /* pubkey first in ul_sig too */
    assert_int_equal(ul_schema_tx_encode(t->b, sizeof t->b, &t->len, &tx), UL_OK);
}

void ul_chainfx_vote_sig(uint8_t sig[UL_SIG_BYTES], const ul_key *k, ul_domain d,
                         const uint8_t chain_id[UL_HASH_BYTES], uint64_t height, uint64_t round,
                         const uint8_t hash[UL_HASH_BYTES], uint64_t time_ms)
{
    ul_vote v = {.type = UL_VOTE_PRECOMMIT, .height = height, .round = round, .time_ms = time_ms};
    uint8_t vb[128];
    size_t vl;
    memcpy(v.block_hash, hash, UL_HASH_BYTES);
    assert_int_equal(ul_schema_vote_encode(vb, sizeof vb, &vl, &v), UL_OK);
    assert_int_equal(ul_key_sign(k, sig, d, chain_id, vb, vl), UL_OK);
}

/* Returns: the key among signers[0..n) whose public key is pub, or NULL. */
static const ul_key *signer_of(const ul_key *const *signers, size_t n,
                               const uint8_t pub[UL_PUBKEY_BYTES])
{
    for (size_t i = 0; i < n; i++) {
        if (memcmp(ul_key_pubkey(signers[i]), pub, UL_PUBKEY_BYTES) == 0) {
            return signers[i];
        }
    }
    return NULL;
}

size_t ul_chainfx_commit(uint8_t *out, size_t cap, size_t *len,
                         const uint8_t chain_id[UL_HASH_BYTES], const ul_valset *vs,
                         uint64_t height, const uint8_t hash[UL_HASH_BYTES],
                         const ul_key *const *signers, size_t n, uint64_t time_ms)
{
    static ul_commit cm;
    memset(&cm, 0, sizeof cm);
    cm.height = height;
    memcpy(cm.block_hash, hash, UL_HASH_BYTES);
    for (size_t i = 0; i < vs->n; i++) {
        const ul_key *k = signer_of(signers, n, vs->v[i].pubkey);
        if (k == NULL) {
            continue;
        }
        ul_commit_sig *s = &cm.sigs[cm.n_sigs];
        s->index = i;
        s->time_ms = time_ms + cm.n_sigs++;
        ul_chainfx_vote_sig(s->sig, k, UL_DOMAIN_VOTE, chain_id, height, 0, hash, s->time_ms);
    }
    assert_int_equal(ul_schema_commit_encode(out, cap, len, &cm), UL_OK);
    return cm.n_sigs;
}

void ul_chainfx_header(ul_chain *c, uint64_t h, ul_header *out)
{
    uint8_t *hdr;
    size_t len;
    assert_int_equal(ul_chain_header_bytes(c, h, &hdr, &len), UL_OK);
    assert_int_equal(ul_schema_header_decode(out, hdr, len), UL_OK);
    free(hdr);
}

ul_err ul_chainfx_block(ul_chain *c, uint64_t h, uint8_t **blk, size_t *blen, uint8_t **cm,
                        size_t *clen)
{
    ul_err e = ul_chain_block_bytes(c, h, blk, blen);
    if (e == UL_OK && (e = ul_chain_commit_bytes(c, h, cm, clen)) != UL_OK) {
        free(*blk);
    }
    return e;
}

ul_err ul_chainfx_seal_commit(ul_chain *c, const ul_valset *vs, const ul_key *const *signers,
                              size_t n, uint64_t time_ms, ul_header *hdr, size_t *n_sigs)
{
    static uint8_t cb[UL_MAX_COMMIT_BYTES];
    const ul_valset *cur = ul_chain_valset(c);
    ul_header h;
    uint8_t hash[UL_HASH_BYTES];
    size_t cl, k;
    assert_int_equal(ul_chain_seal(c, cur->v[0].pubkey, ul_chain_next_time(c), &h, hash), UL_OK);
    k = ul_chainfx_commit(cb, sizeof cb, &cl, ul_chain_id(c), vs ? vs : cur, h.height, hash,
                          signers, n, time_ms);
    if (hdr) {
        *hdr = h;
    }
    if (n_sigs) {
        *n_sigs = k;
    }
    return ul_chain_commit(c, cb, cl);
}
