/* upledger CLI internals: the shared context, output and error helpers every command uses. */
#ifndef UL_CLI_H
#define UL_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include <jansson.h>

#include "../ledger/ul_ledger.h"
#include "../p2p/ul_json.h"
#include "../p2p/ul_p2p.h"

/* Records as JSON live in p2p/ul_json.h (upledgerd's HTTP API serves the same objects); the
 * CLI's names for them. ul_cli_print_json writes u64 values above INT64_MAX as numbers too. */
#define ul_cli_u64 ul_json_u64
#define ul_cli_u64_value ul_json_u64_value
#define ul_cli_dumps ul_json_dumps
#define ul_cli_time_str ul_json_time_str
#define ul_cli_hex_json ul_json_hex
#define ul_cli_kind_name ul_json_kind_name
#define ul_cli_tx_kind_name ul_json_tx_kind_name
#define ul_cli_release_json ul_json_release
#define ul_cli_header_json ul_json_header
#define ul_cli_policy_json ul_json_policy

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
/* Sets a detail (which file, and why) that the next ul_cli_fail line adds to its context, for
 * failures found below the command that reports them. */
void ul_cli_detail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* ul_cli_detail for a private key file refused with UL_E_KEY_PERMS: its path and mode. */
void ul_cli_key_perms_detail(const char *path);
/* UL_OK when s is at most max bytes; else UL_E_LIMIT with "WHAT is N bytes, more than MAX" in
 * msg (WHAT formatted from fmt): a label past its bound is named whatever its size. */
ul_err ul_cli_label_len(ul_span s, size_t max, char *msg, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
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

/* Files. Whatever is read whole (manifests, policies, keys, genesis, bundles) or hashed must be a
 * regular file: a FIFO, socket, device or directory is UL_E_IO without blocking, errno EISDIR
 * or ENODEV; other failures keep the errno of the call that failed. */
ul_err ul_cli_read_file(const char *path, size_t max, uint8_t **out, size_t *len);
/* UL_OK when path opens as a regular file (checked before handing it to a reader that would
 * block on a FIFO). */
ul_err ul_cli_regular_file(const char *path);
/* The cause of a file error e for one line: "No such file or directory", "is a directory", "not
 * a regular file (a FIFO)", "too large", ...; err is the errno saved right after the failure. */
const char *ul_cli_file_cause(ul_err e, int err, const char *path);
/* Formats "WHAT PATH: cause" (cause from errno, read first, for UL_E_IO and UL_E_LIMIT; other
 * errors are about the content and e names them: "WHAT PATH") into msg[cap] and returns e. */
ul_err ul_cli_file_msg(char *msg, size_t cap, ul_err e, const char *what, const char *path);
/* Reads and parses a JSON file of at most UL_MAX_JSON_BYTES (duplicate keys refused). On failure
 * msg names WHAT PATH and the cause, for syntax errors with line and column (UL_E_SCHEMA_FIELD). */
ul_err ul_cli_json_file(const char *what, const char *path, json_t **out, char *msg, size_t cap);
ul_err ul_cli_write_file(const char *path, const uint8_t *p, size_t len); /* atomic replace */
/* SHA-256 and size of a file, streamed. */
ul_err ul_cli_hash_file(const char *path, uint8_t digest32[UL_HASH_BYTES], uint64_t *size);

/* Keys: loads a keystore, asking for the passphrase when it is encrypted
 * (UPLEDGER_PASSPHRASE, else --passphrase-file, else a prompt on the terminal). A keystore
 * others have access to is UL_E_KEY_PERMS (ul_cli_detail names the file and mode). */
ul_err ul_cli_load_key(const char *path, const char *passphrase_file, ul_key **out);
/* Reads a passphrase (env, file or prompt); *out is sodium_malloc'd: free with ul_cli_free_secret.
 */
ul_err ul_cli_passphrase(const char *passphrase_file, bool confirm, char **out);
void ul_cli_free_secret(char *s);
/* Parses a public key given as 64 hex digits or as a keystore path; UL_E_KEY for 64 hex digits
 * that are not an x-only point (a key that can never sign). */
ul_err ul_cli_pubkey_arg(const char *arg, uint8_t pub32[UL_PUBKEY_BYTES]);
/* 64 hex digits -> 32 bytes. */
ul_err ul_cli_id_arg(const char *arg, uint8_t id32[UL_HASH_BYTES]);

/* Record rendering (cli/render.c): JSON objects for records; NULL on a malformed record. */
json_t *ul_cli_register_json(const ul_register *r);
/* Human rendering of a release JSON object (as built above) to stdout. */
void ul_cli_print_release(json_t *rel);

/* Image encryption for publish --encrypt-for (cli/encrypt.c). The caller fills cls/pub/n and
 * out; ul_cli_manifest fills the rest (sealed keys, in the record's enc info). */
typedef struct {
    size_t n;
    const char *cls[UL_MAX_WRAPPED_KEYS]; /* hardware class, one of the record's */
    uint8_t pub[UL_MAX_WRAPPED_KEYS][32]; /* its X25519 public key */
    uint8_t sealed[UL_MAX_WRAPPED_KEYS][UL_SEALED_KEY_BYTES];
    const char *out; /* the encrypted file written (what mirrors serve) */
    bool written;    /* out was written by this run */
} ul_cli_encrypt;

/* Encrypts in -> out with secretstream XChaCha20-Poly1305 in chunks of `chunk` plaintext bytes
 * (header, then chunk + ABYTES each, the last tagged FINAL; an empty input is one empty final
 * chunk). The file is written atomically and never replaces one (UL_E_EXISTS). */
ul_err ul_cli_encrypt_file(const char *in, const char *out, const uint8_t key32[32], size_t chunk);

/* Manifest (cli/manifest.c): JSON release manifest -> release record body (canonical bytes).
 * With enc (may be NULL), the image is encrypted first and the record describes the encrypted
 * file (digest, size, file name) with its enc info. */
ul_err ul_cli_manifest(const char *manifest_path, const char *image_path, ul_cli_encrypt *enc,
                       uint8_t *out, size_t cap, size_t *len, char *errmsg, size_t errcap);

/* Proof bundles v2 (cli/bundle.c). Spans point into *buf (release with ul_p2p_free). */
ul_err ul_cli_genesis(ul_cli *cli, uint8_t **buf, ul_span *genesis);
/* The publish tx of release id and its decoded record. */
ul_err ul_cli_record(ul_cli *cli, const uint8_t id[UL_HASH_BYTES], uint8_t **buf, ul_span *tx,
                     ul_release *rel);
/* The node's bundle for (id, hardware class hw) against height h (0: head). */
ul_err ul_cli_bundle(ul_cli *cli, const uint8_t id[UL_HASH_BYTES], ul_span hw, uint64_t h,
                     uint8_t **buf, ul_span *bundle);
/* Verifies a bundle as a new device of class hw anchored at genesis would (no components
 * installed, no class key). Returns the device's verdict; *info as ul_client_bundle_final. */
ul_err ul_cli_bundle_check(ul_span genesis, ul_span hw, ul_span ns, const uint8_t *bundle,
                           size_t len, ul_release_info *info);
/* True for the verdicts bundle_final gives after every signature and proof held (about the
 * release and the device, not the bundle's authenticity). */
bool ul_cli_proofs_held(ul_err verdict);

/* Class keys (cli/classkey.c): X25519 keypairs for hardware classes. keygen writes OUT, the raw
 * 32-byte secret (0600), and OUT.pub, {"format":"upledger-class-key/1","public":HEX}. */
int ul_cli_class_keygen(ul_cli *cli, const char *out);
/* Returns: UL_OK; UL_E_SCHEMA_FIELD unless path is such a .pub file; UL_E_IO; UL_E_LIMIT. */
ul_err ul_cli_class_pub_load(const char *path, uint8_t pub32[32]);
/* sk32: 32 bytes of caller memory (sodium_malloc'd); wiped on failure.
 * Returns: UL_OK; UL_E_KEY unless the file holds exactly 32 bytes; UL_E_IO; UL_E_KEY_PERMS when
 * others have access to it (ul_key_mode_check; ul_cli_detail names the file and mode). */
ul_err ul_cli_class_secret_load(const char *path, uint8_t *sk32);

/* Option parsing (getopt_long, cli/args.c): each command lists its options; positional arguments
 * are collected in order. "--opt VALUE", "--opt=VALUE", unique prefixes and "--" work. */
typedef struct {
    const char *name;   /* "--out" */
    const char **value; /* single value, or NULL */
    const char **multi; /* repeated values, or NULL */
    size_t *n_multi;
    size_t max_multi;
    bool *flag; /* flag without a value, or NULL */
} ul_opt;

/* Returns: -1 when parsed (continue), else the exit status to return (0 after --help). */
int ul_cli_parse(int argc, char **argv, const ul_opt *opts, size_t n_opts, const char **pos,
                 size_t min_pos, size_t max_pos, size_t *n_pos, const char *help);

/* Queries shared between commands (cli/cmd_query.c, cli/cmd_provenance.c). */
json_t *ul_cli_fetch_release(ul_cli *cli, const uint8_t id[UL_HASH_BYTES], ul_err *err);
/* One page of a namespace's releases (JSON objects as ul_cli_fetch_release): at most limit
 * (1..UL_MAX_HISTORY) from log index `from` up, or (newest_first) down (UINT64_MAX: the newest).
 * Out: *more, whether another page follows, and *next, its `from`. */
json_t *ul_cli_history(ul_cli *cli, const char *ns, uint64_t from, size_t limit, bool newest_first,
                       uint64_t *next, bool *more, ul_err *err);
/* A decimal uint64 argument, all of it: UL_E_ARG otherwise. */
ul_err ul_cli_u64_arg(const char *s, uint64_t *v);
/* A height argument: a number >= 1 (UL_E_ARG otherwise), or "head", the node's height. */
ul_err ul_cli_height_arg(ul_cli *cli, const char *arg, uint64_t *h);
/* query commit H and query consistency FROM TO (cli/cmd_consistency.c); out may be NULL. */
int ul_cli_query_commit(ul_cli *cli, const char *arg, const char *out);
int ul_cli_query_consistency(ul_cli *cli, const char *from, const char *to, const char *out);
int ul_cli_query_latest(ul_cli *cli, const char *ns, const char *hw, const char *const *installed,
                        size_t n_installed);
int ul_cli_query_provenance(ul_cli *cli, const char *id_hex);
/* upledger query search (cli/cmd_search.c): one page of the releases of an image digest
 * (digest_hex) or that a key signed (signer_hex); exactly one given. limit_s, cursor_s: NULL
 * for the defaults. */
int ul_cli_query_search(ul_cli *cli, const char *digest_hex, const char *signer_hex,
                        const char *limit_s, const char *cursor_s, bool oldest_first);
/* upledger query metrics: the node's Prometheus text page. */
int ul_cli_query_metrics(ul_cli *cli);
/* True when the contract makes release id installable and it is not revoked. */
bool ul_cli_installable_now(ul_cli *cli, const uint8_t id[UL_HASH_BYTES], ul_err *err);
/* Out: *installable (approved as its kind requires and not revoked) and *revoked. */
ul_err ul_cli_release_state(ul_cli *cli, const uint8_t id[UL_HASH_BYTES], bool *installable,
                            bool *revoked);

/* Commands. */
int ul_cmd_keygen(ul_cli *cli, int argc, char **argv);
int ul_cmd_genesis(ul_cli *cli, int argc, char **argv);
int ul_cmd_namespace(ul_cli *cli, int argc, char **argv);
int ul_cmd_publish(ul_cli *cli, int argc, char **argv);
int ul_cmd_query(ul_cli *cli, int argc, char **argv);
int ul_cmd_audit(ul_cli *cli, int argc, char **argv);
int ul_cmd_export(ul_cli *cli, int argc, char **argv);
int ul_cmd_verify(ul_cli *cli, int argc, char **argv);
int ul_cmd_verify_consistency(ul_cli *cli, int argc, char **argv);
int ul_cmd_approve(ul_cli *cli, int argc, char **argv);
int ul_cmd_revoke(ul_cli *cli, int argc, char **argv);
int ul_cmd_rotate(ul_cli *cli, int argc, char **argv);
int ul_cmd_transfer(ul_cli *cli, int argc, char **argv);
int ul_cmd_validators(ul_cli *cli, int argc, char **argv);

/* Submits one signed tx and (wait) polls until it is committed. Out: id32, *height. */
ul_err ul_cli_submit(ul_cli *cli, const uint8_t *tx, size_t len, bool wait,
                     uint8_t id32[UL_HASH_BYTES], uint64_t *height);
/* Fetches the chain id and genesis from the node. */
ul_err ul_cli_chain_id(ul_cli *cli, uint8_t chain_id32[UL_HASH_BYTES]);
/* Signs body as a tx of kind with every key (sorted into canonical order) and encodes the
 * envelope into out. */
ul_err ul_cli_sign_tx(ul_cli *cli, ul_key *const *keys, size_t n_keys, ul_tx_kind kind, ul_domain d,
                      const uint8_t *body, size_t blen, uint8_t *out, size_t cap, size_t *len);
/* Loads n keystores (passphrases as ul_cli_load_key); on failure none stay loaded and msg names
 * the file and the cause ("loading --key F: No such file or directory"). */
ul_err ul_cli_load_keys(const char *const *paths, size_t n, const char *passphrase_file,
                        ul_key **keys, char *msg, size_t cap);
void ul_cli_free_keys(ul_key **keys, size_t n);
/* A nonce above the last of every signer. */
ul_err ul_cli_next_nonce(ul_cli *cli, ul_key *const *keys, size_t n, uint64_t *nonce);
/* Parses a JSON policy file (schema/policy.md) into p; spans point into *json (release with
 * json_decref after encoding). msg gets a one-line reason on failure. */
ul_err ul_cli_policy_file(const char *path, ul_policy *p, json_t **json, char *msg, size_t cap);
/* A policy as JSON (for show and provenance). */
/* Parses a key set: keys (hex or keystore paths) and a threshold (0: all of them). */
ul_err ul_cli_keyset(const char *const *keys, size_t n, uint64_t threshold, ul_keyset *out);
/* Signs body as a tx of kind with keys and submits it, waiting for its commit when wait.
 * Out: id32, *height (0 while pending). */
ul_err ul_cli_sign_send(ul_cli *cli, ul_key *const *keys, size_t n_keys, ul_tx_kind kind,
                        const uint8_t *body, size_t blen, bool wait, uint8_t id32[UL_HASH_BYTES],
                        uint64_t *height);
/* Prints what ul_cli_sign_send did ("what" names it: "release ID committed at height H") and
 * returns 0. */
int ul_cli_print_sent(ul_cli *cli, const char *what, const uint8_t id[UL_HASH_BYTES],
                      uint64_t height);
/* A registered namespace: its policy as JSON (ul_cli_policy_json; may be NULL) and the height it
 * was registered at (may be NULL). Returns: UL_OK; UL_E_NOT_FOUND when nobody registered it. */
ul_err ul_cli_namespace(ul_cli *cli, const char *ns, json_t **policy, uint64_t *height);
/* Signs body with keys, submits it, waits for commit, prints the result ("what" names it). */
int ul_cli_sign_submit(ul_cli *cli, const char *what, const char *ctx, ul_key *const *keys,
                       size_t n_keys, ul_tx_kind kind, const uint8_t *body, size_t blen, bool wait);

#endif
