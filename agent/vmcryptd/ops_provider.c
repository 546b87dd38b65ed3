// SPDX-License-Identifier: GPL-2.0
/*
 * ops_provider.c - provider.add/list/show/test/set-default/remove. The
 * type-specific part of "add" (arguments, validation) is the type's
 * create(); everything here is generic over provider types.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "vmcryptd/keys.h"
#include "vmcryptd/ops.h"
#include "vmcryptd/registry.h"

int op_provider_add(struct daemon *d, struct request *rq,
		    struct json_object *args, struct json_object *result)
{
	const struct provider_ops *ops;
	const char *name, *type, *bad;
	struct provider *p = NULL;
	bool made_default;
	int r;

	r = args_string(rq, args, "name", true, &name);
	if (r < 0)
		return r;
	r = validate_name(rq, "provider name", name);
	if (r < 0)
		return r;
	r = args_string(rq, args, "type", true, &type);
	if (r < 0)
		return r;
	ops = provider_type(type);
	if (!ops) {
		request_error(rq, "unknown provider type '%s'", type);
		return -EINVAL;
	}
	if (proto_check_args(args, (const char *const[]){ "name", "type", NULL },
			     ops->create_args, &bad) < 0) {
		char what[64];

		snprintf(what, sizeof(what), "a provider of type '%s'", ops->type);
		return request_unknown_arg(rq, what, bad, "");
	}
	/* Cheap early check; registry_add() checks again under its lock. */
	if (provider_get(d, NULL, name, &p) == 0) {
		provider_put(p);
		request_error(rq, "a provider named '%s' already exists", name);
		return -EEXIST;
	}
	r = ops->create(d, rq, name, args, &p);
	if (r < 0) {
		request_event(d, rq, (struct event){ .event = "provider.add_failed",
			      .provider = name, .result = "error", .error = rq->error });
		return r;
	}
	r = registry_add(d, rq, p, &made_default);
	if (r < 0) {
		if (p->ops->remove)
			p->ops->remove(p, d);
		provider_put(p);
		request_event(d, rq, (struct event){ .event = "provider.add_failed",
			      .provider = name, .result = "error", .error = rq->error });
		return r;
	}
	request_event(d, rq, (struct event){ .event = "provider.added",
		      .provider = name, .result = "ok", .detail = type });
	if (made_default)
		request_event(d, rq, (struct event){ .event = "provider.default",
			      .provider = name, .result = "ok",
			      .detail = "first provider added" });
	json_object_object_add(result, "name", json_object_new_string(name));
	json_object_object_add(result, "type", json_object_new_string(type));
	json_object_object_add(result, "default", json_object_new_boolean(made_default));
	provider_put(p);
	return 0;
}

static int describe(struct provider *p, const char *def, struct json_object **out)
{
	struct json_object *o = json_object_new_object();
	int r;

	if (!o)
		return -ENOMEM;
	json_object_object_add(o, "name", json_object_new_string(p->name));
	json_object_object_add(o, "type", json_object_new_string(p->ops->type));
	json_object_object_add(o, "default", json_object_new_boolean(!strcmp(p->name, def)));
	r = p->ops->describe(p, o);
	if (r < 0) {
		json_object_put(o);
		return r;
	}
	*out = o;
	return 0;
}

int op_provider_list(struct daemon *d, struct request *rq,
		     struct json_object *args, struct json_object *result)
{
	struct json_object *arr = json_object_new_array();
	char def[PROVIDER_NAME_MAX + 1];
	struct provider **list;
	size_t i, n;
	int r;

	if (!arr)
		return -ENOMEM;
	r = registry_snapshot(d, &list, &n, def, sizeof(def));
	if (r < 0) {
		json_object_put(arr);
		return r;
	}
	for (i = 0; i < n; i++) {
		struct json_object *o;

		if (r == 0) {
			r = describe(list[i], def, &o);
			if (r == 0)
				json_object_array_add(arr, o);
		}
		provider_put(list[i]);
	}
	free(list);
	if (r < 0) {
		json_object_put(arr);
		return r;
	}
	json_object_object_add(result, "providers", arr);
	json_object_object_add(result, "default", def[0] ?
			       json_object_new_string(def) : NULL);
	return 0;
}

int op_provider_show(struct daemon *d, struct request *rq,
		     struct json_object *args, struct json_object *result)
{
	char def[PROVIDER_NAME_MAX + 1];
	struct json_object *o, *names;
	struct provider *p;
	char *defname;
	const char *name;
	int r;

	r = args_string(rq, args, "name", true, &name);
	if (r < 0)
		return r;
	r = provider_get(d, rq, name, &p);
	if (r < 0)
		return r;
	r = provider_list_names(d, &names, &defname);
	if (r < 0) {
		provider_put(p);
		return r;
	}
	json_object_put(names);
	snprintf(def, sizeof(def), "%s", defname);
	free(defname);
	r = describe(p, def, &o);
	provider_put(p);
	if (r < 0)
		return r;
	json_object_object_add(result, "provider", o);
	return 0;
}

int op_provider_test(struct daemon *d, struct request *rq,
		     struct json_object *args, struct json_object *result)
{
	struct provider *p;
	const char *name;
	int r;

	r = args_string(rq, args, "name", true, &name);
	if (r < 0)
		return r;
	r = provider_get(d, rq, name, &p);
	if (r < 0)
		return r;
	r = p->ops->test(p, d, rq, result);
	request_event(d, rq, (struct event){ .event = "provider.tested",
		      .provider = p->name, .result = r < 0 ? "error" : "ok",
		      .error = r < 0 ? rq->error : NULL });
	provider_put(p);
	/* The per-server report is the answer even when all failed. */
	json_object_object_add(result, "ok", json_object_new_boolean(r == 0));
	return 0;
}

int op_provider_set_default(struct daemon *d, struct request *rq,
			    struct json_object *args, struct json_object *result)
{
	const char *name;
	int r;

	r = args_string(rq, args, "name", true, &name);
	if (r < 0)
		return r;
	r = registry_set_default(d, rq, name);
	if (r < 0)
		return r;
	request_event(d, rq, (struct event){ .event = "provider.default",
		      .provider = name, .result = "ok" });
	json_object_object_add(result, "default", json_object_new_string(name));
	return 0;
}

int op_provider_remove(struct daemon *d, struct request *rq,
		       struct json_object *args, struct json_object *result)
{
	struct persist_hook *h;
	struct provider *p;
	char *newdef = NULL, left[512] = "";
	const char *name;
	int r, n = 0;

	r = args_string(rq, args, "name", true, &name);
	if (r < 0)
		return r;
	r = registry_remove(d, rq, name, &p, &newdef);
	if (r < 0)
		return r;
	keys_forget_provider(d, p->name);
	h = daemon_get_persist(d);
	if (h && h->forget_provider) {
		r = h->forget_provider(d, p->name);
		if (r < 0)
			n += snprintf(left + n, sizeof(left) - n, "its KEKs could not "
				      "be erased from the persisted key cache (%s; "
				      "vmcryptd erases them when it next loads the "
				      "cache)", strerror(-r));
	}
	if (p->ops->remove) {
		r = p->ops->remove(p, d);
		if (r < 0 && n < (int)sizeof(left))
			snprintf(left + n, sizeof(left) - n, "%sits key files could "
				 "not be removed (%s; the vmcryptd log names them)",
				 n ? "; and " : "", strerror(-r));
	}
	if (left[0]) {
		/* Removed from the registry all the same: report what is left. */
		request_error(rq, "provider '%s' was removed, but %s%s%s", name, left,
			      newdef ? "; the default provider is now " : "",
			      newdef ? newdef : "");
		r = -EIO;
	} else {
		r = 0;
	}
	request_event(d, rq, (struct event){ .event = "provider.removed",
		      .provider = name, .result = r ? "error" : "ok",
		      .error = r ? rq->error : NULL });
	if (newdef)
		request_event(d, rq, (struct event){ .event = "provider.default",
			      .provider = newdef, .result = "ok",
			      .detail = "previous default removed" });
	json_object_object_add(result, "removed", json_object_new_string(name));
	json_object_object_add(result, "default", newdef ?
			       json_object_new_string(newdef) : NULL);
	free(newdef);
	provider_put(p);
	return r;
}
