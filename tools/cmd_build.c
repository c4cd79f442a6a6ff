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
#include "lib/record.h"
#include "lib/snapshot.h"
#include "lib/validate.h"
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/** the record kinds read in bulk: everything that goes into the name
 * database in numbers (and the blacklist and exemption databases beside
 * it), in the order their files are read */
enum bulk_kind { BK_TLD, BK_FILING, BK_BLACKLIST, BK_EXEMPT, BK_COUNT };

/** most parts a bulk file is read in (one thread each) */
#define BULK_PARTS_MAX 8
/** arena blocks: 64 MiB */
#define ARENA_SHIFT 26

/**
 * One bulk record: its key and payload are in the arena of the part that
 * read it.  Sorting compares the first 16 key bytes held here first.
 */
struct brec {
	/** the first 16 bytes of the key, big-endian, zero-padded */
	uint64_t pfx[2];
	/** part << 56 | position in that part's arena (input order within a
	 * file: the tie-break, so the first row of a key sorts first) */
	uint64_t off;
	/** line in its file */
	uint32_t line;
	/** payload length (after the key) */
	uint16_t len;
	/** key length */
	uint8_t keylen;
	/** enum bulk_kind */
	uint8_t kind;
};

/** a growable array of bulk records */
struct brecs {
	/** records */
	struct brec* v;
	/** count, capacity */
	size_t n, cap;
};

/** what one reader thread collects from its part of a file */
struct part {
	/** the build (read only in the threads: TLD set, options) */
	struct build* b;
	/** this part's index */
	unsigned idx;
	/** arena blocks */
	uint8_t** blk;
	/** block count, bytes used in the last */
	size_t nblk, used;
	/** records read, by kind */
	struct brecs recs[BK_COUNT];
	/** refusals, kept until the file's parts are all read */
	struct ig_row_deferred defer;
	/** reports into defer */
	struct ig_row_report rep;
	/** rows loaded from the file being read */
	long loaded;
	/** the file being read, its kind and byte range */
	const char* path;
	/** kind */
	enum bulk_kind kind;
	/** byte range */
	long long start, end;
	/** lines read in the part; 0 when the file could not be opened */
	long lines;
	/** 1 when the part was read */
	int ok;
};

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
	/** reader threads for bulk files */
	int threads;
	/** bulk readers, one per part */
	struct part parts[BULK_PARTS_MAX];
	/** the file each bulk kind came from */
	char* bulk_path[BK_COUNT];
	/** start of the build, for progress lines */
	double t0;
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
			reject(b, &s, s.bad_field, "%s", err);
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

static void
row_order(struct build* b, struct ig_source* s, json_t* row)
{
	struct ig_order o;
	json_t* tg;
	const char* names[IG_ORDER_MAX_TARGETS];
	static char norm[IG_ORDER_MAX_TARGETS][IG_ORDER_TARGET_MAX + 2];
	int sub[IG_ORDER_MAX_TARGETS];
	unsigned n = 0;
	static uint8_t tbuf[IG_ORDER_TARGETS_BYTES];
	struct ig_reject rj;
	size_t i;
	memset(&o, 0, sizeof(o));
	if(!(o.id = str_field(b, s, row, "id"))) return;
	if(!ig_order_id_ok(o.id)) {
		reject(b, s, "id", "'%s' (want 1-%d letters, digits, '-')",
			o.id, IG_ORDER_ID_MAX);
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
	/* the limits of the order record (lib/limits.h), as the loader's
	 * intake checks them */
	if(!ig_valid_order_texts(o.id, o.doc_no, o.unit, o.reason,
		json_array_size(tg), &rj)) {
		reject_r(b, s, &rj);
		json_decref(tg);
		return;
	}
	for(i = 0; i < json_array_size(tg); i++) {
		json_t* t = json_array_get(tg, i);
		const char* nm = NULL;
		int st = 1;
		if(json_is_string(t)) {
			nm = json_string_value(t);
			if(nm[0] == '=') { nm++; st = 0; }
		} else if(json_is_object(t)) {
			nm = ig_field_str(t, "name");
			st = ig_field_bool(t, "subtree", 1);
		}
		if(st < 0) nm = NULL;
		if(!ig_valid_order_target(i, nm, norm[n], sizeof(norm[n]),
			&rj)) {
			reject_r(b, s, &rj);
			json_decref(tg);
			return;
		}
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
	if(!ig_valid_range("range", ig_field_str(row, "range"), &r, &rj) ||
		!ig_valid_len("source", ig_field_str(row, "source"),
		IG_RANGE_OWNER_MAX, &rj)) {
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
	{
		struct ig_reject rj;
		if(!ig_valid_registrar(r.id, r.name, &rj)) {
			reject_r(b, s, &rj);
			return;
		}
	}
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
	struct ig_reject rj;
	if(!name_field(b, s, row, "domain", wire)) return;
	if(!(d.registrar = str_field(b, s, row, "registrar"))) return;
	if(!ig_valid_regdomain(ig_field_str(row, "domain"), d.registrar,
		ig_field_str(row, "status"), wire, &rj)) {
		reject_r(b, s, &rj);
		return;
	}
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

/* ------------------------------------------------------------------ */
/* Bulk records: read in parallel parts, sorted, appended               */

/** seconds since the build began */
static double
elapsed(const struct build* b)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9 - b->t0;
}

/** room for n bytes in a part's arena; exits when memory runs out (a
 * tool, like icpguard feed) */
static uint8_t*
arena_take(struct part* p, size_t n, uint64_t* pos)
{
	size_t bs = (size_t)1 << ARENA_SHIFT;
	if(p->nblk == 0 || p->used + n > bs) {
		uint8_t** nb = realloc(p->blk, (p->nblk + 1) * sizeof(*nb));
		void* m = NULL;
		/* huge pages where the kernel gives them: the records are
		 * written in key order, which is random in the arena, and a
		 * TLB miss per record was a fifth of the write phase */
		if(!nb || posix_memalign(&m, (size_t)2 << 20, bs) != 0) {
			fprintf(stderr, "build: out of memory\n");
			exit(1);
		}
		(void)madvise(m, bs, MADV_HUGEPAGE);
		nb[p->nblk] = m;
		p->blk = nb;
		p->nblk++;
		p->used = 0;
	}
	*pos = ((uint64_t)(p->nblk - 1) << ARENA_SHIFT) | p->used;
	p->used += n;
	return p->blk[p->nblk - 1] + (*pos & (bs - 1));
}

/** the bytes of a record (key, then payload) */
static const uint8_t*
brec_bytes(const struct build* b, const struct brec* r)
{
	const struct part* p = &b->parts[r->off >> 56];
	uint64_t pos = r->off & (((uint64_t)1 << 56) - 1);
	return p->blk[pos >> ARENA_SHIFT] + (pos & (((uint64_t)1 <<
		ARENA_SHIFT) - 1));
}

/** keep a bulk record: key from a wire name, payload bytes */
static void
bulk_add(struct part* p, enum bulk_kind kind, struct ig_source* s,
	const uint8_t* wire, const uint8_t* pay, size_t plen)
{
	uint8_t key[IG_KEY_MAX], *d;
	size_t kl = ig_name_wire_to_key(wire, key, NULL, NULL), i;
	struct brecs* v = &p->recs[kind];
	struct brec* r;
	uint64_t pos;
	if(v->n == v->cap) {
		size_t nc = v->cap ? v->cap * 2 : 4096;
		struct brec* nv = realloc(v->v, nc * sizeof(*nv));
		if(!nv) {
			fprintf(stderr, "build: out of memory\n");
			exit(1);
		}
		v->v = nv;
		v->cap = nc;
	}
	d = arena_take(p, kl + plen, &pos);
	memcpy(d, key, kl);
	if(plen) memcpy(d + kl, pay, plen);
	r = &v->v[v->n++];
	memset(r->pfx, 0, sizeof(r->pfx));
	for(i = 0; i < 16 && i < kl; i++)
		r->pfx[i / 8] |= (uint64_t)key[i] << (56 - 8 * (i % 8));
	r->off = ((uint64_t)p->idx << 56) | pos;
	r->line = s->line > (long)UINT32_MAX ? UINT32_MAX : (uint32_t)s->line;
	r->len = (uint16_t)plen;
	r->keylen = (uint8_t)kl;
	r->kind = (uint8_t)kind;
	p->loaded++;
}

/** a TLD (tlds.txt line or a row's "tld") */
static void
bulk_tld(struct part* p, struct ig_source* s, const char* text)
{
	uint8_t wire[IG_NAME_MAX];
	struct ig_reject r;
	if(!ig_valid_tld(text, wire, &r)) {
		ig_row_reject(&p->rep, s->path, s->line, r.field, "%s", r.msg);
		return;
	}
	ig_tldset_add(&p->b->tlds, wire);
	bulk_add(p, BK_TLD, s, wire, NULL, 0);
}

/** a filing row */
static void
bulk_filing(struct part* p, struct ig_source* s,
	const struct ig_source_row* row)
{
	uint8_t wire[IG_NAME_MAX], buf[IG_FILING_RECORD_MAX];
	struct ig_enc e = { buf, sizeof(buf), 0, 0 };
	char text[1024];
	struct ig_filing f;
	struct ig_filing_fields in;
	struct ig_reject r;
	ig_srow_filing_fields(row, &in);
	if(!ig_valid_filing(&in, &p->b->tlds, wire, text, &f, &r)) {
		ig_row_reject(&p->rep, s->path, s->line, r.field, "%s", r.msg);
		return;
	}
	if(!ig_srow_time(&p->rep, s, row, "approved", 0, &f.approved))
		return;
	ig_enc_u8(&e, (uint8_t)f.status);
	ig_enc_u8(&e, (uint8_t)f.subject_type);
	ig_enc_i64(&e, f.approved);
	ig_enc_str(&e, f.number);
	ig_enc_str(&e, f.subject);
	ig_enc_str(&e, f.province);
	ig_enc_str(&e, f.provider);
	if(e.overflow) {
		ig_row_reject(&p->rep, s->path, s->line, NULL, "filing record "
			"too large (more than %d bytes)", IG_FILING_RECORD_MAX);
		return;
	}
	bulk_add(p, BK_FILING, s, wire, buf, e.len);
}

/** a blacklist row */
static void
bulk_blacklist(struct part* p, struct ig_source* s,
	const struct ig_source_row* row)
{
	uint8_t wire[IG_NAME_MAX], buf[IG_BLACKLIST_RECORD_MAX];
	struct ig_enc e = { buf, sizeof(buf), 0, 0 };
	int sub;
	int64_t added;
	struct ig_reject r;
	const char* reason = ig_source_row_str(row, "reason");
	const char* source = ig_source_row_str(row, "source");
	if(!ig_valid_blacklist_name(ig_source_row_str(row, "name"), wire, &r)
		|| !ig_valid_blacklist_texts(reason, source, &r)) {
		ig_row_reject(&p->rep, s->path, s->line, r.field, "%s", r.msg);
		return;
	}
	if((sub = ig_srow_bool(&p->rep, s, row, "subtree", 1)) < 0) return;
	if(!ig_srow_time(&p->rep, s, row, "added", 0, &added)) return;
	ig_enc_u8(&e, (uint8_t)(sub ? 1 : 0));
	ig_enc_i64(&e, added);
	ig_enc_str(&e, reason);
	ig_enc_str(&e, source);
	if(e.overflow) {
		ig_row_reject(&p->rep, s->path, s->line, NULL, "blacklist entry "
			"too large (more than %d bytes)",
			IG_BLACKLIST_RECORD_MAX);
		return;
	}
	bulk_add(p, BK_BLACKLIST, s, wire, buf, e.len);
}

/** an exemption row */
static void
bulk_exempt(struct part* p, struct ig_source* s,
	const struct ig_source_row* row)
{
	uint8_t wire[IG_NAME_MAX], buf[IG_EXEMPT_RECORD_MAX];
	struct ig_enc e = { buf, sizeof(buf), 0, 0 };
	struct ig_reject r;
	int sub;
	const char* note = ig_source_row_str(row, "note");
	if(!ig_valid_name("name", ig_source_row_str(row, "name"), wire, &r)) {
		ig_row_reject(&p->rep, s->path, s->line, r.field, "%s", r.msg);
		return;
	}
	if((sub = ig_srow_bool(&p->rep, s, row, "subtree", 1)) < 0) return;
	if(!ig_valid_len("note", note, IG_EXEMPT_NOTE_MAX, &r)) {
		ig_row_reject(&p->rep, s->path, s->line, r.field, "%s", r.msg);
		return;
	}
	ig_enc_u8(&e, (uint8_t)(sub ? 1 : 0));
	ig_enc_str(&e, note);
	if(e.overflow) {
		ig_row_reject(&p->rep, s->path, s->line, NULL, "exemption note "
			"too long");
		return;
	}
	bulk_add(p, BK_EXEMPT, s, wire, buf, e.len);
}

static int brec_cmp(const void* a, const void* b);

/** read one part of a bulk file (a thread of its own, or the caller's) */
static void*
part_read(void* arg)
{
	struct part* p = arg;
	struct ig_source s;
	struct ig_source_row row;
	char err[256];
	int good;
	if(!ig_source_open(&s, p->path)) return NULL;
	if(!ig_source_limit(&s, p->start, p->end)) {
		fprintf(stderr, "%s: cannot seek\n", p->path);
		ig_source_close(&s);
		return NULL;
	}
	memset(&row, 0, sizeof(row));
	while(ig_source_next_row(&s, &row, &good, err, sizeof(err))) {
		if(!good) {
			ig_row_reject(&p->rep, s.path, s.line, s.bad_field, "%s",
				err);
			continue;
		}
		switch(p->kind) {
		case BK_TLD:
			bulk_tld(p, &s, ig_source_row_str(&row, "tld"));
			break;
		case BK_FILING: bulk_filing(p, &s, &row); break;
		case BK_BLACKLIST: bulk_blacklist(p, &s, &row); break;
		case BK_EXEMPT: bulk_exempt(p, &s, &row); break;
		default: break;
		}
	}
	p->lines = s.line;
	p->ok = 1;
	/* each part sorts its own records, in its own thread; the parts are
	 * merged after */
	if(p->recs[p->kind].n > 1)
		qsort(p->recs[p->kind].v, p->recs[p->kind].n,
			sizeof(struct brec), brec_cmp);
	ig_source_row_free(&row);
	ig_source_close(&s);
	return NULL;
}

/** the arenas for brec_cmp (qsort has no context argument) */
static const struct build* cmp_build;

/** order of bulk records: key, then input order */
static int
brec_cmp(const void* a, const void* b)
{
	const struct brec* x = a, *y = b;
	size_t m;
	int c;
	if(x->pfx[0] != y->pfx[0]) return x->pfx[0] < y->pfx[0] ? -1 : 1;
	if(x->pfx[1] != y->pfx[1]) return x->pfx[1] < y->pfx[1] ? -1 : 1;
	m = x->keylen < y->keylen ? x->keylen : y->keylen;
	if(m > 16) {
		c = memcmp(brec_bytes(cmp_build, x) + 16,
			brec_bytes(cmp_build, y) + 16, m - 16);
		if(c) return c;
	}
	if(x->keylen != y->keylen) return x->keylen < y->keylen ? -1 : 1;
	return x->off < y->off ? -1 : (x->off > y->off);
}

/** 1 when two records have the same key */
static int
brec_samekey(const struct build* b, const struct brec* x,
	const struct brec* y)
{
	return x->keylen == y->keylen && x->pfx[0] == y->pfx[0] &&
		x->pfx[1] == y->pfx[1] && (x->keylen <= 16 ||
		memcmp(brec_bytes(b, x) + 16, brec_bytes(b, y) + 16,
		(size_t)x->keylen - 16) == 0);
}

/** the records of one kind from every part (each sorted by key and
 * input order), merged into part 0's array */
static struct brecs*
bulk_gather(struct build* b, enum bulk_kind kind)
{
	struct brecs* all = &b->parts[0].recs[kind], m;
	size_t at[BULK_PARTS_MAX];
	int k, nonempty = 0;
	cmp_build = b;
	memset(&m, 0, sizeof(m));
	for(k = 0; k < b->threads; k++) {
		at[k] = 0;
		m.n += b->parts[k].recs[kind].n;
		if(b->parts[k].recs[kind].n) nonempty++;
	}
	if(nonempty <= 1) {
		/* at most one part has records: it is sorted */
		for(k = 1; k < b->threads; k++)
			if(b->parts[k].recs[kind].n) {
				free(all->v);
				*all = b->parts[k].recs[kind];
				memset(&b->parts[k].recs[kind], 0,
					sizeof(struct brecs));
			}
		return all;
	}
	if(!(m.v = malloc(m.n * sizeof(*m.v)))) {
		fprintf(stderr, "build: out of memory\n");
		exit(1);
	}
	m.cap = m.n;
	m.n = 0;
	for(;;) {
		int best = -1;
		for(k = 0; k < b->threads; k++) {
			struct brecs* v = &b->parts[k].recs[kind];
			if(at[k] >= v->n) continue;
			if(best < 0 || brec_cmp(&v->v[at[k]],
				&b->parts[best].recs[kind].v[at[best]]) < 0)
				best = k;
		}
		if(best < 0) break;
		m.v[m.n++] = b->parts[best].recs[kind].v[at[best]++];
	}
	for(k = 0; k < b->threads; k++) {
		free(b->parts[k].recs[kind].v);
		memset(&b->parts[k].recs[kind], 0, sizeof(struct brecs));
	}
	*all = m;
	return all;
}

/** a refusal for a second filing of a domain */
struct dup {
	/** its line */
	long line;
	/** the domain */
	char text[IG_KEY_MAX + 2];
};

/** order of struct dup: line */
static int
dup_cmp(const void* a, const void* b)
{
	const struct dup* x = a, *y = b;
	return (x->line > y->line) - (x->line < y->line);
}

/**
 * Drop the second and later filings of a domain (the first row is kept,
 * as before); the refusals, in line order, into *dups.
 */
static void
filings_dedup(struct build* b, struct dup** dups, size_t* ndup)
{
	struct brecs* v = bulk_gather(b, BK_FILING);
	size_t i, o = 0, cap = 0;
	*dups = NULL;
	*ndup = 0;
	for(i = 0; i < v->n; i++) {
		if(o > 0 && brec_samekey(b, &v->v[o-1], &v->v[i])) {
			struct dup* d;
			size_t tl;
			if(*ndup == cap) {
				cap = cap ? cap * 2 : 64;
				if(!(d = realloc(*dups, cap * sizeof(*d)))) {
					fprintf(stderr, "build: out of "
						"memory\n");
					exit(1);
				}
				*dups = d;
			}
			d = &(*dups)[(*ndup)++];
			d->line = v->v[i].line;
			ig_name_key_to_text(brec_bytes(b, &v->v[i]),
				v->v[i].keylen, d->text, sizeof(d->text));
			tl = strlen(d->text);
			if(tl > 1) d->text[tl - 1] = 0;
			continue;
		}
		v->v[o++] = v->v[i];
	}
	v->n = o;
	if(*ndup > 1) qsort(*dups, *ndup, sizeof(**dups), dup_cmp);
}

/**
 * Read a bulk file DIR/BASE.* in parts (one thread each), then report its
 * refusals in line order, as a reader of the whole file would.
 */
static int
bulk_read(struct build* b, const char* dir, const char* base,
	enum bulk_kind kind)
{
	long long starts[BULK_PARTS_MAX + 1];
	pthread_t tid[BULK_PARTS_MAX];
	int started[BULK_PARTS_MAX];
	char* path = find_source(dir, base);
	struct stat st;
	int n = b->threads, k, ok = 1;
	long base_line = 0, loaded = 0;
	struct dup* dups = NULL;
	size_t ndup = 0, di = 0;
	if(!path) return 1;
	/* small files and the TLD list (the filing check reads it) in one
	 * part */
	if(kind == BK_TLD || stat(path, &st) != 0 ||
		st.st_size < ((off_t)4 << 20))
		n = 1;
	if(!ig_source_split(path, n, starts)) {
		free(path);
		return 0;
	}
	cmp_build = b;
	for(k = 0; k < n; k++) {
		struct part* p = &b->parts[k];
		p->path = path;
		p->kind = kind;
		p->start = starts[k];
		p->end = k + 1 < n ? starts[k+1] : 0;
		p->lines = 0;
		p->loaded = 0;
		p->ok = 0;
		started[k] = 0;
		if(k > 0 && starts[k] >= starts[k+1]) {
			p->ok = 1; /* an empty part */
			continue;
		}
		if(k > 0 && pthread_create(&tid[k], NULL, part_read, p) == 0)
			started[k] = 1;
		else if(k > 0) part_read(p);
	}
	part_read(&b->parts[0]);
	for(k = 1; k < n; k++)
		if(started[k]) pthread_join(tid[k], NULL);
	for(k = 0; k < n; k++)
		if(!b->parts[k].ok) ok = 0;
	if(!ok) {
		free(path);
		return 0;
	}
	/* line numbers: each part counted its own */
	for(k = 0; k < n; k++) {
		struct part* p = &b->parts[k];
		struct brecs* v = &p->recs[kind];
		size_t i;
		/* every record of this kind came from this file */
		for(i = 0; i < v->n; i++)
			v->v[i].line += (uint32_t)base_line;
		p->lines += base_line;
		base_line = p->lines;
		loaded += p->loaded;
	}
	if(kind == BK_FILING) filings_dedup(b, &dups, &ndup);
	/* the refusals of the parts (each in line order) and the second
	 * filings, merged by line */
	base_line = 0;
	for(k = 0; k < n; k++) {
		struct part* p = &b->parts[k];
		size_t pos = 0;
		long line;
		const char* field, *msg;
		while(ig_row_deferred_next(&p->defer, &pos, &line, &field,
			&msg)) {
			line += base_line;
			for(; di < ndup && dups[di].line < line; di++) {
				struct ig_reject r;
				ig_reject_filed_twice(&r, dups[di].text);
				ig_row_reject(&b->rep, path, dups[di].line,
					r.field, "%s", r.msg);
			}
			ig_row_reject(&b->rep, path, line, field, "%s", msg);
		}
		p->defer.len = 0;
		p->defer.n = 0;
		base_line = p->lines;
	}
	for(; di < ndup; di++) {
		struct ig_reject r;
		ig_reject_filed_twice(&r, dups[di].text);
		ig_row_reject(&b->rep, path, dups[di].line, r.field, "%s",
			r.msg);
	}
	loaded -= (long)ndup;
	free(dups);
	b->loaded += loaded;
	if(!b->quiet)
		fprintf(stderr, "build: %s: %ld records\n", path, loaded);
	free(b->bulk_path[kind]);
	b->bulk_path[kind] = path;
	return 1;
}

/** a row of tlds.txt */
static void
row_tld_text(void* arg, struct ig_source* s, json_t* row)
{
	struct build* b = arg;
	struct part* p = &b->parts[0];
	struct ig_row_report keep = p->rep;
	long before = p->loaded;
	/* this reader reports at once, in line order with its own
	 * refusals of long lines */
	p->rep = b->rep;
	bulk_tld(p, s, ig_field_str(row, "tld"));
	b->rep = p->rep;
	p->rep = keep;
	b->loaded += p->loaded - before;
}

/** the wire form of a name key */
static void
key_to_wire(const uint8_t* key, size_t kl, uint8_t* wire)
{
	size_t starts[IG_LABELS_MAX], n = 0, i = 0, w = 0;
	while(i < kl && n < IG_LABELS_MAX) {
		starts[n++] = i;
		i += 1 + (size_t)key[i];
	}
	while(n > 0) {
		size_t s = starts[--n], ll = key[s];
		memcpy(wire + w, key + s, ll + 1);
		w += ll + 1;
	}
	wire[w] = 0;
}

/** write one bulk record; a writer error refuses its row */
static void
bulk_write_one(struct build* b, const struct brec* r)
{
	const uint8_t* d = brec_bytes(b, r);
	uint8_t wire[IG_NAME_MAX + 1];
	struct ig_dec dec = { d + r->keylen, r->len, 0, 0 };
	int ok = 0;
	key_to_wire(d, r->keylen, wire);
	switch(r->kind) {
	case BK_TLD:
		ok = ig_writer_tld(b->w, wire);
		break;
	case BK_FILING: {
		struct ig_filing f;
		memset(&f, 0, sizeof(f));
		f.status = (enum ig_filing_status)ig_dec_u8(&dec);
		f.subject_type = (enum ig_subject_type)ig_dec_u8(&dec);
		f.approved = ig_dec_i64(&dec);
		f.number = ig_dec_str(&dec);
		f.subject = ig_dec_str(&dec);
		f.province = ig_dec_str(&dec);
		f.provider = ig_dec_str(&dec);
		ok = ig_writer_filing(b->w, wire, &f);
		break;
	}
	case BK_BLACKLIST: {
		struct ig_blacklist e;
		e.subtree = ig_dec_u8(&dec);
		e.added = ig_dec_i64(&dec);
		e.reason = ig_dec_str(&dec);
		e.source = ig_dec_str(&dec);
		ok = ig_writer_blacklist(b->w, wire, &e);
		break;
	}
	case BK_EXEMPT: {
		struct ig_exempt e;
		e.subtree = ig_dec_u8(&dec);
		e.note = ig_dec_str(&dec);
		ok = ig_writer_exempt(b->w, wire, &e);
		break;
	}
	default: break;
	}
	if(!ok) {
		ig_row_reject(&b->rep, b->bulk_path[r->kind], (long)r->line,
			NULL, "%s", ig_writer_error(b->w));
		b->loaded--;
	}
}

/**
 * Write every bulk record in key order (the kinds merged), so that the
 * name database and the blacklist and exemption databases are appended
 * (ig_writer_set_sorted), then free the arenas.
 */
static void
bulk_write(struct build* b)
{
	struct brecs* v[BK_COUNT];
	size_t at[BK_COUNT], total = 0, done = 0;
	int k;
	for(k = 0; k < BK_COUNT; k++) {
		v[k] = k == BK_FILING ? &b->parts[0].recs[k] :
			bulk_gather(b, (enum bulk_kind)k);
		if(k == BK_TLD && v[k]->n > 1) /* tlds.txt: not sorted */
			qsort(v[k]->v, v[k]->n, sizeof(struct brec), brec_cmp);
		at[k] = 0;
		total += v[k]->n;
	}
	if(!b->quiet)
		fprintf(stderr, "build: %.1f s: writing %zu name, blacklist "
			"and exemption records in key order\n", elapsed(b),
			total);
	ig_writer_set_sorted(b->w, 1);
	cmp_build = b;
	for(;;) {
		int best = -1;
		for(k = 0; k < BK_COUNT; k++) {
			if(at[k] >= v[k]->n) continue;
			if(best < 0 || brec_cmp(&v[k]->v[at[k]],
				&v[best]->v[at[best]]) < 0)
				best = k;
		}
		if(best < 0) break;
		/* the records ahead in key order are anywhere in the arenas:
		 * ask for them now */
		if(at[best] + 12 < v[best]->n) {
			const uint8_t* ahead = brec_bytes(b,
				&v[best]->v[at[best] + 12]);
			__builtin_prefetch(ahead);
			__builtin_prefetch(ahead + 64);
			__builtin_prefetch(ahead + 128);
		}
		bulk_write_one(b, &v[best]->v[at[best]++]);
		if(++done % 2000000 == 0) {
			ig_writer_release(b->w);
			if(!b->quiet)
				fprintf(stderr, "build: %.1f s: %zu of %zu "
					"written\n", elapsed(b), done, total);
		}
	}
	ig_writer_set_sorted(b->w, 0);
	for(k = 0; k < b->threads; k++) {
		struct part* p = &b->parts[k];
		size_t i;
		int j;
		for(i = 0; i < p->nblk; i++) free(p->blk[i]);
		free(p->blk);
		p->blk = NULL;
		p->nblk = p->used = 0;
		for(j = 0; j < BK_COUNT; j++) {
			free(p->recs[j].v);
			memset(&p->recs[j], 0, sizeof(p->recs[j]));
		}
		ig_row_deferred_free(&p->defer);
	}
	ig_writer_release(b->w);
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

/** 1 when src holds only orders and blacklist entries: an order snapshot
 * (docs/orders.md), built without the public suffix list */
static int
order_snapshot_source(const char* src)
{
	static const char* const main_only[] = { "tlds", "filings",
		"exemptions", "domestic", "registrars", "regdomains" };
	size_t i;
	for(i = 0; i < sizeof(main_only) / sizeof(main_only[0]); i++) {
		char* f = find_source(src, main_only[i]);
		free(f);
		if(f) return 0;
	}
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
"and publish it atomically at PATH (default: the snapshot path).  A source\n"
"of orders and blacklist entries only is an order snapshot (the module's\n"
"orders-snapshot): it is built without the public suffix list.\n\n"
"options:\n"
"  --source DIR        source directory (required)\n"
"  --out PATH          snapshot to write (default $ICPGUARD_SNAPSHOT)\n"
"  --serial N          snapshot serial (default: previous + 1, or now)\n"
"  --previous PATH     previous snapshot, to record what changed\n"
"                      (default: the file at --out, if any)\n"
"  --quarantine FILE   write rejected rows there as JSON lines\n"
"  --allow-rejects     exit 0 even when rows were rejected\n"
"  --quiet             no progress lines\n"
"  --threads N         threads reading the filings, blacklist and\n"
"                      exemptions files (default: the CPUs, at most 4)\n"
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
		{ "threads", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct build b;
	const char* src = NULL, *out = ig_default_snapshot(), *prevpath = NULL;
	const char* qpath = NULL;
	uint64_t serial = 0;
	int allow = 0, c, ok = 1, sealed;
	char err[512], *tldtxt;
	struct ig_snapshot* prev = NULL;
	struct ig_snapshot_info info;

	memset(&b, 0, sizeof(b));
	{
		struct timespec ts;
		long nc = sysconf(_SC_NPROCESSORS_ONLN);
		clock_gettime(CLOCK_MONOTONIC, &ts);
		b.t0 = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
		b.threads = nc < 1 ? 1 : nc > 4 ? 4 : (int)nc;
	}
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
		case 't':
			b.threads = atoi(optarg);
			if(b.threads < 1 || b.threads > BULK_PARTS_MAX) {
				fprintf(stderr, "build: --threads: 1 to %d\n",
					BULK_PARTS_MAX);
				return 2;
			}
			break;
		case 'h': build_usage(stdout); return 0;
		default: build_usage(stderr); return 2;
		}
	}
	if(!src || optind != argc) {
		build_usage(stderr);
		return 2;
	}
	/* a source directory that cannot be read would build an empty
	 * snapshot without a word (every file "missing") */
	{
		DIR* d = opendir(src);
		if(!d) {
			fprintf(stderr, "build: %s: cannot read the source "
				"directory: %s\n", src, strerror(errno));
			return 2;
		}
		closedir(d);
	}
	if(!prevpath && access(out, R_OK) == 0) prevpath = out;
	/* the previous snapshot is verified (a damaged one is ignored: the
	 * new one then says everything changed) */
	if(prevpath && !ig_snapshot_open_verified(prevpath, &prev, &sealed,
		err, sizeof(err))) {
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
	{
		int k;
		for(k = 0; k < BULK_PARTS_MAX; k++) {
			b.parts[k].b = &b;
			b.parts[k].idx = (unsigned)k;
			b.parts[k].rep.defer = &b.parts[k].defer;
		}
	}
	if(!(b.w = ig_writer_create(out, 0, err, sizeof(err)))) {
		fprintf(stderr, "build: %s\n", err);
		ig_snapshot_unref(prev);
		return 1;
	}
	if(order_snapshot_source(src)) ig_writer_set_psl(b.w, 0);
	/* the records of the name database (and of the blacklist and
	 * exemption databases) are read first, in parallel parts, and
	 * written sorted by key: appended, not inserted; the few records of
	 * the other kinds then go in as they come */
	tldtxt = find_source(src, "tlds");
	if(tldtxt && strstr(tldtxt, ".txt")) {
		ok = ig_rows_text_list(tldtxt, "tld", &b.rep, row_tld_text,
			&b);
		free(b.bulk_path[BK_TLD]);
		b.bulk_path[BK_TLD] = tldtxt;
		tldtxt = NULL;
	} else if(tldtxt) ok = bulk_read(&b, src, "tlds", BK_TLD);
	free(tldtxt);
	ok = ok && bulk_read(&b, src, "filings", BK_FILING)
		&& bulk_read(&b, src, "blacklist", BK_BLACKLIST)
		&& bulk_read(&b, src, "exemptions", BK_EXEMPT);
	if(ok) bulk_write(&b);
	ok = ok && each_row(&b, src, "orders", row_order)
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
	if(ok && !b.quiet)
		fprintf(stderr, "build: %.1f s: publishing (content hash, name "
			"index, seal, sync)\n", elapsed(&b));
	if(!ok) {
		ig_writer_abort(b.w);
	} else if(!ig_writer_publish(b.w, serial, &info, err, sizeof(err))) {
		fprintf(stderr, "build: %s\n", err);
		ok = 0;
	} else if(!b.quiet) {
		fprintf(stderr, "build: published %s: snapshot %s, %ld records"
			", %ld rejected (%.1f s)\n", out, info.ident, b.loaded,
			b.rep.rejected, elapsed(&b));
	}
	if(b.rep.quarantine) fclose(b.rep.quarantine);
	{
		int k;
		for(k = 0; k < BK_COUNT; k++) free(b.bulk_path[k]);
	}
	ig_rangeset_free(&b.ranges);
	ig_tldset_free(&b.tlds);
	if(!ok) return 1;
	return (b.rep.rejected && !allow) ? 1 : 0;
}
