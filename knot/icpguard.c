/*
 * knot/icpguard.c - mod-icpguard, the icpguard module of Knot DNS.
 *
 * \file
 * The authoritative side of "no filing, no resolution": knotd loads
 * mod-icpguard.so (a `module:` section with `file:`) and runs it for the
 * zones that name it (`module: mod-icpguard/ID` in a zone or template).
 * The same snapshot, the same ig_decide and the same EDE texts as the
 * Unbound module (common/policy_text.h) give a name the same verdict on
 * both sides.  docs/knot.md walks through the semantics.
 *
 * Two hooks:
 *  - BEGIN (before Knot looks at the zone): a verdict that needs no answer
 *    (order, blacklist, scope all) is taken on the QNAME; a block is
 *    answered at once.
 *  - ANSWER (after Knot filled the answer section, CNAME chain inside its
 *    zones followed): the QNAME, every CNAME hop in the answer section and
 *    the addresses there (A, AAAA, SVCB/HTTPS hints) are decided on.  A
 *    block replaces the whole packet with the policy answer.
 * Infrastructure is never blocked: transfers, NOTIFY, UPDATE, queries of
 * type SOA, NS, DS, DNSKEY, CDS, CDNSKEY, NSEC, NSEC3, NSEC3PARAM, RRSIG,
 * and the addresses of the zone's own name server hosts (apex NS targets).
 *
 * The policy answer: rcode NXDOMAIN (or REFUSED), AA, the zone's own SOA
 * in the authority section with the policy TTL as TTL and as MINIMUM (the
 * negative-caching TTL), no RRSIG or NSEC, and an EDE (RFC 8914) with the
 * resolver side's code and text when the query has EDNS.
 *
 * Threads: the hooks run in knotd's worker threads and read through the
 * shared source's per-thread views (knot/source.h); load and unload run in
 * knotd's main thread.  The module context is read-only after load.
 */
#include "config.h"
#include <knot/module.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "common/policy_text.h"
#include "knot/audit.h"
#include "knot/source.h"
#include "lib/name.h"
#include "module/conf.h"
#include "lib/verdict.h"

/* configuration keys (length-prefixed, as Knot's schema wants them) */
#define MOD_SNAPSHOT	"\x08""snapshot"
#define MOD_ORDERS	"\x0F""orders-snapshot"
#define MOD_DELTA	"\x0E""delta-snapshot"
#define MOD_SCOPE	"\x05""scope"
#define MOD_CHAIN	"\x0B""chain-check"
#define MOD_ACTION	"\x06""action"
#define MOD_TTL		"\x0A""policy-ttl"
#define MOD_MODE	"\x04""mode"
#define MOD_FAIL_OPEN	"\x09""fail-open"
#define MOD_POLL	"\x0D""poll-interval"
#define MOD_LOG_BLOCKS	"\x0A""log-blocks"
#define MOD_STATS_FILE	"\x0A""stats-file"
/* the Unbound module's dnstap keys, same names and meanings (module/conf.c
 * parses their values for both) */
#define MOD_AUDIT_SOCKET	"\x0C""audit-socket"
#define MOD_AUDIT_TCP		"\x09""audit-tcp"
#define MOD_AUDIT_SAMPLE	"\x0C""audit-sample"
#define MOD_AUDIT_IDENTITY	"\x0E""audit-identity"
#define MOD_AUDIT_QUEUE		"\x0B""audit-queue"

/** what a block answer looks like */
enum knot_action { ACTION_NXDOMAIN = 0, ACTION_REFUSED = 1 };
/** enforce or only log */
enum knot_mode { MODE_ENFORCE = 0, MODE_MONITOR = 1 };

static const knot_lookup_t scope_names[] = {
	{ IG_SCOPE_DOMESTIC, "domestic" },
	{ IG_SCOPE_ALL, "all" },
	{ 0, NULL }
};
static const knot_lookup_t chain_names[] = {
	{ IG_CHAIN_ALL, "all" },
	{ IG_CHAIN_QNAME, "qname" },
	{ 0, NULL }
};
static const knot_lookup_t action_names[] = {
	{ ACTION_NXDOMAIN, "nxdomain" },
	{ ACTION_REFUSED, "refused" },
	{ 0, NULL }
};
static const knot_lookup_t mode_names[] = {
	{ MODE_ENFORCE, "enforce" },
	{ MODE_MONITOR, "monitor" },
	{ 0, NULL }
};

/** the `mod-icpguard:` section's schema */
const yp_item_t icpguard_conf[] = {
	{ MOD_SNAPSHOT,   YP_TSTR,  YP_VSTR = { "/var/lib/icpguard/snapshot.mdb" } },
	{ MOD_ORDERS,     YP_TSTR,  YP_VNONE },
	{ MOD_DELTA,      YP_TSTR,  YP_VNONE },
	{ MOD_SCOPE,      YP_TOPT,  YP_VOPT = { scope_names, IG_SCOPE_DOMESTIC } },
	{ MOD_CHAIN,      YP_TOPT,  YP_VOPT = { chain_names, IG_CHAIN_ALL } },
	{ MOD_ACTION,     YP_TOPT,  YP_VOPT = { action_names, ACTION_NXDOMAIN } },
	{ MOD_TTL,        YP_TINT,  YP_VINT = { 1, 86400, 60, YP_STIME } },
	{ MOD_MODE,       YP_TOPT,  YP_VOPT = { mode_names, MODE_ENFORCE } },
	{ MOD_FAIL_OPEN,  YP_TBOOL, YP_VBOOL = { false } },
	{ MOD_POLL,       YP_TINT,  YP_VINT = { 10, 60000, 100 } },
	{ MOD_LOG_BLOCKS, YP_TBOOL, YP_VBOOL = { true } },
	{ MOD_STATS_FILE, YP_TSTR,  YP_VNONE },
	{ MOD_AUDIT_SOCKET,   YP_TSTR, YP_VNONE },
	{ MOD_AUDIT_TCP,      YP_TSTR, YP_VNONE },
	{ MOD_AUDIT_SAMPLE,   YP_TSTR, YP_VNONE },
	{ MOD_AUDIT_IDENTITY, YP_TSTR, YP_VNONE },
	{ MOD_AUDIT_QUEUE,    YP_TSTR, YP_VNONE },
	{ NULL }
};

/** the audit keys, in the schema and in the Unbound module's terms */
static const yp_name_t* const audit_keys[] = { MOD_AUDIT_SOCKET,
	MOD_AUDIT_TCP, MOD_AUDIT_SAMPLE, MOD_AUDIT_IDENTITY, MOD_AUDIT_QUEUE,
	NULL };

/**
 * Apply one audit key's value to ic as the Unbound module reads it
 * (module/conf.c), so that the key means the same on both sides.
 * @param value: the value, NULL when the key is not given.
 * @return NULL, or the reason the value is bad.
 */
static const char*
audit_key_set(struct icpguard_cfg* ic, const yp_name_t* key,
	const char* value)
{
	char name[32];
	size_t n = (uint8_t)key[0];
	if(n >= sizeof(name)) n = sizeof(name) - 1;
	if(!value) return NULL;
	memcpy(name, key + 1, n);
	name[n] = 0;
	return icpguard_cfg_set(ic, name, value);
}

/** the audit keys of an instance (checked by icpguard_conf_check) */
static void
audit_cfg_read(knotd_mod_t* mod, struct ig_knot_audit_cfg* out)
{
	struct icpguard_cfg ic;
	int i;
	icpguard_cfg_defaults(&ic);
	for(i = 0; audit_keys[i]; i++) {
		knotd_conf_t c = knotd_conf_mod(mod, audit_keys[i]);
		(void)audit_key_set(&ic, audit_keys[i], c.single.string);
	}
	memset(out, 0, sizeof(*out));
	snprintf(out->socket_path, sizeof(out->socket_path), "%s",
		ic.audit_socket);
	snprintf(out->tcp_addr, sizeof(out->tcp_addr), "%s",
		ic.audit_tcp_addr);
	out->tcp_port = ic.audit_tcp_port;
	snprintf(out->identity, sizeof(out->identity), "%s",
		ic.audit_identity);
	out->queue = ic.audit_queue;
	out->sample = ic.audit_sample;
}

/** one loaded instance (one per zone that names the module) */
struct knot_guard {
	/** the shared snapshots */
	struct ig_knot_source* src;
	/** scope and chain check */
	enum ig_scope scope;
	enum ig_chain_check chain;
	/** block answer */
	enum knot_action action;
	/** TTL of the policy SOA and its MINIMUM */
	uint32_t ttl;
	/** monitor mode */
	int monitor;
	/** answer normally while there is no snapshot */
	int fail_open;
	/** a log line per block */
	int log_blocks;
	/** the source's dnstap writer, NULL when audit is off */
	struct ig_knot_audit* audit;
};

/** counter ids (knotc stats mod-icpguard) */
enum { CTR_VERDICT = 0, CTR_ANSWER = 1 };
/** the second counter's indexes */
enum { ANS_POLICY = 0, ANS_MONITORED, ANS_NOSNAPSHOT, ANS_COUNT };

/** counter index names; knotd frees what these return */
static char*
verdict_idx_name(uint32_t idx, uint32_t count)
{
	return strdup(ig_reason_name((enum ig_reason)idx));
}

static char*
answer_idx_name(uint32_t idx, uint32_t count)
{
	static const char* const names[ANS_COUNT] = { "policy",
		"monitored", "no-snapshot" };
	return strdup(idx < ANS_COUNT ? names[idx] : "?");
}

/**
 * The types a zone's infrastructure needs whatever the policy says: its
 * SOA and NS (delegation from the parent, transfers, NOTIFY checks), the
 * DNSSEC chain (DS, DNSKEY, CDS, CDNSKEY, RRSIG) and denial records
 * (NSEC, NSEC3, NSEC3PARAM).  Blocking them would break the zone itself,
 * not the website.
 */
static int
infrastructure_type(uint16_t t)
{
	switch(t) {
	case KNOT_RRTYPE_SOA: case KNOT_RRTYPE_NS:
	case KNOT_RRTYPE_DS: case KNOT_RRTYPE_DNSKEY:
	case KNOT_RRTYPE_CDS: case KNOT_RRTYPE_CDNSKEY:
	case KNOT_RRTYPE_RRSIG: case KNOT_RRTYPE_NSEC:
	case KNOT_RRTYPE_NSEC3: case KNOT_RRTYPE_NSEC3PARAM:
	case KNOT_RRTYPE_AXFR: case KNOT_RRTYPE_IXFR:
		return 1;
	default:
		return 0;
	}
}

/** the QNAME is a name server host of the zone (an apex NS target): its
 * addresses are what resolvers need to reach this and other zones */
static int
ns_host(knotd_qdata_t* qdata, const knot_dname_t* qname)
{
	knot_rrset_t ns = knotd_qdata_zone_apex_rrset(qdata, KNOT_RRTYPE_NS);
	knot_rdata_t* rd = ns.rrs.rdata;
	uint16_t i;
	for(i = 0; i < ns.rrs.count; i++) {
		if(knot_dname_is_equal(knot_ns_name(rd), qname)) return 1;
		rd = knot_rdataset_next(rd);
	}
	return 0;
}

/** should this query be looked at at all */
static int
policy_applies(knotd_qdata_t* qdata)
{
	const knot_dname_t* qname;
	if(qdata->type != KNOTD_QUERY_TYPE_NORMAL) return 0;
	if(knot_pkt_qclass(qdata->query) != KNOT_CLASS_IN) return 0;
	if(infrastructure_type(knot_pkt_qtype(qdata->query))) return 0;
	if(!(qname = knot_pkt_qname(qdata->query))) return 0;
	if(knotd_qdata_zone_name(qdata) == NULL) return 0;
	return !ns_host(qdata, qname);
}

/** allocate from the query's memory (freed with the query) */
static void*
query_alloc(knotd_qdata_t* qdata, size_t n)
{
	knot_mm_t* mm = qdata->mm;
	return (mm && mm->alloc) ? mm->alloc(mm->ctx, n) : NULL;
}

/** the EDE of a block into the OPT RR, text included when it fits */
static void
add_ede(knot_pkt_t* pkt, knotd_qdata_t* qdata, const struct ig_verdict* v,
	struct ig_knot_read* rd)
{
	char match[1024], text[IG_EDE_TEXT_MAX];
	uint8_t opt[2 + IG_EDE_TEXT_MAX];
	struct ig_order o;
	int found = 0;
	uint16_t code;
	size_t tl;
	if(knot_rrset_empty(&qdata->opt_rr)) return;
	ig_name_wire_to_text(v->match[0] ? v->match : v->name, match,
		sizeof(match));
	if(v->reason == IG_REASON_ORDER)
		found = ig_policy_order_find(rd->urgent, rd->main, v->id, &o);
	code = ig_policy_ede(ig_reason_name(v->reason), v->id, match,
		(uint32_t)v->serial, found ? &o : NULL, text, sizeof(text));
	tl = strlen(text);
	opt[0] = (uint8_t)(code >> 8);
	opt[1] = (uint8_t)code;
	memcpy(opt + 2, text, tl);
	/* the OPT RR's room was reserved by Knot for its own options; the
	 * EDE is reserved on top, so Knot's later reclaim balances */
	if(knot_pkt_reserve(pkt, (uint16_t)(KNOT_EDNS_OPTION_HDRLEN + 2 + tl))
		== KNOT_EOK && knot_edns_add_option(&qdata->opt_rr,
		KNOT_EDNS_OPTION_EDE, (uint16_t)(2 + tl), opt, qdata->mm) ==
		KNOT_EOK)
		return;
	/* no room for the text: Knot adds the bare code */
	qdata->rcode_ede = code;
}

/**
 * Replace the packet with the policy answer: the question, AA, the zone's
 * SOA in the authority section with TTL and MINIMUM set to the policy TTL,
 * the rcode and the EDE.  @return 1, or 0 when the packet could not be
 * rebuilt (the caller fails the query: SERVFAIL, never the raw answer).
 */
static int
policy_answer(struct knot_guard* g, knot_pkt_t* pkt, knotd_qdata_t* qdata,
	const struct ig_verdict* v, struct ig_knot_read* rd)
{
	knot_rrset_t soa = knotd_qdata_zone_apex_rrset(qdata, KNOT_RRTYPE_SOA);
	uint16_t reserved = pkt->reserved;
	if(knot_pkt_init_response(pkt, qdata->query) != KNOT_EOK) return 0;
	/* init_response forgets what Knot reserved for OPT and TSIG */
	pkt->reserved = reserved;
	knot_wire_set_aa(pkt->wire);
	if(knot_pkt_begin(pkt, KNOT_AUTHORITY) != KNOT_EOK) return 0;
	if(soa.rrs.count > 0) {
		knot_rdata_t* src = soa.rrs.rdata;
		size_t sz = knot_rdata_size(src->len);
		knot_rdata_t* copy = query_alloc(qdata, sz);
		knot_rrset_t out = soa;
		uint32_t t = g->ttl;
		if(!copy || src->len < 20) return 0;
		memcpy(copy, src, sz);
		/* MINIMUM, the last field: the negative-caching TTL */
		copy->data[copy->len - 4] = (uint8_t)(t >> 24);
		copy->data[copy->len - 3] = (uint8_t)(t >> 16);
		copy->data[copy->len - 2] = (uint8_t)(t >> 8);
		copy->data[copy->len - 1] = (uint8_t)t;
		out.ttl = t;
		out.rrs.count = 1;
		out.rrs.size = (uint32_t)sz;
		out.rrs.rdata = copy;
		if(knot_pkt_put(pkt, KNOT_COMPR_HINT_NONE, &out, 0) != KNOT_EOK)
			return 0;
	}
	qdata->rcode = g->action == ACTION_REFUSED ? KNOT_RCODE_REFUSED :
		KNOT_RCODE_NXDOMAIN;
	add_ede(pkt, qdata, v, rd);
	return 1;
}

/** a log line for a block (or a monitored one) */
static void
log_block(knotd_mod_t* mod, struct knot_guard* g, const struct ig_verdict* v,
	const char* stage)
{
	char name[1024], match[1024];
	if(!g->log_blocks) return;
	ig_name_wire_to_text(v->name, name, sizeof(name));
	ig_name_wire_to_text(v->match[0] ? v->match : v->name, match,
		sizeof(match));
	knotd_mod_log(mod, LOG_INFO, "icpguard: %s%s %s match %s record '%s' "
		"%s snapshot %s (%s)", g->monitor ? "monitor: would block " :
		"block ", ig_reason_name(v->reason), name, match, v->id,
		v->detail, v->snapshot, stage);
}

/** count a verdict */
static void
count(knotd_mod_t* mod, knotd_qdata_t* qdata, uint32_t ctr, uint32_t idx)
{
	knotd_mod_stats_incr(mod, qdata->params->thread_id, ctr, idx, 1);
	if(ctr == CTR_VERDICT) {
		struct knot_guard* g = knotd_mod_ctx(mod);
		ig_knot_source_count_verdict(g->src, (int)idx);
	}
}

/** decide; @return 1 for a block, with v filled */
static int
decide(struct knot_guard* g, struct ig_knot_read* rd,
	const struct ig_facts* f, struct ig_verdict* v)
{
	struct ig_policy_opts o;
	memset(&o, 0, sizeof(o));
	o.scope = g->scope;
	o.chain = g->chain;
	o.now = (int64_t)time(NULL);
	o.urgent = rd->urgent;
	o.delta = rd->delta;
	return ig_decide(rd->main, f, &o, v);
}

/** no snapshot to decide on: fail closed (SERVFAIL) unless fail-open */
static int
no_snapshot(knotd_mod_t* mod, struct knot_guard* g, knotd_qdata_t* qdata)
{
	if(g->fail_open) return 0;
	count(mod, qdata, CTR_ANSWER, ANS_NOSNAPSHOT);
	qdata->rcode = KNOT_RCODE_SERVFAIL;
	return 1;
}

/** what enforce did with a block */
enum enforced { ENF_MONITORED, ENF_ANSWERED, ENF_FAILED };

/** a block verdict v, decided at stage where: counted, logged, audited,
 * and (unless in monitor mode) the policy answer put in pkt, or SERVFAIL
 * set when it cannot be built.  Worker thread, rd its own views. */
static enum enforced
enforce(knotd_mod_t* mod, struct knot_guard* g, knot_pkt_t* pkt,
	knotd_qdata_t* qdata, const struct ig_verdict* v,
	struct ig_knot_read* rd, const char* where)
{
	count(mod, qdata, CTR_VERDICT, v->reason);
	log_block(mod, g, v, where);
	if(g->monitor) {
		count(mod, qdata, CTR_ANSWER, ANS_MONITORED);
		ig_knot_audit_verdict(g->audit, qdata, v, 1);
		return ENF_MONITORED;
	}
	if(policy_answer(g, pkt, qdata, v, rd)) {
		count(mod, qdata, CTR_ANSWER, ANS_POLICY);
		ig_knot_audit_verdict(g->audit, qdata, v, 0);
		return ENF_ANSWERED;
	}
	qdata->rcode = KNOT_RCODE_SERVFAIL;
	return ENF_FAILED;
}

/** BEGIN: blocks known before the answer (order, blacklist, scope all) */
static knotd_state_t
icpguard_begin(knotd_state_t state, knot_pkt_t* pkt, knotd_qdata_t* qdata,
	knotd_mod_t* mod)
{
	struct knot_guard* g = knotd_mod_ctx(mod);
	struct ig_knot_read rd;
	struct ig_facts f;
	struct ig_verdict v;
	knotd_state_t out = state;
	ig_knot_audit_begin(g->audit, qdata);
	if(state == KNOTD_STATE_FAIL || !policy_applies(qdata)) return state;
	if(!ig_knot_source_read(g->src, qdata->params->thread_id, &rd) ||
		!rd.main) {
		ig_knot_source_done(&rd);
		return no_snapshot(mod, g, qdata) ? KNOTD_STATE_FAIL : state;
	}
	memset(&f, 0, sizeof(f));
	f.qname = knot_pkt_qname(qdata->query);
	f.answered = 0;
	if(rd.memo) rd.memo->qdata = NULL;
	if(decide(g, &rd, &f, &v)) {
		switch(enforce(mod, g, pkt, qdata, &v, &rd,
			"before the answer")) {
		case ENF_ANSWERED: out = KNOTD_STATE_DONE; break;
		case ENF_FAILED: out = KNOTD_STATE_FAIL; break;
		case ENF_MONITORED: break;
		}
	} else if(rd.memo && (v.reason == IG_REASON_FILED ||
		v.reason == IG_REASON_EXEMPT || v.reason == IG_REASON_PENDING)) {
		rd.memo->qdata = qdata;
		rd.memo->gen = rd.gen;
		rd.memo->reason = v.reason;
	}
	ig_knot_source_done(&rd);
	return out;
}

/**
 * The verdict BEGIN left for this query, when the answer f adds nothing it
 * reads (the rule of module/icpguard.c, operate_answer): a filed or exempt
 * QNAME without an alias (addresses do not matter for filed names), or a
 * pending one without an alias whose addresses are neither domestic nor
 * registrar endpoints (lib/verdict.h, ig_addrs_matter).  The memo is used
 * once.  @return the reason, or -1 when ig_decide must decide.
 */
static int
begin_verdict(struct ig_knot_read* rd, knotd_qdata_t* qdata,
	const struct ig_facts* f)
{
	struct ig_knot_memo* m = rd->memo;
	int r;
	if(!m || m->qdata != qdata) return -1;
	m->qdata = NULL;
	if(m->gen != rd->gen || f->nalias > 0) return -1;
	r = m->reason;
	if(r == IG_REASON_PENDING)
		return ig_addrs_matter(rd->main, f->addr, f->naddr) ? -1 :
			IG_REASON_ABROAD;
	return r;
}

/** the facts of the answer section: CNAME chain from the QNAME, and the
 * addresses anywhere in it */
static void
answer_facts(knot_pkt_t* pkt, const knot_dname_t* qname, struct ig_facts* f,
	struct ig_addr* addrs, int maxaddr)
{
	const knot_pktsection_t* an = knot_pkt_section(pkt, KNOT_ANSWER);
	const knot_dname_t* cur = qname;
	uint16_t i, j;
	memset(f, 0, sizeof(*f));
	f->qname = qname;
	f->addr = addrs;
	f->answered = 1;
	/* Knot puts a DNAME's synthesized CNAME in the answer, so following
	 * CNAMEs follows DNAMEs too */
	while(f->nalias < IG_CHAIN_MAX) {
		const knot_dname_t* next = NULL;
		for(i = 0; i < an->count && !next; i++) {
			const knot_rrset_t* rr = knot_pkt_rr(an, i);
			if(rr->type == KNOT_RRTYPE_CNAME && rr->rrs.count > 0 &&
				knot_dname_is_equal(rr->owner, cur))
				next = knot_cname_name(rr->rrs.rdata);
		}
		if(!next) break;
		f->alias[f->nalias++] = next;
		cur = next;
	}
	for(i = 0; i < an->count; i++) {
		const knot_rrset_t* rr = knot_pkt_rr(an, i);
		knot_rdata_t* rd = rr->rrs.rdata;
		for(j = 0; j < rr->rrs.count && f->naddr < maxaddr; j++) {
			if(rr->type == KNOT_RRTYPE_A && rd->len == 4)
				ig_addr_from_v4(&addrs[f->naddr++], rd->data);
			else if(rr->type == KNOT_RRTYPE_AAAA && rd->len == 16)
				ig_addr_from_v6(&addrs[f->naddr++], rd->data);
			else if(rr->type == KNOT_RRTYPE_SVCB ||
				rr->type == KNOT_RRTYPE_HTTPS)
				ig_svcb_hints(rd->data, rd->len, addrs,
					&f->naddr, maxaddr);
			rd = knot_rdataset_next(rd);
		}
	}
}

/** the most addresses looked at in one answer */
#define KNOT_ADDR_MAX 64

/** ANSWER: the answer Knot is about to send */
static knotd_in_state_t
icpguard_answer(knotd_in_state_t state, knot_pkt_t* pkt,
	knotd_qdata_t* qdata, knotd_mod_t* mod)
{
	struct knot_guard* g = knotd_mod_ctx(mod);
	struct ig_addr addrs[KNOT_ADDR_MAX];
	struct ig_knot_read rd;
	struct ig_facts f;
	struct ig_verdict v;
	knotd_in_state_t out = state;
	int known;
	/* a referral is not this server's answer; errors and truncation
	 * stay Knot's */
	if(state != KNOTD_IN_STATE_HIT && state != KNOTD_IN_STATE_MISS &&
		state != KNOTD_IN_STATE_NODATA)
		return state;
	if(!policy_applies(qdata)) return state;
	if(!ig_knot_source_read(g->src, qdata->params->thread_id, &rd) ||
		!rd.main) {
		ig_knot_source_done(&rd);
		return no_snapshot(mod, g, qdata) ? KNOTD_IN_STATE_ERROR :
			state;
	}
	answer_facts(pkt, knot_pkt_qname(qdata->query), &f, addrs,
		KNOT_ADDR_MAX);
	if((known = begin_verdict(&rd, qdata, &f)) >= 0) {
		count(mod, qdata, CTR_VERDICT, (uint32_t)known);
	} else if(decide(g, &rd, &f, &v)) {
		switch(enforce(mod, g, pkt, qdata, &v, &rd, "on the answer")) {
		/* the packet is complete: TRUNC makes Knot skip the
		 * authority and additional sections (and their DNSSEC
		 * records) and send it as it is (answer_query returns DONE;
		 * nothing sets TC) */
		case ENF_ANSWERED: out = KNOTD_IN_STATE_TRUNC; break;
		case ENF_FAILED: out = KNOTD_IN_STATE_ERROR; break;
		case ENF_MONITORED: break;
		}
	} else {
		count(mod, qdata, CTR_VERDICT, v.reason);
	}
	ig_knot_source_done(&rd);
	return out;
}

/** END: the answer as Knot sends it; the audit record of the verdict
 * kept for this query (or a sampled plain answer).  Registered only when
 * the instance's source has a dnstap writer */
static knotd_state_t
icpguard_end(knotd_state_t state, knot_pkt_t* pkt, knotd_qdata_t* qdata,
	knotd_mod_t* mod)
{
	struct knot_guard* g = knotd_mod_ctx(mod);
	ig_knot_audit_end(g->audit, pkt, qdata);
	return state;
}

/** load: read the section, attach the source, register the hooks */
static int
icpguard_load(knotd_mod_t* mod)
{
	struct knot_guard* g = calloc(1, sizeof(*g));
	struct ig_knot_source_cfg sc;
	struct ig_knot_audit_cfg ac;
	knotd_conf_t c;
	char* snapshot, *orders, *delta, *stats;
	if(!g) return KNOT_ENOMEM;
	c = knotd_conf_mod(mod, MOD_SCOPE);
	g->scope = (enum ig_scope)c.single.option;
	c = knotd_conf_mod(mod, MOD_CHAIN);
	g->chain = (enum ig_chain_check)c.single.option;
	c = knotd_conf_mod(mod, MOD_ACTION);
	g->action = (enum knot_action)c.single.option;
	c = knotd_conf_mod(mod, MOD_TTL);
	g->ttl = (uint32_t)c.single.integer;
	c = knotd_conf_mod(mod, MOD_MODE);
	g->monitor = (c.single.option == MODE_MONITOR);
	c = knotd_conf_mod(mod, MOD_FAIL_OPEN);
	g->fail_open = c.single.boolean;
	c = knotd_conf_mod(mod, MOD_LOG_BLOCKS);
	g->log_blocks = c.single.boolean;
	c = knotd_conf_mod(mod, MOD_POLL);
	sc.poll_ms = (int)c.single.integer;
	c = knotd_conf_mod(mod, MOD_SNAPSHOT);
	snapshot = strdup(c.single.string ? c.single.string : "");
	c = knotd_conf_mod(mod, MOD_ORDERS);
	orders = strdup(c.single.string ? c.single.string : "");
	c = knotd_conf_mod(mod, MOD_DELTA);
	delta = strdup(c.single.string ? c.single.string : "");
	c = knotd_conf_mod(mod, MOD_STATS_FILE);
	stats = strdup(c.single.string ? c.single.string : "");
	if(!snapshot || !orders || !delta || !stats) {
		free(snapshot);
		free(orders);
		free(delta);
		free(stats);
		free(g);
		return KNOT_ENOMEM;
	}
	sc.snapshot = snapshot;
	sc.orders = orders;
	sc.delta = delta;
	sc.stats_file = stats;
	audit_cfg_read(mod, &ac);
	sc.audit = &ac;
	g->src = ig_knot_source_attach(&sc, mod);
	free(snapshot);
	free(orders);
	free(delta);
	free(stats);
	if(!g->src) {
		free(g);
		return KNOT_ENOMEM;
	}
	g->audit = ig_knot_source_audit(g->src);
	knotd_mod_ctx_set(mod, g);
	if(knotd_mod_stats_add(mod, "verdict", IG_REASON_COUNT,
		verdict_idx_name) != KNOT_EOK ||
		knotd_mod_stats_add(mod, "answer", ANS_COUNT,
		answer_idx_name) != KNOT_EOK ||
		knotd_mod_hook(mod, KNOTD_STAGE_BEGIN, icpguard_begin) !=
		KNOT_EOK ||
		knotd_mod_in_hook(mod, KNOTD_STAGE_ANSWER, icpguard_answer) !=
		KNOT_EOK || (g->audit && knotd_mod_hook(mod, KNOTD_STAGE_END,
		icpguard_end) != KNOT_EOK)) {
		ig_knot_source_detach(g->src, mod);
		free(g);
		knotd_mod_ctx_set(mod, NULL);
		return KNOT_ERROR;
	}
	return KNOT_EOK;
}

/** unload: no worker runs this instance any more */
static void
icpguard_unload(knotd_mod_t* mod)
{
	struct knot_guard* g = knotd_mod_ctx(mod);
	if(!g) return;
	ig_knot_source_detach(g->src, mod);
	free(g);
}

/** the audit keys' values, checked as the Unbound module checks them */
static int
audit_conf_check(knotd_conf_check_args_t* args)
{
	/* the text must outlive the check: knotd prints it afterwards */
	static char err[160];
	struct icpguard_cfg ic;
	int i;
	icpguard_cfg_defaults(&ic);
	for(i = 0; audit_keys[i]; i++) {
		knotd_conf_t c = knotd_conf_check_item(args, audit_keys[i]);
		const char* why = c.count > 0 ? audit_key_set(&ic,
			audit_keys[i], c.single.string) : NULL;
		if(why) {
			snprintf(err, sizeof(err), "%.*s: %s",
				(int)(uint8_t)audit_keys[i][0],
				(const char*)audit_keys[i] + 1, why);
			args->err_str = err;
			return KNOT_EINVAL;
		}
	}
	return KNOT_EOK;
}

/** the section's own check: a snapshot path must be given in full (the
 * optional ones may be empty: none) */
static int
icpguard_conf_check(knotd_conf_check_args_t* args)
{
	static const struct { const yp_name_t* key; const char* err; }
		paths[] = {
		{ MOD_SNAPSHOT, "snapshot must be an absolute path" },
		{ MOD_ORDERS, "orders-snapshot must be an absolute path" },
		{ MOD_DELTA, "delta-snapshot must be an absolute path" } };
	size_t i;
	for(i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		knotd_conf_t c = knotd_conf_check_item(args, paths[i].key);
		if(c.count > 0 && c.single.string && (i == 0 ||
			c.single.string[0]) && c.single.string[0] != '/') {
			args->err_str = paths[i].err;
			return KNOT_EINVAL;
		}
	}
	return audit_conf_check(args);
}

KNOTD_MOD_API(icpguard, KNOTD_MOD_FLAG_SCOPE_ZONE,
	icpguard_load, icpguard_unload, icpguard_conf, icpguard_conf_check);
