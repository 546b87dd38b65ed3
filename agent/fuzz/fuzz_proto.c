// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz_proto.c - libFuzzer target for the control protocol parsers: the
 * daemon's request parser (every byte a local user sends) and the CLI's
 * response parser. Any input must be accepted or refused cleanly; an
 * accepted request always has a valid op and an object of args.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "lib/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
