// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz_ttlv.c - libFuzzer target for the TTLV decoder (agent/kmip/ttlv.c):
 * any input must decode or be refused with -EBADMSG without reading out
 * of bounds; whatever decodes must re-encode to the same bytes and dump
 * without trouble. Seeds: tests/fuzz-corpus/fuzz_ttlv/.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kmip/ttlv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void reencode(struct ttlv_buf *b, const struct ttlv_item *it)
{
	int32_t i;
	int64_t l;
	uint32_t e;
	int bv;

	switch (it->type) {
	case TTLV_STRUCTURE:
		ttlv_begin(b, it->tag);
		for (const struct ttlv_item *c = it->child; c; c = c->next)
			reencode(b, c);
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
	case TTLV_TEXT_STRING: {
		char *s = NULL;

		if (ttlv_get_text(it, &s) == 0)
			ttlv_put_text(b, it->tag, s);
		free(s);
		break;
	}
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
		abort();	/* the decoder let an unknown type through */
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ttlv_tree t;
	struct ttlv_buf b;
	uint8_t *copy;
	FILE *null;
	int r;

	/* An exact-size copy, so that ASan sees any overread. */
	copy = malloc(size ? size : 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	r = ttlv_decode(copy, size, &t);
	if (r != 0) {
		if (r != -EBADMSG && r != -ENOMEM)
			abort();
		free(copy);
		return 0;
	}
	ttlv_buf_init(&b);
	reencode(&b, &t.items[0]);
	if (ttlv_buf_finish(&b) != 0 || b.len != size ||
	    memcmp(b.data, copy, size))
		abort();	/* decode/encode are not inverse */
	ttlv_buf_release(&b);
	null = fopen("/dev/null", "w");
	if (null) {
		ttlv_dump(null, &t.items[0], 1);
		fclose(null);
	}
	ttlv_tree_free(&t);
	free(copy);
	return 0;
}
