// SPDX-License-Identifier: GPL-2.0
/*
 * test_target_bounce.c - the cache of freed bounce pages (kernel/bounce.c):
 * writes leave their pages in it (debugfs dm-vmcrypt/bounce_pages), the
 * shrinker empties it, a recycled page's old ciphertext never reaches the
 * disk (small writes on 512-byte sectors after the cache is full, checked
 * through dm-crypt and on the raw device), and verified writes stay right
 * while the shrinker runs over and over.
 */
#include "kselftest_harness.h"
#include "test_target.h"

#define VNAME "vmct_bounce"
#define CNAME "vmct_bounce_c"
#define CACHED "/sys/kernel/debug/dm-vmcrypt/bounce_pages"
#define LEN (8u << 20)

FIXTURE(bounce) {
	char desc[64];
	key_serial_t key;
	unsigned char *p, *q, *r, *raw0;
};

FIXTURE_SETUP(bounce)
{
	self->key = -1;
	ASSERT_EQ(0, vmc_load_module());
	if (access("/sys/module/dm_crypt", F_OK))
		ASSERT_EQ(0, vmc_sh("modprobe -q dm-crypt"));
	ASSERT_EQ(0, access(CACHED, R_OK)) TH_LOG("no " CACHED);
	ASSERT_EQ(0, vmc_brd(16));
	snprintf(self->desc, sizeof(self->desc), "vmct%d:bounce", getpid());
	self->key = vmc_add_key("logon", self->desc, NULL, 64);
	ASSERT_GT(self->key, 0);
	self->p = vmc_buf(LEN);
	self->q = vmc_buf(LEN);
	self->r = vmc_buf(LEN);
	self->raw0 = vmc_buf(LEN);
	ASSERT_TRUE(self->p && self->q && self->r && self->raw0);
	ASSERT_EQ(0, vmc_fill_random(self->p, LEN));
	ASSERT_EQ(0, vmc_fill_random(self->q, LEN));
}

FIXTURE_TEARDOWN(bounce)
{
	vmc_dm_remove(VNAME);
	vmc_dm_remove(CNAME);
	if (self->key > 0)
		keyctl_invalidate(self->key);
	free(self->p);
	free(self->q);
	free(self->r);
	free(self->raw0);
}

static long cached_pages(void)
{
	char out[32];

	if (vmc_sh_out(out, sizeof(out), "cat " CACHED))
		return -1;
	return strtol(out, NULL, 10);
}

/* The shrinkers run from drop_caches (2: slab objects). */
static int shrink(void)
{
	return vmc_sh("echo 2 > /proc/sys/vm/drop_caches");
}

static int create(FIXTURE_DATA(bounce) *self, const char *name,
		  const char *target, unsigned int sector_size)
{
	char table[256];

	snprintf(table, sizeof(table),
		 "0 %u %s aes-xts-plain64 :64:logon:%s 0 /dev/ram0 0 1 sector_size:%u",
		 LEN / 512, target, self->desc, sector_size);
	return vmc_dm_create(name, table);
}

TEST_F(bounce, writes_fill_the_cache_and_the_shrinker_empties_it)
{
	ASSERT_EQ(0, create(self, VNAME, "vmcrypt", 4096));
	ASSERT_EQ(0, shrink());
	ASSERT_EQ(0, cached_pages());

	/* each write gives its pages back: at least one 1 MiB write's */
	ASSERT_EQ(0, vmc_pio("/dev/mapper/" VNAME, 1, self->p, LEN, 0));
	TH_LOG("cached after 8 MiB of writes: %ld pages", cached_pages());
	ASSERT_GE(cached_pages(), 256);

	ASSERT_EQ(0, shrink());
	ASSERT_EQ(0, cached_pages());

	/* and the cache fills again, with the data still right */
	ASSERT_EQ(0, vmc_pio("/dev/mapper/" VNAME, 1, self->q, LEN, 0));
	ASSERT_GE(cached_pages(), 256);
	ASSERT_EQ(0, vmc_pio("/dev/mapper/" VNAME, 0, self->r, LEN, 0));
	ASSERT_EQ(0, memcmp(self->r, self->q, LEN));
}

/*
 * A bounce page reused for a write smaller than a page still holds old
 * ciphertext past the write: none of it may reach the disk.
 */
TEST_F(bounce, recycled_pages_leave_no_stale_bytes)
{
	static const struct { off_t off; size_t len; } w[] = {
		{ 512, 512 }, { 3 * 4096 + 1024, 1536 }, { 40960 + 3584, 512 },
		{ (1 << 20) - 512, 1024 }, { 5 << 20, 2560 },
	};
	unsigned int i;

	/* the whole range encrypted once: the cache is full of ciphertext */
	ASSERT_EQ(0, create(self, VNAME, "vmcrypt", 512));
	ASSERT_EQ(0, vmc_pio("/dev/mapper/" VNAME, 1, self->p, LEN, 0));
	ASSERT_GE(cached_pages(), 256);
	ASSERT_EQ(0, vmc_pio("/dev/ram0", 0, self->raw0, LEN, 0));

	/* sub-page writes of Q into P, through recycled pages */
	for (i = 0; i < sizeof(w) / sizeof(w[0]); i++) {
		ASSERT_EQ(0, vmc_pio("/dev/mapper/" VNAME, 1, self->q + w[i].off,
				     w[i].len, w[i].off));
		memcpy(self->p + w[i].off, self->q + w[i].off, w[i].len);
	}
	vmc_dm_remove(VNAME);

	/* dm-crypt reads exactly P with the small writes in it */
	ASSERT_EQ(0, create(self, CNAME, "crypt", 512));
	ASSERT_EQ(0, vmc_pio("/dev/mapper/" CNAME, 0, self->r, LEN, 0));
	ASSERT_EQ(0, memcmp(self->r, self->p, LEN));
	vmc_dm_remove(CNAME);

	/* and on the raw device only the written sectors changed */
	ASSERT_EQ(0, vmc_pio("/dev/ram0", 0, self->r, LEN, 0));
	for (i = 0; i < sizeof(w) / sizeof(w[0]); i++) {
		ASSERT_NE(0, memcmp(self->r + w[i].off, self->raw0 + w[i].off,
				    w[i].len));
		memcpy(self->raw0 + w[i].off, self->r + w[i].off, w[i].len);
	}
	ASSERT_EQ(0, memcmp(self->r, self->raw0, LEN));
}

TEST_F_TIMEOUT(bounce, shrinker_races_with_verified_writes, 150)
{
	ASSERT_EQ(0, create(self, VNAME, "vmcrypt", 4096));
	if (vmc_sh("command -v fio >/dev/null"))
		SKIP(return, "fio is not installed");
	ASSERT_EQ(0, vmc_sh(
		"rm -f /tmp/vmct-bounce.done;"
		" ( while [ ! -e /tmp/vmct-bounce.done ]; do"
		"  echo 2 > /proc/sys/vm/drop_caches; sleep 0.05; done ) &"
		" fio --name=vmct --filename=/dev/mapper/" VNAME
		" --direct=1 --ioengine=libaio --iodepth=16 --rw=randwrite"
		" --bsrange=4k-1m --numjobs=2 --size=3M --offset_increment=4M"
		" --loops=4 --runtime=30 --verify=crc32c --verify_fatal=1 --do_verify=1"
		" --output-format=terse > /tmp/vmct-bounce.out 2>&1;"
		" r=$?; touch /tmp/vmct-bounce.done; wait;"
		" [ $r = 0 ] || cat /tmp/vmct-bounce.out; exit $r"));
}

TEST_HARNESS_MAIN
