// SPDX-License-Identifier: GPL-2.0
/*
 * test_kdf.c - HKDF-SHA256 (RFC 5869 vectors), native KEK derivation and
 * labels, key fingerprints, and the PKCS#12 KDK backup (lib/kdf.c,
 * lib/kdkbackup.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kselftest_harness.h"
#include "lib/kdf.h"
#include "lib/kdkbackup.h"
#include "lib/secmem.h"

static void unhex(const char *h, uint8_t *out, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned int v;

		sscanf(h + 2 * i, "%2x", &v);
		out[i] = (uint8_t)v;
	}
}

static int eq_hex(const struct secbuf *b, const char *hex)
{
	uint8_t want[128];
	size_t n = strlen(hex) / 2;

	if (n != b->len || n > sizeof(want))
		return 0;
	unhex(hex, want, n);
	return !memcmp(want, b->data, n);
}

TEST(rfc5869_case1)
{
	struct secbuf ikm = { 0 }, okm = { 0 };
	uint8_t salt[13], info[10];

	ASSERT_EQ(0, secbuf_alloc(&ikm, 22));
	memset(ikm.data, 0x0b, 22);
	unhex("000102030405060708090a0b0c", salt, 13);
	unhex("f0f1f2f3f4f5f6f7f8f9", info, 10);
	ASSERT_EQ(0, kdf_hkdf_sha256(&ikm, salt, 13, info, 10, 42, &okm));
	EXPECT_TRUE(eq_hex(&okm, "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db0"
				  "2d56ecc4c5bf34007208d5b887185865"));
	secbuf_free(&okm);
	secbuf_free(&ikm);
}

TEST(rfc5869_case3_no_salt_no_info)
{
	struct secbuf ikm = { 0 }, okm = { 0 };

	ASSERT_EQ(0, secbuf_alloc(&ikm, 22));
	memset(ikm.data, 0x0b, 22);
	ASSERT_EQ(0, kdf_hkdf_sha256(&ikm, NULL, 0, "", 0, 42, &okm));
	EXPECT_TRUE(eq_hex(&okm, "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec345"
				  "4e5f3c738d2d9d201395faa4b61a96c8"));
	secbuf_free(&okm);
	secbuf_free(&ikm);
}

TEST(hkdf_rejects_bad_args)
{
	struct secbuf empty = { 0 }, okm = { 0 }, ikm = { 0 };

	EXPECT_EQ(-EINVAL, kdf_hkdf_sha256(&empty, NULL, 0, "", 0, 32, &okm));
	ASSERT_EQ(0, secbuf_alloc(&ikm, 32));
	EXPECT_EQ(-EINVAL, kdf_hkdf_sha256(&ikm, NULL, 0, "", 0, 0, &okm));
	EXPECT_EQ(-EINVAL, kdf_hkdf_sha256(&ikm, NULL, 0, "", 0, 255 * 32 + 1, &okm));
	EXPECT_EQ(NULL, okm.data);
	secbuf_free(&ikm);
}

/*
 * Expected value computed independently with the OpenSSL CLI:
 *   openssl kdf -keylen 32 -kdfopt digest:SHA256 \
 *     -kdfopt hexkey:000102...1e1f \
 *     -kdfopt hexinfo:$(printf 'vmcrypt kek' | xxd -p)123456789abcdef0123456789abcdef0 HKDF
 */
TEST(native_kek_vector)
{
	struct secbuf kdk = { 0 }, kek = { 0 }, kek2 = { 0 };
	size_t i;

	ASSERT_EQ(0, secbuf_alloc(&kdk, 32));
	for (i = 0; i < 32; i++)
		kdk.data[i] = (uint8_t)i;
	ASSERT_EQ(0, kdf_native_kek(&kdk, "12345678-9abc-def0-1234-56789abcdef0", &kek));
	EXPECT_TRUE(eq_hex(&kek, "6acc6779e069dfbfdf124872e981840262c2997aa7e1bb0bc4fe"
				 "720639e44beb"));
	/* Case of the UUID text does not matter; the bytes do. */
	ASSERT_EQ(0, kdf_native_kek(&kdk, "12345678-9ABC-DEF0-1234-56789ABCDEF0", &kek2));
	EXPECT_EQ(0, secure_memcmp(kek.data, kek2.data, 32));
	secbuf_free(&kek2);
	ASSERT_EQ(0, kdf_native_kek(&kdk, "12345678-9abc-def0-1234-56789abcdef1", &kek2));
	EXPECT_NE(0, secure_memcmp(kek.data, kek2.data, 32));
	secbuf_free(&kek2);
	secbuf_free(&kek);
	secbuf_free(&kdk);
}

TEST(native_kek_bad_input)
{
	struct secbuf kdk = { 0 }, kek = { 0 };

	ASSERT_EQ(0, secbuf_alloc(&kdk, 32));
	EXPECT_EQ(-EINVAL, kdf_native_kek(&kdk, "not-a-uuid", &kek));
	EXPECT_EQ(-EINVAL, kdf_native_kek(&kdk, "12345678-9abc-def0-1234-56789abcdef", &kek));
	EXPECT_EQ(-EINVAL, kdf_native_kek(&kdk, "12345678x9abc-def0-1234-56789abcdef0", &kek));
	EXPECT_EQ(-EINVAL, kdf_native_kek(&kdk, "g2345678-9abc-def0-1234-56789abcdef0", &kek));
	EXPECT_EQ(NULL, kek.data);
	secbuf_free(&kdk);
	ASSERT_EQ(0, secbuf_alloc(&kdk, 16));
	EXPECT_EQ(-EINVAL, kdf_native_kek(&kdk, "12345678-9abc-def0-1234-56789abcdef0", &kek));
	secbuf_free(&kdk);
}

TEST(native_label)
{
	char label[KDF_LABEL_MAX], prov[65], uuid[37];

	ASSERT_EQ(0, kdf_native_label("nkp1", "12345678-9ABC-DEF0-1234-56789abcdef0",
				      label, sizeof(label)));
	EXPECT_STREQ("native:nkp1:12345678-9abc-def0-1234-56789abcdef0", label);
	ASSERT_EQ(0, kdf_native_label_parse(label, prov, sizeof(prov), uuid));
	EXPECT_STREQ("nkp1", prov);
	EXPECT_STREQ("12345678-9abc-def0-1234-56789abcdef0", uuid);
	EXPECT_EQ(-EINVAL, kdf_native_label("bad:name", "12345678-9abc-def0-1234-56789abcdef0",
					    label, sizeof(label)));
	EXPECT_EQ(-EINVAL, kdf_native_label("", "12345678-9abc-def0-1234-56789abcdef0",
					    label, sizeof(label)));
	EXPECT_EQ(-EINVAL, kdf_native_label_parse("kmip:1234", prov, sizeof(prov), uuid));
	EXPECT_EQ(-EINVAL, kdf_native_label_parse("native::12345678-9abc-def0-1234-56789abcdef0",
						  prov, sizeof(prov), uuid));
	EXPECT_EQ(-EINVAL, kdf_native_label_parse("native:p:12345678-9abc-def0-1234-56789abcdef",
						  prov, sizeof(prov), uuid));
	EXPECT_EQ(-EINVAL, kdf_native_label_parse("native:p", prov, sizeof(prov), uuid));
}

TEST(fingerprint)
{
	struct secbuf a = { 0 }, b = { 0 };
	char fa[KDF_FPR_HEX_LEN + 1], fb[KDF_FPR_HEX_LEN + 1];

	ASSERT_EQ(0, secbuf_alloc(&a, 32));
	ASSERT_EQ(0, secbuf_alloc(&b, 32));
	ASSERT_EQ(0, kdf_fingerprint(&a, fa));
	ASSERT_EQ(0, kdf_fingerprint(&b, fb));
	EXPECT_STREQ(fa, fb);
	EXPECT_EQ((size_t)KDF_FPR_HEX_LEN, strlen(fa));
	b.data[31] = 1;
	ASSERT_EQ(0, kdf_fingerprint(&b, fb));
	EXPECT_STRNE(fa, fb);
	secbuf_free(&a);
	secbuf_free(&b);
}

static void mkpass(struct secbuf *p, const char *s)
{
	secbuf_dup(p, s, strlen(s));
}

TEST(backup_roundtrip)
{
	struct secbuf kdk = { 0 }, pass = { 0 }, got = { 0 };
	char prov[65];
	uint8_t *der = NULL;
	size_t len = 0, i;

	ASSERT_EQ(0, secbuf_alloc(&kdk, 32));
	for (i = 0; i < 32; i++)
		kdk.data[i] = (uint8_t)(0xa0 + i);
	mkpass(&pass, "correct horse battery");
	ASSERT_EQ(0, kdkbackup_export(&kdk, "nkp-1", &pass, &der, &len));
	ASSERT_GT(len, (size_t)100);
	/* No plaintext KDK anywhere in the file. */
	for (i = 0; i + 32 <= len; i++)
		ASSERT_NE(0, memcmp(der + i, kdk.data, 32));
	ASSERT_EQ(0, kdkbackup_import(der, len, &pass, &got, prov, sizeof(prov)));
	EXPECT_STREQ("nkp-1", prov);
	ASSERT_EQ((size_t)32, got.len);
	EXPECT_EQ(0, secure_memcmp(got.data, kdk.data, 32));
	secbuf_free(&got);
	free(der);
	secbuf_free(&pass);
	secbuf_free(&kdk);
}

TEST(backup_wrong_passphrase_and_corruption)
{
	struct secbuf kdk = { 0 }, pass = { 0 }, bad = { 0 }, got = { 0 };
	char prov[65];
	uint8_t *der = NULL;
	size_t len = 0, i;

	ASSERT_EQ(0, secbuf_alloc(&kdk, 32));
	mkpass(&pass, "correct horse battery");
	mkpass(&bad, "correct horse batterx");
	ASSERT_EQ(0, kdkbackup_export(&kdk, "p", &pass, &der, &len));
	EXPECT_EQ(-EKEYREJECTED, kdkbackup_import(der, len, &bad, &got, prov, sizeof(prov)));
	EXPECT_EQ(NULL, got.data);
	/* Truncations and a flipped byte anywhere: refused, never accepted. */
	for (i = 0; i < len; i += len / 7 + 1)
		EXPECT_NE(0, kdkbackup_import(der, i, &pass, &got, prov, sizeof(prov)));
	for (i = 0; i < len; i += 97) {
		der[i] ^= 0x40;
		EXPECT_NE(0, kdkbackup_import(der, len, &pass, &got, prov, sizeof(prov)));
		der[i] ^= 0x40;
	}
	EXPECT_EQ(NULL, got.data);
	EXPECT_EQ(-EBADMSG, kdkbackup_import((const uint8_t *)"hello", 5, &pass, &got,
					     prov, sizeof(prov)));
	free(der);
	secbuf_free(&bad);
	secbuf_free(&pass);
	secbuf_free(&kdk);
}

TEST(backup_short_passphrase_refused)
{
	struct secbuf kdk = { 0 }, pass = { 0 };
	uint8_t *der = NULL;
	size_t len = 0;

	ASSERT_EQ(0, secbuf_alloc(&kdk, 32));
	mkpass(&pass, "short");
	EXPECT_EQ(-EINVAL, kdkbackup_export(&kdk, "p", &pass, &der, &len));
	EXPECT_EQ(NULL, der);
	secbuf_free(&pass);
	secbuf_free(&kdk);
}

TEST_HARNESS_MAIN
