#!/bin/sh
# SPDX-License-Identifier: MIT
# KH_CONFIG_KMALLOC_NAMES (kheap/kmalloc.h, "Names"): a program that defines
# its own kmalloc, kfree, ksize... (as a kernel does) links with a kheap built
# with -DKH_CONFIG_KMALLOC_NAMES=0 and gets both: its own functions under the
# plain names and kheap's under the kh_ names. The same program fails to link
# with the default build (the names clash), and the default build does export
# every plain name: the option is what makes the difference.
# Prints one "ok"/"FAIL" line per check and "N passed, N failed".
CC=${CC:-cc}
W="-std=c11 -Wall -Wextra -Wpedantic -Werror"
out=build/kmalloc_names
rm -rf "$out"; mkdir -p "$out"
pass=0; fail=0
check() { # name, command...
  name=$1; shift
  if "$@" > "$out/last.log" 2>&1; then pass=$((pass + 1)); echo "ok   $name"
  else fail=$((fail + 1)); echo "FAIL $name"; cat "$out/last.log"; fi
}
names="kmalloc kzalloc kmalloc_array kcalloc kmalloc_aligned krealloc krealloc_array kfree
kfree_sensitive kmemdup kstrdup kstrndup ksize"
srcs=$(find src/core src/sync src/alloc src/kmalloc -name '*.c' | sort)

cat > "$out/kernel.c" <<'PROG'
/* A "kernel" with its own kmalloc family, using kheap through kh_ names. */
#include <stdio.h>
#include <string.h>

#include "kheap/heap.h"
#include "kheap/kmalloc.h"

static int own_calls;
static unsigned char own_pool[256];
void *kmalloc(size_t size, unsigned flags) { (void)flags; own_calls++; return size <= sizeof own_pool ? own_pool : NULL; }
void *kzalloc(size_t size, unsigned flags) { return kmalloc(size, flags); }
void *kmalloc_array(size_t n, size_t size, unsigned flags) { return kmalloc(n * size, flags); }
void *kcalloc(size_t n, size_t size, unsigned flags) { return kmalloc(n * size, flags); }
void *kmalloc_aligned(size_t size, size_t align, unsigned flags) { (void)align; return kmalloc(size, flags); }
void *krealloc(void *p, size_t size, unsigned flags) { (void)p; return kmalloc(size, flags); }
void *krealloc_array(void *p, size_t n, size_t size, unsigned flags) { (void)p; return kmalloc(n * size, flags); }
void kfree(void *p) { (void)p; own_calls++; }
void kfree_sensitive(void *p) { kfree(p); }
void *kmemdup(const void *s, size_t n, unsigned flags) { (void)s; return kmalloc(n, flags); }
char *kstrdup(const char *s, unsigned flags) { return kmalloc(strlen(s) + 1, flags); }
char *kstrndup(const char *s, size_t max, unsigned flags) { (void)s; return kmalloc(max, flags); }
size_t ksize(const void *p) { (void)p; return 42; }

static _Alignas(64) unsigned char arena[1 << 16];

int main(void)
{
    kheap *h = kheap_init(arena, sizeof arena);
    if (!h || kh_kmalloc_init(kheap_allocator(h)) != 0) return 1;
    char *mine = kmalloc(10, 0);                 /* the kernel's own */
    char *theirs = kh_kstrdup("kheap", 0);       /* kheap's */
    if (mine != (char *)own_pool || own_calls != 1) return 2;
    if (!theirs || strcmp(theirs, "kheap") != 0 || kh_ksize(theirs) != 6) return 3;
    if (ksize(theirs) != 42) return 4;           /* the plain name is the kernel's */
    kfree(mine);
    kh_kfree(theirs);
    struct kheap_stats st;
    kheap_stats(h, &st);
    if (st.allocations != 0 || own_calls != 2) return 5;
    puts("own kmalloc and kheap's kh_kmalloc side by side");
    return 0;
}
PROG

build_lib() { # dir, flags...
  dir=$out/$1; shift
  mkdir -p "$dir"
  for f in $srcs port/hosted/port_hosted.c; do
    $CC $W -O2 -D_GNU_SOURCE "$@" -Iinclude -Isrc -c "$f" -o "$dir/$(echo "$f" | tr / _).o" || return 1
  done
  rm -f "$dir/libkheap.a" && ar rcs "$dir/libkheap.a" "$dir"/*.o
}

exports() { # lib, want (1: every plain name defined, 0: none)
  nm --defined-only "$1" | awk 'NF==3 {print $3}' | sort -u > "$out/defined"
  for n in $names; do
    if grep -qx "$n" "$out/defined"; then [ "$2" = 1 ] || { echo "$n defined"; return 1; }
    else [ "$2" = 0 ] || { echo "$n missing"; return 1; }; fi
    grep -qx "kh_$n" "$out/defined" || { echo "kh_$n missing"; return 1; }
  done
}

link_run() { # lib, flags...
  lib=$1; shift
  $CC $W -O2 "$@" -Iinclude -o "$out/kernel" "$out/kernel.c" "$lib" -lpthread && "$out/kernel"
}

link_fails() { # lib: the link must fail with a clash on a plain name
  if $CC $W -O2 -Iinclude -o "$out/kernel_clash" "$out/kernel.c" "$1" -lpthread > "$out/clash.log" 2>&1; then
    echo "linked although the names clash"; return 1
  fi
  grep -q "multiple definition of .k" "$out/clash.log" || { cat "$out/clash.log"; return 1; }
}

check "library with KH_CONFIG_KMALLOC_NAMES=0" build_lib off -DKH_CONFIG_KMALLOC_NAMES=0
check "names off: no plain name exported, every kh_ name is" exports "$out/off/libkheap.a" 0
check "names off: a program with its own kmalloc family links and runs" \
  link_run "$out/off/libkheap.a" -DKH_CONFIG_KMALLOC_NAMES=0
check "default library" build_lib on
check "names on (default): every plain name and kh_ name exported" exports "$out/on/libkheap.a" 1
check "names on: the same program fails to link (multiple definition)" link_fails "$out/on/libkheap.a"
check "KH_CONFIG_KMALLOC_NAMES=2 is refused at compile time" \
  sh -c "! $CC $W -DKH_CONFIG_KMALLOC_NAMES=2 -Iinclude -Isrc -c src/kmalloc/kmalloc.c -o $out/bad.o"
echo "names: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
