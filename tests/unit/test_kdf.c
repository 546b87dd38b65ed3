// SPDX-License-Identifier: GPL-2.0
/*
 * test_kdf.c - HKDF-SHA256 (RFC 5869 vectors), native KEK derivation and
 * labels, key fingerprints, and the PKCS#12 KDK backup (lib/kdf.c,
 * lib/kdkbackup.c), including files that name iteration counts we refuse.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>

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

/*
 * A backup laid out as kdkbackup_export() writes it, but with chosen costs:
 * keys are derived with enc_iter (PBKDF2) and mac_iter (PFX MAC); a claim
 * (if not NULL) is then written over the count in the file, which builds a
 * file naming any count without deriving with it. extra_safes adds empty
 * encrypted safes; md is the MAC digest (NULL: SHA-256).
 */
struct pfx_spec {
	int enc_iter, mac_iter;
	const int64_t *enc_claim, *mac_claim;
	int extra_safes;
	const EVP_MD *md;
};

static int claim_pbkdf2(PKCS7 *p7, int64_t v)
{
	X509_ALGOR *alg = p7->d.encrypted->enc_data->algorithm;
	PBKDF2PARAM *kdf = NULL;
	PBE2PARAM *pbe2;
	int r = -1;

	pbe2 = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBE2PARAM), alg->parameter);
	if (pbe2)
		kdf = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBKDF2PARAM),
						pbe2->keyfunc->parameter);
	if (kdf && ASN1_INTEGER_set_int64(kdf->iter, v) &&
	    ASN1_TYPE_pack_sequence(ASN1_ITEM_rptr(PBKDF2PARAM), kdf,
				    &pbe2->keyfunc->parameter) &&
	    ASN1_TYPE_pack_sequence(ASN1_ITEM_rptr(PBE2PARAM), pbe2, &alg->parameter))
		r = 0;
	PBKDF2PARAM_free(kdf);
	PBE2PARAM_free(pbe2);
	return r;
}

static int make_pfx(const char *pass, const struct pfx_spec *sp,
		    uint8_t **der, size_t *len)
{
	static const uint8_t kdk[32] = { 0x42 };
	STACK_OF(PKCS12_SAFEBAG) *bags = sk_PKCS12_SAFEBAG_new_null();
	STACK_OF(PKCS12_SAFEBAG) *none = sk_PKCS12_SAFEBAG_new_null();
	STACK_OF(PKCS7) *safes = sk_PKCS7_new_null();
	const ASN1_INTEGER *iter = NULL;
	PKCS12_SAFEBAG *bag;
	PKCS12 *p12 = NULL;
	PKCS7 *p7 = NULL;
	unsigned char *out = NULL;
	int i, n, r = -1;

	bag = PKCS12_SAFEBAG_create_secret(NID_hmacWithSHA256, V_ASN1_OCTET_STRING,
					   kdk, sizeof(kdk));
	if (!bags || !none || !safes || !bag ||
	    !PKCS12_add_friendlyname_utf8(bag, KDKBACKUP_NAME_PREFIX "p", -1) ||
	    !sk_PKCS12_SAFEBAG_push(bags, bag)) {
		PKCS12_SAFEBAG_free(bag);
		goto out;
	}
	p7 = PKCS12_pack_p7encdata_ex(NID_aes_256_cbc, pass, -1, NULL, 0,
				      sp->enc_iter, bags, NULL, NULL);
	if (!p7 || (sp->enc_claim && claim_pbkdf2(p7, *sp->enc_claim)) ||
	    !sk_PKCS7_push(safes, p7))
		goto out;
	for (i = 0; i < sp->extra_safes; i++) {
		p7 = PKCS12_pack_p7encdata_ex(NID_aes_256_cbc, pass, -1, NULL, 0,
					      1, none, NULL, NULL);
		if (!p7 || !sk_PKCS7_push(safes, p7))
			goto out;
	}
	p7 = NULL;
	p12 = PKCS12_add_safes(safes, NID_pkcs7_data);
	if (!p12 || !PKCS12_set_mac(p12, pass, -1, NULL, 0, sp->mac_iter,
				    sp->md ? sp->md : EVP_sha256()))
		goto out;
	if (sp->mac_claim) {
		/* Absent when mac_iter is 1: claim only with mac_iter >= 2. */
		PKCS12_get0_mac(NULL, NULL, NULL, &iter, p12);
		if (!iter || !ASN1_INTEGER_set_int64((ASN1_INTEGER *)iter, *sp->mac_claim))
			goto out;
	}
	n = i2d_PKCS12(p12, &out);
	if (n <= 0)
		goto out;
	*der = malloc((size_t)n);
	if (*der) {
		memcpy(*der, out, (size_t)n);
		*len = (size_t)n;
		r = 0;
	}
out:
	OPENSSL_free(out);
	PKCS12_free(p12);
	PKCS7_free(p7);
	sk_PKCS7_pop_free(safes, PKCS7_free);
	sk_PKCS12_SAFEBAG_pop_free(bags, PKCS12_SAFEBAG_free);
	sk_PKCS12_SAFEBAG_free(none);
	return r;
}

static int import_spec(const struct pfx_spec *sp)
{
	struct secbuf pass = { 0 }, got = { 0 };
	char prov[65];
	uint8_t *der = NULL;
	size_t len = 0;
	int r;

	mkpass(&pass, "correct horse battery");
	r = make_pfx("correct horse battery", sp, &der, &len);
	if (r == 0)
		r = kdkbackup_import(der, len, &pass, &got, prov, sizeof(prov));
	else
		r = -ENOTRECOVERABLE;	/* the test's own builder failed */
	if (r == 0 && strcmp(prov, "p"))
		r = -EPROTO;
	if (r != 0 && got.data)
		r = -EFAULT;		/* a refusal must not hand out a key */
	secbuf_free(&got);
	secbuf_free(&pass);
	free(der);
	return r;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * A hostile backup must not make an import derive keys for hours: any
 * iteration count above KDKBACKUP_MAX_ITER is refused with -EBADMSG before
 * the first derivation. Low counts still open (nothing to protect there:
 * whoever made the file knows what is in it).
 */
TEST(backup_iteration_counts_bounded)
{
	static const int64_t huge[] = {
		KDKBACKUP_MAX_ITER + 1LL, INT32_MAX, (1LL << 32) + 1, 1LL << 40,
		INT64_MAX, 0, -1,
	};
	double t0;
	size_t i;

	EXPECT_EQ(0, import_spec(&(struct pfx_spec){ .enc_iter = 1, .mac_iter = 1 }));
	/* Well-formed files, really made with one round too many. */
	EXPECT_EQ(-EBADMSG, import_spec(&(struct pfx_spec){
		.enc_iter = KDKBACKUP_MAX_ITER + 1, .mac_iter = 1 }));
	EXPECT_EQ(-EBADMSG, import_spec(&(struct pfx_spec){
		.enc_iter = 1, .mac_iter = KDKBACKUP_MAX_ITER + 1 }));
	/* The bound itself is accepted: the MAC is derived, and is wrong. */
	EXPECT_EQ(-EKEYREJECTED, import_spec(&(struct pfx_spec){
		.enc_iter = 1, .mac_iter = 2,
		.mac_claim = &(int64_t){ KDKBACKUP_MAX_ITER } }));
	/* Counts no one could wait for: refused at once, nothing derived. */
	t0 = now_s();
	for (i = 0; i < sizeof(huge) / sizeof(huge[0]); i++) {
		EXPECT_EQ(-EBADMSG, import_spec(&(struct pfx_spec){
			.enc_iter = 1, .mac_iter = 2, .mac_claim = &huge[i] }))
			TH_LOG("MAC iterations %lld", (long long)huge[i]);
		EXPECT_EQ(-EBADMSG, import_spec(&(struct pfx_spec){
			.enc_iter = 1, .enc_claim = &huge[i], .mac_iter = 1 }))
			TH_LOG("PBKDF2 iterations %lld", (long long)huge[i]);
	}
	EXPECT_GT(10.0, now_s() - t0);
	/* Each encrypted safe costs a derivation: only the one we write. */
	EXPECT_EQ(-EBADMSG, import_spec(&(struct pfx_spec){
		.enc_iter = 1, .mac_iter = 1, .extra_safes = 1 }));
	/* A MAC digest other than SHA-256 is not our format. */
	EXPECT_EQ(-EBADMSG, import_spec(&(struct pfx_spec){
		.enc_iter = 1, .mac_iter = 1, .md = EVP_sha1() }));
}

TEST_HARNESS_MAIN
