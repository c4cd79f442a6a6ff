/*
 * loader/growing.c - a file being written by one thread and read by
 * another as it grows.
 *
 * \file
 * See growing.h.  The writer signals only when a waiting reader's mark is
 * reached (a download adds a few kilobytes at a time; the reader asks for
 * megabytes), so the two threads meet a few hundred times per gigabyte.
 */
#include "config.h"
#include "loader/growing.h"
#include <string.h>

void
growing_init(struct growing* g)
{
	memset(g, 0, sizeof(*g));
	pthread_mutex_init(&g->lock, NULL);
	pthread_cond_init(&g->cond, NULL);
}

void
growing_destroy(struct growing* g)
{
	pthread_cond_destroy(&g->cond);
	pthread_mutex_destroy(&g->lock);
}

void
growing_add(struct growing* g, uint64_t n)
{
	pthread_mutex_lock(&g->lock);
	g->written += n;
	if(g->want && g->written >= g->want) {
		g->want = 0;
		pthread_cond_broadcast(&g->cond);
	}
	pthread_mutex_unlock(&g->lock);
}

void
growing_end(struct growing* g, int ok, uint64_t size,
	const uint8_t sha256[32])
{
	pthread_mutex_lock(&g->lock);
	if(g->state == GROWING_RUNNING) {
		g->state = ok ? GROWING_COMPLETE : GROWING_FAILED;
		if(ok) {
			g->size = size;
			memcpy(g->sha256, sha256, sizeof(g->sha256));
		}
		g->want = 0;
		pthread_cond_broadcast(&g->cond);
	}
	pthread_mutex_unlock(&g->lock);
}

int
growing_wait(struct growing* g, uint64_t upto, uint64_t* written)
{
	int state;
	pthread_mutex_lock(&g->lock);
	while(g->state == GROWING_RUNNING && g->written < upto) {
		g->want = upto;
		pthread_cond_wait(&g->cond, &g->lock);
	}
	state = g->state;
	*written = g->written;
	pthread_mutex_unlock(&g->lock);
	return state;
}
