/*
 * common/audit.h - the dnstap audit writer both modules use.
 *
 * \file
 * Every enforcement (and, sampled, other answers) becomes a standard
 * dnstap message with the Policy field filled, written by libfstrm's I/O
 * thread to a Unix socket or a TCP address (docs/audit.md).  The Unbound
 * module (module/audit.c) writes CLIENT_RESPONSE messages, the Knot module
 * (knot/audit.c) AUTH_RESPONSE messages with the zone; the record is
 * otherwise the same, built and written here.
 *
 * Submitting never blocks a worker: when the collector is slow, stalled
 * or absent the queue fills and records are dropped and counted.  A
 * worker only copies the facts of a record (a few hundred bytes) into a
 * ring; an encoder thread builds the protobuf (and, for a policy answer
 * given by its SOA, the response message) and hands it to libfstrm.
 *
 * Thread rules: ig_audit_start and ig_audit_stop run in one thread (the
 * host's main or loading thread), with no ig_audit_record running;
 * ig_audit_room, ig_audit_record and ig_audit_sample may be called from
 * any number of worker threads at once (the ring is multi-producer).
 */
#ifndef ICPGUARD_COMMON_AUDIT_H
#define ICPGUARD_COMMON_AUDIT_H
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include "common/host_log.h"

struct fstrm_iothr;
struct fstrm_iothr_queue;
struct audit_sink;

/** what a writer is started from */
struct ig_audit_cfg {
	/** a Unix socket path, "" for none */
	const char* socket_path;
	/** or a TCP address ("" for none) and port */
	const char* tcp_addr;
	int tcp_port;
	/** the dnstap identity, "" for the host name */
	const char* identity;
	/** records queued for the collector (a power of two) */
	int queue;
	/** the fraction (0..1) of plain answers ig_audit_sample picks */
	double sample;
	/** the TTL of a policy answer's SOA (responses rebuilt from it) */
	uint32_t ttl;
	/** 1: the writer is an authoritative server (AUTH_RESPONSE), 0: a
	 * resolver (CLIENT_RESPONSE) */
	int auth;
	/** the host's logger and its argument (common/host_log.h); the
	 * argument must stay valid until ig_audit_stop returns */
	ig_host_log_fn* log;
	void* log_arg;
};

/** the policy texts of the last record encoded (encoder thread only) */
struct ig_audit_text {
	/** reason, id, doc_no, snapshot (each with its NUL), then the mode */
	uint8_t key[600];
	/** its length, 0: none */
	size_t keylen;
	/** the dnstap Policy rule: "REASON[ ID][ DOC_NO]" */
	char rule[512];
	/** its length */
	size_t rule_len;
	/** the dnstap extra JSON */
	char extra[1024];
	/** its length */
	size_t extra_len;
};

/** The writer.  Owned by the module that starts it, allocated with its
 * alignment (aligned_alloc: the groups below sit on cache lines of their
 * own); zeroed, it is off. */
struct ig_audit {
	/* Cache lines by who writes them: a worker reads the first group for
	 * every record, so nothing another thread writes per record may
	 * share its line (the encoder's per-record counter did: a miss in
	 * the worker per record). */
	/** libfstrm I/O thread, NULL when audit is off */
	struct fstrm_iothr* iothr;
	/** its one input queue (the encoder is its one producer) */
	struct fstrm_iothr_queue* ioq;
	/** what libfstrm's free callback touches: the records in flight,
	 * the connection, the frames, the log gate (common/audit.c);
	 * allocated on its own and freed by the thread that destroys the
	 * I/O thread, so an I/O thread left behind at stop never touches
	 * freed memory */
	struct audit_sink* sink;
	/** the queue capacity: beyond it a record is dropped unencoded */
	long capacity;
	/** records captured by workers, packed, encoded by the encoder
	 * thread (common/audit.c, struct audit_hdr) */
	uint8_t* ring;
	/** its size in bytes (a multiple of 8) */
	size_t ring_cap;
	/** 1 while libfstrm's queue is near full: only then do workers
	 * read the in-flight count (which the encoder and the I/O thread
	 * change for every record) to drop before any work.  Written by the
	 * encoder only when it changes */
	atomic_int full;
	/** policy TTL, for synthesized responses */
	uint32_t ttl;
	/** the fraction of plain answers sampled */
	double sample;
	/** 1: AUTH_RESPONSE messages, 0: CLIENT_RESPONSE */
	int auth;
	/** guards the ring (workers and the encoder) */
	_Alignas(64) pthread_mutex_t lock;
	/** write and read positions in bytes, ever increasing (guarded by
	 * lock); the bytes in [tail, head) belong to the encoder */
	uint64_t ring_head, ring_tail;
	/** wakes the encoder */
	pthread_cond_t wake;
	/** set to stop the encoder */
	int stopping;
	/** records handed to the I/O thread (the encoder, per record) */
	_Alignas(64) atomic_ulong sent;
	/** records dropped because the queue was full (only when dropping) */
	atomic_ulong dropped;
	/** the encoder thread */
	pthread_t encoder;
	/** the dnstap identity, fixed at start, and its length */
	char identity[256];
	size_t identity_len;
	/** the last policy texts (encoder thread only) */
	struct ig_audit_text text;
};

/**
 * A policy's reason, id and document number as a record carries them:
 * each cut to 255 bytes at a character boundary and followed by its NUL,
 * back to back.  Made once per policy (ig_audit_texts_set; the Unbound
 * module's EDE memo keeps one per blocked name), so that a worker copies
 * one block of known length per record instead of measuring three strings.
 */
struct ig_audit_texts {
	/** the lengths of reason, id and doc_no, NULs not counted */
	uint8_t len[3];
	/** reason NUL id NUL doc_no NUL */
	char buf[3 * 256];
};

/**
 * Fill t from the three strings (NULL counts as "").  Any thread; t is
 * the caller's.
 */
void ig_audit_texts_set(struct ig_audit_texts* t, const char* reason,
	const char* id, const char* doc_no);

/** what a record says about the policy */
struct ig_audit_policy {
	/** reason, id ("" if none) and document number ("" if none) */
	const struct ig_audit_texts* texts;
	/** the matched name, wire format */
	const uint8_t* match;
	/** snapshot identity ("" if unknown), and its length (at most 255) */
	const char* snapshot;
	size_t snapshot_len;
	/** 1: monitor mode, the answer was not changed */
	int monitor;
	/** the policy answer's SOA rdata, or NULL.  When given for an
	 * enforced answer without answer records, the encoder thread
	 * rebuilds the response from it (owner: the QNAME, TTL: the
	 * writer's ttl) and the message's wire is not needed
	 * (ig_audit_rebuilds) */
	const uint8_t* soa;
	/** its length */
	size_t soa_len;
};

/** the transport the client used */
enum ig_audit_proto { IG_AUDIT_PROTO_UNKNOWN = 0, IG_AUDIT_PROTO_UDP,
	IG_AUDIT_PROTO_TCP, IG_AUDIT_PROTO_DOQ };

/** the DNS side of a record; everything is copied by ig_audit_record */
struct ig_audit_msg {
	/** the question (wire name), its type and class */
	const uint8_t* qname;
	size_t qname_len;
	uint16_t qtype, qclass;
	/** 1 when there is an answer (flags and ancount are its own) */
	int answered;
	/** the answer's header flags (the rcode in the low four bits) */
	uint16_t flags;
	/** records (or RRsets) in its answer section */
	unsigned ancount;
	/** the message recorded, wire format: the response, or, with
	 * wire_is_query, the query; NULL: none (or rebuilt from the SOA) */
	const uint8_t* wire;
	size_t wire_len;
	int wire_is_query;
	/** the client (AF_INET or AF_INET6), NULL when not known */
	const struct sockaddr* client;
	/** its transport */
	enum ig_audit_proto proto;
	/** the zone that answered (wire name; authoritative servers), NULL */
	const uint8_t* zone;
};

/**
 * Start the writer a (zeroed by the caller) from cfg.  Audit is off, and
 * a stays zeroed, when cfg names neither a socket nor a TCP address.
 * @return 1 (also when off), 0 on failure (logged through cfg->log).
 */
int ig_audit_start(struct ig_audit* a, const struct ig_audit_cfg* cfg);

/**
 * Stop the writer: the encoder drains the ring, libfstrm's I/O thread
 * gets 1 s to hand the collector what is queued, then the connection is
 * shut down; logs "dnstap audit: N records sent, M dropped".  After it
 * returns nothing calls the host's logger any more, and ig_audit_sent
 * and ig_audit_dropped give the stop line's final numbers.  No worker may
 * call ig_audit_record any more.
 */
void ig_audit_stop(struct ig_audit* a);

/** 1 while the writer runs.  Any thread. */
static inline int
ig_audit_on(const struct ig_audit* a)
{
	return a->iothr != NULL;
}

/**
 * Records dropped so far: queue full, or thrown away while no collector
 * was connected.  Any thread.
 */
unsigned long ig_audit_dropped(struct ig_audit* a);

/** Records handed to libfstrm so far.  Any thread. */
unsigned long ig_audit_sent(struct ig_audit* a);

/**
 * Would a record be taken now?  0 when audit is off, or when the collector
 * is so far behind that the record would be dropped (the drop is counted
 * here): the caller skips preparing it.  Call it before ig_audit_record.
 * Any worker thread.
 */
int ig_audit_room(struct ig_audit* a);

/** 1 when a plain (not enforced) answer should be sampled now (a
 * per-thread generator).  Any thread. */
int ig_audit_sample(struct ig_audit* a);

/**
 * Does the encoder rebuild the response of this record from its SOA (so
 * the caller need not encode it)?  Pure.
 */
static inline int
ig_audit_rebuilds(const struct ig_audit_policy* pol, int answered,
	unsigned ancount)
{
	return pol && pol->texts && !pol->monitor && pol->soa &&
		pol->soa_len <= 255 * 2 + 24 && answered && ancount == 0;
}

/**
 * Write one record into the ring the encoder thread reads (after
 * ig_audit_room said yes).  Never blocks; copies everything m and pol
 * point to (the wire into a heap copy the encoder frees).
 * @param pol: the policy part; NULL (or pol->texts NULL): a sampled plain
 *	answer without a Policy.
 */
void ig_audit_record(struct ig_audit* a, const struct ig_audit_msg* m,
	const struct ig_audit_policy* pol);

#endif /* ICPGUARD_COMMON_AUDIT_H */
