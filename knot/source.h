/*
 * knot/source.h - the snapshots the Knot module reads, kept in force by a
 * watch thread.
 *
 * \file
 * Knot DNS opens a zone module once per zone (and again at each `knotc
 * reload`), so a provider with thousands of zones would open the snapshot
 * thousands of times.  The module instances therefore share one source per
 * pair of snapshot paths: attach finds or opens it (reference counted),
 * detach lets go, and the last detach stops its watch thread and drops the
 * snapshots.
 *
 * The watch thread looks at the files every poll interval (the order
 * snapshot first, so a takedown never waits for a large main snapshot's
 * verification; the delta snapshot last, so that a delta over a main
 * snapshot just taken follows it at once).  A delta snapshot is in force
 * only over the main snapshot it names (ig_snapshot_delta_over): one that
 * names another is held back until that main snapshot is in force, and a
 * main swap drops a delta that does not lie over the new one in the same
 * generation, so no query reads a delta over the wrong base.  A file with a new identity (device, inode, mtime, size)
 * is verified whole (ig_snapshot_open_verified: seal, SHA-256, LMDB's last
 * page) and swapped in; a bad one is refused with a log line naming the
 * file and the reason, once per file, while the snapshot in force keeps
 * serving.
 *
 * Readers are Knot's worker threads: each has its own views (indexed by
 * knotd's thread id, one LMDB read transaction per slot), renewed at its
 * next query after a swap.  A worker that is not given a thread id inside
 * the range known at attach uses views begun and ended around its query.
 */
#ifndef ICPGUARD_KNOT_SOURCE_H
#define ICPGUARD_KNOT_SOURCE_H
#include <knot/module.h>
#include "lib/snapshot.h"
#include "knot/audit.h"

/** what a source is opened from */
struct ig_knot_source_cfg {
	/** the main snapshot file */
	const char* snapshot;
	/** the order snapshot file, "" for none */
	const char* orders;
	/** the delta snapshot file, "" for none (docs/snapshot.md, "The
	 * delta layer"): in force only over the main snapshot it names */
	const char* delta;
	/** ms between checks of the files */
	int poll_ms;
	/** the counters in Prometheus text, written by the watch thread
	 * once a second (common/stats_text.h); "" for none.  One file per
	 * source: the first instance to attach names it */
	const char* stats_file;
	/** the dnstap audit writer's keys (knot/audit.h); part of what
	 * names a source, like the paths: zones naming another collector
	 * get a source (and a connection) of their own */
	const struct ig_knot_audit_cfg* audit;
};

/** the snapshots a query reads, from ig_knot_source_read */
struct ig_knot_read {
	/** the view on the main snapshot, NULL when none is in force */
	struct ig_view* main;
	/** the view on the order snapshot, NULL when none */
	struct ig_view* urgent;
	/** the view on the delta snapshot over the main one, NULL when
	 * none is in force or it holds no name (ig_policy_opts.delta) */
	struct ig_view* delta;
	/** views begun for this query only (not owned by a thread) */
	struct ig_view tmp[3];
	/** 1 when tmp is in use */
	int temporary;
	/** the generation of the views (a swap changes it); 0 for views
	 * begun for this query only */
	unsigned long gen;
	/** the calling worker's verdict memo, NULL for such a worker */
	struct ig_knot_memo* memo;
};

/**
 * What BEGIN decided for a query that passed it, kept for its ANSWER stage
 * on the same worker (knot/icpguard.c): the answer stage then needs no
 * second walk of the snapshots when the answer adds nothing the verdict
 * reads.  One per worker thread, owned by the source; only that worker
 * reads or writes it.
 */
struct ig_knot_memo {
	/** the query it belongs to; NULL: none */
	const void* qdata;
	/** the generation of the views BEGIN decided on */
	unsigned long gen;
	/** IG_REASON_FILED, IG_REASON_EXEMPT or IG_REASON_PENDING */
	int reason;
};

struct ig_knot_source;

/**
 * Find the source of these paths or open it (the first attach opens the
 * snapshots at once, so the first query is decided on them, and starts the
 * watch thread).  A missing or bad main snapshot is no failure: the source
 * then has none (ig_knot_source_read gives main NULL) until the watch
 * thread finds a good one; the reason is logged.
 * @param cfg: the paths (copied).
 * @param mod: the attaching module instance; logging goes through one of
 *	the attached instances.
 * @return the source with one reference for mod, or NULL when memory or a
 *	thread could not be had (logged).  Called by knotd's loading thread.
 */
struct ig_knot_source* ig_knot_source_attach(
	const struct ig_knot_source_cfg* cfg, knotd_mod_t* mod);

/**
 * Let go of a source; mod is off the list of instances that log at once
 * (knotd has freed its zone's name by then).  The last detach stops the
 * watch thread, stops the audit writer (its queued records reach the
 * collector; its stop line goes to syslog, no instance being left to log
 * through), writes the final counts to the stats file, ends every
 * thread's views and drops the snapshots.  Called by knotd's unloading
 * thread, when no worker uses mod.
 */
void ig_knot_source_detach(struct ig_knot_source* src, knotd_mod_t* mod);

/**
 * The views of the calling worker, renewed when a snapshot was swapped in
 * since its last query.  The views belong to the calling thread and stay
 * valid until ig_knot_source_done.
 * @param thread_id: knotd's thread id of the caller (qdata->params).
 * @param rd: out: the views.
 * @return 1, or 0 when a read could not begin on a snapshot in force
 *	(logged; rd->main is then NULL).
 */
int ig_knot_source_read(struct ig_knot_source* src, unsigned thread_id,
	struct ig_knot_read* rd);

/** End what ig_knot_source_read began for this query only. */
void ig_knot_source_done(struct ig_knot_read* rd);

/** Count a verdict taken on this source's snapshots (for its stats file;
 * any thread, lock-free). */
void ig_knot_source_count_verdict(struct ig_knot_source* src, int reason);

/** The source's dnstap audit writer, NULL when audit is off.  Valid while
 * the caller's instance is attached; any thread. */
struct ig_knot_audit* ig_knot_source_audit(struct ig_knot_source* src);

/** Counters: swaps and refused files so far (any thread). */
void ig_knot_source_counts(struct ig_knot_source* src, unsigned long* swaps,
	unsigned long* refused);

#endif /* ICPGUARD_KNOT_SOURCE_H */
