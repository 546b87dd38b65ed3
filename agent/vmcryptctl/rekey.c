// SPDX-License-Identifier: GPL-2.0
/*
 * rekey.c - "vmcryptctl rekey --shallow DEV|FILE [--provider NAME]": a new
 * KEK for the VM, the disk's DEK re-wrapped with it. Works while open.
 */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "lib/ctlclient.h"
#include "vmcryptctl/commands.h"
#include "vmcryptctl/ctlutil.h"

static void usage(FILE *f)
{
	fprintf(f, "Usage: vmcryptctl rekey --shallow DEV|FILE [--provider NAME] [--json]\n\n"
		   "Shallow rekey: create a new KEK for the disk's VM (on NAME, or the VM's\n"
		   "provider) and re-wrap the disk's DEK with it. The data is not rewritten;\n"
		   "the disk may stay open.\n");
}

int rekey_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "shallow", no_argument, NULL, 's' },
		{ "provider", required_argument, NULL, 'p' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct json_object *args, *res = NULL, *v;
	const char *provider = NULL;
	char path[PATH_MAX];
	int c, r, shallow = 0, json = 0;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 's': shallow = 1; break;
		case 'p': provider = optarg; break;
		case 'j': json = 1; break;
		case 'h': usage(stdout); return EXIT_OK;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind + 1 != argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!shallow) {
		fprintf(stderr, "vmcryptctl: only --shallow rekeying is supported (a new KEK, the same DEK)\n");
		return EXIT_USAGE;
	}
	r = ctl_disk_path(argv[optind], path, sizeof(path), 0);
	if (r) {
		fprintf(stderr, "vmcryptctl: %s: %s\n", argv[optind], strerror(-r));
		return EXIT_FAIL;
	}
	args = json_object_new_object();
	json_object_object_add(args, "path", json_object_new_string(path));
	json_object_object_add(args, "shallow", json_object_new_boolean(1));
	if (provider)
		json_object_object_add(args, "provider", json_object_new_string(provider));
	if (ctl_run("disk.rekey", args, &res))
		return EXIT_FAIL;
	if (json) {
		ctl_print_json(res);
	} else {
#define S(k) (json_object_object_get_ex(res, k, &v) ? json_object_get_string(v) : "?")
		printf("Rekeyed %s: DEK now wrapped with key %s of provider %s (was %s of %s)\n",
		       S("path"), S("kek_id"), S("provider"), S("old_kek_id"), S("old_provider"));
#undef S
	}
	if (*jget(res, "warning"))
		fprintf(stderr, "vmcryptctl: warning: %s\n", jget(res, "warning"));
	json_object_put(res);
	return EXIT_OK;
}
