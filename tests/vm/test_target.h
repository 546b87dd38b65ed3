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
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <keyutils.h>

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
 * Path of dm-vmcrypt.ko: $VMCRYPT_KO, else kernel/dm-vmcrypt.ko found by
 * walking up from the test binary (build[/O]/tests/vm/), else relative to
 * the current directory.
 */
static inline int vmc_ko_path(char *path, size_t len)
{
	const char *env = getenv("VMCRYPT_KO");
	char exe[PATH_MAX];
	ssize_t n;
	char *s;

	if (env && *env) {
		snprintf(path, len, "%s", env);
		return 0;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		while ((s = strrchr(exe, '/')) && s != exe) {
			*s = '\0';
			if (snprintf(path, len, "%s/kernel/dm-vmcrypt.ko", exe) >=
			    (int)len)
				continue;
			if (!access(path, R_OK))
				return 0;
		}
	}
	snprintf(path, len, "kernel/dm-vmcrypt.ko");
	return access(path, R_OK) ? -ENOENT : 0;
}

/* Load dm-mod and dm-vmcrypt (if not loaded yet); 0 or -errno. */
static inline int vmc_load_module(void)
{
	char ko[PATH_MAX];

	if (vmc_sh("modprobe -q dm-mod") != 0) {
		vmc_diag("modprobe dm-mod failed");
		return -EIO;
	}
	if (vmc_module_loaded())
		return 0;
	if (vmc_ko_path(ko, sizeof(ko))) {
		vmc_diag("dm-vmcrypt.ko not found (build it with 'make module' or set VMCRYPT_KO)");
		return -ENOENT;
	}
	if (vmc_sh("insmod '%s'", ko) != 0) {
		vmc_diag("insmod %s failed", ko);
		return -EIO;
	}
	return 0;
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

/* Make a dm device from a one-line table; 0 or dmsetup's exit status. */
static inline int vmc_dm_create(const char *name, const char *table)
{
	return vmc_sh("dmsetup create %s --table '%s' 2>/dev/null", name, table);
}

static inline void vmc_dm_remove(const char *name)
{
	vmc_sh("dmsetup remove --retry %s >/dev/null 2>&1", name);
}

static inline int vmc_dm_exists(const char *name)
{
	return vmc_sh("dmsetup info %s >/dev/null 2>&1", name) == 0;
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

/* /dev/ram0 of at least @mib MiB (brd); 0 or -errno. */
static inline int vmc_brd(unsigned int mib)
{
	unsigned long long bytes = 0;
	char out[64];

	if (access("/dev/ram0", F_OK))
		vmc_sh("modprobe brd rd_nr=1 rd_size=%u", mib * 1024);
	if (vmc_sh_out(out, sizeof(out), "blockdev --getsize64 /dev/ram0") ||
	    sscanf(out, "%llu", &bytes) != 1 || bytes < (unsigned long long)mib << 20) {
		vmc_diag("no /dev/ram0 of %u MiB (brd: %s)", mib, out);
		return -ENODEV;
	}
	return 0;
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
