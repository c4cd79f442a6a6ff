/*
 * tests/unit/test_limits.c - unit tests of lib/limits.h against the
 * snapshot writer and lib/validate.h.
 *
 * \file
 * The promise of lib/limits.h: a record whose fields pass the checks of
 * lib/validate.h always fits the writer.  For each record kind, every
 * field at its limit passes the check and is written (and the order is
 * read back whole); one byte more is refused by the check, naming the
 * field, with code "too_long".  Issue 17 findings 3 and 4: before, a
 * blacklist reason of 7 KB, a filing subject of 1.6 KB or an order of 256
 * long targets passed the checks and then failed every publish.
 */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lib/limits.h"
#include "lib/snapshot.h"
#include "lib/validate.h"
#include "tests/unit/unit_util.h"

/** a string of n copies of c (free() it) */
static char*
text(size_t n, char c)
{
	char* s = malloc(n + 1);
	assert_non_null(s);
	memset(s, c, n);
	s[n] = 0;
	return s;
}

/** per-test state: a temporary directory and a writer in it */
struct fixture {
	/** the directory */
	struct ut_dir dir;
	/** DIR/snap.mdb */
	char path[512];
	/** the writer */
	struct ig_writer* w;
};

static int
setup(void** state)
{
	struct fixture* fx = calloc(1, sizeof(*fx));
	if(!fx) return -1;
	ut_dir_make(&fx->dir);
	ut_dir_file(&fx->dir, "snap.mdb", fx->path);
	fx->w = ut_writer(fx->path);
	*state = fx;
	return 0;
}

static int
teardown(void** state)
{
	struct fixture* fx = *state;
	if(fx->w) ig_writer_abort(fx->w);
	ut_dir_remove(&fx->dir);
	free(fx);
	return 0;
}

/** a filing with every text field at its limit is valid and written;
 * one more byte of the subject is refused */
static void
test_filing_at_limits(void** state)
{
	struct fixture* fx = *state;
	struct ig_filing_fields in;
	struct ig_tldset tlds = { NULL, 0 };
	struct ig_filing f;
	struct ig_reject r;
	uint8_t wire[IG_NAME_MAX];
	char t[1024];
	char num[IG_FILING_NUMBER_MAX + 1];
	char* subject = text(IG_FILING_SUBJECT_MAX, 's');
	char* province = text(IG_FILING_PROVINCE_MAX, 'p');
	char* provider = text(IG_FILING_PROVIDER_MAX, 'v');
	char* over = text(IG_FILING_SUBJECT_MAX + 1, 's');
	size_t nl;
	/* the longest well-formed number: 京ICP备 + 12 digits + 号-ddd... */
	snprintf(num, sizeof(num), "京ICP备123456789012号-");
	nl = strlen(num);
	memset(num + nl, '1', IG_FILING_NUMBER_MAX - nl);
	num[IG_FILING_NUMBER_MAX] = 0;
	memset(&in, 0, sizeof(in));
	in.domain = "example.cn";
	in.number = num;
	in.subject = subject;
	in.province = province;
	in.provider = provider;
	assert_true(ig_valid_filing(&in, &tlds, wire, t, &f, &r));
	assert_true(ig_writer_filing(fx->w, wire, &f));
	in.subject = over;
	assert_false(ig_valid_filing(&in, &tlds, wire, t, &f, &r));
	assert_string_equal(r.field, "subject");
	assert_string_equal(r.code, "too_long");
	assert_true(ut_contains(r.msg, "at most 512"));
	free(subject);
	free(province);
	free(provider);
	free(over);
}

/** a blacklist entry at its limits is written; a 7 KB reason refused */
static void
test_blacklist_at_limits(void** state)
{
	struct fixture* fx = *state;
	struct ig_blacklist b;
	struct ig_reject r;
	uint8_t wire[IG_NAME_MAX];
	char* reason = text(IG_BLACKLIST_REASON_MAX, 'r');
	char* source = text(IG_BLACKLIST_SOURCE_MAX, 's');
	char* big = text(7000, 'r');
	ut_wire("bad.example.cn", wire);
	assert_true(ig_valid_blacklist_texts(reason, source, &r));
	b.subtree = 1;
	b.added = 1;
	b.reason = reason;
	b.source = source;
	assert_true(ig_writer_blacklist(fx->w, wire, &b));
	assert_false(ig_valid_blacklist_texts(big, source, &r));
	assert_string_equal(r.field, "reason");
	assert_string_equal(r.code, "too_long");
	assert_false(ig_valid_blacklist_texts(reason, big, &r));
	assert_string_equal(r.field, "source");
	free(reason);
	free(source);
	free(big);
}

/** registrar, registrar domain, redirect host, range and exemption at
 * their limits are written */
static void
test_registrar_range_exempt_at_limits(void** state)
{
	struct fixture* fx = *state;
	struct ig_registrar g;
	struct ig_regdomain d;
	struct ig_exempt x;
	struct ig_range rg;
	struct ig_reject r;
	uint8_t wire[IG_NAME_MAX];
	const char* e;
	char* id = text(IG_REGISTRAR_ID_MAX, 'i');
	char* name = text(IG_REGISTRAR_NAME_MAX, 'n');
	char* status = text(IG_REGDOMAIN_STATUS_MAX, 't');
	char* owner = text(IG_RANGE_OWNER_MAX, 'o');
	char* note = text(IG_EXEMPT_NOTE_MAX, 'x');
	char* longid = text(IG_REGISTRAR_ID_MAX + 1, 'i');
	assert_true(ig_valid_registrar(id, name, &r));
	g.id = id;
	g.name = name;
	assert_true(ig_writer_registrar(fx->w, &g));
	assert_true(ig_valid_regdomain("parked.cn", id, status, wire, &r));
	d.flags = IG_REGDOMAIN_PARKING;
	d.registrar = id;
	d.status = status;
	assert_true(ig_writer_regdomain(fx->w, wire, &d));
	ut_wire("fwd.registrar.cn", wire);
	assert_true(ig_writer_redirect_host(fx->w, wire, id));
	assert_true(ig_valid_len("source", owner, IG_RANGE_OWNER_MAX, &r));
	assert_true(ig_range_parse("192.0.2.0/24", &rg, &e));
	assert_true(ig_writer_range(fx->w, IG_RANGE_DOMESTIC, &rg, owner));
	ut_wire("infra.example.cn", wire);
	x.subtree = 1;
	x.note = note;
	assert_true(ig_writer_exempt(fx->w, wire, &x));
	assert_false(ig_valid_registrar(longid, name, &r));
	assert_string_equal(r.field, "id");
	assert_false(ig_valid_regdomain("parked.cn", longid, status, wire, &r));
	assert_string_equal(r.field, "registrar");
	free(id);
	free(name);
	free(status);
	free(owner);
	free(note);
	free(longid);
}

/** the largest order (every text at its limit, 256 targets of 253
 * characters) passes the checks, is written and read back whole */
static void
test_order_at_limits(void** state)
{
	struct fixture* fx = *state;
	static char norm[IG_ORDER_MAX_TARGETS][IG_ORDER_TARGET_MAX + 2];
	static uint8_t tbuf[IG_ORDER_TARGETS_BYTES];
	const char* names[IG_ORDER_MAX_TARGETS];
	int sub[IG_ORDER_MAX_TARGETS];
	struct ig_order o, got;
	struct ig_reject r;
	struct ig_snapshot* s;
	struct ig_view v;
	char id[IG_ORDER_ID_MAX + 1], name[300];
	char* doc = text(IG_ORDER_DOC_NO_MAX, 'd');
	char* unit = text(IG_ORDER_UNIT_MAX, 'u');
	char* reason = text(IG_ORDER_REASON_MAX, 'r');
	char* big = text(70000, 'r');
	size_t tl;
	unsigned i;
	memset(id, 'o', IG_ORDER_ID_MAX);
	id[IG_ORDER_ID_MAX] = 0;
	assert_true(ig_valid_order_texts(id, doc, unit, reason,
		IG_ORDER_MAX_TARGETS, &r));
	for(i = 0; i < IG_ORDER_MAX_TARGETS; i++) {
		/* 63.63.63.61 = 253 characters */
		snprintf(name, sizeof(name), "a%03u%059d.%063d.%063d.%061d", i,
			0, 0, 0, 0);
		assert_int_equal(strlen(name), 253);
		assert_true(ig_valid_order_target(i, name, norm[i],
			sizeof(norm[i]), &r));
		names[i] = norm[i];
		sub[i] = 1;
	}
	tl = ig_order_targets_encode(names, sub, IG_ORDER_MAX_TARGETS, tbuf,
		sizeof(tbuf));
	assert_true(tl > 0);
	memset(&o, 0, sizeof(o));
	o.id = id;
	o.doc_no = doc;
	o.unit = unit;
	o.reason = reason;
	o.effective = 1;
	o.ntargets = IG_ORDER_MAX_TARGETS;
	o.targets = tbuf;
	if(!ig_writer_order(fx->w, &o))
		fail_msg("ig_writer_order: %s", ig_writer_error(fx->w));
	s = ut_publish_open(fx->w, fx->path, 1);
	fx->w = NULL;
	assert_true(ig_view_begin(s, &v));
	assert_true(ig_view_order(&v, id, &got));
	assert_int_equal(got.ntargets, IG_ORDER_MAX_TARGETS);
	assert_int_equal(strlen(got.reason), IG_ORDER_REASON_MAX);
	ig_view_end(&v);
	ig_snapshot_unref(s);
	/* over the limits: refused by the checks, naming the field */
	assert_false(ig_valid_order_texts(id, doc, unit, big, 1, &r));
	assert_string_equal(r.field, "reason");
	assert_string_equal(r.code, "too_long");
	assert_true(ut_contains(r.msg, "70000 bytes, at most 4096"));
	assert_false(ig_valid_order_texts(id, doc, unit, reason,
		IG_ORDER_MAX_TARGETS + 1, &r));
	assert_string_equal(r.field, "targets");
	assert_string_equal(r.code, "too_many");
	free(doc);
	free(unit);
	free(reason);
	free(big);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_filing_at_limits),
		T(test_blacklist_at_limits),
		T(test_registrar_range_exempt_at_limits),
		T(test_order_at_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
