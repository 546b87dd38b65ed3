/* SPDX-License-Identifier: GPL-2.0 */
/*
 * proto.h - the control protocol between vmcryptctl and vmcryptd.
 *
 * JSON (json-c) over a Unix stream socket. Each message is a 4-byte
 * big-endian length followed by that many bytes of JSON text. A
 * connection carries any number of request/response pairs, in order.
 *
 *   request:  {"version": 1, "op": "key.create", "args": { ... }}
 *   response: {"version": 1, "ok": true, "result": { ... }}
 *             {"version": 1, "ok": false, "errno": 13,
 *              "error": "permission denied: ..."}
 *
 * A request whose version is not PROTO_VERSION is answered with an error
 * naming both versions and the connection is closed. Requests are capped
 * at PROTO_MAX_REQUEST bytes (the daemon drops the connection after
 * answering -EMSGSIZE); responses at PROTO_MAX_RESPONSE.
 */
#ifndef VMCRYPT_PROTO_H
#define VMCRYPT_PROTO_H

#include <stddef.h>
#include <stdint.h>

struct json_object;

#define PROTO_VERSION 1
#define PROTO_MAX_REQUEST (64 * 1024)
#define PROTO_MAX_RESPONSE (64 * 1024 * 1024)
#define PROTO_MAX_OP 64

/*
 * Send @msg as one frame on @fd. 0 or -errno (-EMSGSIZE past @max).
 * Writes use MSG_NOSIGNAL; the socket's SO_SNDTIMEO bounds them. The
 * serialization (which may hold a passphrase) is wiped once written.
 */
int proto_send(int fd, struct json_object *msg, size_t max);

/*
 * Receive one frame of at most @max bytes from @fd into a malloc'ed,
 * NUL-terminated buffer, to be released with proto_frame_free(). 0,
 * -ECONNRESET on a clean EOF before any byte (peer closed), -EMSGSIZE if
 * the announced length exceeds @max, -ETIMEDOUT/-EAGAIN from
 * SO_RCVTIMEO, other -errno.
 */
int proto_recv_frame(int fd, size_t max, char **buf, size_t *len);

/* Wipe and free a frame from proto_recv_frame() (NULL is fine). */
void proto_frame_free(char *buf, size_t len);

/*
 * Wipe the bytes of the secret string members of @req's args (a
 * passphrase): done before every request is freed, whether a handler
 * took them or the request was refused first. NULL is fine.
 */
void proto_wipe_secrets(struct json_object *req);

/*
 * Parse and validate a request. On success *@op points into *@req (valid
 * while *@req lives), *@args is an object (an empty one when absent, owned
 * by *@req). -EPROTONOSUPPORT for another version, -EBADMSG for anything
 * malformed; @err describes the problem.
 */
int proto_parse_request(const char *buf, size_t len, struct json_object **req,
			const char **op, struct json_object **args,
			char *err, size_t errlen);

/*
 * Refuse arguments an operation does not take: 0 when every member of the
 * object @args is named in the NULL-terminated list @known or in @more
 * (either may be NULL: no names), else -EINVAL with *@unknown pointing at
 * the first other member's name (owned by @args). A request is never
 * served with an argument the daemon would ignore: a newer client's
 * "force" or "dry_run" must not be dropped silently.
 */
int proto_check_args(struct json_object *args, const char *const *known,
		     const char *const *more, const char **unknown);

/* Build a request object; takes ownership of @args (may be NULL). */
struct json_object *proto_request(const char *op, struct json_object *args);

/*
 * What kind of failure a response reports, when the daemon knows it (the
 * "failure" member): vmcryptctl's exit status follows it. Not inferred
 * from the errno, which a local failure can share (a file the daemon
 * cannot read is EACCES too).
 *   REFUSED      a decision against the caller: its role, or a key server
 *                that refused this host the key;
 *   UNAVAILABLE  no key server could be reached (down, refusing
 *                connections, timing out): a retry may succeed.
 */
enum proto_failure {
	PROTO_FAILURE_NONE,
	PROTO_FAILURE_REFUSED,
	PROTO_FAILURE_UNAVAILABLE,
};

/*
 * Build a response: success with @result (ownership taken; NULL gives
 * {}), or failure when @error_no < 0 with @errtext.
 */
struct json_object *proto_response(int error_no, const char *errtext,
				   struct json_object *result);

/* A failure response that says what kind of failure it is. */
struct json_object *proto_error_response(int error_no, const char *errtext,
					 enum proto_failure failure);

/*
 * Parse a response. 0 with *@result (a new reference) when ok; the
 * daemon's -errno with *@errtext (malloc'ed) and *@failure (if not NULL;
 * NONE when the member is missing or unknown) when not; -EBADMSG /
 * -EPROTONOSUPPORT with *@errtext for a malformed one.
 */
int proto_parse_response(const char *buf, size_t len,
			 struct json_object **result, char **errtext,
			 enum proto_failure *failure);

#endif
