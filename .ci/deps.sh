#!/bin/sh
# SPDX-License-Identifier: MIT
# Install the Debian packages kheap's tests, demo and benchmarks use, when
# missing. Needs root (CI runs as root); prints what it would install otherwise.
pkgs="build-essential cmake pkg-config clang libclang-rt-14-dev lld valgrind gcc-multilib
  qemu-system-arm qemu-system-misc qemu-user gcc-arm-none-eabi libnewlib-arm-none-eabi gcc-riscv64-unknown-elf
  libjemalloc-dev libmimalloc-dev libgoogle-perftools-dev gnuplot python3-matplotlib
  rustc-web cargo-web rust-web-src
  python3.11 libpython3.11-testsuite sqlite3 git time picolibc-arm-none-eabi
  libjemalloc2 libmimalloc2.0 libtcmalloc-minimal4"
missing=""
for p in $pkgs; do
  dpkg -s "$p" > /dev/null 2>&1 || missing="$missing $p"
done
[ -z "$missing" ] && { echo "deps: all installed"; exit 0; }
if [ "$(id -u)" != 0 ]; then
  echo "deps: missing:$missing"
  echo "deps: run as root: apt-get install -y$missing"
  exit 1
fi
echo "deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq && apt-get install -y -qq --no-install-recommends $missing
