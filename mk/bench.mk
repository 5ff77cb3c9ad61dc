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
BENCH32_RUN := $(if $(BENCH32_OK),$(BENCH32_BIN),)

$(BENCH32_BIN): $(BENCH_SRC) $(wildcard bench/*.h) $(LIB_SRC) $(HOSTED_SRC) $(LIB_HDRS)
	@mkdir -p $(@D)
	$(CC) -m32 -msse2 $(WARN) -O2 -g $(INC) -D_GNU_SOURCE -DKB_NO_COMPETITORS -o $@ $(BENCH_SRC) $(LIB_SRC) $(HOSTED_SRC) $(BENCH_LIBS)

# LD_PRELOAD recorder (bench/traces/README.md shows how the traces were made).
$(BENCH_REC): bench/trace_recorder.c
	@mkdir -p $(@D)
	$(CC) $(WARN) -O2 -fPIC -shared -D_GNU_SOURCE -o $@ $< -lpthread

# Debian's python3 (python3-matplotlib); a pyenv/venv python may lack it.
BENCH_PY := $(shell test -x /usr/bin/python3 && echo /usr/bin/python3 || echo python3)

bench: $(BENCH_BIN) $(BENCH_REC) $(BENCH32_RUN)
	@mkdir -p bench/results/m32 docs
	rm -f bench/results/*.csv bench/results/summary-*.md bench/results/m32/*
	$(BENCH_BIN) --out bench/results all
	$(if $(BENCH32_OK),$(BENCH32_BIN) --out bench/results/m32 efficiency,@echo "bench: no -m32 compiler (gcc-multilib): 32-bit fit skipped")
	sh bench/codesize.sh --csv bench/results > bench/results/codesize.md
	$(BENCH_PY) bench/plots.py bench/results docs
	$(BENCH_PY) bench/mkdoc.py bench/results docs

bench-smoke: $(BENCH_BIN) $(BENCH_REC) $(BENCH32_RUN)
	@mkdir -p $(BUILD)/bench-smoke/m32
	$(BENCH_BIN) --quick --out $(BUILD)/bench-smoke all > $(BUILD)/bench-smoke/stdout.txt
	$(if $(BENCH32_OK),$(BENCH32_BIN) --quick --out $(BUILD)/bench-smoke/m32 efficiency > $(BUILD)/bench-smoke/m32/stdout.txt)
	rm -f $(BUILD)/bench-smoke/rec.*
	KB_TRACE=$(BUILD)/bench-smoke/rec LD_PRELOAD=$(abspath $(BENCH_REC)) sort bench/traces/sqlite3-batch.sql > /dev/null
	$(BENCH_BIN) convert $$(ls $(BUILD)/bench-smoke/rec.*.raw | head -n 1) $(BUILD)/bench-smoke/rec.kht
	$(BENCH_BIN) --quick --alloc kheap,glibc --out $(BUILD)/bench-smoke replay $(BUILD)/bench-smoke/rec.kht > /dev/null
	@echo "bench-smoke: ok ($(BUILD)/bench-smoke)"

bench-deps:
	@missing=""; for p in $(BENCH_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -z "$$missing" ]; then echo "bench-deps: all installed"; \
	elif [ "$$(id -u)" = 0 ]; then DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	else echo "bench-deps: run as root: apt-get install -y$$missing"; exit 1; fi
