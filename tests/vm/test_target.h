/* SPDX-License-Identifier: GPL-2.0 */
/*
 * test_target.h - helpers shared by the dm-vmcrypt kselftests in tests/vm
 * (run as root inside the QEMU guest): loading the module, logon keys,
 * dmsetup, backing devices (brd, loop), O_DIRECT I/O and the kernel log.
 * Helpers return 0 or -errno and print a "# " diagnostic on failure so
 * that the harness output says why.
 */
#ifndef VMCRYPT_TEST_TARGET_H
#define VMCRYPT_TEST_TARGET_H

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <keyutils.h>
#include <libdevmapper.h>
#include <linux/fs.h>
#include <sys/ioctl.h>

/*
 * The harness compares with "==" between an int literal and whatever the
 * seen value is; -Wextra's sign-compare would flag every unsigned counter.
 */
#pragma GCC diagnostic ignored "-Wsign-compare"

#define VMC_MODULE "dm_vmcrypt"
#define VMC_PARAM_DRIVER "/sys/module/dm_vmcrypt/parameters/driver"
/* crypto drivers present in Debian's kernel (checked in /proc/crypto) */
#define VMC_SYNC_DRIVER "xts(ecb(aes-generic))"
#define VMC_ASYNC_DRIVER "cryptd(xts(ecb(aes-generic)))"

static inline void vmc_diag(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
static inline void vmc_diag(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("# ", stdout);
	vprintf(fmt, ap);
	fputc('\n', stdout);
	fflush(stdout);
	va_end(ap);
}

/* Run a shell command; its exit status (or -1 if it did not exit). */
static inline int vmc_sh(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
static inline int vmc_sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	fflush(stdout);
	st = system(cmd);
	if (st == -1 || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

/* Run a command and capture its first line of output (newline removed). */
static inline int vmc_sh_out(char *out, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static inline int vmc_sh_out(char *out, size_t len, const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	FILE *p;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	fflush(stdout);
	p = popen(cmd, "r");
	if (!p)
		return -errno;
	out[0] = '\0';
	if (fgets(out, (int)len, p))
		out[strcspn(out, "\n")] = '\0';
	while (fgetc(p) != EOF)
		;
	st = pclose(p);
	if (st == -1 || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

static inline int vmc_module_loaded(void)
{
	return access("/sys/module/" VMC_MODULE, F_OK) == 0;
}

/*
 * Path of the tree's file @rel (a module): found by walking up from the
 * test binary (build[/O]/tests/vm/), else relative to the current
 * directory.
 */
static inline int vmc_tree_path(const char *rel, char *path, size_t len)
{
	char exe[PATH_MAX];
	ssize_t n;
	char *s;

	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		while ((s = strrchr(exe, '/')) && s != exe) {
			*s = '\0';
			if (snprintf(path, len, "%s/%s", exe, rel) >= (int)len)
				continue;
			if (!access(path, R_OK))
				return 0;
		}
	}
	snprintf(path, len, "%s", rel);
	return access(path, R_OK) ? -ENOENT : 0;
}

/* Path of dm-vmcrypt.ko: $VMCRYPT_KO, else the tree's kernel/dm-vmcrypt.ko. */
static inline int vmc_ko_path(char *path, size_t len)
{
	const char *env = getenv("VMCRYPT_KO");

	if (env && *env) {
		snprintf(path, len, "%s", env);
		return 0;
	}
	return vmc_tree_path("kernel/dm-vmcrypt.ko", path, len);
}

/* insmod @ko (no parameters); 0, or -EIO with a diagnostic. */
static inline int vmc_insmod(const char *ko)
{
	int fd = open(ko, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || syscall(SYS_finit_module, fd, "", 0)) {
		vmc_diag("insmod %s: %s", ko, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -EIO;
	}
	close(fd);
	return 0;
}

/* Load dm-mod and dm-vmcrypt (if not loaded yet); 0 or -errno. */
static inline int vmc_load_module(void)
{
	char ko[PATH_MAX];

	if (access("/sys/module/dm_mod", F_OK) && vmc_sh("modprobe -q dm-mod") != 0) {
		vmc_diag("modprobe dm-mod failed");
		return -EIO;
	}
	if (vmc_module_loaded())
		return 0;
	if (vmc_ko_path(ko, sizeof(ko))) {
		vmc_diag("dm-vmcrypt.ko not found (build it with 'make module' or set VMCRYPT_KO)");
		return -ENOENT;
	}
	return vmc_insmod(ko);
}

/* rmmod dm_vmcrypt; 0 or -errno (-EBUSY while a device exists). */
static inline int vmc_unload_module(void)
{
	return syscall(SYS_delete_module, VMC_MODULE, O_NONBLOCK) ? -errno : 0;
}

/* Set the driver= module parameter ("" for the default). */
static inline int vmc_set_driver(const char *driver)
{
	int fd = open(VMC_PARAM_DRIVER, O_WRONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	/* sysfs ignores empty writes: "\n" clears (the module strips it) */
	if (!*driver)
		driver = "\n";
	n = write(fd, driver, strlen(driver));
	close(fd);
	return n < 0 ? -errno : 0;
}

/* Add a logon key with @len random bytes (or @data) to the session keyring. */
static inline key_serial_t vmc_add_key(const char *type, const char *desc,
				       const void *data, size_t len)
{
	unsigned char buf[128];

	if (!data) {
		if (len > sizeof(buf) || getrandom(buf, len, 0) != (ssize_t)len)
			return -1;
		data = buf;
	}
	return add_key(type, desc, data, len, KEY_SPEC_SESSION_KEYRING);
}

/*
 * Device-mapper through libdevmapper (no dmsetup process: exec is slow
 * under TCG). Its own error messages are silenced: the tests check the
 * kernel log and return codes instead.
 */
static inline void vmc_dm_quiet(int level, const char *file, int line,
				int dm_errno, const char *f, ...)
{
	(void)level; (void)file; (void)line; (void)dm_errno; (void)f;
}

static inline struct dm_task *vmc_dm_task(int type, const char *name)
{
	struct dm_task *dmt;

	dm_log_with_errno_init(vmc_dm_quiet);
	dm_udev_set_sync_support(0);
	dmt = dm_task_create(type);
	if (dmt && name && !dm_task_set_name(dmt, name)) {
		dm_task_destroy(dmt);
		return NULL;
	}
	return dmt;
}

static inline int vmc_dm_run(struct dm_task *dmt)
{
	int ok;

	if (!dmt)
		return -ENOMEM;
	ok = dm_task_run(dmt);
	dm_task_destroy(dmt);
	dm_task_update_nodes();
	return ok ? 0 : -EIO;
}

/*
 * Run task @type (create, or reload: load an inactive table) with the
 * one-line table "<start> <len> <type> <params>".
 */
static inline int vmc_dm_table_task(int type, const char *name,
				    const char *table)
{
	unsigned long long start, len;
	char target[64];
	int n = 0;
	struct dm_task *dmt;

	if (sscanf(table, "%llu %llu %63s %n", &start, &len, target, &n) != 3 || !n)
		return -EINVAL;
	dmt = vmc_dm_task(type, name);
	if (!dmt)
		return -ENOMEM;
	if (!dm_task_add_target(dmt, start, len, target, table + n)) {
		dm_task_destroy(dmt);
		return -ENOMEM;
	}
	return vmc_dm_run(dmt);
}

/* Make (load and resume) a dm device. */
static inline int vmc_dm_create(const char *name, const char *table)
{
	return vmc_dm_table_task(DM_DEVICE_CREATE, name, table);
}

/* Load an inactive table; vmc_dm_resume() swaps it in. */
static inline int vmc_dm_reload(const char *name, const char *table)
{
	return vmc_dm_table_task(DM_DEVICE_RELOAD, name, table);
}

static inline int vmc_dm_simple(int type, const char *name)
{
	return vmc_dm_run(vmc_dm_task(type, name));
}

static inline void vmc_dm_remove(const char *name)
{
	struct dm_task *dmt = vmc_dm_task(DM_DEVICE_REMOVE, name);

	if (dmt)
		dm_task_retry_remove(dmt);
	vmc_dm_run(dmt);
}

static inline int vmc_dm_exists(const char *name)
{
	struct dm_task *dmt = vmc_dm_task(DM_DEVICE_INFO, name);
	struct dm_info info;
	int exists = 0;

	if (!dmt)
		return 0;
	if (dm_task_run(dmt) && dm_task_get_info(dmt, &info))
		exists = info.exists;
	dm_task_destroy(dmt);
	return exists;
}

static inline int vmc_dm_suspend(const char *name)
{
	return vmc_dm_simple(DM_DEVICE_SUSPEND, name);
}

static inline int vmc_dm_resume(const char *name)
{
	return vmc_dm_simple(DM_DEVICE_RESUME, name);
}

/* Send a target message to sector 0. */
static inline int vmc_dm_message(const char *name, const char *msg)
{
	struct dm_task *dmt = vmc_dm_task(DM_DEVICE_TARGET_MSG, name);

	if (!dmt)
		return -ENOMEM;
	if (!dm_task_set_sector(dmt, 0) || !dm_task_set_message(dmt, msg)) {
		dm_task_destroy(dmt);
		return -ENOMEM;
	}
	return vmc_dm_run(dmt);
}

static inline int vmc_dm_messagef(const char *name, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static inline int vmc_dm_messagef(const char *name, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return vmc_dm_message(name, msg);
}

/* "<start> <len> <type> <params>" of the first target, as dmsetup prints. */
static inline int vmc_dm_line(int type, const char *name, char *out, size_t len)
{
	struct dm_task *dmt = vmc_dm_task(type, name);
	uint64_t start, length;
	char *ttype = NULL, *params = NULL;
	int r = -EIO;

	out[0] = '\0';
	if (!dmt)
		return -ENOMEM;
	if (dm_task_run(dmt)) {
		dm_get_next_target(dmt, NULL, &start, &length, &ttype, &params);
		if (ttype) {
			snprintf(out, len, "%llu %llu %s %s",
				 (unsigned long long)start,
				 (unsigned long long)length, ttype,
				 params ? params : "");
			r = 0;
		}
	}
	dm_task_destroy(dmt);
	return r;
}

static inline int vmc_dm_status(const char *name, char *out, size_t len)
{
	return vmc_dm_line(DM_DEVICE_STATUS, name, out, len);
}

/* A vmcrypt device's INFO status, parsed (Documentation/target.rst). */
struct vmc_info {
	char key_state[16];
	unsigned long long reads, read_bytes, writes, write_bytes;
	unsigned long long crypto_errors, io_errors;
};

static inline int vmc_dm_info(const char *name, struct vmc_info *in)
{
	char out[512];

	if (vmc_dm_status(name, out, sizeof(out)))
		return -EIO;
	if (sscanf(out, "%*s %*s %*s %15s %llu %llu %llu %llu %llu %llu",
		   in->key_state, &in->reads, &in->read_bytes, &in->writes,
		   &in->write_bytes, &in->crypto_errors, &in->io_errors) != 7)
		return -EINVAL;
	return 0;
}

static inline int vmc_dm_table(const char *name, char *out, size_t len)
{
	return vmc_dm_line(DM_DEVICE_TABLE, name, out, len);
}

/* "major:minor" of a block device, as dmsetup table prints it. */
static inline int vmc_devno(const char *path, char *out, size_t len)
{
	struct stat st;

	if (stat(path, &st))
		return -errno;
	snprintf(out, len, "%u:%u", major(st.st_rdev), minor(st.st_rdev));
	return 0;
}

/* Size in bytes of a block device, or 0. */
static inline unsigned long long vmc_bdev_size(const char *path)
{
	unsigned long long bytes = 0;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return 0;
	if (ioctl(fd, BLKGETSIZE64, &bytes))
		bytes = 0;
	close(fd);
	return bytes;
}

/*
 * /dev/ram0 of at least @mib MiB; brd is (re)loaded with 64 MiB (pages are
 * only allocated when written) unless it already has a big enough disk.
 */
static inline int vmc_brd(unsigned int mib)
{
	if (vmc_bdev_size("/dev/ram0") < (unsigned long long)mib << 20) {
		vmc_sh("rmmod brd 2>/dev/null");
		vmc_sh("modprobe brd rd_nr=1 rd_size=%u", (mib > 64 ? mib : 64) * 1024);
	}
	if (vmc_bdev_size("/dev/ram0") < (unsigned long long)mib << 20) {
		vmc_diag("no /dev/ram0 of %u MiB (brd loaded with other sizes?)", mib);
		return -ENODEV;
	}
	return 0;
}

/*
 * Memory in KiB that the kernel holds for nobody we can see, as a
 * baseline for leak checks: after dropping the page cache, the buddy
 * allocator's free pages and those on the per-CPU lists (which MemFree
 * leaves out: it moved by megabytes over cycles that leak nothing), plus
 * what this test process holds itself (RSS and page tables: the ASan
 * build's quarantine grows by megabytes over a test). -1 on failure.
 */
static inline long long vmc_mem_free_kib(void)
{
	char out[32], self[32];

	if (vmc_sh("sync; echo 3 > /proc/sys/vm/drop_caches") ||
	    vmc_sh_out(out, sizeof(out),
		       "awk '/^ *nr_free_pages/ { f += $2 } /^ *count:/ { c += $2 } END { print (f + c) * 4 }' /proc/zoneinfo") ||
	    vmc_sh_out(self, sizeof(self),
		       "awk '/^(VmRSS|VmPTE):/ { k += $2 } END { print k + 0 }' /proc/%d/status",
		       (int)getpid()))
		return -1;
	return strtoll(out, NULL, 10) + strtoll(self, NULL, 10);
}

/* A loop device over a new sparse file of @mib MiB in /tmp. */
static inline int vmc_loop_create(unsigned int mib, char *dev, size_t len)
{
	char file[64];
	int r;

	snprintf(file, sizeof(file), "/tmp/vmctest-loop-%d.img", getpid());
	if (vmc_sh("truncate -s %uM %s", mib, file))
		return -EIO;
	r = vmc_sh_out(dev, len, "losetup -f --show %s", file);
	unlink(file);	/* the loop device keeps it open */
	if (r || strncmp(dev, "/dev/loop", 9)) {
		vmc_diag("losetup failed: %s", dev);
		return -EIO;
	}
	return 0;
}

static inline void vmc_loop_remove(const char *dev)
{
	if (dev && *dev)
		vmc_sh("losetup -d %s", dev);
}

static inline void *vmc_buf(size_t len)
{
	void *p = NULL;

	if (posix_memalign(&p, 4096, len))
		return NULL;
	memset(p, 0, len);
	return p;
}

static inline int vmc_fill_random(void *buf, size_t len)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		n = getrandom((char *)buf + done, len - done, 0);
		if (n < 0)
			return -errno;
		done += (size_t)n;
	}
	return 0;
}

/*
 * O_DIRECT I/O of @len bytes at byte @off, in chunks cycling through a few
 * sizes (all multiples of 4 KiB) so that bios of many sizes are made.
 */
static inline int vmc_pio(const char *path, int write, void *buf, size_t len,
			  off_t off)
{
	static const size_t chunks[] = { 4096, 65536, 8192, 1 << 20, 12288, 131072 };
	size_t done = 0, i = 0, n;
	ssize_t r;
	int fd;

	fd = open(path, (write ? O_WRONLY : O_RDONLY) | O_DIRECT);
	if (fd < 0) {
		vmc_diag("open %s: %s", path, strerror(errno));
		return -errno;
	}
	while (done < len) {
		n = chunks[i++ % (sizeof(chunks) / sizeof(chunks[0]))];
		if (n > len - done)
			n = len - done;
		r = write ? pwrite(fd, (char *)buf + done, n, off + (off_t)done) :
			    pread(fd, (char *)buf + done, n, off + (off_t)done);
		if (r != (ssize_t)n) {
			vmc_diag("%s %s at %lld: %s", write ? "write" : "read", path,
				 (long long)(off + (off_t)done),
				 r < 0 ? strerror(errno) : "short");
			close(fd);
			return r < 0 ? -errno : -EIO;
		}
		done += n;
	}
	if (write && fsync(fd)) {
		close(fd);
		return -errno;
	}
	close(fd);
	return 0;
}

/* Kernel log reader: open at the end, later look for a string. */
static inline int vmc_kmsg_open(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK);

	if (fd >= 0)
		lseek(fd, 0, SEEK_END);
	return fd;
}

/* 1 if a record logged since vmc_kmsg_open() contains @needle. */
static inline int vmc_kmsg_find(int fd, const char *needle)
{
	char rec[8192];
	ssize_t n;
	int found = 0;

	for (;;) {
		n = read(fd, rec, sizeof(rec) - 1);
		if (n < 0) {
			if (errno == EPIPE)
				continue;	/* overwritten records */
			break;
		}
		rec[n] = '\0';
		if (strstr(rec, needle))
			found = 1;
	}
	return found;
}

#endif
