// SPDX-License-Identifier: GPL-2.0
/*
 * target.c - the device-mapper target "vmcrypt": table parsing, status,
 * the key messages and the suspend/resume hooks that make the "locked"
 * state, and the module's entry points. The data path is in crypt.c, the
 * netlink family in genl.c. Documentation/target.rst is the reference.
 */
#include <linux/ctype.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/percpu.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <uapi/linux/vmcrypt.h>

#include "vmcrypt.h"

/*
 * driver=: crypto driver name forced for targets constructed afterwards,
 * e.g. "xts(ecb(aes-generic))" (synchronous) or
 * "cryptd(xts(ecb(aes-generic)))" (asynchronous). Empty: "xts(aes)",
 * see vmc_alloc_tfm().
 */
char vmc_driver_param[CRYPTO_MAX_ALG_NAME];
module_param_string(driver, vmc_driver_param, sizeof(vmc_driver_param), 0644);
MODULE_PARM_DESC(driver, "crypto driver for new targets (default: the best xts(aes))");

/* prefer_sync=1: without driver=, try a synchronous xts(aes) first. */
bool vmc_prefer_sync;
module_param_named(prefer_sync, vmc_prefer_sync, bool, 0644);
MODULE_PARM_DESC(prefer_sync, "prefer a synchronous xts(aes) implementation (default: no)");

const char *vmc_dev_name(struct vmc_dev *vc)
{
	return dm_table_device_name(vc->ti->table);
}

static void vmc_dtr(struct dm_target *ti)
{
	struct vmc_dev *vc = ti->private;

	if (!vc)
		return;
	ti->private = NULL;
	/* queued work may still fail a bio, which schedules err_work */
	vmc_crypt_drain(vc);
	flush_work(&vc->err_work);
	vmc_genl_unregister(vc);
	vmc_crypt_exit(vc);
	if (vc->dev)
		dm_put_device(ti, vc->dev);
	kfree(vc->key_desc);
	free_percpu(vc->io_stats);
	mutex_destroy(&vc->alloc_lock);
	mutex_destroy(&vc->lock);
	kfree(vc);
}

/* Sum the per-CPU counters and add the error counts. */
void vmc_stats_read(struct vmc_dev *vc, struct vmc_stats *s)
{
	const struct vmc_io_stats *st;
	u64 reads, read_bytes, writes, write_bytes;
	unsigned int seq;
	int cpu;

	memset(s, 0, sizeof(*s));
	for_each_possible_cpu(cpu) {
		st = per_cpu_ptr(vc->io_stats, cpu);
		do {
			seq = u64_stats_fetch_begin(&st->syncp);
			reads = u64_stats_read(&st->reads);
			read_bytes = u64_stats_read(&st->read_bytes);
			writes = u64_stats_read(&st->writes);
			write_bytes = u64_stats_read(&st->write_bytes);
		} while (u64_stats_fetch_retry(&st->syncp, seq));
		s->reads += reads;
		s->read_bytes += read_bytes;
		s->writes += writes;
		s->write_bytes += write_bytes;
	}
	s->crypto_errors = atomic64_read(&vc->crypto_errors);
	s->io_errors = atomic64_read(&vc->io_errors);
}

static int vmc_parse_u64(const char *arg, u64 *v)
{
	/* digits only: no sign, no spaces, no suffix */
	if (!isdigit(arg[0]))
		return -EINVAL;
	return kstrtou64(arg, 10, v);
}

static int vmc_add_opt(struct vmc_dev *vc, enum vmc_opt opt)
{
	unsigned int i;

	for (i = 0; i < vc->nr_opts; i++)
		if (vc->opts[i] == opt)
			return -EINVAL;
	vc->opts[vc->nr_opts++] = opt;
	return 0;
}

static int vmc_ctr_opts(struct dm_target *ti, struct dm_arg_set *as)
{
	static const struct dm_arg _args[] = {
		{ 0, VMC_MAX_OPTS, "Invalid number of feature args" },
	};
	struct vmc_dev *vc = ti->private;
	unsigned int nr, ss;
	const char *opt;
	enum vmc_opt o;
	int r;

	if (!as->argc)
		return 0;
	r = dm_read_arg_group(_args, as, &nr, &ti->error);
	if (r)
		return r;
	if (as->argc > nr) {
		ti->error = "Too many arguments";
		return -EINVAL;
	}
	while (nr--) {
		opt = dm_shift_arg(as);
		if (!strcmp(opt, "allow_discards")) {
			o = VMC_OPT_ALLOW_DISCARDS;
			vc->allow_discards = true;
		} else if (!strcmp(opt, "iv_large_sectors")) {
			o = VMC_OPT_IV_LARGE_SECTORS;
			vc->iv_large_sectors = true;
		} else if (!strncmp(opt, "sector_size:", 12)) {
			o = VMC_OPT_SECTOR_SIZE;
			if (!isdigit(opt[12]) || kstrtouint(opt + 12, 10, &ss) ||
			    ss < SECTOR_SIZE || ss > 4096 || !is_power_of_2(ss)) {
				ti->error = "Invalid feature value for sector_size";
				return -EINVAL;
			}
			vc->sector_size = ss;
			vc->sector_shift = __ffs(ss) - SECTOR_SHIFT;
		} else {
			ti->error = "Invalid feature arguments";
			return -EINVAL;
		}
		if (vmc_add_opt(vc, o)) {
			ti->error = "Duplicate feature argument";
			return -EINVAL;
		}
	}
	return 0;
}

/*
 * Construct a vmcrypt target:
 *
 *   <cipher> <key> <iv_offset> <dev_path> <offset> [<#opt> <opt>...]
 *
 *   cipher     aes-xts-plain64 (nothing else)
 *   key        :<32|64>:logon:<description>, a logon key in the caller's
 *              keyrings holding exactly 32 (AES-128) or 64 (AES-256) bytes
 *   iv_offset  added to the sector number for the IV, 512-byte sectors,
 *              a multiple of the sector size
 *   dev_path   backing block device
 *   offset     start of the data on dev_path, 512-byte sectors, a
 *              multiple of the sector size
 *   opts       sector_size:<512|1024|2048|4096>  encryption unit
 *              iv_large_sectors  IV counts sector_size units, not 512 bytes
 *              allow_discards    pass discards down
 *
 * Same arguments as dm-crypt's crypt target, and the same sectors on disk.
 */
static int vmc_ctr(struct dm_target *ti, unsigned int argc, char **argv)
{
	struct dm_arg_set as = { .argc = argc, .argv = argv };
	unsigned int key_size, ss_sectors;
	char driver[CRYPTO_MAX_ALG_NAME];
	const char *desc, *cipher, *key_ref, *path;
	struct vmc_dev *vc;
	u64 v;
	int r, cpu;

	if (argc < 5) {
		ti->error = "Not enough arguments";
		return -EINVAL;
	}
	vc = kzalloc(sizeof(*vc), GFP_KERNEL);
	if (!vc) {
		ti->error = "Cannot allocate encryption context";
		return -ENOMEM;
	}
	vc->ti = ti;
	ti->private = vc;
	vc->suspended = true;
	mutex_init(&vc->lock);
	mutex_init(&vc->alloc_lock);
	INIT_LIST_HEAD(&vc->node);
	INIT_WORK(&vc->err_work, vmc_genl_err_work);
	ratelimit_state_init(&vc->err_rs, 5 * HZ, 10);
	ratelimit_set_flags(&vc->err_rs, RATELIMIT_MSG_ON_RELEASE);
	vc->sector_size = SECTOR_SIZE;
	vc->io_stats = alloc_percpu(struct vmc_io_stats);
	if (!vc->io_stats) {
		ti->error = "Cannot allocate I/O counters";
		r = -ENOMEM;
		goto bad;
	}
	for_each_possible_cpu(cpu)
		u64_stats_init(&per_cpu_ptr(vc->io_stats, cpu)->syncp);

	cipher = dm_shift_arg(&as);
	key_ref = dm_shift_arg(&as);
	dm_consume_args(&as, 3);
	r = vmc_ctr_opts(ti, &as);
	if (r)
		goto bad;
	ss_sectors = vc->sector_size >> SECTOR_SHIFT;

	r = -EINVAL;
	if (strcmp(cipher, VMC_CIPHER)) {
		ti->error = "Unsupported cipher: only aes-xts-plain64";
		goto bad;
	}
	r = vmc_key_parse(key_ref, &key_size, &desc, &ti->error);
	if (r)
		goto bad;
	vc->key_size = key_size;
	vc->key_desc = kstrdup(desc, GFP_KERNEL);
	if (!vc->key_desc) {
		ti->error = "Cannot allocate key description";
		r = -ENOMEM;
		goto bad;
	}

	r = -EINVAL;
	if (vmc_parse_u64(argv[2], &v) || (v & (ss_sectors - 1))) {
		ti->error = "Invalid iv_offset sector";
		goto bad;
	}
	vc->iv_offset = v;

	path = argv[3];
	r = dm_get_device(ti, path, dm_table_get_mode(ti->table), &vc->dev);
	if (r) {
		ti->error = "Device lookup failed";
		goto bad;
	}

	r = -EINVAL;
	if (vmc_parse_u64(argv[4], &v) || v != (sector_t)v) {
		ti->error = "Invalid device sector";
		goto bad;
	}
	vc->start = v;
	if (vc->start & (ss_sectors - 1)) {
		ti->error = "Device offset is not multiple of sector_size feature";
		goto bad;
	}
	if (ti->len & (ss_sectors - 1)) {
		ti->error = "Device size is not multiple of sector_size feature";
		goto bad;
	}

	kernel_param_lock(THIS_MODULE);
	strscpy(driver, vmc_driver_param, sizeof(driver));
	kernel_param_unlock(THIS_MODULE);
	r = vmc_crypt_init(vc, strim(driver), &ti->error);
	if (r)
		goto bad;

	r = vmc_key_load(vc, vc->key_desc, vc->key_size, &ti->error);
	if (r)
		goto bad;
	WRITE_ONCE(vc->key_state, VMCRYPT_KEY_SET);

	/*
	 * No ti->max_io_len: with one set, dm core also cuts every bio to the
	 * queue's max_sectors (127 KiB on brd), which cost a clone, a bounce
	 * bio and a completion per 124 KiB and kept a large I/O from being
	 * converted on several CPUs at once. Only writes need a cap (one
	 * bounce bio); vmc_map() applies it as dm-crypt does.
	 */
	ti->num_flush_bios = 1;
	ti->num_discard_bios = vc->allow_discards ? 1 : 0;
	ti->accounts_remapped_io = true;
	/*
	 * Swap on this device: dm core bounds the swap bios in flight, as for
	 * dm-crypt, so that swapping under memory pressure cannot take every
	 * bounce page the writes need.
	 */
	ti->limit_swap_bios = true;

	vmc_genl_register(vc);
	vmc_genl_event(vc, VMCRYPT_EVENT_DEV_CREATED, 0);
	return 0;
bad:
	vmc_dtr(ti);
	return r;
}

static int vmc_map(struct dm_target *ti, struct bio *bio)
{
	struct vmc_dev *vc = ti->private;
	struct vmc_io *io;
	sector_t rel;

	/*
	 * An empty flush and a discard carry no data: passed on. A flush with
	 * data (dm core splits those off today) is encrypted like any write,
	 * its clone keeping the flag; it must never go down as it is.
	 */
	if (unlikely((bio->bi_opf & REQ_PREFLUSH && !bio_sectors(bio)) ||
		     bio_op(bio) == REQ_OP_DISCARD)) {
		bio_set_dev(bio, vc->dev->bdev);
		if (bio_sectors(bio))
			bio->bi_iter.bi_sector = vc->start +
				dm_target_offset(ti, bio->bi_iter.bi_sector);
		return DM_MAPIO_REMAPPED;
	}

	rel = dm_target_offset(ti, bio->bi_iter.bi_sector);
	if (unlikely((rel & ((vc->sector_size >> SECTOR_SHIFT) - 1)) ||
		     (bio->bi_iter.bi_size & (vc->sector_size - 1)) ||
		     (bio_op(bio) != REQ_OP_READ && bio_op(bio) != REQ_OP_WRITE))) {
		DMERR_LIMIT("%s: unaligned bio: sector %llu, %u bytes, op %u",
			    vmc_dev_name(vc), (unsigned long long)rel, bio->bi_iter.bi_size,
			    bio_op(bio));
		vmc_io_error(vc, false);
		return DM_MAPIO_KILL;
	}

	/* a key wiped between ->preresume and ->resume (see vmc_resume) */
	if (unlikely(READ_ONCE(vc->key_state) != VMCRYPT_KEY_SET)) {
		DMERR_LIMIT("%s: no key: I/O refused", vmc_dev_name(vc));
		vmc_io_error(vc, false);
		return DM_MAPIO_KILL;
	}

	/* a write is encrypted into one bounce bio of at most BIO_MAX_VECS */
	if (unlikely(bio->bi_iter.bi_size > VMC_MAX_WRITE) &&
	    bio_op(bio) == REQ_OP_WRITE)
		dm_accept_partial_bio(bio, VMC_MAX_WRITE >> SECTOR_SHIFT);

	io = dm_per_bio_data(bio, ti->per_io_data_size);
	io->vc = vc;
	io->base = bio;
	io->clone = NULL;
	io->iter = bio->bi_iter;
	io->sector = rel + vc->iv_offset;
	io->status = BLK_STS_OK;
	io->crypto_failed = false;

	if (bio_op(bio) == REQ_OP_WRITE) {
		vmc_map_write(io);
		return DM_MAPIO_SUBMITTED;
	}
	vmc_map_read(io);
	return DM_MAPIO_REMAPPED;
}

static const char *vmc_key_state_name(int state)
{
	return state == VMCRYPT_KEY_SET ? "set" : "wiped";
}

static void vmc_status(struct dm_target *ti, status_type_t type,
		       unsigned int status_flags, char *result,
		       unsigned int maxlen)
{
	struct vmc_dev *vc = ti->private;
	struct vmc_stats s;
	unsigned int sz = 0, i;

	mutex_lock(&vc->lock);
	switch (type) {
	case STATUSTYPE_INFO:
		vmc_stats_read(vc, &s);
		DMEMIT("%s %llu %llu %llu %llu %llu %llu",
		       vmc_key_state_name(vc->key_state), s.reads,
		       s.read_bytes, s.writes, s.write_bytes, s.crypto_errors,
		       s.io_errors);
		break;
	case STATUSTYPE_TABLE:
		DMEMIT("%s :%u:logon:%s %llu %s %llu", VMC_CIPHER, vc->key_size,
		       vc->key_desc, vc->iv_offset, vc->dev->name,
		       (unsigned long long)vc->start);
		if (vc->nr_opts)
			DMEMIT(" %u", vc->nr_opts);
		for (i = 0; i < vc->nr_opts; i++) {
			if (vc->opts[i] == VMC_OPT_SECTOR_SIZE)
				DMEMIT(" sector_size:%u", vc->sector_size);
			else if (vc->opts[i] == VMC_OPT_IV_LARGE_SECTORS)
				DMEMIT(" iv_large_sectors");
			else
				DMEMIT(" allow_discards");
		}
		break;
	case STATUSTYPE_IMA:
		result[0] = '\0';
		break;
	}
	mutex_unlock(&vc->lock);
}

/*
 * Take vc->lock for a key message, which is accepted only while the target
 * is suspended (vc->suspended, not dm_suspended(): see struct vmc_dev).
 */
static bool vmc_lock_suspended(struct vmc_dev *vc)
{
	mutex_lock(&vc->lock);
	if (vc->suspended)
		return true;
	mutex_unlock(&vc->lock);
	DMWARN("%s: key messages are accepted only while suspended",
	       vmc_dev_name(vc));
	return false;
}

/* "key set :<size>:logon:<desc>": only while suspended. */
static int vmc_msg_key_set(struct vmc_dev *vc, const char *ref)
{
	bool was_set, lost;
	const char *desc;
	char *err = NULL;
	unsigned int size;
	char *new_desc;
	int r;

	r = vmc_key_parse(ref, &size, &desc, &err);
	if (r)
		goto out;
	if (size != vc->key_size) {
		err = "The key size cannot be changed";
		r = -EINVAL;
		goto out;
	}
	new_desc = kstrdup(desc, GFP_KERNEL);
	if (!new_desc) {
		err = "Cannot allocate key description";
		r = -ENOMEM;
		goto out;
	}
	if (!vmc_lock_suspended(vc)) {
		kfree(new_desc);
		return -EINVAL;
	}
	was_set = vc->key_state == VMCRYPT_KEY_SET;
	r = vmc_key_load(vc, new_desc, size, &err);
	if (r) {
		/* a key the cipher refused took the old one with it */
		lost = was_set && vc->key_state != VMCRYPT_KEY_SET;
		mutex_unlock(&vc->lock);
		kfree(new_desc);
		if (lost)
			vmc_genl_event(vc, VMCRYPT_EVENT_KEY_WIPED, 0);
		goto out;
	}
	kfree(vc->key_desc);
	vc->key_desc = new_desc;
	WRITE_ONCE(vc->key_state, VMCRYPT_KEY_SET);
	mutex_unlock(&vc->lock);
	vmc_genl_event(vc, VMCRYPT_EVENT_KEY_SET, 0);
	return 0;
out:
	DMWARN("%s: key set refused: %s", vmc_dev_name(vc), err);
	return r;
}

static int vmc_key_message(struct vmc_dev *vc, unsigned int argc, char **argv)
{
	int r;

	if (argc < 2 || strcmp(argv[0], "key") ||
	    !((argc == 2 && !strcmp(argv[1], "wipe")) ||
	      (argc == 3 && !strcmp(argv[1], "set")))) {
		DMWARN("%s: unrecognised message (expected \"key wipe\" or \"key set <key>\")",
		       vmc_dev_name(vc));
		return -EINVAL;
	}
	if (argc == 3)
		return vmc_msg_key_set(vc, argv[2]);

	if (!vmc_lock_suspended(vc))
		return -EINVAL;
	r = vmc_key_wipe(vc);
	mutex_unlock(&vc->lock);
	if (r) {
		/* No I/O uses the old key, but it is still in memory: say so. */
		DMERR("%s: key wipe: the cipher refused the random key (%d); retry the wipe",
		      vmc_dev_name(vc), r);
		return r;
	}
	vmc_genl_event(vc, VMCRYPT_EVENT_KEY_WIPED, 0);
	return 0;
}

/*
 * Key messages are taken only while the device is suspended, so nothing
 * they allocate (the key lookup, its copy, the netlink event) may wait for
 * reclaim to write to this device: that write would wait for the resume.
 */
static int vmc_message(struct dm_target *ti, unsigned int argc, char **argv,
		       char *result, unsigned int maxlen)
{
	unsigned int noio = memalloc_noio_save();
	int r = vmc_key_message(ti->private, argc, argv);

	memalloc_noio_restore(noio);
	return r;
}

static void vmc_postsuspend(struct dm_target *ti)
{
	struct vmc_dev *vc = ti->private;

	mutex_lock(&vc->lock);
	vc->suspended = true;
	mutex_unlock(&vc->lock);
}

/*
 * After ->preresume and before dm core lets held I/O through. A key wipe
 * that came between the two leaves the device without a key: ->map then
 * fails its I/O rather than use the wiped transform.
 */
static void vmc_resume(struct dm_target *ti)
{
	struct vmc_dev *vc = ti->private;

	mutex_lock(&vc->lock);
	vc->suspended = false;
	if (vc->key_state != VMCRYPT_KEY_SET)
		DMERR("%s: key wiped during resume: I/O fails until suspend, \"key set\", resume",
		      vmc_dev_name(vc));
	mutex_unlock(&vc->lock);
}

/* Refuse to resume without a key: the device stays suspended ("locked"). */
static int vmc_preresume(struct dm_target *ti)
{
	struct vmc_dev *vc = ti->private;
	int r = 0;

	/* dm core resumes only the live table, a new one just swapped in */
	vmc_genl_mark_live(vc);
	mutex_lock(&vc->lock);
	if (vc->key_state != VMCRYPT_KEY_SET) {
		DMERR("%s: cannot resume: no key (send \"key set\" first)",
		      vmc_dev_name(vc));
		r = -ENOKEY;
	}
	mutex_unlock(&vc->lock);
	return r;
}

static int vmc_iterate_devices(struct dm_target *ti,
			       iterate_devices_callout_fn fn, void *data)
{
	struct vmc_dev *vc = ti->private;

	return fn(ti, vc->dev, vc->start, ti->len, data);
}

static void vmc_io_hints(struct dm_target *ti, struct queue_limits *limits)
{
	struct vmc_dev *vc = ti->private;
	unsigned int ss = vc->sector_size;

	/* bounce pages are single pages: keep segments within one */
	limits->max_segment_size = PAGE_SIZE;
	limits->logical_block_size = max(limits->logical_block_size, ss);
	limits->physical_block_size = max(limits->physical_block_size, ss);
	limits->io_min = max(limits->io_min, ss);
	limits->dma_alignment = limits->logical_block_size - 1;
}

static struct target_type vmc_target = {
	.name = "vmcrypt",
	.version = { VMC_VERSION_MAJOR, VMC_VERSION_MINOR, VMC_VERSION_PATCH },
	.module = THIS_MODULE,
	.ctr = vmc_ctr,
	.dtr = vmc_dtr,
	.map = vmc_map,
	.status = vmc_status,
	.message = vmc_message,
	.postsuspend = vmc_postsuspend,
	.preresume = vmc_preresume,
	.resume = vmc_resume,
	.iterate_devices = vmc_iterate_devices,
	.io_hints = vmc_io_hints,
};

static int __init vmc_init(void)
{
	int r;

	r = vmc_bounce_init();
	if (r)
		return r;
	r = vmc_genl_init();
	if (r)
		goto bad_genl;
	r = dm_register_target(&vmc_target);
	if (r) {
		DMERR("register failed %d", r);
		goto bad_target;
	}
	return 0;

bad_target:
	vmc_genl_exit();
bad_genl:
	vmc_bounce_exit();
	return r;
}

static void __exit vmc_exit(void)
{
	dm_unregister_target(&vmc_target);
	vmc_genl_exit();
	vmc_bounce_exit();
}

module_init(vmc_init);
module_exit(vmc_exit);

MODULE_DESCRIPTION(DM_NAME " target for vmcrypt host-side VM disk encryption (AES-XTS)");
MODULE_AUTHOR("vmcrypt developers");
MODULE_LICENSE("GPL");
