#!/bin/sh
# SPDX-License-Identifier: MIT
# Real programs on kheap's malloc drop-in: each runs once on the C library's
# malloc and once with LD_PRELOAD=libkheap-malloc.so, and both runs must give
# the same results.
#   real_programs.sh SO BINDIR WORKDIR
# SO the drop-in; BINDIR holds malloc_semantics, malloc_stress and
# malloc_cxx (built by mk/malloc.mk); WORKDIR is scratch space. Programs:
#   semantics  the standard semantics program (drop-in only: it checks kheap's
#              rules), at hardening levels 0, 1 and 2, and linked with the drop-in
#   misuse     malloc_misuse: double, interior, stale and cross-thread frees end
#              the process with a report at levels 1 and 2; overflows and
#              writes after free at level 2
#   cxx        C++ new/delete, vector and string reach the drop-in
#   stress     malloc_stress: threads passing blocks, exiting with live
#              blocks, fork among allocating threads
#   python     python3.11 running a set of its own regression tests
#              (Debian's libpython3.11-testsuite) with PYTHONMALLOC=malloc, so
#              every object is a malloc block: every test case's result
#   sqlite     sqlite3 on tests/integration/sqlite_workload.sql (integrity
#              check included)
#   git        tests/integration/git_workload.sh (gc and fsck included)
# A program that is not installed is NOT RUN, with a banner; everything else
# counts. Ends with "programs: N passed, N failed".
so=$(realpath "$1" 2> /dev/null || echo "$1")
bin=$(realpath "$2")
work=$3
here=$(cd "$(dirname "$0")" && pwd)
PY=${PY:-/usr/bin/python3.11}
PY_TESTS=${PY_TESTS:-"test_dict test_list test_json test_re test_threading test_unicode test_set test_collections"}
SQL_ROWS=${SQL_ROWS:-100000}
pass=0
fail=0
rm -rf "$work"
mkdir -p "$work"

ok() { pass=$((pass + 1)); echo "ok   $*"; }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }
not_run() {
  echo "#################################################################"
  echo "### REAL-PROGRAM TEST NOT RUN: $1 ($2 missing)"
  echo "### Install it with: make deps   (as root)"
  echo "#################################################################"
}
# same NAME: compare $work/NAME.base and $work/NAME.kheap
same() {
  if cmp -s "$work/$1.base" "$work/$1.kheap"; then
    ok "$1: same results with and without the drop-in ($(wc -l < "$work/$1.base") lines)"
  else
    bad "$1: results differ with the drop-in:"
    diff "$work/$1.base" "$work/$1.kheap" | head -20
  fi
}
# timed NAME CMD...: run, keep the status in $st and say how long it took
timed() {
  name=$1
  shift
  t0=$(date +%s)
  st=0
  "$@" || st=$?
  echo "     $name: $(($(date +%s) - t0)) s, status $st"
}

if [ ! -f "$so" ]; then
  bad "drop-in $so not built"
  echo "programs: $pass passed, $fail failed"
  exit 1
fi
PRE="LD_PRELOAD=$so"

# The drop-in is really in use: its report line appears and counts calls.
line=$(env "$PRE" KHEAP_MALLOC_STATS=1 "$bin/malloc_stress" 1 2 2>&1 > /dev/null | grep '^kheap-malloc:')
calls=$(echo "$line" | sed -n 's/.* calls=\([0-9]*\).*/\1/p')
if [ -n "$calls" ] && [ "$calls" -gt 1000 ]; then
  ok "drop-in loads and reports: $line"
else
  bad "drop-in report missing or empty: '$line'"
fi

# --- semantics --------------------------------------------------------------
for level in 0 1 2; do
  out=$(env "$PRE" KHEAP_MALLOC_HARDEN=$level "$bin/malloc_semantics" 2>&1)
  st=$?
  if [ $st -eq 0 ] && echo "$out" | grep -q '^semantics: [0-9]* passed, 0 failed'; then
    ok "semantics (hardening $level): $(echo "$out" | tail -1)"
  else
    bad "semantics (hardening $level):"
    echo "$out" | tail -20
  fi
done

out=$("$bin/malloc_semantics_linked" 2>&1)
if [ $? -eq 0 ] && echo "$out" | grep -q '^semantics: [0-9]* passed, 0 failed'; then
  ok "semantics, linked with the drop-in instead of preloaded: $(echo "$out" | tail -1)"
else
  bad "semantics, linked with the drop-in:"
  echo "$out" | tail -20
fi

# --- misuse -----------------------------------------------------------------
for level in 1 2; do
  cases="double interior realloc remote"
  [ $level = 2 ] && cases="$cases overflow uaf"
  for c in $cases; do
    case $c in
      interior) code=KH_EFAULT ;;
      overflow) code=KH_EHEAP_CANARY ;;
      uaf) code=KH_EHEAP_POISON ;;
      *) code=KH_EDOUBLE ;;
    esac
    err=$(env "$PRE" KHEAP_MALLOC_HARDEN=$level "$bin/malloc_misuse" $c 2>&1 > /dev/null)
    st=$?
    if [ $st -ne 0 ] && [ $st -ne 2 ] && echo "$err" | grep -q "^kheap-malloc: $code: "; then
      ok "misuse $c (hardening $level) caught: $(echo "$err" | grep '^kheap-malloc:' | head -1)"
    else
      bad "misuse $c (hardening $level) not caught as $code (status $st): $err"
    fi
  done
done
# Correct use is never taken for misuse: threads passing blocks to each
# other (cross-thread frees), exiting with live blocks, fork, at each level.
for level in 0 1 2; do
  if env "$PRE" KHEAP_MALLOC_HARDEN=$level "$bin/malloc_stress" 2 4 > "$work/stress-h$level.out" 2>&1 &&
    grep -q '^stress: [0-9]* passed, 0 failed' "$work/stress-h$level.out"; then
    ok "stress (hardening $level): $(grep '^stress:' "$work/stress-h$level.out")"
  else
    bad "stress (hardening $level):"
    tail -5 "$work/stress-h$level.out"
  fi
done

# --- C++ --------------------------------------------------------------------
out=$(env "$PRE" "$bin/malloc_cxx" 2>&1)
if [ $? -eq 0 ] && echo "$out" | grep -q '^cxx: [0-9]* passed, 0 failed'; then
  ok "C++ new/delete through the drop-in: $(echo "$out" | tail -1)"
else
  bad "C++ new/delete:"
  echo "$out" | tail -10
fi

# --- stress -----------------------------------------------------------------
timed "stress, C library malloc" sh -c "'$bin/malloc_stress' 4 40 > '$work/stress.base' 2>&1"
timed "stress, kheap" sh -c "env '$PRE' KHEAP_MALLOC_STATS=1 '$bin/malloc_stress' 4 40 > '$work/stress.out' 2>&1"
grep -v '^kheap-malloc:' "$work/stress.out" > "$work/stress.kheap"
if [ $st -ne 0 ] || ! grep -q '^stress: [0-9]* passed, 0 failed' "$work/stress.kheap"; then
  bad "stress on kheap:"
  tail -5 "$work/stress.kheap"
else
  same stress
fi
# 21 threads came and went, at most 5 at a time (4 + the main thread; the
# fork phase's maker thread has exited before its 4 churners start): heaps
# of exited threads were taken over instead of new ones made.
heaps=$(sed -n 's/^kheap-malloc:.* heaps=\([0-9]*\).*/\1/p' "$work/stress.out")
if [ -n "$heaps" ] && [ "$heaps" -le 6 ]; then
  ok "stress: 21 threads ran on $heaps heaps (exited threads' heaps reused)"
else
  bad "stress: heaps of exited threads not reused (heaps='$heaps')"
fi

# --- python -----------------------------------------------------------------
if [ -x "$PY" ] && "$PY" -c 'import test.test_dict' 2> /dev/null; then
  # Every test case's name and result, in order of name.
  py_run() { # suffix env...
    sfx=$1
    shift
    mkdir -p "$work/py.$sfx"
    (cd "$work/py.$sfx" && env "$@" PYTHONMALLOC=malloc PYTHONDONTWRITEBYTECODE=1 \
      "$PY" -m test -v $PY_TESTS > ../python.$sfx.log 2>&1)
    st=$?
    # (a case that prints between its name and its result is left out of both)
    grep -E '^test[A-Za-z0-9_]* \(.*\) \.\.\. (ok|FAIL|ERROR|expected failure|unexpected success|skipped .*)$' \
      "$work/python.$sfx.log" | sed -E 's/ \.\.\. skipped .*/ ... skipped/' | LC_ALL=C sort > "$work/python.$sfx"
    echo "     python ($sfx): status $st, $(wc -l < "$work/python.$sfx") test cases," \
      "$(grep -c ' \.\.\. ok$' "$work/python.$sfx") ok"
    grep -E '^(Tests result|== Tests result)' "$work/python.$sfx.log" | tail -1 | sed 's/^/     /'
  }
  py_run base TZ=UTC
  py_run kheap TZ=UTC "$PRE"
  if [ "$(wc -l < "$work/python.kheap")" -lt 100 ]; then
    bad "python: too few test cases ran on kheap"
    tail -20 "$work/python.kheap.log"
  else
    same python
  fi
else
  not_run python "$PY with Debian's libpython3.11-testsuite"
fi

# --- sqlite -----------------------------------------------------------------
if command -v sqlite3 > /dev/null; then
  sed "s/ROWS/$SQL_ROWS/g" "$here/sqlite_workload.sql" > "$work/workload.sql"
  for sfx in base kheap; do
    rm -f "$work/sq.db" "$work/sq.db-wal" "$work/sq.db-shm"
    pre=""
    [ $sfx = kheap ] && pre=$PRE
    timed "sqlite ($sfx)" sh -c "env $pre sqlite3 '$work/sq.db' < '$work/workload.sql' > '$work/sqlite.$sfx' 2>&1"
  done
  if [ "$(tail -1 "$work/sqlite.kheap")" != ok ]; then
    bad "sqlite: integrity check on kheap: $(tail -1 "$work/sqlite.kheap")"
  else
    same sqlite
  fi
else
  not_run sqlite "sqlite3"
fi

# --- git --------------------------------------------------------------------
if command -v git > /dev/null; then
  timed "git (base)" sh -c "sh '$here/git_workload.sh' '$work/git.b' > '$work/git.base' 2>&1"
  timed "git (kheap)" sh -c "env '$PRE' sh '$here/git_workload.sh' '$work/git.k' > '$work/git.kheap' 2>&1"
  if ! grep -q '^fsck: status 0, 0 messages' "$work/git.kheap"; then
    bad "git: fsck on kheap:"
    head -5 "$work/git.kheap"
  else
    same git
  fi
else
  not_run git "git"
fi

echo "programs: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
