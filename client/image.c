/* The image phase of an update: the file as served is hashed and counted against the verified
 * record, and an encrypted one is opened with the device class's key and decrypted one
 * secretstream chunk at a time inside the context, so plaintext reaches the slot as it arrives.
 */
#include <string.h>

#include <sodium/crypto_box.h>
#include <sodium/crypto_scalarmult.h>
#include <sodium/utils.h>

#include "internal.h"

#define SS_HEADER crypto_secretstream_xchacha20poly1305_HEADERBYTES
#define SS_ABYTES crypto_secretstream_xchacha20poly1305_ABYTES

_Static_assert(SS_HEADER <= UL_MAX_SECTION_BYTES &&
                   UL_MAX_ENC_CHUNK + SS_ABYTES <= UL_MAX_SECTION_BYTES,
               "a secretstream header and a whole ciphertext chunk fit the context's buffer");
_Static_assert(sizeof(((ul_update *)0)->w.img.key) ==
                       crypto_secretstream_xchacha20poly1305_KEYBYTES &&
                   sizeof(((ul_update *)0)->class_sk) == crypto_box_SECRETKEYBYTES &&
                   UL_SEALED_KEY_BYTES == crypto_box_SEALBYTES + 32,
               "key sizes match libsodium's");

static void wipe_secrets(ul_update *u)
{
    sodium_memzero(u->class_sk, sizeof u->class_sk);
    u->has_class_sk = false;
    sodium_memzero(u->w.img.key, sizeof u->w.img.key);
    sodium_memzero(&u->w.img.ss, sizeof u->w.img.ss);
}

#if defined(UL_CLIENT_NO_DECRYPT) && UL_CLIENT_NO_DECRYPT
/* Built without encrypted-image support (a microcontroller build, scripts/mcu.mk MCU_ENC=0): an
 * encrypted release fails as it would without a class key, and no cipher is linked. */
static ul_err decrypt_feed(ul_update *u, const uint8_t *in, size_t len, ul_sink sink, void *arg)
{
    (void)u;
    (void)in;
    (void)len;
    (void)sink;
    (void)arg;
    return UL_E_DECRYPT;
}
#else
/* Opens the content key sealed to the device's class: the class public key is derived from its
 * secret, as crypto_box_seal_open needs both. */
static ul_err open_key(ul_update *u)
{
    uint8_t pk[crypto_box_PUBLICKEYBYTES];
    if (!u->has_class_sk || !u->has_sealed) {
        return UL_E_DECRYPT;
    }
    if (crypto_scalarmult_base(pk, u->class_sk) != 0 ||
        crypto_box_seal_open(u->w.img.key, u->sealed, UL_SEALED_KEY_BYTES, pk, u->class_sk) != 0) {
        return UL_E_DECRYPT;
    }
    u->w.img.keyed = true;
    return UL_OK;
}

/* Authenticates and decrypts the ciphertext chunk buffered in buf, in place: pull checks the
 * whole chunk's tag before it XORs the key stream over the chunk, and plaintext byte i is written
 * exactly where ciphertext byte i was read (m == c == buf + 1), so one buffer serves both. */
static ul_err pull_chunk(ul_update *u, ul_sink sink, void *arg)
{
    unsigned long long mlen = 0;
    unsigned char tag = 0;
    if (u->w.img.final) {
        return UL_E_DECRYPT; /* ciphertext after the final chunk */
    }
    if (crypto_secretstream_xchacha20poly1305_pull(&u->w.img.ss, u->buf + 1, &mlen, &tag, u->buf,
                                                   u->w.img.have, NULL, 0) != 0) {
        return UL_E_DECRYPT;
    }
    u->w.img.have = 0;
    u->w.img.final = tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL;
    if (mlen > 0 && sink != NULL && sink(arg, u->buf + 1, (size_t)mlen) != 0) {
        return UL_E_IO;
    }
    return UL_OK;
}

/* Buffers the secretstream header, then whole ciphertext chunks; the last chunk is the one that
 * ends the file (its size is the record's). */
static ul_err decrypt_feed(ul_update *u, const uint8_t *in, size_t len, ul_sink sink, void *arg)
{
    size_t chunk = (size_t)u->chunk_plain + SS_ABYTES;
    ul_err e = u->w.img.keyed ? UL_OK : open_key(u);
    while (e == UL_OK && len > 0) {
        size_t want = (u->w.img.started ? chunk : SS_HEADER) - u->w.img.have;
        size_t n = want < len ? want : len;
        memcpy(u->buf + u->w.img.have, in, n);
        u->w.img.have += n;
        in += n;
        len -= n;
        if (!u->w.img.started && u->w.img.have == SS_HEADER) {
            if (crypto_secretstream_xchacha20poly1305_init_pull(&u->w.img.ss, u->buf,
                                                                u->w.img.key) != 0) {
                return UL_E_DECRYPT;
            }
            u->w.img.started = true;
            u->w.img.have = 0;
        } else if (u->w.img.started &&
                   (u->w.img.have == chunk || (len == 0 && u->w.img.seen == u->info.size))) {
            e = pull_chunk(u, sink, arg);
        }
    }
    return e;
}
#endif

ul_err ul_client_image_update(ul_update *u, const uint8_t *in, size_t len, ul_sink sink, void *arg)
{
    ul_err entry = ul_client_update_enter(u, UL_PH_IMAGE);
    if (entry != UL_OK) {
        return entry;
    }
    if (in == NULL && len > 0) {
        return ul_client_update_fail(u, UL_E_ARG);
    }
    /* Never a byte past the recorded size: a mirror cannot make the device store more. */
    if (len > u->info.size - u->w.img.seen) {
        return ul_client_update_fail(u, UL_E_SIZE);
    }
    ul_client_sha256_update(&u->w.img.hash, in, len);
    u->w.img.seen += len;
    ul_err e = UL_OK;
    if (u->info.encrypted) {
        e = decrypt_feed(u, in, len, sink, arg);
    } else if (len > 0 && sink != NULL && sink(arg, in, len) != 0) {
        e = UL_E_IO;
    }
    return e != UL_OK ? ul_client_update_fail(u, e) : UL_OK;
}

ul_err ul_client_image_final(ul_update *u, ul_sink sink, void *arg)
{
    uint8_t digest[UL_HASH_BYTES];
    ul_err e = UL_OK;
    ul_err entry = ul_client_update_enter(u, UL_PH_IMAGE);
    if (entry != UL_OK) {
        return entry;
    }
    ul_client_sha256_final(&u->w.img.hash, digest);
    if (u->w.img.seen < u->info.size) {
        e = UL_E_SIZE;
    } else if (memcmp(digest, u->info.digest, UL_HASH_BYTES) != 0) {
        e = UL_E_DIGEST;
    } else if (u->info.encrypted && (!u->w.img.final || u->w.img.have != 0)) {
        e = UL_E_DECRYPT; /* no final authenticated chunk: the stream was cut */
    }
    (void)sink;
    (void)arg;
    wipe_secrets(u);
    if (e != UL_OK) {
        return ul_client_update_fail(u, e);
    }
    u->phase = UL_PH_IMAGE_OK;
    return UL_OK;
}
