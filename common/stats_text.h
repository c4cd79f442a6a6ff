/*
 * common/stats_text.h - the modules' counters as Prometheus text.
 *
 * \file
 * The Unbound module (module/watch.c) and the Knot module (knot/source.c)
 * write the same metrics in the same format to their `stats-file`, once a
 * second from their watch threads: a temporary file renamed over the
 * path, so a scraper (node_exporter's textfile collector) never reads half
 * a file.  Metric names are listed in docs/module.md and used by
 * contrib/grafana/icpguard.json.
 */
#ifndef ICPGUARD_STATS_TEXT_H
#define ICPGUARD_STATS_TEXT_H
#include <stdio.h>
#include "lib/snapshot.h"
#include "lib/verdict.h"

/** what both modules count */
struct ig_stats_common {
	/** verdicts by reason (enum ig_reason) */
	unsigned long verdicts[IG_REASON_COUNT];
	/** the main and the order snapshot in force (NULL: none) */
	const struct ig_snapshot_info* slot[2];
	/** snapshots put in force, refused */
	unsigned long swaps, refused;
	/** dnstap audit records sent and dropped (common/audit.h) */
	unsigned long audit_sent, audit_dropped;
};

/**
 * Open the temporary file beside path for a dump.
 * @param tmp, tmplen: receives the temporary file's name.
 * @return the stream, or NULL (nothing is written then).  The caller's
 *	thread only; finish with ig_stats_end.
 */
FILE* ig_stats_begin(const char* path, char* tmp, size_t tmplen);

/** Write the metrics both modules have (icpguard_verdicts_total,
 * icpguard_snapshot_serial and _created_seconds, _swaps_total,
 * _refused_total, icpguard_audit_sent_total and _dropped_total).  Any
 * thread; out belongs to the caller. */
void ig_stats_common_write(FILE* out, const struct ig_stats_common* c);

/** Write one counter: "# TYPE NAME counter" and "NAME VALUE". */
void ig_stats_counter(FILE* out, const char* name, unsigned long value);

/** Close out and rename tmp over path (removed on failure).
 * @return 1, or 0 when the file could not be written. */
int ig_stats_end(FILE* out, const char* tmp, const char* path);

#endif /* ICPGUARD_STATS_TEXT_H */
