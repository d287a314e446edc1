/* upledger export: lay out proof bundles and images so any static web server is a mirror.
 *   OUT/genesis.cbor                                 the chain's genesis (a device's trust anchor)
 *   OUT/index.json                                   chain id, height, every release, the latest
 *   OUT/<vendor>/<product>/hw/<class>/latest.cbor    bundle v2 of the newest installable
 *                                                    (approved, unrevoked) release for the class
 *   OUT/<vendor>/<product>/releases/<seq>/release.json   every release, as `query release`
 *   OUT/images/<sha256 hex>                          the image file as mirrors serve it (for an
 *                                                    encrypted release, the encrypted file)
 * A device asks only for <ns>/hw/<class>/latest.cbor and images/<digest>: both names say nothing
 * about the device beyond its namespace and class. Labels become path components with
 * [A-Za-z0-9._-] kept and anything else written as %XX (a web server decodes one level of
 * escaping from the URL, so a device asks for %25XX). Every bundle is verified with the device
 * library before it is written; images are copied only when their digest and size match the
 * record, and not at all for revoked releases (unless --keep-revoked). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

static const char export_help[] =
    "usage: upledger export --out DIR [--images DIR]... [--keep-revoked]\n"
    "Writes a static mirror into DIR, with every bundle at the current head:\n"
    "  DIR/genesis.cbor                              the trust anchor devices are given\n"
    "  DIR/index.json                                chain id, height, releases, latest per class\n"
    "  DIR/VENDOR/PRODUCT/hw/CLASS/latest.cbor       proof bundle (v2) of the newest installable\n"
    "                                                (approved, unrevoked) release for CLASS\n"
    "  DIR/VENDOR/PRODUCT/releases/SEQ/release.json  every release\n"
    "  DIR/images/SHA256                             images by digest (encrypted releases: the\n"
    "                                                encrypted file)\n"
    "Images are looked up in each --images DIR by the record's file name or by digest, and\n"
    "copied only if their SHA-256 and size match; missing images are listed. Each bundle is\n"
    "verified as a new device of its class would verify it before it is written.\n"
    "Images of revoked releases are not served (X.1368 11.3 c: a malicious image is removed,\n"
    "also from an earlier export into DIR) unless --keep-revoked keeps them for forensics.\n";

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

/* Copies src to dest (through a temporary file), hashing what it copies: dest appears only
 * when the bytes copied have the record's size and digest. */
static ul_err copy_verified(const char *src, const char *dest, const ul_release *r)
{
    static uint8_t buf[1 << 16];
    char tmp[4600];
    uint8_t digest[UL_HASH_BYTES];
    uint64_t total = 0;
    ul_sha256 h;
    ssize_t n = 0;
    int in = open(src, O_RDONLY | O_CLOEXEC), out = -1;
    ul_err e = in >= 0 ? UL_OK : UL_E_NOT_FOUND;
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%d", dest, (int)getpid()) >= (int)sizeof tmp) {
        e = UL_E_ARG;
    }
    if (e == UL_OK && (out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0) {
        e = UL_E_IO;
    }
    ul_client_sha256_init(&h);
    while (e == UL_OK && total <= r->size && (n = read(in, buf, sizeof buf)) > 0) {
        ul_client_sha256_update(&h, buf, (size_t)n);
        total += (uint64_t)n;
        e = write(out, buf, (size_t)n) == n ? UL_OK : UL_E_IO;
    }
    ul_client_sha256_final(&h, digest);
    if (e == UL_OK && (n < 0 || total != r->size || memcmp(digest, r->digest, 32) != 0)) {
        e = UL_E_NOT_FOUND; /* not this release's image */
    }
    if (e == UL_OK && fsync(out) != 0) {
        e = UL_E_IO;
    }
    if (out >= 0 && close(out) != 0 && e == UL_OK) {
        e = UL_E_IO;
    }
    if (e == UL_OK && rename(tmp, dest) != 0) {
        e = UL_E_IO;
    }
    if (e != UL_OK && out >= 0) {
        unlink(tmp);
    }
    if (in >= 0) {
        close(in);
    }
    return e;
}

static ul_err copy_image(const char *const *dirs, size_t nd, const ul_release *r, const char *dest)
{
    char path[4400], fname[512], hex[65];
    struct stat st;
    if (stat(dest, &st) == 0) {
        /* Named by its digest, so the right bytes for every release of that digest; a record
         * declaring another size can match no file (SHA-256 fixes the length too). */
        return S_ISREG(st.st_mode) && (uint64_t)st.st_size == r->size ? UL_OK : UL_E_NOT_FOUND;
    }
    ul_hex_encode(hex, r->digest, 32);
    component(fname, sizeof fname, r->file);
    for (size_t i = 0; i < nd; i++) {
        for (int pass = 0; pass < 2; pass++) {
            snprintf(path, sizeof path, "%s/%s", dirs[i], pass ? hex : fname);
            ul_err e = copy_verified(path, dest, r);
            if (e != UL_E_NOT_FOUND) {
                return e;
            }
        }
    }
    return UL_E_NOT_FOUND;
}

typedef struct {
    ul_cli *cli;
    const char *out;
    const char *const *images;
    size_t n_images;
    uint64_t height;
    ul_span genesis;
    json_t *index;  /* releases */
    json_t *latest; /* ns -> hw -> release JSON: the newest installable per class */
    size_t missing;
    bool keep_revoked; /* --keep-revoked: serve images of revoked releases too (forensics) */
    size_t withheld;   /* images of revoked releases not served */
    json_t *served;    /* image digests (hex) a release still needs served */
    json_t *revoked;   /* image digests of revoked releases */
} export_ctx;

static ul_err write_json(const char *path, json_t *v)
{
    char *text = ul_cli_dumps(v, JSON_INDENT(2));
    ul_err e = text ? ul_cli_write_file(path, (const uint8_t *)text, strlen(text)) : UL_E_NOMEM;
    free(text);
    return e;
}

/* Notes release rj as the newest installable for each of its classes: releases come in log
 * order and sequences grow per class, so the last one noted wins. */
static void note_latest(export_ctx *x, const char *ns, const ul_release *rel, json_t *rj)
{
    json_t *per_ns = json_object_get(x->latest, ns);
    if (!per_ns) {
        per_ns = json_object();
        json_object_set_new(x->latest, ns, per_ns);
    }
    for (size_t i = 0; i < rel->n_hw; i++) {
        char hw[UL_MAX_LABEL_LEN + 1];
        snprintf(hw, sizeof hw, "%.*s", (int)rel->hw[i].len, (const char *)rel->hw[i].ptr);
        json_object_set(per_ns, hw, rj);
    }
}

static ul_err export_image(export_ctx *x, const ul_release *rel, const char *ns, bool *have)
{
    char dir[4400], path[4500], hex[65];
    ul_hex_encode(hex, rel->digest, 32);
    snprintf(dir, sizeof dir, "%s/images", x->out);
    snprintf(path, sizeof path, "%s/%s", dir, hex);
    ul_err e = mkdirs(dir);
    if (e == UL_OK) {
        e = copy_image(x->images, x->n_images, rel, path);
    }
    *have = e == UL_OK;
    if (e == UL_OK) {
        json_object_set_new(x->served, hex, json_true());
    }
    if (e == UL_E_NOT_FOUND) {
        x->missing++;
        fprintf(stderr, "upledger: export: no image for %s %.*s (%.*s, sha256 %s)\n", ns,
                (int)rel->version.len, (const char *)rel->version.ptr, (int)rel->file.len,
                (const char *)rel->file.ptr, hex);
        e = UL_OK;
    }
    return e;
}

/* X.1368 11.3 c: a revoked release's image (perhaps malicious) is no longer served. It is
 * removed after every release was seen, unless an unrevoked release has the same digest. */
static ul_err withhold_image(export_ctx *x, const ul_release *rel)
{
    char hex[65];
    ul_hex_encode(hex, rel->digest, 32);
    x->withheld++;
    return json_object_set_new(x->revoked, hex, json_true()) == 0 ? UL_OK : UL_E_NOMEM;
}

static ul_err remove_withheld(export_ctx *x)
{
    const char *hex;
    json_t *v;
    char path[4500];
    json_object_foreach(x->revoked, hex, v)
    {
        snprintf(path, sizeof path, "%s/images/%s", x->out, hex);
        if (!json_object_get(x->served, hex) && unlink(path) != 0 && errno != ENOENT) {
            return UL_E_IO;
        }
    }
    return UL_OK;
}

static ul_err export_one(export_ctx *x, uint64_t index)
{
    ul_msg q, r;
    uint8_t *b1 = NULL, *b2 = NULL, id[32];
    ul_span tx;
    static ul_release rel;
    char dir[4096], path[4400], ns[UL_MAX_NS_LEN + 1];
    bool have = false;
    json_t *rj = NULL;
    ul_q_release_at_reply at;
    ul_q_release_at_req(&q, index);
    ul_err e = ul_cli_call(x->cli, &q, &r, &b1);
    if (e == UL_OK && (e = ul_q_release_at_reply_read(&r, &at)) == UL_OK) {
        memcpy(id, at.id.ptr, sizeof id);
    }
    if (e != UL_OK || (e = ul_cli_record(x->cli, id, &b2, &tx, &rel)) != UL_OK) {
        goto out;
    }
    memcpy(ns, rel.ns.ptr, rel.ns.len); /* checked vendor/product: safe as two components */
    ns[rel.ns.len] = 0;
    rj = ul_cli_release_json(tx.ptr, tx.len);
    snprintf(dir, sizeof dir, "%s/%s/releases/%llu", x->out, ns, (unsigned long long)rel.seq);
    snprintf(path, sizeof path, "%s/release.json", dir);
    bool installable = false, revoked = false;
    if (!rj) {
        e = UL_E_CORRUPT;
    } else if ((e = ul_cli_release_state(x->cli, id, &installable, &revoked)) == UL_OK &&
               (e = mkdirs(dir)) == UL_OK && (e = write_json(path, rj)) == UL_OK) {
        e = revoked && !x->keep_revoked ? withhold_image(x, &rel)
                                        : export_image(x, &rel, ns, &have);
    }
    if (e == UL_OK) {
        json_object_set_new(rj, "image_exported", json_boolean(have));
        json_object_set_new(rj, "installable", json_boolean(installable));
        json_object_set_new(rj, "revoked", json_boolean(revoked));
        json_array_append(x->index, rj);
        if (installable) {
            note_latest(x, ns, &rel, rj);
        }
    }
out:
    json_decref(rj);
    ul_p2p_free(b1);
    ul_p2p_free(b2);
    return e;
}

/* Writes NS/hw/CLASS/latest.cbor: the release's bundle for the class, verified first. */
static ul_err export_latest(export_ctx *x, const char *ns, const char *hw, json_t *rj)
{
    uint8_t id[32], *buf = NULL;
    ul_span bundle;
    ul_release_info info;
    char dir[4096], path[4400], hwc[600];
    ul_hex_decode(id, 32, json_string_value(json_object_get(rj, "id")));
    ul_err e = ul_cli_bundle(x->cli, id, ul_span_str(hw), x->height, &buf, &bundle);
    if (e == UL_OK) {
        e = ul_cli_bundle_check(x->genesis, ul_span_str(hw), ul_span_str(ns), bundle.ptr,
                                bundle.len, &info);
        /* A new device has no components installed, so a release with dependencies gets
         * UL_E_DEPENDENCY: bundle_final checks it last, after the proofs and every other rule
         * passed, so it is the one verdict a mirror may accept here. */
        e = e == UL_E_DEPENDENCY ? UL_OK : e;
    }
    component(hwc, sizeof hwc, ul_span_str(hw));
    snprintf(dir, sizeof dir, "%s/%s/hw/%s", x->out, ns, hwc);
    snprintf(path, sizeof path, "%s/latest.cbor", dir);
    if (e == UL_OK && (e = mkdirs(dir)) == UL_OK) {
        e = ul_cli_write_file(path, bundle.ptr, bundle.len);
    }
    if (e != UL_OK) {
        fprintf(stderr, "upledger: export: bundle of %s for %s (%s) refused\n",
                json_string_value(json_object_get(rj, "id")), ns, hw);
    }
    ul_p2p_free(buf);
    return e;
}

static ul_err export_all_latest(export_ctx *x)
{
    const char *ns, *hw;
    json_t *per_ns, *rj;
    ul_err e = UL_OK;
    json_object_foreach(x->latest, ns, per_ns)
    {
        json_object_foreach(per_ns, hw, rj)
        {
            if (e == UL_OK) {
                e = export_latest(x, ns, hw, rj);
            }
        }
    }
    return e;
}

/* The anchor and the height every bundle is made against. */
static ul_err export_start(export_ctx *x, uint8_t **gbuf, uint8_t **sbuf, uint64_t *logsz)
{
    ul_msg q, r;
    char path[4400];
    ul_err e = ul_cli_genesis(x->cli, gbuf, &x->genesis);
    snprintf(path, sizeof path, "%s/genesis.cbor", x->out);
    if (e == UL_OK && (e = mkdirs(x->out)) == UL_OK) {
        e = ul_cli_write_file(path, x->genesis.ptr, x->genesis.len);
    }
    ul_q_status_reply st;
    ul_q_status_req(&q);
    if (e == UL_OK && (e = ul_cli_call(x->cli, &q, &r, sbuf)) == UL_OK &&
        (e = ul_q_status_reply_read(&r, &st)) == UL_OK) {
        x->height = st.height;
        *logsz = st.log_size;
    }
    return e;
}

static ul_err export_run(export_ctx *x, uint64_t *logsz)
{
    uint8_t *gbuf = NULL, *sbuf = NULL, chain_id[32];
    char path[4400], hex[65];
    ul_err e = export_start(x, &gbuf, &sbuf, logsz);
    for (uint64_t i = 0; e == UL_OK && i < *logsz; i++) {
        e = export_one(x, i);
        if (i % 1000 == 999) {
            ul_cli_progress("export: %llu of %llu releases", (unsigned long long)i + 1,
                            (unsigned long long)*logsz);
        }
    }
    if (e == UL_OK && (e = remove_withheld(x)) == UL_OK) {
        e = export_all_latest(x);
    }
    if (e == UL_OK) {
        ul_client_sha256(chain_id, x->genesis.ptr, x->genesis.len);
        ul_hex_encode(hex, chain_id, 32);
        json_t *index = json_pack("{s:s,s:o,s:o,s:O,s:O}", "chain_id", hex, "height",
                                  ul_cli_u64(x->height), "release_count", ul_cli_u64(*logsz),
                                  "releases", x->index, "latest", x->latest);
        snprintf(path, sizeof path, "%s/index.json", x->out);
        e = index ? write_json(path, index) : UL_E_NOMEM;
        json_decref(index);
    }
    ul_p2p_free(gbuf);
    ul_p2p_free(sbuf);
    return e;
}

int ul_cmd_export(ul_cli *cli, int argc, char **argv)
{
    const char *out = NULL, *images[16], *pos[1];
    size_t ni = 0, np;
    bool keep_revoked = false;
    ul_opt opts[] = {{"--out", &out},
                     {"--images", .multi = images, .n_multi = &ni, .max_multi = 16},
                     {"--keep-revoked", .flag = &keep_revoked}};
    int rc = ul_cli_parse(argc, argv, opts, 3, pos, 0, 0, &np, export_help);
    if (rc >= 0) {
        return rc;
    }
    if (!out) {
        return ul_cli_usage("export: --out DIR is required");
    }
    uint64_t logsz = 0;
    export_ctx x = {.cli = cli,
                    .out = out,
                    .images = images,
                    .n_images = ni,
                    .index = json_array(),
                    .latest = json_object(),
                    .keep_revoked = keep_revoked,
                    .served = json_object(),
                    .revoked = json_object()};
    ul_err e = x.index && x.latest && x.served && x.revoked ? export_run(&x, &logsz) : UL_E_NOMEM;
    json_decref(x.index);
    json_decref(x.latest);
    json_decref(x.served);
    json_decref(x.revoked);
    if (e != UL_OK) {
        return ul_cli_fail(cli, e, "export to %s", out);
    }
    if (cli->json) {
        ul_cli_print_json(json_pack("{s:s,s:o,s:o,s:I,s:I}", "out", out, "height",
                                    ul_cli_u64(x.height), "releases", ul_cli_u64(logsz),
                                    "missing_images", (json_int_t)x.missing, "withheld_images",
                                    (json_int_t)x.withheld));
    } else {
        printf("exported %llu releases at height %llu to %s (%zu image%s missing",
               (unsigned long long)logsz, (unsigned long long)x.height, out, x.missing,
               x.missing == 1 ? "" : "s");
        if (x.withheld) {
            printf(", %zu image%s of a revoked release withheld", x.withheld,
                   x.withheld == 1 ? "" : "s");
        }
        printf(")\n");
    }
    return 0;
}
