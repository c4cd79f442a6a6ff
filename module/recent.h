/*
 * module/recent.h - the recent client queries of a domain, so that a
 * takedown's expiry reaches their cached answers first.
 *
 * \file
 * A takedown must reach the cached answers of the ordered names before
 * anything else.  The expiry's walk over the message cache finds them,
 * but its time grows with the cache (tens of milliseconds at a few hundred
 * thousand entries, docs/benchmarks.md).  So every client query the
 * module decides is noted (its name, type and flags) under its domain,
 * the name's last two labels; after an order or delta snapshot's swap the
 * watch thread looks up the cached answers of the queries noted for each
 * changed name's domain before it walks the cache.
 *
 * The table is lossy and fixed in size (4 MB): a bucket keeps the last
 * IG_RECENT_WAYS queries noted for the domains that fall in it, a record
 * is written word by word with relaxed atomics and may be read half
 * overwritten, and its name is checked before it is used.  A record only
 * says where to look; what is expired is decided there as in the walk,
 * and the walk follows in any case.  So a record lost, mixed or stale
 * costs time, never an answer.  The worker's cost is a few dozen
 * instructions: a word-at-a-time hash of the last two labels, case folded
 * by setting bit 5 of every byte (a few domains share a bucket: harmless),
 * and the record's eight words (names longer than IG_RECENT_NAME are not
 * noted: the walk finds them).
 *
 * Thread rules: ig_recent_note is called by worker threads at once and
 * takes no lock; ig_recent_get by the watch thread; init and free by
 * Unbound's init and deinit.
 */
#ifndef ICPGUARD_RECENT_H
#define ICPGUARD_RECENT_H
#include <stddef.h>
#include <stdint.h>

/** buckets (a power of two), records per bucket, name bytes per record */
#define IG_RECENT_BUCKETS 16384
#define IG_RECENT_WAYS 4
#define IG_RECENT_NAME 56

/** one noted query, eight words */
struct ig_recent_rec {
	/** the wire name, zero padded (IG_RECENT_NAME bytes) */
	uint64_t name[IG_RECENT_NAME / 8];
	/** qtype (bits 0-15), qclass (16-31), query flags (32-47), the
	 * name's length (48-55); 0: empty */
	uint64_t meta;
};

/** one bucket */
struct ig_recent_bucket {
	/** the next record to write */
	uint32_t next;
	uint32_t pad;
	struct ig_recent_rec rec[IG_RECENT_WAYS];
};

/** the table */
struct ig_recent {
	struct ig_recent_bucket* bucket;
};

/** a noted query, as read back */
struct ig_recent_query {
	uint8_t qname[IG_RECENT_NAME];
	size_t qname_len;
	uint16_t qtype, qclass, flags;
};

/** Allocate the table.  @return 0 when out of memory. */
int ig_recent_init(struct ig_recent* r);

/** Free it (NULL table: nothing). */
void ig_recent_free(struct ig_recent* r);

/**
 * The domain hash of a wire name (uncompressed): its last two labels, or
 * its one label; 0 for the root.  Any thread.
 */
uint64_t ig_recent_wire_domain(const uint8_t* wire);

/**
 * The domain hash of a name key (lib/name.h: the top-level label first),
 * the same as ig_recent_wire_domain of the name.  Any thread.
 * @return the hash, or 0 when the key has fewer than two labels or is
 *	malformed (such a name's queries are under many domains: the walk
 *	finds their answers).
 */
uint64_t ig_recent_key_domain(const uint8_t* key, size_t len);

/**
 * Note a client query.  Worker threads, no lock.
 * @param qname: wire name, qname_len its length.
 */
void ig_recent_note(struct ig_recent* r, const uint8_t* qname,
	size_t qname_len, uint16_t qtype, uint16_t qclass, uint16_t flags);

/**
 * The queries noted for the bucket of domain (some of other domains);
 * records that are not a whole, valid name are left out.  Watch thread.
 * @param out: IG_RECENT_WAYS entries.
 * @return how many were set.
 */
int ig_recent_get(struct ig_recent* r, uint64_t domain,
	struct ig_recent_query* out);

#endif /* ICPGUARD_RECENT_H */
