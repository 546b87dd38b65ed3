// SPDX-License-Identifier: GPL-2.0
/*
 * disk_rekey.c - "disk.rekey" (shallow): a new KEK for the disk's VM, the
 * same DEK re-wrapped with it, the token replaced in place (libcryptsetup
 * writes both LUKS2 header copies). The data is not touched, so this works
 * while the disk is open. A deep rekey (new DEK, re-encrypting the data)
 * is not offered.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "lib/keywrap.h"
#include "lib/log.h"
#include "vmcryptd/disk.h"
#include "vmcryptd/keys.h"
#include "vmcryptd/ops.h"

int op_disk_rekey(struct daemon *d, struct request *rq,
		  struct json_object *args, struct json_object *result)
{
	const char *path = NULL, *provider = NULL;
	struct secbuf dek = { 0 }, kek = { 0 };
	struct luks_info *info = calloc(1, sizeof(*info));
	struct vmcrypt_token tok;
	char *kek_id = NULL, *prov = NULL, old_id[256], old_prov[65], vm_prov[65];
	bool is_file, shallow = true;
	int r;

	if (!info)
		return -ENOMEM;
	if ((r = args_string(rq, args, "path", true, &path)))
		goto fail;
	r = args_string(rq, args, "provider", false, &provider);
	if (r && r != -ENOENT)
		goto fail;
	r = args_bool(rq, args, "shallow", &shallow);
	if (r && r != -ENOENT)
		goto fail;
	if (!shallow) {
		request_error(rq, "only a shallow rekey (new KEK, same DEK) is supported");
		r = -EOPNOTSUPP;
		goto fail;
	}
	if ((provider && (r = validate_name(rq, "provider name", provider))) ||
	    (r = disk_check_path(rq, path, &is_file)) ||
	    (r = disk_read_header(rq, path, info)))
		goto fail;
	/* The current DEK, checked against the digest before anything changes. */
	r = disk_get_dek(d, rq, path, info, &dek);
	if (r)
		goto fail;
	/*
	 * No --provider: the VM's provider (its current KEK's in the map, or
	 * the one the disk names), never silently the default one.
	 */
	if (!provider) {
		if (keys_vm_provider(d, info->tok.vm_uuid, vm_prov, sizeof(vm_prov)))
			snprintf(vm_prov, sizeof(vm_prov), "%s", info->tok.provider);
		provider = vm_prov;
	}
	/*
	 * Not yet the VM's current KEK: only once the token names it, so that
	 * a failed or interrupted rekey never leaves the map pointing at a key
	 * no disk uses while this disk still needs the old one.
	 */
	r = keys_new_kek_for_vm(d, rq, provider, info->tok.vm_name, info->tok.vm_uuid,
				false, &kek_id, &prov, &kek);
	if (r)
		goto fail;
	if (strlen(kek_id) >= sizeof(tok.kek_id) || strlen(prov) >= sizeof(tok.provider)) {
		request_error(rq, "key id or provider name too long for the token");
		r = -ENAMETOOLONG;
		goto fail;
	}
	tok = info->tok;
	snprintf(old_id, sizeof(old_id), "%s", tok.kek_id);
	snprintf(old_prov, sizeof(old_prov), "%s", tok.provider);
	snprintf(tok.kek_id, sizeof(tok.kek_id), "%s", kek_id);
	snprintf(tok.provider, sizeof(tok.provider), "%s", prov);
	luks_now(tok.rekeyed, sizeof(tok.rekeyed));
	r = keywrap_wrap(&kek, dek.data, dek.len, tok.wrapped_dek,
			 sizeof(tok.wrapped_dek), &tok.wrapped_len);
	if (r) {
		request_error(rq, "cannot wrap the DEK: %s", strerror(-r));
		goto fail;
	}
	pthread_mutex_lock(&disk_mutex);
	r = luks_set_token(path, info->token_id, &tok, info->uuid, &dek, &info->tok);
	pthread_mutex_unlock(&disk_mutex);
	if (r == -ESTALE) {
		request_error(rq, "the header of %s changed during the rekey (formatted again, replaced, or rekeyed by another request): token not written, the disk still opens with key %s of provider %s",
			      path, old_id, old_prov);
		goto fail;
	}
	if (r) {
		request_error(rq, "cannot update the vmcrypt token of %s: %s", path, strerror(-r));
		goto fail;
	}
	/*
	 * The disk is rekeyed; the map only names the KEK of the VM's next
	 * formats. Failing to record it is logged and told, not undone.
	 */
	if (keys_bind_vm(d, rq, tok.provider, tok.vm_name, tok.vm_uuid, tok.kek_id) < 0) {
		log_err("rekey of %s: %s", path, rq->error);
		json_object_object_add(result, "warning", json_object_new_string(rq->error));
		rq->error[0] = '\0';
	}
	json_object_object_add(result, "path", json_object_new_string(path));
	json_object_object_add(result, "vm_name", json_object_new_string(tok.vm_name));
	json_object_object_add(result, "vm_uuid", json_object_new_string(tok.vm_uuid));
	json_object_object_add(result, "old_provider", json_object_new_string(old_prov));
	json_object_object_add(result, "old_kek_id", json_object_new_string(old_id));
	json_object_object_add(result, "provider", json_object_new_string(tok.provider));
	json_object_object_add(result, "kek_id", json_object_new_string(tok.kek_id));
	{
		char detail[400];

		snprintf(detail, sizeof(detail), "shallow rekey: was key %s of provider %s",
			 old_id, old_prov);
		disk_event(d, rq, "disk.rekeyed", path, &tok, 0, detail);
	}
	goto out;
fail:
	disk_event(d, rq, "disk.rekey", path, info->tok.kek_id[0] ? &info->tok : NULL, r, NULL);
out:
	secbuf_free(&dek);
	secbuf_free(&kek);
	free(kek_id);
	free(prov);
	free(info);
	return r;
}
