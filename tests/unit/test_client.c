/* Unit tests for libupclient's crypto and commit code: SHA-256, domain-separated signatures
 * (signing with a test-only secp256k1 context), the BIP-340 verification vectors, quorum
 * verification of commits and the weighted-median block time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <secp256k1.h>
#include <secp256k1_extrakeys.h>
#include <secp256k1_schnorrsig.h>
#include <sodium.h>

#include "client/ul_client.h"

typedef struct {
    ul_valset set;
    uint8_t sk[UL_MAX_VALIDATORS][UL_SECKEY_BYTES]; /* sk[i] signs for set.v[i] */
} fixture;

static secp256k1_context *g_ctx; /* signing happens only in tests: the client never signs */
static uint8_t g_chain[UL_HASH_BYTES];
static uint8_t g_other_chain[UL_HASH_BYTES];

/* ---- helpers ------------------------------------------------------------------------------ */

static void unhex(uint8_t *out, size_t n, const char *hex)
{
    assert_int_equal(strlen(hex), 2 * n);
    assert_int_equal(sodium_hex2bin(out, n, hex, 2 * n, NULL, NULL, NULL), 0);
}

static void pubkey_of(uint8_t pk32[UL_PUBKEY_BYTES], const uint8_t sk32[UL_SECKEY_BYTES])
{
    secp256k1_keypair kp;
    secp256k1_xonly_pubkey xpk;

    assert_true(secp256k1_keypair_create(g_ctx, &kp, sk32));
    assert_true(secp256k1_keypair_xonly_pub(g_ctx, &xpk, NULL, &kp));
    assert_true(secp256k1_xonly_pubkey_serialize(g_ctx, pk32, &xpk));
}

static void sign_digest(uint8_t sig64[UL_SIG_BYTES], const uint8_t sk32[UL_SECKEY_BYTES],
                        const uint8_t digest32[UL_HASH_BYTES])
{
    secp256k1_keypair kp;
    uint8_t aux[32];

    randombytes_buf(aux, sizeof(aux));
    assert_true(secp256k1_keypair_create(g_ctx, &kp, sk32));
    assert_true(secp256k1_schnorrsig_sign32(g_ctx, sig64, digest32, &kp, aux));
}

static void sign_msg(uint8_t sig64[UL_SIG_BYTES], const uint8_t sk32[UL_SECKEY_BYTES], ul_domain d,
                     const uint8_t chain32[UL_HASH_BYTES], const uint8_t *msg, size_t len)
{
    uint8_t digest[UL_HASH_BYTES];

    ul_client_signed_digest(digest, d, chain32, msg, len);
    sign_digest(sig64, sk32, digest);
}

/* Deterministic validator keys, sorted by public key as a canonical set must be. */
static void make_set(fixture *f, size_t n, const uint64_t *powers)
{
    assert_true(n <= UL_MAX_VALIDATORS);
    memset(f, 0, sizeof(*f));
    f->set.n = n;
    for (size_t i = 0; i < n; i++) {
        uint8_t seed[40] = "upledger test validator";

        seed[39] = (uint8_t)i;
        crypto_hash_sha256(f->sk[i], seed, sizeof(seed));
        pubkey_of(f->set.v[i].pubkey, f->sk[i]);
    }
    for (size_t i = 1; i < n; i++) {
        for (size_t j = i; j > 0 && memcmp(f->set.v[j - 1].pubkey, f->set.v[j].pubkey, 32) > 0;
             j--) {
            ul_validator tv = f->set.v[j];
            uint8_t tk[UL_SECKEY_BYTES];

            f->set.v[j] = f->set.v[j - 1];
            f->set.v[j - 1] = tv;
            memcpy(tk, f->sk[j], sizeof(tk));
            memcpy(f->sk[j], f->sk[j - 1], sizeof(tk));
            memcpy(f->sk[j - 1], tk, sizeof(tk));
        }
    }
    for (size_t i = 0; i < n; i++) {
        f->set.v[i].power = powers != NULL ? powers[i] : 1;
    }
}

/* Signs a vote of the given type as validator `index`, over the canonical vote bytes. */
static void sign_vote(uint8_t sig64[UL_SIG_BYTES], const fixture *f, size_t index, uint64_t type,
                      const ul_commit *c, uint64_t time_ms, ul_domain d,
                      const uint8_t chain32[UL_HASH_BYTES])
{
    uint8_t buf[256];
    size_t len = 0;
    ul_vote v;

    memset(&v, 0, sizeof(v));
    v.type = type;
    v.height = c->height;
    v.round = c->round;
    memcpy(v.block_hash, c->block_hash, UL_HASH_BYTES);
    v.time_ms = time_ms;
    assert_int_equal(ul_schema_vote_encode(buf, sizeof(buf), &len, &v), UL_OK);
    sign_msg(sig64, f->sk[index], d, chain32, buf, len);
}

static const uint8_t g_block[UL_HASH_BYTES] = {0xb1, 0x0c, 0x4, 0x11, 0x22, 0x33};
#define HEIGHT 42
#define ROUND 3

/* A commit for g_block at HEIGHT signed by validators idx[0..k), each at 1000 + 10 * index. */
static void make_commit(ul_commit *c, const fixture *f, const size_t *idx, size_t k)
{
    memset(c, 0, sizeof(*c));
    c->height = HEIGHT;
    c->round = ROUND;
    memcpy(c->block_hash, g_block, UL_HASH_BYTES);
    c->n_sigs = k;
    for (size_t i = 0; i < k; i++) {
        ul_commit_sig *s = &c->sigs[i];

        s->index = idx[i];
        s->time_ms = 1000 + 10 * idx[i];
        sign_vote(s->sig, f, idx[i], UL_VOTE_PRECOMMIT, c, s->time_ms, UL_DOMAIN_VOTE, g_chain);
    }
}

static ul_err verify(const ul_commit *c, const fixture *f)
{
    return ul_client_commit_verify(c, &f->set, g_chain, HEIGHT, g_block);
}

static int setup(void **state)
{
    (void)state;
    if (ul_client_init() != UL_OK) {
        return -1;
    }
    g_ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    if (g_ctx == NULL) {
        return -1;
    }
    crypto_hash_sha256(g_chain, (const uint8_t *)"test genesis", 12);
    crypto_hash_sha256(g_other_chain, (const uint8_t *)"other genesis", 13);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    secp256k1_context_destroy(g_ctx);
    return 0;
}

/* ---- hashing and domains ------------------------------------------------------------------ */

static void test_init_idempotent(void **state)
{
    (void)state;
    assert_int_equal(ul_client_init(), UL_OK);
    assert_int_equal(ul_client_init(), UL_OK);
}

static void test_sha256(void **state)
{
    static const uint8_t msg[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    uint8_t want[32];
    uint8_t got[32];
    ul_sha256 s;

    (void)state;
    /* FIPS 180-2 examples. */
    unhex(want, 32, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    ul_client_sha256(got, (const uint8_t *)"abc", 3);
    assert_memory_equal(got, want, 32);
    unhex(want, 32, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    ul_client_sha256(got, msg, sizeof(msg) - 1);
    assert_memory_equal(got, want, 32);
    /* Streaming in uneven pieces gives the one-shot hash. */
    ul_client_sha256_init(&s);
    ul_client_sha256_update(&s, msg, 1);
    ul_client_sha256_update(&s, msg + 1, 0);
    ul_client_sha256_update(&s, msg + 1, 30);
    ul_client_sha256_update(&s, msg + 31, sizeof(msg) - 32);
    ul_client_sha256_final(&s, got);
    assert_memory_equal(got, want, 32);
    unhex(want, 32, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    ul_client_sha256(got, NULL, 0);
    assert_memory_equal(got, want, 32);
}

static const char *const k_tags[UL_DOMAIN_COUNT_] = {
    "upledger/v1/release",  "upledger/v1/tx",      "upledger/v1/vote",       "upledger/v1/proposal",
    "upledger/v1/transfer", "upledger/v1/peer",    "upledger/v1/checkpoint", "upledger/v1/report",
    "upledger/v1/reply",    "upledger/v1/summary",
};

/* Recomputes the BIP-340 tagged hash from the tag strings, which also checks the tag-hash
 * table client/crypto.c keeps precomputed. */
static void test_domain_digests(void **state)
{
    static const uint8_t msg[] = "a message";
    uint8_t digests[UL_DOMAIN_COUNT_][32];

    (void)state;
    for (int d = 0; d < UL_DOMAIN_COUNT_; d++) {
        crypto_hash_sha256_state st;
        uint8_t th[32];
        uint8_t want[32];

        assert_string_equal(ul_client_domain_tag((ul_domain)d), k_tags[d]);
        crypto_hash_sha256(th, (const uint8_t *)k_tags[d], strlen(k_tags[d]));
        crypto_hash_sha256_init(&st);
        crypto_hash_sha256_update(&st, th, 32);
        crypto_hash_sha256_update(&st, th, 32);
        crypto_hash_sha256_update(&st, g_chain, 32);
        crypto_hash_sha256_update(&st, msg, sizeof(msg));
        crypto_hash_sha256_final(&st, want);
        ul_client_signed_digest(digests[d], (ul_domain)d, g_chain, msg, sizeof(msg));
        assert_memory_equal(digests[d], want, 32);
        for (int e = 0; e < d; e++) {
            assert_memory_not_equal(digests[d], digests[e], 32);
        }
    }
    assert_string_equal(ul_client_domain_tag(UL_DOMAIN_COUNT_), "");
    assert_string_equal(ul_client_domain_tag((ul_domain)-1), "");
}

static void test_sig_domain_separation(void **state)
{
    uint8_t msg[64];
    uint8_t sk[32];
    uint8_t pk[32];
    uint8_t other_pk[32];
    uint8_t bad_pk[32];
    uint8_t sig[64];
    uint8_t digest[32];

    (void)state;
    memset(msg, 0x5a, sizeof(msg));
    memset(sk, 0x07, sizeof(sk));
    pubkey_of(pk, sk);
    memset(sk, 0x08, sizeof(sk));
    pubkey_of(other_pk, sk);
    memset(sk, 0x07, sizeof(sk));
    /* x = field size p + 1: not a field element, so no key (BIP-340 vector 14's key). */
    unhex(bad_pk, 32, "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFC30");
    for (int d = 0; d < UL_DOMAIN_COUNT_; d++) {
        sign_msg(sig, sk, (ul_domain)d, g_chain, msg, sizeof(msg));
        assert_int_equal(ul_client_sig_verify(sig, (ul_domain)d, g_chain, msg, sizeof(msg), pk),
                         UL_OK);
        ul_client_signed_digest(digest, (ul_domain)d, g_chain, msg, sizeof(msg));
        assert_int_equal(ul_client_sig_verify_digest(sig, digest, pk), UL_OK);
        for (int e = 0; e < UL_DOMAIN_COUNT_; e++) {
            if (e != d) {
                assert_int_equal(
                    ul_client_sig_verify(sig, (ul_domain)e, g_chain, msg, sizeof(msg), pk),
                    UL_E_SIG);
            }
        }
        assert_int_equal(ul_client_sig_verify(sig, UL_DOMAIN_COUNT_, g_chain, msg, sizeof(msg), pk),
                         UL_E_SIG);
        assert_int_equal(
            ul_client_sig_verify(sig, (ul_domain)d, g_other_chain, msg, sizeof(msg), pk), UL_E_SIG);
        for (size_t i = 0; i < sizeof(msg); i += 7) {
            msg[i] ^= 0x01;
            assert_int_equal(ul_client_sig_verify(sig, (ul_domain)d, g_chain, msg, sizeof(msg), pk),
                             UL_E_SIG);
            msg[i] ^= 0x01;
        }
        assert_int_equal(ul_client_sig_verify(sig, (ul_domain)d, g_chain, msg, sizeof(msg) - 1, pk),
                         UL_E_SIG);
        sig[63] ^= 0x01;
        assert_int_equal(ul_client_sig_verify(sig, (ul_domain)d, g_chain, msg, sizeof(msg), pk),
                         UL_E_SIG);
        sig[63] ^= 0x01;
        assert_int_equal(
            ul_client_sig_verify(sig, (ul_domain)d, g_chain, msg, sizeof(msg), other_pk), UL_E_SIG);
        assert_int_equal(ul_client_sig_verify(sig, (ul_domain)d, g_chain, msg, sizeof(msg), bad_pk),
                         UL_E_KEY);
        assert_int_equal(ul_client_sig_verify_digest(sig, digest, bad_pk), UL_E_KEY);
    }
}

/* BIP-340 verification vectors 0..14, from bitcoin/bips bip-0340/test-vectors.csv (commit
 * 7e8b5dfc304c0e3cd646b54bc49e23fad692d11e, the final even-y version): public key, message,
 * signature, expected result. Later upstream revisions add vectors 15..18 for messages that
 * are not 32 bytes; upledger only ever verifies 32-byte digests. */
static const struct {
    const char *pk;
    const char *msg;
    const char *sig;
    ul_err want;
} k_bip340[] = {
    {"F9308A019258C31049344F85F89D5229B531C845836F99B08601F113BCE036F9",
     "0000000000000000000000000000000000000000000000000000000000000000",
     "E907831F80848D1069A5371B402410364BDF1C5F8307B0084C55F1CE2DCA8215"
     "25F66A4A85EA8B71E482A74F382D2CE5EBEEE8FDB2172F477DF4900D310536C0",
     UL_OK},
    {"DFF1D77F2A671C5F36183726DB2341BE58FEAE1DA2DECED843240F7B502BA659",
     "243F6A8885A308D313198A2E03707344A4093822299F31D0082EFA98EC4E6C89",
     "6896BD60EEAE296DB48A229FF71DFE071BDE413E6D43F917DC8DCF8C78DE3341"
     "8906D11AC976ABCCB20B091292BFF4EA897EFCB639EA871CFA95F6DE339E4B0A",
     UL_OK},
    {"DD308AFEC5777E13121FA72B9CC1B7CC0139715309B086C960E18FD969774EB8",
     "7E2D58D8B3BCDF1ABADEC7829054F90DDA9805AAB56C77333024B9D0A508B75C",
     "5831AAEED7B44BB74E5EAB94BA9D4294C49BCF2A60728D8B4C200F50DD313C1B"
     "AB745879A5AD954A72C45A91C3A51D3C7ADEA98D82F8481E0E1E03674A6F3FB7",
     UL_OK},
    {"25D1DFF95105F5253C4022F628A996AD3A0D95FBF21D468A1B33F8C160D8F517",
     "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF",
     "7EB0509757E246F19449885651611CB965ECC1A187DD51B64FDA1EDC9637D5EC"
     "97582B9CB13DB3933705B32BA982AF5AF25FD78881EBB32771FC5922EFC66EA3",
     UL_OK},
    {"D69C3509BB99E412E68B0FE8544E72837DFA30746D8BE2AA65975F29D22DC7B9",
     "4DF3C3F68FCC83B27E9D42C90431A72499F17875C81A599B566C9889B9696703",
     "00000000000000000000003B78CE563F89A0ED9414F5AA28AD0D96D6795F9C63"
     "76AFB1548AF603B3EB45C9F8207DEE1060CB71C04E80F593060B07D28308D7F4",
     UL_OK},
    /* 5: public key not on the curve */
    {"EEFDEA4CDB677750A420FEE807EACF21EB9898AE79B9768766E4FAA04A2D4A34",
     "243F6A8885A308D313198A2E03707344A4093822299F31D0082EFA98EC4E6C89",
     "6CFF5C3BA86C69EA4B7376F31A9BCB4F74C1976089B2D9963DA2E5543E177769"
     "69E89B4C5564D00349106B8497785DD7D1D713A8AE82B32FA79D5F7FC407D39B",
     UL_E_KEY},
    /* 6: has_even_y(R) is false */
    {"DFF1D77F2A671C5F36183726DB2341BE58FEAE1DA2DECED843240F7B502BA659",
     "243F6A8885A308D313198A2E03707344A4093822299F31D0082EFA98EC4E6C89",
     "FFF97BD5755EEEA420453A14355235D382F6472F8568A18B2F057A1460297556"
     "3CC27944640AC607CD107AE10923D9EF7A73C643E166BE5EBEAFA34B1AC553E2",
     UL_E_SIG},
    /* 7: negated message */
    {"DFF1D77F2A671C5F36183726DB2341BE58FEAE1DA2DECED843240F7B502BA659",
     "243F6A8885A308D313198A2E03707344A4093822299F31D0082EFA98EC4E6C89",
     "1FA62E331EDBC21C394792D2AB1100A7B432B013DF3F6FF4F99FCB33E0E1515F"
     "28890B3EDB6E7189B630448B515CE4F8622A954CFE545735AAEA5134FCCDB2BD",
     UL_E_SIG},
    /* 8: negated s value */
    {"DFF1D77F2A671C5F36183726DB2341BE58FEAE1DA2DECED843240F7B502BA659",
     "243F6A8885A308D313198A2E03707344A4093822299F31D0082EFA98EC4E6C89",
     "6CFF5C3BA86C69EA4B7376F31A9BCB4F74C1976089B2D9963DA2E5543E177769"
     "961764B3AA9B2FFCB6EF947B6887A226E8D7C93E00C5ED0C1834FF0D0C2E6DA6",
     UL_E_SIG},
    /* 9: sG - eP is infinite (x(inf) taken as 0) */
    {"DFF1D77F2A671C5F36183726DB2341BE58FEAE1DA2DECED843240F7B502BA659",
     "243F6A8885A308D313198A2E03707344A4093822299F31D0082EFA98EC4E6C89",
     "0000000000000000000000000000000000000000000000000000000000000000"
     "123DDA8328AF9C23A94C1FEECFD123BA4FB73476F0D594DCB65C6425BD186051",
     UL_E_SIG},
    /* 10: sG - eP is infinite (x(inf) taken as 1) */
    {"DFF1D77F2A671C5F36183726DB2341BE58FEAE1DA2DECED843240F7B502BA659",
     "243F6A8885A308D313198A2E03707344A4093822299F31D0082EFA98EC4E6C89",
     "0000000000000000000000000000000000000000000000000000000000000001"
     "7615FBAF5AE28864013C099742DEADB4DBA87F11AC6754F93780D5A1837CF197",
     UL_E_SIG},
    /* 11: sig[0:32] is not an X coordinate on the curve */
    {"DFF1D77F2A671C5F36183726DB2341BE58FEAE1DA2DECED843240F7B502BA659",
     "243F6A8885A308D313198A2E03707344A4093822299F31D0082EFA98EC4E6C89",
     "4A298DACAE57395A15D0795DDBFD1DCB564DA82B0F269BC70A74F8220429BA1D"
     "69E89B4C5564D00349106B8497785DD7D1D713A8AE82B32FA79D5F7FC407D39B",
     UL_E_SIG},
    /* 12: sig[0:32] is equal to the field size */
    {"DFF1D77F2A671C5F36183726DB2341BE58FEAE1DA2DECED843240F7B502BA659",
     "243F6A8885A308D313198A2E03707344A4093822299F31D0082EFA98EC4E6C89",
     "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFC2F"
     "69E89B4C5564D00349106B8497785DD7D1D713A8AE82B32FA79D5F7FC407D39B",
     UL_E_SIG},
    /* 13: sig[32:64] is equal to the curve order */
    {"DFF1D77F2A671C5F36183726DB2341BE58FEAE1DA2DECED843240F7B502BA659",
     "243F6A8885A308D313198A2E03707344A4093822299F31D0082EFA98EC4E6C89",
     "6CFF5C3BA86C69EA4B7376F31A9BCB4F74C1976089B2D9963DA2E5543E177769"
     "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141",
     UL_E_SIG},
    /* 14: public key is not a valid X coordinate because it exceeds the field size */
    {"FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFC30",
     "243F6A8885A308D313198A2E03707344A4093822299F31D0082EFA98EC4E6C89",
     "6CFF5C3BA86C69EA4B7376F31A9BCB4F74C1976089B2D9963DA2E5543E177769"
     "69E89B4C5564D00349106B8497785DD7D1D713A8AE82B32FA79D5F7FC407D39B",
     UL_E_KEY},
};

static void test_bip340_vectors(void **state)
{
    (void)state;
    assert_int_equal(sizeof(k_bip340) / sizeof(k_bip340[0]), 15);
    for (size_t i = 0; i < sizeof(k_bip340) / sizeof(k_bip340[0]); i++) {
        uint8_t pk[32];
        uint8_t msg[32];
        uint8_t sig[64];

        unhex(pk, 32, k_bip340[i].pk);
        unhex(msg, 32, k_bip340[i].msg);
        unhex(sig, 64, k_bip340[i].sig);
        if (ul_client_sig_verify_digest(sig, msg, pk) != k_bip340[i].want) {
            fail_msg("BIP-340 vector %zu: got %d", i, ul_client_sig_verify_digest(sig, msg, pk));
        }
    }
}

/* ---- commits ------------------------------------------------------------------------------ */

/* n validators of power 1: more than 2/3 is floor(2n/3) + 1 signers; one fewer fails. */
static void check_equal_power(size_t n)
{
    fixture f;
    ul_commit c;
    size_t idx[UL_MAX_VALIDATORS];
    size_t k = 2 * n / 3 + 1;

    make_set(&f, n, NULL);
    for (size_t i = 0; i < n; i++) {
        idx[i] = i;
    }
    make_commit(&c, &f, idx, n);
    assert_int_equal(verify(&c, &f), UL_OK);
    make_commit(&c, &f, idx, k);
    assert_int_equal(verify(&c, &f), UL_OK);
    make_commit(&c, &f, idx + (n - k), k);
    assert_int_equal(verify(&c, &f), UL_OK);
    make_commit(&c, &f, idx, k - 1);
    assert_int_equal(verify(&c, &f), UL_E_QUORUM);
    make_commit(&c, &f, idx + (n - k + 1), k - 1);
    assert_int_equal(verify(&c, &f), UL_E_QUORUM);
}

static void test_commit_quorum_1(void **state)
{
    (void)state;
    check_equal_power(1);
}

static void test_commit_quorum_4(void **state)
{
    (void)state;
    check_equal_power(4);
}

static void test_commit_quorum_7(void **state)
{
    (void)state;
    check_equal_power(7);
}

static void test_commit_quorum_weighted(void **state)
{
    static const uint64_t powers[4] = {1, 1, 1, 3};
    static const uint64_t big[4] = {1ULL << 58, 1ULL << 58, 1ULL << 58, 1ULL << 58};
    static const size_t exactly_two_thirds[] = {0, 3};
    static const size_t over[] = {0, 1, 3};
    static const size_t small_three[] = {0, 1, 2};
    fixture f;
    ul_commit c;

    (void)state;
    make_set(&f, 4, powers);
    /* 4 of 6 is exactly 2/3: not more. */
    make_commit(&c, &f, exactly_two_thirds, 2);
    assert_int_equal(verify(&c, &f), UL_E_QUORUM);
    make_commit(&c, &f, over, 3);
    assert_int_equal(verify(&c, &f), UL_OK);
    /* Three of four signers, but only half the power. */
    make_commit(&c, &f, small_three, 3);
    assert_int_equal(verify(&c, &f), UL_E_QUORUM);
    /* Total power at UL_MAX_TOTAL_POWER: the 3x products must not overflow. */
    make_set(&f, 4, big);
    make_commit(&c, &f, small_three, 3);
    assert_int_equal(verify(&c, &f), UL_OK);
    make_commit(&c, &f, over, 2);
    assert_int_equal(verify(&c, &f), UL_E_QUORUM);
    /* A set past the bound, or with a zero-power member, backs no commit. */
    f.set.v[3].power++;
    make_commit(&c, &f, small_three, 3);
    assert_int_equal(verify(&c, &f), UL_E_VALIDATOR);
    make_set(&f, 4, NULL);
    f.set.v[2].power = 0;
    make_commit(&c, &f, over, 3);
    assert_int_equal(verify(&c, &f), UL_E_VALIDATOR);
}

static void test_commit_indexes(void **state)
{
    static const size_t good[] = {0, 1, 2};
    fixture f;
    ul_commit c;
    ul_commit bad;

    (void)state;
    make_set(&f, 4, NULL);
    make_commit(&c, &f, good, 3);
    assert_int_equal(verify(&c, &f), UL_OK);
    /* Duplicate signer: each signature is genuine, but one validator counted twice. */
    bad = c;
    bad.sigs[2] = bad.sigs[1];
    assert_int_equal(verify(&bad, &f), UL_E_VALIDATOR);
    /* Descending order. */
    bad = c;
    bad.sigs[0] = c.sigs[1];
    bad.sigs[1] = c.sigs[0];
    assert_int_equal(verify(&bad, &f), UL_E_VALIDATOR);
    /* Index past the set, and far past it. */
    bad = c;
    bad.sigs[2].index = 4;
    assert_int_equal(verify(&bad, &f), UL_E_VALIDATOR);
    bad.sigs[2].index = UINT64_MAX;
    assert_int_equal(verify(&bad, &f), UL_E_VALIDATOR);
    /* More signatures than members. */
    bad = c;
    bad.n_sigs = 5;
    assert_int_equal(verify(&bad, &f), UL_E_VALIDATOR);
    bad.n_sigs = UL_MAX_VALIDATORS + 1;
    assert_int_equal(verify(&bad, &f), UL_E_VALIDATOR);
    /* Empty set, empty commit. */
    f.set.n = 0;
    bad = c;
    bad.n_sigs = 0;
    assert_int_equal(verify(&bad, &f), UL_E_QUORUM);
    f.set.n = UL_MAX_VALIDATORS + 1;
    assert_int_equal(verify(&bad, &f), UL_E_VALIDATOR);
}

static void test_commit_binding(void **state)
{
    static const size_t good[] = {0, 1, 2};
    fixture f;
    ul_commit c;
    ul_commit bad;
    uint8_t other[UL_HASH_BYTES];

    (void)state;
    make_set(&f, 4, NULL);
    make_commit(&c, &f, good, 3);
    assert_int_equal(ul_client_commit_verify(&c, &f.set, g_chain, HEIGHT + 1, g_block),
                     UL_E_HEIGHT);
    memcpy(other, g_block, sizeof(other));
    other[31] ^= 1;
    assert_int_equal(ul_client_commit_verify(&c, &f.set, g_chain, HEIGHT, other), UL_E_HEADER_LINK);
    assert_int_equal(ul_client_commit_verify(&c, &f.set, g_other_chain, HEIGHT, g_block), UL_E_SIG);
    /* A commit relabelled to another height or round no longer matches what was signed. */
    bad = c;
    bad.height = HEIGHT + 1;
    assert_int_equal(ul_client_commit_verify(&bad, &f.set, g_chain, HEIGHT + 1, g_block), UL_E_SIG);
    bad = c;
    bad.round = ROUND + 1;
    assert_int_equal(verify(&bad, &f), UL_E_SIG);
    bad = c;
    bad.sigs[1].time_ms++;
    assert_int_equal(verify(&bad, &f), UL_E_SIG);
}

static void test_commit_forgeries(void **state)
{
    static const size_t all[] = {0, 1, 2, 3};
    fixture f;
    ul_commit c;
    ul_commit bad;

    (void)state;
    make_set(&f, 4, NULL);
    make_commit(&c, &f, all, 4);
    assert_int_equal(verify(&c, &f), UL_OK);
    /* A forged fourth signature fails the commit although three would be a quorum. */
    bad = c;
    bad.sigs[3].sig[10] ^= 0x40;
    assert_int_equal(verify(&bad, &f), UL_E_SIG);
    /* Validator 1's signature presented as validator 2's (same time, so only the key differs). */
    bad = c;
    bad.sigs[2].time_ms = c.sigs[1].time_ms;
    memcpy(bad.sigs[2].sig, c.sigs[1].sig, UL_SIG_BYTES);
    assert_int_equal(verify(&bad, &f), UL_E_SIG);
    /* A prevote for the same block, height, round and time is not a precommit. */
    bad = c;
    sign_vote(bad.sigs[0].sig, &f, 0, UL_VOTE_PREVOTE, &c, c.sigs[0].time_ms, UL_DOMAIN_VOTE,
              g_chain);
    assert_int_equal(verify(&bad, &f), UL_E_SIG);
    /* The precommit bytes signed under another domain, or for another chain. */
    bad = c;
    sign_vote(bad.sigs[0].sig, &f, 0, UL_VOTE_PRECOMMIT, &c, c.sigs[0].time_ms, UL_DOMAIN_PROPOSAL,
              g_chain);
    assert_int_equal(verify(&bad, &f), UL_E_SIG);
    bad = c;
    sign_vote(bad.sigs[0].sig, &f, 0, UL_VOTE_PRECOMMIT, &c, c.sigs[0].time_ms, UL_DOMAIN_VOTE,
              g_other_chain);
    assert_int_equal(verify(&bad, &f), UL_E_SIG);
    /* Re-signing with the right key restores it. */
    sign_vote(bad.sigs[0].sig, &f, 0, UL_VOTE_PRECOMMIT, &c, c.sigs[0].time_ms, UL_DOMAIN_VOTE,
              g_chain);
    assert_int_equal(verify(&bad, &f), UL_OK);
    /* A member whose key does not parse cannot have signed. */
    memset(f.set.v[0].pubkey, 0xff, UL_PUBKEY_BYTES);
    assert_int_equal(verify(&c, &f), UL_E_SIG);
}

/* ---- block time --------------------------------------------------------------------------- */

static void set_times(ul_commit *c, const uint64_t *t)
{
    for (size_t i = 0; i < c->n_sigs; i++) {
        c->sigs[i].time_ms = t[i];
    }
}

static void test_commit_time(void **state)
{
    static const size_t all[] = {0, 1, 2, 3};
    static const uint64_t weighted[4] = {1, 1, 1, 10};
    static const uint64_t t4[] = {400, 100, 300, 200};
    static const uint64_t t_late_heavy[] = {100, 200, 300, 50};
    static const uint64_t t_same[] = {7, 7, 7, 7};
    fixture f;
    ul_commit c;

    (void)state;
    make_set(&f, 4, NULL);
    make_commit(&c, &f, all, 4);
    /* Equal power, times 100..400: 2 of 4 is not more than half; 3 of 4 is, at 300. */
    set_times(&c, t4);
    assert_int_equal(ul_client_commit_time(&c, &f.set), 300);
    /* Three signers at 400, 100, 300: two of three by 300. */
    c.n_sigs = 3;
    assert_int_equal(ul_client_commit_time(&c, &f.set), 300);
    c.n_sigs = 4;
    set_times(&c, t_same);
    assert_int_equal(ul_client_commit_time(&c, &f.set), 7);
    /* One validator with 10 of 13: its time is the median whatever the others say. */
    make_set(&f, 4, weighted);
    make_commit(&c, &f, all, 4);
    set_times(&c, t_late_heavy);
    assert_int_equal(ul_client_commit_time(&c, &f.set), 50);
    c.sigs[3].time_ms = 1000;
    assert_int_equal(ul_client_commit_time(&c, &f.set), 1000);
    /* Power 10 of 12 among signers 0, 1 and 3. */
    c.sigs[2] = c.sigs[3];
    c.n_sigs = 3;
    assert_int_equal(ul_client_commit_time(&c, &f.set), 1000);
    /* A single signer, and nothing at all. */
    c.n_sigs = 1;
    assert_int_equal(ul_client_commit_time(&c, &f.set), 100);
    c.n_sigs = 0;
    assert_int_equal(ul_client_commit_time(&c, &f.set), 0);
}

static void test_commit_time_max_set(void **state)
{
    fixture f;
    ul_commit c;
    size_t idx[UL_MAX_VALIDATORS];

    (void)state;
    make_set(&f, UL_MAX_VALIDATORS, NULL);
    for (size_t i = 0; i < UL_MAX_VALIDATORS; i++) {
        idx[i] = i;
    }
    make_commit(&c, &f, idx, UL_MAX_VALIDATORS);
    assert_int_equal(verify(&c, &f), UL_OK);
    /* Times in reverse index order, 64 of them: 33 of 64 is the first majority. */
    for (size_t i = 0; i < UL_MAX_VALIDATORS; i++) {
        c.sigs[i].time_ms = 10000 - i;
    }
    assert_int_equal(ul_client_commit_time(&c, &f.set), 10000 - 31);
}

static void test_valset_hash(void **state)
{
    uint8_t buf[UL_MAX_VALSET_BYTES];
    uint8_t want[32];
    uint8_t got[32];
    uint8_t got2[32];
    size_t len = 0;
    fixture f;

    (void)state;
    make_set(&f, 7, NULL);
    assert_int_equal(ul_schema_valset_encode(buf, sizeof(buf), &len, &f.set), UL_OK);
    crypto_hash_sha256(want, buf, len);
    assert_int_equal(ul_client_valset_hash(got, &f.set), UL_OK);
    assert_memory_equal(got, want, 32);
    f.set.v[6].power = 2;
    assert_int_equal(ul_client_valset_hash(got2, &f.set), UL_OK);
    assert_memory_not_equal(got, got2, 32);
    /* The largest set fits the stack buffer. */
    make_set(&f, UL_MAX_VALIDATORS, NULL);
    assert_int_equal(ul_client_valset_hash(got, &f.set), UL_OK);
    /* An invalid set has no hash: the encoder's error comes back. */
    f.set.v[0].power = 0;
    assert_int_not_equal(ul_client_valset_hash(got, &f.set), UL_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_idempotent),
        cmocka_unit_test(test_sha256),
        cmocka_unit_test(test_domain_digests),
        cmocka_unit_test(test_sig_domain_separation),
        cmocka_unit_test(test_bip340_vectors),
        cmocka_unit_test(test_commit_quorum_1),
        cmocka_unit_test(test_commit_quorum_4),
        cmocka_unit_test(test_commit_quorum_7),
        cmocka_unit_test(test_commit_quorum_weighted),
        cmocka_unit_test(test_commit_indexes),
        cmocka_unit_test(test_commit_binding),
        cmocka_unit_test(test_commit_forgeries),
        cmocka_unit_test(test_commit_time),
        cmocka_unit_test(test_commit_time_max_set),
        cmocka_unit_test(test_valset_hash),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
