// SPDX-License-Identifier: GPL-2.0
/*
 * genl.c - libnl-genl-3 client of the dm-vmcrypt netlink family: feature
 * query, device dump/get, and the "events" multicast group (see genl.h and
 * include/uapi/linux/vmcrypt.h). Requests go over one socket; events get a
 * socket of their own so that a subscriber can still make requests.
 * Kernel refusals come back as their exact -errno (NLMSG_ERROR), not as
 * libnl's translated codes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <netlink/genl/ctrl.h>
#include <netlink/genl/family.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>

#include <uapi/linux/vmcrypt.h>

#include "lib/genl.h"

struct vmc_genl {
	struct nl_sock *sk;
	struct nl_sock *ev;
	int family;
	unsigned int version;
};

static struct nla_policy vmc_policy[VMCRYPT_A_MAX + 1] = {
	[VMCRYPT_A_VERSION_MAJOR] = { .type = NLA_U32 },
	[VMCRYPT_A_VERSION_MINOR] = { .type = NLA_U32 },
	[VMCRYPT_A_VERSION_PATCH] = { .type = NLA_U32 },
	[VMCRYPT_A_CIPHERS] = { .type = NLA_NESTED },
	[VMCRYPT_A_OPTIONS] = { .type = NLA_NESTED },
	[VMCRYPT_A_KEY_SIZES] = { .type = NLA_NESTED },
	[VMCRYPT_A_CRYPTO_DRIVER] = { .type = NLA_STRING },
	[VMCRYPT_A_DEV_NAME] = { .type = NLA_STRING },
	[VMCRYPT_A_DEV_KEY_DESC] = { .type = NLA_STRING },
	[VMCRYPT_A_DEV_KEY_SIZE] = { .type = NLA_U32 },
	[VMCRYPT_A_DEV_KEY_STATE] = { .type = NLA_U32 },
	[VMCRYPT_A_DEV_SECTOR_SIZE] = { .type = NLA_U32 },
	[VMCRYPT_A_DEV_IV_OFFSET] = { .type = NLA_U64 },
	[VMCRYPT_A_DEV_OFFSET] = { .type = NLA_U64 },
	[VMCRYPT_A_DEV_LENGTH] = { .type = NLA_U64 },
	[VMCRYPT_A_DEV_CRYPTO_DRIVER] = { .type = NLA_STRING },
	[VMCRYPT_A_DEV_CRYPTO_ASYNC] = { .type = NLA_U8 },
	[VMCRYPT_A_DEV_READS] = { .type = NLA_U64 },
	[VMCRYPT_A_DEV_READ_BYTES] = { .type = NLA_U64 },
	[VMCRYPT_A_DEV_WRITES] = { .type = NLA_U64 },
	[VMCRYPT_A_DEV_WRITE_BYTES] = { .type = NLA_U64 },
	[VMCRYPT_A_DEV_CRYPTO_ERRORS] = { .type = NLA_U64 },
	[VMCRYPT_A_DEV_IO_ERRORS] = { .type = NLA_U64 },
	[VMCRYPT_A_EVENT_TYPE] = { .type = NLA_U32 },
	[VMCRYPT_A_EVENT_ERRORS] = { .type = NLA_U64 },
	[VMCRYPT_A_DEV_LIVE] = { .type = NLA_U8 },
};

/* libnl error code to -errno, for failures that did not come from the kernel. */
static int nlerr(int e)
{
	switch (e < 0 ? -e : e) {
	case NLE_NOMEM: return -ENOMEM;
	case NLE_PERM: return -EPERM;
	case NLE_OBJ_NOTFOUND: return -ENOENT;
	case NLE_NODEV: return -ENODEV;
	case NLE_AGAIN: return -EAGAIN;
	case NLE_INTR: return -EINTR;
	case NLE_INVAL: return -EINVAL;
	case NLE_MSGSIZE: return -EMSGSIZE;
	case NLE_PROTO_MISMATCH: return -EPROTO;
	case NLE_NOACCESS: return -EACCES;
	default: return -EIO;
	}
}

static void copy_str(char *dst, size_t len, const struct nlattr *a)
{
	snprintf(dst, len, "%s", a ? (const char *)nla_data(a) : "");
}

static uint32_t get_u32(struct nlattr **tb, int t)
{
	return tb[t] ? nla_get_u32(tb[t]) : 0;
}

static uint64_t get_u64(struct nlattr **tb, int t)
{
	return tb[t] ? nla_get_u64(tb[t]) : 0;
}

const char *vmc_event_type_name(uint32_t type)
{
	switch (type) {
	case VMCRYPT_EVENT_DEV_CREATED: return "device_created";
	case VMCRYPT_EVENT_DEV_REMOVED: return "device_removed";
	case VMCRYPT_EVENT_KEY_SET: return "key_set";
	case VMCRYPT_EVENT_KEY_WIPED: return "key_wiped";
	case VMCRYPT_EVENT_IO_ERROR: return "io_error";
	default: return "unknown";
	}
}

const char *vmc_key_state_name(uint32_t state)
{
	switch (state) {
	case VMCRYPT_KEY_SET: return "set";
	case VMCRYPT_KEY_WIPED: return "wiped";
	default: return "unknown";
	}
}

void vmc_genl_close(struct vmc_genl *g)
{
	if (!g)
		return;
	if (g->ev)
		nl_socket_free(g->ev);
	if (g->sk)
		nl_socket_free(g->sk);
	free(g);
}

static int family_version(struct nl_sock *sk, unsigned int *version)
{
	struct nl_cache *cache = NULL;
	struct genl_family *fam;
	int r;

	r = genl_ctrl_alloc_cache(sk, &cache);
	if (r < 0)
		return nlerr(r);
	fam = genl_ctrl_search_by_name(cache, VMCRYPT_GENL_NAME);
	if (!fam) {
		nl_cache_free(cache);
		return -ENOENT;
	}
	*version = (unsigned int)genl_family_get_version(fam);
	genl_family_put(fam);
	nl_cache_free(cache);
	return 0;
}

int vmc_genl_open(struct vmc_genl **out)
{
	struct vmc_genl *g;
	int r;

	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	g->sk = nl_socket_alloc();
	if (!g->sk) {
		r = -ENOMEM;
		goto fail;
	}
	r = genl_connect(g->sk);
	if (r < 0) {
		r = nlerr(r);
		goto fail;
	}
	nl_socket_enable_msg_peek(g->sk);
	g->family = genl_ctrl_resolve(g->sk, VMCRYPT_GENL_NAME);
	if (g->family < 0) {
		r = nlerr(g->family);
		goto fail;
	}
	r = family_version(g->sk, &g->version);
	if (r)
		goto fail;
	*out = g;
	return 0;
fail:
	vmc_genl_close(g);
	return r;
}

struct req {
	int (*parse)(struct nlattr **tb, void *arg);
	void *arg;
	int err;
	int done;
};

static int req_valid(struct nl_msg *msg, void *arg)
{
	struct nlattr *tb[VMCRYPT_A_MAX + 1];
	struct req *q = arg;
	int r;

	if (q->err)
		return NL_SKIP;	/* drain the rest of a dump */
	r = genlmsg_parse(nlmsg_hdr(msg), 0, tb, VMCRYPT_A_MAX, vmc_policy);
	if (r < 0) {
		q->err = -EBADMSG;
		return NL_SKIP;
	}
	r = q->parse(tb, q->arg);
	if (r)
		q->err = r;
	return NL_OK;
}

static int req_error(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg)
{
	struct req *q = arg;

	(void)nla;
	if (!q->err)
		q->err = e->error ? e->error : -EIO;
	q->done = 1;
	return NL_STOP;
}

static int req_done(struct nl_msg *msg, void *arg)
{
	struct req *q = arg;

	(void)msg;
	q->done = 1;
	return NL_STOP;
}

static int vmc_request(struct vmc_genl *g, uint8_t cmd, int flags,
		       const char *name, struct req *q)
{
	struct nl_msg *msg;
	struct nl_cb *cb;
	int r;

	msg = nlmsg_alloc();
	if (!msg)
		return -ENOMEM;
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, g->family, 0, flags,
			 cmd, VMCRYPT_GENL_VERSION) ||
	    (name && nla_put_string(msg, VMCRYPT_A_DEV_NAME, name) < 0)) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	cb = nl_cb_alloc(NL_CB_DEFAULT);
	if (!cb) {
		nlmsg_free(msg);
		return -ENOMEM;
	}
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, req_valid, q);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, req_done, q);
	nl_cb_set(cb, NL_CB_FINISH, NL_CB_CUSTOM, req_done, q);
	nl_cb_err(cb, NL_CB_CUSTOM, req_error, q);

	r = nl_send_auto(g->sk, msg);
	nlmsg_free(msg);
	if (r < 0) {
		nl_cb_put(cb);
		return nlerr(r);
	}
	while (!q->done) {
		r = nl_recvmsgs(g->sk, cb);
		if (r < 0) {
			if (!q->err)
				q->err = nlerr(r);
			break;
		}
	}
	nl_cb_put(cb);
	return q->err;
}

static void get_list(struct nlattr *nest, char (*out)[64], unsigned int *n)
{
	struct nlattr *a;
	int rem;

	*n = 0;
	if (!nest)
		return;
	nla_for_each_nested(a, nest, rem) {
		if (*n >= VMC_GENL_MAX_LIST)
			break;
		copy_str(out[*n], sizeof(out[*n]), a);
		(*n)++;
	}
}

static int parse_features(struct nlattr **tb, void *arg)
{
	struct vmc_features *f = arg;
	struct nlattr *a;
	int rem;

	if (!tb[VMCRYPT_A_VERSION_MAJOR] || !tb[VMCRYPT_A_CIPHERS])
		return -EBADMSG;
	f->version[0] = get_u32(tb, VMCRYPT_A_VERSION_MAJOR);
	f->version[1] = get_u32(tb, VMCRYPT_A_VERSION_MINOR);
	f->version[2] = get_u32(tb, VMCRYPT_A_VERSION_PATCH);
	get_list(tb[VMCRYPT_A_CIPHERS], f->ciphers, &f->n_ciphers);
	get_list(tb[VMCRYPT_A_OPTIONS], f->options, &f->n_options);
	f->n_key_sizes = 0;
	if (tb[VMCRYPT_A_KEY_SIZES]) {
		nla_for_each_nested(a, tb[VMCRYPT_A_KEY_SIZES], rem) {
			if (f->n_key_sizes >= VMC_GENL_MAX_LIST ||
			    nla_len(a) != sizeof(uint32_t))
				break;
			f->key_sizes[f->n_key_sizes++] = nla_get_u32(a);
		}
	}
	copy_str(f->driver, sizeof(f->driver), tb[VMCRYPT_A_CRYPTO_DRIVER]);
	return 0;
}

int vmc_genl_get_features(struct vmc_genl *g, struct vmc_features *f)
{
	struct req q = { .parse = parse_features, .arg = f };

	memset(f, 0, sizeof(*f));
	f->family_version = g->version;
	return vmc_request(g, VMCRYPT_CMD_GET_FEATURES, 0, NULL, &q);
}

static int parse_dev(struct nlattr **tb, struct vmc_dev_info *d)
{
	if (!tb[VMCRYPT_A_DEV_NAME])
		return -EBADMSG;
	memset(d, 0, sizeof(*d));
	copy_str(d->name, sizeof(d->name), tb[VMCRYPT_A_DEV_NAME]);
	copy_str(d->key_desc, sizeof(d->key_desc), tb[VMCRYPT_A_DEV_KEY_DESC]);
	d->key_size = get_u32(tb, VMCRYPT_A_DEV_KEY_SIZE);
	d->key_state = get_u32(tb, VMCRYPT_A_DEV_KEY_STATE);
	d->sector_size = get_u32(tb, VMCRYPT_A_DEV_SECTOR_SIZE);
	d->iv_offset = get_u64(tb, VMCRYPT_A_DEV_IV_OFFSET);
	d->offset = get_u64(tb, VMCRYPT_A_DEV_OFFSET);
	d->length = get_u64(tb, VMCRYPT_A_DEV_LENGTH);
	copy_str(d->driver, sizeof(d->driver), tb[VMCRYPT_A_DEV_CRYPTO_DRIVER]);
	d->async = tb[VMCRYPT_A_DEV_CRYPTO_ASYNC] ?
		   nla_get_u8(tb[VMCRYPT_A_DEV_CRYPTO_ASYNC]) : 0;
	d->reads = get_u64(tb, VMCRYPT_A_DEV_READS);
	d->read_bytes = get_u64(tb, VMCRYPT_A_DEV_READ_BYTES);
	d->writes = get_u64(tb, VMCRYPT_A_DEV_WRITES);
	d->write_bytes = get_u64(tb, VMCRYPT_A_DEV_WRITE_BYTES);
	d->crypto_errors = get_u64(tb, VMCRYPT_A_DEV_CRYPTO_ERRORS);
	d->io_errors = get_u64(tb, VMCRYPT_A_DEV_IO_ERRORS);
	/* a module older than the attribute: not known */
	d->live = tb[VMCRYPT_A_DEV_LIVE] ? nla_get_u8(tb[VMCRYPT_A_DEV_LIVE]) : -1;
	return 0;
}

struct dump_ctx {
	int (*cb)(const struct vmc_dev_info *d, void *arg);
	void *arg;
	struct vmc_dev_info *d;
};

static int parse_dump(struct nlattr **tb, void *arg)
{
	struct dump_ctx *c = arg;
	int r = parse_dev(tb, c->d);

	return r ? r : c->cb(c->d, c->arg);
}

int vmc_genl_dev_dump(struct vmc_genl *g,
		      int (*cb)(const struct vmc_dev_info *d, void *arg),
		      void *arg)
{
	struct dump_ctx c = { .cb = cb, .arg = arg };
	struct req q = { .parse = parse_dump, .arg = &c };
	int r;

	/* struct vmc_dev_info is large: keep it off the stack */
	c.d = malloc(sizeof(*c.d));
	if (!c.d)
		return -ENOMEM;
	r = vmc_request(g, VMCRYPT_CMD_DEV_GET, NLM_F_DUMP, NULL, &q);
	free(c.d);
	return r;
}

static int parse_one(struct nlattr **tb, void *arg)
{
	return parse_dev(tb, arg);
}

int vmc_genl_dev_get(struct vmc_genl *g, const char *name,
		     struct vmc_dev_info *d)
{
	struct req q = { .parse = parse_one, .arg = d };

	return vmc_request(g, VMCRYPT_CMD_DEV_GET, 0, name, &q);
}

int vmc_genl_subscribe(struct vmc_genl *g)
{
	int grp, r;

	if (g->ev)
		return 0;
	g->ev = nl_socket_alloc();
	if (!g->ev)
		return -ENOMEM;
	nl_socket_disable_seq_check(g->ev);
	nl_socket_enable_msg_peek(g->ev);
	r = genl_connect(g->ev);
	if (r < 0)
		goto fail;
	grp = genl_ctrl_resolve_grp(g->ev, VMCRYPT_GENL_NAME,
				    VMCRYPT_MCGRP_EVENTS);
	if (grp < 0) {
		r = grp;
		goto fail;
	}
	r = nl_socket_add_membership(g->ev, grp);
	if (r < 0)
		goto fail;
	r = nl_socket_set_nonblocking(g->ev);
	if (r < 0)
		goto fail;
	return 0;
fail:
	nl_socket_free(g->ev);
	g->ev = NULL;
	return nlerr(r);
}

int vmc_genl_event_fd(struct vmc_genl *g)
{
	return g->ev ? nl_socket_get_fd(g->ev) : -EBADF;
}

struct ev_ctx {
	int (*cb)(const struct vmc_event *e, void *arg);
	void *arg;
	struct vmc_event *e;
	int ret;
};

static int ev_valid(struct nl_msg *msg, void *arg)
{
	struct nlattr *tb[VMCRYPT_A_MAX + 1];
	struct genlmsghdr *gh = nlmsg_data(nlmsg_hdr(msg));
	struct ev_ctx *c = arg;
	struct vmc_event *e = c->e;

	if (c->ret)
		return NL_SKIP;
	if (gh->cmd != VMCRYPT_CMD_EVENT ||
	    genlmsg_parse(nlmsg_hdr(msg), 0, tb, VMCRYPT_A_MAX, vmc_policy) < 0 ||
	    !tb[VMCRYPT_A_EVENT_TYPE])
		return NL_SKIP;
	memset(e, 0, sizeof(*e));
	e->type = nla_get_u32(tb[VMCRYPT_A_EVENT_TYPE]);
	copy_str(e->name, sizeof(e->name), tb[VMCRYPT_A_DEV_NAME]);
	copy_str(e->key_desc, sizeof(e->key_desc), tb[VMCRYPT_A_DEV_KEY_DESC]);
	e->errors = get_u64(tb, VMCRYPT_A_EVENT_ERRORS);
	c->ret = c->cb(e, c->arg);
	return NL_OK;
}

static int no_seq_check(struct nl_msg *msg, void *arg)
{
	(void)msg;
	(void)arg;
	return NL_OK;
}

int vmc_genl_read_events(struct vmc_genl *g,
			 int (*cb)(const struct vmc_event *e, void *arg),
			 void *arg)
{
	struct ev_ctx c = { .cb = cb, .arg = arg };
	struct nl_cb *ncb;
	int r;

	if (!g->ev)
		return -EBADF;
	c.e = malloc(sizeof(*c.e));
	ncb = nl_cb_alloc(NL_CB_DEFAULT);
	if (!c.e || !ncb) {
		free(c.e);
		if (ncb)
			nl_cb_put(ncb);
		return -ENOMEM;
	}
	nl_cb_set(ncb, NL_CB_VALID, NL_CB_CUSTOM, ev_valid, &c);
	/* multicast messages carry no sequence number of ours */
	nl_cb_set(ncb, NL_CB_SEQ_CHECK, NL_CB_CUSTOM, no_seq_check, NULL);
	/* non-blocking: a report of 0 messages means the queue is empty */
	for (;;) {
		r = nl_recvmsgs_report(g->ev, ncb);
		if (c.ret) {
			r = c.ret;
			break;
		}
		if (r <= 0) {
			r = r < 0 ? nlerr(r) : 0;
			if (r == -EAGAIN)
				r = 0;
			break;
		}
	}
	nl_cb_put(ncb);
	free(c.e);
	return r;
}
