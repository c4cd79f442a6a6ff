/*
 * loader/prewrite.h - the next whole snapshot, its filings written while
 * a full filings feed is stored.
 *
 * \file
 * A full filings feed is most of a whole snapshot: ten million records
 * stored into the state, then read back and written into the snapshot by
 * the publish.  A prewrite writes each filing into the next snapshot's
 * file as the state stores it, on a thread of its own (the second core),
 * so the publish copies only the other feeds.  The state stays the
 * durable record: the prewrite's file is a temporary until the publish
 * seals and renames it, a crash leaves a temporary that the next start
 * removes (loader_cleanup) and a state that the next start publishes by
 * copying (loader_needs_publish), and a prewrite that failed or no
 * longer matches the state is dropped for the copy.  docs/snapshot.md,
 * "Full pulls: filings written once".
 *
 * Thread rules: one loader thread calls every function here; between
 * prewrite_begin and prewrite_wait the writer belongs to the prewrite's
 * thread, after prewrite_wait to the caller.
 */
#ifndef ICPGUARD_LOADER_PREWRITE_H
#define ICPGUARD_LOADER_PREWRITE_H
#include <stddef.h>
#include <stdint.h>
#include "lib/snapshot.h"
#include "loader/conf.h"

struct prewrite;

/**
 * Begin the next whole snapshot (its serial and kept path as the publish
 * would choose them now) and start its thread.
 * @return the prewrite (the caller owns it: prewrite_abort, or give it
 *	to loader_publish), or NULL with err set.
 */
struct prewrite* prewrite_begin(const struct loader_cfg* cfg, char* err,
	size_t errlen);

/**
 * Hand over one filing as the state stored it.  The key is copied; the
 * record's bytes must stay valid until prewrite_wait returns (they are
 * in the feed's map).  The prewrite's thread decodes the record itself,
 * into an arena of its own: a message decoded on one thread and freed on
 * another made glibc's heap the bottleneck (measured: records 4.4-4.7 s
 * against 2.7-2.8 s at 2 M filings).
 * @return 1, or 0 once the writer failed (hand nothing more).
 */
int prewrite_filing(struct prewrite* p, const uint8_t* key, size_t kl,
	const uint8_t* rec, size_t rl);

/**
 * Wait until every filing handed over is written and stop the thread;
 * the writer is the caller's from now on.  Again: the same answer.
 * @return 1, or 0 when the writer failed (prewrite_error).
 */
int prewrite_wait(struct prewrite* p);

/** Remember the filings serial the prewrite holds (the feed applied). */
void prewrite_set_filings(struct prewrite* p, uint64_t serial);

/** The filings serial it holds, 0 before prewrite_set_filings. */
uint64_t prewrite_filings(const struct prewrite* p);

/** Its snapshot serial (prewrite_begin's choice). */
uint64_t prewrite_serial(const struct prewrite* p);

/** Its kept path (prewrite_begin's choice); owned by the prewrite. */
const char* prewrite_path(const struct prewrite* p);

/** Filings written (after prewrite_wait). */
uint64_t prewrite_count(const struct prewrite* p);

/**
 * The writer, for the publish to finish (after prewrite_wait).  The
 * prewrite then no longer owns it: prewrite_abort frees only the rest.
 */
struct ig_writer* prewrite_take_writer(struct prewrite* p);

/** Why the writer failed (owned by the prewrite). */
const char* prewrite_error(const struct prewrite* p);

/** Stop the thread, remove the temporary file (unless the writer was
 * taken) and free.  NULL: nothing. */
void prewrite_abort(struct prewrite* p);

#endif /* ICPGUARD_LOADER_PREWRITE_H */
