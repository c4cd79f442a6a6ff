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
#include "sldns/rrdef.h"
#include "sldns/pkthdr.h"
#include <stdlib.h>
#include <string.h>
#include <time.h>

/** per-query state, in the query region */
struct icpguard_qstate {
	/** 1: the module saw this state arrive and took over caching */
	int owned;
	/** 1: before resolution the QNAME was filed or exempt (and not
	 * blocked); an answer without aliases cannot change that */
	int qname_passes;
	/** the snapshot generation that verdict was taken on */
	unsigned long generation;
};

/** the module state of a query's environment */
static struct icpguard_env*
env_of(struct module_env* env, int id)
{
	struct dynlibmod_env* de = (struct dynlibmod_env*)env->modinfo[id];
	return de ? (struct icpguard_env*)de->dyn_env : NULL;
}

/** is the query subject to policy: a client waits for it, or a prefetch */
static int
subject_to_policy(struct module_qstate* qstate)
{
	return (qstate->mesh_info && qstate->mesh_info->reply_list) ||
		qstate->prefetch_leeway != 0;
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
	struct ig_view* view, struct ig_view* urgent, struct ig_facts* f,
	struct ig_verdict* v, const char* when)
{
	struct ig_policy_opts po;
	po.scope = ie->cfg.scope;
	po.chain = ie->cfg.chain;
	po.now = (int64_t)time(NULL);
	po.urgent = urgent;
	ig_decide(view, f, &po, v);
	atomic_fetch_add(&ie->stats.verdicts[v->reason], 1);
	log_verdict(ie, qstate, v, when);
	if(v->block && ie->cfg.monitor && ie->audit.iothr) {
		struct icpguard_audit_policy pol;
		struct icpguard_audit_texts tx;
		struct mesh_reply* r = qstate->mesh_info ?
			qstate->mesh_info->reply_list : NULL;
		icpguard_audit_texts_set(&tx, ig_reason_name(v->reason), v->id,
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

/** store the message the module returns in the message cache */
static void
store_answer(struct module_qstate* qstate, struct dns_msg* msg)
{
	if(!dns_cache_store(qstate->env, &qstate->qinfo, msg->rep, 0,
		qstate->prefetch_leeway, 0, qstate->region,
		qstate->query_flags, qstate->qstarttime))
		log_err("icpguard: out of memory storing an answer");
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
 * A query arrives (new, or pass from a module below).  Every state that
 * starts at this module (event new) is a client query or a prefetch of
 * one: it is subject to policy whether or not a client waits for it now
 * (a prefetch's leeway can be 0).
 */
static void
operate_arrive(struct icpguard_env* ie, struct module_qstate* qstate,
	int id, int is_new)
{
	struct icpguard_qstate* mq = qstate->minfo[id];
	struct ig_view* view, *urgent;
	if(!mq) {
		mq = regional_alloc_zero(qstate->region, sizeof(*mq));
		if(!mq) {
			qstate->ext_state[id] = module_error;
			return;
		}
		qstate->minfo[id] = mq;
	}
	view = NULL;
	/* the generation before the views: if a swap lands in between, the
	 * answer's fast path (operate_done) sees a newer one and decides
	 * again, never the other way round */
	mq->generation = atomic_load(&ie->generation);
	if((is_new || subject_to_policy(qstate)) &&
		!(view = icpguard_view(ie, &urgent)) && view_failed(ie)) {
		qstate->ext_state[id] = module_error;
		return;
	}
	if(view) {
		struct ig_facts f;
		struct ig_verdict v;
		memset(&f, 0, sizeof(f));
		f.qname = qstate->qinfo.qname;
		if(decide(ie, qstate, view, urgent, &f, &v,
			"before resolution")) {
			answer_policy(ie, qstate, id, &v);
			return;
		}
		mq->qname_passes = (v.reason == IG_REASON_FILED ||
			v.reason == IG_REASON_EXEMPT);
		/* the module stores what it returns; the iterator and the
		 * validator must not cache the raw answer.  With strict-cache
		 * "unfiled", a filed or exempt QNAME keeps the iterator's
		 * caching (its answers are blocked only through an alias, and
		 * then the module overwrites the cached answer at once) */
		if(ie->cfg.strict_cache || (v.reason != IG_REASON_FILED &&
			v.reason != IG_REASON_EXEMPT)) {
			mq->owned = 1;
			qstate->no_cache_store = 1;
		}
	}
	qstate->ext_state[id] = module_wait_module;
}

/** the answer comes back from the modules below */
static void
operate_done(struct icpguard_env* ie, struct module_qstate* qstate, int id)
{
	struct icpguard_qstate* mq = qstate->minfo[id];
	int owned = mq && mq->owned;
	struct ig_view* view, *urgent;
	struct ig_facts f;
	struct ig_verdict v;
	struct ig_addr addrs[IG_ADDR_MAX];
	uint8_t names[IG_CHAIN_MAX][IG_NAME_MAX];
	int rcode;

	qstate->ext_state[id] = module_finished;
	if(qstate->return_rcode != LDNS_RCODE_NOERROR || !qstate->return_msg ||
		!qstate->return_msg->rep)
		return; /* SERVFAIL and friends pass unchanged, uncached */
	rcode = FLAGS_GET_RCODE(qstate->return_msg->rep->flags);
	if(rcode != LDNS_RCODE_NOERROR && rcode != LDNS_RCODE_NXDOMAIN) {
		if(owned) store_answer(qstate, qstate->return_msg);
		return;
	}
	/* a filed (or exempt) QNAME whose answer has no alias: addresses do
	 * not matter for filed names, and the orders and blacklist were
	 * checked on arrival against the same snapshots; decided before
	 * anything else is read, it is most of the cache misses */
	if(mq && mq->qname_passes && (owned || subject_to_policy(qstate)) &&
		mq->generation == atomic_load(&ie->generation) &&
		!icpguard_answer_has_alias(qstate->return_msg->rep)) {
		atomic_fetch_add(&ie->stats.verdicts[IG_REASON_FILED], 1);
		if(owned) store_answer(qstate, qstate->return_msg);
		return;
	}
	if(!(view = icpguard_view(ie, &urgent))) {
		if(view_failed(ie)) {
			qstate->ext_state[id] = module_error;
			return;
		}
		if(owned) store_answer(qstate, qstate->return_msg);
		return;
	}
	icpguard_facts(&qstate->qinfo, qstate->return_msg->rep, &f, addrs,
		names);
	if(!owned && !subject_to_policy(qstate)) {
		/* an internal lookup (a name server's address): it keeps its
		 * answer, but a blocked name must not stay in the message
		 * cache where a client would get it without the module */
		struct ig_policy_opts po = { ie->cfg.scope, ie->cfg.chain,
			(int64_t)time(NULL), urgent };
		ig_decide(view, &f, &po, &v);
		if(v.block)
			msg_cache_remove(qstate->env, qstate->qinfo.qname,
				qstate->qinfo.qname_len, qstate->qinfo.qtype,
				qstate->qinfo.qclass, qstate->query_flags);
		return;
	}
	if(decide(ie, qstate, view, urgent, &f, &v, "on the answer")) {
		answer_policy(ie, qstate, id, &v);
		return;
	}
	if(owned) store_answer(qstate, qstate->return_msg);
}

/**
 * Is there a validator after this module (number id) in module-config?
 * The module depends on it: Unbound's workers answer a cached message
 * without any module unless it is unchecked while a validator is loaded
 * (env->need_to_validate), and the iterator caches what it resolves on the
 * way (an alias target, a name server's address) unchecked.  Without a
 * validator those answers reach clients undecided from the cache.
 */
static int
validator_follows(struct module_env* env, int id)
{
	const char* p = env->cfg ? env->cfg->module_conf : NULL;
	int i = 0;
	if(!p) return 0;
	while(*p) {
		size_t n;
		while(*p == ' ' || *p == '\t' || *p == '\n') p++;
		n = strcspn(p, " \t\n");
		if(n == 0) break;
		if(i > id && n == 9 && strncmp(p, "validator", 9) == 0)
			return 1;
		p += n;
		i++;
	}
	return 0;
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
	char err[1024];
	struct timespec ts;
	if(!ie) {
		log_err("icpguard: out of memory");
		return 0;
	}
	memset(ie, 0, sizeof(*ie));
	if(!validator_follows(env, id)) {
		log_err("icpguard: module-config \"%s\" has no validator after "
			"the module: without it Unbound answers what the "
			"iterator cached on the way (alias targets, name server "
			"addresses) from the cache, undecided; use \"dynlib "
			"validator iterator\" (without a trust anchor the "
			"validator validates nothing)", env->cfg &&
			env->cfg->module_conf ? env->cfg->module_conf : "");
		free(ie);
		return 0;
	}
	/* the module retires cached answers after a policy change by
	 * expiring them, serve-expired-ttl included; with serve-expired-ttl
	 * 0 (no limit) Unbound would serve them anyway */
	if(env->cfg && env->cfg->serve_expired &&
		env->cfg->serve_expired_ttl == 0) {
		log_err("icpguard: serve-expired: yes with serve-expired-ttl: 0 "
			"would keep serving cached answers after a policy change "
			"(an order in force, a filing revoked); set "
			"serve-expired-ttl (for example 86400) or serve-expired: "
			"no");
		free(ie);
		return 0;
	}
	icpguard_cfg_defaults(&ie->cfg);
	if(!icpguard_cfg_read(path, &ie->cfg, err, sizeof(err))) {
		log_err("icpguard: %s", err);
		free(ie);
		return 0;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	ie->instance = ((uint64_t)ts.tv_sec << 30) ^ (uint64_t)ts.tv_nsec ^
		(uint64_t)(uintptr_t)ie;
	ie->env = env;
	ie->id = id;
	pthread_mutex_init(&ie->lock, NULL);
	icpguard_hits_init(&ie->hits);
	if(!icpguard_snapshot_start(ie)) {
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
	icpguard_audit_stop(ie);
	icpguard_hits_free(&ie->hits);
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
		operate_arrive(ie, qstate, id, event == module_event_new);
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

/** Module clear: per-query state lives in the region. */
void
clear(struct module_qstate* qstate, int id)
{
	qstate->minfo[id] = NULL;
}

/** Module get_mem: the module's own heap (the snapshot is mapped). */
size_t
get_mem(struct module_env* env, int id)
{
	struct icpguard_env* ie = env_of(env, id);
	return ie ? sizeof(*ie) : 0;
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
	struct ig_view* u = NULL, *v;
	const struct ig_snapshot_info* si = NULL;
	int n;
	if(m->snap_gen == gen && gen != 0) return;
	v = icpguard_view(ie, &u);
	if(u && (uint32_t)ig_snapshot_info(u->snap)->serial == mark->serial)
		si = ig_snapshot_info(u->snap);
	else if(v && (uint32_t)ig_snapshot_info(v->snap)->serial ==
		mark->serial)
		si = ig_snapshot_info(v->snap);
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
	struct icpguard_audit_policy pol;
	struct icpguard_ede_memo* ede;
	uint8_t buf[2 + sizeof(ede->text)];
	size_t tl;
	(void)rcode; (void)start_time; (void)id;
	/* the common case first, in a few instructions: a positive answer
	 * without an authority section is never a policy answer */
	if(!ie || !region || !rep || (rep->ns_numrrsets == 0 &&
		!ie->audit.iothr))
		return 1;
	if(!icpguard_policy_mark(rep, &mark)) {
		if(icpguard_audit_sample(ie))
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
	if(icpguard_audit_room(ie)) {
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
