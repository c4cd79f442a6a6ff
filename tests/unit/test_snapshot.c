/*
 * tests/unit/test_snapshot.c - unit tests of lib/snapshot*.c.
 *
 * \file
 * The writer's publishing contract (temporary file, atomic rename, abort
 * and failure leave no temporary and never touch the published file,
 * overlapping ranges rejected), opening errors that name the file, the
 * identity (serial, content hash), every record kind read back through a
 * view, order activity edges, range edges, and the change record written
 * by ig_writer_diff, and the hash index: walks through it agree with walks
 * through the B-tree, and a copy that moves pages has its index refused.
 */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "lib/snapshot.h"
#include "lib/name_index.h"
#include <lmdb.h>
#include "tests/unit/unit_util.h"

/** per-test state: a temporary directory and the snapshot path in it */
struct fixture {
	/** the directory */
	struct ut_dir dir;
	/** DIR/snap.mdb */
	char path[512];
};

static int
setup(void** state)
{
	struct fixture* fx = calloc(1, sizeof(*fx));
	if(!fx) return -1;
	ut_dir_make(&fx->dir);
	ut_dir_file(&fx->dir, "snap.mdb", fx->path);
	*state = fx;
	return 0;
}

static int
teardown(void** state)
{
	struct fixture* fx = *state;
	ut_dir_remove(&fx->dir);
	free(fx);
	return 0;
}

/** 1 if a file exists */
static int
exists(const char* path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

/** the writer's temporary path for a final path */
static char*
tmp_path(const char* path, char* buf, size_t len)
{
	snprintf(buf, len, "%s.tmp.%d", path, (int)getpid());
	return buf;
}

/** a snapshot holding one filing, published at path with serial */
static void
publish_one(const char* path, const char* domain, uint64_t serial)
{
	struct ig_writer* w = ut_writer(path);
	char err[512];
	ut_filing(w, domain, IG_FILING_ACTIVE, "京ICP备16020626号-1");
	if(!ig_writer_publish(w, serial, NULL, err, sizeof(err)))
		fail_msg("publish: %s", err);
}

/** flags at a name in a view */
static unsigned
flags_at(struct ig_view* v, const char* name, struct ig_filing* f)
{
	uint8_t key[IG_KEY_MAX];
	size_t kl = ut_key(name, key);
	return ig_view_name(v, key, kl, f);
}

static void
test_publish_and_open_identity(void** state)
{
	struct fixture* fx = *state;
	struct ig_writer* w = ut_writer(fx->path);
	struct ig_snapshot_info info;
	struct ig_snapshot* s;
	const struct ig_snapshot_info* si;
	char err[512], want[40];
	time_t before = time(NULL);
	size_t i;
	ut_filing(w, "example.cn", IG_FILING_ACTIVE, "京ICP备16020626号-8");
	assert_true(ig_writer_publish(w, 42, &info, err, sizeof(err)));
	assert_int_equal(info.serial, 42);
	assert_int_equal(strlen(info.hash), 64);
	for(i = 0; i < 64; i++)
		assert_non_null(strchr("0123456789abcdef", info.hash[i]));
	snprintf(want, sizeof(want), "42-%.12s", info.hash);
	assert_string_equal(info.ident, want);
	assert_true(info.created >= before && info.created <= time(NULL));

	assert_true(ig_snapshot_open(fx->path, &s, err, sizeof(err)));
	si = ig_snapshot_info(s);
	assert_int_equal(si->serial, 42);
	assert_string_equal(si->hash, info.hash);
	assert_string_equal(si->ident, info.ident);
	assert_int_equal(si->created, info.created);
	assert_string_equal(ig_snapshot_path(s), fx->path);
	ig_snapshot_unref(s);
}

static void
test_temp_file_until_publish(void** state)
{
	struct fixture* fx = *state;
	struct ig_writer* w = ut_writer(fx->path);
	char tmp[600], err[512];
	tmp_path(fx->path, tmp, sizeof(tmp));
	ut_filing(w, "example.cn", IG_FILING_ACTIVE, "京ICP备16020626号-8");
	/* nothing at the final path while building; data in the temporary */
	assert_false(exists(fx->path));
	assert_true(exists(tmp));
	assert_true(ig_writer_publish(w, 1, NULL, err, sizeof(err)));
	assert_true(exists(fx->path));
	assert_false(exists(tmp));
	/* no lock file or other debris: the snapshot is one file */
	assert_int_equal(ut_dir_count(&fx->dir), 1);
}

static void
test_abort_removes_temp(void** state)
{
	struct fixture* fx = *state;
	struct ig_writer* w = ut_writer(fx->path);
	char tmp[600];
	tmp_path(fx->path, tmp, sizeof(tmp));
	ut_filing(w, "example.cn", IG_FILING_ACTIVE, "京ICP备16020626号-8");
	assert_true(exists(tmp));
	ig_writer_abort(w);
	assert_false(exists(tmp));
	assert_false(exists(fx->path));
	assert_int_equal(ut_dir_count(&fx->dir), 0);
}

static void
test_publish_replaces_atomically(void** state)
{
	struct fixture* fx = *state;
	struct ig_snapshot* old, *cur;
	struct ig_view vo, vc;
	char err[512];
	publish_one(fx->path, "old.cn", 1);
	assert_true(ig_snapshot_open(fx->path, &old, err, sizeof(err)));
	publish_one(fx->path, "new.cn", 2);
	assert_true(ig_snapshot_open(fx->path, &cur, err, sizeof(err)));
	/* the reader of the old file keeps seeing the old content */
	assert_true(ig_view_begin(old, &vo));
	assert_true(ig_view_begin(cur, &vc));
	assert_int_equal(ig_snapshot_info(old)->serial, 1);
	assert_int_equal(ig_snapshot_info(cur)->serial, 2);
	assert_true(flags_at(&vo, "old.cn", NULL) & IG_NAME_FILING);
	assert_false(flags_at(&vo, "new.cn", NULL) & IG_NAME_FILING);
	assert_true(flags_at(&vc, "new.cn", NULL) & IG_NAME_FILING);
	assert_false(flags_at(&vc, "old.cn", NULL) & IG_NAME_FILING);
	ig_view_end(&vo);
	ig_view_end(&vc);
	ig_snapshot_unref(old);
	ig_snapshot_unref(cur);
	assert_int_equal(ut_dir_count(&fx->dir), 1);
}

/** publish a writer with two ranges; expect an overlap rejection */
static void
expect_overlap_rejected(struct fixture* fx, const char* a, const char* b)
{
	struct ig_writer* w;
	struct ig_snapshot* s;
	char err[512] = "", tmp[600];
	uint64_t serial;
	publish_one(fx->path, "kept.cn", 7);
	w = ut_writer(fx->path);
	ut_range(w, IG_RANGE_DOMESTIC, a, "t");
	ut_range(w, IG_RANGE_DOMESTIC, b, "t");
	if(ig_writer_publish(w, 8, NULL, err, sizeof(err)))
		fail_msg("overlapping ranges %s and %s published", a, b);
	assert_true(ut_contains(err, "overlap"));
	/* the temporary is gone and the published snapshot is untouched */
	assert_false(exists(tmp_path(fx->path, tmp, sizeof(tmp))));
	assert_true(ig_snapshot_open(fx->path, &s, err, sizeof(err)));
	serial = ig_snapshot_info(s)->serial;
	ig_snapshot_unref(s);
	assert_int_equal(serial, 7);
}

static void
test_overlapping_ranges_rejected(void** state)
{
	expect_overlap_rejected(*state, "10.0.0.0-10.0.0.200",
		"10.0.0.100-10.0.1.255");
}

static void
test_nested_ranges_rejected(void** state)
{
	expect_overlap_rejected(*state, "10.0.0.0/16", "10.0.5.0/24");
}

static void
test_ranges_same_last_rejected(void** state)
{
	/* both end at 10.0.0.255: the second must not silently replace the
	 * first (ranges are keyed by their last address) */
	expect_overlap_rejected(*state, "10.0.0.0/24", "10.0.0.128/25");
}

static void
test_adjacent_and_cross_kind_ranges_ok(void** state)
{
	struct fixture* fx = *state;
	struct ig_writer* w = ut_writer(fx->path);
	struct ig_snapshot* s;
	struct ig_view v;
	struct ig_addr a;
	const char* owner = NULL;
	ut_range(w, IG_RANGE_DOMESTIC, "10.0.0.0/24", "d1");
	ut_range(w, IG_RANGE_DOMESTIC, "10.0.1.0/24", "d2");
	/* a redirect range may lie inside a domestic one */
	ut_range(w, IG_RANGE_REDIRECT, "10.0.0.10-10.0.0.20", "reg");
	s = ut_publish_open(w, fx->path, 1);
	assert_true(ig_view_begin(s, &v));
	a = ut_addr("10.0.0.15");
	assert_true(ig_view_range(&v, IG_RANGE_DOMESTIC, &a, NULL, &owner));
	assert_string_equal(owner, "d1");
	assert_true(ig_view_range(&v, IG_RANGE_REDIRECT, &a, NULL, &owner));
	assert_string_equal(owner, "reg");
	a = ut_addr("10.0.1.0");
	assert_true(ig_view_range(&v, IG_RANGE_DOMESTIC, &a, NULL, &owner));
	assert_string_equal(owner, "d2");
	ig_view_end(&v);
	ig_snapshot_unref(s);
}

static void
test_open_missing_file(void** state)
{
	struct fixture* fx = *state;
	struct ig_snapshot* s = NULL;
	char err[512] = "";
	assert_false(ig_snapshot_open(fx->path, &s, err, sizeof(err)));
	assert_true(ut_contains(err, fx->path));
	assert_true(strlen(err) > strlen(fx->path) + 2); /* and a cause */
}

static void
test_open_garbage_file(void** state)
{
	struct fixture* fx = *state;
	struct ig_snapshot* s = NULL;
	char err[512] = "", junk[16384];
	FILE* f = fopen(fx->path, "w");
	size_t i;
	assert_non_null(f);
	for(i = 0; i < sizeof(junk); i++) junk[i] = (char)(i * 7 + 3);
	assert_int_equal(fwrite(junk, 1, sizeof(junk), f), sizeof(junk));
	fclose(f);
	assert_false(ig_snapshot_open(fx->path, &s, err, sizeof(err)));
	assert_true(ut_contains(err, fx->path));
	/* a short text file too */
	f = fopen(fx->path, "w");
	assert_non_null(f);
	fputs("not a snapshot\n", f);
	fclose(f);
	err[0] = 0;
	assert_false(ig_snapshot_open(fx->path, &s, err, sizeof(err)));
	assert_true(ut_contains(err, fx->path));
}

static void
test_open_foreign_lmdb(void** state)
{
	struct fixture* fx = *state;
	struct ig_snapshot* s = NULL;
	MDB_env* env;
	MDB_txn* txn;
	MDB_dbi dbi;
	MDB_val k, v;
	char err[512] = "";
	/* a valid LMDB file that is not an icpguard snapshot */
	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 4), 0);
	assert_int_equal(mdb_env_open(env, fx->path, MDB_NOSUBDIR |
		MDB_NOLOCK, 0644), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, NULL, 0, &dbi), 0);
	k.mv_data = "hello";
	k.mv_size = 5;
	v = k;
	assert_int_equal(mdb_put(txn, dbi, &k, &v, 0), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
	assert_false(ig_snapshot_open(fx->path, &s, err, sizeof(err)));
	assert_true(ut_contains(err, fx->path));
}

static void
test_content_hash(void** state)
{
	struct fixture* fx = *state;
	struct ig_snapshot_info a, b, c;
	struct ig_writer* w;
	char err[512], p2[512];
	ut_dir_file(&fx->dir, "other.mdb", p2);
	w = ut_writer(fx->path);
	ut_filing(w, "example.cn", IG_FILING_ACTIVE, "京ICP备16020626号-8");
	ut_blacklist(w, "bad.cn", 1, "fraud", "test");
	assert_true(ig_writer_publish(w, 1, &a, err, sizeof(err)));
	/* the same records in another order and at another serial */
	w = ut_writer(p2);
	ut_blacklist(w, "bad.cn", 1, "fraud", "test");
	ut_filing(w, "example.cn", IG_FILING_ACTIVE, "京ICP备16020626号-8");
	assert_true(ig_writer_publish(w, 2, &b, err, sizeof(err)));
	assert_string_equal(a.hash, b.hash);
	/* one field different */
	w = ut_writer(p2);
	ut_blacklist(w, "bad.cn", 0, "fraud", "test");
	ut_filing(w, "example.cn", IG_FILING_ACTIVE, "京ICP备16020626号-8");
	assert_true(ig_writer_publish(w, 3, &c, err, sizeof(err)));
	assert_string_not_equal(a.hash, c.hash);
}

static void
test_name_flags_and_filing(void** state)
{
	struct fixture* fx = *state;
	struct ig_writer* w = ut_writer(fx->path);
	struct ig_snapshot* s;
	struct ig_view v;
	struct ig_filing f;
	uint8_t wire[IG_NAME_MAX];
	unsigned fl;
	/* a filing, then other records at the same name merge flags and keep
	 * the filing */
	ut_filing(w, "example.cn", IG_FILING_REVOKED, "粤ICP备12345678号-3");
	ut_blacklist(w, "example.cn", 1, "r", "s");
	ut_exempt(w, "example.cn", 0, "n");
	ut_wire("cn", wire);
	assert_true(ig_writer_tld(w, wire));
	assert_int_equal(ig_writer_name_flags(w, wire), IG_NAME_TLD);
	ut_wire("example.cn", wire);
	assert_int_equal(ig_writer_name_flags(w, wire), IG_NAME_FILING |
		IG_NAME_BLACKLIST | IG_NAME_EXEMPT);
	ut_wire("nothing.cn", wire);
	assert_int_equal(ig_writer_name_flags(w, wire), 0);
	s = ut_publish_open(w, fx->path, 1);
	assert_true(ig_view_begin(s, &v));
	memset(&f, 0, sizeof(f));
	fl = flags_at(&v, "example.cn", &f);
	assert_int_equal(fl, IG_NAME_FILING | IG_NAME_BLACKLIST |
		IG_NAME_EXEMPT);
	assert_int_equal(f.status, IG_FILING_REVOKED);
	assert_int_equal(f.subject_type, IG_SUBJECT_ENTERPRISE);
	assert_int_equal(f.approved, 1600000000);
	assert_string_equal(f.number, "粤ICP备12345678号-3");
	assert_string_equal(f.subject, "测试科技有限公司");
	assert_string_equal(f.province, "京");
	assert_string_equal(f.provider, "阿里云");
	/* cn is a filable TLD and, from the public suffix list the writer
	 * adds at publish, a public suffix */
	assert_int_equal(flags_at(&v, "cn", NULL) & ~IG_NAME_SUFFIX_WILD,
		IG_NAME_TLD | IG_NAME_SUFFIX);
	assert_int_equal(flags_at(&v, "com.cn", NULL), IG_NAME_SUFFIX);
	assert_int_equal(flags_at(&v, "www.example.cn", NULL), 0);
	assert_int_equal(ig_view_name(&v, (const uint8_t*)"", 0, NULL), 0);
	ig_view_end(&v);
	ig_snapshot_unref(s);
}

/* a sorted load skips the lookup of a name above every name so far; a
 * name at or below the greatest one is still merged with what is there */
static void
test_sorted_load_merges_below_the_last_name(void** state)
{
	struct fixture* fx = *state;
	struct ig_writer* w = ut_writer(fx->path);
	struct ig_snapshot* s;
	struct ig_view v;
	struct ig_filing f;
	uint8_t wire[IG_NAME_MAX];
	ig_writer_set_sorted(w, 1);
	ut_filing(w, "a.cn", IG_FILING_ACTIVE, "京ICP备00000001号-1");
	ut_filing(w, "b.cn", IG_FILING_ACTIVE, "京ICP备00000002号-1");
	ut_filing(w, "c.cn", IG_FILING_REVOKED, "京ICP备00000003号-1");
	/* the greatest name again, then one below it */
	ut_blacklist(w, "c.cn", 0, "r", "s");
	ut_blacklist(w, "b.cn", 1, "r", "s");
	/* a name above all, then more at it and below */
	ut_filing(w, "d.cn", IG_FILING_ACTIVE, "京ICP备00000004号-1");
	ut_exempt(w, "d.cn", 0, "n");
	ut_exempt(w, "a.cn", 0, "n");
	ig_writer_set_sorted(w, 0);
	ut_wire("b.cn", wire);
	assert_int_equal(ig_writer_name_flags(w, wire), IG_NAME_FILING |
		IG_NAME_BLACKLIST);
	s = ut_publish_open(w, fx->path, 1);
	assert_true(ig_view_begin(s, &v));
	memset(&f, 0, sizeof(f));
	assert_int_equal(flags_at(&v, "a.cn", &f), IG_NAME_FILING |
		IG_NAME_EXEMPT);
	assert_string_equal(f.number, "京ICP备00000001号-1");
	assert_int_equal(flags_at(&v, "b.cn", &f), IG_NAME_FILING |
		IG_NAME_BLACKLIST);
	assert_string_equal(f.number, "京ICP备00000002号-1");
	assert_int_equal(flags_at(&v, "c.cn", &f), IG_NAME_FILING |
		IG_NAME_BLACKLIST);
	assert_int_equal(f.status, IG_FILING_REVOKED);
	assert_int_equal(flags_at(&v, "d.cn", &f), IG_NAME_FILING |
		IG_NAME_EXEMPT);
	assert_string_equal(f.number, "京ICP备00000004号-1");
	ig_view_end(&v);
	ig_snapshot_unref(s);
}

/* a writer that commits into its file now and then (the loader's
 * prewrite, every 250,000 filings) writes the same snapshot as one that
 * does not: the same content hash, every record there */
static void
test_checkpoints_write_the_same_snapshot(void** state)
{
	struct fixture* fx = *state;
	char other[600], name[64], hash[65];
	struct ig_snapshot* s;
	struct ig_view v;
	int pass, i;
	snprintf(other, sizeof(other), "%s.other", fx->path);
	for(pass = 0; pass < 2; pass++) {
		const char* path = pass ? other : fx->path;
		struct ig_writer* w = ut_writer(path);
		ig_writer_set_sorted(w, 1);
		for(i = 0; i < 300; i++) {
			snprintf(name, sizeof(name), "n%04d.cn", i);
			ut_filing(w, name, IG_FILING_ACTIVE,
				"京ICP备00000001号-1");
			if(pass && i % 50 == 49)
				assert_true(ig_writer_checkpoint(w));
		}
		ig_writer_set_sorted(w, 0);
		ut_blacklist(w, "n0007.cn", 0, "r", "s");
		s = ut_publish_open(w, path, 1);
		if(!pass) {
			snprintf(hash, sizeof(hash), "%s",
				ig_snapshot_info(s)->hash);
		} else {
			assert_string_equal(ig_snapshot_info(s)->hash, hash);
			assert_true(ig_view_begin(s, &v));
			assert_int_equal(flags_at(&v, "n0000.cn", NULL),
				IG_NAME_FILING);
			assert_int_equal(flags_at(&v, "n0007.cn", NULL),
				IG_NAME_FILING | IG_NAME_BLACKLIST);
			assert_int_equal(flags_at(&v, "n0299.cn", NULL),
				IG_NAME_FILING);
			ig_view_end(&v);
		}
		ig_snapshot_unref(s);
	}
	unlink(other);
}

static void
test_blacklist_and_exempt_records(void** state)
{
	struct fixture* fx = *state;
	struct ig_writer* w = ut_writer(fx->path);
	struct ig_snapshot* s;
	struct ig_view v;
	struct ig_blacklist b;
	struct ig_exempt x;
	uint8_t key[IG_KEY_MAX];
	size_t kl;
	ut_blacklist(w, "bad.cn", 0, "涉嫌诈骗", "CNCERT");
	ut_exempt(w, "resolver.isp.cn", 1, "operator infrastructure");
	s = ut_publish_open(w, fx->path, 1);
	assert_true(ig_view_begin(s, &v));
	kl = ut_key("BAD.cn", key);
	assert_true(ig_view_blacklist(&v, key, kl, &b));
	assert_int_equal(b.subtree, 0);
	assert_int_equal(b.added, 1650000000);
	assert_string_equal(b.reason, "涉嫌诈骗");
	assert_string_equal(b.source, "CNCERT");
	kl = ut_key("www.bad.cn", key);
	assert_false(ig_view_blacklist(&v, key, kl, &b)); /* exact lookups */
	kl = ut_key("resolver.isp.cn", key);
	assert_true(ig_view_exempt(&v, key, kl, &x));
	assert_int_equal(x.subtree, 1);
	assert_string_equal(x.note, "operator infrastructure");
	kl = ut_key("isp.cn", key);
	assert_false(ig_view_exempt(&v, key, kl, &x));
	ig_view_end(&v);
	ig_snapshot_unref(s);
}

static void
test_order_record_and_targets(void** state)
{
	struct fixture* fx = *state;
	struct ig_writer* w = ut_writer(fx->path);
	struct ig_snapshot* s;
	struct ig_view v;
	struct ig_order o;
	static const char* const names[] = { "a.cn.", "b.example.com.cn." };
	static const int sub[] = { 1, 0 };
	size_t pos = 0;
	const char* name;
	int st;
	uint8_t wire[IG_NAME_MAX];
	ut_order(w, "ord-1", "工信厅信管函〔2022〕65号",
		"工业和信息化部网络安全管理局", "涉嫌诈骗", 1000, 2000, 0,
		names, sub, 2);
	ut_wire("a.cn", wire);
	assert_true(ig_writer_name_flags(w, wire) & IG_NAME_ORDER);
	s = ut_publish_open(w, fx->path, 1);
	assert_true(ig_view_begin(s, &v));
	assert_false(ig_view_order(&v, "ord-2", &o));
	assert_true(ig_view_order(&v, "ord-1", &o));
	assert_string_equal(o.id, "ord-1");
	assert_string_equal(o.doc_no, "工信厅信管函〔2022〕65号");
	assert_string_equal(o.unit, "工业和信息化部网络安全管理局");
	assert_string_equal(o.reason, "涉嫌诈骗");
	assert_int_equal(o.effective, 1000);
	assert_int_equal(o.expiry, 2000);
	assert_int_equal(o.lifted, 0);
	assert_int_equal(o.ntargets, 2);
	assert_true(ig_order_target_next(&o, &pos, &name, &st));
	assert_string_equal(name, "a.cn.");
	assert_int_equal(st, 1);
	assert_true(ig_order_target_next(&o, &pos, &name, &st));
	assert_string_equal(name, "b.example.com.cn.");
	assert_int_equal(st, 0);
	assert_false(ig_order_target_next(&o, &pos, &name, &st));
	assert_true(flags_at(&v, "b.example.com.cn", NULL) & IG_NAME_ORDER);
	ig_view_end(&v);
	ig_snapshot_unref(s);
}

static void
test_order_at_exact_and_subtree(void** state)
{
	struct fixture* fx = *state;
	struct ig_writer* w = ut_writer(fx->path);
	struct ig_snapshot* s;
	struct ig_view v;
	struct ig_order o;
	static const char* const n1[] = { "sub.cn" };
	static const char* const n2[] = { "exact.cn" };
	static const int one = 1, zero = 0;
	uint8_t key[IG_KEY_MAX];
	size_t kl;
	ut_order(w, "o-sub", "d1", "u", "r", 100, 0, 0, n1, &one, 1);
	ut_order(w, "o-exact", "d2", "u", "r", 100, 0, 0, n2, &zero, 1);
	s = ut_publish_open(w, fx->path, 1);
	assert_true(ig_view_begin(s, &v));
	kl = ut_key("sub.cn", key);
	/* a subtree target matches both as the name and as an ancestor */
	assert_true(ig_view_order_at(&v, key, kl, 1, 150, &o));
	assert_string_equal(o.id, "o-sub");
	assert_true(ig_view_order_at(&v, key, kl, 0, 150, &o));
	/* not before it takes effect */
	assert_false(ig_view_order_at(&v, key, kl, 1, 99, &o));
	kl = ut_key("exact.cn", key);
	/* an exact target matches only the name itself */
	assert_true(ig_view_order_at(&v, key, kl, 1, 150, &o));
	assert_string_equal(o.id, "o-exact");
	assert_false(ig_view_order_at(&v, key, kl, 0, 150, &o));
	kl = ut_key("other.cn", key);
	assert_false(ig_view_order_at(&v, key, kl, 1, 150, &o));
	ig_view_end(&v);
	ig_snapshot_unref(s);
}

static void
test_order_active_edges(void** state)
{
	struct ig_order o;
	(void)state;
	memset(&o, 0, sizeof(o));
	o.effective = 1000;
	assert_false(ig_order_active(&o, 999));
	assert_true(ig_order_active(&o, 1000));   /* exactly at effective */
	assert_true(ig_order_active(&o, INT64_MAX)); /* no expiry */
	o.expiry = 2000;
	assert_true(ig_order_active(&o, 1999));
	assert_false(ig_order_active(&o, 2000));  /* exactly at expiry */
	o.lifted = 1500;
	assert_true(ig_order_active(&o, 1499));
	assert_false(ig_order_active(&o, 1500));  /* exactly when lifted */
	assert_false(ig_order_active(&o, 1800));
}

static void
test_range_lookup_edges(void** state)
{
	struct fixture* fx = *state;
	struct ig_writer* w = ut_writer(fx->path);
	struct ig_snapshot* s;
	struct ig_view v;
	struct ig_range r, got;
	struct ig_addr a;
	const char* owner = NULL;
	char t1[64], t2[64];
	static const struct { const char* addr; int in; } cases[] = {
		{ "1.0.0.255", 0 }, { "1.0.1.0", 1 }, { "1.0.2.77", 1 },
		{ "1.0.4.231", 1 }, { "1.0.4.232", 0 }, { "0.0.0.0", 0 },
		{ "240e::", 1 }, { "240e:fff:ffff:ffff:ffff:ffff:ffff:ffff", 1 },
		{ "240e:1000::", 0 }, { "240d:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
		0 }, { "::ffff:1.0.1.0", 1 }, { "255.255.255.255", 0 },
		{ "2001:db8::1", 0 },
	};
	size_t i;
	/* 1.0.1.0 + 1000 addresses (not a power of two) */
	a = ut_addr("1.0.1.0");
	assert_true(ig_range_from_v4_count(&a, 1000, &r));
	assert_true(ig_writer_range(w, IG_RANGE_DOMESTIC, &r, "apnic"));
	ut_range(w, IG_RANGE_DOMESTIC, "240e::/20", "apnic6");
	ut_range(w, IG_RANGE_REDIRECT, "2001:db8::1", "reg");
	s = ut_publish_open(w, fx->path, 1);
	assert_true(ig_view_begin(s, &v));
	for(i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		a = ut_addr(cases[i].addr);
		if(ig_view_range(&v, IG_RANGE_DOMESTIC, &a, &got, &owner) !=
			cases[i].in)
			fail_msg("%s: want %s", cases[i].addr, cases[i].in ?
				"domestic" : "not domestic");
	}
	a = ut_addr("1.0.3.0");
	assert_true(ig_view_range(&v, IG_RANGE_DOMESTIC, &a, &got, &owner));
	assert_string_equal(ig_addr_to_text(&got.first, t1, sizeof(t1)),
		"1.0.1.0");
	assert_string_equal(ig_addr_to_text(&got.last, t2, sizeof(t2)),
		"1.0.4.231");
	assert_string_equal(owner, "apnic");
	/* the redirect range is a different kind */
	a = ut_addr("2001:db8::1");
	assert_true(ig_view_range(&v, IG_RANGE_REDIRECT, &a, NULL, &owner));
	assert_string_equal(owner, "reg");
	a = ut_addr("1.0.2.0");
	assert_false(ig_view_range(&v, IG_RANGE_REDIRECT, &a, NULL, NULL));
	ig_view_end(&v);
	ig_snapshot_unref(s);
}

static void
test_registrar_records(void** state)
{
	struct fixture* fx = *state;
	struct ig_writer* w = ut_writer(fx->path);
	struct ig_snapshot* s;
	struct ig_view v;
	struct ig_registrar r = { "reg-a", "注册商甲" }, got;
	struct ig_regdomain d = { IG_REGDOMAIN_PARKING |
		IG_REGDOMAIN_FORWARDING, "reg-a", "clientHold" }, gd;
	uint8_t wire[IG_NAME_MAX], key[IG_KEY_MAX];
	const char* reg = NULL;
	size_t kl;
	assert_true(ig_writer_registrar(w, &r));
	ut_redirect_host(w, "fwd.registrar-a.cn", "reg-a");
	ut_wire("parked.cn", wire);
	assert_true(ig_writer_regdomain(w, wire, &d));
	s = ut_publish_open(w, fx->path, 1);
	assert_true(ig_view_begin(s, &v));
	assert_true(ig_view_registrar(&v, "reg-a", &got));
	assert_string_equal(got.id, "reg-a");
	assert_string_equal(got.name, "注册商甲");
	assert_false(ig_view_registrar(&v, "reg-b", &got));
	kl = ut_key("fwd.registrar-a.cn", key);
	assert_true(ig_view_redirect_host(&v, key, kl, &reg));
	assert_string_equal(reg, "reg-a");
	assert_true(flags_at(&v, "fwd.registrar-a.cn", NULL) &
		IG_NAME_REDIRECT);
	kl = ut_key("parked.cn", key);
	assert_true(ig_view_regdomain(&v, key, kl, &gd));
	assert_int_equal(gd.flags, IG_REGDOMAIN_PARKING |
		IG_REGDOMAIN_FORWARDING);
	assert_string_equal(gd.registrar, "reg-a");
	assert_string_equal(gd.status, "clientHold");
	ig_view_end(&v);
	ig_snapshot_unref(s);
}

static void
test_meta_and_counts(void** state)
{
	struct fixture* fx = *state;
	struct ig_writer* w = ut_writer(fx->path);
	struct ig_snapshot* s;
	struct ig_view v;
	const char* m;
	ut_filing(w, "a.cn", IG_FILING_ACTIVE, "京ICP备16020626号-1");
	ut_filing(w, "b.cn", IG_FILING_CANCELLED, "京ICP备16020626号-2");
	ut_blacklist(w, "c.cn", 1, "r", "s");
	ut_range(w, IG_RANGE_DOMESTIC, "1.0.0.0/24", "x");
	ut_range(w, IG_RANGE_DOMESTIC, "2.0.0.0/24", "x");
	ut_range(w, IG_RANGE_DOMESTIC, "3.0.0.0/24", "x");
	assert_true(ig_writer_meta(w, "source.filings", "serial-77"));
	s = ut_publish_open(w, fx->path, 9);
	assert_true(ig_view_begin(s, &v));
	assert_non_null(m = ig_view_meta(&v, "format"));
	assert_string_equal(m, IG_SNAPSHOT_FORMAT);
	assert_non_null(m = ig_view_meta(&v, "count.filing"));
	assert_string_equal(m, "2");
	assert_non_null(m = ig_view_meta(&v, "count.blacklist"));
	assert_string_equal(m, "1");
	assert_non_null(m = ig_view_meta(&v, "count.range.domestic"));
	assert_string_equal(m, "3");
	assert_non_null(m = ig_view_meta(&v, "serial"));
	assert_string_equal(m, "9");
	assert_non_null(m = ig_view_meta(&v, "source.filings"));
	assert_string_equal(m, "serial-77");
	assert_null(ig_view_meta(&v, "no.such.key"));
	ig_view_end(&v);
	ig_snapshot_unref(s);
}

static void
test_view_outlives_unref(void** state)
{
	struct fixture* fx = *state;
	struct ig_snapshot* s;
	struct ig_view v;
	char err[512];
	publish_one(fx->path, "ref.cn", 3);
	assert_true(ig_snapshot_open(fx->path, &s, err, sizeof(err)));
	assert_true(ig_view_begin(s, &v));
	/* the view holds its own reference: the file stays mapped */
	ig_snapshot_unref(s);
	unlink(fx->path);
	assert_true(flags_at(&v, "ref.cn", NULL) & IG_NAME_FILING);
	assert_int_equal(ig_snapshot_info(v.snap)->serial, 3);
	ig_view_end(&v);
	assert_null(v.snap);
}

/** 1 if the changed database of a view holds the name */
static int
changed_has(struct ig_view* v, const char* name)
{
	uint8_t key[IG_KEY_MAX];
	MDB_val k, val;
	k.mv_size = ut_key(name, key);
	k.mv_data = key;
	return mdb_get(v->txn, ig_view_dbi(v, IG_DB_CHANGED), &k, &val) == 0;
}

static void
test_diff_changed_names(void** state)
{
	struct fixture* fx = *state;
	struct ig_writer* w;
	struct ig_snapshot* prev, *s;
	struct ig_view v;
	char p2[512], err[512];
	ut_dir_file(&fx->dir, "next.mdb", p2);
	w = ut_writer(fx->path);
	ut_filing(w, "same.cn", IG_FILING_ACTIVE, "京ICP备16020626号-1");
	ut_filing(w, "gone.cn", IG_FILING_ACTIVE, "京ICP备16020626号-2");
	ut_filing(w, "status.cn", IG_FILING_ACTIVE, "京ICP备16020626号-3");
	ut_blacklist(w, "bl-old.cn", 1, "r", "s");
	ut_range(w, IG_RANGE_DOMESTIC, "1.0.0.0/24", "x");
	prev = ut_publish_open(w, fx->path, 1);

	w = ut_writer(p2);
	ut_filing(w, "same.cn", IG_FILING_ACTIVE, "京ICP备16020626号-1");
	ut_filing(w, "status.cn", IG_FILING_REVOKED, "京ICP备16020626号-3");
	ut_filing(w, "added.cn", IG_FILING_ACTIVE, "京ICP备16020626号-4");
	ut_blacklist(w, "bl-new.cn", 1, "r", "s");
	ut_range(w, IG_RANGE_DOMESTIC, "1.0.0.0/24", "x");
	if(!ig_writer_diff(w, prev)) fail_msg("diff: %s", ig_writer_error(w));
	s = ut_publish_open(w, p2, 2);
	assert_true(ig_view_begin(s, &v));
	assert_true(changed_has(&v, "gone.cn"));
	assert_true(changed_has(&v, "status.cn"));
	assert_true(changed_has(&v, "added.cn"));
	assert_true(changed_has(&v, "bl-old.cn"));
	assert_true(changed_has(&v, "bl-new.cn"));
	assert_false(changed_has(&v, "same.cn"));
	/* ranges are equal: no global change */
	assert_int_equal(ig_snapshot_info(s)->changed_all, 0);
	assert_non_null(ig_view_meta(&v, "count.changed"));
	assert_string_equal(ig_view_meta(&v, "count.changed"), "5");
	ig_view_end(&v);
	ig_snapshot_unref(s);
	ig_snapshot_unref(prev);
	(void)err;
}

static void
test_diff_orders_and_ranges(void** state)
{
	struct fixture* fx = *state;
	struct ig_writer* w;
	struct ig_snapshot* prev, *s;
	struct ig_view v;
	static const char* const t1[] = { "target-a.cn", "target-b.cn" };
	static const char* const t2[] = { "target-c.cn" };
	static const int sub[] = { 1, 1 };
	char p2[512];
	ut_dir_file(&fx->dir, "next.mdb", p2);
	w = ut_writer(fx->path);
	ut_order(w, "o1", "d", "u", "r", 100, 0, 0, t1, sub, 2);
	ut_order(w, "o2", "d", "u", "r", 100, 0, 0, t2, sub, 1);
	ut_range(w, IG_RANGE_DOMESTIC, "1.0.0.0/24", "x");
	prev = ut_publish_open(w, fx->path, 1);

	w = ut_writer(p2);
	/* o1 is lifted: its targets change; o2 is unchanged */
	ut_order(w, "o1", "d", "u", "r", 100, 0, 500, t1, sub, 2);
	ut_order(w, "o2", "d", "u", "r", 100, 0, 0, t2, sub, 1);
	ut_range(w, IG_RANGE_DOMESTIC, "1.0.0.0/23", "x");
	if(!ig_writer_diff(w, prev)) fail_msg("diff: %s", ig_writer_error(w));
	s = ut_publish_open(w, p2, 2);
	assert_true(ig_view_begin(s, &v));
	assert_true(changed_has(&v, "target-a.cn"));
	assert_true(changed_has(&v, "target-b.cn"));
	assert_false(changed_has(&v, "target-c.cn"));
	/* a domestic range changed: every verdict may have changed */
	assert_int_equal(ig_snapshot_info(s)->changed_all, 1);
	ig_view_end(&v);
	ig_snapshot_unref(s);
	ig_snapshot_unref(prev);
}

static void
test_targets_encode_overflow(void** state)
{
	static const char* const names[] = { "a-rather-long-name.example.cn",
		"b.cn" };
	static const int sub[] = { 1, 0 };
	uint8_t buf[64];
	size_t n;
	(void)state;
	n = ig_order_targets_encode(names, sub, 2, buf, sizeof(buf));
	/* 2 x (flag + u16 length + NUL) plus the text */
	assert_int_equal(n, 2 * 4 + strlen(names[0]) + strlen(names[1]));
	assert_int_equal(ig_order_targets_encode(names, sub, 2, buf, 20), 0);
}

static void
test_db_names(void** state)
{
	(void)state;
	assert_string_equal(ig_db_name(IG_DB_META), "meta");
	assert_string_equal(ig_db_name(IG_DB_ORDER_TARGET), "order_target");
	assert_string_equal(ig_db_name(IG_DB_CHANGED), "changed");
	assert_string_equal(ig_db_name(IG_DB_COUNT), "?");
}


/* ------------------------------------------------------------------ */
/* the hash index over the name database                               */

/** a random name from a small alphabet of labels, so that names share
 * ancestors and many ancestors have no record of their own */
static void
random_name(unsigned* seed, int maxdepth, char* out, size_t len)
{
	static const char* const tlds[] = { "cn", "com.cn", "net", "xn--fiqs8s" };
	static const char* const labels[] = { "a", "b", "www", "mail", "x-1",
		"_dmarc", "shop", "yun", "e", "f" };
	int depth = 1 + (int)(rand_r(seed) % (unsigned)maxdepth), i;
	size_t p = 0;
	for(i = 0; i < depth; i++)
		p += (size_t)snprintf(out + p, len - p, "%s.", labels[rand_r(seed)
			% (sizeof(labels) / sizeof(labels[0]))]);
	snprintf(out + p, len - p, "%s", tlds[rand_r(seed) %
		(sizeof(tlds) / sizeof(tlds[0]))]);
}

/** walk one name with and without the index and require the same result */
static void
walk_both(struct ig_view* vi, struct ig_view* vb, const char* name)
{
	uint8_t wire[IG_NAME_MAX], key[IG_KEY_MAX], fi[IG_LABELS_MAX],
		fb[IG_LABELS_MAX];
	size_t labelend[IG_LABELS_MAX];
	struct ig_filing gi, gb;
	int nl, li, lb;
	unsigned ai, ab;
	ut_wire(name, wire);
	ig_name_wire_to_key(wire, key, labelend, &nl);
	memset(&gi, 0, sizeof(gi));
	memset(&gb, 0, sizeof(gb));
	ai = ig_view_walk(vi, key, labelend, nl, fi, &gi, &li);
	ab = ig_view_walk(vb, key, labelend, nl, fb, &gb, &lb);
	if(ai != ab || li != lb || memcmp(fi, fb, (size_t)nl) != 0 ||
		(li >= 0 && strcmp(gi.number, gb.number) != 0))
		fail_msg("%s: index walk %#x level %d, B-tree walk %#x level %d",
			name, ai, li, ab, lb);
}

static void
test_index_walk_agrees(void** state)
{
	struct fixture* fx = *state;
	struct ig_writer* w = ut_writer(fx->path);
	struct ig_snapshot* s, *c;
	struct ig_view vi, vb, vc;
	char name[300], copy[600], err[512];
	unsigned seed = 7;
	int i, added = 0;
	MDB_env* env;
	for(i = 0; i < 3000; i++) {
		uint8_t wire[IG_NAME_MAX];
		random_name(&seed, 5, name, sizeof(name));
		ut_wire(name, wire);
		if(ig_writer_name_flags(w, wire) & IG_NAME_FILING) continue;
		if(i % 7 == 0)
			ut_blacklist(w, name, i % 2, "r", "s");
		else {
			ut_filing(w, name, IG_FILING_ACTIVE, "京ICP备16020626号-1");
			added++;
		}
	}
	assert_true(added > 1000);
	s = ut_publish_open(w, fx->path, 1);
	assert_true(ig_snapshot_info(s)->has_index);
	assert_true(ig_snapshot_info(s)->index_entries > (uint64_t)added);
	assert_true(ig_view_begin(s, &vi));
	assert_true(ig_view_begin(s, &vb));
	vb.no_index = 1;
	for(i = 0; i < 20000; i++) {
		random_name(&seed, 7, name, sizeof(name));
		walk_both(&vi, &vb, name);
	}
	walk_both(&vi, &vb, "cn");
	walk_both(&vi, &vb, "unknown-tld");
	walk_both(&vi, &vb, "a.b.c.d.unknown-tld");
	/* a copy that moves pages: the index no longer matches the file and
	 * is refused; walks then use the B-tree and still agree */
	snprintf(copy, sizeof(copy), "%s.compact", fx->path);
	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, IG_DB_COUNT + 1), 0);
	assert_int_equal(mdb_env_open(env, fx->path, MDB_NOSUBDIR |
		MDB_RDONLY | MDB_NOLOCK, 0644), 0);
	assert_int_equal(mdb_env_copy2(env, copy, MDB_CP_COMPACT), 0);
	mdb_env_close(env);
	if(!ig_snapshot_open(copy, &c, err, sizeof(err)))
		fail_msg("open copy: %s", err);
	assert_false(ig_snapshot_info(c)->has_index);
	assert_true(ut_contains(ig_snapshot_info(c)->index_refused,
		"does not match"));
	assert_true(ig_view_begin(c, &vc));
	seed = 11;
	for(i = 0; i < 2000; i++) {
		random_name(&seed, 7, name, sizeof(name));
		walk_both(&vi, &vc, name);
	}
	ig_view_end(&vc);
	ig_snapshot_unref(c);
	unlink(copy);
	ig_view_end(&vi);
	ig_view_end(&vb);
	ig_snapshot_unref(s);
}

/* build an index of names (a fresh database) with the count given (or
 * 0: the build sizes it itself) and load it; @return the loaded entries
 * (0 when the build failed: err says why), *mask the table's */
static uint64_t
index_of(const char* path, const char* const* names, uint64_t given,
	uint64_t* mask, char* err, size_t errlen)
{
	MDB_env* env;
	MDB_txn* txn;
	MDB_dbi name, idx;
	MDB_val k, v;
	struct ig_name_index x;
	uint64_t got = 0;
	int i;
	unlink(path);
	assert_int_equal(mdb_env_create(&env), 0);
	assert_int_equal(mdb_env_set_maxdbs(env, 4), 0);
	assert_int_equal(mdb_env_open(env, path, MDB_NOSUBDIR, 0600), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "name", MDB_CREATE, &name), 0);
	for(i = 0; names[i]; i++) {
		uint8_t key[IG_KEY_MAX];
		k.mv_size = ut_key(names[i], key);
		k.mv_data = key;
		v.mv_data = (void*)"\001";
		v.mv_size = 1;
		assert_int_equal(mdb_put(txn, name, &k, &v, 0), 0);
	}
	assert_int_equal(mdb_txn_commit(txn), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "index", MDB_CREATE, &idx), 0);
	if(!ig_name_index_build(env, txn, name, idx, 7, given, NULL, err,
		errlen)) {
		mdb_txn_abort(txn);
		mdb_env_close(env);
		return 0;
	}
	assert_int_equal(mdb_txn_commit(txn), 0);
	assert_int_equal(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
	memset(&x, 0, sizeof(x));
	assert_int_equal(ig_name_index_load(&x, txn, name, err, errlen), 1);
	got = x.entries;
	*mask = x.mask;
	mdb_txn_abort(txn);
	mdb_env_close(env);
	return got;
}

/* the table is sized for its nodes (names and their ancestors without a
 * record): a count given is checked (too low fails with the two figures,
 * instead of a table that fills up); without one the build starts from
 * the record count and, when the ancestors outgrow that table, builds
 * it again at the size a count would have given */
static void
test_index_count_given_or_taken(void** state)
{
	struct fixture* fx = *state;
	static const char* names[] = { "a.cn", "x.a.cn", "y.a.cn",
		"b.com.cn", "c.org", NULL };
	/* 11 records (a table of 32 slots for them alone), each with
	 * four ancestors of its own and cn: 11 * 5 + 1 = 56 nodes, 128 slots */
	static const char* deep[] = { "a.b.c.d.e0.cn", "a.b.c.d.e1.cn",
		"a.b.c.d.e2.cn", "a.b.c.d.e3.cn", "a.b.c.d.e4.cn",
		"a.b.c.d.e5.cn", "a.b.c.d.e6.cn", "a.b.c.d.e7.cn",
		"a.b.c.d.e8.cn", "a.b.c.d.e9.cn", "a.b.c.d.e10.cn", NULL };
	char err[256];
	uint64_t mask = 0, mask2 = 0;
	/* the five names, and cn, com.cn, org */
	assert_int_equal(index_of(fx->path, names, 2, &mask, err,
		sizeof(err)), 0);
	assert_true(ut_contains(err, "2 names counted, 8 found"));
	assert_int_equal(index_of(fx->path, names, 8, &mask, err,
		sizeof(err)), 8);
	assert_int_equal(index_of(fx->path, names, 0, &mask2, err,
		sizeof(err)), 8);
	assert_int_equal(mask, mask2);
	assert_int_equal(index_of(fx->path, deep, 0, &mask, err,
		sizeof(err)), 56);
	assert_int_equal(mask, 127);
	assert_int_equal(index_of(fx->path, deep, 56, &mask2, err,
		sizeof(err)), 56);
	assert_int_equal(mask2, 127);
}

static void
test_index_absent_without_names(void** state)
{
	struct fixture* fx = *state;
	struct ig_writer* w;
	struct ig_snapshot* s;
	struct ig_view v;
	uint8_t wire[IG_NAME_MAX], key[IG_KEY_MAX], fl[IG_LABELS_MAX];
	size_t labelend[IG_LABELS_MAX];
	struct ig_filing f;
	int nl, lvl;
	/* no public suffix list and no records: nothing to index; the
	 * snapshot opens without an index and without a complaint */
	setenv("ICPGUARD_PSL_FILE", "/nonexistent/psl.dat", 1);
	w = ut_writer(fx->path);
	s = ut_publish_open(w, fx->path, 1);
	unsetenv("ICPGUARD_PSL_FILE");
	assert_false(ig_snapshot_info(s)->has_index);
	assert_string_equal(ig_snapshot_info(s)->index_refused, "");
	assert_true(ig_view_begin(s, &v));
	ut_wire("www.example.cn", wire);
	ig_name_wire_to_key(wire, key, labelend, &nl);
	assert_int_equal(ig_view_walk(&v, key, labelend, nl, fl, &f, &lvl), 0);
	assert_int_equal(lvl, -1);
	ig_view_end(&v);
	ig_snapshot_unref(s);
}

/** copy the first n bytes of src to dst (n: -1 the whole file), then
 * flip the byte at flip (-1: none) */
static void
copy_damaged(const char* src, const char* dst, long n, long flip)
{
	FILE* in = fopen(src, "rb"), *out = fopen(dst, "wb");
	long i = 0;
	int c;
	assert_non_null(in);
	assert_non_null(out);
	while((n < 0 || i < n) && (c = fgetc(in)) != EOF) {
		if(i == flip) c ^= 0x5a;
		fputc(c, out);
		i++;
	}
	fclose(in);
	fclose(out);
}

/* a published snapshot is sealed; truncated copies never reach LMDB (no
 * SIGBUS), a changed byte fails the verification, the original passes */
static void
test_seal_truncation_and_damage(void** state)
{
	struct fixture* fx = *state;
	struct ig_snapshot* s = NULL;
	char bad[600], err[512];
	struct stat st;
	static const long cuts[] = { 0, 100, 4096, 12288, 20000, 40960, -2 };
	int i, sealed = 0;
	publish_one(fx->path, "filed.cn", 7);
	assert_int_equal(stat(fx->path, &st), 0);
	assert_true(ig_snapshot_file_verify(fx->path, &sealed, err,
		sizeof(err)));
	assert_int_equal(sealed, 1);
	assert_true(ig_snapshot_open_verified(fx->path, &s, &sealed, err,
		sizeof(err)));
	ig_snapshot_unref(s);
	snprintf(bad, sizeof(bad), "%s.bad", fx->path);
	for(i = 0; cuts[i] != -2; i++) {
		long n = cuts[i] < st.st_size ? cuts[i] : (long)st.st_size - 1;
		copy_damaged(fx->path, bad, n, -1);
		s = NULL;
		assert_false(ig_snapshot_open(bad, &s, err, sizeof(err)));
		assert_null(s);
		assert_non_null(strstr(err, bad));
		assert_false(ig_snapshot_open_verified(bad, &s, &sealed, err,
			sizeof(err)));
	}
	/* one byte short of the seal, and one byte inside a page */
	copy_damaged(fx->path, bad, (long)st.st_size - 1, -1);
	assert_false(ig_snapshot_file_verify(bad, &sealed, err, sizeof(err)));
	copy_damaged(fx->path, bad, -1, 4096 * 3 + 100);
	assert_false(ig_snapshot_file_verify(bad, &sealed, err, sizeof(err)));
	assert_non_null(strstr(err, "damaged"));
	assert_false(ig_snapshot_open_verified(bad, &s, &sealed, err,
		sizeof(err)));
	/* the seal cut off whole: LMDB's pages are all there, but nothing
	 * vouches for them (the snapshot fuzz target crashed LMDB with such a
	 * file): refused by the full check, the cheap one lets it pass */
	copy_damaged(fx->path, bad, (long)st.st_size - IG_SEAL_LEN, -1);
	assert_false(ig_snapshot_file_verify(bad, &sealed, err, sizeof(err)));
	assert_non_null(strstr(err, "not sealed"));
	assert_true(ig_snapshot_open(bad, &s, err, sizeof(err)));
	ig_snapshot_unref(s);
	s = NULL;
	/* the seal itself altered */
	copy_damaged(fx->path, bad, -1, (long)st.st_size - 10);
	assert_false(ig_snapshot_file_verify(bad, &sealed, err, sizeof(err)));
	unlink(bad);
}

/* a file renamed over the path between the check and LMDB's open is
 * refused before LMDB reads a page of it: a short one would SIGBUS */
static void
test_open_checked_other_file(void** state)
{
	struct fixture* fx = *state;
	struct ig_snapshot* s = NULL;
	char other[600], err[512];
	int fd;
	publish_one(fx->path, "filed.cn", 7);
	snprintf(other, sizeof(other), "%s.other", fx->path);
	copy_damaged(fx->path, other, -1, -1);
	fd = open(other, O_RDONLY);
	assert_true(fd >= 0);
	/* the checked file (other) is whole; the path now holds a short one */
	copy_damaged(other, fx->path, 12288, -1);
	assert_false(ig_snapshot_open_checked(fx->path, fd, &s, err,
		sizeof(err)));
	assert_null(s);
	assert_non_null(strstr(err, "replaced while it was being opened"));
	/* the same file: opened */
	assert_true(ig_snapshot_open_checked(other, fd, &s, err,
		sizeof(err)));
	ig_snapshot_unref(s);
	close(fd);
	unlink(other);
}

/* ig_snapshot_open_memo verifies a file whole the first time, only checks
 * the same unchanged file cheaply after that, and verifies again (and
 * refuses) a file damaged in place or renamed over the path */
static void
test_open_memo(void** state)
{
	struct fixture* fx = *state;
	struct ig_snapshot_memo memo = { 0 };
	struct ig_snapshot* s = NULL;
	char bad[600], err[512];
	struct stat st;
	publish_one(fx->path, "filed.cn", 7);
	snprintf(bad, sizeof(bad), "%s.bad", fx->path);
	copy_damaged(fx->path, bad, -1, -1);
	assert_true(ig_snapshot_open_memo(bad, &memo, &s, err, sizeof(err)));
	ig_snapshot_unref(s);
	assert_int_equal(memo.valid, 1);
	assert_int_equal(stat(bad, &st), 0);
	assert_true(memo.id.ino == st.st_ino && memo.id.size == st.st_size);
	/* the same file again: opened (the cheap check) */
	assert_true(ig_snapshot_open_memo(bad, &memo, &s, err, sizeof(err)));
	ig_snapshot_unref(s);
	/* damaged in place (a byte of a page; the write moves the mtime) */
	{
		int fd = open(bad, O_WRONLY);
		unsigned char c = 0xa5;
		struct timespec ts[2] = { { 0, UTIME_OMIT },
			{ st.st_mtim.tv_sec + 1, 0 } };
		assert_true(fd >= 0);
		assert_int_equal(pwrite(fd, &c, 1, 4096 * 3 + 100), 1);
		/* the mtime moved on even on a coarse clock */
		assert_int_equal(futimens(fd, ts), 0);
		close(fd);
	}
	s = NULL;
	assert_false(ig_snapshot_open_memo(bad, &memo, &s, err, sizeof(err)));
	assert_null(s);
	assert_non_null(strstr(err, "damaged"));
	/* another file renamed over the path: verified, and it is whole */
	{
		char other[620];
		snprintf(other, sizeof(other), "%s.other", fx->path);
		copy_damaged(fx->path, other, -1, -1);
		assert_int_equal(rename(other, bad), 0);
	}
	assert_true(ig_snapshot_open_memo(bad, &memo, &s, err, sizeof(err)));
	ig_snapshot_unref(s);
	unlink(bad);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_publish_and_open_identity),
		T(test_temp_file_until_publish),
		T(test_abort_removes_temp),
		T(test_publish_replaces_atomically),
		T(test_overlapping_ranges_rejected),
		T(test_nested_ranges_rejected),
		T(test_ranges_same_last_rejected),
		T(test_adjacent_and_cross_kind_ranges_ok),
		T(test_open_missing_file),
		T(test_open_garbage_file),
		T(test_open_foreign_lmdb),
		T(test_content_hash),
		T(test_name_flags_and_filing),
		T(test_sorted_load_merges_below_the_last_name),
		T(test_checkpoints_write_the_same_snapshot),
		T(test_blacklist_and_exempt_records),
		T(test_order_record_and_targets),
		T(test_order_at_exact_and_subtree),
		T(test_order_active_edges),
		T(test_range_lookup_edges),
		T(test_registrar_records),
		T(test_meta_and_counts),
		T(test_view_outlives_unref),
		T(test_diff_changed_names),
		T(test_diff_orders_and_ranges),
		T(test_targets_encode_overflow),
		T(test_db_names),
		T(test_index_walk_agrees),
		T(test_index_absent_without_names),
		T(test_index_count_given_or_taken),
		T(test_seal_truncation_and_damage),
		T(test_open_checked_other_file),
		T(test_open_memo),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
