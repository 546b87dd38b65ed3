// SPDX-License-Identifier: GPL-2.0
/*
 * persistence.c - the persistence module of vmcryptd and the
 * persistence.enable/disable/status operations (see persistence.h).
 *
 * Locking: st.rw guards st.p and the state; the hooks take it for reading
 * (lib/persist.c serialises its own writers), enable/disable and a retry
 * take it for writing. TPM and disk I/O happen under it, but never under
 * d->lock.
 */
#include "vmcryptd/persistence.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "lib/log.h"
#include "lib/persist.h"
#include "lib/tpm.h"
#include "vmcryptd/keys.h"
#include "vmcryptd/ops.h"
#include "vmcryptd/provider.h"

enum pstate {
	PS_OFF,		/* not enabled */
	PS_ACTIVE,	/* cache loaded */
	PS_UNAVAILABLE,	/* enabled, but the TPM could not unseal (transient) */
};

static struct {
	pthread_rwlock_t rw;
	enum pstate state;
	struct persist *p;
	char err[512];
	time_t last_try;
	struct daemon *d;
} st = { .rw = PTHREAD_RWLOCK_INITIALIZER };

static const char *state_name(enum pstate s)
{
	switch (s) {
	case PS_ACTIVE:
		return "active";
	case PS_UNAVAILABLE:
		return "unavailable";
	default:
		return "off";
	}
}

static time_t mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/*
 * Drop cached KEKs of providers that no longer exist: provider.remove
 * could not erase them while the cache was unavailable or unwritable.
 * Called with st.rw held for writing, so no KEK is stored meanwhile.
 */
static void prune_removed_providers(struct daemon *d, const struct request *rq)
{
	struct json_object *names = NULL;
	const char **v = NULL;
	char *def = NULL, detail[96];
	size_t i, n, dropped = 0;
	int r;

	r = provider_list_names(d, &names, &def);
	if (r == 0) {
		n = json_object_array_length(names);
		v = calloc(n ? n : 1, sizeof(*v));
		if (!v)
			r = -ENOMEM;
		for (i = 0; v && i < n; i++)
			v[i] = json_object_get_string(json_object_array_get_idx(names, i));
	}
	if (r == 0)
		r = persist_retain_providers(st.p, v, n, &dropped);
	free(v);
	free(def);
	json_object_put(names);
	if (r < 0) {
		log_warn("persistence: cannot erase the cached KEKs of removed "
			 "providers: %s", strerror(-r));
		return;
	}
	if (!dropped)
		return;
	snprintf(detail, sizeof(detail), "%zu cached KEK(s) of removed providers erased",
		 dropped);
	log_info("persistence: %s", detail);
	request_event(d, rq, (struct event){ .event = "persist.pruned",
		      .result = "ok", .detail = detail });
}

/*
 * Open the cache; decide what a failure means. Called with st.rw held for
 * writing. Returns 0 (active, or off after setting a bad cache aside) or
 * the -errno of a transient failure (state unavailable).
 */
static int load_locked(struct daemon *d, const struct request *rq)
{
	char err[512], aside[4096], detail[256];
	struct timespec t0, t1;
	char *tcti;
	const char *suffix = NULL, *event = NULL;
	int r, rr;

	tcti = daemon_config_tcti(d);
	if (!tcti)
		return -ENOMEM;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	st.last_try = mono();
	r = persist_open(d->state_dir, tcti, &st.p, err, sizeof(err));
	free(tcti);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (r == 0) {
		st.state = PS_ACTIVE;
		st.err[0] = '\0';
		prune_removed_providers(d, rq);
		snprintf(detail, sizeof(detail), "%zu key(s) unsealed in %ld ms",
			 persist_count(st.p),
			 (long)((t1.tv_sec - t0.tv_sec) * 1000 +
				(t1.tv_nsec - t0.tv_nsec) / 1000000));
		log_info("persistence: %s", detail);
		request_event(d, rq, (struct event){ .event = "persist.loaded",
			      .result = "ok", .detail = detail });
		return 0;
	}
	if (r == -ENOENT) {
		st.state = PS_OFF;
		return 0;
	}
	if (r == TPM_EPCR) {
		suffix = "pcr-mismatch";
		event = "persist.pcr_mismatch";
	} else if (r == -EBADMSG || r == -EPROTONOSUPPORT) {
		suffix = "corrupt";
		event = "persist.corrupt";
	}
	if (suffix) {
		/* Never delete: an admin may still recover it (doc). */
		rr = persist_set_aside(d->state_dir, suffix, aside, sizeof(aside));
		if (rr < 0)
			snprintf(aside, sizeof(aside), "(could not move it aside: %s)",
				 strerror(-rr));
		if (snprintf(st.err, sizeof(st.err), "%s; kept as %s; keys come "
			     "from the key servers until persistence is enabled again",
			     err, aside) >= (int)sizeof(st.err))
			log_debug("persistence: message truncated");
		log_err("persistence: %s", st.err);
		request_event(d, rq, (struct event){ .event = event,
			      .result = "error", .error = st.err });
		st.state = PS_OFF;
		return 0;
	}
	snprintf(st.err, sizeof(st.err), "%s", err[0] ? err : strerror(-r));
	log_err("persistence: cannot unseal the KEK cache: %s", st.err);
	request_event(d, rq, (struct event){ .event = "persist.unavailable",
		      .result = "error", .error = st.err,
		      .detail = r == TPM_ELOCKOUT ? "tpm lockout" : NULL });
	st.state = PS_UNAVAILABLE;
	return r;
}

/* Take st.rw for reading with the cache usable, retrying a transient failure. */
static int acquire(struct daemon *d)
{
	enum pstate s;

	pthread_rwlock_rdlock(&st.rw);
	if (st.state == PS_ACTIVE)
		return 0;
	if (st.state == PS_OFF) {
		pthread_rwlock_unlock(&st.rw);
		return -ENOENT;
	}
	pthread_rwlock_unlock(&st.rw);
	pthread_rwlock_wrlock(&st.rw);
	if (st.state == PS_UNAVAILABLE && mono() - st.last_try >= PERSIST_RETRY_S)
		(void)load_locked(d, NULL);
	pthread_rwlock_unlock(&st.rw);
	pthread_rwlock_rdlock(&st.rw);
	s = st.state;
	if (s == PS_ACTIVE)
		return 0;
	pthread_rwlock_unlock(&st.rw);
	return s == PS_OFF ? -ENOENT : -EAGAIN;
}

static int hook_store(struct daemon *d, const char *provider,
		      const char *kek_id, const struct secbuf *kek)
{
	int r = acquire(d);

	if (r == -ENOENT)
		return 0;	/* persistence turned off meanwhile */
	if (r < 0)
		return r;
	/*
	 * A fetch that began before its provider was removed must not put
	 * the key back after provider.remove erased it: hook_forget() takes
	 * st.rw for writing, and the provider leaves the registry first.
	 */
	if (provider_exists(d, provider))
		r = persist_put(st.p, provider, kek_id, kek);
	pthread_rwlock_unlock(&st.rw);
	return r;
}

static int hook_lookup(struct daemon *d, const char *provider,
		       const char *kek_id, struct secbuf *out)
{
	int r = acquire(d);

	if (r < 0)
		return -ENOENT;
	r = persist_get(st.p, provider, kek_id, out);
	pthread_rwlock_unlock(&st.rw);
	return r;
}

static int hook_forget(struct daemon *d, const char *provider)
{
	int r = acquire(d);

	if (r < 0)
		return r == -ENOENT ? 0 : r;
	pthread_rwlock_unlock(&st.rw);
	/* For writing: no hook_store() of this provider runs meanwhile. */
	pthread_rwlock_wrlock(&st.rw);
	if (st.state == PS_ACTIVE)
		r = persist_forget_provider(st.p, provider);
	else
		r = st.state == PS_OFF ? 0 : -EAGAIN;
	pthread_rwlock_unlock(&st.rw);
	return r;
}

static struct persist_hook hook = {
	.store = hook_store,
	.lookup = hook_lookup,
	.forget_provider = hook_forget,
};

/* Finish wiping what an interrupted enable, disable or cache write left. */
static void sweep(struct daemon *d)
{
	char left[PATH_MAX], detail[96];
	unsigned int wiped;
	int r;

	r = persist_sweep(d->state_dir, &wiped, left, sizeof(left));
	if (wiped) {
		snprintf(detail, sizeof(detail),
			 "%u leftovers of an interrupted enable, disable or cache write",
			 wiped);
		log_info("persistence: wiped %s", detail);
		daemon_event(d, (struct event){ .event = "persist.swept",
			     .result = "ok", .detail = detail });
	}
	if (r < 0)
		log_err("persistence: cannot wipe %s, left by an interrupted "
			"enable, disable or cache write: %s; remove it by hand", left,
			strerror(-r));
}

int persistence_init(struct daemon *d)
{
	int r;

	st.d = d;
	sweep(d);
	r = persist_enabled(d->state_dir);
	if (r < 0) {
		log_err("persistence: %s/%s: %s", d->state_dir, PERSIST_DIR,
			strerror(-r));
		return 0;	/* the daemon still serves keys from the KMS */
	}
	if (r == 0)
		return 0;
	pthread_rwlock_wrlock(&st.rw);
	(void)load_locked(d, NULL);
	if (st.state != PS_OFF)
		daemon_set_persist(d, &hook);
	pthread_rwlock_unlock(&st.rw);
	return 0;
}

void persistence_fini(struct daemon *d)
{
	daemon_set_persist(d, NULL);
	pthread_rwlock_wrlock(&st.rw);
	persist_close(st.p);
	st.p = NULL;
	st.state = PS_OFF;
	pthread_rwlock_unlock(&st.rw);
}

int op_persistence_enable(struct daemon *d, struct request *rq,
			  struct json_object *args, struct json_object *result)
{
	const char *pcrs = "";
	char err[512], *tcti;
	uint32_t mask = 0;
	size_t held = 0;
	int r;

	r = args_string(rq, args, "pcrs", false, &pcrs);
	if (r < 0 && r != -ENOENT)
		return r;
	/* Given, it must name PCRs: "" would silently mean no binding. */
	if (r == 0 && !*pcrs) {
		request_error(rq, "empty PCR list: name the PCRs (e.g. 0,7), or leave 'pcrs' out for no PCR binding");
		return -EINVAL;
	}
	if (tpm_pcrs_parse(pcrs, &mask) < 0) {
		request_error(rq, "invalid PCR list '%s': expected comma-separated "
			      "PCR numbers 0..23, e.g. 0,7", pcrs);
		return -EINVAL;
	}
	tcti = daemon_config_tcti(d);
	if (!tcti)
		return -ENOMEM;
	pthread_rwlock_wrlock(&st.rw);
	r = persist_enable(d->state_dir, tcti, mask, err, sizeof(err));
	if (r == 0)
		r = load_locked(d, rq);
	if (r == 0 && st.state == PS_ACTIVE)
		daemon_set_persist(d, &hook);
	pthread_rwlock_unlock(&st.rw);
	free(tcti);
	if (r < 0) {
		if (r == -EEXIST)
			request_error(rq, "persistence is already enabled (disable it first "
				      "to change the PCR binding)");
		else if (r == -ENODEV)
			request_error(rq, "cannot enable persistence: no TPM (%s)", err);
		else
			request_error(rq, "cannot enable persistence: %s",
				      err[0] ? err : strerror(-r));
		request_event(d, rq, (struct event){ .event = "persist.enable_failed",
			      .result = "error", .error = rq->error });
		return r;
	}
	request_event(d, rq, (struct event){ .event = "persist.enabled",
		      .result = "ok", .detail = *pcrs ? pcrs : "no PCR binding" });
	/* KEKs fetched before now: cached at once, not after a restart. */
	r = keys_persist_held(d, rq, &held);
	if (r < 0)
		log_warn("persistence: cannot add the KEKs held in memory: %s",
			 strerror(-r));
	json_object_object_add(result, "enabled", json_object_new_boolean(1));
	json_object_object_add(result, "pcrs", json_object_new_string(pcrs));
	json_object_object_add(result, "keys_cached", json_object_new_int64((int64_t)held));
	return 0;
}

int op_persistence_disable(struct daemon *d, struct request *rq,
			   struct json_object *args, struct json_object *result)
{
	char left[PATH_MAX];
	int r;

	daemon_set_persist(d, NULL);
	pthread_rwlock_wrlock(&st.rw);
	persist_close(st.p);
	st.p = NULL;
	st.state = PS_OFF;
	st.err[0] = '\0';
	r = persist_disable(d->state_dir, left, sizeof(left));
	pthread_rwlock_unlock(&st.rw);
	if (r < 0) {
		if (r == -ENOENT)
			request_error(rq, "persistence is not enabled");
		else if (left[0])
			request_error(rq, "persistence is disabled, but wiping %s "
				      "failed: %s; vmcryptd wipes it when it next "
				      "starts", left, strerror(-r));
		else
			request_error(rq, "cannot disable persistence: %s", strerror(-r));
		request_event(d, rq, (struct event){ .event = "persist.disable_failed",
			      .result = "error", .error = rq->error });
		return r;
	}
	request_event(d, rq, (struct event){ .event = "persist.disabled", .result = "ok",
		      .detail = "cache and sealed key wiped" });
	json_object_object_add(result, "enabled", json_object_new_boolean(0));
	return 0;
}

static int add_key(const struct persist_entry_info *e, void *ctx)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return -ENOMEM;
	json_object_object_add(o, "provider", json_object_new_string(e->provider));
	json_object_object_add(o, "kek_id", json_object_new_string(e->kek_id));
	json_object_object_add(o, "added", json_object_new_int64((int64_t)e->added));
	json_object_array_add(ctx, o);
	return 0;
}

/* Directories set aside earlier (persist.<reason>.<time>), for the admin. */
static struct json_object *set_aside_list(const char *state_dir)
{
	struct json_object *arr = json_object_new_array();
	struct dirent *de;
	DIR *dir;

	if (!arr)
		return NULL;
	dir = opendir(state_dir);
	if (!dir)
		return arr;
	while ((de = readdir(dir)))
		if (!strncmp(de->d_name, PERSIST_DIR ".", strlen(PERSIST_DIR) + 1))
			json_object_array_add(arr, json_object_new_string(de->d_name));
	closedir(dir);
	return arr;
}

int op_persistence_status(struct daemon *d, struct request *rq,
			  struct json_object *args, struct json_object *result)
{
	bool keys = false;
	uint32_t mask = 0;
	char pcrs[96] = "";
	int r, en;

	r = args_bool(rq, args, "keys", &keys);
	if (r < 0 && r != -ENOENT)
		return r;
	en = persist_enabled(d->state_dir);
	if (en > 0 && persist_pcrs(d->state_dir, &mask) == 0)
		tpm_pcrs_format(mask, pcrs, sizeof(pcrs));
	pthread_rwlock_rdlock(&st.rw);
	json_object_object_add(result, "enabled", json_object_new_boolean(en > 0));
	json_object_object_add(result, "state", json_object_new_string(
		en > 0 && st.state == PS_OFF ? "unavailable" : state_name(st.state)));
	if (en > 0)
		json_object_object_add(result, "pcrs", json_object_new_string(pcrs));
	if (st.p)
		json_object_object_add(result, "keys_cached",
				       json_object_new_int64((int64_t)persist_count(st.p)));
	if (st.err[0])
		json_object_object_add(result, "error", json_object_new_string(st.err));
	if (keys && st.p) {
		struct json_object *arr = json_object_new_array();

		if (arr && persist_foreach(st.p, add_key, arr) == 0)
			json_object_object_add(result, "keys", arr);
		else
			json_object_put(arr);
	}
	pthread_rwlock_unlock(&st.rw);
	json_object_object_add(result, "set_aside", set_aside_list(d->state_dir));
	return 0;
}
