#!/bin/sh
# SPDX-License-Identifier: MIT
# The CMake build works the three ways users consume it: build + install
# with a pkg-config file, find_package(kheap), and add_subdirectory().
set -e
top=$(pwd)
out=$top/build/cmake_check
rm -rf "$out"; mkdir -p "$out"
cmake -S "$top" -B "$out/build" -DCMAKE_BUILD_TYPE=Release > "$out/configure.log"
cmake --build "$out/build" -j 2 > "$out/build.log"
cmake --install "$out/build" --prefix "$out/prefix" > "$out/install.log"
cat > "$out/use.c" <<'C'
#include <kheap/heap.h>
static unsigned char mem[4096];
int main(void)
{
    kheap *h = kheap_init(mem, sizeof mem);
    void *p = kheap_alloc(h, 100, 0);
    kheap_free(h, p);
    return h && p && kheap_check(h) == 0 ? 0 : 1;
}
C
# pkg-config
PKG_CONFIG_PATH="$out/prefix/lib/pkgconfig" cc "$out/use.c" -o "$out/use_pc" \
  $(PKG_CONFIG_PATH="$out/prefix/lib/pkgconfig" pkg-config --cflags --libs kheap)
"$out/use_pc"
echo "ok   install + pkg-config"
# find_package and add_subdirectory
mkdir -p "$out/fp" "$out/sub"
cp "$out/use.c" "$out/fp/use.c"; cp "$out/use.c" "$out/sub/use.c"
printf 'cmake_minimum_required(VERSION 3.13)\nproject(use C)\nfind_package(kheap REQUIRED)\nadd_executable(use use.c)\ntarget_link_libraries(use kheap::kheap)\n' > "$out/fp/CMakeLists.txt"
cmake -S "$out/fp" -B "$out/fp/b" -DCMAKE_PREFIX_PATH="$out/prefix" > /dev/null && cmake --build "$out/fp/b" > /dev/null
"$out/fp/b/use"
echo "ok   find_package(kheap)"
printf 'cmake_minimum_required(VERSION 3.13)\nproject(use C)\nadd_subdirectory(%s kheap)\nadd_executable(use use.c)\ntarget_link_libraries(use kheap::kheap)\n' "$top" > "$out/sub/CMakeLists.txt"
cmake -S "$out/sub" -B "$out/sub/b" > /dev/null && cmake --build "$out/sub/b" > /dev/null
"$out/sub/b/use"
echo "ok   add_subdirectory(kheap)"
echo "3 passed, 0 failed"
