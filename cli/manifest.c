/* Release manifests: the JSON a publisher writes (schema/manifest.md) turned into a canonical
 * release record. The image's digest and size are computed here, never taken from the JSON. */
#include <libgen.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "cli.h"

static bool str_field(json_t *o, const char *k, ul_span *out)
{
    json_t *v = json_object_get(o, k);
    if (!json_is_string(v)) {
        return false;
    }
    *out = (ul_span){(const uint8_t *)json_string_value(v), json_string_length(v)};
    return true;
}

static ul_err str_list(json_t *arr, ul_span *out, size_t max, size_t max_len, size_t *n, char *msg,
                       size_t cap, const char *what)
{
    size_t i;
    json_t *v;
    if (!json_is_array(arr)) {
        return ul_cli_msgf(msg, cap, UL_E_SCHEMA_FIELD, "\"%s\" must be an array of strings", what);
    }
    if (json_array_size(arr) > max) {
        return ul_cli_msgf(msg, cap, UL_E_LIMIT, "\"%s\" has more than %zu entries", what, max);
    }
    json_array_foreach(arr, i, v)
    {
        if (!json_is_string(v)) {
            return ul_cli_msgf(msg, cap, UL_E_SCHEMA_FIELD, "\"%s\"[%zu] must be a string", what,
                               i);
        }
        out[i] = (ul_span){(const uint8_t *)json_string_value(v), json_string_length(v)};
        ul_err e = ul_cli_label_len(out[i], max_len, msg, cap, "\"%s\"[%zu]", what, i);
        if (e != UL_OK) {
            return e;
        }
    }
    *n = json_array_size(arr);
    return UL_OK;
}

static ul_err deps(json_t *arr, ul_release *r, char *msg, size_t cap)
{
    size_t i;
    json_t *d;
    if (!json_is_array(arr)) {
        return ul_cli_msgf(msg, cap, UL_E_SCHEMA_FIELD, "\"dependencies\" must be an array");
    }
    if (json_array_size(arr) > UL_MAX_DEPS) {
        return ul_cli_msgf(msg, cap, UL_E_LIMIT, "more than %d dependencies", UL_MAX_DEPS);
    }
    json_array_foreach(arr, i, d)
    {
        if (!json_is_object(d) || json_object_size(d) != 2 ||
            !str_field(d, "namespace", &r->deps[i].ns) ||
            !str_field(d, "version", &r->deps[i].constraint)) {
            return ul_cli_msgf(msg, cap, UL_E_SCHEMA_FIELD,
                               "dependencies[%zu] must be {\"namespace\": ..., \"version\": ...}",
                               i);
        }
        ul_err e = ul_cli_label_len(r->deps[i].ns, UL_MAX_NS_LEN, msg, cap,
                                    "dependencies[%zu].namespace", i);
        if (e != UL_OK || (e = ul_cli_label_len(r->deps[i].constraint, UL_MAX_LABEL_LEN, msg, cap,
                                                "dependencies[%zu].version", i)) != UL_OK) {
            return e;
        }
    }
    r->n_deps = json_array_size(arr);
    return UL_OK;
}

static ul_err kind_of(json_t *v, uint64_t *kind, char *msg, size_t cap)
{
    for (uint64_t k = 0; k <= UL_KIND_MAX_; k++) {
        if (json_is_string(v) && !strcmp(json_string_value(v), ul_cli_kind_name(k))) {
            *kind = k;
            return UL_OK;
        }
    }
    return ul_cli_msgf(msg, cap, UL_E_SCHEMA_FIELD,
                       "\"kind\" must be one of security, feature, bugfix, maintenance");
}

static ul_err release_time(json_t *v, uint64_t *t, char *msg, size_t cap)
{
    struct tm tm = {0};
    if (!v) {
        *t = (uint64_t)time(NULL);
        return UL_OK;
    }
    if (json_is_integer(v) && json_integer_value(v) >= 0) {
        *t = (uint64_t)json_integer_value(v);
        return *t <= UL_MAX_RELEASE_TIME
                   ? UL_OK
                   : ul_cli_msgf(msg, cap, UL_E_LIMIT,
                                 "\"release_time\" %llu is past 9999-12-31T23:59:59Z (%llu)",
                                 (unsigned long long)*t, UL_MAX_RELEASE_TIME);
    }
    const char *s = json_is_string(v) ? json_string_value(v) : "";
    const char *end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (!end || *end) {
        return ul_cli_msgf(msg, cap, UL_E_SCHEMA_FIELD,
                           "\"release_time\" must be unix seconds or YYYY-MM-DDTHH:MM:SSZ");
    }
    *t = (uint64_t)timegm(&tm);
    return UL_OK;
}

static const char *const known[] = {"namespace",    "provider", "version",  "sequence",
                                    "release_time", "file",     "links",    "hardware",
                                    "dependencies", "kind",     "precursor"};

static ul_err check_keys(json_t *root, char *msg, size_t cap)
{
    const char *k;
    json_t *v;
    json_object_foreach(root, k, v)
    {
        size_t i = 0;
        while (i < sizeof known / sizeof known[0] && strcmp(k, known[i]) != 0) {
            i++;
        }
        if (i == sizeof known / sizeof known[0]) {
            return ul_cli_msgf(msg, cap, UL_E_SCHEMA_FIELD, "unknown field \"%s\"", k);
        }
    }
    static const char *const required[] = {"namespace", "provider", "version",
                                           "sequence",  "hardware", "kind"};
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++) {
        if (!json_object_get(root, required[i])) {
            return ul_cli_msgf(msg, cap, UL_E_SCHEMA_FIELD, "missing field \"%s\"", required[i]);
        }
    }
    return UL_OK;
}

static ul_err fill(json_t *root, ul_release *r, char *msg, size_t cap)
{
    json_t *seq = json_object_get(root, "sequence"), *v;
    ul_err e = check_keys(root, msg, cap);
    if (e != UL_OK) {
        return e;
    }
    if (!str_field(root, "namespace", &r->ns) || !str_field(root, "provider", &r->provider) ||
        !str_field(root, "version", &r->version)) {
        return ul_cli_msgf(msg, cap, UL_E_SCHEMA_FIELD,
                           "namespace, provider and version are strings");
    }
    if ((e = ul_cli_label_len(r->ns, UL_MAX_NS_LEN, msg, cap, "\"namespace\"")) ||
        (e = ul_cli_label_len(r->provider, UL_MAX_LABEL_LEN, msg, cap, "\"provider\"")) ||
        (e = ul_cli_label_len(r->version, UL_MAX_LABEL_LEN, msg, cap, "\"version\""))) {
        return e;
    }
    if (!json_is_integer(seq) || json_integer_value(seq) < 0) {
        return ul_cli_msgf(msg, cap, UL_E_SCHEMA_FIELD, "\"sequence\" must be an integer >= 0");
    }
    r->seq = (uint64_t)json_integer_value(seq);
    if ((e = release_time(json_object_get(root, "release_time"), &r->time, msg, cap)) ||
        (e = kind_of(json_object_get(root, "kind"), &r->kind, msg, cap)) ||
        (e = str_list(json_object_get(root, "hardware"), r->hw, UL_MAX_HW, UL_MAX_LABEL_LEN,
                      &r->n_hw, msg, cap, "hardware"))) {
        return e;
    }
    if ((v = json_object_get(root, "links")) &&
        (e = str_list(v, r->links, UL_MAX_LINKS, UL_MAX_LINK_LEN, &r->n_links, msg, cap,
                      "links"))) {
        return e;
    }
    if ((v = json_object_get(root, "dependencies")) && (e = deps(v, r, msg, cap))) {
        return e;
    }
    if ((v = json_object_get(root, "file")) && !str_field(root, "file", &r->file)) {
        return ul_cli_msgf(msg, cap, UL_E_SCHEMA_FIELD, "\"file\" must be a string");
    }
    if (v && (e = ul_cli_label_len(r->file, UL_MAX_LABEL_LEN, msg, cap, "\"file\""))) {
        return e;
    }
    if ((v = json_object_get(root, "precursor"))) {
        if (!json_is_string(v) ||
            ul_hex_decode(r->precursor, UL_HASH_BYTES, json_string_value(v)) != UL_OK) {
            return ul_cli_msgf(msg, cap, UL_E_SCHEMA_FIELD, "\"precursor\" must be 64 hex digits");
        }
        r->has_precursor = true;
    }
    return UL_OK;
}

/* Canonical order of wrapped keys: by class, bytewise, shorter first on a common prefix (the
 * order the schema requires of label lists). */
static int cmp_class(const void *a, const void *b)
{
    const ul_wrapped_key *x = a, *y = b;
    size_t n = x->hw.len < y->hw.len ? x->hw.len : y->hw.len;
    int c = memcmp(x->hw.ptr, y->hw.ptr, n);
    return c ? c : (x->hw.len > y->hw.len) - (x->hw.len < y->hw.len);
}

/* Encrypts the image to enc->out under a fresh content key sealed to each class's public key,
 * and fills r's enc info. Each class must be one of the record's hardware classes. */
static ul_err encrypt_image(ul_release *r, ul_cli_encrypt *enc, const char *image, char *msg,
                            size_t cap)
{
    for (size_t i = 0; i < enc->n; i++) {
        size_t k = 0;
        while (k < r->n_hw && !ul_span_eq_str(r->hw[k], enc->cls[i])) {
            k++;
        }
        if (k == r->n_hw) {
            return ul_cli_msgf(msg, cap, UL_E_HW_MISMATCH,
                               "--encrypt-for %s: not one of the release's hardware classes",
                               enc->cls[i]);
        }
    }
    uint8_t *key = sodium_malloc(crypto_secretstream_xchacha20poly1305_KEYBYTES);
    if (!key) {
        return ul_cli_msgf(msg, cap, UL_E_NOMEM, "content key");
    }
    crypto_secretstream_xchacha20poly1305_keygen(key);
    ul_err e = ul_cli_encrypt_file(image, enc->out, key, UL_MAX_ENC_CHUNK);
    enc->written = e == UL_OK;
    for (size_t i = 0; e == UL_OK && i < enc->n; i++) {
        if (crypto_box_seal(enc->sealed[i], key, crypto_secretstream_xchacha20poly1305_KEYBYTES,
                            enc->pub[i]) != 0) {
            e = UL_E_KEY;
        }
        r->enc.keys[i] =
            (ul_wrapped_key){ul_span_str(enc->cls[i]), {enc->sealed[i], UL_SEALED_KEY_BYTES}};
    }
    sodium_free(key); /* wipes the content key: only the sealed copies remain */
    if (e != UL_OK) {
        return ul_cli_msgf(msg, cap, e, "encrypting %s to %s", image, enc->out);
    }
    r->has_enc = true;
    r->enc.alg = UL_ENC_SECRETSTREAM;
    r->enc.chunk = UL_MAX_ENC_CHUNK;
    r->enc.n_keys = enc->n;
    qsort(r->enc.keys, enc->n, sizeof r->enc.keys[0], cmp_class);
    return UL_OK;
}

ul_err ul_cli_manifest(const char *manifest_path, const char *image_path, ul_cli_encrypt *enc,
                       uint8_t *out, size_t cap, size_t *len, char *msg, size_t msgcap)
{
    json_t *root = NULL;
    ul_release *r = calloc(1, sizeof *r);
    char base[4096];
    ul_err e = r ? ul_cli_json_file("manifest", manifest_path, &root, msg, msgcap) : UL_E_NOMEM;
    if (e != UL_OK) {
        goto out;
    }
    if (!json_is_object(root)) {
        e = ul_cli_msgf(msg, msgcap, UL_E_SCHEMA_FIELD, "manifest %s: not a JSON object",
                        manifest_path);
        goto out;
    }
    if ((e = fill(root, r, msg, msgcap)) != UL_OK) {
        goto out;
    }
    if (enc && (e = encrypt_image(r, enc, image_path, msg, msgcap)) != UL_OK) {
        goto out;
    }
    /* An encrypted release describes the encrypted file: that is what mirrors serve. */
    const char *served = enc ? enc->out : image_path;
    if ((e = ul_cli_hash_file(served, r->digest, &r->size)) != UL_OK) {
        e = ul_cli_file_msg(msg, msgcap, e, "image", served);
        goto out;
    }
    snprintf(base, sizeof base, "%s", served);
    if (!r->file.ptr) {
        r->file = ul_span_str(basename(base));
    }
    if ((e = ul_schema_release_encode(out, cap, len, r)) != UL_OK) {
        ul_cli_msgf(msg, msgcap, e, "manifest %s is not a valid release record", manifest_path);
    }
out:
    json_decref(root);
    free(r);
    return e;
}
