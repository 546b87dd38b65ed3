// SPDX-License-Identifier: GPL-2.0
/*
 * loopdev.c - attach image files to loop devices (LOOP_CTL_GET_FREE +
 * LOOP_CONFIGURE) and find existing attachments through sysfs.
 */
#include "lib/loopdev.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/loop.h>

int loopdev_attach(const char *file, char *dev, size_t devlen, int *fd)
{
	struct loop_config cfg;
	int ctl, ffd, lfd = -1, nr, tries, ret;

	ffd = open(file, O_RDWR | O_CLOEXEC);
	if (ffd < 0)
		return -errno;
	ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0) {
		ret = -errno;
		goto out;
	}
	/* Another process may grab the free device first: retry a few times. */
	for (tries = 0; tries < 16; tries++) {
		nr = ioctl(ctl, LOOP_CTL_GET_FREE);
		if (nr < 0) {
			ret = -errno;
			goto out;
		}
		snprintf(dev, devlen, "/dev/loop%d", nr);
		lfd = open(dev, O_RDWR | O_CLOEXEC);
		if (lfd < 0) {
			ret = -errno;
			goto out;
		}
		memset(&cfg, 0, sizeof(cfg));
		cfg.fd = (unsigned int)ffd;
		cfg.info.lo_flags = LO_FLAGS_AUTOCLEAR;
		snprintf((char *)cfg.info.lo_file_name, LO_NAME_SIZE, "%s", file);
		if (ioctl(lfd, LOOP_CONFIGURE, &cfg) == 0) {
			*fd = lfd;
			ret = 0;
			goto out;
		}
		ret = -errno;
		close(lfd);
		lfd = -1;
		if (ret != -EBUSY)
			goto out;
	}
out:
	if (ctl >= 0)
		close(ctl);
	close(ffd);
	return ret;
}

int loopdev_backing_file(const char *loopname, char *buf, size_t len)
{
	char path[128];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/sys/block/%s/loop/backing_file", loopname);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	while (n > 0 && buf[n - 1] == '\n')
		n--;
	buf[n] = '\0';
	return 0;
}

int loopdev_find(const char *file, char *dev, size_t devlen)
{
	struct stat want, st;
	struct dirent *de;
	char backing[4096], path[300];
	DIR *dir;
	int ret = -ENOENT;

	if (stat(file, &want) < 0)
		return -errno;
	dir = opendir("/sys/block");
	if (!dir)
		return -errno;
	while ((de = readdir(dir))) {
		int fd;
		struct loop_info64 info;

		if (strncmp(de->d_name, "loop", 4))
			continue;
		if (loopdev_backing_file(de->d_name, backing, sizeof(backing)))
			continue;
		/* Compare the inode the kernel holds, not just the name. */
		snprintf(path, sizeof(path), "/dev/%s", de->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (ioctl(fd, LOOP_GET_STATUS64, &info) == 0 &&
		    info.lo_device == (uint64_t)want.st_dev &&
		    info.lo_inode == (uint64_t)want.st_ino) {
			snprintf(dev, devlen, "%s", path);
			ret = 0;
		} else if (stat(backing, &st) == 0 && st.st_dev == want.st_dev &&
			   st.st_ino == want.st_ino) {
			snprintf(dev, devlen, "%s", path);
			ret = 0;
		}
		close(fd);
		if (!ret)
			break;
	}
	closedir(dir);
	return ret;
}
