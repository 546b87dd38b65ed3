/* SPDX-License-Identifier: GPL-2.0 */
/*
 * server.h - vmcryptd's control socket (server.c), used by main.c only.
 */
#ifndef VMCRYPTD_SERVER_H
#define VMCRYPTD_SERVER_H

#include "vmcryptd/daemon.h"

void server_init(void);
/* Take the socket's lock file and bind; -EADDRINUSE if already served. */
int server_listen(struct daemon *d, int *lock_fd, int *listen_fd);
/* Accept one client and start its thread. 0 or -errno (fatal). */
int server_accept(struct daemon *d, int listen_fd);
/* Unblock all clients and wait for their threads to finish. */
void server_shutdown(void);

#endif
