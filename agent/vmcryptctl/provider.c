// SPDX-License-Identifier: GPL-2.0
/*
 * provider.c - `vmcryptctl provider add|list|show|test|set-default|remove`.
 * Verbs are dispatched from one table; other provider features (native
 * backup/restore) add a line to it and declare their function in
 * commands.h.
 */
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "lib/ctlclient.h"
#include "vmcryptctl/commands.h"
#include "vmcryptctl/ctlutil.h"

static int help_only(int argc, char **argv, const char *usage, int *json,
		     int nargs)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	*json = 0;
	while ((c = getopt_long(argc, argv, "jh", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			*json = 1;
			break;
		case 'h':
			printf("%s", usage);
			return EXIT_OK;
		default:
			fprintf(stderr, "%s", usage);
			return EXIT_USAGE;
		}
	}
	if (argc - optind != nargs) {
		char cmd[64];

		snprintf(cmd, sizeof(cmd), "provider %s", argv[0]);
		if (argc - optind > nargs)
			return usage_error(cmd, "unexpected argument '%s'",
					   argv[optind + nargs]);
		return usage_error(cmd, "expected a provider NAME");
	}
	return -1;
}

static int name_arg_call(int argc, char **argv, const char *op,
			 const char *usage, struct json_object **res, int *json)
{
	struct json_object *args;
	int r = help_only(argc, argv, usage, json, 1);

	if (r >= 0)
		return r;
	args = json_object_new_object();
	json_object_object_add(args, "name", json_object_new_string(argv[optind]));
	if (ctl_run(op, args, res) < 0)
		return EXIT_FAIL;
	return -1;
}

static int provider_add(int argc, char **argv)
{
	static const char usage[] =
		"Usage: vmcryptctl provider add NAME --kmip HOST:PORT[,HOST:PORT...]\n"
		"                              --ca FILE --cert FILE --key FILE\n"
		"       vmcryptctl provider add NAME --native [--allow-no-tpm]\n\n"
		"Add a key provider (admin). The servers of a KMIP provider are one cluster\n"
		"replicating the same keys: requests go to the first healthy one and fail\n"
		"over to the next. The first provider added becomes the default.\n\n"
		"  --kmip LIST      KMIP servers, comma-separated HOST:PORT\n"
		"  --ca FILE        CA certificate(s) that signed the servers' certificates\n"
		"  --cert FILE      client certificate\n"
		"  --key FILE       client private key (must not be readable by others)\n"
		"  --native         a native provider: KEKs derived from a TPM-sealed key\n"
		"  --allow-no-tpm   (native) store the key unsealed if there is no TPM\n"
		"  --json           print the result as JSON\n";
	static const struct option opts[] = {
		{ "kmip", required_argument, NULL, 'k' },
		{ "ca", required_argument, NULL, 'a' },
		{ "cert", required_argument, NULL, 'c' },
		{ "key", required_argument, NULL, 'K' },
		{ "native", no_argument, NULL, 'n' },
		{ "allow-no-tpm", no_argument, NULL, 'N' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *kmip = NULL, *ca = NULL, *cert = NULL, *key = NULL;
	struct json_object *args, *res;
	int c, native = 0, allow_no_tpm = 0, json = 0;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'k': kmip = optarg; break;
		case 'a': ca = optarg; break;
		case 'c': cert = optarg; break;
		case 'K': key = optarg; break;
		case 'n': native = 1; break;
		case 'N': allow_no_tpm = 1; break;
		case 'j': json = 1; break;
		case 'h': printf("%s", usage); return EXIT_OK;
		default: fprintf(stderr, "%s", usage); return EXIT_USAGE;
		}
	}
	if (argc - optind != 1)
		return usage_error("provider add", "expected exactly one provider NAME");
	if (native == !!kmip)
		return usage_error("provider add", "give either --kmip or --native");
	if (kmip && allow_no_tpm)
		return usage_error("provider add", "--allow-no-tpm is for --native");
	args = json_object_new_object();
	json_object_object_add(args, "name", json_object_new_string(argv[optind]));
	if (kmip) {
		struct json_object *servers = json_object_new_array();
		char *list = strdup(kmip), *save = NULL, *tok;
		char *paths[3];

		if (!ca || !cert || !key) {
			free(list);
			json_object_put(servers);
			json_object_put(args);
			return usage_error("provider add", "--kmip needs --ca, --cert and --key");
		}
		for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
			json_object_array_add(servers, json_object_new_string(tok));
		free(list);
		/* The daemon stores absolute paths; resolve ours relative to cwd. */
		paths[0] = abs_path(ca);
		paths[1] = abs_path(cert);
		paths[2] = abs_path(key);
		json_object_object_add(args, "type", json_object_new_string("kmip"));
		json_object_object_add(args, "servers", servers);
		json_object_object_add(args, "ca", json_object_new_string(paths[0] ? paths[0] : ca));
		json_object_object_add(args, "cert", json_object_new_string(paths[1] ? paths[1] : cert));
		json_object_object_add(args, "key", json_object_new_string(paths[2] ? paths[2] : key));
		free(paths[0]);
		free(paths[1]);
		free(paths[2]);
	} else {
		if (ca || cert || key) {
			json_object_put(args);
			return usage_error("provider add", "--ca/--cert/--key are for --kmip");
		}
		json_object_object_add(args, "type", json_object_new_string("native"));
		json_object_object_add(args, "allow_no_tpm", json_object_new_boolean(allow_no_tpm));
	}
	if (ctl_run("provider.add", args, &res) < 0)
		return EXIT_FAIL;
	if (json)
		ctl_print_json(res);
	else
		printf("provider %s added%s\n", jget(res, "name"),
		       jbool(res, "default") ? " (default)" : "");
	if (native)
		native_add_notice(argv[optind]);
	json_object_put(res);
	return EXIT_OK;
}

/* "42s", "5m 3s", "2h 5m", "3d 4h": how long ago, for people. */
static void print_age(int64_t s)
{
	if (s < 60)
		printf("%llds", (long long)s);
	else if (s < 3600)
		printf("%lldm %llds", (long long)(s / 60), (long long)(s % 60));
	else if (s < 86400)
		printf("%lldh %lldm", (long long)(s / 3600), (long long)(s % 3600 / 60));
	else
		printf("%lldd %lldh", (long long)(s / 86400), (long long)(s % 86400 / 3600));
}

static void print_provider(struct json_object *p, int verbose)
{
	struct json_object *servers;
	size_t i;

	printf("%s%s  type %s\n", jget(p, "name"), jbool(p, "default") ? " (default)" : "",
	       jget(p, "type"));
	if (json_object_object_get_ex(p, "servers", &servers) &&
	    json_object_is_type(servers, json_type_array)) {
		for (i = 0; i < json_object_array_length(servers); i++) {
			struct json_object *s = json_object_array_get_idx(servers, i);
			struct json_object *ago;

			if (json_object_is_type(s, json_type_object)) {
				printf("  server %s  %s", jget(s, "server"), jget(s, "state"));
				if (json_object_object_get_ex(s, "failed_seconds_ago", &ago) &&
				    json_object_is_type(ago, json_type_int)) {
					printf(" ");
					print_age(json_object_get_int64(ago));
					printf(" ago");
				}
				if (*jget(s, "last_error"))
					printf(" (%s)", jget(s, "last_error"));
				printf("\n");
			}
		}
	}
	if (verbose) {
		json_object_object_foreach(p, k, v) {
			if (!strcmp(k, "name") || !strcmp(k, "type") ||
			    !strcmp(k, "default") || !strcmp(k, "servers"))
				continue;
			printf("  %s: %s\n", k, json_object_get_string(v));
		}
	}
}

static int provider_list(int argc, char **argv)
{
	static const char usage[] = "Usage: vmcryptctl provider list [--json]\n\n"
		"List the key providers; the default one is marked.\n";
	struct json_object *res, *arr;
	int json, r = help_only(argc, argv, usage, &json, 0);
	size_t i;

	if (r >= 0)
		return r;
	if (ctl_run("provider.list", NULL, &res) < 0)
		return EXIT_FAIL;
	if (json) {
		ctl_print_json(res);
	} else if (json_object_object_get_ex(res, "providers", &arr)) {
		if (json_object_array_length(arr) == 0)
			printf("no providers\n");
		for (i = 0; i < json_object_array_length(arr); i++)
			print_provider(json_object_array_get_idx(arr, i), 0);
	}
	json_object_put(res);
	return EXIT_OK;
}

static int provider_show(int argc, char **argv)
{
	static const char usage[] = "Usage: vmcryptctl provider show NAME [--json]\n\n"
		"Show a provider's configuration and the health of its servers.\n";
	struct json_object *res, *p;
	int json, r = name_arg_call(argc, argv, "provider.show", usage, &res, &json);

	if (r >= 0)
		return r;
	if (json_object_object_get_ex(res, "provider", &p)) {
		if (json)
			ctl_print_json(p);
		else
			print_provider(p, 1);
	}
	json_object_put(res);
	return EXIT_OK;
}

/*
 * A native provider's test report (no servers): can the daemon get its
 * KDK, and where it is kept. The error, if any, goes to stderr.
 */
static void print_native_test(const char *name, struct json_object *res, int ok)
{
	printf("%s: %s  storage=%s backed_up=%s", name, ok ? "OK" : "FAILED",
	       *jget(res, "key_storage") ? jget(res, "key_storage") : "?",
	       jbool(res, "backed_up") ? "yes" : "no");
	if (*jget(res, "kdk_fingerprint"))
		printf(" kdk_fingerprint=%s", jget(res, "kdk_fingerprint"));
	printf("\n");
}

static int provider_test(int argc, char **argv)
{
	static const char usage[] = "Usage: vmcryptctl provider test NAME [--json]\n\n"
		"KMIP: contact every server of the provider: reachable, TLS, protocol\n"
		"version, vendor. Exit 0 when at least one server works.\n"
		"Native: check that the key-derivation key can be unsealed (or read).\n"
		"Exit 0 when it can.\n";
	struct json_object *res, *arr;
	int json, ok, kmip, r = name_arg_call(argc, argv, "provider.test", usage, &res, &json);
	size_t i;

	if (r >= 0)
		return r;
	ok = jbool(res, "ok");
	kmip = json_object_object_get_ex(res, "servers", &arr) &&
	       json_object_is_type(arr, json_type_array);
	if (json) {
		ctl_print_json(res);
	} else if (!kmip) {
		print_native_test(argv[optind], res, ok);
	} else {
		for (i = 0; i < json_object_array_length(arr); i++) {
			struct json_object *s = json_object_array_get_idx(arr, i);

			printf("%s: %s  reachable=%s tls=%s", jget(s, "server"),
			       jbool(s, "ok") ? "OK" : "FAILED",
			       jbool(s, "reachable") ? "yes" : "no",
			       jbool(s, "tls") ? "yes" : "no");
			if (*jget(s, "protocol_version"))
				printf(" kmip=%s", jget(s, "protocol_version"));
			if (*jget(s, "vendor"))
				printf(" vendor=\"%s\"", jget(s, "vendor"));
			if (*jget(s, "error"))
				printf(" error: %s", jget(s, "error"));
			printf("\n");
		}
	}
	if (!ok && kmip)
		fprintf(stderr, "vmcryptctl: no server of provider %s works\n", argv[optind]);
	else if (!ok)	/* the daemon's reason names the provider */
		fprintf(stderr, "vmcryptctl: %s\n", *jget(res, "error") ? jget(res, "error") :
			"the provider's key is not usable");
	json_object_put(res);
	return ok ? EXIT_OK : EXIT_FAIL;
}

static int provider_set_default(int argc, char **argv)
{
	static const char usage[] = "Usage: vmcryptctl provider set-default NAME [--json]\n\n"
		"Make NAME the provider used when none is given.\n";
	struct json_object *res;
	int json, r = name_arg_call(argc, argv, "provider.set-default", usage, &res, &json);

	if (r >= 0)
		return r;
	if (json)
		ctl_print_json(res);
	else
		printf("default provider is now %s\n", jget(res, "default"));
	json_object_put(res);
	return EXIT_OK;
}

static int provider_remove(int argc, char **argv)
{
	static const char usage[] = "Usage: vmcryptctl provider remove NAME [--json]\n\n"
		"Remove a provider from vmcryptd (keys on the KMS are not touched);\n"
		"its KEKs in the persisted cache and a native provider's key files\n"
		"are erased. If it was the default, the next provider becomes the\n"
		"default. Exit 1 when something could not be erased (named).\n";
	struct json_object *res;
	int json, r = name_arg_call(argc, argv, "provider.remove", usage, &res, &json);

	if (r >= 0)
		return r;
	if (json) {
		ctl_print_json(res);
	} else {
		printf("provider %s removed\n", jget(res, "removed"));
		if (*jget(res, "default"))
			printf("default provider is now %s\n", jget(res, "default"));
	}
	json_object_put(res);
	return EXIT_OK;
}

static const struct ctl_verb verbs[] = {
	{ "add", provider_add, "add a KMIP or native key provider" },
	{ "list", provider_list, "list providers" },
	{ "show", provider_show, "show one provider" },
	{ "test", provider_test, "check a provider's servers" },
	{ "set-default", provider_set_default, "make a provider the default" },
	{ "remove", provider_remove, "remove a provider" },
	{ "backup", provider_backup, "back up a native provider's key (PKCS#12)" },
	{ "restore", provider_restore, "restore a native provider from a backup" },
};

int provider_main(int argc, char **argv)
{
	return ctl_run_verb("provider", verbs, sizeof(verbs) / sizeof(verbs[0]),
			    argc, argv);
}
