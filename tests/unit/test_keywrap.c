// SPDX-License-Identifier: GPL-2.0
/*
 * test_keywrap.c - RFC 5649 key wrap with padding: the RFC's own test
 * vectors (AES-192 KEK), AES-256 vectors produced by an independent
 * implementation (python3-cryptography), round trips of every DEK size we
 * use, and refusals (wrong KEK, tampered blob, bad lengths).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "kselftest_harness.h"
#include "lib/keywrap.h"

static size_t unhex(const char *hex, uint8_t *out, size_t max)
{
	size_t n = strlen(hex) / 2, i;

	if (n > max)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned int v;

		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			return 0;
		out[i] = (uint8_t)v;
	}
	return n;
}

static int kek_from_hex(struct secbuf *kek, const char *hex)
{
	uint8_t tmp[32];
	size_t n = unhex(hex, tmp, sizeof(tmp));
	int ret = secbuf_dup(kek, tmp, n);

	secure_wipe(tmp, sizeof(tmp));
	return ret;
}

FIXTURE(vector) {
	struct secbuf kek;
};

FIXTURE_VARIANT(vector) {
	const char *kek;
	const char *key;
	const char *wrapped;
};

/* RFC 5649 section 6, 20-octet key. */
FIXTURE_VARIANT_ADD(vector, rfc5649_20_octets) {
	.kek = "5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8",
	.key = "c37b7e6492584340bed12207808941155068f738",
	.wrapped = "138bdeaa9b8fa7fc61f97742e72248ee5ae6ae5360d1ae6a5f54f373fa543b6a",
};

/* RFC 5649 section 6, 7-octet key (single-block path). */
FIXTURE_VARIANT_ADD(vector, rfc5649_7_octets) {
	.kek = "5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8",
	.key = "466f7250617369",
	.wrapped = "afbeb0f07dfbf5419200f2ccb50bb24f",
};

/* AES-256 KEK 00..1f, 64-byte DEK 40..7f (our real case). */
FIXTURE_VARIANT_ADD(vector, aes256_dek512) {
	.kek = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
	.key = "404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"
	       "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f",
	.wrapped = "f2f0588f42f55c0ac7082198ccf18cce5e84ba5b1fb8dc35227e2c29eb13c80c"
		   "48cb7a9411ea5b2b0aafd5c62234b762907ab62e0d76433491cbdd73cbf4f9be"
		   "577406e7d8c4c235",
};

FIXTURE_VARIANT_ADD(vector, aes256_1_octet) {
	.kek = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
	.key = "aa",
	.wrapped = "9b657e112c1c559c8b9a028db5dbe918",
};

FIXTURE_VARIANT_ADD(vector, aes256_9_octets) {
	.kek = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
	.key = "000102030405060708",
	.wrapped = "2e8c1816658b7ec7d00304f1e36bd32d801cd25c8be7d2ec",
};

FIXTURE_SETUP(vector)
{
	ASSERT_EQ(0, kek_from_hex(&self->kek, variant->kek));
}

FIXTURE_TEARDOWN(vector)
{
	secbuf_free(&self->kek);
}

TEST_F(vector, wrap)
{
	uint8_t key[KEYWRAP_MAX_KEY], want[KEYWRAP_MAX_KEY + 8], got[KEYWRAP_MAX_KEY + 8];
	size_t keylen = unhex(variant->key, key, sizeof(key));
	size_t wantlen = unhex(variant->wrapped, want, sizeof(want));
	size_t gotlen = 0;

	ASSERT_NE((size_t)0, keylen);
	ASSERT_EQ(0, keywrap_wrap(&self->kek, key, keylen, got, sizeof(got), &gotlen));
	ASSERT_EQ(wantlen, gotlen);
	EXPECT_EQ(0, memcmp(want, got, gotlen));
}

TEST_F(vector, unwrap)
{
	uint8_t key[KEYWRAP_MAX_KEY], wrapped[KEYWRAP_MAX_KEY + 8];
	size_t keylen = unhex(variant->key, key, sizeof(key));
	size_t wlen = unhex(variant->wrapped, wrapped, sizeof(wrapped));
	struct secbuf out = { 0 };

	ASSERT_EQ(0, keywrap_unwrap(&self->kek, wrapped, wlen, &out));
	ASSERT_EQ(keylen, out.len);
	EXPECT_EQ(0, memcmp(key, out.data, keylen));
	secbuf_free(&out);
}

TEST_F(vector, tampered_refused)
{
	uint8_t wrapped[KEYWRAP_MAX_KEY + 8];
	size_t wlen = unhex(variant->wrapped, wrapped, sizeof(wrapped));
	struct secbuf out = { 0 };
	size_t i;

	/* Flip one bit in each byte in turn: the integrity check must fail. */
	for (i = 0; i < wlen; i++) {
		wrapped[i] ^= 0x01;
		EXPECT_EQ(-EBADMSG, keywrap_unwrap(&self->kek, wrapped, wlen, &out));
		EXPECT_EQ(NULL, out.data);
		wrapped[i] ^= 0x01;
	}
}

TEST(wrong_kek_refused)
{
	struct secbuf a = { 0 }, b = { 0 }, out = { 0 };
	uint8_t dek[64], w[72];
	size_t wl;

	memset(dek, 0x5a, sizeof(dek));
	ASSERT_EQ(0, kek_from_hex(&a, "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"));
	ASSERT_EQ(0, kek_from_hex(&b, "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1e"));
	ASSERT_EQ(0, keywrap_wrap(&a, dek, sizeof(dek), w, sizeof(w), &wl));
	ASSERT_EQ((size_t)72, wl);
	EXPECT_EQ(-EBADMSG, keywrap_unwrap(&b, w, wl, &out));
	ASSERT_EQ(0, keywrap_unwrap(&a, w, wl, &out));
	EXPECT_EQ(0, secure_memcmp(out.data, dek, sizeof(dek)));
	secbuf_free(&out);
	secbuf_free(&a);
	secbuf_free(&b);
}

TEST(round_trip_all_sizes)
{
	struct secbuf kek = { 0 }, out = { 0 };
	uint8_t key[KEYWRAP_MAX_KEY], w[KEYWRAP_MAX_KEY + 8];
	size_t len, wl, i;

	ASSERT_EQ(0, secbuf_alloc(&kek, 32));
	for (i = 0; i < 32; i++)
		kek.data[i] = (uint8_t)(i * 7 + 3);
	for (i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)(i * 13 + 1);
	for (len = 1; len <= KEYWRAP_MAX_KEY; len += (len < 80 ? 1 : 37)) {
		ASSERT_EQ(0, keywrap_wrap(&kek, key, len, w, sizeof(w), &wl));
		ASSERT_EQ(KEYWRAP_WRAPPED_LEN(len), wl);
		ASSERT_EQ(0, keywrap_unwrap(&kek, w, wl, &out));
		ASSERT_EQ(len, out.len);
		ASSERT_EQ(0, memcmp(key, out.data, len));
		secbuf_free(&out);
	}
	secbuf_free(&kek);
}

TEST(bad_arguments)
{
	struct secbuf kek = { 0 }, badkek = { 0 }, out = { 0 };
	uint8_t key[64] = { 1 }, w[80];
	size_t wl;

	ASSERT_EQ(0, secbuf_alloc(&kek, 32));
	ASSERT_EQ(0, secbuf_alloc(&badkek, 20));
	EXPECT_EQ(-EINVAL, keywrap_wrap(&badkek, key, 64, w, sizeof(w), &wl));
	EXPECT_EQ(-EINVAL, keywrap_wrap(&kek, key, 0, w, sizeof(w), &wl));
	EXPECT_EQ(-EINVAL, keywrap_wrap(&kek, key, KEYWRAP_MAX_KEY + 1, w, sizeof(w), &wl));
	EXPECT_EQ(-ENOSPC, keywrap_wrap(&kek, key, 64, w, 71, &wl));
	EXPECT_EQ(-EINVAL, keywrap_unwrap(&kek, w, 8, &out));
	EXPECT_EQ(-EINVAL, keywrap_unwrap(&kek, w, 17, &out));
	EXPECT_EQ(-EINVAL, keywrap_unwrap(&badkek, w, 72, &out));
	EXPECT_EQ(NULL, out.data);
	secbuf_free(&kek);
	secbuf_free(&badkek);
}

TEST_HARNESS_MAIN
