/*
 * bench/bench_verdict.c - what a verdict costs next to a raw LMDB lookup.
 *
 * \file
 * A benchmark, not a test (make check does not run it; docs/benchmarks.md
 * has the figures and how to read them).  It
 *  1. builds a synthetic snapshot of N filings (default 10 million) with the
 *     writer API in sorted order (MDB_APPEND), plus 4,000 domestic IPv4 and
 *     64 IPv6 ranges, a few redirect ranges, filable TLDs and a handful of
 *     orders, blacklist entries, exemptions and redirect endpoints, and
 *     prints the build time and file size;
 *  2. times ig_snapshot_open (it should not depend on the size);
 *  3. times, on one thread and one read view, random queries of each kind:
 *     a raw point lookup (mdb_get on the name database, and ig_view_name);
 *     the full ig_decide for a filed hit answered with a domestic address,
 *     an unfiled miss answered abroad (the miss path consults libpsl), a
 *     deep subdomain of a filed name, before resolution (answered=0), a hot
 *     set of 1,000 names, and with an order snapshot beside (opts.urgent);
 *  4. breaks the verdict down: the name walk alone done the way lib does it
 *     and three cheaper ways (all checked to give the same flags), the
 *     libpsl check, and the range lookups, in LMDB and in an in-memory
 *     array; and estimates what the verdict would cost with those changes.
 * Calls are timed in batches (default 100 calls between two clock_gettime):
 * the "median" and "p99" columns are over batches of the mean cost of a
 * call.  Each query is timed alone as well, the timer's own cost
 * subtracted ("1-call" columns).  Kinds are interleaved in rounds so that
 * a drift of the machine hits them all alike.
 *
 * Names are generated from an index i: name(i) is "<word><i>.<suffix>" with
 * the word picked by a hash of i and the suffix by i % 8 among cn, com.cn,
 * com, net, org.cn, top; name(i) is filed for i < N.  An unfiled name is
 * name(i) with another word: certainly not filed, and its key falls at a
 * random place among the filed keys, as a real unfiled name's does.
 *
 * Usage: bench-verdict [--filings N] [--out PATH] [--keep] [--queries N]
 *                      [--batch B] [--rounds R] [--seed S] [--no-mlock]
 *                      [--no-prefault] [--only K,...]
 *
 * The snapshot's pages are mapped and locked in memory (mlock) before the
 * timed runs: the figures are for a snapshot resident in RAM, as on a
 * resolver host with memory to spare.  Without the lock a host's proactive
 * reclaim (this machine runs DAMON "pageout" on memory idle for about a
 * minute) pushes parts of a rarely touched 1.5 GB file out, and major
 * faults then swamp the tail.  Page faults during the timed runs are
 * counted and printed.
 */
#include "lib/name.h"
#include "lib/snapshot.h"
#include "lib/verdict.h"
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif

/** generator version, stored in meta so --keep rejects foreign files */
#define GEN_VERSION "bench-verdict-gen-2"

/* ------------------------------------------------------------------ */
/* small helpers                                                       */

/** monotonic time in ns */
static inline uint64_t
now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/** splitmix64 finaliser: a good 64-bit hash of an index */
static inline uint64_t
mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/** the query random generator (xorshift64*) */
static uint64_t rng_state = 0x1234567;

static inline uint64_t
rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

/** uniform in [0, n) */
static inline uint64_t
rnd_below(uint64_t n)
{
	return (uint64_t)(((unsigned __int128)rnd() * n) >> 64);
}

static void
die(const char* fmt, const char* a)
{
	fprintf(stderr, "bench-verdict: ");
	fprintf(stderr, fmt, a);
	fprintf(stderr, "\n");
	exit(1);
}

static void*
xmalloc(size_t n)
{
	void* p = malloc(n);
	if(!p) die("out of memory (%s)", "malloc");
	return p;
}

/** parse a count with an optional k/M/G suffix */
static uint64_t
parse_count(const char* s)
{
	char* end;
	double d = strtod(s, &end);
	if(end == s || d < 0) die("bad number '%s'", s);
	if(*end == 'k' || *end == 'K') d *= 1e3;
	else if(*end == 'm' || *end == 'M') d *= 1e6;
	else if(*end == 'g' || *end == 'G') d *= 1e9;
	else if(*end) die("bad number '%s'", s);
	return (uint64_t)d;
}

/* ------------------------------------------------------------------ */
/* synthetic names and filings                                         */

static const char* const words[64] = {
	"baidu", "tianqi", "jiaoyu", "keji", "yun", "wang", "shop", "mall",
	"xinwen", "tiyu", "youxi", "shipin", "yinyue", "lvyou", "qiche",
	"fangchan", "jinrong", "yiliao", "jiankang", "meishi", "zhaopin",
	"kuaidi", "wuliu", "dianzi", "ruanjian", "data", "cloud", "soft",
	"tech", "info", "net", "web", "hz", "bj", "sh", "gz", "sz", "cd",
	"wh", "xa", "nj", "cq", "tj", "qd", "dl", "xm", "ningbo", "suzhou",
	"huaxia", "zhongguo", "changcheng", "huanghe", "taishan", "ai",
	"iot", "app", "blog", "bbs", "home", "job", "car", "edu", "art", "go"
};

/** suffix by i % 8 */
static const char* const suffixes[8] = {
	"cn", "com.cn", "com", "net", "cn", "com", "org.cn", "top"
};

static const char* const provinces[16] = {
	"京", "沪", "粤", "浙", "苏", "鲁", "川", "鄂", "湘", "闽", "皖", "豫",
	"冀", "辽", "陕", "渝"
};

static const char* const providers[6] = {
	"阿里云计算有限公司", "腾讯云计算（北京）有限责任公司",
	"华为云计算技术有限公司", "北京百度网讯科技有限公司",
	"中国电信股份有限公司", "中国联合网络通信集团有限公司"
};

/** text of name(i), no trailing dot; with woff > 0 (1..63) the word is
 * another one, which makes a name that is certainly not filed but sorts
 * among the filed ones at a random place, as a real unfiled name does */
static void
gen_text2(uint64_t i, unsigned woff, char* buf, size_t len)
{
	const char* w = words[(mix64(i) + woff) & 63];
	snprintf(buf, len, (i & 7) == 5 ? "%s-%" PRIu64 ".%s" :
		"%s%" PRIu64 ".%s", w, i, suffixes[i & 7]);
}

static void
gen_text(uint64_t i, char* buf, size_t len)
{
	gen_text2(i, 0, buf, len);
}

/** wire form of prefix + name(i) (word offset woff, see gen_text2);
 * returns the wire length */
static size_t
gen_wire2(uint64_t i, unsigned woff, const char* prefix, uint8_t* wire)
{
	char text[160];
	size_t wl, pl = strlen(prefix);
	const char* err;
	memcpy(text, prefix, pl);
	gen_text2(i, woff, text + pl, sizeof(text) - pl);
	if(!ig_name_from_text(text, wire, &wl, &err))
		die("generated a bad name: %s", err);
	return wl;
}

static size_t
gen_wire(uint64_t i, const char* prefix, uint8_t* wire)
{
	return gen_wire2(i, 0, prefix, wire);
}

/** 1 if filing i is active (about 0.1% are revoked) */
static int
filing_active(uint64_t i)
{
	return mix64(i ^ 0x5bd1e995ull) % 1000 != 0;
}

/** a sortable record: zero-padded key (keys never hold a 0 byte, so
 * padding keeps memcmp order = LMDB key order) and the name index */
#define RKEY 28
struct rec {
	uint8_t k[RKEY];
	uint32_t idx;
};

static inline void
rswap(struct rec* a, struct rec* b)
{
	struct rec t = *a;
	*a = *b;
	*b = t;
}

/** multikey quicksort (Bentley-Sedgewick) on byte d onwards; in place */
static void
mkqs(struct rec* a, size_t n, int d)
{
	while(n > 1 && d < RKEY) {
		size_t lt = 0, i = 0, gt = n;
		int v;
		if(n < 12) {
			size_t x, y;
			for(x = 1; x < n; x++)
				for(y = x; y > 0 && memcmp(a[y-1].k + d,
					a[y].k + d, RKEY - d) > 0; y--)
					rswap(&a[y-1], &a[y]);
			return;
		}
		{	/* median of three */
			int p = a[0].k[d], q = a[n/2].k[d], r = a[n-1].k[d];
			v = (p < q) ? (q < r ? q : (p < r ? r : p))
				: (p < r ? p : (q < r ? r : q));
		}
		while(i < gt) {
			int c = a[i].k[d];
			if(c < v) rswap(&a[lt++], &a[i++]);
			else if(c > v) rswap(&a[i], &a[--gt]);
			else i++;
		}
		mkqs(a, lt, d);
		mkqs(a + gt, n - gt, d);
		if(v == 0) return; /* the rest is padding: equal keys */
		a += lt;
		n = gt - lt;
		d++;
	}
}

/* ------------------------------------------------------------------ */
/* ranges                                                              */

/** the domestic IPv4 ranges, ascending */
static uint32_t* dom_first;
static uint32_t* dom_last;
static unsigned ndom;

/** make the domestic range list (deterministic) */
static void
gen_ranges(unsigned n)
{
	uint64_t cur = 0x01000000; /* 1.0.0.0 */
	unsigned k;
	ndom = n;
	dom_first = xmalloc(n * sizeof(uint32_t));
	dom_last = xmalloc(n * sizeof(uint32_t));
	for(k = 0; k < n; k++) {
		uint64_t h = mix64(0xd0d0 + k);
		uint64_t gap = 256 + (h % 300000);
		uint64_t count = 256 + ((h >> 32) % 300000); /* any count */
		dom_first[k] = (uint32_t)(cur + gap);
		dom_last[k] = (uint32_t)(cur + gap + count - 1);
		cur = cur + gap + count;
	}
	if(cur >= 0xc0000000ull) die("%s", "range list too long");
}

static void
v4addr(uint32_t x, struct ig_addr* a)
{
	uint8_t b[4] = { (uint8_t)(x >> 24), (uint8_t)(x >> 16),
		(uint8_t)(x >> 8), (uint8_t)x };
	ig_addr_from_v4(a, b);
}

/** a random address inside a random domestic range */
static void
addr_domestic(struct ig_addr* a)
{
	unsigned k = (unsigned)rnd_below(ndom);
	v4addr(dom_first[k] + (uint32_t)rnd_below((uint64_t)dom_last[k] -
		dom_first[k] + 1), a);
}

/** a random address in a gap between domestic ranges (abroad) */
static void
addr_foreign(struct ig_addr* a)
{
	unsigned k = 1 + (unsigned)rnd_below(ndom - 1);
	uint32_t lo = dom_last[k-1] + 1, hi = dom_first[k] - 1;
	v4addr(lo + (uint32_t)rnd_below((uint64_t)hi - lo + 1), a);
}

/* ------------------------------------------------------------------ */
/* build                                                               */

static double
secs(uint64_t ns)
{
	return (double)ns / 1e9;
}

static void
build_snapshot(const char* path, uint64_t n)
{
	struct rec* r;
	struct ig_writer* w;
	struct ig_snapshot_info info;
	char err[512], text[160], num[64], subj[160], buf[64];
	uint64_t i, t0, t1, t2, t3;
	unsigned k;
	struct stat st;

	if(n == 0 || n > 0xffffffffull) die("%s", "--filings out of range");
	fprintf(stderr, "generating %" PRIu64 " names and sorting their "
		"keys (%.0f MB)...\n", n, (double)n * sizeof(*r) / 1e6);
	t0 = now_ns();
	r = xmalloc(n * sizeof(*r));
	for(i = 0; i < n; i++) {
		uint8_t wire[IG_NAME_MAX], key[IG_KEY_MAX];
		size_t kl;
		gen_wire(i, "", wire);
		kl = ig_name_wire_to_key(wire, key, NULL, NULL);
		if(kl > RKEY) die("key too long for %s", "a record");
		memset(r[i].k, 0, RKEY);
		memcpy(r[i].k, key, kl);
		r[i].idx = (uint32_t)i;
	}
	mkqs(r, n, 0);
	for(i = 1; i < n; i++)
		if(memcmp(r[i-1].k, r[i].k, RKEY) >= 0)
			die("%s", "keys not strictly ascending after sort");
	t1 = now_ns();
	fprintf(stderr, "  %.1f s; writing filings...\n", secs(t1 - t0));

	unlink(path);
	/* a map just big enough (about 145 bytes a filing are used): the
	 * readers inherit it, and a 64 GiB default map cannot be opened under
	 * valgrind */
	if(!(w = ig_writer_create(path, (size_t)(256ull << 20) + n * 256,
		err, sizeof(err))))
		die("writer: %s", err);
	ig_writer_set_sorted(w, 1);
	for(i = 0; i < n; i++) {
		uint8_t wire[IG_NAME_MAX];
		uint64_t x = r[i].idx, h = mix64(x ^ 0xf11e);
		struct ig_filing f;
		const char* prov = provinces[h & 15];
		gen_wire(x, "", wire);
		snprintf(num, sizeof(num), "%sICP备%08" PRIu64 "号-%u", prov,
			(uint64_t)((h >> 8) % 100000000u),
			(unsigned)((h >> 40) % 9) + 1);
		snprintf(subj, sizeof(subj), "%s%s%s科技有限公司", prov,
			words[(h >> 20) & 63], words[(h >> 26) & 63]);
		f.status = filing_active(x) ? IG_FILING_ACTIVE :
			IG_FILING_REVOKED;
		f.subject_type = (enum ig_subject_type)(1 + (h >> 50) % 5);
		f.approved = 1262304000 + (int64_t)((h >> 12) % 441504000);
		f.number = num;
		f.subject = subj;
		f.province = prov;
		f.provider = providers[(h >> 56) % 6];
		if(!ig_writer_filing(w, wire, &f))
			die("filing: %s", ig_writer_error(w));
		if((i + 1) % 1000000 == 0)
			fprintf(stderr, "  %" PRIu64 "M filings, %.1f s\n",
				(i + 1) / 1000000, secs(now_ns() - t1));
	}
	free(r);
	t2 = now_ns();

	/* ranges: domestic IPv4 (ascending), a few IPv6, then redirect */
	for(k = 0; k < ndom; k++) {
		struct ig_range rg;
		v4addr(dom_first[k], &rg.first);
		v4addr(dom_last[k], &rg.last);
		if(!ig_writer_range(w, IG_RANGE_DOMESTIC, &rg, "apnic"))
			die("range: %s", ig_writer_error(w));
	}
	for(k = 0; k < 64; k++) {
		struct ig_range rg;
		const char* e;
		snprintf(text, sizeof(text), "240e:%x::/32", 0x100 + 4 * k);
		if(!ig_range_parse(text, &rg, &e)) die("v6 range: %s", e);
		if(!ig_writer_range(w, IG_RANGE_DOMESTIC, &rg, "apnic"))
			die("range: %s", ig_writer_error(w));
	}
	{
		static const char* const rr[3] = { "198.51.100.0/25",
			"198.51.100.128/26", "203.0.113.0/24" };
		for(k = 0; k < 3; k++) {
			struct ig_range rg;
			const char* e;
			if(!ig_range_parse(rr[k], &rg, &e)) die("range: %s", e);
			if(!ig_writer_range(w, IG_RANGE_REDIRECT, &rg,
				k < 2 ? "reg-a" : "reg-b"))
				die("range: %s", ig_writer_error(w));
		}
	}

	/* the handful of other records, unsorted */
	ig_writer_set_sorted(w, 0);
	{
		static const char* const tlds[] = { "cn", "com", "net", "top",
			"xn--fiqs8s", "org", "xyz", "vip" };
		for(k = 0; k < sizeof(tlds) / sizeof(tlds[0]); k++) {
			uint8_t wire[IG_NAME_MAX];
			size_t wl;
			const char* e;
			if(!ig_name_from_text(tlds[k], wire, &wl, &e) ||
				!ig_writer_tld(w, wire))
				die("tld: %s", ig_writer_error(w));
		}
	}
	for(k = 0; k < 16; k++) {
		uint8_t wire[IG_NAME_MAX];
		struct ig_blacklist b;
		/* unfiled names, and a couple of filed ones */
		gen_wire(k < 12 ? 3 * n + 977 * k : 31 * k, "", wire);
		b.subtree = k & 1;
		b.added = 1700000000;
		b.reason = "涉赌";
		b.source = "bench";
		if(!ig_writer_blacklist(w, wire, &b))
			die("blacklist: %s", ig_writer_error(w));
	}
	for(k = 0; k < 4; k++) {
		static const char* const ex[4] = { "gov.cn", "infra.example.net",
			"ntp.org.cn", "resolver.example.com" };
		uint8_t wire[IG_NAME_MAX];
		size_t wl;
		const char* e;
		struct ig_exempt x;
		x.subtree = 1;
		x.note = "operator infrastructure";
		if(!ig_name_from_text(ex[k], wire, &wl, &e) ||
			!ig_writer_exempt(w, wire, &x))
			die("exempt: %s", ig_writer_error(w));
	}
	for(k = 0; k < 6; k++) {
		struct ig_order o;
		uint8_t tbuf[4096];
		char tn[3][160];
		const char* names[3];
		int sub[3];
		unsigned j, nt = 1 + k % 3;
		char id[32], doc[64];
		for(j = 0; j < nt; j++) {
			gen_text(4 * n + 101 * k + j, tn[j], sizeof(tn[j]));
			names[j] = tn[j];
			sub[j] = (int)(j & 1);
		}
		snprintf(id, sizeof(id), "ord-%u", k);
		snprintf(doc, sizeof(doc), "工信部网安函〔2024〕%u号", 100 + k);
		memset(&o, 0, sizeof(o));
		o.id = id;
		o.doc_no = doc;
		o.unit = "工业和信息化部网络安全管理局";
		o.reason = "违法违规";
		o.effective = 1700000000;
		o.expiry = k == 5 ? 1700000001 : 0;
		o.ntargets = nt;
		o.targets = tbuf;
		if(!ig_order_targets_encode(names, sub, nt, tbuf, sizeof(tbuf))
			|| !ig_writer_order(w, &o))
			die("order: %s", ig_writer_error(w));
	}
	{
		struct ig_registrar rg[2] = { { "reg-a", "Registrar A" },
			{ "reg-b", "Registrar B" } };
		static const char* const hosts[2] = { "fwd.reg-a.cn",
			"park.reg-b.com" };
		for(k = 0; k < 2; k++) {
			uint8_t wire[IG_NAME_MAX];
			size_t wl;
			const char* e;
			if(!ig_writer_registrar(w, &rg[k]) ||
				!ig_name_from_text(hosts[k], wire, &wl, &e) ||
				!ig_writer_redirect_host(w, wire, rg[k].id))
				die("registrar: %s", ig_writer_error(w));
		}
	}
	snprintf(buf, sizeof(buf), "%" PRIu64, n);
	if(!ig_writer_meta(w, "bench.filings", buf) ||
		!ig_writer_meta(w, "bench.generator", GEN_VERSION))
		die("meta: %s", ig_writer_error(w));
	t3 = now_ns();
	fprintf(stderr, "  publishing (content hash, sync, rename)...\n");
	if(!ig_writer_publish(w, 1, &info, err, sizeof(err)))
		die("publish: %s", err);
	{
		uint64_t t4 = now_ns();
		if(stat(path, &st) != 0) die("stat: %s", strerror(errno));
		printf("build: %" PRIu64 " filings, %u domestic IPv4 + 64 IPv6 "
			"ranges, 3 redirect ranges, 8 TLDs, 16 blacklist, "
			"4 exemptions, 6 orders, 2 redirect hosts\n", n, ndom);
		printf("build: generate+sort keys %.1f s, write filings %.1f s "
			"(%.2f M/s), other records %.2f s, publish %.1f s; "
			"total %.1f s\n", secs(t1 - t0), secs(t2 - t1),
			(double)n / 1e6 / secs(t2 - t1), secs(t3 - t2),
			secs(t4 - t3), secs(t4 - t0));
		printf("build: file %s, %.2f GB (%.1f bytes/filing), "
			"snapshot %s\n", path, (double)st.st_size / 1e9,
			(double)st.st_size / (double)n, info.ident);
	}
}

/** the order snapshot: what the loader publishes on its own for takedown
 * orders and urgent blacklist entries (a few hundred records), read beside
 * the main snapshot (ig_policy_opts.urgent) */
static void
build_urgent(const char* path, uint64_t n)
{
	struct ig_writer* w;
	char err[512];
	unsigned k;
	unlink(path);
	if(!(w = ig_writer_create(path, (size_t)64 << 20, err, sizeof(err))))
		die("order snapshot: %s", err);
	for(k = 0; k < 200; k++) {
		uint8_t wire[IG_NAME_MAX];
		struct ig_blacklist b;
		gen_wire(6 * n + 13 * k, "", wire);
		b.subtree = 1;
		b.added = 1700000000;
		b.reason = "urgent";
		b.source = "bench";
		if(!ig_writer_blacklist(w, wire, &b))
			die("order snapshot: %s", ig_writer_error(w));
	}
	for(k = 0; k < 50; k++) {
		struct ig_order o;
		uint8_t tbuf[4096];
		char tn[2][160], id[32], doc[64];
		const char* names[2];
		int sub[2] = { 1, 0 };
		unsigned j;
		for(j = 0; j < 2; j++) {
			gen_text(7 * n + 17 * k + j, tn[j], sizeof(tn[j]));
			names[j] = tn[j];
		}
		snprintf(id, sizeof(id), "urgent-%u", k);
		snprintf(doc, sizeof(doc), "工信部网安函〔2024〕%u号", 500 + k);
		memset(&o, 0, sizeof(o));
		o.id = id;
		o.doc_no = doc;
		o.unit = "工业和信息化部网络安全管理局";
		o.reason = "违法违规";
		o.effective = 1700000000;
		o.ntargets = 2;
		o.targets = tbuf;
		if(!ig_order_targets_encode(names, sub, 2, tbuf, sizeof(tbuf))
			|| !ig_writer_order(w, &o))
			die("order snapshot: %s", ig_writer_error(w));
	}
	if(!ig_writer_publish(w, 1, NULL, err, sizeof(err)))
		die("order snapshot: %s", err);
}

/* ------------------------------------------------------------------ */
/* measurement                                                         */

/** kinds of query */
enum kind {
	K_RAW_GET,       /* mdb_get on the name db, existing key */
	K_RAW_VIEW,      /* ig_view_name with filing decode */
	K_FILED,         /* www.<filed>, domestic address */
	K_MISS,          /* www.<unfiled>, foreign address */
	K_DEEP,          /* a.b.c.d.e.<filed>, domestic address */
	K_PRE_FILED,     /* answered=0, www.<filed> */
	K_PRE_MISS,      /* answered=0, www.<unfiled> */
	K_HOT,           /* www.<filed> among 1,000 names, domestic */
	K_FILED_U,       /* K_FILED with an order snapshot beside */
	K_MISS_U,        /* K_MISS with an order snapshot beside */
	K_FILED_B,       /* K_FILED, K_MISS, K_DEEP walking the B-tree: */
	K_MISS_B,        /* the hash index not used (ig_view.no_index) */
	K_DEEP_B,
	/* where the time goes: the name walk alone, three ways, on the
	 * query sets of K_FILED, K_DEEP and K_MISS */
	K_WGET_FILED,    /* mdb_get per ancestor (what lib/verdict.c does) */
	K_WGET_DEEP,
	K_WGET_MISS,
	K_WCUR_FILED,    /* one cursor, MDB_SET per ancestor */
	K_WCUR_DEEP,
	K_WCUR_MISS,
	K_WSKIP_FILED,   /* one cursor, stop below the first empty subtree */
	K_WSKIP_DEEP,
	K_WSKIP_MISS,
	K_WTLD_FILED,    /* the same with the TLD's flags from a per-view memo */
	K_WTLD_DEEP,
	K_WTLD_MISS,
	K_WIDX_FILED,    /* lib's ig_view_walk through the hash index */
	K_WIDX_DEEP,
	K_WIDX_MISS,
	K_PSL,           /* the miss path's text + libpsl public-suffix check */
	K_RANGE_LMDB,    /* the miss path's two ig_view_range calls */
	K_RANGE_ARRAY,   /* the same two on an in-memory sorted array */
	K_COUNT
};

/** the first breakdown kind */
#define K_FIRST_WALK K_WGET_FILED

/** the query set a kind uses (its own, or a verdict kind's) */
static const int kind_set[K_COUNT] = {
	K_RAW_GET, K_RAW_VIEW, K_FILED, K_MISS, K_DEEP, K_PRE_FILED,
	K_PRE_MISS, K_HOT, K_FILED, K_MISS, K_FILED, K_MISS, K_DEEP,
	K_FILED, K_DEEP, K_MISS, K_FILED, K_DEEP, K_MISS, K_FILED, K_DEEP,
	K_MISS, K_FILED, K_DEEP, K_MISS, K_FILED, K_DEEP, K_MISS,
	K_MISS, K_MISS, K_MISS
};

static const char* const kind_names[K_COUNT] = {
	"raw mdb_get (name db, filed key)",
	"raw ig_view_name (+ filing decode)",
	"verdict: filed hit www.<filed>, domestic",
	"verdict: unfiled miss, abroad (libpsl)",
	"verdict: deep a.b.c.d.e.<filed>",
	"verdict: before resolution, filed",
	"verdict: before resolution, unfiled",
	"verdict: filed hit, hot set of 1,000",
	"verdict: filed hit + order snapshot beside",
	"verdict: unfiled miss + order snapshot beside",
	"verdict: filed hit, B-tree walk (no index)",
	"verdict: unfiled miss, B-tree walk (no index)",
	"verdict: deep, B-tree walk (no index)",
	"walk, mdb_get per label: www.<filed>",
	"walk, mdb_get per label: deep",
	"walk, mdb_get per label: unfiled",
	"walk, cursor MDB_SET: www.<filed>",
	"walk, cursor MDB_SET: deep",
	"walk, cursor MDB_SET: unfiled",
	"walk, cursor + empty-subtree stop: www.<filed>",
	"walk, cursor + empty-subtree stop: deep",
	"walk, cursor + empty-subtree stop: unfiled",
	"walk, cursor + stop + TLD memo: www.<filed>",
	"walk, cursor + stop + TLD memo: deep",
	"walk, cursor + stop + TLD memo: unfiled",
	"walk, hash index (ig_view_walk): www.<filed>",
	"walk, hash index (ig_view_walk): deep",
	"walk, hash index (ig_view_walk): unfiled",
	"libpsl check of an unfiled name (+ text)",
	"ranges: 2 x ig_view_range (redirect, domestic)",
	"ranges: 2 x binary search, in-memory array",
};

/** the reason each verdict kind must give */
static const int kind_expect[K_COUNT] = {
	-1, -1, IG_REASON_FILED, IG_REASON_ABROAD, IG_REASON_FILED,
	IG_REASON_FILED, IG_REASON_PENDING, IG_REASON_FILED,
	IG_REASON_FILED, IG_REASON_ABROAD,
	IG_REASON_FILED, IG_REASON_ABROAD, IG_REASON_FILED,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1
};

/** one prepared query */
#define QWIRE 64
struct query {
	/** wire name (verdicts) or key (raw) */
	uint8_t name[QWIRE];
	/** key length (raw) */
	uint8_t keylen;
	/** labels (name database lookups per walk) */
	uint8_t labels;
	/** the answer address */
	struct ig_addr addr;
};

/** the state shared by the runs */
struct bench {
	struct ig_view view;
	/** a view on the order snapshot (opts.urgent for the _U kinds) */
	struct ig_view uview;
	/** a view on the main snapshot that walks the B-tree (_B kinds) */
	struct ig_view bview;
	MDB_dbi name_dbi;
	struct ig_policy_opts opts;
	uint64_t nfilings;
	/** per kind: queries */
	struct query* q[K_COUNT];
	size_t nq;
	/** per kind: calls, wrong verdicts, found (raw) */
	uint64_t calls[K_COUNT], wrong[K_COUNT], found[K_COUNT];
	/** per kind: name database lookups done */
	uint64_t lookups[K_COUNT];
	/** a cursor on the name database for the walk variants */
	MDB_cursor* cur;
	/** TLD memo: key, flags, and whether anything lies below it */
	struct { uint8_t key[64]; uint8_t len, flags, below; } tld[64];
	int ntld;
	/** the range database copied into arrays, per kind (1, 2) */
	struct ig_range* ra[3];
	size_t nra[3];
	/** per kind: batch samples (ns per call) */
	double* bs[K_COUNT];
	size_t nbs[K_COUNT];
	/** per kind: single-call samples (ns) */
	double* ss[K_COUNT];
	size_t nss[K_COUNT];
	volatile uint64_t sink;
};

/** a random filed index whose filing is active and that carries no
 * blacklist entry (the 16 blacklist names use 31*k for filed ones) */
static uint64_t
pick_filed(uint64_t n)
{
	for(;;) {
		uint64_t i = rnd_below(n);
		if(filing_active(i) && !(i % 31 == 0 && i < 31 * 16))
			return i;
	}
}

/** a random unfiled name: the number of a filed name with another word
 * (so it lands at a random place among the filed keys, not in a corner
 * of the key space); it is in no other record either */
static size_t
gen_unfiled(uint64_t n, const char* prefix, uint8_t* wire)
{
	return gen_wire2(rnd_below(n), 1 + (unsigned)rnd_below(63), prefix,
		wire);
}

static void
prepare(struct bench* b, enum kind k, size_t nq)
{
	struct query* q = xmalloc(nq * sizeof(*q));
	uint64_t n = b->nfilings, hot[1000];
	size_t j;
	if(k == K_HOT)
		for(j = 0; j < 1000; j++) hot[j] = pick_filed(n);
	for(j = 0; j < nq; j++) {
		uint8_t key[IG_KEY_MAX];
		int nl = 0;
		size_t wl = 0;
		switch(k) {
		case K_RAW_GET:
		case K_RAW_VIEW:
			gen_wire(pick_filed(n), "", key);
			q[j].keylen = (uint8_t)ig_name_wire_to_key(key,
				q[j].name, NULL, &nl);
			break;
		case K_FILED:
		case K_PRE_FILED:
			wl = gen_wire(pick_filed(n), "www.", q[j].name);
			addr_domestic(&q[j].addr);
			break;
		case K_HOT:
			wl = gen_wire(hot[rnd_below(1000)], "www.", q[j].name);
			addr_domestic(&q[j].addr);
			break;
		case K_MISS:
		case K_PRE_MISS:
			wl = gen_unfiled(n, "www.", q[j].name);
			addr_foreign(&q[j].addr);
			break;
		case K_DEEP:
			wl = gen_wire(pick_filed(n), "a.b.c.d.e.", q[j].name);
			addr_domestic(&q[j].addr);
			break;
		default:
			break;
		}
		if(wl > QWIRE) die("%s", "query name too long");
		if(wl) ig_name_wire_to_key(q[j].name, key, NULL, &nl);
		q[j].labels = (uint8_t)nl;
	}
	b->q[k] = q;
}

/** the name walk of lib/verdict.c: one mdb_get per ancestor, TLD first
 * (without the filing decode of ig_view_name, like the other two) */
static unsigned
walk_get(struct bench* b, const uint8_t* key, const size_t* le, int nl,
	uint8_t* flags)
{
	unsigned any = 0;
	int i;
	for(i = 0; i < nl; i++) {
		MDB_val k, v;
		k.mv_data = (void*)key;
		k.mv_size = le[i];
		flags[i] = mdb_get(b->view.txn, b->name_dbi, &k, &v) == 0 ?
			((const uint8_t*)v.mv_data)[0] : 0;
		any |= flags[i];
	}
	return any;
}

/** the same with one long-lived cursor: MDB_SET on a cursor that already
 * sits on the right leaf page searches only that page (LMDB skips the
 * descent from the root), which is where a name's ancestors and
 * descendants are */
static unsigned
walk_cur(struct bench* b, const uint8_t* key, const size_t* le, int nl,
	uint8_t* flags)
{
	unsigned any = 0;
	int i;
	for(i = 0; i < nl; i++) {
		MDB_val k, v;
		k.mv_data = (void*)key;
		k.mv_size = le[i];
		flags[i] = mdb_cursor_get(b->cur, &k, &v, MDB_SET) == 0 ?
			((const uint8_t*)v.mv_data)[0] : 0;
		any |= flags[i];
	}
	return any;
}

/** the flags of a TLD key and whether the snapshot holds anything below
 * it, from a small per-view memo (a TLD is looked up by every verdict, and
 * there are a few hundred at most) */
static unsigned
tld_memo(struct bench* b, const uint8_t* key, size_t len, int* below)
{
	MDB_val k, v;
	int i;
	unsigned fl = 0;
	for(i = 0; i < b->ntld; i++)
		if(b->tld[i].len == len && memcmp(b->tld[i].key, key, len) == 0) {
			*below = b->tld[i].below;
			return b->tld[i].flags;
		}
	k.mv_data = (void*)key;
	k.mv_size = len;
	*below = 0;
	if(mdb_cursor_get(b->cur, &k, &v, MDB_SET_RANGE) == 0) {
		if(k.mv_size == len && memcmp(k.mv_data, key, len) == 0) {
			fl = ((const uint8_t*)v.mv_data)[0];
			if(mdb_cursor_get(b->cur, &k, &v, MDB_NEXT) != 0)
				k.mv_size = 0;
		}
		*below = k.mv_size > len && memcmp(k.mv_data, key, len) == 0;
	}
	if(b->ntld < 64 && len <= 64) {
		memcpy(b->tld[b->ntld].key, key, len);
		b->tld[b->ntld].len = (uint8_t)len;
		b->tld[b->ntld].flags = (uint8_t)fl;
		b->tld[b->ntld].below = (uint8_t)*below;
		b->ntld++;
	}
	return fl;
}

/** the cursor walk that also stops when nothing exists below an
 * ancestor: MDB_SET_RANGE lands on the first key >= the ancestor; if
 * that key (or, on an exact hit, the next one) does not start with the
 * ancestor's key, the snapshot holds nothing below it and every deeper
 * lookup would miss.  Keys are whole length-prefixed labels, so "starts
 * with the ancestor's key and is longer" means "is a descendant". */
static unsigned
walk_skip(struct bench* b, const uint8_t* key, const size_t* le, int nl,
	uint8_t* flags, uint64_t* nlook, int memo)
{
	unsigned any = 0;
	int i = 0;
	if(memo && nl > 0) {
		int below;
		flags[0] = (uint8_t)tld_memo(b, key, le[0], &below);
		any = flags[0];
		if(!below) {
			for(i = 1; i < nl; i++) flags[i] = 0;
			return any;
		}
		i = 1;
	}
	for(; i < nl; i++) {
		MDB_val k, v;
		k.mv_data = (void*)key;
		k.mv_size = le[i];
		(*nlook)++;
		flags[i] = 0;
		if(mdb_cursor_get(b->cur, &k, &v, MDB_SET_RANGE) != 0)
			break;
		if(k.mv_size == le[i] && memcmp(k.mv_data, key, le[i]) == 0) {
			flags[i] = ((const uint8_t*)v.mv_data)[0];
			any |= flags[i];
			if(i + 1 == nl || mdb_cursor_get(b->cur, &k, &v,
				MDB_NEXT) != 0)
				break;
		}
		if(!(k.mv_size > le[i] && memcmp(k.mv_data, key, le[i]) == 0))
			break; /* empty subtree */
	}
	for(i++; i < nl; i++) flags[i] = 0;
	return any;
}

/** copy the range database into sorted arrays, as a reader could do at
 * open; returns seconds */
static double
ranges_load(struct bench* b)
{
	MDB_cursor* c;
	MDB_val k, v;
	uint64_t t0 = now_ns();
	size_t cap[3] = { 0, 0, 0 };
	int rc;
	if(mdb_cursor_open(b->view.txn, ig_view_dbi(&b->view, IG_DB_RANGE),
		&c) != 0)
		die("%s", "range cursor");
	for(rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
		rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		const uint8_t* kb = k.mv_data;
		int kind = kb[0];
		if(k.mv_size != 17 || v.mv_size < 16 || kind < 1 || kind > 2)
			continue;
		if(b->nra[kind] == cap[kind]) {
			cap[kind] = cap[kind] ? 2 * cap[kind] : 1024;
			b->ra[kind] = realloc(b->ra[kind], cap[kind] *
				sizeof(struct ig_range));
			if(!b->ra[kind]) die("%s", "out of memory");
		}
		memcpy(b->ra[kind][b->nra[kind]].first.b, v.mv_data, 16);
		memcpy(b->ra[kind][b->nra[kind]].last.b, kb + 1, 16);
		b->nra[kind]++;
	}
	mdb_cursor_close(c);
	return secs(now_ns() - t0);
}

/** in the array of a kind: the first range whose last >= a, then a check
 * of its first address (what ig_view_range does with MDB_SET_RANGE) */
static int
range_find(const struct bench* b, int kind, const struct ig_addr* a)
{
	const struct ig_range* r = b->ra[kind];
	size_t lo = 0, hi = b->nra[kind];
	while(lo < hi) {
		size_t mid = (lo + hi) / 2;
		if(memcmp(r[mid].last.b, a->b, 16) < 0) lo = mid + 1;
		else hi = mid;
	}
	return lo < b->nra[kind] && memcmp(r[lo].first.b, a->b, 16) <= 0;
}

/** run one query of kind k; returns something to sink */
static inline uint64_t
run_one(struct bench* b, enum kind k, const struct query* q)
{
	if(k >= K_FIRST_WALK && k < K_PSL) {
		uint8_t key[IG_KEY_MAX], flags[IG_LABELS_MAX];
		size_t le[IG_LABELS_MAX];
		int nl;
		ig_name_wire_to_key(q->name, key, le, &nl);
		if(k < K_WCUR_FILED) {
			b->lookups[k] += (uint64_t)nl;
			return walk_get(b, key, le, nl, flags);
		}
		if(k < K_WSKIP_FILED) {
			b->lookups[k] += (uint64_t)nl;
			return walk_cur(b, key, le, nl, flags);
		}
		if(k >= K_WIDX_FILED) {
			struct ig_filing f;
			int fl;
			b->lookups[k] += (uint64_t)nl;
			return ig_view_walk(&b->view, key, le, nl, flags, &f,
				&fl);
		}
		return walk_skip(b, key, le, nl, flags, &b->lookups[k],
			k >= K_WTLD_FILED);
	} else if(k == K_PSL) {
		char text[1024];
		size_t tl;
		ig_name_wire_to_text(q->name, text, sizeof(text));
		tl = strlen(text);
		if(tl > 1 && text[tl-1] == '.') text[tl-1] = 0;
		return (uint64_t)ig_name_is_public_suffix(text);
	} else if(k == K_RANGE_LMDB) {
		const char* owner;
		return (uint64_t)ig_view_range(&b->view, IG_RANGE_REDIRECT,
			&q->addr, NULL, &owner) + (uint64_t)ig_view_range(
			&b->view, IG_RANGE_DOMESTIC, &q->addr, NULL, NULL);
	} else if(k == K_RANGE_ARRAY) {
		return (uint64_t)range_find(b, IG_RANGE_REDIRECT, &q->addr) +
			(uint64_t)range_find(b, IG_RANGE_DOMESTIC, &q->addr);
	} else if(k == K_RAW_GET) {
		MDB_val key, val;
		key.mv_data = (void*)q->name;
		key.mv_size = q->keylen;
		if(mdb_get(b->view.txn, b->name_dbi, &key, &val) == 0) {
			b->found[k]++;
			b->lookups[k]++;
			return ((const uint8_t*)val.mv_data)[0];
		}
		return 0;
	} else if(k == K_RAW_VIEW) {
		struct ig_filing f;
		unsigned fl = ig_view_name(&b->view, q->name, q->keylen, &f);
		if(fl & IG_NAME_FILING) b->found[k]++;
		b->lookups[k]++;
		return fl;
	} else {
		struct ig_facts f;
		struct ig_verdict v;
		memset(&f, 0, sizeof(f));
		f.qname = q->name;
		f.addr = &q->addr;
		f.naddr = 1;
		f.answered = !(k == K_PRE_FILED || k == K_PRE_MISS);
		if(k == K_FILED_U || k == K_MISS_U) {
			struct ig_policy_opts o = b->opts;
			o.urgent = &b->uview;
			ig_decide(&b->view, &f, &o, &v);
			b->lookups[k] += 2u * q->labels;
		} else {
			ig_decide(k >= K_FILED_B ? &b->bview : &b->view, &f,
				&b->opts, &v);
			b->lookups[k] += q->labels;
		}
		if((int)v.reason != kind_expect[k]) b->wrong[k]++;
		return (uint64_t)v.reason;
	}
}

/** time queries [from, to) of kind k in batches of bsz calls */
static void
run_batches(struct bench* b, enum kind k, size_t from, size_t to,
	size_t bsz)
{
	size_t j, m;
	uint64_t s = 0;
	for(j = from; j + bsz <= to; j += bsz) {
		uint64_t t0 = now_ns(), t1;
		for(m = 0; m < bsz; m++)
			s += run_one(b, k, &b->q[k][j + m]);
		t1 = now_ns();
		b->bs[k][b->nbs[k]++] = (double)(t1 - t0) / (double)bsz;
		b->calls[k] += bsz;
	}
	b->sink += s;
}

/** time each query of kind k alone, minus the timer cost */
static void
run_single(struct bench* b, enum kind k, double timer_ns)
{
	size_t j;
	uint64_t s = 0;
	for(j = 0; j < b->nq; j++) {
		uint64_t t0 = now_ns(), t1;
		s += run_one(b, k, &b->q[k][j]);
		t1 = now_ns();
		b->ss[k][b->nss[k]++] = (double)(t1 - t0) - timer_ns;
	}
	b->calls[k] += b->nq;
	b->sink += s;
}

static int
dcmp(const void* a, const void* b)
{
	double x = *(const double*)a, y = *(const double*)b;
	return (x > y) - (x < y);
}

/** the p-th quantile (0..1) of a sorted array */
static double
quant(const double* a, size_t n, double p)
{
	size_t i;
	if(n == 0) return 0;
	i = (size_t)(p * (double)(n - 1) + 0.5);
	return a[i < n ? i : n - 1];
}

/** the median cost of clock_gettime itself (back-to-back pair) */
static double
timer_cost(void)
{
	enum { N = 200001 };
	static double d[N];
	size_t i;
	for(i = 0; i < N; i++) {
		uint64_t a = now_ns(), c = now_ns();
		d[i] = (double)(c - a);
	}
	qsort(d, N, sizeof(double), dcmp);
	return d[N / 2];
}

/** format ns as "123 ns" or "1.23 us" */
static const char*
fmt_t(double ns, char* buf, size_t len)
{
	if(ns < 1000) snprintf(buf, len, "%.0f ns", ns);
	else snprintf(buf, len, "%.2f us", ns / 1000);
	return buf;
}

/** map every page of the file's mapping so that the timed runs see the
 * steady state of a long-running resolver (pages mapped), and with lock
 * also mlock them (resident whatever the host's reclaim does).  LMDB does
 * not hand out its map address (me_mapaddr is only set with MDB_FIXEDMAP),
 * so the mapping is found in /proc/self/maps.  Returns seconds, or -1. */
static double
prefault(const char* path, int lock, int* locked)
{
	char want[4096], line[4096 + 128];
	FILE* f;
	struct stat st;
	uint64_t t0 = now_ns();
	int done = 0;
	if(!realpath(path, want) || stat(path, &st) != 0 ||
		!(f = fopen("/proc/self/maps", "r")))
		return -1;
	while(fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		char* p = strchr(line, '/');
		size_t len, off;
		volatile uint8_t x = 0;
		if(!p || sscanf(line, "%lx-%lx", &lo, &hi) != 2) continue;
		p[strcspn(p, "\n")] = 0;
		if(strcmp(p, want) != 0) continue;
		len = hi - lo;
		if(len > (size_t)st.st_size) len = (size_t)st.st_size & ~4095ul;
		if(lock && mlock((void*)lo, len) == 0) {
			*locked = 1;
		} else if(lock) {
			fprintf(stderr, "warning: mlock of %zu bytes: %s; "
				"timing without the lock\n", len,
				strerror(errno));
		}
		if(*locked) {
			/* mlock has faulted every page in */
		} else if(madvise((void*)lo, len, MADV_POPULATE_READ) != 0) {
			for(off = 0; off < len; off += 4096)
				x ^= ((volatile uint8_t*)lo)[off];
		}
		(void)x;
		done = 1;
	}
	fclose(f);
	return done ? secs(now_ns() - t0) : -1;
}

/** the depth and page counts of the name database */
static void
print_name_db(struct ig_view* v, MDB_dbi dbi)
{
	MDB_stat st;
	if(mdb_stat(v->txn, dbi, &st) != 0) return;
	printf("name db: %zu entries, B-tree depth %u, %zu branch + %zu leaf "
		"+ %zu overflow pages of %u bytes\n", st.ms_entries,
		st.ms_depth, st.ms_branch_pages, st.ms_leaf_pages,
		st.ms_overflow_pages, st.ms_psize);
}

/** time cold (first touch after open) lookups on a fresh open */
static void
cold_run(const char* path, struct bench* b, enum kind k, size_t n,
	double* med, double* p99)
{
	struct ig_snapshot* s;
	char err[512];
	struct ig_view saved = b->view;
	MDB_dbi sd = b->name_dbi;
	size_t j, nb = 0, bsz = 100;
	double* d = xmalloc((n / bsz + 1) * sizeof(double));
	if(!ig_snapshot_open(path, &s, err, sizeof(err))) die("%s", err);
	if(!ig_view_begin(s, &b->view)) die("%s", "view");
	b->name_dbi = ig_view_dbi(&b->view, IG_DB_NAME);
	for(j = 0; j + bsz <= n && j + bsz <= b->nq; j += bsz) {
		uint64_t t0 = now_ns(), s2 = 0;
		size_t m;
		for(m = 0; m < bsz; m++)
			s2 += run_one(b, k, &b->q[k][j + m]);
		d[nb++] = (double)(now_ns() - t0) / (double)bsz;
		b->sink += s2;
	}
	ig_view_end(&b->view);
	ig_snapshot_unref(s);
	b->view = saved;
	b->name_dbi = sd;
	qsort(d, nb, sizeof(double), dcmp);
	*med = quant(d, nb, 0.5);
	*p99 = quant(d, nb, 0.99);
	free(d);
}

/** /proc/stat totals: busy and steal jiffies over all CPUs */
static void
cpu_jiffies(uint64_t* busy, uint64_t* steal, uint64_t* total)
{
	FILE* f = fopen("/proc/stat", "r");
	unsigned long long u = 0, n = 0, sy = 0, id = 0, io = 0, irq = 0,
		sirq = 0, st = 0;
	*busy = *steal = *total = 0;
	if(!f) return;
	if(fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &u, &n,
		&sy, &id, &io, &irq, &sirq, &st) >= 4) {
		*busy = u + n + sy + irq + sirq;
		*steal = st;
		*total = u + n + sy + id + io + irq + sirq + st;
	}
	fclose(f);
}

static void
print_machine(void)
{
	FILE* f = fopen("/proc/cpuinfo", "r");
	char line[512], model[256] = "?";
	long np = sysconf(_SC_NPROCESSORS_ONLN);
	long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
	if(f) {
		while(fgets(line, sizeof(line), f)) {
			char* c = strchr(line, ':');
			if(strncmp(line, "model name", 10) == 0 && c) {
				snprintf(model, sizeof(model), "%s", c + 2);
				model[strcspn(model, "\n")] = 0;
				break;
			}
		}
		fclose(f);
	}
	printf("machine: %ld CPUs online, %s, %.1f GiB RAM, lmdb %s\n", np,
		model, (double)pages * (double)psz / (1024.0 * 1024 * 1024),
		MDB_VERSION_STRING);
}

static void
usage(void)
{
	printf("usage: bench-verdict [--filings N] [--out PATH] [--keep]\n"
		"         [--queries N] [--batch B] [--rounds R] [--seed S]\n"
		"         [--no-mlock] [--no-prefault] [--only K[,K...]]\n"
		"  --filings N   filings in the synthetic snapshot (10M; k/M ok)\n"
		"  --out PATH    snapshot file (/tmp/icpguard-bench-PID.mdb)\n"
		"  --keep        reuse PATH if it holds a bench snapshot, and\n"
		"                keep it at exit (default: build, then delete)\n"
		"  --queries N   random queries per kind (300k)\n"
		"  --batch B     calls per timed batch (100)\n"
		"  --rounds R    interleave the kinds in R rounds (3)\n"
		"  --seed S      query random seed\n"
		"  --no-mlock    map the file's pages before timing but do not\n"
		"                lock them (the host may page them out)\n"
		"  --no-prefault neither map nor lock them before timing\n"
		"  --only K,...  time only these kinds (row numbers from 0, for\n"
		"                profiling; the other rows print as 0)\n");
}

int
main(int argc, char** argv)
{
	uint64_t nfilings = 10000000, seed = 20240601;
	size_t nq = 300000, bsz = 100, rounds = 3, r;
	const char* out = NULL;
	char outbuf[256], err[512], upath[300];
	struct ig_snapshot* usnap;
	int keep = 0, do_prefault = 1, do_mlock = 1, locked = 0, built = 0, i;
	struct rusage ru0, ru1;
	uint64_t busy0, busy1, steal0, steal1, tot0, tot1;
	double load0[3] = { 0, 0, 0 };
	uint64_t only = ~0ull; /* bit per kind: the kinds to time */
	struct bench* b;
	struct ig_snapshot* snap;
	double timer_ns, open_ns[21], pf = -1;
	double cold_med[2], cold_p99[2], rl;
	struct stat st;
	enum kind k;

	for(i = 1; i < argc; i++) {
		const char* a = argv[i];
		const char* v = i + 1 < argc ? argv[i + 1] : NULL;
		if(strcmp(a, "--keep") == 0) keep = 1;
		else if(strcmp(a, "--no-prefault") == 0) do_prefault = 0;
		else if(strcmp(a, "--no-mlock") == 0) do_mlock = 0;
		else if(strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage();
			return 0;
		} else if(!v) {
			usage();
			return 1;
		} else if(strcmp(a, "--filings") == 0) {
			nfilings = parse_count(v); i++;
		} else if(strcmp(a, "--out") == 0) {
			out = v; i++;
		} else if(strcmp(a, "--queries") == 0) {
			nq = parse_count(v); i++;
		} else if(strcmp(a, "--batch") == 0) {
			bsz = parse_count(v); i++;
		} else if(strcmp(a, "--rounds") == 0) {
			rounds = parse_count(v); i++;
		} else if(strcmp(a, "--seed") == 0) {
			seed = parse_count(v); i++;
		} else if(strcmp(a, "--only") == 0) {
			char* e = (char*)v;
			only = 0;
			while(*e) {
				unsigned long x = strtoul(e, &e, 10);
				if(x >= 64) die("bad --only '%s'", v);
				only |= 1ull << x;
				if(*e == ',') e++;
				else if(*e) die("bad --only '%s'", v);
			}
			i++;
		} else {
			usage();
			return 1;
		}
	}
	if(bsz < 1 || rounds < 1 || nq < bsz * rounds)
		die("%s", "--queries must be at least --batch x --rounds");
	if(!out) {
		snprintf(outbuf, sizeof(outbuf), "/tmp/icpguard-bench-%d.mdb",
			(int)getpid());
		out = outbuf;
	}
	rng_state = mix64(seed) | 1;
	gen_ranges(4000);
	print_machine();

	/* 1. build (or reuse) */
	if(!(keep && stat(out, &st) == 0)) {
		build_snapshot(out, nfilings);
		built = 1;
	}

	/* 2. open time: the first open after the build, then 20 more */
	for(i = 0; i < 21; i++) {
		uint64_t t0 = now_ns();
		if(!ig_snapshot_open(out, &snap, err, sizeof(err)))
			die("%s", err);
		open_ns[i] = (double)(now_ns() - t0);
		ig_snapshot_unref(snap);
	}
	if(!ig_snapshot_open(out, &snap, err, sizeof(err))) die("%s", err);
	if(stat(out, &st) != 0) die("stat: %s", strerror(errno));

	b = calloc(1, sizeof(*b));
	if(!b) die("%s", "out of memory");
	{
		uint64_t t0 = now_ns();
		double vb;
		if(!ig_view_begin(snap, &b->view)) die("%s", "view begin");
		vb = (double)(now_ns() - t0);
		qsort(open_ns + 1, 20, sizeof(double), dcmp);
		printf("open: ig_snapshot_open of %.2f GB: first %.0f us, "
			"median of 20 more %.0f us, max %.0f us; "
			"ig_view_begin %.1f us\n", (double)st.st_size / 1e9,
			open_ns[0] / 1e3, open_ns[10] / 1e3, open_ns[20] / 1e3,
			vb / 1e3);
	}
	{
		const char* fv = ig_view_meta(&b->view, "bench.filings");
		const char* gv = ig_view_meta(&b->view, "bench.generator");
		if(!fv || !gv || strcmp(gv, GEN_VERSION) != 0)
			die("%s is not a snapshot built by this benchmark", out);
		b->nfilings = strtoull(fv, NULL, 10);
		if(!built)
			printf("reused %s (%" PRIu64 " filings)\n", out,
				b->nfilings);
	}
	b->name_dbi = ig_view_dbi(&b->view, IG_DB_NAME);
	b->opts.scope = IG_SCOPE_DOMESTIC;
	b->opts.chain = IG_CHAIN_ALL;
	b->opts.now = (int64_t)time(NULL);
	b->opts.urgent = NULL;
	snprintf(upath, sizeof(upath), "%s.orders", out);
	build_urgent(upath, b->nfilings);
	if(!ig_snapshot_open(upath, &usnap, err, sizeof(err)) ||
		!ig_view_begin(usnap, &b->uview))
		die("order snapshot: %s", err);
	if(!ig_view_begin(snap, &b->bview)) die("%s", "view begin");
	b->bview.no_index = 1;
	b->nq = nq;
	print_name_db(&b->view, b->name_dbi);
	if(!ig_snapshot_info(snap)->has_index)
		die("no usable name index: %s",
			ig_snapshot_info(snap)->index_refused);
	printf("name index: %" PRIu64 " entries (names and their ancestors)\n",
		ig_snapshot_info(snap)->index_entries);

	if(mdb_cursor_open(b->view.txn, b->name_dbi, &b->cur) != 0)
		die("%s", "cursor");
	rl = ranges_load(b);

	fprintf(stderr, "preparing %zu queries x %d kinds...\n", nq,
		K_FIRST_WALK);
	for(k = 0; k < K_COUNT; k++) {
		if(kind_set[k] == (int)k) prepare(b, k, nq);
		else b->q[k] = b->q[kind_set[k]];
		b->bs[k] = xmalloc((nq / bsz + rounds) * sizeof(double));
		b->ss[k] = xmalloc(nq * sizeof(double));
		/* touch them now, not as minor faults in the timed runs */
		memset(b->bs[k], 0, (nq / bsz + rounds) * sizeof(double));
		memset(b->ss[k], 0, nq * sizeof(double));
	}
	timer_ns = timer_cost();

	if(do_prefault && (pf = prefault(out, do_mlock, &locked)) < 0)
		fprintf(stderr, "warning: prefault: mapping not found\n");

	/* cold: first touch of a mapping after an open (the file in the page
	 * cache, locked there by the main mapping; its pages not yet mapped
	 * into the new mapping), one fresh open per kind; 100k queries each */
	cold_run(out, b, K_RAW_GET, 100000, &cold_med[0], &cold_p99[0]);
	cold_run(out, b, K_FILED, 100000, &cold_med[1], &cold_p99[1]);

	/* the four walks must find the same flags at every level */
	for(k = K_FILED; k <= K_DEEP; k++) {
		size_t j;
		for(j = 0; j < nq; j++) {
			uint8_t key[IG_KEY_MAX], f1[IG_LABELS_MAX],
				f2[IG_LABELS_MAX], f3[IG_LABELS_MAX],
				f4[IG_LABELS_MAX], f5[IG_LABELS_MAX],
				f6[IG_LABELS_MAX];
			size_t le[IG_LABELS_MAX];
			struct ig_filing fi;
			int nl, i, fl;
			uint64_t dummy = 0;
			ig_name_wire_to_key(b->q[k][j].name, key, le, &nl);
			walk_get(b, key, le, nl, f1);
			walk_cur(b, key, le, nl, f2);
			walk_skip(b, key, le, nl, f3, &dummy, 0);
			walk_skip(b, key, le, nl, f4, &dummy, 1);
			ig_view_walk(&b->view, key, le, nl, f5, &fi, &fl);
			ig_view_walk(&b->bview, key, le, nl, f6, &fi, &fl);
			for(i = 0; i < nl; i++)
				if(f1[i] != f2[i] || f1[i] != f3[i] ||
					f1[i] != f4[i] || f1[i] != f5[i] ||
					f1[i] != f6[i] ||
					(i == nl - 1 && f1[i]))
					die("%s", "walk variants disagree");
		}
	}

	/* the range array answers as ig_view_range does */
	{
		size_t j;
		for(j = 0; j < nq; j++) {
			const struct query* q = &b->q[K_DEEP][j];
			const struct query* m = &b->q[K_MISS][j];
			if(!ig_view_range(&b->view, IG_RANGE_DOMESTIC, &q->addr,
				NULL, NULL) || !range_find(b, IG_RANGE_DOMESTIC,
				&q->addr) || ig_view_range(&b->view,
				IG_RANGE_DOMESTIC, &m->addr, NULL, NULL) ||
				range_find(b, IG_RANGE_DOMESTIC, &m->addr))
				die("%s", "range array disagrees");
		}
	}

	/* warm-up: libpsl load, code paths, a few thousand of each */
	for(k = 0; k < K_COUNT; k++) {
		size_t j;
		for(j = 0; j < 5000 && j < nq; j++)
			b->sink += run_one(b, k, &b->q[k][nq - 1 - j]);
	}
	for(k = 0; k < K_COUNT; k++)
		b->calls[k] = b->wrong[k] = b->found[k] = b->lookups[k] = 0;

	/* 3. the timed runs: kinds interleaved in rounds */
	fprintf(stderr, "timing...\n");
	getloadavg(load0, 3);
	cpu_jiffies(&busy0, &steal0, &tot0);
	getrusage(RUSAGE_SELF, &ru0);
	for(r = 0; r < rounds; r++)
		for(k = 0; k < K_COUNT; k++)
			if(only & (1ull << k))
				run_batches(b, k, nq * r / rounds,
					nq * (r + 1) / rounds, bsz);
	for(k = 0; k < K_COUNT; k++)
		if(only & (1ull << k)) run_single(b, k, timer_ns);
	getrusage(RUSAGE_SELF, &ru1);
	cpu_jiffies(&busy1, &steal1, &tot1);

	/* report */
	printf("\nqueries: %zu random per kind, timed in batches of %zu calls "
		"(%zu rounds, kinds interleaved), one thread, one read view;\n"
		"per-call p99 from single-call timing minus the timer's own "
		"%.0f ns\n", nq, bsz, rounds, timer_ns);
	if(pf >= 0) printf("residency: %s the file in %.2f s\n", locked ?
		"mapped and mlocked" : "mapped (not locked)", pf);
	else printf("residency: pages neither mapped nor locked before "
		"timing\n");
	printf("range arrays: %zu domestic + %zu redirect ranges copied from "
		"the snapshot in %.0f us\n", b->nra[1], b->nra[2], rl * 1e6);
	printf("page faults during the timed runs: %ld major, %ld minor\n",
		ru1.ru_majflt - ru0.ru_majflt, ru1.ru_minflt - ru0.ru_minflt);
	{
		/* how busy the rest of the machine was while we timed: all
		 * CPUs' busy time minus our own, as a share of one CPU */
		double hz = (double)sysconf(_SC_CLK_TCK);
		double wall = (double)(tot1 - tot0) / hz /
			(double)sysconf(_SC_NPROCESSORS_ONLN);
		double own = (double)(ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec
			+ ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) +
			(double)(ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec +
			ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec) / 1e6;
		double other = (double)(busy1 - busy0) / hz - own;
		printf("machine during the timed runs (%.1f s): load average "
			"%.2f at start; other processes used %.0f%% of a CPU; "
			"steal %.1f%%\n", wall, load0[0], wall > 0 ?
			100.0 * (other > 0 ? other : 0) / wall : 0.0,
			tot1 > tot0 ? 100.0 * (double)(steal1 - steal0) /
			(double)(tot1 - tot0) : 0.0);
	}
	{
		double rawmed = 0, med[K_COUNT];
		for(k = 0; k < K_COUNT; k++) {
			char b1[32], b2[32], b3[32], b4[32], lk[16], ratio[16];
			double p99, sp50, sp99;
			if(k == 0 || k == K_FIRST_WALK) {
				printf("\n%s\n\n| %-46s | %7s | %9s | %9s | "
					"%10s | %10s | %9s |\n", k == 0 ?
					"verdict cost (ratio: median / median "
					"raw mdb_get)" : "where the time goes "
					"(name walk only, no verdict; same "
					"queries as the verdict rows)",
					"kind", "lookups", "median", "p99",
					"1-call p50", "1-call p99", "ratio");
				printf("|%s|%s|%s|%s|%s|%s|%s|\n",
					"------------------------------------"
					"------------", "--------:",
					"----------:", "----------:",
					"-----------:", "-----------:",
					"----------:");
			}
			qsort(b->bs[k], b->nbs[k], sizeof(double), dcmp);
			qsort(b->ss[k], b->nss[k], sizeof(double), dcmp);
			med[k] = quant(b->bs[k], b->nbs[k], 0.5);
			p99 = quant(b->bs[k], b->nbs[k], 0.99);
			sp50 = quant(b->ss[k], b->nss[k], 0.5);
			sp99 = quant(b->ss[k], b->nss[k], 0.99);
			if(k == K_RAW_GET) rawmed = med[k];
			if(k >= K_PSL) snprintf(lk, sizeof(lk), "0");
			else snprintf(lk, sizeof(lk), "%.1f", b->calls[k] ?
				(double)b->lookups[k] / (double)b->calls[k] : 0.0);
			snprintf(ratio, sizeof(ratio), "%.2fx", med[k] / rawmed);
			printf("| %-46s | %7s | %9s | %9s | %10s | %10s | "
				"%9s |\n", kind_names[k], lk,
				fmt_t(med[k], b1, sizeof(b1)),
				fmt_t(p99, b2, sizeof(b2)),
				fmt_t(sp50, b4, sizeof(b4)),
				fmt_t(sp99, b3, sizeof(b3)), ratio);
		}
		{
			/* the hash index against the B-tree walk, same queries */
			static const int ik[3] = { K_FILED, K_MISS, K_DEEP };
			static const int bk[3] = { K_FILED_B, K_MISS_B,
				K_DEEP_B };
			char b1[32], b2[32];
			int x;
			printf("\nthe hash index (verdict medians, same queries):"
				"\n\n| %-40s | %9s | %9s | %9s |\n", "kind",
				"index", "B-tree", "ratio");
			printf("|%s|%s|%s|%s|\n",
				"------------------------------------------",
				"----------:", "----------:", "----------:");
			for(x = 0; x < 3; x++)
				printf("| %-40s | %9s | %9s | %8.2fx |\n",
					kind_names[ik[x]] + 9,
					fmt_t(med[ik[x]], b1, sizeof(b1)),
					fmt_t(med[bk[x]], b2, sizeof(b2)),
					med[ik[x]] / med[bk[x]]);
		}
		{
			char b1[32], b2[32];
			printf("\ncold (fresh open, first touch of each page; "
				"file in page cache), 100k queries:\n");
			printf("  raw mdb_get: median %s, p99 %s\n",
				fmt_t(cold_med[0], b1, sizeof(b1)),
				fmt_t(cold_p99[0], b2, sizeof(b2)));
			printf("  verdict filed hit: median %s, p99 %s "
				"(%.2fx the warm raw lookup)\n",
				fmt_t(cold_med[1], b1, sizeof(b1)),
				fmt_t(cold_p99[1], b2, sizeof(b2)),
				cold_med[1] / rawmed);
		}
	}
	printf("\nchecks: the six walks agree on every level of every "
		"filed/deep/unfiled query;");
	for(k = 0; k < K_FIRST_WALK; k++) {
		if(k <= K_RAW_VIEW)
			printf(" %s found %" PRIu64 "/%" PRIu64 ";",
				k == K_RAW_GET ? "mdb_get" : "ig_view_name",
				b->found[k], b->calls[k]);
		else if(b->wrong[k])
			printf(" %s: %" PRIu64 " WRONG verdicts;",
				kind_names[k], b->wrong[k]);
	}
	printf(" verdicts as expected unless listed\n");

	for(k = 0; k < K_COUNT; k++) {
		if(kind_set[k] == (int)k) free(b->q[k]);
		free(b->bs[k]);
		free(b->ss[k]);
	}
	mdb_cursor_close(b->cur);
	free(b->ra[1]);
	free(b->ra[2]);
	ig_view_end(&b->view);
	ig_snapshot_unref(snap);
	ig_view_end(&b->uview);
	ig_view_end(&b->bview);
	ig_snapshot_unref(usnap);
	unlink(upath);
	if(!keep) {
		unlink(out);
		printf("removed %s\n", out);
	}
	free(b);
	return 0;
}
