// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz_config.c - libFuzzer target for the vmcryptd.conf parser
 * (config_parse). A config file is admin input, but a parser that a typo
 * can crash is a parser a hostile file can exploit: any bytes must give 0
 * or -EINVAL with a message, never a crash or leak, and a refused file
 * must leave the configuration untouched.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config c;
	char err[256];
	int r;

	if (config_init(&c) < 0)
		return 0;
	r = config_parse(&c, "fuzz.conf", (const char *)data, size, err, sizeof(err));
	if (r < 0) {
		/* Refused: still the defaults, and a message was written. */
		if (c.max_clients != 64 || c.max_clients_per_user != 8 ||
		    strcmp(c.state_dir, CONFIG_DEFAULT_STATE_DIR) || !err[0])
			abort();
	} else {
		if (c.max_clients < 1 || c.max_clients > 1024 ||
		    c.max_clients_per_user < 1 || c.max_clients_per_user > 1024 ||
		    c.state_dir[0] != '/')
			abort();
	}
	config_free(&c);
	return 0;
}
