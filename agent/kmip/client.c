// SPDX-License-Identifier: GPL-2.0
/*
 * client.c - the KMIP client API of kmip.h: one persistent, lazily
 * (re)connected TLS connection per server, version negotiation with
 * Discover Versions, and the operations. Request layout follows KMIP 1.x
 * (Template-Attribute, Attribute structures), which is what PyKMIP's own
 * client sends, so requests compare byte for byte with its captures.
 */
#include "kmip/kmip.h"
#include "kmip/client.h"
#include "kmip/message.h"
#include "kmip/ops.h"
#include "kmip/tags.h"
#include "kmip/tls.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DEFAULT_CONNECT_MS 5000
#define DEFAULT_IO_MS 10000
#define DEFAULT_MAX_MESSAGE (1u << 20)

struct kmip_conn {
	pthread_mutex_t lock;
	char *host;
	unsigned int port;
	SSL_CTX *ctx;
	struct tls_conn tc;
	int connected;
	int fresh;		/* connected, nothing exchanged yet */
	int major, minor;
	int connect_ms, io_ms;
	size_t max_message;
	uint32_t next_batch_id;
};

/* Versions we speak, best first. */
static const int supported[][2] = {
	{ 1, 4 }, { 1, 3 }, { 1, 2 }, { 1, 1 }, { 1, 0 },
};
#define N_SUPPORTED (sizeof(supported) / sizeof(supported[0]))

int kmip_is_transport_error(int err)
{
	switch (err) {
	case -ECONNREFUSED: case -ETIMEDOUT: case -EHOSTUNREACH:
	case -ENETUNREACH: case -ECONNRESET: case -ECONNABORTED:
	case -EPIPE: case -EPROTO: case -EBADMSG: case -EMSGSIZE:
	case -EPROTONOSUPPORT: case -ENOTCONN: case -EHOSTDOWN:
	case -ENETDOWN: case -EADDRNOTAVAIL:
		return 1;
	default:
		return 0;
	}
}

int kmip_conn_new(const char *host, unsigned int port,
		  const struct kmip_tls_config *cfg, struct kmip_conn **out,
		  struct kmip_result *res)
{
	struct kmip_conn *c;
	int r;

	*out = NULL;
	kmip_result_clear(res);
	if (!host || !*host || port == 0 || port > 65535 || !cfg) {
		kmip_result_set(res, "invalid KMIP server address");
		return -EINVAL;
	}
	c = calloc(1, sizeof(*c));
	if (c)
		c->host = strdup(host);
	if (!c || !c->host) {
		free(c);
		kmip_result_set(res, "out of memory");
		return -ENOMEM;
	}
	c->tc.fd = -1;
	r = tls_ctx_new(cfg, &c->ctx, res);
	if (r < 0) {
		free(c->host);
		free(c);
		return r;
	}
	pthread_mutex_init(&c->lock, NULL);
	c->port = port;
	c->connect_ms = cfg->connect_timeout_ms > 0 ? cfg->connect_timeout_ms
						    : DEFAULT_CONNECT_MS;
	c->io_ms = cfg->io_timeout_ms > 0 ? cfg->io_timeout_ms : DEFAULT_IO_MS;
	c->max_message = cfg->max_message ? cfg->max_message
					  : DEFAULT_MAX_MESSAGE;
	c->next_batch_id = 1;
	*out = c;
	return 0;
}

static void conn_drop(struct kmip_conn *c)
{
	tls_close(&c->tc);
	c->connected = 0;
}

void kmip_conn_close(struct kmip_conn *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	conn_drop(c);
	pthread_mutex_unlock(&c->lock);
}

void kmip_conn_free(struct kmip_conn *c)
{
	if (!c)
		return;
	conn_drop(c);
	SSL_CTX_free(c->ctx);
	pthread_mutex_destroy(&c->lock);
	free(c->host);
	free(c);
}

/* One request/response exchange on the open connection. */
static int exchange(struct kmip_conn *c, const struct ttlv_buf *req,
		    uint8_t **raw, size_t *rawlen, struct msg_response *resp,
		    bool *sent, struct kmip_result *res)
{
	int64_t deadline = tls_now_ms() + c->io_ms;
	int r;

	*sent = false;
	r = tls_send(&c->tc, req->data, req->len, deadline, res);
	if (r < 0)
		return r;
	*sent = true;	/* the server may act on it from now on */
	r = tls_recv_message(&c->tc, c->max_message, deadline, raw, rawlen,
			     res);
	if (r < 0)
		return r;
	r = msg_response_parse(*raw, *rawlen, resp);
	if (r == -EBADMSG)
		kmip_result_set(res, "malformed KMIP response from %s:%u",
				c->host, c->port);
	if (r < 0) {
		tls_msg_free(*raw, *rawlen);
		*raw = NULL;
	}
	return r;
}

static int negotiate(struct kmip_conn *c, struct kmip_result *res)
{
	struct ttlv_buf b;
	struct msg_response resp;
	const struct msg_item *it;
	int vers[OPS_MAX_VERSIONS][2];
	uint8_t *raw = NULL;
	size_t rawlen = 0, n = 0;
	bool sent;
	int r;

	ttlv_buf_init(&b);
	/* Discover Versions exists since 1.1; say 1.1 in the header. */
	msg_request_begin(&b, 1, 1, 1);
	msg_item_begin(&b, OP_DISCOVER_VERSIONS, NULL, 0);
	for (size_t i = 0; i < N_SUPPORTED; i++) {
		ttlv_begin(&b, TAG_PROTOCOL_VERSION);
		ttlv_put_int(&b, TAG_PROTOCOL_VERSION_MAJOR, supported[i][0]);
		ttlv_put_int(&b, TAG_PROTOCOL_VERSION_MINOR, supported[i][1]);
		ttlv_end(&b);
	}
	msg_item_end(&b);
	msg_request_end(&b);
	r = ttlv_buf_finish(&b);
	if (r == 0)
		r = exchange(c, &b, &raw, &rawlen, &resp, &sent, res);
	ttlv_buf_release(&b);
	if (r < 0)
		return r;

	it = msg_response_find(&resp, OP_DISCOVER_VERSIONS, NULL, 0);
	if (!it) {
		kmip_result_set(res, "Discover Versions: unexpected response");
		r = -EBADMSG;
	} else if (it->status != RESULT_SUCCESS) {
		/* A 1.0 server does not know the operation. */
		c->major = 1;
		c->minor = 0;
		r = 0;
	} else {
		r = ops_parse_versions(it->payload, vers, OPS_MAX_VERSIONS, &n);
		if (r < 0)
			kmip_result_set(res, "Discover Versions: malformed "
					"payload");
	}
	msg_response_free(&resp);
	tls_msg_free(raw, rawlen);
	if (r < 0 || (it && it->status != RESULT_SUCCESS))
		return r;
	/* Best version of ours that the server listed. */
	for (size_t i = 0; i < N_SUPPORTED; i++) {
		for (size_t j = 0; j < n; j++) {
			if (vers[j][0] == supported[i][0] &&
			    vers[j][1] == supported[i][1]) {
				c->major = supported[i][0];
				c->minor = supported[i][1];
				return 0;
			}
		}
	}
	kmip_result_set(res, "%s:%u supports none of KMIP 1.0-1.4", c->host,
			c->port);
	return -EPROTONOSUPPORT;
}

static int conn_ensure(struct kmip_conn *c, struct kmip_result *res)
{
	int r;

	if (c->connected) {
		/* Closed by the server while idle: find out before sending. */
		if (c->fresh || tls_idle_usable(&c->tc))
			return 0;
		conn_drop(c);
	}
	r = tls_connect(c->ctx, c->host, c->port, c->connect_ms, &c->tc, res);
	if (r < 0)
		return r;
	r = negotiate(c, res);
	if (r < 0) {
		conn_drop(c);
		return r;
	}
	c->connected = 1;
	c->fresh = 1;
	return 0;
}

int kmip_conn_transact(struct kmip_conn *c, const struct ttlv_buf *req,
		       bool idempotent, uint8_t **raw, size_t *rawlen,
		       struct msg_response *resp, struct kmip_result *res)
{
	bool sent;
	int reused, r;

	*raw = NULL;
	*rawlen = 0;
	r = conn_ensure(c, res);
	if (r < 0)
		return r;
	reused = !c->fresh;
	/*
	 * Any failure of the exchange drops the connection, not only a
	 * transport error: after a local one (no locked memory for the
	 * response) the rest of the response is still unread, and the next
	 * request would read it as its own.
	 */
	r = exchange(c, req, raw, rawlen, resp, &sent, res);
	if (r < 0)
		conn_drop(c);
	/*
	 * A kept-alive connection that the server closed just as we used
	 * it (conn_ensure() looked first): reconnect and send once more,
	 * unless the server may have executed a request that changes
	 * something (a second Create would leave an orphan key).
	 */
	if (reused && (r == -ECONNRESET || r == -EPIPE) && (!sent || idempotent)) {
		r = conn_ensure(c, res);
		if (r < 0)
			return r;
		r = exchange(c, req, raw, rawlen, resp, &sent, res);
		if (r < 0)
			conn_drop(c);
	}
	if (r == 0)
		c->fresh = 0;
	return r;
}

void kmip_conn_lock(struct kmip_conn *c)
{
	pthread_mutex_lock(&c->lock);
}

void kmip_conn_unlock(struct kmip_conn *c)
{
	pthread_mutex_unlock(&c->lock);
}

int kmip_conn_version_locked(struct kmip_conn *c, int *major, int *minor,
			     struct kmip_result *res)
{
	int r = conn_ensure(c, res);

	if (r == 0) {
		*major = c->major;
		*minor = c->minor;
	}
	return r;
}

uint32_t kmip_conn_batch_id(struct kmip_conn *c)
{
	return c->next_batch_id++;
}

/*
 * Callbacks of one single-item operation: write the payload, then use
 * the successful response payload.
 */
typedef int (*payload_fn)(struct ttlv_buf *b, const void *arg);
typedef int (*result_fn)(const struct ttlv_item *payload, void *out,
			 struct kmip_result *res);

/* Operations that change nothing on the server: safe to send twice. */
static bool op_is_idempotent(int op)
{
	switch (op) {
	case OP_QUERY:
	case OP_GET:
	case OP_GET_ATTRIBUTES:
	case OP_GET_ATTRIBUTE_LIST:
	case OP_LOCATE:
	case OP_DISCOVER_VERSIONS:
		return true;
	default:
		return false;
	}
}

static int run_op(struct kmip_conn *c, int op, payload_fn put,
		  const void *arg, result_fn get, void *out,
		  struct kmip_result *res)
{
	struct ttlv_buf b;
	struct msg_response resp;
	const struct msg_item *it;
	uint8_t *raw = NULL;
	size_t rawlen = 0;
	int major, minor, r;

	kmip_result_clear(res);
	pthread_mutex_lock(&c->lock);
	r = conn_ensure(c, res);
	if (r < 0)
		goto out_unlock;
	major = c->major;
	minor = c->minor;

	ttlv_buf_init(&b);
	msg_request_begin(&b, major, minor, 1);
	msg_item_begin(&b, op, NULL, 0);
	r = put ? put(&b, arg) : 0;
	msg_item_end(&b);
	msg_request_end(&b);
	if (r == 0)
		r = ttlv_buf_finish(&b);
	if (r < 0) {
		ttlv_buf_release(&b);
		kmip_result_set(res, "cannot encode %s request: %s",
				kmip_operation_name(op), strerror(-r));
		goto out_unlock;
	}
	r = kmip_conn_transact(c, &b, op_is_idempotent(op), &raw, &rawlen,
			       &resp, res);
	ttlv_buf_release(&b);
	if (r < 0)
		goto out_unlock;

	it = msg_response_find(&resp, op, NULL, 0);
	if (!it) {
		kmip_result_set(res, "%s: response does not answer the request",
				kmip_operation_name(op));
		r = -EBADMSG;
	} else {
		r = msg_item_result(it, res);
		if (r == 0 && get)
			r = get(it->payload, out, res);
	}
	msg_response_free(&resp);
	tls_msg_free(raw, rawlen);
	/* A reply we cannot make sense of: do not reuse this stream. */
	if (r == -EBADMSG)
		conn_drop(c);
out_unlock:
	pthread_mutex_unlock(&c->lock);
	/* Every failure comes with a text (e.g. -ENOMEM from a parser). */
	if (r < 0 && res && !res->message[0])
		kmip_result_set(res, "%s: %s", kmip_operation_name(op),
				strerror(-r));
	return r;
}

/* Adapters from run_op()'s callback to the payload writers of ops.c. */
static int put_query(struct ttlv_buf *b, const void *arg)
{
	(void)arg;
	return ops_put_query(b);
}

static int put_create(struct ttlv_buf *b, const void *arg)
{
	const struct ops_create_args *a = arg;

	return ops_put_create(b, a);
}

static int put_uid(struct ttlv_buf *b, const void *arg)
{
	return ops_put_uid(b, arg);
}

static int put_revoke(struct ttlv_buf *b, const void *arg)
{
	const struct ops_revoke_args *a = arg;

	return ops_put_revoke(b, a);
}

static int put_getattr(struct ttlv_buf *b, const void *arg)
{
	const struct ops_getattr_args *a = arg;

	return ops_put_getattr(b, a);
}

static int put_locate(struct ttlv_buf *b, const void *arg)
{
	const struct ops_locate_args *a = arg;

	return ops_put_locate(b, a);
}

static int put_attr_op(struct ttlv_buf *b, const void *arg)
{
	const struct ops_attr_args *a = arg;

	return ops_put_attr_op(b, a);
}

int kmip_discover_versions(struct kmip_conn *c, int *major, int *minor,
			   struct kmip_result *res)
{
	int r;

	kmip_result_clear(res);
	pthread_mutex_lock(&c->lock);
	r = kmip_conn_version_locked(c, major, minor, res);
	pthread_mutex_unlock(&c->lock);
	return r;
}

/* ---- Query ---- */

static int get_query(const struct ttlv_item *p, void *out,
		     struct kmip_result *res)
{
	int r = ops_parse_query(p, out);

	if (r == -EBADMSG)
		kmip_result_set(res, "Query: malformed response payload");
	return r;
}

int kmip_query(struct kmip_conn *c, struct kmip_query_info *out,
	       struct kmip_result *res)
{
	memset(out, 0, sizeof(*out));
	return run_op(c, OP_QUERY, put_query, NULL, get_query, out, res);
}

/* ---- Create ---- */

static int get_uid(const struct ttlv_item *p, void *out,
		   struct kmip_result *res)
{
	const char *why = NULL;
	int r = ops_parse_uid(p, out, &why);

	if (r == -EBADMSG)
		kmip_result_set(res, "%s", why);
	return r;
}

int kmip_create_aes256(struct kmip_conn *c, const char *name,
		       uint32_t usage_mask, const struct kmip_attr *attrs,
		       size_t nattrs, char **uid, struct kmip_result *res)
{
	struct ops_create_args a = {
		.name = name,
		.mask = usage_mask ? usage_mask
				   : KMIP_USAGE_ENCRYPT | KMIP_USAGE_DECRYPT,
		.attrs = attrs,
		.nattrs = nattrs,
	};

	*uid = NULL;
	if (usage_mask > INT32_MAX || (nattrs && !attrs)) {
		kmip_result_set(res, "Create: invalid arguments");
		return -EINVAL;
	}
	return run_op(c, OP_CREATE, put_create, &a, get_uid, uid, res);
}

/* ---- single-UID operations ---- */

static int check_uid(const char *uid, struct kmip_result *res)
{
	if (!uid || !*uid) {
		kmip_result_set(res, "empty Unique Identifier");
		return -EINVAL;
	}
	return 0;
}

struct get_key_ctx {
	const char *uid;
	struct secbuf *key;
};

static int get_key(const struct ttlv_item *p, void *out,
		   struct kmip_result *res)
{
	struct get_key_ctx *x = out;
	const char *why = NULL;
	int r = ops_parse_key(p, x->uid, x->key, &why);

	if (r < 0)
		kmip_result_set(res, "Get: %s", why);
	return r;
}

int kmip_get_key(struct kmip_conn *c, const char *uid, struct secbuf *key,
		 struct kmip_result *res)
{
	struct get_key_ctx x = { uid, key };
	int r;

	key->data = NULL;
	key->len = 0;
	r = check_uid(uid, res);
	if (r < 0)
		return r;
	return run_op(c, OP_GET, put_uid, uid, get_key, &x, res);
}

int kmip_activate(struct kmip_conn *c, const char *uid,
		  struct kmip_result *res)
{
	int r = check_uid(uid, res);

	if (r < 0)
		return r;
	return run_op(c, OP_ACTIVATE, put_uid, uid, NULL, NULL, res);
}

int kmip_destroy(struct kmip_conn *c, const char *uid,
		 struct kmip_result *res)
{
	int r = check_uid(uid, res);

	if (r < 0)
		return r;
	return run_op(c, OP_DESTROY, put_uid, uid, NULL, NULL, res);
}

/* ---- Revoke ---- */

int kmip_revoke(struct kmip_conn *c, const char *uid,
		enum kmip_revocation_reason reason, const char *message,
		struct kmip_result *res)
{
	struct ops_revoke_args a = { uid, (int)reason, message,
				     (int64_t)time(NULL) };
	int r = check_uid(uid, res);

	if (r < 0)
		return r;
	if (reason < KMIP_REVOKE_UNSPECIFIED ||
	    reason > KMIP_REVOKE_PRIVILEGE_WITHDRAWN) {
		kmip_result_set(res, "Revoke: invalid reason code %d", reason);
		return -EINVAL;
	}
	return run_op(c, OP_REVOKE, put_revoke, &a, NULL, NULL, res);
}

/* ---- Get Attributes ---- */

static int get_attrs(const struct ttlv_item *p, void *out,
		     struct kmip_result *res)
{
	int r = ops_parse_attributes(p, out);

	if (r == -EBADMSG)
		kmip_result_set(res, "Get Attributes: malformed payload");
	return r;
}

int kmip_get_attributes(struct kmip_conn *c, const char *uid,
			const char *const *names, size_t n,
			struct kmip_attr_list *out, struct kmip_result *res)
{
	struct ops_getattr_args a = { uid, names, n };
	int r = check_uid(uid, res);

	out->n = 0;
	out->items = NULL;
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		if (!names || !names[i] || !*names[i]) {
			kmip_result_set(res, "Get Attributes: empty name");
			return -EINVAL;
		}
	}
	return run_op(c, OP_GET_ATTRIBUTES, put_getattr, &a, get_attrs, out,
		      res);
}

/* ---- Locate ---- */

static int get_locate(const struct ttlv_item *p, void *out,
		      struct kmip_result *res)
{
	int r = ops_parse_locate(p, out);

	if (r == -EBADMSG)
		kmip_result_set(res, "Locate: malformed payload");
	return r;
}

int kmip_locate(struct kmip_conn *c, const struct kmip_attr *filters,
		size_t n, unsigned int max_items, struct kmip_uid_list *out,
		struct kmip_result *res)
{
	struct ops_locate_args a = { filters, n, max_items };

	out->n = 0;
	out->uids = NULL;
	if ((n && !filters) || max_items > INT32_MAX) {
		kmip_result_set(res, "Locate: invalid arguments");
		return -EINVAL;
	}
	return run_op(c, OP_LOCATE, put_locate, &a, get_locate, out, res);
}

/* ---- Add / Modify Attribute ---- */

static int attr_op(struct kmip_conn *c, int op, const char *uid,
		   const struct kmip_attr *a, int with_index,
		   struct kmip_result *res)
{
	struct ops_attr_args args = { uid, a, with_index };
	int r = check_uid(uid, res);

	if (r < 0)
		return r;
	if (!a || !a->value || a->index < 0) {
		kmip_result_set(res, "%s: invalid attribute",
				kmip_operation_name(op));
		return -EINVAL;
	}
	return run_op(c, op, put_attr_op, &args, NULL, NULL, res);
}

int kmip_add_attribute(struct kmip_conn *c, const char *uid,
		       const struct kmip_attr *a, struct kmip_result *res)
{
	return attr_op(c, OP_ADD_ATTRIBUTE, uid, a, 0, res);
}

int kmip_modify_attribute(struct kmip_conn *c, const char *uid,
			  const struct kmip_attr *a, struct kmip_result *res)
{
	return attr_op(c, OP_MODIFY_ATTRIBUTE, uid, a, 1, res);
}
