/*
 * tools/cmd_build.c - `icpguard build`: a snapshot from local source files.
 *
 * \file
 * Reads the source files of a directory (docs/sources.md), validates each
 * row, writes the good ones into a new snapshot and publishes it
 * atomically.  Every bad row is reported as FILE:LINE: field: reason (and
 * to a quarantine file when asked); good rows still load.  The exit code
 * is 1 when any row was rejected, unless --allow-rejects.
 */
#include "config.h"
#include "tools/icpguard.h"
#include "tools/source.h"
#include "lib/snapshot.h"
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/** state of one build */
struct build {
	/** the writer */
	struct ig_writer* w;
	/** quarantine report, or NULL */
	FILE* quarantine;
	/** rows loaded and rejected */
	long loaded, rejected;
	/** filable TLDs (wire) */
	uint8_t (*tlds)[IG_NAME_MAX];
	/** count */
	int ntld;
	/** collected ranges before merging */
	struct pending_range* ranges;
	/** count and capacity */
	size_t nrange, caprange;
	/** be quiet */
	int quiet;
};

/** a range waiting to be merged */
struct pending_range {
	/** kind */
	enum ig_range_kind kind;
	/** the range */
	struct ig_range r;
	/** owner (malloced) */
	char* owner;
};

/** report one bad row */
static void
reject(struct build* b, struct ig_source* s, const char* field,
	const char* fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s:%ld: %s%s%s\n", s->path, s->line,
		field ? field : "", field ? ": " : "", msg);
	if(b->quarantine) {
		json_t* q = json_pack("{s:s,s:I,s:s?,s:s}", "file", s->path,
			"line", (json_int_t)s->line, "field", field,
			"reason", msg);
		char* t = json_dumps(q, JSON_COMPACT);
		fprintf(b->quarantine, "%s\n", t);
		free(t);
		json_decref(q);
	}
	b->rejected++;
}

/** a required name field, normalised; reports and returns 0 when bad */
static int
name_field(struct build* b, struct ig_source* s, json_t* row,
	const char* key, uint8_t* wire)
{
	const char* v = ig_field_str(row, key);
	const char* err;
	size_t wl;
	if(!v) {
		reject(b, s, key, "missing");
		return 0;
	}
	if(!ig_name_from_text(v, wire, &wl, &err)) {
		reject(b, s, key, "'%s': %s", v, err);
		return 0;
	}
	return 1;
}

/** a required non-empty string field */
static const char*
str_field(struct build* b, struct ig_source* s, json_t* row, const char* key)
{
	const char* v = ig_field_str(row, key);
	if(!v || !*v) {
		reject(b, s, key, "missing");
		return NULL;
	}
	return v;
}

/** a boolean field; -1 reported */
static int
bool_field(struct build* b, struct ig_source* s, json_t* row,
	const char* key, int dflt)
{
	int v = ig_field_bool(row, key, dflt);
	if(v < 0) reject(b, s, key, "not a boolean");
	return v;
}

/** a time field; returns 0 on error (reported) */
static int
time_field(struct build* b, struct ig_source* s, json_t* row,
	const char* key, int64_t dflt, int64_t* out)
{
	if(ig_field_time(row, key, dflt, out) != 1) {
		reject(b, s, key, "bad time (want unix seconds or "
			"YYYY-MM-DD[THH:MM[:SS]][Z|+HH:MM])");
		return 0;
	}
	return 1;
}

/** find the file DIR/BASE.{jsonl,json,csv,txt}; NULL if none */
static char*
find_source(const char* dir, const char* base)
{
	static const char* const ext[] = { "jsonl", "json", "csv", "txt",
		NULL };
	int i;
	for(i = 0; ext[i]; i++) {
		char* p;
		struct stat st;
		if(asprintf(&p, "%s/%s.%s", dir, base, ext[i]) < 0) return NULL;
		if(stat(p, &st) == 0) return p;
		free(p);
	}
	return NULL;
}

/** row handler */
typedef void (*row_fn)(struct build* b, struct ig_source* s, json_t* row);

/** run a handler over every row of DIR/BASE.* */
static int
each_row(struct build* b, const char* dir, const char* base, row_fn fn)
{
	struct ig_source s;
	char* path = find_source(dir, base);
	char err[256];
	json_t* row;
	long before = b->loaded;
	if(!path) return 1;
	if(!ig_source_open(&s, path)) {
		free(path);
		return 0;
	}
	while(ig_source_next(&s, &row, err, sizeof(err))) {
		if(!row) {
			reject(b, &s, NULL, "%s", err);
			continue;
		}
		fn(b, &s, row);
		json_decref(row);
	}
	if(!b->quiet)
		fprintf(stderr, "build: %s: %ld records\n", path,
			b->loaded - before);
	ig_source_close(&s);
	free(path);
	return 1;
}

/** tlds: one per line in .txt, or rows with "tld" */
static void
row_tld(struct build* b, struct ig_source* s, json_t* row)
{
	uint8_t wire[IG_NAME_MAX];
	if(!name_field(b, s, row, "tld", wire)) return;
	if(wire[0] == 0 || wire[1 + wire[0]] != 0) {
		reject(b, s, "tld", "not a single label");
		return;
	}
	if(!ig_writer_tld(b->w, wire)) {
		reject(b, s, "tld", "%s", ig_writer_error(b->w));
		return;
	}
	b->tlds = realloc(b->tlds, sizeof(*b->tlds) * (size_t)(b->ntld + 1));
	memcpy(b->tlds[b->ntld++], wire, ig_name_wire_len(wire));
	b->loaded++;
}

/** is the TLD of wire on the list (always yes when there is no list) */
static int
tld_filable(struct build* b, const uint8_t* wire)
{
	const uint8_t* p = wire;
	int i;
	if(b->ntld == 0) return 1;
	while(p[0] && p[1 + p[0]]) p += 1 + p[0];
	for(i = 0; i < b->ntld; i++)
		if(memcmp(b->tlds[i], p, ig_name_wire_len(p)) == 0) return 1;
	return 0;
}

/** check a filing number: province, ICP备/ICP证, digits, 号, -N */
static int
filing_number_ok(const char* n)
{
	static const char* const prov[] = { "京","津","冀","晋","蒙","辽",
		"吉","黑","沪","苏","浙","皖","闽","赣","鲁","豫","鄂","湘",
		"粤","桂","琼","渝","蜀","川","黔","贵","滇","云","藏","陕",
		"陇","甘","青","宁","新", NULL };
	int i, digits = 0;
	const char* p = NULL;
	for(i = 0; prov[i]; i++)
		if(strncmp(n, prov[i], strlen(prov[i])) == 0) {
			p = n + strlen(prov[i]);
			break;
		}
	if(!p) return 0;
	if(strncmp(p, "ICP备", strlen("ICP备")) != 0 &&
		strncmp(p, "ICP证", strlen("ICP证")) != 0) return 0;
	p += strlen("ICP备");
	while(*p >= '0' && *p <= '9') { p++; digits++; }
	if(digits < 6 || digits > 12) return 0;
	if(strncmp(p, "号", strlen("号")) != 0) return 0;
	p += strlen("号");
	if(*p == 0) return 1;
	if(*p != '-') return 0;
	p++;
	if(!(*p >= '0' && *p <= '9')) return 0;
	while(*p >= '0' && *p <= '9') p++;
	if(*p == 'A') p++;
	return *p == 0;
}

/** map a status word */
static int
parse_enum(const char* s, const char* const* words, const int* vals)
{
	int i;
	for(i = 0; words[i]; i++)
		if(strcasecmp(s, words[i]) == 0) return vals[i];
	return -1;
}

static void
row_filing(struct build* b, struct ig_source* s, json_t* row)
{
	static const char* const st_w[] = { "active", "cancelled", "canceled",
		"revoked", "已备案", "已注销", "已撤销", NULL };
	static const int st_v[] = { 1, 2, 2, 3, 1, 2, 3 };
	static const char* const ty_w[] = { "enterprise", "individual",
		"government", "institution", "other", "企业", "个人",
		"政府机关", "事业单位", "其他", NULL };
	static const int ty_v[] = { 1, 2, 3, 4, 5, 1, 2, 3, 4, 5 };
	uint8_t wire[IG_NAME_MAX];
	char text[1024];
	struct ig_filing f;
	const char* v, *reg;
	int st = 1, ty = 5;
	size_t tl;
	if(!name_field(b, s, row, "domain", wire)) return;
	ig_name_wire_to_text(wire, text, sizeof(text));
	tl = strlen(text);
	if(tl > 1) text[tl-1] = 0;
	reg = ig_name_registrable(text);
	if(!reg || strcmp(reg, text) != 0) {
		if(reg) reject(b, s, "domain", "'%s' is not a registrable "
			"domain (file its registrable domain %s)", text, reg);
		else reject(b, s, "domain", "'%s' is a public suffix, not a "
			"registrable domain", text);
		return;
	}
	if(!tld_filable(b, wire)) {
		reject(b, s, "domain", "'%s': TLD not on the filable list",
			text);
		return;
	}
	memset(&f, 0, sizeof(f));
	if(!(f.number = str_field(b, s, row, "number"))) return;
	if(!filing_number_ok(f.number)) {
		reject(b, s, "number", "'%s' is not a filing number "
			"(like 京ICP备16020626号-8)", f.number);
		return;
	}
	if((v = ig_field_str(row, "status")) && (st = parse_enum(v, st_w,
		st_v)) < 0) {
		reject(b, s, "status", "'%s' (want active, cancelled or "
			"revoked)", v);
		return;
	}
	if((v = ig_field_str(row, "subject_type")) && (ty = parse_enum(v,
		ty_w, ty_v)) < 0) {
		reject(b, s, "subject_type", "'%s' (want enterprise, "
			"individual, government, institution or other)", v);
		return;
	}
	f.status = (enum ig_filing_status)st;
	f.subject_type = (enum ig_subject_type)ty;
	f.subject = ig_field_str(row, "subject");
	f.province = ig_field_str(row, "province");
	f.provider = ig_field_str(row, "provider");
	if(!time_field(b, s, row, "approved", 0, &f.approved)) return;
	if(ig_writer_name_flags(b->w, wire) & IG_NAME_FILING) {
		reject(b, s, "domain", "'%s' filed twice (first row kept)",
			text);
		return;
	}
	if(!ig_writer_filing(b->w, wire, &f)) {
		reject(b, s, NULL, "%s", ig_writer_error(b->w));
		return;
	}
	b->loaded++;
}

static void
row_blacklist(struct build* b, struct ig_source* s, json_t* row)
{
	uint8_t wire[IG_NAME_MAX];
	struct ig_blacklist e;
	int sub;
	if(!name_field(b, s, row, "name", wire)) return;
	if(wire[0] == 0) {
		reject(b, s, "name", "the root cannot be blacklisted");
		return;
	}
	if((sub = bool_field(b, s, row, "subtree", 1)) < 0) return;
	e.subtree = sub;
	e.reason = ig_field_str(row, "reason");
	e.source = ig_field_str(row, "source");
	if(!time_field(b, s, row, "added", 0, &e.added)) return;
	if(!ig_writer_blacklist(b->w, wire, &e)) {
		reject(b, s, NULL, "%s", ig_writer_error(b->w));
		return;
	}
	b->loaded++;
}

static void
row_exempt(struct build* b, struct ig_source* s, json_t* row)
{
	uint8_t wire[IG_NAME_MAX];
	struct ig_exempt e;
	int sub;
	if(!name_field(b, s, row, "name", wire)) return;
	if((sub = bool_field(b, s, row, "subtree", 1)) < 0) return;
	e.subtree = sub;
	e.note = ig_field_str(row, "note");
	if(!ig_writer_exempt(b->w, wire, &e)) {
		reject(b, s, NULL, "%s", ig_writer_error(b->w));
		return;
	}
	b->loaded++;
}

/** an order id is one DNS label: it travels in the policy SOA */
static int
order_id_ok(const char* id)
{
	size_t n = strlen(id), i;
	if(n == 0 || n > 63) return 0;
	for(i = 0; i < n; i++) {
		char c = id[i];
		if(!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			(c >= '0' && c <= '9') || c == '-'))
			return 0;
	}
	return id[0] != '-' && id[n-1] != '-';
}

static void
row_order(struct build* b, struct ig_source* s, json_t* row)
{
	struct ig_order o;
	json_t* tg = json_object_get(row, "targets");
	const char* names[256];
	char norm[256][1024];
	int sub[256];
	unsigned n = 0;
	uint8_t tbuf[65536];
	size_t i;
	memset(&o, 0, sizeof(o));
	if(!(o.id = str_field(b, s, row, "id"))) return;
	if(!order_id_ok(o.id)) {
		reject(b, s, "id", "'%s' (want 1-63 letters, digits, '-')",
			o.id);
		return;
	}
	if(!(o.doc_no = str_field(b, s, row, "doc_no")) ||
		!(o.unit = str_field(b, s, row, "unit")) ||
		!(o.reason = str_field(b, s, row, "reason")))
		return;
	if(!time_field(b, s, row, "effective", 0, &o.effective) ||
		!time_field(b, s, row, "expiry", 0, &o.expiry) ||
		!time_field(b, s, row, "lifted", 0, &o.lifted))
		return;
	if(o.expiry && o.expiry <= o.effective) {
		reject(b, s, "expiry", "not after effective");
		return;
	}
	/* targets: a JSON list of strings or {name, subtree} objects, or a
	 * CSV cell "a.cn|=b.cn" ('=' prefix: exact name only) */
	if(json_is_string(tg)) {
		char* cell = strdup(json_string_value(tg)), *save = NULL, *t;
		json_t* arr = json_array();
		for(t = strtok_r(cell, "|", &save); t; t = strtok_r(NULL, "|",
			&save))
			json_array_append_new(arr, json_string(t));
		free(cell);
		tg = arr;
	} else json_incref(tg);
	if(!json_is_array(tg) || json_array_size(tg) == 0) {
		reject(b, s, "targets", "missing or empty");
		json_decref(tg);
		return;
	}
	for(i = 0; i < json_array_size(tg); i++) {
		json_t* t = json_array_get(tg, i);
		const char* nm = NULL, *err;
		int st = 1;
		uint8_t wire[IG_NAME_MAX];
		size_t wl;
		if(n >= 256) {
			reject(b, s, "targets", "more than 256");
			json_decref(tg);
			return;
		}
		if(json_is_string(t)) {
			nm = json_string_value(t);
			if(nm[0] == '=') { nm++; st = 0; }
		} else if(json_is_object(t)) {
			nm = ig_field_str(t, "name");
			st = ig_field_bool(t, "subtree", 1);
		}
		if(!nm || st < 0 || !ig_name_from_text(nm, wire, &wl, &err)) {
			reject(b, s, "targets", "target %zu: %s", i + 1,
				!nm || st < 0 ? "want a name or {name, subtree}"
				: err);
			json_decref(tg);
			return;
		}
		if(wire[0] == 0) {
			reject(b, s, "targets", "target %zu is the root", i + 1);
			json_decref(tg);
			return;
		}
		ig_name_wire_to_text(wire, norm[n], sizeof(norm[n]));
		names[n] = norm[n];
		sub[n++] = st;
	}
	json_decref(tg);
	o.ntargets = n;
	o.targets = tbuf;
	if(ig_order_targets_encode(names, sub, n, tbuf, sizeof(tbuf)) == 0) {
		reject(b, s, "targets", "too large");
		return;
	}
	if(!ig_writer_order(b->w, &o)) {
		reject(b, s, NULL, "%s", ig_writer_error(b->w));
		return;
	}
	b->loaded++;
}

/** queue a range for merging */
static void
range_add(struct build* b, enum ig_range_kind kind, const struct ig_range* r,
	const char* owner)
{
	if(b->nrange == b->caprange) {
		b->caprange = b->caprange ? b->caprange * 2 : 256;
		b->ranges = realloc(b->ranges, b->caprange * sizeof(*b->ranges));
	}
	b->ranges[b->nrange].kind = kind;
	b->ranges[b->nrange].r = *r;
	b->ranges[b->nrange].owner = strdup(owner ? owner : "");
	b->nrange++;
}

static void
row_domestic(struct build* b, struct ig_source* s, json_t* row)
{
	struct ig_range r;
	const char* v = str_field(b, s, row, "range"), *err;
	if(!v) return;
	if(!ig_range_parse(v, &r, &err)) {
		reject(b, s, "range", "'%s': %s", v, err);
		return;
	}
	range_add(b, IG_RANGE_DOMESTIC, &r, ig_field_str(row, "source"));
	b->loaded++;
}

static void
row_registrar(struct build* b, struct ig_source* s, json_t* row)
{
	struct ig_registrar r;
	json_t* lists[2];
	const char* keys[2] = { "endpoint_ranges", "endpoint_hosts" };
	int k;
	size_t i;
	if(!(r.id = str_field(b, s, row, "id"))) return;
	r.name = ig_field_str(row, "name");
	for(k = 0; k < 2; k++) {
		lists[k] = json_object_get(row, keys[k]);
		if(json_is_string(lists[k])) {
			char* cell = strdup(json_string_value(lists[k]));
			char* save = NULL, *t;
			lists[k] = json_array();
			for(t = strtok_r(cell, "|", &save); t;
				t = strtok_r(NULL, "|", &save))
				json_array_append_new(lists[k], json_string(t));
			free(cell);
		} else if(lists[k]) json_incref(lists[k]);
		else lists[k] = json_array();
		if(!json_is_array(lists[k])) {
			reject(b, s, keys[k], "want a list");
			goto done;
		}
	}
	for(i = 0; i < json_array_size(lists[0]); i++) {
		struct ig_range rg;
		const char* v = json_string_value(json_array_get(lists[0], i));
		const char* err = "not a string";
		if(!v || !ig_range_parse(v, &rg, &err)) {
			reject(b, s, keys[0], "entry %zu: %s", i + 1, err);
			goto done;
		}
	}
	for(i = 0; i < json_array_size(lists[1]); i++) {
		uint8_t wire[IG_NAME_MAX];
		size_t wl;
		const char* v = json_string_value(json_array_get(lists[1], i));
		const char* err = "not a string";
		if(!v || !ig_name_from_text(v, wire, &wl, &err)) {
			reject(b, s, keys[1], "entry %zu: %s", i + 1, err);
			goto done;
		}
	}
	if(!ig_writer_registrar(b->w, &r)) {
		reject(b, s, NULL, "%s", ig_writer_error(b->w));
		goto done;
	}
	for(i = 0; i < json_array_size(lists[0]); i++) {
		struct ig_range rg;
		const char* err;
		ig_range_parse(json_string_value(json_array_get(lists[0], i)),
			&rg, &err);
		range_add(b, IG_RANGE_REDIRECT, &rg, r.id);
	}
	for(i = 0; i < json_array_size(lists[1]); i++) {
		uint8_t wire[IG_NAME_MAX];
		size_t wl;
		const char* err;
		ig_name_from_text(json_string_value(json_array_get(lists[1], i)),
			wire, &wl, &err);
		ig_writer_redirect_host(b->w, wire, r.id);
	}
	b->loaded++;
done:
	json_decref(lists[0]);
	json_decref(lists[1]);
}

static void
row_regdomain(struct build* b, struct ig_source* s, json_t* row)
{
	uint8_t wire[IG_NAME_MAX];
	struct ig_regdomain d;
	int park, fwd, hold;
	if(!name_field(b, s, row, "domain", wire)) return;
	if(!(d.registrar = str_field(b, s, row, "registrar"))) return;
	if((park = bool_field(b, s, row, "parking", 0)) < 0 ||
		(fwd = bool_field(b, s, row, "forwarding", 0)) < 0 ||
		(hold = bool_field(b, s, row, "hold", 0)) < 0)
		return;
	d.flags = (park ? IG_REGDOMAIN_PARKING : 0) |
		(fwd ? IG_REGDOMAIN_FORWARDING : 0) |
		(hold ? IG_REGDOMAIN_HOLD : 0);
	d.status = ig_field_str(row, "status");
	if(!ig_writer_regdomain(b->w, wire, &d)) {
		reject(b, s, NULL, "%s", ig_writer_error(b->w));
		return;
	}
	b->loaded++;
}

/** tlds.txt: a plain list, one TLD per line */
static int
load_tld_text(struct build* b, const char* path)
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
		row = json_pack("{s:s}", "tld", p);
		row_tld(b, &s, row);
		json_decref(row);
	}
	fclose(in);
	return 1;
}

/** qsort order for ranges: kind, first */
static int
range_cmp(const void* a, const void* b)
{
	const struct pending_range* x = a, *y = b;
	if(x->kind != y->kind) return (int)x->kind - (int)y->kind;
	return ig_addr_cmp(&x->r.first, &y->r.first);
}

/** add one to an address; returns 0 on wrap */
static int
addr_inc(struct ig_addr* a)
{
	int i;
	for(i = 15; i >= 0; i--)
		if(++a->b[i] != 0) return 1;
	return 0;
}

/** sort, merge overlapping and adjacent ranges of a kind, write */
static int
flush_ranges(struct build* b)
{
	size_t i = 0, merged = 0;
	qsort(b->ranges, b->nrange, sizeof(*b->ranges), range_cmp);
	ig_writer_set_sorted(b->w, 1);
	while(i < b->nrange) {
		struct pending_range cur = b->ranges[i++];
		while(i < b->nrange && b->ranges[i].kind == cur.kind) {
			struct ig_addr next = cur.r.last;
			int nowrap = addr_inc(&next);
			if(nowrap && ig_addr_cmp(&b->ranges[i].r.first, &next) > 0)
				break;
			if(ig_addr_cmp(&b->ranges[i].r.last, &cur.r.last) > 0)
				cur.r.last = b->ranges[i].r.last;
			i++;
			merged++;
		}
		if(!ig_writer_range(b->w, cur.kind, &cur.r, cur.owner)) {
			fprintf(stderr, "build: %s\n", ig_writer_error(b->w));
			return 0;
		}
	}
	ig_writer_set_sorted(b->w, 0);
	if(merged && !b->quiet)
		fprintf(stderr, "build: merged %zu overlapping or adjacent "
			"ranges\n", merged);
	return 1;
}

/** print help */
static void
build_usage(FILE* out)
{
	fprintf(out,
"usage: icpguard build --source DIR [--out PATH] [options]\n\n"
"Build a snapshot from the source files in DIR (see docs/sources.md):\n"
"  tlds.txt, filings, blacklist, orders, exemptions, domestic, registrars,\n"
"  regdomains (each .jsonl or .csv, each optional)\n"
"and publish it atomically at PATH (default: the snapshot path).\n\n"
"options:\n"
"  --source DIR        source directory (required)\n"
"  --out PATH          snapshot to write (default $ICPGUARD_SNAPSHOT)\n"
"  --serial N          snapshot serial (default: previous + 1, or now)\n"
"  --previous PATH     previous snapshot, to record what changed\n"
"                      (default: the file at --out, if any)\n"
"  --quarantine FILE   write rejected rows there as JSON lines\n"
"  --allow-rejects     exit 0 even when rows were rejected\n"
"  --quiet             no progress lines\n"
"exit: 0 built, 1 built but rows rejected (or failed), 2 usage error\n");
}

int
ig_cmd_build(int argc, char** argv)
{
	static const struct option opts[] = {
		{ "source", required_argument, NULL, 's' },
		{ "out", required_argument, NULL, 'o' },
		{ "serial", required_argument, NULL, 'n' },
		{ "previous", required_argument, NULL, 'p' },
		{ "quarantine", required_argument, NULL, 'q' },
		{ "allow-rejects", no_argument, NULL, 'a' },
		{ "quiet", no_argument, NULL, 'Q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct build b;
	const char* src = NULL, *out = ig_default_snapshot(), *prevpath = NULL;
	const char* qpath = NULL;
	uint64_t serial = 0;
	int allow = 0, c, ok = 1;
	char err[512], *tldtxt;
	struct ig_snapshot* prev = NULL;
	struct ig_snapshot_info info;
	size_t i;

	memset(&b, 0, sizeof(b));
	optind = 1;
	while((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch(c) {
		case 's': src = optarg; break;
		case 'o': out = optarg; break;
		case 'n': serial = strtoull(optarg, NULL, 10); break;
		case 'p': prevpath = optarg; break;
		case 'q': qpath = optarg; break;
		case 'a': allow = 1; break;
		case 'Q': b.quiet = 1; break;
		case 'h': build_usage(stdout); return 0;
		default: build_usage(stderr); return 2;
		}
	}
	if(!src || optind != argc) {
		build_usage(stderr);
		return 2;
	}
	if(!prevpath && access(out, R_OK) == 0) prevpath = out;
	if(prevpath && !ig_snapshot_open(prevpath, &prev, err, sizeof(err))) {
		fprintf(stderr, "build: previous snapshot ignored: %s\n", err);
		prev = NULL;
	}
	if(!serial)
		serial = prev ? ig_snapshot_info(prev)->serial + 1 :
			(uint64_t)time(NULL);
	if(qpath && !(b.quarantine = fopen(qpath, "w"))) {
		perror(qpath);
		ig_snapshot_unref(prev);
		return 2;
	}
	if(!(b.w = ig_writer_create(out, 0, err, sizeof(err)))) {
		fprintf(stderr, "build: %s\n", err);
		ig_snapshot_unref(prev);
		return 1;
	}
	tldtxt = find_source(src, "tlds");
	if(tldtxt && strstr(tldtxt, ".txt")) ok = load_tld_text(&b, tldtxt);
	else if(tldtxt) ok = each_row(&b, src, "tlds", row_tld);
	free(tldtxt);
	ok = ok && each_row(&b, src, "filings", row_filing)
		&& each_row(&b, src, "blacklist", row_blacklist)
		&& each_row(&b, src, "exemptions", row_exempt)
		&& each_row(&b, src, "orders", row_order)
		&& each_row(&b, src, "domestic", row_domestic)
		&& each_row(&b, src, "registrars", row_registrar)
		&& each_row(&b, src, "regdomains", row_regdomain)
		&& flush_ranges(&b);
	if(ok) {
		if(prev) ok = ig_writer_diff(b.w, prev);
		else ok = ig_writer_meta(b.w, "changed_all", "1");
		if(!ok) fprintf(stderr, "build: %s\n", ig_writer_error(b.w));
	}
	if(ok) ok = ig_writer_meta(b.w, "source", src);
	ig_snapshot_unref(prev);
	if(!ok) {
		ig_writer_abort(b.w);
	} else if(!ig_writer_publish(b.w, serial, &info, err, sizeof(err))) {
		fprintf(stderr, "build: %s\n", err);
		ok = 0;
	} else if(!b.quiet) {
		fprintf(stderr, "build: published %s: snapshot %s, %ld records"
			", %ld rejected\n", out, info.ident, b.loaded,
			b.rejected);
	}
	if(b.quarantine) fclose(b.quarantine);
	for(i = 0; i < b.nrange; i++) free(b.ranges[i].owner);
	free(b.ranges);
	free(b.tlds);
	if(!ok) return 1;
	return (b.rejected && !allow) ? 1 : 0;
}
