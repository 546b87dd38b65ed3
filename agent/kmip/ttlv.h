/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ttlv.h - the KMIP Tag-Type-Length-Value codec (KMIP 1.x section 9.1,
 * 2.0 adds Date-Time Extended). Internal to agent/kmip/.
 *
 * Encoder: a growable buffer with begin/end for structures; errors are
 * sticky (the first one is returned by ttlv_buf_finish), so message
 * builders need not check every call.
 *
 * Decoder: ttlv_decode() validates a whole message first (lengths inside
 * the buffer and the parent, fixed sizes per type, zero padding, Boolean 0
 * or 1, Text Strings without NUL and valid UTF-8, known types, nesting at
 * most TTLV_MAX_DEPTH) and then builds a tree of items whose values point
 * into the caller's buffer: the buffer must outlive the tree. Any
 * violation is -EBADMSG; nothing is read outside the buffer.
 */
#ifndef VMCRYPT_KMIP_TTLV_H
#define VMCRYPT_KMIP_TTLV_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum ttlv_type {
	TTLV_STRUCTURE = 0x01,
	TTLV_INTEGER = 0x02,
	TTLV_LONG_INTEGER = 0x03,
	TTLV_BIG_INTEGER = 0x04,
	TTLV_ENUMERATION = 0x05,
	TTLV_BOOLEAN = 0x06,
	TTLV_TEXT_STRING = 0x07,
	TTLV_BYTE_STRING = 0x08,
	TTLV_DATE_TIME = 0x09,
	TTLV_INTERVAL = 0x0A,
	TTLV_DATE_TIME_EXTENDED = 0x0B,
};

#define TTLV_HEADER_LEN 8
#define TTLV_MAX_DEPTH 16

/* ---- encoder ---- */

struct ttlv_buf {
	uint8_t *data;
	size_t len, cap;
	size_t limit;		/* refuse to grow past this (0: 16 MiB) */
	int err;		/* first error, sticky */
	int depth;
	size_t open[TTLV_MAX_DEPTH];	/* offsets of open structures */
};

void ttlv_buf_init(struct ttlv_buf *b);
/* Wipe (requests may carry secrets one day) and free. */
void ttlv_buf_release(struct ttlv_buf *b);
/* 0 if every call so far succeeded and all structures are closed. */
int ttlv_buf_finish(struct ttlv_buf *b);

void ttlv_begin(struct ttlv_buf *b, uint32_t tag);
void ttlv_end(struct ttlv_buf *b);
void ttlv_put_int(struct ttlv_buf *b, uint32_t tag, int32_t v);
void ttlv_put_long(struct ttlv_buf *b, uint32_t tag, int64_t v);
void ttlv_put_enum(struct ttlv_buf *b, uint32_t tag, uint32_t v);
void ttlv_put_bool(struct ttlv_buf *b, uint32_t tag, int v);
void ttlv_put_text(struct ttlv_buf *b, uint32_t tag, const char *s);
void ttlv_put_bytes(struct ttlv_buf *b, uint32_t tag, const void *p,
		    size_t n);
/* Two's complement big-endian, @n a multiple of 8 (the caller pads). */
void ttlv_put_bigint(struct ttlv_buf *b, uint32_t tag, const void *p,
		     size_t n);
void ttlv_put_datetime(struct ttlv_buf *b, uint32_t tag, int64_t secs);
void ttlv_put_interval(struct ttlv_buf *b, uint32_t tag, uint32_t secs);
void ttlv_put_datetime_ext(struct ttlv_buf *b, uint32_t tag, int64_t usecs);

/* ---- decoder ---- */

struct ttlv_item {
	uint32_t tag;
	uint8_t type;
	uint32_t len;			/* value length without padding */
	const uint8_t *val;		/* value bytes inside the buffer */
	struct ttlv_item *child;	/* first child (structures) */
	struct ttlv_item *next;		/* next sibling */
};

struct ttlv_tree {
	struct ttlv_item *items;	/* items[0] is the root */
	size_t n;
};

/*
 * Decode the single item that must fill @buf[0..len) exactly. 0 or
 * -EBADMSG (malformed), -ENOMEM.
 */
int ttlv_decode(const uint8_t *buf, size_t len, struct ttlv_tree *t);
void ttlv_tree_free(struct ttlv_tree *t);

/*
 * Length of the whole message whose first 8 bytes are @hdr (a structure
 * header): -EBADMSG if it is not a structure or its length is not a
 * multiple of 8, else the total length including the header.
 */
int64_t ttlv_message_length(const uint8_t hdr[TTLV_HEADER_LEN]);

/* First child of @parent with @tag, or NULL. */
const struct ttlv_item *ttlv_child(const struct ttlv_item *parent,
				   uint32_t tag);
/* Next sibling after @it with the same tag, or NULL. */
const struct ttlv_item *ttlv_next_same(const struct ttlv_item *it);

/* Typed getters: 0, or -EBADMSG if @it is NULL or of another type. */
int ttlv_get_int(const struct ttlv_item *it, int32_t *v);
int ttlv_get_long(const struct ttlv_item *it, int64_t *v);
int ttlv_get_enum(const struct ttlv_item *it, uint32_t *v);
int ttlv_get_bool(const struct ttlv_item *it, int *v);
int ttlv_get_datetime(const struct ttlv_item *it, int64_t *v);
int ttlv_get_interval(const struct ttlv_item *it, uint32_t *v);
int ttlv_get_datetime_ext(const struct ttlv_item *it, int64_t *v);
/* Text String as a newly malloc'ed C string. */
int ttlv_get_text(const struct ttlv_item *it, char **s);
/* Byte String or Text String: pointer and length into the buffer. */
int ttlv_get_bytes(const struct ttlv_item *it, const uint8_t **p,
		   size_t *n);

/*
 * Append a copy of decoded item @it (with its children) to @b, through
 * the encoder above: for the same tree the bytes are the ones it was
 * decoded from. An item of an unknown type leaves -EINVAL in @b.
 */
void ttlv_put_item(struct ttlv_buf *b, const struct ttlv_item *it);

/*
 * Print @it and its children, one line per item, in the format of the
 * PyKMIP captures in tests: "NAME (0x42XXXX) Type = value", indented by
 * two spaces per level. Byte strings are printed in hex only when
 * @show_secrets, else as <N bytes>.
 */
void ttlv_dump(FILE *f, const struct ttlv_item *it, int show_secrets);

/* Name of a type ("Structure", "Integer", ...) or NULL if unknown. */
const char *ttlv_type_name(uint8_t type);

#endif
