/*
 * module/recent.h - where the recent answers of a domain are in the
 * message cache, so that a takedown's expiry reaches them first.
 *
 * \file
 * A takedown must reach the cached answers of the ordered names before
 * anything else.  The expiry's walk over the message cache finds them,
 * but its time grows with the cache (tens of milliseconds at a few hundred
 * thousand entries, docs/benchmarks.md).  So every query the module
 * decides notes the message-cache hash of its answer under its domain
 * (the name's last two labels); after an order snapshot's swap, the
 * watch thread looks at the bins those hashes name, for each changed
 * name's domain, before it walks the cache.  The table is lossy and fixed
 * in size: a bucket keeps the last IG_RECENT_WAYS hashes noted for the
 * domains that fall in it, and a hash says only which bin to look in;
 * what is expired is decided there as in the walk, and the walk follows
 * in any case.  So a hash lost, overwritten or stale costs time, never
 * an answer.
 *
 * Thread rules: ig_recent_note is called by worker threads at once and
 * takes no lock (relaxed atomics); ig_recent_hashes by the watch thread;
 * init and free by Unbound's init and deinit.
 */
#ifndef ICPGUARD_RECENT_H
#define ICPGUARD_RECENT_H
#include <stddef.h>
#include <stdint.h>

/** buckets (a power of two) and hashes kept per bucket */
#define IG_RECENT_BUCKETS 65536
#define IG_RECENT_WAYS 8

/** one bucket: the next way to write, the hashes (0: none) */
struct ig_recent_bucket {
	uint32_t next;
	uint32_t hash[IG_RECENT_WAYS];
};

/** the table (2.3 MB) */
struct ig_recent {
	struct ig_recent_bucket* bucket;
};

/** Allocate the table.  @return 0 when out of memory. */
int ig_recent_init(struct ig_recent* r);

/** Free it (NULL table: nothing). */
void ig_recent_free(struct ig_recent* r);

/**
 * The domain hash of a wire name (uncompressed, case ignored): its last
 * two labels, or its one label; 0 for the root.  Any thread.
 */
uint64_t ig_recent_wire_domain(const uint8_t* wire);

/**
 * The domain hash of a name key (lib/name.h: the top-level label first),
 * the same as ig_recent_wire_domain of the name.  Any thread.
 * @return the hash, or 0 when the key has fewer than two labels or is
 *	malformed (such a name's answers are under many domains: the walk
 *	finds them).
 */
uint64_t ig_recent_key_domain(const uint8_t* key, size_t len);

/**
 * Note that the answer to qname is in the message cache under
 * cache_hash.  Worker threads, no lock.
 */
void ig_recent_note(struct ig_recent* r, const uint8_t* qname,
	uint32_t cache_hash);

/**
 * The hashes noted for the bucket of domain (some of other domains).
 * Watch thread.
 * @param out: IG_RECENT_WAYS entries.
 * @return how many were set.
 */
int ig_recent_hashes(struct ig_recent* r, uint64_t domain, uint32_t* out);

#endif /* ICPGUARD_RECENT_H */
