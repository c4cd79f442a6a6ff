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
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/** one record: key and packed bytes in the arena */
struct rec {
	/** arena offset of key, then packed record */
	uint64_t off;
	/** key length, packed length */
	uint32_t keylen, plen;
	/** Feed field number */
	uint8_t field;
	/** input order, for stable sorting */
	uint64_t seq;
	/** source line (0: from a feed file) */
	long line;
};

/** a set of records */
struct recset {
	/** records */
	struct rec* v;
	/** count, capacity */
	size_t n, cap;
	/** bytes */
	uint8_t* arena;
	/** used, capacity */
	size_t alen, acap;
};

/** state of one run */
struct feedrun {
	/** kind */
	Icpguard__Feed__Kind kind;
	/** the new records */
	struct recset cur;
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
};

/** append a record; exits on out of memory (a tool, not a daemon) */
static void
rec_add(struct recset* s, unsigned field, const uint8_t* key, size_t keylen,
	const ProtobufCMessage* m, const uint8_t* packed, size_t plen,
	long line)
{
	size_t need;
	if(m) plen = protobuf_c_message_get_packed_size(m);
	need = keylen + plen;
	if(s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 1024;
		s->v = realloc(s->v, s->cap * sizeof(*s->v));
	}
	while(s->alen + need > s->acap) {
		s->acap = s->acap ? s->acap * 2 : (1 << 20);
		s->arena = realloc(s->arena, s->acap);
	}
	if(!s->v || !s->arena) {
		fprintf(stderr, "feed: out of memory\n");
		exit(1);
	}
	memcpy(s->arena + s->alen, key, keylen);
	if(m) protobuf_c_message_pack(m, s->arena + s->alen + keylen);
	else memcpy(s->arena + s->alen + keylen, packed, plen);
	s->v[s->n].off = s->alen;
	s->v[s->n].keylen = (uint32_t)keylen;
	s->v[s->n].plen = (uint32_t)plen;
	s->v[s->n].field = (uint8_t)field;
	s->v[s->n].seq = s->n;
	s->v[s->n].line = line;
	s->n++;
	s->alen += need;
}

/** the arena used by rec_cmp (qsort has no context argument) */
static const uint8_t* cmp_arena;

/** order: field, key, input order */
static int
rec_cmp(const void* a, const void* b)
{
	const struct rec* x = a, *y = b;
	size_t m = x->keylen < y->keylen ? x->keylen : y->keylen;
	int c;
	if(x->field != y->field) return (int)x->field - (int)y->field;
	c = memcmp(cmp_arena + x->off, cmp_arena + y->off, m);
	if(c) return c;
	if(x->keylen != y->keylen) return x->keylen < y->keylen ? -1 : 1;
	return x->seq < y->seq ? -1 : (x->seq > y->seq);
}

/** 1 when two records have the same field and key */
static int
rec_samekey(const struct recset* s, const struct rec* x, const struct rec* y)
{
	return x->field == y->field && x->keylen == y->keylen &&
		memcmp(s->arena + x->off, s->arena + y->off, x->keylen) == 0;
}

/** report one bad row as `icpguard build` does */
static void
reject(struct feedrun* f, const char* path, long line, const char* field,
	const char* fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	ig_row_vreject(&f->rep, path, line, field, fmt, ap);
	va_end(ap);
}

/** a time field, as the builder reads it; 0 reported */
static int
time_field(struct feedrun* f, struct ig_source* s, json_t* row,
	const char* key, int64_t* out)
{
	return ig_row_time(&f->rep, s, row, key, 0, out);
}

/** a boolean field; -1 reported */
static int
bool_field(struct feedrun* f, struct ig_source* s, json_t* row,
	const char* key, int dflt)
{
	return ig_row_bool(&f->rep, s, row, key, dflt);
}

/** add a record keyed by a text key */
static int
add_keyed(struct feedrun* f, struct ig_source* s, unsigned field,
	const char* keytext, const ProtobufCMessage* m)
{
	uint8_t key[IG_FEED_KEY_MAX];
	size_t kl;
	if(!ig_feed_key(field, keytext, key, &kl)) {
		reject(f, s->path, s->line, NULL, "no usable key");
		return 0;
	}
	rec_add(&f->cur, field, key, kl, m, NULL, 0, s->line);
	f->loaded++;
	return 1;
}

/** one source row into a record of the run's kind */
static void
row_record(struct feedrun* f, struct ig_source* s, json_t* row, int regdom)
{
	struct ig_reject rj;
	uint8_t wire[IG_NAME_MAX];
	char text[1024];
	if(f->kind == ICPGUARD__FEED__KIND__FILINGS) {
		Icpguard__Feed__Filing m = ICPGUARD__FEED__FILING__INIT;
		struct ig_filing_fields in;
		struct ig_filing fl;
		ig_row_filing_fields(row, &in);
		if(!ig_valid_filing(&in, &f->tlds, wire, text, &fl, &rj)) {
			if(!f->unchecked || !in.domain) goto bad;
			snprintf(text, sizeof(text), "%s", in.domain);
		}
		if(!time_field(f, s, row, "approved", &m.approved)) return;
		m.has_approved = m.approved != 0;
		m.domain = text;
		m.number = (char*)in.number;
		m.status = (char*)in.status;
		m.subject_type = (char*)in.subject_type;
		m.subject = (char*)in.subject;
		m.province = (char*)in.province;
		m.provider = (char*)in.provider;
		add_keyed(f, s, 10, text, &m.base);
	} else if(f->kind == ICPGUARD__FEED__KIND__BLACKLIST) {
		Icpguard__Feed__BlacklistEntry m =
			ICPGUARD__FEED__BLACKLIST_ENTRY__INIT;
		int sub;
		const char* name = ig_field_str(row, "name");
		if(!ig_valid_blacklist_name(name, wire, &rj) && !f->unchecked)
			goto bad;
		if((sub = bool_field(f, s, row, "subtree", 1)) < 0) return;
		if(!time_field(f, s, row, "added", &m.added)) return;
		m.has_added = m.added != 0;
		m.name = (char*)name;
		m.has_subtree = 1;
		m.subtree = sub;
		m.reason = (char*)ig_field_str(row, "reason");
		m.source = (char*)ig_field_str(row, "source");
		add_keyed(f, s, 13, name, &m.base);
	} else if(f->kind == ICPGUARD__FEED__KIND__DOMESTIC) {
		Icpguard__Feed__DomesticRange m =
			ICPGUARD__FEED__DOMESTIC_RANGE__INIT;
		struct ig_range r;
		const char* v = ig_field_str(row, "range");
		if(!ig_valid_range("range", v, &r, &rj) && !f->unchecked)
			goto bad;
		m.range = (char*)v;
		m.source = (char*)ig_field_str(row, "source");
		add_keyed(f, s, 14, v, &m.base);
	} else if(f->kind == ICPGUARD__FEED__KIND__TLDS) {
		Icpguard__Feed__Tld m = ICPGUARD__FEED__TLD__INIT;
		const char* v = ig_field_str(row, "tld");
		if(!ig_valid_tld(v, wire, &rj)) goto bad;
		m.tld = (char*)v;
		add_keyed(f, s, 15, v, &m.base);
	} else if(regdom) {
		Icpguard__Feed__RegDomain m = ICPGUARD__FEED__REG_DOMAIN__INIT;
		int park, fwd, hold;
		const char* d = ig_field_str(row, "domain");
		if(!ig_valid_name("domain", d, wire, &rj)) goto bad;
		m.registrar = (char*)ig_field_str(row, "registrar");
		if(!ig_valid_str("registrar", m.registrar, &rj)) goto bad;
		if((park = bool_field(f, s, row, "parking", 0)) < 0 ||
			(fwd = bool_field(f, s, row, "forwarding", 0)) < 0 ||
			(hold = bool_field(f, s, row, "hold", 0)) < 0)
			return;
		m.domain = (char*)d;
		m.has_parking = m.has_forwarding = m.has_hold = 1;
		m.parking = park;
		m.forwarding = fwd;
		m.hold = hold;
		m.status = (char*)ig_field_str(row, "status");
		add_keyed(f, s, 12, d, &m.base);
	} else {
		Icpguard__Feed__Registrar m = ICPGUARD__FEED__REGISTRAR__INIT;
		json_t* l[2];
		const char* keys[2] = { "endpoint_ranges", "endpoint_hosts" };
		char** v[2] = { NULL, NULL };
		size_t n[2] = { 0, 0 }, i;
		int k, good = 1;
		m.id = (char*)ig_field_str(row, "id");
		if(!ig_valid_str("id", m.id, &rj)) goto bad;
		m.name = (char*)ig_field_str(row, "name");
		for(k = 0; k < 2; k++) {
			l[k] = ig_row_list(row, keys[k]);
			if(good && !json_is_array(l[k])) {
				reject(f, s->path, s->line, keys[k],
					"want a list");
				good = 0;
			}
			n[k] = json_is_array(l[k]) ? json_array_size(l[k]) : 0;
			v[k] = calloc(n[k] + 1, sizeof(char*));
			for(i = 0; i < n[k]; i++)
				v[k][i] = (char*)json_string_value(
					json_array_get(l[k], i));
		}
		if(good && !ig_valid_endpoints((const char* const*)v[0], n[0],
			(const char* const*)v[1], n[1], &rj)) {
			reject(f, s->path, s->line, rj.field, "%s", rj.msg);
			good = 0;
		}
		if(good) {
			m.n_endpoint_ranges = n[0];
			m.endpoint_ranges = v[0];
			m.n_endpoint_hosts = n[1];
			m.endpoint_hosts = v[1];
			add_keyed(f, s, 11, m.id, &m.base);
		}
		for(k = 0; k < 2; k++) {
			free(v[k]);
			json_decref(l[k]);
		}
	}
	return;
bad:
	reject(f, s->path, s->line, rj.field, "%s", rj.msg);
}

/** read a JSON-lines/CSV source file into records */
static int
read_source(struct feedrun* f, const char* path, int regdom)
{
	struct ig_source s;
	char err[256];
	json_t* row;
	if(!ig_source_open(&s, path)) return 0;
	while(ig_source_next(&s, &row, err, sizeof(err))) {
		if(!row) {
			reject(f, s.path, s.line, NULL, "%s", err);
			continue;
		}
		row_record(f, &s, row, regdom);
		json_decref(row);
	}
	ig_source_close(&s);
	return 1;
}

/** a row of a plain text list (tlds.txt) */
static void
row_text(void* arg, struct ig_source* s, json_t* row)
{
	row_record(arg, s, row, 0);
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
				reject(f, path, ln, "value", "ipv4 '%s' count "
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
				reject(f, path, ln, "value", "ipv6 '%s': %s",
					text, ig_addr_is_v4(&r.first) ?
					"not IPv6" : err);
				continue;
			}
		} else continue; /* asn */
		snprintf(a, sizeof(a), "apnic %s", fl[5]);
		m.range = text;
		m.source = a;
		if(!ig_feed_key(14, text, key, &kl)) continue;
		rec_add(&f->cur, 14, key, kl, &m.base, NULL, 0, ln);
		f->loaded++;
	}
	fclose(in);
	return 1;
}

/** sort and drop duplicate keys: filings keep the first (reported), the
 * others the last, as `icpguard build` does */
static void
dedup(struct feedrun* f, const char* path)
{
	struct recset* s = &f->cur;
	size_t i, o = 0;
	cmp_arena = s->arena;
	if(s->n) qsort(s->v, s->n, sizeof(*s->v), rec_cmp);
	for(i = 0; i < s->n; i++) {
		if(o > 0 && rec_samekey(s, &s->v[o-1], &s->v[i])) {
			if(s->v[i].field == 10) {
				char t[1024];
				ig_name_key_to_text(s->arena + s->v[i].off,
					s->v[i].keylen, t, sizeof(t));
				t[strlen(t) - 1] = 0;
				reject(f, path, s->v[i].line, "domain", "'%s' "
					"filed twice (first row kept)", t);
				f->loaded--;
			} else {
				s->v[o-1] = s->v[i];
				f->loaded--;
			}
			continue;
		}
		s->v[o++] = s->v[i];
	}
	s->n = o;
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

/** load a previous full feed file's records */
static int
read_feed_records(const char* path, struct recset* s)
{
	struct ig_feed_reader r;
	const char* code;
	char err[512];
	unsigned field;
	const uint8_t* d;
	size_t dl;
	if(!ig_feed_open(&r, path, &code, err, sizeof(err))) {
		fprintf(stderr, "feed: previous full feed ignored: %s\n", err);
		return 0;
	}
	while(ig_feed_next(&r, &field, &d, &dl)) {
		uint8_t key[IG_FEED_KEY_MAX];
		size_t kl;
		const char* kt = NULL;
		ProtobufCMessage* m = ig_feed_record_unpack(field, d, dl, &kt);
		if(m && ig_feed_key(field, kt, key, &kl))
			rec_add(s, field, key, kl, NULL, d, dl, 0);
		if(m) protobuf_c_message_free_unpacked(m, NULL);
	}
	ig_feed_close(&r);
	cmp_arena = s->arena;
	if(s->n) qsort(s->v, s->n, sizeof(*s->v), rec_cmp);
	return 1;
}

/** the previous state from DIR/latest.json */
struct latest {
	/** serial, 0 when none */
	uint64_t serial;
	/** the JSON, kept to carry the delta list forward */
	json_t* json;
};

/** write a signed feed file; fills the pointer entry */
static json_t*
write_feed(const char* dir, const char* name, EVP_PKEY* key,
	const Icpguard__Feed__Feed* hdr, const struct recset* recs,
	const struct rec* const* sel, size_t nsel, char** removed,
	unsigned* removed_field, size_t nremoved)
{
	struct ig_feed_writer w;
	struct ig_feed_stmt st;
	char path[8800], sig[8900], err[1024], hex[65];
	size_t i;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(sig, sizeof(sig), "%s.sig", path);
	if(!ig_feed_write_begin(&w, path, hdr, err, sizeof(err))) {
		fprintf(stderr, "feed: %s\n", err);
		return NULL;
	}
	for(i = 0; i < nsel; i++)
		ig_feed_write_field(&w, sel[i]->field, recs->arena +
			sel[i]->off + sel[i]->keylen, sel[i]->plen);
	for(i = 0; i < nremoved; i++)
		ig_feed_write_field(&w, removed_field[i], removed[i],
			strlen(removed[i]));
	memset(&st, 0, sizeof(st));
	if(!ig_feed_write_end(&w, &st.size, st.sha256, err, sizeof(err))) {
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
"       icpguard feed --kind KIND --source FILE --out DIR --key KEY [options]\n\n"
"keygen writes an Ed25519 key pair: PREFIX.key (private, mode 0600) and\n"
"PREFIX.pub (public, for the loader's configuration).\n\n"
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
"  --unchecked         filings, blacklist, domestic: put rows in the feed\n"
"                      without the record checks (tests: the loader still\n"
"                      checks and quarantines them)\n"
"exit: 0 published or unchanged, 1 failed or rows rejected, 2 usage\n");
}

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
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct feedrun f;
	const char* src = NULL, *regsrc = NULL, *fmt = NULL, *out = NULL;
	const char* keypath = NULL, *tldpath = NULL, *kindname = NULL;
	uint64_t serial = 0;
	long keep = 10;
	int allow = 0, c, ok = 0, have_old = 0;
	char dir[8192], err[1024], path[8400], name[128];
	EVP_PKEY* key = NULL;
	struct latest prev = { 0, NULL };
	struct recset old;
	const struct rec** full = NULL, **upd = NULL;
	char** removed = NULL;
	unsigned* rfield = NULL;
	size_t nupd = 0, nrem = 0, i, j;
	Icpguard__Feed__Feed hdr = ICPGUARD__FEED__FEED__INIT;
	json_t* jfull = NULL, *jdelta = NULL, *latest = NULL, *deltas;

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
	memset(&f, 0, sizeof(f));
	memset(&old, 0, sizeof(old));
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
	/* the filable-TLD list for the filing check */
	if(tldpath) {
		struct feedrun t;
		memset(&t, 0, sizeof(t));
		t.kind = ICPGUARD__FEED__KIND__TLDS;
		t.quiet = 1;
		if(!(strstr(tldpath, ".txt") ? ig_rows_text_list(tldpath,
			"tld", row_text, &t) : read_source(&t, tldpath, 0)))
			goto done;
		for(i = 0; i < t.cur.n; i++) {
			uint8_t wire[IG_NAME_MAX];
			char tt[1024];
			size_t wl;
			const char* e;
			ig_name_key_to_text(t.cur.arena + t.cur.v[i].off,
				t.cur.v[i].keylen, tt, sizeof(tt));
			if(ig_name_from_text(tt, wire, &wl, &e))
				ig_tldset_add(&f.tlds, wire);
		}
		free(t.cur.v);
		free(t.cur.arena);
	}
	/* read and validate */
	if(fmt) ok = read_apnic(&f, src);
	else if(f.kind == ICPGUARD__FEED__KIND__TLDS && strstr(src, ".txt"))
		ok = ig_rows_text_list(src, "tld", row_text, &f);
	else ok = read_source(&f, src, 0);
	if(ok && regsrc) ok = read_source(&f, regsrc, 1);
	if(!ok) goto done;
	ok = 0;
	dedup(&f, src);
	/* the previous serial and its full feed */
	snprintf(path, sizeof(path), "%s/latest.json", dir);
	if(access(path, F_OK) == 0) {
		json_error_t je;
		const char* fp;
		if(!(prev.json = json_load_file(path, 0, &je))) {
			fprintf(stderr, "feed: %s: %s\n", path, je.text);
			goto done;
		}
		prev.serial = (uint64_t)json_integer_value(json_object_get(
			prev.json, "serial"));
		fp = json_string_value(json_object_get(json_object_get(
			prev.json, "full"), "path"));
		if(fp) {
			char pp[8400];
			snprintf(pp, sizeof(pp), "%s/%s", dir, fp);
			have_old = read_feed_records(pp, &old);
		}
	}
	if(!serial) serial = prev.serial + 1;
	if(serial <= prev.serial) {
		fprintf(stderr, "feed: serial %llu is not after the published "
			"%llu\n", (unsigned long long)serial,
			(unsigned long long)prev.serial);
		goto done;
	}
	/* the delta: records new or changed, keys gone */
	full = calloc(f.cur.n + 1, sizeof(*full));
	upd = calloc(f.cur.n + 1, sizeof(*upd));
	removed = calloc(old.n + 1, sizeof(char*));
	rfield = calloc(old.n + 1, sizeof(unsigned));
	if(!full || !upd || !removed || !rfield) {
		fprintf(stderr, "feed: out of memory\n");
		goto done;
	}
	for(i = 0; i < f.cur.n; i++) full[i] = &f.cur.v[i];
	i = j = 0;
	while(i < f.cur.n || j < old.n) {
		const struct rec* a = i < f.cur.n ? &f.cur.v[i] : NULL;
		const struct rec* b = j < old.n ? &old.v[j] : NULL;
		int cmp;
		if(!a) cmp = 1;
		else if(!b) cmp = -1;
		else if(a->field != b->field) cmp = (int)a->field -
			(int)b->field;
		else {
			size_t m = a->keylen < b->keylen ? a->keylen :
				b->keylen;
			cmp = memcmp(f.cur.arena + a->off, old.arena + b->off,
				m);
			if(!cmp) cmp = (a->keylen > b->keylen) -
				(a->keylen < b->keylen);
		}
		if(cmp < 0) {
			upd[nupd++] = a;
			i++;
		} else if(cmp > 0) {
			char t[1024];
			key_text(b->field, old.arena + b->off, b->keylen, t,
				sizeof(t));
			removed[nrem] = strdup(t);
			rfield[nrem++] = b->field == 12 ? 21 : 20;
			j++;
		} else {
			if(a->plen != b->plen || memcmp(f.cur.arena + a->off +
				a->keylen, old.arena + b->off + b->keylen,
				a->plen) != 0)
				upd[nupd++] = a;
			i++;
			j++;
		}
	}
	if(have_old && nupd == 0 && nrem == 0) {
		if(!f.quiet)
			fprintf(stderr, "feed: %s unchanged at serial %llu "
				"(%zu records, %ld rejected)\n", kindname,
				(unsigned long long)prev.serial, f.cur.n,
				f.rep.rejected);
		ok = 1;
		goto done;
	}
	hdr.has_version = 1; hdr.version = 1;
	hdr.has_kind = 1; hdr.kind = f.kind;
	hdr.has_serial = 1; hdr.serial = serial;
	hdr.has_created = 1; hdr.created = (int64_t)time(NULL);
	hdr.has_record_count = 1; hdr.record_count = f.cur.n;
	snprintf(name, sizeof(name), "full-%llu.pb", (unsigned long long)serial);
	if(!(jfull = write_feed(dir, name, key, &hdr, &f.cur, full, f.cur.n,
		NULL, NULL, 0)))
		goto done;
	deltas = json_array();
	if(have_old) {
		hdr.has_base_serial = 1;
		hdr.base_serial = prev.serial;
		snprintf(name, sizeof(name), "delta-%llu-%llu.pb",
			(unsigned long long)prev.serial,
			(unsigned long long)serial);
		if(!(jdelta = write_feed(dir, name, key, &hdr, &f.cur, upd,
			nupd, removed, rfield, nrem)))
			goto done;
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
		"records", (json_int_t)f.cur.n, "full", jfull, "deltas",
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
		fprintf(stderr, "feed: %s serial %llu: %zu records (delta: %zu "
			"changed, %zu removed), %ld rejected\n", kindname,
			(unsigned long long)serial, f.cur.n, nupd, nrem,
			f.rep.rejected);
	ok = 1;
done:
	EVP_PKEY_free(key);
	json_decref(prev.json);
	json_decref(latest);
	json_decref(jfull);
	for(i = 0; i < nrem; i++) free(removed[i]);
	free(removed);
	free(rfield);
	free(full);
	free(upd);
	free(f.cur.v);
	free(f.cur.arena);
	free(old.v);
	free(old.arena);
	ig_tldset_free(&f.tlds);
	if(!ok) return 1;
	return (f.rep.rejected && !allow) ? 1 : 0;
}
