/*
 * tools/cmd_order.c - `icpguard order`: sign, send, lift, show and report
 * takedown orders.
 *
 * \file
 * Orders go to icpguard-loader's /orders (loader/orders.h) as signed
 * envelopes (loader/order.h).  Proof of execution (执行情况上报) joins
 * what the loader knows (received, published in which order-snapshot
 * serial) with what the resolvers saw (the module's order-stats files:
 * first enforcement, hits).
 */
#include "config.h"
#include "tools/icpguard.h"
#include "tools/audit.h"
#include "tools/http_client.h"
#include "tools/submit.h"
#include "loader/order.h"
#include "lib/timefmt.h"
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/** default module order-stats file */
#define ORDER_STATS_DEFAULT "/var/lib/icpguard/order-stats.jsonl"

static void
order_usage(FILE* out)
{
	fprintf(out,
"usage: icpguard order COMMAND [options]\n\n"
"  sign FILE --key PRIV            print FILE's order as a signed envelope\n"
"  add FILE [--key PRIV]           send an order (signed with PRIV unless\n"
"                                  FILE already is an envelope)\n"
"  lift ID --key PRIV [--at TIME]  lift an order (signed like an add)\n"
"  show ID [--stats FILE]...       received, published, first enforced, hits\n"
"  report [--stats FILE]... [--csv]  every order's execution (JSON lines)\n\n"
"options:\n"
"  --loader URL   icpguard-loader's status address (default %s)\n"
"  --key PRIV     Ed25519 private key (PEM; `icpguard feed keygen`)\n"
"  --stats FILE   a resolver's order-stats file (repeatable; default %s)\n"
"  --csv          report as CSV\n\n"
"An order FILE is a JSON object: {\"id\": \"ord-2022-065\", \"doc_no\":\n"
"\"工信厅信管函〔2022〕65号\", \"unit\": \"工业和信息化部\", \"reason\": \"涉嫌诈骗\",\n"
"\"targets\": [\"bad.example.cn\", {\"name\": \"x.cn\", \"subtree\": false}],\n"
"\"effective\": \"2022-03-01T08:00\", \"expiry\": null}.\n"
"exit: 0 accepted/found, 1 refused or not found, 2 usage or I/O error\n",
		IG_LOADER_URL_DEFAULT, ORDER_STATS_DEFAULT);
}

/** sign an order object with the key file; NULL on failure (printed) */
static json_t*
sign_order(json_t* order, const char* keypath)
{
	char err[512];
	EVP_PKEY* key;
	json_t* env;
	if(!keypath) {
		fprintf(stderr, "order: --key PRIV is needed to sign\n");
		return NULL;
	}
	if(!(key = ig_key_read(keypath, 1, err, sizeof(err)))) {
		fprintf(stderr, "order: %s\n", err);
		return NULL;
	}
	env = ig_order_sign(order, key, err, sizeof(err));
	EVP_PKEY_free(key);
	if(!env) fprintf(stderr, "order: %s\n", err);
	return env;
}

/** one resolver's counts for an order */
struct hits {
	/** resolver */
	char resolver[128];
	/** first and last enforcement, ns */
	long long first, last;
	/** hits */
	unsigned long long n;
};

/** read the counts of an order from the stats files; returns count */
static int
read_hits(char** files, int nfiles, const char* id, struct hits* out,
	int max)
{
	int i, n = 0;
	for(i = 0; i < nfiles; i++) {
		FILE* in = fopen(files[i], "r");
		char line[1024];
		if(!in) continue;
		while(fgets(line, sizeof(line), in) && n < max) {
			json_t* j = json_loads(line, 0, NULL);
			const char* o = json_string_value(json_object_get(j,
				"order"));
			if(o && !strcmp(o, id)) {
				snprintf(out[n].resolver, sizeof(out[n].resolver),
					"%s", json_string_value(json_object_get(j,
					"resolver")) ? json_string_value(
					json_object_get(j, "resolver")) : "?");
				out[n].first = json_integer_value(
					json_object_get(j, "first_enforced_ns"));
				out[n].last = json_integer_value(
					json_object_get(j, "last_enforced_ns"));
				out[n].n = (unsigned long long)json_integer_value(
					json_object_get(j, "hits"));
				n++;
			}
			json_decref(j);
		}
		fclose(in);
	}
	return n;
}

/** ns to an ISO time with milliseconds (Beijing time) */
static const char*
ns_time(long long ns, char* buf, size_t len)
{
	char t[64];
	if(!ns) return "-";
	ig_format_time(ns / 1000000000LL, t, sizeof(t));
	/* 2022-03-01T08:00:00+08:00 -> insert .mmm before the offset */
	snprintf(buf, len, "%.19s.%03lld%.8s", t, (ns / 1000000LL) % 1000,
		t + 19);
	return buf;
}

/** fetch the loader's list (or one order); NULL on failure (printed) */
static json_t*
fetch(const char* loader, const char* id, int* status)
{
	char url[1200], err[512], *resp;
	json_t* j;
	snprintf(url, sizeof(url), "%s/orders%s%s", loader, id ? "/" : "",
		id ? id : "");
	if(!ig_http_request("GET", url, NULL, 10, status, &resp, err,
		sizeof(err))) {
		fprintf(stderr, "order: %s\n", err);
		return NULL;
	}
	j = json_loads(resp, 0, NULL);
	if(*status != 200 || !j) {
		fprintf(stderr, "order: %s: HTTP %d %s", url, *status, resp);
		json_decref(j);
		j = NULL;
	}
	free(resp);
	return j;
}

/** the execution record of one order as JSON (new reference) */
static json_t*
execution(json_t* o, char** stats, int nstats)
{
	struct hits h[64];
	int n = read_hits(stats, nstats, json_string_value(json_object_get(o,
		"id")), h, 64), i;
	unsigned long long total = 0;
	long long first = 0;
	char b[64], b2[64];
	json_t* r = json_deep_copy(o), *res = json_array();
	for(i = 0; i < n; i++) {
		total += h[i].n;
		if(h[i].first && (!first || h[i].first < first))
			first = h[i].first;
		json_array_append_new(res, json_pack("{s:s,s:s,s:s,s:I}",
			"resolver", h[i].resolver, "first_enforced",
			ns_time(h[i].first, b, sizeof(b)), "last_enforced",
			ns_time(h[i].last, b2, sizeof(b2)), "hits",
			(json_int_t)h[i].n));
	}
	json_object_set_new(r, "received", json_string(ns_time(
		json_integer_value(json_object_get(o, "received_ns")), b,
		sizeof(b))));
	json_object_set_new(r, "published", json_string(ns_time(
		json_integer_value(json_object_get(o, "published_ns")), b,
		sizeof(b))));
	json_object_set_new(r, "first_enforced", json_string(ns_time(first,
		b, sizeof(b))));
	json_object_set_new(r, "hits", json_integer((json_int_t)total));
	json_object_set_new(r, "resolvers", res);
	return r;
}

int
ig_cmd_order(int argc, char** argv)
{
	static const struct option opts[] = {
		{ "loader", required_argument, NULL, 'l' },
		{ "key", required_argument, NULL, 'k' },
		{ "stats", required_argument, NULL, 's' },
		{ "at", required_argument, NULL, 'a' },
		{ "csv", no_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char* loader = IG_LOADER_URL_DEFAULT, *key = NULL, *at = NULL;
	char* stats[16];
	int nstats = 0, as_csv = 0, c, status, rc = 0;
	const char* cmd;
	if(argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		order_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	cmd = argv[1];
	argc--;
	argv++;
	optind = 1;
	while((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch(c) {
		case 'l': loader = optarg; break;
		case 'k': key = optarg; break;
		case 's': if(nstats < 16) stats[nstats++] = optarg; break;
		case 'a': at = optarg; break;
		case 'c': as_csv = 1; break;
		case 'h': order_usage(stdout); return 0;
		default: order_usage(stderr); return 2;
		}
	}
	if(nstats == 0) stats[nstats++] = (char*)ORDER_STATS_DEFAULT;
	if(!strcmp(cmd, "sign") || !strcmp(cmd, "add")) {
		json_error_t je;
		json_t* j, *env;
		if(optind != argc - 1) {
			order_usage(stderr);
			return 2;
		}
		if(!(j = json_load_file(argv[optind], JSON_REJECT_DUPLICATES,
			&je))) {
			fprintf(stderr, "order: %s:%d: %s\n", argv[optind],
				je.line, je.text);
			return 2;
		}
		if(json_object_get(j, "signature")) {
			env = json_incref(j);
		} else {
			if(!json_object_get(j, "op"))
				json_object_set_new(j, "op", json_string("add"));
			if(!json_object_get(j, "issued"))
				json_object_set_new(j, "issued", json_integer(
					(json_int_t)time(NULL)));
			env = sign_order(j, key);
		}
		json_decref(j);
		if(!env) return 2;
		if(!strcmp(cmd, "sign")) {
			char* t = json_dumps(env, JSON_INDENT(1) |
				JSON_SORT_KEYS);
			printf("%s\n", t);
			free(t);
		} else rc = ig_order_submit(loader, env);
		json_decref(env);
		return rc;
	}
	if(!strcmp(cmd, "lift")) {
		json_t* o, *env;
		int64_t t = (int64_t)time(NULL);
		if(optind != argc - 1) {
			order_usage(stderr);
			return 2;
		}
		if(at && !ig_parse_time(at, &t)) {
			fprintf(stderr, "order: --at '%s': bad time\n", at);
			return 2;
		}
		o = json_pack("{s:s,s:s,s:I,s:I}", "op", "lift", "id",
			argv[optind], "at", (json_int_t)t, "issued",
			(json_int_t)time(NULL));
		env = sign_order(o, key);
		json_decref(o);
		if(!env) return 2;
		rc = ig_order_submit(loader, env);
		json_decref(env);
		return rc;
	}
	if(!strcmp(cmd, "show")) {
		json_t* o, *x;
		char* t;
		if(optind != argc - 1) {
			order_usage(stderr);
			return 2;
		}
		if(!(o = fetch(loader, argv[optind], &status)))
			return status == 404 ? 1 : 2;
		x = execution(o, stats, nstats);
		t = json_dumps(x, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
		printf("%s\n", t);
		free(t);
		json_decref(x);
		json_decref(o);
		return 0;
	}
	if(!strcmp(cmd, "report")) {
		json_t* all = fetch(loader, NULL, &status), *list;
		size_t i;
		if(!all) return 2;
		list = json_object_get(all, "orders");
		if(as_csv)
			printf("id,doc_no,unit,reason,received,"
				"published_serial,published,lifted,"
				"first_enforced,hits\n");
		for(i = 0; i < json_array_size(list); i++) {
			json_t* x = execution(json_array_get(list, i), stats,
				nstats);
			if(as_csv) {
				char n1[32], n2[32];
				snprintf(n1, sizeof(n1), "%lld", (long long)
					json_integer_value(json_object_get(x,
					"published_serial")));
				snprintf(n2, sizeof(n2), "%lld", (long long)
					json_integer_value(json_object_get(x,
					"hits")));
				ig_csv_cell(stdout, json_string_value(json_object_get(x, "id")), 0);
				ig_csv_cell(stdout, json_string_value(json_object_get(x,
					"doc_no")), 0);
				ig_csv_cell(stdout, json_string_value(json_object_get(x, "unit")),
					0);
				ig_csv_cell(stdout, json_string_value(json_object_get(x,
					"reason")), 0);
				ig_csv_cell(stdout, json_string_value(json_object_get(x,
					"received")), 0);
				ig_csv_cell(stdout, n1, 0);
				ig_csv_cell(stdout, json_string_value(json_object_get(x,
					"published")), 0);
				ig_csv_cell(stdout, json_string_value(json_object_get(x,
					"lifted")), 0);
				ig_csv_cell(stdout, json_string_value(json_object_get(x,
					"first_enforced")), 0);
				ig_csv_cell(stdout, n2, 1);
			} else {
				char* t = json_dumps(x, JSON_COMPACT |
					JSON_PRESERVE_ORDER);
				printf("%s\n", t);
				free(t);
			}
			json_decref(x);
		}
		json_decref(all);
		return 0;
	}
	fprintf(stderr, "order: unknown command '%s'\n", cmd);
	order_usage(stderr);
	return 2;
}
