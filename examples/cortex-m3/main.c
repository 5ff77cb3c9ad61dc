/* SPDX-License-Identifier: MIT */
/* The kheap demo on a Cortex-M3 (QEMU lm3s6965evb, 64 KiB SRAM): the heap is
 * the RAM the linker script leaves between .bss and the stack. */
#include "kh_bare.h"
#include "kh_demo.h"

int main(void)
{
    static const char hello[] = "kheap on Cortex-M3 (lm3s6965evb)\n";
    kh_bare_write(hello, sizeof(hello) - 1);
    return kh_demo(_heap_start, (size_t)(_heap_end - _heap_start), 500, kh_bare_write);
}
