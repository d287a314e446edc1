/* Benchmark of contract evaluation cost per transaction: release fit, approve + installable and
 * revoke against a policy at its bounds (8 roles of 8 keys, 16 hardware classes, 10 revoker
 * sets). Prints "bench: contracts ...: N ns/eval" lines; never asserts a timing.
 * Usage: bench_contracts [ITERATIONS]   (default 200000 per figure)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "contracts/ul_contracts.h"

#define NROLES UL_MAX_ROLES
#define NKEYS UL_MAX_KEYS
#define ROLE_T 5

static ul_policy g_policy;
static uint8_t g_keys[2 + NROLES][NKEYS][UL_PUBKEY_BYTES]; /* owners, publishers, roles */
static char g_role_names[NROLES][16];
static char g_hw_names[UL_MAX_HW][24];
static volatile uint64_t g_sink;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void keyset(ul_keyset *ks, size_t set, uint64_t t)
{
    ks->n = NKEYS;
    ks->threshold = t;
    for (size_t i = 0; i < NKEYS; i++) {
        memset(g_keys[set][i], (int)(set * 16 + i + 1), UL_PUBKEY_BYTES);
        memcpy(ks->keys[i], g_keys[set][i], UL_PUBKEY_BYTES);
    }
}

/* Owners 5 of 8, publishers 3 of 8, roles role-0..7 (5 of 8 each); security releases need all
 * eight roles, features four; every set may revoke; 16 allowed hardware classes. */
static void policy_init(ul_policy *p)
{
    memset(p, 0, sizeof(*p));
    keyset(&p->owners, 0, 5);
    keyset(&p->publishers, 1, 3);
    p->n_roles = NROLES;
    for (size_t r = 0; r < NROLES; r++) {
        snprintf(g_role_names[r], sizeof(g_role_names[r]), "role-%zu", r);
        p->roles[r].name = ul_span_str(g_role_names[r]);
        keyset(&p->roles[r].keys, 2 + r, ROLE_T);
    }
    p->n_require = 2;
    p->require[0].kind = UL_KIND_SECURITY;
    p->require[0].n = NROLES;
    p->require[1].kind = UL_KIND_FEATURE;
    p->require[1].n = NROLES / 2;
    for (size_t r = 0; r < NROLES; r++) {
        p->require[0].roles[r] = p->roles[r].name;
        p->require[1].roles[r / 2] = p->roles[r & ~(size_t)1].name;
    }
    p->n_hw = UL_MAX_HW;
    for (size_t i = 0; i < UL_MAX_HW; i++) {
        snprintf(g_hw_names[i], sizeof(g_hw_names[i]), "acme-board-rev-%02zu", i);
        p->hw[i] = ul_span_str(g_hw_names[i]);
    }
    /* Roles first, so a revocation by the last role scans every set. */
    p->n_revokers = NROLES + 2;
    for (size_t r = 0; r < NROLES; r++) {
        p->revokers[r] = p->roles[r].name;
    }
    p->revokers[NROLES] = ul_span_str("owners");
    p->revokers[NROLES + 1] = ul_span_str("publishers");
}

static size_t sigs_of(ul_sig *out, size_t set, size_t n)
{
    memset(out, 0, n * sizeof(*out));
    for (size_t i = 0; i < n; i++) {
        memcpy(out[i].pubkey, g_keys[set][NKEYS - 1 - i], UL_PUBKEY_BYTES);
    }
    return n;
}

static void report(const char *what, double secs, size_t iters)
{
    printf("bench: contracts %s: %.0f ns/eval\n", what, secs * 1e9 / (double)iters);
}

static int bench_release(size_t iters)
{
    ul_release r;
    ul_sig sigs[UL_MAX_SIGS];
    size_t n = sigs_of(sigs, 1, UL_MAX_SIGS);

    memset(&r, 0, sizeof(r));
    r.n_hw = UL_MAX_HW;
    for (size_t i = 0; i < UL_MAX_HW; i++) {
        r.hw[i] = g_policy.hw[UL_MAX_HW - 1 - i]; /* worst order for the scan */
    }
    if (ul_policy_check_release(&g_policy, &r, sigs, n) != UL_OK) {
        return 1;
    }
    double t0 = now_s();
    for (size_t i = 0; i < iters; i++) {
        g_sink += ul_policy_check_release(&g_policy, &r, sigs, n);
    }
    report("ul_policy_check_release (16 hw, 8 sigs)", now_s() - t0, iters);
    return 0;
}

/* One approve tx (the last role, 5 signers) onto approvals holding the other seven roles, then
 * the installable check over all eight required roles. */
static int bench_approve(size_t iters)
{
    ul_approvals base, a;
    ul_sig sigs[UL_MAX_SIGS];
    ul_span last = g_policy.roles[NROLES - 1].name;
    uint64_t ok = 0;

    memset(&base, 0, sizeof(base));
    for (size_t r = 0; r + 1 < NROLES; r++) {
        size_t n = sigs_of(sigs, 2 + r, ROLE_T);
        if (ul_policy_approve(&g_policy, g_policy.roles[r].name, sigs, n, &base) != UL_OK) {
            return 1;
        }
    }
    size_t n = sigs_of(sigs, 2 + NROLES - 1, ROLE_T);
    double t0 = now_s();
    for (size_t i = 0; i < iters; i++) {
        a = base;
        g_sink += ul_policy_approve(&g_policy, last, sigs, n, &a);
        ok += ul_policy_installable(&g_policy, UL_KIND_SECURITY, &a);
    }
    report("ul_policy_approve + ul_policy_installable (8 roles x 8 keys)", now_s() - t0, iters);
    return ok == iters ? 0 : 1;
}

static int bench_revoke(size_t iters)
{
    ul_sig sigs[UL_MAX_SIGS];
    size_t n = sigs_of(sigs, 2 + NROLES - 1, ROLE_T);

    if (ul_policy_revoke(&g_policy, sigs, n) != UL_OK) {
        return 1;
    }
    double t0 = now_s();
    for (size_t i = 0; i < iters; i++) {
        g_sink += ul_policy_revoke(&g_policy, sigs, n);
    }
    report("ul_policy_revoke (10 revoker sets, 5 sigs)", now_s() - t0, iters);
    return 0;
}

int main(int argc, char **argv)
{
    size_t iters = argc > 1 ? strtoul(argv[1], NULL, 10) : 200000;

    if (iters == 0) {
        fprintf(stderr, "usage: %s [ITERATIONS]\n", argv[0]);
        return 2;
    }
    policy_init(&g_policy);
    if (bench_release(iters) || bench_approve(iters) || bench_revoke(iters)) {
        fprintf(stderr, "bench_contracts: an evaluation did not give the expected result\n");
        return 1;
    }
    return 0;
}
