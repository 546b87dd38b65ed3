# vmcrypt top-level build.
#
#   make            module (kernel/dm-vmcrypt.ko) and agent (build/bin/)
#   make check      every test: host tests, short fuzz runs, VM suite
#   make bench      fio benchmark in the VM (see Documentation/performance.rst)
#   make bench-agent  time vmcryptd opening 100 disks of 10 VMs in the VM
#   make install    module, DKMS source, binaries, systemd unit, man pages
#                   (DESTDIR=, PREFIX=/usr; after `make`)
#   make demo       the whole product in the VM, narrated (scripts/demo)
#   make style      checkpatch on kernel/, include/ and the test modules
#   make sparse     sparse (C=2) on the module and the test modules
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
# O (our build directory) reaches sub-makes through the environment only:
# kbuild takes an O= from the command line as its own output directory.
MAKEOVERRIDES :=

.PHONY: all module test-modules agent check bench bench-agent style sparse clean install demo kselftest-headers

all: module agent

module:
	@test -d "$(KDIR)" || { echo "no kernel headers in $(KDIR): run scripts/install-deps" >&2; exit 1; }
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

# Test-only modules (never installed): tests/vm/bio_probe for the VM suite.
test-modules:
	@test -d "$(KDIR)" || { echo "no kernel headers in $(KDIR): run scripts/install-deps" >&2; exit 1; }
	$(MAKE) -C $(KDIR) M=$(CURDIR)/tests/vm/bio_probe modules

agent:
	$(MAKE) -f agent/agent.mk

kselftest-headers:
	scripts/kernel-source-files $(O)

clean:
	-$(MAKE) -C $(KDIR) M=$(CURDIR) clean
	-$(MAKE) -C $(KDIR) M=$(CURDIR)/tests/bench/xts_speed clean
	-$(MAKE) -C $(KDIR) M=$(CURDIR)/tests/vm/bio_probe clean
	rm -rf $(O)

# checkpatch (from the kernel source tarball, see kselftest-headers) over
# the module, its uapi header, the benchmark's and the tests' modules.
CHECKPATCH := $(O)/checkpatch/checkpatch.pl
STYLE_FILES := $(filter-out %.mod.c,$(wildcard kernel/*.c kernel/*.h)) include/uapi/linux/vmcrypt.h \
	tests/bench/xts_speed/xts_speed.c tests/vm/bio_probe/vmct_bio_probe.c

style:
	@test -x $(CHECKPATCH) || scripts/kernel-source-files $(O)
	$(CHECKPATCH) --no-tree --strict --terse --show-types -f $(STYLE_FILES)

# sparse on every module source, forced rebuild (C=2).
sparse:
	@test -d "$(KDIR)" || { echo "no kernel headers in $(KDIR): run scripts/install-deps" >&2; exit 1; }
	$(MAKE) -C $(KDIR) M=$(CURDIR) C=2 CF="-D__CHECK_ENDIAN__" modules
	$(MAKE) -C $(KDIR) M=$(CURDIR)/tests/vm/bio_probe C=2 CF="-D__CHECK_ENDIAN__" modules

# Every test (scripts/run-tests): host unit and integration tests, short fuzz
# runs and the VM suite in one boot; the agent is built with ASan/UBSan.
# Ends with "N passed, N failed, N skipped"; the log is $(O)/check.log.
# The agent builds on all CPUs unless make was given -j already.
check: module test-modules kselftest-headers
	+case "$$MAKEFLAGS" in *-j*|*jobserver*) j= ;; *) j=-j$$(nproc) ;; esac; \
	$(MAKE) -f agent/agent.mk $$j SAN=1 all unit vmtests fuzz
	scripts/run-tests

# fio in the VM: raw ram disk, dm-crypt (two ways) and vmcrypt side by side
# (scripts/bench, Documentation/performance.rst). Not part of check. Without
# a working module the vmcrypt column is skipped with a message.
bench:
	-$(MAKE) module
	scripts/bench

# vmcryptd opening 100 disks of 10 VMs with vmcryptctl in the VM: KMS online
# without cached keys, keys cached, KMS offline from the TPM-persisted cache
# (scripts/bench-agent, Documentation/performance.rst). Not part of check.
bench-agent: module agent
	scripts/bench-agent

# Install (DESTDIR for staging, PREFIX for the binaries' prefix). Installs
# what `make` built and never rebuilds (so that it cannot replace an ASan
# build in $(O)); see Documentation/admin-guide.rst.
VERSION := 0.1
PREFIX ?= /usr
DESTDIR ?=
SBINDIR := $(PREFIX)/sbin
BINDIR := $(PREFIX)/bin
MANDIR := $(PREFIX)/share/man
UNITDIR ?= $(PREFIX)/lib/systemd/system
DKMS_SRC := /usr/src/vmcrypt-$(VERSION)
install:
	@for f in kernel/dm-vmcrypt.ko $(O)/bin/vmcryptd $(O)/bin/vmcryptctl; do \
		test -f $$f || { echo "install: $$f is missing: run make first" >&2; exit 1; }; done
	install -D -m 0755 $(O)/bin/vmcryptd $(DESTDIR)$(SBINDIR)/vmcryptd
	install -D -m 0755 $(O)/bin/vmcryptctl $(DESTDIR)$(BINDIR)/vmcryptctl
	install -D -m 0644 kernel/dm-vmcrypt.ko $(DESTDIR)/lib/modules/$(KVER)/updates/dm-vmcrypt.ko
	install -D -m 0644 dkms.conf $(DESTDIR)$(DKMS_SRC)/dkms.conf
	install -D -m 0644 Kbuild $(DESTDIR)$(DKMS_SRC)/Kbuild
	install -D -m 0644 -t $(DESTDIR)$(DKMS_SRC)/kernel kernel/Kbuild $(filter-out %.mod.c,$(wildcard kernel/*.c)) kernel/*.h
	install -D -m 0644 include/uapi/linux/vmcrypt.h $(DESTDIR)$(DKMS_SRC)/include/uapi/linux/vmcrypt.h
	install -D -m 0644 systemd/vmcryptd.service $(DESTDIR)$(UNITDIR)/vmcryptd.service
	install -d -m 0755 $(DESTDIR)$(PREFIX)/lib/modules-load.d
	echo dm-vmcrypt >$(DESTDIR)$(PREFIX)/lib/modules-load.d/vmcrypt.conf
	install -d -m 0755 $(DESTDIR)/etc/vmcrypt
	$(if $(wildcard etc/vmcryptd.conf.example),install -m 0644 etc/vmcryptd.conf.example $(DESTDIR)/etc/vmcrypt/vmcryptd.conf.example)
	install -D -m 0644 man/vmcryptd.8 $(DESTDIR)$(MANDIR)/man8/vmcryptd.8
	install -D -m 0644 man/vmcryptctl.8 $(DESTDIR)$(MANDIR)/man8/vmcryptctl.8
	install -d -m 0755 $(DESTDIR)$(PREFIX)/share/doc/vmcrypt
	install -m 0644 -t $(DESTDIR)$(PREFIX)/share/doc/vmcrypt Documentation/*.rst
	@if [ -z "$(DESTDIR)" ]; then depmod -a $(KVER) && systemctl daemon-reload 2>/dev/null; \
		echo "installed; enable with: systemctl enable --now vmcryptd"; fi

# The product in the VM, narrated: format, open, write, restart with the
# KMS down, open from the TPM, read back.
demo: module agent
	scripts/demo
