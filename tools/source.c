/*
 * tools/source.c - read operator source files row by row.
 *
 * \file
 * See source.h.  JSON parsing is jansson's; the CSV reader handles
 * RFC 4180 quoting within one line (fields with line breaks are not
 * supported and are reported as bad rows).
 */
#include "tools/source.h"
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/** split one CSV line into fields; returns count or -1 */
static int
csv_split(char* line, char** fields, int max)
{
	int n = 0;
	char* p = line;
	while(1) {
		char* out;
		if(n >= max) return -1;
		if(*p == '"') {
			p++;
			fields[n++] = out = p;
			while(1) {
				if(*p == 0) return -1; /* unterminated quote */
				if(*p == '"') {
					if(p[1] == '"') { *out++ = '"'; p += 2;
						continue; }
					p++;
					break;
				}
				*out++ = *p++;
			}
			if(*p != ',' && *p != 0) return -1;
			*out = 0;
			if(*p == 0) break;
			p++;
		} else {
			char* c = strchr(p, ',');
			fields[n++] = p;
			if(!c) break;
			*c = 0;
			p = c + 1;
		}
	}
	return n;
}

/** strip a trailing newline / CR */
static void
chomp(char* s)
{
	size_t n = strlen(s);
	while(n > 0 && (s[n-1] == '\n' || s[n-1] == '\r')) s[--n] = 0;
}

int
ig_source_open(struct ig_source* s, const char* path)
{
	const char* dot = strrchr(path, '.');
	memset(s, 0, sizeof(*s));
	s->path = path;
	s->csv = dot && strcmp(dot, ".csv") == 0;
	if(!(s->in = fopen(path, "r"))) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return 0;
	}
	if(s->csv) {
		char* f[256];
		int n, i;
		ssize_t r;
		do {
			r = getline(&s->buf, &s->bufsize, s->in);
			s->line++;
		} while(r > 0 && (s->buf[0] == '#' || s->buf[0] == '\n'));
		if(r <= 0) {
			fprintf(stderr, "%s: empty CSV file (no header row)\n",
				path);
			ig_source_close(s);
			return 0;
		}
		chomp(s->buf);
		if((n = csv_split(s->buf, f, 256)) <= 0) {
			fprintf(stderr, "%s:%ld: bad CSV header\n", path,
				s->line);
			ig_source_close(s);
			return 0;
		}
		s->header = calloc((size_t)n, sizeof(char*));
		for(i = 0; i < n; i++) {
			char* h = f[i];
			while(isspace((unsigned char)*h)) h++;
			s->header[i] = strdup(h);
		}
		s->nheader = n;
	}
	return 1;
}

int
ig_source_next(struct ig_source* s, json_t** row, char* err, size_t errlen)
{
	ssize_t r;
	*row = NULL;
	while((r = getline(&s->buf, &s->bufsize, s->in)) > 0) {
		char* p;
		s->line++;
		chomp(s->buf);
		p = s->buf;
		while(isspace((unsigned char)*p)) p++;
		if(*p == 0 || *p == '#') continue;
		if(!s->csv) {
			json_error_t je;
			*row = json_loads(p, JSON_REJECT_DUPLICATES, &je);
			if(!*row) {
				snprintf(err, errlen, "bad JSON at column %d: %s",
					je.column, je.text);
			} else if(!json_is_object(*row)) {
				json_decref(*row);
				*row = NULL;
				snprintf(err, errlen, "row is not a JSON object");
			}
			return 1;
		} else {
			char* f[256];
			int n = csv_split(s->buf, f, 256), i;
			if(n != s->nheader) {
				snprintf(err, errlen, n < 0 ? "bad CSV quoting" :
					"%d fields, header has %d", n,
					s->nheader);
				return 1;
			}
			*row = json_object();
			for(i = 0; i < n; i++)
				if(f[i][0])
					json_object_set_new(*row, s->header[i],
						json_string(f[i]));
			return 1;
		}
	}
	return 0;
}

void
ig_source_close(struct ig_source* s)
{
	int i;
	if(s->in) fclose(s->in);
	for(i = 0; i < s->nheader; i++) free(s->header[i]);
	free(s->header);
	free(s->buf);
	memset(s, 0, sizeof(*s));
}

const char*
ig_field_str(json_t* row, const char* key)
{
	json_t* v = json_object_get(row, key);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

int
ig_field_bool(json_t* row, const char* key, int dflt)
{
	json_t* v = json_object_get(row, key);
	const char* s;
	if(!v || json_is_null(v)) return dflt;
	if(json_is_boolean(v)) return json_is_true(v);
	if(json_is_integer(v)) return json_integer_value(v) != 0;
	if(!json_is_string(v)) return -1;
	s = json_string_value(v);
	if(!strcmp(s, "1") || !strcasecmp(s, "true") || !strcasecmp(s, "yes"))
		return 1;
	if(!strcmp(s, "0") || !strcasecmp(s, "false") || !strcasecmp(s, "no"))
		return 0;
	if(!*s) return dflt;
	return -1;
}

int
ig_field_time(json_t* row, const char* key, int64_t dflt, int64_t* out)
{
	json_t* v = json_object_get(row, key);
	if(!v || json_is_null(v) || (json_is_string(v) &&
		!*json_string_value(v))) {
		*out = dflt;
		return 1;
	}
	if(json_is_integer(v)) {
		*out = json_integer_value(v);
		return 1;
	}
	if(json_is_string(v)) return ig_parse_time(json_string_value(v), out);
	return -1;
}
