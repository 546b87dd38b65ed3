// SPDX-License-Identifier: GPL-2.0
/*
 * test_target_lock.c - the key messages and the "locked" state of
 * dm-vmcrypt: "key wipe" / "key set" only while suspended, resume refused
 * without a key, I/O submitted to a suspended wiped device held and then
 * completed with the right data after "key set" + resume; a wrong key
 * really changes what is read; bad "key set" arguments change nothing; a
 * weak XTS key (equal halves) is refused.
 * Also discards (only with allow_discards) and the status counters.
 */
#include <signal.h>

#include "kselftest_harness.h"
#include "test_target.h"

#define DNAME "vmct_lock"
#define DEV "/dev/mapper/" DNAME
#define IOLEN (256u << 10)

FIXTURE(lock) {
	char prefix[32];
	char desc[64], desc2[64], desc32[64];
	key_serial_t k, k2, k32;
	unsigned char *data, *buf;
	char status[256];
};

FIXTURE_SETUP(lock)
{
	char table[256];

	ASSERT_EQ(0, vmc_load_module());
	ASSERT_EQ(0, vmc_brd(16));
	snprintf(self->prefix, sizeof(self->prefix), "vmct%d", getpid());
	snprintf(self->desc, sizeof(self->desc), "%s:a", self->prefix);
	snprintf(self->desc2, sizeof(self->desc2), "%s:b", self->prefix);
	snprintf(self->desc32, sizeof(self->desc32), "%s:c", self->prefix);
	self->k = vmc_add_key("logon", self->desc, NULL, 64);
	self->k2 = vmc_add_key("logon", self->desc2, NULL, 64);
	self->k32 = vmc_add_key("logon", self->desc32, NULL, 32);
	ASSERT_GT(self->k, 0);
	ASSERT_GT(self->k2, 0);
	ASSERT_GT(self->k32, 0);
	self->data = vmc_buf(IOLEN);
	self->buf = vmc_buf(IOLEN);
	ASSERT_TRUE(self->data && self->buf);
	ASSERT_EQ(0, vmc_fill_random(self->data, IOLEN));
	snprintf(table, sizeof(table),
		 "0 16384 vmcrypt aes-xts-plain64 :64:logon:%s 0 /dev/ram0 0 1 sector_size:4096",
		 self->desc);
	ASSERT_EQ(0, vmc_dm_create(DNAME, table));
	ASSERT_EQ(0, vmc_pio(DEV, 1, self->data, IOLEN, 0));
}

FIXTURE_TEARDOWN(lock)
{
	vmc_dm_resume(DNAME);
	vmc_dm_remove(DNAME);
	keyctl_invalidate(self->k);
	keyctl_invalidate(self->k2);
	keyctl_invalidate(self->k32);
	free(self->data);
	free(self->buf);
}

static const char *key_state(FIXTURE_DATA(lock) *self)
{
	static char st[32];

	self->status[0] = '\0';
	vmc_dm_status(DNAME, self->status, sizeof(self->status));
	/* "0 16384 vmcrypt <state> ..." */
	if (sscanf(self->status, "%*s %*s %*s %31s", st) != 1)
		return "?";
	return st;
}

TEST_F(lock, messages_refused_while_live)
{
	int kmsg = vmc_kmsg_open();

	EXPECT_NE(0, vmc_dm_messagef(DNAME, "key wipe"));
	EXPECT_EQ(1, vmc_kmsg_find(kmsg, "key messages are accepted only while suspended"));
	EXPECT_NE(0, vmc_dm_messagef(DNAME, "key set :64:logon:%s",
			    self->desc));
	EXPECT_STREQ("set", key_state(self));
	/* unknown messages are refused even when suspended */
	ASSERT_EQ(0, vmc_dm_suspend(DNAME));
	EXPECT_NE(0, vmc_dm_messagef(DNAME, "key frobnicate"));
	EXPECT_NE(0, vmc_dm_messagef(DNAME, "key"));
	EXPECT_NE(0, vmc_dm_messagef(DNAME, "key wipe now"));
	EXPECT_EQ(1, vmc_kmsg_find(kmsg, "unrecognised message"));
	EXPECT_STREQ("set", key_state(self));
	ASSERT_EQ(0, vmc_dm_resume(DNAME));
	ASSERT_EQ(0, vmc_pio(DEV, 0, self->buf, IOLEN, 0));
	EXPECT_EQ(0, memcmp(self->buf, self->data, IOLEN));
	close(kmsg);
}

TEST_F(lock, locked_cycle)
{
	int kmsg = vmc_kmsg_open();
	int st, fd, i;
	pid_t pid;

	ASSERT_EQ(0, vmc_dm_suspend(DNAME));
	ASSERT_EQ(0, vmc_dm_messagef(DNAME, "key wipe"));
	EXPECT_STREQ("wiped", key_state(self));

	/* no resume without a key */
	EXPECT_NE(0, vmc_dm_resume(DNAME));
	EXPECT_EQ(1, vmc_kmsg_find(kmsg, "cannot resume: no key"));

	/* I/O submitted now is held by dm core */
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		unsigned char *b = vmc_buf(IOLEN);

		fd = open(DEV, O_RDONLY | O_DIRECT);
		if (!b || fd < 0 || pread(fd, b, IOLEN, 0) != IOLEN)
			_exit(2);
		_exit(memcmp(b, self->data, IOLEN) ? 3 : 0);
	}
	usleep(1500 * 1000);
	EXPECT_EQ(0, waitpid(pid, &st, WNOHANG)) {
		TH_LOG("a read completed on a locked device");
	}

	/* bad "key set" arguments change nothing */
	EXPECT_NE(0, vmc_dm_messagef(DNAME, "key set :32:logon:%s",
			    self->desc32));
	EXPECT_EQ(1, vmc_kmsg_find(kmsg, "The key size cannot be changed"));
	EXPECT_NE(0, vmc_dm_messagef(DNAME, "key set :64:logon:%s:missing",
			    self->prefix));
	EXPECT_EQ(1, vmc_kmsg_find(kmsg, "Key not found in the logon keyring"));
	EXPECT_NE(0, vmc_dm_messagef(DNAME, "key set :64:user:%s",
			    self->desc));
	EXPECT_NE(0, vmc_dm_messagef(DNAME, "key set 00112233"));
	EXPECT_STREQ("wiped", key_state(self));
	EXPECT_NE(0, vmc_dm_resume(DNAME));
	EXPECT_EQ(0, waitpid(pid, &st, WNOHANG));

	/* the right key: the held read completes with the right data */
	ASSERT_EQ(0, vmc_dm_messagef(DNAME, "key set :64:logon:%s",
			    self->desc));
	EXPECT_STREQ("set", key_state(self));
	ASSERT_EQ(0, vmc_dm_resume(DNAME));
	for (i = 0; i < 300 && waitpid(pid, &st, WNOHANG) == 0; i++)
		usleep(100 * 1000);
	if (i == 300) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
	}
	ASSERT_LT(i, 300);
	ASSERT_TRUE(WIFEXITED(st));
	EXPECT_EQ(0, WEXITSTATUS(st));
	close(kmsg);
}

TEST_F(lock, other_key_reads_other_data)
{
	char out[512], devno[32];

	/* another 64-byte key: the same sectors decrypt to something else */
	ASSERT_EQ(0, vmc_dm_suspend(DNAME));
	ASSERT_EQ(0, vmc_dm_messagef(DNAME, "key set :64:logon:%s",
			    self->desc2));
	ASSERT_EQ(0, vmc_dm_resume(DNAME));
	ASSERT_EQ(0, vmc_devno("/dev/ram0", devno, sizeof(devno)));
	ASSERT_EQ(0, vmc_dm_table(DNAME, out, sizeof(out)));
	EXPECT_NE(NULL, strstr(out, self->desc2));
	ASSERT_EQ(0, vmc_pio(DEV, 0, self->buf, IOLEN, 0));
	EXPECT_NE(0, memcmp(self->buf, self->data, IOLEN));

	/* and back */
	ASSERT_EQ(0, vmc_dm_suspend(DNAME));
	ASSERT_EQ(0, vmc_dm_messagef(DNAME, "key set :64:logon:%s",
			    self->desc));
	ASSERT_EQ(0, vmc_dm_resume(DNAME));
	ASSERT_EQ(0, vmc_pio(DEV, 0, self->buf, IOLEN, 0));
	EXPECT_EQ(0, memcmp(self->buf, self->data, IOLEN));
}

/*
 * An XTS key whose halves are equal is refused: by the constructor, and by
 * "key set", which then leaves the device wiped (the transform's state
 * after a refused setkey is undefined), not running on the old key.
 */
TEST_F(lock, weak_key_refused)
{
	unsigned char weak[64];
	char desc[64], table[256];
	int kmsg = vmc_kmsg_open();
	key_serial_t kw;

	ASSERT_EQ(0, vmc_fill_random(weak, 32));
	memcpy(weak + 32, weak, 32);
	snprintf(desc, sizeof(desc), "%s:weak", self->prefix);
	kw = vmc_add_key("logon", desc, weak, sizeof(weak));
	ASSERT_GT(kw, 0);

	snprintf(table, sizeof(table),
		 "0 8192 vmcrypt aes-xts-plain64 :64:logon:%s 0 /dev/ram0 8192 1 sector_size:4096",
		 desc);
	EXPECT_NE(0, vmc_dm_create(DNAME "_weak", table));
	EXPECT_EQ(1, vmc_kmsg_find(kmsg, "Cipher refused the key"));
	vmc_dm_remove(DNAME "_weak");

	ASSERT_EQ(0, vmc_dm_suspend(DNAME));
	EXPECT_NE(0, vmc_dm_messagef(DNAME, "key set :64:logon:%s", desc));
	EXPECT_EQ(1, vmc_kmsg_find(kmsg, "Cipher refused the key"));
	EXPECT_STREQ("wiped", key_state(self));
	EXPECT_NE(0, vmc_dm_resume(DNAME));

	/* the right key brings the data back */
	ASSERT_EQ(0, vmc_dm_messagef(DNAME, "key set :64:logon:%s",
			    self->desc));
	ASSERT_EQ(0, vmc_dm_resume(DNAME));
	ASSERT_EQ(0, vmc_pio(DEV, 0, self->buf, IOLEN, 0));
	EXPECT_EQ(0, memcmp(self->buf, self->data, IOLEN));
	keyctl_invalidate(kw);
	close(kmsg);
}

/* Key bytes never appear in the table or status output. */
TEST_F(lock, no_key_bytes_shown)
{
	unsigned char key[64];
	char hex[129], out[1024];
	int i;

	/* logon keys cannot be read back: use a key whose bytes we know */
	EXPECT_GT(0, keyctl_read(self->k2, (char *)key, sizeof(key)));
	for (i = 0; i < 64; i++)
		key[i] = (unsigned char)(i * 7 + 3);
	for (i = 0; i < 64; i++)
		snprintf(hex + 2 * i, 3, "%02x", key[i]);
	keyctl_invalidate(self->k2);
	self->k2 = vmc_add_key("logon", self->desc2, key, 64);
	ASSERT_GT(self->k2, 0);
	ASSERT_EQ(0, vmc_dm_suspend(DNAME));
	ASSERT_EQ(0, vmc_dm_messagef(DNAME, "key set :64:logon:%s",
			    self->desc2));
	ASSERT_EQ(0, vmc_dm_resume(DNAME));
	ASSERT_EQ(0, vmc_sh_out(out, sizeof(out),
				"(dmsetup table %s; dmsetup status %s; dmsetup table --showkeys %s) | tr -d '\\n'",
				DNAME, DNAME, DNAME));
	EXPECT_EQ(NULL, strstr(out, hex));
	hex[32] = '\0';
	EXPECT_EQ(NULL, strstr(out, hex));
}

static int discard(const char *dev, uint64_t off, uint64_t len)
{
	uint64_t range[2] = { off, len };
	int fd = open(dev, O_RDWR), r;

	if (fd < 0)
		return -errno;
	r = ioctl(fd, BLKDISCARD, range) ? -errno : 0;
	close(fd);
	return r;
}

/* Discards pass only with allow_discards (on a loop device: brd takes none). */
TEST_F(lock, discards)
{
	char table[256], loop[64];
	const char *opts[] = { " 1 sector_size:4096", " 2 sector_size:4096 allow_discards" };
	int i;

	ASSERT_EQ(0, vmc_loop_create(16, loop, sizeof(loop)));
	for (i = 0; i < 2; i++) {
		vmc_dm_remove(DNAME);
		snprintf(table, sizeof(table),
			 "0 16384 vmcrypt aes-xts-plain64 :64:logon:%s 0 %s 0%s",
			 self->desc, loop, opts[i]);
		ASSERT_EQ(0, vmc_dm_create(DNAME, table));
		ASSERT_EQ(0, vmc_pio(DEV, 1, self->data, IOLEN, 0));
		if (i == 0) {
			EXPECT_NE(0, discard(DEV, 0, 65536));
			continue;
		}
		EXPECT_EQ(0, discard(DEV, 0, 65536));
		/* the rest of the data is intact */
		ASSERT_EQ(0, vmc_pio(DEV, 0, self->buf, IOLEN, 0));
		EXPECT_EQ(0, memcmp(self->buf + 65536, self->data + 65536,
				    IOLEN - 65536));
	}
	vmc_dm_remove(DNAME);
	vmc_loop_remove(loop);
}

/* INFO status counts requests and bytes of completed I/O. */
TEST_F(lock, status_counters)
{
	struct vmc_info in;
	int fd, i;

	vmc_dm_remove(DNAME);
	snprintf(self->status, sizeof(self->status),
		 "0 16384 vmcrypt aes-xts-plain64 :64:logon:%s 0 /dev/ram0 0",
		 self->desc);
	ASSERT_EQ(0, vmc_dm_create(DNAME, self->status));
	fd = open(DEV, O_RDWR | O_DIRECT);
	ASSERT_GE(fd, 0);
	for (i = 0; i < 10; i++)
		ASSERT_EQ(4096, pwrite(fd, self->data, 4096, (off_t)i * 8192));
	for (i = 0; i < 7; i++)
		ASSERT_EQ(8192, pread(fd, self->buf, 8192, (off_t)i * 16384));
	close(fd);
	ASSERT_EQ(0, vmc_dm_info(DNAME, &in));
	EXPECT_STREQ("set", in.key_state);
	EXPECT_EQ(7, in.reads);
	EXPECT_EQ(7 * 8192, in.read_bytes);
	EXPECT_EQ(10, in.writes);
	EXPECT_EQ(10 * 4096, in.write_bytes);
	EXPECT_EQ(0, in.crypto_errors);
	EXPECT_EQ(0, in.io_errors);
}

TEST_HARNESS_MAIN
