// SPDX-License-Identifier: GPL-2.0
/*
 * test_kmip_message.c - KMIP response parsing and payload parsers on
 * PyKMIP's captured responses (Create, Get, Get Attributes, Locate,
 * Discover Versions, Query, errors), batches with Unique Batch Item IDs
 * matched out of order, malformed responses, Get payloads we must refuse,
 * and the Result Reason -> errno mapping of kmip.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kselftest_harness.h"
#include "kmip/kmip.h"
#include "kmip/message.h"
#include "kmip/ops.h"
#include "kmip/tags.h"
#include "kmip/ttlv.h"
#include "test_kmip_common.h"

FIXTURE(capture) {
	uint8_t *buf;
	size_t len;
	struct msg_response resp;
	const struct msg_item *item;
};

FIXTURE_VARIANT(capture) {
	const char *name;
	int op;
};

FIXTURE_SETUP(capture)
{
	self->buf = kmip_capture(variant->name, &self->len);
	if (!self->buf)
		SKIP(return, "no capture %s in %s", variant->name,
		     kmip_testdata_dir());
	ASSERT_EQ(0, msg_response_parse(self->buf, self->len, &self->resp));
	ASSERT_EQ((size_t)1, self->resp.n);
	self->item = msg_response_find(&self->resp, variant->op, NULL, 0);
	ASSERT_NE(NULL, self->item);
}

FIXTURE_TEARDOWN(capture)
{
	if (self->buf)
		msg_response_free(&self->resp);
	free(self->buf);
	EXPECT_EQ(0, kmip_leak_check());
}

FIXTURE_VARIANT_ADD(capture, create12) { "kmip12_01_create_aes256.resp", OP_CREATE };
FIXTURE_VARIANT_ADD(capture, create14) { "kmip14_01_create_aes256.resp", OP_CREATE };
FIXTURE_VARIANT_ADD(capture, get14) { "kmip14_02_get.resp", OP_GET };
FIXTURE_VARIANT_ADD(capture, getattr14) { "kmip14_05_get_attributes_name_state.resp", OP_GET_ATTRIBUTES };
FIXTURE_VARIANT_ADD(capture, locate14) { "kmip14_04_locate_by_name.resp", OP_LOCATE };
FIXTURE_VARIANT_ADD(capture, discover14) { "kmip14_11_discover_versions.resp", OP_DISCOVER_VERSIONS };
FIXTURE_VARIANT_ADD(capture, query14) { "kmip14_12_query_ops.resp", OP_QUERY };
FIXTURE_VARIANT_ADD(capture, notfound14) { "kmip14_10_get_error_not_found.resp", OP_GET };
FIXTURE_VARIANT_ADD(capture, garbage) { "error_parse_garbage.resp", 0 };

TEST_F(capture, parse)
{
	const struct msg_item *it = self->item;
	struct kmip_result res;
	int r;

	EXPECT_EQ(1, self->resp.major);
	if (variant->op)
		EXPECT_EQ(variant->op, it->op);
	r = msg_item_result(it, &res);

	switch (variant->op) {
	case OP_CREATE: {
		const char *why = NULL;
		char *uid = NULL;

		ASSERT_EQ(0, r);
		EXPECT_EQ(0, res.status);
		ASSERT_EQ(0, ops_parse_uid(it->payload, &uid, &why));
		EXPECT_STREQ(strstr(variant->name, "12") ? "7" : "9", uid);
		free(uid);
		break;
	}
	case OP_GET: {
		static const uint8_t want[32] = {
			0xaf, 0x3c, 0x25, 0xd7, 0x78, 0xd1, 0x3d, 0x0c,
			0x34, 0x4f, 0x66, 0xcb, 0x6b, 0xe9, 0xb6, 0xa2,
			0x6e, 0xd9, 0xcf, 0x12, 0x73, 0xb1, 0xc5, 0x71,
			0x0b, 0x53, 0x05, 0x52, 0x4c, 0x8a, 0xd7, 0x59,
		};
		struct secbuf key;
		const char *why;

		if (strstr(variant->name, "not_found")) {
			EXPECT_EQ(-ENOENT, r);
			EXPECT_EQ(KMIP_STATUS_OPERATION_FAILED, res.status);
			EXPECT_EQ(1, res.reason);
			EXPECT_STREQ("Item Not Found: Could not locate object: 9",
				     res.message);
			break;
		}
		ASSERT_EQ(0, r);
		ASSERT_EQ(0, ops_parse_key(it->payload, NULL, &key, &why));
		ASSERT_EQ((size_t)32, key.len);
		EXPECT_EQ(0, secure_memcmp(key.data, want, 32));
		secbuf_free(&key);
		break;
	}
	case OP_GET_ATTRIBUTES: {
		struct kmip_attr_list l;

		ASSERT_EQ(0, r);
		ASSERT_EQ(0, ops_parse_attributes(it->payload, &l));
		ASSERT_EQ((size_t)2, l.n);
		EXPECT_STREQ("Name", l.items[0].name);
		EXPECT_STREQ("vec-kek-1.4", l.items[0].value);
		EXPECT_STREQ("State", l.items[1].name);
		EXPECT_STREQ("Pre-Active", l.items[1].value);
		kmip_attr_list_free(&l);
		break;
	}
	case OP_LOCATE: {
		struct kmip_uid_list u;

		ASSERT_EQ(0, r);
		ASSERT_EQ(0, ops_parse_locate(it->payload, &u));
		ASSERT_EQ((size_t)1, u.n);
		EXPECT_STREQ("9", u.uids[0]);
		kmip_uid_list_free(&u);
		break;
	}
	case OP_DISCOVER_VERSIONS: {
		int v[OPS_MAX_VERSIONS][2];
		size_t n;

		ASSERT_EQ(0, r);
		ASSERT_EQ(0, ops_parse_versions(it->payload, v,
						OPS_MAX_VERSIONS, &n));
		ASSERT_EQ((size_t)6, n);
		EXPECT_EQ(2, v[0][0]);
		EXPECT_EQ(0, v[0][1]);
		EXPECT_EQ(1, v[1][0]);
		EXPECT_EQ(4, v[1][1]);
		EXPECT_EQ(1, v[5][0]);
		EXPECT_EQ(0, v[5][1]);
		break;
	}
	case OP_QUERY: {
		struct kmip_query_info q;
		int has_get = 0;

		ASSERT_EQ(0, r);
		ASSERT_EQ(0, ops_parse_query(it->payload, &q));
		EXPECT_EQ((size_t)18, q.n_operations);
		for (size_t i = 0; i < q.n_operations; i++)
			has_get |= q.operations[i] == OP_GET;
		EXPECT_TRUE(has_get);
		kmip_query_info_free(&q);
		break;
	}
	default:	/* the reply to a garbage request */
		EXPECT_EQ(-EINVAL, r);
		EXPECT_EQ(4, res.reason);
		EXPECT_NE(NULL, strstr(res.message, "Invalid Message"));
		break;
	}
}

/* Build a response with batch items in the given order of IDs. */
static void build_response(struct ttlv_buf *b, const char *const *ids,
			   size_t n, int count)
{
	ttlv_buf_init(b);
	ttlv_begin(b, TAG_RESPONSE_MESSAGE);
	ttlv_begin(b, TAG_RESPONSE_HEADER);
	ttlv_begin(b, TAG_PROTOCOL_VERSION);
	ttlv_put_int(b, TAG_PROTOCOL_VERSION_MAJOR, 1);
	ttlv_put_int(b, TAG_PROTOCOL_VERSION_MINOR, 4);
	ttlv_end(b);
	ttlv_put_datetime(b, TAG_TIME_STAMP, 1795385095);
	ttlv_put_int(b, TAG_BATCH_COUNT, count);
	ttlv_end(b);
	for (size_t i = 0; i < n; i++) {
		ttlv_begin(b, TAG_BATCH_ITEM);
		ttlv_put_enum(b, TAG_OPERATION, OP_GET);
		ttlv_put_bytes(b, TAG_UNIQUE_BATCH_ITEM_ID, ids[i],
			       strlen(ids[i]));
		if (ids[i][0] == 'F') {		/* a failed item */
			ttlv_put_enum(b, TAG_RESULT_STATUS, 1);
			ttlv_put_enum(b, TAG_RESULT_REASON, 0x0C);
			ttlv_put_text(b, TAG_RESULT_MESSAGE, "no\nway");
		} else {
			ttlv_put_enum(b, TAG_RESULT_STATUS, 0);
			ttlv_begin(b, TAG_RESPONSE_PAYLOAD);
			ttlv_put_text(b, TAG_UNIQUE_IDENTIFIER, ids[i]);
			ttlv_end(b);
		}
		ttlv_end(b);
	}
	ttlv_end(b);
}

TEST(batch_request_has_ids)
{
	struct ttlv_buf b;
	struct ttlv_tree t;
	const struct ttlv_item *root, *bi;
	int32_t count;
	int n = 0;

	ttlv_buf_init(&b);
	msg_request_begin(&b, 1, 4, 3);
	for (uint32_t id = 1; id <= 3; id++) {
		msg_item_begin(&b, OP_GET, &id, sizeof(id));
		ops_put_uid(&b, "7");
		msg_item_end(&b);
	}
	msg_request_end(&b);
	ASSERT_EQ(0, ttlv_buf_finish(&b));
	ASSERT_EQ(0, ttlv_decode(b.data, b.len, &t));
	root = &t.items[0];
	ASSERT_EQ(0, ttlv_get_int(ttlv_child(ttlv_child(root,
			TAG_REQUEST_HEADER), TAG_BATCH_COUNT), &count));
	EXPECT_EQ(3, count);
	for (bi = ttlv_child(root, TAG_BATCH_ITEM); bi; bi = ttlv_next_same(bi)) {
		const struct ttlv_item *id = ttlv_child(bi,
						TAG_UNIQUE_BATCH_ITEM_ID);
		uint32_t v;

		ASSERT_NE(NULL, id);
		ASSERT_EQ((uint32_t)4, id->len);
		memcpy(&v, id->val, 4);
		EXPECT_EQ((uint32_t)++n, v);
	}
	EXPECT_EQ(3, n);
	ttlv_tree_free(&t);
	ttlv_buf_release(&b);
}

TEST(batch_response_matched_by_id)
{
	static const char *const ids[] = { "c", "Fb", "a" };
	struct msg_response resp;
	struct kmip_result res;
	const struct msg_item *it;
	const char *why = NULL;
	struct ttlv_buf b;
	char *uid;

	build_response(&b, ids, 3, 3);
	ASSERT_EQ(0, ttlv_buf_finish(&b));
	ASSERT_EQ(0, msg_response_parse(b.data, b.len, &resp));
	ASSERT_EQ((size_t)3, resp.n);

	it = msg_response_find(&resp, OP_GET, "a", 1);
	ASSERT_NE(NULL, it);
	ASSERT_EQ(0, msg_item_result(it, &res));
	ASSERT_EQ(0, ops_parse_uid(it->payload, &uid, &why));
	EXPECT_STREQ("a", uid);
	free(uid);

	it = msg_response_find(&resp, OP_GET, "c", 1);
	ASSERT_NE(NULL, it);
	ASSERT_EQ(0, ops_parse_uid(it->payload, &uid, &why));
	EXPECT_STREQ("c", uid);
	free(uid);

	it = msg_response_find(&resp, OP_GET, "Fb", 2);
	ASSERT_NE(NULL, it);
	EXPECT_EQ(-EACCES, msg_item_result(it, &res));
	EXPECT_EQ(0x0C, res.reason);
	/* The server's control characters do not reach our logs. */
	EXPECT_STREQ("Permission Denied: no?way", res.message);

	EXPECT_EQ(NULL, msg_response_find(&resp, OP_GET, "d", 1));
	EXPECT_EQ(NULL, msg_response_find(&resp, OP_GET, NULL, 0));
	/* An answer for another operation is not ours. */
	EXPECT_EQ(NULL, msg_response_find(&resp, OP_CREATE, "a", 1));
	msg_response_free(&resp);
	ttlv_buf_release(&b);
}

TEST(batch_response_refused)
{
	static const char *const dup[] = { "a", "a" };
	static const char *const two[] = { "a", "b" };
	struct msg_response resp;
	struct ttlv_buf b;

	/* Batch Count that does not match the items. */
	build_response(&b, two, 2, 3);
	ASSERT_EQ(0, ttlv_buf_finish(&b));
	EXPECT_EQ(-EBADMSG, msg_response_parse(b.data, b.len, &resp));
	ttlv_buf_release(&b);

	/* Duplicate IDs: parse, but the match is ambiguous. */
	build_response(&b, dup, 2, 2);
	ASSERT_EQ(0, ttlv_buf_finish(&b));
	ASSERT_EQ(0, msg_response_parse(b.data, b.len, &resp));
	EXPECT_EQ(NULL, msg_response_find(&resp, OP_GET, "a", 1));
	msg_response_free(&resp);
	ttlv_buf_release(&b);

	/* No batch item at all. */
	build_response(&b, two, 0, 0);
	ASSERT_EQ(0, ttlv_buf_finish(&b));
	EXPECT_EQ(-EBADMSG, msg_response_parse(b.data, b.len, &resp));
	ttlv_buf_release(&b);
}

TEST(request_is_not_a_response)
{
	uint8_t *buf;
	size_t len;
	struct msg_response resp;

	buf = kmip_capture("kmip14_02_get.req", &len);
	if (!buf)
		SKIP(return, "no captures in %s", kmip_testdata_dir());
	EXPECT_EQ(-EBADMSG, msg_response_parse(buf, len, &resp));
	free(buf);
}

TEST(response_without_status)
{
	struct msg_response resp;
	struct ttlv_buf b;

	ttlv_buf_init(&b);
	ttlv_begin(&b, TAG_RESPONSE_MESSAGE);
	ttlv_begin(&b, TAG_RESPONSE_HEADER);
	ttlv_begin(&b, TAG_PROTOCOL_VERSION);
	ttlv_put_int(&b, TAG_PROTOCOL_VERSION_MAJOR, 1);
	ttlv_put_int(&b, TAG_PROTOCOL_VERSION_MINOR, 4);
	ttlv_end(&b);
	ttlv_put_int(&b, TAG_BATCH_COUNT, 1);
	ttlv_end(&b);
	ttlv_begin(&b, TAG_BATCH_ITEM);
	ttlv_put_enum(&b, TAG_OPERATION, OP_GET);
	ttlv_end(&b);
	ttlv_end(&b);
	ASSERT_EQ(0, ttlv_buf_finish(&b));
	EXPECT_EQ(-EBADMSG, msg_response_parse(b.data, b.len, &resp));
	ttlv_buf_release(&b);
}

/* Get payloads: what we accept and what we refuse. */
static void get_payload(struct ttlv_buf *b, uint32_t objtype, uint32_t fmt,
			int wrapped, int32_t bits, size_t keylen, uint32_t alg)
{
	uint8_t key[64];

	memset(key, 0x5a, sizeof(key));
	ttlv_buf_init(b);
	ttlv_begin(b, TAG_RESPONSE_PAYLOAD);
	ttlv_put_enum(b, TAG_OBJECT_TYPE, objtype);
	ttlv_put_text(b, TAG_UNIQUE_IDENTIFIER, "1");
	ttlv_begin(b, TAG_SYMMETRIC_KEY);
	ttlv_begin(b, TAG_KEY_BLOCK);
	ttlv_put_enum(b, TAG_KEY_FORMAT_TYPE, fmt);
	ttlv_begin(b, TAG_KEY_VALUE);
	if (fmt == KEYFMT_TRANSPARENT_SYMMETRIC) {
		ttlv_begin(b, TAG_KEY_MATERIAL);
		ttlv_put_bytes(b, TAG_KEY, key, keylen);
		ttlv_end(b);
	} else {
		ttlv_put_bytes(b, TAG_KEY_MATERIAL, key, keylen);
	}
	ttlv_end(b);
	ttlv_put_enum(b, TAG_CRYPTOGRAPHIC_ALGORITHM, alg ? alg : ALG_AES);
	ttlv_put_int(b, TAG_CRYPTOGRAPHIC_LENGTH, bits);
	if (wrapped) {
		ttlv_begin(b, TAG_KEY_WRAPPING_DATA);
		ttlv_end(b);
	}
	ttlv_end(b);
	ttlv_end(b);
	ttlv_end(b);
}

FIXTURE(getkey) {
	int unused;
};

FIXTURE_VARIANT(getkey) {
	uint32_t objtype, fmt;
	int wrapped;
	int32_t bits;
	size_t keylen;
	int expect;
	uint32_t alg;		/* 0: AES */
	const char *uid;	/* the one asked for; NULL: "1", the payload's */
};

FIXTURE_SETUP(getkey) {}
FIXTURE_TEARDOWN(getkey) {}

FIXTURE_VARIANT_ADD(getkey, raw_ok) { 2, KEYFMT_RAW, 0, 256, 32, 0, 0, NULL };
FIXTURE_VARIANT_ADD(getkey, transparent_ok) { 2, KEYFMT_TRANSPARENT_SYMMETRIC, 0, 256, 32, 0, 0, NULL };
FIXTURE_VARIANT_ADD(getkey, not_symmetric) { 7, KEYFMT_RAW, 0, 256, 32, -EBADMSG, 0, NULL };
FIXTURE_VARIANT_ADD(getkey, wrapped) { 2, KEYFMT_RAW, 1, 256, 32, -EBADMSG, 0, NULL };
FIXTURE_VARIANT_ADD(getkey, pkcs8_format) { 2, 4, 0, 256, 32, -EBADMSG, 0, NULL };
FIXTURE_VARIANT_ADD(getkey, length_mismatch) { 2, KEYFMT_RAW, 0, 128, 32, -EBADMSG, 0, NULL };
FIXTURE_VARIANT_ADD(getkey, empty_key) { 2, KEYFMT_RAW, 0, 0, 0, -EBADMSG, 0, NULL };
/* a 256-bit HMAC-SHA256 key is 32 bytes too, but no KEK */
FIXTURE_VARIANT_ADD(getkey, hmac_key) { 2, KEYFMT_RAW, 0, 256, 32, -EBADMSG, 9, NULL };
/* an answer about another object than the one asked for */
FIXTURE_VARIANT_ADD(getkey, other_object) { 2, KEYFMT_RAW, 0, 256, 32, -EBADMSG, 0, "2" };
FIXTURE_VARIANT_ADD(getkey, uid_prefix) { 2, KEYFMT_RAW, 0, 256, 32, -EBADMSG, 0, "11" };

TEST_F(getkey, parse)
{
	struct ttlv_buf b;
	struct ttlv_tree t;
	struct secbuf key;
	const char *why = NULL;

	get_payload(&b, variant->objtype, variant->fmt, variant->wrapped,
		    variant->bits, variant->keylen, variant->alg);
	ASSERT_EQ(0, ttlv_buf_finish(&b));
	ASSERT_EQ(0, ttlv_decode(b.data, b.len, &t));
	EXPECT_EQ(variant->expect, ops_parse_key(&t.items[0],
						 variant->uid ? variant->uid : "1",
						 &key, &why));
	if (variant->expect == 0) {
		ASSERT_EQ(variant->keylen, key.len);
		EXPECT_EQ(0x5a, key.data[0]);
		secbuf_free(&key);
	} else {
		EXPECT_EQ(NULL, key.data);
		EXPECT_NE(NULL, why);
	}
	ttlv_tree_free(&t);
	ttlv_buf_release(&b);
}

/*
 * Unique Identifiers of Create responses: stored in LUKS tokens, logged and
 * sent back, so refused (not altered) when empty, over KMIP_UID_MAX bytes
 * or with a control character (a NUL, which would cut it short, is refused
 * by the decoder already).
 */
FIXTURE(uid) {
	int unused;
};

FIXTURE_VARIANT(uid) {
	size_t len;		/* 0: no Unique Identifier at all */
	int bad_at;		/* >= 0: that byte becomes bad_byte */
	unsigned char bad_byte;
	int expect;
};

FIXTURE_SETUP(uid) {}
FIXTURE_TEARDOWN(uid) {}

FIXTURE_VARIANT_ADD(uid, one_byte) { 1, -1, 0, 0 };
FIXTURE_VARIANT_ADD(uid, longest) { KMIP_UID_MAX, -1, 0, 0 };
FIXTURE_VARIANT_ADD(uid, missing) { 0, -1, 0, -EBADMSG };
FIXTURE_VARIANT_ADD(uid, too_long) { KMIP_UID_MAX + 1, -1, 0, -EBADMSG };
FIXTURE_VARIANT_ADD(uid, escape) { 40, 0, 0x1b, -EBADMSG };
FIXTURE_VARIANT_ADD(uid, newline) { 40, 39, '\n', -EBADMSG };
FIXTURE_VARIANT_ADD(uid, nul_inside) { 40, 7, 0, -EBADMSG };
FIXTURE_VARIANT_ADD(uid, del) { 40, 20, 0x7f, -EBADMSG };
FIXTURE_VARIANT_ADD(uid, utf8) { 40, 10, 0xc3, 0 };

TEST_F(uid, parse)
{
	char text[KMIP_UID_MAX + 2], *uid = (char *)1, *at;
	const char *why = NULL;
	struct ttlv_buf b;
	struct ttlv_tree t;

	memset(text, 'k', variant->len);
	text[variant->len] = '\0';
	if (variant->bad_byte == 0xc3)	/* U+00E9, two bytes */
		memcpy(text + variant->bad_at, "\xc3\xa9", 2);
	else if (variant->bad_at >= 0)
		text[variant->bad_at] = 'X';
	ttlv_buf_init(&b);
	ttlv_begin(&b, TAG_RESPONSE_PAYLOAD);
	ttlv_put_enum(&b, TAG_OBJECT_TYPE, 2);
	if (variant->len)
		ttlv_put_text(&b, TAG_UNIQUE_IDENTIFIER, text);
	ttlv_end(&b);
	ASSERT_EQ(0, ttlv_buf_finish(&b));
	if (variant->bad_at >= 0 && variant->bad_byte != 0xc3) {
		/* the payload's header, the enum (16 bytes), the text's header */
		at = (char *)b.data + 8 + 16 + 8 + variant->bad_at;
		ASSERT_EQ('X', *at);
		*at = (char)variant->bad_byte;
	}
	if (variant->bad_at >= 0 && variant->bad_byte == 0) {
		/* the decoder already refuses a NUL in a Text String */
		EXPECT_EQ(-EBADMSG, ttlv_decode(b.data, b.len, &t));
		ttlv_buf_release(&b);
		return;
	}
	ASSERT_EQ(0, ttlv_decode(b.data, b.len, &t));
	EXPECT_EQ(variant->expect, ops_parse_uid(&t.items[0], &uid, &why));
	if (variant->expect == 0) {
		ASSERT_NE(NULL, uid);
		EXPECT_EQ(0, memcmp(uid, text, variant->len + 1));
		free(uid);
	} else {
		EXPECT_EQ(NULL, uid);
		ASSERT_NE(NULL, why);
		TH_LOG("%s", why);
	}
	ttlv_tree_free(&t);
	ttlv_buf_release(&b);
}

/* Attribute values as text: dates, ASI, unknown enums, structures. */
TEST(attribute_text)
{
	struct ttlv_buf b;
	struct ttlv_tree t;
	struct kmip_attr_list l;
	struct kmip_attr asi = { KMIP_ATTR_ASI, "x-Vendor", "Acme", 0 };
	struct kmip_attr txt = { KMIP_ATTR_TEXT, "x-Product", "vmcrypt", 0 };

	ttlv_buf_init(&b);
	ttlv_begin(&b, TAG_RESPONSE_PAYLOAD);
	ttlv_put_text(&b, TAG_UNIQUE_IDENTIFIER, "1");
	ops_put_attribute(&b, &asi, 0);
	ops_put_attribute(&b, &txt, 0);
	ttlv_begin(&b, TAG_ATTRIBUTE);
	ttlv_put_text(&b, TAG_ATTRIBUTE_NAME, "Activation Date");
	ttlv_put_datetime(&b, TAG_ATTRIBUTE_VALUE, 1795385095);
	ttlv_end(&b);
	ttlv_begin(&b, TAG_ATTRIBUTE);
	ttlv_put_text(&b, TAG_ATTRIBUTE_NAME, "State");
	ttlv_put_enum(&b, TAG_ATTRIBUTE_VALUE, 99);
	ttlv_end(&b);
	ttlv_begin(&b, TAG_ATTRIBUTE);
	ttlv_put_text(&b, TAG_ATTRIBUTE_NAME, "Digest");
	ttlv_begin(&b, TAG_ATTRIBUTE_VALUE);
	ttlv_put_enum(&b, 0x420038, 4);
	ttlv_put_bytes(&b, 0x420035, "\x01\xab", 2);
	ttlv_end(&b);
	ttlv_end(&b);
	ttlv_end(&b);
	ASSERT_EQ(0, ttlv_buf_finish(&b));
	ASSERT_EQ(0, ttlv_decode(b.data, b.len, &t));
	ASSERT_EQ(0, ops_parse_attributes(&t.items[0], &l));
	ASSERT_EQ((size_t)5, l.n);
	EXPECT_STREQ("Application Specific Information", l.items[0].name);
	EXPECT_STREQ("x-Vendor=Acme", l.items[0].value);
	EXPECT_STREQ("x-Product", l.items[1].name);
	EXPECT_STREQ("vmcrypt", l.items[1].value);
	EXPECT_STREQ("2026-11-22T22:04:55Z", l.items[2].value);
	EXPECT_STREQ("99", l.items[3].value);
	EXPECT_STREQ("{HASHING_ALGORITHM: 4, DIGEST_VALUE: 01ab}",
		     l.items[4].value);
	kmip_attr_list_free(&l);
	ttlv_tree_free(&t);
	ttlv_buf_release(&b);
}

TEST(reason_errno_and_transport)
{
	EXPECT_EQ(-ENOENT, kmip_reason_errno(0x01));
	EXPECT_EQ(-EACCES, kmip_reason_errno(0x0C));
	EXPECT_EQ(-EOPNOTSUPP, kmip_reason_errno(0x05));
	EXPECT_EQ(-EINVAL, kmip_reason_errno(0x07));
	EXPECT_EQ(-EPERM, kmip_reason_errno(0x0B));
	EXPECT_EQ(-EREMOTEIO, kmip_reason_errno(0x100));
	EXPECT_EQ(-EREMOTEIO, kmip_reason_errno(0x7777));
	EXPECT_STREQ("Item Not Found", kmip_reason_name(1));
	EXPECT_STREQ("Unknown Reason", kmip_reason_name(0x7777));
	EXPECT_STREQ("Get", kmip_operation_name(10));

	EXPECT_TRUE(kmip_is_transport_error(-ECONNREFUSED));
	EXPECT_TRUE(kmip_is_transport_error(-ETIMEDOUT));
	EXPECT_TRUE(kmip_is_transport_error(-EPROTO));
	EXPECT_TRUE(kmip_is_transport_error(-EBADMSG));
	EXPECT_TRUE(kmip_is_transport_error(-EMSGSIZE));
	EXPECT_TRUE(kmip_is_transport_error(-ECONNRESET));
	/* Server-reported and local errors are not. */
	for (int reason = 1; reason <= 0x18; reason++) {
		EXPECT_FALSE(kmip_is_transport_error(kmip_reason_errno(reason)))
			TH_LOG("reason %d", reason);
	}
	EXPECT_FALSE(kmip_is_transport_error(-EINVAL));
	EXPECT_FALSE(kmip_is_transport_error(-EPERM));
	EXPECT_FALSE(kmip_is_transport_error(0));
}

TEST_HARNESS_MAIN
