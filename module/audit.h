/*
 * module/audit.h - dnstap audit records from the Unbound module.
 *
 * \file
 * The writer is common/audit.h's, shared with the Knot module; this is the
 * Unbound side: its configuration, its logger, and a record made from
 * Unbound's query, reply and client (CLIENT_RESPONSE messages).
 * Thread rules: start runs in Unbound's main thread; record may be called
 * from any worker thread at once.
 */
#ifndef ICPGUARD_MODULE_AUDIT_H
#define ICPGUARD_MODULE_AUDIT_H
#include "common/audit.h"

struct icpguard_env;
struct query_info;
struct reply_info;
struct comm_reply;
struct regional;

/**
 * Start ie->audit from the configuration (audit-socket / audit-tcp,
 * audit-identity, audit-queue, audit-sample, policy-ttl).  Stop it with
 * ig_audit_stop(&ie->audit).
 * @return 1 (also when audit is off), 0 on failure (logged).
 */
int icpguard_audit_start(struct icpguard_env* ie);

/**
 * Write one record (when ig_audit_room says there is room).  Never
 * blocks; encodes the answer into region (unless the writer rebuilds it
 * from the policy SOA), and the writer copies what it keeps.
 * @param qinfo: the query.
 * @param rep: the answer sent (or NULL: the query is recorded).
 * @param cached: 1 when rep comes from the cache (absolute TTLs).
 * @param repinfo: the client (or NULL).
 * @param pol: the policy part (NULL, or pol->texts NULL: a sampled plain
 *	answer).
 */
void icpguard_audit_record(struct icpguard_env* ie, struct query_info* qinfo,
	struct reply_info* rep, int cached, struct comm_reply* repinfo,
	const struct ig_audit_policy* pol, struct regional* region);

#endif /* ICPGUARD_MODULE_AUDIT_H */
