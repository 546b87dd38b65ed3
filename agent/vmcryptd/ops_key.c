// SPDX-License-Identifier: GPL-2.0
/*
 * ops_key.c - key.create (a new KEK bound to a VM), key.show (attributes
 * as the provider reports them, never key bytes), key.fetch (obtain a KEK
 * through the normal path and report only its fingerprint; with
 * "no_cache" it always asks the provider, which is what the Get benchmark
 * measures) and key.list (the VM -> KEK map). The fingerprint is
 * kdf_fingerprint() (lib/kdf.h): it identifies a key across hosts without
 * revealing anything usable.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "lib/kdf.h"
#include "lib/names.h"
#include "vmcryptd/keys.h"
#include "vmcryptd/ops.h"

/*
 * Key ids are the provider's text (KMIP Unique Identifier): 1-KMIP_UID_MAX
 * bytes without control characters, which would otherwise reach the event
 * log and the terminals of those who read it (the same rule as for the ids
 * servers send and the VM map holds: names_key_id_ok()).
 */
static int validate_key_id(struct request *rq, const char *id)
{
	if (!names_key_id_ok(id)) {
		request_error(rq, "invalid key id: use 1-%d printable characters",
			      NAMES_KEY_ID_MAX);
		return -EINVAL;
	}
	return 0;
}

int op_key_create(struct daemon *d, struct request *rq,
		  struct json_object *args, struct json_object *result)
{
	const char *prov = NULL, *vm_name, *vm_uuid;
	struct secbuf kek = { 0 };
	char *id = NULL, *used = NULL;
	int r;

	r = args_string(rq, args, "provider", false, &prov);
	if (r < 0 && r != -ENOENT)
		return r;
	r = args_string(rq, args, "vm_name", true, &vm_name);
	if (r < 0)
		return r;
	r = args_string(rq, args, "vm_uuid", true, &vm_uuid);
	if (r < 0)
		return r;
	r = keys_new_kek_for_vm(d, rq, prov, vm_name, vm_uuid, true, &id, &used, &kek);
	secbuf_free(&kek);
	if (r < 0)
		return r;
	json_object_object_add(result, "id", json_object_new_string(id));
	json_object_object_add(result, "provider", json_object_new_string(used));
	json_object_object_add(result, "vm_name", json_object_new_string(vm_name));
	json_object_object_add(result, "vm_uuid", json_object_new_string(vm_uuid));
	free(id);
	free(used);
	return 0;
}

/* The optional "provider" and the required, validated "id" of a key op. */
static int args_key_ref(struct request *rq, struct json_object *args,
			const char **prov, const char **id)
{
	int r = args_string(rq, args, "provider", false, prov);

	if (r < 0 && r != -ENOENT)
		return r;
	r = args_string(rq, args, "id", true, id);
	if (r < 0)
		return r;
	return validate_key_id(rq, *id);
}

int op_key_show(struct daemon *d, struct request *rq,
		struct json_object *args, struct json_object *result)
{
	const char *prov = NULL, *id;
	struct json_object *attrs;
	struct provider *p;
	int r;

	r = args_key_ref(rq, args, &prov, &id);
	if (r < 0)
		return r;
	r = provider_get(d, rq, prov, &p);
	if (r < 0)
		return r;
	attrs = json_object_new_array();
	r = attrs ? p->ops->show_kek(p, d, rq, id, attrs) : -ENOMEM;
	if (r < 0) {
		json_object_put(attrs);
		if (!rq->error[0])
			request_error(rq, "cannot show key %s on provider %s: %s",
				      id, p->name, strerror(-r));
		if (r == -ENOENT)
			request_event(d, rq, (struct event){ .event = "key.missing",
				      .provider = p->name, .key_id = id,
				      .result = "error", .error = rq->error });
		provider_put(p);
		return r;
	}
	json_object_object_add(result, "id", json_object_new_string(id));
	json_object_object_add(result, "provider", json_object_new_string(p->name));
	json_object_object_add(result, "attributes", attrs);
	provider_put(p);
	return 0;
}

int op_key_fetch(struct daemon *d, struct request *rq,
		 struct json_object *args, struct json_object *result)
{
	const char *prov = NULL, *id;
	struct secbuf kek = { 0 };
	struct provider *p;
	bool no_cache = false;
	char fp[KDF_FPR_HEX_LEN + 1];
	int r;

	r = args_key_ref(rq, args, &prov, &id);
	if (r < 0)
		return r;
	r = args_bool(rq, args, "no_cache", &no_cache);
	if (r < 0 && r != -ENOENT)
		return r;
	/* Named in the answer: without --provider it is the default one. */
	r = provider_get(d, rq, prov, &p);
	if (r < 0)
		return r;
	json_object_object_add(result, "provider", json_object_new_string(p->name));
	if (no_cache) {
		r = p->ops->get_kek(p, d, rq, id, &kek);
		request_event(d, rq, (struct event){ .event = r < 0 ?
			      (r == -ENOENT ? "key.missing" :
			       rq->failure == PROTO_FAILURE_REFUSED ? "key.refused" :
			       "key.unavailable") :
			      "key.fetched", .provider = p->name, .key_id = id,
			      .result = r < 0 ? "error" : "ok",
			      .error = r < 0 ? rq->error : NULL,
			      .detail = "uncached fetch" });
	} else {
		r = keys_get_kek(d, rq, p->name, id, &kek);
	}
	provider_put(p);
	if (r < 0)
		return r;
	r = kdf_fingerprint(&kek, fp);
	json_object_object_add(result, "length", json_object_new_int((int)kek.len * 8));
	secbuf_free(&kek);
	if (r < 0)
		return r;
	json_object_object_add(result, "id", json_object_new_string(id));
	json_object_object_add(result, "fingerprint", json_object_new_string(fp));
	return 0;
}

int op_key_list(struct daemon *d, struct request *rq,
		struct json_object *args, struct json_object *result)
{
	struct json_object *map, *vms;
	int r = keys_vm_map(d, &map);

	if (r < 0)
		return r;
	if (json_object_object_get_ex(map, "vms", &vms))
		json_object_object_add(result, "vms", json_object_get(vms));
	json_object_put(map);
	return 0;
}
