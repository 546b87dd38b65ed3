/* SPDX-License-Identifier: GPL-2.0 */
/*
 * keyring.h - hand a DEK to dm-vmcrypt through the kernel keyring.
 *
 * The key is added as a "logon" key (user space can never read it back)
 * named "vmcrypt:<LUKS UUID>" to the calling thread's keyring, so that only
 * the daemon thread doing the table load (or the "key set" message) can
 * find it; right after that the key is invalidated, which drops it from
 * every keyring. The kernel target keeps its own copy inside the cipher.
 */
#ifndef VMCRYPT_KEYRING_H
#define VMCRYPT_KEYRING_H

#include <stddef.h>
#include <stdint.h>

#include "lib/secmem.h"

#define KEYRING_DESC_PREFIX "vmcrypt:"

/* "vmcrypt:<uuid>" into @buf. 0 or -ENAMETOOLONG. */
int keyring_desc(const char *uuid, char *buf, size_t len);

/* Add @key as logon key @desc to the thread keyring. 0 or -errno. */
int keyring_add_logon(const char *desc, const struct secbuf *key,
		      int32_t *serial);

/* Invalidate (and so unlink) the key @serial. 0 or -errno. */
int keyring_remove(int32_t serial);

#endif
