/* upledger-tracker's commands (tracker/main.c parses, tracker/cmd.c and tracker/run.c run). */
#ifndef UL_TRACKER_CMD_H
#define UL_TRACKER_CMD_H

#include <limits.h>

#include "internal.h"

#define UL_TEXIT_FAIL 1
#define UL_TEXIT_USAGE 2

typedef struct {
    const char *cmd, *dir, *node, *listen, *tls_cert, *tls_key, *device, *group, *file;
    const char *ns, *hw, *passphrase_file;
    const char *upstream, *upstream_key, *upstream_cert, *tracker, *name;
    int status; /* a ul_tstatus for list, -1 before one is given */
    bool json, unencrypted;
    uint64_t silence, poll_ms, threads, limit, after, upstream_every_ms;
    char db[PATH_MAX], keyfile[PATH_MAX];
} ul_topts;

/* Prints "upledger-tracker: <fmt...> (UL_E_NAME)" and returns UL_TEXIT_FAIL. */
int ul_tracker_fail(ul_err e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints a usage error and returns UL_TEXIT_USAGE. */
int ul_tracker_usage_err(const char *msg, const char *arg);
/* Opens DIR's store (a line says why not). */
ul_err ul_tracker_open_store(const ul_topts *o, ul_tstore **s);
/* Runs o->cmd. */
int ul_tracker_dispatch(ul_topts *o);
int ul_tracker_run(ul_topts *o);
/* push: one summary to the upstream now (the key loaded as run loads it). */
int ul_tracker_push(ul_topts *o);
/* The upstream options into u (UL_TEXIT_USAGE with a line when they are incomplete, -1 when
 * there is none, 0 when u is filled). */
int ul_tracker_upstream_opts(const ul_topts *o, ul_tupstream *u);

#endif
