// SPDX-License-Identifier: GPL-2.0
/*
 * disk_open.c - "disk.open" and "disk.close".
 *
 * open: header -> token -> KEK (memory, provider, persisted cache) ->
 * unwrap -> digest check -> logon key in this thread's keyring -> dm
 * table load (the target copies the key) -> key invalidated. Image files
 * go through an autoclear loop device, which vanishes on close. At start,
 * disk_init() removes what an open cut short left: a vmcrypt device with
 * no live table.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <json-c/json.h>

#include "lib/keyring.h"
#include "lib/loopdev.h"
#include "vmcryptd/disk.h"
#include "vmcryptd/ops.h"

/*
 * The dm UUID (dmt_make_uuid(): "VMCRYPT-", 32 hex digits of the LUKS UUID,
 * '-', the name) must fit in 128 bytes with its NUL: 86 characters.
 */
#define DM_NAME_MAX 86

static int validate_dm_name(struct request *rq, const char *name)
{
	size_t i, n = strlen(name);

	/* /dev/mapper/control is device-mapper's own */
	if (!strcmp(name, "control")) {
		request_error(rq, "invalid device name 'control': /dev/mapper/control is device-mapper's control node");
		return -EINVAL;
	}
	if (n == 0 || n > DM_NAME_MAX || name[0] == '.' || name[0] == '-')
		goto bad;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)name[i]) && !strchr("._+-", name[i]))
			goto bad;
	return 0;
bad:
	request_error(rq, "invalid device name '%s': use 1-%d characters of letters, digits, '.', '_', '+' and '-', not starting with '.' or '-'",
		      name, DM_NAME_MAX);
	return -EINVAL;
}

/*
 * Under disk_mutex, just before the table is loaded: @dev (what the table
 * maps: the loop device of an image, or the block device) must still hold
 * the header @info was read from, by path, before the KMS round trip, and
 * @dek must open it. A format --force of the closed disk, or a rename of
 * another disk into @path, in between would otherwise get a table with
 * the old header's key and offsets over the new header: the VM's writes
 * would be under a key no header holds.
 */
static int recheck_header(struct request *rq, const char *path, const char *dev,
			  const struct luks_info *info, const struct secbuf *dek)
{
	struct luks_info *now = calloc(1, sizeof(*now));
	int r;

	if (!now)
		return -ENOMEM;
	r = luks_read(dev, now);
	if (r) {
		request_error(rq, "cannot read the header of %s again (%s): %s", path,
			      dev, strerror(-r));
		goto out;
	}
	if (strcasecmp(now->uuid, info->uuid) ||
	    now->data_offset != info->data_offset ||
	    now->sector_size != info->sector_size ||
	    now->device_size != info->device_size ||
	    luks_verify_key(dev, dek)) {
		request_error(rq, "%s changed while it was being opened (LUKS UUID %s now, %s before): nothing opened; open it again",
			      path, now->uuid, info->uuid);
		r = -ESTALE;
	}
out:
	free(now);
	return r;
}

/* vmcrypt-<vm>-<n> with the first n not in use. */
static int default_name(const char *vm, char *buf, size_t len)
{
	char clean[80];
	struct dmt_info info;
	size_t i;
	int n;

	for (i = 0; vm[i] && i < sizeof(clean) - 1; i++)
		clean[i] = isalnum((unsigned char)vm[i]) || strchr("._-", vm[i]) ?
			   vm[i] : '_';
	clean[i] = '\0';
	for (n = 0; n < 1000; n++) {
		snprintf(buf, len, "vmcrypt-%s-%d", clean, n);
		if (dmt_get_info(buf, &info) != 0 || !info.exists)
			return 0;
	}
	return -ENFILE;
}

int op_disk_open(struct daemon *d, struct request *rq,
		 struct json_object *args, struct json_object *result)
{
	const char *path = NULL, *req_name = NULL;
	struct secbuf dek = { 0 };
	struct luks_info *info;
	struct open_disk *od;
	struct dmt_table t;
	char name[128], desc[64], dmuuid[160], loopdev[64] = "", mapper[160], tmp[64];
	uint64_t sectors, unit;
	bool is_file;
	int32_t serial = 0;
	unsigned long lock_all_epoch;
	int r, loopfd = -1;

	info = calloc(1, sizeof(*info));
	od = calloc(1, sizeof(*od));
	if (!info || !od) {
		r = -ENOMEM;
		goto fail;
	}
	pthread_mutex_lock(&disk_mutex);
	lock_all_epoch = disk_lock_all_epoch();
	pthread_mutex_unlock(&disk_mutex);
	if ((r = args_string(rq, args, "path", true, &path)))
		goto fail;
	r = args_string(rq, args, "name", false, &req_name);
	if (r && r != -ENOENT)
		goto fail;
	if (req_name && (r = validate_dm_name(rq, req_name)))
		goto fail;
	if ((r = disk_check_path(rq, path, &is_file)) ||
	    (r = disk_read_header(rq, path, info)))
		goto fail;
	if (disk_find_open_uuid(info->uuid, od) == 0) {
		request_error(rq, "device busy: disk %s is already open as /dev/mapper/%s",
			      path, od->name);
		r = -EBUSY;
		goto fail;
	}
	if (is_file && loopdev_find(path, tmp, sizeof(tmp)) == 0) {
		request_error(rq, "device busy: %s is attached to %s", path, tmp);
		r = -EBUSY;
		goto fail;
	}
	unit = info->sector_size / 512;
	sectors = info->device_size / 512;
	if (sectors <= info->data_offset + unit) {
		request_error(rq, "device too small: %s has no room for data after its %llu-sector header",
			      path, (unsigned long long)info->data_offset);
		r = -ENOSPC;
		goto fail;
	}
	sectors = (sectors - info->data_offset) / unit * unit;

	/* The DEK: may talk to the KMS, so no lock is held. */
	r = disk_get_dek(d, rq, path, info, &dek);
	if (r)
		goto fail;

	pthread_mutex_lock(&disk_mutex);
	/* Again under the lock: a concurrent open of the same disk may have won. */
	if (disk_find_open_uuid(info->uuid, od) == 0 ||
	    (is_file && loopdev_find(path, tmp, sizeof(tmp)) == 0)) {
		request_error(rq, "device busy: disk %s was opened by another request", path);
		r = -EBUSY;
		goto unlock;
	}
	if (req_name) {
		snprintf(name, sizeof(name), "%s", req_name);
	} else if (default_name(info->tok.vm_name, name, sizeof(name))) {
		request_error(rq, "no free device name for VM %s", info->tok.vm_name);
		r = -ENFILE;
		goto unlock;
	}
	if ((r = keyring_desc(info->uuid, desc, sizeof(desc))) ||
	    (r = dmt_make_uuid(info->uuid, name, dmuuid, sizeof(dmuuid)))) {
		request_error(rq, "device name '%s' is too long", name);
		goto unlock;
	}
	if (is_file) {
		r = loopdev_attach(path, loopdev, sizeof(loopdev), &loopfd);
		if (r) {
			request_error(rq, "cannot attach %s to a loop device: %s", path,
				      strerror(-r));
			goto unlock;
		}
	}
	/* a block device: nobody else (cryptsetup open, a mount) holds it */
	if (!is_file && (r = disk_check_unclaimed(rq, path)))
		goto unlock;
	r = recheck_header(rq, path, is_file ? loopdev : path, info, &dek);
	if (r)
		goto unlock;
	if (disk_lock_all_epoch() != lock_all_epoch) {
		request_error(rq, "a lock --all came in while this open was under way: %s not opened (open it again once the disks are unlocked)",
			      path);
		r = -EAGAIN;
		goto unlock;
	}
	memset(&t, 0, sizeof(t));
	t.len = sectors;
	t.key_desc = desc;
	t.key_size = (unsigned int)dek.len;
	t.iv_offset = 0;
	t.dev = is_file ? loopdev : path;
	t.offset = info->data_offset;
	t.sector_size = info->sector_size;
	/* LUKS2 counts IVs in 512-byte units at any sector size (as cryptsetup). */
	t.iv_large_sectors = false;
	r = keyring_add_logon(desc, &dek, &serial);
	if (r) {
		request_error(rq, "cannot add the key to the kernel keyring: %s", strerror(-r));
		goto unlock;
	}
	r = dmt_create(name, dmuuid, &t);
	(void)keyring_remove(serial);
	if (r == -EEXIST || r == -EBUSY)
		request_error(rq, r == -EEXIST ? "device busy: /dev/mapper/%s already exists" :
			      "device busy: %s is in use", r == -EEXIST ? name : path);
	else if (r)
		request_error(rq, "the kernel refused the vmcrypt table for %s: %s (is dm-vmcrypt loaded? see the kernel log)",
			      path, strerror(-r));
unlock:
	/* Autoclear: once dm holds the loop device, our close is harmless. */
	if (loopfd >= 0)
		close(loopfd);
	pthread_mutex_unlock(&disk_mutex);
	secbuf_free(&dek);
	if (r)
		goto fail;

	snprintf(mapper, sizeof(mapper), "/dev/mapper/%s", name);
	json_object_object_add(result, "name", json_object_new_string(name));
	json_object_object_add(result, "device", json_object_new_string(mapper));
	json_object_object_add(result, "path", json_object_new_string(path));
	if (is_file)
		json_object_object_add(result, "loop_device", json_object_new_string(loopdev));
	json_object_object_add(result, "vm_name", json_object_new_string(info->tok.vm_name));
	json_object_object_add(result, "vm_uuid", json_object_new_string(info->tok.vm_uuid));
	json_object_object_add(result, "provider", json_object_new_string(info->tok.provider));
	json_object_object_add(result, "kek_id", json_object_new_string(info->tok.kek_id));
	json_object_object_add(result, "size_bytes", json_object_new_int64((int64_t)(sectors * 512)));
	disk_event(d, rq, "disk.opened", path, &info->tok, 0, mapper);
	goto out;
fail:
	disk_event(d, rq, "disk.open", path, info ? &info->tok : NULL, r, NULL);
out:
	free(info);
	free(od);
	return r;
}

int op_disk_close(struct daemon *d, struct request *rq,
		  struct json_object *args, struct json_object *result)
{
	struct open_disk *od = calloc(1, sizeof(*od));
	struct luks_info *info = calloc(1, sizeof(*info));
	const char *name = NULL;
	int r;

	if (!od || !info) {
		r = -ENOMEM;
		goto out;
	}
	if ((r = args_string(rq, args, "name", true, &name)))
		goto out;
	pthread_mutex_lock(&disk_mutex);
	r = disk_find_open_name(name, od);
	if (r == -ENODEV) {
		request_error(rq, "no open vmcrypt disk named '%s'", name);
		goto unlock;
	}
	if (r) {
		request_error(rq, "cannot close %s: cannot list device-mapper devices: %s",
			      name, strerror(-r));
		goto unlock;
	}
	/* the table's device: the image path may name another file by now */
	(void)luks_read(od->device, info);
	if (od->dm.suspended) {
		request_error(rq, "disk %s is %s; unlock it before closing", name,
			      od->locked ? "locked" : "suspended");
		r = -EBUSY;
		goto unlock;
	}
	r = dmt_remove(name);
	if (r == -EBUSY)
		request_error(rq, "device busy: /dev/mapper/%s is in use (open count %d)",
			      name, od->dm.open_count);
	else if (r)
		request_error(rq, "cannot remove /dev/mapper/%s: %s", name, strerror(-r));
unlock:
	pthread_mutex_unlock(&disk_mutex);
	if (!r) {
		json_object_object_add(result, "name", json_object_new_string(name));
		json_object_object_add(result, "path", json_object_new_string(od->path));
	}
	disk_event(d, rq, r ? "disk.close" : "disk.closed", od->path[0] ? od->path : name,
		   info->tok.vm_uuid[0] ? &info->tok : NULL, r, name);
out:
	free(od);
	free(info);
	return r;
}

static int halfmade_cb(const char *name, const struct dmt_info *info, void *ctx)
{
	struct json_object *names = ctx;

	if (!info->live_table)
		json_object_array_add(names, json_object_new_string(name));
	return 0;
}

/*
 * At start: remove the vmcrypt devices that an open cut short (vmcryptd
 * killed) left between creating the device and resuming its table. Such
 * a device has no live table; an inactive one may hold the key and the
 * backing device, and its name blocks the next open. Only devices with
 * our UUID prefix are looked at.
 */
int disk_init(struct daemon *d)
{
	struct json_object *names = json_object_new_array();
	size_t i, n;
	int r;

	if (!names)
		return -ENOMEM;
	pthread_mutex_lock(&disk_mutex);
	r = dmt_list(halfmade_cb, names);
	n = r ? 0 : json_object_array_length(names);
	for (i = 0; i < n; i++) {
		const char *name = json_object_get_string(json_object_array_get_idx(names, i));

		r = dmt_remove(name);
		if (r)
			log_err("cannot remove /dev/mapper/%s, left without a table by an "
				"open cut short: %s", name, strerror(-r));
		else
			log_info("removed /dev/mapper/%s, left without a table by an open "
				 "cut short", name);
		daemon_event(d, (struct event){ .event = "disk.swept",
			     .disk = name, .result = r ? "error" : "ok",
			     .error = r ? strerror(-r) : NULL,
			     .detail = "device left without a table by an open cut short" });
	}
	pthread_mutex_unlock(&disk_mutex);
	json_object_put(names);
	return 0;	/* no device-mapper here (-ENODEV) is not an error */
}
