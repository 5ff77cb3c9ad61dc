/* SPDX-License-Identifier: MIT */
/* Reset for a newlib firmware on Cortex-M3: .data and .bss, newlib's
 * semihosting file handles (librdimon), constructors, main, exit (which
 * flushes and closes stdio). The vector table is port/cortex-m3/start.S. */
#include <stdint.h>
#include <stdlib.h>

extern uint32_t _sidata[], _sdata[], _edata[], _sbss[], _ebss[];
int main(void);
void initialise_monitor_handles(void);
void __libc_init_array(void);
int kh_cm3_semihost(int op, void *arg);
void kh_cm3_reset(void);
void kh_cm3_fault_report(const uint32_t *frame);

/* __libc_init_array and __libc_fini_array call these (crti.o's, which this
 * firmware does not link: it has no .init/.fini code). */
void _init(void);
void _fini(void);
void _init(void) {}
void _fini(void) {}

void kh_cm3_reset(void)
{
    const uint32_t *src = _sidata;
    for (uint32_t *dst = _sdata; dst < _edata;) *dst++ = *src++;
    for (uint32_t *dst = _sbss; dst < _ebss;) *dst++ = 0;
    initialise_monitor_handles();
    __libc_init_array();
    exit(main());
}

/* A fault ends the run as a failure (semihosting SYS_WRITE0, SYS_EXIT). */
void kh_cm3_fault_report(const uint32_t *frame)
{
    (void)frame;
    kh_cm3_semihost(0x04, "\nfirmware: CPU fault\n");
    kh_cm3_semihost(0x18, (void *)(uintptr_t)0x20023);
    for (;;) {
    }
}
