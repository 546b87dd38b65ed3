/* SPDX-License-Identifier: GPL-2.0 */
/*
 * message.h - KMIP request messages (header + batch items) and the
 * response parser, which checks the response structure and matches batch
 * items to requests by Unique Batch Item ID. Internal to agent/kmip/.
 *
 * Building a request:
 *	msg_request_begin(&b, major, minor, nitems);
 *	for each item:
 *		msg_item_begin(&b, OP_GET, id, idlen);   (id NULL: no ID)
 *		... payload fields with ttlv_put_*() ...
 *		msg_item_end(&b);
 *	msg_request_end(&b); r = ttlv_buf_finish(&b);
 */
#ifndef VMCRYPT_KMIP_MESSAGE_H
#define VMCRYPT_KMIP_MESSAGE_H

#include "kmip/ttlv.h"
#include "kmip/kmip.h"

void msg_request_begin(struct ttlv_buf *b, int major, int minor,
		       int batch_count);
void msg_item_begin(struct ttlv_buf *b, int op, const void *id,
		    size_t idlen);
void msg_item_end(struct ttlv_buf *b);
void msg_request_end(struct ttlv_buf *b);

#define MSG_MAX_ITEMS 64

struct msg_item {
	int op;				/* 0 if the server sent none */
	const uint8_t *id;		/* Unique Batch Item ID or NULL */
	size_t idlen;
	int status;			/* Result Status */
	int reason;			/* Result Reason, 0 if none */
	const struct ttlv_item *message;	/* Result Message or NULL */
	const struct ttlv_item *payload;	/* Response Payload or NULL */
};

struct msg_response {
	struct ttlv_tree tree;
	int major, minor;
	int64_t timestamp;
	size_t n;
	struct msg_item items[MSG_MAX_ITEMS];
};

/*
 * Decode and check a response message in @buf (which must outlive @resp).
 * 0, -EBADMSG (not TTLV, not a response, missing required fields, batch
 * count mismatch, too many items) or -ENOMEM.
 */
int msg_response_parse(const uint8_t *buf, size_t len,
		       struct msg_response *resp);
void msg_response_free(struct msg_response *resp);

/*
 * The response item answering request item @id (or the only item when
 * @id is NULL and the response has exactly one item), checked against
 * @op when the server sent an operation. NULL if none matches.
 */
const struct msg_item *msg_response_find(const struct msg_response *resp,
					 int op, const void *id, size_t idlen);

/*
 * Turn a response item into 0 (success) or -errno, filling @res (may be
 * NULL) from Result Status/Reason/Message on failure.
 */
int msg_item_result(const struct msg_item *it, struct kmip_result *res);

/* errno for a KMIP Result Reason (see kmip.h). */
int kmip_reason_errno(int reason);

/* Fill @res as a local failure with a formatted message. */
void kmip_result_set(struct kmip_result *res, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void kmip_result_clear(struct kmip_result *res);

#endif
