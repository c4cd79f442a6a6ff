/*
 * module/icpguard.h - the icpguard Unbound module.
 *
 * \file
 * How the module sits in Unbound (module-config "dynlib validator
 * iterator"; the dynlib wrapper loads icpguard.so and calls the six entry
 * points below):
 *
 *  - init reads the module's own configuration (module/conf.h), opens
 *    the snapshot, starts the watch thread that swaps in new snapshots and
 *    registers the reply callbacks that attach Extended DNS Errors.
 *  - operate, event new (or pass, for states entered from below): the
 *    verdict that needs no answer (order, blacklist, scope all) is taken
 *    at once; a block is answered here and nothing goes upstream.
 *    Otherwise the module sets no_cache_store, so the iterator and
 *    validator do not put the raw answer in the message cache, and passes
 *    the query on.
 *  - operate, event moddone: the final answer (CNAME/DNAME chain, A, AAAA,
 *    SVCB/HTTPS hints) is decided on; a block replaces return_msg with a
 *    policy answer.  Either way the module stores the answer it returns
 *    in the message cache itself, so cache hits, which Unbound serves
 *    without calling any module, get exactly what the module decided.
 *    States the module never saw at "new" (iterator sub-queries for
 *    name-server addresses) stored their own answers: when such a name is
 *    blocked its message-cache entry is removed so that a client asking
 *    for it comes through the module.
 *  - the watch thread (module/watch.c) polls the snapshot file; a new,
 *    valid file is swapped in (worker threads pick it up at their next
 *    query) and the message-cache entries whose verdict may change are
 *    expired.  A bad file is refused with a log line; the old one stays.
 *
 * Threads: operate and the callbacks run in worker threads; each worker
 * reads through its own LMDB view (thread-local).  The watch thread only
 * swaps the shared snapshot pointer (under a mutex) and traverses the
 * message cache with Unbound's own locking.
 */
#ifndef ICPGUARD_MODULE_H
#define ICPGUARD_MODULE_H
#include <pthread.h>
#include <stdatomic.h>
#include "lib/snapshot.h"
#include "lib/verdict.h"
#include "module/conf.h"
#include "module/audit.h"
#include "module/hits.h"

struct module_env;
struct module_qstate;
struct reply_info;
struct dns_msg;
struct query_info;

/** counters, read by get_mem's log and the status line */
struct icpguard_stats {
	/** verdicts taken, per reason */
	atomic_ulong verdicts[IG_REASON_COUNT];
	/** snapshot swaps */
	atomic_ulong swaps;
	/** snapshots refused */
	atomic_ulong refused;
	/** message-cache entries expired after swaps */
	atomic_ulong expired;
};

/** the snapshots the module reads */
enum icpguard_slot_kind {
	/** the main snapshot (filings, ranges, blacklist, ...) */
	IG_SLOT_MAIN = 0,
	/** the order snapshot: small, published on its own for takedown
	 * orders and other urgent changes (optional) */
	IG_SLOT_ORDERS = 1,
	IG_SLOT_COUNT
};

/** one snapshot file the watch thread keeps in force */
struct icpguard_slot {
	/** the file ("" when the slot is not configured) */
	const char* path;
	/** the snapshot in force, NULL when none (guarded by the lock) */
	struct ig_snapshot* current;
	/** identity of the file behind current: device */
	dev_t dev;
	/** inode */
	ino_t ino;
	/** mtime (ns) */
	long long mtime_ns;
	/** size */
	long long size;
};

/** module-wide state, one per loaded instance */
struct icpguard_env {
	/** configuration */
	struct icpguard_cfg cfg;
	/** instance id: thread-local views of another instance are stale */
	uint64_t instance;
	/** the Unbound environment the module was started with */
	struct module_env* env;
	/** module id */
	int id;
	/** guards the slots' current pointers and the view list */
	pthread_mutex_t lock;
	/** the snapshots in force */
	struct icpguard_slot slot[IG_SLOT_COUNT];
	/** bumped on every swap */
	atomic_ulong generation;
	/** every thread's views, for cleanup at deinit */
	struct icpguard_view* views;
	/** the watch thread */
	pthread_t watcher;
	/** watch thread started */
	int watching;
	/** tells the watch thread to stop */
	atomic_int stopping;
	/** counters */
	struct icpguard_stats stats;
	/** the dnstap audit writer */
	struct icpguard_audit audit;
	/** per-order hit counts */
	struct icpguard_hits hits;
};

/** a remembered EDE for a policy SOA (per thread) */
struct icpguard_ede_memo {
	/** the SOA rdata it was made from (MNAME, RNAME, serial) */
	uint8_t key[IG_NAME_MAX * 2 + 4];
	/** its length, 0 for an empty slot */
	size_t keylen;
	/** EDE code */
	uint16_t code;
	/** EDE text */
	char text[300];
	/** order document number, "" if none */
	char doc_no[160];
	/** reason name, from the mark */
	char reason[64];
	/** order id, "" if none, from the mark */
	char id[64];
	/** reason, id and doc_no as an audit record carries them */
	struct icpguard_audit_texts audit;
	/** the snapshot an audit record names (its identity while it is in
	 * force, else the serial), as of view generation snap_gen - 1; 0:
	 * not yet known (module/icpguard.c, audit_snapshot) */
	unsigned long snap_gen;
	char snapshot[40];
	size_t snapshot_len;
};

/** EDE memo slots per thread */
#define IG_EDE_MEMO 32

/** a worker thread's read views */
struct icpguard_view {
	/** recent EDEs: cache hits of one blocked name repeat the same one */
	struct icpguard_ede_memo memo[IG_EDE_MEMO];
	/** one view per slot; view[i].snap is NULL when there is none */
	struct ig_view view[IG_SLOT_COUNT];
	/** generation the views were opened at */
	unsigned long generation;
	/** next in the list of views */
	struct icpguard_view* next;
};

/* module/watch.c */

/**
 * Open the configured snapshot at start.
 * @return 1, or 0 (with a log line) when it is missing or bad and the
 *	configuration does not allow failing open.
 */
int icpguard_snapshot_start(struct icpguard_env* ie);

/** Start the watch thread. @return 1/0. */
int icpguard_watch_start(struct icpguard_env* ie);

/** Stop the watch thread, end every view, drop the snapshot. */
void icpguard_watch_stop(struct icpguard_env* ie);

/**
 * The calling thread's view on the current main snapshot, opened or
 * renewed as needed.  Belongs to the calling thread; valid until its next
 * call.
 * @param urgent: if non-NULL, set to the view on the order snapshot, or
 *	NULL when there is none.
 * @return the view, or NULL when there is no main snapshot, or when a read
 *	on one of the snapshots could not begin (logged; tried again at the
 *	next call).
 */
struct ig_view* icpguard_view(struct icpguard_env* ie, struct ig_view** urgent);

/**
 * The calling thread's views struct as it is (NULL if the thread has none
 * yet); for the EDE memo.  Worker threads only.
 */
struct icpguard_view* icpguard_thread_views(struct icpguard_env* ie);

/* module/answer.c */

/**
 * Collect the facts of a final answer: the alias chain from the QNAME
 * (CNAME, and DNAME without a synthesized CNAME) and the addresses (A,
 * AAAA, SVCB/HTTPS ipv4hint/ipv6hint) in the answer section.
 * @param addrs: caller's array of IG_ADDR_MAX entries.
 * @param names: caller's buffer for DNAME-synthesized names.
 */
#define IG_ADDR_MAX 64
void icpguard_facts(struct query_info* qinfo, struct reply_info* rep,
	struct ig_facts* f, struct ig_addr* addrs,
	uint8_t names[][IG_NAME_MAX]);

/**
 * Whether the answer section holds a CNAME or DNAME rrset (cheaper than
 * icpguard_facts when only that matters).  Thread: the query's worker.
 */
int icpguard_answer_has_alias(const struct reply_info* rep);

/**
 * Build the policy answer for a block verdict in the query's region.
 * @return the message, or NULL on allocation failure.
 */
struct dns_msg* icpguard_policy_msg(struct icpguard_env* ie,
	struct module_qstate* qstate, const struct ig_verdict* v);

/** what the SOA of a policy answer records */
struct icpguard_mark {
	/** the matched name, wire (the SOA MNAME, in the message) */
	const uint8_t* match;
	/** the SOA RNAME: REASON[.ORDER-ID].icpguard.invalid. */
	const uint8_t* rname;
	/** snapshot serial (low 32 bits) */
	uint32_t serial;
	/** the SOA rdata up to the serial: identifies the verdict */
	const uint8_t* key;
	/** its length */
	size_t keylen;
};

/**
 * Recognise a policy answer by the SOA it carries; works on fresh and
 * cached answers alike.  The mark points into rep; its texts (reason,
 * order id) are read by icpguard_policy_ede_memo, once per verdict.
 * @return 1 with mark filled when rep is a policy answer.
 */
int icpguard_policy_mark(struct reply_info* rep, struct icpguard_mark* mark);

/**
 * The EDE of a policy answer, remembered per thread: cache hits of a
 * blocked name repeat the same one.  Worker threads only.
 * @return the memo slot holding code, text and document number; the
 *	calling thread's own, which it may update (the audit snapshot).
 */
struct icpguard_ede_memo* icpguard_policy_ede_memo(
	struct icpguard_env* ie, const struct icpguard_mark* mark);

/* module/icpguard.c: the entry points the dynlib module looks up */
struct outbound_entry;
struct edns_data;
struct edns_option;
struct comm_reply;
struct regional;
struct timeval;
enum module_ev;
/** see module/icpguard.c */
int init(struct module_env* env, int id);
/** see module/icpguard.c */
void deinit(struct module_env* env, int id);
/** see module/icpguard.c */
void operate(struct module_qstate* qstate, enum module_ev event, int id,
	struct outbound_entry* outbound);
/** see module/icpguard.c */
void inform_super(struct module_qstate* qstate, int id,
	struct module_qstate* super);
/** see module/icpguard.c */
void clear(struct module_qstate* qstate, int id);
/** see module/icpguard.c */
size_t get_mem(struct module_env* env, int id);
/** see module/icpguard.c */
int icpguard_reply_cb(struct query_info* qinfo, struct module_qstate* qstate,
	struct reply_info* rep, int rcode, struct edns_data* edns,
	struct edns_option** opt_list_out, struct comm_reply* repinfo,
	struct regional* region, struct timeval* start_time, int id,
	void* cb_args);

#endif /* ICPGUARD_MODULE_H */
