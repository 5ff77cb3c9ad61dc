#!/bin/sh
# SPDX-License-Identifier: MIT
# The link-time configuration check (kheap/abi.h): a program compiled with an
# option that changes a public type or inline code links only against a
# library built with the same value, and the link error names the option.
#   tests/adopt/abi_check.sh LIB [CM3_LIB]
# LIB: the default hosted libkheap.a; CM3_LIB: a Cortex-M3 one (optional).
# Builds a second hosted library with every checked option changed.
lib=$1; cm3lib=$2
out=build/adopt/abi
rm -rf "$out"; mkdir -p "$out"
pass=0; fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; [ -f "$out/last.log" ] && cat "$out/last.log"; }
W="-Wall -Wextra -Wpedantic -Werror -Iinclude"
# links NAME LIB CC FLAGS...: must link and run.
links() {
  name=$1; l=$2; cc=$3; shift 3
  if $cc $W "$@" "$src" "$l" -lpthread -o "$out/prog" > "$out/last.log" 2>&1 &&
    "$out/prog" >> "$out/last.log" 2>&1; then ok "$name"; else bad "$name"; fi
}
# refused NAME SYMBOL LIB CC FLAGS...: must fail to link, naming SYMBOL.
refused() {
  name=$1; sym=$2; l=$3; cc=$4; shift 4
  if $cc $W "$@" "$src" "$l" -lpthread -o "$out/prog" > "$out/last.log" 2>&1; then
    echo "linked although the options differ"; bad "$name"
  elif grep -q "undefined.*$sym" "$out/last.log"; then ok "$name"
  else echo "(the link failed without naming $sym)"; bad "$name"; fi
}

src=tests/adopt/abi_user.c
for cc in gcc clang "clang -fuse-ld=lld"; do
  for gc in "" "-Wl,--gc-sections -ffunction-sections -fdata-sections"; do
    tag="$cc${gc:+ --gc-sections}"
    links "$tag: same options link" "$lib" $cc -std=c11 -O2 $gc
    refused "$tag: KH_CONFIG_CHECKS=0 refused" kh_abi_KH_CONFIG_CHECKS_0 "$lib" $cc -std=c11 -O2 $gc \
      -DKH_CONFIG_CHECKS=0
    refused "$tag: KH_CONFIG_SPINLOCK_DEBUG=1 refused" kh_abi_KH_CONFIG_SPINLOCK_DEBUG_1 "$lib" $cc -std=c11 \
      -O2 $gc -DKH_CONFIG_SPINLOCK_DEBUG=1
    refused "$tag: KH_ATOMIC64_MODE=2 refused" kh_abi_KH_ATOMIC64_MODE_2 "$lib" $cc -std=c11 -O2 $gc \
      -DKH_ATOMIC64_MODE=2
  done
done
links "gcc -flto: same options link" "$lib" gcc -std=c11 -O2 -flto
refused "gcc -flto: KH_CONFIG_CHECKS=0 refused" kh_abi_KH_CONFIG_CHECKS_0 "$lib" gcc -std=c11 -O2 -flto -DKH_CONFIG_CHECKS=0
# Position-dependent executables, and shared objects built from a -fPIC
# library: a mismatch in a shared object fails when a program links it.
links "gcc -no-pie: same options link" "$lib" gcc -std=c11 -O2 -fno-pie -no-pie
refused "gcc -no-pie: KH_CONFIG_CHECKS=0 refused" kh_abi_KH_CONFIG_CHECKS_0 "$lib" gcc -std=c11 -O2 -fno-pie -no-pie \
  -DKH_CONFIG_CHECKS=0
if make --no-print-directory -s lib BUILD="$out/pic" CFLAGS="-O2 -fPIC" > "$out/last.log" 2>&1; then
  echo 'void kh_abi_check_exe(void) {}' > "$out/exe.c"
  so() { # flags...: build libuser.so from abi_user.c, then a program on it
    gcc -std=c11 -O2 -fPIC -shared -Iinclude "$@" tests/adopt/abi_user.c "$out/pic/lib/libkheap.a" -lpthread \
      -o "$out/libuser.so" && gcc "$out/exe.c" "$out/libuser.so" -o "$out/exe"
  }
  if so > "$out/last.log" 2>&1 && LD_LIBRARY_PATH="$out" "$out/exe" >> "$out/last.log" 2>&1; then
    ok "shared object: same options link and run"
  else bad "shared object: same options link and run"; fi
  if so -DKH_CONFIG_CHECKS=0 > "$out/last.log" 2>&1; then bad "shared object: KH_CONFIG_CHECKS=0 refused"
  elif grep -q "undefined.*kh_abi_KH_CONFIG_CHECKS_0" "$out/last.log"; then ok "shared object: KH_CONFIG_CHECKS=0 refused"
  else bad "shared object: KH_CONFIG_CHECKS=0 refused (another error)"; fi
else bad "make lib CFLAGS=\"-O2 -fPIC\""; fi

# C++ programs get the same check.
cp tests/adopt/abi_user.c "$out/abi_user.cpp"; src=$out/abi_user.cpp
links "g++: same options link" "$lib" g++ -std=c++11 -O2
refused "g++: KH_CONFIG_CHECKS=0 refused" kh_abi_KH_CONFIG_CHECKS_0 "$lib" g++ -std=c++11 -O2 -DKH_CONFIG_CHECKS=0
src=tests/adopt/abi_user.c
links "KH_CONFIG_ABI_CHECK=0 opts out" "$lib" gcc -std=c11 -O2 -DKH_CONFIG_CHECKS=0 -DKH_CONFIG_ABI_CHECK=0

# A library built with every checked option changed: the same program
# compiled with those options links, the default one does not.
alt="-DKH_CONFIG_CHECKS=0 -DKH_CONFIG_SPINLOCK_DEBUG=1 -DKH_ATOMIC64_MODE=2"
if make --no-print-directory -s lib BUILD="$out/alt" CFLAGS="-O2 $alt" > "$out/last.log" 2>&1; then
  links "library with other options: same options link" "$out/alt/lib/libkheap.a" gcc -std=c11 -O2 $alt
  refused "library with other options: defaults refused" kh_abi_KH_CONFIG_CHECKS_1 "$out/alt/lib/libkheap.a" gcc -std=c11 -O2
else bad "make lib CFLAGS=\"$alt\""; fi

# Cortex-M3: firmware links with --gc-sections; the check must survive it.
if [ -n "$cm3lib" ] && command -v arm-none-eabi-gcc > /dev/null; then
  M3="arm-none-eabi-gcc -mcpu=cortex-m3 -mthumb --specs=nosys.specs -Os -ffunction-sections -fdata-sections -Wl,--gc-sections"
  m3() { $M3 $W -std=c11 "$@" tests/adopt/abi_user.c port/cortex-m3/port.c "$cm3lib" -o "$out/prog.elf"; }
  if m3 > "$out/last.log" 2>&1; then ok "cortex-m3 --gc-sections: same options link"
  else bad "cortex-m3 --gc-sections: same options link"; fi
  if m3 -DKH_CONFIG_CHECKS=0 > "$out/last.log" 2>&1; then bad "cortex-m3 --gc-sections: KH_CONFIG_CHECKS=0 refused"
  elif grep -q "undefined.*kh_abi_KH_CONFIG_CHECKS_0" "$out/last.log"; then ok "cortex-m3 --gc-sections: KH_CONFIG_CHECKS=0 refused"
  else bad "cortex-m3 --gc-sections: KH_CONFIG_CHECKS=0 refused"; fi
else
  echo "note: no Cortex-M3 library or arm-none-eabi-gcc: the firmware link not checked"
fi
echo "abi: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
