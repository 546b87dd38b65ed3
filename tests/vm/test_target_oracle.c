// SPDX-License-Identifier: GPL-2.0
/*
 * test_target_oracle.c - dm-crypt as the oracle of dm-vmcrypt's on-disk
 * format. For each variant (sector size, iv_large_sectors, AES-128/256,
 * non-zero iv_offset and offset, brd or loop, sync or async driver):
 *
 *   1. plaintext P written through vmcrypt gives ciphertext C;
 *   2. dm-crypt with the same key and parameters reads P back from C;
 *   3. P written through dm-crypt gives exactly C again (byte-identical);
 *   4. P2 written through dm-crypt reads back as P2 through vmcrypt;
 *   5. the backing device outside [offset, offset + length) is untouched.
 */
#include "kselftest_harness.h"
#include "test_target.h"

#define LEN_BYTES (4u << 20)
#define PAD_BYTES (1u << 20)
#define VNAME "vmct_oracle_v"
#define CNAME "vmct_oracle_c"

FIXTURE(oracle) {
	char backing[64];
	char devno[32];
	char desc[64];
	key_serial_t key;
	int loop;
	unsigned char *p, *p2, *c, *raw0, *raw;
	size_t span;
};

FIXTURE_VARIANT(oracle) {
	int loop;		/* 0: brd, 1: loop over a file */
	unsigned int sector_size;
	int iv_large;
	unsigned int key_size;
	unsigned long long iv_offset;	/* 512-byte sectors */
	unsigned long long offset;	/* 512-byte sectors */
	const char *driver;	/* "" default, else driver= */
};

FIXTURE_VARIANT_ADD(oracle, brd_512_aes256) {
	.loop = 0, .sector_size = 512, .key_size = 64,
	.iv_offset = 8, .offset = 24, .driver = "",
};
FIXTURE_VARIANT_ADD(oracle, brd_512_aes128) {
	.loop = 0, .sector_size = 512, .key_size = 32,
	.iv_offset = 12345, .offset = 1, .driver = "",
};
FIXTURE_VARIANT_ADD(oracle, brd_4096_aes128) {
	.loop = 0, .sector_size = 4096, .key_size = 32,
	.iv_offset = 64, .offset = 2048, .driver = "",
};
FIXTURE_VARIANT_ADD(oracle, brd_4096_large_aes256) {
	.loop = 0, .sector_size = 4096, .iv_large = 1, .key_size = 64,
	.iv_offset = 16, .offset = 8, .driver = "",
};
FIXTURE_VARIANT_ADD(oracle, brd_2048_large_aes128_async) {
	.loop = 0, .sector_size = 2048, .iv_large = 1, .key_size = 32,
	.iv_offset = 4, .offset = 12, .driver = VMC_ASYNC_DRIVER,
};
FIXTURE_VARIANT_ADD(oracle, brd_4096_aes256_generic) {
	.loop = 0, .sector_size = 4096, .key_size = 64,
	.iv_offset = 800, .offset = 8, .driver = VMC_SYNC_DRIVER,
};
FIXTURE_VARIANT_ADD(oracle, loop_512_aes128) {
	.loop = 1, .sector_size = 512, .key_size = 32,
	.iv_offset = 1000, .offset = 24, .driver = "",
};
FIXTURE_VARIANT_ADD(oracle, loop_4096_large_aes128) {
	.loop = 1, .sector_size = 4096, .iv_large = 1, .key_size = 32,
	.iv_offset = 8, .offset = 4096, .driver = "",
};
FIXTURE_VARIANT_ADD(oracle, loop_4096_aes256_async) {
	.loop = 1, .sector_size = 4096, .key_size = 64,
	.iv_offset = 24, .offset = 16, .driver = VMC_ASYNC_DRIVER,
};

FIXTURE_SETUP(oracle)
{
	memset(self, 0, sizeof(*self));
	self->key = -1;
	ASSERT_EQ(0, vmc_load_module());
	if (access("/sys/module/dm_crypt", F_OK))
		ASSERT_EQ(0, vmc_sh("modprobe -q dm-crypt"));
	ASSERT_EQ(0, vmc_set_driver(variant->driver));
	if (variant->loop) {
		ASSERT_EQ(0, vmc_loop_create(16, self->backing,
					     sizeof(self->backing)));
		self->loop = 1;
	} else {
		ASSERT_EQ(0, vmc_brd(16));
		snprintf(self->backing, sizeof(self->backing), "/dev/ram0");
	}
	ASSERT_EQ(0, vmc_devno(self->backing, self->devno, sizeof(self->devno)));
	snprintf(self->desc, sizeof(self->desc), "vmctest:oracle-%d", getpid());
	self->key = vmc_add_key("logon", self->desc, NULL, variant->key_size);
	ASSERT_GT(self->key, 0);

	/* offset + length + a margin after, all read and checked raw */
	self->span = variant->offset * 512 + LEN_BYTES + PAD_BYTES;
	self->span = (self->span + 4095) & ~(size_t)4095;
	self->p = vmc_buf(LEN_BYTES);
	self->p2 = vmc_buf(LEN_BYTES);
	self->c = vmc_buf(LEN_BYTES);
	self->raw0 = vmc_buf(self->span);
	self->raw = vmc_buf(self->span);
	ASSERT_TRUE(self->p && self->p2 && self->c && self->raw0 && self->raw);
	ASSERT_EQ(0, vmc_fill_random(self->p, LEN_BYTES));
	ASSERT_EQ(0, vmc_fill_random(self->p2, LEN_BYTES));
	ASSERT_EQ(0, vmc_fill_random(self->raw0, self->span));
	ASSERT_EQ(0, vmc_pio(self->backing, 1, self->raw0, self->span, 0));
}

FIXTURE_TEARDOWN(oracle)
{
	vmc_dm_remove(VNAME);
	vmc_dm_remove(CNAME);
	if (self->loop)
		vmc_loop_remove(self->backing);
	if (self->key > 0)
		keyctl_invalidate(self->key);
	vmc_set_driver("");
	free(self->p);
	free(self->p2);
	free(self->c);
	free(self->raw0);
	free(self->raw);
}

static void table(char *out, size_t len, const char *target,
		  const FIXTURE_VARIANT(oracle) *v, const char *desc,
		  const char *dev)
{
	char opts[96] = "", ss[32] = "";
	int n = 0;

	if (v->sector_size != 512) {
		snprintf(ss, sizeof(ss), " sector_size:%u", v->sector_size);
		n++;
	}
	if (v->iv_large)
		n++;
	if (n)
		snprintf(opts, sizeof(opts), " %d%s%s", n, ss,
			 v->iv_large ? " iv_large_sectors" : "");
	snprintf(out, len, "0 %u %s aes-xts-plain64 :%u:logon:%s %llu %s %llu%s",
		 LEN_BYTES / 512, target, v->key_size, desc, v->iv_offset, dev,
		 v->offset, opts);
}

/* The raw bytes outside the mapped range must still be raw0. */
static int outside_untouched(FIXTURE_DATA(oracle) *self,
			     const FIXTURE_VARIANT(oracle) *v)
{
	size_t off = v->offset * 512;

	return !memcmp(self->raw, self->raw0, off) &&
	       !memcmp(self->raw + off + LEN_BYTES, self->raw0 + off + LEN_BYTES,
		       self->span - off - LEN_BYTES);
}

TEST_F(oracle, both_directions)
{
	char tv[512], tc[512];
	size_t off = variant->offset * 512;
	unsigned char *buf = self->raw;

	table(tv, sizeof(tv), "vmcrypt", variant, self->desc, self->backing);
	table(tc, sizeof(tc), "crypt", variant, self->desc, self->backing);
	TH_LOG("vmcrypt table: %s", tv);

	/* 1. P through vmcrypt; C is what lands on the backing device */
	ASSERT_EQ(0, vmc_dm_create(VNAME, tv));
	ASSERT_EQ(0, vmc_pio("/dev/mapper/" VNAME, 1, self->p, LEN_BYTES, 0));
	vmc_dm_remove(VNAME);
	ASSERT_EQ(0, vmc_pio(self->backing, 0, buf, self->span, 0));
	ASSERT_TRUE(outside_untouched(self, variant));
	memcpy(self->c, buf + off, LEN_BYTES);
	/* ciphertext is not the plaintext */
	ASSERT_NE(0, memcmp(self->c, self->p, LEN_BYTES));

	/* 2. dm-crypt decrypts vmcrypt's sectors */
	ASSERT_EQ(0, vmc_dm_create(CNAME, tc));
	memset(buf, 0, LEN_BYTES);
	ASSERT_EQ(0, vmc_pio("/dev/mapper/" CNAME, 0, buf, LEN_BYTES, 0));
	ASSERT_EQ(0, memcmp(buf, self->p, LEN_BYTES));

	/* 3. dm-crypt writes exactly the same sectors for P */
	ASSERT_EQ(0, vmc_pio(self->backing, 1, self->raw0, self->span, 0));
	ASSERT_EQ(0, vmc_pio("/dev/mapper/" CNAME, 1, self->p, LEN_BYTES, 0));
	ASSERT_EQ(0, vmc_pio(self->backing, 0, buf, self->span, 0));
	ASSERT_EQ(0, memcmp(buf + off, self->c, LEN_BYTES));
	ASSERT_TRUE(outside_untouched(self, variant));

	/* 4. vmcrypt decrypts dm-crypt's sectors */
	ASSERT_EQ(0, vmc_pio("/dev/mapper/" CNAME, 1, self->p2, LEN_BYTES, 0));
	vmc_dm_remove(CNAME);
	ASSERT_EQ(0, vmc_dm_create(VNAME, tv));
	memset(buf, 0, LEN_BYTES);
	ASSERT_EQ(0, vmc_pio("/dev/mapper/" VNAME, 0, buf, LEN_BYTES, 0));
	ASSERT_EQ(0, memcmp(buf, self->p2, LEN_BYTES));
	vmc_dm_remove(VNAME);
}

TEST_HARNESS_MAIN
