/*
 * tools/cmd_explain.c - `icpguard explain` and `icpguard info`.
 *
 * \file
 * explain runs the same decision as the module (lib/verdict.c) on a name,
 * optional aliases and addresses, and prints the verdict with the record
 * behind it.  Exit 0 pass, 1 block, 2 error.
 */
#include "config.h"
#include "tools/icpguard.h"
#include "tools/source.h"
#include "lib/verdict.h"
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void
explain_usage(FILE* out)
{
	fprintf(out,
"usage: icpguard explain NAME [--cname NAME]... [--addr IP]... [options]\n\n"
"Print the verdict icpguard gives NAME: pass or block, the reason (order,\n"
"blacklist, nofiling, redirect; filed, exempt, abroad, pending) and the\n"
"record behind it (filing number, order document number).\n"
"With no --cname/--addr the verdict is the one taken before resolution\n"
"('pending' means: decided by the answer's addresses); --answered treats\n"
"the given (possibly empty) answer as final.\n\n"
"options:\n"
"  --cname NAME     an alias target in the chain, in order (repeatable)\n"
"  --addr IP        an answer address (repeatable)\n"
"  --answered       the answer is final even without --cname/--addr\n"
"  --snapshot PATH  snapshot (default $ICPGUARD_SNAPSHOT)\n"
"  --orders PATH    order snapshot too (the module's orders-snapshot)\n"
"  --scope S        domestic (default) or all\n"
"  --chain C        all (default) or qname\n"
"  --at TIME        decide as of TIME (unix or ISO 8601; default now)\n"
"  --json           one JSON object instead of text\n"
"exit: 0 pass, 1 block, 2 error\n");
}

/** text of a wire name without the trailing dot kept */
static const char*
wtext(const uint8_t* wire, char* buf, size_t len)
{
	return ig_name_wire_to_text(wire, buf, len);
}

int
ig_cmd_explain(int argc, char** argv)
{
	static const struct option opts[] = {
		{ "cname", required_argument, NULL, 'c' },
		{ "addr", required_argument, NULL, 'a' },
		{ "answered", no_argument, NULL, 'A' },
		{ "snapshot", required_argument, NULL, 's' },
		{ "orders", required_argument, NULL, 'o' },
		{ "scope", required_argument, NULL, 'S' },
		{ "chain", required_argument, NULL, 'C' },
		{ "at", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	static uint8_t names[IG_CHAIN_MAX + 1][IG_NAME_MAX];
	struct ig_addr addrs[64];
	struct ig_facts f;
	struct ig_policy_opts po;
	struct ig_verdict v;
	struct ig_snapshot* snap, *osnap = NULL;
	struct ig_view view, oview;
	const char* path = ig_default_snapshot(), *err, *opath = NULL;
	int json = 0, c, nalias = 0, naddr = 0, answered = 0;
	char ebuf[512], t1[1024], t2[1024];
	int sealed = 0;
	size_t wl;

	memset(&po, 0, sizeof(po));
	po.now = (int64_t)time(NULL);
	optind = 1;
	while((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch(c) {
		case 'c':
			if(nalias >= IG_CHAIN_MAX) {
				fprintf(stderr, "explain: at most %d aliases\n",
					IG_CHAIN_MAX);
				return 2;
			}
			if(!ig_name_from_text(optarg, names[1 + nalias], &wl,
				&err)) {
				fprintf(stderr, "explain: --cname '%s': %s\n",
					optarg, err);
				return 2;
			}
			nalias++;
			answered = 1;
			break;
		case 'a':
			if(naddr >= 64 || !ig_addr_parse(optarg,
				&addrs[naddr])) {
				fprintf(stderr, "explain: --addr '%s': not an "
					"IPv4 or IPv6 address\n", optarg);
				return 2;
			}
			naddr++;
			answered = 1;
			break;
		case 'A': answered = 1; break;
		case 's': path = optarg; break;
		case 'o': opath = optarg; break;
		case 'S':
			if(!strcmp(optarg, "all")) po.scope = IG_SCOPE_ALL;
			else if(!strcmp(optarg, "domestic"))
				po.scope = IG_SCOPE_DOMESTIC;
			else {
				fprintf(stderr, "explain: --scope: want domestic"
					" or all\n");
				return 2;
			}
			break;
		case 'C':
			if(!strcmp(optarg, "qname")) po.chain = IG_CHAIN_QNAME;
			else if(!strcmp(optarg, "all")) po.chain = IG_CHAIN_ALL;
			else {
				fprintf(stderr, "explain: --chain: want all or "
					"qname\n");
				return 2;
			}
			break;
		case 't':
			if(!ig_parse_time(optarg, &po.now)) {
				fprintf(stderr, "explain: --at '%s': bad time\n",
					optarg);
				return 2;
			}
			break;
		case 'j': json = 1; break;
		case 'h': explain_usage(stdout); return 0;
		default: explain_usage(stderr); return 2;
		}
	}
	if(optind != argc - 1) {
		explain_usage(stderr);
		return 2;
	}
	if(!ig_name_from_text(argv[optind], names[0], &wl, &err)) {
		fprintf(stderr, "explain: '%s': %s\n", argv[optind], err);
		return 2;
	}
	if(!ig_snapshot_open_verified(path, &snap, &sealed, ebuf,
		sizeof(ebuf))) {
		fprintf(stderr, "explain: %s\n", ebuf);
		return 2;
	}
	if(!ig_view_begin(snap, &view)) {
		fprintf(stderr, "explain: %s: cannot read\n", path);
		ig_snapshot_unref(snap);
		return 2;
	}
	if(opath) {
		if(!ig_snapshot_open_verified(opath, &osnap, &sealed, ebuf,
			sizeof(ebuf)) ||
			!ig_view_begin(osnap, &oview)) {
			fprintf(stderr, "explain: %s\n", ebuf);
			ig_snapshot_unref(osnap);
			ig_view_end(&view);
			ig_snapshot_unref(snap);
			return 2;
		}
		po.urgent = &oview;
	}
	memset(&f, 0, sizeof(f));
	f.qname = names[0];
	for(c = 0; c < nalias; c++) f.alias[c] = names[1 + c];
	f.nalias = nalias;
	f.addr = addrs;
	f.naddr = naddr;
	f.answered = answered;
	ig_decide(&view, &f, &po, &v);
	if(json) {
		json_t* o = json_pack("{s:s,s:s,s:s,s:s,s:s?,s:s?,s:s?,s:s}",
			"verdict", v.block ? "block" : "pass",
			"reason", ig_reason_name(v.reason),
			"name", wtext(v.name, t1, sizeof(t1)),
			"match", wtext(v.match, t2, sizeof(t2)),
			"id", v.id[0] ? v.id : NULL,
			"doc_no", v.doc_no[0] ? v.doc_no : NULL,
			"detail", v.detail[0] ? v.detail : NULL,
			"snapshot", v.snapshot);
		char* s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII*0);
		printf("%s\n", s);
		free(s);
		json_decref(o);
	} else {
		printf("%s %s %s\n", v.block ? "BLOCK" : "PASS",
			ig_reason_name(v.reason), wtext(v.name, t1, sizeof(t1)));
		if(v.match[0]) printf("  match:    %s\n",
			wtext(v.match, t2, sizeof(t2)));
		if(v.id[0]) printf("  record:   %s\n", v.id);
		if(v.doc_no[0]) printf("  document: %s\n", v.doc_no);
		if(v.detail[0]) printf("  detail:   %s\n", v.detail);
		printf("  snapshot: %s\n", v.snapshot);
	}
	if(osnap) {
		ig_view_end(&oview);
		ig_snapshot_unref(osnap);
	}
	ig_view_end(&view);
	ig_snapshot_unref(snap);
	return v.block ? 1 : 0;
}

int
ig_cmd_info(int argc, char** argv)
{
	struct ig_snapshot* snap;
	struct ig_view view;
	const char* path = ig_default_snapshot();
	char err[512], tb[40];
	MDB_cursor* cur;
	MDB_val k, val;
	const struct ig_snapshot_info* si;
	int verify = 1, sealed = 0, i;
	for(i = 1; i < argc; i++) {
		if(!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			printf("usage: icpguard info [--no-verify] [SNAPSHOT]\n\n"
				"Print the identity (serial, hash, creation time), "
				"source serials and record counts of a snapshot,\n"
				"after checking the file against its seal (its "
				"SHA-256; --no-verify: only that it is whole).\n"
				"Exit 2 when the file is damaged or truncated.\n");
			return 0;
		} else if(!strcmp(argv[i], "--no-verify")) verify = 0;
		else if(argv[i][0] == '-') {
			fprintf(stderr, "info: unknown option '%s' (try "
				"--help)\n", argv[i]);
			return 2;
		} else path = argv[i];
	}
	if(!(verify ? ig_snapshot_open_verified(path, &snap, &sealed, err,
		sizeof(err)) : ig_snapshot_open(path, &snap, err, sizeof(err)))) {
		fprintf(stderr, "info: %s\n", err);
		return 2;
	}
	si = ig_snapshot_info(snap);
	if(!ig_view_begin(snap, &view)) {
		ig_snapshot_unref(snap);
		return 2;
	}
	printf("snapshot %s\nserial   %llu\nhash     %s\ncreated  %s\n"
		"file     %s\n",
		path, (unsigned long long)si->serial, si->hash,
		ig_format_time(si->created, tb, sizeof(tb)), !verify ?
		"whole (not verified: --no-verify)" :
		"sealed, SHA-256 verified");
	if(mdb_cursor_open(view.txn, ig_view_dbi(&view, IG_DB_META), &cur) == 0) {
		int rc = mdb_cursor_get(cur, &k, &val, MDB_FIRST);
		while(rc == 0) {
			printf("%-24.*s %.*s\n", (int)k.mv_size,
				(char*)k.mv_data, (int)(val.mv_size ?
				val.mv_size - 1 : 0), (char*)val.mv_data);
			rc = mdb_cursor_get(cur, &k, &val, MDB_NEXT);
		}
		mdb_cursor_close(cur);
	}
	if(si->has_index)
		printf("%-24s %llu entries\n", "name index",
			(unsigned long long)si->index_entries);
	else
		printf("%-24s none%s%s\n", "name index", si->index_refused[0] ?
			": refused, " : " (B-tree walks)", si->index_refused);
	ig_view_end(&view);
	ig_snapshot_unref(snap);
	return 0;
}
