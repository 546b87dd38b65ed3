/* SPDX-License-Identifier: GPL-2.0 */
/*
 * atomicfile.h - crash-safe file replacement and bounded file reads.
 *
 * atomicfile_write() writes a temporary file in the target's directory,
 * fsyncs it, renames it over the target and fsyncs the directory, so a
 * reader (or a host that crashed at any instant) sees either the old or the
 * new contents, never a mix. Anyone may reuse it.
 */
#ifndef VMCRYPT_ATOMICFILE_H
#define VMCRYPT_ATOMICFILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Replace @path with @len bytes from @data, file mode @mode. 0 or -errno. */
int atomicfile_write(const char *path, const void *data, size_t len,
		     mode_t mode);

/* Like atomicfile_write(), but -EEXIST instead of replacing @path. */
int atomicfile_create(const char *path, const void *data, size_t len,
		      mode_t mode);

/*
 * Read a whole regular file of at most @max bytes into a malloc'ed buffer
 * (*@data, *@len). -EFBIG when larger, -ENOENT when missing. 0 or -errno.
 */
int atomicfile_read(const char *path, size_t max, uint8_t **data, size_t *len);

/* fsync the directory that contains @path (after a rename/unlink). */
int atomicfile_sync_dir(const char *path);

/*
 * Move the file or directory @path aside to "@path.<suffix>.<unix time>" (never overwriting an
 * earlier one), then fsync the directory; the new name is stored in @out
 * if non-NULL (@outlen bytes). 0 or -errno.
 */
int atomicfile_set_aside(const char *path, const char *suffix, char *out,
			 size_t outlen);

/* Overwrite @path with zeros, fsync, unlink, fsync the dir. 0 or -errno. */
int atomicfile_shred(const char *path);

/*
 * Shred every regular file in the directory @dir, whatever its name (the
 * temporary files of a write cut short too), unlink what is neither a
 * file nor a directory (a symlink's target is not ours), then remove @dir
 * and fsync its parent. A subdirectory was never ours: it is left, and
 * the result is -ENOTEMPTY. 0 or -errno (the first error).
 */
int atomicfile_shred_dir(const char *dir);

/*
 * Remove the leftover @path, whatever it is: a directory with
 * atomicfile_shred_dir(), anything else unlinked (a symlink planted under
 * a leftover's name is never followed). 0 or -errno.
 */
int atomicfile_wipe(const char *path);

/*
 * Shred the temporary files that writes cut short (a crash, a power cut)
 * left in @dir: regular files named NAME.tmp-<12 hex digits>, as the
 * writes of this file make them. Only while nothing writes there (at
 * start). The number shredded, or -errno.
 */
int atomicfile_sweep_tmp(const char *dir);

#endif
