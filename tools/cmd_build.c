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
#include "tools/feed_rows.h"
#include "lib/snapshot.h"
#include "lib/validate.h"
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
	/** refused rows: stderr, quarantine report, count */
	struct ig_row_report rep;
	/** rows loaded */
	long loaded;
	/** filable TLDs */
	struct ig_tldset tlds;
	/** collected ranges before merging */
	struct ig_rangeset ranges;
	/** be quiet */
	int quiet;
};

/** report one bad row */
static void
reject(struct build* b, struct ig_source* s, const char* field,
	const char* fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	ig_row_vreject(&b->rep, s->path, s->line, field, fmt, ap);
	va_end(ap);
}

/** report a refusal from lib/validate */
static void
reject_r(struct build* b, struct ig_source* s, const struct ig_reject* r)
{
	reject(b, s, r->field, "%s", r->msg);
}

/** a required name field, normalised; reports and returns 0 when bad */
static int
name_field(struct build* b, struct ig_source* s, json_t* row,
	const char* key, uint8_t* wire)
{
	struct ig_reject r;
	if(!ig_valid_name(key, ig_field_str(row, key), wire, &r)) {
		reject_r(b, s, &r);
		return 0;
	}
	return 1;
}

/** a required non-empty string field */
static const char*
str_field(struct build* b, struct ig_source* s, json_t* row, const char* key)
{
	const char* v = ig_field_str(row, key);
	struct ig_reject r;
	if(!ig_valid_str(key, v, &r)) {
		reject_r(b, s, &r);
		return NULL;
	}
	return v;
}

/** a boolean field; -1 reported */
static int
bool_field(struct build* b, struct ig_source* s, json_t* row,
	const char* key, int dflt)
{
	return ig_row_bool(&b->rep, s, row, key, dflt);
}

/** a time field; returns 0 on error (reported) */
static int
time_field(struct build* b, struct ig_source* s, json_t* row,
	const char* key, int64_t dflt, int64_t* out)
{
	return ig_row_time(&b->rep, s, row, key, dflt, out);
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
	struct ig_reject r;
	if(!ig_valid_tld(ig_field_str(row, "tld"), wire, &r)) {
		reject_r(b, s, &r);
		return;
	}
	if(!ig_writer_tld(b->w, wire)) {
		reject(b, s, "tld", "%s", ig_writer_error(b->w));
		return;
	}
	ig_tldset_add(&b->tlds, wire);
	b->loaded++;
}

static void
row_filing(struct build* b, struct ig_source* s, json_t* row)
{
	uint8_t wire[IG_NAME_MAX];
	char text[1024];
	struct ig_filing f;
	struct ig_filing_fields in;
	struct ig_reject r;
	ig_row_filing_fields(row, &in);
	if(!ig_valid_filing(&in, &b->tlds, wire, text, &f, &r)) {
		reject_r(b, s, &r);
		return;
	}
	if(!time_field(b, s, row, "approved", 0, &f.approved)) return;
	if(ig_writer_name_flags(b->w, wire) & IG_NAME_FILING) {
		ig_reject_filed_twice(&r, text);
		reject_r(b, s, &r);
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
	struct ig_reject r;
	if(!ig_valid_blacklist_name(ig_field_str(row, "name"), wire, &r)) {
		reject_r(b, s, &r);
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

static void
row_order(struct build* b, struct ig_source* s, json_t* row)
{
	struct ig_order o;
	json_t* tg;
	const char* names[256];
	char norm[256][1024];
	int sub[256];
	unsigned n = 0;
	uint8_t tbuf[65536];
	size_t i;
	memset(&o, 0, sizeof(o));
	if(!(o.id = str_field(b, s, row, "id"))) return;
	if(!ig_order_id_ok(o.id)) {
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
	tg = ig_row_list(row, "targets");
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

static void
row_domestic(struct build* b, struct ig_source* s, json_t* row)
{
	struct ig_range r;
	struct ig_reject rj;
	if(!ig_valid_range("range", ig_field_str(row, "range"), &r, &rj)) {
		reject_r(b, s, &rj);
		return;
	}
	ig_rangeset_add(&b->ranges, IG_RANGE_DOMESTIC, &r,
		ig_field_str(row, "source"));
	b->loaded++;
}

static void
row_registrar(struct build* b, struct ig_source* s, json_t* row)
{
	struct ig_registrar r;
	json_t* lists[2] = { NULL, NULL };
	const char* keys[2] = { "endpoint_ranges", "endpoint_hosts" };
	int k;
	size_t i;
	if(!(r.id = str_field(b, s, row, "id"))) return;
	r.name = ig_field_str(row, "name");
	for(k = 0; k < 2; k++) {
		lists[k] = ig_row_list(row, keys[k]);
		if(!json_is_array(lists[k])) {
			reject(b, s, keys[k], "want a list");
			goto done;
		}
	}
	{
		size_t n0 = json_array_size(lists[0]);
		size_t n1 = json_array_size(lists[1]);
		const char** v = calloc(n0 + n1 + 1, sizeof(char*));
		struct ig_reject rj;
		int good;
		for(i = 0; i < n0; i++)
			v[i] = json_string_value(json_array_get(lists[0], i));
		for(i = 0; i < n1; i++)
			v[n0 + i] = json_string_value(json_array_get(lists[1],
				i));
		good = ig_valid_endpoints(v, n0, v + n0, n1, &rj);
		free(v);
		if(!good) {
			reject_r(b, s, &rj);
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
		ig_rangeset_add(&b->ranges, IG_RANGE_REDIRECT, &rg, r.id);
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

/** a row of tlds.txt */
static void
row_tld_text(void* arg, struct ig_source* s, json_t* row)
{
	row_tld(arg, s, row);
}

/** sort, merge overlapping and adjacent ranges of a kind, write */
static int
flush_ranges(struct build* b)
{
	size_t merged = 0;
	if(!ig_rangeset_write(&b->ranges, b->w, &merged)) {
		fprintf(stderr, "build: %s\n", ig_writer_error(b->w));
		return 0;
	}
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
	if(qpath && !(b.rep.quarantine = fopen(qpath, "w"))) {
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
	if(tldtxt && strstr(tldtxt, ".txt"))
		ok = ig_rows_text_list(tldtxt, "tld", row_tld_text, &b);
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
			b.rep.rejected);
	}
	if(b.rep.quarantine) fclose(b.rep.quarantine);
	ig_rangeset_free(&b.ranges);
	ig_tldset_free(&b.tlds);
	if(!ok) return 1;
	return (b.rep.rejected && !allow) ? 1 : 0;
}
