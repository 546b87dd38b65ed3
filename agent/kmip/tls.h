/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tls.h - the TLS transport of the KMIP client: OpenSSL context with the
 * client certificate, a connect with timeout and server name/IP
 * verification, and whole-message send/receive with deadlines and a size
 * cap. Internal to agent/kmip/; errors as documented in kmip.h.
 */
#ifndef VMCRYPT_KMIP_TLS_H
#define VMCRYPT_KMIP_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "kmip/kmip.h"

/* Check the key file's owner/mode, load CA, certificate and key. */
int tls_ctx_new(const struct kmip_tls_config *cfg, SSL_CTX **out,
		struct kmip_result *res);

struct tls_conn {
	SSL *ssl;
	int fd;
};

/* TCP connect and TLS handshake to @host:@port within @timeout_ms. */
int tls_connect(SSL_CTX *ctx, const char *host, unsigned int port,
		int timeout_ms, struct tls_conn *tc, struct kmip_result *res);
/* Close (without waiting for the peer) and reset @tc. */
void tls_close(struct tls_conn *tc);
/*
 * Whether a connection that sat idle can carry the next request: false
 * when the server closed it or sent something unasked. Never blocks.
 */
bool tls_idle_usable(struct tls_conn *tc);

/* Monotonic milliseconds, for deadlines. */
int64_t tls_now_ms(void);

int tls_send(struct tls_conn *tc, const uint8_t *buf, size_t len,
	     int64_t deadline_ms, struct kmip_result *res);

/*
 * Receive one TTLV message (header + value) of at most @max bytes before
 * @deadline_ms. *buf is allocated in locked memory (replies may carry
 * keys); free it with tls_msg_free(*buf, *len).
 */
int tls_recv_message(struct tls_conn *tc, size_t max, int64_t deadline_ms,
		     uint8_t **buf, size_t *len, struct kmip_result *res);
void tls_msg_free(uint8_t *buf, size_t len);

#endif
