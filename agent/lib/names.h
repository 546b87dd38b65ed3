/* SPDX-License-Identifier: GPL-2.0 */
/*
 * names.h - the syntax of the names and ids vmcryptd keeps: provider
 * names, VM names, VM UUIDs and key ids.
 *
 * One implementation for the requests that bring them in (the validators
 * of vmcryptd/request.c add an error text) and for the state files that
 * keep them (the VM map, lib/vmmap.h), so that what is loaded from disk
 * passes exactly the rules a request had to. These strings become paths
 * (STATE_DIR/native/NAME), KMIP attributes and LUKS token fields, and
 * reach the event log and terminals: none may hold a control character.
 * The checks are ASCII-only and do not depend on the locale.
 */
#ifndef VMCRYPT_NAMES_H
#define VMCRYPT_NAMES_H

#include <stdbool.h>

#include "kmip/kmip.h"

#define NAMES_MAX 64			/* provider and VM names, bytes */
#define NAMES_UUID_LEN 36
#define NAMES_KEY_ID_MAX KMIP_UID_MAX	/* what a LUKS token can hold */

/* The rules in words, for error texts. */
#define NAMES_PROVIDER_RULE \
	"1-64 characters of letters, digits, '.', '_' and '-', not starting with '.' or '-'"
#define NAMES_VM_RULE \
	"1-64 characters of letters, digits, spaces, '.', '_' and '-', not starting with '.', '-' or a space"
#define NAMES_UUID_RULE \
	"8-4-4-4-12 hexadecimal digits, e.g. 564d2f1e-0d3c-4b5a-9e8f-1a2b3c4d5e6f"

/* A provider name: NAMES_PROVIDER_RULE. */
bool names_provider_ok(const char *s);

/* A VM name: NAMES_VM_RULE, and not ending with a space. */
bool names_vm_name_ok(const char *s);

/* A textual UUID, 8-4-4-4-12 hex digits of either case. */
bool names_uuid_ok(const char *s);

/* The canonical form vmcryptd stores: names_uuid_ok() and lower case. */
bool names_uuid_canonical(const char *s);

/*
 * A key id as providers give them (a KMIP Unique Identifier or a native
 * "native:PROVIDER:UUID"): 1-NAMES_KEY_ID_MAX bytes without control
 * characters (kmip_text_clean()).
 */
bool names_key_id_ok(const char *s);

#endif
