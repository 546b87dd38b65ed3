/* SPDX-License-Identifier: GPL-2.0 */
/*
 * log.h - diagnostics for the agent's programs (not the event log, which
 * is the audit trail: see eventlog.h).
 *
 * Messages go to stderr, prefixed with the program name; the daemon may
 * switch to syslog. Never pass key bytes to these functions: name keys by
 * their id.
 */
#ifndef VMCRYPT_LOG_H
#define VMCRYPT_LOG_H

enum log_level { LOG_LEVEL_ERR, LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

void log_init(const char *progname, int use_syslog);
/*
 * With syslog on, also write errors to stderr (@on != 0) or stop doing so.
 * For the daemon's start-up: whoever started it by hand sees why it
 * exited, not just its status.
 */
void log_copy_errors_to_stderr(int on);
void log_set_level(enum log_level lvl);
void log_msg(enum log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_err(...) log_msg(LOG_LEVEL_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)

#endif
