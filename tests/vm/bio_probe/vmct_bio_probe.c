// SPDX-License-Identifier: GPL-2.0
/*
 * vmct_bio_probe.c - a test-only module (never installed): submits bios to
 * a block device in shapes that user space cannot produce (the block layer
 * aligns O_DIRECT and page-cache I/O to the logical block size and the DMA
 * alignment), so that tests/vm/test_target_unaligned.c can drive
 * dm-vmcrypt's refusal paths: a bio not aligned to the data unit, and a
 * data unit split across two bio_vecs. Writing one line to
 * /sys/kernel/debug/vmct_bio_probe/submit
 *
 *   <r|w> <device path> <sector> <bytes> <split>
 *
 * submits one bio of <bytes> (a multiple of 512, at most VMCT_MAX_BYTES)
 * at 512-byte <sector>, made of whole pages but for a shorter last one;
 * when <split> is not -1, page number <split> is given as two 2048-byte
 * bio_vecs in two different pages. Writes carry the byte 0x5a. The
 * write(2) waits for the bio and returns the bio's error (for instance
 * -EIO), or the line's length when the bio succeeded.
 */
#include <linux/bio.h>
#include <linux/blkdev.h>
#include <linux/debugfs.h>
#include <linux/module.h>
#include <linux/slab.h>

#define VMCT_MAX_BYTES (512u << 10)
#define VMCT_MAX_PAGES (VMCT_MAX_BYTES / PAGE_SIZE + 1)
#define VMCT_HALF (PAGE_SIZE / 2)
#define VMCT_FILL 0x5a

static struct dentry *vmct_dir;

struct vmct_req {
	char op;
	char path[128];
	unsigned long long sector;
	unsigned int bytes;
	int split;
};

static int vmct_parse(const char __user *ubuf, size_t len, struct vmct_req *rq)
{
	char line[192];

	if (len >= sizeof(line))
		return -EINVAL;
	if (copy_from_user(line, ubuf, len))
		return -EFAULT;
	line[len] = '\0';
	if (sscanf(line, "%c %127s %llu %u %d", &rq->op, rq->path, &rq->sector,
		   &rq->bytes, &rq->split) != 5)
		return -EINVAL;
	if ((rq->op != 'r' && rq->op != 'w') || !rq->bytes ||
	    rq->bytes > VMCT_MAX_BYTES || rq->bytes % SECTOR_SIZE ||
	    rq->split < -1 || rq->split >= (int)(rq->bytes / PAGE_SIZE))
		return -EINVAL;
	return 0;
}

/* Pages for @rq, each filled with VMCT_FILL; the split page takes two. */
static int vmct_add_pages(struct bio *bio, const struct vmct_req *rq,
			  struct page **pages, unsigned int *nr)
{
	unsigned int left = rq->bytes, i, len, seg, parts, p;
	struct page *page;

	for (i = 0; left; i++) {
		len = min_t(unsigned int, left, PAGE_SIZE);
		parts = (int)i == rq->split ? 2 : 1;
		for (p = 0; p < parts; p++) {
			seg = parts == 2 ? VMCT_HALF : len;
			page = alloc_page(GFP_KERNEL);
			if (!page)
				return -ENOMEM;
			pages[(*nr)++] = page;
			memset(page_address(page), VMCT_FILL, PAGE_SIZE);
			if (bio_add_page(bio, page, seg, 0) != seg)
				return -E2BIG;
		}
		left -= len;
	}
	return 0;
}

static ssize_t vmct_submit(struct file *file, const char __user *ubuf,
			   size_t len, loff_t *ppos)
{
	const fmode_t mode = FMODE_READ | FMODE_WRITE;
	struct block_device *bdev;
	struct vmct_req rq;
	struct page **pages;
	unsigned int nr = 0, i;
	struct bio *bio;
	int r;

	r = vmct_parse(ubuf, len, &rq);
	if (r)
		return r;
	bdev = blkdev_get_by_path(rq.path, mode, NULL);
	if (IS_ERR(bdev))
		return PTR_ERR(bdev);
	pages = kcalloc(VMCT_MAX_PAGES, sizeof(*pages), GFP_KERNEL);
	bio = bio_alloc(bdev, VMCT_MAX_PAGES,
			rq.op == 'w' ? REQ_OP_WRITE : REQ_OP_READ, GFP_KERNEL);
	if (!pages) {
		r = -ENOMEM;
		goto out;
	}
	bio->bi_iter.bi_sector = rq.sector;
	r = vmct_add_pages(bio, &rq, pages, &nr);
	if (!r)
		r = submit_bio_wait(bio);
out:
	bio_put(bio);
	for (i = 0; i < nr; i++)
		__free_page(pages[i]);
	kfree(pages);
	blkdev_put(bdev, mode);
	return r ? r : len;
}

static const struct file_operations vmct_submit_fops = {
	.owner = THIS_MODULE,
	.write = vmct_submit,
	.llseek = noop_llseek,
};

static int __init vmct_init(void)
{
	vmct_dir = debugfs_create_dir("vmct_bio_probe", NULL);
	if (IS_ERR(vmct_dir))
		return PTR_ERR(vmct_dir);
	debugfs_create_file("submit", 0200, vmct_dir, NULL, &vmct_submit_fops);
	return 0;
}

static void __exit vmct_exit(void)
{
	debugfs_remove(vmct_dir);
}

module_init(vmct_init);
module_exit(vmct_exit);

MODULE_DESCRIPTION("vmcrypt test: submit bios user space cannot shape");
MODULE_LICENSE("GPL");
