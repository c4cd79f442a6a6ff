/*
 * common/policy_text.h - what both modules (Unbound, Knot) say about a
 * verdict on the wire.
 *
 * \file
 * The host-independent half of a policy answer: the RFC 8914 Extended DNS
 * Error code and extra text of a block, the order lookup behind an order's
 * text, and the facts a module reads from answer RRs that are not plain
 * addresses (SVCB/HTTPS hints).  module/ (Unbound) and knot/ (Knot DNS)
 * both call these, so a name gets the same EDE on the resolver and the
 * authoritative side (docs/policy.md).
 *
 * All functions are pure apart from the views they are given, allocate
 * nothing and are thread-safe as long as each thread uses its own views.
 */
#ifndef ICPGUARD_COMMON_POLICY_TEXT_H
#define ICPGUARD_COMMON_POLICY_TEXT_H
#include <stddef.h>
#include <stdint.h>
#include "lib/addr.h"
#include "lib/snapshot.h"
#include "lib/verdict.h"

/** EDE 15: Blocked (blacklist, nofiling, redirect) */
#define IG_EDE_BLOCKED 15
/** EDE 16: Censored (takedown orders) */
#define IG_EDE_CENSORED 16
/** room for an EDE text (the text is cut short to fit) */
#define IG_EDE_TEXT_MAX 300

/**
 * Find an order by id in the order snapshot first, then the main one.
 * @param urgent: the calling thread's view on the order snapshot, or NULL.
 * @param main: its view on the main snapshot, or NULL.
 * @param o: out: the order; its strings point into the view that had it
 *	and are valid until that view ends.
 * @return 1 when found, 0 when not (or id is "").
 */
int ig_policy_order_find(struct ig_view* urgent, struct ig_view* main,
	const char* id, struct ig_order* o);

/**
 * The EDE of a block: code and extra text.  The text is
 *   "icpguard: REASON MATCH snapshot SERIAL", for an order whose record is
 *   known "icpguard: order ID DOCUMENT (UNIT; REASON) MATCH snapshot SERIAL"
 *   and for an order not found "icpguard: order ID MATCH snapshot SERIAL".
 * @param reason: the reason name (ig_reason_name).
 * @param id: the order id, "" if none.
 * @param match: the matched name as text ("bad.cn.").
 * @param serial: the snapshot serial (low 32 bits, as the Unbound module's
 *	policy SOA records it).
 * @param o: the order (ig_policy_order_find), NULL when not known.
 * @param text, len: out: the text, NUL-terminated, cut to len - 1.
 * @return the EDE code (IG_EDE_CENSORED for "order", else IG_EDE_BLOCKED).
 */
uint16_t ig_policy_ede(const char* reason, const char* id, const char* match,
	uint32_t serial, const struct ig_order* o, char* text, size_t len);

/**
 * The length of an uncompressed wire name that starts at p and ends within
 * max bytes.
 * @return the length including the root label, 0 when it does not fit or a
 *	label is not a plain one.
 */
size_t ig_wire_name_len(const uint8_t* p, size_t max);

/**
 * Add the ipv4hint and ipv6hint addresses of one SVCB or HTTPS rdata.
 * @param rd, len: the rdata (without its length field).
 * @param addrs: the caller's array, max entries in all.
 * @param n: in/out: the entries used; never raised past max.
 */
void ig_svcb_hints(const uint8_t* rd, size_t len, struct ig_addr* addrs,
	int* n, int max);

#endif /* ICPGUARD_COMMON_POLICY_TEXT_H */
