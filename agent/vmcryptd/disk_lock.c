// SPDX-License-Identifier: GPL-2.0
/*
 * disk_lock.c - the emergency lock: "disk.lock" (suspend, then wipe the
 * key in the target: I/O is held by dm core) and "disk.unlock" (get the
 * DEK again exactly as open does, "key set", resume). By name or "all".
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "lib/keyring.h"
#include "vmcryptd/disk.h"
#include "vmcryptd/ops.h"

struct collect {
	struct open_disk *list;
	size_t n, cap;
};

static int collect_cb(const char *name, const struct dmt_info *info, void *ctx)
{
	struct collect *c = ctx;
	struct open_disk *nl;

	if (strcmp(info->target, DMT_TARGET))
		return 0;
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 8;
		nl = realloc(c->list, c->cap * sizeof(*nl));
		if (!nl)
			return -ENOMEM;
		c->list = nl;
	}
	if (disk_describe(name, info, &c->list[c->n]) == 0)
		c->n++;
	return 0;
}

int disk_collect(struct open_disk **out, size_t *n)
{
	struct collect c = { 0 };
	int r;

	pthread_mutex_lock(&disk_mutex);
	r = dmt_list(collect_cb, &c);
	pthread_mutex_unlock(&disk_mutex);

	if (r) {
		free(c.list);
		return r;
	}
	*out = c.list;
	*n = c.n;
	return 0;
}

/*
 * Bumped by every lock, under disk_mutex. An unlock notes it before it
 * looks at the disks and gives a key back only if no lock came in since:
 * a lock that said "locked" while an unlock was fetching the key (from a
 * slow KMS, say) must not be undone by that unlock a moment later. Any
 * lock counts, of this disk or another: an emergency lock --all is many
 * locks, and refusing an unlock too many is the safe side.
 */
static unsigned long lock_epoch;
static unsigned long lock_all_epoch;

unsigned long disk_lock_all_epoch(void)
{
	return lock_all_epoch;
}

/*
 * The targets of a lock/unlock: one name or every open disk (*@all). A
 * lock --all (@lock) bumps lock_all_epoch before it lists the disks: an
 * open that loads its table after that sees it (disk_open.c).
 */
static int targets(struct request *rq, struct json_object *args, bool lock,
		   struct open_disk **list, size_t *n, bool *all)
{
	const char *name = NULL;
	size_t i;
	int r;

	*all = false;
	r = args_bool(rq, args, "all", all);
	if (r && r != -ENOENT)
		return r;
	r = args_string(rq, args, "name", false, &name);
	if (r && r != -ENOENT)
		return r;
	if (*all == !!name) {
		request_error(rq, "give either a device name or all");
		return -EINVAL;
	}
	if (lock && *all) {
		pthread_mutex_lock(&disk_mutex);
		lock_all_epoch++;
		pthread_mutex_unlock(&disk_mutex);
	}
	r = disk_collect(list, n);
	if (r) {
		request_error(rq, "cannot list device-mapper devices: %s",
			      r == -ENODEV ? "device-mapper is not available (load dm-mod)" :
			      strerror(-r));
		return r;
	}
	if (*all)
		return 0;
	for (i = 0; i < *n && strcmp((*list)[i].name, name); i++)
		;
	if (i == *n) {
		request_error(rq, "no open vmcrypt disk named '%s'", name);
		free(*list);
		*list = NULL;
		return -ENODEV;
	}
	memmove(*list, *list + i, sizeof(**list));
	*n = 1;
	return 0;
}

/* Caller holds disk_mutex. */
static int lock_one(struct request *rq, const struct open_disk *od)
{
	int r;

	lock_epoch++;
	/* Locked already: wipe again all the same (an earlier wipe may have failed). */
	if (!od->dm.suspended) {
		r = dmt_suspend(od->name);
		if (r) {
			request_error(rq, "cannot suspend %s: %s", od->name, strerror(-r));
			return r;
		}
	}
	r = dmt_message(od->name, "key wipe");
	if (r) {
		request_error(rq, "cannot wipe the key of %s: %s (the device stays suspended)",
			      od->name, strerror(-r));
		return r;
	}
	/*
	 * A key message reaches the live table only. A table loaded but not
	 * resumed (dmsetup load: vmcrypt never leaves one) holds a key of its
	 * own, which a resume would swap in: drop it.
	 */
	if (od->dm.inactive_table) {
		r = dmt_clear(od->name);
		if (r) {
			request_error(rq, "key of %s wiped, but its inactive table could not be dropped: %s (dmsetup clear %s)",
				      od->name, strerror(-r), od->name);
			return r;
		}
	}
	return 0;
}

/*
 * Give @od its key back ("key set") and resume it, under disk_mutex in one
 * go and only if no lock came in since @epoch: a lock between the two
 * would have its wipe resumed past.
 */
static int unlock_one(struct daemon *d, struct request *rq, const struct open_disk *od,
		      const struct luks_info *info, unsigned long epoch)
{
	struct secbuf dek = { 0 };
	char desc[64], msg[128];
	int32_t serial = 0;
	int r;

	if (!od->dm.suspended)
		return 0;	/* not locked: lock_op() does not get here */
	if (od->locked) {
		/* The header read must be the open device's own (lock_op). */
		if (strcasecmp(info->uuid, od->luks_uuid)) {
			request_error(rq, "%s holds LUKS UUID %s, but %s was opened "
				      "from LUKS UUID %s: refusing to give it a key "
				      "from another header", od->device, info->uuid,
				      od->name, od->luks_uuid);
			return -ESTALE;
		}
		/* Verified against the same device's header too. */
		r = disk_get_dek(d, rq, od->device, info, &dek);
		if (r)
			return r;
		r = keyring_desc(info->uuid, desc, sizeof(desc));
		if (!r)
			r = keyring_add_logon(desc, &dek, &serial);
		secbuf_free(&dek);
		if (r) {
			request_error(rq, "cannot add the key of %s to the keyring: %s",
				      od->name, strerror(-r));
			return r;
		}
		snprintf(msg, sizeof(msg), "key set :%d:logon:%s", VMCRYPT_DEK_BYTES, desc);
	}
	pthread_mutex_lock(&disk_mutex);
	if (lock_epoch != epoch) {
		pthread_mutex_unlock(&disk_mutex);
		if (serial)
			(void)keyring_remove(serial);
		request_error(rq, "a lock request came in while this unlock was under way: %s stays locked (unlock it again if that is still wanted)",
			      od->name);
		return -EAGAIN;
	}
	r = 0;
	if (od->locked) {
		r = dmt_message(od->name, msg);
		(void)keyring_remove(serial);
		if (r)
			request_error(rq, "the kernel refused the key of %s: %s", od->name,
				      strerror(-r));
	}
	if (!r) {
		r = dmt_resume(od->name);
		if (r)
			request_error(rq, "cannot resume %s: %s", od->name, strerror(-r));
	}
	pthread_mutex_unlock(&disk_mutex);
	return r;
}

/* Append @name to the comma-separated list @buf (", ..." once it is full). */
static void add_name(char *buf, size_t len, const char *name)
{
	size_t used = strlen(buf);

	if (used + strlen(name) + 8 >= len) {
		if (!strstr(buf, ", ..."))
			snprintf(buf + used, len - used, ", ...");
		return;
	}
	snprintf(buf + used, len - used, "%s%s", used ? ", " : "", name);
}

static int lock_op(struct daemon *d, struct request *rq, struct json_object *args,
		   struct json_object *result, bool lock)
{
	struct json_object *done = json_object_new_array();
	struct json_object *skipped = json_object_new_array();
	struct open_disk *list = NULL;
	struct luks_info *info = calloc(1, sizeof(*info));
	char ok[256] = "", failed[256] = "", why[sizeof(rq->error)];
	size_t n = 0, i;
	unsigned long epoch;
	bool all = false;
	int r, first = 0;

	if (!done || !skipped || !info) {
		json_object_put(done);
		json_object_put(skipped);
		free(info);
		return -ENOMEM;
	}
	pthread_mutex_lock(&disk_mutex);
	epoch = lock_epoch;
	pthread_mutex_unlock(&disk_mutex);
	r = targets(rq, args, lock, &list, &n, &all);
	if (r)
		goto out;
	for (i = 0; i < n; i++) {
		struct request sub = *rq;

		/*
		 * Unlock leaves alone what it did not lock: a disk that is not
		 * suspended, and with --all one suspended by someone else (a
		 * snapshot, say) with its key in place. Named, a suspended disk
		 * with its key is resumed: an unlock cut short leaves one.
		 */
		if (!lock && (!list[i].dm.suspended ||
			      (!list[i].locked && all))) {
			json_object_array_add(skipped,
					      json_object_new_string(list[i].name));
			continue;
		}
		sub.error[0] = '\0';
		memset(info, 0, sizeof(*info));
		/*
		 * The header of the block device in the table: the image file's
		 * path may name another file by now (moved, replaced).
		 */
		(void)luks_read(list[i].device, info);
		if (lock) {
			pthread_mutex_lock(&disk_mutex);
			r = lock_one(&sub, &list[i]);
			pthread_mutex_unlock(&disk_mutex);
		} else {
			r = info->tok.kek_id[0] ?
			    unlock_one(d, &sub, &list[i], info, epoch) : -ENOKEY;
			if (r == -ENOKEY && !sub.error[0])
				request_error(&sub, "cannot read the vmcrypt token of %s (%s)",
					      list[i].path, list[i].device);
		}
		disk_event(d, &sub, lock ? (r ? "disk.lock" : "disk.locked") :
			   (r ? "disk.unlock" : "disk.unlocked"), list[i].path,
			   info->tok.kek_id[0] ? &info->tok : NULL, r, list[i].name);
		if (r) {
			/* Keep going with the others; report the first failure. */
			if (!first) {
				first = r;
				snprintf(why, sizeof(why), "%s", sub.error);
				request_failure(rq, sub.failure);
			}
			add_name(failed, sizeof(failed), list[i].name);
			continue;
		}
		add_name(ok, sizeof(ok), list[i].name);
		json_object_array_add(done, json_object_new_string(list[i].name));
	}
	r = first;
	/* An error drops the result: say here which disks are done, which not. */
	if (r && n > 1)
		request_error(rq, "%s; %s: %s; not %s: %s", why,
			      lock ? "locked" : "unlocked", ok[0] ? ok : "none",
			      lock ? "locked" : "unlocked", failed);
	else if (r)
		request_error(rq, "%s", why);
out:
	json_object_object_add(result, lock ? "locked" : "unlocked", done);
	if (lock)
		json_object_put(skipped);
	else
		json_object_object_add(result, "not_locked", skipped);
	free(list);
	free(info);
	return r;
}

int op_disk_lock(struct daemon *d, struct request *rq,
		 struct json_object *args, struct json_object *result)
{
	return lock_op(d, rq, args, result, true);
}

int op_disk_unlock(struct daemon *d, struct request *rq,
		   struct json_object *args, struct json_object *result)
{
	return lock_op(d, rq, args, result, false);
}
