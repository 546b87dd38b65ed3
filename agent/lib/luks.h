/* SPDX-License-Identifier: GPL-2.0 */
/*
 * luks.h - the on-disk format of a vmcrypt disk: a LUKS2 header written and
 * read by libcryptsetup, carrying a token of type "vmcrypt" that holds the
 * DEK wrapped with the VM's KEK (Documentation/on-disk-format.rst).
 *
 * The data segment is aes-xts-plain64 with a 512-bit volume key (the DEK);
 * the LUKS2 digest lets an unwrapped DEK be verified before use. An
 * optional passphrase keyslot is the recovery path with plain cryptsetup.
 */
#ifndef VMCRYPT_LUKS_H
#define VMCRYPT_LUKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/keywrap.h"
#include "lib/secmem.h"

#define VMCRYPT_TOKEN_TYPE "vmcrypt"
#define VMCRYPT_TOKEN_VERSION 1
#define VMCRYPT_WRAP_ALG "aes256-kwp"	/* RFC 5649 with an AES-256 KEK */
#define VMCRYPT_DEK_BYTES 64		/* AES-256-XTS */
#define VMCRYPT_TOKEN_MAX_JSON 4096

/* The decoded vmcrypt token. Strings are NUL-terminated. */
struct vmcrypt_token {
	int version;
	char provider[65];
	char kek_id[256];
	char vm_name[65];
	char vm_uuid[37];
	char created[40];	/* RFC 3339 UTC */
	char rekeyed[40];	/* RFC 3339 UTC of the last rekey, or "" */
	uint8_t wrapped_dek[KEYWRAP_WRAPPED_LEN(VMCRYPT_DEK_BYTES)];
	size_t wrapped_len;
};

/* What libcryptsetup tells about a LUKS2 vmcrypt volume. */
struct luks_info {
	char uuid[40];		/* LUKS UUID */
	uint64_t data_offset;	/* in 512-byte sectors */
	uint32_t sector_size;	/* encryption sector size in bytes */
	uint64_t device_size;	/* whole device/file, bytes */
	int token_id;		/* LUKS2 token slot of the vmcrypt token */
	int recovery_keyslots;	/* active passphrase keyslots */
	/*
	 * With -ENOKEY from luks_read(): the header is labelled as vmcrypt
	 * writes it but has no vmcrypt token at all, which luks_format()
	 * writes last: a format that was interrupted.
	 */
	bool unfinished;
	struct vmcrypt_token tok;
};

/*
 * Parse a vmcrypt token's JSON (untrusted: read from disk). Every field is
 * required and checked (type, version, sizes, base64, UUID syntax).
 * 0 or -EINVAL (not a valid vmcrypt token), -ENOMEM.
 */
int luks_token_parse(const char *json, size_t len, struct vmcrypt_token *t);
/*
 * Serialise @t into a new string (free()). 0, -ENOMEM, or -EINVAL when a
 * field is one luks_token_parse() would refuse (empty, not terminated,
 * control characters, bad UUID or wrapped DEK size).
 */
int luks_token_format(const struct vmcrypt_token *t, char **json);

/*
 * Look at what @path holds. 0 when nothing recognisable is on it;
 * -EEXIST with @what (e.g. "a LUKS2 header (UUID ...)", "an ext4
 * filesystem", "a gpt partition table") when it holds data; other -errno
 * when it cannot be read.
 */
int luks_probe(const char *path, char *what, size_t whatlen);

/* Size in bytes of a block device or regular file. 0 or -errno. */
int luks_device_size(const char *path, uint64_t *size);

/* The smallest device a vmcrypt volume can be formatted on (bytes). */
#define LUKS_MIN_DEVICE_SIZE (17ULL << 20)
/* Where the data segment starts (512-byte sectors): on-disk-format.rst. */
#define LUKS_DATA_OFFSET 32768

/*
 * PBKDF2-SHA256 iterations of the LUKS2 digest that luks_format() writes:
 * libcryptsetup's minimum (the DEK is random; luks.c says why).
 */
#define LUKS_DIGEST_ITERATIONS 1000

/*
 * Write a fresh LUKS2 header on @path: aes-xts-plain64 with @dek as volume
 * key, @sector_size (512 or 4096), the vmcrypt token @tok, and when
 * @recovery is non-NULL a passphrase keyslot (Argon2id, libcryptsetup's
 * defaults). The digest has LUKS_DIGEST_ITERATIONS. @uuid (>= 40 bytes)
 * gets the LUKS UUID. 0, -ENOSPC (device too small), -EINVAL, other -errno.
 * The token is written last: whatever interrupts the format, a header
 * with the token is a finished one, recovery keyslot included.
 */
int luks_format(const char *path, const struct secbuf *dek,
		uint32_t sector_size, const struct vmcrypt_token *tok,
		const struct secbuf *recovery, char *uuid, size_t uuidlen);

/*
 * Read the header of @path. 0; -ENODEV when it is not LUKS2; -ENOKEY when
 * it is LUKS2 without a (valid) vmcrypt token (info->unfinished says
 * whether it is what an interrupted luks_format() leaves); other -errno.
 */
int luks_read(const char *path, struct luks_info *info);

/* Check @dek against the LUKS2 digest. 0, -EPERM (mismatch), -errno. */
int luks_verify_key(const char *path, const struct secbuf *dek);

/*
 * Replace token @token_id with @tok (libcryptsetup updates both header
 * copies), only if the header is still the one the caller read: LUKS UUID
 * @uuid, @dek opening it, and token @token_id still @was (the same KEK and
 * wrapped DEK). -ESTALE when not (formatted again, replaced, rekeyed by
 * another request meanwhile): nothing written.
 */
int luks_set_token(const char *path, int token_id,
		   const struct vmcrypt_token *tok, const char *uuid,
		   const struct secbuf *dek, const struct vmcrypt_token *was);

/* Current time as RFC 3339 UTC ("2026-11-23T02:40:40Z") into @buf. */
void luks_now(char *buf, size_t len);

#endif
