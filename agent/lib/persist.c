// SPDX-License-Identifier: GPL-2.0
/*
 * persist.c - the sealed KEK cache (format and layout in persist.h).
 *
 * Key bytes live in one mlocked arena with a fixed 64-byte slot per entry
 * (slot i belongs to entry i), so a thousand KEKs cost one mapping, not a
 * thousand. Each change rewrites the whole cache file with a fresh nonce
 * through atomicfile_write(): a crash leaves the old or the new file.
 */
#include "lib/persist.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "lib/atomicfile.h"
#include "lib/tpm.h"

#define SLOT 64
#define NONCE_LEN 12

struct pentry {
	char *provider;
	char *id;
	uint8_t key_len;
	uint64_t added;
};

struct persist {
	pthread_mutex_t lock;
	char *dir;		/* STATE_DIR/persist; NULL when detached */
	struct secbuf key;	/* the persistence key (empty when detached) */
	struct pentry *e;
	size_t n, cap;
	struct secbuf slots;	/* cap * SLOT bytes of key material */
	uint64_t generation;
};

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	put_be16(p, v >> 16);
	put_be16(p + 2, v & 0xffff);
}

static void put_be64(uint8_t *p, uint64_t v)
{
	put_be32(p, v >> 32);
	put_be32(p + 4, v & 0xffffffff);
}

static uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)get_be16(p) << 16 | get_be16(p + 2);
}

static uint64_t get_be64(const uint8_t *p)
{
	return (uint64_t)get_be32(p) << 32 | get_be32(p + 4);
}

static uint8_t *slot(struct persist *p, size_t i)
{
	return p->slots.data + i * SLOT;
}

int persist_new_detached(struct persist **out)
{
	struct persist *p = calloc(1, sizeof(*p));

	*out = NULL;
	if (!p)
		return -ENOMEM;
	pthread_mutex_init(&p->lock, NULL);
	*out = p;
	return 0;
}

void persist_close(struct persist *p)
{
	size_t i;

	if (!p)
		return;
	for (i = 0; i < p->n; i++) {
		free(p->e[i].provider);
		free(p->e[i].id);
	}
	free(p->e);
	secbuf_free(&p->slots);
	secbuf_free(&p->key);
	free(p->dir);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

static int grow(struct persist *p)
{
	struct secbuf nslots;
	struct pentry *ne;
	size_t ncap;
	int r;

	if (p->n < p->cap)
		return 0;
	if (p->n >= PERSIST_MAX_ENTRIES)
		return -ENOSPC;
	ncap = p->cap ? p->cap * 2 : 64;
	if (ncap > PERSIST_MAX_ENTRIES)
		ncap = PERSIST_MAX_ENTRIES;
	ne = realloc(p->e, ncap * sizeof(*ne));
	if (!ne)
		return -ENOMEM;
	p->e = ne;
	r = secbuf_alloc(&nslots, ncap * SLOT);
	if (r < 0)
		return r;
	if (p->n)
		memcpy(nslots.data, p->slots.data, p->n * SLOT);
	secbuf_free(&p->slots);
	p->slots = nslots;
	p->cap = ncap;
	return 0;
}

static ssize_t find(struct persist *p, const char *provider, const char *id)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		if (!strcmp(p->e[i].id, id) && !strcmp(p->e[i].provider, provider))
			return (ssize_t)i;
	return -1;
}

static int entry_ok(const char *provider, const char *id, size_t key_len)
{
	size_t pl = strlen(provider), il = strlen(id);

	return pl >= 1 && pl <= PERSIST_PROVIDER_MAX && il >= 1 &&
	       il <= PERSIST_ID_MAX && key_len >= 16 && key_len <= SLOT;
}

/* Append without checks for duplicates (the caller did). */
static int append(struct persist *p, const char *provider, size_t pl,
		  const char *id, size_t il, const uint8_t *key,
		  size_t key_len, uint64_t added)
{
	struct pentry *e;
	int r;

	r = grow(p);
	if (r < 0)
		return r;
	e = &p->e[p->n];
	e->provider = strndup(provider, pl);
	e->id = strndup(id, il);
	if (!e->provider || !e->id) {
		free(e->provider);
		free(e->id);
		return -ENOMEM;
	}
	e->key_len = (uint8_t)key_len;
	e->added = added;
	memcpy(slot(p, p->n), key, key_len);
	p->n++;
	return 0;
}

static void drop(struct persist *p, size_t i)
{
	size_t last = p->n - 1;

	free(p->e[i].provider);
	free(p->e[i].id);
	if (i != last) {
		p->e[i] = p->e[last];
		memcpy(slot(p, i), slot(p, last), SLOT);
	}
	secure_wipe(slot(p, last), SLOT);
	p->n--;
}

/* ---- codec ---- */

static int gcm(int enc, const struct secbuf *key, const uint8_t *nonce,
	       const uint8_t *aad, size_t aadlen, const uint8_t *in,
	       size_t len, uint8_t *out, uint8_t *tag)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int ok, outl = 0, fin = 0;

	if (!c)
		return -ENOMEM;
	if (len > INT_MAX) {
		EVP_CIPHER_CTX_free(c);
		return -EFBIG;
	}
	ok = EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL, enc) &&
	     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN, NULL) &&
	     EVP_CipherInit_ex(c, NULL, NULL, key->data, nonce, enc) &&
	     EVP_CipherUpdate(c, NULL, &outl, aad, (int)aadlen) &&
	     (len == 0 || EVP_CipherUpdate(c, out, &outl, in, (int)len));
	if (ok && !enc)
		ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG,
					 PERSIST_TAG_LEN, tag);
	if (ok)
		ok = EVP_CipherFinal_ex(c, out + (len ? outl : 0), &fin) == 1;
	if (ok && enc)
		ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG,
					 PERSIST_TAG_LEN, tag);
	EVP_CIPHER_CTX_free(c);
	if (!ok)
		return enc ? -EIO : -EBADMSG;
	return 0;
}

int persist_encode(struct persist *p, const struct secbuf *key,
		   uint8_t **buf, size_t *len)
{
	struct secbuf pt = { 0 };
	uint8_t *out, *q;
	size_t ptlen = 4, i, total;
	int r;

	*buf = NULL;
	*len = 0;
	if (key->len != PERSIST_KEY_LEN)
		return -EINVAL;
	for (i = 0; i < p->n; i++)
		ptlen += 1 + strlen(p->e[i].provider) + 2 +
			 strlen(p->e[i].id) + 2 + p->e[i].key_len + 8;
	if (ptlen > PERSIST_MAX_FILE - PERSIST_HDR_LEN - PERSIST_TAG_LEN)
		return -EFBIG;
	total = PERSIST_HDR_LEN + ptlen + PERSIST_TAG_LEN;
	out = malloc(total);
	if (!out)
		return -ENOMEM;
	r = secbuf_alloc(&pt, ptlen);
	if (r < 0)
		goto fail;
	q = pt.data;
	put_be32(q, (uint32_t)p->n);
	q += 4;
	for (i = 0; i < p->n; i++) {
		const struct pentry *e = &p->e[i];
		size_t pl = strlen(e->provider), il = strlen(e->id);

		*q++ = (uint8_t)pl;
		memcpy(q, e->provider, pl);
		q += pl;
		put_be16(q, (uint16_t)il);
		memcpy(q + 2, e->id, il);
		q += 2 + il;
		put_be16(q, e->key_len);
		memcpy(q + 2, slot(p, i), e->key_len);
		q += 2 + e->key_len;
		put_be64(q, e->added);
		q += 8;
	}

	memcpy(out, PERSIST_MAGIC, 8);
	put_be16(out + 8, PERSIST_VERSION);
	put_be16(out + 10, 0);
	put_be32(out + 12, PERSIST_HDR_LEN);
	put_be64(out + 16, p->generation + 1);
	if (RAND_bytes(out + 24, NONCE_LEN) != 1) {
		r = -EIO;
		goto fail;
	}
	put_be32(out + 36, (uint32_t)ptlen);
	r = gcm(1, key, out + 24, out, PERSIST_HDR_LEN, pt.data, ptlen,
		out + PERSIST_HDR_LEN, out + PERSIST_HDR_LEN + ptlen);
	if (r < 0)
		goto fail;
	secbuf_free(&pt);
	p->generation++;
	*buf = out;
	*len = total;
	return 0;
fail:
	secbuf_free(&pt);
	free(out);
	return r;
}

static int cmp_entry(const void *a, const void *b)
{
	const struct pentry *x = *(const struct pentry *const *)a;
	const struct pentry *y = *(const struct pentry *const *)b;
	int c = strcmp(x->provider, y->provider);

	return c ? c : strcmp(x->id, y->id);
}

static int check_unique(struct persist *p)
{
	const struct pentry **v;
	size_t i;
	int r = 0;

	if (p->n < 2)
		return 0;
	v = malloc(p->n * sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (i = 0; i < p->n; i++)
		v[i] = &p->e[i];
	qsort(v, p->n, sizeof(*v), cmp_entry);
	for (i = 1; i < p->n && !r; i++)
		if (!cmp_entry(&v[i - 1], &v[i]))
			r = -EBADMSG;
	free(v);
	return r;
}

static int parse_plain(struct persist *p, const uint8_t *q, size_t len)
{
	const uint8_t *end = q + len;
	uint32_t count, i;
	int r;

	if (len < 4)
		return -EBADMSG;
	count = get_be32(q);
	q += 4;
	/* Smallest entry is 1+1+2+1+2+16+8 bytes: bound count by length. */
	if (count > PERSIST_MAX_ENTRIES || count > (size_t)(end - q) / 31)
		return -EBADMSG;
	for (i = 0; i < count; i++) {
		const char *prov, *id;
		size_t pl, il, kl;
		const uint8_t *key;

		if (end - q < 1)
			return -EBADMSG;
		pl = *q++;
		if (pl < 1 || pl > PERSIST_PROVIDER_MAX || (size_t)(end - q) < pl + 2)
			return -EBADMSG;
		prov = (const char *)q;
		q += pl;
		il = get_be16(q);
		q += 2;
		if (il < 1 || il > PERSIST_ID_MAX || (size_t)(end - q) < il + 2)
			return -EBADMSG;
		id = (const char *)q;
		q += il;
		kl = get_be16(q);
		q += 2;
		if (kl < 16 || kl > SLOT || (size_t)(end - q) < kl + 8)
			return -EBADMSG;
		key = q;
		q += kl;
		if (memchr(prov, '\0', pl) || memchr(id, '\0', il))
			return -EBADMSG;
		r = append(p, prov, pl, id, il, key, kl, get_be64(q));
		if (r < 0)
			return r;
		q += 8;
	}
	if (q != end)
		return -EBADMSG;
	return check_unique(p);
}

int persist_decode(const struct secbuf *key, const uint8_t *buf, size_t len,
		   struct persist **out)
{
	struct secbuf pt = { 0 };
	struct persist *p = NULL;
	uint32_t ctlen;
	int r;

	*out = NULL;
	if (key->len != PERSIST_KEY_LEN)
		return -EINVAL;
	if (len < PERSIST_HDR_LEN + PERSIST_TAG_LEN || len > PERSIST_MAX_FILE)
		return -EBADMSG;
	if (memcmp(buf, PERSIST_MAGIC, 8))
		return -EBADMSG;
	if (get_be16(buf + 8) != PERSIST_VERSION)
		return -EPROTONOSUPPORT;
	if (get_be16(buf + 10) != 0 || get_be32(buf + 12) != PERSIST_HDR_LEN)
		return -EBADMSG;
	ctlen = get_be32(buf + 36);
	if ((size_t)ctlen != len - PERSIST_HDR_LEN - PERSIST_TAG_LEN)
		return -EBADMSG;
	r = secbuf_alloc(&pt, ctlen ? ctlen : 1);
	if (r < 0)
		return r;
	r = gcm(0, key, buf + 24, buf, PERSIST_HDR_LEN, buf + PERSIST_HDR_LEN,
		ctlen, pt.data, (uint8_t *)buf + PERSIST_HDR_LEN + ctlen);
	if (r < 0)
		goto out;
	r = persist_new_detached(&p);
	if (r < 0)
		goto out;
	p->generation = get_be64(buf + 16);
	r = parse_plain(p, pt.data, ctlen);
	if (r < 0) {
		persist_close(p);
		goto out;
	}
	*out = p;
out:
	secbuf_free(&pt);
	return r;
}

/* ---- directory handling ---- */

static int join(char *buf, size_t len, const char *a, const char *b)
{
	return snprintf(buf, len, "%s/%s", a, b) >= (int)len ? -ENAMETOOLONG : 0;
}

int persist_enabled(const char *state_dir)
{
	char path[PATH_MAX];
	struct stat st;
	int r = join(path, sizeof(path), state_dir, PERSIST_DIR);

	if (r < 0)
		return r;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	return S_ISDIR(st.st_mode) ? 1 : -ENOTDIR;
}

int persist_pcrs(const char *state_dir, uint32_t *mask)
{
	struct tpm_sealed s;
	char dir[PATH_MAX];
	int r = join(dir, sizeof(dir), state_dir, PERSIST_DIR);

	if (r < 0)
		return r;
	r = tpm_sealed_load(dir, PERSIST_KEY, &s);
	if (r < 0)
		return r;
	*mask = s.pcr_mask;
	tpm_sealed_free(&s);
	return 0;
}

static int write_cache(const char *dir, struct persist *p,
		       const struct secbuf *key)
{
	char path[PATH_MAX];
	uint8_t *buf;
	size_t len;
	int r;

	r = join(path, sizeof(path), dir, PERSIST_CACHE);
	if (r < 0)
		return r;
	r = persist_encode(p, key, &buf, &len);
	if (r < 0)
		return r;
	r = atomicfile_write(path, buf, len, 0600);
	free(buf);
	return r;
}

static void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

int persist_enable(const char *state_dir, const char *tcti, uint32_t pcr_mask,
		   char *err, size_t errlen)
{
	char final[PATH_MAX], tmp[PATH_MAX];
	struct secbuf key = { 0 }, check = { 0 };
	struct tpm_sealed s = { 0 };
	struct persist *empty = NULL;
	struct tpm *t = NULL;
	int r, made = 0;

	set_err(err, errlen, "%s", "");
	r = join(final, sizeof(final), state_dir, PERSIST_DIR);
	if (r < 0)
		return r;
	r = persist_enabled(state_dir);
	if (r < 0)
		return r;
	if (r > 0)
		return -EEXIST;
	r = tpm_open(tcti, &t);
	if (r < 0) {
		set_err(err, errlen, "%s", tpm_strerror(r));
		return r;
	}
	r = secbuf_alloc(&key, PERSIST_KEY_LEN);
	if (r < 0)
		goto out;
	if (RAND_priv_bytes(key.data, (int)key.len) != 1) {
		r = -EIO;
		goto out;
	}
	r = tpm_seal(t, &key, pcr_mask, &s);
	/* Prove the round trip before anything depends on it. */
	if (!r)
		r = tpm_unseal(t, &s, &check);
	if (!r && (check.len != key.len ||
		   secure_memcmp(check.data, key.data, key.len)))
		r = -EIO;
	if (r < 0) {
		set_err(err, errlen, "%s (%s)", tpm_strerror(r), tpm_error(t));
		goto out;
	}
	if (snprintf(tmp, sizeof(tmp), "%s/.persist.new-XXXXXX", state_dir) >=
	    (int)sizeof(tmp)) {
		r = -ENAMETOOLONG;
		goto out;
	}
	if (!mkdtemp(tmp)) {
		r = -errno;
		goto out;
	}
	made = 1;
	r = tpm_sealed_save(tmp, PERSIST_KEY, &s);
	if (r < 0)
		goto out;
	r = persist_new_detached(&empty);
	if (r < 0)
		goto out;
	r = write_cache(tmp, empty, &key);
	if (r < 0)
		goto out;
	if (rename(tmp, final) < 0) {
		r = errno == ENOTEMPTY ? -EEXIST : -errno;
		goto out;
	}
	made = 0;
	r = atomicfile_sync_dir(final);
out:
	if (made)
		atomicfile_shred_dir(tmp);
	persist_close(empty);
	tpm_sealed_free(&s);
	secbuf_free(&key);
	secbuf_free(&check);
	tpm_close(t);
	return r;
}

static unsigned int disable_seq;

int persist_disable(const char *state_dir, char *left, size_t leftlen)
{
	char final[PATH_MAX], tmp[PATH_MAX];
	int r;

	if (leftlen)
		left[0] = '\0';

	r = join(final, sizeof(final), state_dir, PERSIST_DIR);
	if (r < 0)
		return r;
	r = persist_enabled(state_dir);
	if (r <= 0)
		return r < 0 ? r : -ENOENT;
	/*
	 * Rename first: persistence is off at once, even if shredding stops.
	 * A name of its own each time: an earlier disable may have left its
	 * directory behind (persist_sweep() removes it at the next start).
	 */
	if (snprintf(tmp, sizeof(tmp), "%s/.persist.disabling-%ld-%u", state_dir,
		     (long)getpid(), __atomic_add_fetch(&disable_seq, 1, __ATOMIC_RELAXED)) >=
	    (int)sizeof(tmp))
		return -ENAMETOOLONG;
	if (rename(final, tmp) < 0)
		return -errno;
	r = atomicfile_sync_dir(final);
	if (!r)
		r = atomicfile_shred_dir(tmp);
	if (r < 0) {
		/* Off already; persist_sweep() finishes the wipe later. */
		snprintf(left, leftlen, "%s", tmp);
		return r;
	}
	return atomicfile_sync_dir(final);
}

/* Leftovers of an interrupted enable or disable: ".persist.new-*", ".persist.disabling-*". */
static bool is_leftover(const char *name)
{
	static const char *const prefixes[] = {
		"." PERSIST_DIR ".new-", "." PERSIST_DIR ".disabling-",
	};
	size_t i;

	for (i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (!strncmp(name, prefixes[i], strlen(prefixes[i])))
			return true;
	return false;
}

int persist_sweep(const char *state_dir, unsigned int *wiped, char *left,
		  size_t leftlen)
{
	char path[PATH_MAX];
	struct dirent *de;
	int r = 0, rr;
	DIR *d;

	*wiped = 0;
	if (leftlen)
		left[0] = '\0';
	d = opendir(state_dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		if (!is_leftover(de->d_name))
			continue;
		rr = join(path, sizeof(path), state_dir, de->d_name);
		if (!rr)
			rr = atomicfile_wipe(path);
		if (!rr) {
			(*wiped)++;
		} else if (!r) {
			r = rr;
			snprintf(left, leftlen, "%s", path);
		}
	}
	closedir(d);
	if (*wiped) {
		rr = join(path, sizeof(path), state_dir, PERSIST_DIR);
		if (!rr)
			rr = atomicfile_sync_dir(path);
		if (rr < 0 && !r)
			r = rr;
	}
	/* A cache write cut short: its temporary file, the old keys and all. */
	rr = join(path, sizeof(path), state_dir, PERSIST_DIR);
	if (!rr)
		rr = atomicfile_sweep_tmp(path);
	if (rr > 0)
		*wiped += (unsigned int)rr;
	else if (rr < 0 && !r) {
		r = rr;
		snprintf(left, leftlen, "%s", path);
	}
	return r;
}

int persist_set_aside(const char *state_dir, const char *suffix, char *out,
		      size_t outlen)
{
	char final[PATH_MAX];
	int r;

	r = join(final, sizeof(final), state_dir, PERSIST_DIR);
	if (r < 0)
		return r;
	return atomicfile_set_aside(final, suffix, out, outlen);
}

int persist_open(const char *state_dir, const char *tcti, struct persist **out,
		 char *err, size_t errlen)
{
	char dir[PATH_MAX], path[PATH_MAX];
	struct tpm_sealed s = { 0 };
	struct secbuf key = { 0 };
	struct tpm *t = NULL;
	struct persist *p = NULL;
	uint8_t *buf = NULL;
	size_t len = 0;
	int r;

	*out = NULL;
	set_err(err, errlen, "%s", "");
	r = join(dir, sizeof(dir), state_dir, PERSIST_DIR);
	if (r < 0)
		return r;
	r = persist_enabled(state_dir);
	if (r <= 0)
		return r < 0 ? r : -ENOENT;
	r = tpm_sealed_load(dir, PERSIST_KEY, &s);
	if (r < 0) {
		set_err(err, errlen, "sealed persistence key %s/key.*: %s", dir,
			r == -ENOENT ? "missing" : "corrupt");
		return r == -ENOENT ? -EBADMSG : r;
	}
	/* Read the cache before the TPM: a bad file needs no unseal. */
	r = join(path, sizeof(path), dir, PERSIST_CACHE);
	if (!r)
		r = atomicfile_read(path, PERSIST_MAX_FILE, &buf, &len);
	if (r < 0) {
		set_err(err, errlen, "KEK cache %s: %s", path,
			r == -ENOENT ? "missing" : strerror(-r));
		if (r == -ENOENT || r == -EFBIG)
			r = -EBADMSG;
		goto out;
	}
	r = tpm_open(tcti, &t);
	if (r < 0) {
		set_err(err, errlen, "%s", tpm_strerror(r));
		goto out;
	}
	r = tpm_unseal(t, &s, &key);
	if (r < 0) {
		set_err(err, errlen, "%s (%s)", tpm_strerror(r), tpm_error(t));
		goto out;
	}
	if (key.len != PERSIST_KEY_LEN) {
		set_err(err, errlen, "sealed persistence key has the wrong size");
		r = -EBADMSG;
		goto out;
	}
	r = persist_decode(&key, buf, len, &p);
	if (r < 0) {
		set_err(err, errlen, "KEK cache %s: %s", path,
			r == -EBADMSG ? "corrupt or truncated (authentication "
					"failed or bad structure)"
				      : strerror(-r));
		goto out;
	}
	p->dir = strdup(dir);
	if (!p->dir) {
		r = -ENOMEM;
		goto out;
	}
	p->key = key;
	key.data = NULL;
	key.len = 0;
	*out = p;
	p = NULL;
out:
	persist_close(p);
	secbuf_free(&key);
	tpm_sealed_free(&s);
	tpm_close(t);
	free(buf);
	return r;
}

/* ---- accessors ---- */

size_t persist_count(struct persist *p)
{
	size_t n;

	pthread_mutex_lock(&p->lock);
	n = p->n;
	pthread_mutex_unlock(&p->lock);
	return n;
}

int persist_get(struct persist *p, const char *provider, const char *kek_id,
		struct secbuf *kek)
{
	ssize_t i;
	int r;

	kek->data = NULL;
	kek->len = 0;
	pthread_mutex_lock(&p->lock);
	i = find(p, provider, kek_id);
	if (i < 0)
		r = -ENOENT;
	else
		r = secbuf_dup(kek, slot(p, (size_t)i), p->e[i].key_len);
	pthread_mutex_unlock(&p->lock);
	return r;
}

/* Rewrite the file if attached. Called with the lock held. */
static int sync_locked(struct persist *p)
{
	if (!p->dir)
		return 0;
	return write_cache(p->dir, p, &p->key);
}

int persist_put(struct persist *p, const char *provider, const char *kek_id,
		const struct secbuf *kek)
{
	ssize_t i;
	int r;

	if (!entry_ok(provider, kek_id, kek->len))
		return -EINVAL;
	pthread_mutex_lock(&p->lock);
	i = find(p, provider, kek_id);
	if (i >= 0) {
		if (p->e[i].key_len == kek->len &&
		    !secure_memcmp(slot(p, (size_t)i), kek->data, kek->len)) {
			pthread_mutex_unlock(&p->lock);
			return 0;
		}
		secure_wipe(slot(p, (size_t)i), SLOT);
		memcpy(slot(p, (size_t)i), kek->data, kek->len);
		p->e[i].key_len = (uint8_t)kek->len;
		p->e[i].added = (uint64_t)time(NULL);
	} else {
		r = append(p, provider, strlen(provider), kek_id,
			   strlen(kek_id), kek->data, kek->len,
			   (uint64_t)time(NULL));
		if (r < 0) {
			pthread_mutex_unlock(&p->lock);
			return r;
		}
	}
	r = sync_locked(p);
	pthread_mutex_unlock(&p->lock);
	return r;
}

int persist_forget_provider(struct persist *p, const char *provider)
{
	size_t i, before;
	int r = 0;

	pthread_mutex_lock(&p->lock);
	before = p->n;
	for (i = p->n; i-- > 0;)
		if (!strcmp(p->e[i].provider, provider))
			drop(p, i);
	if (p->n != before)
		r = sync_locked(p);
	pthread_mutex_unlock(&p->lock);
	return r;
}

int persist_retain_providers(struct persist *p, const char *const *names,
			     size_t n, size_t *dropped)
{
	size_t i, j, before;
	int r = 0;

	pthread_mutex_lock(&p->lock);
	before = p->n;
	for (i = p->n; i-- > 0;) {
		for (j = 0; j < n && strcmp(p->e[i].provider, names[j]); j++)
			;
		if (j == n)
			drop(p, i);
	}
	*dropped = before - p->n;
	if (*dropped)
		r = sync_locked(p);
	pthread_mutex_unlock(&p->lock);
	return r;
}

int persist_foreach(struct persist *p,
		    int (*cb)(const struct persist_entry_info *e, void *ctx),
		    void *ctx)
{
	struct persist_entry_info info;
	size_t i;
	int r = 0;

	pthread_mutex_lock(&p->lock);
	for (i = 0; i < p->n && r >= 0; i++) {
		info.provider = p->e[i].provider;
		info.kek_id = p->e[i].id;
		info.added = p->e[i].added;
		r = cb(&info, ctx);
	}
	pthread_mutex_unlock(&p->lock);
	return r < 0 ? r : 0;
}
