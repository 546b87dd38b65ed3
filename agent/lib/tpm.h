/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tpm.h - sealing small secrets (persistence key, native KDKs) in a TPM 2.0
 * through tpm2-tss ESAPI.
 *
 * Nothing is made persistent in the TPM: a storage primary key is derived
 * from the owner hierarchy seed with a fixed template each time it is
 * needed, and sealed objects live in files as standard marshalled
 * TPM2B_PUBLIC / TPM2B_PRIVATE blobs, so that tpm2-tools can recover them
 * by hand (Documentation/persistence.rst). Commands that carry a secret use
 * a session salted with the primary key (AES-128-CFB parameter encryption).
 *
 * Errors: every TSS return code is mapped (in tpm.c, one place) to -errno;
 * tpm_error() gives the Tss2_RC_Decode() text of the last failure. Errors a
 * caller must tell apart:
 *   -ENODEV        no TPM reachable through the TCTI
 *   TPM_ELOCKOUT   the TPM is in dictionary-attack lockout
 *   TPM_EPCR       policy failure: PCR values differ from the sealed policy
 *   -EBADMSG       sealed object corrupt, or made by another TPM/owner seed
 */
#ifndef VMCRYPT_TPM_H
#define VMCRYPT_TPM_H

#include <stddef.h>
#include <stdint.h>

#include "lib/secmem.h"

#define TPM_DEFAULT_TCTI "device:/dev/tpmrm0"
#define TPM_ELOCKOUT (-EPERM)
#define TPM_EPCR (-EKEYREJECTED)

/* Largest secret a sealed data object can hold (TPM2B_SENSITIVE_DATA). */
#define TPM_SEAL_MAX 128

struct tpm;

/* A sealed object: marshalled TPM2B_PUBLIC and TPM2B_PRIVATE, PCR policy. */
struct tpm_sealed {
	uint8_t *pub;
	size_t pub_len;
	uint8_t *priv;
	size_t priv_len;
	uint32_t pcr_mask; /* sha256 bank, bit n = PCR n; 0 = no PCR policy */
};

/* Connect through @tcti (NULL or "" = TPM_DEFAULT_TCTI). 0 or -errno. */
int tpm_open(const char *tcti, struct tpm **out);
void tpm_close(struct tpm *t);

/* Text of the last TSS failure on @t (empty string if none). */
const char *tpm_error(const struct tpm *t);
/* A sentence explaining one of the distinguished errors above. */
const char *tpm_strerror(int err);
/* Map a TSS2_RC to -errno (0 for success); exposed for tests. */
int tpm_rc_to_errno(uint32_t rc);

/*
 * Seal @secret (1..TPM_SEAL_MAX bytes). With @pcr_mask != 0 the object can
 * only be unsealed while those sha256 PCRs hold the values they hold now.
 */
int tpm_seal(struct tpm *t, const struct secbuf *secret, uint32_t pcr_mask,
	     struct tpm_sealed *out);
/* Unseal into a new secbuf @out. */
int tpm_unseal(struct tpm *t, const struct tpm_sealed *s, struct secbuf *out);

void tpm_sealed_free(struct tpm_sealed *s);

/*
 * Files <dir>/<name>.pub, .priv and .pcrs (one line: "none", or
 * "sha256:0,7" in the tpm2-tools PCR selection syntax). Written with atomicfile_write(), mode
 * 0600. Reading checks that each blob unmarshals exactly (-EBADMSG if not).
 */
int tpm_sealed_save(const char *dir, const char *name,
		    const struct tpm_sealed *s);
int tpm_sealed_load(const char *dir, const char *name, struct tpm_sealed *s);

/* "0,7,14" -> bit mask (PCRs 0..23, strictly parsed); "" -> 0. */
int tpm_pcrs_parse(const char *list, uint32_t *mask);
/* Bit mask -> "0,7,14" into @buf. */
int tpm_pcrs_format(uint32_t mask, char *buf, size_t len);

#endif
