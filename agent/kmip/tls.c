// SPDX-License-Identifier: GPL-2.0
/*
 * tls.c - TLS client transport for KMIP (see tls.h).
 *
 * Sockets are non-blocking and every wait is a poll() bounded by the
 * caller's deadline, so a server that accepts and never answers, or
 * stops in the middle of a message, costs at most the configured timeout;
 * so does a server name whose DNS never answers (resolve_bounded()).
 * TLS 1.2 is the minimum; at 1.2 the cipher list also allows the
 * CBC-SHA256/384 suites that PyKMIP's server offers with an RSA key.
 */
#include "kmip/tls.h"
#include "kmip/ttlv.h"
#include "kmip/message.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "lib/secmem.h"

/*
 * Forward secrecy only: with a static-RSA suite, whoever records the
 * traffic and later gets the server's RSA key reads every KEK it carried.
 * PyKMIP prefers AES128-SHA256 when it is offered and negotiates
 * ECDHE-RSA-AES128-SHA256 when it is not (Documentation/kmip.rst).
 */
#define TLS12_CIPHERS \
	"ECDHE+AESGCM:ECDHE+CHACHA20:DHE+AESGCM:" \
	"ECDHE-RSA-AES256-SHA384:ECDHE-RSA-AES128-SHA256:" \
	"ECDHE-ECDSA-AES256-SHA384:ECDHE-ECDSA-AES128-SHA256:" \
	"DHE-RSA-AES256-SHA256:DHE-RSA-AES128-SHA256"

int64_t tls_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Latest OpenSSL error as text (and clear the queue). */
static const char *ssl_errstr(char *buf, size_t n)
{
	unsigned long e = ERR_peek_last_error();

	if (!e)
		snprintf(buf, n, "unknown TLS error");
	else
		ERR_error_string_n(e, buf, n);
	ERR_clear_error();
	return buf;
}

/* No passphrase prompts in a daemon: an encrypted key is refused. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

/*
 * Open the private key once, check owner and mode on that descriptor and
 * parse the key from it, so the file checked is the file used.
 */
static int load_key_file(const char *path, EVP_PKEY **out,
			 struct kmip_result *res)
{
	char eb[256];
	struct stat st;
	BIO *bio;
	int fd, r = 0;

	*out = NULL;
	/* O_NONBLOCK: a FIFO planted as the key must not hang us in open(). */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0 || fstat(fd, &st) < 0) {
		int e = errno;

		if (fd >= 0)
			close(fd);
		kmip_result_set(res, "private key %s: %s", path, strerror(e));
		return -e;
	}
	if (!S_ISREG(st.st_mode)) {
		kmip_result_set(res, "private key %s is not a regular file", path);
		r = -EINVAL;
	} else if (st.st_uid != geteuid()) {
		kmip_result_set(res, "private key %s is owned by uid %u, not by "
				"the calling user (uid %u): refused", path,
				(unsigned int)st.st_uid,
				(unsigned int)geteuid());
		r = -EPERM;
	} else if (st.st_mode & 077) {
		kmip_result_set(res, "private key %s has mode %04o: it must not "
				"be accessible to group or others (chmod 600)",
				path, (unsigned int)(st.st_mode & 07777));
		r = -EPERM;
	}
	if (r == 0 && fcntl(fd, F_SETFL, 0) < 0) {
		r = -errno;
		kmip_result_set(res, "private key %s: %s", path, strerror(-r));
	}
	if (r < 0) {
		close(fd);
		return r;
	}
	bio = BIO_new_fd(fd, BIO_CLOSE);
	if (!bio) {
		close(fd);
		kmip_result_set(res, "private key %s: %s", path,
				ssl_errstr(eb, sizeof(eb)));
		return -ENOMEM;
	}
	*out = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
	BIO_free(bio);
	if (!*out) {
		kmip_result_set(res, "private key %s: %s", path,
				ssl_errstr(eb, sizeof(eb)));
		return -EINVAL;
	}
	return 0;
}

static int check_readable(const char *what, const char *path,
			  struct kmip_result *res)
{
	if (access(path, R_OK) < 0) {
		int e = errno;

		kmip_result_set(res, "%s %s: %s", what, path, strerror(e));
		return -e;
	}
	return 0;
}

int tls_ctx_new(const struct kmip_tls_config *cfg, SSL_CTX **out,
		struct kmip_result *res)
{
	EVP_PKEY *pkey = NULL;
	char eb[256];
	SSL_CTX *ctx;
	int r;

	*out = NULL;
	if (!cfg || !cfg->ca_file || !cfg->cert_file || !cfg->key_file) {
		kmip_result_set(res, "TLS configuration needs a CA, a client "
				"certificate and a key file");
		return -EINVAL;
	}
	r = check_readable("CA file", cfg->ca_file, res);
	if (!r)
		r = check_readable("certificate", cfg->cert_file, res);
	if (!r)
		r = check_readable("private key", cfg->key_file, res);
	if (!r)
		r = load_key_file(cfg->key_file, &pkey, res);
	if (r < 0)
		return r;

	ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx) {
		kmip_result_set(res, "SSL_CTX_new: %s", ssl_errstr(eb, sizeof(eb)));
		EVP_PKEY_free(pkey);
		return -ENOMEM;
	}
	r = -EINVAL;
	if (!SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) ||
	    !SSL_CTX_set_cipher_list(ctx, TLS12_CIPHERS)) {
		kmip_result_set(res, "TLS setup: %s", ssl_errstr(eb, sizeof(eb)));
		goto fail;
	}
	SSL_CTX_set_mode(ctx, SSL_MODE_AUTO_RETRY | SSL_MODE_RELEASE_BUFFERS);
	/*
	 * Get responses carry KEKs: have OpenSSL wipe decrypted records in
	 * its own buffers instead of freeing them with the plaintext inside.
	 */
	SSL_CTX_set_options(ctx, SSL_OP_CLEANSE_PLAINTEXT);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (!SSL_CTX_load_verify_locations(ctx, cfg->ca_file, NULL)) {
		kmip_result_set(res, "CA file %s: %s", cfg->ca_file,
				ssl_errstr(eb, sizeof(eb)));
		goto fail;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx, cfg->cert_file) != 1) {
		kmip_result_set(res, "certificate %s: %s", cfg->cert_file,
				ssl_errstr(eb, sizeof(eb)));
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey(ctx, pkey) != 1) {
		if (ERR_GET_REASON(ERR_peek_last_error()) ==
		    X509_R_KEY_VALUES_MISMATCH) {
			kmip_result_set(res, "private key %s does not match "
					"certificate %s", cfg->key_file,
					cfg->cert_file);
			ERR_clear_error();
			r = -EKEYREJECTED;
		} else {
			kmip_result_set(res, "private key %s: %s",
					cfg->key_file,
					ssl_errstr(eb, sizeof(eb)));
		}
		goto fail;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		kmip_result_set(res, "private key %s does not match certificate "
				"%s", cfg->key_file, cfg->cert_file);
		ERR_clear_error();
		r = -EKEYREJECTED;
		goto fail;
	}
	EVP_PKEY_free(pkey);
	*out = ctx;
	return 0;
fail:
	EVP_PKEY_free(pkey);
	SSL_CTX_free(ctx);
	return r;
}

/* Wait for @events on @fd until @deadline; 0, -ETIMEDOUT or -errno. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		struct pollfd p = { .fd = fd, .events = events };
		int64_t left = deadline - tls_now_ms();
		int n;

		if (left <= 0)
			return -ETIMEDOUT;
		n = poll(&p, 1, left > 60000 ? 60000 : (int)left);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -errno;
	}
}

static int tcp_connect(const struct addrinfo *ai, int64_t deadline, int *out)
{
	int fd, r, one = 1;
	socklen_t sl = sizeof(r);

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    ai->ai_protocol);
	if (fd < 0)
		return -errno;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
		if (errno != EINPROGRESS) {
			r = -errno;
			goto fail;
		}
		r = wait_fd(fd, POLLOUT, deadline);
		if (r < 0)
			goto fail;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &r, &sl) < 0) {
			r = -errno;
			goto fail;
		}
		if (r) {
			r = -r;
			goto fail;
		}
	}
	*out = fd;
	return 0;
fail:
	close(fd);
	return r;
}

/* Map a failed SSL_* call to -errno and a message. */
static int ssl_fail(SSL *ssl, int ret, const char *what,
		    struct kmip_result *res)
{
	int err = SSL_get_error(ssl, ret);
	char eb[256];
	long vr;

	switch (err) {
	case SSL_ERROR_ZERO_RETURN:
		kmip_result_set(res, "%s: connection closed by the server", what);
		ERR_clear_error();
		return -ECONNRESET;
	case SSL_ERROR_SYSCALL:
		if (ERR_peek_last_error()) {
			ssl_errstr(eb, sizeof(eb));
			kmip_result_set(res, "%s: %s", what, eb);
			return -EPROTO;
		}
		if (errno && errno != EAGAIN) {
			int e = errno;

			kmip_result_set(res, "%s: %s", what, strerror(e));
			return e == EPIPE ? -EPIPE : -ECONNRESET;
		}
		kmip_result_set(res, "%s: connection closed by the server", what);
		return -ECONNRESET;
	case SSL_ERROR_SSL:
		vr = SSL_get_verify_result(ssl);
		if (vr != X509_V_OK) {
			kmip_result_set(res, "%s: server certificate verify "
					"failed: %s", what,
					X509_verify_cert_error_string(vr));
			ERR_clear_error();
			return -EPROTO;
		}
		ssl_errstr(eb, sizeof(eb));
		/* An EOF inside a record is a close mid-message. */
		if (strstr(eb, "unexpected eof")) {
			kmip_result_set(res, "%s: connection closed by the "
					"server", what);
			return -ECONNRESET;
		}
		kmip_result_set(res, "%s: %s", what, eb);
		return -EPROTO;
	default:
		kmip_result_set(res, "%s: TLS error %d", what, err);
		ERR_clear_error();
		return -EPROTO;
	}
}

/* Run one SSL operation to completion or deadline. */
typedef int (*ssl_op_fn)(SSL *ssl, void *buf, size_t len, size_t *done);

static int ssl_do_handshake(SSL *ssl, void *buf, size_t len, size_t *done)
{
	(void)buf;
	(void)len;
	(void)done;
	return SSL_connect(ssl);
}

static int ssl_do_write(SSL *ssl, void *buf, size_t len, size_t *done)
{
	return SSL_write_ex(ssl, buf, len, done);
}

static int ssl_do_read(SSL *ssl, void *buf, size_t len, size_t *done)
{
	return SSL_read_ex(ssl, buf, len, done);
}

static int ssl_run_unguarded(struct tls_conn *tc, ssl_op_fn fn, void *buf,
			     size_t len, size_t *done, int64_t deadline,
			     const char *what, struct kmip_result *res)
{
	for (;;) {
		int ret, err, r;

		ERR_clear_error();
		errno = 0;
		ret = fn(tc->ssl, buf, len, done);
		if (ret == 1)
			return 0;
		err = SSL_get_error(tc->ssl, ret);
		if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) {
			r = wait_fd(tc->fd, err == SSL_ERROR_WANT_READ ?
				    POLLIN : POLLOUT, deadline);
			if (r == -ETIMEDOUT) {
				kmip_result_set(res, "%s: timed out", what);
				return r;
			}
			if (r < 0) {
				kmip_result_set(res, "%s: poll: %s", what,
						strerror(-r));
				return r;
			}
			continue;
		}
		return ssl_fail(tc->ssl, ret, what, res);
	}
}

/*
 * A write to a socket the peer has closed raises SIGPIPE, which would
 * kill a program that did not ignore it. Block it around OpenSSL calls
 * (they may write even when reading) and swallow one we caused.
 */
struct sigpipe_guard {
	sigset_t old;
	int was_pending;
};

static void sigpipe_block(struct sigpipe_guard *g)
{
	sigset_t pipe, pending;

	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	sigemptyset(&pending);
	sigpending(&pending);
	g->was_pending = sigismember(&pending, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe, &g->old);
}

static void sigpipe_restore(struct sigpipe_guard *g)
{
	static const struct timespec zero = { 0, 0 };
	sigset_t pipe, pending;

	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	sigemptyset(&pending);
	sigpending(&pending);
	if (!g->was_pending && sigismember(&pending, SIGPIPE)) {
		while (sigtimedwait(&pipe, NULL, &zero) < 0 && errno == EINTR)
			;
	}
	pthread_sigmask(SIG_SETMASK, &g->old, NULL);
}

static int ssl_run(struct tls_conn *tc, ssl_op_fn fn, void *buf, size_t len,
		   size_t *done, int64_t deadline, const char *what,
		   struct kmip_result *res)
{
	struct sigpipe_guard g;
	int r;

	sigpipe_block(&g);
	r = ssl_run_unguarded(tc, fn, buf, len, done, deadline, what, res);
	sigpipe_restore(&g);
	return r;
}

bool tls_idle_usable(struct tls_conn *tc)
{
	struct pollfd p = { .fd = tc->fd, .events = POLLIN | POLLRDHUP };
	struct sigpipe_guard g;
	uint8_t b;
	size_t n;
	int ret, err;

	if (!tc->ssl || tc->fd < 0 || SSL_pending(tc->ssl) > 0)
		return false;	/* unsolicited data: the stream is out of step */
	ret = poll(&p, 1, 0);
	if (ret == 0)
		return true;	/* nothing arrived while idle */
	if (ret < 0)
		return errno == EINTR;	/* the exchange will tell */
	if (p.revents & (POLLERR | POLLHUP | POLLRDHUP | POLLNVAL))
		return false;
	/*
	 * Readable: TLS housekeeping (a TLS 1.3 session ticket or key update,
	 * which SSL_peek consumes and then wants more), a close_notify, or
	 * application data nobody asked for.
	 */
	sigpipe_block(&g);
	ERR_clear_error();
	ret = SSL_peek_ex(tc->ssl, &b, 1, &n);
	err = ret == 1 ? SSL_ERROR_NONE : SSL_get_error(tc->ssl, ret);
	ERR_clear_error();
	sigpipe_restore(&g);
	return err == SSL_ERROR_WANT_READ;
}

static int is_ip_literal(const char *host)
{
	unsigned char b[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, host, b) == 1 ||
	       inet_pton(AF_INET6, host, b) == 1;
}

/*
 * getaddrinfo() has no timeout of its own: with a DNS server that never
 * answers it waits as long as resolv.conf says (by default 5 s per try,
 * two tries, per name server), and the caller's connect timeout would not
 * hold. A name is therefore resolved in a detached thread while the
 * caller waits until its deadline; an answer that comes too late is freed
 * by that thread. The job is shared by the two and freed by the last.
 */
struct resolve_job {
	pthread_mutex_t lock;
	pthread_cond_t cond;		/* CLOCK_MONOTONIC, like the deadline */
	int refs;			/* the caller and the thread */
	int done;
	int rc;				/* getaddrinfo()'s */
	struct addrinfo *ai;
	struct addrinfo hints;
	char port[16];
	char host[];
};

/* Drop one reference; called with j->lock held, returns with it released. */
static void resolve_job_put(struct resolve_job *j)
{
	int last = --j->refs == 0;

	pthread_mutex_unlock(&j->lock);
	if (!last)
		return;
	if (j->ai)
		freeaddrinfo(j->ai);
	pthread_cond_destroy(&j->cond);
	pthread_mutex_destroy(&j->lock);
	free(j);
}

static void *resolve_thread(void *arg)
{
	struct resolve_job *j = arg;
	struct addrinfo *ai = NULL;
	int rc = getaddrinfo(j->host, j->port, &j->hints, &ai);

	pthread_mutex_lock(&j->lock);
	j->rc = rc;
	j->ai = rc ? NULL : ai;
	j->done = 1;
	pthread_cond_signal(&j->cond);
	resolve_job_put(j);
	return NULL;
}

static int resolve_bounded(const char *host, const char *port,
			   const struct addrinfo *hints, int64_t deadline,
			   struct addrinfo **out, struct kmip_result *res)
{
	size_t hlen = strlen(host) + 1;
	struct resolve_job *j;
	pthread_condattr_t ca;
	pthread_attr_t attr;
	struct timespec ts;
	pthread_t th;
	int r, rc;

	*out = NULL;
	j = calloc(1, sizeof(*j) + hlen);
	if (!j) {
		kmip_result_set(res, "resolve %s: out of memory", host);
		return -ENOMEM;
	}
	memcpy(j->host, host, hlen);
	snprintf(j->port, sizeof(j->port), "%s", port);
	j->hints = *hints;
	j->refs = 2;
	pthread_mutex_init(&j->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&j->cond, &ca);
	pthread_condattr_destroy(&ca);

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	r = pthread_create(&th, &attr, resolve_thread, j);
	pthread_attr_destroy(&attr);
	pthread_mutex_lock(&j->lock);
	if (r) {
		j->refs--;	/* the thread's, never taken */
		resolve_job_put(j);
		kmip_result_set(res, "resolve %s: cannot start a thread: %s",
				host, strerror(r));
		return -r;
	}
	ts.tv_sec = deadline / 1000;
	ts.tv_nsec = (deadline % 1000) * 1000000;
	while (!j->done)
		if (pthread_cond_timedwait(&j->cond, &j->lock, &ts) == ETIMEDOUT)
			break;
	if (!j->done) {
		resolve_job_put(j);
		kmip_result_set(res, "resolve %s: timed out", host);
		return -ETIMEDOUT;
	}
	rc = j->rc;
	*out = j->ai;
	j->ai = NULL;
	resolve_job_put(j);
	if (rc) {
		kmip_result_set(res, "resolve %s: %s", host, gai_strerror(rc));
		return -EHOSTUNREACH;
	}
	return 0;
}

int tls_connect(SSL_CTX *ctx, const char *host, unsigned int port,
		int timeout_ms, struct tls_conn *tc, struct kmip_result *res)
{
	struct addrinfo hints = {
		.ai_family = AF_UNSPEC,
		.ai_socktype = SOCK_STREAM,
		.ai_flags = AI_NUMERICSERV,
	};
	struct addrinfo *ai = NULL, *a;
	int64_t deadline = tls_now_ms() + timeout_ms;
	char portstr[16], what[300];
	int r, n, fd = -1;

	tc->ssl = NULL;
	tc->fd = -1;
	snprintf(portstr, sizeof(portstr), "%u", port);
	if (is_ip_literal(host)) {
		/* no DNS involved: nothing to wait for */
		hints.ai_flags |= AI_NUMERICHOST;
		r = getaddrinfo(host, portstr, &hints, &ai);
		if (r) {
			kmip_result_set(res, "resolve %s: %s", host,
					gai_strerror(r));
			return -EHOSTUNREACH;
		}
	} else {
		r = resolve_bounded(host, portstr, &hints, deadline, &ai, res);
		if (r < 0)
			return r;
	}
	/*
	 * Each address gets an even share of the time left, the last one all
	 * of it: a name with a dead address first (an IPv6 route that drops
	 * packets, a round-robin record of a server that is down) must not
	 * spend the whole timeout there and never try the one that works.
	 */
	for (n = 0, a = ai; a; a = a->ai_next)
		n++;
	r = -EHOSTUNREACH;
	for (a = ai; a; a = a->ai_next, n--) {
		int64_t now = tls_now_ms();

		r = tcp_connect(a, n > 1 ? now + (deadline - now) / n : deadline, &fd);
		if (r == 0 || tls_now_ms() >= deadline)
			break;
	}
	freeaddrinfo(ai);
	if (r < 0) {
		kmip_result_set(res, "connect %s:%u: %s", host, port,
				r == -ETIMEDOUT ? "timed out" : strerror(-r));
		/*
		 * A local policy (an LSM, a firewall rule) that forbids the
		 * connection: this host cannot reach the server, which is not
		 * the server refusing anything. The message keeps the reason.
		 */
		return r == -EACCES || r == -EPERM ? -ENETUNREACH : r;
	}

	tc->fd = fd;
	tc->ssl = SSL_new(ctx);
	if (!tc->ssl) {
		kmip_result_set(res, "SSL_new failed");
		r = -ENOMEM;
		goto fail;
	}
	if (is_ip_literal(host)) {
		r = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(tc->ssl), host);
	} else {
		r = SSL_set1_host(tc->ssl, host) &&
		    SSL_set_tlsext_host_name(tc->ssl, host);
	}
	if (r != 1 || SSL_set_fd(tc->ssl, fd) != 1) {
		kmip_result_set(res, "TLS setup for %s failed", host);
		ERR_clear_error();
		r = -ENOMEM;
		goto fail;
	}
	snprintf(what, sizeof(what), "TLS handshake with %s:%u", host, port);
	r = ssl_run(tc, ssl_do_handshake, NULL, 0, NULL, deadline, what, res);
	if (r < 0)
		goto fail;
	return 0;
fail:
	tls_close(tc);
	return r;
}

void tls_close(struct tls_conn *tc)
{
	if (tc->ssl) {
		/* Do not wait for the peer's close_notify. */
		SSL_set_quiet_shutdown(tc->ssl, 1);
		SSL_free(tc->ssl);
		tc->ssl = NULL;
	}
	if (tc->fd >= 0) {
		close(tc->fd);
		tc->fd = -1;
	}
}

int tls_send(struct tls_conn *tc, const uint8_t *buf, size_t len,
	     int64_t deadline_ms, struct kmip_result *res)
{
	size_t off = 0;

	while (off < len) {
		size_t done = 0;
		int r = ssl_run(tc, ssl_do_write, (void *)(buf + off),
				len - off, &done, deadline_ms,
				"send request", res);

		if (r < 0)
			return r;
		off += done;
	}
	return 0;
}

static int recv_exact(struct tls_conn *tc, uint8_t *buf, size_t len,
		      int64_t deadline, const char *what,
		      struct kmip_result *res)
{
	size_t off = 0;

	while (off < len) {
		size_t done = 0;
		int r = ssl_run(tc, ssl_do_read, buf + off, len - off, &done,
				deadline, what, res);

		if (r < 0)
			return r;
		off += done;
	}
	return 0;
}

int tls_recv_message(struct tls_conn *tc, size_t max, int64_t deadline_ms,
		     uint8_t **out, size_t *outlen, struct kmip_result *res)
{
	uint8_t hdr[TTLV_HEADER_LEN];
	int64_t total;
	uint8_t *buf;
	int r;

	*out = NULL;
	*outlen = 0;
	r = recv_exact(tc, hdr, sizeof(hdr), deadline_ms,
		       "receive response", res);
	if (r < 0) {
		if (r == -ETIMEDOUT)
			kmip_result_set(res, "no response from the server "
					"within the timeout");
		return r;
	}
	total = ttlv_message_length(hdr);
	if (total < 0 || hdr[0] != 0x42 || hdr[1] != 0x00 || hdr[2] != 0x7B) {
		kmip_result_set(res, "response is not a KMIP Response Message "
				"(starts with %02x%02x%02x%02x)",
				hdr[0], hdr[1], hdr[2], hdr[3]);
		return -EBADMSG;
	}
	if ((uint64_t)total > max) {
		kmip_result_set(res, "response of %lld bytes exceeds the limit "
				"of %zu bytes", (long long)total, max);
		return -EMSGSIZE;
	}
	buf = secmem_alloc((size_t)total);
	if (!buf) {
		r = -errno;
		kmip_result_set(res, "cannot lock %lld bytes for the response: %s",
				(long long)total, strerror(-r));
		return r;
	}
	memcpy(buf, hdr, sizeof(hdr));
	r = recv_exact(tc, buf + TTLV_HEADER_LEN,
		       (size_t)total - TTLV_HEADER_LEN, deadline_ms,
		       "receive response body", res);
	if (r < 0) {
		if (r == -ETIMEDOUT)
			kmip_result_set(res, "response truncated: the server "
					"stopped sending in the middle of a "
					"message");
		else if (r == -ECONNRESET)
			kmip_result_set(res, "response truncated: the server "
					"closed the connection in the middle "
					"of a message");
		secmem_free(buf, (size_t)total);
		return r;
	}
	*out = buf;
	*outlen = (size_t)total;
	return 0;
}

void tls_msg_free(uint8_t *buf, size_t len)
{
	secmem_free(buf, len);
}
