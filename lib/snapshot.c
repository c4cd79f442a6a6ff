/*
 * lib/snapshot.c - snapshot reader: open, views, lookups.
 *
 * \file
 * See snapshot.h for the rules and docs/snapshot.md for the layout.
 */
#include "lib/snapshot.h"
#include "lib/name_index.h"
#include "lib/record.h"
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <errno.h>
#include <unistd.h>

/** an open snapshot */
struct ig_snapshot {
	/** the LMDB environment, read-only, no lock file */
	MDB_env* env;
	/** database handles */
	MDB_dbi dbi[IG_DB_COUNT];
	/** references */
	atomic_int refs;
	/** identity */
	struct ig_snapshot_info info;
	/** the file it came from */
	char* path;
	/** the ranges of each kind in memory, sorted (index: kind - 1) */
	struct mem_range* ranges[2];
	/** their counts */
	size_t nranges[2];
	/** PSL exception rules as keys, each length-prefixed (u8) */
	uint8_t* psl_exc;
	/** its length */
	size_t psl_exc_len;
	/** the hash index over the name database (slots NULL: none) */
	struct ig_name_index nidx;
};

/** a range held in memory for the lookups (owner points into the map) */
struct mem_range {
	/** first and last address */
	uint8_t first[16], last[16];
	/** owner text */
	const char* owner;
};

static const char* const db_names[IG_DB_COUNT] = {
	"meta", "name", "blacklist", "order", "order_target", "exempt",
	"range", "redirect_host", "registrar", "regdomain", "changed"
};

const char*
ig_db_name(enum ig_db db)
{
	return (unsigned)db < IG_DB_COUNT ? db_names[db] : "?";
}

/** read one meta value as text into buf inside a txn */
static int
meta_get(MDB_txn* txn, MDB_dbi dbi, const char* key, char* buf,
	size_t buflen)
{
	MDB_val k, v;
	k.mv_data = (void*)key;
	k.mv_size = strlen(key);
	if(mdb_get(txn, dbi, &k, &v) != 0) return 0;
	if(v.mv_size > 0 && ((char*)v.mv_data)[v.mv_size - 1] == 0)
		v.mv_size--;
	if(v.mv_size >= buflen) return 0;
	memcpy(buf, v.mv_data, v.mv_size);
	buf[v.mv_size] = 0;
	return 1;
}

/**
 * Copy the ranges into sorted arrays: a lookup becomes a binary search in
 * memory instead of a B-tree descent (the range database is small next to
 * the names).  Owner strings stay in the map, which lives as long as s.
 * The walk takes at most as many steps as the database says it holds
 * entries: liblmdb trusts its pages, and pages that link in a circle (a
 * damaged file that still carries a good seal, which the fuzz target
 * snapshot_memo made) would otherwise loop for ever.
 * @return 1, 0 out of memory, -1 more entries than the database holds.
 */
static int
ranges_load(struct ig_snapshot* s, MDB_txn* txn)
{
	MDB_cursor* c;
	MDB_val k, v;
	MDB_stat st;
	size_t cap[2] = { 0, 0 }, steps = 0;
	int rc;
	if(mdb_stat(txn, s->dbi[IG_DB_RANGE], &st) != 0) return -1;
	if(mdb_cursor_open(txn, s->dbi[IG_DB_RANGE], &c) != 0) return 1;
	rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
	while(rc == 0) {
		if(++steps > st.ms_entries) {
			mdb_cursor_close(c);
			return -1;
		}
		const uint8_t* kb = k.mv_data;
		if(k.mv_size == 17 && v.mv_size >= 16 + 3 &&
			(kb[0] == IG_RANGE_DOMESTIC || kb[0] == IG_RANGE_REDIRECT)) {
			int i = kb[0] - 1;
			struct ig_dec d = { v.mv_data, v.mv_size, 16, 0 };
			const char* owner = ig_dec_str(&d);
			if(s->nranges[i] == cap[i]) {
				struct mem_range* n;
				cap[i] = cap[i] ? cap[i] * 2 : 64;
				n = realloc(s->ranges[i], cap[i] * sizeof(*n));
				if(!n) {
					mdb_cursor_close(c);
					return 0;
				}
				s->ranges[i] = n;
			}
			memcpy(s->ranges[i][s->nranges[i]].first, v.mv_data, 16);
			memcpy(s->ranges[i][s->nranges[i]].last, kb + 1, 16);
			s->ranges[i][s->nranges[i]].owner = d.bad ? "" : owner;
			s->nranges[i]++;
		}
		rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(c);
	return 1;
}

int
ig_snapshot_open(const char* path, struct ig_snapshot** out, char* err,
	size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), ok;
	if(fd < 0) {
		snprintf(err, errlen, "%s: cannot open snapshot: %s", path,
			strerror(errno));
		return 0;
	}
	ok = ig_snapshot_file_sane(fd, path, err, errlen) &&
		ig_snapshot_open_checked(path, fd, out, err, errlen);
	close(fd);
	return ok;
}

int
ig_snapshot_open_checked(const char* path, int fd, struct ig_snapshot** out,
	char* err, size_t errlen)
{
	struct ig_snapshot* s = calloc(1, sizeof(*s));
	MDB_txn* txn = NULL;
	struct stat st;
	char buf[128];
	int rc, i;
	if(!s || !(s->path = strdup(path))) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto fail;
	}
	if((rc = mdb_env_create(&s->env)) != 0 ||
		(rc = mdb_env_set_maxdbs(s->env, IG_DB_COUNT + 1)) != 0) {
		snprintf(err, errlen, "%s: %s", path, mdb_strerror(rc));
		goto fail;
	}
	/* map only what the file holds: the writer's map size (tens of
	 * GiB of address space) is not needed to read an immutable file */
	if(fstat(fd, &st) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if(st.st_size > 0)
		(void)mdb_env_set_mapsize(s->env, (size_t)st.st_size);
	if((rc = mdb_env_open(s->env, path, MDB_RDONLY | MDB_NOSUBDIR |
		MDB_NOLOCK | MDB_NOTLS | MDB_NORDAHEAD, 0444)) != 0) {
		snprintf(err, errlen, "%s: cannot open snapshot: %s", path,
			mdb_strerror(rc));
		goto fail;
	}
	/* LMDB opened the path anew: until here it has read only the meta
	 * pages (with read(), no map access).  Before it touches a mapped
	 * page, the file it opened must be the one the caller checked; a
	 * file renamed over the path in between may be short (SIGBUS) or
	 * damaged.  The caller tries again at its next check. */
	{
		mdb_filehandle_t lfd;
		struct stat lst;
		if(mdb_env_get_fd(s->env, &lfd) != 0 || fstat(lfd, &lst) != 0 ||
			lst.st_dev != st.st_dev || lst.st_ino != st.st_ino) {
			snprintf(err, errlen, "%s: replaced while it was being "
				"opened (not the file that was checked)", path);
			goto fail;
		}
	}
	if((rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &txn)) != 0) {
		snprintf(err, errlen, "%s: %s", path, mdb_strerror(rc));
		goto fail;
	}
	for(i = 0; i < IG_DB_COUNT; i++) {
		unsigned fl = (i == IG_DB_ORDER_TARGET) ? MDB_DUPSORT : 0;
		if((rc = mdb_dbi_open(txn, db_names[i], fl, &s->dbi[i])) != 0) {
			snprintf(err, errlen, "%s: database '%s' missing: %s",
				path, db_names[i], mdb_strerror(rc));
			goto fail;
		}
	}
	if(!meta_get(txn, s->dbi[IG_DB_META], "format", buf, sizeof(buf)) ||
		strcmp(buf, IG_SNAPSHOT_FORMAT) != 0) {
		snprintf(err, errlen, "%s: not an icpguard snapshot "
			"(meta 'format' is not %s)", path, IG_SNAPSHOT_FORMAT);
		goto fail;
	}
	if(!meta_get(txn, s->dbi[IG_DB_META], "serial", buf, sizeof(buf))) {
		snprintf(err, errlen, "%s: meta 'serial' missing (snapshot "
			"was never published)", path);
		goto fail;
	}
	s->info.serial = strtoull(buf, NULL, 10);
	if(!meta_get(txn, s->dbi[IG_DB_META], "hash", s->info.hash,
		sizeof(s->info.hash))) {
		snprintf(err, errlen, "%s: meta 'hash' missing", path);
		goto fail;
	}
	if(meta_get(txn, s->dbi[IG_DB_META], "created", buf, sizeof(buf)))
		s->info.created = strtoll(buf, NULL, 10);
	if(meta_get(txn, s->dbi[IG_DB_META], "changed_all", buf, sizeof(buf)))
		s->info.changed_all = atoi(buf);
	if(meta_get(txn, s->dbi[IG_DB_META], "psl", buf, sizeof(buf)))
		s->info.has_psl = atoi(buf);
	if(s->info.has_psl) {
		/* exceptions: text names separated by newlines */
		MDB_val k, v;
		k.mv_data = (void*)"psl.exceptions";
		k.mv_size = strlen("psl.exceptions");
		if(mdb_get(txn, s->dbi[IG_DB_META], &k, &v) == 0) {
			char* t = strndup(v.mv_data, v.mv_size), *save = NULL, *n;
			s->psl_exc = malloc(v.mv_size * 2 + 16);
			for(n = t ? strtok_r(t, "\n", &save) : NULL; n && s->psl_exc;
				n = strtok_r(NULL, "\n", &save)) {
				uint8_t wire[IG_NAME_MAX], key[IG_KEY_MAX];
				size_t wl, kl;
				const char* e;
				if(!ig_name_from_text(n, wire, &wl, &e)) continue;
				kl = ig_name_wire_to_key(wire, key, NULL, NULL);
				s->psl_exc[s->psl_exc_len++] = (uint8_t)kl;
				memcpy(s->psl_exc + s->psl_exc_len, key, kl);
				s->psl_exc_len += kl;
			}
			free(t);
		}
	}
	if(meta_get(txn, s->dbi[IG_DB_META], "delta.base.serial", buf,
		sizeof(buf))) {
		MDB_stat ns;
		s->info.is_delta = 1;
		s->info.base_serial = strtoull(buf, NULL, 10);
		if(!meta_get(txn, s->dbi[IG_DB_META], "delta.base.hash",
			s->info.base_hash, sizeof(s->info.base_hash))) {
			snprintf(err, errlen, "%s: a delta snapshot without "
				"meta 'delta.base.hash'", path);
			goto fail;
		}
		if(mdb_stat(txn, s->dbi[IG_DB_NAME], &ns) == 0)
			s->info.delta_names = ns.ms_entries;
		snprintf(s->info.ident, sizeof(s->info.ident),
			"%llu-%.12s+%llu-%.12s",
			(unsigned long long)s->info.base_serial,
			s->info.base_hash, (unsigned long long)s->info.serial,
			s->info.hash);
	} else
		snprintf(s->info.ident, sizeof(s->info.ident), "%llu-%.12s",
			(unsigned long long)s->info.serial, s->info.hash);
	s->info.has_index = ig_name_index_load(&s->nidx, txn,
		s->dbi[IG_DB_NAME], s->info.index_refused,
		sizeof(s->info.index_refused));
	s->info.index_entries = s->nidx.entries;
	if((rc = ranges_load(s, txn)) != 1) {
		snprintf(err, errlen, rc == 0 ? "%s: out of memory loading "
			"ranges" : "%s: damaged: the range database walks past "
			"its entry count", path);
		goto fail;
	}
	/* commit, not abort: the handles opened here must outlive the txn */
	rc = mdb_txn_commit(txn);
	txn = NULL;
	if(rc != 0) {
		snprintf(err, errlen, "%s: %s", path, mdb_strerror(rc));
		goto fail;
	}
	atomic_init(&s->refs, 1);
	*out = s;
	return 1;
fail:
	if(txn) mdb_txn_abort(txn);
	if(s) {
		if(s->env) mdb_env_close(s->env);
		free(s->psl_exc);
		free(s->ranges[0]);
		free(s->ranges[1]);
		free(s->path);
		free(s);
	}
	return 0;
}

void
ig_snapshot_ref(struct ig_snapshot* s)
{
	atomic_fetch_add(&s->refs, 1);
}

void
ig_snapshot_unref(struct ig_snapshot* s)
{
	if(!s) return;
	if(atomic_fetch_sub(&s->refs, 1) == 1) {
		free(s->psl_exc);
		free(s->ranges[0]);
		free(s->ranges[1]);
		mdb_env_close(s->env);
		free(s->path);
		free(s);
	}
}

int
ig_snapshot_refs(const struct ig_snapshot* s)
{
	return atomic_load(&((struct ig_snapshot*)s)->refs);
}

void
ig_snapshot_prefault(struct ig_snapshot* s)
{
	/* LMDB does not say where the file is mapped (mdb_env_info reports
	 * it only with MDB_FIXEDMAP); the name index found out at open */
	if(s->nidx.slots && s->nidx.base)
		(void)madvise((void*)((uintptr_t)s->nidx.base), s->nidx.maplen,
			MADV_WILLNEED);
}

const struct ig_snapshot_info*
ig_snapshot_info(const struct ig_snapshot* s)
{
	return &s->info;
}

int
ig_snapshot_psl_exception(const struct ig_snapshot* s, const uint8_t* key,
	size_t keylen)
{
	size_t p = 0;
	while(s->psl_exc && p < s->psl_exc_len) {
		size_t l = s->psl_exc[p];
		if(l == keylen && memcmp(s->psl_exc + p + 1, key, l) == 0)
			return 1;
		p += 1 + l;
	}
	return 0;
}

const char*
ig_snapshot_path(const struct ig_snapshot* s)
{
	return s->path;
}

int
ig_view_begin(struct ig_snapshot* s, struct ig_view* v)
{
	memset(v, 0, sizeof(*v));
	if(mdb_txn_begin(s->env, NULL, MDB_RDONLY, &v->txn) != 0)
		return 0;
	ig_snapshot_ref(s);
	v->snap = s;
	return 1;
}

void
ig_view_end(struct ig_view* v)
{
	if(!v->snap) return;
	if(v->target_cur) mdb_cursor_close(v->target_cur);
	if(v->name_cur) mdb_cursor_close(v->name_cur);
	mdb_txn_abort(v->txn);
	ig_snapshot_unref(v->snap);
	memset(v, 0, sizeof(*v));
}

MDB_dbi
ig_view_dbi(struct ig_view* v, enum ig_db db)
{
	return v->snap->dbi[db];
}

/** exact get in one database */
static int
view_get(struct ig_view* v, enum ig_db db, const void* key, size_t keylen,
	struct ig_dec* d)
{
	MDB_val k, val;
	if(keylen == 0) return 0;
	k.mv_data = (void*)key;
	k.mv_size = keylen;
	if(mdb_get(v->txn, v->snap->dbi[db], &k, &val) != 0) return 0;
	d->buf = val.mv_data;
	d->len = val.mv_size;
	d->pos = 0;
	d->bad = 0;
	return 1;
}

/** decode the filing part of a name value */
static int
filing_decode(struct ig_dec* d, struct ig_filing* f)
{
	f->status = (enum ig_filing_status)ig_dec_u8(d);
	f->subject_type = (enum ig_subject_type)ig_dec_u8(d);
	f->approved = ig_dec_i64(d);
	f->number = ig_dec_str(d);
	f->subject = ig_dec_str(d);
	f->province = ig_dec_str(d);
	f->provider = ig_dec_str(d);
	return !d->bad;
}

unsigned
ig_view_name(struct ig_view* v, const uint8_t* key, size_t keylen,
	struct ig_filing* filing)
{
	struct ig_dec d;
	unsigned flags;
	if(!view_get(v, IG_DB_NAME, key, keylen, &d)) return 0;
	flags = ig_dec_u8(&d);
	if((flags & IG_NAME_FILING) && filing && !filing_decode(&d, filing))
		flags &= ~IG_NAME_FILING;
	return flags;
}

/** remember the TLD walked last */
static void
view_tld_keep(struct ig_view* v, const uint8_t* key, size_t len,
	uint8_t flags, int below)
{
	if(len > sizeof(v->tld_key)) {
		v->tld_len = 0;
		return;
	}
	memcpy(v->tld_key, key, len);
	v->tld_len = len;
	v->tld_flags = flags;
	v->tld_below = (uint8_t)below;
}

/** one level of a walk: the flags and filing in the name record d; the
 * level is marked in present (when not NULL) */
static unsigned
walk_level(struct ig_dec* d, int i, uint8_t* flags, uint8_t* present,
	struct ig_filing* filing, int* filing_level)
{
	struct ig_filing f;
	unsigned fl = ig_dec_u8(d);
	if(present) present[i] = 1;
	if((fl & IG_NAME_FILING) && !filing_decode(d, &f))
		fl &= ~IG_NAME_FILING;
	if(fl & IG_NAME_FILING) {
		*filing = f;
		*filing_level = i;
	}
	flags[i] = (uint8_t)fl;
	return fl;
}

/** ig_view_walk through the hash index: one probe per level, down to the
 * first level that is absent or has nothing below it */
static unsigned
walk_index(struct ig_view* v, const uint8_t* key, const size_t* labelend,
	int nl, uint8_t* flags, uint8_t* present, struct ig_filing* filing,
	int* filing_level)
{
	const struct ig_name_index* x = &v->snap->nidx;
	uint64_t h[IG_LABELS_MAX];
	unsigned any = 0;
	int i;
	if(nl > IG_LABELS_MAX) nl = IG_LABELS_MAX;
	ig_name_index_hashes(x, key, labelend, nl, h);
	for(i = 0; i < nl; i++) {
		struct ig_index_hit hit;
		if(!ig_name_index_find(x, key, labelend[i], h[i], &hit)) break;
		if(hit.record) {
			struct ig_dec d = { hit.val, hit.vallen, 0, 0 };
			if(hit.val || view_get(v, IG_DB_NAME, key, labelend[i],
				&d))
				any |= walk_level(&d, i, flags, present,
					filing, filing_level);
		}
		if(!hit.children) break;
	}
	return any;
}

/**
 * ig_view_walk, and with present non-NULL ig_view_walk_layer (the TLD
 * remembered from the last walk is not used then: it keeps the flags, not
 * whether a record was there)
 */
static unsigned
view_walk(struct ig_view* v, const uint8_t* key, const size_t* labelend,
	int nl, uint8_t* flags, uint8_t* present, struct ig_filing* filing,
	int* filing_level)
{
	unsigned any = 0;
	int i;
	memset(flags, 0, (size_t)nl);
	if(present) memset(present, 0, (size_t)nl);
	*filing_level = -1;
	if(v->snap->nidx.slots && !v->no_index)
		return walk_index(v, key, labelend, nl, flags, present, filing,
			filing_level);
	if(!v->name_cur && mdb_cursor_open(v->txn, v->snap->dbi[IG_DB_NAME],
		&v->name_cur) != 0)
		return 0;
	for(i = 0; i < nl; i++) {
		MDB_val k, val;
		if(i == 0 && !present && v->tld_len &&
			v->tld_len == labelend[0] &&
			memcmp(v->tld_key, key, labelend[0]) == 0) {
			/* the TLD as last time; a TLD holds no filing */
			flags[0] = v->tld_flags;
			any |= v->tld_flags;
			if(!v->tld_below) break;
			continue;
		}
		k.mv_data = (void*)key;
		k.mv_size = labelend[i];
		if(mdb_cursor_get(v->name_cur, &k, &val, MDB_SET_RANGE) != 0) {
			if(i == 0) view_tld_keep(v, key, labelend[0], 0, 0);
			break; /* nothing at or after this name */
		}
		if(i == 0) {
			int exact = k.mv_size == labelend[0] && memcmp(k.mv_data,
				key, labelend[0]) == 0;
			uint8_t fl = exact && val.mv_size ?
				((uint8_t*)val.mv_data)[0] : 0;
			int below;
			if(exact) {
				/* is the next key below the TLD? */
				MDB_val k2 = k, v2;
				below = mdb_cursor_get(v->name_cur, &k2, &v2,
					MDB_NEXT) == 0 && k2.mv_size > labelend[0] &&
					memcmp(k2.mv_data, key, labelend[0]) == 0;
			} else {
				below = k.mv_size > labelend[0] && memcmp(
					k.mv_data, key, labelend[0]) == 0;
			}
			if(!(fl & IG_NAME_FILING))
				view_tld_keep(v, key, labelend[0], fl, below);
		}
		if(k.mv_size == labelend[i] && memcmp(k.mv_data, key,
			labelend[i]) == 0) {
			struct ig_dec d = { val.mv_data, val.mv_size, 0, 0 };
			any |= walk_level(&d, i, flags, present, filing,
				filing_level);
			continue;
		}
		/* the next name is not this one: go deeper only when it lies
		 * below this one */
		if(k.mv_size <= labelend[i] || memcmp(k.mv_data, key,
			labelend[i]) != 0)
			break;
	}
	return any;
}

unsigned
ig_view_walk(struct ig_view* v, const uint8_t* key, const size_t* labelend,
	int nl, uint8_t* flags, struct ig_filing* filing, int* filing_level)
{
	return view_walk(v, key, labelend, nl, flags, NULL, filing,
		filing_level);
}

int
ig_view_walk_layer(struct ig_view* v, const uint8_t* key,
	const size_t* labelend, int nl, uint8_t* flags, uint8_t* present,
	struct ig_filing* filing, int* filing_level)
{
	int i, n = 0;
	(void)view_walk(v, key, labelend, nl, flags, present, filing,
		filing_level);
	for(i = 0; i < nl; i++) n += present[i];
	return n;
}

int
ig_snapshot_delta_over(const struct ig_snapshot* delta,
	const struct ig_snapshot* base)
{
	return delta->info.is_delta && base &&
		delta->info.base_serial == base->info.serial &&
		strcmp(delta->info.base_hash, base->info.hash) == 0;
}

int
ig_view_blacklist(struct ig_view* v, const uint8_t* key, size_t keylen,
	struct ig_blacklist* out)
{
	struct ig_dec d;
	if(!view_get(v, IG_DB_BLACKLIST, key, keylen, &d)) return 0;
	out->subtree = ig_dec_u8(&d);
	out->added = ig_dec_i64(&d);
	out->reason = ig_dec_str(&d);
	out->source = ig_dec_str(&d);
	return !d.bad;
}

int
ig_view_exempt(struct ig_view* v, const uint8_t* key, size_t keylen,
	struct ig_exempt* out)
{
	struct ig_dec d;
	if(!view_get(v, IG_DB_EXEMPT, key, keylen, &d)) return 0;
	out->subtree = ig_dec_u8(&d);
	out->note = ig_dec_str(&d);
	return !d.bad;
}

/** decode an order value */
static int
order_decode(struct ig_dec* d, struct ig_order* o)
{
	o->id = ig_dec_str(d);
	o->doc_no = ig_dec_str(d);
	o->unit = ig_dec_str(d);
	o->reason = ig_dec_str(d);
	o->effective = ig_dec_i64(d);
	o->expiry = ig_dec_i64(d);
	o->lifted = ig_dec_i64(d);
	o->ntargets = ig_dec_u16(d);
	o->targets = d->buf + d->pos;
	return !d->bad;
}

int
ig_view_order(struct ig_view* v, const char* id, struct ig_order* out)
{
	struct ig_dec d;
	if(!view_get(v, IG_DB_ORDER, id, strlen(id), &d)) return 0;
	return order_decode(&d, out);
}

int
ig_order_active(const struct ig_order* o, int64_t now)
{
	if(now < o->effective) return 0;
	if(o->expiry && now >= o->expiry) return 0;
	if(o->lifted && now >= o->lifted) return 0;
	return 1;
}

int
ig_order_target_next(const struct ig_order* o, size_t* pos,
	const char** name, int* subtree)
{
	/* targets are the tail of the order value, each entry a u8 subtree
	 * flag and a string; count the entries before pos (lists are short) */
	size_t q = 0, n;
	unsigned idx = 0;
	while(q < *pos) {
		n = (size_t)o->targets[q+1] | ((size_t)o->targets[q+2] << 8);
		q += 3 + n + 1;
		idx++;
	}
	if(idx >= o->ntargets) return 0;
	*subtree = o->targets[q];
	n = (size_t)o->targets[q+1] | ((size_t)o->targets[q+2] << 8);
	*name = (const char*)o->targets + q + 3;
	*pos = q + 3 + n + 1;
	return 1;
}

int
ig_view_order_at(struct ig_view* v, const uint8_t* key, size_t keylen,
	int exact, int64_t now, struct ig_order* out)
{
	MDB_val k, val;
	int rc;
	if(keylen == 0) return 0;
	if(!v->target_cur && mdb_cursor_open(v->txn,
		v->snap->dbi[IG_DB_ORDER_TARGET], &v->target_cur) != 0)
		return 0;
	k.mv_data = (void*)key;
	k.mv_size = keylen;
	rc = mdb_cursor_get(v->target_cur, &k, &val, MDB_SET_KEY);
	while(rc == 0) {
		const uint8_t* p = val.mv_data;
		char id[64];
		if(val.mv_size >= 2 && val.mv_size - 1 < sizeof(id) &&
			(exact || p[0])) {
			memcpy(id, p + 1, val.mv_size - 1);
			id[val.mv_size - 1] = 0;
			if(ig_view_order(v, id, out) && ig_order_active(out, now))
				return 1;
		}
		rc = mdb_cursor_get(v->target_cur, &k, &val, MDB_NEXT_DUP);
	}
	return 0;
}

int
ig_view_range(struct ig_view* v, enum ig_range_kind kind,
	const struct ig_addr* a, struct ig_range* out, const char** owner)
{
	const struct mem_range* r;
	size_t lo = 0, hi, i;
	if(kind != IG_RANGE_DOMESTIC && kind != IG_RANGE_REDIRECT) return 0;
	i = (size_t)kind - 1;
	r = v->snap->ranges[i];
	hi = v->snap->nranges[i];
	/* the first range whose last address is >= a (ranges of a kind do
	 * not overlap and are sorted by last address) */
	while(lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if(memcmp(r[mid].last, a->b, 16) < 0) lo = mid + 1;
		else hi = mid;
	}
	if(lo == v->snap->nranges[i] || memcmp(r[lo].first, a->b, 16) > 0)
		return 0;
	if(out) {
		memcpy(out->first.b, r[lo].first, 16);
		memcpy(out->last.b, r[lo].last, 16);
	}
	if(owner) *owner = r[lo].owner;
	return 1;
}

int
ig_view_redirect_host(struct ig_view* v, const uint8_t* key,
	size_t keylen, const char** registrar)
{
	struct ig_dec d;
	if(!view_get(v, IG_DB_REDIRECT_HOST, key, keylen, &d)) return 0;
	*registrar = ig_dec_str(&d);
	return !d.bad;
}

int
ig_view_registrar(struct ig_view* v, const char* id,
	struct ig_registrar* out)
{
	struct ig_dec d;
	if(!view_get(v, IG_DB_REGISTRAR, id, strlen(id), &d)) return 0;
	out->id = ig_dec_str(&d);
	out->name = ig_dec_str(&d);
	return !d.bad;
}

int
ig_view_regdomain(struct ig_view* v, const uint8_t* key, size_t keylen,
	struct ig_regdomain* out)
{
	struct ig_dec d;
	if(!view_get(v, IG_DB_REGDOMAIN, key, keylen, &d)) return 0;
	out->flags = ig_dec_u8(&d);
	out->registrar = ig_dec_str(&d);
	out->status = ig_dec_str(&d);
	return !d.bad;
}

int
ig_view_changed(struct ig_view* v, const uint8_t* key,
	const size_t* labelend, int nl)
{
	int i;
	for(i = 0; i < nl; i++) {
		struct ig_dec d;
		if(view_get(v, IG_DB_CHANGED, key, labelend[i], &d)) {
			uint8_t sub = ig_dec_u8(&d);
			if(sub || i == nl - 1) return 1;
		}
	}
	return 0;
}

const char*
ig_view_meta(struct ig_view* v, const char* key)
{
	struct ig_dec d;
	if(!view_get(v, IG_DB_META, key, strlen(key), &d)) return NULL;
	/* meta values are stored with a trailing NUL */
	if(d.len == 0 || d.buf[d.len - 1] != 0) return NULL;
	return (const char*)d.buf;
}
