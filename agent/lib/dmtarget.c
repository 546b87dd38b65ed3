// SPDX-License-Identifier: GPL-2.0
/*
 * dmtarget.c - libdevmapper calls for vmcrypt devices.
 *
 * Node handling: with udev (a normal host) we pass a cookie and wait for
 * udev to create/remove /dev/mapper/NAME; with DM_DISABLE_UDEV=1 (the test
 * VM has no udev) libdevmapper makes the nodes itself inside
 * dm_udev_wait(). Either way the node exists when dmt_create() returns.
 *
 * Threads: every task runs under lib_lock (see dmt_lib_lock() in
 * dmtarget.h), from dm_task_create() to dm_task_destroy().
 */
#include "lib/dmtarget.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <libdevmapper.h>

#include "lib/log.h"

static void dm_log_cb(int level, const char *file, int line, int dm_errno,
		      const char *f, ...)
{
	char buf[512];
	va_list ap;

	(void)file;
	(void)line;
	(void)dm_errno;
	if (level > 3)	/* _LOG_ERR is 3; the rest is chatter */
		return;
	va_start(ap, f);
	vsnprintf(buf, sizeof(buf), f, ap);
	va_end(ap);
	log_debug("libdevmapper: %s", buf);
}

static pthread_mutex_t lib_lock = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;
static bool log_cb_on;	/* written once at start, under lib_lock */

void dmt_lib_lock(void)
{
	pthread_mutex_lock(&lib_lock);
}

void dmt_lib_unlock(void)
{
	pthread_mutex_unlock(&lib_lock);
}

void dmt_init_logging(void)
{
	dmt_lib_lock();
	log_cb_on = true;
	dm_log_with_errno_init(dm_log_cb);
	dmt_lib_unlock();
}

int dmt_format_params(const struct dmt_table *t, char *buf, size_t len)
{
	char opts[96] = "";
	int nopt = 0, n;

	if (!t->key_desc || !t->dev || (t->key_size != 32 && t->key_size != 64) ||
	    strpbrk(t->key_desc, " \t\n") || strpbrk(t->dev, " \t\n"))
		return -EINVAL;
	if (t->sector_size && t->sector_size != 512) {
		nopt++;
		snprintf(opts + strlen(opts), sizeof(opts) - strlen(opts),
			 " sector_size:%u", t->sector_size);
	}
	if (t->iv_large_sectors) {
		nopt++;
		strcat(opts, " iv_large_sectors");
	}
	if (t->allow_discards) {
		nopt++;
		strcat(opts, " allow_discards");
	}
	if (nopt)
		n = snprintf(buf, len, "aes-xts-plain64 :%u:logon:%s %llu %s %llu %d%s",
			     t->key_size, t->key_desc,
			     (unsigned long long)t->iv_offset, t->dev,
			     (unsigned long long)t->offset, nopt, opts);
	else
		n = snprintf(buf, len, "aes-xts-plain64 :%u:logon:%s %llu %s %llu",
			     t->key_size, t->key_desc,
			     (unsigned long long)t->iv_offset, t->dev,
			     (unsigned long long)t->offset);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int dmt_make_uuid(const char *luks_uuid, const char *name, char *buf, size_t len)
{
	size_t o = 0, i;
	int n;

	n = snprintf(buf, len, DMT_UUID_PREFIX);
	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	o = (size_t)n;
	for (i = 0; luks_uuid[i]; i++) {
		if (luks_uuid[i] == '-')
			continue;
		if (o + 1 >= len)
			return -ENAMETOOLONG;
		buf[o++] = luks_uuid[i];
	}
	buf[o] = '\0';
	n = snprintf(buf + o, len - o, "-%s", name);
	if (n < 0 || (size_t)n >= len - o || o + (size_t)n >= 128)
		return -ENAMETOOLONG;
	return 0;
}

/*
 * dm_task_create() fails mostly when device-mapper is unavailable. Takes
 * lib_lock, which task_free() drops. Our log callback is set again each
 * time: freeing a crypt_device resets libdevmapper's to the default.
 */
static struct dm_task *task_new(int type)
{
	struct dm_task *dmt;

	dmt_lib_lock();
	if (log_cb_on)
		dm_log_with_errno_init(dm_log_cb);
	dmt = dm_task_create(type);
	if (!dmt)
		dmt_lib_unlock();
	return dmt;
}

static void task_free(struct dm_task *dmt)
{
	dm_task_destroy(dmt);
	dmt_lib_unlock();
}

#define TASK_NEW_ERR (-ENODEV)

/* Run @dmt, waiting for udev (or making nodes) when @cookie_wanted. */
static int run_task(struct dm_task *dmt, bool cookie_wanted)
{
	uint32_t cookie = 0;
	int ok, err;

	if (cookie_wanted && !dm_task_set_cookie(dmt, &cookie, 0))
		return -ENOMEM;
	ok = dm_task_run(dmt);
	err = dm_task_get_errno(dmt);
	if (cookie_wanted)
		(void)dm_udev_wait(cookie);
	if (!ok)
		return err > 0 ? -err : -EIO;
	return 0;
}

int dmt_create(const char *name, const char *uuid, const struct dmt_table *t)
{
	struct dm_task *dmt;
	char params[512];
	int ret;

	ret = dmt_format_params(t, params, sizeof(params));
	if (ret)
		return ret;
	dmt = task_new(DM_DEVICE_CREATE);
	if (!dmt)
		return TASK_NEW_ERR;
	if (!dm_task_set_name(dmt, name) || (uuid && !dm_task_set_uuid(dmt, uuid)) ||
	    !dm_task_add_target(dmt, 0, t->len, DMT_TARGET, params)) {
		ret = -EINVAL;
		goto out;
	}
	ret = run_task(dmt, true);
out:
	task_free(dmt);
	return ret;
}

static int simple_task(int type, const char *name, bool cookie)
{
	struct dm_task *dmt = task_new(type);
	int ret;

	if (!dmt)
		return TASK_NEW_ERR;
	if (!dm_task_set_name(dmt, name)) {
		task_free(dmt);
		return -EINVAL;
	}
	if (type == DM_DEVICE_REMOVE)
		dm_task_retry_remove(dmt);
	ret = run_task(dmt, cookie);
	task_free(dmt);
	return ret;
}

int dmt_remove(const char *name)
{
	return simple_task(DM_DEVICE_REMOVE, name, true);
}

int dmt_suspend(const char *name)
{
	return simple_task(DM_DEVICE_SUSPEND, name, false);
}

int dmt_resume(const char *name)
{
	return simple_task(DM_DEVICE_RESUME, name, true);
}

int dmt_clear(const char *name)
{
	return simple_task(DM_DEVICE_CLEAR, name, false);
}

int dmt_message(const char *name, const char *msg)
{
	struct dm_task *dmt = task_new(DM_DEVICE_TARGET_MSG);
	int ret;

	if (!dmt)
		return TASK_NEW_ERR;
	if (!dm_task_set_name(dmt, name) || !dm_task_set_sector(dmt, 0) ||
	    !dm_task_set_message(dmt, msg)) {
		ret = -EINVAL;
		goto out;
	}
	ret = run_task(dmt, false);
out:
	task_free(dmt);
	return ret;
}

/*
 * Table or status params of @name's first target; the params only if it
 * is a vmcrypt target. Another target's table may hold a key in hex (a
 * dm-crypt device opened without the keyring): libdevmapper is told to
 * wipe its ioctl buffer (dm_task_secure_data()), and nothing of it is
 * copied out.
 */
static int get_params(int type, const char *name, char *target, size_t tlen,
		      uint64_t *len, char *buf, size_t blen)
{
	struct dm_task *dmt = task_new(type);
	uint64_t start, length;
	char *ttype = NULL, *params = NULL;
	int ret;

	buf[0] = '\0';
	if (!dmt)
		return TASK_NEW_ERR;
	if (!dm_task_set_name(dmt, name) ||
	    (type == DM_DEVICE_TABLE && !dm_task_secure_data(dmt))) {
		ret = -EINVAL;
		goto out;
	}
	ret = run_task(dmt, false);
	if (ret)
		goto out;
	dm_get_next_target(dmt, NULL, &start, &length, &ttype, &params);
	if (target)
		snprintf(target, tlen, "%s", ttype ?: "");
	if (len)
		*len = length;
	if (ttype && !strcmp(ttype, DMT_TARGET))
		snprintf(buf, blen, "%s", params ?: "");
out:
	task_free(dmt);
	return ret;
}

/*
 * @name's info, and its table and status unless @ours_only and its UUID
 * is not a vmcrypt one (then info->uuid tells, and -ENOENT).
 */
static int get_info(const char *name, bool ours_only, struct dmt_info *info)
{
	struct dm_task *dmt = task_new(DM_DEVICE_INFO);
	struct dm_info di;
	const char *uuid;
	int ret;

	memset(info, 0, sizeof(*info));
	if (!dmt)
		return TASK_NEW_ERR;
	if (!dm_task_set_name(dmt, name)) {
		ret = -EINVAL;
		goto out;
	}
	ret = run_task(dmt, false);
	if (ret)
		goto out;
	if (!dm_task_get_info(dmt, &di) || !di.exists) {
		ret = -ENODEV;
		goto out;
	}
	info->exists = true;
	info->suspended = di.suspended;
	info->live_table = di.live_table;
	info->inactive_table = di.inactive_table;
	info->open_count = di.open_count;
	info->major = di.major;
	info->minor = di.minor;
	uuid = dm_task_get_uuid(dmt);
	snprintf(info->uuid, sizeof(info->uuid), "%s", uuid ?: "");
	if (ours_only && strncmp(info->uuid, DMT_UUID_PREFIX,
				 strlen(DMT_UUID_PREFIX))) {
		ret = -ENOENT;
		goto out;
	}
	ret = get_params(DM_DEVICE_TABLE, name, info->target, sizeof(info->target),
			 &info->len, info->table, sizeof(info->table));
	if (!ret)
		ret = get_params(DM_DEVICE_STATUS, name, NULL, 0, NULL,
				 info->status, sizeof(info->status));
out:
	task_free(dmt);
	return ret;
}

int dmt_get_info(const char *name, struct dmt_info *info)
{
	return get_info(name, false, info);
}

int dmt_list(int (*cb)(const char *name, const struct dmt_info *info, void *ctx),
	     void *ctx)
{
	struct dm_task *dmt = task_new(DM_DEVICE_LIST);
	struct dm_names *names;
	struct dmt_info info;
	unsigned int next = 0;
	int ret;

	if (!dmt)
		return TASK_NEW_ERR;
	ret = run_task(dmt, false);
	if (ret)
		goto out;
	names = dm_task_get_names(dmt);
	if (!names || !names->dev)
		goto out;
	do {
		names = (struct dm_names *)((char *)names + next);
		/*
		 * Only ours: other devices' tables are never read. A device
		 * may vanish between LIST and INFO: skip it.
		 */
		if (get_info(names->name, true, &info) == 0) {
			ret = cb(names->name, &info, ctx);
			if (ret < 0)
				goto out;
		}
		next = names->next;
	} while (next);
	ret = 0;
out:
	task_free(dmt);
	return ret;
}

int dmt_parse_status(const char *status, struct dmt_counters *c)
{
	memset(c, 0, sizeof(*c));
	if (sscanf(status, "%15s %llu %llu %llu %llu %llu %llu", c->key_state,
		   &c->reads, &c->read_bytes, &c->writes, &c->write_bytes,
		   &c->crypto_errors, &c->io_errors) != 7)
		return -EINVAL;
	return 0;
}
