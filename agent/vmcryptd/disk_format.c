// SPDX-License-Identifier: GPL-2.0
/*
 * disk_format.c - "disk.format": make a block device or image file a
 * vmcrypt disk. A fresh 512-bit DEK (getrandom) becomes the LUKS2 volume
 * key; the VM's KEK (created on first use) wraps it into the vmcrypt token.
 *
 * Refused unless "force": a device that already holds something (named by
 * libblkid; probed again just before the header is written). Always
 * refused: a device in use, one too small, a path inside the state
 * directory, a path another format is working on (a client that timed out
 * and retried, say: the first one would otherwise write over, or unlink on
 * failure, the disk the second one made).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "lib/keywrap.h"
#include "lib/log.h"
#include "lib/loopdev.h"
#include "vmcryptd/disk.h"
#include "vmcryptd/keys.h"
#include "vmcryptd/ops.h"

/*
 * The absolute @path with symlinks and ".." resolved into @real; for a path
 * that does not exist yet, its directory is. False when it cannot be
 * resolved (disk_check_path() or creating the file then names the problem).
 */
static bool resolve_path(const char *path, char real[PATH_MAX])
{
	char dir[PATH_MAX];
	const char *slash;
	size_t n;

	if (path[0] != '/')
		return false;
	if (realpath(path, real))
		return true;
	slash = strrchr(path, '/');
	n = (size_t)(slash - path);
	if (errno != ENOENT || n >= sizeof(dir))
		return false;
	memcpy(dir, path, n);
	dir[n] = '\0';
	if (!realpath(n ? dir : "/", real) ||
	    strlen(real) + strlen(slash) >= PATH_MAX)
		return false;
	strcat(real, slash);
	return true;
}

/*
 * Refuse a @path inside the state directory (vms.json, events.jsonl, the
 * persisted cache, ...): formatting or creating an image there would
 * destroy the daemon's own state.
 */
static int check_outside_state(struct daemon *d, struct request *rq,
			       const char *path)
{
	char state[PATH_MAX], real[PATH_MAX];
	size_t n;

	if (!realpath(d->state_dir, state) || !resolve_path(path, real))
		return 0;
	n = strlen(state);
	if (strncmp(real, state, n) || (real[n] != '/' && real[n] != '\0'))
		return 0;
	request_error(rq, "%s is inside vmcryptd's state directory %s: "
		      "refusing to format it", path, state);
	return -EPERM;
}

/* The resolved paths formats are working on; under disk_mutex. */
struct formatting {
	char path[PATH_MAX];
	struct formatting *next;
};
static struct formatting *formatting;

/*
 * Claim @path for this format until format_end(): -EBUSY when another
 * format has it. *@out is NULL for a path that does not resolve (the
 * checks that follow refuse it).
 */
static int format_begin(struct request *rq, const char *path,
			struct formatting **out)
{
	struct formatting *f = calloc(1, sizeof(*f)), *o;

	*out = NULL;
	if (!f)
		return -ENOMEM;
	if (!resolve_path(path, f->path)) {
		free(f);
		return 0;
	}
	pthread_mutex_lock(&disk_mutex);
	for (o = formatting; o; o = o->next)
		if (!strcmp(o->path, f->path))
			break;
	if (!o) {
		f->next = formatting;
		formatting = f;
	}
	pthread_mutex_unlock(&disk_mutex);
	if (o) {
		request_error(rq, "device busy: another format of %s is under way",
			      path);
		free(f);
		return -EBUSY;
	}
	*out = f;
	return 0;
}

static void format_end(struct formatting *f)
{
	struct formatting **pp;

	if (!f)
		return;
	pthread_mutex_lock(&disk_mutex);
	for (pp = &formatting; *pp; pp = &(*pp)->next)
		if (*pp == f) {
			*pp = f->next;
			break;
		}
	pthread_mutex_unlock(&disk_mutex);
	free(f);
}

/*
 * @path still names the file @made was taken of: a failed format undoes
 * what it did to a file (created it, sized it) only in that case.
 */
static bool still_names(const char *path, const struct stat *made)
{
	struct stat st;

	return lstat(path, &st) == 0 && st.st_dev == made->st_dev &&
	       st.st_ino == made->st_ino;
}

static int fill_random(uint8_t *p, size_t len)
{
	while (len) {
		ssize_t n = getrandom(p, len, 0);

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
 * Create image file @path of @size bytes; refuse an existing one. *@made
 * identifies the new file.
 */
static int create_image(struct request *rq, const char *path, long long size,
			struct stat *made)
{
	int fd, r = 0;

	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		r = -errno;
		request_error(rq, "cannot create image file %s: %s", path, strerror(-r));
		return r;
	}
	if (fstat(fd, made) < 0 || ftruncate(fd, (off_t)size) < 0 || fsync(fd) < 0) {
		r = -errno;
		request_error(rq, "cannot size image file %s: %s", path, strerror(-r));
		unlink(path);
	}
	close(fd);
	return r;
}

/*
 * --size given for @path, which exists: it creates image files, so it must
 * be the size @path already has (a format retried after one that created
 * the file and was cut short), never silently ignored. An empty file holds
 * nothing and is sized (touch, or a create cut short before its size);
 * *@sized then identifies it, for a failed format to empty it again.
 */
static int check_size_matches(struct request *rq, const char *path,
			      long long size, struct stat *sized)
{
	struct stat st;
	int fd, r = 0;

	if (stat(path, &st) < 0)
		return 0;	/* disk_check_path() names the problem */
	if (!S_ISREG(st.st_mode)) {
		request_error(rq, "--size creates image files, and %s is not one; leave --size out",
			      path);
		return -EINVAL;
	}
	if (st.st_size == 0) {
		fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0 || fstat(fd, sized) < 0 || ftruncate(fd, (off_t)size) < 0 ||
		    fsync(fd) < 0) {
			r = -errno;
			request_error(rq, "cannot size image file %s: %s", path, strerror(-r));
		}
		if (fd >= 0)
			close(fd);
		return r;
	}
	if (st.st_size != size) {
		request_error(rq, "%s exists with %lld bytes, not the %lld of --size, which creates image files; leave --size out to format it as it is",
			      path, (long long)st.st_size, size);
		return -EEXIST;
	}
	return 0;
}

/* In use: a loop device over the file, or an exclusive holder of the device. */
static int check_not_busy(struct request *rq, const char *path, bool is_file)
{
	char dev[64];

	if (is_file) {
		if (loopdev_find(path, dev, sizeof(dev)) == 0) {
			request_error(rq, "device busy: %s is attached to %s", path, dev);
			return -EBUSY;
		}
		return 0;
	}
	return disk_check_unclaimed(rq, path);
}

/* Copy the passphrase into locked memory and wipe the JSON string's bytes. */
static int take_passphrase(struct request *rq, struct json_object *args,
			   struct secbuf *out)
{
	struct json_object *v;
	char *s;
	size_t n;
	int r;

	if (!json_object_object_get_ex(args, "recovery_passphrase", &v))
		return -ENOENT;
	if (!json_object_is_type(v, json_type_string)) {
		request_error(rq, "argument 'recovery_passphrase' must be a string");
		return -EINVAL;
	}
	s = (char *)json_object_get_string(v);
	n = (size_t)json_object_get_string_len(v);
	if (n == 0 || n > 512 || strlen(s) != n) {
		secure_wipe(s, n);
		request_error(rq, "the recovery passphrase must be 1-512 bytes without NUL");
		return -EINVAL;
	}
	r = secbuf_dup(out, s, n);
	secure_wipe(s, n);
	return r;
}

int op_disk_format(struct daemon *d, struct request *rq,
		   struct json_object *args, struct json_object *result)
{
	const char *path = NULL, *vm_name = NULL, *vm_uuid = NULL, *provider = NULL;
	struct secbuf kek = { 0 }, dek = { 0 }, pass = { 0 };
	struct vmcrypt_token tok;
	struct luks_info *info = NULL;
	char *kek_id = NULL, *prov = NULL;
	char uuid[40], what[300];
	long long sector_size = 4096, size = 0;
	bool force = false, is_file, created = false, have_pass;
	struct formatting *claim = NULL;
	struct stat made = { 0 };
	bool sized = false;
	uint64_t devsize;
	int r;

	memset(&tok, 0, sizeof(tok));
	/* The passphrase first, so that every exit path has wiped it. */
	r = take_passphrase(rq, args, &pass);
	if (r && r != -ENOENT)
		goto fail;
	have_pass = r == 0;
	if ((r = args_string(rq, args, "path", true, &path)) ||
	    (r = args_string(rq, args, "vm_name", true, &vm_name)) ||
	    (r = args_string(rq, args, "vm_uuid", true, &vm_uuid)))
		goto fail;
	r = args_string(rq, args, "provider", false, &provider);
	if (r && r != -ENOENT)
		goto fail;
	r = args_int(rq, args, "sector_size", false, 512, 4096, &sector_size);
	if (r && r != -ENOENT)
		goto fail;
	if (sector_size != 512 && sector_size != 4096) {
		request_error(rq, "sector size must be 512 or 4096, not %lld", sector_size);
		r = -EINVAL;
		goto fail;
	}
	r = args_int(rq, args, "size", false, 1, 1LL << 50, &size);
	if (r && r != -ENOENT)
		goto fail;
	r = args_bool(rq, args, "force", &force);
	if (r && r != -ENOENT)
		goto fail;
	if ((r = validate_vm_name(rq, vm_name)) || (r = validate_uuid(rq, vm_uuid)) ||
	    (provider && (r = validate_name(rq, "provider name", provider))))
		goto fail;

	r = check_outside_state(d, rq, path);
	if (r)
		goto fail;
	r = format_begin(rq, path, &claim);
	if (r)
		goto fail;
	if (size && size % 4096) {
		request_error(rq, "image size %lld is not a multiple of 4096 bytes", size);
		r = -EINVAL;
		goto fail;
	}
	if (size && (unsigned long long)size < LUKS_MIN_DEVICE_SIZE) {
		request_error(rq, "device too small: a vmcrypt disk needs at least %llu MiB, asked for %lld bytes",
			      LUKS_MIN_DEVICE_SIZE >> 20, size);
		r = -ENOSPC;
		goto fail;
	}
	if (path[0] == '/' && size && access(path, F_OK) < 0 && errno == ENOENT) {
		r = create_image(rq, path, size, &made);
		if (r)
			goto fail;
		created = true;
	} else if (size) {
		r = check_size_matches(rq, path, size, &made);
		sized = !r && made.st_ino;
		if (r)
			goto fail;
	}
	r = disk_check_path(rq, path, &is_file);
	if (r)
		goto fail;
	r = check_not_busy(rq, path, is_file);
	if (r)
		goto fail;
	r = luks_device_size(path, &devsize);
	if (r) {
		request_error(rq, "cannot get the size of %s: %s", path, strerror(-r));
		goto fail;
	}
	if (devsize < LUKS_MIN_DEVICE_SIZE) {
		request_error(rq, "device too small: %s has %llu bytes, a vmcrypt disk needs at least %llu MiB",
			      path, (unsigned long long)devsize, LUKS_MIN_DEVICE_SIZE >> 20);
		r = -ENOSPC;
		goto fail;
	}
	if (!created) {
		r = luks_probe(path, what, sizeof(what));
		if (r == -EEXIST && !force) {
			request_error(rq, "%s already holds %s; refusing to format it (use --force to overwrite)",
				      path, what);
			goto fail;
		}
		if (r && r != -EEXIST) {
			request_error(rq, "cannot probe %s: %s", path, strerror(-r));
			goto fail;
		}
	}

	/* The VM's KEK (network I/O: no lock held). */
	r = keys_kek_for_vm(d, rq, provider, vm_name, vm_uuid, &kek_id, &prov, &kek);
	if (r)
		goto fail;
	if (strlen(kek_id) >= sizeof(tok.kek_id) || strlen(prov) >= sizeof(tok.provider)) {
		request_error(rq, "key id or provider name too long for the token");
		r = -ENAMETOOLONG;
		goto fail;
	}
	r = secbuf_alloc(&dek, VMCRYPT_DEK_BYTES);
	if (!r)
		r = fill_random(dek.data, dek.len);
	if (r) {
		request_error(rq, "cannot generate a DEK: %s", strerror(-r));
		goto fail;
	}
	tok.version = VMCRYPT_TOKEN_VERSION;
	snprintf(tok.provider, sizeof(tok.provider), "%s", prov);
	snprintf(tok.kek_id, sizeof(tok.kek_id), "%s", kek_id);
	snprintf(tok.vm_name, sizeof(tok.vm_name), "%s", vm_name);
	snprintf(tok.vm_uuid, sizeof(tok.vm_uuid), "%s", vm_uuid);
	luks_now(tok.created, sizeof(tok.created));
	r = keywrap_wrap(&kek, dek.data, dek.len, tok.wrapped_dek,
			 sizeof(tok.wrapped_dek), &tok.wrapped_len);
	secbuf_free(&kek);
	if (r) {
		request_error(rq, "cannot wrap the DEK: %s", strerror(-r));
		goto fail;
	}

	pthread_mutex_lock(&disk_mutex);
	/*
	 * Re-check under the lock: nobody may open it meanwhile, and what a
	 * KMS round trip ago held nothing may hold something now.
	 */
	r = check_not_busy(rq, path, is_file);
	if (!r && !force && !created) {
		r = luks_probe(path, what, sizeof(what));
		if (r == -EEXIST)
			request_error(rq, "%s holds %s now (it did not when this format began); refusing to format it (use --force to overwrite)",
				      path, what);
		else if (r)
			request_error(rq, "cannot probe %s: %s", path, strerror(-r));
	}
	if (!r) {
		r = luks_format(path, &dek, (uint32_t)sector_size, &tok,
				have_pass ? &pass : NULL, uuid, sizeof(uuid));
		if (r == -ENOSPC)
			request_error(rq, "device too small: %s cannot hold the LUKS2 header and data",
				      path);
		else if (r)
			request_error(rq, "cannot write the LUKS2 header on %s: %s", path,
				      strerror(-r));
	}
	pthread_mutex_unlock(&disk_mutex);
	if (r)
		goto fail;

	info = calloc(1, sizeof(*info));
	if (info && luks_read(path, info) == 0) {
		json_object_object_add(result, "data_offset",
				       json_object_new_int64((int64_t)info->data_offset));
		json_object_object_add(result, "data_bytes",
				       json_object_new_int64((int64_t)(info->device_size -
						info->data_offset * 512)));
	}
	json_object_object_add(result, "path", json_object_new_string(path));
	json_object_object_add(result, "luks_uuid", json_object_new_string(uuid));
	json_object_object_add(result, "vm_name", json_object_new_string(vm_name));
	json_object_object_add(result, "vm_uuid", json_object_new_string(vm_uuid));
	json_object_object_add(result, "provider", json_object_new_string(prov));
	json_object_object_add(result, "kek_id", json_object_new_string(kek_id));
	json_object_object_add(result, "sector_size", json_object_new_int((int)sector_size));
	json_object_object_add(result, "recovery_keyslot", json_object_new_boolean(have_pass));
	disk_event(d, rq, "disk.formatted", path, &tok, 0,
		   have_pass ? "with recovery keyslot" : NULL);
	r = 0;
	goto out;
fail:
	if (created && path && still_names(path, &made))
		unlink(path);
	if (sized && still_names(path, &made) && truncate(path, 0) < 0)
		log_warn("format of %s failed and the file it sized could not be emptied again: %s",
			 path, strerror(errno));
	snprintf(tok.vm_name, sizeof(tok.vm_name), "%s", vm_name ? vm_name : "");
	snprintf(tok.vm_uuid, sizeof(tok.vm_uuid), "%s", vm_uuid ? vm_uuid : "");
	snprintf(tok.provider, sizeof(tok.provider), "%s", prov ? prov : (provider ? provider : ""));
	snprintf(tok.kek_id, sizeof(tok.kek_id), "%s", kek_id ? kek_id : "");
	disk_event(d, rq, "disk.format", path, &tok, r, NULL);
out:
	format_end(claim);
	free(info);
	free(kek_id);
	free(prov);
	secbuf_free(&kek);
	secbuf_free(&dek);
	secbuf_free(&pass);
	return r;
}
