/* upledger-device class key: the X25519 secret of the device's hardware class (the 32 raw bytes
 * `upledger keygen --class OUT` writes to OUT), which unseals the content key of encrypted images.
 * The device must hold it in the clear; every buffer that saw it is wiped. */
#include <sodium/crypto_box.h>
#include <sodium/utils.h>

#include "device.h"

/* Reads exactly crypto_box_SECRETKEYBYTES from path into sk32: any other length is UL_E_KEY. */
static ul_err read_secret(const char *path, uint8_t sk32[crypto_box_SECRETKEYBYTES])
{
    size_t len = 0;
    ul_err e = ul_dev_read_file(path, sk32, crypto_box_SECRETKEYBYTES, &len);
    if (e == UL_E_LIMIT || (e == UL_OK && len != crypto_box_SECRETKEYBYTES)) {
        e = UL_E_KEY;
    }
    if (e != UL_OK) {
        sodium_memzero(sk32, crypto_box_SECRETKEYBYTES);
    }
    return e;
}

ul_err ul_dev_class_key_load(const char *path, uint8_t sk32[32], bool may_be_absent, bool *have)
{
    ul_err e = read_secret(path, sk32);
    *have = e == UL_OK;
    return e == UL_E_NOT_FOUND && may_be_absent ? UL_OK : e;
}

ul_err ul_dev_class_key_copy(const char *src, const char *dir)
{
    uint8_t sk[crypto_box_SECRETKEYBYTES];
    ul_err e = read_secret(src, sk); /* only a well-formed secret is provisioned */
    if (e == UL_OK) {
        e = ul_dev_write_file(dir, "class.key", sk, sizeof sk, 0600, false);
    }
    sodium_memzero(sk, sizeof sk);
    return e;
}
