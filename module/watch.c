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
 * changed; otherwise those that name a changed name (with its subtree):
 * as their QNAME, as the owner or CNAME target of an answer RRset (alias
 * chains), or as the name a policy answer matched.  With the changed
 * names in memory a quick pass over the QNAMEs comes first, so that a
 * takedown's cached answers go before the full pass reads every entry's
 * RRsets.  A second expiry a little later catches answers that were being
 * decided on the old snapshot during the first.
 */
#include "config.h"
#include "module/icpguard.h"
#include "common/stats_text.h"
#include "util/log.h"
#include "util/net_help.h"
#include "util/module.h"
#include "util/storage/slabhash.h"
#include "util/data/msgreply.h"
#include "util/data/dname.h"
#include "sldns/pkthdr.h"
#include "sldns/rrdef.h"
#include <errno.h>
#include <libgen.h>
#include <poll.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/** this thread's view and the instance it belongs to */
static __thread struct icpguard_view* tls_view;
static __thread uint64_t tls_instance;

/** slot names for log lines */
static const char* const slot_name[IG_SLOT_COUNT] = { "snapshot",
	"order snapshot", "delta snapshot" };

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
file_id_keep(struct icpguard_slot* sl, const struct ig_file_id* id)
{
	sl->id = *id;
}

/** is the file in force still the one at the path */
static int
file_id_same(const struct icpguard_slot* sl, const struct ig_file_id* id)
{
	return sl->current && ig_file_id_equal(&sl->id, id);
}

int
icpguard_snapshot_start(struct icpguard_env* ie)
{
	char err[1024];
	struct ig_file_id id;
	int i, sealed;
	ie->slot[IG_SLOT_MAIN].path = ie->cfg.snapshot;
	ie->slot[IG_SLOT_ORDERS].path = ie->cfg.orders_snapshot;
	ie->slot[IG_SLOT_DELTA].path = ie->cfg.delta_snapshot;
	for(i = 0; i < IG_SLOT_COUNT; i++) {
		struct icpguard_slot* sl = &ie->slot[i];
		if(!sl->path[0]) continue;
		(void)ig_file_id_of(sl->path, &id);
		if(!ig_snapshot_open_verified(sl->path, &sl->current,
			&sealed, err, sizeof(err))) {
			sl->current = NULL;
			if(i != IG_SLOT_MAIN) {
				/* no orders or no delta yet is a normal state */
				log_info("icpguard: no %s yet (%s)",
					slot_name[i], err);
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
		if(i == IG_SLOT_DELTA && !ig_snapshot_delta_over(sl->current,
			ie->slot[IG_SLOT_MAIN].current)) {
			/* the watch thread takes it once its base is in force */
			log_info("icpguard: delta snapshot %s held back: its "
				"snapshot is not in force", ig_snapshot_info(
				sl->current)->ident);
			ig_snapshot_unref(sl->current);
			sl->current = NULL;
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
icpguard_view(struct icpguard_env* ie, struct ig_view** urgent,
	struct ig_view** delta)
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
			if(delta) *delta = NULL;
			return NULL;
		}
	}
	if(urgent)
		*urgent = v->view[IG_SLOT_ORDERS].snap ?
			&v->view[IG_SLOT_ORDERS] : NULL;
	/* the watch thread keeps a delta in force only over the main
	 * snapshot in force (both change under one lock, one generation);
	 * an empty one changes nothing and costs a walk per name */
	if(delta)
		*delta = v->view[IG_SLOT_DELTA].snap && ig_snapshot_info(
			v->view[IG_SLOT_DELTA].snap)->delta_names > 0 ?
			&v->view[IG_SLOT_DELTA] : NULL;
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
	/** the view's changed set in memory (NULL: read it from the view) */
	struct changed_set* set;
};

/**
 * The changed set of a new snapshot in memory, for the expiry pass: a few
 * thousand names at most for a delta, probed for every cached name.  An
 * open-addressing set of 64-bit hashes of the name keys (lib/name.h: a
 * key's prefixes up to each label end are the keys of its ancestors), the
 * low bit the subtree flag.  A hash collision can only expire one answer
 * too many, never keep one.
 */
struct changed_set {
	/** slots, 0 empty */
	uint64_t* slot;
	/** size - 1 (a power of two minus one) */
	size_t mask;
	/** the depths (label counts) of its names: bit d-1 for depth d up
	 * to 64 (a deeper name is probed at every depth past 64), and the
	 * deepest: a cached name is hashed no deeper and probed only where
	 * a changed name may be */
	uint64_t depths;
	int maxdepth;
	/** the domain hashes of its names (module/recent.h), for the first
	 * look at the recent answers; unusable when a name has fewer than
	 * two labels or there are more than CHANGED_DOMAINS_MAX */
	uint64_t* domains;
	int ndomains, domains_unusable;
};

/** the most domains the recent answers are looked up for */
#define CHANGED_DOMAINS_MAX 4096

/** FNV-1a's 64-bit prime */
#define FNV_PRIME 0x100000001b3ULL

/** FNV-1a, 64 bits, continued from h over n bytes */
static uint64_t
fnv_more(uint64_t h, const uint8_t* p, size_t n)
{
	size_t i;
	for(i = 0; i < n; i++) {
		h ^= p[i];
		h *= FNV_PRIME;
	}
	return h;
}
#define FNV_START 0xcbf29ce484222325ULL

/** a slot value: the hash with the low bit for the subtree flag, never 0 */
static uint64_t
changed_slot_value(uint64_t h, int sub)
{
	h = (h & ~(uint64_t)1) | (sub ? 1 : 0);
	return h ? h : 2;
}

/** find the slot of hash h (either flag); @return its value or 0 */
static uint64_t
changed_set_find(const struct changed_set* cs, uint64_t h)
{
	size_t i = (size_t)(h >> 7) & cs->mask;
	uint64_t want = changed_slot_value(h, 0) & ~(uint64_t)1;
	while(cs->slot[i]) {
		if((cs->slot[i] & ~(uint64_t)1) == want) return cs->slot[i];
		i = (i + 1) & cs->mask;
	}
	return 0;
}

/** the labels of a name key (lib/name.h: length-prefixed labels, the
 * top level first); -1 when malformed */
static int
key_depth(const uint8_t* key, size_t len)
{
	size_t p = 0;
	int n = 0;
	while(p < len) {
		p += 1 + (size_t)key[p];
		n++;
	}
	return p == len ? n : -1;
}

/**
 * Is the name (wire, uncompressed) or an ancestor with the subtree flag
 * in the set.  The hash of a name key's prefix is built label by label
 * from the top level down, as changed_set_fill hashed the keys (lower
 * case, lib/name.h), with no key buffer, no deeper than the set's
 * deepest name, and probed only at the depths its names have: for a
 * takedown of a few names, a cached name costs a label or two.
 */
static int
changed_set_match(const struct changed_set* cs, const uint8_t* wire)
{
	size_t starts[IG_LABELS_MAX], n = 0;
	uint64_t h = FNV_START;
	int nl = 0, d;
	while(wire[n] && nl < IG_LABELS_MAX) {
		starts[nl++] = n;
		n += 1 + (size_t)wire[n];
	}
	for(d = 1; d <= nl && d <= cs->maxdepth; d++) {
		const uint8_t* lab = wire + starts[nl - d];
		size_t j, ll = lab[0];
		uint64_t v;
		h ^= ll;
		h *= FNV_PRIME;
		for(j = 1; j <= ll; j++) {
			h ^= ig_lower(lab[j]);
			h *= FNV_PRIME;
		}
		if(d <= 64 && !(cs->depths & ((uint64_t)1 << (d - 1))))
			continue;
		if((v = changed_set_find(cs, h)) && ((v & 1) || d == nl))
			return 1;
	}
	return 0;
}

/** the most changed names held in memory; a larger set is read from the
 * snapshot for each cached name (slower, still correct) */
#define IG_CHANGED_SET_MAX 262144

/** free a changed set */
static void
changed_set_free(struct changed_set* cs)
{
	if(!cs) return;
	free(cs->slot);
	free(cs->domains);
	free(cs);
}

struct changed_src;
static int changed_set_fill(struct changed_set* cs,
	const struct changed_src* src);

/** where changed names are read: a view's changed set (IG_DB_CHANGED,
 * its values the subtree flags), or the names a delta snapshot holds
 * (IG_DB_NAME, each with its subtree) */
struct changed_src {
	/** the view */
	struct ig_view* view;
	/** IG_DB_CHANGED or IG_DB_NAME */
	enum ig_db db;
};

/** the entries of one source's database, or (size_t)-1 unreadable */
static size_t
changed_src_count(const struct changed_src* src)
{
	MDB_stat st;
	if(mdb_stat(src->view->txn, ig_view_dbi(src->view, src->db), &st) != 0)
		return (size_t)-1;
	return st.ms_entries;
}

/**
 * Read changed names into memory, from one or more sources.  Watch
 * thread.
 * @return the set (free with changed_set_free), or NULL when it is too
 *	large, unreadable or out of memory (the caller reads the view, or
 *	expires everything).
 */
static struct changed_set*
changed_set_load(const struct changed_src* src, int nsrc)
{
	struct changed_set* cs;
	size_t n = 0, size = 64;
	int s;
	for(s = 0; s < nsrc; s++) {
		size_t c = changed_src_count(&src[s]);
		if(c == (size_t)-1) return NULL;
		n += c;
	}
	if(n > IG_CHANGED_SET_MAX) return NULL;
	while(size < n * 2) size *= 2;
	if(!(cs = calloc(1, sizeof(*cs))) ||
		!(cs->slot = calloc(size, sizeof(uint64_t)))) {
		free(cs);
		return NULL;
	}
	cs->mask = size - 1;
	for(s = 0; s < nsrc; s++)
		if(!changed_set_fill(cs, &src[s])) {
			changed_set_free(cs);
			return NULL;
		}
	return cs;
}

/** note the domain of a changed name (its key), for the recent answers */
static void
changed_domain_add(struct changed_set* cs, const uint8_t* key, size_t len)
{
	uint64_t d = ig_recent_key_domain(key, len);
	if(cs->domains_unusable) return;
	if(!d || cs->ndomains >= CHANGED_DOMAINS_MAX) {
		cs->domains_unusable = 1;
		return;
	}
	if(!cs->domains && !(cs->domains = malloc(CHANGED_DOMAINS_MAX *
		sizeof(*cs->domains)))) {
		cs->domains_unusable = 1;
		return;
	}
	cs->domains[cs->ndomains++] = d;
}

/** add one source's names to a set sized for them */
static int
changed_set_fill(struct changed_set* cs, const struct changed_src* src)
{
	MDB_cursor* c;
	MDB_val k, d;
	int rc;
	if(mdb_cursor_open(src->view->txn, ig_view_dbi(src->view, src->db),
		&c) != 0)
		return 0;
	for(rc = mdb_cursor_get(c, &k, &d, MDB_FIRST); rc == 0;
		rc = mdb_cursor_get(c, &k, &d, MDB_NEXT)) {
		uint64_t h = fnv_more(FNV_START, k.mv_data, k.mv_size);
		int sub = src->db == IG_DB_NAME || (d.mv_size > 0 &&
			((uint8_t*)d.mv_data)[0]);
		int depth = key_depth(k.mv_data, k.mv_size);
		size_t i = (size_t)(h >> 7) & cs->mask;
		uint64_t old;
		if((old = changed_set_find(cs, h))) {
			/* the same hash twice: keep the subtree flag if any */
			while((cs->slot[i] & ~(uint64_t)1) != (old & ~(uint64_t)1))
				i = (i + 1) & cs->mask;
			cs->slot[i] |= (uint64_t)(sub ? 1 : 0);
			continue;
		}
		if(depth < 0 || depth > 64) {
			/* malformed or very deep: probe at every depth */
			cs->depths = ~(uint64_t)0;
			cs->maxdepth = IG_LABELS_MAX;
		} else if(depth > 0) {
			cs->depths |= (uint64_t)1 << (depth - 1);
			if(depth > cs->maxdepth) cs->maxdepth = depth;
		}
		changed_domain_add(cs, k.mv_data, k.mv_size);
		while(cs->slot[i]) i = (i + 1) & cs->mask;
		cs->slot[i] = changed_slot_value(h, sub);
	}
	mdb_cursor_close(c);
	return 1;
}

/** is this name (wire) among the changed ones: the new snapshot's changed
 * set, or the names of fa (with their subtrees) */
static int
name_changed(struct flush_arg* fa, const uint8_t* wire)
{
	if(fa->names) {
		int i;
		for(i = 0; i < fa->nnames; i++)
			if(dname_subdomain_c((uint8_t*)wire, fa->names[i]))
				return 1;
		return 0;
	} else {
		uint8_t key[IG_KEY_MAX];
		size_t labelend[IG_LABELS_MAX];
		int nl;
		if(fa->set) return changed_set_match(fa->set, wire);
		ig_name_wire_to_key(wire, key, labelend, &nl);
		return ig_view_changed(fa->view, key, labelend, nl);
	}
}

/** a whole domain name inside len bytes at p, not compressed (cached
 * rdata is decompressed) */
static int
rdata_name_ok(const uint8_t* p, size_t len)
{
	size_t n = 0;
	while(n < len) {
		if(p[n] == 0) return 1;
		if(p[n] & 0xc0) return 0;
		n += (size_t)p[n] + 1;
	}
	return 0;
}

/**
 * Does a cached answer name a changed name: its QNAME, the owners of its
 * answer RRsets (every name of an alias chain), a CNAME's target (the
 * chain may end in no data), and for a policy answer the name it matched
 * (the SOA MNAME).  The RRsets are read under their own locks, as a
 * worker reads them (message entry first, then RRsets); one that has been
 * replaced meanwhile counts as changed.
 */
static int
entry_changed(struct flush_arg* fa, struct msgreply_entry* k,
	struct reply_info* d)
{
	size_t i;
	if(name_changed(fa, k->key.qname)) return 1;
	for(i = 0; i < d->an_numrrsets + d->ns_numrrsets &&
		i < d->rrset_count; i++) {
		struct ub_packed_rrset_key* rk = d->ref[i].key;
		struct packed_rrset_data* pd;
		int hit = 0;
		uint16_t type;
		if(!rk) return 1;
		lock_rw_rdlock(&rk->entry.lock);
		if(rk->id != d->ref[i].id) {
			lock_rw_unlock(&rk->entry.lock);
			return 1;
		}
		type = ntohs(rk->rk.type);
		pd = (struct packed_rrset_data*)rk->entry.data;
		if(i < d->an_numrrsets) {
			hit = name_changed(fa, rk->rk.dname);
			if(!hit && type == LDNS_RR_TYPE_CNAME && pd &&
				pd->count > 0 && pd->rr_len[0] > 2 &&
				rdata_name_ok(pd->rr_data[0] + 2,
				pd->rr_len[0] - 2))
				hit = name_changed(fa, pd->rr_data[0] + 2);
		} else if(type == LDNS_RR_TYPE_SOA &&
			(rk->rk.flags & ICPGUARD_RRSET_POLICY) && pd &&
			pd->count > 0 && pd->rr_len[0] > 2 &&
			rdata_name_ok(pd->rr_data[0] + 2, pd->rr_len[0] - 2)) {
			hit = name_changed(fa, pd->rr_data[0] + 2);
		}
		lock_rw_unlock(&rk->entry.lock);
		if(hit) return 1;
	}
	return 0;
}

/** expire one message (write-locked): its TTLs to fa->expired and
 * unchecked, so that no worker answers it from the cache again */
static void
expire_entry(struct reply_info* d, struct flush_arg* fa)
{
	d->ttl = fa->expired;
	d->prefetch_ttl = fa->expired;
	d->serve_expired_ttl = fa->expired;
	/* unchecked: while a validator is loaded a worker answers it only
	 * through the modules, never as a stale answer, even with
	 * serve-expired and no serve-expired-ttl (worker.c
	 * answer_from_cache, mesh.c mesh_serve_expired_lookup) */
	d->security = sec_status_unchecked;
	fa->count++;
}

/** is the (write-locked) message one fa leaves alone whatever it names:
 * already expired, or, when only changed names are expired, unchecked */
static int
entry_skipped(const struct reply_info* d, const struct flush_arg* fa)
{
	if(d->ttl <= fa->expired) return 1;
	/* an unchecked message reaches a client only through the modules (a
	 * validator is loaded), where it is decided again: the iterator's
	 * raw answers and what an earlier swap marked */
	return (fa->view || fa->names) && d->security == sec_status_unchecked;
}

/** the full pass: every entry, write-locked, decided on its QNAME and
 * the names of its RRsets (entry_changed) */
static void
flush_entry(struct lruhash_entry* e, struct flush_arg* fa)
{
	struct msgreply_entry* k = (struct msgreply_entry*)e->key;
	struct reply_info* d;
	lock_rw_wrlock(&e->lock);
	d = (struct reply_info*)e->data;
	if(!entry_skipped(d, fa) && (!(fa->view || fa->names) ||
		entry_changed(fa, k, d)))
		expire_entry(d, fa);
	lock_rw_unlock(&e->lock);
}

/** the QNAME pass: an entry whose QNAME is a changed name is expired, the
 * others are not locked at all (a message's key does not change while it
 * is in its bin, whose lock the walk holds) */
static void
flush_qname(struct lruhash_entry* e, struct flush_arg* fa)
{
	struct msgreply_entry* k = (struct msgreply_entry*)e->key;
	struct reply_info* d;
	if(!name_changed(fa, k->key.qname)) return;
	lock_rw_wrlock(&e->lock);
	d = (struct reply_info*)e->data;
	if(!entry_skipped(d, fa)) expire_entry(d, fa);
	lock_rw_unlock(&e->lock);
}

/** bins looked at, and entries visited, per hold of a table's lock */
#define WALK_BINS 64
#define WALK_ENTRIES 16
/** how many bins ahead the walk prefetches an entry */
#define WALK_AHEAD 8

/** the first entry of a bin, read without its lock (the table lock held:
 * the bin array stays): a hint only, for the prefetch and to skip an
 * empty bin; a bin found empty is as if its entry came just after the
 * visit (an answer stored after the swap is the `clear` path's, module/
 * icpguard.c).  A deliberate race with a worker that links an entry
 * under the bin's lock (an aligned pointer read atomically, never
 * dereferenced unlocked; ThreadSanitizer would name it) */
static struct lruhash_entry*
bin_first_hint(struct lruhash_bin* b)
{
	return __atomic_load_n(&b->overflow_list, __ATOMIC_ACQUIRE);
}

/**
 * Visit every message-cache entry with visit, a few hash bins at a time:
 * the table lock is held for at most WALK_BINS bins or WALK_ENTRIES
 * entries and let go before the next ones, so a worker waits for a few
 * entries' visits at most, never for a whole slab (slabhash_traverse
 * holds a slab's table lock for all of it: a swap with a large cache
 * stalled the workers).  A bin's lock is taken only when the bin holds an
 * entry, and the entry of a bin a few ahead is prefetched: the walk over a
 * large cache is bound by memory latency; with the changed set's
 * shallow hashing (changed_set_match) the takedown's QNAME pass over a
 * full cache took about a third less time
 * (docs/benchmarks.md).  The locks are taken as lruhash_lookup takes
 * them (table, bin, entry).  The table can grow between two holds: it
 * doubles, an entry of bin j moves to bin j or j + old size, so no entry
 * of a bin not yet visited moves below the next index (some visited ones
 * are visited again: harmless).  Watch thread.
 */
static void
msg_cache_walk(struct slabhash* sh, struct flush_arg* fa,
	void (*visit)(struct lruhash_entry*, struct flush_arg*))
{
	size_t s;
	for(s = 0; s < sh->size; s++) {
		struct lruhash* t = sh->array[s];
		size_t i = 0;
		for(;;) {
			size_t end;
			int visited = 0;
			lock_quick_lock(&t->lock);
			if(i >= t->size) {
				lock_quick_unlock(&t->lock);
				break;
			}
			end = i + WALK_BINS < t->size ? i + WALK_BINS : t->size;
			for(; i < end && visited < WALK_ENTRIES; i++) {
				struct lruhash_entry* e;
				if(i + WALK_AHEAD < t->size &&
					(e = bin_first_hint(&t->array[i +
					WALK_AHEAD])) != NULL) {
					/* the entry and its key's start (the
					 * QNAME's pointer), not dereferenced */
					__builtin_prefetch(e);
					__builtin_prefetch((char*)e - offsetof(
						struct msgreply_entry, entry));
				}
				if(!bin_first_hint(&t->array[i]))
					continue;
				lock_quick_lock(&t->array[i].lock);
				for(e = t->array[i].overflow_list; e;
					e = e->overflow_next) {
					visit(e, fa);
					visited++;
				}
				lock_quick_unlock(&t->array[i].lock);
			}
			lock_quick_unlock(&t->lock);
		}
	}
}

static int64_t mono_ms(void);
static unsigned long flush_sources(struct icpguard_env* ie,
	const struct changed_src* src, int nsrc,
	uint8_t (*names)[IG_NAME_MAX], int nnames);


/** visit the entries of hash h in the bin it falls in, with the locks
 * taken as lruhash_lookup takes them (table, bin, then the entry in
 * visit).  Watch thread. */
static void
msg_cache_hash_visit(struct slabhash* sh, hashvalue_type h,
	struct flush_arg* fa,
	void (*visit)(struct lruhash_entry*, struct flush_arg*))
{
	struct lruhash* t = slabhash_gettable(sh, h);
	struct lruhash_bin* b;
	struct lruhash_entry* e;
	lock_quick_lock(&t->lock);
	b = &t->array[h & t->size_mask];
	lock_quick_lock(&b->lock);
	lock_quick_unlock(&t->lock);
	for(e = b->overflow_list; e; e = e->overflow_next)
		if(e->hash == h) visit(e, fa);
	lock_quick_unlock(&b->lock);
}

/** the first look after a swap, before any walk: the cached answers of
 * the client queries the workers noted under the changed names' domains
 * (module/recent.h), each decided as in the QNAME pass.  Watch thread. */
static void
recent_pass(struct icpguard_env* ie, struct flush_arg* fa)
{
	int i, j, n;
	for(i = 0; i < fa->set->ndomains; i++) {
		struct ig_recent_query q[IG_RECENT_WAYS];
		n = ig_recent_get(&ie->recent, fa->set->domains[i], q);
		for(j = 0; j < n; j++) {
			struct query_info qi;
			memset(&qi, 0, sizeof(qi));
			qi.qname = q[j].qname;
			qi.qname_len = q[j].qname_len;
			qi.qtype = q[j].qtype;
			qi.qclass = q[j].qclass;
			msg_cache_hash_visit(ie->env->msg_cache,
				query_info_hash(&qi, q[j].flags), fa,
				flush_qname);
		}
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
	struct changed_src src;
	src.view = view;
	src.db = IG_DB_CHANGED;
	return flush_sources(ie, view ? &src : NULL, view ? 1 : 0, names,
		nnames);
}

/**
 * flush_run over changed names from one or more sources (nsrc 0 and no
 * names: everything).  Several sources that do not fit in memory expire
 * everything; a single changed set is read from its view instead.
 * @return messages expired.  Watch thread.
 */
static unsigned long
flush_sources(struct icpguard_env* ie, const struct changed_src* src,
	int nsrc, uint8_t (*names)[IG_NAME_MAX], int nnames)
{
	struct flush_arg fa;
	if(!ie->env || !ie->env->msg_cache) return 0;
	memset(&fa, 0, sizeof(fa));
	fa.ie = ie;
	fa.names = names;
	fa.nnames = nnames;
	fa.expired = time(NULL) - 2;
	if(nsrc > 0 && !(fa.set = changed_set_load(src, nsrc)) && nsrc == 1 &&
		src[0].db == IG_DB_CHANGED)
		fa.view = src[0].view;
	else if(nsrc > 0 && fa.set)
		fa.view = src[0].view;
	/* with changed names in memory, a quick pass first expires the
	 * messages asked for a changed name (a takedown's cached answers:
	 * a few name hashes per entry, no entry lock); the full pass then
	 * decides the rest on their RRsets too.  The first pass only moves
	 * some of the full pass's decisions earlier. */
	ie->qname_pass_ms = -1;
	ie->recent_expired = -1;
	if(fa.set && !fa.set->domains_unusable && fa.set->ndomains > 0) {
		unsigned long before = fa.count;
		recent_pass(ie, &fa);
		ie->recent_expired = (long)(fa.count - before);
	}
	if(fa.set || fa.names) {
		int64_t t0 = mono_ms();
		msg_cache_walk(ie->env->msg_cache, &fa, flush_qname);
		ie->qname_pass_ms = (long long)(mono_ms() - t0);
	}
	msg_cache_walk(ie->env->msg_cache, &fa, flush_entry);
	changed_set_free(fa.set);
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
	if(n > 0) {
		/* a new generation: an answer decided before the transition
		 * and stored after this pass is retired when its query ends
		 * (module/icpguard.c, clear), as after a swap */
		atomic_fetch_add(&ie->generation, 1);
		(void)flush_run(ie, NULL, names, n);
	}
}

/** monotonic milliseconds */
static int64_t
mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/**
 * Watch the directories of the snapshot files with inotify: the loader
 * renames a new file over the path, and the watch thread learns it at
 * once instead of at its next poll (a takedown order is in force that
 * much sooner).  Polling stays as the fallback (inotify unavailable, a
 * file system without events, a path through a symbolic link that is
 * changed).  Watch thread.
 * @return the inotify descriptor, or -1 (logged) when polling alone.
 */
static int
notify_open(struct icpguard_env* ie)
{
	int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC), i, n = 0;
	if(fd < 0) {
		log_warn("icpguard: inotify: %s: polling the snapshot files "
			"every %d ms only", strerror(errno), ie->cfg.poll_ms);
		return -1;
	}
	for(i = 0; i < IG_SLOT_COUNT; i++) {
		char* dcopy;
		if(!ie->slot[i].path[0] || !(dcopy = strdup(ie->slot[i].path)))
			continue;
		if(inotify_add_watch(fd, dirname(dcopy), IN_MOVED_TO |
			IN_CLOSE_WRITE | IN_CREATE | IN_DELETE_SELF |
			IN_MOVE_SELF) < 0)
			log_warn("icpguard: inotify on the directory of %s: %s "
				"(polled every %d ms)", ie->slot[i].path,
				strerror(errno), ie->cfg.poll_ms);
		else n++;
		free(dcopy);
	}
	if(n == 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/**
 * Wait up to ms milliseconds, or until the watched directories change, or
 * the module stops; stop requests are seen within 50 ms.
 * @return 0 when stopping.
 */
static int
nap(struct icpguard_env* ie, int nfd, int ms)
{
	int64_t end = mono_ms() + ms;
	while(!atomic_load(&ie->stopping)) {
		int64_t left = end - mono_ms();
		int step = left > 50 ? 50 : (int)left;
		if(left <= 0) break;
		if(nfd >= 0) {
			struct pollfd p = { nfd, POLLIN, 0 };
			if(poll(&p, 1, step) > 0) {
				/* drain the events: which one does not matter,
				 * every slot's file is checked next */
				char buf[4096]
					__attribute__((aligned(__alignof__(
					struct inotify_event))));
				while(read(nfd, buf, sizeof(buf)) > 0)
					;
				break;
			}
		} else {
			struct timespec ts = { 0, (long)step * 1000000L };
			nanosleep(&ts, NULL);
		}
	}
	return !atomic_load(&ie->stopping);
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

/**
 * Put a verified delta snapshot s in force, when it lies over the main
 * snapshot in force, and expire what changed: its changed set when it
 * follows the delta in force (serial + 1), else every name it or the
 * delta before holds.  Watch thread.
 * @return 1, or 0 when s names another snapshot (held back: s is
 *	dropped, the file is looked at again after the next main swap).
 */
static int
delta_swap(struct icpguard_env* ie, const struct ig_file_id* id,
	struct ig_snapshot* s, struct retired* ret)
{
	struct icpguard_slot* sl = &ie->slot[IG_SLOT_DELTA];
	const struct ig_snapshot_info* si = ig_snapshot_info(s);
	struct ig_snapshot* old;
	struct ig_view views[2];
	struct changed_src src[2] = { { &views[0], IG_DB_NAME },
		{ &views[1], IG_DB_NAME } };
	int nsrc = 0, follows;
	unsigned long n;
	pthread_mutex_lock(&ie->lock);
	if(!ig_snapshot_delta_over(s, ie->slot[IG_SLOT_MAIN].current)) {
		pthread_mutex_unlock(&ie->lock);
		verbose(VERB_OPS, "icpguard: delta snapshot %s held back: "
			"its snapshot is not in force", si->ident);
		ig_snapshot_unref(s);
		return 0;
	}
	old = sl->current;
	sl->current = s;
	atomic_fetch_add(&ie->generation, 1);
	pthread_mutex_unlock(&ie->lock);
	file_id_keep(sl, id);
	atomic_fetch_add(&ie->stats.swaps, 1);
	log_info("icpguard: delta snapshot %s in force (%llu names, was %s)",
		si->ident, (unsigned long long)si->delta_names,
		old ? ig_snapshot_info(old)->ident : "none");
	retire(ret, old);
	if(old && ig_snapshot_info(old)->serial == si->serial &&
		!strcmp(ig_snapshot_info(old)->hash, si->hash))
		return 1;
	/* both are over the main snapshot in force: the delta in force was
	 * dropped at the main swap otherwise */
	follows = old && si->serial == ig_snapshot_info(old)->serial + 1;
	if(ig_view_begin(s, &views[nsrc])) {
		src[nsrc++].db = follows ? IG_DB_CHANGED : IG_DB_NAME;
		if(!follows && old && ig_view_begin(old, &views[nsrc]))
			nsrc++;
		n = flush_sources(ie, src, nsrc, NULL, 0);
		verbose(VERB_OPS, "icpguard: expired %lu cached messages after "
			"the delta swap (%s)", n, follows ? "its changed set" :
			"every name of both deltas");
	}
	while(nsrc > 0) ig_view_end(&views[--nsrc]);
	return 1;
}

/** try the file at a slot's path; swap it in when good
 * @return 0, or 1 when a delta snapshot was held back (delta_swap) */
/** ms from the last write of the file id (its publisher's, before the
 * rename) to now, the propagation delay the swap log line gives (Unbound
 * logs whole seconds); -1 when the clock says the file is from the
 * future */
static long long
file_age_ms(const struct ig_file_id* id)
{
	struct timespec now;
	long long ns;
	clock_gettime(CLOCK_REALTIME, &now);
	ns = (long long)now.tv_sec * 1000000000LL + now.tv_nsec - id->mtime_ns;
	return ns < 0 ? -1 : ns / 1000000;
}

static int
try_swap(struct icpguard_env* ie, int i, const struct ig_file_id* id,
	struct ig_file_id* refused, struct retired* ret)
{
	struct icpguard_slot* sl = &ie->slot[i];
	struct ig_snapshot* s, *old, *dropped = NULL;
	struct ig_view view, dview;
	char err[1024];
	int full, same, sealed;
	unsigned long n;
	int64_t t0;
	/* the whole file is checked against its seal before LMDB reads a
	 * page of it (lib/snapshot_check.c): a damaged copy is refused here,
	 * in the watch thread, while the snapshot in force keeps serving */
	if(!ig_snapshot_open_verified(sl->path, &s, &sealed, err,
		sizeof(err))) {
		if(!ig_file_id_equal(refused, id)) {
			log_err("icpguard: refusing new %s: %s; keeping %s",
				slot_name[i], err, sl->current ?
				ig_snapshot_info(sl->current)->ident : "none");
			atomic_fetch_add(&ie->stats.refused, 1);
			*refused = *id;
		}
		return 0;
	}
	if(i == IG_SLOT_DELTA) return !delta_swap(ie, id, s, ret);
	/* start reading the new file in before the workers touch it */
	ig_snapshot_prefault(s);
	pthread_mutex_lock(&ie->lock);
	old = sl->current;
	sl->current = s;
	if(i == IG_SLOT_MAIN && ie->slot[IG_SLOT_DELTA].current &&
		!ig_snapshot_delta_over(ie->slot[IG_SLOT_DELTA].current, s)) {
		/* the delta names the snapshot swapped out: a new snapshot
		 * holds its changes (the loader folds them in), and the
		 * delta over the new one is taken next (its file is looked
		 * at again) */
		dropped = ie->slot[IG_SLOT_DELTA].current;
		ie->slot[IG_SLOT_DELTA].current = NULL;
		memset(&ie->slot[IG_SLOT_DELTA].id, 0,
			sizeof(ie->slot[IG_SLOT_DELTA].id));
	}
	atomic_fetch_add(&ie->generation, 1);
	pthread_mutex_unlock(&ie->lock);
	file_id_keep(sl, id);
	atomic_fetch_add(&ie->stats.swaps, 1);
	full = !old || ig_snapshot_info(s)->changed_all ||
		ig_snapshot_info(s)->serial !=
		ig_snapshot_info(old)->serial + 1;
	/* the same snapshot published again (a mirror copied anew): the
	 * same serial and content hash, no verdict and no identity changes
	 * (a new serial over the same content still expires, so that
	 * policy answers and their audit records name the snapshot in
	 * force) */
	same = old && ig_snapshot_info(s)->serial ==
		ig_snapshot_info(old)->serial && strcmp(
		ig_snapshot_info(s)->hash, ig_snapshot_info(old)->hash) == 0;
	log_info("icpguard: %s %s in force (was %s; %lld ms after the file "
		"was written)", slot_name[i], ig_snapshot_info(s)->ident,
		old ? ig_snapshot_info(old)->ident : "none",
		file_age_ms(id));
	index_note(s);
	retire(ret, old);
	if(same) {
		verbose(VERB_OPS, "icpguard: expired 0 cached messages after "
			"the swap (the same serial and content hash as the "
			"snapshot before)");
		return 0;
	}
	if(!ig_view_begin(s, &view)) {
		retire(ret, dropped);
		return 0;
	}
	t0 = mono_ms();
	if(dropped && !full && ig_view_begin(dropped, &dview)) {
		/* what changed since the old snapshot with its delta: the
		 * new one's changed set (against the old alone) and every
		 * name the dropped delta held */
		struct changed_src src[2] = { { &view, IG_DB_CHANGED },
			{ &dview, IG_DB_NAME } };
		log_info("icpguard: delta snapshot %s no longer in force",
			ig_snapshot_info(dropped)->ident);
		n = flush_sources(ie, src, 2, NULL, 0);
		ig_view_end(&dview);
	} else
		n = flush_cache(ie, full || dropped ? NULL : &view);
	ig_view_end(&view);
	retire(ret, dropped);
	/* answers being decided on the old snapshot meanwhile are retired
	 * when their query ends (module/icpguard.c, clear): no second pass */
	verbose(VERB_OPS, "icpguard: expired %lu cached messages after the "
		"swap (%s) in %lld ms (recent answers %ld, QNAME pass %lld ms)",
		n, full ? "all: "
		"the serial jumped or the snapshot says everything changed" :
		"changed names", (long long)(mono_ms() - t0),
		ie->recent_expired, ie->qname_pass_ms);
	return 0;
}

/** write the counters as Prometheus text (common/stats_text.h) */
static void
stats_dump(struct icpguard_env* ie)
{
	struct ig_stats_common c;
	char tmp[1100];
	FILE* out;
	int r, i;
	if(!(out = ig_stats_begin(ie->cfg.stats_file, tmp, sizeof(tmp))))
		return;
	for(r = 0; r < IG_REASON_COUNT; r++)
		c.verdicts[r] = atomic_load(&ie->stats.verdicts[r]);
	c.swaps = atomic_load(&ie->stats.swaps);
	c.refused = atomic_load(&ie->stats.refused);
	c.audit_sent = ig_audit_sent(&ie->audit);
	c.audit_dropped = ig_audit_dropped(&ie->audit);
	pthread_mutex_lock(&ie->lock);
	for(i = 0; i < IG_SLOT_COUNT && i < 2; i++)
		c.slot[i] = ie->slot[i].current ?
			ig_snapshot_info(ie->slot[i].current) : NULL;
	ig_stats_common_write(out, &c);
	pthread_mutex_unlock(&ie->lock);
	/* the Unbound module's own: its cache expiry */
	ig_stats_counter(out, "icpguard_cache_expired_total",
		atomic_load(&ie->stats.expired));
	ig_stats_counter(out, "icpguard_cache_retired_late_total",
		atomic_load(&ie->stats.retired_late));
	(void)ig_stats_end(out, tmp, ie->cfg.stats_file);
}

/** the watch thread */
static void*
watch_main(void* arg)
{
	struct icpguard_env* ie = (struct icpguard_env*)arg;
	struct ig_file_id refused[IG_SLOT_COUNT];
	/* a delta snapshot held back, and the main snapshot then in force:
	 * looked at again when either changes */
	struct ig_file_id held, held_main;
	struct retired ret;
	int i, k, nfd;
	int64_t next_tick = mono_ms() + 1000;
	char host[128];
	memset(refused, 0, sizeof(refused));
	memset(&held, 0, sizeof(held));
	memset(&held_main, 0, sizeof(held_main));
	memset(&ret, 0, sizeof(ret));
	log_thread_set(NULL);
	if(ie->cfg.audit_identity[0])
		snprintf(host, sizeof(host), "%s", ie->cfg.audit_identity);
	else if(gethostname(host, sizeof(host)) != 0 || strchr(host, '"'))
		snprintf(host, sizeof(host), "unbound");
	int64_t last = (int64_t)time(NULL);
	nfd = notify_open(ie);
	while(nap(ie, nfd, ie->cfg.poll_ms)) {
		int64_t now = (int64_t)time(NULL);
		if(now != last) {
			order_transitions(ie, last, now);
			last = now;
		}
		/* order hit counts, about once a second */
		if(mono_ms() >= next_tick) {
			next_tick = mono_ms() + 1000;
			if(ie->cfg.order_stats[0])
				(void)icpguard_hits_dump(&ie->hits,
					ie->cfg.order_stats, host);
			if(ie->cfg.stats_file[0])
				stats_dump(ie);
		}
		/* the order snapshot first: verifying a large main snapshot
		 * (its SHA-256, about a second at ten million filings) must
		 * not hold back a takedown published at the same time; the
		 * delta last, over the main snapshot just taken */
		for(k = 0; k < IG_SLOT_COUNT; k++) {
			static const int order[IG_SLOT_COUNT] = { IG_SLOT_ORDERS,
				IG_SLOT_MAIN, IG_SLOT_DELTA };
			struct ig_file_id id;
			i = order[k];
			if(!ie->slot[i].path[0] ||
				!ig_file_id_of(ie->slot[i].path, &id))
				continue;
			if(file_id_same(&ie->slot[i], &id) ||
				ig_file_id_equal(&id, &refused[i]))
				continue;
			if(i == IG_SLOT_DELTA && ig_file_id_equal(&id, &held) &&
				ig_file_id_equal(&ie->slot[IG_SLOT_MAIN].id,
				&held_main))
				continue;
			if(try_swap(ie, i, &id, &refused[i], &ret)) {
				held = id;
				held_main = ie->slot[IG_SLOT_MAIN].id;
			}
		}
		retired_release(&ret, 0);
	}
	if(nfd >= 0) close(nfd);
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
