/* SPDX-License-Identifier: MIT */
/* Cortex-M3 reset and fault handlers, semihosting console and exit. */
#include <stdint.h>

#include "kh_bare.h"

/* Linker script symbols (cm3_sections.ld). */
extern uint32_t _sidata[], _sdata[], _edata[], _sbss[], _ebss[];

int kh_cm3_semihost(int op, void *arg);
void kh_cm3_reset(void);
void kh_cm3_fault_report(const uint32_t *frame);

#define SYS_WRITE0                  0x04
#define SYS_EXIT                    0x18
#define SYS_EXIT_EXTENDED           0x20
#define ADP_Stopped_ApplicationExit 0x20026
#define ADP_Stopped_RunTimeError    0x20023

void kh_cm3_reset(void)
{
    /* Nothing before this point may touch .data or .bss. */
    const uint32_t *src = _sidata;
    for (uint32_t *dst = _sdata; dst < _edata;) *dst++ = *src++;
    for (uint32_t *dst = _sbss; dst < _ebss;) *dst++ = 0;
    kh_bare_exit(main());
}

void kh_bare_write(const char *s, size_t n)
{
    /* SYS_WRITE0 prints a NUL-terminated string: pass it in chunks. */
    char buf[64];
    while (n) {
        size_t k = n < sizeof(buf) - 1 ? n : sizeof(buf) - 1;
        for (size_t i = 0; i < k; i++) buf[i] = s[i];
        buf[k] = 0;
        kh_cm3_semihost(SYS_WRITE0, buf);
        s += k;
        n -= k;
    }
}

_Noreturn void kh_bare_exit(int code)
{
    /* SYS_EXIT_EXTENDED carries the status to the host (QEMU exits with it);
     * plain 32-bit SYS_EXIT only tells success from failure, so it is the
     * fallback for debuggers without the extension. */
    uint32_t block[2] = {ADP_Stopped_ApplicationExit, (uint32_t)code};
    kh_cm3_semihost(SYS_EXIT_EXTENDED, block);
    kh_cm3_semihost(SYS_EXIT, (void *)(uintptr_t)(code ? ADP_Stopped_RunTimeError
                                                       : ADP_Stopped_ApplicationExit));
    for (;;) __asm__ volatile("wfi");
}

static void put_str(const char *s)
{
    size_t n = 0;
    while (s[n]) n++;
    kh_bare_write(s, n);
}

static void put_hex(uint32_t v)
{
    char buf[11] = "0x";
    for (int i = 0; i < 8; i++) buf[2 + i] = "0123456789abcdef"[(v >> (28 - 4 * i)) & 15];
    buf[10] = 0;
    put_str(buf);
}

/* Called by kh_cm3_fault (start.S) with the stacked exception frame: r0-r3,
 * r12, lr, pc, xpsr. A fault must end the run as a failure, not hang. */
void kh_cm3_fault_report(const uint32_t *frame)
{
    uint32_t ipsr;
    __asm__ volatile("mrs %0, ipsr" : "=r"(ipsr));
    put_str("\nkheap: CPU fault, exception ");
    put_hex(ipsr & 0x1ff);
    put_str(" at pc ");
    put_hex(frame[6]);
    put_str(", lr ");
    put_hex(frame[5]);
    put_str("\n");
    kh_bare_exit(3);
}
