/* Fuzz target "state proofs": each input is decoded as a ul_state_proof; whatever decodes must
 * re-encode to the same bytes, and is then verified against the root of a fixed 8-key tree for
 * every key of the tree and a few absent ones, as membership and as non-membership. Besides never
 * crashing, no proof may ever verify a false statement: a present key absent, an absent key
 * present, or a key with another value. Built with -DUL_FUZZ_GEN (without replay.c), main()
 * builds the tree in a temp store, checks FUZZ_ROOT and writes the seed corpus:
 *   cc -std=c11 -D_GNU_SOURCE -I. -DUL_FUZZ_GEN tests/fuzz/fuzz_state.c build/libupledger.a \
 *      build/libupclient.a -lleveldb -lnanomsg -ljansson -lpthread -lsecp256k1 -lsodium -lcbor \
 *      -o /tmp/gen_state && /tmp/gen_state tests/fuzz/corpus/fuzz_state
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger/ul_ledger.h"

#define N_KEYS 8
#define N_ABSENT 3

/* Root of the tree of fixed_keys() (printed by the generator, which checks it). */
static const char FUZZ_ROOT[] = "0f434c27481df81c21c8e1ab0409eb3ca160344176b5e7b6ffcefe4714fbffc8";

static uint8_t g_keys[N_KEYS][UL_HASH_BYTES], g_values[N_KEYS][UL_HASH_BYTES];
static uint8_t g_absent[N_ABSENT][UL_HASH_BYTES], g_root[UL_HASH_BYTES];
static uint8_t g_out[16384]; /* re-encodings; a deepest proof is ~8.8 KB */

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_state: %s\n", what);
        abort();
    }
}

static void flip(uint8_t *k, size_t bit)
{
    k[bit / 8] ^= (uint8_t)(0x80u >> (bit % 8));
}

/* Keys 0..5 hash a counter; key 6 differs from key 0 only in the last bit (a 256-level path),
 * key 7 from key 1 in bit 10. Absent: key 0 with bit 100 flipped (its path ends in an empty
 * subtree of the deep chain), key 2 with bit 200 flipped (ends in key 2's leaf), and a hash. */
static void fixed_keys(void)
{
    uint8_t seed[24] = "upledger fuzz state key";
    for (int i = 0; i < N_KEYS; i++) {
        seed[23] = (uint8_t)i;
        ul_client_sha256(g_keys[i], seed, sizeof seed);
    }
    memcpy(g_keys[6], g_keys[0], UL_HASH_BYTES);
    flip(g_keys[6], 255);
    memcpy(g_keys[7], g_keys[1], UL_HASH_BYTES);
    flip(g_keys[7], 10);
    for (int i = 0; i < N_KEYS; i++) {
        ul_client_sha256(g_values[i], g_keys[i], UL_HASH_BYTES);
    }
    memcpy(g_absent[0], g_keys[0], UL_HASH_BYTES);
    flip(g_absent[0], 100);
    memcpy(g_absent[1], g_keys[2], UL_HASH_BYTES);
    flip(g_absent[1], 200);
    ul_client_sha256(g_absent[2], seed, 8);
}

static void init(void)
{
    static int done;
    if (done) {
        return;
    }
    done = 1;
    check(ul_client_init() == UL_OK, "init");
    fixed_keys();
    for (size_t i = 0; i < UL_HASH_BYTES; i++) {
        unsigned v = 0;
        check(sscanf(FUZZ_ROOT + 2 * i, "%2x", &v) == 1, "FUZZ_ROOT");
        g_root[i] = (uint8_t)v;
    }
}

/* The oracle: what p proves about every known key. */
static void verify_all(const ul_state_proof *p)
{
    uint8_t wrong[UL_HASH_BYTES];
    for (int i = 0; i < N_KEYS; i++) {
        memcpy(wrong, g_values[i], UL_HASH_BYTES);
        wrong[0] ^= 1;
        check(ul_client_state_verify(p, g_root, g_keys[i], NULL) != UL_OK, "present key absent");
        check(ul_client_state_verify(p, g_root, g_keys[i], wrong) != UL_OK, "wrong value");
        /* Either verdict is right for a fuzzed proof: this only runs the code for the
         * sanitizers. (GCC warns through a (void) cast of the call, not of a variable.) */
        ul_err any = ul_client_state_verify(p, g_root, g_keys[i], g_values[i]);
        (void)any;
    }
    for (int i = 0; i < N_ABSENT; i++) {
        check(ul_client_state_verify(p, g_root, g_absent[i], g_values[0]) != UL_OK,
              "absent key present");
        ul_err any = ul_client_state_verify(p, g_root, g_absent[i], NULL); /* as above */
        (void)any;
    }
    if (p->has_leaf && ul_client_state_verify(p, g_root, p->leaf_key, p->leaf_value) == UL_OK) {
        int known = 0;
        for (int i = 0; i < N_KEYS; i++) {
            known |= memcmp(p->leaf_key, g_keys[i], UL_HASH_BYTES) == 0 &&
                     memcmp(p->leaf_value, g_values[i], UL_HASH_BYTES) == 0;
        }
        check(known, "a pair the tree does not hold verified");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static ul_state_proof p;
    size_t len;

    init();
    if (ul_schema_state_proof_decode(&p, data, size) != UL_OK) {
        return 0;
    }
    check(ul_schema_state_proof_encode(g_out, sizeof g_out, &len, &p) == UL_OK, "re-encode");
    check(len == size && memcmp(g_out, data, size) == 0, "round trip differs");
    verify_all(&p);
    return 0;
}

#ifdef UL_FUZZ_GEN
/* ---- seed corpus generator ---------------------------------------------------------------- */

#include <ftw.h>

static const char *g_outdir;

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void put(const char *name, const uint8_t *p, size_t n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", g_outdir, name);
    FILE *f = fopen(path, "wb");
    check(f != NULL, "open output");
    check(fwrite(p, 1, n, f) == n || n == 0, "write");
    fclose(f);
}

static int cmp_update(const void *a, const void *b)
{
    return memcmp(((const ul_smt_update *)a)->key, ((const ul_smt_update *)b)->key, UL_HASH_BYTES);
}

/* Proves key (mapped to value, or absent when value is NULL), checks the proof's shape
 * (want_leaf < 0: either) and that it verifies, writes it and a truncated copy. */
static void seed(ul_store *s, const uint8_t *key, const uint8_t *value, int want_leaf,
                 const char *name)
{
    static ul_state_proof p;
    static uint8_t buf[16384];
    size_t len;
    char trunc[128];
    check(ul_smt_prove(s, g_root, key, &p) == UL_OK, "prove");
    check(want_leaf < 0 || p.has_leaf == (want_leaf != 0), "proof shape");
    check(ul_client_state_verify(&p, g_root, key, value) == UL_OK, "seed does not verify");
    check(ul_schema_state_proof_encode(buf, sizeof buf, &len, &p) == UL_OK, "encode");
    printf("%-24s depth %3llu, %zu siblings, %zu bytes\n", name, (unsigned long long)p.depth,
           p.n_siblings, len);
    put(name, buf, len);
    snprintf(trunc, sizeof trunc, "%s-truncated", name);
    put(trunc, buf, len - 1);
    LLVMFuzzerTestOneInput(buf, len);
}

int main(int argc, char **argv)
{
    static ul_smt_update u[N_KEYS];
    char dir[] = "/tmp/ul-fuzz-state-XXXXXX", hex[2 * UL_HASH_BYTES + 1];
    uint8_t zero[UL_HASH_BYTES] = {0}, root[UL_HASH_BYTES];
    ul_store *s = NULL;
    ul_batch *b = ul_batch_create();

    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    g_outdir = argv[1];
    check(ul_client_init() == UL_OK, "init");
    fixed_keys();
    check(b != NULL && mkdtemp(dir) != NULL, "temp store");
    check(ul_store_open(&s, dir, true, 0) == UL_OK, "store");
    for (int i = 0; i < N_KEYS; i++) {
        memcpy(u[i].key, g_keys[i], UL_HASH_BYTES);
        memcpy(u[i].value, g_values[i], UL_HASH_BYTES);
    }
    qsort(u, N_KEYS, sizeof u[0], cmp_update);
    check(ul_smt_update_root(s, b, zero, u, N_KEYS, root) == UL_OK, "update");
    check(ul_store_write(s, b, false) == UL_OK, "write");
    for (size_t i = 0; i < UL_HASH_BYTES; i++) {
        snprintf(hex + 2 * i, 3, "%02x", root[i]);
    }
    printf("root %s\n", hex);
    fflush(stdout);
    check(strcmp(hex, FUZZ_ROOT) == 0, "FUZZ_ROOT is not this tree's root: update it");
    init();

    seed(s, g_keys[0], g_values[0], 1, "member-deepest");
    seed(s, g_keys[3], g_values[3], 1, "member");
    seed(s, g_keys[7], g_values[7], 1, "member-bit10");
    seed(s, g_absent[0], NULL, 0, "absent-by-empty");
    seed(s, g_absent[1], NULL, 1, "absent-by-leaf");
    seed(s, g_absent[2], NULL, -1, "absent-random");
    static const uint8_t empty_tree[] = {0xa3, 0x01, 0x00, 0x02, 0x40, 0x03, 0x80};
    put("empty-tree", empty_tree, sizeof empty_tree);
    put("empty", NULL, 0);

    ul_store_close(s);
    ul_batch_destroy(b);
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}
#endif
