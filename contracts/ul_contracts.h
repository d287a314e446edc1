/* contracts/: deterministic evaluation of a transaction against a namespace's policy contract.
 *
 * Every function here is pure: decoded records and state in, a decision out. No clock but the
 * block time the caller passes, no I/O, bounded work (every loop is over a bounded list of
 * ul_limits.h). The ledger reads and writes state; contracts decide.
 */
#ifndef UL_CONTRACTS_H
#define UL_CONTRACTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../schema/ul_schema.h"

/* Checks that every signer is in ks (else not_member) and that the distinct signers number at
 * least ks->threshold (else UL_E_THRESHOLD). Signature validity is checked elsewhere. */
ul_err ul_policy_signers(const ul_keyset *ks, const ul_sig *sigs, size_t n, ul_err not_member);

/* Returns: the role named name, or NULL. "owners" and "publishers" are not roles. */
const ul_role *ul_policy_role(const ul_policy *p, ul_span name);

/* The key set a name denotes: "owners", "publishers" or a role; NULL when none. */
const ul_keyset *ul_policy_keyset(const ul_policy *p, ul_span name);

/* A release's fit with its namespace policy (signatures and state checked by the caller):
 * every hardware class allowed (UL_E_HW_CLASS) and signers meeting the publishers' threshold
 * (UL_E_NOT_PUBLISHER for a signer outside it, UL_E_THRESHOLD when too few). */
ul_err ul_policy_check_release(const ul_policy *p, const ul_release *r, const ul_sig *sigs,
                               size_t n_sigs);

/* Returns: true when every role the policy requires for update kind `kind` has approvals from
 * at least its threshold of its current keys (keys rotated out no longer count). */
bool ul_policy_installable(const ul_policy *p, uint64_t kind, const ul_approvals *a);

/* Adds the signers of an approve tx for role `role` to a (each key once). Every signer must hold
 * the role (UL_E_NOT_ROLE); UL_E_ROLE_UNKNOWN for an undefined role; UL_E_APPROVED when every
 * signer had already approved (nothing new). */
ul_err ul_policy_approve(const ul_policy *p, ul_span role, const ul_sig *sigs, size_t n_sigs,
                         ul_approvals *a);

/* Checks that the signers meet the threshold of at least one revoker set (UL_E_NOT_REVOKER). */
ul_err ul_policy_revoke(const ul_policy *p, const ul_sig *sigs, size_t n_sigs);

/* Applies a rotation to p in place, after checking owner signatures (UL_E_NOT_OWNER,
 * UL_E_THRESHOLD) and that the target exists (UL_E_ROLE_UNKNOWN); the result must stay a valid
 * policy (UL_E_POLICY) whose keys are all x-only points (UL_E_KEY: keys that can never sign). */
ul_err ul_policy_rotate(ul_policy *p, const ul_rotate *r, const ul_sig *sigs, size_t n_sigs);

/* Checks who may transfer at block time now_s (unix seconds): before the end of support (or
 * without one) the owners' threshold; from it on, signers that are validators of vs holding more
 * than 2/3 of its voting power (UL_E_EOS when neither holds); the successor's key sets valid
 * (UL_E_POLICY) and of x-only points (UL_E_KEY). Applies the transfer to p. */
ul_err ul_policy_transfer(ul_policy *p, const ul_transfer *t, const ul_sig *sigs, size_t n_sigs,
                          const ul_valset *vs, uint64_t now_s);

/* The rule of a validator-set change (and of a transfer after the end of support): every signer
 * is a validator of vs (else UL_E_VALIDATOR) and the distinct signers hold more than 2/3 of its
 * voting power (else UL_E_QUORUM). Signature validity is checked elsewhere. */
ul_err ul_policy_validators(const ul_valset *vs, const ul_sig *sigs, size_t n_sigs);

/* Checks a new namespace's policy p (a register tx): p valid (UL_E_LIMIT, UL_E_POLICY, UL_E_KEY
 * as for a policy change), then signed by its own owners' threshold (UL_E_NOT_OWNER,
 * UL_E_THRESHOLD). */
ul_err ul_policy_register(const ul_policy *p, const ul_sig *sigs, size_t n_sigs);

/* Checks a policy change: owner signatures of the current policy cur (threshold) and a valid
 * new policy (UL_E_LIMIT, UL_E_POLICY; UL_E_KEY for a key that is not an x-only point). */
ul_err ul_policy_set(const ul_policy *cur, const ul_policy *next, const ul_sig *sigs,
                     size_t n_sigs);

#endif
