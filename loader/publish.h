/*
 * loader/publish.h - publish snapshots, keep the last N, roll back.
 *
 * \file
 * A snapshot is written from the feed state into
 * STATE_DIR/snapshots/snapshot-SERIAL.mdb (the writer's temporary file +
 * fsync + rename + directory fsync), then put in force at the configured
 * snapshot path by a hard link to a temporary name and rename() over the
 * live path (a copy when the two are on different file systems), then the
 * directory is synced.  A crash at any step leaves the previous snapshot
 * in force.  Each snapshot's serial is the previous one's plus one, and
 * its changed set is computed against the snapshot in force, so the
 * module can expire only what changed.
 */
#ifndef ICPGUARD_LOADER_PUBLISH_H
#define ICPGUARD_LOADER_PUBLISH_H
#include <stddef.h>
#include <stdint.h>
#include "loader/conf.h"
#include "loader/state.h"

/** the outcome of one publish */
struct publish_result {
	/** identity of the new snapshot */
	struct ig_snapshot_info info;
	/** records written */
	uint64_t records;
	/** wall time, seconds */
	double seconds;
	/** 1: a delta snapshot was published (info is its identity,
	 * records its names); 0: a whole snapshot */
	int delta;
	/** a whole snapshot though delta-snapshot is set: why ("" none) */
	char fold[256];
	/** a whole snapshot: seconds reading the state and writing the
	 * records, and comparing with the snapshot in force */
	double copy_s, diff_s;
	/** a whole snapshot: the writer's phases */
	struct ig_publish_times times;
	/** filings a prewrite had written already (not copied), 0 none */
	uint64_t prewritten;
};

struct prewrite;

/**
 * Write a snapshot from the state and put it in force.  With
 * delta-snapshot set, when only filings and blacklist deltas (at most
 * delta-max-records names) came since the snapshot in force, a delta
 * snapshot over it is published at delta-snapshot instead; otherwise the
 * whole snapshot (a fold), then an empty delta over it.  Loader thread.
 * @param pre: a prewrite of the full filings feed applied (NULL none);
 *	loader_publish owns it from here: used when it holds the state's
 *	filings serial and the serial chosen now, else dropped.
 * @return 1, or 0 with err set (the snapshot in force is unchanged).
 */
int loader_publish(struct loader_state* st, const struct loader_cfg* cfg,
	struct prewrite* pre, struct publish_result* out, char* err,
	size_t errlen);

/**
 * The serial and kept path the next whole snapshot gets, as
 * loader_publish chooses them (makes the snapshots directory).
 * Loader thread.
 * @return the serial, or 0 with err set.
 */
uint64_t loader_next_snapshot(const struct loader_cfg* cfg, char* path,
	size_t pathlen, char* err, size_t errlen);

/**
 * 1 when the snapshot in force does not carry the feed serials of the
 * state (never published, or a crash came between applying a feed and
 * publishing it), and there is something to publish.
 */
int loader_needs_publish(struct loader_state* st,
	const struct loader_cfg* cfg);

/**
 * Put the newest kept snapshot older than the one in force back in
 * force (by rename, like a publish).
 * @param msg: what was done, or why not.
 * @return 1/0.
 */
int loader_rollback(const struct loader_cfg* cfg, char* msg, size_t msglen);

/** Remove what a crash may have left: temporaries (downloads,
 * snapshots) and kept snapshots beyond keep-snapshots.  At start, before
 * the event loop. */
void loader_cleanup(const struct loader_cfg* cfg);

#endif /* ICPGUARD_LOADER_PUBLISH_H */
