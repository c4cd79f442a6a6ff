/*
 * knot/audit.c - dnstap audit records from the Knot module (knot/audit.h).
 */
#include "config.h"
#include "knot/audit.h"
#include "lib/name.h"
#include "lib/snapshot.h"
#include <stdlib.h>
#include <string.h>

/** a verdict waiting for its query's END stage (one per worker) */
struct audit_pending {
	/** the query it belongs to; NULL: none */
	const knotd_qdata_t* qdata;
	/** 1: monitor mode */
	int monitor;
	/** reason, id and doc_no as the record carries them */
	struct ig_audit_texts texts;
	/** the matched name (wire) */
	uint8_t match[IG_NAME_MAX];
	/** the snapshot identity and its length */
	char snapshot[IG_SNAPSHOT_IDENT_MAX];
	size_t snapshot_len;
} __attribute__((aligned(64)));

struct ig_knot_audit {
	/** the writer (its own alignment: allocated with aligned_alloc) */
	struct ig_audit w;
	/** one pending slot per knotd thread id */
	struct audit_pending* pending;
	/** their count */
	unsigned npending;
};

int
ig_knot_audit_start(const struct ig_knot_audit_cfg* cfg, unsigned nthreads,
	ig_host_log_fn* log, void* log_arg, struct ig_knot_audit** out)
{
	struct ig_knot_audit* ka;
	struct ig_audit_cfg ac;
	*out = NULL;
	if(!cfg->socket_path[0] && !cfg->tcp_addr[0]) return 1;
	ka = aligned_alloc(_Alignof(struct ig_knot_audit),
		(sizeof(*ka) + _Alignof(struct ig_knot_audit) - 1) /
		_Alignof(struct ig_knot_audit) * _Alignof(struct ig_knot_audit));
	if(!ka) return 0;
	memset(ka, 0, sizeof(*ka));
	ka->npending = nthreads;
	if(nthreads && !(ka->pending = aligned_alloc(64, nthreads *
		sizeof(*ka->pending)))) {
		free(ka);
		return 0;
	}
	if(ka->pending) memset(ka->pending, 0, nthreads * sizeof(*ka->pending));
	memset(&ac, 0, sizeof(ac));
	ac.socket_path = cfg->socket_path;
	ac.tcp_addr = cfg->tcp_addr;
	ac.tcp_port = cfg->tcp_port;
	ac.identity = cfg->identity;
	ac.queue = cfg->queue;
	ac.sample = cfg->sample;
	ac.auth = 1;
	ac.log = log;
	ac.log_arg = log_arg;
	if(!ig_audit_start(&ka->w, &ac)) {
		free(ka->pending);
		free(ka);
		return 0;
	}
	*out = ka;
	return 1;
}

void
ig_knot_audit_stop(struct ig_knot_audit* ka, unsigned long* sent,
	unsigned long* dropped)
{
	unsigned long s = 0, d = 0;
	if(ka) {
		ig_audit_stop(&ka->w);
		ig_knot_audit_counts(ka, &s, &d);
		free(ka->pending);
		free(ka);
	}
	if(sent) *sent = s;
	if(dropped) *dropped = d;
}

void
ig_knot_audit_counts(struct ig_knot_audit* ka, unsigned long* sent,
	unsigned long* dropped)
{
	*sent = ka ? ig_audit_sent(&ka->w) : 0;
	*dropped = ka ? ig_audit_dropped(&ka->w) : 0;
}

/** the calling worker's slot, NULL when it has none */
static struct audit_pending*
slot_of(struct ig_knot_audit* ka, knotd_qdata_t* qdata)
{
	unsigned t = qdata->params ? qdata->params->thread_id : ~0u;
	return ka && t < ka->npending ? &ka->pending[t] : NULL;
}

void
ig_knot_audit_begin(struct ig_knot_audit* ka, knotd_qdata_t* qdata)
{
	struct audit_pending* p = slot_of(ka, qdata);
	if(p) p->qdata = NULL;
}

void
ig_knot_audit_verdict(struct ig_knot_audit* ka, knotd_qdata_t* qdata,
	const struct ig_verdict* v, int monitor)
{
	struct audit_pending* p = slot_of(ka, qdata);
	const uint8_t* match;
	if(!p) return;
	match = v->match[0] ? v->match : v->name;
	ig_audit_texts_set(&p->texts, ig_reason_name(v->reason), v->id,
		v->doc_no);
	memcpy(p->match, match, ig_name_wire_len(match));
	p->snapshot_len = strnlen(v->snapshot, sizeof(v->snapshot));
	memcpy(p->snapshot, v->snapshot, p->snapshot_len);
	p->monitor = monitor;
	p->qdata = qdata;
}

/** the record's DNS side from the answer Knot sends */
static void
msg_of(knot_pkt_t* pkt, knotd_qdata_t* qdata, struct ig_audit_msg* m)
{
	const knot_pkt_t* q = qdata->query;
	memset(m, 0, sizeof(*m));
	m->qname = knot_pkt_qname(q);
	m->qname_len = m->qname ? knot_dname_size(m->qname) : 0;
	m->qtype = knot_pkt_qtype(q);
	m->qclass = knot_pkt_qclass(q);
	if(pkt && pkt->size >= KNOT_WIRE_HEADER_SIZE) {
		m->answered = 1;
		m->flags = (uint16_t)(pkt->wire[2] << 8 | pkt->wire[3]);
		m->ancount = knot_wire_get_ancount(pkt->wire);
		m->wire = pkt->wire;
		m->wire_len = pkt->size;
	} else {
		m->wire = q->wire;
		m->wire_len = q->size;
		m->wire_is_query = 1;
	}
	if(qdata->params) {
		m->client = (const struct sockaddr*)qdata->params->remote;
		m->proto = qdata->params->proto == KNOTD_QUERY_PROTO_UDP ?
			IG_AUDIT_PROTO_UDP : qdata->params->proto ==
			KNOTD_QUERY_PROTO_TCP ? IG_AUDIT_PROTO_TCP :
			qdata->params->proto == KNOTD_QUERY_PROTO_QUIC ?
			IG_AUDIT_PROTO_DOQ : IG_AUDIT_PROTO_UNKNOWN;
	}
	m->zone = knotd_qdata_zone_name(qdata);
}

void
ig_knot_audit_end(struct ig_knot_audit* ka, knot_pkt_t* pkt,
	knotd_qdata_t* qdata)
{
	struct audit_pending* p = slot_of(ka, qdata);
	struct ig_audit_policy pol;
	struct ig_audit_msg m;
	int verdict;
	if(!p) return;
	verdict = p->qdata == qdata;
	p->qdata = NULL;
	/* the rest is sampled: normal queries only, not transfers */
	if(!verdict && (qdata->type != KNOTD_QUERY_TYPE_NORMAL ||
		!ig_audit_sample(&ka->w)))
		return;
	if(!ig_audit_room(&ka->w)) return;
	msg_of(pkt, qdata, &m);
	if(!m.qname) return;
	if(!verdict) {
		ig_audit_record(&ka->w, &m, NULL);
		return;
	}
	memset(&pol, 0, sizeof(pol));
	pol.texts = &p->texts;
	pol.match = p->match;
	pol.snapshot = p->snapshot;
	pol.snapshot_len = p->snapshot_len;
	pol.monitor = p->monitor;
	ig_audit_record(&ka->w, &m, &pol);
}
