// SPDX-License-Identifier: GPL-2.0
/*
 * provider_native.c - the native key provider (no KMS), like vSphere's
 * Native Key Provider, and its backup/restore operations.
 *
 * Each instance has a 256-bit key-derivation key (KDK) sealed in the TPM
 * (STATE_DIR/native/NAME/kdk.{pub,priv,pcrs}); without a TPM, and only
 * when the admin said --allow-no-tpm, it is stored in kdk.raw (0600, root)
 * and the provider is marked "not secure". A VM's KEK is
 * HKDF-SHA256(KDK, "vmcrypt kek" || VM UUID) with the KEK id
 * "native:NAME:UUID" (lib/kdf.h): no network, nothing stored per key.
 *
 * Keys can only be created once the KDK was backed up and the backup
 * verified (file STATE_DIR/native/NAME/backup), as in vSphere; a restored
 * provider counts as backed up. Backups are PKCS#12 (lib/kdkbackup.h); the
 * CLI writes the file, the daemon never writes where a client says.
 *
 * The KDK is unsealed on first use, not at start, so a missing TPM never
 * stops the daemon; the error is reported to the request that needed it.
 * A provider's directory is only ever removed whole, by
 * atomicfile_shred_dir(): every file shredded, whatever its name, so the
 * temporary file of a write cut short (kdk.raw.tmp-*) goes too.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "lib/atomicfile.h"
#include "lib/kdf.h"
#include "lib/kdkbackup.h"
#include "lib/log.h"
#include "lib/tpm.h"
#include "vmcryptd/ops.h"
#include "vmcryptd/registry.h"

#define NATIVE_DIR "native"
#define KDK_SEALED "kdk"
#define KDK_RAW "kdk.raw"
#define BACKUP_MARK "backup"

struct native {
	pthread_mutex_t lock;
	struct daemon *d;
	char dir[PATH_MAX];
	bool sealed;		/* false: kdk.raw, not secure */
	char origin[PROVIDER_NAME_MAX + 1];	/* provider name in its labels */
	struct secbuf kdk;	/* empty until first use */
};

static void native_free_priv(struct native *n)
{
	if (!n)
		return;
	secbuf_free(&n->kdk);
	pthread_mutex_destroy(&n->lock);
	free(n);
}

static struct native *native_new(struct daemon *d, const char *name,
				 bool sealed, const char *origin)
{
	struct native *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	pthread_mutex_init(&n->lock, NULL);
	n->d = d;
	n->sealed = sealed;
	snprintf(n->origin, sizeof(n->origin), "%s", origin);
	if (snprintf(n->dir, sizeof(n->dir), "%s/%s/%s", d->state_dir, NATIVE_DIR,
		     name) >= (int)sizeof(n->dir)) {
		native_free_priv(n);
		return NULL;
	}
	return n;
}

static int path_in(const struct native *n, const char *file, char *buf, size_t len)
{
	return snprintf(buf, len, "%s/%s", n->dir, file) >= (int)len ? -ENAMETOOLONG : 0;
}

static bool backed_up(const struct native *n, char *when, size_t len)
{
	char path[PATH_MAX];
	uint8_t *buf = NULL;
	size_t blen = 0;

	if (path_in(n, BACKUP_MARK, path, sizeof(path)) < 0)
		return false;
	if (atomicfile_read(path, 128, &buf, &blen) < 0)
		return false;
	if (when && len) {
		snprintf(when, len, "%.*s", (int)blen, (char *)buf);
		when[strcspn(when, "\n")] = '\0';
	}
	free(buf);
	return true;
}

static int mark_backed_up(const char *dir)
{
	char path[PATH_MAX], when[64];
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	eventlog_timestamp(&ts, when, sizeof(when));
	strcat(when, "\n");
	if (snprintf(path, sizeof(path), "%s/%s", dir, BACKUP_MARK) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	return atomicfile_write(path, when, strlen(when), 0600);
}

/* Unseal (or read) the KDK once; caller holds n->lock. */
static int load_kdk_locked(struct native *n, struct request *rq,
			   const char *name)
{
	char path[PATH_MAX];
	struct tpm_sealed s = { 0 };
	struct tpm *t = NULL;
	uint8_t *buf = NULL;
	size_t len = 0;
	char *tcti;
	int r;

	if (n->kdk.data)
		return 0;
	if (!n->sealed) {
		struct stat sb;

		r = path_in(n, KDK_RAW, path, sizeof(path));
		if (r == 0 && lstat(path, &sb) < 0)
			r = -errno;
		if (r == 0 && !S_ISREG(sb.st_mode))
			r = -EINVAL;
		if (r == 0 && (sb.st_mode & 077 || sb.st_uid != geteuid())) {
			request_error(rq, "provider %s: %s is accessible by others; "
				      "refusing to use it", name, path);
			return -EPERM;
		}
		if (r == 0)
			r = atomicfile_read(path, 64, &buf, &len);
		if (r == 0 && len != KDF_KEY_LEN)
			r = -EBADMSG;
		if (r == 0)
			r = secbuf_dup(&n->kdk, buf, len);
		if (buf) {
			secure_wipe(buf, len);
			free(buf);
		}
		if (r < 0)
			request_error(rq, "provider %s: cannot read its key-derivation "
				      "key %s: %s", name, path, strerror(-r));
		return r;
	}
	r = tpm_sealed_load(n->dir, KDK_SEALED, &s);
	if (r < 0) {
		request_error(rq, "provider %s: sealed key-derivation key in %s is %s",
			      name, n->dir, r == -ENOENT ? "missing" : "corrupt");
		return r == -ENOENT ? -EBADMSG : r;
	}
	tcti = daemon_config_tcti(n->d);
	r = tcti ? tpm_open(tcti, &t) : -ENOMEM;
	free(tcti);
	if (r == 0)
		r = tpm_unseal(t, &s, &n->kdk);
	if (r == 0 && n->kdk.len != KDF_KEY_LEN) {
		secbuf_free(&n->kdk);
		r = -EBADMSG;
	}
	if (r < 0)
		request_error(rq, "provider %s: cannot unseal its key-derivation key: "
			      "%s%s%s%s", name, tpm_strerror(r), t ? " (" : "",
			      t ? tpm_error(t) : "", t ? ")" : "");
	tpm_close(t);
	tpm_sealed_free(&s);
	return r;
}

/* A copy of the KDK for this request. */
static int get_kdk(struct provider *p, struct request *rq, struct secbuf *out)
{
	struct native *n = p->priv;
	int r;

	pthread_mutex_lock(&n->lock);
	r = load_kdk_locked(n, rq, p->name);
	if (r == 0)
		r = secbuf_dup(out, n->kdk.data, n->kdk.len);
	pthread_mutex_unlock(&n->lock);
	return r;
}

/*
 * Store @kdk for a new provider @name: sealed in the TPM, or (no TPM and
 * @allow_no_tpm) in a root-only file. Built in a temporary directory and
 * renamed into place. *@sealed tells which.
 */
static int store_new(struct daemon *d, struct request *rq, const char *name,
		     const struct secbuf *kdk, bool allow_no_tpm, bool is_backup,
		     bool *sealed)
{
	char base[PATH_MAX], tmp[PATH_MAX], final[PATH_MAX], path[PATH_MAX];
	struct tpm_sealed s = { 0 };
	struct tpm *t = NULL;
	char *tcti;
	int r, made = 0;

	*sealed = false;
	if (snprintf(base, sizeof(base), "%s/%s", d->state_dir, NATIVE_DIR) >= (int)sizeof(base) ||
	    snprintf(final, sizeof(final), "%s/%s", base, name) >= (int)sizeof(final) ||
	    snprintf(tmp, sizeof(tmp), "%s/.new-XXXXXX", base) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	if (mkdir(base, 0700) == 0) {
		/* the new directory's entry in STATE_DIR, durable before its contents */
		r = atomicfile_sync_dir(base);
		if (r < 0) {
			request_error(rq, "cannot sync %s: %s", d->state_dir, strerror(-r));
			return r;
		}
	} else if (errno != EEXIST) {
		r = -errno;
		request_error(rq, "cannot create %s: %s", base, strerror(-r));
		return r;
	}
	if (access(final, F_OK) == 0) {
		request_error(rq, "%s already exists (state of an earlier native provider "
			      "of that name?); move it away first", final);
		return -EEXIST;
	}
	tcti = daemon_config_tcti(d);
	if (!tcti)
		return -ENOMEM;
	r = tpm_open(tcti, &t);
	if (r == 0) {
		r = tpm_seal(t, kdk, 0, &s);
		if (r < 0) {
			request_error(rq, "cannot seal the key-derivation key in the TPM: "
				      "%s (%s)", tpm_strerror(r), tpm_error(t));
			goto out;
		}
		*sealed = true;
	} else if (r == -ENODEV && allow_no_tpm) {
		log_warn("provider %s: no TPM (%s): the key-derivation key is stored "
			 "in a root-only file, NOT securely", name, tcti);
		r = 0;
	} else {
		if (r == -ENODEV)
			request_error(rq, "no TPM available at '%s': refusing to store the "
				      "key-derivation key unsealed; use --allow-no-tpm to store "
				      "it in a root-only file (NOT secure)", tcti);
		else
			request_error(rq, "TPM error: %s", tpm_strerror(r));
		goto out;
	}
	if (!mkdtemp(tmp)) {
		r = -errno;
		request_error(rq, "cannot create a directory in %s: %s", base, strerror(-r));
		goto out;
	}
	made = 1;
	if (*sealed) {
		r = tpm_sealed_save(tmp, KDK_SEALED, &s);
	} else {
		r = snprintf(path, sizeof(path), "%s/%s", tmp, KDK_RAW) >= (int)sizeof(path) ?
			-ENAMETOOLONG : 0;
		if (r == 0)
			r = atomicfile_write(path, kdk->data, kdk->len, 0600);
	}
	if (r == 0 && is_backup)
		r = mark_backed_up(tmp);
	if (r == 0 && rename(tmp, final) < 0)
		r = -errno;
	if (r < 0) {
		request_error(rq, "cannot store the provider's key in %s: %s", final,
			      strerror(-r));
		goto out;
	}
	made = 0;
	r = atomicfile_sync_dir(final);
out:
	if (made)
		atomicfile_shred_dir(tmp);
	tpm_sealed_free(&s);
	tpm_close(t);
	free(tcti);
	return r;
}

static int build(struct daemon *d, const char *name, bool sealed,
		 const char *origin, struct provider **out);

static int native_create(struct daemon *d, struct request *rq, const char *name,
			 struct json_object *args, struct provider **out)
{
	struct secbuf kdk = { 0 };
	bool allow = false, sealed;
	int r;

	r = args_bool(rq, args, "allow_no_tpm", &allow);
	if (r < 0 && r != -ENOENT)
		return r;
	r = secbuf_alloc(&kdk, KDF_KEY_LEN);
	if (r < 0)
		return r;
	if (RAND_priv_bytes(kdk.data, (int)kdk.len) != 1) {
		secbuf_free(&kdk);
		request_error(rq, "no random bytes for the key-derivation key");
		return -EIO;
	}
	r = store_new(d, rq, name, &kdk, allow, false, &sealed);
	secbuf_free(&kdk);
	if (r < 0)
		return r;
	if (!sealed)
		request_event(d, rq, (struct event){ .event = "provider.native_insecure",
			      .provider = name, .result = "info",
			      .detail = "no TPM: the key-derivation key is stored in a "
					"root-only file, NOT securely" });
	r = build(d, name, sealed, name, out);
	if (r < 0) {
		char dir[PATH_MAX];

		snprintf(dir, sizeof(dir), "%s/%s/%s", d->state_dir, NATIVE_DIR, name);
		atomicfile_shred_dir(dir);
	}
	return r;
}

static int native_from_json(struct daemon *d, const char *name,
			    struct json_object *conf, struct provider **out)
{
	struct json_object *storage, *origin;
	const char *st, *org = name;

	if (!json_object_object_get_ex(conf, "storage", &storage) ||
	    !json_object_is_type(storage, json_type_string))
		return -EINVAL;
	st = json_object_get_string(storage);
	if (strcmp(st, "tpm") && strcmp(st, "file"))
		return -EINVAL;
	if (json_object_object_get_ex(conf, "origin", &origin) &&
	    json_object_is_type(origin, json_type_string))
		org = json_object_get_string(origin);
	return build(d, name, !strcmp(st, "tpm"), org, out);
}

static int native_to_json(struct provider *p, struct json_object *conf)
{
	struct native *n = p->priv;

	json_object_object_add(conf, "storage", json_object_new_string(n->sealed ? "tpm" : "file"));
	json_object_object_add(conf, "origin", json_object_new_string(n->origin));
	return 0;
}

static int native_describe(struct provider *p, struct json_object *out)
{
	struct native *n = p->priv;
	char when[64] = "";
	bool b = backed_up(n, when, sizeof(when));

	json_object_object_add(out, "key_storage", json_object_new_string(
		n->sealed ? "tpm" : "file (NOT secure: no TPM)"));
	json_object_object_add(out, "secure", json_object_new_boolean(n->sealed));
	json_object_object_add(out, "backed_up", json_object_new_boolean(b));
	if (b)
		json_object_object_add(out, "backup_verified", json_object_new_string(when));
	json_object_object_add(out, "kek_id_format", json_object_new_string("native:<provider>:<vm-uuid>"));
	if (strcmp(n->origin, p->name))
		json_object_object_add(out, "restored_from", json_object_new_string(n->origin));
	return 0;
}

static int native_create_kek(struct provider *p, struct daemon *d,
			     struct request *rq, const struct vm_binding *vm,
			     char **kek_id, struct secbuf *kek)
{
	struct native *n = p->priv;
	struct secbuf kdk = { 0 };
	char label[KDF_LABEL_MAX];
	int r;

	*kek_id = NULL;
	if (!backed_up(n, NULL, 0)) {
		request_error(rq, "native provider %s has not been backed up: run "
			      "'vmcryptctl provider backup %s --out FILE' before creating keys",
			      p->name, p->name);
		return -EPERM;
	}
	r = kdf_native_label(n->origin, vm->vm_uuid, label, sizeof(label));
	if (r < 0) {
		request_error(rq, "invalid VM UUID '%s'", vm->vm_uuid);
		return r;
	}
	r = get_kdk(p, rq, &kdk);
	if (r < 0)
		return r;
	r = kdf_native_kek(&kdk, vm->vm_uuid, kek);
	secbuf_free(&kdk);
	if (r < 0) {
		request_error(rq, "key derivation failed: %s", strerror(-r));
		return r;
	}
	*kek_id = strdup(label);
	if (!*kek_id) {
		secbuf_free(kek);
		return -ENOMEM;
	}
	return 0;
}

/* Is @kek_id one of ours? Fills @uuid. -ENOENT with an error if not. */
static int parse_id(struct provider *p, struct request *rq, const char *kek_id,
		    char uuid[37])
{
	struct native *n = p->priv;
	char prov[PROVIDER_NAME_MAX + 1];

	if (kdf_native_label_parse(kek_id, prov, sizeof(prov), uuid) < 0 ||
	    (strcmp(prov, p->name) && strcmp(prov, n->origin))) {
		request_error(rq, "key %s is not a key of native provider %s "
			      "(expected native:%s:<vm-uuid>)", kek_id, p->name, n->origin);
		return -ENOENT;
	}
	return 0;
}

static int native_get_kek(struct provider *p, struct daemon *d,
			  struct request *rq, const char *kek_id,
			  struct secbuf *kek)
{
	struct secbuf kdk = { 0 };
	char uuid[37];
	int r;

	r = parse_id(p, rq, kek_id, uuid);
	if (r < 0)
		return r;
	r = get_kdk(p, rq, &kdk);
	if (r < 0)
		return r;
	r = kdf_native_kek(&kdk, uuid, kek);
	secbuf_free(&kdk);
	if (r < 0)
		request_error(rq, "key derivation failed: %s", strerror(-r));
	return r;
}

static void attr(struct json_object *attrs, const char *name, const char *value)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return;
	json_object_object_add(o, "name", json_object_new_string(name));
	json_object_object_add(o, "value", json_object_new_string(value));
	json_object_array_add(attrs, o);
}

static int native_show_kek(struct provider *p, struct daemon *d,
			   struct request *rq, const char *kek_id,
			   struct json_object *attrs)
{
	struct native *n = p->priv;
	char uuid[37];
	int r = parse_id(p, rq, kek_id, uuid);

	if (r < 0)
		return r;
	attr(attrs, "Cryptographic Algorithm", "AES");
	attr(attrs, "Cryptographic Length", "256");
	attr(attrs, "Derivation", "HKDF-SHA256(KDK, \"vmcrypt kek\" || VM UUID)");
	attr(attrs, "VM UUID", uuid);
	attr(attrs, "Key Storage", n->sealed ? "derived; KDK sealed in the TPM"
					     : "derived; KDK in a file (NOT secure)");
	return 0;
}

static int native_test(struct provider *p, struct daemon *d, struct request *rq,
		       struct json_object *report)
{
	struct native *n = p->priv;
	struct secbuf kdk = { 0 };
	char fp[KDF_FPR_HEX_LEN + 1];
	int r = get_kdk(p, rq, &kdk);

	json_object_object_add(report, "key_storage", json_object_new_string(
		n->sealed ? "tpm" : "file (NOT secure)"));
	json_object_object_add(report, "backed_up", json_object_new_boolean(backed_up(n, NULL, 0)));
	json_object_object_add(report, "kdk_usable", json_object_new_boolean(r == 0));
	if (r == 0 && kdf_fingerprint(&kdk, fp) == 0)
		json_object_object_add(report, "kdk_fingerprint", json_object_new_string(fp));
	if (r < 0)
		json_object_object_add(report, "error", json_object_new_string(rq->error));
	secbuf_free(&kdk);
	return r;
}

static int native_remove(struct provider *p, struct daemon *d)
{
	struct native *n = p->priv;
	int r = atomicfile_shred_dir(n->dir);

	if (r < 0)
		log_err("provider %s removed, but its directory %s could not be "
			"removed: %s", p->name, n->dir, strerror(-r));
	return r;
}

/* Whether @name is a native provider in the registry. */
static bool native_registered(struct daemon *d, const char *name)
{
	struct provider *p;
	bool yes;

	if (provider_get(d, NULL, name, &p) < 0)
		return false;
	yes = p->ops == &native_provider_ops;
	provider_put(p);
	return yes;
}

/*
 * STATE_DIR/native/NAME belongs to no native provider: an add or restore
 * killed after the rename into place but before providers.json named it,
 * or a remove killed between the two. Its key may be the only copy on
 * this host (a remove cut short of the wrong provider, a providers.json
 * lost), so it is set aside as .orphan-NAME-<time>, never wiped, and the
 * name is free again.
 */
static void native_set_aside(struct daemon *d, const char *base, const char *name)
{
	char path[PATH_MAX], aside[PATH_MAX], detail[PATH_MAX + 128];
	int r;

	if (snprintf(path, sizeof(path), "%s/%s", base, name) >= (int)sizeof(path) ||
	    snprintf(aside, sizeof(aside), "%s/.orphan-%s-%lld", base, name,
		     (long long)time(NULL)) >= (int)sizeof(aside))
		return;
	r = renameat2(AT_FDCWD, path, AT_FDCWD, aside, RENAME_NOREPLACE) < 0 ?
		-errno : atomicfile_sync_dir(aside);
	snprintf(detail, sizeof(detail), "native/%s belongs to no provider (an add, "
		 "restore or remove cut short)%s%s", name, r ? "" : ": set aside as ",
		 r ? "" : aside + strlen(base) + 1);
	if (r)
		log_err("%s; cannot set it aside: %s", detail, strerror(-r));
	else
		log_warn("%s; restore the provider from its backup, or remove it", detail);
	daemon_event(d, (struct event){ .event = "provider.orphaned",
		     .provider = name, .result = r ? "error" : "ok",
		     .error = r ? strerror(-r) : NULL, .detail = detail });
}

/*
 * Once the registry is loaded. Wipe STATE_DIR/native/.new-*: a provider
 * add or restore killed between building its directory and renaming it
 * into place (store_new()); such a directory belongs to no provider, and
 * without a TPM it holds the KDK unsealed. A symlink planted under that
 * name is removed, never followed. In the providers' own directories, the
 * temporary files of a write cut short go too; a directory of no provider
 * is set aside (native_set_aside()). Other names starting with '.' (the
 * orphans set aside) are the admin's.
 */
static void native_sweep(struct daemon *d)
{
	char base[PATH_MAX], path[PATH_MAX], left[PATH_MAX] = "", detail[128];
	unsigned int wiped = 0;
	struct dirent *de;
	struct stat st;
	DIR *dir;
	int r;

	if (snprintf(base, sizeof(base), "%s/%s", d->state_dir, NATIVE_DIR) >=
	    (int)sizeof(base))
		return;
	dir = opendir(base);
	if (!dir)
		return;
	while ((de = readdir(dir))) {
		if (snprintf(path, sizeof(path), "%s/%s", base, de->d_name) >=
		    (int)sizeof(path))
			continue;
		if (de->d_name[0] != '.') {
			if (lstat(path, &st) < 0 || !S_ISDIR(st.st_mode))
				continue;
			if (!native_registered(d, de->d_name)) {
				native_set_aside(d, base, de->d_name);
				continue;
			}
			/* a provider's own directory: a write cut short there */
			r = atomicfile_sweep_tmp(path);
			if (r > 0)
				wiped += (unsigned int)r;
			continue;
		}
		if (strncmp(de->d_name, ".new-", 5))
			continue;
		r = atomicfile_wipe(path);
		if (!r) {
			wiped++;
		} else {
			log_err("native provider: cannot wipe %s, left by an interrupted "
				"provider add or restore: %s; remove it by hand", path,
				strerror(-r));
			snprintf(left, sizeof(left), "%s", path);
		}
	}
	closedir(dir);
	if (!wiped && !left[0])
		return;
	snprintf(detail, sizeof(detail),
		 "native: %u leftovers of an interrupted add, restore or write%s",
		 wiped, left[0] ? "; one could not be wiped" : "");
	if (wiped)
		log_info("native provider: wiped %u leftovers of an interrupted add, restore or write",
			 wiped);
	daemon_event(d, (struct event){ .event = "provider.swept",
		     .result = left[0] ? "error" : "ok", .detail = detail,
		     .error = left[0] ? left : NULL });
}

static void native_free(struct provider *p)
{
	native_free_priv(p->priv);
	free(p);
}

const struct provider_ops native_provider_ops = {
	.type = "native",
	.create = native_create,
	.create_args = (const char *const[]){ "allow_no_tpm", NULL },
	.from_json = native_from_json,
	.to_json = native_to_json,
	.describe = native_describe,
	.create_kek = native_create_kek,
	.get_kek = native_get_kek,
	.show_kek = native_show_kek,
	.test = native_test,
	.remove = native_remove,
	.sweep = native_sweep,
	.free = native_free,
};

static int build(struct daemon *d, const char *name, bool sealed,
		 const char *origin, struct provider **out)
{
	struct native *n = native_new(d, name, sealed, origin);
	struct provider *p;

	if (!n)
		return -ENOMEM;
	p = provider_alloc(&native_provider_ops, name, n);
	if (!p) {
		native_free_priv(n);
		return -ENOMEM;
	}
	*out = p;
	return 0;
}

/* ---- backup / restore operations ---- */

/* Take the passphrase out of the request, wiping the JSON copy. */
static int take_passphrase(struct request *rq, struct json_object *args,
			   struct secbuf *pass)
{
	const char *s;
	size_t len;
	int r;

	r = args_string(rq, args, "passphrase", true, &s);
	if (r < 0)
		return r;
	len = strlen(s);
	if (len < KDKBACKUP_MIN_PASS || len > KDKBACKUP_MAX_PASS) {
		secure_wipe((char *)s, len);
		request_error(rq, "the passphrase must have %d to %d characters",
			      KDKBACKUP_MIN_PASS, KDKBACKUP_MAX_PASS);
		return -EINVAL;
	}
	r = secbuf_dup(pass, s, len);
	secure_wipe((char *)s, len);
	return r;
}

static int take_pkcs12(struct request *rq, struct json_object *args,
		       uint8_t **der, size_t *len)
{
	const char *b64;
	size_t n, pad = 0;
	int got;

	*der = NULL;
	*len = 0;
	if (args_string(rq, args, "pkcs12", true, &b64) < 0)
		return -EINVAL;
	n = strlen(b64);
	if (n == 0 || n % 4 || n > 4 * ((KDKBACKUP_MAX_FILE + 2) / 3)) {
		request_error(rq, "the backup is not valid base64 or too large");
		return -EINVAL;
	}
	*der = malloc(n / 4 * 3);
	if (!*der)
		return -ENOMEM;
	got = EVP_DecodeBlock(*der, (const unsigned char *)b64, (int)n);
	if (got < 0) {
		free(*der);
		*der = NULL;
		request_error(rq, "the backup is not valid base64");
		return -EINVAL;
	}
	if (b64[n - 1] == '=')
		pad++;
	if (b64[n - 2] == '=')
		pad++;
	*len = (size_t)got - pad;
	return 0;
}

static int native_ref(struct daemon *d, struct request *rq, const char *name,
		      struct provider **out)
{
	int r = provider_get(d, rq, name, out);

	if (r < 0)
		return r;
	if ((*out)->ops != &native_provider_ops) {
		request_error(rq, "provider %s is not a native provider", name);
		provider_put(*out);
		return -EINVAL;
	}
	return 0;
}

int op_provider_backup(struct daemon *d, struct request *rq,
		       struct json_object *args, struct json_object *result)
{
	struct secbuf pass = { 0 }, kdk = { 0 };
	struct provider *p = NULL;
	char fp[KDF_FPR_HEX_LEN + 1];
	const char *name;
	uint8_t *der = NULL;
	char *b64 = NULL;
	size_t len = 0;
	int r;

	r = args_string(rq, args, "name", true, &name);
	if (r == 0)
		r = take_passphrase(rq, args, &pass);
	if (r == 0)
		r = native_ref(d, rq, name, &p);
	if (r == 0)
		r = get_kdk(p, rq, &kdk);
	if (r == 0) {
		r = kdkbackup_export(&kdk, ((struct native *)p->priv)->origin, &pass,
				     &der, &len);
		if (r < 0)
			request_error(rq, "cannot build the backup: %s", strerror(-r));
	}
	if (r == 0)
		r = kdf_fingerprint(&kdk, fp);
	if (r == 0) {
		b64 = malloc(4 * ((len + 2) / 3) + 1);
		if (!b64)
			r = -ENOMEM;
		else
			EVP_EncodeBlock((unsigned char *)b64, der, (int)len);
	}
	if (r == 0) {
		json_object_object_add(result, "name", json_object_new_string(p->name));
		json_object_object_add(result, "pkcs12", json_object_new_string(b64));
		json_object_object_add(result, "kdk_fingerprint", json_object_new_string(fp));
	}
	request_event(d, rq, (struct event){ .event = "provider.backup_exported",
		      .provider = p ? p->name : NULL, .result = r < 0 ? "error" : "ok",
		      .error = r < 0 ? rq->error : NULL,
		      .detail = "PKCS#12, awaiting verification" });
	free(b64);
	free(der);
	secbuf_free(&kdk);
	secbuf_free(&pass);
	provider_put(p);
	return r;
}

int op_provider_backup_verify(struct daemon *d, struct request *rq,
			      struct json_object *args, struct json_object *result)
{
	struct secbuf pass = { 0 }, kdk = { 0 }, got = { 0 };
	struct provider *p = NULL;
	char prov[PROVIDER_NAME_MAX + 1];
	const char *name;
	uint8_t *der = NULL;
	size_t len = 0;
	int r;

	r = args_string(rq, args, "name", true, &name);
	if (r == 0)
		r = take_passphrase(rq, args, &pass);
	if (r == 0)
		r = take_pkcs12(rq, args, &der, &len);
	if (r == 0)
		r = native_ref(d, rq, name, &p);
	if (r == 0)
		r = get_kdk(p, rq, &kdk);
	if (r == 0) {
		r = kdkbackup_import(der, len, &pass, &got, prov, sizeof(prov));
		if (r < 0)
			request_error(rq, "the backup file does not open: %s",
				      r == -EKEYREJECTED ? "wrong passphrase" :
				      "not a vmcrypt KDK backup or damaged");
	}
	if (r == 0 && (got.len != kdk.len || secure_memcmp(got.data, kdk.data, kdk.len))) {
		request_error(rq, "the backup file holds another key than provider %s", name);
		r = -EKEYREJECTED;
	}
	if (r == 0) {
		r = mark_backed_up(((struct native *)p->priv)->dir);
		if (r < 0)
			request_error(rq, "cannot record the backup: %s", strerror(-r));
	}
	request_event(d, rq, (struct event){ .event = "provider.backed_up",
		      .provider = p ? p->name : name, .result = r < 0 ? "error" : "ok",
		      .error = r < 0 ? rq->error : NULL });
	if (r == 0)
		json_object_object_add(result, "backed_up", json_object_new_boolean(1));
	free(der);
	secbuf_free(&got);
	secbuf_free(&kdk);
	secbuf_free(&pass);
	provider_put(p);
	return r;
}

int op_provider_restore(struct daemon *d, struct request *rq,
			struct json_object *args, struct json_object *result)
{
	struct secbuf pass = { 0 }, kdk = { 0 };
	struct provider *p = NULL;
	char origin[PROVIDER_NAME_MAX + 1], fp[KDF_FPR_HEX_LEN + 1], dir[PATH_MAX];
	const char *name = NULL;
	bool allow = false, sealed = false, made_default = false;
	uint8_t *der = NULL;
	size_t len = 0;
	int r, stored = 0;

	r = args_string(rq, args, "name", false, &name);
	if (r == -ENOENT)
		r = 0;
	if (r == 0) {
		r = args_bool(rq, args, "allow_no_tpm", &allow);
		if (r == -ENOENT)
			r = 0;
	}
	if (r == 0)
		r = take_passphrase(rq, args, &pass);
	if (r == 0)
		r = take_pkcs12(rq, args, &der, &len);
	if (r == 0) {
		r = kdkbackup_import(der, len, &pass, &kdk, origin, sizeof(origin));
		if (r < 0)
			request_error(rq, "the backup file does not open: %s",
				      r == -EKEYREJECTED ? "wrong passphrase" :
				      "not a vmcrypt KDK backup or damaged");
	}
	if (r == 0 && !name)
		name = origin;
	if (r == 0)
		r = validate_name(rq, "provider name", name);
	if (r == 0 && provider_get(d, NULL, name, &p) == 0) {
		provider_put(p);
		p = NULL;
		request_error(rq, "a provider named '%s' already exists (use --name)", name);
		r = -EEXIST;
	}
	if (r == 0) {
		r = store_new(d, rq, name, &kdk, allow, true, &sealed);
		stored = r == 0;
	}
	if (r == 0)
		r = build(d, name, sealed, origin, &p);
	/* Last the registry: once added, the provider must keep its files. */
	if (r == 0)
		r = kdf_fingerprint(&kdk, fp);
	if (r == 0)
		r = registry_add(d, rq, p, &made_default);
	if (r < 0 && stored) {
		snprintf(dir, sizeof(dir), "%s/%s/%s", d->state_dir, NATIVE_DIR, name);
		atomicfile_shred_dir(dir);
	}
	request_event(d, rq, (struct event){ .event = "provider.restored",
		      .provider = name, .result = r < 0 ? "error" : "ok",
		      .error = r < 0 ? rq->error : NULL,
		      .detail = r < 0 ? NULL : sealed ? "native, KDK sealed in the TPM" :
			      "native, no TPM: KDK in a root-only file, NOT secure" });
	if (r == 0 && made_default)
		request_event(d, rq, (struct event){ .event = "provider.default",
			      .provider = name, .result = "ok",
			      .detail = "first provider added" });
	if (r == 0) {
		json_object_object_add(result, "name", json_object_new_string(name));
		json_object_object_add(result, "restored_from", json_object_new_string(origin));
		json_object_object_add(result, "default", json_object_new_boolean(made_default));
		json_object_object_add(result, "secure", json_object_new_boolean(sealed));
		json_object_object_add(result, "kdk_fingerprint", json_object_new_string(fp));
	}
	free(der);
	secbuf_free(&kdk);
	secbuf_free(&pass);
	provider_put(p);
	return r;
}
