/* upledger-device internals: the host device program built only on libupclient
 * (client/ul_client.h) and libcurl. It shows a complete update from untrusted mirrors: bundle
 * and image streamed into the verifier, the image written to the inactive slot, A/B trial with
 * confirm or fall back. Nothing here includes cli/, ledger/ or node/ code. */
#ifndef UL_DEVICE_H
#define UL_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "../client/ul_client.h"
#include "../schema/ul_version.h"

#define UL_DEV_EXIT_FAIL 1
#define UL_DEV_EXIT_USAGE 2

/* Receives a body as it arrives; a non-UL_OK return aborts the transfer with that error. */
typedef ul_err (*ul_dev_body_fn)(void *arg, const uint8_t *p, size_t n);

/* Program settings (not protocol bounds, so not in schema/ul_limits.h). */
/* Default --max-age: a device refuses a head older than this (UL_E_STALE), so a mirror frozen
 * by an attacker (or by neglect) cannot keep it on an old release for ever. Nodes commit a block
 * at least every heartbeat (seconds) and export is re-run as often as operators like; a week
 * leaves room for a mirror updated weekly and for a device clock off by days, yet a withheld
 * revocation or security release reaches devices within a week. */
#define UL_DEV_DEFAULT_MAX_AGE (7L * 24 * 3600)
/* Seconds a mirror may take to connect, or stay silent mid-transfer, before it counts as
 * stalled: long enough for a slow cellular link, short enough that the next mirror is tried. */
#define UL_DEV_DEFAULT_TIMEOUT 30
/* A bundle transfer may last at most this many --timeout periods in all: a bundle is small
 * (<= UL_MAX_BUNDLE_BYTES), so a mirror that trickles one byte per period is cut off. */
#define UL_DEV_BUNDLE_PERIODS 4
/* Image transfers may also take size / UL_DEV_MIN_RATE seconds: the slowest link a device is
 * expected to update over (16 KiB/s) still finishes; a trickling mirror does not hold it for ever.
 */
#define UL_DEV_MIN_RATE 16384
/* Bytes of a persisted device state: UL_MAX_COMPONENTS components of two slots with labels
 * (~5 KB at most) with room to spare. */
#define UL_DEV_STATE_MAX 16384
/* A genesis file: a validator set and a few fields. */
#define UL_DEV_GENESIS_MAX (UL_MAX_VALSET_BYTES + 1024)
/* URLs the device builds: a mirror base plus namespace, class and file name. */
#define UL_DEV_URL_MAX (UL_MAX_LINK_LEN + UL_MAX_NS_LEN + 3 * UL_MAX_LABEL_LEN + 128)
/* Mirrors one update may try: a device knows a handful. */
#define UL_DEV_MAX_MIRRORS 16
/* Paths under the state directory. */
#define UL_DEV_PATH_MAX 4096

/* ---- cli.c: options, failure lines, JSON ---- */

/* Prints "upledger-device: <context>: UL_E_NAME: <message>" on stderr (and, after
 * ul_dev_json_errors(true), {"error": {code, name, message, context}} on stdout); returns exit
 * status 1. */
int ul_dev_fail(ul_err e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ul_dev_json_errors(bool on);
/* The same with msg in place of the code's own message. */
int ul_dev_fail_msg(ul_err e, const char *ctx, const char *msg);
/* Prints "upledger-device: <message> (see --help)" on stderr; returns exit status 2. */
int ul_dev_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints v (indented, ASCII) and a newline on stdout and releases it; NULL prints nothing. */
void ul_dev_print_json(json_t *v);
/* A label (printable ASCII by the schema's rule; anything else as '?') as a JSON string. */
json_t *ul_dev_label_json(const uint8_t *p, size_t n);
/* A uint64 as a JSON number, never negative. */
json_t *ul_dev_u64_json(uint64_t v);
/* Up to 32 bytes as a lowercase hex JSON string. */
json_t *ul_dev_hex_json(const uint8_t *p, size_t n);

/* Options of a command: single values, repeated values (up to max), flags. */
typedef struct {
    const char *name;
    const char **value;
    const char **multi;
    size_t *n_multi;
    size_t max_multi;
    bool *flag;
} ul_dev_opt;

/* Parses argv[1..] (argv[0] is the command) with getopt_long: "--name VALUE" and
 * "--name=VALUE" alike, -h/--help. Returns -1 when parsed, else the exit status (0 after
 * printing help, 2 after a usage line). */
int ul_dev_parse(int argc, char **argv, const ul_dev_opt *opts, size_t n, const char *help);

/* ---- http.c: GET with bounded time, privacy-minimal requests ---- */

/* GETs url (http, https or file), handing the body (only of a 200 answer; a file's content) to
 * fn. Connect and stall bounded by
 * timeout_s, the whole transfer by max_s. Returns: UL_OK; fn's error; UL_E_TIMEOUT for a
 * stalled or slow mirror; UL_E_NET otherwise (an HTTP status other than 200 is named in msg). */
ul_err ul_dev_http_get(const char *url, long timeout_s, long max_s, ul_dev_body_fn fn, void *arg,
                       char *msg, size_t cap);
/* POSTs body (application/cbor) to url (http or https), handing the body of a 200 answer to fn;
 * the whole exchange bounded by max_s. Returns as ul_dev_http_get. */
ul_err ul_dev_http_post(const char *url, const uint8_t *body, size_t len, long max_s,
                        ul_dev_body_fn fn, void *arg, char *msg, size_t cap);
ul_err ul_dev_http_init(void);
void ul_dev_http_cleanup(void);
/* Appends to out one path segment naming label as export does (schema-safe characters kept,
 * others %XX), escaped once more for the URL (% -> %25). */
void ul_dev_url_segment(char *out, size_t cap, const uint8_t *label, size_t len);

/* ---- store.c: the state directory ---- */

/* DIR/state.cbor (ul_schema_device_state_encode), DIR/class.key (0600), DIR/slots/...,
 * DIR/lock (flock: one program at a time on a state). */
ul_err ul_dev_lock(const char *dir, int *fd);
ul_err ul_dev_state_load(const char *dir, ul_device_state *st);
/* Atomic: temporary file, fsync, rename, fsync of the directory. */
ul_err ul_dev_state_save(const char *dir, const ul_device_state *st);
bool ul_dev_state_exists(const char *dir);
/* Writes DIR/name through DIR/name.tmp: fsync, then rename (replace) or link (never replace:
 * UL_E_EXISTS), then fsync of DIR. */
ul_err ul_dev_write_file(const char *dir, const char *name, const uint8_t *p, size_t n, int mode,
                         bool replace);
ul_err ul_dev_mkdirs(const char *path, int mode);
ul_err ul_dev_fsync_dir(const char *dir);
ul_err ul_dev_read_file(const char *path, uint8_t *buf, size_t cap, size_t *len);
/* Hands the bytes of the regular file at path to fn, a chunk at a time (a FIFO or a directory is
 * refused without waiting on it). Returns: UL_OK; fn's error; UL_E_NOT_FOUND; UL_E_ARG for a
 * file that is not regular; UL_E_IO. msg names the file and the cause on failure. */
ul_err ul_dev_stream_file(const char *path, ul_dev_body_fn fn, void *arg, char *msg, size_t cap);
/* DIR/slots/<vendor>/<product>: where a component's slot files 0 and 1 live. */
ul_err ul_dev_slot_dir(char *out, size_t cap, const char *dir, const uint8_t *ns, size_t ns_len);

/* ---- classkey.c: the class secret, 32 raw bytes (upledger keygen --class OUT) ---- */

/* Reads the class secret at path into sk32 (wiped on failure). Returns: UL_OK (*have true);
 * UL_OK with *have false when path is absent and may_be_absent; UL_E_KEY for a file that is not
 * exactly 32 bytes; UL_E_NOT_FOUND; UL_E_IO. */
ul_err ul_dev_class_key_load(const char *path, uint8_t sk32[32], bool may_be_absent, bool *have);
/* Copies the class secret src (checked as ul_dev_class_key_load does) into DIR/class.key (0600,
 * never replacing one). Returns: UL_OK; UL_E_KEY; UL_E_NOT_FOUND; UL_E_EXISTS; UL_E_IO. */
ul_err ul_dev_class_key_copy(const char *src, const char *dir);

/* Applies a device start (ul_client_device_boot) to st and prints each fallback.
 * Returns: the number of components that fell back. */
size_t ul_dev_boot(ul_device_state *st);

/* ---- devkey.c: the report key, DIR/report.key (0600), the CLI's keystore format ---- */

/* A passphrase: $UPLEDGER_PASSPHRASE, else the first line of file (when not NULL). Returns:
 * UL_OK; UL_E_PASSPHRASE when neither gives one; UL_E_IO. out is NUL-terminated. */
ul_err ul_dev_passphrase(const char *file, char *out, size_t cap);
/* Makes a new report key in DIR/report.key (never replacing one): encrypted under pass, or in
 * the clear when pass is NULL (--plain-key). Out: pub32. */
ul_err ul_dev_report_key_create(const char *dir, const char *pass, uint8_t pub32[32]);
/* Loads DIR/report.key (pass may be NULL for a plain key). Out: sk32 (the caller wipes it) and
 * pub32. Returns: UL_OK; UL_E_NOT_FOUND; UL_E_KEY_PERMS (readable by others); UL_E_PASSPHRASE
 * (wrong, or none for an encrypted key); UL_E_KEY / UL_E_SCHEMA_FIELD (not a keystore); UL_E_IO. */
ul_err ul_dev_report_key_load(const char *dir, const char *pass, uint8_t sk32[32],
                              uint8_t pub32[32]);

/* ---- report.c: reports to the device's tracker ---- */

/* Where reports go: --tracker URL, --tracker-key HEX, --tracker-timeout S, --passphrase-file F
 * on a command, else DIR/tracker.json (written by init). */
typedef struct {
    const char *url, *key_hex, *timeout_s, *pass_file;
} ul_dev_tracker_opts;

/* An update attempt to report for one component. */
typedef struct {
    const uint8_t *ns;
    size_t ns_len;
    uint8_t release_id[UL_HASH_BYTES];
    ul_err result;
} ul_dev_attempt;

/* Checks tracker options (a usage error returns the exit status 2, else -1) and, with init's
 * save, writes DIR/tracker.json. */
int ul_dev_tracker_check(const char *cmd, const ul_dev_tracker_opts *t);
ul_err ul_dev_tracker_save(const char *dir, const ul_dev_tracker_opts *t);
/* Sends one report when a tracker is configured (options or DIR/tracker.json): the next counter
 * is persisted first, then the report signed and POSTed within the timeout, and the signed reply
 * verified. Never fails the caller: a tracker down, slow or refusing prints one line
 * (upledger-device: tracker URL: UL_E_NAME: message) and is otherwise ignored.
 * Out (may be NULL): *reply, the verified reply (reply->counter 0: none). */
void ul_dev_report(const char *dir, const ul_device_state *st, ul_report_reason reason,
                   const ul_dev_attempt *att, const ul_dev_tracker_opts *t, ul_report_reply *reply);
/* Records the release id a slot now holds (DIR/slots/VENDOR/PRODUCT/N.id), for reports. */
ul_err ul_dev_slot_id_save(const char *slot_dir, uint64_t slot, const uint8_t id[UL_HASH_BYTES]);
int ul_dev_cmd_report(int argc, char **argv);
/* The slot holding a trial that failed and fell back, or NULL (main.c). */
const ul_slot *ul_dev_failed_trial(const ul_component *c);

/* ---- update.c ---- */
int ul_dev_cmd_update(int argc, char **argv);
int ul_dev_cmd_install(int argc, char **argv);

#endif
