// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz_persist.c - libFuzzer target for the KEK cache file parser
 * (persist_decode in lib/persist.c), which reads a file an attacker with
 * write access to the state directory could have replaced.
 *
 * Each input is tried twice: as a whole cache file (header checks, GCM
 * authentication) and as the plaintext of a correctly encrypted file, so
 * that the entry parser behind the tag is reached too. Whatever decodes
 * must re-encode and decode again to the same number of entries.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "lib/persist.h"
#include "lib/secmem.h"

static struct secbuf key;

static size_t seal(const uint8_t *pt, size_t len, uint8_t *out)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int l = 0;

	memcpy(out, PERSIST_MAGIC, 8);
	out[8] = 0;
	out[9] = PERSIST_VERSION;
	memset(out + 10, 0, 6);
	out[15] = PERSIST_HDR_LEN;
	memset(out + 16, 0, 8);
	memset(out + 24, 0x5a, 12);
	out[36] = (uint8_t)(len >> 24);
	out[37] = (uint8_t)(len >> 16);
	out[38] = (uint8_t)(len >> 8);
	out[39] = (uint8_t)len;
	EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, key.data, out + 24);
	EVP_EncryptUpdate(c, NULL, &l, out, PERSIST_HDR_LEN);
	if (len)
		EVP_EncryptUpdate(c, out + PERSIST_HDR_LEN, &l, pt, (int)len);
	EVP_EncryptFinal_ex(c, out + PERSIST_HDR_LEN + len, &l);
	EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, PERSIST_TAG_LEN,
			    out + PERSIST_HDR_LEN + len);
	EVP_CIPHER_CTX_free(c);
	return PERSIST_HDR_LEN + len + PERSIST_TAG_LEN;
}

static void check(const uint8_t *buf, size_t len)
{
	struct persist *p = NULL, *q = NULL;
	uint8_t *enc = NULL;
	size_t elen = 0;

	if (persist_decode(&key, buf, len, &p) != 0)
		return;
	if (persist_encode(p, &key, &enc, &elen) != 0)
		abort();
	if (persist_decode(&key, enc, elen, &q) != 0 ||
	    persist_count(p) != persist_count(q))
		abort();
	free(enc);
	persist_close(p);
	persist_close(q);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *file;

	if (!key.data) {
		size_t i;

		if (secbuf_alloc(&key, PERSIST_KEY_LEN))
			abort();
		for (i = 0; i < key.len; i++)
			key.data[i] = (uint8_t)i;
	}
	if (size > (1u << 20))
		return 0;
	check(data, size);
	file = malloc(size + PERSIST_HDR_LEN + PERSIST_TAG_LEN);
	if (!file)
		return 0;
	check(file, seal(data, size, file));
	free(file);
	return 0;
}
