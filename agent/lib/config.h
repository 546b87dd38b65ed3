/* SPDX-License-Identifier: GPL-2.0 */
/*
 * config.h - vmcryptd's configuration file and the role model.
 *
 * The file is "key = value" lines; '#' starts a comment; blank lines are
 * ignored. A bad line is reported as "FILE:LINE: reason" and the whole
 * file is refused (nothing is applied). Keys:
 *
 *   state_dir = /var/lib/vmcrypt
 *   socket = /run/vmcrypt/control
 *   tpm_tcti = device:/dev/tpmrm0
 *   log_level = error | warning | info | debug
 *   kmip_connect_timeout_ms = 5000      (100 .. 600000)
 *   kmip_timeout_ms = 10000             (read/write, 100 .. 600000)
 *   kmip_retry_after_s = 30             (a failed server is tried last
 *                                        for this long, 0 .. 86400)
 *   client_timeout_ms = 30000           (control socket reads)
 *   max_clients = 64                    (concurrent connections, 1..1024)
 *   max_clients_per_user = 8            (connections of one non-root uid,
 *                                        1..1024)
 *   admin_groups = wheel, vmcrypt-admin (Unix groups -> roles)
 *   operator_groups = ...
 *   viewer_groups = ...
 *
 * Roles are ordered: viewer < operator < admin. uid 0 is always admin.
 */
#ifndef VMCRYPT_CONFIG_H
#define VMCRYPT_CONFIG_H

#include <stddef.h>
#include <sys/types.h>

#include "lib/log.h"

enum role {
	ROLE_NONE = 0,		/* in no mapped group: only "ping" */
	ROLE_VIEWER,		/* status, lists, events; never a key */
	ROLE_OPERATOR,		/* disk and key operations */
	ROLE_ADMIN,		/* everything, including providers */
};

#define CONFIG_DEFAULT_PATH "/etc/vmcrypt/vmcryptd.conf"
#define CONFIG_DEFAULT_STATE_DIR "/var/lib/vmcrypt"
#define CONFIG_DEFAULT_SOCKET "/run/vmcrypt/control"
#define CONFIG_DEFAULT_TCTI "device:/dev/tpmrm0"

struct config {
	char *state_dir;
	char *socket_path;
	char *tpm_tcti;
	enum log_level log_level;
	int kmip_connect_timeout_ms;
	int kmip_timeout_ms;
	int kmip_retry_after_s;
	int client_timeout_ms;
	int max_clients;
	int max_clients_per_user;
	/* Group names per role; NULL-terminated arrays. */
	char **groups[ROLE_ADMIN + 1];
};

/* Fill @cfg with the defaults (allocates; config_free() releases). */
int config_init(struct config *cfg);
void config_free(struct config *cfg);

/*
 * Parse @len bytes of config text named @name (for messages) on top of
 * @cfg. On error @cfg is unchanged and @err holds "NAME:LINE: reason".
 * 0 or -EINVAL / -ENOMEM.
 */
int config_parse(struct config *cfg, const char *name, const char *text,
		 size_t len, char *err, size_t errlen);

/*
 * Load @path on top of the defaults into @cfg (which must be initialised
 * by config_init). A missing file is an error unless @optional; a regular
 * file writable by group/others or owned by another user than root or us
 * is refused (-EPERM): it decides who gets which role.
 * 0 or -errno with @err filled.
 */
int config_load(struct config *cfg, const char *path, int optional,
		char *err, size_t errlen);

/* "admin", "operator", "viewer", "none". */
const char *role_name(enum role r);

/*
 * The role of @uid (primary group @gid) under @cfg: 0 is admin, otherwise
 * the highest role of any group the user is in (by the group database).
 * @user receives the user name (or the numeric uid). Never fails: an
 * unknown user gets ROLE_NONE.
 */
enum role config_role_of(const struct config *cfg, uid_t uid, gid_t gid,
			 char *user, size_t userlen);

#endif
