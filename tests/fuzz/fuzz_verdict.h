/*
 * tests/fuzz/fuzz_verdict.h - a few verdicts on a snapshot, for the
 * targets that end in one (snapshot, feed, journal).
 *
 * \file
 * The names cover each kind of record of data/sample (filed, ordered,
 * blacklisted, exempt, parked, unfiled, a TLD, the root, an IDN), asked
 * before resolution, then again with an alias chain and answer addresses
 * (domestic, abroad, a registrar endpoint), in both scopes.  The verdict
 * itself is not checked: reading the snapshot must not crash.
 */
#ifndef ICPGUARD_FUZZ_VERDICT_H
#define ICPGUARD_FUZZ_VERDICT_H
#include "lib/snapshot.h"
#include "lib/verdict.h"
#include "lib/name.h"
#include "lib/addr.h"

/**
 * Decide the fixed names (and the optional extra text names) on view v,
 * with urgent (the order snapshot's view) or NULL.
 */
static inline void
fuzz_verdicts(struct ig_view* v, struct ig_view* urgent,
	const char* const* extra, int nextra)
{
	static const char* const names[] = { "www.filed.cn", "ordered.cn",
		"bad.cn", "x.both-demo.cn", "resolver.demo-isp.cn",
		"parked-demo.cn", "unfiled-dom.cn", "a.b.c.example.com.cn",
		"cn", "xn--fiqs8s", "备案.中国", "future.cn", "." };
	static const char* const addrs[] = { "127.0.10.7", "8.8.8.8",
		"127.0.30.1", "2001:db8:a::1" };
	struct ig_addr a[4];
	uint8_t alias[2][IG_NAME_MAX];
	size_t wl;
	const char* e;
	int i, n = (int)(sizeof(names) / sizeof(names[0])), scope;
	for(i = 0; i < 4; i++)
		if(!ig_addr_parse(addrs[i], &a[i])) abort();
	if(!ig_name_from_text("fwd.reg-demo.cn", alias[0], &wl, &e) ||
		!ig_name_from_text("filed-cdn.cn", alias[1], &wl, &e))
		abort();
	for(i = 0; i < n + nextra; i++) {
		uint8_t wire[IG_NAME_MAX];
		const char* name = i < n ? names[i] : extra[i - n];
		if(!name || !ig_name_from_text(name, wire, &wl, &e))
			continue;
		for(scope = 0; scope < 2; scope++) {
			struct ig_policy_opts o = { (enum ig_scope)scope,
				IG_CHAIN_ALL, 1700000000, urgent };
			struct ig_facts f;
			struct ig_verdict out;
			memset(&f, 0, sizeof(f));
			f.qname = wire;
			(void)ig_decide(v, &f, &o, &out);
			f.alias[0] = alias[0];
			f.alias[1] = alias[1];
			f.nalias = 2;
			f.addr = a;
			f.naddr = 4;
			f.answered = 1;
			(void)ig_decide(v, &f, &o, &out);
		}
	}
}

/**
 * Open a snapshot the way a reader that puts it in force does (verified)
 * and decide the names on it (urgent may be NULL).  @return 1 opened.
 */
static inline int
fuzz_snapshot_verdicts(const char* path, struct ig_view* urgent,
	const char* const* extra, int nextra)
{
	struct ig_snapshot* s = NULL;
	struct ig_view v;
	char err[1024];
	int sealed;
	if(!ig_snapshot_open_verified(path, &s, &sealed, err, sizeof(err)))
		return 0;
	if(ig_view_begin(s, &v)) {
		fuzz_verdicts(&v, urgent, extra, nextra);
		ig_view_end(&v);
	}
	ig_snapshot_unref(s);
	return 1;
}
#endif
