/* The HTTP API's pure parsing (node/http_parse.c): query numbers, ids, path segments (what keeps
 * static paths inside the explorer's directory) and content types. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "node/http.h"

static void test_u64(void **state)
{
    (void)state;
    uint64_t v = 7;
    assert_int_equal(ul_http_parse_u64("0", 0, 10, &v), UL_OK);
    assert_int_equal(v, 0);
    assert_int_equal(ul_http_parse_u64("18446744073709551615", 0, UINT64_MAX, &v), UL_OK);
    assert_true(v == UINT64_MAX);
    v = 7;
    /* overflow, signs, spaces, hex, empty, NULL and out of range leave v alone */
    const char *bad[] = {"18446744073709551616", "-1", "+1", " 1", "1 ", "0x10", "", "1e3",
                         "999999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(ul_http_parse_u64(bad[i], 0, UINT64_MAX, &v), UL_E_ARG);
    }
    assert_int_equal(ul_http_parse_u64(NULL, 0, 1, &v), UL_E_ARG);
    assert_int_equal(ul_http_parse_u64("0", 1, 10, &v), UL_E_ARG);
    assert_int_equal(ul_http_parse_u64("11", 1, 10, &v), UL_E_ARG);
    assert_int_equal(v, 7);
}

static void test_hex32(void **state)
{
    (void)state;
    uint8_t out[32];
    char s[66];
    memset(s, 'a', 64);
    s[64] = 0;
    s[0] = 'F', s[1] = '0';
    assert_int_equal(ul_http_parse_hex32(s, out), UL_OK);
    assert_int_equal(out[0], 0xf0);
    assert_int_equal(out[31], 0xaa);
    s[63] = 'g';
    assert_int_equal(ul_http_parse_hex32(s, out), UL_E_ARG);
    s[63] = 'a', s[64] = 'a', s[65] = 0;
    assert_int_equal(ul_http_parse_hex32(s, out), UL_E_ARG); /* 65 digits */
    s[63] = 0;
    assert_int_equal(ul_http_parse_hex32(s, out), UL_E_ARG); /* 63 */
    assert_int_equal(ul_http_parse_hex32(NULL, out), UL_E_ARG);
}

static void test_split(void **state)
{
    (void)state;
    char *seg[4];
    char a[] = "v1/blocks/12";
    assert_int_equal(ul_http_split(a, seg, 4), 3);
    assert_string_equal(seg[0], "v1");
    assert_string_equal(seg[2], "12");
    char one[] = "index.html";
    assert_int_equal(ul_http_split(one, seg, 4), 1);
    char empty[] = "";
    assert_int_equal(ul_http_split(empty, seg, 4), 0);
    /* what would leave a directory, or name it twice */
    const char *bad[] = {"..", "a/../b", "a/./b", "./a", "a//b", "a/", "/a", "a/b/c/d/e", "a/.."};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char p[32];
        snprintf(p, sizeof p, "%s", bad[i]);
        assert_int_equal(ul_http_split(p, seg, 4), -1);
    }
    char dots[] = "a/..b/c..";
    assert_int_equal(ul_http_split(dots, seg, 4), 3); /* names with dots are names */
}

static void test_content_type(void **state)
{
    (void)state;
    assert_string_equal(ul_http_content_type("x/index.html"), "text/html; charset=utf-8");
    assert_string_equal(ul_http_content_type("app.js"), "text/javascript; charset=utf-8");
    assert_string_equal(ul_http_content_type("a.css"), "text/css; charset=utf-8");
    assert_string_equal(ul_http_content_type("a.json"), "application/json");
    assert_string_equal(ul_http_content_type("a.png"), "image/png");
    assert_string_equal(ul_http_content_type("a.html.exe"), "application/octet-stream");
    assert_string_equal(ul_http_content_type("Makefile"), "application/octet-stream");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_u64),
        cmocka_unit_test(test_hex32),
        cmocka_unit_test(test_split),
        cmocka_unit_test(test_content_type),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
