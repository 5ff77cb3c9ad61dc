/* SPDX-License-Identifier: MIT */
/* The test runner's entry point on every bare-metal-style port: every
 * KH_TEST, output through the port's kh_bare_write, status as main's return
 * value (the port's startup hands it to kh_bare_exit). */
#include "kh_bare.h"
#include "kh_test.h"
#include "kheap/atomic.h"

#if defined(__arm__) && defined(__ARM_ARCH_6M__)
#define KH_BARE_TARGET "Cortex-M0 (ARMv6-M)"
#elif defined(__arm__)
#define KH_BARE_TARGET "Cortex-M3"
#elif defined(__riscv)
#define KH_BARE_TARGET (__riscv_xlen == 64 ? "RISC-V rv64" : "RISC-V rv32")
#elif defined(__mips__)
#define KH_BARE_TARGET "MIPS32 big-endian (qemu-user)"
#else
#define KH_BARE_TARGET "an unnamed target"
#endif

/* Iteration divisor (kh_test_iters): QEMU is much slower than the host. */
#ifndef KH_BARE_TEST_SCALE
#define KH_BARE_TEST_SCALE 50
#endif

void kh_test_port_write(const char *s, size_t n)
{
    kh_bare_write(s, n);
}

int main(void)
{
    size_t bytes;
    kh_test_arena(&bytes);
    kh_test_print("kheap tests on ");
    kh_test_print(KH_BARE_TARGET);
    kh_test_print(", arena ");
    kh_test_print_u(bytes);
    kh_test_print(" bytes, scale ");
    kh_test_print_u(KH_BARE_TEST_SCALE);
    /* Which atomic paths this build tests. */
    kh_test_print(", sub-word atomics ");
    kh_test_print(KH_ATOMIC_UP_IRQ            ? "interrupts-off"
                  : KH_ATOMIC_EMULATE_SUBWORD ? "emulated"
                                              : "native");
    kh_test_print(", 64-bit atomics ");
    kh_test_print(KH_ATOMIC64_MODE == KH_ATOMIC64_NATIVE ? "native"
                  : KH_ATOMIC64_MODE == KH_ATOMIC64_LOCK ? "lock fallback"
                                                         : "interrupts-off");
    kh_test_print("\n");
    return kh_test_run(0, 0, 0, KH_BARE_TEST_SCALE) ? 1 : 0;
}
