// SPDX-License-Identifier: GPL-2.0
/*
 * kernel.c - `vmcryptctl kernel`: talk to dm-vmcrypt directly over its
 * generic netlink family, without the daemon (tests, recovery, scripts).
 *
 *   vmcryptctl kernel features [--json]
 *   vmcryptctl kernel stats [--json] [NAME]
 *   vmcryptctl kernel monitor
 *
 * Exit status: 0 ok, 1 failure (one line on stderr), 2 usage.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include <uapi/linux/vmcrypt.h>

#include "lib/genl.h"
#include "vmcryptctl/commands.h"

static volatile sig_atomic_t stop_monitor;

static void kernel_usage(FILE *f)
{
	fprintf(f,
		"Usage: vmcryptctl kernel <command> [options]\n\n"
		"Query the dm-vmcrypt kernel module over generic netlink\n"
		"(needs CAP_NET_ADMIN), not through vmcryptd: --socket and\n"
		"--timeout do not apply.\n\n"
		"Commands:\n"
		"  features [--json]       target version, ciphers, options, key sizes\n"
		"  stats [--json] [NAME]   key state and I/O counters of every device,\n"
		"                          or of device NAME\n"
		"  monitor                 print kernel events as JSON lines until\n"
		"                          interrupted\n\n"
		"Options:\n"
		"  --json      machine-readable output (features, stats)\n"
		"  -h, --help  show this help\n");
}

static int report(const char *what, int err)
{
	switch (err) {
	case -ENOENT:
		fprintf(stderr, "vmcryptctl kernel: %s: the dm-vmcrypt module is not loaded (no netlink family \"vmcrypt\")\n",
			what);
		break;
	case -EPERM:
		fprintf(stderr, "vmcryptctl kernel: %s: permission denied (CAP_NET_ADMIN required)\n",
			what);
		break;
	default:
		fprintf(stderr, "vmcryptctl kernel: %s: %s\n", what, strerror(-err));
	}
	return EXIT_FAIL;
}

/* Parse "[--json] [--help]" plus up to @max_pos positional arguments. */
static int parse_opts(int argc, char **argv, int *json, int max_pos,
		      const char *usage)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	optind = 0;	/* full getopt reset (GNU) */
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			if (!json)
				goto bad;
			*json = 1;
			break;
		case 'h':
			printf("Usage: vmcryptctl kernel %s\n", usage);
			return -1;
		default:
			goto bad;
		}
	}
	if (argc - optind > max_pos)
		goto bad;
	return 0;
bad:
	fprintf(stderr, "Usage: vmcryptctl kernel %s\n", usage);
	return -2;
}

static int print_json(struct json_object *o)
{
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return fflush(stdout) ? EXIT_FAIL : EXIT_OK;
}

static struct json_object *str_array(char (*s)[64], unsigned int n)
{
	struct json_object *a = json_object_new_array();
	unsigned int i;

	for (i = 0; i < n; i++)
		json_object_array_add(a, json_object_new_string(s[i]));
	return a;
}

static int cmd_features(int argc, char **argv)
{
	struct vmc_features f;
	struct vmc_genl *g;
	struct json_object *o, *a;
	unsigned int i;
	int json = 0, r;

	r = parse_opts(argc, argv, &json, 0, "features [--json]");
	if (r)
		return r == -1 ? EXIT_OK : EXIT_USAGE;
	r = vmc_genl_open(&g);
	if (r)
		return report("features", r);
	r = vmc_genl_get_features(g, &f);
	vmc_genl_close(g);
	if (r)
		return report("features", r);

	if (json) {
		char ver[48];

		o = json_object_new_object();
		snprintf(ver, sizeof(ver), "%u.%u.%u", f.version[0],
			 f.version[1], f.version[2]);
		json_object_object_add(o, "version", json_object_new_string(ver));
		json_object_object_add(o, "netlink_version",
				       json_object_new_int(f.family_version));
		json_object_object_add(o, "ciphers",
				       str_array(f.ciphers, f.n_ciphers));
		json_object_object_add(o, "options",
				       str_array(f.options, f.n_options));
		a = json_object_new_array();
		for (i = 0; i < f.n_key_sizes; i++)
			json_object_array_add(a, json_object_new_int(f.key_sizes[i]));
		json_object_object_add(o, "key_sizes", a);
		json_object_object_add(o, "driver", json_object_new_string(f.driver));
		return print_json(o);
	}
	printf("target version:   %u.%u.%u\n", f.version[0], f.version[1],
	       f.version[2]);
	printf("netlink version:  %u\n", f.family_version);
	printf("ciphers:         ");
	for (i = 0; i < f.n_ciphers; i++)
		printf(" %s", f.ciphers[i]);
	printf("\noptions:         ");
	for (i = 0; i < f.n_options; i++)
		printf(" %s", f.options[i]);
	printf("\nkey sizes:       ");
	for (i = 0; i < f.n_key_sizes; i++)
		printf(" %u", f.key_sizes[i]);
	printf("\ncrypto driver:    %s\n", *f.driver ? f.driver : "(default)");
	return fflush(stdout) ? EXIT_FAIL : EXIT_OK;
}

static struct json_object *dev_json(const struct vmc_dev_info *d)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "name", json_object_new_string(d->name));
	json_object_object_add(o, "key_description",
			       json_object_new_string(d->key_desc));
	json_object_object_add(o, "key_size", json_object_new_int(d->key_size));
	json_object_object_add(o, "key_state",
			       json_object_new_string(vmc_key_state_name(d->key_state)));
	json_object_object_add(o, "sector_size",
			       json_object_new_int(d->sector_size));
	json_object_object_add(o, "iv_offset", json_object_new_uint64(d->iv_offset));
	json_object_object_add(o, "offset", json_object_new_uint64(d->offset));
	json_object_object_add(o, "length", json_object_new_uint64(d->length));
	json_object_object_add(o, "crypto_driver",
			       json_object_new_string(d->driver));
	json_object_object_add(o, "crypto_async",
			       json_object_new_boolean(d->async));
	json_object_object_add(o, "reads", json_object_new_uint64(d->reads));
	json_object_object_add(o, "read_bytes",
			       json_object_new_uint64(d->read_bytes));
	json_object_object_add(o, "writes", json_object_new_uint64(d->writes));
	json_object_object_add(o, "write_bytes",
			       json_object_new_uint64(d->write_bytes));
	json_object_object_add(o, "crypto_errors",
			       json_object_new_uint64(d->crypto_errors));
	json_object_object_add(o, "io_errors",
			       json_object_new_uint64(d->io_errors));
	if (d->live >= 0)
		json_object_object_add(o, "live", json_object_new_boolean(d->live));
	return o;
}

static void dev_text(const struct vmc_dev_info *d)
{
	printf("%s:\n"
	       "%s"
	       "  key:           %s (%u bytes, %s)\n"
	       "  layout:        sector_size %u, iv_offset %" PRIu64
	       ", offset %" PRIu64 ", length %" PRIu64 " sectors\n"
	       "  crypto driver: %s (%s)\n"
	       "  reads:         %" PRIu64 " (%" PRIu64 " bytes)\n"
	       "  writes:        %" PRIu64 " (%" PRIu64 " bytes)\n"
	       "  errors:        crypto %" PRIu64 ", I/O %" PRIu64 "\n",
	       d->name,
	       d->live == 0 ? "  table:         inactive (loaded and not resumed, or replaced)\n" : "",
	       d->key_desc, d->key_size,
	       vmc_key_state_name(d->key_state), d->sector_size, d->iv_offset,
	       d->offset, d->length, d->driver, d->async ? "async" : "sync",
	       d->reads, d->read_bytes, d->writes, d->write_bytes,
	       d->crypto_errors, d->io_errors);
}

static int stats_one(const struct vmc_dev_info *d, void *arg)
{
	struct json_object *a = arg;

	if (a)
		json_object_array_add(a, dev_json(d));
	else
		dev_text(d);
	return 0;
}

static int cmd_stats(int argc, char **argv)
{
	struct json_object *a = NULL;
	struct vmc_dev_info *d;
	struct vmc_genl *g;
	const char *name;
	int json = 0, r;

	r = parse_opts(argc, argv, &json, 1, "stats [--json] [NAME]");
	if (r)
		return r == -1 ? EXIT_OK : EXIT_USAGE;
	name = optind < argc ? argv[optind] : NULL;
	r = vmc_genl_open(&g);
	if (r)
		return report("stats", r);
	if (name) {
		d = malloc(sizeof(*d));
		r = d ? vmc_genl_dev_get(g, name, d) : -ENOMEM;
		vmc_genl_close(g);
		if (r == -ENODEV) {
			fprintf(stderr, "vmcryptctl kernel: stats: no vmcrypt device named '%s'\n",
				name);
			free(d);
			return EXIT_FAIL;
		}
		if (r) {
			free(d);
			return report("stats", r);
		}
		if (json) {
			r = print_json(dev_json(d));
		} else {
			dev_text(d);
			r = fflush(stdout) ? EXIT_FAIL : EXIT_OK;
		}
		free(d);
		return r;
	}
	if (json)
		a = json_object_new_array();
	r = vmc_genl_dev_dump(g, stats_one, a);
	vmc_genl_close(g);
	if (r) {
		json_object_put(a);
		return report("stats", r);
	}
	if (json)
		return print_json(a);
	return fflush(stdout) ? EXIT_FAIL : EXIT_OK;
}

static int print_event(const struct vmc_event *e, void *arg)
{
	struct json_object *o = json_object_new_object();
	struct timespec ts;

	(void)arg;
	clock_gettime(CLOCK_REALTIME, &ts);
	json_object_object_add(o, "time", json_object_new_double(ts.tv_sec +
							       ts.tv_nsec / 1e9));
	json_object_object_add(o, "event",
			       json_object_new_string(vmc_event_type_name(e->type)));
	json_object_object_add(o, "device", json_object_new_string(e->name));
	if (e->type == VMCRYPT_EVENT_IO_ERROR)
		json_object_object_add(o, "errors", json_object_new_uint64(e->errors));
	else
		json_object_object_add(o, "key_description",
				       json_object_new_string(e->key_desc));
	return print_json(o) ? -EIO : 0;
}

static void on_signal(int sig)
{
	(void)sig;
	stop_monitor = 1;
}

static int cmd_monitor(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct vmc_genl *g;
	struct pollfd pfd;
	int r;

	r = parse_opts(argc, argv, NULL, 0, "monitor");
	if (r)
		return r == -1 ? EXIT_OK : EXIT_USAGE;
	r = vmc_genl_open(&g);
	if (r)
		return report("monitor", r);
	r = vmc_genl_subscribe(g);
	if (r) {
		vmc_genl_close(g);
		return report("monitor", r);
	}
	/* no SA_RESTART: poll() returns EINTR and the loop ends */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	pfd.fd = vmc_genl_event_fd(g);
	pfd.events = POLLIN;
	while (!stop_monitor) {
		if (poll(&pfd, 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			break;
		}
		r = vmc_genl_read_events(g, print_event, NULL);
		if (r)
			break;
	}
	vmc_genl_close(g);
	return r ? report("monitor", r) : EXIT_OK;
}

int kernel_main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int argc, char **argv);
	} cmds[] = {
		{ "features", cmd_features },
		{ "stats", cmd_stats },
		{ "monitor", cmd_monitor },
	};
	size_t i;

	if (argc < 2) {
		kernel_usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		kernel_usage(stdout);
		return EXIT_OK;
	}
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (!strcmp(argv[1], cmds[i].name))
			return cmds[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "vmcryptctl kernel: unknown command '%s'; see 'vmcryptctl kernel --help'\n",
		argv[1]);
	return EXIT_USAGE;
}
