#!/bin/sh
# SPDX-License-Identifier: MIT
# README.md's examples work as written.
#   - Every ```c block is a translation unit: it compiles with -std=c11
#     -Wall -Wextra -Wpedantic -Werror against include/; a block with a main()
#     is linked with the library and run (exit status 0).
#   - <!-- file: PATH --> before a block writes it to PATH in a scratch
#     project (the "your project" of the README's commands), whose kheap/ is
#     this repository.
#   - <!-- run: DIR [needs=tool,...] --> before a ```sh block runs it, in
#     README order, in DIR of the scratch project, with HOME inside the
#     scratch project (so $HOME/.local installs land there). A DIR other than
#     "." gets app.c and kheap/ from the project's top. A missing tool named
#     in needs= prints a NOT RUN line instead.
#   - Every ```sh block must carry a run marker or <!-- not run: why -->, so
#     no command in the README goes untested by accident.
#   tests/adopt/readme_check.sh LIB     LIB: the hosted libkheap.a
lib=$1
top=$(pwd)
out=$top/build/adopt/readme
rm -rf "$out"; mkdir -p "$out/blocks" "$out/project/home"
pass=0; fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; [ -f "$out/last.log" ] && tail -n 30 "$out/last.log"; }

# Split README.md into blocks: blocks/N.<lang> plus an index line
# "N lang line marker...", the marker being the HTML comment just before it.
awk -v dir="$out/blocks" '
  /^<!-- (file|run|not run):.*-->$/ { marker = $0; sub(/^<!-- */, "", marker); sub(/ *-->$/, "", marker); mline = NR; next }
  !inblock && /^```/ {
    lang = substr($0, 4); if (lang == "") lang = "text"
    n++; inblock = 1; file = dir "/" n "." lang
    printf "" > file
    print n, lang, NR, (mline == NR - 1 ? marker : "-") > (dir "/index")
    marker = ""; next
  }
  inblock && /^```$/ { inblock = 0; close(file); next }
  inblock { print > file }
' README.md

W="-std=c11 -Wall -Wextra -Wpedantic -Werror -I$top/include"
p=$out/project
ln -s "$top" "$p/kheap"
# Files first: the commands below use them.
while read -r n lang line marker; do
  case $marker in
  file:*)
    f=${marker#file: }
    mkdir -p "$(dirname "$p/$f")"; cp "$out/blocks/$n.$lang" "$p/$f"
    echo "     README line $line: $f" ;;
  esac
done < "$out/blocks/index"

while read -r n lang line marker; do
  b=$out/blocks/$n.$lang
  case $lang in
  c)
    name="README line $line: C block compiles"
    if grep -q 'int main(' "$b"; then
      name="README line $line: C block compiles, links and runs"
      if cc $W -x c "$b" -x none "$lib" -lpthread -o "$out/blocks/$n.bin" > "$out/last.log" 2>&1 &&
        timeout 60 "$out/blocks/$n.bin" >> "$out/last.log" 2>&1; then ok "$name"; else bad "$name"; fi
    elif cc $W -x c -c "$b" -o "$out/blocks/$n.o" > "$out/last.log" 2>&1; then ok "$name"
    else bad "$name"; fi ;;
  sh)
    case $marker in
    run:*)
      set -- ${marker#run:}
      d=$1; shift; missing=""
      for need in "$@"; do
        case $need in needs=*)
          for tool in $(echo "${need#needs=}" | tr ',' ' '); do
            command -v "$tool" > /dev/null || missing="$missing $tool"
          done ;;
        esac
      done
      name="README line $line: commands run in $d"
      if [ -n "$missing" ]; then echo "NOT RUN $name: missing$missing (make deps installs it)"; continue; fi
      mkdir -p "$p/$d"
      [ -e "$p/$d/kheap" ] || ln -s "$top" "$p/$d/kheap"
      [ -e "$p/$d/app.c" ] || cp "$p/app.c" "$p/$d/app.c"
      # As typed by a user: no make variables or jobserver from this run.
      if (cd "$p/$d" && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u PKG_CONFIG_PATH HOME="$p/home" \
        sh -e "$b") > "$out/last.log" 2>&1; then ok "$name"; else bad "$name"; fi ;;
    "not run:"*) echo "     README line $line: shell block not run (${marker#not run: })" ;;
    *) echo "(a shell block needs <!-- run: DIR --> or <!-- not run: why --> on the line before it)" > "$out/last.log"
      bad "README line $line: shell block without a run marker" ;;
    esac ;;
  esac
done < "$out/blocks/index"
echo "readme: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
