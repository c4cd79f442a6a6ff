/*
 * module/hits.c - proof of execution: per-order hit counts.
 *
 * \file
 * See hits.h.
 */
#include "config.h"
#include "module/hits.h"
#include "util/log.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void
icpguard_hits_init(struct icpguard_hits* h)
{
	memset(h->slot, 0, sizeof(h->slot));
	h->dirty = 0;
	pthread_mutex_init(&h->lock, NULL);
}

void
icpguard_hits_free(struct icpguard_hits* h)
{
	pthread_mutex_destroy(&h->lock);
}

/** FNV-1a over the id */
static unsigned
hash_id(const char* id)
{
	unsigned h = 2166136261u;
	while(*id) {
		h ^= (unsigned char)*id++;
		h *= 16777619u;
	}
	return h;
}

void
icpguard_hits_count(struct icpguard_hits* h, const char* id)
{
	struct timespec ts;
	int64_t now;
	unsigned i, n;
	if(!id || !*id) id = "(unknown)";
	clock_gettime(CLOCK_REALTIME, &ts);
	now = (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
	pthread_mutex_lock(&h->lock);
	for(n = 0, i = hash_id(id) % IG_HITS_MAX; n < IG_HITS_MAX;
		n++, i = (i + 1) % IG_HITS_MAX) {
		struct icpguard_hit* s = &h->slot[i];
		if(s->id[0] == 0) {
			snprintf(s->id, sizeof(s->id), "%s", id);
			s->first_ns = now;
		}
		if(strcmp(s->id, id) == 0) {
			s->hits++;
			s->last_ns = now;
			h->dirty = 1;
			break;
		}
	}
	pthread_mutex_unlock(&h->lock);
}

int
icpguard_hits_dump(struct icpguard_hits* h, const char* path,
	const char* identity)
{
	static struct icpguard_hit copy[IG_HITS_MAX];
	char tmp[1100];
	FILE* out;
	int i, dirty;
	pthread_mutex_lock(&h->lock);
	dirty = h->dirty;
	if(dirty) memcpy(copy, h->slot, sizeof(copy));
	h->dirty = 0;
	pthread_mutex_unlock(&h->lock);
	if(!dirty) return 1;
	snprintf(tmp, sizeof(tmp), "%s~", path);
	if(!(out = fopen(tmp, "w"))) {
		log_err("icpguard: cannot write %s: %s", tmp, strerror(errno));
		return 0;
	}
	for(i = 0; i < IG_HITS_MAX; i++) {
		if(!copy[i].id[0]) continue;
		fprintf(out, "{\"order\":\"%s\",\"resolver\":\"%s\","
			"\"first_enforced_ns\":%lld,\"last_enforced_ns\":%lld,"
			"\"hits\":%llu}\n", copy[i].id, identity,
			(long long)copy[i].first_ns, (long long)copy[i].last_ns,
			(unsigned long long)copy[i].hits);
	}
	if(fflush(out) != 0 || fsync(fileno(out)) != 0) {
		fclose(out);
		unlink(tmp);
		return 0;
	}
	fclose(out);
	if(rename(tmp, path) != 0) {
		log_err("icpguard: cannot rename %s: %s", tmp, strerror(errno));
		unlink(tmp);
		return 0;
	}
	return 1;
}
