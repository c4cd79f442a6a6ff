/*
 * tests/fuzz/fuzz_feed.c - signed feed payloads through the loader's apply
 * and publish path.
 *
 * \file
 * The input is a feed file (the protobuf records of docs/feeds.md; seeds:
 * full feeds and deltas written by `icpguard feed` from data/sample,
 * run.sh).  The harness signs it with its own key (tests/fuzz/fuzz_key.h;
 * the statement from the file's own header), then, as icpguard-loader does
 * with a download:
 *  - state_apply (loader/state.c) on a fresh state: the signature, the
 *    digest, the header against the statement, serials, every record and
 *    removal unpacked and checked, bad records quarantined; a delta is
 *    applied over a full feed of the same kind at the delta's base serial
 *    (the records of $FUZZ_FEED_BASE/KIND.pb, an empty feed without it),
 *    and a filings feed over the TLD feed of $FUZZ_FEED_BASE (filings are
 *    checked against the filable TLDs in force);
 *  - loader_publish (loader/publish.c): the snapshot written from the
 *    state, sealed, put in force;
 *  - the published snapshot opened verified and a few verdicts.
 * Two properties are checked besides the sanitizers (abort on failure):
 * a feed the loader applied always publishes (one accepted record must
 * never freeze publishing, issue 17 finding 4), and what it publishes
 * always opens.
 */
#include "tests/fuzz/fuzz_common.h"
#include "tests/fuzz/fuzz_key.h"
#include "tests/fuzz/fuzz_verdict.h"
#include "config.h"
#include "loader/state.h"
#include "loader/publish.h"
#include "data/feed.pb-c.h"

int LLVMFuzzerInitialize(int* argc, char*** argv);
int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

/** the records of a base full feed of one kind */
struct base_feed {
	/** field numbers */
	unsigned* field;
	/** packed records */
	uint8_t** rec;
	/** their lengths */
	size_t* len;
	/** count */
	size_t n;
};

/** base feeds by kind (1..5) */
static struct base_feed base[6];

/** read $FUZZ_FEED_BASE/KIND.pb of each kind, when there */
static void
base_load(void)
{
	const char* dir = getenv("FUZZ_FEED_BASE");
	int k;
	if(!dir) return;
	for(k = 1; k <= 5; k++) {
		struct ig_feed_reader r;
		char path[1024], err[512];
		const char* code;
		unsigned field;
		const uint8_t* d;
		size_t dl;
		struct base_feed* b = &base[k];
		snprintf(path, sizeof(path), "%s/%s.pb", dir,
			ig_feed_kind_name((Icpguard__Feed__Kind)k));
		if(!ig_feed_open(&r, path, &code, err, sizeof(err))) continue;
		while(ig_feed_next(&r, &field, &d, &dl)) {
			if(field < 10 || field > 15) continue;
			b->field = realloc(b->field, (b->n + 1) *
				sizeof(*b->field));
			b->rec = realloc(b->rec, (b->n + 1) * sizeof(*b->rec));
			b->len = realloc(b->len, (b->n + 1) * sizeof(*b->len));
			if(!b->field || !b->rec || !b->len ||
				!(b->rec[b->n] = malloc(dl ? dl : 1)))
				abort();
			memcpy(b->rec[b->n], d, dl);
			b->field[b->n] = field;
			b->len[b->n++] = dl;
		}
		ig_feed_close(&r);
	}
}

/** write the base full feed of kind at serial to path */
static void
base_write(const char* path, Icpguard__Feed__Kind kind, uint64_t serial)
{
	Icpguard__Feed__Feed h = ICPGUARD__FEED__FEED__INIT;
	struct ig_feed_writer w;
	struct base_feed* b = &base[(unsigned)kind <= 5 ? kind : 0];
	uint8_t sha[32];
	uint64_t size;
	char err[512];
	size_t i;
	h.has_version = 1; h.version = 1;
	h.has_kind = 1; h.kind = kind;
	h.has_serial = 1; h.serial = serial;
	h.has_record_count = 1; h.record_count = b->n;
	if(!ig_feed_write_begin(&w, path, &h, err, sizeof(err))) abort();
	for(i = 0; i < b->n; i++)
		ig_feed_write_field(&w, b->field[i], b->rec[i], b->len[i]);
	if(!ig_feed_write_end(&w, &size, sha, err, sizeof(err))) abort();
}

/** apply the base full feed of kind at serial to the state */
static void
base_apply(struct loader_state* st, Icpguard__Feed__Kind kind,
	uint64_t serial, const struct apply_opts* o)
{
	struct apply_result res;
	char bp[600], bs[700];
	snprintf(bp, sizeof(bp), "%s/base.pb", fuzz_dir());
	snprintf(bs, sizeof(bs), "%s.sig", bp);
	base_write(bp, kind, serial);
	fuzz_feed_sign(bp, bs, kind);
	fuzz_quiet(1);
	(void)state_apply(st, kind, bp, bs, o, &res);
	fuzz_quiet(0);
}

int
LLVMFuzzerInitialize(int* argc, char*** argv)
{
	(void)argc;
	(void)argv;
	fuzz_key_init();
	base_load();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
	const char* dir = fuzz_dir();
	struct loader_cfg cfg;
	struct loader_state* st = NULL;
	struct apply_opts o;
	struct apply_result res;
	struct publish_result pr;
	struct ig_feed_reader r;
	Icpguard__Feed__Kind kind = ICPGUARD__FEED__KIND__FILINGS;
	char payload[600], sig[700], qpath[600], err[1024];
	const char* code;
	int applied;

	fuzz_dir_clear(dir);
	memset(&cfg, 0, sizeof(cfg));
	snprintf(cfg.state_dir, sizeof(cfg.state_dir), "%s", dir);
	snprintf(cfg.snapshot, sizeof(cfg.snapshot), "%s/live.mdb", dir);
	cfg.keep = 2;
	cfg.max_shrink = 10;
	if(!state_open(dir, &st, err, sizeof(err))) {
		fprintf(stderr, "fuzz: %s\n", err);
		abort();
	}
	memset(&o, 0, sizeof(o));
	o.keys = &fuzz_keys;
	o.max_shrink = cfg.max_shrink;
	snprintf(qpath, sizeof(qpath), "%s/quarantine.jsonl", dir);
	o.quarantine = qpath;
	o.origin = "https://feeds.example/fuzz/";

	snprintf(payload, sizeof(payload), "%s/feed.pb", dir);
	fuzz_write(payload, data, size);
	if(ig_feed_open(&r, payload, &code, err, sizeof(err))) {
		if(r.kind >= 1 && r.kind <= 5) kind = r.kind;
		/* filings are checked against the filable TLDs in force */
		if(kind == ICPGUARD__FEED__KIND__FILINGS && base[5].n)
			base_apply(st, ICPGUARD__FEED__KIND__TLDS, 1, &o);
		/* a delta applies over the serial in force: put a full feed
		 * at its base first */
		if(r.base != 0 && r.base < r.serial)
			base_apply(st, kind, r.base, &o);
		ig_feed_close(&r);
	}
	snprintf(sig, sizeof(sig), "%s.sig", payload);
	fuzz_feed_sign(payload, sig, kind);
	fuzz_quiet(1);
	applied = state_apply(st, kind, payload, sig, &o, &res);
	fuzz_quiet(0);
	if(applied || state_has_data(st)) {
		fuzz_quiet(1);
		if(!loader_publish(st, &cfg, NULL, &pr, err, sizeof(err))) {
			fuzz_quiet(0);
			fprintf(stderr, "fuzz: feed applied (%llu loaded, %llu "
				"rejected) but not published: %s\n",
				(unsigned long long)res.loaded,
				(unsigned long long)res.rejected, err);
			abort();
		}
		fuzz_quiet(0);
		if(!fuzz_snapshot_verdicts(cfg.snapshot, NULL, NULL, 0)) {
			fprintf(stderr, "fuzz: the published snapshot does not "
				"open\n");
			abort();
		}
	}
	state_close(st);
	return 0;
}
