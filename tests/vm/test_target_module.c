// SPDX-License-Identifier: GPL-2.0
/*
 * test_target_module.c - dm-vmcrypt's module life cycle: rmmod is refused
 * while a device exists, and 20 load / create / I/O / remove / unload
 * cycles leave nothing behind: every cycle writes 1 MiB (a device's page
 * reserve and its bounce pages are 1 MiB each), and free memory (with what
 * the test process holds itself, vmc_mem_free_kib()) must not drop by
 * 2 MiB over the 20 (it moves by tens of KiB over cycles of dm-crypt, which
 * leak nothing). Something else in the guest can take memory during the
 * window now and then (once 3.4 MiB, in a CI run on a busy host): when the
 * drop is over the limit, 20 more cycles are measured on their own, and
 * only a drop in both windows fails, as a leak of 100 KiB or more a cycle
 * does. The runner checks the kernel log for
 * warnings and refcount or list corruption (Debian's kernel has no
 * kmemleak). The module is loaded again at the end for the tests that
 * follow.
 */
#include "kselftest_harness.h"
#include "test_target.h"

#define DNAME "vmct_mod"
#define IO_LEN (1024 * 1024)
#define IO_SLOTS 8	/* MiB of the ram disk written, cycle after cycle */

FIXTURE(module) {
	char desc[64];
	key_serial_t key;
	char table[256];
	unsigned char *w, *r;
};

FIXTURE_SETUP(module)
{
	ASSERT_EQ(0, vmc_load_module());
	ASSERT_EQ(0, vmc_brd(IO_SLOTS + 8));
	snprintf(self->desc, sizeof(self->desc), "vmct%d:mod", getpid());
	self->key = vmc_add_key("logon", self->desc, NULL, 64);
	ASSERT_GT(self->key, 0);
	snprintf(self->table, sizeof(self->table),
		 "0 %d vmcrypt aes-xts-plain64 :64:logon:%s 0 /dev/ram0 0",
		 IO_SLOTS * 2048,
		 self->desc);
	self->w = vmc_buf(IO_LEN);
	self->r = vmc_buf(IO_LEN);
	ASSERT_TRUE(self->w && self->r);
}

FIXTURE_TEARDOWN(module)
{
	vmc_dm_remove(DNAME);
	vmc_load_module();
	keyctl_invalidate(self->key);
	free(self->w);
	free(self->r);
}

TEST_F(module, rmmod_refused_while_device_exists)
{
	ASSERT_EQ(0, vmc_dm_create(DNAME, self->table));
	EXPECT_NE(0, vmc_unload_module());
	EXPECT_TRUE(vmc_module_loaded());
	/* and the device still works */
	ASSERT_EQ(0, vmc_fill_random(self->w, 65536));
	ASSERT_EQ(0, vmc_pio("/dev/mapper/" DNAME, 1, self->w, 65536, 0));
	ASSERT_EQ(0, vmc_pio("/dev/mapper/" DNAME, 0, self->r, 65536, 0));
	EXPECT_EQ(0, memcmp(self->w, self->r, 65536));
	vmc_dm_remove(DNAME);
	EXPECT_EQ(0, vmc_unload_module());
	EXPECT_FALSE(vmc_module_loaded());
}

static void one_cycle(struct __test_metadata *_metadata,
		      FIXTURE_DATA(module) *self, int i)
{
	off_t off = (off_t)(i % IO_SLOTS) * IO_LEN;

	if (vmc_module_loaded())
		ASSERT_EQ(0, vmc_unload_module());
	ASSERT_EQ(0, vmc_load_module());
	ASSERT_EQ(0, vmc_dm_create(DNAME, self->table)) {
		TH_LOG("cycle %d: create failed", i);
	}
	ASSERT_EQ(0, vmc_fill_random(self->w, IO_LEN));
	ASSERT_EQ(0, vmc_pio("/dev/mapper/" DNAME, 1, self->w, IO_LEN, off));
	ASSERT_EQ(0, vmc_pio("/dev/mapper/" DNAME, 0, self->r, IO_LEN, off));
	ASSERT_EQ(0, memcmp(self->w, self->r, IO_LEN));
	vmc_dm_remove(DNAME);
	ASSERT_FALSE(vmc_dm_exists(DNAME));
	ASSERT_EQ(0, vmc_unload_module());
	ASSERT_FALSE(vmc_module_loaded());
}

TEST_F(module, load_unload_cycles)
{
	long long before, after;
	int i;

	/* the ram disk's pages are allocated on first write: all of them now */
	ASSERT_EQ(0, vmc_sh("dd if=/dev/zero of=/dev/ram0 bs=1M count=%d oflag=direct status=none",
			    IO_SLOTS));
	one_cycle(_metadata, self, 0);
	before = vmc_mem_free_kib();
	ASSERT_LT(0, before);
	for (i = 1; i <= 20; i++)
		one_cycle(_metadata, self, i);
	after = vmc_mem_free_kib();
	TH_LOG("free memory %lld KiB before 20 cycles, %lld KiB after", before, after);
	if (before - after < 2 * 1024)
		return;
	before = after;
	for (i = 21; i <= 40; i++)
		one_cycle(_metadata, self, i);
	after = vmc_mem_free_kib();
	TH_LOG("over the limit: %lld KiB before 20 more cycles, %lld KiB after",
	       before, after);
	ASSERT_LT(before - after, 2 * 1024);
}

TEST_HARNESS_MAIN
