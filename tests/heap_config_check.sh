#!/bin/sh
# SPDX-License-Identifier: MIT
# The core heap's build-time contract (include/kheap/heap.h):
#   - every configuration macro out of range stops the build with an #error
#     naming it, instead of compiling a heap that cannot work;
#   - every KH_HEAP_SL_LOG2 in range gives a working heap (the shadow model
#     of tests/heap_model.c, a short run each);
#   - src/core/heap.c and include/kheap/heap.h copied alone into another
#     folder compile warning-free (gcc, clang, 32-bit, Cortex-M3 when
#     installed) and work.
# Prints one "ok"/"FAIL" line per check and "N passed, N failed".
W="-std=c11 -Wall -Wextra -Wpedantic -Werror"
out=build/heap_config
rm -rf "$out"; mkdir -p "$out"
pass=0; fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; [ -f "$out/last.log" ] && cat "$out/last.log"; }

# Out of range: the build must fail, and the error must name the macro.
for def in KH_HEAP_SL_LOG2=0 KH_HEAP_SL_LOG2=6 KH_CONFIG_HARDEN=3 KH_CONFIG_HARDEN=-1 \
  KH_CONFIG_CHECKS=2 "KH_CONFIG_CHECKS=0 -DKH_CONFIG_HARDEN=1" KH_HEAP_FULL=2 \
  KH_HEAP_FALLBACK_SCAN=-1 KH_HEAP_FALLBACK_SCAN=256 KH_HEAP_MAX_REGIONS=3 \
  KH_HEAP_MAX_REGIONS=65537 KH_CONFIG_ASAN=2 KH_CONFIG_VALGRIND=2 KH_HEAP_TRACE=2; do
  name=${def%%=*}
  if cc $W -Iinclude -D$def -c src/core/heap.c -o "$out/x.o" > "$out/last.log" 2>&1; then
    bad "-D$def is refused at build time"
  elif grep -q "#error.*$name\|error: #error \"$name" "$out/last.log"; then
    ok "-D$def is refused at build time"
  else
    bad "-D$def fails, but not with an #error naming $name"
  fi
done

# Every second-level class count in range works.
cat > "$out/model_main.c" << 'C'
#include <stdio.h>
#include "heap_model.h"
static _Alignas(64) unsigned char mem[4 << 20];
static struct heap_model m;
int main(void)
{
    unsigned long long x = 88172645463325252ull;
    for (int layout = 0; layout < 2; layout++) {
        if (heap_model_init(&m, mem, sizeof(mem) >> (layout * 4), 1 + layout * 2, layout) != 0)
            return 2;
        for (int i = 0; i < 40000 && !m.error; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            heap_model_step(&m, (unsigned)x, (unsigned)(x >> 32), (unsigned)(x * 31));
            if (i % 997 == 0) heap_model_verify(&m);
        }
        heap_model_finish(&m);
        if (m.error) {
            printf("model: %s\n", m.error);
            return 1;
        }
    }
    return 0;
}
C
for sl in 1 2 3 4 5; do
  if cc $W -O1 -Iinclude -Isrc -Itests -DKH_HEAP_SL_LOG2=$sl -o "$out/model$sl" \
       "$out/model_main.c" tests/heap_model.c src/core/heap.c > "$out/last.log" 2>&1 &&
     "$out/model$sl" > "$out/last.log" 2>&1; then
    ok "KH_HEAP_SL_LOG2=$sl: the shadow model passes"
  else
    bad "KH_HEAP_SL_LOG2=$sl: the shadow model passes"
  fi
done

# Two files, nothing else: heap.c and kheap/heap.h in an empty folder.
d=$out/dropin
mkdir -p "$d/kheap"
cp src/core/heap.c "$d/heap.c"
cp include/kheap/heap.h "$d/kheap/heap.h"
cat > "$d/main.c" << 'C'
#include <stdio.h>
#include <string.h>
#include "kheap/heap.h"
static _Alignas(16) unsigned char mem[1 << 16];
int main(void)
{
    kheap *h = kheap_init(mem, sizeof(mem));
    if (!h) return 1;
    char *p = kheap_alloc(h, 100, 0), *q = kheap_realloc(h, NULL, 50, 64);
    if (!p || !q || (unsigned long)q % 64) return 2;
    strcpy(p, "two files");
    p = kheap_realloc(h, p, 5000, 0);
    if (!p || strcmp(p, "two files") != 0) return 3;
    kheap_free(h, p);
    kheap_free(h, q);
    return kheap_check(h) == 0 ? 0 : 4;
}
C
dropin() { # name, compiler and flags...
  name=$1; shift
  if "$@" $W -I"$d" -c "$d/heap.c" -o "$d/heap.o" > "$out/last.log" 2>&1; then ok "$name"
  else bad "$name"; fi
}
dropin "two-file drop-in: gcc" gcc -O2
dropin "two-file drop-in: clang" clang -O2
dropin "two-file drop-in: gcc -m32 -ffreestanding" gcc -m32 -ffreestanding -O2
dropin "two-file drop-in: gcc -Os -DKH_CONFIG_CHECKS=0" gcc -Os -DKH_CONFIG_CHECKS=0
if command -v arm-none-eabi-gcc > /dev/null; then
  dropin "two-file drop-in: arm-none-eabi cortex-m3 -Os" arm-none-eabi-gcc -mcpu=cortex-m3 \
    -mthumb -Os -ffreestanding
else
  echo "note: arm-none-eabi-gcc not installed (make deps): Cortex-M3 drop-in not checked"
fi
if cc $W -O1 -I"$d" -o "$d/smoke" "$d/main.c" "$d/heap.c" > "$out/last.log" 2>&1 &&
   "$d/smoke" > "$out/last.log" 2>&1; then
  ok "two-file drop-in: works"
else
  bad "two-file drop-in: works"
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
