#!/bin/sh
# SPDX-License-Identifier: MIT
# Wall time and peak RSS of real programs on kheap's malloc drop-in and on
# glibc, jemalloc, mimalloc and tcmalloc (each preloaded), plus the scaling
# of an allocation-bound threaded program over 1, 2 and 4 threads.
#   bench_programs.sh SO BINDIR WORKDIR OUT.md [REPS] [DOC.md]
# Every (program, allocator) pair runs REPS times (default 3), interleaved
# allocator by allocator so that a slow stretch of a shared machine hits all
# of them alike; the tables give the median wall time, the median CPU time
# (user + system, of the program and its children: less disturbed by other
# jobs on the machine than wall time) and the median peak RSS (/usr/bin/time:
# the largest resident set of the process or, for git, of its largest
# child), each with its ratio to glibc. Writes a Markdown table
# to OUT.md and, given DOC.md, puts it (with the command) between the lines
# "<!-- programs:begin -->" and "<!-- programs:end -->" there. No timing is
# asserted anywhere.
set -e
so=$(realpath "$1")
bin=$(realpath "$2")
work=$3
out=$4
reps=${5:-3}
doc=${6:-}
here=$(cd "$(dirname "$0")" && pwd)
PY=${PY:-/usr/bin/python3.11}
PY_TESTS=${PY_TESTS:-"test_json test_re test_dict test_list test_set test_unicode test_collections"}
SQL_ROWS=${SQL_ROWS:-200000}
MT_OPS=${MT_OPS:-100}
libdir=/usr/lib/$(gcc -print-multiarch 2> /dev/null || echo x86_64-linux-gnu)
TIME=/usr/bin/time
[ -x $TIME ] || { echo "bench-programs: needs /usr/bin/time (Debian: time)"; exit 1; }
mkdir -p "$work"
work=$(realpath "$work")

# allocator name and its preload ("" = glibc)
allocs="glibc kheap jemalloc mimalloc tcmalloc"
preload() {
  case $1 in
    glibc) echo "" ;;
    kheap) echo "$so" ;;
    jemalloc) echo "$libdir/libjemalloc.so.2" ;;
    mimalloc) echo "$libdir/libmimalloc.so.2" ;;
    tcmalloc) echo "$libdir/libtcmalloc_minimal.so.4" ;;
  esac
}
have=""
for a in $allocs; do
  p=$(preload $a)
  if [ -z "$p" ] || [ -f "$p" ]; then have="$have $a"; else echo "bench-programs: $a not installed ($p), left out"; fi
done

# Programs: name and command (run by sh -c inside $work).
sed "s/ROWS/$SQL_ROWS/g" "$here/sqlite_workload.sql" > "$work/workload.sql"
progs="python sqlite git mt1 mt2 mt4"
cmd() {
  case $1 in
    python) echo "PYTHONMALLOC=malloc PYTHONDONTWRITEBYTECODE=1 $PY -m test $PY_TESTS" ;;
    sqlite) echo "rm -f sq.db sq.db-wal sq.db-shm && sqlite3 sq.db < workload.sql" ;;
    git) echo "sh '$here/git_workload.sh' '$work/repo'" ;;
    mt1) echo "'$bin/malloc_stress' bench 1 $MT_OPS" ;;
    mt2) echo "'$bin/malloc_stress' bench 2 $MT_OPS" ;;
    mt4) echo "'$bin/malloc_stress' bench 4 $MT_OPS" ;;
  esac
}
available() {
  case $1 in
    python) [ -x "$PY" ] && "$PY" -c 'import test.test_json' 2> /dev/null ;;
    sqlite) command -v sqlite3 > /dev/null ;;
    git) command -v git > /dev/null ;;
    *) true ;;
  esac
}

res="$work/results.txt"
: > "$res"
for p in $progs; do
  if ! available $p; then
    echo "bench-programs: $p not installed, left out"
    continue
  fi
  for r in $(seq 1 "$reps"); do
    for a in $have; do
      pre=$(preload $a)
      (cd "$work" && env LD_PRELOAD="$pre" $TIME -f "%e %U %S %M" -o "$work/t" sh -c "$(cmd $p)" > "$work/$p.$a.log" 2>&1) ||
        { echo "bench-programs: $p on $a failed:"; tail -5 "$work/$p.$a.log"; exit 1; }
      echo "$p $a $(tail -1 "$work/t")" >> "$res"
      echo "  $p $a run $r: $(tail -1 "$work/t") (wall s, user s, sys s, KiB)"
    done
  done
done

# Medians and the table.
awk -v allocs="$have" -v progs="$progs" '
function median(list,   n, a, i, j, t) {
  n = split(list, a, " ")
  for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
  return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
function header(title,   i) {
  printf "| %s |", title
  for (i = 1; i <= na; i++) printf " %s |", A[i]
  printf "\n|---|"
  for (i = 1; i <= na; i++) printf "---:|"
  printf "\n"
}
{ w[$1, $2] = w[$1, $2] " " $3; c[$1, $2] = c[$1, $2] " " ($4 + $5); m[$1, $2] = m[$1, $2] " " $6; seen[$1] = 1 }
END {
  na = split(allocs, A, " "); np = split(progs, P, " ")
  desc["python"] = "python3.11 regression tests"
  desc["sqlite"] = "sqlite3 workload"
  desc["git"] = "git workload"
  desc["mt1"] = "threads: 1"; desc["mt2"] = "threads: 2"; desc["mt4"] = "threads: 4"
  printf "Time: wall seconds / CPU seconds (user + system), ratio to glibc in parentheses.\n\n"
  header("program")
  for (k = 1; k <= np; k++) {
    p = P[k]; if (!seen[p]) continue
    gw = median(w[p, "glibc"]); gc = median(c[p, "glibc"])
    printf "| %s |", desc[p]
    for (i = 1; i <= na; i++) {
      a = A[i]; ww = median(w[p, a]); cc = median(c[p, a])
      printf " %.2f (%.2f) / %.2f (%.2f) |", ww, (gw > 0 ? ww / gw : 0), cc, (gc > 0 ? cc / gc : 0)
    }
    printf "\n"
  }
  printf "\nPeak resident set: MiB, ratio to glibc in parentheses.\n\n"
  header("program")
  for (k = 1; k <= np; k++) {
    p = P[k]; if (!seen[p]) continue
    gm = median(m[p, "glibc"])
    printf "| %s |", desc[p]
    for (i = 1; i <= na; i++) {
      a = A[i]; mm = median(m[p, a])
      printf " %.1f (%.2f) |", mm / 1024, (gm > 0 ? mm / gm : 0)
    }
    printf "\n"
  }
  if (seen["mt1"] && seen["mt4"]) {
    printf "\nScaling of the threaded program (same total work): wall seconds, speed-up over 1 thread in parentheses.\n\n"
    header("threads")
    split("1 2 4", N, " ")
    for (k = 1; k <= 3; k++) {
      printf "| %d |", N[k]
      for (i = 1; i <= na; i++) {
        a = A[i]; t1 = median(w["mt1", a]); tn = median(w["mt" N[k], a])
        printf " %.2f (x%.2f) |", tn, (tn > 0 ? t1 / tn : 0)
      }
      printf "\n"
    }
  }
}' "$res" > "$out"
{
  echo
  echo "Median of $reps runs each; ratios are to glibc in the same run. Machine: $(nproc) CPUs," \
    "$(uname -r), glibc $(ldd --version | head -1 | awk '{print $NF}')."
} >> "$out"
cat "$out"

if [ -n "$doc" ] && grep -q '^<!-- programs:begin -->$' "$doc"; then
  {
    echo '```sh'
    echo "make bench-programs    # BENCH_PROGRAMS_REPS=$reps runs of each"
    echo '```'
    echo
    cat "$out"
  } > "$work/section.md"
  awk -v sec="$work/section.md" '
    /^<!-- programs:begin -->$/ { print; while ((getline l < sec) > 0) print l; skip = 1; next }
    /^<!-- programs:end -->$/ { skip = 0 }
    !skip { print }' "$doc" > "$work/doc.md"
  cp "$work/doc.md" "$doc"
  echo "bench-programs: table written to $doc"
fi
