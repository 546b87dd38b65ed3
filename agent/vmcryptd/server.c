// SPDX-License-Identifier: GPL-2.0
/*
 * server.c - the control socket: bind (refusing to start when another
 * vmcryptd serves it), accept, one thread per connection up to
 * max_clients, per-request authorisation against the op table, and a
 * clean shutdown that stops accepting, unblocks every client thread and
 * waits for the handlers in flight (their KMS I/O has timeouts).
 */
#include "vmcryptd/server.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <json-c/json.h>

#include "lib/log.h"
#include "lib/proto.h"

#define MAX_CONN_SLOTS 1024

static pthread_mutex_t conn_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t conn_cond = PTHREAD_COND_INITIALIZER;
static int conn_fds[MAX_CONN_SLOTS];
static int conn_count;

struct conn {
	struct daemon *d;
	int fd;
	int slot;
};

/* mkdir -p for the socket's directory, new levels mode 0755. */
static int mkdir_parents(const char *path)
{
	char *dup = strdup(path), *p;
	int r = 0;

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
			if (mkdir(dup, 0755) < 0 && errno != EEXIST) {
				r = -errno;
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
	char *lockpath = NULL;
	int lfd = -1, fd = -1, r;
	mode_t old_umask;

	*lock_fd = *listen_fd = -1;
	if (strlen(d->socket_path) >= sizeof(sa.sun_path)) {
		log_err("socket path %s is too long", d->socket_path);
		return -ENAMETOOLONG;
	}
	r = mkdir_parents(d->socket_path);
	if (r < 0) {
		log_err("cannot create the directory of %s: %s", d->socket_path,
			strerror(-r));
		return r;
	}
	/* The lock makes two daemons starting at once exclusive. */
	if (asprintf(&lockpath, "%s.lock", d->socket_path) < 0)
		return -ENOMEM;
	lfd = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (lfd < 0) {
		r = -errno;
		log_err("cannot open %s: %s", lockpath, strerror(-r));
		goto fail;
	}
	if (flock(lfd, LOCK_EX | LOCK_NB) < 0) {
		r = errno == EWOULDBLOCK ? -EADDRINUSE : -errno;
		log_err("another vmcryptd is already serving %s", d->socket_path);
		goto fail;
	}
	strcpy(sa.sun_path, d->socket_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		r = -errno;
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

/* Run one request; returns the response object. */
static struct json_object *handle(struct daemon *d, struct request *rq,
				  const char *op, struct json_object *args)
{
	const struct op_desc *od = find_op(op);
	struct json_object *result;
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
		return proto_response(-EACCES, rq->error, NULL);
	}
	result = json_object_new_object();
	if (!result)
		return proto_response(-ENOMEM, NULL, NULL);
	r = od->fn(d, rq, args, result);
	if (r < 0) {
		json_object_put(result);
		if (!rq->error[0])
			request_error(rq, "%s: %s", op, strerror(-r));
		return proto_response(r, rq->error, NULL);
	}
	return proto_response(0, NULL, result);
}

static void *conn_thread(void *arg)
{
	struct conn *c = arg;
	struct daemon *d = c->d;
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	struct request base = { 0 };

	if (getsockopt(c->fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0) {
		log_warn("SO_PEERCRED failed: %s", strerror(errno));
		goto out;
	}
	base.uid = cred.uid;
	base.gid = cred.gid;
	base.pid = cred.pid;

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
		free(buf);
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
out:
	pthread_mutex_lock(&conn_lock);
	conn_fds[c->slot] = -1;
	conn_count--;
	close(c->fd);
	pthread_cond_broadcast(&conn_cond);
	pthread_mutex_unlock(&conn_lock);
	free(c);
	return NULL;
}

static void refuse_busy(int fd)
{
	struct json_object *resp = proto_response(-EBUSY,
		"vmcryptd is serving too many clients; try again", NULL);

	if (resp) {
		(void)proto_send(fd, resp, PROTO_MAX_RESPONSE);
		json_object_put(resp);
	}
	close(fd);
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
	int tmo = DAEMON_CFG_INT(d, client_timeout_ms);
	struct timeval tv = { tmo / 1000, (tmo % 1000) * 1000 };
	pthread_attr_t attr;
	pthread_t th;
	struct conn *c;
	int slot, r;

	if (fd < 0)
		return (errno == EAGAIN || errno == EINTR ||
			errno == ECONNABORTED) ? 0 : -errno;
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));

	pthread_mutex_lock(&conn_lock);
	if (conn_count >= max || conn_count >= MAX_CONN_SLOTS) {
		pthread_mutex_unlock(&conn_lock);
		log_warn("refusing a client: %d connections open", max);
		refuse_busy(fd);
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
	conn_fds[slot] = fd;
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
