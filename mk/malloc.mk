# SPDX-License-Identifier: MIT
# kheap as the process malloc, and as newlib's and picolibc's malloc.
#   make malloc          build/lib/libkheap-malloc.so (LD_PRELOAD or link it)
#   make test-malloc     the malloc semantics and thread stress programs, and
#                        real programs (python3's own tests, sqlite3, git)
#                        with and without the drop-in: same results
#   make test-libc-malloc  newlib and picolibc firmware on a QEMU Cortex-M3
#                        whose every allocation comes from kheap
#   make bench-programs  time and peak RSS of those programs on kheap, glibc,
#                        jemalloc, mimalloc, tcmalloc -> docs/BENCHMARKS.md table

MALLOC_SO := $(BUILD)/lib/libkheap-malloc.so
MO := $(BUILD)/malloc

# The drop-in is the library (LIB_SRC: every source of the layers, HOSTED_SRC:
# their hosted/ adapters and port/hosted/, both found by folder in the
# Makefile) plus src/integration/hosted/. Unused code is dropped at link time
# (--gc-sections); only the C library's allocation names and
# kh_malloc_stats_line are exported (-fvisibility=hidden). The core heap is
# built up to hardening level 2 (KH_CONFIG_HARDEN=2); each heap runs at the
# level KHEAP_MALLOC_HARDEN picks (0 by default).
DROPIN_SRC := $(sort $(wildcard src/integration/hosted/*.c))
MALLOC_SRC := $(LIB_SRC) $(HOSTED_SRC) $(DROPIN_SRC)
MALLOC_HDRS := $(LIB_HDRS) $(wildcard src/integration/*.h src/integration/hosted/*.h)
MALLOC_CFLAGS := $(WARN) -O2 -g -fPIC -fvisibility=hidden -ftls-model=initial-exec \
	-ffunction-sections -fdata-sections -fno-builtin-malloc -fno-builtin-calloc \
	-fno-builtin-realloc -fno-builtin-free $(INC) -D_GNU_SOURCE -DKH_CONFIG_HARDEN=2 \
	-DKH_MALLOC_DROPIN=1

.PHONY: malloc

malloc: $(MALLOC_SO)

$(MALLOC_SO): $(MALLOC_SRC) $(MALLOC_HDRS) mk/malloc.mk
	@mkdir -p $(@D) $(MO)/obj && rm -f $(MO)/obj/*.o
	@set -e; for f in $(MALLOC_SRC); do \
	  $(CC) $(MALLOC_CFLAGS) -c $$f -o $(MO)/obj/$$(echo $$f | tr / _ | sed 's/\.c$$//').o; done
	@$(CC) -shared -o $@ $(MO)/obj/*.o -Wl,--gc-sections -Wl,-z,now -lpthread
	@echo "built $@"

# --- Test programs and the real-program step ----------------------------------

MALLOC_TEST_CFLAGS := $(WARN) -O2 -g

$(MO)/malloc_semantics: tests/integration/malloc_semantics.c
	@mkdir -p $(@D)
	$(CC) $(MALLOC_TEST_CFLAGS) -pthread -o $@ $< -ldl

# The same program linked with the drop-in instead of preloading it.
$(MO)/malloc_semantics_linked: tests/integration/malloc_semantics.c $(MALLOC_SO)
	@mkdir -p $(@D)
	$(CC) $(MALLOC_TEST_CFLAGS) -pthread -o $@ $< -L$(BUILD)/lib -lkheap-malloc \
	  -Wl,-rpath,$(abspath $(BUILD)/lib) -ldl

$(MO)/malloc_misuse: tests/integration/malloc_misuse.c
	@mkdir -p $(@D)
	$(CC) $(MALLOC_TEST_CFLAGS) -pthread -o $@ $<

$(MO)/malloc_stress: tests/integration/malloc_stress.c
	@mkdir -p $(@D)
	$(CC) $(MALLOC_TEST_CFLAGS) -pthread -o $@ $<

CXX ?= c++
$(MO)/malloc_cxx: tests/integration/malloc_cxx.cc
	@mkdir -p $(@D)
	$(CXX) -std=c++17 -Wall -Wextra -Wpedantic -Werror -O2 -g -o $@ $< -ldl

TEST_STEPS += test-malloc
.PHONY: test-malloc

test-malloc: $(MALLOC_SO) $(MO)/malloc_semantics $(MO)/malloc_semantics_linked $(MO)/malloc_stress \
	$(MO)/malloc_cxx $(MO)/malloc_misuse
	@sh tests/integration/real_programs.sh $(MALLOC_SO) $(MO) $(MO)/work

# --- Real-program benchmark -------------------------------------------------------
# Not part of make test: ~15 minutes. Rewrites the real-program section of
# docs/BENCHMARKS.md (between its programs:begin/end markers).
BENCH_PROGRAMS_REPS ?= 3
.PHONY: bench-programs

bench-programs: $(MALLOC_SO) $(MO)/malloc_stress
	sh tests/integration/bench_programs.sh $(MALLOC_SO) $(MO) $(MO)/bench $(MO)/bench-programs.md \
	  $(BENCH_PROGRAMS_REPS) docs/BENCHMARKS.md

# --- Firmware: kheap as newlib's and picolibc's malloc on a QEMU Cortex-M3 ------
# The same program (tests/integration/firmware/libc_malloc_fw.c) linked with
# newlib (+ librdimon semihosting, the port's vector table and a small reset
# that runs newlib's constructors) and with picolibc (its own crt0 and
# picolibc.ld, semihosting). Sources: the library (LIB_SRC, no hosted/
# adapters) and the freestanding glue in src/integration/.
# (The same defaults as mk/metal.mk, which is read after this file.)
ARM_CC ?= arm-none-eabi-gcc
QEMU_ARM ?= qemu-system-arm
QEMU_TIMEOUT ?= 240
FW_TOOLS_OK := $(and $(shell command -v $(ARM_CC) 2>/dev/null),$(shell command -v $(QEMU_ARM) 2>/dev/null))
FWB := $(BUILD)/firmware
FW_DIR := tests/integration/firmware
FW_LIB_SRC := $(LIB_SRC) $(sort $(wildcard src/integration/*.c))
FW_DEPS := $(FW_LIB_SRC) $(MALLOC_HDRS) $(wildcard $(FW_DIR)/*) port/cortex-m3/start.S port/cortex-m3/port.c mk/malloc.mk
FW_CFLAGS := -mcpu=cortex-m3 -mthumb $(WARN) -O2 -g -ffunction-sections -fdata-sections $(INC)
FW_QEMU := $(QEMU_ARM) -cpu cortex-m3 -machine mps2-an385 -nographic -semihosting-config enable=on,target=native -kernel
PICOLIBC_SPECS := $(firstword $(wildcard /usr/lib/picolibc/arm-none-eabi/picolibc.specs))
# mps2-an385: 4 MiB of code at 0, 16 MiB of RAM at 0x21000000 (as newlib-mps2.ld).
PICOLIBC_MEM := -Wl,--defsym=__flash=0 -Wl,--defsym=__flash_size=0x400000 -Wl,--defsym=__ram=0x21000000 \
	-Wl,--defsym=__ram_size=0x1000000 -Wl,--defsym=__stack_size=0x10000

$(FWB)/newlib.elf: $(FW_DEPS)
	@mkdir -p $(@D)
	@echo "  build $@"
	@$(ARM_CC) $(FW_CFLAGS) -DKH_MALLOC_NEWLIB=1 -DFW_OUT_FILE='"$(FWB)/newlib-out.txt"' -nostartfiles \
	  -T $(FW_DIR)/newlib-mps2.ld -Wl,--gc-sections -Wl,-Map=$(FWB)/newlib.map -o $@ \
	  port/cortex-m3/start.S port/cortex-m3/port.c $(FW_DIR)/newlib_start.c $(FW_DIR)/libc_malloc_fw.c \
	  $(FW_LIB_SRC) -Wl,--start-group -lc -lrdimon -lgcc -Wl,--end-group

$(FWB)/picolibc.elf: $(FW_DEPS)
	@mkdir -p $(@D)
	@echo "  build $@"
	@$(ARM_CC) --specs=picolibc.specs --oslib=semihost --crt0=semihost $(FW_CFLAGS) -DKH_MALLOC_PICOLIBC=1 \
	  -DFW_OUT_FILE='"$(FWB)/picolibc-out.txt"' $(PICOLIBC_MEM) -Wl,--gc-sections -Wl,-Map=$(FWB)/picolibc.map \
	  -o $@ port/cortex-m3/port.c $(FW_DIR)/libc_malloc_fw.c $(FW_LIB_SRC)

.PHONY: test-libc-malloc test-libc-malloc-missing
ifneq ($(FW_TOOLS_OK),)
TEST_STEPS += test-libc-malloc
else
TEST_STEPS += test-libc-malloc-missing
endif

test-libc-malloc: $(FWB)/newlib.elf $(if $(PICOLIBC_SPECS),$(FWB)/picolibc.elf)
	@bad=0; \
	sh $(FW_DIR)/check_firmware.sh newlib $(FWB)/newlib.elf $(FWB)/newlib.map $(FWB)/newlib-out.txt \
	  $(QEMU_TIMEOUT) $(FW_QEMU) || bad=1; \
	if [ -n "$(PICOLIBC_SPECS)" ]; then \
	  sh $(FW_DIR)/check_firmware.sh picolibc $(FWB)/picolibc.elf $(FWB)/picolibc.map $(FWB)/picolibc-out.txt \
	    $(QEMU_TIMEOUT) $(FW_QEMU) || bad=1; \
	else \
	  echo "#################################################################"; \
	  echo "### PICOLIBC FIRMWARE TEST NOT RUN: picolibc-arm-none-eabi missing"; \
	  echo "### Install it with: make deps   (as root)"; \
	  echo "#################################################################"; \
	fi; exit $$bad

test-libc-malloc-missing:
	@echo "#################################################################"
	@echo "### NEWLIB/PICOLIBC FIRMWARE TESTS NOT RUN: missing $(ARM_CC) or $(QEMU_ARM)"
	@echo "### Install the tools with: make deps   (as root)"
	@echo "#################################################################"
	@echo "firmware: 0 passed, 0 failed"
