/* A validator's sign state file (ul_sign_state, CBOR, beside its key): the guard against signing
 * twice at one height, round and step. It lives outside the chain database so that no rollback
 * or wipe of the store can take it back, and is written durably before each signature leaves.
 *
 * Layout: one sector of UL_SIGN_STATE_FILE_BYTES (512): the record's length (2, big-endian), the
 * record (canonical CBOR, `sign-state`), zero bytes, and the SHA-256 of all bytes before it in
 * its last 32. A signature rewrites the sector in place (pwrite and fdatasync): a device writes
 * it whole or not at all, and a damaged one fails its checksum and stops the node, as any other
 * damage does. Replacing the file through a new one and rename, as before, cost a second fsync,
 * the directory's and a new inode for each signature: about 3% of a validator's CPU at 1000
 * releases/s. A file of the record alone (nodes before this layout) is read, and replaced whole
 * by the first signature. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client/ul_client.h"
#include "ul_ledger.h"

#define SUFFIX ".sign-state"

ul_err ul_signstate_path(char *out, size_t cap, const char *key_path)
{
    size_t n = strlen(key_path);
    if (n + sizeof SUFFIX > cap) {
        return UL_E_ARG;
    }
    memcpy(out, key_path, n);
    memcpy(out + n, SUFFIX, sizeof SUFFIX);
    return UL_OK;
}

/* Reads at most cap bytes of the regular file at path. Out: *len. UL_E_LIMIT when larger. */
static ul_err read_small(const char *path, uint8_t *buf, size_t cap, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0) {
        return errno == ENOENT ? UL_E_NOT_FOUND : UL_E_IO;
    }
    struct stat st;
    ul_err e = UL_OK;
    ssize_t r = 0;
    if (fstat(fd, &st) != 0) {
        e = UL_E_IO;
    } else if (!S_ISREG(st.st_mode) || st.st_size > (off_t)cap) {
        e = S_ISREG(st.st_mode) ? UL_E_LIMIT : UL_E_IO;
    } else {
        do {
            r = read(fd, buf, cap);
        } while (r < 0 && errno == EINTR);
        e = r < 0 ? UL_E_IO : UL_OK;
    }
    close(fd);
    *len = r > 0 ? (size_t)r : 0;
    return e;
}

#define SUM_AT (UL_SIGN_STATE_FILE_BYTES - UL_HASH_BYTES) /* where the checksum starts */

/* Out: *rec and *len, the record inside a file-sized sector, when its checksum, length and
 * padding check out. */
static bool sector_open(const uint8_t sec[UL_SIGN_STATE_FILE_BYTES], const uint8_t **rec,
                        size_t *len)
{
    static const uint8_t zero[UL_SIGN_STATE_FILE_BYTES];
    uint8_t sum[UL_HASH_BYTES];
    size_t n = (size_t)sec[0] << 8 | sec[1];
    ul_client_sha256(sum, sec, SUM_AT);
    if (memcmp(sum, sec + SUM_AT, UL_HASH_BYTES) != 0 || n > UL_MAX_SIGN_STATE_BYTES ||
        memcmp(sec + 2 + n, zero, SUM_AT - 2 - n) != 0) {
        return false;
    }
    *rec = sec + 2;
    *len = n;
    return true;
}

/* Out: sec, st in the file's layout. */
static ul_err sector_make(uint8_t sec[UL_SIGN_STATE_FILE_BYTES], const ul_sign_state *st)
{
    size_t len;
    memset(sec, 0, UL_SIGN_STATE_FILE_BYTES);
    ul_err e = ul_schema_sign_state_encode(sec + 2, UL_MAX_SIGN_STATE_BYTES, &len, st);
    if (e != UL_OK) {
        return e;
    }
    sec[0] = (uint8_t)(len >> 8);
    sec[1] = (uint8_t)len;
    ul_client_sha256(sec + SUM_AT, sec, SUM_AT);
    return UL_OK;
}

ul_err ul_signstate_load(ul_sign_state *out, const char *path,
                         const uint8_t pubkey[UL_PUBKEY_BYTES])
{
    uint8_t buf[UL_SIGN_STATE_FILE_BYTES];
    const uint8_t *rec = buf;
    size_t len;
    ul_err e = read_small(path, buf, sizeof buf, &len);
    if (e == UL_E_LIMIT) {
        return UL_E_SIGN_STATE;
    }
    if (e != UL_OK) {
        return e;
    }
    /* One sector, or the record alone (an older node's file); anything between is neither. */
    bool sector = len == UL_SIGN_STATE_FILE_BYTES;
    if ((sector && !sector_open(buf, &rec, &len)) || (!sector && len > UL_MAX_SIGN_STATE_BYTES)) {
        return UL_E_SIGN_STATE;
    }
    if (ul_schema_sign_state_decode(out, rec, len) != UL_OK ||
        memcmp(out->pubkey, pubkey, UL_PUBKEY_BYTES) != 0) {
        return UL_E_SIGN_STATE;
    }
    return UL_OK;
}

ul_err ul_signstate_save(const char *path, const ul_sign_state *st)
{
    uint8_t sec[UL_SIGN_STATE_FILE_BYTES];
    ul_err e = sector_make(sec, st);
    return e != UL_OK ? e : ul_file_replace(path, sec, sizeof sec, 0600);
}

bool ul_signstate_after(const ul_sign_state *st, uint64_t height, uint64_t round, uint64_t step)
{
    if (height != st->height) {
        return height > st->height;
    }
    return round != st->round ? round > st->round : step > st->step;
}

ul_err ul_signstate_next(ul_sign_state *next, const ul_sign_state *st, uint64_t height,
                         uint64_t round, uint64_t step, const uint8_t *lock_hash)
{
    if (height == 0 || step == UL_SIGN_NONE || !ul_signstate_after(st, height, round, step)) {
        return UL_E_SIGN_STATE;
    }
    *next = *st;
    next->height = height;
    next->round = round;
    next->step = step;
    if (height != st->height) {
        next->has_lock = next->has_lock_hash = false;
    }
    if (lock_hash) {
        next->has_lock = next->has_lock_hash = true;
        next->lock_round = round;
        memcpy(next->lock_hash, lock_hash, UL_HASH_BYTES);
    }
    return UL_OK;
}

ul_err ul_signstate_advance(ul_sign_state *st, const char *path, uint64_t height, uint64_t round,
                            uint64_t step, const uint8_t *lock_hash)
{
    ul_sign_state next;
    uint8_t sec[UL_SIGN_STATE_FILE_BYTES];
    ul_err e = ul_signstate_next(&next, st, height, round, step, lock_hash);
    if (e == UL_OK && (e = sector_make(sec, &next)) == UL_OK) {
        e = ul_file_overwrite(path, sec, sizeof sec);
        if (e == UL_E_NOT_FOUND || e == UL_E_ARG) { /* none yet, or an older node's layout */
            e = ul_file_replace(path, sec, sizeof sec, 0600);
        }
    }
    if (e == UL_OK) {
        *st = next;
    }
    return e;
}
