/*
 * tests/fuzz/fuzz_source.c - every source-file reader of `icpguard build`.
 *
 * \file
 * The first input byte picks the source file (modulo the table below:
 * tlds.txt, the plain-list reader of tools/feed_rows.c, or one of the
 * eight sources as JSON lines or CSV, tools/source.c); the rest is its
 * contents (seeds: data/sample and tests/integration/policy, cut short,
 * and CSV versions of them, run.sh).  The file is put in a source
 * directory beside a fixed tlds.txt and `icpguard build` runs on it in
 * process (ig_cmd_build, tools/cmd_build.c: every row read, converted,
 * validated and written, the ranges merged, the snapshot sealed and
 * published); the snapshot is then opened verified and a few verdicts
 * made on it.
 * Property checked besides the sanitizers (abort): the build publishes a
 * snapshot whenever the file could be opened; a row the checks let
 * through never fails the writer (issue 17 finding 4).
 */
#include "tests/fuzz/fuzz_common.h"
#include "tests/fuzz/fuzz_verdict.h"
#include "config.h"
#include "tools/icpguard.h"
#include "tools/source.h"

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

/** the snapshot default of tools/icpguard.c (not linked here) */
const char*
ig_default_snapshot(void)
{
	return "/nonexistent/icpguard-fuzz.mdb";
}

/** the source files, picked by the first byte */
static const char* const files[] = { "tlds.txt", "tlds.jsonl", "tlds.csv",
	"filings.jsonl", "filings.csv", "blacklist.jsonl", "blacklist.csv",
	"exemptions.jsonl", "exemptions.csv", "orders.jsonl", "orders.csv",
	"domestic.jsonl", "domestic.csv", "registrars.jsonl",
	"registrars.csv", "regdomains.jsonl", "regdomains.csv" };

/** the filable TLDs beside every other file */
static const char tlds[] = "# fuzz\ncn\ncom\nnet\norg\n中国\nxn--55qx5d\n";

int
LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
	const char* dir = fuzz_dir();
	char src[600], path[700], out[600], q[600];
	const char* name;
	char* argv[12];
	int rc, argc = 0;
	if(size < 1) return 0;
	name = files[data[0] % (sizeof(files) / sizeof(files[0]))];
	fuzz_dir_clear(dir);
	snprintf(src, sizeof(src), "%s/src", dir);
	if(mkdir(src, 0755) != 0) abort();
	if(strncmp(name, "tlds.", 5) != 0) {
		snprintf(path, sizeof(path), "%s/tlds.txt", src);
		fuzz_write(path, (const uint8_t*)tlds, sizeof(tlds) - 1);
	}
	snprintf(path, sizeof(path), "%s/%s", src, name);
	fuzz_write(path, data + 1, size - 1);
	snprintf(out, sizeof(out), "%s/out.mdb", dir);
	snprintf(q, sizeof(q), "%s/quarantine.jsonl", dir);
	argv[argc++] = (char*)"build";
	argv[argc++] = (char*)"--source";
	argv[argc++] = src;
	argv[argc++] = (char*)"--out";
	argv[argc++] = out;
	argv[argc++] = (char*)"--serial";
	argv[argc++] = (char*)"7";
	argv[argc++] = (char*)"--quarantine";
	argv[argc++] = q;
	argv[argc++] = (char*)"--quiet";
	argv[argc] = NULL;
	fuzz_quiet(1);
	rc = ig_cmd_build(argc, argv);
	fuzz_quiet(0);
	if(access(out, F_OK) != 0) {
		struct ig_source s;
		int opens;
		fuzz_quiet(1);
		opens = ig_source_open(&s, path);
		if(opens) ig_source_close(&s);
		fuzz_quiet(0);
		if(opens) {
			fprintf(stderr, "fuzz: build of %s exited %d without "
				"a snapshot (FUZZ_VERBOSE=1 shows why)\n", name,
				rc);
			abort();
		}
		return 0;
	}
	if(!fuzz_snapshot_verdicts(out, NULL, NULL, 0)) {
		fprintf(stderr, "fuzz: the built snapshot does not open\n");
		abort();
	}
	return 0;
}
