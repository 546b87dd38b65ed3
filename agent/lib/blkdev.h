/* SPDX-License-Identifier: GPL-2.0 */
/*
 * blkdev.h - the names block devices are shown by.
 *
 * The kernel names a device-mapper device dm-N, a number that changes from
 * boot to boot; admins know it as /dev/mapper/NAME (or as an LVM link such
 * as /dev/VG/LV, which points at dm-N). Paths vmcryptctl resolves and the
 * devices vmcryptd reads out of tables are shown as /dev/mapper/NAME.
 */
#ifndef VMCRYPT_BLKDEV_H
#define VMCRYPT_BLKDEV_H

#include <stddef.h>
#include <sys/types.h>

/*
 * /dev/mapper/NAME for the block device @rdev, when it is a device-mapper
 * device and that node is the same device. 0 with @buf filled, -ENOENT
 * when @rdev is not a dm device or has no such node, other -errno.
 */
int blkdev_mapper_path(dev_t rdev, char *buf, size_t len);

/*
 * If @path (NUL-terminated in a buffer of @len bytes) is a device-mapper
 * block device, replace it with its /dev/mapper/NAME path; otherwise leave
 * it as it is.
 */
void blkdev_prefer_mapper_path(char *path, size_t len);

#endif
