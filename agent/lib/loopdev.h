/* SPDX-License-Identifier: GPL-2.0 */
/*
 * loopdev.h - loop devices for image files.
 *
 * An image-file disk is opened through a loop device set up with
 * LO_FLAGS_AUTOCLEAR: once the dm-vmcrypt table holds it and we close our
 * descriptor, removing the dm device also frees the loop device.
 */
#ifndef VMCRYPT_LOOPDEV_H
#define VMCRYPT_LOOPDEV_H

#include <stddef.h>

/*
 * Attach @file to a free loop device; @dev (>= 32 bytes) gets its path and
 * *@fd an open descriptor to keep until the table is loaded (close it
 * then: autoclear frees the loop device when its last user goes).
 * 0 or -errno.
 */
int loopdev_attach(const char *file, char *dev, size_t devlen, int *fd);

/*
 * Find a loop device backed by @file (compared by device and inode). 0 with
 * @dev filled, -ENOENT if none, other -errno.
 */
int loopdev_find(const char *file, char *dev, size_t devlen);

/* Backing file of loop device "loopN" (a /sys/block name). 0 or -errno. */
int loopdev_backing_file(const char *loopname, char *buf, size_t len);

#endif
