// SPDX-License-Identifier: GPL-2.0
/*
 * open.c - "vmcryptctl open DEV|FILE [NAME]": map a vmcrypt disk as
 * /dev/mapper/NAME (default vmcrypt-<vm>-<n>).
 */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "lib/ctlclient.h"
#include "vmcryptctl/commands.h"

static void usage(FILE *f)
{
	fprintf(f, "Usage: vmcryptctl open DEV|FILE [NAME] [--json]\n\n"
		   "Open a vmcrypt disk: fetch its VM's KEK (memory, key provider, then the\n"
		   "persisted cache), unwrap and verify the DEK, and map the disk as\n"
		   "/dev/mapper/NAME (default vmcrypt-<vm>-<n>). Image files get a loop\n"
		   "device that goes away on close.\n");
}

int open_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct json_object *args, *res = NULL, *v;
	char path[PATH_MAX];
	int c, r, json = 0;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = 1; break;
		case 'h': usage(stdout); return EXIT_OK;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind >= argc || argc - optind > 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	r = ctl_disk_path(argv[optind], path, sizeof(path), 0);
	if (r) {
		fprintf(stderr, "vmcryptctl: %s: %s\n", argv[optind], strerror(-r));
		return EXIT_FAIL;
	}
	args = json_object_new_object();
	json_object_object_add(args, "path", json_object_new_string(path));
	if (argc - optind == 2)
		json_object_object_add(args, "name", json_object_new_string(argv[optind + 1]));
	if (ctl_run("disk.open", args, &res))
		return EXIT_FAIL;
	if (json) {
		ctl_print_json(res);
	} else {
#define S(k) (json_object_object_get_ex(res, k, &v) ? json_object_get_string(v) : "?")
		printf("Opened %s as %s (VM '%s', key %s of provider %s)\n", S("path"),
		       S("device"), S("vm_name"), S("kek_id"), S("provider"));
#undef S
	}
	json_object_put(res);
	return EXIT_OK;
}
