/*
 * tools/source.h - read operator source files row by row.
 *
 * \file
 * A source file is JSON lines (.jsonl, .json) or CSV with a header row
 * (.csv).  Either way each row comes out as a JSON object, so converters
 * read fields one way; CSV fields are strings, and lists in CSV cells are
 * separated by '|'.  Blank lines and lines starting with '#' are skipped.
 * A reader belongs to one thread.
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
	/** line buffer */
	char* buf;
	/** its size */
	size_t bufsize;
};

/**
 * Open a source file.
 * @return 1, or 0 with a message printed to stderr.
 */
int ig_source_open(struct ig_source* s, const char* path);

/**
 * Next row.
 * @param row: out, a new JSON object owned by the caller (json_decref),
 *	NULL when the row could not be parsed (then *err says why).
 * @param err: reason for a bad row.
 * @return 1 while there is a row (good or bad), 0 at the end.
 */
int ig_source_next(struct ig_source* s, json_t** row, char* err,
	size_t errlen);

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
