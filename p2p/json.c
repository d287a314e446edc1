/* Records as JSON: what `upledger --json` prints and what upledgerd's HTTP API serves, in one
 * place (p2p/ul_json.h). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "ul_json.h"

/* jansson's integers are signed 64-bit: a uint64 above INT64_MAX is held as a string made of
 * this process's random mark and its decimal digits, and ul_json_dumps writes the digits as a bare
 * JSON number. Input cannot forge the mark (it is random per run and begins with a control byte
 * that jansson always escapes). */
#define U64_MARK_BYTES 16

static char u64_mark_text[2 + 2 * U64_MARK_BYTES + 2];

static void make_mark(void)
{
    uint8_t r[U64_MARK_BYTES];
    randombytes_buf(r, sizeof r);
    u64_mark_text[0] = '\x01';
    ul_hex_encode(u64_mark_text + 1, r, sizeof r);
    u64_mark_text[1 + 2 * U64_MARK_BYTES] = ':';
}

/* Made once per process, also when the node's HTTP threads render JSON at the same time. */
static const char *u64_mark(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, make_mark);
    return u64_mark_text;
}

json_t *ul_json_u64(uint64_t v)
{
    char s[2 + 2 * U64_MARK_BYTES + 2 + 21];
    if (v <= (uint64_t)INT64_MAX) {
        return json_integer((json_int_t)v);
    }
    snprintf(s, sizeof s, "%s%llu", u64_mark(), (unsigned long long)v);
    return json_string(s);
}

uint64_t ul_json_u64_value(const json_t *v)
{
    const char *mark = u64_mark();
    if (json_is_integer(v)) {
        return json_integer_value(v) < 0 ? 0 : (uint64_t)json_integer_value(v);
    }
    const char *s = json_string_value(v);
    if (!s || strncmp(s, mark, strlen(mark)) != 0) {
        return 0;
    }
    return strtoull(s + strlen(mark), NULL, 10);
}

char *ul_json_dumps(const json_t *v, size_t flags)
{
    char *text = json_dumps(v, flags);
    char pat[8 + 2 * U64_MARK_BYTES + 2];
    if (!text) {
        return NULL;
    }
    /* The mark as jansson writes it: a quote, \u0001, the hex, a colon. */
    snprintf(pat, sizeof pat, "\"\\u0001%s", u64_mark() + 1);
    size_t plen = strlen(pat), o = 0;
    for (size_t i = 0; text[i];) {
        if (strncmp(text + i, pat, plen) == 0) {
            i += plen;
            while (text[i] >= '0' && text[i] <= '9') {
                text[o++] = text[i++];
            }
            i += text[i] == '"'; /* the closing quote */
        } else {
            text[o++] = text[i++];
        }
    }
    text[o] = 0;
    return text;
}

void ul_json_time_str(char out[32], uint64_t unix_s)
{
    time_t t = (time_t)unix_s;
    struct tm tm;
    /* Past year 9999 (or past time_t: 2^64 - 1 is -1, 1969) the date is not ISO 8601 with a
     * four-digit year: the seconds are shown as they are. */
    if (unix_s > UL_MAX_RELEASE_TIME || !gmtime_r(&t, &tm) ||
        !strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm)) {
        snprintf(out, 32, "%llu", (unsigned long long)unix_s);
    }
}

json_t *ul_json_hex(const uint8_t *p, size_t n)
{
    char *s = malloc(2 * n + 1);
    if (!s) {
        return NULL;
    }
    ul_hex_encode(s, p, n);
    json_t *v = json_string(s);
    free(s);
    return v;
}

const char *ul_json_tx_kind_name(uint64_t kind)
{
    static const char *names[] = {"unknown", "register", "publish",  "set-policy", "approve",
                                  "revoke",  "rotate",   "transfer", "validators", "evidence"};
    _Static_assert(sizeof names / sizeof names[0] == UL_TX_KIND_MAX_ + 1, "a name per kind");
    return kind <= UL_TX_KIND_MAX_ ? names[kind] : "unknown";
}

const char *ul_json_kind_name(uint64_t kind)
{
    static const char *names[] = {"security", "feature", "bugfix", "maintenance"};
    return kind <= UL_KIND_MAX_ ? names[kind] : "unknown";
}

static json_t *span_json(ul_span s)
{
    return json_stringn((const char *)s.ptr, s.len);
}

static json_t *keyset_to_json(const ul_keyset *k)
{
    json_t *keys = json_array();
    for (size_t i = 0; i < k->n; i++) {
        json_array_append_new(keys, ul_json_hex(k->keys[i], UL_PUBKEY_BYTES));
    }
    return json_pack("{s:o,s:I}", "keys", keys, "threshold", (json_int_t)k->threshold);
}

static json_t *spans_to_json(const ul_span *s, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(a, span_json(s[i]));
    }
    return a;
}

json_t *ul_json_policy(const ul_policy *p)
{
    json_t *roles = json_object(), *require = json_object();
    for (size_t i = 0; i < p->n_roles; i++) {
        char name[UL_MAX_LABEL_LEN + 1];
        snprintf(name, sizeof name, "%.*s", (int)p->roles[i].name.len,
                 (const char *)p->roles[i].name.ptr);
        json_object_set_new(roles, name, keyset_to_json(&p->roles[i].keys));
    }
    for (size_t i = 0; i < p->n_require; i++) {
        json_object_set_new(require, ul_json_kind_name(p->require[i].kind),
                            spans_to_json(p->require[i].roles, p->require[i].n));
    }
    json_t *o = json_pack("{s:o,s:o,s:o,s:o,s:o,s:o}", "owners", keyset_to_json(&p->owners),
                          "publishers", keyset_to_json(&p->publishers), "roles", roles, "require",
                          require, "hardware", spans_to_json(p->hw, p->n_hw), "revokers",
                          spans_to_json(p->revokers, p->n_revokers));
    if (o && p->has_eos) {
        char t[32];
        ul_json_time_str(t, p->eos);
        json_object_set_new(o, "end_of_support", json_string(t));
    }
    return o;
}

json_t *ul_json_release(const uint8_t *tx, size_t len)
{
    ul_tx t;
    ul_release *r = malloc(sizeof *r);
    uint8_t id[UL_HASH_BYTES];
    char when[32];
    if (!r || ul_schema_tx_decode(&t, tx, len) != UL_OK || t.kind != UL_TX_PUBLISH ||
        ul_schema_release_decode(r, t.body.ptr, t.body.len) != UL_OK) {
        free(r);
        return NULL;
    }
    ul_client_sha256(id, t.body.ptr, t.body.len);
    ul_json_time_str(when, r->time);
    json_t *deps = json_array(), *sigs = json_array();
    for (size_t i = 0; i < r->n_deps; i++) {
        json_array_append_new(deps, json_pack("{s:o,s:o}", "namespace", span_json(r->deps[i].ns),
                                              "version", span_json(r->deps[i].constraint)));
    }
    for (size_t i = 0; i < t.n_sigs; i++) {
        json_array_append_new(sigs, ul_json_hex(t.sigs[i].pubkey, UL_PUBKEY_BYTES));
    }
    json_t *o =
        json_pack("{s:o,s:o,s:o,s:o,s:o,s:s,s:o,s:{s:o,s:o,s:o},s:o,s:o,s:o,s:s,s:o}", "id",
                  ul_json_hex(id, UL_HASH_BYTES), "namespace", span_json(r->ns), "provider",
                  span_json(r->provider), "version", span_json(r->version), "sequence",
                  ul_json_u64(r->seq), "release_time", when, "release_time_unix",
                  ul_json_u64(r->time), "image", "sha256", ul_json_hex(r->digest, UL_HASH_BYTES),
                  "size", ul_json_u64(r->size), "file", span_json(r->file), "links",
                  spans_to_json(r->links, r->n_links), "hardware", spans_to_json(r->hw, r->n_hw),
                  "dependencies", deps, "kind", ul_json_kind_name(r->kind), "signers", sigs);
    if (o && r->has_precursor) {
        json_object_set_new(o, "precursor", ul_json_hex(r->precursor, UL_HASH_BYTES));
    }
    if (o && r->has_enc) {
        json_object_set_new(o, "encrypted", json_true());
    }
    free(r);
    return o;
}

json_t *ul_json_header(const ul_header *h, const uint8_t hash32[UL_HASH_BYTES])
{
    char when[32];
    ul_json_time_str(when, h->time_ms / 1000);
    return json_pack("{s:o,s:o,s:o,s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "hash",
                     ul_json_hex(hash32, UL_HASH_BYTES), "height", ul_json_u64(h->height),
                     "time_ms", ul_json_u64(h->time_ms), "time", when, "prev",
                     ul_json_hex(h->prev, 32), "chain_id", ul_json_hex(h->chain_id, 32), "tx_root",
                     ul_json_hex(h->tx_root, 32), "log_size", ul_json_u64(h->log_size), "log_root",
                     ul_json_hex(h->log_root, 32), "state_root", ul_json_hex(h->state_root, 32),
                     "validators_hash", ul_json_hex(h->validators_hash, 32), "next_validators_hash",
                     ul_json_hex(h->next_validators_hash, 32), "proposer",
                     ul_json_hex(h->proposer, 32));
}
