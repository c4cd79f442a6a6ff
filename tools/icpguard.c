/*
 * tools/icpguard.c - the icpguard command-line tool: dispatch and help.
 *
 * \file
 * `icpguard COMMAND [OPTIONS]`; `icpguard COMMAND --help` for each.
 */
#include "config.h"
#include "tools/icpguard.h"
#include "lib/hugepages.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/** default snapshot location */
#define IG_SNAPSHOT_DEFAULT "/var/lib/icpguard/snapshot.mdb"

const char*
ig_default_snapshot(void)
{
	const char* e = getenv("ICPGUARD_SNAPSHOT");
	return (e && *e) ? e : IG_SNAPSHOT_DEFAULT;
}

/** one subcommand */
struct command {
	/** name */
	const char* name;
	/** function */
	ig_cmd_fn fn;
	/** one-line summary */
	const char* summary;
};

static const struct command commands[] = {
	{ "build", ig_cmd_build, "build a snapshot from source files" },
	{ "explain", ig_cmd_explain, "explain the verdict for a name" },
	{ "info", ig_cmd_info, "print a snapshot's identity and counts" },
	{ "order", ig_cmd_order, "sign, send, lift, show and report takedown orders" },
	{ "registrar", ig_cmd_registrar, "registrar audit: unfiled parking/forwarding, blacklist, orders" },
	{ "checkconf", ig_cmd_checkconf, "check the module configuration file" },
	{ "audit", ig_cmd_audit, "convert dnstap audit records to JSON lines or CSV" },
	{ "report", ig_cmd_report, "monthly report of sites closed per order" },
	{ "feed", ig_cmd_feed, "publish source files as signed feeds" },
#ifdef HAVE_ZSCANNER
	{ "zone", ig_cmd_zone, "zone audit: the names of zone files the policy would block" },
#endif
	{ NULL, NULL, NULL }
};

/** print the command list */
static void
usage(FILE* out)
{
	const struct command* c;
	fprintf(out, "usage: icpguard COMMAND [OPTIONS]\n\n"
		"icpguard %s: policy snapshots and verdicts for the icpguard "
		"Unbound module.\n\ncommands:\n", PACKAGE_VERSION);
	for(c = commands; c->name; c++)
		fprintf(out, "  %-10s %s\n", c->name, c->summary);
	fprintf(out, "\n`icpguard COMMAND --help` describes each command.\n"
		"Exit codes: 0 success (explain: pass), 1 failure (explain: "
		"block), 2 usage or input error.\n"
		"The snapshot defaults to $ICPGUARD_SNAPSHOT or %s.\n",
		IG_SNAPSHOT_DEFAULT);
}

int
main(int argc, char** argv)
{
	const struct command* c;
	if(argc < 2) {
		usage(stderr);
		return 2;
	}
	if(!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
		!strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if(!strcmp(argv[1], "--version")) {
		printf("icpguard %s\n", PACKAGE_VERSION);
		return 0;
	}
	/* build and feed write and read gigabytes through malloc'd pages:
	 * 2 MiB pages save them most page faults (lib/hugepages.h) */
	if(!strcmp(argv[1], "build") || !strcmp(argv[1], "feed"))
		ig_hugepages_reexec(argv);
	for(c = commands; c->name; c++)
		if(!strcmp(argv[1], c->name))
			return c->fn(argc - 1, argv + 1);
	fprintf(stderr, "icpguard: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}
