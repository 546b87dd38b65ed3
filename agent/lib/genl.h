/* SPDX-License-Identifier: GPL-2.0 */
/*
 * genl.h - client of the dm-vmcrypt generic netlink family "vmcrypt"
 * (include/uapi/linux/vmcrypt.h), on libnl-genl-3. Used by
 * `vmcryptctl kernel` and the VM tests; the daemon can use the event
 * subscription to follow devices and key state.
 *
 * Every function returns 0 or a negative errno and prints nothing:
 *   -ENOENT  the family is not registered (module not loaded)
 *   -EPERM   the caller lacks CAP_NET_ADMIN
 *   -ENODEV  vmc_genl_dev_get(): no device of that name
 */
#ifndef VMCRYPT_LIB_GENL_H
#define VMCRYPT_LIB_GENL_H

#include <stdint.h>

#define VMC_GENL_MAX_LIST 8
#define VMC_GENL_NAME_LEN 128
#define VMC_GENL_DESC_LEN 4096

struct vmc_features {
	unsigned int family_version;	/* generic netlink family version */
	uint32_t version[3];		/* target version major.minor.patch */
	char ciphers[VMC_GENL_MAX_LIST][64];
	unsigned int n_ciphers;
	char options[VMC_GENL_MAX_LIST][64];
	unsigned int n_options;
	uint32_t key_sizes[VMC_GENL_MAX_LIST];
	unsigned int n_key_sizes;
	char driver[VMC_GENL_NAME_LEN];	/* driver= module parameter */
};

struct vmc_dev_info {
	char name[VMC_GENL_NAME_LEN];
	char key_desc[VMC_GENL_DESC_LEN];
	uint32_t key_size;
	uint32_t key_state;		/* enum vmcrypt_key_state */
	uint32_t sector_size;
	uint64_t iv_offset;
	uint64_t offset;
	uint64_t length;
	char driver[VMC_GENL_NAME_LEN];
	int async;
	uint64_t reads, read_bytes;
	uint64_t writes, write_bytes;
	uint64_t crypto_errors, io_errors;
	int live;	/* 1: the live table, 0: loaded or replaced, -1: not said */
};

struct vmc_event {
	uint32_t type;			/* enum vmcrypt_event_type */
	char name[VMC_GENL_NAME_LEN];
	char key_desc[VMC_GENL_DESC_LEN];	/* empty for IO_ERROR */
	uint64_t errors;		/* IO_ERROR only */
};

struct vmc_genl;

/* Connect and resolve the family. */
int vmc_genl_open(struct vmc_genl **out);
void vmc_genl_close(struct vmc_genl *g);

int vmc_genl_get_features(struct vmc_genl *g, struct vmc_features *f);

/* Dump every device; stops early and returns @cb's value if non-zero. */
int vmc_genl_dev_dump(struct vmc_genl *g,
		      int (*cb)(const struct vmc_dev_info *d, void *arg),
		      void *arg);
/* One device by dm name. */
int vmc_genl_dev_get(struct vmc_genl *g, const char *name,
		     struct vmc_dev_info *d);

/* Join the "events" group on a socket of its own. */
int vmc_genl_subscribe(struct vmc_genl *g);
/* The event socket, non-blocking, to poll() for POLLIN. */
int vmc_genl_event_fd(struct vmc_genl *g);
/*
 * Read what is queued on the event socket and call @cb per event; 0 when
 * nothing more is queued, @cb's value if non-zero.
 */
int vmc_genl_read_events(struct vmc_genl *g,
			 int (*cb)(const struct vmc_event *e, void *arg),
			 void *arg);

const char *vmc_event_type_name(uint32_t type);
const char *vmc_key_state_name(uint32_t state);

#endif
