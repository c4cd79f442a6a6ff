/*
 * tools/cmd_registrar.c - `icpguard registrar audit`: what a registrar
 * must clean up before resolvers block it.
 *
 * \file
 * Walks the registrar-domain records of the snapshot and lists, for one
 * registrar: domains that use its parking or URL-forwarding service but
 * have no active filing (resolution "including redirects" needs one), and
 * domains that are blacklisted or named in an active takedown order
 * (which it must neither register nor resolve).  The verdict is the same
 * function the module uses, with scope "all" and the QNAME only.
 */
#include "config.h"
#include "tools/icpguard.h"
#include "tools/audit.h"
#include "lib/verdict.h"
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void
registrar_usage(FILE* out)
{
	fprintf(out,
"usage: icpguard registrar audit --registrar ID [--snapshot PATH] [--csv]\n\n"
"List the registrar's domains that are parked or URL-forwarded without an\n"
"active ICP filing, and its domains that are blacklisted or named in an\n"
"active takedown order.  One row per finding: registrar, domain, issue\n"
"(unfiled-parking, unfiled-forwarding, blacklist, order), services,\n"
"record (filing or order id), document (order 函号), detail.\n"
"Output: JSON lines (default) or CSV with a header (--csv).\n"
"exit: 0 nothing found, 1 findings listed, 2 error\n");
}

/** print one finding */
static void
finding(int csv, const char* reg, const char* domain, const char* issue,
	unsigned flags, const struct ig_verdict* v)
{
	char services[64];
	snprintf(services, sizeof(services), "%s%s%s",
		(flags & IG_REGDOMAIN_PARKING) ? "parking" : "",
		(flags & IG_REGDOMAIN_PARKING) && (flags &
		IG_REGDOMAIN_FORWARDING) ? "|" : "",
		(flags & IG_REGDOMAIN_FORWARDING) ? "forwarding" : "");
	if(csv) {
		ig_csv_cell(stdout, reg, 0);
		ig_csv_cell(stdout, domain, 0);
		ig_csv_cell(stdout, issue, 0);
		ig_csv_cell(stdout, services, 0);
		ig_csv_cell(stdout, v->id, 0);
		ig_csv_cell(stdout, v->doc_no, 0);
		ig_csv_cell(stdout, v->detail, 1);
	} else {
		json_t* o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}",
			"registrar", reg, "domain", domain, "issue", issue,
			"services", services, "record", v->id, "document",
			v->doc_no, "detail", v->detail, "snapshot", v->snapshot);
		char* t = json_dumps(o, JSON_COMPACT);
		printf("%s\n", t);
		free(t);
		json_decref(o);
	}
}

int
ig_cmd_registrar(int argc, char** argv)
{
	static const struct option opts[] = {
		{ "registrar", required_argument, NULL, 'r' },
		{ "snapshot", required_argument, NULL, 's' },
		{ "csv", no_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char* reg = NULL, *path = ig_default_snapshot();
	int csv = 0, c, found = 0, rc, sealed;
	struct ig_snapshot* snap;
	struct ig_view view;
	struct ig_policy_opts po;
	MDB_cursor* cur;
	MDB_val k, val;
	char err[512];

	if(argc < 2 || strcmp(argv[1], "audit") != 0) {
		if(argc >= 2 && (!strcmp(argv[1], "--help") ||
			!strcmp(argv[1], "-h"))) {
			registrar_usage(stdout);
			return 0;
		}
		registrar_usage(stderr);
		return 2;
	}
	optind = 1;
	argc--;
	argv++;
	while((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch(c) {
		case 'r': reg = optarg; break;
		case 's': path = optarg; break;
		case 'c': csv = 1; break;
		case 'h': registrar_usage(stdout); return 0;
		default: registrar_usage(stderr); return 2;
		}
	}
	if(!reg || optind != argc) {
		registrar_usage(stderr);
		return 2;
	}
	/* verified like the module's: a damaged page never reaches LMDB */
	if(!ig_snapshot_open_verified(path, &snap, &sealed, err,
		sizeof(err))) {
		fprintf(stderr, "registrar: %s\n", err);
		return 2;
	}
	if(!ig_view_begin(snap, &view)) {
		ig_snapshot_unref(snap);
		return 2;
	}
	{
		struct ig_registrar r;
		if(!ig_view_registrar(&view, reg, &r))
			fprintf(stderr, "registrar: warning: no registrar '%s' "
				"in %s\n", reg, path);
	}
	memset(&po, 0, sizeof(po));
	po.scope = IG_SCOPE_ALL;
	po.chain = IG_CHAIN_QNAME;
	po.now = (int64_t)time(NULL);
	if(csv) printf("registrar,domain,issue,services,record,document,"
		"detail\n");
	if(mdb_cursor_open(view.txn, ig_view_dbi(&view, IG_DB_REGDOMAIN),
		&cur) != 0) {
		ig_view_end(&view);
		ig_snapshot_unref(snap);
		return 2;
	}
	rc = mdb_cursor_get(cur, &k, &val, MDB_FIRST);
	while(rc == 0) {
		struct ig_regdomain d;
		uint8_t wire[IG_NAME_MAX];
		char text[1024];
		const char* e;
		size_t wl;
		struct ig_verdict v;
		struct ig_facts f;
		ig_name_key_to_text(k.mv_data, k.mv_size, text, sizeof(text));
		if(strlen(text) > 1) text[strlen(text) - 1] = 0;
		if(ig_view_regdomain(&view, k.mv_data, k.mv_size, &d) &&
			!strcmp(d.registrar, reg) &&
			ig_name_from_text(text, wire, &wl, &e)) {
			memset(&f, 0, sizeof(f));
			f.qname = wire;
			ig_decide(&view, &f, &po, &v);
			if(v.reason == IG_REASON_ORDER) {
				finding(csv, reg, text, "order", d.flags, &v);
				found++;
			} else if(v.reason == IG_REASON_BLACKLIST) {
				finding(csv, reg, text, "blacklist", d.flags, &v);
				found++;
			} else if(v.block && (d.flags &
				(IG_REGDOMAIN_PARKING | IG_REGDOMAIN_FORWARDING))) {
				finding(csv, reg, text, (d.flags &
					IG_REGDOMAIN_FORWARDING) ?
					"unfiled-forwarding" : "unfiled-parking",
					d.flags, &v);
				found++;
			}
		}
		rc = mdb_cursor_get(cur, &k, &val, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	ig_view_end(&view);
	ig_snapshot_unref(snap);
	fprintf(stderr, "registrar: %d findings for %s\n", found, reg);
	return found ? 1 : 0;
}
