/* libupclient versions and dependency constraints: parsing "1.2.3" and ">=1.2 <2", ordering, and
 * deciding whether a constraint can hold at all. Devices run this: no heap, no recursion, no
 * stdio; every loop is bounded by the input length or by UL_MAX_VERSION_PARTS / _CONSTRAINT_TERMS.
 */
#include <stdbool.h>
#include <string.h>

#include "ul_client.h"

/* Comparison operators of a constraint term; a bare version means UL_OP_EQ. */
typedef enum { UL_OP_EQ, UL_OP_GE, UL_OP_GT, UL_OP_LE, UL_OP_LT } ul_version_op;

typedef struct {
    ul_version_op op;
    ul_version v;
} ul_version_term;

/* Grammar: part *("." part), 1..UL_MAX_VERSION_PARTS parts, part = 1*DIGIT with value < 2^32.
 * Leading zeros are accepted ("01" is 1): a version string is a label the publisher chose, and
 * "2024.01" is common; the numeric value is what orders releases. No sign, no spaces, no
 * empty part, no trailing dot. Missing parts are 0, so "1.2" and "1.2.0" parse to the same. */
ul_err ul_client_version_parse(ul_version *out, const uint8_t *s, size_t len)
{
    size_t part = 0;
    uint64_t val = 0;
    bool digits = false;

    memset(out, 0, sizeof(*out));
    if (s == NULL || len == 0) {
        return UL_E_VERSION_STR;
    }
    for (size_t i = 0; i < len; i++) {
        uint8_t c = s[i];

        if (c >= '0' && c <= '9') {
            val = val * 10 + (uint64_t)(c - '0');
            if (val > UINT32_MAX) { /* checked per digit, so val never exceeds 2^32 * 10 */
                return UL_E_VERSION_STR;
            }
            digits = true;
        } else if (c == '.' && digits && part + 1 < UL_MAX_VERSION_PARTS) {
            out->part[part++] = (uint32_t)val;
            val = 0;
            digits = false;
        } else {
            return UL_E_VERSION_STR;
        }
    }
    if (!digits) {
        return UL_E_VERSION_STR;
    }
    out->part[part] = (uint32_t)val;
    return UL_OK;
}

int ul_client_version_cmp(const ul_version *a, const ul_version *b)
{
    for (size_t i = 0; i < UL_MAX_VERSION_PARTS; i++) {
        if (a->part[i] != b->part[i]) {
            return a->part[i] < b->part[i] ? -1 : 1;
        }
    }
    return 0;
}

/* Parses one term c[0..len) (no spaces inside). */
static ul_err ul_version_term_parse(ul_version_term *t, const uint8_t *c, size_t len)
{
    size_t skip = 0;

    t->op = UL_OP_EQ;
    if (len >= 2 && c[0] == '>' && c[1] == '=') {
        t->op = UL_OP_GE;
        skip = 2;
    } else if (len >= 2 && c[0] == '<' && c[1] == '=') {
        t->op = UL_OP_LE;
        skip = 2;
    } else if (len >= 1 && c[0] == '>') {
        t->op = UL_OP_GT;
        skip = 1;
    } else if (len >= 1 && c[0] == '<') {
        t->op = UL_OP_LT;
        skip = 1;
    } else if (len >= 1 && c[0] == '=') {
        skip = 1;
    }
    return ul_client_version_parse(&t->v, c + skip, len - skip);
}

/* Splits c into 1..UL_MAX_CONSTRAINT_TERMS terms separated by exactly one space (no leading or
 * trailing space) and parses each into t[0..*n). */
static ul_err ul_constraint_parse(ul_version_term t[UL_MAX_CONSTRAINT_TERMS], size_t *n,
                                  const uint8_t *c, size_t len)
{
    size_t start = 0;

    *n = 0;
    if (c == NULL || len == 0) {
        return UL_E_VERSION_STR;
    }
    for (size_t i = 0; i <= len; i++) {
        if (i < len && c[i] != ' ') {
            continue;
        }
        /* An empty term (double, leading or trailing space) fails in the version parser. */
        if (*n == UL_MAX_CONSTRAINT_TERMS) {
            return UL_E_VERSION_STR;
        }
        ul_err e = ul_version_term_parse(&t[*n], c + start, i - start);
        if (e != UL_OK) {
            return e;
        }
        (*n)++;
        start = i + 1;
    }
    return UL_OK;
}

/* The next / previous version in the (finite, discrete) order of UL_MAX_VERSION_PARTS-tuples of
 * uint32: carry through the last parts. Returns false past the greatest / below the least. */
static bool ul_version_succ(ul_version *v)
{
    for (size_t i = UL_MAX_VERSION_PARTS; i-- > 0;) {
        if (v->part[i] != UINT32_MAX) {
            v->part[i]++;
            return true;
        }
        v->part[i] = 0;
    }
    return false;
}

static bool ul_version_pred(ul_version *v)
{
    for (size_t i = UL_MAX_VERSION_PARTS; i-- > 0;) {
        if (v->part[i] != 0) {
            v->part[i]--;
            return true;
        }
        v->part[i] = UINT32_MAX;
    }
    return false;
}

/* Satisfiability is decided exactly, not by treating the order as dense: versions are the
 * finite, discrete set of UL_MAX_VERSION_PARTS-tuples, so each term is a closed interval
 * [lo, hi] (">v" starts at v's successor, "<v" ends at its predecessor) and the constraint holds
 * for some version iff the intersection is non-empty. Thus ">1 <1.0.0.1" (adjacent versions),
 * "<0" and ">=1 <1" are unsatisfiable, and ">1 <1.0.0.2" is satisfied only by 1.0.0.1. */
ul_err ul_client_constraint_check(const uint8_t *c, size_t len)
{
    ul_version_term t[UL_MAX_CONSTRAINT_TERMS];
    ul_version lo, hi, v;
    size_t n;
    ul_err e = ul_constraint_parse(t, &n, c, len);

    if (e != UL_OK) {
        return e;
    }
    memset(&lo, 0, sizeof(lo));
    memset(&hi, 0xff, sizeof(hi));
    for (size_t i = 0; i < n; i++) {
        v = t[i].v;
        ul_version_op op = t[i].op;

        if (op == UL_OP_GT && !ul_version_succ(&v)) {
            return UL_E_DEPENDENCY;
        }
        if (op == UL_OP_LT && !ul_version_pred(&v)) {
            return UL_E_DEPENDENCY;
        }
        if (op != UL_OP_LE && op != UL_OP_LT && ul_client_version_cmp(&v, &lo) > 0) {
            lo = v;
        }
        if (op != UL_OP_GE && op != UL_OP_GT && ul_client_version_cmp(&v, &hi) < 0) {
            hi = v;
        }
    }
    return ul_client_version_cmp(&lo, &hi) <= 0 ? UL_OK : UL_E_DEPENDENCY;
}

static bool ul_version_term_holds(const ul_version_term *t, const ul_version *v)
{
    int c = ul_client_version_cmp(v, &t->v);

    switch (t->op) {
    case UL_OP_EQ:
        return c == 0;
    case UL_OP_GE:
        return c >= 0;
    case UL_OP_GT:
        return c > 0;
    case UL_OP_LE:
        return c <= 0;
    case UL_OP_LT:
        return c < 0;
    }
    return false;
}

/* The whole constraint is parsed before any term is judged, so a malformed constraint is always
 * UL_E_VERSION_STR, whatever v is. */
ul_err ul_client_constraint_match(const uint8_t *c, size_t len, const ul_version *v)
{
    ul_version_term t[UL_MAX_CONSTRAINT_TERMS];
    size_t n;
    ul_err e = ul_constraint_parse(t, &n, c, len);

    if (e != UL_OK) {
        return e;
    }
    for (size_t i = 0; i < n; i++) {
        if (!ul_version_term_holds(&t[i], v)) {
            return UL_E_DEPENDENCY;
        }
    }
    return UL_OK;
}
