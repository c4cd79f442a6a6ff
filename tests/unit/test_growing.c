/*
 * tests/unit/test_growing.c - unit tests of a feed read while it is
 * written (loader/growing.c, ig_feed_open_growing in loader/feed.c).
 *
 * \file
 * A feed file is made with the feed writer; a thread then copies it into
 * a "download" in pieces of random sizes (1 to 5,000 bytes, so fields are
 * cut everywhere), telling a struct growing of each piece, while the test
 * reads the download with ig_feed_open_growing and ig_feed_next.  The
 * reader must give exactly the records a walk of the whole file gives,
 * never read a byte before it is written (the download is mapped at the
 * signed size while shorter: a read past its end would be SIGBUS), stop
 * when the download fails, and say where a file cut short or with a
 * header field after the records stops parsing.
 */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "loader/feed.h"
#include "loader/growing.h"

/** records in the test feed */
#define RECORDS 3000

struct fixture {
	char dir[64];
	/** the whole feed, and the download being written */
	char src[128], dl[128];
	/** the feed's size */
	uint64_t size;
};

/** a feed of RECORDS records of varied sizes and a removal, header first
 * (as the publisher writes it); extra: bytes appended after it */
static void
make_feed(struct fixture* fx, const void* extra, size_t extralen)
{
	struct ig_feed_writer w;
	Icpguard__Feed__Feed h = ICPGUARD__FEED__FEED__INIT;
	uint8_t sha[32], rec[700];
	char err[256];
	int i;
	h.has_version = 1; h.version = 1;
	h.has_kind = 1; h.kind = ICPGUARD__FEED__KIND__FILINGS;
	h.has_serial = 1; h.serial = 7;
	h.has_record_count = 1; h.record_count = RECORDS;
	h.has_created = 1; h.created = 1700000000;
	assert_int_equal(ig_feed_write_begin(&w, fx->src, &h, err,
		sizeof(err)), 1);
	for(i = 0; i < RECORDS; i++) {
		size_t n = 1 + (size_t)(i * 37) % sizeof(rec);
		memset(rec, 'a' + i % 26, n);
		ig_feed_write_field(&w, 10, rec, n);
	}
	ig_feed_write_field(&w, 20, "gone.cn", 7);
	assert_int_equal(ig_feed_write_end(&w, &fx->size, sha, err,
		sizeof(err)), 1);
	if(extralen) {
		FILE* f = fopen(fx->src, "a");
		assert_non_null(f);
		assert_int_equal(fwrite(extra, 1, extralen, f), extralen);
		fclose(f);
		fx->size += extralen;
	}
}

static int
setup(void** state)
{
	struct fixture* fx = calloc(1, sizeof(*fx));
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/icpguard-growing.XXXXXX");
	if(!mkdtemp(fx->dir)) return -1;
	snprintf(fx->src, sizeof(fx->src), "%s/feed.pb", fx->dir);
	snprintf(fx->dl, sizeof(fx->dl), "%s/payload.tmp", fx->dir);
	*state = fx;
	return 0;
}

static int
teardown(void** state)
{
	struct fixture* fx = *state;
	unlink(fx->src);
	unlink(fx->dl);
	rmdir(fx->dir);
	free(fx);
	return 0;
}

/** the copying thread's job */
struct copy {
	struct fixture* fx;
	struct growing* g;
	/** stop after this many bytes and end as failed (0: copy it all
	 * and end complete) */
	uint64_t fail_at;
	unsigned seed;
};

static void*
copy_run(void* arg)
{
	struct copy* c = arg;
	FILE* in = fopen(c->fx->src, "r");
	FILE* out = fopen(c->fx->dl, "a");
	uint8_t buf[5000], sha[32];
	uint64_t done = 0;
	size_t n;
	memset(sha, 0, sizeof(sha));
	for(;;) {
		size_t want = 1 + (size_t)rand_r(&c->seed) % sizeof(buf);
		if(c->fail_at && done + want > c->fail_at)
			want = (size_t)(c->fail_at - done);
		if(want == 0 || (n = fread(buf, 1, want, in)) == 0) break;
		fwrite(buf, 1, n, out);
		fflush(out);
		done += n;
		growing_add(c->g, n);
	}
	fclose(in);
	fclose(out);
	growing_end(c->g, c->fail_at == 0, done, sha);
	return NULL;
}

/** read the whole download as it grows; @return records and removals
 * read; *r is left open (the caller closes it) */
static uint64_t
read_growing(struct fixture* fx, struct growing* g, struct copy* c,
	struct ig_feed_reader* r, int* opened)
{
	pthread_t t;
	const char* code;
	char err[256];
	unsigned field;
	const uint8_t* d;
	size_t dl;
	uint64_t n = 0;
	FILE* f = fopen(fx->dl, "w"); /* the fetch creates it first */
	assert_non_null(f);
	fclose(f);
	growing_init(g);
	c->fx = fx;
	c->g = g;
	assert_int_equal(pthread_create(&t, NULL, copy_run, c), 0);
	*opened = ig_feed_open_growing(r, fx->dl, fx->size, g, &code, err,
		sizeof(err));
	if(!*opened) print_message("open: %s\n", err);
	if(*opened)
		while(ig_feed_next(r, &field, &d, &dl)) {
			/* every byte handed out was written already */
			assert_true(d + dl <= r->p + r->len);
			assert_true(field == 10 || field == 20);
			if(field == 10) {
				uint64_t i = n;
				assert_int_equal(dl, 1 + (i * 37) % 700);
				assert_int_equal(d[0], 'a' + i % 26);
			}
			n++;
		}
	pthread_join(t, NULL);
	return n;
}

/* a download in random pieces: every record, in order, the header's
 * count, and no structural fault */
static void
test_growing_reads_what_a_walk_reads(void** state)
{
	struct fixture* fx = *state;
	struct ig_feed_reader r;
	struct growing g;
	struct copy c = { .fail_at = 0, .seed = 1 };
	int opened, round;
	make_feed(fx, NULL, 0);
	for(round = 0; round < 5; round++) {
		c.seed = (unsigned)round + 1;
		assert_int_equal(read_growing(fx, &g, &c, &r, &opened),
			RECORDS + 1);
		assert_int_equal(opened, 1);
		assert_int_equal(r.serial, 7);
		assert_int_equal(r.record_count, RECORDS);
		assert_int_equal(r.nrecords, RECORDS);
		assert_int_equal(r.nremoved, 1);
		assert_int_equal(r.bad, 0);
		assert_int_equal(r.len, fx->size);
		ig_feed_close(&r);
		growing_destroy(&g);
	}
}

/* a download that fails halfway: the walk stops at what was written,
 * says the writer ended, and reports no structural fault of its own */
static void
test_growing_stops_when_the_download_fails(void** state)
{
	struct fixture* fx = *state;
	struct ig_feed_reader r;
	struct growing g;
	struct copy c = { .seed = 9 };
	uint64_t n, w;
	int opened;
	make_feed(fx, NULL, 0);
	c.fail_at = fx->size / 2;
	n = read_growing(fx, &g, &c, &r, &opened);
	assert_int_equal(opened, 1);
	assert_true(n > 0 && n < RECORDS);
	assert_int_equal(r.ended, 1);
	assert_true(r.len <= fx->size / 2);
	assert_int_equal(growing_wait(&g, UINT64_MAX, &w), GROWING_FAILED);
	ig_feed_close(&r);
	growing_destroy(&g);
}

/* a download that completes short of the signed size (the server's file
 * was cut): the walk ends at the cut field and says where */
static void
test_growing_cut_short_is_bad(void** state)
{
	struct fixture* fx = *state;
	struct ig_feed_reader r;
	struct growing g;
	struct copy c = { .seed = 3 };
	uint64_t full;
	int opened;
	make_feed(fx, NULL, 0);
	full = fx->size;
	assert_int_equal(truncate(fx->src, (off_t)(full - 20)), 0);
	/* mapped at the signed size; 20 bytes never come */
	(void)read_growing(fx, &g, &c, &r, &opened);
	assert_int_equal(opened, 1);
	assert_int_equal(r.bad, 1);
	assert_true(r.bad_at < full - 20);
	assert_int_equal(r.len, full - 20);
	ig_feed_close(&r);
	growing_destroy(&g);
}

/* the header is taken before the records: a header field after them is
 * a fault (a walk of a whole file would take its value instead) */
static void
test_growing_header_after_records_is_bad(void** state)
{
	struct fixture* fx = *state;
	struct ig_feed_reader r;
	struct growing g;
	struct copy c = { .seed = 5 };
	/* field 3 (serial), varint 99 */
	static const uint8_t late_serial[] = { 3 << 3, 99 };
	int opened;
	make_feed(fx, late_serial, sizeof(late_serial));
	assert_int_equal(read_growing(fx, &g, &c, &r, &opened), RECORDS + 1);
	assert_int_equal(opened, 1);
	assert_int_equal(r.serial, 7);
	assert_int_equal(r.bad, 1);
	assert_int_equal(r.bad_at, fx->size);
	ig_feed_close(&r);
	growing_destroy(&g);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
			test_growing_reads_what_a_walk_reads, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_growing_stops_when_the_download_fails, setup,
			teardown),
		cmocka_unit_test_setup_teardown(test_growing_cut_short_is_bad,
			setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_growing_header_after_records_is_bad, setup,
			teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
