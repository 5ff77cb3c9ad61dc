# SPDX-License-Identifier: MIT
# Big-endian: the on-target test suite as a static big-endian MIPS32 Linux
# program (port/mips-linux-user) under qemu-user. Everything else in make test
# runs little-endian; this shows the byte-order-dependent code (the sub-word
# atomic emulation above all) right on a big-endian CPU.
#   make test-bigendian   two builds, each run under qemu-mips:
#                         native  sub-word atomics as the compiler does them,
#                                 64-bit atomics through the lock fallback
#                                 (MIPS32 has no 64-bit compare-and-swap)
#                         emu     sub-word atomics forced through kheap's own
#                                 CAS-on-the-word emulation, with the same
#                                 defines as test-atomic-emulated (SYNC_EMU_DEFS)
# Needs clang, ld.lld and qemu-mips (Debian: clang, lld, qemu-user); gcc for
# MIPS would conflict with gcc-multilib.

BE_CC     ?= $(CLANG)
BE_LD     ?= ld.lld
QEMU_MIPS ?= qemu-mips
# Seconds before a run counts as hung (and failed).
BE_TIMEOUT ?= 240
# kh_test_iters divisor: qemu-user runs the whole suite at full size in about
# 30 s here; 5 keeps the step near 20 s for both builds.
BE_SCALE  ?= 5
# Test arena: the hosted size (64 MiB; a process under qemu-user has room).
BE_ARENA  ?= 0x4000000

BB := $(BUILD)/bigendian
BE_MISSING := $(strip $(foreach t,$(BE_CC) $(BE_LD) $(QEMU_MIPS),$(if $(shell command -v $(t) 2>/dev/null),,$(t))))

ifeq ($(BE_MISSING),)
TEST_STEPS += test-bigendian
else
TEST_STEPS += test-bigendian-missing
endif

.PHONY: test-bigendian test-bigendian-missing

# -fno-pic -mno-abicalls: a static program, no GOT. -mno-gpopt: clang 14
# crashes ("Cannot select: MipsISD::GPRel") on src/coll/fmt.c with gp-relative
# small data, which -mno-abicalls turns on. -nostdinc: only clang's own
# freestanding headers plus the bare-metal <string.h> (the host's /usr/include
# is for another CPU).
BE_ARCH := --target=mips-linux-gnu -march=mips32r2 -fno-pic -mno-abicalls -mno-gpopt
BE_CFLAGS = $(BE_ARCH) $(WARN) -O2 -g -ffreestanding -nostdinc \
	-isystem $(shell $(BE_CC) -print-resource-dir 2>/dev/null)/include -isystem port/riscv/include \
	-ffunction-sections -fdata-sections $(INC) -Iport/mips-linux-user -Iport/baremetal \
	-DKH_TEST_ARENA_BYTES=$(BE_ARENA) -DKH_BARE_TEST_SCALE=$(BE_SCALE)
BE_LDFLAGS := -nostdlib -static --ld-path=$(BE_LD) -Wl,--gc-sections
BE_PORT := port/mips-linux-user/start.S port/mips-linux-user/startup.c port/mips-linux-user/port.c \
	port/mips-linux-user/div64.c port/baremetal/test_main.c port/baremetal/mem.c

BE_DEPS = $(LIB_SRC) $(TEST_TARGET_SRC) $(BB)/test_list_bare.c $(BE_PORT) port/riscv/include/string.h \
	$(LIB_HDRS) $(wildcard tests/*.h port/baremetal/*) mk/bigendian.mk

# The on-target table: KH_TEST_HOSTED_ONLY tests left out.
$(BB)/test_list_bare.c: $(TEST_FILES) tests/gen_test_list.sh
	@mkdir -p $(@D)
	@sh tests/gen_test_list.sh $(TEST_FILES) > $@

$(BB)/native.elf: $(BE_DEPS)
	@mkdir -p $(@D)
	@echo "  build $@"
	@$(BE_CC) $(BE_CFLAGS) $(BE_LDFLAGS) -o $@ $(BE_PORT) $(LIB_SRC) $(TEST_TARGET_SRC) $(BB)/test_list_bare.c

$(BB)/emu.elf: $(BE_DEPS) mk/sync.mk
	@mkdir -p $(@D)
	@echo "  build $@"
	@$(BE_CC) $(BE_CFLAGS) $(SYNC_EMU_DEFS) $(BE_LDFLAGS) -o $@ $(BE_PORT) $(LIB_SRC) $(TEST_TARGET_SRC) $(BB)/test_list_bare.c

# $(call be_run,name): run $(BB)/name.elf under qemu-mips with a timeout and
# show its output, which ends with the runner's "N passed, N failed" line
# (what tests/run_all.sh adds up). A hang, a crash (a signal) or a failed test
# fails the step; a run that printed no totals line counts as one failure.
define be_run
echo "\$$ timeout $(BE_TIMEOUT) $(QEMU_MIPS) $(BB)/$(1).elf"; \
timeout $(BE_TIMEOUT) $(QEMU_MIPS) $(BB)/$(1).elf < /dev/null > $(BB)/$(1).log 2>&1; rc=$$?; \
if [ $$rc -eq 124 ]; then echo "$(1): HUNG, killed after $(BE_TIMEOUT) s"; \
elif [ $$rc -ne 0 ]; then echo "$(1): exit status $$rc"; fi; \
cat $(BB)/$(1).log; [ $$rc -eq 0 ] || bad=1; \
grep -qE '^[0-9]+ passed, [0-9]+ failed' $(BB)/$(1).log || { bad=1; echo "bigendian: 0 passed, 1 failed"; }
endef

test-bigendian: $(BB)/native.elf $(BB)/emu.elf
	@bad=0; $(call be_run,native); $(call be_run,emu); exit $$bad

test-bigendian-missing:
	@echo "#################################################################"
	@echo "### BIG-ENDIAN TESTS NOT RUN: missing $(BE_MISSING)"
	@echo "### Install the tools with: make deps   (as root)"
	@echo "#################################################################"
	@echo "bigendian: 0 passed, 0 failed"
