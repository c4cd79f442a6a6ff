/*
 * common/host_log.c - the gate to the host's logger (common/host_log.h).
 */
#include "config.h"
#include "common/host_log.h"

void
ig_host_log_init(struct ig_host_log* l, ig_host_log_fn* fn, void* arg)
{
	l->fn = fn;
	l->arg = arg;
	pthread_mutex_init(&l->lock, NULL);
}

void
ig_log(struct ig_host_log* l, int prio, const char* fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	pthread_mutex_lock(&l->lock);
	if(l->fn) l->fn(l->arg, prio, fmt, ap);
	pthread_mutex_unlock(&l->lock);
	va_end(ap);
}

void
ig_host_log_close(struct ig_host_log* l)
{
	pthread_mutex_lock(&l->lock);
	l->fn = NULL;
	l->arg = NULL;
	pthread_mutex_unlock(&l->lock);
}

void
ig_host_log_free(struct ig_host_log* l)
{
	pthread_mutex_destroy(&l->lock);
}
