/* SPDX-License-Identifier: GPL-2.0 */
/*
 * daemon.h - what every part of vmcryptd plugs into.
 *
 * The daemon serves the control socket (server.c), authorises each request
 * (request.c) and dispatches it through one table of operations (ops.c).
 * A feature adds itself with:
 *
 *   - op handlers: `int op_x(struct daemon *, struct request *, args,
 *     result)`, declared in ops.h and listed in daemon_ops[] in ops.c with
 *     the role they need. The handler reads its arguments with the args_*
 *     helpers below (which set a clear error), fills @result (a JSON
 *     object) and returns 0, or -errno after request_error().
 *   - a module (init/fini) in daemon_modules[] in ops.c, run at start
 *     (after the state dir, event log and providers are loaded, before the
 *     socket accepts) and at shutdown, in reverse order.
 *   - events: request_event() (fills time, user and op) or daemon_event().
 *
 * Concurrency: each connection has its own thread; handlers run in
 * parallel. d->lock protects only small in-memory state and is never held
 * across network, TPM or disk I/O. Handlers must be thread-safe.
 */
#ifndef VMCRYPTD_DAEMON_H
#define VMCRYPTD_DAEMON_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "lib/config.h"
#include "lib/eventlog.h"
#include "lib/proto.h"
#include "lib/secmem.h"

struct json_object;
struct daemon;
struct provider_registry;
struct keystore;

/*
 * The persisted KEK cache (TPM engineer: persistence.c). Set with
 * daemon_set_persist() when persistence is on; NULL when off. Both calls
 * must be thread-safe. The daemon feeds every KEK it obtains to store()
 * (failures are logged as events, never fatal) and asks lookup() when the
 * provider cannot deliver a key.
 */
struct persist_hook {
	/* Add or replace (provider, kek_id) -> kek. 0 or -errno. */
	int (*store)(struct daemon *d, const char *provider,
		     const char *kek_id, const struct secbuf *kek);
	/* Fill @out with the cached KEK; -ENOENT when not cached. */
	int (*lookup)(struct daemon *d, const char *provider,
		      const char *kek_id, struct secbuf *out);
	/* Drop every entry of @provider (provider removed). May be NULL. */
	int (*forget_provider)(struct daemon *d, const char *provider);
	void *priv;
};

struct daemon {
	/* Fixed at start. */
	char *config_path;		/* NULL: defaults only */
	bool config_optional;		/* the default path may be absent */
	char *state_dir;		/* 0700, absolute */
	char *socket_path;
	bool foreground;

	/* Reloaded on SIGHUP; read with daemon_config_*() or under cfg_lock. */
	pthread_rwlock_t cfg_lock;
	struct config cfg;

	struct eventlog *events;		/* STATE_DIR/events.jsonl */
	struct provider_registry *providers;	/* provider.c */
	struct keystore *keys;			/* keys.c */

	pthread_mutex_t lock;		/* small in-memory state, no I/O */
	struct persist_hook *persist;	/* under lock; see daemon_get_persist */

	/* Per-module private state, indexed like daemon_modules[]. */
	void *module_priv[16];

	volatile sig_atomic_t stopping;
};

/* One control request, alive for the duration of its handler. */
struct request {
	uid_t uid;
	gid_t gid;
	pid_t pid;
	char user[64];		/* user name, or the uid in decimal */
	enum role role;
	const char *op;		/* e.g. "key.create" */
	char error[512];	/* set by request_error(); empty if none */
	/* set by request_failure(): what kind of failure, for the CLI */
	enum proto_failure failure;
};

typedef int (*op_fn)(struct daemon *d, struct request *rq,
		     struct json_object *args, struct json_object *result);

struct op_desc {
	const char *name;
	enum role role;		/* minimum role; ROLE_NONE: anyone */
	op_fn fn;
	/*
	 * The members of args it takes (NULL-terminated); any other is
	 * refused before fn runs. NULL: fn checks them itself
	 * (request_unknown_arg()).
	 */
	const char *const *args;
};

struct daemon_module {
	const char *name;
	/* 0 or -errno; a failing init stops the daemon's start. */
	int (*init)(struct daemon *d);
	void (*fini)(struct daemon *d);
};

extern const struct op_desc daemon_ops[];
extern const size_t daemon_n_ops;
extern const struct daemon_module daemon_modules[];
extern const size_t daemon_n_modules;

/*
 * Refuse argument @name (from proto_check_args()), which @what ("operation
 * 'disk.open'") does not take: "@what has no argument '@name'@hint", the
 * name quoted only when it is plain printable text. Returns -EINVAL.
 */
int request_unknown_arg(struct request *rq, const char *what,
			const char *name, const char *hint);

/* Set the error text returned to the client (first call wins). */
void request_error(struct request *rq, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Say what kind of failure the request's error is: PROTO_FAILURE_REFUSED
 * for a decision against the caller (its role, a key server refusing the
 * key), PROTO_FAILURE_UNAVAILABLE when no key server could be reached,
 * PROTO_FAILURE_NONE to clear it. The last call wins: each round of
 * talking to the key servers replaces what an earlier one said (a retry
 * that succeeded, a key served from the persisted cache). The response
 * carries it only with the errno it goes with (-EACCES/-EPERM,
 * -EHOSTUNREACH), so that a later failure of another kind in the same
 * request is not reported as one of these.
 */
void request_failure(struct request *rq, enum proto_failure failure);

/*
 * Append @ev to the event log, filling uid/user/op from @rq (NULL: the
 * daemon itself) and "info" as result if none. Failures to write are
 * logged here (they do not change the caller's result). Returns 0 or
 * -errno for callers that must refuse to go on without an audit record.
 */
int request_event(struct daemon *d, const struct request *rq,
		  struct event ev);
#define daemon_event(d, ...) request_event((d), NULL, __VA_ARGS__)

/* Persistence hook accessors (thread-safe). */
void daemon_set_persist(struct daemon *d, struct persist_hook *hook);
struct persist_hook *daemon_get_persist(struct daemon *d);

/* Snapshot of config values, read under cfg_lock. */
int daemon_config_int(struct daemon *d, size_t offset);
#define DAEMON_CFG_INT(d, field) \
	daemon_config_int((d), offsetof(struct config, field))
/* Copy of the TPM TCTI string (caller frees); NULL on ENOMEM. */
char *daemon_config_tcti(struct daemon *d);

/*
 * Argument helpers. Each returns 0, -ENOENT when an optional member is
 * absent (*out untouched), or -EINVAL after request_error() naming the
 * member ("missing argument 'name'", "argument 'count' must be an
 * integer").
 */
int args_string(struct request *rq, struct json_object *args,
		const char *key, bool required, const char **out);
int args_int(struct request *rq, struct json_object *args, const char *key,
	     bool required, long long min, long long max, long long *out);
int args_bool(struct request *rq, struct json_object *args, const char *key,
	      bool *out);

/*
 * Validators with clear errors: a name (provider/VM: 1-64 characters of
 * [A-Za-z0-9._-], not starting with '.' or '-'; VM names may contain
 * spaces too) and an RFC 4122 textual UUID (36 characters, 8-4-4-4-12
 * hex). The rules are lib/names.h, which the state files' parsers share.
 * 0 or -EINVAL after request_error().
 */
int validate_name(struct request *rq, const char *what, const char *s);
int validate_vm_name(struct request *rq, const char *s);
int validate_uuid(struct request *rq, const char *s);

/* The path STATE_DIR/@name (malloc'ed; NULL on ENOMEM). */
char *daemon_state_path(struct daemon *d, const char *name);

/*
 * Write @len bytes to @path atomically (lib/atomicfile.h): temp file
 * (mode @mode) in the same directory, fsync, rename, fsync of the
 * directory. 0 or -errno.
 */
int daemon_write_file(const char *path, const void *buf, size_t len,
		      mode_t mode);

#endif
