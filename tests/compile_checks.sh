#!/bin/sh
# SPDX-License-Identifier: MIT
# Compile every library source (src/<layer>/*.c) the ways kheap promises:
#   - `cc -std=c11 -c src/X.c -Iinclude`, no configuration;
#   - gcc and clang, -Wall -Wextra -Wpedantic -Werror, 64-bit and 32-bit (-m32);
#   - freestanding for Cortex-M3 (arm-none-eabi) and riscv64/rv32 when installed,
#     with no undefined symbol outside the library but memcpy/memmove/memset/
#     memcmp, compiler helpers (libgcc) and the port hooks (kh_port_*, defined
#     by each port), and never a libatomic call.
# Prints one "ok"/"FAIL" line per check and "N passed, N failed".
W="-std=c11 -Wall -Wextra -Wpedantic -Werror"
out=build/compile_checks
rm -rf "$out"; mkdir -p "$out"
pass=0; fail=0
check() { # name, command...
  name=$1; shift
  if "$@" > "$out/last.log" 2>&1; then pass=$((pass + 1)); echo "ok   $name"
  else fail=$((fail + 1)); echo "FAIL $name"; cat "$out/last.log"; fi
}
srcs=$(find src/core src/sync src/alloc src/kmalloc src/coll -name '*.c' -not -path '*/hosted/*' | sort)

build_set() { # dir, compiler, flags...
  dir=$out/$1; cc=$2; shift 2
  mkdir -p "$dir"
  for f in $srcs; do
    $cc $W "$@" -Iinclude -Isrc -c "$f" -o "$dir/$(basename "$f" .c).o" || return 1
  done
}

# Undefined symbols of a set must be defined by the set itself or allowed.
symbols_ok() { # dir, nm
  dir=$1; nmtool=$2
  $nmtool --defined-only "$dir"/*.o | awk 'NF==3 {print $3}' | sort -u > "$dir/defined"
  $nmtool -u "$dir"/*.o | awk 'NF>=2 {print $2}' | sort -u > "$dir/undefined"
  bad=$(comm -23 "$dir/undefined" "$dir/defined" |
    grep -Ev '^(memcpy|memmove|memset|memcmp)$' |
    grep -Ev '^kh_port_' |
    grep -Ev '^__(aeabi_|gnu_thumb1_|udiv|div|umod|mod|clz|ctz|popcount|ashl|ashr|lshr|mul|bswap|ffs|riscv_)' || true)
  if [ -n "$bad" ]; then echo "unexpected undefined symbols: $bad"; return 1; fi
  if grep -E '^__(atomic|sync)_' "$dir/undefined"; then echo "libatomic call"; return 1; fi
  return 0
}

# Cross builds see only the compiler's own headers (-nostdinc): the library
# must not need a libc's, which the Debian RISC-V toolchain does not ship.
nolibc() { echo "-nostdinc -isystem $($1 -print-file-name=include)"; }
for f in $srcs; do
  check "plain cc -std=c11 -c $f" cc -std=c11 -Iinclude -c "$f" -o "$out/plain.o"
done
check "gcc -m64 -O2" build_set gcc64 gcc -O2
check "clang -m64 -O2" build_set clang64 clang -O2
check "gcc -m32 -ffreestanding -O2" build_set gcc32 gcc -m32 -ffreestanding -O2 $(nolibc gcc)
check "clang -m32 -ffreestanding -O2" build_set clang32 clang -m32 -ffreestanding -O2
check "gcc -O0 -DKH_CONFIG_CHECKS=0 -DKH_HEAP_FULL=0" build_set min gcc -O0 -DKH_CONFIG_CHECKS=0 -DKH_HEAP_FULL=0
check "gcc -O2 -DKH_HEAP_FALLBACK_SCAN=0" build_set noscan gcc -O2 -DKH_HEAP_FALLBACK_SCAN=0

if command -v arm-none-eabi-gcc > /dev/null; then
  check "arm-none-eabi cortex-m3 -Os freestanding" build_set cm3 arm-none-eabi-gcc \
    -mcpu=cortex-m3 -mthumb -Os -ffreestanding -ffunction-sections $(nolibc arm-none-eabi-gcc)
  check "cortex-m3 symbols: no libc, no libatomic" symbols_ok "$out/cm3" arm-none-eabi-nm
  # ARMv6-M has no compare-and-swap: atomics run with interrupts off.
  check "arm-none-eabi cortex-m0 (ARMv6-M) -Os freestanding" build_set cm0 arm-none-eabi-gcc \
    -mcpu=cortex-m0 -mthumb -Os -ffreestanding -ffunction-sections $(nolibc arm-none-eabi-gcc)
  check "cortex-m0 symbols: no libc, no libatomic" symbols_ok "$out/cm0" arm-none-eabi-nm
else
  echo "note: arm-none-eabi-gcc not installed (make deps): Cortex-M3 build not checked"
fi
if command -v riscv64-unknown-elf-gcc > /dev/null; then
  check "riscv64 rv64imac -Os freestanding" build_set rv64 riscv64-unknown-elf-gcc \
    -march=rv64imac -mabi=lp64 -mcmodel=medany -Os -ffreestanding $(nolibc riscv64-unknown-elf-gcc)
  check "riscv64 symbols: no libc, no libatomic" symbols_ok "$out/rv64" riscv64-unknown-elf-nm
  check "riscv32 rv32imac -Os freestanding" build_set rv32 riscv64-unknown-elf-gcc \
    -march=rv32imac -mabi=ilp32 -Os -ffreestanding $(nolibc riscv64-unknown-elf-gcc)
  check "riscv32 symbols: no libc, no libatomic" symbols_ok "$out/rv32" riscv64-unknown-elf-nm
else
  echo "note: riscv64-unknown-elf-gcc not installed (make deps): RISC-V build not checked"
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
