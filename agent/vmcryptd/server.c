// SPDX-License-Identifier: GPL-2.0
/*
 * server.c - the control socket: bind (refusing to start when another
 * vmcryptd serves it), accept, one thread per connection up to
 * max_clients, per-request authorisation against the op table, and a
 * clean shutdown that stops accepting, unblocks every client thread and
 * waits for the handlers in flight (their KMS I/O has timeouts).
 *
 * Admission (at accept, from SO_PEERCRED read once there): a non-root uid
 * holds at most max_clients_per_user connections, and a uid with no
 * vmcrypt role may not take one of the last max_clients / 4 slots, so
 * that local users without a role cannot lock admins and operators out.
 */
#include "vmcryptd/server.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "lib/log.h"
#include "lib/proto.h"

#define MAX_CONN_SLOTS 1024
/* Role-less uids leave max_clients / RESERVE_DIVISOR slots free. */
#define RESERVE_DIVISOR 4
/* At most one log line per kind of refusal in this many seconds. */
#define REFUSAL_LOG_INTERVAL_S 10

/*
 * Slot i is in use when conn_fds[i] >= 0; conn_uids[i] is then its peer's
 * uid. Per-uid counts are found by scanning the slots, so they are exact
 * and released by the same code that frees the slot.
 */
static pthread_mutex_t conn_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t conn_cond = PTHREAD_COND_INITIALIZER;
static int conn_fds[MAX_CONN_SLOTS];
static uid_t conn_uids[MAX_CONN_SLOTS];
static int conn_count;

struct conn {
	struct daemon *d;
	int fd;
	int slot;
	struct ucred cred;	/* SO_PEERCRED, read once at accept */
};

enum refusal {
	REFUSE_FULL,		/* max_clients reached */
	REFUSE_USER,		/* max_clients_per_user reached */
	REFUSE_RESERVE,		/* the last slots are kept for role holders */
	REFUSE_NR
};

/*
 * Rate limit of the refusal log lines, so that a client hammering the
 * socket cannot flood the journal. Only the accept loop (one thread)
 * touches it.
 */
static struct {
	struct timespec last;
	int logged;
	unsigned long suppressed;
} refusal_log[REFUSE_NR];

/*
 * mkdir -p for the socket's directory. New levels get mode 0755 whatever
 * the umask (systemd's UMask=0077 would make them 0700 and lock out the
 * non-root users that may connect). On error @where names the directory.
 */
static int mkdir_parents(const char *path, char *where, size_t wlen)
{
	char *dup = strdup(path), *p;
	int r = 0, fd;

	if (!dup)
		return -ENOMEM;
	p = strrchr(dup, '/');
	if (!p || p == dup)
		goto out;
	*p = '\0';
	for (p = dup + 1; ; p++) {
		if (*p == '/' || *p == '\0') {
			char c = *p;

			*p = '\0';
			if (mkdir(dup, 0755) == 0) {
				/* by descriptor: never chmod what a symlink points to */
				fd = open(dup, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
				if (fd < 0 || fchmod(fd, 0755) < 0) {
					r = -errno;
					if (fd >= 0)
						close(fd);
					snprintf(where, wlen, "cannot make %s mode 0755", dup);
					goto out;
				}
				close(fd);
			} else if (errno != EEXIST) {
				r = -errno;
				snprintf(where, wlen, "cannot create %s", dup);
				goto out;
			}
			*p = c;
			if (c == '\0')
				break;
		}
	}
out:
	free(dup);
	return r;
}

int server_listen(struct daemon *d, int *lock_fd, int *listen_fd)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char *lockpath = NULL, err[192] = "";
	int lfd = -1, fd = -1, r;
	mode_t old_umask;

	*lock_fd = *listen_fd = -1;
	if (strlen(d->socket_path) >= sizeof(sa.sun_path)) {
		log_err("socket path %s is too long", d->socket_path);
		return -ENAMETOOLONG;
	}
	r = mkdir_parents(d->socket_path, err, sizeof(err));
	if (r < 0) {
		log_err("socket %s: %s: %s", d->socket_path,
			r == -ENOMEM ? "out of memory" : err, strerror(-r));
		return r;
	}
	/* The lock makes two daemons starting at once exclusive. */
	if (asprintf(&lockpath, "%s.lock", d->socket_path) < 0) {
		log_err("out of memory");
		return -ENOMEM;
	}
	lfd = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (lfd < 0) {
		r = -errno;
		log_err("cannot open %s: %s", lockpath, strerror(-r));
		goto fail;
	}
	if (flock(lfd, LOCK_EX | LOCK_NB) < 0) {
		r = errno == EWOULDBLOCK ? -EADDRINUSE : -errno;
		if (r == -EADDRINUSE)
			log_err("another vmcryptd is already serving %s", d->socket_path);
		else
			log_err("cannot lock %s: %s", lockpath, strerror(-r));
		goto fail;
	}
	strcpy(sa.sun_path, d->socket_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		r = -errno;
		log_err("cannot create a socket: %s", strerror(-r));
		goto fail;
	}
	/*
	 * Someone answering on the socket without holding our lock is a
	 * vmcryptd of an older build or one whose lock file was removed:
	 * refuse as well. A socket nobody answers is stale.
	 */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		log_err("another vmcryptd is already serving %s", d->socket_path);
		r = -EADDRINUSE;
		goto fail;
	}
	close(fd);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		r = -errno;
		log_err("cannot create a socket: %s", strerror(-r));
		goto fail;
	}
	if (unlink(d->socket_path) < 0 && errno != ENOENT) {
		r = -errno;
		log_err("cannot remove stale socket %s: %s", d->socket_path,
			strerror(-r));
		goto fail;
	}
	/*
	 * Anyone may connect: authorisation is per request (SO_PEERCRED).
	 * The mode comes from the umask at bind() rather than a chmod() by
	 * path afterwards, which would follow a symlink swapped in meanwhile.
	 * Start-up is single-threaded here, so the umask change is private.
	 */
	old_umask = umask(0111);
	r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old_umask);
	if (r < 0) {
		r = -errno;
		log_err("cannot bind %s: %s", d->socket_path, strerror(-r));
		goto fail;
	}
	if (listen(fd, 64) < 0) {
		r = -errno;
		log_err("cannot listen on %s: %s", d->socket_path, strerror(-r));
		unlink(d->socket_path);
		goto fail;
	}
	free(lockpath);
	*lock_fd = lfd;
	*listen_fd = fd;
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	if (lfd >= 0)
		close(lfd);
	free(lockpath);
	return r;
}

static const struct op_desc *find_op(const char *name)
{
	size_t i;

	for (i = 0; i < daemon_n_ops; i++)
		if (!strcmp(daemon_ops[i].name, name))
			return &daemon_ops[i];
	return NULL;
}

/* rq->failure, if it goes with the errno the request fails with */
static enum proto_failure failure_of(const struct request *rq, int r)
{
	switch (rq->failure) {
	case PROTO_FAILURE_REFUSED:
		return r == -EACCES || r == -EPERM ? rq->failure :
		       PROTO_FAILURE_NONE;
	case PROTO_FAILURE_UNAVAILABLE:
		return r == -EHOSTUNREACH ? rq->failure : PROTO_FAILURE_NONE;
	default:
		return PROTO_FAILURE_NONE;
	}
}

/* Run one request; returns the response object. */
static struct json_object *handle(struct daemon *d, struct request *rq,
				  const char *op, struct json_object *args)
{
	const struct op_desc *od = find_op(op);
	struct json_object *result;
	const char *bad;
	int r;

	rq->op = op;
	if (!od) {
		request_error(rq, "unknown operation '%s'", op);
		return proto_response(-EOPNOTSUPP, rq->error, NULL);
	}
	if (rq->role < od->role) {
		if (rq->role == ROLE_NONE)
			request_error(rq, "permission denied: operation '%s' needs role %s; user %s has no vmcrypt role",
				      op, role_name(od->role), rq->user);
		else
			request_error(rq, "permission denied: operation '%s' needs role %s; user %s has role %s",
				      op, role_name(od->role), rq->user,
				      role_name(rq->role));
		request_event(d, rq, (struct event){ .event = "request.refused",
			      .result = "refused", .error = rq->error });
		return proto_error_response(-EACCES, rq->error,
					    PROTO_FAILURE_REFUSED);
	}
	if (od->args && proto_check_args(args, od->args, NULL, &bad) < 0) {
		char what[PROTO_MAX_OP + 16];

		snprintf(what, sizeof(what), "operation '%s'", op);
		r = request_unknown_arg(rq, what, bad,
					" (is vmcryptctl newer than this vmcryptd?)");
		return proto_response(r, rq->error, NULL);
	}
	result = json_object_new_object();
	if (!result)
		return proto_response(-ENOMEM, NULL, NULL);
	r = od->fn(d, rq, args, result);
	if (r < 0) {
		json_object_put(result);
		if (!rq->error[0])
			request_error(rq, "%s: %s", op, strerror(-r));
		return proto_error_response(r, rq->error, failure_of(rq, r));
	}
	return proto_response(0, NULL, result);
}

static void *conn_thread(void *arg)
{
	struct conn *c = arg;
	struct daemon *d = c->d;
	struct request base = { 0 };

	base.uid = c->cred.uid;
	base.gid = c->cred.gid;
	base.pid = c->cred.pid;

	while (!d->stopping) {
		struct json_object *req = NULL, *args, *resp;
		char err[256], *buf = NULL;
		struct request rq;
		const char *op;
		size_t len;
		int r, fatal = 0;

		r = proto_recv_frame(c->fd, PROTO_MAX_REQUEST, &buf, &len);
		if (r == -ECONNRESET || r == -ETIMEDOUT || r == -EBADMSG ||
		    (r < 0 && r != -EMSGSIZE))
			break;	/* closed, idle too long, or truncated */
		rq = base;
		if (r == -EMSGSIZE) {
			snprintf(err, sizeof(err), "request too large (limit %d bytes)",
				 PROTO_MAX_REQUEST);
			resp = proto_response(-EMSGSIZE, err, NULL);
			fatal = 1;	/* the rest of the frame is unread */
		} else {
			r = proto_parse_request(buf, len, &req, &op, &args,
						err, sizeof(err));
			if (r < 0) {
				resp = proto_response(r, err, NULL);
				fatal = 1;
			} else {
				/* Roles are re-evaluated per request: config reloads apply. */
				pthread_rwlock_rdlock(&d->cfg_lock);
				rq.role = config_role_of(&d->cfg, rq.uid, rq.gid,
							 rq.user, sizeof(rq.user));
				pthread_rwlock_unlock(&d->cfg_lock);
				resp = handle(d, &rq, op, args);
			}
		}
		proto_frame_free(buf, len);
		proto_wipe_secrets(req);
		if (!resp) {
			json_object_put(req);
			break;
		}
		r = proto_send(c->fd, resp, PROTO_MAX_RESPONSE);
		if (r == -EMSGSIZE) {
			json_object_put(resp);
			resp = proto_response(-EMSGSIZE, "response too large", NULL);
			r = resp ? proto_send(c->fd, resp, PROTO_MAX_RESPONSE) : -ENOMEM;
		}
		json_object_put(resp);
		json_object_put(req);
		if (r < 0 || fatal)
			break;
	}
	pthread_mutex_lock(&conn_lock);
	conn_fds[c->slot] = -1;
	conn_count--;
	close(c->fd);
	pthread_cond_broadcast(&conn_cond);
	pthread_mutex_unlock(&conn_lock);
	free(c);
	return NULL;
}

/* Answer @fd with EBUSY and @why (before it asks anything), close it. */
static void refuse_busy(int fd, const char *why)
{
	struct json_object *resp = proto_response(-EBUSY, why, NULL);

	if (resp) {
		(void)proto_send(fd, resp, PROTO_MAX_RESPONSE);
		json_object_put(resp);
	}
	close(fd);
}

/* Log a refusal of @kind, at most once per interval per kind. */
static void log_refusal(enum refusal kind, const struct ucred *cred,
			const char *why)
{
	struct timespec now;
	unsigned long n = refusal_log[kind].suppressed;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (refusal_log[kind].logged &&
	    now.tv_sec - refusal_log[kind].last.tv_sec < REFUSAL_LOG_INTERVAL_S) {
		refusal_log[kind].suppressed++;
		return;
	}
	if (n)
		log_warn("refusing a client (uid %u, pid %d): %s (%lu more refusals of this kind since the last such message)",
			 (unsigned int)cred->uid, (int)cred->pid, why, n);
	else
		log_warn("refusing a client (uid %u, pid %d): %s",
			 (unsigned int)cred->uid, (int)cred->pid, why);
	refusal_log[kind].last = now;
	refusal_log[kind].logged = 1;
	refusal_log[kind].suppressed = 0;
}

static void uid_name(uid_t uid, char *name, size_t len)
{
	struct passwd pw, *pwp = NULL;
	char buf[4096];

	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &pwp) == 0 && pwp)
		snprintf(name, len, "%s", pw.pw_name);
	else
		snprintf(name, len, "%u", (unsigned int)uid);
}

/* Connections open from @uid; conn_lock held. */
static int conns_of(uid_t uid)
{
	int i, n = 0;

	for (i = 0; i < MAX_CONN_SLOTS; i++)
		if (conn_fds[i] >= 0 && conn_uids[i] == uid)
			n++;
	return n;
}

void server_init(void)
{
	int i;

	for (i = 0; i < MAX_CONN_SLOTS; i++)
		conn_fds[i] = -1;
}

int server_accept(struct daemon *d, int listen_fd)
{
	int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
	int max = DAEMON_CFG_INT(d, max_clients);
	int per_user = DAEMON_CFG_INT(d, max_clients_per_user);
	int tmo = DAEMON_CFG_INT(d, client_timeout_ms);
	struct timeval tv = { tmo / 1000, (tmo % 1000) * 1000 };
	int reserve, role_less = 0, kind = -1;
	char user[64] = "", why[320];
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	pthread_attr_t attr;
	pthread_t th;
	struct conn *c;
	int slot, open, r;

	if (fd < 0)
		return (errno == EAGAIN || errno == EINTR ||
			errno == ECONNABORTED) ? 0 : -errno;
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0) {
		log_warn("SO_PEERCRED failed: %s", strerror(errno));
		close(fd);
		return 0;
	}
	if (max > MAX_CONN_SLOTS)
		max = MAX_CONN_SLOTS;
	reserve = max / RESERVE_DIVISOR;

	/*
	 * The role matters here only when a reserved slot is at stake, so
	 * the group database (maybe slow) is asked only then, and never
	 * under conn_lock. Only this thread adds connections: until we
	 * lock again the count can only drop, so "no reserved slot at
	 * stake" stays true and a role not looked up is never needed.
	 */
	if (cred.uid != 0) {
		pthread_mutex_lock(&conn_lock);
		open = conn_count;
		pthread_mutex_unlock(&conn_lock);
		if (max - open - 1 < reserve) {
			pthread_rwlock_rdlock(&d->cfg_lock);
			role_less = config_role_of(&d->cfg, cred.uid, cred.gid,
						   user, sizeof(user)) == ROLE_NONE;
			pthread_rwlock_unlock(&d->cfg_lock);
		}
	}

	pthread_mutex_lock(&conn_lock);
	if (cred.uid != 0 && conns_of(cred.uid) >= per_user)
		kind = REFUSE_USER;
	else if (conn_count >= max)
		kind = REFUSE_FULL;
	else if (role_less && max - conn_count - 1 < reserve)
		kind = REFUSE_RESERVE;
	if (kind >= 0) {
		pthread_mutex_unlock(&conn_lock);
		if (!user[0])
			uid_name(cred.uid, user, sizeof(user));
		if (kind == REFUSE_USER)
			snprintf(why, sizeof(why), "too many connections from user %s (max_clients_per_user = %d)",
				 user, per_user);
		else if (kind == REFUSE_RESERVE)
			snprintf(why, sizeof(why), "vmcryptd is serving too many clients: the last %d of max_clients = %d connections are kept for users with a vmcrypt role, and user %s has none; try again",
				 reserve, max, user);
		else
			snprintf(why, sizeof(why), "vmcryptd is serving too many clients (max_clients = %d); try again",
				 max);
		log_refusal(kind, &cred, why);
		refuse_busy(fd, why);
		return 0;
	}
	for (slot = 0; conn_fds[slot] >= 0; slot++)
		;
	c = calloc(1, sizeof(*c));
	if (!c) {
		pthread_mutex_unlock(&conn_lock);
		close(fd);
		return 0;
	}
	c->d = d;
	c->fd = fd;
	c->slot = slot;
	c->cred = cred;
	conn_fds[slot] = fd;
	conn_uids[slot] = cred.uid;
	conn_count++;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	r = pthread_create(&th, &attr, conn_thread, c);
	pthread_attr_destroy(&attr);
	if (r) {
		conn_fds[slot] = -1;
		conn_count--;
		pthread_mutex_unlock(&conn_lock);
		log_warn("cannot start a client thread: %s", strerror(r));
		close(fd);
		free(c);
		return 0;
	}
	pthread_mutex_unlock(&conn_lock);
	return 0;
}

void server_shutdown(void)
{
	int i;

	pthread_mutex_lock(&conn_lock);
	/* Wake every thread blocked reading its client. */
	for (i = 0; i < MAX_CONN_SLOTS; i++)
		if (conn_fds[i] >= 0)
			shutdown(conn_fds[i], SHUT_RDWR);
	while (conn_count > 0)
		pthread_cond_wait(&conn_cond, &conn_lock);
	pthread_mutex_unlock(&conn_lock);
}
