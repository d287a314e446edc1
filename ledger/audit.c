/* Audit: replay a whole chain from its genesis into a scratch store, re-executing every
 * transaction and re-checking every header and commit. A chain passes only if every block it
 * holds is exactly the block an honest node would have produced from the same transactions. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define AUDIT_PROGRESS_EVERY 16 /* blocks between progress callbacks (callers throttle) */

ul_err ul_audit_run(const uint8_t *genesis, size_t glen, ul_block_source src, void *src_arg,
                    const char *scratch_dir, ul_audit_progress progress, void *progress_arg,
                    ul_audit_result *res)
{
    ul_chain *c = NULL;
    memset(res, 0, sizeof *res);
    ul_err e = ul_chain_open(&c, scratch_dir, genesis, glen);
    if (e != UL_OK) {
        return e;
    }
    c->sync = false; /* the scratch store is thrown away; durability buys nothing here */
    for (uint64_t h = 1;; h++) {
        uint8_t *blk = NULL, *cm = NULL;
        size_t blen, clen;
        e = src(src_arg, h, &blk, &blen, &cm, &clen);
        if (e == UL_E_NOT_FOUND) {
            e = UL_OK;
            break;
        }
        if (e == UL_OK) {
            e = ul_chain_apply(c, blk, blen, cm, clen);
        }
        free(blk);
        free(cm);
        if (e != UL_OK) {
            res->fail_height = h;
            break;
        }
        res->height = h;
        if (progress && h % AUDIT_PROGRESS_EVERY == 0) {
            progress(progress_arg, h, ul_chain_log_size(c));
        }
    }
    res->releases = ul_chain_log_size(c);
    memcpy(res->head, c->head_hash, UL_HASH_BYTES);
    ul_log_root(c->log, res->log_root);
    ul_chain_close(c);
    return e;
}
