#!/bin/sh
# SPDX-License-Identifier: MIT
# The core heap drops into another project as two files: src/core/heap.c and
# include/kheap/heap.h, copied alone into a scratch project (README, "Use the
# core heap alone"):
#   - they compile warning-free (-Wall -Wextra -Wpedantic -Wundef -Werror)
#     with gcc and clang for the host (64- and 32-bit) and with
#     arm-none-eabi-gcc for Cortex-M3, also with no C library headers at all;
#   - the object needs nothing but memcpy/memmove/memset (and compiler
#     helpers);
#   - a program using them runs on the host, in the minimal unchecked build
#     too, and on a Cortex-M3 in QEMU;
#   - heap.h's fallback for every option heap.c reads equals kheap/config.h's
#     default (so a copied heap behaves as the library's).
out=build/adopt/standalone
rm -rf "$out"; mkdir -p "$out"
pass=0; fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; [ -f "$out/last.log" ] && tail -n 25 "$out/last.log"; }
check() { # name, command...
  name=$1; shift
  if "$@" > "$out/last.log" 2>&1; then ok "$name"; else bad "$name"; fi
}

# The scratch project: the two files, laid out as the README says.
p=$out/project
mkdir -p "$p/kheap/include/kheap"
cp src/core/heap.c "$p/kheap/"
cp include/kheap/heap.h "$p/kheap/include/kheap/"
cp tests/adopt/standalone_main.c "$p/main.c"
W="-std=c11 -Wall -Wextra -Wpedantic -Wundef -Werror"
I="-I$p/kheap/include"

for cc in gcc clang; do
  for opt in -O0 -O2 -Os; do
    check "$cc $opt: heap.c compiles alone" $cc $W $opt $I -c "$p/kheap/heap.c" -o "$out/heap-$cc$opt.o"
  done
  check "$cc -m32: heap.c compiles alone" $cc $W -m32 -O2 $I -c "$p/kheap/heap.c" -o "$out/heap-$cc-m32.o"
  check "$cc -DKH_HEAP_FULL=0 -DKH_CONFIG_CHECKS=0: heap.c compiles alone" \
    $cc $W -Os -DKH_HEAP_FULL=0 -DKH_CONFIG_CHECKS=0 $I -c "$p/kheap/heap.c" -o "$out/heap-$cc-min.o"
done
undef_ok() { # object, nm
  $2 -u "$1" | awk '{print $NF}' | grep -Ev '^(memcpy|memmove|memset|__stack_chk_fail|__aeabi_.*|__.*div.*|__clz.*|__ctz.*)$' > "$out/undef"
  if [ -s "$out/undef" ]; then cat "$out/undef"; return 1; fi
}
check "host object needs only memcpy/memmove/memset" undef_ok "$out/heap-gcc-O2.o" nm

run_host() { # name, extra flags
  gcc $W -O2 $2 $I "$p/main.c" "$p/kheap/heap.c" -o "$out/$1" && "$out/$1"
}
check "host program runs (default build)" run_host prog ""
check "host program runs (-DKH_HEAP_FULL=0 -DKH_CONFIG_CHECKS=0)" run_host prog-min "-DKH_HEAP_FULL=0 -DKH_CONFIG_CHECKS=0"

if command -v arm-none-eabi-gcc > /dev/null; then
  A="arm-none-eabi-gcc -mcpu=cortex-m3 -mthumb"
  check "cortex-m3 -Os: heap.c compiles alone" $A $W -Os $I -c "$p/kheap/heap.c" -o "$out/heap-cm3.o"
  check "cortex-m3 -ffreestanding, no C library headers: heap.c compiles alone" $A $W -Os -ffreestanding \
    -nostdinc -isystem "$(arm-none-eabi-gcc -print-file-name=include)" $I -c "$p/kheap/heap.c" -o "$out/heap-cm3-nolibc.o"
  check "cortex-m3 object needs only memcpy/memmove/memset" undef_ok "$out/heap-cm3-nolibc.o" arm-none-eabi-nm
  if command -v qemu-system-arm > /dev/null; then
    # The board (startup, semihosting, memcpy) comes from kheap's Cortex-M3
    # port; of kheap itself only the two copied files are built.
    run_cm3() {
      $A $W -Os -ffreestanding -DSTANDALONE_BARE $I -Iport/baremetal -Iport/cortex-m3 -nostdlib -nostartfiles \
        -Wl,--gc-sections -Wl,--no-warn-rwx-segments -Lport/cortex-m3 -T port/cortex-m3/mps2-an385.ld \
        -o "$out/cm3.elf" port/cortex-m3/start.S port/cortex-m3/startup.c port/baremetal/mem.c \
        "$p/main.c" "$p/kheap/heap.c" -lgcc &&
        timeout 120 qemu-system-arm -cpu cortex-m3 -machine mps2-an385 -nographic \
          -semihosting-config enable=on,target=native -kernel "$out/cm3.elf" < /dev/null > "$out/cm3.log" 2>&1
      rc=$?; tr -d '\r' < "$out/cm3.log"; [ $rc -eq 0 ] && grep -q 'standalone heap: ok' "$out/cm3.log"
    }
    check "cortex-m3 program runs in QEMU (mps2-an385)" run_cm3
  else
    echo "note: qemu-system-arm not installed (make deps): the Cortex-M3 run not checked"
  fi
else
  echo "note: arm-none-eabi-gcc not installed (make deps): the Cortex-M3 build not checked"
fi

# Options: every KH_* option kheap/config.h defines that heap.c or heap.h
# reads must have a fallback in heap.h, with the same value.
defaults_agree() {
  echo '#include "kheap/heap.h"' > "$out/opts.c"
  gcc -E -dM $I "$out/opts.c" > "$out/alone.macros" &&
    gcc -E -dM -Iinclude "$out/opts.c" > "$out/library.macros" || return 1
  grep -q KHEAP_HEAP_HAVE_CONFIG_H "$out/alone.macros" && { echo "the copied heap.h found a config.h"; return 1; }
  grep -q KHEAP_HEAP_HAVE_CONFIG_H "$out/library.macros" || { echo "heap.h did not include kheap/config.h"; return 1; }
  opts=$(sed -n 's/^#ifndef \(KH_[A-Z0-9_]*\)$/\1/p' include/kheap/config.h)
  [ -n "$opts" ] || { echo "no options found in config.h"; return 1; }
  n=0; bad=0
  for o in $opts; do
    grep -qw "$o" src/core/heap.c include/kheap/heap.h || continue
    n=$((n + 1))
    a=$(awk -v o="$o" '$1 == "#define" && $2 == o {$1 = $2 = ""; sub(/^ +/, ""); print}' "$out/alone.macros")
    l=$(awk -v o="$o" '$1 == "#define" && $2 == o {$1 = $2 = ""; sub(/^ +/, ""); print}' "$out/library.macros")
    if [ -z "$a" ]; then echo "$o: read by the core heap, no fallback in heap.h"; bad=1
    elif [ "$a" != "$l" ]; then echo "$o: heap.h falls back to '$a', config.h says '$l'"; bad=1
    else echo "$o = $a in both"; fi
  done
  [ $n -gt 0 ] && [ $bad -eq 0 ]
}
check "heap.h's fallback defaults equal kheap/config.h's" defaults_agree
cat "$out/last.log" | grep ' in both$'
echo "standalone: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
