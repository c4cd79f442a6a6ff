/*
 * loader/state.c - the loader's durable feed state.
 *
 * \file
 * See state.h.  LMDB error codes stop here: callers get 0 and a message.
 */
#include "config.h"
#include "loader/state.h"
#include "lib/validate.h"
#include <errno.h>
#include <jansson.h>
#include <lmdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

/** record databases, indexed by Feed field number - 10 */
enum { DB_FILING, DB_REGISTRAR, DB_REGDOMAIN, DB_BLACKLIST, DB_DOMESTIC,
	DB_TLD, DB_FEED, DB_N };
static const char* const db_names[DB_N] = { "filing", "registrar",
	"regdomain", "blacklist", "domestic", "tld", "feed" };

/** the state */
struct loader_state {
	/** the file */
	char path[2048];
	/** the environment */
	MDB_env* env;
	/** the databases */
	MDB_dbi dbi[DB_N];
};

/** open the environment and its databases; 0 with err set */
static int
env_open(struct loader_state* s, char* err, size_t errlen)
{
	MDB_txn* txn = NULL;
	int rc, i;
	if((rc = mdb_env_create(&s->env)) != 0 ||
		(rc = mdb_env_set_maxdbs(s->env, DB_N)) != 0 ||
		(rc = mdb_env_set_mapsize(s->env, (size_t)64 << 30)) != 0 ||
		(rc = mdb_env_open(s->env, s->path, MDB_NOSUBDIR | MDB_NOTLS,
		0600)) != 0 ||
		(rc = mdb_txn_begin(s->env, NULL, 0, &txn)) != 0)
		goto fail;
	for(i = 0; i < DB_N; i++)
		if((rc = mdb_dbi_open(txn, db_names[i], MDB_CREATE,
			&s->dbi[i])) != 0)
			goto fail;
	rc = mdb_txn_commit(txn);
	txn = NULL;
	if(rc != 0) goto fail;
	return 1;
fail:
	snprintf(err, errlen, "%s: %s", s->path, mdb_strerror(rc));
	if(txn) mdb_txn_abort(txn);
	if(s->env) mdb_env_close(s->env);
	s->env = NULL;
	return 0;
}

int
state_open(const char* dir, struct loader_state** out, char* err,
	size_t errlen)
{
	struct loader_state* s = calloc(1, sizeof(*s));
	if(!s) {
		snprintf(err, errlen, "out of memory");
		return 0;
	}
	snprintf(s->path, sizeof(s->path), "%s/state.mdb", dir);
	if(!env_open(s, err, errlen)) {
		free(s);
		return 0;
	}
	*out = s;
	return 1;
}

/**
 * Close and open the environment again after a large transaction: LMDB
 * keeps the pages of a write transaction's dirty list on its own free
 * list for the life of the environment (half a gigabyte after a
 * 10-million-record feed), which a publish would then hold on to.
 */
static void
env_renew(struct loader_state* s)
{
	char err[512];
	mdb_env_close(s->env);
	s->env = NULL;
	if(!env_open(s, err, sizeof(err))) {
		/* the next use fails and says so; the data is safe */
		fprintf(stderr, "icpguard-loader: %s\n", err);
	}
}

/** 1 when the environment is open (reopening it after a failed renew) */
static int
env_ready(struct loader_state* s)
{
	char err[512];
	if(s->env) return 1;
	if(env_open(s, err, sizeof(err))) return 1;
	fprintf(stderr, "icpguard-loader: %s\n", err);
	return 0;
}

void
state_close(struct loader_state* s)
{
	if(!s) return;
	if(s->env) mdb_env_close(s->env);
	free(s);
}

/** read a feed's info inside a transaction */
static void
feed_get(struct loader_state* s, MDB_txn* txn, Icpguard__Feed__Kind kind,
	struct feed_info* fi)
{
	const char* name = ig_feed_kind_name(kind);
	MDB_val k, v;
	json_t* j;
	memset(fi, 0, sizeof(*fi));
	k.mv_data = (void*)name;
	k.mv_size = strlen(name);
	if(mdb_get(txn, s->dbi[DB_FEED], &k, &v) != 0) return;
	if(!(j = json_loadb(v.mv_data, v.mv_size, 0, NULL))) return;
	fi->serial = (uint64_t)json_integer_value(json_object_get(j,
		"serial"));
	fi->records = (uint64_t)json_integer_value(json_object_get(j,
		"records"));
	fi->updated = json_integer_value(json_object_get(j, "updated"));
	snprintf(fi->etag, sizeof(fi->etag), "%s", json_string_value(
		json_object_get(j, "etag")) ? json_string_value(
		json_object_get(j, "etag")) : "");
	snprintf(fi->lastmod, sizeof(fi->lastmod), "%s", json_string_value(
		json_object_get(j, "lastmod")) ? json_string_value(
		json_object_get(j, "lastmod")) : "");
	json_decref(j);
}

/** write a feed's info inside a write transaction */
static int
feed_put(struct loader_state* s, MDB_txn* txn, Icpguard__Feed__Kind kind,
	const struct feed_info* fi)
{
	const char* name = ig_feed_kind_name(kind);
	json_t* j = json_pack("{s:I,s:I,s:I,s:s,s:s}", "serial",
		(json_int_t)fi->serial, "records", (json_int_t)fi->records,
		"updated", (json_int_t)fi->updated, "etag", fi->etag,
		"lastmod", fi->lastmod);
	char* t = j ? json_dumps(j, JSON_COMPACT) : NULL;
	MDB_val k, v;
	int rc = -1;
	if(t) {
		k.mv_data = (void*)name;
		k.mv_size = strlen(name);
		v.mv_data = t;
		v.mv_size = strlen(t);
		rc = mdb_put(txn, s->dbi[DB_FEED], &k, &v, 0);
	}
	free(t);
	json_decref(j);
	return rc == 0;
}

int
state_feed_get(struct loader_state* s, Icpguard__Feed__Kind kind,
	struct feed_info* fi)
{
	MDB_txn* txn;
	memset(fi, 0, sizeof(*fi));
	if(!env_ready(s) || mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn) != 0)
		return 0;
	feed_get(s, txn, kind, fi);
	mdb_txn_abort(txn);
	return 1;
}

int
state_feed_set_validators(struct loader_state* s, Icpguard__Feed__Kind kind,
	const char* etag, const char* lastmod)
{
	MDB_txn* txn;
	struct feed_info fi;
	if(!env_ready(s) || mdb_txn_begin(s->env, NULL, 0, &txn) != 0)
		return 0;
	feed_get(s, txn, kind, &fi);
	snprintf(fi.etag, sizeof(fi.etag), "%s", etag ? etag : "");
	snprintf(fi.lastmod, sizeof(fi.lastmod), "%s", lastmod ? lastmod : "");
	if(!feed_put(s, txn, kind, &fi)) {
		mdb_txn_abort(txn);
		return 0;
	}
	return mdb_txn_commit(txn) == 0;
}

int
state_has_data(struct loader_state* s)
{
	MDB_txn* txn;
	MDB_stat st;
	int n = 0;
	if(!env_ready(s) || mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn) != 0)
		return 0;
	if(mdb_stat(txn, s->dbi[DB_FEED], &st) == 0) n = st.ms_entries > 0;
	mdb_txn_abort(txn);
	return n;
}

/* ------------------------------------------------------------------ */

/** the record databases of a kind: first and count */
static void
kind_dbs(Icpguard__Feed__Kind kind, int* first, int* n)
{
	*n = 1;
	switch(kind) {
	case ICPGUARD__FEED__KIND__FILINGS: *first = DB_FILING; break;
	case ICPGUARD__FEED__KIND__REGISTRARS: *first = DB_REGISTRAR; *n = 2;
		break;
	case ICPGUARD__FEED__KIND__BLACKLIST: *first = DB_BLACKLIST; break;
	case ICPGUARD__FEED__KIND__DOMESTIC: *first = DB_DOMESTIC; break;
	default: *first = DB_TLD; break;
	}
}

/** records of a kind in force inside txn */
static uint64_t
kind_count(struct loader_state* s, MDB_txn* txn, Icpguard__Feed__Kind kind)
{
	int first, n, i;
	uint64_t c = 0;
	MDB_stat st;
	kind_dbs(kind, &first, &n);
	for(i = first; i < first + n; i++)
		if(mdb_stat(txn, s->dbi[i], &st) == 0) c += st.ms_entries;
	return c;
}

/** a name key back to wire format */
static void
key_to_wire(const uint8_t* key, size_t kl, uint8_t* wire)
{
	size_t labels[IG_LABELS_MAX], n = 0, p = 0, o = 0;
	while(p < kl && n < IG_LABELS_MAX) {
		labels[n++] = p;
		p += 1 + key[p];
	}
	while(n > 0) {
		size_t at = labels[--n];
		memcpy(wire + o, key + at, 1 + (size_t)key[at]);
		o += 1 + (size_t)key[at];
	}
	wire[o] = 0;
}

/** count a code in a result */
static void
count_code(struct apply_result* r, const char* code)
{
	int i;
	for(i = 0; i < r->nrej; i++)
		if(!strcmp(r->rej[i].code, code)) {
			r->rej[i].n++;
			return;
		}
	if(r->nrej < LOADER_MAX_CODES) {
		r->rej[r->nrej].code = code;
		r->rej[r->nrej++].n = 1;
	}
}

/** refuse the whole feed */
static int
refuse(struct apply_result* r, const char* code, const char* fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int
refuse(struct apply_result* r, const char* code, const char* fmt, ...)
{
	va_list ap;
	r->code = code;
	va_start(ap, fmt);
	vsnprintf(r->msg, sizeof(r->msg), fmt, ap);
	va_end(ap);
	return 0;
}

/** the filable TLDs in force */
static void
load_tlds(struct loader_state* s, MDB_txn* txn, struct ig_tldset* t)
{
	MDB_cursor* c;
	MDB_val k, v;
	if(mdb_cursor_open(txn, s->dbi[DB_TLD], &c) != 0) return;
	while(mdb_cursor_get(c, &k, &v, t->n ? MDB_NEXT : MDB_FIRST) == 0) {
		uint8_t wire[IG_NAME_MAX];
		if(k.mv_size == 0 || k.mv_size >= IG_KEY_MAX) continue;
		key_to_wire(k.mv_data, k.mv_size, wire);
		if(!ig_tldset_add(t, wire)) break;
	}
	mdb_cursor_close(c);
}

/**
 * Validate one unpacked record of a field with the builder's rules.
 * @return 1 good, 0 refused (rj set).
 */
static int
check_record(unsigned field, ProtobufCMessage* m, const struct ig_tldset* t,
	struct ig_reject* rj)
{
	uint8_t wire[IG_NAME_MAX];
	char text[1024];
	switch(field) {
	case 10: {
		Icpguard__Feed__Filing* f = (Icpguard__Feed__Filing*)m;
		struct ig_filing_fields in;
		struct ig_filing out;
		in.domain = f->domain;
		in.number = f->number;
		in.status = f->status;
		in.subject_type = f->subject_type;
		in.subject = f->subject;
		in.province = f->province;
		in.provider = f->provider;
		return ig_valid_filing(&in, t, wire, text, &out, rj);
	}
	case 11: {
		Icpguard__Feed__Registrar* r = (Icpguard__Feed__Registrar*)m;
		if(!ig_valid_str("id", r->id, rj)) return 0;
		return ig_valid_endpoints((const char* const*)r->endpoint_ranges,
			r->n_endpoint_ranges,
			(const char* const*)r->endpoint_hosts,
			r->n_endpoint_hosts, rj);
	}
	case 12: {
		Icpguard__Feed__RegDomain* d = (Icpguard__Feed__RegDomain*)m;
		return ig_valid_name("domain", d->domain, wire, rj) &&
			ig_valid_str("registrar", d->registrar, rj);
	}
	case 13:
		return ig_valid_blacklist_name(
			((Icpguard__Feed__BlacklistEntry*)m)->name, wire, rj);
	case 14: {
		struct ig_range r;
		return ig_valid_range("range",
			((Icpguard__Feed__DomesticRange*)m)->range, &r, rj);
	}
	case 15:
		return ig_valid_tld(((Icpguard__Feed__Tld*)m)->tld, wire, rj);
	}
	return ig_reject_set(rj, NULL, "wrong_type", "record type %u", field);
}

/** the fields a kind may carry */
static int
field_of_kind(Icpguard__Feed__Kind kind, unsigned field)
{
	switch(kind) {
	case ICPGUARD__FEED__KIND__FILINGS: return field == 10;
	case ICPGUARD__FEED__KIND__REGISTRARS: return field == 11 ||
		field == 12;
	case ICPGUARD__FEED__KIND__BLACKLIST: return field == 13;
	case ICPGUARD__FEED__KIND__DOMESTIC: return field == 14;
	case ICPGUARD__FEED__KIND__TLDS: return field == 15;
	default: return 0;
	}
}

/** write one quarantine line */
static void
quarantine(FILE* q, const char* feed, uint64_t serial, const char* origin,
	uint64_t pos, const char* key, const struct ig_reject* rj)
{
	json_t* j;
	char* t;
	if(!q) return;
	j = json_pack("{s:s,s:I,s:s,s:I,s:s?,s:s?,s:s,s:s}", "feed", feed,
		"serial", (json_int_t)serial, "origin", origin ? origin : "",
		"record", (json_int_t)pos, "key", key, "field", rj->field,
		"code", rj->code, "reason", rj->msg);
	if(j && (t = json_dumps(j, JSON_COMPACT))) {
		fprintf(q, "%s\n", t);
		free(t);
	}
	json_decref(j);
}

/** read a whole (small) file */
static uint8_t*
read_small(const char* path, size_t* len)
{
	FILE* f = fopen(path, "rb");
	uint8_t* b;
	if(!f) return NULL;
	b = malloc(65536);
	*len = b ? fread(b, 1, 65536, f) : 0;
	fclose(f);
	return b;
}

/** put one record; handles append order and duplicates */
static int
put_record(MDB_txn* txn, MDB_dbi dbi, MDB_val* k, MDB_val* v, int nodup,
	int* appendable, int* dup)
{
	int rc = MDB_KEYEXIST;
	*dup = 0;
	if(*appendable) {
		rc = mdb_put(txn, dbi, k, v, MDB_APPEND);
		if(rc == MDB_KEYEXIST) *appendable = 0;
	}
	if(rc == MDB_KEYEXIST) {
		rc = mdb_put(txn, dbi, k, v, nodup ? MDB_NOOVERWRITE : 0);
		if(rc == MDB_KEYEXIST) {
			*dup = 1;
			return 1;
		}
	}
	return rc == 0;
}

/**
 * Give the state's mapped pages back to the kernel: a publish reads the
 * whole state once, and a read-only shared file mapping faults the same
 * bytes back in when a page is touched again.  Keeps the loader's
 * resident size near its working set for 10-million-record feeds.
 */
static void
drop_map(struct loader_state* s)
{
	ig_env_release(s->env);
}

int
state_apply(struct loader_state* s, Icpguard__Feed__Kind kind,
	const char* payload, const char* sigfile, const struct apply_opts* o,
	struct apply_result* res)
{
	struct ig_feed_stmt st;
	struct ig_feed_reader rd;
	struct feed_info fi;
	struct ig_tldset tlds = { NULL, 0 };
	uint8_t* sig, sha[32];
	size_t siglen = 0;
	uint64_t size = 0, pos = 0;
	const char* code, *feed = ig_feed_kind_name(kind);
	char err[1024], qtmp[2100];
	MDB_txn* txn = NULL;
	FILE* q = NULL;
	int first, ndb, i, ok = 0, delta, appendable[DB_N];
	unsigned field;
	const uint8_t* d;
	size_t dl;

	const char* shown = o->origin ? o->origin : payload;
	memset(res, 0, sizeof(*res));
	memset(&rd, 0, sizeof(rd));
	/* 1. the signature and the statement it signs */
	if(!(sig = read_small(sigfile, &siglen)))
		return refuse(res, "io", "%s.sig: %s", shown, strerror(errno));
	if(!ig_feed_sig_check(sig, siglen, o->keys, o->allowed, o->nallowed,
		&st, &code, err, sizeof(err))) {
		free(sig);
		return refuse(res, code, "%s.sig: %s", shown, err);
	}
	free(sig);
	res->serial = st.serial;
	if(st.kind != kind)
		return refuse(res, "wrong_kind", "%s: signed as a %s feed, "
			"configured as %s", shown, ig_feed_kind_name(st.kind),
			feed);
	/* 2. the file is the one signed */
	if(!ig_file_sha256(payload, sha, &size))
		return refuse(res, "io", "%s: cannot read", shown);
	if(size < st.size)
		return refuse(res, "truncated", "%s: truncated: %llu of %llu "
			"signed bytes", shown, (unsigned long long)size,
			(unsigned long long)st.size);
	if(size != st.size)
		return refuse(res, "digest_mismatch", "%s: %llu bytes, %llu "
			"signed", shown, (unsigned long long)size,
			(unsigned long long)st.size);
	if(memcmp(sha, st.sha256, 32) != 0)
		return refuse(res, "digest_mismatch", "%s: SHA-256 differs "
			"from the signed one (tampered)", shown);
	if(!ig_feed_open(&rd, payload, &code, err, sizeof(err)))
		return refuse(res, code, "%s", err);
	if(rd.kind != st.kind || rd.serial != st.serial || rd.base != st.base)
	{
		refuse(res, "statement_mismatch", "%s: header (kind %d serial "
			"%llu base %llu) differs from the signed statement",
			shown, (int)rd.kind, (unsigned long long)rd.serial,
			(unsigned long long)rd.base);
		goto done;
	}
	if(o->expect_serial && st.serial != o->expect_serial) {
		refuse(res, "statement_mismatch", "%s: serial %llu, the latest "
			"pointer says %llu", shown,
			(unsigned long long)st.serial,
			(unsigned long long)o->expect_serial);
		goto done;
	}
	delta = rd.base != 0;
	/* 3. serials */
	if(!env_ready(s) || mdb_txn_begin(s->env, NULL, 0, &txn) != 0) {
		refuse(res, "io", "state: cannot begin a transaction");
		goto done;
	}
	feed_get(s, txn, kind, &fi);
	if(rd.serial <= fi.serial) {
		refuse(res, "serial_backwards", "%s: serial %llu is not after "
			"the serial in force %llu", shown,
			(unsigned long long)rd.serial,
			(unsigned long long)fi.serial);
		goto done;
	}
	if(delta && rd.base != fi.serial) {
		refuse(res, "delta_base", "%s: delta from %llu, the serial in "
			"force is %llu", shown, (unsigned long long)rd.base,
			(unsigned long long)fi.serial);
		goto done;
	}
	if(!delta && rd.nrecords != rd.record_count) {
		refuse(res, "truncated", "%s: %llu records, the header says "
			"%llu", shown, (unsigned long long)rd.nrecords,
			(unsigned long long)rd.record_count);
		goto done;
	}
	/* 4. the records */
	res->before = kind_count(s, txn, kind);
	kind_dbs(kind, &first, &ndb);
	for(i = 0; i < DB_N; i++) appendable[i] = !delta;
	if(!delta)
		for(i = first; i < first + ndb; i++)
			if(mdb_drop(txn, s->dbi[i], 0) != 0) {
				refuse(res, "io", "state: cannot empty %s",
					db_names[i]);
				goto done;
			}
	if(kind == ICPGUARD__FEED__KIND__FILINGS) load_tlds(s, txn, &tlds);
	if(o->quarantine) {
		snprintf(qtmp, sizeof(qtmp), "%s.tmp", o->quarantine);
		q = fopen(qtmp, "w");
	}
	while(ig_feed_next(&rd, &field, &d, &dl)) {
		uint8_t key[IG_FEED_KEY_MAX];
		size_t kl;
		struct ig_reject rj;
		ProtobufCMessage* m;
		const char* kt;
		MDB_val k, v;
		int dup, db;
		pos++;
		if(field == 20 || field == 21) {
			char text[1024];
			unsigned rf = field == 21 ? 12 : (unsigned)(first + 10);
			snprintf(text, sizeof(text), "%.*s", (int)(dl < 1000 ?
				dl : 1000), (const char*)d);
			if(!delta || !ig_feed_key(rf, text, key, &kl)) {
				ig_reject_set(&rj, NULL, "bad_removal",
					"removal '%s' not applicable", text);
				goto reject;
			}
			k.mv_data = key;
			k.mv_size = kl;
			if(mdb_del(txn, s->dbi[rf - 10], &k, NULL) != 0) {
				refuse(res, "delta_mismatch", "%s: record %llu "
					"removes '%s', which is not in force: "
					"the delta does not apply", shown,
					(unsigned long long)pos, text);
				goto done;
			}
			res->removed++;
			continue;
		}
		if(!field_of_kind(kind, field)) {
			ig_reject_set(&rj, NULL, "wrong_type", "a record of "
				"type %u in a %s feed", field, feed);
			goto reject;
		}
		if(!(m = ig_feed_record_unpack(field, d, dl, &kt))) {
			ig_reject_set(&rj, NULL, "undecodable", "record does "
				"not decode");
			goto reject;
		}
		if(!check_record(field, m, &tlds, &rj)) {
			protobuf_c_message_free_unpacked(m, NULL);
			goto reject;
		}
		if(!ig_feed_key(field, kt, key, &kl)) {
			protobuf_c_message_free_unpacked(m, NULL);
			ig_reject_set(&rj, NULL, "bad_key", "no usable key");
			goto reject;
		}
		protobuf_c_message_free_unpacked(m, NULL);
		db = (int)field - 10;
		k.mv_data = key;
		k.mv_size = kl;
		v.mv_data = (void*)d;
		v.mv_size = dl;
		if(!put_record(txn, s->dbi[db], &k, &v, field == 10 && !delta,
			&appendable[db], &dup)) {
			refuse(res, "io", "state: cannot store a record");
			goto done;
		}
		if(dup) {
			char t[1024];
			ig_name_key_to_text(key, kl, t, sizeof(t));
			t[strlen(t) - 1] = 0;
			ig_reject_filed_twice(&rj, t);
			goto reject;
		}
		if(++res->loaded % 1000000 == 0) drop_map(s);
		continue;
	reject:
		res->rejected++;
		count_code(res, rj.code);
		quarantine(q, feed, rd.serial, o->origin, pos, NULL, &rj);
	}
	res->after = kind_count(s, txn, kind);
	/* 5. whole-feed checks */
	if(delta && rd.record_count && (res->after > rd.record_count ||
		res->after + res->rejected < rd.record_count)) {
		refuse(res, "delta_mismatch", "%s: %llu records after the "
			"delta, the publisher has %llu: the delta does not "
			"apply", shown, (unsigned long long)res->after,
			(unsigned long long)rd.record_count);
		goto done;
	}
	if(kind == ICPGUARD__FEED__KIND__FILINGS && res->before > 0 &&
		res->after * 100 < res->before * (uint64_t)(100 - o->max_shrink)
		&& !o->allow_shrink) {
		refuse(res, "shrink", "%s: filings would shrink from %llu to "
			"%llu (more than %d%%); not published without an "
			"override (icpguard-loader allow-shrink filings)",
			shown, (unsigned long long)res->before,
			(unsigned long long)res->after, o->max_shrink);
		goto done;
	}
	fi.serial = rd.serial;
	fi.records = res->after;
	fi.updated = (int64_t)time(NULL);
	if(!feed_put(s, txn, kind, &fi) || mdb_txn_commit(txn) != 0) {
		txn = NULL;
		refuse(res, "io", "state: commit failed");
		goto done;
	}
	txn = NULL;
	if(res->loaded + res->removed >= 100000) env_renew(s);
	ok = 1;
done:
	if(txn) mdb_txn_abort(txn);
	if(q) {
		fclose(q);
		if(rename(qtmp, o->quarantine) != 0) unlink(qtmp);
	}
	ig_tldset_free(&tlds);
	ig_feed_close(&rd);
	return ok;
}

/* ------------------------------------------------------------------ */

/** unpack a stored record (it was validated when stored) */
static ProtobufCMessage*
unpack(unsigned field, const MDB_val* v)
{
	const char* kt;
	return ig_feed_record_unpack(field, v->mv_data, v->mv_size, &kt);
}

int
state_write_snapshot(struct loader_state* s, struct ig_writer* w,
	uint64_t* counts, char* err, size_t errlen)
{
	MDB_txn* txn;
	MDB_cursor* c = NULL;
	MDB_val k, v;
	struct ig_rangeset rs = { NULL, 0, 0 };
	size_t merged;
	uint64_t n = 0;
	int db, ok = 0, rc;
	if(!env_ready(s) || mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn) != 0) {
		snprintf(err, errlen, "state: cannot begin a transaction");
		return 0;
	}
	/* TLDs first (they are a part of the name database), then the
	 * filings in key order, which the writer appends */
	static const int order[] = { DB_TLD, DB_FILING, DB_BLACKLIST,
		DB_REGDOMAIN, DB_REGISTRAR, DB_DOMESTIC };
	for(db = 0; db < 6; db++) {
		int d = order[db];
		unsigned field = (unsigned)d + 10;
		if(mdb_cursor_open(txn, s->dbi[d], &c) != 0) goto fail_db;
		ig_writer_set_sorted(w, d == DB_FILING);
		for(rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
			rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
			uint8_t wire[IG_NAME_MAX];
			ProtobufCMessage* m;
			int good = 1;
			if(d != DB_REGISTRAR && d != DB_DOMESTIC)
				key_to_wire(k.mv_data, k.mv_size, wire);
			if(d == DB_TLD) {
				if(!ig_writer_tld(w, wire)) {
					snprintf(err, errlen, "%s",
						ig_writer_error(w));
					goto fail;
				}
				n++;
				continue;
			}
			if(!(m = unpack(field, &v))) continue;
			if(d == DB_FILING) {
				Icpguard__Feed__Filing* r = (void*)m;
				struct ig_filing f;
				memset(&f, 0, sizeof(f));
				f.status = (enum ig_filing_status)
					ig_filing_status_parse(r->status);
				f.subject_type = (enum ig_subject_type)
					ig_subject_type_parse(r->subject_type);
				f.approved = r->approved;
				f.number = r->number;
				f.subject = r->subject;
				f.province = r->province;
				f.provider = r->provider;
				good = ig_writer_filing(w, wire, &f);
			} else if(d == DB_BLACKLIST) {
				Icpguard__Feed__BlacklistEntry* r = (void*)m;
				struct ig_blacklist b;
				b.subtree = r->subtree;
				b.added = r->added;
				b.reason = r->reason;
				b.source = r->source;
				good = ig_writer_blacklist(w, wire, &b);
			} else if(d == DB_REGDOMAIN) {
				Icpguard__Feed__RegDomain* r = (void*)m;
				struct ig_regdomain rd;
				rd.flags = (r->parking ? IG_REGDOMAIN_PARKING : 0)
					| (r->forwarding ?
					IG_REGDOMAIN_FORWARDING : 0) |
					(r->hold ? IG_REGDOMAIN_HOLD : 0);
				rd.registrar = r->registrar;
				rd.status = r->status;
				good = ig_writer_regdomain(w, wire, &rd);
			} else if(d == DB_REGISTRAR) {
				Icpguard__Feed__Registrar* r = (void*)m;
				struct ig_registrar g;
				size_t i;
				g.id = r->id;
				g.name = r->name;
				good = ig_writer_registrar(w, &g);
				for(i = 0; good && i < r->n_endpoint_ranges;
					i++) {
					struct ig_range rg;
					const char* e;
					if(ig_range_parse(r->endpoint_ranges[i],
						&rg, &e))
						good = ig_rangeset_add(&rs,
							IG_RANGE_REDIRECT, &rg,
							r->id);
				}
				for(i = 0; good && i < r->n_endpoint_hosts;
					i++) {
					size_t wl;
					const char* e;
					if(ig_name_from_text(r->endpoint_hosts[i],
						wire, &wl, &e))
						good = ig_writer_redirect_host(
							w, wire, r->id);
				}
			} else {
				Icpguard__Feed__DomesticRange* r = (void*)m;
				struct ig_range rg;
				const char* e;
				if(ig_range_parse(r->range, &rg, &e))
					good = ig_rangeset_add(&rs,
						IG_RANGE_DOMESTIC, &rg,
						r->source);
			}
			protobuf_c_message_free_unpacked(m, NULL);
			if(!good) {
				snprintf(err, errlen, "%s", ig_writer_error(w));
				goto fail;
			}
			if(++n % 1000000 == 0) {
				drop_map(s);
				ig_writer_release(w);
			}
		}
		mdb_cursor_close(c);
		c = NULL;
	}
	ig_writer_set_sorted(w, 0);
	if(!ig_rangeset_write(&rs, w, &merged)) {
		snprintf(err, errlen, "%s", ig_writer_error(w));
		goto fail;
	}
	/* the feed serials */
	if(mdb_cursor_open(txn, s->dbi[DB_FEED], &c) != 0) goto fail_db;
	for(rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
		rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		char mk[128], mv[32];
		json_t* j = json_loadb(v.mv_data, v.mv_size, 0, NULL);
		snprintf(mk, sizeof(mk), "source.%.*s", (int)(k.mv_size < 64 ?
			k.mv_size : 64), (const char*)k.mv_data);
		snprintf(mv, sizeof(mv), "%lld", (long long)json_integer_value(
			json_object_get(j, "serial")));
		json_decref(j);
		if(!ig_writer_meta(w, mk, mv)) {
			snprintf(err, errlen, "%s", ig_writer_error(w));
			goto fail;
		}
	}
	ok = 1;
	if(counts) *counts = n;
	goto fail;
fail_db:
	snprintf(err, errlen, "state: cannot read");
fail:
	if(c) mdb_cursor_close(c);
	mdb_txn_abort(txn);
	ig_rangeset_free(&rs);
	return ok;
}
