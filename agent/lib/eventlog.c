// SPDX-License-Identifier: GPL-2.0
/*
 * eventlog.c - append-only JSON-lines audit log (see eventlog.h): one
 * record per write(2) on an O_APPEND descriptor, fsync'ed before return;
 * plus the reader used by "events.list".
 */
#include "lib/eventlog.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

/* 9999-12-31T23:59:59Z: the last second eventlog_timestamp() can write. */
#define EVENTLOG_TIME_MAX 253402300799LL

struct eventlog {
	int fd;
	pthread_mutex_t lock;
};

int eventlog_open(const char *path, struct eventlog **out)
{
	struct eventlog *el;
	struct stat st;
	char last;
	int fd, e;

	*out = NULL;
	fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
		  0600);
	if (fd < 0)
		return -errno;
	/* An existing log keeps no wider mode than 0600. */
	if (fchmod(fd, 0600) < 0 || fstat(fd, &st) < 0)
		goto fail;
	/*
	 * A power cut can leave the last record without its line end: end
	 * that line, so that it alone is skipped as damaged and not the
	 * first record written now, glued to it.
	 */
	if (st.st_size > 0) {
		errno = EIO;	/* for a short read or write, which sets none */
		if (pread(fd, &last, 1, st.st_size - 1) != 1)
			goto fail;
		if (last != '\n' && (write(fd, "\n", 1) != 1 || fsync(fd) < 0))
			goto fail;
	}
	el = calloc(1, sizeof(*el));
	if (!el) {
		close(fd);
		return -ENOMEM;
	}
	el->fd = fd;
	pthread_mutex_init(&el->lock, NULL);
	*out = el;
	return 0;
fail:
	e = -errno;
	close(fd);
	return e;
}

void eventlog_close(struct eventlog *el)
{
	if (!el)
		return;
	close(el->fd);
	pthread_mutex_destroy(&el->lock);
	free(el);
}

void eventlog_timestamp(const struct timespec *ts, char *buf, size_t len)
{
	struct tm tm;
	time_t t = ts->tv_sec;

	gmtime_r(&t, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec, ts->tv_nsec / 1000000);
}

static void add_str(struct json_object *o, const char *k, const char *v)
{
	if (v)
		json_object_object_add(o, k, json_object_new_string(v));
}

int eventlog_format(const struct event *ev, const struct timespec *now,
		    struct json_object **out)
{
	struct json_object *o;
	char ts[40];

	*out = NULL;
	if (!ev->event || !*ev->event || !ev->result || !*ev->result)
		return -EINVAL;
	o = json_object_new_object();
	if (!o)
		return -ENOMEM;
	eventlog_timestamp(now, ts, sizeof(ts));
	add_str(o, "time", ts);
	add_str(o, "event", ev->event);
	json_object_object_add(o, "uid", json_object_new_int64(
		ev->uid == (uid_t)-1 ? -1 : (int64_t)ev->uid));
	add_str(o, "user", ev->user ? ev->user :
		(ev->uid == (uid_t)-1 ? "vmcryptd" : NULL));
	add_str(o, "op", ev->op);
	add_str(o, "provider", ev->provider);
	add_str(o, "key_id", ev->key_id);
	add_str(o, "vm_name", ev->vm_name);
	add_str(o, "vm_uuid", ev->vm_uuid);
	add_str(o, "disk", ev->disk);
	add_str(o, "server", ev->server);
	add_str(o, "result", ev->result);
	add_str(o, "error", ev->error);
	add_str(o, "detail", ev->detail);
	*out = o;
	return 0;
}

int eventlog_append(struct eventlog *el, const struct event *ev)
{
	struct json_object *o;
	struct timespec now;
	const char *s;
	char *line;
	size_t len, off = 0;
	off_t start;
	int r;

	if (!el)
		return -EBADF;
	clock_gettime(CLOCK_REALTIME, &now);
	r = eventlog_format(ev, &now, &o);
	if (r < 0)
		return r;
	s = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN |
					      JSON_C_TO_STRING_NOSLASHESCAPE,
					      &len);
	line = s ? malloc(len + 2) : NULL;
	if (!line) {
		json_object_put(o);
		return -ENOMEM;
	}
	memcpy(line, s, len);
	line[len++] = '\n';
	json_object_put(o);

	pthread_mutex_lock(&el->lock);
	start = lseek(el->fd, 0, SEEK_END);
	while (off < len) {
		ssize_t n = write(el->fd, line + off, len - off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			break;
		}
		off += (size_t)n;
	}
	/*
	 * A record cut short (disk full, file size limit) is taken back: the
	 * next one would otherwise continue its line, and both be lost.
	 */
	if (r < 0 && off > 0 && start >= 0 && ftruncate(el->fd, start) < 0)
		r = -errno;
	if (r == 0 && fsync(el->fd) < 0)
		r = -errno;
	pthread_mutex_unlock(&el->lock);
	free(line);
	return r;
}

static int parse_digits(const char **p, int n, int *out)
{
	int v = 0, i;

	for (i = 0; i < n; i++) {
		if ((*p)[i] < '0' || (*p)[i] > '9')
			return -EINVAL;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

static int expect(const char **p, char c)
{
	if (**p != c)
		return -EINVAL;
	(*p)++;
	return 0;
}

int eventlog_parse_time(const char *s, struct timespec *out)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int Y, M, D, h = 0, m = 0, sec = 0, oh, om;
	long nsec = 0, scale = 100000000;
	long off = 0;
	struct tm tm = { 0 };
	const char *p = s;
	time_t t;

	if (parse_digits(&p, 4, &Y) || expect(&p, '-') ||
	    parse_digits(&p, 2, &M) || expect(&p, '-') ||
	    parse_digits(&p, 2, &D))
		return -EINVAL;
	if (M < 1 || M > 12 || D < 1 || D > mdays[M - 1] || Y < 1970)
		return -EINVAL;
	if (*p == '\0')
		goto done;
	if (*p != 'T' && *p != 't' && *p != ' ')
		return -EINVAL;
	p++;
	if (parse_digits(&p, 2, &h) || expect(&p, ':') ||
	    parse_digits(&p, 2, &m) || expect(&p, ':') ||
	    parse_digits(&p, 2, &sec))
		return -EINVAL;
	if (h > 23 || m > 59 || sec > 60)
		return -EINVAL;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return -EINVAL;
		while (*p >= '0' && *p <= '9') {
			nsec += (*p - '0') * scale;
			scale /= 10;
			p++;
		}
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p == '-' ? -1 : 1;

		p++;
		if (parse_digits(&p, 2, &oh) || expect(&p, ':') ||
		    parse_digits(&p, 2, &om) || oh > 23 || om > 59)
			return -EINVAL;
		off = sign * (oh * 3600L + om * 60L);
	} else {
		return -EINVAL;
	}
	if (*p != '\0')
		return -EINVAL;
done:
	tm.tm_year = Y - 1900;
	tm.tm_mon = M - 1;
	tm.tm_mday = D;
	tm.tm_hour = h;
	tm.tm_min = m;
	tm.tm_sec = sec;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return -EINVAL;
	/* timegm normalises Feb 30 etc.; refuse what it had to change. */
	if (tm.tm_mday != D || tm.tm_mon != M - 1)
		return -EINVAL;
	/*
	 * An offset can move the instant out of 1970..9999 (1970-01-01T00:30
	 * +01:00): refuse it like such a year, so that every time we accept
	 * formats back to one we accept.
	 */
	t -= off;
	if (t < 0 || t > EVENTLOG_TIME_MAX)
		return -EINVAL;
	out->tv_sec = t;
	out->tv_nsec = nsec;
	return 0;
}

static int ts_before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec ||
	       (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

int eventlog_read(const char *path, const struct timespec *since,
		  int (*cb)(struct json_object *rec, void *ctx), void *ctx,
		  size_t *bad)
{
	char *line = NULL;
	size_t cap = 0, nbad = 0;
	ssize_t n;
	FILE *f;
	int r = 0;

	f = fopen(path, "re");
	if (!f) {
		if (errno == ENOENT)
			goto out;	/* no events yet */
		return -errno;
	}
	while ((n = getline(&line, &cap, f)) > 0) {
		struct json_object *o, *t;
		struct timespec ts;

		if (line[n - 1] == '\n')
			line[--n] = '\0';
		o = json_tokener_parse(line);
		if (!o || !json_object_is_type(o, json_type_object) ||
		    !json_object_object_get_ex(o, "time", &t) ||
		    !json_object_is_type(t, json_type_string) ||
		    eventlog_parse_time(json_object_get_string(t), &ts) < 0) {
			json_object_put(o);
			nbad++;
			continue;
		}
		if (since && ts_before(&ts, since)) {
			json_object_put(o);
			continue;
		}
		r = cb(o, ctx);
		json_object_put(o);
		if (r < 0)
			break;
		r = 0;
	}
	if (r == 0 && ferror(f))
		r = -EIO;
	fclose(f);
	free(line);
out:
	if (bad)
		*bad = nbad;
	return r;
}
