// SPDX-License-Identifier: GPL-2.0
/*
 * ops.c - the tables that plug features into vmcryptd: control operations
 * with the role each needs, daemon modules (init/fini), provider types.
 * Add one line per entry (and its prototype in ops.h).
 *
 * Roles: viewer may read status, lists and events but never create, fetch
 * or use a key; operator does disk and key work; admin also manages
 * providers and persistence. ROLE_NONE: anyone who can connect.
 */
#include "vmcryptd/ops.h"
#include "vmcryptd/persistence.h"

const struct op_desc daemon_ops[] = {
	{ "ping",			ROLE_NONE,	op_ping },
	{ "events.list",		ROLE_VIEWER,	op_events_list },

	{ "provider.add",		ROLE_ADMIN,	op_provider_add },
	{ "provider.list",		ROLE_VIEWER,	op_provider_list },
	{ "provider.show",		ROLE_VIEWER,	op_provider_show },
	{ "provider.test",		ROLE_ADMIN,	op_provider_test },
	{ "provider.set-default",	ROLE_ADMIN,	op_provider_set_default },
	{ "provider.remove",		ROLE_ADMIN,	op_provider_remove },

	{ "key.create",			ROLE_OPERATOR,	op_key_create },
	{ "key.show",			ROLE_VIEWER,	op_key_show },
	{ "key.fetch",			ROLE_OPERATOR,	op_key_fetch },
	{ "key.list",			ROLE_VIEWER,	op_key_list },

	{ "disk.format",		ROLE_OPERATOR,	op_disk_format },
	{ "disk.open",			ROLE_OPERATOR,	op_disk_open },
	{ "disk.close",			ROLE_OPERATOR,	op_disk_close },
	{ "disk.list",			ROLE_VIEWER,	op_disk_list },
	{ "disk.status",		ROLE_VIEWER,	op_disk_status },
	{ "disk.lock",			ROLE_OPERATOR,	op_disk_lock },
	{ "disk.unlock",		ROLE_OPERATOR,	op_disk_unlock },
	{ "disk.rekey",			ROLE_OPERATOR,	op_disk_rekey },

	{ "persistence.enable",		ROLE_ADMIN,	op_persistence_enable },
	{ "persistence.disable",	ROLE_ADMIN,	op_persistence_disable },
	{ "persistence.status",		ROLE_VIEWER,	op_persistence_status },
	{ "provider.backup",		ROLE_ADMIN,	op_provider_backup },
	{ "provider.backup-verify",	ROLE_ADMIN,	op_provider_backup_verify },
	{ "provider.restore",		ROLE_ADMIN,	op_provider_restore },
};
const size_t daemon_n_ops = sizeof(daemon_ops) / sizeof(daemon_ops[0]);

/* Run in this order at start, in reverse at shutdown. */
const struct daemon_module daemon_modules[] = {
	{ "disks", disk_init, NULL },	/* disk_open.c */
	{ "kevents", kevents_init, kevents_fini },	/* kevents.c */
	{ "persistence", persistence_init, persistence_fini },	/* persistence.c */
	{ NULL, NULL, NULL },	/* placeholder so the table is never empty */
};
const size_t daemon_n_modules = sizeof(daemon_modules) / sizeof(daemon_modules[0]);

const struct provider_ops *const provider_types[] = {
	&kmip_provider_ops,
	&native_provider_ops,
};
const size_t provider_n_types = sizeof(provider_types) / sizeof(provider_types[0]);
