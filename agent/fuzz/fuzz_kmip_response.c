// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz_kmip_response.c - libFuzzer target for what a KMIP server sends
 * back: the response message parser (header, batch items, result
 * status/reason/message, Unique Batch Item ID matching) and every payload
 * parser the client runs on a successful answer (Unique Identifier, key
 * material into locked memory, Get Attributes as text, Locate, Query,
 * Discover Versions). Seeds: tests/fuzz-corpus/fuzz_kmip_response/.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kmip/kmip.h"
#include "kmip/message.h"
#include "kmip/ops.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void payload_parsers(const struct msg_item *it)
{
	struct kmip_result res;
	struct kmip_attr_list l;
	struct kmip_uid_list u;
	struct kmip_query_info q;
	struct secbuf key;
	const char *why;
	int v[OPS_MAX_VERSIONS][2];
	size_t n;
	char *uid;

	if (msg_item_result(it, &res) != 0) {
		if (!memchr(res.message, '\0', sizeof(res.message)))
			abort();
		return;
	}
	if (ops_parse_uid(it->payload, &uid, &why) == 0) {
		if (!*uid || strlen(uid) > KMIP_UID_MAX)
			abort();
		for (n = 0; uid[n]; n++)
			if ((unsigned char)uid[n] < 0x20 || uid[n] == 0x7f)
				abort();
		free(uid);
	}
	if (ops_parse_key(it->payload, NULL, &key, &why) == 0) {
		if (!key.len || key.len > 512)
			abort();
		secbuf_free(&key);
	}
	if (ops_parse_attributes(it->payload, &l) == 0)
		kmip_attr_list_free(&l);
	if (ops_parse_locate(it->payload, &u) == 0)
		kmip_uid_list_free(&u);
	if (ops_parse_query(it->payload, &q) == 0)
		kmip_query_info_free(&q);
	(void)ops_parse_versions(it->payload, v, OPS_MAX_VERSIONS, &n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct msg_response resp;
	uint8_t *copy;
	uint32_t id = 1;

	copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	if (msg_response_parse(copy, size, &resp) == 0) {
		for (size_t i = 0; i < resp.n; i++)
			payload_parsers(&resp.items[i]);
		(void)msg_response_find(&resp, 10, NULL, 0);
		(void)msg_response_find(&resp, 10, &id, sizeof(id));
		msg_response_free(&resp);
	}
	free(copy);
	return 0;
}
