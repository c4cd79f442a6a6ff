/*
 * loader/loader.c - icpguard-loader: pull signed feeds, publish snapshots.
 *
 * \file
 * See loader.h for the shape of the daemon, docs/loader.md for its
 * operation and docs/feeds.md for the protocol.
 *
 *   icpguard-loader [-c FILE] [--foreground] [--once] [--allow-shrink]
 *   icpguard-loader [-c FILE] rollback | allow-shrink KIND | checkconf
 */
#include "config.h"
#include "loader/loader.h"
#include "loader/prewrite.h"
#include "loader/fetch.h"
#include "lib/hugepages.h"
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

static void pull_next(struct loader* L);
static void fetch_item(struct loader* L, struct feed_rt* f);

void
loader_log(struct loader* L, int prio, const char* fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if(L && L->cfg.syslog) {
		vsyslog(prio, fmt, ap);
	} else {
		char ts[32];
		time_t now = time(NULL);
		struct tm tm;
		localtime_r(&now, &tm);
		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
		fprintf(stderr, "%s icpguard-loader[%d]: %s", ts, (int)getpid(),
			prio <= LOG_ERR ? "error: " : prio == LOG_WARNING ?
			"warning: " : "");
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
	}
	va_end(ap);
}

/** the configuration of a feed */
static const struct loader_feed_cfg*
feed_cfg(struct loader* L, const struct feed_rt* f)
{
	int i;
	for(i = 0; i < L->cfg.nfeeds; i++)
		if(L->cfg.feed[i].kind == f->kind) return &L->cfg.feed[i];
	return NULL;
}

/** count a code */
static void
count(struct code_count* v, int* n, const char* code, uint64_t by)
{
	int i;
	for(i = 0; i < *n; i++)
		if(!strcmp(v[i].code, code)) {
			v[i].n += by;
			return;
		}
	if(*n < LOADER_MAX_CODES) {
		v[*n].code = code;
		v[(*n)++].n = by;
	}
}

/** the pull of a feed is over (good or bad): clean up, next feed */
static void
feed_end(struct loader* L, struct feed_rt* f)
{
	json_decref(f->latest);
	json_decref(f->plan);
	f->latest = f->plan = NULL;
	L->cur++;
	pull_next(L);
}

/** a feed's pull failed: keep what is in force, back off */
static void
feed_fail(struct loader* L, struct feed_rt* f, const char* code,
	const char* fmt, ...) __attribute__((format(printf, 4, 5)));
static void
feed_fail(struct loader* L, struct feed_rt* f, const char* code,
	const char* fmt, ...)
{
	va_list ap;
	int64_t now = (int64_t)time(NULL);
	va_start(ap, fmt);
	vsnprintf(f->msg, sizeof(f->msg), fmt, ap);
	va_end(ap);
	snprintf(f->result, sizeof(f->result), "%s", code);
	f->failures++;
	count(f->refused, &f->nrefused, code, 1);
	f->backoff = f->backoff ? f->backoff * 2 : L->cfg.retry_min;
	if(f->backoff > L->cfg.retry_max) f->backoff = L->cfg.retry_max;
	f->next_try = now + f->backoff;
	L->exit_code = 1;
	loader_log(L, LOG_ERR, "feed %s not updated (%s): %s; the serial in "
		"force stays; retry in %d s", ig_feed_kind_name(f->kind), code,
		f->msg, f->backoff);
	feed_end(L, f);
}

/** a feed's pull is over and good */
static void
feed_ok(struct loader* L, struct feed_rt* f, int unchanged)
{
	int64_t now = (int64_t)time(NULL);
	f->backoff = 0;
	f->last_ok = now;
	f->next_try = now + L->cfg.interval;
	if(unchanged) f->unchanged++;
	snprintf(f->result, sizeof(f->result), "ok");
	feed_end(L, f);
}

/** the path of a download */
static void
dl_path(struct loader* L, const struct feed_rt* f, const char* what,
	char* out, size_t outlen)
{
	snprintf(out, outlen, "%s/dl/%s.%s.tmp", L->cfg.state_dir,
		ig_feed_kind_name(f->kind), what);
}

/**
 * A delta could not be had or applied: fall back to the full feed, once.
 * @return 1 fell back (the pull goes on), 0 not a delta or already did.
 */
static int
fall_back(struct loader* L, struct feed_rt* f, const char* code,
	const char* why)
{
	json_t* e = json_array_get(f->plan, f->idx);
	if(!json_object_get(e, "base") || f->fell_back) return 0;
	/* the full feed would be refused for the same reason */
	if(code && (!strcmp(code, "shrink") || !strcmp(code,
		"serial_backwards")))
		return 0;
	loader_log(L, LOG_WARNING, "feed %s: delta %s: %s; falling back to the "
		"full feed", ig_feed_kind_name(f->kind), json_string_value(
		json_object_get(e, "path")), why);
	if(code) count(f->refused, &f->nrefused, code, 1);
	f->fell_back = 1;
	json_decref(f->plan);
	f->plan = json_array();
	json_array_append(f->plan, json_object_get(f->latest, "full"));
	f->idx = 0;
	fetch_item(L, f);
	return 1;
}

/** the monotonic clock in seconds */
static double
mono_now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/** a full filings feed is about to be applied: begin the next snapshot
 * beside it (loader/prewrite.h); NULL otherwise or when it cannot begin
 * (the publish then copies the filings from the state) */
static struct prewrite*
prewrite_start(struct loader* L, const struct feed_rt* f, json_t* e)
{
	char err[1024];
	if(f->kind != ICPGUARD__FEED__KIND__FILINGS) return NULL;
	/* filings applied again (a delta after the full, or another full):
	 * what was written beside the last no longer holds them */
	prewrite_abort(L->prewrite);
	L->prewrite = NULL;
	if(json_integer_value(json_object_get(e, "base")) != 0) return NULL;
	if(!(L->prewrite = prewrite_begin(&L->cfg, err, sizeof(err))))
		loader_log(L, LOG_WARNING, "feed filings: the snapshot is not "
			"written beside the feed, the publish copies it: %s",
			err);
	return L->prewrite;
}

/** the feed was applied or refused: keep the prewrite for the publish
 * when it holds the feed, else drop it */
static void
prewrite_end(struct loader* L, struct prewrite* used,
	const struct apply_result* r)
{
	if(!used) return;
	if(!r->code && r->prewritten && prewrite_wait(L->prewrite)) {
		prewrite_set_filings(L->prewrite, r->serial);
		return;
	}
	if(!r->code && !prewrite_wait(L->prewrite))
		loader_log(L, LOG_WARNING, "feed filings: the snapshot written "
			"beside the feed failed, the publish copies it: %s",
			prewrite_error(L->prewrite));
	prewrite_abort(L->prewrite);
	L->prewrite = NULL;
}

/** wait until the last payload_discard is done */
static void
payload_discard_wait(struct loader* L)
{
	if(L->discard_on) pthread_join(L->discard, NULL);
	L->discard_on = 0;
}

/** the discard thread: remove the file, free its name */
static void*
discard_run(void* arg)
{
	unlink(arg);
	free(arg);
	return NULL;
}

/** remove an applied payload on a thread of its own: the kernel takes
 * most of a second to free a gigabyte file's pages and blocks, which the
 * publish that follows need not wait for.  The file is renamed first (a
 * name still under the download directory's .tmp rule, removed at start
 * after a crash), so the next download of the same feed cannot meet the
 * removal. */
static void
payload_discard(struct loader* L, const char* path)
{
	char gone[2200], *p;
	payload_discard_wait(L);
	snprintf(gone, sizeof(gone), "%s.discard", path);
	if(rename(path, gone) != 0 || !(p = strdup(gone))) {
		unlink(path);
		unlink(gone);
		return;
	}
	if(pthread_create(&L->discard, NULL, discard_run, p) != 0) {
		unlink(p);
		free(p);
		return;
	}
	L->discard_on = 1;
}

/** the apply's thread: state_apply on the growing payload */
static void*
apply_run_thread(void* arg)
{
	struct apply_run* a = arg;
	state_apply(a->state, a->kind, a->payload, a->sig, &a->o, &a->r);
	return NULL;
}

static void payload_cb(const struct fetch_result* r, void* arg);

/**
 * The signature is here: download the payload and apply it as it
 * arrives, on a thread of its own (the records are checked and stored
 * while the rest downloads; nothing is committed before the download's
 * size and digest are the signed ones: state_apply).  The loop keeps
 * serving status and orders meanwhile; payload_cb joins the thread.
 */
static void
apply_begin(struct loader* L, struct feed_rt* f)
{
	const struct loader_feed_cfg* fc = feed_cfg(L, f);
	json_t* e = json_array_get(f->plan, f->idx);
	struct apply_run* a = &L->apply;
	char url[2200], err[512];
	memset(a, 0, sizeof(*a));
	dl_path(L, f, "payload", a->payload, sizeof(a->payload));
	dl_path(L, f, "sig", a->sig, sizeof(a->sig));
	snprintf(a->quar, sizeof(a->quar), "%s/quarantine/%s.jsonl",
		L->cfg.state_dir, ig_feed_kind_name(f->kind));
	snprintf(a->shrink, sizeof(a->shrink), "%s/allow-shrink.%s",
		L->cfg.state_dir, ig_feed_kind_name(f->kind));
	snprintf(a->origin, sizeof(a->origin), "%s%s", fc->url,
		json_string_value(json_object_get(e, "path")));
	a->state = L->state;
	a->kind = f->kind;
	a->o.keys = &L->keys;
	a->o.allowed = fc->keys;
	a->o.nallowed = fc->nkeys;
	a->o.expect_serial = (uint64_t)json_integer_value(json_object_get(e,
		"serial"));
	a->o.max_shrink = L->cfg.max_shrink;
	a->o.allow_shrink = L->allow_shrink || access(a->shrink, F_OK) == 0;
	a->o.quarantine = a->quar;
	a->o.origin = a->origin;
	a->o.grow = &a->grow;
	snprintf(url, sizeof(url), "%s", a->origin);
	growing_init(&a->grow);
	a->active = 1;
	f->fetch_t0 = mono_now();
	if(!fetch_start(L->base, L->ssl, url, a->payload, NULL, NULL,
		L->cfg.timeout, &a->grow, payload_cb, L, err, sizeof(err))) {
		growing_destroy(&a->grow);
		a->active = 0;
		feed_fail(L, f, "unreachable", "%s", err);
		return;
	}
	a->o.prewrite = prewrite_start(L, f, e);
	/* no thread: state_apply runs when the download has ended */
	a->thread_on = pthread_create(&a->thread, NULL, apply_run_thread,
		a) == 0;
}

/** wait for the apply (or run it, when no thread started); the download
 * has ended */
static void
apply_join(struct apply_run* a)
{
	if(a->thread_on) pthread_join(a->thread, NULL);
	else state_apply(a->state, a->kind, a->payload, a->sig, &a->o,
		&a->r);
	a->thread_on = 0;
	a->active = 0;
}

/** a stop while a payload downloads: end the apply (its download counts
 * as failed, nothing of it is committed) and drop what was written
 * beside it.  The loop's thread.  The download is still in flight and
 * holds a->grow until fetch_free_all: the caller destroys it after that
 * (a->grow_live) */
static void
apply_cancel(struct loader* L)
{
	struct apply_run* a = &L->apply;
	if(!a->active) return;
	growing_end(&a->grow, 0, 0, NULL);
	apply_join(a);
	a->grow_live = 1;
	prewrite_end(L, a->o.prewrite, &a->r);
	unlink(a->payload);
	unlink(a->sig);
}

/** the payload's download ended (r): wait for its apply and take the
 * outcome */
static void
payload_cb(const struct fetch_result* r, void* arg)
{
	struct loader* L = arg;
	struct feed_rt* f = &L->feed[L->cur];
	struct apply_run* a = &L->apply;
	double t_done;
	int i;
	if(!a->active) return; /* cancelled by a stop */
	a->t_downloaded = mono_now();
	apply_join(a);
	growing_destroy(&a->grow); /* the fetch let go of it */
	prewrite_end(L, a->o.prewrite, &a->r);
	t_done = mono_now();
	payload_discard(L, a->payload);
	unlink(a->sig);
	if(!r->ok || r->not_modified) {
		/* the fetch says why (state_apply only saw it end early) */
		if(fall_back(L, f, NULL, r->err)) return;
		feed_fail(L, f, "unreachable", "%s", r->err[0] ? r->err :
			"not modified");
		return;
	}
	if(a->r.rejected) {
		for(i = 0; i < a->r.nrej; i++)
			count(f->rej, &f->nrej, a->r.rej[i].code,
				a->r.rej[i].n);
		f->last_rejected = a->r.rejected;
		loader_log(L, LOG_WARNING, "feed %s serial %llu: %llu records "
			"rejected (quarantine report %s)",
			ig_feed_kind_name(f->kind),
			(unsigned long long)a->r.serial,
			(unsigned long long)a->r.rejected, a->quar);
	}
	if(a->r.code) {
		char why[1200];
		snprintf(why, sizeof(why), "refused (%s: %s)", a->r.code,
			a->r.msg);
		if(fall_back(L, f, a->r.code, why)) return;
		feed_fail(L, f, a->r.code, "%s", a->r.msg);
		return;
	}
	if(a->o.allow_shrink && !L->allow_shrink) unlink(a->shrink);
	f->applied++;
	f->moved = 1;
	L->dirty = 1;
	if(!a->r.rejected) f->last_rejected = 0;
	snprintf(f->msg, sizeof(f->msg), "serial %llu applied from %s: %llu "
		"records loaded, %llu rejected, %llu removed; %llu in force "
		"(%.1f s: download %.1f with the records applied as they "
		"arrived, then %.1f)", (unsigned long long)a->r.serial,
		a->origin, (unsigned long long)a->r.loaded,
		(unsigned long long)a->r.rejected,
		(unsigned long long)a->r.removed,
		(unsigned long long)a->r.after, t_done - f->fetch_t0,
		a->t_downloaded - f->fetch_t0, t_done - a->t_downloaded);
	loader_log(L, LOG_INFO, "feed %s: %s", ig_feed_kind_name(f->kind),
		f->msg);
	f->idx++;
	if(f->idx < json_array_size(f->plan)) {
		fetch_item(L, f);
		return;
	}
	state_feed_set_validators(L->state, f->kind, f->etag, f->lastmod);
	feed_ok(L, f, 0);
}

/** the signature of the current entry arrived */
static void
sig_cb(const struct fetch_result* r, void* arg)
{
	struct loader* L = arg;
	struct feed_rt* f = &L->feed[L->cur];
	if(!r->ok || r->not_modified) {
		if(fall_back(L, f, NULL, r->err)) return;
		feed_fail(L, f, "unreachable", "signature: %s", r->err);
		return;
	}
	apply_begin(L, f);
}

/** get the current plan entry: its signature first (the payload is
 * applied as it downloads, and the signed statement says what to expect
 * of it) */
static void
fetch_item(struct loader* L, struct feed_rt* f)
{
	const struct loader_feed_cfg* fc = feed_cfg(L, f);
	json_t* e = json_array_get(f->plan, f->idx);
	const char* p = json_string_value(json_object_get(e, "path"));
	const char* sp = json_string_value(json_object_get(e, "sig"));
	char url[2200], dest[2100], err[512];
	if(!p || !*p || strchr(p, '/') || p[0] == '.') {
		feed_fail(L, f, "malformed", "latest.json: bad file entry "
			"'%.200s': %s", p ? p : "", !p ? "missing or not a "
			"string" : !*p ? "empty" : p[0] == '.' ? "starts with "
			"'.'" : "a path, want a file name in the feed's "
			"directory (no '/')");
		return;
	}
	if(json_object_get(e, "serial") && json_integer_value(
		json_object_get(e, "serial")) < 1) {
		feed_fail(L, f, "malformed", "latest.json: file entry '%.200s':"
			" serial is not a positive integer", p);
		return;
	}
	if(!sp || !*sp || strchr(sp, '/') || sp[0] == '.') {
		/* the reason is known here: say it (err is not set yet) */
		feed_fail(L, f, "malformed", "latest.json: bad signature "
			"entry '%.200s': %s", sp ? sp : "", !sp ? "missing or "
			"not a string" : !*sp ? "empty" : sp[0] == '.' ?
			"starts with '.'" : "a path, want a file name in the "
			"feed's directory (no '/')");
		return;
	}
	snprintf(url, sizeof(url), "%s%s", fc->url, sp);
	dl_path(L, f, "sig", dest, sizeof(dest));
	if(!fetch_start(L->base, L->ssl, url, dest, NULL, NULL,
		L->cfg.timeout, NULL, sig_cb, L, err, sizeof(err)))
		feed_fail(L, f, "unreachable", "%s: %s", url, err);
}

/** the latest pointer arrived: decide what to get */
static void
latest_cb(const struct fetch_result* r, void* arg)
{
	struct loader* L = arg;
	struct feed_rt* f = &L->feed[L->cur];
	struct feed_info fi;
	json_error_t je;
	json_t* deltas;
	uint64_t serial, s;
	const char* kind;
	size_t i;
	if(!r->ok) {
		feed_fail(L, f, "unreachable", "latest.json: %s", r->err);
		return;
	}
	state_feed_get(L->state, f->kind, &fi);
	if(r->not_modified) {
		snprintf(f->msg, sizeof(f->msg), "unchanged at serial %llu "
			"(304 not modified)", (unsigned long long)fi.serial);
		feed_ok(L, f, 1);
		return;
	}
	snprintf(f->etag, sizeof(f->etag), "%s", r->etag);
	snprintf(f->lastmod, sizeof(f->lastmod), "%s", r->lastmod);
	if(!(f->latest = json_loadb(r->body, r->len, 0, &je)) ||
		strcmp(json_string_value(json_object_get(f->latest,
		"format")) ? json_string_value(json_object_get(f->latest,
		"format")) : "", IG_FEED_LATEST_FORMAT) != 0 ||
		!json_is_integer(json_object_get(f->latest, "serial")) ||
		!json_is_object(json_object_get(f->latest, "full"))) {
		feed_fail(L, f, "malformed", "latest.json is not an icpguard "
			"feed pointer%s%s", f->latest ? "" : ": ",
			f->latest ? "" : je.text);
		return;
	}
	if(json_integer_value(json_object_get(f->latest, "serial")) < 1) {
		/* a cast to unsigned would make -1 the largest serial */
		feed_fail(L, f, "malformed", "latest.json: serial %lld is not "
			"a positive integer", (long long)json_integer_value(
			json_object_get(f->latest, "serial")));
		return;
	}
	kind = json_string_value(json_object_get(f->latest, "kind"));
	if(!kind || ig_feed_kind_parse(kind) != f->kind) {
		feed_fail(L, f, "wrong_kind", "latest.json is for feed '%s'",
			kind ? kind : "?");
		return;
	}
	serial = (uint64_t)json_integer_value(json_object_get(f->latest,
		"serial"));
	f->start_serial = fi.serial;
	if(serial == fi.serial) {
		state_feed_set_validators(L->state, f->kind, f->etag,
			f->lastmod);
		snprintf(f->msg, sizeof(f->msg), "unchanged at serial %llu",
			(unsigned long long)serial);
		feed_ok(L, f, 1);
		return;
	}
	if(serial < fi.serial) {
		feed_fail(L, f, "serial_backwards", "latest.json announces "
			"serial %llu, the serial in force is %llu",
			(unsigned long long)serial,
			(unsigned long long)fi.serial);
		return;
	}
	/* deltas from the serial in force, else the full feed */
	f->plan = json_array();
	deltas = json_object_get(f->latest, "deltas");
	for(s = fi.serial; s && s < serial; ) {
		json_t* next = NULL;
		for(i = 0; i < json_array_size(deltas); i++) {
			json_t* d = json_array_get(deltas, i);
			if((uint64_t)json_integer_value(json_object_get(d,
				"base")) == s)
				next = d;
		}
		if(!next) break;
		json_array_append(f->plan, next);
		s = (uint64_t)json_integer_value(json_object_get(next,
			"serial"));
	}
	if(!fi.serial || s != serial) {
		json_array_clear(f->plan);
		json_array_append(f->plan, json_object_get(f->latest, "full"));
	}
	f->idx = 0;
	f->fell_back = 0;
	fetch_item(L, f);
}

/** start pulling one feed */
static void
pull_feed(struct loader* L, struct feed_rt* f)
{
	const struct loader_feed_cfg* fc = feed_cfg(L, f);
	struct feed_info fi;
	char url[2200], err[512];
	f->last_pull = (int64_t)time(NULL);
	f->pulls++;
	f->moved = 0;
	state_feed_get(L->state, f->kind, &fi);
	snprintf(url, sizeof(url), "%slatest.json", fc->url);
	if(!strncmp(url, "https://", 8) && !L->ssl &&
		!(L->ssl = fetch_tls_context(L->cfg.tls_ca, err, sizeof(err)))) {
		feed_fail(L, f, "unreachable", "%s", err);
		return;
	}
	if(!fetch_start(L->base, L->ssl, url, NULL, fi.serial ? fi.etag :
		NULL, fi.serial ? fi.lastmod : NULL, L->cfg.timeout, NULL,
		latest_cb, L, err, sizeof(err)))
		feed_fail(L, f, "unreachable", "%s", err);
}

/** publish when something moved; log the outcome */
static void
publish(struct loader* L)
{
	struct publish_result pr;
	struct prewrite* pre = L->prewrite;
	char err[1024];
	L->prewrite = NULL;
	L->last_publish = (int64_t)time(NULL);
	if(!loader_publish(L->state, &L->cfg, pre, &pr, err, sizeof(err))) {
		L->publish_failures++;
		L->exit_code = 1;
		snprintf(L->publish_msg, sizeof(L->publish_msg), "failed: %s",
			err);
		loader_log(L, LOG_ERR, "publish failed, the snapshot in force "
			"stays: %s", err);
		return;
	}
	L->dirty = 0;
	L->publishes++;
	L->last_publish_s = pr.seconds;
	L->publish_s_sum += pr.seconds;
	if(pr.seconds > L->publish_s_max) L->publish_s_max = pr.seconds;
	if(pr.delta)
		snprintf(L->publish_msg, sizeof(L->publish_msg), "published "
			"%s: delta snapshot %s, %llu names, %.3f s",
			L->cfg.delta_snapshot, pr.info.ident,
			(unsigned long long)pr.records, pr.seconds);
	else
		snprintf(L->publish_msg, sizeof(L->publish_msg), "published "
			"%s: snapshot %s, %llu records, %.3f s (state to "
			"snapshot %.1f%s, changes %.1f, suffix list %.1f, "
			"content hash %.1f, commit "
			"%.1f, name index %.1f, sync %.1f, seal %.1f)%s%.300s",
			L->cfg.snapshot, pr.info.ident,
			(unsigned long long)pr.records, pr.seconds, pr.copy_s,
			pr.prewritten ? " without the filings, written beside "
			"the feed" : "",
			pr.diff_s, pr.times.prepare, pr.times.hash,
			pr.times.commit, pr.times.index, pr.times.sync,
			pr.times.seal, pr.fold[0] ? "; not a delta: " : "",
			pr.fold);
	loader_log(L, LOG_NOTICE, "%s", L->publish_msg);
}

static int reload(struct loader* L);

/** arm the cycle timer for the earliest next attempt */
static void
schedule(struct loader* L)
{
	int64_t now = (int64_t)time(NULL), next = now + L->cfg.interval;
	struct timeval tv;
	int i;
	for(i = 0; i < L->nfeeds; i++)
		if(L->feed[i].next_try < next) next = L->feed[i].next_try;
	tv.tv_sec = next > now ? (time_t)(next - now) : 1;
	tv.tv_usec = 0;
	evtimer_add(L->timer, &tv);
}

/** pull the next due feed of the cycle, or end the cycle */
static void
pull_next(struct loader* L)
{
	int64_t now = (int64_t)time(NULL);
	if(L->stopping) {
		L->pulling = 0;
		if(L->dirty) publish(L);
		event_base_loopexit(L->base, NULL);
		return;
	}
	while(L->cur < L->nfeeds) {
		struct feed_rt* f = &L->feed[L->cur];
		if(L->once || f->next_try <= now) {
			pull_feed(L, f);
			return;
		}
		L->cur++;
	}
	/* the cycle is over */
	L->pulling = 0;
	if(L->dirty || loader_needs_publish(L->state, &L->cfg))
		publish(L);
	/* the heap kept what the feed state's transaction freed, for the
	 * snapshot writer (main): give it back until the next cycle */
	malloc_trim(0);
	if(L->once) {
		event_base_loopexit(L->base, NULL);
		return;
	}
	if(L->reload_pending) {
		L->reload_pending = 0;
		reload(L);
	}
	schedule(L);
}

/** start a cycle */
static void
cycle_cb(evutil_socket_t fd, short what, void* arg)
{
	struct loader* L = arg;
	(void)fd; (void)what;
	if(L->pulling) return;
	L->pulling = 1;
	L->cur = 0;
	pull_next(L);
}

/** set up keys and feeds from L->cfg; @return 1/0 */
static int
apply_cfg(struct loader* L, struct loader_cfg* c, char* err, size_t errlen)
{
	struct ig_keyring kr;
	struct feed_rt nf[LOADER_MAX_FEEDS];
	char p[2100];
	int i, j;
	memset(&kr, 0, sizeof(kr));
	for(i = 0; i < c->nkeys; i++)
		if(!ig_keyring_add(&kr, c->key[i].name, c->key[i].path, err,
			errlen)) {
			ig_keyring_free(&kr);
			return 0;
		}
	memset(nf, 0, sizeof(nf));
	for(i = 0; i < c->nfeeds; i++) {
		nf[i].kind = c->feed[i].kind;
		for(j = 0; j < L->nfeeds; j++)
			if(L->feed[j].kind == nf[i].kind) nf[i] = L->feed[j];
	}
	if(mkdir(c->state_dir, 0750) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", c->state_dir, strerror(errno));
		ig_keyring_free(&kr);
		return 0;
	}
	snprintf(p, sizeof(p), "%s/dl", c->state_dir);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/quarantine", c->state_dir);
	mkdir(p, 0750);
	snprintf(p, sizeof(p), "%s/snapshots", c->state_dir);
	mkdir(p, 0755);
	ig_keyring_free(&L->keys);
	L->keys = kr;
	memcpy(L->feed, nf, sizeof(nf));
	L->nfeeds = c->nfeeds;
	loader_cfg_free(&L->cfg);
	L->cfg = *c;
	return 1;
}

/** SIGHUP: read the configuration again; keep the old one when bad */
static int
reload(struct loader* L)
{
	struct loader_cfg c;
	char err[2048];
	loader_cfg_defaults(&c);
	if(!loader_cfg_read(L->cfgpath, &c, err, sizeof(err))) {
		loader_log(L, LOG_ERR, "reload refused, configuration kept: %s",
			err);
		loader_cfg_free(&c);
		return 0;
	}
	if(L->daemonized) c.syslog = 1;
	if(strcmp(c.state_dir, L->cfg.state_dir) != 0) {
		loader_log(L, LOG_ERR, "reload refused: state-dir changes need "
			"a restart");
		loader_cfg_free(&c);
		return 0;
	}
	if(!apply_cfg(L, &c, err, sizeof(err))) {
		loader_log(L, LOG_ERR, "reload refused, configuration kept: %s",
			err);
		loader_cfg_free(&c);
		return 0;
	}
	status_stop(L);
	if(L->cfg.status_listen[0] && !status_start(L, err, sizeof(err)))
		loader_log(L, LOG_ERR, "%s", err);
	loader_log(L, LOG_NOTICE, "configuration %s reloaded: %d feeds, %d "
		"keys", L->cfgpath, L->cfg.nfeeds, L->cfg.nkeys);
	return 1;
}

/** signals, delivered by the loop */
static void
signal_cb(evutil_socket_t sig, short what, void* arg)
{
	struct loader* L = arg;
	(void)what;
	if(sig == SIGHUP) {
		if(L->pulling) L->reload_pending = 1;
		else {
			reload(L);
			evtimer_del(L->timer);
			schedule(L);
		}
		return;
	}
	loader_log(L, LOG_NOTICE, "signal %d: stopping", (int)sig);
	L->stopping = 1;
	/* a publish in progress already finished: callbacks run one at a
	 * time, and this one runs between them.  Feeds applied during the
	 * pull in progress are published now, not left for the next start;
	 * downloads in flight are dropped (nothing of them was applied). */
	apply_cancel(L);
	if(L->dirty) publish(L);
	event_base_loopexit(L->base, NULL);
}

/** write the pidfile; refuse when another loader holds it */
static int
pidfile_write(const char* path, char* err, size_t errlen)
{
	char buf[32];
	int fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
	if(fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if(flock(fd, LOCK_EX | LOCK_NB) != 0) {
		snprintf(err, errlen, "%s: another icpguard-loader is running",
			path);
		close(fd);
		return -1;
	}
	snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
	if(ftruncate(fd, 0) != 0 || write(fd, buf, strlen(buf)) !=
		(ssize_t)strlen(buf)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd; /* kept open: the lock lives as long as the process */
}

/** print help */
static void
usage(FILE* out)
{
	fprintf(out,
"usage: icpguard-loader [-c FILE] [--foreground] [--once] [--allow-shrink]\n"
"       icpguard-loader [-c FILE] rollback\n"
"       icpguard-loader [-c FILE] allow-shrink KIND\n"
"       icpguard-loader [-c FILE] checkconf\n\n"
"Pull signed feeds (docs/feeds.md), validate them, and publish policy\n"
"snapshots for the icpguard Unbound module (docs/loader.md).\n\n"
"  -c, --config FILE   configuration (default %s)\n"
"  -f, --foreground    stay in the foreground (systemd); log to stderr\n"
"                      unless the configuration says syslog\n"
"  --once              pull every feed once, publish, exit (0: all good)\n"
"  --allow-shrink      allow a filings shrink past max-shrink this run\n"
"  rollback            put the previous kept snapshot back in force\n"
"  allow-shrink KIND   allow the next update of feed KIND to shrink\n"
"  checkconf           check the configuration and print it\n"
"signals: SIGHUP rereads the configuration, SIGTERM stops after the\n"
"current publish.\n"
"exit: 0 success, 1 failure, 2 usage or configuration error\n",
		LOADER_CONF_DEFAULT);
}

/** `checkconf`: print the configuration in force */
static int
checkconf(struct loader_cfg* c, const char* path)
{
	int i, j;
	char err[1024];
	struct ig_keyring kr;
	memset(&kr, 0, sizeof(kr));
	printf("# %s: good\nsnapshot: %s\nstate-dir: %s\npidfile: %s\n"
		"status-listen: %s\nkeep-snapshots: %d\nmax-shrink: %d%%\n"
		"poll-interval: %d\nretry-min: %d\nretry-max: %d\ntimeout: %d\n"
		"log: %s\ntls-ca: %s\nexemptions: %s\ndelta-snapshot: %s\n"
		"delta-max-records: %d\n", path, c->snapshot,
		c->state_dir,
		c->pidfile, c->status_listen, c->keep, c->max_shrink,
		c->interval, c->retry_min, c->retry_max, c->timeout,
		c->syslog ? "syslog" : "stderr", c->tls_ca, c->exemptions,
		c->delta_snapshot, c->delta_max);
	for(i = 0; i < c->nkeys; i++) {
		if(!ig_keyring_add(&kr, c->key[i].name, c->key[i].path, err,
			sizeof(err))) {
			fprintf(stderr, "%s: key %s: %s\n", path,
				c->key[i].name, err);
			ig_keyring_free(&kr);
			return 1;
		}
		printf("key: %s %s # id %s\n", c->key[i].name, c->key[i].path,
			kr.id[kr.n - 1]);
	}
	for(i = 0; i < c->nfeeds; i++) {
		printf("feed: %s %s ", ig_feed_kind_name(c->feed[i].kind),
			c->feed[i].url);
		for(j = 0; j < c->feed[i].nkeys; j++)
			printf("%s%s", j ? "," : "", c->feed[i].keys[j]);
		printf("\n");
	}
	ig_keyring_free(&kr);
	return 0;
}

int
main(int argc, char** argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "foreground", no_argument, NULL, 'f' },
		{ "once", no_argument, NULL, 'o' },
		{ "allow-shrink", no_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	struct loader L;
	struct loader_cfg c;
	struct event* sigs[4];
	static const int signums[4] = { SIGHUP, SIGTERM, SIGINT, 0 };
	char err[2048];
	int ch, fg = 0, i, pidfd = -1;
	const char* cmd;

	/* a full feed pull writes gigabytes through LMDB's malloc'd dirty
	 * pages: 2 MiB pages make it a fifth faster (lib/hugepages.h) */
	ig_hugepages_reexec(argv);
	/* the half gigabyte of dirty pages a feed's transaction frees is
	 * taken again by the snapshot writer right after: kept in the heap,
	 * not given back and faulted in (and zeroed) again; pull_next gives
	 * it back at the end of a cycle */
	mallopt(M_TRIM_THRESHOLD, 1 << 30);
	/* one heap for every thread: a feed is applied on a thread of its
	 * own, and LMDB mallocs its dirty pages a page at a time; a
	 * thread's own glibc heap grows by an mprotect per page, the main
	 * heap by sbrk in large steps (10 M filings, five pulls side by
	 * side: 15.4-21.2 s against 18.2-23.0 s, docs/benchmarks.md) */
	mallopt(M_ARENA_MAX, 1);
	memset(&L, 0, sizeof(L));
	L.cfgpath = LOADER_CONF_DEFAULT;
	while((ch = getopt_long(argc, argv, "c:fh", opts, NULL)) != -1) {
		switch(ch) {
		case 'c': L.cfgpath = optarg; break;
		case 'f': fg = 1; break;
		case 'o': L.once = 1; fg = 1; break;
		case 'a': L.allow_shrink = 1; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("icpguard-loader %s\n", PACKAGE_VERSION);
			return 0;
		default: usage(stderr); return 2;
		}
	}
	cmd = optind < argc ? argv[optind] : NULL;
	{
		/* SIGHUP rereads it after the daemon moved to / */
		static char abspath[4096];
		if(realpath(L.cfgpath, abspath)) L.cfgpath = abspath;
	}
	loader_cfg_defaults(&c);
	if(!loader_cfg_read(L.cfgpath, &c, err, sizeof(err))) {
		fprintf(stderr, "icpguard-loader: %s\n", err);
		return 2;
	}
	if(cmd && !strcmp(cmd, "checkconf")) {
		int rc = checkconf(&c, L.cfgpath);
		loader_cfg_free(&c);
		return rc;
	}
	if(cmd && !strcmp(cmd, "rollback")) {
		int ok = loader_rollback(&c, err, sizeof(err));
		printf("%s\n", err);
		loader_cfg_free(&c);
		return ok ? 0 : 1;
	}
	if(cmd && !strcmp(cmd, "allow-shrink") && optind + 2 == argc &&
		ig_feed_kind_parse(argv[optind + 1])) {
		char p[2100];
		int fd;
		snprintf(p, sizeof(p), "%s/allow-shrink.%s", c.state_dir,
			argv[optind + 1]);
		fd = open(p, O_WRONLY | O_CREAT | O_NOFOLLOW, 0600);
		if(fd < 0) {
			fprintf(stderr, "icpguard-loader: %s: %s\n", p,
				strerror(errno));
			return 1;
		}
		close(fd);
		printf("the next update of feed %s may shrink past "
			"max-shrink (%s)\n", argv[optind + 1], p);
		loader_cfg_free(&c);
		return 0;
	}
	if(cmd) {
		usage(stderr);
		return 2;
	}
	if(!apply_cfg(&L, &c, err, sizeof(err))) {
		fprintf(stderr, "icpguard-loader: %s\n", err);
		return 2;
	}
	/* a daemon has no stderr: it logs to syslog */
	if(!fg) L.cfg.syslog = L.daemonized = 1;
	if(L.cfg.syslog) openlog("icpguard-loader", LOG_PID, LOG_DAEMON);
	if(!fg && daemon(0, 0) != 0) {
		fprintf(stderr, "icpguard-loader: daemon: %s\n",
			strerror(errno));
		return 1;
	}
	if(L.cfg.pidfile[0] && (pidfd = pidfile_write(L.cfg.pidfile, err,
		sizeof(err))) < 0) {
		loader_log(&L, LOG_ERR, "%s", err);
		return 1;
	}
	loader_cleanup(&L.cfg);
	if(!state_open(L.cfg.state_dir, &L.state, err, sizeof(err))) {
		loader_log(&L, LOG_ERR, "%s", err);
		return 1;
	}
	if(!orders_open(&L, err, sizeof(err))) {
		loader_log(&L, LOG_ERR, "orders: %s", err);
		return 1;
	}
	if(!(L.base = event_base_new()) ||
		!(L.timer = evtimer_new(L.base, cycle_cb, &L))) {
		loader_log(&L, LOG_ERR, "cannot make the event loop");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	for(i = 0; signums[i]; i++) {
		sigs[i] = evsignal_new(L.base, signums[i], signal_cb, &L);
		if(!sigs[i] || evsignal_add(sigs[i], NULL) != 0) {
			loader_log(&L, LOG_ERR, "cannot handle signal %d",
				signums[i]);
			return 1;
		}
	}
	sigs[i] = NULL;
	L.started = (int64_t)time(NULL);
	L.cur = -1;
	if(L.cfg.status_listen[0] && !status_start(&L, err, sizeof(err))) {
		loader_log(&L, LOG_ERR, "%s", err);
		return 1;
	}
	loader_log(&L, LOG_NOTICE, "started: %d feeds, snapshot %s, state %s",
		L.cfg.nfeeds, L.cfg.snapshot, L.cfg.state_dir);
	/* a crash between applying a feed and publishing it */
	if(loader_needs_publish(L.state, &L.cfg)) {
		loader_log(&L, LOG_NOTICE, "the snapshot in force lags the feed "
			"state: publishing");
		publish(&L);
	}
	cycle_cb(-1, 0, &L);
	event_base_dispatch(L.base);
	loader_log(&L, LOG_NOTICE, "stopped");
	status_stop(&L);
	for(i = 0; sigs[i]; i++) event_free(sigs[i]);
	event_free(L.timer);
	for(i = 0; i < L.nfeeds; i++) {
		json_decref(L.feed[i].latest);
		json_decref(L.feed[i].plan);
	}
	/* applied but never published (a failed stop): its temporary goes,
	 * the next start publishes the state */
	apply_cancel(&L);
	prewrite_abort(L.prewrite);
	payload_discard_wait(&L);
	orders_close(&L);
	state_close(L.state);
	ig_keyring_free(&L.keys);
	/* downloads in flight at a stop are dropped (nothing of them was
	 * applied); their memory goes before the loop's */
	fetch_free_all();
	/* a download cancelled by the stop held it until now */
	if(L.apply.grow_live) growing_destroy(&L.apply.grow);
	if(L.ssl) SSL_CTX_free(L.ssl);
	event_base_free(L.base);
	if(pidfd >= 0) {
		unlink(L.cfg.pidfile);
		close(pidfd);
	}
	loader_cfg_free(&L.cfg);
	return L.once ? L.exit_code : 0;
}
