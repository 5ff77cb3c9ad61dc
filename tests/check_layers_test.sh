#!/bin/sh
# SPDX-License-Identifier: MIT
# make test-layers: the layer check passes on the tree, and fails on copies
# of it broken on purpose (so the check itself is known to work):
#   1. the core heap including a collection header (an include pointing up);
#   2. a source file in no layer.
pass=0; fail=0
result() { # ok? name
  if [ "$1" = 1 ]; then pass=$((pass + 1)); echo "ok   $2"; else fail=$((fail + 1)); echo "FAIL $2"; fi
}
sh tests/check_layers.sh . && ok=1 || ok=0
result $ok "layers: the tree keeps the layer rule"

work=$(mktemp -d)
copy() { rm -rf "$work/t"; mkdir -p "$work/t"; cp -r include src tests "$work/t/"; }

copy
sed -i 's|#include <stdint.h>|#include <stdint.h>\n#include "kheap/vec.h"|' "$work/t/src/core/heap.c"
out=$(sh tests/check_layers.sh "$work/t") && ok=0 || ok=1
echo "$out" | grep -q 'src/core/heap.c:[0-9]* (core) includes include/kheap/vec.h (coll)' || ok=0
echo "$out" | sed 's/^/    /'
result $ok "layers: a core file including a collection header fails the check"

copy
printf '/* SPDX-License-Identifier: MIT */\nint stray;\n' > "$work/t/src/stray.c"
out=$(sh tests/check_layers.sh "$work/t") && ok=0 || ok=1
echo "$out" | grep -q 'src/stray.c is in no layer' || ok=0
echo "$out" | sed 's/^/    /'
result $ok "layers: a source file in no layer fails the check"

rm -rf "$work"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
