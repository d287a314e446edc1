/* libFuzzer target for every schema/ decoder: each decoder runs on the input, and whatever one
 * accepts must re-encode to exactly the input bytes (canonical form is unique), else abort().
 * Built with tests/fuzz/replay.c, the saved corpus is replayed by `make test`.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "schema/ul_schema.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_OUT (1u << 20)
#define FZ_TXS 64

static uint8_t out[FZ_OUT];

/* After a decode succeeded: the re-encoding (e, n bytes in out) must succeed and give back the
 * input. */
static void same(ul_err e, size_t n, const uint8_t *data, size_t size)
{
    if (e != UL_OK || n != size || memcmp(out, data, size) != 0) {
        abort();
    }
}

#define ROUND_TRIP(name, type)                                                                     \
    static void rt_##name(const uint8_t *data, size_t size)                                        \
    {                                                                                              \
        static type rec;                                                                           \
        size_t n = 0;                                                                              \
        if (ul_schema_##name##_decode(&rec, data, size) == UL_OK) {                                \
            ul_err e = ul_schema_##name##_encode(out, sizeof out, &n, &rec);                       \
            same(e, n, data, size);                                                                \
        }                                                                                          \
    }

ROUND_TRIP(release, ul_release)
ROUND_TRIP(register, ul_register)
ROUND_TRIP(tx, ul_tx)
ROUND_TRIP(valset, ul_valset)
ROUND_TRIP(genesis, ul_genesis)
ROUND_TRIP(header, ul_header)
ROUND_TRIP(vote, ul_vote)
ROUND_TRIP(commit, ul_commit)
ROUND_TRIP(inclusion, ul_inclusion)
ROUND_TRIP(consistency, ul_consistency)
ROUND_TRIP(policy, ul_policy)
ROUND_TRIP(set_policy, ul_set_policy)
ROUND_TRIP(approve, ul_approve)
ROUND_TRIP(revoke, ul_revoke)
ROUND_TRIP(rotate, ul_rotate)
ROUND_TRIP(transfer, ul_transfer)
ROUND_TRIP(approvals, ul_approvals)
ROUND_TRIP(evidence, ul_evidence)

static void rt_block(const uint8_t *data, size_t size)
{
    static ul_span txs[FZ_TXS];
    ul_block b;
    size_t n = 0;
    if (ul_schema_block_decode(&b, txs, FZ_TXS, data, size) == UL_OK) {
        if (b.txs != txs || b.n_txs > FZ_TXS) {
            abort();
        }
        ul_err e = ul_schema_block_encode(out, sizeof out, &n, b.header, b.txs, b.n_txs);
        same(e, n, data, size);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > FZ_OUT) {
        return 0;
    }
    rt_release(data, size);
    rt_register(data, size);
    rt_tx(data, size);
    rt_valset(data, size);
    rt_genesis(data, size);
    rt_header(data, size);
    rt_vote(data, size);
    rt_commit(data, size);
    rt_inclusion(data, size);
    rt_consistency(data, size);
    rt_block(data, size);
    rt_policy(data, size);
    rt_set_policy(data, size);
    rt_approve(data, size);
    rt_revoke(data, size);
    rt_rotate(data, size);
    rt_transfer(data, size);
    rt_approvals(data, size);
    rt_evidence(data, size);
    /* Any verdict is right for fuzzed bytes: this only runs the check for the sanitizers. (GCC
     * warns through a (void) cast of the call, not of a variable.) */
    ul_err any = ul_schema_ns_check((ul_span){data, size});
    (void)any;
    return 0;
}
