/*
 * module/watch.c - the snapshot in force, worker views, and swaps.
 *
 * \file
 * The watch thread polls the snapshot paths (the main snapshot and the
 * optional order snapshot).  When the file behind one
 * changes (a publisher renamed a new one into place) the new file is
 * opened and checked; a good one replaces the current snapshot under the
 * mutex and bumps the generation, which worker threads compare at every
 * query to renew their thread-local view.  Then the message cache is
 * traversed and the entries whose verdict may have changed are expired,
 * the way `unbound-control flush_zone` does: all of them when the new
 * snapshot does not directly follow the old one or says everything
 * changed; otherwise the names in its changed set (with their subtrees)
 * and every answer that is not a plain positive one (one answer RRset, no
 * authority): those may be policy answers decided through an alias, or
 * alias chains, or negative answers.  A second
 * pass a little later catches answers that were being decided on the old
 * snapshot during the first.
 */
#include "config.h"
#include "module/icpguard.h"
#include "util/log.h"
#include "util/net_help.h"
#include "util/module.h"
#include "util/storage/slabhash.h"
#include "util/data/msgreply.h"
#include "util/data/dname.h"
#include "sldns/pkthdr.h"
#include "sldns/rrdef.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/** this thread's view and the instance it belongs to */
static __thread struct icpguard_view* tls_view;
static __thread uint64_t tls_instance;

/** the identity of a file, to notice a replacement */
struct file_id {
	/** device */
	dev_t dev;
	/** inode */
	ino_t ino;
	/** mtime in ns */
	long long mtime_ns;
	/** size */
	long long size;
};

/** slot names for log lines */
static const char* const slot_name[IG_SLOT_COUNT] = { "snapshot",
	"order snapshot" };

/** stat a path; 0 when missing */
static int
file_id_get(const char* path, struct file_id* id)
{
	struct stat st;
	memset(id, 0, sizeof(*id));
	if(stat(path, &st) != 0) return 0;
	id->dev = st.st_dev;
	id->ino = st.st_ino;
	id->mtime_ns = (long long)st.st_mtim.tv_sec * 1000000000LL +
		st.st_mtim.tv_nsec;
	id->size = (long long)st.st_size;
	return 1;
}

/** say so when a snapshot's name index was refused (verdicts then walk
 * the B-tree: correct, slower) */
static void
index_note(const struct ig_snapshot* s)
{
	const struct ig_snapshot_info* si = ig_snapshot_info(s);
	if(si->index_refused[0])
		log_warn("icpguard: snapshot %s: name index not used (%s); "
			"verdicts walk the B-tree", si->ident,
			si->index_refused);
}

/** remember the identity of the file in force */
static void
file_id_keep(struct icpguard_slot* sl, const struct file_id* id)
{
	sl->dev = id->dev;
	sl->ino = id->ino;
	sl->mtime_ns = id->mtime_ns;
	sl->size = id->size;
}

/** is the file in force still the one at the path */
static int
file_id_same(const struct icpguard_slot* sl, const struct file_id* id)
{
	return sl->current && id->dev == sl->dev && id->ino == sl->ino &&
		id->mtime_ns == sl->mtime_ns && id->size == sl->size;
}

int
icpguard_snapshot_start(struct icpguard_env* ie)
{
	char err[1024];
	struct file_id id;
	int i;
	ie->slot[IG_SLOT_MAIN].path = ie->cfg.snapshot;
	ie->slot[IG_SLOT_ORDERS].path = ie->cfg.orders_snapshot;
	for(i = 0; i < IG_SLOT_COUNT; i++) {
		struct icpguard_slot* sl = &ie->slot[i];
		if(!sl->path[0]) continue;
		(void)file_id_get(sl->path, &id);
		if(!ig_snapshot_open(sl->path, &sl->current, err,
			sizeof(err))) {
			sl->current = NULL;
			if(i == IG_SLOT_ORDERS) {
				/* no orders yet is a normal state */
				log_info("icpguard: no order snapshot yet (%s)",
					err);
				continue;
			}
			if(!ie->cfg.fail_open) {
				log_err("icpguard: %s; refusing to start without"
					" a policy snapshot (set 'fail-open: yes' "
					"in %s to start anyway)", err,
					icpguard_cfg_path());
				return 0;
			}
			log_warn("icpguard: %s; fail-open: every query passes "
				"until a snapshot appears", err);
			continue;
		}
		file_id_keep(sl, &id);
		log_info("icpguard: %s %s in force (%s)", slot_name[i],
			ig_snapshot_info(sl->current)->ident, sl->path);
		index_note(sl->current);
	}
	return 1;
}

/**
 * The calling thread's views struct, without renewing them (NULL if the
 * thread has none yet).  For the EDE memo.  Worker threads only.
 */
struct icpguard_view*
icpguard_thread_views(struct icpguard_env* ie)
{
	return (tls_instance == ie->instance) ? tls_view : NULL;
}

struct ig_view*
icpguard_view(struct icpguard_env* ie, struct ig_view** urgent)
{
	unsigned long gen = atomic_load(&ie->generation);
	struct icpguard_view* v = tls_view;
	int i;
	if(tls_instance != ie->instance || !v) {
		v = calloc(1, sizeof(*v));
		if(!v) return NULL;
		v->generation = gen + 1; /* force an open below */
		pthread_mutex_lock(&ie->lock);
		v->next = ie->views;
		ie->views = v;
		pthread_mutex_unlock(&ie->lock);
		tls_view = v;
		tls_instance = ie->instance;
	}
	if(v->generation != gen) {
		struct ig_snapshot* s[IG_SLOT_COUNT];
		pthread_mutex_lock(&ie->lock);
		gen = atomic_load(&ie->generation);
		for(i = 0; i < IG_SLOT_COUNT; i++) {
			s[i] = ie->slot[i].current;
			if(s[i]) ig_snapshot_ref(s[i]);
		}
		pthread_mutex_unlock(&ie->lock);
		int failed = 0;
		for(i = 0; i < IG_SLOT_COUNT; i++) {
			if(v->view[i].snap) ig_view_end(&v->view[i]);
			if(!s[i]) continue;
			if(!ig_view_begin(s[i], &v->view[i])) {
				log_err("icpguard: cannot begin a read on %s",
					ig_snapshot_path(s[i]));
				failed = 1;
			}
			ig_snapshot_unref(s[i]);
		}
		/* a failed begin is tried again at the next query; this one
		 * gets no view (SERVFAIL while a snapshot is in force), not a
		 * decision without the order snapshot */
		v->generation = failed ? gen - 1 : gen;
		if(failed) {
			if(urgent) *urgent = NULL;
			return NULL;
		}
	}
	if(urgent)
		*urgent = v->view[IG_SLOT_ORDERS].snap ?
			&v->view[IG_SLOT_ORDERS] : NULL;
	return v->view[IG_SLOT_MAIN].snap ? &v->view[IG_SLOT_MAIN] : NULL;
}

/** what one cache traversal expires */
struct flush_arg {
	/** the module */
	struct icpguard_env* ie;
	/** view on the new snapshot, NULL for a full flush */
	struct ig_view* view;
	/** or: these names (wire, with their subtrees), n of them */
	uint8_t (*names)[IG_NAME_MAX];
	/** count of names */
	int nnames;
	/** the time entries are set to expire at */
	time_t expired;
	/** entries expired */
	unsigned long count;
};

/** traversal callback: the entry is write-locked by slabhash_traverse */
static void
flush_entry(struct lruhash_entry* e, void* arg)
{
	struct flush_arg* fa = (struct flush_arg*)arg;
	struct msgreply_entry* k = (struct msgreply_entry*)e->key;
	struct reply_info* d = (struct reply_info*)e->data;
	int hit;
	if(d->ttl <= fa->expired) return;
	/* everything but a plain positive answer may hide an alias or be a
	 * policy answer (they carry an authority SOA): expire it; rrset
	 * data is not read here, it is not locked */
	hit = (!fa->view && !fa->names) || d->an_numrrsets != 1 ||
		d->ns_numrrsets != 0 ||
		FLAGS_GET_RCODE(d->flags) != LDNS_RCODE_NOERROR;
	if(!hit && fa->names) {
		int i;
		for(i = 0; i < fa->nnames && !hit; i++)
			hit = dname_subdomain_c(k->key.qname, fa->names[i]);
	} else if(!hit) {
		uint8_t key[IG_KEY_MAX];
		size_t labelend[IG_LABELS_MAX];
		int nl;
		ig_name_wire_to_key(k->key.qname, key, labelend, &nl);
		hit = ig_view_changed(fa->view, key, labelend, nl);
	}
	if(hit) {
		d->ttl = fa->expired;
		d->prefetch_ttl = fa->expired;
		d->serve_expired_ttl = fa->expired;
		fa->count++;
	}
}

/**
 * Expire the cached messages whose verdict may have changed: all of them
 * (view and names NULL), those the new snapshot's changed set names (view),
 * or these names with their subtrees.  (A policy answer's own RRsets
 * need nothing: they have a cache key of their own, module/answer.c.)
 * The expiry time is two seconds back: a worker's clock (*env->now) is
 * the second its event loop last woke, one behind at most.
 * @return messages expired.  Watch thread.
 */
static unsigned long
flush_run(struct icpguard_env* ie, struct ig_view* view,
	uint8_t (*names)[IG_NAME_MAX], int nnames)
{
	struct flush_arg fa;
	if(!ie->env || !ie->env->msg_cache) return 0;
	memset(&fa, 0, sizeof(fa));
	fa.ie = ie;
	fa.view = view;
	fa.names = names;
	fa.nnames = nnames;
	fa.expired = time(NULL) - 2;
	slabhash_traverse(ie->env->msg_cache, 1, &flush_entry, &fa);
	atomic_fetch_add(&ie->stats.expired, fa.count);
	return fa.count;
}

/** expire what may have changed; view NULL: everything */
static unsigned long
flush_cache(struct icpguard_env* ie, struct ig_view* view)
{
	return flush_run(ie, view, NULL, 0);
}

/**
 * Orders whose state changed between two instants (they became effective,
 * expired or were lifted) change verdicts without a new snapshot: expire
 * the cached answers of their targets.  Called by the watch thread each
 * tick with the previous tick's time.
 */
static void
order_transitions(struct icpguard_env* ie, int64_t last, int64_t now)
{
	static uint8_t names[256][IG_NAME_MAX];
	int i, n = 0;
	for(i = 0; i < IG_SLOT_COUNT; i++) {
		struct ig_snapshot* s;
		struct ig_view v;
		MDB_cursor* c;
		MDB_val k, val;
		int rc;
		pthread_mutex_lock(&ie->lock);
		s = ie->slot[i].current;
		if(s) ig_snapshot_ref(s);
		pthread_mutex_unlock(&ie->lock);
		if(!s) continue;
		if(!ig_view_begin(s, &v)) {
			ig_snapshot_unref(s);
			continue;
		}
		ig_snapshot_unref(s);
		if(mdb_cursor_open(v.txn, ig_view_dbi(&v, IG_DB_ORDER), &c) != 0) {
			ig_view_end(&v);
			continue;
		}
		rc = mdb_cursor_get(c, &k, &val, MDB_FIRST);
		while(rc == 0) {
			char id[64];
			struct ig_order o;
			if(k.mv_size < sizeof(id)) {
				memcpy(id, k.mv_data, k.mv_size);
				id[k.mv_size] = 0;
				if(ig_view_order(&v, id, &o) &&
					ig_order_active(&o, last) !=
					ig_order_active(&o, now)) {
					size_t pos = 0;
					const char* t;
					int sub;
					size_t wl;
					const char* err;
					log_info("icpguard: order %s %s", id,
						ig_order_active(&o, now) ?
						"in force" : "no longer in force");
					while(n < 256 && ig_order_target_next(&o,
						&pos, &t, &sub))
						if(ig_name_from_text(t, names[n],
							&wl, &err))
							n++;
				}
			}
			rc = mdb_cursor_get(c, &k, &val, MDB_NEXT);
		}
		mdb_cursor_close(c);
		ig_view_end(&v);
	}
	if(n > 0)
		(void)flush_run(ie, NULL, names, n);
}

/** sleep ms milliseconds unless stopping; returns 0 when stopping */
static int
nap(struct icpguard_env* ie, int ms)
{
	while(ms > 0 && !atomic_load(&ie->stopping)) {
		int step = ms > 50 ? 50 : ms;
		struct timespec ts = { 0, (long)step * 1000000L };
		nanosleep(&ts, NULL);
		ms -= step;
	}
	return !atomic_load(&ie->stopping);
}

/**
 * A second expiry pass, 300 ms after a swap: it catches answers that were
 * being decided on the old snapshot during the first pass.  The watch
 * thread keeps polling meanwhile (a takedown order right after another
 * must not wait); one pass is pending at a time.
 */
struct reflush {
	/** the snapshot that was swapped in (a reference), NULL if none */
	struct ig_snapshot* snap;
	/** expire everything instead of its changed names */
	int full;
	/** when, CLOCK_MONOTONIC ms */
	int64_t at_ms;
};

/** monotonic milliseconds */
static int64_t
mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/**
 * Old snapshots wait here until every worker has moved to the new one, so
 * that the last reference (unmapping a file of gigabytes) is dropped by
 * the watch thread, never by a worker in the middle of answering.
 */
#define IG_RETIRED_MAX 16
struct retired {
	/** snapshots the watch thread still holds */
	struct ig_snapshot* snap[IG_RETIRED_MAX];
	/** count */
	int n;
};

/** drop the retired snapshots no worker uses any more (or all: force) */
static void
retired_release(struct retired* r, int force)
{
	int i, j = 0;
	for(i = 0; i < r->n; i++) {
		if(force || ig_snapshot_refs(r->snap[i]) == 1)
			ig_snapshot_unref(r->snap[i]);
		else r->snap[j++] = r->snap[i];
	}
	r->n = j;
}

/** keep an old snapshot until the workers let go of it */
static void
retire(struct retired* r, struct ig_snapshot* s)
{
	if(!s) return;
	if(r->n == IG_RETIRED_MAX) {
		/* a worker idle through 16 swaps: let it drop the oldest */
		ig_snapshot_unref(r->snap[0]);
		memmove(r->snap, r->snap + 1, sizeof(r->snap[0]) *
			(IG_RETIRED_MAX - 1));
		r->n--;
	}
	r->snap[r->n++] = s;
}

/** run (if due, or force) and clear the pending second pass */
static void
reflush_run(struct icpguard_env* ie, struct reflush* rf, int force)
{
	struct ig_view view;
	if(!rf->snap || (!force && mono_ms() < rf->at_ms)) return;
	if(ig_view_begin(rf->snap, &view)) {
		(void)flush_cache(ie, rf->full ? NULL : &view);
		ig_view_end(&view);
	}
	ig_snapshot_unref(rf->snap);
	rf->snap = NULL;
}

/** try the file at a slot's path; swap it in when good */
static void
try_swap(struct icpguard_env* ie, int i, const struct file_id* id,
	struct file_id* refused, struct reflush* rf, struct retired* ret)
{
	struct icpguard_slot* sl = &ie->slot[i];
	struct ig_snapshot* s, *old;
	struct ig_view view;
	char err[1024];
	int full;
	unsigned long n;
	if(!ig_snapshot_open(sl->path, &s, err, sizeof(err))) {
		if(memcmp(refused, id, sizeof(*id)) != 0) {
			log_err("icpguard: refusing new %s: %s; keeping %s",
				slot_name[i], err, sl->current ?
				ig_snapshot_info(sl->current)->ident : "none");
			atomic_fetch_add(&ie->stats.refused, 1);
			*refused = *id;
		}
		return;
	}
	/* start reading the new file in before the workers touch it */
	ig_snapshot_prefault(s);
	pthread_mutex_lock(&ie->lock);
	old = sl->current;
	sl->current = s;
	atomic_fetch_add(&ie->generation, 1);
	pthread_mutex_unlock(&ie->lock);
	file_id_keep(sl, id);
	atomic_fetch_add(&ie->stats.swaps, 1);
	full = !old || ig_snapshot_info(s)->changed_all ||
		ig_snapshot_info(s)->serial !=
		ig_snapshot_info(old)->serial + 1;
	log_info("icpguard: %s %s in force (was %s)", slot_name[i],
		ig_snapshot_info(s)->ident,
		old ? ig_snapshot_info(old)->ident : "none");
	index_note(s);
	retire(ret, old);
	if(!ig_view_begin(s, &view)) return;
	n = flush_cache(ie, full ? NULL : &view);
	ig_view_end(&view);
	verbose(VERB_OPS, "icpguard: expired %lu cached messages after the "
		"swap (%s)", n, full ? "all" : "changed names");
	/* the previous swap's second pass now, this one's in 300 ms */
	reflush_run(ie, rf, 1);
	ig_snapshot_ref(s);
	rf->snap = s;
	rf->full = full;
	rf->at_ms = mono_ms() + 300;
}

/** write the counters as Prometheus text (temp file + rename) */
static void
stats_dump(struct icpguard_env* ie)
{
	char tmp[1100];
	FILE* out;
	int r, i;
	snprintf(tmp, sizeof(tmp), "%s~", ie->cfg.stats_file);
	if(!(out = fopen(tmp, "w"))) return;
	fprintf(out, "# HELP icpguard_verdicts_total Verdicts taken by reason "
		"(cache hits are not verdicts).\n"
		"# TYPE icpguard_verdicts_total counter\n");
	for(r = 0; r < IG_REASON_COUNT; r++)
		fprintf(out, "icpguard_verdicts_total{reason=\"%s\"} %lu\n",
			ig_reason_name((enum ig_reason)r),
			atomic_load(&ie->stats.verdicts[r]));
	fprintf(out, "# TYPE icpguard_snapshot_serial gauge\n");
	pthread_mutex_lock(&ie->lock);
	for(i = 0; i < IG_SLOT_COUNT; i++) {
		const struct ig_snapshot_info* si = ie->slot[i].current ?
			ig_snapshot_info(ie->slot[i].current) : NULL;
		if(!si) continue;
		fprintf(out, "icpguard_snapshot_serial{slot=\"%s\"} %llu\n"
			"icpguard_snapshot_created_seconds{slot=\"%s\"} %lld\n",
			i ? "orders" : "main", (unsigned long long)si->serial,
			i ? "orders" : "main", (long long)si->created);
	}
	pthread_mutex_unlock(&ie->lock);
	fprintf(out, "# TYPE icpguard_snapshot_swaps_total counter\n"
		"icpguard_snapshot_swaps_total %lu\n"
		"# TYPE icpguard_snapshot_refused_total counter\n"
		"icpguard_snapshot_refused_total %lu\n"
		"# TYPE icpguard_cache_expired_total counter\n"
		"icpguard_cache_expired_total %lu\n"
		"# TYPE icpguard_audit_sent_total counter\n"
		"icpguard_audit_sent_total %lu\n"
		"# TYPE icpguard_audit_dropped_total counter\n"
		"icpguard_audit_dropped_total %lu\n",
		atomic_load(&ie->stats.swaps), atomic_load(&ie->stats.refused),
		atomic_load(&ie->stats.expired), atomic_load(&ie->audit.sent),
		icpguard_audit_dropped(ie));
	if(fclose(out) != 0 || rename(tmp, ie->cfg.stats_file) != 0)
		unlink(tmp);
}

/** the watch thread */
static void*
watch_main(void* arg)
{
	struct icpguard_env* ie = (struct icpguard_env*)arg;
	struct file_id refused[IG_SLOT_COUNT];
	struct reflush rf = { NULL, 0, 0 };
	struct retired ret;
	int i, ticks = 0;
	char host[128];
	memset(refused, 0, sizeof(refused));
	memset(&ret, 0, sizeof(ret));
	log_thread_set(NULL);
	if(ie->cfg.audit_identity[0])
		snprintf(host, sizeof(host), "%s", ie->cfg.audit_identity);
	else if(gethostname(host, sizeof(host)) != 0 || strchr(host, '"'))
		snprintf(host, sizeof(host), "unbound");
	int64_t last = (int64_t)time(NULL);
	while(nap(ie, ie->cfg.poll_ms)) {
		int64_t now = (int64_t)time(NULL);
		if(now != last) {
			order_transitions(ie, last, now);
			last = now;
		}
		/* order hit counts, about once a second */
		ticks += ie->cfg.poll_ms;
		if(ticks >= 1000) {
			ticks = 0;
			if(ie->cfg.order_stats[0])
				(void)icpguard_hits_dump(&ie->hits,
					ie->cfg.order_stats, host);
			if(ie->cfg.stats_file[0])
				stats_dump(ie);
		}
		for(i = 0; i < IG_SLOT_COUNT; i++) {
			struct file_id id;
			if(!ie->slot[i].path[0] ||
				!file_id_get(ie->slot[i].path, &id))
				continue;
			if(file_id_same(&ie->slot[i], &id) ||
				memcmp(&id, &refused[i], sizeof(id)) == 0)
				continue;
			try_swap(ie, i, &id, &refused[i], &rf, &ret);
		}
		reflush_run(ie, &rf, 0);
		retired_release(&ret, 0);
	}
	if(rf.snap) ig_snapshot_unref(rf.snap);
	retired_release(&ret, 1);
	return NULL;
}

int
icpguard_watch_start(struct icpguard_env* ie)
{
	int rc = pthread_create(&ie->watcher, NULL, watch_main, ie);
	if(rc != 0) {
		log_err("icpguard: cannot start the watch thread: %s",
			strerror(rc));
		return 0;
	}
	ie->watching = 1;
	return 1;
}

void
icpguard_watch_stop(struct icpguard_env* ie)
{
	struct icpguard_view* v, *next;
	int i;
	atomic_store(&ie->stopping, 1);
	if(ie->watching) pthread_join(ie->watcher, NULL);
	ie->watching = 0;
	if(ie->cfg.order_stats[0])
		(void)icpguard_hits_dump(&ie->hits, ie->cfg.order_stats,
			ie->cfg.audit_identity[0] ? ie->cfg.audit_identity :
			"unbound");
	for(v = ie->views; v; v = next) {
		int i;
		next = v->next;
		for(i = 0; i < IG_SLOT_COUNT; i++)
			ig_view_end(&v->view[i]);
		free(v);
	}
	ie->views = NULL;
	for(i = 0; i < IG_SLOT_COUNT; i++) {
		ig_snapshot_unref(ie->slot[i].current);
		ie->slot[i].current = NULL;
	}
}
