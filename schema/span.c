/* ul_span helpers: views of bytes in caller memory, compared by content. Encoders build spans
 * over C strings with ul_span_str; decoders hand spans into their input back.
 */
#include <string.h>

#include "ul_schema.h"

ul_span ul_span_str(const char *s)
{
    ul_span sp = {(const uint8_t *)s, s ? strlen(s) : 0};
    return sp;
}

bool ul_span_eq(ul_span a, ul_span b)
{
    if (a.len != b.len) {
        return false;
    }
    return a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0;
}

bool ul_span_eq_str(ul_span a, const char *s)
{
    return ul_span_eq(a, ul_span_str(s));
}
