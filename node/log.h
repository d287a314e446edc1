/* upledgerd's log lines: each with an RFC 3339 UTC time and a level, as text or one JSON object
 * a line, on stderr or appended to a log file that SIGHUP reopens (logrotate's move + create). */
#ifndef UL_NODE_LOG_H
#define UL_NODE_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "schema/ul_err.h"

typedef enum { UL_LOG_ERROR, UL_LOG_WARN, UL_LOG_INFO, UL_LOG_DEBUG } ul_nlog_level;

/* Formats one line, '\n' included, of msg at level lv and time ms (milliseconds since the
 * epoch) into out (cap bytes): "2026-12-05T15:34:20.123Z info upledgerd: msg" or, json,
 * {"time": ..., "level": ..., "msg": ...} (jansson; bytes that are not UTF-8 become '?').
 * Returns the length, 0 if it could not (out of memory, or cap too small). */
size_t ul_nlog_format(char *out, size_t cap, uint64_t ms, ul_nlog_level lv, bool json,
                      const char *msg);

/* Sets the highest level written (default info), the format and the destination (NULL: stderr;
 * else appended to path, created 0640). UL_E_IO (said on stderr) if path cannot be opened. */
ul_err ul_nlog_open(ul_nlog_level max, bool json, const char *path);
/* Writes one message (cut at UL_MAX_LOG_MSG bytes) if lv is at most the level set. */
void ul_nlog_vwrite(ul_nlog_level lv, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* Async-signal-safe: asks for the log file to be reopened (SIGHUP). */
void ul_nlog_hup(void);
/* Reopens the log file if asked: the lines after it go to a file at the path again. */
void ul_nlog_poll(void);

#endif
