/* Unit tests for libupclient's SHA-256 (client/sha256_openssl.c or client/sha256_sodium.c, one
 * per build; make test runs this binary built with each): the FIPS 180-2 / RFC 6234 known
 * answers, one-shot and streamed, and agreement with both libraries called directly (OpenSSL's
 * EVP and libsodium) on random inputs split at random chunk boundaries.
 * UL_TEST_SEED=N repeats a run; the seed is printed at the start and with every failure.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <sodium/crypto_hash_sha256.h>
#include <sodium/randombytes.h>

#include "client/ul_client.h"

static const char *g_expect_impl; /* from the binary's name: test_sha256_<backend> */
static unsigned g_seed;

typedef struct {
    const char *msg;
    size_t repeat; /* msg is hashed this many times over (the million-'a' vector) */
    const char *hex;
} kat;

/* FIPS 180-2 appendix B and RFC 6234 section 8.5 (TEST1, TEST2_1, TEST3), plus the empty string. */
static const kat k_kats[] = {
    {"abc", 1, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
    {"", 1, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
    {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 1,
     "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
    {"a", 1000000, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"},
};

#define MILLION 1000000

static void hex_of(char out[65], const uint8_t h[32])
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < 32; i++) {
        out[2 * i] = digits[h[i] >> 4];
        out[2 * i + 1] = digits[h[i] & 15];
    }
    out[64] = '\0';
}

static uint8_t *kat_message(const kat *k, size_t *len)
{
    size_t m = strlen(k->msg);
    *len = m * k->repeat;
    uint8_t *buf = malloc(*len + 1);
    assert_non_null(buf);
    for (size_t i = 0; i < k->repeat; i++) {
        memcpy(buf + i * m, k->msg, m);
    }
    return buf;
}

static void test_impl_name(void **st)
{
    (void)st;
    const char *impl = ul_client_sha256_impl();
    print_message("SHA-256 backend: %s\n", impl);
    assert_true(strcmp(impl, "openssl") == 0 || strcmp(impl, "libsodium") == 0);
    if (g_expect_impl != NULL) {
        assert_string_equal(impl, g_expect_impl);
    }
}

static void test_known_answers(void **st)
{
    (void)st;
    for (size_t i = 0; i < sizeof(k_kats) / sizeof(k_kats[0]); i++) {
        size_t len;
        uint8_t *msg = kat_message(&k_kats[i], &len);
        uint8_t h[32];
        char hex[65];
        ul_client_sha256(h, msg, len); /* one shot */
        hex_of(hex, h);
        assert_string_equal(hex, k_kats[i].hex);
        /* Streamed one byte, then 63, 64, 65, ... bytes at a time: every block alignment. */
        ul_sha256 s;
        ul_client_sha256_init(&s);
        size_t off = 0;
        for (size_t n = 1; off < len; n = n == 1 ? 63 : n + 1) {
            size_t take = len - off < n ? len - off : n;
            ul_client_sha256_update(&s, msg + off, take);
            off += take;
        }
        ul_client_sha256_final(&s, h);
        hex_of(hex, h);
        assert_string_equal(hex, k_kats[i].hex);
        free(msg);
    }
}

/* A copied state goes on independently: the device keeps a prefix state and copies it. */
static void test_state_copy(void **st)
{
    (void)st;
    ul_sha256 a, b;
    uint8_t ha[32], hb[32], want[32];
    ul_client_sha256_init(&a);
    ul_client_sha256_update(&a, (const uint8_t *)"ab", 2);
    b = a;
    ul_client_sha256_update(&a, (const uint8_t *)"c", 1);
    ul_client_sha256_update(&b, (const uint8_t *)"c", 1);
    ul_client_sha256_final(&a, ha);
    ul_client_sha256_final(&b, hb);
    ul_client_sha256(want, (const uint8_t *)"abc", 3);
    assert_memory_equal(ha, want, 32);
    assert_memory_equal(hb, want, 32);
}

static void ref_openssl(uint8_t out[32], const uint8_t *in, size_t len)
{
    unsigned int n = 0;
    assert_int_equal(EVP_Digest(in, len, out, &n, EVP_sha256(), NULL), 1);
    assert_int_equal(n, 32);
}

#define RANDOM_INPUTS 400
#define RANDOM_MAX 20000
#define DRAWS 65536 /* random numbers for lengths and chunk sizes, more than a run uses */

/* Seeded numbers from libsodium's deterministic generator (ChaCha20 of the seed). */
static uint32_t g_draws[DRAWS];
static size_t g_next;

static size_t draw(size_t bound)
{
    return (size_t)(g_draws[g_next++ % DRAWS] % bound);
}

static void seed_draws(unsigned seed, uint8_t *data, size_t data_len)
{
    uint8_t key[randombytes_SEEDBYTES] = {0};
    memcpy(key, &seed, sizeof(seed));
    randombytes_buf_deterministic(g_draws, sizeof(g_draws), key);
    key[randombytes_SEEDBYTES - 1] = 1;
    randombytes_buf_deterministic(data, data_len, key);
    g_next = 0;
}

static void test_random_chunks(void **st)
{
    (void)st;
    uint8_t *buf = malloc(RANDOM_MAX);
    assert_non_null(buf);
    seed_draws(g_seed, buf, RANDOM_MAX);
    for (int t = 0; t < RANDOM_INPUTS; t++) {
        /* Mostly short inputs around the 64-byte block and its padding edge, some long ones;
         * each a random slice of the random data. */
        size_t len = t % 4 == 0 ? draw(RANDOM_MAX) : draw(200);
        const uint8_t *in = buf + draw(RANDOM_MAX - len + 1);
        uint8_t got[32], want_ossl[32], want_sodium[32];
        ul_sha256 s;
        ul_client_sha256_init(&s);
        for (size_t off = 0; off < len;) {
            size_t take = draw(draw(2) ? 8 : 300);
            take = take > len - off ? len - off : take;
            ul_client_sha256_update(&s, in + off, take); /* zero-length updates included */
            off += take;
        }
        ul_client_sha256_final(&s, got);
        ref_openssl(want_ossl, in, len);
        crypto_hash_sha256(want_sodium, in, len);
        if (memcmp(got, want_ossl, 32) != 0 || memcmp(got, want_sodium, 32) != 0) {
            fail_msg("seed %u input %d (%zu bytes): the backends disagree", g_seed, t, len);
        }
        ul_client_sha256(got, in, len);
        assert_memory_equal(got, want_sodium, 32);
    }
    free(buf);
}

int main(int argc, char **argv)
{
    (void)argc;
    const char *name = strrchr(argv[0], '/');
    name = name != NULL ? name + 1 : argv[0];
    if (strcmp(name, "test_sha256_sodium") == 0) {
        g_expect_impl = "libsodium";
    } else if (strcmp(name, "test_sha256_openssl") == 0) {
        g_expect_impl = "openssl";
    }
    const char *env = getenv("UL_TEST_SEED");
    g_seed = env != NULL ? (unsigned)strtoul(env, NULL, 10) : (unsigned)time(NULL);
    print_message("UL_TEST_SEED=%u\n", g_seed);
    if (ul_client_init() != UL_OK) {
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_impl_name),
        cmocka_unit_test(test_known_answers),
        cmocka_unit_test(test_state_copy),
        cmocka_unit_test(test_random_chunks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
