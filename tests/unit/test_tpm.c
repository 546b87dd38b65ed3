// SPDX-License-Identifier: GPL-2.0
/*
 * test_tpm.c - lib/tpm.c against a real software TPM (swtpm on 127.0.0.1):
 * seal/unseal with and without a PCR policy, PCR change detection, corrupt
 * and foreign blobs (a lying TPM2B size field, without a TPM), no TPM,
 * the TSS return-code mapping, survival of a dictionary-attack lockout,
 * and recovery of a sealed object by hand with tpm2-tools using the
 * documented primary template.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <tss2/tss2_common.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_tpm2_types.h>

#include "kselftest_harness.h"
#include "lib/atomicfile.h"
#include "lib/tpm.h"
#include "test_tpm_swtpm.h"

/* A resettable PCR (debug PCR 16) so a test can put it back. */
#define TEST_PCR 16

FIXTURE(tpm) {
	struct swtpm sw;
	struct tpm *t;
	struct secbuf secret;
	int skip;
};

FIXTURE_SETUP(tpm)
{
	const char *why = NULL;
	size_t i;
	int r = swtpm_start(&self->sw, &why);

	if (r == -1) {
		self->skip = 1;
		SKIP(return, "%s", why);
	}
	ASSERT_EQ(0, r) {
		TH_LOG("%s", why);
	}
	ASSERT_EQ(0, tpm_open(self->sw.tcti, &self->t));
	ASSERT_EQ(0, secbuf_alloc(&self->secret, 32));
	for (i = 0; i < 32; i++)
		self->secret.data[i] = (uint8_t)(i * 7 + 1);
}

FIXTURE_TEARDOWN(tpm)
{
	secbuf_free(&self->secret);
	tpm_close(self->t);
	swtpm_stop(&self->sw);
}

TEST_F(tpm, seal_unseal_no_pcr)
{
	struct tpm_sealed s = { 0 };
	struct secbuf out = { 0 };

	if (self->skip)
		return;
	ASSERT_EQ(0, tpm_seal(self->t, &self->secret, 0, &s));
	ASSERT_EQ(0, tpm_unseal(self->t, &s, &out));
	ASSERT_EQ(self->secret.len, out.len);
	EXPECT_EQ(0, secure_memcmp(out.data, self->secret.data, out.len));
	secbuf_free(&out);
	tpm_sealed_free(&s);
}

TEST_F(tpm, files_roundtrip_and_survive_restart)
{
	struct tpm_sealed s = { 0 }, l = { 0 };
	struct secbuf out = { 0 };
	struct stat st;
	char path[PATH_MAX + 16];

	if (self->skip)
		return;
	ASSERT_EQ(0, tpm_seal(self->t, &self->secret, 1u << TEST_PCR, &s));
	ASSERT_EQ(0, tpm_sealed_save(self->sw.dir, "obj", &s));
	snprintf(path, sizeof(path), "%s/obj.priv", self->sw.dir);
	ASSERT_EQ(0, stat(path, &st));
	EXPECT_EQ(0600u, st.st_mode & 07777);
	ASSERT_EQ(0, tpm_sealed_load(self->sw.dir, "obj", &l));
	EXPECT_EQ(1u << TEST_PCR, l.pcr_mask);
	/* A host reboot: same seeds, PCRs back to their reset values. */
	tpm_close(self->t);
	self->t = NULL;
	ASSERT_EQ(0, swtpm_restart(&self->sw));
	ASSERT_EQ(0, tpm_open(self->sw.tcti, &self->t));
	ASSERT_EQ(0, tpm_unseal(self->t, &l, &out));
	EXPECT_EQ(0, secure_memcmp(out.data, self->secret.data, 32));
	secbuf_free(&out);
	tpm_sealed_free(&s);
	tpm_sealed_free(&l);
}

TEST_F(tpm, pcr_change_is_policy_error)
{
	struct tpm_sealed s = { 0 };
	struct secbuf out = { 0 };
	char cmd[256];

	if (self->skip)
		return;
	ASSERT_EQ(0, tpm_seal(self->t, &self->secret, 1u << TEST_PCR | 1u << 0, &s));
	snprintf(cmd, sizeof(cmd), "tpm2_pcrextend %d:sha256=%064d", TEST_PCR, 1);
	ASSERT_EQ(0, swtpm_tools(&self->sw, cmd));
	EXPECT_EQ(TPM_EPCR, tpm_unseal(self->t, &s, &out));
	EXPECT_EQ(NULL, out.data);
	EXPECT_NE(NULL, strstr(tpm_error(self->t), "Esys_Unseal"));
	TH_LOG("tpm_error: %s", tpm_error(self->t));
	/* Back to the sealed values: usable again. */
	snprintf(cmd, sizeof(cmd), "tpm2_pcrreset %d", TEST_PCR);
	ASSERT_EQ(0, swtpm_tools(&self->sw, cmd));
	ASSERT_EQ(0, tpm_unseal(self->t, &s, &out));
	secbuf_free(&out);
	tpm_sealed_free(&s);
}

TEST_F(tpm, pcr_sealed_object_refuses_password_session)
{
	struct tpm_sealed s = { 0 };
	char cmd[4096];

	if (self->skip)
		return;
	/* Without the policy, tpm2_unseal with the (empty) password fails. */
	ASSERT_EQ(0, tpm_seal(self->t, &self->secret, 1u << TEST_PCR, &s));
	ASSERT_EQ(0, tpm_sealed_save(self->sw.dir, "p", &s));
	tpm_close(self->t);
	self->t = NULL;
	snprintf(cmd, sizeof(cmd),
		 "cd '%s' && tpm2_createprimary -Q -C o -g sha256 -G ecc256:null:aes128cfb "
		 "-a 'fixedtpm|fixedparent|sensitivedataorigin|userwithauth|restricted|decrypt|noda' "
		 "-c prim.ctx && tpm2_flushcontext -t && tpm2_load -Q -C prim.ctx -u p.pub -r p.priv -c p.ctx && "
		 "! tpm2_unseal -c p.ctx -o out.bin 2>/dev/null && test ! -s out.bin",
		 self->sw.dir);
	/* The object loads (the template matches) but will not unseal. */
	EXPECT_EQ(0, swtpm_tools(&self->sw, cmd));
	tpm_sealed_free(&s);
}

TEST_F(tpm, manual_recovery_with_tpm2_tools)
{
	struct tpm_sealed s = { 0 };
	char cmd[4096], path[PATH_MAX + 16];
	uint8_t *got = NULL;
	size_t len = 0;

	if (self->skip)
		return;
	ASSERT_EQ(0, tpm_seal(self->t, &self->secret, 1u << 0 | 1u << 7, &s));
	ASSERT_EQ(0, tpm_sealed_save(self->sw.dir, "key", &s));
	tpm_close(self->t);
	self->t = NULL;
	/* Exactly the commands of Documentation/persistence.rst. */
	snprintf(cmd, sizeof(cmd),
		 "cd '%s' && tpm2_createprimary -Q -C o -g sha256 -G ecc256:null:aes128cfb "
		 "-a 'fixedtpm|fixedparent|sensitivedataorigin|userwithauth|restricted|decrypt|noda' "
		 "-c primary.ctx && tpm2_flushcontext -t && "
		 "tpm2_load -Q -C primary.ctx -u key.pub -r key.priv -c key.ctx && "
		 "tpm2_flushcontext -t && "
		 "tpm2_unseal -c key.ctx -p pcr:$(cat key.pcrs) -o key.bin", self->sw.dir);
	ASSERT_EQ(0, swtpm_tools(&self->sw, cmd));
	snprintf(path, sizeof(path), "%s/key.bin", self->sw.dir);
	ASSERT_EQ(0, atomicfile_read(path, 4096, &got, &len));
	ASSERT_EQ((size_t)32, len);
	EXPECT_EQ(0, memcmp(got, self->secret.data, 32));
	secure_wipe(got, len);
	free(got);
	tpm_sealed_free(&s);
}

static void flip_file_byte(const char *path, long off)
{
	int fd = open(path, O_RDWR);
	unsigned char c;

	if (fd < 0)
		return;
	if (pread(fd, &c, 1, off) == 1) {
		c ^= 0x5a;
		if (pwrite(fd, &c, 1, off) != 1)
			perror("pwrite");
	}
	close(fd);
}

TEST_F(tpm, corrupt_blobs_are_ebadmsg)
{
	struct tpm_sealed s = { 0 }, l = { 0 };
	struct secbuf out = { 0 };
	char path[PATH_MAX + 16];
	int r;

	if (self->skip)
		return;
	ASSERT_EQ(0, tpm_seal(self->t, &self->secret, 0, &s));
	ASSERT_EQ(0, tpm_sealed_save(self->sw.dir, "c", &s));

	/* A flipped byte in the encrypted private part: integrity failure. */
	snprintf(path, sizeof(path), "%s/c.priv", self->sw.dir);
	flip_file_byte(path, 40);
	ASSERT_EQ(0, tpm_sealed_load(self->sw.dir, "c", &l));
	EXPECT_EQ(-EBADMSG, tpm_unseal(self->t, &l, &out));
	TH_LOG("tpm_error: %s", tpm_error(self->t));
	tpm_sealed_free(&l);
	flip_file_byte(path, 40);

	/* A flipped byte in the public part: the name no longer matches. */
	snprintf(path, sizeof(path), "%s/c.pub", self->sw.dir);
	flip_file_byte(path, 30);
	r = tpm_sealed_load(self->sw.dir, "c", &l);
	if (r == 0) {
		EXPECT_EQ(-EBADMSG, tpm_unseal(self->t, &l, &out));
	} else {
		EXPECT_EQ(-EBADMSG, r);
	}
	tpm_sealed_free(&l);
	flip_file_byte(path, 30);

	/* Truncated: does not unmarshal. */
	ASSERT_EQ(0, truncate(path, (off_t)s.pub_len - 3));
	EXPECT_EQ(-EBADMSG, tpm_sealed_load(self->sw.dir, "c", &l));
	ASSERT_EQ(0, atomicfile_write(path, s.pub, s.pub_len, 0600));

	/* Trailing garbage and a bad PCR file. */
	snprintf(path, sizeof(path), "%s/c.pcrs", self->sw.dir);
	ASSERT_EQ(0, atomicfile_write(path, "sha256:0,99\n", 12, 0600));
	EXPECT_EQ(-EBADMSG, tpm_sealed_load(self->sw.dir, "c", &l));
	ASSERT_EQ(0, atomicfile_write(path, "sha1:0\n", 7, 0600));
	EXPECT_EQ(-EBADMSG, tpm_sealed_load(self->sw.dir, "c", &l));
	ASSERT_EQ(0, atomicfile_write(path, "", 0, 0600));
	EXPECT_EQ(-EBADMSG, tpm_sealed_load(self->sw.dir, "c", &l));
	ASSERT_EQ(0, atomicfile_write(path, "none\n", 5, 0600));
	ASSERT_EQ(0, tpm_sealed_load(self->sw.dir, "c", &l));
	ASSERT_EQ(0, tpm_unseal(self->t, &l, &out));
	secbuf_free(&out);
	tpm_sealed_free(&l);
	tpm_sealed_free(&s);
}

TEST_F(tpm, blob_from_another_tpm)
{
	struct tpm_sealed s = { 0 };
	struct secbuf out = { 0 };
	struct swtpm other;
	struct tpm *t2 = NULL;
	const char *why;

	if (self->skip)
		return;
	ASSERT_EQ(0, tpm_seal(self->t, &self->secret, 0, &s));
	ASSERT_EQ(0, swtpm_start(&other, &why));
	ASSERT_EQ(0, tpm_open(other.tcti, &t2));
	EXPECT_EQ(-EBADMSG, tpm_unseal(t2, &s, &out));
	EXPECT_EQ(NULL, out.data);
	tpm_close(t2);
	swtpm_stop(&other);
	tpm_sealed_free(&s);
}

TEST_F(tpm, seal_rejects_bad_args)
{
	struct tpm_sealed s = { 0 };
	struct secbuf big = { 0 };

	if (self->skip)
		return;
	ASSERT_EQ(0, secbuf_alloc(&big, TPM_SEAL_MAX + 1));
	EXPECT_EQ(-EINVAL, tpm_seal(self->t, &big, 0, &s));
	EXPECT_EQ(-EINVAL, tpm_seal(self->t, &self->secret, 1u << 24, &s));
	secbuf_free(&big);
}

/*
 * Lockout: a DA-protected object with a password (made with tpm2-tools)
 * is hammered until the TPM locks out. Our sealed objects are noDA, so the
 * persistence key still unseals: an attacker cannot deny a host its keys
 * by forcing a lockout.
 */
TEST_F(tpm, noda_objects_survive_lockout)
{
	struct tpm_sealed s = { 0 };
	struct secbuf out = { 0 };
	char cmd[4096];

	if (self->skip)
		return;
	ASSERT_EQ(0, tpm_seal(self->t, &self->secret, 0, &s));
	tpm_close(self->t);
	self->t = NULL;
	snprintf(cmd, sizeof(cmd),
		 "cd '%s' && tpm2_dictionarylockout -Q -s -n 2 -t 600 -l 600 && "
		 "tpm2_createprimary -Q -C o -c da_prim.ctx && tpm2_flushcontext -t && "
		 "echo secret | tpm2_create -Q -C da_prim.ctx -p right -i- "
		 "-u da.pub -r da.priv && tpm2_flushcontext -t && "
		 "tpm2_load -Q -C da_prim.ctx -u da.pub -r da.priv -c da.ctx && "
		 "tpm2_flushcontext -t && "
		 "for i in 1 2 3; do tpm2_unseal -c da.ctx -p wrong >/dev/null 2>&1; "
		 "tpm2_flushcontext -t; done; "
		 "tpm2_unseal -c da.ctx -p right 2>&1 | grep -q 'DA lockout mode' && "
		 "tpm2_flushcontext -t",
		 self->sw.dir);
	ASSERT_EQ(0, swtpm_tools(&self->sw, cmd));
	ASSERT_EQ(0, tpm_open(self->sw.tcti, &self->t));
	ASSERT_EQ(0, tpm_unseal(self->t, &s, &out));
	EXPECT_EQ(0, secure_memcmp(out.data, self->secret.data, 32));
	secbuf_free(&out);
	tpm_sealed_free(&s);
}

TEST(no_tpm)
{
	struct tpm *t = NULL;

	/* Nothing listens on port 1 of loopback. */
	EXPECT_EQ(-ENODEV, tpm_open("swtpm:host=127.0.0.1,port=1", &t));
	EXPECT_EQ(NULL, t);
	EXPECT_EQ(-ENODEV, tpm_open("device:/dev/vmcrypt-no-such-tpm", &t));
	EXPECT_NE(NULL, strstr(tpm_strerror(-ENODEV), "no TPM"));
}

TEST(rc_mapping)
{
	/* Session number bits must not matter for format-1 codes. */
	EXPECT_EQ(TPM_EPCR, tpm_rc_to_errno(TPM2_RC_POLICY_FAIL | TPM2_RC_S | TPM2_RC_1));
	EXPECT_EQ(TPM_EPCR, tpm_rc_to_errno(TPM2_RC_POLICY_FAIL));
	EXPECT_EQ(TPM_ELOCKOUT, tpm_rc_to_errno(TPM2_RC_LOCKOUT));
	EXPECT_EQ(TPM_ELOCKOUT, tpm_rc_to_errno(TSS2_RESMGR_TPM_RC_LAYER | TPM2_RC_LOCKOUT));
	EXPECT_EQ(-EBADMSG, tpm_rc_to_errno(TPM2_RC_INTEGRITY | TPM2_RC_P | TPM2_RC_1));
	EXPECT_EQ(-EACCES, tpm_rc_to_errno(TPM2_RC_BAD_AUTH | TPM2_RC_S | TPM2_RC_1));
	EXPECT_EQ(-EBADMSG, tpm_rc_to_errno(TPM2_RC_AUTH_UNAVAILABLE));
	EXPECT_EQ(-EAGAIN, tpm_rc_to_errno(TPM2_RC_RETRY));
	EXPECT_EQ(-ENODEV, tpm_rc_to_errno(TSS2_TCTI_RC_IO_ERROR));
	EXPECT_EQ(-ENODEV, tpm_rc_to_errno(TSS2_TCTI_RC_NO_CONNECTION));
	EXPECT_EQ(-ENOMEM, tpm_rc_to_errno(TSS2_ESYS_RC_MEMORY));
	EXPECT_EQ(-EBADMSG, tpm_rc_to_errno(TSS2_MU_RC_BAD_SIZE));
	EXPECT_EQ(-EIO, tpm_rc_to_errno(TPM2_RC_NV_LOCKED));
	EXPECT_EQ(0, tpm_rc_to_errno(TSS2_RC_SUCCESS));
	/* The distinguished errors are distinct from each other. */
	EXPECT_NE(TPM_ELOCKOUT, TPM_EPCR);
	EXPECT_NE(TPM_ELOCKOUT, -EBADMSG);
	EXPECT_NE(NULL, strstr(tpm_strerror(TPM_ELOCKOUT), "lockout"));
	EXPECT_NE(NULL, strstr(tpm_strerror(TPM_EPCR), "PCR"));
}

TEST(pcr_lists)
{
	uint32_t m;
	char buf[96];

	EXPECT_EQ(0, tpm_pcrs_parse("0,7,23", &m));
	EXPECT_EQ((1u << 0 | 1u << 7 | 1u << 23), m);
	EXPECT_EQ(0, tpm_pcrs_format(m, buf, sizeof(buf)));
	EXPECT_STREQ("0,7,23", buf);
	EXPECT_EQ(0, tpm_pcrs_parse("", &m));
	EXPECT_EQ(0u, m);
	EXPECT_EQ(-EINVAL, tpm_pcrs_parse("24", &m));
	EXPECT_EQ(-EINVAL, tpm_pcrs_parse("1,,2", &m));
	EXPECT_EQ(-EINVAL, tpm_pcrs_parse("1,", &m));
	EXPECT_EQ(-EINVAL, tpm_pcrs_parse("-1", &m));
	EXPECT_EQ(-EINVAL, tpm_pcrs_parse("1,1", &m));
	EXPECT_EQ(-EINVAL, tpm_pcrs_parse("007", &m));
	EXPECT_EQ(-EINVAL, tpm_pcrs_parse("7 ", &m));
	EXPECT_EQ(-EINVAL, tpm_pcrs_parse("+7", &m));
}

/*
 * Sealed files load without a TPM. A TPM2B_PUBLIC whose size field claims
 * less than the structure after it is corrupt, though tss2-mu unmarshals
 * it (found by fuzz_tpm_sealed).
 */
TEST(sealed_file_size_field)
{
	static const char *const ext[] = { "pub", "priv", "pcrs" };
	struct tpm_sealed s = { 0 }, l = { 0 };
	TPM2B_PUBLIC pub = { 0 };
	uint8_t pubbuf[sizeof(TPM2B_PUBLIC)], privbuf[64];
	char dir[] = "/tmp/test_tpm.XXXXXX", path[64];
	size_t off = 0, i;
	unsigned int size;

	pub.publicArea.type = TPM2_ALG_KEYEDHASH;
	pub.publicArea.nameAlg = TPM2_ALG_SHA256;
	pub.publicArea.objectAttributes = TPMA_OBJECT_FIXEDTPM |
		TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_NODA | TPMA_OBJECT_USERWITHAUTH;
	pub.publicArea.parameters.keyedHashDetail.scheme.scheme = TPM2_ALG_NULL;
	pub.publicArea.unique.keyedHash.size = 32;
	memset(pub.publicArea.unique.keyedHash.buffer, 0xab, 32);
	ASSERT_EQ(TSS2_RC_SUCCESS, Tss2_MU_TPM2B_PUBLIC_Marshal(&pub, pubbuf,
								 sizeof(pubbuf), &off));
	s.pub = pubbuf;
	s.pub_len = off;
	privbuf[0] = 0;
	privbuf[1] = sizeof(privbuf) - 2;
	memset(privbuf + 2, 0x5c, sizeof(privbuf) - 2);
	s.priv = privbuf;
	s.priv_len = sizeof(privbuf);
	ASSERT_NE(NULL, mkdtemp(dir));

	ASSERT_EQ(0, tpm_sealed_save(dir, "obj", &s));
	ASSERT_EQ(0, tpm_sealed_load(dir, "obj", &l));
	EXPECT_EQ(s.pub_len, l.pub_len);
	EXPECT_EQ(0, memcmp(l.pub, s.pub, s.pub_len));
	tpm_sealed_free(&l);

	/* The same bytes, but a size field 4 short. */
	size = (unsigned int)pubbuf[0] << 8 | pubbuf[1];
	ASSERT_EQ(s.pub_len - 2, size);
	pubbuf[0] = (uint8_t)((size - 4) >> 8);
	pubbuf[1] = (uint8_t)(size - 4);
	ASSERT_EQ(0, tpm_sealed_save(dir, "obj", &s));
	EXPECT_EQ(-EBADMSG, tpm_sealed_load(dir, "obj", &l));
	EXPECT_EQ(NULL, l.pub);
	tpm_sealed_free(&l);

	for (i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/obj.%s", dir, ext[i]);
		unlink(path);
	}
	rmdir(dir);
}

TEST_HARNESS_MAIN
