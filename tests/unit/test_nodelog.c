/* upledgerd's log line formatter (node/log.c): RFC 3339 UTC times with milliseconds, the level,
 * and JSON lines that a parser reads back whole, quotes, newlines and control bytes included. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "node/log.h"
#include "schema/ul_limits.h"

/* 2026-12-05T15:34:20.123Z */
#define T_MS 1796484860123ULL

static void test_text(void **state)
{
    (void)state;
    char out[UL_MAX_LOG_LINE];
    size_t n = ul_nlog_format(out, sizeof out, T_MS, UL_LOG_WARN, false, "disk full");
    assert_string_equal(out, "2026-12-05T15:34:20.123Z warn upledgerd: disk full\n");
    assert_int_equal(n, strlen(out));
    ul_nlog_format(out, sizeof out, 7, UL_LOG_DEBUG, false, "x"); /* 7 ms after the epoch */
    assert_string_equal(out, "1970-01-01T00:00:00.007Z debug upledgerd: x\n");
    assert_int_equal(ul_nlog_format(out, 20, T_MS, UL_LOG_INFO, false, "too long"), 0);
}

static void test_json_escapes(void **state)
{
    (void)state;
    char out[UL_MAX_LOG_LINE];
    const char *msg = "a \"quoted\"\nline\twith \\ and \x01\x1f control bytes";
    size_t n = ul_nlog_format(out, sizeof out, T_MS, UL_LOG_ERROR, true, msg);
    assert_true(n > 0 && out[n - 1] == '\n' && strlen(out) == n);
    assert_null(memchr(out, '\n', n - 1)); /* one line */
    json_error_t err;
    json_t *o = json_loadb(out, n, 0, &err);
    assert_non_null(o);
    assert_int_equal(json_object_size(o), 3);
    assert_string_equal(json_string_value(json_object_get(o, "time")), "2026-12-05T15:34:20.123Z");
    assert_string_equal(json_string_value(json_object_get(o, "level")), "error");
    assert_string_equal(json_string_value(json_object_get(o, "msg")), msg);
    json_decref(o);
}

static void test_json_not_utf8(void **state)
{
    (void)state;
    char out[UL_MAX_LOG_LINE], msg[UL_MAX_LOG_MSG];
    size_t n = ul_nlog_format(out, sizeof out, T_MS, UL_LOG_INFO, true, "path /tmp/\xff\xfe");
    json_t *o = json_loadb(out, n, 0, NULL);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "msg")), "path /tmp/??");
    json_decref(o);
    memset(msg, 0x01, sizeof msg - 1); /* the longest message, all escaped (\u0001): fits */
    msg[sizeof msg - 1] = '\0';
    assert_true(ul_nlog_format(out, sizeof out, T_MS, UL_LOG_INFO, true, msg) >
                6 * (sizeof msg - 1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text),
        cmocka_unit_test(test_json_escapes),
        cmocka_unit_test(test_json_not_utf8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
