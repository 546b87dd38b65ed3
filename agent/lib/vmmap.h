/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vmmap.h - the VM->KEK map file codec: STATE_DIR/vms.json as text to a
 * list of entries and back. Pure: no files, no locks; vmcryptd/keys.c
 * reads and writes the file and keeps the map in memory.
 *
 * The file (version 1), as json-c pretty-prints it:
 *
 *   {"version": 1,
 *    "vms": [{"vm_uuid": "564d2f1e-0d3c-4b5a-9e8f-1a2b3c4d5e6f",
 *             "vm_name": "web 1", "provider": "kms1", "kek_id": "42",
 *             "created": "2026-11-23T02:40:40.123Z"}, ...]}
 *
 * It is untrusted input (whoever can write the state directory, or a
 * damaged disk, controls it; agent/fuzz/fuzz_vmmap.c), and the parser
 * takes only what vmcryptd itself would write: "version" 1 and "vms" and
 * nothing else at the top; in each entry exactly these members, all
 * strings without NUL bytes:
 *
 *   vm_uuid   a lower-case textual UUID (lib/names.h), each VM once
 *   vm_name   a VM name as requests must give it (names_vm_name_ok)
 *   provider  a provider name as provider add takes it (names_provider_ok)
 *   kek_id    a key id as providers give it and a LUKS token holds:
 *             1-255 bytes, no control characters (names_key_id_ok)
 *   created   "" or a time exactly as vmcryptd writes it, RFC 3339 UTC
 *             with milliseconds (eventlog_timestamp()); may be absent
 *
 * A file that breaks any rule is refused whole, with a reason naming the
 * entry and the member; nothing of it is returned. The writer refuses to
 * produce what the parser would refuse.
 */
#ifndef VMCRYPT_VMMAP_H
#define VMCRYPT_VMMAP_H

#include <stddef.h>

#include "lib/names.h"

struct json_object;

#define VMMAP_VERSION 1
/* The largest file read or written: 30000 VMs with the longest names and ids. */
#define VMMAP_MAX_BYTES (16u << 20)
/* Room for a "created" time (24 characters as written, and a NUL). */
#define VMMAP_TIME_SIZE 40

/* One VM's current KEK. Strings are NUL-terminated. */
struct vmmap_entry {
	char vm_uuid[NAMES_UUID_LEN + 1];
	char vm_name[NAMES_MAX + 1];
	char provider[NAMES_MAX + 1];
	char kek_id[NAMES_KEY_ID_MAX + 1];
	char created[VMMAP_TIME_SIZE];	/* "" when unknown */
};

/* The map: @n entries in file order. Zero-initialised is empty. */
struct vmmap {
	struct vmmap_entry *v;
	size_t n, cap;
};

/*
 * Parse the @len bytes at @text into @m (emptied first; vmmap_free() it).
 * 0; -EINVAL with a reason in @why ("entry 2 (VM 564d...): kek_id has a
 * control character") and @m empty; -ENOMEM.
 */
int vmmap_parse(const char *text, size_t len, struct vmmap *m, char *why,
		size_t whylen);

/*
 * Serialise @m into a new string *@text (free()). 0; -ENOMEM; -EINVAL
 * with @why when an entry is one vmmap_parse() would refuse (or a VM is
 * listed twice); -EFBIG when the text would exceed VMMAP_MAX_BYTES.
 */
int vmmap_format(const struct vmmap *m, char **text, char *why,
		 size_t whylen);

/*
 * Fill @e from strings, checked as the parser checks them. 0, or -EINVAL
 * with @why naming the member ("kek_id is longer than 255 bytes") and
 * @e cleared.
 */
int vmmap_entry_set(struct vmmap_entry *e, const char *vm_uuid,
		    const char *vm_name, const char *provider,
		    const char *kek_id, const char *created, char *why,
		    size_t whylen);

/* 0 when @e is an entry the parser accepts; else -EINVAL and @why. */
int vmmap_entry_check(const struct vmmap_entry *e, char *why, size_t whylen);

/* @e as the JSON object of the file (and of key list). NULL: ENOMEM. */
struct json_object *vmmap_entry_json(const struct vmmap_entry *e);

/* Append a copy of @e (no checks). 0 or -ENOMEM. */
int vmmap_add(struct vmmap *m, const struct vmmap_entry *e);

/* The entry of VM @vm_uuid (exact match), or NULL. */
struct vmmap_entry *vmmap_find(const struct vmmap *m, const char *vm_uuid);

void vmmap_free(struct vmmap *m);

#endif
