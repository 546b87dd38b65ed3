// SPDX-License-Identifier: GPL-2.0
/*
 * ops_core.c - operations of the daemon itself: "ping" (anyone: protocol
 * version, who you are, your role) and "events.list" (the event log since
 * a time, for `vmcryptctl events`).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "lib/proto.h"
#include "vmcryptd/ops.h"

int op_ping(struct daemon *d, struct request *rq, struct json_object *args,
	    struct json_object *result)
{
	json_object_object_add(result, "version", json_object_new_int(PROTO_VERSION));
	json_object_object_add(result, "daemon", json_object_new_string("vmcryptd"));
	json_object_object_add(result, "pid", json_object_new_int(getpid()));
	json_object_object_add(result, "uid", json_object_new_int64(rq->uid));
	json_object_object_add(result, "user", json_object_new_string(rq->user));
	json_object_object_add(result, "role", json_object_new_string(role_name(rq->role)));
	return 0;
}

static int collect(struct json_object *rec, void *ctx)
{
	return json_object_array_add(ctx, json_object_get(rec)) < 0 ? -ENOMEM : 0;
}

int op_events_list(struct daemon *d, struct request *rq,
		   struct json_object *args, struct json_object *result)
{
	struct json_object *arr;
	struct timespec since;
	const char *s = NULL;
	char *path;
	size_t bad = 0;
	int r;

	r = args_string(rq, args, "since", false, &s);
	if (r < 0 && r != -ENOENT)
		return r;
	if (s && eventlog_parse_time(s, &since) < 0) {
		request_error(rq, "invalid time '%s': use RFC 3339, e.g. 2026-11-23T02:40:00Z or 2026-11-23",
			      s);
		return -EINVAL;
	}
	arr = json_object_new_array();
	path = daemon_state_path(d, "events.jsonl");
	if (!arr || !path) {
		json_object_put(arr);
		free(path);
		return -ENOMEM;
	}
	r = eventlog_read(path, s ? &since : NULL, collect, arr, &bad);
	free(path);
	if (r < 0) {
		json_object_put(arr);
		request_error(rq, "cannot read the event log: %s", strerror(-r));
		return r;
	}
	json_object_object_add(result, "events", arr);
	json_object_object_add(result, "skipped_lines", json_object_new_int64((int64_t)bad));
	return 0;
}
