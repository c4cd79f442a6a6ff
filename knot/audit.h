/*
 * knot/audit.h - dnstap audit records from the Knot module.
 *
 * \file
 * The writer is common/audit.h's, the one the Unbound module uses; this is
 * the Knot side.  A verdict is taken in the BEGIN or ANSWER hook, but the
 * answer Knot sends is complete (OPT with the EDE, TSIG) only at the END
 * stage: so a verdict is kept in its worker's pending slot
 * (ig_knot_audit_verdict) and the END hook (ig_knot_audit_end) writes the
 * record with the answer as sent: an AUTH_RESPONSE message with the zone,
 * the client, the Policy and the module's summary (docs/audit.md).
 *
 * One writer per snapshot source (knot/source.h): the zones that share the
 * source share its connection to the collector.
 *
 * Thread rules: start and stop run in knotd's loading thread; the other
 * functions in worker threads, each touching only the slot of its own
 * knotd thread id (a thread id beyond the count known at start gets no
 * record).
 */
#ifndef ICPGUARD_KNOT_AUDIT_H
#define ICPGUARD_KNOT_AUDIT_H
#include <knot/module.h>
#include "common/audit.h"
#include "lib/verdict.h"

/** the audit keys of a `mod-icpguard:` section (docs/knot.md) */
struct ig_knot_audit_cfg {
	/** audit-socket: a Unix socket path, "" for none */
	char socket_path[256];
	/** audit-tcp: the collector's address ("" for none) and port */
	char tcp_addr[64];
	int tcp_port;
	/** audit-identity, "" for the host name */
	char identity[128];
	/** audit-queue: records queued (a power of two) */
	int queue;
	/** audit-sample: the fraction of plain answers recorded */
	double sample;
};

struct ig_knot_audit;

/**
 * Start the writer of cfg when it names a collector.
 * @param nthreads: knotd's worker threads (knotd_mod_threads).
 * @param log, log_arg: the host's logger (common/host_log.h), valid until
 *	ig_knot_audit_stop returns.
 * @param out: the writer (owned by the caller, stop it with
 *	ig_knot_audit_stop), or NULL when audit is off.
 * @return 1 (also when off), 0 on failure (logged).
 */
int ig_knot_audit_start(const struct ig_knot_audit_cfg* cfg,
	unsigned nthreads, ig_host_log_fn* log, void* log_arg,
	struct ig_knot_audit** out);

/** Stop the writer and free it (NULL: nothing).  No worker may use it
 * any more.  sent, dropped (each may be NULL): the final counts, those of
 * the stop line (0 for NULL). */
void ig_knot_audit_stop(struct ig_knot_audit* ka, unsigned long* sent,
	unsigned long* dropped);

/** Records sent and dropped so far (0 for NULL).  Any thread. */
void ig_knot_audit_counts(struct ig_knot_audit* ka, unsigned long* sent,
	unsigned long* dropped);

/** A query begins: forget what the calling worker's slot holds (a
 * verdict whose END never came).  Worker thread; ka may be NULL. */
void ig_knot_audit_begin(struct ig_knot_audit* ka, knotd_qdata_t* qdata);

/**
 * The module answered this query by the policy (a policy answer, or in
 * monitor mode the zone's own answer): keep the verdict for the END hook.
 * Worker thread; ka may be NULL; v is copied.
 */
void ig_knot_audit_verdict(struct ig_knot_audit* ka, knotd_qdata_t* qdata,
	const struct ig_verdict* v, int monitor);

/**
 * END stage: write the record of the verdict kept for this query, or of a
 * sampled plain answer, with pkt as Knot sends it.  Worker thread; ka may
 * be NULL.
 */
void ig_knot_audit_end(struct ig_knot_audit* ka, knot_pkt_t* pkt,
	knotd_qdata_t* qdata);

#endif /* ICPGUARD_KNOT_AUDIT_H */
