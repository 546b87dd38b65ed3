# agent.mk: builds the userspace agent, its unit tests and fuzz targets.
#
# Sources are picked up by wildcard so that adding a file needs no edit here:
#   agent/lib/*.c agent/kmip/*.c  -> $(O)/obj-<flavour>/libvmcrypt.a (all but main)
#   agent/vmcryptd/*.c            -> $(O)/bin/vmcryptd
#   agent/vmcryptctl/*.c          -> $(O)/bin/vmcryptctl
#   tests/unit/test_*.c           -> $(O)/tests/unit/test_* (kselftest harness)
#   agent/fuzz/fuzz_*.c           -> $(O)/fuzz/fuzz_* (clang, libFuzzer)
#
# SAN=1 adds ASan and UBSan to everything (the test build).

O ?= build
SAN ?= 0
CC ?= cc
CLANG ?= clang
PKG_CONFIG ?= pkg-config

PKGS := libnl-genl-3.0 openssl tss2-esys tss2-sys tss2-tctildr tss2-rc tss2-mu \
	libcryptsetup devmapper json-c libkeyutils blkid

PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS))
PKG_LIBS := $(shell $(PKG_CONFIG) --libs $(PKGS))

WARN := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wno-unused-parameter \
	-Wmissing-prototypes -Wstrict-prototypes
BASE_CFLAGS := -std=gnu11 -g -O2 -D_GNU_SOURCE -fstack-protector-strong \
	-Iinclude -Iagent -I$(O)/kselftest $(PKG_CFLAGS)
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=undefined

ifeq ($(SAN),1)
AGENT_CFLAGS := $(BASE_CFLAGS) $(WARN) $(SAN_FLAGS)
AGENT_LDFLAGS := $(SAN_FLAGS)
else
AGENT_CFLAGS := $(BASE_CFLAGS) $(WARN) -D_FORTIFY_SOURCE=2
AGENT_LDFLAGS :=
endif
AGENT_CFLAGS += $(CFLAGS)
AGENT_LDFLAGS += $(LDFLAGS) -pthread

LIB_SRC := $(sort $(wildcard agent/lib/*.c agent/kmip/*.c))
D_SRC := $(sort $(wildcard agent/vmcryptd/*.c))
CTL_SRC := $(sort $(wildcard agent/vmcryptctl/*.c))
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
VM_SRC := $(sort $(wildcard tests/vm/test_*.c))
FUZZ_SRC := $(sort $(wildcard agent/fuzz/fuzz_*.c))

# Plain and sanitizer builds keep separate objects; the programs and tests
# in $(O) are relinked whenever the flavour changes (the stamp is renewed).
FLAVOUR := $(if $(filter 1,$(SAN)),san,plain)
OBJ := $(O)/obj-$(FLAVOUR)
FLAVOUR_STAMP := $(O)/.flavour-$(FLAVOUR)

LIB_OBJ := $(LIB_SRC:%.c=$(OBJ)/%.o)
D_OBJ := $(D_SRC:%.c=$(OBJ)/%.o)
CTL_OBJ := $(CTL_SRC:%.c=$(OBJ)/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(O)/tests/unit/%)
VM_BIN := $(VM_SRC:tests/vm/%.c=$(O)/tests/vm/%)
FUZZ_BIN := $(FUZZ_SRC:agent/fuzz/%.c=$(O)/fuzz/%)
LIBVMCRYPT := $(OBJ)/libvmcrypt.a

KSFT_HDR := $(O)/kselftest/kselftest_harness.h

# vmcryptd is added to all once agent/vmcryptd/ has sources.
PROGS := $(O)/bin/vmcryptctl $(if $(D_SRC),$(O)/bin/vmcryptd)

.PHONY: all unit vmtests fuzz
all: $(PROGS)
unit: $(UNIT_BIN)
vmtests: $(VM_BIN)
fuzz: $(FUZZ_BIN)

$(FLAVOUR_STAMP):
	@mkdir -p $(dir $@)
	rm -f $(O)/.flavour-*
	touch $@

$(OBJ)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(AGENT_CFLAGS) -MMD -MP -c -o $@ $<

$(LIBVMCRYPT): $(LIB_OBJ) $(FLAVOUR_STAMP)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $(LIB_OBJ)

$(O)/bin/vmcryptd: $(D_OBJ) $(LIBVMCRYPT)
	@mkdir -p $(dir $@)
	$(CC) $(AGENT_LDFLAGS) -o $@ $(D_OBJ) $(LIBVMCRYPT) $(PKG_LIBS)

$(O)/bin/vmcryptctl: $(CTL_OBJ) $(LIBVMCRYPT)
	@mkdir -p $(dir $@)
	$(CC) $(AGENT_LDFLAGS) -o $@ $(CTL_OBJ) $(LIBVMCRYPT) $(PKG_LIBS)

$(KSFT_HDR):
	scripts/kernel-source-files $(O)

$(O)/tests/unit/%: tests/unit/%.c $(LIBVMCRYPT) $(KSFT_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(AGENT_CFLAGS) $(AGENT_LDFLAGS) -Wno-missing-prototypes -o $@ $< $(LIBVMCRYPT) $(PKG_LIBS)

# Kselftest programs run inside the VM (tests/vm/); same harness.
$(O)/tests/vm/%: tests/vm/%.c $(LIBVMCRYPT) $(KSFT_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(AGENT_CFLAGS) $(AGENT_LDFLAGS) -Wno-missing-prototypes -o $@ $< $(LIBVMCRYPT) $(PKG_LIBS)

# Fuzz targets: the library is compiled once more with clang and the fuzzer
# instrumentation (fuzzer-no-link), then each target links against it.
FUZZ_CFLAGS := $(BASE_CFLAGS) -Wall -Wextra -Werror -Wno-unused-parameter \
	-fno-omit-frame-pointer -fsanitize=address,undefined
FUZZ_LIB_OBJ := $(LIB_SRC:%.c=$(O)/fuzzobj/%.o)
FUZZ_LIB := $(O)/fuzzobj/libvmcrypt-fuzz.a

$(O)/fuzzobj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c -o $@ $<

$(FUZZ_LIB): $(FUZZ_LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

$(O)/fuzz/%: agent/fuzz/%.c $(FUZZ_LIB)
	@mkdir -p $(dir $@)
	$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_LIB) $(PKG_LIBS) -pthread

-include $(LIB_OBJ:.o=.d) $(D_OBJ:.o=.d) $(CTL_OBJ:.o=.d) $(FUZZ_LIB_OBJ:.o=.d)
