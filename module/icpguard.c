/*
 * module/icpguard.c - the icpguard Unbound module: entry points.
 *
 * \file
 * The six functions Unbound's dynlib module looks up (init, deinit,
 * operate, inform_super, clear, get_mem) and the reply callback that adds
 * the Extended DNS Error to policy answers.  module/icpguard.h walks
 * through how a query passes the module.
 */
#include "config.h"
#include "module/icpguard.h"
#include "dynlibmod/dynlibmod.h"
#include "util/config_file.h"
#include "util/log.h"
#include "util/net_help.h"
#include "util/module.h"
#include "util/regional.h"
#include "util/data/msgreply.h"
#include "services/cache/dns.h"
#include "services/mesh.h"
#include "iterator/iter_utils.h"
#include "sldns/rrdef.h"
#include "sldns/pkthdr.h"
#include <stdlib.h>
#include <string.h>
#include <time.h>

/** per-query state, in the query region */
struct icpguard_qstate {
	/** 1: before resolution the QNAME was filed or exempt (and not
	 * blocked); an answer without aliases cannot change that */
	int qname_passes;
	/** 1: before resolution the QNAME was unfiled and not blocked
	 * (pending: the answer's addresses decide); an answer with neither
	 * aliases nor addresses cannot block it (NXDOMAIN, NODATA, MX ...) */
	int qname_pending;
	/** no_cache_store as the state had it when it first reached the
	 * module: a blocked internal lookup sets it for the validator above,
	 * clear() puts it back (a restart from the validator) */
	int started_no_cache_store;
	/** the module set no_cache_store */
	int set_no_cache_store;
	/** the snapshot generation the arrival verdict was taken on */
	unsigned long generation;
	/** 1: the answer was decided (on arrival or on the answer), at
	 * generation decided_gen (read before the views) */
	int decided;
	/** see decided */
	unsigned long decided_gen;
};

/** the module's state of a query, made in its region when missing (an
 * iterator sub-query reaches the module only on its way back) */
static struct icpguard_qstate*
qstate_of(struct module_qstate* qstate, int id)
{
	struct icpguard_qstate* mq = qstate->minfo[id];
	if(mq) return mq;
	mq = regional_alloc_zero(qstate->region, sizeof(*mq));
	if(!mq) return NULL;
	mq->started_no_cache_store = qstate->no_cache_store;
	qstate->minfo[id] = mq;
	return mq;
}

/** the module state of a query's environment */
static struct icpguard_env*
env_of(struct module_env* env, int id)
{
	struct dynlibmod_env* de = (struct dynlibmod_env*)env->modinfo[id];
	return de ? (struct icpguard_env*)de->dyn_env : NULL;
}

/**
 * Is the query subject to policy: a client waits for it, it is a prefetch,
 * or it is a top-level state (no other state waits for it: a client query
 * whose client left, or a prefetch with no leeway).  The others are
 * internal lookups: the iterator's name-server addresses, the validator's
 * DNSKEY and DS queries.
 */
static int
subject_to_policy(struct module_qstate* qstate)
{
	if(qstate->prefetch_leeway != 0) return 1;
	if(!qstate->mesh_info) return 0;
	return qstate->mesh_info->reply_list != NULL ||
		(!qstate->is_valrec && qstate->mesh_info->super_set.count == 0);
}

/**
 * No view although a snapshot is in force (a read could not begin): fail
 * closed.  A resolver that cannot read its policy answers SERVFAIL rather
 * than resolving names it may have to block.  Only fail-open without any
 * snapshot passes queries.
 */
static int
view_failed(struct icpguard_env* ie)
{
	int in_force;
	pthread_mutex_lock(&ie->lock);
	in_force = ie->slot[IG_SLOT_MAIN].current != NULL;
	pthread_mutex_unlock(&ie->lock);
	if(in_force)
		log_err("icpguard: cannot read the snapshot in force: "
			"answering SERVFAIL");
	return in_force;
}

/** log a verdict */
static void
log_verdict(struct icpguard_env* ie, struct module_qstate* qstate,
	const struct ig_verdict* v, const char* when)
{
	char q[1024], n[1024], m[1024];
	if(!v->block || (!ie->cfg.log_blocks && !ie->cfg.monitor)) return;
	ig_name_wire_to_text(qstate->qinfo.qname, q, sizeof(q));
	ig_name_wire_to_text(v->name, n, sizeof(n));
	ig_name_wire_to_text(v->match, m, sizeof(m));
	log_info("icpguard: %s %s type %d %s: %s name %s match %s%s%s%s%s "
		"snapshot %s", ie->cfg.monitor ? "monitor-block" : "block", q,
		(int)qstate->qinfo.qtype, when, ig_reason_name(v->reason), n, m,
		v->id[0] ? " record " : "", v->id,
		v->doc_no[0] ? " document " : "", v->doc_no, v->snapshot);
}

/** decide on the facts; 1 when the answer must become a policy answer */
static int
decide(struct icpguard_env* ie, struct module_qstate* qstate,
	struct ig_view* view, struct ig_view* urgent, struct ig_view* delta,
	struct ig_facts* f, struct ig_verdict* v, const char* when)
{
	struct ig_policy_opts po;
	/* every field: those the module does not set (delta) must be 0 */
	memset(&po, 0, sizeof(po));
	po.scope = ie->cfg.scope;
	po.chain = ie->cfg.chain;
	po.now = (int64_t)time(NULL);
	po.urgent = urgent;
	po.delta = delta;
	ig_decide(view, f, &po, v);
	atomic_fetch_add(&ie->stats.verdicts[v->reason], 1);
	log_verdict(ie, qstate, v, when);
	if(v->block && ie->cfg.monitor && ig_audit_on(&ie->audit)) {
		struct ig_audit_policy pol;
		struct ig_audit_texts tx;
		struct mesh_reply* r = qstate->mesh_info ?
			qstate->mesh_info->reply_list : NULL;
		ig_audit_texts_set(&tx, ig_reason_name(v->reason), v->id,
			v->doc_no);
		pol.texts = &tx;
		pol.match = v->match[0] ? v->match : v->name;
		pol.snapshot = v->snapshot;
		pol.snapshot_len = strnlen(v->snapshot, sizeof(v->snapshot));
		pol.monitor = 1;
		pol.soa = NULL;
		pol.soa_len = 0;
		icpguard_audit_record(ie, &qstate->qinfo, qstate->return_msg ?
			qstate->return_msg->rep : NULL, 0, r ? &r->query_reply :
			NULL, &pol, qstate->region);
	}
	return v->block && !ie->cfg.monitor;
}

/**
 * Store a policy answer in the message cache, over the raw answer the
 * iterator may have stored for the same query (unchecked, so no client was
 * served it from the cache).  Honours forward-no-cache and stub-no-cache:
 * under those the iterator stored nothing and the module stores nothing
 * either.  Worker thread.
 */
static void
store_answer(struct module_qstate* qstate, struct dns_msg* msg)
{
	uint8_t* dpname = NULL;
	size_t dpnamelen = 0;
	if(iter_stub_fwd_no_cache(qstate, &qstate->qinfo, &dpname,
		&dpnamelen))
		return;
	if(!dns_cache_store(qstate->env, &qstate->qinfo, msg->rep, 0,
		qstate->prefetch_leeway, 0, qstate->region,
		qstate->query_flags, qstate->qstarttime)) {
		log_err("icpguard: out of memory storing an answer");
		/* no raw answer may stay behind for a later lookup */
		msg_cache_remove(qstate->env, qstate->qinfo.qname,
			qstate->qinfo.qname_len, qstate->qinfo.qtype,
			qstate->qinfo.qclass, qstate->query_flags);
	}
}

/** answer with the policy message for v and finish */
static void
answer_policy(struct icpguard_env* ie, struct module_qstate* qstate,
	int id, const struct ig_verdict* v)
{
	struct dns_msg* msg = icpguard_policy_msg(ie, qstate, v);
	if(!msg) {
		log_err("icpguard: out of memory building a policy answer");
		qstate->ext_state[id] = module_error;
		return;
	}
	qstate->return_msg = msg;
	qstate->return_rcode = LDNS_RCODE_NOERROR;
	store_answer(qstate, msg);
	qstate->ext_state[id] = module_finished;
}

/**
 * A query arrives: event pass from the validator above (or new, for a
 * stack without one in front).  The verdict that needs no answer (order,
 * blacklist, scope all) is taken at once for queries subject to policy;
 * a block is answered here and nothing goes upstream.  Otherwise the
 * query passes on untouched: the iterator and the validator cache what
 * they learn exactly as they do without the module.
 */
static void
operate_arrive(struct icpguard_env* ie, struct module_qstate* qstate,
	int id)
{
	struct icpguard_qstate* mq = qstate_of(qstate, id);
	struct ig_view* view, *urgent, *delta;
	if(!mq) {
		qstate->ext_state[id] = module_error;
		return;
	}
	mq->qname_passes = 0;
	mq->qname_pending = 0;
	mq->decided = 0;
	view = NULL;
	/* the generation before the views: if a swap lands in between, the
	 * answer's fast path (operate_done) sees a newer one and decides
	 * again, never the other way round */
	mq->generation = atomic_load(&ie->generation);
	if(subject_to_policy(qstate) &&
		!(view = icpguard_view(ie, &urgent, &delta)) &&
		view_failed(ie)) {
		qstate->ext_state[id] = module_error;
		return;
	}
	if(view) {
		struct ig_facts f;
		struct ig_verdict v;
		memset(&f, 0, sizeof(f));
		f.qname = qstate->qinfo.qname;
		if(decide(ie, qstate, view, urgent, delta, &f, &v,
			"before resolution")) {
			mq->decided = 1;
			mq->decided_gen = mq->generation;
			answer_policy(ie, qstate, id, &v);
			return;
		}
		mq->qname_passes = (v.reason == IG_REASON_FILED ||
			v.reason == IG_REASON_EXEMPT);
		mq->qname_pending = (v.reason == IG_REASON_PENDING);
	}
	qstate->ext_state[id] = module_wait_module;
}

/**
 * The answer comes back from the iterator.  It has cached what it learnt
 * (referrals, glue, the answer itself unchecked: a cache hit of an
 * unchecked message goes through the modules); the validator above stores
 * the final answer when it is done.  A blocked answer is replaced by the
 * policy answer, which the module stores and the validator leaves alone
 * (already validated).  An allowed answer is left exactly as it is.
 */
static void
operate_done(struct icpguard_env* ie, struct module_qstate* qstate, int id)
{
	struct icpguard_qstate* mq;
	struct ig_view* view, *urgent, *delta;
	struct ig_facts f;
	struct ig_verdict v;
	struct ig_addr addrs[IG_ADDR_MAX];
	uint8_t names[IG_CHAIN_MAX][IG_NAME_MAX];
	int rcode, subject;
	unsigned long gen;

	qstate->ext_state[id] = module_finished;
	if(qstate->return_rcode != LDNS_RCODE_NOERROR || !qstate->return_msg ||
		!qstate->return_msg->rep)
		return; /* SERVFAIL and friends pass unchanged */
	rcode = FLAGS_GET_RCODE(qstate->return_msg->rep->flags);
	if(rcode != LDNS_RCODE_NOERROR && rcode != LDNS_RCODE_NXDOMAIN)
		return;
	if(!(mq = qstate_of(qstate, id))) {
		qstate->ext_state[id] = module_error;
		return;
	}
	subject = subject_to_policy(qstate);
	/* where a client's answer will be cached, for a takedown's expiry
	 * (module/recent.h; internal lookups are left to the walk) */
	if(subject)
		ig_recent_note(&ie->recent, qstate->qinfo.qname,
			qstate->qinfo.qname_len, qstate->qinfo.qtype,
			qstate->qinfo.qclass, qstate->query_flags);
	/* read before the views, like the arrival's: clear() retires an
	 * answer decided on a snapshot that has been replaced since */
	gen = atomic_load(&ie->generation);
	mq->decided = 1;
	mq->decided_gen = gen;
	/* decided on arrival against the same snapshots (orders, blacklist,
	 * the QNAME's filing), when the answer adds no name and nothing the
	 * verdict reads: a filed (or exempt) QNAME without an alias
	 * (addresses do not matter for filed names), or an unfiled one with
	 * neither alias nor address (a nonexistent name, NODATA: no
	 * domestic address, no redirect endpoint).  Most cache misses. */
	if(subject && mq->generation == gen &&
		(mq->qname_passes || mq->qname_pending)) {
		int k = icpguard_answer_kinds(qstate->return_msg->rep);
		if(mq->qname_passes && !(k & IG_ANSWER_ALIAS)) {
			atomic_fetch_add(&ie->stats.verdicts[IG_REASON_FILED],
				1);
			return;
		}
		if(mq->qname_pending && k == 0) {
			atomic_fetch_add(&ie->stats.verdicts[IG_REASON_ABROAD],
				1);
			return;
		}
	}
	if(!(view = icpguard_view(ie, &urgent, &delta))) {
		if(view_failed(ie))
			qstate->ext_state[id] = module_error;
		return;
	}
	icpguard_facts(&qstate->qinfo, qstate->return_msg->rep, &f, addrs,
		names);
	/* an unfiled QNAME pending on arrival, an answer without alias whose
	 * addresses are neither domestic nor registrar endpoints: it passes
	 * (lib/verdict.h, ig_addrs_matter); most unfiled foreign names */
	if(subject && mq->qname_pending && mq->generation == gen &&
		f.nalias == 0 && !ig_addrs_matter(view, f.addr, f.naddr)) {
		atomic_fetch_add(&ie->stats.verdicts[IG_REASON_ABROAD], 1);
		return;
	}
	if(!subject) {
		/* an internal lookup (a name server's address, a DNSKEY): it
		 * keeps its answer, but a blocked name must not stay in the
		 * message cache where a client would get it without the
		 * module: the iterator's unchecked copy goes, and the
		 * validator above is told not to store its own */
		struct ig_policy_opts po = { ie->cfg.scope, ie->cfg.chain,
			(int64_t)time(NULL), urgent, delta };
		ig_decide(view, &f, &po, &v);
		if(v.block) {
			qstate->no_cache_store = 1;
			mq->set_no_cache_store = 1;
			msg_cache_remove(qstate->env, qstate->qinfo.qname,
				qstate->qinfo.qname_len, qstate->qinfo.qtype,
				qstate->qinfo.qclass, qstate->query_flags);
		}
		return;
	}
	if(decide(ie, qstate, view, urgent, delta, &f, &v, "on the answer"))
		answer_policy(ie, qstate, id, &v);
}

/**
 * Where the module sits in module-config: it must come after a validator
 * and before the iterator ("validator dynlib iterator").  The validator
 * above stores each allowed answer when it has validated it, after the
 * module decided; the iterator below caches the raw answer unchecked, and
 * Unbound's workers answer an unchecked message from the cache only
 * through the modules while a validator is loaded.  With the module in
 * front of the validator, the validator would store a raw answer before
 * the module saw it.
 * @return NULL when the place is right, else what is wrong.
 */
static const char*
stack_problem(struct module_env* env, int id)
{
	const char* p = env->cfg ? env->cfg->module_conf : NULL;
	int i = 0, validator_before = 0, iterator_after = 0;
	if(!p) return "no module-config";
	while(*p) {
		size_t n;
		while(*p == ' ' || *p == '\t' || *p == '\n') p++;
		n = strcspn(p, " \t\n");
		if(n == 0) break;
		if(i < id && n == 9 && strncmp(p, "validator", 9) == 0)
			validator_before = 1;
		if(i > id && n == 8 && strncmp(p, "iterator", 8) == 0)
			iterator_after = 1;
		p += n;
		i++;
	}
	if(!validator_before)
		return "has no validator before the module";
	if(!iterator_after)
		return "has no iterator after the module";
	return NULL;
}

/**
 * Module init: read the configuration, open the snapshot, register the
 * reply callbacks, start the watch thread.  Runs in Unbound's main thread.
 * @return 1 on success; 0 stops Unbound (the reason is logged).
 */
int
init(struct module_env* env, int id)
{
	struct dynlibmod_env* de = (struct dynlibmod_env*)env->modinfo[id];
	/* aligned as its type says: the audit state keeps the lines that
	 * different threads write apart (module/audit.h) */
	struct icpguard_env* ie = aligned_alloc(_Alignof(struct icpguard_env),
		sizeof(struct icpguard_env));
	const char* path = icpguard_cfg_path();
	const char* problem;
	char err[1024];
	struct timespec ts;
	if(!ie) {
		log_err("icpguard: out of memory");
		return 0;
	}
	memset(ie, 0, sizeof(*ie));
	if((problem = stack_problem(env, id))) {
		log_err("icpguard: module-config \"%s\" %s: the module sits "
			"between the validator and the iterator, so that the "
			"validator stores only answers the module allowed; use "
			"\"validator dynlib iterator\" (without a trust anchor "
			"the validator validates nothing)", env->cfg &&
			env->cfg->module_conf ? env->cfg->module_conf : "",
			problem);
		free(ie);
		return 0;
	}
	icpguard_cfg_defaults(&ie->cfg);
	if(!icpguard_cfg_read(path, &ie->cfg, err, sizeof(err))) {
		log_err("icpguard: %s", err);
		free(ie);
		return 0;
	}
	if(env->cfg && !env->cfg->ignore_cd)
		log_warn("icpguard: ignore-cd-flag: no: clients that set CD "
			"are answered from the cache without the modules, "
			"unchecked answers included (a raw answer the iterator "
			"cached for a blocked name); set ignore-cd-flag: yes "
			"(docs/module.md, \"Caching\")");
	if(ie->cfg.strict_cache_given)
		log_warn("icpguard: %s: strict-cache is obsolete and ignored: "
			"the module leaves Unbound's caching as it is", path);
	clock_gettime(CLOCK_REALTIME, &ts);
	ie->instance = ((uint64_t)ts.tv_sec << 30) ^ (uint64_t)ts.tv_nsec ^
		(uint64_t)(uintptr_t)ie;
	ie->env = env;
	ie->id = id;
	pthread_mutex_init(&ie->lock, NULL);
	icpguard_hits_init(&ie->hits);
	if(!ig_recent_init(&ie->recent))
		log_warn("icpguard: no memory for the recent answers' table: "
			"a takedown's expiry walks the cache alone");
	if(!icpguard_snapshot_start(ie)) {
		ig_recent_free(&ie->recent);
		icpguard_hits_free(&ie->hits);
		pthread_mutex_destroy(&ie->lock);
		free(ie);
		return 0;
	}
	de->dyn_env = ie;
	if(!de->inplace_cb_register_wrapped((void*)&icpguard_reply_cb,
		inplace_cb_reply, ie, env, id) ||
		!de->inplace_cb_register_wrapped((void*)&icpguard_reply_cb,
		inplace_cb_reply_cache, ie, env, id) ||
		!icpguard_audit_start(ie) || !icpguard_watch_start(ie)) {
		log_err("icpguard: cannot start (callbacks, audit or watch "
			"thread)");
		deinit(env, id);
		return 0;
	}
	log_info("icpguard: started (config %s, scope %s, chain-check %s, "
		"mode %s, policy-ttl %u)", path,
		ie->cfg.scope == IG_SCOPE_ALL ? "all" : "domestic",
		ie->cfg.chain == IG_CHAIN_QNAME ? "qname" : "all",
		ie->cfg.monitor ? "monitor" : "enforce", ie->cfg.ttl);
	return 1;
}

/**
 * Module deinit: stop the watch thread, close every view and the
 * snapshot, drop the callbacks.  Runs in Unbound's main thread after the
 * workers stopped.
 */
void
deinit(struct module_env* env, int id)
{
	struct dynlibmod_env* de = (struct dynlibmod_env*)env->modinfo[id];
	struct icpguard_env* ie = de ? (struct icpguard_env*)de->dyn_env :
		NULL;
	if(!ie) return;
	de->inplace_cb_delete_wrapped(env, inplace_cb_reply, id);
	de->inplace_cb_delete_wrapped(env, inplace_cb_reply_cache, id);
	icpguard_watch_stop(ie);
	ig_audit_stop(&ie->audit);
	icpguard_hits_free(&ie->hits);
	ig_recent_free(&ie->recent);
	ig_name_cleanup();
	log_info("icpguard: stopped after %lu swaps, %lu refused snapshots",
		atomic_load(&ie->stats.swaps), atomic_load(&ie->stats.refused));
	pthread_mutex_destroy(&ie->lock);
	free(ie);
	de->dyn_env = NULL;
}

/**
 * Module operate: see module/icpguard.h.  Runs in a worker thread; all
 * per-query memory comes from qstate->region.
 */
void
operate(struct module_qstate* qstate, enum module_ev event, int id,
	struct outbound_entry* outbound)
{
	struct icpguard_env* ie = env_of(qstate->env, id);
	(void)outbound;
	if(!ie) {
		qstate->ext_state[id] = module_error;
		return;
	}
	switch(event) {
	case module_event_new:
	case module_event_pass:
		operate_arrive(ie, qstate, id);
		return;
	case module_event_moddone:
		operate_done(ie, qstate, id);
		return;
	default:
		qstate->ext_state[id] = module_error;
		return;
	}
}

/** Module inform_super: the module starts no sub-queries. */
void
inform_super(struct module_qstate* qstate, int id,
	struct module_qstate* super)
{
	(void)qstate; (void)id; (void)super;
}

/**
 * Module clear: the query state ends (or restarts below the validator),
 * after every store of its answer: the validator's, which comes after the
 * module's decision, and the module's own.  An answer decided on a
 * snapshot that has been swapped out since may have been stored after the
 * swap's expiry pass: it is removed here, so that no answer decided on the
 * old policy stays in the cache.  Per-query state lives in the region.
 * Worker thread.
 */
void
clear(struct module_qstate* qstate, int id)
{
	struct icpguard_qstate* mq = qstate->minfo[id];
	struct icpguard_env* ie = env_of(qstate->env, id);
	if(mq && ie && mq->decided &&
		mq->decided_gen != atomic_load(&ie->generation)) {
		msg_cache_remove(qstate->env, qstate->qinfo.qname,
			qstate->qinfo.qname_len, qstate->qinfo.qtype,
			qstate->qinfo.qclass, qstate->query_flags);
		atomic_fetch_add(&ie->stats.retired_late, 1);
	}
	if(mq && mq->set_no_cache_store)
		qstate->no_cache_store = mq->started_no_cache_store;
	qstate->minfo[id] = NULL;
}

/** Module get_mem: the module's own heap, its recent queries' table
 * included (the snapshot is mapped). */
size_t
get_mem(struct module_env* env, int id)
{
	struct icpguard_env* ie = env_of(env, id);
	return ie ? sizeof(*ie) + (ie->recent.bucket ? IG_RECENT_BUCKETS *
		sizeof(struct ig_recent_bucket) : 0) : 0;
}

/**
 * The snapshot a policy answer's audit record names, into its memo slot:
 * the identity in full when the mark's serial is a snapshot in force,
 * else the serial alone.  Kept until the views change (generation), so a
 * cache hit of a blocked name does not look it up again.  Worker threads;
 * m is the calling thread's.
 */
static void
audit_snapshot(struct icpguard_env* ie, const struct icpguard_mark* mark,
	struct icpguard_ede_memo* m)
{
	/* read before the views: a change meanwhile only costs a redo */
	unsigned long gen = atomic_load(&ie->generation) + 1;
	struct ig_view* u = NULL, *d = NULL, *v;
	const struct ig_snapshot_info* si = NULL;
	int n;
	if(m->snap_gen == gen && gen != 0) return;
	v = icpguard_view(ie, &u, &d);
	if(u && (uint32_t)ig_snapshot_info(u->snap)->serial == mark->serial)
		si = ig_snapshot_info(u->snap);
	else if(v && (uint32_t)ig_snapshot_info(v->snap)->serial ==
		mark->serial)
		/* with a delta in force, the identity names both */
		si = ig_snapshot_info(d ? d->snap : v->snap);
	if(si) n = snprintf(m->snapshot, sizeof(m->snapshot), "%s", si->ident);
	else n = snprintf(m->snapshot, sizeof(m->snapshot), "%u",
		mark->serial);
	m->snapshot_len = n < 0 ? 0 : (size_t)n < sizeof(m->snapshot) ?
		(size_t)n : sizeof(m->snapshot) - 1;
	m->snap_gen = gen;
}

/**
 * Reply callback, for fresh answers and cache hits: a policy answer gets
 * its Extended DNS Error.  Runs in a worker thread; allocates in region.
 * @return 1 (the return value is ignored for cache hits anyway).
 */
int
icpguard_reply_cb(struct query_info* qinfo, struct module_qstate* qstate,
	struct reply_info* rep, int rcode, struct edns_data* edns,
	struct edns_option** opt_list_out, struct comm_reply* repinfo,
	struct regional* region, struct timeval* start_time, int id,
	void* cb_args)
{
	struct icpguard_env* ie = (struct icpguard_env*)cb_args;
	struct icpguard_mark mark;
	struct ig_audit_policy pol;
	struct icpguard_ede_memo* ede;
	uint8_t buf[2 + sizeof(ede->text)];
	size_t tl;
	(void)rcode; (void)start_time; (void)id;
	/* the common case first, in a few instructions: a positive answer
	 * without an authority section is never a policy answer */
	if(!ie || !region || !rep || (rep->ns_numrrsets == 0 &&
		!ig_audit_on(&ie->audit)))
		return 1;
	if(!icpguard_policy_mark(rep, &mark)) {
		if(ig_audit_sample(&ie->audit))
			icpguard_audit_record(ie, qinfo, rep, qstate == NULL,
				repinfo, NULL, region);
		return 1;
	}
	ede = icpguard_policy_ede_memo(ie, &mark);
	if(ie->cfg.order_stats[0] && !strcmp(ede->reason, "order"))
		icpguard_hits_count(&ie->hits, ede->id);
	/* the caller collects the callbacks' options in *opt_list_out */
	if(edns && edns->edns_present && opt_list_out) {
		tl = strlen(ede->text);
		buf[0] = (uint8_t)(ede->code >> 8);
		buf[1] = (uint8_t)ede->code;
		memcpy(buf + 2, ede->text, tl);
		edns_opt_list_append(opt_list_out, LDNS_EDNS_EDE, 2 + tl, buf,
			region);
	}
	if(ig_audit_room(&ie->audit)) {
		audit_snapshot(ie, &mark, ede);
		pol.snapshot = ede->snapshot;
		pol.snapshot_len = ede->snapshot_len;
		pol.texts = &ede->audit;
		pol.match = mark.match;
		pol.monitor = 0;
		/* the SOA rdata: MNAME, RNAME, serial (the mark's key) and
		 * the four timers after it */
		pol.soa = mark.key;
		pol.soa_len = mark.keylen + 16;
		icpguard_audit_record(ie, qinfo, rep, qstate == NULL, repinfo,
			&pol, region);
	}
	return 1;
}
