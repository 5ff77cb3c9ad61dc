/* SPDX-License-Identifier: MIT */
/* The kheap demo on RISC-V (QEMU virt, machine mode): the heap is the RAM the
 * linker script leaves between .bss and the hart stacks. */
#include "kh_bare.h"
#include "kh_demo.h"

int main(void)
{
    static const char hello[] = "kheap on RISC-V (virt)\n";
    kh_bare_write(hello, sizeof(hello) - 1);
    return kh_demo(_heap_start, (size_t)(_heap_end - _heap_start), 500, kh_bare_write);
}
