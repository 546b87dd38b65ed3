// SPDX-License-Identifier: GPL-2.0
/*
 * keys.c - KEK lookup (memory cache, provider, persisted cache), the VM ->
 * KEK map (STATE_DIR/vms.json; its codec is lib/vmmap.c) and creation of
 * a VM's KEK. See keys.h.
 *
 * Locking: ks->lock guards the cache and the map and is never held across
 * provider calls or file writes (it may take the registry's lock inside,
 * never the other way round); ks->write_lock orders changes of the map and
 * their writes to vms.json. Creation of a VM's KEK is serialised per VM
 * UUID (an in-flight list), so two disks of one new VM formatted at once
 * share one KEK while other VMs proceed in parallel.
 */
#include "vmcryptd/keys.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "lib/atomicfile.h"
#include "lib/log.h"
#include "lib/vmmap.h"
#include "vmcryptd/provider.h"

struct kek_entry {
	struct kek_entry *next;
	char *provider;
	char *kek_id;
	struct secbuf kek;
};

struct inflight {
	struct inflight *next;
	char uuid[37];
};

struct keystore {
	pthread_mutex_t write_lock;	/* serialises map changes + vms.json writes */
	pthread_mutex_t lock;		/* memory only, never held across I/O */
	pthread_cond_t cond;
	struct kek_entry *cache;
	struct vmmap map;		/* the VM -> KEK map, as in vms.json */
	struct inflight *busy;
	char *map_path;
};

static void kek_entry_free(struct kek_entry *e)
{
	secbuf_free(&e->kek);
	free(e->provider);
	free(e->kek_id);
	free(e);
}

/* Caller holds ks->lock. */
static struct kek_entry *cache_find(struct keystore *ks, const char *prov,
				    const char *id)
{
	struct kek_entry *e;

	for (e = ks->cache; e; e = e->next)
		if (!strcmp(e->provider, prov) && !strcmp(e->kek_id, id))
			return e;
	return NULL;
}

/*
 * Cache @kek as (@p's name, @id) unless @p was removed meanwhile: its
 * keys_forget_provider() may already have run, and a later provider of the
 * same name (another KMS, whose ids may coincide) must not find this KEK.
 * The check is made under ks->lock, which keys_forget_provider() takes
 * after the registry dropped @p, so one of the two always wins cleanly.
 */
static int cache_put(struct daemon *d, struct keystore *ks,
		     const struct provider *p, const char *id,
		     const struct secbuf *kek)
{
	struct kek_entry *e = calloc(1, sizeof(*e));
	const char *prov = p->name;
	int r;

	if (!e)
		return -ENOMEM;
	e->provider = strdup(prov);
	e->kek_id = strdup(id);
	r = secbuf_dup(&e->kek, kek->data, kek->len);
	if (!e->provider || !e->kek_id || r < 0) {
		kek_entry_free(e);
		return r < 0 ? r : -ENOMEM;
	}
	pthread_mutex_lock(&ks->lock);
	if (cache_find(ks, prov, id) || !provider_is_registered(d, p)) {
		pthread_mutex_unlock(&ks->lock);
		kek_entry_free(e);
		return 0;
	}
	e->next = ks->cache;
	ks->cache = e;
	pthread_mutex_unlock(&ks->lock);
	return 0;
}

static int cache_get(struct keystore *ks, const char *prov, const char *id,
		     struct secbuf *out)
{
	struct kek_entry *e;
	int r = -ENOENT;

	pthread_mutex_lock(&ks->lock);
	e = cache_find(ks, prov, id);
	if (e)
		r = secbuf_dup(out, e->kek.data, e->kek.len);
	pthread_mutex_unlock(&ks->lock);
	return r;
}

/* Add @kek to the persisted cache, if on: 0, -ENOENT when off, or -errno. */
static int persist_store(struct daemon *d, struct request *rq,
			 const char *prov, const char *id,
			 const struct secbuf *kek)
{
	struct persist_hook *h = daemon_get_persist(d);
	char err[256];
	int r;

	if (!h || !h->store)
		return -ENOENT;
	r = h->store(d, prov, id, kek);
	if (r < 0) {
		snprintf(err, sizeof(err), "cannot add the key to the persisted cache: %s",
			 strerror(-r));
		request_event(d, rq, (struct event){ .event = "persist.store_failed",
			      .provider = prov, .key_id = id, .result = "error",
			      .error = err });
	}
	return r;
}

static void now_rfc3339(char *buf, size_t len)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	eventlog_timestamp(&ts, buf, len);
}

/* Serialise the map into *@out (caller holds ks->lock; no I/O here). */
static int map_serialize(struct keystore *ks, char **out, char *why,
			 size_t whylen)
{
	return vmmap_format(&ks->map, out, why, whylen);
}

/* Write a serialised map (caller holds ks->write_lock, not ks->lock). */
static int map_write(struct keystore *ks, char *text, int r)
{
	if (r == 0)
		r = daemon_write_file(ks->map_path, text, strlen(text), 0600);
	free(text);
	return r;
}

/*
 * Load vms.json. A map that cannot be read or parsed whole stops the
 * start (the caller gives up): running on without it would forget which
 * KEK each VM has, and the next write would make that permanent.
 */
int keys_init(struct daemon *d)
{
	struct keystore *ks = calloc(1, sizeof(*ks));
	uint8_t *text = NULL;
	char why[512];
	size_t len;
	int r;

	if (!ks)
		return -ENOMEM;
	pthread_mutex_init(&ks->write_lock, NULL);
	pthread_mutex_init(&ks->lock, NULL);
	pthread_cond_init(&ks->cond, NULL);
	d->keys = ks;
	ks->map_path = daemon_state_path(d, "vms.json");
	if (!ks->map_path)
		return -ENOMEM;
	r = atomicfile_read(ks->map_path, VMMAP_MAX_BYTES, &text, &len);
	if (r == -ENOENT)
		return 0;
	if (r == -EFBIG) {
		log_err("%s: not a valid VM map: larger than %u MiB",
			ks->map_path, VMMAP_MAX_BYTES >> 20);
		return r;
	}
	if (r < 0) {
		log_err("cannot read the VM map %s: %s", ks->map_path,
			r == -EINVAL ? "not a regular file" : strerror(-r));
		return r;
	}
	r = vmmap_parse((const char *)text, len, &ks->map, why, sizeof(why));
	free(text);
	if (r == -EINVAL)
		log_err("%s: not a valid VM map: %s", ks->map_path, why);
	else if (r < 0)
		log_err("cannot load the VM map %s: %s", ks->map_path, strerror(-r));
	else
		log_info("%zu VM(s) in the VM map", ks->map.n);
	return r;
}

void keys_free(struct daemon *d)
{
	struct keystore *ks = d->keys;

	if (!ks)
		return;
	while (ks->cache) {
		struct kek_entry *e = ks->cache;

		ks->cache = e->next;
		kek_entry_free(e);
	}
	vmmap_free(&ks->map);
	free(ks->map_path);
	pthread_mutex_destroy(&ks->write_lock);
	pthread_mutex_destroy(&ks->lock);
	pthread_cond_destroy(&ks->cond);
	free(ks);
	d->keys = NULL;
}

void keys_forget_provider(struct daemon *d, const char *provider)
{
	struct keystore *ks = d->keys;
	struct kek_entry **pp = &ks->cache;

	pthread_mutex_lock(&ks->lock);
	while (*pp) {
		struct kek_entry *e = *pp;

		if (!strcmp(e->provider, provider)) {
			*pp = e->next;
			kek_entry_free(e);
		} else {
			pp = &e->next;
		}
	}
	pthread_mutex_unlock(&ks->lock);
}

int keys_get_kek(struct daemon *d, struct request *rq, const char *provider,
		 const char *kek_id, struct secbuf *out)
{
	struct keystore *ks = d->keys;
	struct persist_hook *h;
	struct provider *p;
	char perr[sizeof(rq->error)];
	int r, pr;

	out->data = NULL;
	out->len = 0;
	r = provider_get(d, rq, provider, &p);
	if (r < 0)
		return r;
	if (cache_get(ks, p->name, kek_id, out) == 0)
		goto done;

	r = p->ops->get_kek(p, d, rq, kek_id, out);
	if (r == 0) {
		request_event(d, rq, (struct event){ .event = "key.fetched",
			      .provider = p->name, .key_id = kek_id, .result = "ok" });
		(void)cache_put(d, ks, p, kek_id, out);
		(void)persist_store(d, rq, p->name, kek_id, out);
		goto done;
	}
	if (!rq->error[0])
		request_error(rq, "cannot get key %s from provider %s: %s",
			      kek_id, p->name, strerror(-r));
	if (r == -ENOENT) {
		request_event(d, rq, (struct event){ .event = "key.missing",
			      .provider = p->name, .key_id = kek_id,
			      .result = "error", .error = rq->error });
		goto done;
	}
	/*
	 * The key server refused this host the key (KMIP Permission Denied,
	 * Authentication Not Successful, Illegal Operation: the kmip provider
	 * marks a refusal only when a server answered one): a decision,
	 * which the persisted cache must not override. The cache stands in
	 * when the provider cannot deliver, including local failures such as
	 * a TPM that refuses to unseal a native provider's KDK.
	 */
	if ((r == -EACCES || r == -EPERM) && rq->failure == PROTO_FAILURE_REFUSED) {
		request_event(d, rq, (struct event){ .event = "key.refused",
			      .provider = p->name, .key_id = kek_id,
			      .result = "error", .error = rq->error });
		goto done;
	}
	/* The provider cannot deliver: the persisted cache may. */
	h = daemon_get_persist(d);
	if (h && h->lookup) {
		pr = h->lookup(d, p->name, kek_id, out);
		if (pr == 0) {
			snprintf(perr, sizeof(perr), "%s", rq->error);
			request_event(d, rq, (struct event){ .event = "key.persisted_used",
				      .provider = p->name, .key_id = kek_id,
				      .result = "ok", .detail = perr });
			rq->error[0] = '\0';
			request_failure(rq, PROTO_FAILURE_NONE);
			(void)cache_put(d, ks, p, kek_id, out);
			r = 0;
			goto done;
		}
	}
	request_event(d, rq, (struct event){ .event = "key.unavailable",
		      .provider = p->name, .key_id = kek_id, .result = "error",
		      .error = rq->error });
done:
	provider_put(p);
	return r;
}

static void busy_enter(struct keystore *ks, const char *uuid)
{
	struct inflight *f;
	bool again;

	pthread_mutex_lock(&ks->lock);
	do {
		again = false;
		for (f = ks->busy; f; f = f->next) {
			if (!strcmp(f->uuid, uuid)) {
				pthread_cond_wait(&ks->cond, &ks->lock);
				again = true;
				break;
			}
		}
	} while (again);
	f = calloc(1, sizeof(*f));
	if (f) {	/* without memory we only lose the serialisation */
		memcpy(f->uuid, uuid, 37);
		f->next = ks->busy;
		ks->busy = f;
	}
	pthread_mutex_unlock(&ks->lock);
}

static void busy_leave(struct keystore *ks, const char *uuid)
{
	struct inflight **pp;

	pthread_mutex_lock(&ks->lock);
	for (pp = &ks->busy; *pp; pp = &(*pp)->next) {
		if (!strcmp((*pp)->uuid, uuid)) {
			struct inflight *f = *pp;

			*pp = f->next;
			free(f);
			break;
		}
	}
	pthread_cond_broadcast(&ks->cond);
	pthread_mutex_unlock(&ks->lock);
}

/*
 * Make @id of @provider the VM's current KEK in the map (written to
 * vms.json). On failure the map is as it was and request_error() says why.
 */
static int bind_vm(struct daemon *d, struct request *rq, const char *provider,
		   const char *vm_name, const char *uuid, const char *id)
{
	struct keystore *ks = d->keys;
	char created[VMMAP_TIME_SIZE], why[256] = "", *text = NULL;
	struct vmmap_entry ne, *v;
	bool added;
	int r;

	now_rfc3339(created, sizeof(created));
	/* An id the map could not hold must not be handed out as bound. */
	r = vmmap_entry_set(&ne, uuid, vm_name, provider, id, created, why,
			    sizeof(why));
	if (r < 0)
		goto fail;
	/*
	 * Change the map in memory, write it without holding ks->lock (the
	 * cache stays usable during the fsync), undo on failure. write_lock
	 * keeps other map changes out until then, so v stays where it is.
	 */
	pthread_mutex_lock(&ks->write_lock);
	pthread_mutex_lock(&ks->lock);
	v = vmmap_find(&ks->map, uuid);
	if (v) {
		struct vmmap_entry old = *v;

		*v = ne;
		r = map_serialize(ks, &text, why, sizeof(why));
		pthread_mutex_unlock(&ks->lock);
		r = map_write(ks, text, r);
		if (r < 0) {
			pthread_mutex_lock(&ks->lock);
			*v = old;
			pthread_mutex_unlock(&ks->lock);
		}
	} else {
		r = vmmap_add(&ks->map, &ne);
		added = r == 0;
		if (added)
			r = map_serialize(ks, &text, why, sizeof(why));
		pthread_mutex_unlock(&ks->lock);
		r = map_write(ks, text, r);
		if (r < 0 && added) {
			/* Still the last entry: only write_lock holders add. */
			pthread_mutex_lock(&ks->lock);
			ks->map.n--;
			pthread_mutex_unlock(&ks->lock);
		}
	}
	pthread_mutex_unlock(&ks->write_lock);
	if (r == 0)
		return 0;
fail:
	request_error(rq, "key %s was created on provider %s but could not be recorded for VM %s: %s",
		      id, provider, uuid, why[0] ? why : strerror(-r));
	return r;
}

/*
 * Create a KEK for the VM under @provider: cached and persisted, and the
 * VM's current one only with @bind. *@kek_id and *@prov_out are malloc'ed.
 */
static int create_kek(struct daemon *d, struct request *rq,
		      const char *provider, const char *vm_name,
		      const char *uuid, bool bind, char **kek_id,
		      char **prov_out, struct secbuf *out)
{
	struct keystore *ks = d->keys;
	struct vm_binding vm = { vm_name, uuid };
	struct provider *p;
	char *id = NULL;
	int r;

	r = provider_get(d, rq, provider, &p);
	if (r < 0)
		return r;
	r = p->ops->create_kek(p, d, rq, &vm, &id, out);
	if (r < 0) {
		if (!rq->error[0])
			request_error(rq, "cannot create a key on provider %s: %s",
				      p->name, strerror(-r));
		request_event(d, rq, (struct event){ .event = "key.create_failed",
			      .provider = p->name, .vm_name = vm_name,
			      .vm_uuid = uuid, .result = "error", .error = rq->error });
		provider_put(p);
		return r;
	}
	request_event(d, rq, (struct event){ .event = "key.created",
		      .provider = p->name, .key_id = id, .vm_name = vm_name,
		      .vm_uuid = uuid, .result = "ok" });
	(void)cache_put(d, ks, p, id, out);
	(void)persist_store(d, rq, p->name, id, out);

	r = bind ? bind_vm(d, rq, p->name, vm_name, uuid, id) : 0;
	if (r == 0 && prov_out) {
		*prov_out = strdup(p->name);
		if (!*prov_out)
			r = -ENOMEM;
	}
	if (r < 0) {
		free(id);
		secbuf_free(out);
		provider_put(p);
		return r;
	}
	*kek_id = id;
	provider_put(p);
	return 0;
}

static void lower_uuid(char dst[37], const char *src)
{
	int i;

	for (i = 0; i < 36; i++)
		dst[i] = (char)tolower((unsigned char)src[i]);
	dst[36] = '\0';
}

static int check_vm_args(struct request *rq, const char *vm_name,
			 const char *vm_uuid)
{
	int r = validate_vm_name(rq, vm_name);

	return r < 0 ? r : validate_uuid(rq, vm_uuid);
}

int keys_kek_for_vm(struct daemon *d, struct request *rq, const char *provider,
		    const char *vm_name, const char *vm_uuid, char **kek_id,
		    char **provider_out, struct secbuf *out)
{
	struct keystore *ks = d->keys;
	struct provider *cur_p = NULL;
	char uuid[37], *prov = NULL, *id = NULL, recorded[NAMES_MAX + 1] = "";
	struct vmmap_entry *v;
	bool prov_exists;
	int r;

	*kek_id = NULL;
	if (provider_out)
		*provider_out = NULL;
	r = check_vm_args(rq, vm_name, vm_uuid);
	if (r < 0)
		return r;
	lower_uuid(uuid, vm_uuid);
	busy_enter(ks, uuid);

	pthread_mutex_lock(&ks->lock);
	v = vmmap_find(&ks->map, uuid);
	if (v) {
		prov = strdup(v->provider);
		id = strdup(v->kek_id);
		snprintf(recorded, sizeof(recorded), "%s", v->vm_name);
	}
	pthread_mutex_unlock(&ks->lock);
	if (v && (!prov || !id)) {
		r = -ENOMEM;
		goto out;
	}
	/*
	 * The UUID is the VM's identity and picks its KEK: a UUID copied from
	 * another VM's command line would wrap this disk with that VM's key,
	 * and destroying that VM's key would then destroy this disk too.
	 */
	if (v && strcmp(recorded, vm_name)) {
		request_error(rq, "VM UUID %s belongs to VM '%s' (key %s of provider %s), not '%s': check --vm-uuid, or give --vm-name '%s' if it is that VM",
			      uuid, recorded, id, prov, vm_name, recorded);
		r = -EEXIST;
		goto out;
	}
	prov_exists = prov && provider_get(d, NULL, prov, &cur_p) == 0;
	/* Never moved to the default provider behind the admin's back. */
	if (prov && !prov_exists && (!provider || !*provider)) {
		request_error(rq, "VM %s ('%s') has key %s on provider %s, which no longer exists: give --provider to create a new key for the VM on another provider",
			      uuid, recorded, id, prov);
		r = -ENOENT;
		goto out;
	}
	/* The VM's KEK is usable if its provider still exists and matches. */
	if (prov_exists && (!provider || !*provider || !strcmp(provider, prov))) {
		provider_put(cur_p);
		r = keys_get_kek(d, rq, prov, id, out);
		if (r < 0)
			goto out;
		*kek_id = id;
		id = NULL;
		if (provider_out) {
			*provider_out = prov;
			prov = NULL;
		}
		goto out;
	}
	if (cur_p)
		provider_put(cur_p);
	r = create_kek(d, rq, provider, vm_name, uuid, true, kek_id,
		       provider_out, out);
out:
	busy_leave(ks, uuid);
	free(prov);
	free(id);
	return r;
}

int keys_new_kek_for_vm(struct daemon *d, struct request *rq,
			const char *provider, const char *vm_name,
			const char *vm_uuid, bool bind, char **kek_id,
			char **provider_out, struct secbuf *out)
{
	char uuid[37];
	int r;

	*kek_id = NULL;
	if (provider_out)
		*provider_out = NULL;
	r = check_vm_args(rq, vm_name, vm_uuid);
	if (r < 0)
		return r;
	lower_uuid(uuid, vm_uuid);
	busy_enter(d->keys, uuid);
	r = create_kek(d, rq, provider, vm_name, uuid, bind, kek_id,
		       provider_out, out);
	busy_leave(d->keys, uuid);
	return r;
}

int keys_bind_vm(struct daemon *d, struct request *rq, const char *provider,
		 const char *vm_name, const char *vm_uuid, const char *kek_id)
{
	char uuid[37];
	int r;

	r = check_vm_args(rq, vm_name, vm_uuid);
	if (r < 0)
		return r;
	lower_uuid(uuid, vm_uuid);
	busy_enter(d->keys, uuid);
	r = bind_vm(d, rq, provider, vm_name, uuid, kek_id);
	busy_leave(d->keys, uuid);
	return r;
}

int keys_persist_held(struct daemon *d, struct request *rq, size_t *stored)
{
	struct keystore *ks = d->keys;
	struct held {
		char *provider, *kek_id;
		struct secbuf kek;
	} *v = NULL;
	struct kek_entry *e;
	size_t n = 0, i;
	int r = 0;

	*stored = 0;
	/* Copies under the lock; the cache file is written without it. */
	pthread_mutex_lock(&ks->lock);
	for (e = ks->cache; e; e = e->next)
		n++;
	v = calloc(n ? n : 1, sizeof(*v));
	for (e = ks->cache, i = 0; v && e && i < n; e = e->next, i++) {
		v[i].provider = strdup(e->provider);
		v[i].kek_id = strdup(e->kek_id);
		if (!v[i].provider || !v[i].kek_id ||
		    secbuf_dup(&v[i].kek, e->kek.data, e->kek.len) < 0) {
			r = -ENOMEM;
			n = i + 1;
			break;
		}
	}
	pthread_mutex_unlock(&ks->lock);
	if (!v)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		if (r == 0 && persist_store(d, rq, v[i].provider, v[i].kek_id,
					    &v[i].kek) == 0)
			(*stored)++;
		secbuf_free(&v[i].kek);
		free(v[i].provider);
		free(v[i].kek_id);
	}
	free(v);
	return r;
}

int keys_vm_provider(struct daemon *d, const char *vm_uuid, char *out,
		     size_t len)
{
	struct keystore *ks = d->keys;
	const struct vmmap_entry *v;
	char uuid[37];
	int r = -ENOENT;

	if (strlen(vm_uuid) != 36)
		return -EINVAL;
	lower_uuid(uuid, vm_uuid);
	pthread_mutex_lock(&ks->lock);
	v = vmmap_find(&ks->map, uuid);
	if (v)
		r = snprintf(out, len, "%s", v->provider) < (int)len ? 0 : -ENAMETOOLONG;
	pthread_mutex_unlock(&ks->lock);
	return r;
}

int keys_vm_map(struct daemon *d, struct json_object **out)
{
	struct keystore *ks = d->keys;
	struct json_object *root = json_object_new_object();
	struct json_object *arr = json_object_new_array();
	size_t i;

	if (!root || !arr) {
		json_object_put(root);
		json_object_put(arr);
		return -ENOMEM;
	}
	pthread_mutex_lock(&ks->lock);
	for (i = 0; i < ks->map.n; i++) {
		struct json_object *e = vmmap_entry_json(&ks->map.v[i]);

		if (e && json_object_array_add(arr, e) < 0)
			json_object_put(e);
	}
	pthread_mutex_unlock(&ks->lock);
	json_object_object_add(root, "vms", arr);
	*out = root;
	return 0;
}
