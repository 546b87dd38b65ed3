// SPDX-License-Identifier: GPL-2.0
/*
 * xts_speed.c - a benchmark-only module (never installed): the kernel's
 * xts(aes) speed on 4096-byte blocks with a 512-bit key, measured on every
 * online CPU at the same time, one kthread bound to each. It is the
 * concurrent counterpart of tcrypt's one-CPU figure: whatever slows
 * several busy CPUs down together (under TCG, vCPU threads sharing the
 * host's cores) shows in it. Loading it runs the measurement, prints
 *
 *   xts_speed: <enc|dec> cpu<N> <bytes per second>
 *   xts_speed: <enc|dec> all <sum> driver <driver name>
 *
 * and fails with -EAGAIN on purpose (as tcrypt does), so nothing stays
 * loaded. Parameters: ms= (default 2000) per direction; ws_kib= (default
 * 4) the working set each CPU cycles through, one 4096-byte block after
 * another, in place. tcrypt and the default time one block that never
 * leaves the cache; a larger working set shows what touching new memory
 * costs, as a dm target's data does (a diagnostic: the ceiling in the
 * table is always the default).
 */
#include <crypto/skcipher.h>
#include <linux/completion.h>
#include <linux/kthread.h>
#include <linux/module.h>
#include <linux/random.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>

#define XS_BLOCK 4096
#define XS_KEY_SIZE 64
/*
 * Blocks between two reads of the clock, so that the clock's cost stays
 * out of the figure whatever the clocksource (under TCG the HPET is an
 * exit to QEMU). 16 blocks take well under a millisecond.
 */
#define XS_CLOCK_EVERY 16

static unsigned int ms = 2000;
module_param(ms, uint, 0444);
MODULE_PARM_DESC(ms, "milliseconds per direction (default 2000)");

static unsigned int ws_kib = XS_BLOCK / 1024;
module_param(ws_kib, uint, 0444);
MODULE_PARM_DESC(ws_kib, "KiB each CPU cycles through (default 4: one block)");

struct xs_worker {
	struct crypto_skcipher *tfm;
	bool encrypt;
	atomic_t *ready;
	unsigned int nr;
	u64 ops;
	s64 ns;
	int err;
	struct completion done;
};

static int xs_run(void *arg)
{
	struct xs_worker *w = arg;
	struct skcipher_request *req;
	DECLARE_CRYPTO_WAIT(wait);
	unsigned int nr_blocks = max(ws_kib / (XS_BLOCK / 1024), 1U), i;
	struct scatterlist sg;
	__le64 iv[2] = { 0, 0 };
	ktime_t start, end;
	struct page **pages;

	pages = kcalloc(nr_blocks, sizeof(*pages), GFP_KERNEL);
	req = skcipher_request_alloc(w->tfm, GFP_KERNEL);
	for (i = 0; pages && i < nr_blocks; i++) {
		pages[i] = alloc_page(GFP_KERNEL);
		if (!pages[i])
			break;
		memset(page_address(pages[i]), 0xa5, XS_BLOCK);
	}
	if (!pages || i < nr_blocks || !req) {
		w->err = -ENOMEM;
		atomic_inc(w->ready);
		goto out;
	}
	sg_init_table(&sg, 1);
	skcipher_request_set_callback(req, CRYPTO_TFM_REQ_MAY_SLEEP,
				      crypto_req_done, &wait);
	skcipher_request_set_crypt(req, &sg, &sg, XS_BLOCK, iv);
	/* all CPUs start together */
	atomic_inc(w->ready);
	while (atomic_read(w->ready) < w->nr)
		cond_resched();
	start = ktime_get();
	end = ktime_add_ms(start, ms);
	do {
		sg_set_page(&sg, pages[w->ops % nr_blocks], XS_BLOCK, 0);
		iv[0] = cpu_to_le64(w->ops);
		w->err = crypto_wait_req(w->encrypt ? crypto_skcipher_encrypt(req) :
					 crypto_skcipher_decrypt(req), &wait);
		w->ops++;
		cond_resched();
	} while (!w->err && (w->ops % XS_CLOCK_EVERY ||
			     ktime_before(ktime_get(), end)));
	w->ns = ktime_to_ns(ktime_sub(ktime_get(), start));
out:
	skcipher_request_free(req);
	for (i = 0; pages && i < nr_blocks && pages[i]; i++)
		__free_page(pages[i]);
	kfree(pages);
	complete(&w->done);
	return 0;
}

static int xs_direction(struct crypto_skcipher *tfm, bool encrypt,
			struct xs_worker *w, unsigned int nr)
{
	const char *dir = encrypt ? "enc" : "dec";
	struct task_struct *t;
	atomic_t ready = ATOMIC_INIT(0);
	unsigned int i = 0, started;
	u64 sum = 0, bps;
	int cpu, r = 0;

	for_each_online_cpu(cpu) {
		if (i == nr)
			break;
		w[i] = (struct xs_worker){ .tfm = tfm, .encrypt = encrypt,
					   .ready = &ready, .nr = nr };
		init_completion(&w[i].done);
		t = kthread_create_on_cpu(xs_run, &w[i], cpu, "xts_speed/%u");
		if (IS_ERR(t)) {
			r = PTR_ERR(t);
			break;
		}
		wake_up_process(t);
		i++;
	}
	started = i;
	/* threads that could not start would hold the others at the barrier */
	atomic_add(nr - started, &ready);
	for (i = 0; i < started; i++)
		wait_for_completion(&w[i].done);
	for (i = 0; i < started; i++) {
		if (w[i].err) {
			r = w[i].err;
			continue;
		}
		bps = div64_u64(w[i].ops * XS_BLOCK * NSEC_PER_SEC,
				max_t(s64, w[i].ns, 1));
		pr_info("xts_speed: %s cpu%u %llu\n", dir, i, bps);
		sum += bps;
	}
	if (!r)
		pr_info("xts_speed: %s all %llu driver %s\n", dir, sum,
			crypto_tfm_alg_driver_name(crypto_skcipher_tfm(tfm)));
	return r;
}

static int __init xs_init(void)
{
	unsigned int nr = num_online_cpus();
	struct crypto_skcipher *tfm;
	struct xs_worker *w;
	u8 key[XS_KEY_SIZE];
	int r;

	BUILD_BUG_ON(XS_BLOCK != PAGE_SIZE);

	tfm = crypto_alloc_skcipher("xts(aes)", 0, 0);
	if (IS_ERR(tfm)) {
		pr_err("xts_speed: no xts(aes): %ld\n", PTR_ERR(tfm));
		return PTR_ERR(tfm);
	}
	get_random_bytes(key, sizeof(key));
	r = crypto_skcipher_setkey(tfm, key, sizeof(key));
	memzero_explicit(key, sizeof(key));
	w = kcalloc(nr, sizeof(*w), GFP_KERNEL);
	if (!r && !w)
		r = -ENOMEM;
	if (!r)
		r = xs_direction(tfm, true, w, nr);
	if (!r)
		r = xs_direction(tfm, false, w, nr);
	if (r)
		pr_err("xts_speed: failed: %d\n", r);
	kfree(w);
	crypto_free_skcipher(tfm);
	/* a measurement, not a module to keep: never stay loaded */
	return r ? r : -EAGAIN;
}

module_init(xs_init);

MODULE_DESCRIPTION("vmcrypt benchmark: concurrent in-kernel xts(aes) speed on every CPU");
MODULE_LICENSE("GPL");
