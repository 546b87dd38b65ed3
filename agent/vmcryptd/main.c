// SPDX-License-Identifier: GPL-2.0
/*
 * main.c - vmcryptd: options, configuration, state directory, start-up of
 * the event log, providers, keys and modules, then the main loop (accept
 * clients; SIGHUP reloads the config; SIGTERM/SIGINT shut down cleanly).
 *
 * vmcryptd never forks into the background: it is meant to run under
 * systemd as Type=notify (READY=1 is sent over $NOTIFY_SOCKET when the
 * socket accepts). Without --foreground it logs to syslog (start-up
 * errors to stderr as well), with it to stderr. Shutdown closes the
 * socket, waits for requests in flight, wipes every key in memory and
 * leaves open disks alone.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "lib/atomicfile.h"
#include "lib/log.h"
#include "lib/secmem.h"
#include "vmcryptd/keys.h"
#include "vmcryptd/provider.h"
#include "vmcryptd/server.h"

#define VMCRYPTD_VERSION "0.1"
/*
 * accept() failed for want of a descriptor or memory: the connection stays
 * in the backlog, and the listening socket is left out of poll() for this
 * long (else poll() would spin on it) and warned about once per
 * ACCEPT_WARN_S.
 */
#define ACCEPT_BACKOFF_MS 100
#define ACCEPT_WARN_S 10

/* sd_notify(3) by hand: one datagram to $NOTIFY_SOCKET, if set. */
static void notify(const char *msg)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	socklen_t salen;
	size_t n;
	int fd;

	if (!path || !*path)
		return;
	n = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || n >= sizeof(sa.sun_path))
		return;
	memcpy(sa.sun_path, path, n);
	if (path[0] == '@')
		sa.sun_path[0] = '\0';	/* abstract namespace */
	salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	if (sendto(fd, msg, strlen(msg), MSG_NOSIGNAL,
		   (struct sockaddr *)&sa, salen) < 0)
		log_warn("sd_notify to %s failed: %s", path, strerror(errno));
	close(fd);
}

/* $JOURNAL_STREAM is "DEV:INODE" of the stderr systemd connected to the journal. */
static bool stderr_is_journal(void)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!js || sscanf(js, "%llu:%llu", &dev, &ino) != 2 ||
	    fstat(STDERR_FILENO, &st) < 0)
		return false;
	return (unsigned long long)st.st_dev == dev &&
	       (unsigned long long)st.st_ino == ino;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: vmcryptd [--config FILE] [--state-dir DIR] [--socket PATH] [--foreground]\n\n"
		"The vmcrypt daemon: holds KMS credentials and keys, serves vmcryptctl.\n\n"
		"  -c, --config FILE    configuration file (default %s;\n"
		"                       a missing default file means built-in defaults)\n"
		"  -s, --state-dir DIR  state directory (default %s)\n"
		"  -S, --socket PATH    control socket (default %s)\n"
		"  -f, --foreground     log to stderr instead of syslog\n"
		"  -V, --version        print the version\n"
		"  -h, --help           show this help\n",
		CONFIG_DEFAULT_PATH, CONFIG_DEFAULT_STATE_DIR, CONFIG_DEFAULT_SOCKET);
}

/*
 * Create the state directory (missing parents 0755, itself 0700) and check
 * it is ours. 0, or -errno with the reason in @err for "state directory
 * DIR: REASON".
 */
static int make_state_dir(const char *dir, char *err, size_t errlen)
{
	char *dup = strdup(dir), *p;
	struct stat st;
	int e;

	if (!dup) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (p = dup + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dup, 0755) < 0 && errno != EEXIST) {
			e = errno;
			snprintf(err, errlen, "cannot create its parent %s: %s", dup,
				 strerror(e));
			free(dup);
			return -e;
		}
		*p = '/';
	}
	free(dup);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		e = errno;
		snprintf(err, errlen, "cannot create it: %s", strerror(e));
		return -e;
	}
	if (lstat(dir, &st) < 0) {
		e = errno;
		snprintf(err, errlen, "%s", strerror(e));
		return -e;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "not a directory%s",
			 S_ISLNK(st.st_mode) ? " (a symbolic link)" : "");
		return -ENOTDIR;
	}
	/* Keys and credentials live here: only our own directory will do. */
	if (st.st_uid != geteuid()) {
		snprintf(err, errlen, "owned by uid %u (mode %04o), but vmcryptd runs as uid %u: it must be owned by uid %u, mode 0700",
			 (unsigned int)st.st_uid, (unsigned int)(st.st_mode & 07777),
			 (unsigned int)geteuid(), (unsigned int)geteuid());
		return -EPERM;
	}
	if ((st.st_mode & 07777) != 0700 && chmod(dir, 0700) < 0) {
		e = errno;
		snprintf(err, errlen, "has mode %04o and cannot be made 0700: %s",
			 (unsigned int)(st.st_mode & 07777), strerror(e));
		return -e;
	}
	return 0;
}

/* Reload the config file; on error keep the old one. */
static void reload(struct daemon *d)
{
	struct config nc;
	char err[512];
	int r;

	notify("RELOADING=1");
	r = config_init(&nc);
	if (r == 0 && d->config_path)
		r = config_load(&nc, d->config_path, d->config_optional, err, sizeof(err));
	if (r < 0) {
		log_err("reload failed, keeping the old configuration: %s",
			r == -ENOMEM ? "out of memory" : err);
		config_free(&nc);
		notify("READY=1");
		return;
	}
	if (strcmp(nc.state_dir, d->cfg.state_dir) ||
	    strcmp(nc.socket_path, d->cfg.socket_path))
		log_warn("state_dir and socket changes take effect at the next start");
	pthread_rwlock_wrlock(&d->cfg_lock);
	config_free(&d->cfg);
	d->cfg = nc;
	log_set_level(d->cfg.log_level);
	pthread_rwlock_unlock(&d->cfg_lock);
	log_info("configuration reloaded");
	daemon_event(d, (struct event){ .event = "daemon.reloaded", .result = "ok" });
	notify("READY=1");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "state-dir", required_argument, NULL, 's' },
		{ "socket", required_argument, NULL, 'S' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *opt_config = NULL, *opt_state = NULL, *opt_socket = NULL;
	static struct daemon dd;
	struct daemon *d = &dd;
	char err[512], fatal[160] = "", *evpath = NULL;
	int c, r, lock_fd = -1, listen_fd = -1, sfd = -1, ret = 1, backoff = 0;
	time_t accept_warned = 0;
	size_t mods_done = 0, i;
	sigset_t mask;

	while ((c = getopt_long(argc, argv, "c:s:S:fVh", opts, NULL)) != -1) {
		switch (c) {
		case 'c': opt_config = optarg; break;
		case 's': opt_state = optarg; break;
		case 'S': opt_socket = optarg; break;
		case 'f': d->foreground = true; break;
		case 'V': printf("vmcryptd %s\n", VMCRYPTD_VERSION); return 0;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "vmcryptd: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	log_init("vmcryptd", !d->foreground);
	/*
	 * Until ready, errors go to stderr too: syslog alone would leave whoever
	 * started us with exit status 1 and no reason. Not when stderr is the
	 * journal (systemd), which has them from syslog already.
	 */
	if (!d->foreground && !stderr_is_journal())
		log_copy_errors_to_stderr(1);

	r = secmem_harden_process();
	if (r < 0) {
		log_err("cannot harden the process: %s", strerror(-r));
		return 1;
	}
	pthread_mutex_init(&d->lock, NULL);
	pthread_rwlock_init(&d->cfg_lock, NULL);
	if (config_init(&d->cfg) < 0) {
		log_err("out of memory");
		return 1;
	}
	d->config_path = strdup(opt_config ? opt_config : CONFIG_DEFAULT_PATH);
	d->config_optional = !opt_config;
	if (!d->config_path) {
		log_err("out of memory");
		goto out;
	}
	r = config_load(&d->cfg, d->config_path, d->config_optional, err, sizeof(err));
	if (r < 0) {
		log_err("bad configuration: %s", err);
		goto out;
	}
	log_set_level(d->cfg.log_level);
	if (opt_state)
		d->state_dir = realpath(opt_state, NULL) ? : strdup(opt_state);
	else
		d->state_dir = strdup(d->cfg.state_dir);
	d->socket_path = strdup(opt_socket ? opt_socket : d->cfg.socket_path);
	if (!d->state_dir || !d->socket_path) {
		log_err("out of memory");
		goto out;
	}
	r = make_state_dir(d->state_dir, err, sizeof(err));
	if (r < 0) {
		log_err("state directory %s: %s", d->state_dir, err);
		goto out;
	}
	if (d->state_dir[0] != '/') {
		char *abs = realpath(d->state_dir, NULL);

		if (!abs) {
			log_err("state directory %s: %s", d->state_dir, strerror(errno));
			goto out;
		}
		free(d->state_dir);
		d->state_dir = abs;
	}

	/* Signals are handled synchronously by the main loop. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (sfd < 0) {
		log_err("signalfd: %s", strerror(errno));
		goto out;
	}

	server_init();
	r = server_listen(d, &lock_fd, &listen_fd);
	if (r < 0)
		goto out;

	evpath = daemon_state_path(d, "events.jsonl");
	r = evpath ? eventlog_open(evpath, &d->events) : -ENOMEM;
	if (r < 0) {
		log_err("cannot open the event log %s: %s", evpath ? evpath : "",
			strerror(-r));
		goto out;
	}
	/* vms.json, providers.json: a write cut short leaves its temporary */
	r = atomicfile_sweep_tmp(d->state_dir);
	if (r > 0)
		log_info("removed %d temporary file(s) of writes cut short in %s", r,
			 d->state_dir);
	else if (r < 0)
		log_warn("cannot remove temporary files in %s: %s", d->state_dir,
			 strerror(-r));
	r = provider_registry_load(d);
	if (r < 0)
		goto out;
	r = keys_init(d);
	if (r < 0)
		goto out;
	for (mods_done = 0; mods_done < daemon_n_modules; mods_done++) {
		const struct daemon_module *m = &daemon_modules[mods_done];

		if (!m->init)
			continue;
		r = m->init(d);
		if (r < 0) {
			log_err("module %s failed to start: %s", m->name, strerror(-r));
			goto out;
		}
	}

	daemon_event(d, (struct event){ .event = "daemon.started", .result = "ok",
		     .detail = d->socket_path });
	log_info("vmcryptd %s ready on %s (state %s)", VMCRYPTD_VERSION,
		 d->socket_path, d->state_dir);
	notify("READY=1");
	log_copy_errors_to_stderr(0);

	while (!d->stopping) {
		struct pollfd pfd[2] = {
			{ .fd = backoff ? -1 : listen_fd, .events = POLLIN },
			{ .fd = sfd, .events = POLLIN },
		};

		if (poll(pfd, 2, backoff ? ACCEPT_BACKOFF_MS : -1) < 0) {
			if (errno == EINTR)
				continue;
			snprintf(fatal, sizeof(fatal), "poll: %s", strerror(errno));
			break;
		}
		backoff = 0;
		if (pfd[1].revents & POLLIN) {
			struct signalfd_siginfo si;

			if (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo == SIGHUP) {
					reload(d);
				} else {
					log_info("signal %u: shutting down", si.ssi_signo);
					d->stopping = 1;
				}
			}
		}
		if (!d->stopping && (pfd[0].revents & POLLIN)) {
			r = server_accept(d, listen_fd);
			if (r == -EMFILE || r == -ENFILE || r == -ENOBUFS ||
			    r == -ENOMEM) {
				if (time(NULL) - accept_warned >= ACCEPT_WARN_S) {
					accept_warned = time(NULL);
					log_warn("accept: %s: new clients wait until others disconnect",
						 strerror(-r));
				}
				backoff = 1;
			} else if (r < 0) {
				snprintf(fatal, sizeof(fatal), "accept: %s",
					 strerror(-r));
				break;
			}
		}
	}
	/* a clean exit only on a signal: systemd restarts a failed daemon */
	if (fatal[0])
		log_err("%s: shutting down", fatal);
	else
		ret = 0;
	notify("STOPPING=1");
out:
	d->stopping = 1;
	if (listen_fd >= 0) {
		close(listen_fd);
		unlink(d->socket_path);
	}
	server_shutdown();
	if (ret == 0)
		daemon_event(d, (struct event){ .event = "daemon.stopped", .result = "ok" });
	else if (fatal[0])
		daemon_event(d, (struct event){ .event = "daemon.stopped",
			     .result = "error", .detail = fatal });
	for (i = mods_done; i > 0; i--)
		if (daemon_modules[i - 1].fini)
			daemon_modules[i - 1].fini(d);
	keys_free(d);
	provider_registry_free(d);
	eventlog_close(d->events);
	if (lock_fd >= 0)
		close(lock_fd);
	if (sfd >= 0)
		close(sfd);
	free(evpath);
	free(d->state_dir);
	free(d->socket_path);
	free(d->config_path);
	config_free(&d->cfg);
	return ret;
}
