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
#include "module/collector.h"
#include "module/frames.h"
#include "module/pack.h"
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
#include <dlfcn.h>
#include <fstrm.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <pthread.h>

static int encoder_start(struct icpguard_env* ie);
static void encoder_stop(struct icpguard_env* ie);
static void audit_drop(struct icpguard_env* ie);

/** the frame ring (module/frames.h): bytes per queued frame, at most */
#define AUDIT_FRAME_TYPICAL 512
#define AUDIT_FRAME_RING_MAX (8 * 1024 * 1024)

/** dnstap content type */
static const char content_type[] = "protobuf:dnstap.Dnstap";

/**
 * What libfstrm's free callback touches.  It runs in the I/O thread (or in
 * the thread destroying it), possibly after the module stopped: an I/O
 * thread blocked on a stalled collector is left behind at stop, and
 * whatever it frees later must not touch the module's freed memory.  So
 * this lives on its own, owned by the thread that destroys the I/O thread
 * (audit_destroy_thread), which frees it after the last callback.
 * The frames' memory is here too (module/frames.h).
 */
struct audit_sink {
	/** records handed to the I/O thread and not yet freed by it */
	atomic_long inflight;
	/** records the I/O thread threw away: no collector connected */
	atomic_ulong discarded;
	/** the discards were reported since the last connection */
	atomic_int discard_told;
	/** the connection to the collector */
	struct icpguard_collector col;
	/** the frames in flight: taken by the encoder, given back by the
	 * free callback */
	struct icpguard_frames frames;
};

/** libfstrm's free callback: the I/O thread is done with a frame, written
 * or (no collector connected) thrown away */
static void
sink_free(void* buf, void* arg)
{
	struct audit_sink* k = (struct audit_sink*)arg;
	frames_give_back(&k->frames, buf);
	if(!atomic_load(&k->col.connected)) {
		atomic_fetch_add(&k->discarded, 1);
		if(!atomic_exchange(&k->discard_told, 1))
			log_warn("icpguard: dnstap collector %s not connected: "
				"audit records discarded (counted as dropped)",
				k->col.name);
	} else atomic_store(&k->discard_told, 0);
	atomic_fetch_sub(&k->inflight, 1);
}

/** free the sink (no I/O thread may use it any more) */
static void
sink_destroy(struct audit_sink* k)
{
	if(!k) return;
	icpguard_collector_free(&k->col);
	frames_free(&k->frames);
	free(k);
}

int
icpguard_audit_start(struct icpguard_env* ie)
{
	struct fstrm_writer* w = NULL;
	struct fstrm_iothr_options* topt;
	const struct icpguard_cfg* c = &ie->cfg;
	if(!c->audit_socket[0] && !c->audit_tcp_addr[0]) return 1;
	if(!(ie->audit.sink = calloc(1, sizeof(*ie->audit.sink)))) {
		log_err("icpguard: out of memory starting dnstap");
		return 0;
	}
	/* room for the queue's frames at a typical size, up to a bound;
	 * beyond (large frames, a queue longer than that) frames are
	 * malloc'ed, and so are all of them without the ring */
	(void)frames_init(&ie->audit.sink->frames, (size_t)c->audit_queue *
		AUDIT_FRAME_TYPICAL < AUDIT_FRAME_RING_MAX ?
		(size_t)c->audit_queue * AUDIT_FRAME_TYPICAL :
		AUDIT_FRAME_RING_MAX);
	if(!(w = icpguard_collector_writer(&ie->audit.sink->col,
		c->audit_socket, c->audit_tcp_addr, c->audit_tcp_port,
		content_type))) {
		log_err("icpguard: cannot create the dnstap writer");
		frames_free(&ie->audit.sink->frames);
		free(ie->audit.sink);
		ie->audit.sink = NULL;
		return 0;
	}
	topt = fstrm_iothr_options_init();
	fstrm_iothr_options_set_num_input_queues(topt, 1);
	/* one producer, the encoder thread: the lock-free queue */
	fstrm_iothr_options_set_queue_model(topt, FSTRM_IOTHR_QUEUE_MODEL_SPSC);
	fstrm_iothr_options_set_input_queue_size(topt,
		(unsigned)c->audit_queue);
	/* fewer, larger writes and wake-ups than the defaults (8 KiB, 64
	 * frames, a wake-up per 32 records): a few hundred frames per
	 * writev; the flush timeout (1 s) still bounds the delay */
	fstrm_iothr_options_set_buffer_hint(topt, FSTRM_IOTHR_BUFFER_HINT_MAX);
	fstrm_iothr_options_set_output_queue_size(topt, 512);
	fstrm_iothr_options_set_queue_notify_threshold(topt,
		(unsigned)(c->audit_queue / 4 < 256 ? (c->audit_queue / 4 > 0 ?
		c->audit_queue / 4 : 1) : 256));
	fstrm_iothr_options_set_reopen_interval(topt, 1);
	ie->audit.iothr = fstrm_iothr_init(topt, &w);
	fstrm_iothr_options_destroy(&topt);
	if(!ie->audit.iothr) {
		if(w) fstrm_writer_destroy(&w);
		sink_destroy(ie->audit.sink);
		ie->audit.sink = NULL;
		log_err("icpguard: cannot start the dnstap I/O thread");
		return 0;
	}
	ie->audit.ioq = fstrm_iothr_get_input_queue_idx(ie->audit.iothr, 0);
	ie->audit.capacity = c->audit_queue;
	if(c->audit_identity[0])
		snprintf(ie->audit.identity, sizeof(ie->audit.identity), "%s",
			c->audit_identity);
	else if(gethostname(ie->audit.identity, sizeof(ie->audit.identity)) != 0)
		snprintf(ie->audit.identity, sizeof(ie->audit.identity),
			"icpguard");
	ie->audit.identity[sizeof(ie->audit.identity) - 1] = 0;
	ie->audit.identity_len = strlen(ie->audit.identity);
	if(!encoder_start(ie)) {
		log_err("icpguard: cannot start the dnstap encoder thread");
		fstrm_iothr_destroy(&ie->audit.iothr);
		sink_destroy(ie->audit.sink);
		ie->audit.sink = NULL;
		return 0;
	}
	if(c->audit_socket[0])
		log_info("icpguard: dnstap audit to %s", c->audit_socket);
	else log_info("icpguard: dnstap audit to %s port %d",
		c->audit_tcp_addr, c->audit_tcp_port);
	return 1;
}

/**
 * Keep this module (and libfstrm, which it loaded) mapped for good: an I/O
 * thread left behind at stop runs libfstrm's code and the module's free
 * callback when the collector comes back, after Unbound's dynlib module
 * has dlclose'd the module (reload).  Without this, a reload while the
 * collector was stalled crashed Unbound once the collector resumed
 * (tests/audit/audit.sh, part 5).  A later load of the same file (the
 * reload) gets the same image, which starts afresh in init.
 */
static void
pin_module(void)
{
	Dl_info di;
	if(!dladdr((void*)&sink_free, &di) || !di.dli_fname ||
		!dlopen(di.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE))
		log_warn("icpguard: cannot keep the module loaded for the "
			"dnstap I/O thread left behind: %s", dlerror());
}

/** what the thread destroying the I/O thread owns */
struct audit_destroy {
	/** the I/O thread */
	struct fstrm_iothr* iothr;
	/** the sink its free callbacks use */
	struct audit_sink* sink;
	/** 0 at first; the destroying thread and the stop each add 1 when
	 * done with it: whoever comes second frees the sink and this */
	atomic_int done;
};

/** free what a destroy owned */
static void
destroy_free(struct audit_destroy* d)
{
	sink_destroy(d->sink);
	free(d);
}

/** destroy the I/O thread (joins it; libfstrm flushes, sends STOP and
 * waits for the collector's FINISH) */
static void*
audit_destroy_thread(void* arg)
{
	struct audit_destroy* d = (struct audit_destroy*)arg;
	fstrm_iothr_destroy(&d->iothr);
	if(atomic_fetch_add(&d->done, 1) == 1) destroy_free(d);
	return NULL;
}

/** wait for a thread at most ms; @return 1 joined */
static int
join_within(pthread_t th, int ms)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (long)(ms % 1000) * 1000000L;
	if(until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	return pthread_timedjoin_np(th, NULL, &until) == 0;
}

void
icpguard_audit_stop(struct icpguard_env* ie)
{
	struct audit_destroy* d;
	pthread_t th;
	unsigned long discarded = 0;
	long queued;
	if(!ie->audit.iothr) return;
	encoder_stop(ie);
	verbose(VERB_OPS, "icpguard: dnstap frames: %lu from the ring, %lu "
		"malloc'ed (ring full)", ie->audit.sink->frames.taken,
		ie->audit.sink->frames.fallback);
	queued = (long)atomic_load(&ie->audit.sink->inflight);
	/* a live collector gets what is queued (1 s); a stalled one would
	 * hold the flush forever: then the socket is shut down, the I/O
	 * thread's write fails and its destroy ends (1 s more); only if even
	 * that does not end is the thread left behind */
	if(!(d = calloc(1, sizeof(*d)))) {
		icpguard_collector_shutdown(&ie->audit.sink->col);
		fstrm_iothr_destroy(&ie->audit.iothr);
		discarded = atomic_load(&ie->audit.sink->discarded);
		sink_destroy(ie->audit.sink);
	} else {
		d->iothr = ie->audit.iothr;
		d->sink = ie->audit.sink;
		if(pthread_create(&th, NULL, audit_destroy_thread, d) != 0) {
			icpguard_collector_shutdown(&d->sink->col);
			fstrm_iothr_destroy(&d->iothr);
			atomic_store(&d->done, 1);
		} else if(!join_within(th, 1000)) {
			log_warn("icpguard: dnstap collector stalled at stop: "
				"closing the connection, about %ld queued "
				"records lost", queued);
			icpguard_collector_shutdown(&d->sink->col);
			if(!join_within(th, 1000)) {
				pthread_detach(th);
				pin_module();
				log_warn("icpguard: dnstap I/O thread left "
					"behind");
			}
		}
		if(atomic_fetch_add(&d->done, 1) == 1) {
			discarded = atomic_load(&d->sink->discarded);
			destroy_free(d);
		}
	}
	ie->audit.iothr = NULL;
	ie->audit.sink = NULL;
	ie->audit.ioq = NULL;
	log_info("icpguard: dnstap audit: %lu records sent, %lu dropped "
		"(sent: handed to the I/O thread; dropped: queue full, or no "
		"collector connected: %lu)",
		atomic_load(&ie->audit.sent) - discarded,
		atomic_load(&ie->audit.dropped) + discarded, discarded);
}

unsigned long
icpguard_audit_dropped(struct icpguard_env* ie)
{
	struct audit_sink* k = ie->audit.sink;
	return atomic_load(&ie->audit.dropped) +
		(k ? atomic_load(&k->discarded) : 0);
}

int
icpguard_audit_room(struct icpguard_env* ie)
{
	struct icpguard_audit* a = &ie->audit;
	if(!a->iothr || !a->ring) return 0;
	/* the in-flight count changes with every record in two other
	 * threads: read it only when the encoder says it is near the
	 * capacity */
	if(atomic_load_explicit(&a->full, memory_order_relaxed) &&
		atomic_load_explicit(&a->sink->inflight, memory_order_relaxed)
		>= a->capacity) {
		audit_drop(ie);
		return 0;
	}
	return 1;
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

/**
 * The ring: workers append records as packed bytes (a header, then the
 * variable fields back to back), the encoder thread reads them in place.
 * A record is a few cache lines, not a fixed 1.3 KiB slot: every line a
 * worker writes has to travel to the encoder's core, so the fewer the
 * better.  A record never wraps; a header with length 0 says "continue
 * at the start of the buffer".
 */
struct audit_hdr {
	/** record length, header included, multiple of 8; 0: wrap */
	uint32_t len;
	/** response time nanoseconds */
	uint32_t nsec;
	/** response time */
	int64_t sec;
	/** a message encoded by the worker, malloc'ed (NULL: synthesized
	 * from the SOA); the encoder frees it */
	uint8_t* wire;
	/** its length */
	uint32_t wire_len;
	/** client address */
	uint8_t addr[16];
	/** client port */
	uint16_t port;
	/** type, class, response flags */
	uint16_t qtype, qclass, flags;
	/** family (0 none, 4, 6), protocol (1 udp, 2 tcp, 0 unknown) */
	uint8_t family, proto;
	/** 1: wire is a query message; has a policy part; monitor mode */
	uint8_t wire_is_query, has_policy, monitor;
	/** dnstap policy action */
	uint8_t action;
	/** lengths of the variable fields that follow, in this order:
	 * qname, soa, match (wire), reason, id, doc_no, snapshot (text,
	 * each followed by a NUL not counted here) */
	uint16_t vlen[7];
};

/** variable fields of a record */
enum { V_QNAME, V_SOA, V_MATCH, V_REASON, V_ID, V_DOC, V_SNAP, V_COUNT };

/** one record as the encoder reads it: the header and pointers into the
 * ring */
struct audit_event {
	/** the header */
	const struct audit_hdr* h;
	/** the variable fields */
	const uint8_t* qname, *soa, *match;
	/** their lengths */
	size_t qname_len, soa_len;
	/** the text fields ("" when absent) */
	const char* reason, *id, *doc_no, *snapshot;
};

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

/** append a plain string to buf at *pos, if it fits with room to spare */
static int
json_raw(char* buf, size_t cap, size_t* pos, const char* s)
{
	size_t n = strlen(s);
	if(*pos + n + 8 >= cap) return 0;
	memcpy(buf + *pos, s, n);
	*pos += n;
	return 1;
}

/** the extra summary {"snapshot","reason","id","doc_no","mode"} */
static size_t
extra_json(char* buf, size_t cap, const struct audit_event* e)
{
	size_t n = 0;
	static const char* const keys[] = { "{\"snapshot\":\"",
		"\",\"reason\":\"", "\",\"id\":\"", "\",\"doc_no\":\"",
		"\",\"mode\":\"" };
	const char* vals[5];
	int i;
	vals[0] = e->snapshot;
	vals[1] = e->reason;
	vals[2] = e->id;
	vals[3] = e->doc_no;
	vals[4] = e->h->monitor ? "monitor" : "enforce";
	for(i = 0; i < 5; i++) {
		if(!json_raw(buf, cap, &n, keys[i])) return 0;
		json_esc(buf, cap, &n, vals[i]);
	}
	if(!json_raw(buf, cap, &n, "\"}")) return 0;
	buf[n] = 0;
	return n;
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

/** round up to the record alignment */
#define REC_ALIGN(n) (((n) + 7) & ~(size_t)7)

/** count a drop and say so now and then */
static void
audit_drop(struct icpguard_env* ie)
{
	unsigned long n = atomic_fetch_add(&ie->audit.dropped, 1) + 1;
	if(n == 1 || n % 10000 == 0)
		log_warn("icpguard: dnstap collector not keeping up: %lu "
			"audit records dropped so far", n);
}

/** the length of s cut to 255 bytes at a character boundary (not inside
 * a UTF-8 sequence) */
static size_t
text_cut(const char* s)
{
	size_t n = strnlen(s, 255);
	if(s[n]) while(n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	return n;
}

void
icpguard_audit_texts_set(struct icpguard_audit_texts* t, const char* reason,
	const char* id, const char* doc_no)
{
	const char* x[3] = { reason, id, doc_no };
	char* p = t->buf;
	int i;
	for(i = 0; i < 3; i++) {
		size_t n = x[i] ? text_cut(x[i]) : 0;
		if(n) memcpy(p, x[i], n);
		p[n] = 0;
		p += n + 1;
		t->len[i] = (uint8_t)n;
	}
}

/** the texts of a record without a policy: three empty strings */
static const struct icpguard_audit_texts no_texts;

void
icpguard_audit_record(struct icpguard_env* ie, struct query_info* qinfo,
	struct reply_info* rep, int cached, struct comm_reply* repinfo,
	const struct icpguard_audit_policy* pol, struct regional* region)
{
	struct icpguard_audit* a = &ie->audit;
	const struct icpguard_audit_texts* tx = pol && pol->texts ?
		pol->texts : NULL;
	struct audit_hdr* h;
	struct timespec now;
	uint8_t* wire = NULL, *p;
	size_t wl = 0, len, at, room, qn, sl = 0, ml = 0, tl, nl = 0;
	int is_query = 0, synth;
	/* the collector is behind: drop before doing any work */
	if(!icpguard_audit_room(ie)) return;
	/* a policy answer without answer records is rebuilt by the encoder
	 * from its SOA; anything else is encoded here, while rep is valid */
	synth = tx && !pol->monitor && pol->soa &&
		pol->soa_len <= IG_NAME_MAX * 2 + 24 && rep &&
		rep->an_numrrsets == 0;
	if(!synth) {
		uint8_t* w = encode_msg(qinfo, rep, cached, region, &wl);
		if(!w && rep) {
			w = encode_msg(qinfo, NULL, 0, region, &wl);
			is_query = 1;
		} else if(!rep) is_query = 1;
		if(w && (wire = malloc(wl)) != NULL) memcpy(wire, w, wl);
	}
	/* the variable fields (struct audit_hdr, vlen) and their lengths:
	 * the texts come measured, a NUL after each */
	qn = qinfo->qname_len <= IG_NAME_MAX ? qinfo->qname_len : 0;
	if(synth) sl = pol->soa_len;
	if(tx) {
		if(pol->match) ml = ig_name_wire_len(pol->match);
		nl = pol->snapshot && pol->snapshot_len <= 255 ?
			pol->snapshot_len : 0;
	} else tx = &no_texts;
	tl = (size_t)tx->len[0] + tx->len[1] + tx->len[2] + 3;
	len = REC_ALIGN(sizeof(*h) + qn + sl + ml + tl + nl + 1);
	clock_gettime(CLOCK_REALTIME, &now);
	pthread_mutex_lock(&a->lock);
	/* room: the record must fit before the end of the buffer, else a
	 * wrap marker takes the rest and the record starts at 0 */
	at = (size_t)(a->ring_head % a->ring_cap);
	room = a->ring_cap - (size_t)(a->ring_head - a->ring_tail);
	if(a->ring_cap - at < len) {
		if(room < (a->ring_cap - at) + len) goto full;
		((struct audit_hdr*)(a->ring + at))->len = 0;
		a->ring_head += a->ring_cap - at;
		at = 0;
	} else if(room < len) goto full;
	h = (struct audit_hdr*)(a->ring + at);
	h->len = (uint32_t)len;
	h->sec = now.tv_sec;
	h->nsec = (uint32_t)now.tv_nsec;
	h->wire = wire;
	h->wire_len = (uint32_t)wl;
	h->family = 0;
	h->proto = 0;
	h->port = 0;
	if(repinfo) {
		struct sockaddr_storage* sa = &repinfo->client_addr;
		if(sa->ss_family == AF_INET) {
			struct sockaddr_in* s4 = (struct sockaddr_in*)sa;
			memcpy(h->addr, &s4->sin_addr, 4);
			h->port = ntohs(s4->sin_port);
			h->family = 4;
		} else if(sa->ss_family == AF_INET6) {
			struct sockaddr_in6* s6 = (struct sockaddr_in6*)sa;
			memcpy(h->addr, &s6->sin6_addr, 16);
			h->port = ntohs(s6->sin6_port);
			h->family = 6;
		}
		if(repinfo->c)
			h->proto = repinfo->c->type == comm_udp ? 1 : 2;
	}
	h->qtype = qinfo->qtype;
	h->qclass = qinfo->qclass;
	h->flags = rep ? rep->flags : 0;
	h->wire_is_query = (uint8_t)is_query;
	h->has_policy = (uint8_t)(tx != &no_texts);
	h->monitor = (uint8_t)(h->has_policy && pol->monitor);
	h->action = (uint8_t)(h->has_policy ? policy_action(rep,
		pol->monitor) : 0);
	h->vlen[V_QNAME] = (uint16_t)qn;
	h->vlen[V_SOA] = (uint16_t)sl;
	h->vlen[V_MATCH] = (uint16_t)ml;
	h->vlen[V_REASON] = tx->len[0];
	h->vlen[V_ID] = tx->len[1];
	h->vlen[V_DOC] = tx->len[2];
	h->vlen[V_SNAP] = (uint16_t)nl;
	p = (uint8_t*)(h + 1);
	memcpy(p, qinfo->qname, qn);
	p += qn;
	if(sl) memcpy(p, pol->soa, sl);
	p += sl;
	if(ml) memcpy(p, pol->match, ml);
	p += ml;
	memcpy(p, tx->buf, tl);
	p += tl;
	if(nl) memcpy(p, pol->snapshot, nl);
	p[nl] = 0;
	a->ring_head += len;
	pthread_mutex_unlock(&a->lock);
	/* no wake-up: the encoder polls, so a worker never pays a futex
	 * system call for a record */
	return;
full:
	pthread_mutex_unlock(&a->lock);
	free(wire);
	audit_drop(ie);
}

/** the record at ring offset at, as the encoder reads it */
static void
event_read(const uint8_t* rec, struct audit_event* e)
{
	const uint8_t* p;
	const char** t[4];
	int i;
	e->h = (const struct audit_hdr*)rec;
	p = rec + sizeof(*e->h);
	e->qname = p;
	e->qname_len = e->h->vlen[V_QNAME];
	p += e->qname_len;
	e->soa = p;
	e->soa_len = e->h->vlen[V_SOA];
	p += e->soa_len;
	e->match = e->h->vlen[V_MATCH] ? p : (const uint8_t*)"";
	p += e->h->vlen[V_MATCH];
	t[0] = &e->reason; t[1] = &e->id; t[2] = &e->doc_no; t[3] = &e->snapshot;
	for(i = 0; i < 4; i++) {
		*t[i] = (const char*)p;
		p += e->h->vlen[V_REASON + i] + 1;
	}
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
	out[2] = (uint8_t)((e->h->flags | 0x8000) >> 8);
	out[3] = (uint8_t)(e->h->flags | 0x8000);
	out[5] = 1; /* qdcount */
	out[9] = 1; /* nscount */
	n = 12;
	memcpy(out + n, e->qname, e->qname_len);
	n += e->qname_len;
	out[n++] = (uint8_t)(e->h->qtype >> 8); out[n++] = (uint8_t)e->h->qtype;
	out[n++] = (uint8_t)(e->h->qclass >> 8); out[n++] = (uint8_t)e->h->qclass;
	out[n++] = 0xc0; out[n++] = 12; /* owner: the QNAME */
	out[n++] = 0; out[n++] = LDNS_RR_TYPE_SOA;
	out[n++] = (uint8_t)(e->h->qclass >> 8); out[n++] = (uint8_t)e->h->qclass;
	out[n++] = (uint8_t)(ttl >> 24); out[n++] = (uint8_t)(ttl >> 16);
	out[n++] = (uint8_t)(ttl >> 8); out[n++] = (uint8_t)ttl;
	out[n++] = (uint8_t)(e->soa_len >> 8); out[n++] = (uint8_t)e->soa_len;
	memcpy(out + n, e->soa, e->soa_len);
	return n + e->soa_len;
}

/** tell the workers whether libfstrm's queue is near its capacity (up
 * from an eighth below it, down again a quarter below), so that they read
 * the exact in-flight count only then (encoder thread; the encoder raises
 * the count, so the flag is up before the count reaches the capacity;
 * the gap keeps the flag from flipping with every batch the I/O thread
 * writes) */
static void
update_full(struct icpguard_audit* a)
{
	long n = atomic_load_explicit(&a->sink->inflight,
		memory_order_relaxed);
	int f = atomic_load_explicit(&a->full, memory_order_relaxed);
	if(!f && n >= a->capacity - a->capacity / 8)
		atomic_store_explicit(&a->full, 1, memory_order_relaxed);
	else if(f && n < a->capacity - a->capacity / 4)
		atomic_store_explicit(&a->full, 0, memory_order_relaxed);
}

/** encode one event and hand it to libfstrm (encoder thread) */
static void
encode_event(struct icpguard_env* ie, const struct audit_event* e)
{
	Dnstap__Dnstap d = DNSTAP__DNSTAP__INIT;
	Dnstap__Message m = DNSTAP__MESSAGE__INIT;
	Dnstap__Policy p = DNSTAP__POLICY__INIT;
	static const char version[] = "icpguard " ICPGUARD_VERSION;
	uint8_t synth[1200], *buf;
	size_t len, rl = 0;
	struct pack_sizes sz;
	struct audit_sink* sink = ie->audit.sink;
	d.identity.data = (uint8_t*)ie->audit.identity;
	d.identity.len = ie->audit.identity_len;
	d.has_identity = 1;
	d.version.data = (uint8_t*)version;
	d.version.len = sizeof(version) - 1;
	d.has_version = 1;
	d.type = DNSTAP__DNSTAP__TYPE__MESSAGE;
	d.message = &m;
	m.type = DNSTAP__MESSAGE__TYPE__CLIENT_RESPONSE;
	if(e->h->family) {
		m.query_address.data = (uint8_t*)e->h->addr;
		m.query_address.len = e->h->family == 4 ? 4 : 16;
		m.has_query_address = 1;
		m.query_port = e->h->port;
		m.has_query_port = 1;
		m.socket_family = e->h->family == 4 ? DNSTAP__SOCKET_FAMILY__INET :
			DNSTAP__SOCKET_FAMILY__INET6;
		m.has_socket_family = 1;
	}
	if(e->h->proto) {
		m.socket_protocol = e->h->proto == 1 ? DNSTAP__SOCKET_PROTOCOL__UDP :
			DNSTAP__SOCKET_PROTOCOL__TCP;
		m.has_socket_protocol = 1;
	}
	if(e->h->wire && e->h->wire_is_query) {
		m.query_message.data = e->h->wire;
		m.query_message.len = e->h->wire_len;
		m.has_query_message = 1;
	} else if(e->h->wire) {
		m.response_message.data = e->h->wire;
		m.response_message.len = e->h->wire_len;
		m.has_response_message = 1;
	} else if(e->soa_len && (rl = synth_response(e, ie->audit.ttl, synth,
		sizeof(synth))) > 0) {
		m.response_message.data = synth;
		m.response_message.len = rl;
		m.has_response_message = 1;
	}
	m.response_time_sec = (uint64_t)e->h->sec;
	m.response_time_nsec = e->h->nsec;
	m.has_response_time_sec = m.has_response_time_nsec = 1;
	if(e->h->has_policy) {
		struct icpguard_audit_text* t = &ie->audit.text;
		/* the rule and the extra JSON depend only on the text fields
		 * (reason, id, doc_no, snapshot: contiguous in the record)
		 * and the mode; consecutive records mostly share them */
		size_t kl = (size_t)((const uint8_t*)e->snapshot + e->h->vlen[
			V_SNAP] + 1 - (const uint8_t*)e->reason);
		if(kl + 1 > sizeof(t->key) || t->keylen != kl + 1 ||
			t->key[kl] != e->h->monitor ||
			memcmp(t->key, e->reason, kl) != 0) {
			size_t rn = 0;
			put_str(t->rule, sizeof(t->rule), &rn, e->reason);
			if(e->id[0]) {
				put_str(t->rule, sizeof(t->rule), &rn, " ");
				put_str(t->rule, sizeof(t->rule), &rn, e->id);
			}
			if(e->doc_no[0]) {
				put_str(t->rule, sizeof(t->rule), &rn, " ");
				put_str(t->rule, sizeof(t->rule), &rn, e->doc_no);
			}
			t->rule_len = rn;
			t->extra_len = extra_json(t->extra, sizeof(t->extra), e);
			t->keylen = 0;
			if(kl + 1 <= sizeof(t->key)) {
				memcpy(t->key, e->reason, kl);
				t->key[kl] = e->h->monitor;
				t->keylen = kl + 1;
			}
		}
		p.type = "icpguard";
		p.rule.data = (uint8_t*)t->rule;
		p.rule.len = t->rule_len;
		p.has_rule = 1;
		p.action = (Dnstap__Policy__Action)e->h->action;
		p.has_action = 1;
		p.match = DNSTAP__POLICY__MATCH__QNAME;
		p.has_match = 1;
		if(e->match[0]) {
			p.value.data = (uint8_t*)e->match;
			p.value.len = ig_name_wire_len(e->match);
			p.has_value = 1;
		}
		m.policy = &p;
		if(t->extra_len > 0) {
			d.extra.data = (uint8_t*)t->extra;
			d.extra.len = t->extra_len;
			d.has_extra = 1;
		}
	}
	/* packed straight into the frame ring by module/pack.c (the bytes
	 * protobuf-c would write, without its descriptor walk) */
	len = pack_dnstap_size(&d, &sz);
	if((buf = frames_take(&sink->frames, len)) != NULL) {
		len = pack_dnstap(&d, &sz, buf);
		frames_commit(&sink->frames, buf, len);
	}
	free(e->h->wire);
	if(!buf) {
		audit_drop(ie);
		return;
	}
	atomic_fetch_add(&sink->inflight, 1);
	if(fstrm_iothr_submit(ie->audit.iothr, ie->audit.ioq, buf, len,
		sink_free, sink) != fstrm_res_success) {
		atomic_fetch_sub(&sink->inflight, 1);
		frames_give_back(&sink->frames, buf);
		audit_drop(ie);
		return;
	}
	atomic_fetch_add_explicit(&ie->audit.sent, 1, memory_order_relaxed);
	update_full(&ie->audit);
}

/** the encoder thread: drains the ring a batch at a time (the lock is
 * taken twice per batch, not per record), polling every millisecond when
 * it is empty */
static void*
encoder_main(void* arg)
{
	struct icpguard_env* ie = (struct icpguard_env*)arg;
	struct icpguard_audit* a = &ie->audit;
	log_thread_set(NULL);
	while(1) {
		uint64_t head, tail;
		pthread_mutex_lock(&a->lock);
		head = a->ring_head;
		tail = a->ring_tail;
		if(head == tail) {
			int stop = a->stopping;
			pthread_mutex_unlock(&a->lock);
			if(stop) break;
			/* the I/O thread frees frames meanwhile */
			update_full(a);
			{
				struct timespec ts = { 0, 1000000 };
				nanosleep(&ts, NULL);
			}
			continue;
		}
		pthread_mutex_unlock(&a->lock);
		/* [tail, head) is ours until tail moves: workers write only
		 * into the free part */
		while(tail != head) {
			const uint8_t* rec = a->ring + tail % a->ring_cap;
			struct audit_event ev;
			uint32_t len = ((const struct audit_hdr*)rec)->len;
			if(len == 0) { /* wrap marker */
				tail += a->ring_cap - tail % a->ring_cap;
				continue;
			}
			event_read(rec, &ev);
			encode_event(ie, &ev);
			tail += len;
		}
		pthread_mutex_lock(&a->lock);
		a->ring_tail = tail;
		pthread_mutex_unlock(&a->lock);
	}
	return NULL;
}

/** start the ring and the encoder (called by icpguard_audit_start) */
static int
encoder_start(struct icpguard_env* ie)
{
	struct icpguard_audit* a = &ie->audit;
	/* about 512 bytes per queued record (a typical one takes 200) */
	a->ring_cap = (size_t)(ie->cfg.audit_queue < 4096 ?
		ie->cfg.audit_queue : 4096) * 512;
	if(a->ring_cap < 65536) a->ring_cap = 65536;
	if(!(a->ring = malloc(a->ring_cap))) return 0;
	a->ring_head = a->ring_tail = 0;
	a->stopping = 0;
	atomic_store(&a->full, 0);
	a->text.keylen = 0;
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
	if(!a->ring) return;
	pthread_mutex_lock(&a->lock);
	a->stopping = 1;
	pthread_cond_signal(&a->wake);
	pthread_mutex_unlock(&a->lock);
	pthread_join(a->encoder, NULL);
	/* the encoder drained the ring before it stopped: every record's
	 * wire is freed */
	free(a->ring);
	a->ring = NULL;
	pthread_mutex_destroy(&a->lock);
	pthread_cond_destroy(&a->wake);
}
