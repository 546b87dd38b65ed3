// SPDX-License-Identifier: GPL-2.0
/*
 * ping.c - `vmcryptctl ping [--json]`: is vmcryptd there, which protocol
 * version does it speak, and what role does it give me. Allowed to users
 * with no vmcrypt role.
 */
#include <getopt.h>
#include <stdio.h>

#include <json-c/json.h>

#include "lib/ctlclient.h"
#include "vmcryptctl/commands.h"
#include "vmcryptctl/ctlutil.h"

int ping_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct json_object *res;
	int c, json = 0;

	while ((c = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = 1;
			break;
		case 'h':
			printf("Usage: vmcryptctl ping [--json]\n\n"
			       "Check that vmcryptd answers; print its protocol version and your role.\n");
			return EXIT_OK;
		default:
			return usage_error("ping", "unknown option");
		}
	}
	if (optind < argc)
		return usage_error("ping", "unexpected argument '%s'", argv[optind]);
	if (ctl_run("ping", NULL, &res) < 0)
		return EXIT_FAIL;
	if (json)
		ctl_print_json(res);
	else
		printf("vmcryptd pid %s, protocol version %s; you are %s (uid %s), role %s\n",
		       jget(res, "pid"), jget(res, "version"), jget(res, "user"),
		       jget(res, "uid"), jget(res, "role"));
	json_object_put(res);
	return EXIT_OK;
}
