// SPDX-License-Identifier: GPL-2.0
/*
 * test_proto.c - the control protocol (lib/proto.c): framing over a real
 * socketpair (round trip, size cap, truncation, timeout), request
 * validation (version, op, args), the check of argument names against an
 * operation's list, response round trips.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "kselftest_harness.h"
#include "lib/proto.h"

FIXTURE(pair) {
	int fd[2];
};

FIXTURE_SETUP(pair)
{
	struct timeval tv = { 0, 200000 };

	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, self->fd));
	ASSERT_EQ(0, setsockopt(self->fd[1], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)));
}

FIXTURE_TEARDOWN(pair)
{
	close(self->fd[0]);
	if (self->fd[1] >= 0)
		close(self->fd[1]);
}

TEST_F(pair, request_round_trip)
{
	struct json_object *args = json_object_new_object(), *req, *parsed, *a;
	const char *op;
	char *buf, err[128];
	size_t len;

	json_object_object_add(args, "name", json_object_new_string("kms1"));
	req = proto_request("provider.show", args);
	ASSERT_EQ(0, proto_send(self->fd[0], req, PROTO_MAX_REQUEST));
	json_object_put(req);
	ASSERT_EQ(0, proto_recv_frame(self->fd[1], PROTO_MAX_REQUEST, &buf, &len));
	ASSERT_EQ(0, proto_parse_request(buf, len, &parsed, &op, &a, err, sizeof(err)));
	EXPECT_STREQ("provider.show", op);
	EXPECT_STREQ("kms1", json_object_get_string(json_object_object_get(a, "name")));
	json_object_put(parsed);
	free(buf);
}

TEST_F(pair, oversized_frame_refused)
{
	uint32_t hdr = htonl(PROTO_MAX_REQUEST + 1);
	char *buf;
	size_t len;

	ASSERT_EQ(4, write(self->fd[0], &hdr, 4));
	EXPECT_EQ(-EMSGSIZE, proto_recv_frame(self->fd[1], PROTO_MAX_REQUEST, &buf, &len));
	EXPECT_EQ(NULL, buf);
}

TEST_F(pair, sender_refuses_oversized)
{
	struct json_object *args = json_object_new_object();
	char *big = malloc(PROTO_MAX_REQUEST + 10);

	ASSERT_NE(NULL, big);
	memset(big, 'x', PROTO_MAX_REQUEST + 9);
	big[PROTO_MAX_REQUEST + 9] = '\0';
	json_object_object_add(args, "blob", json_object_new_string(big));
	free(big);
	big = NULL;
	{
		struct json_object *req = proto_request("ping", args);

		EXPECT_EQ(-EMSGSIZE, proto_send(self->fd[0], req, PROTO_MAX_REQUEST));
		json_object_put(req);
	}
}

TEST_F(pair, truncated_body)
{
	uint32_t hdr = htonl(100);
	char *buf;
	size_t len;

	ASSERT_EQ(4, write(self->fd[0], &hdr, 4));
	ASSERT_EQ(5, write(self->fd[0], "{\"ve\"", 5));
	shutdown(self->fd[0], SHUT_WR);
	EXPECT_EQ(-EBADMSG, proto_recv_frame(self->fd[1], PROTO_MAX_REQUEST, &buf, &len));
}

TEST_F(pair, truncated_header)
{
	char *buf;
	size_t len;

	ASSERT_EQ(2, write(self->fd[0], "\0\0", 2));
	shutdown(self->fd[0], SHUT_WR);
	EXPECT_EQ(-EBADMSG, proto_recv_frame(self->fd[1], PROTO_MAX_REQUEST, &buf, &len));
}

TEST_F(pair, clean_eof)
{
	char *buf;
	size_t len;

	shutdown(self->fd[0], SHUT_WR);
	EXPECT_EQ(-ECONNRESET, proto_recv_frame(self->fd[1], PROTO_MAX_REQUEST, &buf, &len));
}

TEST_F(pair, silent_peer_times_out)
{
	char *buf;
	size_t len;

	EXPECT_EQ(-ETIMEDOUT, proto_recv_frame(self->fd[1], PROTO_MAX_REQUEST, &buf, &len));
}

/* Request validation: each bad request and the errno it must give. */
FIXTURE(req) {
	int unused;
};
FIXTURE_VARIANT(req) {
	const char *text;
	int err;
	const char *why;
};
FIXTURE_VARIANT_ADD(req, not_json) { "{\"version\":1,", -EBADMSG, "not valid JSON" };
FIXTURE_VARIANT_ADD(req, trailing) { "{\"version\":1,\"op\":\"ping\"} x", -EBADMSG, "not valid JSON" };
FIXTURE_VARIANT_ADD(req, array) { "[1]", -EBADMSG, "not a JSON object" };
FIXTURE_VARIANT_ADD(req, no_version) { "{\"op\":\"ping\"}", -EBADMSG, "'version'" };
FIXTURE_VARIANT_ADD(req, string_version) { "{\"version\":\"1\",\"op\":\"ping\"}", -EBADMSG, "'version'" };
FIXTURE_VARIANT_ADD(req, future_version) { "{\"version\":2,\"op\":\"ping\"}", -EPROTONOSUPPORT, "version 2 is not supported" };
FIXTURE_VARIANT_ADD(req, no_op) { "{\"version\":1}", -EBADMSG, "'op'" };
FIXTURE_VARIANT_ADD(req, empty_op) { "{\"version\":1,\"op\":\"\"}", -EBADMSG, "empty or too long" };
FIXTURE_VARIANT_ADD(req, bad_op_chars) { "{\"version\":1,\"op\":\"Ping!\"}", -EBADMSG, "invalid characters" };
FIXTURE_VARIANT_ADD(req, args_not_object) { "{\"version\":1,\"op\":\"ping\",\"args\":[]}", -EBADMSG, "'args' is not an object" };
FIXTURE_VARIANT_ADD(req, empty) { "", -EBADMSG, "empty" };

FIXTURE_SETUP(req) {}
FIXTURE_TEARDOWN(req) {}

TEST_F(req, refused)
{
	struct json_object *o = (void *)1, *a = (void *)1;
	const char *op = "x";
	char err[256] = "";

	EXPECT_EQ(variant->err, proto_parse_request(variant->text, strlen(variant->text),
						    &o, &op, &a, err, sizeof(err)));
	EXPECT_EQ(NULL, o);
	EXPECT_EQ(NULL, op);
	EXPECT_NE(NULL, strstr(err, variant->why)) TH_LOG("got '%s'", err);
}

TEST(request_without_args_gets_empty_object)
{
	static const char t[] = "{\"version\":1,\"op\":\"ping\"}";
	struct json_object *o, *a;
	const char *op;
	char err[64];

	ASSERT_EQ(0, proto_parse_request(t, strlen(t), &o, &op, &a, err, sizeof(err)));
	EXPECT_TRUE(json_object_is_type(a, json_type_object));
	EXPECT_EQ(0, json_object_object_length(a));
	json_object_put(o);
}

/* Every member named in one of the two lists, or the first other one. */
TEST(check_args)
{
	static const char *const known[] = { "path", "name", NULL };
	static const char *const more[] = { "force", NULL };
	static const char *const none[] = { NULL };
	struct json_object *a = json_tokener_parse("{\"path\":\"/x\",\"name\":null,\"force\":true}");
	const char *bad = "unset";

	ASSERT_TRUE(a != NULL);
	EXPECT_EQ(0, proto_check_args(a, known, more, &bad));
	EXPECT_EQ(NULL, bad);
	/* without the second list, "force" is not taken */
	EXPECT_EQ(-EINVAL, proto_check_args(a, known, NULL, &bad));
	EXPECT_STREQ("force", bad);
	/* an operation with no arguments takes none, NULL lists neither */
	EXPECT_EQ(-EINVAL, proto_check_args(a, none, NULL, &bad));
	EXPECT_STREQ("path", bad);
	EXPECT_EQ(-EINVAL, proto_check_args(a, NULL, NULL, &bad));
	json_object_put(a);
	/* no member: nothing to refuse */
	a = json_object_new_object();
	EXPECT_EQ(0, proto_check_args(a, none, NULL, &bad));
	/* names are compared whole: a prefix or a longer name is another */
	json_object_object_add(a, "pat", json_object_new_int(1));
	EXPECT_EQ(-EINVAL, proto_check_args(a, known, more, &bad));
	EXPECT_STREQ("pat", bad);
	json_object_put(a);
	a = json_tokener_parse("{\"paths\":1}");
	ASSERT_TRUE(a != NULL);
	EXPECT_EQ(-EINVAL, proto_check_args(a, known, more, &bad));
	EXPECT_STREQ("paths", bad);
	json_object_put(a);
}

TEST(embedded_nul_refused)
{
	static const char t[] = "{\"version\":1,\"op\":\"ping\"}\0junk";
	struct json_object *o, *a;
	const char *op;
	char err[64];

	EXPECT_EQ(-EBADMSG, proto_parse_request(t, sizeof(t) - 1, &o, &op, &a, err, sizeof(err)));
}

static int roundtrip(struct json_object *resp, struct json_object **result, char **errtext)
{
	size_t len;
	const char *s = json_object_to_json_string_length(resp, 0, &len);
	int r = proto_parse_response(s, len, result, errtext, NULL);

	json_object_put(resp);
	return r;
}

TEST(response_ok)
{
	struct json_object *res = json_object_new_object(), *out;
	char *err;

	json_object_object_add(res, "id", json_object_new_string("7"));
	ASSERT_EQ(0, roundtrip(proto_response(0, NULL, res), &out, &err));
	EXPECT_EQ(NULL, err);
	EXPECT_STREQ("7", json_object_get_string(json_object_object_get(out, "id")));
	json_object_put(out);
}

TEST(response_error)
{
	struct json_object *out;
	char *err;

	EXPECT_EQ(-EACCES, roundtrip(proto_response(-EACCES,
		  "permission denied: operation 'key.create' needs role operator", NULL),
		  &out, &err));
	EXPECT_EQ(NULL, out);
	EXPECT_STREQ("permission denied: operation 'key.create' needs role operator", err);
	free(err);
	/* No text: strerror. */
	EXPECT_EQ(-ENOENT, roundtrip(proto_response(-ENOENT, NULL, NULL), &out, &err));
	EXPECT_STREQ(strerror(ENOENT), err);
	free(err);
}

/* The kind of failure travels as its own member, not as the errno. */
TEST(response_failure_kind)
{
	static const struct {
		const char *text;
		enum proto_failure want;
	} cases[] = {
		{ "{\"version\":1,\"ok\":false,\"errno\":13,\"error\":\"x\"}",
		  PROTO_FAILURE_NONE },
		{ "{\"version\":1,\"ok\":false,\"errno\":13,\"error\":\"x\",\"failure\":\"refused\"}",
		  PROTO_FAILURE_REFUSED },
		{ "{\"version\":1,\"ok\":false,\"errno\":113,\"failure\":\"unavailable\"}",
		  PROTO_FAILURE_UNAVAILABLE },
		/* unknown or mistyped: no kind, the error itself still read */
		{ "{\"version\":1,\"ok\":false,\"errno\":13,\"failure\":\"later\"}",
		  PROTO_FAILURE_NONE },
		{ "{\"version\":1,\"ok\":false,\"errno\":13,\"failure\":1}",
		  PROTO_FAILURE_NONE },
		{ "{\"version\":1,\"ok\":false,\"errno\":13,\"failure\":\"\"}",
		  PROTO_FAILURE_NONE },
	};
	enum proto_failure f;
	struct json_object *out, *resp;
	const char *s;
	char *err;
	size_t i, len;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		f = PROTO_FAILURE_UNAVAILABLE + 1;
		EXPECT_GT(0, proto_parse_response(cases[i].text, strlen(cases[i].text),
						  &out, &err, &f));
		EXPECT_EQ((int)cases[i].want, (int)f) TH_LOG("case %zu", i);
		EXPECT_NE(NULL, err);
		free(err);
	}
	/* built and read back */
	resp = proto_error_response(-EACCES, "refused by the KMS", PROTO_FAILURE_REFUSED);
	s = json_object_to_json_string_length(resp, 0, &len);
	EXPECT_EQ(-EACCES, proto_parse_response(s, len, &out, &err, &f));
	EXPECT_EQ((int)PROTO_FAILURE_REFUSED, (int)f);
	EXPECT_STREQ("refused by the KMS", err);
	free(err);
	json_object_put(resp);
	resp = proto_error_response(-EHOSTUNREACH, NULL, PROTO_FAILURE_UNAVAILABLE);
	s = json_object_to_json_string_length(resp, 0, &len);
	EXPECT_EQ(-EHOSTUNREACH, proto_parse_response(s, len, &out, &err, &f));
	EXPECT_EQ((int)PROTO_FAILURE_UNAVAILABLE, (int)f);
	free(err);
	json_object_put(resp);
	/* a success never carries one */
	resp = proto_error_response(0, NULL, PROTO_FAILURE_REFUSED);
	s = json_object_to_json_string_length(resp, 0, &len);
	EXPECT_EQ(0, proto_parse_response(s, len, &out, &err, &f));
	EXPECT_EQ((int)PROTO_FAILURE_NONE, (int)f);
	EXPECT_EQ(NULL, json_object_object_get(resp, "failure"));
	json_object_put(out);
	json_object_put(resp);
}

TEST(response_malformed)
{
	static const char *const bad[] = {
		"{\"version\":1}",
		"{\"version\":1,\"ok\":true}",
		"{\"version\":1,\"ok\":true,\"result\":5}",
		"nonsense",
	};
	struct json_object *out;
	char *err;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		EXPECT_EQ(-EBADMSG, proto_parse_response(bad[i], strlen(bad[i]), &out, &err, NULL));
		EXPECT_NE(NULL, err);
		free(err);
	}
	/* An absurd errno from the peer becomes EIO. */
	{
		static const char t[] = "{\"version\":1,\"ok\":false,\"errno\":-3,\"error\":\"x\"}";

		EXPECT_EQ(-EIO, proto_parse_response(t, strlen(t), &out, &err, NULL));
		free(err);
	}
	/* Another version: refused, the peer's own text kept. */
	{
		static const char t[] = "{\"version\":9,\"ok\":false,\"error\":\"speak 9\"}";

		EXPECT_EQ(-EPROTONOSUPPORT, proto_parse_response(t, strlen(t), &out, &err, NULL));
		EXPECT_STREQ("speak 9", err);
		free(err);
	}
}

TEST_HARNESS_MAIN
