/* The test runner's entry point on big-endian MIPS32 Linux (qemu-mips):
 * every KH_TEST, output through write(2), status through exit_group(2). */
#include "kh_bare.h"
#include "kh_test.h"
#include "kheap/atomic.h"

/* Iteration divisor (kh_test_iters): qemu-user is slower than the host. */
#ifndef KH_BARE_TEST_SCALE
#define KH_BARE_TEST_SCALE 50
#endif

/* Catch a build for the wrong byte order: the point of this port. */
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_BIG_ENDIAN__
#error "port/mips-linux-user is for big-endian MIPS (clang --target=mips-linux-gnu)"
#endif

void kh_test_port_write(const char *s, size_t n)
{
    kh_bare_write(s, n);
}

int main(void)
{
    size_t bytes;
    kh_test_arena(&bytes);
    kh_test_print("kheap tests on MIPS32 big-endian (qemu-user), arena ");
    kh_test_print_u(bytes);
    kh_test_print(" bytes, scale ");
    kh_test_print_u(KH_BARE_TEST_SCALE);
    kh_test_print(", sub-word atomics ");
    kh_test_print(KH_ATOMIC_EMULATE_SUBWORD ? "emulated" : "native");
    kh_test_print(", 64-bit atomics ");
    kh_test_print(KH_ATOMIC64_MODE == KH_ATOMIC64_LOCK     ? "lock fallback"
                  : KH_ATOMIC64_MODE == KH_ATOMIC64_NATIVE ? "native"
                                                           : "other");
    kh_test_print("\n");
    return kh_test_run(0, 0, 0, KH_BARE_TEST_SCALE) ? 1 : 0;
}
