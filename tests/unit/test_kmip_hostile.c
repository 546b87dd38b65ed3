// SPDX-License-Identifier: GPL-2.0
/*
 * test_kmip_hostile.c - the KMIP client against a fake server that
 * misbehaves on purpose (scripts/kmip/hostile-server.py on 127.0.0.1):
 * garbage, a TTLV message that is not a response, a 4 GiB length, a
 * response cut short (closed, or stalled), a close without answer, a
 * server that never answers or never completes the TLS handshake, an
 * answer to another operation, a certificate for another name or from
 * another CA, a server with static-RSA suites only (no forward secrecy).
 * Each must give the documented error, with a message, within
 * the configured timeout; a correct server (TLS 1.2 and 1.3 only) and one
 * that closes after every answer must work. A Create is never sent twice:
 * not after a lost answer, and a connection closed while idle is noticed
 * before it is sent. Run under SAN=1 for leaks.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "kmip/kmip.h"
#include "kmip/tls.h"
#include "test_kmip_common.h"

#define IO_MS 1500
#define CONNECT_MS 1500

static char cert_dir[200];
static char src_dir[400];
static char setup_error[600];
static pid_t owner;

__attribute__((constructor)) static void make_certs(void)
{
	const char *src = getenv("VMCRYPT_SRCDIR");
	char cmd[1200];

	snprintf(src_dir, sizeof(src_dir), "%s", src && *src ? src : ".");
	snprintf(cmd, sizeof(cmd), "%s/scripts/kmip/hostile-server.py",
		 src_dir);
	if (access(cmd, R_OK) < 0) {
		snprintf(setup_error, sizeof(setup_error),
			 "SKIP:%.500s not found (run from the source tree or "
			 "set VMCRYPT_SRCDIR)", cmd);
		return;
	}
	snprintf(cert_dir, sizeof(cert_dir), "%s/vmcrypt-hostile-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(cert_dir)) {
		snprintf(setup_error, sizeof(setup_error), "mkdtemp failed");
		return;
	}
	owner = getpid();
	snprintf(cmd, sizeof(cmd), "%s/scripts/kmip/make-certs %s --hostile",
		 src_dir, cert_dir);
	if (system(cmd) != 0)
		snprintf(setup_error, sizeof(setup_error),
			 "make-certs failed");
}

__attribute__((destructor)) static void remove_certs(void)
{
	char cmd[300];

	if (owner != getpid() || !cert_dir[0])
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", cert_dir);
	if (system(cmd) != 0)
		fprintf(stderr, "# cannot remove %s\n", cert_dir);
}

FIXTURE(hostile) {
	pid_t pid;
	unsigned int port;
	struct kmip_conn *c;
	struct kmip_result res;
};

FIXTURE_VARIANT(hostile) {
	const char *mode;
	const char *cert;	/* server certificate, default "server" */
	int from_start;		/* misbehave on Discover Versions too */
	int expect;		/* errno of kmip_get_key */
	const char *message;	/* substring of res.message */
	int slow;		/* may take a timeout to fail */
};

static int wait_port(const char *path, unsigned int *port)
{
	for (int i = 0; i < 400; i++) {	/* 20 s: python starts slowly */
		FILE *f = fopen(path, "r");

		if (f) {
			int ok = fscanf(f, "%u", port) == 1;

			fclose(f);
			if (ok)
				return 0;
		}
		usleep(50000);
	}
	return -ETIMEDOUT;
}

/*
 * Start hostile-server.py in @mode (and --op-log @op_log if not NULL);
 * its pid, or -1 after a failed assertion. The port goes to *@port.
 */
static pid_t spawn_server(struct __test_metadata *_metadata, const char *mode,
			  const char *cert, int from_start, const char *op_log,
			  unsigned int *port)
{
	char script[600], portfile[300], dir[300], parent[16];
	pid_t pid;

	snprintf(script, sizeof(script), "%.400s/scripts/kmip/hostile-server.py",
		 src_dir);
	snprintf(portfile, sizeof(portfile), "%s/port-%s-%d", cert_dir, mode,
		 (int)getpid());
	snprintf(dir, sizeof(dir), "%s", cert_dir);
	snprintf(parent, sizeof(parent), "%d", (int)getpid());
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		const char *argv[16] = {
			"python3", script, "--mode", mode, "--dir", dir,
			"--cert", cert ? cert : "server", "--port-file", portfile,
			"--parent", parent,
		};
		int devnull = open("/dev/null", O_RDWR), n = 12;

		setpgid(0, 0);	/* its own group: teardown kills it all */
		dup2(devnull, 0);
		dup2(devnull, 1);
		if (from_start)
			argv[n++] = "--from-start";
		if (op_log) {
			argv[n++] = "--op-log";
			argv[n++] = op_log;
		}
		argv[n] = NULL;
		execv("/usr/bin/python3", (char **)argv);
		_exit(127);
	}
	setpgid(pid, pid);
	if (wait_port(portfile, port)) {
		kill(-pid, SIGKILL);
		waitpid(pid, NULL, 0);
		TH_LOG("hostile server did not start");
		return -1;
	}
	unlink(portfile);
	return pid;
}

static int connect_to(unsigned int port, struct kmip_conn **c,
		      struct kmip_result *res)
{
	struct kmip_tls_config cfg = { 0 };
	char ca[300], cert[300], key[300];

	snprintf(ca, sizeof(ca), "%s/ca.crt", cert_dir);
	snprintf(cert, sizeof(cert), "%s/client.crt", cert_dir);
	snprintf(key, sizeof(key), "%s/client.key", cert_dir);
	cfg.ca_file = ca;
	cfg.cert_file = cert;
	cfg.key_file = key;
	cfg.connect_timeout_ms = CONNECT_MS;
	cfg.io_timeout_ms = IO_MS;
	cfg.max_message = 64 * 1024;
	return kmip_conn_new("127.0.0.1", port, &cfg, c, res);
}

static void stop_server(pid_t pid)
{
	if (pid > 0) {
		kill(-pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
}

FIXTURE_SETUP(hostile)
{
	self->pid = -1;
	self->c = NULL;
	if (!strncmp(setup_error, "SKIP:", 5))
		SKIP(return, "%.500s", setup_error + 5);
	ASSERT_EQ(0, setup_error[0]) TH_LOG("%s", setup_error);
	self->pid = spawn_server(_metadata, variant->mode, variant->cert,
				 variant->from_start, NULL, &self->port);
	ASSERT_GT(self->pid, 0);
	ASSERT_EQ(0, connect_to(self->port, &self->c, &self->res))
		TH_LOG("%s", self->res.message);
}

FIXTURE_TEARDOWN(hostile)
{
	kmip_conn_free(self->c);
	stop_server(self->pid);
	EXPECT_EQ(0, kmip_leak_check());
}

FIXTURE_VARIANT_ADD(hostile, valid) { .mode = "valid" };
FIXTURE_VARIANT_ADD(hostile, tls13_only) { .mode = "tls13" };
/* static-RSA suites only (no forward secrecy): refused at the handshake */
FIXTURE_VARIANT_ADD(hostile, static_rsa_only) {
	.mode = "static-rsa", .expect = -EPROTO,
	.message = "TLS handshake with 127.0.0.1" };
FIXTURE_VARIANT_ADD(hostile, closes_after_each_answer) { .mode = "close-after" };
FIXTURE_VARIANT_ADD(hostile, garbage) {
	.mode = "garbage", .expect = -EBADMSG,
	.message = "not a KMIP Response Message" };
FIXTURE_VARIANT_ADD(hostile, garbage_to_discover) {
	.mode = "garbage", .from_start = 1, .expect = -EBADMSG,
	.message = "not a KMIP Response Message" };
FIXTURE_VARIANT_ADD(hostile, request_not_response) {
	.mode = "not-response", .expect = -EBADMSG,
	.message = "not a KMIP Response Message" };
FIXTURE_VARIANT_ADD(hostile, huge_length) {
	.mode = "huge", .expect = -EMSGSIZE, .message = "exceeds the limit" };
FIXTURE_VARIANT_ADD(hostile, truncated_then_closed) {
	.mode = "truncated", .expect = -ECONNRESET,
	.message = "closed the connection in the middle" };
FIXTURE_VARIANT_ADD(hostile, truncated_then_stalled) {
	.mode = "stall-midway", .expect = -ETIMEDOUT, .message = "truncated",
	.slow = 1 };
FIXTURE_VARIANT_ADD(hostile, closes_without_answer) {
	.mode = "close", .expect = -ECONNRESET,
	.message = "connection closed by the server" };
FIXTURE_VARIANT_ADD(hostile, never_answers) {
	.mode = "silent", .expect = -ETIMEDOUT, .message = "no response",
	.slow = 1 };
FIXTURE_VARIANT_ADD(hostile, never_answers_discover) {
	.mode = "silent", .from_start = 1, .expect = -ETIMEDOUT,
	.message = "no response", .slow = 1 };
FIXTURE_VARIANT_ADD(hostile, no_tls_handshake) {
	.mode = "no-handshake", .expect = -ETIMEDOUT,
	.message = "TLS handshake with 127.0.0.1", .slow = 1 };
FIXTURE_VARIANT_ADD(hostile, answers_another_operation) {
	.mode = "wrong-batch", .expect = -EBADMSG,
	.message = "does not answer" };
FIXTURE_VARIANT_ADD(hostile, certificate_for_other_name) {
	.mode = "valid", .cert = "badname", .expect = -EPROTO,
	.message = "certificate verify failed" };
FIXTURE_VARIANT_ADD(hostile, certificate_from_other_ca) {
	.mode = "valid", .cert = "rogue", .expect = -EPROTO,
	.message = "certificate verify failed" };

TEST_F_TIMEOUT(hostile, get_key, 60)
{
	struct secbuf k;
	int64_t t0, elapsed;
	int r;

	t0 = tls_now_ms();
	r = kmip_get_key(self->c, "1", &k, &self->res);
	elapsed = tls_now_ms() - t0;
	TH_LOG("%s: %d (%s) after %lld ms", variant->mode, r,
	       self->res.message, (long long)elapsed);
	ASSERT_EQ(variant->expect, r);
	/* Nothing ever waits longer than the configured timeouts. */
	EXPECT_LT(elapsed, (int64_t)(IO_MS + CONNECT_MS + 1000));
	if (!variant->slow)
		EXPECT_LT(elapsed, (int64_t)IO_MS);
	if (r == 0) {
		ASSERT_EQ((size_t)32, k.len);
		EXPECT_EQ(0x11, k.data[0]);
		EXPECT_EQ(0x11, k.data[31]);
		secbuf_free(&k);
		/* Again on the same (or a transparently re-opened) link. */
		for (int i = 0; i < 3; i++) {
			ASSERT_EQ(0, kmip_get_key(self->c, "1", &k,
						  &self->res))
				TH_LOG("%s", self->res.message);
			secbuf_free(&k);
		}
		return;
	}
	EXPECT_EQ(NULL, k.data);
	EXPECT_TRUE(kmip_is_transport_error(r));
	EXPECT_EQ(KMIP_STATUS_LOCAL, self->res.status);
	EXPECT_NE(NULL, strstr(self->res.message, variant->message))
		TH_LOG("message: %s", self->res.message);
	/* The next attempt reconnects and fails the same way, cleanly. */
	if (!variant->slow) {
		EXPECT_EQ(variant->expect, kmip_get_key(self->c, "1", &k,
							&self->res));
		EXPECT_EQ(NULL, k.data);
	}
}

/*
 * What the server saw: its --op-log, one operation number per line,
 * joined with spaces ("30 10 1").
 */
static void read_op_log(const char *path, char *out, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t o = 0;
	int op;

	out[0] = '\0';
	if (!f)
		return;
	while (fscanf(f, "%d", &op) == 1 && o < len)
		o += (size_t)snprintf(out + o, len - o, "%s%d", o ? " " : "", op);
	fclose(f);
}

/*
 * Requests that change something are never sent twice. The server reads
 * a Create on a kept-alive connection and closes without answering: it
 * may have created the key, so the client must not create another one.
 */
TEST(create_not_resent_after_a_lost_answer)
{
	struct kmip_result res;
	struct kmip_conn *c = NULL;
	char log[300], ops[200];
	unsigned int port;
	struct secbuf k;
	char *uid = NULL;
	pid_t pid;

	if (!strncmp(setup_error, "SKIP:", 5))
		SKIP(return, "%.500s", setup_error + 5);
	snprintf(log, sizeof(log), "%s/ops-lost-%d", cert_dir, (int)getpid());
	pid = spawn_server(_metadata, "create-lost", NULL, 0, log, &port);
	ASSERT_GT(pid, 0);
	ASSERT_EQ(0, connect_to(port, &c, &res)) TH_LOG("%s", res.message);
	/* A Get first, so that the Create goes out on a kept-alive link. */
	ASSERT_EQ(0, kmip_get_key(c, "1", &k, &res)) TH_LOG("%s", res.message);
	secbuf_free(&k);
	EXPECT_EQ(-ECONNRESET, kmip_create_aes256(c, "vm", 0xC, NULL, 0, &uid, &res))
		TH_LOG("%s", res.message);
	EXPECT_EQ(NULL, uid);
	read_op_log(log, ops, sizeof(ops));
	EXPECT_STREQ("30 10 1", ops);
	/* the link is gone: the next request opens a new one */
	EXPECT_EQ(0, kmip_get_key(c, "1", &k, &res)) TH_LOG("%s", res.message);
	secbuf_free(&k);
	kmip_conn_free(c);
	stop_server(pid);
	unlink(log);
	EXPECT_EQ(0, kmip_leak_check());
}

/*
 * A Get whose answer is lost on a kept-alive link (the server read it and
 * closed): the client sends it again on a new connection, since a Get
 * changes nothing, and the caller gets the key.
 */
TEST(get_resent_after_a_lost_answer)
{
	struct kmip_result res;
	struct kmip_conn *c = NULL;
	char log[300], ops[200];
	unsigned int port;
	struct secbuf k;
	pid_t pid;

	if (!strncmp(setup_error, "SKIP:", 5))
		SKIP(return, "%.500s", setup_error + 5);
	snprintf(log, sizeof(log), "%s/ops-getlost-%d", cert_dir, (int)getpid());
	pid = spawn_server(_metadata, "get-lost-once", NULL, 0, log, &port);
	ASSERT_GT(pid, 0);
	ASSERT_EQ(0, connect_to(port, &c, &res)) TH_LOG("%s", res.message);
	ASSERT_EQ(0, kmip_get_key(c, "1", &k, &res)) TH_LOG("%s", res.message);
	secbuf_free(&k);
	/* read by the server, never answered: sent again, answered */
	ASSERT_EQ(0, kmip_get_key(c, "1", &k, &res)) TH_LOG("%s", res.message);
	EXPECT_EQ(32, (int)k.len);
	secbuf_free(&k);
	read_op_log(log, ops, sizeof(ops));
	EXPECT_STREQ("30 10 10 30 10", ops);
	kmip_conn_free(c);
	stop_server(pid);
	unlink(log);
	EXPECT_EQ(0, kmip_leak_check());
}

/*
 * A server that closes each connection after answering (an idle timeout
 * of zero): the client notices before it sends the next Create, so each
 * Create is sent once and succeeds.
 */
TEST(create_after_an_idle_close)
{
	struct kmip_result res;
	struct kmip_conn *c = NULL;
	char log[300], ops[200];
	unsigned int port;
	char *uid = NULL;
	pid_t pid;

	if (!strncmp(setup_error, "SKIP:", 5))
		SKIP(return, "%.500s", setup_error + 5);
	snprintf(log, sizeof(log), "%s/ops-idle-%d", cert_dir, (int)getpid());
	pid = spawn_server(_metadata, "create-close-after", NULL, 0, log, &port);
	ASSERT_GT(pid, 0);
	ASSERT_EQ(0, connect_to(port, &c, &res)) TH_LOG("%s", res.message);
	for (int i = 0; i < 3; i++) {
		/*
		 * Let the close arrive, as it would while the link sits idle
		 * (generous: the server is a Python thread on a busy host).
		 */
		usleep(1000000);
		ASSERT_EQ(0, kmip_create_aes256(c, "vm", 0xC, NULL, 0, &uid, &res))
			TH_LOG("Create %d: %s", i, res.message);
		EXPECT_STREQ("7", uid);
		free(uid);
		uid = NULL;
	}
	read_op_log(log, ops, sizeof(ops));
	EXPECT_STREQ("30 1 30 1 30 1", ops);
	kmip_conn_free(c);
	stop_server(pid);
	unlink(log);
	EXPECT_EQ(0, kmip_leak_check());
}

TEST_HARNESS_MAIN
