// SPDX-License-Identifier: GPL-2.0
/*
 * key.c - `vmcryptctl key create|show|list|fetch`: KEKs on the providers.
 * Key bytes never reach the CLI: `fetch` only prints a fingerprint, and
 * with --count N it times N fetches over one connection (the Get
 * benchmark of the daemon path).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "lib/ctlclient.h"
#include "vmcryptctl/commands.h"
#include "vmcryptctl/ctlutil.h"

static int key_create(int argc, char **argv)
{
	static const char usage[] =
		"Usage: vmcryptctl key create [--provider NAME] --vm-name NAME --vm-uuid UUID [--json]\n\n"
		"Create and activate a new AES-256 KEK for a VM on a provider (default:\n"
		"the default provider) and make it the VM's KEK. Prints the key id.\n";
	static const struct option opts[] = {
		{ "provider", required_argument, NULL, 'p' },
		{ "vm-name", required_argument, NULL, 'n' },
		{ "vm-uuid", required_argument, NULL, 'u' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *prov = NULL, *name = NULL, *uuid = NULL;
	struct json_object *args, *res;
	int c, json = 0;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'p': prov = optarg; break;
		case 'n': name = optarg; break;
		case 'u': uuid = optarg; break;
		case 'j': json = 1; break;
		case 'h': printf("%s", usage); return EXIT_OK;
		default: fprintf(stderr, "%s", usage); return EXIT_USAGE;
		}
	}
	if (optind < argc)
		return usage_error("key create", "unexpected argument '%s'", argv[optind]);
	if (!name || !uuid)
		return usage_error("key create", "--vm-name and --vm-uuid are required");
	args = json_object_new_object();
	if (prov)
		json_object_object_add(args, "provider", json_object_new_string(prov));
	json_object_object_add(args, "vm_name", json_object_new_string(name));
	json_object_object_add(args, "vm_uuid", json_object_new_string(uuid));
	if (ctl_run("key.create", args, &res) < 0)
		return EXIT_FAIL;
	if (json)
		ctl_print_json(res);
	else
		printf("%s\n", jget(res, "id"));
	json_object_put(res);
	return EXIT_OK;
}

static int key_show(int argc, char **argv)
{
	static const char usage[] =
		"Usage: vmcryptctl key show ID [--provider NAME] [--json]\n\n"
		"Print a key's attributes as the provider reports them (never the key).\n";
	static const struct option opts[] = {
		{ "provider", required_argument, NULL, 'p' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct json_object *args, *res, *attrs;
	const char *prov = NULL;
	int c, json = 0;
	size_t i;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'p': prov = optarg; break;
		case 'j': json = 1; break;
		case 'h': printf("%s", usage); return EXIT_OK;
		default: fprintf(stderr, "%s", usage); return EXIT_USAGE;
		}
	}
	if (argc - optind != 1)
		return usage_error("key show", "expected exactly one key ID");
	args = json_object_new_object();
	json_object_object_add(args, "id", json_object_new_string(argv[optind]));
	if (prov)
		json_object_object_add(args, "provider", json_object_new_string(prov));
	if (ctl_run("key.show", args, &res) < 0)
		return EXIT_FAIL;
	if (json) {
		ctl_print_json(res);
	} else {
		printf("key %s on provider %s\n", jget(res, "id"), jget(res, "provider"));
		if (json_object_object_get_ex(res, "attributes", &attrs))
			for (i = 0; i < json_object_array_length(attrs); i++) {
				struct json_object *a = json_object_array_get_idx(attrs, i);

				printf("  %s: %s\n", jget(a, "name"), jget(a, "value"));
			}
	}
	json_object_put(res);
	return EXIT_OK;
}

static int key_list(int argc, char **argv)
{
	static const char usage[] = "Usage: vmcryptctl key list [--json]\n\n"
		"List the VMs vmcryptd knows and the id of each VM's current KEK.\n";
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct json_object *res, *vms;
	int c, json = 0;
	size_t i;

	while ((c = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = 1; break;
		case 'h': printf("%s", usage); return EXIT_OK;
		default: fprintf(stderr, "%s", usage); return EXIT_USAGE;
		}
	}
	if (optind < argc)
		return usage_error("key list", "unexpected argument '%s'", argv[optind]);
	if (ctl_run("key.list", NULL, &res) < 0)
		return EXIT_FAIL;
	if (json) {
		ctl_print_json(res);
	} else if (json_object_object_get_ex(res, "vms", &vms)) {
		for (i = 0; i < json_object_array_length(vms); i++) {
			struct json_object *v = json_object_array_get_idx(vms, i);

			printf("%s  %-20s provider %s  key %s\n", jget(v, "vm_uuid"),
			       jget(v, "vm_name"), jget(v, "provider"), jget(v, "kek_id"));
		}
	}
	json_object_put(res);
	return EXIT_OK;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int key_fetch(int argc, char **argv)
{
	static const char usage[] =
		"Usage: vmcryptctl key fetch ID [--provider NAME] [--no-cache] [--count N] [--json]\n\n"
		"Obtain a KEK through vmcryptd (memory, provider, persisted cache) and print\n"
		"its fingerprint (16 bytes of SHA-256 over a label and the key): never the key.\n"
		"  --provider NAME  the key's provider (default: the default provider)\n"
		"  --no-cache  always ask the provider (the KMS)\n"
		"  --count N   repeat N times over one connection and print the rate\n";
	static const struct option opts[] = {
		{ "provider", required_argument, NULL, 'p' },
		{ "no-cache", no_argument, NULL, 'C' },
		{ "count", required_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *prov = NULL;
	struct json_object *res = NULL;
	struct ctl_conn *conn;
	char *err = NULL, *end;
	long count = 1, i;
	int c, json = 0, nocache = 0, r = 0;
	double t0, dt;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'p': prov = optarg; break;
		case 'C': nocache = 1; break;
		case 'n':
			count = strtol(optarg, &end, 10);
			if (*end || count < 1 || count > 1000000)
				return usage_error("key fetch", "--count must be 1..1000000");
			break;
		case 'j': json = 1; break;
		case 'h': printf("%s", usage); return EXIT_OK;
		default: fprintf(stderr, "%s", usage); return EXIT_USAGE;
		}
	}
	if (argc - optind != 1)
		return usage_error("key fetch", "expected exactly one key ID");
	if (ctl_connect(ctl_socket_path, &conn, &err) < 0) {
		fprintf(stderr, "vmcryptctl: %s\n", err);
		free(err);
		return EXIT_FAIL;
	}
	t0 = now_s();
	for (i = 0; i < count; i++) {
		struct json_object *args = json_object_new_object();

		json_object_object_add(args, "id", json_object_new_string(argv[optind]));
		if (prov)
			json_object_object_add(args, "provider", json_object_new_string(prov));
		if (nocache)
			json_object_object_add(args, "no_cache", json_object_new_boolean(1));
		json_object_put(res);
		r = ctl_request(conn, "key.fetch", args, &res, &err);
		if (r < 0)
			break;
	}
	dt = now_s() - t0;
	ctl_close(conn);
	if (r < 0) {
		fprintf(stderr, "vmcryptctl: %s\n", err ? err : "request failed");
		free(err);
		return EXIT_FAIL;
	}
	if (count > 1) {
		json_object_object_add(res, "count", json_object_new_int64(count));
		json_object_object_add(res, "seconds", json_object_new_double(dt));
		json_object_object_add(res, "per_second", json_object_new_double(count / dt));
	}
	if (json) {
		ctl_print_json(res);
	} else {
		printf("key %s of provider %s: %s bits, fingerprint %s\n", jget(res, "id"),
		       jget(res, "provider"), jget(res, "length"), jget(res, "fingerprint"));
		if (count > 1)
			printf("%ld fetches in %.3f s: %.1f per second (one connection%s)\n",
			       count, dt, count / dt, nocache ? ", uncached" : "");
	}
	json_object_put(res);
	return EXIT_OK;
}

static const struct ctl_verb verbs[] = {
	{ "create", key_create, "create a KEK for a VM" },
	{ "show", key_show, "show a key's attributes on its provider" },
	{ "list", key_list, "list VMs and their current KEK" },
	{ "fetch", key_fetch, "fetch a KEK, print its fingerprint (benchmark: --count)" },
};

int key_main(int argc, char **argv)
{
	return ctl_run_verb("key", verbs, sizeof(verbs) / sizeof(verbs[0]),
			    argc, argv);
}
