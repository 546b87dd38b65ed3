// SPDX-License-Identifier: GPL-2.0
/*
 * ctlutil.c - helpers shared by vmcryptctl subcommands (see ctlutil.h).
 */
#include "vmcryptctl/ctlutil.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "vmcryptctl/commands.h"

const char *jget(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v) || !v)
		return "";
	return json_object_get_string(v);
}

bool jbool(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v) || !v)
		return false;
	return json_object_get_boolean(v);
}

char *abs_path(const char *path)
{
	char cwd[PATH_MAX], *r;

	r = realpath(path, NULL);
	if (r)
		return r;
	if (path[0] == '/')
		return strdup(path);
	if (!getcwd(cwd, sizeof(cwd)))
		return strdup(path);
	if (asprintf(&r, "%s/%s", cwd, path) < 0)
		return NULL;
	return r;
}

int usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "vmcryptctl %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "; see 'vmcryptctl %s --help'\n", cmd);
	return EXIT_USAGE;
}

int ctl_run_verb(const char *cmd, const struct ctl_verb *verbs, size_t n,
		 int argc, char **argv)
{
	size_t i;

	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		FILE *f = argc < 2 ? stderr : stdout;

		fprintf(f, "Usage: vmcryptctl %s <verb> [<args>]\n\n", cmd);
		for (i = 0; i < n; i++)
			fprintf(f, "  %-12s %s\n", verbs[i].name, verbs[i].help);
		fprintf(f, "\nRun 'vmcryptctl %s <verb> --help' for its options.\n", cmd);
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	for (i = 0; i < n; i++) {
		if (!strcmp(argv[1], verbs[i].name)) {
			optind = 0;
			return verbs[i].fn(argc - 1, argv + 1);
		}
	}
	fprintf(stderr, "vmcryptctl %s: unknown verb '%s'; see 'vmcryptctl %s --help'\n",
		cmd, argv[1], cmd);
	return EXIT_USAGE;
}
