// SPDX-License-Identifier: GPL-2.0
/*
 * ttlv.c - KMIP TTLV encoder and validating decoder (see ttlv.h).
 *
 * Every item is an 8-byte header (3-byte tag, 1-byte type, 4-byte
 * big-endian length) followed by the value padded with zeros to a
 * multiple of 8. The decoder runs twice over the input: a validating pass
 * that counts items, then a pass that fills a tree allocated to the exact
 * count, so a hostile length can never make it allocate or read more than
 * the buffer holds.
 */
#include "kmip/ttlv.h"
#include "kmip/tags.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#define TTLV_DEFAULT_LIMIT (16u << 20)

static size_t pad8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static uint64_t get_be64(const uint8_t *p)
{
	return (uint64_t)get_be32(p) << 32 | get_be32(p + 4);
}

/* ---- encoder ---- */

void ttlv_buf_init(struct ttlv_buf *b)
{
	memset(b, 0, sizeof(*b));
}

void ttlv_buf_release(struct ttlv_buf *b)
{
	if (b->data) {
		OPENSSL_cleanse(b->data, b->cap);
		free(b->data);
	}
	ttlv_buf_init(b);
}

int ttlv_buf_finish(struct ttlv_buf *b)
{
	if (b->err)
		return b->err;
	if (b->depth)
		return -EINVAL;
	return 0;
}

/* Reserve @n bytes at the end; NULL (and sticky error) on failure. */
static uint8_t *buf_grow(struct ttlv_buf *b, size_t n)
{
	size_t limit = b->limit ? b->limit : TTLV_DEFAULT_LIMIT;
	uint8_t *p;

	if (b->err)
		return NULL;
	if (n > limit || b->len > limit - n) {
		b->err = -EMSGSIZE;
		return NULL;
	}
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 256;

		while (cap < b->len + n)
			cap *= 2;
		/* No realloc: the old block is wiped before it is freed. */
		p = malloc(cap);
		if (!p) {
			b->err = -ENOMEM;
			return NULL;
		}
		if (b->data) {
			memcpy(p, b->data, b->len);
			OPENSSL_cleanse(b->data, b->cap);
			free(b->data);
		}
		b->data = p;
		b->cap = cap;
	}
	p = b->data + b->len;
	b->len += n;
	return p;
}

static uint8_t *put_header(struct ttlv_buf *b, uint32_t tag, uint8_t type,
			   uint32_t len, size_t vspace)
{
	uint8_t *p;

	if (tag > 0xFFFFFF) {
		if (!b->err)
			b->err = -EINVAL;
		return NULL;
	}
	p = buf_grow(b, TTLV_HEADER_LEN + vspace);
	if (!p)
		return NULL;
	p[0] = tag >> 16;
	p[1] = tag >> 8;
	p[2] = tag;
	p[3] = type;
	put_be32(p + 4, len);
	memset(p + TTLV_HEADER_LEN, 0, vspace);
	return p + TTLV_HEADER_LEN;
}

void ttlv_begin(struct ttlv_buf *b, uint32_t tag)
{
	size_t off = b->len;

	if (b->err)
		return;
	if (b->depth >= TTLV_MAX_DEPTH) {
		b->err = -E2BIG;
		return;
	}
	if (!put_header(b, tag, TTLV_STRUCTURE, 0, 0))
		return;
	b->open[b->depth++] = off;
}

void ttlv_end(struct ttlv_buf *b)
{
	size_t off, len;

	if (b->err)
		return;
	if (b->depth == 0) {
		b->err = -EINVAL;
		return;
	}
	off = b->open[--b->depth];
	len = b->len - off - TTLV_HEADER_LEN;
	if (len > UINT32_MAX) {
		b->err = -EMSGSIZE;
		return;
	}
	put_be32(b->data + off + 4, (uint32_t)len);
}

static void put_fixed(struct ttlv_buf *b, uint32_t tag, uint8_t type,
		      uint64_t v, uint32_t len)
{
	uint8_t *p = put_header(b, tag, type, len, 8);

	if (!p)
		return;
	if (len == 4) {
		put_be32(p, (uint32_t)v);
	} else {
		put_be32(p, (uint32_t)(v >> 32));
		put_be32(p + 4, (uint32_t)v);
	}
}

void ttlv_put_int(struct ttlv_buf *b, uint32_t tag, int32_t v)
{
	put_fixed(b, tag, TTLV_INTEGER, (uint32_t)v, 4);
}

void ttlv_put_long(struct ttlv_buf *b, uint32_t tag, int64_t v)
{
	put_fixed(b, tag, TTLV_LONG_INTEGER, (uint64_t)v, 8);
}

void ttlv_put_enum(struct ttlv_buf *b, uint32_t tag, uint32_t v)
{
	put_fixed(b, tag, TTLV_ENUMERATION, v, 4);
}

void ttlv_put_bool(struct ttlv_buf *b, uint32_t tag, int v)
{
	put_fixed(b, tag, TTLV_BOOLEAN, v ? 1 : 0, 8);
}

void ttlv_put_datetime(struct ttlv_buf *b, uint32_t tag, int64_t secs)
{
	put_fixed(b, tag, TTLV_DATE_TIME, (uint64_t)secs, 8);
}

void ttlv_put_interval(struct ttlv_buf *b, uint32_t tag, uint32_t secs)
{
	put_fixed(b, tag, TTLV_INTERVAL, secs, 4);
}

void ttlv_put_datetime_ext(struct ttlv_buf *b, uint32_t tag, int64_t usecs)
{
	put_fixed(b, tag, TTLV_DATE_TIME_EXTENDED, (uint64_t)usecs, 8);
}

static void put_var(struct ttlv_buf *b, uint32_t tag, uint8_t type,
		    const void *src, size_t n)
{
	uint8_t *p;

	if (n > UINT32_MAX) {
		if (!b->err)
			b->err = -EMSGSIZE;
		return;
	}
	p = put_header(b, tag, type, (uint32_t)n, pad8(n));
	if (p && n)
		memcpy(p, src, n);
}

void ttlv_put_text(struct ttlv_buf *b, uint32_t tag, const char *s)
{
	if (!s) {
		if (!b->err)
			b->err = -EINVAL;
		return;
	}
	put_var(b, tag, TTLV_TEXT_STRING, s, strlen(s));
}

void ttlv_put_bytes(struct ttlv_buf *b, uint32_t tag, const void *p, size_t n)
{
	put_var(b, tag, TTLV_BYTE_STRING, p, n);
}

void ttlv_put_bigint(struct ttlv_buf *b, uint32_t tag, const void *p, size_t n)
{
	if (n == 0 || n % 8) {
		if (!b->err)
			b->err = -EINVAL;
		return;
	}
	put_var(b, tag, TTLV_BIG_INTEGER, p, n);
}

/* ---- decoder ---- */

/* Strict UTF-8 (no overlongs, no surrogates, <= U+10FFFF), no NUL. */
static int utf8_valid(const uint8_t *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		uint8_t c = s[i];
		size_t k;
		uint32_t cp;

		if (c == 0)
			return 0;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF) {
			k = 1;
			cp = c & 0x1F;
		} else if (c >= 0xE0 && c <= 0xEF) {
			k = 2;
			cp = c & 0x0F;
		} else if (c >= 0xF0 && c <= 0xF4) {
			k = 3;
			cp = c & 0x07;
		} else {
			return 0;
		}
		if (n - i - 1 < k)
			return 0;
		for (size_t j = 1; j <= k; j++) {
			if ((s[i + j] & 0xC0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + j] & 0x3F);
		}
		if ((k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) ||
		    cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return 0;
		i += k + 1;
	}
	return 1;
}

static int all_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;

	for (size_t i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

struct decoder {
	const uint8_t *buf;
	struct ttlv_item *items;	/* NULL in the counting pass */
	size_t n;
};

/*
 * Validate (and, in the second pass, record) the items in
 * buf[off..off+len), a sequence of siblings. Returns the first item
 * recorded (second pass) through @first.
 */
static int decode_seq(struct decoder *d, size_t off, size_t len, int depth,
		      struct ttlv_item **first)
{
	struct ttlv_item *prev = NULL;
	size_t end = off + len;

	if (depth > TTLV_MAX_DEPTH)
		return -EBADMSG;
	if (first)
		*first = NULL;
	while (off < end) {
		const uint8_t *h = d->buf + off;
		uint32_t tag, vlen;
		uint8_t type;
		size_t space;
		struct ttlv_item *it = NULL;
		int r;

		if (end - off < TTLV_HEADER_LEN)
			return -EBADMSG;
		tag = (uint32_t)h[0] << 16 | (uint32_t)h[1] << 8 | h[2];
		type = h[3];
		vlen = get_be32(h + 4);
		off += TTLV_HEADER_LEN;
		space = pad8(vlen);
		if (space > end - off)
			return -EBADMSG;
		const uint8_t *v = d->buf + off;

		switch (type) {
		case TTLV_STRUCTURE:
			if (vlen % 8)
				return -EBADMSG;
			break;
		case TTLV_INTEGER:
		case TTLV_ENUMERATION:
		case TTLV_INTERVAL:
			if (vlen != 4 || !all_zero(v + 4, 4))
				return -EBADMSG;
			break;
		case TTLV_LONG_INTEGER:
		case TTLV_DATE_TIME:
		case TTLV_DATE_TIME_EXTENDED:
			if (vlen != 8)
				return -EBADMSG;
			break;
		case TTLV_BOOLEAN:
			if (vlen != 8 || get_be64(v) > 1)
				return -EBADMSG;
			break;
		case TTLV_BIG_INTEGER:
			if (vlen == 0 || vlen % 8)
				return -EBADMSG;
			break;
		case TTLV_TEXT_STRING:
			if (!utf8_valid(v, vlen))
				return -EBADMSG;
			/* fall through */
		case TTLV_BYTE_STRING:
			if (!all_zero(v + vlen, space - vlen))
				return -EBADMSG;
			break;
		default:
			return -EBADMSG;
		}
		if (d->items) {
			it = &d->items[d->n];
			it->tag = tag;
			it->type = type;
			it->len = vlen;
			it->val = v;
			it->child = NULL;
			it->next = NULL;
			if (prev)
				prev->next = it;
			else if (first)
				*first = it;
			prev = it;
		}
		d->n++;
		if (type == TTLV_STRUCTURE) {
			r = decode_seq(d, off, vlen, depth + 1,
				       it ? &it->child : NULL);
			if (r < 0)
				return r;
		}
		off += space;
	}
	return 0;
}

int ttlv_decode(const uint8_t *buf, size_t len, struct ttlv_tree *t)
{
	struct decoder d = { .buf = buf };
	struct ttlv_item *root;
	int r;

	t->items = NULL;
	t->n = 0;
	if (!buf || len < TTLV_HEADER_LEN)
		return -EBADMSG;
	/* Exactly one top-level item filling the buffer. */
	if (pad8(get_be32(buf + 4)) != len - TTLV_HEADER_LEN)
		return -EBADMSG;
	r = decode_seq(&d, 0, len, 0, NULL);
	if (r < 0)
		return r;
	if (d.n == 0)
		return -EBADMSG;
	d.items = calloc(d.n, sizeof(*d.items));
	if (!d.items)
		return -ENOMEM;
	t->n = d.n;
	d.n = 0;
	r = decode_seq(&d, 0, len, 0, &root);
	if (r < 0 || d.n != t->n) {	/* cannot happen: same input */
		free(d.items);
		t->n = 0;
		return r < 0 ? r : -EBADMSG;
	}
	t->items = d.items;
	return 0;
}

void ttlv_tree_free(struct ttlv_tree *t)
{
	if (!t)
		return;
	free(t->items);
	t->items = NULL;
	t->n = 0;
}

int64_t ttlv_message_length(const uint8_t hdr[TTLV_HEADER_LEN])
{
	uint32_t len = get_be32(hdr + 4);

	if (hdr[3] != TTLV_STRUCTURE || len % 8)
		return -EBADMSG;
	return (int64_t)len + TTLV_HEADER_LEN;
}

const struct ttlv_item *ttlv_child(const struct ttlv_item *parent,
				   uint32_t tag)
{
	const struct ttlv_item *it;

	if (!parent || parent->type != TTLV_STRUCTURE)
		return NULL;
	for (it = parent->child; it; it = it->next)
		if (it->tag == tag)
			return it;
	return NULL;
}

const struct ttlv_item *ttlv_next_same(const struct ttlv_item *it)
{
	const struct ttlv_item *n;

	if (!it)
		return NULL;
	for (n = it->next; n; n = n->next)
		if (n->tag == it->tag)
			return n;
	return NULL;
}

int ttlv_get_int(const struct ttlv_item *it, int32_t *v)
{
	if (!it || it->type != TTLV_INTEGER)
		return -EBADMSG;
	*v = (int32_t)get_be32(it->val);
	return 0;
}

int ttlv_get_long(const struct ttlv_item *it, int64_t *v)
{
	if (!it || it->type != TTLV_LONG_INTEGER)
		return -EBADMSG;
	*v = (int64_t)get_be64(it->val);
	return 0;
}

int ttlv_get_enum(const struct ttlv_item *it, uint32_t *v)
{
	if (!it || it->type != TTLV_ENUMERATION)
		return -EBADMSG;
	*v = get_be32(it->val);
	return 0;
}

int ttlv_get_bool(const struct ttlv_item *it, int *v)
{
	if (!it || it->type != TTLV_BOOLEAN)
		return -EBADMSG;
	*v = get_be64(it->val) != 0;
	return 0;
}

int ttlv_get_datetime(const struct ttlv_item *it, int64_t *v)
{
	if (!it || it->type != TTLV_DATE_TIME)
		return -EBADMSG;
	*v = (int64_t)get_be64(it->val);
	return 0;
}

int ttlv_get_interval(const struct ttlv_item *it, uint32_t *v)
{
	if (!it || it->type != TTLV_INTERVAL)
		return -EBADMSG;
	*v = get_be32(it->val);
	return 0;
}

int ttlv_get_datetime_ext(const struct ttlv_item *it, int64_t *v)
{
	if (!it || it->type != TTLV_DATE_TIME_EXTENDED)
		return -EBADMSG;
	*v = (int64_t)get_be64(it->val);
	return 0;
}

int ttlv_get_text(const struct ttlv_item *it, char **s)
{
	char *p;

	if (!it || it->type != TTLV_TEXT_STRING)
		return -EBADMSG;
	p = malloc((size_t)it->len + 1);
	if (!p)
		return -ENOMEM;
	memcpy(p, it->val, it->len);
	p[it->len] = '\0';
	*s = p;
	return 0;
}

int ttlv_get_bytes(const struct ttlv_item *it, const uint8_t **p, size_t *n)
{
	if (!it || (it->type != TTLV_BYTE_STRING &&
		    it->type != TTLV_TEXT_STRING))
		return -EBADMSG;
	*p = it->val;
	*n = it->len;
	return 0;
}

/* The getters cannot fail here: each is called for its own type. */
void ttlv_put_item(struct ttlv_buf *b, const struct ttlv_item *it)
{
	int64_t l = 0;
	int32_t i = 0;
	uint32_t e = 0;
	int bv = 0;

	switch (it->type) {
	case TTLV_STRUCTURE:
		ttlv_begin(b, it->tag);
		for (const struct ttlv_item *c = it->child; c; c = c->next)
			ttlv_put_item(b, c);
		ttlv_end(b);
		break;
	case TTLV_INTEGER:
		ttlv_get_int(it, &i);
		ttlv_put_int(b, it->tag, i);
		break;
	case TTLV_LONG_INTEGER:
		ttlv_get_long(it, &l);
		ttlv_put_long(b, it->tag, l);
		break;
	case TTLV_ENUMERATION:
		ttlv_get_enum(it, &e);
		ttlv_put_enum(b, it->tag, e);
		break;
	case TTLV_BOOLEAN:
		ttlv_get_bool(it, &bv);
		ttlv_put_bool(b, it->tag, bv);
		break;
	case TTLV_TEXT_STRING:
		put_var(b, it->tag, TTLV_TEXT_STRING, it->val, it->len);
		break;
	case TTLV_BYTE_STRING:
		ttlv_put_bytes(b, it->tag, it->val, it->len);
		break;
	case TTLV_BIG_INTEGER:
		ttlv_put_bigint(b, it->tag, it->val, it->len);
		break;
	case TTLV_DATE_TIME:
		ttlv_get_datetime(it, &l);
		ttlv_put_datetime(b, it->tag, l);
		break;
	case TTLV_INTERVAL:
		ttlv_get_interval(it, &e);
		ttlv_put_interval(b, it->tag, e);
		break;
	case TTLV_DATE_TIME_EXTENDED:
		ttlv_get_datetime_ext(it, &l);
		ttlv_put_datetime_ext(b, it->tag, l);
		break;
	default:
		if (!b->err)
			b->err = -EINVAL;
	}
}

const char *ttlv_type_name(uint8_t type)
{
	static const char *const names[] = {
		[TTLV_STRUCTURE] = "Structure",
		[TTLV_INTEGER] = "Integer",
		[TTLV_LONG_INTEGER] = "LongInteger",
		[TTLV_BIG_INTEGER] = "BigInteger",
		[TTLV_ENUMERATION] = "Enumeration",
		[TTLV_BOOLEAN] = "Boolean",
		[TTLV_TEXT_STRING] = "TextString",
		[TTLV_BYTE_STRING] = "ByteString",
		[TTLV_DATE_TIME] = "DateTime",
		[TTLV_INTERVAL] = "Interval",
		[TTLV_DATE_TIME_EXTENDED] = "DateTimeExtended",
	};

	if (type >= sizeof(names) / sizeof(names[0]))
		return NULL;
	return names[type];
}

static void dump_hex(FILE *f, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%02x", p[i]);
}

static void dump_item(FILE *f, const struct ttlv_item *it, int level,
		      int show_secrets)
{
	const char *name = kmip_tag_name(it->tag);
	const char *tname = ttlv_type_name(it->type);

	fprintf(f, "%*s", level * 2, "");
	if (name)
		fprintf(f, "%s (0x%06" PRIX32 ") %s", name, it->tag, tname);
	else
		fprintf(f, "0x%06" PRIX32 " (0x%06" PRIX32 ") %s", it->tag,
			it->tag, tname);
	switch (it->type) {
	case TTLV_STRUCTURE:
		break;
	case TTLV_INTEGER:
		fprintf(f, " = %" PRId32, (int32_t)get_be32(it->val));
		break;
	case TTLV_ENUMERATION:
	case TTLV_INTERVAL:
		fprintf(f, " = %" PRIu32, get_be32(it->val));
		break;
	case TTLV_LONG_INTEGER:
	case TTLV_DATE_TIME:
	case TTLV_DATE_TIME_EXTENDED:
		fprintf(f, " = %" PRId64, (int64_t)get_be64(it->val));
		break;
	case TTLV_BOOLEAN:
		fprintf(f, " = %s", get_be64(it->val) ? "True" : "False");
		break;
	case TTLV_TEXT_STRING:
		fprintf(f, " = '%.*s'", (int)it->len, (const char *)it->val);
		break;
	case TTLV_BIG_INTEGER:
	case TTLV_BYTE_STRING:
		if (show_secrets) {
			fputs(" = '", f);
			dump_hex(f, it->val, it->len);
			fputc('\'', f);
		} else {
			fprintf(f, " = <%" PRIu32 " bytes>", it->len);
		}
		break;
	}
	fputc('\n', f);
	for (const struct ttlv_item *c = it->child; c; c = c->next)
		dump_item(f, c, level + 1, show_secrets);
}

void ttlv_dump(FILE *f, const struct ttlv_item *it, int show_secrets)
{
	if (it)
		dump_item(f, it, 0, show_secrets);
}
