/* Release-log benchmark: builds (or reuses) a 1,000,000-leaf log in LevelDB the way blocks do,
 * then measures inclusion and consistency proofs per second on one thread, bytes per proof and
 * store reads per proof. Usage: bench_log [dir [leaves]]; prints "bench_log: <figure>: <value>".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ledger/ul_ledger.h"

#define BENCH_LEAVES 1000000ULL
#define BENCH_BLOCK 2048   /* leaves per synced WriteBatch, as a full block */
#define BENCH_LEAF_MIN 360 /* leaves shaped like publish txs: ~400 bytes */
#define BENCH_LEAF_SPREAD 80
#define BENCH_MIN_SECONDS 2.0
#define BENCH_MIN_PROOFS 200000ULL
#define BENCH_MAX_SECONDS 20.0   /* a slow machine still finishes */
#define BENCH_VERIFY_SAMPLE 2000 /* proofs checked with the client verifier before timing */

static const uint8_t size_key[] = "Mbench_log_size";

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* splitmix64: fast, seeded, good enough for benchmark inputs. */
static uint64_t rnd(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t stored_size(ul_store *s)
{
    uint8_t v[8];
    if (ul_store_get_fixed(s, size_key, sizeof(size_key) - 1, v, sizeof(v)) != UL_OK) {
        return 0;
    }
    return ul_be64_get(v);
}

/* Appends leaves up to `target` in synced blocks; prints the build rate. */
static int build(ul_store *s, ul_log *l, uint64_t target)
{
    ul_batch *b = ul_batch_create();
    if (!b) {
        return 1;
    }
    uint64_t seed = 0x5eed0000 + ul_log_size(l), start = ul_log_size(l);
    uint8_t leaf[BENCH_LEAF_MIN + BENCH_LEAF_SPREAD];
    double t0 = now_s();
    while (ul_log_size(l) < target) {
        for (unsigned i = 0; i < BENCH_BLOCK && ul_log_size(l) < target; i++) {
            size_t len = BENCH_LEAF_MIN + (size_t)(rnd(&seed) % BENCH_LEAF_SPREAD);
            for (size_t j = 0; j < len; j += 8) {
                uint64_t r = rnd(&seed);
                memcpy(leaf + j, &r, len - j < 8 ? len - j : 8);
            }
            if (ul_log_append(l, b, leaf, len, NULL) != UL_OK) {
                ul_batch_destroy(b);
                return 1;
            }
        }
        uint8_t v[8];
        ul_be64_put(v, ul_log_size(l));
        ul_batch_put(b, size_key, sizeof(size_key) - 1, v, sizeof(v));
        if (ul_store_write(s, b, true) != UL_OK) {
            fprintf(stderr, "bench_log: store write failed\n");
            ul_batch_destroy(b);
            return 1;
        }
        ul_log_commit(l);
        ul_batch_clear(b);
    }
    double dt = now_s() - t0;
    ul_batch_destroy(b);
    uint64_t built = ul_log_size(l) - start;
    printf("bench_log: leaves built: %llu in %.2f s\n", (unsigned long long)built, dt);
    printf("bench_log: build rate leaves/s: %.0f\n", built / (dt > 0 ? dt : 1e-9));
    printf("bench_log: build rate blocks/s (2048 leaves, synced): %.1f\n",
           (double)built / BENCH_BLOCK / (dt > 0 ? dt : 1e-9));
    return 0;
}

/* Canonical CBOR size of an inclusion proof, from the schema codec. */
static size_t inclusion_bytes(const ul_inclusion *p)
{
    static uint8_t buf[16 + UL_MAX_PROOF_DEPTH * 34];
    size_t n = 0;
    if (ul_schema_inclusion_encode(buf, sizeof(buf), &n, p) != UL_OK) {
        return 0;
    }
    return n;
}

static int check_sample(ul_log *l, uint64_t n, uint64_t *seed)
{
    uint8_t root[UL_HASH_BYTES], leaf[UL_HASH_BYTES];
    if (ul_log_root_at(l, n, root) != UL_OK) {
        return 1;
    }
    for (int i = 0; i < BENCH_VERIFY_SAMPLE; i++) {
        ul_inclusion p;
        uint64_t idx = rnd(seed) % n;
        if (ul_log_inclusion(l, idx, n, &p) != UL_OK || ul_log_leaf_hash(l, idx, leaf) != UL_OK ||
            ul_client_merkle_verify_inclusion(leaf, idx, n, (const uint8_t(*)[UL_HASH_BYTES])p.path,
                                              p.n_path, root) != UL_OK) {
            fprintf(stderr, "bench_log: inclusion proof %llu does not verify\n",
                    (unsigned long long)idx);
            return 1;
        }
    }
    return 0;
}

typedef enum { RUN_INCLUSION_FULL, RUN_INCLUSION_OLDER, RUN_CONSISTENCY } run_kind;

/* Runs one kind of proof until both the time and count minimums are met. */
static int run(ul_log *l, uint64_t n, run_kind kind, const char *label)
{
    static ul_inclusion inc;
    static ul_consistency con;
    uint64_t seed = 42 + (uint64_t)kind, count = 0, bytes = 0, paths = 0;
    uint64_t reads0 = ul_log_store_reads(l);
    double t0 = now_s(), dt = 0;
    while (dt < BENCH_MAX_SECONDS && (dt < BENCH_MIN_SECONDS || count < BENCH_MIN_PROOFS)) {
        for (int i = 0; i < 1000; i++, count++) {
            uint64_t a = rnd(&seed) % n;
            ul_err rc;
            if (kind == RUN_CONSISTENCY) {
                rc = ul_log_consistency(l, a ? a : 1, n, &con);
                paths += con.n_path;
            } else {
                uint64_t size = kind == RUN_INCLUSION_FULL ? n : a + 1 + rnd(&seed) % (n - a);
                rc = ul_log_inclusion(l, a, size, &inc);
                paths += inc.n_path;
                if (count < 10000) {
                    bytes += inclusion_bytes(&inc);
                }
            }
            if (rc != UL_OK) {
                fprintf(stderr, "bench_log: proof failed: %s\n", ul_err_name(rc));
                return 1;
            }
        }
        dt = now_s() - t0;
    }
    uint64_t reads = ul_log_store_reads(l) - reads0;
    printf("bench_log: %s proofs/s: %.0f (%llu proofs in %.2f s)\n", label, count / dt,
           (unsigned long long)count, dt);
    printf("bench_log: %s hashes per proof: %.2f\n", label, (double)paths / count);
    printf("bench_log: %s store reads per proof: %.2f\n", label, (double)reads / count);
    if (kind != RUN_CONSISTENCY) {
        uint64_t sampled = count < 10000 ? count : 10000;
        printf("bench_log: %s bytes per proof (canonical CBOR): %.1f\n", label,
               (double)bytes / sampled);
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "/tmp/ul_bench_log";
    uint64_t target = argc > 2 ? strtoull(argv[2], NULL, 10) : BENCH_LEAVES;
    ul_store *s = NULL;
    ul_log *l = NULL;
    int rc = 1;
    if (target < 2 || ul_client_init() != UL_OK) {
        fprintf(stderr, "usage: bench_log [dir [leaves>=2]]\n");
        return 2;
    }
    if (ul_store_open(&s, dir, true, 0) != UL_OK || ul_log_open(&l, s, stored_size(s)) != UL_OK) {
        fprintf(stderr, "bench_log: cannot open %s\n", dir);
        goto out;
    }
    if (ul_log_size(l) >= target) {
        printf("bench_log: reusing %s with %llu leaves\n", dir, (unsigned long long)ul_log_size(l));
    } else if (build(s, l, target) != 0) {
        goto out;
    }
    uint64_t n = ul_log_size(l);
    printf("bench_log: disk bytes: %llu\n", (unsigned long long)ul_store_disk_bytes(dir));
    /* Reopen as a restarted node would: closing waits for LevelDB's background compaction, so
     * the proof figures are not measured against a compaction still running, and they include
     * a cold log (frontier and cache loaded from the store). */
    ul_log_close(l);
    l = NULL;
    ul_store_close(s);
    s = NULL;
    double t0 = now_s();
    if (ul_store_open(&s, dir, false, 0) != UL_OK || ul_log_open(&l, s, n) != UL_OK) {
        fprintf(stderr, "bench_log: cannot reopen %s\n", dir);
        goto out;
    }
    printf("bench_log: reopen store + log (frontier, cache) s: %.3f\n", now_s() - t0);
    uint64_t seed = 7;
    if (check_sample(l, n, &seed) != 0 || run(l, n, RUN_INCLUSION_FULL, "inclusion") != 0 ||
        run(l, n, RUN_INCLUSION_OLDER, "inclusion (older size)") != 0 ||
        run(l, n, RUN_CONSISTENCY, "consistency") != 0) {
        goto out;
    }
    rc = 0;
out:
    ul_log_close(l);
    ul_store_close(s);
    return rc;
}
