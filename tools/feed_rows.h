/*
 * tools/feed_rows.h - source-row helpers shared by `icpguard build` and
 * `icpguard feed`.
 *
 * \file
 * Both tools read the same source files (tools/source.h) and must read
 * each field the same way; these are the pieces they share beyond
 * tools/source.h.  Threads: a struct ig_row_report belongs to one thread;
 * the readers of a file's parts (one thread each) report into their own
 * deferred list (ig_row_report.defer), and only the main thread's report
 * writes stderr and the quarantine file.
 */
#ifndef ICPGUARD_FEED_ROWS_H
#define ICPGUARD_FEED_ROWS_H
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include "tools/source.h"
#include "lib/validate.h"

/** refusals kept to be reported later, in order (see ig_row_report) */
struct ig_row_deferred {
	/** records: long line, then field and message, each NUL-ended
	 * (field empty when none; a byte 1 before it says there is one) */
	char* buf;
	/** used, capacity */
	size_t len, cap;
	/** count */
	long n;
};

/** where refused rows go */
struct ig_row_report {
	/** JSON-lines quarantine file, or NULL */
	FILE* quarantine;
	/** rows refused so far */
	long rejected;
	/** when set, refusals are kept here instead of reported (a worker
	 * thread reading one part of a file; ig_row_deferred_flush reports
	 * them later in the file's order); rejected is not counted then */
	struct ig_row_deferred* defer;
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

/**
 * Report the refusals kept in d through r (stderr, quarantine, count),
 * in the order they were kept, with line_base added to each line, then
 * empty d.  Same thread as r.
 */
void ig_row_deferred_flush(struct ig_row_report* r, struct ig_row_deferred* d,
	const char* path, long line_base);

/**
 * The next refusal kept in d at *pos (start at 0): its line, field (NULL
 * when none) and message, pointing into d (valid until d is flushed or
 * freed).  Any thread, once the thread that filled d is done with it.
 * @return 1, 0 at the end.
 */
int ig_row_deferred_next(const struct ig_row_deferred* d, size_t* pos,
	long* line, const char** field, const char** msg);

/** Free what d holds.  The thread that owns d. */
void ig_row_deferred_free(struct ig_row_deferred* d);

/** A boolean field of a flat row; -1 refused ("not a boolean").  The
 * thread of r and row (also for the two below). */
int ig_srow_bool(struct ig_row_report* r, struct ig_source* s,
	const struct ig_source_row* row, const char* key, int dflt);

/** A time field of a flat row; 0 refused ("bad time ..."), 1 good. */
int ig_srow_time(struct ig_row_report* r, struct ig_source* s,
	const struct ig_source_row* row, const char* key, int64_t dflt,
	int64_t* out);

/** The text fields of a filing of a flat row (pointing into the row). */
void ig_srow_filing_fields(const struct ig_source_row* row,
	struct ig_filing_fields* in);

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
 * row {field: entry} with the line number in s->line.  Lines are read
 * whole (getline): a line longer than IG_TEXT_LINE_MAX (lib/limits.h),
 * with a NUL byte or not valid UTF-8 is refused through rep as
 * "FILE:LINE: field: reason" and never reaches fn; line numbers count
 * every line.
 * @return 1, or 0 when the file cannot be opened or read (reported).
 */
int ig_rows_text_list(const char* path, const char* field,
	struct ig_row_report* rep, ig_row_fn fn, void* arg);

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
