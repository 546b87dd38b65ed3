// SPDX-License-Identifier: GPL-2.0
/*
 * message.c - KMIP request headers/batch items and the response parser
 * (see message.h), plus the mapping of Result Reasons to errno values.
 */
#include "kmip/message.h"
#include "kmip/tags.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void msg_request_begin(struct ttlv_buf *b, int major, int minor,
		       int batch_count)
{
	ttlv_begin(b, TAG_REQUEST_MESSAGE);
	ttlv_begin(b, TAG_REQUEST_HEADER);
	ttlv_begin(b, TAG_PROTOCOL_VERSION);
	ttlv_put_int(b, TAG_PROTOCOL_VERSION_MAJOR, major);
	ttlv_put_int(b, TAG_PROTOCOL_VERSION_MINOR, minor);
	ttlv_end(b);
	ttlv_put_int(b, TAG_BATCH_COUNT, batch_count);
	ttlv_end(b);
}

void msg_item_begin(struct ttlv_buf *b, int op, const void *id, size_t idlen)
{
	ttlv_begin(b, TAG_BATCH_ITEM);
	ttlv_put_enum(b, TAG_OPERATION, (uint32_t)op);
	if (id)
		ttlv_put_bytes(b, TAG_UNIQUE_BATCH_ITEM_ID, id, idlen);
	ttlv_begin(b, TAG_REQUEST_PAYLOAD);
}

void msg_item_end(struct ttlv_buf *b)
{
	ttlv_end(b);	/* payload */
	ttlv_end(b);	/* batch item */
}

void msg_request_end(struct ttlv_buf *b)
{
	ttlv_end(b);
}

static int get_enum_int(const struct ttlv_item *it, int *v)
{
	uint32_t e;
	int r = ttlv_get_enum(it, &e);

	if (r < 0)
		return r;
	if (e > INT32_MAX)
		return -EBADMSG;
	*v = (int)e;
	return 0;
}

static int parse_item(const struct ttlv_item *bi, struct msg_item *out)
{
	const struct ttlv_item *it;

	memset(out, 0, sizeof(*out));
	if (bi->type != TTLV_STRUCTURE)
		return -EBADMSG;
	it = ttlv_child(bi, TAG_OPERATION);
	if (it && get_enum_int(it, &out->op) < 0)
		return -EBADMSG;
	it = ttlv_child(bi, TAG_UNIQUE_BATCH_ITEM_ID);
	if (it) {
		if (it->type != TTLV_BYTE_STRING)
			return -EBADMSG;
		out->id = it->val;
		out->idlen = it->len;
	}
	if (get_enum_int(ttlv_child(bi, TAG_RESULT_STATUS), &out->status) < 0)
		return -EBADMSG;
	it = ttlv_child(bi, TAG_RESULT_REASON);
	if (it && get_enum_int(it, &out->reason) < 0)
		return -EBADMSG;
	it = ttlv_child(bi, TAG_RESULT_MESSAGE);
	if (it) {
		if (it->type != TTLV_TEXT_STRING)
			return -EBADMSG;
		out->message = it;
	}
	it = ttlv_child(bi, TAG_RESPONSE_PAYLOAD);
	if (it) {
		if (it->type != TTLV_STRUCTURE)
			return -EBADMSG;
		out->payload = it;
	}
	return 0;
}

int msg_response_parse(const uint8_t *buf, size_t len,
		       struct msg_response *resp)
{
	const struct ttlv_item *root, *hdr, *pv, *it;
	int32_t major, minor, count;
	size_t n = 0;
	int r;

	memset(resp, 0, sizeof(*resp));
	r = ttlv_decode(buf, len, &resp->tree);
	if (r < 0)
		return r;
	r = -EBADMSG;
	root = &resp->tree.items[0];
	if (root->tag != TAG_RESPONSE_MESSAGE || root->type != TTLV_STRUCTURE)
		goto bad;
	hdr = ttlv_child(root, TAG_RESPONSE_HEADER);
	if (!hdr || hdr->type != TTLV_STRUCTURE)
		goto bad;
	pv = ttlv_child(hdr, TAG_PROTOCOL_VERSION);
	if (!pv || ttlv_get_int(ttlv_child(pv, TAG_PROTOCOL_VERSION_MAJOR),
				&major) < 0 ||
	    ttlv_get_int(ttlv_child(pv, TAG_PROTOCOL_VERSION_MINOR),
			 &minor) < 0)
		goto bad;
	resp->major = major;
	resp->minor = minor;
	it = ttlv_child(hdr, TAG_TIME_STAMP);
	if (it && ttlv_get_datetime(it, &resp->timestamp) < 0)
		goto bad;
	if (ttlv_get_int(ttlv_child(hdr, TAG_BATCH_COUNT), &count) < 0)
		goto bad;
	for (it = ttlv_child(root, TAG_BATCH_ITEM); it; it = ttlv_next_same(it)) {
		if (n == MSG_MAX_ITEMS)
			goto bad;
		if (parse_item(it, &resp->items[n]) < 0)
			goto bad;
		n++;
	}
	if (n == 0 || count < 0 || (size_t)count != n)
		goto bad;
	resp->n = n;
	return 0;
bad:
	msg_response_free(resp);
	return r;
}

void msg_response_free(struct msg_response *resp)
{
	ttlv_tree_free(&resp->tree);
	resp->n = 0;
}

const struct msg_item *msg_response_find(const struct msg_response *resp,
					 int op, const void *id, size_t idlen)
{
	const struct msg_item *found = NULL;

	if (!id) {
		if (resp->n != 1)
			return NULL;
		found = &resp->items[0];
	} else {
		for (size_t i = 0; i < resp->n; i++) {
			const struct msg_item *it = &resp->items[i];

			if (it->id && it->idlen == idlen &&
			    !memcmp(it->id, id, idlen)) {
				if (found)	/* duplicate ID: ambiguous */
					return NULL;
				found = it;
			}
		}
	}
	if (found && found->op && found->op != op &&
	    found->status == RESULT_SUCCESS)
		return NULL;
	return found;
}

int kmip_reason_errno(int reason)
{
	switch (reason) {
	case 0x01: case 0x0D:
		return -ENOENT;
	case 0x02:
		return -E2BIG;
	case 0x03: case 0x0C: case 0x14: case 0x15: case 0x16: case 0x17:
		return -EACCES;
	case 0x04: case 0x06: case 0x07: case 0x12:
		return -EINVAL;
	case 0x05: case 0x08: case 0x0F: case 0x10: case 0x11:
		return -EOPNOTSUPP;
	case 0x09:
		return -ECANCELED;
	case 0x0B:
		return -EPERM;
	case 0x0E:
		return -ERANGE;
	case 0x13:
		return -ENODATA;
	case 0x18:
		return -EEXIST;
	default:
		return -EREMOTEIO;
	}
}

void kmip_result_clear(struct kmip_result *res)
{
	if (!res)
		return;
	res->status = 0;
	res->reason = 0;
	res->message[0] = '\0';
}

/* Replace control characters so that a server's text is safe to log. */
static void sanitize(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

void kmip_result_set(struct kmip_result *res, const char *fmt, ...)
{
	va_list ap;

	if (!res)
		return;
	res->status = KMIP_STATUS_LOCAL;
	res->reason = 0;
	va_start(ap, fmt);
	vsnprintf(res->message, sizeof(res->message), fmt, ap);
	va_end(ap);
	sanitize(res->message);
}

int msg_item_result(const struct msg_item *it, struct kmip_result *res)
{
	const char *rname;

	if (it->status == RESULT_SUCCESS) {
		kmip_result_clear(res);
		return 0;
	}
	if (res) {
		rname = it->reason ? kmip_reason_name(it->reason)
				   : "No Result Reason";
		res->status = it->status;
		res->reason = it->reason;
		if (it->message)
			snprintf(res->message, sizeof(res->message),
				 "%s: %.*s", rname, (int)it->message->len,
				 (const char *)it->message->val);
		else
			snprintf(res->message, sizeof(res->message), "%s",
				 rname);
		sanitize(res->message);
	}
	if (it->status != 1)	/* Pending, Undone, unknown */
		return -EREMOTEIO;
	return kmip_reason_errno(it->reason);
}
