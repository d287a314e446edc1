/* upledger-device state directory: the persisted device state (written atomically so a power cut
 * leaves the old or the new state, never a mix), the class secret, slot files, and a lock so one
 * program at a time changes a state. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "device.h"

ul_err ul_dev_mkdirs(const char *path, int mode)
{
    char p[UL_DEV_PATH_MAX];
    if (snprintf(p, sizeof p, "%s", path) >= (int)sizeof p) {
        return UL_E_ARG;
    }
    for (char *s = p + 1; *s; s++) {
        if (*s == '/') {
            *s = 0;
            if (mkdir(p, (mode_t)mode) != 0 && errno != EEXIST) {
                return UL_E_IO;
            }
            *s = '/';
        }
    }
    return (mkdir(p, (mode_t)mode) == 0 || errno == EEXIST) ? UL_OK : UL_E_IO;
}

ul_err ul_dev_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        return UL_E_IO;
    }
    /* EINVAL: a filesystem that cannot sync directories; nothing more to do there. */
    int rc = fsync(fd) == 0 || errno == EINVAL ? 0 : -1;
    close(fd);
    return rc == 0 ? UL_OK : UL_E_IO;
}

ul_err ul_dev_read_file(const char *path, uint8_t *buf, size_t cap, size_t *len)
{
    struct stat st;
    /* O_NONBLOCK: a FIFO (or device) must not block open(); only regular files are read. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        return errno == ENOENT ? UL_E_NOT_FOUND : UL_E_IO;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return UL_E_IO;
    }
    size_t got = 0;
    ssize_t r = 1;
    while (got < cap && (r = read(fd, buf + got, cap - got)) > 0) {
        got += (size_t)r;
    }
    uint8_t extra;
    bool more = r > 0 && got == cap && read(fd, &extra, 1) == 1;
    close(fd);
    if (r < 0) {
        return UL_E_IO;
    }
    *len = got;
    return more ? UL_E_LIMIT : UL_OK;
}

ul_err ul_dev_stream_file(const char *path, ul_dev_body_fn fn, void *arg, char *msg, size_t cap)
{
    static uint8_t buf[1 << 16];
    struct stat sb;
    /* O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused just below. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        snprintf(msg, cap, "%s: %s", path, strerror(errno));
        return errno == ENOENT ? UL_E_NOT_FOUND : UL_E_IO;
    }
    ul_err e = UL_OK;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        snprintf(msg, cap, "%s: not a regular file", path);
        e = UL_E_ARG;
    }
    ssize_t r = 1;
    while (e == UL_OK && (r = read(fd, buf, sizeof buf)) != 0) {
        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0) {
            snprintf(msg, cap, "%s: %s", path, strerror(errno));
            e = UL_E_IO;
        } else if ((e = fn(arg, buf, (size_t)r)) != UL_OK) {
            snprintf(msg, cap, "%s: %s", path, ul_err_str(e));
        }
    }
    close(fd);
    return e;
}

static ul_err write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            return UL_E_IO;
        }
        p += w;
        n -= (size_t)w;
    }
    return UL_OK;
}

ul_err ul_dev_write_file(const char *dir, const char *name, const uint8_t *p, size_t n, int mode,
                         bool replace)
{
    char path[UL_DEV_PATH_MAX], tmp[UL_DEV_PATH_MAX + 8];
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path) {
        return UL_E_ARG;
    }
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        return UL_E_IO;
    }
    ul_err e = fchmod(fd, (mode_t)mode) == 0 ? write_all(fd, p, n) : UL_E_IO;
    if (e == UL_OK && fsync(fd) != 0) {
        e = UL_E_IO;
    }
    if (close(fd) != 0 && e == UL_OK) {
        e = UL_E_IO;
    }
    if (e == UL_OK && replace && rename(tmp, path) != 0) {
        e = UL_E_IO;
    }
    if (e == UL_OK && !replace && link(tmp, path) != 0) {
        e = errno == EEXIST ? UL_E_EXISTS : UL_E_IO;
    }
    if (e != UL_OK || !replace) {
        unlink(tmp);
    }
    return e == UL_OK ? ul_dev_fsync_dir(dir) : e;
}

ul_err ul_dev_lock(const char *dir, int *fd)
{
    char path[UL_DEV_PATH_MAX];
    if (snprintf(path, sizeof path, "%s/lock", dir) >= (int)sizeof path) {
        return UL_E_ARG;
    }
    *fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (*fd < 0) {
        return errno == ENOENT ? UL_E_NOT_FOUND : UL_E_IO;
    }
    if (flock(*fd, LOCK_EX | LOCK_NB) != 0) {
        close(*fd);
        *fd = -1;
        return UL_E_LOCKED;
    }
    return UL_OK;
}

bool ul_dev_state_exists(const char *dir)
{
    char path[UL_DEV_PATH_MAX];
    struct stat st;
    snprintf(path, sizeof path, "%s/state.cbor", dir);
    return stat(path, &st) == 0;
}

ul_err ul_dev_state_load(const char *dir, ul_device_state *st)
{
    static uint8_t buf[UL_DEV_STATE_MAX];
    char path[UL_DEV_PATH_MAX];
    size_t len;
    if (snprintf(path, sizeof path, "%s/state.cbor", dir) >= (int)sizeof path) {
        return UL_E_ARG;
    }
    ul_err e = ul_dev_read_file(path, buf, sizeof buf, &len);
    return e == UL_OK ? ul_schema_device_state_decode(st, buf, len) : e;
}

ul_err ul_dev_state_save(const char *dir, const ul_device_state *st)
{
    static uint8_t buf[UL_DEV_STATE_MAX];
    size_t len;
    ul_err e = ul_schema_device_state_encode(buf, sizeof buf, &len, st);
    return e == UL_OK ? ul_dev_write_file(dir, "state.cbor", buf, len, 0644, true) : e;
}

ul_err ul_dev_slot_dir(char *out, size_t cap, const char *dir, const uint8_t *ns, size_t ns_len)
{
    /* vendor/product as two directories: "_" may occur in either part, so joining them with
     * "_" could give two namespaces one directory. */
    if (snprintf(out, cap, "%s/slots/%.*s", dir, (int)ns_len, (const char *)ns) >= (int)cap) {
        return UL_E_ARG;
    }
    return UL_OK;
}
