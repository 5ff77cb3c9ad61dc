#!/bin/sh
# SPDX-License-Identifier: MIT
# Instructions per core heap call (bench/worstcase.c), counted by valgrind's
# callgrind, at hardening levels 0 and 1: the average over a random run and
# the worst cases; a markdown table on stdout.
#   bench/worstcase.sh BUILD_DIR [CC]
# Needs valgrind (with its callgrind.h header). The counts are x86-64 -O2
# instructions of the call itself: the counting's own cost (an empty
# zero/dump pair) is subtracted.
set -e
out=$1/worstcase
cc=${2:-cc}
mkdir -p "$out"
for lvl in 0 1; do
  defs="-DKH_CONFIG_HARDEN=$lvl"
  [ $lvl = 0 ] && defs="$defs -DKH_CONFIG_CHECKS=0"
  $cc -std=c11 -Wall -Wextra -Werror -O2 -Iinclude $defs -o "$out/worstcase$lvl" bench/worstcase.c src/core/heap.c
  rm -f "$out/cg$lvl".*
  valgrind --tool=callgrind --callgrind-out-file="$out/cg$lvl" "$out/worstcase$lvl" > /dev/null 2> "$out/valgrind$lvl.txt"
  for f in "$out/cg$lvl".*; do
    name=$(sed -n 's/^desc: Trigger: Client Request: //p' "$f")
    n=$(sed -n 's/^summary: //p' "$f")
    echo "$name $n"
  done > "$out/counts$lvl.txt"
  # The typical call: each function's instructions over a random run,
  # divided by its calls.
  calls=$("$out/worstcase$lvl" random)
  for fn in alloc free realloc; do
    valgrind --tool=callgrind --collect-atstart=no --toggle-collect=kheap_$fn \
      --callgrind-out-file="$out/cgr$lvl-$fn" "$out/worstcase$lvl" random > /dev/null 2>> "$out/valgrind$lvl.txt"
    ir=$(sed -n 's/^totals: //p' "$out/cgr$lvl-$fn")
    n=$(echo "$calls" | sed -n "s/.* $fn \([0-9]*\).*/\1/p")
    echo "avg-$fn $((ir / n))"
  done >> "$out/counts$lvl.txt"
done
count() { awk -v k="$2" '$1 == k { print $2 }' "$out/counts$1.txt"; }
echo "| call, path | level 0 | level 1 (default) |"
echo "|---|---:|---:|"
for fn in alloc free realloc; do
  echo "| kheap_$fn, average over talc's random actions (sizes up to 1000, realloc to 3000: the copy included) | $(count 0 avg-$fn) | $(count 1 avg-$fn) |"
done
e0=$(count 0 empty)
e1=$(count 1 empty)
while read -r name what; do
  a=$(count 0 "$name")
  b=$(count 1 "$name")
  echo "| $what | $((a - e0)) | $((b - e1)) |"
done << 'LIST'
alloc-scan kheap_alloc: its own class scanned in full (none fits), a higher class found by the bitmaps, split
alloc-scan-align kheap_alloc at 4096 alignment: the same, plus a leading gap and a tail split off
free-merge-both kheap_free: merged with both neighbours, pointer validated against a full region table
realloc-move-align kheap_realloc that must move, to a 4096-aligned block after a failed scan, old block merged both sides (copy: 24 bytes)
realloc-grow-both kheap_realloc growing into both neighbours, data moved down (copy: 24 bytes)
realloc-shrink-move kheap_realloc shrinking into a smaller hole, old block merged both sides (copy: 1 byte)
LIST
