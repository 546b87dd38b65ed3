// SPDX-License-Identifier: GPL-2.0
/*
 * crypt.c - the data path and the key of dm-vmcrypt.
 *
 * Layout and IVs are dm-crypt's aes-xts-plain64: every sector_size data
 * unit is one XTS operation whose IV is the little-endian 64-bit sector
 * number (plus iv_offset), counted in 512-byte units, or in sector_size
 * units with iv_large_sectors.
 *
 * Writes are encrypted into bounce pages (freed ones from bounce.c's cache,
 * else from a page mempool) and the bounce bio is submitted once they
 * are. Reads are remapped as they are and decrypted in place when they
 * complete.
 *
 * A bio under 256 KiB is converted where it is, with no workqueue: a write
 * in the mapping context, a read in its completion context (on the
 * workqueue only if that is hard irq or has irqs off). A larger bio is cut
 * into 64 KiB chunks that workers on every CPU take one at a time until
 * none is left (vmc_convert_bio()), so that a CPU busy with other work
 * simply takes fewer. Each CPU's part has one skcipher request (the first
 * part in the per-bio data, the others from a mempool) and converts its
 * data units one after the other. A synchronous driver (or an asynchronous
 * one completing inline, like the SIMD wrappers when the FPU is usable)
 * does a chunk in one loop; when a driver queues a unit (cryptd), its
 * completion resumes the loop. Nothing here fails for want of memory: the
 * mempools and the bio_set guarantee forward progress, and a large read
 * that finds no parts free is converted by one CPU.
 *
 * Key bytes come only from the logon keyring, pass through one short-lived
 * kernel buffer that is wiped, and then live only inside the transform.
 */
#include <linux/key.h>
#include <linux/random.h>
#include <linux/slab.h>
#include <keys/user-type.h>
#include <uapi/linux/vmcrypt.h>

#include "vmcrypt.h"

#define VMC_MIN_IOS 64
#define VMC_MIN_POOL_PAGES BIO_MAX_VECS
#define VMC_MIN_LARGE_IOS 16	/* reserved parts for large bios */
/*
 * At most this many CPUs convert one bio, and only a bio of 2 * VMC_PART_MIN
 * bytes or more, shared out in chunks of VMC_CHUNK bytes (a multiple of
 * every sector size).
 */
#define VMC_MAX_PARTS 4
#define VMC_PART_MIN (128 * 1024)
#define VMC_CHUNK (64 * 1024)

/* Part @i of @io: the first follows the per-bio data, the others io->parts. */
static struct vmc_part *io_part(struct vmc_io *io, unsigned int i)
{
	if (!i)
		return PTR_ALIGN((void *)(io + 1), __alignof__(struct vmc_part));
	return io->parts + (i - 1) * io->vc->part_size;
}

/*
 * Allocate the transform: the module parameter driver= names one, else
 * "xts(aes)": the highest-priority implementation, as dm-crypt does, or a
 * synchronous one first with prefer_sync=1. On x86 the highest priority is
 * the SIMD "xts-aes-aesni", flagged asynchronous but completing inline
 * whenever the FPU is usable, which vmc_convert() handles without a hop;
 * the best synchronous one, "xts(ecb(aes-aesni))", saves and restores the
 * FPU for every 16-byte block and measured at half the throughput.
 */
static struct crypto_skcipher *vmc_alloc_tfm(const char *driver)
{
	/*
	 * Never a driver that allocates memory for each request (QAT's, with
	 * GFP_ATOMIC, ranks above AES-NI): I/O would fail under memory
	 * pressure. dm-crypt masks it out too.
	 */
	const u32 mask = CRYPTO_ALG_ALLOCATES_MEMORY;
	struct crypto_skcipher *tfm;

	if (*driver)
		return crypto_alloc_skcipher(driver, 0, mask);
	if (vmc_prefer_sync) {
		tfm = crypto_alloc_skcipher("xts(aes)", 0,
					    mask | CRYPTO_ALG_ASYNC);
		if (!IS_ERR(tfm))
			return tfm;
	}
	return crypto_alloc_skcipher("xts(aes)", 0, mask);
}

int vmc_crypt_init(struct vmc_dev *vc, const char *driver, char **err)
{
	struct crypto_skcipher *tfm;
	int r;

	tfm = vmc_alloc_tfm(driver);
	if (IS_ERR(tfm)) {
		*err = "Error allocating crypto tfm";
		return PTR_ERR(tfm);
	}
	vc->tfm = tfm;
	/*
	 * XTS with both halves of the key equal is weak (IEEE 1619 requires
	 * them to differ); FIPS mode refuses it anyway. The XTS drivers check
	 * this flag in their setkey.
	 */
	crypto_skcipher_set_flags(tfm, CRYPTO_TFM_REQ_FORBID_WEAK_KEYS);
	if (strcmp(crypto_tfm_alg_name(crypto_skcipher_tfm(tfm)), "xts(aes)")) {
		*err = "Crypto driver does not implement xts(aes)";
		return -EINVAL;
	}
	if (crypto_skcipher_ivsize(tfm) != 16) {
		*err = "Crypto driver has an unexpected IV size";
		return -EINVAL;
	}
	vc->async = !!(crypto_skcipher_alg(tfm)->base.cra_flags &
		       CRYPTO_ALG_ASYNC);
	vc->part_size = ALIGN(sizeof(struct vmc_part) +
			      crypto_skcipher_reqsize(tfm),
			      __alignof__(struct vmc_part));
	vc->max_parts = min_t(unsigned int, num_possible_cpus(), VMC_MAX_PARTS);
	/*
	 * Only the first part is in the per-bio data, which dm allocates (and,
	 * with init_on_alloc, zeroes) for every bio: at 416 bytes a part, all
	 * of them there made every 4k I/O's object 1.5 times the size of
	 * dm-crypt's with 2 CPUs and twice with 4.
	 */
	vc->ti->per_io_data_size = sizeof(struct vmc_io) +
		__alignof__(struct vmc_part) + vc->part_size;
	if (vc->max_parts > 1) {
		r = mempool_init_kmalloc_pool(&vc->parts_pool, VMC_MIN_LARGE_IOS,
					      (vc->max_parts - 1) * vc->part_size);
		if (r) {
			*err = "Cannot allocate parts mempool";
			return r;
		}
	}

	r = mempool_init_page_pool(&vc->page_pool, VMC_MIN_POOL_PAGES, 0);
	if (r) {
		*err = "Cannot allocate page mempool";
		return r;
	}
	r = bioset_init(&vc->bs, VMC_MIN_IOS, 0, BIOSET_NEED_BVECS);
	if (r) {
		*err = "Cannot allocate crypt bioset";
		return r;
	}
	/*
	 * Not WQ_HIGHPRI: a nice -20 worker converting a large bio would
	 * starve the task that submits the next ones (fio at QD16 lost about
	 * 10% of 1M throughput to that under TCG).
	 */
	vc->wq = alloc_workqueue("vmcrypt_%s", WQ_MEM_RECLAIM | WQ_CPU_INTENSIVE,
				 0, vmc_dev_name(vc));
	if (!vc->wq) {
		*err = "Cannot allocate workqueue";
		return -ENOMEM;
	}
	return 0;
}

/* Run what is queued on the workqueue to its end and destroy it. */
void vmc_crypt_drain(struct vmc_dev *vc)
{
	if (vc->wq) {
		destroy_workqueue(vc->wq);
		vc->wq = NULL;
	}
}

/* Tolerates a half-built @vc: every member may still be zero. */
void vmc_crypt_exit(struct vmc_dev *vc)
{
	vmc_crypt_drain(vc);
	bioset_exit(&vc->bs);
	mempool_exit(&vc->page_pool);
	mempool_exit(&vc->parts_pool);
	/* crypto_free_skcipher() frees the key schedule with kfree_sensitive */
	if (!IS_ERR_OR_NULL(vc->tfm))
		crypto_free_skcipher(vc->tfm);
}

/*
 * Parse ":<size>:logon:<description>". @desc points into @ref. Each kind of
 * wrong reference gets its own message.
 */
int vmc_key_parse(const char *ref, unsigned int *size, const char **desc,
		  char **err)
{
	const char *type, *d;
	char num[8];
	size_t n;

	if (ref[0] != ':') {
		*err = "Raw keys are not accepted: use :<size>:logon:<description>";
		return -EINVAL;
	}
	type = strchr(ref + 1, ':');
	n = type ? type - (ref + 1) : 0;
	if (!type || !n || n >= sizeof(num)) {
		*err = "Invalid key reference: expected :<size>:logon:<description>";
		return -EINVAL;
	}
	memcpy(num, ref + 1, n);
	num[n] = '\0';
	if (num[0] < '1' || num[0] > '9' || kstrtouint(num, 10, size) ||
	    (*size != 32 && *size != 64)) {
		*err = "Invalid key size: must be 32 or 64";
		return -EINVAL;
	}
	type++;
	d = strchr(type, ':');
	if (!d) {
		*err = "Invalid key reference: expected :<size>:logon:<description>";
		return -EINVAL;
	}
	if (d - type != 5 || strncmp(type, "logon", 5)) {
		*err = "Key type must be logon";
		return -EINVAL;
	}
	d++;
	if (!*d) {
		*err = "Empty key description";
		return -EINVAL;
	}
	if (strlen(d) > VMCRYPT_KEY_DESC_MAX) {
		*err = "Key description longer than 1024 bytes";
		return -EINVAL;
	}
	*desc = d;
	return 0;
}

/*
 * Look the logon key @desc up in the caller's keyrings and load it into
 * the transform. Nothing changes unless the key exists and has @size bytes.
 */
int vmc_key_load(struct vmc_dev *vc, const char *desc, unsigned int size,
		 char **err)
{
	const struct user_key_payload *ukp;
	struct key *key;
	u8 *buf;
	int r;

	key = request_key(&key_type_logon, desc, NULL);
	if (IS_ERR(key)) {
		r = PTR_ERR(key);
		if (r == -EKEYREVOKED || r == -EKEYEXPIRED)
			*err = "Key is revoked or expired";
		else if (r == -ENOKEY)
			*err = "Key not found in the logon keyring";
		else
			*err = "Key lookup failed";
		return r;
	}

	down_read(&key->sem);
	ukp = user_key_payload_locked(key);
	if (!ukp) {
		up_read(&key->sem);
		key_put(key);
		*err = "Key is revoked or expired";
		return -EKEYREVOKED;
	}
	if (ukp->datalen != size) {
		up_read(&key->sem);
		key_put(key);
		*err = "Key payload size does not match the key reference";
		return -EINVAL;
	}
	buf = kmemdup(ukp->data, size, GFP_KERNEL);
	up_read(&key->sem);
	key_put(key);
	if (!buf) {
		*err = "Cannot allocate key buffer";
		return -ENOMEM;
	}

	r = crypto_skcipher_setkey(vc->tfm, buf, size);
	kfree_sensitive(buf);
	if (r) {
		*err = "Cipher refused the key";
		/* the transform may hold part of it: treat it as gone */
		vmc_key_wipe(vc);
		return r;
	}
	return 0;
}

/*
 * Overwrite the key schedule with random bytes: skcipher has no "clear
 * key" operation, and this leaves nothing of the old key in the transform.
 */
int vmc_key_wipe(struct vmc_dev *vc)
{
	u8 rnd[64];
	int r;

	get_random_bytes(rnd, vc->key_size);
	r = crypto_skcipher_setkey(vc->tfm, rnd, vc->key_size);
	memzero_explicit(rnd, sizeof(rnd));
	WRITE_ONCE(vc->key_state, VMCRYPT_KEY_WIPED);
	return r;
}

/*
 * Give the bounce pages back: to the device's mempool while its reserve is
 * short (a writer may be waiting there), else to the cache (bounce.c).
 * Any context.
 */
static void vmc_free_bounce(struct vmc_dev *vc, struct bio *clone)
{
	struct page *batch[VMC_BOUNCE_BATCH];
	struct bvec_iter_all iter_all;
	struct bio_vec *bv;
	unsigned int n = 0;

	bio_for_each_segment_all(bv, clone, iter_all) {
		if (READ_ONCE(vc->page_pool.curr_nr) < vc->page_pool.min_nr) {
			mempool_free(bv->bv_page, &vc->page_pool);
			continue;
		}
		batch[n++] = bv->bv_page;
		if (n == VMC_BOUNCE_BATCH) {
			vmc_bounce_put(batch, n);
			n = 0;
		}
	}
	if (n)
		vmc_bounce_put(batch, n);
	bio_put(clone);
}

/* Count a completed request on this CPU; any context. */
static void vmc_count_io(struct vmc_dev *vc, bool write, unsigned int bytes)
{
	struct vmc_io_stats *st = get_cpu_ptr(vc->io_stats);
	unsigned long flags = u64_stats_update_begin_irqsave(&st->syncp);

	if (write) {
		u64_stats_inc(&st->writes);
		u64_stats_add(&st->write_bytes, bytes);
	} else {
		u64_stats_inc(&st->reads);
		u64_stats_add(&st->read_bytes, bytes);
	}
	u64_stats_update_end_irqrestore(&st->syncp, flags);
	put_cpu_ptr(vc->io_stats);
}

/* Complete the base bio with io->status and update the counters. */
static void vmc_finish(struct vmc_io *io, bool write)
{
	struct vmc_dev *vc = io->vc;
	struct bio *base = io->base;

	if (io->status)
		vmc_io_error(vc, io->crypto_failed);
	else
		vmc_count_io(vc, write, io->iter.bi_size);
	if (!write) {
		base->bi_end_io = io->orig_end_io;
		base->bi_private = io->orig_private;
	}
	base->bi_status = io->status;
	bio_endio(base);
}

static void vmc_write_endio(struct bio *clone)
{
	struct vmc_io *io = clone->bi_private;

	io->status = clone->bi_status;
	vmc_free_bounce(io->vc, clone);
	vmc_finish(io, true);
}

static void vmc_work_submit(struct work_struct *work)
{
	struct vmc_io *io = container_of(work, struct vmc_io, work);

	dm_submit_bio_remap(io->base, io->clone);
}

/*
 * All sectors of @io are converted (or failed): move the bio on. Submitting
 * may sleep (tags, throttling), which an asynchronous driver's completion
 * (@in_callback: softirq, or bottom halves off in cryptd) must not, so a
 * write finished there is submitted from the workqueue.
 */
static void vmc_crypt_done(struct vmc_io *io, bool in_callback)
{
	bool write = !!io->clone;

	if (write && !io->status) {
		if (in_callback) {
			INIT_WORK(&io->work, vmc_work_submit);
			queue_work(io->vc->wq, &io->work);
			return;
		}
		dm_submit_bio_remap(io->base, io->clone);
		return;
	}
	if (write) {
		vmc_free_bounce(io->vc, io->clone);
		io->clone = NULL;
	}
	vmc_finish(io, write);
}

/*
 * The bio fails: no part takes another chunk. Parts on other CPUs may fail
 * at the same time: they write the same values.
 */
static void vmc_io_fails(struct vmc_io *io)
{
	WRITE_ONCE(io->status, BLK_STS_IOERR);
	atomic_set(&io->next_chunk, io->nr_chunks);
}

/* A data unit straddles two bvecs: the bio is not ours to convert. */
static void vmc_unit_straddles(struct vmc_io *io)
{
	DMERR_LIMIT("%s: data unit not aligned to the sector size",
		    vmc_dev_name(io->vc));
	vmc_io_fails(io);
}

static void vmc_crypt_failed(struct vmc_io *io, int r)
{
	DMERR_LIMIT("%s: crypto error %d", vmc_dev_name(io->vc), r);
	WRITE_ONCE(io->crypto_failed, true);
	vmc_io_fails(io);
}

/*
 * Point the request at the data unit at part->in (and, for writes, the
 * bounce bvec at part->out). False when a data unit straddles a bvec.
 */
static bool vmc_prep(struct vmc_part *part)
{
	struct vmc_io *io = part->io;
	struct vmc_areq *areq = &part->areq;
	struct vmc_dev *vc = io->vc;
	unsigned int ss = vc->sector_size;
	struct bio_vec bv_in = bio_iter_iovec(io->base, part->in);
	struct bio_vec bv_out;
	u64 ivs = vc->iv_large_sectors ? part->sector >> vc->sector_shift :
		  part->sector;

	if (unlikely(bv_in.bv_len < ss))
		return false;
	sg_init_table(&areq->sg_in, 1);
	sg_set_page(&areq->sg_in, bv_in.bv_page, ss, bv_in.bv_offset);
	if (io->clone) {
		bv_out = bio_iter_iovec(io->clone, part->out);
		sg_init_table(&areq->sg_out, 1);
		sg_set_page(&areq->sg_out, bv_out.bv_page, ss, bv_out.bv_offset);
	}
	areq->iv[0] = cpu_to_le64(ivs);
	areq->iv[1] = 0;
	skcipher_request_set_crypt(&areq->req, &areq->sg_in,
				   io->clone ? &areq->sg_out : &areq->sg_in, ss,
				   areq->iv);
	return true;
}

static void vmc_advance(struct vmc_part *part)
{
	struct vmc_io *io = part->io;
	unsigned int ss = io->vc->sector_size;

	bio_advance_iter_single(io->base, &part->in, ss);
	if (io->clone)
		bio_advance_iter_single(io->clone, &part->out, ss);
	part->sector += ss >> SECTOR_SHIFT;
}

/*
 * Point @part at the next chunk of its bio that no other part has taken;
 * false when none is left.
 */
static bool vmc_next_chunk(struct vmc_part *part)
{
	struct vmc_io *io = part->io;
	unsigned int c = atomic_fetch_inc(&io->next_chunk);
	unsigned int off;

	if (c >= io->nr_chunks)
		return false;
	off = c * io->chunk_size;
	part->in = io->iter;
	bio_advance_iter(io->base, &part->in, off);
	part->in.bi_size = min(io->chunk_size, io->iter.bi_size - off);
	if (io->clone) {
		part->out = io->clone->bi_iter;
		bio_advance_iter(io->clone, &part->out, off);
		part->out.bi_size = part->in.bi_size;
	}
	part->sector = io->sector + (off >> SECTOR_SHIFT);
	return true;
}

/*
 * A part has no chunk left (or failed); the last one frees the parts taken
 * from the pool (its own among them, maybe) and moves the bio on.
 */
static void vmc_part_done(struct vmc_part *part, bool in_callback)
{
	struct vmc_io *io = part->io;

	if (!atomic_dec_and_test(&io->pending))
		return;
	if (io->parts) {
		mempool_free(io->parts, &io->vc->parts_pool);
		io->parts = NULL;
	}
	vmc_crypt_done(io, in_callback);
}

static void vmc_convert(struct vmc_part *part, bool in_callback);

/* An asynchronous completion: go on with the next data unit. */
static void vmc_convert_done(struct crypto_async_request *req, int r)
{
	struct vmc_part *part = req->data;

	/* a backlogged request has started; its real completion follows */
	if (r == -EINPROGRESS)
		return;
	if (unlikely(r)) {
		vmc_crypt_failed(part->io, r);
		vmc_part_done(part, true);
		return;
	}
	vmc_advance(part);
	vmc_convert(part, true);
}

/*
 * Convert the data units of @part's chunk one after the other with its
 * request, then take the next chunk, until none is left. A synchronous
 * driver (and an asynchronous one that completes inline, as the SIMD
 * wrappers do when the FPU is usable) runs everything in this loop; when
 * the driver queues a unit, its completion callback resumes the loop where
 * it stopped (@in_callback).
 */
static void vmc_convert(struct vmc_part *part, bool in_callback)
{
	struct vmc_areq *areq = &part->areq;
	struct vmc_io *io = part->io;
	int r;

	do {
		while (part->in.bi_size) {
			if (unlikely(!vmc_prep(part))) {
				vmc_unit_straddles(io);
				goto done;	/* the bio fails */
			}
			r = io->clone ? crypto_skcipher_encrypt(&areq->req) :
					crypto_skcipher_decrypt(&areq->req);
			if (r == -EINPROGRESS || r == -EBUSY)
				return;	/* vmc_convert_done() goes on */
			if (unlikely(r)) {
				vmc_crypt_failed(io, r);
				goto done;
			}
			vmc_advance(part);
		}
	} while (vmc_next_chunk(part));
done:
	vmc_part_done(part, in_callback);
}

static void vmc_work_part(struct work_struct *work)
{
	struct vmc_part *part = container_of(work, struct vmc_part, work);

	if (vmc_next_chunk(part))
		vmc_convert(part, false);
	else
		vmc_part_done(part, false);
}

/*
 * Convert the whole bio (io->iter, and io->clone for writes). A bio of
 * fewer than 2 * VMC_PART_MIN bytes, or on a single CPU, is one chunk,
 * converted here in one loop, with no workqueue. A larger one is cut into
 * VMC_CHUNK chunks and gets one part per CPU (at most VMC_MAX_PARTS, and
 * one per VMC_PART_MIN), queued on this CPU and the next ones (our per-CPU
 * workqueue). Each part takes the next free chunk when it is done with
 * one, so one large I/O uses every CPU's AES instead of one, a CPU with
 * other work takes fewer chunks, and the submitter goes on submitting
 * while the CPUs convert (several large bios in flight keep every CPU
 * busy). The last part to finish completes (or submits) the bio. Against
 * converting the first part inline, this measured 5-10% more 1M
 * throughput at QD16; the hop costs nothing measurable on a bio that
 * takes milliseconds to convert.
 *
 * The parts after the first come from vc->parts_pool: a write may wait for
 * them (->map may sleep, and they are given back when a conversion ends,
 * which needs no I/O); a read, converted in its completion, may not, and
 * is converted by one CPU when the pool is empty.
 *
 * No CRYPTO_TFM_REQ_MAY_SLEEP: the loop also runs in softirq context, and
 * a write is at most 1 MiB (a read rarely more), so there is no need for
 * the walk to cond_resched() after every unit (dm-crypt's inline mode
 * neither).
 */
static void vmc_convert_bio(struct vmc_io *io)
{
	struct vmc_dev *vc = io->vc;
	unsigned int size = io->iter.bi_size;
	unsigned int nr = 1, i, cpu;
	struct vmc_part *part;

	io->chunk_size = size;
	io->parts = NULL;
	if (vc->max_parts > 1 && size >= 2 * VMC_PART_MIN) {
		nr = min3(vc->max_parts, num_online_cpus(), size / VMC_PART_MIN);
		if (nr > 1)
			io->parts = mempool_alloc(&vc->parts_pool, io->clone ?
						  GFP_NOIO :
						  GFP_NOWAIT | __GFP_NOWARN);
		if (io->parts)
			io->chunk_size = VMC_CHUNK;
		else
			nr = 1;
	}
	/* one part: one chunk (an empty one for an empty bio) */
	io->nr_chunks = nr == 1 ? 1 : DIV_ROUND_UP(size, io->chunk_size);
	atomic_set(&io->next_chunk, 0);
	atomic_set(&io->pending, nr);

	for (i = 0; i < nr; i++) {
		part = io_part(io, i);
		part->io = io;
		skcipher_request_set_tfm(&part->areq.req, vc->tfm);
		skcipher_request_set_callback(&part->areq.req,
					      CRYPTO_TFM_REQ_MAY_BACKLOG,
					      vmc_convert_done, part);
	}
	if (nr == 1) {
		part = io_part(io, 0);
		vmc_next_chunk(part);
		vmc_convert(part, false);
		return;
	}
	cpu = raw_smp_processor_id();
	for (i = 0; i < nr; i++) {
		part = io_part(io, i);
		INIT_WORK(&part->work, vmc_work_part);
		queue_work_on(cpu, vc->wq, &part->work);
		cpu = cpumask_next(cpu, cpu_online_mask);
		if (cpu >= nr_cpu_ids)
			cpu = cpumask_first(cpu_online_mask);
	}
}

/*
 * Allocate the bounce bio for @size bytes. Pages come from the cache of
 * freed bounce pages (bounce.c) while it has any, then from the mempool,
 * first without blocking; if the pool runs dry everything is given back
 * and the allocation is retried, blocking, by one caller at a time, so
 * that concurrent writers cannot each hold part of the pool and wait
 * forever.
 */
static struct bio *vmc_alloc_bounce(struct vmc_io *io, unsigned int size)
{
	struct vmc_dev *vc = io->vc;
	unsigned int nr = DIV_ROUND_UP(size, PAGE_SIZE);
	gfp_t gfp = GFP_NOWAIT | __GFP_NOWARN;
	struct page *batch[VMC_BOUNCE_BATCH];
	unsigned int i, got, len, left;
	bool cached;
	struct bio *clone;

retry:
	if (gfp & __GFP_DIRECT_RECLAIM)
		mutex_lock(&vc->alloc_lock);
	left = size;
	cached = true;
	clone = bio_alloc_bioset(vc->dev->bdev, nr, io->base->bi_opf, GFP_NOIO,
				 &vc->bs);
	/* dm core polls only its own clone, never ours */
	bio_clear_polled(clone);
	clone->bi_private = io;
	clone->bi_end_io = vmc_write_endio;
	clone->bi_ioprio = io->base->bi_ioprio;
	while (left) {
		got = 0;
		if (cached) {
			got = vmc_bounce_get(batch,
					     min_t(unsigned int, VMC_BOUNCE_BATCH,
						   DIV_ROUND_UP(left, PAGE_SIZE)));
			cached = got;
		}
		if (!got) {
			batch[0] = mempool_alloc(&vc->page_pool, gfp);
			if (!batch[0]) {
				vmc_free_bounce(vc, clone);
				gfp = GFP_NOIO;
				goto retry;
			}
			got = 1;
		}
		for (i = 0; i < got; i++) {
			len = min_t(unsigned int, left, PAGE_SIZE);
			__bio_add_page(clone, batch[i], len, 0);
			left -= len;
		}
	}
	if (gfp & __GFP_DIRECT_RECLAIM)
		mutex_unlock(&vc->alloc_lock);
	return clone;
}

/* Encrypt a write into bounce pages and submit it; called from ->map. */
int vmc_map_write(struct vmc_io *io)
{
	struct vmc_dev *vc = io->vc;
	struct bio *clone;

	clone = vmc_alloc_bounce(io, io->iter.bi_size);
	bio_clone_blkg_association(clone, io->base);
	clone->bi_iter.bi_sector = vc->start +
		dm_target_offset(vc->ti, io->base->bi_iter.bi_sector);
	io->clone = clone;
	vmc_convert_bio(io);
	return 0;
}

static void vmc_work_read(struct work_struct *work)
{
	vmc_convert_bio(container_of(work, struct vmc_io, work));
}

static void vmc_read_endio(struct bio *bio)
{
	struct vmc_io *io = bio->bi_private;

	if (unlikely(bio->bi_status)) {
		io->status = bio->bi_status;
		vmc_finish(io, false);
		return;
	}
	if (in_hardirq() || irqs_disabled()) {
		INIT_WORK(&io->work, vmc_work_read);
		queue_work(io->vc->wq, &io->work);
		return;
	}
	vmc_convert_bio(io);
}

/* Remap a read; it is decrypted in place when it completes. */
void vmc_map_read(struct vmc_io *io)
{
	struct bio *bio = io->base;

	io->orig_end_io = bio->bi_end_io;
	io->orig_private = bio->bi_private;
	bio->bi_end_io = vmc_read_endio;
	bio->bi_private = io;
	bio_set_dev(bio, io->vc->dev->bdev);
	bio->bi_iter.bi_sector = io->vc->start +
		dm_target_offset(io->vc->ti, bio->bi_iter.bi_sector);
}
