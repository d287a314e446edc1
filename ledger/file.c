/* Files written all or nothing: new ones never over an existing one (keystores, class keys, a dev
 * genesis), or one replaced whole. A crash leaves either the old file (or none) at path or the
 * whole new one, durable in its directory. And one sector rewritten in place (a validator's sign
 * state, before every signature), which a device writes whole or not at all. */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "ul_ledger.h"

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) { /* each pass writes at least one byte, fails, or retries EINTR */
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* A failed write as an error: a full disk (or quota) is said as such, not as an I/O error. */
static ul_err io_err(void)
{
    return errno == ENOSPC || errno == EDQUOT ? UL_E_NO_SPACE : UL_E_IO;
}

/* Gives tmp the name path unless path exists: link() never replaces. Filesystems without hard
 * links (vfat, some FUSE) get the same guarantee from renameat2(RENAME_NOREPLACE). */
static ul_err link_noreplace(const char *tmp, const char *path)
{
    if (link(tmp, path) == 0) {
        return UL_OK;
    }
    if (errno == EPERM || errno == ENOTSUP || errno == EOPNOTSUPP || errno == ENOSYS) {
        if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) == 0) {
            return UL_OK;
        }
    }
    return errno == EEXIST ? UL_E_EXISTS : UL_E_IO;
}

/* Makes the new name durable. EINVAL: the filesystem cannot sync directories; nothing to do. */
static ul_err fsync_parent(const char *path)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    size_t n = slash ? (size_t)(slash - path) : 0;
    int fd, rc;

    if (!slash) {
        memcpy(dir, ".", 2);
    } else if (n == 0) {
        memcpy(dir, "/", 2);
    } else if (n < sizeof dir) {
        memcpy(dir, path, n);
        dir[n] = '\0';
    } else {
        return UL_E_ARG;
    }
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        return UL_E_IO;
    }
    rc = fsync(fd);
    rc = (rc != 0 && errno != EINVAL) ? -1 : 0;
    close(fd);
    return rc == 0 ? UL_OK : UL_E_IO;
}

/* Writes p to a new temporary file beside path (mode, fsynced). Out: its name in tmp. */
static ul_err write_tmp(char tmp[PATH_MAX], const char *path, const void *p, size_t len, int mode)
{
    char tag[17];
    uint8_t rnd[8];
    ul_err e = UL_E_IO;
    randombytes_buf(rnd, sizeof rnd);
    ul_hex_encode(tag, rnd, sizeof rnd);
    if (snprintf(tmp, PATH_MAX, "%s.tmp-%s", path, tag) >= PATH_MAX) {
        return UL_E_ARG;
    }
    /* 0600 until complete: nobody else reads a file, a secret above all, half written. */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        return errno == ENAMETOOLONG ? UL_E_ARG : io_err();
    }
    /* fchmod after writing: the umask could have taken bits away but never adds any. */
    if (write_all(fd, p, len) == 0 && fchmod(fd, (mode_t)mode) == 0 && fsync(fd) == 0) {
        e = UL_OK;
    } else {
        e = io_err();
    }
    if (close(fd) != 0 && e == UL_OK) {
        e = io_err();
    }
    if (e != UL_OK) {
        unlink(tmp);
    }
    return e;
}

ul_err ul_file_write_new(const char *path, const void *p, size_t len, int mode)
{
    char tmp[PATH_MAX];
    ul_err e = write_tmp(tmp, path, p, len, mode);
    if (e != UL_OK) {
        return e;
    }
    e = link_noreplace(tmp, path);
    unlink(tmp); /* ENOENT after the renameat2 fallback; either way tmp is gone */
    return e == UL_OK ? fsync_parent(path) : e;
}

ul_err ul_file_replace(const char *path, const void *p, size_t len, int mode)
{
    char tmp[PATH_MAX];
    ul_err e = write_tmp(tmp, path, p, len, mode);
    if (e != UL_OK) {
        return e;
    }
    if (rename(tmp, path) != 0) {
        unlink(tmp);
        return UL_E_IO;
    }
    return fsync_parent(path);
}

ul_err ul_file_overwrite(const char *path, const void *p, size_t len)
{
    assert(len <= UL_SIGN_STATE_FILE_BYTES); /* one sector: written whole or not at all */
    int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0) {
        return errno == ENOENT ? UL_E_NOT_FOUND : UL_E_IO;
    }
    struct stat st;
    ul_err e = UL_OK;
    if (fstat(fd, &st) != 0) {
        e = UL_E_IO;
    } else if (!S_ISREG(st.st_mode) || st.st_size != (off_t)len) {
        e = UL_E_ARG; /* not this file's layout: the caller replaces it whole */
    } else {
        ssize_t w;
        do {
            w = pwrite(fd, p, len, 0);
        } while (w < 0 && errno == EINTR);
        /* The size does not change: fdatasync leaves the inode's times, and no directory moves. */
        if (w != (ssize_t)len || fdatasync(fd) != 0) {
            e = w < 0 || w == (ssize_t)len ? io_err() : UL_E_IO;
        }
    }
    close(fd);
    return e;
}
