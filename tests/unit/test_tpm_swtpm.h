/* SPDX-License-Identifier: GPL-2.0 */
/*
 * test_tpm_swtpm.h - a private swtpm for TPM unit tests: started with
 * scripts/swtpm-test on 127.0.0.1 in a fresh temporary directory, stopped
 * (and the directory removed) by swtpm_stop(). Shared by test_tpm.c and
 * test_persist_tpm.c; not a test itself.
 */
#ifndef TEST_TPM_SWTPM_H
#define TEST_TPM_SWTPM_H

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct swtpm {
	char dir[256];
	char tcti[256];
	char script[PATH_MAX];
};

/* Find scripts/swtpm-test above the test binary (any O= build dir). */
static int swtpm_find_script(char *out, size_t len)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;

	if (n <= 0)
		return -1;
	exe[n] = '\0';
	while ((slash = strrchr(exe, '/')) && slash != exe) {
		*slash = '\0';
		if (snprintf(out, len, "%s/scripts/swtpm-test", exe) >= (int)len)
			return -1;
		if (access(out, X_OK) == 0)
			return 0;
	}
	return -1;
}

static int swtpm_cmd(struct swtpm *s, const char *cmd)
{
	char line[PATH_MAX * 3];

	snprintf(line, sizeof(line), "'%s' %s '%s' >/dev/null", s->script, cmd,
		 s->dir);
	return system(line) == 0 ? 0 : -1;
}

static int swtpm_read_env(struct swtpm *s)
{
	char path[PATH_MAX + 8], line[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/env", s->dir);
	f = fopen(path, "r");
	if (!f)
		return -1;
	s->tcti[0] = '\0';
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "TPM_TCTI='", 10)) {
			char *end = strchr(line + 10, '\'');

			if (end)
				*end = '\0';
			snprintf(s->tcti, sizeof(s->tcti), "%s", line + 10);
		}
	}
	fclose(f);
	return s->tcti[0] ? 0 : -1;
}

/*
 * 0; -1 when swtpm is not installed here (the caller SKIPs with @why); -2
 * when it is but does not start (the caller fails with @why).
 */
static int swtpm_start(struct swtpm *s, const char **why)
{
	memset(s, 0, sizeof(*s));
	if (system("command -v swtpm >/dev/null 2>&1") != 0) {
		*why = "swtpm not installed";
		return -1;
	}
	if (swtpm_find_script(s->script, sizeof(s->script)) < 0) {
		*why = "scripts/swtpm-test not found above the test binary";
		return -1;
	}
	snprintf(s->dir, sizeof(s->dir), "/tmp/vmcrypt-swtpm-XXXXXX");
	if (!mkdtemp(s->dir)) {
		s->dir[0] = '\0';
		*why = "mkdtemp failed";
		return -2;
	}
	if (swtpm_cmd(s, "start") < 0 || swtpm_read_env(s) < 0) {
		*why = "swtpm is installed but did not start (scripts/swtpm-test start)";
		return -2;
	}
	return 0;
}

/* Same TPM state, PCRs reset: what a host reboot does. */
static int swtpm_restart(struct swtpm *s)
{
	if (swtpm_cmd(s, "restart") < 0)
		return -1;
	return swtpm_read_env(s);
}

/* Run a tpm2-tools command line against this TPM; its exit status. */
static int swtpm_tools(struct swtpm *s, const char *cmd)
{
	char line[8192];

	if (snprintf(line, sizeof(line), "export TPM2TOOLS_TCTI='%s'; %s", s->tcti,
		     cmd) >= (int)sizeof(line))
		return -1;
	return system(line);
}

static void swtpm_stop(struct swtpm *s)
{
	char line[PATH_MAX + 16];

	if (!s->dir[0])
		return;
	swtpm_cmd(s, "stop");
	snprintf(line, sizeof(line), "rm -rf '%s'", s->dir);
	if (system(line) != 0)
		fprintf(stderr, "# could not remove %s\n", s->dir);
	s->dir[0] = '\0';
}

#endif
