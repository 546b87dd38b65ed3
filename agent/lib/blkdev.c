// SPDX-License-Identifier: GPL-2.0
/*
 * blkdev.c - /dev/mapper/NAME for device-mapper devices, from sysfs
 * (/sys/dev/block/MAJ:MIN/dm/name) checked against the node itself.
 */
#include "lib/blkdev.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

int blkdev_mapper_path(dev_t rdev, char *buf, size_t len)
{
	char sys[96], name[160], path[192];
	struct stat st;
	ssize_t n;
	int fd;

	snprintf(sys, sizeof(sys), "/sys/dev/block/%u:%u/dm/name",
		 major(rdev), minor(rdev));
	fd = open(sys, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT || errno == ENOTDIR ? -ENOENT : -errno;
	n = read(fd, name, sizeof(name) - 1);
	close(fd);
	if (n < 0)
		return -errno;
	name[n] = '\0';
	name[strcspn(name, "\n")] = '\0';
	/* dm names never hold a '/'; a name that does is not one to show */
	if (!name[0] || strchr(name, '/'))
		return -ENOENT;
	snprintf(path, sizeof(path), "/dev/mapper/%s", name);
	/* a stale node, or none (no udev, no libdevmapper), is no name */
	if (stat(path, &st) || !S_ISBLK(st.st_mode) || st.st_rdev != rdev)
		return -ENOENT;
	if ((size_t)snprintf(buf, len, "%s", path) >= len)
		return -ENAMETOOLONG;
	return 0;
}

void blkdev_prefer_mapper_path(char *path, size_t len)
{
	char mapper[192];
	struct stat st;

	if (stat(path, &st) || !S_ISBLK(st.st_mode) ||
	    blkdev_mapper_path(st.st_rdev, mapper, sizeof(mapper)) ||
	    strlen(mapper) >= len)
		return;
	memcpy(path, mapper, strlen(mapper) + 1);
}
