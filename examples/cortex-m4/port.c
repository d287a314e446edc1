/* What a device port provides to the cross-built dependencies (scripts/mcu.mk):
 * - libsecp256k1's default callbacks (built with USE_EXTERNAL_DEFAULT_CALLBACKS): the library's
 *   own print with fprintf and abort; a device has no stdio, so an illegal argument or an
 *   internal error stops here, where a debugger or watchdog sees it.
 * - libsodium's sodium_init and sodium_misuse, which live in its core.c with the run-time CPU
 *   feature detection and the random-number source: the device build compiles only portable
 *   reference code (nothing to select at run time) and never generates keys, so it links
 *   neither; sodium_init has nothing left to do. */
#include <stdint.h>

void secp256k1_default_illegal_callback_fn(const char *str, void *data);
void secp256k1_default_error_callback_fn(const char *str, void *data);
int sodium_init(void);
void sodium_misuse(void);

static void ul_port_halt(void)
{
    for (;;) {
        __asm__ volatile("bkpt 0");
    }
}

void secp256k1_default_illegal_callback_fn(const char *str, void *data)
{
    (void)str;
    (void)data;
    ul_port_halt();
}

void secp256k1_default_error_callback_fn(const char *str, void *data)
{
    (void)str;
    (void)data;
    ul_port_halt();
}

int sodium_init(void)
{
    return 0;
}

void sodium_misuse(void)
{
    ul_port_halt();
}
