// SPDX-License-Identifier: GPL-2.0
/*
 * log.c - stderr/syslog diagnostics shared by vmcryptd and vmcryptctl.
 */
#include "lib/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>

static const char *log_prog = "vmcrypt";
static int log_syslog;
static int log_copy_err;	/* with syslog: errors to stderr as well (atomic) */
static enum log_level log_max = LOG_LEVEL_INFO;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

void log_init(const char *progname, int use_syslog)
{
	log_prog = progname;
	log_syslog = use_syslog;
	if (use_syslog)
		openlog(progname, LOG_PID, LOG_DAEMON);
}

void log_copy_errors_to_stderr(int on)
{
	__atomic_store_n(&log_copy_err, on, __ATOMIC_RELAXED);
}

void log_set_level(enum log_level lvl)
{
	log_max = lvl;
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	static const char *const tag[] = { "error: ", "warning: ", "", "debug: " };
	va_list ap, ap2;

	if (lvl > log_max)
		return;
	va_start(ap, fmt);
	if (log_syslog) {
		va_copy(ap2, ap);
		vsyslog(prio[lvl], fmt, ap2);
		va_end(ap2);
	}
	if (!log_syslog || (lvl == LOG_LEVEL_ERR &&
			    __atomic_load_n(&log_copy_err, __ATOMIC_RELAXED))) {
		pthread_mutex_lock(&log_lock);
		fprintf(stderr, "%s: %s", log_prog, tag[lvl]);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
		pthread_mutex_unlock(&log_lock);
	}
	va_end(ap);
}
