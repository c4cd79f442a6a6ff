/*
 * loader/state.c - the loader's durable feed state.
 *
 * \file
 * See state.h.  LMDB error codes stop here: callers get 0 and a message.
 */
#include "config.h"
#include "loader/state.h"
#include "loader/prewrite.h"
#include "lib/timefmt.h"
#include "lib/validate.h"
#include <errno.h>
#include <jansson.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/** record databases, indexed by Feed field number - 10 */
enum { DB_FILING, DB_REGISTRAR, DB_REGDOMAIN, DB_BLACKLIST, DB_DOMESTIC,
	DB_TLD, DB_FEED, DB_CHANGE, DB_N };
static const char* const db_names[DB_N] = { "filing", "registrar",
	"regdomain", "blacklist", "domestic", "tld", "feed", "change" };

/*
 * The change log (database "change") says which names a delta snapshot
 * must hold (docs/snapshot.md, "The delta layer"): name key -> two
 * little-endian u64, the filings and the blacklist serial whose delta last
 * changed the name (0: never).  Its floor, key CHANGE_FLOOR (a name key
 * never starts with 0), holds the two serials from which on the log is
 * complete: a full feed raises a feed's floor to its serial (it may have
 * changed anything), and so does pruning after a whole snapshot.  Written in
 * the transaction that applies the feed, so it never disagrees with the
 * records.
 */
#define CHANGE_FLOOR "\0floor"
#define CHANGE_FLOOR_LEN 6

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
		if(!ig_valid_registrar(r->id, r->name, rj)) return 0;
		return ig_valid_endpoints((const char* const*)r->endpoint_ranges,
			r->n_endpoint_ranges,
			(const char* const*)r->endpoint_hosts,
			r->n_endpoint_hosts, rj);
	}
	case 12: {
		Icpguard__Feed__RegDomain* d = (Icpguard__Feed__RegDomain*)m;
		return ig_valid_regdomain(d->domain, d->registrar, d->status,
			wire, rj);
	}
	case 13: {
		Icpguard__Feed__BlacklistEntry* b =
			(Icpguard__Feed__BlacklistEntry*)m;
		return ig_valid_blacklist_name(b->name, wire, rj) &&
			ig_valid_blacklist_texts(b->reason, b->source, rj);
	}
	case 14: {
		Icpguard__Feed__DomesticRange* d =
			(Icpguard__Feed__DomesticRange*)m;
		struct ig_range r;
		return ig_valid_range("range", d->range, &r, rj) &&
			ig_valid_len("source", d->source, IG_RANGE_OWNER_MAX,
			rj);
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
	/* the pages LMDB spilled from the transaction so far: on their way
	 * to disk now, so the commit's fdatasync waits for less */
	ig_env_writeback(s->env);
}

/** which half of a change log value a feed kind writes: 0 filings, 1
 * blacklist, -1 a kind a delta snapshot does not carry */
static int
change_half(Icpguard__Feed__Kind kind)
{
	if(kind == ICPGUARD__FEED__KIND__FILINGS) return 0;
	if(kind == ICPGUARD__FEED__KIND__BLACKLIST) return 1;
	return -1;
}

/** read a change log value (two serials) at key; 0 when absent */
static int
change_get(struct loader_state* s, MDB_txn* txn, const void* key,
	size_t kl, uint64_t* v)
{
	MDB_val k, d;
	v[0] = v[1] = 0;
	k.mv_data = (void*)key;
	k.mv_size = kl;
	if(mdb_get(txn, s->dbi[DB_CHANGE], &k, &d) != 0 || d.mv_size != 16)
		return 0;
	memcpy(v, d.mv_data, 16);
	return 1;
}

/** write a change log value */
static int
change_put(struct loader_state* s, MDB_txn* txn, const void* key,
	size_t kl, const uint64_t* v)
{
	MDB_val k, d;
	k.mv_data = (void*)key;
	k.mv_size = kl;
	d.mv_data = (void*)v;
	d.mv_size = 16;
	return mdb_put(txn, s->dbi[DB_CHANGE], &k, &d, 0) == 0;
}

/** a delta of kind at serial changed the name at key: log it */
static int
change_note(struct loader_state* s, MDB_txn* txn, Icpguard__Feed__Kind kind,
	const uint8_t* key, size_t kl, uint64_t serial)
{
	uint64_t v[2];
	int h = change_half(kind);
	if(h < 0 || kl == 0) return 1;
	(void)change_get(s, txn, key, kl, v);
	v[h] = serial;
	return change_put(s, txn, key, kl, v);
}

/** a full feed of kind at serial: the log is complete only from it on */
static int
change_floor_raise(struct loader_state* s, MDB_txn* txn,
	Icpguard__Feed__Kind kind, uint64_t serial)
{
	uint64_t v[2];
	int h = change_half(kind);
	if(h < 0) return 1;
	(void)change_get(s, txn, CHANGE_FLOOR, CHANGE_FLOOR_LEN, v);
	if(v[h] >= serial) return 1;
	v[h] = serial;
	return change_put(s, txn, CHANGE_FLOOR, CHANGE_FLOOR_LEN, v);
}

/** records checked per batch (two threads check a batch, then the
 * records are stored in file order) */
#define CHECK_BATCH 8192

/** one record of a batch and what its check found */
struct checked {
	/** the record as the reader gave it */
	const uint8_t* d;
	/** length */
	size_t dl;
	/** Feed field */
	unsigned field;
	/** 0 good (key set), 1 refused (rj set), 2 a removal (not checked) */
	int status;
	/** the storage key */
	size_t kl;
	/** bytes */
	uint8_t key[IG_FEED_KEY_MAX];
	/** why it was refused */
	struct ig_reject rj;
};

/** a batch being checked: a helper thread and the thread that stores
 * take chunks of it until none is left */
struct check_job {
	/** records */
	struct checked* v;
	/** how many */
	size_t n;
	/** the first record no thread has taken yet */
	atomic_size_t next;
	/** the feed's kind and the filable TLDs (read only) */
	Icpguard__Feed__Kind kind;
	/** TLDs */
	const struct ig_tldset* tlds;
};

/** read up to max records of the feed into v; @return how many */
static size_t
read_batch(struct ig_feed_reader* rd, struct checked* v, size_t max)
{
	size_t n = 0;
	unsigned field;
	const uint8_t* d;
	size_t dl;
	while(n < max && ig_feed_next(rd, &field, &d, &dl)) {
		v[n].field = field;
		v[n].d = d;
		v[n].dl = dl;
		n++;
	}
	return n;
}

/** records a thread takes at a time */
#define CHECK_CHUNK 256

/** check records from..to-1: decode, record checks, key; no state is
 * touched, so two threads do it at once */
static void
check_range(struct check_job* j, size_t from, size_t to,
	struct ig_unpack_arena* ar)
{
	size_t i;
	for(i = from; i < to; i++) {
		struct checked* c = &j->v[i];
		ProtobufCMessage* m;
		const char* kt;
		c->status = 1;
		ig_unpack_arena_reset(ar);
		if(c->field == 20 || c->field == 21) {
			c->status = 2;
			continue;
		}
		if(!field_of_kind(j->kind, c->field)) {
			ig_reject_set(&c->rj, NULL, "wrong_type", "a record of "
				"type %u in a %s feed", c->field,
				ig_feed_kind_name(j->kind));
			continue;
		}
		if(!(m = ig_feed_record_unpack(c->field, c->d, c->dl, ar,
			&kt))) {
			ig_reject_set(&c->rj, NULL, "undecodable", "record does "
				"not decode");
			continue;
		}
		if(!check_record(c->field, m, j->tlds, &c->rj))
			continue;
		if(!ig_feed_key(c->field, kt, c->key, &c->kl)) {
			ig_reject_set(&c->rj, NULL, "bad_key", "no usable key");
			continue;
		}
		c->status = 0;
	}
}

/** take chunks of a job until it is all taken (a thread's start) */
static void*
check_chunks(void* arg)
{
	struct check_job* j = arg;
	struct ig_unpack_arena ar;
	ig_unpack_arena_init(&ar);
	for(;;) {
		size_t from = atomic_fetch_add(&j->next, CHECK_CHUNK);
		if(from >= j->n) break;
		check_range(j, from, from + CHECK_CHUNK < j->n ?
			from + CHECK_CHUNK : j->n, &ar);
	}
	ig_unpack_arena_free(&ar);
	return NULL;
}

/** a batch's check, begun: a helper thread takes chunks of it while the
 * caller stores the previous batch, then the caller takes the rest
 * (check_end); two cores stay busy through the whole feed */
struct check_run {
	/** the job */
	struct check_job job;
	/** the helper, when it started */
	pthread_t helper;
	int helper_on;
};

/** begin checking v[0..n-1] with a helper thread (if one starts) */
static void
check_begin(struct check_run* r, struct checked* v, size_t n,
	Icpguard__Feed__Kind kind, const struct ig_tldset* tlds)
{
	r->job.v = v;
	r->job.n = n;
	atomic_init(&r->job.next, 0);
	r->job.kind = kind;
	r->job.tlds = tlds;
	r->helper_on = n >= 2 * CHECK_CHUNK &&
		pthread_create(&r->helper, NULL, check_chunks, &r->job) == 0;
}

/** finish the check: take what is left, wait for the helper */
static void
check_end(struct check_run* r)
{
	check_chunks(&r->job);
	if(r->helper_on) pthread_join(r->helper, NULL);
	r->helper_on = 0;
}

/** the file's size and digest against the signed statement; @return 1
 * when they are the signed ones, else 0 with the refusal */
static int
check_digest(struct apply_result* res, const char* shown,
	const struct ig_feed_stmt* st, uint64_t size, const uint8_t sha[32])
{
	if(size < st->size)
		return refuse(res, "truncated", "%s: truncated: %llu of %llu "
			"signed bytes", shown, (unsigned long long)size,
			(unsigned long long)st->size);
	if(size != st->size)
		return refuse(res, "digest_mismatch", "%s: %llu bytes, %llu "
			"signed", shown, (unsigned long long)size,
			(unsigned long long)st->size);
	if(memcmp(sha, st->sha256, 32) != 0)
		return refuse(res, "digest_mismatch", "%s: SHA-256 differs "
			"from the signed one (tampered)", shown);
	return 1;
}

/** a growing payload: wait for the download's end and check what it
 * wrote; @return 1 when it is the signed file, else 0 with the refusal
 * (code "download" when the download failed) */
static int
growing_settle(struct growing* g, struct apply_result* res,
	const char* shown, const struct ig_feed_stmt* st)
{
	uint64_t w;
	if(growing_wait(g, UINT64_MAX, &w) != GROWING_COMPLETE)
		return refuse(res, "download", "%s: the download did not "
			"complete", shown);
	return check_digest(res, shown, st, g->size, g->sha256);
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
	int first, ndb, i, ok = 0, delta, appendable[DB_N], settled = 0;
	struct checked* batch = NULL, *cur;
	struct check_run run = { .helper_on = 0 };
	struct prewrite* pw = NULL;
	size_t nb;
	unsigned field;
	const uint8_t* d;
	size_t dl;

	const char* shown = o->origin ? o->origin : payload;
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
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
	/* 2. the file is the one signed: a complete file is digested here
	 * first; a growing one is read as it arrives and its digest, taken
	 * by the download, is checked when the download ends, before
	 * anything read from it is committed (growing_settle) */
	if(!o->grow) {
		if(!ig_file_sha256(payload, sha, &size))
			return refuse(res, "io", "%s: cannot read", shown);
		if(!check_digest(res, shown, &st, size, sha)) return 0;
	}
	if(!(o->grow ? ig_feed_open_growing(&rd, payload, st.size, o->grow,
		&code, err, sizeof(err)) : ig_feed_open(&rd, payload, &code,
		err, sizeof(err)))) {
		/* the reader names the file it read, here the temporary
		 * download: name what the operator knows instead (the URL) */
		size_t pl = strlen(payload);
		if(strncmp(err, payload, pl) == 0)
			refuse(res, code, "%s%s", shown, err + pl);
		else refuse(res, code, "%s: %s", shown, err);
		goto done;
	}
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
	if(!delta && kind == ICPGUARD__FEED__KIND__FILINGS) pw = o->prewrite;
	res->verify_s = ig_seconds_since(&t0, 0);
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
	/* 4. the records */
	res->before = kind_count(s, txn, kind);
	if(!delta && !change_floor_raise(s, txn, kind, rd.serial)) {
		refuse(res, "io", "state: cannot write the change log");
		goto done;
	}
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
	if(!(batch = calloc(2 * CHECK_BATCH, sizeof(*batch)))) {
		refuse(res, "io", "out of memory");
		goto done;
	}
	/* records are read and checked a batch at a time (two threads),
	 * then stored, removed or quarantined in file order; the next batch
	 * is checked by a helper thread while this one is stored */
	nb = read_batch(&rd, batch, CHECK_BATCH);
	check_begin(&run, batch, nb, kind, &tlds);
	check_end(&run);
	for(cur = batch; nb > 0; ) {
		struct checked* next = cur == batch ? batch + CHECK_BATCH :
			batch;
		size_t nnext = read_batch(&rd, next, CHECK_BATCH), bi;
		check_begin(&run, next, nnext, kind, &tlds);
		for(bi = 0; bi < nb; bi++) {
			uint8_t key[IG_FEED_KEY_MAX];
			size_t kl;
			struct ig_reject rj;
			MDB_val k, v;
			int dup, db;
			struct checked* c = &cur[bi];
			field = c->field;
			d = c->d;
			dl = c->dl;
			pos++;
			if(c->status == 2) {
				char text[1024];
				unsigned rf = field == 21 ? 12 :
					(unsigned)(first + 10);
				snprintf(text, sizeof(text), "%.*s",
					(int)(dl < 1000 ? dl : 1000),
					(const char*)d);
				if(!delta || !ig_feed_key(rf, text, key, &kl)) {
					ig_reject_set(&rj, NULL,
						"bad_removal", "removal '%s' "
						"not applicable", text);
					goto reject;
				}
				k.mv_data = key;
				k.mv_size = kl;
				if(mdb_del(txn, s->dbi[rf - 10], &k, NULL)
					!= 0 || !change_note(s, txn, kind, key,
					kl, rd.serial)) {
					refuse(res, "delta_mismatch", "%s: "
						"record %llu removes '%s', "
						"which is not in force: the "
						"delta does not apply", shown,
						(unsigned long long)pos, text);
					goto done;
				}
				res->removed++;
				continue;
			}
			if(c->status == 1) {
				rj = c->rj;
				goto reject;
			}
			db = (int)field - 10;
			k.mv_data = c->key;
			k.mv_size = c->kl;
			v.mv_data = (void*)d;
			v.mv_size = dl;
			if(!put_record(txn, s->dbi[db], &k, &v, field == 10 &&
				!delta, &appendable[db], &dup) || (delta &&
				!change_note(s, txn, kind, c->key, c->kl,
				rd.serial))) {
				refuse(res, "io", "state: cannot store a "
					"record");
				goto done;
			}
			if(dup) {
				char t[1024];
				ig_name_key_to_text(c->key, c->kl, t,
					sizeof(t));
				t[strlen(t) - 1] = 0;
				ig_reject_filed_twice(&rj, t);
				goto reject;
			}
			if(pw && field == 10 && !prewrite_filing(pw, c->key,
				c->kl, d, dl))
				pw = NULL; /* its writer failed: the publish
					    * copies from the state */
			if(++res->loaded % 1000000 == 0) drop_map(s);
			continue;
		reject:
			res->rejected++;
			count_code(res, rj.code);
			quarantine(q, feed, rd.serial, o->origin, pos, NULL,
				&rj);
		}
		check_end(&run);
		cur = next;
		nb = nnext;
	}
	/* 5. whole-feed checks: a growing file is complete and the signed
	 * one, its structure whole, its records the header's count */
	if(o->grow && !growing_settle(o->grow, res, shown, &st)) {
		settled = 1;
		goto done;
	}
	settled = 1;
	if(rd.bad) {
		refuse(res, "malformed", "%s: malformed or truncated at byte "
			"%zu of %zu", shown, rd.bad_at, rd.maplen);
		goto done;
	}
	if(!delta && rd.nrecords != rd.record_count) {
		refuse(res, "truncated", "%s: %llu records, the header says "
			"%llu", shown, (unsigned long long)rd.nrecords,
			(unsigned long long)rd.record_count);
		goto done;
	}
	res->after = kind_count(s, txn, kind);
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
	res->prewritten = pw != NULL;
	ok = 1;
done:
	/* a refusal while the next batch was being checked: the helper
	 * still reads the batch and the feed's map */
	if(run.helper_on) check_end(&run);
	/* the prewrite's thread reads records in the feed's map */
	if(o->prewrite) (void)prewrite_wait(o->prewrite);
	if(txn) mdb_txn_abort(txn);
	/* a growing file refused before its end: a file that is not the
	 * signed one is the refusal, whatever was found in it */
	if(!ok && o->grow && !settled)
		(void)growing_settle(o->grow, res, shown, &st);
	if(q) {
		fclose(q);
		/* records of a file that is not the signed one are nobody's:
		 * no report of them */
		if((res->code && (!strcmp(res->code, "download") ||
			!strcmp(res->code, "digest_mismatch") ||
			!strcmp(res->code, "truncated"))) ||
			rename(qtmp, o->quarantine) != 0)
			unlink(qtmp);
	}
	ig_tldset_free(&tlds);
	ig_feed_close(&rd);
	free(batch);
	return ok;
}

/* ------------------------------------------------------------------ */

/** unpack a stored record (it was validated when stored) into an arena
 * (it lives until the arena's next reset) */
static ProtobufCMessage*
unpack(unsigned field, const MDB_val* v, struct ig_unpack_arena* ar)
{
	const char* kt;
	ig_unpack_arena_reset(ar);
	return ig_feed_record_unpack(field, v->mv_data, v->mv_size, ar, &kt);
}

/** write a stored filing record (unpacked) at a wire name */
static int
write_filing(struct ig_writer* w, const uint8_t* wire, ProtobufCMessage* m)
{
	Icpguard__Feed__Filing* r = (void*)m;
	struct ig_filing f;
	memset(&f, 0, sizeof(f));
	f.status = (enum ig_filing_status)ig_filing_status_parse(r->status);
	f.subject_type = (enum ig_subject_type)ig_subject_type_parse(
		r->subject_type);
	f.approved = r->approved;
	f.number = r->number;
	f.subject = r->subject;
	f.province = r->province;
	f.provider = r->provider;
	return ig_writer_filing(w, wire, &f);
}

int
state_filing_to_writer(struct ig_writer* w, const uint8_t* key, size_t kl,
	const uint8_t* rec, size_t rl, struct ig_unpack_arena* ar)
{
	uint8_t wire[IG_NAME_MAX];
	MDB_val v;
	ProtobufCMessage* m;
	v.mv_data = (void*)rec;
	v.mv_size = rl;
	if(!(m = unpack(10, &v, ar))) return 1;
	key_to_wire(key, kl, wire);
	return write_filing(w, wire, m);
}

/** write a stored blacklist record (unpacked) at a wire name */
static int
write_blacklist(struct ig_writer* w, const uint8_t* wire, ProtobufCMessage* m)
{
	Icpguard__Feed__BlacklistEntry* r = (void*)m;
	struct ig_blacklist b;
	b.subtree = r->subtree;
	b.added = r->added;
	b.reason = r->reason;
	b.source = r->source;
	return ig_writer_blacklist(w, wire, &b);
}

/** meta source.KIND: each feed's serial in the state */
static int
write_sources(struct loader_state* s, MDB_txn* txn, struct ig_writer* w,
	char* err, size_t errlen)
{
	MDB_cursor* c;
	MDB_val k, v;
	int rc, ok = 1;
	if(mdb_cursor_open(txn, s->dbi[DB_FEED], &c) != 0) {
		snprintf(err, errlen, "state: cannot read");
		return 0;
	}
	for(rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0 && ok;
		rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		char mk[128], mv[32];
		json_t* j = json_loadb(v.mv_data, v.mv_size, 0, NULL);
		snprintf(mk, sizeof(mk), "source.%.*s", (int)(k.mv_size < 64 ?
			k.mv_size : 64), (const char*)k.mv_data);
		snprintf(mv, sizeof(mv), "%lld", (long long)json_integer_value(
			json_object_get(j, "serial")));
		json_decref(j);
		if(!(ok = ig_writer_meta(w, mk, mv)))
			snprintf(err, errlen, "%s", ig_writer_error(w));
	}
	mdb_cursor_close(c);
	return ok;
}

/**
 * The records a delta snapshot holds at one changed name: the override
 * (a removal mark when the state has neither), then the state's filing
 * and blacklist entry there, if any.
 */
static int
write_delta_name(struct loader_state* s, MDB_txn* txn, struct ig_writer* w,
	const MDB_val* key, int mark_changed, struct ig_unpack_arena* ar)
{
	static const int dbs[2] = { DB_FILING, DB_BLACKLIST };
	uint8_t wire[IG_NAME_MAX];
	int i;
	key_to_wire(key->mv_data, key->mv_size, wire);
	if(!ig_writer_delta_name(w, wire)) return 0;
	for(i = 0; i < 2; i++) {
		MDB_val k = *key, v;
		ProtobufCMessage* m;
		int good;
		if(mdb_get(txn, s->dbi[dbs[i]], &k, &v) != 0) continue;
		if(!(m = unpack((unsigned)dbs[i] + 10, &v, ar))) continue;
		good = i == 0 ? write_filing(w, wire, m) :
			write_blacklist(w, wire, m);
		if(!good) return 0;
	}
	return !mark_changed || ig_writer_changed(w, wire, 1);
}

int
state_write_delta(struct loader_state* s, struct ig_writer* w,
	uint64_t filings, uint64_t blacklist, uint64_t max, int mark_changed,
	uint64_t* names, char* err, size_t errlen)
{
	MDB_txn* txn;
	MDB_cursor* c = NULL;
	MDB_val k, v;
	uint64_t floor[2], n = 0;
	int rc, ret = STATE_DELTA_FAILED;
	struct ig_unpack_arena ar;
	*names = 0;
	if(!env_ready(s) || mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn) != 0) {
		snprintf(err, errlen, "state: cannot begin a transaction");
		return STATE_DELTA_FAILED;
	}
	ig_unpack_arena_init(&ar);
	(void)change_get(s, txn, CHANGE_FLOOR, CHANGE_FLOOR_LEN, floor);
	if(filings < floor[0] || blacklist < floor[1]) {
		snprintf(err, errlen, "the change log does not reach back "
			"to serials %llu (filings) / %llu (blacklist): a full "
			"feed or a whole snapshot came since",
			(unsigned long long)filings,
			(unsigned long long)blacklist);
		ret = STATE_DELTA_FULL;
		goto done;
	}
	if(mdb_cursor_open(txn, s->dbi[DB_CHANGE], &c) != 0) {
		snprintf(err, errlen, "state: cannot read the change log");
		goto done;
	}
	for(rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
		rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		uint64_t at[2];
		if(v.mv_size != 16 || ((uint8_t*)k.mv_data)[0] == 0) continue;
		memcpy(at, v.mv_data, 16);
		if(at[0] <= filings && at[1] <= blacklist) continue;
		if(++n > max) {
			snprintf(err, errlen, "more than %llu names changed",
				(unsigned long long)max);
			ret = STATE_DELTA_LARGE;
			goto done;
		}
		if(w && !write_delta_name(s, txn, w, &k, mark_changed, &ar)) {
			snprintf(err, errlen, "%s", ig_writer_error(w));
			goto done;
		}
	}
	if(w && !write_sources(s, txn, w, err, errlen)) goto done;
	*names = n;
	ret = STATE_DELTA_OK;
done:
	if(c) mdb_cursor_close(c);
	mdb_txn_abort(txn);
	ig_unpack_arena_free(&ar);
	return ret;
}

int
state_prune_changes(struct loader_state* s, uint64_t filings,
	uint64_t blacklist)
{
	MDB_txn* txn;
	MDB_cursor* c;
	MDB_val k, v;
	uint64_t floor[2];
	int rc;
	if(!env_ready(s) || mdb_txn_begin(s->env, NULL, 0, &txn) != 0)
		return 0;
	if(mdb_cursor_open(txn, s->dbi[DB_CHANGE], &c) != 0) {
		mdb_txn_abort(txn);
		return 0;
	}
	for(rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
		rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		uint64_t at[2];
		if(v.mv_size != 16 || ((uint8_t*)k.mv_data)[0] == 0) continue;
		memcpy(at, v.mv_data, 16);
		if(at[0] <= filings && at[1] <= blacklist &&
			mdb_cursor_del(c, 0) != 0)
			break;
	}
	mdb_cursor_close(c);
	(void)change_get(s, txn, CHANGE_FLOOR, CHANGE_FLOOR_LEN, floor);
	if(floor[0] < filings) floor[0] = filings;
	if(floor[1] < blacklist) floor[1] = blacklist;
	if(!change_put(s, txn, CHANGE_FLOOR, CHANGE_FLOOR_LEN, floor)) {
		mdb_txn_abort(txn);
		return 0;
	}
	return mdb_txn_commit(txn) == 0;
}

int
state_write_snapshot(struct loader_state* s, struct ig_writer* w,
	int with_filings, uint64_t* counts, char* err, size_t errlen)
{
	MDB_txn* txn;
	MDB_cursor* c = NULL;
	MDB_val k, v;
	struct ig_rangeset rs = { NULL, 0, 0 };
	struct ig_unpack_arena ar;
	size_t merged;
	uint64_t n = 0;
	int db, ok = 0, rc;
	if(!env_ready(s) || mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn) != 0) {
		snprintf(err, errlen, "state: cannot begin a transaction");
		return 0;
	}
	ig_unpack_arena_init(&ar);
	/* the filings first, in key order, which the writer appends; then
	 * the TLDs (a part of the name database too; a handful of inserts).
	 * TLDs first made every filing key below the last TLD's key ("\x0axn--
	 * fiqs8s" above all of cn, com, ...) miss the append and fall back to
	 * an insert: a third more time and half-empty pages (issue 20) */
	static const int order[] = { DB_FILING, DB_TLD, DB_BLACKLIST,
		DB_REGDOMAIN, DB_REGISTRAR, DB_DOMESTIC };
	for(db = 0; db < 6; db++) {
		int d = order[db];
		unsigned field = (unsigned)d + 10;
		if(d == DB_FILING && !with_filings) continue;
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
			if(!(m = unpack(field, &v, &ar))) continue;
			if(d == DB_FILING) {
				good = write_filing(w, wire, m);
			} else if(d == DB_BLACKLIST) {
				good = write_blacklist(w, wire, m);
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
			if(!good) {
				snprintf(err, errlen, "%s", ig_writer_error(w));
				goto fail;
			}
			if(++n % 1000000 == 0) {
				drop_map(s);
				ig_writer_release(w);
			}
		}
		/* the end of the database, or a read error: not the same */
		if(rc != MDB_NOTFOUND) {
			snprintf(err, errlen, "state: cannot read %s: %s",
				db_names[d], mdb_strerror(rc));
			goto fail;
		}
		mdb_cursor_close(c);
		c = NULL;
	}
	ig_writer_set_sorted(w, 0);
	if(!ig_rangeset_write(&rs, w, &merged)) {
		snprintf(err, errlen, "%s", ig_writer_error(w));
		goto fail;
	}
	if(!write_sources(s, txn, w, err, errlen)) goto fail;
	ok = 1;
	if(counts) *counts = n;
	goto fail;
fail_db:
	snprintf(err, errlen, "state: cannot read");
fail:
	if(c) mdb_cursor_close(c);
	mdb_txn_abort(txn);
	ig_rangeset_free(&rs);
	ig_unpack_arena_free(&ar);
	return ok;
}
