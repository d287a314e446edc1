/* upledger CLI internals: the shared context, output and error helpers every command uses. */
#ifndef UL_CLI_H
#define UL_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>

#include "../ledger/ul_ledger.h"
#include "../p2p/ul_p2p.h"

/* Exit statuses: 0 success, 1 the operation failed (the message names the ul_err), 2 usage. */
#define UL_EXIT_FAIL 1
#define UL_EXIT_USAGE 2

typedef struct {
    const char *node; /* query endpoint */
    bool json;
    int timeout_ms;
    int sock; /* -1 until first use */
} ul_cli;

typedef int (*ul_cmd_fn)(ul_cli *cli, int argc, char **argv);

/* Prints "upledger: <context>: <message> (UL_E_NAME)" (or a JSON error object with --json) and
 * returns UL_EXIT_FAIL. */
int ul_cli_fail(ul_cli *cli, ul_err e, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Formats a one-line reason into msg[cap] and returns e (for validators that explain). */
ul_err ul_cli_msgf(char *msg, size_t cap, ul_err e, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Prints a usage error and returns UL_EXIT_USAGE. */
int ul_cli_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Progress line on stderr (only when stderr is a terminal or UPLEDGER_PROGRESS=1). */
void ul_cli_progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints a JSON value to stdout (indented) and releases it. */
void ul_cli_print_json(json_t *v);

/* Calls the node: req -> reply (spans valid until ul_p2p_free(*buf)). */
ul_err ul_cli_call(ul_cli *cli, const ul_msg *req, ul_msg *reply, uint8_t **buf);

/* Files. */
ul_err ul_cli_read_file(const char *path, size_t max, uint8_t **out, size_t *len);
ul_err ul_cli_write_file(const char *path, const uint8_t *p, size_t len); /* atomic replace */
/* SHA-256 and size of a file, streamed. */
ul_err ul_cli_hash_file(const char *path, uint8_t digest32[UL_HASH_BYTES], uint64_t *size);

/* Keys: loads a keystore, asking for the passphrase when it is encrypted
 * (UPLEDGER_PASSPHRASE, else --passphrase-file, else a prompt on the terminal). */
ul_err ul_cli_load_key(const char *path, const char *passphrase_file, ul_key **out);
/* Reads a passphrase (env, file or prompt); *out is sodium_malloc'd: free with ul_cli_free_secret. */
ul_err ul_cli_passphrase(const char *passphrase_file, bool confirm, char **out);
void ul_cli_free_secret(char *s);
/* Parses a public key given as 64 hex digits or as a keystore path. */
ul_err ul_cli_pubkey_arg(const char *arg, uint8_t pub32[UL_PUBKEY_BYTES]);
/* 64 hex digits -> 32 bytes. */
ul_err ul_cli_id_arg(const char *arg, uint8_t id32[UL_HASH_BYTES]);

/* Time: "2026-11-22T10:00:00Z" from unix seconds. */
void ul_cli_time_str(char out[32], uint64_t unix_s);
json_t *ul_cli_hex_json(const uint8_t *p, size_t n);
const char *ul_cli_kind_name(uint64_t kind);    /* update kind: security, feature, ... */
const char *ul_cli_tx_kind_name(uint64_t kind); /* transaction kind: register, publish, ... */

/* Record rendering (cli/render.c): JSON objects for records; NULL on a malformed record. */
json_t *ul_cli_release_json(const uint8_t *tx, size_t len);
json_t *ul_cli_header_json(const ul_header *h, const uint8_t hash32[UL_HASH_BYTES]);
json_t *ul_cli_register_json(const ul_register *r);
/* Human rendering of a release JSON object (as built above) to stdout. */
void ul_cli_print_release(json_t *rel);

/* Manifest (cli/manifest.c): JSON release manifest -> release record body (canonical bytes). */
ul_err ul_cli_manifest(const char *manifest_path, const char *image_path, uint8_t *out,
                       size_t cap, size_t *len, char *errmsg, size_t errcap);

/* Option parsing: each command lists its options; positional arguments are collected. */
typedef struct {
    const char *name;    /* "--out" */
    const char **value;  /* single value, or NULL */
    const char **multi;  /* repeated values, or NULL */
    size_t *n_multi;
    size_t max_multi;
    bool *flag;          /* flag without a value, or NULL */
} ul_opt;

/* Returns: -1 when parsed (continue), else the exit status to return (0 after --help). */
int ul_cli_parse(int argc, char **argv, const ul_opt *opts, size_t n_opts, const char **pos,
                 size_t min_pos, size_t max_pos, size_t *n_pos, const char *help);

/* Queries shared between commands (cli/cmd_query.c, cli/cmd_provenance.c). */
json_t *ul_cli_fetch_release(ul_cli *cli, const uint8_t id[UL_HASH_BYTES], ul_err *err);
/* Every release of a namespace (JSON objects as ul_cli_fetch_release), oldest first. */
json_t *ul_cli_history(ul_cli *cli, const char *ns, ul_err *err);
int ul_cli_query_latest(ul_cli *cli, const char *ns, const char *hw, const char *const *installed,
                        size_t n_installed);
int ul_cli_query_provenance(ul_cli *cli, const char *id_hex);
/* True when the contract makes release id installable and it is not revoked. */
bool ul_cli_installable_now(ul_cli *cli, const uint8_t id[UL_HASH_BYTES], ul_err *err);

/* Commands. */
int ul_cmd_keygen(ul_cli *cli, int argc, char **argv);
int ul_cmd_genesis(ul_cli *cli, int argc, char **argv);
int ul_cmd_namespace(ul_cli *cli, int argc, char **argv);
int ul_cmd_publish(ul_cli *cli, int argc, char **argv);
int ul_cmd_query(ul_cli *cli, int argc, char **argv);
int ul_cmd_audit(ul_cli *cli, int argc, char **argv);
int ul_cmd_export(ul_cli *cli, int argc, char **argv);
int ul_cmd_verify(ul_cli *cli, int argc, char **argv);
int ul_cmd_approve(ul_cli *cli, int argc, char **argv);
int ul_cmd_revoke(ul_cli *cli, int argc, char **argv);
int ul_cmd_rotate(ul_cli *cli, int argc, char **argv);
int ul_cmd_transfer(ul_cli *cli, int argc, char **argv);

/* Submits one signed tx and (wait) polls until it is committed. Out: id32, *height. */
ul_err ul_cli_submit(ul_cli *cli, const uint8_t *tx, size_t len, bool wait,
                     uint8_t id32[UL_HASH_BYTES], uint64_t *height);
/* Fetches the chain id and genesis from the node. */
ul_err ul_cli_chain_id(ul_cli *cli, uint8_t chain_id32[UL_HASH_BYTES]);
/* Signs body as a tx of kind with every key (sorted into canonical order) and encodes the
 * envelope into out. */
ul_err ul_cli_sign_tx(ul_cli *cli, ul_key *const *keys, size_t n_keys, ul_tx_kind kind,
                      ul_domain d, const uint8_t *body, size_t blen, uint8_t *out, size_t cap,
                      size_t *len);
/* Loads n keystores (passphrases as ul_cli_load_key); on failure none stay loaded. */
ul_err ul_cli_load_keys(const char *const *paths, size_t n, const char *passphrase_file,
                        ul_key **keys);
void ul_cli_free_keys(ul_key **keys, size_t n);
/* A nonce above the last of every signer. */
ul_err ul_cli_next_nonce(ul_cli *cli, ul_key *const *keys, size_t n, uint64_t *nonce);
/* Parses a JSON policy file (schema/policy.md) into p; spans point into *json (release with
 * json_decref after encoding). msg gets a one-line reason on failure. */
ul_err ul_cli_policy_file(const char *path, ul_policy *p, json_t **json, char *msg, size_t cap);
/* A policy as JSON (for show and provenance). */
json_t *ul_cli_policy_json(const ul_policy *p);
/* Parses a key set: keys (hex or keystore paths) and a threshold (0: all of them). */
ul_err ul_cli_keyset(const char *const *keys, size_t n, uint64_t threshold, ul_keyset *out);
/* Signs body with keys, submits it, waits for commit, prints the result ("what" names it). */
int ul_cli_sign_submit(ul_cli *cli, const char *what, const char *ctx, ul_key *const *keys,
                       size_t n_keys, ul_tx_kind kind, const uint8_t *body, size_t blen,
                       bool wait);

#endif
