/* Rendering records as JSON objects and as human-readable text. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static json_t *span_json(ul_span s)
{
    return json_stringn((const char *)s.ptr, s.len);
}

static json_t *spans_json(const ul_span *s, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(a, span_json(s[i]));
    }
    return a;
}

json_t *ul_cli_release_json(const uint8_t *tx, size_t len)
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
    ul_cli_time_str(when, r->time);
    json_t *deps = json_array(), *sigs = json_array();
    for (size_t i = 0; i < r->n_deps; i++) {
        json_array_append_new(deps, json_pack("{s:o,s:o}", "namespace", span_json(r->deps[i].ns),
                                              "version", span_json(r->deps[i].constraint)));
    }
    for (size_t i = 0; i < t.n_sigs; i++) {
        json_array_append_new(sigs, ul_cli_hex_json(t.sigs[i].pubkey, UL_PUBKEY_BYTES));
    }
    json_t *o =
        json_pack("{s:o,s:o,s:o,s:o,s:o,s:s,s:o,s:{s:o,s:o,s:o},s:o,s:o,s:o,s:s,s:o}", "id",
                  ul_cli_hex_json(id, UL_HASH_BYTES), "namespace", span_json(r->ns), "provider",
                  span_json(r->provider), "version", span_json(r->version), "sequence",
                  ul_cli_u64(r->seq), "release_time", when, "release_time_unix",
                  ul_cli_u64(r->time), "image", "sha256", ul_cli_hex_json(r->digest, UL_HASH_BYTES),
                  "size", ul_cli_u64(r->size), "file", span_json(r->file), "links",
                  spans_json(r->links, r->n_links), "hardware", spans_json(r->hw, r->n_hw),
                  "dependencies", deps, "kind", ul_cli_kind_name(r->kind), "signers", sigs);
    if (o && r->has_precursor) {
        json_object_set_new(o, "precursor", ul_cli_hex_json(r->precursor, UL_HASH_BYTES));
    }
    if (o && r->has_enc) {
        json_object_set_new(o, "encrypted", json_true());
    }
    free(r);
    return o;
}

json_t *ul_cli_header_json(const ul_header *h, const uint8_t hash32[UL_HASH_BYTES])
{
    char when[32];
    ul_cli_time_str(when, h->time_ms / 1000);
    return json_pack(
        "{s:o,s:o,s:o,s:s,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:o}", "hash",
        ul_cli_hex_json(hash32, UL_HASH_BYTES), "height", ul_cli_u64(h->height), "time_ms",
        ul_cli_u64(h->time_ms), "time", when, "prev", ul_cli_hex_json(h->prev, 32), "chain_id",
        ul_cli_hex_json(h->chain_id, 32), "tx_root", ul_cli_hex_json(h->tx_root, 32), "log_size",
        ul_cli_u64(h->log_size), "log_root", ul_cli_hex_json(h->log_root, 32), "state_root",
        ul_cli_hex_json(h->state_root, 32), "validators_hash",
        ul_cli_hex_json(h->validators_hash, 32), "next_validators_hash",
        ul_cli_hex_json(h->next_validators_hash, 32), "proposer", ul_cli_hex_json(h->proposer, 32));
}

static const char *str(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static unsigned long long u64(json_t *o, const char *k)
{
    return (unsigned long long)ul_cli_u64_value(json_object_get(o, k));
}

static void print_list(const char *label, json_t *a)
{
    size_t i;
    json_t *v;
    printf("  %-12s", label);
    json_array_foreach(a, i, v)
    {
        const char *s = json_is_string(v) ? json_string_value(v) : NULL;
        if (s) {
            printf("%s%s", i ? ", " : "", s);
        } else {
            printf("%s%s %s", i ? ", " : "", str(v, "namespace"), str(v, "version"));
        }
    }
    printf("%s\n", json_array_size(a) ? "" : "(none)");
}

void ul_cli_print_release(json_t *rel)
{
    json_t *img = json_object_get(rel, "image");
    printf("release %s\n", str(rel, "id"));
    printf("  %-12s%s %s (sequence %llu, %s)\n", "namespace", str(rel, "namespace"),
           str(rel, "version"), u64(rel, "sequence"), str(rel, "kind"));
    printf("  %-12s%s, released %s\n", "provider", str(rel, "provider"), str(rel, "release_time"));
    printf("  %-12s%s, %llu bytes, sha256 %s\n", "image", str(img, "file"), u64(img, "size"),
           str(img, "sha256"));
    print_list("hardware", json_object_get(rel, "hardware"));
    print_list("depends on", json_object_get(rel, "dependencies"));
    print_list("links", json_object_get(rel, "links"));
    print_list("signed by", json_object_get(rel, "signers"));
    if (json_object_get(rel, "height")) {
        printf("  %-12sheight %llu at %s, release log index %llu\n", "committed",
               u64(rel, "height"), str(rel, "block_time"), u64(rel, "log_index"));
    }
}
