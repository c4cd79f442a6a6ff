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

static int encoder_start(struct icpguard_env* ie);
static void encoder_stop(struct icpguard_env* ie);

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
	if(!encoder_start(ie)) {
		log_err("icpguard: cannot start the dnstap encoder thread");
		fstrm_iothr_destroy(&ie->audit.iothr);
		return 0;
	}
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
	encoder_stop(ie);
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

/** one captured record, waiting for the encoder thread */
struct audit_event {
	/** response time */
	int64_t sec;
	/** its nanoseconds */
	uint32_t nsec;
	/** client: family (0 none), protocol (1 udp, 2 tcp, 0 unknown) */
	uint8_t family, proto;
	/** client address and port */
	uint8_t addr[16];
	/** port */
	uint16_t port;
	/** the question */
	uint8_t qname[IG_NAME_MAX];
	/** its length */
	uint16_t qname_len;
	/** type and class */
	uint16_t qtype, qclass;
	/** response flags (rcode, QR, RA) */
	uint16_t flags;
	/** the policy SOA rdata (soa_len 0: none) */
	uint8_t soa[IG_NAME_MAX * 2 + 24];
	/** its length */
	uint16_t soa_len;
	/** a message encoded by the worker (answers with records, monitor
	 * verdicts, samples), malloc'ed; NULL when synthesized from soa */
	uint8_t* wire;
	/** its length */
	size_t wire_len;
	/** 1: wire is a query message (no response) */
	uint8_t wire_is_query;
	/** policy part: has one, monitor, action */
	uint8_t has_policy, monitor;
	/** action */
	int action;
	/** reason, id, document, snapshot */
	char reason[16], id[64], doc_no[160], snapshot[48];
	/** matched name (wire) */
	uint8_t match[IG_NAME_MAX];
};

/** bounded string copy */
static void
ev_str(char* dst, size_t cap, const char* src)
{
	size_t n = src ? strlen(src) : 0;
	if(n >= cap) n = cap - 1;
	if(n) memcpy(dst, src, n);
	dst[n] = 0;
}

/** count a drop and say so now and then */
static void
audit_drop(struct icpguard_env* ie)
{
	unsigned long n = atomic_fetch_add(&ie->audit.dropped, 1) + 1;
	if(n == 1 || n % 10000 == 0)
		log_warn("icpguard: dnstap collector not keeping up: %lu "
			"audit records dropped so far", n);
}

void
icpguard_audit_record(struct icpguard_env* ie, struct query_info* qinfo,
	struct reply_info* rep, int cached, struct comm_reply* repinfo,
	const struct icpguard_audit_policy* pol, struct regional* region)
{
	struct icpguard_audit* a = &ie->audit;
	struct audit_event* e;
	struct timespec now;
	uint8_t* wire = NULL;
	size_t wl = 0;
	int is_query = 0, synth;
	if(!a->iothr || !a->ring) return;
	/* the collector is behind: drop before doing any work */
	if(atomic_load_explicit(&a->inflight, memory_order_relaxed) >=
		a->capacity) {
		audit_drop(ie);
		return;
	}
	/* a policy answer without answer records is rebuilt by the encoder
	 * from its SOA; anything else is encoded here, while rep is valid */
	synth = pol && pol->reason && !pol->monitor && pol->soa &&
		pol->soa_len <= sizeof(e->soa) && rep && rep->an_numrrsets == 0;
	if(!synth) {
		uint8_t* w = encode_msg(qinfo, rep, cached, region, &wl);
		if(!w && rep) {
			w = encode_msg(qinfo, NULL, 0, region, &wl);
			is_query = 1;
		} else if(!rep) is_query = 1;
		if(w && (wire = malloc(wl)) != NULL) memcpy(wire, w, wl);
	}
	clock_gettime(CLOCK_REALTIME, &now);
	pthread_mutex_lock(&a->lock);
	if(a->ring_head - a->ring_tail >= a->ring_size) {
		pthread_mutex_unlock(&a->lock);
		free(wire);
		audit_drop(ie);
		return;
	}
	e = &a->ring[a->ring_head % a->ring_size];
	e->sec = now.tv_sec;
	e->nsec = (uint32_t)now.tv_nsec;
	e->family = 0;
	e->proto = 0;
	if(repinfo) {
		struct sockaddr_storage* sa = &repinfo->client_addr;
		if(sa->ss_family == AF_INET) {
			struct sockaddr_in* s4 = (struct sockaddr_in*)sa;
			memcpy(e->addr, &s4->sin_addr, 4);
			e->port = ntohs(s4->sin_port);
			e->family = 4;
		} else if(sa->ss_family == AF_INET6) {
			struct sockaddr_in6* s6 = (struct sockaddr_in6*)sa;
			memcpy(e->addr, &s6->sin6_addr, 16);
			e->port = ntohs(s6->sin6_port);
			e->family = 6;
		}
		if(repinfo->c)
			e->proto = repinfo->c->type == comm_udp ? 1 : 2;
	}
	e->qname_len = (uint16_t)(qinfo->qname_len <= sizeof(e->qname) ?
		qinfo->qname_len : 0);
	memcpy(e->qname, qinfo->qname, e->qname_len);
	e->qtype = qinfo->qtype;
	e->qclass = qinfo->qclass;
	e->flags = rep ? rep->flags : 0;
	e->soa_len = 0;
	if(synth) {
		memcpy(e->soa, pol->soa, pol->soa_len);
		e->soa_len = (uint16_t)pol->soa_len;
	}
	e->wire = wire;
	e->wire_len = wl;
	e->wire_is_query = (uint8_t)is_query;
	e->has_policy = pol && pol->reason;
	if(e->has_policy) {
		e->monitor = (uint8_t)pol->monitor;
		e->action = policy_action(rep, pol->monitor);
		ev_str(e->reason, sizeof(e->reason), pol->reason);
		ev_str(e->id, sizeof(e->id), pol->id);
		ev_str(e->doc_no, sizeof(e->doc_no), pol->doc_no);
		ev_str(e->snapshot, sizeof(e->snapshot), pol->snapshot);
		if(pol->match) memcpy(e->match, pol->match,
			ig_name_wire_len(pol->match));
		else e->match[0] = 0;
	}
	a->ring_head++;
	pthread_mutex_unlock(&a->lock);
	/* no wake-up: the encoder polls, so a worker never pays a futex
	 * system call for a record */
}

/** append a string to buf at *pos (bounded) */
static void
put_str(char* buf, size_t cap, size_t* pos, const char* s)
{
	size_t n = strlen(s);
	if(*pos + n >= cap) n = cap - 1 - *pos;
	memcpy(buf + *pos, s, n);
	*pos += n;
	buf[*pos] = 0;
}

/** the response of a policy answer, rebuilt from its SOA */
static size_t
synth_response(const struct audit_event* e, uint32_t ttl, uint8_t* out,
	size_t cap)
{
	size_t n = 0;
	if(12 + e->qname_len + 4 + 12 + e->soa_len > cap) return 0;
	memset(out, 0, 12);
	out[2] = (uint8_t)((e->flags | 0x8000) >> 8);
	out[3] = (uint8_t)(e->flags | 0x8000);
	out[5] = 1; /* qdcount */
	out[9] = 1; /* nscount */
	n = 12;
	memcpy(out + n, e->qname, e->qname_len);
	n += e->qname_len;
	out[n++] = (uint8_t)(e->qtype >> 8); out[n++] = (uint8_t)e->qtype;
	out[n++] = (uint8_t)(e->qclass >> 8); out[n++] = (uint8_t)e->qclass;
	out[n++] = 0xc0; out[n++] = 12; /* owner: the QNAME */
	out[n++] = 0; out[n++] = LDNS_RR_TYPE_SOA;
	out[n++] = (uint8_t)(e->qclass >> 8); out[n++] = (uint8_t)e->qclass;
	out[n++] = (uint8_t)(ttl >> 24); out[n++] = (uint8_t)(ttl >> 16);
	out[n++] = (uint8_t)(ttl >> 8); out[n++] = (uint8_t)ttl;
	out[n++] = (uint8_t)(e->soa_len >> 8); out[n++] = (uint8_t)e->soa_len;
	memcpy(out + n, e->soa, e->soa_len);
	return n + e->soa_len;
}

/** encode one event and hand it to libfstrm (encoder thread) */
static void
encode_event(struct icpguard_env* ie, struct audit_event* e)
{
	Dnstap__Dnstap d = DNSTAP__DNSTAP__INIT;
	Dnstap__Message m = DNSTAP__MESSAGE__INIT;
	Dnstap__Policy p = DNSTAP__POLICY__INIT;
	static const char version[] = "icpguard " ICPGUARD_VERSION;
	char rule[512], extra[1024];
	uint8_t synth[1200], *buf;
	size_t len, rl = 0, xl;
	d.identity.data = (uint8_t*)ie->audit.identity;
	d.identity.len = strlen(ie->audit.identity);
	d.has_identity = 1;
	d.version.data = (uint8_t*)version;
	d.version.len = sizeof(version) - 1;
	d.has_version = 1;
	d.type = DNSTAP__DNSTAP__TYPE__MESSAGE;
	d.message = &m;
	m.type = DNSTAP__MESSAGE__TYPE__CLIENT_RESPONSE;
	if(e->family) {
		m.query_address.data = e->addr;
		m.query_address.len = e->family == 4 ? 4 : 16;
		m.has_query_address = 1;
		m.query_port = e->port;
		m.has_query_port = 1;
		m.socket_family = e->family == 4 ? DNSTAP__SOCKET_FAMILY__INET :
			DNSTAP__SOCKET_FAMILY__INET6;
		m.has_socket_family = 1;
	}
	if(e->proto) {
		m.socket_protocol = e->proto == 1 ? DNSTAP__SOCKET_PROTOCOL__UDP :
			DNSTAP__SOCKET_PROTOCOL__TCP;
		m.has_socket_protocol = 1;
	}
	if(e->wire && e->wire_is_query) {
		m.query_message.data = e->wire;
		m.query_message.len = e->wire_len;
		m.has_query_message = 1;
	} else if(e->wire) {
		m.response_message.data = e->wire;
		m.response_message.len = e->wire_len;
		m.has_response_message = 1;
	} else if(e->soa_len && (rl = synth_response(e, ie->audit.ttl, synth,
		sizeof(synth))) > 0) {
		m.response_message.data = synth;
		m.response_message.len = rl;
		m.has_response_message = 1;
	}
	m.response_time_sec = (uint64_t)e->sec;
	m.response_time_nsec = e->nsec;
	m.has_response_time_sec = m.has_response_time_nsec = 1;
	if(e->has_policy) {
		struct icpguard_audit_policy pol;
		size_t rn = 0;
		put_str(rule, sizeof(rule), &rn, e->reason);
		if(e->id[0]) {
			put_str(rule, sizeof(rule), &rn, " ");
			put_str(rule, sizeof(rule), &rn, e->id);
		}
		if(e->doc_no[0]) {
			put_str(rule, sizeof(rule), &rn, " ");
			put_str(rule, sizeof(rule), &rn, e->doc_no);
		}
		p.type = "icpguard";
		p.rule.data = (uint8_t*)rule;
		p.rule.len = rn;
		p.has_rule = 1;
		p.action = (Dnstap__Policy__Action)e->action;
		p.has_action = 1;
		p.match = DNSTAP__POLICY__MATCH__QNAME;
		p.has_match = 1;
		if(e->match[0]) {
			p.value.data = e->match;
			p.value.len = ig_name_wire_len(e->match);
			p.has_value = 1;
		}
		m.policy = &p;
		memset(&pol, 0, sizeof(pol));
		pol.reason = e->reason;
		pol.id = e->id;
		pol.doc_no = e->doc_no;
		pol.snapshot = e->snapshot;
		pol.monitor = e->monitor;
		if((xl = extra_json(extra, sizeof(extra), &pol)) > 0) {
			d.extra.data = (uint8_t*)extra;
			d.extra.len = xl;
			d.has_extra = 1;
		}
	}
	len = dnstap__dnstap__get_packed_size(&d);
	buf = malloc(len);
	if(buf) dnstap__dnstap__pack(&d, buf);
	free(e->wire);
	e->wire = NULL;
	if(!buf) {
		audit_drop(ie);
		return;
	}
	atomic_fetch_add(&ie->audit.inflight, 1);
	if(fstrm_iothr_submit(ie->audit.iothr, ie->audit.ioq, buf, len,
		audit_free, &ie->audit) != fstrm_res_success) {
		atomic_fetch_sub(&ie->audit.inflight, 1);
		free(buf);
		audit_drop(ie);
		return;
	}
	atomic_fetch_add(&ie->audit.sent, 1);
}

/** the encoder thread: drains the ring, polling every millisecond when
 * it is empty */
static void*
encoder_main(void* arg)
{
	struct icpguard_env* ie = (struct icpguard_env*)arg;
	struct icpguard_audit* a = &ie->audit;
	struct audit_event ev;
	log_thread_set(NULL);
	while(1) {
		pthread_mutex_lock(&a->lock);
		if(a->ring_head == a->ring_tail) {
			int stop = a->stopping;
			pthread_mutex_unlock(&a->lock);
			if(stop) break;
			{
				struct timespec ts = { 0, 1000000 };
				nanosleep(&ts, NULL);
			}
			continue;
		}
		ev = a->ring[a->ring_tail % a->ring_size];
		/* the wire now belongs to ev (encode_event frees it) */
		a->ring[a->ring_tail % a->ring_size].wire = NULL;
		a->ring_tail++;
		pthread_mutex_unlock(&a->lock);
		encode_event(ie, &ev);
	}
	return NULL;
}

/** start the ring and the encoder (called by icpguard_audit_start) */
static int
encoder_start(struct icpguard_env* ie)
{
	struct icpguard_audit* a = &ie->audit;
	a->ring_size = (size_t)(ie->cfg.audit_queue < 4096 ?
		ie->cfg.audit_queue : 4096);
	if(!(a->ring = calloc(a->ring_size, sizeof(*a->ring)))) return 0;
	a->ring_head = a->ring_tail = 0;
	a->stopping = 0;
	a->ttl = ie->cfg.ttl;
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->wake, NULL);
	if(pthread_create(&a->encoder, NULL, encoder_main, ie) != 0) {
		free(a->ring);
		a->ring = NULL;
		return 0;
	}
	return 1;
}

/** stop the encoder after it drained the ring; free the ring */
static void
encoder_stop(struct icpguard_env* ie)
{
	struct icpguard_audit* a = &ie->audit;
	size_t i;
	if(!a->ring) return;
	pthread_mutex_lock(&a->lock);
	a->stopping = 1;
	pthread_cond_signal(&a->wake);
	pthread_mutex_unlock(&a->lock);
	pthread_join(a->encoder, NULL);
	/* the encoder drained the ring; nothing queued is left, but a
	 * record dropped in between would still own its wire */
	for(i = 0; i < a->ring_size; i++) free(a->ring[i].wire);
	free(a->ring);
	a->ring = NULL;
	pthread_mutex_destroy(&a->lock);
	pthread_cond_destroy(&a->wake);
}
