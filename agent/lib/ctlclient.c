// SPDX-License-Identifier: GPL-2.0
/*
 * ctlclient.c - connect to vmcryptd's control socket and exchange
 * requests/responses (proto.h) for vmcryptctl's subcommands.
 */
#include "lib/ctlclient.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <json-c/json.h>

#include "lib/proto.h"
#include "lib/secmem.h"

int ctl_last_failure;

const char *ctl_socket_path = "/run/vmcrypt/control";
unsigned int ctl_timeout_s = CTL_TIMEOUT_S;

struct ctl_conn {
	int fd;
	char *path;
};

static char *xasprintf_err(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
static char *xasprintf_err(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	return s;
}

int ctl_connect(const char *socket_path, struct ctl_conn **out, char **errtext)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = ctl_timeout_s };
	struct ctl_conn *c;
	int fd, r;

	*out = NULL;
	*errtext = NULL;
	if (strlen(socket_path) >= sizeof(sa.sun_path)) {
		*errtext = xasprintf_err("cannot reach vmcryptd at %s: socket path too long",
					 socket_path);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, socket_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		r = -errno;
		*errtext = xasprintf_err("cannot create socket: %s", strerror(-r));
		return r;
	}
	/* before connect(): it bounds the wait for a full accept queue too */
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		close(fd);
		if (r == -EAGAIN || r == -EINPROGRESS) {
			/* there, but not accepting: busy, not absent */
			ctl_last_failure = CTL_FAILED;
			*errtext = xasprintf_err("vmcryptd at %s did not accept the connection within %u s",
						 socket_path, ctl_timeout_s);
			return -ETIMEDOUT;
		}
		ctl_last_failure = CTL_NO_DAEMON;
		*errtext = xasprintf_err("cannot reach vmcryptd at %s: %s",
					 socket_path, strerror(-r));
		return r;
	}
	c = calloc(1, sizeof(*c));
	if (!c || !(c->path = strdup(socket_path))) {
		free(c);
		close(fd);
		*errtext = strdup("out of memory");
		return -ENOMEM;
	}
	c->fd = fd;
	*out = c;
	return 0;
}

void ctl_close(struct ctl_conn *c)
{
	if (!c)
		return;
	close(c->fd);
	free(c->path);
	free(c);
}

int ctl_request(struct ctl_conn *c, const char *op, struct json_object *args,
		struct json_object **result, char **errtext)
{
	struct json_object *req = proto_request(op, args);
	enum proto_failure failure;
	char *buf = NULL;
	size_t len;
	int r;

	*result = NULL;
	*errtext = NULL;
	if (!req) {
		*errtext = strdup("out of memory");
		return -ENOMEM;
	}
	r = proto_send(c->fd, req, PROTO_MAX_REQUEST);
	json_object_put(req);
	if (r == -EMSGSIZE) {
		*errtext = xasprintf_err("request too large (limit %d bytes)",
					 PROTO_MAX_REQUEST);
		return r;
	}
	if (r == -ETIMEDOUT) {
		ctl_last_failure = CTL_FAILED;
		*errtext = xasprintf_err("vmcryptd at %s did not read the request within %u s",
					 c->path, ctl_timeout_s);
		return r;
	}
	if (r < 0) {
		ctl_last_failure = CTL_NO_DAEMON;
		*errtext = xasprintf_err("sending to vmcryptd at %s: %s",
					 c->path, strerror(-r));
		return r;
	}
	r = proto_recv_frame(c->fd, PROTO_MAX_RESPONSE, &buf, &len);
	if (r == -ETIMEDOUT) {
		/* alive, busy: not "cannot reach" */
		ctl_last_failure = CTL_FAILED;
		*errtext = xasprintf_err("no reply from vmcryptd at %s within %u s; the request may still complete: see 'vmcryptctl events'",
					 c->path, ctl_timeout_s);
		return r;
	}
	if (r < 0) {
		ctl_last_failure = CTL_NO_DAEMON;
		*errtext = xasprintf_err("no reply from vmcryptd at %s: %s",
					 c->path, r == -ECONNRESET ?
					 "connection closed" : strerror(-r));
		return r;
	}
	r = proto_parse_response(buf, len, result, errtext, &failure);
	proto_frame_free(buf, len);
	/* the daemon says what kind of failure it was; the errno does not */
	if (r < 0)
		ctl_last_failure = failure == PROTO_FAILURE_REFUSED ? CTL_REFUSED :
				   failure == PROTO_FAILURE_UNAVAILABLE ?
				   CTL_UNAVAILABLE : CTL_FAILED;
	return r;
}

int ctl_call(const char *socket_path, const char *op, struct json_object *args,
	     struct json_object **result, char **errtext)
{
	struct ctl_conn *c;
	int r;

	r = ctl_connect(socket_path, &c, errtext);
	if (r < 0) {
		json_object_put(args);
		*result = NULL;
		return r;
	}
	r = ctl_request(c, op, args, result, errtext);
	ctl_close(c);
	return r;
}

int ctl_run(const char *op, struct json_object *args,
	    struct json_object **result)
{
	char *err = NULL;
	int r = ctl_call(ctl_socket_path, op, args, result, &err);

	if (r < 0)
		fprintf(stderr, "vmcryptctl: %s\n", err ? err : strerror(-r));
	free(err);
	return r;
}

int ctl_run_wiping(const char *op, struct json_object *args,
		   const char *field, struct json_object **result)
{
	struct json_object *v;
	int r;

	json_object_get(args);	/* keep it alive past ctl_run() */
	r = ctl_run(op, args, result);
	if (json_object_object_get_ex(args, field, &v) &&
	    json_object_is_type(v, json_type_string))
		secure_wipe((char *)json_object_get_string(v),
			    (size_t)json_object_get_string_len(v));
	json_object_put(args);
	return r;
}

void ctl_print_json(struct json_object *obj)
{
	puts(json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PRETTY |
					    JSON_C_TO_STRING_NOSLASHESCAPE));
}
