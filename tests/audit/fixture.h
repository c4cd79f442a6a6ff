/*
 * tests/audit/fixture.h - dnstap audit records made the way the module
 * makes them, for the converter's tests.
 *
 * \file
 * fx_pack builds one serialised dnstap.Dnstap frame from a short
 * description (tools/audit.h documents the module's conventions: Policy
 * type "icpguard", rule "REASON ID DOCNO", value the matched name in wire
 * form, extra the JSON summary).  fx_records is the fixed list that
 * tests/audit/mkcapture writes and tests/audit/convert.sh checks.
 */
#ifndef ICPGUARD_TEST_FIXTURE_H
#define ICPGUARD_TEST_FIXTURE_H
#include <stddef.h>
#include <stdint.h>

/** what one record says */
struct fx_rec {
	/** response time, ISO 8601 ("2024-05-01T00:00:00+08:00") */
	const char* time;
	/** client address text, NULL: none */
	const char* client;
	/** client port */
	unsigned port;
	/** 1 udp, 2 tcp */
	int protocol;
	/** QNAME text (ASCII, may have upper case) */
	const char* qname;
	/** QTYPE */
	int qtype;
	/** response rcode */
	int rcode;
	/** reason, NULL: no policy (a sampled plain answer) */
	const char* reason;
	/** order or record id ("" none) */
	const char* id;
	/** document number ("" none) */
	const char* doc_no;
	/** matched name text */
	const char* match;
	/** Policy.Action number */
	int action;
	/** 1: monitor mode */
	int monitor;
	/** 1: no extra (another writer: the policy only in Policy.rule) */
	int no_extra;
	/** 1: extra but no Policy message */
	int no_policy_msg;
};

/** the records of the test capture, ending with time NULL */
extern const struct fx_rec fx_records[];

/**
 * Serialise one record.
 * @param out: out, a malloced buffer (free it).
 * @return the length, 0 on failure.
 */
size_t fx_pack(const struct fx_rec* r, uint8_t** out);

/** Encode a query or response: header + one question (lower case kept as
 * given).  buf: 512 bytes.  @return the length, 0 on a bad name. */
size_t fx_dns_message(const char* qname, int qtype, int response, int rcode,
	uint8_t* buf);

#endif /* ICPGUARD_TEST_FIXTURE_H */
