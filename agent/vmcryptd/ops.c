// SPDX-License-Identifier: GPL-2.0
/*
 * ops.c - the tables that plug features into vmcryptd: control operations
 * with the role each needs, daemon modules (init/fini), provider types.
 * Add one line per entry (and its prototype in ops.h).
 *
 * Roles: viewer may read status, lists and events but never create, fetch
 * or use a key; operator does disk and key work; admin also manages
 * providers and persistence. ROLE_NONE: anyone who can connect.
 *
 * Each operation lists the members of "args" it takes; vmcryptd refuses a
 * request with any other before the handler runs (NULL: the handler
 * checks, as provider.add does with its provider type's own members).
 */
#include "vmcryptd/ops.h"
#include "vmcryptd/persistence.h"

#define ARGS(...) ((const char *const[]){ __VA_ARGS__, NULL })
#define NO_ARGS ((const char *const[]){ NULL })

const struct op_desc daemon_ops[] = {
	{ "ping",			ROLE_NONE,	op_ping,
	  NO_ARGS },
	{ "events.list",		ROLE_VIEWER,	op_events_list,
	  ARGS("since") },

	{ "provider.add",		ROLE_ADMIN,	op_provider_add,
	  NULL },
	{ "provider.list",		ROLE_VIEWER,	op_provider_list,
	  NO_ARGS },
	{ "provider.show",		ROLE_VIEWER,	op_provider_show,
	  ARGS("name") },
	{ "provider.test",		ROLE_ADMIN,	op_provider_test,
	  ARGS("name") },
	{ "provider.set-default",	ROLE_ADMIN,	op_provider_set_default,
	  ARGS("name") },
	{ "provider.remove",		ROLE_ADMIN,	op_provider_remove,
	  ARGS("name") },

	{ "key.create",			ROLE_OPERATOR,	op_key_create,
	  ARGS("vm_name", "vm_uuid", "provider") },
	{ "key.show",			ROLE_VIEWER,	op_key_show,
	  ARGS("id", "provider") },
	{ "key.fetch",			ROLE_OPERATOR,	op_key_fetch,
	  ARGS("id", "provider", "no_cache") },
	{ "key.list",			ROLE_VIEWER,	op_key_list,
	  NO_ARGS },

	{ "disk.format",		ROLE_OPERATOR,	op_disk_format,
	  ARGS("path", "vm_name", "vm_uuid", "provider", "sector_size", "size",
	       "force", "recovery_passphrase") },
	{ "disk.open",			ROLE_OPERATOR,	op_disk_open,
	  ARGS("path", "name") },
	{ "disk.close",			ROLE_OPERATOR,	op_disk_close,
	  ARGS("name") },
	{ "disk.list",			ROLE_VIEWER,	op_disk_list,
	  ARGS("name") },
	{ "disk.status",		ROLE_VIEWER,	op_disk_status,
	  ARGS("name") },
	{ "disk.lock",			ROLE_OPERATOR,	op_disk_lock,
	  ARGS("name", "all") },
	{ "disk.unlock",		ROLE_OPERATOR,	op_disk_unlock,
	  ARGS("name", "all") },
	{ "disk.rekey",			ROLE_OPERATOR,	op_disk_rekey,
	  ARGS("path", "shallow", "provider") },

	{ "persistence.enable",		ROLE_ADMIN,	op_persistence_enable,
	  ARGS("pcrs") },
	{ "persistence.disable",	ROLE_ADMIN,	op_persistence_disable,
	  NO_ARGS },
	{ "persistence.status",		ROLE_VIEWER,	op_persistence_status,
	  ARGS("keys") },
	{ "provider.backup",		ROLE_ADMIN,	op_provider_backup,
	  ARGS("name", "passphrase") },
	{ "provider.backup-verify",	ROLE_ADMIN,	op_provider_backup_verify,
	  ARGS("name", "pkcs12", "passphrase") },
	{ "provider.restore",		ROLE_ADMIN,	op_provider_restore,
	  ARGS("pkcs12", "passphrase", "name", "allow_no_tpm") },
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
