/*
 * tests/unit/test_name.c - unit tests of lib/name.c.
 *
 * \file
 * Text to wire normalisation (case, trailing dot, IDNA, every error with
 * its message), wire canonicalisation of network input (pointers,
 * truncation, length), the key form and its prefix property, the text
 * forms, and the public suffix list (multi-label suffixes, IDN TLDs).
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
#include "tests/unit/unit_util.h"

/** expect ig_name_from_text to fail with a message containing want */
static void
expect_bad(const char* text, const char* want)
{
	uint8_t wire[IG_NAME_MAX];
	size_t wl = 0;
	const char* err = NULL;
	if(ig_name_from_text(text, wire, &wl, &err))
		fail_msg("'%s' accepted, want error '%s'", text, want);
	assert_non_null(err);
	if(want && !strstr(err, want))
		fail_msg("'%s': error '%s' does not say '%s'", text, err, want);
}

/** a string of n copies of c */
static char*
repeat(char* buf, char c, size_t n)
{
	memset(buf, c, n);
	buf[n] = 0;
	return buf;
}

static void
test_from_text_basic(void** state)
{
	uint8_t wire[IG_NAME_MAX];
	static const uint8_t want[] = "\3www\7example\2cn";
	size_t wl = 0;
	const char* err = NULL;
	(void)state;
	assert_true(ig_name_from_text("www.example.cn", wire, &wl, &err));
	assert_int_equal(wl, sizeof(want)); /* includes the root label */
	assert_memory_equal(wire, want, sizeof(want));
}

static void
test_from_text_case_and_trailing_dot(void** state)
{
	uint8_t a[IG_NAME_MAX], b[IG_NAME_MAX], c[IG_NAME_MAX];
	size_t la, lb, lc;
	(void)state;
	la = ut_wire("www.example.cn", a);
	lb = ut_wire("WWW.Example.CN", b);
	lc = ut_wire("Www.EXAMPLE.cn.", c);
	assert_int_equal(la, lb);
	assert_int_equal(la, lc);
	assert_memory_equal(a, b, la);
	assert_memory_equal(a, c, la);
}

static void
test_from_text_root(void** state)
{
	uint8_t wire[IG_NAME_MAX];
	(void)state;
	wire[0] = 0x55;
	assert_int_equal(ut_wire(".", wire), 1);
	assert_int_equal(wire[0], 0);
}

static void
test_from_text_idn(void** state)
{
	uint8_t u[IG_NAME_MAX], a[IG_NAME_MAX], m[IG_NAME_MAX];
	size_t lu, la, lm;
	char text[1024];
	(void)state;
	lu = ut_wire("小度.中国", u);
	la = ut_wire("xn--yet23d.xn--fiqs8s", a);
	lm = ut_wire("XN--YET23D.中国.", m);
	assert_int_equal(lu, la);
	assert_memory_equal(u, a, la);
	assert_int_equal(lm, la);
	assert_memory_equal(m, a, la);
	assert_string_equal(ig_name_wire_to_text(u, text, sizeof(text)),
		"xn--yet23d.xn--fiqs8s.");
}

static void
test_from_text_idn_case_fold(void** state)
{
	uint8_t u[IG_NAME_MAX], a[IG_NAME_MAX];
	size_t lu, la;
	(void)state;
	/* UTS#46 maps upper-case letters before Punycode */
	lu = ut_wire("WWW.Bücher.DE", u);
	la = ut_wire("www.xn--bcher-kva.de", a);
	assert_int_equal(lu, la);
	assert_memory_equal(u, a, la);
	lu = ut_wire("BÜCHER.de", u);
	la = ut_wire("xn--bcher-kva.de", a);
	assert_int_equal(lu, la);
	assert_memory_equal(u, a, la);
}

static void
test_from_text_idn_bad(void** state)
{
	(void)state;
	/* not UTF-8 */
	expect_bad("\xff\xfe.cn", NULL);
	/* a disallowed code point (U+2603 SNOWMAN) */
	expect_bad("\xe2\x98\x83.cn", NULL);
}

static void
test_from_text_empty(void** state)
{
	(void)state;
	expect_bad("", "empty name");
}

static void
test_from_text_empty_labels(void** state)
{
	(void)state;
	expect_bad("a..cn", "empty label");
	expect_bad(".example.cn", "empty label");
	expect_bad("example.cn..", "empty label");
	expect_bad("..", "empty label");
}

static void
test_from_text_label_length(void** state)
{
	char lab[80], name[200];
	uint8_t wire[IG_NAME_MAX];
	(void)state;
	snprintf(name, sizeof(name), "%s.cn", repeat(lab, 'a', 63));
	assert_int_equal(ut_wire(name, wire), 1 + 63 + 1 + 2 + 1);
	snprintf(name, sizeof(name), "%s.cn", repeat(lab, 'a', 64));
	expect_bad(name, "63");
}

static void
test_from_text_name_length(void** state)
{
	char name[400], lab[64];
	uint8_t wire[IG_NAME_MAX];
	(void)state;
	/* 4 labels of 63 = 256 wire octets with the root label: too long */
	repeat(lab, 'b', 63);
	snprintf(name, sizeof(name), "%s.%s.%s.%s", lab, lab, lab, lab);
	expect_bad(name, "255");
	/* 3 x 63 + one of 61 = 255 octets exactly: the longest legal name */
	snprintf(name, sizeof(name), "%s.%s.%s.%.61s", lab, lab, lab, lab);
	assert_int_equal(ut_wire(name, wire), IG_NAME_MAX);
	/* one more octet is over */
	snprintf(name, sizeof(name), "%s.%s.%s.%.62s", lab, lab, lab, lab);
	expect_bad(name, "255");
	/* many short labels: 128 x "a." is 256 octets with the root */
	memset(name, 0, sizeof(name));
	{
		int i;
		for(i = 0; i < 128; i++) strcat(name, i ? ".a" : "a");
	}
	expect_bad(name, "255");
}

static void
test_from_text_non_ldh(void** state)
{
	(void)state;
	expect_bad("exa mple.cn", "not allowed");
	expect_bad("*.example.cn", "not allowed");
	expect_bad("ex@mple.cn", "not allowed");
	expect_bad("example.cn/", "not allowed");
	expect_bad("exam\\ple.cn", "not allowed");
}

static void
test_from_text_hyphen(void** state)
{
	uint8_t wire[IG_NAME_MAX];
	(void)state;
	expect_bad("-example.cn", "'-'");
	expect_bad("example-.cn", "'-'");
	expect_bad("www.-.cn", "'-'");
	assert_true(ut_wire("ex-ample.cn", wire) > 0);
}

static void
test_from_text_underscore(void** state)
{
	uint8_t wire[IG_NAME_MAX];
	static const uint8_t want[] = "\6_dmarc\7example\2cn";
	(void)state;
	assert_int_equal(ut_wire("_dmarc.Example.cn", wire), sizeof(want));
	assert_memory_equal(wire, want, sizeof(want));
}

static void
test_wire_canon_lowercases(void** state)
{
	static const uint8_t in[] = "\3WwW\7ExAmPlE\2CN\0trailing junk";
	static const uint8_t want[] = "\3www\7example\2cn";
	uint8_t out[IG_NAME_MAX];
	size_t ol = 0;
	(void)state;
	assert_true(ig_name_wire_canon(in, sizeof(in), out, &ol));
	assert_int_equal(ol, sizeof(want));
	assert_memory_equal(out, want, sizeof(want));
}

static void
test_wire_canon_binary_label(void** state)
{
	/* any byte is legal inside a label on the wire */
	static const uint8_t in[] = { 3, 'a', ' ', 0xc3, 2, 'c', 'n', 0 };
	uint8_t out[IG_NAME_MAX];
	size_t ol = 0;
	char text[1024];
	(void)state;
	assert_true(ig_name_wire_canon(in, sizeof(in), out, &ol));
	assert_int_equal(ol, sizeof(in));
	assert_string_equal(ig_name_wire_to_text(out, text, sizeof(text)),
		"a\\032\\195.cn.");
}

static void
test_wire_canon_rejects_pointer(void** state)
{
	/* "www" then a compression pointer to offset 12 */
	static const uint8_t ptr[] = { 3, 'w', 'w', 'w', 0xc0, 0x0c };
	/* a pointer as the very first byte */
	static const uint8_t ptr0[] = { 0xc0, 0x0c };
	/* 0x40: the obsolete extended label type */
	static const uint8_t ext[] = { 0x41, 'x', 0 };
	uint8_t out[IG_NAME_MAX];
	size_t ol = 0;
	(void)state;
	assert_false(ig_name_wire_canon(ptr, sizeof(ptr), out, &ol));
	assert_false(ig_name_wire_canon(ptr0, sizeof(ptr0), out, &ol));
	assert_false(ig_name_wire_canon(ext, sizeof(ext), out, &ol));
}

static void
test_wire_canon_label_length(void** state)
{
	uint8_t in[80], out[IG_NAME_MAX];
	size_t ol = 0;
	(void)state;
	/* 63 octets: the longest label */
	in[0] = 63;
	memset(in + 1, 'x', 63);
	in[64] = 0;
	assert_true(ig_name_wire_canon(in, 65, out, &ol));
	assert_int_equal(ol, 65);
	/* 64 octets: 0x40 is not a length (extended label type) */
	in[0] = 64;
	memset(in + 1, 'x', 64);
	in[65] = 0;
	assert_false(ig_name_wire_canon(in, 66, out, &ol));
}

static void
test_wire_canon_rejects_truncation(void** state)
{
	static const uint8_t full[] = "\3www\7example\2cn";
	uint8_t out[IG_NAME_MAX];
	size_t ol = 0, n;
	(void)state;
	assert_true(ig_name_wire_canon(full, sizeof(full), out, &ol));
	/* every shorter prefix is truncated: label cut or no root label */
	for(n = 0; n < sizeof(full); n++)
		if(ig_name_wire_canon(full, n, out, &ol))
			fail_msg("accepted a %zu-byte prefix", n);
}

static void
test_wire_canon_length(void** state)
{
	uint8_t in[300], out[IG_NAME_MAX];
	size_t ol = 0, n = 0;
	int i;
	(void)state;
	/* 3 x 63 + 61 + root = 255: legal */
	for(i = 0; i < 4; i++) {
		size_t ll = i < 3 ? 63 : 61;
		in[n++] = (uint8_t)ll;
		memset(in + n, 'A', ll);
		n += ll;
	}
	in[n++] = 0;
	assert_int_equal(n, 255);
	assert_true(ig_name_wire_canon(in, n, out, &ol));
	assert_int_equal(ol, 255);
	assert_int_equal(out[1], 'a');
	/* 3 x 63 + 62 + root = 256: too long */
	n = 0;
	for(i = 0; i < 4; i++) {
		size_t ll = i < 3 ? 63 : 62;
		in[n++] = (uint8_t)ll;
		memset(in + n, 'a', ll);
		n += ll;
	}
	in[n++] = 0;
	assert_int_equal(n, 256);
	assert_false(ig_name_wire_canon(in, n, out, &ol));
}

static void
test_wire_to_key(void** state)
{
	uint8_t wire[IG_NAME_MAX], key[IG_KEY_MAX];
	static const uint8_t want[] = "\2cn\7example\3www";
	size_t labelend[IG_LABELS_MAX], kl;
	int nl = -1;
	(void)state;
	ut_wire("www.example.cn", wire);
	kl = ig_name_wire_to_key(wire, key, labelend, &nl);
	assert_int_equal(kl, sizeof(want) - 1);
	assert_memory_equal(key, want, kl);
	assert_int_equal(nl, 3);
	assert_int_equal(labelend[0], 3);   /* cn */
	assert_int_equal(labelend[1], 11);  /* example.cn */
	assert_int_equal(labelend[2], 15);  /* www.example.cn */
}

static void
test_wire_to_key_folds_case_and_root(void** state)
{
	static const uint8_t upper[] = "\3WWW\2CN";
	uint8_t key[IG_KEY_MAX], root = 0;
	int nl = -1;
	(void)state;
	assert_int_equal(ig_name_wire_to_key(upper, key, NULL, NULL), 7);
	assert_memory_equal(key, "\2cn\3www", 7);
	assert_int_equal(ig_name_wire_to_key(&root, key, NULL, &nl), 0);
	assert_int_equal(nl, 0);
}

static void
test_key_prefix_property(void** state)
{
	uint8_t a[IG_KEY_MAX], b[IG_KEY_MAX], c[IG_KEY_MAX];
	size_t la, lb, lc;
	(void)state;
	la = ut_key("example.cn", a);
	lb = ut_key("a.b.example.cn", b);
	lc = ut_key("badexample.cn", c);
	assert_true(lb > la);
	assert_memory_equal(a, b, la);   /* ancestor is a prefix */
	assert_true(lc >= la && memcmp(a, c, la) != 0); /* sibling is not */
}

static void
test_key_to_text(void** state)
{
	uint8_t key[IG_KEY_MAX];
	char buf[1024];
	size_t kl;
	(void)state;
	kl = ut_key("www.example.com.cn", key);
	assert_string_equal(ig_name_key_to_text(key, kl, buf, sizeof(buf)),
		"www.example.com.cn.");
	assert_string_equal(ig_name_key_to_text(key, 0, buf, sizeof(buf)),
		".");
}

static void
test_wire_text_and_len(void** state)
{
	uint8_t wire[IG_NAME_MAX], root = 0;
	char buf[1024];
	(void)state;
	ut_wire("_sip._tcp.Example.cn", wire);
	assert_int_equal(ig_name_wire_len(wire), 22);
	assert_string_equal(ig_name_wire_to_text(wire, buf, sizeof(buf)),
		"_sip._tcp.example.cn.");
	assert_int_equal(ig_name_wire_len(&root), 1);
	assert_string_equal(ig_name_wire_to_text(&root, buf, sizeof(buf)),
		".");
}

static void
test_text_small_buffer(void** state)
{
	uint8_t wire[IG_NAME_MAX];
	char buf[8];
	(void)state;
	memset(buf, 'Z', sizeof(buf));
	ut_wire("www.example.cn", wire);
	ig_name_wire_to_text(wire, buf, sizeof(buf));
	/* truncated but always terminated inside the buffer */
	assert_non_null(memchr(buf, 0, sizeof(buf)));
	assert_true(strncmp(buf, "www.", 4) == 0);
}

static void
test_registrable_multilabel_suffix(void** state)
{
	const char* r;
	(void)state;
	r = ig_name_registrable("www.example.com.cn");
	assert_non_null(r);
	assert_string_equal(r, "example.com.cn");
	assert_null(ig_name_registrable("com.cn"));
	assert_null(ig_name_registrable("cn"));
	r = ig_name_registrable("example.cn");
	assert_non_null(r);
	assert_string_equal(r, "example.cn");
}

static void
test_registrable_gov_cn(void** state)
{
	const char* r;
	(void)state;
	assert_null(ig_name_registrable("gov.cn"));
	r = ig_name_registrable("www.beijing.gov.cn");
	assert_non_null(r);
	assert_string_equal(r, "beijing.gov.cn");
	/* a province suffix: bj.cn is public, x.bj.cn registrable */
	assert_null(ig_name_registrable("bj.cn"));
}

static void
test_registrable_idn(void** state)
{
	const char* r;
	(void)state;
	assert_null(ig_name_registrable("xn--fiqs8s"));
	r = ig_name_registrable("www.xn--srsw86a.xn--fiqs8s");
	assert_non_null(r);
	assert_string_equal(r, "xn--srsw86a.xn--fiqs8s");
}

static void
test_is_public_suffix(void** state)
{
	(void)state;
	assert_true(ig_name_is_public_suffix("cn"));
	assert_true(ig_name_is_public_suffix("com.cn"));
	assert_true(ig_name_is_public_suffix("gov.cn"));
	assert_true(ig_name_is_public_suffix("xn--fiqs8s"));
	assert_false(ig_name_is_public_suffix("example.cn"));
	assert_false(ig_name_is_public_suffix("example.com.cn"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_from_text_basic),
		cmocka_unit_test(test_from_text_case_and_trailing_dot),
		cmocka_unit_test(test_from_text_root),
		cmocka_unit_test(test_from_text_idn),
		cmocka_unit_test(test_from_text_idn_case_fold),
		cmocka_unit_test(test_from_text_idn_bad),
		cmocka_unit_test(test_from_text_empty),
		cmocka_unit_test(test_from_text_empty_labels),
		cmocka_unit_test(test_from_text_label_length),
		cmocka_unit_test(test_from_text_name_length),
		cmocka_unit_test(test_from_text_non_ldh),
		cmocka_unit_test(test_from_text_hyphen),
		cmocka_unit_test(test_from_text_underscore),
		cmocka_unit_test(test_wire_canon_lowercases),
		cmocka_unit_test(test_wire_canon_binary_label),
		cmocka_unit_test(test_wire_canon_rejects_pointer),
		cmocka_unit_test(test_wire_canon_label_length),
		cmocka_unit_test(test_wire_canon_rejects_truncation),
		cmocka_unit_test(test_wire_canon_length),
		cmocka_unit_test(test_wire_to_key),
		cmocka_unit_test(test_wire_to_key_folds_case_and_root),
		cmocka_unit_test(test_key_prefix_property),
		cmocka_unit_test(test_key_to_text),
		cmocka_unit_test(test_wire_text_and_len),
		cmocka_unit_test(test_text_small_buffer),
		cmocka_unit_test(test_registrable_multilabel_suffix),
		cmocka_unit_test(test_registrable_gov_cn),
		cmocka_unit_test(test_registrable_idn),
		cmocka_unit_test(test_is_public_suffix),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
