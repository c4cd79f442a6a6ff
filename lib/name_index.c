/*
 * lib/name_index.c - the hash index over the name database.
 *
 * \file
 * See name_index.h for why and docs/snapshot.md for the layout.  The table
 * is one LMDB value: a 64-byte header, then 2^k slots of 16 bytes.
 * A slot's first word holds the key's file offset (bits 0-47), the key
 * length (48-55), 7 bits of the hash as a tag (56-62) and the "names
 * below" bit (63); 0 is an empty slot (offset 0 is LMDB's meta page).  The
 * second word holds the value's file offset (0-47) and length (48-63), or
 * 0 for a virtual node.  A value longer than 65534 bytes would be stored
 * with length 0xffff and read through the B-tree (the writer's name records
 * are at most 2 KiB: a defence for files from elsewhere).
 */
#include "lib/name_index.h"
#include <endian.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/** a slot of the table */
struct ig_index_slot {
	/** key offset, length, tag, children bit */
	uint64_t key;
	/** value offset and length; 0 for a virtual node */
	uint64_t val;
};

/** the header at the start of the value */
struct index_head {
	/** "igidx3" and two NULs */
	char magic[8];
	/** number of slots, a power of two */
	uint64_t nslots;
	/** hash seed */
	uint64_t seed;
	/** keys and virtual nodes */
	uint64_t entries;
	/** longest probe past the home slot */
	uint32_t maxprobe;
	/** zero */
	uint32_t pad;
	/** the file offset of the name database's first key: a copy that
	 * moved pages has it elsewhere */
	uint64_t anchor;
	/** zero */
	uint64_t reserved[2];
};

static const char index_magic[8] = "igidx3";

#define OFF_MASK ((1ull << 48) - 1)
#define KEY_LEN(k) ((size_t)(((k) >> 48) & 0xff))
#define KEY_TAG(k) (((k) >> 56) & 0x7f)
#define CHILDREN_BIT (1ull << 63)
#define VAL_LONG 0xffffu
/** slots sampled against the B-tree at load */
#define SAMPLE 64
/** labels in a key at most (a name has at most 127) */
#define MAX_LABELS 128

/** the finaliser of MurmurHash3: mixes every input bit into every output
 * bit, so the word loop below can be a cheap one */
static inline uint64_t
fmix64(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return h;
}

/** 8 bytes as a little-endian word (the same on every host) */
static inline uint64_t
load8(const uint8_t* p)
{
	uint64_t w;
	memcpy(&w, p, 8);
	return le64toh(w);
}

/** n (1 to 7) bytes as a little-endian word */
static inline uint64_t
load_tail(const uint8_t* p, size_t n)
{
	uint64_t w = 0;
	size_t i;
	for(i = 0; i < n; i++) w |= (uint64_t)p[i] << (8 * i);
	return w;
}

/** absorb one word into the hash state */
static inline uint64_t
absorb(uint64_t s, uint64_t w)
{
	s = (s ^ w) * 0x9e3779b97f4a7c15ull;
	return s ^ (s >> 32);
}

/**
 * The hashes of the prefixes of key ending at ends[0..n-1] (increasing), a
 * word at a time: the state after the whole words of a prefix is shared
 * with the longer prefixes, its last partial word is absorbed into a copy.
 */
static inline void
prefix_hashes(uint64_t seed, const uint8_t* key, const size_t* ends, int n,
	uint64_t* h)
{
	uint64_t s = seed ^ 0xcbf29ce484222325ull, t;
	size_t p = 0;
	int i;
	for(i = 0; i < n; i++) {
		size_t len = ends[i];
		for(; p + 8 <= len; p += 8)
			s = absorb(s, load8(key + p));
		t = len > p ? absorb(s, load_tail(key + p, len - p)) : s;
		h[i] = fmix64(t ^ ((uint64_t)len << 56));
	}
}

/** the hash of one whole key */
static uint64_t
key_hash(uint64_t seed, const uint8_t* key, size_t len)
{
	uint64_t h;
	prefix_hashes(seed, key, &len, 1, &h);
	return h;
}

void
ig_name_index_hashes(const struct ig_name_index* x, const uint8_t* key,
	const size_t* labelend, int nl, uint64_t* h)
{
	prefix_hashes(x->seed, key, labelend, nl, h);
}

int
ig_name_index_find(const struct ig_name_index* x, const uint8_t* key,
	size_t len, uint64_t h, struct ig_index_hit* hit)
{
	uint64_t i = h & x->mask, tag = h >> 57;
	uint32_t n;
	for(n = 0; n <= x->maxprobe; n++, i = (i + 1) & x->mask) {
		const struct ig_index_slot* s = &x->slots[i];
		uint64_t k = s->key, off;
		if(k == 0) return 0;
		if(KEY_TAG(k) != tag || KEY_LEN(k) != len) continue;
		off = k & OFF_MASK;
		if(off + len > x->maplen || memcmp(x->base + off, key, len) != 0)
			continue;
		hit->children = (k & CHILDREN_BIT) != 0;
		hit->record = s->val != 0;
		hit->val = NULL;
		hit->vallen = 0;
		if(s->val) {
			uint64_t vo = s->val & OFF_MASK;
			size_t vl = (size_t)(s->val >> 48);
			/* else long: the caller reads the B-tree */
			if(vl != VAL_LONG && vo + vl <= x->maplen) {
				hit->val = x->base + vo;
				hit->vallen = vl;
			}
		}
		return 1;
	}
	return 0;
}

/** LMDB's page header (lmdb's MDB_page, on-disk format of LMDB 0.9):
 * the page's own number, then flags at byte 10 */
#define PAGE_FLAGS_AT 10
/** the flag of a leaf page */
#define PAGE_LEAF 0x02

/**
 * Where the file is mapped, found without /proc (a chroot may lack it):
 * LMDB hands out pointers into its map but not the map's address
 * (mdb_env_info reports it only for MDB_FIXEDMAP).  The first key of the
 * name database lies in a leaf page whose header holds the page's number,
 * so its file offset is that number times the page size plus its place in
 * the page.  Only that page is read, and it is mapped.
 * @param first: the first key's address; off: its file offset.
 * @return 1 found, 0 not (an empty database, or not a leaf page).
 */
static int
map_find(MDB_txn* txn, MDB_dbi name, const uint8_t** first, uint64_t* off,
	const uint8_t** base, size_t* maplen)
{
	MDB_cursor* c;
	MDB_val k, v;
	MDB_stat st;
	MDB_envinfo info;
	const uint8_t* page;
	uint64_t pgno;
	uint16_t flags;
	int rc;
	if(mdb_stat(txn, name, &st) != 0 || st.ms_psize == 0 ||
		mdb_env_info(mdb_txn_env(txn), &info) != 0 ||
		mdb_cursor_open(txn, name, &c) != 0)
		return 0;
	rc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
	mdb_cursor_close(c);
	if(rc != 0) return 0;
	*first = k.mv_data;
	page = *first - (uintptr_t)*first % st.ms_psize;
	memcpy(&pgno, page, sizeof(pgno));
	memcpy(&flags, page + PAGE_FLAGS_AT, sizeof(flags));
	if(!(flags & PAGE_LEAF) || pgno >= info.me_mapsize / st.ms_psize)
		return 0;
	*off = pgno * st.ms_psize + (uint64_t)(*first - page);
	*base = *first - *off;
	*maplen = info.me_mapsize;
	return 1;
}

/* ------------------------------------------------------------------ */
/* building                                                            */

/** the label boundaries of a key; @return their count, 0 if malformed */
static int
key_bounds(const uint8_t* key, size_t len, size_t* b)
{
	size_t p = 0;
	int n = 0;
	while(p < len) {
		if(key[p] == 0 || n >= MAX_LABELS) return 0;
		p += 1 + (size_t)key[p];
		if(p > len) return 0;
		b[n++] = p;
	}
	return n;
}

/** nodes hashed, their slots prefetched, before they are put: the table
 * is hundreds of megabytes and each put a cache miss; the order of the
 * puts (and so the table) is the same as one at a time */
#define BATCH 32

/** a node waiting in the batch */
struct pending {
	/** its hash */
	uint64_t h;
	/** the slot's first word but for the tag; then the slot it got */
	uint64_t key;
	/** the slot's second word */
	uint64_t val;
};

/** the state of a build pass */
struct build {
	/** the map of the file */
	const uint8_t* base;
	size_t maplen;
	/** the table */
	struct ig_index_slot* slots;
	uint64_t mask, seed;
	/** entries so far, longest probe */
	uint64_t entries;
	uint32_t maxprobe;
	/** the previous key, and its chain of ancestors: boundary, and the
	 * slot (or, while sp is 0 or more, the batch entry) */
	const uint8_t* prev;
	size_t prevlen;
	int depth;
	size_t sb[MAX_LABELS];
	uint64_t ss[MAX_LABELS];
	int sp[MAX_LABELS];
	/** more nodes than the table was sized for came (a wrong count):
	 * the rest were left out, the build fails */
	int overflow;
	/** the batch: a key's nodes go in whole, after BATCH - 1 others */
	struct pending batch[BATCH + MAX_LABELS];
	int nb;
};

/** put the batch's nodes in order; the chain learns their slots */
static void
build_flush(struct build* b)
{
	int i, j;
	for(i = 0; i < b->nb; i++) {
		struct pending* p = &b->batch[i];
		uint64_t k = b->mask & p->h;
		uint32_t n = 0;
		while(b->slots[k].key != 0) {
			k = (k + 1) & b->mask;
			n++;
		}
		if(n > b->maxprobe) b->maxprobe = n;
		b->slots[k].key = p->key | ((p->h >> 57) << 56);
		b->slots[k].val = p->val;
		p->key = k;
	}
	for(j = 0; j < b->depth; j++)
		if(b->sp[j] >= 0) {
			b->ss[j] = b->batch[b->sp[j]].key;
			b->sp[j] = -1;
		}
	b->nb = 0;
}

/** add one node to the batch; @return its batch entry (-1 once the
 * table is full: the pass goes on counting, and the build fails or is
 * done again at the counted size) */
static int
build_put(struct build* b, const uint8_t* key, size_t len, uint64_t val,
	int children)
{
	struct pending* p;
	b->entries++;
	/* a slot always stays empty, so that every probe ends */
	if(b->entries >= b->mask) {
		b->overflow = 1;
		return -1;
	}
	p = &b->batch[b->nb];
	p->h = key_hash(b->seed, key, len);
	__builtin_prefetch(&b->slots[p->h & b->mask], 1);
	p->key = (uint64_t)(key - b->base) | ((uint64_t)len << 48) |
		(children ? CHILDREN_BIT : 0);
	p->val = val;
	return b->nb++;
}

/** add one key of the name database and its missing ancestors */
static int
build_key(struct build* b, const MDB_val* k, const MDB_val* v)
{
	const uint8_t* key = k->mv_data;
	size_t bnd[MAX_LABELS], cp = 0, lim;
	int n = key_bounds(key, k->mv_size, bnd), d = 0, j;
	uint64_t val;
	/* not a name key (or longer than the slot's 8-bit length): left to
	 * the B-tree; the writer makes none */
	if(n == 0 || k->mv_size > 255) return 1;
	if((key < b->base || (size_t)(key - b->base) + k->mv_size >
		b->maplen ||
		(const uint8_t*)v->mv_data < b->base ||
		(size_t)((const uint8_t*)v->mv_data - b->base) + v->mv_size >
		b->maplen))
		return 0; /* not in the map: cannot index */
	/* the ancestors shared with the previous key stay on the chain */
	lim = b->prevlen < k->mv_size ? b->prevlen : k->mv_size;
	while(cp < lim && b->prev[cp] == key[cp]) cp++;
	while(d < b->depth && d < n && bnd[d] <= cp && b->sb[d] == bnd[d]) d++;
	if(d == n) d = n - 1; /* the same key twice cannot happen; be safe */
	if(b->nb >= BATCH) build_flush(b);
	if(d > 0) {
		if(b->sp[d - 1] >= 0)
			b->batch[b->sp[d - 1]].key |= CHILDREN_BIT;
		else b->slots[b->ss[d - 1]].key |= CHILDREN_BIT;
	}
	val = ((uint64_t)((const uint8_t*)v->mv_data - b->base)) |
		((uint64_t)(v->mv_size < VAL_LONG ? v->mv_size : VAL_LONG) << 48);
	for(j = d; j < n; j++) {
		b->sb[j] = bnd[j];
		b->sp[j] = build_put(b, key, bnd[j], j == n - 1 ? val : 0,
			j < n - 1);
	}
	b->depth = n;
	b->prev = key;
	b->prevlen = k->mv_size;
	return 1;
}

/** one pass over the name database */
static int
build_pass(struct build* b, MDB_env* env, MDB_txn* txn, MDB_dbi name,
	void (*release)(MDB_env*), char* err, size_t errlen)
{
	MDB_cursor* c;
	MDB_val k, v;
	uint64_t n = 0;
	int rc, i;
	b->entries = 0;
	b->depth = 0;
	b->prev = NULL;
	b->prevlen = 0;
	b->nb = 0;
	for(i = 0; i < MAX_LABELS; i++) b->sp[i] = -1;
	if((rc = mdb_cursor_open(txn, name, &c)) != 0) {
		snprintf(err, errlen, "index: %s", mdb_strerror(rc));
		return 0;
	}
	for(rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
		rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		if(!build_key(b, &k, &v)) {
			mdb_cursor_close(c);
			snprintf(err, errlen, "index: a name record lies "
				"outside the map");
			return 0;
		}
		if(release && ++n % 1000000 == 0) release(env);
	}
	build_flush(b);
	mdb_cursor_close(c);
	if(rc != MDB_NOTFOUND) {
		snprintf(err, errlen, "index: %s", mdb_strerror(rc));
		return 0;
	}
	return 1;
}

/** slots for a table of this many nodes: a power of two, a load of at
 * most 2/3 */
static uint64_t
table_slots(uint64_t entries)
{
	uint64_t nslots = 16;
	while(nslots < entries + entries / 2) nslots <<= 1;
	return nslots;
}

int
ig_name_index_build(MDB_env* env, MDB_txn* txn, MDB_dbi name,
	MDB_dbi idx, uint64_t seed, uint64_t entries,
	void (*release)(MDB_env*), char* err, size_t errlen)
{
	struct build b;
	struct index_head head;
	MDB_val k, v;
	MDB_stat ms;
	const uint8_t* first;
	uint64_t nslots, anchor;
	int rc, guessed = 0;
	memset(&b, 0, sizeof(b));
	if(!map_find(txn, name, &first, &anchor, &b.base, &b.maplen))
		return 1; /* no names: no index (the walk uses the B-tree) */
	b.seed = seed;
	/* no count given: every record of the name database is a node, so
	 * its record count is a lower bound; the pass counts the ancestors
	 * too, and a table that turns out too small is built once more at
	 * the counted size (the same table a count would have sized) */
	if(!entries) {
		if((rc = mdb_stat(txn, name, &ms)) != 0) {
			snprintf(err, errlen, "index: %s", mdb_strerror(rc));
			return 0;
		}
		entries = ms.ms_entries;
		guessed = 1;
	}
	for(;;) {
		nslots = table_slots(entries);
		k.mv_data = (void*)IG_INDEX_KEY;
		k.mv_size = strlen(IG_INDEX_KEY);
		v.mv_size = sizeof(head) + nslots * sizeof(struct ig_index_slot);
		if((rc = mdb_put(txn, idx, &k, &v, MDB_RESERVE)) != 0) {
			snprintf(err, errlen, "index: %s", mdb_strerror(rc));
			return 0;
		}
		memset(v.mv_data, 0, v.mv_size);
		b.slots = (struct ig_index_slot*)((uint8_t*)v.mv_data +
			sizeof(head));
		b.mask = nslots - 1;
		b.overflow = 0;
		b.maxprobe = 0;
		if(!build_pass(&b, env, txn, name, release, err, errlen))
			return 0;
		if(guessed && table_slots(b.entries) != nslots) {
			entries = b.entries;
			guessed = 0;
			continue;
		}
		break;
	}
	if(b.overflow || (!guessed && b.entries != entries)) {
		snprintf(err, errlen, "index: %llu names counted, %llu found",
			(unsigned long long)entries,
			(unsigned long long)b.entries);
		return 0;
	}
	memset(&head, 0, sizeof(head));
	memcpy(head.magic, index_magic, sizeof(head.magic));
	head.anchor = anchor;
	head.nslots = nslots;
	head.seed = seed;
	head.entries = b.entries;
	head.maxprobe = b.maxprobe;
	memcpy(v.mv_data, &head, sizeof(head));
	return 1;
}

/* ------------------------------------------------------------------ */
/* loading                                                             */

/** check one slot against the B-tree; @return 1 consistent */
static int
sample_ok(const struct ig_name_index* x, MDB_txn* txn, MDB_dbi name,
	const struct ig_index_slot* s)
{
	uint64_t off = s->key & OFF_MASK;
	size_t len = KEY_LEN(s->key);
	MDB_val k, v;
	if(len == 0 || off + len > x->maplen) return 0;
	k.mv_data = (void*)(x->base + off);
	k.mv_size = len;
	if(s->val) {
		/* a record: the B-tree must give the same bytes, in place */
		if(mdb_get(txn, name, &k, &v) != 0) return 0;
		if((s->val >> 48) == VAL_LONG) return v.mv_size >= VAL_LONG;
		return (const uint8_t*)v.mv_data == x->base +
			(s->val & OFF_MASK) && v.mv_size == (s->val >> 48);
	} else {
		/* a virtual node: no record, and a name below it */
		MDB_cursor* c;
		int ok;
		if(mdb_get(txn, name, &k, &v) == 0) return 0;
		if(mdb_cursor_open(txn, name, &c) != 0) return 0;
		k.mv_data = (void*)(x->base + off);
		k.mv_size = len;
		ok = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE) == 0 &&
			k.mv_size > len && memcmp(k.mv_data, x->base + off,
			len) == 0;
		mdb_cursor_close(c);
		return ok;
	}
}

int
ig_name_index_load(struct ig_name_index* x, MDB_txn* txn,
	MDB_dbi name, char* why, size_t whylen)
{
	struct index_head head;
	MDB_dbi dbi;
	MDB_val k, v;
	const uint8_t* first;
	uint64_t i, step, checked = 0, off;
	memset(x, 0, sizeof(*x));
	if(why && whylen) why[0] = 0;
	if(mdb_dbi_open(txn, IG_INDEX_DB, 0, &dbi) != 0) return 0;
	k.mv_data = (void*)IG_INDEX_KEY;
	k.mv_size = strlen(IG_INDEX_KEY);
	/* no value: the writer had no names to index */
	if(mdb_get(txn, dbi, &k, &v) != 0) return 0;
	if(v.mv_size < sizeof(head)) {
		snprintf(why, whylen, "index value short");
		return 0;
	}
	memcpy(&head, v.mv_data, sizeof(head));
	if(memcmp(head.magic, index_magic, sizeof(head.magic)) != 0 ||
		head.nslots == 0 || (head.nslots & (head.nslots - 1)) != 0 ||
		head.nslots > (v.mv_size - sizeof(head)) /
		sizeof(struct ig_index_slot) ||
		v.mv_size != sizeof(head) + head.nslots *
		sizeof(struct ig_index_slot) || head.entries > head.nslots ||
		head.maxprobe >= head.nslots) {
		snprintf(why, whylen, "index header malformed");
		return 0;
	}
	if(((uintptr_t)v.mv_data + sizeof(head)) % sizeof(uint64_t) != 0) {
		snprintf(why, whylen, "index not aligned");
		return 0;
	}
	/* where the file is mapped; the first key must be where the writer
	 * saw it, or pages moved and no offset can be trusted (nothing but
	 * that first page has been read yet) */
	if(!map_find(txn, name, &first, &off, &x->base, &x->maplen)) {
		snprintf(why, whylen, "the map of the file was not found");
		memset(x, 0, sizeof(*x));
		return 0;
	}
	if(off != head.anchor) {
		snprintf(why, whylen, "index does not match the name "
			"database (file copied with pages moved?)");
		memset(x, 0, sizeof(*x));
		return 0;
	}
	x->slots = (const struct ig_index_slot*)((const uint8_t*)v.mv_data +
		sizeof(head));
	x->mask = head.nslots - 1;
	x->seed = head.seed;
	x->maxprobe = head.maxprobe;
	x->entries = head.entries;
	/* offsets are only valid in the file the writer made: check slots
	 * spread over the table against the B-tree */
	step = head.nslots / SAMPLE ? head.nslots / SAMPLE : 1;
	for(i = 0; i < head.nslots && checked < SAMPLE; i += step) {
		uint64_t j, n;
		/* the first used slot at or after i */
		for(j = i, n = 0; n < step && x->slots[j].key == 0; n++)
			j = (j + 1) & x->mask;
		if(x->slots[j].key == 0) continue;
		if(!sample_ok(x, txn, name, &x->slots[j])) {
			snprintf(why, whylen, "index does not match the name "
				"database (file copied with pages moved?)");
			memset(x, 0, sizeof(*x));
			return 0;
		}
		checked++;
	}
	return 1;
}
