// SPDX-License-Identifier: GPL-2.0
/*
 * request.c - helpers every op handler uses: error text, events, argument
 * parsing and validation, config snapshots, atomic state-file writes
 * (lib/atomicfile.c).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "lib/atomicfile.h"
#include "lib/log.h"
#include "lib/names.h"
#include "vmcryptd/daemon.h"

void request_error(struct request *rq, const char *fmt, ...)
{
	va_list ap;

	if (!rq || rq->error[0])
		return;
	va_start(ap, fmt);
	vsnprintf(rq->error, sizeof(rq->error), fmt, ap);
	va_end(ap);
}

void request_failure(struct request *rq, enum proto_failure failure)
{
	if (rq)
		rq->failure = failure;
}

int request_event(struct daemon *d, const struct request *rq, struct event ev)
{
	int r;

	if (rq) {
		ev.uid = rq->uid;
		ev.user = rq->user;
		if (!ev.op)
			ev.op = rq->op;
	} else {
		ev.uid = (uid_t)-1;
		ev.user = "vmcryptd";
	}
	if (!ev.result)
		ev.result = "info";
	r = eventlog_append(d->events, &ev);
	if (r < 0)
		log_err("cannot write event '%s' to the event log: %s",
			ev.event ? ev.event : "?", strerror(-r));
	return r;
}

void daemon_set_persist(struct daemon *d, struct persist_hook *hook)
{
	pthread_mutex_lock(&d->lock);
	d->persist = hook;
	pthread_mutex_unlock(&d->lock);
}

struct persist_hook *daemon_get_persist(struct daemon *d)
{
	struct persist_hook *h;

	pthread_mutex_lock(&d->lock);
	h = d->persist;
	pthread_mutex_unlock(&d->lock);
	return h;
}

int daemon_config_int(struct daemon *d, size_t offset)
{
	int v;

	pthread_rwlock_rdlock(&d->cfg_lock);
	v = *(int *)((char *)&d->cfg + offset);
	pthread_rwlock_unlock(&d->cfg_lock);
	return v;
}

char *daemon_config_tcti(struct daemon *d)
{
	char *s;

	pthread_rwlock_rdlock(&d->cfg_lock);
	s = strdup(d->cfg.tpm_tcti);
	pthread_rwlock_unlock(&d->cfg_lock);
	return s;
}

int request_unknown_arg(struct request *rq, const char *what,
			const char *name, const char *hint)
{
	const char *c;

	/* The name reaches a terminal: quote it only if it is plain text. */
	for (c = name; *c; c++)
		if (*c < ' ' || *c > '~' || *c == '\'')
			break;
	if (!*c && c - name <= 64)
		request_error(rq, "%s has no argument '%s'%s", what, name, hint);
	else
		request_error(rq, "%s was sent an argument it does not have%s",
			      what, hint);
	return -EINVAL;
}

int args_string(struct request *rq, struct json_object *args,
		const char *key, bool required, const char **out)
{
	struct json_object *v;

	if (!json_object_object_get_ex(args, key, &v) ||
	    json_object_is_type(v, json_type_null)) {
		if (!required)
			return -ENOENT;
		request_error(rq, "missing argument '%s'", key);
		return -EINVAL;
	}
	if (!json_object_is_type(v, json_type_string)) {
		request_error(rq, "argument '%s' must be a string", key);
		return -EINVAL;
	}
	if ((size_t)json_object_get_string_len(v) != strlen(json_object_get_string(v))) {
		request_error(rq, "argument '%s' contains a NUL byte", key);
		return -EINVAL;
	}
	*out = json_object_get_string(v);
	return 0;
}

int args_int(struct request *rq, struct json_object *args, const char *key,
	     bool required, long long min, long long max, long long *out)
{
	struct json_object *v;
	long long n;

	if (!json_object_object_get_ex(args, key, &v) ||
	    json_object_is_type(v, json_type_null)) {
		if (!required)
			return -ENOENT;
		request_error(rq, "missing argument '%s'", key);
		return -EINVAL;
	}
	if (!json_object_is_type(v, json_type_int)) {
		request_error(rq, "argument '%s' must be an integer", key);
		return -EINVAL;
	}
	n = json_object_get_int64(v);
	if (n < min || n > max) {
		request_error(rq, "argument '%s' must be between %lld and %lld",
			      key, min, max);
		return -EINVAL;
	}
	*out = n;
	return 0;
}

int args_bool(struct request *rq, struct json_object *args, const char *key,
	      bool *out)
{
	struct json_object *v;

	if (!json_object_object_get_ex(args, key, &v) ||
	    json_object_is_type(v, json_type_null))
		return -ENOENT;
	if (!json_object_is_type(v, json_type_boolean)) {
		request_error(rq, "argument '%s' must be true or false", key);
		return -EINVAL;
	}
	*out = json_object_get_boolean(v);
	return 0;
}

int validate_name(struct request *rq, const char *what, const char *s)
{
	if (names_provider_ok(s))
		return 0;
	request_error(rq, "invalid %s '%s': use " NAMES_PROVIDER_RULE, what, s);
	return -EINVAL;
}

int validate_vm_name(struct request *rq, const char *s)
{
	if (names_vm_name_ok(s))
		return 0;
	request_error(rq, "invalid VM name '%s': use " NAMES_VM_RULE, s);
	return -EINVAL;
}

int validate_uuid(struct request *rq, const char *s)
{
	if (names_uuid_ok(s))
		return 0;
	request_error(rq, "invalid VM UUID '%s': expected " NAMES_UUID_RULE, s);
	return -EINVAL;
}

char *daemon_state_path(struct daemon *d, const char *name)
{
	char *p;

	if (asprintf(&p, "%s/%s", d->state_dir, name) < 0)
		return NULL;
	return p;
}

int daemon_write_file(const char *path, const void *buf, size_t len,
		      mode_t mode)
{
	return atomicfile_write(path, buf, len, mode);
}
