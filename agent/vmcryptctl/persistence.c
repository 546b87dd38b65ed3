// SPDX-License-Identifier: GPL-2.0
/*
 * persistence.c - `vmcryptctl persistence enable [--pcrs LIST] | disable |
 * status`: key persistence in the TPM so that disks open after a host
 * restart while the key servers are unreachable (Documentation/
 * persistence.rst).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "lib/ctlclient.h"
#include "vmcryptctl/commands.h"
#include "vmcryptctl/ctlutil.h"

static int p_enable(int argc, char **argv)
{
	static const char usage[] =
		"Usage: vmcryptctl persistence enable [--pcrs LIST]\n\n"
		"Turn key persistence on (admin): a persistence key is sealed in the TPM and\n"
		"every KEK vmcryptd holds or obtains from then on is kept in an encrypted\n"
		"cache, so that disks open after a restart with the key servers\n"
		"unreachable.\n\n"
		"  --pcrs LIST  bind the sealed key to these sha256 PCRs (e.g. 0,7): if they\n"
		"               change, the cache is refused and set aside\n";
	static const struct option opts[] = {
		{ "pcrs", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct json_object *args, *res, *n;
	const char *pcrs = NULL;
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'p': pcrs = optarg; break;
		case 'h': printf("%s", usage); return EXIT_OK;
		default: fprintf(stderr, "%s", usage); return EXIT_USAGE;
		}
	}
	if (optind != argc)
		return usage_error("persistence enable", "unexpected argument '%s'", argv[optind]);
	/* An empty list would mean no binding at all: leave --pcrs out for that. */
	if (pcrs && !*pcrs)
		return usage_error("persistence enable",
				   "--pcrs needs a PCR list such as 0,7 (leave it out for no PCR binding)");
	args = json_object_new_object();
	if (pcrs)
		json_object_object_add(args, "pcrs", json_object_new_string(pcrs));
	if (ctl_run("persistence.enable", args, &res) < 0)
		return EXIT_FAIL;
	printf("key persistence enabled%s%s\n", pcrs ? ", bound to PCRs sha256:" : "",
	       pcrs ? pcrs : "");
	if (json_object_object_get_ex(res, "keys_cached", &n) && json_object_get_int64(n) > 0)
		printf("%lld KEK(s) held in memory added to the cache\n",
		       (long long)json_object_get_int64(n));
	json_object_put(res);
	return EXIT_OK;
}

static int p_disable(int argc, char **argv)
{
	static const char usage[] =
		"Usage: vmcryptctl persistence disable\n\n"
		"Turn key persistence off (admin): the KEK cache and the sealed persistence\n"
		"key are wiped. Disks then need the key servers after a restart.\n";
	struct json_object *res;

	if (argc > 1 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		printf("%s", usage);
		return EXIT_OK;
	}
	if (argc != 1)
		return usage_error("persistence disable", "unexpected argument '%s'", argv[1]);
	if (ctl_run("persistence.disable", NULL, &res) < 0)
		return EXIT_FAIL;
	printf("key persistence disabled; cache and sealed key wiped\n");
	json_object_put(res);
	return EXIT_OK;
}

static int p_status(int argc, char **argv)
{
	static const char usage[] =
		"Usage: vmcryptctl persistence status [--keys] [--json]\n\n"
		"Show whether key persistence is on, its PCR binding, how many KEKs are\n"
		"cached and any error (e.g. PCRs changed). --keys lists the cached KEKs\n"
		"by provider and id (never key bytes).\n";
	static const struct option opts[] = {
		{ "keys", no_argument, NULL, 'k' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct json_object *args, *res, *arr;
	int c, keys = 0, json = 0;
	size_t i;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'k': keys = 1; break;
		case 'j': json = 1; break;
		case 'h': printf("%s", usage); return EXIT_OK;
		default: fprintf(stderr, "%s", usage); return EXIT_USAGE;
		}
	}
	if (optind != argc)
		return usage_error("persistence status", "unexpected argument '%s'", argv[optind]);
	args = json_object_new_object();
	json_object_object_add(args, "keys", json_object_new_boolean(keys));
	if (ctl_run("persistence.status", args, &res) < 0)
		return EXIT_FAIL;
	if (json) {
		ctl_print_json(res);
		json_object_put(res);
		return EXIT_OK;
	}
	printf("persistence: %s (%s)\n", jbool(res, "enabled") ? "enabled" : "disabled",
	       jget(res, "state"));
	if (jbool(res, "enabled"))
		printf("pcrs: %s\n", *jget(res, "pcrs") ? jget(res, "pcrs") : "none");
	if (*jget(res, "keys_cached"))
		printf("keys cached: %s\n", jget(res, "keys_cached"));
	if (*jget(res, "error"))
		printf("error: %s\n", jget(res, "error"));
	if (json_object_object_get_ex(res, "set_aside", &arr))
		for (i = 0; i < json_object_array_length(arr); i++)
			printf("set aside: %s\n",
			       json_object_get_string(json_object_array_get_idx(arr, i)));
	if (json_object_object_get_ex(res, "keys", &arr))
		for (i = 0; i < json_object_array_length(arr); i++) {
			struct json_object *k = json_object_array_get_idx(arr, i);

			printf("  %s  %s\n", jget(k, "provider"), jget(k, "kek_id"));
		}
	json_object_put(res);
	return EXIT_OK;
}

static const struct ctl_verb verbs[] = {
	{ "enable", p_enable, "seal a persistence key in the TPM [--pcrs LIST]" },
	{ "disable", p_disable, "wipe the KEK cache and the sealed key" },
	{ "status", p_status, "show whether persistence is on [--keys] [--json]" },
};

int persistence_main(int argc, char **argv)
{
	return ctl_run_verb("persistence", verbs, sizeof(verbs) / sizeof(verbs[0]),
			    argc, argv);
}
