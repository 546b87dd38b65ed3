/* SPDX-License-Identifier: GPL-2.0 */
/*
 * keys.h - KEKs as the rest of the daemon sees them.
 *
 * keys_get_kek() looks in the in-memory cache (mlocked), then asks the
 * provider, then the persisted cache (d->persist, when on). Every KEK
 * obtained from a provider is kept in memory and fed to the persisted
 * cache. Events: "key.fetched" (from the provider), "key.missing" (the
 * provider says it does not exist), "key.persisted_used" (served from the
 * persisted cache because the provider could not deliver it),
 * "key.unavailable" (nowhere).
 *
 * Each VM has one current KEK: the VM map STATE_DIR/vms.json (0600,
 * atomic; format and rules in lib/vmmap.h) records vm_uuid -> {vm_name,
 * provider, kek_id, created}. keys_init() refuses a map it cannot load
 * whole (-EINVAL, the log names the entry and member): the daemon does
 * not start rather than forget a VM's KEK.
 * keys_kek_for_vm() returns the VM's KEK, creating, activating and binding
 * one on first use; keys_new_kek_for_vm() always creates a new one and
 * makes it the VM's current KEK (key create, shallow rekey). Old KEKs stay
 * fetchable by id: disks name their KEK by (provider, kek_id).
 *
 * All functions return 0 or -errno with request_error() set; @out is a
 * fresh secbuf the caller frees (secbuf_free) as soon as it is done.
 */
#ifndef VMCRYPTD_KEYS_H
#define VMCRYPTD_KEYS_H

#include "lib/secmem.h"
#include "vmcryptd/daemon.h"

int keys_init(struct daemon *d);	/* load vms.json; 0 or -errno */
void keys_free(struct daemon *d);	/* wipes the memory cache */

/* KEK @kek_id of provider @provider (NULL: the default provider). */
int keys_get_kek(struct daemon *d, struct request *rq, const char *provider,
		 const char *kek_id, struct secbuf *out);

/*
 * The KEK of VM @vm_uuid. @provider NULL: the provider of the VM's current
 * KEK, or the default provider for a new one. If @provider names another
 * provider than the VM's current KEK, a new KEK is created there and
 * becomes current. *@kek_id and *@provider_out (may be NULL) are
 * malloc'ed.
 */
int keys_kek_for_vm(struct daemon *d, struct request *rq, const char *provider,
		    const char *vm_name, const char *vm_uuid, char **kek_id,
		    char **provider_out, struct secbuf *out);

/*
 * Always a new KEK for the VM, made current with @bind, else left for
 * keys_bind_vm() once what uses it is written. Same out-parameters.
 */
int keys_new_kek_for_vm(struct daemon *d, struct request *rq,
			const char *provider, const char *vm_name,
			const char *vm_uuid, bool bind, char **kek_id,
			char **provider_out, struct secbuf *out);

/* Make @kek_id of @provider the VM's current KEK. 0 or -errno. */
int keys_bind_vm(struct daemon *d, struct request *rq, const char *provider,
		 const char *vm_name, const char *vm_uuid, const char *kek_id);

/*
 * Add every KEK held in memory to the persisted cache (persistence was
 * just enabled: keys fetched before would otherwise wait for the next
 * restart). The number added goes to *@stored. 0 or -errno.
 */
int keys_persist_held(struct daemon *d, struct request *rq, size_t *stored);

/*
 * The provider of VM @vm_uuid's current KEK into @out: 0, or -ENOENT when
 * the VM has no KEK in the map.
 */
int keys_vm_provider(struct daemon *d, const char *vm_uuid, char *out,
		     size_t len);

/* Drop every in-memory KEK of @provider (provider removed). */
void keys_forget_provider(struct daemon *d, const char *provider);

/*
 * The VM map as JSON: {"vms": [{"vm_uuid", "vm_name", "provider",
 * "kek_id", "created"}]} (no key bytes). New reference in *@out.
 */
int keys_vm_map(struct daemon *d, struct json_object **out);

#endif
