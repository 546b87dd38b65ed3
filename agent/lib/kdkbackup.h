/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kdkbackup.h - passphrase-protected backup of a native provider's KDK.
 *
 * The file is a standard PKCS#12 (RFC 7292) PFX: one authenticated safe,
 * encrypted with PBES2 (PBKDF2-HMAC-SHA256, KDKBACKUP_ITER iterations,
 * AES-256-CBC), holding one secretBag whose secret type is hmacWithSHA256
 * (the KDK is the HMAC-SHA256 key of HKDF) and whose friendlyName is
 * "vmcrypt-native-kdk:<provider>"; the PFX MAC is HMAC-SHA256 with the same
 * iteration count. `openssl pkcs12 -info -in FILE -nokeys` can inspect it.
 */
#ifndef VMCRYPT_KDKBACKUP_H
#define VMCRYPT_KDKBACKUP_H

#include <stddef.h>
#include <stdint.h>

#include "lib/secmem.h"

#define KDKBACKUP_ITER 600000
/*
 * Largest iteration count (MAC or PBKDF2) an import accepts: a hostile file
 * could otherwise name up to INT_MAX and hold an import for minutes per
 * derivation. 4x ours leaves room for a later version raising
 * KDKBACKUP_ITER (a backup must still open where an older agent restores
 * it) while an import stays in the order of a second of CPU (about 0.2 s
 * per 600000 rounds).
 */
#define KDKBACKUP_MAX_ITER (4 * KDKBACKUP_ITER)
#define KDKBACKUP_MIN_PASS 8
#define KDKBACKUP_MAX_PASS 1024
#define KDKBACKUP_MAX_FILE 65536
#define KDKBACKUP_NAME_PREFIX "vmcrypt-native-kdk:"

/*
 * DER-encode a backup of @kdk for @provider, protected by @pass. The
 * result (*@der, *@len) is malloc'ed (it holds no plaintext secret).
 * -EINVAL for a passphrase shorter than KDKBACKUP_MIN_PASS. 0 or -errno.
 */
int kdkbackup_export(const struct secbuf *kdk, const char *provider,
		     const struct secbuf *pass, uint8_t **der, size_t *len);

/*
 * Open a backup: -EBADMSG when it is not a vmcrypt KDK backup (including
 * an iteration count above KDKBACKUP_MAX_ITER, refused before any key
 * derivation), -EKEYREJECTED when the passphrase is wrong. The provider
 * name recorded in the file goes to @provider (@plen bytes). 0 or -errno.
 */
int kdkbackup_import(const uint8_t *der, size_t len,
		     const struct secbuf *pass, struct secbuf *kdk,
		     char *provider, size_t plen);

#endif
