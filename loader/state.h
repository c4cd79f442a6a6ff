/*
 * loader/state.h - the loader's durable feed state.
 *
 * \file
 * The records of every feed at its current serial live in one LMDB file,
 * STATE_DIR/state.mdb, one database per record type, keyed like the
 * snapshot (names as name keys, ranges as first+last address, registrars
 * by id) with the feed's packed protobuf record as the value.  A feed
 * file is verified and applied in one write transaction: either the whole
 * feed moves to its new serial or nothing changes.  Snapshots are then
 * written from this state (state_write_snapshot), so a delta never needs
 * the previous snapshot and a crash between the two is repaired by
 * publishing again at start.
 *
 * One thread uses a struct loader_state at a time.
 */
#ifndef ICPGUARD_LOADER_STATE_H
#define ICPGUARD_LOADER_STATE_H
#include <stddef.h>
#include <stdint.h>
#include "loader/feed.h"
#include "lib/snapshot.h"

/** the state database; opaque */
struct loader_state;

/** what the state knows about one feed */
struct feed_info {
	/** serial in force, 0 none */
	uint64_t serial;
	/** validators of the last good latest.json (conditional GET) */
	char etag[256], lastmod[128];
	/** records in force */
	uint64_t records;
	/** when the serial was applied, unix seconds */
	int64_t updated;
};

/** a count per rejection or refusal code */
struct code_count {
	/** code (static string) */
	const char* code;
	/** count */
	uint64_t n;
};

/** the most codes counted */
#define LOADER_MAX_CODES 32

/** the outcome of applying one feed file */
struct apply_result {
	/** NULL applied; else why the feed was refused: "unknown_key",
	 * "bad_signature", "truncated", "digest_mismatch", "malformed",
	 * "statement_mismatch", "wrong_kind", "serial_backwards",
	 * "delta_base", "delta_mismatch", "shrink", "io" */
	const char* code;
	/** the message for logs and the status */
	char msg[1024];
	/** serial of the file */
	uint64_t serial;
	/** records loaded, rejected, removed */
	uint64_t loaded, rejected, removed;
	/** records of the feed before and after */
	uint64_t before, after;
	/** rejected records by code */
	struct code_count rej[LOADER_MAX_CODES];
	/** count */
	int nrej;
	/** seconds spent on the signature, the digest and the file's
	 * structure before the first record (the rest of state_apply is
	 * the records: checks and the state's transaction) */
	double verify_s;
	/** 1: every filing stored was handed to apply_opts.prewrite (a full
	 * filings feed, and its writer never failed); 0: do not use it */
	int prewritten;
};

/**
 * Open (creating) the state of a state directory.
 * @return 1/0 with err set.
 */
int state_open(const char* dir, struct loader_state** out, char* err,
	size_t errlen);

/** Close. */
void state_close(struct loader_state* s);

/** The info of one feed (zeroes when unknown). @return 1/0. */
int state_feed_get(struct loader_state* s, Icpguard__Feed__Kind kind,
	struct feed_info* fi);

/**
 * Remember the conditional-GET validators of a feed's latest pointer
 * (only after everything it pointed to was dealt with).  @return 1/0.
 */
int state_feed_set_validators(struct loader_state* s,
	Icpguard__Feed__Kind kind, const char* etag, const char* lastmod);

/** knobs of one apply */
struct apply_opts {
	/** trusted keys and the names allowed for this feed (NULL: any) */
	const struct ig_keyring* keys;
	/** allowed key names */
	char* const* allowed;
	/** count */
	int nallowed;
	/** the serial the latest pointer announced (0: do not check) */
	uint64_t expect_serial;
	/** largest filing shrink, percent */
	int max_shrink;
	/** 1: a larger shrink is allowed this once */
	int allow_shrink;
	/** quarantine report to write (JSON lines), NULL none */
	const char* quarantine;
	/** the URL the file came from, for the report */
	const char* origin;
	/** the payload is still being downloaded (loader/growing.h): its
	 * records are checked and stored as they arrive, and the size and
	 * SHA-256 the download reports at its end are checked against the
	 * signed ones before anything is committed; NULL: the file is
	 * complete, read it to digest it */
	struct growing* grow;
	/** a full filings feed: every filing stored is also handed to this
	 * next snapshot (loader/prewrite.h), so the publish need not copy
	 * them from the state; NULL none.  state_apply has waited for it
	 * when it returns; the caller keeps or aborts it */
	struct prewrite* prewrite;
};

/**
 * Verify a feed file against its detached signature and, when good,
 * apply it: a full feed replaces the feed's records, a delta must start
 * at the serial in force.  Every bad record is rejected (reported in the
 * quarantine file with its position) and the good ones load.
 * @param kind: the feed kind the configuration expects.
 * @param payload, sigfile: the downloaded files.
 * @param res: the outcome; res->code NULL when applied.  With o->grow,
 *	a refusal waits for the download's end: a size or digest that is
 *	not the signed one is the refusal then (whatever else was found in
 *	bytes nobody signed), and a download that failed is code
 *	"download" (the caller has the transport's reason).
 * @return 1 applied, 0 refused (state unchanged).
 * Thread: any one thread at a time; with o->grow, on a thread of its own
 * while the loop downloads (the state's other users on the loop's
 * thread only read it meanwhile).
 */
int state_apply(struct loader_state* s, Icpguard__Feed__Kind kind,
	const char* payload, const char* sigfile,
	const struct apply_opts* o, struct apply_result* res);

/**
 * Write every feed's records into a snapshot writer, and the feed serials
 * as meta "source.KIND".
 * @param with_filings: 0 when the writer has the filings already (a
 *	prewrite of the full filings feed in force).
 * @param counts: out, records written (may be NULL).
 * @return 1, or 0 with err set.
 */
int state_write_snapshot(struct loader_state* s, struct ig_writer* w,
	int with_filings, uint64_t* counts, char* err, size_t errlen);

/**
 * Write one filing as the state stores it (its key and packed record)
 * into a snapshot writer.  Touches no state: any thread that owns the
 * writer and the arena (the record is decoded into it; reset here).  A
 * record that does not decode is skipped, as the publish's copy skips it.
 * @return 1, or 0 (ig_writer_error).
 */
int state_filing_to_writer(struct ig_writer* w, const uint8_t* key,
	size_t kl, const uint8_t* rec, size_t rl, struct ig_unpack_arena* ar);

/** 1 when any feed has a serial (there is something to publish) */
int state_has_data(struct loader_state* s);

/** what state_write_delta found */
enum state_delta_result {
	/** written (or counted) */
	STATE_DELTA_OK = 1,
	/** an error (err set) */
	STATE_DELTA_FAILED = 0,
	/** a full filings or blacklist feed came since (or the change log
	 * was pruned past the serials): only a whole snapshot says what
	 * changed */
	STATE_DELTA_FULL = -1,
	/** more names changed than max */
	STATE_DELTA_LARGE = -2
};

/**
 * Write a delta snapshot's names (docs/snapshot.md, "The delta layer"):
 * every name whose filing or blacklist entry a delta changed after the
 * given feed serials (those of the snapshot the delta goes over), each as
 * an override with the state's filing and blacklist entry there (a removal
 * mark when it has neither), and meta source.KIND with the state's serials.
 * The names come from the change log the state keeps while applying
 * deltas (database "change", written in the same transaction).
 * @param w: the delta's writer (ig_writer_delta_base done), or NULL to
 *	count only.
 * @param max: more names than this: STATE_DELTA_LARGE.
 * @param mark_changed: also put every name into the changed set (with its
 *	subtree): for a delta with no earlier one over the same snapshot.
 * @param names: the names written.
 * @return enum state_delta_result.  Same thread as the state.
 */
int state_write_delta(struct loader_state* s, struct ig_writer* w,
	uint64_t filings, uint64_t blacklist, uint64_t max, int mark_changed,
	uint64_t* names, char* err, size_t errlen);

/**
 * A whole snapshot at these filings and blacklist serials is in force: the
 * change log forgets what it holds, and a delta is possible only over it
 * (or a later one) from now on.  @return 1/0 (a failure only leaves the
 * log longer).  Same thread as the state.
 */
int state_prune_changes(struct loader_state* s, uint64_t filings,
	uint64_t blacklist);


#endif /* ICPGUARD_LOADER_STATE_H */
