/* Rendering records as JSON objects and as human-readable text. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

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
