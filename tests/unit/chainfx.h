/* Chain fixtures shared by the unit tests that build chains in process (test_chain, test_valset,
 * test_update): deterministic keys, a genesis of a chosen validator set, signed transactions, and
 * blocks sealed and committed with precommits of a chosen subset of the validators, as the
 * validators themselves would sign them. Every helper fails the running cmocka test on any error
 * it does not return. */
#ifndef UL_TESTS_CHAINFX_H
#define UL_TESTS_CHAINFX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ledger/ul_ledger.h"

/* Returns: the key whose secret is SHA-256 of tag (zero-padded to 32 bytes) with n as its last
 * byte. Each test passes its own tag: keys differ between test files, never between runs. */
ul_key *ul_chainfx_key(const char *tag, unsigned n);

/* Initialises the client library and makes a fresh directory /tmp/ul-test-NAME-XXXXXX.
 * Out: root[cap], its path. */
void ul_chainfx_tmpdir(char *root, size_t cap, const char *name);
/* Removes dir and everything below it (not following links), and the memory disks of the
 * chains opened below it (close those chains first). */
void ul_chainfx_rm_tree(const char *dir);
/* Returns: true when UL_TEST_STORE=mem: chains opened through the fixtures then live on memory
 * disks (ul_chain_open_mem), one per path, kept across close and reopen until rm_tree. */
bool ul_chainfx_mem(void);
/* ul_chain_open of dir, or ul_chain_open_mem of dir's memory disk under UL_TEST_STORE=mem. */
ul_err ul_chainfx_chain_open(ul_chain **out, const char *dir, const uint8_t *genesis, size_t glen);
/* ul_store_open of dir (create: creating), or the store of dir's memory disk under
 * UL_TEST_STORE=mem: a test reaching under a chain writes where the chain reads. */
ul_err ul_chainfx_store_open(ul_store **out, const char *dir, bool create);
/* Opens (creating) the chain of genesis[glen] in root/name; fails the test on any error. */
ul_chain *ul_chainfx_open(const char *root, const char *name, const uint8_t *genesis, size_t glen);

/* Out: vs, the n keys with power[i] each, in canonical order (ascending public key). */
void ul_chainfx_valset(ul_valset *vs, const ul_key *const *keys, const uint64_t *power, size_t n);

/* Out: out[cap] and *len, a genesis (this schema version, name, time_ms) of validator set vs;
 * chain_id (may be NULL), its SHA-256. */
void ul_chainfx_genesis(uint8_t *out, size_t cap, size_t *len, uint8_t chain_id[UL_HASH_BYTES],
                        const char *name, uint64_t time_ms, const ul_valset *vs);

/* A transaction's bytes. */
typedef struct {
    uint8_t b[UL_MAX_TX_BYTES];
    size_t len;
} ul_chainfx_txbuf;

/* Out: t, a transaction of kind wrapping body with one signature per signer under domain d for
 * chain_id, sorted by public key (canonical). */
void ul_chainfx_tx(ul_chainfx_txbuf *t, const uint8_t chain_id[UL_HASH_BYTES], uint64_t kind,
                   const uint8_t *body, size_t blen, const ul_key *const *signers, size_t n,
                   ul_domain d);

/* Out: sig, k's signature under domain d for chain_id of the precommit vote (height, round,
 * hash, time_ms). */
void ul_chainfx_vote_sig(uint8_t sig[UL_SIG_BYTES], const ul_key *k, ul_domain d,
                         const uint8_t chain_id[UL_HASH_BYTES], uint64_t height, uint64_t round,
                         const uint8_t hash[UL_HASH_BYTES], uint64_t time_ms);

/* Out: out[cap] and *len, the round-0 commit of (height, hash) for chain_id: a precommit by each
 * member of vs whose key is among signers[0..n) (others are skipped; in set order, index = place
 * in vs), the k-th of them timed time_ms + k.
 * Returns: the number of precommits in it. */
size_t ul_chainfx_commit(uint8_t *out, size_t cap, size_t *len,
                         const uint8_t chain_id[UL_HASH_BYTES], const ul_valset *vs,
                         uint64_t height, const uint8_t hash[UL_HASH_BYTES],
                         const ul_key *const *signers, size_t n, uint64_t time_ms);

/* Out: out, the committed header of c at height h. */
void ul_chainfx_header(ul_chain *c, uint64_t h, ul_header *out);
/* Out: the committed block and commit of c at height h, as an audit source serves them (the
 * caller frees both). Returns: UL_OK; ul_chain_block_bytes' or ul_chain_commit_bytes' error
 * (nothing to free). */
ul_err ul_chainfx_block(ul_chain *c, uint64_t h, uint8_t **blk, size_t *blen, uint8_t **cm,
                        size_t *clen);

/* Seals c's pending block at ul_chain_next_time(c), proposed by the first member of the set that
 * signs it, and commits it with ul_chainfx_commit's precommits by the members of vs (NULL: that
 * set) among signers, timed from time_ms. Out (each may be NULL): *hdr, the sealed header;
 * *n_sigs, the precommits given.
 * Returns: ul_chain_commit's verdict. */
ul_err ul_chainfx_seal_commit(ul_chain *c, const ul_valset *vs, const ul_key *const *signers,
                              size_t n, uint64_t time_ms, ul_header *hdr, size_t *n_sigs);

#endif
