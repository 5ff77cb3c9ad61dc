/* SPDX-License-Identifier: MIT */
/* RISC-V (QEMU virt) boot glue, ns16550 UART console and exit through the
 * SiFive test device. */
#include <stdint.h>

#include "kh_bare.h"

#define UART_BASE     0x10000000u /* ns16550a */
#define UART_THR      0
#define UART_LSR      5
#define UART_LSR_THRE 0x20
#define TEST_BASE     0x100000u /* sifive,test0: QEMU exits when written */
#define TEST_PASS     0x5555u
#define TEST_FAIL     0x3333u

/* Set by hart 0 once .bss is clear; in .data so clearing .bss cannot race. */
volatile uint32_t kh_rv_released = 0;

void kh_rv_boot(void);
void kh_rv_secondary(unsigned long hartid);
void kh_rv_trap(unsigned long cause, unsigned long epc, unsigned long tval);

void kh_rv_boot(void)
{
    kh_bare_exit(main());
}

/* Programs that use more harts (the SMP test) define their own. */
__attribute__((weak)) void kh_rv_secondary(unsigned long hartid)
{
    (void)hartid;
}

void kh_bare_write(const char *s, size_t n)
{
    volatile uint8_t *uart = (volatile uint8_t *)(uintptr_t)UART_BASE;
    for (size_t i = 0; i < n; i++) {
        while (!(uart[UART_LSR] & UART_LSR_THRE)) continue;
        uart[UART_THR] = (uint8_t)s[i];
    }
}

_Noreturn void kh_bare_exit(int code)
{
    volatile uint32_t *test = (volatile uint32_t *)(uintptr_t)TEST_BASE;
    /* The device takes a 16-bit status; keep a failure non-zero. */
    uint32_t status = (uint32_t)code & 0xffffu;
    if (code != 0 && status == 0) status = 1;
    *test = status ? (status << 16) | TEST_FAIL : TEST_PASS;
    for (;;) __asm__ volatile("wfi");
}

static void put_hex(unsigned long v)
{
    char buf[2 + 2 * sizeof(v)];
    buf[0] = '0';
    buf[1] = 'x';
    for (unsigned i = 0; i < 2 * sizeof(v); i++)
        buf[2 + i] = "0123456789abcdef"[(v >> (4 * (2 * sizeof(v) - 1 - i))) & 15];
    kh_bare_write(buf, sizeof(buf));
}

void kh_rv_trap(unsigned long cause, unsigned long epc, unsigned long tval)
{
    static const char a[] = "\nkheap: trap, mcause ", b[] = " mepc ", c[] = " mtval ";
    kh_bare_write(a, sizeof(a) - 1);
    put_hex(cause);
    kh_bare_write(b, sizeof(b) - 1);
    put_hex(epc);
    kh_bare_write(c, sizeof(c) - 1);
    put_hex(tval);
    kh_bare_write("\n", 1);
    kh_bare_exit(3);
}
