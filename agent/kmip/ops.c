// SPDX-License-Identifier: GPL-2.0
/*
 * ops.c - attribute encoding and response payload parsers (see ops.h).
 *
 * Every parser treats the payload as hostile: it checks types and
 * presence of each field it uses and returns -EBADMSG otherwise. Key
 * material is copied straight into locked memory; no other copy is made.
 */
#include "kmip/ops.h"
#include "kmip/tags.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define KEY_MAX_BYTES 512
#define LIST_MAX 100000

int ops_put_attribute(struct ttlv_buf *b, const struct kmip_attr *a,
		      int with_index)
{
	if (!a || !a->value)
		return -EINVAL;
	ttlv_begin(b, TAG_ATTRIBUTE);
	switch (a->kind) {
	case KMIP_ATTR_TEXT:
		if (!a->name || !*a->name)
			return -EINVAL;
		ttlv_put_text(b, TAG_ATTRIBUTE_NAME, a->name);
		if (with_index)
			ttlv_put_int(b, TAG_ATTRIBUTE_INDEX, a->index);
		ttlv_put_text(b, TAG_ATTRIBUTE_VALUE, a->value);
		break;
	case KMIP_ATTR_NAME:
		ttlv_put_text(b, TAG_ATTRIBUTE_NAME, "Name");
		if (with_index)
			ttlv_put_int(b, TAG_ATTRIBUTE_INDEX, a->index);
		ttlv_begin(b, TAG_ATTRIBUTE_VALUE);
		ttlv_put_text(b, TAG_NAME_VALUE, a->value);
		ttlv_put_enum(b, TAG_NAME_TYPE, NAME_TYPE_UNINTERPRETED_TEXT);
		ttlv_end(b);
		break;
	case KMIP_ATTR_ASI:
		if (!a->name)
			return -EINVAL;
		ttlv_put_text(b, TAG_ATTRIBUTE_NAME,
			      "Application Specific Information");
		if (with_index)
			ttlv_put_int(b, TAG_ATTRIBUTE_INDEX, a->index);
		ttlv_begin(b, TAG_ATTRIBUTE_VALUE);
		ttlv_put_text(b, TAG_APPLICATION_NAMESPACE, a->name);
		ttlv_put_text(b, TAG_APPLICATION_DATA, a->value);
		ttlv_end(b);
		break;
	default:
		return -EINVAL;
	}
	ttlv_end(b);
	return b->err;
}

int ops_put_create(struct ttlv_buf *b, const struct ops_create_args *a)
{
	int r = 0, asi = 0;

	ttlv_put_enum(b, TAG_OBJECT_TYPE, OBJTYPE_SYMMETRIC_KEY);
	ttlv_begin(b, TAG_TEMPLATE_ATTRIBUTE);
	ttlv_begin(b, TAG_ATTRIBUTE);
	ttlv_put_text(b, TAG_ATTRIBUTE_NAME, "Cryptographic Algorithm");
	ttlv_put_enum(b, TAG_ATTRIBUTE_VALUE, ALG_AES);
	ttlv_end(b);
	ttlv_begin(b, TAG_ATTRIBUTE);
	ttlv_put_text(b, TAG_ATTRIBUTE_NAME, "Cryptographic Length");
	ttlv_put_int(b, TAG_ATTRIBUTE_VALUE, 256);
	ttlv_end(b);
	ttlv_begin(b, TAG_ATTRIBUTE);
	ttlv_put_text(b, TAG_ATTRIBUTE_NAME, "Cryptographic Usage Mask");
	ttlv_put_int(b, TAG_ATTRIBUTE_VALUE, (int32_t)a->mask);
	ttlv_end(b);
	if (a->name) {
		struct kmip_attr n = { KMIP_ATTR_NAME, NULL, a->name, 0 };

		r = ops_put_attribute(b, &n, 0);
	}
	for (size_t i = 0; r == 0 && i < a->nattrs; i++) {
		struct kmip_attr x = a->attrs[i];

		/*
		 * Application Specific Information may occur several times;
		 * PyKMIP then needs each instance numbered (0, 1, ...).
		 */
		if (x.kind == KMIP_ATTR_ASI)
			x.index = asi++;
		r = ops_put_attribute(b, &x, x.kind == KMIP_ATTR_ASI);
	}
	ttlv_end(b);
	return r ? r : b->err;
}

int ops_put_uid(struct ttlv_buf *b, const char *uid)
{
	ttlv_put_text(b, TAG_UNIQUE_IDENTIFIER, uid);
	return b->err;
}

int ops_put_query(struct ttlv_buf *b)
{
	ttlv_put_enum(b, TAG_QUERY_FUNCTION, QUERY_OPERATIONS);
	ttlv_put_enum(b, TAG_QUERY_FUNCTION, QUERY_OBJECTS);
	ttlv_put_enum(b, TAG_QUERY_FUNCTION, QUERY_SERVER_INFORMATION);
	return b->err;
}

int ops_put_revoke(struct ttlv_buf *b, const struct ops_revoke_args *a)
{
	ttlv_put_text(b, TAG_UNIQUE_IDENTIFIER, a->uid);
	ttlv_begin(b, TAG_REVOCATION_REASON);
	ttlv_put_enum(b, TAG_REVOCATION_REASON_CODE, (uint32_t)a->reason);
	if (a->message)
		ttlv_put_text(b, TAG_REVOCATION_MESSAGE, a->message);
	ttlv_end(b);
	/* Compromise reasons require the Compromise Occurrence Date. */
	if (a->reason == KMIP_REVOKE_KEY_COMPROMISE ||
	    a->reason == KMIP_REVOKE_CA_COMPROMISE)
		ttlv_put_datetime(b, TAG_COMPROMISE_OCCURRENCE_DATE,
				  a->compromise_date);
	return b->err;
}

int ops_put_getattr(struct ttlv_buf *b, const struct ops_getattr_args *a)
{
	ttlv_put_text(b, TAG_UNIQUE_IDENTIFIER, a->uid);
	for (size_t i = 0; i < a->n; i++)
		ttlv_put_text(b, TAG_ATTRIBUTE_NAME, a->names[i]);
	return b->err;
}

int ops_put_locate(struct ttlv_buf *b, const struct ops_locate_args *a)
{
	int r = 0;

	if (a->max)
		ttlv_put_int(b, TAG_MAXIMUM_ITEMS, (int32_t)a->max);
	for (size_t i = 0; r == 0 && i < a->n; i++)
		r = ops_put_attribute(b, &a->filters[i], 0);
	return r ? r : b->err;
}

int ops_put_attr_op(struct ttlv_buf *b, const struct ops_attr_args *a)
{
	ttlv_put_text(b, TAG_UNIQUE_IDENTIFIER, a->uid);
	return ops_put_attribute(b, a->a, a->with_index);
}

bool kmip_text_clean(const void *s, size_t n)
{
	const unsigned char *p = s;
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] < 0x20 || p[i] == 0x7f)
			return false;
	return true;
}

int ops_parse_uid(const struct ttlv_item *payload, char **uid,
		  const char **why)
{
	const struct ttlv_item *it = ttlv_child(payload, TAG_UNIQUE_IDENTIFIER);

	*uid = NULL;
	if (!it || it->type != TTLV_TEXT_STRING || it->len == 0) {
		*why = "response has no Unique Identifier";
		return -EBADMSG;
	}
	if (it->len > KMIP_UID_MAX) {
		*why = "the Unique Identifier in the response is longer than 255 bytes";
		return -EBADMSG;
	}
	if (!kmip_text_clean(it->val, it->len)) {
		*why = "the Unique Identifier in the response has a control character";
		return -EBADMSG;
	}
	return ttlv_get_text(it, uid);
}

int ops_parse_key(const struct ttlv_item *payload, const char *uid,
		  struct secbuf *key, const char **why)
{
	const struct ttlv_item *sk, *kb, *kv, *km, *it;
	uint32_t type, fmt, alg;
	int32_t bits;

	key->data = NULL;
	key->len = 0;
	*why = "the object is not the one asked for (Unique Identifier)";
	it = ttlv_child(payload, TAG_UNIQUE_IDENTIFIER);
	if (uid && (!it || it->type != TTLV_TEXT_STRING || it->len != strlen(uid) ||
		    memcmp(it->val, uid, it->len)))
		return -EBADMSG;
	*why = "no Object Type";
	if (ttlv_get_enum(ttlv_child(payload, TAG_OBJECT_TYPE), &type) < 0)
		return -EBADMSG;
	*why = "object is not a symmetric key";
	if (type != OBJTYPE_SYMMETRIC_KEY)
		return -EBADMSG;
	*why = "no Symmetric Key / Key Block";
	sk = ttlv_child(payload, TAG_SYMMETRIC_KEY);
	kb = ttlv_child(sk, TAG_KEY_BLOCK);
	if (!kb || kb->type != TTLV_STRUCTURE)
		return -EBADMSG;
	*why = "key is wrapped";
	if (ttlv_child(kb, TAG_KEY_WRAPPING_DATA))
		return -EBADMSG;
	*why = "no Key Format Type";
	if (ttlv_get_enum(ttlv_child(kb, TAG_KEY_FORMAT_TYPE), &fmt) < 0)
		return -EBADMSG;
	*why = "no Key Value structure";
	kv = ttlv_child(kb, TAG_KEY_VALUE);
	if (!kv || kv->type != TTLV_STRUCTURE)
		return -EBADMSG;
	km = ttlv_child(kv, TAG_KEY_MATERIAL);
	if (fmt == KEYFMT_TRANSPARENT_SYMMETRIC)
		km = ttlv_child(km, TAG_KEY);
	else if (fmt != KEYFMT_RAW) {
		*why = "key format is neither Raw nor Transparent Symmetric";
		return -EBADMSG;
	}
	*why = "no key material";
	if (!km || km->type != TTLV_BYTE_STRING || km->len == 0)
		return -EBADMSG;
	*why = "key material too long";
	if (km->len > KEY_MAX_BYTES)
		return -EBADMSG;
	it = ttlv_child(kb, TAG_CRYPTOGRAPHIC_ALGORITHM);
	*why = "key is not an AES key (Cryptographic Algorithm)";
	if (it && (ttlv_get_enum(it, &alg) < 0 || alg != ALG_AES))
		return -EBADMSG;
	it = ttlv_child(kb, TAG_CRYPTOGRAPHIC_LENGTH);
	if (it) {
		*why = "Cryptographic Length does not match the key material";
		if (ttlv_get_int(it, &bits) < 0 ||
		    (uint64_t)km->len * 8 != (uint64_t)(uint32_t)bits)
			return -EBADMSG;
	}
	*why = "cannot allocate locked memory";
	return secbuf_dup(key, km->val, km->len);
}

static void printable(char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = '?';
}

static void print_value(FILE *f, const char *name, const struct ttlv_item *v);

static void print_struct(FILE *f, const struct ttlv_item *v)
{
	const struct ttlv_item *c;
	const char *sep = "";

	/* Name and Application Specific Information, flattened. */
	if (v->tag == TAG_ATTRIBUTE_VALUE || v->tag == TAG_NAME ||
	    v->tag == TAG_APPLICATION_SPECIFIC_INFORMATION) {
		const struct ttlv_item *nv = ttlv_child(v, TAG_NAME_VALUE);
		const struct ttlv_item *ns = ttlv_child(v, TAG_APPLICATION_NAMESPACE);
		const struct ttlv_item *ad = ttlv_child(v, TAG_APPLICATION_DATA);

		if (nv && nv->type == TTLV_TEXT_STRING) {
			fprintf(f, "%.*s", (int)nv->len, (const char *)nv->val);
			return;
		}
		if (ns && ad && ns->type == TTLV_TEXT_STRING &&
		    ad->type == TTLV_TEXT_STRING) {
			fprintf(f, "%.*s=%.*s", (int)ns->len,
				(const char *)ns->val, (int)ad->len,
				(const char *)ad->val);
			return;
		}
	}
	fputc('{', f);
	for (c = v->child; c; c = c->next) {
		const char *tn = kmip_tag_name(c->tag);

		fputs(sep, f);
		if (tn)
			fprintf(f, "%s: ", tn);
		else
			fprintf(f, "0x%06" PRIX32 ": ", c->tag);
		print_value(f, NULL, c);
		sep = ", ";
	}
	fputc('}', f);
}

static void print_time(FILE *f, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	char s[64];

	if ((int64_t)tt == t && gmtime_r(&tt, &tm) &&
	    strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%SZ", &tm))
		fputs(s, f);
	else
		fprintf(f, "%" PRId64, t);
}

static void print_value(FILE *f, const char *name, const struct ttlv_item *v)
{
	const char *en;
	int32_t i;
	int64_t l;
	uint32_t e;
	int bv;

	switch (v->type) {
	case TTLV_STRUCTURE:
		print_struct(f, v);
		break;
	case TTLV_INTEGER:
		ttlv_get_int(v, &i);
		fprintf(f, "%" PRId32, i);
		break;
	case TTLV_LONG_INTEGER:
		ttlv_get_long(v, &l);
		fprintf(f, "%" PRId64, l);
		break;
	case TTLV_ENUMERATION:
		ttlv_get_enum(v, &e);
		en = NULL;
		if (name)
			en = kmip_enum_name(name, e);
		else if (v->tag == TAG_OBJECT_TYPE)
			en = kmip_object_type_name(e);
		if (en)
			fputs(en, f);
		else
			fprintf(f, "%" PRIu32, e);
		break;
	case TTLV_BOOLEAN:
		ttlv_get_bool(v, &bv);
		fputs(bv ? "true" : "false", f);
		break;
	case TTLV_TEXT_STRING:
		fprintf(f, "%.*s", (int)v->len, (const char *)v->val);
		break;
	case TTLV_BYTE_STRING:
	case TTLV_BIG_INTEGER:
		for (uint32_t k = 0; k < v->len; k++)
			fprintf(f, "%02x", v->val[k]);
		break;
	case TTLV_DATE_TIME:
		ttlv_get_datetime(v, &l);
		print_time(f, l);
		break;
	case TTLV_DATE_TIME_EXTENDED:
		ttlv_get_datetime_ext(v, &l);
		print_time(f, l / 1000000);
		break;
	case TTLV_INTERVAL:
		ttlv_get_interval(v, &e);
		fprintf(f, "%" PRIu32, e);
		break;
	}
}

int ops_value_text(const char *name, const struct ttlv_item *v, char **out)
{
	char *s = NULL;
	size_t n = 0;
	FILE *f;

	*out = NULL;
	f = open_memstream(&s, &n);
	if (!f)
		return -ENOMEM;
	print_value(f, name, v);
	if (fclose(f) != 0 || !s) {
		free(s);
		return -ENOMEM;
	}
	printable(s);
	*out = s;
	return 0;
}

void kmip_attr_list_free(struct kmip_attr_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++) {
		free(l->items[i].name);
		free(l->items[i].value);
	}
	free(l->items);
	l->items = NULL;
	l->n = 0;
}

static size_t count_tag(const struct ttlv_item *payload, uint32_t tag)
{
	size_t n = 0;

	for (const struct ttlv_item *it = ttlv_child(payload, tag); it;
	     it = ttlv_next_same(it))
		n++;
	return n;
}

int ops_parse_attributes(const struct ttlv_item *payload,
			 struct kmip_attr_list *out)
{
	const struct ttlv_item *a;
	size_t n;
	int r;

	out->n = 0;
	out->items = NULL;
	if (!payload || payload->type != TTLV_STRUCTURE)
		return -EBADMSG;
	n = count_tag(payload, TAG_ATTRIBUTE);
	if (n > LIST_MAX)
		return -EBADMSG;
	if (n == 0)
		return 0;
	out->items = calloc(n, sizeof(*out->items));
	if (!out->items)
		return -ENOMEM;
	for (a = ttlv_child(payload, TAG_ATTRIBUTE); a; a = ttlv_next_same(a)) {
		const struct ttlv_item *nm = ttlv_child(a, TAG_ATTRIBUTE_NAME);
		const struct ttlv_item *v = ttlv_child(a, TAG_ATTRIBUTE_VALUE);
		struct kmip_attr_text *t = &out->items[out->n];

		r = -EBADMSG;
		if (!nm || !v || nm->type != TTLV_TEXT_STRING)
			goto fail;
		r = ttlv_get_text(nm, &t->name);
		if (r < 0)
			goto fail;
		r = ops_value_text(t->name, v, &t->value);
		if (r < 0) {
			free(t->name);
			goto fail;
		}
		printable(t->name);
		out->n++;
	}
	return 0;
fail:
	kmip_attr_list_free(out);
	return r;
}

void kmip_uid_list_free(struct kmip_uid_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		free(l->uids[i]);
	free(l->uids);
	l->uids = NULL;
	l->n = 0;
}

int ops_parse_locate(const struct ttlv_item *payload,
		     struct kmip_uid_list *out)
{
	const struct ttlv_item *u;
	size_t n;
	int r;

	out->n = 0;
	out->uids = NULL;
	/* An empty result may come without a payload at all. */
	if (!payload)
		return 0;
	if (payload->type != TTLV_STRUCTURE)
		return -EBADMSG;
	n = count_tag(payload, TAG_UNIQUE_IDENTIFIER);
	if (n > LIST_MAX)
		return -EBADMSG;
	if (n == 0)
		return 0;
	out->uids = calloc(n, sizeof(*out->uids));
	if (!out->uids)
		return -ENOMEM;
	for (u = ttlv_child(payload, TAG_UNIQUE_IDENTIFIER); u;
	     u = ttlv_next_same(u)) {
		r = ttlv_get_text(u, &out->uids[out->n]);
		if (r < 0) {
			kmip_uid_list_free(out);
			return r;
		}
		printable(out->uids[out->n]);
		out->n++;
	}
	return 0;
}

void kmip_query_info_free(struct kmip_query_info *q)
{
	if (!q)
		return;
	free(q->operations);
	free(q->object_types);
	free(q->vendor);
	free(q->server_info);
	memset(q, 0, sizeof(*q));
}

static int enum_list(const struct ttlv_item *payload, uint32_t tag,
		     int **out, size_t *nout)
{
	size_t n = count_tag(payload, tag), i = 0;
	const struct ttlv_item *it;

	*out = NULL;
	*nout = 0;
	if (n > LIST_MAX)
		return -EBADMSG;
	if (n == 0)
		return 0;
	*out = calloc(n, sizeof(int));
	if (!*out)
		return -ENOMEM;
	for (it = ttlv_child(payload, tag); it; it = ttlv_next_same(it)) {
		uint32_t e;

		if (ttlv_get_enum(it, &e) < 0 || e > INT32_MAX) {
			free(*out);
			*out = NULL;
			return -EBADMSG;
		}
		(*out)[i++] = (int)e;
	}
	*nout = n;
	return 0;
}

int ops_parse_query(const struct ttlv_item *payload,
		    struct kmip_query_info *out)
{
	const struct ttlv_item *it;
	int r;

	memset(out, 0, sizeof(*out));
	if (!payload)
		return 0;
	if (payload->type != TTLV_STRUCTURE)
		return -EBADMSG;
	r = enum_list(payload, TAG_OPERATION, &out->operations,
		      &out->n_operations);
	if (r == 0)
		r = enum_list(payload, TAG_OBJECT_TYPE, &out->object_types,
			      &out->n_object_types);
	it = ttlv_child(payload, TAG_VENDOR_IDENTIFICATION);
	if (r == 0 && it) {
		r = ttlv_get_text(it, &out->vendor);
		if (r == 0)
			printable(out->vendor);
	}
	it = ttlv_child(payload, TAG_SERVER_INFORMATION);
	if (r == 0 && it)
		r = ops_value_text(NULL, it, &out->server_info);
	if (r < 0)
		kmip_query_info_free(out);
	return r;
}

int ops_parse_versions(const struct ttlv_item *payload,
		       int versions[][2], size_t max, size_t *n)
{
	const struct ttlv_item *pv;

	*n = 0;
	if (!payload)
		return 0;
	if (payload->type != TTLV_STRUCTURE)
		return -EBADMSG;
	for (pv = ttlv_child(payload, TAG_PROTOCOL_VERSION); pv;
	     pv = ttlv_next_same(pv)) {
		int32_t ma, mi;

		if (ttlv_get_int(ttlv_child(pv, TAG_PROTOCOL_VERSION_MAJOR),
				 &ma) < 0 ||
		    ttlv_get_int(ttlv_child(pv, TAG_PROTOCOL_VERSION_MINOR),
				 &mi) < 0)
			return -EBADMSG;
		if (*n < max) {
			versions[*n][0] = ma;
			versions[*n][1] = mi;
			(*n)++;
		}
	}
	return 0;
}
