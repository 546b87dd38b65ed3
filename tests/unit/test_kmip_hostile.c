// SPDX-License-Identifier: GPL-2.0
/*
 * test_kmip_hostile.c - the KMIP client against a fake server that
 * misbehaves on purpose (scripts/kmip/hostile-server.py on 127.0.0.1):
 * garbage, a TTLV message that is not a response, a 4 GiB length, a
 * response cut short (closed, or stalled), a close without answer, a
 * server that never answers or never completes the TLS handshake, an
 * answer to another operation, a certificate for another name or from
 * another CA. Each must give the documented error, with a message, within
 * the configured timeout; a correct server (TLS 1.2 and 1.3 only) and one
 * that closes after every answer must work. Run under SAN=1 for leaks.
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

FIXTURE_SETUP(hostile)
{
	char script[600], portfile[300], dir[300], parent[16];
	struct kmip_tls_config cfg = { 0 };
	char ca[300], cert[300], key[300];

	self->pid = -1;
	self->c = NULL;
	if (!strncmp(setup_error, "SKIP:", 5))
		SKIP(return, "%.500s", setup_error + 5);
	ASSERT_EQ(0, setup_error[0]) TH_LOG("%s", setup_error);
	snprintf(script, sizeof(script), "%.400s/scripts/kmip/hostile-server.py",
		 src_dir);
	snprintf(portfile, sizeof(portfile), "%s/port-%s-%d", cert_dir,
		 variant->mode, (int)getpid());
	snprintf(dir, sizeof(dir), "%s", cert_dir);
	snprintf(parent, sizeof(parent), "%d", (int)getpid());
	self->pid = fork();
	ASSERT_GE(self->pid, 0);
	if (self->pid == 0) {
		int devnull = open("/dev/null", O_RDWR);

		setpgid(0, 0);	/* its own group: teardown kills it all */
		dup2(devnull, 0);
		dup2(devnull, 1);
		execl("/usr/bin/python3", "python3", script, "--mode",
		      variant->mode, "--dir", dir, "--cert",
		      variant->cert ? variant->cert : "server", "--port-file",
		      portfile, "--parent", parent,
		      variant->from_start ? "--from-start" : NULL,
		      (char *)NULL);
		_exit(127);
	}
	setpgid(self->pid, self->pid);
	ASSERT_EQ(0, wait_port(portfile, &self->port))
		TH_LOG("hostile server did not start");
	unlink(portfile);

	snprintf(ca, sizeof(ca), "%s/ca.crt", cert_dir);
	snprintf(cert, sizeof(cert), "%s/client.crt", cert_dir);
	snprintf(key, sizeof(key), "%s/client.key", cert_dir);
	cfg.ca_file = ca;
	cfg.cert_file = cert;
	cfg.key_file = key;
	cfg.connect_timeout_ms = CONNECT_MS;
	cfg.io_timeout_ms = IO_MS;
	cfg.max_message = 64 * 1024;
	ASSERT_EQ(0, kmip_conn_new("127.0.0.1", self->port, &cfg, &self->c,
				   &self->res)) TH_LOG("%s", self->res.message);
}

FIXTURE_TEARDOWN(hostile)
{
	kmip_conn_free(self->c);
	if (self->pid > 0) {
		kill(-self->pid, SIGKILL);
		waitpid(self->pid, NULL, 0);
	}
	EXPECT_EQ(0, kmip_leak_check());
}

FIXTURE_VARIANT_ADD(hostile, valid) { .mode = "valid" };
FIXTURE_VARIANT_ADD(hostile, tls13_only) { .mode = "tls13" };
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

TEST_HARNESS_MAIN
