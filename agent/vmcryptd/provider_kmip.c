// SPDX-License-Identifier: GPL-2.0
/*
 * provider_kmip.c - the "kmip" key provider: one cluster of KMIP servers
 * that replicate the same keys, reached with mutual TLS (agent/kmip).
 *
 * Requests go to the first healthy server in the configured order; a
 * transport failure (kmip_is_transport_error) is recorded as a
 * "kms.unreachable" event and the next server is tried ("kms.failover" when
 * a later one answers). A server that failed is tried last for
 * kmip_retry_after_s seconds. A server-reported error (key not found,
 * permission denied) is final: the servers hold the same keys.
 *
 * Each server has a small pool of persistent connections, so parallel
 * requests do not queue behind one another and nothing global is held
 * during network I/O; every exchange is bounded by the KMIP timeouts.
 *
 * Keys are created AES-256 with vmcrypt's custom attributes (x-Vendor,
 * x-Product, x-Product_Version, x-Component, x-Name, x-Identifier). A
 * server that refuses x- attributes (PyKMIP) gets them as Application
 * Specific Information (namespace = attribute name, data = value); the
 * event log says so ("key.attributes_as_asi").
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "kmip/kmip.h"
#include "lib/log.h"
#include "vmcryptd/ops.h"

#define KMIP_MAX_SERVERS 16
#define KMIP_POOL_MAX 4
#define VMCRYPT_VERSION_STR "0.1"
#define KEK_USAGE (KMIP_USAGE_ENCRYPT | KMIP_USAGE_DECRYPT | \
		   KMIP_USAGE_WRAP_KEY | KMIP_USAGE_UNWRAP_KEY)

struct kserver {
	char *host;
	unsigned int port;
	char label[300];		/* "host:port" */
	pthread_mutex_t lock;		/* pool and health */
	pthread_cond_t cond;
	struct kmip_conn *idle[KMIP_POOL_MAX];
	int n_idle, n_total;
	time_t failed_at;		/* monotonic seconds, 0: healthy */
	char last_error[256];
};

struct kprov {
	char *ca, *cert, *key;
	size_t n;
	struct kserver srv[KMIP_MAX_SERVERS];
	int x_refused;			/* server refuses x- attributes */
	pthread_mutex_t lock;		/* x_refused */
};

static time_t mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + 1;	/* never 0 */
}

static void tls_config(struct daemon *d, struct kprov *k,
		       struct kmip_tls_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->ca_file = k->ca;
	cfg->cert_file = k->cert;
	cfg->key_file = k->key;
	cfg->connect_timeout_ms = DAEMON_CFG_INT(d, kmip_connect_timeout_ms);
	cfg->io_timeout_ms = DAEMON_CFG_INT(d, kmip_timeout_ms);
}

/* Take a connection of @s (idle one, a new one, or wait for one). */
static int conn_take(struct daemon *d, struct kprov *k, struct kserver *s,
		     struct kmip_conn **out, struct kmip_result *res)
{
	struct kmip_tls_config cfg;
	int r;

	pthread_mutex_lock(&s->lock);
	while (s->n_idle == 0 && s->n_total >= KMIP_POOL_MAX)
		pthread_cond_wait(&s->cond, &s->lock);
	if (s->n_idle > 0) {
		*out = s->idle[--s->n_idle];
		pthread_mutex_unlock(&s->lock);
		return 0;
	}
	s->n_total++;
	pthread_mutex_unlock(&s->lock);
	tls_config(d, k, &cfg);
	r = kmip_conn_new(s->host, s->port, &cfg, out, res);
	if (r < 0) {
		pthread_mutex_lock(&s->lock);
		s->n_total--;
		pthread_cond_signal(&s->cond);
		pthread_mutex_unlock(&s->lock);
	}
	return r;
}

static void conn_give(struct kserver *s, struct kmip_conn *c)
{
	pthread_mutex_lock(&s->lock);
	s->idle[s->n_idle++] = c;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

static void copy_str(char *dst, size_t n, const char *src)
{
	size_t l = strnlen(src, n - 1);

	memcpy(dst, src, l);
	dst[l] = '\0';
}

static void mark(struct kserver *s, int ok, const char *err)
{
	pthread_mutex_lock(&s->lock);
	if (ok) {
		s->failed_at = 0;
		s->last_error[0] = '\0';
	} else {
		s->failed_at = mono_now();
		copy_str(s->last_error, sizeof(s->last_error), err);
	}
	pthread_mutex_unlock(&s->lock);
}

/* One operation against one connection; 0 or -errno with res filled. */
typedef int (*kop_fn)(struct kmip_conn *c, void *ctx, struct kmip_result *res);

static void res_text(int r, const struct kmip_result *res, char *buf, size_t len)
{
	copy_str(buf, len, res->message[0] ? res->message : strerror(-r));
}

/* The server could not be reached or went away (not TLS, not protocol). */
static bool is_network_error(int err)
{
	switch (err) {
	case -ECONNREFUSED: case -ETIMEDOUT: case -EHOSTUNREACH:
	case -ENETUNREACH: case -ECONNRESET: case -ECONNABORTED:
	case -EPIPE: case -EHOSTDOWN: case -ENETDOWN: case -EADDRNOTAVAIL:
		return true;
	default:
		return false;
	}
}

/*
 * A server that answered, but with a failure of its own rather than a
 * decision about the request: General Failure (PyKMIP's answer to any
 * internal error, a locked database say), Cryptographic Failure, Pending,
 * Undone, a reason we do not know. Another server of the cluster may do
 * better: the request fails over, as for an unreachable server.
 */
static bool is_server_fault(int err)
{
	return err == -EREMOTEIO;
}

/*
 * Run @fn on the provider's servers with failover. On a server-reported
 * error returns it with @res (and *@server) describing it; when every
 * server failed in transport, -EHOSTUNREACH if each was down or
 * unreachable, else the last transport error, with the reasons collected
 * in rq's error text.
 */
static int run(struct provider *p, struct daemon *d, struct request *rq,
	       const char *what, kop_fn fn, void *ctx, struct kmip_result *res,
	       int *server)
{
	struct kprov *k = p->priv;
	int retry_after = DAEMON_CFG_INT(d, kmip_retry_after_s);
	size_t order[KMIP_MAX_SERVERS], n = 0, i;
	char why[KMIP_MAX_SERVERS][sizeof(((struct kmip_result *)0)->message)];
	int failed[KMIP_MAX_SERVERS];
	size_t nfailed = 0;
	time_t now = mono_now();
	int r = -EHOSTUNREACH, pass;
	bool all_network = true;

	/* Healthy servers first, in configured order; then the failed ones. */
	for (pass = 0; pass < 2; pass++) {
		for (i = 0; i < k->n; i++) {
			int recent;

			pthread_mutex_lock(&k->srv[i].lock);
			recent = k->srv[i].failed_at &&
				 now - k->srv[i].failed_at < retry_after;
			pthread_mutex_unlock(&k->srv[i].lock);
			if (recent == pass)
				order[n++] = i;
		}
	}
	for (i = 0; i < n; i++) {
		struct kserver *s = &k->srv[order[i]];
		struct kmip_conn *c = NULL;

		memset(res, 0, sizeof(*res));
		r = conn_take(d, k, s, &c, res);
		if (r < 0) {
			/*
			 * Our own CA/cert/key files are unusable: the same for
			 * every server, so no failover. Not -ENOENT, which
			 * means "no such key" upstream.
			 */
			request_error(rq, "provider %s: cannot use its TLS credentials: %s",
				      p->name, res->message[0] ? res->message :
				      strerror(-r));
			request_failure(rq, PROTO_FAILURE_NONE);
			return -ENOTCONN;
		}
		/*
		 * Not run twice on one server: the client reopens a pooled
		 * connection the server closed while idle, and resends only
		 * requests that change nothing (@fn may be Create+Activate).
		 */
		r = fn(c, ctx, res);
		conn_give(s, c);
		if (r == 0 || (!kmip_is_transport_error(r) && !is_server_fault(r))) {
			if (r == 0 || c)
				mark(s, 1, NULL);
			/*
			 * What the servers said is the request's kind of
			 * failure now (an earlier run may have set one): a
			 * refusal only if a server answered one.
			 */
			request_failure(rq, (r == -EACCES || r == -EPERM) &&
					res->status > 0 ? PROTO_FAILURE_REFUSED :
					PROTO_FAILURE_NONE);
			if (nfailed && r == 0) {
				char detail[600];

				snprintf(detail, sizeof(detail), "%s: %s failed over from %s to %s",
					 what, p->name, k->srv[failed[nfailed - 1]].label,
					 s->label);
				request_event(d, rq, (struct event){ .event = "kms.failover",
					      .provider = p->name, .server = s->label,
					      .result = "ok", .detail = detail });
			}
			if (server)
				*server = (int)order[i];
			return r;
		}
		if (!is_network_error(r))
			all_network = false;
		res_text(r, res, why[nfailed], sizeof(why[nfailed]));
		mark(s, 0, why[nfailed]);
		request_event(d, rq, (struct event){ .event = "kms.unreachable",
			      .provider = p->name, .server = s->label,
			      .result = "error", .error = why[nfailed],
			      .detail = what });
		log_warn("provider %s: KMS %s unreachable: %s", p->name, s->label,
			 why[nfailed]);
		failed[nfailed++] = (int)order[i];
	}
	{
		char msg[sizeof(rq->error)];
		size_t off;

		off = (size_t)snprintf(msg, sizeof(msg),
				       "no KMS server of provider %s gave a usable answer:",
				       p->name);
		for (i = 0; i < nfailed && off < sizeof(msg); i++)
			off += (size_t)snprintf(msg + off, sizeof(msg) - off, "%s %s: %s",
						i ? ";" : "", k->srv[failed[i]].label,
						why[i]);
		request_error(rq, "%s", msg);
	}
	/*
	 * Every server down or unreachable: one errno for it, which vmcryptctl
	 * turns into its "retry later" status. A TLS or protocol failure
	 * (a wrong CA, a broken server) keeps its own: retrying will not help.
	 */
	request_failure(rq, all_network ? PROTO_FAILURE_UNAVAILABLE :
			PROTO_FAILURE_NONE);
	return all_network ? -EHOSTUNREACH : r;
}

/* ---- operations ---- */

struct create_ctx {
	const struct vm_binding *vm;
	int use_asi;
	char *uid;
	struct secbuf *kek;
	const char *stage;
};

static int do_create(struct kmip_conn *c, void *vctx, struct kmip_result *res)
{
	struct create_ctx *x = vctx;
	const char *names[] = { "x-Vendor", "x-Product", "x-Product_Version",
				"x-Component", "x-Name", "x-Identifier" };
	const char *values[] = { "vmcrypt", "vmcrypt", VMCRYPT_VERSION_STR,
				 "Virtual Machine", x->vm->vm_name, x->vm->vm_uuid };
	struct kmip_attr attrs[6];
	char name[128];
	size_t i;
	int r;

	for (i = 0; i < 6; i++) {
		attrs[i].kind = x->use_asi ? KMIP_ATTR_ASI : KMIP_ATTR_TEXT;
		attrs[i].name = names[i];
		attrs[i].value = values[i];
		/* Several ASI instances need distinct Attribute Indexes. */
		attrs[i].index = x->use_asi ? (int)i : 0;
	}
	snprintf(name, sizeof(name), "vmcrypt-kek-%s-%lld", x->vm->vm_uuid,
		 (long long)time(NULL));
	free(x->uid);
	x->uid = NULL;
	x->stage = "Create";
	r = kmip_create_aes256(c, name, KEK_USAGE, attrs, 6, &x->uid, res);
	if (r < 0)
		return r;
	x->stage = "Activate";
	r = kmip_activate(c, x->uid, res);
	if (r == 0) {
		x->stage = "Get";
		r = kmip_get_key(c, x->uid, x->kek, res);
	}
	/*
	 * The key exists on this server now: a fault of the server's own is
	 * final here, not a reason to create another key on the next one.
	 */
	return is_server_fault(r) ? -EIO : r;
}

static int kmip_create_kek(struct provider *p, struct daemon *d,
			   struct request *rq, const struct vm_binding *vm,
			   char **kek_id, struct secbuf *kek)
{
	struct kprov *k = p->priv;
	/* stage is read after run() even if no server was ever contacted. */
	struct create_ctx x = { .vm = vm, .kek = kek, .stage = "Create" };
	struct kmip_result res;
	char refusal[300];
	int r;

	pthread_mutex_lock(&k->lock);
	x.use_asi = k->x_refused;
	pthread_mutex_unlock(&k->lock);
	refusal[0] = '\0';

	r = run(p, d, rq, "create key", do_create, &x, &res, NULL);
	if (r < 0 && !x.use_asi && res.status == KMIP_STATUS_OPERATION_FAILED &&
	    r != -EACCES && !strcmp(x.stage, "Create")) {
		/*
		 * The server refused the Create, most likely for the x-
		 * attributes: retry with ASI. Not after a response we could
		 * not use, where the key may exist already.
		 */
		snprintf(refusal, sizeof(refusal), "%s", res.message);
		x.use_asi = 1;
		r = run(p, d, rq, "create key", do_create, &x, &res, NULL);
		if (r == 0) {
			pthread_mutex_lock(&k->lock);
			k->x_refused = 1;
			pthread_mutex_unlock(&k->lock);
		}
	}
	if (r < 0) {
		if (!kmip_is_transport_error(r))
			request_error(rq, "provider %s: %s%s%s failed: %s", p->name,
				      x.stage, x.uid ? " of key " : "",
				      x.uid ? x.uid : "", res.message[0] ? res.message :
				      strerror(-r));
		free(x.uid);
		secbuf_free(kek);
		return r;
	}
	if (kek->len != 32) {
		request_error(rq, "provider %s created key %s of %zu bits, not an AES-256 KEK: it is not used (destroy it on the server)",
			      p->name, x.uid, kek->len * 8);
		free(x.uid);
		secbuf_free(kek);
		return -EMEDIUMTYPE;
	}
	if (x.use_asi) {
		char detail[512];

		snprintf(detail, sizeof(detail),
			 "server refuses x- attributes%s%s; x-Vendor, x-Product, x-Product_Version, x-Component, x-Name, x-Identifier stored as Application Specific Information",
			 refusal[0] ? ": " : "", refusal);
		request_event(d, rq, (struct event){ .event = "key.attributes_as_asi",
			      .provider = p->name, .key_id = x.uid,
			      .vm_name = vm->vm_name, .vm_uuid = vm->vm_uuid,
			      .result = "ok", .detail = detail });
	}
	*kek_id = x.uid;
	return 0;
}

struct get_ctx {
	const char *uid;
	struct secbuf *kek;
	char state[32];		/* the key's KMIP State, when not Active */
};

/*
 * The key's State first: KMIP lets a Get through for a Deactivated or
 * Compromised key (it may still decrypt old data), but a KEK revoked on
 * the KMS must stop its disks from opening. Anything but Active is the
 * server's refusal (-EACCES, a KMIP status, so that the persisted cache
 * does not stand in); no key material is asked for then.
 */
static int do_get(struct kmip_conn *c, void *vctx, struct kmip_result *res)
{
	static const char *const names[] = { "State" };
	struct get_ctx *x = vctx;
	struct kmip_attr_list l = { 0 };
	const char *state = NULL;
	size_t i;
	int r;

	x->state[0] = '\0';
	r = kmip_get_attributes(c, x->uid, names, 1, &l, res);
	if (r < 0)
		return r;
	for (i = 0; i < l.n; i++)
		if (!strcmp(l.items[i].name, "State"))
			state = l.items[i].value;
	if (!state || strcmp(state, "Active")) {
		/* attribute text has no control character (ops_value_text()) */
		snprintf(x->state, sizeof(x->state), "%s",
			 state ? state : "of no reported state");
		kmip_attr_list_free(&l);
		res->status = KMIP_STATUS_OPERATION_FAILED;
		res->reason = 0;
		snprintf(res->message, sizeof(res->message),
			 "the key's state is %s, not Active", x->state);
		return -EACCES;
	}
	kmip_attr_list_free(&l);
	return kmip_get_key(c, x->uid, x->kek, res);
}

static int kmip_get_kek(struct provider *p, struct daemon *d,
			struct request *rq, const char *kek_id,
			struct secbuf *kek)
{
	struct get_ctx x = { kek_id, kek, "" };
	struct kmip_result res;
	const char *sl;
	int r, srv = -1;

	r = run(p, d, rq, "get key", do_get, &x, &res, &srv);
	/* the server that answered, named at the end of a final error */
	sl = srv >= 0 ? ((struct kprov *)p->priv)->srv[srv].label : "?";
	if (r < 0 && x.state[0]) {
		request_error(rq, "key %s on provider %s is %s on the KMS, not Active: %s (server %s)",
			      kek_id, p->name, x.state,
			      strcmp(x.state, "Pre-Active") ?
			      "it was revoked or destroyed, and the disks it protects stay closed" :
			      "activate it on the KMS first", sl);
	} else if (r == -ENODATA) {
		/* the object is there without its key material: gone as a key */
		request_error(rq, "key %s not found on provider %s: the KMS holds it without key material (%s; server %s)",
			      kek_id, p->name, res.message[0] ? res.message :
			      "Key Value Not Present", sl);
		r = -ENOENT;
	} else if (r < 0 && !kmip_is_transport_error(r)) {
		if (r == -ENOENT)
			request_error(rq, "key %s not found on provider %s (%s; server %s)",
				      kek_id, p->name, res.message[0] ? res.message :
				      "Item Not Found", sl);
		else
			request_error(rq, "provider %s refused to deliver key %s: %s (server %s)",
				      p->name, kek_id, res.message[0] ? res.message :
				      strerror(-r), sl);
	}
	if (r == 0 && kek->len != 32) {
		request_error(rq, "key %s on provider %s is %zu bits, not an AES-256 KEK",
			      kek_id, p->name, kek->len * 8);
		secbuf_free(kek);
		return -EMEDIUMTYPE;
	}
	return r;
}

struct attrs_ctx {
	const char *uid;
	struct kmip_attr_list list;
};

static int do_attrs(struct kmip_conn *c, void *vctx, struct kmip_result *res)
{
	struct attrs_ctx *x = vctx;

	kmip_attr_list_free(&x->list);
	return kmip_get_attributes(c, x->uid, NULL, 0, &x->list, res);
}

static int kmip_show_kek(struct provider *p, struct daemon *d,
			 struct request *rq, const char *kek_id,
			 struct json_object *attrs)
{
	struct attrs_ctx x = { .uid = kek_id };
	struct kmip_result res;
	size_t i;
	int r;

	r = run(p, d, rq, "get attributes", do_attrs, &x, &res, NULL);
	if (r < 0) {
		if (r == -ENOENT)
			request_error(rq, "key %s not found on provider %s (%s)",
				      kek_id, p->name, res.message[0] ? res.message :
				      "Item Not Found");
		else if (!kmip_is_transport_error(r))
			request_error(rq, "provider %s: Get Attributes of key %s failed: %s",
				      p->name, kek_id, res.message[0] ? res.message :
				      strerror(-r));
		kmip_attr_list_free(&x.list);
		return r;
	}
	for (i = 0; i < x.list.n; i++) {
		struct json_object *o = json_object_new_object();

		if (!o)
			break;
		json_object_object_add(o, "name", json_object_new_string(x.list.items[i].name));
		json_object_object_add(o, "value", json_object_new_string(x.list.items[i].value));
		json_object_array_add(attrs, o);
	}
	kmip_attr_list_free(&x.list);
	return 0;
}

static int kmip_test(struct provider *p, struct daemon *d, struct request *rq,
		     struct json_object *report)
{
	struct kprov *k = p->priv;
	struct json_object *arr = json_object_new_array();
	int nok = 0;
	size_t i;

	if (!arr)
		return -ENOMEM;
	for (i = 0; i < k->n; i++) {
		struct kserver *s = &k->srv[i];
		struct json_object *o = json_object_new_object();
		struct kmip_tls_config cfg;
		struct kmip_query_info q = { 0 };
		struct kmip_result res = { 0 };
		struct kmip_conn *c = NULL;
		int r, major = 0, minor = 0;
		char buf[64], err[300];

		if (!o)
			break;
		json_object_object_add(o, "server", json_object_new_string(s->label));
		tls_config(d, k, &cfg);
		/* A fresh connection: test what a new client would see. */
		r = kmip_conn_new(s->host, s->port, &cfg, &c, &res);
		if (r == 0)
			r = kmip_discover_versions(c, &major, &minor, &res);
		json_object_object_add(o, "reachable", json_object_new_boolean(
			r == 0 || r == -EPROTO || r == -EPROTONOSUPPORT ||
			r == -EBADMSG || (!kmip_is_transport_error(r) && c)));
		json_object_object_add(o, "tls", json_object_new_boolean(
			r == 0 || r == -EPROTONOSUPPORT || r == -EBADMSG));
		if (r == 0) {
			snprintf(buf, sizeof(buf), "%d.%d", major, minor);
			json_object_object_add(o, "protocol_version", json_object_new_string(buf));
			r = kmip_query(c, &q, &res);
			if (r == 0) {
				if (q.vendor)
					json_object_object_add(o, "vendor", json_object_new_string(q.vendor));
				if (q.server_info)
					json_object_object_add(o, "server_info",
							       json_object_new_string(q.server_info));
				json_object_object_add(o, "operations",
						       json_object_new_int((int)q.n_operations));
			}
			kmip_query_info_free(&q);
		}
		if (r < 0) {
			res_text(r, &res, err, sizeof(err));
			json_object_object_add(o, "error", json_object_new_string(err));
		}
		json_object_object_add(o, "ok", json_object_new_boolean(r == 0));
		mark(s, r == 0, r == 0 ? NULL : err);
		if (r == 0)
			nok++;
		kmip_conn_free(c);
		json_object_array_add(arr, o);
	}
	json_object_object_add(report, "servers", arr);
	if (nok == 0) {
		request_error(rq, "no server of provider %s works", p->name);
		return -EHOSTUNREACH;
	}
	return 0;
}

/* ---- configuration ---- */

static void kprov_free(struct kprov *k)
{
	size_t i;
	int j;

	if (!k)
		return;
	for (i = 0; i < k->n; i++) {
		for (j = 0; j < k->srv[i].n_idle; j++)
			kmip_conn_free(k->srv[i].idle[j]);
		free(k->srv[i].host);
		pthread_mutex_destroy(&k->srv[i].lock);
		pthread_cond_destroy(&k->srv[i].cond);
	}
	free(k->ca);
	free(k->cert);
	free(k->key);
	pthread_mutex_destroy(&k->lock);
	free(k);
}

static void kmip_free(struct provider *p)
{
	kprov_free(p->priv);
	free(p);
}

/* "host:port" or "[v6]:port" into @s; 0 or -EINVAL. */
static int parse_server(const char *spec, struct kserver *s)
{
	const char *colon, *hs, *he;
	char *end;
	unsigned long port;
	size_t i;

	if (spec[0] == '[') {
		he = strchr(spec, ']');
		if (!he || he[1] != ':')
			return -EINVAL;
		hs = spec + 1;
		colon = he + 1;
	} else {
		colon = strrchr(spec, ':');
		if (!colon)
			return -EINVAL;
		hs = spec;
		he = colon;
	}
	if (he == hs || he - hs > 253)
		return -EINVAL;
	for (i = 0; hs + i < he; i++) {
		char c = hs[i];

		if (!(isalnum((unsigned char)c) || c == '.' || c == '-' ||
		      (spec[0] == '[' && c == ':')))
			return -EINVAL;
	}
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (!isdigit((unsigned char)colon[1]) || *end || errno || port == 0 ||
	    port > 65535)
		return -EINVAL;
	s->host = strndup(hs, (size_t)(he - hs));
	if (!s->host)
		return -ENOMEM;
	s->port = (unsigned int)port;
	if (spec[0] == '[')
		snprintf(s->label, sizeof(s->label), "[%s]:%u", s->host, s->port);
	else
		snprintf(s->label, sizeof(s->label), "%s:%u", s->host, s->port);
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	return 0;
}

/* Absolute, readable regular file; the key file private to its owner. */
static int check_file(struct request *rq, const char *what, const char *path,
		      bool private, char **abs)
{
	struct stat st;
	int fd;

	*abs = NULL;
	if (path[0] != '/') {
		request_error(rq, "%s file '%s' must be an absolute path", what, path);
		return -EINVAL;
	}
	/* O_NONBLOCK: opening a FIFO must not hang the request. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		int e = -errno;

		request_error(rq, "%s file %s is not readable by vmcryptd: %s",
			      what, path, strerror(-e));
		return e;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		request_error(rq, "%s file %s is not a regular file", what, path);
		return -EINVAL;
	}
	close(fd);
	if (private && (st.st_mode & 077)) {
		request_error(rq, "%s file %s is readable by others (mode %04o): refusing it; run 'chmod 600 %s'",
			      what, path, (unsigned int)(st.st_mode & 07777), path);
		return -EPERM;
	}
	/*
	 * Whoever can write the CA file decides which server vmcryptd trusts
	 * (and so who hands it the KEKs it creates); the certificate goes with
	 * the key. Only the owner (root, or vmcryptd's user) may write them.
	 */
	if (!private && (st.st_mode & 022)) {
		request_error(rq, "%s file %s is writable by others (mode %04o): refusing it; run 'chmod go-w %s'",
			      what, path, (unsigned int)(st.st_mode & 07777), path);
		return -EPERM;
	}
	if (!private && st.st_uid != 0 && st.st_uid != geteuid()) {
		request_error(rq, "%s file %s belongs to uid %u, neither root nor the user vmcryptd runs as: refusing it",
			      what, path, (unsigned int)st.st_uid);
		return -EPERM;
	}
	if (private && st.st_uid != geteuid()) {
		request_error(rq, "%s file %s is not owned by the user vmcryptd runs as (uid %u): refusing it",
			      what, path, (unsigned int)geteuid());
		return -EPERM;
	}
	*abs = realpath(path, NULL);
	if (!*abs) {
		int e = -errno;

		request_error(rq, "%s file %s: %s", what, path, strerror(-e));
		return e;
	}
	return 0;
}

static int build(struct daemon *d, struct request *rq, const char *name,
		 struct json_object *servers, const char *ca, const char *cert,
		 const char *key, bool check, struct provider **out)
{
	struct kprov *k = calloc(1, sizeof(*k));
	size_t i, n;
	int r;

	if (!k)
		return -ENOMEM;
	pthread_mutex_init(&k->lock, NULL);
	if (!json_object_is_type(servers, json_type_array) ||
	    (n = json_object_array_length(servers)) == 0) {
		request_error(rq, "a kmip provider needs at least one server HOST:PORT");
		r = -EINVAL;
		goto fail;
	}
	if (n > KMIP_MAX_SERVERS) {
		request_error(rq, "too many servers (limit %d)", KMIP_MAX_SERVERS);
		r = -EINVAL;
		goto fail;
	}
	for (i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(servers, i);
		const char *spec = json_object_is_type(e, json_type_string) ?
				   json_object_get_string(e) : "";
		size_t j;

		r = parse_server(spec, &k->srv[i]);
		if (r < 0) {
			request_error(rq, "invalid server '%s': expected HOST:PORT (port 1-65535)",
				      spec);
			goto fail;
		}
		k->n++;
		for (j = 0; j < i; j++) {
			if (!strcmp(k->srv[j].label, k->srv[i].label)) {
				request_error(rq, "server %s is listed twice", k->srv[i].label);
				r = -EINVAL;
				goto fail;
			}
		}
	}
	if (check) {
		r = check_file(rq, "CA", ca, false, &k->ca);
		if (r == 0)
			r = check_file(rq, "certificate", cert, false, &k->cert);
		if (r == 0)
			r = check_file(rq, "private key", key, true, &k->key);
		if (r < 0)
			goto fail;
	} else {
		k->ca = strdup(ca);
		k->cert = strdup(cert);
		k->key = strdup(key);
		if (!k->ca || !k->cert || !k->key) {
			r = -ENOMEM;
			goto fail;
		}
	}
	if (check) {
		/* Parse the PEM files and match cert and key now (no network). */
		struct kmip_tls_config cfg;
		struct kmip_result res = { 0 };
		struct kmip_conn *c = NULL;

		tls_config(d, k, &cfg);
		r = kmip_conn_new(k->srv[0].host, k->srv[0].port, &cfg, &c, &res);
		if (r < 0) {
			request_error(rq, "TLS credentials refused: %s",
				      res.message[0] ? res.message : strerror(-r));
			goto fail;
		}
		kmip_conn_free(c);
	}
	*out = provider_alloc(&kmip_provider_ops, name, k);
	if (!*out) {
		r = -ENOMEM;
		goto fail;
	}
	return 0;
fail:
	kprov_free(k);
	return r;
}

static int kmip_create(struct daemon *d, struct request *rq, const char *name,
		       struct json_object *args, struct provider **out)
{
	const char *ca, *cert, *key;
	struct json_object *servers;
	int r;

	if (!json_object_object_get_ex(args, "servers", &servers)) {
		request_error(rq, "missing argument 'servers' (--kmip HOST:PORT[,HOST:PORT...])");
		return -EINVAL;
	}
	r = args_string(rq, args, "ca", true, &ca);
	if (r == 0)
		r = args_string(rq, args, "cert", true, &cert);
	if (r == 0)
		r = args_string(rq, args, "key", true, &key);
	if (r < 0)
		return r;
	return build(d, rq, name, servers, ca, cert, key, true, out);
}

static int kmip_from_json(struct daemon *d, const char *name,
			  struct json_object *conf, struct provider **out)
{
	struct json_object *servers, *ca, *cert, *key;
	struct request rq = { 0 };
	int r;

	if (!json_object_object_get_ex(conf, "servers", &servers) ||
	    !json_object_object_get_ex(conf, "ca", &ca) ||
	    !json_object_object_get_ex(conf, "cert", &cert) ||
	    !json_object_object_get_ex(conf, "key", &key) ||
	    !json_object_is_type(ca, json_type_string) ||
	    !json_object_is_type(cert, json_type_string) ||
	    !json_object_is_type(key, json_type_string)) {
		log_err("provider %s: 'servers', 'ca', 'cert' and 'key' are required strings",
			name);
		return -EINVAL;
	}
	/* Files are checked again at each connection, not at start. */
	r = build(d, &rq, name, servers, json_object_get_string(ca),
		  json_object_get_string(cert), json_object_get_string(key),
		  false, out);
	if (r < 0 && rq.error[0])
		log_err("provider %s: %s", name, rq.error);
	return r;
}

static int kmip_to_json(struct provider *p, struct json_object *conf)
{
	struct kprov *k = p->priv;
	struct json_object *arr = json_object_new_array();
	size_t i;

	if (!arr)
		return -ENOMEM;
	for (i = 0; i < k->n; i++)
		json_object_array_add(arr, json_object_new_string(k->srv[i].label));
	json_object_object_add(conf, "servers", arr);
	json_object_object_add(conf, "ca", json_object_new_string(k->ca));
	json_object_object_add(conf, "cert", json_object_new_string(k->cert));
	json_object_object_add(conf, "key", json_object_new_string(k->key));
	return 0;
}

static int kmip_describe(struct provider *p, struct json_object *out)
{
	struct kprov *k = p->priv;
	struct json_object *arr = json_object_new_array();
	time_t now = mono_now();
	size_t i;

	if (!arr)
		return -ENOMEM;
	for (i = 0; i < k->n; i++) {
		struct kserver *s = &k->srv[i];
		struct json_object *o = json_object_new_object();

		if (!o)
			break;
		json_object_object_add(o, "server", json_object_new_string(s->label));
		pthread_mutex_lock(&s->lock);
		json_object_object_add(o, "state", json_object_new_string(
			s->failed_at ? "failed" : "ok"));
		if (s->failed_at) {
			json_object_object_add(o, "failed_seconds_ago",
					       json_object_new_int64(now - s->failed_at));
			json_object_object_add(o, "last_error",
					       json_object_new_string(s->last_error));
		}
		json_object_object_add(o, "connections", json_object_new_int(s->n_total));
		pthread_mutex_unlock(&s->lock);
		json_object_array_add(arr, o);
	}
	json_object_object_add(out, "servers", arr);
	json_object_object_add(out, "ca", json_object_new_string(k->ca));
	json_object_object_add(out, "cert", json_object_new_string(k->cert));
	json_object_object_add(out, "key", json_object_new_string(k->key));
	pthread_mutex_lock(&k->lock);
	json_object_object_add(out, "custom_attributes", json_object_new_string(
		k->x_refused ? "application-specific-information" : "x-attributes"));
	pthread_mutex_unlock(&k->lock);
	return 0;
}

const struct provider_ops kmip_provider_ops = {
	.type = "kmip",
	.create = kmip_create,
	.create_args = (const char *const[]){ "servers", "ca", "cert", "key", NULL },
	.from_json = kmip_from_json,
	.to_json = kmip_to_json,
	.describe = kmip_describe,
	.create_kek = kmip_create_kek,
	.get_kek = kmip_get_kek,
	.show_kek = kmip_show_kek,
	.test = kmip_test,
	.remove = NULL,
	.free = kmip_free,
};
