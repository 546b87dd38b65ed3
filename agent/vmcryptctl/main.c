// SPDX-License-Identifier: GPL-2.0
/*
 * main.c - vmcryptctl, the admin CLI of vmcrypt: global options and the
 * one table that dispatches subcommands to <name>_main() in their files.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/ctlclient.h"
#include "lib/log.h"
#include "lib/secmem.h"
#include "vmcryptctl/commands.h"

#define DEFAULT_SOCKET "/run/vmcrypt/control"

/* ctl_socket_path is defined in lib/ctlclient.c (used by ctl_run). */

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
} subcommands[] = {
	{ "ping", ping_main, "Check that vmcryptd answers; show your role" },
	{ "provider", provider_main, "Manage key providers (add, list, show, test, set-default, remove, backup, restore)" },
	{ "key", key_main, "Create and inspect KEKs (create, show, list, fetch)" },
	{ "events", events_main, "Export the event log (--since, --format json|csv)" },
	{ "kernel", kernel_main, "Talk to the dm-vmcrypt module directly (features, stats, monitor)" },
	{ "format", format_main, "Make a disk or image file a vmcrypt disk of a VM" },
	{ "open", open_main, "Open a vmcrypt disk as /dev/mapper/NAME" },
	{ "close", close_main, "Close an open vmcrypt disk" },
	{ "list", list_main, "List open vmcrypt disks" },
	{ "status", status_main, "Show open disks: VM, key, key state, counters" },
	{ "lock", lock_main, "Emergency lock: suspend and wipe the key (I/O held)" },
	{ "unlock", unlock_main, "Set the key again and resume a locked disk" },
	{ "rekey", rekey_main, "Shallow rekey: new KEK, DEK re-wrapped" },
	{ "persistence", persistence_main, "Key persistence in the TPM for offline restarts (enable, disable, status)" },
};

static void usage(FILE *f)
{
	size_t i;

	fprintf(f, "Usage: vmcryptctl [--socket PATH] [--timeout SECONDS] <command> [<args>]\n\n"
		   "Administer vmcrypt disk encryption through vmcryptd.\n\n"
		   "Options:\n"
		   "  --socket PATH      control socket of vmcryptd (default %s,\n"
		   "                     or $VMCRYPT_SOCKET)\n"
		   "  --timeout SECONDS  how long to wait for each answer of vmcryptd\n"
		   "                     (default %u, at most %u); the request may still\n"
		   "                     complete after it\n"
		   "  -h, --help         show this help\n\n"
		   "Commands:\n", DEFAULT_SOCKET, CTL_TIMEOUT_S, CTL_TIMEOUT_MAX_S);
	for (i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		fprintf(f, "  %-12s %s\n", subcommands[i].name, subcommands[i].help);
	fprintf(f, "\nRun 'vmcryptctl <command> --help' for a command's options.\n\n"
		   "Exit status: 0 done; 1 failed (no answer within --timeout included);\n"
		   "2 usage error; 3 vmcryptd not reachable; 4 access refused (role, or a\n"
		   "key server refused the key); 5 no key server could be reached and the\n"
		   "key is not cached (retry later).\n");
}

/* --timeout: whole seconds, 1 to CTL_TIMEOUT_MAX_S. */
static int parse_timeout(const char *arg)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(arg, &end, 10);
	if (arg[0] < '0' || arg[0] > '9' || *end || errno || v < 1 ||
	    v > CTL_TIMEOUT_MAX_S) {
		fprintf(stderr, "vmcryptctl: --timeout '%s': must be a whole number of seconds from 1 to %u\n",
			arg, CTL_TIMEOUT_MAX_S);
		return -1;
	}
	ctl_timeout_s = (unsigned int)v;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *env = getenv("VMCRYPT_SOCKET");
	size_t i;
	int c;

	log_init("vmcryptctl", 0);
	/* Some commands hold a passphrase: no core dump may carry it. */
	c = secmem_harden_process();
	if (c < 0)
		log_warn("cannot disable core dumps: %s", strerror(-c));
	if (env && *env)
		ctl_socket_path = env;

	/* '+': stop at the first non-option, the subcommand. */
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			ctl_socket_path = optarg;
			break;
		case 't':
			if (parse_timeout(optarg))
				return EXIT_USAGE;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	for (i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++) {
		if (!strcmp(argv[optind], subcommands[i].name)) {
			/* Reset getopt for the subcommand's own parsing. */
			int sub_argc = argc - optind;
			char **sub_argv = argv + optind;

			int rc;

			optind = 0;
			rc = subcommands[i].fn(sub_argc, sub_argv);
			/* A failed call says what kind of failure it was. */
			if (rc == EXIT_FAIL && ctl_last_failure > EXIT_FAIL)
				rc = ctl_last_failure;
			return rc;
		}
	}
	fprintf(stderr, "vmcryptctl: unknown command '%s'; see 'vmcryptctl --help'\n",
		argv[optind]);
	return EXIT_USAGE;
}
