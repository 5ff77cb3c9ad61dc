#!/bin/sh
# SPDX-License-Identifier: MIT
# kheap's code-size tool, run from the repository root:
#   bench/codesize.sh [out.md]     every library module (src/<layer>/*.c) for
#                                  Cortex-M3 and RISC-V, -Os, freestanding, and
#                                  what a program linking the core API keeps:
#                                  the table, written to out.md (make size:
#                                  docs/SIZE.md)
#   bench/codesize.sh --csv DIR    the allocator modules on Cortex-M3, checked
#                                  and unchecked: DIR/codesize.csv and a
#                                  markdown table on stdout (make bench)
set -e
dir=build/size
W="-std=c11 -Wall -Wextra -Wpedantic -Werror"
CM3="arm-none-eabi-gcc -mcpu=cortex-m3 -mthumb -Os -ffreestanding"

# The source of a module, wherever its layer folder is.
src_of() { find src -name "$1.c" -not -path '*/hosted/*' | head -n 1; }

if [ "$1" = --csv ]; then
  out=${2:-bench/results}
  if ! command -v arm-none-eabi-gcc > /dev/null; then echo "(arm-none-eabi-gcc not installed: no code sizes)"; exit 0; fi
  mkdir -p "$dir/csv"
  echo "module,checks,text,rodata" > "$out/codesize.csv"
  echo "| module | .text checked | .text unchecked | .rodata checked |"
  echo "|---|---:|---:|---:|"
  for m in heap heap_allocator llist fixed bump slab kmalloc alloc error; do
    f=$(src_of $m); [ -n "$f" ] || continue
    row="| $m |"
    for chk in 1 0; do
      $CM3 -std=c11 -ffunction-sections -Iinclude -Isrc -DKH_CONFIG_CHECKS=$chk -c "$f" -o "$dir/csv/$m.o"
      # .text* and .rodata* sections summed (function sections split them)
      set -- $(arm-none-eabi-size -A "$dir/csv/$m.o" | awk '$1 ~ /^\.text/ {t += $2} $1 ~ /^\.rodata/ {r += $2} END {print t+0, r+0}')
      echo "$m,$chk,$1,$2" >> "$out/codesize.csv"
      row="$row $1 |"
      [ $chk = 1 ] && ro=$2
    done
    echo "$row $ro |"
  done
  # The core heap at hardening level 2 (canaries and poison compiled in).
  f=$(src_of heap)
  $CM3 -std=c11 -ffunction-sections -Iinclude -Isrc -DKH_CONFIG_HARDEN=2 -c "$f" -o "$dir/csv/heap2.o"
  set -- $(arm-none-eabi-size -A "$dir/csv/heap2.o" | awk '$1 ~ /^\.text/ {t += $2} $1 ~ /^\.rodata/ {r += $2} END {print t+0, r+0}')
  echo "heap,2,$1,$2" >> "$out/codesize.csv"
  echo "| heap, hardening level 2 (\`-DKH_CONFIG_HARDEN=2\`) | $1 | | $2 |"
  exit 0
fi

out=${1:-docs/SIZE.md}
rm -rf "$dir"
mkdir -p "$dir/cm3" "$dir/rv" "$dir/min"

RV32="riscv64-unknown-elf-gcc -march=rv32imac -mabi=ilp32 -Os -ffreestanding -isystem port/riscv/include"
RV64="riscv64-unknown-elf-gcc -march=rv64imac -mabi=lp64 -mcmodel=medany -Os -ffreestanding -isystem port/riscv/include"
MIN="-DKH_HEAP_FULL=0 -DKH_CONFIG_CHECKS=0"

# rv32 when the toolchain has the rv32imac multilib, else rv64.
if riscv64-unknown-elf-gcc -march=rv32imac -mabi=ilp32 -print-multi-directory 2> /dev/null |
  grep -q rv32imac; then RV=$RV32; rvname=rv32imac; else RV=$RV64; rvname=rv64imac; fi

# text data bss of one object (berkeley: .rodata counts as text).
sz() { # size-tool object
  $1 -B "$2" | awk 'NR == 2 {print $1, $2, $3}'
}

rows=""
tot_c=0; tot_r=0
for f in $(find src/core src/sync src/alloc src/kmalloc src/coll -name '*.c' -not -path '*/hosted/*' | sort); do
  m=$(basename "$f" .c)
  $CM3 $W -Iinclude -Isrc -c "$f" -o "$dir/cm3/$m.o"
  $RV $W -Iinclude -Isrc -c "$f" -o "$dir/rv/$m.o"
  set -- $(sz arm-none-eabi-size "$dir/cm3/$m.o") $(sz riscv64-unknown-elf-size "$dir/rv/$m.o")
  rows="$rows| $m | $1 | $2 | $3 | $4 | $5 | $6 |
"
  tot_c=$((tot_c + $1)); tot_r=$((tot_r + $4))
done

# The core heap's smallest build: no realloc growth, no large alignments, no
# growth sources, no checks.
$CM3 $W $MIN -Iinclude -Isrc -c src/core/heap.c -o "$dir/min/heap-cm3.o"
$RV $W $MIN -Iinclude -Isrc -c src/core/heap.c -o "$dir/min/heap-rv.o"
set -- $(sz arm-none-eabi-size "$dir/min/heap-cm3.o") $(sz riscv64-unknown-elf-size "$dir/min/heap-rv.o")
minrow="| heap, minimal (\`$MIN\`) | $1 | $2 | $3 | $4 | $5 | $6 |"
heap_min=$1
$CM3 $W $MIN -DKH_HEAP_FALLBACK_SCAN=0 -Iinclude -Isrc -c src/core/heap.c -o "$dir/min/heap-noscan.o"
heap_min_noscan=$(sz arm-none-eabi-size "$dir/min/heap-noscan.o" | cut -d' ' -f1)

text_of() { # module -> Cortex-M3 .text, or "-" when the module does not exist
  if [ -f "$dir/cm3/$1.o" ]; then sz arm-none-eabi-size "$dir/cm3/$1.o" | cut -d' ' -f1; else echo -; fi
}
verdict() { # bytes limit
  if [ "$1" = - ]; then echo "not built yet"; elif [ "$1" -le "$2" ]; then echo "met"; else echo "over by $(($1 - $2)) B"; fi
}
# How a minimal-build size compares with o1heap's 828 B (the target is "near").
vs828() { awk -v n="$1" 'BEGIN { printf "%.2fx o1heap", n / 828 }'; }

# What a program that calls only a module's core API links: the module built
# with -ffunction-sections, linked with --gc-sections from those entry points
# (calls into other modules, e.g. kh_report, left unresolved and not counted).
mkdir -p "$dir/core"
core() { # name extra-flags module entry...
  name=$1; flags=$2; m=$3; shift 3
  f=$(src_of "$m"); [ -n "$f" ] || { echo -; return; }
  $CM3 $W $flags -ffunction-sections -fdata-sections -Iinclude -Isrc -c "$f" \
    -o "$dir/core/$name.o"
  us=""; for e in "$@"; do us="$us -Wl,-u,$e"; done
  $CM3 -nostdlib -Wl,--gc-sections -Wl,--unresolved-symbols=ignore-all -Wl,--entry=$1 $us \
    "$dir/core/$name.o" -o "$dir/core/$name.elf"
  sz arm-none-eabi-size "$dir/core/$name.elf" | cut -d' ' -f1
}
heap=$(text_of heap); llist=$(text_of llist); bump=$(text_of bump)
core_heap=$(core heap "" heap kheap_init kheap_alloc kheap_free)
core_min=$(core heapmin "$MIN" heap kheap_init kheap_alloc kheap_free)
core_llist=$(core llist "" llist kh_llist_init kh_llist_alloc kh_llist_free)
core_bump=$(core bump "" bump kh_bump_init kh_bump_alloc kh_bump_free)
core_bump_alloc=$(core bumpalloc "" bump kh_bump_alloc)
core_bump_nc=$(core bumpnc "-DKH_CONFIG_CHECKS=0" bump kh_bump_init kh_bump_alloc kh_bump_free)

# The core heap at each hardening level (kheap/heap.h, "Misuse"): the whole
# module, and what init/alloc/free and init/alloc/free/realloc link.
lvl_rows=""
for lv in 0 1 2; do
  case $lv in 0) fl="-DKH_CONFIG_CHECKS=0" ;; 1) fl="" ;; 2) fl="-DKH_CONFIG_HARDEN=2" ;; esac
  $CM3 $W $fl -Iinclude -Isrc -c src/core/heap.c -o "$dir/core/heaplv$lv-whole.o"
  whole=$(sz arm-none-eabi-size "$dir/core/heaplv$lv-whole.o" | cut -d' ' -f1)
  iaf=$(core heaplv$lv "$fl" heap kheap_init kheap_alloc kheap_free)
  iafr=$(core heaplvr$lv "$fl" heap kheap_init kheap_alloc kheap_free kheap_realloc)
  lvl_rows="$lvl_rows| $lv | \`${fl:-(default)}\` | $whole | $iaf | $iafr |
"
done

# Per function: "name size" lines of an object's code symbols.
funcs() { # object
  arm-none-eabi-nm -S -t d "$1" | awk '$3 ~ /^[tT]$/ {print $4, $2 + 0}'
}

{
  echo "# Code size"
  echo
  echo "Generated by \`make size\` (bench/codesize.sh): do not edit by hand."
  echo "Every library module (\`src/<layer>/*.c\`) compiled on its own, freestanding, \`-Os\`,"
  echo "default configuration (\`kheap/config.h\`); sizes in bytes from \`size -B\`"
  echo "(.text includes read-only data)."
  echo
  echo '```sh'
  echo "$CM3 $W -Iinclude -Isrc -c src/LAYER/MODULE.c"
  echo "$RV $W -Iinclude -Isrc -c src/LAYER/MODULE.c"
  echo '```'
  echo
  echo "Toolchains: $(arm-none-eabi-gcc --version | head -n 1); $(riscv64-unknown-elf-gcc --version | head -n 1)."
  echo
  echo "| module | Cortex-M3 .text | .data | .bss | $rvname .text | .data | .bss |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
  printf "%s" "$rows"
  echo "$minrow"
  echo "| **all modules** | $tot_c | | | $tot_r | | |"
  echo
  echo "## Targets (Cortex-M3 .text)"
  echo
  echo "Two measures: the whole module (every function in the object, as above), and"
  echo "the core API a program links with \`-ffunction-sections -Wl,--gc-sections\`"
  echo "when it calls only the functions named (init, alloc, free)."
  echo
  echo "| module | target | whole module | | core API linked | |"
  echo "| --- | ---: | ---: | --- | ---: | --- |"
  echo "| core heap (heap.c): kheap_init/alloc/free | 1638 (1.6 KiB) | $heap | $(verdict "$heap" 1638) | $core_heap | $(verdict "$core_heap" 1638) |"
  echo "| core heap, minimal build (\`$MIN\`) | near o1heap's 828 | $heap_min | $(vs828 "$heap_min") | $core_min | $(vs828 "$core_min") |"
  echo "| linked list (llist.c): kh_llist_init/alloc/free | 700 | $llist | $(verdict "$llist" 700) | $core_llist | $(verdict "$core_llist" 700) |"
  echo "| bump (bump.c): kh_bump_init/alloc/free | 150 | $bump | $(verdict "$bump" 150) | $core_bump | $(verdict "$core_bump" 150) |"
  echo "| bump (bump.c): kh_bump_alloc alone | 150 | | | $core_bump_alloc | $(verdict "$core_bump_alloc" 150) |"
  echo "| bump, unchecked build (\`-DKH_CONFIG_CHECKS=0\`): kh_bump_init/alloc/free | 150 | | | $core_bump_nc | $(verdict "$core_bump_nc" 150) |"
  echo
  echo "For comparison, Cortex-M3 code size of other embedded heaps as published:"
  echo "TLSF 1971 B, umm_malloc 1040 B, o1heap 828 B."
  echo "kheap's heap.c also carries what those do not: statistics (\`kheap_stats\`),"
  echo "an invariant checker (\`kheap_check\`), a block walker (\`kheap_walk\`), growth"
  echo "sources and, in checked builds, pointer validation; a program that does not"
  echo "call them drops them with \`-ffunction-sections -Wl,--gc-sections\`."
  echo
  echo "The minimal build (\`-DKH_HEAP_FULL=0\`, kheap/config.h) leaves out alignments"
  echo "above the default, realloc growth and moves, growth through a memory source"
  echo "and placement policies; each is refused cleanly (NULL, or KH_EINVAL reported),"
  echo "as kheap/heap.h (\"Minimal build\") states and \`make test-minimal\` checks."
  echo "Leaving out the fallback scan as well (\`-DKH_HEAP_FALLBACK_SCAN=0\`) saves"
  echo "$((heap_min - heap_min_noscan)) B more, at the cost of fit (kheap/config.h)."
  echo
  echo "## The core heap by hardening level (Cortex-M3 .text)"
  echo
  echo "Level 0 trusts the caller; level 1 (the default) validates every pointer handed"
  echo "back in O(1); level 2 adds canaries and poisoned free memory (kheap/heap.h)."
  echo
  echo "| level | flags | whole module | init/alloc/free linked | with realloc |"
  echo "| --- | --- | ---: | ---: | ---: |"
  printf "%s" "$lvl_rows"
  echo
  echo "## Where heap.c's bytes go (Cortex-M3, -Os, per function)"
  echo
  echo "| function | default build | minimal build |"
  echo "| --- | ---: | ---: |"
  $CM3 $W -ffunction-sections -Iinclude -Isrc -c src/core/heap.c -o "$dir/core/heap-fn.o"
  $CM3 $W $MIN -ffunction-sections -Iinclude -Isrc -c src/core/heap.c -o "$dir/core/heapmin-fn.o"
  funcs "$dir/core/heapmin-fn.o" > "$dir/core/min.txt"
  funcs "$dir/core/heap-fn.o" | sort -k2,2nr | awk -v minf="$dir/core/min.txt" '
    BEGIN { while ((getline l < minf) > 0) { split(l, f, " "); m[f[1]] = f[2] } }
    { printf "| %s | %d | %s |\n", $1, $2, ($1 in m) ? m[$1] : "(inlined or dropped)" }'
} > "$out"
cat "$out"
