/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ops.h - per-operation pieces of the KMIP client: attribute encoding for
 * requests and the parsers of response payloads, kept apart from the
 * connection code so that unit tests and the fuzz target can run them on
 * captured or random responses. Internal to agent/kmip/.
 */
#ifndef VMCRYPT_KMIP_OPS_H
#define VMCRYPT_KMIP_OPS_H

#include "kmip/kmip.h"
#include "kmip/ttlv.h"

/* Encode @a as a 1.x Attribute structure (Index only if @with_index). */
int ops_put_attribute(struct ttlv_buf *b, const struct kmip_attr *a,
		      int with_index);

/*
 * Request payload writers (the inside of Request Payload), KMIP 1.x
 * layout as PyKMIP's client sends it. They return the buffer's sticky
 * error, or -EINVAL for a bad attribute.
 */
struct ops_create_args {
	const char *name;		/* NULL: no Name */
	uint32_t mask;			/* Cryptographic Usage Mask */
	const struct kmip_attr *attrs;
	size_t nattrs;
};
int ops_put_create(struct ttlv_buf *b, const struct ops_create_args *a);
int ops_put_uid(struct ttlv_buf *b, const char *uid);
int ops_put_query(struct ttlv_buf *b);

struct ops_revoke_args {
	const char *uid;
	int reason;
	const char *message;		/* NULL: none */
	int64_t compromise_date;	/* for the compromise reasons */
};
int ops_put_revoke(struct ttlv_buf *b, const struct ops_revoke_args *a);

struct ops_getattr_args {
	const char *uid;
	const char *const *names;
	size_t n;
};
int ops_put_getattr(struct ttlv_buf *b, const struct ops_getattr_args *a);

struct ops_locate_args {
	const struct kmip_attr *filters;
	size_t n;
	unsigned int max;		/* 0: no Maximum Items */
};
int ops_put_locate(struct ttlv_buf *b, const struct ops_locate_args *a);

/* Add Attribute (with_index 0) and Modify Attribute (1). */
struct ops_attr_args {
	const char *uid;
	const struct kmip_attr *a;
	int with_index;
};
int ops_put_attr_op(struct ttlv_buf *b, const struct ops_attr_args *a);

/*
 * Unique Identifier of a Create/Activate/Revoke/Destroy/... payload. It
 * becomes a key id that is stored (LUKS token, VM bindings), logged and
 * sent back: -EBADMSG with @why set when it is missing or empty, over
 * KMIP_UID_MAX bytes, or has a control character.
 */
int ops_parse_uid(const struct ttlv_item *payload, char **uid,
		  const char **why);

/*
 * Key material of a Get payload (Symmetric Key, Raw or Transparent
 * Symmetric Key format, not wrapped, AES when the Cryptographic Algorithm
 * is given) into locked memory. With @uid (not NULL) the payload's Unique
 * Identifier must be it. -EBADMSG with @why set when the payload is not
 * what we can use.
 */
int ops_parse_key(const struct ttlv_item *payload, const char *uid,
		  struct secbuf *key, const char **why);

/* Get Attributes payload as text (see struct kmip_attr_text). */
int ops_parse_attributes(const struct ttlv_item *payload,
			 struct kmip_attr_list *out);

int ops_parse_locate(const struct ttlv_item *payload,
		     struct kmip_uid_list *out);

int ops_parse_query(const struct ttlv_item *payload,
		    struct kmip_query_info *out);

/* Protocol versions of a Discover Versions payload, in server order. */
#define OPS_MAX_VERSIONS 16
int ops_parse_versions(const struct ttlv_item *payload,
		       int versions[][2], size_t max, size_t *n);

/* Printable text of attribute value @v of attribute @name (malloc'ed). */
int ops_value_text(const char *name, const struct ttlv_item *v, char **out);

#endif
