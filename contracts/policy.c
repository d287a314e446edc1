/* Policy contracts: who may publish, co-sign, revoke, rotate keys, transfer and change the policy
 * of a namespace. Pure functions of decoded records and the block time: no clock, no I/O, no
 * heap; every loop is bounded by a limit of ul_limits.h, so evaluation cost is bounded too.
 *
 * Fail closed: a structure whose counts exceed their arrays, or a key set whose threshold is not
 * within 1..n, authorises nothing (UL_E_LIMIT / UL_E_POLICY, or false from installable) — the
 * decoders never produce one, so only corrupted state or a programming error can reach it.
 */
#include <assert.h>
#include <stdbool.h>
#include <string.h>

#include "../client/ul_client.h"
#include "ul_contracts.h"

#define UL_NAME_OWNERS "owners"
#define UL_NAME_PUBLISHERS "publishers"

/* ---- Helpers ------------------------------------------------------------------------------ */

/* A key set can authorise something only with 1 <= threshold <= n <= UL_MAX_KEYS. */
static bool ul_keyset_usable(const ul_keyset *ks)
{
    return ks->n <= UL_MAX_KEYS && ks->threshold >= 1 && ks->threshold <= ks->n;
}

/* What a key set must be to enter a policy (rotation, transfer, a new policy): usable, and its
 * keys strictly ascending (unique) as the policy encoding requires (else UL_E_POLICY), and each
 * an x-only point (else UL_E_KEY): a threshold must never count a key that cannot sign. */
static ul_err ul_keyset_valid(const ul_keyset *ks)
{
    if (!ul_keyset_usable(ks)) {
        return UL_E_POLICY;
    }
    for (size_t i = 1; i < ks->n; i++) {
        if (memcmp(ks->keys[i - 1], ks->keys[i], UL_PUBKEY_BYTES) >= 0) {
            return UL_E_POLICY;
        }
    }
    for (size_t i = 0; i < ks->n; i++) {
        if (ul_client_pubkey_check(ks->keys[i]) != UL_OK) {
            return UL_E_KEY;
        }
    }
    return UL_OK;
}

static bool ul_keyset_has(const ul_keyset *ks, const uint8_t key[UL_PUBKEY_BYTES])
{
    for (size_t i = 0; i < ks->n && i < UL_MAX_KEYS; i++) {
        if (memcmp(ks->keys[i], key, UL_PUBKEY_BYTES) == 0) {
            return true;
        }
    }
    return false;
}

/* True when sigs[i]'s key already appeared in sigs[0..i): duplicates are counted once. */
static bool ul_sig_seen(const ul_sig *sigs, size_t i)
{
    for (size_t j = 0; j < i; j++) {
        if (memcmp(sigs[j].pubkey, sigs[i].pubkey, UL_PUBKEY_BYTES) == 0) {
            return true;
        }
    }
    return false;
}

/* Distinct signers that are members of ks. */
static size_t ul_count_members(const ul_keyset *ks, const ul_sig *sigs, size_t n)
{
    size_t count = 0;

    for (size_t i = 0; i < n; i++) {
        if (!ul_sig_seen(sigs, i) && ul_keyset_has(ks, sigs[i].pubkey)) {
            count++;
        }
    }
    return count;
}

/* Byte-wise order of names, a proper prefix first: the order of ul_approvals' role entries. */
static int ul_name_cmp(ul_span a, ul_span b)
{
    size_t n = a.len < b.len ? a.len : b.len;
    int c = n > 0 ? memcmp(a.ptr, b.ptr, n) : 0;

    if (c != 0) {
        return c;
    }
    return a.len < b.len ? -1 : a.len > b.len ? 1 : 0;
}

static ul_keyset *ul_keyset_mut(ul_policy *p, ul_span name)
{
    if (ul_span_eq_str(name, UL_NAME_OWNERS)) {
        return &p->owners;
    }
    if (ul_span_eq_str(name, UL_NAME_PUBLISHERS)) {
        return &p->publishers;
    }
    for (size_t i = 0; i < p->n_roles && i < UL_MAX_ROLES; i++) {
        if (ul_span_eq(p->roles[i].name, name)) {
            return &p->roles[i].keys;
        }
    }
    return NULL;
}

/* ---- Signers and names -------------------------------------------------------------------- */

/* Membership is checked for every signature before anything is counted, so a stranger among
 * enough members is still refused (a tx must not carry signatures that mean nothing). Zero
 * signatures is UL_E_THRESHOLD. More than UL_MAX_SIGS is UL_E_LIMIT (a tx never has more), and
 * an unusable key set (threshold outside 1..n) is UL_E_POLICY: it must never pass by accident. */
ul_err ul_policy_signers(const ul_keyset *ks, const ul_sig *sigs, size_t n, ul_err not_member)
{
    assert(ks != NULL && (sigs != NULL || n == 0));
    if (n > UL_MAX_SIGS) {
        return UL_E_LIMIT;
    }
    if (!ul_keyset_usable(ks)) {
        return UL_E_POLICY;
    }
    for (size_t i = 0; i < n; i++) {
        if (!ul_keyset_has(ks, sigs[i].pubkey)) {
            return not_member;
        }
    }
    return ul_count_members(ks, sigs, n) >= ks->threshold ? UL_OK : UL_E_THRESHOLD;
}

const ul_role *ul_policy_role(const ul_policy *p, ul_span name)
{
    assert(p != NULL);
    for (size_t i = 0; i < p->n_roles && i < UL_MAX_ROLES; i++) {
        if (ul_span_eq(p->roles[i].name, name)) {
            return &p->roles[i];
        }
    }
    return NULL;
}

const ul_keyset *ul_policy_keyset(const ul_policy *p, ul_span name)
{
    assert(p != NULL);
    /* ul_keyset_mut only finds; it writes nothing. */
    return ul_keyset_mut((ul_policy *)p, name);
}

/* ---- Releases and approvals --------------------------------------------------------------- */

ul_err ul_policy_check_release(const ul_policy *p, const ul_release *r, const ul_sig *sigs,
                               size_t n_sigs)
{
    assert(p != NULL && r != NULL);
    if (r->n_hw > UL_MAX_HW || p->n_hw > UL_MAX_HW) {
        return UL_E_LIMIT;
    }
    for (size_t i = 0; i < r->n_hw && p->n_hw > 0; i++) {
        bool allowed = false;

        for (size_t j = 0; j < p->n_hw && !allowed; j++) {
            allowed = ul_span_eq(r->hw[i], p->hw[j]);
        }
        if (!allowed) {
            return UL_E_HW_CLASS;
        }
    }
    return ul_policy_signers(&p->publishers, sigs, n_sigs, UL_E_NOT_PUBLISHER);
}

/* The entry of a for role name, or NULL. */
static const ul_role_approvals *ul_approvals_find(const ul_approvals *a, ul_span name)
{
    for (size_t i = 0; i < a->n && i < UL_MAX_ROLES; i++) {
        if (ul_span_eq(a->roles[i].role, name)) {
            return &a->roles[i];
        }
    }
    return NULL;
}

/* Keys of entry e (counted once each) that are current members of ks. */
static size_t ul_approvals_count(const ul_role_approvals *e, const ul_keyset *ks)
{
    size_t count = 0;

    for (size_t i = 0; i < e->n && i < UL_MAX_KEYS; i++) {
        bool dup = false;

        for (size_t j = 0; j < i && !dup; j++) {
            dup = memcmp(e->keys[j], e->keys[i], UL_PUBKEY_BYTES) == 0;
        }
        if (!dup && ul_keyset_has(ks, e->keys[i])) {
            count++;
        }
    }
    return count;
}

/* A requirement naming an undefined role, or a role whose key set is unusable, can never be met:
 * the release stays not installable (fail closed) rather than skipping the role. */
bool ul_policy_installable(const ul_policy *p, uint64_t kind, const ul_approvals *a)
{
    const ul_requirement *req = NULL;

    assert(p != NULL && a != NULL);
    if (p->n_require > UL_KIND_MAX_ + 1) {
        return false;
    }
    for (size_t i = 0; i < p->n_require && req == NULL; i++) {
        if (p->require[i].kind == kind) {
            req = &p->require[i];
        }
    }
    if (req == NULL) {
        return true;
    }
    if (req->n > UL_MAX_ROLES) {
        return false;
    }
    for (size_t i = 0; i < req->n; i++) {
        const ul_role *role = ul_policy_role(p, req->roles[i]);
        const ul_role_approvals *e = ul_approvals_find(a, req->roles[i]);

        if (role == NULL || !ul_keyset_usable(&role->keys)) {
            return false;
        }
        if (e == NULL || ul_approvals_count(e, &role->keys) < role->keys.threshold) {
            return false;
        }
    }
    return true;
}

/* Inserts key into e's ascending key list. Returns false when it was already there. Precondition:
 * room for one more key unless it is there. The duplicate scan does not rely on the order, so a
 * missorted stored entry can never make the merge below insert more than it counted. */
static bool ul_entry_insert(ul_role_approvals *e, const uint8_t key[UL_PUBKEY_BYTES])
{
    size_t at = 0;

    for (size_t i = 0; i < e->n; i++) {
        if (memcmp(e->keys[i], key, UL_PUBKEY_BYTES) == 0) {
            return false;
        }
    }
    assert(e->n < UL_MAX_KEYS);
    while (at < e->n && memcmp(e->keys[at], key, UL_PUBKEY_BYTES) < 0) {
        at++;
    }
    memmove(e->keys[at + 1], e->keys[at], (e->n - at) * UL_PUBKEY_BYTES);
    memcpy(e->keys[at], key, UL_PUBKEY_BYTES);
    e->n++;
    return true;
}

/* Drops keys that no longer hold the role (rotated out). Only done when an entry would otherwise
 * overflow UL_MAX_KEYS: until then the record keeps who co-signed, even after a rotation. */
static void ul_entry_prune(ul_role_approvals *e, const ul_keyset *ks)
{
    size_t kept = 0;

    for (size_t i = 0; i < e->n; i++) {
        if (ul_keyset_has(ks, e->keys[i])) {
            memmove(e->keys[kept++], e->keys[i], UL_PUBKEY_BYTES);
        }
    }
    e->n = kept;
}

/* Merges the signers (all members of ks) into entry e, a local copy. UL_E_APPROVED when nothing
 * is new; UL_E_LIMIT when the keys cannot fit even without rotated-out ones. */
static ul_err ul_entry_merge(ul_role_approvals *e, const ul_keyset *ks, const ul_sig *sigs,
                             size_t n)
{
    size_t fresh = 0;

    for (size_t i = 0; i < n; i++) {
        bool have = false;

        for (size_t j = 0; j < e->n && !have; j++) {
            have = memcmp(e->keys[j], sigs[i].pubkey, UL_PUBKEY_BYTES) == 0;
        }
        if (!have && !ul_sig_seen(sigs, i)) {
            fresh++;
        }
    }
    if (fresh == 0) {
        return UL_E_APPROVED;
    }
    if (e->n + fresh > UL_MAX_KEYS) {
        ul_entry_prune(e, ks);
    }
    if (e->n + fresh > UL_MAX_KEYS) {
        return UL_E_LIMIT;
    }
    for (size_t i = 0; i < n; i++) {
        ul_entry_insert(e, sigs[i].pubkey);
    }
    return UL_OK;
}

/* Where role name belongs in a's entries (sorted by ul_name_cmp): sets *at to its index, or to
 * the insertion point when absent. Returns: true when present. Equality is searched over every
 * entry first, so a missorted stored list can never gain a second entry for one role. */
static bool ul_approvals_slot(const ul_approvals *a, ul_span name, size_t *at)
{
    for (*at = 0; *at < a->n; (*at)++) {
        if (ul_span_eq(a->roles[*at].role, name)) {
            return true;
        }
    }
    *at = 0;
    while (*at < a->n && ul_name_cmp(a->roles[*at].role, name) < 0) {
        (*at)++;
    }
    return false;
}

/* Makes room for one more entry in a full list by dropping the first entry of a role p no longer
 * defines (renamed or removed by a policy change). Returns: false when every entry is live. */
static bool ul_approvals_drop_stale(const ul_policy *p, ul_approvals *a)
{
    for (size_t i = 0; i < a->n; i++) {
        if (ul_policy_role(p, a->roles[i].role) == NULL) {
            memmove(&a->roles[i], &a->roles[i + 1], (a->n - i - 1) * sizeof(a->roles[0]));
            a->n--;
            return true;
        }
    }
    return false;
}

/* The new entry's role span points at the policy's role name (p->roles[i].name), i.e. into the
 * caller's policy bytes: the caller keeps those alive until it has encoded a. Nothing in a
 * changes unless UL_OK is returned. Zero signatures is UL_E_THRESHOLD. Room is made, only when
 * needed, by dropping keys rotated out of the role and entries of roles the policy no longer
 * defines; until then a keeps the full record of who co-signed. */
ul_err ul_policy_approve(const ul_policy *p, ul_span role, const ul_sig *sigs, size_t n_sigs,
                         ul_approvals *a)
{
    const ul_role *r;
    ul_role_approvals e;
    size_t at;
    ul_err err;

    assert(p != NULL && a != NULL && (sigs != NULL || n_sigs == 0));
    if ((r = ul_policy_role(p, role)) == NULL) {
        return UL_E_ROLE_UNKNOWN;
    }
    if (n_sigs > UL_MAX_SIGS || a->n > UL_MAX_ROLES) {
        return UL_E_LIMIT;
    }
    if (!ul_keyset_usable(&r->keys)) {
        return UL_E_POLICY;
    }
    if (n_sigs == 0) {
        return UL_E_THRESHOLD;
    }
    for (size_t i = 0; i < n_sigs; i++) {
        if (!ul_keyset_has(&r->keys, sigs[i].pubkey)) {
            return UL_E_NOT_ROLE;
        }
    }
    bool found = ul_approvals_slot(a, r->name, &at);

    memset(&e, 0, sizeof(e));
    e.role = r->name;
    if (found) {
        if (a->roles[at].n > UL_MAX_KEYS) {
            return UL_E_LIMIT;
        }
        e = a->roles[at];
    }
    if ((err = ul_entry_merge(&e, &r->keys, sigs, n_sigs)) != UL_OK) {
        return err;
    }
    if (!found) {
        /* A full list holds a stale role: a policy defines at most UL_MAX_ROLES roles. */
        if (a->n == UL_MAX_ROLES && !ul_approvals_drop_stale(p, a)) {
            return UL_E_LIMIT;
        }
        ul_approvals_slot(a, r->name, &at);
        memmove(&a->roles[at + 1], &a->roles[at], (a->n - at) * sizeof(a->roles[0]));
        a->n++;
    }
    a->roles[at] = e;
    return UL_OK;
}

/* ---- Revocation, rotation, transfer, policy change ---------------------------------------- */

/* Each signer must belong to at least one listed revoker set (a stray signature is refused, as
 * in ul_policy_signers), and the members of one set among the signers must meet its threshold;
 * signers of other sets simply do not count for it. A listed name that denotes no key set
 * grants nothing. Every failure, "too few" included, is UL_E_NOT_REVOKER. */
ul_err ul_policy_revoke(const ul_policy *p, const ul_sig *sigs, size_t n_sigs)
{
    const ul_keyset *sets[UL_MAX_ROLES + 2];
    size_t nr = 0;
    bool met = false;

    assert(p != NULL && (sigs != NULL || n_sigs == 0));
    if (n_sigs > UL_MAX_SIGS || p->n_revokers > UL_MAX_ROLES + 2) {
        return UL_E_LIMIT;
    }
    for (size_t k = 0; k < p->n_revokers; k++) { /* names resolved once */
        const ul_keyset *ks = ul_policy_keyset(p, p->revokers[k]);

        if (ks != NULL) {
            sets[nr++] = ks;
        }
    }
    for (size_t i = 0; i < n_sigs; i++) {
        bool member = false;

        for (size_t k = 0; k < nr && !member; k++) {
            member = ul_keyset_has(sets[k], sigs[i].pubkey);
        }
        if (!member) {
            return UL_E_NOT_REVOKER;
        }
    }
    for (size_t k = 0; k < nr && !met; k++) {
        met = ul_keyset_usable(sets[k]) &&
              ul_count_members(sets[k], sigs, n_sigs) >= sets[k]->threshold;
    }
    return met ? UL_OK : UL_E_NOT_REVOKER;
}

/* The owners rotate any key set, their own included; the new set must be valid (keys ascending
 * and unique, threshold 1..n) so the policy can still be encoded and still authorise. */
ul_err ul_policy_rotate(ul_policy *p, const ul_rotate *r, const ul_sig *sigs, size_t n_sigs)
{
    ul_keyset *target;
    ul_err e;

    assert(p != NULL && r != NULL);
    if ((e = ul_policy_signers(&p->owners, sigs, n_sigs, UL_E_NOT_OWNER)) != UL_OK) {
        return e;
    }
    if ((target = ul_keyset_mut(p, r->target)) == NULL) {
        return UL_E_ROLE_UNKNOWN;
    }
    if ((e = ul_keyset_valid(&r->keys)) != UL_OK) {
        return e;
    }
    *target = r->keys;
    return UL_OK;
}

/* A set that breaks ul_schema.h's rules (too many members, zero power, total above
 * UL_MAX_TOTAL_POWER) backs nothing; the bound keeps 3 x power inside uint64. */
ul_err ul_policy_validators(const ul_valset *vs, const ul_sig *sigs, size_t n_sigs)
{
    uint64_t total = 0, signed_power = 0;

    if (vs == NULL || vs->n > UL_MAX_VALIDATORS || n_sigs == 0) {
        return UL_E_QUORUM;
    }
    for (size_t j = 0; j < vs->n; j++) {
        uint64_t pw = vs->v[j].power;

        if (pw == 0 || pw > UL_MAX_TOTAL_POWER - total) {
            return UL_E_QUORUM;
        }
        total += pw;
    }
    for (size_t i = 0; i < n_sigs; i++) {
        bool found = false;

        for (size_t j = 0; j < vs->n && !found; j++) {
            if (memcmp(vs->v[j].pubkey, sigs[i].pubkey, UL_PUBKEY_BYTES) == 0) {
                found = true;
                signed_power += ul_sig_seen(sigs, i) ? 0 : vs->v[j].power;
            }
        }
        if (!found) {
            return UL_E_VALIDATOR;
        }
    }
    return ul_power_quorum(signed_power, total) ? UL_OK : UL_E_QUORUM;
}

/* True when the distinct signers are all validators of vs and hold more than 2/3 of its power. */
static bool ul_validators_quorum(const ul_valset *vs, const ul_sig *sigs, size_t n)
{
    return ul_policy_validators(vs, sigs, n) == UL_OK;
}

/* True when every signer is a validator of vs (power not considered). */
static bool ul_all_validators(const ul_valset *vs, const ul_sig *sigs, size_t n)
{
    if (vs == NULL || vs->n > UL_MAX_VALIDATORS || n == 0) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        bool found = false;

        for (size_t j = 0; j < vs->n && !found; j++) {
            found = memcmp(vs->v[j].pubkey, sigs[i].pubkey, UL_PUBKEY_BYTES) == 0;
        }
        if (!found) {
            return false;
        }
    }
    return true;
}

/* Before the end of support (or without one) only the owners' threshold transfers; validators
 * who try then get UL_E_EOS (they took the after-EOS path too early), anyone else the owners'
 * error. From the end of support on, the owners' threshold or a >2/3 validator quorum; UL_E_EOS
 * when neither holds. Roles, requirements and rules stay; owners and publishers are replaced. */
ul_err ul_policy_transfer(ul_policy *p, const ul_transfer *t, const ul_sig *sigs, size_t n_sigs,
                          const ul_valset *vs, uint64_t now_s)
{
    bool after_eos;
    ul_err e;

    assert(p != NULL && t != NULL && (sigs != NULL || n_sigs == 0));
    after_eos = p->has_eos && now_s >= p->eos;
    if (n_sigs > UL_MAX_SIGS) {
        return UL_E_LIMIT;
    }
    e = ul_policy_signers(&p->owners, sigs, n_sigs, UL_E_NOT_OWNER);
    if (e != UL_OK && !after_eos) {
        return e == UL_E_NOT_OWNER && ul_all_validators(vs, sigs, n_sigs) ? UL_E_EOS : e;
    }
    if (e != UL_OK && !ul_validators_quorum(vs, sigs, n_sigs)) {
        return UL_E_EOS;
    }
    if ((e = ul_keyset_valid(&t->owners)) != UL_OK ||
        (e = ul_keyset_valid(&t->publishers)) != UL_OK) {
        return e;
    }
    p->owners = t->owners;
    p->publishers = t->publishers;
    return UL_OK;
}

static bool ul_is_reserved(ul_span name)
{
    return ul_span_eq_str(name, UL_NAME_OWNERS) || ul_span_eq_str(name, UL_NAME_PUBLISHERS);
}

/* Every key set of p (owners, publishers, each role) by ul_keyset_valid: the first failure. */
static ul_err ul_policy_keys_valid(const ul_policy *p)
{
    ul_err e = ul_keyset_valid(&p->owners);

    if (e == UL_OK) {
        e = ul_keyset_valid(&p->publishers);
    }
    for (size_t i = 0; i < p->n_roles && e == UL_OK; i++) {
        e = ul_keyset_valid(&p->roles[i].keys);
    }
    return e;
}

/* The consistency rules of ul_schema_policy_decode, re-checked: a policy built in memory (or a
 * decoder bug) must not become a namespace's contract. */
static ul_err ul_policy_valid(const ul_policy *p)
{
    if (p->n_roles > UL_MAX_ROLES || p->n_require > UL_KIND_MAX_ + 1 || p->n_hw > UL_MAX_HW ||
        p->n_revokers > UL_MAX_ROLES + 2) {
        return UL_E_LIMIT;
    }
    if (p->n_revokers == 0) {
        return UL_E_POLICY;
    }
    for (size_t i = 0; i < p->n_roles; i++) {
        if (ul_is_reserved(p->roles[i].name) || p->roles[i].name.len == 0 ||
            (i > 0 && ul_name_cmp(p->roles[i - 1].name, p->roles[i].name) >= 0)) {
            return UL_E_POLICY;
        }
    }
    for (size_t i = 0; i < p->n_require; i++) {
        const ul_requirement *q = &p->require[i];

        if (q->n == 0 || q->n > UL_MAX_ROLES || q->kind > UL_KIND_MAX_ ||
            (i > 0 && p->require[i - 1].kind >= q->kind)) {
            return UL_E_POLICY;
        }
        for (size_t j = 0; j < q->n; j++) {
            if (ul_policy_role(p, q->roles[j]) == NULL) {
                return UL_E_POLICY;
            }
        }
    }
    for (size_t i = 0; i < p->n_revokers; i++) {
        if (ul_policy_keyset(p, p->revokers[i]) == NULL) {
            return UL_E_POLICY;
        }
    }
    return ul_policy_keys_valid(p);
}

ul_err ul_policy_set(const ul_policy *cur, const ul_policy *next, const ul_sig *sigs, size_t n_sigs)
{
    ul_err e;

    assert(cur != NULL && next != NULL);
    if ((e = ul_policy_signers(&cur->owners, sigs, n_sigs, UL_E_NOT_OWNER)) != UL_OK) {
        return e;
    }
    return ul_policy_valid(next);
}

ul_err ul_policy_register(const ul_policy *p, const ul_sig *sigs, size_t n_sigs)
{
    ul_err e;

    assert(p != NULL);
    if ((e = ul_policy_valid(p)) != UL_OK) {
        return e;
    }
    return ul_policy_signers(&p->owners, sigs, n_sigs, UL_E_NOT_OWNER);
}
