/* SPDX-License-Identifier: MIT */
/* Hosted entry point of the test runner:
 *   kh_tests [--seed N] [--scale N] [--list] [filter...]
 * Filters select tests whose names contain any of them; "-word" leaves out
 * the tests whose names contain word. KH_TEST_SCALE in the
 * environment sets the default scale (valgrind runs use it). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kh_test.h"

void kh_test_port_write(const char *s, size_t n)
{
    fwrite(s, 1, n, stdout);
    if (n && s[n - 1] == '\n') fflush(stdout);
}

int main(int argc, char **argv)
{
    unsigned long long seed = 0;
    unsigned scale = 1;
    const char *env = getenv("KH_TEST_SCALE");
    if (env) scale = (unsigned)strtoul(env, NULL, 10);
    const char **filters = calloc((size_t)argc + 1, sizeof(*filters));
    int nf = 0;
    if (!filters) return 2;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--seed") && i + 1 < argc) {
            seed = strtoull(argv[++i], NULL, 0);
        } else if (!strcmp(argv[i], "--scale") && i + 1 < argc) {
            scale = (unsigned)strtoul(argv[++i], NULL, 10);
        } else if (!strcmp(argv[i], "--list")) {
            for (size_t t = 0; t < kh_tests_count; t++) printf("%s\n", kh_tests[t].name);
            free(filters);
            return 0;
        } else {
            filters[nf++] = argv[i];
        }
    }
    int failed = kh_test_run(nf, filters, seed, scale);
    free(filters);
    return failed ? 1 : 0;
}
