/*
 * knot/source.c - shared snapshot sources of the Knot module.
 *
 * \file
 * See knot/source.h.  Locking: one process-wide mutex guards the list of
 * sources and their reference counts; each source's own mutex guards its
 * snapshots in force, its attached instances (for logging) and its
 * generation counter's bump together with the pointer change.  Workers
 * read the generation without a lock and take the mutex only to renew
 * their views.
 */
#include "config.h"
#include "knot/source.h"
#include "common/stats_text.h"
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>

/** the slots of a source */
enum { SLOT_MAIN = 0, SLOT_ORDERS = 1, SLOT_DELTA = 2, SLOT_COUNT = 3 };

/** one file kept in force */
struct source_slot {
	/** the path ("" for none) */
	char* path;
	/** the snapshot in force, NULL when none (guarded by the lock) */
	struct ig_snapshot* snap;
	/** the identity of the file behind snap */
	struct ig_file_id in_force;
	/** the identity of the last file refused (logged once) */
	struct ig_file_id refused;
	/** a delta snapshot held back (it names another main snapshot),
	 * and the main snapshot's file then in force: looked at again when
	 * either changes (SLOT_DELTA only) */
	struct ig_file_id held, held_main;
};

/** one worker's views */
struct thread_views {
	/** per slot; snap NULL when none */
	struct ig_view view[SLOT_COUNT];
	/** the generation they were begun at (0: never) */
	unsigned long gen;
	/** what BEGIN decided for the worker's query (source.h) */
	struct ig_knot_memo memo;
};

struct ig_knot_source {
	/** the next source in the process-wide list */
	struct ig_knot_source* next;
	/** references (attached instances), guarded by the list lock */
	int refs;
	/** guards slot[].snap, mods, and generation bumps */
	pthread_mutex_t lock;
	/** wakes the watch thread to stop */
	pthread_cond_t wake;
	/** the files */
	struct source_slot slot[SLOT_COUNT];
	/** ms between checks */
	int poll_ms;
	/** bumped at every swap (starts at 1) */
	atomic_ulong generation;
	/** per worker thread */
	struct thread_views* tv;
	/** number of tv entries */
	unsigned ntv;
	/** attached instances, the first one logs */
	knotd_mod_t** mods;
	/** their count and room */
	size_t nmods, maxmods;
	/** the watch thread */
	pthread_t watcher;
	/** tells it to stop (guarded by lock) */
	int stopping;
	/** counters */
	atomic_ulong swaps, refused;
	/** verdicts by reason, for the stats file */
	atomic_ulong verdicts[IG_REASON_COUNT];
	/** the stats file ("" none) and when it was last written (ms) */
	char* stats_file;
	/** monotonic ms of its last dump */
	long long stats_at;
	/** the audit keys the source was opened with */
	struct ig_knot_audit_cfg audit_cfg;
	/** the dnstap audit writer, NULL when off */
	struct ig_knot_audit* audit;
};

/** every source of the process */
static struct ig_knot_source* sources;
/** guards sources and refs */
static pthread_mutex_t sources_lock = PTHREAD_MUTEX_INITIALIZER;

/** slot names for log lines */
static const char* const slot_label[SLOT_COUNT] = { "snapshot",
	"order snapshot", "delta snapshot" };

/** the order the watch thread looks at the slots: the order snapshot
 * first (a takedown must not wait for the verification of a large main
 * snapshot), the delta last (over the main snapshot just taken) */
static const int slot_order[SLOT_COUNT] = { SLOT_ORDERS, SLOT_MAIN,
	SLOT_DELTA };

/** log through an attached instance (or syslog when there is none);
 * takes the source lock.  Also the audit writer's logger
 * (common/host_log.h), arg the source.
 * knotd_mod_vlog prints the instance's zone name, and knotd frees a
 * zone's name before it unloads the zone's modules (zone_free, Knot 3.2
 * to 3.5): so an instance leaves the list first thing in its unload, and
 * the newest instance logs (at a reload the old ones are unloaded after
 * the new ones are loaded).  At the last unload none is left: the stop's
 * lines go to syslog, and the final counts to the stats file. */
static void
src_vlog(void* arg, int prio, const char* fmt, va_list ap)
{
	struct ig_knot_source* src = (struct ig_knot_source*)arg;
	pthread_mutex_lock(&src->lock);
	if(src->nmods > 0)
		knotd_mod_vlog(src->mods[src->nmods - 1], prio, fmt, ap);
	else vsyslog(prio, fmt, ap);
	pthread_mutex_unlock(&src->lock);
}

/** src_vlog with the arguments given here */
static void src_log(struct ig_knot_source* src, int prio, const char* fmt,
	...) __attribute__((format(printf, 3, 4)));
static void
src_log(struct ig_knot_source* src, int prio, const char* fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	src_vlog(src, prio, fmt, ap);
	va_end(ap);
}

/** the file at a slot's path is new: verify it and put it in force, or
 * refuse it (logged once per file).  Watch thread, or attach. */
static void
slot_take(struct ig_knot_source* src, int i, const struct ig_file_id* id)
{
	struct source_slot* sl = &src->slot[i];
	struct ig_snapshot* s, *old, *dropped;
	char err[1024];
	int sealed;
	if(!ig_snapshot_open_verified(sl->path, &s, &sealed, err,
		sizeof(err))) {
		char was[IG_SNAPSHOT_IDENT_MAX];
		pthread_mutex_lock(&src->lock);
		snprintf(was, sizeof(was), "%s", sl->snap ?
			ig_snapshot_info(sl->snap)->ident : "none");
		pthread_mutex_unlock(&src->lock);
		sl->refused = *id;
		atomic_fetch_add(&src->refused, 1);
		src_log(src, LOG_ERR, "icpguard: refusing %s: %s; keeping %s",
			slot_label[i], err, was);
		return;
	}
	if(i != SLOT_DELTA) ig_snapshot_prefault(s);
	pthread_mutex_lock(&src->lock);
	if(i == SLOT_DELTA && !ig_snapshot_delta_over(s,
		src->slot[SLOT_MAIN].snap)) {
		/* it names another main snapshot: held back until that one
		 * (or one that folded it in) is in force */
		pthread_mutex_unlock(&src->lock);
		sl->held = *id;
		sl->held_main = src->slot[SLOT_MAIN].in_force;
		src_log(src, LOG_INFO, "icpguard: delta snapshot %s held "
			"back: its snapshot is not in force",
			ig_snapshot_info(s)->ident);
		ig_snapshot_unref(s);
		return;
	}
	old = sl->snap;
	sl->snap = s;
	dropped = NULL;
	if(i == SLOT_MAIN && src->slot[SLOT_DELTA].snap &&
		!ig_snapshot_delta_over(src->slot[SLOT_DELTA].snap, s)) {
		/* the delta names the snapshot swapped out: the new one
		 * holds its changes (the loader folds them in), and the delta
		 * over it is taken next (its file is looked at again); both
		 * changes in one generation, so no worker reads the old delta
		 * over the new snapshot */
		dropped = src->slot[SLOT_DELTA].snap;
		src->slot[SLOT_DELTA].snap = NULL;
		memset(&src->slot[SLOT_DELTA].in_force, 0,
			sizeof(src->slot[SLOT_DELTA].in_force));
	}
	atomic_fetch_add(&src->generation, 1);
	pthread_mutex_unlock(&src->lock);
	sl->in_force = *id;
	atomic_fetch_add(&src->swaps, 1);
	src_log(src, LOG_INFO, "icpguard: %s %s in force (%s, was %s)",
		slot_label[i], ig_snapshot_info(s)->ident, sl->path,
		old ? ig_snapshot_info(old)->ident : "none");
	if(dropped)
		src_log(src, LOG_INFO, "icpguard: delta snapshot %s no longer "
			"in force", ig_snapshot_info(dropped)->ident);
	/* workers still reading old hold their own references */
	ig_snapshot_unref(old);
	ig_snapshot_unref(dropped);
}

/** look at a slot's file once */
static void
slot_check(struct ig_knot_source* src, int i)
{
	struct source_slot* sl = &src->slot[i];
	struct ig_file_id id;
	if(!sl->path[0] || !ig_file_id_of(sl->path, &id)) return;
	if(ig_file_id_equal(&id, &sl->in_force) ||
		ig_file_id_equal(&id, &sl->refused))
		return;
	if(i == SLOT_DELTA && ig_file_id_equal(&id, &sl->held) &&
		ig_file_id_equal(&src->slot[SLOT_MAIN].in_force,
		&sl->held_main))
		return;
	slot_take(src, i, &id);
}

/** monotonic milliseconds */
static long long
mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/** write the counters in Prometheus text (common/stats_text.h), the
 * audit's as given.  Watch thread, or the last unload after it ended;
 * without the lock held. */
static void
stats_write(struct ig_knot_source* src, unsigned long audit_sent,
	unsigned long audit_dropped)
{
	struct ig_stats_common c;
	char tmp[1200];
	FILE* out;
	int r, i;
	if(!src->stats_file[0] ||
		!(out = ig_stats_begin(src->stats_file, tmp, sizeof(tmp))))
		return;
	for(r = 0; r < IG_REASON_COUNT; r++)
		c.verdicts[r] = atomic_load(&src->verdicts[r]);
	c.swaps = atomic_load(&src->swaps);
	c.refused = atomic_load(&src->refused);
	c.audit_sent = audit_sent;
	c.audit_dropped = audit_dropped;
	pthread_mutex_lock(&src->lock);
	c.slot[0] = src->slot[SLOT_MAIN].snap ?
		ig_snapshot_info(src->slot[SLOT_MAIN].snap) : NULL;
	c.slot[1] = src->slot[SLOT_ORDERS].snap ?
		ig_snapshot_info(src->slot[SLOT_ORDERS].snap) : NULL;
	ig_stats_common_write(out, &c);
	pthread_mutex_unlock(&src->lock);
	i = ig_stats_end(out, tmp, src->stats_file);
	(void)i;
}

/** stats_write at most once a second.  Watch thread. */
static void
stats_dump(struct ig_knot_source* src)
{
	unsigned long sent, dropped;
	long long now = mono_ms();
	if(!src->stats_file[0] || now - src->stats_at < 1000) return;
	src->stats_at = now;
	ig_knot_audit_counts(src->audit, &sent, &dropped);
	stats_write(src, sent, dropped);
}

/** the watch thread */
static void*
watch_main(void* arg)
{
	struct ig_knot_source* src = (struct ig_knot_source*)arg;
	int i;
	pthread_mutex_lock(&src->lock);
	while(!src->stopping) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += (long)src->poll_ms * 1000000L;
		until.tv_sec += until.tv_nsec / 1000000000L;
		until.tv_nsec %= 1000000000L;
		(void)pthread_cond_timedwait(&src->wake, &src->lock, &until);
		if(src->stopping) break;
		pthread_mutex_unlock(&src->lock);
		for(i = 0; i < SLOT_COUNT; i++)
			slot_check(src, slot_order[i]);
		stats_dump(src);
		pthread_mutex_lock(&src->lock);
	}
	pthread_mutex_unlock(&src->lock);
	return NULL;
}

/** free a source that has no thread running and no reference */
static void
source_free(struct ig_knot_source* src)
{
	unsigned t;
	int i;
	if(!src) return;
	for(t = 0; t < src->ntv; t++)
		for(i = 0; i < SLOT_COUNT; i++)
			if(src->tv[t].view[i].snap)
				ig_view_end(&src->tv[t].view[i]);
	for(i = 0; i < SLOT_COUNT; i++) {
		ig_snapshot_unref(src->slot[i].snap);
		free(src->slot[i].path);
	}
	pthread_cond_destroy(&src->wake);
	pthread_mutex_destroy(&src->lock);
	free(src->stats_file);
	free(src->tv);
	free(src->mods);
	free(src);
}

/** the audit keys of a configuration (all off when it has none) */
static void
audit_cfg_of(const struct ig_knot_source_cfg* cfg,
	struct ig_knot_audit_cfg* out)
{
	if(cfg->audit) *out = *cfg->audit;
	else memset(out, 0, sizeof(*out));
}

/** same paths, poll interval and audit keys */
static int
source_matches(const struct ig_knot_source* src,
	const struct ig_knot_source_cfg* cfg)
{
	struct ig_knot_audit_cfg a;
	const struct ig_knot_audit_cfg* b = &src->audit_cfg;
	audit_cfg_of(cfg, &a);
	return strcmp(src->slot[SLOT_MAIN].path, cfg->snapshot) == 0 &&
		strcmp(src->slot[SLOT_ORDERS].path, cfg->orders ? cfg->orders :
		"") == 0 && strcmp(src->slot[SLOT_DELTA].path, cfg->delta ?
		cfg->delta : "") == 0 && src->poll_ms == cfg->poll_ms &&
		strcmp(a.socket_path, b->socket_path) == 0 &&
		strcmp(a.tcp_addr, b->tcp_addr) == 0 &&
		a.tcp_port == b->tcp_port &&
		strcmp(a.identity, b->identity) == 0 &&
		a.queue == b->queue && a.sample == b->sample;
}

/** add mod to the instances that may log; source lock not held */
static int
mods_add(struct ig_knot_source* src, knotd_mod_t* mod)
{
	pthread_mutex_lock(&src->lock);
	if(src->nmods == src->maxmods) {
		size_t n = src->maxmods ? src->maxmods * 2 : 8;
		knotd_mod_t** m = realloc(src->mods, n * sizeof(*m));
		if(!m) {
			pthread_mutex_unlock(&src->lock);
			return 0;
		}
		src->mods = m;
		src->maxmods = n;
	}
	src->mods[src->nmods++] = mod;
	pthread_mutex_unlock(&src->lock);
	return 1;
}

/** a new source: open the files, start the watch thread */
static struct ig_knot_source*
source_open(const struct ig_knot_source_cfg* cfg, knotd_mod_t* mod)
{
	struct ig_knot_source* src = calloc(1, sizeof(*src));
	int i, k, rc;
	if(!src) return NULL;
	pthread_mutex_init(&src->lock, NULL);
	pthread_cond_init(&src->wake, NULL);
	atomic_store(&src->generation, 1);
	src->poll_ms = cfg->poll_ms > 0 ? cfg->poll_ms : 100;
	src->slot[SLOT_MAIN].path = strdup(cfg->snapshot);
	src->slot[SLOT_ORDERS].path = strdup(cfg->orders ? cfg->orders : "");
	src->slot[SLOT_DELTA].path = strdup(cfg->delta ? cfg->delta : "");
	src->stats_file = strdup(cfg->stats_file ? cfg->stats_file : "");
	audit_cfg_of(cfg, &src->audit_cfg);
	src->ntv = knotd_mod_threads(mod);
	src->tv = calloc(src->ntv ? src->ntv : 1, sizeof(*src->tv));
	if(!src->slot[SLOT_MAIN].path || !src->slot[SLOT_ORDERS].path ||
		!src->slot[SLOT_DELTA].path || !src->stats_file || !src->tv || !mods_add(src, mod)) {
		source_free(src);
		return NULL;
	}
	for(k = 0; k < SLOT_COUNT; k++) {
		struct ig_file_id id;
		i = slot_order[k];
		if(!src->slot[i].path[0]) continue;
		if(!ig_file_id_of(src->slot[i].path, &id)) {
			src_log(src, i == SLOT_MAIN ? LOG_ERR : LOG_INFO,
				"icpguard: no %s at %s yet (%s)", slot_label[i],
				src->slot[i].path, strerror(errno));
			continue;
		}
		slot_take(src, i, &id);
	}
	if(!ig_knot_audit_start(&src->audit_cfg, src->ntv, src_vlog, src,
		&src->audit)) {
		source_free(src);
		return NULL;
	}
	if((rc = pthread_create(&src->watcher, NULL, watch_main, src)) != 0) {
		src_log(src, LOG_ERR, "icpguard: cannot start the watch "
			"thread: %s", strerror(rc));
		ig_knot_audit_stop(src->audit, NULL, NULL);
		source_free(src);
		return NULL;
	}
	return src;
}

struct ig_knot_source*
ig_knot_source_attach(const struct ig_knot_source_cfg* cfg, knotd_mod_t* mod)
{
	struct ig_knot_source* src;
	pthread_mutex_lock(&sources_lock);
	for(src = sources; src; src = src->next)
		if(source_matches(src, cfg)) break;
	if(src) {
		if(!mods_add(src, mod)) src = NULL;
		else src->refs++;
	} else if((src = source_open(cfg, mod)) != NULL) {
		src->refs = 1;
		src->next = sources;
		sources = src;
	}
	pthread_mutex_unlock(&sources_lock);
	return src;
}

void
ig_knot_source_detach(struct ig_knot_source* src, knotd_mod_t* mod)
{
	struct ig_knot_source** p;
	unsigned long sent, dropped;
	size_t i;
	int last;
	if(!src) return;
	/* first: mod's zone name is already freed (src_vlog) */
	pthread_mutex_lock(&src->lock);
	for(i = 0; i < src->nmods; i++)
		if(src->mods[i] == mod) {
			memmove(src->mods + i, src->mods + i + 1,
				(src->nmods - i - 1) * sizeof(*src->mods));
			src->nmods--;
			break;
		}
	pthread_mutex_unlock(&src->lock);
	pthread_mutex_lock(&sources_lock);
	last = (--src->refs == 0);
	if(last)
		for(p = &sources; *p; p = &(*p)->next)
			if(*p == src) {
				*p = src->next;
				break;
			}
	pthread_mutex_unlock(&sources_lock);
	if(!last) return;
	pthread_mutex_lock(&src->lock);
	src->stopping = 1;
	pthread_cond_signal(&src->wake);
	pthread_mutex_unlock(&src->lock);
	pthread_join(src->watcher, NULL);
	/* what was queued reaches the collector (or is counted dropped);
	 * the final counts go to the stats file, whatever became of the
	 * stop line (src_vlog) */
	ig_knot_audit_stop(src->audit, &sent, &dropped);
	src->audit = NULL;
	stats_write(src, sent, dropped);
	source_free(src);
}

/** begin views on the snapshots in force (with their references taken
 * under the lock); @return 0 when a begin failed (all ended then) */
static int
views_begin(struct ig_knot_source* src, struct ig_view* view,
	unsigned long* gen)
{
	struct ig_snapshot* s[SLOT_COUNT];
	int i, ok = 1;
	pthread_mutex_lock(&src->lock);
	*gen = atomic_load(&src->generation);
	for(i = 0; i < SLOT_COUNT; i++)
		if((s[i] = src->slot[i].snap) != NULL) ig_snapshot_ref(s[i]);
	pthread_mutex_unlock(&src->lock);
	for(i = 0; i < SLOT_COUNT; i++) {
		if(!s[i]) continue;
		if(ok && !ig_view_begin(s[i], &view[i])) {
			src_log(src, LOG_ERR, "icpguard: cannot begin a read on "
				"%s", ig_snapshot_path(s[i]));
			ok = 0;
		}
		ig_snapshot_unref(s[i]);
	}
	if(!ok)
		for(i = 0; i < SLOT_COUNT; i++)
			if(view[i].snap) ig_view_end(&view[i]);
	return ok;
}

int
ig_knot_source_read(struct ig_knot_source* src, unsigned thread_id,
	struct ig_knot_read* rd)
{
	struct ig_view* view;
	memset(rd, 0, sizeof(*rd));
	if(thread_id < src->ntv) {
		struct thread_views* tv = &src->tv[thread_id];
		unsigned long gen = atomic_load(&src->generation);
		int i;
		view = tv->view;
		if(tv->gen != gen) {
			for(i = 0; i < SLOT_COUNT; i++)
				if(view[i].snap) ig_view_end(&view[i]);
			tv->gen = 0;
			if(!views_begin(src, view, &gen)) return 0;
			tv->gen = gen;
		}
		rd->gen = tv->gen;
		rd->memo = &tv->memo;
	} else {
		unsigned long gen;
		view = rd->tmp;
		if(!views_begin(src, view, &gen)) return 0;
		rd->temporary = 1;
	}
	rd->main = view[SLOT_MAIN].snap ? &view[SLOT_MAIN] : NULL;
	rd->urgent = view[SLOT_ORDERS].snap ? &view[SLOT_ORDERS] : NULL;
	/* an empty delta (the one after a fold) changes nothing: the
	 * verdict does not walk it */
	rd->delta = view[SLOT_DELTA].snap && ig_snapshot_info(
		view[SLOT_DELTA].snap)->delta_names > 0 ?
		&view[SLOT_DELTA] : NULL;
	return 1;
}

void
ig_knot_source_done(struct ig_knot_read* rd)
{
	int i;
	if(!rd->temporary) return;
	for(i = 0; i < SLOT_COUNT; i++)
		if(rd->tmp[i].snap) ig_view_end(&rd->tmp[i]);
	rd->temporary = 0;
}

void
ig_knot_source_count_verdict(struct ig_knot_source* src, int reason)
{
	if(reason >= 0 && reason < IG_REASON_COUNT)
		atomic_fetch_add_explicit(&src->verdicts[reason], 1,
			memory_order_relaxed);
}

struct ig_knot_audit*
ig_knot_source_audit(struct ig_knot_source* src)
{
	return src->audit;
}

void
ig_knot_source_counts(struct ig_knot_source* src, unsigned long* swaps,
	unsigned long* refused)
{
	*swaps = atomic_load(&src->swaps);
	*refused = atomic_load(&src->refused);
}
