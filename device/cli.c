/* upledger-device command-line plumbing: options parsed with getopt_long, the one-line failure
 * and usage messages, and JSON output built with jansson (as the upledger CLI does). */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium/utils.h>

#include "device.h"

/* Options one command takes at most (init has the most: 5). */
#define UL_DEV_MAX_OPTS 16
/* getopt_long's value of option k of a table: above every char. */
#define OPT_BASE 256

static bool json_errors;

void ul_dev_json_errors(bool on)
{
    json_errors = on;
}

int ul_dev_fail_msg(ul_err e, const char *ctx, const char *msg)
{
    if (json_errors) {
        ul_dev_print_json(json_pack("{s:{s:i,s:s,s:s,s:s}}", "error", "code", (int)e, "name",
                                    ul_err_name(e), "message", msg, "context", ctx));
    }
    fflush(stdout);
    fprintf(stderr, "upledger-device: %s: %s: %s\n", ctx, ul_err_name(e), msg);
    return UL_DEV_EXIT_FAIL;
}

int ul_dev_fail(ul_err e, const char *fmt, ...)
{
    char ctx[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx, sizeof ctx, fmt, ap);
    va_end(ap);
    return ul_dev_fail_msg(e, ctx, ul_err_str(e));
}

int ul_dev_usage(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("upledger-device: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputs(" (see --help)\n", stderr);
    va_end(ap);
    return UL_DEV_EXIT_USAGE;
}

/* Stores the value of option o (given as arg, e.g. "--mirror"). Returns -1, or an exit status. */
static int take(const ul_dev_opt *o, const char *cmd, const char *arg, char *value)
{
    if (o->flag) {
        *o->flag = true;
    } else if (o->value) {
        if (*o->value) {
            return ul_dev_usage("%s: %s given twice", cmd, arg);
        }
        *o->value = value;
    } else if (*o->n_multi >= o->max_multi) {
        return ul_dev_usage("%s: %s given more than %zu times", cmd, arg, o->max_multi);
    } else {
        o->multi[(*o->n_multi)++] = value;
    }
    return -1;
}

int ul_dev_parse(int argc, char **argv, const ul_dev_opt *opts, size_t n, const char *help)
{
    struct option lo[UL_DEV_MAX_OPTS + 2];
    if (n > UL_DEV_MAX_OPTS) {
        return ul_dev_usage("%s: too many options (internal)", argv[0]);
    }
    for (size_t k = 0; k < n; k++) {
        /* opts name "--x"; getopt_long wants "x" (and takes "--x V" and "--x=V" alike). */
        lo[k] = (struct option){opts[k].name + 2, opts[k].flag ? no_argument : required_argument,
                                NULL, OPT_BASE + (int)k};
    }
    lo[n] = (struct option){"help", no_argument, NULL, 'h'};
    lo[n + 1] = (struct option){0};
    opterr = 0; /* our own one-line messages */
    optind = 0; /* glibc: a full restart of the scan */
    int c, rc = -1;
    /* '+': stop at the first non-option (refused below); ':': report a missing value as ':'. */
    while (rc < 0 && (c = getopt_long(argc, argv, "+:h", lo, NULL)) != -1) {
        const char *arg = argv[optind - 1];
        if (c == 'h') {
            fputs(help, stdout);
            return 0;
        }
        if (c == ':') {
            return ul_dev_usage("%s: %s needs a value", argv[0], arg);
        }
        if (c < OPT_BASE || c >= OPT_BASE + (int)n) {
            return ul_dev_usage("%s: unknown argument %s", argv[0], arg);
        }
        rc = take(&opts[c - OPT_BASE], argv[0], opts[c - OPT_BASE].name, optarg);
    }
    if (rc < 0 && optind < argc) {
        return ul_dev_usage("%s: unexpected argument %s", argv[0], argv[optind]);
    }
    return rc;
}

void ul_dev_print_json(json_t *v)
{
    if (!v) {
        return;
    }
    char *s = json_dumps(v, JSON_INDENT(2) | JSON_ENSURE_ASCII);
    if (s) {
        puts(s);
        free(s);
    }
    json_decref(v);
}

json_t *ul_dev_label_json(const uint8_t *p, size_t n)
{
    char s[UL_MAX_NS_LEN > UL_MAX_LABEL_LEN ? UL_MAX_NS_LEN : UL_MAX_LABEL_LEN];
    size_t k = 0;
    /* Labels are printable ASCII (the schema's rule); anything else shows as '?'. */
    for (; k < n && k < sizeof s; k++) {
        s[k] = p[k] >= 0x20 && p[k] < 0x7f ? (char)p[k] : '?';
    }
    return json_stringn(s, k);
}

json_t *ul_dev_u64_json(uint64_t v)
{
    /* jansson's integers are signed 64-bit: a value above that is a JSON number all the same
     * (a real, never a negative integer). */
    return v <= (uint64_t)INT64_MAX ? json_integer((json_int_t)v) : json_real((double)v);
}

json_t *ul_dev_hex_json(const uint8_t *p, size_t n)
{
    char hex[2 * UL_HASH_BYTES + 1];
    if (n > UL_HASH_BYTES) {
        return NULL;
    }
    sodium_bin2hex(hex, sizeof hex, p, n);
    return json_string(hex);
}
