# vmcrypt top-level build.
#
#   make            module (kernel/dm-vmcrypt.ko) and agent (build/bin/)
#   make check      every test: host tests, short fuzz runs, VM suite
#   make bench      fio benchmark in the VM (see Documentation/performance.rst)
#   make style      checkpatch on kernel/ and include/
#   make sparse     sparse (C=2) on the module
#
# KVER selects the kernel to build the module for; by default the newest one
# with headers under /lib/modules (never `uname -r`: the host runs another
# kernel than the guest). O= selects the build directory (default build/),
# SAN=1 builds the agent with ASan/UBSan.

KVER ?= $(shell ls -d /lib/modules/*/build 2>/dev/null | cut -d/ -f4 | sort -V | tail -n 1)
KDIR ?= /lib/modules/$(KVER)/build
O ?= build
SAN ?= 0
export KVER KDIR O SAN

.PHONY: all module agent check bench style sparse clean install kselftest-headers

all: module agent

module:
	@test -d "$(KDIR)" || { echo "no kernel headers in $(KDIR): run scripts/install-deps" >&2; exit 1; }
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

agent:
	$(MAKE) -f agent/agent.mk

kselftest-headers:
	scripts/kernel-source-files $(O)

clean:
	-$(MAKE) -C $(KDIR) M=$(CURDIR) clean
	rm -rf $(O)

# checkpatch (from the kernel source tarball, see kselftest-headers) over
# the module, its uapi header and nothing else.
CHECKPATCH := $(O)/checkpatch/checkpatch.pl
STYLE_FILES := $(filter-out %.mod.c,$(wildcard kernel/*.c kernel/*.h)) include/uapi/linux/vmcrypt.h

style:
	@test -x $(CHECKPATCH) || scripts/kernel-source-files $(O)
	$(CHECKPATCH) --no-tree --strict --terse --show-types \
		--ignore FILE_PATH_CHANGES,SPDX_LICENSE_TAG -f $(STYLE_FILES)

# sparse on every module source, forced rebuild (C=2).
sparse:
	@test -d "$(KDIR)" || { echo "no kernel headers in $(KDIR): run scripts/install-deps" >&2; exit 1; }
	$(MAKE) -C $(KDIR) M=$(CURDIR) C=2 CF="-D__CHECK_ENDIAN__" modules

# Every test (scripts/run-tests): host unit and integration tests, short fuzz
# runs and the VM suite in one boot; the agent is built with ASan/UBSan.
# Ends with "N passed, N failed, N skipped"; the log is $(O)/check.log.
check: module kselftest-headers
	$(MAKE) -f agent/agent.mk SAN=1 all unit vmtests fuzz
	scripts/run-tests

# fio in the VM: raw ram disk, dm-crypt (two ways) and vmcrypt side by side
# (scripts/bench, Documentation/performance.rst). Not part of check. Without
# a working module the vmcrypt column is skipped with a message.
bench:
	-$(MAKE) module
	scripts/bench
