/* Unit tests for contracts/: the threshold logic checked exhaustively over every subset of small
 * key sets (signers, approvals, installability), and each policy rule accepted when met and
 * rejected, with nothing changed, when not: revocation, rotation, transfer and end of support,
 * hardware classes, policy changes. Policies are ul_policy structs built here directly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "client/ul_client.h"
#include "contracts/ul_contracts.h"

#define S(x) ul_span_str(x)
#define NKEYS 48

/* Key i: distinct, ascending in i (so key sets built from rising indexes are sorted), and an
 * x-only point (its last byte stepped until libsecp256k1 parses it), as a policy's keys must be. */
static uint8_t g_key[NKEYS][UL_PUBKEY_BYTES];

static void keys_init(void)
{
    for (size_t i = 0; i < NKEYS; i++) {
        memset(g_key[i], (int)(0x40 + i), UL_PUBKEY_BYTES);
        g_key[i][0] = (uint8_t)(0x10 + i);
        while (ul_client_pubkey_check(g_key[i]) != UL_OK) {
            g_key[i][UL_PUBKEY_BYTES - 1]++;
        }
    }
}

/* Key set of keys first .. first + n - 1 with threshold t. */
static void keyset(ul_keyset *ks, size_t first, size_t n, uint64_t t)
{
    memset(ks, 0, sizeof(*ks));
    for (size_t i = 0; i < n; i++) {
        memcpy(ks->keys[i], g_key[first + i], UL_PUBKEY_BYTES);
    }
    ks->n = n;
    ks->threshold = t;
}

/* Signatures by keys base + bit for each set bit of mask, rising; returns the count. */
static size_t sigs_mask(ul_sig *out, size_t base, unsigned mask)
{
    size_t n = 0;
    for (unsigned b = 0; b < 16; b++) {
        if (mask & (1u << b)) {
            memset(&out[n], 0, sizeof(out[n]));
            memcpy(out[n++].pubkey, g_key[base + b], UL_PUBKEY_BYTES);
        }
    }
    return n;
}

static size_t sigs_list(ul_sig *out, const size_t *idx, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        memset(&out[i], 0, sizeof(out[i]));
        memcpy(out[i].pubkey, g_key[idx[i]], UL_PUBKEY_BYTES);
    }
    return n;
}

static unsigned popcount(unsigned m)
{
    unsigned c = 0;
    for (; m; m &= m - 1) {
        c++;
    }
    return c;
}

/* Key index plan of the sample policy. */
enum {
    OWN = 0,      /* owners 0..2, threshold 2 */
    PUB = 3,      /* publishers 3..4, threshold 1 */
    CERT = 5,     /* certifier 5..7, threshold 2 */
    ENT = 8,      /* enterprise 8..9, threshold 1 */
    OUTSIDE = 40, /* nobody's keys: 40.. */
    NEWKEYS = 30, /* rotation targets 30..37 */
};

/* owners, publishers, roles "certifier" and "enterprise"; security releases need both roles,
 * feature releases the certifier; revokers owners and certifier; hw board-a, board-b. */
static void sample_policy(ul_policy *p)
{
    memset(p, 0, sizeof(*p));
    keyset(&p->owners, OWN, 3, 2);
    keyset(&p->publishers, PUB, 2, 1);
    p->n_roles = 2;
    p->roles[0].name = S("certifier");
    keyset(&p->roles[0].keys, CERT, 3, 2);
    p->roles[1].name = S("enterprise");
    keyset(&p->roles[1].keys, ENT, 2, 1);
    p->n_require = 2;
    p->require[0].kind = UL_KIND_SECURITY;
    p->require[0].n = 2;
    p->require[0].roles[0] = S("certifier");
    p->require[0].roles[1] = S("enterprise");
    p->require[1].kind = UL_KIND_FEATURE;
    p->require[1].n = 1;
    p->require[1].roles[0] = S("certifier");
    p->n_hw = 2;
    p->hw[0] = S("board-a");
    p->hw[1] = S("board-b");
    p->n_revokers = 2;
    p->revokers[0] = S("certifier");
    p->revokers[1] = S("owners");
}

/* ---- ul_policy_signers: every subset of every small key set ------------------------------- */

/* For key sets of 1..5 keys and every threshold, every subset of the members and two outsiders,
 * in rising and falling order and with every signature doubled: the result is "any outsider ->
 * not_member, else distinct members >= threshold". */
static void test_signers_exhaustive(void **state)
{
    ul_keyset ks;
    ul_sig sigs[2 * UL_MAX_SIGS], rev[UL_MAX_SIGS], dbl[UL_MAX_SIGS];
    size_t cases = 0;

    for (size_t n = 1; n <= 5; n++) {
        for (uint64_t t = 1; t <= n; t++) {
            keyset(&ks, 1, n, t);
            /* bit 0 is key 0 (outside, below the set), bits 1..n members, bit n+1 outside. */
            for (unsigned mask = 0; mask < (1u << (n + 2)); mask++) {
                size_t k = sigs_mask(sigs, 0, mask);
                unsigned members = popcount(mask & (((1u << n) - 1) << 1));
                bool stranger = (mask & 1u) || (mask & (1u << (n + 1)));
                ul_err want = stranger ? UL_E_NOT_ROLE : (members >= t ? UL_OK : UL_E_THRESHOLD);

                assert_int_equal(ul_policy_signers(&ks, sigs, k, UL_E_NOT_ROLE), want);
                for (size_t i = 0; i < k; i++) {
                    rev[i] = sigs[k - 1 - i];
                }
                assert_int_equal(ul_policy_signers(&ks, rev, k, UL_E_NOT_ROLE), want);
                if (2 * k <= UL_MAX_SIGS) {
                    for (size_t i = 0; i < k; i++) {
                        dbl[2 * i] = sigs[i];
                        dbl[2 * i + 1] = sigs[i];
                    }
                    assert_int_equal(ul_policy_signers(&ks, dbl, 2 * k, UL_E_NOT_ROLE), want);
                }
                cases++;
            }
        }
    }
    assert_int_equal(cases, 8 + 2 * 16 + 3 * 32 + 4 * 64 + 5 * 128);
}

static void test_signers_duplicates_and_bounds(void **state)
{
    ul_keyset ks;
    ul_sig sigs[UL_MAX_SIGS + 1];
    size_t one[8] = {1, 1, 1, 1, 1, 1, 1, 1};

    keyset(&ks, 1, 3, 2);
    /* The same key eight times is one signer. */
    assert_int_equal(ul_policy_signers(&ks, sigs, sigs_list(sigs, one, 8), UL_E_NOT_OWNER),
                     UL_E_THRESHOLD);
    size_t two[3] = {1, 2, 1};
    assert_int_equal(ul_policy_signers(&ks, sigs, sigs_list(sigs, two, 3), UL_E_NOT_OWNER), UL_OK);
    assert_int_equal(ul_policy_signers(&ks, sigs, 0, UL_E_NOT_OWNER), UL_E_THRESHOLD);
    assert_int_equal(ul_policy_signers(&ks, NULL, 0, UL_E_NOT_OWNER), UL_E_THRESHOLD);
    /* More signatures than a tx may carry. */
    memset(sigs, 0, sizeof(sigs));
    for (size_t i = 0; i <= UL_MAX_SIGS; i++) {
        memcpy(sigs[i].pubkey, g_key[1 + i % 3], UL_PUBKEY_BYTES);
    }
    assert_int_equal(ul_policy_signers(&ks, sigs, UL_MAX_SIGS, UL_E_NOT_OWNER), UL_OK);
    assert_int_equal(ul_policy_signers(&ks, sigs, UL_MAX_SIGS + 1, UL_E_NOT_OWNER), UL_E_LIMIT);
    /* Unusable key sets authorise nothing. */
    ks.threshold = 0;
    assert_int_equal(ul_policy_signers(&ks, sigs, 3, UL_E_NOT_OWNER), UL_E_POLICY);
    ks.threshold = 4;
    assert_int_equal(ul_policy_signers(&ks, sigs, 3, UL_E_NOT_OWNER), UL_E_POLICY);
    ks.threshold = 1;
    ks.n = UL_MAX_KEYS + 1;
    assert_int_equal(ul_policy_signers(&ks, sigs, 3, UL_E_NOT_OWNER), UL_E_POLICY);
}

/* ---- approvals and installability --------------------------------------------------------- */

/* One role of n keys with threshold t, required for security releases. */
static void role_policy(ul_policy *p, size_t n, uint64_t t)
{
    sample_policy(p);
    p->n_roles = 1;
    p->roles[0].name = S("certifier");
    keyset(&p->roles[0].keys, CERT, n, t);
    p->n_require = 1;
    p->require[0].kind = UL_KIND_SECURITY;
    p->require[0].n = 1;
    p->require[0].roles[0] = S("certifier");
    p->n_revokers = 1;
    p->revokers[0] = S("owners");
}

/* For roles of 1..5 keys and every threshold, every subset of the role's keys plus one outsider
 * approving in one tx: a stranger changes nothing (UL_E_NOT_ROLE), members are recorded sorted,
 * a repeat is UL_E_APPROVED, and the release is installable exactly when the subset reaches the
 * threshold. Then the same subset approving one key per tx reaches the same state. */
static void test_approve_installable_exhaustive(void **state)
{
    static const ul_approvals zero;
    ul_policy p;
    ul_approvals a, b;
    ul_sig sigs[UL_MAX_SIGS];

    for (size_t n = 1; n <= 5; n++) {
        for (uint64_t t = 1; t <= n; t++) {
            role_policy(&p, n, t);
            for (unsigned mask = 0; mask < (1u << (n + 1)); mask++) {
                size_t k = sigs_mask(sigs, CERT, mask & ((1u << n) - 1));
                bool stranger = mask & (1u << n);
                if (stranger) {
                    memcpy(sigs[k++].pubkey, g_key[OUTSIDE], UL_PUBKEY_BYTES);
                }
                memset(&a, 0, sizeof(a));
                ul_err e = ul_policy_approve(&p, S("certifier"), sigs, k, &a);
                if (stranger || k == 0) {
                    assert_int_equal(e, stranger ? UL_E_NOT_ROLE : UL_E_THRESHOLD);
                    assert_memory_equal(&a, &zero, sizeof(a));
                    assert_false(ul_policy_installable(&p, UL_KIND_SECURITY, &a));
                    continue;
                }
                assert_int_equal(e, UL_OK);
                assert_int_equal(a.n, 1);
                assert_true(ul_span_eq_str(a.roles[0].role, "certifier"));
                assert_int_equal(a.roles[0].n, k);
                for (size_t i = 0; i < k; i++) {
                    assert_memory_equal(a.roles[0].keys[i], sigs[i].pubkey, UL_PUBKEY_BYTES);
                }
                assert_int_equal(ul_policy_installable(&p, UL_KIND_SECURITY, &a), k >= t);
                assert_true(ul_policy_installable(&p, UL_KIND_FEATURE, &a)); /* no rule */
                b = a;
                assert_int_equal(ul_policy_approve(&p, S("certifier"), sigs, k, &a), UL_E_APPROVED);
                assert_memory_equal(&a, &b, sizeof(a));
                /* One key per tx, highest first: same final state. */
                memset(&a, 0, sizeof(a));
                for (size_t i = k; i-- > 0;) {
                    assert_int_equal(ul_policy_installable(&p, UL_KIND_SECURITY, &a),
                                     k - 1 - i >= t);
                    assert_int_equal(ul_policy_approve(&p, S("certifier"), &sigs[i], 1, &a), UL_OK);
                }
                assert_memory_equal(&a, &b, sizeof(a));
            }
        }
    }
}

static void test_approve_rules(void **state)
{
    ul_policy p;
    ul_approvals a;
    ul_sig sigs[UL_MAX_SIGS];
    size_t dup[3] = {CERT, CERT, CERT + 1};

    sample_policy(&p);
    memset(&a, 0, sizeof(a));
    /* A duplicate signer is recorded, and counted, once. */
    assert_int_equal(ul_policy_approve(&p, S("certifier"), sigs, sigs_list(sigs, dup, 2), &a),
                     UL_OK);
    assert_int_equal(a.roles[0].n, 1);
    assert_false(ul_policy_installable(&p, UL_KIND_FEATURE, &a));
    /* A mix of an old and a new approver adds the new one. */
    assert_int_equal(ul_policy_approve(&p, S("certifier"), sigs, sigs_list(sigs, dup, 3), &a),
                     UL_OK);
    assert_int_equal(a.roles[0].n, 2);
    assert_true(ul_policy_installable(&p, UL_KIND_FEATURE, &a));
    /* Security also needs the enterprise. */
    assert_false(ul_policy_installable(&p, UL_KIND_SECURITY, &a));
    assert_int_equal(ul_policy_approve(&p, S("enterprise"), sigs, sigs_mask(sigs, ENT, 2), &a),
                     UL_OK);
    assert_true(ul_policy_installable(&p, UL_KIND_SECURITY, &a));
    assert_true(ul_policy_installable(&p, UL_KIND_BUGFIX, &a));
    /* A key of another role, a publisher, an owner: not this role. */
    ul_approvals before = a;
    assert_int_equal(ul_policy_approve(&p, S("enterprise"), sigs, sigs_mask(sigs, CERT + 2, 1), &a),
                     UL_E_NOT_ROLE);
    assert_int_equal(ul_policy_approve(&p, S("certifier"), sigs, sigs_mask(sigs, PUB, 1), &a),
                     UL_E_NOT_ROLE);
    assert_int_equal(ul_policy_approve(&p, S("certifier"), sigs, sigs_mask(sigs, OWN, 1), &a),
                     UL_E_NOT_ROLE);
    /* Names that are no role. */
    assert_int_equal(ul_policy_approve(&p, S("regulator"), sigs, 1, &a), UL_E_ROLE_UNKNOWN);
    assert_int_equal(ul_policy_approve(&p, S("owners"), sigs, 1, &a), UL_E_ROLE_UNKNOWN);
    assert_int_equal(ul_policy_approve(&p, S("publishers"), sigs, 1, &a), UL_E_ROLE_UNKNOWN);
    assert_int_equal(ul_policy_approve(&p, S("certifie"), sigs, 1, &a), UL_E_ROLE_UNKNOWN);
    assert_memory_equal(&a, &before, sizeof(a));
}

/* Entries stay sorted by role name (byte-wise, a prefix first) whatever order roles approve in;
 * new entries point at the policy's name bytes. */
static void test_approve_role_order(void **state)
{
    static const char *names[] = {"b", "cert", "a", "certifier", "ab", "c"};
    static const char *sorted[] = {"a", "ab", "b", "c", "cert", "certifier"};
    ul_policy p;
    ul_approvals a;
    ul_sig sig;

    sample_policy(&p);
    p.n_roles = 6;
    for (size_t i = 0; i < 6; i++) {
        p.roles[i].name = S(sorted[i]);
        keyset(&p.roles[i].keys, 10 + i, 1, 1);
    }
    memset(&a, 0, sizeof(a));
    for (size_t i = 0; i < 6; i++) {
        const ul_role *r = ul_policy_role(&p, S(names[i]));
        assert_non_null(r);
        memset(&sig, 0, sizeof(sig));
        memcpy(sig.pubkey, r->keys.keys[0], UL_PUBKEY_BYTES);
        assert_int_equal(ul_policy_approve(&p, S(names[i]), &sig, 1, &a), UL_OK);
        assert_int_equal(a.n, i + 1);
    }
    assert_int_equal(a.n, 6);
    for (size_t i = 0; i < 6; i++) {
        assert_true(ul_span_eq_str(a.roles[i].role, sorted[i]));
        assert_ptr_equal(a.roles[i].role.ptr, p.roles[i].name.ptr);
        assert_int_equal(a.roles[i].n, 1);
    }
}

/* Approvals full of roles a policy change removed: a new role's approval displaces one stale
 * entry; live entries are never dropped. */
static void test_approve_stale_roles(void **state)
{
    static const char *old_names[UL_MAX_ROLES] = {"r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7"};
    ul_policy p;
    ul_approvals a;
    ul_sig sigs[UL_MAX_SIGS];

    sample_policy(&p);
    memset(&a, 0, sizeof(a));
    a.n = UL_MAX_ROLES;
    for (size_t i = 0; i < UL_MAX_ROLES; i++) {
        a.roles[i].role = S(old_names[i]);
        a.roles[i].n = 1;
        memcpy(a.roles[i].keys[0], g_key[OUTSIDE + i % 8], UL_PUBKEY_BYTES);
    }
    assert_int_equal(ul_policy_approve(&p, S("certifier"), sigs, sigs_mask(sigs, CERT, 3), &a),
                     UL_OK);
    assert_int_equal(a.n, UL_MAX_ROLES);
    assert_true(ul_span_eq_str(a.roles[0].role, "certifier"));
    assert_true(ul_span_eq_str(a.roles[1].role, "r1"));
    assert_true(ul_policy_installable(&p, UL_KIND_FEATURE, &a));
    assert_int_equal(ul_policy_approve(&p, S("certifier"), sigs, sigs_mask(sigs, CERT, 3), &a),
                     UL_E_APPROVED);
    /* A missorted stored list still gets no second entry for a role. */
    ul_role_approvals cert = a.roles[0];
    a.roles[0] = a.roles[7];
    a.roles[7] = cert;
    assert_int_equal(ul_policy_approve(&p, S("certifier"), sigs, sigs_mask(sigs, CERT, 3), &a),
                     UL_E_APPROVED);
    assert_int_equal(a.n, UL_MAX_ROLES);
}

/* A requirement naming a role the policy does not define (a struct built by hand: the decoder
 * refuses it) can never be met; the policy cannot be set; approving for it is UL_E_ROLE_UNKNOWN. */
static void test_undefined_role(void **state)
{
    ul_policy p, next;
    ul_approvals a;
    ul_sig sigs[UL_MAX_SIGS];

    sample_policy(&p);
    p.require[1].roles[0] = S("auditor");
    memset(&a, 0, sizeof(a));
    assert_int_equal(ul_policy_approve(&p, S("auditor"), sigs, sigs_mask(sigs, CERT, 3), &a),
                     UL_E_ROLE_UNKNOWN);
    assert_int_equal(ul_policy_approve(&p, S("certifier"), sigs, sigs_mask(sigs, CERT, 7), &a),
                     UL_OK);
    assert_false(ul_policy_installable(&p, UL_KIND_FEATURE, &a));
    a.roles[0].role = S("auditor"); /* even with an entry under that name */
    assert_false(ul_policy_installable(&p, UL_KIND_FEATURE, &a));
    assert_null(ul_policy_role(&p, S("auditor")));
    assert_null(ul_policy_keyset(&p, S("auditor")));

    sample_policy(&next);
    next.require[1].roles[0] = S("auditor");
    assert_int_equal(ul_policy_set(&p, &next, sigs, sigs_mask(sigs, OWN, 3)), UL_E_POLICY);
    sample_policy(&next);
    next.revokers[0] = S("auditor");
    assert_int_equal(ul_policy_set(&p, &next, sigs, sigs_mask(sigs, OWN, 3)), UL_E_POLICY);
    /* A revoker name that denotes nothing grants nothing. */
    p.revokers[0] = S("auditor");
    assert_int_equal(ul_policy_revoke(&p, sigs, sigs_mask(sigs, CERT, 7)), UL_E_NOT_REVOKER);
    /* A required role whose key set is unusable cannot be met either. */
    sample_policy(&p);
    memset(&a, 0, sizeof(a));
    assert_int_equal(ul_policy_approve(&p, S("certifier"), sigs, sigs_mask(sigs, CERT, 7), &a),
                     UL_OK);
    assert_true(ul_policy_installable(&p, UL_KIND_FEATURE, &a));
    p.roles[0].keys.threshold = 0;
    assert_false(ul_policy_installable(&p, UL_KIND_FEATURE, &a));
    p.roles[0].keys.threshold = 4;
    assert_false(ul_policy_installable(&p, UL_KIND_FEATURE, &a));
}

static void test_names(void **state)
{
    ul_policy p;

    sample_policy(&p);
    assert_ptr_equal(ul_policy_keyset(&p, S("owners")), &p.owners);
    assert_ptr_equal(ul_policy_keyset(&p, S("publishers")), &p.publishers);
    assert_ptr_equal(ul_policy_keyset(&p, S("enterprise")), &p.roles[1].keys);
    assert_ptr_equal(ul_policy_role(&p, S("certifier")), &p.roles[0]);
    assert_null(ul_policy_role(&p, S("owners")));
    assert_null(ul_policy_role(&p, S("publishers")));
    assert_null(ul_policy_role(&p, S("")));
    assert_null(ul_policy_keyset(&p, S("Owners")));
    assert_null(ul_policy_keyset(&p, S("certifierx")));
}

/* ---- releases ----------------------------------------------------------------------------- */

static void test_check_release(void **state)
{
    ul_policy p;
    ul_release r;
    ul_sig sigs[UL_MAX_SIGS];
    size_t pub_and_owner[2] = {OWN, PUB};

    sample_policy(&p);
    memset(&r, 0, sizeof(r));
    r.n_hw = 2;
    r.hw[0] = S("board-b");
    r.hw[1] = S("board-a");
    assert_int_equal(ul_policy_check_release(&p, &r, sigs, sigs_mask(sigs, PUB, 1)), UL_OK);
    assert_int_equal(ul_policy_check_release(&p, &r, sigs, sigs_mask(sigs, PUB, 3)), UL_OK);
    assert_int_equal(ul_policy_check_release(&p, &r, sigs, 0), UL_E_THRESHOLD);
    assert_int_equal(ul_policy_check_release(&p, &r, sigs, sigs_list(sigs, pub_and_owner, 2)),
                     UL_E_NOT_PUBLISHER);
    assert_int_equal(ul_policy_check_release(&p, &r, sigs, sigs_mask(sigs, CERT, 1)),
                     UL_E_NOT_PUBLISHER);
    p.publishers.threshold = 2;
    assert_int_equal(ul_policy_check_release(&p, &r, sigs, sigs_mask(sigs, PUB, 1)),
                     UL_E_THRESHOLD);
    assert_int_equal(ul_policy_check_release(&p, &r, sigs, sigs_mask(sigs, PUB, 3)), UL_OK);
    /* A hardware class outside the allowed list, even next to allowed ones. */
    r.n_hw = 3;
    r.hw[2] = S("board-c");
    assert_int_equal(ul_policy_check_release(&p, &r, sigs, sigs_mask(sigs, PUB, 3)), UL_E_HW_CLASS);
    r.hw[2] = S("board-");
    assert_int_equal(ul_policy_check_release(&p, &r, sigs, sigs_mask(sigs, PUB, 3)), UL_E_HW_CLASS);
    /* No list: any class. */
    p.n_hw = 0;
    assert_int_equal(ul_policy_check_release(&p, &r, sigs, sigs_mask(sigs, PUB, 3)), UL_OK);
    r.n_hw = UL_MAX_HW + 1;
    assert_int_equal(ul_policy_check_release(&p, &r, sigs, sigs_mask(sigs, PUB, 3)), UL_E_LIMIT);
}

/* ---- revocation --------------------------------------------------------------------------- */

static void test_revoke(void **state)
{
    ul_policy p;
    ul_sig sigs[UL_MAX_SIGS];
    size_t owner_cert[2] = {OWN, CERT};
    size_t owner_pub[3] = {OWN, OWN + 1, PUB};
    size_t owner_twice[2] = {OWN, OWN};

    sample_policy(&p); /* revokers: certifier (2 of 3), owners (2 of 3) */
    assert_int_equal(ul_policy_revoke(&p, sigs, sigs_mask(sigs, OWN, 3)), UL_OK);
    assert_int_equal(ul_policy_revoke(&p, sigs, sigs_mask(sigs, OWN, 1)), UL_E_NOT_REVOKER);
    assert_int_equal(ul_policy_revoke(&p, sigs, sigs_list(sigs, owner_twice, 2)), UL_E_NOT_REVOKER);
    assert_int_equal(ul_policy_revoke(&p, sigs, sigs_mask(sigs, CERT, 6)), UL_OK);
    assert_int_equal(ul_policy_revoke(&p, sigs, sigs_mask(sigs, CERT, 4)), UL_E_NOT_REVOKER);
    /* One of each set meets neither threshold: sets are not pooled. */
    assert_int_equal(ul_policy_revoke(&p, sigs, sigs_list(sigs, owner_cert, 2)), UL_E_NOT_REVOKER);
    /* Owners meet theirs, a certifier beside them does not hurt. */
    assert_int_equal(ul_policy_revoke(&p, sigs, sigs_mask(sigs, OWN, 0x3 | (1u << CERT))), UL_OK);
    /* A signer in no revoker set spoils it, even beside a quorum of owners. */
    assert_int_equal(ul_policy_revoke(&p, sigs, sigs_list(sigs, owner_pub, 3)), UL_E_NOT_REVOKER);
    assert_int_equal(ul_policy_revoke(&p, sigs, sigs_mask(sigs, PUB, 3)), UL_E_NOT_REVOKER);
    assert_int_equal(ul_policy_revoke(&p, sigs, sigs_mask(sigs, ENT, 3)), UL_E_NOT_REVOKER);
    assert_int_equal(ul_policy_revoke(&p, sigs, sigs_mask(sigs, OUTSIDE, 1)), UL_E_NOT_REVOKER);
    assert_int_equal(ul_policy_revoke(&p, sigs, 0), UL_E_NOT_REVOKER);
    /* Publishers and a role as the only revoker kinds. */
    p.n_revokers = 1;
    p.revokers[0] = S("publishers");
    assert_int_equal(ul_policy_revoke(&p, sigs, sigs_mask(sigs, PUB, 1)), UL_OK);
    assert_int_equal(ul_policy_revoke(&p, sigs, sigs_mask(sigs, OWN, 3)), UL_E_NOT_REVOKER);
    p.revokers[0] = S("enterprise");
    assert_int_equal(ul_policy_revoke(&p, sigs, sigs_mask(sigs, ENT + 1, 1)), UL_OK);
    assert_int_equal(ul_policy_revoke(&p, sigs, sigs_mask(sigs, PUB, 1)), UL_E_NOT_REVOKER);
}

/* Exhaustive: revokers {owners 2 of 3, publishers 1 of 2} over every subset of those five keys
 * and one outsider. */
static void test_revoke_exhaustive(void **state)
{
    ul_policy p;
    ul_sig sigs[UL_MAX_SIGS];

    sample_policy(&p);
    p.n_revokers = 2;
    p.revokers[0] = S("owners");
    p.revokers[1] = S("publishers");
    for (unsigned mask = 0; mask < 64; mask++) {
        /* bits 0..2 owners, 3..4 publishers (keys OWN.. PUB.. are contiguous), bit 5 key 5 is
         * a certifier: in no revoker set here. */
        size_t k = sigs_mask(sigs, OWN, mask);
        bool ok = !(mask & 0x20) && (popcount(mask & 7) >= 2 || (mask & 0x18));
        assert_int_equal(ul_policy_revoke(&p, sigs, k), ok ? UL_OK : UL_E_NOT_REVOKER);
    }
}

/* ---- rotation ----------------------------------------------------------------------------- */

static void rotation(ul_rotate *r, const char *target, size_t first, size_t n, uint64_t t)
{
    memset(r, 0, sizeof(*r));
    r->ns = S("acme/router");
    r->target = S(target);
    keyset(&r->keys, first, n, t);
}

static void test_rotate_publishers(void **state)
{
    ul_policy p, before;
    ul_rotate r;
    ul_release rel;
    ul_sig sigs[UL_MAX_SIGS], owners[UL_MAX_SIGS];
    size_t n_own = sigs_mask(owners, OWN, 3);

    sample_policy(&p);
    memset(&rel, 0, sizeof(rel));
    rotation(&r, "publishers", NEWKEYS, 1, 1);
    assert_int_equal(ul_policy_check_release(&p, &rel, sigs, sigs_mask(sigs, PUB, 1)), UL_OK);
    assert_int_equal(ul_policy_rotate(&p, &r, owners, n_own), UL_OK);
    assert_int_equal(ul_policy_check_release(&p, &rel, sigs, sigs_mask(sigs, PUB, 1)),
                     UL_E_NOT_PUBLISHER);
    assert_int_equal(ul_policy_check_release(&p, &rel, sigs, sigs_mask(sigs, NEWKEYS, 1)), UL_OK);
    /* Refusals change nothing. */
    before = p;
    rotation(&r, "publishers", PUB, 2, 1);
    assert_int_equal(ul_policy_rotate(&p, &r, sigs, sigs_mask(sigs, OWN, 1)), UL_E_THRESHOLD);
    assert_int_equal(ul_policy_rotate(&p, &r, sigs, sigs_mask(sigs, NEWKEYS, 1)), UL_E_NOT_OWNER);
    assert_int_equal(ul_policy_rotate(&p, &r, sigs, sigs_mask(sigs, OWN, 0x3 | (1u << PUB))),
                     UL_E_NOT_OWNER);
    rotation(&r, "regulator", PUB, 2, 1);
    assert_int_equal(ul_policy_rotate(&p, &r, owners, n_own), UL_E_ROLE_UNKNOWN);
    rotation(&r, "publishers", PUB, 2, 0);
    assert_int_equal(ul_policy_rotate(&p, &r, owners, n_own), UL_E_POLICY);
    rotation(&r, "publishers", PUB, 2, 3);
    assert_int_equal(ul_policy_rotate(&p, &r, owners, n_own), UL_E_POLICY);
    rotation(&r, "publishers", PUB, 0, 0);
    assert_int_equal(ul_policy_rotate(&p, &r, owners, n_own), UL_E_POLICY);
    rotation(&r, "publishers", PUB, 2, 1);
    memcpy(r.keys.keys[1], r.keys.keys[0], UL_PUBKEY_BYTES); /* duplicate key */
    assert_int_equal(ul_policy_rotate(&p, &r, owners, n_own), UL_E_POLICY);
    rotation(&r, "publishers", PUB, 2, 1);
    memcpy(r.keys.keys[0], g_key[PUB + 5], UL_PUBKEY_BYTES); /* unsorted */
    assert_int_equal(ul_policy_rotate(&p, &r, owners, n_own), UL_E_POLICY);
    rotation(&r, "publishers", PUB, 2, 1);
    r.keys.n = UL_MAX_KEYS + 1;
    assert_int_equal(ul_policy_rotate(&p, &r, owners, n_own), UL_E_POLICY);
    assert_memory_equal(&p, &before, sizeof(p));
}

static void test_rotate_owners(void **state)
{
    ul_policy p;
    ul_rotate r;
    ul_sig sigs[UL_MAX_SIGS];

    sample_policy(&p);
    rotation(&r, "owners", NEWKEYS, 2, 2);
    assert_int_equal(ul_policy_rotate(&p, &r, sigs, sigs_mask(sigs, OWN, 3)), UL_OK);
    /* The old owners can no longer rotate, transfer or change the policy. */
    rotation(&r, "publishers", NEWKEYS + 4, 1, 1);
    assert_int_equal(ul_policy_rotate(&p, &r, sigs, sigs_mask(sigs, OWN, 3)), UL_E_NOT_OWNER);
    assert_int_equal(ul_policy_set(&p, &p, sigs, sigs_mask(sigs, OWN, 3)), UL_E_NOT_OWNER);
    /* The new ones can, at their threshold. */
    assert_int_equal(ul_policy_rotate(&p, &r, sigs, sigs_mask(sigs, NEWKEYS, 1)), UL_E_THRESHOLD);
    assert_int_equal(ul_policy_rotate(&p, &r, sigs, sigs_mask(sigs, NEWKEYS, 3)), UL_OK);
    assert_int_equal(ul_policy_set(&p, &p, sigs, sigs_mask(sigs, NEWKEYS, 3)), UL_OK);
}

/* After a role rotation, approvals by rotated-out keys no longer count and those keys can no
 * longer approve; the new keys can. */
static void test_rotate_role(void **state)
{
    ul_policy p;
    ul_rotate r;
    ul_approvals a;
    ul_sig sigs[UL_MAX_SIGS], owners[UL_MAX_SIGS];
    size_t n_own = sigs_mask(owners, OWN, 3);

    sample_policy(&p);
    memset(&a, 0, sizeof(a));
    assert_int_equal(ul_policy_approve(&p, S("certifier"), sigs, sigs_mask(sigs, CERT, 3), &a),
                     UL_OK);
    assert_true(ul_policy_installable(&p, UL_KIND_FEATURE, &a));
    /* Keep CERT + 1, add two new keys: one surviving approval, threshold 2. */
    rotation(&r, "certifier", CERT + 1, 1, 1);
    memcpy(r.keys.keys[1], g_key[NEWKEYS], UL_PUBKEY_BYTES);
    memcpy(r.keys.keys[2], g_key[NEWKEYS + 1], UL_PUBKEY_BYTES);
    r.keys.n = 3;
    r.keys.threshold = 2;
    assert_int_equal(ul_policy_rotate(&p, &r, owners, n_own), UL_OK);
    assert_false(ul_policy_installable(&p, UL_KIND_FEATURE, &a));
    assert_int_equal(ul_policy_approve(&p, S("certifier"), sigs, sigs_mask(sigs, CERT, 1), &a),
                     UL_E_NOT_ROLE);
    assert_int_equal(ul_policy_approve(&p, S("certifier"), sigs, sigs_mask(sigs, CERT + 1, 1), &a),
                     UL_E_APPROVED);
    assert_int_equal(ul_policy_approve(&p, S("certifier"), sigs, sigs_mask(sigs, NEWKEYS, 1), &a),
                     UL_OK);
    assert_true(ul_policy_installable(&p, UL_KIND_FEATURE, &a));
    /* The record still shows the rotated-out co-signers while there is room. */
    assert_int_equal(a.roles[0].n, 3);
}

/* A role of UL_MAX_KEYS keys all approve, then all are rotated out: the new keys' approvals
 * displace the old ones instead of overflowing the entry. */
static void test_rotate_role_full(void **state)
{
    ul_policy p;
    ul_rotate r;
    ul_approvals a;
    ul_sig sigs[UL_MAX_SIGS], owners[UL_MAX_SIGS];
    size_t n_own = sigs_mask(owners, OWN, 3);

    sample_policy(&p);
    keyset(&p.roles[0].keys, 20, UL_MAX_KEYS, UL_MAX_KEYS);
    memset(&a, 0, sizeof(a));
    assert_int_equal(ul_policy_approve(&p, S("certifier"), sigs, sigs_mask(sigs, 20, 0xff), &a),
                     UL_OK);
    assert_true(ul_policy_installable(&p, UL_KIND_FEATURE, &a));
    rotation(&r, "certifier", NEWKEYS, UL_MAX_KEYS, UL_MAX_KEYS);
    assert_int_equal(ul_policy_rotate(&p, &r, owners, n_own), UL_OK);
    assert_false(ul_policy_installable(&p, UL_KIND_FEATURE, &a));
    for (size_t i = 0; i < UL_MAX_KEYS; i++) {
        assert_false(ul_policy_installable(&p, UL_KIND_FEATURE, &a));
        assert_int_equal(
            ul_policy_approve(&p, S("certifier"), sigs, sigs_mask(sigs, NEWKEYS + i, 1), &a),
            UL_OK);
        assert_true(a.roles[0].n <= UL_MAX_KEYS);
    }
    assert_true(ul_policy_installable(&p, UL_KIND_FEATURE, &a));
    assert_int_equal(a.roles[0].n, UL_MAX_KEYS);
    for (size_t i = 0; i < UL_MAX_KEYS; i++) {
        assert_memory_equal(a.roles[0].keys[i], g_key[NEWKEYS + i], UL_PUBKEY_BYTES);
    }
}

/* ---- transfer and end of support ---------------------------------------------------------- */

enum { VAL = 20, EOS = 1000000 };

/* Validators VAL.. with the given powers. */
static void valset(ul_valset *vs, const uint64_t *power, size_t n)
{
    memset(vs, 0, sizeof(*vs));
    for (size_t i = 0; i < n; i++) {
        memcpy(vs->v[i].pubkey, g_key[VAL + i], UL_PUBKEY_BYTES);
        vs->v[i].power = power[i];
    }
    vs->n = n;
}

static void successor(ul_transfer *t)
{
    memset(t, 0, sizeof(*t));
    t->ns = S("acme/router");
    keyset(&t->owners, NEWKEYS, 2, 1);
    keyset(&t->publishers, NEWKEYS + 2, 1, 1);
}

/* Expects want; on UL_OK checks the successor took over, otherwise that nothing changed. */
static void transfer_expect(const ul_sig *sigs, size_t n, const ul_valset *vs, uint64_t now,
                            bool has_eos, ul_err want)
{
    ul_policy p, before;
    ul_transfer t;

    sample_policy(&p);
    p.has_eos = has_eos;
    p.eos = EOS;
    before = p;
    successor(&t);
    assert_int_equal(ul_policy_transfer(&p, &t, sigs, n, vs, now), want);
    if (want != UL_OK) {
        assert_memory_equal(&p, &before, sizeof(p));
        return;
    }
    assert_memory_equal(&p.owners, &t.owners, sizeof(p.owners));
    assert_memory_equal(&p.publishers, &t.publishers, sizeof(p.publishers));
    before.owners = t.owners;
    before.publishers = t.publishers;
    assert_memory_equal(&p, &before, sizeof(p)); /* roles, rules, eos kept */
}

static void test_transfer(void **state)
{
    static const uint64_t three[3] = {1, 1, 1};
    ul_valset vs;
    ul_sig sigs[UL_MAX_SIGS];
    size_t two_dup[3] = {VAL, VAL, VAL + 1};
    size_t own_val[2] = {OWN, VAL};

    valset(&vs, three, 3);
    /* Before the end of support: owners only; validators are told it is too early. */
    transfer_expect(sigs, sigs_mask(sigs, OWN, 3), &vs, EOS - 1, true, UL_OK);
    transfer_expect(sigs, sigs_mask(sigs, OWN, 1), &vs, EOS - 1, true, UL_E_THRESHOLD);
    transfer_expect(sigs, sigs_mask(sigs, VAL, 7), &vs, EOS - 1, true, UL_E_EOS);
    transfer_expect(sigs, sigs_mask(sigs, VAL, 7), &vs, 0, true, UL_E_EOS);
    transfer_expect(sigs, sigs_mask(sigs, PUB, 1), &vs, EOS - 1, true, UL_E_NOT_OWNER);
    transfer_expect(sigs, sigs_list(sigs, own_val, 2), &vs, EOS - 1, true, UL_E_NOT_OWNER);
    /* Without an end of support, never the validators. */
    transfer_expect(sigs, sigs_mask(sigs, VAL, 7), &vs, UINT64_MAX, false, UL_E_EOS);
    transfer_expect(sigs, sigs_mask(sigs, OWN, 3), &vs, UINT64_MAX, false, UL_OK);
    /* From the end of support on: more than 2/3 of the power, or still the owners. */
    transfer_expect(sigs, sigs_mask(sigs, VAL, 7), &vs, EOS, true, UL_OK);
    transfer_expect(sigs, sigs_mask(sigs, VAL, 7), &vs, UINT64_MAX, true, UL_OK);
    transfer_expect(sigs, sigs_mask(sigs, VAL, 3), &vs, EOS, true, UL_E_EOS); /* exactly 2/3 */
    transfer_expect(sigs, sigs_list(sigs, two_dup, 3), &vs, EOS, true, UL_E_EOS);
    transfer_expect(sigs, sigs_mask(sigs, OWN, 3), &vs, EOS, true, UL_OK);
    transfer_expect(sigs, sigs_mask(sigs, OWN, 1), &vs, EOS, true, UL_E_EOS);
    transfer_expect(sigs, sigs_list(sigs, own_val, 2), &vs, EOS, true, UL_E_EOS);
    transfer_expect(sigs, sigs_mask(sigs, VAL, 7 | 8), &vs, EOS, true, UL_E_EOS); /* stranger */
    transfer_expect(sigs, sigs_mask(sigs, VAL, 7), NULL, EOS, true, UL_E_EOS);
    transfer_expect(sigs, 0, &vs, EOS, true, UL_E_EOS);
}

/* Weighted power: every subset of four validators with powers 1, 2, 3, 6 (total 12): accepted
 * exactly when the subset's power is above 8 (so 8 = 2/3 is refused). */
static void test_transfer_power_exhaustive(void **state)
{
    static const uint64_t power[4] = {1, 2, 3, 6};
    ul_valset vs;
    ul_sig sigs[UL_MAX_SIGS];

    valset(&vs, power, 4);
    for (unsigned mask = 1; mask < 16; mask++) {
        uint64_t sum = 0;
        for (unsigned b = 0; b < 4; b++) {
            sum += (mask & (1u << b)) ? power[b] : 0;
        }
        transfer_expect(sigs, sigs_mask(sigs, VAL, mask), &vs, EOS, true,
                        sum * 3 > 12 * 2 ? UL_OK : UL_E_EOS);
    }
    /* A set breaking the schema's rules backs nothing. */
    vs.v[0].power = 0;
    transfer_expect(sigs, sigs_mask(sigs, VAL, 15), &vs, EOS, true, UL_E_EOS);
    vs.v[0].power = UL_MAX_TOTAL_POWER;
    transfer_expect(sigs, sigs_mask(sigs, VAL, 15), &vs, EOS, true, UL_E_EOS);
}

static void test_transfer_invalid_successor(void **state)
{
    ul_policy p, before;
    ul_transfer t;
    ul_sig sigs[UL_MAX_SIGS];

    sample_policy(&p);
    before = p;
    successor(&t);
    t.owners.threshold = 3;
    assert_int_equal(ul_policy_transfer(&p, &t, sigs, sigs_mask(sigs, OWN, 3), NULL, 0),
                     UL_E_POLICY);
    successor(&t);
    t.publishers.n = 0;
    t.publishers.threshold = 0;
    assert_int_equal(ul_policy_transfer(&p, &t, sigs, sigs_mask(sigs, OWN, 3), NULL, 0),
                     UL_E_POLICY);
    assert_memory_equal(&p, &before, sizeof(p));
}

/* ---- policy changes ----------------------------------------------------------------------- */

static void test_set_policy(void **state)
{
    ul_policy cur, next;
    ul_sig sigs[UL_MAX_SIGS];
    size_t n_own;

    sample_policy(&cur);
    sample_policy(&next);
    n_own = sigs_mask(sigs, OWN, 3);
    assert_int_equal(ul_policy_set(&cur, &next, sigs, n_own), UL_OK);
    assert_int_equal(ul_policy_set(&cur, &next, sigs, sigs_mask(sigs, OWN, 4)), UL_E_THRESHOLD);
    assert_int_equal(ul_policy_set(&cur, &next, sigs, sigs_mask(sigs, PUB, 3)), UL_E_NOT_OWNER);
    assert_int_equal(ul_policy_set(&cur, &next, sigs, sigs_mask(sigs, OWN, 0x13)), UL_E_NOT_OWNER);
    n_own = sigs_mask(sigs, OWN, 3);
    next.roles[1].keys.threshold = 3;
    assert_int_equal(ul_policy_set(&cur, &next, sigs, n_own), UL_E_POLICY);
    sample_policy(&next);
    next.owners.threshold = 0;
    assert_int_equal(ul_policy_set(&cur, &next, sigs, n_own), UL_E_POLICY);
    sample_policy(&next);
    next.roles[1].name = S("owners");
    assert_int_equal(ul_policy_set(&cur, &next, sigs, n_own), UL_E_POLICY);
    sample_policy(&next);
    next.roles[1].name = S("certifier"); /* duplicate name */
    assert_int_equal(ul_policy_set(&cur, &next, sigs, n_own), UL_E_POLICY);
    sample_policy(&next);
    next.n_revokers = 0;
    assert_int_equal(ul_policy_set(&cur, &next, sigs, n_own), UL_E_POLICY);
    sample_policy(&next);
    next.n_roles = UL_MAX_ROLES + 1;
    assert_int_equal(ul_policy_set(&cur, &next, sigs, n_own), UL_E_LIMIT);
    /* The smallest valid policy: owners, publishers, one revoker. */
    memset(&next, 0, sizeof(next));
    keyset(&next.owners, NEWKEYS, 1, 1);
    keyset(&next.publishers, NEWKEYS, 1, 1);
    next.n_revokers = 1;
    next.revokers[0] = S("publishers");
    assert_int_equal(ul_policy_set(&cur, &next, sigs, n_own), UL_OK);
}

/* ---- keys that can never sign ------------------------------------------------------------- */

/* Puts bad where it keeps ks ascending: first for all zeros, last for all 0xff. */
static void put_bad(ul_keyset *ks, const uint8_t bad[UL_PUBKEY_BYTES])
{
    memcpy(ks->keys[bad[0] ? ks->n - 1 : 0], bad, UL_PUBKEY_BYTES);
}

/* 32 bytes that are not an x-only point (all zeros, all 0xff) cannot enter a policy as an owner,
 * publisher or role key by rotation, transfer, a policy change or a new namespace's policy,
 * whoever signs: UL_E_KEY, and the policy is unchanged. A threshold must never count a key that
 * cannot sign. */
static void test_unsignable_keys(void **state)
{
    static const uint64_t one[1] = {1};
    static const char *const targets[] = {"owners", "publishers", "certifier", "enterprise"};
    ul_policy p, before, next;
    ul_rotate r;
    ul_transfer t;
    ul_valset vs;
    ul_sig owners[UL_MAX_SIGS], vals[UL_MAX_SIGS];
    size_t n_own = sigs_mask(owners, OWN, 3), n_val = sigs_mask(vals, VAL, 1);

    valset(&vs, one, 1);
    for (int fill = 0; fill <= 0xff; fill += 0xff) {
        uint8_t bad[UL_PUBKEY_BYTES];
        memset(bad, fill, sizeof bad);
        assert_int_equal(ul_client_pubkey_check(bad), UL_E_KEY);
        sample_policy(&p);
        p.has_eos = true; /* validators may transfer too */
        before = p;
        for (size_t i = 0; i < sizeof targets / sizeof targets[0]; i++) {
            rotation(&r, targets[i], NEWKEYS, 2, 1);
            put_bad(&r.keys, bad);
            assert_int_equal(ul_policy_rotate(&p, &r, owners, n_own), UL_E_KEY);
        }
        successor(&t);
        put_bad(&t.owners, bad);
        assert_int_equal(ul_policy_transfer(&p, &t, owners, n_own, &vs, 0), UL_E_KEY);
        assert_int_equal(ul_policy_transfer(&p, &t, vals, n_val, &vs, UINT64_MAX), UL_E_KEY);
        successor(&t);
        put_bad(&t.publishers, bad);
        assert_int_equal(ul_policy_transfer(&p, &t, owners, n_own, &vs, 0), UL_E_KEY);
        assert_memory_equal(&p, &before, sizeof(p));
        /* A policy change or a new namespace's policy with the key in any key set. */
        for (size_t i = 0; i < 4; i++) {
            ul_keyset *sets[4];
            sample_policy(&next);
            sets[0] = &next.owners, sets[1] = &next.publishers;
            sets[2] = &next.roles[0].keys, sets[3] = &next.roles[1].keys;
            put_bad(sets[i], bad);
            assert_int_equal(ul_policy_set(&p, &next, owners, n_own), UL_E_KEY);
            assert_int_equal(ul_policy_register(&next, owners, n_own), UL_E_KEY);
        }
    }
    sample_policy(&next);
    assert_int_equal(ul_policy_register(&next, owners, n_own), UL_OK);
    assert_int_equal(ul_policy_register(&next, owners, sigs_mask(owners, OWN, 1)), UL_E_THRESHOLD);
    assert_int_equal(ul_policy_register(&next, owners, sigs_mask(owners, PUB, 1)), UL_E_NOT_OWNER);
    next.owners.threshold = 0;
    assert_int_equal(ul_policy_register(&next, owners, n_own), UL_E_POLICY);
}

static int setup(void **state)
{
    keys_init();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_signers_exhaustive),
        cmocka_unit_test(test_signers_duplicates_and_bounds),
        cmocka_unit_test(test_approve_installable_exhaustive),
        cmocka_unit_test(test_approve_rules),
        cmocka_unit_test(test_approve_role_order),
        cmocka_unit_test(test_approve_stale_roles),
        cmocka_unit_test(test_undefined_role),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_check_release),
        cmocka_unit_test(test_revoke),
        cmocka_unit_test(test_revoke_exhaustive),
        cmocka_unit_test(test_rotate_publishers),
        cmocka_unit_test(test_rotate_owners),
        cmocka_unit_test(test_rotate_role),
        cmocka_unit_test(test_rotate_role_full),
        cmocka_unit_test(test_transfer),
        cmocka_unit_test(test_transfer_power_exhaustive),
        cmocka_unit_test(test_transfer_invalid_successor),
        cmocka_unit_test(test_set_policy),
        cmocka_unit_test(test_unsignable_keys),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
