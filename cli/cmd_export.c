/* upledger export: lay out proof bundles and images so any static web server is a mirror.
 *   OUT/genesis.cbor                         the chain's genesis (a device's trust anchor)
 *   OUT/index.json                           chain id, height, every release exported
 *   OUT/<vendor>/<product>/releases/<seq>/bundle.cbor, release.json
 *   OUT/<vendor>/<product>/images/<sha256>   the image, named by its digest
 *   OUT/<vendor>/<product>/hw/<class>/latest.cbor   bundle of the newest installable, unrevoked
 *                                                    release per class
 * Every bundle is verified with the device library before it is written; images are copied
 * only when their digest matches the record. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

static const char export_help[] =
    "usage: upledger export --out DIR [--images DIR]...\n"
    "Writes proof bundles (at the current head) and images for a static mirror into DIR.\n"
    "Images are looked up in each --images DIR by the record's file name or by digest,\n"
    "and copied only if their SHA-256 and size match; missing images are listed.\n";

/* A path component from a label: [A-Za-z0-9._-] kept, anything else %XX, never "." or "..". */
static void component(char *out, size_t cap, ul_span s)
{
    size_t o = 0;
    for (size_t i = 0; i < s.len && o + 4 < cap; i++) {
        char c = (char)s.ptr[i];
        bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || (c == '.' && i > 0);
        o += keep ? (size_t)snprintf(out + o, cap - o, "%c", c)
                  : (size_t)snprintf(out + o, cap - o, "%%%02X", (unsigned char)c);
    }
    out[o] = 0;
}

static ul_err mkdirs(const char *path)
{
    char p[4096];
    snprintf(p, sizeof p, "%s", path);
    for (char *s = p + 1; *s; s++) {
        if (*s == '/') {
            *s = 0;
            if (mkdir(p, 0755) != 0 && errno != EEXIST) {
                return UL_E_IO;
            }
            *s = '/';
        }
    }
    return (mkdir(p, 0755) == 0 || errno == EEXIST) ? UL_OK : UL_E_IO;
}

static ul_err copy_image(const char *const *dirs, size_t nd, const ul_release *r,
                         const char *dest)
{
    char path[4400], fname[512], hex[65];
    uint8_t digest[32];
    uint64_t size;
    struct stat st;
    if (stat(dest, &st) == 0) {
        return UL_OK;
    }
    ul_hex_encode(hex, r->digest, 32);
    component(fname, sizeof fname, r->file);
    for (size_t i = 0; i < nd; i++) {
        for (int pass = 0; pass < 2; pass++) {
            snprintf(path, sizeof path, "%s/%s", dirs[i], pass ? hex : fname);
            if (ul_cli_hash_file(path, digest, &size) != UL_OK || size != r->size ||
                memcmp(digest, r->digest, 32) != 0) {
                continue;
            }
            uint8_t *data;
            size_t len;
            ul_err e = ul_cli_read_file(path, UL_MAX_IMAGE_BYTES, &data, &len);
            if (e == UL_OK) {
                e = ul_cli_write_file(dest, data, len);
                free(data);
            }
            return e;
        }
    }
    return UL_E_NOT_FOUND;
}

typedef struct {
    ul_cli *cli;
    const char *out;
    const char *const *images;
    size_t n_images;
    json_t *index;
    size_t missing;
} export_ctx;

static ul_err call_item(ul_cli *cli, ul_msg *q, uint64_t key, ul_span *item, uint8_t **buf)
{
    ul_msg r;
    ul_err e = ul_cli_call(cli, q, &r, buf);
    return e == UL_OK ? ul_msg_get_item(&r, key, item) : e;
}

static ul_err export_one(export_ctx *x, uint64_t index, const uint8_t chain_id[32],
                         const uint8_t vsh[32])
{
    ul_msg q, r;
    uint8_t *b1 = NULL, *b2 = NULL, id[32];
    ul_span bundle;
    ul_bundle_result res;
    ul_release rel;
    char dir[4096], path[4400], ns[300], hex[65];
    ul_msg_init(&q);
    ul_msg_uint(&q, 0, UL_RPC_RELEASE_AT);
    ul_msg_uint(&q, 1, index);
    ul_err e = ul_cli_call(x->cli, &q, &r, &b1);
    e = e == UL_OK ? ul_msg_get_fixed(&r, 1, id, 32) : e;
    ul_msg_init(&q);
    ul_msg_uint(&q, 0, UL_RPC_BUNDLE);
    ul_msg_bytes(&q, 1, id, 32);
    if (e != UL_OK || (e = call_item(x->cli, &q, 1, &bundle, &b2)) != UL_OK ||
        (e = ul_client_bundle_verify_v1(&res, bundle.ptr, bundle.len, chain_id, vsh)) != UL_OK ||
        (e = ul_schema_release_decode(&rel, res.record.ptr, res.record.len)) != UL_OK) {
        goto out;
    }
    memcpy(ns, rel.ns.ptr, rel.ns.len); /* checked vendor/product: safe as two components */
    ns[rel.ns.len] = 0;
    snprintf(dir, sizeof dir, "%s/%s/releases/%llu", x->out, ns, (unsigned long long)rel.seq);
    json_t *rj = ul_cli_release_json(res.leaf.ptr, res.leaf.len);
    char *text = rj ? json_dumps(rj, JSON_INDENT(2)) : NULL;
    snprintf(path, sizeof path, "%s/bundle.cbor", dir);
    if ((e = mkdirs(dir)) == UL_OK && (e = ul_cli_write_file(path, bundle.ptr, bundle.len)) == 0) {
        snprintf(path, sizeof path, "%s/release.json", dir);
        e = text ? ul_cli_write_file(path, (const uint8_t *)text, strlen(text)) : UL_E_NOMEM;
    }
    free(text);
    /* Devices ask a mirror for hw/<class>/latest.cbor: only what they may install goes there.
     * Releases come in log order and sequences grow per class, so the last written wins. */
    bool installable = e == UL_OK && ul_cli_installable_now(x->cli, id, &e);
    for (size_t i = 0; e == UL_OK && installable && i < rel.n_hw; i++) {
        char hw[600];
        component(hw, sizeof hw, rel.hw[i]);
        snprintf(dir, sizeof dir, "%s/%s/hw/%s", x->out, ns, hw);
        snprintf(path, sizeof path, "%s/latest.cbor", dir);
        if ((e = mkdirs(dir)) == UL_OK) {
            e = ul_cli_write_file(path, bundle.ptr, bundle.len);
        }
    }
    ul_hex_encode(hex, rel.digest, 32);
    snprintf(dir, sizeof dir, "%s/%s/images", x->out, ns);
    snprintf(path, sizeof path, "%s/%s", dir, hex);
    bool have = e == UL_OK && mkdirs(dir) == UL_OK &&
                copy_image(x->images, x->n_images, &rel, path) == UL_OK;
    if (e == UL_OK && !have) {
        x->missing++;
        fprintf(stderr, "upledger: export: no image for %s %.*s (%.*s, sha256 %s)\n", ns,
                (int)rel.version.len, (const char *)rel.version.ptr, (int)rel.file.len,
                (const char *)rel.file.ptr, hex);
    }
    if (e == UL_OK && rj) {
        json_object_set_new(rj, "image_exported", json_boolean(have));
        json_object_set_new(rj, "installable", json_boolean(installable));
        json_array_append(x->index, rj);
    }
    json_decref(rj);
out:
    ul_p2p_free(b1);
    ul_p2p_free(b2);
    return e;
}

int ul_cmd_export(ul_cli *cli, int argc, char **argv)
{
    const char *out = NULL, *images[16], *pos[1];
    size_t ni = 0, np;
    ul_opt opts[] = {{"--out", &out}, {"--images", .multi = images, .n_multi = &ni, .max_multi = 16}};
    int rc = ul_cli_parse(argc, argv, opts, 2, pos, 0, 0, &np, export_help);
    if (rc >= 0) {
        return rc;
    }
    if (!out) {
        return ul_cli_usage("export: --out DIR is required");
    }
    ul_msg q, r;
    uint8_t *b1 = NULL, *b2 = NULL, chain_id[32], vsh[32];
    ul_span g;
    ul_genesis gen;
    uint64_t height = 0, logsz = 0;
    char path[4400];
    export_ctx x = {.cli = cli, .out = out, .images = images, .n_images = ni,
                    .index = json_array()};
    ul_msg_init(&q);
    ul_msg_uint(&q, 0, UL_RPC_GENESIS);
    ul_err e = call_item(cli, &q, 1, &g, &b1);
    if (e == UL_OK && (e = ul_schema_genesis_decode(&gen, g.ptr, g.len)) == UL_OK) {
        ul_client_sha256(chain_id, g.ptr, g.len);
        e = ul_client_valset_hash(vsh, &gen.validators);
    }
    snprintf(path, sizeof path, "%s/genesis.cbor", out);
    if (e == UL_OK && (e = mkdirs(out)) == UL_OK) {
        e = ul_cli_write_file(path, g.ptr, g.len);
    }
    ul_msg_init(&q);
    ul_msg_uint(&q, 0, UL_RPC_STATUS);
    if (e == UL_OK && (e = ul_cli_call(cli, &q, &r, &b2)) == UL_OK &&
        (e = ul_msg_get_uint(&r, 1, &height)) == UL_OK) {
        e = ul_msg_get_uint(&r, 3, &logsz);
    }
    for (uint64_t i = 0; e == UL_OK && i < logsz; i++) {
        e = export_one(&x, i, chain_id, vsh);
        if (i % 1000 == 999) {
            ul_cli_progress("export: %llu of %llu releases", (unsigned long long)i + 1,
                            (unsigned long long)logsz);
        }
    }
    ul_p2p_free(b1);
    ul_p2p_free(b2);
    char hex[65];
    ul_hex_encode(hex, chain_id, 32);
    json_t *index = json_pack("{s:s,s:I,s:I,s:o}", "chain_id", hex, "height", (json_int_t)height,
                              "release_count", (json_int_t)logsz, "releases", x.index);
    char *text = json_dumps(index, JSON_INDENT(2));
    snprintf(path, sizeof path, "%s/index.json", out);
    if (e == UL_OK) {
        e = text ? ul_cli_write_file(path, (const uint8_t *)text, strlen(text)) : UL_E_NOMEM;
    }
    free(text);
    json_decref(index);
    if (e != UL_OK) {
        return ul_cli_fail(cli, e, "export to %s", out);
    }
    if (cli->json) {
        ul_cli_print_json(json_pack("{s:s,s:I,s:I,s:I}", "out", out, "height", (json_int_t)height,
                                    "releases", (json_int_t)logsz, "missing_images",
                                    (json_int_t)x.missing));
    } else {
        printf("exported %llu releases at height %llu to %s (%zu image%s missing)\n",
               (unsigned long long)logsz, (unsigned long long)height, out, x.missing,
               x.missing == 1 ? "" : "s");
    }
    return 0;
}
