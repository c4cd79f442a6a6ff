/*
 * module/audit.h - dnstap audit records from the module.
 *
 * \file
 * Every enforcement (and, sampled, other client answers) becomes a
 * standard dnstap CLIENT_RESPONSE message with the Policy field filled,
 * written by libfstrm's I/O thread to a Unix socket or a TCP address.
 * Submitting never blocks a worker: when the collector is slow, stalled
 * or absent the queue fills and records are dropped and counted.  A
 * worker only copies the facts of a record (a few hundred bytes) into a
 * ring; an encoder thread builds the protobuf (and, for policy answers,
 * the response message from the SOA it carries) and hands it to libfstrm.
 * Thread rules: start/stop run in Unbound's main thread; record may be
 * called from any worker thread at once (the queue is multi-producer).
 */
#ifndef ICPGUARD_MODULE_AUDIT_H
#define ICPGUARD_MODULE_AUDIT_H
#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>
#include <pthread.h>

struct icpguard_env;
struct query_info;
struct reply_info;
struct comm_reply;
struct regional;
struct fstrm_iothr;
struct fstrm_iothr_queue;
struct audit_event;

/** the audit writer */
/** the policy texts of the last record encoded (encoder thread only) */
struct icpguard_audit_text {
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

struct icpguard_audit {
	/* Cache lines by who writes them: a worker reads the first group for
	 * every record, so nothing another thread writes per record may
	 * share its line (the encoder's per-record counter did: a miss in
	 * the worker per record). */
	/** libfstrm I/O thread, NULL when audit is off */
	struct fstrm_iothr* iothr;
	/** its one multi-producer input queue */
	struct fstrm_iothr_queue* ioq;
	/** what libfstrm's free callback touches: the records in flight
	 * (module/audit.c); allocated on its own and freed by the thread
	 * that destroys the I/O thread, so an I/O thread left behind at stop
	 * never touches freed memory */
	struct audit_sink* sink;
	/** the queue capacity: beyond it a record is dropped unencoded */
	long capacity;
	/** records captured by workers, packed, encoded by the encoder
	 * thread (module/audit.c, struct audit_hdr) */
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
	/** drops already reported in the log */
	atomic_ulong reported;
	/** the encoder thread */
	pthread_t encoder;
	/** the dnstap identity, fixed at start, and its length */
	char identity[256];
	size_t identity_len;
	/** the last policy texts (encoder thread only) */
	struct icpguard_audit_text text;
};

/**
 * A policy's reason, id and document number as a record carries them:
 * each cut to 255 bytes at a character boundary and followed by its NUL,
 * back to back.  Made once per policy (icpguard_audit_texts_set; the EDE
 * memo keeps one per blocked name), so that a worker copies one block of
 * known length per record instead of measuring three strings.
 */
struct icpguard_audit_texts {
	/** the lengths of reason, id and doc_no, NULs not counted */
	uint8_t len[3];
	/** reason NUL id NUL doc_no NUL */
	char buf[3 * 256];
};

/**
 * Fill t from the three strings (NULL counts as "").  Any thread; t is
 * the caller's.
 */
void icpguard_audit_texts_set(struct icpguard_audit_texts* t,
	const char* reason, const char* id, const char* doc_no);

/** what a record says about the policy */
struct icpguard_audit_policy {
	/** reason, id ("" if none) and document number ("" if none); NULL:
	 * no policy field (a sampled plain answer) */
	const struct icpguard_audit_texts* texts;
	/** the matched name, wire format */
	const uint8_t* match;
	/** snapshot identity ("" if unknown), and its length (at most 255) */
	const char* snapshot;
	size_t snapshot_len;
	/** 1: monitor mode, the answer was not changed */
	int monitor;
	/** the policy answer's SOA rdata (NULL: not a policy answer); the
	 * encoder thread rebuilds the response from it */
	const uint8_t* soa;
	/** its length */
	size_t soa_len;
};

/**
 * Start the writer from the configuration (audit-socket / audit-tcp).
 * @return 1 (also when audit is off), 0 on failure (logged).
 */
int icpguard_audit_start(struct icpguard_env* ie);

/**
 * Records dropped so far: queue full, or thrown away while no collector was
 * connected.  Thread: any.
 */
unsigned long icpguard_audit_dropped(struct icpguard_env* ie);

/** Stop the writer, flushing what the I/O thread can send. */
void icpguard_audit_stop(struct icpguard_env* ie);

/**
 * Write one record into the ring the encoder thread reads.  Never blocks;
 * allocates the wire encodings in region, and a heap copy of a message the
 * encoder cannot rebuild (the encoder frees it).
 * @param qinfo: the query.
 * @param rep: the answer sent (or NULL).
 * @param cached: 1 when rep comes from the cache (absolute TTLs).
 * @param repinfo: the client (or NULL).
 * @param pol: the policy part (NULL, or pol->texts NULL: a sampled plain
 *	answer).
 */
void icpguard_audit_record(struct icpguard_env* ie, struct query_info* qinfo,
	struct reply_info* rep, int cached, struct comm_reply* repinfo,
	const struct icpguard_audit_policy* pol, struct regional* region);

/** 1 when a plain (not enforced) client answer should be sampled now. */
int icpguard_audit_sample(struct icpguard_env* ie);

/**
 * Would a record be taken now?  0 when audit is off, or when the collector
 * is so far behind that the record would be dropped (the drop is counted
 * here): the caller can skip preparing it.  Any worker thread.
 */
int icpguard_audit_room(struct icpguard_env* ie);

#endif /* ICPGUARD_MODULE_AUDIT_H */
