/* Fuzz target "policy evaluation": builds a namespace policy from the input (canonical CBOR through
 * ul_schema_policy_decode, or a compact byte form parsed here so mutations reach odd policies
 * quickly), a signer set, a validator set and a release, then runs every contracts/ function
 * twice: results must be identical (determinism), and abort() on any broken invariant. Slices of
 * the input also drive the client's version and constraint functions.
 *
 * Input: byte 0 selects the form. Even: 2-byte big-endian length L, L bytes of policy CBOR, then
 * the scenario bytes. Odd: the compact policy, then the scenario bytes (see policy_compact and
 * scenario_read). Bytes past the end read as 0. Built with -DUL_FUZZ_GEN (without replay.c),
 * main() writes the seed corpus:
 *   cc -std=c11 -D_GNU_SOURCE -I. -DUL_FUZZ_GEN tests/fuzz/fuzz_policy.c build/libupledger.a \
 *      build/libupclient.a -lsecp256k1 -lsodium -lcbor -o /tmp/gen_policy \
 *      && /tmp/gen_policy tests/fuzz/corpus/fuzz_policy
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/ul_client.h"
#include "contracts/ul_contracts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_POOL 20 /* keys 0..15 may sit in key sets; 16..19 only sign or validate */
#define FZ_SET_POOL 16
#define FZ_RESULTS 256

static const char *const g_names[] = {"a",      "ab",         "b",         "cert", "certifier",
                                      "owners", "publishers", "regulator", "z",    ""};
static const char *const g_hw[] = {"board-a", "board-b", "board-c", "board-x"};
static uint8_t g_key[FZ_POOL][UL_PUBKEY_BYTES];

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "fuzz_policy: %s\n", what);
        abort();
    }
}

/* Pool key i: 32 bytes of 0x30 + i, so the pool is sorted by index, the last byte stepped until
 * it is an x-only point (the contracts refuse keys that can never sign). */
static void keys_init(void)
{
    for (size_t i = 0; i < FZ_POOL; i++) {
        memset(g_key[i], 0x30 + (int)i, UL_PUBKEY_BYTES);
        while (ul_client_pubkey_check(g_key[i]) != UL_OK) {
            g_key[i][UL_PUBKEY_BYTES - 1]++;
        }
    }
}

/* ---- input reading ------------------------------------------------------------------------ */

typedef struct {
    const uint8_t *p;
    size_t n, i;
} reader;

static uint8_t get(reader *r)
{
    return r->i < r->n ? r->p[r->i++] : 0;
}

static uint64_t get16(reader *r)
{
    uint64_t hi = get(r);
    return hi << 8 | get(r);
}

static ul_span name_at(uint8_t b)
{
    return ul_span_str(g_names[b % (sizeof(g_names) / sizeof(g_names[0]))]);
}

/* A key set from a 16-bit mask over the pool (sorted, unique), capped at UL_MAX_KEYS keys, and a
 * threshold of 0..n+1 so unusable sets occur too. */
static void keyset_read(reader *r, ul_keyset *ks)
{
    unsigned mask = (unsigned)get16(r);
    uint8_t t = get(r);

    memset(ks, 0, sizeof(*ks));
    for (unsigned b = 0; b < FZ_SET_POOL && ks->n < UL_MAX_KEYS; b++) {
        if (mask & (1u << b)) {
            memcpy(ks->keys[ks->n++], g_key[b], UL_PUBKEY_BYTES);
        }
    }
    ks->threshold = t % (ks->n + 2);
}

/* Compact policy: owners, publishers, roles (count, then name and key set each), requirements
 * (count, then kind and role names), hw, revokers, eos flag and 16-bit eos. Counts stay within
 * the arrays; names and thresholds may break the consistency rules on purpose. */
static void policy_compact(reader *r, ul_policy *p)
{
    memset(p, 0, sizeof(*p));
    keyset_read(r, &p->owners);
    keyset_read(r, &p->publishers);
    p->n_roles = get(r) % (UL_MAX_ROLES + 1);
    for (size_t i = 0; i < p->n_roles; i++) {
        p->roles[i].name = name_at(get(r));
        keyset_read(r, &p->roles[i].keys);
    }
    p->n_require = get(r) % (UL_KIND_MAX_ + 2);
    for (size_t i = 0; i < p->n_require; i++) {
        p->require[i].kind = get(r) % (UL_KIND_MAX_ + 2);
        p->require[i].n = get(r) % 4;
        for (size_t j = 0; j < p->require[i].n; j++) {
            p->require[i].roles[j] = name_at(get(r));
        }
    }
    p->n_hw = get(r) % 4;
    for (size_t i = 0; i < p->n_hw; i++) {
        p->hw[i] = ul_span_str(g_hw[i]);
    }
    p->n_revokers = get(r) % 4;
    for (size_t i = 0; i < p->n_revokers; i++) {
        p->revokers[i] = name_at(get(r));
    }
    p->has_eos = get(r) & 1;
    p->eos = get16(r);
}

/* ---- scenario ----------------------------------------------------------------------------- */

typedef struct {
    uint64_t kind, now;
    size_t n_sigs;
    ul_sig sigs[UL_MAX_SIGS + 1];
    ul_valset vs;
    ul_release rel;
    ul_rotate rot;
    ul_transfer tr;
    ul_span role; /* the role approved */
} scenario;

/* kind, now (16 bits), signers (0..UL_MAX_SIGS + 1 keys of the pool, repeats allowed), validators
 * (0..5, power 0..3), release hw classes, approve role, rotation target and key set, successor
 * key sets. */
static void scenario_read(reader *r, scenario *s)
{
    memset(s, 0, sizeof(*s));
    s->kind = get(r) % (UL_KIND_MAX_ + 2);
    s->now = get16(r);
    s->n_sigs = get(r) % (UL_MAX_SIGS + 2);
    for (size_t i = 0; i < s->n_sigs; i++) {
        memcpy(s->sigs[i].pubkey, g_key[get(r) % FZ_POOL], UL_PUBKEY_BYTES);
    }
    s->vs.n = get(r) % 6;
    for (size_t i = 0; i < s->vs.n; i++) {
        memcpy(s->vs.v[i].pubkey, g_key[get(r) % FZ_POOL], UL_PUBKEY_BYTES);
        s->vs.v[i].power = get(r) % 4;
    }
    s->rel.n_hw = get(r) % 4;
    for (size_t i = 0; i < s->rel.n_hw; i++) {
        s->rel.hw[i] = ul_span_str(g_hw[get(r) % 4]);
    }
    s->role = name_at(get(r));
    s->rot.target = name_at(get(r));
    keyset_read(r, &s->rot.keys);
    keyset_read(r, &s->tr.owners);
    keyset_read(r, &s->tr.publishers);
}

/* ---- invariants --------------------------------------------------------------------------- */

static bool policy_same(const ul_policy *a, const ul_policy *b)
{
    return memcmp(a, b, offsetof(ul_policy, has_eos)) == 0 && a->has_eos == b->has_eos &&
           a->eos == b->eos;
}

static bool in_set(const ul_keyset *ks, const uint8_t *key)
{
    for (size_t i = 0; i < ks->n; i++) {
        if (memcmp(ks->keys[i], key, UL_PUBKEY_BYTES) == 0) {
            return true;
        }
    }
    return false;
}

/* ul_policy_signers recomputed the slow way, from its contract. */
static ul_err signers_model(const ul_keyset *ks, const ul_sig *sigs, size_t n)
{
    size_t distinct = 0;

    if (n > UL_MAX_SIGS) {
        return UL_E_LIMIT;
    }
    if (ks->n > UL_MAX_KEYS || ks->threshold < 1 || ks->threshold > ks->n) {
        return UL_E_POLICY;
    }
    for (size_t i = 0; i < n; i++) {
        if (!in_set(ks, sigs[i].pubkey)) {
            return UL_E_NOT_OWNER;
        }
    }
    for (size_t i = 0; i < n; i++) {
        bool dup = false;
        for (size_t j = 0; j < i; j++) {
            dup = dup || memcmp(sigs[i].pubkey, sigs[j].pubkey, UL_PUBKEY_BYTES) == 0;
        }
        distinct += !dup;
    }
    return distinct >= ks->threshold ? UL_OK : UL_E_THRESHOLD;
}

/* Entries sorted by name (byte-wise, prefix first), keys strictly ascending, within bounds. */
static void approvals_sorted(const ul_approvals *a)
{
    check(a->n <= UL_MAX_ROLES, "approvals: too many roles");
    for (size_t i = 0; i < a->n; i++) {
        const ul_role_approvals *e = &a->roles[i];
        check(e->n >= 1 && e->n <= UL_MAX_KEYS, "approvals: entry size");
        for (size_t k = 1; k < e->n; k++) {
            check(memcmp(e->keys[k - 1], e->keys[k], UL_PUBKEY_BYTES) < 0, "approvals: keys");
        }
        if (i > 0) {
            ul_span x = a->roles[i - 1].role, y = e->role;
            size_t m = x.len < y.len ? x.len : y.len;
            int c = m ? memcmp(x.ptr, y.ptr, m) : 0;
            check(c < 0 || (c == 0 && x.len < y.len), "approvals: role order");
        }
    }
}

/* The signers as a key set's own keys: what a full approval of ks looks like. */
static size_t sigs_of(ul_sig *out, const ul_keyset *ks)
{
    memset(out, 0, UL_MAX_KEYS * sizeof(*out));
    for (size_t i = 0; i < ks->n && i < UL_MAX_KEYS; i++) {
        memcpy(out[i].pubkey, ks->keys[i], UL_PUBKEY_BYTES);
    }
    return ks->n;
}

/* ---- evaluation --------------------------------------------------------------------------- */

typedef struct {
    size_t n;
    uint64_t v[FZ_RESULTS];
    ul_approvals approved;
    ul_policy rotated, transferred;
} results;

static void put(results *out, uint64_t v)
{
    check(out->n < FZ_RESULTS, "results overflow");
    out->v[out->n++] = v;
}

/* A policy is valid when its own owners may set it again: ul_policy_set re-checks every rule. */
/* The contracts' verdict on p as a new policy signed by all its owners (UL_E_POLICY when the
 * owners set is beyond its array). */
static ul_err policy_verdict(const ul_policy *p)
{
    ul_sig all[UL_MAX_KEYS];
    size_t n = sigs_of(all, &p->owners);
    return p->owners.n <= UL_MAX_KEYS ? ul_policy_set(p, p, all, n) : UL_E_POLICY;
}

static bool policy_valid(const ul_policy *p)
{
    return policy_verdict(p) == UL_OK;
}

/* Signers against every key set, release fit. */
static void eval_signers(const ul_policy *p, const scenario *s, results *out)
{
    ul_err e;

    put(out, ul_policy_signers(&p->owners, s->sigs, s->n_sigs, UL_E_NOT_OWNER));
    check(out->v[out->n - 1] == signers_model(&p->owners, s->sigs, s->n_sigs), "signers model");
    put(out, ul_policy_signers(&p->publishers, s->sigs, s->n_sigs, UL_E_NOT_OWNER));
    check(out->v[out->n - 1] == signers_model(&p->publishers, s->sigs, s->n_sigs), "model");
    for (size_t i = 0; i < p->n_roles; i++) {
        put(out, ul_policy_signers(&p->roles[i].keys, s->sigs, s->n_sigs, UL_E_NOT_OWNER));
        check(out->v[out->n - 1] == signers_model(&p->roles[i].keys, s->sigs, s->n_sigs),
              "signers model (role)");
    }
    e = ul_policy_check_release(p, &s->rel, s->sigs, s->n_sigs);
    put(out, e);
    if (e == UL_OK) {
        check(ul_policy_signers(&p->publishers, s->sigs, s->n_sigs, UL_E_NOT_PUBLISHER) == UL_OK,
              "release accepted without the publishers");
        for (size_t i = 0; i < s->rel.n_hw && p->n_hw > 0; i++) {
            bool ok = false;
            for (size_t j = 0; j < p->n_hw; j++) {
                ok = ok || ul_span_eq(s->rel.hw[i], p->hw[j]);
            }
            check(ok, "release accepted with a hardware class outside the policy");
        }
    }
}

/* Approve by the scenario's signers; installability; full approvals of a valid policy. */
static void eval_approvals(const ul_policy *p, const scenario *s, bool valid, results *out)
{
    static const ul_approvals zero;
    ul_approvals a = zero, full = zero, before;
    ul_sig all[UL_MAX_KEYS];
    ul_err e = ul_policy_approve(p, s->role, s->sigs, s->n_sigs, &a);

    put(out, e);
    if (e != UL_OK) {
        check(memcmp(&a, &zero, sizeof(a)) == 0, "refused approval changed the approvals");
    } else {
        approvals_sorted(&a);
        before = a;
        check(ul_policy_approve(p, s->role, s->sigs, s->n_sigs, &a) == UL_E_APPROVED,
              "repeated approval not UL_E_APPROVED");
        check(memcmp(&a, &before, sizeof(a)) == 0, "repeated approval changed the approvals");
    }
    for (size_t i = 0; i < p->n_roles; i++) {
        size_t n = sigs_of(all, &p->roles[i].keys);
        e = ul_policy_approve(p, p->roles[i].name, all, n, &full);
        check(!valid || e == UL_OK, "full approval of a valid role refused");
        approvals_sorted(&full);
    }
    for (uint64_t k = 0; k <= UL_KIND_MAX_ + 1; k++) {
        bool some = ul_policy_installable(p, k, &a);
        bool all_roles = ul_policy_installable(p, k, &full);
        bool required = false;
        for (size_t i = 0; i < p->n_require; i++) {
            required = required || p->require[i].kind == k;
        }
        put(out, some);
        put(out, all_roles);
        check(!valid || all_roles, "not installable after every role approved");
        check(!valid || ul_policy_installable(p, k, &zero) == !required,
              "installable without approvals");
    }
    out->approved = a;
}

/* Revoke, rotate and transfer on copies, set policy. */
static void eval_authority(const ul_policy *p, const scenario *s, bool valid, results *out)
{
    ul_policy q = *p;
    ul_err e = ul_policy_revoke(p, s->sigs, s->n_sigs);
    bool owners_ok = ul_policy_signers(&p->owners, s->sigs, s->n_sigs, UL_E_NOT_OWNER) == UL_OK;

    put(out, e);
    for (size_t i = 0; e == UL_OK && i < s->n_sigs; i++) {
        bool member = false;
        for (size_t k = 0; k < p->n_revokers; k++) {
            const ul_keyset *ks = ul_policy_keyset(p, p->revokers[k]);
            member = member || (ks != NULL && in_set(ks, s->sigs[i].pubkey));
        }
        check(member, "revoked by a signer outside every revoker set");
    }
    e = ul_policy_rotate(&q, &s->rot, s->sigs, s->n_sigs);
    put(out, e);
    if (e != UL_OK) {
        check(policy_same(&q, p), "refused rotation changed the policy");
    } else {
        const ul_keyset *ks = ul_policy_keyset(&q, s->rot.target);
        check(owners_ok && ks != NULL, "rotation without the owners");
        check(memcmp(ks, &s->rot.keys, sizeof(*ks)) == 0, "rotation not applied");
        check(!valid || policy_valid(&q), "rotation broke a valid policy");
    }
    out->rotated = q;
    put(out, ul_policy_set(p, &q, s->sigs, s->n_sigs));
    q = *p;
    e = ul_policy_transfer(&q, &s->tr, s->sigs, s->n_sigs, &s->vs, s->now);
    put(out, e);
    if (e != UL_OK) {
        check(policy_same(&q, p), "refused transfer changed the policy");
    } else {
        check(owners_ok || (p->has_eos && s->now >= p->eos), "validators transferred before EOS");
        check(memcmp(&q.owners, &s->tr.owners, sizeof(q.owners)) == 0, "transfer not applied");
        check(!valid || policy_valid(&q), "transfer broke a valid policy");
    }
    out->transferred = q;
}

static void evaluate(const ul_policy *p, const scenario *s, bool decoded, results *out)
{
    bool valid = policy_valid(p);

    memset(out, 0, sizeof(*out));
    /* The decoder checks structure; whether each key is a curve point only the contracts do. */
    check(!decoded || valid || policy_verdict(p) == UL_E_KEY,
          "decoded policy fails the contracts' consistency rules");
    put(out, valid);
    eval_signers(p, s, out);
    eval_approvals(p, s, valid, out);
    eval_authority(p, s, valid, out);
}

/* ---- versions ----------------------------------------------------------------------------- */

static void version_checks(const uint8_t *d, size_t n)
{
    uint8_t buf[UL_MAX_LABEL_LEN + 4];
    /* d[0] = k, constraint d[1..1+k), one separator byte, version d[2+k..n). */
    size_t k = n ? d[0] % n : 0;
    const uint8_t *c = d + (n ? 1 : 0), *vs = c + k + (n >= k + 2 ? 1 : 0);
    size_t vlen = n >= k + 2 ? n - 2 - k : 0;
    ul_version v, w;
    ul_err ec = ul_client_constraint_check(c, k);

    check(ec == ul_client_constraint_check(c, k), "constraint check not deterministic");
    memset(&v, 0, sizeof(v));
    if (ul_client_version_parse(&v, vs, vlen) == UL_OK) {
        check(ul_client_version_cmp(&v, &v) == 0, "cmp(v, v) != 0");
        check(ul_client_version_parse(&w, vs, vlen) == UL_OK && ul_client_version_cmp(&v, &w) == 0,
              "parse not deterministic");
        if (vlen + 2 <= sizeof(buf)) {
            static const char *ops[] = {"=", ">=", "<=", ">", "<"};
            for (size_t i = 0; i < 5; i++) {
                size_t ol = strlen(ops[i]);
                memcpy(buf, ops[i], ol);
                memcpy(buf + ol, vs, vlen);
                ul_err want = i < 3 ? UL_OK : UL_E_DEPENDENCY;
                check(ul_client_constraint_match(buf, ol + vlen, &v) == want, "op v vs v");
            }
        }
    }
    ul_err em = ul_client_constraint_match(c, k, &v);
    check((ec == UL_E_VERSION_STR) == (em == UL_E_VERSION_STR), "check and match disagree (parse)");
    check(em != UL_OK || ec == UL_OK, "a version matches an unsatisfiable constraint");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static ul_policy p;
    static scenario s;
    static results r1, r2;
    reader rd = {data, size, 1};
    bool decoded = false;

    keys_init();
    if (size == 0) {
        return 0;
    }
    if ((data[0] & 1) == 0) {
        size_t len = (size_t)get16(&rd);
        if (len > size - rd.i || ul_schema_policy_decode(&p, data + rd.i, len) != UL_OK) {
            version_checks(data, size);
            return 0;
        }
        rd.i += len;
        decoded = true;
    } else {
        policy_compact(&rd, &p);
    }
    scenario_read(&rd, &s);
    evaluate(&p, &s, decoded, &r1);
    evaluate(&p, &s, decoded, &r2);
    check(r1.n == r2.n && memcmp(r1.v, r2.v, r1.n * sizeof(r1.v[0])) == 0 &&
              memcmp(&r1.approved, &r2.approved, sizeof(r1.approved)) == 0 &&
              policy_same(&r1.rotated, &r2.rotated) &&
              policy_same(&r1.transferred, &r2.transferred),
          "evaluation not deterministic");
    version_checks(data + rd.i, rd.i < size ? size - rd.i : 0);
    version_checks(data, size);
    return 0;
}

#ifdef UL_FUZZ_GEN
/* ---- seed corpus generator ---------------------------------------------------------------- */

static const char *g_outdir;

static void write_seed(const char *name, const uint8_t *b, size_t n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", g_outdir, name);
    FILE *f = fopen(path, "wb");
    check(f != NULL, "open output");
    check(fwrite(b, 1, n, f) == n, "write");
    fclose(f);
    LLVMFuzzerTestOneInput(b, n); /* every seed must pass the target's own checks */
    printf("%-28s %zu bytes\n", name, n);
}

/* Compact policy: owners 0..2 (2 of 3), publishers 3..4 (1 of 2), roles "a" (8..9, 1 of 2) and
 * "certifier" (5..7, 2 of 3); security needs both, feature the certifier; hw board-a, board-b;
 * revokers certifier and owners; end of support at 0x0100. */
/* clang-format off */
static const uint8_t g_policy[] = {
    0x00, 0x07, 2, 0x00, 0x18, 1,                      /* owners, publishers */
    2, 0, 0x03, 0x00, 1, 4, 0x00, 0xe0, 2,             /* roles */
    2, 0, 2, 0, 4, 1, 1, 4,                            /* requirements */
    2, 2, 4, 5, 1, 0x01, 0x00,                         /* hw, revokers, eos */
};
/* clang-format on */

static void seed(const char *name, bool cbor, const uint8_t *scn, size_t scn_len, const char *tail)
{
    static uint8_t buf[4096];
    size_t n = 0;

    if (cbor) {
        ul_policy p;
        reader rd = {g_policy, sizeof(g_policy), 0};
        size_t len = 0;
        policy_compact(&rd, &p);
        check(policy_valid(&p), "seed policy invalid");
        check(ul_schema_policy_encode(buf + 3, 1024, &len, &p) == UL_OK, "policy encode");
        buf[0] = 0;
        buf[1] = (uint8_t)(len >> 8);
        buf[2] = (uint8_t)len;
        n = 3 + len;
    } else {
        buf[0] = 1;
        memcpy(buf + 1, g_policy, sizeof(g_policy));
        n = 1 + sizeof(g_policy);
    }
    memcpy(buf + n, scn, scn_len);
    n += scn_len;
    memcpy(buf + n, tail, strlen(tail));
    write_seed(name, buf, n + strlen(tail));
}

int main(int argc, char **argv)
{
    /* kind, now(2), n_sigs, keys, n_val, (key, power)..., n_hw, hw..., role, rot target,
     * rot keyset(3), successor owners(3), successor publishers(3) */
    /* clang-format off */
    static const uint8_t certify[] = {0, 0x00, 0x10, 2, 5, 6, 3, 16, 1, 17, 1, 18, 1, 1, 0,
                                      4, 4, 0x00, 0xc0, 1, 0x0c, 0x00, 1, 0x10, 0x00, 1};
    static const uint8_t owners[] = {1, 0x00, 0x10, 2, 0, 1, 0, 1, 2, 4, 6, 0x01, 0x00, 1,
                                     0x03, 0x00, 2, 0x00, 0x80, 1};
    static const uint8_t eos[] = {0, 0x02, 0x00, 3, 16, 17, 18, 4, 16, 1, 17, 1, 18, 1, 19, 1,
                                  3, 0, 1, 3, 0, 6, 0x00, 0x20, 1, 0x0c, 0x00, 2, 0x30, 0x00, 1};
    static const uint8_t strangers[] = {2, 0xff, 0xff, 9, 19, 19, 0, 1, 2, 3, 4, 5, 6, 1, 19, 3,
                                        1, 3, 7, 8, 0xff, 0xff, 9};
    /* clang-format on */

    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    g_outdir = argv[1];
    keys_init();
    seed("compact-certify", false, certify, sizeof(certify), "\x08>=1.2 <2 1.5");
    seed("compact-owners-rotate", false, owners, sizeof(owners), "\x0b<1.0.0.1 >1 1");
    seed("compact-eos-validators", false, eos, sizeof(eos), "\x0b=4294967295.1");
    seed("compact-strangers", false, strangers, sizeof(strangers), "");
    seed("cbor-certify", true, certify, sizeof(certify), "\x08>=1.2 <2 1.5");
    seed("cbor-eos-validators", true, eos, sizeof(eos), "\x05>2 <1 2");
    seed("cbor-owners-rotate", true, owners, sizeof(owners), "");
    write_seed("empty", (const uint8_t *)"", 0);
    static const char versions[] = "\x07>=1.0.0 1.0.0.0";
    write_seed("versions-only", (const uint8_t *)versions, strlen(versions));
    return 0;
}
#endif
