#!/bin/sh
# SPDX-License-Identifier: MIT
# The core heap's sanitizer annotations, shown to work (hosted):
#   AddressSanitizer  tests/sanitize/sanitize_child.c built with -fsanitize=address:
#                     each misuse mode must end in an ASan report naming the
#                     faulty line; "ok" must run clean; with
#                     -DKH_CONFIG_ASAN=0 an overflow inside the block goes
#                     unseen (the annotations are what catches it)
#   Valgrind          the same program with -DKH_CONFIG_VALGRIND=1 under
#                     Memcheck, at hardening levels 1 and 2: invalid writes,
#                     reads of freed blocks and a leaked block reported; "ok"
#                     clean
# A tool that is not installed is a loud NOT RUN, not a failure.
out=build/sanitize
mkdir -p "$out"
pass=0; fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; sed -n 1,30p "$out/last.log"; }
src="tests/sanitize/sanitize_child.c src/core/heap.c"
W="-std=c11 -Wall -Wextra -Wpedantic -Werror -g -O1 -Iinclude"

# expect name, patterns, command...: the command fails and its output
# matches every pattern (separated by ";;").
expect() {
  name=$1; pats=$2; shift 2
  if "$@" > "$out/last.log" 2>&1; then bad "$name (no report)"; return; fi
  rest=$pats
  while [ -n "$rest" ]; do
    pat=${rest%%;;*}
    case $rest in *";;"*) rest=${rest#*;;} ;; *) rest= ;; esac
    if ! grep -q "$pat" "$out/last.log"; then bad "$name (report does not match: $pat)"; return; fi
  done
  ok "$name"
}
clean() {
  name=$1; shift
  if "$@" > "$out/last.log" 2>&1 && ! grep -q "ERROR\|Invalid\|lost: [1-9]" "$out/last.log"; then ok "$name"
  else bad "$name"; fi
}

if command -v clang > /dev/null && clang -fsanitize=address -x c /dev/null -c -o /dev/null 2> /dev/null; then
  clang $W -fsanitize=address -fno-omit-frame-pointer -o "$out/asan" $src || fail=$((fail + 1))
  clang $W -fsanitize=address -DKH_CONFIG_ASAN=0 -o "$out/asan-off" $src || fail=$((fail + 1))
  export ASAN_OPTIONS=detect_leaks=0
  clean "asan: correct use runs clean" "$out/asan" ok
  for m in overflow underflow uaf uaf-merged realloc; do
    expect "asan: $m reported" "AddressSanitizer: use-after-poison;;#0 .* in main .*sanitize_child.c" \
      "$out/asan" $m
  done
  if "$out/asan-off" overflow > "$out/last.log" 2>&1 && grep -q "not detected" "$out/last.log"; then
    ok "asan: KH_CONFIG_ASAN=0 turns the annotations off"
  else bad "asan: KH_CONFIG_ASAN=0 turns the annotations off"; fi
  unset ASAN_OPTIONS
else
  echo "#################################################################"
  echo "### ASAN REPORT TESTS NOT RUN: clang with AddressSanitizer missing"
  echo "### Install the tools with: make deps   (as root)"
  echo "#################################################################"
fi

if command -v valgrind > /dev/null && [ -f /usr/include/valgrind/memcheck.h ]; then
  VG="valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite"
  for lvl in 1 2; do
    cc $W -DKH_CONFIG_VALGRIND=1 -DKH_CONFIG_HARDEN=$lvl -o "$out/vg$lvl" $src || fail=$((fail + 1))
    clean "valgrind (level $lvl): correct use runs clean" $VG "$out/vg$lvl" ok
    expect "valgrind (level $lvl): overflow reported" "Invalid write of size 1;;sanitize_child.c" $VG "$out/vg$lvl" overflow
    expect "valgrind (level $lvl): underflow reported" "Invalid write of size 1" $VG "$out/vg$lvl" underflow
    expect "valgrind (level $lvl): use after free reported" "Invalid read;;free'd" $VG "$out/vg$lvl" uaf
    expect "valgrind (level $lvl): write after a merging free reported" "Invalid write" $VG "$out/vg$lvl" uaf-merged
    expect "valgrind (level $lvl): old block after a moving realloc reported" "Invalid read" $VG "$out/vg$lvl" realloc
    expect "valgrind (level $lvl): leaked block reported" "bytes in 1 blocks are definitely lost" \
      $VG "$out/vg$lvl" leak
  done
else
  echo "#################################################################"
  echo "### VALGRIND REPORT TESTS NOT RUN: valgrind (with memcheck.h) missing"
  echo "### Install the tools with: make deps   (as root)"
  echo "#################################################################"
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
