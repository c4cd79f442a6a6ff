/*
 * loader/growing.h - a file being written by one thread and read by
 * another as it grows.
 *
 * \file
 * The loader applies a feed while it downloads (docs/loader.md, "A feed
 * applied as it arrives"): the download (the event loop's thread) writes
 * the payload file and says how far it got; the apply (a thread of its
 * own) maps the file and reads only bytes the download has written,
 * waiting for more when it catches up.  At the end the download says
 * whether it got the whole body, and its size and SHA-256, which the
 * apply checks against the signed statement before it commits anything.
 *
 * Thread rules: one writer (growing_add, growing_end) and any number of
 * readers (growing_wait, growing_result); the caller owns the struct and
 * destroys it after both sides are done with it.
 */
#ifndef ICPGUARD_LOADER_GROWING_H
#define ICPGUARD_LOADER_GROWING_H
#include <pthread.h>
#include <stdint.h>

/** how the download ended */
enum growing_state {
	GROWING_RUNNING = 0,
	/** the whole body was written: size and sha256 are set */
	GROWING_COMPLETE = 1,
	/** the download failed or was cancelled: the file is not the one
	 * signed, nothing read from it may be kept */
	GROWING_FAILED = -1
};

struct growing {
	/** guards everything below */
	pthread_mutex_t lock;
	/** signalled when written reaches want, and at the end */
	pthread_cond_t cond;
	/** bytes in the file so far */
	uint64_t written;
	/** a reader waits for this many bytes (0: nobody waits) */
	uint64_t want;
	/** enum growing_state */
	int state;
	/** at GROWING_COMPLETE: the body's size and SHA-256 */
	uint64_t size;
	uint8_t sha256[32];
};

/** Set up an empty, running file.  The caller owns g. */
void growing_init(struct growing* g);

/** Free what growing_init made (both sides done with g). */
void growing_destroy(struct growing* g);

/**
 * The writer wrote n more bytes (they are in the file: a reader may map
 * and read them).  Writer's thread.
 */
void growing_add(struct growing* g, uint64_t n);

/**
 * The writer is done: complete with the body's size and SHA-256 (ok 1),
 * or failed (ok 0; size and sha256 ignored, may be NULL).  Only the first
 * call counts (a cancel after the end changes nothing).  Any thread.
 */
void growing_end(struct growing* g, int ok, uint64_t size,
	const uint8_t sha256[32]);

/**
 * Wait until at least upto bytes are written or the writer is done.
 * Reader's thread.
 * @param written: out, the bytes written so far.
 * @return the state (GROWING_RUNNING only when upto bytes are there).
 */
int growing_wait(struct growing* g, uint64_t upto, uint64_t* written);

#endif /* ICPGUARD_LOADER_GROWING_H */
