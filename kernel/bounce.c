// SPDX-License-Identifier: GPL-2.0
/*
 * bounce.c - a cache of the pages that writes are encrypted into.
 *
 * Every write is encrypted into bounce pages. A fresh page from the page
 * allocator is zeroed first (init_on_alloc, on by default in distribution
 * kernels) and goes back through the buddy allocator when the write
 * completes; under TCG that cost about 12% of 1M write throughput. A bounce
 * page only ever holds ciphertext, which goes to the disk anyway, so a
 * freed one can serve the next write as it is.
 *
 * Freed pages are kept per CPU (VMC_BOUNCE_CPU_PAGES on each, under that
 * share's lock with interrupts off, spin_lock_irqsave(): a completion may
 * free pages in hard irq), and what does not fit goes to one shared depot
 * (VMC_BOUNCE_DEPOT_PAGES), so that pages freed on the CPU where writes
 * complete serve writes submitted on another. A large bio moves its pages
 * in batches of VMC_BOUNCE_BATCH, one lock round each. The shrinker gives
 * everything back under memory pressure, and module exit does. debugfs
 * shows how many pages are cached: dm-vmcrypt/bounce_pages.
 *
 * The cache is a shortcut in front of each device's page mempool, which
 * still guarantees forward progress: crypt.c refills a mempool's reserve
 * before it gives a page to the cache, so a writer waiting on the reserve
 * is woken as before.
 */
#include <linux/debugfs.h>
#include <linux/mm.h>
#include <linux/percpu.h>
#include <linux/shrinker.h>
#include <linux/spinlock.h>

#include "vmcrypt.h"

#define VMC_BOUNCE_CPU_PAGES 64		/* 256 KiB per CPU */
#define VMC_BOUNCE_DEPOT_PAGES 1024	/* 4 MiB shared */

struct vmc_bounce_cpu {
	spinlock_t lock;	/* this CPU's, or the shrinker */
	unsigned int nr;
	struct page *pages[VMC_BOUNCE_CPU_PAGES];
};

static DEFINE_PER_CPU(struct vmc_bounce_cpu, vmc_bounce_cpu);

static struct {
	spinlock_t lock;	/* nests inside a CPU's lock */
	unsigned int nr;
	struct page *pages[VMC_BOUNCE_DEPOT_PAGES];
} vmc_depot = { .lock = __SPIN_LOCK_UNLOCKED(vmc_depot.lock) };

static struct dentry *vmc_debugfs;

/*
 * Move up to @nr pages from the end of @from (holding *@from_nr) to @to.
 * The counts are written with WRITE_ONCE: vmc_bounce_nr() reads them
 * without the locks.
 */
static unsigned int vmc_pages_move(struct page **to, struct page **from,
				   unsigned int *from_nr, unsigned int nr)
{
	nr = min(nr, *from_nr);
	WRITE_ONCE(*from_nr, *from_nr - nr);
	memcpy(to, from + *from_nr, nr * sizeof(*to));
	return nr;
}

/*
 * Append up to @nr pages from @from to @to (holding *@to_nr, room for @cap
 * in all); returns how many fitted.
 */
static unsigned int vmc_pages_push(struct page **to, unsigned int *to_nr,
				   unsigned int cap, struct page **from,
				   unsigned int nr)
{
	nr = min(nr, cap - *to_nr);
	memcpy(to + *to_nr, from, nr * sizeof(*to));
	WRITE_ONCE(*to_nr, *to_nr + nr);
	return nr;
}

/*
 * Pages in the cache, for the shrinker and for debugfs: the sum of the
 * counts, read without their locks (exact when no write is in flight).
 * A shared counter updated by every get and put would be written by
 * every CPU on every write.
 */
static unsigned long vmc_bounce_nr(void)
{
	unsigned long n = READ_ONCE(vmc_depot.nr);
	int cpu;

	for_each_possible_cpu(cpu)
		n += READ_ONCE(per_cpu_ptr(&vmc_bounce_cpu, cpu)->nr);
	return n;
}

/*
 * The share of the CPU we run on. Not pinned: a task moved to another CPU
 * before it takes the lock uses the old CPU's share, under that share's
 * lock, which is only less local, as the shrinker's access from any CPU
 * is. Pinning with interrupts off (local_irq_save, then spin_lock) would
 * take a sleeping lock with interrupts off on PREEMPT_RT.
 */
static struct vmc_bounce_cpu *vmc_bounce_this_cpu(void)
{
	return raw_cpu_ptr(&vmc_bounce_cpu);
}

/*
 * Take up to @nr (at most VMC_BOUNCE_BATCH) cached pages into @pages,
 * refilling this CPU's share from the depot when it runs short. Returns
 * how many; their contents are old ciphertext. Any context.
 */
unsigned int vmc_bounce_get(struct page **pages, unsigned int nr)
{
	struct vmc_bounce_cpu *bc;
	unsigned long flags;
	unsigned int moved;

	bc = vmc_bounce_this_cpu();
	spin_lock_irqsave(&bc->lock, flags);
	if (bc->nr < nr && READ_ONCE(vmc_depot.nr)) {
		spin_lock(&vmc_depot.lock);
		moved = vmc_pages_move(bc->pages + bc->nr, vmc_depot.pages,
				       &vmc_depot.nr,
				       VMC_BOUNCE_CPU_PAGES - bc->nr);
		WRITE_ONCE(bc->nr, bc->nr + moved);
		spin_unlock(&vmc_depot.lock);
	}
	nr = vmc_pages_move(pages, bc->pages, &bc->nr, nr);
	spin_unlock_irqrestore(&bc->lock, flags);
	return nr;
}

static void vmc_pages_free(struct page **pages, unsigned int nr)
{
	while (nr)
		__free_page(pages[--nr]);
}

/*
 * Give @nr (at most VMC_BOUNCE_BATCH) bounce pages back: to this CPU's
 * share, then to the depot, and what fits in neither to the page
 * allocator. Any context.
 */
void vmc_bounce_put(struct page **pages, unsigned int nr)
{
	struct vmc_bounce_cpu *bc;
	unsigned long flags;
	unsigned int kept;

	bc = vmc_bounce_this_cpu();
	spin_lock_irqsave(&bc->lock, flags);
	kept = vmc_pages_push(bc->pages, &bc->nr, VMC_BOUNCE_CPU_PAGES, pages,
			      nr);
	if (kept < nr) {
		spin_lock(&vmc_depot.lock);
		kept += vmc_pages_push(vmc_depot.pages, &vmc_depot.nr,
				       VMC_BOUNCE_DEPOT_PAGES, pages + kept,
				       nr - kept);
		spin_unlock(&vmc_depot.lock);
	}
	spin_unlock_irqrestore(&bc->lock, flags);
	vmc_pages_free(pages + kept, nr - kept);
}

/* Free up to @want pages from @from (holding *@nr, under @lock). */
static unsigned long vmc_bounce_drain_one(spinlock_t *lock, struct page **from,
					  unsigned int *nr, unsigned long want)
{
	struct page *batch[VMC_BOUNCE_BATCH];
	unsigned long flags, freed = 0;
	unsigned int n;

	do {
		spin_lock_irqsave(lock, flags);
		n = vmc_pages_move(batch, from, nr,
				   min_t(unsigned long, want - freed,
					 VMC_BOUNCE_BATCH));
		spin_unlock_irqrestore(lock, flags);
		vmc_pages_free(batch, n);
		freed += n;
	} while (n && freed < want);
	return freed;
}

/* Free up to @want cached pages, the depot's first; returns how many. */
static unsigned long vmc_bounce_drain(unsigned long want)
{
	struct vmc_bounce_cpu *bc;
	unsigned long freed;
	int cpu;

	freed = vmc_bounce_drain_one(&vmc_depot.lock, vmc_depot.pages,
				     &vmc_depot.nr, want);
	for_each_possible_cpu(cpu) {
		if (freed >= want)
			break;
		bc = per_cpu_ptr(&vmc_bounce_cpu, cpu);
		freed += vmc_bounce_drain_one(&bc->lock, bc->pages, &bc->nr,
					      want - freed);
	}
	return freed;
}

static unsigned long vmc_bounce_count(struct shrinker *s,
				      struct shrink_control *sc)
{
	unsigned long n = vmc_bounce_nr();

	return n ?: SHRINK_EMPTY;
}

static unsigned long vmc_bounce_scan(struct shrinker *s,
				     struct shrink_control *sc)
{
	unsigned long freed = vmc_bounce_drain(sc->nr_to_scan);

	return freed ?: SHRINK_STOP;
}

static int vmc_bounce_pages_get(void *data, u64 *val)
{
	*val = vmc_bounce_nr();
	return 0;
}
DEFINE_DEBUGFS_ATTRIBUTE(vmc_bounce_pages_fops, vmc_bounce_pages_get, NULL,
			 "%llu\n");

static struct shrinker vmc_bounce_shrinker = {
	.count_objects = vmc_bounce_count,
	.scan_objects = vmc_bounce_scan,
	.seeks = DEFAULT_SEEKS,
};

int vmc_bounce_init(void)
{
	int cpu, r;

	for_each_possible_cpu(cpu)
		spin_lock_init(&per_cpu_ptr(&vmc_bounce_cpu, cpu)->lock);
	r = register_shrinker(&vmc_bounce_shrinker, "dm-vmcrypt-bounce");
	if (r)
		return r;
	/* debugfs failures are not errors: the files are for diagnosis */
	vmc_debugfs = debugfs_create_dir("dm-vmcrypt", NULL);
	debugfs_create_file_unsafe("bounce_pages", 0444, vmc_debugfs, NULL,
				   &vmc_bounce_pages_fops);
	return 0;
}

/* After the last device is gone: no page is in flight any more. */
void vmc_bounce_exit(void)
{
	debugfs_remove(vmc_debugfs);
	unregister_shrinker(&vmc_bounce_shrinker);
	vmc_bounce_drain(ULONG_MAX);
}
