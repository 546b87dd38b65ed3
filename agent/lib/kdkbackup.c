// SPDX-License-Identifier: GPL-2.0
/*
 * kdkbackup.c - PKCS#12 backup and restore of native KDKs with OpenSSL 3
 * (format in kdkbackup.h). The PFX is parsed by OpenSSL; what we accept
 * from it is checked strictly: MAC (HMAC-SHA256) present and valid, one
 * encrypted safe (PBES2 with PBKDF2), iteration counts bounded before any
 * key is derived, exactly one secret bag of the expected type, 32 bytes.
 */
#include "lib/kdkbackup.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pkcs12.h>
#include <openssl/x509.h>

#include "lib/kdf.h"

static void cleanse_bag(PKCS12_SAFEBAG *bag)
{
	const ASN1_TYPE *t = PKCS12_SAFEBAG_get0_bag_obj(bag);

	if (t && t->type == V_ASN1_OCTET_STRING && t->value.octet_string)
		secure_wipe(t->value.octet_string->data,
			    (size_t)t->value.octet_string->length);
}

static void free_bags(STACK_OF(PKCS12_SAFEBAG) *bags)
{
	int i;

	if (!bags)
		return;
	for (i = 0; i < sk_PKCS12_SAFEBAG_num(bags); i++)
		cleanse_bag(sk_PKCS12_SAFEBAG_value(bags, i));
	sk_PKCS12_SAFEBAG_pop_free(bags, PKCS12_SAFEBAG_free);
}

int kdkbackup_export(const struct secbuf *kdk, const char *provider,
		     const struct secbuf *pass, uint8_t **der, size_t *len)
{
	STACK_OF(PKCS12_SAFEBAG) *bags = NULL;
	STACK_OF(PKCS7) *safes = NULL;
	PKCS12_SAFEBAG *bag = NULL;
	PKCS12 *p12 = NULL;
	PKCS7 *p7 = NULL;
	unsigned char *out = NULL;
	char name[128];
	int n, r = -EIO;

	*der = NULL;
	*len = 0;
	if (kdk->len != KDF_KEY_LEN || pass->len < KDKBACKUP_MIN_PASS ||
	    pass->len > KDKBACKUP_MAX_PASS)
		return -EINVAL;
	if (snprintf(name, sizeof(name), KDKBACKUP_NAME_PREFIX "%s",
		     provider) >= (int)sizeof(name))
		return -ENAMETOOLONG;

	bag = PKCS12_SAFEBAG_create_secret(NID_hmacWithSHA256,
					   V_ASN1_OCTET_STRING, kdk->data,
					   (int)kdk->len);
	if (!bag || !PKCS12_add_friendlyname_utf8(bag, name, -1))
		goto out;
	bags = sk_PKCS12_SAFEBAG_new_null();
	if (!bags || !sk_PKCS12_SAFEBAG_push(bags, bag))
		goto out;
	bag = NULL;
	/* A cipher NID (not a PBE one) selects PBES2 + PBKDF2-HMAC-SHA256. */
	p7 = PKCS12_pack_p7encdata_ex(NID_aes_256_cbc, (const char *)pass->data,
				      (int)pass->len, NULL, 0, KDKBACKUP_ITER,
				      bags, NULL, NULL);
	if (!p7)
		goto out;
	safes = sk_PKCS7_new_null();
	if (!safes || !sk_PKCS7_push(safes, p7))
		goto out;
	p7 = NULL;
	p12 = PKCS12_add_safes(safes, NID_pkcs7_data);
	if (!p12)
		goto out;
	if (!PKCS12_set_mac(p12, (const char *)pass->data, (int)pass->len,
			    NULL, 0, KDKBACKUP_ITER, EVP_sha256()))
		goto out;
	n = i2d_PKCS12(p12, &out);
	if (n <= 0)
		goto out;
	*der = malloc((size_t)n);
	if (!*der) {
		r = -ENOMEM;
		goto out;
	}
	memcpy(*der, out, (size_t)n);
	*len = (size_t)n;
	r = 0;
out:
	if (bag) {
		cleanse_bag(bag);
		PKCS12_SAFEBAG_free(bag);
	}
	free_bags(bags);
	PKCS7_free(p7);
	sk_PKCS7_pop_free(safes, PKCS7_free);
	PKCS12_free(p12);
	OPENSSL_free(out);
	return r;
}

/* Pick the one vmcrypt secret bag out of @bags; 0, or -EBADMSG. */
static int take_secret(STACK_OF(PKCS12_SAFEBAG) *bags, struct secbuf *kdk,
		       char *provider, size_t plen)
{
	int i, r;

	for (i = 0; i < sk_PKCS12_SAFEBAG_num(bags); i++) {
		PKCS12_SAFEBAG *bag = sk_PKCS12_SAFEBAG_value(bags, i);
		const ASN1_TYPE *t;
		char *fname;
		size_t pre = strlen(KDKBACKUP_NAME_PREFIX);

		if (PKCS12_SAFEBAG_get_nid(bag) != NID_secretBag ||
		    PKCS12_SAFEBAG_get_bag_nid(bag) != NID_hmacWithSHA256)
			continue;
		if (kdk->data)
			return -EBADMSG; /* more than one: ambiguous */
		t = PKCS12_SAFEBAG_get0_bag_obj(bag);
		if (!t || t->type != V_ASN1_OCTET_STRING ||
		    !t->value.octet_string ||
		    t->value.octet_string->length != KDF_KEY_LEN)
			return -EBADMSG;
		fname = PKCS12_get_friendlyname(bag);
		if (!fname || strncmp(fname, KDKBACKUP_NAME_PREFIX, pre) ||
		    !fname[pre] || strlen(fname + pre) >= plen) {
			OPENSSL_free(fname);
			return -EBADMSG;
		}
		strcpy(provider, fname + pre);
		OPENSSL_free(fname);
		r = secbuf_dup(kdk, t->value.octet_string->data, KDF_KEY_LEN);
		if (r < 0)
			return r;
	}
	return kdk->data ? 0 : -EBADMSG;
}

/*
 * What an import costs is key derivation: the MAC key and the safe's PBKDF2
 * key take as many rounds as the file names, and OpenSSL sets no limit
 * short of INT_MAX (some ten minutes of CPU per derivation). Every count
 * is checked against KDKBACKUP_MAX_ITER (see kdkbackup.h) before anything
 * is derived.
 */
static bool iter_ok(const ASN1_INTEGER *iter)
{
	int64_t v;

	return ASN1_INTEGER_get_int64(&v, iter) && v >= 1 &&
	       v <= KDKBACKUP_MAX_ITER;
}

/*
 * The PFX MAC must be HMAC-SHA256 (what we write): the digest algorithm is
 * also where PBMAC1 (RFC 9579, OpenSSL >= 3.4) would hide another KDF with
 * its own iteration count. An absent count means 1 (RFC 7292).
 */
static bool mac_ok(const PKCS12 *p12)
{
	const ASN1_OCTET_STRING *mac = NULL, *salt = NULL;
	const X509_ALGOR *alg = NULL;
	const ASN1_INTEGER *iter = NULL;
	const ASN1_OBJECT *obj;

	PKCS12_get0_mac(&mac, &alg, &salt, &iter, p12);
	if (!mac || !alg)
		return false;
	X509_ALGOR_get0(&obj, NULL, NULL, alg);
	return OBJ_obj2nid(obj) == NID_sha256 && (!iter || iter_ok(iter));
}

/* An encrypted safe must use PBES2 with PBKDF2 and a bounded count. */
static bool safe_ok(const PKCS7 *p7)
{
	const X509_ALGOR *alg;
	PBE2PARAM *pbe2 = NULL;
	PBKDF2PARAM *kdf = NULL;
	bool ok = false;

	if (!p7->d.encrypted || !p7->d.encrypted->enc_data)
		return false;
	alg = p7->d.encrypted->enc_data->algorithm;
	if (!alg || OBJ_obj2nid(alg->algorithm) != NID_pbes2)
		return false;
	pbe2 = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBE2PARAM),
					 alg->parameter);
	if (!pbe2 || OBJ_obj2nid(pbe2->keyfunc->algorithm) != NID_id_pbkdf2)
		goto out;
	kdf = ASN1_TYPE_unpack_sequence(ASN1_ITEM_rptr(PBKDF2PARAM),
					pbe2->keyfunc->parameter);
	ok = kdf && iter_ok(kdf->iter);
out:
	PBKDF2PARAM_free(kdf);
	PBE2PARAM_free(pbe2);
	return ok;
}

int kdkbackup_import(const uint8_t *der, size_t len,
		     const struct secbuf *pass, struct secbuf *kdk,
		     char *provider, size_t plen)
{
	STACK_OF(PKCS7) *safes = NULL;
	const unsigned char *p = der;
	PKCS12 *p12;
	int i, n, r;

	kdk->data = NULL;
	kdk->len = 0;
	if (!len || len > KDKBACKUP_MAX_FILE || !plen)
		return -EBADMSG;
	if (pass->len > KDKBACKUP_MAX_PASS)
		return -EINVAL;
	p12 = d2i_PKCS12(NULL, &p, (long)len);
	if (!p12 || p != der + len) {
		PKCS12_free(p12);
		return -EBADMSG;
	}
	/*
	 * All costs are checked before the first derivation, so the safes
	 * are looked at before the MAC says they are ours: decoding is cheap.
	 * One encrypted safe, as we write: each costs a derivation.
	 */
	r = -EBADMSG;
	if (!PKCS12_mac_present(p12) || !mac_ok(p12))
		goto out;
	safes = PKCS12_unpack_authsafes(p12);
	if (!safes)
		goto out;
	for (i = 0, n = 0; i < sk_PKCS7_num(safes); i++) {
		const PKCS7 *p7 = sk_PKCS7_value(safes, i);

		if (OBJ_obj2nid(p7->type) != NID_pkcs7_encrypted)
			continue;
		if (++n > 1 || !safe_ok(p7))
			goto out;
	}
	if (!PKCS12_verify_mac(p12, (const char *)pass->data, (int)pass->len)) {
		r = -EKEYREJECTED;
		goto out;
	}
	for (i = 0; i < sk_PKCS7_num(safes); i++) {
		PKCS7 *p7 = sk_PKCS7_value(safes, i);
		STACK_OF(PKCS12_SAFEBAG) *bags;
		int rr;

		/* Only encrypted safes: a plaintext KDK is not a backup we made. */
		if (OBJ_obj2nid(p7->type) != NID_pkcs7_encrypted)
			continue;
		bags = PKCS12_unpack_p7encdata(p7, (const char *)pass->data,
					       (int)pass->len);
		if (!bags) {
			r = -EBADMSG;
			break;
		}
		rr = take_secret(bags, kdk, provider, plen);
		free_bags(bags);
		if (rr < 0 && rr != -EBADMSG) {
			r = rr;
			break;
		}
		if (rr == 0)
			r = 0;
		else if (kdk->data) {
			r = rr;
			break;
		}
	}
out:
	if (r < 0)
		secbuf_free(kdk);
	sk_PKCS7_pop_free(safes, PKCS7_free);
	PKCS12_free(p12);
	return r;
}
