// SPDX-License-Identifier: GPL-2.0
/*
 * config.c - parse vmcryptd.conf ("key = value" lines, see config.h) and
 * map Unix users to roles. A file is parsed into a scratch copy and only
 * swapped in when every line is valid, so a bad file changes nothing.
 */
#include "lib/config.h"

#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CONFIG_MAX_SIZE (1024 * 1024)
#define CONFIG_MAX_GROUPS 64

static void free_groups(char **g)
{
	size_t i;

	if (!g)
		return;
	for (i = 0; g[i]; i++)
		free(g[i]);
	free(g);
}

void config_free(struct config *cfg)
{
	int i;

	free(cfg->state_dir);
	free(cfg->socket_path);
	free(cfg->tpm_tcti);
	for (i = 0; i <= ROLE_ADMIN; i++)
		free_groups(cfg->groups[i]);
	memset(cfg, 0, sizeof(*cfg));
}

int config_init(struct config *cfg)
{
	int i;

	memset(cfg, 0, sizeof(*cfg));
	cfg->state_dir = strdup(CONFIG_DEFAULT_STATE_DIR);
	cfg->socket_path = strdup(CONFIG_DEFAULT_SOCKET);
	cfg->tpm_tcti = strdup(CONFIG_DEFAULT_TCTI);
	cfg->log_level = LOG_LEVEL_INFO;
	cfg->kmip_connect_timeout_ms = 5000;
	cfg->kmip_timeout_ms = 10000;
	cfg->kmip_retry_after_s = 30;
	cfg->client_timeout_ms = 30000;
	cfg->max_clients = 64;
	cfg->max_clients_per_user = 8;
	for (i = 0; i <= ROLE_ADMIN; i++)
		cfg->groups[i] = calloc(1, sizeof(char *));
	if (!cfg->state_dir || !cfg->socket_path || !cfg->tpm_tcti ||
	    !cfg->groups[0] || !cfg->groups[1] || !cfg->groups[2] ||
	    !cfg->groups[3]) {
		config_free(cfg);
		return -ENOMEM;
	}
	return 0;
}

static int config_copy(struct config *dst, const struct config *src)
{
	int i;
	size_t j, n;

	memset(dst, 0, sizeof(*dst));
	*dst = *src;
	dst->state_dir = strdup(src->state_dir);
	dst->socket_path = strdup(src->socket_path);
	dst->tpm_tcti = strdup(src->tpm_tcti);
	for (i = 0; i <= ROLE_ADMIN; i++) {
		for (n = 0; src->groups[i][n]; n++)
			;
		dst->groups[i] = calloc(n + 1, sizeof(char *));
		if (!dst->groups[i])
			continue;
		for (j = 0; j < n; j++)
			dst->groups[i][j] = strdup(src->groups[i][j]);
	}
	if (!dst->state_dir || !dst->socket_path || !dst->tpm_tcti)
		goto nomem;
	for (i = 0; i <= ROLE_ADMIN; i++) {
		if (!dst->groups[i])
			goto nomem;
		for (j = 0; src->groups[i][j]; j++)
			if (!dst->groups[i][j])
				goto nomem;
	}
	return 0;
nomem:
	/* Partially copied group arrays may hold NULL holes: free by hand. */
	free(dst->state_dir);
	free(dst->socket_path);
	free(dst->tpm_tcti);
	for (i = 0; i <= ROLE_ADMIN; i++) {
		if (!dst->groups[i])
			continue;
		for (n = 0; src->groups[i][n]; n++)
			free(dst->groups[i][n]);
		free(dst->groups[i]);
	}
	memset(dst, 0, sizeof(*dst));
	return -ENOMEM;
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

/* 0, -EINVAL (not a decimal integer) or -ERANGE (outside min..max). */
static int parse_int(const char *v, long min, long max, int *out)
{
	const char *digits = *v == '-' ? v + 1 : v;
	char *end;
	long n;

	if (!isdigit((unsigned char)*digits))
		return -EINVAL;
	errno = 0;
	n = strtol(v, &end, 10);
	if (*end)
		return -EINVAL;
	if (errno || n < min || n > max)
		return -ERANGE;
	*out = (int)n;
	return 0;
}

static int valid_path(const char *v)
{
	size_t i;

	if (v[0] != '/' || strlen(v) >= PATH_MAX)
		return 0;
	for (i = 0; v[i]; i++)
		if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
			return 0;
	return 1;
}

static int valid_group(const char *g)
{
	size_t i, n = strlen(g);

	if (n == 0 || n > 32 || g[0] == '-')
		return 0;
	for (i = 0; i < n; i++)
		if (!(isalnum((unsigned char)g[i]) || g[i] == '_' ||
		      g[i] == '-' || g[i] == '.' || (g[i] == '$' && i == n - 1)))
			return 0;
	return 1;
}

/* "a, b ,c" -> NULL-terminated array; -EINVAL with @why on a bad name. */
static int parse_groups(char *v, char ***out, const char **why)
{
	char **g = calloc(CONFIG_MAX_GROUPS + 1, sizeof(char *));
	size_t n = 0;
	char *save = NULL, *tok;

	if (!g)
		return -ENOMEM;
	for (tok = strtok_r(v, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		tok = trim(tok);
		if (!*tok)
			continue;
		if (!valid_group(tok)) {
			*why = "invalid group name";
			goto bad;
		}
		if (n == CONFIG_MAX_GROUPS) {
			*why = "too many groups";
			goto bad;
		}
		g[n] = strdup(tok);
		if (!g[n++]) {
			free_groups(g);
			return -ENOMEM;
		}
	}
	*out = g;
	return 0;
bad:
	free_groups(g);
	return -EINVAL;
}

static int set_str(char **field, const char *v)
{
	char *s = strdup(v);

	if (!s)
		return -ENOMEM;
	free(*field);
	*field = s;
	return 0;
}

/*
 * Apply one "key = value" to @c; -EINVAL with @why, or -ENOMEM. @why is
 * a fixed text the caller follows with the key, or @buf when the message
 * needs the value too (it then names the key itself).
 */
static int apply(struct config *c, const char *key, char *val, const char **why,
		 char *buf, size_t buflen)
{
	static const struct {
		const char *key;
		size_t off;
		long min, max;
	} ints[] = {
		{ "kmip_connect_timeout_ms", offsetof(struct config, kmip_connect_timeout_ms), 100, 600000 },
		{ "kmip_timeout_ms", offsetof(struct config, kmip_timeout_ms), 100, 600000 },
		{ "kmip_retry_after_s", offsetof(struct config, kmip_retry_after_s), 0, 86400 },
		{ "client_timeout_ms", offsetof(struct config, client_timeout_ms), 100, 3600000 },
		{ "max_clients", offsetof(struct config, max_clients), 1, 1024 },
		{ "max_clients_per_user", offsetof(struct config, max_clients_per_user), 1, 1024 },
	};
	static const char *const levels[] = { "error", "warning", "info", "debug" };
	static const char *const rolekeys[] = { NULL, "viewer_groups",
		"operator_groups", "admin_groups" };
	size_t i;
	int r;

	if (!strcmp(key, "state_dir") || !strcmp(key, "socket")) {
		if (!valid_path(val)) {
			*why = "value must be an absolute path";
			return -EINVAL;
		}
		return set_str(!strcmp(key, "socket") ? &c->socket_path :
			       &c->state_dir, val);
	}
	if (!strcmp(key, "tpm_tcti")) {
		if (!*val || strlen(val) > 1024 || strchr(val, '\n')) {
			*why = "invalid TCTI string";
			return -EINVAL;
		}
		return set_str(&c->tpm_tcti, val);
	}
	if (!strcmp(key, "log_level")) {
		for (i = 0; i < 4; i++) {
			if (!strcmp(val, levels[i])) {
				c->log_level = (enum log_level)i;
				return 0;
			}
		}
		*why = "log_level must be error, warning, info or debug";
		return -EINVAL;
	}
	for (i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
		if (!strcmp(key, ints[i].key)) {
			r = parse_int(val, ints[i].min, ints[i].max,
				      (int *)((char *)c + ints[i].off));
			if (r == -ERANGE)
				snprintf(buf, buflen, "%s: %.32s is out of range %ld..%ld",
					 key, val, ints[i].min, ints[i].max);
			else if (r < 0)
				snprintf(buf, buflen, "%s: '%.32s' is not an integer (range %ld..%ld)",
					 key, val, ints[i].min, ints[i].max);
			if (r < 0) {
				*why = buf;
				return -EINVAL;
			}
			return 0;
		}
	}
	for (i = ROLE_VIEWER; i <= ROLE_ADMIN; i++) {
		if (!strcmp(key, rolekeys[i])) {
			char **g;

			r = parse_groups(val, &g, why);
			if (r < 0)
				return r;
			free_groups(c->groups[i]);
			c->groups[i] = g;
			return 0;
		}
	}
	*why = "unknown key";
	return -EINVAL;
}

int config_parse(struct config *cfg, const char *name, const char *text,
		 size_t len, char *err, size_t errlen)
{
	struct config tmp;
	const char *p = text, *end = text + len;
	unsigned int lineno = 0;
	int r;

	if (len > CONFIG_MAX_SIZE) {
		snprintf(err, errlen, "%s: file too large", name);
		return -EINVAL;
	}
	if (memchr(text, '\0', len)) {
		snprintf(err, errlen, "%s: file contains NUL bytes", name);
		return -EINVAL;
	}
	r = config_copy(&tmp, cfg);
	if (r < 0) {
		snprintf(err, errlen, "%s: out of memory", name);
		return r;
	}
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		const char *why = NULL;
		char *line, *s, *eq, *key, *val, *hash, whybuf[128];

		lineno++;
		line = strndup(p, n);
		if (!line) {
			r = -ENOMEM;
			snprintf(err, errlen, "%s: out of memory", name);
			goto fail;
		}
		p += n + (nl ? 1 : 0);
		hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		s = trim(line);
		if (!*s) {
			free(line);
			continue;
		}
		eq = strchr(s, '=');
		if (!eq) {
			why = "expected 'key = value'";
			r = -EINVAL;
		} else {
			*eq = '\0';
			key = trim(s);
			val = trim(eq + 1);
			if (!*key) {
				why = "missing key before '='";
				r = -EINVAL;
			} else {
				r = apply(&tmp, key, val, &why, whybuf,
					  sizeof(whybuf));
			}
		}
		if (r < 0) {
			int named = why == whybuf;

			if (r == -ENOMEM)
				snprintf(err, errlen, "%s:%u: out of memory", name, lineno);
			else
				snprintf(err, errlen, "%s:%u: %s%s%s%s", name, lineno,
					 why, eq && !named ? " '" : "",
					 eq && !named ? trim(s) : "",
					 eq && !named ? "'" : "");
			free(line);
			goto fail;
		}
		free(line);
	}
	config_free(cfg);
	*cfg = tmp;
	return 0;
fail:
	config_free(&tmp);
	return r;
}

int config_load(struct config *cfg, const char *path, int optional,
		char *err, size_t errlen)
{
	struct stat st;
	char *buf;
	size_t got;
	FILE *f;
	int r;

	f = fopen(path, "re");
	if (!f) {
		r = -errno;
		if (r == -ENOENT && optional)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(-r));
		return r;
	}
	/* Regular files, or a character device such as /dev/null. */
	if (fstat(fileno(f), &st) < 0 ||
	    !(S_ISREG(st.st_mode) || S_ISCHR(st.st_mode))) {
		fclose(f);
		snprintf(err, errlen, "%s: not a regular file", path);
		return -EINVAL;
	}
	/*
	 * The file grants roles: only its owner, root or us, may change it.
	 * The message names just the condition(s) that failed.
	 */
	if (S_ISREG(st.st_mode)) {
		unsigned int uid = (unsigned int)st.st_uid, me = (unsigned int)geteuid();
		char owner[80] = "", mode[64] = "";

		if (uid != 0 && uid != me && me == 0)
			snprintf(owner, sizeof(owner), "owned by uid %u, not root", uid);
		else if (uid != 0 && uid != me)
			snprintf(owner, sizeof(owner),
				 "owned by uid %u, not root or vmcryptd's uid %u", uid, me);
		if (st.st_mode & 022)
			snprintf(mode, sizeof(mode), "writable by group/others (mode %04o)",
				 (unsigned int)(st.st_mode & 07777));
		if (owner[0] || mode[0]) {
			fclose(f);
			snprintf(err, errlen, "%s: refused: %s%s%s", path, owner,
				 owner[0] && mode[0] ? " and " : "", mode);
			return -EPERM;
		}
	}
	buf = malloc(CONFIG_MAX_SIZE + 1);
	if (!buf) {
		fclose(f);
		snprintf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	got = fread(buf, 1, CONFIG_MAX_SIZE + 1, f);
	if (ferror(f)) {
		r = -EIO;
		snprintf(err, errlen, "%s: read error", path);
	} else {
		r = config_parse(cfg, path, buf, got, err, errlen);
	}
	fclose(f);
	free(buf);
	return r;
}

const char *role_name(enum role r)
{
	switch (r) {
	case ROLE_ADMIN:
		return "admin";
	case ROLE_OPERATOR:
		return "operator";
	case ROLE_VIEWER:
		return "viewer";
	default:
		return "none";
	}
}

static int group_in(char **names, const char *g)
{
	size_t i;

	for (i = 0; names && names[i]; i++)
		if (!strcmp(names[i], g))
			return 1;
	return 0;
}

enum role config_role_of(const struct config *cfg, uid_t uid, gid_t gid,
			 char *user, size_t userlen)
{
	struct passwd pw, *pwp = NULL;
	gid_t *gids = NULL;
	enum role best = ROLE_NONE;
	char buf[4096];
	int ngroups = 64, i, j;

	snprintf(user, userlen, "%u", (unsigned int)uid);
	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &pwp) == 0 && pwp)
		snprintf(user, userlen, "%s", pw.pw_name);
	if (uid == 0)
		return ROLE_ADMIN;

	if (pwp) {
		int ok = 0;

		for (i = 0; i < 4 && !ok; i++) {
			gid_t *ng;

			if (ngroups < 1 || ngroups > 65536)
				break;
			ng = realloc(gids, (size_t)ngroups * sizeof(gid_t));
			if (!ng)
				break;
			gids = ng;
			/* On -1, ngroups is set to the size needed: retry. */
			ok = getgrouplist(pw.pw_name, gid, gids, &ngroups) >= 0;
		}
		if (!ok) {
			free(gids);
			gids = NULL;
		}
	}
	if (!gids) {
		free(gids);
		gids = malloc(sizeof(gid_t));
		if (!gids)
			return ROLE_NONE;
		gids[0] = gid;
		ngroups = 1;
	}
	for (i = 0; i < ngroups; i++) {
		struct group gr, *grp = NULL;
		char gbuf[8192];

		if (getgrgid_r(gids[i], &gr, gbuf, sizeof(gbuf), &grp) || !grp)
			continue;
		for (j = ROLE_ADMIN; j > (int)best; j--) {
			if (group_in(cfg->groups[j], grp->gr_name)) {
				best = (enum role)j;
				break;
			}
		}
	}
	free(gids);
	return best;
}
