/*
 * lib/snapshot.h - the icpguard policy snapshot: one immutable LMDB file.
 *
 * \file
 * A snapshot is written once by a writer (ig_writer_*), published with
 * fsync + rename, and from then on only read.  Readers open it with
 * MDB_RDONLY|MDB_NOLOCK: the file is never modified after publication, so
 * no lock table is needed, a read transaction may stay open as long as the
 * reader likes, and a new snapshot is a new file (the old one stays mapped
 * until its last reader closes it).  The layout is described in
 * docs/snapshot.md.
 *
 * Thread rules (as LMDB's): a struct ig_snapshot may be shared by threads
 * (its reference count is atomic); a struct ig_view belongs to one thread
 * at a time, and every pointer a lookup returns points into the mapped
 * file and is valid only until that view is ended.
 */
#ifndef ICPGUARD_SNAPSHOT_H
#define ICPGUARD_SNAPSHOT_H
#include <stddef.h>
#include <stdint.h>
#include <lmdb.h>
#include "lib/file_id.h"
#include "lib/addr.h"
#include "lib/name.h"

/** format tag stored in meta "format" */
#define IG_SNAPSHOT_FORMAT "icpguard-snapshot-1"

/** the named databases of a snapshot */
enum ig_db {
	IG_DB_META = 0,    /**< text key -> text value */
	IG_DB_NAME,        /**< name key -> flags + inline filing */
	IG_DB_BLACKLIST,   /**< name key -> blacklist entry */
	IG_DB_ORDER,       /**< order id -> order */
	IG_DB_ORDER_TARGET,/**< name key -> (subtree, order id), dupsort */
	IG_DB_EXEMPT,      /**< name key -> exemption */
	IG_DB_RANGE,       /**< kind + last address -> first address + owner */
	IG_DB_REDIRECT_HOST,/**< name key -> registrar id */
	IG_DB_REGISTRAR,   /**< registrar id -> registrar */
	IG_DB_REGDOMAIN,   /**< name key -> registrar domain record */
	IG_DB_CHANGED,     /**< name key -> subtree flag */
	IG_DB_COUNT
};

/** flags in the IG_DB_NAME value: what exists at this exact name */
#define IG_NAME_FILING     0x01
#define IG_NAME_BLACKLIST  0x02
#define IG_NAME_ORDER      0x04
#define IG_NAME_EXEMPT     0x08
#define IG_NAME_REDIRECT   0x10
#define IG_NAME_TLD        0x20 /**< a filable TLD */
#define IG_NAME_SUFFIX     0x40 /**< a public suffix (PSL rule) */
#define IG_NAME_SUFFIX_WILD 0x80 /**< every child is a public suffix
				      (PSL wildcard rule), see exceptions */

/** filing status */
enum ig_filing_status {
	IG_FILING_ACTIVE = 1,
	IG_FILING_CANCELLED = 2,
	IG_FILING_REVOKED = 3
};

/** filing subject type */
enum ig_subject_type {
	IG_SUBJECT_ENTERPRISE = 1,
	IG_SUBJECT_INDIVIDUAL = 2,
	IG_SUBJECT_GOVERNMENT = 3,
	IG_SUBJECT_INSTITUTION = 4,
	IG_SUBJECT_OTHER = 5
};

/** range kinds in IG_DB_RANGE */
enum ig_range_kind {
	IG_RANGE_DOMESTIC = 1,
	IG_RANGE_REDIRECT = 2
};

/** A filing of a registrable domain.  Strings are NUL-terminated. */
struct ig_filing {
	/** ACTIVE, CANCELLED or REVOKED */
	enum ig_filing_status status;
	/** subject type */
	enum ig_subject_type subject_type;
	/** approval date, unix seconds (0 unknown) */
	int64_t approved;
	/** filing number, e.g. 京ICP备16020626号-8 */
	const char* number;
	/** subject (organiser) name */
	const char* subject;
	/** province abbreviation, e.g. 京 */
	const char* province;
	/** access provider (the IDC/cloud) */
	const char* provider;
};

/** A blacklist entry. */
struct ig_blacklist {
	/** 1: covers the whole subtree; 0: the exact name only */
	int subtree;
	/** listing date, unix seconds */
	int64_t added;
	/** reason text */
	const char* reason;
	/** listing source */
	const char* source;
};

/** An operator exemption. */
struct ig_exempt {
	/** 1: whole subtree */
	int subtree;
	/** operator note */
	const char* note;
};

/** A takedown order. */
struct ig_order {
	/** order id: one DNS label, [A-Za-z0-9-] */
	const char* id;
	/** document number (函号) */
	const char* doc_no;
	/** issuing unit (来文单位) */
	const char* unit;
	/** reason (违规原因) */
	const char* reason;
	/** effective from, unix seconds */
	int64_t effective;
	/** expiry, unix seconds, 0 = none */
	int64_t expiry;
	/** lifted at, unix seconds, 0 = not lifted */
	int64_t lifted;
	/** number of targets */
	unsigned ntargets;
	/** raw target list: ntargets x (u8 subtree, u16 len, text NUL) */
	const uint8_t* targets;
};

/** 1 if the order is in force at time now. */
int ig_order_active(const struct ig_order* o, int64_t now);

/**
 * Walk an order's targets.
 * @param pos: cursor, start at 0.
 * @return 1 with *name and *subtree set, 0 at the end.
 */
int ig_order_target_next(const struct ig_order* o, size_t* pos,
	const char** name, int* subtree);

/** A registrar. */
struct ig_registrar {
	/** registrar id */
	const char* id;
	/** registrar name */
	const char* name;
};

/** registrar-domain service flags */
#define IG_REGDOMAIN_PARKING    0x01
#define IG_REGDOMAIN_FORWARDING 0x02
#define IG_REGDOMAIN_HOLD       0x04

/** A registrar's record of a domain. */
struct ig_regdomain {
	/** IG_REGDOMAIN_* flags */
	unsigned flags;
	/** registrar id */
	const char* registrar;
	/** status text (EPP status) */
	const char* status;
};

/** the longest snapshot identity: "SERIAL-HASH12", or for a delta
 * snapshot "BASESERIAL-HASH12+SERIAL-HASH12" (two 20-digit serials) */
#define IG_SNAPSHOT_IDENT_MAX 80

/**
 * The flags a delta snapshot decides at a name it holds (docs/snapshot.md,
 * "The delta layer"): its filing and its blacklist entry.  The other flags
 * and their records (orders, exemptions, redirect hosts, TLDs, the public
 * suffix list) always come from the base.
 */
#define IG_DELTA_FLAGS (IG_NAME_FILING | IG_NAME_BLACKLIST)

/** Snapshot identity and counts, read from meta at open. */
struct ig_snapshot_info {
	/** serial, increasing (a delta's: its number since its base) */
	uint64_t serial;
	/** SHA-256 over all records, hex */
	char hash[65];
	/** creation time, unix seconds */
	int64_t created;
	/** identity string "SERIAL-HASH12"; for a delta snapshot the base's
	 * and its own, "BASESERIAL-HASH12+SERIAL-HASH12": what a verdict
	 * read through it names */
	char ident[IG_SNAPSHOT_IDENT_MAX];
	/** 1 for a delta snapshot (meta "delta.base.serial") */
	int is_delta;
	/** a delta's base: its serial and content hash (hex) */
	uint64_t base_serial;
	/** the base's content hash */
	char base_hash[65];
	/** a delta's names (each hides the base's filing and blacklist
	 * entry there); 0: an empty delta, which changes nothing */
	uint64_t delta_names;
	/** 1 if the whole verdict space may have changed */
	int changed_all;
	/** 1 if the public suffix list is in the name database (IG_NAME_SUFFIX
	 * flags and meta "psl.exceptions"); 0: ask libpsl */
	int has_psl;
	/** 1 if the hash index over the name database is in use */
	int has_index;
	/** its entries (names and their ancestors) */
	uint64_t index_entries;
	/** when the file has an index that was refused, why ("" otherwise) */
	char index_refused[128];
};

/** An open snapshot; opaque, reference counted. */
struct ig_snapshot;

/** A read view: one read transaction on a snapshot. */
struct ig_view {
	/** the snapshot (holds a reference while the view is open) */
	struct ig_snapshot* snap;
	/** the LMDB read transaction */
	MDB_txn* txn;
	/** cursor on the order-target database, opened lazily */
	MDB_cursor* target_cur;
	/** cursor on the name database, opened lazily (ig_view_walk) */
	MDB_cursor* name_cur;
	/** the last TLD walked: its key (0 length: none), flags, and
	 * whether any name lies below it; most queries share a few TLDs */
	uint8_t tld_key[64];
	/** its key length */
	size_t tld_len;
	/** its flags */
	uint8_t tld_flags;
	/** 1 if names exist below it */
	uint8_t tld_below;
	/** set to 1 to walk the B-tree even when the snapshot has a hash
	 * index (tests and benchmarks compare the two) */
	int no_index;
};

/**
 * Open a published snapshot read-only.
 * First checks with ig_snapshot_file_sane that the file holds LMDB's last
 * page (a short file would kill the process with SIGBUS), then the format
 * tag, and reads the identity.  Does not verify the seal, and liblmdb trusts
 * the pages it maps: a damaged page can crash the process.  Only for a
 * file this process has just written or verified (tests, benchmarks);
 * every reader of a file that may come from elsewhere uses
 * ig_snapshot_open_verified or ig_snapshot_open_memo.
 * @param path: the snapshot file.
 * @param out: the snapshot, with one reference owned by the caller.
 * @param err, errlen: on failure a message naming the file and the cause.
 * @return 1 on success, 0 on failure.
 */
int ig_snapshot_open(const char* path, struct ig_snapshot** out, char* err,
	size_t errlen);

/**
 * ig_snapshot_open of a file the caller has already checked through fd
 * (ig_snapshot_file_sane, or the full verification).  LMDB opens the path
 * itself; the open is refused unless LMDB got the very file fd refers to
 * (device and inode), checked before LMDB reads any page past its meta
 * pages, so a file renamed over the path meanwhile never reaches LMDB's
 * page walk.  A reader that gets "replaced while it was being opened"
 * tries again later.  Any thread.
 * @param fd: the checked file, open for reading (not closed, not moved).
 * @return 1 with *out (one reference owned by the caller), or 0 with err
 *	naming the file and the cause.
 */
int ig_snapshot_open_checked(const char* path, int fd,
	struct ig_snapshot** out, char* err, size_t errlen);

/** Take another reference. Thread-safe. */
void ig_snapshot_ref(struct ig_snapshot* s);

/** Drop a reference; the last one closes and unmaps the file. Thread-safe. */
void ig_snapshot_unref(struct ig_snapshot* s);

/** The number of references now (for a caller that wants to drop the
 * last one itself, at a time of its choosing). */
int ig_snapshot_refs(const struct ig_snapshot* s);

/**
 * Ask the kernel to read the whole file into the page cache ahead
 * (MADV_WILLNEED on the map), so that the first lookups after a swap do
 * not each wait for a disk read.  Returns at once.  Only for a snapshot
 * with a name index (which knows where the file is mapped; LMDB does not
 * say); otherwise nothing.  Thread: any.
 */
void ig_snapshot_prefault(struct ig_snapshot* s);

/** The identity read at open; valid while a reference is held. */
const struct ig_snapshot_info* ig_snapshot_info(const struct ig_snapshot* s);

/**
 * Is this name (key) an exception to a PSL wildcard rule ("!www.ck")?
 * Only meaningful when has_psl.  Thread-safe.
 */
int ig_snapshot_psl_exception(const struct ig_snapshot* s,
	const uint8_t* key, size_t keylen);

/** The path the snapshot was opened from. */
const char* ig_snapshot_path(const struct ig_snapshot* s);

/**
 * Begin a read view.  Allocates the LMDB transaction (one malloc); the
 * lookups themselves do not allocate.  Takes a snapshot reference.
 * @return 1 on success, 0 on failure.
 */
int ig_view_begin(struct ig_snapshot* s, struct ig_view* v);

/** End a view and drop its reference; pointers from it become invalid. */
void ig_view_end(struct ig_view* v);

/**
 * Look up the flags stored at one exact name key.
 * @param filing: if non-NULL and the name has a filing, it is decoded here.
 * @return the IG_NAME_* flags, 0 when absent.
 */
unsigned ig_view_name(struct ig_view* v, const uint8_t* key, size_t keylen,
	struct ig_filing* filing);

/**
 * The flags at every ancestor of a name, from the TLD down: flags[i] for
 * the ancestor with i+1 labels (key length labelend[i]).  With the hash
 * index (lib/name_index.h) it is one probe per level; without, one cursor
 * walks down the name database: ancestors sort next to each other, so after
 * the first lookup the others mostly stay on the same leaf page.  Either way
 * the walk stops at the first level below which no name exists (deeper
 * flags 0).  Thread: the view's.
 * @param filing, filing_level: the nearest filing and its level (-1 none).
 * @return the union of the flags.
 */
unsigned ig_view_walk(struct ig_view* v, const uint8_t* key,
	const size_t* labelend, int nl, uint8_t* flags,
	struct ig_filing* filing, int* filing_level);

/**
 * ig_view_walk for a layer over another snapshot (a delta snapshot): the
 * same walk, and present[i] set to 1 where the layer holds a record at the
 * ancestor with i+1 labels, even one with no flags (a removal mark), 0
 * elsewhere.  Thread: the view's.
 * @return the number of levels present.
 */
int ig_view_walk_layer(struct ig_view* v, const uint8_t* key,
	const size_t* labelend, int nl, uint8_t* flags, uint8_t* present,
	struct ig_filing* filing, int* filing_level);

/**
 * Does a delta snapshot apply over this base: it names the base's serial
 * and content hash.  Thread-safe.
 * @return 1 yes, 0 no (or delta is not a delta snapshot).
 */
int ig_snapshot_delta_over(const struct ig_snapshot* delta,
	const struct ig_snapshot* base);

/** Blacklist entry at an exact name key. @return 1 found, 0 not. */
int ig_view_blacklist(struct ig_view* v, const uint8_t* key, size_t keylen,
	struct ig_blacklist* out);

/** Exemption at an exact name key. @return 1 found, 0 not. */
int ig_view_exempt(struct ig_view* v, const uint8_t* key, size_t keylen,
	struct ig_exempt* out);

/** An order by id. @return 1 found, 0 not. */
int ig_view_order(struct ig_view* v, const char* id, struct ig_order* out);

/**
 * The active order targeting this exact name key (exact targets only when
 * exact is 1; subtree targets always).
 * @return 1 found (out set), 0 none.
 */
int ig_view_order_at(struct ig_view* v, const uint8_t* key, size_t keylen,
	int exact, int64_t now, struct ig_order* out);

/**
 * Find the range of a kind that contains an address: a binary search in
 * the sorted copy of the ranges made at open (no LMDB access).
 * @param owner: if non-NULL, set to the range's owner (registrar id or
 *	source), pointing into the snapshot.
 * @return 1 inside a range, 0 not.
 */
int ig_view_range(struct ig_view* v, enum ig_range_kind kind,
	const struct ig_addr* a, struct ig_range* out, const char** owner);

/** Registrar id of a redirect endpoint host at an exact key. */
int ig_view_redirect_host(struct ig_view* v, const uint8_t* key,
	size_t keylen, const char** registrar);

/** Registrar by id. */
int ig_view_registrar(struct ig_view* v, const char* id,
	struct ig_registrar* out);

/** Registrar-domain record at an exact name key. */
int ig_view_regdomain(struct ig_view* v, const uint8_t* key, size_t keylen,
	struct ig_regdomain* out);

/**
 * Is the verdict of this name possibly different from the previous
 * snapshot's: is its key, or an ancestor's, in the changed set?
 * @param key, keylen: the name's key; labelend, nl: its ancestors
 *	(from ig_name_wire_to_key).
 * @return 1 changed, 0 not.
 */
int ig_view_changed(struct ig_view* v, const uint8_t* key,
	const size_t* labelend, int nl);

/** A meta value by key, NUL-terminated, or NULL. */
const char* ig_view_meta(struct ig_view* v, const char* key);

/** The LMDB handle of one database, for walks by tools. */
MDB_dbi ig_view_dbi(struct ig_view* v, enum ig_db db);

/** The name of a database ("name", "order", ...). */
const char* ig_db_name(enum ig_db db);

/* ------------------------------------------------------------------ */
/* Whole and unaltered files (lib/snapshot_check.c)                    */

/** the length of the seal the writer appends to a published snapshot */
#define IG_SEAL_LEN 96

/**
 * The cheap check every open makes before LMDB maps the file: it holds
 * LMDB's last page (a short file would kill the reader with SIGBUS) and,
 * when sealed, exactly the sealed length.  Any thread.
 * @param fd: the file, open for reading (not closed).
 * @return 1, or 0 with err naming the file and what is wrong.
 */
int ig_snapshot_file_sane(int fd, const char* path, char* err,
	size_t errlen);

/**
 * The full check before a snapshot is put in force: the SHA-256 of the
 * sealed bytes (a read of the whole file: about a second for the 1.6 GB of
 * ten million filings), after the cheap check.  A file without a seal
 * (written before seals existed) is refused: nothing vouches for its pages.
 * *sealed is 1 on success.  Any thread; reads the file with pread, maps
 * nothing.
 * @return 1, or 0 with err naming the file and what is wrong.
 */
int ig_snapshot_file_verify(const char* path, int* sealed, char* err,
	size_t errlen);

/**
 * ig_snapshot_file_verify, then ig_snapshot_open_checked of the same file
 * (a file renamed over the path in between never reaches LMDB: the new
 * file is checked in its turn, up to five files, then the open fails).  What a reader
 * that puts a snapshot in force uses (the module, `icpguard info`).
 * @param sealed: set to 1 when the file carried a seal.
 * @return 1 with *out (one reference), or 0 with err.
 */
int ig_snapshot_open_verified(const char* path, struct ig_snapshot** out,
	int* sealed, char* err, size_t errlen);

/** What ig_snapshot_open_memo remembers of the last file it verified
 * (zero-initialise it; owned by its caller, one per path it opens). */
struct ig_snapshot_memo {
	/** 1 once a file was verified */
	int valid;
	/** that file's identity */
	struct ig_file_id id;
};

/**
 * ig_snapshot_open_verified for a reader that opens the same path again
 * and again (the loader's status, its publish decisions, the previous
 * order snapshot): the whole file is verified the first time and whenever
 * the file behind the path is another one or was written since (device,
 * inode, size, modification time differ from *memo); the file memo names
 * gets only the cheap check.  A damaged file is refused, never mapped
 * unverified.  Thread rules: memo belongs to one thread at a time.
 * @param memo: updated on success.
 * @return 1 with *out (one reference owned by the caller), or 0 with err.
 */
int ig_snapshot_open_memo(const char* path, struct ig_snapshot_memo* memo,
	struct ig_snapshot** out, char* err, size_t errlen);

/**
 * Seal a finished snapshot file (no LMDB environment open on it): append
 * its length and SHA-256.  The writer does it in ig_writer_publish before
 * the fsync and rename.  @return 1, or 0 with err.
 */
int ig_snapshot_file_seal(const char* path, char* err, size_t errlen);

/* ------------------------------------------------------------------ */
/* Writer                                                              */

/** A snapshot being built; owned by one thread. */
struct ig_writer;

/**
 * Start building a snapshot that will be published at path.
 * The data goes to "path.tmp.PID" until ig_writer_publish.
 * @param mapsize: maximum database size in bytes (0: 64 GiB).
 * @return the writer, or NULL with err set.
 */
struct ig_writer* ig_writer_create(const char* path, size_t mapsize,
	char* err, size_t errlen);

/**
 * Promise that the following puts of each database come in ascending key
 * order (bulk loads); they then use MDB_APPEND.
 */
void ig_writer_set_sorted(struct ig_writer* w, int sorted);

/** Add a filing for a registrable domain (wire name). @return 1/0. */
int ig_writer_filing(struct ig_writer* w, const uint8_t* wire,
	const struct ig_filing* f);

/** Add a blacklist entry. @return 1/0. */
int ig_writer_blacklist(struct ig_writer* w, const uint8_t* wire,
	const struct ig_blacklist* b);

/** Add an exemption. @return 1/0. */
int ig_writer_exempt(struct ig_writer* w, const uint8_t* wire,
	const struct ig_exempt* e);

/**
 * Add a takedown order and index its targets.  o->targets is built with
 * ig_order_targets_encode.  @return 1/0.
 */
int ig_writer_order(struct ig_writer* w, const struct ig_order* o);

/**
 * Encode a target list for struct ig_order.
 * @param names, subtree: n target names (normalised text) and flags.
 * @param buf, buflen: out; returns bytes used, 0 if it does not fit.
 */
size_t ig_order_targets_encode(const char* const* names, const int* subtree,
	unsigned n, uint8_t* buf, size_t buflen);

/** Add a range of a kind with an owner text. @return 1/0. */
int ig_writer_range(struct ig_writer* w, enum ig_range_kind kind,
	const struct ig_range* r, const char* owner);

/** Add a redirect/parking endpoint host (subtree). @return 1/0. */
int ig_writer_redirect_host(struct ig_writer* w, const uint8_t* wire,
	const char* registrar);

/** Add a registrar. @return 1/0. */
int ig_writer_registrar(struct ig_writer* w, const struct ig_registrar* r);

/** Add a registrar-domain record. @return 1/0. */
int ig_writer_regdomain(struct ig_writer* w, const uint8_t* wire,
	const struct ig_regdomain* d);

/** Add a filable TLD. @return 1/0. */
int ig_writer_tld(struct ig_writer* w, const uint8_t* wire);

/** Record a name whose verdict may differ from the previous snapshot. */
int ig_writer_changed(struct ig_writer* w, const uint8_t* wire, int subtree);

/**
 * Record what changed since the previous snapshot: every name whose
 * records differ (with its subtree), the targets of every order that
 * differs, and "everything" when ranges, exemptions or filable TLDs
 * differ.  Call after all records are written.
 * @param prev: the previous snapshot (read only; the caller keeps it).
 * @return 1/0.
 */
int ig_writer_diff(struct ig_writer* w, struct ig_snapshot* prev);

/**
 * Give the mapped pages of an LMDB environment back to the kernel: every
 * mapping of its file (found in /proc/self/maps) is advised
 * MADV_DONTNEED.  Only for maps without MDB_WRITEMAP (read-only, shared,
 * clean): touching a page again reads it back from the page cache.
 * Processes that read a whole large database once (publishers, diffs)
 * call it now and then to keep their resident size near their working
 * set.  Best effort, thread-safe.
 */
void ig_env_release(MDB_env* env);

/**
 * Begin writing an LMDB environment's written pages to disk, not waiting
 * for it (sync_file_range, SYNC_FILE_RANGE_WRITE).  A bulk load calls it
 * after pages reach the file (a commit, or LMDB spilling a large
 * transaction's pages), so that the fsync that ends it finds most of the
 * file already on disk and dirty pages do not pile up in the page cache.
 * Promises no durability.  Best effort, thread-safe.
 */
void ig_env_writeback(MDB_env* env);

/**
 * Give the writer's mapped pages back to the kernel (they are clean file
 * pages; touching them again reads them back).  Bulk loads of millions of
 * records call it now and then to keep their resident size down.
 */
void ig_writer_release(struct ig_writer* w);

/**
 * Commit what was written so far into the temporary file and go on in a
 * new transaction: the written pages leave the heap (a bulk load of
 * millions of records keeps its memory near one checkpoint's worth) and,
 * unless the writer is not durable, begin their way to disk
 * (ig_env_writeback), so the publish's fsync waits for less.  The
 * file is still a temporary until ig_writer_publish; an abort removes it.
 * The thread that owns the writer.
 * @return 1, or 0 (ig_writer_error; the writer can then only be aborted).
 */
int ig_writer_checkpoint(struct ig_writer* w);

/** IG_NAME_* flags already written at a wire name (0 if none). */
unsigned ig_writer_name_flags(struct ig_writer* w, const uint8_t* wire);

/**
 * Make this writer's snapshot a delta snapshot over base
 * (docs/snapshot.md, "The delta layer"): meta "delta.base.serial" and
 * "delta.base.hash" name the base, and the public suffix list is left out
 * (the verdict reads it from the base).  Before the first put; same
 * thread as the writer.  @return 1/0.
 */
int ig_writer_delta_base(struct ig_writer* w,
	const struct ig_snapshot_info* base);

/**
 * In a delta snapshot: the filing and blacklist entry at this name are
 * the delta's, hiding the base's.  Written alone it is a removal mark (no
 * filing and no blacklist entry here any more); ig_writer_filing and
 * ig_writer_blacklist after it give the name its new records.  @return 1/0.
 */
int ig_writer_delta_name(struct ig_writer* w, const uint8_t* wire);

/** Set a meta value (source serials and the like). @return 1/0. */
int ig_writer_meta(struct ig_writer* w, const char* key, const char* value);

/** The last error text of the writer. */
const char* ig_writer_error(const struct ig_writer* w);

/**
 * The public suffix list goes into every snapshot (the default, 1): a
 * verdict reads it from the main snapshot's name flags.  0 leaves it out,
 * for the order snapshot: its names are order targets and urgent
 * blacklist entries only, and ig_decide takes the suffix list from the
 * main snapshot (without it a takedown's publish wrote and hashed the
 * whole list, about 0.7 MB, for each order).  Before the first put; same
 * thread as the writer.
 */
void ig_writer_set_psl(struct ig_writer* w, int with);

/**
 * Durable publishing (the default, 1): ig_writer_publish syncs the data,
 * fsyncs the file before the rename and the directory after it.  0 skips
 * all three, for a file that can be rebuilt from a durable record after a
 * crash (the order snapshot, from the order journal: docs/orders.md).
 * The rename stays atomic: readers see the old file or the new one.
 * Same thread as the writer.
 */
void ig_writer_set_durable(struct ig_writer* w, int durable);

/** where the time of ig_writer_publish went, in seconds */
struct ig_publish_times {
	/** the public suffix list, counts and range checks */
	double prepare;
	/** the content hash: a walk over every record, on a thread of its
	 * own beside the index build (the two overlap) */
	double hash;
	/** the commits: the records, then the index and the meta */
	double commit;
	/** the hash index over the names, in the second transaction,
	 * beside the content hash */
	double index;
	/** the data sync and the fsync of the file */
	double sync;
	/** the seal: a checksum over the file */
	double seal;
};

/**
 * Have ig_writer_publish fill *t (zeroed first) with its phases; t must
 * stay valid until the publish returns, the caller owns it.  Same thread
 * as the writer.
 */
void ig_writer_set_times(struct ig_writer* w, struct ig_publish_times* t);

/**
 * Finish: write the counts, serial, creation time and content hash, sync,
 * and rename into place, then fsync the directory.  Frees the writer.
 * Ranges of one kind that overlap are rejected here.
 * @param serial: the snapshot serial (must grow; the caller decides).
 * @param info: if non-NULL, receives the identity.
 * @return 1 on success; 0 leaves the published file untouched, removes the
 *	temporary and sets err.
 */
int ig_writer_publish(struct ig_writer* w, uint64_t serial,
	struct ig_snapshot_info* info, char* err, size_t errlen);

/** Abandon a writer: remove the temporary, free everything. */
void ig_writer_abort(struct ig_writer* w);

#endif /* ICPGUARD_SNAPSHOT_H */
