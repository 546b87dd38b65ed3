/* SPDX-License-Identifier: GPL-2.0 */
/*
 * client.h - internal hooks of the KMIP connection for batches and tests:
 * send an arbitrary request (several batch items with Unique Batch Item
 * IDs) on a connection and get the parsed response. Not for the rest of
 * the agent, which uses kmip.h only.
 */
#ifndef VMCRYPT_KMIP_CLIENT_H
#define VMCRYPT_KMIP_CLIENT_H

#include <stdbool.h>

#include "kmip/kmip.h"
#include "kmip/message.h"

/* Serialise with other users of @c around the calls below. */
void kmip_conn_lock(struct kmip_conn *c);
void kmip_conn_unlock(struct kmip_conn *c);

/* Connect if needed and report the negotiated version (lock held). */
int kmip_conn_version_locked(struct kmip_conn *c, int *major, int *minor,
			     struct kmip_result *res);

/* A fresh Unique Batch Item ID for this connection (lock held). */
uint32_t kmip_conn_batch_id(struct kmip_conn *c);

/*
 * Send @req and receive and parse the response (lock held). On success
 * @resp points into *raw: free with msg_response_free() then
 * tls_msg_free(*raw, *rawlen). A kept-alive connection found closed
 * before sending is reopened; one that fails after the request was sent
 * is reopened and the request sent again only when @idempotent.
 */
int kmip_conn_transact(struct kmip_conn *c, const struct ttlv_buf *req,
		       bool idempotent, uint8_t **raw, size_t *rawlen,
		       struct msg_response *resp, struct kmip_result *res);

#endif
