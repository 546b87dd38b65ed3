/* SPDX-License-Identifier: GPL-2.0 */
/*
 * secmem.h - memory for secrets (KEKs, DEKs, KDKs, persistence keys).
 *
 * Secret buffers are mlocked (never swapped), excluded from core dumps
 * (MADV_DONTDUMP) and wiped before they are freed. Use secmem_alloc() for
 * any buffer that holds key bytes, and the _cleanup_secmem_ / struct
 * secbuf helpers so that every exit path wipes.
 */
#ifndef VMCRYPT_SECMEM_H
#define VMCRYPT_SECMEM_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

/* Scope-based cleanup, systemd style. */
#define _cleanup_(f) __attribute__((cleanup(f)))

static inline void freep(void *p)
{
	free(*(void **)p);
}
#define _cleanup_free_ _cleanup_(freep)

/* A secret buffer: bytes plus length; zeroed and unlocked on free. */
struct secbuf {
	uint8_t *data;
	size_t len;
};

/*
 * Allocate @len zeroed bytes of locked, non-dumpable memory. Returns NULL
 * with errno set on failure (including mlock failure).
 */
void *secmem_alloc(size_t len);
/* Wipe and release memory from secmem_alloc(); NULL is ignored. */
void secmem_free(void *p, size_t len);

/* Allocate @len bytes into @b; 0 or -errno. */
int secbuf_alloc(struct secbuf *b, size_t len);
/* Wipe and free @b and reset it to empty; safe on an empty secbuf. */
void secbuf_free(struct secbuf *b);
/* Copy @len bytes from @src into a new secbuf; 0 or -errno. */
int secbuf_dup(struct secbuf *b, const void *src, size_t len);

static inline void secbuf_freep(struct secbuf *b)
{
	secbuf_free(b);
}
#define _cleanup_secbuf_ _cleanup_(secbuf_freep)

/* Wipe @len bytes at @p in a way the compiler cannot elide. */
void secure_wipe(void *p, size_t len);

/* Constant-time comparison: 0 when equal. */
int secure_memcmp(const void *a, const void *b, size_t len);

/*
 * Process-wide hardening for programs that hold secrets: no core dumps,
 * not ptrace-attachable by non-root (PR_SET_DUMPABLE 0). 0 or -errno.
 */
int secmem_harden_process(void);

#endif
