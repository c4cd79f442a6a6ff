/*
 * lib/verdict.h - the policy decision.
 *
 * \file
 * One function, ig_decide, turns a query's facts (QNAME, alias chain,
 * answer addresses) and a snapshot view into a verdict, in the order of
 * docs/policy.md (first match wins):
 *   1. ORDER      an active takedown order covers the QNAME or any alias;
 *   2. BLACKLIST  a blacklist entry covers the QNAME or any alias;
 *   3. EXEMPT     the QNAME is exempt (root, arpa., public suffixes, TLDs,
 *                 operator exemptions);
 *   4. FILING     every chain name (QNAME and each alias owner; or only the
 *                 QNAME) is covered by an active filing of its registrable
 *                 domain, or exempt;
 *   5. an unfiled name is blocked for REDIRECT when the answer points at
 *      a registrar forwarding/parking endpoint (any scope), for NOFILING
 *      under scope "all", or under scope "domestic" when an answer address
 *      lies in a domestic range;
 *   6. otherwise PASS.
 * The function is pure apart from the read view, allocates nothing and is
 * thread-safe as long as each thread uses its own view.
 */
#ifndef ICPGUARD_VERDICT_H
#define ICPGUARD_VERDICT_H
#include <stdint.h>
#include "lib/addr.h"
#include "lib/name.h"
#include "lib/snapshot.h"

/** longest alias chain considered (Unbound follows at most 11 hops) */
#define IG_CHAIN_MAX 16

/** which unfiled names are blocked */
enum ig_scope {
	/** only when an answer address is domestic (the rule's scope) */
	IG_SCOPE_DOMESTIC = 0,
	/** always, before resolution */
	IG_SCOPE_ALL = 1
};

/** which chain names need a filing */
enum ig_chain_check {
	/** the QNAME and every alias owner */
	IG_CHAIN_ALL = 0,
	/** only the QNAME */
	IG_CHAIN_QNAME = 1
};

/** decision options */
struct ig_policy_opts {
	/** scope */
	enum ig_scope scope;
	/** chain check */
	enum ig_chain_check chain;
	/** the current time, unix seconds (orders' effective/expiry) */
	int64_t now;
	/** the order snapshot, a small snapshot published on its own for
	 * urgent changes (takedown orders, urgent blacklist entries): its
	 * orders and blacklist entries count as if they were in the main
	 * snapshot.  NULL: none. */
	struct ig_view* urgent;
	/** the delta snapshot over the main one (docs/snapshot.md, "The
	 * delta layer"): at every name it holds, its filing and blacklist
	 * entry (or their absence: a removal mark) replace the main
	 * snapshot's; the verdict then names both (its identity
	 * "BASE+DELTA").  The caller passes it only when it applies over
	 * the main snapshot (ig_snapshot_delta_over) and holds names.
	 * NULL: none. */
	struct ig_view* delta;
};

/** what is known about one query */
struct ig_facts {
	/** the QNAME, wire format */
	const uint8_t* qname;
	/** alias targets in chain order (CNAME/DNAME), wire format; the last
	 * one owns the final answer */
	const uint8_t* alias[IG_CHAIN_MAX];
	/** number of aliases */
	int nalias;
	/** answer addresses (A, AAAA, SVCB/HTTPS hints) */
	const struct ig_addr* addr;
	/** number of addresses */
	int naddr;
	/** 0 before resolution (only QNAME known), 1 with the final answer */
	int answered;
};

/** why */
enum ig_reason {
	IG_REASON_FILED = 0,   /**< pass: every chain name is filed */
	IG_REASON_EXEMPT,      /**< pass: exempt */
	IG_REASON_ABROAD,      /**< pass: unfiled, no domestic address */
	IG_REASON_PENDING,     /**< pass for now: needs the answer */
	IG_REASON_ORDER,       /**< block: takedown order */
	IG_REASON_BLACKLIST,   /**< block: blacklist */
	IG_REASON_NOFILING,    /**< block: unfiled, domestic (or scope all) */
	IG_REASON_REDIRECT,    /**< block: unfiled, registrar redirect */
	IG_REASON_COUNT
};

/** the verdict and the record behind it */
struct ig_verdict {
	/** 1 block, 0 pass */
	int block;
	/** reason */
	enum ig_reason reason;
	/** the chain name the verdict is about (wire; the QNAME on pass) */
	uint8_t name[IG_NAME_MAX];
	/** the name of the matching record: order target, blacklist entry,
	 * filing domain, exemption, redirect host (wire, root if none) */
	uint8_t match[IG_NAME_MAX];
	/** order id, filing number or registrar id; "" if none */
	char id[96];
	/** order document number (函号); "" if none */
	char doc_no[160];
	/** a short note: blacklist reason, "domestic address X", ... */
	char detail[192];
	/** snapshot identity "SERIAL-HASH12", with a delta
	 * "BASESERIAL-HASH12+SERIAL-HASH12" */
	char snapshot[IG_SNAPSHOT_IDENT_MAX];
	/** snapshot serial (the base's when a delta was read too) */
	uint64_t serial;
};

/**
 * Decide.
 * @param v: an open view (owned by the calling thread).
 * @param f: the facts; names must be valid wire names.
 * @param o: options.
 * @param out: the verdict.
 * @return out->block.
 */
int ig_decide(struct ig_view* v, const struct ig_facts* f,
	const struct ig_policy_opts* o, struct ig_verdict* out);

/**
 * Whether an answer's addresses can change a pending verdict: 1 when one of
 * them lies in a domestic range or a registrar endpoint range.  For an
 * answer without aliases, a QNAME that ig_decide found IG_REASON_PENDING
 * before the answer (same views) passes as IG_REASON_ABROAD when this is 0,
 * exactly as ig_decide on the answer would say; when it is 1, call
 * ig_decide for the verdict and its record.  Thread-safe with the calling
 * thread's own view.
 */
int ig_addrs_matter(struct ig_view* v, const struct ig_addr* a, int n);

/** "filed", "exempt", "abroad", "pending", "order", "blacklist",
 * "nofiling", "redirect" */
const char* ig_reason_name(enum ig_reason r);

/** Parse a reason name; @return the reason or -1. */
int ig_reason_parse(const char* s);

#endif /* ICPGUARD_VERDICT_H */
