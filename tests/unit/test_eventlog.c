// SPDX-License-Identifier: GPL-2.0
/*
 * test_eventlog.c - the audit log (lib/eventlog.c): record fields, one
 * JSON object per line, file mode 0600, RFC 3339 time parsing, reading
 * back with --since filtering and skipping of damaged lines, appends
 * from several threads never interleaving inside a line, and a record cut
 * short taken back.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "kselftest_harness.h"
#include "lib/eventlog.h"

FIXTURE(log) {
	char dir[64];
	char path[128];
};

FIXTURE_SETUP(log)
{
	strcpy(self->dir, "/tmp/test_eventlog.XXXXXX");
	ASSERT_NE(NULL, mkdtemp(self->dir));
	snprintf(self->path, sizeof(self->path), "%s/events.jsonl", self->dir);
}

FIXTURE_TEARDOWN(log)
{
	unlink(self->path);
	rmdir(self->dir);
}

static const char *field(struct json_object *o, const char *k)
{
	struct json_object *v;

	return json_object_object_get_ex(o, k, &v) ? json_object_get_string(v) : NULL;
}

struct collected {
	struct json_object *recs[256];
	int n;
};

static int collect(struct json_object *rec, void *ctx)
{
	struct collected *c = ctx;

	if (c->n < 256)
		c->recs[c->n++] = json_object_get(rec);
	return 0;
}

static void collected_free(struct collected *c)
{
	while (c->n)
		json_object_put(c->recs[--c->n]);
}

TEST_F(log, append_and_read_back)
{
	struct eventlog *el;
	struct collected c = { .n = 0 };
	struct stat st;
	struct timespec ts;
	const char *t;
	size_t bad = 99;

	ASSERT_EQ(0, eventlog_open(self->path, &el));
	ASSERT_EQ(0, eventlog_append(el, &(struct event){ .event = "key.created",
		  .op = "key.create", .uid = 1001, .user = "alice", .provider = "kms1",
		  .key_id = "42", .vm_name = "web \"1\"", .vm_uuid = "u", .result = "ok" }));
	ASSERT_EQ(0, eventlog_append(el, &(struct event){ .event = "kms.unreachable",
		  .uid = (uid_t)-1, .server = "127.0.0.1:1", .result = "error",
		  .error = "connect: Connection refused\nsecond line" }));
	/* event and result are required */
	EXPECT_EQ(-EINVAL, eventlog_append(el, &(struct event){ .result = "ok" }));
	EXPECT_EQ(-EINVAL, eventlog_append(el, &(struct event){ .event = "x" }));
	eventlog_close(el);

	ASSERT_EQ(0, stat(self->path, &st));
	EXPECT_EQ(0600u, st.st_mode & 07777);

	ASSERT_EQ(0, eventlog_read(self->path, NULL, collect, &c, &bad));
	EXPECT_EQ(0u, bad);
	ASSERT_EQ(2, c.n);
	EXPECT_STREQ("key.created", field(c.recs[0], "event"));
	EXPECT_STREQ("key.create", field(c.recs[0], "op"));
	EXPECT_STREQ("1001", field(c.recs[0], "uid"));
	EXPECT_STREQ("alice", field(c.recs[0], "user"));
	EXPECT_STREQ("kms1", field(c.recs[0], "provider"));
	EXPECT_STREQ("42", field(c.recs[0], "key_id"));
	EXPECT_STREQ("web \"1\"", field(c.recs[0], "vm_name"));
	EXPECT_STREQ("ok", field(c.recs[0], "result"));
	EXPECT_EQ(NULL, field(c.recs[0], "error"));
	EXPECT_EQ(NULL, field(c.recs[0], "disk"));
	EXPECT_STREQ("-1", field(c.recs[1], "uid"));
	EXPECT_STREQ("vmcryptd", field(c.recs[1], "user"));
	EXPECT_STREQ("127.0.0.1:1", field(c.recs[1], "server"));
	EXPECT_STREQ("connect: Connection refused\nsecond line", field(c.recs[1], "error"));
	t = field(c.recs[0], "time");
	ASSERT_NE(NULL, t);
	EXPECT_EQ(24u, strlen(t));	/* 2026-11-23T02:40:40.123Z */
	EXPECT_EQ('Z', t[23]);
	EXPECT_EQ(0, eventlog_parse_time(t, &ts));
	EXPECT_LE(labs(ts.tv_sec - time(NULL)), 60);
	collected_free(&c);
}

TEST_F(log, one_record_per_line)
{
	struct eventlog *el;
	char line[4096];
	FILE *f;
	int n = 0;

	ASSERT_EQ(0, eventlog_open(self->path, &el));
	ASSERT_EQ(0, eventlog_append(el, &(struct event){ .event = "a",
		  .result = "ok", .detail = "multi\nline\r\ntext" }));
	ASSERT_EQ(0, eventlog_append(el, &(struct event){ .event = "b", .result = "ok" }));
	eventlog_close(el);
	f = fopen(self->path, "r");
	ASSERT_NE(NULL, f);
	while (fgets(line, sizeof(line), f)) {
		struct json_object *o = json_tokener_parse(line);

		EXPECT_NE(NULL, o);
		EXPECT_TRUE(json_object_is_type(o, json_type_object));
		json_object_put(o);
		n++;
	}
	fclose(f);
	EXPECT_EQ(2, n);
}

/*
 * A record that cannot be written whole (here: the file size limit, as a
 * full disk would) is taken back: the next record starts its own line.
 */
TEST_F(log, short_write_taken_back)
{
	struct rlimit old, lim;
	struct collected c = { .n = 0 };
	struct eventlog *el;
	struct stat st;
	off_t before;
	size_t bad = 99;

	ASSERT_EQ(0, eventlog_open(self->path, &el));
	ASSERT_EQ(0, eventlog_append(el, &(struct event){ .event = "first",
		  .result = "ok" }));
	ASSERT_EQ(0, stat(self->path, &st));
	before = st.st_size;
	ASSERT_EQ(0, getrlimit(RLIMIT_FSIZE, &old));
	ASSERT_NE(SIG_ERR, signal(SIGXFSZ, SIG_IGN));
	lim = old;
	lim.rlim_cur = (rlim_t)st.st_size + 20;	/* room for 20 bytes */
	ASSERT_EQ(0, setrlimit(RLIMIT_FSIZE, &lim));
	EXPECT_EQ(-EFBIG, eventlog_append(el, &(struct event){ .event = "cut",
		  .result = "ok", .detail = "longer than twenty bytes" }));
	ASSERT_EQ(0, setrlimit(RLIMIT_FSIZE, &old));
	signal(SIGXFSZ, SIG_DFL);
	ASSERT_EQ(0, stat(self->path, &st));
	EXPECT_EQ(before, st.st_size);	/* the 20 bytes written are gone */
	ASSERT_EQ(0, eventlog_append(el, &(struct event){ .event = "after",
		  .result = "ok" }));
	eventlog_close(el);
	ASSERT_EQ(0, eventlog_read(self->path, NULL, collect, &c, &bad));
	EXPECT_EQ(0u, bad);
	ASSERT_EQ(2, c.n);
	EXPECT_STREQ("first", field(c.recs[0], "event"));
	EXPECT_STREQ("after", field(c.recs[1], "event"));
	collected_free(&c);
}

/*
 * A power cut in the middle of a write leaves the last record without its
 * line end. The next open ends that line: the torn record alone is
 * skipped, never the first record of the next start glued to it.
 */
TEST_F(log, torn_last_record_ended_at_open)
{
	struct collected c = { .n = 0 };
	struct eventlog *el;
	size_t bad = 0;
	FILE *f = fopen(self->path, "w");

	ASSERT_NE(NULL, f);
	fputs("{\"time\":\"2026-01-01T00:00:00.000Z\",\"event\":\"before\",\"result\":\"ok\"}\n"
	      "{\"time\":\"2026-01-01T00:00:01.000Z\",\"event\":\"to", f);
	fclose(f);
	ASSERT_EQ(0, eventlog_open(self->path, &el));
	ASSERT_EQ(0, eventlog_append(el, &(struct event){ .event = "daemon.started",
		  .result = "ok" }));
	eventlog_close(el);
	ASSERT_EQ(0, eventlog_read(self->path, NULL, collect, &c, &bad));
	EXPECT_EQ(1u, bad);
	ASSERT_EQ(2, c.n);
	EXPECT_STREQ("before", field(c.recs[0], "event"));
	EXPECT_STREQ("daemon.started", field(c.recs[1], "event"));
	collected_free(&c);

	/* A log that ends with its line end is left as it is. */
	c.n = 0;
	ASSERT_EQ(0, eventlog_open(self->path, &el));
	eventlog_close(el);
	ASSERT_EQ(0, eventlog_read(self->path, NULL, collect, &c, &bad));
	EXPECT_EQ(1u, bad);
	EXPECT_EQ(2, c.n);
	collected_free(&c);
}

TEST_F(log, since_and_damaged_lines)
{
	struct collected c = { .n = 0 };
	struct timespec since;
	size_t bad = 0;
	FILE *f = fopen(self->path, "w");

	ASSERT_NE(NULL, f);
	fputs("{\"time\":\"2026-01-01T00:00:00.000Z\",\"event\":\"old\",\"result\":\"ok\"}\n"
	      "not json at all\n"
	      "{\"event\":\"no time\"}\n"
	      "[1,2,3]\n"
	      "{\"time\":\"2026-06-01T12:00:00.500Z\",\"event\":\"mid\",\"result\":\"ok\"}\n"
	      "{\"time\":\"2026-12-31T23:59:59.000Z\",\"event\":\"new\",\"result\":\"ok\"}\n"
	      "{\"time\":\"2027-01-01T00:00:00.000Z\",\"event\":\"trunc", f);
	fclose(f);
	ASSERT_EQ(0, eventlog_parse_time("2026-06-01T12:00:00.500Z", &since));
	ASSERT_EQ(0, eventlog_read(self->path, &since, collect, &c, &bad));
	EXPECT_EQ(4u, bad);
	ASSERT_EQ(2, c.n);
	EXPECT_STREQ("mid", field(c.recs[0], "event"));
	EXPECT_STREQ("new", field(c.recs[1], "event"));
	collected_free(&c);

	/* An offset is honoured: 14:00+02:00 is 12:00Z. */
	ASSERT_EQ(0, eventlog_parse_time("2026-06-01T14:00:01+02:00", &since));
	ASSERT_EQ(0, eventlog_read(self->path, &since, collect, &c, NULL));
	ASSERT_EQ(1, c.n);
	EXPECT_STREQ("new", field(c.recs[0], "event"));
	collected_free(&c);
}

TEST(missing_log_is_empty)
{
	struct collected c = { .n = 0 };

	EXPECT_EQ(0, eventlog_read("/nonexistent/events.jsonl", NULL, collect, &c, NULL));
	EXPECT_EQ(0, c.n);
}

TEST(parse_time)
{
	struct timespec ts;

	EXPECT_EQ(0, eventlog_parse_time("1970-01-01T00:00:00Z", &ts));
	EXPECT_EQ(0, ts.tv_sec);
	EXPECT_EQ(0, eventlog_parse_time("2026-11-23", &ts));
	EXPECT_EQ(1795392000, ts.tv_sec);
	EXPECT_EQ(0, eventlog_parse_time("2026-11-23T02:40:40.25Z", &ts));
	EXPECT_EQ(1795392000 + 2 * 3600 + 40 * 60 + 40, ts.tv_sec);
	EXPECT_EQ(250000000, ts.tv_nsec);
	EXPECT_EQ(0, eventlog_parse_time("2024-02-29T00:00:00Z", &ts));
	EXPECT_EQ(-EINVAL, eventlog_parse_time("2026-02-29T00:00:00Z", &ts));
	EXPECT_EQ(-EINVAL, eventlog_parse_time("2026-13-01", &ts));
	EXPECT_EQ(-EINVAL, eventlog_parse_time("2026-11-23T24:00:00Z", &ts));
	EXPECT_EQ(-EINVAL, eventlog_parse_time("2026-11-23T02:40:40", &ts));
	EXPECT_EQ(-EINVAL, eventlog_parse_time("2026-11-23T02:40:40Zjunk", &ts));
	EXPECT_EQ(-EINVAL, eventlog_parse_time("yesterday", &ts));
	EXPECT_EQ(-EINVAL, eventlog_parse_time("", &ts));
	EXPECT_EQ(-EINVAL, eventlog_parse_time("2026-11-23T02:40:40.Z", &ts));
}

/*
 * Every accepted time is one the log can write back (years 1970..9999
 * after the offset is applied), so it formats and parses to itself.
 */
TEST(parse_time_range)
{
	struct timespec ts, back;
	char buf[40];

	EXPECT_EQ(-EINVAL, eventlog_parse_time("1970-01-01T00:30:00+01:00", &ts));
	EXPECT_EQ(-EINVAL, eventlog_parse_time("1970-01-01T00:00:00.999+00:01", &ts));
	EXPECT_EQ(0, eventlog_parse_time("1970-01-01T01:00:00+01:00", &ts));
	EXPECT_EQ(0, ts.tv_sec);
	EXPECT_EQ(0, eventlog_parse_time("1970-01-01T00:00:00-00:01", &ts));
	EXPECT_EQ(60, ts.tv_sec);
	EXPECT_EQ(-EINVAL, eventlog_parse_time("9999-12-31T23:59:59-00:01", &ts));
	EXPECT_EQ(-EINVAL, eventlog_parse_time("9999-12-31T23:30:00-01:00", &ts));
	ASSERT_EQ(0, eventlog_parse_time("9999-12-31T23:59:59.999Z", &ts));
	EXPECT_EQ(253402300799LL, (long long)ts.tv_sec);
	eventlog_timestamp(&ts, buf, sizeof(buf));
	EXPECT_STREQ("9999-12-31T23:59:59.999Z", buf);
	ASSERT_EQ(0, eventlog_parse_time(buf, &back));
	EXPECT_EQ(ts.tv_sec, back.tv_sec);
	EXPECT_EQ(ts.tv_nsec, back.tv_nsec);
}

struct thr {
	struct eventlog *el;
	int id;
};

static void *writer(void *arg)
{
	struct thr *t = arg;
	char detail[600];
	int i;

	memset(detail, 'a' + t->id, sizeof(detail) - 1);
	detail[sizeof(detail) - 1] = '\0';
	for (i = 0; i < 25; i++)
		if (eventlog_append(t->el, &(struct event){ .event = "t",
				    .result = "ok", .detail = detail }) < 0)
			return (void *)1;
	return NULL;
}

TEST_F(log, concurrent_appends)
{
	struct collected c = { .n = 0 };
	struct thr t[4];
	pthread_t th[4];
	struct eventlog *el;
	size_t bad = 0;
	int i;

	ASSERT_EQ(0, eventlog_open(self->path, &el));
	for (i = 0; i < 4; i++) {
		t[i].el = el;
		t[i].id = i;
		ASSERT_EQ(0, pthread_create(&th[i], NULL, writer, &t[i]));
	}
	for (i = 0; i < 4; i++) {
		void *rv;

		pthread_join(th[i], &rv);
		EXPECT_EQ(NULL, rv);
	}
	eventlog_close(el);
	ASSERT_EQ(0, eventlog_read(self->path, NULL, collect, &c, &bad));
	EXPECT_EQ(0u, bad);
	EXPECT_EQ(100, c.n);
	collected_free(&c);
}

TEST_HARNESS_MAIN
