/*
 * tools/cmd_checkconf.c - `icpguard checkconf`: validate the module's
 * configuration file the way the module will read it.
 *
 * \file
 * Prints every setting in force (defaults included) or the exact file,
 * line, key and reason of the first error.  Exit 0 good, 1 bad, 2 usage.
 */
#include "config.h"
#include "tools/icpguard.h"
#include "module/conf.h"
#include "lib/snapshot.h"
#include <stdio.h>
#include <string.h>

int
ig_cmd_checkconf(int argc, char** argv)
{
	struct icpguard_cfg cfg;
	const char* path = icpguard_cfg_path();
	char err[1024], a4[64], a6[64];
	int i;
	if(argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		printf("usage: icpguard checkconf [FILE]\n\nCheck the icpguard "
			"module configuration (default $%s or %s) and print "
			"the settings in force.\nexit: 0 good, 1 bad, 2 usage\n",
			ICPGUARD_CONF_ENV, ICPGUARD_CONF_DEFAULT);
		return 0;
	}
	if(argc > 2) {
		fprintf(stderr, "usage: icpguard checkconf [FILE]\n");
		return 2;
	}
	if(argc == 2) path = argv[1];
	icpguard_cfg_defaults(&cfg);
	if(!icpguard_cfg_read(path, &cfg, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	printf("# %s: good\nsnapshot: %s\norders-snapshot: %s\n"
		"delta-snapshot: %s\n"
		"order-stats: %s\nstats-file: %s\nscope: %s\n"
		"chain-check: %s\nmode: %s\n", path, cfg.snapshot,
		cfg.orders_snapshot, cfg.delta_snapshot, cfg.order_stats,
		cfg.stats_file,
		cfg.scope == IG_SCOPE_ALL ? "all" : "domestic",
		cfg.chain == IG_CHAIN_QNAME ? "qname" : "all",
		cfg.monitor ? "monitor" : "enforce");
	for(i = IG_REASON_ORDER; i < IG_REASON_COUNT; i++)
		printf("action-%s: %s\n", ig_reason_name((enum ig_reason)i),
			icpguard_action_name(cfg.action[i]));
	printf("notice-ipv4: %s\nnotice-ipv6: %s\npolicy-ttl: %u\n"
		"fail-open: %s\npoll-interval: %d\nlog-blocks: %s\n",
		cfg.have_notice4 ? ig_addr_to_text(&cfg.notice4, a4, sizeof(a4))
		: "", cfg.have_notice6 ? ig_addr_to_text(&cfg.notice6, a6,
		sizeof(a6)) : "", cfg.ttl, cfg.fail_open ? "yes" : "no",
		cfg.poll_ms, cfg.log_blocks ? "yes" : "no");
	if(cfg.strict_cache_given)
		printf("# warning: strict-cache is obsolete and ignored: the "
			"module leaves Unbound's caching as it is\n");
	{
		struct ig_snapshot* s;
		int sealed;
		/* what the module checks before it puts a snapshot in
		 * force: the seal, then LMDB */
		if(!ig_snapshot_open_verified(cfg.snapshot, &s, &sealed, err,
			sizeof(err))) {
			printf("# warning: %s\n", err);
		} else {
			printf("# snapshot %s readable\n",
				ig_snapshot_info(s)->ident);
			ig_snapshot_unref(s);
		}
	}
	return 0;
}
