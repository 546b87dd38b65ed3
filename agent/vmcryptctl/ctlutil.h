/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ctlutil.h - small helpers shared by vmcryptctl subcommands: reading
 * members of a daemon reply, printing records, absolute paths.
 */
#ifndef VMCRYPTCTL_CTLUTIL_H
#define VMCRYPTCTL_CTLUTIL_H

#include <stdbool.h>

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

#endif
