/*
 * common/frames.c - the memory of the dnstap frames in flight.
 *
 * \file
 * See frames.h.  Each ring frame is preceded by an 8-byte header: its
 * size in the ring (header included, a multiple of 8) and a state word
 * that the thread giving it back sets with release order; the encoder
 * reads it with acquire order before it reuses the bytes.  A frame never
 * wraps: when it does not fit before the end of the ring, a filler frame
 * (already given back) takes the rest and the frame starts at offset 0.
 */
#include "config.h"
#include "common/frames.h"
#include <stdatomic.h>
#include <stdlib.h>

/** the header of a ring frame */
struct frame_hdr {
	/** bytes the frame takes in the ring, header included */
	uint32_t size;
	/** FRAME_IN_USE or FRAME_GIVEN_BACK */
	atomic_uint state;
};

/** frame states */
enum { FRAME_IN_USE = 0, FRAME_GIVEN_BACK = 1 };

/** round up to the ring's alignment */
#define FRAME_ALIGN(n) (((n) + 7) & ~(uint64_t)7)

int
frames_init(struct icpguard_frames* fr, size_t cap)
{
	fr->cap = cap & ~(size_t)7;
	fr->head = fr->tail = 0;
	fr->taken = fr->fallback = 0;
	fr->mem = fr->cap >= 4096 ? malloc(fr->cap) : NULL;
	return fr->mem != NULL;
}

void
frames_free(struct icpguard_frames* fr)
{
	free(fr->mem);
	fr->mem = NULL;
}

/** the header at ring offset pos (a multiple of 8) */
static struct frame_hdr*
hdr_at(struct icpguard_frames* fr, uint64_t pos)
{
	return (struct frame_hdr*)(fr->mem + (size_t)(pos % fr->cap));
}

/** reclaim the frames given back at the tail */
static void
reclaim(struct icpguard_frames* fr)
{
	while(fr->tail != fr->head) {
		struct frame_hdr* h = hdr_at(fr, fr->tail);
		if(atomic_load_explicit(&h->state, memory_order_acquire) !=
			FRAME_GIVEN_BACK)
			break;
		fr->tail += h->size;
	}
}

uint8_t*
frames_take(struct icpguard_frames* fr, size_t max)
{
	uint64_t need = FRAME_ALIGN(sizeof(struct frame_hdr) + max);
	size_t at, to_end;
	struct frame_hdr* h;
	if(fr->mem && need <= fr->cap / 4) {
		reclaim(fr);
		at = (size_t)(fr->head % fr->cap);
		to_end = fr->cap - at;
		if(to_end < need && fr->cap - (fr->head - fr->tail) >=
			to_end + need) {
			/* the filler: given back from the start */
			h = hdr_at(fr, fr->head);
			h->size = (uint32_t)to_end;
			atomic_store_explicit(&h->state, FRAME_GIVEN_BACK,
				memory_order_relaxed);
			fr->head += to_end;
			reclaim(fr);
			to_end = fr->cap;
		}
		if(to_end >= need && fr->cap - (fr->head - fr->tail) >= need) {
			h = hdr_at(fr, fr->head);
			h->size = (uint32_t)need;
			atomic_store_explicit(&h->state, FRAME_IN_USE,
				memory_order_relaxed);
			fr->taken++;
			return (uint8_t*)(h + 1);
		}
	}
	fr->fallback++;
	return malloc(max ? max : 1);
}

/** is buf a frame of the ring */
static int
in_ring(const struct icpguard_frames* fr, const void* buf)
{
	const uint8_t* p = (const uint8_t*)buf;
	return fr->mem && p >= fr->mem && p < fr->mem + fr->cap;
}

void
frames_commit(struct icpguard_frames* fr, uint8_t* buf, size_t len)
{
	struct frame_hdr* h;
	if(!in_ring(fr, buf)) return;
	h = (struct frame_hdr*)buf - 1;
	h->size = (uint32_t)FRAME_ALIGN(sizeof(*h) + len);
	fr->head += h->size;
}

void
frames_give_back(struct icpguard_frames* fr, void* buf)
{
	if(in_ring(fr, buf))
		atomic_store_explicit(&((struct frame_hdr*)buf - 1)->state,
			FRAME_GIVEN_BACK, memory_order_release);
	else free(buf);
}
