/*
 * tests/fuzz/fuzz_audit.c - dnstap captures through `icpguard audit`.
 *
 * \file
 * The input is a Frame Streams file (seeds: captures written by
 * tests/audit/mkcapture, with and without a garbage frame, run.sh).  As
 * the converter does (tools/audit_read.c, tools/audit_record.c): the
 * reader walks every frame, each is decoded as a dnstap message, filtered
 * (time, reason, id, client range, name suffix, policy only) and printed
 * as a JSON line and a CSV row, client addresses truncated or not, into
 * /dev/null; then the whole file again through ig_audit_scan, the loop of
 * `icpguard audit` and `icpguard report`.
 */
#include "tests/fuzz/fuzz_common.h"
#include "config.h"
#include "tools/audit.h"
#include "lib/addr.h"
#include "lib/name.h"

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

/** where the output goes */
static FILE* sink;
/** a filter with every field set */
static struct ig_audit_filter filter;

/** print one record both ways, through the filter */
static void
emit(const struct ig_audit_rec* rec)
{
	static const struct ig_audit_out outs[] = { { 0, 0, 32, 128 },
		{ 1, 1, 24, 48 } };
	char buf[64];
	int i;
	(void)ig_audit_filter_match(&filter, rec);
	for(i = 0; i < 2; i++) {
		ig_audit_print_header(sink, &outs[i]);
		ig_audit_print(sink, rec, &outs[i]);
	}
	(void)ig_audit_time_text(rec->sec, rec->nsec, buf, sizeof(buf));
}

/** ig_audit_scan's callback */
static int
scan_cb(const struct ig_audit_rec* rec, void* arg)
{
	(void)arg;
	emit(rec);
	return 0;
}

/** the filter, once */
static void
setup(void)
{
	static const char* reasons[] = { "order", "nofiling" };
	static const char* ids[] = { "ord-demo-1" };
	static struct ig_range clients[1];
	static uint8_t keys[1][IG_KEY_MAX];
	static size_t lens[1];
	uint8_t wire[IG_NAME_MAX];
	size_t wl;
	const char* e;
	if(sink) return;
	if(!(sink = fopen("/dev/null", "w"))) abort();
	if(!ig_range_parse("127.0.0.0/8", &clients[0], &e) ||
		!ig_name_from_text("cn", wire, &wl, &e))
		abort();
	lens[0] = ig_name_wire_to_key(wire, keys[0], NULL, NULL);
	filter.has_from = 1;
	filter.from = 1000000000;
	filter.has_to = 1;
	filter.to = 2000000000;
	filter.reasons = reasons;
	filter.nreasons = 2;
	filter.ids = ids;
	filter.nids = 1;
	filter.clients = clients;
	filter.nclients = 1;
	filter.suffix_keys = keys;
	filter.suffix_lens = lens;
	filter.nsuffixes = 1;
	filter.policy_only = 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
	const char* path = fuzz_file(data, size, ".fstrm");
	struct ig_audit_reader* r;
	const uint8_t* frame;
	size_t len;
	char err[512];
	unsigned long nrec = 0;
	int n = 0;
	setup();
	if((r = ig_audit_reader_open(path, err, sizeof(err)))) {
		while(n++ < 100000 && ig_audit_reader_next(r, &frame, &len, err,
			sizeof(err)) == 1) {
			struct ig_audit_rec rec;
			const char* e;
			memset(&rec, 0, sizeof(rec));
			if(ig_audit_decode(frame, len, &rec, &e))
				emit(&rec);
			(void)ig_audit_reader_frame(r);
			(void)ig_audit_reader_offset(r);
		}
		(void)ig_audit_reader_stopped(r);
		ig_audit_reader_close(r);
	}
	fuzz_quiet(1);
	(void)ig_audit_scan("audit", path, scan_cb, NULL, &nrec);
	fuzz_quiet(0);
	return 0;
}
