/*
 * lib/limits.h - every size, length and count limit of a policy record,
 * written once.
 *
 * \file
 * The snapshot writer (lib/snapshot_write.c) encodes each record into a
 * buffer of a fixed size; a record that does not fit cannot be written,
 * and before these limits existed one such record stopped every publish
 * after it.  So the limits are checked where a record enters: `icpguard
 * build` and `icpguard feed` (refused at the source with FILE:LINE: field:
 * reason), the loader's feed checks (quarantined, the rest publishes) and
 * the loader's order intake (refused with HTTP 422 before anything is
 * journaled).  All of them use lib/validate.h, which uses these numbers;
 * the writer sizes its buffers from them.  The field limits of each
 * record add up to at most its record limit (checked at compile time
 * below), so a record that passes the field checks always fits.
 *
 * Text limits are in bytes of UTF-8 (a Chinese character is 3 bytes),
 * without the terminating NUL.  docs/feeds.md and docs/orders.md list
 * them for publishers and issuers; keep those tables in step.
 */
#ifndef ICPGUARD_LIMITS_H
#define ICPGUARD_LIMITS_H

/** bytes one encoded string takes beyond its text: u16 length, NUL */
#define IG_ENC_STR_OVERHEAD 3

/* ---------------------------------------------------------------- keys */
/** longest LMDB key the writer puts (LMDB's default maximum key size) */
#define IG_LMDB_KEY_MAX 511

/* ------------------------------------------------------------- filings */
/** filing number (京ICP备16020626号-8 is 26 bytes) */
#define IG_FILING_NUMBER_MAX 64
/** subject (organiser) name */
#define IG_FILING_SUBJECT_MAX 512
/** province abbreviation */
#define IG_FILING_PROVINCE_MAX 32
/** access provider */
#define IG_FILING_PROVIDER_MAX 256
/** an encoded name record with a filing: flags, status, subject type,
 * approval time and the four strings */
#define IG_FILING_RECORD_MAX 2048

/* ----------------------------------------------------------- blacklist */
/** blacklist reason */
#define IG_BLACKLIST_REASON_MAX 1024
/** blacklist listing source */
#define IG_BLACKLIST_SOURCE_MAX 256
/** an encoded blacklist entry: subtree, listing time, reason, source */
#define IG_BLACKLIST_RECORD_MAX 2048

/* ---------------------------------------------------------- exemptions */
/** operator note of an exemption */
#define IG_EXEMPT_NOTE_MAX 512
/** an encoded exemption: subtree, note */
#define IG_EXEMPT_RECORD_MAX 1024

/* ---------------------------------------------------------- registrars */
/** registrar id (also the owner of its endpoint ranges and hosts) */
#define IG_REGISTRAR_ID_MAX 64
/** registrar name */
#define IG_REGISTRAR_NAME_MAX 512
/** an encoded registrar: id, name */
#define IG_REGISTRAR_RECORD_MAX 2048
/** EPP status text of a registrar's domain */
#define IG_REGDOMAIN_STATUS_MAX 256
/** an encoded registrar domain: flags, registrar id, status */
#define IG_REGDOMAIN_RECORD_MAX 1024
/** an encoded redirect endpoint host: registrar id */
#define IG_REDIRECT_HOST_RECORD_MAX 600

/* -------------------------------------------------------------- ranges */
/** owner of a range: the domestic range's source, or a registrar id */
#define IG_RANGE_OWNER_MAX 256
/** an encoded range: first address (16 bytes), owner */
#define IG_RANGE_RECORD_MAX 600

/* -------------------------------------------------------------- orders */
/** order id: one DNS label of [A-Za-z0-9-] */
#define IG_ORDER_ID_MAX 63
/** document number (函号) */
#define IG_ORDER_DOC_NO_MAX 256
/** issuing unit (来文单位) */
#define IG_ORDER_UNIT_MAX 256
/** reason (违规原因) */
#define IG_ORDER_REASON_MAX 4096
/** most targets one order may name */
#define IG_ORDER_MAX_TARGETS 256
/** a target in text form with its final dot (a 253-character name) */
#define IG_ORDER_TARGET_MAX 254
/** the encoded target list: per target subtree byte and the string */
#define IG_ORDER_TARGETS_BYTES (IG_ORDER_MAX_TARGETS * \
	(1 + IG_ENC_STR_OVERHEAD + IG_ORDER_TARGET_MAX))
/** an encoded order: four strings, three times, the target count and
 * the target list */
#define IG_ORDER_RECORD_MAX ( \
	IG_ORDER_ID_MAX + IG_ORDER_DOC_NO_MAX + IG_ORDER_UNIT_MAX + \
	IG_ORDER_REASON_MAX + 4 * IG_ENC_STR_OVERHEAD + 3 * 8 + 2 + \
	IG_ORDER_TARGETS_BYTES)
/** an order target record: subtree byte and the order id */
#define IG_ORDER_TARGET_RECORD_MAX (1 + IG_ORDER_ID_MAX)
/** largest signed order envelope the loader reads from one request */
#define IG_ORDER_BODY_MAX (1 << 20)

/* ------------------------------------------------------- source files */
/** longest line of a plain list source (tlds.txt), newline excluded; a
 * longer line is refused with FILE:LINE, never split */
#define IG_TEXT_LINE_MAX 1024

/* ------------------------------------------- the sums, at compile time */
_Static_assert(1 + 1 + 1 + 8 + IG_FILING_NUMBER_MAX + IG_FILING_SUBJECT_MAX
	+ IG_FILING_PROVINCE_MAX + IG_FILING_PROVIDER_MAX +
	4 * IG_ENC_STR_OVERHEAD <= IG_FILING_RECORD_MAX,
	"filing fields exceed the filing record");
_Static_assert(1 + 8 + IG_BLACKLIST_REASON_MAX + IG_BLACKLIST_SOURCE_MAX +
	2 * IG_ENC_STR_OVERHEAD <= IG_BLACKLIST_RECORD_MAX,
	"blacklist fields exceed the blacklist record");
_Static_assert(1 + IG_EXEMPT_NOTE_MAX + IG_ENC_STR_OVERHEAD <=
	IG_EXEMPT_RECORD_MAX, "exemption note exceeds the record");
_Static_assert(IG_REGISTRAR_ID_MAX + IG_REGISTRAR_NAME_MAX +
	2 * IG_ENC_STR_OVERHEAD <= IG_REGISTRAR_RECORD_MAX,
	"registrar fields exceed the registrar record");
_Static_assert(1 + IG_REGISTRAR_ID_MAX + IG_REGDOMAIN_STATUS_MAX +
	2 * IG_ENC_STR_OVERHEAD <= IG_REGDOMAIN_RECORD_MAX,
	"registrar domain fields exceed the record");
_Static_assert(IG_REGISTRAR_ID_MAX + IG_ENC_STR_OVERHEAD <=
	IG_REDIRECT_HOST_RECORD_MAX, "registrar id exceeds the host record");
_Static_assert(16 + IG_RANGE_OWNER_MAX + IG_ENC_STR_OVERHEAD <=
	IG_RANGE_RECORD_MAX, "range owner exceeds the range record");
_Static_assert(IG_REGISTRAR_ID_MAX <= IG_RANGE_OWNER_MAX,
	"a registrar id must fit as a range owner");
_Static_assert(IG_ORDER_ID_MAX <= IG_LMDB_KEY_MAX && IG_REGISTRAR_ID_MAX <=
	IG_LMDB_KEY_MAX, "ids are keys");
_Static_assert(IG_ORDER_MAX_TARGETS <= 0xffff, "target count is a u16");

#endif /* ICPGUARD_LIMITS_H */
