/* SPDX-License-Identifier: MIT */
/* The kheap demo on the host: a heap over a static 1 MiB array. The same
 * body (examples/common/kh_demo.c) boots on Cortex-M3 and RISC-V in QEMU. */
#include <stdio.h>

#include "kh_demo.h"

static _Alignas(16) unsigned char heap_mem[1u << 20];

static void write_stdout(const char *s, size_t n)
{
    fwrite(s, 1, n, stdout);
}

int main(void)
{
    int rc = kh_demo(heap_mem, sizeof(heap_mem), 500, write_stdout);
    if (rc) printf("demo failed at step %d\n", rc);
    return rc ? 1 : 0;
}
