# SPDX-License-Identifier: MIT
# kheap top-level Makefile: the targets people type.
#   make test    every test: plain, ASan+UBSan, valgrind, TSan, fuzz smoke,
#                freestanding/cross builds, QEMU bare metal, bench smoke
#   make demo    the demo (boots on Cortex-M3 in QEMU when the tools are there)
#   make bench   the benchmark program, tables, CSV and plots
#   make deps    install the Debian packages the tests need (as root)
# Build and test fragments in mk/*.mk add their own steps (appending to TEST_STEPS).

CC      ?= cc
CLANG   ?= clang
BUILD   ?= build
WARN    := -std=c11 -Wall -Wextra -Wpedantic -Werror
INC     := -Iinclude -Isrc -Itests
# The library's layers (docs/ARCHITECTURE.md), bottom first. Library sources
# are every .c under them; those in a hosted/ folder (adapters to an OS:
# pthread locks, mmap) and port/hosted/ are built for hosted targets only.
LIB_LAYERS := core sync alloc kmalloc coll
LIB_SRC    := $(sort $(shell find $(addprefix src/,$(LIB_LAYERS)) -name '*.c' -not -path '*/hosted/*'))
HOSTED_SRC := $(sort $(shell find $(addprefix src/,$(LIB_LAYERS)) -path '*/hosted/*' -name '*.c') \
	$(wildcard port/hosted/*.c))
LIB_HDRS   := $(wildcard include/kheap/*.h src/internal/*.h)
TEST_FILES := $(sort $(wildcard tests/test_*.c))
# Support files: every tests/*.c that is not a test file or the hosted main
# (runner, shared models) goes into every test build, hosted and bare metal.
TEST_SUPPORT := $(sort $(filter-out tests/test_% tests/kh_test_main_hosted.c,$(wildcard tests/*.c)))
# What a bare-metal build compiles besides its port: runner, support, tests.
TEST_TARGET_SRC := $(TEST_SUPPORT) $(TEST_FILES)
TEST_SRC   := tests/kh_test_main_hosted.c $(TEST_SUPPORT) $(TEST_FILES)
HOST_LIBS  := -lpthread -lm
HOSTED_DEFS := -DKH_TEST_HOSTED=1 -D_GNU_SOURCE

# Test steps run in this order by `make test` (tests/run_all.sh sums them).
TEST_STEPS := test-layers test-plain test-asan test-valgrind test-nochecks test-minimal test-compile test-cmake

.PHONY: all lib install uninstall FORCE test demo bench deps clean format test-cmake test-nochecks test-minimal test-layers $(TEST_STEPS)

all: lib $(BUILD)/plain/kh_tests

# make lib: one object per source with its header dependencies (-MMD), so a
# one-file change rebuilds one object. CC, CFLAGS and CPPFLAGS are yours, so
# it cross-compiles:
#   make lib CC=arm-none-eabi-gcc CFLAGS="-mcpu=cortex-m3 -mthumb -Os"
# A bare-metal target (a compiler triple with "none" or ending in -elf/-eabi,
# or -ffreestanding in CFLAGS) gets the freestanding library only; a target
# with an OS also gets the hosted adapters (src/*/hosted/, port/hosted/).
# HOSTED=0/1 overrides the guess. AR defaults to the compiler's own archiver.
# LIB_WARN (default: $(WARN), with -Werror) sets the warning flags. A change
# of compiler or flags rebuilds everything (build/lib/config).
#   make install [PREFIX=/usr/local] [DESTDIR=] [LIBDIR=] [INCLUDEDIR=]
# installs the headers, libkheap.a and kheap.pc. -DKH_* options in CFLAGS
# and CONFIG_HEADER=my_config.h are written into the installed kheap/config.h,
# so programs built against the installed library see the same options.
CFLAGS   ?= -O2 -g
LIB_WARN ?= $(WARN)
LIB_TRIPLE := $(shell $(CC) $(CFLAGS) -dumpmachine 2> /dev/null)
ifeq ($(origin HOSTED),undefined)
HOSTED := $(if $(filter -ffreestanding,$(CFLAGS) $(CPPFLAGS))$(findstring -none,$(LIB_TRIPLE))$(filter %-elf %-eabi %-eabihf,$(LIB_TRIPLE)),0,1)
endif
ifeq ($(origin AR),default)
AR := $(or $(if $(findstring clang,$(CC)),$(shell command -v llvm-ar 2> /dev/null)),$(shell $(CC) -print-prog-name=ar 2> /dev/null),ar)
endif
LIB_DEFS := $(if $(filter 1,$(HOSTED)),-D_GNU_SOURCE) \
	$(if $(CONFIG_HEADER),-DKH_CONFIG_HEADER='"$(abspath $(CONFIG_HEADER))"')
LIB_OBJ := $(patsubst %.c,$(BUILD)/lib/obj/%.o,$(LIB_SRC) $(if $(filter 1,$(HOSTED)),$(HOSTED_SRC)))
LIB_CONFIG := $(CC) | $(CFLAGS) | $(CPPFLAGS) | $(LIB_WARN) | $(LIB_DEFS) | $(AR)
ifneq ($(LIB_CONFIG),$(file < $(BUILD)/lib/config))
$(shell mkdir -p $(BUILD)/lib)
$(file > $(BUILD)/lib/config,$(LIB_CONFIG))
endif

lib: $(BUILD)/lib/libkheap.a

$(BUILD)/lib/obj/%.o: %.c $(BUILD)/lib/config
	@mkdir -p $(@D)
	$(CC) $(LIB_WARN) $(CFLAGS) $(CPPFLAGS) $(INC) $(LIB_DEFS) -MMD -MP -c $< -o $@

-include $(LIB_OBJ:.o=.d)

$(BUILD)/lib/libkheap.a: $(LIB_OBJ)
	@rm -f $@ && $(AR) rcs $@ $^
	@echo "built $@ ($(LIB_TRIPLE), $(if $(filter 1,$(HOSTED)),hosted,freestanding))"

PREFIX     ?= /usr/local
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
KHEAP_VERSION := $(shell sed -n 's/^\#define KHEAP_VERSION_STRING "\(.*\)"/\1/p' include/kheap/version.h)
# Headers of hosted adapters say "installed with the hosted build only".
HOSTED_HDRS  := $(shell grep -l 'hosted build only' include/kheap/*.h)
INSTALL_HDRS := $(filter-out include/kheap/config.h $(if $(filter 1,$(HOSTED)),,$(HOSTED_HDRS)),$(wildcard include/kheap/*.h))
# -DKH_NAME[=value] options of the build, as #defines for the installed config.h.
LIB_OPTS := $(filter-out KH_CONFIG_HEADER=%,$(patsubst -D%,%,$(filter -DKH_%,$(CFLAGS) $(CPPFLAGS))))

# The installed kheap/config.h: this build's options, then the source's.
$(BUILD)/lib/install/config.h: include/kheap/config.h $(BUILD)/lib/config $(CONFIG_HEADER)
	@mkdir -p $(@D)
	@{ echo "/* SPDX-License-Identifier: MIT */"; \
	  echo "/* Installed by make install: the options libkheap.a was built with. */"; \
	  for o in $(LIB_OPTS); do n=$${o%%=*}; v=1; case $$o in *=*) v=$${o#*=};; esac; \
	    printf '#ifndef %s\n#define %s %s\n#endif\n' "$$n" "$$n" "$$v"; done; \
	  $(if $(CONFIG_HEADER),printf '#ifndef KH_CONFIG_HEADER\n#define KH_CONFIG_HEADER "kheap/user_config.h"\n#endif\n';) \
	  cat include/kheap/config.h; } > $@

# pkg-config paths relative to the .pc file when LIBDIR, INCLUDEDIR and
# PKGCONFIGDIR are all inside PREFIX: a DESTDIR stage or a moved tree works.
PC_REL := $(and $(filter $(PREFIX)/%,$(LIBDIR)),$(filter $(PREFIX)/%,$(INCLUDEDIR)),$(filter $(PREFIX)/%,$(PKGCONFIGDIR)))
$(BUILD)/lib/install/kheap.pc: kheap.pc.in include/kheap/version.h $(BUILD)/lib/config FORCE
	@mkdir -p $(@D)
	@$(if $(PC_REL),up=$$(echo '$(patsubst $(PREFIX)/%,%,$(PKGCONFIGDIR))' | sed 's|[^/][^/]*|..|g'); \
	  p='$${pcfiledir}/'$$up; l='$${prefix}/$(patsubst $(PREFIX)/%,%,$(LIBDIR))'; \
	  i='$${prefix}/$(patsubst $(PREFIX)/%,%,$(INCLUDEDIR))',p='$(PREFIX)'; l='$(LIBDIR)'; i='$(INCLUDEDIR)'); \
	sed -e "s|@KHEAP_PC_PREFIX@|$$p|" -e "s|@KHEAP_PC_LIBDIR@|$$l|" -e "s|@KHEAP_PC_INCLUDEDIR@|$$i|" \
	  -e 's|@KHEAP_VERSION@|$(KHEAP_VERSION)|' -e 's|@KHEAP_PC_LIBS@|$(if $(filter 1,$(HOSTED)),-lpthread)|' $< > $@

install: lib $(BUILD)/lib/install/config.h $(BUILD)/lib/install/kheap.pc
	install -d $(DESTDIR)$(INCLUDEDIR)/kheap $(DESTDIR)$(LIBDIR) $(DESTDIR)$(PKGCONFIGDIR)
	install -m 644 $(INSTALL_HDRS) $(BUILD)/lib/install/config.h $(DESTDIR)$(INCLUDEDIR)/kheap/
	$(if $(CONFIG_HEADER),install -m 644 $(CONFIG_HEADER) $(DESTDIR)$(INCLUDEDIR)/kheap/user_config.h)
	install -m 644 $(BUILD)/lib/libkheap.a $(DESTDIR)$(LIBDIR)/
	install -m 644 $(BUILD)/lib/install/kheap.pc $(DESTDIR)$(PKGCONFIGDIR)/
	@echo "installed kheap $(KHEAP_VERSION) in $(DESTDIR)$(PREFIX)"

uninstall:
	rm -f $(addprefix $(DESTDIR)$(INCLUDEDIR)/kheap/,$(notdir $(wildcard include/kheap/*.h)) user_config.h)
	-rmdir $(DESTDIR)$(INCLUDEDIR)/kheap
	rm -f $(DESTDIR)$(LIBDIR)/libkheap.a $(DESTDIR)$(PKGCONFIGDIR)/kheap.pc

FORCE:

$(BUILD)/test_list_hosted.c: $(TEST_FILES) tests/gen_test_list.sh
	@mkdir -p $(BUILD)
	@sh tests/gen_test_list.sh --hosted $(TEST_FILES) > $@

ALL_TEST_DEPS = $(LIB_SRC) $(HOSTED_SRC) $(TEST_SRC) $(BUILD)/test_list_hosted.c \
	$(LIB_HDRS) $(wildcard tests/*.h)

$(BUILD)/plain/kh_tests: $(ALL_TEST_DEPS)
	@mkdir -p $(@D)
	$(CC) $(WARN) -O2 -g $(INC) $(HOSTED_DEFS) -o $@ $(sort $(LIB_SRC) $(HOSTED_SRC) $(TEST_SRC)) $(BUILD)/test_list_hosted.c $(HOST_LIBS)

$(BUILD)/asan/kh_tests: $(ALL_TEST_DEPS)
	@mkdir -p $(@D)
	$(CLANG) $(WARN) -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
	  -fno-sanitize-recover=all $(INC) $(HOSTED_DEFS) -o $@ $(sort $(LIB_SRC) $(HOSTED_SRC) $(TEST_SRC)) $(BUILD)/test_list_hosted.c $(HOST_LIBS)

$(BUILD)/tsan/kh_tests: $(ALL_TEST_DEPS)
	@mkdir -p $(@D)
	$(CLANG) $(WARN) -O1 -g -fsanitize=thread $(INC) $(HOSTED_DEFS) -o $@ $(sort $(LIB_SRC) $(HOSTED_SRC) $(TEST_SRC)) $(BUILD)/test_list_hosted.c $(HOST_LIBS)

test-plain: $(BUILD)/plain/kh_tests
	$(BUILD)/plain/kh_tests

test-asan: $(BUILD)/asan/kh_tests
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 $(BUILD)/asan/kh_tests --scale 2

# valgrind: 20x fewer iterations; any error is a failure. Tests tagged
# "parallel" need threads really running at once, which valgrind does not do.
test-valgrind: $(BUILD)/plain/kh_tests
	valgrind -q --error-exitcode=99 --leak-check=full $(BUILD)/plain/kh_tests --scale 20 -@parallel

# The whole suite again with the misuse checks compiled out
# (KH_CONFIG_CHECKS=0) and at -Os: every documented rule must hold in both.
# Tests assert checked-build reports only under #if KH_CONFIG_CHECKS; tests
# tagged "checks" need the checks, and "slow" ones run in the plain,
# emulated and TSan steps already.
$(BUILD)/nochecks/kh_tests: $(ALL_TEST_DEPS)
	@mkdir -p $(@D)
	$(CC) $(WARN) -Os -g $(INC) $(HOSTED_DEFS) -DKH_CONFIG_CHECKS=0 -o $@ $(sort $(LIB_SRC) $(HOSTED_SRC) $(TEST_SRC)) $(BUILD)/test_list_hosted.c $(HOST_LIBS)

test-nochecks: $(BUILD)/nochecks/kh_tests
	$(BUILD)/nochecks/kh_tests -@checks -@slow

# The whole suite over the minimal core heap (-DKH_HEAP_FULL=0, no checks,
# -Os: the smallest build, docs/SIZE.md). The heap's own tests and its shadow
# model assert the minimal build's rules (#if !KH_HEAP_FULL in tests/):
# alignments above the default and kheap_realloc beyond the block return NULL
# and change nothing, kheap_set_policy refuses. Every other module runs over
# the minimal heap too, except tests tagged "full-heap" (they need what the
# minimal build leaves out) and, as in test-nochecks, "checks" and "slow".
$(BUILD)/minimal/kh_tests: $(ALL_TEST_DEPS)
	@mkdir -p $(@D)
	$(CC) $(WARN) -Os -g $(INC) $(HOSTED_DEFS) -DKH_HEAP_FULL=0 -DKH_CONFIG_CHECKS=0 -o $@ $(sort $(LIB_SRC) $(HOSTED_SRC) $(TEST_SRC)) $(BUILD)/test_list_hosted.c $(HOST_LIBS)

test-minimal: $(BUILD)/minimal/kh_tests
	$(BUILD)/minimal/kh_tests -@checks -@slow -@full-heap

# Every library source compiles warning-free with gcc and clang, 64- and
# 32-bit, and freestanding with no configuration.
test-compile:
	@sh tests/compile_checks.sh

# The layer rule (docs/ARCHITECTURE.md): includes point down, never up; the
# check is also shown failing on trees broken on purpose.
test-layers:
	@sh tests/check_layers_test.sh

# The CMake build: install + pkg-config, find_package, add_subdirectory.
test-cmake:
	@sh tests/cmake_check.sh

test:
	@sh tests/run_all.sh $(TEST_STEPS)

deps:
	@sh .ci/deps.sh

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD)

-include $(sort $(wildcard mk/*.mk))
