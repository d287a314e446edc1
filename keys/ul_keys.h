/* The keystore file format "upledger-key/1" (README "Keys"), the one implementation the CLI, the
 * node, the tracker (through ledger/key.c) and the device program (device/devkey.c) share. It
 * depends on libsodium and jansson only, so the device program may link it (Makefile
 * check-device); it knows nothing of secp256k1: callers check that a secret is the key the file
 * names.
 *
 * A keystore is one JSON object, written with mode 0600 by a writer that never replaces a file:
 *   {"format":"upledger-key/1","pubkey":HEX,"kdf":"argon2id13","opslimit":N,"memlimit":N,
 *    "salt":HEX,"nonce":HEX,"sealed":HEX}
 * the 32 secret bytes sealed with crypto_secretbox under a key crypto_pwhash (argon2id13) derives
 * from the passphrase with the stated salt and limits; or, for dev chains and headless devices
 * only, {"format":"upledger-key/1","pubkey":HEX,"kdf":"none","secret":HEX}. No other field is
 * allowed. Every buffer that holds secret bytes, hex included, is wiped (sodium_memzero) before
 * it is released. */
#ifndef UL_KEYS_H
#define UL_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../schema/ul_err.h"

#define UL_KEYS_FORMAT "upledger-key/1"
#define UL_KEYS_SECRET_BYTES 32
#define UL_KEYS_PUBKEY_BYTES 32
/* The mode a keystore is written with: its owner's alone. */
#define UL_KEYS_FILE_MODE 0600
/* Private key files are refused, as OpenSSH refuses them, when their group or others have any
 * access (mode & 077): whoever else may read the file has the key, whoever may write it can swap
 * in another. This environment variable set to "1" allows them (keys on a filesystem without
 * Unix modes, a shared test rig). */
#define UL_KEYS_ALLOW_OPEN_ENV "UPLEDGER_ALLOW_OPEN_KEY_FILES"

/* A keystore file as read: its clear fields checked, its secret still sealed (or, kdf "none",
 * still in hex). */
typedef struct ul_keys_file ul_keys_file;

/* Reads and checks the keystore at path: a regular file of at most UL_MAX_JSON_BYTES, one JSON
 * object with exactly the fields of one of the two forms, a 32-byte pubkey. The file's mode is
 * kept, not judged (ul_keys_file_mode_check). Out: *out (close with ul_keys_file_close).
 * Returns: UL_OK; UL_E_NOT_FOUND (no such file); UL_E_IO (unreadable, not a regular file);
 * UL_E_LIMIT (too large); UL_E_SCHEMA_FIELD (not a keystore); UL_E_NOMEM. */
ul_err ul_keys_file_read(ul_keys_file **out, const char *path);
/* Wipes the secret hex a plain keystore holds and frees f. Accepts NULL. */
void ul_keys_file_close(ul_keys_file *f);
/* The 32-byte public key the file names (not checked against its secret). */
const uint8_t *ul_keys_file_pubkey(const ul_keys_file *f);
/* Returns: true for kdf "argon2id13", false for kdf "none". */
bool ul_keys_file_encrypted(const ul_keys_file *f);
/* Returns: ul_keys_mode_check of the file's mode as read. */
ul_err ul_keys_file_mode_check(const ul_keys_file *f);
/* Out: sec32 (the caller's buffer, sodium_malloc'd where it can be; wiped on failure), the
 * secret: unsealed with pass (required when encrypted, ignored when not). Returns: UL_OK;
 * UL_E_ARG (encrypted and pass NULL); UL_E_PASSPHRASE (wrong passphrase or damaged ciphertext);
 * UL_E_LIMIT (argon2id limits above 16 passes or 1 GiB: a hostile file); UL_E_SCHEMA_FIELD;
 * UL_E_NOMEM (argon2id could not get its memory). */
ul_err ul_keys_file_secret(const ul_keys_file *f, const char *pass,
                           uint8_t sec32[UL_KEYS_SECRET_BYTES]);

/* Out: *text (sodium_malloc'd, *len bytes ending in a newline; free with ul_keys_text_free),
 * the keystore of the key pub32/sec32: sealed under pass (argon2id with libsodium's interactive
 * limits, a fresh salt and nonce), or in the clear when pass is NULL. The caller writes it to a
 * new file with mode UL_KEYS_FILE_MODE. Returns: UL_OK; UL_E_NOMEM. */
ul_err ul_keys_encode(char **text, size_t *len, const uint8_t pub32[UL_KEYS_PUBKEY_BYTES],
                      const uint8_t sec32[UL_KEYS_SECRET_BYTES], const char *pass);
/* Wipes and frees a text from ul_keys_encode. Accepts NULL. */
void ul_keys_text_free(char *text);

/* Returns: UL_OK when st_mode (a private key file's) gives group and others no access, or
 * UL_KEYS_ALLOW_OPEN_ENV is "1"; UL_E_KEY_PERMS otherwise. */
ul_err ul_keys_mode_check(unsigned st_mode);

#endif
