// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz_proto.c - libFuzzer target for the control protocol parsers: the
 * daemon's request parser (every byte a local user sends) and the CLI's
 * response parser. Any input must be accepted or refused cleanly; an
 * accepted request always has a valid op and an object of args, whose
 * member names then go through the check every operation applies
 * (proto_check_args(), here against disk.format's list): it must refuse
 * exactly the requests that have a member outside the list, and name one.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "lib/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const known[] = {
	"path", "vm_name", "vm_uuid", "provider", "sector_size", NULL
};
static const char *const more[] = { "size", "force", "recovery_passphrase", NULL };

static bool listed(const char *name)
{
	size_t i;

	for (i = 0; known[i]; i++)
		if (!strcmp(known[i], name))
			return true;
	for (i = 0; more[i]; i++)
		if (!strcmp(more[i], name))
			return true;
	return false;
}

/* proto_check_args() must agree with a plain scan of the members. */
static void check_args(struct json_object *args)
{
	const char *bad;
	bool all_listed = true;
	int r = proto_check_args(args, known, more, &bad);

	json_object_object_foreach(args, name, v) {
		(void)v;
		if (!listed(name))
			all_listed = false;
	}
	if (r == 0 && (!all_listed || bad))
		abort();
	if (r != 0 && (r != -EINVAL || all_listed || !bad || listed(bad) ||
		       !json_object_object_get_ex(args, bad, NULL)))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_object *req, *args, *res;
	const char *op;
	enum proto_failure failure;
	char err[256], *errtext;
	int r;

	if (size > PROTO_MAX_REQUEST)
		return 0;
	r = proto_parse_request((const char *)data, size, &req, &op, &args,
				err, sizeof(err));
	if (r == 0) {
		if (!op || !*op || strlen(op) > PROTO_MAX_OP ||
		    !json_object_is_type(args, json_type_object))
			abort();
		check_args(args);
		json_object_put(req);
	} else if (r != -EBADMSG && r != -EPROTONOSUPPORT && r != -ENOMEM) {
		abort();
	}
	r = proto_parse_response((const char *)data, size, &res, &errtext,
				 &failure);
	if (r == 0) {
		if (!json_object_is_type(res, json_type_object) || errtext ||
		    failure != PROTO_FAILURE_NONE)
			abort();
		json_object_put(res);
	} else {
		if (failure > PROTO_FAILURE_UNAVAILABLE)
			abort();
		free(errtext);
	}
	return 0;
}
