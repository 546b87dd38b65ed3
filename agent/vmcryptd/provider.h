/* SPDX-License-Identifier: GPL-2.0 */
/*
 * provider.h - key providers: the interface a provider type implements and
 * the registry of configured providers.
 *
 * A provider type ("kmip" in provider_kmip.c, "native" in
 * provider_native.c) is a const struct provider_ops listed in
 * provider_types[] in ops.c. The registry holds named instances, persisted
 * in STATE_DIR/providers.json (0600, written atomically):
 *
 *   {"version": 1, "default": "NAME",
 *    "providers": [{"name": "NAME", "type": "kmip", "config": {...}}]}
 *
 * where "config" is what the type's to_json() wrote. The first provider
 * added becomes the default.
 *
 * Lookups return a counted reference (provider_put() releases it) so a
 * provider removed while a request uses it stays valid until that request
 * is done. The registry lock is never held while a provider method runs.
 * Methods may run in parallel on one provider: they do their own locking.
 */
#ifndef VMCRYPTD_PROVIDER_H
#define VMCRYPTD_PROVIDER_H

#include <stdbool.h>

#include "lib/secmem.h"
#include "vmcryptd/daemon.h"

struct json_object;
struct provider;

#define PROVIDER_NAME_MAX 64

/* What a KEK is created for. */
struct vm_binding {
	const char *vm_name;
	const char *vm_uuid;
};

struct provider_ops {
	const char *type;	/* "kmip", "native" */

	/*
	 * provider.add: build a new instance named @name from the request's
	 * @args (the type's own members, e.g. "servers", "ca", "cert", "key"
	 * for kmip), validating everything; on failure request_error() and
	 * -errno, nothing created. May create files in the state dir.
	 */
	int (*create)(struct daemon *d, struct request *rq, const char *name,
		      struct json_object *args, struct provider **out);
	/* The members of @args create() takes (NULL-terminated). */
	const char *const *create_args;
	/* Rebuild an instance from its persisted @conf at start. */
	int (*from_json)(struct daemon *d, const char *name,
			 struct json_object *conf, struct provider **out);
	/* Write the instance's persistent configuration into @conf. */
	int (*to_json)(struct provider *p, struct json_object *conf);
	/* Public description for list/show (no secrets) into @out. */
	int (*describe)(struct provider *p, struct json_object *out);

	/*
	 * Create (and activate) a new 256-bit KEK for @vm: *@kek_id
	 * (malloc'ed) and the key bytes in @kek. Records its own events
	 * (server failover etc.); the caller records "key.created".
	 */
	int (*create_kek)(struct provider *p, struct daemon *d,
			  struct request *rq, const struct vm_binding *vm,
			  char **kek_id, struct secbuf *kek);
	/*
	 * Fetch KEK @kek_id into @kek. -ENOENT when the provider says it does
	 * not exist; a transport error (-ECONNREFUSED, -ETIMEDOUT, ...) when
	 * no server could be reached; request_error() set either way.
	 */
	int (*get_kek)(struct provider *p, struct daemon *d, struct request *rq,
		       const char *kek_id, struct secbuf *kek);
	/* The key's attributes as the provider reports them (no key bytes). */
	int (*show_kek)(struct provider *p, struct daemon *d,
			struct request *rq, const char *kek_id,
			struct json_object *attrs);
	/*
	 * Check each server/backend; fill @report ({"servers": [...]} for
	 * kmip). 0 when at least one works, else -errno.
	 */
	int (*test)(struct provider *p, struct daemon *d, struct request *rq,
		    struct json_object *report);
	/* provider.remove: delete files the type owns. May be NULL. */
	int (*remove)(struct provider *p, struct daemon *d);
	/*
	 * At start, once the registry is loaded: wipe or set aside what an
	 * add or remove cut short (vmcryptd killed) left in the type's
	 * state. May be NULL.
	 */
	void (*sweep)(struct daemon *d);
	/* Release the instance (called at the last provider_put()). */
	void (*free)(struct provider *p);
};

struct provider {
	const struct provider_ops *ops;
	char name[PROVIDER_NAME_MAX + 1];
	void *priv;		/* the type's state */
	int refs;		/* registry-managed */
};

/* Provider types, listed in ops.c. */
extern const struct provider_ops *const provider_types[];
extern const size_t provider_n_types;

/* Allocate a provider shell of @ops named @name (refs 1). */
struct provider *provider_alloc(const struct provider_ops *ops,
				const char *name, void *priv);

/* Load STATE_DIR/providers.json (absent: empty). 0 or -errno (logged). */
int provider_registry_load(struct daemon *d);
void provider_registry_free(struct daemon *d);

/*
 * A counted reference to provider @name, or to the default when @name is
 * NULL or "". -ENOENT with request_error() when there is none.
 */
int provider_get(struct daemon *d, struct request *rq, const char *name,
		 struct provider **out);
void provider_put(struct provider *p);

/*
 * Whether @p is (still) the provider registered under its name: false once
 * it was removed, even if another one took the name since.
 */
bool provider_is_registered(struct daemon *d, const struct provider *p);

/* Whether a provider named @name is registered now. */
bool provider_exists(struct daemon *d, const char *name);

/* Names of all providers and the default (for other modules). */
int provider_list_names(struct daemon *d, struct json_object **names,
			char **default_name);

#endif
