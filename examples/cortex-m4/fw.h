/* Shared by the example firmware's files (startup.c, main.c). */
#ifndef UL_FW_H
#define UL_FW_H

#include <stddef.h>
#include <stdint.h>

#define UL_FW_PAINT 0xC5A5C5A5u /* what the reset handler fills the stack with */

/* Paints the stack below the caller's frame, so ul_fw_stack_used measures from then on. */
void ul_fw_stack_paint(void);
/* Bytes of the stack touched since reset or the last paint (the highest use): unpainted words from
 * the top. */
size_t ul_fw_stack_used(void);
/* SysTick interrupt: counts wraps of the 24-bit counter (main.c). */
void ul_fw_systick(void);

#endif
