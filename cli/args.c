/* Command-line option parsing shared by every upledger command. */
#include <string.h>

#include "cli.h"

static int set_opt(const ul_opt *o, const char *v)
{
    if (o->value) {
        if (*o->value) {
            return ul_cli_usage("%s given twice", o->name);
        }
        *o->value = v;
    } else if (o->multi) {
        if (*o->n_multi >= o->max_multi) {
            return ul_cli_usage("%s given more than %zu times", o->name, o->max_multi);
        }
        o->multi[(*o->n_multi)++] = v;
    }
    return -1;
}

int ul_cli_parse(int argc, char **argv, const ul_opt *opts, size_t n_opts, const char **pos,
                 size_t min_pos, size_t max_pos, size_t *n_pos, const char *help)
{
    *n_pos = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(help, stdout);
            return 0;
        }
        if (a[0] != '-' || a[1] == 0) {
            if (*n_pos >= max_pos) {
                return ul_cli_usage("%s: unexpected argument %s", argv[0], a);
            }
            pos[(*n_pos)++] = a;
            continue;
        }
        size_t k = 0;
        while (k < n_opts && strcmp(opts[k].name, a) != 0) {
            k++;
        }
        if (k == n_opts) {
            return ul_cli_usage("%s: unknown option %s", argv[0], a);
        }
        if (opts[k].flag) {
            *opts[k].flag = true;
            continue;
        }
        if (i + 1 >= argc) {
            return ul_cli_usage("%s: %s needs a value", argv[0], a);
        }
        int rc = set_opt(&opts[k], argv[++i]);
        if (rc >= 0) {
            return rc;
        }
    }
    if (*n_pos < min_pos) {
        return ul_cli_usage("%s: missing argument", argv[0]);
    }
    return -1;
}
