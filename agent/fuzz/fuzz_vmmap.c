// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz_vmmap.c - libFuzzer target for the VM->KEK map parser
 * (vmmap_parse in lib/vmmap.c): STATE_DIR/vms.json is read at every start
 * of vmcryptd, and whoever could write it (or a damaged disk) controls it.
 *
 * A refused input must leave the map empty and say why. An accepted one
 * must hold only entries a request could have created (the lib/names.h
 * rules the request validators use), and serialise and parse back to the
 * same entries, and serialising those gives the same text again.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/names.h"
#include "lib/vmmap.h"

static void check_entry(const struct vmmap_entry *e)
{
	char why[256];

	if (vmmap_entry_check(e, why, sizeof(why)) ||
	    !names_uuid_canonical(e->vm_uuid) ||
	    !names_vm_name_ok(e->vm_name) ||
	    !names_provider_ok(e->provider) || !names_key_id_ok(e->kek_id))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vmmap a, b;
	char why[512], *text = NULL, *again = NULL;
	size_t i;
	int r;

	r = vmmap_parse((const char *)data, size, &a, why, sizeof(why));
	if (r < 0) {
		if (a.v || a.n || (r == -EINVAL && !why[0]))
			abort();
		return 0;
	}
	for (i = 0; i < a.n; i++)
		check_entry(&a.v[i]);
	r = vmmap_format(&a, &text, why, sizeof(why));
	if (r == -ENOMEM)
		goto out;
	if (r < 0)
		abort();
	r = vmmap_parse(text, strlen(text), &b, why, sizeof(why));
	if (r == -ENOMEM)
		goto out;
	if (r < 0 || b.n != a.n ||
	    (a.n && memcmp(a.v, b.v, a.n * sizeof(*a.v))))
		abort();
	r = vmmap_format(&b, &again, why, sizeof(why));
	if (r == 0 && strcmp(text, again))
		abort();
	vmmap_free(&b);
out:
	free(text);
	free(again);
	vmmap_free(&a);
	return 0;
}
