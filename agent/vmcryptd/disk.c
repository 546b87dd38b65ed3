// SPDX-License-Identifier: GPL-2.0
/*
 * disk.c - shared code of the disk operations: path checks, finding open
 * vmcrypt devices and their backing disks, getting a disk's DEK (KEK ->
 * unwrap -> digest check) and disk events.
 */
#include "vmcryptd/disk.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <json-c/json.h>

#include "lib/blkdev.h"
#include "lib/genl.h"
#include "lib/keywrap.h"
#include "lib/loopdev.h"
#include "vmcryptd/keys.h"

pthread_mutex_t disk_mutex = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;

int disk_check_path(struct request *rq, const char *path, bool *is_file)
{
	struct stat st;

	if (path[0] != '/') {
		request_error(rq, "disk path '%s' must be absolute", path);
		return -EINVAL;
	}
	if (stat(path, &st) < 0) {
		int e = errno;

		request_error(rq, "cannot access %s: %s", path, strerror(e));
		return -e;
	}
	if (S_ISBLK(st.st_mode)) {
		*is_file = false;
	} else if (S_ISREG(st.st_mode)) {
		*is_file = true;
	} else {
		request_error(rq, "%s is neither a block device nor an image file", path);
		return -ENOTBLK;
	}
	return 0;
}

int disk_read_header(struct request *rq, const char *path, struct luks_info *info)
{
	/*
	 * One LUKS2 header copy (binary header and JSON area) is at least
	 * 16 KiB; libcryptsetup reports a shorter file as an I/O error.
	 */
	const uint64_t luks2_min_hdr = 16384;
	uint64_t size;
	int r;

	if (luks_device_size(path, &size) == 0 && size < luks2_min_hdr) {
		request_error(rq, "%s is not a vmcrypt disk: %llu bytes is too small for a LUKS2 header (at least %llu)",
			      path, (unsigned long long)size,
			      (unsigned long long)luks2_min_hdr);
		return -ENODEV;
	}
	r = luks_read(path, info);
	if (r == -ENODEV)
		request_error(rq, "%s is not a vmcrypt disk: no LUKS2 header", path);
	else if (r == -ENOKEY && info->unfinished)
		request_error(rq, "%s is not a vmcrypt disk: its format was interrupted (a LUKS2 header without the vmcrypt token, which format writes last); format it again with --force",
			      path);
	else if (r == -ENOKEY)
		request_error(rq, "%s is a LUKS2 volume but not a vmcrypt disk (no valid vmcrypt token)",
			      path);
	else if (r)
		request_error(rq, "cannot read the header of %s: %s", path, strerror(-r));
	return r;
}

int disk_check_unclaimed(struct request *rq, const char *path)
{
	int fd = open(path, O_RDONLY | O_EXCL | O_CLOEXEC);

	if (fd < 0) {
		int e = errno;

		if (e == EBUSY)
			request_error(rq, "device busy: %s is in use (mounted, mapped or held by another program)",
				      path);
		else
			request_error(rq, "cannot open %s: %s", path, strerror(e));
		return -e;
	}
	close(fd);
	return 0;
}

/*
 * "M:m" or a path in a table's dev field -> /dev/mapper/NAME for a dm
 * device (an LV), else /dev/NAME.
 */
static int dev_from_table(const char *table, char *dev, size_t len)
{
	char field[64], uevent[128], buf[512];
	unsigned int maj, min;
	const char *p = table;
	char *name;
	ssize_t n;
	int i, fd;

	/* cipher key iv_offset DEV offset ... */
	for (i = 0; i < 3; i++) {
		p = strchr(p, ' ');
		if (!p)
			return -EINVAL;
		p++;
	}
	if (sscanf(p, "%63s", field) != 1)
		return -EINVAL;
	if (field[0] == '/') {
		snprintf(dev, len, "%s", field);
		return 0;
	}
	if (sscanf(field, "%u:%u", &maj, &min) != 2)
		return -EINVAL;
	/* an LV or other dm device: its name, not the dm-N of this boot */
	if (blkdev_mapper_path(makedev(maj, min), dev, len) == 0)
		return 0;
	snprintf(uevent, sizeof(uevent), "/sys/dev/block/%u:%u/uevent", maj, min);
	fd = open(uevent, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	name = strstr(buf, "DEVNAME=");
	if (!name)
		return -ENOENT;
	name += 8;
	name[strcspn(name, "\n")] = '\0';
	snprintf(dev, len, "/dev/%s", name);
	return 0;
}

int disk_describe(const char *name, const struct dmt_info *dm, struct open_disk *od)
{
	const char *u;
	size_t i, o = 0;
	int r;

	memset(od, 0, sizeof(*od));
	snprintf(od->name, sizeof(od->name), "%s", name);
	od->dm = *dm;
	r = dev_from_table(dm->table, od->device, sizeof(od->device));
	if (r)
		return r;
	snprintf(od->path, sizeof(od->path), "%s", od->device);
	if (!strncmp(od->device, "/dev/loop", 9))
		(void)loopdev_backing_file(od->device + 5, od->path, sizeof(od->path));
	/* VMCRYPT-<32 hex>-name -> 8-4-4-4-12 */
	u = dm->uuid + strlen(DMT_UUID_PREFIX);
	for (i = 0; i < 32 && u[i] && o + 1 < sizeof(od->luks_uuid); i++) {
		if (i == 8 || i == 12 || i == 16 || i == 20)
			od->luks_uuid[o++] = '-';
		od->luks_uuid[o++] = u[i];
	}
	od->luks_uuid[o] = '\0';
	od->locked = dm->suspended && !strncmp(dm->status, "wiped", 5);
	return 0;
}

struct find_ctx {
	const char *uuid_prefix;
	const char *name;
	struct open_disk *od;
	bool found;
};

static int find_cb(const char *name, const struct dmt_info *info, void *ctx)
{
	struct find_ctx *f = ctx;

	if (strcmp(info->target, DMT_TARGET))
		return 0;
	if (f->uuid_prefix &&
	    strncmp(info->uuid, f->uuid_prefix, strlen(f->uuid_prefix)))
		return 0;
	if (f->name && strcmp(name, f->name))
		return 0;
	if (disk_describe(name, info, f->od))
		return 0;
	f->found = true;
	return -1;	/* stop */
}

int disk_find_open_uuid(const char *uuid, struct open_disk *od)
{
	char prefix[64];
	struct find_ctx f = { .uuid_prefix = prefix, .od = od };
	int r;

	r = dmt_make_uuid(uuid, "", prefix, sizeof(prefix));
	if (r)
		return r;
	pthread_mutex_lock(&disk_mutex);
	r = dmt_list(find_cb, &f);
	pthread_mutex_unlock(&disk_mutex);
	if (f.found)
		return 0;
	return r < 0 && r != -1 ? r : -ENOENT;
}

int disk_find_open_name(const char *name, struct open_disk *od)
{
	struct find_ctx f = { .name = name, .od = od };
	int r;

	pthread_mutex_lock(&disk_mutex);
	r = dmt_list(find_cb, &f);
	pthread_mutex_unlock(&disk_mutex);
	if (f.found)
		return 0;
	return r < 0 && r != -1 ? r : -ENODEV;
}

int disk_get_dek(struct daemon *d, struct request *rq, const char *path,
		 const struct luks_info *info, struct secbuf *dek)
{
	const struct vmcrypt_token *t = &info->tok;
	struct secbuf kek = { 0 };
	struct request sub = *rq;
	int r;

	/* keys_get_kek() writes its own error; we prefix it with the disk. */
	sub.error[0] = '\0';
	r = keys_get_kek(d, &sub, t->provider, t->kek_id, &kek);
	if (r)
		request_failure(rq, sub.failure);
	if (r == -ENOENT && strstr(sub.error, "no provider named")) {
		request_error(rq, "disk %s is locked: its key %s belongs to provider %s, which is not configured",
			      path, t->kek_id, t->provider);
		return r;
	}
	if (r == -ENOENT) {
		request_error(rq, "disk %s is locked: key %s not found on provider %s",
			      path, t->kek_id, t->provider);
		return r;
	}
	if (r) {
		request_error(rq, "disk %s is locked: key %s of provider %s is unavailable (%s)",
			      path, t->kek_id, t->provider,
			      sub.error[0] ? sub.error : strerror(-r));
		return r;
	}
	r = keywrap_unwrap(&kek, t->wrapped_dek, t->wrapped_len, dek);
	secbuf_free(&kek);
	if (r == -EBADMSG) {
		request_error(rq, "key %s of provider %s does not unwrap the DEK of %s (wrong key or corrupted token)",
			      t->kek_id, t->provider, path);
		return r;
	}
	if (r) {
		request_error(rq, "cannot unwrap the DEK of %s: %s", path, strerror(-r));
		return r;
	}
	/*
	 * This loads the header a second time (the caller's @info was the
	 * first), on purpose: the KEK fetch in between may take a KMS round
	 * trip, during which no crypt_device may be held (libcryptsetup runs
	 * under the process-wide dmt_lib_lock()), and the digest checked is
	 * then the header's current one.
	 */
	r = luks_verify_key(path, dek);
	if (r) {
		secbuf_free(dek);
		if (r == -EPERM) {
			request_error(rq, "the DEK of %s does not match its LUKS2 digest (token does not belong to this header)",
				      path);
			return -EKEYREJECTED;
		}
		request_error(rq, "cannot verify the DEK of %s: %s", path, strerror(-r));
		return r;
	}
	return 0;
}

void disk_event(struct daemon *d, struct request *rq, const char *event,
		const char *disk, const struct vmcrypt_token *tok, int ret,
		const char *detail)
{
	char err[sizeof(rq->error)];

	snprintf(err, sizeof(err), "%s", rq->error[0] ? rq->error : strerror(-ret));
	request_event(d, rq, (struct event){
		.event = event,
		.provider = tok && tok->provider[0] ? tok->provider : NULL,
		.key_id = tok && tok->kek_id[0] ? tok->kek_id : NULL,
		.vm_name = tok && tok->vm_name[0] ? tok->vm_name : NULL,
		.vm_uuid = tok && tok->vm_uuid[0] ? tok->vm_uuid : NULL,
		.disk = disk,
		.result = ret ? "error" : "ok",
		.error = ret ? err : NULL,
		.detail = detail,
	});
}

/*
 * Key state and counters: from the module's netlink family (per-device
 * stats dump), else from the dm status line (same numbers).
 */
static int disk_counters(const struct open_disk *od, struct disk_counters *c)
{
	struct vmc_dev_info *di = calloc(1, sizeof(*di));
	struct vmc_genl *g = NULL;
	int r = -ENOMEM;

	if (di && vmc_genl_open(&g) == 0) {
		r = vmc_genl_dev_get(g, od->name, di);
		vmc_genl_close(g);
	}
	if (di && r == 0) {
		memset(c, 0, sizeof(*c));
		snprintf(c->key_state, sizeof(c->key_state), "%s",
			 vmc_key_state_name(di->key_state));
		c->reads = di->reads;
		c->read_bytes = di->read_bytes;
		c->writes = di->writes;
		c->write_bytes = di->write_bytes;
		c->crypto_errors = di->crypto_errors;
		c->io_errors = di->io_errors;
	} else {
		r = disk_parse_status(od->dm.status, c);
	}
	free(di);
	return r;
}

static void add_str(struct json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, json_object_new_string(v ? v : ""));
}

static void add_u64(struct json_object *o, const char *k, unsigned long long v)
{
	json_object_object_add(o, k, json_object_new_int64((int64_t)v));
}

struct json_object *disk_to_json(const struct open_disk *od, bool verbose)
{
	struct json_object *o = json_object_new_object();
	struct disk_counters c;
	struct luks_info *info;
	char mapper[160];

	if (!o)
		return NULL;
	snprintf(mapper, sizeof(mapper), "/dev/mapper/%s", od->name);
	add_str(o, "name", od->name);
	add_str(o, "device", mapper);
	add_str(o, "path", od->path);
	add_str(o, "backing_device", od->device);
	add_str(o, "luks_uuid", od->luks_uuid);
	add_str(o, "state", od->locked ? "locked" :
		od->dm.suspended ? "suspended" : "open");
	info = calloc(1, sizeof(*info));
	if (info && luks_read(od->device, info) == 0) {
		add_str(o, "vm_name", info->tok.vm_name);
		add_str(o, "vm_uuid", info->tok.vm_uuid);
		add_str(o, "provider", info->tok.provider);
		add_str(o, "kek_id", info->tok.kek_id);
		if (verbose) {
			add_str(o, "created", info->tok.created);
			if (info->tok.rekeyed[0])
				add_str(o, "rekeyed", info->tok.rekeyed);
			add_u64(o, "sector_size", info->sector_size);
			add_u64(o, "data_offset", info->data_offset);
			add_u64(o, "recovery_keyslots", (unsigned long long)info->recovery_keyslots);
		}
	}
	free(info);
	if (verbose) {
		add_u64(o, "size_bytes", od->dm.len * 512ULL);
		add_u64(o, "open_count", (unsigned long long)od->dm.open_count);
		add_str(o, "table", od->dm.table);
		if (disk_counters(od, &c) == 0) {
			add_str(o, "key_state", c.key_state);
			add_u64(o, "reads", c.reads);
			add_u64(o, "read_bytes", c.read_bytes);
			add_u64(o, "writes", c.writes);
			add_u64(o, "write_bytes", c.write_bytes);
			add_u64(o, "crypto_errors", c.crypto_errors);
			add_u64(o, "io_errors", c.io_errors);
		}
	}
	return o;
}
