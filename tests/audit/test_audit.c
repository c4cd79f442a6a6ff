/*
 * tests/audit/test_audit.c - unit tests of tools/audit_record.c.
 *
 * \file
 * The bounded DNS question parser (every truncation of a message, a
 * compression pointer, no question), decoding of the module's records
 * (Policy and extra, Policy.rule only, extra only, no policy, garbage),
 * every filter on its edges (time, reason, id, IPv4/IPv6 client ranges,
 * name suffix on label boundaries, case and IDN), client truncation, and
 * the JSON/CSV writers (escapes, invalid UTF-8, quoting).
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
#include "tools/audit.h"
#include "lib/timefmt.h"
#include "tests/audit/fixture.h"

/** decode fixture record n (1-based) */
static void
decode_fx(int n, struct ig_audit_rec* rec)
{
	uint8_t* buf;
	size_t len = fx_pack(&fx_records[n - 1], &buf);
	const char* err = NULL;
	assert_true(len > 0);
	if(!ig_audit_decode(buf, len, rec, &err))
		fail_msg("fixture record %d: %s", n, err);
	free(buf);
}

/** text of a wire name */
static const char*
wtext(const uint8_t* wire)
{
	static char buf[1024];
	return ig_name_wire_to_text(wire, buf, sizeof(buf));
}

/** capture what a writer prints */
struct memout {
	/** the stream */
	FILE* f;
	/** its buffer */
	char* buf;
	/** its size */
	size_t len;
};

/** start capturing into m */
static void
mem_open(struct memout* m)
{
	m->buf = NULL;
	m->len = 0;
	m->f = open_memstream(&m->buf, &m->len);
	assert_non_null(m->f);
}

/** stop capturing; @return the text (m->buf, free it) */
static const char*
mem_close(struct memout* m)
{
	fclose(m->f);
	return m->buf;
}

static void
test_question_ok(void** state)
{
	uint8_t msg[512], qn[IG_NAME_MAX];
	int qt, rc;
	size_t len = fx_dns_message("WWW.Example.CN", 28, 1, 3, msg);
	(void)state;
	assert_true(len > 0);
	assert_true(ig_dns_question(msg, len, qn, &qt, &rc));
	assert_string_equal(wtext(qn), "www.example.cn.");
	assert_int_equal(qt, 28);
	assert_int_equal(rc, 3);
}

static void
test_question_every_truncation(void** state)
{
	uint8_t msg[512], *copy, qn[IG_NAME_MAX];
	int qt, rc;
	size_t len = fx_dns_message("a.b.example.cn", 1, 1, 0, msg), n;
	(void)state;
	for(n = 0; n < len; n++) {
		/* an exact-size heap copy: a read past it is caught by
		 * valgrind/ASan */
		copy = malloc(n ? n : 1);
		memcpy(copy, msg, n);
		assert_false(ig_dns_question(copy, n, qn, &qt, &rc));
		assert_int_equal(qt, -1);
		assert_int_equal(rc, n >= 12 ? 0 : -1);
		free(copy);
	}
	assert_true(ig_dns_question(msg, len, qn, &qt, &rc));
	assert_false(ig_dns_question(NULL, 0, qn, &qt, &rc));
}

static void
test_question_pointer_and_empty(void** state)
{
	uint8_t msg[512], qn[IG_NAME_MAX];
	int qt, rc;
	size_t len = fx_dns_message("x.cn", 1, 1, 2, msg);
	(void)state;
	msg[12] = 0xc0; /* a compression pointer as the question name */
	msg[13] = 0x0c;
	assert_false(ig_dns_question(msg, len, qn, &qt, &rc));
	assert_int_equal(rc, 2);
	len = fx_dns_message("x.cn", 1, 1, 5, msg);
	msg[5] = 0; /* QDCOUNT 0 */
	assert_false(ig_dns_question(msg, len, qn, &qt, &rc));
	assert_int_equal(rc, 5);
}

static void
test_decode_module_record(void** state)
{
	struct ig_audit_rec r;
	char a[64];
	(void)state;
	decode_fx(1, &r);
	assert_int_equal(r.msg_type, 6);
	assert_true(r.has_time);
	assert_int_equal(r.sec, 1714492800); /* 2024-05-01 00:00 +08:00 */
	assert_int_equal(r.nsec, 0);
	assert_string_equal(r.identity, "test-resolver");
	assert_true(r.has_client);
	assert_string_equal(ig_addr_to_text(&r.client, a, sizeof(a)),
		"10.1.2.3");
	assert_int_equal(r.port, 5353);
	assert_int_equal(r.protocol, 1);
	assert_true(r.has_qname);
	assert_string_equal(wtext(r.qname), "www.site-a.cn.");
	assert_int_equal(r.qtype, 1);
	assert_int_equal(r.rcode, 3);
	assert_true(r.has_policy);
	assert_string_equal(r.policy_type, "icpguard");
	assert_string_equal(r.reason, "order");
	assert_string_equal(r.id, "ord-a");
	assert_string_equal(r.doc_no, "工信厅信管函〔2024〕1号");
	assert_string_equal(r.snapshot, "7");
	assert_string_equal(r.mode, "enforce");
	assert_true(r.has_match);
	assert_string_equal(wtext(r.match), "site-a.cn.");
	assert_int_equal(r.action, 1);
	assert_string_equal(ig_action_text(r.action), "NXDOMAIN");
}

static void
test_decode_variants(void** state)
{
	struct ig_audit_rec r;
	char a[64];
	(void)state;
	/* IPv6, TCP */
	decode_fx(3, &r);
	assert_string_equal(ig_addr_to_text(&r.client, a, sizeof(a)),
		"2001:db8:1:2::5");
	assert_string_equal(ig_protocol_text(r.protocol), "tcp");
	/* monitor mode */
	decode_fx(4, &r);
	assert_string_equal(r.mode, "monitor");
	assert_string_equal(ig_action_text(r.action), "PASS");
	/* another writer: Policy.rule only */
	decode_fx(11, &r);
	assert_true(r.has_policy);
	assert_string_equal(r.reason, "order");
	assert_string_equal(r.id, "ord-x");
	assert_string_equal(r.doc_no, "皖通信安简函〔2022〕83号");
	assert_string_equal(r.mode, "enforce");
	assert_string_equal(r.snapshot, "");
	/* upper case on the wire is folded */
	decode_fx(12, &r);
	assert_string_equal(wtext(r.qname), "www.site-a.cn.");
	/* the summary without a Policy message */
	decode_fx(13, &r);
	assert_true(r.has_policy);
	assert_string_equal(r.policy_type, "");
	assert_string_equal(r.reason, "redirect");
	assert_string_equal(r.id, "reg-1");
	assert_false(r.has_match);
	assert_int_equal(r.action, -1);
	/* a sampled plain answer */
	decode_fx(10, &r);
	assert_false(r.has_policy);
	assert_string_equal(r.reason, "");
	assert_int_equal(r.rcode, 0);
}

static void
test_decode_garbage(void** state)
{
	static const uint8_t junk[] = "\xff\xff\xff not protobuf";
	uint8_t* buf;
	struct ig_audit_rec r;
	const char* err = NULL;
	size_t len, n;
	(void)state;
	assert_false(ig_audit_decode(junk, sizeof(junk) - 1, &r, &err));
	assert_non_null(err);
	/* every truncation of a good frame: refused or decoded, never a
	 * crash (protobuf-c checks its bounds) */
	len = fx_pack(&fx_records[0], &buf);
	for(n = 0; n < len; n++)
		(void)ig_audit_decode(buf, n, &r, &err);
	free(buf);
}

/** one filter run over fixture record n */
static int
match_fx(const struct ig_audit_filter* f, int n)
{
	struct ig_audit_rec r;
	decode_fx(n, &r);
	return ig_audit_filter_match(f, &r);
}

static void
test_filter_time(void** state)
{
	struct ig_audit_filter f;
	(void)state;
	memset(&f, 0, sizeof(f));
	f.has_from = 1;
	f.from = 1714492800; /* 2024-05-01 00:00 +08:00, inclusive */
	f.has_to = 1;
	f.to = 1717171200; /* 2024-06-01 00:00 +08:00, exclusive */
	assert_true(match_fx(&f, 1));
	assert_true(match_fx(&f, 5));
	assert_false(match_fx(&f, 6));
	assert_false(match_fx(&f, 7));
}

static void
test_filter_reason_id(void** state)
{
	struct ig_audit_filter f;
	const char* reasons[] = { "BLACKLIST", "nofiling" };
	const char* ids[] = { "ord-d" };
	(void)state;
	memset(&f, 0, sizeof(f));
	f.reasons = reasons;
	f.nreasons = 2;
	assert_true(match_fx(&f, 8));
	assert_true(match_fx(&f, 9));
	assert_false(match_fx(&f, 1));
	assert_false(match_fx(&f, 10));
	memset(&f, 0, sizeof(f));
	f.ids = ids;
	f.nids = 1;
	assert_true(match_fx(&f, 5));
	assert_false(match_fx(&f, 1));
	memset(&f, 0, sizeof(f));
	f.policy_only = 1;
	assert_true(match_fx(&f, 13));
	assert_false(match_fx(&f, 10));
}

static void
test_filter_client(void** state)
{
	struct ig_audit_filter f;
	struct ig_range r[2];
	const char* err;
	(void)state;
	memset(&f, 0, sizeof(f));
	assert_true(ig_range_parse("10.1.2.0/30", &r[0], &err));
	assert_true(ig_range_parse("2001:db8::/32", &r[1], &err));
	f.clients = r;
	f.nclients = 1;
	assert_true(match_fx(&f, 1));   /* 10.1.2.3 */
	assert_false(match_fx(&f, 2));  /* 10.1.2.4 */
	assert_false(match_fx(&f, 3));  /* IPv6 */
	f.nclients = 2;
	assert_true(match_fx(&f, 3));
	assert_false(match_fx(&f, 8));  /* 192.168.7.9 */
}

/** set one suffix filter from text */
static void
set_suffix(struct ig_audit_filter* f, const char* text,
	uint8_t (*keys)[IG_KEY_MAX], size_t* lens)
{
	uint8_t wire[IG_NAME_MAX];
	size_t wl;
	const char* err;
	if(!ig_name_from_text(text, wire, &wl, &err))
		fail_msg("suffix %s: %s", text, err);
	lens[0] = ig_name_wire_to_key(wire, keys[0], NULL, NULL);
	f->suffix_keys = keys;
	f->suffix_lens = lens;
	f->nsuffixes = 1;
}

static void
test_filter_suffix(void** state)
{
	struct ig_audit_filter f;
	uint8_t keys[1][IG_KEY_MAX];
	size_t lens[1];
	(void)state;
	memset(&f, 0, sizeof(f));
	set_suffix(&f, "Site-A.cn", keys, lens);
	assert_true(match_fx(&f, 1));   /* www.site-a.cn */
	assert_true(match_fx(&f, 2));   /* mail.site-a.cn */
	assert_true(match_fx(&f, 12));  /* WWW.Site-A.CN on the wire */
	assert_false(match_fx(&f, 3));
	/* label boundaries: a.cn is not a suffix of site-a.cn */
	set_suffix(&f, "a.cn", keys, lens);
	assert_false(match_fx(&f, 1));
	/* the name itself is "at" the suffix */
	set_suffix(&f, "www.site-a.cn.", keys, lens);
	assert_true(match_fx(&f, 1));
	assert_false(match_fx(&f, 2));
	/* Unicode: 公司.中国 is xn--55qx5d.xn--fiqs8s */
	set_suffix(&f, "公司.中国", keys, lens);
	assert_true(match_fx(&f, 9));
	assert_false(match_fx(&f, 1));
	/* the root covers everything */
	set_suffix(&f, ".", keys, lens);
	assert_true(match_fx(&f, 1));
}

static void
test_truncate(void** state)
{
	struct ig_addr a;
	char t[64];
	int v4, v6;
	(void)state;
	assert_true(ig_addr_parse("10.1.2.3", &a));
	ig_addr_truncate(&a, 24, 48);
	assert_string_equal(ig_addr_to_text(&a, t, sizeof(t)), "10.1.2.0");
	assert_true(ig_addr_parse("10.1.255.3", &a));
	ig_addr_truncate(&a, 17, 48);
	assert_string_equal(ig_addr_to_text(&a, t, sizeof(t)), "10.1.128.0");
	assert_true(ig_addr_parse("10.1.2.3", &a));
	ig_addr_truncate(&a, 0, 48);
	assert_string_equal(ig_addr_to_text(&a, t, sizeof(t)), "0.0.0.0");
	assert_true(ig_addr_parse("2001:db8:1:2::5", &a));
	ig_addr_truncate(&a, 24, 48);
	assert_string_equal(ig_addr_to_text(&a, t, sizeof(t)), "2001:db8:1::");
	assert_true(ig_addr_parse("2001:db8:1:2::5", &a));
	ig_addr_truncate(&a, 24, 128);
	assert_string_equal(ig_addr_to_text(&a, t, sizeof(t)),
		"2001:db8:1:2::5");
	assert_true(ig_truncate_parse("24", &v4, &v6));
	assert_int_equal(v4, 24);
	assert_int_equal(v6, 48);
	assert_true(ig_truncate_parse("16,32", &v4, &v6));
	assert_int_equal(v4, 16);
	assert_int_equal(v6, 32);
	assert_false(ig_truncate_parse("33", &v4, &v6));
	assert_false(ig_truncate_parse("24,129", &v4, &v6));
	assert_false(ig_truncate_parse("24,", &v4, &v6));
	assert_false(ig_truncate_parse("", &v4, &v6));
	assert_false(ig_truncate_parse("x", &v4, &v6));
	assert_false(ig_truncate_parse("-1", &v4, &v6));
}

static void
test_json_string(void** state)
{
	struct memout m;
	const char in[] = "a\"b\\c\nd\x01" "e\xff" "函号\xe5\xb7";
	(void)state;
	mem_open(&m);
	ig_json_string(m.f, in, sizeof(in) - 1);
	assert_string_equal(mem_close(&m),
		"\"a\\\"b\\\\c\\nd\\u0001e\xef\xbf\xbd函号\xef\xbf\xbd\xef\xbf\xbd\"");
	free(m.buf);
}

static void
test_csv_field(void** state)
{
	struct memout m;
	(void)state;
	mem_open(&m);
	ig_csv_field(m.f, "plain");
	putc('|', m.f);
	ig_csv_field(m.f, "a,b");
	putc('|', m.f);
	ig_csv_field(m.f, "say \"hi\"");
	putc('|', m.f);
	ig_csv_field(m.f, "工信厅信管函〔2022〕65号");
	putc('|', m.f);
	ig_csv_field(m.f, "");
	assert_string_equal(mem_close(&m), "plain|\"a,b\"|\"say \"\"hi\"\"\"|"
		"工信厅信管函〔2022〕65号|");
	free(m.buf);
}

static void
test_print_json_and_csv(void** state)
{
	struct memout m;
	struct ig_audit_rec r;
	struct ig_audit_out o;
	(void)state;
	memset(&o, 0, sizeof(o));
	decode_fx(1, &r);
	mem_open(&m);
	ig_audit_print(m.f, &r, &o);
	assert_string_equal(mem_close(&m), "{\"time\":\"2024-05-01T00:00:00."
		"000000+08:00\",\"unix\":1714492800.000000,\"identity\":"
		"\"test-resolver\",\"client\":\"10.1.2.3\",\"port\":5353,"
		"\"protocol\":\"udp\",\"qname\":\"www.site-a.cn.\",\"qtype\":"
		"\"A\",\"rcode\":\"NXDOMAIN\",\"reason\":\"order\",\"id\":"
		"\"ord-a\",\"doc_no\":\"工信厅信管函〔2024〕1号\",\"match\":"
		"\"site-a.cn.\",\"action\":\"NXDOMAIN\",\"snapshot\":\"7\","
		"\"mode\":\"enforce\",\"policy\":\"icpguard\",\"message\":"
		"\"CR\"}\n");
	free(m.buf);
	/* CSV, truncated client, no port; a plain answer has empty policy
	 * fields */
	o.csv = 1;
	o.truncate = 1;
	o.v4len = 24;
	o.v6len = 48;
	decode_fx(10, &r);
	mem_open(&m);
	ig_audit_print(m.f, &r, &o);
	assert_string_equal(mem_close(&m), "2024-05-17T10:00:00.000000+08:00,"
		"1715911200.000000,test-resolver,10.1.2.0,,udp,www.filed.cn.,A,"
		"NOERROR,,,,,,,,,CR\n");
	free(m.buf);
}

static void
test_names(void** state)
{
	char b[16], t[48];
	(void)state;
	assert_string_equal(ig_rrtype_text(65, b, sizeof(b)), "HTTPS");
	assert_string_equal(ig_rrtype_text(4242, b, sizeof(b)), "TYPE4242");
	assert_string_equal(ig_rcode_text(5, b, sizeof(b)), "REFUSED");
	assert_string_equal(ig_rcode_text(11, b, sizeof(b)), "RCODE11");
	assert_null(ig_action_text(0));
	assert_null(ig_protocol_text(0));
	assert_string_equal(ig_msgtype_text(5), "CQ");
	assert_string_equal(ig_audit_time_text(1714492800, 999999999, t,
		sizeof(t)), "2024-05-01T00:00:00.999999+08:00");
	/* a damaged record's seconds at the ends of int64: no overflow
	 * (UBSan), a plain "?" */
	assert_string_equal(ig_audit_time_text(INT64_MAX, 0, t, sizeof(t)),
		"?");
	assert_string_equal(ig_audit_time_text(INT64_MAX - 8 * 3600 + 1, 0,
		t, sizeof(t)), "?");
	assert_string_equal(ig_audit_time_text(INT64_MIN, 0, t, sizeof(t)),
		"?");
	/* the same for lib's formatter (icpguard info, explain) */
	assert_string_equal(ig_format_time(1714492800, t, 32),
		"2024-05-01T00:00:00+08:00");
	assert_string_equal(ig_format_time(INT64_MAX, t, 32), "?");
	assert_string_equal(ig_format_time(INT64_MAX - 8 * 3600 + 1, t, 32),
		"?");
	assert_string_equal(ig_format_time(INT64_MIN, t, 32), "?");
	assert_string_equal(ig_format_time((int64_t)1 << 50, t, 32),
		"35680317-09-26T02:57:04+08:00");
}

/** ig_parse_time's offsets: exactly +HH:MM (a short one read past the end
 * of the text: tests/fuzz, fuzz_source, orders.csv "effective") */
static void
test_parse_time_offset(void** state)
{
	static const char* const bad[] = { "2022-01-01+1:2", "2022-01-01+08:0",
		"2022-01-01T09:30+8", "2022-01-01+ 8:00", "2022-01-01+-8:00",
		"2022-01-01+24:00", "2022-01-01+08:60", "2022-01-01+08:00x",
		"2022-01-01-", NULL };
	int64_t t;
	int i;
	(void)state;
	assert_int_equal(ig_parse_time("2022-01-01T08:00+08:00", &t), 1);
	assert_int_equal(t, 1640995200);
	assert_int_equal(ig_parse_time("2022-01-01T00:00-05:30", &t), 1);
	assert_int_equal(t, 1640995200 + 5 * 3600 + 30 * 60);
	assert_int_equal(ig_parse_time("2022-01-01T00:00Z", &t), 1);
	assert_int_equal(t, 1640995200);
	for(i = 0; bad[i]; i++) {
		/* a heap copy of the exact length: ASan sees a read past it */
		char* c = strdup(bad[i]);
		assert_int_equal(ig_parse_time(c, &t), 0);
		free(c);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_question_ok),
		cmocka_unit_test(test_question_every_truncation),
		cmocka_unit_test(test_question_pointer_and_empty),
		cmocka_unit_test(test_decode_module_record),
		cmocka_unit_test(test_decode_variants),
		cmocka_unit_test(test_decode_garbage),
		cmocka_unit_test(test_filter_time),
		cmocka_unit_test(test_filter_reason_id),
		cmocka_unit_test(test_filter_client),
		cmocka_unit_test(test_filter_suffix),
		cmocka_unit_test(test_truncate),
		cmocka_unit_test(test_json_string),
		cmocka_unit_test(test_csv_field),
		cmocka_unit_test(test_print_json_and_csv),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_parse_time_offset),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
