// SPDX-License-Identifier: GPL-2.0
/*
 * secmem.c - locked, non-dumpable, wiped-on-free memory for key material.
 *
 * Each secret gets its own anonymous mapping rounded up to whole pages, so
 * that mlock() and MADV_DONTDUMP apply to it alone and freeing it never
 * leaves key bytes in a heap chunk that is reused later.
 */
#include "lib/secmem.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <openssl/crypto.h>

static size_t page_round(size_t len)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);

	if (len == 0)
		len = 1;
	return (len + pg - 1) & ~(pg - 1);
}

void *secmem_alloc(size_t len)
{
	size_t maplen = page_round(len);
	void *p;

	if (len > SIZE_MAX / 2) {
		errno = EOVERFLOW;
		return NULL;
	}
	p = mmap(NULL, maplen, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	if (mlock(p, maplen) < 0) {
		int e = errno;

		munmap(p, maplen);
		errno = e;
		return NULL;
	}
	(void)madvise(p, maplen, MADV_DONTDUMP);
	(void)madvise(p, maplen, MADV_WIPEONFORK);
	return p;
}

void secmem_free(void *p, size_t len)
{
	size_t maplen;

	if (!p)
		return;
	maplen = page_round(len);
	OPENSSL_cleanse(p, maplen);
	munlock(p, maplen);
	munmap(p, maplen);
}

int secbuf_alloc(struct secbuf *b, size_t len)
{
	b->data = secmem_alloc(len);
	if (!b->data) {
		b->len = 0;
		return -errno;
	}
	b->len = len;
	return 0;
}

void secbuf_free(struct secbuf *b)
{
	if (!b)
		return;
	secmem_free(b->data, b->len);
	b->data = NULL;
	b->len = 0;
}

int secbuf_dup(struct secbuf *b, const void *src, size_t len)
{
	int r = secbuf_alloc(b, len);

	if (r < 0)
		return r;
	memcpy(b->data, src, len);
	return 0;
}

void secure_wipe(void *p, size_t len)
{
	if (p && len)
		OPENSSL_cleanse(p, len);
}

int secure_memcmp(const void *a, const void *b, size_t len)
{
	return CRYPTO_memcmp(a, b, len) ? 1 : 0;
}

int secmem_harden_process(void)
{
	struct rlimit rl = { 0, 0 };

	if (setrlimit(RLIMIT_CORE, &rl) < 0)
		return -errno;
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return -errno;
	return 0;
}
