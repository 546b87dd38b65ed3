// SPDX-License-Identifier: GPL-2.0
/*
 * names.c - the syntax of provider names, VM names, VM UUIDs and key ids
 * (see names.h). Pure checks, no error texts: the callers say what was
 * wrong in their own context (a request, an entry of a state file).
 */
#include "lib/names.h"

#include <string.h>

static bool is_alnum(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	       (c >= 'A' && c <= 'Z');
}

static bool is_hex(char c, bool upper)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	       (upper && c >= 'A' && c <= 'F');
}

static bool name_ok(const char *s, bool spaces)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > NAMES_MAX || s[0] == '.' || s[0] == '-' ||
	    s[0] == ' ' || s[n - 1] == ' ')
		return false;
	for (i = 0; i < n; i++)
		if (!(is_alnum(s[i]) || s[i] == '.' || s[i] == '_' ||
		      s[i] == '-' || (spaces && s[i] == ' ')))
			return false;
	return true;
}

bool names_provider_ok(const char *s)
{
	return name_ok(s, false);
}

bool names_vm_name_ok(const char *s)
{
	return name_ok(s, true);
}

static bool uuid_ok(const char *s, bool upper)
{
	size_t i;

	if (strlen(s) != NAMES_UUID_LEN)
		return false;
	for (i = 0; i < NAMES_UUID_LEN; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
		} else if (!is_hex(s[i], upper)) {
			return false;
		}
	}
	return true;
}

bool names_uuid_ok(const char *s)
{
	return uuid_ok(s, true);
}

bool names_uuid_canonical(const char *s)
{
	return uuid_ok(s, false);
}

bool names_key_id_ok(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= NAMES_KEY_ID_MAX && kmip_text_clean(s, n);
}
