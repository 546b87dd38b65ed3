// SPDX-License-Identifier: GPL-2.0
/*
 * tpm.c - TPM 2.0 sealing with tpm2-tss ESAPI (see tpm.h for the model).
 *
 * The storage primary key uses the template below, the same one
 *   tpm2_createprimary -C o -g sha256 -G ecc256:null:aes128cfb \
 *     -a 'fixedtpm|fixedparent|sensitivedataorigin|userwithauth|restricted|decrypt|noda'
 * creates, so the manual recovery in Documentation/persistence.rst works.
 * Sealed objects are keyedhash data objects, noDA (their authValue is
 * empty, so dictionary-attack protection would only let anyone who can
 * trigger a lockout deny us our own keys), and with a PCR policy they also
 * lose userWithAuth, so that only a PolicyPCR session can unseal them.
 */
#include "lib/tpm.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tss2/tss2_esys.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_sys.h>
#include <tss2/tss2_tctildr.h>

#include "lib/atomicfile.h"

#define TPM_PCR_COUNT 24

struct tpm {
	TSS2_TCTI_CONTEXT *tcti;
	ESYS_CONTEXT *esys;
	ESYS_TR primary;
	char err[256];
};

static const TPMT_SYM_DEF session_sym = {
	.algorithm = TPM2_ALG_AES,
	.keyBits = { .aes = 128 },
	.mode = { .aes = TPM2_ALG_CFB },
};

static const TPM2B_PUBLIC primary_template = {
	.publicArea = {
		.type = TPM2_ALG_ECC,
		.nameAlg = TPM2_ALG_SHA256,
		.objectAttributes = TPMA_OBJECT_FIXEDTPM |
				    TPMA_OBJECT_FIXEDPARENT |
				    TPMA_OBJECT_SENSITIVEDATAORIGIN |
				    TPMA_OBJECT_USERWITHAUTH |
				    TPMA_OBJECT_RESTRICTED |
				    TPMA_OBJECT_DECRYPT | TPMA_OBJECT_NODA,
		.parameters.eccDetail = {
			.symmetric = {
				.algorithm = TPM2_ALG_AES,
				.keyBits.aes = 128,
				.mode.aes = TPM2_ALG_CFB,
			},
			.scheme.scheme = TPM2_ALG_NULL,
			.curveID = TPM2_ECC_NIST_P256,
			.kdf.scheme = TPM2_ALG_NULL,
		},
	},
};

/* The one place where TSS return codes become errno values. */
int tpm_rc_to_errno(uint32_t rc)
{
	uint32_t layer = rc & TSS2_RC_LAYER_MASK;
	uint32_t base = rc & 0xffff;

	if (rc == TSS2_RC_SUCCESS)
		return 0;
	if (layer == TSS2_TPM_RC_LAYER || layer == TSS2_RESMGR_TPM_RC_LAYER) {
		uint32_t code = base;

		/* Format 1: strip the parameter/handle/session number. */
		if (code & TPM2_RC_FMT1)
			code &= TPM2_RC_FMT1 | 0x3f;
		switch (code) {
		case TPM2_RC_LOCKOUT:
			return TPM_ELOCKOUT;
		case TPM2_RC_POLICY_FAIL:
		case TPM2_RC_POLICY:
			return TPM_EPCR;
		case TPM2_RC_PCR_CHANGED:
		case TPM2_RC_RETRY:
		case TPM2_RC_YIELDED:
		case TPM2_RC_TESTING:
		case TPM2_RC_CANCELED:
		case TPM2_RC_NV_RATE:
			return -EAGAIN;
		case TPM2_RC_AUTH_FAIL:
		case TPM2_RC_BAD_AUTH:
		case TPM2_RC_AUTH_MISSING:
			return -EACCES;
		case TPM2_RC_AUTH_UNAVAILABLE:
			/* A policy-only object asked with a password: bad metadata. */
			return -EBADMSG;
		case TPM2_RC_INTEGRITY:
		case TPM2_RC_SIZE:
		case TPM2_RC_INSUFFICIENT:
		case TPM2_RC_KEY_SIZE:
		case TPM2_RC_KEY:
		case TPM2_RC_TYPE:
		case TPM2_RC_HASH:
		case TPM2_RC_ATTRIBUTES:
		case TPM2_RC_SENSITIVE:
			return -EBADMSG;
		case TPM2_RC_OBJECT_MEMORY:
		case TPM2_RC_SESSION_MEMORY:
		case TPM2_RC_MEMORY:
		case TPM2_RC_OBJECT_HANDLES:
		case TPM2_RC_SESSION_HANDLES:
			return -ENOSPC;
		case TPM2_RC_INITIALIZE:
		case TPM2_RC_FAILURE:
			return -ENODEV;
		default:
			return -EIO;
		}
	}
	if (layer == TSS2_MU_RC_LAYER)
		return -EBADMSG;
	switch (base) {
	case TSS2_BASE_RC_IO_ERROR:
	case TSS2_BASE_RC_NO_CONNECTION:
	case TSS2_BASE_RC_NOT_IMPLEMENTED:
		return -ENODEV;
	case TSS2_BASE_RC_TRY_AGAIN:
		return -EAGAIN;
	case TSS2_BASE_RC_MEMORY:
		return -ENOMEM;
	case TSS2_BASE_RC_BAD_VALUE:
	case TSS2_BASE_RC_BAD_REFERENCE:
	case TSS2_BASE_RC_BAD_SIZE:
		return -EINVAL;
	case TSS2_BASE_RC_INSUFFICIENT_BUFFER:
	case TSS2_BASE_RC_MALFORMED_RESPONSE:
		return -EBADMSG;
	default:
		return -EIO;
	}
}

static int tss_fail(struct tpm *t, const char *what, TSS2_RC rc)
{
	snprintf(t->err, sizeof(t->err), "%s: %s", what, Tss2_RC_Decode(rc));
	return tpm_rc_to_errno(rc);
}

const char *tpm_error(const struct tpm *t)
{
	return t ? t->err : "";
}

const char *tpm_strerror(int err)
{
	switch (err) {
	case -ENODEV:
		return "no TPM reachable (check tpm_tcti and the TPM device)";
	case TPM_ELOCKOUT:
		return "the TPM is in dictionary-attack lockout; wait for its "
		       "recovery time or clear it with tpm2_dictionarylockout";
	case TPM_EPCR:
		return "TPM policy check failed: the PCR values differ from "
		       "those the key was sealed to";
	case -EBADMSG:
		return "sealed object is corrupt or was not made by this TPM";
	case -EACCES:
		return "TPM authorization failed";
	default:
		return strerror(-err);
	}
}

int tpm_open(const char *tcti, struct tpm **out)
{
	struct tpm *t;
	TSS2_RC rc;
	int r;

	*out = NULL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->primary = ESYS_TR_NONE;
	if (!tcti || !*tcti)
		tcti = TPM_DEFAULT_TCTI;
	rc = Tss2_TctiLdr_Initialize(tcti, &t->tcti);
	if (rc != TSS2_RC_SUCCESS) {
		r = tss_fail(t, "Tss2_TctiLdr_Initialize", rc);
		/* A TCTI that cannot open its device/socket: no TPM. */
		if (r != -ENOMEM)
			r = -ENODEV;
		goto fail;
	}
	rc = Esys_Initialize(&t->esys, t->tcti, NULL);
	if (rc != TSS2_RC_SUCCESS) {
		r = tss_fail(t, "Esys_Initialize", rc);
		goto fail;
	}
	*out = t;
	return 0;
fail:
	/* Keep the message in a static place the caller can still read. */
	tpm_close(t);
	return r;
}

void tpm_close(struct tpm *t)
{
	if (!t)
		return;
	if (t->esys) {
		if (t->primary != ESYS_TR_NONE)
			Esys_FlushContext(t->esys, t->primary);
		Esys_Finalize(&t->esys);
	}
	if (t->tcti)
		Tss2_TctiLdr_Finalize(&t->tcti);
	free(t);
}

static int ensure_primary(struct tpm *t)
{
	TPM2B_SENSITIVE_CREATE sens = { 0 };
	TPM2B_DATA outside = { 0 };
	TPML_PCR_SELECTION creation_pcr = { 0 };
	TSS2_RC rc;

	if (t->primary != ESYS_TR_NONE)
		return 0;
	rc = Esys_CreatePrimary(t->esys, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD,
				ESYS_TR_NONE, ESYS_TR_NONE, &sens,
				&primary_template, &outside, &creation_pcr,
				&t->primary, NULL, NULL, NULL, NULL);
	if (rc != TSS2_RC_SUCCESS) {
		t->primary = ESYS_TR_NONE;
		return tss_fail(t, "Esys_CreatePrimary", rc);
	}
	return 0;
}

/* Session salted with the primary, AES-128-CFB parameter encryption. */
static int start_session(struct tpm *t, TPM2_SE type, ESYS_TR *sess)
{
	TSS2_RC rc;

	rc = Esys_StartAuthSession(t->esys, t->primary, ESYS_TR_NONE,
				   ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
				   NULL, type, &session_sym, TPM2_ALG_SHA256,
				   sess);
	if (rc != TSS2_RC_SUCCESS) {
		*sess = ESYS_TR_NONE;
		return tss_fail(t, "Esys_StartAuthSession", rc);
	}
	return 0;
}

static void flush(struct tpm *t, ESYS_TR *h)
{
	if (*h != ESYS_TR_NONE)
		Esys_FlushContext(t->esys, *h);
	*h = ESYS_TR_NONE;
}

static void pcr_selection(uint32_t mask, TPML_PCR_SELECTION *sel)
{
	memset(sel, 0, sizeof(*sel));
	sel->count = 1;
	sel->pcrSelections[0].hash = TPM2_ALG_SHA256;
	sel->pcrSelections[0].sizeofSelect = 3;
	sel->pcrSelections[0].pcrSelect[0] = mask & 0xff;
	sel->pcrSelections[0].pcrSelect[1] = (mask >> 8) & 0xff;
	sel->pcrSelections[0].pcrSelect[2] = (mask >> 16) & 0xff;
}

/* PolicyPCR over the current values of @mask in session @sess. */
static int policy_pcr(struct tpm *t, ESYS_TR sess, uint32_t mask)
{
	TPM2B_DIGEST empty = { 0 };
	TPML_PCR_SELECTION sel;
	TSS2_RC rc;

	pcr_selection(mask, &sel);
	rc = Esys_PolicyPCR(t->esys, sess, ESYS_TR_NONE, ESYS_TR_NONE,
			    ESYS_TR_NONE, &empty, &sel);
	if (rc != TSS2_RC_SUCCESS)
		return tss_fail(t, "Esys_PolicyPCR", rc);
	return 0;
}

/* Policy digest binding to the current values of the PCRs in @mask. */
static int trial_policy(struct tpm *t, uint32_t mask, TPM2B_DIGEST *digest)
{
	static const TPMT_SYM_DEF none = { .algorithm = TPM2_ALG_NULL };
	TPM2B_DIGEST *d = NULL;
	ESYS_TR sess = ESYS_TR_NONE;
	TSS2_RC rc;
	int r;

	rc = Esys_StartAuthSession(t->esys, ESYS_TR_NONE, ESYS_TR_NONE,
				   ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
				   NULL, TPM2_SE_TRIAL, &none, TPM2_ALG_SHA256,
				   &sess);
	if (rc != TSS2_RC_SUCCESS)
		return tss_fail(t, "Esys_StartAuthSession(trial)", rc);
	r = policy_pcr(t, sess, mask);
	if (r < 0)
		goto out;
	rc = Esys_PolicyGetDigest(t->esys, sess, ESYS_TR_NONE, ESYS_TR_NONE,
				  ESYS_TR_NONE, &d);
	if (rc != TSS2_RC_SUCCESS) {
		r = tss_fail(t, "Esys_PolicyGetDigest", rc);
		goto out;
	}
	*digest = *d;
	Esys_Free(d);
out:
	flush(t, &sess);
	return r;
}

static int marshal_sealed(struct tpm *t, const TPM2B_PUBLIC *pub,
			  const TPM2B_PRIVATE *priv, struct tpm_sealed *out)
{
	size_t off;
	TSS2_RC rc;

	out->pub = malloc(sizeof(*pub));
	out->priv = malloc(sizeof(*priv));
	if (!out->pub || !out->priv)
		return -ENOMEM;
	off = 0;
	rc = Tss2_MU_TPM2B_PUBLIC_Marshal(pub, out->pub, sizeof(*pub), &off);
	if (rc != TSS2_RC_SUCCESS)
		return tss_fail(t, "Tss2_MU_TPM2B_PUBLIC_Marshal", rc);
	out->pub_len = off;
	off = 0;
	rc = Tss2_MU_TPM2B_PRIVATE_Marshal(priv, out->priv, sizeof(*priv), &off);
	if (rc != TSS2_RC_SUCCESS)
		return tss_fail(t, "Tss2_MU_TPM2B_PRIVATE_Marshal", rc);
	out->priv_len = off;
	return 0;
}

int tpm_seal(struct tpm *t, const struct secbuf *secret, uint32_t pcr_mask,
	     struct tpm_sealed *out)
{
	TPM2B_SENSITIVE_CREATE sens = { 0 };
	TPM2B_PUBLIC tmpl = { 0 };
	TPM2B_DATA outside = { 0 };
	TPML_PCR_SELECTION creation_pcr = { 0 };
	TPM2B_PUBLIC *pub = NULL;
	TPM2B_PRIVATE *priv = NULL;
	ESYS_TR sess = ESYS_TR_NONE;
	TSS2_RC rc;
	int r;

	memset(out, 0, sizeof(*out));
	if (!secret->len || secret->len > TPM_SEAL_MAX ||
	    pcr_mask >> TPM_PCR_COUNT)
		return -EINVAL;
	r = ensure_primary(t);
	if (r < 0)
		return r;

	tmpl.publicArea.type = TPM2_ALG_KEYEDHASH;
	tmpl.publicArea.nameAlg = TPM2_ALG_SHA256;
	tmpl.publicArea.objectAttributes = TPMA_OBJECT_FIXEDTPM |
					   TPMA_OBJECT_FIXEDPARENT |
					   TPMA_OBJECT_NODA;
	tmpl.publicArea.parameters.keyedHashDetail.scheme.scheme =
		TPM2_ALG_NULL;
	if (pcr_mask) {
		r = trial_policy(t, pcr_mask, &tmpl.publicArea.authPolicy);
		if (r < 0)
			return r;
	} else {
		tmpl.publicArea.objectAttributes |= TPMA_OBJECT_USERWITHAUTH;
	}

	r = start_session(t, TPM2_SE_HMAC, &sess);
	if (r < 0)
		return r;
	/* The secret is a command parameter: encrypt it on the wire. */
	rc = Esys_TRSess_SetAttributes(t->esys, sess, TPMA_SESSION_DECRYPT |
				       TPMA_SESSION_CONTINUESESSION, 0xff);
	if (rc != TSS2_RC_SUCCESS) {
		r = tss_fail(t, "Esys_TRSess_SetAttributes", rc);
		goto out;
	}
	sens.sensitive.data.size = (UINT16)secret->len;
	memcpy(sens.sensitive.data.buffer, secret->data, secret->len);
	rc = Esys_Create(t->esys, t->primary, sess, ESYS_TR_NONE, ESYS_TR_NONE,
			 &sens, &tmpl, &outside, &creation_pcr, &priv, &pub,
			 NULL, NULL, NULL);
	secure_wipe(&sens, sizeof(sens));
	if (rc != TSS2_RC_SUCCESS) {
		r = tss_fail(t, "Esys_Create", rc);
		goto out;
	}
	r = marshal_sealed(t, pub, priv, out);
	if (r < 0)
		goto out;
	out->pcr_mask = pcr_mask;
out:
	flush(t, &sess);
	Esys_Free(pub);
	Esys_Free(priv);
	if (r < 0)
		tpm_sealed_free(out);
	return r;
}

static int unmarshal_sealed(const struct tpm_sealed *s, TPM2B_PUBLIC *pub,
			    TPM2B_PRIVATE *priv)
{
	size_t off = 0;

	memset(pub, 0, sizeof(*pub));
	memset(priv, 0, sizeof(*priv));
	if (!s->pub || !s->priv)
		return -EBADMSG;
	/*
	 * tss2-mu does not hold a TPM2B_PUBLIC to its size field: one that
	 * claims less than the structure that follows still unmarshals.
	 */
	if (Tss2_MU_TPM2B_PUBLIC_Unmarshal(s->pub, s->pub_len, &off, pub) !=
		    TSS2_RC_SUCCESS || off != s->pub_len ||
	    (size_t)pub->size + 2 != s->pub_len)
		return -EBADMSG;
	off = 0;
	if (Tss2_MU_TPM2B_PRIVATE_Unmarshal(s->priv, s->priv_len, &off,
					    priv) != TSS2_RC_SUCCESS ||
	    off != s->priv_len)
		return -EBADMSG;
	if (pub->publicArea.type != TPM2_ALG_KEYEDHASH)
		return -EBADMSG;
	return 0;
}

/*
 * ESYS decrypts a response parameter in place, in the SYS context's
 * command buffer, which lives (and is freed unwiped) until Esys_Finalize:
 * wipe the secret there once it is copied out.
 */
static void wipe_response(struct tpm *t)
{
	TSS2_SYS_CONTEXT *sys = NULL;
	const uint8_t *rp = NULL;
	size_t n = 0;

	if (Esys_GetSysContext(t->esys, &sys) == TSS2_RC_SUCCESS && sys &&
	    Tss2_Sys_GetRpBuffer(sys, &n, &rp) == TSS2_RC_SUCCESS && rp)
		secure_wipe((uint8_t *)rp, n);
}

static int unseal_once(struct tpm *t, ESYS_TR obj, uint32_t pcr_mask,
		       struct secbuf *out)
{
	TPM2B_SENSITIVE_DATA *data = NULL;
	ESYS_TR sess = ESYS_TR_NONE;
	TSS2_RC rc;
	int r;

	r = start_session(t, pcr_mask ? TPM2_SE_POLICY : TPM2_SE_HMAC, &sess);
	if (r < 0)
		return r;
	if (pcr_mask) {
		r = policy_pcr(t, sess, pcr_mask);
		if (r < 0)
			goto out;
	}
	/* The secret is a response parameter: encrypt it on the wire. */
	rc = Esys_TRSess_SetAttributes(t->esys, sess, TPMA_SESSION_ENCRYPT, 0xff);
	if (rc != TSS2_RC_SUCCESS) {
		r = tss_fail(t, "Esys_TRSess_SetAttributes", rc);
		goto out;
	}
	rc = Esys_Unseal(t->esys, obj, sess, ESYS_TR_NONE, ESYS_TR_NONE, &data);
	if (rc != TSS2_RC_SUCCESS) {
		/* A failed command leaves the session open: flush it. */
		r = tss_fail(t, "Esys_Unseal", rc);
		goto out;
	}
	sess = ESYS_TR_NONE; /* closed by the TPM after the command */
	r = secbuf_dup(out, data->buffer, data->size);
	secure_wipe(data, sizeof(*data));
	Esys_Free(data);
	wipe_response(t);
out:
	flush(t, &sess);
	return r;
}

int tpm_unseal(struct tpm *t, const struct tpm_sealed *s, struct secbuf *out)
{
	TPM2B_PUBLIC pub;
	TPM2B_PRIVATE priv;
	ESYS_TR obj = ESYS_TR_NONE, sess = ESYS_TR_NONE;
	TSS2_RC rc;
	int r, tries;

	out->data = NULL;
	out->len = 0;
	r = unmarshal_sealed(s, &pub, &priv);
	if (r < 0) {
		snprintf(t->err, sizeof(t->err), "sealed object does not parse");
		return r;
	}
	if (s->pcr_mask >> TPM_PCR_COUNT)
		return -EBADMSG;
	r = ensure_primary(t);
	if (r < 0)
		return r;
	r = start_session(t, TPM2_SE_HMAC, &sess);
	if (r < 0)
		return r;
	rc = Esys_Load(t->esys, t->primary, sess, ESYS_TR_NONE, ESYS_TR_NONE,
		       &priv, &pub, &obj);
	flush(t, &sess);
	if (rc != TSS2_RC_SUCCESS)
		return tss_fail(t, "Esys_Load", rc);
	/* PCR_CHANGED and friends: the TPM asks for a retry. */
	for (tries = 0; tries < 3; tries++) {
		r = unseal_once(t, obj, s->pcr_mask, out);
		if (r != -EAGAIN)
			break;
	}
	flush(t, &obj);
	return r;
}

void tpm_sealed_free(struct tpm_sealed *s)
{
	if (!s)
		return;
	free(s->pub);
	free(s->priv);
	memset(s, 0, sizeof(*s));
}

int tpm_pcrs_parse(const char *list, uint32_t *mask)
{
	const char *p = list;
	uint32_t m = 0;

	*mask = 0;
	if (!*p)
		return 0;
	for (;;) {
		unsigned long v;
		char *end;

		if (*p < '0' || *p > '9')
			return -EINVAL;
		errno = 0;
		v = strtoul(p, &end, 10);
		if (errno || end == p || v >= TPM_PCR_COUNT || end - p > 2)
			return -EINVAL;
		if (m & (1u << v))
			return -EINVAL;
		m |= 1u << v;
		p = end;
		if (!*p)
			break;
		if (*p != ',')
			return -EINVAL;
		p++;
	}
	*mask = m;
	return 0;
}

int tpm_pcrs_format(uint32_t mask, char *buf, size_t len)
{
	size_t off = 0;
	int i, n;

	if (!len)
		return -EINVAL;
	buf[0] = '\0';
	for (i = 0; i < TPM_PCR_COUNT; i++) {
		if (!(mask & (1u << i)))
			continue;
		n = snprintf(buf + off, len - off, "%s%d", off ? "," : "", i);
		if (n < 0 || (size_t)n >= len - off)
			return -ENAMETOOLONG;
		off += (size_t)n;
	}
	return 0;
}

static int sealed_path(char *buf, size_t len, const char *dir,
		       const char *name, const char *ext)
{
	if (snprintf(buf, len, "%s/%s.%s", dir, name, ext) >= (int)len)
		return -ENAMETOOLONG;
	return 0;
}

int tpm_sealed_save(const char *dir, const char *name,
		    const struct tpm_sealed *s)
{
	char path[PATH_MAX], pcrs[96], line[110];
	int r;

	r = tpm_pcrs_format(s->pcr_mask, pcrs, sizeof(pcrs));
	if (r < 0)
		return r;
	if (s->pcr_mask)
		snprintf(line, sizeof(line), "sha256:%s\n", pcrs);
	else
		snprintf(line, sizeof(line), "none\n");
	r = sealed_path(path, sizeof(path), dir, name, "pub");
	if (!r)
		r = atomicfile_write(path, s->pub, s->pub_len, 0600);
	if (!r)
		r = sealed_path(path, sizeof(path), dir, name, "priv");
	if (!r)
		r = atomicfile_write(path, s->priv, s->priv_len, 0600);
	if (!r)
		r = sealed_path(path, sizeof(path), dir, name, "pcrs");
	if (!r)
		r = atomicfile_write(path, line, strlen(line), 0600);
	return r;
}

static int parse_pcrs_file(const uint8_t *buf, size_t len, uint32_t *mask)
{
	char tmp[110];

	*mask = 0;
	if (len == 0 || len >= sizeof(tmp) || buf[len - 1] != '\n')
		return -EBADMSG;
	memcpy(tmp, buf, len - 1);
	tmp[len - 1] = '\0';
	if (!strcmp(tmp, "none"))
		return 0;
	if (memchr(buf, '\0', len) || strncmp(tmp, "sha256:", 7))
		return -EBADMSG;
	if (tpm_pcrs_parse(tmp + 7, mask) < 0 || !*mask)
		return -EBADMSG;
	return 0;
}

int tpm_sealed_load(const char *dir, const char *name, struct tpm_sealed *s)
{
	char path[PATH_MAX];
	uint8_t *pcrs = NULL;
	size_t pcrs_len = 0;
	TPM2B_PUBLIC pub;
	TPM2B_PRIVATE priv;
	int r;

	memset(s, 0, sizeof(*s));
	r = sealed_path(path, sizeof(path), dir, name, "pub");
	if (!r)
		r = atomicfile_read(path, sizeof(TPM2B_PUBLIC), &s->pub,
				    &s->pub_len);
	if (!r)
		r = sealed_path(path, sizeof(path), dir, name, "priv");
	if (!r)
		r = atomicfile_read(path, sizeof(TPM2B_PRIVATE), &s->priv,
				    &s->priv_len);
	if (!r)
		r = sealed_path(path, sizeof(path), dir, name, "pcrs");
	if (!r)
		r = atomicfile_read(path, 128, &pcrs, &pcrs_len);
	if (!r)
		r = parse_pcrs_file(pcrs, pcrs_len, &s->pcr_mask);
	if (!r)
		r = unmarshal_sealed(s, &pub, &priv);
	free(pcrs);
	if (r == -EFBIG)
		r = -EBADMSG;
	if (r < 0)
		tpm_sealed_free(s);
	return r;
}
