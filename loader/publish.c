/*
 * loader/publish.c - publish snapshots, keep the last N, roll back.
 *
 * \file
 * See publish.h.
 */
#include "config.h"
#include "loader/publish.h"
#include "loader/prewrite.h"
#include "lib/timefmt.h"
#include "lib/validate.h"
#include "tools/source.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/** the kept snapshot of a serial */
static void
kept_path(const struct loader_cfg* cfg, uint64_t serial, char* out,
	size_t outlen)
{
	snprintf(out, outlen, "%s/snapshots/snapshot-%020llu.mdb",
		cfg->state_dir, (unsigned long long)serial);
}

/** serial of a kept snapshot file name, 0 if it is not one */
static uint64_t
kept_serial(const char* name)
{
	unsigned long long s;
	char tail[8];
	if(strlen(name) != strlen("snapshot-") + 20 + 4 ||
		sscanf(name, "snapshot-%20llu%4s", &s, tail) != 2 ||
		strcmp(tail, ".mdb") != 0)
		return 0;
	return (uint64_t)s;
}

/** the kept serials, ascending; returns count (caller frees *out) */
static size_t
kept_list(const struct loader_cfg* cfg, uint64_t** out)
{
	char dir[2048];
	DIR* d;
	struct dirent* e;
	size_t n = 0, cap = 0, i, j;
	*out = NULL;
	snprintf(dir, sizeof(dir), "%s/snapshots", cfg->state_dir);
	if(!(d = opendir(dir))) return 0;
	while((e = readdir(d))) {
		uint64_t s = kept_serial(e->d_name);
		if(!s) continue;
		if(n == cap) {
			uint64_t* v = realloc(*out, (cap = cap ? cap * 2 : 16) *
				sizeof(uint64_t));
			if(!v) break;
			*out = v;
		}
		(*out)[n++] = s;
	}
	closedir(d);
	for(i = 1; i < n; i++)
		for(j = i; j > 0 && (*out)[j-1] > (*out)[j]; j--) {
			uint64_t t = (*out)[j];
			(*out)[j] = (*out)[j-1];
			(*out)[j-1] = t;
		}
	return n;
}

/** copy a file (for a live path on another file system) */
static int
copy_file(const char* from, const char* to)
{
	int in = open(from, O_RDONLY | O_CLOEXEC), out;
	char buf[1 << 16];
	ssize_t n;
	if(in < 0) return 0;
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
		0644);
	if(out < 0) {
		close(in);
		return 0;
	}
	while((n = read(in, buf, sizeof(buf))) > 0)
		if(write(out, buf, (size_t)n) != n) {
			n = -1;
			break;
		}
	close(in);
	if(n < 0 || fsync(out) != 0) {
		close(out);
		unlink(to);
		return 0;
	}
	return close(out) == 0;
}

/** put a kept snapshot in force at the live path */
static int
make_live(const struct loader_cfg* cfg, const char* kept, char* err,
	size_t errlen)
{
	char tmp[1100];
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", cfg->snapshot, (int)getpid());
	unlink(tmp);
	if(link(kept, tmp) != 0 && !copy_file(kept, tmp)) {
		snprintf(err, errlen, "%s: cannot link or copy %s: %s", tmp,
			kept, strerror(errno));
		return 0;
	}
	if(rename(tmp, cfg->snapshot) != 0) {
		snprintf(err, errlen, "rename %s to %s: %s", tmp,
			cfg->snapshot, strerror(errno));
		unlink(tmp);
		return 0;
	}
	ig_fsync_dir_of(cfg->snapshot);
	return 1;
}

/** the identity of the exemptions file: "MTIME_NS-SIZE", "" if none */
static int
exemptions_id(const struct loader_cfg* cfg, char* out, size_t outlen)
{
	struct stat st;
	out[0] = 0;
	if(!cfg->exemptions[0]) return 1;
	if(stat(cfg->exemptions, &st) != 0) return 0;
	snprintf(out, outlen, "%lld.%09ld-%lld", (long long)st.st_mtim.tv_sec,
		st.st_mtim.tv_nsec, (long long)st.st_size);
	return 1;
}

/**
 * Write the operator exemptions (a local JSON-lines/CSV file with name,
 * subtree, note, as for `icpguard build`).  Bad rows go to
 * quarantine/exemptions.jsonl; a file that cannot be read fails the
 * publish (the snapshot in force keeps its exemptions).
 */
static int
write_exemptions(const struct loader_cfg* cfg, struct ig_writer* w,
	char* err, size_t errlen)
{
	struct ig_source src;
	char id[128], qpath[2100], rerr[256];
	json_t* row;
	FILE* q;
	if(!cfg->exemptions[0]) return 1;
	if(!exemptions_id(cfg, id, sizeof(id)) ||
		!ig_source_open(&src, cfg->exemptions)) {
		snprintf(err, errlen, "exemptions %s: %s", cfg->exemptions,
			strerror(errno));
		return 0;
	}
	snprintf(qpath, sizeof(qpath), "%s/quarantine/exemptions.jsonl",
		cfg->state_dir);
	q = fopen(qpath, "w");
	while(ig_source_next(&src, &row, rerr, sizeof(rerr))) {
		uint8_t wire[IG_NAME_MAX];
		struct ig_reject rj;
		struct ig_exempt e;
		int sub = -1, good;
		if(!row) {
			ig_reject_set(&rj, src.bad_field, "malformed", "%s",
				rerr);
			good = 0;
		} else if((good = ig_valid_name("name", ig_field_str(row,
			"name"), wire, &rj)) &&
			(sub = ig_field_bool(row, "subtree", 1)) < 0)
			good = ig_reject_set(&rj, "subtree", "bad_bool",
				"not a boolean");
		/* a note over its limit would fail the writer and with it
		 * every publish: quarantined like any bad row */
		if(good && !ig_valid_len("note", ig_field_str(row, "note"),
			IG_EXEMPT_NOTE_MAX, &rj))
			good = 0;
		if(good) {
			e.subtree = sub;
			e.note = ig_field_str(row, "note");
			if(!ig_writer_exempt(w, wire, &e)) {
				snprintf(err, errlen, "%s", ig_writer_error(w));
				json_decref(row);
				ig_source_close(&src);
				if(q) fclose(q);
				return 0;
			}
		} else if(q) {
			json_t* j = json_pack("{s:s,s:I,s:s?,s:s,s:s}", "file",
				cfg->exemptions, "line", (json_int_t)src.line,
				"field", rj.field, "code", rj.code, "reason",
				rj.msg);
			char* t = j ? json_dumps(j, JSON_COMPACT) : NULL;
			if(t) fprintf(q, "%s\n", t);
			free(t);
			json_decref(j);
		}
		json_decref(row);
	}
	ig_source_close(&src);
	if(q) fclose(q);
	if(!ig_writer_meta(w, "source.exemptions", id)) {
		snprintf(err, errlen, "%s", ig_writer_error(w));
		return 0;
	}
	return 1;
}

/** the snapshot in force as loader_publish and loader_needs_publish last
 * verified it whole (its seal): each file is verified once, not at every
 * cycle (about a second at ten million filings).  The loader's event loop
 * is one thread. */
static struct ig_snapshot_memo needs_verified;

/** the delta snapshot as loader_publish and loader_needs_publish last
 * verified it whole (the previous delta a new one is compared with) */
static struct ig_snapshot_memo delta_verified;

/** the wall time of a publish since t0 */
static void
publish_time(const struct timespec* t0, struct publish_result* out)
{
	struct timespec t = *t0;
	out->seconds = ig_seconds_since(&t, 0);
}

/** a feed's serial as a snapshot records it (meta source.KIND), 0 none */
static uint64_t
source_serial(struct ig_view* v, Icpguard__Feed__Kind kind)
{
	char key[64];
	const char* m;
	snprintf(key, sizeof(key), "source.%s", ig_feed_kind_name(kind));
	m = ig_view_meta(v, key);
	return m ? strtoull(m, NULL, 10) : 0;
}

/** does the snapshot carry the serial of every feed of the state */
static int
sources_match(struct loader_state* st, struct ig_view* v)
{
	int i;
	for(i = 1; i <= 5; i++) {
		struct feed_info fi;
		state_feed_get(st, (Icpguard__Feed__Kind)i, &fi);
		if(fi.serial != source_serial(v, (Icpguard__Feed__Kind)i))
			return 0;
	}
	return 1;
}

/**
 * The delta snapshot at delta-snapshot when it lies over base (verified
 * whole once per file), else NULL.  Loader thread.
 * @return one reference owned by the caller, or NULL.
 */
static struct ig_snapshot*
delta_in_force(const struct loader_cfg* cfg, struct ig_snapshot* base)
{
	struct ig_snapshot* d;
	char err[1024];
	if(access(cfg->delta_snapshot, F_OK) != 0 || !ig_snapshot_open_memo(
		cfg->delta_snapshot, &delta_verified, &d, err, sizeof(err)))
		return NULL;
	if(ig_snapshot_delta_over(d, base)) return d;
	ig_snapshot_unref(d);
	return NULL;
}

/** is the state published by a delta snapshot over base */
static int
delta_matches(struct loader_state* st, const struct loader_cfg* cfg,
	struct ig_snapshot* base)
{
	struct ig_snapshot* d;
	struct ig_view v;
	int match = 0;
	if(!cfg->delta_snapshot[0] || !(d = delta_in_force(cfg, base)))
		return 0;
	if(ig_view_begin(d, &v)) {
		match = sources_match(st, &v);
		ig_view_end(&v);
	}
	ig_snapshot_unref(d);
	return match;
}

/**
 * Could a delta snapshot over the snapshot in force (view v) say what the
 * state holds: the feeds a delta does not carry (registrars, domestic
 * ranges, TLDs) and the exemptions file are still the ones in v.
 * @return 1, or 0 with why set.
 */
static int
delta_fits(struct loader_state* st, const struct loader_cfg* cfg,
	struct ig_view* v, char* why, size_t whylen)
{
	static const Icpguard__Feed__Kind other[] = {
		ICPGUARD__FEED__KIND__REGISTRARS,
		ICPGUARD__FEED__KIND__DOMESTIC, ICPGUARD__FEED__KIND__TLDS };
	char id[128];
	const char* m;
	size_t i;
	for(i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
		struct feed_info fi;
		state_feed_get(st, other[i], &fi);
		if(fi.serial != source_serial(v, other[i])) {
			snprintf(why, whylen, "the %s feed moved",
				ig_feed_kind_name(other[i]));
			return 0;
		}
	}
	m = ig_view_meta(v, "source.exemptions");
	if(!exemptions_id(cfg, id, sizeof(id)) || strcmp(id, m ? m : "")) {
		snprintf(why, whylen, "the exemptions file changed");
		return 0;
	}
	return 1;
}

/**
 * Publish a delta snapshot over base (the snapshot in force) at
 * delta-snapshot: every change since base from the state's change log,
 * numbered after the delta over base already there (1 when none), its
 * changed set against that delta (all its names when none).  Written with
 * the writer's temporary file, fsync and rename, like any snapshot.
 * Loader thread.
 * @return 1 published (out set), 0 failed (err), -1 a delta cannot say it
 *	(err says why: a whole snapshot is due).
 */
static int
publish_delta(struct loader_state* st, const struct loader_cfg* cfg,
	struct ig_snapshot* base, struct publish_result* out, char* err,
	size_t errlen)
{
	struct ig_snapshot* pd;
	struct ig_writer* w;
	struct ig_view v;
	uint64_t filings, blacklist, serial = 1;
	int r, fits;
	if(!ig_view_begin(base, &v)) {
		snprintf(err, errlen, "cannot read %s", ig_snapshot_path(base));
		return -1;
	}
	fits = delta_fits(st, cfg, &v, err, errlen);
	filings = source_serial(&v, ICPGUARD__FEED__KIND__FILINGS);
	blacklist = source_serial(&v, ICPGUARD__FEED__KIND__BLACKLIST);
	ig_view_end(&v);
	if(!fits) return -1;
	/* count first: a delta over the bound is folded without writing */
	r = state_write_delta(st, NULL, filings, blacklist,
		(uint64_t)cfg->delta_max, 0, &out->records, err, errlen);
	if(r != STATE_DELTA_OK) return r == STATE_DELTA_FAILED ? 0 : -1;
	pd = delta_in_force(cfg, base);
	if(pd) serial = ig_snapshot_info(pd)->serial + 1;
	if(!(w = ig_writer_create(cfg->delta_snapshot, (size_t)4 << 30, err,
		errlen))) {
		ig_snapshot_unref(pd);
		return 0;
	}
	r = ig_writer_delta_base(w, ig_snapshot_info(base)) &&
		ig_writer_meta(w, "source", "icpguard-loader");
	if(!r) snprintf(err, errlen, "%s", ig_writer_error(w));
	if(r) r = state_write_delta(st, w, filings, blacklist, UINT64_MAX,
		pd == NULL, &out->records, err, errlen) == STATE_DELTA_OK;
	if(r && pd && !(r = ig_writer_diff(w, pd)))
		snprintf(err, errlen, "%s", ig_writer_error(w));
	ig_snapshot_unref(pd);
	if(!r) {
		ig_writer_abort(w);
		return 0;
	}
	if(!ig_writer_publish(w, serial, &out->info, err, errlen)) return 0;
	/* the writer's identity names only the delta; readers name both */
	snprintf(out->info.ident, sizeof(out->info.ident),
		"%llu-%.12s+%llu-%.12s",
		(unsigned long long)ig_snapshot_info(base)->serial,
		ig_snapshot_info(base)->hash, (unsigned long long)serial,
		out->info.hash);
	out->delta = 1;
	return 1;
}

/**
 * After a whole snapshot (kept at path) went in force: the change log
 * forgets what it holds, and an empty delta over the new snapshot
 * replaces the one over the old (readers ignore a delta over another
 * snapshot meanwhile, so a crash in between changes no verdict).  A
 * failure is logged in out->fold; the next cycle tries again
 * (loader_needs_publish).  Loader thread.
 */
static void
delta_restart(struct loader_state* st, const struct loader_cfg* cfg,
	const char* path, struct publish_result* out)
{
	struct publish_result dr;
	struct ig_snapshot* s;
	struct feed_info f, b;
	char err[1024];
	state_feed_get(st, ICPGUARD__FEED__KIND__FILINGS, &f);
	state_feed_get(st, ICPGUARD__FEED__KIND__BLACKLIST, &b);
	(void)state_prune_changes(st, f.serial, b.serial);
	if(!ig_snapshot_open(path, &s, err, sizeof(err))) {
		snprintf(out->fold, sizeof(out->fold), "no empty delta: %.200s",
			err);
		return;
	}
	memset(&dr, 0, sizeof(dr));
	if(publish_delta(st, cfg, s, &dr, err, sizeof(err)) != 1)
		snprintf(out->fold, sizeof(out->fold), "no empty delta: %.200s",
			err);
	ig_snapshot_unref(s);
}

/** drop kept snapshots beyond the newest cfg->keep */
static void
prune(const struct loader_cfg* cfg)
{
	uint64_t* v;
	size_t n = kept_list(cfg, &v), i;
	for(i = 0; i + (size_t)cfg->keep < n; i++) {
		char p[2100];
		kept_path(cfg, v[i], p, sizeof(p));
		unlink(p);
	}
	free(v);
}

/** the snapshots directory, made if missing; @return 1/0 with err */
static int
kept_dir(const struct loader_cfg* cfg, char* err, size_t errlen)
{
	char path[2100];
	snprintf(path, sizeof(path), "%s/snapshots", cfg->state_dir);
	if(mkdir(path, 0755) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return 0;
	}
	return 1;
}

/** the snapshot in force, verified (its seal; once per file, see
 * needs_verified), or NULL: a damaged one is never walked by the diff,
 * it counts as unreadable and a full change is published */
static struct ig_snapshot*
in_force(const struct loader_cfg* cfg)
{
	struct ig_snapshot* prev = NULL;
	char e[1024];
	if(access(cfg->snapshot, F_OK) == 0 && !ig_snapshot_open_memo(
		cfg->snapshot, &needs_verified, &prev, e, sizeof(e)))
		prev = NULL;
	return prev;
}

/** the serial after the one in force (prev, NULL none) and every kept
 * snapshot's */
static uint64_t
next_serial(const struct loader_cfg* cfg, struct ig_snapshot* prev)
{
	uint64_t serial = prev ? ig_snapshot_info(prev)->serial : 0, *v;
	size_t n = kept_list(cfg, &v);
	if(n && v[n-1] > serial) serial = v[n-1];
	free(v);
	return serial + 1;
}

uint64_t
loader_next_snapshot(const struct loader_cfg* cfg, char* path,
	size_t pathlen, char* err, size_t errlen)
{
	struct ig_snapshot* prev;
	uint64_t serial;
	if(!kept_dir(cfg, err, errlen)) return 0;
	prev = in_force(cfg);
	serial = next_serial(cfg, prev);
	ig_snapshot_unref(prev);
	kept_path(cfg, serial, path, pathlen);
	return serial;
}

/** the prewrite when it holds the filings in force and the serial the
 * publish chose; else it is dropped (the publish copies) and NULL */
static struct prewrite*
prewrite_check(struct loader_state* st, struct prewrite* pre,
	uint64_t serial, const char* path)
{
	struct feed_info fi;
	if(!pre) return NULL;
	if(!state_feed_get(st, ICPGUARD__FEED__KIND__FILINGS, &fi) ||
		!prewrite_wait(pre) || prewrite_filings(pre) != fi.serial ||
		prewrite_serial(pre) != serial ||
		strcmp(prewrite_path(pre), path) != 0) {
		prewrite_abort(pre);
		return NULL;
	}
	return pre;
}

int
loader_publish(struct loader_state* st, const struct loader_cfg* cfg,
	struct prewrite* pre, struct publish_result* out, char* err,
	size_t errlen)
{
	struct ig_snapshot* prev = NULL;
	struct ig_writer* w;
	struct timespec t0;
	char path[2100], e2[1024];
	uint64_t serial = 0;
	int ok;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	memset(out, 0, sizeof(*out));
	if(!kept_dir(cfg, err, errlen)) {
		prewrite_abort(pre);
		return 0;
	}
	prev = in_force(cfg);
	if(prev && cfg->delta_snapshot[0]) {
		/* only filings and blacklist deltas since the snapshot in
		 * force: a delta snapshot over it, not a whole one (never
		 * after the full filings feed of a prewrite: its change
		 * floor rules a delta out) */
		int r = publish_delta(st, cfg, prev, out, e2, sizeof(e2));
		if(r >= 0) {
			prewrite_abort(pre);
			if(!r) snprintf(err, errlen, "%s", e2);
			ig_snapshot_unref(prev);
			publish_time(&t0, out);
			return r;
		}
		snprintf(out->fold, sizeof(out->fold), "%.200s", e2);
	}
	serial = next_serial(cfg, prev);
	kept_path(cfg, serial, path, sizeof(path));
	if((pre = prewrite_check(st, pre, serial, path))) {
		w = prewrite_take_writer(pre);
		out->prewritten = prewrite_count(pre);
		prewrite_abort(pre);
	} else if(!(w = ig_writer_create(path, 0, err, errlen))) {
		ig_snapshot_unref(prev);
		return 0;
	}
	ig_writer_set_times(w, &out->times);
	ok = state_write_snapshot(st, w, !out->prewritten, &out->records,
		err, errlen) && write_exemptions(cfg, w, err, errlen);
	out->records += out->prewritten;
	if(ok && !(ok = ig_writer_meta(w, "source", "icpguard-loader")))
		snprintf(err, errlen, "%s", ig_writer_error(w));
	publish_time(&t0, out);
	out->copy_s = out->seconds;
	if(ok) {
		ok = prev ? ig_writer_diff(w, prev) :
			ig_writer_meta(w, "changed_all", "1");
		if(!ok) snprintf(err, errlen, "%s", ig_writer_error(w));
	}
	ig_snapshot_unref(prev);
	if(!ok) {
		ig_writer_abort(w);
		return 0;
	}
	publish_time(&t0, out);
	out->diff_s = out->seconds - out->copy_s;
	if(!ig_writer_publish(w, serial, &out->info, err, errlen))
		return 0;
	if(!make_live(cfg, path, err, errlen)) {
		unlink(path);
		return 0;
	}
	prune(cfg);
	if(cfg->delta_snapshot[0]) delta_restart(st, cfg, path, out);
	publish_time(&t0, out);
	return 1;
}

int
loader_needs_publish(struct loader_state* st, const struct loader_cfg* cfg)
{
	struct ig_snapshot* s;
	struct ig_view v;
	struct stat fst;
	char err[1024];
	int need;
	if(!state_has_data(st)) return 0;
	if(stat(cfg->snapshot, &fst) != 0) return 1;
	/* a snapshot that readers refuse (damaged, or without a seal:
	 * written by a version before seals) is published again; that is
	 * what repairs it after an upgrade */
	if(!ig_snapshot_open_memo(cfg->snapshot, &needs_verified, &s, err,
		sizeof(err)))
		return 1;
	if(!ig_view_begin(s, &v)) {
		ig_snapshot_unref(s);
		return 1;
	}
	/* the state is published when the snapshot in force carries its
	 * serials, or the delta snapshot over it does */
	need = !sources_match(st, &v) && !delta_matches(st, cfg, s);
	if(!need && cfg->delta_snapshot[0]) {
		/* no delta over the snapshot in force (a crash came between
		 * a whole snapshot and its empty delta): publish one */
		struct ig_snapshot* d = delta_in_force(cfg, s);
		need = d == NULL;
		ig_snapshot_unref(d);
	}
	if(!need && cfg->exemptions[0]) {
		char id[128];
		const char* m = ig_view_meta(&v, "source.exemptions");
		/* an unreadable file is reported by the publish it causes */
		if(!exemptions_id(cfg, id, sizeof(id)) || !m || strcmp(id, m))
			need = 1;
	}
	ig_view_end(&v);
	ig_snapshot_unref(s);
	return need;
}

int
loader_rollback(const struct loader_cfg* cfg, char* msg, size_t msglen)
{
	struct ig_snapshot* s;
	uint64_t cur = UINT64_MAX, *v, to = 0;
	size_t n, i;
	int sealed;
	char path[2100], err[1024];
	if(ig_snapshot_open_verified(cfg->snapshot, &s, &sealed, err,
		sizeof(err))) {
		cur = ig_snapshot_info(s)->serial;
		ig_snapshot_unref(s);
	}
	n = kept_list(cfg, &v);
	for(i = 0; i < n; i++)
		if(v[i] < cur) to = v[i];
	free(v);
	if(!to) {
		snprintf(msg, msglen, "no kept snapshot older than serial %llu "
			"in %s/snapshots", (unsigned long long)cur,
			cfg->state_dir);
		return 0;
	}
	kept_path(cfg, to, path, sizeof(path));
	/* a kept file put in force again: verified whole first */
	if(!ig_snapshot_open_verified(path, &s, &sealed, err, sizeof(err))) {
		snprintf(msg, msglen, "%s", err);
		return 0;
	}
	ig_snapshot_unref(s);
	if(!make_live(cfg, path, err, sizeof(err))) {
		snprintf(msg, msglen, "%s", err);
		return 0;
	}
	/* the delta names the snapshot rolled back from: readers no longer
	 * lay it over anything; the next publish writes a whole snapshot
	 * (the change log does not reach back that far) */
	if(cfg->delta_snapshot[0]) unlink(cfg->delta_snapshot);
	snprintf(msg, msglen, "rolled back from serial %llu to %llu (%s)",
		(unsigned long long)cur, (unsigned long long)to, path);
	return 1;
}

/** remove NAME.tmp.* entries of a directory */
static void
remove_temps(const char* dir, const char* prefix)
{
	DIR* d = opendir(dir);
	struct dirent* e;
	if(!d) return;
	while((e = readdir(d))) {
		char p[4096];
		if(strncmp(e->d_name, prefix, strlen(prefix)) != 0 ||
			!strstr(e->d_name, ".tmp"))
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		unlink(p);
	}
	closedir(d);
}

void
loader_cleanup(const struct loader_cfg* cfg)
{
	char dir[2048], *base, *slash;
	snprintf(dir, sizeof(dir), "%s/snapshots", cfg->state_dir);
	remove_temps(dir, "snapshot-");
	/* a crash between a publish and its prune leaves one kept
	 * snapshot too many until the next publish */
	prune(cfg);
	snprintf(dir, sizeof(dir), "%s/dl", cfg->state_dir);
	remove_temps(dir, "");
	snprintf(dir, sizeof(dir), "%s/quarantine", cfg->state_dir);
	remove_temps(dir, "");
	snprintf(dir, sizeof(dir), "%s", cfg->snapshot);
	if((slash = strrchr(dir, '/'))) {
		base = slash + 1;
		*slash = 0;
		remove_temps(*dir ? dir : "/", base);
	}
	snprintf(dir, sizeof(dir), "%s", cfg->delta_snapshot);
	if(cfg->delta_snapshot[0] && (slash = strrchr(dir, '/'))) {
		base = slash + 1;
		*slash = 0;
		remove_temps(*dir ? dir : "/", base);
	}
}
