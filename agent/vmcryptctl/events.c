// SPDX-License-Identifier: GPL-2.0
/*
 * events.c - `vmcryptctl events [--since TIME] [--format text|json|csv]`:
 * export vmcryptd's event log (viewer role and up). Lines of the log the
 * daemon could not parse are counted, and the count is a warning on
 * stderr: the export itself succeeds.
 */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "lib/ctlclient.h"
#include "vmcryptctl/commands.h"
#include "vmcryptctl/ctlutil.h"

static const char *const fields[] = {
	"time", "event", "uid", "user", "op", "provider", "key_id", "vm_name",
	"vm_uuid", "disk", "server", "result", "error", "detail",
};
#define NFIELDS (sizeof(fields) / sizeof(fields[0]))

/* RFC 4180: quote when needed, double embedded quotes. */
static void csv_field(const char *s)
{
	if (!strpbrk(s, ",\"\r\n")) {
		fputs(s, stdout);
		return;
	}
	putchar('"');
	for (; *s; s++) {
		if (*s == '"')
			putchar('"');
		putchar(*s);
	}
	putchar('"');
}

/*
 * Records carry text from other users (paths, ids, error texts): show
 * control characters as '?' so none reaches the terminal as an escape.
 */
static const char *safe(const char *s, char *buf, size_t len)
{
	size_t i;

	for (i = 0; s[i] && i + 1 < len; i++)
		buf[i] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? '?' : s[i];
	buf[i] = '\0';
	return buf;
}

int events_main(int argc, char **argv)
{
	static const char usage[] =
		"Usage: vmcryptctl events [--since TIME] [--format text|json|csv] [--json]\n\n"
		"Export the event log. TIME is RFC 3339 (2026-11-23T02:40:00Z) or a date.\n"
		"json: one JSON array of records; csv: a header line then one line each.\n"
		"Damaged lines of the log are skipped, with a warning on stderr.\n";
	static const struct option opts[] = {
		{ "since", required_argument, NULL, 's' },
		{ "format", required_argument, NULL, 'f' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *since = NULL, *format = "text";
	struct json_object *args, *res, *evs, *sk;
	int64_t skipped;
	size_t i, j, n;
	int c, json = 0, given = 0;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 's': since = optarg; break;
		case 'f': format = optarg; given = 1; break;
		case 'j': json = 1; break;
		case 'h': printf("%s", usage); return EXIT_OK;
		default: fprintf(stderr, "%s", usage); return EXIT_USAGE;
		}
	}
	if (optind < argc)
		return usage_error("events", "unexpected argument '%s'", argv[optind]);
	/* --json is --format json: with another --format it is a contradiction */
	if (json && given && strcmp(format, "json"))
		return usage_error("events", "--json and --format %s contradict each other",
				   format);
	if (json)
		format = "json";
	if (strcmp(format, "text") && strcmp(format, "json") && strcmp(format, "csv"))
		return usage_error("events", "--format must be text, json or csv");
	args = json_object_new_object();
	if (since)
		json_object_object_add(args, "since", json_object_new_string(since));
	if (ctl_run("events.list", args, &res) < 0)
		return EXIT_FAIL;
	if (!json_object_object_get_ex(res, "events", &evs) ||
	    !json_object_is_type(evs, json_type_array)) {
		json_object_put(res);
		fprintf(stderr, "vmcryptctl: malformed reply from vmcryptd\n");
		return EXIT_FAIL;
	}
	n = json_object_array_length(evs);
	if (!strcmp(format, "json")) {
		ctl_print_json(evs);
	} else if (!strcmp(format, "csv")) {
		for (j = 0; j < NFIELDS; j++)
			printf("%s%s", j ? "," : "", fields[j]);
		printf("\r\n");
		for (i = 0; i < n; i++) {
			struct json_object *e = json_object_array_get_idx(evs, i);

			for (j = 0; j < NFIELDS; j++) {
				if (j)
					putchar(',');
				csv_field(jget(e, fields[j]));
			}
			printf("\r\n");
		}
	} else {
		for (i = 0; i < n; i++) {
			struct json_object *e = json_object_array_get_idx(evs, i);
			char b[4][1024];

			printf("%s %-22s %-7s user=%s",
			       safe(jget(e, "time"), b[0], sizeof(b[0])),
			       safe(jget(e, "event"), b[1], sizeof(b[1])),
			       safe(jget(e, "result"), b[2], sizeof(b[2])),
			       safe(jget(e, "user"), b[3], sizeof(b[3])));
			for (j = 4; j < NFIELDS; j++) {
				const char *v = jget(e, fields[j]);
				char *t;

				if (!strcmp(fields[j], "result") || !*v)
					continue;
				t = strdup(v);
				if (!t)
					continue;
				printf(" %s=\"%s\"", fields[j], safe(v, t, strlen(v) + 1));
				free(t);
			}
			putchar('\n');
		}
	}
	/* After the records, so that a terminal shows it last; not a failure. */
	skipped = json_object_object_get_ex(res, "skipped_lines", &sk) ?
		  json_object_get_int64(sk) : 0;
	fflush(stdout);
	if (skipped > 0)
		fprintf(stderr, "vmcryptctl: warning: %lld damaged line%s in the event log %s skipped\n",
			(long long)skipped, skipped == 1 ? "" : "s",
			skipped == 1 ? "was" : "were");
	json_object_put(res);
	return EXIT_OK;
}
