// SPDX-License-Identifier: GPL-2.0
/*
 * keyring.c - logon keys for dm-vmcrypt tables (libkeyutils).
 */
#include "lib/keyring.h"

#include <errno.h>
#include <stdio.h>

#include <keyutils.h>

int keyring_desc(const char *uuid, char *buf, size_t len)
{
	int n = snprintf(buf, len, KEYRING_DESC_PREFIX "%s", uuid);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int keyring_add_logon(const char *desc, const struct secbuf *key,
		      int32_t *serial)
{
	key_serial_t s;

	if (!key || !key->data || !key->len)
		return -EINVAL;
	/* The thread keyring is created on first use and is ours alone. */
	s = add_key("logon", desc, key->data, key->len, KEY_SPEC_THREAD_KEYRING);
	if (s < 0)
		return -errno;
	*serial = s;
	return 0;
}

int keyring_remove(int32_t serial)
{
	if (keyctl_invalidate(serial) == 0)
		return 0;
	/* Older kernels: at least drop our link. */
	if (keyctl_unlink(serial, KEY_SPEC_THREAD_KEYRING) == 0)
		return 0;
	return -errno;
}
