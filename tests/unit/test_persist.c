// SPDX-License-Identifier: GPL-2.0
/*
 * test_persist.c - the KEK cache file codec (lib/persist.c) and atomic
 * files (lib/atomicfile.c), without a TPM. Crafted files are built here
 * from the format in persist.h with OpenSSL directly, so the documented
 * format itself is checked, not only a round trip.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "kselftest_harness.h"
#include "lib/atomicfile.h"
#include "lib/persist.h"

static void key_init(struct secbuf *k, uint8_t seed)
{
	size_t i;

	secbuf_alloc(k, PERSIST_KEY_LEN);
	for (i = 0; i < k->len; i++)
		k->data[i] = (uint8_t)(seed + i);
}

static void kek_init(struct secbuf *k, size_t len, uint8_t seed)
{
	size_t i;

	secbuf_alloc(k, len);
	for (i = 0; i < len; i++)
		k->data[i] = (uint8_t)(seed ^ (i * 13));
}

/* Encrypt @pt (@ptlen) as a version-1 cache file, per persist.h. */
static size_t craft(const struct secbuf *key, const uint8_t *pt, size_t ptlen,
		    uint8_t *out)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int l = 0;

	memcpy(out, "VMCKEKC\0", 8);
	out[8] = 0; out[9] = 1;
	out[10] = 0; out[11] = 0;
	out[12] = 0; out[13] = 0; out[14] = 0; out[15] = 40;
	memset(out + 16, 0, 8);
	out[23] = 7;
	memset(out + 24, 0x11, 12);
	out[36] = (uint8_t)(ptlen >> 24); out[37] = (uint8_t)(ptlen >> 16);
	out[38] = (uint8_t)(ptlen >> 8); out[39] = (uint8_t)ptlen;
	EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, key->data, out + 24);
	EVP_EncryptUpdate(c, NULL, &l, out, 40);
	if (ptlen)
		EVP_EncryptUpdate(c, out + 40, &l, pt, (int)ptlen);
	EVP_EncryptFinal_ex(c, out + 40 + ptlen, &l);
	EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, 16, out + 40 + ptlen);
	EVP_CIPHER_CTX_free(c);
	return 40 + ptlen + 16;
}

/* Append one entry to a plaintext being built. */
static size_t entry(uint8_t *p, const char *prov, const char *id, size_t klen,
		    uint8_t kbyte)
{
	size_t pl = strlen(prov), il = strlen(id), n = 0;

	p[n++] = (uint8_t)pl;
	memcpy(p + n, prov, pl);
	n += pl;
	p[n++] = (uint8_t)(il >> 8);
	p[n++] = (uint8_t)il;
	memcpy(p + n, id, il);
	n += il;
	p[n++] = (uint8_t)(klen >> 8);
	p[n++] = (uint8_t)klen;
	memset(p + n, kbyte, klen);
	n += klen;
	memset(p + n, 0, 8);
	p[n + 7] = 42;
	return n + 8;
}

TEST(crafted_file_decodes)
{
	struct secbuf key = { 0 }, got = { 0 };
	struct persist *p = NULL;
	uint8_t pt[512], file[1024];
	size_t n = 4, len;

	key_init(&key, 1);
	memset(pt, 0, 4);
	pt[3] = 2;
	n += entry(pt + n, "kms1", "1234", 32, 0xaa);
	n += entry(pt + n, "nkp", "native:nkp:12345678-9abc-def0-1234-56789abcdef0", 32, 0xbb);
	len = craft(&key, pt, n, file);
	ASSERT_EQ(0, persist_decode(&key, file, len, &p));
	EXPECT_EQ((size_t)2, persist_count(p));
	ASSERT_EQ(0, persist_get(p, "kms1", "1234", &got));
	ASSERT_EQ((size_t)32, got.len);
	EXPECT_EQ(0xaa, got.data[0]);
	secbuf_free(&got);
	EXPECT_EQ(-ENOENT, persist_get(p, "kms2", "1234", &got));
	EXPECT_EQ(-ENOENT, persist_get(p, "kms1", "123", &got));
	persist_close(p);
	secbuf_free(&key);
}

TEST(crafted_bad_structures)
{
	struct secbuf key = { 0 };
	struct persist *p = NULL;
	uint8_t pt[512], file[1024];
	size_t n, len;

	key_init(&key, 1);
	/* Duplicate (provider, id). */
	memset(pt, 0, 4);
	pt[3] = 2;
	n = 4 + entry(pt + 4, "kms1", "1234", 32, 1);
	n += entry(pt + n, "kms1", "1234", 32, 2);
	len = craft(&key, pt, n, file);
	EXPECT_EQ(-EBADMSG, persist_decode(&key, file, len, &p));
	/* Count larger than the entries present. */
	pt[3] = 3;
	len = craft(&key, pt, n, file);
	EXPECT_EQ(-EBADMSG, persist_decode(&key, file, len, &p));
	/* Trailing bytes after the last entry. */
	pt[3] = 1;
	n = 4 + entry(pt + 4, "kms1", "1234", 32, 1);
	pt[n++] = 0;
	len = craft(&key, pt, n, file);
	EXPECT_EQ(-EBADMSG, persist_decode(&key, file, len, &p));
	/* Key too short, empty provider, NUL inside an id. */
	n = 4 + entry(pt + 4, "kms1", "1234", 8, 1);
	len = craft(&key, pt, n, file);
	EXPECT_EQ(-EBADMSG, persist_decode(&key, file, len, &p));
	n = 4 + entry(pt + 4, "", "1234", 32, 1);
	len = craft(&key, pt, n, file);
	EXPECT_EQ(-EBADMSG, persist_decode(&key, file, len, &p));
	n = 4 + entry(pt + 4, "kms1", "12x4", 32, 1);
	pt[4 + 1 + 4 + 2 + 2] = 0;
	len = craft(&key, pt, n, file);
	EXPECT_EQ(-EBADMSG, persist_decode(&key, file, len, &p));
	/* Empty plaintext (no count). */
	len = craft(&key, pt, 0, file);
	EXPECT_EQ(-EBADMSG, persist_decode(&key, file, len, &p));
	/* Zero entries is fine. */
	memset(pt, 0, 4);
	len = craft(&key, pt, 4, file);
	ASSERT_EQ(0, persist_decode(&key, file, len, &p));
	EXPECT_EQ((size_t)0, persist_count(p));
	persist_close(p);
	secbuf_free(&key);
}

static struct persist *filled(size_t n)
{
	struct persist *p = NULL;
	struct secbuf k = { 0 };
	char id[32];
	size_t i;

	if (persist_new_detached(&p))
		return NULL;
	for (i = 0; i < n; i++) {
		kek_init(&k, 32, (uint8_t)i);
		snprintf(id, sizeof(id), "id-%zu", i);
		if (persist_put(p, i % 2 ? "kms-a" : "kms-b", id, &k)) {
			secbuf_free(&k);
			persist_close(p);
			return NULL;
		}
		secbuf_free(&k);
	}
	return p;
}

TEST(roundtrip_many)
{
	struct secbuf key = { 0 }, k = { 0 }, want = { 0 };
	struct persist *p = filled(1000), *q = NULL;
	uint8_t *buf = NULL;
	size_t len = 0, i;
	char id[32];

	ASSERT_NE(NULL, p);
	key_init(&key, 9);
	ASSERT_EQ(0, persist_encode(p, &key, &buf, &len));
	ASSERT_EQ(0, persist_decode(&key, buf, len, &q));
	ASSERT_EQ((size_t)1000, persist_count(q));
	for (i = 0; i < 1000; i += 37) {
		snprintf(id, sizeof(id), "id-%zu", i);
		ASSERT_EQ(0, persist_get(q, i % 2 ? "kms-a" : "kms-b", id, &k));
		kek_init(&want, 32, (uint8_t)i);
		EXPECT_EQ(0, secure_memcmp(k.data, want.data, 32));
		secbuf_free(&k);
		secbuf_free(&want);
	}
	/* A fresh nonce each time: two encodings differ. */
	{
		uint8_t *buf2 = NULL;
		size_t len2 = 0;

		ASSERT_EQ(0, persist_encode(p, &key, &buf2, &len2));
		ASSERT_EQ(len, len2);
		EXPECT_NE(0, memcmp(buf + 24, buf2 + 24, 12));
		free(buf2);
	}
	free(buf);
	persist_close(p);
	persist_close(q);
	secbuf_free(&key);
}

TEST(tamper_truncate_wrong_key)
{
	struct secbuf key = { 0 }, other = { 0 };
	struct persist *p = filled(5), *q = NULL;
	uint8_t *buf = NULL;
	size_t len = 0, i;

	ASSERT_NE(NULL, p);
	key_init(&key, 9);
	key_init(&other, 10);
	ASSERT_EQ(0, persist_encode(p, &key, &buf, &len));
	/* Every single-byte change anywhere: header (AAD), ciphertext, tag. */
	for (i = 0; i < len; i++) {
		int r;

		buf[i] ^= 0x01;
		r = persist_decode(&key, buf, len, &q);
		buf[i] ^= 0x01;
		if (i == 8 || i == 9) {
			EXPECT_EQ(-EPROTONOSUPPORT, r); /* another version */
		} else {
			EXPECT_EQ(-EBADMSG, r);
		}
		EXPECT_EQ(NULL, q);
		if (r == 0)
			break;
	}
	for (i = 0; i < len; i++)
		EXPECT_EQ(-EBADMSG, persist_decode(&key, buf, i, &q));
	EXPECT_EQ(-EBADMSG, persist_decode(&other, buf, len, &q));
	ASSERT_EQ(0, persist_decode(&key, buf, len, &q));
	persist_close(q);
	free(buf);
	persist_close(p);
	secbuf_free(&key);
	secbuf_free(&other);
}

TEST(put_replace_forget)
{
	struct persist *p = filled(10);
	struct secbuf k = { 0 }, got = { 0 };

	ASSERT_NE(NULL, p);
	kek_init(&k, 32, 0x77);
	/* Same id, new bytes: replaced, not duplicated. */
	ASSERT_EQ(0, persist_put(p, "kms-a", "id-1", &k));
	EXPECT_EQ((size_t)10, persist_count(p));
	ASSERT_EQ(0, persist_get(p, "kms-a", "id-1", &got));
	EXPECT_EQ(0, secure_memcmp(got.data, k.data, 32));
	secbuf_free(&got);
	/* Bad entries refused. */
	EXPECT_EQ(-EINVAL, persist_put(p, "", "x", &k));
	EXPECT_EQ(-EINVAL, persist_put(p, "kms-a", "", &k));
	secbuf_free(&k);
	kek_init(&k, 8, 1);
	EXPECT_EQ(-EINVAL, persist_put(p, "kms-a", "short", &k));
	secbuf_free(&k);
	ASSERT_EQ(0, persist_forget_provider(p, "kms-a"));
	EXPECT_EQ((size_t)5, persist_count(p));
	EXPECT_EQ(-ENOENT, persist_get(p, "kms-a", "id-1", &got));
	ASSERT_EQ(0, persist_get(p, "kms-b", "id-8", &got));
	secbuf_free(&got);
	persist_close(p);
}

TEST(retain_providers)
{
	static const char *const still[] = { "kms-b", "kms-gone-long-ago" };
	struct persist *p = filled(10);
	struct secbuf got = { 0 };
	size_t dropped = 99;

	ASSERT_NE(NULL, p);
	/* Entries of a removed provider (kms-a) go; the others stay. */
	ASSERT_EQ(0, persist_retain_providers(p, still, 2, &dropped));
	EXPECT_EQ((size_t)5, dropped);
	EXPECT_EQ((size_t)5, persist_count(p));
	EXPECT_EQ(-ENOENT, persist_get(p, "kms-a", "id-1", &got));
	ASSERT_EQ(0, persist_get(p, "kms-b", "id-8", &got));
	secbuf_free(&got);
	ASSERT_EQ(0, persist_retain_providers(p, still, 1, &dropped));
	EXPECT_EQ((size_t)0, dropped);
	/* No providers left at all: nothing is kept. */
	ASSERT_EQ(0, persist_retain_providers(p, NULL, 0, &dropped));
	EXPECT_EQ((size_t)5, dropped);
	EXPECT_EQ((size_t)0, persist_count(p));
	persist_close(p);
}

FIXTURE(dir) {
	char path[64];
};

FIXTURE_SETUP(dir)
{
	snprintf(self->path, sizeof(self->path), "/tmp/vmcrypt-persist-XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->path));
}

FIXTURE_TEARDOWN(dir)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", self->path);
	if (system(cmd))
		TH_LOG("cannot remove %s", self->path);
}

static int count_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

TEST_F(dir, atomic_write_mode_and_no_leftovers)
{
	char f[128];
	struct stat st;
	uint8_t *buf = NULL;
	size_t len = 0;
	mode_t old = umask(0);

	snprintf(f, sizeof(f), "%s/file", self->path);
	ASSERT_EQ(0, atomicfile_write(f, "hello", 5, 0600));
	umask(old);
	ASSERT_EQ(0, stat(f, &st));
	EXPECT_EQ(0600u, st.st_mode & 07777);
	ASSERT_EQ(0, atomicfile_write(f, "world!", 6, 0600));
	ASSERT_EQ(0, atomicfile_read(f, 100, &buf, &len));
	ASSERT_EQ((size_t)6, len);
	EXPECT_EQ(0, memcmp(buf, "world!", 6));
	free(buf);
	EXPECT_EQ(-EFBIG, atomicfile_read(f, 5, &buf, &len));
	EXPECT_EQ(1, count_files(self->path));
	/* Into a missing directory: error, nothing created. */
	snprintf(f, sizeof(f), "%s/nodir/file", self->path);
	EXPECT_EQ(-ENOENT, atomicfile_write(f, "x", 1, 0600));
	EXPECT_EQ(-ENOENT, atomicfile_read(f, 10, &buf, &len));
}

TEST_F(dir, read_refuses_symlink_and_dir)
{
	char f[128], l[128];
	uint8_t *buf = NULL;
	size_t len = 0;

	snprintf(f, sizeof(f), "%s/real", self->path);
	snprintf(l, sizeof(l), "%s/link", self->path);
	ASSERT_EQ(0, atomicfile_write(f, "x", 1, 0600));
	ASSERT_EQ(0, symlink(f, l));
	EXPECT_EQ(-ELOOP, atomicfile_read(l, 10, &buf, &len));
	EXPECT_NE(0, atomicfile_read(self->path, 10, &buf, &len));
}

TEST_F(dir, set_aside_keeps_every_copy)
{
	char f[128], aside1[256], aside2[256];
	struct stat st;

	snprintf(f, sizeof(f), "%s/cache", self->path);
	ASSERT_EQ(0, atomicfile_write(f, "one", 3, 0600));
	ASSERT_EQ(0, atomicfile_set_aside(f, "corrupt", aside1, sizeof(aside1)));
	EXPECT_NE(0, stat(f, &st));
	ASSERT_EQ(0, atomicfile_write(f, "two", 3, 0600));
	ASSERT_EQ(0, atomicfile_set_aside(f, "corrupt", aside2, sizeof(aside2)));
	EXPECT_STRNE(aside1, aside2);
	EXPECT_EQ(0, stat(aside1, &st));
	EXPECT_EQ(0, stat(aside2, &st));
	EXPECT_NE(NULL, strstr(aside1, "cache.corrupt."));
	EXPECT_EQ(2, count_files(self->path));
}

TEST_F(dir, create_never_replaces)
{
	char f[128];
	uint8_t *buf = NULL;
	size_t len = 0;

	snprintf(f, sizeof(f), "%s/backup.p12", self->path);
	ASSERT_EQ(0, atomicfile_create(f, "first", 5, 0600));
	EXPECT_EQ(-EEXIST, atomicfile_create(f, "second", 6, 0600));
	ASSERT_EQ(0, atomicfile_read(f, 100, &buf, &len));
	ASSERT_EQ((size_t)5, len);
	EXPECT_EQ(0, memcmp(buf, "first", 5));
	free(buf);
	/* The refused write left no temporary file behind. */
	EXPECT_EQ(1, count_files(self->path));
}

TEST_F(dir, shred)
{
	char f[128];
	struct stat st;

	snprintf(f, sizeof(f), "%s/secret", self->path);
	ASSERT_EQ(0, atomicfile_write(f, "secret", 6, 0600));
	ASSERT_EQ(0, atomicfile_shred(f));
	EXPECT_NE(0, stat(f, &st));
	EXPECT_EQ(-ENOENT, atomicfile_shred(f));
}

static void put_file(struct __test_metadata *_metadata, const char *dir,
		     const char *sub, const char *name)
{
	char f[256];

	snprintf(f, sizeof(f), "%s/%s", dir, sub);
	if (mkdir(f, 0700) < 0)
		ASSERT_EQ(EEXIST, errno);
	snprintf(f, sizeof(f), "%s/%s/%s", dir, sub, name);
	ASSERT_EQ(0, atomicfile_write(f, "sealed", 6, 0600));
}

TEST_F(dir, sweep_finishes_interrupted_wipes)
{
	char f[256], left[256];
	unsigned int wiped = 99;
	struct stat st;

	/* What a crash during disable and during enable leaves behind. */
	put_file(_metadata, self->path, ".persist.disabling-4242", "cache");
	put_file(_metadata, self->path, ".persist.disabling-4242", "key.priv");
	put_file(_metadata, self->path, ".persist.new-Ab12Cd", "key.pub");
	/* A cache write cut short: its temporary file goes. */
	put_file(_metadata, self->path, "persist", "cache.tmp-0a1b2c3d4e5f");
	/* Never touched: the live cache and a copy set aside for the admin,
	 * and names that only look like a temporary file.
	 */
	put_file(_metadata, self->path, "persist", "cache");
	put_file(_metadata, self->path, "persist", "cache.tmp-0a1b2c3d4e5");
	put_file(_metadata, self->path, "persist", ".tmp-0a1b2c3d4e5f");
	put_file(_metadata, self->path, "persist.corrupt.1700000000", "cache");
	ASSERT_EQ(0, persist_sweep(self->path, &wiped, left, sizeof(left)));
	EXPECT_EQ(3u, wiped);
	snprintf(f, sizeof(f), "%s/persist/cache.tmp-0a1b2c3d4e5f", self->path);
	EXPECT_NE(0, stat(f, &st));
	snprintf(f, sizeof(f), "%s/persist/cache.tmp-0a1b2c3d4e5", self->path);
	EXPECT_EQ(0, stat(f, &st));
	snprintf(f, sizeof(f), "%s/persist/.tmp-0a1b2c3d4e5f", self->path);
	EXPECT_EQ(0, stat(f, &st));
	EXPECT_STREQ("", left);
	snprintf(f, sizeof(f), "%s/.persist.disabling-4242", self->path);
	EXPECT_NE(0, stat(f, &st));
	snprintf(f, sizeof(f), "%s/.persist.new-Ab12Cd", self->path);
	EXPECT_NE(0, stat(f, &st));
	EXPECT_EQ(2, count_files(self->path));
	snprintf(f, sizeof(f), "%s/persist/cache", self->path);
	EXPECT_EQ(0, stat(f, &st));

	/* Something it cannot remove: named, and the files still shredded. */
	put_file(_metadata, self->path, ".persist.disabling-7", "cache");
	put_file(_metadata, self->path, ".persist.disabling-7/unexpected", "x");
	EXPECT_EQ(-ENOTEMPTY, persist_sweep(self->path, &wiped, left, sizeof(left)));
	EXPECT_EQ(0u, wiped);
	snprintf(f, sizeof(f), "%s/.persist.disabling-7", self->path);
	EXPECT_STREQ(f, left);
	snprintf(f, sizeof(f), "%s/.persist.disabling-7/cache", self->path);
	EXPECT_NE(0, stat(f, &st));
	/* A symlink under a leftover's name: unlinked, its target untouched. */
	snprintf(f, sizeof(f), "rm -r '%s/.persist.disabling-7'", self->path);
	ASSERT_EQ(0, system(f));
	put_file(_metadata, self->path, "elsewhere", "precious");
	put_file(_metadata, self->path, ".persist.new-Zz", "fifo-dir");
	snprintf(f, sizeof(f), "%s/elsewhere", self->path);
	snprintf(left, sizeof(left), "%s/.persist.disabling-9", self->path);
	ASSERT_EQ(0, symlink(f, left));
	/* A FIFO inside a leftover: unlinked, never opened (that would block). */
	snprintf(f, sizeof(f), "%s/.persist.new-Zz/pipe", self->path);
	ASSERT_EQ(0, mkfifo(f, 0600));
	EXPECT_EQ(0, persist_sweep(self->path, &wiped, left, sizeof(left)));
	EXPECT_EQ(2u, wiped);
	snprintf(f, sizeof(f), "%s/elsewhere/precious", self->path);
	EXPECT_EQ(0, stat(f, &st));
	snprintf(f, sizeof(f), "%s/.persist.new-Zz", self->path);
	EXPECT_NE(0, lstat(f, &st));
	/* Nothing to do: 0. */
	EXPECT_EQ(0, persist_sweep(self->path, &wiped, left, sizeof(left)));
	EXPECT_EQ(0u, wiped);
}

TEST_HARNESS_MAIN
