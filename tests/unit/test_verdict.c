/*
 * tests/unit/test_verdict.c - unit tests of lib/verdict.c (ig_decide).
 *
 * \file
 * One snapshot, built once for the group, holds a small world with a
 * record for every rule; each test asks ig_decide about names in it and
 * checks the verdict, its reason and the record behind it.  The decision
 * table (first match wins): ORDER, BLACKLIST, EXEMPT, FILING, then for an
 * unfiled name REDIRECT / NOFILING by scope, else PASS (filed, exempt,
 * abroad, pending).
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
#include <strings.h>
#include "lib/verdict.h"
#include "tests/unit/unit_util.h"

/** "now" for most tests */
#define T0 ((int64_t)1700000000)
/** order window.cn: in force from WIN_EFF until WIN_EXP */
#define WIN_EFF ((int64_t)1650000000)
#define WIN_EXP ((int64_t)1660000000)
/** order lifted.cn: effective LIFT_EFF, lifted at LIFT_AT */
#define LIFT_EFF ((int64_t)1600000000)
#define LIFT_AT ((int64_t)1690000000)
/** order future.cn: effective 2099-01-01 00:00 +08:00 */
#define FUTURE ((int64_t)4070880000)

/** the shared world */
static struct {
	struct ut_dir dir;
	char path[512];
	struct ig_snapshot* snap;
	struct ig_view view;
	struct ig_snapshot_info info;
	/** the delta snapshot over the world, when a test lays one on */
	struct ig_view* delta;
} world;

/** one query */
struct q {
	/** QNAME text */
	const char* qname;
	/** alias chain, NULL-terminated */
	const char* alias[IG_CHAIN_MAX + 1];
	/** answer addresses, NULL-terminated */
	const char* addr[8];
	/** 1 when the answer is final (set implicitly by alias/addr) */
	int answered;
	/** scope */
	enum ig_scope scope;
	/** chain check */
	enum ig_chain_check chain;
	/** time, 0 for T0 */
	int64_t now;
	/** raw wire QNAME instead of qname text (not canonicalised) */
	const uint8_t* rawq;
};

/** the last verdict */
static struct ig_verdict V;

/** presentation text of a wire name in one of two static buffers */
static const char*
wtext(const uint8_t* wire)
{
	static char buf[2][1024];
	static int i;
	i = !i;
	return ig_name_wire_to_text(wire, buf[i], sizeof(buf[i]));
}

/** decide a query into V */
static const struct ig_verdict*
run(const struct q* q)
{
	static uint8_t names[IG_CHAIN_MAX + 1][IG_NAME_MAX];
	static struct ig_addr addrs[8];
	struct ig_facts f;
	struct ig_policy_opts o;
	int i, ret;
	memset(&f, 0, sizeof(f));
	memset(&o, 0, sizeof(o));
	if(q->rawq) f.qname = q->rawq;
	else {
		ut_wire(q->qname, names[0]);
		f.qname = names[0];
	}
	for(i = 0; q->alias[i]; i++) {
		ut_wire(q->alias[i], names[1 + i]);
		f.alias[i] = names[1 + i];
	}
	f.nalias = i;
	for(i = 0; q->addr[i]; i++) addrs[i] = ut_addr(q->addr[i]);
	f.addr = addrs;
	f.naddr = i;
	f.answered = q->answered || f.nalias > 0 || f.naddr > 0;
	o.scope = q->scope;
	o.chain = q->chain;
	o.now = q->now ? q->now : T0;
	o.delta = world.delta;
	memset(&V, 0x5a, sizeof(V));
	ret = ig_decide(&world.view, &f, &o, &V);
	assert_int_equal(ret, V.block);
	return &V;
}

/** decide and check block/reason; fails with the query and the result */
static const struct ig_verdict*
expect_at(const struct q* q, int block, enum ig_reason reason, int line)
{
	run(q);
	if(V.block != block || V.reason != reason)
		fail_msg("line %d: %s: got %s %s (%s; %s), want %s %s", line,
			q->rawq ? wtext(q->rawq) : q->qname,
			V.block ? "block" : "pass", ig_reason_name(V.reason),
			wtext(V.match), V.detail, block ? "block" : "pass",
			ig_reason_name(reason));
	return &V;
}
#define EXPECT(q, block, reason) expect_at(q, block, IG_REASON_##reason, \
	__LINE__)
/** a pass / block with a reason */
#define PASS(q, r) EXPECT(q, 0, r)
#define BLOCK(q, r) EXPECT(q, 1, r)

/** build the world */
static int
world_setup(void** state)
{
	struct ig_writer* w;
	uint8_t wire[IG_NAME_MAX];
	static const char* const tlds[] = { "cn", "com", "net", "中国", NULL };
	static const int sub = 1, exact = 0;
	char err[512];
	int i;
	(void)state;
	ut_dir_make(&world.dir);
	ut_dir_file(&world.dir, "world.mdb", world.path);
	w = ut_writer(world.path);
	for(i = 0; tlds[i]; i++) {
		ut_wire(tlds[i], wire);
		assert_true(ig_writer_tld(w, wire));
	}
	/* filings */
	ut_filing(w, "filed.cn", IG_FILING_ACTIVE, "京ICP备16020626号-8");
	ut_filing(w, "filed-cdn.cn", IG_FILING_ACTIVE, "沪ICP备10000001号-1");
	ut_filing(w, "example.com.cn", IG_FILING_ACTIVE,
		"粤ICP备20000002号-2");
	ut_filing(w, "小度.中国", IG_FILING_ACTIVE, "京ICP备30000003号-1");
	ut_filing(w, "cancelled.cn", IG_FILING_CANCELLED,
		"浙ICP备40000004号-1");
	ut_filing(w, "revoked.cn", IG_FILING_REVOKED, "苏ICP备50000005号-1");
	ut_filing(w, "both.cn", IG_FILING_ACTIVE, "京ICP备60000006号-1");
	ut_filing(w, "blfiled.cn", IG_FILING_ACTIVE, "京ICP备60000007号-1");
	ut_filing(w, "filed-ordered.cn", IG_FILING_ACTIVE,
		"京ICP备60000008号-1");
	ut_filing(w, "excancel.cn", IG_FILING_CANCELLED,
		"京ICP备60000009号-1");
	/* orders */
	{
		static const char* const t_sub[] = { "ordered.cn" };
		static const char* const t_exact[] = { "exact-order.cn" };
		static const char* const t_both[] = { "both.cn",
			"filed-ordered.cn" };
		static const int s_both[] = { 1, 1 };
		static const char* const t_win[] = { "window.cn" };
		static const char* const t_lift[] = { "lifted.cn" };
		static const char* const t_fut[] = { "future.cn" };
		ut_order(w, "ord-demo-1", "工信厅信管函〔2022〕65号",
			"工业和信息化部网络安全管理局", "涉嫌诈骗",
			T0 - 86400, 0, 0, t_sub, &sub, 1);
		ut_order(w, "ord-exact", "皖通信安简函〔2022〕83号",
			"安徽省通信管理局", "涉嫌赌博", T0 - 86400, 0, 0,
			t_exact, &exact, 1);
		ut_order(w, "ord-both", "工信厅信管函〔2023〕1号",
			"工业和信息化部网络安全管理局", "违法违规",
			T0 - 86400, 0, 0, t_both, s_both, 2);
		ut_order(w, "ord-window", "工信厅信管函〔2022〕2号",
			"工业和信息化部网络安全管理局", "涉嫌诈骗",
			WIN_EFF, WIN_EXP, 0, t_win, &sub, 1);
		ut_order(w, "ord-lifted", "工信厅信管函〔2022〕3号",
			"工业和信息化部网络安全管理局", "涉嫌诈骗",
			LIFT_EFF, 0, LIFT_AT, t_lift, &sub, 1);
		ut_order(w, "ord-demo-future", "工信厅信管函〔2099〕1号",
			"工业和信息化部网络安全管理局", "涉嫌诈骗",
			FUTURE, 0, 0, t_fut, &sub, 1);
	}
	/* blacklist */
	ut_blacklist(w, "bad.cn", 1, "涉嫌诈骗", "CNCERT");
	ut_blacklist(w, "exact-bad.cn", 0, "钓鱼", "CNCERT");
	ut_blacklist(w, "both.cn", 1, "违法", "CNCERT");
	ut_blacklist(w, "blexempt.cn", 1, "违法", "CNCERT");
	ut_blacklist(w, "blfiled.cn", 1, "违法", "CNCERT");
	/* exemptions */
	ut_exempt(w, "infra.isp.cn", 1, "operator infrastructure");
	ut_exempt(w, "exact-infra.cn", 0, "one host");
	ut_exempt(w, "blexempt.cn", 1, "exempt but blacklisted");
	ut_exempt(w, "both.cn", 1, "exempt but ordered");
	ut_exempt(w, "excancel.cn", 1, "exempt with a cancelled filing");
	/* domestic: 1.0.1.0 + 1000 addresses, and 240e::/20 */
	{
		struct ig_addr a = ut_addr("1.0.1.0");
		struct ig_range r;
		assert_true(ig_range_from_v4_count(&a, 1000, &r));
		assert_true(ig_writer_range(w, IG_RANGE_DOMESTIC, &r, "apnic"));
	}
	ut_range(w, IG_RANGE_DOMESTIC, "240e::/20", "apnic");
	/* registrar endpoints: one abroad, one inside a domestic range */
	{
		struct ig_registrar ra = { "reg-a", "注册商甲" };
		struct ig_registrar rb = { "reg-b", "注册商乙" };
		assert_true(ig_writer_registrar(w, &ra));
		assert_true(ig_writer_registrar(w, &rb));
	}
	ut_range(w, IG_RANGE_REDIRECT, "203.0.113.0/24", "reg-a");
	ut_range(w, IG_RANGE_REDIRECT, "1.0.2.0-1.0.2.15", "reg-b");
	ut_redirect_host(w, "fwd.registrar-a.cn", "reg-a");
	if(!ig_writer_publish(w, 77, &world.info, err, sizeof(err)))
		fail_msg("publish: %s", err);
	if(!ig_snapshot_open(world.path, &world.snap, err, sizeof(err)))
		fail_msg("open: %s", err);
	if(!ig_view_begin(world.snap, &world.view))
		fail_msg("view");
	return 0;
}

static int
world_teardown(void** state)
{
	(void)state;
	ig_view_end(&world.view);
	ig_snapshot_unref(world.snap);
	ut_dir_remove(&world.dir);
	return 0;
}

/* ---------------------------------------------------------------- */

static void
test_reason_names(void** state)
{
	int i;
	(void)state;
	assert_string_equal(ig_reason_name(IG_REASON_FILED), "filed");
	assert_string_equal(ig_reason_name(IG_REASON_REDIRECT), "redirect");
	assert_string_equal(ig_reason_name(IG_REASON_COUNT), "?");
	for(i = 0; i < IG_REASON_COUNT; i++)
		assert_int_equal(ig_reason_parse(ig_reason_name(
			(enum ig_reason)i)), i);
	assert_int_equal(ig_reason_parse("Filed"), -1);
	assert_int_equal(ig_reason_parse(""), -1);
}

static void
test_filed_pass(void** state)
{
	struct q q = { .qname = "filed.cn" };
	char want[40];
	(void)state;
	PASS(&q, FILED);
	assert_string_equal(wtext(V.name), "filed.cn.");
	assert_string_equal(wtext(V.match), "filed.cn.");
	assert_string_equal(V.id, "京ICP备16020626号-8");
	assert_string_equal(V.doc_no, "");
	/* the verdict names the snapshot it came from */
	assert_int_equal(V.serial, 77);
	snprintf(want, sizeof(want), "77-%.12s", world.info.hash);
	assert_string_equal(V.snapshot, want);
	/* a filed name passes whatever the scope and the addresses */
	q.scope = IG_SCOPE_ALL;
	q.addr[0] = "1.0.1.1";
	PASS(&q, FILED);
}

static void
test_subdomain_inherits(void** state)
{
	struct q q = { .qname = "a.b.www.filed.cn",
		.addr = { "1.0.1.1" } };
	(void)state;
	PASS(&q, FILED);
	assert_string_equal(wtext(V.name), "a.b.www.filed.cn.");
	assert_string_equal(wtext(V.match), "filed.cn.");
	assert_string_equal(V.id, "京ICP备16020626号-8");
}

static void
test_sibling_not_inherited(void** state)
{
	/* a name that only ends in the same letters is no subdomain */
	struct q q = { .qname = "unfiled.cn", .scope = IG_SCOPE_ALL };
	(void)state;
	BLOCK(&q, NOFILING);
	q.qname = "xfiled.cn";
	BLOCK(&q, NOFILING);
	q.qname = "filed.cn.cn";
	BLOCK(&q, NOFILING);
	assert_string_equal(wtext(V.name), "filed.cn.cn.");
	assert_string_equal(wtext(V.match), ".");
	assert_string_equal(V.id, "");
}

static void
test_multilabel_public_suffix(void** state)
{
	struct q q = { .qname = "www.example.com.cn",
		.addr = { "1.0.1.1" } };
	(void)state;
	PASS(&q, FILED);
	assert_string_equal(wtext(V.match), "example.com.cn.");
	assert_string_equal(V.id, "粤ICP备20000002号-2");
	/* another registrable domain under com.cn has no filing */
	q.qname = "other.com.cn";
	BLOCK(&q, NOFILING);
	/* com.cn itself is a public suffix, never registrable: exempt */
	q.qname = "com.cn";
	q.scope = IG_SCOPE_ALL;
	PASS(&q, EXEMPT);
}

static void
test_gov_cn(void** state)
{
	struct q q = { .qname = "gov.cn", .scope = IG_SCOPE_ALL,
		.addr = { "1.0.1.1" } };
	(void)state;
	PASS(&q, EXEMPT);
	q.qname = "www.beijing.gov.cn";
	BLOCK(&q, NOFILING);
	assert_string_equal(wtext(V.name), "www.beijing.gov.cn.");
}

static void
test_idn_equivalence(void** state)
{
	struct q q = { .qname = "小度.中国", .scope = IG_SCOPE_ALL };
	(void)state;
	PASS(&q, FILED);
	assert_string_equal(wtext(V.match), "xn--yet23d.xn--fiqs8s.");
	assert_string_equal(V.id, "京ICP备30000003号-1");
	q.qname = "xn--yet23d.xn--fiqs8s";
	PASS(&q, FILED);
	q.qname = "WWW.小度.中国.";
	PASS(&q, FILED);
	q.qname = "XN--YET23D.XN--FIQS8S";
	PASS(&q, FILED);
	/* another IDN under the same TLD is not filed */
	q.qname = "备案.中国";
	BLOCK(&q, NOFILING);
}

static void
test_case_equivalence(void** state)
{
	static const uint8_t raw[] = "\3WWW\7EXAMPLE\3COM\2Cn";
	static const uint8_t rawf[] = "\3Www\5FILED\2CN";
	struct q q = { .qname = "WWW.Example.COM.CN", .scope = IG_SCOPE_ALL };
	(void)state;
	PASS(&q, FILED);
	/* wire names straight off the network, not lower-cased first */
	q.rawq = raw;
	PASS(&q, FILED);
	/* the match keeps the query's case; it is the same name */
	assert_int_equal(strcasecmp(wtext(V.match), "example.com.cn."), 0);
	assert_string_equal(V.id, "粤ICP备20000002号-2");
	q.rawq = rawf;
	PASS(&q, FILED);
}

static void
test_uppercase_wire_public_suffix(void** state)
{
	/* a public suffix queried in upper case (0x20 mixing, or a client
	 * that just types it so) is still exempt */
	static const uint8_t raw[] = "\3COM\2CN";
	static const uint8_t rawgov[] = "\3Gov\2cN";
	struct q q = { .rawq = raw, .scope = IG_SCOPE_ALL };
	(void)state;
	PASS(&q, EXEMPT);
	q.rawq = rawgov;
	PASS(&q, EXEMPT);
}

static void
test_cancelled_filing(void** state)
{
	struct q q = { .qname = "www.cancelled.cn", .scope = IG_SCOPE_ALL };
	(void)state;
	BLOCK(&q, NOFILING);
	assert_true(ut_contains(V.detail, "cancelled"));
	assert_string_equal(V.id, "浙ICP备40000004号-1");
	assert_string_equal(wtext(V.match), "cancelled.cn.");
	q.scope = IG_SCOPE_DOMESTIC;
	q.addr[0] = "1.0.1.1";
	BLOCK(&q, NOFILING);
	q.addr[0] = "8.8.8.8";
	PASS(&q, ABROAD);
}

static void
test_revoked_filing(void** state)
{
	struct q q = { .qname = "revoked.cn", .addr = { "240e::1" } };
	(void)state;
	BLOCK(&q, NOFILING);
	assert_true(ut_contains(V.detail, "revoked"));
	assert_string_equal(V.id, "苏ICP备50000005号-1");
	q.addr[0] = NULL;
	PASS(&q, PENDING);
}

static void
test_unfiled_domestic_scope(void** state)
{
	struct q q = { .qname = "unfiled.cn" };
	(void)state;
	/* before resolution: decided by the answer */
	PASS(&q, PENDING);
	q.addr[0] = "1.0.1.1";
	BLOCK(&q, NOFILING);
	assert_true(ut_contains(V.detail, "domestic address 1.0.1.1"));
	assert_string_equal(wtext(V.name), "unfiled.cn.");
	q.addr[0] = "8.8.8.8";
	PASS(&q, ABROAD);
	assert_string_equal(V.id, "");
	/* one domestic address among foreign ones is enough */
	q.addr[1] = "2001:4860::8888";
	q.addr[2] = "1.0.4.1";
	BLOCK(&q, NOFILING);
	/* an empty final answer (NODATA) has nothing domestic */
	memset(q.addr, 0, sizeof(q.addr));
	q.answered = 1;
	PASS(&q, ABROAD);
}

static void
test_scope_all_before_resolution(void** state)
{
	struct q q = { .qname = "unfiled.cn", .scope = IG_SCOPE_ALL };
	(void)state;
	BLOCK(&q, NOFILING);
	q.addr[0] = "8.8.8.8";
	BLOCK(&q, NOFILING);
}

static void
test_domestic_range_edges(void** state)
{
	static const struct { const char* a; int dom; } c[] = {
		{ "1.0.0.255", 0 }, { "1.0.1.0", 1 }, { "1.0.4.231", 1 },
		{ "1.0.4.232", 0 }, { "1.0.3.255", 1 }, { "1.0.4.0", 1 },
	};
	size_t i;
	(void)state;
	for(i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct q q = { .qname = "unfiled.cn", .addr = { c[i].a } };
		run(&q);
		if(V.block != c[i].dom)
			fail_msg("%s: got %s, want %s", c[i].a,
				ig_reason_name(V.reason), c[i].dom ?
				"nofiling" : "abroad");
		assert_int_equal(V.reason, c[i].dom ? IG_REASON_NOFILING :
			IG_REASON_ABROAD);
	}
}

static void
test_domestic_ipv6(void** state)
{
	struct q q = { .qname = "unfiled.cn", .addr = { "240e::" } };
	(void)state;
	BLOCK(&q, NOFILING);
	q.addr[0] = "240e:fff:ffff:ffff:ffff:ffff:ffff:ffff";
	BLOCK(&q, NOFILING);
	q.addr[0] = "240e:1000::";
	PASS(&q, ABROAD);
	q.addr[0] = "240d:ffff:ffff:ffff:ffff:ffff:ffff:ffff";
	PASS(&q, ABROAD);
}

static void
test_order_subtree(void** state)
{
	struct q q = { .qname = "ordered.cn" };
	(void)state;
	BLOCK(&q, ORDER);
	assert_string_equal(V.id, "ord-demo-1");
	assert_string_equal(V.doc_no, "工信厅信管函〔2022〕65号");
	assert_true(ut_contains(V.detail, "工业和信息化部网络安全管理局"));
	assert_true(ut_contains(V.detail, "涉嫌诈骗"));
	assert_string_equal(wtext(V.match), "ordered.cn.");
	q.qname = "a.b.ordered.cn";
	BLOCK(&q, ORDER);
	assert_string_equal(wtext(V.name), "a.b.ordered.cn.");
	assert_string_equal(wtext(V.match), "ordered.cn.");
	/* an order blocks before resolution, whatever the scope */
	q.addr[0] = "8.8.8.8";
	BLOCK(&q, ORDER);
}

static void
test_order_exact_only(void** state)
{
	struct q q = { .qname = "exact-order.cn" };
	(void)state;
	BLOCK(&q, ORDER);
	assert_string_equal(V.id, "ord-exact");
	assert_string_equal(V.doc_no, "皖通信安简函〔2022〕83号");
	q.qname = "www.exact-order.cn";
	PASS(&q, PENDING);
}

static void
test_order_beats_blacklist_exempt_filing(void** state)
{
	/* both.cn is filed, exempt, blacklisted and ordered */
	struct q q = { .qname = "www.both.cn" };
	(void)state;
	BLOCK(&q, ORDER);
	assert_string_equal(V.id, "ord-both");
	q.qname = "filed-ordered.cn";
	BLOCK(&q, ORDER);
	assert_string_equal(wtext(V.match), "filed-ordered.cn.");
}

static void
test_order_effective_edges(void** state)
{
	struct q q = { .qname = "window.cn", .scope = IG_SCOPE_ALL };
	(void)state;
	q.now = WIN_EFF - 1;
	BLOCK(&q, NOFILING);
	q.now = WIN_EFF;            /* exactly at effective: in force */
	BLOCK(&q, ORDER);
	assert_string_equal(V.id, "ord-window");
	q.now = WIN_EXP - 1;
	BLOCK(&q, ORDER);
	q.now = WIN_EXP;            /* exactly at expiry: no longer */
	BLOCK(&q, NOFILING);
	q.now = T0;
	q.scope = IG_SCOPE_DOMESTIC;
	PASS(&q, PENDING);
}

static void
test_order_lifted_edges(void** state)
{
	struct q q = { .qname = "www.lifted.cn" };
	(void)state;
	q.now = LIFT_AT - 1;
	BLOCK(&q, ORDER);
	assert_string_equal(V.id, "ord-lifted");
	q.now = LIFT_AT;
	PASS(&q, PENDING);
	q.now = T0;
	PASS(&q, PENDING);
}

static void
test_order_future(void** state)
{
	struct q q = { .qname = "future.cn" };
	(void)state;
	PASS(&q, PENDING);
	q.now = FUTURE;
	BLOCK(&q, ORDER);
	assert_string_equal(V.id, "ord-demo-future");
}

static void
test_order_on_alias(void** state)
{
	struct q q = { .qname = "filed.cn", .alias = { "cdn.ordered.cn" },
		.addr = { "8.8.8.8" } };
	(void)state;
	BLOCK(&q, ORDER);
	assert_string_equal(wtext(V.name), "cdn.ordered.cn.");
	assert_string_equal(wtext(V.match), "ordered.cn.");
	assert_string_equal(V.doc_no, "工信厅信管函〔2022〕65号");
}

static void
test_blacklist_subtree(void** state)
{
	struct q q = { .qname = "bad.cn" };
	(void)state;
	BLOCK(&q, BLACKLIST);
	assert_string_equal(V.detail, "涉嫌诈骗");
	assert_string_equal(V.id, "CNCERT");
	q.qname = "x.y.BAD.cn";
	BLOCK(&q, BLACKLIST);
	assert_string_equal(wtext(V.match), "bad.cn.");
	q.qname = "notbad.cn";
	PASS(&q, PENDING);
}

static void
test_blacklist_exact_only(void** state)
{
	struct q q = { .qname = "exact-bad.cn" };
	(void)state;
	BLOCK(&q, BLACKLIST);
	assert_string_equal(V.detail, "钓鱼");
	q.qname = "www.exact-bad.cn";
	PASS(&q, PENDING);
}

static void
test_blacklist_beats_exempt_and_filing(void** state)
{
	struct q q = { .qname = "www.blexempt.cn" };
	(void)state;
	BLOCK(&q, BLACKLIST);
	q.qname = "blfiled.cn";
	BLOCK(&q, BLACKLIST);
	assert_string_equal(wtext(V.match), "blfiled.cn.");
}

static void
test_blacklisted_alias_target(void** state)
{
	/* the final target needs no filing, but a blacklist covers it */
	struct q q = { .qname = "www.filed.cn",
		.alias = { "edge.filed-cdn.cn", "node.bad.cn" },
		.addr = { "8.8.8.8" } };
	(void)state;
	BLOCK(&q, BLACKLIST);
	assert_string_equal(wtext(V.name), "node.bad.cn.");
	assert_string_equal(wtext(V.match), "bad.cn.");
}

static void
test_aliases_ignored_before_answer(void** state)
{
	/* with answered = 0 the chain is not known yet */
	struct q q = { .qname = "filed.cn", .alias = { "node.bad.cn" } };
	struct ig_facts f;
	struct ig_policy_opts o = { IG_SCOPE_DOMESTIC, IG_CHAIN_ALL, T0 };
	uint8_t qn[IG_NAME_MAX], al[IG_NAME_MAX];
	(void)state;
	BLOCK(&q, BLACKLIST);
	memset(&f, 0, sizeof(f));
	ut_wire(q.qname, qn);
	ut_wire(q.alias[0], al);
	f.qname = qn;
	f.alias[0] = al;
	f.nalias = 1;
	f.answered = 0;
	assert_int_equal(ig_decide(&world.view, &f, &o, &V), 0);
	assert_int_equal(V.reason, IG_REASON_FILED);
}

static void
test_exempt_operator_subtree(void** state)
{
	struct q q = { .qname = "infra.isp.cn", .scope = IG_SCOPE_ALL,
		.addr = { "1.0.1.1" } };
	(void)state;
	PASS(&q, EXEMPT);
	assert_string_equal(wtext(V.match), "infra.isp.cn.");
	q.qname = "ns1.dc2.infra.isp.cn";
	PASS(&q, EXEMPT);
	assert_string_equal(wtext(V.match), "infra.isp.cn.");
	/* the parent is not covered */
	q.qname = "isp.cn";
	BLOCK(&q, NOFILING);
}

static void
test_exempt_exact_only(void** state)
{
	struct q q = { .qname = "exact-infra.cn", .scope = IG_SCOPE_ALL };
	(void)state;
	PASS(&q, EXEMPT);
	q.qname = "www.exact-infra.cn";
	BLOCK(&q, NOFILING);
}

static void
test_exempt_beats_filing(void** state)
{
	/* exempt with a cancelled filing: the exemption decides */
	struct q q = { .qname = "www.excancel.cn", .scope = IG_SCOPE_ALL };
	(void)state;
	PASS(&q, EXEMPT);
}

static void
test_exempt_builtin(void** state)
{
	static const char* const names[] = { ".", "arpa",
		"1.0.0.127.in-addr.arpa", "8.b.d.0.1.0.0.2.ip6.arpa", "cn",
		"中国", "com", "xyz", NULL };
	int i;
	(void)state;
	for(i = 0; names[i]; i++) {
		struct q q = { .qname = names[i], .scope = IG_SCOPE_ALL,
			.addr = { "1.0.1.1" } };
		PASS(&q, EXEMPT);
		assert_string_equal(wtext(V.match), ".");
	}
}

static void
test_tld_not_filable(void** state)
{
	struct q q = { .qname = "shop.xyz", .scope = IG_SCOPE_ALL };
	(void)state;
	BLOCK(&q, NOFILING);
	assert_true(ut_contains(V.detail, "filable"));
	q.qname = "unfiled.cn";
	BLOCK(&q, NOFILING);
	assert_false(ut_contains(V.detail, "filable"));
}

static void
test_alias_unfiled_qname_not_laundered(void** state)
{
	/* unfiled.cn CNAME filed-cdn.cn: the filed target does not help */
	struct q q = { .qname = "unfiled.cn", .alias = { "filed-cdn.cn" },
		.addr = { "1.0.1.1" } };
	(void)state;
	BLOCK(&q, NOFILING);
	assert_string_equal(wtext(V.name), "unfiled.cn.");
	q.addr[0] = "8.8.8.8";
	PASS(&q, ABROAD);
}

static void
test_alias_owner_unfiled_mid_chain(void** state)
{
	struct q q = { .qname = "www.filed.cn",
		.alias = { "mid.unfiled-mid.cn", "edge.filed-cdn.cn" },
		.addr = { "1.0.1.1" } };
	(void)state;
	BLOCK(&q, NOFILING);
	assert_string_equal(wtext(V.name), "mid.unfiled-mid.cn.");
	/* option: only the QNAME needs a filing */
	q.chain = IG_CHAIN_QNAME;
	PASS(&q, FILED);
	assert_string_equal(wtext(V.match), "filed.cn.");
}

static void
test_alias_final_target_unfiled_passes(void** state)
{
	/* only the QNAME and alias owners need filing, not the target */
	struct q q = { .qname = "www.filed.cn",
		.alias = { "edge.filed-cdn.cn", "node.unfiled-cdn.com" },
		.addr = { "1.0.1.1" } };
	(void)state;
	PASS(&q, FILED);
	q.alias[0] = "node.unfiled-cdn.com";
	q.alias[1] = NULL;
	PASS(&q, FILED);
}

static void
test_alias_chain_qname_option_keeps_qname(void** state)
{
	/* with the QNAME-only option an unfiled QNAME still blocks */
	struct q q = { .qname = "unfiled.cn", .alias = { "filed-cdn.cn" },
		.addr = { "1.0.1.1" }, .chain = IG_CHAIN_QNAME };
	(void)state;
	BLOCK(&q, NOFILING);
	assert_string_equal(wtext(V.name), "unfiled.cn.");
}

static void
test_exempt_alias_owner(void** state)
{
	struct q q = { .qname = "www.filed.cn",
		.alias = { "lb.infra.isp.cn", "node.unfiled-cdn.com" },
		.addr = { "1.0.1.1" } };
	(void)state;
	PASS(&q, FILED);
}

static void
test_long_chain(void** state)
{
	struct q q = { .qname = "filed.cn", .addr = { "1.0.1.1" } };
	char names[IG_CHAIN_MAX][32];
	int i;
	(void)state;
	for(i = 0; i < IG_CHAIN_MAX; i++) {
		snprintf(names[i], sizeof(names[i]), "hop%d.filed-cdn.cn", i);
		q.alias[i] = names[i];
	}
	PASS(&q, FILED);
	/* an unfiled owner deep in the chain is found */
	snprintf(names[IG_CHAIN_MAX - 2], sizeof(names[0]), "deep.unfiled.cn");
	BLOCK(&q, NOFILING);
	assert_string_equal(wtext(V.name), "deep.unfiled.cn.");
	/* and a blacklisted final target */
	snprintf(names[IG_CHAIN_MAX - 2], sizeof(names[0]), "ok.filed-cdn.cn");
	snprintf(names[IG_CHAIN_MAX - 1], sizeof(names[0]), "end.bad.cn");
	BLOCK(&q, BLACKLIST);
}

static void
test_redirect_by_range(void** state)
{
	struct q q = { .qname = "unfiled.cn", .addr = { "203.0.113.9" } };
	(void)state;
	BLOCK(&q, REDIRECT);
	assert_string_equal(V.id, "reg-a");
	assert_true(ut_contains(V.detail, "203.0.113.9"));
	assert_string_equal(wtext(V.name), "unfiled.cn.");
	q.scope = IG_SCOPE_ALL;
	BLOCK(&q, REDIRECT);
	/* range edges */
	q.addr[0] = "203.0.113.0";
	BLOCK(&q, REDIRECT);
	q.addr[0] = "203.0.113.255";
	BLOCK(&q, REDIRECT);
	q.scope = IG_SCOPE_DOMESTIC;
	q.addr[0] = "203.0.114.0";
	PASS(&q, ABROAD);
	q.addr[0] = "203.0.112.255";
	PASS(&q, ABROAD);
}

/* ig_addrs_matter agrees with ig_decide: for a QNAME pending before the
 * answer and an answer without aliases, 0 exactly when the verdict on the
 * answer is a pass (abroad) */
static void
test_addrs_matter_agrees(void** state)
{
	static const char* const addrs[] = { "8.8.8.8", "1.0.1.1",
		"1.0.1.0", "1.0.4.232", "1.0.4.231", "203.0.113.9",
		"1.0.2.3", "2001:4860::8888", "240e::1", "203.0.114.0",
		"203.0.112.255", NULL };
	int i;
	(void)state;
	for(i = 0; addrs[i]; i++) {
		struct q q = { .qname = "unfiled.cn" };
		struct ig_addr a = ut_addr(addrs[i]);
		int m = ig_addrs_matter(&world.view, &a, 1);
		q.addr[0] = addrs[i];
		run(&q);
		if(m != V.block)
			fail_msg("%s: ig_addrs_matter %d, ig_decide %s %s",
				addrs[i], m, V.block ? "block" : "pass",
				ig_reason_name(V.reason));
		if(!m) assert_int_equal(V.reason, IG_REASON_ABROAD);
	}
	assert_int_equal(ig_addrs_matter(&world.view, NULL, 0), 0);
}

static void
test_redirect_beats_domestic(void** state)
{
	/* a redirect endpoint inside a domestic range: reason redirect */
	struct q q = { .qname = "unfiled.cn", .addr = { "1.0.1.1", "1.0.2.5" } };
	(void)state;
	BLOCK(&q, REDIRECT);
	assert_string_equal(V.id, "reg-b");
	q.addr[1] = "1.0.2.16";
	BLOCK(&q, NOFILING);
}

static void
test_redirect_by_alias_host(void** state)
{
	struct q q = { .qname = "unfiled.cn", .alias = { "fwd.registrar-a.cn" },
		.addr = { "8.8.8.8" } };
	(void)state;
	BLOCK(&q, REDIRECT);
	assert_string_equal(V.id, "reg-a");
	assert_string_equal(wtext(V.name), "unfiled.cn.");
	assert_string_equal(wtext(V.match), "fwd.registrar-a.cn.");
	assert_true(ut_contains(V.detail, "fwd.registrar-a.cn"));
	/* below the endpoint host too, and under scope all */
	q.alias[0] = "unfiled-cn.fwd.registrar-a.cn";
	q.scope = IG_SCOPE_ALL;
	BLOCK(&q, REDIRECT);
	assert_string_equal(wtext(V.match), "fwd.registrar-a.cn.");
	/* a sibling host is not an endpoint */
	q.alias[0] = "www.registrar-a.cn";
	q.scope = IG_SCOPE_DOMESTIC;
	PASS(&q, ABROAD);
}

static void
test_redirect_filed_chain_passes(void** state)
{
	struct q q = { .qname = "filed.cn", .addr = { "203.0.113.9" } };
	(void)state;
	PASS(&q, FILED);
	q.alias[0] = "fwd.registrar-a.cn";
	q.scope = IG_SCOPE_ALL;
	PASS(&q, FILED);
}

static void
test_redirect_needs_answer(void** state)
{
	/* before resolution there is no endpoint to see: plain nofiling */
	struct q q = { .qname = "unfiled.cn", .scope = IG_SCOPE_ALL };
	(void)state;
	BLOCK(&q, NOFILING);
	q.qname = "cancelled.cn";
	q.addr[0] = "203.0.113.1";
	BLOCK(&q, REDIRECT);
	assert_string_equal(wtext(V.match), "cancelled.cn.");
}

/* ---------------------------------------------------------------- */
/* The delta layer (docs/snapshot.md, "The delta layer")              */

/** a delta snapshot over base written at path (serial 3): filings added,
 * changed and removed, blacklist entries added and removed */
static struct ig_snapshot*
delta_make(const struct ig_snapshot_info* base, const char* path)
{
	struct ig_writer* w = ut_writer(path);
	uint8_t wire[IG_NAME_MAX];
	static const char* const marks[] = { "newfiled.cn", "filed-cdn.cn",
		"cancelled.cn", "newbad.cn", "bad.cn", "blfiled.cn",
		"filed-ordered.cn", "excancel.cn", "x.filed.cn", "y.filed.cn",
		NULL };
	int i;
	assert_true(ig_writer_delta_base(w, base));
	for(i = 0; marks[i]; i++) {
		ut_wire(marks[i], wire);
		assert_true(ig_writer_delta_name(w, wire));
	}
	ut_filing(w, "newfiled.cn", IG_FILING_ACTIVE, "京ICP备70000001号-1");
	ut_filing(w, "cancelled.cn", IG_FILING_ACTIVE, "浙ICP备40000004号-2");
	ut_filing(w, "blfiled.cn", IG_FILING_ACTIVE, "京ICP备60000007号-1");
	ut_filing(w, "excancel.cn", IG_FILING_ACTIVE, "京ICP备60000009号-2");
	ut_filing(w, "x.filed.cn", IG_FILING_ACTIVE, "京ICP备70000002号-1");
	ut_blacklist(w, "newbad.cn", 1, "新增", "CNCERT-delta");
	return ut_publish_open(w, path, 3);
}

/** one query over the world with the delta laid on, and what it gives */
struct delta_case {
	/** QNAME */
	const char* qname;
	/** scope */
	enum ig_scope scope;
	/** expected block, reason, and record id ("" : not checked) */
	int block;
	/** reason */
	enum ig_reason reason;
	/** record id */
	const char* id;
};

/** a delta's new values, its removal marks, and what it leaves alone */
static void
test_delta_layer(void** state)
{
	static const struct delta_case cases[] = {
		/* a new filing */
		{ "newfiled.cn", IG_SCOPE_ALL, 0, IG_REASON_FILED,
			"京ICP备70000001号-1" },
		/* a removal mark hides the base's filing */
		{ "www.filed-cdn.cn", IG_SCOPE_ALL, 1, IG_REASON_NOFILING, "" },
		/* a changed filing: cancelled, now active */
		{ "cancelled.cn", IG_SCOPE_ALL, 0, IG_REASON_FILED,
			"浙ICP备40000004号-2" },
		/* a new blacklist entry, read from the delta */
		{ "www.newbad.cn", IG_SCOPE_ALL, 1, IG_REASON_BLACKLIST,
			"CNCERT-delta" },
		/* a blacklist entry removed: bad.cn is now merely unfiled */
		{ "www.bad.cn", IG_SCOPE_ALL, 1, IG_REASON_NOFILING, "" },
		{ "www.bad.cn", IG_SCOPE_DOMESTIC, 0, IG_REASON_PENDING, "" },
		/* filed and blacklisted; the delta keeps only the filing */
		{ "blfiled.cn", IG_SCOPE_ALL, 0, IG_REASON_FILED, "" },
		/* an order stays in the base's hands: the delta removed the
		 * filing, the order still blocks, named with both */
		{ "filed-ordered.cn", IG_SCOPE_ALL, 1, IG_REASON_ORDER,
			"ord-both" },
		/* so does an exemption */
		{ "excancel.cn", IG_SCOPE_ALL, 0, IG_REASON_EXEMPT, "" },
		/* a deeper filing in the delta wins below it; a removal mark
		 * where the base has nothing leaves the base's filing */
		{ "a.x.filed.cn", IG_SCOPE_ALL, 0, IG_REASON_FILED,
			"京ICP备70000002号-1" },
		{ "a.y.filed.cn", IG_SCOPE_ALL, 0, IG_REASON_FILED,
			"京ICP备16020626号-8" },
		/* names the delta does not hold: as in the base */
		{ "filed.cn", IG_SCOPE_ALL, 0, IG_REASON_FILED,
			"京ICP备16020626号-8" },
		{ "www.exact-bad.cn", IG_SCOPE_ALL, 1, IG_REASON_NOFILING, "" },
		{ "exact-bad.cn", IG_SCOPE_ALL, 1, IG_REASON_BLACKLIST, "" },
	};
	struct q q = { .qname = "newfiled.cn", .scope = IG_SCOPE_ALL };
	struct ig_snapshot* d;
	struct ig_view dv;
	char path[512], want[IG_SNAPSHOT_IDENT_MAX];
	size_t i;
	int pass;
	(void)state;
	d = delta_make(&world.info, ut_dir_file(&world.dir, "delta.mdb",
		path));
	assert_true(ig_snapshot_info(d)->is_delta);
	assert_int_equal(ig_snapshot_info(d)->base_serial, 77);
	assert_int_equal(ig_snapshot_info(d)->delta_names, 10);
	assert_true(ig_snapshot_delta_over(d, world.snap));
	assert_false(ig_snapshot_delta_over(world.snap, d));
	assert_true(ig_view_begin(d, &dv));
	snprintf(want, sizeof(want), "77-%.12s+3-%.12s", world.info.hash,
		ig_snapshot_info(d)->hash);
	/* the second time through both walk the B-tree instead of the hash
	 * index */
	for(pass = 0; pass < 2; pass++) {
		world.view.no_index = dv.no_index = pass;
		world.delta = NULL;
		q.qname = "newfiled.cn";
		q.scope = IG_SCOPE_ALL;
		BLOCK(&q, NOFILING);
		world.delta = &dv;
		for(i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
			q.qname = cases[i].qname;
			q.scope = cases[i].scope;
			expect_at(&q, cases[i].block, cases[i].reason, __LINE__);
			if(cases[i].id[0])
				assert_string_equal(V.id, cases[i].id);
			assert_int_equal(V.serial, 77);
			assert_string_equal(V.snapshot, want);
		}
	}
	world.view.no_index = 0;
	world.delta = NULL;
	ig_view_end(&dv);
	ig_snapshot_unref(d);
}

/** a filing the delta removes uncovers one higher up in the base; an
 * empty delta holds no names */
static void
test_delta_uncovers_base_filing(void** state)
{
	struct ig_snapshot* b, *d, *e;
	struct ig_view bv, dv;
	struct ig_writer* w;
	struct ig_facts f;
	struct ig_policy_opts o;
	uint8_t wire[IG_NAME_MAX], q[IG_NAME_MAX];
	char bpath[512], dpath[512], epath[512];
	(void)state;
	w = ut_writer(ut_dir_file(&world.dir, "two.mdb", bpath));
	ut_wire("cn", wire);
	assert_true(ig_writer_tld(w, wire));
	ut_filing(w, "two.cn", IG_FILING_ACTIVE, "京ICP备80000001号-1");
	ut_filing(w, "in.two.cn", IG_FILING_ACTIVE, "京ICP备80000002号-1");
	b = ut_publish_open(w, bpath, 5);
	w = ut_writer(ut_dir_file(&world.dir, "two-delta.mdb", dpath));
	assert_true(ig_writer_delta_base(w, ig_snapshot_info(b)));
	ut_wire("in.two.cn", wire);
	assert_true(ig_writer_delta_name(w, wire));
	d = ut_publish_open(w, dpath, 1);
	assert_true(ig_snapshot_delta_over(d, b));
	assert_false(ig_snapshot_delta_over(d, world.snap));
	w = ut_writer(ut_dir_file(&world.dir, "two-empty.mdb", epath));
	assert_true(ig_writer_delta_base(w, ig_snapshot_info(b)));
	e = ut_publish_open(w, epath, 2);
	assert_int_equal(ig_snapshot_info(e)->delta_names, 0);
	assert_true(ig_view_begin(b, &bv));
	assert_true(ig_view_begin(d, &dv));
	memset(&f, 0, sizeof(f));
	memset(&o, 0, sizeof(o));
	ut_wire("a.in.two.cn", q);
	f.qname = q;
	o.scope = IG_SCOPE_ALL;
	o.now = T0;
	assert_int_equal(ig_decide(&bv, &f, &o, &V), 0);
	assert_string_equal(V.id, "京ICP备80000002号-1");
	o.delta = &dv;
	assert_int_equal(ig_decide(&bv, &f, &o, &V), 0);
	assert_int_equal(V.reason, IG_REASON_FILED);
	assert_string_equal(V.id, "京ICP备80000001号-1");
	assert_string_equal(wtext(V.match), "two.cn.");
	ig_view_end(&dv);
	ig_view_end(&bv);
	ig_snapshot_unref(e);
	ig_snapshot_unref(d);
	ig_snapshot_unref(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reason_names),
		cmocka_unit_test(test_filed_pass),
		cmocka_unit_test(test_subdomain_inherits),
		cmocka_unit_test(test_sibling_not_inherited),
		cmocka_unit_test(test_multilabel_public_suffix),
		cmocka_unit_test(test_gov_cn),
		cmocka_unit_test(test_idn_equivalence),
		cmocka_unit_test(test_case_equivalence),
		cmocka_unit_test(test_uppercase_wire_public_suffix),
		cmocka_unit_test(test_cancelled_filing),
		cmocka_unit_test(test_revoked_filing),
		cmocka_unit_test(test_unfiled_domestic_scope),
		cmocka_unit_test(test_scope_all_before_resolution),
		cmocka_unit_test(test_domestic_range_edges),
		cmocka_unit_test(test_domestic_ipv6),
		cmocka_unit_test(test_order_subtree),
		cmocka_unit_test(test_order_exact_only),
		cmocka_unit_test(test_order_beats_blacklist_exempt_filing),
		cmocka_unit_test(test_order_effective_edges),
		cmocka_unit_test(test_order_lifted_edges),
		cmocka_unit_test(test_order_future),
		cmocka_unit_test(test_order_on_alias),
		cmocka_unit_test(test_blacklist_subtree),
		cmocka_unit_test(test_blacklist_exact_only),
		cmocka_unit_test(test_blacklist_beats_exempt_and_filing),
		cmocka_unit_test(test_blacklisted_alias_target),
		cmocka_unit_test(test_aliases_ignored_before_answer),
		cmocka_unit_test(test_exempt_operator_subtree),
		cmocka_unit_test(test_exempt_exact_only),
		cmocka_unit_test(test_exempt_beats_filing),
		cmocka_unit_test(test_exempt_builtin),
		cmocka_unit_test(test_tld_not_filable),
		cmocka_unit_test(test_alias_unfiled_qname_not_laundered),
		cmocka_unit_test(test_alias_owner_unfiled_mid_chain),
		cmocka_unit_test(test_alias_final_target_unfiled_passes),
		cmocka_unit_test(test_alias_chain_qname_option_keeps_qname),
		cmocka_unit_test(test_exempt_alias_owner),
		cmocka_unit_test(test_long_chain),
		cmocka_unit_test(test_redirect_by_range),
		cmocka_unit_test(test_addrs_matter_agrees),
		cmocka_unit_test(test_redirect_beats_domestic),
		cmocka_unit_test(test_redirect_by_alias_host),
		cmocka_unit_test(test_redirect_filed_chain_passes),
		cmocka_unit_test(test_redirect_needs_answer),
		cmocka_unit_test(test_delta_layer),
		cmocka_unit_test(test_delta_uncovers_base_filing),
	};
	return cmocka_run_group_tests(tests, world_setup, world_teardown);
}
