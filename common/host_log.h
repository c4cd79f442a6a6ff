/*
 * common/host_log.h - how code in common/ logs through the server that
 * runs it.
 *
 * \file
 * The Unbound module logs with Unbound's log_vmsg, the Knot module with
 * knotd_mod_vlog; the code both share (the dnstap writer) gets the host's
 * logger as a function and an argument.  A gate guards them: once it is
 * closed (ig_host_log_close) nothing more reaches the host, so a thread
 * that outlives its module (libfstrm's I/O thread left behind at stop,
 * common/audit.c) never calls into a logger whose argument is gone.
 */
#ifndef ICPGUARD_COMMON_HOST_LOG_H
#define ICPGUARD_COMMON_HOST_LOG_H
#include <pthread.h>
#include <stdarg.h>
#include <syslog.h>

/**
 * A host's logger.  prio is syslog's: LOG_ERR, LOG_WARNING, LOG_INFO, and
 * LOG_DEBUG for operational detail (Unbound: verbosity "ops").  It may be
 * called from any thread, never with a lock of the caller's held that the
 * logger itself takes.
 */
typedef void ig_host_log_fn(void* arg, int prio, const char* fmt, va_list ap);

/** the gate; owned by whoever owns the longest-lived user of it */
struct ig_host_log {
	/** the logger and its argument (NULL: nothing is logged) */
	ig_host_log_fn* fn;
	void* arg;
	/** guards fn and arg against the close */
	pthread_mutex_t lock;
};

/** Open the gate to fn(arg, ...).  Thread: the owner's. */
void ig_host_log_init(struct ig_host_log* l, ig_host_log_fn* fn, void* arg);

/** Log a line through the gate (nothing once closed).  Any thread. */
void ig_log(struct ig_host_log* l, int prio, const char* fmt, ...)
	__attribute__((format(printf, 3, 4)));

/** Close the gate: when this returns, no call into the host's logger is
 * running or will run.  Any thread. */
void ig_host_log_close(struct ig_host_log* l);

/** Free the gate (closed or not) when no thread uses it any more. */
void ig_host_log_free(struct ig_host_log* l);

#endif /* ICPGUARD_COMMON_HOST_LOG_H */
