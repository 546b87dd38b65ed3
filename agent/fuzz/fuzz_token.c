// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz_token.c - libFuzzer target for the vmcrypt LUKS2 token parser: the
 * token JSON is read from disk, so whoever can write the disk controls it.
 * A token that parses must also serialise and parse back to the same thing.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/luks.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vmcrypt_token a, b;
	char *json = NULL;

	if (luks_token_parse((const char *)data, size, &a))
		return 0;
	if (luks_token_format(&a, &json))
		abort();
	if (luks_token_parse(json, strlen(json), &b) || memcmp(&a, &b, sizeof(a)))
		abort();
	free(json);
	return 0;
}
