# SPDX-License-Identifier: MIT
# Bare metal in QEMU: the demo and the test suite on Cortex-M3 and
# RISC-V, and the code-size table.
#   make demo         Cortex-M3 demo in QEMU (hosted demo when the tools are missing)
#   make demo-hosted  the demo as a host program
#   make demo-riscv   the demo on RISC-V rv64 in QEMU
#   make test-qemu    test suite + demos on Cortex-M3, rv64 and rv32 in QEMU,
#                     two rv64 harts sharing a spin-locked heap, and the sync
#                     tests on a Cortex-M0 (ARMv6-M: no exclusive loads)
#   make size         .text/.data/.bss per module -> docs/SIZE.md

ARM_CC   ?= arm-none-eabi-gcc
RV_CC    ?= riscv64-unknown-elf-gcc
QEMU_ARM ?= qemu-system-arm
QEMU_RV64 ?= qemu-system-riscv64
QEMU_RV32 ?= qemu-system-riscv32
# Seconds before a QEMU run counts as hung (and failed).
QEMU_TIMEOUT ?= 240
# kh_test_iters divisor on target (QEMU runs far slower than the host).
METAL_SCALE ?= 50
# Test arena on target: 8 MiB (mps2-an385 PSRAM is 16 MiB, virt RAM 128 MiB).
METAL_ARENA ?= 0x800000

MB := $(BUILD)/metal
METAL_TOOLS := $(ARM_CC) $(RV_CC) $(QEMU_ARM) $(QEMU_RV64) $(QEMU_RV32)
METAL_MISSING := $(strip $(foreach t,$(METAL_TOOLS),$(if $(shell command -v $(t) 2>/dev/null),,$(t))))
ARM_OK := $(and $(shell command -v $(ARM_CC) 2>/dev/null),$(shell command -v $(QEMU_ARM) 2>/dev/null))

# The hosted demo runs everywhere, so a change that breaks it shows in make test.
TEST_STEPS += test-demo
ifeq ($(METAL_MISSING),)
TEST_STEPS += test-qemu
else
TEST_STEPS += test-qemu-missing
endif

.PHONY: demo-hosted demo-cm3 demo-riscv test-demo test-qemu test-qemu-missing size metal-elves

# Flags shared by every bare-metal build. -fno-tree-loop-distribute-patterns
# keeps GCC from turning the port's memcpy/memset loops into calls to themselves.
BARE_CFLAGS := $(WARN) -O2 -g -ffreestanding -fno-tree-loop-distribute-patterns \
	-ffunction-sections -fdata-sections $(INC) -Iexamples/common -Iport/baremetal
BARE_LDFLAGS := -nostdlib -nostartfiles -Wl,--gc-sections -Wl,--no-warn-rwx-segments

CM3_ARCH := -mcpu=cortex-m3 -mthumb
CM3_PORT := port/cortex-m3/start.S port/cortex-m3/startup.c port/cortex-m3/port.c port/baremetal/mem.c
CM3_LD = -Lport/cortex-m3 -T port/cortex-m3/$(1).ld

RV64_ARCH := -march=rv64imac -mabi=lp64 -mcmodel=medany
RV32_ARCH := -march=rv32imac -mabi=ilp32 -mcmodel=medany
RV_PORT := port/riscv/start.S port/riscv/startup.c port/riscv/port.c port/baremetal/mem.c
# The Debian riscv64-unknown-elf toolchain has no libc headers: the port's
# minimal <string.h> stands in.
RV_INC := -isystem port/riscv/include -Iport/riscv
RV_TEST_WFLAGS :=
RV_LD := -T port/riscv/virt.ld

METAL_DEPS = $(LIB_SRC) $(TEST_TARGET_SRC) $(MB)/test_list_bare.c \
	$(LIB_HDRS) $(wildcard tests/*.h port/baremetal/* port/cortex-m3/* port/riscv/* \
	port/riscv/include/* examples/common/*) mk/metal.mk
DEMO_SRC := examples/common/kh_demo.c

# The bare-metal test table leaves KH_TEST_HOSTED_ONLY tests out.
$(MB)/test_list_bare.c: $(TEST_FILES) tests/gen_test_list.sh
	@mkdir -p $(@D)
	@sh tests/gen_test_list.sh $(TEST_FILES) > $@

TEST_BARE_SRC = $(LIB_SRC) $(TEST_TARGET_SRC) $(MB)/test_list_bare.c
TEST_BARE_DEFS = -DKH_TEST_ARENA_BYTES=$(METAL_ARENA) -DKH_BARE_TEST_SCALE=$(METAL_SCALE)

$(MB)/cm3-tests.elf: $(METAL_DEPS)
	@mkdir -p $(@D)
	@echo "  build $@"
	@$(ARM_CC) $(CM3_ARCH) $(BARE_CFLAGS) -Iport/cortex-m3 $(TEST_BARE_DEFS) $(BARE_LDFLAGS) \
	  $(call CM3_LD,mps2-an385) -o $@ $(CM3_PORT) port/baremetal/test_main.c $(TEST_BARE_SRC) -lgcc

# Cortex-M0 on the micro:bit board (16 KiB RAM): the tests of the sync layer,
# whose ARMv6-M atomics mask interrupts instead of using exclusive loads.
CM0_ARCH := -mcpu=cortex-m0 -mthumb
CM0_TEST_FILES := tests/test_atomic.c tests/test_spinlock.c tests/test_refcount.c

$(MB)/test_list_cm0.c: $(CM0_TEST_FILES) tests/gen_test_list.sh
	@mkdir -p $(@D)
	@sh tests/gen_test_list.sh $(CM0_TEST_FILES) > $@

$(MB)/cm0-sync-tests.elf: $(METAL_DEPS) $(MB)/test_list_cm0.c
	@mkdir -p $(@D)
	@echo "  build $@"
	@$(ARM_CC) $(CM0_ARCH) $(BARE_CFLAGS) -Iport/cortex-m3 -DKH_TEST_ARENA_BYTES=1024 \
	  -DKH_BARE_TEST_SCALE=$(METAL_SCALE) $(BARE_LDFLAGS) $(call CM3_LD,microbit) -o $@ $(CM3_PORT) \
	  port/baremetal/test_main.c $(LIB_SRC) tests/kh_test.c $(CM0_TEST_FILES) $(MB)/test_list_cm0.c -lgcc

$(MB)/cm3-demo.elf: $(METAL_DEPS)
	@mkdir -p $(@D)
	@echo "  build $@"
	@$(ARM_CC) $(CM3_ARCH) $(BARE_CFLAGS) -Os -Iport/cortex-m3 $(BARE_LDFLAGS) \
	  $(call CM3_LD,lm3s6965evb) -o $@ $(CM3_PORT) examples/cortex-m3/main.c $(DEMO_SRC) $(LIB_SRC) -lgcc

$(MB)/rv64-tests.elf: $(METAL_DEPS)
	@mkdir -p $(@D)
	@echo "  build $@"
	@$(RV_CC) $(RV64_ARCH) $(BARE_CFLAGS) $(RV_TEST_WFLAGS) $(RV_INC) $(TEST_BARE_DEFS) $(BARE_LDFLAGS) $(RV_LD) \
	  -o $@ $(RV_PORT) port/baremetal/test_main.c $(TEST_BARE_SRC) -lgcc

$(MB)/rv32-tests.elf: $(METAL_DEPS)
	@mkdir -p $(@D)
	@echo "  build $@"
	@$(RV_CC) $(RV32_ARCH) $(BARE_CFLAGS) $(RV_TEST_WFLAGS) $(RV_INC) $(TEST_BARE_DEFS) $(BARE_LDFLAGS) $(RV_LD) \
	  -o $@ $(RV_PORT) port/baremetal/test_main.c $(TEST_BARE_SRC) -lgcc

# Two harts, one heap, one spin lock (needs kheap/spinlock.h).
SMP_SRC = port/riscv/smp_test.c $(wildcard src/core/*.c) src/coll/fmt.c src/sync/atomic.c src/sync/spinlock.c \
	src/sync/abi.c

$(MB)/rv64-smp.elf: $(METAL_DEPS)
	@mkdir -p $(@D)
	@echo "  build $@"
	@$(RV_CC) $(RV64_ARCH) $(BARE_CFLAGS) $(RV_INC) $(BARE_LDFLAGS) $(RV_LD) \
	  -o $@ $(RV_PORT) $(SMP_SRC) -lgcc

$(MB)/rv64-demo.elf: $(METAL_DEPS)
	@mkdir -p $(@D)
	@echo "  build $@"
	@$(RV_CC) $(RV64_ARCH) $(BARE_CFLAGS) $(RV_INC) $(BARE_LDFLAGS) $(RV_LD) \
	  -o $@ $(RV_PORT) examples/riscv/main.c $(DEMO_SRC) $(LIB_SRC) -lgcc

QEMU_CM3_DEMO = $(QEMU_ARM) -cpu cortex-m3 -machine lm3s6965evb -nographic -semihosting-config enable=on,target=native -kernel
QEMU_CM3_TESTS = $(QEMU_ARM) -cpu cortex-m3 -machine mps2-an385 -nographic -semihosting-config enable=on,target=native -kernel
QEMU_CM0_TESTS = $(QEMU_ARM) -machine microbit -nographic -semihosting-config enable=on,target=native -kernel
QEMU_RV64_CMD = $(QEMU_RV64) -M virt -bios none -nographic -kernel
QEMU_RV32_CMD = $(QEMU_RV32) -M virt -bios none -nographic -kernel
# Multi-threaded TCG: the two harts run on two host threads at once.
QEMU_RV64_SMP = $(QEMU_RV64) -M virt -bios none -nographic -smp 2 -accel tcg,thread=multi -kernel

# $(call qemu_run,name,command): run under timeout with the output in
# $(MB)/name.log, print it, and leave the status in $$rc (124 = hung).
define qemu_run
echo "\$$ timeout $(QEMU_TIMEOUT) $(2)"; \
timeout $(QEMU_TIMEOUT) $(2) < /dev/null > $(MB)/$(1).log 2>&1; rc=$$?; \
tr -d '\r' < $(MB)/$(1).log | grep -v '^Timer with period zero'; \
if [ $$rc -eq 124 ]; then echo "$(1): HUNG, killed after $(QEMU_TIMEOUT) s"; fi
endef

# A demo passes when QEMU exits 0 and the last line was printed.
define demo_check
if [ $$rc -eq 0 ] && grep -q 'It did not crash!' $(MB)/$(1).log; then \
  echo "demo: 1 passed, 0 failed"; else echo "demo: 0 passed, 1 failed"; bad=1; fi
endef

# A suite passes when QEMU exits 0; a run that printed no totals counts as one failure.
define suite_check
if [ $$rc -ne 0 ]; then bad=1; \
  grep -qE '^[0-9]+ passed, [0-9]+ failed' $(MB)/$(1).log || echo "qemu: 0 passed, 1 failed"; fi
endef

metal-elves: $(MB)/cm3-tests.elf $(MB)/cm3-demo.elf $(MB)/rv64-tests.elf $(MB)/rv32-tests.elf \
	$(MB)/rv64-demo.elf $(MB)/rv64-smp.elf $(MB)/cm0-sync-tests.elf

test-qemu: metal-elves
	@bad=0; \
	$(call qemu_run,cm3-demo,$(QEMU_CM3_DEMO) $(MB)/cm3-demo.elf); $(call demo_check,cm3-demo); \
	$(call qemu_run,rv64-demo,$(QEMU_RV64_CMD) $(MB)/rv64-demo.elf); $(call demo_check,rv64-demo); \
	$(call qemu_run,cm3-tests,$(QEMU_CM3_TESTS) $(MB)/cm3-tests.elf); $(call suite_check,cm3-tests); \
	$(call qemu_run,rv64-tests,$(QEMU_RV64_CMD) $(MB)/rv64-tests.elf); $(call suite_check,rv64-tests); \
	$(call qemu_run,rv32-tests,$(QEMU_RV32_CMD) $(MB)/rv32-tests.elf); $(call suite_check,rv32-tests); \
	$(call qemu_run,rv64-smp,$(QEMU_RV64_SMP) $(MB)/rv64-smp.elf); $(call suite_check,rv64-smp); \
	$(call qemu_run,cm0-sync-tests,$(QEMU_CM0_TESTS) $(MB)/cm0-sync-tests.elf); $(call suite_check,cm0-sync-tests); \
	exit $$bad

test-qemu-missing:
	@echo "#################################################################"
	@echo "### QEMU BARE-METAL TESTS NOT RUN: missing $(METAL_MISSING)"
	@echo "### Install the tools with: make deps   (as root)"
	@echo "#################################################################"
	@echo "qemu: 0 passed, 0 failed"

$(MB)/demo-hosted: $(LIB_SRC) $(HOSTED_SRC) $(DEMO_SRC) examples/hosted/demo.c \
	$(LIB_HDRS) $(wildcard examples/common/*.h)
	@mkdir -p $(@D)
	@echo "  build $@"
	@$(CC) $(WARN) -O2 -g $(INC) -Iexamples/common -D_GNU_SOURCE -o $@ examples/hosted/demo.c \
	  $(DEMO_SRC) $(LIB_SRC) $(HOSTED_SRC) $(HOST_LIBS)

demo-hosted: $(MB)/demo-hosted
	$(MB)/demo-hosted

test-demo: $(MB)/demo-hosted
	@bad=0; $(MB)/demo-hosted > $(MB)/demo-hosted.log 2>&1; rc=$$?; cat $(MB)/demo-hosted.log; \
	$(call demo_check,demo-hosted); exit $$bad

demo-cm3: $(MB)/cm3-demo.elf
	@$(call qemu_run,cm3-demo,$(QEMU_CM3_DEMO) $(MB)/cm3-demo.elf); exit $$rc

demo-riscv: $(MB)/rv64-demo.elf
	@$(call qemu_run,rv64-demo,$(QEMU_RV64_CMD) $(MB)/rv64-demo.elf); exit $$rc

ifneq ($(ARM_OK),)
demo: demo-cm3
else
demo: demo-hosted
	@echo "(hosted demo: $(ARM_CC) or $(QEMU_ARM) is missing; to boot the demo on a"
	@echo " Cortex-M3 in QEMU, install the tools with: make deps)"
endif

# Code size per module, Cortex-M3 and rv32 -Os, into docs/SIZE.md.
size:
	@if [ -n "$(shell command -v $(ARM_CC) 2>/dev/null)" ] && [ -n "$(shell command -v $(RV_CC) 2>/dev/null)" ]; then \
	  sh bench/codesize.sh docs/SIZE.md; \
	else echo "make size needs $(ARM_CC) and $(RV_CC): install them with make deps"; exit 1; fi
