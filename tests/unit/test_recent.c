/*
 * tests/unit/test_recent.c - unit tests of module/recent.c, the Unbound
 * module's table of recent client queries by domain.
 *
 * \file
 * The domain hash of a query name and of a changed name's key agree (the
 * watch thread finds what the workers noted), case is ignored, names of
 * other domains land elsewhere; a note reads back whole; a repeated query
 * is written once; a bucket keeps the last IG_RECENT_WAYS notes; a record
 * that is not a whole name (a write mixed with another) is left out; a
 * name longer than the record is not noted.
 */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include "lib/name.h"
#include "module/recent.h"

/** the wire form of a text name */
static size_t
wire_of(const char* text, uint8_t* wire)
{
	size_t wl = 0;
	const char* err = NULL;
	if(!ig_name_from_text(text, wire, &wl, &err))
		fail_msg("'%s': %s", text, err ? err : "?");
	return wl;
}

/** the key form of a text name */
static size_t
key_of(const char* text, uint8_t* key)
{
	uint8_t wire[IG_NAME_MAX];
	wire_of(text, wire);
	return ig_name_wire_to_key(wire, key, NULL, NULL);
}

static void
test_domain_hash_agrees(void** state)
{
	uint8_t w1[IG_NAME_MAX], w2[IG_NAME_MAX], k[IG_KEY_MAX];
	size_t kl;
	(void)state;
	wire_of("www.canary.cn", w1);
	wire_of("a.b.canary.cn", w2);
	kl = key_of("canary.cn", k);
	assert_int_equal(ig_recent_wire_domain(w1), ig_recent_wire_domain(w2));
	assert_int_equal(ig_recent_wire_domain(w1), ig_recent_key_domain(k, kl));
	/* the domain itself */
	wire_of("canary.cn", w2);
	assert_int_equal(ig_recent_wire_domain(w1), ig_recent_wire_domain(w2));
	/* a changed name deeper than two labels: its domain */
	kl = key_of("x.canary.cn", k);
	assert_int_equal(ig_recent_wire_domain(w1), ig_recent_key_domain(k, kl));
	/* case: the wire of a query keeps its case */
	memcpy(w2, "\003WwW\006CaNaRy\002CN", 15);
	assert_int_equal(ig_recent_wire_domain(w1), ig_recent_wire_domain(w2));
	/* other domains */
	wire_of("www.canary.com", w2);
	assert_int_not_equal(ig_recent_wire_domain(w1), ig_recent_wire_domain(w2));
	wire_of("www.canarz.cn", w2);
	assert_int_not_equal(ig_recent_wire_domain(w1), ig_recent_wire_domain(w2));
	/* a long label, more than one word */
	wire_of("www.a-rather-long-second-level-label-of-many-words.cn", w1);
	kl = key_of("a-rather-long-second-level-label-of-many-words.cn", k);
	assert_int_equal(ig_recent_wire_domain(w1), ig_recent_key_domain(k, kl));
	/* one label, the root, a malformed key: no domain for the key side */
	kl = key_of("cn", k);
	assert_int_equal(ig_recent_key_domain(k, kl), 0);
	assert_int_equal(ig_recent_wire_domain((const uint8_t*)""), 0);
	k[0] = 2; k[1] = 'c'; k[2] = 'n'; k[3] = 40; k[4] = 'x';
	assert_int_equal(ig_recent_key_domain(k, 5), 0);
}

/** note a text name as an A query */
static void
note(struct ig_recent* r, const char* text, uint16_t qtype)
{
	uint8_t w[IG_NAME_MAX];
	size_t wl = wire_of(text, w);
	ig_recent_note(r, w, wl, qtype, 1, 0x0100);
}

/** the queries noted under the domain of text */
static int
get(struct ig_recent* r, const char* text, struct ig_recent_query* q)
{
	uint8_t w[IG_NAME_MAX];
	wire_of(text, w);
	return ig_recent_get(r, ig_recent_wire_domain(w), q);
}

static void
test_note_and_get(void** state)
{
	struct ig_recent r;
	struct ig_recent_query q[IG_RECENT_WAYS];
	uint8_t w[IG_NAME_MAX];
	size_t wl;
	int n, i;
	(void)state;
	assert_true(ig_recent_init(&r));
	assert_int_equal(get(&r, "canary.cn", q), 0);
	note(&r, "www.canary.cn", 1);
	n = get(&r, "canary.cn", q);
	assert_int_equal(n, 1);
	wl = wire_of("www.canary.cn", w);
	assert_int_equal(q[0].qname_len, wl);
	assert_memory_equal(q[0].qname, w, wl);
	assert_int_equal(q[0].qtype, 1);
	assert_int_equal(q[0].qclass, 1);
	assert_int_equal(q[0].flags, 0x0100);
	/* the same query again: written once */
	note(&r, "www.canary.cn", 1);
	assert_int_equal(get(&r, "canary.cn", q), 1);
	/* another type is another query */
	note(&r, "www.canary.cn", 28);
	assert_int_equal(get(&r, "canary.cn", q), 2);
	/* the bucket keeps the last IG_RECENT_WAYS */
	note(&r, "a.canary.cn", 1);
	note(&r, "b.canary.cn", 1);
	note(&r, "c.canary.cn", 1);
	n = get(&r, "canary.cn", q);
	assert_int_equal(n, IG_RECENT_WAYS);
	for(i = 0; i < n; i++)
		assert_int_not_equal(q[i].qtype == 1 && q[i].qname_len == wl &&
			memcmp(q[i].qname, w, wl) == 0, 1);
	/* a name longer than a record: not noted */
	note(&r, "a-label-long-enough.to-make.the-name-longer-than.fifty-six-bytes.canary.cn", 1);
	n = get(&r, "canary.cn", q);
	for(i = 0; i < n; i++)
		assert_true(q[i].qname_len <= IG_RECENT_NAME);
	ig_recent_free(&r);
}

static void
test_mixed_record_left_out(void** state)
{
	struct ig_recent r;
	struct ig_recent_query q[IG_RECENT_WAYS];
	uint8_t w[IG_NAME_MAX];
	struct ig_recent_bucket* b = NULL;
	int i, n;
	(void)state;
	assert_true(ig_recent_init(&r));
	note(&r, "www.canary.cn", 1);
	wire_of("canary.cn", w);
	/* find the record and spoil its name as a concurrent write could:
	 * a label running past the length the record says */
	for(i = 0; i < IG_RECENT_BUCKETS && !b; i++)
		if(r.bucket[i].rec[0].meta) b = &r.bucket[i];
	assert_non_null(b);
	((uint8_t*)b->rec[0].name)[0] = 40;
	n = ig_recent_get(&r, ig_recent_wire_domain(w), q);
	assert_int_equal(n, 0);
	/* a pointer byte */
	((uint8_t*)b->rec[0].name)[0] = 0xc0;
	assert_int_equal(ig_recent_get(&r, ig_recent_wire_domain(w), q), 0);
	ig_recent_free(&r);
	/* no table (out of memory at init): nothing noted, nothing found */
	r.bucket = NULL;
	note(&r, "www.canary.cn", 1);
	assert_int_equal(get(&r, "canary.cn", q), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_domain_hash_agrees),
		cmocka_unit_test(test_note_and_get),
		cmocka_unit_test(test_mixed_record_left_out),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
