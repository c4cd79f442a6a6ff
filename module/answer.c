/*
 * module/answer.c - facts from answers, policy answers, Extended DNS Errors.
 *
 * \file
 * A policy answer is insecure (so AD is clear and Unbound does not turn it
 * into SERVFAIL), and carries in its
 * authority section a synthesized SOA that records the verdict:
 *     QNAME  SOA  MATCH  REASON[.ORDER-ID].icpguard.invalid.  SERIAL
 *                 TTL TTL TTL TTL
 * where MATCH is the name the verdict matched and SERIAL the snapshot
 * serial.  The SOA makes negative answers cacheable downstream and lets
 * the reply callback rebuild the EDE from a cached answer, since Unbound
 * caches no EDNS options.
 */
#include "config.h"
#include "module/icpguard.h"
#include "common/policy_text.h"
#include "util/log.h"
#include "util/net_help.h"
#include "util/config_file.h"
#include "util/module.h"
#include "util/regional.h"
#include "util/data/dname.h"
#include "util/data/msgreply.h"
#include "util/data/packed_rrset.h"
#include "services/cache/dns.h"
#include "sldns/rrdef.h"
#include "sldns/sbuffer.h"
#include "sldns/pkthdr.h"
#include <string.h>

/** the marker suffix of the SOA RNAME */
static const uint8_t marker[] = "\010icpguard\007invalid";
/** its length including the root label */
#define MARKER_LEN (sizeof(marker))

/** rdata of the first RR of an rrset (without the length) */
static uint8_t*
rr_rdata(struct ub_packed_rrset_key* k, size_t i, size_t* len)
{
	struct packed_rrset_data* d = (struct packed_rrset_data*)k->entry.data;
	if(!d || i >= d->count || d->rr_len[i] < 2) return NULL;
	*len = d->rr_len[i] - 2;
	return d->rr_data[i] + 2;
}

int
icpguard_answer_kinds(const struct reply_info* rep)
{
	size_t i;
	int k = 0;
	for(i = 0; i < rep->an_numrrsets; i++) {
		uint16_t t = ntohs(rep->rrsets[i]->rk.type);
		if(t == LDNS_RR_TYPE_CNAME || t == LDNS_RR_TYPE_DNAME)
			k |= IG_ANSWER_ALIAS;
		else if(t == LDNS_RR_TYPE_A || t == LDNS_RR_TYPE_AAAA ||
			t == LDNS_RR_TYPE_SVCB || t == LDNS_RR_TYPE_HTTPS)
			k |= IG_ANSWER_ADDR;
	}
	return k;
}

void
icpguard_facts(struct query_info* qinfo, struct reply_info* rep,
	struct ig_facts* f, struct ig_addr* addrs,
	uint8_t names[][IG_NAME_MAX])
{
	size_t i, an = rep ? rep->an_numrrsets : 0;
	uint8_t* cur = qinfo->qname;
	int nsynth = 0;
	memset(f, 0, sizeof(*f));
	f->qname = qinfo->qname;
	f->addr = addrs;
	f->answered = 1;
	/* follow the alias chain from the QNAME */
	while(f->nalias < IG_CHAIN_MAX) {
		uint8_t* next = NULL;
		for(i = 0; i < an && !next; i++) {
			struct ub_packed_rrset_key* k = rep->rrsets[i];
			size_t len;
			uint8_t* rd;
			if(ntohs(k->rk.type) != LDNS_RR_TYPE_CNAME ||
				query_dname_compare(k->rk.dname, cur) != 0)
				continue;
			if((rd = rr_rdata(k, 0, &len)) && ig_wire_name_len(rd, len))
				next = rd;
		}
		for(i = 0; i < an && !next; i++) {
			struct ub_packed_rrset_key* k = rep->rrsets[i];
			size_t len, tl, plen, cl;
			uint8_t* rd;
			if(ntohs(k->rk.type) != LDNS_RR_TYPE_DNAME ||
				!dname_strict_subdomain_c(cur, k->rk.dname))
				continue;
			if(!(rd = rr_rdata(k, 0, &len)) ||
				!(tl = ig_wire_name_len(rd, len)))
				continue;
			/* prefix of cur above the DNAME owner, then target */
			cl = ig_name_wire_len(cur);
			plen = cl - k->rk.dname_len;
			if(plen + tl > IG_NAME_MAX || nsynth >= IG_CHAIN_MAX)
				continue;
			memcpy(names[nsynth], cur, plen);
			memcpy(names[nsynth] + plen, rd, tl);
			next = names[nsynth++];
		}
		if(!next) break;
		f->alias[f->nalias++] = next;
		cur = next;
	}
	/* addresses anywhere in the answer section */
	for(i = 0; i < an; i++) {
		struct ub_packed_rrset_key* k = rep->rrsets[i];
		struct packed_rrset_data* d =
			(struct packed_rrset_data*)k->entry.data;
		uint16_t t = ntohs(k->rk.type);
		size_t j, len;
		for(j = 0; d && j < d->count && f->naddr < IG_ADDR_MAX; j++) {
			uint8_t* rd = rr_rdata(k, j, &len);
			if(!rd) continue;
			if(t == LDNS_RR_TYPE_A && len == 4)
				ig_addr_from_v4(&addrs[f->naddr++], rd);
			else if(t == LDNS_RR_TYPE_AAAA && len == 16)
				ig_addr_from_v6(&addrs[f->naddr++], rd);
			else if(t == LDNS_RR_TYPE_SVCB || t == LDNS_RR_TYPE_HTTPS)
				ig_svcb_hints(rd, len, addrs, &f->naddr,
					IG_ADDR_MAX);
		}
	}
}

/** one rrset with one RR, allocated in the region */
static struct ub_packed_rrset_key*
make_rrset(struct regional* region, uint8_t* owner, size_t ownerlen,
	uint16_t type, uint16_t qclass, uint32_t ttl, const uint8_t* rdata,
	size_t rdlen)
{
	struct ub_packed_rrset_key* k = regional_alloc_zero(region,
		sizeof(*k));
	struct packed_rrset_data* d;
	size_t dsize = sizeof(*d) + sizeof(size_t) + sizeof(uint8_t*) +
		sizeof(time_t) + 2 + rdlen;
	if(!k || !(d = regional_alloc_zero(region, dsize)) ||
		!(k->rk.dname = regional_alloc_init(region, owner, ownerlen)))
		return NULL;
	k->rk.dname_len = ownerlen;
	k->rk.type = htons(type);
	k->rk.rrset_class = htons(qclass);
	/* a flag of our own: the flags are part of an RRset's cache key, so
	 * the policy RRs never share an entry with real data of the same
	 * name and type (a zone apex's SOA, a name server's address) */
	k->rk.flags = ICPGUARD_RRSET_POLICY;
	k->entry.key = k;
	k->entry.data = d;
	d->ttl = ttl;
	d->count = 1;
	/* high trust: nothing replaces the policy RRs a cached policy
	 * message refers to (real data cannot anyway: its key differs by
	 * ICPGUARD_RRSET_POLICY) */
	d->trust = rrset_trust_prim_noglue;
	d->security = sec_status_insecure;
	d->rr_len = (size_t*)((uint8_t*)d + sizeof(*d));
	d->rr_len[0] = 2 + rdlen;
	packed_rrset_ptr_fixup(d);
	d->rr_ttl[0] = ttl;
	d->rr_data[0][0] = (uint8_t)(rdlen >> 8);
	d->rr_data[0][1] = (uint8_t)rdlen;
	memcpy(d->rr_data[0] + 2, rdata, rdlen);
	k->entry.hash = rrset_key_hash(&k->rk);
	return k;
}

/** append a label to a wire name under construction */
static size_t
put_label(uint8_t* buf, size_t pos, const char* label)
{
	size_t l = strlen(label);
	if(l > 63) l = 63;
	buf[pos] = (uint8_t)l;
	memcpy(buf + pos + 1, label, l);
	return pos + 1 + l;
}

/** write a 32-bit value */
static size_t
put_u32(uint8_t* buf, size_t pos, uint32_t v)
{
	buf[pos] = (uint8_t)(v >> 24);
	buf[pos+1] = (uint8_t)(v >> 16);
	buf[pos+2] = (uint8_t)(v >> 8);
	buf[pos+3] = (uint8_t)v;
	return pos + 4;
}

struct dns_msg*
icpguard_policy_msg(struct icpguard_env* ie, struct module_qstate* qstate,
	const struct ig_verdict* v)
{
	struct query_info* q = &qstate->qinfo;
	struct regional* region = qstate->region;
	enum ig_action act = ie->cfg.action[v->reason];
	uint32_t ttl = ie->cfg.ttl;
	uint8_t soa[IG_NAME_MAX * 2 + 20];
	size_t pos, ml;
	uint16_t rcode = LDNS_RCODE_NOERROR;
	struct dns_msg* msg;
	struct ub_packed_rrset_key* k;
	const uint8_t* mname = v->match[0] ? v->match : v->name;

	if(!(msg = dns_msg_create(q->qname, q->qname_len, q->qtype,
		q->qclass, region, 2)))
		return NULL;
	if(act == IG_ACTION_NXDOMAIN) rcode = LDNS_RCODE_NXDOMAIN;
	else if(act == IG_ACTION_REFUSED) rcode = LDNS_RCODE_REFUSED;
	/* redirect: the notice server's address for A/AAAA, NODATA else */
	if(act == IG_ACTION_REDIRECT) {
		const struct ig_addr* a = NULL;
		if(q->qtype == LDNS_RR_TYPE_A && ie->cfg.have_notice4)
			a = &ie->cfg.notice4;
		else if(q->qtype == LDNS_RR_TYPE_AAAA && ie->cfg.have_notice6)
			a = &ie->cfg.notice6;
		if(a) {
			int v4 = (q->qtype == LDNS_RR_TYPE_A);
			if(!(k = make_rrset(region, q->qname, q->qname_len,
				q->qtype, q->qclass, ttl, v4 ? a->b + 12 : a->b,
				v4 ? 4 : 16)))
				return NULL;
			msg->rep->rrsets[msg->rep->rrset_count++] = k;
			msg->rep->an_numrrsets++;
		}
	}
	/* the SOA recording the verdict */
	ml = ig_name_wire_len(mname);
	memcpy(soa, mname, ml);
	pos = ml;
	pos = put_label(soa, pos, ig_reason_name(v->reason));
	if(v->reason == IG_REASON_ORDER && v->id[0])
		pos = put_label(soa, pos, v->id);
	memcpy(soa + pos, marker, MARKER_LEN);
	pos += MARKER_LEN;
	pos = put_u32(soa, pos, (uint32_t)v->serial);
	pos = put_u32(soa, pos, ttl);
	pos = put_u32(soa, pos, ttl);
	pos = put_u32(soa, pos, ttl);
	pos = put_u32(soa, pos, ttl);
	if(!(k = make_rrset(region, q->qname, q->qname_len, LDNS_RR_TYPE_SOA,
		q->qclass, ttl, soa, pos)))
		return NULL;
	msg->rep->rrsets[msg->rep->rrset_count++] = k;
	msg->rep->ns_numrrsets++;

	/* no AA: the message cache drops it, and fresh and cached policy
	 * answers should look alike */
	msg->rep->flags = BIT_QR | BIT_RA | rcode;
	msg->rep->qdcount = 1;
	msg->rep->ttl = ttl;
	msg->rep->prefetch_ttl = PREFETCH_TTL_CALC(ttl);
	msg->rep->serve_expired_ttl = ttl + (qstate->env->cfg ?
		qstate->env->cfg->serve_expired_ttl : 0);
	msg->rep->security = sec_status_insecure;
	return msg;
}

/** copy a length-prefixed label into a C string */
static void
label_copy(char* out, size_t outlen, const uint8_t* lab)
{
	size_t n = lab[0] < outlen ? lab[0] : outlen - 1;
	memcpy(out, lab + 1, n);
	out[n] = 0;
}

int
icpguard_policy_mark(struct reply_info* rep, struct icpguard_mark* mark)
{
	size_t i;
	/* the message cache does not keep the AA flag, so the SOA alone
	 * marks a policy answer; most positive answers have no authority
	 * section and are passed over at once */
	if(!rep || rep->ns_numrrsets == 0) return 0;
	for(i = rep->an_numrrsets; i < rep->an_numrrsets + rep->ns_numrrsets &&
		i < rep->rrset_count; i++) {
		struct ub_packed_rrset_key* k = rep->rrsets[i];
		uint8_t* rd, *rname;
		size_t len, ml, rl;
		if(ntohs(k->rk.type) != LDNS_RR_TYPE_SOA) continue;
		if(!(rd = rr_rdata(k, 0, &len))) continue;
		if(!(ml = ig_wire_name_len(rd, len))) continue;
		rname = rd + ml;
		if(!(rl = ig_wire_name_len(rname, len - ml)) || ml + rl + 20 > len)
			continue;
		if(rl < MARKER_LEN + 2 || memcmp(rname + rl - MARKER_LEN,
			marker, MARKER_LEN) != 0)
			continue;
		mark->match = rd;
		mark->rname = rname;
		mark->serial = (uint32_t)rd[ml+rl] << 24 |
			(uint32_t)rd[ml+rl+1] << 16 |
			(uint32_t)rd[ml+rl+2] << 8 | rd[ml+rl+3];
		mark->key = rd;
		mark->keylen = ml + rl + 4;
		return 1;
	}
	return 0;
}

/** the EDE of a policy answer into a memo slot: the reason and order id
 * from the SOA RNAME, code and text (common/policy_text.c), and the
 * order's document number looked up in the calling thread's views */
static void
policy_ede(struct icpguard_env* ie, const struct icpguard_mark* mark,
	struct icpguard_ede_memo* m)
{
	char match[1024];
	const uint8_t* p = mark->rname;
	struct ig_order o;
	int found = 0;
	/* REASON[.ORDER-ID] before the marker (icpguard_policy_mark checked
	 * that the RNAME ends in it) */
	label_copy(m->reason, sizeof(m->reason), p);
	p += 1 + p[0];
	m->id[0] = 0;
	if(p[0] && memcmp(p, marker, MARKER_LEN) != 0)
		label_copy(m->id, sizeof(m->id), p);
	ig_name_wire_to_text(mark->match, match, sizeof(match));
	m->doc_no[0] = 0;
	/* the EDE text is bounded (a long name or order is cut short) */
	if(!strcmp(m->reason, "order")) {
		struct ig_view* u = NULL, *v = icpguard_view(ie, &u, NULL);
		if((found = ig_policy_order_find(u, v, m->id, &o)))
			snprintf(m->doc_no, sizeof(m->doc_no), "%s", o.doc_no);
	}
	m->code = ig_policy_ede(m->reason, m->id, match, mark->serial,
		found ? &o : NULL, m->text, sizeof(m->text));
	ig_audit_texts_set(&m->audit, m->reason, m->id, m->doc_no);
	m->snap_gen = 0;
}

/** the calling thread's memo array (NULL when it has no views) */
static struct icpguard_ede_memo*
memo_of(struct icpguard_env* ie)
{
	struct icpguard_view* v = icpguard_thread_views(ie);
	return v ? v->memo : NULL;
}

struct icpguard_ede_memo*
icpguard_policy_ede_memo(struct icpguard_env* ie,
	const struct icpguard_mark* mark)
{
	static __thread struct icpguard_ede_memo fallback;
	struct icpguard_ede_memo* memo = memo_of(ie), *m;
	uint32_t h = 2166136261u;
	size_t i;
	if(!memo || mark->keylen > sizeof(memo->key)) {
		m = &fallback;
		m->keylen = 0;
	} else {
		/* the slot: from the length, the start of the matched name
		 * and the serial; the full compare below decides */
		for(i = 0; i < mark->keylen && i < 12; i++) {
			h ^= mark->key[i];
			h *= 16777619u;
		}
		h ^= (uint32_t)mark->keylen * 2654435761u ^ mark->serial;
		m = &memo[h % IG_EDE_MEMO];
		if(m->keylen == mark->keylen &&
			memcmp(m->key, mark->key, mark->keylen) == 0)
			return m;
	}
	policy_ede(ie, mark, m);
	if(m != &fallback) {
		memcpy(m->key, mark->key, mark->keylen);
		m->keylen = mark->keylen;
	}
	return m;
}
