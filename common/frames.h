/*
 * common/frames.h - the memory of the dnstap frames in flight.
 *
 * \file
 * The encoder thread packs each dnstap frame into a byte ring and hands
 * it to libfstrm's I/O thread, whose free callback gives it back.  A
 * malloc and a free per frame in two different threads cost more than the
 * packing: glibc returns the encoder's heap top to the kernel when the I/O
 * thread frees, and the encoder takes page faults to grow it again (perf
 * in bench-audit.sh: about a fifth of the encoder's time).  The ring keeps
 * the same few hundred KiB warm instead.
 *
 * Frames are given back in the order they were taken (libfstrm writes
 * its queue in order), but the ring does not rely on it: a frame given
 * back is only marked, and the encoder reclaims the marked frames at the
 * tail.  When the ring is full (a slow collector) the encoder falls back
 * to malloc; frames_give_back says whether a buffer was the ring's.
 *
 * Thread rules: frames_init, frames_take, frames_commit and frames_free
 * run in one thread (the encoder; frames_free when no frame is in flight
 * any more); frames_give_back runs in any thread.
 */
#ifndef ICPGUARD_COMMON_FRAMES_H
#define ICPGUARD_COMMON_FRAMES_H
#include <stddef.h>
#include <stdint.h>

/** A ring of frames.  Owned by the audit sink (it outlives the I/O
 * thread's last free callback). */
struct icpguard_frames {
	/** the ring, cap bytes; NULL: every frame is malloc'ed */
	uint8_t* mem;
	/** its size, a multiple of 8 */
	size_t cap;
	/** taken up to here, reclaimed up to tail (encoder only); the
	 * bytes in [tail, head) are frames in flight or given back */
	uint64_t head, tail;
	/** frames taken from the ring, and from malloc (ring full) */
	unsigned long taken, fallback;
};

/**
 * Make a ring of cap bytes (rounded down to a multiple of 8).
 * @return 1, or 0 when out of memory (then every frame is malloc'ed).
 */
int frames_init(struct icpguard_frames* fr, size_t cap);

/** Free the ring; no frame of it may be in flight any more. */
void frames_free(struct icpguard_frames* fr);

/**
 * Room for a frame of at most max bytes: from the ring after reclaiming
 * what was given back, else from malloc.  The frame is not in flight
 * until frames_commit.
 * @return the buffer (caller fills it, then commits), NULL: out of memory.
 */
uint8_t* frames_take(struct icpguard_frames* fr, size_t max);

/**
 * The frame taken last is len bytes long (len <= the max it was taken
 * with): the rest of its room is free again.  Call before handing it to
 * another thread.
 */
void frames_commit(struct icpguard_frames* fr, uint8_t* buf, size_t len);

/**
 * A thread is done with a frame: a ring frame is marked for reclaiming, a
 * malloc'ed one is freed.  Any thread.
 */
void frames_give_back(struct icpguard_frames* fr, void* buf);

#endif /* ICPGUARD_COMMON_FRAMES_H */
