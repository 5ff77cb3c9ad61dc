// SPDX-License-Identifier: MIT
// C++ allocation reaches kheap's malloc drop-in: operator new and delete (plain,
// array, aligned, nothrow), std::vector and std::string, checked through the
// drop-in's statistics line. Run under LD_PRELOAD=libkheap-malloc.so; ends with
// "cxx: N passed, N failed".
#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <vector>

static int passed, failed;
static size_t (*stats_line)(char *, size_t);

static void check(bool ok, const char *what)
{
    if (ok) {
        passed++;
    } else {
        failed++;
        std::printf("FAIL %s\n", what);
    }
}

static size_t field(const char *key)
{
    char line[512], pat[64];
    stats_line(line, sizeof(line));
    std::snprintf(pat, sizeof(pat), " %s=", key);
    const char *f = std::strstr(line, pat);
    return f ? std::strtoull(f + std::strlen(pat), nullptr, 10) : 0;
}

struct alignas(256) Wide {
    unsigned char bytes[256];
};

int main()
{
    *reinterpret_cast<void **>(&stats_line) = dlsym(RTLD_DEFAULT, "kh_malloc_stats_line");
    if (!stats_line) {
        std::printf("malloc_cxx: kheap's malloc drop-in is not loaded\ncxx: 0 passed, 1 failed\n");
        return 1;
    }
    size_t calls = field("calls"), live = field("live_blocks");
    int *one = new int(42);
    int *many = new int[1000]();
    Wide *w = new Wide;
    Wide *ws = new Wide[3];
    int *nt = new (std::nothrow) int[10];
    check(field("live_blocks") == live + 5, "new: five blocks from kheap");
    check(*one == 42 && many[999] == 0 && nt != nullptr, "new: values");
    check(reinterpret_cast<uintptr_t>(w) % 256 == 0 && reinterpret_cast<uintptr_t>(ws) % 256 == 0,
          "new of an over-aligned type: aligned");
    delete one;
    delete[] many;
    delete w;
    delete[] ws;
    delete[] nt;
    check(field("live_blocks") == live, "delete: every block back");
    {
        std::vector<std::string> v;
        for (int i = 0; i < 10000; i++) v.push_back(std::string(40 + i % 50, char('a' + i % 26)));
        check(v[9999].size() == 40 + 9999 % 50 && v[5000][0] == char('a' + 5000 % 26),
              "vector of strings");
        check(field("live_blocks") > live + 10000, "vector and strings: blocks from kheap");
    }
    check(field("live_blocks") == live, "vector and strings: every block back");
    check(field("calls") > calls + 20000, "C++ allocation went through malloc");
    bool threw = false;
    try {
        volatile size_t huge = size_t(1) << 62;
        char *p = new char[huge];
        p[0] = 1;
        delete[] p;
    } catch (const std::bad_alloc &) {
        threw = true;
    }
    check(threw, "new of an impossible size throws std::bad_alloc");
    std::printf("cxx: %d passed, %d failed\n", passed, failed);
    return failed != 0;
}
