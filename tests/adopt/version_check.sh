#!/bin/sh
# SPDX-License-Identifier: MIT
# One version everywhere: kheap/version.h's macros agree with each other and
# with kh_version(), CHANGELOG.md's newest entry, the CMake package version
# file, the pkg-config file make install writes and the Rust crate. (tests/cmake_check.sh
# checks the installed CMake package and kheap.pc as users find them.)
out=build/adopt/version
rm -rf "$out"; mkdir -p "$out"
pass=0; fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; [ -f "$out/last.log" ] && tail -n 20 "$out/last.log"; }
v=$(sed -n 's/^#define KHEAP_VERSION_STRING "\(.*\)"/\1/p' include/kheap/version.h)
echo "kheap/version.h: $v"

cat > "$out/v.c" <<'C'
#include <kheap/version.h>
#include <stdio.h>
#include <string.h>
int main(void)
{
    char s[32];
    snprintf(s, sizeof s, "%d.%d.%d", KHEAP_VERSION_MAJOR, KHEAP_VERSION_MINOR, KHEAP_VERSION_PATCH);
    int n = KHEAP_VERSION_MAJOR * 10000 + KHEAP_VERSION_MINOR * 100 + KHEAP_VERSION_PATCH;
    printf("%s\n", s);
    return strcmp(s, KHEAP_VERSION_STRING) == 0 && n == KHEAP_VERSION_NUMBER &&
                   strcmp(kh_version(), KHEAP_VERSION_STRING) == 0
               ? 0
               : 1;
}
C
if cc -std=c11 -Wall -Wextra -Werror -Iinclude "$out/v.c" src/core/version.c -o "$out/v" > "$out/last.log" 2>&1 &&
  "$out/v" > "$out/last.log"; then ok "MAJOR.MINOR.PATCH = KHEAP_VERSION_STRING = kh_version(), KHEAP_VERSION_NUMBER"
else bad "MAJOR.MINOR.PATCH = KHEAP_VERSION_STRING = kh_version(), KHEAP_VERSION_NUMBER"; fi

c=$(grep -m1 '^## \[[0-9]' CHANGELOG.md | sed 's/^## \[\([^]]*\)\].*/\1/')
if [ "$c" = "$v" ]; then ok "CHANGELOG.md newest entry $c"; else bad "CHANGELOG.md newest entry $c, not $v"; fi

if cmake -S . -B "$out/cmake" > "$out/last.log" 2>&1 &&
  grep -q "set(PACKAGE_VERSION \"$v\")" "$out/cmake/kheapConfigVersion.cmake"; then
  ok "CMake kheapConfigVersion.cmake $v"
else bad "CMake kheapConfigVersion.cmake $v"; fi

if make --no-print-directory -s BUILD="$out/make" "$out/make/lib/install/kheap.pc" > "$out/last.log" 2>&1 &&
  [ "$(PKG_CONFIG_PATH= PKG_CONFIG_LIBDIR="$out/make/lib/install" pkg-config --modversion kheap)" = "$v" ]; then
  ok "make install's kheap.pc $v"
else bad "make install's kheap.pc $v"; fi
# The Rust crate wraps this library: it carries the same version.
if [ -f rust/kheap/Cargo.toml ]; then
  r=$(sed -n 's/^version = "\(.*\)"/\1/p' rust/kheap/Cargo.toml | head -n 1)
  if [ "$r" = "$v" ]; then ok "rust/kheap/Cargo.toml $r"; else bad "rust/kheap/Cargo.toml $r, not $v"; fi
fi
echo "version: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
