# ffa-emu: build the Python environment, the native cycle helper, the SPMC
# stub firmware and every guest image; run the demo, the tests, the benchmarks.
# The native helper and the firmware are built by tools/ffabuild.py, as the
# wheel's build hooks (setup.py) build them; guests share its AArch64 flags.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
BUILD := build
ZIG_CACHE := $(abspath $(BUILD)/zig-cache)
export ZIG_GLOBAL_CACHE_DIR := $(ZIG_CACHE)
export ZIG_LOCAL_CACHE_DIR := $(ZIG_CACHE)
ZIGCC := $(PY) -m ziglang cc
FFABUILD := $(PY) tools/ffabuild.py

HEADER := $(BUILD)/include/ffa_emu_abi.h
ABI_SOURCES := emu/cheader.py emu/platform/memory_map.py emu/el2/smccc.py emu/el2/psci.py emu/secure/rmm_abi.py \
               emu/ffa/constants.py emu/ffa/stub_partitions.py

AARCH64_CFLAGS := $(shell $(PYTHON) tools/ffabuild.py cflags) -I$(BUILD)/include

DEPFLAGS = -MMD -MP -MT $@ -MF $@.d

# Guests: every folder under guests/ (but lib) and benchmarks/guests/ is one image.
GUEST_LIB_SRCS := $(wildcard guests/lib/*.c guests/lib/*.S)
GUEST_LIB_HDRS := $(wildcard guests/lib/*.h)
GUEST_DIRS := $(filter-out guests/lib/,$(wildcard guests/*/)) $(wildcard benchmarks/guests/*/)
GUEST_NAMES := $(notdir $(patsubst %/,%,$(GUEST_DIRS)))
GUEST_ELFS := $(addprefix $(BUILD)/guests/,$(addsuffix .elf,$(GUEST_NAMES)))

FIRMWARE_SRCS := $(wildcard firmware/*.c firmware/*.S)
FIRMWARE_HDRS := $(wildcard firmware/*.h)
FIRMWARE_ELF := emu/data/spmc.elf

NATIVE_LIB := emu/cpu/native/libcpuhooks.so
NATIVE_SRCS := $(wildcard emu/cpu/native/*.c emu/cpu/native/*.h)

# The package's bytecode, compiled once as a wheel's installer would: an editable install never writes it, and
# where PYTHONDONTWRITEBYTECODE is set every run would compile each module again.
BYTECODE := $(BUILD)/.bytecode
PACKAGE_SOURCES := $(shell find emu -name '*.py')

.PHONY: all run test bench clean venv fuzz
all: $(VENV)/.installed $(NATIVE_LIB) $(FIRMWARE_ELF) $(GUEST_ELFS) $(BYTECODE)

venv: $(VENV)/.installed
$(VENV)/.installed: pyproject.toml setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

$(BYTECODE): $(PACKAGE_SOURCES) $(wildcard emu/data/*.toml) $(VENV)/.installed
	$(PY) -m compileall -q emu
	$(PY) -m emu.tomlcache emu/data/*.toml
	@mkdir -p $(dir $@) && touch $@

$(HEADER): $(ABI_SOURCES) $(VENV)/.installed
	$(PY) -m emu.cheader $@

$(NATIVE_LIB): $(NATIVE_SRCS) tools/ffabuild.py $(VENV)/.installed
	$(FFABUILD) native $@

$(FIRMWARE_ELF): $(FIRMWARE_SRCS) $(FIRMWARE_HDRS) firmware/link.ld tools/ffabuild.py $(HEADER)
	@mkdir -p $(BUILD)/firmware
	$(FFABUILD) firmware --include $(BUILD)/include $@ -- -MMD -MP -MT $@ -MF $(BUILD)/firmware/spmc.elf.d

# A folder's own link.ld, if it has one, replaces guests/lib/link.ld (which it may INCLUDE).
guest_ld = $(firstword $(wildcard $(1)link.ld) guests/lib/link.ld)

define guest_rule
$(BUILD)/guests/$(notdir $(patsubst %/,%,$(1))).elf: $(wildcard $(1)*.c $(1)*.S $(1)*.h $(1)link.ld) $(GUEST_LIB_SRCS) $(GUEST_LIB_HDRS) guests/lib/link.ld $(HEADER)
	@mkdir -p $$(dir $$@)
	$(ZIGCC) $(AARCH64_CFLAGS) $$(DEPFLAGS) -Iguests/lib -T $(call guest_ld,$(1)) $(GUEST_LIB_SRCS) $(wildcard $(1)*.c $(1)*.S) -o $$@
endef
$(foreach dir,$(GUEST_DIRS),$(eval $(call guest_rule,$(dir))))

# Header dependencies the compiler found (e.g. a variant guest including another folder's source).
-include $(wildcard $(BUILD)/guests/*.d $(BUILD)/firmware/*.d)
# A source file moved or removed since a build may still be named there: nothing to make for it (the image
# is rebuilt from the sources that exist).
guests/%.c guests/%.S guests/%.h benchmarks/guests/%.c firmware/%.c firmware/%.S firmware/%.h: ;

run: all
	$(PY) -m emu run --trace - $(BUILD)/guests/ffa_demo.elf

test: all
	$(PY) -m pytest -q

# Fuzz campaign: FUZZ_CALLS guest calls per profile from the fuzz guest, invariants checked after each
# (python -m emu.fuzz --help); exits non-zero on a crash, an invariant violation or a guest stop.
FUZZ_CALLS ?= 100000
FUZZ_SEED ?= 1
fuzz: all
	$(PY) -m emu.fuzz --calls $(FUZZ_CALLS) --seed $(FUZZ_SEED)

# The benchmarks time whole commands, start-up included, as an installed tool runs them: the package is
# byte-compiled by all (see BYTECODE), the benchmarks' own modules here.
bench: all
	$(PY) -m compileall -q benchmarks
	$(PY) -m benchmarks

clean:
	rm -rf $(BUILD) $(NATIVE_LIB) $(FIRMWARE_ELF)
