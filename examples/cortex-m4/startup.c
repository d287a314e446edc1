/* Reset and vector table for QEMU's mps2-an386 (Cortex-M4): copies .data, clears .bss, paints
 * the stack (so main can count the bytes an update touched), then runs main and exits through
 * semihosting. The only interrupt used is SysTick (main.c's clock). */
#include <stdint.h>
#include <stdlib.h>

#include "fw.h"

extern uint32_t __data_load[], __data_start[], __data_end[], __bss_start[], __bss_end[];
extern uint32_t __stack_bottom[], __stack_top[];
extern int main(void);
extern void initialise_monitor_handles(void);

void ul_fw_reset(void);
static void ul_fw_hang(void);

__attribute__((section(".vectors"), used)) static void (*const vectors[16])(void) = {
    (void (*)(void))__stack_top,
    ul_fw_reset,
    ul_fw_hang,
    ul_fw_hang,
    ul_fw_hang,
    ul_fw_hang,
    ul_fw_hang,
    0,
    0,
    0,
    0,
    ul_fw_hang,
    ul_fw_hang,
    0,
    ul_fw_hang,
    ul_fw_systick,
};

static void ul_fw_hang(void)
{
    for (;;) {
    }
}

/* Runs on the stack it paints: it paints only below its own frame (no libc call on the way). */
__attribute__((noinline)) void ul_fw_stack_paint(void)
{
    uintptr_t sp;
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    for (uint32_t *p = __stack_bottom; (uintptr_t)p < sp - 64; p++) {
        *p = UL_FW_PAINT;
    }
}

void ul_fw_reset(void)
{
    for (uint32_t *s = __data_load, *d = __data_start; d < __data_end;) {
        *d++ = *s++;
    }
    for (uint32_t *d = __bss_start; d < __bss_end;) {
        *d++ = 0;
    }
    ul_fw_stack_paint();
    initialise_monitor_handles();
    exit(main());
}

size_t ul_fw_stack_used(void)
{
    const uint32_t *p = __stack_bottom;
    while (p < __stack_top && *p == UL_FW_PAINT) {
        p++;
    }
    return (size_t)((const uint8_t *)__stack_top - (const uint8_t *)p);
}
