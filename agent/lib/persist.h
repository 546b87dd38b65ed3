/* SPDX-License-Identifier: GPL-2.0 */
/*
 * persist.h - the TPM-sealed KEK cache that lets encrypted disks open after
 * a host restart while the KMS is unreachable.
 *
 * On disk, under STATE_DIR/persist/ (0700, root):
 *   key.pub, key.priv, key.pcrs   the 256-bit persistence key, sealed in the
 *                                 TPM (tpm.h), optionally PCR-bound
 *   cache                         the KEK cache, AES-256-GCM under that key
 *
 * Cache file format, version 1 (all integers big-endian):
 *   offset size
 *    0      8    magic "VMCKEKC\0"
 *    8      2    version = 1
 *   10      2    flags = 0 (reserved, must be 0)
 *   12      4    header length = 40
 *   16      8    generation: incremented at each write
 *   24     12    GCM nonce, fresh random bytes at each write
 *   36      4    ciphertext length N
 *   40      N    ciphertext (AAD = the 40 header bytes)
 *   40+N   16    GCM tag
 * Plaintext:
 *   4    entry count
 *   then per entry: 1 provider length (1..64), provider name,
 *                   2 KEK id length (1..1024), KEK id,
 *                   2 key length (16..64), key bytes,
 *                   8 time added (Unix seconds)
 * Anything else (trailing bytes, bad lengths, duplicates, a wrong tag) is
 * -EBADMSG: the file is untrusted input until the tag verifies, and even
 * then it is parsed strictly.
 */
#ifndef VMCRYPT_PERSIST_H
#define VMCRYPT_PERSIST_H

#include <stddef.h>
#include <stdint.h>

#include "lib/secmem.h"

#define PERSIST_DIR "persist"
#define PERSIST_CACHE "cache"
#define PERSIST_KEY "key"
#define PERSIST_MAGIC "VMCKEKC"
#define PERSIST_VERSION 1
#define PERSIST_HDR_LEN 40
#define PERSIST_TAG_LEN 16
#define PERSIST_KEY_LEN 32
#define PERSIST_MAX_ENTRIES 100000
#define PERSIST_MAX_FILE (64u << 20)
#define PERSIST_PROVIDER_MAX 64
#define PERSIST_ID_MAX 1024

struct persist;

/* One decoded entry, for callers that list the cache (no key bytes). */
struct persist_entry_info {
	const char *provider;
	const char *kek_id;
	uint64_t added;
};

/*
 * Enable: create a persistence key, seal it in the TPM at @tcti (bound to
 * the sha256 PCRs in @pcr_mask, 0 = none) and write an empty cache, all in
 * a fresh directory renamed into place. -EEXIST when already enabled,
 * -ENODEV without a TPM (tpm.h errors otherwise). 0 or -errno; @err gets
 * the TPM's text when it failed.
 */
int persist_enable(const char *state_dir, const char *tcti, uint32_t pcr_mask,
		   char *err, size_t errlen);

/*
 * Disable: rename the directory away (persistence is off from then on),
 * then shred the cache and sealed blob and remove it. -ENOENT if off. When
 * the rename worked but the wipe did not, the directory left behind is
 * named in @left (else @left is ""); persist_sweep() finishes it.
 */
int persist_disable(const char *state_dir, char *left, size_t leftlen);

/*
 * Shred what an interrupted persist_enable() or persist_disable() left in
 * @state_dir (".persist.new-*", ".persist.disabling-*"), e.g. after a crash,
 * and the temporary files of cache writes cut short in persist/. Count of
 * leftovers wiped in *@wiped; on failure the first one that could not be
 * removed is named in @left. 0 or -errno.
 */
int persist_sweep(const char *state_dir, unsigned int *wiped, char *left,
		  size_t leftlen);

/* Is persistence enabled (the directory exists)? 1, 0, or -errno. */
int persist_enabled(const char *state_dir);

/* PCR mask recorded in key.pcrs, without the TPM. 0 or -errno. */
int persist_pcrs(const char *state_dir, uint32_t *mask);

/*
 * Open: unseal the persistence key and load the cache. -ENOENT when not
 * enabled; TPM_EPCR when the PCRs changed; -EBADMSG for a corrupt blob or
 * cache; TPM_ELOCKOUT; -ENODEV. @err gets details. 0 or -errno.
 */
int persist_open(const char *state_dir, const char *tcti, struct persist **out,
		 char *err, size_t errlen);
void persist_close(struct persist *p);

/*
 * Move STATE_DIR/persist aside to "persist.<suffix>.<time>" (kept, not
 * deleted; persistence is then off). New name in @out. 0 or -errno.
 */
int persist_set_aside(const char *state_dir, const char *suffix, char *out,
		      size_t outlen);

/* Thread-safe accessors on an open cache. */
size_t persist_count(struct persist *p);
/* Copy the cached KEK into a new secbuf; -ENOENT when absent. */
int persist_get(struct persist *p, const char *provider, const char *kek_id,
		struct secbuf *kek);
/*
 * Add or replace an entry and rewrite the cache file (atomically). No
 * write when the identical entry is already there. 0 or -errno.
 */
int persist_put(struct persist *p, const char *provider, const char *kek_id,
		const struct secbuf *kek);
/* Remove every entry of @provider; rewrites the file if any. */
int persist_forget_provider(struct persist *p, const char *provider);
/*
 * Remove every entry whose provider is not one of the @n @names (the
 * providers that still exist); the count goes to *@dropped. Rewrites the
 * file if any. 0 or -errno.
 */
int persist_retain_providers(struct persist *p, const char *const *names,
			     size_t n, size_t *dropped);
/* Call @cb for each entry (no key bytes); stops on a negative return. */
int persist_foreach(struct persist *p,
		    int (*cb)(const struct persist_entry_info *e, void *ctx),
		    void *ctx);

/*
 * The file codec, exposed for tests and the fuzzer: decrypt and parse
 * @len bytes with @key (PERSIST_KEY_LEN) into a new struct persist that is
 * not attached to any directory (persist_put then only changes memory).
 */
int persist_decode(const struct secbuf *key, const uint8_t *buf, size_t len,
		   struct persist **out);
/* Encode @p's entries under @key into a malloc'ed buffer. */
int persist_encode(struct persist *p, const struct secbuf *key,
		   uint8_t **buf, size_t *len);
/* A detached, empty cache (for tests and the fuzzer). */
int persist_new_detached(struct persist **out);

#endif
