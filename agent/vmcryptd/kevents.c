// SPDX-License-Identifier: GPL-2.0
/*
 * kevents.c - the "kevents" daemon module: follows the dm-vmcrypt netlink
 * multicast group "events" and records I/O errors and key wipes/sets in
 * the event log, so that an emergency lock done by hand (dmsetup message)
 * or a failing disk shows up in the audit trail.
 *
 * One thread: (re)connects every few seconds while the module is not
 * loaded, then polls the event socket with a short timeout so that it
 * notices shutdown. Also routes libdevmapper's messages to our log.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <uapi/linux/vmcrypt.h>

#include "lib/dmtarget.h"
#include "lib/genl.h"
#include "lib/log.h"
#include "vmcryptd/ops.h"

struct kevents {
	struct daemon *d;
	pthread_t thread;
	bool started;
};

static struct kevents kev;

static int on_event(const struct vmc_event *e, void *arg)
{
	struct daemon *d = arg;
	char detail[96];
	const char *name = NULL;

	switch (e->type) {
	case VMCRYPT_EVENT_IO_ERROR:
		snprintf(detail, sizeof(detail), "%llu I/O or crypto errors reported by the kernel",
			 (unsigned long long)e->errors);
		daemon_event(d, ((struct event){ .event = "kernel.io_error",
			     .disk = e->name, .result = "error",
			     .error = "I/O error on an encrypted disk", .detail = detail }));
		return 0;
	case VMCRYPT_EVENT_KEY_WIPED:
		name = "kernel.key_wiped";
		break;
	case VMCRYPT_EVENT_KEY_SET:
		name = "kernel.key_set";
		break;
	default:
		return 0;	/* created/removed: the disk ops log those */
	}
	/* The key description names the disk's LUKS UUID, never key bytes. */
	snprintf(detail, sizeof(detail), "key %.80s", e->key_desc);
	daemon_event(d, ((struct event){ .event = name, .disk = e->name,
		     .result = "info", .detail = detail }));
	return 0;
}

static void *kevents_thread(void *arg)
{
	struct daemon *d = arg;
	struct vmc_genl *g = NULL;
	bool warned = false;

	while (!d->stopping) {
		struct pollfd pfd;
		int r;

		if (!g) {
			r = vmc_genl_open(&g);
			if (!r)
				r = vmc_genl_subscribe(g);
			if (r) {
				if (g)
					vmc_genl_close(g);
				g = NULL;
				if (!warned)
					log_info("kernel events: not subscribed yet (%s); retrying",
						 strerror(-r));
				warned = true;
				sleep(2);
				continue;
			}
			log_info("kernel events: subscribed to the dm-vmcrypt netlink events");
		}
		pfd.fd = vmc_genl_event_fd(g);
		pfd.events = POLLIN;
		r = poll(&pfd, 1, 1000);
		if (r < 0 && errno != EINTR)
			break;
		if (r > 0) {
			r = vmc_genl_read_events(g, on_event, d);
			if (r < 0) {
				/* Module unloaded or socket trouble: reconnect. */
				log_warn("kernel events: %s; reconnecting", strerror(-r));
				vmc_genl_close(g);
				g = NULL;
				warned = false;
			}
		}
	}
	if (g)
		vmc_genl_close(g);
	return NULL;
}

int kevents_init(struct daemon *d)
{
	int r;

	dmt_init_logging();
	kev.d = d;
	r = pthread_create(&kev.thread, NULL, kevents_thread, d);
	if (r)
		return -r;
	kev.started = true;
	return 0;
}

void kevents_fini(struct daemon *d)
{
	if (!kev.started)
		return;
	/* d->stopping is set: the thread leaves within a second. */
	d->stopping = 1;
	pthread_join(kev.thread, NULL);
	kev.started = false;
}
