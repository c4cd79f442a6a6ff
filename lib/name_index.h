/*
 * lib/name_index.h - the hash index over the name database.
 *
 * \file
 * The name database is a B-tree: one lookup of a random key in a
 * 10-million-name snapshot touches four pages and does a binary search in
 * each, about a dozen cache misses.  The verdict needs the flags of every
 * ancestor of the query name, so that cost is paid per label.  The index is
 * an open-addressing hash table (linear probing) over every key of the name
 * database, and over every ancestor of a key that has no record of its own
 * (a "virtual" node), stored as one value in the database "index" of the
 * same snapshot.  A slot holds the file offsets of the key and of the value
 * that LMDB wrote, plus a bit saying whether any name lies below: a lookup
 * is one slot read, a compare with the key bytes in the map, and the value
 * next to them; a walk down the ancestors stops at the first level that is
 * absent or has nothing below.  Keys are compared in full, so the index
 * answers exactly what the B-tree answers.
 *
 * The writer builds the index in a second write transaction, after the
 * records are committed: pages of a database that a transaction does not
 * modify never move, so the offsets stay valid in the published file.  A
 * copy that moves pages (mdb_copy -c) invalidates them; the reader checks
 * a sample of slots against the B-tree at open and ignores an index that
 * fails (the walk then uses the cursor, as for snapshots without index).
 * Layout: docs/snapshot.md.
 */
#ifndef IG_NAME_INDEX_H
#define IG_NAME_INDEX_H
#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>

/** the database holding the index, and the key of its one value */
#define IG_INDEX_DB "index"
#define IG_INDEX_KEY "name"

/** A loaded index: points into the snapshot's map, owns nothing. */
struct ig_name_index {
	/** the map of the snapshot file (offset 0) and its length */
	const uint8_t* base;
	size_t maplen;
	/** the slots, NULL when the snapshot has no usable index */
	const struct ig_index_slot* slots;
	/** slot count - 1 (the count is a power of two) */
	uint64_t mask;
	/** hash seed */
	uint64_t seed;
	/** the longest probe sequence of any key, in slots past its home */
	uint32_t maxprobe;
	/** keys and virtual nodes in the table */
	uint64_t entries;
};

/** What one lookup found. */
struct ig_index_hit {
	/** 1 if the name has a record (0: a virtual node, an ancestor of
	 * names that has none of its own) */
	int record;
	/** the record's bytes; NULL with record 1 when it must be read
	 * through the B-tree (over 65534 bytes) */
	const uint8_t* val;
	/** its length */
	size_t vallen;
	/** 1 if names exist below this one */
	int children;
};

/**
 * Build the index of the name database in a write transaction whose
 * records are already committed (nothing in name may change in txn).
 * Thread: the writer's thread.  Memory: the table is written into LMDB's
 * own buffer for the value (MDB_RESERVE), nothing else is held.
 * @param env, txn: the writer's environment and a fresh write txn.
 * @param name: the name database; idx: the database "index" (created).
 * @param seed: hash seed (any value; stored in the index).
 * @param entries: the nodes (names and their ancestors without a record
 *	of their own) when the caller knows them, checked; 0: the build
 *	sizes the table from the name database's record count and, when
 *	the ancestors make it too small, builds it once more at the count
 *	its pass found (the same table either way).
 * @param release: called every million keys to drop mapped pages read so
 *	far (may be NULL).
 * @param err, errlen: the cause on failure.
 * @return 1 built, 0 failed (txn must then be aborted).
 */
int ig_name_index_build(MDB_env* env, MDB_txn* txn, MDB_dbi name,
	MDB_dbi idx, uint64_t seed, uint64_t entries,
	void (*release)(MDB_env*), char* err, size_t errlen);

/**
 * Load the index of an open snapshot and check it: the header, the sizes,
 * and a sample of slots against the name database read through the B-tree.
 * Thread: any; x is then read-only and shared by all threads.
 * @param x: set up; x->slots is NULL when there is no usable index.
 * @param txn: a read txn on the snapshot.
 * @param name: the name database handle.
 * @param why, whylen: when an index exists but is refused, the reason.
 * @return 1 index in use, 0 not (no index, or refused: why says so).
 */
int ig_name_index_load(struct ig_name_index* x, MDB_txn* txn,
	MDB_dbi name, char* why, size_t whylen);

/**
 * The hashes of the key prefixes that end at labelend[0..nl-1] (the
 * ancestors of a name, from the TLD down), in one pass over the key.
 * Thread: any.
 */
void ig_name_index_hashes(const struct ig_name_index* x, const uint8_t* key,
	const size_t* labelend, int nl, uint64_t* h);

/**
 * Look up one key with its hash (from ig_name_index_hashes).
 * Thread: any; reads only.
 * @return 1 found (hit set), 0 no such name and nothing below it.
 */
int ig_name_index_find(const struct ig_name_index* x, const uint8_t* key,
	size_t len, uint64_t h, struct ig_index_hit* hit);

#endif /* IG_NAME_INDEX_H */
