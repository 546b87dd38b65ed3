// SPDX-License-Identifier: GPL-2.0
/*
 * status.c - "vmcryptctl status [NAME] [--json]": per open disk, its VM,
 * provider, key id, key state and the target's I/O counters.
 */
#include <getopt.h>
#include <stdio.h>

#include <json-c/json.h>

#include "lib/ctlclient.h"
#include "vmcryptctl/commands.h"

static const char *const fields[][2] = {
	{ "device", "device" }, { "path", "disk" }, { "backing_device", "backing device" },
	{ "state", "state" }, { "key_state", "key state" }, { "vm_name", "VM name" },
	{ "vm_uuid", "VM UUID" }, { "provider", "provider" }, { "kek_id", "key id" },
	{ "luks_uuid", "LUKS UUID" }, { "created", "created" }, { "rekeyed", "rekeyed" },
	{ "size_bytes", "size (bytes)" }, { "sector_size", "sector size" },
	{ "data_offset", "data offset" }, { "recovery_keyslots", "recovery keyslots" },
	{ "open_count", "open count" }, { "reads", "reads" }, { "read_bytes", "read bytes" },
	{ "writes", "writes" }, { "write_bytes", "write bytes" },
	{ "crypto_errors", "crypto errors" }, { "io_errors", "I/O errors" },
	{ "table", "table" },
};

int status_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct json_object *args, *res = NULL, *disks, *v;
	size_t i, j, n;
	int c, json = 0;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = 1; break;
		case 'h':
			printf("Usage: vmcryptctl status [NAME] [--json]\n\n"
			       "Show open vmcrypt disks: VM, provider, key id, key state, counters.\n");
			return EXIT_OK;
		default:
			fprintf(stderr, "Usage: vmcryptctl status [NAME] [--json]\n");
			return EXIT_USAGE;
		}
	}
	if (argc - optind > 1) {
		fprintf(stderr, "Usage: vmcryptctl status [NAME] [--json]\n");
		return EXIT_USAGE;
	}
	args = json_object_new_object();
	if (optind < argc)
		json_object_object_add(args, "name", json_object_new_string(argv[optind]));
	if (ctl_run("disk.status", args, &res))
		return EXIT_FAIL;
	if (json) {
		ctl_print_json(res);
		json_object_put(res);
		return EXIT_OK;
	}
	if (json_object_object_get_ex(res, "disks", &disks)) {
		n = json_object_array_length(disks);
		if (!n)
			printf("No open vmcrypt disks.\n");
		for (i = 0; i < n; i++) {
			struct json_object *o = json_object_array_get_idx(disks, i);

			printf("%s%s:\n", i ? "\n" : "",
			       json_object_object_get_ex(o, "name", &v) ?
			       json_object_get_string(v) : "?");
			for (j = 0; j < sizeof(fields) / sizeof(fields[0]); j++)
				if (json_object_object_get_ex(o, fields[j][0], &v))
					printf("  %-18s %s\n", fields[j][1], json_object_get_string(v));
		}
	}
	json_object_put(res);
	return EXIT_OK;
}
