#!/bin/sh
# Code size of each allocator module on Cortex-M3 (arm-none-eabi-gcc -Os
# -mthumb), checked (KH_CONFIG_CHECKS=1, the default) and unchecked builds:
# .text + .rodata bytes per object file. Writes OUT/codesize.csv and prints a
# markdown table. Needs arm-none-eabi-gcc (make deps); prints a note without.
out=${1:-bench/results}
cc=arm-none-eabi-gcc
if ! command -v $cc > /dev/null; then echo "(arm-none-eabi-gcc not installed: no code sizes)"; exit 0; fi
tmp=$(mktemp -d)
flags="-std=c11 -Os -mcpu=cortex-m3 -mthumb -ffreestanding -ffunction-sections -Iinclude -Isrc"
echo "module,checks,text,rodata" > "$out/codesize.csv"
echo "| module | .text checked | .text unchecked | .rodata checked |"
echo "|---|---:|---:|---:|"
for m in heap heap_allocator llist fixed bump slab kmalloc alloc error; do
  [ -f src/$m.c ] || continue
  row="| $m |"
  for chk in 1 0; do
    $cc $flags -DKH_CONFIG_CHECKS=$chk -c src/$m.c -o "$tmp/$m.o" 2> /dev/null || { row="$row n/a |"; continue; }
    # sum .text* and .rodata* sections (function sections split them)
    set -- $(arm-none-eabi-size -A "$tmp/$m.o" | awk '$1 ~ /^\.text/ {t += $2} $1 ~ /^\.rodata/ {r += $2} END {print t+0, r+0}')
    echo "$m,$chk,$1,$2" >> "$out/codesize.csv"
    row="$row $1 |"
    [ $chk = 1 ] && ro=$2
  done
  echo "$row $ro |"
done
rm -rf "$tmp"
