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

#include <stddef.h>

/* Exit statuses shared by every subcommand. */
enum {
	EXIT_OK = 0,
	EXIT_FAIL = 1,
	EXIT_USAGE = 2,
};

/* The control socket path chosen by --socket, VMCRYPT_SOCKET or default. */
extern const char *ctl_socket_path;

int kernel_main(int argc, char **argv);
int ping_main(int argc, char **argv);
int provider_main(int argc, char **argv);
int key_main(int argc, char **argv);
int events_main(int argc, char **argv);
/* Disk commands (format.c ... rekey.c) and their shared helpers. */
int format_main(int argc, char **argv);
int open_main(int argc, char **argv);
int close_main(int argc, char **argv);
int list_main(int argc, char **argv);
int status_main(int argc, char **argv);
int lock_main(int argc, char **argv);
int unlock_main(int argc, char **argv);
int rekey_main(int argc, char **argv);
int ctl_disk_path(const char *arg, char *out, size_t len, int may_be_new);
int ctl_lock_common(int argc, char **argv, int lock);
/* persistence.c; native provider verbs of `provider` (provider_native.c) */
int persistence_main(int argc, char **argv);
int provider_backup(int argc, char **argv);
int provider_restore(int argc, char **argv);
void native_add_notice(const char *name);

#endif
