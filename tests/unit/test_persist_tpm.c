// SPDX-License-Identifier: GPL-2.0
/*
 * test_persist_tpm.c - persistence directory life cycle against swtpm:
 * enable, fill, "reboot" (swtpm restart on the same state), reopen; PCR
 * change; corrupt or missing files; no TPM; disable; file modes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "lib/atomicfile.h"
#include "lib/persist.h"
#include "lib/tpm.h"
#include "test_tpm_swtpm.h"

FIXTURE(p) {
	struct swtpm sw;
	char state[300];
	char err[512];
	int skip;
};

FIXTURE_SETUP(p)
{
	const char *why = NULL;
	int r = swtpm_start(&self->sw, &why);

	if (r == -1) {
		self->skip = 1;
		SKIP(return, "%s", why);
	}
	ASSERT_EQ(0, r) {
		TH_LOG("%s", why);
	}
	snprintf(self->state, sizeof(self->state), "%s/vmstate", self->sw.dir);
	ASSERT_EQ(0, mkdir(self->state, 0700));
}

FIXTURE_TEARDOWN(p)
{
	swtpm_stop(&self->sw);
}

static void kek(struct secbuf *k, int i)
{
	secbuf_alloc(k, 32);
	memset(k->data, i & 0xff, 32);
	k->data[0] = (uint8_t)(i >> 8);
}

static int fill(struct persist *ps, int n)
{
	struct secbuf k = { 0 };
	char id[32];
	int i, r = 0;

	for (i = 0; i < n && !r; i++) {
		kek(&k, i);
		snprintf(id, sizeof(id), "kek-%d", i);
		r = persist_put(ps, "kms1", id, &k);
		secbuf_free(&k);
	}
	return r;
}

static int check(struct persist *ps, int n)
{
	struct secbuf k = { 0 }, want = { 0 };
	char id[32];
	int i, bad = 0;

	for (i = 0; i < n; i++) {
		snprintf(id, sizeof(id), "kek-%d", i);
		if (persist_get(ps, "kms1", id, &k)) {
			bad++;
			continue;
		}
		kek(&want, i);
		bad += secure_memcmp(k.data, want.data, 32) != 0;
		secbuf_free(&k);
		secbuf_free(&want);
	}
	return bad;
}

TEST_F(p, enable_fill_reboot_reopen)
{
	struct persist *ps = NULL;
	char path[600];
	struct stat st;

	if (self->skip)
		return;
	EXPECT_EQ(-ENOENT, persist_open(self->state, self->sw.tcti, &ps, self->err,
					 sizeof(self->err)));
	ASSERT_EQ(0, persist_enable(self->state, self->sw.tcti, 0, self->err,
				    sizeof(self->err)));
	EXPECT_EQ(1, persist_enabled(self->state));
	EXPECT_EQ(-EEXIST, persist_enable(self->state, self->sw.tcti, 0, self->err,
					  sizeof(self->err)));
	ASSERT_EQ(0, persist_open(self->state, self->sw.tcti, &ps, self->err,
				  sizeof(self->err)));
	EXPECT_EQ((size_t)0, persist_count(ps));
	ASSERT_EQ(0, fill(ps, 50));
	persist_close(ps);
	ps = NULL;

	snprintf(path, sizeof(path), "%s/persist", self->state);
	ASSERT_EQ(0, stat(path, &st));
	EXPECT_EQ(0700u, st.st_mode & 07777);
	snprintf(path, sizeof(path), "%s/persist/cache", self->state);
	ASSERT_EQ(0, stat(path, &st));
	EXPECT_EQ(0600u, st.st_mode & 07777);
	snprintf(path, sizeof(path), "%s/persist/key.priv", self->state);
	ASSERT_EQ(0, stat(path, &st));
	EXPECT_EQ(0600u, st.st_mode & 07777);

	ASSERT_EQ(0, swtpm_restart(&self->sw));
	ASSERT_EQ(0, persist_open(self->state, self->sw.tcti, &ps, self->err,
				  sizeof(self->err)));
	EXPECT_EQ((size_t)50, persist_count(ps));
	EXPECT_EQ(0, check(ps, 50));
	persist_close(ps);

	ASSERT_EQ(0, persist_disable(self->state, NULL, 0));
	EXPECT_EQ(0, persist_enabled(self->state));
	EXPECT_EQ(-ENOENT, persist_disable(self->state, NULL, 0));
	/* Nothing left behind in the state dir. */
	snprintf(path, sizeof(path), "ls -A '%s' | grep -q .", self->state);
	EXPECT_NE(0, system(path));
}

TEST_F(p, pcr_bound_then_changed)
{
	struct persist *ps = NULL;
	uint32_t mask = 0;
	char aside[600], dir[600];

	if (self->skip)
		return;
	ASSERT_EQ(0, persist_enable(self->state, self->sw.tcti, 1u << 16 | 1u << 7,
				    self->err, sizeof(self->err)));
	ASSERT_EQ(0, persist_pcrs(self->state, &mask));
	EXPECT_EQ(1u << 16 | 1u << 7, mask);
	ASSERT_EQ(0, persist_open(self->state, self->sw.tcti, &ps, self->err,
				  sizeof(self->err)));
	ASSERT_EQ(0, fill(ps, 3));
	persist_close(ps);
	ps = NULL;
	ASSERT_EQ(0, swtpm_tools(&self->sw, "tpm2_pcrextend 7:sha256="
				 "0000000000000000000000000000000000000000000000000000000000000001"));
	EXPECT_EQ(TPM_EPCR, persist_open(self->state, self->sw.tcti, &ps, self->err,
					 sizeof(self->err)));
	EXPECT_EQ(NULL, ps);
	EXPECT_NE(NULL, strstr(self->err, "PCR"));
	TH_LOG("err: %s", self->err);
	/* Set aside, not deleted; persistence is then off. */
	ASSERT_EQ(0, persist_set_aside(self->state, "pcr-mismatch", aside, sizeof(aside)));
	EXPECT_EQ(0, persist_enabled(self->state));
	EXPECT_EQ(0, access(aside, R_OK));
	/* A reboot resets the PCRs: the kept copy opens again, nothing lost. */
	ASSERT_EQ(0, swtpm_restart(&self->sw));
	snprintf(dir, sizeof(dir), "%s/persist", self->state);
	ASSERT_EQ(0, rename(aside, dir));
	ASSERT_EQ(0, persist_open(self->state, self->sw.tcti, &ps, self->err,
				  sizeof(self->err)));
	EXPECT_EQ(0, check(ps, 3));
	persist_close(ps);
}

static int damage(const char *state, const char *file, int how)
{
	char path[600];
	int fd, r = 0;
	struct stat st;
	unsigned char c;

	snprintf(path, sizeof(path), "%s/persist/%s", state, file);
	if (how == 0)
		return unlink(path);
	if (stat(path, &st) < 0)
		return -1;
	if (how == 1)
		return truncate(path, st.st_size / 2);
	fd = open(path, O_RDWR);
	if (fd < 0)
		return -1;
	if (pread(fd, &c, 1, st.st_size - 5) != 1)
		r = -1;
	c ^= 0x80;
	if (!r && pwrite(fd, &c, 1, st.st_size - 5) != 1)
		r = -1;
	close(fd);
	return r;
}

TEST_F(p, corrupt_each_file)
{
	static const char *const files[] = { "cache", "key.pub", "key.priv" };
	struct persist *ps = NULL;
	char aside[600];
	size_t f;
	int how;

	if (self->skip)
		return;
	for (f = 0; f < 3; f++) {
		for (how = 0; how < 3; how++) {
			ASSERT_EQ(0, persist_enable(self->state, self->sw.tcti, 0,
						    self->err, sizeof(self->err)));
			ASSERT_EQ(0, persist_open(self->state, self->sw.tcti, &ps,
						  self->err, sizeof(self->err)));
			ASSERT_EQ(0, fill(ps, 4));
			persist_close(ps);
			ps = NULL;
			ASSERT_EQ(0, damage(self->state, files[f], how));
			EXPECT_EQ(-EBADMSG, persist_open(self->state, self->sw.tcti, &ps,
							 self->err, sizeof(self->err)));
			TH_LOG("%s damage %d: %s", files[f], how, self->err);
			EXPECT_EQ(NULL, ps);
			ASSERT_EQ(0, persist_set_aside(self->state, "corrupt", aside,
						       sizeof(aside)));
		}
	}
	/* A PCR file naming other PCRs: the policy no longer matches. */
	ASSERT_EQ(0, persist_enable(self->state, self->sw.tcti, 1u << 7, self->err,
				    sizeof(self->err)));
	snprintf(aside, sizeof(aside), "%s/persist/key.pcrs", self->state);
	ASSERT_EQ(0, atomicfile_write(aside, "sha256:8\n", 9, 0600));
	EXPECT_EQ(TPM_EPCR, persist_open(self->state, self->sw.tcti, &ps, self->err,
					 sizeof(self->err)));
}

TEST_F(p, no_tpm)
{
	struct persist *ps = NULL;

	if (self->skip)
		return;
	EXPECT_EQ(-ENODEV, persist_enable(self->state, "swtpm:host=127.0.0.1,port=1", 0,
					  self->err, sizeof(self->err)));
	EXPECT_EQ(0, persist_enabled(self->state));
	ASSERT_EQ(0, persist_enable(self->state, self->sw.tcti, 0, self->err,
				    sizeof(self->err)));
	/* Enabled, but the TPM is gone now: -ENODEV, files untouched. */
	EXPECT_EQ(-ENODEV, persist_open(self->state, "swtpm:host=127.0.0.1,port=1", &ps,
					self->err, sizeof(self->err)));
	EXPECT_EQ(1, persist_enabled(self->state));
	ASSERT_EQ(0, persist_open(self->state, self->sw.tcti, &ps, self->err,
				  sizeof(self->err)));
	persist_close(ps);
}

TEST_F(p, invalid_pcr_mask)
{
	if (self->skip)
		return;
	EXPECT_EQ(-EINVAL, persist_enable(self->state, self->sw.tcti, 1u << 24,
					  self->err, sizeof(self->err)));
	EXPECT_EQ(0, persist_enabled(self->state));
}

TEST_HARNESS_MAIN
