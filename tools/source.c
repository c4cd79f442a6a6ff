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
#include <sys/stat.h>
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

/** 1 when s is valid UTF-8 (what jansson accepts as a string) */
static int
utf8_ok(const char* s)
{
	json_t* t = json_string(s);
	json_decref(t);
	return t != NULL;
}

/** the length of the UTF-8 sequence at p (at most n bytes there), 0 when
 * it is not one: jansson's rules (no overlong forms, no surrogates,
 * nothing above U+10FFFF) */
static size_t
utf8_seq(const unsigned char* p, size_t n)
{
	unsigned char c = p[0];
	if(c < 0x80) return 1;
	if(c < 0xc2) return 0;
	if(c < 0xe0) return n >= 2 && (p[1] & 0xc0) == 0x80 ? 2 : 0;
	if(c < 0xf0) {
		if(n < 3 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80)
			return 0;
		if(c == 0xe0 && p[1] < 0xa0) return 0;
		if(c == 0xed && p[1] > 0x9f) return 0;
		return 3;
	}
	if(c > 0xf4 || n < 4 || (p[1] & 0xc0) != 0x80 ||
		(p[2] & 0xc0) != 0x80 || (p[3] & 0xc0) != 0x80)
		return 0;
	if(c == 0xf0 && p[1] < 0x90) return 0;
	if(c == 0xf4 && p[1] > 0x8f) return 0;
	return 4;
}

int
ig_utf8_valid(const char* text, size_t len)
{
	const unsigned char* p = (const unsigned char*)text;
	size_t i = 0;
	while(i < len) {
		size_t k;
		if(p[i] < 0x80) { i++; continue; }
		if(!(k = utf8_seq(p + i, len - i))) return 0;
		i += k;
	}
	return 1;
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
		s->nheader = n;
		for(i = 0; i < n; i++) {
			char* h = f[i];
			while(isspace((unsigned char)*h)) h++;
			s->header[i] = strdup(h);
			if(!utf8_ok(h)) {
				fprintf(stderr, "%s:%ld: CSV header field %d: "
					"not valid UTF-8\n", path, s->line,
					i + 1);
				ig_source_close(s);
				return 0;
			}
		}
	}
	return 1;
}

/** the next line with content (neither blank nor a comment), chomped in
 * s->buf and counted in s->line; returns it past its leading blanks, or
 * NULL at the end of the input or of the slice (s->end) */
static char*
next_line(struct ig_source* s)
{
	while(!(s->end && ftello(s->in) >= s->end) &&
		getline(&s->buf, &s->bufsize, s->in) > 0) {
		char* p;
		s->line++;
		chomp(s->buf);
		p = s->buf;
		while(isspace((unsigned char)*p)) p++;
		if(*p != 0 && *p != '#') return p;
	}
	return NULL;
}

int
ig_source_next(struct ig_source* s, json_t** row, char* err, size_t errlen)
{
	char* p;
	*row = NULL;
	s->bad_field = NULL;
	if(!(p = next_line(s))) return 0;
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
		for(i = 0; i < n; i++) {
			json_t* v;
			if(!f[i][0]) continue;
			if(!(v = json_string(f[i]))) {
				json_decref(*row);
				*row = NULL;
				s->bad_field = s->header[i];
				snprintf(err, errlen, "not valid UTF-8 "
					"(the cell cannot be read)");
				return 1;
			}
			json_object_set_new(*row, s->header[i], v);
		}
		return 1;
	}
}

/** JSON whitespace */
static char*
json_ws(char* p)
{
	while(*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++;
	return p;
}

/** scan a JSON string body at *pp (after the quote) that has no escape
 * and no control character and is valid UTF-8; *pp is left after the
 * closing quote, *len is the body's length.  0: not such a string. */
static int
json_plain_string(char** pp, size_t* len)
{
	unsigned char* p = (unsigned char*)*pp, *b = p;
	while(*p != '"') {
		if(*p < 0x20 || *p == '\\') return 0;
		if(*p < 0x80) p++;
		else {
			size_t k = utf8_seq(p, 4);
			if(!k) return 0;
			p += k;
		}
	}
	*len = (size_t)(p - b);
	*pp = (char*)p + 1;
	return 1;
}

/** add a field to a row; 0 out of memory */
static int
row_add(struct ig_source_row* row, const char* key, const char* str,
	long long ival, int type)
{
	if(row->n == row->cap) {
		int nc = row->cap ? row->cap * 2 : 16;
		struct ig_source_field* nf = realloc(row->f,
			(size_t)nc * sizeof(*nf));
		if(!nf) return 0;
		row->f = nf;
		row->cap = nc;
	}
	row->f[row->n].key = key;
	row->f[row->n].str = str;
	row->f[row->n].ival = ival;
	row->f[row->n].type = type;
	row->n++;
	return 1;
}

/** most fields a row read in place may have (more: jansson reads it) */
#define FLAT_MAX 64

/**
 * Read a JSON line in place when it is a flat object jansson would read
 * to the same values: strings without escapes, integers of at most 18
 * digits, true, false, null; no duplicate key.  The strings are cut out
 * of the line (NUL at their closing quotes) only when the whole line
 * qualified, so a line handed on to jansson is intact.
 * @return 1 read (row filled), 0 not such a line.
 */
static int
json_flat(char* p, struct ig_source_row* row)
{
	char* cut[2 * FLAT_MAX];
	size_t klen[FLAT_MAX];
	int ncut = 0, i;
	row->n = 0;
	p = json_ws(p);
	if(*p != '{') return 0;
	p = json_ws(p + 1);
	if(*p == '}') return *json_ws(p + 1) == 0;
	for(;;) {
		char* key, *str = NULL;
		size_t kl, sl;
		long long v = 0;
		int type, j;
		if(*p != '"' || row->n >= FLAT_MAX) return 0;
		key = ++p;
		if(!json_plain_string(&p, &kl)) return 0;
		for(j = 0; j < row->n; j++)
			if(klen[j] == kl && memcmp(row->f[j].key, key, kl) == 0)
				return 0; /* a duplicate: jansson refuses it */
		p = json_ws(p);
		if(*p != ':') return 0;
		p = json_ws(p + 1);
		if(*p == '"') {
			str = ++p;
			if(!json_plain_string(&p, &sl)) return 0;
			cut[ncut++] = str + sl;
			type = IG_SRC_STRING;
		} else if(strncmp(p, "true", 4) == 0) {
			p += 4;
			type = IG_SRC_TRUE;
		} else if(strncmp(p, "false", 5) == 0) {
			p += 5;
			type = IG_SRC_FALSE;
		} else if(strncmp(p, "null", 4) == 0) {
			p += 4;
			type = IG_SRC_NULL;
		} else if(*p == '-' || (*p >= '0' && *p <= '9')) {
			int neg = *p == '-', nd = 0;
			if(neg) p++;
			if(*p == '0' && p[1] >= '0' && p[1] <= '9') return 0;
			while(*p >= '0' && *p <= '9') {
				if(++nd > 18) return 0;
				v = v * 10 + (*p++ - '0');
			}
			if(nd == 0 || *p == '.' || *p == 'e' || *p == 'E')
				return 0;
			if(neg) v = -v;
			type = IG_SRC_INTEGER;
		} else return 0;
		klen[row->n] = kl;
		cut[ncut++] = key + kl;
		if(!row_add(row, key, str, v, type)) return 0;
		p = json_ws(p);
		if(*p == ',') {
			p = json_ws(p + 1);
			continue;
		}
		if(*p != '}' || *json_ws(p + 1) != 0) return 0;
		break;
	}
	for(i = 0; i < ncut; i++) *cut[i] = 0;
	return 1;
}

/** a jansson object as a flat row (strings point into the object) */
static int
json_to_row(json_t* obj, struct ig_source_row* row)
{
	const char* k;
	json_t* v;
	row->n = 0;
	json_object_foreach(obj, k, v) {
		int type = IG_SRC_OTHER;
		if(json_is_string(v)) type = IG_SRC_STRING;
		else if(json_is_integer(v)) type = IG_SRC_INTEGER;
		else if(json_is_true(v)) type = IG_SRC_TRUE;
		else if(json_is_false(v)) type = IG_SRC_FALSE;
		else if(json_is_null(v)) type = IG_SRC_NULL;
		if(!row_add(row, k, json_is_string(v) ? json_string_value(v) :
			NULL, json_is_integer(v) ? json_integer_value(v) : 0,
			type))
			return 0;
	}
	return 1;
}

int
ig_source_next_row(struct ig_source* s, struct ig_source_row* row,
	int* good, char* err, size_t errlen)
{
	char* p;
	json_decref(s->held);
	s->held = NULL;
	s->bad_field = NULL;
	row->n = 0;
	*good = 0;
	if(!(p = next_line(s))) return 0;
	if(!s->csv) {
		json_error_t je;
		if(json_flat(p, row)) {
			*good = 1;
			return 1;
		}
		s->held = json_loads(p, JSON_REJECT_DUPLICATES, &je);
		if(!s->held) {
			snprintf(err, errlen, "bad JSON at column %d: %s",
				je.column, je.text);
		} else if(!json_is_object(s->held)) {
			snprintf(err, errlen, "row is not a JSON object");
		} else if(!json_to_row(s->held, row)) {
			snprintf(err, errlen, "out of memory");
		} else *good = 1;
		return 1;
	} else {
		char* f[256];
		int n = csv_split(s->buf, f, 256), i, j;
		if(n != s->nheader) {
			snprintf(err, errlen, n < 0 ? "bad CSV quoting" :
				"%d fields, header has %d", n,
				s->nheader);
			return 1;
		}
		for(i = 0; i < n; i++) {
			if(!f[i][0]) continue;
			if(!ig_utf8_valid(f[i], strlen(f[i]))) {
				s->bad_field = s->header[i];
				snprintf(err, errlen, "not valid UTF-8 "
					"(the cell cannot be read)");
				return 1;
			}
			/* a repeated header key: the later cell
			 * replaces the earlier, as in the object */
			for(j = 0; j < row->n; j++)
				if(!strcmp(row->f[j].key, s->header[i]))
					break;
			if(j < row->n) row->f[j].str = f[i];
			else if(!row_add(row, s->header[i], f[i], 0,
				IG_SRC_STRING)) {
				snprintf(err, errlen, "out of memory");
				return 1;
			}
		}
		*good = 1;
		return 1;
	}
}

void
ig_source_row_free(struct ig_source_row* row)
{
	free(row->f);
	memset(row, 0, sizeof(*row));
}

const struct ig_source_field*
ig_source_row_get(const struct ig_source_row* row, const char* key)
{
	int i;
	for(i = 0; i < row->n; i++)
		if(strcmp(row->f[i].key, key) == 0) return &row->f[i];
	return NULL;
}

const char*
ig_source_row_str(const struct ig_source_row* row, const char* key)
{
	const struct ig_source_field* f = ig_source_row_get(row, key);
	return f && f->type == IG_SRC_STRING ? f->str : NULL;
}

/** a flag written as text: "1", "true", "yes" (1), "0", "false", "no"
 * (0), "" (dflt); @return -1 for anything else */
static int
bool_text(const char* s, int dflt)
{
	if(!strcmp(s, "1") || !strcasecmp(s, "true") || !strcasecmp(s, "yes"))
		return 1;
	if(!strcmp(s, "0") || !strcasecmp(s, "false") || !strcasecmp(s, "no"))
		return 0;
	if(!*s) return dflt;
	return -1;
}

int
ig_source_row_bool(const struct ig_source_row* row, const char* key,
	int dflt)
{
	const struct ig_source_field* f = ig_source_row_get(row, key);
	if(!f || f->type == IG_SRC_NULL) return dflt;
	if(f->type == IG_SRC_TRUE) return 1;
	if(f->type == IG_SRC_FALSE) return 0;
	if(f->type == IG_SRC_INTEGER) return f->ival != 0;
	if(f->type != IG_SRC_STRING) return -1;
	return bool_text(f->str, dflt);
}

int
ig_source_row_time(const struct ig_source_row* row, const char* key,
	int64_t dflt, int64_t* out)
{
	const struct ig_source_field* f = ig_source_row_get(row, key);
	if(!f || f->type == IG_SRC_NULL || (f->type == IG_SRC_STRING &&
		!*f->str)) {
		*out = dflt;
		return 1;
	}
	if(f->type == IG_SRC_INTEGER) {
		*out = f->ival;
		return 1;
	}
	if(f->type == IG_SRC_STRING) return ig_parse_time(f->str, out);
	return -1;
}

int
ig_source_split(const char* path, int n, long long* starts)
{
	struct ig_source s;
	struct stat st;
	long long hdr;
	int k;
	if(!ig_source_open(&s, path)) return 0;
	hdr = s.csv ? ftello(s.in) : 0;
	if(fstat(fileno(s.in), &st) != 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		ig_source_close(&s);
		return 0;
	}
	starts[0] = 0;
	starts[n] = st.st_size;
	for(k = 1; k < n; k++) {
		long long at = st.st_size / n * k;
		int c;
		if(at < hdr) at = hdr;
		if(at < starts[k-1]) at = starts[k-1];
		/* the next line start at or after at: after the newline at
		 * or after at-1 */
		if(at > hdr && at > 0) {
			if(fseeko(s.in, at - 1, SEEK_SET) != 0) at = st.st_size;
			else {
				while((c = getc(s.in)) != EOF && c != '\n')
					;
				at = c == EOF ? st.st_size : ftello(s.in);
			}
		}
		starts[k] = at;
	}
	ig_source_close(&s);
	return 1;
}

int
ig_source_limit(struct ig_source* s, long long start, long long end)
{
	if(start > 0) {
		if(fseeko(s->in, start, SEEK_SET) != 0) return 0;
		s->line = 0;
	}
	s->end = end;
	return 1;
}

void
ig_source_close(struct ig_source* s)
{
	int i;
	if(s->in) fclose(s->in);
	json_decref(s->held);
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
	if(!v || json_is_null(v)) return dflt;
	if(json_is_boolean(v)) return json_is_true(v);
	if(json_is_integer(v)) return json_integer_value(v) != 0;
	if(!json_is_string(v)) return -1;
	return bool_text(json_string_value(v), dflt);
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
