/* SPDX-License-Identifier: GPL-2.0 */
/*
 * keywrap.h - AES key wrap with padding (RFC 5649), the algorithm that
 * wraps a disk's DEK with its VM's KEK in the LUKS2 vmcrypt token.
 *
 * The KEK may be 16, 24 or 32 bytes (AES-128/192/256; vmcrypt KEKs are
 * always AES-256, the other sizes exist for the RFC's test vectors). The
 * unwrapped key lands in a struct secbuf; a wrong KEK or a tampered blob
 * fails the RFC's integrity check and returns -EBADMSG.
 */
#ifndef VMCRYPT_KEYWRAP_H
#define VMCRYPT_KEYWRAP_H

#include <stddef.h>
#include <stdint.h>

#include "lib/secmem.h"

/* Largest key we wrap (a 512-bit XTS DEK is 64 bytes). */
#define KEYWRAP_MAX_KEY 512
/* Wrapped size of an @len-byte key: padded to 8 bytes, plus the 8-byte AIV. */
#define KEYWRAP_WRAPPED_LEN(len) ((((len) + 7) / 8) * 8 + 8)

/*
 * Wrap @in (@inlen bytes, 1..KEYWRAP_MAX_KEY) with @kek into @out, which
 * has room for @outsize bytes; *@outlen gets the wrapped length.
 * 0, -EINVAL (bad sizes), -ENOSPC (@out too small), -EIO (OpenSSL).
 */
int keywrap_wrap(const struct secbuf *kek, const uint8_t *in, size_t inlen,
		 uint8_t *out, size_t outsize, size_t *outlen);

/*
 * Unwrap @in (@inlen bytes) with @kek into a new secbuf @out.
 * 0, -EINVAL (bad sizes), -EBADMSG (integrity check failed: wrong KEK or
 * corrupted blob), -ENOMEM, -EIO.
 */
int keywrap_unwrap(const struct secbuf *kek, const uint8_t *in, size_t inlen,
		   struct secbuf *out);

#endif
