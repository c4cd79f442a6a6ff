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
};

/**
 * Verify a feed file against its detached signature and, when good,
 * apply it: a full feed replaces the feed's records, a delta must start
 * at the serial in force.  Every bad record is rejected (reported in the
 * quarantine file with its position) and the good ones load.
 * @param kind: the feed kind the configuration expects.
 * @param payload, sigfile: the downloaded files.
 * @param res: the outcome; res->code NULL when applied.
 * @return 1 applied, 0 refused (state unchanged).
 */
int state_apply(struct loader_state* s, Icpguard__Feed__Kind kind,
	const char* payload, const char* sigfile,
	const struct apply_opts* o, struct apply_result* res);

/**
 * Write every feed's records into a snapshot writer, and the feed serials
 * as meta "source.KIND".
 * @param counts: out, records written (may be NULL).
 * @return 1, or 0 with err set.
 */
int state_write_snapshot(struct loader_state* s, struct ig_writer* w,
	uint64_t* counts, char* err, size_t errlen);

/** 1 when any feed has a serial (there is something to publish) */
int state_has_data(struct loader_state* s);

#endif /* ICPGUARD_LOADER_STATE_H */
