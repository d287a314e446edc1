/* upledgerd's log lines (node/log.h). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "log.h"
#include "schema/ul_limits.h"

static const char *const level_name[] = {"error", "warn", "info", "debug"};

static struct {
    ul_nlog_level max;
    bool json;
    int fd;
    char path[4096];
} g_log = {UL_LOG_INFO, false, 2, ""};

static volatile sig_atomic_t g_hup;

/* RFC 3339 in UTC with milliseconds: 2026-12-05T15:34:20.123Z (24 characters). */
static void format_time(char out[32], uint64_t ms)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    char sec[24];
    if (!gmtime_r(&t, &tm) || !strftime(sec, sizeof sec, "%Y-%m-%dT%H:%M:%S", &tm)) {
        snprintf(sec, sizeof sec, "1970-01-01T00:00:00");
    }
    snprintf(out, 32, "%s.%03uZ", sec, (unsigned)(ms % 1000));
}

/* msg as a JSON string: jansson takes UTF-8 only, so other bytes become '?'. */
static json_t *json_msg(const char *msg)
{
    json_t *s = json_string(msg);
    if (s) {
        return s;
    }
    char clean[UL_MAX_LOG_MSG];
    size_t i = 0;
    for (; msg[i] && i + 1 < sizeof clean; i++) {
        clean[i] = (unsigned char)msg[i] < 0x80 ? msg[i] : '?';
    }
    clean[i] = '\0';
    return json_string(clean);
}

size_t ul_nlog_format(char *out, size_t cap, uint64_t ms, ul_nlog_level lv, bool json,
                      const char *msg)
{
    char ts[32];
    format_time(ts, ms);
    const char *name = level_name[lv <= UL_LOG_DEBUG ? lv : UL_LOG_DEBUG];
    if (!json) {
        int n = snprintf(out, cap, "%s %s upledgerd: %s\n", ts, name, msg);
        return n > 0 && (size_t)n < cap ? (size_t)n : 0;
    }
    size_t n = 0;
    json_t *o = json_pack("{s:s, s:s, s:o?}", "time", ts, "level", name, "msg", json_msg(msg));
    if (o) {
        n = json_dumpb(o, out, cap, JSON_COMPACT | JSON_PRESERVE_ORDER);
    }
    json_decref(o);
    if (n == 0 || n + 2 > cap) {
        return 0;
    }
    out[n++] = '\n';
    out[n] = '\0';
    return n;
}

static int open_file(const char *path)
{
    return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
}

ul_err ul_nlog_open(ul_nlog_level max, bool json, const char *path)
{
    g_log.max = max;
    g_log.json = json;
    if (!path || !path[0]) {
        return UL_OK;
    }
    int n = snprintf(g_log.path, sizeof g_log.path, "%s", path);
    int fd = n > 0 && (size_t)n < sizeof g_log.path ? open_file(path) : -1;
    if (fd < 0) {
        fprintf(stderr, "upledgerd: cannot open log file %s: %s\n", path,
                n > 0 && (size_t)n < sizeof g_log.path ? strerror(errno) : "path too long");
        g_log.path[0] = '\0';
        return UL_E_IO;
    }
    g_log.fd = fd;
    return UL_OK;
}

static void write_line(ul_nlog_level lv, const char *msg)
{
    char line[UL_MAX_LOG_LINE];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
    size_t n = ul_nlog_format(line, sizeof line, ms, lv, g_log.json, msg);
    if (n) {
        ssize_t w = write(g_log.fd, line, n); /* one write a line: whole lines with O_APPEND */
        (void)w;                              /* nowhere to say that the log cannot be written */
    }
}

static void vsay(ul_nlog_level lv, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
static void vsay(ul_nlog_level lv, const char *fmt, va_list ap)
{
    if (lv > g_log.max) {
        return;
    }
    char msg[UL_MAX_LOG_MSG];
    vsnprintf(msg, sizeof msg, fmt, ap);
    write_line(lv, msg);
}

static void say(ul_nlog_level lv, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(ul_nlog_level lv, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsay(lv, fmt, ap);
    va_end(ap);
}

void ul_nlog_vwrite(ul_nlog_level lv, const char *fmt, va_list ap)
{
    ul_nlog_poll();
    vsay(lv, fmt, ap);
}

void ul_nlog_hup(void)
{
    g_hup = 1;
}

void ul_nlog_poll(void)
{
    if (!g_hup) {
        return;
    }
    g_hup = 0;
    if (!g_log.path[0]) {
        return;
    }
    int fd = open_file(g_log.path);
    if (fd < 0) {
        say(UL_LOG_ERROR, "cannot reopen log file %s: %s; still writing the old one", g_log.path,
            strerror(errno));
        return;
    }
    close(g_log.fd);
    g_log.fd = fd;
    say(UL_LOG_INFO, "log file reopened (SIGHUP)");
}
