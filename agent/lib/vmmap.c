// SPDX-License-Identifier: GPL-2.0
/*
 * vmmap.c - the VM->KEK map file codec (format and rules in vmmap.h).
 *
 * json-c does the JSON, lib/names.c the rules for names and ids, and
 * lib/eventlog.c the times, so that an entry loaded from the file passes
 * exactly what a request creating it had to. Reasons never quote a value
 * that failed a check: it may be long or hold terminal escapes, and the
 * reason goes to the log.
 */
#include "lib/vmmap.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "lib/eventlog.h"

/* The file nests three deep (object, list, entry); more is not ours. */
#define VMMAP_DEPTH 8

/* The members of an entry, in the order they are written. */
static const char *const members[] = {
	"vm_uuid", "vm_name", "provider", "kek_id", "created",
};
#define N_MEMBERS (sizeof(members) / sizeof(members[0]))

static int fail(char *why, size_t whylen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (whylen) {
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* A member name short and clean enough to quote in a reason. */
static const char *quotable(const char *s)
{
	size_t n = strlen(s);

	return n <= 32 && kmip_text_clean(s, n) ? s : "(unprintable)";
}

/* "" or a time exactly as eventlog_timestamp() writes it. */
static bool time_ok(const char *s)
{
	char buf[VMMAP_TIME_SIZE];
	struct timespec ts;

	if (!s[0])
		return true;
	if (strlen(s) >= sizeof(buf) || eventlog_parse_time(s, &ts) < 0)
		return false;
	eventlog_timestamp(&ts, buf, sizeof(buf));
	return !strcmp(buf, s);
}

static int check_fields(const char *vm_uuid, const char *vm_name,
			const char *provider, const char *kek_id,
			const char *created, char *why, size_t whylen)
{
	size_t n;

	if (!names_uuid_canonical(vm_uuid))
		return names_uuid_ok(vm_uuid) ?
			fail(why, whylen, "vm_uuid has upper-case letters (vmcryptd writes UUIDs in lower case)") :
			fail(why, whylen, "vm_uuid is not a UUID (" NAMES_UUID_RULE ")");
	if (!names_vm_name_ok(vm_name))
		return fail(why, whylen, "vm_name is not a valid VM name (" NAMES_VM_RULE ")");
	if (!names_provider_ok(provider))
		return fail(why, whylen, "provider is not a valid provider name (" NAMES_PROVIDER_RULE ")");
	if (!names_key_id_ok(kek_id)) {
		n = strlen(kek_id);
		if (!n)
			return fail(why, whylen, "kek_id is empty");
		if (n > NAMES_KEY_ID_MAX)
			return fail(why, whylen, "kek_id is longer than %d bytes (%zu)",
				    NAMES_KEY_ID_MAX, n);
		return fail(why, whylen, "kek_id has a control character");
	}
	if (!time_ok(created))
		return fail(why, whylen, "created is not a time as vmcryptd writes it (e.g. 2026-11-23T02:40:40.123Z) nor empty");
	return 0;
}

int vmmap_entry_set(struct vmmap_entry *e, const char *vm_uuid,
		    const char *vm_name, const char *provider,
		    const char *kek_id, const char *created, char *why,
		    size_t whylen)
{
	int r;

	memset(e, 0, sizeof(*e));
	r = check_fields(vm_uuid, vm_name, provider, kek_id, created, why,
			 whylen);
	if (r < 0)
		return r;
	/* The checks bound every length to its array. */
	memcpy(e->vm_uuid, vm_uuid, strlen(vm_uuid) + 1);
	memcpy(e->vm_name, vm_name, strlen(vm_name) + 1);
	memcpy(e->provider, provider, strlen(provider) + 1);
	memcpy(e->kek_id, kek_id, strlen(kek_id) + 1);
	memcpy(e->created, created, strlen(created) + 1);
	return 0;
}

int vmmap_entry_check(const struct vmmap_entry *e, char *why, size_t whylen)
{
	if (strnlen(e->vm_uuid, sizeof(e->vm_uuid)) == sizeof(e->vm_uuid) ||
	    strnlen(e->vm_name, sizeof(e->vm_name)) == sizeof(e->vm_name) ||
	    strnlen(e->provider, sizeof(e->provider)) == sizeof(e->provider) ||
	    strnlen(e->kek_id, sizeof(e->kek_id)) == sizeof(e->kek_id) ||
	    strnlen(e->created, sizeof(e->created)) == sizeof(e->created))
		return fail(why, whylen, "a member is not NUL-terminated");
	return check_fields(e->vm_uuid, e->vm_name, e->provider, e->kek_id,
			    e->created, why, whylen);
}

struct json_object *vmmap_entry_json(const struct vmmap_entry *e)
{
	const char *val[N_MEMBERS] = {
		e->vm_uuid, e->vm_name, e->provider, e->kek_id, e->created,
	};
	struct json_object *o = json_object_new_object();
	size_t i;

	for (i = 0; o && i < N_MEMBERS; i++) {
		struct json_object *s = json_object_new_string(val[i]);

		if (!s || json_object_object_add(o, members[i], s) < 0) {
			json_object_put(s);
			json_object_put(o);
			o = NULL;
		}
	}
	return o;
}

int vmmap_add(struct vmmap *m, const struct vmmap_entry *e)
{
	if (m->n == m->cap) {
		size_t cap = m->cap ? 2 * m->cap : 16;
		struct vmmap_entry *v;

		if (cap > SIZE_MAX / sizeof(*v))
			return -ENOMEM;
		v = realloc(m->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		m->v = v;
		m->cap = cap;
	}
	m->v[m->n++] = *e;
	return 0;
}

struct vmmap_entry *vmmap_find(const struct vmmap *m, const char *vm_uuid)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		if (!strcmp(m->v[i].vm_uuid, vm_uuid))
			return &m->v[i];
	return NULL;
}

void vmmap_free(struct vmmap *m)
{
	free(m->v);
	memset(m, 0, sizeof(*m));
}

static int cmp_uuid(const void *a, const void *b)
{
	const struct vmmap_entry *x = *(const struct vmmap_entry *const *)a;
	const struct vmmap_entry *y = *(const struct vmmap_entry *const *)b;
	int c = strcmp(x->vm_uuid, y->vm_uuid);

	return c ? c : (x > y) - (x < y);
}

/* Each VM once (sorted, so that a large map costs n log n). */
static int check_unique(const struct vmmap *m, char *why, size_t whylen)
{
	const struct vmmap_entry **p;
	size_t i;
	int r = 0;

	if (m->n < 2)
		return 0;
	p = malloc(m->n * sizeof(*p));
	if (!p)
		return -ENOMEM;
	for (i = 0; i < m->n; i++)
		p[i] = &m->v[i];
	qsort(p, m->n, sizeof(*p), cmp_uuid);
	for (i = 1; i < m->n; i++) {
		if (!strcmp(p[i - 1]->vm_uuid, p[i]->vm_uuid)) {
			r = fail(why, whylen, "entries %zu and %zu are both for VM %s",
				 (size_t)(p[i - 1] - m->v), (size_t)(p[i] - m->v),
				 p[i]->vm_uuid);
			break;
		}
	}
	free(p);
	return r;
}

/* Member @key of entry @o as a string; *@s NULL when it is absent. */
static int member_str(struct json_object *o, const char *key, const char **s,
		      char *why, size_t whylen)
{
	struct json_object *v;

	*s = NULL;
	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return fail(why, whylen, "%s is not a string", key);
	*s = json_object_get_string(v);
	if (strlen(*s) != (size_t)json_object_get_string_len(v))
		return fail(why, whylen, "%s contains a NUL byte", key);
	return 0;
}

static int entry_from_json(struct json_object *o, struct vmmap_entry *e,
			   char *why, size_t whylen)
{
	const char *s[N_MEMBERS];
	size_t i;
	int r;

	if (!json_object_is_type(o, json_type_object))
		return fail(why, whylen, "not a JSON object");
	json_object_object_foreach(o, key, val) {
		(void)val;
		for (i = 0; i < N_MEMBERS; i++)
			if (!strcmp(key, members[i]))
				break;
		if (i == N_MEMBERS)
			return fail(why, whylen, "unknown member '%s'", quotable(key));
	}
	for (i = 0; i < N_MEMBERS; i++) {
		r = member_str(o, members[i], &s[i], why, whylen);
		if (r < 0)
			return r;
		/* "created" was optional to the first parser: absent is "". */
		if (!s[i] && strcmp(members[i], "created"))
			return fail(why, whylen, "%s is missing", members[i]);
	}
	return vmmap_entry_set(e, s[0], s[1], s[2], s[3], s[4] ? s[4] : "",
			       why, whylen);
}

/* Where the JSON parser stopped, as a line number for the reason. */
static size_t line_of(const char *text, size_t off)
{
	size_t i, line = 1;

	for (i = 0; i < off; i++)
		line += text[i] == '\n';
	return line;
}

static int parse_root(const char *text, size_t len, struct json_tokener *tok,
		      struct json_object **root, char *why, size_t whylen)
{
	enum json_tokener_error jerr;
	size_t end;

	*root = json_tokener_parse_ex(tok, text, (int)len);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	if (!*root && jerr == json_tokener_continue)
		return fail(why, whylen, len ? "not JSON: the text ends early" :
			    "the file is empty");
	if (!*root || jerr != json_tokener_success)
		return fail(why, whylen, "not JSON: %s at line %zu",
			    json_tokener_error_desc(jerr), line_of(text, end));
	if (end != len)
		return fail(why, whylen, "not JSON: something follows the top-level value at line %zu",
			    line_of(text, end));
	if (!json_object_is_type(*root, json_type_object))
		return fail(why, whylen, "the top level is not a JSON object");
	return 0;
}

static int check_top(struct json_object *root, struct json_object **arr,
		     char *why, size_t whylen)
{
	struct json_object *v;

	json_object_object_foreach(root, key, val) {
		(void)val;
		if (strcmp(key, "version") && strcmp(key, "vms"))
			return fail(why, whylen, "unknown top-level member '%s'",
				    quotable(key));
	}
	/* Every writer so far wrote "version": its absence is damage. */
	if (!json_object_object_get_ex(root, "version", &v))
		return fail(why, whylen, "\"version\" is missing");
	if (!json_object_is_type(v, json_type_int))
		return fail(why, whylen, "\"version\" is not an integer");
	if (json_object_get_int64(v) != VMMAP_VERSION)
		return fail(why, whylen, "version %lld is not supported (this vmcryptd reads version %d)",
			    (long long)json_object_get_int64(v), VMMAP_VERSION);
	if (!json_object_object_get_ex(root, "vms", arr))
		return fail(why, whylen, "\"vms\" is missing");
	if (!json_object_is_type(*arr, json_type_array))
		return fail(why, whylen, "\"vms\" is not a list");
	return 0;
}

int vmmap_parse(const char *text, size_t len, struct vmmap *m, char *why,
		size_t whylen)
{
	struct json_object *root = NULL, *arr;
	struct json_tokener *tok;
	char ewhy[256];
	size_t i, n;
	int r;

	memset(m, 0, sizeof(*m));
	if (whylen)
		why[0] = '\0';
	if (len > VMMAP_MAX_BYTES)
		return fail(why, whylen, "larger than %u MiB", VMMAP_MAX_BYTES >> 20);
	tok = json_tokener_new_ex(VMMAP_DEPTH);
	if (!tok)
		return -ENOMEM;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	r = parse_root(text, len, tok, &root, why, whylen);
	if (r == 0)
		r = check_top(root, &arr, why, whylen);
	n = r == 0 ? json_object_array_length(arr) : 0;
	for (i = 0; i < n; i++) {
		struct json_object *o = json_object_array_get_idx(arr, i);
		struct json_object *u;
		struct vmmap_entry e;

		r = entry_from_json(o, &e, ewhy, sizeof(ewhy));
		if (r < 0) {
			/* Name the VM too when its UUID is safe to print. */
			if (json_object_is_type(o, json_type_object) &&
			    json_object_object_get_ex(o, "vm_uuid", &u) &&
			    json_object_is_type(u, json_type_string) &&
			    names_uuid_ok(json_object_get_string(u)))
				fail(why, whylen, "entry %zu (VM %s): %s", i,
				     json_object_get_string(u), ewhy);
			else
				fail(why, whylen, "entry %zu: %s", i, ewhy);
			break;
		}
		r = vmmap_add(m, &e);
		if (r < 0)
			break;
	}
	if (r == 0)
		r = check_unique(m, why, whylen);
	if (r < 0)
		vmmap_free(m);
	json_object_put(root);
	json_tokener_free(tok);
	return r;
}

int vmmap_format(const struct vmmap *m, char **text, char *why,
		 size_t whylen)
{
	struct json_object *root, *arr = NULL, *ver = NULL;
	char ewhy[256];
	const char *s;
	size_t i, len;
	int r;

	*text = NULL;
	if (whylen)
		why[0] = '\0';
	/* Never write what vmmap_parse() would refuse at the next start. */
	for (i = 0; i < m->n; i++)
		if (vmmap_entry_check(&m->v[i], ewhy, sizeof(ewhy)) < 0)
			return fail(why, whylen, "entry %zu: %s", i, ewhy);
	r = check_unique(m, why, whylen);
	if (r < 0)
		return r;

	root = json_object_new_object();
	if (!root)
		return -ENOMEM;
	ver = json_object_new_int(VMMAP_VERSION);
	if (!ver || json_object_object_add(root, "version", ver) < 0) {
		json_object_put(ver);
		r = -ENOMEM;
		goto out;
	}
	arr = json_object_new_array();
	if (!arr || json_object_object_add(root, "vms", arr) < 0) {
		json_object_put(arr);
		r = -ENOMEM;
		goto out;
	}
	for (i = 0; i < m->n; i++) {
		struct json_object *e = vmmap_entry_json(&m->v[i]);

		/* Never write a map with VMs missing from it. */
		if (!e || json_object_array_add(arr, e) < 0) {
			json_object_put(e);
			r = -ENOMEM;
			goto out;
		}
	}
	s = json_object_to_json_string_length(root, JSON_C_TO_STRING_PRETTY |
					      JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	if (!s) {
		r = -ENOMEM;
	} else if (len > VMMAP_MAX_BYTES) {
		fail(why, whylen, "the map would be larger than %u MiB",
		     VMMAP_MAX_BYTES >> 20);
		r = -EFBIG;
	} else {
		*text = strndup(s, len);
		r = *text ? 0 : -ENOMEM;
	}
out:
	json_object_put(root);
	return r;
}
