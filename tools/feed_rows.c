/*
 * tools/feed_rows.c - source-row helpers shared by `icpguard build` and
 * `icpguard feed`.
 *
 * \file
 * See feed_rows.h.
 */
#include "config.h"
#include "tools/feed_rows.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
ig_row_vreject(struct ig_row_report* r, const char* path, long line,
	const char* field, const char* fmt, va_list ap)
{
	char msg[512];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	fprintf(stderr, "%s:%ld: %s%s%s\n", path, line, field ? field : "",
		field ? ": " : "", msg);
	if(r->quarantine) {
		json_t* q = json_pack("{s:s,s:I,s:s?,s:s}", "file", path,
			"line", (json_int_t)line, "field", field, "reason", msg);
		char* t = json_dumps(q, JSON_COMPACT);
		fprintf(r->quarantine, "%s\n", t);
		free(t);
		json_decref(q);
	}
	r->rejected++;
}

void
ig_row_reject(struct ig_row_report* r, const char* path, long line,
	const char* field, const char* fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	ig_row_vreject(r, path, line, field, fmt, ap);
	va_end(ap);
}

int
ig_row_bool(struct ig_row_report* r, struct ig_source* s, json_t* row,
	const char* key, int dflt)
{
	int v = ig_field_bool(row, key, dflt);
	if(v < 0) ig_row_reject(r, s->path, s->line, key, "not a boolean");
	return v;
}

int
ig_row_time(struct ig_row_report* r, struct ig_source* s, json_t* row,
	const char* key, int64_t dflt, int64_t* out)
{
	if(ig_field_time(row, key, dflt, out) != 1) {
		ig_row_reject(r, s->path, s->line, key, "bad time (want unix "
			"seconds or YYYY-MM-DD[THH:MM[:SS]][Z|+HH:MM])");
		return 0;
	}
	return 1;
}

int
ig_rows_text_list(const char* path, const char* field, ig_row_fn fn,
	void* arg)
{
	FILE* in = fopen(path, "r");
	char line[512];
	struct ig_source s;
	if(!in) {
		perror(path);
		return 0;
	}
	memset(&s, 0, sizeof(s));
	s.path = path;
	while(fgets(line, sizeof(line), in)) {
		char* p = line, *e;
		json_t* row;
		s.line++;
		while(*p == ' ' || *p == '\t') p++;
		e = p + strlen(p);
		while(e > p && (e[-1] == '\n' || e[-1] == '\r' || e[-1] == ' '))
			*--e = 0;
		if(*p == 0 || *p == '#') continue;
		if(*p == '.') p++;
		row = json_pack("{s:s}", field, p);
		fn(arg, &s, row);
		json_decref(row);
	}
	fclose(in);
	return 1;
}

json_t*
ig_row_list(json_t* row, const char* key)
{
	json_t* v = json_object_get(row, key);
	if(json_is_string(v)) {
		char* cell = strdup(json_string_value(v)), *save = NULL, *t;
		json_t* arr = json_array();
		for(t = strtok_r(cell, "|", &save); t; t = strtok_r(NULL, "|",
			&save))
			json_array_append_new(arr, json_string(t));
		free(cell);
		return arr;
	}
	if(!v) return json_array();
	json_incref(v);
	return v;
}

void
ig_row_filing_fields(json_t* row, struct ig_filing_fields* in)
{
	in->domain = ig_field_str(row, "domain");
	in->number = ig_field_str(row, "number");
	in->status = ig_field_str(row, "status");
	in->subject_type = ig_field_str(row, "subject_type");
	in->subject = ig_field_str(row, "subject");
	in->province = ig_field_str(row, "province");
	in->provider = ig_field_str(row, "provider");
}
