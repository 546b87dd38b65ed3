// SPDX-License-Identifier: GPL-2.0
/*
 * test_ttlv.c - the TTLV codec against PyKMIP's own wire captures (decode
 * every capture and compare with its decoded text; re-encode it and
 * compare byte for byte; build our requests and compare them with PyKMIP's
 * at KMIP 1.2 and 1.4), every item type, and the decoder's refusals of
 * malformed input.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kselftest_harness.h"
#include "kmip/message.h"
#include "kmip/ops.h"
#include "kmip/tags.h"
#include "kmip/ttlv.h"
#include "test_kmip_common.h"

static int strip_nl(char *s)
{
	size_t n = strlen(s);

	while (n && (s[n - 1] == '\n' || s[n - 1] == '\r'))
		s[--n] = '\0';
	return 0;
}

/* Every capture: decode == .txt, and re-encode == original bytes. */
TEST(pykmip_captures)
{
	const char *dir = kmip_testdata_dir();
	DIR *d = opendir(dir);
	struct dirent *de;
	int files = 0, failures = 0;

	if (!d)
		SKIP(return, "no PyKMIP captures in %s", dir);
	while ((de = readdir(d))) {
		char path[1024], *hex, *txt, *dump = NULL;
		size_t n = strlen(de->d_name), len, dlen = 0;
		struct ttlv_tree t;
		struct ttlv_buf b;
		uint8_t *bytes;
		FILE *f;

		if (n < 5 || strcmp(de->d_name + n - 4, ".hex"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		hex = kmip_read_file(path, NULL);
		ASSERT_NE(NULL, hex);
		bytes = kmip_unhex(hex, &len);
		free(hex);
		ASSERT_NE(NULL, bytes);
		snprintf(path, sizeof(path), "%s/%.*s.txt", dir, (int)(n - 4),
			 de->d_name);
		txt = kmip_read_file(path, NULL);
		files++;
		if (!txt) {
			/* Only the deliberately garbage request has no text. */
			if (ttlv_decode(bytes, len, &t) == 0) {
				TH_LOG("%s: no .txt, but decodes", de->d_name);
				failures++;
				ttlv_tree_free(&t);
			}
			free(bytes);
			continue;
		}

		if (ttlv_decode(bytes, len, &t) != 0) {
			TH_LOG("%s: does not decode", de->d_name);
			failures++;
			goto next;
		}
		f = open_memstream(&dump, &dlen);
		ASSERT_NE(NULL, f);
		ttlv_dump(f, &t.items[0], 1);
		fclose(f);
		strip_nl(dump);
		strip_nl(txt);
		if (strcmp(dump, txt)) {
			TH_LOG("%s: decoded text differs:\n%s\n---\n%s",
			       de->d_name, dump, txt);
			failures++;
		}
		ttlv_buf_init(&b);
		ttlv_put_item(&b, &t.items[0]);
		if (ttlv_buf_finish(&b) || b.len != len ||
		    memcmp(b.data, bytes, len)) {
			TH_LOG("%s: re-encoding differs", de->d_name);
			failures++;
		}
		ttlv_buf_release(&b);
		ttlv_tree_free(&t);
		free(dump);
next:
		free(txt);
		free(bytes);
	}
	closedir(d);
	/* The set holds 3 versions x 12 operations, requests + responses. */
	EXPECT_GE(files, 70);
	EXPECT_EQ(0, failures);
	EXPECT_EQ(0, kmip_leak_check());
}

/* Our request builders produce exactly PyKMIP's requests. */
struct req_case {
	const char *capture;
	int op;
};

static int build_request(int minor, int op, const char *uid,
			 const char *name, struct ttlv_buf *b)
{
	struct ops_create_args ca = { name, 12, NULL, 0 };
	struct kmip_attr byname = { KMIP_ATTR_NAME, NULL, name, 0 };
	struct ops_locate_args la = { &byname, 1, 0 };
	const char *names[] = { "Name", "State" };
	struct ops_getattr_args ga = { uid, names, 2 };
	struct ops_revoke_args ra = { uid, KMIP_REVOKE_CESSATION_OF_OPERATION,
				      NULL, 0 };
	int r;

	ttlv_buf_init(b);
	msg_request_begin(b, 1, minor, 1);
	msg_item_begin(b, op, NULL, 0);
	switch (op) {
	case OP_CREATE:
		r = ops_put_create(b, &ca);
		break;
	case OP_LOCATE:
		r = ops_put_locate(b, &la);
		break;
	case OP_GET_ATTRIBUTES:
		r = ops_put_getattr(b, &ga);
		break;
	case OP_REVOKE:
		r = ops_put_revoke(b, &ra);
		break;
	default:
		r = ops_put_uid(b, uid);
		break;
	}
	msg_item_end(b);
	msg_request_end(b);
	return r ? r : ttlv_buf_finish(b);
}

/* Create with two Application Specific Information instances. */
TEST(create_with_asi_matches_pykmip)
{
	struct kmip_attr asi[] = {
		{ KMIP_ATTR_ASI, "x-Vendor", "Acme", 0 },
		{ KMIP_ATTR_ASI, "x-Name", "d", 0 },
	};
	struct ops_create_args ca = { NULL, 12, asi, 2 };
	struct ttlv_buf b;
	uint8_t *want;
	size_t wlen;

	want = kmip_capture("raw12_create_with_asi.req", &wlen);
	if (!want)
		SKIP(return, "no capture in %s", kmip_testdata_dir());
	ttlv_buf_init(&b);
	msg_request_begin(&b, 1, 2, 1);
	msg_item_begin(&b, OP_CREATE, NULL, 0);
	ASSERT_EQ(0, ops_put_create(&b, &ca));
	msg_item_end(&b);
	msg_request_end(&b);
	ASSERT_EQ(0, ttlv_buf_finish(&b));
	ASSERT_EQ(wlen, b.len);
	EXPECT_EQ(0, memcmp(want, b.data, wlen));
	ttlv_buf_release(&b);
	free(want);
}

TEST(requests_match_pykmip)
{
	static const struct req_case cases[] = {
		{ "01_create_aes256", OP_CREATE },
		{ "02_get", OP_GET },
		{ "04_locate_by_name", OP_LOCATE },
		{ "05_get_attributes_name_state", OP_GET_ATTRIBUTES },
		{ "07_activate", OP_ACTIVATE },
		{ "08_revoke", OP_REVOKE },
		{ "09_destroy", OP_DESTROY },
	};
	static const struct { int minor; const char *uid, *name; } vers[] = {
		{ 2, "7", "vec-kek-1.2" },
		{ 4, "9", "vec-kek-1.4" },
	};
	char name[128];
	int compared = 0;

	for (size_t v = 0; v < 2; v++) {
		for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			struct ttlv_buf b;
			uint8_t *want;
			size_t wlen;

			snprintf(name, sizeof(name), "kmip1%d_%s.req",
				 vers[v].minor, cases[i].capture);
			want = kmip_capture(name, &wlen);
			if (!want)
				SKIP(return, "no capture %s in %s", name,
				     kmip_testdata_dir());
			ASSERT_EQ(0, build_request(vers[v].minor, cases[i].op,
						   vers[v].uid, vers[v].name,
						   &b));
			EXPECT_EQ(wlen, b.len) TH_LOG("%s: length", name);
			if (wlen == b.len)
				EXPECT_EQ(0, memcmp(want, b.data, wlen))
					TH_LOG("%s: bytes differ", name);
			compared++;
			ttlv_buf_release(&b);
			free(want);
		}
	}
	EXPECT_EQ(14, compared);
}

/* Every item type: encode, decode, read back, check exact bytes. */
TEST(all_types_roundtrip)
{
	static const uint8_t big[16] = { 0xff, 1, 2, 3, 4, 5, 6, 7,
					 8, 9, 10, 11, 12, 13, 14, 15 };
	static const uint8_t bytes5[5] = { 1, 2, 3, 4, 5 };
	const struct ttlv_item *root, *it;
	struct ttlv_buf b, copy;
	struct ttlv_tree t;
	const uint8_t *p;
	char *s;
	size_t n;
	int32_t i;
	int64_t l;
	uint32_t e;
	int bv;

	ttlv_buf_init(&b);
	ttlv_begin(&b, 0x420078);
	ttlv_put_int(&b, 0x420001, -5);
	ttlv_put_long(&b, 0x420002, -1234567890123LL);
	ttlv_put_bigint(&b, 0x420003, big, sizeof(big));
	ttlv_put_enum(&b, 0x420004, 0xfffffffe);
	ttlv_put_bool(&b, 0x420005, 1);
	ttlv_put_text(&b, 0x420006, "h\xc3\xa9llo");
	ttlv_put_text(&b, 0x420007, "");
	ttlv_put_bytes(&b, 0x420008, bytes5, sizeof(bytes5));
	ttlv_put_datetime(&b, 0x420009, 1795385095);
	ttlv_put_interval(&b, 0x42000A, 86400);
	ttlv_put_datetime_ext(&b, 0x42000B, 1795385095123456LL);
	ttlv_begin(&b, 0x54000C);	/* extension tag, empty structure */
	ttlv_end(&b);
	ttlv_end(&b);
	ASSERT_EQ(0, ttlv_buf_finish(&b));
	/* 8 + 11 items of 16, bigint 24, text 16, empty text 8, bytes 16,
	 * empty struct 8 */
	ASSERT_EQ((size_t)(8 + 7 * 16 + 24 + 16 + 8 + 16 + 8), b.len);
	/* The Integer is padded with 4 zero bytes. */
	EXPECT_EQ(0, memcmp(b.data + 8, "\x42\x00\x01\x02\x00\x00\x00\x04"
			    "\xff\xff\xff\xfb\x00\x00\x00\x00", 16));

	ASSERT_EQ(0, ttlv_decode(b.data, b.len, &t));
	EXPECT_EQ((size_t)13, t.n);
	root = &t.items[0];
	ASSERT_EQ(0, ttlv_get_int(ttlv_child(root, 0x420001), &i));
	EXPECT_EQ(-5, i);
	ASSERT_EQ(0, ttlv_get_long(ttlv_child(root, 0x420002), &l));
	EXPECT_EQ(-1234567890123LL, l);
	it = ttlv_child(root, 0x420003);
	ASSERT_NE(NULL, it);
	EXPECT_EQ(TTLV_BIG_INTEGER, it->type);
	EXPECT_EQ((uint32_t)16, it->len);
	EXPECT_EQ(0, memcmp(it->val, big, 16));
	ASSERT_EQ(0, ttlv_get_enum(ttlv_child(root, 0x420004), &e));
	EXPECT_EQ(0xfffffffe, e);
	ASSERT_EQ(0, ttlv_get_bool(ttlv_child(root, 0x420005), &bv));
	EXPECT_EQ(1, bv);
	ASSERT_EQ(0, ttlv_get_text(ttlv_child(root, 0x420006), &s));
	EXPECT_STREQ("h\xc3\xa9llo", s);
	free(s);
	ASSERT_EQ(0, ttlv_get_text(ttlv_child(root, 0x420007), &s));
	EXPECT_STREQ("", s);
	free(s);
	ASSERT_EQ(0, ttlv_get_bytes(ttlv_child(root, 0x420008), &p, &n));
	EXPECT_EQ((size_t)5, n);
	EXPECT_EQ(0, memcmp(p, bytes5, 5));
	ASSERT_EQ(0, ttlv_get_datetime(ttlv_child(root, 0x420009), &l));
	EXPECT_EQ(1795385095, l);
	ASSERT_EQ(0, ttlv_get_interval(ttlv_child(root, 0x42000A), &e));
	EXPECT_EQ((uint32_t)86400, e);
	ASSERT_EQ(0, ttlv_get_datetime_ext(ttlv_child(root, 0x42000B), &l));
	EXPECT_EQ(1795385095123456LL, l);
	it = ttlv_child(root, 0x54000C);
	ASSERT_NE(NULL, it);
	EXPECT_EQ(NULL, it->child);
	/* Getters refuse the wrong type. */
	EXPECT_EQ(-EBADMSG, ttlv_get_int(ttlv_child(root, 0x420004), &i));
	EXPECT_EQ(-EBADMSG, ttlv_get_text(ttlv_child(root, 0x420008), &s));
	EXPECT_EQ(-EBADMSG, ttlv_get_enum(NULL, &e));
	/* Copied item by item, the tree encodes to the same bytes. */
	ttlv_buf_init(&copy);
	ttlv_put_item(&copy, root);
	ASSERT_EQ(0, ttlv_buf_finish(&copy));
	ASSERT_EQ(b.len, copy.len);
	EXPECT_EQ(0, memcmp(b.data, copy.data, b.len));
	ttlv_buf_release(&copy);
	ttlv_tree_free(&t);
	ttlv_buf_release(&b);
}

TEST(encoder_errors)
{
	const struct ttlv_item unknown = { .tag = 0x420001, .type = 0x0C };
	struct ttlv_buf b;

	ttlv_buf_init(&b);
	ttlv_end(&b);
	EXPECT_EQ(-EINVAL, ttlv_buf_finish(&b));
	ttlv_buf_release(&b);

	ttlv_buf_init(&b);
	ttlv_begin(&b, 0x420078);
	EXPECT_EQ(-EINVAL, ttlv_buf_finish(&b));	/* left open */
	ttlv_buf_release(&b);

	ttlv_buf_init(&b);
	ttlv_put_int(&b, 0x1000000, 1);			/* tag > 24 bits */
	EXPECT_EQ(-EINVAL, ttlv_buf_finish(&b));
	ttlv_buf_release(&b);

	ttlv_buf_init(&b);
	ttlv_put_bigint(&b, 0x420001, "abc", 3);	/* not 8n bytes */
	EXPECT_EQ(-EINVAL, ttlv_buf_finish(&b));
	ttlv_buf_release(&b);

	ttlv_buf_init(&b);
	b.limit = 64;
	for (int i = 0; i < 5; i++)
		ttlv_put_int(&b, 0x420001, i);
	EXPECT_EQ(-EMSGSIZE, ttlv_buf_finish(&b));
	ttlv_buf_release(&b);

	ttlv_buf_init(&b);
	for (int i = 0; i <= TTLV_MAX_DEPTH; i++)
		ttlv_begin(&b, 0x420001);
	EXPECT_EQ(-E2BIG, ttlv_buf_finish(&b));
	ttlv_buf_release(&b);

	ttlv_buf_init(&b);
	ttlv_put_item(&b, &unknown);			/* no such type */
	EXPECT_EQ(-EINVAL, ttlv_buf_finish(&b));
	ttlv_buf_release(&b);
}

/* A valid base message that the bad cases below corrupt. */
static const uint8_t base_msg[] = {
	0x42, 0x00, 0x78, 0x01, 0x00, 0x00, 0x00, 0x30,
	/* Integer 7 */
	0x42, 0x00, 0x0D, 0x02, 0x00, 0x00, 0x00, 0x04,
	0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00, 0x00,
	/* Text "abc" */
	0x42, 0x00, 0x94, 0x07, 0x00, 0x00, 0x00, 0x03,
	'a', 'b', 'c', 0x00, 0x00, 0x00, 0x00, 0x00,
	/* Boolean true */
	0x42, 0x00, 0x05, 0x06, 0x00, 0x00, 0x00, 0x08,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01,
};

FIXTURE(bad) {
	uint8_t *buf;
	size_t len;
};

FIXTURE_VARIANT(bad) {
	size_t off;		/* byte to change... */
	uint8_t val;		/* ...to this */
	size_t len;		/* 0: whole message, else truncate */
};

FIXTURE_SETUP(bad)
{
	self->len = variant->len ? variant->len : sizeof(base_msg);
	/* Exact-size heap copy: ASan catches any read past the end. */
	self->buf = malloc(self->len);
	ASSERT_NE(NULL, self->buf);
	memcpy(self->buf, base_msg, self->len);
	if (variant->off < self->len)
		self->buf[variant->off] = variant->val;
}

FIXTURE_TEARDOWN(bad)
{
	free(self->buf);
}

FIXTURE_VARIANT_ADD(bad, root_length_past_buffer) { .off = 7, .val = 0x38 };
FIXTURE_VARIANT_ADD(bad, root_length_short) { .off = 7, .val = 0x28 };
FIXTURE_VARIANT_ADD(bad, root_length_huge) { .off = 4, .val = 0xff };
FIXTURE_VARIANT_ADD(bad, truncated_body) { .off = 999, .len = 40 };
FIXTURE_VARIANT_ADD(bad, truncated_header) { .off = 999, .len = 5 };
FIXTURE_VARIANT_ADD(bad, int_length_8) { .off = 15, .val = 0x08 };
FIXTURE_VARIANT_ADD(bad, int_padding_nonzero) { .off = 23, .val = 0x01 };
FIXTURE_VARIANT_ADD(bad, text_padding_nonzero) { .off = 39, .val = 'x' };
FIXTURE_VARIANT_ADD(bad, text_length_past_parent) { .off = 31, .val = 0x11 };
FIXTURE_VARIANT_ADD(bad, text_with_nul) { .off = 33, .val = 0x00 };
FIXTURE_VARIANT_ADD(bad, text_invalid_utf8) { .off = 33, .val = 0xC0 };
FIXTURE_VARIANT_ADD(bad, bool_value_2) { .off = 55, .val = 0x02 };
FIXTURE_VARIANT_ADD(bad, bool_length_4) { .off = 47, .val = 0x04 };
FIXTURE_VARIANT_ADD(bad, unknown_type_0) { .off = 11, .val = 0x00 };
FIXTURE_VARIANT_ADD(bad, unknown_type_0c) { .off = 43, .val = 0x0C };
FIXTURE_VARIANT_ADD(bad, unknown_type_ff) { .off = 3, .val = 0xFF };
FIXTURE_VARIANT_ADD(bad, struct_length_not_8n) { .off = 7, .val = 0x2F };

TEST_F(bad, rejected)
{
	struct ttlv_tree t;

	EXPECT_EQ(-EBADMSG, ttlv_decode(self->buf, self->len, &t));
	EXPECT_EQ(NULL, t.items);
}

TEST(base_message_is_valid)
{
	struct ttlv_tree t;

	ASSERT_EQ(0, ttlv_decode(base_msg, sizeof(base_msg), &t));
	EXPECT_EQ((size_t)4, t.n);
	ttlv_tree_free(&t);
	/* Trailing bytes after the top-level item. */
	{
		uint8_t buf[sizeof(base_msg) + 8] = { 0 };

		memcpy(buf, base_msg, sizeof(base_msg));
		EXPECT_EQ(-EBADMSG, ttlv_decode(buf, sizeof(buf), &t));
	}
	EXPECT_EQ(-EBADMSG, ttlv_decode(NULL, 0, &t));
}

/* Nesting: TTLV_MAX_DEPTH structures decode, one more does not. */
static uint8_t *nested(int depth, size_t *len)
{
	uint8_t *b = calloc((size_t)depth, 8);

	for (int i = 0; i < depth; i++) {
		uint32_t l = (uint32_t)(depth - i - 1) * 8;
		uint8_t *h = b + i * 8;

		h[0] = 0x42;
		h[2] = 0x01;
		h[3] = TTLV_STRUCTURE;
		h[4] = l >> 24;
		h[5] = l >> 16;
		h[6] = l >> 8;
		h[7] = l;
	}
	*len = (size_t)depth * 8;
	return b;
}

TEST(nesting_limit)
{
	struct ttlv_tree t;
	size_t len;
	uint8_t *b = nested(TTLV_MAX_DEPTH, &len);

	ASSERT_EQ(0, ttlv_decode(b, len, &t));
	EXPECT_EQ((size_t)TTLV_MAX_DEPTH, t.n);
	ttlv_tree_free(&t);
	free(b);
	b = nested(TTLV_MAX_DEPTH + 1, &len);
	EXPECT_EQ(-EBADMSG, ttlv_decode(b, len, &t));
	free(b);
	b = nested(5000, &len);		/* deep recursion must not crash */
	EXPECT_EQ(-EBADMSG, ttlv_decode(b, len, &t));
	free(b);
}

TEST(message_length_header)
{
	static const uint8_t ok[8] = { 0x42, 0, 0x7B, 1, 0, 0, 1, 0x10 };
	static const uint8_t odd[8] = { 0x42, 0, 0x7B, 1, 0, 0, 1, 0x11 };
	static const uint8_t text[8] = { 0x42, 0, 0x7B, 7, 0, 0, 0, 8 };
	static const uint8_t huge[8] = { 0x42, 0, 0x7B, 1, 0xff, 0xff, 0xff, 0xf8 };

	EXPECT_EQ(0x118, ttlv_message_length(ok));
	EXPECT_EQ(-EBADMSG, ttlv_message_length(odd));
	EXPECT_EQ(-EBADMSG, ttlv_message_length(text));
	EXPECT_EQ(0xfffffff8LL + 8, ttlv_message_length(huge));
}

/* The dump hides byte strings (key material) unless asked. */
TEST(dump_redacts_bytes)
{
	static const uint8_t key[4] = { 0xde, 0xad, 0xbe, 0xef };
	struct ttlv_tree t;
	struct ttlv_buf b;
	char *out = NULL;
	size_t n = 0;
	FILE *f;

	ttlv_buf_init(&b);
	ttlv_put_bytes(&b, TAG_KEY_MATERIAL, key, sizeof(key));
	ASSERT_EQ(0, ttlv_buf_finish(&b));
	ASSERT_EQ(0, ttlv_decode(b.data, b.len, &t));
	f = open_memstream(&out, &n);
	ttlv_dump(f, &t.items[0], 0);
	fclose(f);
	EXPECT_EQ(NULL, strstr(out, "deadbeef"));
	EXPECT_NE(NULL, strstr(out, "<4 bytes>"));
	free(out);
	ttlv_tree_free(&t);
	ttlv_buf_release(&b);
}

TEST_HARNESS_MAIN
