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
