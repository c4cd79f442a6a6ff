/*
 * module/audit.c - dnstap audit records from the module.
 *
 * \file
 * See audit.h.  Encoding is protobuf-c's (data/dnstap.proto, the standard
 * dnstap schema with its Policy message); transport is libfstrm's I/O
 * thread.  The record carries:
 *   Dnstap.identity/version, Dnstap.extra (JSON: snapshot, reason, id,
 *   doc_no, mode),
 *   Message: CLIENT_RESPONSE, client address and port, socket family and
 *   protocol, query and response wire messages, response time,
 *   Policy: type "icpguard", rule "REASON ID DOCUMENT", action (NXDOMAIN,
 *   NODATA, LOCAL_DATA for a redirect, PASS in monitor mode), match QNAME,
 *   value = the matched name (wire).
 */
#include "config.h"
#include "module/icpguard.h"
#include "module/audit.h"
#include "data/dnstap.pb-c.h"
#include "util/log.h"
#include "util/net_help.h"
#include "util/netevent.h"
#include "util/regional.h"
#include "util/data/msgencode.h"
#include "util/data/msgreply.h"
#include "sldns/sbuffer.h"
#include "sldns/rrdef.h"
#include "sldns/pkthdr.h"
#include <fstrm.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <pthread.h>

/** dnstap content type */
static const char content_type[] = "protobuf:dnstap.Dnstap";

int
icpguard_audit_start(struct icpguard_env* ie)
{
	struct fstrm_writer_options* wopt;
	struct fstrm_writer* w = NULL;
	struct fstrm_iothr_options* topt;
	const struct icpguard_cfg* c = &ie->cfg;
	if(!c->audit_socket[0] && !c->audit_tcp_addr[0]) return 1;
	wopt = fstrm_writer_options_init();
	fstrm_writer_options_add_content_type(wopt, content_type,
		sizeof(content_type) - 1);
	if(c->audit_socket[0]) {
		struct fstrm_unix_writer_options* u =
			fstrm_unix_writer_options_init();
		fstrm_unix_writer_options_set_socket_path(u, c->audit_socket);
		w = fstrm_unix_writer_init(u, wopt);
		fstrm_unix_writer_options_destroy(&u);
	} else {
		char port[16];
		struct fstrm_tcp_writer_options* t =
			fstrm_tcp_writer_options_init();
		snprintf(port, sizeof(port), "%d", c->audit_tcp_port);
		fstrm_tcp_writer_options_set_socket_address(t,
			c->audit_tcp_addr);
		fstrm_tcp_writer_options_set_socket_port(t, port);
		w = fstrm_tcp_writer_init(t, wopt);
		fstrm_tcp_writer_options_destroy(&t);
	}
	fstrm_writer_options_destroy(&wopt);
	if(!w) {
		log_err("icpguard: cannot create the dnstap writer");
		return 0;
	}
	topt = fstrm_iothr_options_init();
	fstrm_iothr_options_set_num_input_queues(topt, 1);
	fstrm_iothr_options_set_queue_model(topt, FSTRM_IOTHR_QUEUE_MODEL_MPSC);
	fstrm_iothr_options_set_input_queue_size(topt,
		(unsigned)c->audit_queue);
	fstrm_iothr_options_set_reopen_interval(topt, 1);
	ie->audit.iothr = fstrm_iothr_init(topt, &w);
	fstrm_iothr_options_destroy(&topt);
	if(!ie->audit.iothr) {
		if(w) fstrm_writer_destroy(&w);
		log_err("icpguard: cannot start the dnstap I/O thread");
		return 0;
	}
	ie->audit.ioq = fstrm_iothr_get_input_queue_idx(ie->audit.iothr, 0);
	ie->audit.capacity = c->audit_queue;
	atomic_store(&ie->audit.inflight, 0);
	if(c->audit_identity[0])
		snprintf(ie->audit.identity, sizeof(ie->audit.identity), "%s",
			c->audit_identity);
	else if(gethostname(ie->audit.identity, sizeof(ie->audit.identity)) != 0)
		snprintf(ie->audit.identity, sizeof(ie->audit.identity),
			"icpguard");
	ie->audit.identity[sizeof(ie->audit.identity) - 1] = 0;
	if(c->audit_socket[0])
		log_info("icpguard: dnstap audit to %s", c->audit_socket);
	else log_info("icpguard: dnstap audit to %s port %d",
		c->audit_tcp_addr, c->audit_tcp_port);
	return 1;
}

/** destroy the I/O thread (joins it; libfstrm waits for the collector) */
static void*
audit_destroy_thread(void* arg)
{
	struct fstrm_iothr* t = (struct fstrm_iothr*)arg;
	fstrm_iothr_destroy(&t);
	return NULL;
}

void
icpguard_audit_stop(struct icpguard_env* ie)
{
	pthread_t th;
	struct timespec until;
	if(!ie->audit.iothr) return;
	/* fstrm_iothr_destroy flushes, sends STOP and waits for the
	 * collector's FINISH without a timeout: a stalled collector would
	 * hold Unbound's stop forever.  Wait 2 s, then leave it behind. */
	if(pthread_create(&th, NULL, audit_destroy_thread, ie->audit.iothr)
		!= 0) {
		fstrm_iothr_destroy(&ie->audit.iothr);
	} else {
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += 2;
		if(pthread_timedjoin_np(th, NULL, &until) != 0) {
			pthread_detach(th);
			log_warn("icpguard: dnstap collector stalled: stop did "
				"not wait for it; %ld queued records abandoned",
				(long)atomic_load(&ie->audit.inflight));
		}
		ie->audit.iothr = NULL;
	}
	ie->audit.ioq = NULL;
	log_info("icpguard: dnstap audit: %lu records sent, %lu dropped "
		"(sent: handed to the I/O thread; dropped: queue full)",
		atomic_load(&ie->audit.sent), atomic_load(&ie->audit.dropped));
}

int
icpguard_audit_sample(struct icpguard_env* ie)
{
	static __thread uint64_t rng;
	if(!ie->audit.iothr || ie->cfg.audit_sample <= 0) return 0;
	if(ie->cfg.audit_sample >= 1) return 1;
	if(!rng) rng = (uint64_t)(uintptr_t)&rng ^ (uint64_t)time(NULL) ^
		0x9e3779b97f4a7c15ULL;
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (double)(rng >> 11) / 9007199254740992.0 < ie->cfg.audit_sample;
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

/** append s as JSON string contents (no quotes) to buf at *pos */
static void
json_esc(char* buf, size_t cap, size_t* pos, const char* s)
{
	for(; *s && *pos + 7 < cap; s++) {
		unsigned char c = (unsigned char)*s;
		if(c == '"' || c == '\\') {
			buf[(*pos)++] = '\\';
			buf[(*pos)++] = (char)c;
		} else if(c < 0x20) {
			*pos += (size_t)snprintf(buf + *pos, cap - *pos,
				"\\u%04x", c);
		} else buf[(*pos)++] = (char)c;
	}
	buf[*pos] = 0;
}

/** the extra summary {"snapshot","reason","id","doc_no","mode"} */
static size_t
extra_json(char* buf, size_t cap, const struct icpguard_audit_policy* pol)
{
	size_t n = 0;
	const char* keys[] = { "snapshot", "reason", "id", "doc_no", "mode" };
	const char* vals[5];
	int i;
	vals[0] = pol->snapshot ? pol->snapshot : "";
	vals[1] = pol->reason;
	vals[2] = pol->id;
	vals[3] = pol->doc_no;
	vals[4] = pol->monitor ? "monitor" : "enforce";
	buf[n++] = '{';
	for(i = 0; i < 5; i++) {
		n += (size_t)snprintf(buf + n, cap - n, "%s\"%s\":\"",
			i ? "," : "", keys[i]);
		if(n >= cap) return 0;
		json_esc(buf, cap, &n, vals[i]);
		if(n + 3 >= cap) return 0;
		buf[n++] = '"';
	}
	buf[n++] = '}';
	buf[n] = 0;
	return n;
}

/** libfstrm's free callback: the I/O thread is done with a record */
static void
audit_free(void* buf, void* arg)
{
	struct icpguard_audit* a = (struct icpguard_audit*)arg;
	free(buf);
	atomic_fetch_sub(&a->inflight, 1);
}

/** the policy action the response shows */
static Dnstap__Policy__Action
policy_action(struct reply_info* rep, int monitor)
{
	if(monitor || !rep) return DNSTAP__POLICY__ACTION__PASS;
	if(FLAGS_GET_RCODE(rep->flags) == LDNS_RCODE_NXDOMAIN)
		return DNSTAP__POLICY__ACTION__NXDOMAIN;
	if(FLAGS_GET_RCODE(rep->flags) == LDNS_RCODE_REFUSED)
		return DNSTAP__POLICY__ACTION__DROP;
	if(rep->an_numrrsets > 0) return DNSTAP__POLICY__ACTION__LOCAL_DATA;
	return DNSTAP__POLICY__ACTION__NODATA;
}

void
icpguard_audit_record(struct icpguard_env* ie, struct query_info* qinfo,
	struct reply_info* rep, int cached, struct comm_reply* repinfo,
	const struct icpguard_audit_policy* pol, struct regional* region)
{
	Dnstap__Dnstap d = DNSTAP__DNSTAP__INIT;
	Dnstap__Message m = DNSTAP__MESSAGE__INIT;
	Dnstap__Policy p = DNSTAP__POLICY__INIT;
	char rule[512], extra[1024];
	size_t xl;
	static const char version[] = "icpguard " ICPGUARD_VERSION;
	struct timespec now;
	uint8_t* buf, *qwire, *rwire;
	size_t len, ql = 0, rl = 0;
	if(!ie->audit.iothr) return;
	/* the queue is full (collector slow, stalled or absent): drop before
	 * spending anything on the encoding */
	if(atomic_load_explicit(&ie->audit.inflight, memory_order_relaxed) >=
		ie->audit.capacity) {
		unsigned long n = atomic_fetch_add(&ie->audit.dropped, 1) + 1;
		if(n == 1 || n % 10000 == 0)
			log_warn("icpguard: dnstap collector not keeping up: %lu "
				"audit records dropped so far", n);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	d.identity.data = (uint8_t*)ie->audit.identity;
	d.identity.len = strlen(ie->audit.identity);
	d.has_identity = 1;
	d.version.data = (uint8_t*)version;
	d.version.len = sizeof(version) - 1;
	d.has_version = 1;
	d.type = DNSTAP__DNSTAP__TYPE__MESSAGE;
	d.message = &m;
	m.type = DNSTAP__MESSAGE__TYPE__CLIENT_RESPONSE;
	if(repinfo) {
		struct sockaddr_storage* sa = &repinfo->client_addr;
		if(sa->ss_family == AF_INET) {
			struct sockaddr_in* s4 = (struct sockaddr_in*)sa;
			m.query_address.data = (uint8_t*)&s4->sin_addr;
			m.query_address.len = 4;
			m.query_port = ntohs(s4->sin_port);
			m.socket_family = DNSTAP__SOCKET_FAMILY__INET;
		} else if(sa->ss_family == AF_INET6) {
			struct sockaddr_in6* s6 = (struct sockaddr_in6*)sa;
			m.query_address.data = (uint8_t*)&s6->sin6_addr;
			m.query_address.len = 16;
			m.query_port = ntohs(s6->sin6_port);
			m.socket_family = DNSTAP__SOCKET_FAMILY__INET6;
		}
		m.has_query_address = m.query_address.len > 0;
		m.has_query_port = m.has_socket_family = m.has_query_address;
		if(repinfo->c) {
			m.socket_protocol = repinfo->c->type == comm_udp ?
				DNSTAP__SOCKET_PROTOCOL__UDP :
				DNSTAP__SOCKET_PROTOCOL__TCP;
			m.has_socket_protocol = 1;
		}
	}
	/* the response carries the question; the query message is written
	 * only when there is no response (monitor verdicts before
	 * resolution) */
	if(rep && (rwire = encode_msg(qinfo, rep, cached, region, &rl))) {
		m.response_message.data = rwire;
		m.response_message.len = rl;
		m.has_response_message = 1;
	} else if((qwire = encode_msg(qinfo, NULL, 0, region, &ql)) != NULL) {
		m.query_message.data = qwire;
		m.query_message.len = ql;
		m.has_query_message = 1;
	}
	m.response_time_sec = (uint64_t)now.tv_sec;
	m.response_time_nsec = (uint32_t)now.tv_nsec;
	m.has_response_time_sec = m.has_response_time_nsec = 1;
	if(pol && pol->reason) {
		snprintf(rule, sizeof(rule), "%s%s%s%s%s", pol->reason,
			pol->id[0] ? " " : "", pol->id,
			pol->doc_no[0] ? " " : "", pol->doc_no);
		p.type = "icpguard";
		p.rule.data = (uint8_t*)rule;
		p.rule.len = strlen(rule);
		p.has_rule = 1;
		p.action = policy_action(rep, pol->monitor);
		p.has_action = 1;
		p.match = DNSTAP__POLICY__MATCH__QNAME;
		p.has_match = 1;
		if(pol->match) {
			p.value.data = (uint8_t*)pol->match;
			p.value.len = ig_name_wire_len(pol->match);
			p.has_value = 1;
		}
		m.policy = &p;
		if((xl = extra_json(extra, sizeof(extra), pol)) > 0) {
			d.extra.data = (uint8_t*)extra;
			d.extra.len = xl;
			d.has_extra = 1;
		}
	}
	len = dnstap__dnstap__get_packed_size(&d);
	buf = malloc(len);
	if(!buf) {
		atomic_fetch_add(&ie->audit.dropped, 1);
		return;
	}
	dnstap__dnstap__pack(&d, buf);
	atomic_fetch_add(&ie->audit.inflight, 1);
	if(fstrm_iothr_submit(ie->audit.iothr, ie->audit.ioq, buf, len,
		audit_free, &ie->audit) != fstrm_res_success) {
		unsigned long n = atomic_fetch_add(&ie->audit.dropped, 1) + 1;
		atomic_fetch_sub(&ie->audit.inflight, 1);
		free(buf);
		/* a log line at the first drop and every 10000th after */
		if(n == 1 || n % 10000 == 0)
			log_warn("icpguard: dnstap collector not keeping up: %lu "
				"audit records dropped so far", n);
		return;
	}
	atomic_fetch_add(&ie->audit.sent, 1);
}
