/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vmcrypt.h - what the three files of dm-vmcrypt share: the per-target
 * context, the per-bio context, and the narrow interfaces between
 * target.c (table, suspend, messages), crypt.c (keys and the data path)
 * and genl.c (the netlink family).
 */
#ifndef DM_VMCRYPT_H
#define DM_VMCRYPT_H

#include <linux/atomic.h>
#include <linux/bio.h>
#include <linux/device-mapper.h>
#include <linux/list.h>
#include <linux/mempool.h>
#include <linux/mutex.h>
#include <linux/ratelimit.h>
#include <linux/scatterlist.h>
#include <linux/u64_stats_sync.h>
#include <linux/workqueue.h>
#include <linux/dm-ioctl.h>
#include <crypto/skcipher.h>

#define DM_MSG_PREFIX "vmcrypt"

#define VMC_VERSION_MAJOR 1
#define VMC_VERSION_MINOR 0
#define VMC_VERSION_PATCH 0

#define VMC_CIPHER "aes-xts-plain64"
#define VMC_MAX_OPTS 3
/* Largest write converted at once: one bounce bio (a multiple of 4096). */
#define VMC_MAX_WRITE (BIO_MAX_VECS << PAGE_SHIFT)

enum vmc_opt {
	VMC_OPT_SECTOR_SIZE = 1,
	VMC_OPT_IV_LARGE_SECTORS,
	VMC_OPT_ALLOW_DISCARDS,
};

/*
 * One CPU's count of completed I/O, added to by the completions that run
 * there: a shared counter would be written by every CPU on every bio, and
 * the cache line it sits on would move between them each time.
 */
struct vmc_io_stats {
	u64_stats_t reads;
	u64_stats_t read_bytes;
	u64_stats_t writes;
	u64_stats_t write_bytes;
	struct u64_stats_sync syncp;
};

/* The counters, summed: what the INFO status and netlink report. */
struct vmc_stats {
	u64 reads;
	u64 read_bytes;
	u64 writes;
	u64 write_bytes;
	u64 crypto_errors;
	u64 io_errors;
};

/* One target instance (one table line). */
struct vmc_dev {
	struct dm_target *ti;
	struct dm_dev *dev;
	sector_t start;			/* offset on @dev, 512-byte sectors */
	u64 iv_offset;			/* 512-byte sectors */
	unsigned int sector_size;	/* encryption unit, bytes */
	unsigned int sector_shift;	/* log2(sector_size) - SECTOR_SHIFT */
	bool iv_large_sectors;
	bool allow_discards;
	enum vmc_opt opts[VMC_MAX_OPTS];	/* options in table order */
	unsigned int nr_opts;

	/* Key reference and state; @lock also serialises status output. */
	struct mutex lock;
	unsigned int key_size;
	char *key_desc;
	int key_state;			/* enum vmcrypt_key_state */
	/*
	 * No I/O can reach the target: set from construction (the table is
	 * not live yet) and by ->postsuspend, cleared by ->resume, under
	 * @lock. Key messages need it: dm_suspended() is still true after
	 * a resume has let held I/O through.
	 */
	bool suspended;

	struct crypto_skcipher *tfm;
	bool async;			/* the driver may complete later */
	unsigned int part_size;		/* struct vmc_part + request context */
	unsigned int max_parts;		/* parts per bio, >= 1 */

	mempool_t parts_pool;		/* parts 1.. of large bios */
	mempool_t page_pool;		/* write bounce pages */
	struct bio_set bs;		/* write bounce bios */
	struct mutex alloc_lock;	/* one blocking bounce allocator */
	struct workqueue_struct *wq;	/* deferred reads, large bios */

	struct vmc_io_stats __percpu *io_stats;
	atomic64_t crypto_errors;	/* failures are rare: shared counters */
	atomic64_t io_errors;

	/* netlink: registry and rate-limited I/O error events */
	struct list_head node;		/* under genl.c's vmc_devs_lock */
	unsigned long nl_id;		/* registry order, never reused */
	bool live;			/* the device's live table (see genl.c) */
	char name[DM_NAME_LEN];		/* dm name, last seen (under @lock) */
	struct ratelimit_state err_rs;
	atomic64_t err_pending;
	struct work_struct err_work;
};

/* The cipher request of a part: one data unit, its IV and scatterlists. */
struct vmc_areq {
	struct scatterlist sg_in;
	struct scatterlist sg_out;
	__le64 iv[2];
	struct skcipher_request req;	/* followed by the driver's context */
};

/*
 * One CPU's share of the conversion of a bio. A bio of at least
 * 2 * VMC_PART_MIN bytes is cut into chunks of whole data units and gets up
 * to vc->max_parts parts, each queued on its own CPU and taking the next
 * chunk nobody has taken yet until none is left. A smaller bio is one
 * chunk and one part, converted where the bio is. The first part is in
 * the per-bio data; the others, in one element of vc->parts_pool taken
 * for the time of the conversion only.
 */
struct vmc_part {
	struct vmc_io *io;
	struct bvec_iter in;		/* next data unit in base */
	struct bvec_iter out;		/* write: next unit in clone */
	u64 sector;			/* IV sector of that unit */
	struct work_struct work;	/* conversion on another CPU */
	struct vmc_areq areq;		/* last: the driver's context follows */
};

/* Per-bio data (ti->per_io_data_size), followed by the first part. */
struct vmc_io {
	struct vmc_dev *vc;
	struct bio *base;		/* the bio dm core gave us */
	struct bio *clone;		/* write: the bounce bio */
	struct bvec_iter iter;		/* base data, saved before remapping */
	u64 sector;			/* IV sector of the first data unit */
	unsigned int chunk_size;	/* bytes, whole data units */
	unsigned int nr_chunks;
	atomic_t next_chunk;		/* first chunk not yet taken */
	atomic_t pending;		/* parts not yet finished */
	void *parts;			/* parts 1..: vc->parts_pool, or NULL */
	bio_end_io_t *orig_end_io;	/* read: dm core's completion */
	void *orig_private;
	blk_status_t status;
	bool crypto_failed;
	/* read: deferred out of hard irq; write: submitted after an async
	 * driver's completion
	 */
	struct work_struct work;
};

/* bounce.c: freed bounce pages, kept for the next writes */
#define VMC_BOUNCE_BATCH 16	/* most pages per get or put */
int vmc_bounce_init(void);
void vmc_bounce_exit(void);
unsigned int vmc_bounce_get(struct page **pages, unsigned int nr);
void vmc_bounce_put(struct page **pages, unsigned int nr);

/* crypt.c */
int vmc_crypt_init(struct vmc_dev *vc, const char *driver, char **err);
void vmc_crypt_exit(struct vmc_dev *vc);
void vmc_crypt_drain(struct vmc_dev *vc);
int vmc_key_parse(const char *ref, unsigned int *size, const char **desc,
		  char **err);
int vmc_key_load(struct vmc_dev *vc, const char *desc, unsigned int size,
		 char **err);
int vmc_key_wipe(struct vmc_dev *vc);
int vmc_map_write(struct vmc_io *io);
void vmc_map_read(struct vmc_io *io);

/* genl.c */
int vmc_genl_init(void);
void vmc_genl_exit(void);
void vmc_genl_register(struct vmc_dev *vc);
void vmc_genl_unregister(struct vmc_dev *vc);
void vmc_genl_mark_live(struct vmc_dev *vc);
int vmc_genl_event(struct vmc_dev *vc, int type, u64 errors);
void vmc_genl_err_work(struct work_struct *work);
void vmc_io_error(struct vmc_dev *vc, bool crypto);

/* target.c */
extern char vmc_driver_param[];
extern bool vmc_prefer_sync;
const char *vmc_dev_name(struct vmc_dev *vc);
void vmc_stats_read(struct vmc_dev *vc, struct vmc_stats *s);

#endif /* DM_VMCRYPT_H */
