/* upledger verify: one image and its proof bundle judged exactly as a device would, with the
 * streaming device API: the bundle fed in chunks, then the image through a sink that discards
 * the (decrypted) bytes; nothing is trusted until the last call says so. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "cli.h"

/* Bundle bytes per update call: small, so the section framing across chunks is exercised the
 * way a device reading from a socket exercises it. */
#define VERIFY_BUNDLE_CHUNK 1024
#define VERIFY_IMAGE_CHUNK 65536

static const char verify_help[] =
    "usage: upledger verify --bundle FILE --image FILE --genesis FILE --hw CLASS\n"
    "                       [--namespace NS] [--installed NS=VERSION[@SEQ]]... [--class-key FILE]\n"
    "Verifies an image as a device of hardware class CLASS anchored at the genesis FILE would,\n"
    "with the device library's streaming API: the bundle (version 2) section by section —\n"
    "validator-set changes, the header's commit, the release's signatures, its inclusion in the\n"
    "release log, the installable and revocation state proofs — then the release against the\n"
    "device (namespace, class, not revoked, newest installable, sequence above the installed\n"
    "one, dependencies met by --installed components), then the image's size and SHA-256\n"
    "(decrypted with the class secret in --class-key FILE, the 32-byte OUT of keygen --class,\n"
    "when the release is encrypted).\n"
    "NS defaults to the bundle's own namespace. Exit 0 only if everything holds; otherwise one\n"
    "line naming the first failure (UL_E_...).\n";

/* Finds the release's namespace in the bundle's LEAF section (only to pick the component: the
 * verifier itself checks the record against it). */
static ul_err bundle_ns(const uint8_t *b, size_t len, char *ns, size_t cap)
{
    static ul_section s;
    static ul_release rel;
    size_t off = 0, head;
    uint64_t body;
    while (off < len) {
        ul_err e = ul_schema_section_frame(b + off, len - off, &head, &body);
        if (e != UL_OK || body > len - off - head) {
            return e != UL_OK ? e : UL_E_TRUNCATED;
        }
        if ((e = ul_schema_section_decode(&s, b + off + head, (size_t)body)) != UL_OK) {
            return e;
        }
        if (s.type == UL_SEC_LEAF) {
            e = ul_schema_release_decode(&rel, s.u.leaf.body.ptr, s.u.leaf.body.len);
            if (e == UL_OK) {
                snprintf(ns, cap, "%.*s", (int)rel.ns.len, (const char *)rel.ns.ptr);
            }
            return e;
        }
        off += head + (size_t)body;
    }
    return UL_E_TRUNCATED;
}

static int discard(void *arg, const uint8_t *p, size_t n)
{
    *(uint64_t *)arg += n;
    return 0;
}

static ul_err feed_bundle(ul_update *u, const uint8_t *b, size_t len, ul_release_info *info)
{
    ul_err e = UL_OK;
    for (size_t off = 0; e == UL_OK && off < len; off += VERIFY_BUNDLE_CHUNK) {
        size_t n = len - off < VERIFY_BUNDLE_CHUNK ? len - off : VERIFY_BUNDLE_CHUNK;
        e = ul_client_bundle_update(u, b + off, n);
    }
    return e == UL_OK ? ul_client_bundle_final(u, info) : e;
}

static ul_err feed_image(ul_update *u, const char *path, uint64_t *plain)
{
    static uint8_t buf[VERIFY_IMAGE_CHUNK];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = 0;
    ul_err e = fd >= 0 ? UL_OK : UL_E_IO;
    while (e == UL_OK && (n = read(fd, buf, sizeof buf)) > 0) {
        e = ul_client_image_update(u, buf, (size_t)n, discard, plain);
    }
    if (e == UL_OK && n < 0) {
        e = UL_E_IO;
    }
    if (fd >= 0) {
        close(fd);
    }
    return e == UL_OK ? ul_client_image_final(u, discard, plain) : e;
}

typedef struct {
    const char *bundle, *image, *genesis, *hw, *ns, *class_key;
    const char *installed[UL_MAX_COMPONENTS];
    size_t n_installed;
} verify_args;

static void print_verified(ul_cli *cli, const char *ns, const ul_release_info *in, uint64_t plain)
{
    char hash[65], digest[65];
    ul_hex_encode(hash, in->header_hash, 32);
    ul_hex_encode(digest, in->digest, 32);
    if (cli->json) {
        json_t *o = json_pack(
            "{s:b,s:s,s:s%,s:o,s:o,s:o,s:s,s:o,s:I,s:s,s:o,s:b,s:o}", "verified", 1, "namespace",
            ns, "version", (const char *)in->version, in->version_len, "sequence",
            ul_cli_u64(in->seq), "id", ul_cli_hex_json(in->id, 32), "height",
            ul_cli_u64(in->height), "header_hash", hash, "log_index", ul_cli_u64(in->log_index),
            "valset_steps", (json_int_t)in->steps, "image_sha256", digest, "image_size",
            ul_cli_u64(in->size), "encrypted", in->encrypted, "plaintext_bytes", ul_cli_u64(plain));
        if (o && in->checkpoint_time_ms) { /* the head's freshness checkpoint (protocol.md 7.4) */
            json_object_set_new(o, "checkpoint_time_ms", ul_cli_u64(in->checkpoint_time_ms));
        }
        ul_cli_print_json(o);
        return;
    }
    printf("verified: %s %.*s (sequence %llu), committed by height %llu\n", ns,
           (int)in->version_len, (const char *)in->version, (unsigned long long)in->seq,
           (unsigned long long)in->height);
    printf("  header  %s (%llu validator-set change%s walked)\n  log     leaf %llu\n"
           "  image   sha256 %s, %llu bytes%s\n",
           hash, (unsigned long long)in->steps, in->steps == 1 ? "" : "s",
           (unsigned long long)in->log_index, digest, (unsigned long long)in->size,
           in->encrypted ? ", decrypted and authenticated" : "");
}

static int verify_run(ul_cli *cli, verify_args *a, uint8_t *class_sk)
{
    static ul_device_state st;
    static ul_update u;
    uint8_t *bundle = NULL, *gen = NULL;
    size_t blen, glen;
    uint64_t plain = 0;
    char ns[UL_MAX_NS_LEN + 1];
    ul_release_info info;
    const char *stage = "genesis", *file = a->genesis; /* file: what a file error is about */
    ul_err e = ul_cli_read_file(a->genesis, UL_MAX_VALSET_BYTES + 1024, &gen, &glen);
    if (e == UL_OK) {
        file = NULL;
        e = ul_client_device_init(&st, gen, glen, (const uint8_t *)a->hw, strlen(a->hw));
    }
    for (size_t i = 0; e == UL_OK && i < a->n_installed; i++) {
        stage = a->installed[i];
        e = ul_client_device_add_spec(&st, (const uint8_t *)stage, strlen(stage));
    }
    if (e == UL_OK &&
        (stage = "bundle", file = a->bundle,
         e = ul_cli_read_file(a->bundle, UL_MAX_BUNDLE_BYTES, &bundle, &blen)) == UL_OK) {
        file = NULL;
        snprintf(ns, sizeof ns, "%s", a->ns ? a->ns : "");
        e = a->ns ? UL_OK : bundle_ns(bundle, blen, ns, sizeof ns);
    }
    if (e == UL_OK &&
        (e = ul_client_update_begin(&u, &st, (const uint8_t *)ns, strlen(ns), class_sk, 0, 0)) ==
            UL_OK &&
        (e = feed_bundle(&u, bundle, blen, &info)) == UL_OK) {
        stage = "image";
        e = feed_image(&u, a->image, &plain);
        file = e == UL_E_IO ? a->image : NULL; /* streamed: a pipe is fine here */
    }
    ul_client_update_abort(&u); /* wipes the content key; st is never written */
    free(gen);
    free(bundle);
    if (e != UL_OK && (e == UL_E_IO || e == UL_E_LIMIT) && file) {
        char msg[600];
        ul_cli_file_msg(msg, sizeof msg, e, stage, file);
        return ul_cli_fail(cli, e, "verify: %s", msg);
    }
    if (e != UL_OK) {
        return ul_cli_fail(cli, e, "verify: %s rejected", stage);
    }
    print_verified(cli, ns, &info, plain);
    return 0;
}

int ul_cmd_verify(ul_cli *cli, int argc, char **argv)
{
    verify_args a = {0};
    const char *pos[1];
    size_t np;
    ul_opt opts[] = {{"--bundle", &a.bundle},
                     {"--image", &a.image},
                     {"--genesis", &a.genesis},
                     {"--hw", &a.hw},
                     {"--namespace", &a.ns},
                     {"--class-key", &a.class_key},
                     {"--installed", .multi = a.installed, .n_multi = &a.n_installed,
                      .max_multi = UL_MAX_COMPONENTS}};
    int rc = ul_cli_parse(argc, argv, opts, 7, pos, 0, 0, &np, verify_help);
    if (rc >= 0) {
        return rc;
    }
    if (!a.bundle || !a.image || !a.genesis || !a.hw) {
        return ul_cli_usage("verify: --bundle, --image, --genesis and --hw are required");
    }
    uint8_t *sk = sodium_malloc(32);
    ul_err e = sk ? UL_OK : UL_E_NOMEM;
    if (e == UL_OK && a.class_key) {
        e = ul_cli_class_secret_load(a.class_key, sk);
    }
    char msg[600] = "out of memory";
    if (e != UL_OK && a.class_key) {
        ul_cli_file_msg(msg, sizeof msg, e, "class key", a.class_key);
    }
    rc = e == UL_OK ? verify_run(cli, &a, a.class_key ? sk : NULL)
                    : ul_cli_fail(cli, e, "verify: %s", msg);
    if (sk) {
        sodium_free(sk);
    }
    return rc;
}
