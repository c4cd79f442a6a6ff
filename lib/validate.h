/*
 * lib/validate.h - per-record validation shared by `icpguard build`,
 * `icpguard feed` and icpguard-loader.
 *
 * \file
 * Each check takes a record's fields as text (as operators write them in
 * source files and as feeds carry them), normalises what it accepts and,
 * for what it refuses, fills a struct ig_reject with the field, a stable
 * short code (for metrics) and the message the tools print.  The callers
 * add the position (file and line, or feed and record number).  Nothing
 * here allocates except the TLD and range sets, which own their memory;
 * everything is single-threaded per object.
 */
#ifndef ICPGUARD_VALIDATE_H
#define ICPGUARD_VALIDATE_H
#include <stddef.h>
#include <stdint.h>
#include "lib/addr.h"
#include "lib/limits.h"
#include "lib/name.h"
#include "lib/snapshot.h"

/** why a record was refused */
struct ig_reject {
	/** the field at fault, or NULL for the whole record */
	const char* field;
	/** a stable short code: "missing", "bad_name", ... */
	const char* code;
	/** the message */
	char msg[512];
};

/** Fill a reject (printf style).  @return 0, so callers can return it. */
int ig_reject_set(struct ig_reject* r, const char* field, const char* code,
	const char* fmt, ...) __attribute__((format(printf, 4, 5)));

/** the filable TLDs seen so far (empty: every TLD is filable) */
struct ig_tldset {
	/** TLDs in wire form */
	uint8_t (*tld)[IG_NAME_MAX];
	/** count */
	int n;
};

/** Add a TLD in wire form.  @return 1, 0 out of memory. */
int ig_tldset_add(struct ig_tldset* t, const uint8_t* wire);

/** 1 when the TLD of wire is on the list, or the list is empty. */
int ig_tldset_filable(const struct ig_tldset* t, const uint8_t* wire);

/** Free the list. */
void ig_tldset_free(struct ig_tldset* t);

/**
 * A required name field: present and a valid name.
 * @param wire: out, IG_NAME_MAX bytes, the normalised wire name.
 * @return 1 good, 0 refused (r set: "missing" or "'TEXT': why").
 */
int ig_valid_name(const char* field, const char* text, uint8_t* wire,
	struct ig_reject* r);

/** A required non-empty string field. @return 1, or 0 "missing". */
int ig_valid_str(const char* field, const char* v, struct ig_reject* r);

/**
 * An optional text field within a length limit (lib/limits.h): NULL or
 * at most max bytes.  Refused: code "too_long", message "N bytes, at
 * most MAX".  Every free-text field of every record passes one of these
 * before it may reach the snapshot writer.
 * @return 1 good, 0 refused.
 */
int ig_valid_len(const char* field, const char* v, size_t max,
	struct ig_reject* r);

/**
 * The text fields of a blacklist entry within their limits ("reason",
 * "source").  @return 1/0.
 */
int ig_valid_blacklist_texts(const char* reason, const char* source,
	struct ig_reject* r);

/**
 * The fields of a registrar within their limits: id required (at most
 * IG_REGISTRAR_ID_MAX), name ("name").  @return 1/0.
 */
int ig_valid_registrar(const char* id, const char* name,
	struct ig_reject* r);

/**
 * A registrar's domain record: the domain is a name, the registrar id is
 * present and within its limit, the status text within its limit.
 * @param wire: out, the domain in wire form.  @return 1/0.
 */
int ig_valid_regdomain(const char* domain, const char* registrar,
	const char* status, uint8_t* wire, struct ig_reject* r);

/**
 * The text fields of an order within their limits (lib/limits.h):
 * id (a label, see ig_order_id_ok), doc_no, unit and reason required,
 * 1 to IG_ORDER_MAX_TARGETS targets.  Targets are checked one by one by
 * the caller (ig_valid_order_target).  @return 1/0.
 */
int ig_valid_order_texts(const char* id, const char* doc_no,
	const char* unit, const char* reason, size_t ntargets,
	struct ig_reject* r);

/**
 * One order target: a name, not the root ("targets": "entry N 'NAME':
 * why").
 * @param idx: its position, from 0, for the message.
 * @param text: out, IG_ORDER_TARGET_MAX + 1 bytes or more: the name
 *	normalised, with its final dot.
 * @return 1/0.
 */
int ig_valid_order_target(size_t idx, const char* name, char* text,
	size_t textlen, struct ig_reject* r);

/** A filable TLD: a name of one label (field "tld"). @return 1/0. */
int ig_valid_tld(const char* text, uint8_t* wire, struct ig_reject* r);

/** 1 when n looks like a filing number (京ICP备16020626号-8). */
int ig_filing_number_ok(const char* n);

/** A filing status word (NULL: active) as enum ig_filing_status, -1 bad. */
int ig_filing_status_parse(const char* word);

/** A subject type word (NULL: other) as enum ig_subject_type, -1 bad. */
int ig_subject_type_parse(const char* word);

/** the text fields of a filing */
struct ig_filing_fields {
	/** registrable domain (required) */
	const char* domain;
	/** filing number (required) */
	const char* number;
	/** status word, NULL: active */
	const char* status;
	/** subject type word, NULL: other */
	const char* subject_type;
	/** free text fields copied to the filing */
	const char* subject, *province, *provider;
};

/**
 * Check a filing up to (not including) its approval time: the domain is
 * a registrable domain under a filable TLD, the number is well formed,
 * status and subject type are known words.
 * @param wire: out, the domain in wire form.
 * @param text: out, 1024 bytes, the normalised domain without the dot.
 * @param f: out, the filing (strings point into in; approved is 0).
 * @return 1 good, 0 refused.
 */
int ig_valid_filing(const struct ig_filing_fields* in,
	const struct ig_tldset* tlds, uint8_t* wire, char* text,
	struct ig_filing* f, struct ig_reject* r);

/** Reject for a second filing of one domain (field "domain"). */
int ig_reject_filed_twice(struct ig_reject* r, const char* text);

/** A blacklist name: a valid name, not the root (field "name"). */
int ig_valid_blacklist_name(const char* text, uint8_t* wire,
	struct ig_reject* r);

/** 1 when id is an order id: one DNS label of [A-Za-z0-9-]. */
int ig_order_id_ok(const char* id);

/** A range field ("range"): required, parsed into out. @return 1/0. */
int ig_valid_range(const char* field, const char* text, struct ig_range* out,
	struct ig_reject* r);

/**
 * A registrar's endpoint lists: every range parses and every host is a
 * name ("entry N: why" on the list's field).
 * @return 1 good, 0 refused.
 */
int ig_valid_endpoints(const char* const* ranges, size_t nranges,
	const char* const* hosts, size_t nhosts, struct ig_reject* r);

/**
 * A set of ranges collected before writing: the snapshot needs the
 * ranges of one kind sorted and disjoint, sources give them in any order
 * and overlapping.  Owners are copied.
 */
struct ig_rangeset {
	/** the ranges */
	struct ig_pending_range* v;
	/** count, capacity */
	size_t n, cap;
};

/** Add a range.  @return 1, 0 out of memory. */
int ig_rangeset_add(struct ig_rangeset* s, enum ig_range_kind kind,
	const struct ig_range* r, const char* owner);

/**
 * Sort, merge overlapping and adjacent ranges of a kind (the first
 * owner is kept) and write them.
 * @param merged: out, how many ranges were folded into another.
 * @return 1, or 0 with the writer's error.
 */
int ig_rangeset_write(struct ig_rangeset* s, struct ig_writer* w,
	size_t* merged);

/** Free the set. */
void ig_rangeset_free(struct ig_rangeset* s);

#endif /* ICPGUARD_VALIDATE_H */
