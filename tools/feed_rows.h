/*
 * tools/feed_rows.h - source-row helpers shared by `icpguard build` and
 * `icpguard feed`.
 *
 * \file
 * Both tools read the same source files (tools/source.h) and must read
 * each field the same way; these are the pieces they share beyond
 * tools/source.h.  Single-threaded, like the tools.
 */
#ifndef ICPGUARD_FEED_ROWS_H
#define ICPGUARD_FEED_ROWS_H
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include "tools/source.h"
#include "lib/validate.h"

/** where refused rows go */
struct ig_row_report {
	/** JSON-lines quarantine file, or NULL */
	FILE* quarantine;
	/** rows refused so far */
	long rejected;
};

/**
 * Refuse a row: print "FILE:LINE: field: reason" to stderr, add it to
 * the quarantine file, count it.
 */
void ig_row_vreject(struct ig_row_report* r, const char* path, long line,
	const char* field, const char* fmt, va_list ap);

/** ig_row_vreject with arguments */
void ig_row_reject(struct ig_row_report* r, const char* path, long line,
	const char* field, const char* fmt, ...)
	__attribute__((format(printf, 5, 6)));

/** A boolean field (ig_field_bool); -1 refused ("not a boolean"). */
int ig_row_bool(struct ig_row_report* r, struct ig_source* s, json_t* row,
	const char* key, int dflt);

/** A time field (ig_field_time); 0 refused ("bad time ..."), 1 good. */
int ig_row_time(struct ig_row_report* r, struct ig_source* s, json_t* row,
	const char* key, int64_t dflt, int64_t* out);

/** a row handler with a context */
typedef void (*ig_row_fn)(void* arg, struct ig_source* s, json_t* row);

/**
 * Read a plain list (tlds.txt): one entry per line, blank lines and '#'
 * comments skipped, a leading '.' dropped; each entry is passed as the
 * row {field: entry} with the line number in s->line.
 * @return 1, or 0 when the file cannot be opened (reported).
 */
int ig_rows_text_list(const char* path, const char* field, ig_row_fn fn,
	void* arg);

/**
 * A list field: a JSON list as it is, a CSV cell "a|b|c" split at '|',
 * absent as an empty list.
 * @return a new reference (json_decref it); not an array when the field
 *	is neither.
 */
json_t* ig_row_list(json_t* row, const char* key);

/** The text fields of a filing row (pointing into row). */
void ig_row_filing_fields(json_t* row, struct ig_filing_fields* in);

#endif /* ICPGUARD_FEED_ROWS_H */
