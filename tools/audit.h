/*
 * tools/audit.h - reading the module's dnstap audit records.
 *
 * \file
 * Shared by `icpguard audit` (tools/cmd_audit.c) and `icpguard report`
 * (tools/cmd_report.c).  Three layers:
 *  - the reader (tools/audit_read.c): Frame Streams files through
 *    libfstrm's reader, one data frame at a time, with the frame number
 *    and byte offset kept for error messages, a truncated frame told apart
 *    from a clean end, and "-" for standard input;
 *  - the record (tools/audit_record.c): one protobuf-c decoded dnstap
 *    frame flattened into struct ig_audit_rec, with the question and rcode
 *    read from the DNS wire messages by a small bounded parser, and the
 *    policy read from Dnstap.extra (JSON) or else from Policy.rule;
 *  - filters and output (tools/audit_record.c): the --from/--to/--reason/
 *    --order/--client/--suffix filters, client truncation, JSON lines and
 *    CSV.
 * Nothing here keeps global state; a reader belongs to one thread.
 */
#ifndef ICPGUARD_TOOL_AUDIT_H
#define ICPGUARD_TOOL_AUDIT_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "lib/addr.h"
#include "lib/name.h"

/** the dnstap content type of the module's Frame Streams */
#define IG_DNSTAP_CONTENT_TYPE "protobuf:dnstap.Dnstap"

/* ------------------------------------------------------------------ */
/* Reader                                                              */

/** an open Frame Streams file; opaque */
struct ig_audit_reader;

/**
 * Open a Frame Streams file (or standard input for "-") and read its
 * START frame; the content type must be protobuf:dnstap.Dnstap (a START
 * frame without a content type is accepted).
 * @param path: file path or "-".
 * @param err, errlen: on failure the reason (without the path).
 * @return the reader (free with ig_audit_reader_close), or NULL.
 */
struct ig_audit_reader* ig_audit_reader_open(const char* path, char* err,
	size_t errlen);

/**
 * The next data frame.
 * @param data, len: out; the frame, valid until the next call.
 * @param err, errlen: on failure the reason, naming the frame number and
 *	byte offset.
 * @return 1 a frame, 0 the end of the stream (a STOP frame, or the end of
 *	the file at a frame boundary), -1 a corrupt or unreadable stream
 *	(nothing more can be read from it).
 */
int ig_audit_reader_next(struct ig_audit_reader* r, const uint8_t** data,
	size_t* len, char* err, size_t errlen);

/** Number of the last data frame returned (the first is 1). */
unsigned long ig_audit_reader_frame(const struct ig_audit_reader* r);

/** Byte offset at which the last data frame returned starts. */
uint64_t ig_audit_reader_offset(const struct ig_audit_reader* r);

/** 1 when the stream ended with a STOP frame (a cleanly closed capture). */
int ig_audit_reader_stopped(const struct ig_audit_reader* r);

/** Close the file (not standard input) and free the reader. */
void ig_audit_reader_close(struct ig_audit_reader* r);

/* ------------------------------------------------------------------ */
/* Record                                                              */

/** one dnstap message flattened; strings are NUL-terminated copies */
struct ig_audit_rec {
	/** Dnstap.Message.type (6 = CLIENT_RESPONSE) */
	int msg_type;
	/** 1 when sec/nsec are set: the response time, else the query time */
	int has_time;
	/** unix seconds */
	int64_t sec;
	/** nanoseconds */
	uint32_t nsec;
	/** Dnstap.identity ("" if none; cut at 255 bytes) */
	char identity[256];
	/** 1 when client is set */
	int has_client;
	/** the client (query_address), IPv4 mapped */
	struct ig_addr client;
	/** the client port, -1 if none */
	int port;
	/** Dnstap SocketProtocol, 0 if none */
	int protocol;
	/** 1 when qname is set (from the response, else the query) */
	int has_qname;
	/** the question name, wire, lower case */
	uint8_t qname[IG_NAME_MAX];
	/** the question type, -1 if none */
	int qtype;
	/** the response code (header), -1 if no response message */
	int rcode;
	/** 1 for an enforcement record: a Policy, or a reason in extra */
	int has_policy;
	/** Policy.type ("icpguard"), "" when the message has no Policy */
	char policy_type[32];
	/** reason name: order, blacklist, nofiling, redirect */
	char reason[64];
	/** order id or record id, "" if none */
	char id[128];
	/** document number (函号), "" if none */
	char doc_no[256];
	/** snapshot identity as recorded, "" if none */
	char snapshot[80];
	/** "enforce" or "monitor", "" if unknown */
	char mode[16];
	/** 1 when match is set */
	int has_match;
	/** the matched name (Policy.value), wire, lower case */
	uint8_t match[IG_NAME_MAX];
	/** Policy.Action, -1 if none */
	int action;
};

/**
 * Decode one dnstap frame.
 * @param data, len: the frame (a serialised dnstap.Dnstap).
 * @param rec: out.
 * @param err: on failure a static reason.
 * @return 1 a message record, 0 not a dnstap protobuf or no Message in it.
 */
int ig_audit_decode(const uint8_t* data, size_t len, struct ig_audit_rec* rec,
	const char** err);

/**
 * Read the header and the first question of a DNS message, bounded by len.
 * @param qname: out, IG_NAME_MAX bytes, lower case (set only when the
 *	question parses).
 * @param qtype: out, the question type or -1.
 * @param rcode: out, the header rcode or -1 when len < 12.
 * @return 1 when the question was read, 0 otherwise (rcode may be set).
 */
int ig_dns_question(const uint8_t* msg, size_t len, uint8_t* qname,
	int* qtype, int* rcode);

/** "A", "AAAA", ... or "TYPE123" in buf (16 bytes). */
const char* ig_rrtype_text(int type, char* buf, size_t buflen);
/** "NOERROR", "NXDOMAIN", ... or "RCODE12" in buf (16 bytes). */
const char* ig_rcode_text(int rcode, char* buf, size_t buflen);
/** dnstap Policy.Action name ("NXDOMAIN", "NODATA", "PASS", "DROP",
 * "TRUNCATE", "LOCAL_DATA"), NULL if none or unknown. */
const char* ig_action_text(int action);
/** dnstap SocketProtocol name in lower case ("udp", "tcp", ...), NULL. */
const char* ig_protocol_text(int protocol);
/** dnstap Message.Type short name ("CR" for CLIENT_RESPONSE ...), NULL. */
const char* ig_msgtype_text(int type);

/* ------------------------------------------------------------------ */
/* Filters and output                                                  */

/** the filters of `icpguard audit`; every set filter must match */
struct ig_audit_filter {
	/** records at or after from (unix seconds) */
	int has_from;
	/** from */
	int64_t from;
	/** records before to */
	int has_to;
	/** to */
	int64_t to;
	/** reason names, one of which must match (nreasons 0: any) */
	const char** reasons;
	/** count */
	int nreasons;
	/** order/record ids, one of which must match */
	const char** ids;
	/** count */
	int nids;
	/** client ranges, one of which must contain the client */
	struct ig_range* clients;
	/** count */
	int nclients;
	/** name keys (lib/name.h); the QNAME must be at or under one */
	uint8_t (*suffix_keys)[IG_KEY_MAX];
	/** their lengths */
	size_t* suffix_lens;
	/** count */
	int nsuffixes;
	/** 1: only records with a Policy */
	int policy_only;
};

/** 1 when the record passes every filter set in f. */
int ig_audit_filter_match(const struct ig_audit_filter* f,
	const struct ig_audit_rec* r);

/**
 * Zero the host bits of an address: v4len bits kept for IPv4, v6len for
 * IPv6 (0..32, 0..128).
 */
void ig_addr_truncate(struct ig_addr* a, int v4len, int v6len);

/**
 * Parse "V4LEN[,V6LEN]" (V6LEN defaults to 48).
 * @return 1 ok, 0 bad.
 */
int ig_truncate_parse(const char* s, int* v4len, int* v6len);

/** output options */
struct ig_audit_out {
	/** 1: CSV, 0: JSON lines */
	int csv;
	/** 1: truncate client addresses (and drop the port) */
	int truncate;
	/** IPv4 prefix length kept */
	int v4len;
	/** IPv6 prefix length kept */
	int v6len;
};

/** Print the CSV header row. */
void ig_audit_print_header(FILE* out, const struct ig_audit_out* o);

/** Print one record as a JSON line or a CSV row. */
void ig_audit_print(FILE* out, const struct ig_audit_rec* r,
	const struct ig_audit_out* o);

/**
 * Write a string as a JSON string (quotes included).  Control characters
 * are escaped; bytes that are not valid UTF-8 become U+FFFD.
 */
void ig_json_string(FILE* out, const char* s, size_t len);

/** Write a CSV field (RFC 4180 quoting when needed); invalid UTF-8 as in
 * ig_json_string. */
void ig_csv_field(FILE* out, const char* s);

/** ig_csv_field (NULL is empty), then a comma, or a newline when last. */
void ig_csv_cell(FILE* out, const char* s, int last);

/**
 * Format a time as ISO 8601 in Beijing time (UTC+8) with microseconds:
 * "2024-05-01T20:00:00.123456+08:00".  buf: 48 bytes.
 */
char* ig_audit_time_text(int64_t sec, uint32_t nsec, char* buf, size_t buflen);

/* ------------------------------------------------------------------ */
/* Scanning files                                                      */

/** called for every decoded record; return 0 to go on, other to stop */
typedef int (*ig_audit_fn)(const struct ig_audit_rec* rec, void* arg);

/**
 * Read every record of a file and hand it to fn.  Errors are printed to
 * stderr as "PROG: PATH: frame N (byte offset O): reason".  A frame that
 * is not a dnstap message is skipped (and counted as an error); a corrupt
 * stream stops this file.
 * @param prog: the command name for messages.
 * @param nrec: if non-NULL, incremented per record decoded.
 * @return 0 all read, 2 some error (the readable records were delivered),
 *	or fn's nonzero return.
 */
int ig_audit_scan(const char* prog, const char* path, ig_audit_fn fn,
	void* arg, unsigned long* nrec);

#endif /* ICPGUARD_TOOL_AUDIT_H */
