/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kdf.h - key derivation for the native key provider, and key fingerprints.
 *
 * A native KEK is HKDF-SHA256 (RFC 5869, no salt) of the provider's
 * key-derivation key (KDK) with info = "vmcrypt kek" || the 16 bytes of the
 * VM's UUID, 32 bytes long. Its KEK id is the derivation label
 * "native:<provider>:<vm-uuid>" (lower-case canonical UUID), so that the id
 * in a disk's token is enough to derive the KEK again on any host that
 * holds the same KDK (Documentation/persistence.rst).
 */
#ifndef VMCRYPT_KDF_H
#define VMCRYPT_KDF_H

#include <stddef.h>
#include <stdint.h>

#include "lib/secmem.h"

#define KDF_KEY_LEN 32
#define KDF_KEK_INFO "vmcrypt kek"
/* "native:" + provider (<= 64) + ":" + uuid (36) + NUL */
#define KDF_LABEL_MAX 112
/* 16 bytes of SHA-256, hex: a public name for a key, never the key. */
#define KDF_FPR_HEX_LEN 32

/* HKDF-SHA256(@ikm, @salt, @info) -> @out_len bytes in a new secbuf. */
int kdf_hkdf_sha256(const struct secbuf *ikm, const void *salt,
		    size_t salt_len, const void *info, size_t info_len,
		    size_t out_len, struct secbuf *out);

/* Parse a canonical UUID string (either case) into 16 bytes. 0 or -EINVAL. */
int kdf_uuid_parse(const char *s, uint8_t uuid[16]);

/* Native KEK for VM @vm_uuid from @kdk (32 bytes). 0 or -errno. */
int kdf_native_kek(const struct secbuf *kdk, const char *vm_uuid,
		   struct secbuf *kek);

/* "native:<provider>:<uuid>" into @buf (KDF_LABEL_MAX). 0 or -errno. */
int kdf_native_label(const char *provider, const char *vm_uuid, char *buf,
		     size_t len);
/*
 * Split a native label into provider and UUID (lower-cased).
 * @provider gets up to @plen bytes, @uuid 37 bytes. 0 or -EINVAL.
 */
int kdf_native_label_parse(const char *label, char *provider, size_t plen,
			   char uuid[37]);

/*
 * Fingerprint of a key: hex of the first 16 bytes of
 * SHA-256("vmcrypt key fingerprint" || key). Safe to print and compare.
 */
int kdf_fingerprint(const struct secbuf *key, char hex[KDF_FPR_HEX_LEN + 1]);

#endif
