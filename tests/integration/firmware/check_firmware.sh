#!/bin/sh
# SPDX-License-Identifier: MIT
# Run one firmware of the libc-malloc test in QEMU and check what the firmware
# cannot check itself:
#   check_firmware.sh NAME ELF MAP OUTFILE TIMEOUT QEMU-COMMAND...
#  - it runs to the end and passes its own checks (exit status 0 and the
#    "NAME: N passed, 0 failed" line);
#  - the file it wrote through semihosting holds the ten lines it wrote;
#  - the link map has no allocator from the C library: none of newlib's
#    malloc objects (mallocr, freer, callocr, reallocr, ..., nano-mallocr,
#    sbrkr) or picolibc's (nano-malloc-*), nor their malloc()/free()
#    wrappers: kheap's glue defined every entry point first;
#  - nothing in the program calls _sbrk (librdimon defines one, unused).
# Prints one line per check and "firmware: N passed, N failed".
name=$1
elf=$2
map=$3
outfile=$4
tmo=$5
shift 5
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok   $name: $*"; }
bad() { fail=$((fail + 1)); echo "FAIL $name: $*"; }
log=${elf%.elf}.log
rm -f "$outfile"
echo "\$ timeout $tmo $* $elf"
timeout "$tmo" "$@" "$elf" < /dev/null > "$log.raw" 2>&1
rc=$?
tr -d '\r' < "$log.raw" > "$log"
grep -v '^Timer with period zero' "$log"
[ $rc -eq 124 ] && echo "$name: HUNG, killed after $tmo s"
if [ $rc -eq 0 ] && grep -qE "^$name: [0-9]+ passed, 0 failed" "$log"; then
  ok "ran to the end, its own checks passed"
else
  bad "did not finish or its checks failed"
  grep -qE "^$name: [0-9]+ passed" "$log" || echo "$name: 0 passed, 1 failed"
fi
if [ -f "$outfile" ] && [ "$(grep -c '^line [0-9]: ' "$outfile")" -eq 10 ]; then
  ok "wrote $outfile through semihosting (10 lines)"
else
  bad "$outfile missing or wrong"
fi
members=$(grep -oE 'lib(c|c_nano|g)\.a\([^)]*\)' "$map" | sort -u)
alloc=$(echo "$members" | grep -E '\((lib_a-)?(nano-)?(mallocr|freer|callocr|reallocr|cfreer|malignr|msizer|mallinfor|malloptr|mallstatsr|vallocr|pvallocr|malloc|calloc|realloc|msize|valloc|aligned_alloc|sbrkr|syssbrk|nano-malloc-[a-z_]*\.c|libc_picolib_picosbrk\.c)\.o\)' || true)
if [ -z "$members" ]; then
  bad "no C library members in $map (not a link map?)"
elif [ -n "$alloc" ]; then
  bad "the C library's allocator is linked in: $alloc"
else
  ok "no allocator from the C library in the link map ($(echo "$members" | wc -l) members checked)"
fi
if arm-none-eabi-objdump -d "$elf" | grep -qE 'bl?x?\s.*<_?sbrk(_r)?>'; then
  bad "something calls _sbrk"
else
  ok "nothing calls _sbrk"
fi
echo "firmware: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
