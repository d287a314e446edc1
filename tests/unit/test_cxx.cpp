// client/ul_client.h from C++: it compiles with g++ -std=c++11 -pedantic -Werror, and its
// functions link (C linkage) and run. Built by the Makefile with $(CXX), run by make test.
#include <csetjmp>
#include <cstdarg>
#include <cstddef>
#include <cstring>

extern "C" { // Debian's cmocka.h declares C functions without a C++ guard
#include <cmocka.h>
}

#include "client/ul_client.h"

static void test_sha256_from_cxx(void **state)
{
    (void)state;
    static const unsigned char want[UL_HASH_BYTES] = {
        0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40,
        0xde, 0x5d, 0xae, 0x22, 0x23, 0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17,
        0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad};
    uint8_t got[UL_HASH_BYTES];
    ul_sha256 s;
    ul_client_sha256_init(&s);
    ul_client_sha256_update(&s, reinterpret_cast<const uint8_t *>("abc"), 3);
    ul_client_sha256_final(&s, got);
    assert_memory_equal(got, want, sizeof want);
}

// The streaming update API: a context declared in C++ and a bundle that is not one.
static void test_update_from_cxx(void **state)
{
    (void)state;
    static ul_update u;
    static ul_device_state st;
    std::memset(&st, 0, sizeof st);
    const uint8_t junk[4] = {0xff, 0xff, 0xff, 0xff};
    ul_err e = ul_client_update_begin(&u, &st, reinterpret_cast<const uint8_t *>("acme/x"), 6,
                                      nullptr, 0, 0);
    if (e == UL_OK) {
        e = ul_client_bundle_update(&u, junk, sizeof junk);
    }
    if (e == UL_OK) {
        e = ul_client_bundle_final(&u, nullptr);
    }
    assert_int_not_equal(e, UL_OK);
    assert_non_null(ul_err_name(e));
    ul_client_update_abort(&u);
}

int main(void)
{
    if (ul_client_init() != UL_OK) {
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256_from_cxx),
        cmocka_unit_test(test_update_from_cxx),
    };
    return cmocka_run_group_tests(tests, nullptr, nullptr);
}
