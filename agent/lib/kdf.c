// SPDX-License-Identifier: GPL-2.0
/*
 * kdf.c - HKDF-SHA256 through OpenSSL's EVP_KDF "HKDF", native KEK
 * derivation and labels, key fingerprints (see kdf.h).
 */
#include "lib/kdf.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

int kdf_hkdf_sha256(const struct secbuf *ikm, const void *salt,
		    size_t salt_len, const void *info, size_t info_len,
		    size_t out_len, struct secbuf *out)
{
	OSSL_PARAM params[5], *p = params;
	EVP_KDF_CTX *kctx = NULL;
	EVP_KDF *kdf;
	int r;

	out->data = NULL;
	out->len = 0;
	if (!ikm->data || !ikm->len || !out_len || out_len > 255 * 32)
		return -EINVAL;
	kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	if (!kdf)
		return -ENOSYS;
	kctx = EVP_KDF_CTX_new(kdf);
	EVP_KDF_free(kdf);
	if (!kctx)
		return -ENOMEM;
	*p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
						(char *)"SHA256", 0);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
						 ikm->data, ikm->len);
	if (salt_len)
		*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
							 (void *)salt, salt_len);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
						 (void *)info, info_len);
	*p = OSSL_PARAM_construct_end();
	r = secbuf_alloc(out, out_len);
	if (r < 0)
		goto out;
	if (EVP_KDF_derive(kctx, out->data, out_len, params) != 1) {
		secbuf_free(out);
		r = -EIO;
	}
out:
	EVP_KDF_CTX_free(kctx);
	return r;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int kdf_uuid_parse(const char *s, uint8_t uuid[16])
{
	size_t i, n = 0;

	if (strlen(s) != 36)
		return -EINVAL;
	for (i = 0; i < 36;) {
		int hi, lo;

		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return -EINVAL;
			i++;
			continue;
		}
		hi = hexval((unsigned char)s[i]);
		lo = hexval((unsigned char)s[i + 1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		uuid[n++] = (uint8_t)(hi << 4 | lo);
		i += 2;
	}
	return 0;
}

int kdf_native_kek(const struct secbuf *kdk, const char *vm_uuid,
		   struct secbuf *kek)
{
	uint8_t info[sizeof(KDF_KEK_INFO) - 1 + 16];
	int r;

	kek->data = NULL;
	kek->len = 0;
	if (kdk->len != KDF_KEY_LEN)
		return -EINVAL;
	memcpy(info, KDF_KEK_INFO, sizeof(KDF_KEK_INFO) - 1);
	r = kdf_uuid_parse(vm_uuid, info + sizeof(KDF_KEK_INFO) - 1);
	if (r < 0)
		return r;
	return kdf_hkdf_sha256(kdk, NULL, 0, info, sizeof(info), KDF_KEY_LEN,
			       kek);
}

static int provider_name_ok(const char *p)
{
	size_t n = strlen(p);

	if (!n || n > 64)
		return 0;
	for (; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' &&
		    *p != '.')
			return 0;
	return 1;
}

int kdf_native_label(const char *provider, const char *vm_uuid, char *buf,
		     size_t len)
{
	uint8_t u[16];
	int r;

	if (!provider_name_ok(provider))
		return -EINVAL;
	r = kdf_uuid_parse(vm_uuid, u);
	if (r < 0)
		return r;
	r = snprintf(buf, len,
		     "native:%s:%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
		     "%02x%02x%02x%02x%02x%02x", provider, u[0], u[1], u[2],
		     u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11],
		     u[12], u[13], u[14], u[15]);
	return r < 0 || (size_t)r >= len ? -ENAMETOOLONG : 0;
}

int kdf_native_label_parse(const char *label, char *provider, size_t plen,
			   char uuid[37])
{
	const char *p, *colon;
	uint8_t u[16];
	size_t n, i;

	if (strncmp(label, "native:", 7))
		return -EINVAL;
	p = label + 7;
	colon = strrchr(p, ':');
	if (!colon)
		return -EINVAL;
	n = (size_t)(colon - p);
	if (n >= plen || n == 0)
		return -EINVAL;
	memcpy(provider, p, n);
	provider[n] = '\0';
	if (!provider_name_ok(provider) || kdf_uuid_parse(colon + 1, u) < 0)
		return -EINVAL;
	for (i = 0; i < 36; i++)
		uuid[i] = (char)tolower((unsigned char)colon[1 + i]);
	uuid[36] = '\0';
	return 0;
}

int kdf_fingerprint(const struct secbuf *key, char hex[KDF_FPR_HEX_LEN + 1])
{
	static const char tag[] = "vmcrypt key fingerprint";
	unsigned char md[32];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx;
	int i, ok;

	ctx = EVP_MD_CTX_new();
	if (!ctx)
		return -ENOMEM;
	ok = EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
	     EVP_DigestUpdate(ctx, tag, sizeof(tag) - 1) == 1 &&
	     EVP_DigestUpdate(ctx, key->data, key->len) == 1 &&
	     EVP_DigestFinal_ex(ctx, md, &mdlen) == 1;
	EVP_MD_CTX_free(ctx);
	if (!ok)
		return -EIO;
	for (i = 0; i < KDF_FPR_HEX_LEN / 2; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	secure_wipe(md, sizeof(md));
	return 0;
}
