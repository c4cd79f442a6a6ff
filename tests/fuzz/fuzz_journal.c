/*
 * tests/fuzz/fuzz_journal.c - the order journal through the loader's
 * replay and the order snapshot's publish.
 *
 * \file
 * The input is STATE_DIR/orders.journal (JSON lines {"received_ns": N,
 * "envelope": {...}}; seeds: the sample orders signed by `icpguard order
 * sign` and written as journal lines, run.sh).  orders_open
 * (loader/orders.c) replays it as icpguard-loader does at start: each line
 * parsed, checked against the writer's limits (a bad one quarantined),
 * applied to the table (repeats, lifts, reused ids), then the order
 * snapshot published; then a second start over the same journal and the
 * published snapshot (the diff against it); the order snapshot is opened
 * verified and a few verdicts made on it.
 * Property checked besides the sanitizers (abort): after a start every
 * order that passed the checks is in force, i.e. nothing is pending: one
 * bad journal entry never stops the others (issue 17 finding 3).
 */
#include "tests/fuzz/fuzz_common.h"
#include "tests/fuzz/fuzz_verdict.h"
#include "config.h"
#include "loader/loader.h"
#include "loader/orders.h"
#include <stdarg.h>

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

/** the daemon's log: quiet here (FUZZ_VERBOSE=1 prints it) */
void
loader_log(struct loader* L, int prio, const char* fmt, ...)
{
	va_list ap;
	(void)L;
	(void)prio;
	if(!getenv("FUZZ_VERBOSE")) return;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/** one start of the orders part of the loader; aborts on a lag */
static void
start(struct loader* L, int round)
{
	char err[1024];
	if(!orders_open(L, err, sizeof(err))) {
		fprintf(stderr, "fuzz: orders_open (start %d): %s\n", round,
			err);
		abort();
	}
	if(orders_pending(L) != 0) {
		fprintf(stderr, "fuzz: start %d: %d of %d orders not in force "
			"after the replay\n", round, orders_pending(L),
			orders_count(L));
		abort();
	}
	(void)orders_in_force(L, 1700000000);
	(void)orders_quarantined(L);
}

int
LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
	const char* dir = fuzz_dir();
	static struct loader L;
	char path[600];

	fuzz_dir_clear(dir);
	memset(&L, 0, sizeof(L));
	snprintf(L.cfg.state_dir, sizeof(L.cfg.state_dir), "%s", dir);
	snprintf(L.cfg.orders_snapshot, sizeof(L.cfg.orders_snapshot),
		"%s/orders.mdb", dir);
	snprintf(path, sizeof(path), "%s/quarantine", dir);
	if(mkdir(path, 0755) != 0) abort();
	snprintf(path, sizeof(path), "%s/orders.journal", dir);
	fuzz_write(path, data, size);
	start(&L, 1);
	orders_close(&L);
	start(&L, 2);
	orders_close(&L);
	if(!fuzz_snapshot_verdicts(L.cfg.orders_snapshot, NULL, NULL, 0)) {
		fprintf(stderr, "fuzz: the order snapshot does not open\n");
		abort();
	}
	return 0;
}
