/* SPDX-License-Identifier: GPL-2.0 */
/*
 * registry.h - changes to the provider registry (provider.c), used by the
 * provider.* op handlers. Each change is written to providers.json before
 * it takes effect in memory for others; a failed write changes nothing.
 */
#ifndef VMCRYPTD_REGISTRY_H
#define VMCRYPTD_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>

#include "vmcryptd/provider.h"

/* The provider type named @type, or NULL. */
const struct provider_ops *provider_type(const char *type);

/* Add @p (the registry takes its own reference). -EEXIST if the name is used. */
int registry_add(struct daemon *d, struct request *rq, struct provider *p,
		 bool *made_default);
/* Remove @name; *@removed gets the registry's reference (put it). */
int registry_remove(struct daemon *d, struct request *rq, const char *name,
		    struct provider **removed, char **new_default);
int registry_set_default(struct daemon *d, struct request *rq, const char *name);
/* References to every provider (put each, free the array). */
int registry_snapshot(struct daemon *d, struct provider ***list, size_t *n,
		      char *default_name, size_t deflen);
/* Rewrite providers.json (e.g. after a provider changed its config). */
int registry_save(struct daemon *d);

#endif
