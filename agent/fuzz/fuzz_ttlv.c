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
	ttlv_put_item(&b, &t.items[0]);
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
