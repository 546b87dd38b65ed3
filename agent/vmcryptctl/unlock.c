// SPDX-License-Identifier: GPL-2.0
/*
 * unlock.c - "vmcryptctl unlock NAME|--all": undo the emergency lock (the
 * key comes back exactly as on open: memory, provider, persisted cache).
 */
#include "vmcryptctl/commands.h"

int unlock_main(int argc, char **argv)
{
	return ctl_lock_common(argc, argv, 0);
}
