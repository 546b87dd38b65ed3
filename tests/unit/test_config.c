// SPDX-License-Identifier: GPL-2.0
/*
 * test_config.c - vmcryptd.conf parsing (lib/config.c): defaults, every
 * key, bad lines reported as FILE:LINE with nothing applied, files that
 * are missing/optional, and the role of uid 0 / unknown users.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "lib/config.h"

static int parse(struct config *c, const char *text, char *err, size_t n)
{
	return config_parse(c, "test.conf", text, strlen(text), err, n);
}

TEST(defaults)
{
	struct config c;

	ASSERT_EQ(0, config_init(&c));
	EXPECT_STREQ(CONFIG_DEFAULT_STATE_DIR, c.state_dir);
	EXPECT_STREQ(CONFIG_DEFAULT_SOCKET, c.socket_path);
	EXPECT_STREQ("device:/dev/tpmrm0", c.tpm_tcti);
	EXPECT_EQ((int)LOG_LEVEL_INFO, (int)c.log_level);
	EXPECT_EQ(5000, c.kmip_connect_timeout_ms);
	EXPECT_EQ(10000, c.kmip_timeout_ms);
	EXPECT_EQ(64, c.max_clients);
	EXPECT_EQ(8, c.max_clients_per_user);
	EXPECT_EQ(NULL, c.groups[ROLE_ADMIN][0]);
	config_free(&c);
}

TEST(all_keys)
{
	static const char text[] =
		"# comment line\n"
		"\n"
		"state_dir = /srv/vmcrypt   # trailing comment\n"
		"socket=/run/x/control\n"
		"tpm_tcti = swtpm:host=127.0.0.1,port=2321\n"
		"log_level = debug\n"
		"kmip_connect_timeout_ms = 1500\n"
		"kmip_timeout_ms = 2500\n"
		"kmip_retry_after_s = 0\n"
		"client_timeout_ms = 700\n"
		"max_clients = 3\n"
		"max_clients_per_user = 2\n"
		"admin_groups = wheel, vmc-admin\n"
		"operator_groups = ops\n"
		"viewer_groups = audit ,  staff\r\n";
	struct config c;
	char err[256] = "";

	ASSERT_EQ(0, config_init(&c));
	ASSERT_EQ(0, parse(&c, text, err, sizeof(err))) TH_LOG("%s", err);
	EXPECT_STREQ("/srv/vmcrypt", c.state_dir);
	EXPECT_STREQ("/run/x/control", c.socket_path);
	EXPECT_STREQ("swtpm:host=127.0.0.1,port=2321", c.tpm_tcti);
	EXPECT_EQ((int)LOG_LEVEL_DEBUG, (int)c.log_level);
	EXPECT_EQ(1500, c.kmip_connect_timeout_ms);
	EXPECT_EQ(2500, c.kmip_timeout_ms);
	EXPECT_EQ(0, c.kmip_retry_after_s);
	EXPECT_EQ(700, c.client_timeout_ms);
	EXPECT_EQ(3, c.max_clients);
	EXPECT_EQ(2, c.max_clients_per_user);
	EXPECT_STREQ("wheel", c.groups[ROLE_ADMIN][0]);
	EXPECT_STREQ("vmc-admin", c.groups[ROLE_ADMIN][1]);
	EXPECT_EQ(NULL, c.groups[ROLE_ADMIN][2]);
	EXPECT_STREQ("ops", c.groups[ROLE_OPERATOR][0]);
	EXPECT_STREQ("audit", c.groups[ROLE_VIEWER][0]);
	EXPECT_STREQ("staff", c.groups[ROLE_VIEWER][1]);
	config_free(&c);
}

/* Each bad line: error names test.conf:LINE and nothing is applied. */
FIXTURE(bad) {
	struct config c;
};
FIXTURE_VARIANT(bad) {
	const char *text;
	const char *want;	/* substring of the error */
};
FIXTURE_VARIANT_ADD(bad, no_equals) { "log_level = info\nfoo\n", "test.conf:2: expected 'key = value'" };
FIXTURE_VARIANT_ADD(bad, unknown_key) { "max_clients = 5\n\nbogus = 1\n", "test.conf:3: unknown key 'bogus'" };
FIXTURE_VARIANT_ADD(bad, empty_key) { " = 1\n", "test.conf:1: missing key" };
FIXTURE_VARIANT_ADD(bad, relative_path) { "state_dir = var/lib\n", "test.conf:1: value must be an absolute path" };
FIXTURE_VARIANT_ADD(bad, level) { "log_level = loud\n", "test.conf:1: log_level must be" };
FIXTURE_VARIANT_ADD(bad, int_junk) { "max_clients = 5x\n", "test.conf:1: max_clients: '5x' is not an integer (range 1..1024)" };
FIXTURE_VARIANT_ADD(bad, int_empty) { "max_clients =\n", "test.conf:1: max_clients: '' is not an integer (range 1..1024)" };
FIXTURE_VARIANT_ADD(bad, int_range) { "max_clients = 0\n", "test.conf:1: max_clients: 0 is out of range 1..1024" };
FIXTURE_VARIANT_ADD(bad, int_range_big) { "max_clients = 5000\n", "test.conf:1: max_clients: 5000 is out of range 1..1024" };
FIXTURE_VARIANT_ADD(bad, per_user_zero) { "max_clients_per_user = 0\n", "test.conf:1: max_clients_per_user: 0 is out of range 1..1024" };
FIXTURE_VARIANT_ADD(bad, per_user_big) { "max_clients_per_user = 5\nmax_clients_per_user = 1025\n", "test.conf:2: max_clients_per_user: 1025 is out of range 1..1024" };
FIXTURE_VARIANT_ADD(bad, int_negative) { "kmip_timeout_ms = -5\n", "test.conf:1: kmip_timeout_ms: -5 is out of range 100..600000" };
FIXTURE_VARIANT_ADD(bad, int_minus_junk) { "kmip_timeout_ms = -x\n", "test.conf:1: kmip_timeout_ms: '-x' is not an integer" };
FIXTURE_VARIANT_ADD(bad, int_overflow) { "kmip_timeout_ms = 99999999999999999999\n", "test.conf:1: kmip_timeout_ms: 99999999999999999999 is out of range 100..600000" };
FIXTURE_VARIANT_ADD(bad, group_name) { "admin_groups = ok, bad/name\n", "test.conf:1: invalid group name" };
FIXTURE_VARIANT_ADD(bad, empty_tcti) { "tpm_tcti =\n", "test.conf:1: invalid TCTI" };

FIXTURE_SETUP(bad)
{
	ASSERT_EQ(0, config_init(&self->c));
}

FIXTURE_TEARDOWN(bad)
{
	config_free(&self->c);
}

TEST_F(bad, refused_and_unchanged)
{
	char err[256] = "";

	EXPECT_EQ(-EINVAL, parse(&self->c, variant->text, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, variant->want)) TH_LOG("got '%s'", err);
	/* Nothing from the earlier good lines leaked in. */
	EXPECT_EQ((int)LOG_LEVEL_INFO, (int)self->c.log_level);
	EXPECT_EQ(64, self->c.max_clients);
	EXPECT_EQ(8, self->c.max_clients_per_user);
	EXPECT_STREQ(CONFIG_DEFAULT_STATE_DIR, self->c.state_dir);
}

/* The ends of an int range are accepted. */
TEST(int_range_ends)
{
	struct config c;
	char err[256] = "";

	ASSERT_EQ(0, config_init(&c));
	ASSERT_EQ(0, parse(&c, "max_clients_per_user = 1\n", err, sizeof(err))) TH_LOG("%s", err);
	EXPECT_EQ(1, c.max_clients_per_user);
	ASSERT_EQ(0, parse(&c, "max_clients_per_user = 1024\n", err, sizeof(err))) TH_LOG("%s", err);
	EXPECT_EQ(1024, c.max_clients_per_user);
	config_free(&c);
}

TEST(nul_byte)
{
	struct config c;
	char err[256];

	ASSERT_EQ(0, config_init(&c));
	EXPECT_EQ(-EINVAL, config_parse(&c, "x", "a = b\0c", 7, err, sizeof(err)));
	config_free(&c);
}

TEST(load_files)
{
	char path[] = "/tmp/test_config.XXXXXX", err[256] = "", want[300];
	struct config c;
	FILE *f;
	int fd;

	ASSERT_EQ(0, config_init(&c));
	/* Missing: fine when optional, an error when explicit. */
	EXPECT_EQ(0, config_load(&c, "/nonexistent/vmcryptd.conf", 1, err, sizeof(err)));
	EXPECT_EQ(-ENOENT, config_load(&c, "/nonexistent/vmcryptd.conf", 0, err, sizeof(err)));
	EXPECT_NE(NULL, strstr(err, "/nonexistent/vmcryptd.conf"));

	fd = mkstemp(path);
	ASSERT_GE(fd, 0);
	f = fdopen(fd, "w");
	ASSERT_NE(NULL, f);
	fputs("max_clients = 9\nadmin_groups = x\nlog_level = nope\n", f);
	fclose(f);
	EXPECT_EQ(-EINVAL, config_load(&c, path, 0, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s:3:", path);
	EXPECT_NE(NULL, strstr(err, want)) TH_LOG("got '%s'", err);
	EXPECT_EQ(64, c.max_clients);
	f = fopen(path, "w");
	ASSERT_NE(NULL, f);
	fputs("max_clients = 9\n", f);
	fclose(f);
	EXPECT_EQ(0, config_load(&c, path, 0, err, sizeof(err)));
	EXPECT_EQ(9, c.max_clients);
	/* A file others may write would let them grant themselves roles. */
	f = fopen(path, "w");
	ASSERT_NE(NULL, f);
	fputs("max_clients = 11\n", f);
	fclose(f);
	ASSERT_EQ(0, chmod(path, 0666));
	EXPECT_EQ(-EPERM, config_load(&c, path, 0, err, sizeof(err)));
	/* only the condition that failed: the owner is fine */
	snprintf(want, sizeof(want), "%s: refused: writable by group/others (mode 0666)", path);
	EXPECT_STREQ(want, err);
	EXPECT_EQ(9, c.max_clients);
	ASSERT_EQ(0, chmod(path, 0644));
	if (geteuid() == 0) {	/* a file another user owns: not by mode */
		ASSERT_EQ(0, chown(path, 1, (gid_t)-1));
		EXPECT_EQ(-EPERM, config_load(&c, path, 0, err, sizeof(err)));
		snprintf(want, sizeof(want), "%s: refused: owned by uid 1, not root", path);
		EXPECT_STREQ(want, err);
		ASSERT_EQ(0, chmod(path, 0664));
		EXPECT_EQ(-EPERM, config_load(&c, path, 0, err, sizeof(err)));
		snprintf(want, sizeof(want),
			 "%s: refused: owned by uid 1, not root and writable by group/others (mode 0664)",
			 path);
		EXPECT_STREQ(want, err);
		EXPECT_EQ(9, c.max_clients);
		ASSERT_EQ(0, chmod(path, 0644));
		ASSERT_EQ(0, chown(path, 0, (gid_t)-1));
	}
	EXPECT_EQ(0, config_load(&c, path, 0, err, sizeof(err)));
	EXPECT_EQ(11, c.max_clients);
	EXPECT_EQ(-EINVAL, config_load(&c, "/tmp", 0, err, sizeof(err)));
	unlink(path);
	config_free(&c);
}

TEST(roles)
{
	struct config c;
	char user[64];

	ASSERT_EQ(0, config_init(&c));
	EXPECT_EQ((int)ROLE_ADMIN, (int)config_role_of(&c, 0, 0, user, sizeof(user)));
	EXPECT_STREQ("root", user);
	/* A uid with no passwd entry and no mapped group: no role. */
	EXPECT_EQ((int)ROLE_NONE, (int)config_role_of(&c, 4000123, 4000123, user, sizeof(user)));
	EXPECT_STREQ("4000123", user);
	EXPECT_STREQ("admin", role_name(ROLE_ADMIN));
	EXPECT_STREQ("operator", role_name(ROLE_OPERATOR));
	EXPECT_STREQ("viewer", role_name(ROLE_VIEWER));
	EXPECT_STREQ("none", role_name(ROLE_NONE));
	config_free(&c);
}

TEST(role_from_primary_group)
{
	char err[256];
	struct config c;
	char user[64];

	/* gid 0 is "root" in every group database: map it to viewer. */
	ASSERT_EQ(0, config_init(&c));
	ASSERT_EQ(0, parse(&c, "viewer_groups = root\n", err, sizeof(err)));
	EXPECT_EQ((int)ROLE_VIEWER, (int)config_role_of(&c, 4000123, 0, user, sizeof(user)));
	ASSERT_EQ(0, parse(&c, "operator_groups = root\n", err, sizeof(err)));
	EXPECT_EQ((int)ROLE_OPERATOR, (int)config_role_of(&c, 4000123, 0, user, sizeof(user)));
	config_free(&c);
}

TEST_HARNESS_MAIN
