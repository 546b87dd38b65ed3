/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dmtarget.h - device-mapper devices of target type "vmcrypt", through
 * libdevmapper: create (load + resume), suspend, resume, message, remove,
 * info/table/status, list.
 *
 * Our devices carry a dm UUID "VMCRYPT-<LUKS UUID, no dashes>-<name>"
 * (cryptsetup uses "CRYPT-LUKS2-..."), which is how the daemon recognises
 * them again after a restart: all open-disk state lives in the kernel.
 */
#ifndef VMCRYPT_DMTARGET_H
#define VMCRYPT_DMTARGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DMT_TARGET "vmcrypt"
#define DMT_UUID_PREFIX "VMCRYPT-"

/* One vmcrypt table line (Documentation/target.rst). */
struct dmt_table {
	uint64_t len;		/* 512-byte sectors */
	const char *key_desc;	/* logon key description */
	unsigned int key_size;	/* bytes: 32 or 64 */
	uint64_t iv_offset;
	const char *dev;	/* backing device path */
	uint64_t offset;	/* 512-byte sectors */
	uint32_t sector_size;	/* 512..4096 */
	bool iv_large_sectors;
	bool allow_discards;
};

struct dmt_info {
	bool exists;
	bool suspended;
	bool live_table;	/* false: created, never given its table */
	bool inactive_table;	/* a table loaded but not resumed */
	int open_count;
	uint32_t major, minor;
	char uuid[130];
	char target[32];	/* target type of the first (only) target */
	uint64_t len;		/* sectors */
	char table[512];	/* vmcrypt TABLE params (a key reference); empty
				 * for other targets, whose tables may hold keys */
	char status[512];	/* vmcrypt STATUS params; empty for others */
};

/*
 * libdevmapper is not thread-safe (one control fd, one log callback per
 * process), and libcryptsetup drives it too: freeing the last
 * crypt_device closes that fd and resets the log callback
 * (dm_backend_exit), which fails a dm ioctl running in another thread
 * with EBADF. So every libdevmapper task here and every crypt_device's
 * life in lib/luks.c runs under this one recursive, process-wide lock.
 * It is the innermost lock: callers may hold theirs (the daemon's
 * disk_mutex), but nothing run under it takes one of the daemon's locks.
 */
void dmt_lib_lock(void);
void dmt_lib_unlock(void);

/* Format the parameters of @t (after "vmcrypt"). 0 or -ENAMETOOLONG/-EINVAL. */
int dmt_format_params(const struct dmt_table *t, char *buf, size_t len);

/* The dm UUID of disk @luks_uuid mapped as @name into @buf. */
int dmt_make_uuid(const char *luks_uuid, const char *name, char *buf, size_t len);

/*
 * Create /dev/mapper/@name with table @t (the logon key must be reachable
 * by the calling thread). 0; -EEXIST (name taken); other -errno from the
 * kernel (the target's refusal text is in the kernel log).
 */
int dmt_create(const char *name, const char *uuid, const struct dmt_table *t);

/* Remove @name; -EBUSY when it is open (mounted, used by a VM). */
int dmt_remove(const char *name);

/* Suspend (flushing in-flight I/O; new I/O is held) and resume. */
int dmt_suspend(const char *name);
int dmt_resume(const char *name);
/* Drop @name's inactive table (DM_DEVICE_CLEAR); the live one stays. */
int dmt_clear(const char *name);

/* Send a target message ("key wipe", "key set ..."). 0 or -errno. */
int dmt_message(const char *name, const char *msg);

/* Fill @info for @name; -ENODEV when no such device. */
int dmt_get_info(const char *name, struct dmt_info *info);

/*
 * Call @cb for every dm device whose UUID starts with DMT_UUID_PREFIX.
 * Stops on a negative return of @cb and returns it. 0 or -errno.
 */
int dmt_list(int (*cb)(const char *name, const struct dmt_info *info, void *ctx),
	     void *ctx);

/* The vmcrypt INFO status: "<key state> r rb w wb crypto_errors io_errors". */
struct dmt_counters {
	char key_state[16];
	unsigned long long reads, read_bytes, writes, write_bytes;
	unsigned long long crypto_errors, io_errors;
};
int dmt_parse_status(const char *status, struct dmt_counters *c);

/* Route libdevmapper's messages to the debug log (call once). */
void dmt_init_logging(void);

#endif
