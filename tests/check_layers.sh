#!/bin/sh
# SPDX-License-Identifier: MIT
# The layer rule (docs/ARCHITECTURE.md): a file may include kheap's headers
# from its own layer or the layers below it, never from a layer above. This
# table is the one place the layers and their order are written down (bottom
# first); every header in include/kheap/ and every file in src/ must be in it.
#   tests/check_layers.sh [root]   check the tree at root (default .):
#                                  prints each violation, exits 1 if any
layers='
port        include/kheap/config.h include/kheap/compiler.h include/kheap/port.h
            include/kheap/version.h include/kheap/abi.h
core        include/kheap/heap.h include/kheap/error.h include/kheap/source.h
            src/core/*.c src/internal/*.h
sync        include/kheap/atomic.h include/kheap/spinlock.h include/kheap/refcount.h
            src/sync/*.c
alloc       include/kheap/alloc.h include/kheap/bump.h include/kheap/llist.h
            include/kheap/fixed.h include/kheap/slab.h include/kheap/locked.h
            include/kheap/sources.h include/kheap/lock_pthread.h
            src/alloc/*.c src/alloc/hosted/*.c
kmalloc     include/kheap/kmalloc.h src/kmalloc/*.c
coll        include/kheap/vec.h include/kheap/str.h include/kheap/fmt.h
            include/kheap/deque.h include/kheap/pqueue.h include/kheap/map.h
            include/kheap/hashmap.h include/kheap/list.h include/kheap/box.h
            src/coll/*.c
integration src/integration/*.c src/integration/*/*.c src/integration/*.h src/integration/*/*.h
            include/kheap/malloc_dropin.h include/kheap/libc_malloc.h
'
root=${1:-.}
cd "$root" || exit 2
tmp=$(mktemp)
# file -> "rank layer" table, from the globs above (a line that starts with a
# name opens a layer; indented lines continue it).
table=$(echo "$layers" | awk '
  NF == 0 { next }
  /^[a-z]/ { rank++; name = $1; $1 = "" }
  { for (i = 1; i <= NF; i++) if ($i != "") print rank, name, $i }' |
  while read -r rank name glob; do
    for f in $glob; do [ -f "$f" ] && echo "$f $rank $name"; done
  done)
bad=0
# Every file must have a layer, so a new module cannot dodge the rule.
for f in $(find include/kheap src -type f \( -name '*.c' -o -name '*.h' \) | sort); do
  echo "$table" | grep -q "^$f " || { echo "layers: $f is in no layer (add it to tests/check_layers.sh)"; bad=1; }
done
echo "$table" | while read -r f rank name; do
  grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"\(\.\./\)*\(kheap\|internal\)/' "$f" |
    sed 's/^\([0-9]*\):[^"]*"\(\.\.\/\)*\(kheap\|internal\)\/\([^"]*\)".*/\1 \3 \4/' |
    while read -r line dir hdr; do
      case $dir in kheap) path=include/kheap/$hdr ;; *) path=src/internal/$hdr ;; esac
      set -- $(echo "$table" | awk -v p="$path" '$1 == p {print $2, $3}')
      if [ -z "$1" ]; then echo "layers: $f:$line includes $path, which is in no layer"; echo x
      elif [ "$1" -gt "$rank" ]; then
        echo "layers: $f:$line ($name) includes $path ($2): a higher layer"; echo x
      fi
    done
done > "$tmp" 2>&1
grep -v '^x$' "$tmp"
grep -q '^x$' "$tmp" && bad=1
rm -f "$tmp"
[ $bad -eq 0 ] && echo "layers: every include points down or across ($(echo "$table" | wc -l) files)"
exit $bad
