/* The fleet page (tracker/fleet.html) inside the binary, served at GET /: one file, nothing to
 * install beside the program. The assembler's .incbin takes the file as it is at build time (the
 * Makefile rebuilds this object when the page changes). */
#include "internal.h"

__asm__(".section .rodata\n"
        ".global ul_tracker_page\n"
        ".type ul_tracker_page, @object\n"
        "ul_tracker_page:\n"
        ".incbin \"tracker/fleet.html\"\n"
        ".global ul_tracker_page_end\n"
        "ul_tracker_page_end:\n"
        ".byte 0\n"
        ".previous\n");

extern const char ul_tracker_page[], ul_tracker_page_end[];

const char *ul_tracker_page_get(size_t *len)
{
    *len = (size_t)(ul_tracker_page_end - ul_tracker_page);
    return ul_tracker_page;
}
