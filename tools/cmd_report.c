/*
 * tools/cmd_report.c - `icpguard report monthly`: the monthly table of
 * sites closed per takedown order (seed 003, attachment 1).
 *
 * \file
 * Attachment 1 of the 2016-2017 special action plan (互联网基础管理工作情况
 * 统计表) asks, for the sites closed on the orders of the communication
 * administrations, for 来文单位 (issuing unit), 违规原因 (reason), 函号
 * (document number) and 数量 (count).  One row per order:
 *  - the orders come from the audit records of the month (reason "order",
 *    enforce mode) and from the snapshot (every order in force at some
 *    time in the month, so an order that saw no query shows 0);
 *  - unit and reason come from the snapshot's order record, the document
 *    number from the snapshot or else the audit record;
 *  - 数量 counts distinct sites: the registrable domains (Public Suffix
 *    List) of the names matched under the order in the month;
 *  - two extra columns name the order id and the number of blocked
 *    answers, so every row can be traced back with `icpguard audit
 *    --order ID`.
 * The month runs from the 1st 00:00 to the next 1st 00:00 Beijing time
 * (UTC+8).  Monitor-mode records are not closures and are not counted.
 */
#include "config.h"
#include "tools/icpguard.h"
#include "tools/audit.h"
#include "tools/source.h"
#include "lib/snapshot.h"
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/** print the usage text of `icpguard report` to out */
static void
report_usage(FILE* out)
{
	fprintf(out,
"usage: icpguard report monthly --month YYYY-MM [options] FILE...\n\n"
"The monthly table of sites closed per takedown order (seed 003,\n"
"attachment 1: 来文单位, 违规原因, 函号, 数量) from dnstap audit\n"
"files (as for `icpguard audit`; '-' is standard input) and the\n"
"snapshot's orders.  One row per order in force during the month or seen\n"
"in its audit records; 数量 is the number of distinct registrable domains\n"
"blocked under the order in the month (0 when no query hit it).  Extra\n"
"columns: 指令编号 (order id), 拦截次数 (blocked answers).  The month is\n"
"taken in Beijing time (UTC+8); monitor-mode records are not counted.\n\n"
"options:\n"
"  --month YYYY-MM    the month (required)\n"
"  --snapshot PATH    snapshot with the orders (default $ICPGUARD_SNAPSHOT\n"
"                     or %s)\n"
"  --no-snapshot      audit records only (unit and reason stay empty)\n"
"  --markdown         a Markdown table (default)\n"
"  --csv              CSV with the Chinese column headers\n"
"  --bom              start the CSV with a UTF-8 byte order mark (for Excel)\n"
"  --unit NAME        the reporting unit (填表单位) for the Markdown header\n"
"  --help             this text\n"
"exit: 0 report printed, 2 usage error, unreadable snapshot or input file\n"
"(no report is printed from incomplete input)\n",
		ig_default_snapshot());
}

/* ------------------------------------------------------------------ */
/* a set of strings, and a map of orders (open addressing)             */

/** FNV-1a */
static uint64_t
str_hash(const char* s)
{
	uint64_t h = 1469598103934665603ULL;
	for(; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

/** a set of strings */
struct strset {
	/** slots, NULL empty; strings owned */
	char** slot;
	/** capacity, a power of two */
	size_t cap;
	/** entries */
	size_t n;
};

/** add s (copied); @return 1 added or present, 0 out of memory */
static int
strset_add(struct strset* set, const char* s)
{
	size_t i;
	if(set->n * 2 >= set->cap) {
		size_t ncap = set->cap ? set->cap * 2 : 16, j;
		char** ns = calloc(ncap, sizeof(*ns));
		if(!ns) return 0;
		for(j = 0; j < set->cap; j++) {
			if(!set->slot[j]) continue;
			i = str_hash(set->slot[j]) & (ncap - 1);
			while(ns[i]) i = (i + 1) & (ncap - 1);
			ns[i] = set->slot[j];
		}
		free(set->slot);
		set->slot = ns;
		set->cap = ncap;
	}
	i = str_hash(s) & (set->cap - 1);
	while(set->slot[i]) {
		if(strcmp(set->slot[i], s) == 0) return 1;
		i = (i + 1) & (set->cap - 1);
	}
	if(!(set->slot[i] = strdup(s))) return 0;
	set->n++;
	return 1;
}

/** free the strings and the table */
static void
strset_free(struct strset* set)
{
	size_t i;
	for(i = 0; i < set->cap; i++) free(set->slot[i]);
	free(set->slot);
	memset(set, 0, sizeof(*set));
}

/** one row of the table */
struct order_row {
	/** order id (the key) */
	char* id;
	/** document number (函号) */
	char* doc_no;
	/** issuing unit (来文单位) */
	char* unit;
	/** reason (违规原因) */
	char* reason;
	/** effective from, 0 if unknown */
	int64_t effective;
	/** 1 when found in the snapshot */
	int in_snapshot;
	/** blocked answers in the month */
	unsigned long answers;
	/** distinct sites (registrable domains) */
	struct strset sites;
};

/** the report being built */
struct report {
	/** month start, unix seconds */
	int64_t start;
	/** month end (exclusive) */
	int64_t end;
	/** rows, open-addressed by id */
	struct order_row** slot;
	/** capacity, a power of two */
	size_t cap;
	/** rows */
	size_t n;
	/** order records counted */
	unsigned long counted;
	/** monitor-mode order records seen in the month (not counted) */
	unsigned long monitor;
	/** records read */
	unsigned long records;
	/** 1 after an allocation failed */
	int nomem;
};

/** set a string field once (keeps the first non-empty value) */
static void
set_str(char** field, const char* v, struct report* rp)
{
	if(*field && (*field)[0]) return;
	if(!v || !v[0]) return;
	free(*field);
	if(!(*field = strdup(v))) rp->nomem = 1;
}

/** find or add the row of an order id; NULL when out of memory */
static struct order_row*
report_row(struct report* rp, const char* id)
{
	size_t i;
	struct order_row* row;
	if(rp->n * 2 >= rp->cap) {
		size_t ncap = rp->cap ? rp->cap * 2 : 64, j;
		struct order_row** ns = calloc(ncap, sizeof(*ns));
		if(!ns) return NULL;
		for(j = 0; j < rp->cap; j++) {
			if(!rp->slot[j]) continue;
			i = str_hash(rp->slot[j]->id) & (ncap - 1);
			while(ns[i]) i = (i + 1) & (ncap - 1);
			ns[i] = rp->slot[j];
		}
		free(rp->slot);
		rp->slot = ns;
		rp->cap = ncap;
	}
	i = str_hash(id) & (rp->cap - 1);
	while(rp->slot[i]) {
		if(strcmp(rp->slot[i]->id, id) == 0) return rp->slot[i];
		i = (i + 1) & (rp->cap - 1);
	}
	row = calloc(1, sizeof(*row));
	if(!row || !(row->id = strdup(id))) {
		free(row);
		return NULL;
	}
	rp->slot[i] = row;
	rp->n++;
	return row;
}

/** the site of a matched name: its registrable domain, else the name */
static void
site_of(const uint8_t* wire, char* buf, size_t buflen)
{
	const char* reg;
	size_t l;
	ig_name_wire_to_text(wire, buf, buflen);
	l = strlen(buf);
	if(l > 1 && buf[l - 1] == '.') buf[l - 1] = 0;
	reg = ig_name_registrable(buf);
	if(reg && reg != buf) memmove(buf, reg, strlen(reg) + 1);
}

/** ig_audit_fn: count one record */
static int
report_one(const struct ig_audit_rec* rec, void* arg)
{
	struct report* rp = (struct report*)arg;
	struct order_row* row;
	char site[1024];
	const char* key;
	rp->records++;
	if(!rec->has_policy || strcasecmp(rec->reason, "order") != 0)
		return 0;
	if(!rec->has_time || rec->sec < rp->start || rec->sec >= rp->end)
		return 0;
	if(strcasecmp(rec->mode, "monitor") == 0) {
		rp->monitor++;
		return 0;
	}
	/* an order record without an id is keyed by its document number */
	key = rec->id[0] ? rec->id : rec->doc_no;
	if(!key[0]) key = "?";
	if(!(row = report_row(rp, key))) {
		rp->nomem = 1;
		return 2;
	}
	set_str(&row->doc_no, rec->doc_no, rp);
	row->answers++;
	rp->counted++;
	if(rec->has_match) site_of(rec->match, site, sizeof(site));
	else if(rec->has_qname) site_of(rec->qname, site, sizeof(site));
	else return 0;
	if(!strset_add(&row->sites, site)) {
		rp->nomem = 1;
		return 2;
	}
	return 0;
}

/** fill a row from a snapshot order */
static void
row_fill(struct report* rp, struct order_row* row, const struct ig_order* o)
{
	set_str(&row->doc_no, o->doc_no, rp);
	set_str(&row->unit, o->unit, rp);
	set_str(&row->reason, o->reason, rp);
	row->effective = o->effective;
	row->in_snapshot = 1;
}

/**
 * Add the snapshot's orders in force during the month and describe the
 * orders seen in the records.
 * @return 1 ok, 0 failure (printed).
 */
static int
report_snapshot(struct report* rp, const char* path, char* ident,
	size_t identlen)
{
	struct ig_snapshot* snap;
	struct ig_view view;
	struct ig_order o;
	MDB_cursor* cur;
	MDB_val k, v;
	char err[512], id[256];
	size_t i;
	int rc, sealed;
	/* verified like the module's: a damaged page never reaches LMDB */
	if(!ig_snapshot_open_verified(path, &snap, &sealed, err,
		sizeof(err))) {
		fprintf(stderr, "report: %s\n", err);
		return 0;
	}
	snprintf(ident, identlen, "%s", ig_snapshot_info(snap)->ident);
	if(!ig_view_begin(snap, &view)) {
		fprintf(stderr, "report: %s: cannot read\n", path);
		ig_snapshot_unref(snap);
		return 0;
	}
	if(mdb_cursor_open(view.txn, ig_view_dbi(&view, IG_DB_ORDER),
		&cur) != 0) {
		fprintf(stderr, "report: %s: cannot read the orders\n", path);
		ig_view_end(&view);
		ig_snapshot_unref(snap);
		return 0;
	}
	for(rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		struct order_row* row;
		if(k.mv_size == 0 || k.mv_size >= sizeof(id)) continue;
		memcpy(id, k.mv_data, k.mv_size);
		id[k.mv_size] = 0;
		if(!ig_view_order(&view, id, &o)) continue;
		/* in force at some moment of [start, end) */
		if(o.effective >= rp->end) continue;
		if(o.expiry && o.expiry <= rp->start) continue;
		if(o.lifted && o.lifted <= rp->start) continue;
		if(!(row = report_row(rp, id))) {
			rp->nomem = 1;
			break;
		}
		row_fill(rp, row, &o);
	}
	mdb_cursor_close(cur);
	/* orders seen in the records but not in force this month by the
	 * snapshot (lifted since, or moved): describe them all the same */
	for(i = 0; i < rp->cap; i++) {
		struct order_row* row = rp->slot[i];
		if(row && !row->in_snapshot && ig_view_order(&view, row->id, &o))
			row_fill(rp, row, &o);
	}
	ig_view_end(&view);
	ig_snapshot_unref(snap);
	return 1;
}

/** table order: effective time (unknown last), document number, id */
static int
row_cmp(const void* a, const void* b)
{
	const struct order_row* x = *(const struct order_row* const*)a;
	const struct order_row* y = *(const struct order_row* const*)b;
	int c;
	if(x->in_snapshot != y->in_snapshot) return y->in_snapshot -
		x->in_snapshot;
	if(x->effective != y->effective)
		return x->effective < y->effective ? -1 : 1;
	c = strcmp(x->doc_no ? x->doc_no : "", y->doc_no ? y->doc_no : "");
	return c ? c : strcmp(x->id, y->id);
}

/** a Markdown table cell: '|' escaped, line breaks as spaces */
static void
md_cell(FILE* out, const char* s)
{
	putc(' ', out);
	for(; s && *s; s++) {
		if(*s == '|') fputs("\\|", out);
		else if(*s == '\n' || *s == '\r') putc(' ', out);
		else putc(*s, out);
	}
	fputs(" |", out);
}

/** the column headers (attachment 1's four, a number, two extras) */
static const char* const headers[] = {
	"序号", "来文单位", "违规原因", "函号", "数量", "指令编号", "拦截次数",
	NULL
};

/** print the report */
static void
report_print(FILE* out, struct report* rp, struct order_row** rows,
	size_t n, int csv, int bom, const char* unit, const char* month,
	const char* ident, int nfiles)
{
	size_t i;
	int h;
	unsigned long sites = 0;
	char num[32], ans[32];
	if(csv) {
		if(bom) fputs("\xef\xbb\xbf", out);
		for(h = 0; headers[h]; h++)
			fprintf(out, "%s%s", h ? "," : "", headers[h]);
		putc('\n', out);
		for(i = 0; i < n; i++) {
			fprintf(out, "%zu,", i + 1);
			ig_csv_field(out, rows[i]->unit ? rows[i]->unit : "");
			putc(',', out);
			ig_csv_field(out, rows[i]->reason ? rows[i]->reason :
				"");
			putc(',', out);
			ig_csv_field(out, rows[i]->doc_no ? rows[i]->doc_no :
				"");
			fprintf(out, ",%zu,", rows[i]->sites.n);
			ig_csv_field(out, rows[i]->id);
			fprintf(out, ",%lu\n", rows[i]->answers);
		}
		return;
	}
	{
		time_t now = time(NULL) + 8 * 3600;
		struct tm tm;
		char today[32];
		gmtime_r(&now, &tm);
		strftime(today, sizeof(today), "%Y年%m月%d日", &tm);
		fprintf(out, "## 互联网基础管理工作情况统计表：关闭网站信息"
			"（%.4s年%.2s月）\n\n", month, month + 5);
		fprintf(out, "填表单位：%s　　填报日期：%s\n\n",
			unit ? unit : "", today);
	}
	fputs("|", out);
	for(h = 0; headers[h]; h++) md_cell(out, headers[h]);
	fputs("\n|", out);
	for(h = 0; headers[h]; h++) fputs(h == 0 || h == 4 || h == 6 ?
		" ---: |" : " --- |", out);
	putc('\n', out);
	for(i = 0; i < n; i++) {
		snprintf(num, sizeof(num), "%zu", i + 1);
		fputs("|", out);
		md_cell(out, num);
		md_cell(out, rows[i]->unit);
		md_cell(out, rows[i]->reason);
		md_cell(out, rows[i]->doc_no);
		snprintf(num, sizeof(num), "%zu", rows[i]->sites.n);
		md_cell(out, num);
		md_cell(out, rows[i]->id);
		snprintf(ans, sizeof(ans), "%lu", rows[i]->answers);
		md_cell(out, ans);
		putc('\n', out);
		sites += rows[i]->sites.n;
	}
	fprintf(out, "\n合计：指令 %zu 条，关闭网站 %lu 个，拦截应答 %lu 次。\n",
		n, sites, rp->counted);
	fprintf(out, "\n统计区间：%.7s-01 00:00 至下月 1 日 00:00（北京时间，"
		"UTC+8）。数量为该月按指令拦截的不同注册域名数（公共后缀表）。"
		"数据：审计文件 %d 个，记录 %lu 条", month, nfiles,
		rp->records);
	if(rp->monitor)
		fprintf(out, "，另有监测模式记录 %lu 条未计入", rp->monitor);
	if(ident[0]) fprintf(out, "；快照 %s", ident);
	fputs("。\n", out);
}

/** parse YYYY-MM into the month's start and end (Beijing time) */
static int
parse_month(const char* s, int64_t* start, int64_t* end)
{
	int y, m;
	struct tm tm;
	char extra;
	if(strlen(s) != 7 || sscanf(s, "%4d-%2d%c", &y, &m, &extra) != 2 ||
		s[4] != '-' || y < 1970 || m < 1 || m > 12)
		return 0;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = m - 1;
	tm.tm_mday = 1;
	*start = (int64_t)timegm(&tm) - 8 * 3600;
	tm.tm_year = (m == 12 ? y + 1 : y) - 1900;
	tm.tm_mon = m == 12 ? 0 : m;
	*end = (int64_t)timegm(&tm) - 8 * 3600;
	return 1;
}

/** free the rows */
static void
report_free(struct report* rp)
{
	size_t i;
	for(i = 0; i < rp->cap; i++) {
		struct order_row* row = rp->slot[i];
		if(!row) continue;
		free(row->id);
		free(row->doc_no);
		free(row->unit);
		free(row->reason);
		strset_free(&row->sites);
		free(row);
	}
	free(rp->slot);
}

/** `icpguard report monthly ...` */
static int
report_monthly(int argc, char** argv)
{
	static const struct option opts[] = {
		{ "month", required_argument, NULL, 'm' },
		{ "snapshot", required_argument, NULL, 's' },
		{ "no-snapshot", no_argument, NULL, 'n' },
		{ "markdown", no_argument, NULL, 'M' },
		{ "csv", no_argument, NULL, 'c' },
		{ "bom", no_argument, NULL, 'b' },
		{ "unit", required_argument, NULL, 'u' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct report rp;
	struct order_row** rows = NULL;
	const char* month = NULL, *path = ig_default_snapshot(), *unit = NULL;
	char ident[IG_SNAPSHOT_IDENT_MAX] = "";
	int c, i, csv = 0, bom = 0, nosnap = 0, rc = 0;
	size_t n = 0, j;
	memset(&rp, 0, sizeof(rp));
	optind = 1;
	while((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch(c) {
		case 'm': month = optarg; break;
		case 's': path = optarg; break;
		case 'n': nosnap = 1; break;
		case 'M': csv = 0; break;
		case 'c': csv = 1; break;
		case 'b': bom = 1; break;
		case 'u': unit = optarg; break;
		case 'h': report_usage(stdout); return 0;
		default: report_usage(stderr); return 2;
		}
	}
	if(!month) {
		fprintf(stderr, "report monthly: --month YYYY-MM is required\n");
		return 2;
	}
	if(!parse_month(month, &rp.start, &rp.end)) {
		fprintf(stderr, "report monthly: --month '%s': want YYYY-MM\n",
			month);
		return 2;
	}
	if(optind >= argc) {
		fprintf(stderr, "report monthly: no audit file (use '-' for "
			"standard input)\n");
		return 2;
	}
	for(i = optind; i < argc; i++) {
		int frc = ig_audit_scan("report", argv[i], report_one, &rp,
			NULL);
		if(rp.nomem) break;
		if(frc) rc = 2;
	}
	if(!rp.nomem && rc == 0 && !nosnap &&
		!report_snapshot(&rp, path, ident, sizeof(ident))) {
		fprintf(stderr, "report monthly: the snapshot is needed for the "
			"issuing units and reasons (--snapshot PATH, or "
			"--no-snapshot)\n");
		rc = 2;
	}
	if(rp.nomem) {
		fprintf(stderr, "report monthly: out of memory\n");
		rc = 2;
	}
	if(rc != 0) {
		if(!rp.nomem)
			fprintf(stderr, "report monthly: no report from "
				"incomplete input\n");
		report_free(&rp);
		return rc;
	}
	if(rp.n && !(rows = calloc(rp.n, sizeof(*rows)))) {
		fprintf(stderr, "report monthly: out of memory\n");
		report_free(&rp);
		return 2;
	}
	for(j = 0; j < rp.cap; j++)
		if(rp.slot[j]) {
			if(!rp.slot[j]->in_snapshot && !nosnap)
				fprintf(stderr, "report monthly: order '%s' of "
					"the audit records is not in the "
					"snapshot: unit and reason unknown\n",
					rp.slot[j]->id);
			rows[n++] = rp.slot[j];
		}
	qsort(rows, n, sizeof(*rows), row_cmp);
	report_print(stdout, &rp, rows, n, csv, bom, unit, month, ident,
		argc - optind);
	free(rows);
	report_free(&rp);
	if(fflush(stdout) != 0 || ferror(stdout)) {
		perror("report monthly: standard output");
		return 2;
	}
	return 0;
}

int
ig_cmd_report(int argc, char** argv)
{
	if(argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		report_usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if(strcmp(argv[1], "monthly") == 0)
		return report_monthly(argc - 1, argv + 1);
	fprintf(stderr, "report: unknown report '%s' (known: monthly)\n",
		argv[1]);
	return 2;
}
