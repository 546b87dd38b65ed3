// SPDX-License-Identifier: GPL-2.0
/*
 * close.c - "vmcryptctl close NAME": remove /dev/mapper/NAME (and the loop
 * device of an image file).
 */
#include <getopt.h>
#include <stdio.h>

#include <json-c/json.h>

#include "lib/ctlclient.h"
#include "vmcryptctl/commands.h"

int close_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct json_object *args, *res = NULL;
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			printf("Usage: vmcryptctl close NAME\n\nClose the open vmcrypt disk /dev/mapper/NAME.\n");
			return EXIT_OK;
		default:
			fprintf(stderr, "Usage: vmcryptctl close NAME\n");
			return EXIT_USAGE;
		}
	}
	if (optind + 1 != argc) {
		fprintf(stderr, "Usage: vmcryptctl close NAME\n");
		return EXIT_USAGE;
	}
	args = json_object_new_object();
	json_object_object_add(args, "name", json_object_new_string(argv[optind]));
	if (ctl_run("disk.close", args, &res))
		return EXIT_FAIL;
	printf("Closed %s\n", argv[optind]);
	json_object_put(res);
	return EXIT_OK;
}
