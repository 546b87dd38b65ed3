// SPDX-License-Identifier: GPL-2.0
/*
 * atomicfile.c - temp file + fsync + rename + directory fsync, so that
 * state files (sealed blobs, the KEK cache, provider files) are never seen
 * half-written, even after a power cut.
 */
#include "lib/atomicfile.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "lib/secmem.h"

/* A temporary file is NAME + TMP_INFIX + TMP_HEX hex digits. */
#define TMP_INFIX ".tmp-"
#define TMP_HEX 12

static int dir_of(const char *path, char *dir, size_t len)
{
	char tmp[PATH_MAX];

	if (strlen(path) >= sizeof(tmp))
		return -ENAMETOOLONG;
	strcpy(tmp, path);
	if (snprintf(dir, len, "%s", dirname(tmp)) >= (int)len)
		return -ENAMETOOLONG;
	return 0;
}

int atomicfile_sync_dir(const char *path)
{
	char dir[PATH_MAX];
	int fd, r;

	r = dir_of(path, dir, sizeof(dir));
	if (r < 0)
		return r;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = fsync(fd) < 0 ? -errno : 0;
	close(fd);
	return r;
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * rename() that never replaces @to. Filesystems without RENAME_NOREPLACE
 * (9p, some NFS) get link()+unlink() for files, which never replaces
 * either, and check-then-rename for directories (racy only against another
 * writer of the same state directory, which the daemon's lock excludes).
 */
static int rename_noreplace(const char *from, const char *to)
{
	struct stat st;

	if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -errno;
	if (lstat(from, &st) < 0)
		return -errno;
	if (!S_ISDIR(st.st_mode)) {
		if (link(from, to) < 0)
			return -errno;
		return unlink(from) < 0 ? -errno : 0;
	}
	if (lstat(to, &st) == 0)
		return -EEXIST;
	if (errno != ENOENT)
		return -errno;
	return rename(from, to) < 0 ? -errno : 0;
}

static int write_rename(const char *path, const void *data, size_t len,
			mode_t mode, int noreplace)
{
	char tmp[PATH_MAX];
	unsigned char rnd[6];
	int fd, r;

	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return -EIO;
	if (snprintf(tmp, sizeof(tmp), "%s" TMP_INFIX "%02x%02x%02x%02x%02x%02x", path,
		     rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5]) >=
	    (int)sizeof(tmp))
		return -ENAMETOOLONG;
	/* O_EXCL: never follow or reuse a file planted under the temp name. */
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
		  mode);
	if (fd < 0)
		return -errno;
	/* open() applies the umask; the mode must be exactly what was asked. */
	if (fchmod(fd, mode) < 0) {
		r = -errno;
		goto fail;
	}
	r = write_all(fd, data, len);
	if (r < 0)
		goto fail;
	if (fsync(fd) < 0) {
		r = -errno;
		goto fail;
	}
	if (close(fd) < 0) {
		r = -errno;
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (noreplace)
		r = rename_noreplace(tmp, path);
	else
		r = rename(tmp, path) < 0 ? -errno : 0;
	if (r < 0)
		goto fail;
	return atomicfile_sync_dir(path);
fail:
	if (fd >= 0)
		close(fd);
	/* it may hold part of a key (kdk.raw): overwritten, not just unlinked */
	if (atomicfile_shred(tmp) < 0)
		unlink(tmp);
	return r;
}

int atomicfile_write(const char *path, const void *data, size_t len,
		     mode_t mode)
{
	return write_rename(path, data, len, mode, 0);
}

int atomicfile_create(const char *path, const void *data, size_t len,
		      mode_t mode)
{
	return write_rename(path, data, len, mode, 1);
}

int atomicfile_read(const char *path, size_t max, uint8_t **data, size_t *len)
{
	struct stat st;
	uint8_t *buf = NULL;
	size_t got = 0;
	int fd, r;

	*data = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = -EINVAL;
		goto out;
	}
	if ((uint64_t)st.st_size > max) {
		r = -EFBIG;
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		r = -ENOMEM;
		goto out;
	}
	/* Read to EOF: the file may have changed size since fstat. */
	for (;;) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size + 1 - got);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
		if (got > (size_t)st.st_size) {
			r = -EFBIG;
			goto out;
		}
	}
	*data = buf;
	*len = got;
	buf = NULL;
	r = 0;
out:
	if (buf)
		secure_wipe(buf, got);	/* callers read key files with this */
	free(buf);
	close(fd);
	return r;
}

int atomicfile_set_aside(const char *path, const char *suffix, char *out,
			 size_t outlen)
{
	char dst[PATH_MAX];
	long long now = (long long)time(NULL);
	int i, r;

	for (i = 0; i < 1000; i++) {
		int n = i ? snprintf(dst, sizeof(dst), "%s.%s.%lld.%d", path,
				     suffix, now, i)
			  : snprintf(dst, sizeof(dst), "%s.%s.%lld", path,
				     suffix, now);

		if (n >= (int)sizeof(dst))
			return -ENAMETOOLONG;
		/* Never overwrites an earlier set-aside copy. */
		r = rename_noreplace(path, dst);
		if (r == 0)
			break;
		if (r != -EEXIST)
			return r;
	}
	if (i == 1000)
		return -EEXIST;
	if (out && outlen && snprintf(out, outlen, "%s", dst) >= (int)outlen)
		out[0] = '\0';
	return atomicfile_sync_dir(path);
}

int atomicfile_shred(const char *path)
{
	static const uint8_t zero[4096];
	struct stat st;
	off_t left;
	int fd, r = 0;

	fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	/* Best effort on journaling/COW filesystems; the unlink is what counts. */
	for (left = st.st_size; left > 0 && r == 0;) {
		size_t n = left > (off_t)sizeof(zero) ? sizeof(zero) : (size_t)left;

		r = write_all(fd, zero, n);
		left -= (off_t)n;
	}
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	close(fd);
	if (unlink(path) < 0 && r == 0)
		r = -errno;
	if (r == 0)
		r = atomicfile_sync_dir(path);
	return r;
}

int atomicfile_shred_dir(const char *dir)
{
	char path[PATH_MAX];
	struct dirent *de;
	struct stat st;
	DIR *d;
	int r = 0, rr;

	d = opendir(dir);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >=
		    (int)sizeof(path)) {
			rr = -ENAMETOOLONG;
		} else {
			rr = lstat(path, &st) < 0 ? -errno : 0;
			/* Opening a FIFO would block: shred regular files only. */
			if (!rr && S_ISREG(st.st_mode))
				rr = atomicfile_shred(path);
			else if (!rr && !S_ISDIR(st.st_mode) && unlink(path) < 0)
				rr = -errno;
		}
		if (rr < 0 && !r)
			r = rr;
	}
	closedir(d);
	if (rmdir(dir) < 0)
		rr = -errno;
	else
		rr = atomicfile_sync_dir(dir);
	return r ? r : rr;
}

int atomicfile_wipe(const char *path)
{
	struct stat st;

	if (lstat(path, &st) < 0)
		return -errno;
	if (S_ISDIR(st.st_mode))
		return atomicfile_shred_dir(path);
	if (unlink(path) < 0)
		return -errno;
	return atomicfile_sync_dir(path);
}

/* Whether @name is what write_rename() names its temporary files. */
static bool is_tmp_name(const char *name)
{
	size_t len = strlen(name), tail = strlen(TMP_INFIX) + TMP_HEX, i;
	const char *p = name + len - tail;

	if (len <= tail || strncmp(p, TMP_INFIX, strlen(TMP_INFIX)))
		return false;
	for (p += strlen(TMP_INFIX), i = 0; i < TMP_HEX; i++)
		if (!isxdigit((unsigned char)p[i]))
			return false;
	return true;
}

int atomicfile_sweep_tmp(const char *dir)
{
	char path[PATH_MAX];
	struct dirent *de;
	struct stat st;
	int n = 0, r = 0;
	DIR *d;

	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		if (!is_tmp_name(de->d_name) ||
		    snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >=
		    (int)sizeof(path))
			continue;
		/* regular files only: never follow a symlink planted there */
		if (lstat(path, &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		r = atomicfile_shred(path);
		if (r < 0)
			break;
		n++;
	}
	closedir(d);
	return r < 0 ? r : n;
}
