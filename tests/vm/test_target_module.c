// SPDX-License-Identifier: GPL-2.0
/*
 * test_target_module.c - dm-vmcrypt's module life cycle: rmmod is refused
 * while a device exists, and 20 load / create / I/O / remove / unload
 * cycles leave nothing behind (the runner checks the log for leaks). The
 * module is loaded again at the end for the tests that follow.
 */
#include "kselftest_harness.h"
#include "test_target.h"

#define DNAME "vmct_mod"

FIXTURE(module) {
	char desc[64];
	key_serial_t key;
	char table[256];
	unsigned char *w, *r;
};

FIXTURE_SETUP(module)
{
	ASSERT_EQ(0, vmc_load_module());
	ASSERT_EQ(0, vmc_brd(16));
	snprintf(self->desc, sizeof(self->desc), "vmct%d:mod", getpid());
	self->key = vmc_add_key("logon", self->desc, NULL, 64);
	ASSERT_GT(self->key, 0);
	snprintf(self->table, sizeof(self->table),
		 "0 8192 vmcrypt aes-xts-plain64 :64:logon:%s 0 /dev/ram0 0",
		 self->desc);
	self->w = vmc_buf(65536);
	self->r = vmc_buf(65536);
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

TEST_F(module, load_unload_cycles)
{
	int i;

	for (i = 0; i < 20; i++) {
		if (vmc_module_loaded())
			ASSERT_EQ(0, vmc_unload_module());
		ASSERT_EQ(0, vmc_load_module());
		ASSERT_EQ(0, vmc_dm_create(DNAME, self->table)) {
			TH_LOG("cycle %d: create failed", i);
		}
		ASSERT_EQ(0, vmc_fill_random(self->w, 65536));
		ASSERT_EQ(0, vmc_pio("/dev/mapper/" DNAME, 1, self->w, 65536,
				     (off_t)i * 65536));
		ASSERT_EQ(0, vmc_pio("/dev/mapper/" DNAME, 0, self->r, 65536,
				     (off_t)i * 65536));
		ASSERT_EQ(0, memcmp(self->w, self->r, 65536));
		vmc_dm_remove(DNAME);
		ASSERT_FALSE(vmc_dm_exists(DNAME));
		ASSERT_EQ(0, vmc_unload_module());
		ASSERT_FALSE(vmc_module_loaded());
	}
}

TEST_HARNESS_MAIN
