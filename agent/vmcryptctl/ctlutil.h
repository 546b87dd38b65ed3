/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ctlutil.h - small helpers shared by vmcryptctl subcommands: reading
 * members of a daemon reply, printing records, absolute paths.
 */
#ifndef VMCRYPTCTL_CTLUTIL_H
#define VMCRYPTCTL_CTLUTIL_H

#include <stdbool.h>
#include <stddef.h>

struct json_object;

/* Member @key of @o as text ("" when absent; numbers/bools printed). */
const char *jget(struct json_object *o, const char *key);
/* Member @key of @o as bool (false when absent). */
bool jbool(struct json_object *o, const char *key);

/* Absolute form of @path (realpath, or cwd-joined if it does not exist). */
char *abs_path(const char *path);

/* Print "usage error: MSG" style line and return EXIT_USAGE. */
int usage_error(const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* One verb of a subcommand with verbs ("provider add", "key show", ...). */
struct ctl_verb {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
};

/*
 * Dispatch argv[1] of subcommand @cmd to one of @verbs (argv[0] of the
 * verb is its name). With no verb, or --help/-h, prints the verb list
 * (to stderr and EXIT_USAGE when no verb was given). An unknown verb is a
 * one-line usage error.
 */
int ctl_run_verb(const char *cmd, const struct ctl_verb *verbs, size_t n,
		 int argc, char **argv);

#endif
