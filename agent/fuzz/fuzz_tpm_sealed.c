// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz_tpm_sealed.c - libFuzzer target for what lib/tpm.c reads without a
 * TPM: the PCR list parser (tpm_pcrs_parse, lists come from clients) and
 * the sealed-object files <dir>/<name>.pub, .priv and .pcrs that
 * tpm_sealed_load() reads back from the state directory (it only
 * unmarshals; no TPM is involved).
 *
 * Input: a 2-byte big-endian length of the .pub file, one of the .priv
 * file, the two files, then the .pcrs file (lengths are cut to what is
 * there). The files are written to a scratch directory in /dev/shm and
 * loaded. Checks: a PCR list (the .pcrs line without "sha256:") that parses
 * holds only digits and commas, names PCRs 0..23, formats to a canonical
 * list that parses to the same mask, and tpm_pcrs_format() never writes
 * past a short buffer; any mask formats and parses back. A load gives 0 or
 * -EBADMSG, and nothing on failure; what loads has exactly the file
 * bytes, a keyedhash TPM2B_PUBLIC and TPM2B_PRIVATE that re-marshal to
 * those bytes, and saves to files that load to the same object, the .pcrs
 * one written in canonical form. Seeds: tests/fuzz-corpus/fuzz_tpm_sealed/.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tss2/tss2_mu.h>

#include "lib/atomicfile.h"
#include "lib/tpm.h"

#define PCR_ALL ((1u << 24) - 1)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir_in[64], dir_out[64];

static void cleanup(void)
{
	static const char *const ext[] = { "pub", "priv", "pcrs" };
	char path[128];
	size_t i;

	for (i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/obj.%s", dir_in, ext[i]);
		unlink(path);
		snprintf(path, sizeof(path), "%s/obj.%s", dir_out, ext[i]);
		unlink(path);
	}
	rmdir(dir_in);
	rmdir(dir_out);
}

static void setup(void)
{
	const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";

	snprintf(dir_in, sizeof(dir_in), "%s/fuzz-tpm-in.XXXXXX", base);
	snprintf(dir_out, sizeof(dir_out), "%s/fuzz-tpm-out.XXXXXX", base);
	if (!mkdtemp(dir_in) || !mkdtemp(dir_out))
		abort();
	atexit(cleanup);
}

static void put(const char *ext, const uint8_t *p, size_t len)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "%s/obj.%s", dir_in, ext);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || (len && write(fd, p, len) != (ssize_t)len) || close(fd))
		abort();
}

static void check_pcr_list(const char *list)
{
	char buf[96], *exact;
	uint32_t mask, back;
	size_t n, k;

	if (tpm_pcrs_parse(list, &mask) != 0)
		return;
	if (strspn(list, "0123456789,") != strlen(list) || (mask & ~PCR_ALL))
		abort();
	if (tpm_pcrs_format(mask, buf, sizeof(buf)) ||
	    tpm_pcrs_parse(buf, &back) || back != mask)
		abort();
	/* Canonical: at most as long as what was given. */
	n = strlen(buf);
	if (n > strlen(list))
		abort();
	/* Exact-size buffers, so ASan sees any write past the end. */
	for (k = 1; k <= n + 1; k++) {
		exact = malloc(k);
		if (!exact)
			return;
		if (tpm_pcrs_format(mask, exact, k) !=
		    (k > n ? 0 : -ENAMETOOLONG))
			abort();
		if (k > n && strcmp(exact, buf))
			abort();
		free(exact);
	}
}

static void check_mask(uint32_t mask)
{
	char buf[96];
	uint32_t back;

	mask &= PCR_ALL;
	if (tpm_pcrs_format(mask, buf, sizeof(buf)) ||
	    tpm_pcrs_parse(buf, &back) || back != mask)
		abort();
}

static void same(const struct tpm_sealed *a, const struct tpm_sealed *b)
{
	if (a->pub_len != b->pub_len || a->priv_len != b->priv_len ||
	    a->pcr_mask != b->pcr_mask ||
	    memcmp(a->pub, b->pub, a->pub_len) ||
	    memcmp(a->priv, b->priv, a->priv_len))
		abort();
}

static void remarshals(const struct tpm_sealed *s)
{
	TPM2B_PUBLIC pub = { 0 };
	TPM2B_PRIVATE priv = { 0 };
	uint8_t buf[sizeof(TPM2B_PUBLIC) + sizeof(TPM2B_PRIVATE)];
	size_t off = 0;

	if (Tss2_MU_TPM2B_PUBLIC_Unmarshal(s->pub, s->pub_len, &off, &pub) ||
	    off != s->pub_len || pub.publicArea.type != TPM2_ALG_KEYEDHASH)
		abort();
	off = 0;
	if (Tss2_MU_TPM2B_PUBLIC_Marshal(&pub, buf, sizeof(buf), &off) ||
	    off != s->pub_len || memcmp(buf, s->pub, off))
		abort();
	off = 0;
	if (Tss2_MU_TPM2B_PRIVATE_Unmarshal(s->priv, s->priv_len, &off,
					    &priv) ||
	    off != s->priv_len)
		abort();
	off = 0;
	if (Tss2_MU_TPM2B_PRIVATE_Marshal(&priv, buf, sizeof(buf), &off) ||
	    off != s->priv_len || memcmp(buf, s->priv, off))
		abort();
}

static void check_pcrs_file(uint32_t mask)
{
	char path[128], want[110], list[96];
	uint8_t *got = NULL;
	size_t len = 0;

	if (tpm_pcrs_format(mask, list, sizeof(list)))
		abort();
	snprintf(want, sizeof(want), mask ? "sha256:%s\n" : "none\n", list);
	snprintf(path, sizeof(path), "%s/obj.pcrs", dir_out);
	if (atomicfile_read(path, 128, &got, &len) || len != strlen(want) ||
	    memcmp(got, want, len))
		abort();
	free(got);
}

static void check_load(const uint8_t *pub, size_t pub_len,
		       const uint8_t *priv, size_t priv_len,
		       const uint8_t *pcrs, size_t pcrs_len)
{
	struct tpm_sealed s, t;
	int r;

	put("pub", pub, pub_len);
	put("priv", priv, priv_len);
	put("pcrs", pcrs, pcrs_len);
	r = tpm_sealed_load(dir_in, "obj", &s);
	if (r != 0) {
		if ((r != -EBADMSG && r != -ENOMEM) || s.pub || s.priv ||
		    s.pub_len || s.priv_len || s.pcr_mask)
			abort();
		return;
	}
	if (s.pub_len != pub_len || s.priv_len != priv_len ||
	    memcmp(s.pub, pub, pub_len) || memcmp(s.priv, priv, priv_len) ||
	    (s.pcr_mask & ~PCR_ALL))
		abort();
	remarshals(&s);
	if (tpm_sealed_save(dir_out, "obj", &s) ||
	    tpm_sealed_load(dir_out, "obj", &t))
		abort();
	same(&s, &t);
	check_pcrs_file(s.pcr_mask);
	tpm_sealed_free(&t);
	tpm_sealed_free(&s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t pub_len, priv_len, rest, n;
	const uint8_t *p, *pcrs;
	char list[256];

	if (!dir_in[0])
		setup();
	if (size < 4 || size > 4 + 2 * 65535 + 256)
		return 0;
	check_mask((uint32_t)data[0] << 24 | (uint32_t)data[1] << 16 |
		   (uint32_t)data[2] << 8 | data[3]);
	pub_len = (size_t)data[0] << 8 | data[1];
	priv_len = (size_t)data[2] << 8 | data[3];
	p = data + 4;
	rest = size - 4;
	if (pub_len > rest)
		pub_len = rest;
	if (priv_len > rest - pub_len)
		priv_len = rest - pub_len;
	rest -= pub_len + priv_len;

	/* The .pcrs line as a client's PCR list: up to a newline or NUL. */
	pcrs = p + pub_len + priv_len;
	for (n = 0; n < rest && n < sizeof(list) - 1; n++) {
		if (pcrs[n] == '\n' || !pcrs[n])
			break;
		list[n] = (char)pcrs[n];
	}
	list[n] = '\0';
	check_pcr_list(strncmp(list, "sha256:", 7) ? list : list + 7);
	check_load(p, pub_len, p + pub_len, priv_len, pcrs, rest);
	return 0;
}
