# SPDX-License-Identifier: MIT
# Rust: the kheap crate (rust/kheap) hosted, and bare-metal Rust programs
# (rust/metal) on Cortex-M3, riscv32imac and riscv64imac in QEMU.
#   make test-rust   hosted: cargo test --offline in rust/kheap with rustup's
#                    stable toolchain; the Allocator tests and the doc tests
#                    with the allocator_api feature (RUSTC_BOOTSTRAP=1, which
#                    also makes rustdoc check the compile_fail error codes);
#                    the README's Rust examples compiled as written; bare
#                    metal: the Rust suites on
#                    Cortex-M3 (mps2-an385), rv32 and rv64 (virt) and the demo
#   make demo-rust   the Rust demo on a Cortex-M3 (lm3s6965evb) in QEMU
# A toolchain piece that is missing prints a NOT RUN banner (make deps
# installs the Debian ones) instead of failing.
#
# Bare metal needs core and alloc for each target, which rustup's stable has
# not and cannot download here: Debian's rustc-web, cargo-web and
# rust-web-src build them offline (-Zbuild-std, the std's vendored crates,
# rust/metal/.cargo/config.toml), by absolute path since ~/.cargo/bin comes
# first in PATH. One target directory for all three targets, so core and
# alloc are built once per target (about 90 s for the three on 2 cores) and
# then only when the toolchain changes.

RUSTUP      ?= $(firstword $(wildcard $(HOME)/.cargo/bin/rustup) $(shell command -v rustup 2>/dev/null))
HOST_CARGO  ?= $(if $(RUSTUP),$(RUSTUP) run stable cargo,$(shell command -v cargo 2>/dev/null))
METAL_RUSTC ?= /usr/bin/rustc
METAL_CARGO ?= /usr/bin/cargo
RUST_STD_VENDOR ?= /usr/lib/rustlib/src/rust/library/vendor
RUST_QEMU_TIMEOUT ?= 240

RB := $(abspath $(BUILD))/rust
RUST_TARGETS := thumbv7m-none-eabi riscv32imac-unknown-none-elf riscv64imac-unknown-none-elf
RUST_METAL_ENV = RUSTC=$(METAL_RUSTC) RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR=$(RB)/metal
RUST_METAL_BUILD = $(METAL_CARGO) build --offline --release -Zbuild-std=core,alloc

RUST_METAL_MISSING := $(strip \
	$(if $(wildcard $(METAL_RUSTC)),,$(METAL_RUSTC)(rustc-web)) \
	$(if $(wildcard $(METAL_CARGO)),,$(METAL_CARGO)(cargo-web)) \
	$(if $(wildcard $(RUST_STD_VENDOR)),,$(RUST_STD_VENDOR)(rust-web-src)) \
	$(foreach t,$(ARM_CC) $(RV_CC) $(QEMU_ARM) $(QEMU_RV32) $(QEMU_RV64),$(if $(shell command -v $(t) 2>/dev/null),,$(t))))

TEST_STEPS += test-rust

.PHONY: test-rust test-rust-host test-rust-metal demo-rust rust-metal-build

# The whole step: each part prints its own "N passed, N failed" lines.
test-rust:
	@bad=0; $(MAKE) --no-print-directory test-rust-host || bad=1; \
	$(MAKE) --no-print-directory test-rust-metal || bad=1; exit $$bad

# $(call rust_cargo_test,name,env,args): cargo test, with its result lines
# reworded so tests/run_all.sh counts each test once (from the "name: N
# passed, N failed" line printed after them); a failed build counts as 1.
define rust_cargo_test
echo "\$$ $(strip $(2) cargo test --offline --no-fail-fast $(3))"; \
(cd rust/kheap && env $(2) CARGO_TARGET_DIR=$(RB)/host $(HOST_CARGO) test --offline --no-fail-fast $(3)) > $(RB)/$(1).log 2>&1; rc=$$?; \
sed -E 's/([0-9]+) passed; ([0-9]+) failed/passed: \1; failed: \2/' $(RB)/$(1).log; \
p=$$(sed -nE 's/^test result: .* ([0-9]+) passed; ([0-9]+) failed.*/\1/p' $(RB)/$(1).log | awk '{s+=$$1} END {print s+0}'); \
f=$$(sed -nE 's/^test result: .* ([0-9]+) passed; ([0-9]+) failed.*/\2/p' $(RB)/$(1).log | awk '{s+=$$1} END {print s+0}'); \
if [ $$rc -ne 0 ] && [ $$f -eq 0 ]; then f=1; fi; \
if [ $$rc -ne 0 ]; then bad=1; fi; \
echo "$(1): $$p passed, $$f failed"
endef

test-rust-host:
	@mkdir -p $(RB)
	@if [ -z "$(HOST_CARGO)" ]; then \
	  echo "#################################################################"; \
	  echo "### RUST HOSTED TESTS NOT RUN: no cargo (rustup's stable toolchain)"; \
	  echo "#################################################################"; \
	  echo "rust: 0 passed, 0 failed"; exit 0; fi; \
	bad=0; \
	$(call rust_cargo_test,cargo,,); \
	$(call rust_cargo_test,cargoapi,RUSTC_BOOTSTRAP=1,--features allocator_api --test allocator_api); \
	$(call rust_cargo_test,cargodoc,RUSTC_BOOTSTRAP=1,--features allocator_api --doc); \
	echo "\$$ cargo build --offline --example readme   (README.md's Rust examples, as written)"; \
	if (cd rust/kheap && CARGO_TARGET_DIR=$(RB)/host $(HOST_CARGO) build --offline --example readme) > $(RB)/readme.log 2>&1; then \
	  echo "readme: 1 passed, 0 failed"; else cat $(RB)/readme.log; echo "readme: 0 passed, 1 failed"; bad=1; fi; \
	exit $$bad

# Every bare-metal program for every target, in one cargo run (the targets'
# core/alloc builds overlap on two cores).
rust-metal-build:
	@mkdir -p $(RB)
	@echo "\$$ (cd rust/metal && $(RUST_METAL_ENV) $(RUST_METAL_BUILD) $(addprefix --target ,$(RUST_TARGETS)))"
	@cd rust/metal && $(RUST_METAL_ENV) $(RUST_METAL_BUILD) $(addprefix --target ,$(RUST_TARGETS))

RUST_ELF = $(RB)/metal/$(1)/release/$(2)
QEMU_RUST_CM3_TESTS = $(QEMU_ARM) -cpu cortex-m3 -machine mps2-an385 -nographic -semihosting-config enable=on,target=native -kernel
QEMU_RUST_CM3_DEMO = $(QEMU_ARM) -cpu cortex-m3 -machine lm3s6965evb -nographic -semihosting-config enable=on,target=native -kernel

# $(call rust_qemu,name,command): run under timeout, log in $(RB)/name.log,
# print it; a run that fails or prints no totals line counts as failed.
define rust_qemu
echo "\$$ timeout $(RUST_QEMU_TIMEOUT) $(2)"; \
timeout $(RUST_QEMU_TIMEOUT) $(2) < /dev/null > $(RB)/$(1).log 2>&1; rc=$$?; \
tr -d '\r' < $(RB)/$(1).log | grep -v '^Timer with period zero'; \
if [ $$rc -eq 124 ]; then echo "$(1): HUNG, killed after $(RUST_QEMU_TIMEOUT) s"; fi; \
if [ $$rc -ne 0 ]; then bad=1; \
  grep -qE '^rust: [0-9]+ passed, [0-9]+ failed' $(RB)/$(1).log || echo "rust: 0 passed, 1 failed"; fi
endef

# The demo passes when QEMU exits 0 after printing each of the seeds' lines.
define rust_demo_check
if [ $$rc -eq 0 ] && grep -q '^\[42, 83\]' $(RB)/$(1).log && grep -q '^heap_value at 0x' $(RB)/$(1).log \
   && grep -q '^vec at 0x' $(RB)/$(1).log && grep -q '^current reference count is 2' $(RB)/$(1).log \
   && grep -q '^reference count is 1 now' $(RB)/$(1).log && grep -q '^It did not crash!' $(RB)/$(1).log; then \
  echo "demo: 1 passed, 0 failed"; else echo "demo: 0 passed, 1 failed"; bad=1; fi
endef

ifeq ($(RUST_METAL_MISSING),)
test-rust-metal: rust-metal-build
	@bad=0; \
	$(call rust_qemu,rust-cm3-tests,$(QEMU_RUST_CM3_TESTS) $(call RUST_ELF,thumbv7m-none-eabi,tests)); \
	$(call rust_qemu,rust-rv32-tests,$(QEMU_RV32) -M virt -bios none -nographic -kernel $(call RUST_ELF,riscv32imac-unknown-none-elf,tests)); \
	$(call rust_qemu,rust-rv64-tests,$(QEMU_RV64) -M virt -bios none -nographic -kernel $(call RUST_ELF,riscv64imac-unknown-none-elf,tests)); \
	$(call rust_qemu,rust-cm3-demo,$(QEMU_RUST_CM3_DEMO) $(call RUST_ELF,thumbv7m-none-eabi,demo)); \
	$(call rust_demo_check,rust-cm3-demo); \
	exit $$bad

demo-rust:
	@mkdir -p $(RB)
	@cd rust/metal && $(RUST_METAL_ENV) $(RUST_METAL_BUILD) --target thumbv7m-none-eabi --bin demo
	@bad=0; $(call rust_qemu,rust-cm3-demo,$(QEMU_RUST_CM3_DEMO) $(call RUST_ELF,thumbv7m-none-eabi,demo)); \
	$(call rust_demo_check,rust-cm3-demo); exit $$bad
else
test-rust-metal demo-rust:
	@echo "#################################################################"
	@echo "### RUST BARE-METAL TESTS AND DEMO NOT RUN: missing $(RUST_METAL_MISSING)"
	@echo "### Install them with: make deps   (as root)"
	@echo "#################################################################"
	@echo "rust: 0 passed, 0 failed"
endif
