# SPDX-License-Identifier: MIT
# Concurrency steps: the sync layer (atomics, spin locks, refcounts) and every
# test tagged "threads".
#   test-tsan             the hosted test binary built with clang -fsanitize=thread
#                         (--scale 4: it is there for races, not for volume),
#                         running the tests tagged "threads"
#   test-atomic-emulated  a second hosted binary with sub-word atomics emulated
#                         (CAS on the containing word), 64-bit atomics through the
#                         lock fallback and spin-lock debugging on
#   test-atomic-up        the on-target test set with KH_ATOMIC_UP_IRQ=1 (the
#                         interrupts-off mode of CPUs without compare-and-swap)
#   test-atomic-nm        the sync sources cross-built for Cortex-M3, rv64imac and
#                         rv32imac (-Os and -O0, compiler headers only) call no
#                         libatomic helper and export the inline twins
# The emulated step runs every test tagged "threads": the sync modules and
# everything that leans on their atomics across threads.
SYNC_FILTERS := @threads
SYNC_SRC     := $(sort $(wildcard src/sync/*.c))
SYNC_EMU_DEFS := -DKH_ATOMIC_EMULATE_SUBWORD=1 -DKH_ATOMIC64_MODE=2 -DKH_CONFIG_SPINLOCK_DEBUG=1

TEST_STEPS += test-tsan test-atomic-emulated test-atomic-nm test-atomic-up
.PHONY: test-tsan test-atomic-emulated test-atomic-nm test-atomic-up

# The single-CPU, no-CAS mode (ARMv6-M) forced on the host: every atomic
# read-modify-write through the port's interrupt hooks. Only the tests that
# also run on bare metal (no threads: the mode is for one CPU).
$(BUILD)/atomic-up/list.c: $(TEST_FILES) tests/gen_test_list.sh
	@mkdir -p $(@D)
	@sh tests/gen_test_list.sh $(TEST_FILES) > $@

$(BUILD)/atomic-up/kh_tests: $(ALL_TEST_DEPS) $(BUILD)/atomic-up/list.c
	@mkdir -p $(@D)
	$(CC) $(WARN) -O2 -g $(INC) $(HOSTED_DEFS) -DKH_ATOMIC_UP_IRQ=1 -o $@ \
	  $(sort $(LIB_SRC) $(HOSTED_SRC) $(TEST_SRC)) $(BUILD)/atomic-up/list.c $(HOST_LIBS)

test-atomic-up: $(BUILD)/atomic-up/kh_tests
	$(BUILD)/atomic-up/kh_tests

# setarch -R (when allowed): clang 14's TSan runtime cannot map its shadow
# under the address randomisation of some recent kernels.
test-tsan: $(BUILD)/tsan/kh_tests
	TSAN_OPTIONS="halt_on_error=1 exitcode=66 second_deadlock_stack=1" \
	  $$(setarch $$(uname -m) -R true 2> /dev/null && echo setarch $$(uname -m) -R) \
	  $(BUILD)/tsan/kh_tests --scale 4 @threads

$(BUILD)/sync-emu/kh_tests: $(ALL_TEST_DEPS) mk/sync.mk
	@mkdir -p $(@D)
	$(CC) $(WARN) -O2 -g $(INC) $(HOSTED_DEFS) $(SYNC_EMU_DEFS) -o $@ $(LIB_SRC) $(HOSTED_SRC) \
	  $(TEST_SRC) $(BUILD)/test_list_hosted.c $(HOST_LIBS)

test-atomic-emulated: $(BUILD)/sync-emu/kh_tests
	$(BUILD)/sync-emu/kh_tests $(SYNC_FILTERS)

# $(call sync_nm_check,name,tool prefix,flags)
define sync_nm_check
	@if command -v $(2)gcc > /dev/null; then \
	  d=$(BUILD)/sync-nm/$(1); mkdir -p $$d; ok=1; \
	  for f in $(SYNC_SRC); do \
	    $(2)gcc $(WARN) $(3) -ffreestanding -nostdinc -isystem $$($(2)gcc -print-file-name=include) \
	      -Iinclude -Isrc -c $$f -o $$d/$$(basename $$f .c).o || ok=0; \
	  done; \
	  if [ $$ok = 1 ] && $(2)nm -u $$d/*.o | grep -E ' __(atomic|sync)_'; then \
	    ok=0; echo "libatomic call in the $(1) objects"; fi; \
	  if [ $$ok = 1 ] && ! $(2)nm --defined-only $$d/atomic.o | grep -q ' T kh_atomic8_fetch_or_acquire$$'; then \
	    ok=0; echo "exported twins missing from the $(1) atomic.o"; fi; \
	  if [ $$ok = 1 ]; then echo "ok   sync objects $(1): no libatomic, twins exported"; echo p >> $(BUILD)/sync-nm/results; \
	  else echo "FAIL sync objects $(1)"; echo f >> $(BUILD)/sync-nm/results; fi; \
	else echo "note: $(2)gcc not installed, $(1) not checked"; fi
endef

test-atomic-nm:
	@rm -rf $(BUILD)/sync-nm; mkdir -p $(BUILD)/sync-nm; : > $(BUILD)/sync-nm/results
	$(call sync_nm_check,cortex-m3-Os,arm-none-eabi-,-mcpu=cortex-m3 -mthumb -Os)
	$(call sync_nm_check,cortex-m3-O0,arm-none-eabi-,-mcpu=cortex-m3 -mthumb -O0)
	$(call sync_nm_check,rv64imac-Os,riscv64-unknown-elf-,-march=rv64imac -mabi=lp64 -mcmodel=medany -Os)
	$(call sync_nm_check,rv64imac-O0,riscv64-unknown-elf-,-march=rv64imac -mabi=lp64 -mcmodel=medany -O0)
	$(call sync_nm_check,rv32imac-Os,riscv64-unknown-elf-,-march=rv32imac -mabi=ilp32 -Os)
	$(call sync_nm_check,rv32imac-O0,riscv64-unknown-elf-,-march=rv32imac -mabi=ilp32 -O0)
	$(call sync_nm_check,i386-gcc-O0,,-m32 -O0)
	@# The check itself must be able to fail: a 64-bit atomic on Cortex-M3 is a libatomic call.
	@if command -v arm-none-eabi-gcc > /dev/null; then \
	  printf 'unsigned long long f(unsigned long long *p) { return __atomic_fetch_add(p, 1, 5); }\n' | \
	    arm-none-eabi-gcc -mcpu=cortex-m3 -mthumb -O2 -x c -c - -o $(BUILD)/sync-nm/control.o; \
	  if arm-none-eabi-nm -u $(BUILD)/sync-nm/control.o | grep -qE ' __(atomic|sync)_'; then \
	    echo "ok   nm check sees a libatomic call when there is one"; echo p >> $(BUILD)/sync-nm/results; \
	  else echo "FAIL nm check missed a libatomic call"; echo f >> $(BUILD)/sync-nm/results; fi; fi
	@p=$$(grep -c p $(BUILD)/sync-nm/results); f=$$(grep -c f $(BUILD)/sync-nm/results); \
	  echo "$$p passed, $$f failed"; [ $$f -eq 0 ]
