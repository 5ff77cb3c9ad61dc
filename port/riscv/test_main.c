/* The test runner's entry point on RISC-V: every KH_TEST, output through the
 * UART, status through the SiFive test device. */
#include "kh_bare.h"
#include "kh_test.h"

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
    kh_test_print("kheap tests on RISC-V rv");
    kh_test_print_u(sizeof(void *) * 8);
    kh_test_print(", arena ");
    kh_test_print_u(bytes);
    kh_test_print(" bytes, scale ");
    kh_test_print_u(KH_BARE_TEST_SCALE);
    kh_test_print("\n");
    return kh_test_run(0, 0, 0, KH_BARE_TEST_SCALE) ? 1 : 0;
}
