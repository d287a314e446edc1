/* Links what a device links of libupclient, without the example firmware's I/O (scripts/mcu.mk
 * check-mcu): every call of an update, so the check sees the library's whole closure. */
#include "client/ul_client.h"

void ul_probe_reset(void);
int ul_probe_sink(void *arg, const uint8_t *p, size_t n);

static ul_device_state st;
static ul_update u;

int ul_probe_sink(void *arg, const uint8_t *p, size_t n)
{
    (void)arg;
    (void)p;
    (void)n;
    return 0;
}

__attribute__((used)) void ul_probe_reset(void)
{
    static const uint8_t z[1];
    /* Only linked, never judged: the results are collected (GCC warns through a (void) cast of
     * a warn_unused_result call) and dropped. */
    volatile ul_err e;
    e = ul_client_init();
    e = ul_client_device_init(&st, z, 0, z, 1);
    e = ul_client_device_add_spec(&st, z, 1);
    e = ul_client_device_boot(&st);
    e = ul_client_device_confirm(&st, z, 1);
    e = ul_client_update_begin(&u, &st, z, 1, z, 0, 0);
    e = ul_client_bundle_update(&u, z, 1);
    e = ul_client_bundle_final(&u, NULL);
    e = ul_client_update_current(&u, NULL);
    e = ul_client_image_update(&u, z, 1, ul_probe_sink, NULL);
    e = ul_client_image_final(&u, ul_probe_sink, NULL);
    e = ul_client_update_accept(&u, &st);
    (void)e;
    ul_client_update_abort(&u);
    for (;;) {
    }
}

__attribute__((section(".vectors"), used)) static void (*const vectors[2])(void) = {
    (void (*)(void))0x20001000u, ul_probe_reset};
