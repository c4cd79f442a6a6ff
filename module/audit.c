/*
 * module/audit.c - dnstap audit records from the Unbound module.
 *
 * \file
 * See audit.h.  What is Unbound's here: the configuration (module/conf.h),
 * the logger (log_vmsg, verbosity "ops" for debug lines), and the DNS side
 * of a record (the reply encoded by Unbound's msgencode, the client from
 * the comm_reply).  Everything else is common/audit.c.
 */
#include "config.h"
#include "module/icpguard.h"
#include "module/audit.h"
#include "util/log.h"
#include "util/netevent.h"
#include "util/regional.h"
#include "util/data/msgencode.h"
#include "util/data/msgreply.h"
#include "sldns/sbuffer.h"
#include "sldns/pkthdr.h"
#include <time.h>

/** the writer's logger: Unbound's log (common/host_log.h) */
static void
audit_log(void* arg, int prio, const char* fmt, va_list ap)
{
	(void)arg;
	switch(prio) {
	case LOG_ERR: log_vmsg(LOG_ERR, "error", fmt, ap); break;
	case LOG_WARNING: log_vmsg(LOG_WARNING, "warning", fmt, ap); break;
	case LOG_DEBUG:
		if(verbosity >= VERB_OPS) log_vmsg(LOG_INFO, "info", fmt, ap);
		break;
	default: log_vmsg(LOG_INFO, "info", fmt, ap); break;
	}
}

int
icpguard_audit_start(struct icpguard_env* ie)
{
	struct ig_audit_cfg ac;
	memset(&ac, 0, sizeof(ac));
	ac.socket_path = ie->cfg.audit_socket;
	ac.tcp_addr = ie->cfg.audit_tcp_addr;
	ac.tcp_port = ie->cfg.audit_tcp_port;
	ac.identity = ie->cfg.audit_identity;
	ac.queue = ie->cfg.audit_queue;
	ac.sample = ie->cfg.audit_sample;
	ac.ttl = ie->cfg.ttl;
	ac.auth = 0;
	ac.log = audit_log;
	ac.log_arg = NULL;
	return ig_audit_start(&ie->audit, &ac);
}

/** encode the response (or the query) into region; NULL on failure */
static uint8_t*
encode_msg(struct query_info* qinfo, struct reply_info* rep, int cached,
	struct regional* region, size_t* len)
{
	sldns_buffer buf;
	/* most answers fit in 4 KiB; a 64 KiB region allocation per record
	 * is a malloc and a free each */
	size_t cap = rep ? 4096 : qinfo->qname_len + 16;
	uint8_t* mem;
	while(1) {
		if(!(mem = regional_alloc(region, cap))) return NULL;
		sldns_buffer_init_frm_data(&buf, mem, cap);
		if(!rep) {
			qinfo_query_encode(&buf, qinfo);
			break;
		}
		if(reply_info_encode(qinfo, rep, 0, rep->flags, &buf,
			cached ? time(NULL) : 0, region, 65535, 0, 0) &&
			!(sldns_buffer_limit(&buf) >= LDNS_HEADER_SIZE &&
			LDNS_TC_WIRE(mem)))
			break;
		if(cap == 65535) return NULL;
		cap = 65535;
	}
	*len = sldns_buffer_limit(&buf);
	return mem;
}

void
icpguard_audit_record(struct icpguard_env* ie, struct query_info* qinfo,
	struct reply_info* rep, int cached, struct comm_reply* repinfo,
	const struct ig_audit_policy* pol, struct regional* region)
{
	struct ig_audit_msg m;
	/* the collector is behind: drop before doing any work */
	if(!ig_audit_room(&ie->audit)) return;
	memset(&m, 0, sizeof(m));
	m.qname = qinfo->qname;
	m.qname_len = qinfo->qname_len;
	m.qtype = qinfo->qtype;
	m.qclass = qinfo->qclass;
	if(rep) {
		m.answered = 1;
		m.flags = rep->flags;
		m.ancount = (unsigned)rep->an_numrrsets;
	}
	/* a policy answer without answer records is rebuilt by the encoder
	 * from its SOA; anything else is encoded here, while rep is valid */
	if(!ig_audit_rebuilds(pol, m.answered, m.ancount)) {
		m.wire = rep ? encode_msg(qinfo, rep, cached, region,
			&m.wire_len) : NULL;
		if(!m.wire) { /* no answer, or it did not encode */
			m.wire = encode_msg(qinfo, NULL, 0, region, &m.wire_len);
			m.wire_is_query = 1;
		}
	}
	if(repinfo) {
		m.client = (const struct sockaddr*)&repinfo->client_addr;
		if(repinfo->c)
			m.proto = repinfo->c->type == comm_udp ?
				IG_AUDIT_PROTO_UDP : IG_AUDIT_PROTO_TCP;
	}
	ig_audit_record(&ie->audit, &m, pol);
}
