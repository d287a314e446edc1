/* upledgerd's command line and JSON config (node-internal): the options a node starts with,
 * read from argv and the --config file, each value checked and a bad one named in the log. */
#ifndef UL_NODE_OPTIONS_H
#define UL_NODE_OPTIONS_H

#include <stdbool.h>

#include "http.h"
#include "node.h"

typedef struct {
    char data[3900]; /* room for "/validator.key" within the 4096 of key paths */
    char listen[512];
    char genesis[4096];
    char key[4096];
    bool dev;
    bool verbose;
    bool reset_sign_state;
    bool log_json;       /* --log-format json */
    bool sched_normal;   /* --sched normal: SCHED_OTHER (default batch: SCHED_BATCH) */
    char log_file[4096]; /* --log-file: "" for stderr */
    ul_http_cfg http;    /* --http, --explorer (node/http.h) */
    ul_node_cfg net;
} ul_node_opts;

/* Fills o from argv (and the --config file it names), defaults first. --help and --version
 * print and exit(0). Returns false on a bad option or value (said in the log). */
bool ul_node_opts_parse(ul_node_opts *o, int argc, char **argv);

#endif
