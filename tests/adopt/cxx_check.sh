#!/bin/sh
# SPDX-License-Identifier: MIT
# Every public header works from C++: tests/adopt/cxx_check.cpp includes them
# all, instantiates the typed wrappers and macros and calls the core heap, the
# allocator interface, the collections and the sync primitives.
#   - g++ and clang++, C++11/14/17/20, -Wall -Wextra -Wpedantic -Werror: built,
#     linked against the C library (argument 1: libkheap.a) and run;
#   - the options that change the headers' inline code, compiled (-m32 too);
#   - Cortex-M3 and Cortex-M0 with arm-none-eabi-g++, compiled.
# Prints one "ok"/"FAIL" line per check and "N passed, N failed".
lib=${1:-build/lib/libkheap.a}
out=build/adopt/cxx
rm -rf "$out"; mkdir -p "$out"
W="-Wall -Wextra -Wpedantic -Werror"
pass=0; fail=0
check() { # name, command...
  name=$1; shift
  if "$@" > "$out/last.log" 2>&1; then pass=$((pass + 1)); echo "ok   $name"
  else fail=$((fail + 1)); echo "FAIL $name"; cat "$out/last.log"; fi
}
# Every header; the hosted-only ones (they name an OS interface) for hosted
# builds. A header is hosted-only when it says so on its first lines.
headers() { # hosted: 1 or 0
  for h in include/kheap/*.h; do
    if [ "$1" = 0 ] && head -n 12 "$h" | grep -q 'hosted build only'; then continue; fi
    echo "#include <kheap/$(basename "$h")>"
  done
}
mkdir -p "$out/hosted" "$out/bare"
headers 1 > "$out/hosted/cxx_all_headers.h"
headers 0 > "$out/bare/cxx_all_headers.h"

run() { # compiler, std, opt
  "$1" -std="$2" "$3" $W -Iinclude -I"$out/hosted" tests/adopt/cxx_check.cpp "$lib" -lpthread \
    -o "$out/cxx_$1_$2" && "$out/cxx_$1_$2"
}
for cxx in g++ clang++; do
  if ! command -v $cxx > /dev/null; then echo "note: $cxx not installed: not checked"; continue; fi
  check "$cxx -std=c++11 -O0: build, link, run" run $cxx c++11 -O0
  check "$cxx -std=c++14 -O2: build, link, run" run $cxx c++14 -O2
  check "$cxx -std=c++17 -O2: build, link, run" run $cxx c++17 -O2
  check "$cxx -std=c++20 -Os: build, link, run" run $cxx c++20 -Os
done

compile() { # compiler, include dir, flags...
  c=$1; d=$2; shift 2
  $c $W -Iinclude -I"$d" "$@" -c tests/adopt/cxx_check.cpp -o "$out/obj.o"
}
for opts in "-DKH_CONFIG_CHECKS=0" "-DKH_CONFIG_SPINLOCK_DEBUG=1" \
  "-DKH_ATOMIC_EMULATE_SUBWORD=1 -DKH_ATOMIC64_MODE=2" "-DKH_ATOMIC_UP_IRQ=1" \
  "-DKH_ATOMIC64_MODE=0" "-DKH_HAVE_CLEANUP=0" "-m32"; do
  check "g++ -std=c++11 $opts: compiles" compile g++ "$out/hosted" -std=c++11 -O2 $opts
  check "clang++ -std=c++17 $opts: compiles" compile clang++ "$out/hosted" -std=c++17 -O2 $opts
done
if command -v arm-none-eabi-g++ > /dev/null; then
  for cpu in cortex-m3 cortex-m0; do
    check "arm-none-eabi-g++ -mcpu=$cpu -std=c++17: compiles" compile arm-none-eabi-g++ "$out/bare" \
      -mcpu=$cpu -mthumb -std=c++17 -Os -fno-exceptions -fno-rtti
  done
else
  echo "note: arm-none-eabi-g++ not installed (make deps): Cortex-M C++ build not checked"
fi
echo "cxx: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
