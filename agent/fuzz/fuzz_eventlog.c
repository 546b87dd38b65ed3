// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz_eventlog.c - libFuzzer target for the audit log reader (lib/eventlog.c):
 * eventlog_parse_time() on a time a client sends with "events.list", and
 * eventlog_read() on the lines of events.jsonl, which may be damaged.
 *
 * The first line of an input is the time, the rest the log file (in a
 * memfd, read through /proc/self/fd/N). A time that parses is in the range
 * the records can hold, formats back (eventlog_timestamp) to a time that
 * parses to the same instant to the millisecond, and formats again to the
 * same text. Reading the log never fails: each line is a record handed to
 * the callback (a JSON object whose "time" parses, not before the "since"
 * time) or counted as bad; with a "since" time the bad count is the same
 * and exactly the records at or after it are kept; a negative callback
 * value stops the read and is returned.
 * Seeds: tests/fuzz-corpus/fuzz_eventlog/.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <json-c/json.h>

#include "lib/eventlog.h"

/* 9999-12-31T23:59:59Z: four-digit years, as eventlog_timestamp writes. */
#define TIME_MAX 253402300799LL
#define MAX_RECS 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct seen {
	const struct timespec *since;
	size_t n, stop_at;
	struct timespec t[MAX_RECS];
};

static int fd = -1;
static char path[64];

static int before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec ||
	       (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

static int record(struct json_object *rec, void *ctx)
{
	struct seen *s = ctx;
	struct json_object *t;
	struct timespec ts;

	if (!json_object_is_type(rec, json_type_object) ||
	    !json_object_object_get_ex(rec, "time", &t) ||
	    !json_object_is_type(t, json_type_string) ||
	    eventlog_parse_time(json_object_get_string(t), &ts) ||
	    (s->since && before(&ts, s->since)))
		abort();
	if (s->n < MAX_RECS)
		s->t[s->n] = ts;
	s->n++;
	if (s->stop_at && s->n == s->stop_at)
		return -ECANCELED;
	return 1;	/* positive: carry on */
}

/* True when @s parses (into *@ts). */
static bool check_time(const char *s, struct timespec *ts)
{
	struct timespec back, again;
	char buf[40], buf2[40];

	if (eventlog_parse_time(s, ts) != 0)
		return false;
	if (ts->tv_sec < 0 || ts->tv_sec > TIME_MAX ||
	    ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000)
		abort();
	eventlog_timestamp(ts, buf, sizeof(buf));
	if (strlen(buf) != 24 || eventlog_parse_time(buf, &back) ||
	    back.tv_sec != ts->tv_sec ||
	    back.tv_nsec != ts->tv_nsec / 1000000 * 1000000)
		abort();
	eventlog_timestamp(&back, buf2, sizeof(buf2));
	if (strcmp(buf, buf2) || eventlog_parse_time(buf2, &again) ||
	    again.tv_sec != back.tv_sec || again.tv_nsec != back.tv_nsec)
		abort();
	return true;
}

static size_t count_lines(const uint8_t *p, size_t len)
{
	size_t n = 0, i;

	for (i = 0; i < len; i++)
		if (p[i] == '\n')
			n++;
	return n + (len && p[len - 1] != '\n');
}

static void check_log(const uint8_t *log, size_t len,
		      const struct timespec *since)
{
	static struct seen all, some;
	size_t bad = 0, bad2 = 0, kept = 0, i;
	int r;

	if (ftruncate(fd, 0) || pwrite(fd, log, len, 0) != (ssize_t)len)
		abort();
	all.since = NULL;
	all.n = all.stop_at = 0;
	if (eventlog_read(path, NULL, record, &all, &bad) != 0 ||
	    all.n + bad != count_lines(log, len))
		abort();
	if (since && all.n <= MAX_RECS) {
		some.since = since;
		some.n = some.stop_at = 0;
		if (eventlog_read(path, since, record, &some, &bad2) != 0 ||
		    bad2 != bad)
			abort();
		for (i = 0; i < all.n; i++)
			kept += !before(&all.t[i], since);
		if (kept != some.n)
			abort();
	}
	if (all.n) {
		/* Stop at the last record: its value comes back. */
		some.since = NULL;
		some.n = 0;
		some.stop_at = all.n;
		r = eventlog_read(path, NULL, record, &some, NULL);
		if (r != -ECANCELED || some.n != all.n)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl;
	struct timespec ts;
	size_t tlen;
	bool parsed;
	char *s;

	if (fd < 0) {
		fd = memfd_create("fuzz-events.jsonl", MFD_CLOEXEC);
		if (fd < 0)
			abort();
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	if (size > (1u << 20))
		return 0;
	nl = memchr(data, '\n', size);
	tlen = nl ? (size_t)(nl - data) : size;
	s = malloc(tlen + 1);
	if (!s)
		return 0;
	memcpy(s, data, tlen);
	s[tlen] = '\0';
	parsed = check_time(s, &ts);
	free(s);
	if (nl)
		check_log(nl + 1, size - tlen - 1, parsed ? &ts : NULL);
	return 0;
}
