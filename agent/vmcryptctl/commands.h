/* SPDX-License-Identifier: GPL-2.0 */
/*
 * commands.h - the subcommands of vmcryptctl. Each lives in its own file as
 * <name>_main(argc, argv), with argv[0] being the subcommand name, and is
 * listed once in the table in main.c. A subcommand returns the process exit
 * status: 0 on success, 1 on a failure it reported on stderr, 2 on a usage
 * error.
 */
#ifndef VMCRYPTCTL_COMMANDS_H
#define VMCRYPTCTL_COMMANDS_H

/* Exit statuses shared by every subcommand. */
enum {
	EXIT_OK = 0,
	EXIT_FAIL = 1,
	EXIT_USAGE = 2,
};

/* The control socket path chosen by --socket, VMCRYPT_SOCKET or default. */
extern const char *ctl_socket_path;

int kernel_main(int argc, char **argv);

#endif
