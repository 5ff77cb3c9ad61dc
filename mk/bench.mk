# SPDX-License-Identifier: MIT
# Benchmarks (bench/): `make bench` runs every workload and writes the CSV in
# bench/results/ plus the plots in docs/; `make bench-smoke` (part of
# `make test`) runs the --quick pass into build/ so the program never breaks
# silently. No timing is asserted anywhere.
BENCH_SRC  := bench/kh_bench.c bench/kb_alloc.c bench/kb_util.c bench/kb_trace.c bench/kb_coll.c \
	bench/kb_heap_h0.c bench/kb_heap_h2.c
BENCH_REC  := $(BUILD)/bench/kb_trace_recorder.so
BENCH_BIN  := $(BUILD)/bench/kh_bench
BENCH_LIBS := -ldl -lpthread -lm
BENCH_PKGS := libjemalloc-dev libmimalloc-dev libgoogle-perftools-dev gnuplot python3-matplotlib

TEST_STEPS += bench-smoke
.PHONY: bench-smoke bench-deps

$(BENCH_BIN): $(BENCH_SRC) $(wildcard bench/*.h) $(BUILD)/lib/libkheap.a src/core/heap.c $(LIB_HDRS)
	@mkdir -p $(@D)
	$(CC) $(WARN) -O2 -g $(INC) -D_GNU_SOURCE -o $@ $(BENCH_SRC) $(BUILD)/lib/libkheap.a $(BENCH_LIBS)

# The fit workloads again in a 32-bit build (W = 4, the microcontroller's
# header and granule), when the compiler can target it (gcc-multilib).
BENCH32_BIN := $(BUILD)/bench/kh_bench32
BENCH32_OK  := $(shell echo 'int main(void){return 0;}' | $(CC) -m32 -x c - -o /dev/null 2>/dev/null && echo 1)

$(BENCH32_BIN): $(BENCH_SRC) $(wildcard bench/*.h) $(LIB_SRC) $(HOSTED_SRC) $(LIB_HDRS)
	@mkdir -p $(@D)
	$(CC) -m32 -msse2 $(WARN) -O2 -g $(INC) -D_GNU_SOURCE -DKB_NO_COMPETITORS -o $@ $(BENCH_SRC) $(LIB_SRC) $(HOSTED_SRC) $(BENCH_LIBS)

# How make runs a 32-bit x86 program: directly when the kernel can execute
# one, else under qemu-i386 (qemu-user), else not at all: a loud NOT RUN
# banner, never a failure (some kernels, CI's among them, run no 32-bit
# programs). BENCH32_EXEC=native|qemu|none forces one way; auto (default)
# takes the first that works, probing with a tiny -m32 program
# (BENCH32_NATIVE_PROBE: the command that must succeed for a native run).
# test-m32-paths checks the qemu and NOT RUN paths on any machine.
BENCH32_EXEC ?= auto
QEMU_I386    ?= qemu-i386
BENCH32_PROBE := $(BUILD)/bench/probe32
BENCH32_NATIVE_PROBE ?= $(BENCH32_PROBE)

$(BENCH32_PROBE):
	@mkdir -p $(@D)
	@echo 'int main(void){return 0;}' | $(CC) -m32 -x c - -o $@

# $(call run32,program args [> out]): run a 32-bit program the first way that
# works (see BENCH32_EXEC).
define run32
@mode=$(BENCH32_EXEC); \
	if [ $$mode = auto ]; then \
	  if $(BENCH32_NATIVE_PROBE) > /dev/null 2>&1; then mode=native; \
	  elif command -v $(QEMU_I386) > /dev/null && $(QEMU_I386) $(BENCH32_PROBE) > /dev/null 2>&1; then mode=qemu; \
	  else mode=none; fi; \
	fi; \
	case $$mode in \
	native) echo '$(1)'; $(1) ;; \
	qemu) echo "this kernel cannot run 32-bit x86 programs: running under $(QEMU_I386)"; \
	  echo '$(QEMU_I386) $(1)'; $(QEMU_I386) $(1) ;; \
	*) echo "#################################################################"; \
	  echo "### 32-BIT x86 RUN NOT RUN: this kernel cannot execute 32-bit"; \
	  echo "### programs and $(QEMU_I386) (Debian: qemu-user) is missing"; \
	  echo "### not run: $(firstword $(1))"; \
	  echo "#################################################################" ;; \
	esac
endef

# LD_PRELOAD recorder (bench/traces/README.md shows how the traces were made).
$(BENCH_REC): bench/trace_recorder.c
	@mkdir -p $(@D)
	$(CC) $(WARN) -O2 -fPIC -shared -D_GNU_SOURCE -o $@ $< -lpthread

# Debian's python3 (python3-matplotlib); a pyenv/venv python may lack it.
BENCH_PY := $(shell test -x /usr/bin/python3 && echo /usr/bin/python3 || echo python3)

bench: $(BENCH_BIN) $(BENCH_REC) $(if $(BENCH32_OK),$(BENCH32_BIN) $(BENCH32_PROBE))
	@mkdir -p bench/results/m32 docs
	rm -f bench/results/*.csv bench/results/summary-*.md bench/results/m32/*
	$(BENCH_BIN) --out bench/results all
	$(if $(BENCH32_OK),$(call run32,$(BENCH32_BIN) --out bench/results/m32 efficiency),@echo "bench: no -m32 compiler (gcc-multilib): 32-bit fit skipped")
	sh bench/codesize.sh --csv bench/results > bench/results/codesize.md
	sh bench/worstcase.sh $(BUILD) $(CC) > bench/results/worstcase.md
	$(BENCH_PY) bench/plots.py bench/results docs
	$(BENCH_PY) bench/mkdoc.py bench/results docs

bench-smoke: $(BENCH_BIN) $(BENCH_REC) bench-smoke32
	$(BENCH_BIN) --quick --out $(BUILD)/bench-smoke all > $(BUILD)/bench-smoke/stdout.txt
	rm -f $(BUILD)/bench-smoke/rec.*
	KB_TRACE=$(BUILD)/bench-smoke/rec LD_PRELOAD=$(abspath $(BENCH_REC)) sort bench/traces/sqlite3-batch.sql > /dev/null
	$(BENCH_BIN) convert $$(ls $(BUILD)/bench-smoke/rec.*.raw | head -n 1) $(BUILD)/bench-smoke/rec.kht
	$(BENCH_BIN) --quick --alloc kheap,glibc --out $(BUILD)/bench-smoke replay $(BUILD)/bench-smoke/rec.kht > /dev/null
	@# The worst-case scenarios still take the paths they are named after.
	$(CC) -std=c11 $(WARN) -O2 -Iinclude -o $(BUILD)/bench-smoke/worstcase1 bench/worstcase.c src/core/heap.c
	$(CC) -std=c11 $(WARN) -O2 -Iinclude -DKH_CONFIG_CHECKS=0 -DKH_CONFIG_HARDEN=0 \
	  -o $(BUILD)/bench-smoke/worstcase0 bench/worstcase.c src/core/heap.c
	$(BUILD)/bench-smoke/worstcase1 && $(BUILD)/bench-smoke/worstcase0
	$(BUILD)/bench-smoke/worstcase1 random && $(BUILD)/bench-smoke/worstcase0 random
	@echo "bench-smoke: ok ($(BUILD)/bench-smoke)"

# The 32-bit fit pass of bench-smoke (run as run32 says).
BENCH32_SMOKE_OUT ?= $(BUILD)/bench-smoke/m32
bench-smoke32: $(if $(BENCH32_OK),$(BENCH32_BIN) $(BENCH32_PROBE))
	@rm -rf $(BENCH32_SMOKE_OUT); mkdir -p $(BENCH32_SMOKE_OUT)
	$(if $(BENCH32_OK),$(call run32,$(BENCH32_BIN) --quick --out $(BENCH32_SMOKE_OUT) efficiency > $(BENCH32_SMOKE_OUT)/stdout.txt),@echo "#################################################################"; \
	  echo "### 32-BIT x86 RUN NOT RUN: $(CC) cannot build -m32 programs"; \
	  echo "### (Debian: gcc-multilib; make deps installs it)"; \
	  echo "#################################################################")

# The other ways of running the 32-bit pass, whatever this machine's kernel
# can do: as on a kernel without 32-bit support (native probe failing) with
# qemu-i386, then with qemu-i386 missing too (the NOT RUN banner, success).
TEST_STEPS += test-m32-paths
.PHONY: bench-smoke32 test-m32-paths
test-m32-paths: $(if $(BENCH32_OK),$(BENCH32_BIN) $(BENCH32_PROBE))
	@sh tests/adopt/m32_paths_check.sh "$(MAKE)" "$(BUILD)" "$(BENCH32_OK)"

bench-deps:
	@missing=""; for p in $(BENCH_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -z "$$missing" ]; then echo "bench-deps: all installed"; \
	elif [ "$$(id -u)" = 0 ]; then DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	else echo "bench-deps: run as root: apt-get install -y$$missing"; exit 1; fi
