// SPDX-License-Identifier: GPL-2.0
/*
 * test_kmip_client.c - the KMIP client library against a real
 * pykmip-server on 127.0.0.1: every operation of kmip.h, batches, one
 * persistent connection, concurrent use, certificate and key-file
 * refusals (wrong CA, other owner, loose key file, mismatched key), and a
 * Get throughput figure (1000 Gets; KMIP_BENCH_GETS overrides).
 *
 * The server is the one described by $KMIP_ENV (a kmip-test-server env
 * file) if set; otherwise this program starts its own with
 * scripts/kmip-test-server (found from the current directory or
 * $VMCRYPT_SRCDIR) in a temporary directory and stops it at exit.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "kmip/client.h"
#include "kmip/kmip.h"
#include "kmip/ops.h"
#include "kmip/tags.h"
#include "kmip/tls.h"
#include "test_kmip_common.h"

static char srv_dir[200];
static char srv_host[64], srv_ca[512], srv_cert[512], srv_key[512];
static char srv_other_cert[512], srv_other_key[512], srv_log[512];
static unsigned int srv_port;
static char srv_error[1200];
static pid_t srv_owner;		/* we started it: stop it at exit */
static char srv_script[512];

static void env_value(const char *line, const char *name, char *out,
		      size_t n)
{
	size_t l = strlen(name);

	if (!strncmp(line, name, l) && line[l] == '=')
		snprintf(out, n, "%.*s", (int)strcspn(line + l + 1, "\n"),
			 line + l + 1);
}

static int load_env(const char *path)
{
	char line[1024], port[16] = "";
	FILE *f = fopen(path, "r");

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		env_value(line, "KMIP_HOST", srv_host, sizeof(srv_host));
		env_value(line, "KMIP_PORT", port, sizeof(port));
		env_value(line, "KMIP_CA", srv_ca, sizeof(srv_ca));
		env_value(line, "KMIP_CERT", srv_cert, sizeof(srv_cert));
		env_value(line, "KMIP_KEY", srv_key, sizeof(srv_key));
		env_value(line, "KMIP_OTHER_CERT", srv_other_cert,
			  sizeof(srv_other_cert));
		env_value(line, "KMIP_OTHER_KEY", srv_other_key,
			  sizeof(srv_other_key));
		env_value(line, "KMIP_LOG", srv_log, sizeof(srv_log));
	}
	fclose(f);
	srv_port = (unsigned int)atoi(port);
	return srv_port && *srv_host && *srv_ca ? 0 : -EINVAL;
}

__attribute__((constructor)) static void server_start(void)
{
	const char *env = getenv("KMIP_ENV"), *src = getenv("VMCRYPT_SRCDIR");
	char cmd[2600], path[512];

	if (env && *env) {
		if (load_env(env) < 0)
			snprintf(srv_error, sizeof(srv_error),
				 "cannot read KMIP_ENV %s", env);
		return;
	}
	snprintf(srv_script, sizeof(srv_script), "%s/scripts/kmip-test-server",
		 src && *src ? src : ".");
	if (access(srv_script, X_OK) < 0) {
		snprintf(srv_error, sizeof(srv_error),
			 "SKIP:%s not found (run from the source tree or set "
			 "VMCRYPT_SRCDIR)", srv_script);
		return;
	}
	if (system("command -v pykmip-server >/dev/null 2>&1") != 0) {
		snprintf(srv_error, sizeof(srv_error),
			 "SKIP:pykmip-server is not installed");
		return;
	}
	snprintf(srv_dir, sizeof(srv_dir), "%s/vmcrypt-kmip-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(srv_dir)) {
		snprintf(srv_error, sizeof(srv_error), "mkdtemp failed");
		return;
	}
	srv_owner = getpid();
	/*
	 * The server lives in its own session: if this program is killed
	 * (timeout), even while the server is still starting, a watchdog
	 * stops it once we are gone (waiting up to 90 s for env to appear).
	 */
	snprintf(cmd, sizeof(cmd), "setsid sh -c 'while kill -0 %d "
		 "2>/dev/null; do sleep 1; done; i=0; while [ -d %s ] && "
		 "[ ! -f %s/env ] && [ $i -lt 90 ]; do sleep 1; i=$((i+1)); "
		 "done; [ -d %s ] || exit 0; %.400s stop %s; rm -rf %s' "
		 ">/dev/null 2>&1 </dev/null &", (int)srv_owner, srv_dir,
		 srv_dir, srv_dir, srv_script, srv_dir, srv_dir);
	if (system(cmd) != 0)
		fprintf(stderr, "# cannot start the server watchdog\n");
	snprintf(cmd, sizeof(cmd), "%.500s start %s >&2", srv_script, srv_dir);
	if (system(cmd) != 0) {
		snprintf(srv_error, sizeof(srv_error),
			 "kmip-test-server start failed");
		return;
	}
	snprintf(path, sizeof(path), "%s/env", srv_dir);
	if (load_env(path) < 0)
		snprintf(srv_error, sizeof(srv_error), "bad %s", path);
}

__attribute__((destructor)) static void server_stop(void)
{
	char cmd[1024];

	if (!srv_owner || srv_owner != getpid())
		return;
	snprintf(cmd, sizeof(cmd), "%.500s stop %s >&2; rm -rf %s", srv_script,
		 srv_dir, srv_dir);
	if (system(cmd) != 0)
		fprintf(stderr, "# stopping the test server failed\n");
}

static int run(const char *cmd)
{
	int st = system(cmd);

	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int conn_with(const char *cert, const char *key, const char *ca,
		     struct kmip_conn **c, struct kmip_result *res)
{
	struct kmip_tls_config cfg = {
		.ca_file = ca, .cert_file = cert, .key_file = key,
		.connect_timeout_ms = 10000, .io_timeout_ms = 20000,
	};

	return kmip_conn_new(srv_host, srv_port, &cfg, c, res);
}

/* Number of connections the server has accepted so far (from its log). */
static int server_connections(void)
{
	char cmd[700];
	FILE *p;
	int n = -1;

	snprintf(cmd, sizeof(cmd), "grep -c 'Receiving incoming connection' %s",
		 srv_log);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	if (fscanf(p, "%d", &n) != 1)
		n = -1;
	pclose(p);
	return n;
}

static const char *attr_value(const struct kmip_attr_list *l,
			      const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->items[i].name, name))
			return l->items[i].value;
	return NULL;
}

static int has_value(const struct kmip_attr_list *l, const char *name,
		     const char *value)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->items[i].name, name) &&
		    !strcmp(l->items[i].value, value))
			return 1;
	return 0;
}

static void unique_name(char *buf, size_t n, const char *what)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(buf, n, "test-%s-%d-%ld", what, (int)getpid(), ts.tv_nsec);
}

FIXTURE(srv) {
	struct kmip_conn *c;
	struct kmip_result res;
};

FIXTURE_SETUP(srv)
{
	self->c = NULL;
	if (!strncmp(srv_error, "SKIP:", 5))
		SKIP(return, "%.900s", srv_error + 5);
	ASSERT_EQ(0, srv_error[0]) TH_LOG("%s", srv_error);
	ASSERT_EQ(0, conn_with(srv_cert, srv_key, srv_ca, &self->c,
			       &self->res)) TH_LOG("%s", self->res.message);
}

FIXTURE_TEARDOWN(srv)
{
	kmip_conn_free(self->c);
	EXPECT_EQ(0, kmip_leak_check());
}

TEST_F_TIMEOUT(srv, discover_versions, 120)
{
	int major = 0, minor = 0;

	ASSERT_EQ(0, kmip_discover_versions(self->c, &major, &minor,
					    &self->res))
		TH_LOG("%s", self->res.message);
	EXPECT_EQ(1, major);
	EXPECT_EQ(4, minor);
	EXPECT_EQ(0, self->res.status);
}

TEST_F_TIMEOUT(srv, query, 120)
{
	struct kmip_query_info q;
	int want[] = { OP_CREATE, OP_GET, OP_LOCATE, OP_GET_ATTRIBUTES,
		       OP_ACTIVATE, OP_REVOKE, OP_DESTROY, OP_QUERY };

	ASSERT_EQ(0, kmip_query(self->c, &q, &self->res))
		TH_LOG("%s", self->res.message);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		int found = 0;

		for (size_t j = 0; j < q.n_operations; j++)
			found |= q.operations[j] == want[i];
		EXPECT_TRUE(found) TH_LOG("operation %d missing", want[i]);
	}
	ASSERT_NE(NULL, q.vendor);
	EXPECT_NE(NULL, strstr(q.vendor, "PyKMIP"));
	kmip_query_info_free(&q);
}

/* Create, Get, Get Attributes, Locate, Activate, Revoke, Destroy. */
TEST_F_TIMEOUT(srv, key_lifecycle, 120)
{
	struct kmip_attr extra[] = {
		{ KMIP_ATTR_ASI, "x-Vendor", "vmcrypt project", 0 },
		{ KMIP_ATTR_ASI, "x-Product", "vmcrypt", 0 },
	};
	const char *some[] = { "Name", "State" };
	struct kmip_attr byname = { KMIP_ATTR_NAME, NULL, NULL, 0 };
	struct kmip_uid_list u;
	struct kmip_attr_list l;
	struct secbuf k1, k2;
	char name[96], *uid = NULL;
	int found = 0;

	unique_name(name, sizeof(name), "life");
	byname.value = name;
	ASSERT_EQ(0, kmip_create_aes256(self->c, name, 0, extra, 2, &uid,
					&self->res))
		TH_LOG("%s", self->res.message);
	ASSERT_NE(NULL, uid);

	ASSERT_EQ(0, kmip_get_key(self->c, uid, &k1, &self->res))
		TH_LOG("%s", self->res.message);
	ASSERT_EQ((size_t)32, k1.len);
	ASSERT_EQ(0, kmip_get_key(self->c, uid, &k2, &self->res));
	EXPECT_EQ(0, secure_memcmp(k1.data, k2.data, 32));
	secbuf_free(&k2);

	ASSERT_EQ(0, kmip_get_attributes(self->c, uid, NULL, 0, &l,
					 &self->res))
		TH_LOG("%s", self->res.message);
	EXPECT_TRUE(has_value(&l, "Name", name));
	EXPECT_TRUE(has_value(&l, "State", "Pre-Active"));
	EXPECT_TRUE(has_value(&l, "Cryptographic Algorithm", "AES"));
	EXPECT_TRUE(has_value(&l, "Cryptographic Length", "256"));
	EXPECT_TRUE(has_value(&l, "Cryptographic Usage Mask", "12"));
	EXPECT_TRUE(has_value(&l, "Object Type", "Symmetric Key"));
	EXPECT_TRUE(has_value(&l, "Application Specific Information",
			      "x-Vendor=vmcrypt project"));
	EXPECT_TRUE(has_value(&l, "Application Specific Information",
			      "x-Product=vmcrypt"));
	/* Dates are RFC 3339 UTC. */
	ASSERT_NE(NULL, attr_value(&l, "Initial Date"));
	EXPECT_EQ((size_t)20, strlen(attr_value(&l, "Initial Date")));
	EXPECT_EQ('Z', attr_value(&l, "Initial Date")[19]);
	kmip_attr_list_free(&l);

	ASSERT_EQ(0, kmip_get_attributes(self->c, uid, some, 2, &l,
					 &self->res));
	EXPECT_EQ((size_t)2, l.n);
	kmip_attr_list_free(&l);

	ASSERT_EQ(0, kmip_locate(self->c, &byname, 1, 0, &u, &self->res))
		TH_LOG("%s", self->res.message);
	ASSERT_EQ((size_t)1, u.n);
	EXPECT_STREQ(uid, u.uids[0]);
	kmip_uid_list_free(&u);

	/* Locate by another attribute: the ASI we set. */
	ASSERT_EQ(0, kmip_locate(self->c, &extra[0], 1, 0, &u, &self->res))
		TH_LOG("%s", self->res.message);
	for (size_t i = 0; i < u.n; i++)
		found |= !strcmp(u.uids[i], uid);
	EXPECT_TRUE(found);
	kmip_uid_list_free(&u);

	ASSERT_EQ(0, kmip_activate(self->c, uid, &self->res))
		TH_LOG("%s", self->res.message);
	ASSERT_EQ(0, kmip_get_attributes(self->c, uid, some + 1, 1, &l,
					 &self->res));
	EXPECT_TRUE(has_value(&l, "State", "Active"));
	kmip_attr_list_free(&l);

	/* PyKMIP refuses to destroy an Active key. */
	EXPECT_EQ(-EACCES, kmip_destroy(self->c, uid, &self->res));
	EXPECT_EQ(KMIP_STATUS_OPERATION_FAILED, self->res.status);
	EXPECT_NE(0, self->res.message[0]);

	ASSERT_EQ(0, kmip_revoke(self->c, uid,
				 KMIP_REVOKE_CESSATION_OF_OPERATION,
				 "test done", &self->res))
		TH_LOG("%s", self->res.message);
	ASSERT_EQ(0, kmip_get_attributes(self->c, uid, some + 1, 1, &l,
					 &self->res));
	EXPECT_TRUE(has_value(&l, "State", "Deactivated"));
	kmip_attr_list_free(&l);

	ASSERT_EQ(0, kmip_destroy(self->c, uid, &self->res))
		TH_LOG("%s", self->res.message);
	EXPECT_EQ(-ENOENT, kmip_get_key(self->c, uid, &k2, &self->res));
	EXPECT_EQ(1, self->res.reason);
	EXPECT_EQ(NULL, k2.data);
	EXPECT_FALSE(kmip_is_transport_error(-ENOENT));
	secbuf_free(&k1);
	free(uid);
}

TEST_F_TIMEOUT(srv, revoke_compromise, 120)
{
	char name[96], *uid = NULL;

	unique_name(name, sizeof(name), "compromise");
	ASSERT_EQ(0, kmip_create_aes256(self->c, name, 0, NULL, 0, &uid,
					&self->res));
	ASSERT_EQ(0, kmip_activate(self->c, uid, &self->res));
	ASSERT_EQ(0, kmip_revoke(self->c, uid, KMIP_REVOKE_KEY_COMPROMISE,
				 NULL, &self->res))
		TH_LOG("%s", self->res.message);
	EXPECT_EQ(-EINVAL, kmip_revoke(self->c, uid, 42, NULL, &self->res));
	free(uid);
}

TEST_F_TIMEOUT(srv, wrapping_key_usage, 120)
{
	const char *mask[] = { "Cryptographic Usage Mask" };
	struct kmip_attr_list l;
	char name[96], *uid = NULL;

	unique_name(name, sizeof(name), "wrap");
	ASSERT_EQ(0, kmip_create_aes256(self->c, name,
					KMIP_USAGE_WRAP_KEY |
					KMIP_USAGE_UNWRAP_KEY, NULL, 0, &uid,
					&self->res))
		TH_LOG("%s", self->res.message);
	ASSERT_EQ(0, kmip_get_attributes(self->c, uid, mask, 1, &l,
					 &self->res));
	EXPECT_TRUE(has_value(&l, "Cryptographic Usage Mask", "48"));
	kmip_attr_list_free(&l);
	free(uid);
}

/* PyKMIP refuses x- attributes; the error is the server's, and clear. */
TEST_F_TIMEOUT(srv, custom_attribute_refused, 120)
{
	struct kmip_attr x = { KMIP_ATTR_TEXT, "x-Vendor", "vmcrypt", 0 };
	char name[96], *uid = NULL;
	int major, minor, r;

	unique_name(name, sizeof(name), "xattr");
	r = kmip_create_aes256(self->c, name, 0, &x, 1, &uid, &self->res);
	EXPECT_EQ(-EINVAL, r);
	EXPECT_FALSE(kmip_is_transport_error(r));
	EXPECT_EQ(NULL, uid);
	EXPECT_NE(NULL, strstr(self->res.message, "x-Vendor"))
		TH_LOG("%s", self->res.message);
	/* The connection is still good. */
	EXPECT_EQ(0, kmip_discover_versions(self->c, &major, &minor,
					    &self->res));
}

TEST_F_TIMEOUT(srv, modify_and_add_attribute, 120)
{
	struct kmip_attr rename = { KMIP_ATTR_NAME, NULL, NULL, 0 };
	struct kmip_attr byname = { KMIP_ATTR_NAME, NULL, NULL, 0 };
	struct kmip_attr asi = { KMIP_ATTR_ASI, "x-Name", "vm1", 0 };
	char name[96], name2[100], *uid = NULL;
	struct kmip_uid_list u;
	int r;

	unique_name(name, sizeof(name), "modify");
	snprintf(name2, sizeof(name2), "%s-new", name);
	ASSERT_EQ(0, kmip_create_aes256(self->c, name, 0, NULL, 0, &uid,
					&self->res));
	rename.value = name2;
	ASSERT_EQ(0, kmip_modify_attribute(self->c, uid, &rename, &self->res))
		TH_LOG("%s", self->res.message);
	byname.value = name2;
	ASSERT_EQ(0, kmip_locate(self->c, &byname, 1, 0, &u, &self->res));
	ASSERT_EQ((size_t)1, u.n);
	EXPECT_STREQ(uid, u.uids[0]);
	kmip_uid_list_free(&u);
	byname.value = name;
	ASSERT_EQ(0, kmip_locate(self->c, &byname, 1, 0, &u, &self->res));
	EXPECT_EQ((size_t)0, u.n);
	kmip_uid_list_free(&u);

	/*
	 * PyKMIP 0.10 does not implement Add Attribute: a server-reported
	 * failure, not a transport error, and the connection survives.
	 */
	r = kmip_add_attribute(self->c, uid, &asi, &self->res);
	if (r == 0) {
		TH_LOG("server implements Add Attribute");
	} else {
		EXPECT_FALSE(kmip_is_transport_error(r)) TH_LOG("%d %s", r,
							self->res.message);
		EXPECT_NE(0, self->res.message[0]);
	}
	EXPECT_EQ(0, kmip_activate(self->c, uid, &self->res));
	free(uid);
}

/* PyKMIP: the certificate CN owns the object; another CN cannot Get it. */
TEST_F_TIMEOUT(srv, other_owner_refused, 120)
{
	struct kmip_conn *other = NULL;
	char name[96], *uid = NULL;
	struct secbuf k;
	int r;

	unique_name(name, sizeof(name), "owner");
	ASSERT_EQ(0, kmip_create_aes256(self->c, name, 0, NULL, 0, &uid,
					&self->res));
	ASSERT_EQ(0, kmip_activate(self->c, uid, &self->res));
	ASSERT_EQ(0, conn_with(srv_other_cert, srv_other_key, srv_ca, &other,
			       &self->res));
	r = kmip_get_key(other, uid, &k, &self->res);
	/* PyKMIP 0.10: Permission Denied ("Could not locate object"). */
	EXPECT_EQ(-EACCES, r) TH_LOG("%s", self->res.message);
	EXPECT_EQ(0x0C, self->res.reason);
	EXPECT_EQ(NULL, k.data);
	EXPECT_FALSE(kmip_is_transport_error(r));
	TH_LOG("other owner's Get: %s", self->res.message);
	/* The owner still can. */
	ASSERT_EQ(0, kmip_get_key(self->c, uid, &k, &self->res));
	secbuf_free(&k);
	kmip_conn_free(other);
	free(uid);
}

TEST_F_TIMEOUT(srv, wrong_ca_refused, 120)
{
	char dir[] = "/tmp/vmcrypt-wrongca-XXXXXX", cmd[1024], ca[256];
	struct kmip_conn *c = NULL;
	int major, minor, r;

	ASSERT_NE(NULL, mkdtemp(dir));
	snprintf(cmd, sizeof(cmd), "openssl req -x509 -newkey rsa:2048 -nodes "
		 "-keyout %s/k -out %s/ca.crt -days 1 -subj /CN=other-ca "
		 ">/dev/null 2>&1", dir, dir);
	ASSERT_EQ(0, run(cmd));
	snprintf(ca, sizeof(ca), "%s/ca.crt", dir);
	ASSERT_EQ(0, conn_with(srv_cert, srv_key, ca, &c, &self->res));
	r = kmip_discover_versions(c, &major, &minor, &self->res);
	EXPECT_EQ(-EPROTO, r);
	EXPECT_TRUE(kmip_is_transport_error(r));
	EXPECT_EQ(KMIP_STATUS_LOCAL, self->res.status);
	EXPECT_NE(NULL, strstr(self->res.message, "certificate verify failed"))
		TH_LOG("%s", self->res.message);
	kmip_conn_free(c);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	run(cmd);
}

/* Server certificate is for 127.0.0.1 and localhost: other names fail. */
TEST_F_TIMEOUT(srv, hostname_checked, 120)
{
	struct kmip_tls_config cfg = {
		.ca_file = srv_ca, .cert_file = srv_cert, .key_file = srv_key,
	};
	struct kmip_conn *c = NULL;
	int major, minor;

	/* "localhost" is in the SAN and resolves to 127.0.0.1. */
	ASSERT_EQ(0, kmip_conn_new("localhost", srv_port, &cfg, &c,
				   &self->res));
	if (kmip_discover_versions(c, &major, &minor, &self->res) == -ECONNREFUSED)
		TH_LOG("localhost resolves elsewhere first: %s",
		       self->res.message);
	else
		EXPECT_EQ(0, self->res.status) TH_LOG("%s", self->res.message);
	kmip_conn_free(c);
}

TEST_F_TIMEOUT(srv, key_file_checks, 120)
{
	char dir[] = "/tmp/vmcrypt-keyfile-XXXXXX", key[256], cmd[1024];
	struct kmip_conn *c = NULL;

	ASSERT_NE(NULL, mkdtemp(dir));
	snprintf(key, sizeof(key), "%s/client.key", dir);
	snprintf(cmd, sizeof(cmd), "cp %s %s", srv_key, key);
	ASSERT_EQ(0, run(cmd));

	ASSERT_EQ(0, chmod(key, 0640));
	EXPECT_EQ(-EPERM, conn_with(srv_cert, key, srv_ca, &c, &self->res));
	EXPECT_EQ(NULL, c);
	EXPECT_NE(NULL, strstr(self->res.message, "mode 0640"))
		TH_LOG("%s", self->res.message);

	ASSERT_EQ(0, chmod(key, 0600));
	if (geteuid() == 0) {
		ASSERT_EQ(0, chown(key, 65534, 65534));
		EXPECT_EQ(-EPERM, conn_with(srv_cert, key, srv_ca, &c,
					    &self->res));
		EXPECT_NE(NULL, strstr(self->res.message, "owned by uid 65534"))
			TH_LOG("%s", self->res.message);
		ASSERT_EQ(0, chown(key, 0, 0));
	}

	/* Key of another certificate. */
	EXPECT_EQ(-EKEYREJECTED, conn_with(srv_cert, srv_other_key, srv_ca, &c,
					   &self->res));
	EXPECT_NE(NULL, strstr(self->res.message, "does not match"));

	EXPECT_EQ(-ENOENT, conn_with(srv_cert, "/nonexistent/key", srv_ca, &c,
				     &self->res));
	EXPECT_NE(NULL, strstr(self->res.message, "/nonexistent/key"));

	/*
	 * A FIFO with the right owner and mode: refused at once instead of
	 * blocking in open() until someone writes a key into it.
	 */
	snprintf(key, sizeof(key), "%s/fifo.key", dir);
	ASSERT_EQ(0, mkfifo(key, 0600));
	EXPECT_EQ(-EINVAL, conn_with(srv_cert, key, srv_ca, &c, &self->res));
	EXPECT_EQ(NULL, c);
	EXPECT_NE(NULL, strstr(self->res.message, "not a regular file"))
		TH_LOG("%s", self->res.message);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	run(cmd);
}

TEST_F_TIMEOUT(srv, connection_refused, 120)
{
	struct kmip_tls_config cfg = {
		.ca_file = srv_ca, .cert_file = srv_cert, .key_file = srv_key,
	};
	struct kmip_conn *c = NULL;
	struct secbuf k;
	int r;

	/* Port 1 on loopback: nobody listens there. */
	ASSERT_EQ(0, kmip_conn_new("127.0.0.1", 1, &cfg, &c, &self->res));
	r = kmip_get_key(c, "1", &k, &self->res);
	EXPECT_EQ(-ECONNREFUSED, r);
	EXPECT_TRUE(kmip_is_transport_error(r));
	EXPECT_NE(NULL, strstr(self->res.message, "127.0.0.1:1"));
	kmip_conn_free(c);
	EXPECT_EQ(-EINVAL, kmip_conn_new("127.0.0.1", 0, &cfg, &c, &self->res));
	EXPECT_EQ(-EINVAL, kmip_conn_new("127.0.0.1", 70000, &cfg, &c,
					 &self->res));
}

/* Many operations, one TCP/TLS connection; explicit close reconnects. */
TEST_F_TIMEOUT(srv, persistent_connection, 120)
{
	char name[96], *uid = NULL;
	struct secbuf k;
	int before, after;

	if (!srv_log[0])
		SKIP(return, "server log unknown");
	unique_name(name, sizeof(name), "persist");
	ASSERT_EQ(0, kmip_create_aes256(self->c, name, 0, NULL, 0, &uid,
					&self->res));
	before = server_connections();
	ASSERT_GE(before, 1);
	for (int i = 0; i < 20; i++) {
		ASSERT_EQ(0, kmip_get_key(self->c, uid, &k, &self->res));
		secbuf_free(&k);
	}
	after = server_connections();
	EXPECT_EQ(before, after);
	kmip_conn_close(self->c);
	ASSERT_EQ(0, kmip_get_key(self->c, uid, &k, &self->res));
	secbuf_free(&k);
	EXPECT_EQ(before + 1, server_connections());
	free(uid);
}

/* Two Gets in one batch, matched to their answers by Batch Item ID. */
TEST_F_TIMEOUT(srv, batch_two_gets, 120)
{
	char name[96], *uid = NULL, *got = NULL;
	struct msg_response resp;
	const struct msg_item *a, *b;
	struct ttlv_buf req;
	struct secbuf k;
	const char *why;
	uint8_t *raw = NULL;
	size_t rawlen = 0;
	uint32_t ida, idb;
	int major, minor;

	unique_name(name, sizeof(name), "batch");
	ASSERT_EQ(0, kmip_create_aes256(self->c, name, 0, NULL, 0, &uid,
					&self->res));
	kmip_conn_lock(self->c);
	ASSERT_EQ(0, kmip_conn_version_locked(self->c, &major, &minor,
					      &self->res));
	ida = kmip_conn_batch_id(self->c);
	idb = kmip_conn_batch_id(self->c);
	ttlv_buf_init(&req);
	msg_request_begin(&req, major, minor, 2);
	msg_item_begin(&req, OP_GET, &ida, sizeof(ida));
	ops_put_uid(&req, uid);
	msg_item_end(&req);
	msg_item_begin(&req, OP_GET, &idb, sizeof(idb));
	ops_put_uid(&req, "no-such-object");
	msg_item_end(&req);
	msg_request_end(&req);
	ASSERT_EQ(0, ttlv_buf_finish(&req));
	ASSERT_EQ(0, kmip_conn_transact(self->c, &req, true, &raw, &rawlen, &resp,
					&self->res))
		TH_LOG("%s", self->res.message);
	kmip_conn_unlock(self->c);
	ttlv_buf_release(&req);

	ASSERT_EQ((size_t)2, resp.n);
	b = msg_response_find(&resp, OP_GET, &idb, sizeof(idb));
	a = msg_response_find(&resp, OP_GET, &ida, sizeof(ida));
	ASSERT_NE(NULL, a);
	ASSERT_NE(NULL, b);
	EXPECT_EQ(0, msg_item_result(a, &self->res));
	ASSERT_EQ(0, ops_parse_uid(a->payload, &got, &why));
	EXPECT_STREQ(uid, got);
	ASSERT_EQ(0, ops_parse_key(a->payload, uid, &k, &why));
	EXPECT_EQ((size_t)32, k.len);
	secbuf_free(&k);
	EXPECT_EQ(-ENOENT, msg_item_result(b, &self->res));
	msg_response_free(&resp);
	tls_msg_free(raw, rawlen);
	free(got);
	free(uid);
}

/* One connection shared by threads: the internal lock serialises. */
struct thread_arg {
	struct kmip_conn *c;
	const char *uid;
	int failures;
};

static void *get_loop(void *p)
{
	struct thread_arg *a = p;
	struct kmip_result res;

	for (int i = 0; i < 25; i++) {
		struct secbuf k;

		if (kmip_get_key(a->c, a->uid, &k, &res) || k.len != 32)
			a->failures++;
		secbuf_free(&k);
	}
	return NULL;
}

TEST_F_TIMEOUT(srv, shared_between_threads, 120)
{
	struct thread_arg args[4];
	pthread_t th[4];
	char name[96], *uid = NULL;

	unique_name(name, sizeof(name), "threads");
	ASSERT_EQ(0, kmip_create_aes256(self->c, name, 0, NULL, 0, &uid,
					&self->res));
	for (int i = 0; i < 4; i++) {
		args[i] = (struct thread_arg){ self->c, uid, 0 };
		ASSERT_EQ(0, pthread_create(&th[i], NULL, get_loop, &args[i]));
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		EXPECT_EQ(0, args[i].failures);
	}
	free(uid);
}

TEST_F_TIMEOUT(srv, bad_arguments, 120)
{
	struct secbuf k;
	struct kmip_attr_list l;
	const char *empty[] = { "" };
	char *uid;

	EXPECT_EQ(-EINVAL, kmip_get_key(self->c, "", &k, &self->res));
	EXPECT_EQ(-EINVAL, kmip_get_key(self->c, NULL, &k, &self->res));
	EXPECT_EQ(-EINVAL, kmip_get_attributes(self->c, "1", empty, 1, &l,
					       &self->res));
	EXPECT_EQ(-EINVAL, kmip_create_aes256(self->c, "x", 0, NULL, 1, &uid,
					      &self->res));
	EXPECT_EQ(KMIP_STATUS_LOCAL, self->res.status);
}

/* Gets per second over one persistent connection. */
TEST_F_TIMEOUT(srv, get_throughput, 300)
{
	const char *env = getenv("KMIP_BENCH_GETS");
	int n = env ? atoi(env) : 1000;
	char name[96], *uid = NULL;
	int64_t t0, t1;
	struct secbuf k;

	ASSERT_GT(n, 0);
	unique_name(name, sizeof(name), "bench");
	ASSERT_EQ(0, kmip_create_aes256(self->c, name, 0, NULL, 0, &uid,
					&self->res));
	ASSERT_EQ(0, kmip_get_key(self->c, uid, &k, &self->res));
	secbuf_free(&k);
	t0 = tls_now_ms();
	for (int i = 0; i < n; i++) {
		ASSERT_EQ(0, kmip_get_key(self->c, uid, &k, &self->res))
			TH_LOG("get %d: %s", i, self->res.message);
		ASSERT_EQ((size_t)32, k.len);
		secbuf_free(&k);
	}
	t1 = tls_now_ms();
	printf("# kmip benchmark: %d Gets of a 256-bit key in %lld ms over one "
	       "connection: %.0f Get/s\n", n, (long long)(t1 - t0),
	       n * 1000.0 / (double)(t1 - t0 > 0 ? t1 - t0 : 1));
	fflush(stdout);
	free(uid);
}

TEST_HARNESS_MAIN
