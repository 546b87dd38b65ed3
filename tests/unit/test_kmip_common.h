/* SPDX-License-Identifier: GPL-2.0 */
/*
 * test_kmip_common.h - helpers shared by the KMIP unit tests: locate and read
 * the PyKMIP wire captures (/work/shared/testdata/kmip-pykmip, or
 * $VMCRYPT_KMIP_TESTDATA) and turn their hex into bytes.
 */
#ifndef VMCRYPT_TEST_KMIP_COMMON_H
#define VMCRYPT_TEST_KMIP_COMMON_H

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KMIP_TESTDATA_DEFAULT "/work/shared/testdata/kmip-pykmip"

static inline const char *kmip_testdata_dir(void)
{
	const char *d = getenv("VMCRYPT_KMIP_TESTDATA");

	return d && *d ? d : KMIP_TESTDATA_DEFAULT;
}

/* Read a whole file into a NUL-terminated malloc'ed buffer. */
static inline char *kmip_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t n = 0, cap = 0;

	if (!f)
		return NULL;
	for (;;) {
		size_t got;

		if (n + 4096 + 1 > cap) {
			char *p;

			cap = cap ? cap * 2 : 8192;
			p = realloc(buf, cap);
			if (!p) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = p;
		}
		got = fread(buf + n, 1, 4096, f);
		n += got;
		if (got < 4096)
			break;
	}
	fclose(f);
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

/* Hex text (whitespace ignored) to bytes; NULL on bad hex. */
static inline uint8_t *kmip_unhex(const char *hex, size_t *len)
{
	size_t n = strlen(hex), k = 0;
	uint8_t *out = malloc(n / 2 + 1);
	int hi = -1;

	if (!out)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)hex[i], v;

		if (isspace(c))
			continue;
		if (!isxdigit(c)) {
			free(out);
			return NULL;
		}
		v = isdigit(c) ? c - '0' : (tolower(c) - 'a' + 10);
		if (hi < 0) {
			hi = v;
		} else {
			out[k++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	if (hi >= 0) {
		free(out);
		return NULL;
	}
	*len = k;
	return out;
}

/* Bytes of capture NAME ("kmip14_02_get.resp") or NULL. */
static inline uint8_t *kmip_capture(const char *name, size_t *len)
{
	char path[512];
	char *hex;
	uint8_t *b;

	snprintf(path, sizeof(path), "%s/%s.hex", kmip_testdata_dir(), name);
	hex = kmip_read_file(path, NULL);
	if (!hex)
		return NULL;
	b = kmip_unhex(hex, len);
	free(hex);
	return b;
}

/*
 * Under SAN=1, LeakSanitizer's check at exit never runs in the harness's
 * forked children (they _exit): tests call this themselves. Returns
 * non-zero if leaks were found (and printed).
 */
#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/lsan_interface.h>
static inline int kmip_leak_check(void)
{
	return __lsan_do_recoverable_leak_check();
}
#else
static inline int kmip_leak_check(void)
{
	return 0;
}
#endif

#endif
