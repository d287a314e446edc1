/* Command-line option parsing shared by every upledger command: each command's ul_opt table is
 * handed to getopt_long, so "--opt value", "--opt=value" and "--" all work the same everywhere. */
#include <assert.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* getopt_long's val for the option at index k of a command's table (above any short option). */
#define OPT_VAL_BASE 0x100

static int set_opt(const char *cmd, const ul_opt *o, const char *v)
{
    if (o->flag) {
        *o->flag = true;
    } else if (o->value) {
        if (*o->value) {
            return ul_cli_usage("%s: %s given twice", cmd, o->name);
        }
        *o->value = v;
    } else if (o->multi) {
        if (*o->n_multi >= o->max_multi) {
            return ul_cli_usage("%s: %s given more than %zu times", cmd, o->name, o->max_multi);
        }
        o->multi[(*o->n_multi)++] = v;
    }
    return -1;
}

/* The usage error for getopt_long's '?' or ':' answer about argv[optind - 1]. */
static int bad_opt(char **argv, int c, const ul_opt *opts, size_t n_opts)
{
    const char *a = argv[optind - 1];
    if (optopt >= OPT_VAL_BASE && (size_t)(optopt - OPT_VAL_BASE) < n_opts) {
        const char *name = opts[optopt - OPT_VAL_BASE].name;
        if (c == ':') {
            return ul_cli_usage("%s: %s needs a value", argv[0], name);
        }
        return ul_cli_usage("%s: %s takes no value", argv[0], name);
    }
    if (optopt > 0 && optopt < OPT_VAL_BASE) {
        return ul_cli_usage("%s: unknown option -%c", argv[0], optopt);
    }
    return ul_cli_usage("%s: unknown option %s", argv[0], a);
}

static int add_pos(char **argv, const char *a, const char **pos, size_t max_pos, size_t *n_pos)
{
    if (*n_pos >= max_pos) {
        return ul_cli_usage("%s: unexpected argument %s", argv[0], a);
    }
    pos[(*n_pos)++] = a;
    return -1;
}

/* A getopt_long table for opts (names without their "--"), plus --help; NULL on no memory. */
static struct option *long_opts(const ul_opt *opts, size_t n_opts)
{
    struct option *lo = calloc(n_opts + 2, sizeof *lo);
    if (!lo) {
        return NULL;
    }
    for (size_t k = 0; k < n_opts; k++) {
        assert(!strncmp(opts[k].name, "--", 2) && opts[k].name[2]);
        lo[k] = (struct option){opts[k].name + 2, opts[k].flag ? no_argument : required_argument,
                                NULL, OPT_VAL_BASE + (int)k};
    }
    lo[n_opts] = (struct option){"help", no_argument, NULL, 'h'};
    return lo; /* lo[n_opts + 1] is the zeroed end */
}

int ul_cli_parse(int argc, char **argv, const ul_opt *opts, size_t n_opts, const char **pos,
                 size_t min_pos, size_t max_pos, size_t *n_pos, const char *help)
{
    struct option *lo = long_opts(opts, n_opts);
    if (!lo) {
        fputs("upledger: out of memory\n", stderr);
        return UL_EXIT_FAIL;
    }
    int rc = -1, c;
    *n_pos = 0;
    optind = 0; /* a full re-initialisation: main() parsed its own options first */
    opterr = 0;
    /* "-": positional arguments come back in order as 1 (options may follow them); ":": a
     * missing value is ':' rather than '?'. */
    while (rc < 0 && (c = getopt_long(argc, argv, "-:h", lo, NULL)) != -1) {
        if (c == 1) {
            rc = add_pos(argv, optarg, pos, max_pos, n_pos);
        } else if (c == 'h') {
            fputs(help, stdout);
            rc = 0;
        } else if (c >= OPT_VAL_BASE) {
            rc = set_opt(argv[0], &opts[c - OPT_VAL_BASE], optarg);
        } else {
            rc = bad_opt(argv, c, opts, n_opts);
        }
    }
    for (int i = optind; rc < 0 && i < argc; i++) { /* what follows "--" */
        rc = add_pos(argv, argv[i], pos, max_pos, n_pos);
    }
    if (rc < 0 && *n_pos < min_pos) {
        rc = ul_cli_usage("%s: missing argument", argv[0]);
    }
    free(lo);
    return rc;
}
