/*
 * common/audit.c - the dnstap audit writer both modules use.
 *
 * \file
 * See audit.h.  The schema is data/dnstap.proto (the standard dnstap
 * schema with its Policy message), packed by common/pack.c; transport is
 * libfstrm's I/O thread over common/collector.c's connection.  The record
 * carries:
 *   Dnstap.identity/version, Dnstap.extra (JSON: snapshot, reason, id,
 *   doc_no, mode),
 *   Message: CLIENT_RESPONSE (the Unbound module) or AUTH_RESPONSE with
 *   query_zone (the Knot module), client address and port, socket family
 *   and protocol, the response (or query) wire message, response time,
 *   Policy: type "icpguard", rule "REASON ID DOCUMENT", action (NXDOMAIN,
 *   NODATA, LOCAL_DATA for a redirect, DROP for REFUSED, PASS in monitor
 *   mode), match QNAME, value = the matched name (wire).
 */
#include "config.h"
#include "common/audit.h"
#include "common/collector.h"
#include "common/frames.h"
#include "common/pack.h"
#include "data/dnstap.pb-c.h"
#include "lib/name.h"
#include <dlfcn.h>
#include <fstrm.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <pthread.h>

static int encoder_start(struct ig_audit* a, const struct ig_audit_cfg* c);
static void encoder_stop(struct ig_audit* a);
static void audit_drop(struct ig_audit* a);

/** the frame ring (common/frames.h): bytes per queued frame, at most */
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
 * The frames' memory is here too (common/frames.h).
 */
struct audit_sink {
	/** records handed to the I/O thread and not yet freed by it */
	atomic_long inflight;
	/** records the I/O thread threw away: no collector connected */
	atomic_ulong discarded;
	/** the discards were reported since the last connection */
	atomic_int discard_told;
	/** the connection to the collector */
	struct ig_collector col;
	/** the frames in flight: taken by the encoder, given back by the
	 * free callback */
	struct icpguard_frames frames;
	/** the host's logger, closed at stop (the I/O thread may outlive
	 * the host's argument) */
	struct ig_host_log log;
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
			ig_log(&k->log, LOG_WARNING, "icpguard: dnstap "
				"collector %s not connected: "
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
	ig_collector_free(&k->col);
	frames_free(&k->frames);
	ig_host_log_free(&k->log);
	free(k);
}

int
ig_audit_start(struct ig_audit* a, const struct ig_audit_cfg* c)
{
	struct fstrm_writer* w = NULL;
	struct fstrm_iothr_options* topt;
	if(!c->socket_path[0] && !c->tcp_addr[0]) return 1;
	if(!(a->sink = calloc(1, sizeof(*a->sink)))) {
		struct ig_host_log l;
		ig_host_log_init(&l, c->log, c->log_arg);
		ig_log(&l, LOG_ERR, "icpguard: out of memory starting dnstap");
		ig_host_log_free(&l);
		return 0;
	}
	ig_host_log_init(&a->sink->log, c->log, c->log_arg);
	/* room for the queue's frames at a typical size, up to a bound;
	 * beyond (large frames, a queue longer than that) frames are
	 * malloc'ed, and so are all of them without the ring */
	(void)frames_init(&a->sink->frames, (size_t)c->queue *
		AUDIT_FRAME_TYPICAL < AUDIT_FRAME_RING_MAX ?
		(size_t)c->queue * AUDIT_FRAME_TYPICAL :
		AUDIT_FRAME_RING_MAX);
	if(!(w = ig_collector_writer(&a->sink->col, c->socket_path,
		c->tcp_addr, c->tcp_port, content_type, &a->sink->log))) {
		ig_log(&a->sink->log, LOG_ERR, "icpguard: cannot create the "
			"dnstap writer");
		frames_free(&a->sink->frames);
		ig_host_log_free(&a->sink->log);
		free(a->sink);
		a->sink = NULL;
		return 0;
	}
	topt = fstrm_iothr_options_init();
	fstrm_iothr_options_set_num_input_queues(topt, 1);
	/* one producer, the encoder thread: the lock-free queue */
	fstrm_iothr_options_set_queue_model(topt, FSTRM_IOTHR_QUEUE_MODEL_SPSC);
	fstrm_iothr_options_set_input_queue_size(topt, (unsigned)c->queue);
	/* fewer, larger writes and wake-ups than the defaults (8 KiB, 64
	 * frames, a wake-up per 32 records): a few hundred frames per
	 * writev; the flush timeout (1 s) still bounds the delay */
	fstrm_iothr_options_set_buffer_hint(topt, FSTRM_IOTHR_BUFFER_HINT_MAX);
	fstrm_iothr_options_set_output_queue_size(topt, 512);
	fstrm_iothr_options_set_queue_notify_threshold(topt,
		(unsigned)(c->queue / 4 < 256 ? (c->queue / 4 > 0 ?
		c->queue / 4 : 1) : 256));
	fstrm_iothr_options_set_reopen_interval(topt, 1);
	a->iothr = fstrm_iothr_init(topt, &w);
	fstrm_iothr_options_destroy(&topt);
	if(!a->iothr) {
		if(w) fstrm_writer_destroy(&w);
		ig_log(&a->sink->log, LOG_ERR, "icpguard: cannot start the "
			"dnstap I/O thread");
		sink_destroy(a->sink);
		a->sink = NULL;
		return 0;
	}
	a->ioq = fstrm_iothr_get_input_queue_idx(a->iothr, 0);
	a->capacity = c->queue;
	a->sample = c->sample;
	a->auth = c->auth;
	if(c->identity && c->identity[0])
		snprintf(a->identity, sizeof(a->identity), "%s", c->identity);
	else if(gethostname(a->identity, sizeof(a->identity)) != 0)
		snprintf(a->identity, sizeof(a->identity), "icpguard");
	a->identity[sizeof(a->identity) - 1] = 0;
	a->identity_len = strlen(a->identity);
	if(!encoder_start(a, c)) {
		ig_log(&a->sink->log, LOG_ERR, "icpguard: cannot start the "
			"dnstap encoder thread");
		fstrm_iothr_destroy(&a->iothr);
		sink_destroy(a->sink);
		a->sink = NULL;
		return 0;
	}
	if(c->socket_path[0])
		ig_log(&a->sink->log, LOG_INFO, "icpguard: dnstap audit to %s",
			c->socket_path);
	else ig_log(&a->sink->log, LOG_INFO, "icpguard: dnstap audit to %s "
		"port %d", c->tcp_addr, c->tcp_port);
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
pin_module(struct ig_host_log* log)
{
	Dl_info di;
	if(!dladdr((void*)&sink_free, &di) || !di.dli_fname ||
		!dlopen(di.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE))
		ig_log(log, LOG_WARNING, "icpguard: cannot keep the module "
			"loaded for the "
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

/** the stop line: what was sent and dropped (records the I/O thread
 * threw away while no collector was connected count as dropped) */
static void
log_stop(struct ig_audit* a, struct audit_sink* k)
{
	unsigned long discarded = atomic_load(&k->discarded);
	ig_log(&k->log, LOG_INFO, "icpguard: dnstap audit: %lu records sent, "
		"%lu dropped (sent: handed to the I/O thread; dropped: queue "
		"full, or no collector connected: %lu)",
		atomic_load(&a->sent) - discarded,
		atomic_load(&a->dropped) + discarded, discarded);
}

/** the stop's final counts: what the I/O thread threw away moves from
 * sent to dropped, so ig_audit_sent and ig_audit_dropped (which no longer
 * see the sink) give the stop line's numbers afterwards */
static void
fold_discarded(struct ig_audit* a, struct audit_sink* k)
{
	unsigned long discarded = atomic_load(&k->discarded);
	atomic_fetch_sub(&a->sent, discarded);
	atomic_fetch_add(&a->dropped, discarded);
}

void
ig_audit_stop(struct ig_audit* a)
{
	struct audit_destroy* d;
	pthread_t th;
	long queued;
	if(!a->iothr) return;
	encoder_stop(a);
	ig_log(&a->sink->log, LOG_DEBUG, "icpguard: dnstap frames: %lu from "
		"the ring, %lu malloc'ed (ring full)", a->sink->frames.taken,
		a->sink->frames.fallback);
	queued = (long)atomic_load(&a->sink->inflight);
	/* a live collector gets what is queued (1 s); a stalled one would
	 * hold the flush forever: then the socket is shut down, the I/O
	 * thread's write fails and its destroy ends (1 s more); only if even
	 * that does not end is the thread left behind */
	if(!(d = calloc(1, sizeof(*d)))) {
		ig_collector_shutdown(&a->sink->col);
		fstrm_iothr_destroy(&a->iothr);
		log_stop(a, a->sink);
		fold_discarded(a, a->sink);
		sink_destroy(a->sink);
	} else {
		d->iothr = a->iothr;
		d->sink = a->sink;
		if(pthread_create(&th, NULL, audit_destroy_thread, d) != 0) {
			ig_collector_shutdown(&d->sink->col);
			fstrm_iothr_destroy(&d->iothr);
			atomic_store(&d->done, 1);
		} else if(!join_within(th, 1000)) {
			ig_log(&d->sink->log, LOG_WARNING, "icpguard: dnstap "
				"collector stalled at stop: closing the "
				"connection, about %ld queued records lost",
				queued);
			ig_collector_shutdown(&d->sink->col);
			if(!join_within(th, 1000)) {
				pthread_detach(th);
				pin_module(&d->sink->log);
				ig_log(&d->sink->log, LOG_WARNING, "icpguard: "
					"dnstap I/O thread left behind");
			}
		}
		/* the last line through the host's logger, then the gate
		 * closes (an I/O thread left behind logs nothing more), and
		 * only then may the destroying thread free the sink */
		log_stop(a, d->sink);
		fold_discarded(a, d->sink);
		ig_host_log_close(&d->sink->log);
		if(atomic_fetch_add(&d->done, 1) == 1) destroy_free(d);
	}
	a->iothr = NULL;
	a->sink = NULL;
	a->ioq = NULL;
}

unsigned long
ig_audit_sent(struct ig_audit* a)
{
	return atomic_load_explicit(&a->sent, memory_order_relaxed);
}

unsigned long
ig_audit_dropped(struct ig_audit* a)
{
	struct audit_sink* k = a->sink;
	return atomic_load(&a->dropped) +
		(k ? atomic_load(&k->discarded) : 0);
}

int
ig_audit_room(struct ig_audit* a)
{
	if(!a->iothr || !a->ring) return 0;
	/* the in-flight count changes with every record in two other
	 * threads: read it only when the encoder says it is near the
	 * capacity */
	if(atomic_load_explicit(&a->full, memory_order_relaxed) &&
		atomic_load_explicit(&a->sink->inflight, memory_order_relaxed)
		>= a->capacity) {
		audit_drop(a);
		return 0;
	}
	return 1;
}

int
ig_audit_sample(struct ig_audit* a)
{
	static __thread uint64_t rng;
	if(!a->iothr || a->sample <= 0) return 0;
	if(a->sample >= 1) return 1;
	if(!rng) rng = (uint64_t)(uintptr_t)&rng ^ (uint64_t)time(NULL) ^
		0x9e3779b97f4a7c15ULL;
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (double)(rng >> 11) / 9007199254740992.0 < a->sample;
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
	/** family (0 none, 4, 6), protocol (enum ig_audit_proto) */
	uint8_t family, proto;
	/** 1: wire is a query message; has a policy part; monitor mode */
	uint8_t wire_is_query, has_policy, monitor;
	/** dnstap policy action */
	uint8_t action;
	/** lengths of the variable fields that follow, in this order:
	 * qname, soa, match, zone (wire), reason, id, doc_no, snapshot
	 * (text, each followed by a NUL not counted here) */
	uint16_t vlen[8];
};

/** variable fields of a record */
enum { V_QNAME, V_SOA, V_MATCH, V_ZONE, V_REASON, V_ID, V_DOC, V_SNAP,
	V_COUNT };

/** one record as the encoder reads it: the header and pointers into the
 * ring */
struct audit_event {
	/** the header */
	const struct audit_hdr* h;
	/** the variable fields */
	const uint8_t* qname, *soa, *match, *zone;
	/** their lengths */
	size_t qname_len, soa_len, zone_len;
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
policy_action(const struct ig_audit_msg* m, int monitor)
{
	if(monitor || !m->answered) return DNSTAP__POLICY__ACTION__PASS;
	if((m->flags & 0xf) == 3) /* NXDOMAIN */
		return DNSTAP__POLICY__ACTION__NXDOMAIN;
	if((m->flags & 0xf) == 5) /* REFUSED */
		return DNSTAP__POLICY__ACTION__DROP;
	if(m->ancount > 0) return DNSTAP__POLICY__ACTION__LOCAL_DATA;
	return DNSTAP__POLICY__ACTION__NODATA;
}

/** round up to the record alignment */
#define REC_ALIGN(n) (((n) + 7) & ~(size_t)7)

/** count a drop and say so now and then */
static void
audit_drop(struct ig_audit* a)
{
	unsigned long n = atomic_fetch_add(&a->dropped, 1) + 1;
	if(n == 1 || n % 10000 == 0)
		ig_log(&a->sink->log, LOG_WARNING, "icpguard: dnstap collector "
			"not keeping up: %lu "
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
ig_audit_texts_set(struct ig_audit_texts* t, const char* reason,
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
static const struct ig_audit_texts no_texts;

void
ig_audit_record(struct ig_audit* a, const struct ig_audit_msg* m,
	const struct ig_audit_policy* pol)
{
	const struct ig_audit_texts* tx = pol && pol->texts ?
		pol->texts : NULL;
	struct audit_hdr* h;
	struct timespec now;
	uint8_t* wire = NULL, *p;
	size_t wl = 0, len, at, room, qn, sl = 0, ml = 0, zl = 0, tl, nl = 0;
	/* a policy answer without answer records is rebuilt by the encoder
	 * from its SOA; anything else is copied here */
	if(ig_audit_rebuilds(pol, m->answered, m->ancount))
		sl = pol->soa_len;
	else if(m->wire && (wire = malloc(m->wire_len)) != NULL) {
		memcpy(wire, m->wire, m->wire_len);
		wl = m->wire_len;
	}
	/* the variable fields (struct audit_hdr, vlen) and their lengths:
	 * the texts come measured, a NUL after each */
	qn = m->qname_len <= IG_NAME_MAX ? m->qname_len : 0;
	if(m->zone) zl = ig_name_wire_len(m->zone);
	if(tx) {
		if(pol->match) ml = ig_name_wire_len(pol->match);
		nl = pol->snapshot && pol->snapshot_len <= 255 ?
			pol->snapshot_len : 0;
	} else tx = &no_texts;
	tl = (size_t)tx->len[0] + tx->len[1] + tx->len[2] + 3;
	len = REC_ALIGN(sizeof(*h) + qn + sl + ml + zl + tl + nl + 1);
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
	h->port = 0;
	if(m->client && m->client->sa_family == AF_INET) {
		const struct sockaddr_in* s4 =
			(const struct sockaddr_in*)m->client;
		memcpy(h->addr, &s4->sin_addr, 4);
		h->port = ntohs(s4->sin_port);
		h->family = 4;
	} else if(m->client && m->client->sa_family == AF_INET6) {
		const struct sockaddr_in6* s6 =
			(const struct sockaddr_in6*)m->client;
		memcpy(h->addr, &s6->sin6_addr, 16);
		h->port = ntohs(s6->sin6_port);
		h->family = 6;
	}
	h->proto = (uint8_t)m->proto;
	h->qtype = m->qtype;
	h->qclass = m->qclass;
	h->flags = m->answered ? m->flags : 0;
	h->wire_is_query = (uint8_t)(wire && m->wire_is_query);
	h->has_policy = (uint8_t)(tx != &no_texts);
	h->monitor = (uint8_t)(h->has_policy && pol->monitor);
	h->action = (uint8_t)(h->has_policy ? policy_action(m,
		pol->monitor) : 0);
	h->vlen[V_QNAME] = (uint16_t)qn;
	h->vlen[V_SOA] = (uint16_t)sl;
	h->vlen[V_MATCH] = (uint16_t)ml;
	h->vlen[V_ZONE] = (uint16_t)zl;
	h->vlen[V_REASON] = tx->len[0];
	h->vlen[V_ID] = tx->len[1];
	h->vlen[V_DOC] = tx->len[2];
	h->vlen[V_SNAP] = (uint16_t)nl;
	p = (uint8_t*)(h + 1);
	memcpy(p, m->qname, qn);
	p += qn;
	if(sl) memcpy(p, pol->soa, sl);
	p += sl;
	if(ml) memcpy(p, pol->match, ml);
	p += ml;
	if(zl) memcpy(p, m->zone, zl);
	p += zl;
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
	audit_drop(a);
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
	e->zone = p;
	e->zone_len = e->h->vlen[V_ZONE];
	p += e->zone_len;
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
	out[n++] = 0; out[n++] = 6; /* SOA */
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
update_full(struct ig_audit* a)
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
encode_event(struct ig_audit* a, const struct audit_event* e)
{
	Dnstap__Dnstap d = DNSTAP__DNSTAP__INIT;
	Dnstap__Message m = DNSTAP__MESSAGE__INIT;
	Dnstap__Policy p = DNSTAP__POLICY__INIT;
	static const char version[] = "icpguard " PACKAGE_VERSION;
	uint8_t synth[1200], *buf;
	size_t len, rl = 0;
	struct pack_sizes sz;
	struct audit_sink* sink = a->sink;
	d.identity.data = (uint8_t*)a->identity;
	d.identity.len = a->identity_len;
	d.has_identity = 1;
	d.version.data = (uint8_t*)version;
	d.version.len = sizeof(version) - 1;
	d.has_version = 1;
	d.type = DNSTAP__DNSTAP__TYPE__MESSAGE;
	d.message = &m;
	m.type = a->auth ? DNSTAP__MESSAGE__TYPE__AUTH_RESPONSE :
		DNSTAP__MESSAGE__TYPE__CLIENT_RESPONSE;
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
		m.socket_protocol = e->h->proto == IG_AUDIT_PROTO_UDP ?
			DNSTAP__SOCKET_PROTOCOL__UDP : e->h->proto ==
			IG_AUDIT_PROTO_DOQ ? DNSTAP__SOCKET_PROTOCOL__DOQ :
			DNSTAP__SOCKET_PROTOCOL__TCP;
		m.has_socket_protocol = 1;
	}
	if(e->zone_len) {
		m.query_zone.data = (uint8_t*)e->zone;
		m.query_zone.len = e->zone_len;
		m.has_query_zone = 1;
	}
	if(e->h->wire && e->h->wire_is_query) {
		m.query_message.data = e->h->wire;
		m.query_message.len = e->h->wire_len;
		m.has_query_message = 1;
	} else if(e->h->wire) {
		m.response_message.data = e->h->wire;
		m.response_message.len = e->h->wire_len;
		m.has_response_message = 1;
	} else if(e->soa_len && (rl = synth_response(e, a->ttl, synth,
		sizeof(synth))) > 0) {
		m.response_message.data = synth;
		m.response_message.len = rl;
		m.has_response_message = 1;
	}
	m.response_time_sec = (uint64_t)e->h->sec;
	m.response_time_nsec = e->h->nsec;
	m.has_response_time_sec = m.has_response_time_nsec = 1;
	if(e->h->has_policy) {
		struct ig_audit_text* t = &a->text;
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
	/* packed straight into the frame ring by common/pack.c (the bytes
	 * protobuf-c would write, without its descriptor walk) */
	len = pack_dnstap_size(&d, &sz);
	if((buf = frames_take(&sink->frames, len)) != NULL) {
		len = pack_dnstap(&d, &sz, buf);
		frames_commit(&sink->frames, buf, len);
	}
	free(e->h->wire);
	if(!buf) {
		audit_drop(a);
		return;
	}
	atomic_fetch_add(&sink->inflight, 1);
	if(fstrm_iothr_submit(a->iothr, a->ioq, buf, len,
		sink_free, sink) != fstrm_res_success) {
		atomic_fetch_sub(&sink->inflight, 1);
		frames_give_back(&sink->frames, buf);
		audit_drop(a);
		return;
	}
	atomic_fetch_add_explicit(&a->sent, 1, memory_order_relaxed);
	update_full(a);
}

/** the encoder thread: drains the ring a batch at a time (the lock is
 * taken twice per batch, not per record), polling every millisecond when
 * it is empty */
static void*
encoder_main(void* arg)
{
	struct ig_audit* a = (struct ig_audit*)arg;
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
			encode_event(a, &ev);
			tail += len;
		}
		pthread_mutex_lock(&a->lock);
		a->ring_tail = tail;
		pthread_mutex_unlock(&a->lock);
	}
	return NULL;
}

/** start the ring and the encoder (called by ig_audit_start) */
static int
encoder_start(struct ig_audit* a, const struct ig_audit_cfg* c)
{
	/* about 512 bytes per queued record (a typical one takes 200) */
	a->ring_cap = (size_t)(c->queue < 4096 ? c->queue : 4096) * 512;
	if(a->ring_cap < 65536) a->ring_cap = 65536;
	if(!(a->ring = malloc(a->ring_cap))) return 0;
	a->ring_head = a->ring_tail = 0;
	a->stopping = 0;
	atomic_store(&a->full, 0);
	a->text.keylen = 0;
	a->ttl = c->ttl;
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->wake, NULL);
	if(pthread_create(&a->encoder, NULL, encoder_main, a) != 0) {
		free(a->ring);
		a->ring = NULL;
		return 0;
	}
	return 1;
}

/** stop the encoder after it drained the ring; free the ring */
static void
encoder_stop(struct ig_audit* a)
{
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
