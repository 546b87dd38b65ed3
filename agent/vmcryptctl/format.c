// SPDX-License-Identifier: GPL-2.0
/*
 * format.c - "vmcryptctl format": make a disk or image file a vmcrypt disk
 * of a VM. Also holds the path helpers the other disk subcommands use.
 *
 * The CLI resolves paths (the daemon wants absolute ones) and reads the
 * recovery passphrase file with the caller's own permissions; the daemon
 * does the privileged work.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "lib/blkdev.h"
#include "lib/ctlclient.h"
#include "lib/secmem.h"
#include "vmcryptctl/commands.h"

int ctl_disk_path(const char *arg, char *out, size_t len, int may_be_new)
{
	char dir[PATH_MAX], base[PATH_MAX], rdir[PATH_MAX];

	if (realpath(arg, out)) {
		/* /dev/VG/LV resolves to dm-N: show the dm name instead */
		blkdev_prefer_mapper_path(out, len);
		return 0;
	}
	/* A directory we may not search: the daemon (root) resolves it. */
	if (errno == EACCES && arg[0] == '/' &&
	    (size_t)snprintf(out, len, "%s", arg) < len)
		return 0;
	if (errno != ENOENT || !may_be_new)
		return -errno;
	/* A new image file: resolve its directory. */
	snprintf(dir, sizeof(dir), "%s", arg);
	snprintf(base, sizeof(base), "%s", arg);
	if (!realpath(dirname(dir), rdir))
		return -errno;
	if ((size_t)snprintf(out, len, "%s/%s", rdir, basename(base)) >= len)
		return -ENAMETOOLONG;
	return 0;
}

/* "64M", "1G", "1048576" -> bytes. */
static int parse_size(const char *s, long long *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || v <= 0)
		return -EINVAL;
	switch (*end) {
	case 'k': case 'K': v <<= 10; end++; break;
	case 'm': case 'M': v <<= 20; end++; break;
	case 'g': case 'G': v <<= 30; end++; break;
	case 't': case 'T': v <<= 40; end++; break;
	}
	if (*end == 'i' && end[1] == 'B')
		end += 2;
	else if (*end == 'B')
		end++;
	if (*end || v <= 0)
		return -EINVAL;
	*out = v;
	return 0;
}

/* The passphrase is the file's exact bytes, as with cryptsetup --key-file. */
static int read_passphrase(const char *file, struct secbuf *out)
{
	uint8_t *buf;
	ssize_t n;
	size_t got = 0;
	int fd, r = 0;

	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = secbuf_alloc(out, 513);
	if (r)
		goto out;
	buf = out->data;
	while (got < 513 && (n = read(fd, buf + got, 513 - got)) > 0)
		got += (size_t)n;
	if (n < 0)
		r = -errno;
	else if (got == 0 || got > 512 || memchr(buf, 0, got))
		r = -EINVAL;
	out->len = got;
out:
	close(fd);
	if (r)
		secbuf_free(out);
	return r;
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: vmcryptctl format DEV|FILE --vm-name NAME --vm-uuid UUID\n"
		   "           [--provider NAME] [--sector-size 512|4096]\n"
		   "           [--recovery-passphrase-file FILE] [--size SIZE] [--force] [--json]\n\n"
		   "Write a LUKS2 header with a vmcrypt token on a block device or image file:\n"
		   "a fresh 512-bit DEK, wrapped with the VM's KEK (created on first use).\n\n"
		   "  --vm-name NAME       the VM's name\n"
		   "  --vm-uuid UUID       the VM's instance UUID\n"
		   "  --provider NAME      key provider of the VM's KEK (default: the VM's, else the\n"
		   "                       default); another than the VM's gives the VM a new KEK\n"
		   "                       there, used by its later formats\n"
		   "  --sector-size N      encryption sector size, 512 or 4096 (default 4096)\n"
		   "  --recovery-passphrase-file FILE\n"
		   "                       also add a passphrase keyslot (the file's exact bytes)\n"
		   "                       so that plain 'cryptsetup open' can recover the disk\n"
		   "  --size SIZE          create FILE of this size if it does not exist (e.g. 1G);\n"
		   "                       an empty FILE is sized; refused for a block device,\n"
		   "                       or a FILE of another size\n"
		   "  --force              overwrite a device that holds data\n"
		   "  --json               print the result as JSON\n");
}

int format_main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "vm-name", required_argument, NULL, 'n' },
		{ "vm-uuid", required_argument, NULL, 'u' },
		{ "provider", required_argument, NULL, 'p' },
		{ "sector-size", required_argument, NULL, 's' },
		{ "recovery-passphrase-file", required_argument, NULL, 'r' },
		{ "size", required_argument, NULL, 'S' },
		{ "force", no_argument, NULL, 'f' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *vm_name = NULL, *vm_uuid = NULL, *provider = NULL, *passfile = NULL;
	struct json_object *args, *res = NULL;
	struct secbuf pass = { 0 };
	char path[PATH_MAX], *end;
	long long size = 0;
	long ss = 4096;
	int c, r, json = 0, force = 0;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'n': vm_name = optarg; break;
		case 'u': vm_uuid = optarg; break;
		case 'p': provider = optarg; break;
		case 'r': passfile = optarg; break;
		case 'f': force = 1; break;
		case 'j': json = 1; break;
		case 's':
			ss = strtol(optarg, &end, 10);
			if (*end || (ss != 512 && ss != 4096)) {
				fprintf(stderr, "vmcryptctl: --sector-size must be 512 or 4096\n");
				return EXIT_USAGE;
			}
			break;
		case 'S':
			if (parse_size(optarg, &size)) {
				fprintf(stderr, "vmcryptctl: invalid --size '%s' (e.g. 512M, 4G)\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind + 1 != argc || !vm_name || !vm_uuid) {
		usage(stderr);
		return EXIT_USAGE;
	}
	r = ctl_disk_path(argv[optind], path, sizeof(path), size > 0);
	if (r) {
		fprintf(stderr, "vmcryptctl: %s: %s%s\n", argv[optind], strerror(-r),
			r == -ENOENT ? " (give --size to create an image file)" : "");
		return EXIT_FAIL;
	}
	args = json_object_new_object();
	json_object_object_add(args, "path", json_object_new_string(path));
	json_object_object_add(args, "vm_name", json_object_new_string(vm_name));
	json_object_object_add(args, "vm_uuid", json_object_new_string(vm_uuid));
	json_object_object_add(args, "sector_size", json_object_new_int((int)ss));
	if (provider)
		json_object_object_add(args, "provider", json_object_new_string(provider));
	if (size)
		json_object_object_add(args, "size", json_object_new_int64(size));
	if (force)
		json_object_object_add(args, "force", json_object_new_boolean(1));
	if (passfile) {
		r = read_passphrase(passfile, &pass);
		if (r) {
			fprintf(stderr, "vmcryptctl: cannot use recovery passphrase file %s: %s\n",
				passfile, r == -EINVAL ? "empty, longer than 512 bytes or contains NUL" :
				strerror(-r));
			json_object_put(args);
			return EXIT_FAIL;
		}
		json_object_object_add(args, "recovery_passphrase",
				       json_object_new_string_len((const char *)pass.data,
								  (int)pass.len));
		secbuf_free(&pass);
	}
	r = ctl_run_wiping("disk.format", args, "recovery_passphrase", &res);
	if (r)
		return EXIT_FAIL;
	if (json) {
		ctl_print_json(res);
	} else {
		struct json_object *v;
#define S(k) (json_object_object_get_ex(res, k, &v) ? json_object_get_string(v) : "?")
		printf("Formatted %s for VM '%s' (%s)\n", S("path"), S("vm_name"), S("vm_uuid"));
		printf("  LUKS2 UUID %s, sector size %s, data offset %s sectors\n",
		       S("luks_uuid"), S("sector_size"), S("data_offset"));
		printf("  DEK wrapped with key %s of provider %s%s\n", S("kek_id"), S("provider"),
		       passfile ? "; recovery keyslot added" : "");
#undef S
	}
	json_object_put(res);
	return EXIT_OK;
}
