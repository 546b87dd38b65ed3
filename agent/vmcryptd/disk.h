/* SPDX-License-Identifier: GPL-2.0 */
/*
 * disk.h - helpers shared by the disk operations of vmcryptd (disk*.c):
 * format, open, close, list, status, lock, unlock, rekey.
 *
 * No open-disk state lives in the daemon: an open disk is a dm device of
 * target "vmcrypt" whose dm UUID is "VMCRYPT-<LUKS UUID>-<name>", and its
 * backing device (or the loop device's backing file) leads back to the
 * LUKS2 header and token. So a restarted daemon sees every open disk.
 *
 * dm, loop and keyring calls are serialised by disk_mutex (libdevmapper
 * keeps global state; recursive, so helpers may take it again); it is
 * never held while a KEK is fetched.
 */
#ifndef VMCRYPTD_DISK_H
#define VMCRYPTD_DISK_H

#include <pthread.h>
#include <stdbool.h>

#include "lib/dmtarget.h"
#include "lib/luks.h"
#include "vmcryptd/daemon.h"

extern pthread_mutex_t disk_mutex;

/* What we know of one open vmcrypt device. */
struct open_disk {
	char name[128];
	struct dmt_info dm;
	char device[64];	/* backing block device, /dev/... */
	char path[4096];	/* the image file for a loop device, else device */
	char luks_uuid[40];
	bool locked;		/* suspended with the key wiped */
};

/*
 * Check that @path is an absolute path to an existing block device or
 * regular file. 0, or -errno after request_error().
 */
int disk_check_path(struct request *rq, const char *path, bool *is_file);

/* Read @path's header, with clear errors for "not a vmcrypt disk". */
int disk_read_header(struct request *rq, const char *path, struct luks_info *info);

/*
 * Block device @path has no exclusive holder (mounted, mapped, held by
 * another program): 0, else -EBUSY (or the open's -errno) with the error
 * set. Another mapping of the same disk (cryptsetup open, say) beside
 * ours would corrupt it.
 */
int disk_check_unclaimed(struct request *rq, const char *path);

/* The open device of LUKS UUID @uuid: 0 with @od filled, -ENOENT if none. */
int disk_find_open_uuid(const char *uuid, struct open_disk *od);

/* Every open vmcrypt disk (malloc'ed array in *@out). 0 or -errno. */
int disk_collect(struct open_disk **out, size_t *n);

/*
 * Bumped by every "lock --all" before it looks at the disks (disk_lock.c);
 * caller holds disk_mutex. An open notes it when it starts and loads no
 * table if one came in meanwhile: an emergency lock must not be followed
 * by a disk that an open still waiting on its KMS then opens unlocked.
 */
unsigned long disk_lock_all_epoch(void);

/* The open vmcrypt device @name: 0, -ENODEV (no such vmcrypt device). */
int disk_find_open_name(const char *name, struct open_disk *od);

/* Fill @od from a dm device's info (backing device, path, LUKS UUID). */
int disk_describe(const char *name, const struct dmt_info *dm, struct open_disk *od);

/*
 * The disk's DEK: the KEK named by the token (memory, provider, persisted
 * cache), unwrapped and verified against the LUKS2 digest. Errors are
 * "disk X is locked: key K not found on provider P" and the like.
 */
int disk_get_dek(struct daemon *d, struct request *rq, const char *path,
		 const struct luks_info *info, struct secbuf *dek);

/* Record a disk event with the token's details; result from rq->error. */
void disk_event(struct daemon *d, struct request *rq, const char *event,
		const char *disk, const struct vmcrypt_token *tok, int ret,
		const char *detail);

/* Key state and counters of an open disk (see dmt_parse_status()). */
#define disk_counters dmt_counters
#define disk_parse_status dmt_parse_status

/* JSON of an open disk (for list/status); new object or NULL. */
struct json_object *disk_to_json(const struct open_disk *od, bool verbose);

#endif
