# SPDX-License-Identifier: Apache-2.0
#
# weir: one non-recursive Makefile in the libbpf-bootstrap pattern.
#   bpf/*.bpf.c -> build/bpf/*.bpf.o -> bpftool gen object -> build/weir.bpf.o
#   -> bpftool gen skeleton -> build/weir.skel.h -> user/*.c -> build/libweir.a
#   -> build/weir-agent, build/weirctl, build/weir-cni, build/weir-graph, tests.
# Quiet by default; V=1 prints the commands. SAN=1 builds with ASan/UBSan.
# New files are picked up by wildcard: user/<subsystem>/<module>.c joins libweir.a,
# tests/unit/<module>_test.c and tests/bpf/<name>_test.c become test binaries.

BUILD     ?= build
CC        ?= gcc
CLANG     ?= clang
BPFTOOL   ?= bpftool
ARCH      := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')

ifeq ($(V),1)
Q :=
msg = @true
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

PKGS      := libbpf libelf zlib libevent libevent_pthreads openssl libnghttp2 jansson \
             yaml-0.1 libnl-3.0 libnl-route-3.0 libcurl re2
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN      := -Wall -Wextra -Werror -Wno-unused-parameter -Wshadow -Wformat=2 \
             -Wstrict-prototypes -Wmissing-prototypes
CFLAGS    ?= -O2 -g
CFLAGS    += -std=gnu11 -D_GNU_SOURCE -fno-strict-aliasing $(WARN) \
             -Iinclude -I$(BUILD) -Iuser -I/usr/share/include $(PKG_CFLAGS)
LDLIBS    += $(PKG_LIBS) -lstdc++ -lpthread
# C++ only where a C++ library has no C interface (RE2): a small shim with a C API.
CXX       ?= g++
CXXFLAGS  ?= -O2 -g
CXXFLAGS  += -std=c++17 -Wall -Wextra -Werror -Wno-unused-parameter -Iinclude -Iuser \
             $(shell pkg-config --cflags re2 2>/dev/null)
ifeq ($(SAN),1)
CFLAGS    += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
CXXFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS   += -fsanitize=address,undefined
endif

BPF_CFLAGS := -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) -Wall -Wextra -Werror \
              -Wno-unused-parameter -Ivmlinux -Iinclude -Ibpf

BPF_SRCS  := $(wildcard bpf/*.bpf.c)
BPF_OBJS  := $(patsubst bpf/%.bpf.c,$(BUILD)/bpf/%.bpf.o,$(BPF_SRCS))
BPF_HDRS  := $(wildcard bpf/lib/*.h) $(wildcard include/weir/*.h)
SKEL      := $(BUILD)/weir.skel.h

# llhttp ships as C sources in Debian's node-llhttp; weir compiles them in.
LLHTTP_DIR  := /usr/share/llhttp
LLHTTP_SRCS := $(wildcard $(LLHTTP_DIR)/*.c)
LLHTTP_OBJS := $(patsubst $(LLHTTP_DIR)/%.c,$(BUILD)/llhttp/%.o,$(LLHTTP_SRCS))
# A variable, because a literal comma would split the $(if ...) below.
LLHTTP_SAN  := -fsanitize=address,undefined

LIB_SRCS  := $(filter-out user/main.c,$(wildcard user/*.c user/*/*.c))
LIB_CXX   := $(wildcard user/*/*.cc)
LIB_OBJS  := $(patsubst %.c,$(BUILD)/%.o,$(LIB_SRCS)) $(patsubst %.cc,$(BUILD)/%.o,$(LIB_CXX))
LIB       := $(BUILD)/libweir.a
USER_HDRS := $(wildcard user/*.h user/*/*.h) $(wildcard include/weir/*.h) $(wildcard tools/*/*.h) \
             $(wildcard deploy/samples/bookinfo/app/*.h) $(wildcard bench/load/*.h)

CTL_SRCS  := $(wildcard tools/weirctl/*.c)
CTL_OBJS  := $(patsubst %.c,$(BUILD)/%.o,$(CTL_SRCS))
CNI_SRCS  := $(wildcard tools/cni/*.c)
CNI_OBJS  := $(patsubst %.c,$(BUILD)/%.o,$(CNI_SRCS))
# weir-graph alone links Graphviz's layout library (DOT to SVG for /dotviz).
GSRV_SRCS := $(wildcard tools/graph/*.c)
GSRV_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(GSRV_SRCS))
GVC_CFLAGS := $(shell pkg-config --cflags libgvc 2>/dev/null)
GVC_LIBS   := $(shell pkg-config --libs libgvc 2>/dev/null)
APP_SRCS  := $(wildcard deploy/samples/bookinfo/app/*.c)
APP_OBJS  := $(patsubst %.c,$(BUILD)/%.o,$(APP_SRCS))
LOAD_SRCS := $(wildcard bench/load/*.c)
LOAD_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(LOAD_SRCS))

UNIT_SRCS := $(wildcard tests/unit/*_test.c)
UNIT_BINS := $(patsubst %.c,$(BUILD)/%,$(UNIT_SRCS))
BPFT_SRCS := $(wildcard tests/bpf/*_test.c)
BPFT_BINS := $(patsubst %.c,$(BUILD)/%,$(BPFT_SRCS))
# libFuzzer targets: tests/fuzz/<name>_fuzz.c, built by clang over the library's sources
# compiled again with coverage instrumentation and ASan/UBSan into $(BUILD)/fuzz/.
FUZZ_SRCS := $(wildcard tests/fuzz/*_fuzz.c)
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRCS))
FUZZ_SAN  := -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS = $(filter-out -Wformat=2,$(CFLAGS)) -Wno-unknown-warning-option $(FUZZ_SAN)
FUZZ_LIB_OBJS := $(patsubst %.c,$(BUILD)/fuzz/obj/%.o,$(LIB_SRCS) $(LLHTTP_SRCS:$(LLHTTP_DIR)/%=llhttp/%)) \
                 $(patsubst %.cc,$(BUILD)/fuzz/obj/%.o,$(LIB_CXX))
FUZZ_SECONDS ?= 60
TEST_LIB_SRCS := $(wildcard tests/lib/*.c)
TEST_LIB_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(TEST_LIB_SRCS))

BINS := $(BUILD)/weir-agent $(BUILD)/weirctl
ifneq ($(CNI_SRCS),)
BINS += $(BUILD)/weir-cni
endif
ifneq ($(GSRV_SRCS),)
BINS += $(BUILD)/weir-graph
endif
ifneq ($(APP_SRCS),)
BINS += $(BUILD)/bookinfo-app
endif
ifneq ($(LOAD_SRCS),)
BINS += $(BUILD)/weir-load
endif

.PHONY: all deps help test test-unit test-bpf test-e2e test-fuzz tests demo bench bench-quick lint \
        clean fuzz
.DEFAULT_GOAL := all

all: deps-build $(BINS)

help:
	@echo 'weir make targets:'
	@echo '  all          build the BPF objects, skeleton, weir-agent, weirctl, weir-cni,'
	@echo '               weir-graph (default)'
	@echo '  deps         install every Debian package the build, tests and demo need'
	@echo '  test         install deps, build, run unit, BPF and end-to-end tests (as root)'
	@echo '  test-unit    unit tests only (no root needed)'
	@echo '  test-bpf     BPF tests on the production skeleton (root)'
	@echo '  test-e2e     end-to-end tests in network namespaces (root)'
	@echo '  tests        build every test binary without running them'
	@echo '  test-fuzz    every libFuzzer target briefly (FUZZ_SECONDS=5 each); fuzz: longer (60 s)'
	@echo '  demo         simulated node with the bookinfo sample, meshed by weir (root)'
	@echo '  bench        the benchmark suite; bench-quick: a one-minute smoke run'
	@echo '  lint         clang-format check and cppcheck'
	@echo '  clean        remove build/'
	@echo 'variables: V=1 (show commands), SAN=1 (ASan/UBSan), BUILD=dir'

# The dependency script is fast when everything is present (it only asks dpkg).
deps:
	$(Q)tools/deps.sh all
.PHONY: deps-build
deps-build:
	$(Q)tools/deps.sh build

$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c $(BPF_HDRS) | $(BUILD)/bpf
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

# maps.bpf.o, which defines the maps, goes first: libbpf 1.1's linker cannot resolve the
# extern maps of an object linked before the definitions ("map relo failed").
$(BUILD)/weir.bpf.o: $(BPF_OBJS)
	$(call msg,LINK-BPF,$@)
	$(Q)$(BPFTOOL) gen object $@ $(filter %/maps.bpf.o,$^) $(filter-out %/maps.bpf.o,$^)

$(SKEL): $(BUILD)/weir.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name weir > $@.tmp && mv $@.tmp $@

$(BUILD)/llhttp/%.o: $(LLHTTP_DIR)/%.c | $(BUILD)/llhttp
	$(call msg,CC,$@)
	$(Q)$(CC) -O2 -g -I/usr/share/include/llhttp -c $< -o $@ $(if $(filter 1,$(SAN)),$(LLHTTP_SAN))

$(BUILD)/%.o: %.c $(USER_HDRS) $(SKEL)
	@mkdir -p $(@D)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/%.o: %.cc $(USER_HDRS)
	@mkdir -p $(@D)
	$(call msg,CXX,$@)
	$(Q)$(CXX) $(CXXFLAGS) -c $< -o $@

$(BUILD)/fuzz/obj/llhttp/%.o: $(LLHTTP_DIR)/%.c
	@mkdir -p $(@D)
	$(call msg,CC-FUZZ,$@)
	$(Q)$(CLANG) -O1 -g -I/usr/share/include/llhttp $(FUZZ_SAN) -c $< -o $@

$(BUILD)/fuzz/obj/%.o: %.c $(USER_HDRS) $(SKEL)
	@mkdir -p $(@D)
	$(call msg,CC-FUZZ,$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -O1 -c $< -o $@

$(BUILD)/fuzz/obj/%.o: %.cc $(USER_HDRS)
	@mkdir -p $(@D)
	$(call msg,CXX-FUZZ,$@)
	$(Q)clang++ $(CXXFLAGS) $(FUZZ_SAN) -O1 -c $< -o $@

$(BUILD)/fuzz/%: $(BUILD)/fuzz/obj/tests/fuzz/%.o $(FUZZ_LIB_OBJS)
	$(call msg,LD-FUZZ,$@)
	$(Q)clang++ -fsanitize=fuzzer,address,undefined $^ $(LDLIBS) -o $@

$(LIB): $(LIB_OBJS) $(LLHTTP_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/weir-agent: $(BUILD)/user/main.o $(LIB)
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/weirctl: $(CTL_OBJS) $(LIB)
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/weir-cni: $(CNI_OBJS) $(LIB)
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(GSRV_OBJS): CFLAGS += $(GVC_CFLAGS)
$(BUILD)/weir-graph: $(GSRV_OBJS) $(LIB)
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) $(GVC_LIBS) -o $@

$(BUILD)/bookinfo-app: $(APP_OBJS) $(LIB)
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/weir-load: $(LOAD_OBJS) $(LIB)
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -lm -o $@

$(BUILD)/tests/unit/%: $(BUILD)/tests/unit/%.o $(TEST_LIB_OBJS) $(LIB)
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -lcmocka -o $@

$(BUILD)/tests/bpf/%: $(BUILD)/tests/bpf/%.o $(TEST_LIB_OBJS) $(LIB)
	$(call msg,LD,$@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -lcmocka -o $@

$(BUILD)/bpf $(BUILD)/llhttp:
	$(Q)mkdir -p $@

tests: all $(UNIT_BINS) $(BPFT_BINS) $(FUZZ_BINS)

test-unit: deps-build $(UNIT_BINS)
	$(Q)BUILD=$(BUILD) tests/run.sh unit

test-bpf: deps-build $(BINS) $(BPFT_BINS)
	$(Q)BUILD=$(BUILD) tests/run.sh bpf

test-e2e: deps $(BINS)
	$(Q)BUILD=$(BUILD) tests/run.sh e2e

test-fuzz: deps-build $(FUZZ_BINS)
	$(Q)BUILD=$(BUILD) FUZZ_SECONDS=$${FUZZ_SECONDS:-5} tests/run.sh fuzz

fuzz: deps-build $(FUZZ_BINS)
	$(Q)BUILD=$(BUILD) FUZZ_SECONDS=$(FUZZ_SECONDS) tests/run.sh fuzz

# The README's test command: everything, one summary line at the end.
test: deps
	$(Q)$(MAKE) --no-print-directory tests
	$(Q)BUILD=$(BUILD) tests/run.sh all

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)BUILD=$(BUILD) tools/demo.sh

bench: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)BUILD=$(BUILD) bench/run.sh full

bench-quick: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)BUILD=$(BUILD) bench/run.sh quick

lint:
	$(Q)tools/check-layers.sh
	$(Q)clang-format --dry-run --Werror $(wildcard user/*.[ch] user/*/*.[ch] tools/*/*.[ch] tests/*/*.[ch] include/weir/*.h)
	$(Q)cppcheck --quiet --error-exitcode=1 --enable=warning,portability --inline-suppr \
		--suppress=missingIncludeSystem -Iinclude -Iuser user tools

clean:
	$(Q)rm -rf $(BUILD)

# Keep intermediate objects (test .o files) so that make does not rebuild them.
.SECONDARY:
