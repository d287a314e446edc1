/* The store's public API over its two backends: LevelDB (store_leveldb.c, a node's disk) and
 * memory (store_mem.c, a simulated disk). Checks the arguments, keeps the sticky fault and the
 * last error text in one place, and dispatches; the ledger above cannot tell them apart.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

/* What the last failed store call of this thread said: the backend's message and what was read. */
static _Thread_local char last_text[UL_STORE_TEXT_MAX];

ul_store *ul_store_new(const ul_store_ops *ops, void *be)
{
    ul_store *s = calloc(1, sizeof *s);
    if (s) {
        s->ops = ops;
        s->be = be;
    }
    return s;
}

ul_err ul_store_note(ul_store *s, ul_err e, const char *err, const char *context, bool sticky)
{
    snprintf(last_text, sizeof last_text, "%s%s%s", err, context[0] ? " " : "", context);
    if (s && (sticky || e == UL_E_CORRUPT) && s->fault != UL_E_CORRUPT) {
        s->fault = e;
        memcpy(s->fault_text, last_text, sizeof s->fault_text);
    }
    return e;
}

void ul_store_describe_key(char *out, size_t cap, const uint8_t *k, size_t klen)
{
    uint8_t f = klen ? k[0] : 0;
    if (klen >= 9 &&
        (f == UL_KEY_HEADER || f == UL_KEY_COMMIT || f == UL_KEY_TX || f == UL_KEY_VALSET)) {
        snprintf(out, cap, "key '%c' of height %llu", f, (unsigned long long)ul_be64_get(k + 1));
    } else if (f == UL_KEY_META && klen < 32) {
        snprintf(out, cap, "key \"%.*s\"", (int)klen, (const char *)k);
    } else if (f > 0x20 && f < 0x7f) {
        snprintf(out, cap, "a key of family '%c'", f);
    } else {
        snprintf(out, cap, "a key of family 0x%02x", f);
    }
}

int ul_store_key_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    int c = n ? memcmp(a, b, n) : 0;
    if (c != 0) {
        return c;
    }
    return alen < blen ? -1 : (alen > blen ? 1 : 0);
}

const char *ul_store_last_error(void)
{
    return last_text;
}

ul_err ul_store_fault(const ul_store *s, const char **text)
{
    assert(s);
    if (text) {
        *text = s->fault_text;
    }
    return s->fault;
}

void ul_store_compact(ul_store *s)
{
    assert(s);
    s->ops->compact(s);
}

void ul_store_close(ul_store *s)
{
    if (!s) {
        return;
    }
    s->ops->close(s);
    free(s);
}

ul_err ul_store_get(ul_store *s, const uint8_t *key, size_t klen, uint8_t **val, size_t *vlen)
{
    assert(s && key && val && vlen);
    *val = NULL;
    *vlen = 0;
    return s->ops->get(s, key, klen, val, vlen);
}

ul_err ul_store_get_fixed(ul_store *s, const uint8_t *key, size_t klen, uint8_t *out, size_t cap)
{
    assert(s && key && (out || cap == 0));
    return s->ops->get_fixed(s, key, klen, out, cap);
}

ul_err ul_store_write(ul_store *s, ul_batch *b, bool sync)
{
    assert(s && b);
    /* After a failed write the log may end in a torn record: writing on would bury it mid-log,
     * where the next open reads it as damage. Nothing is written until ul_store_recover. */
    if (s->fault != UL_OK) {
        return s->fault;
    }
    if (!sync) {
        return s->ops->write(s, b, false);
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ul_err e = s->ops->write(s, b, true);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    s->sync_stats.count++;
    s->sync_stats.ns += (uint64_t)(t1.tv_sec - t0.tv_sec) * 1000000000u + (uint64_t)t1.tv_nsec -
                        (uint64_t)t0.tv_nsec;
    return e;
}

void ul_store_sync_stats_get(const ul_store *s, ul_store_sync_stats *out)
{
    assert(s && out);
    *out = s->sync_stats;
}

void ul_store_size(ul_store *s, uint64_t *approx, uint64_t *disk)
{
    assert(s && approx && disk);
    s->ops->size(s, approx, disk);
}

static ul_err iter_create(ul_store_iter **out, ul_store *s, const uint8_t *prefix, size_t plen,
                          const uint8_t *start, size_t slen, bool desc)
{
    *out = NULL;
    ul_store_iter *it = calloc(1, sizeof(*it));
    if (!it) {
        return UL_E_NOMEM;
    }
    it->s = s;
    it->desc = desc;
    it->prefix = malloc(plen ? plen : 1);
    if (!it->prefix) {
        ul_store_iter_destroy(it);
        return UL_E_NOMEM;
    }
    if (plen) {
        memcpy(it->prefix, prefix, plen);
    }
    it->plen = plen;
    ul_err e = s->ops->iter_seek(it, start, slen);
    if (e != UL_OK) {
        ul_store_iter_destroy(it);
        return e;
    }
    *out = it;
    return UL_OK;
}

ul_err ul_store_iter_create(ul_store_iter **out, ul_store *s, const uint8_t *prefix, size_t plen,
                            const uint8_t *start, size_t slen)
{
    assert(out && s && (prefix || plen == 0) && (start || slen == 0));
    return iter_create(out, s, prefix, plen, start, slen, false);
}

ul_err ul_store_iter_create_desc(ul_store_iter **out, ul_store *s, const uint8_t *prefix,
                                 size_t plen, const uint8_t *start, size_t slen)
{
    assert(out && s && prefix && plen && start && slen);
    return iter_create(out, s, prefix, plen, start, slen, true);
}

bool ul_store_iter_next(ul_store_iter *it, const uint8_t **key, size_t *klen, const uint8_t **val,
                        size_t *vlen)
{
    assert(it && key && klen && val && vlen);
    return it->s->ops->iter_next(it, key, klen, val, vlen);
}

void ul_store_iter_destroy(ul_store_iter *it)
{
    if (!it) {
        return;
    }
    if (it->be) {
        it->s->ops->iter_free(it);
    }
    free(it->prefix);
    free(it);
}

ul_err ul_store_get_floor(ul_store *s, const uint8_t *prefix, size_t plen, const uint8_t *key,
                          size_t klen, uint8_t *found, size_t cap, size_t *flen, uint8_t **val,
                          size_t *vlen)
{
    assert(s && (prefix || plen == 0) && key && found && flen && val && vlen);
    *val = NULL;
    return s->ops->get_floor(s, prefix, plen, key, klen, found, cap, flen, val, vlen);
}

ul_err ul_store_verify(ul_store *s, uint64_t *entries)
{
    assert(s && entries);
    *entries = 0;
    return s->ops->verify(s, entries);
}

ul_err ul_store_recover(ul_store *s)
{
    assert(s);
    if (s->fault == UL_OK || s->fault == UL_E_CORRUPT) {
        return s->fault;
    }
    ul_err e = s->ops->recover(s);
    if (e == UL_OK) {
        s->fault = UL_OK;
        s->fault_text[0] = '\0';
    }
    return e;
}
