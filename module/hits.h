/*
 * module/hits.h - proof of execution: per-order hit counts.
 *
 * \file
 * Every answer that a takedown order blocked (fresh or from the cache)
 * counts a hit for that order; the first one is the moment the order was
 * first enforced by this resolver.  The watch thread writes the table to
 * the `order-stats` file (JSON lines, published by rename) once a second
 * when it changed, for `icpguard order show` and `order report`.
 * Thread rules: hit is called by worker threads at once (a mutex guards
 * the table, taken only for order blocks); dump by the watch thread.
 */
#ifndef ICPGUARD_MODULE_HITS_H
#define ICPGUARD_MODULE_HITS_H
#include <pthread.h>
#include <stdint.h>

/** orders tracked at once; more are counted under "(other)" */
#define IG_HITS_MAX 4096

/** one order's counts */
struct icpguard_hit {
	/** order id, "" for a free slot */
	char id[64];
	/** first enforcement, unix ns */
	int64_t first_ns;
	/** last enforcement, unix ns */
	int64_t last_ns;
	/** hits */
	uint64_t hits;
};

/** the table */
struct icpguard_hits {
	/** guards everything below */
	pthread_mutex_t lock;
	/** open-addressing table */
	struct icpguard_hit slot[IG_HITS_MAX];
	/** changed since the last dump */
	int dirty;
};

/** Initialise (main thread). */
void icpguard_hits_init(struct icpguard_hits* h);
/** Free (main thread, after the watch thread stopped). */
void icpguard_hits_free(struct icpguard_hits* h);
/** Count a hit for order id now.  Worker threads. */
void icpguard_hits_count(struct icpguard_hits* h, const char* id);
/**
 * Write the table to path (temp file + rename) if it changed.
 * @param identity: the resolver's name, written in every line.
 * @return 1 written or nothing to do, 0 on an I/O error (logged once).
 */
int icpguard_hits_dump(struct icpguard_hits* h, const char* path,
	const char* identity);

#endif /* ICPGUARD_MODULE_HITS_H */
