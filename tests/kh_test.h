/* SPDX-License-Identifier: MIT */
/* kheap's own small test runner: the same source runs hosted and on bare
 * metal. A test is a function declared with KH_TEST(name) in tests/test_*.c;
 * tests/gen_test_list.sh collects them into a table at build time, so there
 * is no registration call and no constructor. The runner prints one line per
 * failing check and ends with the line "N passed, N failed".
 *
 * Tags. A test declared KH_TEST_TAGGED(name, "tag tag") carries those tags,
 * every test in a file carries the file's KH_TEST_FILE_TAGS("tag ...") and
 * its module name (test_slab.c: "slab"). Make steps select and leave out
 * tests by tag (see the runner's @tag filters), never by lists of names:
 *   hosted     needs an OS (threads, mmap, files): bare-metal builds leave it
 *              out. Put the body inside #if KH_TEST_HOSTED ... #endif.
 *   threads    runs threads, or tests the primitives threads share (atomics,
 *              locks, refcounts, cross-CPU protocols): test-tsan runs these.
 *   parallel   needs two threads really running at once: not under valgrind,
 *              which runs one thread at a time.
 *   slow       long at full size: the steps that repeat the suite for another
 *              build configuration (unchecked, minimal) leave it out.
 *   checks     asserts what a checked build (KH_CONFIG_CHECKS) reports: the
 *              unchecked builds leave it out.
 *   full-heap  needs what the minimal core heap (KH_HEAP_FULL=0) does not
 *              have (alignments above the default, growth through a source,
 *              size-aligned slab pages): test-minimal leaves it out.
 */
#ifndef KH_TEST_H
#define KH_TEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifndef KH_TEST_HOSTED
#define KH_TEST_HOSTED 0
#endif

#define KH_TEST(name)              void kh_test_##name(void)
#define KH_TEST_TAGGED(name, tags) void kh_test_##name(void)
/* Tags for every test of the file (read by tests/gen_test_list.sh). */
#define KH_TEST_FILE_TAGS(tags) extern const char kh_test_file_tags_unused_[]

struct kh_test_case {
    const char *name;
    void (*fn)(void);
    const char *tags; /* space-separated: module, file and test tags */
};
extern const struct kh_test_case kh_tests[];
extern const size_t kh_tests_count;

/* Record a failure of the running test (file:line: message). */
void kh_test_fail(const char *file, int line, const char *expr);
void kh_test_fail_eq(const char *file, int line, const char *expr, unsigned long long a,
                     unsigned long long b);
/* True once the running test has failed. */
bool kh_test_failed(void);

/* Check and carry on. */
#define KH_CHECK(cond)                                                                             \
    do {                                                                                           \
        if (!(cond)) kh_test_fail(__FILE__, __LINE__, #cond);                                      \
    } while (0)
/* Check and return from the current function on failure. */
#define KH_ASSERT(cond)                                                                            \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            kh_test_fail(__FILE__, __LINE__, #cond);                                               \
            return;                                                                                \
        }                                                                                          \
    } while (0)
/* Integer equality, printing both values on failure. */
#define KH_CHECK_EQ(a, b)                                                                          \
    do {                                                                                           \
        unsigned long long kh_a_ = (unsigned long long)(a), kh_b_ = (unsigned long long)(b);       \
        if (kh_a_ != kh_b_) kh_test_fail_eq(__FILE__, __LINE__, #a " == " #b, kh_a_, kh_b_);       \
    } while (0)
#define KH_ASSERT_EQ(a, b)                                                                         \
    do {                                                                                           \
        unsigned long long kh_a_ = (unsigned long long)(a), kh_b_ = (unsigned long long)(b);       \
        if (kh_a_ != kh_b_) {                                                                      \
            kh_test_fail_eq(__FILE__, __LINE__, #a " == " #b, kh_a_, kh_b_);                       \
            return;                                                                                \
        }                                                                                          \
    } while (0)

/* Output (through the port: stdout hosted, semihosting/UART on target). */
void kh_test_print(const char *s);
void kh_test_print_u(unsigned long long v);
void kh_test_print_x(unsigned long long v);

/* Deterministic PRNG (splitmix64), reseeded before each test with a seed
 * derived from the test name unless a --seed is given. */
void kh_test_srand(uint64_t seed);
uint64_t kh_test_rand(void);
/* Uniform in [lo, hi] (inclusive). */
uint64_t kh_test_rand_range(uint64_t lo, uint64_t hi);

/* Scale an iteration count down for slow environments (valgrind, QEMU):
 * returns max(1, n / divisor), divisor from --scale N (default 1). */
size_t kh_test_iters(size_t n);

/* A large, 64-byte-aligned scratch area for heaps under test:
 * KH_TEST_ARENA_BYTES (64 MiB hosted; the port sets it on target). Tests
 * must size their work by *bytes, not assume the hosted size. Shared by all
 * tests; each test owns it while it runs. */
void *kh_test_arena(size_t *bytes);

/* Error hook capture: tests can count what the library reported. */
struct kh_test_reports {
    unsigned count;
    int last_code;
    const void *last_ptr;
};
/* Installs a hook that records reports into *r (zeroed first); returns when
 * done with kh_test_reports_stop(). */
void kh_test_reports_start(struct kh_test_reports *r);
void kh_test_reports_stop(void);

/* Run the tests selected by the filters: a plain filter selects the tests
 * whose names contain it, "@tag" those carrying the tag; with no selecting
 * filter every test is selected. "-word" and "-@tag" leave tests out.
 * Returns the number of failed tests. */
int kh_test_run(int nfilters, const char *const *filters, uint64_t seed, unsigned scale);

/* Port hooks (tests/kh_test_main_hosted.c, port/baremetal/test_main.c). */
void kh_test_port_write(const char *s, size_t n);

#endif /* KH_TEST_H */
