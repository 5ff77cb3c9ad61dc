#!/bin/sh
# SPDX-License-Identifier: MIT
# make lib and make install as a user runs them:
#   - a cross build for Cortex-M3 (make lib CC=arm-none-eabi-gcc CFLAGS=...):
#     the compiler's own archiver, CFLAGS honoured (the objects are ARMv7-M;
#     a Cortex-M0 build is ARMv6-M), no hosted part in the archive or among
#     the installed headers, no -lpthread in its kheap.pc;
#   - a hosted install into a staging DESTDIR, and a program built against it
#     with pkg-config and run;
#   - options and a configuration header written into the installed config.h,
#     so a program built with nothing but pkg-config's flags sees them (and
#     passes the link-time configuration check);
#   - make uninstall removes what make install put there.
# Each build in its own BUILD directory under build/adopt/.
out=build/adopt/install
rm -rf "$out"; mkdir -p "$out"
pass=0; fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; [ -f "$out/last.log" ] && tail -n 30 "$out/last.log"; }
mk() { make --no-print-directory -j2 "$@" > "$out/last.log" 2>&1; }
version=$(sed -n 's/^#define KHEAP_VERSION_STRING "\(.*\)"/\1/p' include/kheap/version.h)

cat > "$out/app.c" <<'C'
#include <kheap/heap.h>
#include <kheap/version.h>
#include <stdio.h>
#include <string.h>
static unsigned char ram[16 * 1024];
int main(void)
{
    kheap *h = kheap_init(ram, sizeof ram);
    void *p = kheap_alloc(h, 100, 64);
    kheap_free(h, p);
    printf("KH_CONFIG_CHECKS=%d KH_HEAP_FALLBACK_SCAN=%d\n", KH_CONFIG_CHECKS, KH_HEAP_FALLBACK_SCAN);
    return h && p && kheap_check(h) == 0 && strcmp(kh_version(), KHEAP_VERSION_STRING) == 0 ? 0 : 1;
}
C

if command -v arm-none-eabi-gcc > /dev/null; then
  b=build/adopt/lib-cm3
  if mk lib CC=arm-none-eabi-gcc CFLAGS="-mcpu=cortex-m3 -mthumb -Os" BUILD=$b; then
    ok "make lib CC=arm-none-eabi-gcc CFLAGS=\"-mcpu=cortex-m3 -mthumb -Os\""
    a=$b/lib/libkheap.a
    if arm-none-eabi-ar t "$a" > "$out/members" && ! grep -E 'lock_pthread|source_mmap|port_hosted' "$out/members" &&
      grep -qx heap.o "$out/members"; then ok "cortex-m3 archive: freestanding members only"
    else bad "cortex-m3 archive: freestanding members only"; fi
    # The archive index: written by an archiver that reads ARM objects.
    if arm-none-eabi-nm -s "$a" 2> /dev/null | grep -q '^kheap_alloc in heap.o'; then ok "cortex-m3 archive: symbol index"
    else bad "cortex-m3 archive: symbol index"; fi
    if arm-none-eabi-readelf -A "$b/lib/obj/src/core/heap.o" | grep -q 'Tag_CPU_arch: v7$' &&
      arm-none-eabi-readelf -A "$b/lib/obj/src/core/heap.o" | grep -q 'Tag_CPU_arch_profile: Microcontroller'; then
      ok "cortex-m3 objects: ARMv7-M (CFLAGS honoured)"
    else arm-none-eabi-readelf -A "$b/lib/obj/src/core/heap.o" > "$out/last.log"; bad "cortex-m3 objects: ARMv7-M (CFLAGS honoured)"; fi
    if mk install BUILD=$b CC=arm-none-eabi-gcc CFLAGS="-mcpu=cortex-m3 -mthumb -Os" PREFIX=/opt/kheap-cm3 DESTDIR="$PWD/$out/cm3"; then
      d=$out/cm3/opt/kheap-cm3
      if [ -f "$d/lib/libkheap.a" ] && [ -f "$d/include/kheap/heap.h" ] && [ ! -e "$d/include/kheap/lock_pthread.h" ] &&
        ! grep -q pthread "$d/lib/pkgconfig/kheap.pc"; then ok "cortex-m3 install: no hosted header, no -lpthread"
      else bad "cortex-m3 install: no hosted header, no -lpthread"; fi
    else bad "make install (cortex-m3)"; fi
  else bad "make lib CC=arm-none-eabi-gcc"; fi
  b0=build/adopt/lib-cm0
  if mk lib CC=arm-none-eabi-gcc CFLAGS="-mcpu=cortex-m0 -mthumb -Os" BUILD=$b0 &&
    arm-none-eabi-readelf -A "$b0/lib/obj/src/core/heap.o" | grep -q 'Tag_CPU_arch: v6S-M'; then
    ok "cortex-m0 objects: ARMv6-M (CFLAGS honoured)"
  else bad "make lib for cortex-m0: ARMv6-M objects"; fi
  # Other flags in the same build directory: every object is rebuilt.
  if mk lib CC=arm-none-eabi-gcc CFLAGS="-mcpu=cortex-m3 -mthumb -Os" BUILD=$b0 &&
    ! arm-none-eabi-readelf -A $b0/lib/obj/src/*/*.o | grep -q 'v6S-M'; then
    ok "changed CFLAGS rebuild every object"
  else bad "changed CFLAGS rebuild every object"; fi
else
  echo "note: arm-none-eabi-gcc not installed (make deps): the cross build not checked"
fi

# Hosted: stage into DESTDIR, build with pkg-config pointed at the stage.
b=build/adopt/lib-host
stage=$PWD/$out/stage
if mk lib install BUILD=$b PREFIX=/usr/local DESTDIR="$stage"; then
  d=$stage/usr/local
  if [ -f "$d/lib/libkheap.a" ] && [ -f "$d/include/kheap/lock_pthread.h" ] && [ -f "$d/include/kheap/config.h" ] &&
    [ ! -e "$d/include/kheap/kh_bits.h" ]; then ok "make install DESTDIR=: headers, library, kheap.pc"
  else bad "make install DESTDIR=: headers, library, kheap.pc"; fi
  # kheap.pc names its directories relative to itself: usable in the stage.
  pc() { PKG_CONFIG_PATH= PKG_CONFIG_LIBDIR="$d/lib/pkgconfig" pkg-config "$@"; }
  if [ "$(pc --modversion kheap)" = "$version" ]; then ok "pkg-config --modversion kheap = $version"
  else bad "pkg-config --modversion kheap = $version (got $(pc --modversion kheap))"; fi
  if cc -std=c11 -Wall -Wextra -Werror "$out/app.c" $(pc --cflags --libs kheap) -o "$out/app" > "$out/last.log" 2>&1 &&
    "$out/app" > "$out/app.out" && grep -q 'KH_CONFIG_CHECKS=1 KH_HEAP_FALLBACK_SCAN=8' "$out/app.out"; then
    ok "program built with pkg-config against the staged install runs"
  else bad "program built with pkg-config against the staged install runs"; fi
  # A LIBDIR outside PREFIX: absolute paths, found through pkg-config's sysroot.
  stage2=$PWD/$out/stage2
  if mk install BUILD=$b PREFIX=/opt/kheap LIBDIR=/opt/kheap-lib DESTDIR="$stage2" &&
    grep -q '^libdir=/opt/kheap-lib$' "$stage2/opt/kheap-lib/pkgconfig/kheap.pc" &&
    cc -std=c11 "$out/app.c" $(PKG_CONFIG_PATH= PKG_CONFIG_LIBDIR="$stage2/opt/kheap-lib/pkgconfig" \
      PKG_CONFIG_SYSROOT_DIR="$stage2" pkg-config --cflags --libs kheap) -o "$out/app3" > "$out/last.log" 2>&1 &&
    "$out/app3" > /dev/null; then ok "make install LIBDIR= outside PREFIX: absolute kheap.pc works"
  else bad "make install LIBDIR= outside PREFIX: absolute kheap.pc works"; fi
  if mk uninstall BUILD=$b PREFIX=/usr/local DESTDIR="$stage" && [ -z "$(find "$stage" -type f)" ]; then
    ok "make uninstall removes every file"
  else find "$stage" -type f > "$out/last.log"; bad "make uninstall removes every file"; fi
else bad "make lib install DESTDIR="; fi

# Options baked into the installed config.h.
printf '/* test configuration */\n#define KH_HEAP_FALLBACK_SCAN 4\n' > "$out/my_config.h"
b=build/adopt/lib-opts
p=$PWD/$out/opts
if mk lib install BUILD=$b CFLAGS="-O2 -DKH_CONFIG_CHECKS=0" CONFIG_HEADER="$out/my_config.h" PREFIX="$p"; then
  if grep -q 'define KH_CONFIG_CHECKS 0' "$p/include/kheap/config.h" && [ -f "$p/include/kheap/user_config.h" ]; then
    ok "installed config.h carries -DKH_CONFIG_CHECKS=0 and CONFIG_HEADER"
  else bad "installed config.h carries -DKH_CONFIG_CHECKS=0 and CONFIG_HEADER"; fi
  flags=$(PKG_CONFIG_PATH="$p/lib/pkgconfig" pkg-config --cflags --libs kheap)
  if cc -std=c11 -Wall -Wextra -Werror "$out/app.c" $flags -o "$out/app2" > "$out/last.log" 2>&1 &&
    "$out/app2" > "$out/app2.out" && grep -q 'KH_CONFIG_CHECKS=0 KH_HEAP_FALLBACK_SCAN=4' "$out/app2.out"; then
    ok "a program with only pkg-config's flags sees the library's options"
  else cat "$out/app2.out" >> "$out/last.log" 2> /dev/null; bad "a program with only pkg-config's flags sees the library's options"; fi
  # Including a checked header: the link-time check agrees with the library.
  if cc -std=c11 -Wall -Wextra -Werror tests/adopt/abi_user.c $flags -o "$out/abi_user" > "$out/last.log" 2>&1 &&
    "$out/abi_user"; then ok "a program with only pkg-config's flags passes the link-time check"
  else bad "a program with only pkg-config's flags passes the link-time check"; fi
else bad "make lib install CFLAGS=-DKH_CONFIG_CHECKS=0 CONFIG_HEADER="; fi
echo "install: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
