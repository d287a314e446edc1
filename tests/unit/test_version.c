/* Unit tests for client/version.c: version parsing and ordering, constraint satisfiability
 * (decided exactly over the discrete version order) and matching, each limit at the bound and
 * one past it. Tables first; the bounds and an exhaustive small-domain cross-check after.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "client/ul_client.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static ul_err parse(ul_version *v, const char *s)
{
    return ul_client_version_parse(v, (const uint8_t *)s, strlen(s));
}

static ul_err check(const char *c)
{
    return ul_client_constraint_check((const uint8_t *)c, strlen(c));
}

static ul_err match(const char *c, const char *v)
{
    ul_version ver;
    assert_int_equal(parse(&ver, v), UL_OK);
    return ul_client_constraint_match((const uint8_t *)c, strlen(c), &ver);
}

static void test_parse(void **state)
{
    static const struct {
        const char *s;
        uint32_t p[UL_MAX_VERSION_PARTS];
    } good[] = {
        {"0", {0, 0, 0, 0}},
        {"1", {1, 0, 0, 0}},
        {"1.2", {1, 2, 0, 0}},
        {"1.2.3", {1, 2, 3, 0}},
        {"1.2.3.4", {1, 2, 3, 4}},
        {"10.20.30.40", {10, 20, 30, 40}},
        {"01.002", {1, 2, 0, 0}}, /* leading zeros: the value counts */
        {"2024.01", {2024, 1, 0, 0}},
        {"0000000000000000000001", {1, 0, 0, 0}},
        {"4294967295", {4294967295u, 0, 0, 0}},
        {"4294967295.4294967295.4294967295.4294967295",
         {4294967295u, 4294967295u, 4294967295u, 4294967295u}},
    };
    static const char *bad[] = {"",
                                ".",
                                "1.",
                                ".1",
                                "1..2",
                                "1.2.",
                                "a",
                                "1a",
                                "1.x",
                                "-1",
                                "+1",
                                " 1",
                                "1 ",
                                "1.2 ",
                                "1,2",
                                "v1.2",
                                "1.2-rc1",
                                "1.2.3.4.5",
                                "1.2.3.4.",
                                "4294967296",
                                "1.4294967296",
                                "99999999999999999999",
                                "1\n",
                                "=1",
                                ">1",
                                "1e3",
                                "0x10"};
    ul_version v;

    for (size_t i = 0; i < ARRAY_LEN(good); i++) {
        assert_int_equal(parse(&v, good[i].s), UL_OK);
        assert_memory_equal(v.part, good[i].p, sizeof(v.part));
    }
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        if (parse(&v, bad[i]) != UL_E_VERSION_STR) {
            fail_msg("version \"%s\" accepted", bad[i]);
        }
    }
    assert_int_equal(ul_client_version_parse(&v, NULL, 0), UL_E_VERSION_STR);
    /* A NUL inside the span is a bad byte, not the end. */
    static const uint8_t nul[3] = {'1', 0, '2'};
    assert_int_equal(ul_client_version_parse(&v, nul, sizeof(nul)), UL_E_VERSION_STR);
    /* Only len bytes are read. */
    assert_int_equal(ul_client_version_parse(&v, (const uint8_t *)"1.2junk", 3), UL_OK);
    assert_int_equal(v.part[1], 2);
}

static void test_cmp(void **state)
{
    static const struct {
        const char *a, *b;
        int want;
    } cases[] = {
        {"1", "1", 0},
        {"1", "1.0", 0},
        {"1.2", "1.2.0.0", 0},
        {"1", "2", -1},
        {"2", "1", 1},
        {"1.2", "1.10", -1},
        {"1.10", "1.9", 1},
        {"1.2.3", "1.2", 1},
        {"1.2", "1.2.0.1", -1},
        {"2", "1.9.9.9", 1},
        {"01", "1", 0},
        {"0", "0.0.0.1", -1},
        {"4294967295", "4294967294.4294967295", 1},
    };
    ul_version a, b;

    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        assert_int_equal(parse(&a, cases[i].a), UL_OK);
        assert_int_equal(parse(&b, cases[i].b), UL_OK);
        int c = ul_client_version_cmp(&a, &b);
        int r = ul_client_version_cmp(&b, &a);
        if ((c > 0) - (c < 0) != cases[i].want || (r > 0) - (r < 0) != -cases[i].want) {
            fail_msg("cmp(%s, %s) = %d, want %d", cases[i].a, cases[i].b, c, cases[i].want);
        }
    }
}

static void test_constraint_check(void **state)
{
    static const char *sat[] = {
        "1",
        "=1",
        ">=1.2",
        ">1.2",
        "<=2",
        "<2.0",
        "=1.2.3",
        ">=1.2 <2",
        ">=1 <=1",
        "=1 =1.0",
        ">1 <1.0.0.2",
        "<0.0.0.1",
        "<=0",
        ">=0",
        ">4294967295.4294967295.4294967295.4294967294",
        ">=1 >=2 <3 <4",
        "=1.2.3 >=1 <2 <=1.2.3",
        "1.2 >=1.2",
        "<1.0.0.1 >0.4294967295",
    };
    static const char *unsat[] = {
        ">2 <1",         "<1 >=1",
        ">=1 <1",        ">1 <=1",
        ">1 <1.0.0.1",   "<0",
        "<0.0.0.0",      ">4294967295.4294967295.4294967295.4294967295",
        "=1 =2",         "=1 >1",
        "=1 <1",         "1 2",
        ">=2 <=1.9.9.9", ">=1 >=2 <3 <2",
    };
    static const char *invalid[] = {
        "",    " ",      " 1",  "1 ",  "1  2",        ">",           ">=",      "==1",
        "=>1", "=<1",    "<>1", "> 1", ">=1,<2",      ">=1 <2 ",     "~1",      "^1.2",
        "!=1", "1 || 2", "*",   "1.x", ">=1.2.3.4.5", "<4294967296", ">=1\t<2", "1 2 3 4 5",
    };

    for (size_t i = 0; i < ARRAY_LEN(sat); i++) {
        if (check(sat[i]) != UL_OK) {
            fail_msg("\"%s\" should be satisfiable", sat[i]);
        }
    }
    for (size_t i = 0; i < ARRAY_LEN(unsat); i++) {
        if (check(unsat[i]) != UL_E_DEPENDENCY) {
            fail_msg("\"%s\" should be unsatisfiable", unsat[i]);
        }
    }
    for (size_t i = 0; i < ARRAY_LEN(invalid); i++) {
        if (check(invalid[i]) != UL_E_VERSION_STR) {
            fail_msg("\"%s\" should not parse", invalid[i]);
        }
    }
    assert_int_equal(ul_client_constraint_check(NULL, 0), UL_E_VERSION_STR);
}

static void test_constraint_match(void **state)
{
    static const struct {
        const char *c, *v;
        ul_err want;
    } cases[] = {
        {"1", "1", UL_OK},
        {"1", "1.0.0", UL_OK},
        {"1", "1.0.1", UL_E_DEPENDENCY},
        {"=1.2.3", "1.2.3", UL_OK},
        {"=1.2.3", "1.2.4", UL_E_DEPENDENCY},
        {">=1.2", "1.2", UL_OK},
        {">=1.2", "1.1.9", UL_E_DEPENDENCY},
        {">1.2", "1.2", UL_E_DEPENDENCY},
        {">1.2", "1.2.0.1", UL_OK},
        {"<=2", "2.0", UL_OK},
        {"<=2", "2.0.0.1", UL_E_DEPENDENCY},
        {"<2.0", "1.99", UL_OK},
        {"<2.0", "2", UL_E_DEPENDENCY},
        {">=1.2 <2", "1.5", UL_OK},
        {">=1.2 <2", "2.0", UL_E_DEPENDENCY},
        {">=1.2 <2", "1.1", UL_E_DEPENDENCY},
        {">=1 <=1", "1", UL_OK},
        {">2 <1", "1.5", UL_E_DEPENDENCY},
        {">=2.1.0", "2.1", UL_OK},
        {">=1 <3 >1 <=2.5", "2.5", UL_OK},
        {">=1 <3 >1 <=2.5", "1", UL_E_DEPENDENCY},
        /* A malformed constraint is an error whatever the version, even after a failing term. */
        {"<1 >=x", "5", UL_E_VERSION_STR},
        {">=1 <2 ", "1.5", UL_E_VERSION_STR},
        {"1 2 3 4 5", "1", UL_E_VERSION_STR},
    };

    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        ul_err e = match(cases[i].c, cases[i].v);
        if (e != cases[i].want) {
            fail_msg("match(\"%s\", %s) = %d, want %d", cases[i].c, cases[i].v, e, cases[i].want);
        }
    }
}

static void test_bounds(void **state)
{
    char s[256];
    ul_version v;
    const char *four = "1.2.3.4";

    /* UL_MAX_VERSION_PARTS parts, then one more. */
    s[0] = '\0';
    for (size_t i = 0; i < UL_MAX_VERSION_PARTS; i++) {
        snprintf(s + strlen(s), sizeof(s) - strlen(s), "%s%zu", i ? "." : "", i + 1);
    }
    assert_string_equal(s, four); /* the tables above assume 4 */
    assert_int_equal(parse(&v, s), UL_OK);
    snprintf(s + strlen(s), sizeof(s) - strlen(s), ".0");
    assert_int_equal(parse(&v, s), UL_E_VERSION_STR);
    /* Part values: 2^32 - 1, then 2^32, in every position. */
    assert_int_equal(parse(&v, "4294967295"), UL_OK);
    assert_int_equal(v.part[0], UINT32_MAX);
    assert_int_equal(parse(&v, "4294967296"), UL_E_VERSION_STR);
    assert_int_equal(parse(&v, "0.0.0.4294967295"), UL_OK);
    assert_int_equal(parse(&v, "0.0.0.4294967296"), UL_E_VERSION_STR);
    assert_int_equal(parse(&v, "0.4294967296.0"), UL_E_VERSION_STR);
    assert_int_equal(parse(&v, "42949672950"), UL_E_VERSION_STR);
    /* UL_MAX_CONSTRAINT_TERMS terms, then one more. */
    s[0] = '\0';
    for (size_t i = 0; i < UL_MAX_CONSTRAINT_TERMS; i++) {
        snprintf(s + strlen(s), sizeof(s) - strlen(s), "%s>=%zu", i ? " " : "", i);
    }
    assert_int_equal(check(s), UL_OK);
    assert_int_equal(match(s, "9"), UL_OK);
    snprintf(s + strlen(s), sizeof(s) - strlen(s), " >=0");
    assert_int_equal(check(s), UL_E_VERSION_STR);
    assert_int_equal(match(s, "9"), UL_E_VERSION_STR);
}

/* Exhaustive cross-check on a small domain: for every constraint of two terms with versions
 * drawn from a small set (including the extremes), check() says satisfiable exactly when some
 * version of a candidate set matches. The candidates include every version adjacent to the
 * operands (one part up or down, with carry), which is where an interval can be non-empty. */
static void test_check_vs_match(void **state)
{
    static const char *ops[] = {"", "=", ">=", ">", "<=", "<"};
    static const char *vers[] = {
        "0",
        "0.0.0.1",
        "1",
        "1.0.0.1",
        "1.0.0.2",
        "1.1",
        "2",
        "0.4294967295.4294967295.4294967295",
        "4294967295.4294967295.4294967295.4294967294",
        "4294967295.4294967295.4294967295.4294967295",
    };
    static const char *cand[] = {
        "0",
        "0.0.0.1",
        "0.0.0.2",
        "0.4294967295.4294967295.4294967295",
        "1",
        "1.0.0.1",
        "1.0.0.2",
        "1.0.0.3",
        "1.0.4294967295.4294967295",
        "1.1",
        "1.1.0.1",
        "1.0.4294967295.4294967295",
        "1.1.0.0",
        "1.0.9",
        "1.9",
        "1.4294967295.4294967295.4294967295",
        "2",
        "2.0.0.1",
        "3",
        "4294967295.4294967295.4294967295.4294967293",
        "4294967295.4294967295.4294967295.4294967294",
        "4294967295.4294967295.4294967295.4294967295",
        "0.4294967295.4294967295.4294967294",
        "1.0.0.0",
        "1.1.4294967295.4294967295",
        "1.0.4294967295.4294967294",
    };
    char c[256];
    size_t n = 0;

    for (size_t o1 = 0; o1 < ARRAY_LEN(ops); o1++) {
        for (size_t v1 = 0; v1 < ARRAY_LEN(vers); v1++) {
            for (size_t o2 = 0; o2 < ARRAY_LEN(ops); o2++) {
                for (size_t v2 = 0; v2 < ARRAY_LEN(vers); v2++) {
                    snprintf(c, sizeof(c), "%s%s %s%s", ops[o1], vers[v1], ops[o2], vers[v2]);
                    bool any = false;
                    for (size_t k = 0; k < ARRAY_LEN(cand) && !any; k++) {
                        any = match(c, cand[k]) == UL_OK;
                    }
                    if (check(c) != (any ? UL_OK : UL_E_DEPENDENCY)) {
                        fail_msg("\"%s\": check %d, a candidate matches: %d", c, check(c), any);
                    }
                    n++;
                }
            }
        }
    }
    assert_int_equal(n, 3600);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_cmp),
        cmocka_unit_test(test_constraint_check),
        cmocka_unit_test(test_constraint_match),
        cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_check_vs_match),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
