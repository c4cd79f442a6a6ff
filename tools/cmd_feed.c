/*
 * tools/cmd_feed.c - `icpguard feed`: publish source files as signed feeds.
 *
 * \file
 * `icpguard feed keygen PREFIX` makes an Ed25519 key pair.
 * `icpguard feed --kind KIND --source FILE --out DIR --key KEY` reads a
 * source file (JSON lines or CSV, the formats of `icpguard build`; for
 * domestic ranges also the APNIC delegated file), validates every row
 * with the builder's rules (lib/validate), and writes into DIR/KIND/:
 * a full feed file for the new serial, a delta from the previous serial,
 * a detached signature for each, and the `latest.json` pointer.  When
 * nothing changed it writes nothing.  The protocol is docs/feeds.md.
 *
 * Memory stays bounded at any size: records are sorted in bounded
 * buffers spilled as runs to unlinked temporary files in DIR/KIND/ and
 * merged (see "Records" below); the source is read in parts, one thread
 * each, the previous full feed in a thread of its own.
 */
#include "config.h"
#include "tools/icpguard.h"
#include "tools/source.h"
#include "tools/feed_rows.h"
#include "loader/feed.h"
#include "lib/validate.h"
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>


/*
 * Records.  Ten million filings are about 1.4 GB of keys and packed
 * records, more than the memory a publisher should need, so each reader
 * (a part of the source file in its own thread, or the previous full
 * feed) keeps records in a bounded buffer, sorts it when full and writes
 * it as a sorted run to a temporary file (unlinked at once); the runs are
 * then merged: once to count and report the duplicates, once to compare
 * with the previous full feed and write the new full feed and the delta.
 */

/** a reader's buffer: bytes of keys and packed records */
#define SINK_ARENA ((size_t)64 << 20)
/** readers: the source parts, then the previous full feed */
#define SINKS_MAX 9
/** the reader of the previous full feed */
#define SINK_OLD (SINKS_MAX - 1)
/** source parts read in parallel, at most */
#define PARTS_MAX (SINKS_MAX - 1)

/** one record in a reader's buffer */
struct rec {
	/** the first 16 key bytes, big-endian, zero-padded */
	uint64_t pfx[2];
	/** reader << 48 | input order: the tie-break of equal keys */
	uint64_t seq;
	/** arena offset of the key, then the packed record */
	uint64_t off;
	/** key length, packed length */
	uint32_t keylen, plen;
	/** source line (0: from a feed file), of the reader's part */
	uint32_t line;
	/** Feed field number */
	uint8_t field;
};

/** a record in a run file: this header, the key, the packed record */
struct rhdr {
	/** as struct rec */
	uint64_t seq;
	/** packed length */
	uint32_t plen;
	/** source line */
	uint32_t line;
	/** key length */
	uint16_t keylen;
	/** Feed field number */
	uint8_t field;
	/** zero */
	uint8_t pad[5];
};

/** a sorted run: a byte range of a reader's run file */
struct run {
	/** the file */
	int fd;
	/** range */
	off_t off, len;
};

/** a reader of records: a source part, the previous feed, the main
 * thread's few */
struct sink {
	/** the run */
	struct feedrun* f;
	/** this reader's number (the high bits of seq) */
	unsigned idx;
	/** buffer */
	uint8_t* arena;
	/** used */
	size_t alen;
	/** records in the buffer */
	struct rec* v;
	/** count, capacity */
	size_t n, cap;
	/** records taken so far (input order) */
	uint64_t nseq;
	/** the run file, NULL before the first run */
	FILE* runf;
	/** the runs written */
	struct run* runs;
	/** count */
	size_t nruns;
	/** refusals of a part, reported after the parts are read */
	struct ig_row_deferred defer;
	/** reports into defer, or at once (the main thread's sink) */
	struct ig_row_report rep;
	/** rows loaded */
	long loaded;
	/** a part: file, byte range, lines read */
	const char* path;
	/** byte range */
	long long start, end;
	/** lines read */
	long lines;
	/** 1 done, -1 failed (reported) */
	int state;
};

/** state of one run */
struct feedrun {
	/** kind */
	Icpguard__Feed__Kind kind;
	/** filable TLDs for the filing check */
	struct ig_tldset tlds;
	/** refused rows (stderr) */
	struct ig_row_report rep;
	/** rows loaded */
	long loaded;
	/** quiet */
	int quiet;
	/** --unchecked: rows go into the feed without the builder's checks */
	int unchecked;
	/** readers */
	struct sink sink[SINKS_MAX];
	/** parts read in parallel */
	int threads;
	/** the directory of the run files */
	const char* tmpdir;
	/** source parts: the line numbers before each */
	long linebase[SINKS_MAX];
};

/** exit on out of memory (a tool, not a daemon) */
static void*
xrealloc(void* p, size_t n)
{
	void* r = realloc(p, n ? n : 1);
	if(!r) {
		fprintf(stderr, "feed: out of memory\n");
		exit(1);
	}
	return r;
}

/** order: field, key, input order (qsort_r: arg is the arena) */
static int
rec_cmp(const void* a, const void* b, void* arg)
{
	const struct rec* x = a, *y = b;
	const uint8_t* arena = arg;
	size_t m;
	int c;
	if(x->field != y->field) return (int)x->field - (int)y->field;
	if(x->pfx[0] != y->pfx[0]) return x->pfx[0] < y->pfx[0] ? -1 : 1;
	if(x->pfx[1] != y->pfx[1]) return x->pfx[1] < y->pfx[1] ? -1 : 1;
	m = x->keylen < y->keylen ? x->keylen : y->keylen;
	if(m > 16) {
		c = memcmp(arena + x->off + 16, arena + y->off + 16, m - 16);
		if(c) return c;
	}
	if(x->keylen != y->keylen) return x->keylen < y->keylen ? -1 : 1;
	return x->seq < y->seq ? -1 : (x->seq > y->seq);
}

/** sort the buffer and write it as a run; empties the buffer */
static void
sink_spill(struct sink* s)
{
	size_t i;
	off_t start;
	if(s->n == 0) return;
	qsort_r(s->v, s->n, sizeof(*s->v), rec_cmp, s->arena);
	if(!s->runf) {
		char path[8400];
		int fd;
		snprintf(path, sizeof(path), "%s/.feed-sort.XXXXXX",
			s->f->tmpdir);
		if((fd = mkstemp(path)) < 0 || !(s->runf = fdopen(fd, "w+"))) {
			fprintf(stderr, "feed: %s: %s\n", path,
				strerror(errno));
			exit(1);
		}
		unlink(path);
	}
	start = ftello(s->runf);
	for(i = 0; i < s->n; i++) {
		const struct rec* r = &s->v[i];
		struct rhdr h;
		memset(&h, 0, sizeof(h));
		h.seq = r->seq;
		h.plen = r->plen;
		h.line = r->line;
		h.keylen = (uint16_t)r->keylen;
		h.field = r->field;
		fwrite(&h, sizeof(h), 1, s->runf);
		fwrite(s->arena + r->off, 1, r->keylen + r->plen, s->runf);
	}
	if(fflush(s->runf) != 0) {
		fprintf(stderr, "feed: temporary file in %s: %s\n",
			s->f->tmpdir, strerror(errno));
		exit(1);
	}
	s->runs = xrealloc(s->runs, (s->nruns + 1) * sizeof(*s->runs));
	s->runs[s->nruns].fd = fileno(s->runf);
	s->runs[s->nruns].off = start;
	s->runs[s->nruns].len = ftello(s->runf) - start;
	s->nruns++;
	s->n = 0;
	s->alen = 0;
}

/** take a record: key, then the message packed (m) or packed bytes */
static void
sink_add(struct sink* s, unsigned field, const uint8_t* key, size_t keylen,
	const ProtobufCMessage* m, const uint8_t* packed, size_t plen,
	long line)
{
	struct rec* r;
	size_t i;
	if(m) plen = protobuf_c_message_get_packed_size(m);
	if(!s->arena) s->arena = xrealloc(NULL, SINK_ARENA);
	if(s->alen + keylen + plen > SINK_ARENA) sink_spill(s);
	if(keylen + plen > SINK_ARENA) {
		fprintf(stderr, "feed: a record of %zu bytes\n", keylen + plen);
		exit(1);
	}
	if(s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 4096;
		s->v = xrealloc(s->v, s->cap * sizeof(*s->v));
	}
	memcpy(s->arena + s->alen, key, keylen);
	if(m) protobuf_c_message_pack(m, s->arena + s->alen + keylen);
	else memcpy(s->arena + s->alen + keylen, packed, plen);
	r = &s->v[s->n++];
	memset(r->pfx, 0, sizeof(r->pfx));
	for(i = 0; i < 16 && i < keylen; i++)
		r->pfx[i / 8] |= (uint64_t)key[i] << (56 - 8 * (i % 8));
	r->seq = ((uint64_t)s->idx << 48) | s->nseq++;
	r->off = s->alen;
	r->keylen = (uint32_t)keylen;
	r->plen = (uint32_t)plen;
	r->line = line > (long)UINT32_MAX ? UINT32_MAX : (uint32_t)line;
	r->field = (uint8_t)field;
	s->alen += keylen + plen;
}

/** free a reader's buffer (its runs stay) */
static void
sink_release(struct sink* s)
{
	free(s->arena);
	free(s->v);
	s->arena = NULL;
	s->v = NULL;
	s->n = s->cap = s->alen = 0;
}

/** a run being read back */
struct runrd {
	/** the run */
	struct run run;
	/** next offset to read */
	off_t pos;
	/** buffer, its size, bytes in it, bytes consumed */
	uint8_t* buf;
	/** size */
	size_t cap, len, at;
	/** the current record */
	struct rhdr h;
	/** its key and packed bytes (in buf) */
	const uint8_t* key, *pk;
};

/** have n bytes at rd->at in the buffer; 0 at the end of the run */
static int
runrd_fill(struct runrd* rd, size_t n)
{
	if(rd->len - rd->at >= n) return 1;
	memmove(rd->buf, rd->buf + rd->at, rd->len - rd->at);
	rd->len -= rd->at;
	rd->at = 0;
	if(n > rd->cap) {
		rd->cap = n;
		rd->buf = xrealloc(rd->buf, rd->cap);
	}
	while(rd->len < n && rd->pos < rd->run.off + rd->run.len) {
		size_t want = rd->cap - rd->len;
		ssize_t got;
		if((off_t)want > rd->run.off + rd->run.len - rd->pos)
			want = (size_t)(rd->run.off + rd->run.len - rd->pos);
		got = pread(rd->run.fd, rd->buf + rd->len, want, rd->pos);
		if(got <= 0) {
			fprintf(stderr, "feed: reading a temporary file: %s\n",
				got < 0 ? strerror(errno) : "short");
			exit(1);
		}
		rd->len += (size_t)got;
		rd->pos += got;
	}
	return rd->len >= n;
}

/** the next record of a run; 0 at its end */
static int
runrd_next(struct runrd* rd)
{
	if(!runrd_fill(rd, sizeof(rd->h))) return 0;
	memcpy(&rd->h, rd->buf + rd->at, sizeof(rd->h));
	if(!runrd_fill(rd, sizeof(rd->h) + rd->h.keylen + rd->h.plen)) {
		fprintf(stderr, "feed: a temporary file ends early\n");
		exit(1);
	}
	rd->key = rd->buf + rd->at + sizeof(rd->h);
	rd->pk = rd->key + rd->h.keylen;
	rd->at += sizeof(rd->h) + rd->h.keylen + rd->h.plen;
	return 1;
}

/** order of two current records: field, key, input order */
static int
runrd_cmp(const struct runrd* a, const struct runrd* b)
{
	size_t m;
	int c;
	if(a->h.field != b->h.field) return (int)a->h.field - (int)b->h.field;
	m = a->h.keylen < b->h.keylen ? a->h.keylen : b->h.keylen;
	if((c = memcmp(a->key, b->key, m)) != 0) return c;
	if(a->h.keylen != b->h.keylen) return a->h.keylen < b->h.keylen ? -1 : 1;
	return a->h.seq < b->h.seq ? -1 : (a->h.seq > b->h.seq);
}

/** the runs of some readers merged into one sorted stream */
struct merge {
	/** run readers */
	struct runrd* rd;
	/** a binary heap of them by their current record */
	struct runrd** heap;
	/** runs, heap size */
	size_t n, hn;
};

/** heap: move entry i down */
static void
merge_down(struct merge* m, size_t i)
{
	for(;;) {
		size_t l = 2 * i + 1, r = l + 1, s = i;
		struct runrd* t;
		if(l < m->hn && runrd_cmp(m->heap[l], m->heap[s]) < 0) s = l;
		if(r < m->hn && runrd_cmp(m->heap[r], m->heap[s]) < 0) s = r;
		if(s == i) return;
		t = m->heap[i];
		m->heap[i] = m->heap[s];
		m->heap[s] = t;
		i = s;
	}
}

/** start merging the runs of readers [from, to) */
static void
merge_open(struct merge* m, struct feedrun* f, int from, int to)
{
	int k;
	size_t i, j;
	memset(m, 0, sizeof(*m));
	for(k = from; k < to; k++) m->n += f->sink[k].nruns;
	m->rd = xrealloc(NULL, m->n * sizeof(*m->rd));
	m->heap = xrealloc(NULL, m->n * sizeof(*m->heap));
	memset(m->rd, 0, m->n * sizeof(*m->rd));
	i = 0;
	for(k = from; k < to; k++)
		for(j = 0; j < f->sink[k].nruns; j++, i++) {
			struct runrd* rd = &m->rd[i];
			rd->run = f->sink[k].runs[j];
			rd->pos = rd->run.off;
			rd->cap = (size_t)1 << 20;
			rd->buf = xrealloc(NULL, rd->cap);
			if(runrd_next(rd)) m->heap[m->hn++] = rd;
		}
	for(i = m->hn; i-- > 0; ) merge_down(m, i);
}

/** the smallest current record, NULL at the end; valid until merge_pop */
static struct runrd*
merge_peek(struct merge* m)
{
	return m->hn ? m->heap[0] : NULL;
}

/** go past the smallest record */
static void
merge_pop(struct merge* m)
{
	if(!m->hn) return;
	if(!runrd_next(m->heap[0])) m->heap[0] = m->heap[--m->hn];
	merge_down(m, 0);
}

/** free a merge */
static void
merge_close(struct merge* m)
{
	size_t i;
	for(i = 0; i < m->n; i++) free(m->rd[i].buf);
	free(m->rd);
	free(m->heap);
	memset(m, 0, sizeof(*m));
}

/** a record held out of a merge (a copy) */
struct held {
	/** header */
	struct rhdr h;
	/** key and packed bytes */
	uint8_t* b;
	/** capacity */
	size_t cap;
};

/** copy the current record of rd */
static void
held_set(struct held* x, const struct runrd* rd)
{
	size_t n = rd->h.keylen + rd->h.plen;
	if(n > x->cap) {
		x->cap = n * 2;
		x->b = xrealloc(x->b, x->cap);
	}
	x->h = rd->h;
	memcpy(x->b, rd->key, n);
}

/** 1 when rd's current record has the key of x */
static int
held_samekey(const struct held* x, const struct runrd* rd)
{
	return rd && rd->h.field == x->h.field && rd->h.keylen == x->h.keylen
		&& memcmp(rd->key, x->b, x->h.keylen) == 0;
}

/**
 * The next record of the new feed: one per key, the first of a domain's
 * filings (the others are reported once, when report is set) and the
 * last row of any other key, as `icpguard build` keeps them.
 * @return 1 with *x set, 0 at the end.
 */
static int
next_unique(struct feedrun* f, struct merge* m, struct held* x,
	const char* path, int report)
{
	struct runrd* rd = merge_peek(m);
	if(!rd) return 0;
	held_set(x, rd);
	merge_pop(m);
	while(held_samekey(x, (rd = merge_peek(m)))) {
		if(rd->h.field == 10) {
			if(report) {
				char t[1024];
				ig_name_key_to_text(rd->key, rd->h.keylen, t,
					sizeof(t));
				t[strlen(t) - 1] = 0;
				ig_row_reject(&f->rep, path, (long)rd->h.line +
					f->linebase[rd->h.seq >> 48], "domain",
					"'%s' filed twice (first row kept)", t);
			}
		} else held_set(x, rd);
		if(report) f->loaded--;
		merge_pop(m);
	}
	return 1;
}

/** report one bad row as `icpguard build` does */
static void
reject(struct ig_row_report* rep, const char* path, long line,
	const char* field, const char* fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	ig_row_vreject(rep, path, line, field, fmt, ap);
	va_end(ap);
}

/** add a record keyed by a text key */
static int
add_keyed(struct sink* k, struct ig_source* s, unsigned field,
	const char* keytext, const ProtobufCMessage* m)
{
	uint8_t key[IG_FEED_KEY_MAX];
	size_t kl;
	if(!ig_feed_key(field, keytext, key, &kl)) {
		reject(&k->rep, s->path, s->line, NULL, "no usable key");
		return 0;
	}
	sink_add(k, field, key, kl, m, NULL, 0, s->line);
	k->loaded++;
	return 1;
}

/** one flat source row into a record of the run's kind (filings,
 * blacklist, domestic, tlds); any thread, one sink each */
static void
row_flat(struct sink* k, struct ig_source* s, const struct ig_source_row* row)
{
	struct feedrun* f = k->f;
	struct ig_reject rj;
	uint8_t wire[IG_NAME_MAX];
	char text[1024];
	if(f->kind == ICPGUARD__FEED__KIND__FILINGS) {
		Icpguard__Feed__Filing m = ICPGUARD__FEED__FILING__INIT;
		struct ig_filing_fields in;
		struct ig_filing fl;
		int checked = 1;
		ig_srow_filing_fields(row, &in);
		if(!ig_valid_filing(&in, &f->tlds, wire, text, &fl, &rj)) {
			if(!f->unchecked || !in.domain) goto bad;
			snprintf(text, sizeof(text), "%s", in.domain);
			checked = 0;
		}
		if(!ig_srow_time(&k->rep, s, row, "approved", 0, &m.approved))
			return;
		m.has_approved = m.approved != 0;
		m.domain = text;
		m.number = (char*)in.number;
		m.status = (char*)in.status;
		m.subject_type = (char*)in.subject_type;
		m.subject = (char*)in.subject;
		m.province = (char*)in.province;
		m.provider = (char*)in.provider;
		if(checked) {
			/* the key of the checked name (what ig_feed_key would
			 * make of its text) */
			uint8_t key[IG_KEY_MAX];
			size_t kl = ig_name_wire_to_key(wire, key, NULL, NULL);
			sink_add(k, 10, key, kl, &m.base, NULL, 0, s->line);
			k->loaded++;
		} else add_keyed(k, s, 10, text, &m.base);
	} else if(f->kind == ICPGUARD__FEED__KIND__BLACKLIST) {
		Icpguard__Feed__BlacklistEntry m =
			ICPGUARD__FEED__BLACKLIST_ENTRY__INIT;
		int sub;
		const char* name = ig_source_row_str(row, "name");
		if((!ig_valid_blacklist_name(name, wire, &rj) ||
			!ig_valid_blacklist_texts(ig_source_row_str(row,
			"reason"), ig_source_row_str(row, "source"), &rj)) &&
			!f->unchecked)
			goto bad;
		if((sub = ig_srow_bool(&k->rep, s, row, "subtree", 1)) < 0)
			return;
		if(!ig_srow_time(&k->rep, s, row, "added", 0, &m.added))
			return;
		m.has_added = m.added != 0;
		m.name = (char*)name;
		m.has_subtree = 1;
		m.subtree = sub;
		m.reason = (char*)ig_source_row_str(row, "reason");
		m.source = (char*)ig_source_row_str(row, "source");
		add_keyed(k, s, 13, name, &m.base);
	} else if(f->kind == ICPGUARD__FEED__KIND__DOMESTIC) {
		Icpguard__Feed__DomesticRange m =
			ICPGUARD__FEED__DOMESTIC_RANGE__INIT;
		struct ig_range r;
		const char* v = ig_source_row_str(row, "range");
		if((!ig_valid_range("range", v, &r, &rj) ||
			!ig_valid_len("source", ig_source_row_str(row, "source"),
			IG_RANGE_OWNER_MAX, &rj)) && !f->unchecked)
			goto bad;
		m.range = (char*)v;
		m.source = (char*)ig_source_row_str(row, "source");
		add_keyed(k, s, 14, v, &m.base);
	} else if(f->kind == ICPGUARD__FEED__KIND__TLDS) {
		Icpguard__Feed__Tld m = ICPGUARD__FEED__TLD__INIT;
		const char* v = ig_source_row_str(row, "tld");
		if(!ig_valid_tld(v, wire, &rj)) goto bad;
		m.tld = (char*)v;
		add_keyed(k, s, 15, v, &m.base);
	}
	return;
bad:
	reject(&k->rep, s->path, s->line, rj.field, "%s", rj.msg);
}

/** one source row of the registrars kind (registrars and, with regdom,
 * registrar-domain records); the main thread */
static void
row_registrars(struct sink* k, struct ig_source* s, json_t* row, int regdom)
{
	struct ig_reject rj;
	uint8_t wire[IG_NAME_MAX];
	if(regdom) {
		Icpguard__Feed__RegDomain m = ICPGUARD__FEED__REG_DOMAIN__INIT;
		int park, fwd, hold;
		const char* d = ig_field_str(row, "domain");
		m.registrar = (char*)ig_field_str(row, "registrar");
		if(!ig_valid_regdomain(d, m.registrar, ig_field_str(row,
			"status"), wire, &rj))
			goto bad;
		if((park = ig_row_bool(&k->rep, s, row, "parking", 0)) < 0 ||
			(fwd = ig_row_bool(&k->rep, s, row, "forwarding", 0)) < 0
			|| (hold = ig_row_bool(&k->rep, s, row, "hold", 0)) < 0)
			return;
		m.domain = (char*)d;
		m.has_parking = m.has_forwarding = m.has_hold = 1;
		m.parking = park;
		m.forwarding = fwd;
		m.hold = hold;
		m.status = (char*)ig_field_str(row, "status");
		add_keyed(k, s, 12, d, &m.base);
	} else {
		Icpguard__Feed__Registrar m = ICPGUARD__FEED__REGISTRAR__INIT;
		json_t* l[2];
		const char* keys[2] = { "endpoint_ranges", "endpoint_hosts" };
		char** v[2] = { NULL, NULL };
		size_t n[2] = { 0, 0 }, i;
		int j, good = 1;
		m.id = (char*)ig_field_str(row, "id");
		m.name = (char*)ig_field_str(row, "name");
		if(!ig_valid_registrar(m.id, m.name, &rj)) goto bad;
		for(j = 0; j < 2; j++) {
			l[j] = ig_row_list(row, keys[j]);
			if(good && !json_is_array(l[j])) {
				reject(&k->rep, s->path, s->line, keys[j],
					"want a list");
				good = 0;
			}
			n[j] = json_is_array(l[j]) ? json_array_size(l[j]) : 0;
			v[j] = calloc(n[j] + 1, sizeof(char*));
			for(i = 0; i < n[j]; i++)
				v[j][i] = (char*)json_string_value(
					json_array_get(l[j], i));
		}
		if(good && !ig_valid_endpoints((const char* const*)v[0], n[0],
			(const char* const*)v[1], n[1], &rj)) {
			reject(&k->rep, s->path, s->line, rj.field, "%s",
				rj.msg);
			good = 0;
		}
		if(good) {
			m.n_endpoint_ranges = n[0];
			m.endpoint_ranges = v[0];
			m.n_endpoint_hosts = n[1];
			m.endpoint_hosts = v[1];
			add_keyed(k, s, 11, m.id, &m.base);
		}
		for(j = 0; j < 2; j++) {
			free(v[j]);
			json_decref(l[j]);
		}
	}
	return;
bad:
	reject(&k->rep, s->path, s->line, rj.field, "%s", rj.msg);
}

/** read a registrars or regdomains source file (the main thread) */
static int
read_registrars(struct feedrun* f, const char* path, int regdom)
{
	struct ig_source s;
	char err[256];
	json_t* row;
	struct ig_row_report keep = f->sink[0].rep;
	if(!ig_source_open(&s, path)) return 0;
	/* one reader: refusals reported at once */
	f->sink[0].rep = f->rep;
	while(ig_source_next(&s, &row, err, sizeof(err))) {
		if(!row) {
			reject(&f->sink[0].rep, s.path, s.line, s.bad_field,
				"%s", err);
			continue;
		}
		row_registrars(&f->sink[0], &s, row, regdom);
		json_decref(row);
	}
	f->rep = f->sink[0].rep;
	f->sink[0].rep = keep;
	ig_source_close(&s);
	return 1;
}

/** read one part of a source file (a thread of its own, or the main) */
static void*
part_read(void* arg)
{
	struct sink* k = arg;
	struct ig_source s;
	struct ig_source_row row;
	char err[256];
	int good;
	k->state = -1;
	if(!ig_source_open(&s, k->path)) return NULL;
	if(!ig_source_limit(&s, k->start, k->end)) {
		fprintf(stderr, "%s: cannot seek\n", k->path);
		ig_source_close(&s);
		return NULL;
	}
	memset(&row, 0, sizeof(row));
	while(ig_source_next_row(&s, &row, &good, err, sizeof(err))) {
		if(!good) {
			reject(&k->rep, s.path, s.line, s.bad_field, "%s", err);
			continue;
		}
		row_flat(k, &s, &row);
	}
	k->lines = s.line;
	k->state = 1;
	sink_spill(k);
	sink_release(k);
	ig_source_row_free(&row);
	ig_source_close(&s);
	return NULL;
}

/**
 * Read a JSON-lines/CSV source of a flat kind in parts, one thread each
 * (parts 1.. beside part 0 in the calling thread), while the previous
 * full feed (old, when not NULL) is read in a thread of its own; then
 * report the refusals of the parts in line order.
 */
static int
read_source_parts(struct feedrun* f, const char* path, pthread_t* oldtid,
	int* oldstarted)
{
	long long starts[PARTS_MAX + 1];
	pthread_t tid[PARTS_MAX];
	int started[PARTS_MAX];
	struct stat st;
	int n = f->threads, k, ok = 1;
	long base = 0;
	if(stat(path, &st) != 0 || st.st_size < ((off_t)4 << 20)) n = 1;
	if(!ig_source_split(path, n, starts)) return 0;
	for(k = 0; k < n; k++) {
		struct sink* s = &f->sink[k];
		s->path = path;
		s->start = starts[k];
		s->end = k + 1 < n ? starts[k+1] : 0;
		started[k] = 0;
		s->state = 0;
		if(k > 0 && starts[k] >= starts[k+1]) {
			s->state = 1; /* an empty part */
			continue;
		}
		if(k > 0 && pthread_create(&tid[k], NULL, part_read, s) == 0)
			started[k] = 1;
		else if(k > 0) part_read(s);
	}
	part_read(&f->sink[0]);
	for(k = 1; k < n; k++)
		if(started[k]) pthread_join(tid[k], NULL);
	if(*oldstarted) {
		pthread_join(*oldtid, NULL);
		*oldstarted = 0;
	}
	for(k = 0; k < n; k++) {
		struct sink* s = &f->sink[k];
		if(s->state != 1) ok = 0;
		f->linebase[k] = base;
		ig_row_deferred_flush(&f->rep, &s->defer, path, base);
		f->loaded += s->loaded;
		s->loaded = 0;
		base += s->lines;
	}
	return ok;
}

/** a row of a plain text list (tlds.txt): the main thread's sink */
static void
row_text(void* arg, struct ig_source* s, json_t* row)
{
	struct feedrun* f = arg;
	struct ig_source_row r;
	struct ig_source_field fl;
	fl.key = "tld";
	fl.str = ig_field_str(row, "tld");
	fl.ival = 0;
	fl.type = fl.str ? IG_SRC_STRING : IG_SRC_NULL;
	struct ig_row_report keep = f->sink[0].rep;
	r.f = &fl;
	r.n = r.cap = 1;
	/* reported at once, in line order with the list's own refusals */
	f->sink[0].rep = f->rep;
	row_flat(&f->sink[0], s, &r);
	f->rep = f->sink[0].rep;
	f->sink[0].rep = keep;
}

/** a TLD of the --tlds list: into the filable set (refusals printed,
 * not counted, as before) */
static void
tld_row(void* arg, struct ig_source* s, json_t* row)
{
	void** a = arg;
	struct ig_row_report* rep = a[0];
	struct ig_tldset* set = a[1];
	uint8_t wire[IG_NAME_MAX];
	struct ig_reject rj;
	if(!ig_valid_tld(ig_field_str(row, "tld"), wire, &rj)) {
		reject(rep, s->path, s->line, rj.field, "%s", rj.msg);
		return;
	}
	ig_tldset_add(set, wire);
}

/** read the --tlds list (tlds.txt, or JSON lines/CSV rows with "tld") */
static int
load_tlds(const char* path, struct ig_row_report* rep, struct ig_tldset* set)
{
	void* a[2];
	struct ig_source s;
	char err[256];
	json_t* row;
	a[0] = rep;
	a[1] = set;
	if(strstr(path, ".txt"))
		return ig_rows_text_list(path, "tld", rep, tld_row, a);
	if(!ig_source_open(&s, path)) return 0;
	while(ig_source_next(&s, &row, err, sizeof(err))) {
		if(!row) {
			reject(rep, s.path, s.line, s.bad_field, "%s", err);
			continue;
		}
		tld_row(a, &s, row);
		json_decref(row);
	}
	ig_source_close(&s);
	return 1;
}

/**
 * The APNIC delegated file (registry|cc|type|start|value|date|status):
 * CN rows of type ipv4 (start + host count, any count) and ipv6 (start +
 * prefix length) become domestic ranges.
 */
static int
read_apnic(struct feedrun* f, const char* path)
{
	FILE* in = fopen(path, "r");
	char line[1024];
	long ln = 0;
	if(!in) {
		perror(path);
		return 0;
	}
	while(fgets(line, sizeof(line), in)) {
		char* fl[8], *p = line, *save = NULL, *t, text[160], a[64], b[64];
		int n = 0;
		struct ig_addr start;
		struct ig_range r;
		Icpguard__Feed__DomesticRange m =
			ICPGUARD__FEED__DOMESTIC_RANGE__INIT;
		uint8_t key[IG_FEED_KEY_MAX];
		size_t kl;
		ln++;
		p[strcspn(p, "\r\n")] = 0;
		if(*p == 0 || *p == '#') continue;
		for(t = strtok_r(p, "|", &save); t && n < 8;
			t = strtok_r(NULL, "|", &save))
			fl[n++] = t;
		if(n < 7) {
			/* the version line has 7 fields too; short lines are
			 * not records */
			continue;
		}
		if(strcmp(fl[1], "CN") != 0) continue; /* other economies,
						 * summary lines ('*') */
		if(strcmp(fl[2], "ipv4") == 0) {
			char* end;
			unsigned long long cnt;
			errno = 0;
			cnt = strtoull(fl[4], &end, 10);
			if(!ig_addr_parse(fl[3], &start) ||
				!ig_addr_is_v4(&start) || *end || errno ||
				!ig_range_from_v4_count(&start, cnt, &r)) {
				reject(&f->rep, path, ln, "value", "ipv4 '%s' count "
					"'%s' is not a range", fl[3], fl[4]);
				continue;
			}
			snprintf(text, sizeof(text), "%s-%s",
				ig_addr_to_text(&r.first, a, sizeof(a)),
				ig_addr_to_text(&r.last, b, sizeof(b)));
		} else if(strcmp(fl[2], "ipv6") == 0) {
			const char* err;
			snprintf(text, sizeof(text), "%s/%s", fl[3], fl[4]);
			if(!ig_range_parse(text, &r, &err) ||
				ig_addr_is_v4(&r.first)) {
				reject(&f->rep, path, ln, "value", "ipv6 '%s': %s",
					text, ig_addr_is_v4(&r.first) ?
					"not IPv6" : err);
				continue;
			}
		} else continue; /* asn */
		snprintf(a, sizeof(a), "apnic %s", fl[5]);
		m.range = text;
		m.source = a;
		if(!ig_feed_key(14, text, key, &kl)) continue;
		sink_add(&f->sink[0], 14, key, kl, &m.base, NULL, 0, ln);
		f->loaded++;
	}
	fclose(in);
	return 1;
}

/** the text form of a record key, for a removal */
static void
key_text(unsigned field, const uint8_t* key, size_t kl, char* out,
	size_t outlen)
{
	if(field == 14 && kl == 32) {
		struct ig_addr a, b;
		char x[64], y[64];
		memcpy(a.b, key, 16);
		memcpy(b.b, key + 16, 16);
		snprintf(out, outlen, "%s-%s", ig_addr_to_text(&a, x,
			sizeof(x)), ig_addr_to_text(&b, y, sizeof(y)));
	} else if(field == 11) {
		snprintf(out, outlen, "%.*s", (int)kl, (const char*)key);
	} else {
		ig_name_key_to_text(key, kl, out, outlen);
	}
}



/** the bytes of field 1 (a length-delimited field: every record's key)
 * of a packed record, the last occurrence as protobuf-c keeps it;
 * 0 when absent or the record is not well formed */
static int
pb_key_field(const uint8_t* d, size_t n, const uint8_t** s, size_t* sl)
{
	size_t i = 0;
	int found = 0;
	while(i < n) {
		uint64_t tag = 0, len = 0;
		int sh = 0;
		do {
			if(i >= n || sh > 63) return 0;
			tag |= (uint64_t)(d[i] & 0x7f) << sh;
			sh += 7;
		} while(d[i++] & 0x80);
		switch(tag & 7) {
		case 0:
			do {
				if(i >= n) return 0;
			} while(d[i++] & 0x80);
			if((tag >> 3) == 1) return 0;
			break;
		case 1:
			if(n - i < 8) return 0;
			i += 8;
			break;
		case 5:
			if(n - i < 4) return 0;
			i += 4;
			break;
		case 2:
			sh = 0;
			do {
				if(i >= n || sh > 63) return 0;
				len |= (uint64_t)(d[i] & 0x7f) << sh;
				sh += 7;
			} while(d[i++] & 0x80);
			if(len > n - i) return 0;
			if((tag >> 3) == 1) {
				*s = d + i;
				*sl = (size_t)len;
				found = 1;
			}
			i += (size_t)len;
			break;
		default:
			return 0;
		}
	}
	return found;
}

/** read the previous full feed (sink->path) into its sink: a thread */
static void*
old_read(void* arg)
{
	struct sink* k = arg;
	struct ig_feed_reader r;
	const char* code;
	char err[512];
	unsigned field;
	const uint8_t* d;
	size_t dl;
	k->state = -1;
	if(!ig_feed_open(&r, k->path, &code, err, sizeof(err))) {
		ig_row_reject(&k->rep, "", 0, NULL, "%s", err);
		return NULL;
	}
	while(ig_feed_next(&r, &field, &d, &dl)) {
		uint8_t key[IG_FEED_KEY_MAX];
		char text[1024];
		const uint8_t* kt;
		size_t kl, tl;
		if(field < 10 || field > 15 || !pb_key_field(d, dl, &kt, &tl))
			continue;
		if(tl >= sizeof(text)) tl = sizeof(text) - 1;
		memcpy(text, kt, tl);
		text[tl] = 0;
		if(ig_feed_key(field, text, key, &kl))
			sink_add(k, field, key, kl, NULL, d, dl, 0);
	}
	ig_feed_close(&r);
	sink_spill(k);
	sink_release(k);
	k->state = 1;
	return NULL;
}

/** the previous state from DIR/latest.json */
struct latest {
	/** serial, 0 when none */
	uint64_t serial;
	/** the JSON, kept to carry the delta list forward */
	json_t* json;
};


/** 1 when the pointer entry e names file base */
static int
entry_names(json_t* e, const char* base)
{
	const char* p = json_string_value(json_object_get(e, "path"));
	return p && strcmp(p, base) == 0;
}

/** remove feed files of DIR that latest.json no longer names (the
 * previous full feed stays for loaders fetching it right now) */
static void
prune(const char* dir, json_t* latest)
{
	DIR* d = opendir(dir);
	struct dirent* e;
	json_t* dl = json_object_get(latest, "deltas");
	if(!d) return;
	while((e = readdir(d))) {
		char base[512], path[8800];
		size_t i, bl;
		int keep;
		if(strncmp(e->d_name, "full-", 5) != 0 &&
			strncmp(e->d_name, "delta-", 6) != 0)
			continue;
		snprintf(base, sizeof(base), "%s", e->d_name);
		bl = strlen(base);
		if(bl > 4 && !strcmp(base + bl - 4, ".sig")) base[bl - 4] = 0;
		keep = entry_names(json_object_get(latest, "full"), base) ||
			entry_names(json_object_get(latest, "previous_full"),
			base);
		for(i = 0; i < json_array_size(dl); i++)
			keep |= entry_names(json_array_get(dl, i), base);
		if(keep) continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	closedir(d);
}

/** print help */
static void
feed_usage(FILE* out)
{
	fprintf(out,
"usage: icpguard feed keygen PREFIX\n"
"       icpguard feed sign FILE --kind KIND --serial N [--base N] --key KEY\n"
"       icpguard feed --kind KIND --source FILE --out DIR --key KEY [options]\n\n"
"keygen writes an Ed25519 key pair: PREFIX.key (private, mode 0600) and\n"
"PREFIX.pub (public, for the loader's configuration).\n\n"
"sign writes FILE.sig, the signature of FILE as it is, for serial N\n"
"(--base: a delta from serial N); it neither reads nor checks the file's\n"
"content (a file repaired by hand, or a damaged file signed to test a\n"
"loader).  latest.json is not changed.\n\n"
"The second form publishes FILE as feed KIND (filings, registrars,\n"
"blacklist, domestic, tlds) in DIR/KIND/: a signed full feed for the new\n"
"serial, a signed delta from the previous one, and latest.json (see\n"
"docs/feeds.md).  Rows are validated like `icpguard build`; bad rows are\n"
"reported as FILE:LINE: field: reason and left out.  When nothing changed\n"
"nothing is written.\n\n"
"options:\n"
"  --kind KIND         feed kind (required)\n"
"  --source FILE       source file: .jsonl/.json/.csv, tlds also .txt;\n"
"                      for domestic also an APNIC delegated file\n"
"  --regdomains FILE   registrars: the registrar-domain records\n"
"  --format apnic      read --source as an APNIC delegated file (CN rows)\n"
"  --out DIR           output directory (required)\n"
"  --key FILE          the publisher's private key (PEM, required)\n"
"  --tlds FILE         filings: check TLDs against this list\n"
"  --serial N          serial of the new feed (default: previous + 1)\n"
"  --keep-deltas N     deltas kept in latest.json (default 10)\n"
"  --allow-rejects     exit 0 even when rows were rejected\n"
"  --quiet             no progress lines\n"
"  --threads N         threads reading the source (default: the CPUs,\n"
"                      at most 4)\n"
"  --unchecked         filings, blacklist, domestic: put rows in the feed\n"
"                      without the record checks (tests: the loader still\n"
"                      checks and quarantines them)\n"
"exit: 0 published or unchanged, 1 failed or rows rejected, 2 usage\n");
}


/** `icpguard feed sign FILE --kind K --serial N [--base N] --key KEY`:
 * FILE.sig over FILE as it is.  @return the exit code */
static int
feed_sign_file(int argc, char** argv)
{
	const char* file = NULL, *kind = NULL, *keyfile = NULL;
	struct ig_feed_stmt st;
	EVP_PKEY* key;
	char sig[4200], err[1024], *end;
	int i;
	memset(&st, 0, sizeof(st));
	for(i = 1; i < argc; i++) {
		const char* a = argv[i];
		if(!strcmp(a, "--help") || !strcmp(a, "-h")) {
			feed_usage(stdout);
			return 0;
		}
		if(!strcmp(a, "--kind") || !strcmp(a, "--serial") ||
			!strcmp(a, "--base") || !strcmp(a, "--key")) {
			if(i + 1 >= argc) {
				fprintf(stderr, "feed sign: %s needs a value\n",
					a);
				return 2;
			}
			if(!strcmp(a, "--kind")) kind = argv[++i];
			else if(!strcmp(a, "--key")) keyfile = argv[++i];
			else {
				unsigned long long v;
				errno = 0;
				v = strtoull(argv[++i], &end, 10);
				if(errno || *end || argv[i][0] == '-' ||
					v == 0) {
					fprintf(stderr, "feed sign: %s '%s' is "
						"not a positive integer\n", a,
						argv[i]);
					return 2;
				}
				if(!strcmp(a, "--serial")) st.serial = v;
				else st.base = v;
			}
		} else if(a[0] == '-' || file) {
			fprintf(stderr, "feed sign: unexpected '%s' (try "
				"--help)\n", a);
			return 2;
		} else file = a;
	}
	if(!file || !kind || !keyfile || !st.serial) {
		fprintf(stderr, "feed sign: FILE, --kind, --serial and --key "
			"are required (try --help)\n");
		return 2;
	}
	if(!(st.kind = ig_feed_kind_parse(kind))) {
		fprintf(stderr, "feed sign: --kind '%s' is not a feed kind\n",
			kind);
		return 2;
	}
	if(!ig_file_sha256(file, st.sha256, &st.size)) {
		fprintf(stderr, "feed sign: %s: %s\n", file, strerror(errno));
		return 1;
	}
	if(!(key = ig_key_read(keyfile, 1, err, sizeof(err)))) {
		fprintf(stderr, "feed sign: %s\n", err);
		return 1;
	}
	st.signed_at = (int64_t)time(NULL);
	snprintf(sig, sizeof(sig), "%s.sig", file);
	i = ig_feed_sign(sig, key, &st, err, sizeof(err));
	EVP_PKEY_free(key);
	if(!i) {
		fprintf(stderr, "feed sign: %s\n", err);
		return 1;
	}
	printf("%s\n", sig);
	return 0;
}

/** start a feed file DIR/NAME with hdr's header; exits on failure */
static int
feed_begin(struct ig_feed_writer* w, const char* dir, const char* name,
	const Icpguard__Feed__Feed* hdr)
{
	char path[8800], err[1024];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if(!ig_feed_write_begin(w, path, hdr, err, sizeof(err))) {
		fprintf(stderr, "feed: %s\n", err);
		return 0;
	}
	return 1;
}

/** finish and sign a feed file; returns its pointer entry, NULL failed */
static json_t*
feed_finish(struct ig_feed_writer* w, const char* dir, const char* name,
	EVP_PKEY* key, const Icpguard__Feed__Feed* hdr)
{
	struct ig_feed_stmt st;
	char sig[8900], err[1024], hex[65];
	snprintf(sig, sizeof(sig), "%s/%s.sig", dir, name);
	memset(&st, 0, sizeof(st));
	if(!ig_feed_write_end(w, &st.size, st.sha256, err, sizeof(err))) {
		fprintf(stderr, "feed: %s\n", err);
		return NULL;
	}
	st.kind = hdr->kind;
	st.serial = hdr->serial;
	st.base = hdr->base_serial;
	st.signed_at = (int64_t)time(NULL);
	if(!ig_feed_sign(sig, key, &st, err, sizeof(err))) {
		fprintf(stderr, "feed: %s\n", err);
		return NULL;
	}
	return json_pack("{s:s,s:s,s:I,s:s,s:I}", "path", name, "sig",
		strrchr(sig, '/') + 1, "size", (json_int_t)st.size, "sha256",
		ig_hex(st.sha256, 32, hex), "serial", (json_int_t)hdr->serial);
}

/** order of two keys of one or two fields */
static int
key_cmp(unsigned fa, const uint8_t* ka, size_t la, unsigned fb,
	const uint8_t* kb, size_t lb)
{
	size_t m = la < lb ? la : lb;
	int c;
	if(fa != fb) return (int)fa - (int)fb;
	if((c = memcmp(ka, kb, m)) != 0) return c;
	return (la > lb) - (la < lb);
}

/** print help */
static void feed_usage(FILE* out);

int
ig_cmd_feed(int argc, char** argv)
{
	static const struct option opts[] = {
		{ "kind", required_argument, NULL, 'k' },
		{ "source", required_argument, NULL, 's' },
		{ "regdomains", required_argument, NULL, 'r' },
		{ "format", required_argument, NULL, 'f' },
		{ "out", required_argument, NULL, 'o' },
		{ "key", required_argument, NULL, 'K' },
		{ "tlds", required_argument, NULL, 't' },
		{ "serial", required_argument, NULL, 'n' },
		{ "keep-deltas", required_argument, NULL, 'd' },
		{ "allow-rejects", no_argument, NULL, 'a' },
		{ "quiet", no_argument, NULL, 'Q' },
		{ "unchecked", no_argument, NULL, 'U' },
		{ "threads", required_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	static struct feedrun f;
	const char* src = NULL, *regsrc = NULL, *fmt = NULL, *out = NULL;
	const char* keypath = NULL, *tldpath = NULL, *kindname = NULL;
	uint64_t serial = 0, nunique = 0;
	long keep = 10;
	int allow = 0, c, ok = 0, have_old = 0, oldstarted = 0, k;
	int wfull_open = 0, wdelta_open = 0;
	char dir[8192], err[1024], path[8400], name[128], dname[128];
	char oldpath[8400], *latest_err = NULL;
	EVP_PKEY* key = NULL;
	struct latest prev = { 0, NULL };
	char** removed = NULL;
	unsigned* rfield = NULL;
	size_t nupd = 0, nrem = 0, remcap = 0, i;
	Icpguard__Feed__Feed hdr = ICPGUARD__FEED__FEED__INIT;
	json_t* jfull = NULL, *jdelta = NULL, *latest = NULL, *deltas;
	struct ig_feed_writer wfull, wdelta;
	struct merge mn, mo;
	struct held x;
	pthread_t oldtid;

	if(argc >= 2 && !strcmp(argv[1], "keygen")) {
		char priv[4096], pub[4096];
		if(argc != 3 || argv[2][0] == '-') {
			feed_usage(argc == 3 ? stdout : stderr);
			return argc == 3 && !strcmp(argv[2], "--help") ? 0 : 2;
		}
		snprintf(priv, sizeof(priv), "%s.key", argv[2]);
		snprintf(pub, sizeof(pub), "%s.pub", argv[2]);
		if(!ig_key_generate(priv, pub, err, sizeof(err))) {
			fprintf(stderr, "feed keygen: %s\n", err);
			return 1;
		}
		key = ig_key_read(pub, 0, err, sizeof(err));
		if(key && ig_key_id(key, name))
			printf("%s\n%s key id %s\n", priv, pub, name);
		EVP_PKEY_free(key);
		return 0;
	}
	if(argc >= 2 && !strcmp(argv[1], "sign"))
		return feed_sign_file(argc - 1, argv + 1);
	memset(&f, 0, sizeof(f));
	memset(&x, 0, sizeof(x));
	memset(&mn, 0, sizeof(mn));
	memset(&mo, 0, sizeof(mo));
	{
		long nc = sysconf(_SC_NPROCESSORS_ONLN);
		f.threads = nc < 1 ? 1 : nc > 4 ? 4 : (int)nc;
	}
	optind = 1;
	while((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch(c) {
		case 'k': kindname = optarg; break;
		case 's': src = optarg; break;
		case 'r': regsrc = optarg; break;
		case 'f': fmt = optarg; break;
		case 'o': out = optarg; break;
		case 'K': keypath = optarg; break;
		case 't': tldpath = optarg; break;
		case 'n': serial = strtoull(optarg, NULL, 10); break;
		case 'd': keep = strtol(optarg, NULL, 10); break;
		case 'a': allow = 1; break;
		case 'Q': f.quiet = 1; break;
		case 'U': f.unchecked = 1; break;
		case 'T':
			f.threads = atoi(optarg);
			if(f.threads < 1 || f.threads > PARTS_MAX) {
				fprintf(stderr, "feed: --threads: 1 to %d\n",
					PARTS_MAX);
				return 2;
			}
			break;
		case 'h': feed_usage(stdout); return 0;
		default: feed_usage(stderr); return 2;
		}
	}
	if(!kindname || !src || !out || !keypath || optind != argc ||
		(f.kind = ig_feed_kind_parse(kindname)) == 0 ||
		(fmt && strcmp(fmt, "apnic") != 0) || keep < 0 ||
		(fmt && f.kind != ICPGUARD__FEED__KIND__DOMESTIC) ||
		(regsrc && f.kind != ICPGUARD__FEED__KIND__REGISTRARS)) {
		feed_usage(stderr);
		return 2;
	}
	if(!(key = ig_key_read(keypath, 1, err, sizeof(err)))) {
		fprintf(stderr, "feed: %s\n", err);
		return 2;
	}
	snprintf(dir, sizeof(dir), "%s/%s", out, kindname);
	if((mkdir(out, 0755) != 0 && errno != EEXIST) ||
		(mkdir(dir, 0755) != 0 && errno != EEXIST)) {
		fprintf(stderr, "feed: %s: %s\n", dir, strerror(errno));
		goto done;
	}
	f.tmpdir = dir;
	for(k = 0; k < SINKS_MAX; k++) {
		f.sink[k].f = &f;
		f.sink[k].idx = (unsigned)k;
		f.sink[k].rep.defer = &f.sink[k].defer;
	}
	/* the filable-TLD list for the filing check */
	if(tldpath) {
		struct ig_row_report trep;
		memset(&trep, 0, sizeof(trep));
		if(!load_tlds(tldpath, &trep, &f.tlds))
			goto done;
	}
	/* the previous serial and its full feed, read beside the source */
	snprintf(path, sizeof(path), "%s/latest.json", dir);
	if(access(path, F_OK) == 0) {
		json_error_t je;
		const char* fp;
		if(!(prev.json = json_load_file(path, 0, &je))) {
			if(asprintf(&latest_err, "feed: %s: %s\n", path,
				je.text) < 0)
				latest_err = NULL;
		} else {
			prev.serial = (uint64_t)json_integer_value(
				json_object_get(prev.json, "serial"));
			fp = json_string_value(json_object_get(json_object_get(
				prev.json, "full"), "path"));
			if(fp) {
				snprintf(oldpath, sizeof(oldpath), "%s/%s", dir,
					fp);
				f.sink[SINK_OLD].path = oldpath;
				have_old = 1;
				if(pthread_create(&oldtid, NULL, old_read,
					&f.sink[SINK_OLD]) == 0)
					oldstarted = 1;
				else old_read(&f.sink[SINK_OLD]);
			}
		}
	}
	/* read and validate */
	if(fmt) ok = read_apnic(&f, src);
	else if(f.kind == ICPGUARD__FEED__KIND__TLDS && strstr(src, ".txt"))
		ok = ig_rows_text_list(src, "tld", &f.rep, row_text, &f);
	else if(f.kind == ICPGUARD__FEED__KIND__REGISTRARS)
		ok = read_registrars(&f, src, 0);
	else ok = read_source_parts(&f, src, &oldtid, &oldstarted);
	if(ok && regsrc) ok = read_registrars(&f, regsrc, 1);
	if(oldstarted) {
		pthread_join(oldtid, NULL);
		oldstarted = 0;
	}
	if(!ok) goto done;
	ok = 0;
	/* the records of the main thread (registrars, lists, APNIC) */
	f.loaded += f.sink[0].loaded;
	f.sink[0].loaded = 0;
	sink_spill(&f.sink[0]);
	sink_release(&f.sink[0]);
	/* first pass over the new records: their number, the second
	 * filings of a domain reported */
	merge_open(&mn, &f, 0, SINK_OLD);
	while(next_unique(&f, &mn, &x, src, 1))
		nunique++;
	merge_close(&mn);
	if(latest_err) {
		fputs(latest_err, stderr);
		goto done;
	}
	if(have_old && f.sink[SINK_OLD].state != 1) {
		size_t pos = 0;
		long ln;
		const char* fl, *msg = "cannot read";
		ig_row_deferred_next(&f.sink[SINK_OLD].defer, &pos, &ln, &fl,
			&msg);
		fprintf(stderr, "feed: previous full feed ignored: %s\n", msg);
		have_old = 0;
	}
	if(!serial) serial = prev.serial + 1;
	if(serial <= prev.serial) {
		fprintf(stderr, "feed: serial %llu is not after the published "
			"%llu\n", (unsigned long long)serial,
			(unsigned long long)prev.serial);
		goto done;
	}
	/* second pass: the new records against the previous full feed,
	 * written as the new full feed and the delta */
	hdr.has_version = 1; hdr.version = 1;
	hdr.has_kind = 1; hdr.kind = f.kind;
	hdr.has_serial = 1; hdr.serial = serial;
	hdr.has_created = 1; hdr.created = (int64_t)time(NULL);
	hdr.has_record_count = 1; hdr.record_count = nunique;
	snprintf(name, sizeof(name), "full-%llu.pb", (unsigned long long)serial);
	if(!feed_begin(&wfull, dir, name, &hdr)) goto done;
	wfull_open = 1;
	if(have_old) {
		Icpguard__Feed__Feed dh = hdr;
		dh.has_base_serial = 1;
		dh.base_serial = prev.serial;
		snprintf(dname, sizeof(dname), "delta-%llu-%llu.pb",
			(unsigned long long)prev.serial,
			(unsigned long long)serial);
		if(!feed_begin(&wdelta, dir, dname, &dh)) goto done;
		wdelta_open = 1;
	}
	merge_open(&mn, &f, 0, SINK_OLD);
	if(have_old) merge_open(&mo, &f, SINK_OLD, SINK_OLD + 1);
	{
		int more = next_unique(&f, &mn, &x, src, 0);
		struct runrd* b = merge_peek(&mo);
		while(more || b) {
			int cmp;
			if(!more) cmp = 1;
			else if(!b) cmp = -1;
			else cmp = key_cmp(x.h.field, x.b, x.h.keylen,
				b->h.field, b->key, b->h.keylen);
			if(cmp > 0) {
				char t[1024];
				if(nrem == remcap) {
					remcap = remcap ? remcap * 2 : 1024;
					removed = xrealloc(removed, remcap *
						sizeof(*removed));
					rfield = xrealloc(rfield, remcap *
						sizeof(*rfield));
				}
				key_text(b->h.field, b->key, b->h.keylen, t,
					sizeof(t));
				removed[nrem] = strdup(t);
				rfield[nrem++] = b->h.field == 12 ? 21 : 20;
				merge_pop(&mo);
				b = merge_peek(&mo);
				continue;
			}
			ig_feed_write_field(&wfull, x.h.field, x.b +
				x.h.keylen, x.h.plen);
			if(cmp < 0 || x.h.plen != b->h.plen || memcmp(x.b +
				x.h.keylen, b->pk, x.h.plen) != 0) {
				if(have_old)
					ig_feed_write_field(&wdelta, x.h.field,
						x.b + x.h.keylen, x.h.plen);
				nupd++;
			}
			if(cmp == 0) {
				merge_pop(&mo);
				b = merge_peek(&mo);
			}
			more = next_unique(&f, &mn, &x, src, 0);
		}
	}
	merge_close(&mn);
	merge_close(&mo);
	if(have_old && nupd == 0 && nrem == 0) {
		if(!f.quiet)
			fprintf(stderr, "feed: %s unchanged at serial %llu "
				"(%llu records, %ld rejected)\n", kindname,
				(unsigned long long)prev.serial,
				(unsigned long long)nunique, f.rep.rejected);
		ok = 1;
		goto done;
	}
	wfull_open = 0;
	if(!(jfull = feed_finish(&wfull, dir, name, key, &hdr)))
		goto done;
	deltas = json_array();
	if(have_old) {
		Icpguard__Feed__Feed dh = hdr;
		dh.has_base_serial = 1;
		dh.base_serial = prev.serial;
		for(i = 0; i < nrem; i++)
			ig_feed_write_field(&wdelta, rfield[i], removed[i],
				strlen(removed[i]));
		wdelta_open = 0;
		if(!(jdelta = feed_finish(&wdelta, dir, dname, key, &dh))) {
			json_decref(deltas);
			goto done;
		}
		json_object_set_new(jdelta, "base", json_integer(
			(json_int_t)prev.serial));
		json_array_append_new(deltas, jdelta);
		{
			json_t* pd = json_object_get(prev.json, "deltas");
			for(i = 0; i < json_array_size(pd) &&
				json_array_size(deltas) < (size_t)keep; i++)
				json_array_append(deltas, json_array_get(pd,
					i));
		}
		while(json_array_size(deltas) > (size_t)keep)
			json_array_remove(deltas, json_array_size(deltas) - 1);
	}
	latest = json_pack("{s:s,s:s,s:I,s:I,s:I,s:o,s:o}", "format",
		IG_FEED_LATEST_FORMAT, "kind", kindname, "serial",
		(json_int_t)serial, "created", (json_int_t)hdr.created,
		"records", (json_int_t)nunique, "full", jfull, "deltas",
		deltas);
	jfull = NULL;
	if(prev.json && json_object_get(prev.json, "full"))
		json_object_set(latest, "previous_full",
			json_object_get(prev.json, "full"));
	{
		char* text = json_dumps(latest, JSON_INDENT(1) |
			JSON_PRESERVE_ORDER);
		struct stat st;
		snprintf(path, sizeof(path), "%s/latest.json", dir);
		/* HTTP validators have one-second resolution (Last-Modified;
		 * nginx's ETag is mtime-size): never replace the pointer twice
		 * within one second, or a loader could be told "304 not
		 * modified" about a new serial */
		while(stat(path, &st) == 0 && st.st_mtime >= time(NULL))
			usleep(50000);
		if(!text || !ig_write_file_atomic(path, text, strlen(text),
			err, sizeof(err))) {
			fprintf(stderr, "feed: %s\n", text ? err :
				"out of memory");
			free(text);
			goto done;
		}
		free(text);
	}
	prune(dir, latest);
	if(!f.quiet)
		fprintf(stderr, "feed: %s serial %llu: %llu records (delta: %zu "
			"changed, %zu removed), %ld rejected\n", kindname,
			(unsigned long long)serial, (unsigned long long)nunique,
			nupd, nrem, f.rep.rejected);
	ok = 1;
done:
	if(oldstarted) pthread_join(oldtid, NULL);
	if(wfull_open) ig_feed_write_abort(&wfull);
	if(wdelta_open) ig_feed_write_abort(&wdelta);
	merge_close(&mn);
	merge_close(&mo);
	free(x.b);
	free(latest_err);
	EVP_PKEY_free(key);
	json_decref(prev.json);
	json_decref(latest);
	json_decref(jfull);
	for(i = 0; i < nrem; i++) free(removed[i]);
	free(removed);
	free(rfield);
	for(k = 0; k < SINKS_MAX; k++) {
		struct sink* s = &f.sink[k];
		sink_release(s);
		if(s->runf) fclose(s->runf);
		free(s->runs);
		ig_row_deferred_free(&s->defer);
	}
	ig_tldset_free(&f.tlds);
	if(!ok) return 1;
	return (f.rep.rejected && !allow) ? 1 : 0;
}
