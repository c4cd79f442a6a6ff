/*
 * tools/source.h - read operator source files row by row.
 *
 * \file
 * A source file is JSON lines (.jsonl, .json) or CSV with a header row
 * (.csv).  Either way each row comes out as a JSON object, so converters
 * read fields one way; CSV fields are strings, and lists in CSV cells are
 * separated by '|'.  Blank lines and lines starting with '#' are skipped.
 * A reader belongs to one thread; readers of the same file (its parts,
 * ig_source_split) may run in different threads at once.
 */
#ifndef ICPGUARD_SOURCE_H
#define ICPGUARD_SOURCE_H
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include "lib/timefmt.h"

/** an open source file */
struct ig_source {
	/** path, for messages */
	const char* path;
	/** the stream */
	FILE* in;
	/** 1 for CSV */
	int csv;
	/** CSV header fields */
	char** header;
	/** number of header fields */
	int nheader;
	/** line number of the current row */
	long line;
	/** the field of the last bad row when one cell was at fault (a CSV
	 * cell that is not UTF-8), else NULL; points into the header */
	const char* bad_field;
	/** line buffer */
	char* buf;
	/** its size */
	size_t bufsize;
	/** ig_source_limit: stop before the line at this file offset (0:
	 * read to the end) */
	long long end;
	/** the row of ig_source_next_row falling back to jansson: held until
	 * the next row */
	json_t* held;
};

/** the type of a field of a flat row */
enum ig_source_type {
	IG_SRC_STRING = 1, IG_SRC_INTEGER, IG_SRC_TRUE, IG_SRC_FALSE,
	IG_SRC_NULL,
	/** a number with a fraction or exponent, a list or an object */
	IG_SRC_OTHER
};

/** one field of a flat row */
struct ig_source_field {
	/** the key */
	const char* key;
	/** the text of a string, else NULL */
	const char* str;
	/** the value of an integer */
	long long ival;
	/** enum ig_source_type */
	int type;
};

/**
 * One row as a flat list of fields, without a JSON object: what the bulk
 * readers (filings, blacklist) use, about five times cheaper than
 * ig_source_next's jansson object.  Zero it before the first use; free it
 * with ig_source_row_free.  Its strings point into the source's line
 * buffer or into s->held: valid until the next row is read from the same
 * source.  One thread.
 */
struct ig_source_row {
	/** fields, in the order of the row (a CSV key that repeats holds
	 * the last non-empty cell, as the JSON object of ig_source_next) */
	struct ig_source_field* f;
	/** count, capacity */
	int n, cap;
};

/**
 * Open a source file.
 * @return 1, or 0 with a message printed to stderr.
 */
int ig_source_open(struct ig_source* s, const char* path);

/**
 * Next row.
 * @param row: out, a new JSON object owned by the caller (json_decref),
 *	NULL when the row could not be parsed (then *err says why, and
 *	s->bad_field names the field when one cell is at fault).  A CSV
 *	cell that is not valid UTF-8 rejects its row: it never silently
 *	becomes an absent field and so the field's default.
 * @param err: reason for a bad row.
 * @return 1 while there is a row (good or bad), 0 at the end.
 */
int ig_source_next(struct ig_source* s, json_t** row, char* err,
	size_t errlen);

/**
 * Next row as flat fields: exactly the rows, values and refusals of
 * ig_source_next (the same error texts), read faster.  A JSON row that
 * is a flat object of strings (no escapes), integers, true, false and
 * null is read in place; anything else (escapes, nested values, numbers
 * with fractions, duplicate keys, bad UTF-8, syntax errors) goes to
 * jansson, so the refusals are jansson's own.
 * @param row: filled when the row is good (the function's return is 1
 *	and *good 1); see struct ig_source_row for the lifetime.
 * @param good: out, 1 good row, 0 bad row (err and s->bad_field set as
 *	by ig_source_next).
 * @return 1 while there is a row (good or bad), 0 at the end.
 */
int ig_source_next_row(struct ig_source* s, struct ig_source_row* row,
	int* good, char* err, size_t errlen);

/** Free what a row owns (not the strings it points to).  The row's
 * thread. */
void ig_source_row_free(struct ig_source_row* row);

/** The field called key, or NULL.  Thread: the row's. */
const struct ig_source_field* ig_source_row_get(
	const struct ig_source_row* row, const char* key);

/** A field as a string, or NULL (ig_field_str for flat rows); it points
 * into the row's source (see struct ig_source_row).  The row's thread. */
const char* ig_source_row_str(const struct ig_source_row* row,
	const char* key);

/** A field as a boolean (ig_field_bool for flat rows): 0/1, -1 invalid. */
int ig_source_row_bool(const struct ig_source_row* row, const char* key,
	int dflt);

/** A field as a time (ig_field_time for flat rows): 1, or 0/-1 invalid. */
int ig_source_row_time(const struct ig_source_row* row, const char* key,
	int64_t dflt, int64_t* out);

/**
 * Split a source file into n parts at line starts, for readers that each
 * take one part (ig_source_limit).  The first part starts at 0 (and holds
 * a CSV header); the others start after the header.
 * @param starts: out, n+1 offsets: part k is [starts[k], starts[k+1]).
 * Any thread (it opens the file on its own).
 * @return 1, or 0 when the file cannot be read (reported to stderr).
 */
int ig_source_split(const char* path, int n, long long* starts);

/**
 * Make an open source read only the lines of [start, end) (a part from
 * ig_source_split); its line numbers then count from 0 at start (part 0
 * keeps those of the header).  The caller adds the lines of the parts
 * before.  @return 1, or 0 when the file cannot seek.
 */
int ig_source_limit(struct ig_source* s, long long start, long long end);

/** 1 when text is valid UTF-8 (what jansson accepts in a string).  Any
 * thread. */
int ig_utf8_valid(const char* text, size_t len);

/** Close and free. */
void ig_source_close(struct ig_source* s);

/** Field as a string, or NULL when absent/null. Numbers are not strings. */
const char* ig_field_str(json_t* row, const char* key);

/**
 * Field as a boolean: JSON true/false, or the strings "1"/"0"/"true"/
 * "false"/"yes"/"no"; absent gives dflt.  @return 0/1, or -1 if invalid.
 */
int ig_field_bool(json_t* row, const char* key, int dflt);

/** Field as a time (string or integer); absent gives dflt. -1 invalid. */
int ig_field_time(json_t* row, const char* key, int64_t dflt, int64_t* out);

#endif /* ICPGUARD_SOURCE_H */
