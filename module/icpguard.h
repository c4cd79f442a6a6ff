/*
 * module/icpguard.h - the icpguard Unbound module.
 *
 * \file
 * How the module sits in Unbound (module-config "validator dynlib
 * iterator"; the dynlib wrapper loads icpguard.so and calls the six entry
 * points below).  The module is between the validator and the iterator and
 * leaves Unbound's caching alone for what it allows:
 *
 *  - init reads the module's own configuration (module/conf.h), opens
 *    the snapshot, starts the watch thread that swaps in new snapshots and
 *    registers the reply callbacks that attach Extended DNS Errors.  It
 *    refuses any other place in module-config.
 *  - operate, event pass (from the validator): the verdict that needs no
 *    answer (order, blacklist, scope all) is taken at once; a block is
 *    answered and stored here and nothing goes upstream.  Otherwise the
 *    query goes on to the iterator untouched: the iterator caches what it
 *    learns as usual, the final answer unchecked (while a validator is
 *    loaded Unbound's workers answer an unchecked message only through the
 *    modules).
 *  - operate, event moddone (from the iterator): the final answer (CNAME/
 *    DNAME chain, A, AAAA, SVCB/HTTPS hints) is decided on.  A block
 *    replaces return_msg with a policy answer, which the module stores over
 *    the iterator's copy and the validator leaves alone.  An allowed answer
 *    goes up unchanged and the validator stores it, as without the module.
 *    Internal lookups (the iterator's name-server addresses, the
 *    validator's DNSKEY and DS queries) keep their answers; a blocked one
 *    is removed from the message cache and the validator told not to store
 *    it (no_cache_store, set after the iterator is done).
 *  - clear, when the query ends: an answer decided on a snapshot that was
 *    swapped out meanwhile is removed from the message cache.
 *  - the watch thread (module/watch.c) learns of new snapshot files from
 *    inotify (and polls); a new, valid file is swapped in (worker threads
 *    pick it up at their next query) and the message-cache entries that
 *    name a changed name are expired.  A bad file is refused with a log
 *    line; the old one stays.
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
#include "module/recent.h"

struct module_env;
struct module_qstate;
struct reply_info;
struct dns_msg;
struct query_info;

/** the RRset flag bit of the policy RRs (Unbound's own flags are the
 * low bits and 0x80000000, util/data/packed_rrset.h); part of the RRset
 * cache key, so policy RRs never share an entry with real data */
#define ICPGUARD_RRSET_POLICY 0x40000000u

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
	/** answers decided on a snapshot swapped out before their query
	 * ended, removed from the cache then (module/icpguard.c, clear) */
	atomic_ulong retired_late;
};

/** the snapshots the module reads */
enum icpguard_slot_kind {
	/** the main snapshot (filings, ranges, blacklist, ...) */
	IG_SLOT_MAIN = 0,
	/** the order snapshot: small, published on its own for takedown
	 * orders and other urgent changes (optional) */
	IG_SLOT_ORDERS = 1,
	/** the delta snapshot over the main one (optional): in force only
	 * while it names the main snapshot in force (docs/snapshot.md, "The
	 * delta layer") */
	IG_SLOT_DELTA = 2,
	IG_SLOT_COUNT
};

/** one snapshot file the watch thread keeps in force */
struct icpguard_slot {
	/** the file ("" when the slot is not configured) */
	const char* path;
	/** the snapshot in force, NULL when none (guarded by the lock) */
	struct ig_snapshot* current;
	/** identity of the file behind current */
	struct ig_file_id id;
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
	struct ig_audit audit;
	/** per-order hit counts */
	struct icpguard_hits hits;
	/** where recent answers are cached, by domain (module/recent.h) */
	struct ig_recent recent;
	/** ms the last expiry's QNAME pass took, -1 when it had none (watch
	 * thread only: for its log lines) */
	long long qname_pass_ms;
	/** entries the last expiry's look at the recent answers expired,
	 * -1 when it had none (watch thread only) */
	long recent_expired;
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
	struct ig_audit_texts audit;
	/** the snapshot an audit record names (its identity while it is in
	 * force, else the serial), as of view generation snap_gen - 1; 0:
	 * not yet known (module/icpguard.c, audit_snapshot) */
	unsigned long snap_gen;
	char snapshot[IG_SNAPSHOT_IDENT_MAX];
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
 * @param delta: if non-NULL, set to the view on the delta snapshot over
 *	the main one (ig_policy_opts.delta), or NULL when none is in force or
 *	it holds no names.
 * @return the view, or NULL when there is no main snapshot, or when a read
 *	on one of the snapshots could not begin (logged; tried again at the
 *	next call).
 */
struct ig_view* icpguard_view(struct icpguard_env* ie, struct ig_view** urgent,
	struct ig_view** delta);

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

/** the answer section holds a CNAME or DNAME RRset */
#define IG_ANSWER_ALIAS 1
/** the answer section holds an A, AAAA, SVCB or HTTPS RRset */
#define IG_ANSWER_ADDR 2
/**
 * What kinds of RRsets the answer section holds (IG_ANSWER_* bits), cheaper
 * than icpguard_facts when only that matters.  Thread: the query's worker.
 */
int icpguard_answer_kinds(const struct reply_info* rep);

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
