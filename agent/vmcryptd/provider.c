// SPDX-License-Identifier: GPL-2.0
/*
 * provider.c - the registry of configured key providers: load/save of
 * STATE_DIR/providers.json, counted references, add/remove/default. The
 * registry mutex guards the list only; provider methods run unlocked.
 */
#include "vmcryptd/provider.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "lib/log.h"
#include "lib/names.h"
#include "vmcryptd/registry.h"

#define MAX_PROVIDERS 64

struct provider_registry {
	pthread_mutex_t lock;		/* list, default, refs */
	pthread_mutex_t write_lock;	/* serialises changes + file writes */
	struct provider *list[MAX_PROVIDERS];
	size_t n;
	char default_name[PROVIDER_NAME_MAX + 1];
};

struct provider *provider_alloc(const struct provider_ops *ops,
				const char *name, void *priv)
{
	struct provider *p;

	if (strlen(name) > PROVIDER_NAME_MAX)
		return NULL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->ops = ops;
	snprintf(p->name, sizeof(p->name), "%s", name);
	p->priv = priv;
	p->refs = 1;
	return p;
}

static pthread_mutex_t refs_lock = PTHREAD_MUTEX_INITIALIZER;

static void provider_ref(struct provider *p)
{
	pthread_mutex_lock(&refs_lock);
	p->refs++;
	pthread_mutex_unlock(&refs_lock);
}

void provider_put(struct provider *p)
{
	int last;

	if (!p)
		return;
	pthread_mutex_lock(&refs_lock);
	last = --p->refs == 0;
	pthread_mutex_unlock(&refs_lock);
	if (last)
		p->ops->free(p);
}

const struct provider_ops *provider_type(const char *type)
{
	size_t i;

	for (i = 0; i < provider_n_types; i++)
		if (!strcmp(provider_types[i]->type, type))
			return provider_types[i];
	return NULL;
}

static ssize_t find(struct provider_registry *reg, const char *name)
{
	size_t i;

	for (i = 0; i < reg->n; i++)
		if (!strcmp(reg->list[i]->name, name))
			return (ssize_t)i;
	return -1;
}

/*
 * Serialise the registry as it will be after a change and write it
 * (caller holds write_lock): @extra appended, the provider named @skip
 * left out, @def as the default (NULL: the current one). Memory is only
 * changed once this succeeded, so nobody sees a change that is not on disk.
 */
static int save(struct daemon *d, struct provider *extra, const char *skip,
		const char *def)
{
	struct provider_registry *reg = d->providers;
	struct json_object *root, *arr;
	char *path = NULL;
	const char *s;
	size_t i, len;
	int r = 0;

	root = json_object_new_object();
	arr = json_object_new_array();
	if (!root || !arr) {
		json_object_put(root);
		json_object_put(arr);
		return -ENOMEM;
	}
	json_object_object_add(root, "version", json_object_new_int(1));
	pthread_mutex_lock(&reg->lock);
	if (!def)
		def = reg->default_name;
	if (def[0])
		json_object_object_add(root, "default", json_object_new_string(def));
	for (i = 0; i <= reg->n && r == 0; i++) {
		struct provider *p = i < reg->n ? reg->list[i] : extra;
		struct json_object *e, *conf;

		if (!p || (skip && !strcmp(p->name, skip)))
			continue;
		e = json_object_new_object();
		conf = json_object_new_object();
		if (!e || !conf) {
			json_object_put(e);
			json_object_put(conf);
			r = -ENOMEM;
			break;
		}
		json_object_object_add(e, "name", json_object_new_string(p->name));
		json_object_object_add(e, "type", json_object_new_string(p->ops->type));
		r = p->ops->to_json(p, conf);
		json_object_object_add(e, "config", conf);
		json_object_array_add(arr, e);
	}
	pthread_mutex_unlock(&reg->lock);
	json_object_object_add(root, "providers", arr);
	if (r == 0) {
		s = json_object_to_json_string_length(root, JSON_C_TO_STRING_PRETTY |
						      JSON_C_TO_STRING_NOSLASHESCAPE, &len);
		path = daemon_state_path(d, "providers.json");
		r = (s && path) ? daemon_write_file(path, s, len, 0600) : -ENOMEM;
	}
	free(path);
	json_object_put(root);
	return r;
}

int provider_registry_load(struct daemon *d)
{
	struct provider_registry *reg;
	struct json_object *root = NULL, *arr, *def, *v;
	char *path;
	size_t i, n;
	int r = 0;

	reg = calloc(1, sizeof(*reg));
	if (!reg)
		return -ENOMEM;
	pthread_mutex_init(&reg->lock, NULL);
	pthread_mutex_init(&reg->write_lock, NULL);
	d->providers = reg;

	path = daemon_state_path(d, "providers.json");
	if (!path)
		return -ENOMEM;
	if (access(path, F_OK) < 0 && errno == ENOENT)
		goto out;
	root = json_object_from_file(path);
	if (!root || !json_object_is_type(root, json_type_object) ||
	    !json_object_object_get_ex(root, "version", &v) ||
	    json_object_get_int(v) != 1 ||
	    !json_object_object_get_ex(root, "providers", &arr) ||
	    !json_object_is_type(arr, json_type_array)) {
		log_err("%s: not a valid providers file (version 1)", path);
		r = -EINVAL;
		goto out;
	}
	n = json_object_array_length(arr);
	if (n > MAX_PROVIDERS) {
		/* Never load part of it: the next save would drop the rest. */
		log_err("%s: %zu providers, more than the limit of %d", path, n,
			MAX_PROVIDERS);
		r = -EINVAL;
		goto out;
	}
	for (i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(arr, i);
		struct json_object *jn, *jt, *jc;
		const struct provider_ops *ops;
		struct provider *p = NULL;
		const char *name;

		if (!json_object_object_get_ex(e, "name", &jn) ||
		    !json_object_object_get_ex(e, "type", &jt) ||
		    !json_object_object_get_ex(e, "config", &jc) ||
		    !json_object_is_type(jn, json_type_string) ||
		    !json_object_is_type(jt, json_type_string)) {
			log_err("%s: provider entry %zu is malformed", path, i);
			r = -EINVAL;
			goto out;
		}
		name = json_object_get_string(jn);
		/* The name becomes a path (native/NAME) and reaches terminals. */
		if (!names_provider_ok(name) || find(reg, name) >= 0) {
			/* Not quoted: a damaged file may hold terminal escapes. */
			log_err("%s: provider entry %zu: %s", path, i,
				!names_provider_ok(name) ?
				"the name is not a valid provider name (" NAMES_PROVIDER_RULE ")" :
				"the name is listed twice");
			r = -EINVAL;
			goto out;
		}
		ops = provider_type(json_object_get_string(jt));
		if (!ops) {
			log_err("%s: provider '%s' has unknown type '%s'", path,
				name, json_object_get_string(jt));
			r = -EINVAL;
			goto out;
		}
		r = ops->from_json(d, name, jc, &p);
		if (r < 0) {
			log_err("%s: cannot load provider '%s': %s", path, name,
				strerror(-r));
			goto out;
		}
		reg->list[reg->n++] = p;
	}
	if (json_object_object_get_ex(root, "default", &def) &&
	    json_object_is_type(def, json_type_string) &&
	    json_object_get_string(def)[0]) {
		if (find(reg, json_object_get_string(def)) < 0) {
			log_err("%s: the default provider is not one of the providers",
				path);
			r = -EINVAL;
			goto out;
		}
		snprintf(reg->default_name, sizeof(reg->default_name), "%s",
			 json_object_get_string(def));
	}
	log_info("%zu provider(s) loaded, default '%s'", reg->n, reg->default_name);
out:
	/* Knowing the providers, each type sweeps what is nobody's. */
	for (i = 0; r == 0 && i < provider_n_types; i++)
		if (provider_types[i]->sweep)
			provider_types[i]->sweep(d);
	json_object_put(root);
	free(path);
	return r;
}

void provider_registry_free(struct daemon *d)
{
	struct provider_registry *reg = d->providers;
	size_t i;

	if (!reg)
		return;
	for (i = 0; i < reg->n; i++)
		provider_put(reg->list[i]);
	pthread_mutex_destroy(&reg->lock);
	pthread_mutex_destroy(&reg->write_lock);
	free(reg);
	d->providers = NULL;
}

int provider_get(struct daemon *d, struct request *rq, const char *name,
		 struct provider **out)
{
	struct provider_registry *reg = d->providers;
	ssize_t i;

	*out = NULL;
	pthread_mutex_lock(&reg->lock);
	if (!name || !*name) {
		if (!reg->default_name[0]) {
			pthread_mutex_unlock(&reg->lock);
			request_error(rq, "no key provider is configured; add one with 'vmcryptctl provider add'");
			return -ENOENT;
		}
		name = reg->default_name;
	}
	i = find(reg, name);
	if (i < 0) {
		pthread_mutex_unlock(&reg->lock);
		request_error(rq, "no provider named '%s'", name);
		return -ENOENT;
	}
	*out = reg->list[i];
	provider_ref(*out);
	pthread_mutex_unlock(&reg->lock);
	return 0;
}

bool provider_is_registered(struct daemon *d, const struct provider *p)
{
	struct provider_registry *reg = d->providers;
	bool same;
	ssize_t i;

	pthread_mutex_lock(&reg->lock);
	i = find(reg, p->name);
	same = i >= 0 && reg->list[i] == p;
	pthread_mutex_unlock(&reg->lock);
	return same;
}

bool provider_exists(struct daemon *d, const char *name)
{
	struct provider_registry *reg = d->providers;
	bool found;

	pthread_mutex_lock(&reg->lock);
	found = find(reg, name) >= 0;
	pthread_mutex_unlock(&reg->lock);
	return found;
}

int provider_list_names(struct daemon *d, struct json_object **names,
			char **default_name)
{
	struct provider_registry *reg = d->providers;
	struct json_object *a = json_object_new_array(), *s;
	size_t i;
	int r = 0;

	if (!a)
		return -ENOMEM;
	pthread_mutex_lock(&reg->lock);
	/* Never a short list: a caller may erase what it does not name. */
	for (i = 0; i < reg->n && r == 0; i++) {
		s = json_object_new_string(reg->list[i]->name);
		if (!s || json_object_array_add(a, s) < 0) {
			json_object_put(s);
			r = -ENOMEM;
		}
	}
	*default_name = r ? NULL : strdup(reg->default_name);
	pthread_mutex_unlock(&reg->lock);
	if (!*default_name) {
		json_object_put(a);
		return -ENOMEM;
	}
	*names = a;
	return 0;
}

int registry_add(struct daemon *d, struct request *rq, struct provider *p,
		 bool *made_default)
{
	struct provider_registry *reg = d->providers;
	char newdef[PROVIDER_NAME_MAX + 1];
	int r;

	*made_default = false;
	pthread_mutex_lock(&reg->write_lock);
	pthread_mutex_lock(&reg->lock);
	if (find(reg, p->name) >= 0) {
		pthread_mutex_unlock(&reg->lock);
		pthread_mutex_unlock(&reg->write_lock);
		request_error(rq, "a provider named '%s' already exists", p->name);
		return -EEXIST;
	}
	if (reg->n == MAX_PROVIDERS) {
		pthread_mutex_unlock(&reg->lock);
		pthread_mutex_unlock(&reg->write_lock);
		request_error(rq, "too many providers (limit %d)", MAX_PROVIDERS);
		return -ENOSPC;
	}
	/* The first provider added becomes the default. */
	snprintf(newdef, sizeof(newdef), "%s",
		 reg->default_name[0] ? reg->default_name : p->name);
	pthread_mutex_unlock(&reg->lock);
	r = save(d, p, NULL, newdef);
	if (r < 0) {
		request_error(rq, "cannot save providers.json: %s", strerror(-r));
	} else {
		/* write_lock held: nothing changed the list meanwhile. */
		pthread_mutex_lock(&reg->lock);
		provider_ref(p);
		reg->list[reg->n++] = p;
		*made_default = !reg->default_name[0];
		memcpy(reg->default_name, newdef, sizeof(newdef));
		pthread_mutex_unlock(&reg->lock);
	}
	pthread_mutex_unlock(&reg->write_lock);
	return r;
}

int registry_remove(struct daemon *d, struct request *rq, const char *name,
		    struct provider **removed, char **new_default)
{
	struct provider_registry *reg = d->providers;
	char newdef[PROVIDER_NAME_MAX + 1];
	bool was_default;
	struct provider *p;
	ssize_t i;
	size_t j;
	int r;

	*removed = NULL;
	*new_default = NULL;
	pthread_mutex_lock(&reg->write_lock);
	pthread_mutex_lock(&reg->lock);
	i = find(reg, name);
	if (i < 0) {
		pthread_mutex_unlock(&reg->lock);
		pthread_mutex_unlock(&reg->write_lock);
		request_error(rq, "no provider named '%s'", name);
		return -ENOENT;
	}
	was_default = !strcmp(reg->default_name, name);
	memcpy(newdef, reg->default_name, sizeof(newdef));
	if (was_default) {
		/* The next provider in line becomes the default, if any. */
		newdef[0] = '\0';
		for (j = 0; j < reg->n; j++) {
			if ((ssize_t)j != i) {
				snprintf(newdef, sizeof(newdef), "%s",
					 reg->list[j]->name);
				break;
			}
		}
	}
	pthread_mutex_unlock(&reg->lock);
	r = save(d, NULL, name, newdef);
	if (r < 0) {
		request_error(rq, "cannot save providers.json: %s", strerror(-r));
		pthread_mutex_unlock(&reg->write_lock);
		return r;
	}
	if (was_default && newdef[0])
		*new_default = strdup(newdef);	/* NULL: not reported, still done */
	/* write_lock held: index @i is still the provider's. */
	pthread_mutex_lock(&reg->lock);
	p = reg->list[i];
	memmove(&reg->list[i], &reg->list[i + 1],
		(reg->n - (size_t)i - 1) * sizeof(reg->list[0]));
	reg->n--;
	memcpy(reg->default_name, newdef, sizeof(newdef));
	pthread_mutex_unlock(&reg->lock);
	*removed = p;	/* the registry's reference goes to the caller */
	pthread_mutex_unlock(&reg->write_lock);
	return 0;
}

int registry_set_default(struct daemon *d, struct request *rq, const char *name)
{
	struct provider_registry *reg = d->providers;
	int r;

	pthread_mutex_lock(&reg->write_lock);
	pthread_mutex_lock(&reg->lock);
	if (find(reg, name) < 0) {
		pthread_mutex_unlock(&reg->lock);
		pthread_mutex_unlock(&reg->write_lock);
		request_error(rq, "no provider named '%s'", name);
		return -ENOENT;
	}
	pthread_mutex_unlock(&reg->lock);
	r = save(d, NULL, NULL, name);
	if (r < 0) {
		request_error(rq, "cannot save providers.json: %s", strerror(-r));
	} else {
		pthread_mutex_lock(&reg->lock);
		snprintf(reg->default_name, sizeof(reg->default_name), "%s", name);
		pthread_mutex_unlock(&reg->lock);
	}
	pthread_mutex_unlock(&reg->write_lock);
	return r;
}

int registry_snapshot(struct daemon *d, struct provider ***list, size_t *n,
		      char *default_name, size_t deflen)
{
	struct provider_registry *reg = d->providers;
	size_t i;

	pthread_mutex_lock(&reg->lock);
	*list = calloc(reg->n + 1, sizeof(**list));
	if (!*list) {
		pthread_mutex_unlock(&reg->lock);
		return -ENOMEM;
	}
	for (i = 0; i < reg->n; i++) {
		(*list)[i] = reg->list[i];
		provider_ref(reg->list[i]);
	}
	*n = reg->n;
	snprintf(default_name, deflen, "%s", reg->default_name);
	pthread_mutex_unlock(&reg->lock);
	return 0;
}

int registry_save(struct daemon *d)
{
	int r;

	pthread_mutex_lock(&d->providers->write_lock);
	r = save(d, NULL, NULL, NULL);
	pthread_mutex_unlock(&d->providers->write_lock);
	return r;
}
