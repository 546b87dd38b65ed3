// SPDX-License-Identifier: GPL-2.0
/*
 * test_target_fio.c - verified concurrent I/O on dm-vmcrypt: fio with
 * verify=crc32c, four jobs on disjoint regions, block sizes from 4 KiB to
 * 1 MiB (bios of 256 KiB and more are converted on several CPUs at once),
 * libaio with a queue depth, bounded runtime; with the
 * synchronous generic driver and with an asynchronous (cryptd) one, on
 * 512- and 4096-byte sectors, and with the default driver. The device's
 * error counters must stay at zero.
 */
#include "kselftest_harness.h"
#include "lib/genl.h"
#include "test_target.h"

#define DNAME "vmct_fio"

FIXTURE(fio) {
	char desc[64];
	key_serial_t key;
};

FIXTURE_VARIANT(fio) {
	const char *driver;
	unsigned int sector_size;
	int async;		/* expected CRYPTO_ASYNC flag; -1: either */
};

FIXTURE_VARIANT_ADD(fio, sync_generic_512) {
	.driver = VMC_SYNC_DRIVER, .sector_size = 512, .async = 0,
};
FIXTURE_VARIANT_ADD(fio, default_4096) {
	.driver = "", .sector_size = 4096, .async = -1,
};
FIXTURE_VARIANT_ADD(fio, async_cryptd_512) {
	.driver = VMC_ASYNC_DRIVER, .sector_size = 512, .async = 1,
};
FIXTURE_VARIANT_ADD(fio, async_cryptd_4096) {
	.driver = VMC_ASYNC_DRIVER, .sector_size = 4096, .async = 1,
};

FIXTURE_SETUP(fio)
{
	if (vmc_sh("command -v fio >/dev/null"))
		SKIP(return, "fio is not installed");
	ASSERT_EQ(0, vmc_load_module());
	ASSERT_EQ(0, vmc_brd(40));
	ASSERT_EQ(0, vmc_set_driver(variant->driver));
	/*
	 * The default variant is the platform's best xts(aes): load the SIMD
	 * one (aesni_intel; absent elsewhere, hence no check) before an
	 * earlier variant's generic instance is all the lookup finds.
	 */
	if (!*variant->driver)
		vmc_sh("modprobe aesni_intel 2>/dev/null");
	snprintf(self->desc, sizeof(self->desc), "vmct%d:fio", getpid());
	self->key = vmc_add_key("logon", self->desc, NULL, 64);
	ASSERT_GT(self->key, 0);
}

FIXTURE_TEARDOWN(fio)
{
	vmc_dm_remove(DNAME);
	vmc_set_driver("");
	if (self->key > 0)
		keyctl_invalidate(self->key);
}

TEST_F_TIMEOUT(fio, verify_crc32c, 120)
{
	static struct vmc_dev_info d;
	char table[256];
	struct vmc_info in;
	struct vmc_genl *g;

	snprintf(table, sizeof(table),
		 "0 65536 vmcrypt aes-xts-plain64 :64:logon:%s 0 /dev/ram0 8192 1 sector_size:%u",
		 self->desc, variant->sector_size);
	ASSERT_EQ(0, vmc_dm_create(DNAME, table));
	/* the path under test really is the sync or the async one */
	ASSERT_EQ(0, vmc_genl_open(&g));
	ASSERT_EQ(0, vmc_genl_dev_get(g, DNAME, &d));
	vmc_genl_close(g);
	TH_LOG("crypto driver %s (%s)", d.driver, d.async ? "async" : "sync");
	if (variant->async >= 0)
		ASSERT_EQ(variant->async, d.async);
	ASSERT_EQ(0, vmc_sh("fio --name=vmct --filename=/dev/mapper/" DNAME
			    " --direct=1 --ioengine=libaio --iodepth=16"
			    " --rw=randwrite --bsrange=4k-1m --numjobs=4"
			    " --size=3M --offset_increment=8M --runtime=20"
			    " --verify=crc32c --verify_fatal=1 --do_verify=1"
			    " --group_reporting --output-format=terse"
			    " --minimal > /tmp/vmct-fio.out 2>&1 ||"
			    " { cat /tmp/vmct-fio.out; exit 1; }"));
	ASSERT_EQ(0, vmc_dm_info(DNAME, &in));
	TH_LOG("status: %llu reads, %llu writes", in.reads, in.writes);
	EXPECT_GT(in.reads, 0);		/* the verify pass */
	EXPECT_GT(in.writes, 0);
	EXPECT_EQ(0, in.crypto_errors);
	EXPECT_EQ(0, in.io_errors);
}

TEST_HARNESS_MAIN
