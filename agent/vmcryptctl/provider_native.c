// SPDX-License-Identifier: GPL-2.0
/*
 * provider_native.c - native key provider pieces of `vmcryptctl provider`:
 * backup (PKCS#12 file of the key-derivation key, written here with mode
 * 0600 and then verified by the daemon, which only then allows key
 * creation), restore (on another host, so it derives the same KEKs), and
 * the warning after `provider add --native` when no TPM protects the key.
 *
 * Passphrases come from --passphrase-file or the terminal (no echo),
 * never from argv, and live in locked memory here.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include "lib/atomicfile.h"
#include "lib/ctlclient.h"
#include "lib/kdkbackup.h"
#include "lib/secmem.h"
#include "vmcryptctl/commands.h"
#include "vmcryptctl/ctlutil.h"

/* Read one line from the terminal without echo into @out (secbuf). */
static int tty_line(int fd, const char *prompt, struct secbuf *out)
{
	struct termios old, noecho;
	size_t n = 0;
	int r = 0;
	char c;

	if (tcgetattr(fd, &old) < 0)
		return -errno;
	noecho = old;
	noecho.c_lflag &= ~(tcflag_t)ECHO;
	noecho.c_lflag |= ECHONL;
	if (tcsetattr(fd, TCSAFLUSH, &noecho) < 0)
		return -errno;
	if (write(fd, prompt, strlen(prompt)) < 0)
		r = -errno;
	if (r == 0)
		r = secbuf_alloc(out, KDKBACKUP_MAX_PASS + 1);
	while (r == 0) {
		ssize_t k = read(fd, &c, 1);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0 || c == '\n')
			break;
		if (n == KDKBACKUP_MAX_PASS) {
			r = -E2BIG;
			break;
		}
		out->data[n++] = (uint8_t)c;
	}
	c = 0;
	tcsetattr(fd, TCSAFLUSH, &old);
	if (r < 0) {
		secbuf_free(out);
		return r;
	}
	out->len = n;
	return 0;
}

/*
 * The passphrase from @file, or asked on the terminal (twice if @confirm).
 * Prints its own errors. 0 or -errno.
 */
static int get_passphrase(const char *file, int confirm, struct secbuf *pass)
{
	int r;

	pass->data = NULL;
	pass->len = 0;
	if (file) {
		uint8_t *buf = NULL;
		size_t len = 0;

		r = atomicfile_read(file, KDKBACKUP_MAX_PASS + 2, &buf, &len);
		if (r < 0) {
			fprintf(stderr, "vmcryptctl: cannot read passphrase file %s: %s\n",
				file, r == -EFBIG ? "too long" : strerror(-r));
			return r;
		}
		/* One trailing newline is not part of the passphrase. */
		if (len && buf[len - 1] == '\n')
			len--;
		if (len && buf[len - 1] == '\r')
			len--;
		r = secbuf_dup(pass, buf, len);
		secure_wipe(buf, len);
		free(buf);
		if (r < 0)
			return r;
	} else {
		struct secbuf again = { 0 };
		int fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);

		if (fd < 0) {
			fprintf(stderr, "vmcryptctl: no terminal to ask for the passphrase: "
				"use --passphrase-file FILE\n");
			return -ENOTTY;
		}
		r = tty_line(fd, "Passphrase: ", pass);
		if (r == 0 && confirm) {
			r = tty_line(fd, "Passphrase again: ", &again);
			if (r == 0 && (again.len != pass->len ||
				       secure_memcmp(again.data, pass->data, pass->len))) {
				fprintf(stderr, "vmcryptctl: the passphrases differ\n");
				r = -EINVAL;
			}
			secbuf_free(&again);
		}
		close(fd);
		if (r < 0) {
			if (r != -EINVAL)
				fprintf(stderr, "vmcryptctl: cannot read the passphrase: %s\n",
					strerror(-r));
			secbuf_free(pass);
			return r;
		}
	}
	if (pass->len < KDKBACKUP_MIN_PASS || memchr(pass->data, '\0', pass->len)) {
		fprintf(stderr, "vmcryptctl: the passphrase must have at least %d characters "
			"(and no NUL byte)\n", KDKBACKUP_MIN_PASS);
		secbuf_free(pass);
		return -EINVAL;
	}
	return 0;
}

/* Add the passphrase to @args; its JSON copy is wiped by ctl_run_wiping(). */
static void add_pass(struct json_object *args, const struct secbuf *pass)
{
	json_object_object_add(args, "passphrase",
			       json_object_new_string_len((const char *)pass->data,
							  (int)pass->len));
}

int provider_backup(int argc, char **argv)
{
	static const char usage[] =
		"Usage: vmcryptctl provider backup NAME --out FILE [--passphrase-file FILE]\n\n"
		"Write a passphrase-protected PKCS#12 backup of native provider NAME's\n"
		"key-derivation key (admin). Until a backup was written and verified, the\n"
		"provider cannot create keys. Restore it on another host with\n"
		"'vmcryptctl provider restore FILE' to derive the same keys there.\n"
		"The passphrase is read from the terminal (no echo) unless given in a file.\n\n"
		"  --out FILE              the backup file to create (must not exist; mode 0600)\n"
		"  --passphrase-file FILE  the passphrase: FILE's content, less one\n"
		"                          trailing newline\n";
	static const struct option opts[] = {
		{ "out", required_argument, NULL, 'o' },
		{ "passphrase-file", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *out = NULL, *pfile = NULL, *name, *b64;
	struct json_object *args, *res = NULL;
	struct secbuf pass = { 0 };
	unsigned char *der = NULL;
	uint8_t *back = NULL;
	char *b64back = NULL;
	size_t blen = 0, backlen = 0, n;
	int c, got, ret = EXIT_FAIL, r;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'o': out = optarg; break;
		case 'p': pfile = optarg; break;
		case 'h': printf("%s", usage); return EXIT_OK;
		default: fprintf(stderr, "%s", usage); return EXIT_USAGE;
		}
	}
	if (argc - optind != 1)
		return usage_error("provider backup", "expected exactly one provider NAME");
	if (!out)
		return usage_error("provider backup", "--out FILE is required");
	name = argv[optind];
	if (access(out, F_OK) == 0) {
		fprintf(stderr, "vmcryptctl: %s already exists; choose a new file\n", out);
		return EXIT_FAIL;
	}
	if (get_passphrase(pfile, 1, &pass) < 0)
		return EXIT_FAIL;

	args = json_object_new_object();
	json_object_object_add(args, "name", json_object_new_string(name));
	add_pass(args, &pass);
	if (ctl_run_wiping("provider.backup", args, "passphrase", &res) < 0)
		goto out;
	b64 = jget(res, "pkcs12");
	n = strlen(b64);
	der = malloc(n / 4 * 3 + 3);
	got = der && n && n % 4 == 0 ?
		EVP_DecodeBlock(der, (const unsigned char *)b64, (int)n) : -1;
	if (got < 0) {
		fprintf(stderr, "vmcryptctl: the daemon's backup is not valid base64\n");
		goto out;
	}
	blen = (size_t)got - (b64[n - 1] == '=') - (b64[n - 2] == '=');
	r = atomicfile_create(out, der, blen, 0600);
	if (r < 0) {
		fprintf(stderr, "vmcryptctl: cannot write %s: %s\n", out, strerror(-r));
		goto out;
	}
	/* Read the file back and have the daemon open it: a verified backup. */
	r = atomicfile_read(out, KDKBACKUP_MAX_FILE, &back, &backlen);
	if (r < 0) {
		fprintf(stderr, "vmcryptctl: cannot read back %s: %s\n", out, strerror(-r));
		goto out;
	}
	b64back = malloc(4 * ((backlen + 2) / 3) + 1);
	if (!b64back)
		goto out;
	EVP_EncodeBlock((unsigned char *)b64back, back, (int)backlen);
	json_object_put(res);
	res = NULL;
	args = json_object_new_object();
	json_object_object_add(args, "name", json_object_new_string(name));
	json_object_object_add(args, "pkcs12", json_object_new_string(b64back));
	add_pass(args, &pass);
	if (ctl_run_wiping("provider.backup-verify", args, "passphrase", &res) < 0) {
		fprintf(stderr, "vmcryptctl: %s was written but could not be verified\n", out);
		goto out;
	}
	printf("backup of provider %s written to %s and verified\n"
	       "Keep the file and its passphrase safe: without them the keys of %s\n"
	       "are lost if this host's TPM is lost.\n", name, out, name);
	ret = EXIT_OK;
out:
	json_object_put(res);
	free(der);
	free(back);
	free(b64back);
	secbuf_free(&pass);
	return ret;
}

int provider_restore(int argc, char **argv)
{
	static const char usage[] =
		"Usage: vmcryptctl provider restore FILE [--name NAME] [--passphrase-file FILE]\n"
		"                                  [--allow-no-tpm]\n\n"
		"Restore a native key provider from a backup made with 'vmcryptctl provider\n"
		"backup' (admin): this host then derives the same keys. The key-derivation\n"
		"key is sealed in this host's TPM.\n\n"
		"  --name NAME             provider name (default: the name in the backup;\n"
		"                          disks name their provider, so keep it if you can)\n"
		"  --passphrase-file FILE  the passphrase: FILE's content, less one\n"
		"                          trailing newline\n"
		"  --allow-no-tpm          without a TPM, store the key in a root-only file\n"
		"                          (NOT secure)\n"
		"  --json                  print the result as JSON\n";
	static const struct option opts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "passphrase-file", required_argument, NULL, 'p' },
		{ "allow-no-tpm", no_argument, NULL, 'N' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *name = NULL, *pfile = NULL;
	struct json_object *args, *res = NULL;
	struct secbuf pass = { 0 };
	uint8_t *der = NULL;
	char *b64 = NULL;
	size_t len = 0;
	int c, r, allow = 0, json = 0, ret = EXIT_FAIL;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'n': name = optarg; break;
		case 'p': pfile = optarg; break;
		case 'N': allow = 1; break;
		case 'j': json = 1; break;
		case 'h': printf("%s", usage); return EXIT_OK;
		default: fprintf(stderr, "%s", usage); return EXIT_USAGE;
		}
	}
	if (argc - optind != 1)
		return usage_error("provider restore", "expected exactly one backup FILE");
	r = atomicfile_read(argv[optind], KDKBACKUP_MAX_FILE, &der, &len);
	if (r < 0) {
		fprintf(stderr, "vmcryptctl: cannot read %s: %s\n", argv[optind],
			r == -EFBIG ? "too large for a key backup" : strerror(-r));
		return EXIT_FAIL;
	}
	if (get_passphrase(pfile, 0, &pass) < 0)
		goto out;
	b64 = malloc(4 * ((len + 2) / 3) + 1);
	if (!b64)
		goto out;
	EVP_EncodeBlock((unsigned char *)b64, der, (int)len);
	args = json_object_new_object();
	json_object_object_add(args, "pkcs12", json_object_new_string(b64));
	if (name)
		json_object_object_add(args, "name", json_object_new_string(name));
	json_object_object_add(args, "allow_no_tpm", json_object_new_boolean(allow));
	add_pass(args, &pass);
	if (ctl_run_wiping("provider.restore", args, "passphrase", &res) < 0)
		goto out;
	if (json)
		ctl_print_json(res);
	else
		printf("native provider %s restored%s (key fingerprint %s)\n", jget(res, "name"),
		       jbool(res, "default") ? " as the default" : "",
		       jget(res, "kdk_fingerprint"));
	/* Warnings go to stderr whatever the output format. */
	if (!jbool(res, "secure"))
		fprintf(stderr, "vmcryptctl: WARNING: no TPM: the key-derivation key is "
			"stored in a root-only file and is NOT stored securely\n");
	if (*jget(res, "restored_from") && strcmp(jget(res, "name"), jget(res, "restored_from")))
		fprintf(stderr, "vmcryptctl: WARNING: restored as %s, but the backup is of "
			"provider %s: disks name the provider their key is on, so disks of %s "
			"open on this host only through a provider named %s\n",
			jget(res, "name"), jget(res, "restored_from"), jget(res, "restored_from"),
			jget(res, "restored_from"));
	ret = EXIT_OK;
out:
	json_object_put(res);
	free(der);
	free(b64);
	secbuf_free(&pass);
	return ret;
}

void native_add_notice(const char *name)
{
	struct json_object *args = json_object_new_object(), *res = NULL, *p;

	json_object_object_add(args, "name", json_object_new_string(name));
	if (ctl_run("provider.show", args, &res) < 0)
		return;
	if (json_object_object_get_ex(res, "provider", &p)) {
		if (!jbool(p, "secure"))
			fprintf(stderr, "vmcryptctl: WARNING: no TPM: the key-derivation key of %s "
				"is stored in a root-only file and is NOT stored securely\n", name);
		fprintf(stderr, "vmcryptctl: back it up before creating keys: "
			"vmcryptctl provider backup %s --out FILE\n", name);
	}
	json_object_put(res);
}
