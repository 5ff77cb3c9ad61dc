#!/bin/sh
# SPDX-License-Identifier: MIT
# The CMake build the ways users consume it:
#   - build + install (GNUInstallDirs destinations), pkg-config against the
#     install, find_package(kheap) with a version: 0.1 and the exact version
#     found, a newer minor or major refused;
#   - CMAKE_INSTALL_LIBDIR / _INCLUDEDIR honoured, the package and kheap.pc
#     still found there;
#   - add_subdirectory(kheap): kheap's install rules stay out of the parent's
#     install unless KHEAP_INSTALL=ON;
#   - KHEAP_CONFIG_HEADER: used by kheap and its users, installed with the
#     headers, so find_package and pkg-config users build with it;
#   - a Cortex-M3 cross build: freestanding, no hosted header installed.
# Prints one "ok"/"FAIL" line per check and "N passed, N failed".
top=$(pwd)
out=$top/build/cmake_check
rm -rf "$out"; mkdir -p "$out"
pass=0; fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; [ -f "$out/last.log" ] && tail -n 25 "$out/last.log"; }
log=$out/last.log
version=$(sed -n 's/^#define KHEAP_VERSION_STRING "\(.*\)"/\1/p' include/kheap/version.h)
major=${version%%.*}; rest=${version#*.}; minor=${rest%%.*}

# configure_build_install NAME SRC BUILD PREFIX [cmake args...]
cbi() {
  name=$1; src=$2; b=$3; p=$4; shift 4
  if cmake -S "$src" -B "$b" "$@" > "$log" 2>&1 &&
    cmake --build "$b" -j 2 >> "$log" 2>&1 && cmake --install "$b" --prefix "$p" >> "$log" 2>&1; then
    ok "$name"; return 0
  fi
  bad "$name"; return 1
}

cat > "$out/use.c" <<'C'
#include <kheap/heap.h>
#include <kheap/list.h>
#include <kheap/version.h>
#include <string.h>
#ifdef EXPECT_CHECKS
_Static_assert(KH_CONFIG_CHECKS == EXPECT_CHECKS, "the build's KH_CONFIG_CHECKS");
_Static_assert(KH_HEAP_FALLBACK_SCAN == EXPECT_SCAN, "the build's KH_HEAP_FALLBACK_SCAN");
#endif
static unsigned char mem[4096];
int main(void)
{
    KH_LIST_HEAD(head);
    kheap *h = kheap_init(mem, sizeof mem);
    void *p = kheap_alloc(h, 100, 0);
    kheap_free(h, p);
    return h && p && kheap_check(h) == 0 && kh_list_count(&head) == 0 &&
                   strcmp(kh_version(), KHEAP_VERSION_STRING) == 0
               ? 0
               : 1;
}
C

printf '/* test configuration */\n#define KH_CONFIG_CHECKS 0\n#define KH_HEAP_FALLBACK_SCAN 4\n' > "$out/my_config.h"

# find_package consumer: fp_build NAME REQUEST PREFIX [cmake args...]
fp_build() {
  name=$1; req=$2; p=$3; shift 3
  d=$out/fp-$name; mkdir -p "$d"; cp "$out/use.c" "$d/"
  printf 'cmake_minimum_required(VERSION 3.13)\nproject(use C)\nfind_package(kheap %s REQUIRED)\nmessage(STATUS "kheap_VERSION=${kheap_VERSION}")\nadd_executable(use use.c)\ntarget_link_libraries(use kheap::kheap)\n' "$req" > "$d/CMakeLists.txt"
  cmake -S "$d" -B "$d/b" -DCMAKE_PREFIX_PATH="$p" "$@" > "$log" 2>&1 && cmake --build "$d/b" >> "$log" 2>&1 && "$d/b/use"
}

# 1. Top level, default destinations.
p1=$out/prefix
if cbi "build + install (top level)" "$top" "$out/build" "$p1" -DCMAKE_BUILD_TYPE=Release; then
  if [ -f "$p1/lib/libkheap.a" ] && [ -f "$p1/include/kheap/heap.h" ] && [ -f "$p1/include/kheap/lock_pthread.h" ] &&
    [ -f "$p1/lib/cmake/kheap/kheapConfig.cmake" ] && [ -f "$p1/lib/cmake/kheap/kheapConfigVersion.cmake" ] &&
    [ -f "$p1/lib/pkgconfig/kheap.pc" ]; then ok "GNUInstallDirs default destinations"
  else find "$p1" > "$log"; bad "GNUInstallDirs default destinations"; fi
  pcv=$(PKG_CONFIG_PATH="$p1/lib/pkgconfig" pkg-config --modversion kheap)
  if [ "$pcv" = "$version" ]; then ok "kheap.pc version $pcv = kheap/version.h"; else bad "kheap.pc version $pcv != $version"; fi
  if cc -std=c11 "$out/use.c" $(PKG_CONFIG_PATH="$p1/lib/pkgconfig" pkg-config --cflags --libs kheap) -o "$out/use_pc" \
    > "$log" 2>&1 && "$out/use_pc"; then ok "install + pkg-config"; else bad "install + pkg-config"; fi
  if fp_build req "$major.$minor" "$p1" && grep -q "kheap_VERSION=$version" "$log"; then
    ok "find_package(kheap $major.$minor) finds $version"
  else bad "find_package(kheap $major.$minor)"; fi
  if fp_build exact "$version EXACT" "$p1"; then ok "find_package(kheap $version EXACT)"
  else bad "find_package(kheap $version EXACT)"; fi
  if fp_build newminor "$major.$((minor + 1))" "$p1"; then bad "find_package(kheap $major.$((minor + 1))) accepted $version"
  elif grep -q "with requested version" "$log" && grep -q "version: $version" "$log"; then
    ok "find_package(kheap $major.$((minor + 1))) refused"
  else bad "find_package(kheap $major.$((minor + 1))) failed for another reason"; fi
  if fp_build newmajor "$((major + 1)).0" "$p1"; then bad "find_package(kheap $((major + 1)).0) accepted $version"
  elif grep -q "with requested version" "$log" && grep -q "version: $version" "$log"; then
    ok "find_package(kheap $((major + 1)).0) refused"
  else bad "find_package(kheap $((major + 1)).0) failed for another reason"; fi
fi

# 2. add_subdirectory: install rules only when asked.
sub=$out/sub; mkdir -p "$sub"; cp "$out/use.c" "$sub/"
printf 'cmake_minimum_required(VERSION 3.13)\nproject(use C)\nadd_subdirectory(%s kheap)\nadd_executable(use use.c)\ntarget_link_libraries(use kheap::kheap)\ninstall(TARGETS use DESTINATION bin)\n' "$top" > "$sub/CMakeLists.txt"
if cbi "add_subdirectory(kheap): build + install of the parent" "$sub" "$sub/b" "$sub/p" && "$sub/b/use"; then
  if [ -x "$sub/p/bin/use" ] && [ -z "$(find "$sub/p" -name 'libkheap.a' -o -name 'heap.h' -o -name 'kheap.pc')" ]; then
    ok "add_subdirectory: kheap installs nothing by default"
  else find "$sub/p" > "$log"; bad "add_subdirectory: kheap installs nothing by default"; fi
fi
if cbi "add_subdirectory with KHEAP_INSTALL=ON and KHEAP_CONFIG_HEADER" "$sub" "$sub/b2" "$sub/p2" -DKHEAP_INSTALL=ON \
  -DKHEAP_CONFIG_HEADER="$out/my_config.h" -DCMAKE_C_FLAGS="-DEXPECT_CHECKS=0 -DEXPECT_SCAN=4"; then
  if [ -f "$sub/p2/lib/libkheap.a" ] && [ -f "$sub/p2/include/kheap/heap.h" ]; then ok "KHEAP_INSTALL=ON installs kheap"
  else find "$sub/p2" > "$log"; bad "KHEAP_INSTALL=ON installs kheap"; fi
  if "$sub/b2/use"; then ok "add_subdirectory user built with the configured options"
  else bad "add_subdirectory user built with the configured options"; fi
fi

# 3. KHEAP_CONFIG_HEADER through every way of consuming the library, with
# custom GNUInstallDirs destinations.
p2=$out/prefix2
if cbi "KHEAP_CONFIG_HEADER, CMAKE_INSTALL_LIBDIR=lib64, CMAKE_INSTALL_INCLUDEDIR=inc: build + install" "$top" \
  "$out/build2" "$p2" -DKHEAP_CONFIG_HEADER="$out/my_config.h" -DCMAKE_INSTALL_LIBDIR=lib64 -DCMAKE_INSTALL_INCLUDEDIR=inc; then
  if [ -f "$p2/lib64/libkheap.a" ] && [ -f "$p2/inc/kheap/heap.h" ] && [ -f "$p2/lib64/cmake/kheap/kheapConfig.cmake" ] &&
    [ -f "$p2/lib64/pkgconfig/kheap.pc" ] && [ ! -d "$p2/lib" ] && [ ! -d "$p2/include" ]; then
    ok "files in lib64/ and inc/"
  else find "$p2" > "$log"; bad "files in lib64/ and inc/"; fi
  if [ -f "$p2/inc/kheap/user_config.h" ] && grep -q 'define KH_CONFIG_HEADER "kheap/user_config.h"' "$p2/inc/kheap/config.h"; then
    ok "KHEAP_CONFIG_HEADER installed as kheap/user_config.h, named by kheap/config.h"
  else bad "KHEAP_CONFIG_HEADER installed as kheap/user_config.h, named by kheap/config.h"; fi
  # (CMake searches lib64/ only where the platform uses it: not on Debian.)
  if fp_build config "$major.$minor" "$p2" -Dkheap_DIR="$p2/lib64/cmake/kheap" \
    -DCMAKE_C_FLAGS="-DEXPECT_CHECKS=0 -DEXPECT_SCAN=4"; then
    ok "find_package (lib64/cmake) user built with the configured options"
  else bad "find_package (lib64/cmake) user built with the configured options"; fi
  if cc -std=c11 -DEXPECT_CHECKS=0 -DEXPECT_SCAN=4 "$out/use.c" \
    $(PKG_CONFIG_PATH="$p2/lib64/pkgconfig" pkg-config --cflags --libs kheap) -o "$out/use_pc2" > "$log" 2>&1 &&
    "$out/use_pc2"; then ok "pkg-config (lib64/pkgconfig) user built with the configured options"
  else bad "pkg-config (lib64/pkgconfig) user built with the configured options"; fi
  # The installed library itself was built with them: a default-configured
  # program fails the link-time check.
  if cc -std=c11 "$out/use.c" -I"$top/include" -L"$p2/lib64" -lkheap -lpthread -o "$out/use_mismatch" > "$log" 2>&1; then
    bad "a program with other options is refused by the configured library"
  elif grep -q kh_abi_KH_CONFIG_CHECKS_1 "$log"; then ok "a program with other options is refused by the configured library"
  else bad "a program with other options is refused by the configured library (another error)"; fi
fi

# 4. Cross build for Cortex-M3: freestanding, nothing hosted installed.
if command -v arm-none-eabi-gcc > /dev/null; then
  printf 'set(CMAKE_SYSTEM_NAME Generic)\nset(CMAKE_SYSTEM_PROCESSOR arm)\nset(CMAKE_C_COMPILER arm-none-eabi-gcc)\nset(CMAKE_C_FLAGS_INIT "-mcpu=cortex-m3 -mthumb")\nset(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)\n' > "$out/cm3.cmake"
  p4=$out/prefix-cm3
  if cbi "cross build for Cortex-M3 (toolchain file)" "$top" "$out/build-cm3" "$p4" -DCMAKE_TOOLCHAIN_FILE="$out/cm3.cmake"; then
    if [ -f "$p4/lib/libkheap.a" ] && [ ! -e "$p4/include/kheap/lock_pthread.h" ] && ! grep -q pthread "$p4/lib/pkgconfig/kheap.pc" &&
      ! arm-none-eabi-ar t "$p4/lib/libkheap.a" | grep -E 'lock_pthread|source_mmap|port_hosted'; then
      ok "Cortex-M3: freestanding library, no hosted header, no -lpthread"
    else bad "Cortex-M3: freestanding library, no hosted header, no -lpthread"; fi
  fi
else
  echo "note: arm-none-eabi-gcc not installed (make deps): the CMake cross build not checked"
fi
echo "cmake: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
