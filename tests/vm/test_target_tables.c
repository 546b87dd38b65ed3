// SPDX-License-Identifier: GPL-2.0
/*
 * test_target_tables.c - dm-vmcrypt refuses malformed tables, each with its
 * own ti->error text (checked in the kernel log, "device-mapper: table:
 * <dev>: vmcrypt: <error>"), leaves no device behind, and stays usable.
 * Also: the key description length limit; a valid table is re-emitted
 * exactly by `dmsetup table`, without key bytes, and the INFO status has
 * the documented fields.
 *
 * In a table, "@" stands for this test's key prefix: @:k64 and @:k32 are
 * logon keys of 64 and 32 bytes, @:u64 a user key, @:rev a revoked logon
 * key, @:none does not exist.
 */
#include "kselftest_harness.h"
#include "test_target.h"
#include <uapi/linux/vmcrypt.h>

#define DNAME "vmct_tables"

struct keys {
	char prefix[32];
	key_serial_t k64, k32, u64, rev;
};

static int make_keys(struct keys *k)
{
	char d[64];

	snprintf(k->prefix, sizeof(k->prefix), "vmct%d", getpid());
	snprintf(d, sizeof(d), "%s:k64", k->prefix);
	k->k64 = vmc_add_key("logon", d, NULL, 64);
	snprintf(d, sizeof(d), "%s:k32", k->prefix);
	k->k32 = vmc_add_key("logon", d, NULL, 32);
	snprintf(d, sizeof(d), "%s:u64", k->prefix);
	k->u64 = vmc_add_key("user", d, NULL, 64);
	snprintf(d, sizeof(d), "%s:rev", k->prefix);
	k->rev = vmc_add_key("logon", d, NULL, 64);
	if (k->k64 < 0 || k->k32 < 0 || k->u64 < 0 || k->rev < 0)
		return -errno;
	return keyctl_revoke(k->rev) ? -errno : 0;
}

static void drop_keys(struct keys *k)
{
	key_serial_t *ids[] = { &k->k64, &k->k32, &k->u64, &k->rev };
	size_t i;

	for (i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
		if (*ids[i] > 0)
			keyctl_invalidate(*ids[i]);
}

/* Replace each "@" of @in by the key prefix. */
static void expand(char *out, size_t len, const char *in, const char *prefix)
{
	size_t o = 0, pl = strlen(prefix);

	for (; *in && o + pl + 1 < len; in++) {
		if (*in == '@') {
			memcpy(out + o, prefix, pl);
			o += pl;
		} else {
			out[o++] = *in;
		}
	}
	out[o] = '\0';
}

FIXTURE(bad_table) {
	struct keys keys;
};

FIXTURE_VARIANT(bad_table) {
	const char *table;
	const char *error;	/* ti->error, as it appears in the log */
};

#define BAD(id, t, e) \
	FIXTURE_VARIANT_ADD(bad_table, id) { .table = t, .error = e }

#define D "/dev/ram0"
#define C "aes-xts-plain64"

BAD(too_few_args, "0 8192 vmcrypt " C " :64:logon:@:k64 0 " D,
    "vmcrypt: Not enough arguments");
BAD(cipher_cbc, "0 8192 vmcrypt aes-cbc-essiv:sha256 :64:logon:@:k64 0 " D " 0",
    "vmcrypt: Unsupported cipher: only aes-xts-plain64");
BAD(cipher_plain, "0 8192 vmcrypt aes-xts-plain :64:logon:@:k64 0 " D " 0",
    "vmcrypt: Unsupported cipher: only aes-xts-plain64");
BAD(raw_hex_key, "0 8192 vmcrypt " C " 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff 0 " D " 0",
    "vmcrypt: Raw keys are not accepted");
BAD(user_key, "0 8192 vmcrypt " C " :64:user:@:u64 0 " D " 0",
    "vmcrypt: Key type must be logon");
BAD(missing_key, "0 8192 vmcrypt " C " :64:logon:@:none 0 " D " 0",
    "vmcrypt: Key not found in the logon keyring");
BAD(revoked_key, "0 8192 vmcrypt " C " :64:logon:@:rev 0 " D " 0",
    "vmcrypt: Key is revoked or expired");
BAD(key_size_mismatch, "0 8192 vmcrypt " C " :32:logon:@:k64 0 " D " 0",
    "vmcrypt: Key payload size does not match the key reference");
BAD(key_size_mismatch2, "0 8192 vmcrypt " C " :64:logon:@:k32 0 " D " 0",
    "vmcrypt: Key payload size does not match the key reference");
BAD(key_size_48, "0 8192 vmcrypt " C " :48:logon:@:k64 0 " D " 0",
    "vmcrypt: Invalid key size: must be 32 or 64");
BAD(key_size_leading_zero, "0 8192 vmcrypt " C " :064:logon:@:k64 0 " D " 0",
    "vmcrypt: Invalid key size: must be 32 or 64");
BAD(key_no_type, "0 8192 vmcrypt " C " :64logon 0 " D " 0",
    "vmcrypt: Invalid key reference");
BAD(key_empty_desc, "0 8192 vmcrypt " C " :64:logon: 0 " D " 0",
    "vmcrypt: Empty key description");
BAD(iv_offset_junk, "0 8192 vmcrypt " C " :64:logon:@:k64 12x " D " 0",
    "vmcrypt: Invalid iv_offset sector");
BAD(iv_offset_negative, "0 8192 vmcrypt " C " :64:logon:@:k64 -8 " D " 0",
    "vmcrypt: Invalid iv_offset sector");
BAD(iv_offset_plus, "0 8192 vmcrypt " C " :64:logon:@:k64 +8 " D " 0",
    "vmcrypt: Invalid iv_offset sector");
BAD(iv_offset_unaligned, "0 8192 vmcrypt " C " :64:logon:@:k64 4 " D " 0 1 sector_size:4096",
    "vmcrypt: Invalid iv_offset sector");
BAD(no_device, "0 8192 vmcrypt " C " :64:logon:@:k64 0 /dev/vmct-nonexistent 0",
    "vmcrypt: Device lookup failed");
BAD(offset_junk, "0 8192 vmcrypt " C " :64:logon:@:k64 0 " D " 1k",
    "vmcrypt: Invalid device sector");
BAD(offset_unaligned, "0 8192 vmcrypt " C " :64:logon:@:k64 0 " D " 4 1 sector_size:4096",
    "vmcrypt: Device offset is not multiple of sector_size feature");
BAD(length_unaligned, "0 8188 vmcrypt " C " :64:logon:@:k64 0 " D " 0 1 sector_size:4096",
    "vmcrypt: Device size is not multiple of sector_size feature");
BAD(sector_size_300, "0 8192 vmcrypt " C " :64:logon:@:k64 0 " D " 0 1 sector_size:300",
    "vmcrypt: Invalid feature value for sector_size");
BAD(sector_size_8192, "0 8192 vmcrypt " C " :64:logon:@:k64 0 " D " 0 1 sector_size:8192",
    "vmcrypt: Invalid feature value for sector_size");
BAD(sector_size_256, "0 8192 vmcrypt " C " :64:logon:@:k64 0 " D " 0 1 sector_size:256",
    "vmcrypt: Invalid feature value for sector_size");
BAD(sector_size_junk, "0 8192 vmcrypt " C " :64:logon:@:k64 0 " D " 0 1 sector_size:4096k",
    "vmcrypt: Invalid feature value for sector_size");
BAD(duplicate_option, "0 8192 vmcrypt " C " :64:logon:@:k64 0 " D " 0 2 allow_discards allow_discards",
    "vmcrypt: Duplicate feature argument");
BAD(duplicate_sector_size, "0 8192 vmcrypt " C " :64:logon:@:k64 0 " D " 0 2 sector_size:4096 sector_size:4096",
    "vmcrypt: Duplicate feature argument");
BAD(unknown_option, "0 8192 vmcrypt " C " :64:logon:@:k64 0 " D " 0 1 same_cpu_crypt",
    "vmcrypt: Invalid feature arguments");
BAD(too_many_options, "0 8192 vmcrypt " C " :64:logon:@:k64 0 " D " 0 4 allow_discards iv_large_sectors sector_size:4096 allow_discards",
    "vmcrypt: Invalid number of feature args");
BAD(option_count_short, "0 8192 vmcrypt " C " :64:logon:@:k64 0 " D " 0 2 allow_discards",
    "vmcrypt: Invalid number of feature args");
BAD(option_count_junk, "0 8192 vmcrypt " C " :64:logon:@:k64 0 " D " 0 x allow_discards",
    "vmcrypt: Invalid number of feature args");
BAD(trailing_args, "0 8192 vmcrypt " C " :64:logon:@:k64 0 " D " 0 1 allow_discards extra",
    "vmcrypt: Too many arguments");

FIXTURE_SETUP(bad_table)
{
	ASSERT_EQ(0, vmc_load_module());
	ASSERT_EQ(0, vmc_brd(16));
	ASSERT_EQ(0, make_keys(&self->keys));
}

FIXTURE_TEARDOWN(bad_table)
{
	vmc_dm_remove(DNAME);
	drop_keys(&self->keys);
}

TEST_F(bad_table, refused)
{
	char table[512];
	int kmsg = vmc_kmsg_open();

	ASSERT_GE(kmsg, 0);
	expand(table, sizeof(table), variant->table, self->keys.prefix);
	TH_LOG("table: %s", table);
	EXPECT_NE(0, vmc_dm_create(DNAME, table));
	EXPECT_EQ(1, vmc_kmsg_find(kmsg, variant->error)) {
		TH_LOG("expected \"%s\" in the kernel log", variant->error);
	}
	close(kmsg);
	/* a failed create leaves nothing behind */
	EXPECT_FALSE(vmc_dm_exists(DNAME));
}

/*
 * A key description of up to VMCRYPT_KEY_DESC_MAX bytes is taken, a longer
 * one refused (so that a device's netlink attributes always fit a message).
 */
TEST(key_description_length)
{
	char desc[VMCRYPT_KEY_DESC_MAX + 2], table[VMCRYPT_KEY_DESC_MAX + 256];
	int kmsg = vmc_kmsg_open();
	key_serial_t k;
	size_t n;

	ASSERT_EQ(0, vmc_load_module());
	ASSERT_EQ(0, vmc_brd(16));
	n = (size_t)snprintf(desc, sizeof(desc), "vmct%d:", getpid());
	memset(desc + n, 'd', VMCRYPT_KEY_DESC_MAX - n);
	desc[VMCRYPT_KEY_DESC_MAX] = '\0';
	k = vmc_add_key("logon", desc, NULL, 64);
	ASSERT_GT(k, 0);
	snprintf(table, sizeof(table), "0 8192 vmcrypt " C " :64:logon:%s 0 " D " 0",
		 desc);
	EXPECT_EQ(0, vmc_dm_create(DNAME, table));
	vmc_dm_remove(DNAME);

	strcat(desc, "d");	/* one byte too many */
	snprintf(table, sizeof(table), "0 8192 vmcrypt " C " :64:logon:%s 0 " D " 0",
		 desc);
	EXPECT_NE(0, vmc_dm_create(DNAME, table));
	EXPECT_EQ(1, vmc_kmsg_find(kmsg, "vmcrypt: Key description longer than 1024 bytes"));
	EXPECT_FALSE(vmc_dm_exists(DNAME));
	keyctl_invalidate(k);
	close(kmsg);
}

FIXTURE(good_table) {
	struct keys keys;
	char devno[32];
};

FIXTURE_SETUP(good_table)
{
	ASSERT_EQ(0, vmc_load_module());
	ASSERT_EQ(0, vmc_brd(16));
	ASSERT_EQ(0, make_keys(&self->keys));
	ASSERT_EQ(0, vmc_devno(D, self->devno, sizeof(self->devno)));
}

FIXTURE_TEARDOWN(good_table)
{
	vmc_dm_remove(DNAME);
	drop_keys(&self->keys);
}

/* After all the refusals, the module still makes working devices. */
TEST_F(good_table, table_reemitted_exactly)
{
	static const char *const opts[] = {
		"",
		" 1 allow_discards",
		" 3 iv_large_sectors allow_discards sector_size:4096",
		" 2 sector_size:1024 iv_large_sectors",
	};
	char table[512], expect[512], out[512], in[256];
	size_t i;

	for (i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		snprintf(in, sizeof(in), "0 8192 vmcrypt " C " :64:logon:@:k64 4096 " D " 8192%s",
			 opts[i]);
		expand(table, sizeof(table), in, self->keys.prefix);
		ASSERT_EQ(0, vmc_dm_create(DNAME, table));
		snprintf(in, sizeof(in), "0 8192 vmcrypt " C " :64:logon:@:k64 4096 %s 8192%s",
			 self->devno, opts[i]);
		expand(expect, sizeof(expect), in, self->keys.prefix);
		ASSERT_EQ(0, vmc_dm_table(DNAME, out, sizeof(out)));
		EXPECT_STREQ(expect, out);
		ASSERT_EQ(0, vmc_dm_status(DNAME, out, sizeof(out)));
		EXPECT_STREQ("0 8192 vmcrypt set 0 0 0 0 0 0", out);
		vmc_dm_remove(DNAME);
		ASSERT_FALSE(vmc_dm_exists(DNAME));
	}
}

/* AES-128 works as well, and the device does I/O. */
TEST_F(good_table, aes128_io)
{
	char table[512], in[256];
	unsigned char *w = vmc_buf(65536), *r = vmc_buf(65536);

	ASSERT_TRUE(w && r);
	snprintf(in, sizeof(in), "0 8192 vmcrypt " C " :32:logon:@:k32 0 " D " 0");
	expand(table, sizeof(table), in, self->keys.prefix);
	ASSERT_EQ(0, vmc_dm_create(DNAME, table));
	ASSERT_EQ(0, vmc_fill_random(w, 65536));
	ASSERT_EQ(0, vmc_pio("/dev/mapper/" DNAME, 1, w, 65536, 1 << 20));
	ASSERT_EQ(0, vmc_pio("/dev/mapper/" DNAME, 0, r, 65536, 1 << 20));
	EXPECT_EQ(0, memcmp(w, r, 65536));
	free(w);
	free(r);
}

TEST_HARNESS_MAIN
