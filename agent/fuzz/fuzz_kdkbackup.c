// SPDX-License-Identifier: GPL-2.0
/*
 * fuzz_kdkbackup.c - libFuzzer target for the KDK backup importer
 * (kdkbackup_import in lib/kdkbackup.c): the PKCS#12 file an operator
 * restores from is untrusted bytes.
 *
 * A mutated file hardly ever keeps a valid MAC, so each input is tried three
 * ways: as the whole file; as the AuthenticatedSafe (the list of safes) of a
 * file MACed here with the right passphrase; and as the plaintext
 * SafeContents (the bags) of a file encrypted and MACed here, which reaches
 * the secret-bag checks behind the MAC and the decryption. What this target
 * builds costs one PBKDF2 round. Counts an input names itself are bounded
 * by the library (KDKBACKUP_MAX_ITER, refused before deriving), so no input
 * hangs a run, but one naming a count near the bound is slow here: OpenSSL
 * allocates in every PBKDF2 round and ASan makes that costly (600000
 * rounds take ~1.4 s, the bound ~5 s). The seeds use two rounds; a real
 * export (KDKBACKUP_ITER) would cost ~6 s per run, so none is among them.
 *
 * Any input gives 0, -EBADMSG, -EKEYREJECTED or -ENOMEM and no key unless
 * 0; a file MACed here is never refused as a wrong passphrase; a file that
 * opens holds a 32-byte key and a non-empty provider name, and does not
 * open with another passphrase. Seeds: tests/fuzz-corpus/fuzz_kdkbackup/
 * (made with the passphrase below and two iterations).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pkcs12.h>

#include "lib/kdkbackup.h"
#include "lib/secmem.h"

#define PASS "fuzz-passphrase"
#define WRONG "fuzz-passphrasf"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct secbuf pass, wrong;
/* An encrypted safe whose ciphertext each input replaces. */
static PKCS7 *tmpl;

static void setup(void)
{
	STACK_OF(PKCS12_SAFEBAG) *none = sk_PKCS12_SAFEBAG_new_null();

	if (!none || secbuf_dup(&pass, PASS, strlen(PASS)) ||
	    secbuf_dup(&wrong, WRONG, strlen(WRONG)))
		abort();
	/* A cipher NID selects PBES2 + PBKDF2, as kdkbackup_export does. */
	tmpl = PKCS12_pack_p7encdata_ex(NID_aes_256_cbc, PASS, -1, NULL, 0, 1,
					none, NULL, NULL);
	if (!tmpl)
		abort();
	sk_PKCS12_SAFEBAG_free(none);
}

static void check(const uint8_t *der, size_t len, bool maced_here)
{
	struct secbuf kdk = { 0 };
	char prov[65];
	int r;

	memset(prov, 0x55, sizeof(prov));
	r = kdkbackup_import(der, len, &pass, &kdk, prov, sizeof(prov));
	if (r != 0) {
		if (kdk.data || kdk.len)
			abort();	/* a refusal hands out no key */
		if (r != -EBADMSG && r != -EKEYREJECTED && r != -ENOMEM)
			abort();
		if (r == -EKEYREJECTED && maced_here)
			abort();	/* the MAC is right by construction */
		return;
	}
	if (!kdk.data || kdk.len != 32 || !memchr(prov, '\0', sizeof(prov)) ||
	    !prov[0])
		abort();
	secbuf_free(&kdk);
	r = kdkbackup_import(der, len, &wrong, &kdk, prov, sizeof(prov));
	if (r != -EKEYREJECTED || kdk.data)
		abort();
}

/* MAC @safes with the right passphrase and import the file. */
static void check_safes(STACK_OF(PKCS7) *safes)
{
	unsigned char *der = NULL;
	PKCS12 *p12;
	int n;

	p12 = PKCS12_add_safes(safes, NID_pkcs7_data);
	if (!p12)
		return;
	if (PKCS12_set_mac(p12, PASS, -1, NULL, 0, 1, EVP_sha256())) {
		n = i2d_PKCS12(p12, &der);
		if (n > 0)
			check(der, (size_t)n, true);
	}
	OPENSSL_free(der);
	PKCS12_free(p12);
}

static void as_authsafes(const uint8_t *data, size_t size)
{
	const unsigned char *p = data;
	STACK_OF(PKCS7) *safes;

	safes = (STACK_OF(PKCS7) *)ASN1_item_d2i(NULL, &p, (long)size,
				ASN1_ITEM_rptr(PKCS12_AUTHSAFES));
	if (!safes)
		return;
	check_safes(safes);
	sk_PKCS7_pop_free(safes, PKCS7_free);
}

static void as_safecontents(const uint8_t *data, size_t size)
{
	PKCS7_ENC_CONTENT *ec = tmpl->d.encrypted->enc_data;
	STACK_OF(PKCS7) *safes;
	unsigned char *ct = NULL;
	int ctlen = 0;

	if (!PKCS12_pbe_crypt_ex(ec->algorithm, PASS, -1, data, (int)size,
				 &ct, &ctlen, 1, NULL, NULL))
		return;
	if (ASN1_OCTET_STRING_set(ec->enc_data, ct, ctlen)) {
		safes = sk_PKCS7_new_null();
		if (safes && sk_PKCS7_push(safes, tmpl))
			check_safes(safes);
		sk_PKCS7_free(safes);
	}
	OPENSSL_free(ct);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!tmpl)
		setup();
	if (size > KDKBACKUP_MAX_FILE)
		return 0;
	check(data, size, false);
	as_authsafes(data, size);
	as_safecontents(data, size);
	return 0;
}
