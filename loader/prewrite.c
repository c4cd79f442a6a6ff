/*
 * loader/prewrite.c - the next whole snapshot, its filings written while
 * a full filings feed is stored.
 *
 * \file
 * See prewrite.h.  The loader thread fills buffers of filings that the
 * prewrite's thread writes in turn, a ring of PREWRITE_BUFS: the store
 * loop comes in bursts (a batch stored, then the next one's check), so
 * the ring lets each side run on while the other pauses; when it is full
 * the loader waits for the writer (memory stays bounded).
 */
#include "config.h"
#include "loader/prewrite.h"
#include "loader/feed.h"
#include "loader/publish.h"
#include "loader/state.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/** filings in one buffer */
#define PREWRITE_BATCH 4096
/** buffers in the ring (about 2 MiB each) */
#define PREWRITE_BUFS 8
/** the writer commits into its temporary file (and gives its mapped
 * pages back) every this many filings: its dirty pages leave the heap
 * while the state's own transaction still holds its */
#define PREWRITE_CHECKPOINT 250000

/** one filing handed over */
struct prewrite_entry {
	/** the record in the feed's map (valid until prewrite_wait) */
	const uint8_t* rec;
	/** its length */
	size_t rl;
	/** the state's key, copied */
	size_t kl;
	uint8_t key[IG_FEED_KEY_MAX];
};

struct prewrite {
	/** the writer (NULL once taken) */
	struct ig_writer* w;
	/** the snapshot's serial and kept path */
	uint64_t serial;
	char path[2100];
	/** the filings serial written (prewrite_set_filings) */
	uint64_t filings;
	/** filings written (the thread's until it stops) */
	uint64_t count;
	/** the thread */
	pthread_t thread;
	int thread_on;
	/** guards queued, stop, failed, work_n */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	/** the ring; the loader fills buf[fill_buf] (never queued) */
	struct prewrite_entry* buf[PREWRITE_BUFS];
	int fill_buf;
	size_t fill;
	/** the queue: buffers work_buf, work_buf + 1, ... (queued of them,
	 * at most PREWRITE_BUFS - 1), each with its count */
	int work_buf, queued;
	size_t work_n[PREWRITE_BUFS];
	int stop;
	/** the writer failed (err) */
	int failed;
	/** the thread decodes each record into it */
	struct ig_unpack_arena arena;
	char err[512];
};

/** the thread: write each buffer handed over until told to stop */
static void*
prewrite_run(void* arg)
{
	struct prewrite* p = arg;
	pthread_mutex_lock(&p->lock);
	for(;;) {
		struct prewrite_entry* e;
		size_t i, n;
		int failed = p->failed;
		while(!p->queued && !p->stop)
			pthread_cond_wait(&p->cond, &p->lock);
		if(!p->queued) break;
		e = p->buf[p->work_buf];
		n = p->work_n[p->work_buf];
		pthread_mutex_unlock(&p->lock);
		for(i = 0; i < n && !failed; i++) {
			if(!state_filing_to_writer(p->w, e[i].key, e[i].kl,
				e[i].rec, e[i].rl, &p->arena)) {
				failed = 1;
				break;
			}
			if(++p->count % PREWRITE_CHECKPOINT == 0) {
				if(!ig_writer_checkpoint(p->w)) failed = 1;
				ig_writer_release(p->w);
			}
		}
		pthread_mutex_lock(&p->lock);
		if(failed && !p->failed) {
			snprintf(p->err, sizeof(p->err), "%s",
				ig_writer_error(p->w));
			p->failed = 1;
		}
		p->work_buf = (p->work_buf + 1) % PREWRITE_BUFS;
		p->queued--;
		pthread_cond_broadcast(&p->cond);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

struct prewrite*
prewrite_begin(const struct loader_cfg* cfg, char* err, size_t errlen)
{
	struct prewrite* p = calloc(1, sizeof(*p));
	int i;
	for(i = 0; p && i < PREWRITE_BUFS; i++)
		if(!(p->buf[i] = malloc(PREWRITE_BATCH * sizeof(*p->buf[i]))))
			break;
	if(!p || i < PREWRITE_BUFS) {
		snprintf(err, errlen, "prewrite: out of memory");
		goto fail;
	}
	if(!(p->serial = loader_next_snapshot(cfg, p->path, sizeof(p->path),
		err, errlen)))
		goto fail;
	if(!(p->w = ig_writer_create(p->path, 0, err, errlen))) goto fail;
	ig_writer_set_sorted(p->w, 1);
	ig_unpack_arena_init(&p->arena);
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	if(pthread_create(&p->thread, NULL, prewrite_run, p) != 0) {
		snprintf(err, errlen, "prewrite: cannot start a thread");
		pthread_cond_destroy(&p->cond);
		pthread_mutex_destroy(&p->lock);
		goto fail;
	}
	p->thread_on = 1;
	return p;
fail:
	if(p) {
		ig_writer_abort(p->w);
		for(i = 0; i < PREWRITE_BUFS; i++) free(p->buf[i]);
		free(p);
	}
	return NULL;
}

/** queue the filled buffer for the thread (waiting while the ring is
 * full); @return 0 when the writer failed */
static int
hand_over(struct prewrite* p)
{
	int ok;
	pthread_mutex_lock(&p->lock);
	while(p->queued == PREWRITE_BUFS - 1)
		pthread_cond_wait(&p->cond, &p->lock);
	if((ok = !p->failed) && p->fill) {
		p->work_n[p->fill_buf] = p->fill;
		p->queued++;
		p->fill_buf = (p->fill_buf + 1) % PREWRITE_BUFS;
		pthread_cond_broadcast(&p->cond);
	}
	pthread_mutex_unlock(&p->lock);
	p->fill = 0;
	return ok;
}

int
prewrite_filing(struct prewrite* p, const uint8_t* key, size_t kl,
	const uint8_t* rec, size_t rl)
{
	struct prewrite_entry* e;
	if(!p->thread_on || kl > IG_FEED_KEY_MAX) return 0;
	e = &p->buf[p->fill_buf][p->fill++];
	e->rec = rec;
	e->rl = rl;
	e->kl = kl;
	memcpy(e->key, key, kl);
	return p->fill < PREWRITE_BATCH || hand_over(p);
}

int
prewrite_wait(struct prewrite* p)
{
	if(p->thread_on) {
		(void)hand_over(p);
		pthread_mutex_lock(&p->lock);
		while(p->queued) pthread_cond_wait(&p->cond, &p->lock);
		p->stop = 1;
		pthread_cond_broadcast(&p->cond);
		pthread_mutex_unlock(&p->lock);
		pthread_join(p->thread, NULL);
		pthread_cond_destroy(&p->cond);
		pthread_mutex_destroy(&p->lock);
		p->thread_on = 0;
	}
	return !p->failed;
}

void
prewrite_set_filings(struct prewrite* p, uint64_t serial)
{
	p->filings = serial;
}

uint64_t
prewrite_filings(const struct prewrite* p)
{
	return p->filings;
}

uint64_t
prewrite_serial(const struct prewrite* p)
{
	return p->serial;
}

const char*
prewrite_path(const struct prewrite* p)
{
	return p->path;
}

uint64_t
prewrite_count(const struct prewrite* p)
{
	return p->count;
}

struct ig_writer*
prewrite_take_writer(struct prewrite* p)
{
	struct ig_writer* w = p->w;
	p->w = NULL;
	return w;
}

const char*
prewrite_error(const struct prewrite* p)
{
	return p->err;
}

void
prewrite_abort(struct prewrite* p)
{
	int i;
	if(!p) return;
	(void)prewrite_wait(p);
	ig_writer_abort(p->w);
	ig_unpack_arena_free(&p->arena);
	for(i = 0; i < PREWRITE_BUFS; i++) free(p->buf[i]);
	free(p);
}
