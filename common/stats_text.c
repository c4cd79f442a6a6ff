/*
 * common/stats_text.c - the modules' counters as Prometheus text
 * (common/stats_text.h).
 */
#include "config.h"
#include "common/stats_text.h"
#include <stdio.h>
#include <unistd.h>

FILE*
ig_stats_begin(const char* path, char* tmp, size_t tmplen)
{
	if((size_t)snprintf(tmp, tmplen, "%s~", path) >= tmplen) return NULL;
	return fopen(tmp, "w");
}

void
ig_stats_common_write(FILE* out, const struct ig_stats_common* c)
{
	static const char* const slot_name[2] = { "main", "orders" };
	int r, i;
	fprintf(out, "# HELP icpguard_verdicts_total Verdicts taken by reason "
		"(cache hits are not verdicts).\n"
		"# TYPE icpguard_verdicts_total counter\n");
	for(r = 0; r < IG_REASON_COUNT; r++)
		fprintf(out, "icpguard_verdicts_total{reason=\"%s\"} %lu\n",
			ig_reason_name((enum ig_reason)r), c->verdicts[r]);
	fprintf(out, "# TYPE icpguard_snapshot_serial gauge\n");
	for(i = 0; i < 2; i++) {
		if(!c->slot[i]) continue;
		fprintf(out, "icpguard_snapshot_serial{slot=\"%s\"} %llu\n"
			"icpguard_snapshot_created_seconds{slot=\"%s\"} %lld\n",
			slot_name[i], (unsigned long long)c->slot[i]->serial,
			slot_name[i], (long long)c->slot[i]->created);
	}
	ig_stats_counter(out, "icpguard_snapshot_swaps_total", c->swaps);
	ig_stats_counter(out, "icpguard_snapshot_refused_total", c->refused);
	ig_stats_counter(out, "icpguard_audit_sent_total", c->audit_sent);
	ig_stats_counter(out, "icpguard_audit_dropped_total",
		c->audit_dropped);
}

void
ig_stats_counter(FILE* out, const char* name, unsigned long value)
{
	fprintf(out, "# TYPE %s counter\n%s %lu\n", name, name, value);
}

int
ig_stats_end(FILE* out, const char* tmp, const char* path)
{
	if(fclose(out) != 0 || rename(tmp, path) != 0) {
		unlink(tmp);
		return 0;
	}
	return 1;
}
