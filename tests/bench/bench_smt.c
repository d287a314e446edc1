/* State-tree benchmark: builds a 1,000,000-key sparse Merkle tree in a temp LevelDB the way
 * blocks do (synced WriteBatches of 2,000 updates), then measures proofs/s from the store on one
 * thread, canonical proof bytes, client verifications/s and 2,000-key update batches into the
 * full tree. Usage: bench_smt DIR [KEYS]; prints "bench: smt <figure>: <value> <unit>" lines.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"

#define BENCH_KEYS 1000000ULL
#define BENCH_BATCH 2000        /* updates per block-sized WriteBatch */
#define BENCH_SECONDS 2.0       /* per timed figure */
#define BENCH_VERIFY_PROOFS 512 /* distinct proofs cycled through by the verify loop */
#define BENCH_SIZE_SAMPLE 20000 /* proofs encoded for the mean size */
#define BENCH_UPDATE_BATCHES 10

/* Where a run leaves root(32) and key count(8 BE), so a later run over the same DIR can skip the
 * build. The update figure writes on top of it, which later runs do not read. */
static const uint8_t root_key[] = "Mbench_smt_root";

/* splitmix64: fast, seeded, good enough for benchmark inputs. */
static uint64_t rnd(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Key i is SHA-256 of i (8 bytes big-endian); its value hash depends on i and a version. */
static void key_of(uint64_t i, uint8_t key[UL_HASH_BYTES])
{
    uint8_t n8[8];
    ul_be64_put(n8, i);
    ul_client_sha256(key, n8, sizeof n8);
}

static void value_of(uint64_t i, uint64_t version, uint8_t value[UL_HASH_BYTES])
{
    uint8_t n16[16];
    ul_be64_put(n16, i);
    ul_be64_put(n16 + 8, version);
    ul_client_sha256(value, n16, sizeof n16);
}

static int cmp_update(const void *a, const void *b)
{
    return memcmp(((const ul_smt_update *)a)->key, ((const ul_smt_update *)b)->key, UL_HASH_BYTES);
}

/* Applies u (sorted here) to *root and commits it in one synced batch. */
static int apply(ul_store *s, ul_batch *b, uint8_t root[UL_HASH_BYTES], ul_smt_update *u, size_t n,
                 double *update_s)
{
    qsort(u, n, sizeof *u, cmp_update);
    double t0 = bench_now_s();
    ul_err e = ul_smt_update_root(s, b, root, u, n, root);
    *update_s += bench_now_s() - t0;
    if (e == UL_OK) {
        e = ul_store_write(s, b, true);
    }
    ul_batch_clear(b);
    if (e != UL_OK) {
        fprintf(stderr, "bench_smt: update: %s\n", ul_err_name(e));
        return 1;
    }
    return 0;
}

/* Builds the tree of keys 0..n-1, or reuses the one a previous run left in the store. */
static int build(ul_store *s, ul_batch *b, uint64_t n, uint8_t root[UL_HASH_BYTES])
{
    static ul_smt_update u[BENCH_BATCH];
    uint8_t meta[UL_HASH_BYTES + 8];
    if (ul_store_get_fixed(s, root_key, sizeof root_key - 1, meta, sizeof meta) == UL_OK &&
        ul_be64_get(meta + UL_HASH_BYTES) == n) {
        memcpy(root, meta, UL_HASH_BYTES);
        printf("bench: smt build %llu keys: reused\n", (unsigned long long)n);
        return 0;
    }
    double update_s = 0, t0 = bench_now_s();
    memset(root, 0, UL_HASH_BYTES);
    for (uint64_t i = 0; i < n;) {
        size_t k = 0;
        for (; k < BENCH_BATCH && i < n; k++, i++) {
            memset(&u[k], 0, sizeof u[k]);
            key_of(i, u[k].key);
            value_of(i, 0, u[k].value);
        }
        if (apply(s, b, root, u, k, &update_s) != 0) {
            return 1;
        }
    }
    double secs = bench_now_s() - t0;
    memcpy(meta, root, UL_HASH_BYTES);
    ul_be64_put(meta + UL_HASH_BYTES, n);
    ul_batch_put(b, root_key, sizeof root_key - 1, meta, sizeof meta);
    if (ul_store_write(s, b, true) != UL_OK) {
        return 1;
    }
    ul_batch_clear(b);
    printf("bench: smt build %llu keys: %.1f s\n", (unsigned long long)n, secs);
    printf("bench: smt build rate (2000-key synced batches): %.0f keys/s\n",
           bench_rate((double)n, secs));
    printf("bench: smt build ul_smt_update_root share: %.0f %%\n", 100 * update_s / secs);
    return 0;
}

/* Random-key proofs for BENCH_SECONDS; returns proofs/s, or -1 on failure. */
static double prove_for(ul_store *s, const uint8_t root[UL_HASH_BYTES], uint64_t n, uint64_t *seed)
{
    static ul_state_proof p;
    uint8_t key[UL_HASH_BYTES];
    uint64_t count = 0;
    double t0 = bench_now_s(), t;
    do {
        for (int j = 0; j < 256; j++, count++) {
            key_of(rnd(seed) % n, key);
            if (ul_smt_prove(s, root, key, &p) != UL_OK || !p.has_leaf) {
                fprintf(stderr, "bench_smt: prove failed\n");
                return -1;
            }
        }
        t = bench_now_s() - t0;
    } while (t < BENCH_SECONDS);
    return bench_rate((double)count, t);
}

/* The first pass fills the node cache (upper levels); a node runs with it warm. */
static int bench_proofs(ul_store *s, const uint8_t root[UL_HASH_BYTES], uint64_t n)
{
    static ul_state_proof p;
    static uint8_t buf[9216];
    uint8_t key[UL_HASH_BYTES];
    uint64_t seed = 0x5eed, bytes = 0, depth = 0;
    double cold = prove_for(s, root, n, &seed), warm = prove_for(s, root, n, &seed);
    if (cold < 0 || warm < 0) {
        return 1;
    }
    printf("bench: smt proofs/s, first %.0f s (cache filling): %.0f /s\n", BENCH_SECONDS, cold);
    printf("bench: smt proofs/s (ul_smt_prove, random keys, one thread): %.0f /s\n", warm);
    for (int j = 0; j < BENCH_SIZE_SAMPLE; j++) {
        size_t len;
        key_of(rnd(&seed) % n, key);
        if (ul_smt_prove(s, root, key, &p) != UL_OK ||
            ul_schema_state_proof_encode(buf, sizeof buf, &len, &p) != UL_OK) {
            fprintf(stderr, "bench_smt: prove/encode failed\n");
            return 1;
        }
        bytes += len;
        depth += p.depth;
    }
    printf("bench: smt mean proof bytes (canonical CBOR): %.1f bytes\n",
           (double)bytes / BENCH_SIZE_SAMPLE);
    printf("bench: smt mean proof depth: %.2f levels\n", (double)depth / BENCH_SIZE_SAMPLE);
    return 0;
}

static int bench_verify(ul_store *s, const uint8_t root[UL_HASH_BYTES], uint64_t n)
{
    ul_state_proof *p = malloc(BENCH_VERIFY_PROOFS * sizeof *p);
    uint64_t *idx = malloc(BENCH_VERIFY_PROOFS * sizeof *idx);
    uint8_t key[UL_HASH_BYTES], value[UL_HASH_BYTES];
    uint64_t seed = 0x7e51f1, count = 0;
    int rc = 1;
    if (!p || !idx) {
        goto out;
    }
    for (size_t j = 0; j < BENCH_VERIFY_PROOFS; j++) {
        idx[j] = rnd(&seed) % n;
        key_of(idx[j], key);
        if (ul_smt_prove(s, root, key, &p[j]) != UL_OK) {
            goto out;
        }
    }
    double t0 = bench_now_s(), t;
    do {
        for (size_t j = 0; j < BENCH_VERIFY_PROOFS; j++, count++) {
            key_of(idx[j], key);
            value_of(idx[j], 0, value);
            if (ul_client_state_verify(&p[j], root, key, value) != UL_OK) {
                fprintf(stderr, "bench_smt: verify failed\n");
                goto out;
            }
        }
        t = bench_now_s() - t0;
    } while (t < BENCH_SECONDS);
    printf("bench: smt verify/s (ul_client_state_verify, incl. key and value hashing): %.0f /s\n",
           bench_rate((double)count, t));
    rc = 0;
out:
    free(p);
    free(idx);
    return rc;
}

/* Block-sized batches into the full tree: half new keys, half new values of existing keys. */
static int bench_updates(ul_store *s, ul_batch *b, uint8_t root[UL_HASH_BYTES], uint64_t n)
{
    static ul_smt_update u[BENCH_BATCH];
    uint64_t seed = 0xb10c, next = n;
    double update_s = 0, t0 = bench_now_s();
    for (int r = 0; r < BENCH_UPDATE_BATCHES; r++) {
        for (size_t k = 0; k < BENCH_BATCH; k++) {
            uint64_t i = k % 2 ? next++ : rnd(&seed) % n;
            memset(&u[k], 0, sizeof u[k]);
            key_of(i, u[k].key);
            value_of(i, 1 + (uint64_t)r, u[k].value);
        }
        /* A random pick may repeat within a batch: keep one of each key. */
        qsort(u, BENCH_BATCH, sizeof *u, cmp_update);
        size_t m = 0;
        for (size_t k = 0; k < BENCH_BATCH; k++) {
            if (m == 0 || memcmp(u[m - 1].key, u[k].key, UL_HASH_BYTES) != 0) {
                u[m++] = u[k];
            }
        }
        if (apply(s, b, root, u, m, &update_s) != 0) {
            return 1;
        }
    }
    double secs = bench_now_s() - t0;
    double keys = (double)BENCH_UPDATE_BATCHES * BENCH_BATCH;
    printf("bench: smt update 2000-key batch into the full tree (ul_smt_update_root): %.1f ms\n",
           1000 * update_s / BENCH_UPDATE_BATCHES);
    printf("bench: smt update rate (ul_smt_update_root only): %.0f keys/s\n",
           bench_rate(keys, update_s));
    printf("bench: smt update rate (with synced write): %.0f keys/s\n", bench_rate(keys, secs));
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: %s DIR [KEYS]\n", argv[0]);
        return 2;
    }
    uint64_t n = argc == 3 ? strtoull(argv[2], NULL, 10) : BENCH_KEYS;
    uint8_t root[UL_HASH_BYTES];
    ul_store *s = NULL;
    ul_batch *b = ul_batch_create();
    if (n == 0 || !b || ul_client_init() != UL_OK || ul_store_open(&s, argv[1], true, 0) != UL_OK) {
        fprintf(stderr, "bench_smt: cannot open %s\n", argv[1]);
        ul_batch_destroy(b);
        return 1;
    }
    int rc = build(s, b, n, root);
    if (rc == 0) {
        printf("bench: smt store bytes per key (after build): %.0f bytes\n",
               (double)ul_store_disk_bytes(argv[1]) / (double)n);
        rc = bench_proofs(s, root, n);
    }
    if (rc == 0) {
        rc = bench_verify(s, root, n);
    }
    if (rc == 0) {
        rc = bench_updates(s, b, root, n);
    }
    ul_batch_destroy(b);
    ul_store_close(s);
    return rc;
}
