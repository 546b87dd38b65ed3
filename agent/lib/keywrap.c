// SPDX-License-Identifier: GPL-2.0
/*
 * keywrap.c - RFC 5649 AES key wrap with padding through OpenSSL's
 * EVP_aes_*_wrap_pad ciphers (which need EVP_CIPHER_CTX_FLAG_WRAP_ALLOW).
 *
 * Unwrapped bytes go straight into locked memory: OpenSSL writes the
 * plaintext key into the caller's buffer, which is a secbuf here.
 */
#include "lib/keywrap.h"

#include <errno.h>
#include <limits.h>
#include <string.h>

#include <openssl/evp.h>

static const EVP_CIPHER *wrap_cipher(size_t keylen)
{
	switch (keylen) {
	case 16:
		return EVP_aes_128_wrap_pad();
	case 24:
		return EVP_aes_192_wrap_pad();
	case 32:
		return EVP_aes_256_wrap_pad();
	default:
		return NULL;
	}
}

/* One pass of the wrap cipher; returns the output length or -errno. */
static int wrap_run(const struct secbuf *kek, int enc, const uint8_t *in,
		    size_t inlen, uint8_t *out)
{
	const EVP_CIPHER *cipher = wrap_cipher(kek ? kek->len : 0);
	EVP_CIPHER_CTX *ctx;
	int len = 0, fin = 0, ret;

	if (!cipher || !kek->data)
		return -EINVAL;
	ctx = EVP_CIPHER_CTX_new();
	if (!ctx)
		return -ENOMEM;
	EVP_CIPHER_CTX_set_flags(ctx, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
	if (EVP_CipherInit_ex(ctx, cipher, NULL, kek->data, NULL, enc) != 1) {
		ret = -EIO;
		goto out;
	}
	/* The wrap ciphers do the whole job in one update call. */
	if (EVP_CipherUpdate(ctx, out, &len, in, (int)inlen) != 1 || len <= 0) {
		ret = enc ? -EIO : -EBADMSG;
		goto out;
	}
	if (EVP_CipherFinal_ex(ctx, out + len, &fin) != 1) {
		ret = enc ? -EIO : -EBADMSG;
		goto out;
	}
	ret = len + fin;
out:
	EVP_CIPHER_CTX_free(ctx);
	return ret;
}

int keywrap_wrap(const struct secbuf *kek, const uint8_t *in, size_t inlen,
		 uint8_t *out, size_t outsize, size_t *outlen)
{
	int n;

	if (!in || inlen == 0 || inlen > KEYWRAP_MAX_KEY || !out || !outlen)
		return -EINVAL;
	if (outsize < KEYWRAP_WRAPPED_LEN(inlen))
		return -ENOSPC;
	n = wrap_run(kek, 1, in, inlen, out);
	if (n < 0)
		return n;
	if ((size_t)n != KEYWRAP_WRAPPED_LEN(inlen)) {
		OPENSSL_cleanse(out, outsize);
		return -EIO;
	}
	*outlen = (size_t)n;
	return 0;
}

int keywrap_unwrap(const struct secbuf *kek, const uint8_t *in, size_t inlen,
		   struct secbuf *out)
{
	struct secbuf tmp = { 0 };
	int n, ret;

	if (!in || !out || inlen < 16 || inlen % 8 ||
	    inlen > KEYWRAP_WRAPPED_LEN(KEYWRAP_MAX_KEY))
		return -EINVAL;
	/* The plaintext is at most inlen - 8 bytes; OpenSSL wants inlen. */
	ret = secbuf_alloc(&tmp, inlen);
	if (ret)
		return ret;
	n = wrap_run(kek, 0, in, inlen, tmp.data);
	if (n < 0) {
		secbuf_free(&tmp);
		return n;
	}
	if (n == 0 || (size_t)n > inlen - 8) {
		secbuf_free(&tmp);
		return -EBADMSG;
	}
	/* Keep the mapping, report the true key length (wiped on free). */
	tmp.len = (size_t)n;
	*out = tmp;
	return 0;
}
