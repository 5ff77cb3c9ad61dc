#!/bin/sh
# SPDX-License-Identifier: MIT
# bench-smoke's 32-bit x86 run on machines whose kernel cannot execute
# 32-bit programs (mk/bench.mk, run32), shown on any machine by making the
# native probe fail: the run goes through qemu-i386 and writes its results;
# with qemu-i386 missing as well it prints the NOT RUN banner and succeeds.
#   tests/adopt/m32_paths_check.sh MAKE BUILD M32_OK
make=$1; build=$2; m32ok=$3
out=$build/adopt/m32
rm -rf "$out"; mkdir -p "$out"
pass=0; fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; tail -n 20 "$out/last.log"; }
if [ -z "$m32ok" ]; then
  echo "#################################################################"
  echo "### 32-BIT RUN PATHS NOT CHECKED: the compiler cannot build -m32"
  echo "### programs (Debian: gcc-multilib; make deps installs it)"
  echo "#################################################################"
  echo "fallback: 0 passed, 0 failed"
  exit 0
fi
run() { # out dir, make variables...
  d=$1; shift
  $make --no-print-directory bench-smoke32 BENCH32_SMOKE_OUT="$d" "$@" > "$out/last.log" 2>&1
}
if command -v qemu-i386 > /dev/null; then
  if run "$out/qemu" BENCH32_NATIVE_PROBE=false && grep -q 'running under qemu-i386' "$out/last.log" &&
    grep -q 'kheap' "$out/qemu/efficiency.csv"; then ok "kernel without 32-bit support: the run goes through qemu-i386"
  else bad "kernel without 32-bit support: the run goes through qemu-i386"; fi
  if run "$out/forced" BENCH32_EXEC=qemu && grep -q 'kheap' "$out/forced/efficiency.csv"; then
    ok "BENCH32_EXEC=qemu runs under qemu-i386"
  else bad "BENCH32_EXEC=qemu runs under qemu-i386"; fi
else
  echo "note: qemu-i386 not installed (Debian: qemu-user): the qemu path not checked"
fi
if run "$out/none" BENCH32_NATIVE_PROBE=false QEMU_I386=kh-no-such-qemu && grep -q 'NOT RUN' "$out/last.log" &&
  [ ! -e "$out/none/efficiency.csv" ]; then ok "no 32-bit kernel support, no qemu-i386: NOT RUN banner, success"
else bad "no 32-bit kernel support, no qemu-i386: NOT RUN banner, success"; fi
echo "fallback: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
