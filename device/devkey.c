/* upledger-device report key: the BIP-340 secret a device signs its reports with, in
 * DIR/report.key (mode 0600) in the CLI's keystore format "upledger-key/1" (README "Keys"),
 * read and written by keys/ (ul_keys_*), the one implementation ledger/key.c uses too:
 * encrypted under a passphrase, or, when the owner asks with --plain-key (a headless device with
 * no one to type a passphrase), in the clear (tests/system/test_device_report.py signs reports
 * with a key `upledger keygen` wrote). Every buffer that saw the secret is wiped. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "../keys/ul_keys.h"
#include "device.h"

ul_err ul_dev_passphrase(const char *file, char *out, size_t cap)
{
    const char *env = getenv("UPLEDGER_PASSPHRASE");
    size_t len = 0;
    if (env && *env) {
        if (strlen(env) >= cap) {
            return UL_E_LIMIT;
        }
        memcpy(out, env, strlen(env) + 1);
        return UL_OK;
    }
    if (!file) {
        return UL_E_PASSPHRASE;
    }
    ul_err e = ul_dev_read_file(file, (uint8_t *)out, cap - 1, &len);
    if (e != UL_OK) {
        return e;
    }
    out[len] = 0;
    out[strcspn(out, "\r\n")] = 0; /* the first line */
    return out[0] ? UL_OK : UL_E_PASSPHRASE;
}

ul_err ul_dev_report_key_create(const char *dir, const char *pass, uint8_t pub32[32])
{
    uint8_t sk[UL_KEYS_SECRET_BYTES];
    char *text = NULL;
    size_t len = 0;
    do {
        randombytes_buf(sk, sizeof sk); /* a random 32 bytes is a key but with p < 2^-127 */
    } while (ul_client_pubkey_from_secret(pub32, sk) != UL_OK);
    ul_err e = ul_keys_encode(&text, &len, pub32, sk, pass);
    sodium_memzero(sk, sizeof sk);
    if (e == UL_OK) {
        e = ul_dev_write_file(dir, "report.key", (const uint8_t *)text, len, UL_KEYS_FILE_MODE,
                              false);
    }
    ul_keys_text_free(text);
    return e;
}

ul_err ul_dev_report_key_load(const char *dir, const char *pass, uint8_t sk32[32],
                              uint8_t pub32[32])
{
    char path[UL_DEV_PATH_MAX];
    ul_keys_file *f = NULL;
    if (snprintf(path, sizeof path, "%s/report.key", dir) >= (int)sizeof path) {
        return UL_E_ARG;
    }
    ul_err e = ul_keys_file_read(&f, path);
    if (e == UL_OK) {
        e = ul_keys_file_mode_check(f);
    }
    if (e == UL_OK && ul_keys_file_encrypted(f) && !pass) {
        e = UL_E_PASSPHRASE;
    }
    if (e == UL_OK) {
        e = ul_keys_file_secret(f, pass, sk32);
    }
    if (e == UL_OK && (ul_client_pubkey_from_secret(pub32, sk32) != UL_OK ||
                       sodium_memcmp(pub32, ul_keys_file_pubkey(f), 32) != 0)) {
        e = UL_E_KEY; /* the secret is not the key the file names */
    }
    ul_keys_file_close(f);
    if (e != UL_OK) {
        sodium_memzero(sk32, 32);
    }
    return e == UL_E_LIMIT ? UL_E_KEY : e; /* too large, or hostile limits: not a report key */
}
