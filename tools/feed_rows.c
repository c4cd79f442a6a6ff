/*
 * tools/feed_rows.c - source-row helpers shared by `icpguard build` and
 * `icpguard feed`.
 *
 * \file
 * See feed_rows.h.
 */
#include "config.h"
#include "tools/feed_rows.h"
#include "lib/limits.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
ig_row_vreject(struct ig_row_report* r, const char* path, long line,
	const char* field, const char* fmt, va_list ap)
{
	char msg[512];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if(r->defer) {
		struct ig_row_deferred* d = r->defer;
		size_t fl = field ? strlen(field) : 0, ml = strlen(msg);
		size_t need = sizeof(long) + 1 + fl + 1 + ml + 1;
		if(d->len + need > d->cap) {
			size_t nc = d->cap ? d->cap * 2 : 4096;
			char* nb;
			while(nc < d->len + need) nc *= 2;
			if(!(nb = realloc(d->buf, nc))) {
				fprintf(stderr, "out of memory\n");
				exit(1);
			}
			d->buf = nb;
			d->cap = nc;
		}
		memcpy(d->buf + d->len, &line, sizeof(long));
		d->len += sizeof(long);
		d->buf[d->len++] = field ? 1 : 0;
		memcpy(d->buf + d->len, field ? field : "", fl + 1);
		d->len += fl + 1;
		memcpy(d->buf + d->len, msg, ml + 1);
		d->len += ml + 1;
		d->n++;
		return;
	}
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
ig_row_deferred_next(const struct ig_row_deferred* d, size_t* pos,
	long* line, const char** field, const char** msg)
{
	const char* p;
	int has;
	if(*pos >= d->len) return 0;
	p = d->buf + *pos;
	memcpy(line, p, sizeof(long));
	p += sizeof(long);
	has = *p++;
	*field = has ? p : NULL;
	p += strlen(p) + 1;
	*msg = p;
	p += strlen(p) + 1;
	*pos = (size_t)(p - d->buf);
	return 1;
}

void
ig_row_deferred_flush(struct ig_row_report* r, struct ig_row_deferred* d,
	const char* path, long line_base)
{
	size_t pos = 0;
	long line;
	const char* field, *msg;
	while(ig_row_deferred_next(d, &pos, &line, &field, &msg))
		ig_row_reject(r, path, line + line_base, field, "%s", msg);
	d->len = 0;
	d->n = 0;
}

void
ig_row_deferred_free(struct ig_row_deferred* d)
{
	free(d->buf);
	memset(d, 0, sizeof(*d));
}

int
ig_srow_bool(struct ig_row_report* r, struct ig_source* s,
	const struct ig_source_row* row, const char* key, int dflt)
{
	int v = ig_source_row_bool(row, key, dflt);
	if(v < 0) ig_row_reject(r, s->path, s->line, key, "not a boolean");
	return v;
}

int
ig_srow_time(struct ig_row_report* r, struct ig_source* s,
	const struct ig_source_row* row, const char* key, int64_t dflt,
	int64_t* out)
{
	if(ig_source_row_time(row, key, dflt, out) != 1) {
		ig_row_reject(r, s->path, s->line, key, "bad time (want unix "
			"seconds or YYYY-MM-DD[THH:MM[:SS]][Z|+HH:MM])");
		return 0;
	}
	return 1;
}

void
ig_srow_filing_fields(const struct ig_source_row* row,
	struct ig_filing_fields* in)
{
	in->domain = ig_source_row_str(row, "domain");
	in->number = ig_source_row_str(row, "number");
	in->status = ig_source_row_str(row, "status");
	in->subject_type = ig_source_row_str(row, "subject_type");
	in->subject = ig_source_row_str(row, "subject");
	in->province = ig_source_row_str(row, "province");
	in->provider = ig_source_row_str(row, "provider");
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
ig_rows_text_list(const char* path, const char* field,
	struct ig_row_report* rep, ig_row_fn fn, void* arg)
{
	FILE* in = fopen(path, "r");
	char* line = NULL;
	size_t cap = 0;
	ssize_t n;
	struct ig_source s;
	int ok = 1;
	if(!in) {
		perror(path);
		return 0;
	}
	memset(&s, 0, sizeof(s));
	s.path = path;
	while((n = getline(&line, &cap, in)) > 0) {
		char* p = line, *e = line + n;
		json_t* row;
		s.line++;
		while(e > p && (e[-1] == '\n' || e[-1] == '\r' || e[-1] == ' '
			|| e[-1] == '\t'))
			*--e = 0;
		if((size_t)(e - p) > IG_TEXT_LINE_MAX) {
			ig_row_reject(rep, path, s.line, field, "line of %zu "
				"bytes, at most %d", (size_t)(e - p),
				IG_TEXT_LINE_MAX);
			continue;
		}
		if(strlen(p) != (size_t)(e - p)) {
			ig_row_reject(rep, path, s.line, field, "a NUL byte in "
				"the line");
			continue;
		}
		while(*p == ' ' || *p == '\t') p++;
		if(*p == 0 || *p == '#') continue;
		if(*p == '.') p++;
		if(!(row = json_pack("{s:s}", field, p))) {
			ig_row_reject(rep, path, s.line, field, "not valid "
				"UTF-8 (the line cannot be read)");
			continue;
		}
		fn(arg, &s, row);
		json_decref(row);
	}
	if(ferror(in)) {
		fprintf(stderr, "%s:%ld: %s\n", path, s.line + 1,
			strerror(errno));
		ok = 0;
	}
	free(line);
	fclose(in);
	return ok;
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
