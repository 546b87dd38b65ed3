// SPDX-License-Identifier: GPL-2.0
/*
 * test_luks.c - the LUKS2 + vmcrypt token layer on image files (no
 * device-mapper needed): format, read back, DEK verification against the
 * digest (and its fixed iteration count), token update, recovery keyslot
 * (Argon2id), a format killed before its token (unfinished, not a disk),
 * refusals (too small, existing data found by the probe), and the token
 * parser on malformed input.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <libcryptsetup.h>

#include "kselftest_harness.h"
#include "lib/keywrap.h"
#include "lib/luks.h"

static void make_token(struct vmcrypt_token *t, const struct secbuf *kek,
		       const struct secbuf *dek)
{
	memset(t, 0, sizeof(*t));
	t->version = VMCRYPT_TOKEN_VERSION;
	strcpy(t->provider, "kms1");
	strcpy(t->kek_id, "42");
	strcpy(t->vm_name, "web 01");
	strcpy(t->vm_uuid, "0f3e8d6a-1b2c-4d5e-8f90-a1b2c3d4e5f6");
	luks_now(t->created, sizeof(t->created));
	keywrap_wrap(kek, dek->data, dek->len, t->wrapped_dek,
		     sizeof(t->wrapped_dek), &t->wrapped_len);
}

/*
 * The iteration count of the header's one digest, as cryptsetup itself
 * reads it (luksDump --dump-json-metadata, bounded as run_step() is); -1
 * on any failure.
 */
static long digest_iterations(const char *path)
{
	char cmd[512], json[65536];
	struct json_object *root, *digests = NULL, *iter = NULL;
	size_t n;
	long ret = -1;
	FILE *f;

	snprintf(cmd, sizeof(cmd),
		 "timeout -k 5 90 cryptsetup luksDump --dump-json-metadata '%s'",
		 path);
	f = popen(cmd, "r");
	if (!f)
		return -1;
	n = fread(json, 1, sizeof(json) - 1, f);
	json[n] = '\0';
	if (pclose(f))
		return -1;
	root = json_tokener_parse(json);
	if (root && json_object_object_get_ex(root, "digests", &digests) &&
	    json_object_object_length(digests) == 1) {
		json_object_object_foreach(digests, key, digest) {
			(void)key;
			if (json_object_object_get_ex(digest, "iterations", &iter))
				ret = json_object_get_int64(iter);
		}
	}
	json_object_put(root);
	return ret;
}

/* The PBKDF type of keyslot @slot ("" when it cannot be read), in @type. */
static void keyslot_pbkdf(const char *path, int slot, char *type, size_t len)
{
	struct crypt_pbkdf_type pbkdf;
	struct crypt_device *cd = NULL;

	snprintf(type, len, "%s", "");
	if (crypt_init(&cd, path) < 0)
		return;
	if (crypt_load(cd, CRYPT_LUKS2, NULL) >= 0 &&
	    crypt_keyslot_get_pbkdf(cd, slot, &pbkdf) >= 0)
		snprintf(type, len, "%s", pbkdf.type);
	crypt_free(cd);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * Run the shell command @cmd for the step @what, bounded to 90 s, and log
 * how long it took: when a step hangs, it fails by name (exit 124) rather
 * than the whole test by the harness's timeout. The exit status, or -1.
 */
static int run_step(struct __test_metadata *_metadata, const char *what,
		    const char *cmd)
{
	char bounded[1024];
	double t0 = now_s();
	int st;

	snprintf(bounded, sizeof(bounded), "timeout -k 5 90 sh -c \"%s\"", cmd);
	st = system(bounded);
	st = st >= 0 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	TH_LOG("%s: exit %d after %.1f s", what, st, now_s() - t0);
	return st;
}

static int make_file(const char *path, off_t size)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int ret = 0;

	if (fd < 0)
		return -errno;
	if (ftruncate(fd, size) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

FIXTURE(img) {
	char dir[64];
	char path[96];
	struct secbuf kek, dek;
	struct vmcrypt_token tok;
};

FIXTURE_SETUP(img)
{
	size_t i;

	strcpy(self->dir, "/tmp/test_luks.XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	snprintf(self->path, sizeof(self->path), "%s/disk.img", self->dir);
	ASSERT_EQ(0, make_file(self->path, 32 << 20));
	ASSERT_EQ(0, secbuf_alloc(&self->kek, 32));
	ASSERT_EQ(0, secbuf_alloc(&self->dek, VMCRYPT_DEK_BYTES));
	for (i = 0; i < 32; i++)
		self->kek.data[i] = (uint8_t)(0x80 + i);
	for (i = 0; i < VMCRYPT_DEK_BYTES; i++)
		self->dek.data[i] = (uint8_t)(0x11 * i + 5);
	make_token(&self->tok, &self->kek, &self->dek);
}

FIXTURE_TEARDOWN(img)
{
	char cmd[160];

	secbuf_free(&self->kek);
	secbuf_free(&self->dek);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", self->dir);
	if (system(cmd))
		TH_LOG("cleanup of %s failed", self->dir);
}

TEST_F(img, format_and_read)
{
	struct luks_info info;
	char uuid[40], what[256];
	struct secbuf out = { 0 };

	ASSERT_EQ(0, luks_probe(self->path, what, sizeof(what)));
	ASSERT_EQ(0, luks_format(self->path, &self->dek, 4096, &self->tok, NULL,
				 uuid, sizeof(uuid)));
	ASSERT_EQ(0, luks_read(self->path, &info));
	EXPECT_STREQ(uuid, info.uuid);
	EXPECT_EQ(4096u, info.sector_size);
	EXPECT_EQ(0, info.recovery_keyslots);
	/* LUKS2 default: 16 MiB of metadata and keyslot area. */
	EXPECT_EQ(32768u, info.data_offset);
	EXPECT_EQ(LUKS_DIGEST_ITERATIONS, digest_iterations(self->path));
	EXPECT_STREQ("kms1", info.tok.provider);
	EXPECT_STREQ("42", info.tok.kek_id);
	EXPECT_STREQ("web 01", info.tok.vm_name);
	EXPECT_STREQ(self->tok.vm_uuid, info.tok.vm_uuid);
	ASSERT_EQ(self->tok.wrapped_len, info.tok.wrapped_len);
	EXPECT_EQ(0, memcmp(self->tok.wrapped_dek, info.tok.wrapped_dek, info.tok.wrapped_len));
	/* The wrapped DEK unwraps to a key that the LUKS2 digest accepts. */
	ASSERT_EQ(0, keywrap_unwrap(&self->kek, info.tok.wrapped_dek, info.tok.wrapped_len, &out));
	EXPECT_EQ(0, luks_verify_key(self->path, &out));
	secbuf_free(&out);
	/* The probe now names what it found. */
	EXPECT_EQ(-EEXIST, luks_probe(self->path, what, sizeof(what)));
	EXPECT_NE(NULL, strstr(what, "vmcrypt disk of VM 'web 01'"));
	TH_LOG("probe: %s", what);
}

TEST_F(img, wrong_key_fails_digest)
{
	struct secbuf bad = { 0 };

	ASSERT_EQ(0, luks_format(self->path, &self->dek, 512, &self->tok, NULL, NULL, 0));
	ASSERT_EQ(0, secbuf_dup(&bad, self->dek.data, self->dek.len));
	bad.data[63] ^= 1;
	EXPECT_EQ(-EPERM, luks_verify_key(self->path, &bad));
	EXPECT_EQ(0, luks_verify_key(self->path, &self->dek));
	secbuf_free(&bad);
}

TEST_F(img, token_update)
{
	struct luks_info info;

	ASSERT_EQ(0, luks_format(self->path, &self->dek, 4096, &self->tok, NULL, NULL, 0));
	ASSERT_EQ(0, luks_read(self->path, &info));
	strcpy(self->tok.kek_id, "43");
	luks_now(self->tok.rekeyed, sizeof(self->tok.rekeyed));
	ASSERT_EQ(0, luks_set_token(self->path, info.token_id, &self->tok,
				    info.uuid, &self->dek, &info.tok));
	ASSERT_EQ(0, luks_read(self->path, &info));
	EXPECT_STREQ("43", info.tok.kek_id);
	EXPECT_STREQ(self->tok.rekeyed, info.tok.rekeyed);
}

/*
 * A token is replaced only in the header it was read from: not after the
 * disk was formatted again (another UUID), not with a DEK that does not
 * open it, not over a token another rekey wrote meanwhile. Nothing is
 * written then.
 */
TEST_F(img, token_update_refused_on_a_changed_header)
{
	static struct luks_info info, after;
	static struct vmcrypt_token stale;
	struct secbuf bad = { 0 };

	ASSERT_EQ(0, luks_format(self->path, &self->dek, 4096, &self->tok, NULL, NULL, 0));
	ASSERT_EQ(0, luks_read(self->path, &info));
	strcpy(self->tok.kek_id, "44");
	EXPECT_EQ(-ESTALE, luks_set_token(self->path, info.token_id, &self->tok,
					  "00000000-0000-4000-8000-000000000000",
					  &self->dek, &info.tok));
	ASSERT_EQ(0, secbuf_dup(&bad, self->dek.data, self->dek.len));
	bad.data[0] ^= 1;
	EXPECT_EQ(-ESTALE, luks_set_token(self->path, info.token_id, &self->tok,
					  info.uuid, &bad, &info.tok));
	secbuf_free(&bad);
	stale = info.tok;
	stale.wrapped_dek[0] ^= 1;
	EXPECT_EQ(-ESTALE, luks_set_token(self->path, info.token_id, &self->tok,
					  info.uuid, &self->dek, &stale));
	ASSERT_EQ(0, luks_read(self->path, &after));
	EXPECT_STREQ(info.tok.kek_id, after.tok.kek_id);
	EXPECT_EQ(0, memcmp(info.tok.wrapped_dek, after.tok.wrapped_dek,
			    info.tok.wrapped_len));
}

/*
 * The recovery keyslot uses libcryptsetup's default PBKDF (Argon2id, cost
 * benchmarked to about 2 s here), paid at format and again by cryptsetup's
 * test open: 8-14 s on two cores, more with the VM tests beside it, so
 * the harness's 30 s default is too tight.
 */
TEST_F_TIMEOUT(img, recovery_keyslot_and_luksdump, 120)
{
	struct secbuf pass = { 0 };
	struct luks_info info;
	char cmd[512], type[32];

	double t0;

	ASSERT_EQ(0, secbuf_dup(&pass, "correct horse battery", 21));
	t0 = now_s();
	ASSERT_EQ(0, luks_format(self->path, &self->dek, 4096, &self->tok, &pass, NULL, 0));
	TH_LOG("luks_format with an Argon2id keyslot: %.1f s", now_s() - t0);
	secbuf_free(&pass);
	ASSERT_EQ(0, luks_read(self->path, &info));
	EXPECT_EQ(1, info.recovery_keyslots);
	/* The passphrase gets Argon2id, the digest of the random DEK not. */
	keyslot_pbkdf(self->path, 0, type, sizeof(type));
	EXPECT_STREQ(CRYPT_KDF_ARGON2ID, type);
	EXPECT_EQ(LUKS_DIGEST_ITERATIONS, digest_iterations(self->path));
	/* cryptsetup itself must see a valid LUKS2 volume with our token. */
	snprintf(cmd, sizeof(cmd),
		 "cryptsetup luksDump '%s' | grep -q 'vmcrypt' && "
		 "cryptsetup isLuks --type luks2 '%s'", self->path, self->path);
	EXPECT_EQ(0, run_step(_metadata, "luksDump, isLuks", cmd));
	/* And the passphrase opens keyslot 0 (test without mapping). */
	snprintf(cmd, sizeof(cmd),
		 "printf 'correct horse battery' | cryptsetup open --test-passphrase "
		 "--key-file=- '%s'", self->path);
	EXPECT_EQ(0, run_step(_metadata, "cryptsetup open --test-passphrase", cmd));
}

/*
 * A format killed while the recovery keyslot's Argon2id runs (seconds)
 * must not leave a disk that opens without that keyslot: the token is
 * written last. The child is killed 300 ms after a LUKS2 header is on
 * the file, long after any write that follows the header at once (the
 * token did, in the old order) and long before the keyslot is done.
 */
TEST_F_TIMEOUT(img, interrupted_format_is_unfinished, 120)
{
	struct secbuf pass = { 0 };
	struct luks_info info;
	struct crypt_device *cd;
	char what[256];
	double t0;
	pid_t pid;
	int st, seen = 0;

	ASSERT_EQ(0, secbuf_dup(&pass, "correct horse battery", 21));
	pid = fork();
	ASSERT_LE(0, pid);
	if (!pid)
		_exit(luks_format(self->path, &self->dek, 4096, &self->tok, &pass,
				  NULL, 0) ? 1 : 0);
	secbuf_free(&pass);
	t0 = now_s();
	while (!seen && now_s() - t0 < 60) {
		cd = NULL;
		if (crypt_init(&cd, self->path) == 0 &&
		    crypt_load(cd, CRYPT_LUKS2, NULL) == 0)
			seen = 1;
		crypt_free(cd);
		if (!seen)
			usleep(2000);
	}
	if (seen)
		usleep(300000);
	kill(pid, SIGKILL);
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	ASSERT_TRUE(seen);
	/* killed, not finished: otherwise the test proves nothing */
	ASSERT_TRUE(WIFSIGNALED(st));
	TH_LOG("header seen after %.2f s, format killed", now_s() - t0);

	EXPECT_EQ(-ENOKEY, luks_read(self->path, &info));
	EXPECT_TRUE(info.unfinished);
	EXPECT_EQ(-EEXIST, luks_probe(self->path, what, sizeof(what)));
	EXPECT_NE(NULL, strstr(what, "an unfinished vmcrypt format"));
	TH_LOG("probe: %s", what);

	/* A LUKS2 volume of someone else's is not "unfinished". */
	snprintf(what, sizeof(what),
		 "printf pw | cryptsetup luksFormat -q --type luks2 --pbkdf pbkdf2 "
		 "--pbkdf-force-iterations 1000 --key-file=- '%s'", self->path);
	ASSERT_EQ(0, run_step(_metadata, "cryptsetup luksFormat", what));
	EXPECT_EQ(-ENOKEY, luks_read(self->path, &info));
	EXPECT_FALSE(info.unfinished);
}

TEST_F(img, too_small_refused)
{
	ASSERT_EQ(0, make_file(self->path, 8 << 20));
	EXPECT_EQ(-ENOSPC, luks_format(self->path, &self->dek, 4096, &self->tok, NULL, NULL, 0));
}

TEST_F(img, bad_sector_size_refused)
{
	EXPECT_EQ(-EINVAL, luks_format(self->path, &self->dek, 1024, &self->tok, NULL, NULL, 0));
	EXPECT_EQ(-EINVAL, luks_format(self->path, &self->dek, 0, &self->tok, NULL, NULL, 0));
}

TEST_F(img, probe_finds_filesystem)
{
	char cmd[512], what[256];

	if (system("command -v mkfs.ext4 >/dev/null 2>&1"))
		SKIP(return, "mkfs.ext4 not installed (e2fsprogs)");
	snprintf(cmd, sizeof(cmd), "mkfs.ext4 -q -F -L data '%s' >/dev/null 2>&1", self->path);
	ASSERT_EQ(0, system(cmd));
	EXPECT_EQ(-EEXIST, luks_probe(self->path, what, sizeof(what)));
	EXPECT_STREQ("a ext4 filesystem (label 'data')", what);
}

TEST_F(img, probe_finds_partition_table)
{
	/* A DOS MBR with one Linux partition at 1 MiB. */
	uint8_t mbr[512] = { 0 };
	char what[256];
	int fd;

	mbr[446 + 4] = 0x83;
	mbr[446 + 8] = 0x00; mbr[446 + 9] = 0x08;	/* LBA 2048 */
	mbr[446 + 12] = 0x00; mbr[446 + 13] = 0x10;	/* 4096 sectors */
	mbr[510] = 0x55;
	mbr[511] = 0xaa;
	fd = open(self->path, O_WRONLY | O_CLOEXEC);
	ASSERT_LE(0, fd);
	ASSERT_EQ((ssize_t)sizeof(mbr), pwrite(fd, mbr, sizeof(mbr), 0));
	close(fd);
	EXPECT_EQ(-EEXIST, luks_probe(self->path, what, sizeof(what)));
	EXPECT_STREQ("a dos partition table", what);
}

TEST_F(img, plain_luks_without_token)
{
	struct luks_info info;
	char cmd[512];

	snprintf(cmd, sizeof(cmd),
		 "printf pw | cryptsetup luksFormat -q --type luks2 --pbkdf pbkdf2 "
		 "--pbkdf-force-iterations 1000 --key-file=- '%s'", self->path);
	ASSERT_EQ(0, system(cmd));
	EXPECT_EQ(-ENOKEY, luks_read(self->path, &info));
}

TEST_F(img, not_luks)
{
	struct luks_info info;

	EXPECT_EQ(-ENODEV, luks_read(self->path, &info));
}

/* Token parser: a good token, then one defect per case. */
static const char good[] =
	"{\"type\":\"vmcrypt\",\"keyslots\":[],\"version\":1,\"provider\":\"kms1\","
	"\"kek_id\":\"42\",\"wrap_alg\":\"aes256-kwp\",\"wrapped_dek\":"
	"\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+P0BBQkNERUZH\","
	"\"vm_name\":\"web\",\"vm_uuid\":\"0f3e8d6a-1b2c-4d5e-8f90-a1b2c3d4e5f6\","
	"\"created\":\"2026-11-23T02:40:40Z\"}";

FIXTURE(tokparse) {
	char buf[2048];
};

FIXTURE_VARIANT(tokparse) {
	const char *from;	/* substring of good to replace */
	const char *to;
};

FIXTURE_SETUP(tokparse) {}
FIXTURE_TEARDOWN(tokparse) {}

#define BAD(n, f, t) FIXTURE_VARIANT_ADD(tokparse, n) { .from = f, .to = t }
BAD(wrong_type, "\"type\":\"vmcrypt\"", "\"type\":\"luks2-keyring\"");
BAD(version_2, "\"version\":1", "\"version\":2");
BAD(version_string, "\"version\":1", "\"version\":\"1\"");
BAD(no_provider, "\"provider\":\"kms1\",", "");
BAD(empty_provider, "\"provider\":\"kms1\"", "\"provider\":\"\"");
BAD(no_kek_id, "\"kek_id\":\"42\",", "");
BAD(kek_id_number, "\"kek_id\":\"42\"", "\"kek_id\":42");
BAD(wrong_alg, "aes256-kwp", "aes256-kw");
BAD(short_wrapped, "P0BBQkNERUZH", "P0BBQkNERQ==");
BAD(bad_base64, "AAECAwQF", "AAEC*wQF");
BAD(bad_uuid, "0f3e8d6a-1b2c", "0f3e8d6a_1b2c");
BAD(ctrl_in_name, "\"vm_name\":\"web\"", "\"vm_name\":\"w\\neb\"");
BAD(nul_in_name, "\"vm_name\":\"web\"", "\"vm_name\":\"w\\u0000eb\"");
BAD(long_provider, "\"provider\":\"kms1\"",
    "\"provider\":\"kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk\"");
BAD(trailing_garbage, "Z\"}", "Z\"}x");
BAD(no_created, ",\"created\":\"2026-11-23T02:40:40Z\"", "");
BAD(rekeyed_number, "\"created\"", "\"rekeyed\":5,\"created\"");

TEST_F(tokparse, refused)
{
	struct vmcrypt_token t;
	const char *p = strstr(good, variant->from);
	size_t pre;

	ASSERT_EQ(0, luks_token_parse(good, strlen(good), &t));
	ASSERT_NE(NULL, p);
	pre = (size_t)(p - good);
	snprintf(self->buf, sizeof(self->buf), "%.*s%s%s", (int)pre, good, variant->to,
		 p + strlen(variant->from));
	EXPECT_EQ(-EINVAL, luks_token_parse(self->buf, strlen(self->buf), &t));
	EXPECT_EQ((size_t)0, t.wrapped_len);
}

TEST(token_round_trip)
{
	struct vmcrypt_token a, b;
	char *json = NULL;

	ASSERT_EQ(0, luks_token_parse(good, strlen(good), &a));
	EXPECT_EQ((size_t)72, a.wrapped_len);
	EXPECT_EQ(0, a.wrapped_dek[0]);
	EXPECT_EQ(0x47, a.wrapped_dek[71]);
	ASSERT_EQ(0, luks_token_format(&a, &json));
	ASSERT_EQ(0, luks_token_parse(json, strlen(json), &b));
	EXPECT_EQ(0, memcmp(&a, &b, sizeof(a)));
	free(json);
}

/*
 * What the parser refuses is never written: a token the next open could not
 * read would lock the disk out (a KMS's key id with an escape sequence).
 */
TEST(token_format_refuses_what_parse_refuses)
{
	struct vmcrypt_token a, b;
	char *json = (char *)1;

	ASSERT_EQ(0, luks_token_parse(good, strlen(good), &a));
	b = a;
	snprintf(b.kek_id, sizeof(b.kek_id), "k\x1b[2J");
	EXPECT_EQ(-EINVAL, luks_token_format(&b, &json));
	b = a;
	b.vm_name[1] = '\t';
	EXPECT_EQ(-EINVAL, luks_token_format(&b, &json));
	b = a;
	memset(b.provider, 'p', sizeof(b.provider));	/* no NUL */
	EXPECT_EQ(-EINVAL, luks_token_format(&b, &json));
	b = a;
	b.kek_id[0] = '\0';
	EXPECT_EQ(-EINVAL, luks_token_format(&b, &json));
	b = a;
	snprintf(b.rekeyed, sizeof(b.rekeyed), "2026\x7f");
	EXPECT_EQ(-EINVAL, luks_token_format(&b, &json));
	EXPECT_EQ((char *)1, json);
	b = a;
	snprintf(b.rekeyed, sizeof(b.rekeyed), "2026-11-24T04:20:00Z");
	ASSERT_EQ(0, luks_token_format(&b, &json));
	free(json);
}

TEST_HARNESS_MAIN
