/*
 * tests/unit/test_frames.c - unit tests of common/frames.c, the ring the
 * dnstap frames in flight live in.
 *
 * \file
 * Frames come from the ring until it is full, then from malloc; what is
 * given back is reused (in order or not); a frame that does not fit
 * before the end of the ring starts again at the front; no two frames in
 * flight ever share a byte; and a second thread giving frames back while
 * the first takes them (the encoder and libfstrm's I/O thread) sees every
 * frame intact.
 */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include "common/frames.h"

/** is p one of the ring's bytes */
static int
from_ring(const struct icpguard_frames* fr, const uint8_t* p)
{
	return p >= fr->mem && p < fr->mem + fr->cap;
}

/** take a frame of len bytes, fill it with c, commit it */
static uint8_t*
take_filled(struct icpguard_frames* fr, size_t len, int c)
{
	uint8_t* p = frames_take(fr, len);
	assert_non_null(p);
	memset(p, c, len);
	frames_commit(fr, p, len);
	return p;
}

/** assert a frame still holds len bytes of c */
static void
assert_filled(const uint8_t* p, size_t len, int c)
{
	size_t i;
	for(i = 0; i < len; i++)
		if(p[i] != (uint8_t)c)
			fail_msg("frame byte %zu is %d, want %d", i, p[i], c);
}

static void
test_ring_then_malloc(void** state)
{
	struct icpguard_frames fr;
	uint8_t* f[64];
	int i, n = 0;
	(void)state;
	assert_int_equal(frames_init(&fr, 8192), 1);
	/* 8 KiB holds 15 frames of 512 bytes (each has an 8-byte header);
	 * the 16th is malloc'ed */
	for(i = 0; i < 16; i++) {
		f[n++] = take_filled(&fr, 512, i + 1);
		if(i < 15) assert_true(from_ring(&fr, f[i]));
		else assert_false(from_ring(&fr, f[i]));
	}
	assert_int_equal(fr.taken, 15);
	assert_int_equal(fr.fallback, 1);
	for(i = 0; i < n; i++) assert_filled(f[i], 512, i + 1);
	for(i = 0; i < n; i++) frames_give_back(&fr, f[i]);
	/* all back: the ring serves again */
	f[0] = take_filled(&fr, 512, 99);
	assert_true(from_ring(&fr, f[0]));
	frames_give_back(&fr, f[0]);
	frames_free(&fr);
}

static void
test_out_of_order_give_back(void** state)
{
	struct icpguard_frames fr;
	uint8_t* f[4], *e;
	int i;
	(void)state;
	assert_int_equal(frames_init(&fr, 4096), 1);
	/* four frames of 1008 bytes in the ring: 64 bytes left */
	for(i = 0; i < 4; i++) {
		f[i] = take_filled(&fr, 1000, i + 1);
		assert_true(from_ring(&fr, f[i]));
	}
	/* the last three back, the first not: nothing is reclaimed past
	 * it, so a new frame is malloc'ed */
	for(i = 3; i >= 1; i--) frames_give_back(&fr, f[i]);
	e = frames_take(&fr, 1000);
	assert_false(from_ring(&fr, e));
	frames_give_back(&fr, e);
	assert_filled(f[0], 1000, 1);
	/* the first back: all four are reclaimed, and the next frame starts
	 * at the front (the 64 bytes at the end are skipped) */
	frames_give_back(&fr, f[0]);
	e = take_filled(&fr, 1000, 5);
	assert_ptr_equal(e, fr.mem + 8);
	assert_int_equal(fr.tail, 4096);
	frames_give_back(&fr, e);
	frames_free(&fr);
}

static void
test_wrap_starts_at_front(void** state)
{
	struct icpguard_frames fr;
	uint8_t* f[4], *e;
	int i;
	(void)state;
	assert_int_equal(frames_init(&fr, 8192), 1);
	/* four frames of 1912 bytes (aligned): 544 bytes left at the end */
	for(i = 0; i < 4; i++) f[i] = take_filled(&fr, 1900, i + 1);
	frames_give_back(&fr, f[0]);
	/* 500 bytes fit there */
	e = take_filled(&fr, 500, 5);
	assert_ptr_equal(e, fr.mem + 4 * 1912 + 8);
	frames_give_back(&fr, e);
	/* 32 bytes left: the next frame starts at the front, where the
	 * first one was */
	e = take_filled(&fr, 900, 6);
	assert_ptr_equal(e, fr.mem + 8);
	for(i = 1; i < 4; i++) assert_filled(f[i], 1900, i + 1);
	for(i = 1; i < 4; i++) frames_give_back(&fr, f[i]);
	frames_give_back(&fr, e);
	frames_free(&fr);
}

static void
test_commit_returns_the_rest(void** state)
{
	struct icpguard_frames fr;
	uint8_t* a, *b;
	(void)state;
	assert_int_equal(frames_init(&fr, 8192), 1);
	/* taken for 1000 bytes, 100 used: the next frame follows the 100 */
	a = frames_take(&fr, 1000);
	memset(a, 1, 100);
	frames_commit(&fr, a, 100);
	b = take_filled(&fr, 100, 2);
	assert_ptr_equal(b, a + 104 + 8);
	assert_filled(a, 100, 1);
	frames_give_back(&fr, a);
	frames_give_back(&fr, b);
	/* a frame taken and not committed is not in flight: taken again */
	a = frames_take(&fr, 200);
	b = frames_take(&fr, 200);
	assert_ptr_equal(a, b);
	frames_commit(&fr, b, 200);
	frames_give_back(&fr, b);
	frames_free(&fr);
}

static void
test_no_ring(void** state)
{
	struct icpguard_frames fr;
	uint8_t* a;
	(void)state;
	/* too small for a ring: every frame is malloc'ed, and freed */
	assert_int_equal(frames_init(&fr, 100), 0);
	a = take_filled(&fr, 300, 5);
	assert_filled(a, 300, 5);
	frames_give_back(&fr, a);
	assert_int_equal(fr.fallback, 1);
	frames_free(&fr);
}

/** the frames handed from the taking thread to the giving-back one */
struct handoff {
	/** frames in flight, in order */
	uint8_t* slot[256];
	/** their lengths */
	size_t len[256];
	/** published up to (taker), consumed up to (giver) */
	atomic_ulong head, tail;
	/** frames that were not intact */
	atomic_ulong bad;
	/** the taker is done */
	atomic_int done;
	/** the ring */
	struct icpguard_frames* fr;
};

/** the I/O thread's part: check each frame, give it back */
static void*
giver(void* arg)
{
	struct handoff* h = (struct handoff*)arg;
	while(1) {
		unsigned long t = atomic_load(&h->tail);
		if(t == atomic_load(&h->head)) {
			if(atomic_load(&h->done) &&
				t == atomic_load(&h->head))
				break;
			continue;
		}
		{
			uint8_t* p = h->slot[t % 256];
			size_t i, n = h->len[t % 256];
			for(i = 0; i < n; i++)
				if(p[i] != (uint8_t)(t & 0xff))
					atomic_fetch_add(&h->bad, 1);
			frames_give_back(h->fr, p);
		}
		atomic_store(&h->tail, t + 1);
	}
	return NULL;
}

static void
test_two_threads(void** state)
{
	struct icpguard_frames fr;
	struct handoff h;
	pthread_t th;
	unsigned long i;
	(void)state;
	memset(&h, 0, sizeof(h));
	h.fr = &fr;
	assert_int_equal(frames_init(&fr, 16 * 1024), 1);
	assert_int_equal(pthread_create(&th, NULL, giver, &h), 0);
	/* 200,000 frames of varying size, each filled with its number */
	for(i = 0; i < 200000; i++) {
		size_t len = 64 + (i * 37) % 1800;
		uint8_t* p;
		while(atomic_load(&h.head) - atomic_load(&h.tail) >= 16)
			;
		p = frames_take(&fr, len + 100);
		assert_non_null(p);
		memset(p, (int)(i & 0xff), len);
		frames_commit(&fr, p, len);
		h.slot[i % 256] = p;
		h.len[i % 256] = len;
		atomic_store(&h.head, i + 1);
	}
	atomic_store(&h.done, 1);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(atomic_load(&h.bad), 0);
	/* up to 16 frames in flight (up to 32 KiB) in a 16 KiB ring: both
	 * the ring and malloc served */
	assert_true(fr.taken > 0 && fr.fallback > 0);
	assert_int_equal(fr.taken + fr.fallback, 200000);
	assert_int_equal(fr.taken + fr.fallback, 200000);
	frames_free(&fr);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ring_then_malloc),
		cmocka_unit_test(test_out_of_order_give_back),
		cmocka_unit_test(test_wrap_starts_at_front),
		cmocka_unit_test(test_commit_returns_the_rest),
		cmocka_unit_test(test_no_ring),
		cmocka_unit_test(test_two_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
