// SPDX-License-Identifier: GPL-2.0
/*
 * test_target_unaligned.c - bios that dm-vmcrypt must refuse: one that does
 * not start or end on a data unit (4096-byte sectors), and one whose data
 * unit is split across two bio_vecs, small (converted inline) and large
 * (cut into chunks on every CPU). User space cannot shape such bios, so
 * the test-only module tests/vm/bio_probe submits them. Each must fail
 * with EIO, count one io_error in the status, say why in the kernel log,
 * write nothing to the disk and leak nothing; the same probe's aligned
 * bios succeed, so the failures are the target's doing.
 */
#include "kselftest_harness.h"
#include "test_target.h"

#define VNAME "vmct_unal"
#define PROBE "/sys/kernel/debug/vmct_bio_probe/submit"
#define PROBE_MODULE "vmct_bio_probe"
#define PROBE_KO "tests/vm/bio_probe/" PROBE_MODULE ".ko"
#define LEN (4u << 20)
#define DEV "/dev/mapper/" VNAME
#define LARGE (512u << 10)
#define MSG_UNALIGNED "unaligned bio"
#define MSG_SPLIT "data unit not aligned to the sector size"

FIXTURE(unal) {
	char desc[64];
	key_serial_t key;
	unsigned char *p, *r, *raw0;
	int kmsg;
};

/* The tree's tests/vm/bio_probe/vmct_bio_probe.ko (make test-modules). */
static int load_probe(void)
{
	char ko[PATH_MAX];

	if (!access("/sys/module/" PROBE_MODULE, F_OK))
		return 0;
	if (vmc_tree_path(PROBE_KO, ko, sizeof(ko))) {
		vmc_diag("%s not found (make test-modules builds it)", PROBE_KO);
		return -ENOENT;
	}
	return vmc_insmod(ko);
}

/* One bio through the probe: 0, or the bio's -errno. */
static int probe(char op, unsigned long long sector, unsigned int bytes,
		 int split)
{
	char line[192];
	int fd, n, r = 0;

	n = snprintf(line, sizeof(line), "%c %s %llu %u %d", op, DEV, sector,
		     bytes, split);
	fd = open(PROBE, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, line, (size_t)n) != n)
		r = -errno;
	close(fd);
	return r;
}

/*
 * dm's error messages share one rate limit (10 in 5 s): let an earlier
 * test's burst expire so that this test's first message is printed.
 */
static void quiet_log(void)
{
	sleep(6);
}

FIXTURE_SETUP(unal)
{
	char table[256];

	self->key = -1;
	self->kmsg = -1;
	ASSERT_EQ(0, vmc_load_module());
	ASSERT_EQ(0, load_probe());
	ASSERT_EQ(0, vmc_brd(16));
	snprintf(self->desc, sizeof(self->desc), "vmct%d:unal", getpid());
	self->key = vmc_add_key("logon", self->desc, NULL, 64);
	ASSERT_GT(self->key, 0);
	snprintf(table, sizeof(table),
		 "0 %u vmcrypt aes-xts-plain64 :64:logon:%s 0 /dev/ram0 0 1 sector_size:4096",
		 LEN / 512, self->desc);
	ASSERT_EQ(0, vmc_dm_create(VNAME, table));
	self->p = vmc_buf(LEN);
	self->r = vmc_buf(LEN);
	self->raw0 = vmc_buf(LEN);
	ASSERT_TRUE(self->p && self->r && self->raw0);
	ASSERT_EQ(0, vmc_fill_random(self->p, LEN));
	ASSERT_EQ(0, vmc_pio(DEV, 1, self->p, LEN, 0));
	ASSERT_EQ(0, vmc_pio("/dev/ram0", 0, self->raw0, LEN, 0));
	self->kmsg = vmc_kmsg_open();
	ASSERT_LE(0, self->kmsg);
}

FIXTURE_TEARDOWN(unal)
{
	vmc_dm_remove(VNAME);
	if (self->key > 0)
		keyctl_invalidate(self->key);
	if (self->kmsg >= 0)
		close(self->kmsg);
	syscall(SYS_delete_module, PROBE_MODULE, O_NONBLOCK);
	free(self->p);
	free(self->r);
	free(self->raw0);
}

/* Nothing reached the disk, and the device still reads what was written. */
static void assert_unchanged(struct __test_metadata *_metadata,
			     FIXTURE_DATA(unal) *self)
{
	ASSERT_EQ(0, vmc_pio("/dev/ram0", 0, self->r, LEN, 0));
	ASSERT_EQ(0, memcmp(self->r, self->raw0, LEN));
	ASSERT_EQ(0, vmc_pio(DEV, 0, self->r, LEN, 0));
	ASSERT_EQ(0, memcmp(self->r, self->p, LEN));
}

/* The probe itself works: aligned bios, small and large, succeed. */
TEST_F(unal, aligned_bios_from_the_probe_succeed)
{
	struct vmc_info in;
	unsigned int i;

	ASSERT_EQ(0, probe('w', 8, 16384, -1));
	ASSERT_EQ(0, probe('w', 1024, LARGE, -1));
	ASSERT_EQ(0, probe('r', 8, 16384, -1));
	ASSERT_EQ(0, probe('r', 1024, LARGE, -1));
	ASSERT_EQ(0, vmc_pio(DEV, 0, self->r, LEN, 0));
	for (i = 0; i < LEN; i++) {
		unsigned char want = (i >= 4096 && i < 4096 + 16384) ||
				     (i >= 1024 * 512 && i < 1024 * 512 + LARGE) ?
				     0x5a : self->p[i];

		ASSERT_EQ(want, self->r[i]) TH_LOG("byte %u", i);
	}
	ASSERT_EQ(0, vmc_dm_info(VNAME, &in));
	ASSERT_EQ(0, in.crypto_errors);
	ASSERT_EQ(0, in.io_errors);
}

TEST_F(unal, bio_not_on_a_data_unit_is_refused)
{
	static const struct { unsigned long long sector; unsigned int bytes; } b[] = {
		{ 1, 4096 },		/* starts 512 bytes into a unit */
		{ 7, 8192 },
		{ 0, 512 },		/* ends inside a unit */
		{ 8, 4096 + 512 },
		{ 3, LARGE - 1536 },	/* neither */
	};
	struct vmc_info in;
	unsigned int i;

	quiet_log();

	for (i = 0; i < sizeof(b) / sizeof(b[0]); i++) {
		EXPECT_EQ(-EIO, probe('w', b[i].sector, b[i].bytes, -1))
			TH_LOG("write at %llu, %u bytes", b[i].sector, b[i].bytes);
		EXPECT_EQ(-EIO, probe('r', b[i].sector, b[i].bytes, -1))
			TH_LOG("read at %llu, %u bytes", b[i].sector, b[i].bytes);
	}
	ASSERT_EQ(1, vmc_kmsg_find(self->kmsg, MSG_UNALIGNED));
	ASSERT_EQ(0, vmc_dm_info(VNAME, &in));
	ASSERT_EQ(0, in.crypto_errors);
	ASSERT_EQ(2 * sizeof(b) / sizeof(b[0]), in.io_errors);
	assert_unchanged(_metadata, self);
}

/* A bio under 256 KiB: one chunk, converted where it is. */
TEST_F(unal, data_unit_across_two_bvecs_small_bio)
{
	struct vmc_info in;
	int split;

	quiet_log();

	for (split = 0; split < 4; split++) {
		EXPECT_EQ(-EIO, probe('w', 8, 16384, split)) TH_LOG("split %d", split);
		EXPECT_EQ(-EIO, probe('r', 8, 16384, split)) TH_LOG("split %d", split);
	}
	ASSERT_EQ(1, vmc_kmsg_find(self->kmsg, MSG_SPLIT));
	ASSERT_EQ(0, vmc_dm_info(VNAME, &in));
	ASSERT_EQ(0, in.crypto_errors);
	ASSERT_EQ(8, in.io_errors);
	assert_unchanged(_metadata, self);
}

/*
 * A 512 KiB bio: 64 KiB chunks taken by a part on every CPU. The bad unit
 * first, in the middle or last; the parts on other CPUs stop, the bounce
 * pages of writes go back (256 failed writes would otherwise leak 128 MiB),
 * and the bio completes once.
 */
TEST_F(unal, data_unit_across_two_bvecs_large_bio)
{
	static const int splits[] = { 0, 1, 63, 64, 100, 127 };
	const unsigned int nsplits = sizeof(splits) / sizeof(splits[0]);
	unsigned long long bad = 0;
	struct vmc_info in;
	long long before, after;
	unsigned int i;

	quiet_log();

	before = vmc_mem_free_kib();
	ASSERT_LT(0, before);
	for (i = 0; i < 256; i++) {
		EXPECT_EQ(-EIO, probe('w', 1024, LARGE, splits[i % nsplits]))
			TH_LOG("write, split %d", splits[i % nsplits]);
		bad++;
		if (i % 4)
			continue;
		EXPECT_EQ(-EIO, probe('r', 1024, LARGE, splits[i % nsplits]))
			TH_LOG("read, split %d", splits[i % nsplits]);
		bad++;
	}
	ASSERT_EQ(1, vmc_kmsg_find(self->kmsg, MSG_SPLIT));
	ASSERT_EQ(0, vmc_dm_info(VNAME, &in));
	ASSERT_EQ(0, in.crypto_errors);
	ASSERT_EQ(bad, in.io_errors);
	assert_unchanged(_metadata, self);
	after = vmc_mem_free_kib();
	TH_LOG("free memory %lld KiB before, %lld KiB after", before, after);
	ASSERT_LT(before - after, 32 * 1024);
}

TEST_HARNESS_MAIN
