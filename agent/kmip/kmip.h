/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kmip.h - the KMIP client library: the only header the rest of the agent
 * includes. One struct kmip_conn is one persistent TLS connection to one
 * KMIP server (mutual TLS, KMIP 1.0-1.4). Failover between the servers of
 * a cluster is the caller's business: try the next server when an
 * operation returns an error for which kmip_is_transport_error() is true.
 *
 * Conventions
 * - Every function returns 0 or a negative errno.
 * - Every function taking a struct kmip_result *res (may be NULL) fills it
 *   on failure: for a server-reported failure, status is the KMIP Result
 *   Status (1 Operation Failed, 2 Pending, 3 Undone), reason the KMIP
 *   Result Reason and message "<reason name>: <server's Result Message>"
 *   (just the reason's name if the server sent no message); for a local
 *   or transport failure, status is KMIP_STATUS_LOCAL, reason 0, and
 *   message says what went wrong ("connect 127.0.0.1:5696: Connection
 *   refused", "TLS handshake with localhost:5696: server certificate
 *   verify failed: IP address mismatch", "response of 4294967296 bytes
 *   exceeds the limit of 1048576 bytes", "no response from the server
 *   within the timeout").
 *   On success res->status is 0 and message is empty.
 *   The message never contains key bytes.
 * - Errors, and whether to fail over (kmip_is_transport_error()):
 *     transport (fail over): -ECONNREFUSED, -ETIMEDOUT (connect, handshake
 *       or a reply that does not arrive within io_timeout_ms),
 *       -EHOSTUNREACH (also: name does not resolve), -ENETUNREACH (also:
 *       a local policy forbids the connection),
 *       -ECONNRESET (peer closed, also mid-message), -EPIPE, -EPROTO (TLS
 *       handshake failure, including a server certificate that does not
 *       verify against ca_file or does not match host), -EBADMSG (reply is
 *       not valid TTLV or not a valid KMIP response), -EMSGSIZE (reply
 *       larger than max_message), -EPROTONOSUPPORT (no common protocol
 *       version).
 *     server-reported (do not fail over; res filled from the reply):
 *       -ENOENT Item Not Found / Object Archived, -EACCES Permission
 *       Denied / Authentication Not Successful / Sensitive / Not
 *       Extractable (PyKMIP also answers Destroy of an Active key and
 *       another owner's Get so), -EPERM Illegal Operation, -EOPNOTSUPP
 *       Operation / Feature / Namespace / Key Format not supported,
 *       -EINVAL Invalid Message / Invalid Field / Missing Data,
 *       -EEXIST Object Already Exists, -ERANGE Index Out Of Bounds,
 *       -E2BIG Response Too Large, -ENODATA Key Value Not Present,
 *       -EREMOTEIO anything else (General Failure, Cryptographic Failure,
 *       unknown reasons, Pending/Undone status).
 *     local: -EINVAL bad argument, -ENOMEM, -ENOENT/-EACCES for an
 *       unreadable CA/certificate/key file, -EPERM for a private key file
 *       that others than its owner can read (mode & 077) or that is not
 *       owned by the calling user (res->message says which file),
 *       -EKEYREJECTED certificate and key do not match; -EBADMSG also
 *       when a successful reply lacks a field the operation needs (e.g.
 *       Get returned no raw key material).
 * - Threads: each struct kmip_conn has an internal mutex; operations on
 *   one connection are serialised (KMIP servers such as PyKMIP's handle
 *   one request at a time per connection anyway). Use one connection per
 *   server per thread for parallelism. kmip_conn_free() must not run
 *   concurrently with an operation on the same connection.
 * - SIGPIPE: never raised by the library (blocked around socket writes).
 * - The connection is opened lazily by the first operation, kept open and
 *   reused; after any transport error it is closed and the next operation
 *   reconnects. A kept-alive connection that turns out to have been closed
 *   by the server (reset on first use) is reopened and the request sent
 *   once more; there is no other retry inside the library. On every
 *   (re)connect the library runs Discover Versions and uses the best
 *   version both sides speak, preferring 1.4, then 1.3 .. 1.0 (a server
 *   that does not know Discover Versions gets 1.0). KMIP 2.0 is not used.
 */
#ifndef VMCRYPT_KMIP_H
#define VMCRYPT_KMIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/secmem.h"

struct kmip_tls_config {
	const char *ca_file;	/* PEM CA bundle that signed the server cert */
	const char *cert_file;	/* PEM client certificate (clientAuth EKU) */
	const char *key_file;	/* PEM private key, mode 0600 or stricter */
	int connect_timeout_ms;	/* TCP connect + TLS handshake; 0: 5000 */
	int io_timeout_ms;	/* each request/reply exchange; 0: 10000 */
	size_t max_message;	/* largest reply accepted; 0: 1 MiB */
};

/* KMIP Result Status values, plus our own marker for local failures. */
#define KMIP_STATUS_LOCAL (-1)
#define KMIP_STATUS_SUCCESS 0
#define KMIP_STATUS_OPERATION_FAILED 1
#define KMIP_STATUS_PENDING 2
#define KMIP_STATUS_UNDONE 3

struct kmip_result {
	int status;		/* KMIP Result Status or KMIP_STATUS_LOCAL */
	int reason;		/* KMIP Result Reason, 0 if none */
	char message[256];	/* human-readable text, never key bytes */
};

/* Cryptographic Usage Mask bits (KMIP 1.x, 9.1.3.3.1). */
#define KMIP_USAGE_SIGN 0x00000001u
#define KMIP_USAGE_VERIFY 0x00000002u
#define KMIP_USAGE_ENCRYPT 0x00000004u
#define KMIP_USAGE_DECRYPT 0x00000008u
#define KMIP_USAGE_WRAP_KEY 0x00000010u
#define KMIP_USAGE_UNWRAP_KEY 0x00000020u

/* Revocation Reason Codes (KMIP 1.x, 9.1.3.2.19). */
enum kmip_revocation_reason {
	KMIP_REVOKE_UNSPECIFIED = 1,
	KMIP_REVOKE_KEY_COMPROMISE = 2,
	KMIP_REVOKE_CA_COMPROMISE = 3,
	KMIP_REVOKE_AFFILIATION_CHANGED = 4,
	KMIP_REVOKE_SUPERSEDED = 5,
	KMIP_REVOKE_CESSATION_OF_OPERATION = 6,
	KMIP_REVOKE_PRIVILEGE_WITHDRAWN = 7,
};

/*
 * An attribute given by the caller (Create, Locate, Add/Modify Attribute):
 * - KMIP_ATTR_TEXT: a Text String attribute @name = @value; custom
 *   attributes ("x-Vendor") and standard text ones ("Object Group",
 *   "Contact Information").
 * - KMIP_ATTR_NAME: the Name attribute, @value as Uninterpreted Text
 *   String (@name is ignored).
 * - KMIP_ATTR_ASI: Application Specific Information with Application
 *   Namespace @name and Application Data @value.
 * @index is the Attribute Index, used by Modify Attribute (0 otherwise).
 */
enum kmip_attr_kind {
	KMIP_ATTR_TEXT = 1,
	KMIP_ATTR_NAME,
	KMIP_ATTR_ASI,
};

struct kmip_attr {
	enum kmip_attr_kind kind;
	const char *name;
	const char *value;
	int index;
};

/*
 * Attributes as returned by Get Attributes, as printable text:
 * enumerations by name where known ("State" = "Active", "Cryptographic
 * Algorithm" = "AES"), Date-Time as RFC 3339 UTC ("2026-11-23T02:40:40Z"),
 * masks as decimal, Name as its value, Application Specific Information as
 * "<namespace>=<data>", byte strings as hex. An attribute with several
 * instances appears several times.
 */
struct kmip_attr_text {
	char *name;
	char *value;
};

struct kmip_attr_list {
	size_t n;
	struct kmip_attr_text *items;
};
void kmip_attr_list_free(struct kmip_attr_list *l);

struct kmip_uid_list {
	size_t n;
	char **uids;
};
void kmip_uid_list_free(struct kmip_uid_list *l);

/* Query results (operations and object types as KMIP enumeration values). */
struct kmip_query_info {
	size_t n_operations;
	int *operations;
	size_t n_object_types;
	int *object_types;
	char *vendor;		/* Vendor Identification, NULL if not sent */
	char *server_info;	/* Server Information flattened, or NULL */
};
void kmip_query_info_free(struct kmip_query_info *q);

struct kmip_conn;

/*
 * Create a connection object for @host (name or IP literal; the server
 * certificate must match it) and @port. Loads and checks the CA,
 * certificate and key files now (errors as listed above, res->message
 * names the file), but does not connect. The strings in @cfg are copied.
 */
int kmip_conn_new(const char *host, unsigned int port,
		  const struct kmip_tls_config *cfg, struct kmip_conn **out,
		  struct kmip_result *res);
/* Close the connection (if open) and free everything; NULL is ignored. */
void kmip_conn_free(struct kmip_conn *c);
/* Drop the TLS connection now; the next operation reconnects. */
void kmip_conn_close(struct kmip_conn *c);

/*
 * Connect now if not connected (TCP, TLS, Discover Versions) and report
 * the negotiated protocol version.
 */
int kmip_discover_versions(struct kmip_conn *c, int *major, int *minor,
			   struct kmip_result *res);

/* Query operations, object types, vendor identification, server info. */
int kmip_query(struct kmip_conn *c, struct kmip_query_info *out,
	       struct kmip_result *res);

/*
 * The longest Unique Identifier taken from a server (a LUKS token keeps
 * it): KMIP sets no limit, and a longer one is refused as malformed.
 */
#define KMIP_UID_MAX 255

/* No byte of @s[0..n) is a control character (below 0x20, or 0x7f). */
bool kmip_text_clean(const void *s, size_t n);

/*
 * Create an AES-256 symmetric key named @name (NULL: no Name) with
 * Cryptographic Usage Mask @usage_mask (0: Encrypt|Decrypt), plus the
 * extra attributes @attrs[0..nattrs). Application Specific Information
 * instances are sent with Attribute Index 0, 1, ... in order (PyKMIP
 * requires it; their @index is ignored here). On success *uid is the new
 * key's Unique Identifier (free() it): 1-KMIP_UID_MAX bytes, no control
 * characters, else -EBADMSG. The key is Pre-Active: see
 * kmip_activate. PyKMIP refuses KMIP_ATTR_TEXT "x-..." attributes with
 * -EINVAL (Invalid Field); send them as KMIP_ATTR_ASI instead.
 */
int kmip_create_aes256(struct kmip_conn *c, const char *name,
		       uint32_t usage_mask, const struct kmip_attr *attrs,
		       size_t nattrs, char **uid, struct kmip_result *res);

/*
 * Get the raw key material of symmetric key @uid into @key (allocated by
 * this function in locked memory; secbuf_free() it). Decoded copies are
 * wiped. -EBADMSG if the object is not a symmetric key in Raw or
 * Transparent Symmetric Key format.
 */
int kmip_get_key(struct kmip_conn *c, const char *uid, struct secbuf *key,
		 struct kmip_result *res);

/*
 * Get the attributes @names[0..n) of object @uid (n == 0: all of them) as
 * text, see struct kmip_attr_text. Free @out with kmip_attr_list_free().
 */
int kmip_get_attributes(struct kmip_conn *c, const char *uid,
			const char *const *names, size_t n,
			struct kmip_attr_list *out, struct kmip_result *res);

/*
 * Locate objects matching all of @filters[0..n) (e.g. one KMIP_ATTR_NAME,
 * or a KMIP_ATTR_TEXT/ASI attribute). @max_items 0: no limit. Finding
 * nothing is success with out->n == 0.
 */
int kmip_locate(struct kmip_conn *c, const struct kmip_attr *filters,
		size_t n, unsigned int max_items, struct kmip_uid_list *out,
		struct kmip_result *res);

int kmip_activate(struct kmip_conn *c, const char *uid,
		  struct kmip_result *res);

/* Revoke @uid with @reason and an optional @message (NULL: none). */
int kmip_revoke(struct kmip_conn *c, const char *uid,
		enum kmip_revocation_reason reason, const char *message,
		struct kmip_result *res);

int kmip_destroy(struct kmip_conn *c, const char *uid,
		 struct kmip_result *res);

/*
 * Add one attribute instance to @uid. PyKMIP 0.10 does not implement Add
 * Attribute: it answers Invalid Message (-EINVAL).
 */
int kmip_add_attribute(struct kmip_conn *c, const char *uid,
		       const struct kmip_attr *a, struct kmip_result *res);

/* Modify instance @a->index of attribute @a on @uid. */
int kmip_modify_attribute(struct kmip_conn *c, const char *uid,
			  const struct kmip_attr *a, struct kmip_result *res);

/* True (1) if @err is a transport error: retry on another server. */
int kmip_is_transport_error(int err);

/* Name of a KMIP Result Reason ("Item Not Found"), or "Unknown Reason". */
const char *kmip_reason_name(int reason);

/* Name of a KMIP Operation ("Create"), or NULL if unknown. */
const char *kmip_operation_name(int op);

#endif
