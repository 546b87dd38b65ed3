/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ctlclient.h - the CLI side of the control socket (see proto.h).
 *
 * A subcommand usually needs one call:
 *
 *	struct json_object *args = json_object_new_object(), *res = NULL;
 *	json_object_object_add(args, "name", json_object_new_string(name));
 *	if (ctl_run("provider.show", args, &res))   // prints the error
 *		return EXIT_FAIL;
 *	... use res ...; json_object_put(res);
 *
 * Error texts are one line and complete ("cannot reach vmcryptd at PATH:
 * Connection refused", or the daemon's own text); ctl_run() prints them
 * as "vmcryptctl: TEXT" on stderr.
 */
#ifndef VMCRYPT_CTLCLIENT_H
#define VMCRYPT_CTLCLIENT_H

struct json_object;

/*
 * Default time to wait for vmcryptd's answer to one call, in seconds; ops
 * that talk to a KMS may take a while. vmcryptctl --timeout changes it.
 */
#define CTL_TIMEOUT_S (5 * 60)
#define CTL_TIMEOUT_MAX_S (24 * 60 * 60)

struct ctl_conn;

/*
 * The socket ctl_run() uses: vmcryptctl's --socket / $VMCRYPT_SOCKET,
 * default /run/vmcrypt/control. Defined in ctlclient.c, set by main().
 */
extern const char *ctl_socket_path;
/* The wait for each answer: CTL_TIMEOUT_S, or vmcryptctl's --timeout. */
extern unsigned int ctl_timeout_s;

/*
 * What the last failed call was, for vmcryptctl's exit status (0 while
 * none failed): CTL_NO_DAEMON when vmcryptd could not be reached or went
 * away, CTL_REFUSED when it answered a refusal (the user's role, or a key
 * server that refused this host the key), CTL_UNAVAILABLE when it
 * answered that no key server could be reached (worth a retry),
 * CTL_FAILED for any other error, a timeout included. The kind comes
 * from the response's "failure" member (proto.h), never from the errno.
 * The values are the exit codes.
 */
enum ctl_failure {
	CTL_FAILED = 1,
	CTL_NO_DAEMON = 3,
	CTL_REFUSED = 4,
	CTL_UNAVAILABLE = 5,
};
extern int ctl_last_failure;

/* Connect to vmcryptd at @socket_path. 0 or -errno with *@errtext set. */
int ctl_connect(const char *socket_path, struct ctl_conn **out,
		char **errtext);
/*
 * One request on an open connection. Takes ownership of @args (may be
 * NULL). 0 with *@result (caller puts it), or -errno with *@errtext
 * (caller frees): the daemon's error or a transport error.
 */
int ctl_request(struct ctl_conn *c, const char *op, struct json_object *args,
		struct json_object **result, char **errtext);
void ctl_close(struct ctl_conn *c);

/* Connect, one request, close. Same contract as ctl_request(). */
int ctl_call(const char *socket_path, const char *op, struct json_object *args,
	     struct json_object **result, char **errtext);

/*
 * ctl_call() on the socket chosen by vmcryptctl's --socket/VMCRYPT_SOCKET
 * (ctl_socket_path); prints "vmcryptctl: <error>" on failure. 0 or -errno.
 */
int ctl_run(const char *op, struct json_object *args,
	    struct json_object **result);

/*
 * ctl_run() for a request whose string member @field of @args is a secret
 * (a passphrase): json-c's copy of it is wiped once the request is sent.
 * Takes ownership of @args, as ctl_run() does.
 */
int ctl_run_wiping(const char *op, struct json_object *args,
		   const char *field, struct json_object **result);

/* Print @obj as pretty JSON on stdout followed by a newline. */
void ctl_print_json(struct json_object *obj);

#endif
