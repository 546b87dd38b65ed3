// SPDX-License-Identifier: GPL-2.0
/*
 * test_luks_table.c - the dm table line vmcrypt loads for a LUKS2 disk
 * (must be dm-crypt's own syntax, as cryptsetup would load it), the dm
 * UUID that marks our devices, the logon key name, and the parser of the
 * target's status line. No device-mapper needed.
 */
#include <errno.h>
#include <string.h>

#include "kselftest_harness.h"
#include "lib/dmtarget.h"
#include "lib/keyring.h"

TEST(table_luks2_4096)
{
	struct dmt_table t = {
		.len = 65536, .key_desc = "vmcrypt:c9306610-3f5b-4eba-a34a-f03977a04281",
		.key_size = 64, .dev = "/dev/loop0", .offset = 32768, .sector_size = 4096,
	};
	char buf[512];

	ASSERT_EQ(0, dmt_format_params(&t, buf, sizeof(buf)));
	/* What `cryptsetup open` loads for the same LUKS2 volume (crypt target). */
	EXPECT_STREQ("aes-xts-plain64 :64:logon:vmcrypt:c9306610-3f5b-4eba-a34a-f03977a04281 "
		     "0 /dev/loop0 32768 1 sector_size:4096", buf);
}

TEST(table_512_no_options)
{
	struct dmt_table t = {
		.len = 8, .key_desc = "vmcrypt:x", .key_size = 64, .dev = "/dev/ram0",
		.offset = 32768, .sector_size = 512,
	};
	char buf[512];

	ASSERT_EQ(0, dmt_format_params(&t, buf, sizeof(buf)));
	EXPECT_STREQ("aes-xts-plain64 :64:logon:vmcrypt:x 0 /dev/ram0 32768", buf);
}

TEST(table_all_options)
{
	struct dmt_table t = {
		.len = 8, .key_desc = "k", .key_size = 32, .iv_offset = 7, .dev = "/dev/sdb",
		.offset = 0, .sector_size = 4096, .iv_large_sectors = true,
		.allow_discards = true,
	};
	char buf[512];

	ASSERT_EQ(0, dmt_format_params(&t, buf, sizeof(buf)));
	EXPECT_STREQ("aes-xts-plain64 :32:logon:k 7 /dev/sdb 0 3 sector_size:4096 "
		     "iv_large_sectors allow_discards", buf);
}

TEST(table_refusals)
{
	struct dmt_table t = { .len = 8, .key_desc = "k", .key_size = 48, .dev = "/dev/sdb" };
	char buf[512], tiny[16];

	EXPECT_EQ(-EINVAL, dmt_format_params(&t, buf, sizeof(buf)));
	t.key_size = 64;
	t.key_desc = "two words";
	EXPECT_EQ(-EINVAL, dmt_format_params(&t, buf, sizeof(buf)));
	t.key_desc = "k";
	t.dev = NULL;
	EXPECT_EQ(-EINVAL, dmt_format_params(&t, buf, sizeof(buf)));
	t.dev = "/dev/sdb";
	EXPECT_EQ(-ENAMETOOLONG, dmt_format_params(&t, tiny, sizeof(tiny)));
}

TEST(dm_uuid_and_key_name)
{
	char buf[160], desc[64];

	ASSERT_EQ(0, dmt_make_uuid("c9306610-3f5b-4eba-a34a-f03977a04281", "db01-data",
				   buf, sizeof(buf)));
	EXPECT_STREQ("VMCRYPT-c93066103f5b4ebaa34af03977a04281-db01-data", buf);
	/* dm UUIDs are at most 128 bytes: a long name is refused, not cut. */
	EXPECT_EQ(-ENAMETOOLONG, dmt_make_uuid("c9306610-3f5b-4eba-a34a-f03977a04281",
		  "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn",
		  buf, sizeof(buf)));
	ASSERT_EQ(0, keyring_desc("c9306610-3f5b-4eba-a34a-f03977a04281", desc, sizeof(desc)));
	EXPECT_STREQ("vmcrypt:c9306610-3f5b-4eba-a34a-f03977a04281", desc);
	EXPECT_EQ(-ENAMETOOLONG, keyring_desc("c9306610-3f5b-4eba-a34a-f03977a04281", desc, 20));
}

TEST(status_line)
{
	struct dmt_counters c;

	ASSERT_EQ(0, dmt_parse_status("set 10 40960 3 12288 0 1", &c));
	EXPECT_STREQ("set", c.key_state);
	EXPECT_EQ(10ULL, c.reads);
	EXPECT_EQ(40960ULL, c.read_bytes);
	EXPECT_EQ(3ULL, c.writes);
	EXPECT_EQ(12288ULL, c.write_bytes);
	EXPECT_EQ(0ULL, c.crypto_errors);
	EXPECT_EQ(1ULL, c.io_errors);
	EXPECT_EQ(-EINVAL, dmt_parse_status("wiped 1 2 3", &c));
	EXPECT_EQ(-EINVAL, dmt_parse_status("", &c));
}

TEST_HARNESS_MAIN
