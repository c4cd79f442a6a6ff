/*
 * tests/unit/test_addr.c - unit tests of lib/addr.c.
 *
 * \file
 * Address parsing and printing for both families, the IPv4-mapped key
 * order, range parsing (prefixes, FIRST-LAST, single addresses) with every
 * error it reports, and APNIC-style start + count ranges whose count is
 * not a power of two.
 */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include "lib/addr.h"
#include "tests/unit/unit_util.h"

/** assert a range's ends as text */
static void
assert_range(const struct ig_range* r, const char* first, const char* last)
{
	char a[64], b[64];
	assert_string_equal(ig_addr_to_text(&r->first, a, sizeof(a)), first);
	assert_string_equal(ig_addr_to_text(&r->last, b, sizeof(b)), last);
}

/** expect ig_range_parse to fail with a reason containing want */
static void
expect_bad_range(const char* text, const char* want)
{
	struct ig_range r;
	const char* err = NULL;
	if(ig_range_parse(text, &r, &err))
		fail_msg("range '%s' accepted, want '%s'", text, want);
	assert_non_null(err);
	if(!strstr(err, want))
		fail_msg("range '%s': error '%s' does not say '%s'", text, err,
			want);
}

static void
test_parse_v4_mapped(void** state)
{
	static const uint8_t want[16] = { 0,0,0,0, 0,0,0,0, 0,0,0xff,0xff,
		192,0,2,1 };
	struct ig_addr a;
	char buf[64];
	(void)state;
	assert_true(ig_addr_parse("192.0.2.1", &a));
	assert_memory_equal(a.b, want, 16);
	assert_true(ig_addr_is_v4(&a));
	assert_string_equal(ig_addr_to_text(&a, buf, sizeof(buf)),
		"192.0.2.1");
}

static void
test_parse_v6(void** state)
{
	struct ig_addr a;
	char buf[64];
	(void)state;
	assert_true(ig_addr_parse("2001:DB8:0:0::1", &a));
	assert_false(ig_addr_is_v4(&a));
	assert_int_equal(a.b[0], 0x20);
	assert_int_equal(a.b[1], 0x01);
	assert_int_equal(a.b[15], 1);
	assert_string_equal(ig_addr_to_text(&a, buf, sizeof(buf)),
		"2001:db8::1");
	/* a mapped address written in IPv6 form is the same IPv4 address */
	assert_true(ig_addr_parse("::ffff:10.1.2.3", &a));
	assert_true(ig_addr_is_v4(&a));
	assert_string_equal(ig_addr_to_text(&a, buf, sizeof(buf)), "10.1.2.3");
}

static void
test_parse_bad(void** state)
{
	static const char* const bad[] = { "", "1.2.3", "1.2.3.256",
		"1.2.3.4 ", " 1.2.3.4", "::g", "1::2::3", "example.cn",
		"1.2.3.4/24", NULL };
	struct ig_addr a;
	int i;
	(void)state;
	for(i = 0; bad[i]; i++)
		if(ig_addr_parse(bad[i], &a))
			fail_msg("'%s' parsed as an address", bad[i]);
}

static void
test_from_raw(void** state)
{
	static const uint8_t v4[4] = { 1, 2, 3, 4 };
	static const uint8_t v6[16] = { 0x24, 0x0e, 0, 0, 0, 0, 0, 0,
		0, 0, 0, 0, 0, 0, 0, 0x53 };
	struct ig_addr a, b;
	(void)state;
	ig_addr_from_v4(&a, v4);
	b = ut_addr("1.2.3.4");
	assert_int_equal(ig_addr_cmp(&a, &b), 0);
	ig_addr_from_v6(&a, v6);
	b = ut_addr("240e::53");
	assert_int_equal(ig_addr_cmp(&a, &b), 0);
}

static void
test_cmp_order(void** state)
{
	struct ig_addr a = ut_addr("1.2.3.4"), b = ut_addr("1.2.3.5");
	struct ig_addr c = ut_addr("255.255.255.255"), d = ut_addr("2001::");
	struct ig_addr z = ut_addr("::");
	(void)state;
	assert_true(ig_addr_cmp(&a, &b) < 0);
	assert_true(ig_addr_cmp(&b, &a) > 0);
	assert_true(ig_addr_cmp(&c, &d) < 0); /* all IPv4 before 2001:: */
	assert_true(ig_addr_cmp(&z, &a) < 0);
	assert_int_equal(ig_addr_cmp(&a, &a), 0);
}

static void
test_range_prefix_v4(void** state)
{
	struct ig_range r;
	const char* err = NULL;
	(void)state;
	assert_true(ig_range_parse("10.0.0.0/8", &r, &err));
	assert_range(&r, "10.0.0.0", "10.255.255.255");
	assert_true(ig_range_parse("36.96.0.0/11", &r, &err));
	assert_range(&r, "36.96.0.0", "36.127.255.255");
	assert_true(ig_range_parse("1.2.3.4/32", &r, &err));
	assert_range(&r, "1.2.3.4", "1.2.3.4");
	assert_true(ig_range_parse("0.0.0.0/0", &r, &err));
	assert_range(&r, "0.0.0.0", "255.255.255.255");
	assert_true(ig_addr_is_v4(&r.last));
}

static void
test_range_prefix_v6(void** state)
{
	struct ig_range r;
	const char* err = NULL;
	(void)state;
	assert_true(ig_range_parse("240e::/20", &r, &err));
	assert_range(&r, "240e::", "240e:fff:ffff:ffff:ffff:ffff:ffff:ffff");
	assert_true(ig_range_parse("2001:db8::1/128", &r, &err));
	assert_range(&r, "2001:db8::1", "2001:db8::1");
	assert_true(ig_range_parse("::/0", &r, &err));
	assert_range(&r, "::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
}

static void
test_range_first_last_and_single(void** state)
{
	struct ig_range r;
	const char* err = NULL;
	(void)state;
	assert_true(ig_range_parse("1.0.1.0-1.0.3.255", &r, &err));
	assert_range(&r, "1.0.1.0", "1.0.3.255");
	assert_true(ig_range_parse("2001:db8::-2001:db8::ff", &r, &err));
	assert_range(&r, "2001:db8::", "2001:db8::ff");
	assert_true(ig_range_parse("9.9.9.9-9.9.9.9", &r, &err));
	assert_range(&r, "9.9.9.9", "9.9.9.9");
	assert_true(ig_range_parse("203.0.113.7", &r, &err));
	assert_range(&r, "203.0.113.7", "203.0.113.7");
}

static void
test_range_prefix_errors(void** state)
{
	(void)state;
	expect_bad_range("10.0.0.1/8", "host bits");
	expect_bad_range("2001:db8::1/32", "host bits");
	expect_bad_range("10.0.0.0/33", "prefix length");
	expect_bad_range("2001:db8::/129", "prefix length");
	expect_bad_range("10.0.0.0/-1", "prefix length");
	expect_bad_range("10.0.0.0/", "prefix length");
	expect_bad_range("10.0.0.0/8x", "prefix length");
	expect_bad_range("10.0.0/8", "prefix address");
}

static void
test_range_other_errors(void** state)
{
	char longtext[200];
	(void)state;
	expect_bad_range("10.0.0.9-10.0.0.1", "first address after last");
	expect_bad_range("10.0.0.1-2001:db8::1", "mixes");
	expect_bad_range("10.0.0.1-10.0.0", "bad range address");
	expect_bad_range("nonsense", "bad address");
	memset(longtext, '1', sizeof(longtext) - 1);
	longtext[sizeof(longtext) - 1] = 0;
	expect_bad_range(longtext, "too long");
}

static void
test_v4_count_not_power_of_two(void** state)
{
	struct ig_addr s = ut_addr("1.0.1.0");
	struct ig_range r;
	(void)state;
	/* APNIC lists 1.0.1.0 with 768 addresses: three /24s */
	assert_true(ig_range_from_v4_count(&s, 768, &r));
	assert_range(&r, "1.0.1.0", "1.0.3.255");
	s = ut_addr("14.0.0.0");
	assert_true(ig_range_from_v4_count(&s, 1000, &r));
	assert_range(&r, "14.0.0.0", "14.0.3.231");
	assert_true(ig_range_from_v4_count(&s, 1, &r));
	assert_range(&r, "14.0.0.0", "14.0.0.0");
	/* crossing an octet boundary carries */
	s = ut_addr("1.0.255.200");
	assert_true(ig_range_from_v4_count(&s, 100, &r));
	assert_range(&r, "1.0.255.200", "1.1.0.43");
}

static void
test_v4_count_limits(void** state)
{
	struct ig_addr s = ut_addr("255.255.255.0");
	struct ig_addr v6 = ut_addr("2001:db8::");
	struct ig_range r;
	(void)state;
	assert_true(ig_range_from_v4_count(&s, 256, &r));
	assert_range(&r, "255.255.255.0", "255.255.255.255");
	assert_false(ig_range_from_v4_count(&s, 257, &r));
	assert_false(ig_range_from_v4_count(&s, 0, &r));
	assert_false(ig_range_from_v4_count(&v6, 16, &r));
	s = ut_addr("0.0.0.0");
	assert_true(ig_range_from_v4_count(&s, 0x100000000ULL, &r));
	assert_range(&r, "0.0.0.0", "255.255.255.255");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_v4_mapped),
		cmocka_unit_test(test_parse_v6),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_from_raw),
		cmocka_unit_test(test_cmp_order),
		cmocka_unit_test(test_range_prefix_v4),
		cmocka_unit_test(test_range_prefix_v6),
		cmocka_unit_test(test_range_first_last_and_single),
		cmocka_unit_test(test_range_prefix_errors),
		cmocka_unit_test(test_range_other_errors),
		cmocka_unit_test(test_v4_count_not_power_of_two),
		cmocka_unit_test(test_v4_count_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
