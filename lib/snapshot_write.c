/*
 * lib/snapshot_write.c - build a snapshot and publish it atomically.
 *
 * \file
 * The writer fills "PATH.tmp.PID" in one write transaction, then writes the
 * meta records (counts, serial, creation time, content hash), syncs the
 * file, renames it over PATH and syncs the directory, the way NSD
 * publishes its database.  A crash at any point leaves either the old file
 * or the new one at PATH, never a mix, and at worst a stale temporary.
 */
#include "lib/snapshot.h"
#include "lib/limits.h"
#include "lib/name_index.h"
#include "lib/record.h"
#include "lib/timefmt.h"
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

/** counters kept for meta "count.*" */
enum ig_count {
	C_FILING, C_BLACKLIST, C_ORDER, C_EXEMPT, C_DOMESTIC, C_REDIRECT,
	C_REDIRECT_HOST, C_REGISTRAR, C_REGDOMAIN, C_TLD, C_CHANGED, C_MAX
};
static const char* const count_names[C_MAX] = {
	"filing", "blacklist", "order", "exempt", "range.domestic",
	"range.redirect", "redirect_host", "registrar", "regdomain", "tld",
	"changed"
};

/** a snapshot being built */
struct ig_writer {
	/** final path */
	char* path;
	/** temporary path */
	char* tmp;
	/** environment */
	MDB_env* env;
	/** the one write transaction */
	MDB_txn* txn;
	/** handles */
	MDB_dbi dbi[IG_DB_COUNT];
	/** puts arrive sorted: use MDB_APPEND */
	int sorted;
	/** ig_writer_set_times: filled by the publish, or NULL */
	struct ig_publish_times* times;
	/** the greatest key in the name database so far (LMDB's order), so
	 * that a sorted load need not look up each new key first */
	uint8_t name_max[IG_LMDB_KEY_MAX];
	/** its length; 0 while the database is empty */
	size_t name_maxlen;
	/** 0: publish without fsync (ig_writer_set_durable) */
	int nosync;
	/** the public suffix list was added */
	int psl_done;
	/** counts */
	uint64_t count[C_MAX];
	/** a range repeated the kind and last address of an earlier one
	 * (an overlap the range key cannot hold): its kind, 0 if none */
	uint8_t range_dup_kind;
	/** that last address */
	struct ig_addr range_dup_last;
	/** last error */
	char err[512];
};

/** fail with an LMDB code */
static int
lmdb_fail(struct ig_writer* w, const char* what, int rc)
{
	snprintf(w->err, sizeof(w->err), "%s: %s: %s", w->tmp, what,
		mdb_strerror(rc));
	return 0;
}

struct ig_writer*
ig_writer_create(const char* path, size_t mapsize, char* err, size_t errlen)
{
	struct ig_writer* w = calloc(1, sizeof(*w));
	size_t tl = strlen(path) + 32;
	int rc, i;
	if(!w || !(w->path = strdup(path)) || !(w->tmp = malloc(tl))) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	snprintf(w->tmp, tl, "%s.tmp.%d", path, (int)getpid());
	unlink(w->tmp);
	if((rc = mdb_env_create(&w->env)) != 0 ||
		(rc = mdb_env_set_maxdbs(w->env, IG_DB_COUNT + 1)) != 0 ||
		(rc = mdb_env_set_mapsize(w->env, mapsize ? mapsize :
			((size_t)64 << 30))) != 0) {
		snprintf(err, errlen, "%s: %s", w->tmp, mdb_strerror(rc));
		goto fail;
	}
	if((rc = mdb_env_open(w->env, w->tmp, MDB_NOSUBDIR | MDB_NOLOCK |
		MDB_NOSYNC, 0644)) != 0) {
		snprintf(err, errlen, "%s: cannot create: %s", w->tmp,
			mdb_strerror(rc));
		goto fail;
	}
	if((rc = mdb_txn_begin(w->env, NULL, 0, &w->txn)) != 0) {
		snprintf(err, errlen, "%s: %s", w->tmp, mdb_strerror(rc));
		goto fail;
	}
	for(i = 0; i < IG_DB_COUNT; i++) {
		unsigned fl = MDB_CREATE |
			(i == IG_DB_ORDER_TARGET ? MDB_DUPSORT : 0);
		if((rc = mdb_dbi_open(w->txn, ig_db_name((enum ig_db)i), fl,
			&w->dbi[i])) != 0) {
			snprintf(err, errlen, "%s: %s", w->tmp,
				mdb_strerror(rc));
			goto fail;
		}
	}
	return w;
fail:
	ig_writer_abort(w);
	return NULL;
}

void
ig_writer_abort(struct ig_writer* w)
{
	if(!w) return;
	if(w->txn) mdb_txn_abort(w->txn);
	if(w->env) mdb_env_close(w->env);
	if(w->tmp) unlink(w->tmp);
	free(w->path);
	free(w->tmp);
	free(w);
}

void
ig_writer_set_sorted(struct ig_writer* w, int sorted)
{
	w->sorted = sorted;
}

void
ig_writer_set_psl(struct ig_writer* w, int with)
{
	w->psl_done = !with;
}

void
ig_writer_set_durable(struct ig_writer* w, int durable)
{
	w->nosync = !durable;
}

void
ig_writer_set_times(struct ig_writer* w, struct ig_publish_times* t)
{
	w->times = t;
	if(t) memset(t, 0, sizeof(*t));
}

const char*
ig_writer_error(const struct ig_writer* w)
{
	return w->err;
}

/** put a key/value; flags may add MDB_APPEND; overwrites */
static int
wput(struct ig_writer* w, enum ig_db db, const void* key, size_t keylen,
	const void* val, size_t vallen, unsigned flags)
{
	MDB_val k, v;
	int rc;
	k.mv_data = (void*)key;
	k.mv_size = keylen;
	v.mv_data = (void*)val;
	v.mv_size = vallen;
	if(keylen == 0 || keylen > IG_LMDB_KEY_MAX) {
		snprintf(w->err, sizeof(w->err), "key of %zu bytes in '%s'",
			keylen, ig_db_name(db));
		return 0;
	}
	rc = mdb_put(w->txn, w->dbi[db], &k, &v, flags);
	if(rc == MDB_KEYEXIST && (flags & (MDB_APPEND|MDB_APPENDDUP))) {
		/* not in order after all: insert normally */
		rc = mdb_put(w->txn, w->dbi[db], &k, &v,
			flags & ~(unsigned)(MDB_APPEND|MDB_APPENDDUP));
	}
	if(rc != 0) return lmdb_fail(w, ig_db_name(db), rc);
	return 1;
}

/** 1 when key a sorts after key b in LMDB's default order (bytes, then
 * the shorter first) */
static int
key_after(const uint8_t* a, size_t al, const uint8_t* b, size_t bl)
{
	int c = memcmp(a, b, al < bl ? al : bl);
	return c > 0 || (c == 0 && al > bl);
}

/**
 * Set flags at a name, merging with what is there; with a filing, the
 * filing replaces any earlier one.
 */
static int
name_set(struct ig_writer* w, const uint8_t* key, size_t keylen,
	unsigned flag, const struct ig_filing* f)
{
	uint8_t buf[IG_FILING_RECORD_MAX];
	struct ig_enc e = { buf, sizeof(buf), 0, 0 };
	MDB_val k, old;
	unsigned flags = flag;
	const uint8_t* oldfiling = NULL;
	size_t oldfilinglen = 0;
	int exists;
	k.mv_data = (void*)key;
	k.mv_size = keylen;
	/* above every key so far (a sorted load: each one), it is new: no
	 * lookup from the root for each of ten million names */
	if(w->name_maxlen && key_after(key, keylen, w->name_max,
		w->name_maxlen))
		exists = 0;
	else exists = (mdb_get(w->txn, w->dbi[IG_DB_NAME], &k, &old) == 0 &&
		old.mv_size >= 1);
	if(exists) {
		flags |= ((uint8_t*)old.mv_data)[0];
		if(!f && (flags & IG_NAME_FILING)) {
			oldfiling = (uint8_t*)old.mv_data + 1;
			oldfilinglen = old.mv_size - 1;
		}
	}
	ig_enc_u8(&e, (uint8_t)flags);
	if(f) {
		ig_enc_u8(&e, (uint8_t)f->status);
		ig_enc_u8(&e, (uint8_t)f->subject_type);
		ig_enc_i64(&e, f->approved);
		ig_enc_str(&e, f->number);
		ig_enc_str(&e, f->subject);
		ig_enc_str(&e, f->province);
		ig_enc_str(&e, f->provider);
	} else if(oldfiling) {
		ig_enc_bytes(&e, oldfiling, oldfilinglen);
	}
	if(e.overflow) {
		snprintf(w->err, sizeof(w->err), "filing record too large "
			"(more than %d bytes)", IG_FILING_RECORD_MAX);
		return 0;
	}
	if(!wput(w, IG_DB_NAME, key, keylen, buf, e.len,
		(!exists && w->sorted) ? MDB_APPEND : 0))
		return 0;
	if(!w->name_maxlen || key_after(key, keylen, w->name_max,
		w->name_maxlen)) {
		memcpy(w->name_max, key, keylen);
		w->name_maxlen = keylen;
	}
	return 1;
}

int
ig_writer_filing(struct ig_writer* w, const uint8_t* wire,
	const struct ig_filing* f)
{
	uint8_t key[IG_KEY_MAX];
	size_t kl = ig_name_wire_to_key(wire, key, NULL, NULL);
	if(!name_set(w, key, kl, IG_NAME_FILING, f)) return 0;
	w->count[C_FILING]++;
	return 1;
}

int
ig_writer_delta_base(struct ig_writer* w, const struct ig_snapshot_info* base)
{
	char buf[32];
	w->psl_done = 1; /* the base has the suffix list */
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)base->serial);
	return ig_writer_meta(w, "delta.base.serial", buf) &&
		ig_writer_meta(w, "delta.base.hash", base->hash);
}

int
ig_writer_delta_name(struct ig_writer* w, const uint8_t* wire)
{
	uint8_t key[IG_KEY_MAX];
	size_t kl = ig_name_wire_to_key(wire, key, NULL, NULL);
	/* flags 0: a record that says "nothing here"; the filing and
	 * blacklist writers merge their flags into it */
	return name_set(w, key, kl, 0, NULL);
}

int
ig_writer_blacklist(struct ig_writer* w, const uint8_t* wire,
	const struct ig_blacklist* b)
{
	uint8_t key[IG_KEY_MAX], buf[IG_BLACKLIST_RECORD_MAX];
	struct ig_enc e = { buf, sizeof(buf), 0, 0 };
	size_t kl = ig_name_wire_to_key(wire, key, NULL, NULL);
	ig_enc_u8(&e, (uint8_t)(b->subtree ? 1 : 0));
	ig_enc_i64(&e, b->added);
	ig_enc_str(&e, b->reason);
	ig_enc_str(&e, b->source);
	if(e.overflow) {
		snprintf(w->err, sizeof(w->err), "blacklist entry too large "
			"(more than %d bytes)", IG_BLACKLIST_RECORD_MAX);
		return 0;
	}
	if(!wput(w, IG_DB_BLACKLIST, key, kl, buf, e.len, 0) ||
		!name_set(w, key, kl, IG_NAME_BLACKLIST, NULL))
		return 0;
	w->count[C_BLACKLIST]++;
	return 1;
}

int
ig_writer_exempt(struct ig_writer* w, const uint8_t* wire,
	const struct ig_exempt* x)
{
	uint8_t key[IG_KEY_MAX], buf[IG_EXEMPT_RECORD_MAX];
	struct ig_enc e = { buf, sizeof(buf), 0, 0 };
	size_t kl = ig_name_wire_to_key(wire, key, NULL, NULL);
	ig_enc_u8(&e, (uint8_t)(x->subtree ? 1 : 0));
	ig_enc_str(&e, x->note);
	if(e.overflow) {
		snprintf(w->err, sizeof(w->err), "exemption note too long");
		return 0;
	}
	if(!wput(w, IG_DB_EXEMPT, key, kl, buf, e.len, 0) ||
		!name_set(w, key, kl, IG_NAME_EXEMPT, NULL))
		return 0;
	w->count[C_EXEMPT]++;
	return 1;
}

size_t
ig_order_targets_encode(const char* const* names, const int* subtree,
	unsigned n, uint8_t* buf, size_t buflen)
{
	struct ig_enc e = { buf, buflen, 0, 0 };
	unsigned i;
	for(i = 0; i < n; i++) {
		ig_enc_u8(&e, (uint8_t)(subtree[i] ? 1 : 0));
		ig_enc_str(&e, names[i]);
	}
	return e.overflow ? 0 : e.len;
}

int
ig_writer_order(struct ig_writer* w, const struct ig_order* o)
{
	uint8_t buf[IG_ORDER_RECORD_MAX];
	struct ig_enc e = { buf, sizeof(buf), 0, 0 };
	size_t pos = 0, tlen = 0;
	const char* tname;
	int subtree;
	{
		size_t p = 0;
		const char* nm;
		int st;
		while(ig_order_target_next(o, &p, &nm, &st))
			tlen = p;
	}
	ig_enc_str(&e, o->id);
	ig_enc_str(&e, o->doc_no);
	ig_enc_str(&e, o->unit);
	ig_enc_str(&e, o->reason);
	ig_enc_i64(&e, o->effective);
	ig_enc_i64(&e, o->expiry);
	ig_enc_i64(&e, o->lifted);
	ig_enc_u16(&e, (uint16_t)o->ntargets);
	ig_enc_bytes(&e, o->targets, tlen);
	if(e.overflow || o->ntargets > IG_ORDER_MAX_TARGETS) {
		snprintf(w->err, sizeof(w->err), "order %s too large (more "
			"than %d bytes or %d targets)", o->id,
			IG_ORDER_RECORD_MAX, IG_ORDER_MAX_TARGETS);
		return 0;
	}
	if(!wput(w, IG_DB_ORDER, o->id, strlen(o->id), buf, e.len, 0))
		return 0;
	while(ig_order_target_next(o, &pos, &tname, &subtree)) {
		uint8_t wire[IG_NAME_MAX], key[IG_KEY_MAX],
			val[IG_ORDER_TARGET_RECORD_MAX];
		size_t wl, kl, il = strlen(o->id);
		const char* err;
		if(!ig_name_from_text(tname, wire, &wl, &err)) {
			snprintf(w->err, sizeof(w->err), "order %s target '%s':"
				" %s", o->id, tname, err);
			return 0;
		}
		if(il + 1 > sizeof(val)) {
			snprintf(w->err, sizeof(w->err), "order id too long");
			return 0;
		}
		kl = ig_name_wire_to_key(wire, key, NULL, NULL);
		val[0] = (uint8_t)(subtree ? 1 : 0);
		memcpy(val + 1, o->id, il);
		if(!wput(w, IG_DB_ORDER_TARGET, key, kl, val, il + 1, 0) ||
			!name_set(w, key, kl, IG_NAME_ORDER, NULL))
			return 0;
	}
	w->count[C_ORDER]++;
	return 1;
}

int
ig_writer_range(struct ig_writer* w, enum ig_range_kind kind,
	const struct ig_range* r, const char* owner)
{
	uint8_t key[17], buf[IG_RANGE_RECORD_MAX];
	struct ig_enc e = { buf, sizeof(buf), 0, 0 };
	key[0] = (uint8_t)kind;
	memcpy(key + 1, r->last.b, 16);
	ig_enc_bytes(&e, r->first.b, 16);
	ig_enc_str(&e, owner);
	if(e.overflow) {
		snprintf(w->err, sizeof(w->err), "range owner too long");
		return 0;
	}
	{
		/* ranges are keyed by kind and last address: a second range
		 * ending at the same address overlaps the first and would
		 * silently replace it; keep the first, fail at publish */
		MDB_val k, old;
		k.mv_data = key;
		k.mv_size = sizeof(key);
		if(mdb_get(w->txn, w->dbi[IG_DB_RANGE], &k, &old) == 0) {
			if(!w->range_dup_kind) {
				w->range_dup_kind = (uint8_t)kind;
				w->range_dup_last = r->last;
			}
			return 1;
		}
	}
	if(!wput(w, IG_DB_RANGE, key, sizeof(key), buf, e.len,
		w->sorted ? MDB_APPEND : 0))
		return 0;
	w->count[kind == IG_RANGE_DOMESTIC ? C_DOMESTIC : C_REDIRECT]++;
	return 1;
}

int
ig_writer_redirect_host(struct ig_writer* w, const uint8_t* wire,
	const char* registrar)
{
	uint8_t key[IG_KEY_MAX], buf[IG_REDIRECT_HOST_RECORD_MAX];
	struct ig_enc e = { buf, sizeof(buf), 0, 0 };
	size_t kl = ig_name_wire_to_key(wire, key, NULL, NULL);
	ig_enc_str(&e, registrar);
	if(e.overflow) {
		snprintf(w->err, sizeof(w->err), "registrar id too long");
		return 0;
	}
	if(!wput(w, IG_DB_REDIRECT_HOST, key, kl, buf, e.len, 0) ||
		!name_set(w, key, kl, IG_NAME_REDIRECT, NULL))
		return 0;
	w->count[C_REDIRECT_HOST]++;
	return 1;
}

int
ig_writer_registrar(struct ig_writer* w, const struct ig_registrar* r)
{
	uint8_t buf[IG_REGISTRAR_RECORD_MAX];
	struct ig_enc e = { buf, sizeof(buf), 0, 0 };
	ig_enc_str(&e, r->id);
	ig_enc_str(&e, r->name);
	if(e.overflow) {
		snprintf(w->err, sizeof(w->err), "registrar record too large");
		return 0;
	}
	if(!wput(w, IG_DB_REGISTRAR, r->id, strlen(r->id), buf, e.len, 0))
		return 0;
	w->count[C_REGISTRAR]++;
	return 1;
}

int
ig_writer_regdomain(struct ig_writer* w, const uint8_t* wire,
	const struct ig_regdomain* d)
{
	uint8_t key[IG_KEY_MAX], buf[IG_REGDOMAIN_RECORD_MAX];
	struct ig_enc e = { buf, sizeof(buf), 0, 0 };
	size_t kl = ig_name_wire_to_key(wire, key, NULL, NULL);
	ig_enc_u8(&e, (uint8_t)d->flags);
	ig_enc_str(&e, d->registrar);
	ig_enc_str(&e, d->status);
	if(e.overflow) {
		snprintf(w->err, sizeof(w->err), "registrar domain too large");
		return 0;
	}
	if(!wput(w, IG_DB_REGDOMAIN, key, kl, buf, e.len, 0)) return 0;
	w->count[C_REGDOMAIN]++;
	return 1;
}

int
ig_writer_tld(struct ig_writer* w, const uint8_t* wire)
{
	uint8_t key[IG_KEY_MAX];
	size_t kl = ig_name_wire_to_key(wire, key, NULL, NULL);
	if(!name_set(w, key, kl, IG_NAME_TLD, NULL)) return 0;
	w->count[C_TLD]++;
	return 1;
}

int
ig_writer_changed(struct ig_writer* w, const uint8_t* wire, int subtree)
{
	uint8_t key[IG_KEY_MAX], v = (uint8_t)(subtree ? 1 : 0);
	size_t kl = ig_name_wire_to_key(wire, key, NULL, NULL);
	if(kl == 0) return ig_writer_meta(w, "changed_all", "1");
	if(!wput(w, IG_DB_CHANGED, key, kl, &v, 1, 0)) return 0;
	w->count[C_CHANGED]++;
	return 1;
}

int
ig_writer_meta(struct ig_writer* w, const char* key, const char* value)
{
	return wput(w, IG_DB_META, key, strlen(key), value, strlen(value) + 1,
		0);
}

/** the public suffix list, as the publicsuffix package ships it */
#define IG_PSL_FILE "/usr/share/publicsuffix/public_suffix_list.dat"

/**
 * Put the public suffix list into the name database: IG_NAME_SUFFIX on
 * each exact rule, IG_NAME_SUFFIX_WILD on the parent of each wildcard
 * rule, the exception rules as meta "psl.exceptions".  A verdict then
 * knows whether a name is a public suffix from the flags its walk already
 * read, without libpsl.  Added once, before the diff and the hash; a
 * missing list leaves meta "psl" unset and the verdict asks libpsl.
 * ($ICPGUARD_PSL_FILE overrides the file.)
 */
static int
psl_add(struct ig_writer* w)
{
	const char* path = getenv("ICPGUARD_PSL_FILE");
	FILE* in;
	char line[512], *exc = NULL;
	size_t exclen = 0;
	int ok = 1;
	if(w->psl_done) return 1;
	w->psl_done = 1;
	if(!path || !*path) path = IG_PSL_FILE;
	if(!(in = fopen(path, "r"))) return 1;
	while(ok && fgets(line, sizeof(line), in)) {
		char* r = line, *e;
		uint8_t wire[IG_NAME_MAX], key[IG_KEY_MAX];
		size_t wl, kl;
		const char* why;
		unsigned flag = IG_NAME_SUFFIX;
		while(*r == ' ' || *r == '\t') r++;
		if(*r == 0 || *r == '\n' || (r[0] == '/' && r[1] == '/'))
			continue;
		for(e = r; *e && *e != ' ' && *e != '\t' && *e != '\n' &&
			*e != '\r'; e++)
			;
		*e = 0;
		if(r[0] == '!') {
			size_t l = strlen(r + 1);
			char* n = realloc(exc, exclen + l + 2);
			if(!n) { ok = 0; break; }
			exc = n;
			memcpy(exc + exclen, r + 1, l);
			exclen += l;
			exc[exclen++] = '\n';
			exc[exclen] = 0;
			continue;
		}
		if(r[0] == '*' && r[1] == '.') {
			r += 2;
			flag = IG_NAME_SUFFIX_WILD;
		} else if(strchr(r, '*')) continue;
		if(!ig_name_from_text(r, wire, &wl, &why)) continue;
		kl = ig_name_wire_to_key(wire, key, NULL, NULL);
		if(kl == 0) continue;
		ok = name_set(w, key, kl, flag, NULL);
	}
	fclose(in);
	if(ok) ok = ig_writer_meta(w, "psl", "1") &&
		ig_writer_meta(w, "psl.exceptions", exc ? exc : "");
	free(exc);
	return ok;
}

/** check that ranges of one kind do not overlap (keys sort by last) */
static int
ranges_check(struct ig_writer* w)
{
	MDB_cursor* c;
	MDB_val k, v;
	uint8_t prevkind = 0, prevlast[16];
	int rc;
	if(w->range_dup_kind) {
		char t[64];
		snprintf(w->err, sizeof(w->err), "%s ranges overlap at %s "
			"(merge them before writing)",
			w->range_dup_kind == IG_RANGE_DOMESTIC ? "domestic" :
			"redirect", ig_addr_to_text(&w->range_dup_last, t,
			sizeof(t)));
		return 0;
	}
	if((rc = mdb_cursor_open(w->txn, w->dbi[IG_DB_RANGE], &c)) != 0)
		return lmdb_fail(w, "range", rc);
	rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
	while(rc == 0) {
		const uint8_t* kb = k.mv_data;
		const uint8_t* first = v.mv_data;
		if(k.mv_size != 17 || v.mv_size < 16) {
			mdb_cursor_close(c);
			snprintf(w->err, sizeof(w->err), "bad range record");
			return 0;
		}
		if(kb[0] == prevkind && memcmp(first, prevlast, 16) <= 0) {
			struct ig_addr a;
			char t[64];
			memcpy(a.b, first, 16);
			mdb_cursor_close(c);
			snprintf(w->err, sizeof(w->err), "%s ranges overlap at "
				"%s (merge them before writing)",
				kb[0] == IG_RANGE_DOMESTIC ? "domestic" :
				"redirect", ig_addr_to_text(&a, t, sizeof(t)));
			return 0;
		}
		prevkind = kb[0];
		memcpy(prevlast, kb + 1, 16);
		rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(c);
	return 1;
}

void
ig_env_release(MDB_env* env)
{
	const char* path = NULL;
	FILE* maps;
	char line[4096];
	if(mdb_env_get_path(env, &path) != 0 || !path || !*path ||
		!(maps = fopen("/proc/self/maps", "r")))
		return;
	while(fgets(line, sizeof(line), maps)) {
		unsigned long lo, hi;
		char* name = strchr(line, '/');
		size_t nl;
		if(!name || sscanf(line, "%lx-%lx", &lo, &hi) != 2) continue;
		nl = strcspn(name, "\n");
		if(nl == strlen(path) && strncmp(name, path, nl) == 0)
			madvise((void*)lo, hi - lo, MADV_DONTNEED);
	}
	fclose(maps);
}

void
ig_env_writeback(MDB_env* env)
{
	int fd;
	if(mdb_env_get_fd(env, &fd) == 0)
		(void)sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
}

/** release the maps of an environment (see ig_env_release) */
static void
release_map(MDB_env* env)
{
	ig_env_release(env);
}

void
ig_writer_release(struct ig_writer* w)
{
	release_map(w->env);
}

int
ig_writer_checkpoint(struct ig_writer* w)
{
	int rc;
	if((rc = mdb_txn_commit(w->txn)) != 0) {
		w->txn = NULL;
		return lmdb_fail(w, "commit", rc);
	}
	if(!w->nosync) ig_env_writeback(w->env);
	if((rc = mdb_txn_begin(w->env, NULL, 0, &w->txn)) != 0) {
		w->txn = NULL;
		return lmdb_fail(w, "begin", rc);
	}
	return 1;
}

/** release the maps every this many records read */
#define RELEASE_EVERY 1000000

/** the content hash, computed on a thread of its own while the index is
 * built: SHA-256 over every record of every database but meta, in key
 * order, read in a read transaction of the committed records */
struct hash_job {
	/** the writer's environment and handles (read only here) */
	MDB_env* env;
	const MDB_dbi* dbi;
	/** the hash in hex */
	char hex[65];
	/** 1 done; 0 failed (err) */
	int ok;
	/** seconds it took */
	double seconds;
	char err[256];
};

/** the walk of a hash_job (a thread's start, or called in place) */
static void*
content_hash(void* arg)
{
	struct hash_job* j = arg;
	EVP_MD_CTX* md = EVP_MD_CTX_new();
	MDB_txn* txn = NULL;
	unsigned char dig[32];
	unsigned int dl = 0;
	uint64_t n = 0;
	int i, rc;
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	j->ok = 0;
	if(!md || !EVP_DigestInit_ex(md, EVP_sha256(), NULL)) {
		snprintf(j->err, sizeof(j->err), "sha256 unavailable");
		goto done;
	}
	if((rc = mdb_txn_begin(j->env, NULL, MDB_RDONLY, &txn)) != 0) {
		snprintf(j->err, sizeof(j->err), "hash: %s", mdb_strerror(rc));
		goto done;
	}
	for(i = IG_DB_META + 1; i < IG_DB_COUNT; i++) {
		MDB_cursor* c;
		MDB_val k, v;
		uint8_t tag = (uint8_t)i;
		if((rc = mdb_cursor_open(txn, j->dbi[i], &c)) != 0) {
			snprintf(j->err, sizeof(j->err), "hash: %s",
				mdb_strerror(rc));
			goto done;
		}
		rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
		while(rc == 0) {
			uint32_t kl = (uint32_t)k.mv_size;
			uint32_t vl = (uint32_t)v.mv_size;
			EVP_DigestUpdate(md, &tag, 1);
			EVP_DigestUpdate(md, &kl, 4);
			EVP_DigestUpdate(md, k.mv_data, k.mv_size);
			EVP_DigestUpdate(md, &vl, 4);
			EVP_DigestUpdate(md, v.mv_data, v.mv_size);
			if(++n % RELEASE_EVERY == 0) release_map(j->env);
			rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
		}
		mdb_cursor_close(c);
		if(rc != MDB_NOTFOUND) {
			snprintf(j->err, sizeof(j->err), "hash: %s",
				mdb_strerror(rc));
			goto done;
		}
	}
	EVP_DigestFinal_ex(md, dig, &dl);
	for(i = 0; i < 32; i++)
		sprintf(j->hex + 2*i, "%02x", dig[i]);
	j->hex[64] = 0;
	j->ok = 1;
done:
	if(txn) mdb_txn_abort(txn);
	EVP_MD_CTX_free(md);
	j->seconds = ig_seconds_since(&t0, 0);
	return NULL;
}

/** the index's hash seed: from the serial (the content hash is not known
 * yet when the index is built beside it), mixed (splitmix64) */
static uint64_t
index_seed(uint64_t serial)
{
	uint64_t z = serial + 0x9e3779b97f4a7c15ull;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}



/** fsync a file or directory by path */
static int
fsync_path(const char* path, int dir)
{
	int fd = open(path, (dir ? O_RDONLY | O_DIRECTORY : O_RDWR)
		| O_CLOEXEC);
	int rc;
	if(fd < 0) return 0;
	rc = fsync(fd);
	close(fd);
	return rc == 0;
}

int
ig_writer_publish(struct ig_writer* w, uint64_t serial,
	struct ig_snapshot_info* info, char* err, size_t errlen)
{
	char buf[128], hex[65], *dcopy = NULL;
	int i, rc;
	time_t now = time(NULL);
	struct ig_publish_times tm;
	struct timespec t0;
	struct hash_job hj;
	pthread_t hasher;
	int hashing, indexed;
	MDB_dbi idx;
	memset(&tm, 0, sizeof(tm));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if(!psl_add(w) || !ranges_check(w)) goto fail;
	for(i = 0; i < C_MAX; i++) {
		char key[64];
		snprintf(key, sizeof(key), "count.%s", count_names[i]);
		snprintf(buf, sizeof(buf), "%llu",
			(unsigned long long)w->count[i]);
		if(!ig_writer_meta(w, key, buf)) goto fail;
	}
	tm.prepare = ig_seconds_since(&t0, 1);
	/* the records are committed; then, in the next transaction, the
	 * index is built while a thread hashes the committed records in a
	 * read transaction (two walks of the name database side by side;
	 * the index's seed comes from the serial, not from the hash).  The
	 * file is unlocked (MDB_NOLOCK) and private to this writer: the
	 * write transaction allocates only pages that the read
	 * transaction's snapshot does not hold, and commits after the
	 * thread is joined. */
	rc = mdb_txn_commit(w->txn);
	w->txn = NULL;
	if(rc != 0) {
		lmdb_fail(w, "commit", rc);
		goto fail;
	}
	if((rc = mdb_txn_begin(w->env, NULL, 0, &w->txn)) != 0 ||
		(rc = mdb_dbi_open(w->txn, IG_INDEX_DB, MDB_CREATE, &idx)) != 0)
	{
		lmdb_fail(w, "index", rc);
		goto fail;
	}
	tm.commit = ig_seconds_since(&t0, 1);
	memset(&hj, 0, sizeof(hj));
	hj.env = w->env;
	hj.dbi = w->dbi;
	hashing = pthread_create(&hasher, NULL, content_hash, &hj) == 0;
	if(!hashing) content_hash(&hj);
	indexed = ig_name_index_build(w->env, w->txn, w->dbi[IG_DB_NAME], idx,
		index_seed(serial), 0, release_map, w->err, sizeof(w->err));
	tm.index = ig_seconds_since(&t0, 0);
	if(hashing) pthread_join(hasher, NULL);
	tm.hash = hj.seconds;
	(void)ig_seconds_since(&t0, 1);
	if(!indexed) goto fail;
	if(!hj.ok) {
		snprintf(w->err, sizeof(w->err), "%s", hj.err);
		goto fail;
	}
	memcpy(hex, hj.hex, sizeof(hex));
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)serial);
	if(!ig_writer_meta(w, "serial", buf) ||
		!ig_writer_meta(w, "hash", hex)) goto fail;
	snprintf(buf, sizeof(buf), "%lld", (long long)now);
	if(!ig_writer_meta(w, "created", buf) ||
		!ig_writer_meta(w, "format", IG_SNAPSHOT_FORMAT)) goto fail;
	rc = mdb_txn_commit(w->txn);
	w->txn = NULL;
	if(rc != 0) {
		lmdb_fail(w, "commit", rc);
		goto fail;
	}
	release_map(w->env);
	tm.commit += ig_seconds_since(&t0, 1);
	/* the disk writes the file while the seal reads it back from the
	 * page cache; the fsync after the seal waits for both (one fsync
	 * makes the whole file durable: nobody reads the temporary before
	 * the rename, so LMDB's own ordering of data and meta pages is not
	 * needed) */
	if(!w->nosync) ig_env_writeback(w->env);
	mdb_env_close(w->env);
	w->env = NULL;
	tm.sync = ig_seconds_since(&t0, 1);
	if(!ig_snapshot_file_seal(w->tmp, w->err, sizeof(w->err)))
		goto fail;
	tm.seal = ig_seconds_since(&t0, 1);
	if(!w->nosync && !fsync_path(w->tmp, 0)) {
		snprintf(w->err, sizeof(w->err), "%s: fsync: %s", w->tmp,
			strerror(errno));
		goto fail;
	}
	if(rename(w->tmp, w->path) != 0) {
		snprintf(w->err, sizeof(w->err), "rename %s to %s: %s",
			w->tmp, w->path, strerror(errno));
		goto fail;
	}
	dcopy = w->nosync ? NULL : strdup(w->path);
	if(dcopy) fsync_path(dirname(dcopy), 1);
	free(dcopy);
	tm.sync += ig_seconds_since(&t0, 1);
	if(w->times) *w->times = tm;
	if(info) {
		memset(info, 0, sizeof(*info));
		info->serial = serial;
		memcpy(info->hash, hex, sizeof(hex));
		info->created = now;
		snprintf(info->ident, sizeof(info->ident), "%llu-%.12s",
			(unsigned long long)serial, hex);
	}
	free(w->tmp);
	w->tmp = NULL;
	ig_writer_abort(w);
	return 1;
fail:
	snprintf(err, errlen, "%s", w->err);
	ig_writer_abort(w);
	return 0;
}

unsigned
ig_writer_name_flags(struct ig_writer* w, const uint8_t* wire)
{
	uint8_t key[IG_KEY_MAX];
	MDB_val k, v;
	k.mv_size = ig_name_wire_to_key(wire, key, NULL, NULL);
	k.mv_data = key;
	if(k.mv_size == 0 || mdb_get(w->txn, w->dbi[IG_DB_NAME], &k, &v) != 0
		|| v.mv_size < 1)
		return 0;
	return ((uint8_t*)v.mv_data)[0];
}

/** mark a key (not a wire name) as changed with its subtree */
static int
changed_key(struct ig_writer* w, const void* key, size_t kl)
{
	uint8_t one = 1;
	MDB_val k, v;
	k.mv_data = (void*)key;
	k.mv_size = kl;
	if(mdb_get(w->txn, w->dbi[IG_DB_CHANGED], &k, &v) == 0) return 1;
	if(!wput(w, IG_DB_CHANGED, key, kl, &one, 1, 0)) return 0;
	w->count[C_CHANGED]++;
	return 1;
}

/** mark the targets of an order value as changed */
static int
changed_order_targets(struct ig_writer* w, const MDB_val* val)
{
	struct ig_dec d = { val->mv_data, val->mv_size, 0, 0 };
	unsigned i, n;
	for(i = 0; i < 4; i++) (void)ig_dec_str(&d);
	(void)ig_dec_i64(&d); (void)ig_dec_i64(&d); (void)ig_dec_i64(&d);
	n = ig_dec_u16(&d);
	for(i = 0; i < n && !d.bad; i++) {
		uint8_t wire[IG_NAME_MAX], key[IG_KEY_MAX];
		size_t wl;
		const char* err;
		const char* name;
		(void)ig_dec_u8(&d);
		name = ig_dec_str(&d);
		if(d.bad || !ig_name_from_text(name, wire, &wl, &err)) continue;
		if(!changed_key(w, key, ig_name_wire_to_key(wire, key, NULL,
			NULL)))
			return 0;
	}
	return 1;
}

/**
 * Walk one database of the new and the previous snapshot side by side.
 * @param mode: 0 mark differing keys, 1 mark targets of differing orders,
 *	2 any difference sets *all.
 */
static int
diff_db(struct ig_writer* w, MDB_txn* ptxn, MDB_dbi pdbi, enum ig_db db,
	int mode, int* all)
{
	MDB_cursor *a = NULL, *b = NULL;
	MDB_val ka, va, kb, vb;
	uint64_t n = 0;
	int ra, rb, ok = 1;
	if(mdb_cursor_open(w->txn, w->dbi[db], &a) != 0 ||
		mdb_cursor_open(ptxn, pdbi, &b) != 0) {
		if(a) mdb_cursor_close(a);
		snprintf(w->err, sizeof(w->err), "diff: cannot open cursors");
		return 0;
	}
	ra = mdb_cursor_get(a, &ka, &va, MDB_FIRST);
	rb = mdb_cursor_get(b, &kb, &vb, MDB_FIRST);
	while(ok && (ra == 0 || rb == 0)) {
		int c;
		if(++n % RELEASE_EVERY == 0) {
			release_map(w->env);
			release_map(mdb_txn_env(ptxn));
		}
		if(ra != 0) c = 1;
		else if(rb != 0) c = -1;
		else {
			size_t m = ka.mv_size < kb.mv_size ? ka.mv_size :
				kb.mv_size;
			c = memcmp(ka.mv_data, kb.mv_data, m);
			if(c == 0) c = (ka.mv_size > kb.mv_size) -
				(ka.mv_size < kb.mv_size);
		}
		if(c == 0 && va.mv_size == vb.mv_size &&
			memcmp(va.mv_data, vb.mv_data, va.mv_size) == 0) {
			ra = mdb_cursor_get(a, &ka, &va, MDB_NEXT);
			rb = mdb_cursor_get(b, &kb, &vb, MDB_NEXT);
			continue;
		}
		if(mode == 2) {
			*all = 1;
			break;
		}
		if(c <= 0) {
			ok = mode == 0 ? changed_key(w, ka.mv_data, ka.mv_size)
				: changed_order_targets(w, &va);
		}
		if(ok && c >= 0) {
			ok = mode == 0 ? changed_key(w, kb.mv_data, kb.mv_size)
				: changed_order_targets(w, &vb);
		}
		if(c <= 0) ra = mdb_cursor_get(a, &ka, &va, MDB_NEXT);
		if(c >= 0) rb = mdb_cursor_get(b, &kb, &vb, MDB_NEXT);
	}
	mdb_cursor_close(a);
	mdb_cursor_close(b);
	return ok;
}

int
ig_writer_diff(struct ig_writer* w, struct ig_snapshot* prev)
{
	struct ig_view pv;
	int all = 0, ok;
	if(!psl_add(w)) return 0;
	if(!ig_view_begin(prev, &pv)) {
		snprintf(w->err, sizeof(w->err), "diff: cannot read %s",
			ig_snapshot_path(prev));
		return 0;
	}
	ok = diff_db(w, pv.txn, ig_view_dbi(&pv, IG_DB_NAME), IG_DB_NAME, 0,
		&all) &&
		diff_db(w, pv.txn, ig_view_dbi(&pv, IG_DB_BLACKLIST),
		IG_DB_BLACKLIST, 0, &all) &&
		diff_db(w, pv.txn, ig_view_dbi(&pv, IG_DB_REDIRECT_HOST),
		IG_DB_REDIRECT_HOST, 0, &all) &&
		diff_db(w, pv.txn, ig_view_dbi(&pv, IG_DB_ORDER), IG_DB_ORDER,
		1, &all) &&
		diff_db(w, pv.txn, ig_view_dbi(&pv, IG_DB_RANGE), IG_DB_RANGE,
		2, &all) &&
		diff_db(w, pv.txn, ig_view_dbi(&pv, IG_DB_EXEMPT), IG_DB_EXEMPT,
		2, &all);
	ig_view_end(&pv);
	if(ok && all) ok = ig_writer_meta(w, "changed_all", "1");
	return ok;
}
