// SPDX-License-Identifier: GPL-2.0
/*
 * proto.c - framing and validation of the vmcryptd control protocol (see
 * proto.h). Everything read here comes from an untrusted peer: lengths are
 * capped before allocating and the JSON is checked member by member.
 */
#include "lib/proto.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <json-c/json.h>

#include "lib/secmem.h"

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? -ETIMEDOUT : -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* 0, or -ECONNRESET on EOF (with *@got telling how much arrived). */
static int read_all(int fd, void *buf, size_t len, size_t *got)
{
	char *p = buf;

	*got = 0;
	while (*got < len) {
		ssize_t n = read(fd, p + *got, len - *got);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return (errno == EAGAIN || errno == EWOULDBLOCK) ?
				-ETIMEDOUT : -errno;
		}
		if (n == 0)
			return -ECONNRESET;
		*got += (size_t)n;
	}
	return 0;
}

int proto_send(int fd, struct json_object *msg, size_t max)
{
	size_t len;
	const char *s = json_object_to_json_string_length(msg,
			JSON_C_TO_STRING_PLAIN, &len);
	uint32_t hdr;
	int r;

	if (!s)
		return -ENOMEM;
	if (len > max || len > UINT32_MAX)
		return -EMSGSIZE;
	hdr = htonl((uint32_t)len);
	r = write_all(fd, &hdr, sizeof(hdr));
	if (r == 0)
		r = write_all(fd, s, len);
	/* @msg's own buffer; json-c writes it afresh on every call */
	secure_wipe((char *)s, len);
	return r;
}

void proto_frame_free(char *buf, size_t len)
{
	if (!buf)
		return;
	secure_wipe(buf, len);
	free(buf);
}

int proto_recv_frame(int fd, size_t max, char **buf, size_t *len)
{
	uint32_t hdr;
	size_t got, n;
	char *b;
	int r;

	*buf = NULL;
	*len = 0;
	r = read_all(fd, &hdr, sizeof(hdr), &got);
	if (r == -ECONNRESET && got > 0)
		return -EBADMSG;	/* truncated header */
	if (r < 0)
		return r;
	n = ntohl(hdr);
	if (n > max)
		return -EMSGSIZE;
	b = malloc(n + 1);
	if (!b)
		return -ENOMEM;
	r = read_all(fd, b, n, &got);
	if (r < 0) {
		proto_frame_free(b, got);
		return r == -ECONNRESET ? -EBADMSG : r;
	}
	b[n] = '\0';
	*buf = b;
	*len = n;
	return 0;
}

/*
 * json-c builds every string it parses in the tokener's printbuf, which
 * json_tokener_free() frees as it is: a passphrase in a request would
 * stay in freed heap. The struct is public in json-c 0.16 (Debian 12);
 * its fields are documented as internal, so this touches only the
 * buffer, and only to wipe it.
 */
static void tokener_free_wiped(struct json_tokener *tok)
{
	if (tok->pb && tok->pb->buf && tok->pb->size > 0)
		secure_wipe(tok->pb->buf, (size_t)tok->pb->size);
	json_tokener_free(tok);
}

static const char *const secret_members[] = {
	"passphrase", "recovery_passphrase",
};

void proto_wipe_secrets(struct json_object *req)
{
	struct json_object *args, *v;
	size_t i;

	if (!req || !json_object_object_get_ex(req, "args", &args) ||
	    !json_object_is_type(args, json_type_object))
		return;
	for (i = 0; i < sizeof(secret_members) / sizeof(secret_members[0]); i++)
		if (json_object_object_get_ex(args, secret_members[i], &v) &&
		    json_object_is_type(v, json_type_string))
			secure_wipe((char *)json_object_get_string(v),
				    (size_t)json_object_get_string_len(v));
}

/* Parse exactly @len bytes of JSON into an object (not array/scalar). */
static int parse_object(const char *buf, size_t len, struct json_object **out,
			char *err, size_t errlen)
{
	struct json_tokener *tok;
	struct json_object *o;

	*out = NULL;
	if (len == 0 || len > INT32_MAX || memchr(buf, '\0', len)) {
		snprintf(err, errlen, "message is empty or contains NUL bytes");
		return -EBADMSG;
	}
	tok = json_tokener_new_ex(32);
	if (!tok) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	o = json_tokener_parse_ex(tok, buf, (int)len);
	if (!o || json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != len) {
		snprintf(err, errlen, "message is not valid JSON");
		json_object_put(o);
		tokener_free_wiped(tok);
		return -EBADMSG;
	}
	tokener_free_wiped(tok);
	if (!json_object_is_type(o, json_type_object)) {
		snprintf(err, errlen, "message is not a JSON object");
		json_object_put(o);
		return -EBADMSG;
	}
	*out = o;
	return 0;
}

static int check_version(struct json_object *o, char *err, size_t errlen)
{
	struct json_object *v;
	int64_t ver;

	if (!json_object_object_get_ex(o, "version", &v) ||
	    !json_object_is_type(v, json_type_int)) {
		snprintf(err, errlen, "message has no integer 'version'");
		return -EBADMSG;
	}
	ver = json_object_get_int64(v);
	if (ver != PROTO_VERSION) {
		snprintf(err, errlen,
			 "protocol version %lld is not supported (this side speaks version %d)",
			 (long long)ver, PROTO_VERSION);
		return -EPROTONOSUPPORT;
	}
	return 0;
}

int proto_parse_request(const char *buf, size_t len, struct json_object **req,
			const char **op, struct json_object **args,
			char *err, size_t errlen)
{
	struct json_object *o, *v, *a;
	const char *s;
	size_t i, n;
	int r;

	*req = NULL;
	*op = NULL;
	*args = NULL;
	r = parse_object(buf, len, &o, err, errlen);
	if (r < 0)
		return r;
	r = check_version(o, err, errlen);
	if (r < 0)
		goto bad;
	r = -EBADMSG;
	if (!json_object_object_get_ex(o, "op", &v) ||
	    !json_object_is_type(v, json_type_string)) {
		snprintf(err, errlen, "request has no string 'op'");
		goto bad;
	}
	s = json_object_get_string(v);
	n = (size_t)json_object_get_string_len(v);
	if (n == 0 || n > PROTO_MAX_OP) {
		snprintf(err, errlen, "request 'op' is empty or too long");
		goto bad;
	}
	for (i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '-' || c == '_')) {
			snprintf(err, errlen, "request 'op' has invalid characters");
			goto bad;
		}
	}
	if (json_object_object_get_ex(o, "args", &a)) {
		if (!json_object_is_type(a, json_type_object)) {
			snprintf(err, errlen, "request 'args' is not an object");
			goto bad;
		}
	} else {
		a = json_object_new_object();
		if (!a) {
			r = -ENOMEM;
			snprintf(err, errlen, "out of memory");
			goto bad;
		}
		json_object_object_add(o, "args", a);
	}
	*req = o;
	*op = s;
	*args = a;
	return 0;
bad:
	proto_wipe_secrets(o);
	json_object_put(o);
	return r;
}

static bool name_listed(const char *const *list, const char *name)
{
	for (; list && *list; list++)
		if (!strcmp(*list, name))
			return true;
	return false;
}

int proto_check_args(struct json_object *args, const char *const *known,
		     const char *const *more, const char **unknown)
{
	*unknown = NULL;
	json_object_object_foreach(args, name, v) {
		(void)v;
		if (!name_listed(known, name) && !name_listed(more, name)) {
			*unknown = name;
			return -EINVAL;
		}
	}
	return 0;
}

struct json_object *proto_request(const char *op, struct json_object *args)
{
	struct json_object *o = json_object_new_object();

	if (!o) {
		json_object_put(args);
		return NULL;
	}
	json_object_object_add(o, "version", json_object_new_int(PROTO_VERSION));
	json_object_object_add(o, "op", json_object_new_string(op));
	json_object_object_add(o, "args", args ? args : json_object_new_object());
	return o;
}

static const char *const failure_names[] = {
	[PROTO_FAILURE_REFUSED] = "refused",
	[PROTO_FAILURE_UNAVAILABLE] = "unavailable",
};

struct json_object *proto_error_response(int error_no, const char *errtext,
					 enum proto_failure failure)
{
	struct json_object *o = proto_response(error_no, errtext, NULL);

	if (o && error_no < 0 && failure > PROTO_FAILURE_NONE &&
	    failure <= PROTO_FAILURE_UNAVAILABLE)
		json_object_object_add(o, "failure",
				       json_object_new_string(failure_names[failure]));
	return o;
}

struct json_object *proto_response(int error_no, const char *errtext,
				   struct json_object *result)
{
	struct json_object *o = json_object_new_object();

	if (!o) {
		json_object_put(result);
		return NULL;
	}
	json_object_object_add(o, "version", json_object_new_int(PROTO_VERSION));
	if (error_no < 0) {
		json_object_object_add(o, "ok", json_object_new_boolean(0));
		json_object_object_add(o, "errno", json_object_new_int(-error_no));
		json_object_object_add(o, "error", json_object_new_string(
			errtext && *errtext ? errtext : strerror(-error_no)));
		json_object_put(result);
	} else {
		json_object_object_add(o, "ok", json_object_new_boolean(1));
		json_object_object_add(o, "result",
				       result ? result : json_object_new_object());
	}
	return o;
}

int proto_parse_response(const char *buf, size_t len,
			 struct json_object **result, char **errtext,
			 enum proto_failure *failure)
{
	char err[1024];
	struct json_object *o, *v;
	int r;

	*result = NULL;
	*errtext = NULL;
	if (failure)
		*failure = PROTO_FAILURE_NONE;
	r = parse_object(buf, len, &o, err, sizeof(err));
	if (r < 0)
		goto fail;
	r = check_version(o, err, sizeof(err));
	if (r < 0) {
		/* The daemon's own refusal of our version is still readable. */
		struct json_object *e;

		if (json_object_object_get_ex(o, "error", &e) &&
		    json_object_is_type(e, json_type_string))
			snprintf(err, sizeof(err), "%s", json_object_get_string(e));
		json_object_put(o);
		goto fail;
	}
	if (!json_object_object_get_ex(o, "ok", &v) ||
	    !json_object_is_type(v, json_type_boolean)) {
		snprintf(err, sizeof(err), "malformed response from vmcryptd (no 'ok')");
		json_object_put(o);
		r = -EBADMSG;
		goto fail;
	}
	if (json_object_get_boolean(v)) {
		struct json_object *res;

		if (!json_object_object_get_ex(o, "result", &res) ||
		    !json_object_is_type(res, json_type_object)) {
			snprintf(err, sizeof(err), "malformed response from vmcryptd (no 'result')");
			json_object_put(o);
			r = -EBADMSG;
			goto fail;
		}
		*result = json_object_get(res);
		json_object_put(o);
		return 0;
	}
	{
		struct json_object *e, *en;
		int64_t eno = EIO;

		if (json_object_object_get_ex(o, "errno", &en) &&
		    json_object_is_type(en, json_type_int))
			eno = json_object_get_int64(en);
		if (eno <= 0 || eno > 4095)
			eno = EIO;
		if (json_object_object_get_ex(o, "error", &e) &&
		    json_object_is_type(e, json_type_string))
			snprintf(err, sizeof(err), "%s", json_object_get_string(e));
		else
			snprintf(err, sizeof(err), "%s", strerror((int)eno));
		if (failure && json_object_object_get_ex(o, "failure", &e) &&
		    json_object_is_type(e, json_type_string)) {
			size_t i;

			for (i = 1; i < sizeof(failure_names) / sizeof(failure_names[0]); i++)
				if (!strcmp(json_object_get_string(e), failure_names[i]))
					*failure = (enum proto_failure)i;
		}
		json_object_put(o);
		r = -(int)eno;
	}
fail:
	*errtext = strdup(err);
	return r;
}
