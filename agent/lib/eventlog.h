/* SPDX-License-Identifier: GPL-2.0 */
/*
 * eventlog.h - the audit trail of vmcryptd: append-only JSON lines.
 *
 * One record per line in STATE_DIR/events.jsonl (mode 0600). Each append is
 * written with a single write(2) and fsync(2)ed before eventlog_append()
 * returns, so a request never reports success before its event is on disk.
 * Records are objects with these members (absent when NULL/unknown):
 *
 *   time      UTC, RFC 3339 with milliseconds ("2026-11-23T02:40:40.123Z")
 *   event     what happened, dotted name: "key.created", "kms.failover" ...
 *   uid, user the requesting user (uid -1 / "vmcryptd" for the daemon)
 *   op        the control operation that caused it ("key.create" ...)
 *   provider, key_id, vm_name, vm_uuid, disk, server
 *   result    "ok", "error", "refused" or "info"
 *   error     error text when result is not "ok"
 *   detail    free text (never key bytes)
 *
 * This is not the diagnostic log (log.h). Never put key bytes in an event:
 * name keys by their id.
 */
#ifndef VMCRYPT_EVENTLOG_H
#define VMCRYPT_EVENTLOG_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

struct json_object;

/* One event. Every string may be NULL; event and result are required. */
struct event {
	const char *event;
	const char *op;
	uid_t uid;		/* (uid_t)-1: the daemon itself */
	const char *user;
	const char *provider;
	const char *key_id;
	const char *vm_name;
	const char *vm_uuid;
	const char *disk;
	const char *server;
	const char *result;
	const char *error;
	const char *detail;
};

struct eventlog;

/*
 * Open (creating 0600 if needed) the log at @path for appending. A last
 * line without its line end (a power cut during a write) is ended first.
 */
int eventlog_open(const char *path, struct eventlog **out);
void eventlog_close(struct eventlog *el);

/*
 * Append @ev as one JSON line and fsync it. Thread-safe. 0 or -errno
 * (-EINVAL when event or result is missing); a line that could not be
 * written whole is removed again.
 */
int eventlog_append(struct eventlog *el, const struct event *ev);

/* Build the JSON object of @ev stamped with @now (exposed for tests). */
int eventlog_format(const struct event *ev, const struct timespec *now,
		    struct json_object **out);

/* Format @ts as RFC 3339 UTC with milliseconds into @buf (>= 32 bytes). */
void eventlog_timestamp(const struct timespec *ts, char *buf, size_t len);

/*
 * Parse an RFC 3339 time ("2026-11-23T02:40:40Z", optional fraction,
 * "Z" or +hh:mm offset; or a bare date "2026-11-23" meaning 00:00 UTC)
 * into seconds since the epoch. 0 or -EINVAL.
 */
int eventlog_parse_time(const char *s, struct timespec *out);

/*
 * Read the log at @path and call @cb for each record whose time is at or
 * after @since (NULL: all). Lines that are not valid records are skipped
 * and counted in *@bad (may be NULL). Stops and returns the callback's
 * value if it is negative. 0 or -errno.
 */
int eventlog_read(const char *path, const struct timespec *since,
		  int (*cb)(struct json_object *rec, void *ctx), void *ctx,
		  size_t *bad);

#endif
