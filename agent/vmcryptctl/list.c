// SPDX-License-Identifier: GPL-2.0
/*
 * list.c - "vmcryptctl list [--json]": the open vmcrypt disks, one a line.
 */
#include <getopt.h>
#include <stdio.h>

#include <json-c/json.h>

#include "lib/ctlclient.h"
#include "vmcryptctl/commands.h"

static const char *str(struct json_object *o, const char *k)
{
	struct json_object *v;

	return json_object_object_get_ex(o, k, &v) ? json_object_get_string(v) : "-";
}

int list_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct json_object *res = NULL, *disks;
	size_t i, n;
	int c, json = 0;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = 1; break;
		case 'h':
			printf("Usage: vmcryptctl list [--json]\n\nList the open vmcrypt disks.\n");
			return EXIT_OK;
		default:
			fprintf(stderr, "Usage: vmcryptctl list [--json]\n");
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "Usage: vmcryptctl list [--json]\n");
		return EXIT_USAGE;
	}
	if (ctl_run("disk.list", NULL, &res))
		return EXIT_FAIL;
	if (json) {
		ctl_print_json(res);
		json_object_put(res);
		return EXIT_OK;
	}
	if (!json_object_object_get_ex(res, "disks", &disks)) {
		json_object_put(res);
		return EXIT_OK;
	}
	n = json_object_array_length(disks);
	printf("%-24s %-7s %-16s %-10s %-12s %s\n", "NAME", "STATE", "VM", "PROVIDER",
	       "KEY", "PATH");
	for (i = 0; i < n; i++) {
		struct json_object *o = json_object_array_get_idx(disks, i);

		printf("%-24s %-7s %-16s %-10s %-12s %s\n", str(o, "name"), str(o, "state"),
		       str(o, "vm_name"), str(o, "provider"), str(o, "kek_id"), str(o, "path"));
	}
	json_object_put(res);
	return EXIT_OK;
}
