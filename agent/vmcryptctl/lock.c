// SPDX-License-Identifier: GPL-2.0
/*
 * lock.c - "vmcryptctl lock NAME|--all", the emergency lock: suspend the
 * device and wipe its key in the kernel; I/O is held until unlock.
 * Also the code shared with unlock.c.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "lib/ctlclient.h"
#include "vmcryptctl/commands.h"

int ctl_lock_common(int argc, char **argv, int lock)
{
	static const struct option opts[] = {
		{ "all", no_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *cmd = lock ? "lock" : "unlock";
	struct json_object *args, *res = NULL, *list;
	size_t i, n;
	int c, all = 0, r;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'a': all = 1; break;
		case 'h':
			printf("Usage: vmcryptctl %s NAME|--all\n\n%s\n", cmd, lock ?
			       "Emergency lock: suspend the disk and wipe its key in the kernel.\n"
			       "I/O is held (not failed) until 'vmcryptctl unlock'." :
			       "Fetch the key again (as open does), set it in the kernel and resume\n"
			       "the disk. A disk that is not locked is left as it is and named; with\n"
			       "--all, so is one suspended by someone else with its key in place.");
			return EXIT_OK;
		default:
			fprintf(stderr, "Usage: vmcryptctl %s NAME|--all\n", cmd);
			return EXIT_USAGE;
		}
	}
	if ((all && optind != argc) || (!all && optind + 1 != argc)) {
		fprintf(stderr, "Usage: vmcryptctl %s NAME|--all\n", cmd);
		return EXIT_USAGE;
	}
	args = json_object_new_object();
	if (all)
		json_object_object_add(args, "all", json_object_new_boolean(1));
	else
		json_object_object_add(args, "name", json_object_new_string(argv[optind]));
	r = ctl_run(lock ? "disk.lock" : "disk.unlock", args, &res);
	if (r)
		return EXIT_FAIL;
	if (json_object_object_get_ex(res, lock ? "locked" : "unlocked", &list)) {
		struct json_object *skipped = NULL;
		size_t m = 0;

		n = json_object_array_length(list);
		for (i = 0; i < n; i++)
			printf("%s %s\n", lock ? "Locked" : "Unlocked",
			       json_object_get_string(json_object_array_get_idx(list, i)));
		if (!lock && json_object_object_get_ex(res, "not_locked", &skipped))
			m = json_object_array_length(skipped);
		for (i = 0; i < m; i++)
			printf("%s was not locked: left as it is\n",
			       json_object_get_string(json_object_array_get_idx(skipped, i)));
		if (!n && !m)
			printf("No open vmcrypt disks.\n");
	}
	json_object_put(res);
	return EXIT_OK;
}

int lock_main(int argc, char **argv)
{
	return ctl_lock_common(argc, argv, 1);
}
