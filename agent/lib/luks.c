// SPDX-License-Identifier: GPL-2.0
/*
 * luks.c - LUKS2 + vmcrypt token through libcryptsetup (format, read,
 * verify the DEK against the digest, update the token), the token's JSON
 * codec (json-c) and the "is there already something on this device"
 * probe (libblkid).
 *
 * Nothing here parses LUKS2 by hand. The token JSON is untrusted input
 * (anyone who can write the disk controls it): luks_token_parse() checks
 * every field and has a fuzz target (agent/fuzz/fuzz_token.c).
 */
#include "lib/luks.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <blkid.h>
#include <json-c/json.h>
#include <libcryptsetup.h>
#include <linux/fs.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "lib/dmtarget.h"
#include "lib/log.h"
#include "lib/names.h"

/* LUKS2 label and subsystem of every header luks_format() writes. */
#define LUKS_LABEL "vmcrypt"

/* libcryptsetup's own messages are diagnostics for -v; callers decide. */
static void cs_log(int level, const char *msg, void *usrptr)
{
	size_t n = strlen(msg);

	(void)usrptr;
	if (level == CRYPT_LOG_DEBUG || level == CRYPT_LOG_DEBUG_JSON)
		return;
	while (n && msg[n - 1] == '\n')
		n--;
	log_debug("libcryptsetup: %.*s", (int)n, msg);
}

void luks_now(char *buf, size_t len)
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* A token's string field: not empty, NUL-terminated within @cap, clean. */
static bool field_ok(const char *s, size_t cap)
{
	size_t n = strnlen(s, cap);

	return n && n < cap && kmip_text_clean(s, n);
}

static int get_str(struct json_object *o, const char *key, char *dst,
		   size_t dstlen, bool allow_empty)
{
	struct json_object *v;
	const char *s;
	size_t n;

	if (!json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return -EINVAL;
	s = json_object_get_string(v);
	n = (size_t)json_object_get_string_len(v);
	if (n >= dstlen || strlen(s) != n || (!n && !allow_empty) || !kmip_text_clean(s, n))
		return -EINVAL;
	memcpy(dst, s, n + 1);
	return 0;
}

int luks_token_parse(const char *json, size_t len, struct vmcrypt_token *t)
{
	struct json_tokener *tok;
	struct json_object *o = NULL, *v;
	char b64[128];
	uint8_t raw[96];
	size_t blen;
	int n, ret = -EINVAL;

	memset(t, 0, sizeof(*t));
	if (!json || len == 0 || len > VMCRYPT_TOKEN_MAX_JSON)
		return -EINVAL;
	tok = json_tokener_new_ex(8);
	if (!tok)
		return -ENOMEM;
	o = json_tokener_parse_ex(tok, json, (int)len);
	/* The whole buffer must be exactly one JSON object. */
	if (!o || json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != len ||
	    !json_object_is_type(o, json_type_object))
		goto out;

	if (!json_object_object_get_ex(o, "type", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    strcmp(json_object_get_string(v), VMCRYPT_TOKEN_TYPE))
		goto out;
	if (!json_object_object_get_ex(o, "version", &v) ||
	    !json_object_is_type(v, json_type_int) ||
	    json_object_get_int64(v) != VMCRYPT_TOKEN_VERSION)
		goto out;
	t->version = VMCRYPT_TOKEN_VERSION;
	if (!json_object_object_get_ex(o, "wrap_alg", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    strcmp(json_object_get_string(v), VMCRYPT_WRAP_ALG))
		goto out;
	if (get_str(o, "provider", t->provider, sizeof(t->provider), false) ||
	    get_str(o, "kek_id", t->kek_id, sizeof(t->kek_id), false) ||
	    get_str(o, "vm_name", t->vm_name, sizeof(t->vm_name), false) ||
	    get_str(o, "vm_uuid", t->vm_uuid, sizeof(t->vm_uuid), false) ||
	    get_str(o, "created", t->created, sizeof(t->created), false) ||
	    !names_uuid_ok(t->vm_uuid))
		goto out;
	/* "rekeyed" is optional (absent until the first rekey). */
	if (json_object_object_get_ex(o, "rekeyed", &v) &&
	    get_str(o, "rekeyed", t->rekeyed, sizeof(t->rekeyed), true))
		goto out;
	if (get_str(o, "wrapped_dek", b64, sizeof(b64), false))
		goto out;
	blen = strlen(b64);
	if (blen % 4)
		goto out;
	n = EVP_DecodeBlock(raw, (const unsigned char *)b64, (int)blen);
	if (n < 0)
		goto out;
	/* EVP_DecodeBlock counts padding bytes as zeros: drop them. */
	if (blen >= 1 && b64[blen - 1] == '=')
		n--;
	if (blen >= 2 && b64[blen - 2] == '=')
		n--;
	if (n != (int)KEYWRAP_WRAPPED_LEN(VMCRYPT_DEK_BYTES))
		goto out;
	memcpy(t->wrapped_dek, raw, (size_t)n);
	t->wrapped_len = (size_t)n;
	ret = 0;
out:
	if (ret)
		memset(t, 0, sizeof(*t));
	json_object_put(o);
	json_tokener_free(tok);
	return ret;
}

int luks_token_format(const struct vmcrypt_token *t, char **json)
{
	struct json_object *o;
	char b64[128];
	const char *s;
	int ret = 0;

	/* what luks_token_parse() would refuse is never written */
	if (t->wrapped_len != KEYWRAP_WRAPPED_LEN(VMCRYPT_DEK_BYTES) ||
	    !field_ok(t->provider, sizeof(t->provider)) ||
	    !field_ok(t->kek_id, sizeof(t->kek_id)) ||
	    !field_ok(t->vm_name, sizeof(t->vm_name)) ||
	    !names_uuid_ok(t->vm_uuid) || !field_ok(t->created, sizeof(t->created)) ||
	    (t->rekeyed[0] && !field_ok(t->rekeyed, sizeof(t->rekeyed))))
		return -EINVAL;
	EVP_EncodeBlock((unsigned char *)b64, t->wrapped_dek, (int)t->wrapped_len);
	o = json_object_new_object();
	if (!o)
		return -ENOMEM;
	/* LUKS2 requires "type" and "keyslots" in every token. */
	if (json_object_object_add(o, "type", json_object_new_string(VMCRYPT_TOKEN_TYPE)) ||
	    json_object_object_add(o, "keyslots", json_object_new_array()) ||
	    json_object_object_add(o, "version", json_object_new_int(VMCRYPT_TOKEN_VERSION)) ||
	    json_object_object_add(o, "provider", json_object_new_string(t->provider)) ||
	    json_object_object_add(o, "kek_id", json_object_new_string(t->kek_id)) ||
	    json_object_object_add(o, "wrap_alg", json_object_new_string(VMCRYPT_WRAP_ALG)) ||
	    json_object_object_add(o, "wrapped_dek", json_object_new_string(b64)) ||
	    json_object_object_add(o, "vm_name", json_object_new_string(t->vm_name)) ||
	    json_object_object_add(o, "vm_uuid", json_object_new_string(t->vm_uuid)) ||
	    json_object_object_add(o, "created", json_object_new_string(t->created)) ||
	    (t->rekeyed[0] &&
	     json_object_object_add(o, "rekeyed", json_object_new_string(t->rekeyed)))) {
		ret = -ENOMEM;
		goto out;
	}
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	*json = s ? strdup(s) : NULL;
	if (!*json)
		ret = -ENOMEM;
out:
	json_object_put(o);
	return ret;
}

int luks_device_size(const char *path, uint64_t *size)
{
	struct stat st;
	int fd, ret = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		ret = -errno;
	} else if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, size) < 0)
			ret = -errno;
	} else if (S_ISREG(st.st_mode)) {
		*size = (uint64_t)st.st_size;
	} else {
		ret = -ENOTBLK;
	}
	close(fd);
	return ret;
}

/*
 * A crypt_device lives between cd_open() and cd_close() under
 * dmt_lib_lock(): libcryptsetup shares libdevmapper's process-wide state
 * with lib/dmtarget.c (see dmtarget.h). On failure *@cd is NULL and the
 * lock is not held; cd_close(NULL) does nothing.
 */
static int cd_open(const char *path, struct crypt_device **cd)
{
	int ret;

	*cd = NULL;
	dmt_lib_lock();
	crypt_set_log_callback(NULL, cs_log, NULL);
	ret = crypt_init(cd, path);
	if (ret < 0) {
		*cd = NULL;
		dmt_lib_unlock();
		return ret;
	}
	crypt_set_log_callback(*cd, cs_log, NULL);
	return 0;
}

static void cd_close(struct crypt_device *cd)
{
	if (!cd)
		return;
	crypt_free(cd);
	dmt_lib_unlock();
}

static int find_token(struct crypt_device *cd, struct vmcrypt_token *t)
{
	int i, bad = 0;

	for (i = 0; i < 32; i++) {
		const char *type = NULL, *json = NULL;
		crypt_token_info st = crypt_token_status(cd, i, &type);

		if (st == CRYPT_TOKEN_INVALID || st == CRYPT_TOKEN_INACTIVE)
			continue;
		if (!type || strcmp(type, VMCRYPT_TOKEN_TYPE))
			continue;
		if (crypt_token_json_get(cd, i, &json) < 0 || !json) {
			bad++;
			continue;
		}
		if (luks_token_parse(json, strlen(json), t) == 0)
			return i;
		bad++;
	}
	return bad ? -EBADMSG : -ENOKEY;
}

int luks_read(const char *path, struct luks_info *info)
{
	struct crypt_device *cd = NULL;
	const char *uuid;
	int ret, i, max;

	memset(info, 0, sizeof(*info));
	ret = luks_device_size(path, &info->device_size);
	if (ret)
		return ret;
	ret = cd_open(path, &cd);
	if (ret)
		return ret;
	ret = crypt_load(cd, CRYPT_LUKS2, NULL);
	if (ret < 0) {
		ret = ret == -EINVAL ? -ENODEV : ret;
		goto out;
	}
	if (strcmp(crypt_get_cipher(cd) ?: "", "aes") ||
	    strcmp(crypt_get_cipher_mode(cd) ?: "", "xts-plain64")) {
		ret = -ENOKEY;
		goto out;
	}
	uuid = crypt_get_uuid(cd);
	snprintf(info->uuid, sizeof(info->uuid), "%s", uuid ?: "");
	info->data_offset = crypt_get_data_offset(cd);
	info->sector_size = (uint32_t)crypt_get_sector_size(cd);
	max = crypt_keyslot_max(CRYPT_LUKS2);
	for (i = 0; i < max; i++) {
		crypt_keyslot_info ks = crypt_keyslot_status(cd, i);

		if (ks == CRYPT_SLOT_ACTIVE || ks == CRYPT_SLOT_ACTIVE_LAST)
			info->recovery_keyslots++;
	}
	ret = find_token(cd, &info->tok);
	if (ret < 0) {
		info->unfinished = ret == -ENOKEY &&
			!strcmp(crypt_get_label(cd) ?: "", LUKS_LABEL) &&
			!strcmp(crypt_get_subsystem(cd) ?: "", LUKS_LABEL);
		ret = -ENOKEY;
		goto out;
	}
	info->token_id = ret;
	ret = 0;
out:
	cd_close(cd);
	return ret;
}

int luks_probe(const char *path, char *what, size_t whatlen)
{
	blkid_probe pr;
	const char *type = NULL, *label = NULL;
	int rc, ret = 0;

	pr = blkid_new_probe_from_filename(path);
	if (!pr)
		return errno ? -errno : -EIO;
	blkid_probe_enable_superblocks(pr, 1);
	blkid_probe_set_superblocks_flags(pr, BLKID_SUBLKS_TYPE | BLKID_SUBLKS_LABEL |
					  BLKID_SUBLKS_UUID);
	blkid_probe_enable_partitions(pr, 1);
	rc = blkid_do_safeprobe(pr);
	if (rc == 1) {
		ret = 0;
	} else if (rc == -2) {
		snprintf(what, whatlen, "several conflicting signatures");
		ret = -EEXIST;
	} else if (rc < 0) {
		ret = -EIO;
	} else if (!blkid_probe_lookup_value(pr, "TYPE", &type, NULL)) {
		if (!strcmp(type, "crypto_LUKS")) {
			struct luks_info *info = calloc(1, sizeof(*info));

			if (info && !luks_read(path, info))
				snprintf(what, whatlen,
					 "a vmcrypt disk of VM '%s' (LUKS UUID %s)",
					 info->tok.vm_name, info->uuid);
			else if (info && info->unfinished)
				snprintf(what, whatlen,
					 "an unfinished vmcrypt format (a LUKS2 header without its vmcrypt token: the format was interrupted)");
			else
				snprintf(what, whatlen, "a LUKS header");
			free(info);
		} else {
			blkid_probe_lookup_value(pr, "LABEL", &label, NULL);
			snprintf(what, whatlen, "a %s %s%s%s%s", type,
				 strstr(type, "swap") ? "area" : "filesystem",
				 label ? " (label '" : "", label ?: "",
				 label ? "')" : "");
		}
		ret = -EEXIST;
	} else if (!blkid_probe_lookup_value(pr, "PTTYPE", &type, NULL)) {
		snprintf(what, whatlen, "a %s partition table", type);
		ret = -EEXIST;
	} else {
		snprintf(what, whatlen, "an unidentified signature");
		ret = -EEXIST;
	}
	blkid_free_probe(pr);
	return ret;
}

/*
 * The PBKDF of the LUKS2 digest, which every open verifies: PBKDF2's
 * minimum count instead of libcryptsetup's 125 ms calibration. The digest
 * lets whoever holds the header test a guess of the DEK, and a DEK is
 * VMCRYPT_DEK_BYTES random bytes: no iteration count makes 2^512 guesses
 * any more or less out of reach. (It was the top of the daemon's profile
 * when opening disks: Documentation/performance.rst.) A passphrase is
 * another matter: the recovery keyslot gets libcryptsetup's default
 * (Argon2id, benchmarked).
 */
static const struct crypt_pbkdf_type digest_pbkdf = {
	.type = CRYPT_KDF_PBKDF2,
	.hash = "sha256",
	.iterations = LUKS_DIGEST_ITERATIONS,
	.flags = CRYPT_PBKDF_NO_BENCHMARK,
};

int luks_format(const char *path, const struct secbuf *dek,
		uint32_t sector_size, const struct vmcrypt_token *tok,
		const struct secbuf *recovery, char *uuid, size_t uuidlen)
{
	struct crypt_params_luks2 params = {
		.pbkdf = &digest_pbkdf,
		.sector_size = sector_size,
		.label = LUKS_LABEL,
		.subsystem = LUKS_LABEL,
	};
	struct crypt_device *cd = NULL;
	uint64_t size;
	char *json = NULL;
	int ret;

	if (!dek || dek->len != VMCRYPT_DEK_BYTES ||
	    (sector_size != 512 && sector_size != 4096))
		return -EINVAL;
	ret = luks_device_size(path, &size);
	if (ret)
		return ret;
	if (size < LUKS_MIN_DEVICE_SIZE)
		return -ENOSPC;
	ret = luks_token_format(tok, &json);
	if (ret)
		return ret;
	ret = cd_open(path, &cd);
	if (ret)
		goto out;
	/*
	 * The documented data offset, whatever alignment the device reports
	 * (libcryptsetup would move it up for a large optimal I/O size), and
	 * checked before crypt_format() writes anything: a device it does not
	 * fit is left as it was.
	 */
	if ((uint64_t)LUKS_DATA_OFFSET * 512 + sector_size > size) {
		ret = -ENOSPC;
		goto out;
	}
	ret = crypt_set_data_offset(cd, LUKS_DATA_OFFSET);
	if (ret < 0)
		goto out;
	ret = crypt_format(cd, CRYPT_LUKS2, "aes", "xts-plain64", NULL,
			   (const char *)dek->data, dek->len, &params);
	if (ret < 0)
		goto out;
	if (recovery) {
		/* back to the default PBKDF: this keyslot is a passphrase */
		ret = crypt_set_pbkdf_type(cd, NULL);
		if (ret < 0)
			goto out;
		ret = crypt_keyslot_add_by_volume_key(cd, CRYPT_ANY_SLOT,
						      (const char *)dek->data, dek->len,
						      (const char *)recovery->data,
						      recovery->len);
		if (ret < 0)
			goto out;
	}
	/*
	 * Last: the token makes it a vmcrypt disk. Killed before this point
	 * (the Argon2id keyslot takes seconds), the device holds a LUKS2
	 * header without a token, which open and format name as an
	 * unfinished format; never a disk that opens without the recovery
	 * keyslot it was asked for.
	 */
	ret = crypt_token_json_set(cd, CRYPT_ANY_TOKEN, json);
	if (ret < 0)
		goto out;
	if (uuid)
		snprintf(uuid, uuidlen, "%s", crypt_get_uuid(cd) ?: "");
	ret = 0;
out:
	cd_close(cd);
	free(json);
	return ret;
}

int luks_verify_key(const char *path, const struct secbuf *dek)
{
	struct crypt_device *cd = NULL;
	int ret;

	ret = cd_open(path, &cd);
	if (ret)
		return ret;
	ret = crypt_load(cd, CRYPT_LUKS2, NULL);
	if (ret >= 0)
		ret = crypt_volume_key_verify(cd, (const char *)dek->data, dek->len);
	cd_close(cd);
	return ret < 0 ? ret : 0;
}

/* Token @id of the loaded @cd is @was, as far as the key goes. */
static bool token_unchanged(struct crypt_device *cd, int id,
			    const struct vmcrypt_token *was)
{
	struct vmcrypt_token *now = calloc(1, sizeof(*now));
	const char *json = NULL;
	bool same = false;

	if (now && crypt_token_json_get(cd, id, &json) >= 0 && json &&
	    luks_token_parse(json, strlen(json), now) == 0)
		same = !strcmp(now->provider, was->provider) &&
		       !strcmp(now->kek_id, was->kek_id) &&
		       now->wrapped_len == was->wrapped_len &&
		       !memcmp(now->wrapped_dek, was->wrapped_dek, was->wrapped_len);
	free(now);
	return same;
}

int luks_set_token(const char *path, int token_id,
		   const struct vmcrypt_token *tok, const char *uuid,
		   const struct secbuf *dek, const struct vmcrypt_token *was)
{
	struct crypt_device *cd = NULL;
	const char *have;
	char *json = NULL;
	int ret;

	ret = luks_token_format(tok, &json);
	if (ret)
		return ret;
	ret = cd_open(path, &cd);
	if (ret)
		goto out;
	ret = crypt_load(cd, CRYPT_LUKS2, NULL);
	if (ret < 0)
		goto out;
	/* in the same crypt_device as the write: nothing can come between */
	have = crypt_get_uuid(cd);
	if (!have || strcasecmp(have, uuid) ||
	    crypt_volume_key_verify(cd, (const char *)dek->data, dek->len) < 0 ||
	    !token_unchanged(cd, token_id, was)) {
		ret = -ESTALE;
		goto out;
	}
	ret = crypt_token_json_set(cd, token_id, json);
	ret = ret < 0 ? ret : 0;
out:
	cd_close(cd);
	free(json);
	return ret;
}
