/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * vmcrypt.h - userspace API of dm-vmcrypt: the generic netlink family
 * "vmcrypt" shared by the kernel module (kernel/genl.c) and the agent
 * (agent/lib/genl.c).
 *
 * Family "vmcrypt", version VMCRYPT_GENL_VERSION (1). Every command needs
 * CAP_NET_ADMIN in the initial user namespace (GENL_ADMIN_PERM), and so
 * does joining the multicast group. The family grows only by appending
 * attributes and commands; the version stays 1. Key bytes never travel
 * over this family: keys reach the kernel through the logon keyring and
 * messages only carry the key's description.
 *
 * VMCRYPT_CMD_GET_FEATURES (doit, no attributes in the request)
 *   reply:
 *     VMCRYPT_A_VERSION_MAJOR       u32   target version, e.g. 1
 *     VMCRYPT_A_VERSION_MINOR       u32   e.g. 0
 *     VMCRYPT_A_VERSION_PATCH       u32   e.g. 0
 *     VMCRYPT_A_CIPHERS             nest  one NLA_STRING per cipher, type 1..n
 *                                         ("aes-xts-plain64")
 *     VMCRYPT_A_OPTIONS             nest  one NLA_STRING per table option,
 *                                         type 1..n ("sector_size",
 *                                         "iv_large_sectors", "allow_discards")
 *     VMCRYPT_A_KEY_SIZES           nest  one u32 per accepted key size in
 *                                         bytes, type 1..n (32, 64)
 *     VMCRYPT_A_CRYPTO_DRIVER       string the module's driver= parameter
 *                                         (empty: default selection)
 *
 * VMCRYPT_CMD_DEV_GET
 *   doit request:  VMCRYPT_A_DEV_NAME (required)   -> one device message
 *   dumpit request: no attributes                  -> one message per device
 *   reply (per device, a target instance of a live or loaded table):
 *     VMCRYPT_A_DEV_NAME            string dm device name
 *     VMCRYPT_A_DEV_KEY_DESC        string description of the logon key
 *     VMCRYPT_A_DEV_KEY_SIZE        u32    key size in bytes (32 or 64)
 *     VMCRYPT_A_DEV_KEY_STATE       u32    enum vmcrypt_key_state
 *     VMCRYPT_A_DEV_SECTOR_SIZE     u32    encryption sector size in bytes
 *     VMCRYPT_A_DEV_IV_OFFSET       u64    iv_offset, 512-byte sectors
 *     VMCRYPT_A_DEV_OFFSET          u64    offset on the backing device
 *     VMCRYPT_A_DEV_LENGTH          u64    length of the target, 512-byte sectors
 *     VMCRYPT_A_DEV_CRYPTO_DRIVER   string driver name of the transform
 *     VMCRYPT_A_DEV_CRYPTO_ASYNC    u8     1 if that driver is asynchronous
 *     VMCRYPT_A_DEV_READS           u64    completed read requests
 *     VMCRYPT_A_DEV_READ_BYTES      u64    bytes read and decrypted
 *     VMCRYPT_A_DEV_WRITES          u64    completed write requests
 *     VMCRYPT_A_DEV_WRITE_BYTES     u64    bytes encrypted and written
 *     VMCRYPT_A_DEV_CRYPTO_ERRORS   u64    requests failed by the cipher
 *     VMCRYPT_A_DEV_IO_ERRORS       u64    requests failed by the backing
 *                                          device or for misalignment
 *     VMCRYPT_A_DEV_LIVE            u8     1: the device's live table; 0: a
 *                                          table loaded and not yet resumed,
 *                                          or one a reload has replaced
 *   The doit reply is the live table's first vmcrypt line if there is one,
 *   else the first line of the table loaded first.
 *
 * Multicast group "events" (VMCRYPT_MCGRP_EVENTS), command VMCRYPT_CMD_EVENT:
 *     VMCRYPT_A_EVENT_TYPE          u32    enum vmcrypt_event_type
 *     VMCRYPT_A_DEV_NAME            string dm device name
 *     VMCRYPT_A_DEV_KEY_DESC        string key description (all but IO_ERROR)
 *     VMCRYPT_A_EVENT_ERRORS        u64    IO_ERROR only: errors since the
 *                                          previous IO_ERROR event of this
 *                                          device (events are rate-limited)
 *
 * u64 attributes are padded with VMCRYPT_A_PAD.
 */
#ifndef _UAPI_LINUX_VMCRYPT_H
#define _UAPI_LINUX_VMCRYPT_H

#define VMCRYPT_GENL_NAME	"vmcrypt"
#define VMCRYPT_GENL_VERSION	1
#define VMCRYPT_MCGRP_EVENTS	"events"

/*
 * The longest logon key description a table may name (the keyring allows
 * 4095): every device's attributes then fit one NLMSG_GOODSIZE message.
 */
#define VMCRYPT_KEY_DESC_MAX	1024

enum vmcrypt_cmd {
	VMCRYPT_CMD_UNSPEC,
	VMCRYPT_CMD_GET_FEATURES,
	VMCRYPT_CMD_DEV_GET,
	VMCRYPT_CMD_EVENT,
	__VMCRYPT_CMD_MAX
};

#define VMCRYPT_CMD_MAX (__VMCRYPT_CMD_MAX - 1)

enum vmcrypt_attr {
	VMCRYPT_A_UNSPEC,
	VMCRYPT_A_PAD,
	VMCRYPT_A_VERSION_MAJOR,
	VMCRYPT_A_VERSION_MINOR,
	VMCRYPT_A_VERSION_PATCH,
	VMCRYPT_A_CIPHERS,
	VMCRYPT_A_OPTIONS,
	VMCRYPT_A_KEY_SIZES,
	VMCRYPT_A_CRYPTO_DRIVER,
	VMCRYPT_A_DEV_NAME,
	VMCRYPT_A_DEV_KEY_DESC,
	VMCRYPT_A_DEV_KEY_SIZE,
	VMCRYPT_A_DEV_KEY_STATE,
	VMCRYPT_A_DEV_SECTOR_SIZE,
	VMCRYPT_A_DEV_IV_OFFSET,
	VMCRYPT_A_DEV_OFFSET,
	VMCRYPT_A_DEV_LENGTH,
	VMCRYPT_A_DEV_CRYPTO_DRIVER,
	VMCRYPT_A_DEV_CRYPTO_ASYNC,
	VMCRYPT_A_DEV_READS,
	VMCRYPT_A_DEV_READ_BYTES,
	VMCRYPT_A_DEV_WRITES,
	VMCRYPT_A_DEV_WRITE_BYTES,
	VMCRYPT_A_DEV_CRYPTO_ERRORS,
	VMCRYPT_A_DEV_IO_ERRORS,
	VMCRYPT_A_EVENT_TYPE,
	VMCRYPT_A_EVENT_ERRORS,
	VMCRYPT_A_DEV_LIVE,
	__VMCRYPT_A_MAX
};

#define VMCRYPT_A_MAX (__VMCRYPT_A_MAX - 1)

enum vmcrypt_key_state {
	VMCRYPT_KEY_SET = 1,	/* the transform holds the key */
	VMCRYPT_KEY_WIPED,	/* wiped by "key wipe"; resume refused */
};

enum vmcrypt_event_type {
	VMCRYPT_EVENT_DEV_CREATED = 1,	/* a target instance was constructed */
	VMCRYPT_EVENT_DEV_REMOVED,	/* a target instance was destroyed */
	VMCRYPT_EVENT_KEY_SET,		/* "key set" message accepted */
	VMCRYPT_EVENT_KEY_WIPED,	/* "key wipe" message accepted */
	VMCRYPT_EVENT_IO_ERROR,		/* I/O or crypto errors (rate-limited) */
};

#endif /* _UAPI_LINUX_VMCRYPT_H */
