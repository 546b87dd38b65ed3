// SPDX-License-Identifier: GPL-2.0
/*
 * disk_list.c - "disk.list" and "disk.status": what is open, for which VM,
 * under which key, in which key state, with the target's I/O counters
 * (from the dm status line: the same numbers as the netlink stats dump).
 * Viewer role: names and ids only, never key bytes.
 */
#include <errno.h>
#include <string.h>

#include <json-c/json.h>

#include "vmcryptd/disk.h"
#include "vmcryptd/ops.h"

static int list_common(struct request *rq, struct json_object *args,
		       struct json_object *result, bool verbose)
{
	struct json_object *arr = json_object_new_array();
	struct open_disk *list = NULL;
	const char *name = NULL;
	size_t n = 0, i;
	int r;

	if (!arr)
		return -ENOMEM;
	r = args_string(rq, args, "name", false, &name);
	if (r && r != -ENOENT)
		goto out;
	r = disk_collect(&list, &n);
	if (r) {
		request_error(rq, "cannot list device-mapper devices: %s",
			      r == -ENODEV ? "device-mapper is not available (load dm-mod)" :
			      strerror(-r));
		goto out;
	}
	for (i = 0; i < n; i++) {
		struct json_object *o;

		if (name && strcmp(name, list[i].name))
			continue;
		o = disk_to_json(&list[i], verbose);
		if (o)
			json_object_array_add(arr, o);
	}
	if (name && json_object_array_length(arr) == 0) {
		request_error(rq, "no open vmcrypt disk named '%s'", name);
		r = -ENODEV;
		goto out;
	}
	json_object_object_add(result, "disks", json_object_get(arr));
	r = 0;
out:
	json_object_put(arr);
	free(list);
	return r;
}

int op_disk_list(struct daemon *d, struct request *rq,
		 struct json_object *args, struct json_object *result)
{
	return list_common(rq, args, result, false);
}

int op_disk_status(struct daemon *d, struct request *rq,
		   struct json_object *args, struct json_object *result)
{
	return list_common(rq, args, result, true);
}
