/*
 * tools/cmd_zone.c - `icpguard zone audit`: which names of a zone the
 * policy would block, for any authoritative server.
 *
 * \file
 * Zone files are read with libzscanner (Knot DNS's parser, libknot-dev).
 * Every owner name that holds data (any type but the zone infrastructure:
 * SOA, NS, DS, DNSKEY, CDS, CDNSKEY, RRSIG, NSEC, NSEC3, NSEC3PARAM) is
 * decided as the Knot module decides an address query for it
 * (docs/knot.md): the QNAME, the CNAME chain followed through the names
 * of the files read, and the addresses (A, AAAA, SVCB/HTTPS hints) of the
 * chain's last name.  The addresses of a zone's own name server hosts
 * (apex NS targets) are skipped, as the module never blocks them.
 * Listed: each blocked name with the reason and record, as JSON lines or
 * CSV.  Exit 1 when something is listed, 0 when nothing is, 2 on a usage,
 * zone file or snapshot error.
 */
#include "config.h"
#include "tools/icpguard.h"
#include "tools/audit.h"
#include "common/policy_text.h"
#include "lib/name.h"
#include "lib/verdict.h"
#include <getopt.h>
#include <libzscanner/scanner.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void
zone_usage(FILE* out)
{
	fprintf(out,
"usage: icpguard zone audit ZONEFILE... [--origin NAME] [--snapshot PATH]\n"
"         [--orders-snapshot PATH] [--scope domestic|all] [--csv]\n\n"
"Lists every owner name of the zone files whose answer the policy would\n"
"block on an authoritative server with the icpguard Knot module: reason,\n"
"matched name, record (order id, filing, registrar), document number,\n"
"detail and snapshot; JSON lines (default) or CSV with a header (--csv).\n"
"The origin of a file is --origin, else its name without '.zone'.\n"
"Exit codes: 0 nothing blocked, 1 something listed, 2 usage or input error.\n");
}

/** one owner name and what a query for it would be answered with */
struct zname {
	/** wire name, lower case (malloc'ed); NULL for an empty slot */
	uint8_t* name;
	/** its CNAME target (malloc'ed wire, lower case), NULL if none */
	uint8_t* cname;
	/** addresses (malloc'ed array) */
	struct ig_addr* addr;
	/** count and room */
	int naddr, maxaddr;
	/** holds data other than zone infrastructure */
	int data;
	/** is a name server host of a zone apex */
	int ns_host;
	/** holds an SOA (a zone apex) */
	int apex;
};

/** all names read: open addressing on a power-of-two table */
struct ztable {
	struct zname* slot;
	size_t size, used;
};

/** FNV-1a of a wire name */
static size_t
name_hash(const uint8_t* w, size_t len)
{
	uint64_t h = 1469598103934665603ULL;
	size_t i;
	for(i = 0; i < len; i++) {
		h ^= w[i];
		h *= 1099511628211ULL;
	}
	return (size_t)h;
}

/** find the slot of a name, adding it when add is set; NULL: no memory or
 * not found */
static struct zname*
table_get(struct ztable* t, const uint8_t* w, int add)
{
	size_t len = ig_name_wire_len(w), i;
	if(add && (t->used + 1) * 2 > t->size) {
		struct ztable n;
		n.size = t->size ? t->size * 2 : 1024;
		n.used = 0;
		if(!(n.slot = calloc(n.size, sizeof(*n.slot)))) return NULL;
		for(i = 0; i < t->size; i++) {
			size_t j;
			if(!t->slot[i].name) continue;
			j = name_hash(t->slot[i].name, ig_name_wire_len(
				t->slot[i].name)) & (n.size - 1);
			while(n.slot[j].name) j = (j + 1) & (n.size - 1);
			n.slot[j] = t->slot[i];
			n.used++;
		}
		free(t->slot);
		*t = n;
	}
	if(!t->size) return NULL;
	i = name_hash(w, len) & (t->size - 1);
	while(t->slot[i].name) {
		if(memcmp(t->slot[i].name, w, len) == 0 &&
			ig_name_wire_len(t->slot[i].name) == len)
			return &t->slot[i];
		i = (i + 1) & (t->size - 1);
	}
	if(!add) return NULL;
	if(!(t->slot[i].name = malloc(len))) return NULL;
	memcpy(t->slot[i].name, w, len);
	t->used++;
	return &t->slot[i];
}

/** a copy of a wire name in lower case; NULL when it is not a plain
 * uncompressed name within max bytes */
static uint8_t*
lower_copy(const uint8_t* w, size_t max, uint8_t* out)
{
	size_t len = ig_wire_name_len(w, max), i;
	if(!len || len > IG_NAME_MAX) return NULL;
	for(i = 0; i < len; i++) out[i] = ig_lower(w[i]);
	/* the length octets are below 64: ig_lower leaves them alone */
	return out;
}

/** add an address to a name */
static int
add_addr(struct zname* z, const struct ig_addr* a)
{
	if(z->naddr == z->maxaddr) {
		int n = z->maxaddr ? z->maxaddr * 2 : 2;
		struct ig_addr* p = realloc(z->addr, n * sizeof(*p));
		if(!p) return 0;
		z->addr = p;
		z->maxaddr = n;
	}
	z->addr[z->naddr++] = *a;
	return 1;
}

/** the zone infrastructure types, never blocked (knot/icpguard.c) */
static int
infra_type(uint16_t t)
{
	return t == 6 || t == 2 || t == 43 || t == 48 || t == 59 ||
		t == 60 || t == 46 || t == 47 || t == 50 || t == 51;
}

/** what the record callback needs */
struct zread {
	struct ztable* t;
	/** 1 after a memory failure */
	int nomem;
};

/** one record from the scanner */
static void
on_record(zs_scanner_t* s)
{
	struct zread* zr = (struct zread*)s->process.data;
	uint8_t owner[IG_NAME_MAX], target[IG_NAME_MAX];
	struct zname* z;
	if(!lower_copy(s->r_owner, s->r_owner_length, owner)) return;
	if(!(z = table_get(zr->t, owner, 1))) {
		zr->nomem = 1;
		s->state = ZS_STATE_STOP;
		return;
	}
	if(s->r_type == 6) z->apex = 1;
	if(!infra_type(s->r_type)) z->data = 1;
	if(s->r_type == 5 && !z->cname &&
		lower_copy(s->r_data, s->r_data_length, target)) {
		size_t l = ig_name_wire_len(target);
		if((z->cname = malloc(l))) memcpy(z->cname, target, l);
	} else if(s->r_type == 2 &&
		lower_copy(s->r_data, s->r_data_length, target)) {
		/* NS: its target is marked once all files are read */
		struct zname* h;
		if(!(h = table_get(zr->t, target, 1))) zr->nomem = 1;
		else h->ns_host |= 2; /* 2: target of some NS, apex checked later */
		/* table_get may have moved z: look it up again */
		z = table_get(zr->t, owner, 0);
		if(z) z->ns_host |= 4; /* 4: owns an NS */
	} else if(s->r_type == 1 && s->r_data_length == 4) {
		struct ig_addr a;
		ig_addr_from_v4(&a, s->r_data);
		if(!add_addr(z, &a)) zr->nomem = 1;
	} else if(s->r_type == 28 && s->r_data_length == 16) {
		struct ig_addr a;
		ig_addr_from_v6(&a, s->r_data);
		if(!add_addr(z, &a)) zr->nomem = 1;
	} else if(s->r_type == 64 || s->r_type == 65) {
		struct ig_addr a[16];
		int n = 0, i;
		ig_svcb_hints(s->r_data, s->r_data_length, a, &n, 16);
		for(i = 0; i < n; i++)
			if(!add_addr(z, &a[i])) zr->nomem = 1;
	}
}

/** read one zone file; @return 1, or 0 with the reason printed */
static int
read_zone(const char* file, const char* origin, struct zread* zr)
{
	zs_scanner_t s;
	char org[1100];
	const char* base;
	int ok = 1;
	if(!origin) {
		size_t l;
		base = strrchr(file, '/') ? strrchr(file, '/') + 1 : file;
		snprintf(org, sizeof(org), "%s", base);
		l = strlen(org);
		if(l > 5 && strcmp(org + l - 5, ".zone") == 0) org[l - 5] = 0;
		origin = org;
	}
	if(zs_init(&s, origin, 1, 3600) != 0) {
		fprintf(stderr, "zone audit: %s: bad origin '%s'\n", file,
			origin);
		return 0;
	}
	if(zs_set_input_file(&s, file) != 0) {
		fprintf(stderr, "zone audit: %s: %s\n", file,
			zs_strerror(s.error.code));
		zs_deinit(&s);
		return 0;
	}
	if(zs_set_processing(&s, on_record, NULL, zr) != 0) {
		zs_deinit(&s);
		return 0;
	}
	if(zs_parse_all(&s) != 0 || s.error.counter > 0) {
		fprintf(stderr, "zone audit: %s:%llu: %s\n", file,
			(unsigned long long)s.line_counter,
			zs_strerror(s.error.code));
		ok = 0;
	}
	if(zr->nomem) {
		fprintf(stderr, "zone audit: %s: out of memory\n", file);
		ok = 0;
	}
	zs_deinit(&s);
	return ok;
}

/** print one blocked name */
static void
listed(int csv, const struct ig_verdict* v, const uint8_t* qname,
	struct ig_view* urgent, struct ig_view* view)
{
	char name[1024], match[1024], text[IG_EDE_TEXT_MAX];
	struct ig_order o;
	int found = 0;
	ig_name_wire_to_text(qname, name, sizeof(name));
	ig_name_wire_to_text(v->match[0] ? v->match : v->name, match,
		sizeof(match));
	if(v->reason == IG_REASON_ORDER)
		found = ig_policy_order_find(urgent, view, v->id, &o);
	(void)ig_policy_ede(ig_reason_name(v->reason), v->id, match,
		(uint32_t)v->serial, found ? &o : NULL, text, sizeof(text));
	if(csv) {
		ig_csv_cell(stdout, name, 0);
		ig_csv_cell(stdout, ig_reason_name(v->reason), 0);
		ig_csv_cell(stdout, match, 0);
		ig_csv_cell(stdout, v->id, 0);
		ig_csv_cell(stdout, v->doc_no, 0);
		ig_csv_cell(stdout, v->detail, 0);
		ig_csv_cell(stdout, text, 0);
		ig_csv_cell(stdout, v->snapshot, 1);
		return;
	}
	printf("{\"name\":");
	ig_json_string(stdout, name, strlen(name));
	printf(",\"reason\":\"%s\",\"match\":", ig_reason_name(v->reason));
	ig_json_string(stdout, match, strlen(match));
	printf(",\"record\":");
	ig_json_string(stdout, v->id, strlen(v->id));
	printf(",\"document\":");
	ig_json_string(stdout, v->doc_no, strlen(v->doc_no));
	printf(",\"detail\":");
	ig_json_string(stdout, v->detail, strlen(v->detail));
	printf(",\"ede\":");
	ig_json_string(stdout, text, strlen(text));
	printf(",\"snapshot\":\"%s\"}\n", v->snapshot);
}

/** open a snapshot and a view on it; @return 1, or 0 with the reason */
static int
open_view(const char* path, struct ig_snapshot** s, struct ig_view* v)
{
	char err[1024];
	int sealed;
	if(!ig_snapshot_open_verified(path, s, &sealed, err, sizeof(err))) {
		fprintf(stderr, "zone audit: %s\n", err);
		return 0;
	}
	if(!ig_view_begin(*s, v)) {
		fprintf(stderr, "zone audit: %s: cannot begin a read\n", path);
		ig_snapshot_unref(*s);
		*s = NULL;
		return 0;
	}
	return 1;
}

/** decide every name with data; @return the number listed */
static long
audit_names(struct ztable* t, struct ig_view* view, struct ig_view* urgent,
	enum ig_scope scope, int csv)
{
	struct ig_policy_opts po;
	long n = 0;
	size_t i;
	memset(&po, 0, sizeof(po));
	po.scope = scope;
	po.now = (int64_t)time(NULL);
	po.urgent = urgent;
	for(i = 0; i < t->size; i++) {
		struct zname* z = &t->slot[i], *cur = z;
		struct ig_facts f;
		struct ig_verdict v;
		if(!z->name || !z->data || (z->ns_host & 1)) continue;
		memset(&f, 0, sizeof(f));
		f.qname = z->name;
		f.answered = 1;
		while(cur && cur->cname && f.nalias < IG_CHAIN_MAX) {
			f.alias[f.nalias++] = cur->cname;
			cur = table_get(t, cur->cname, 0);
		}
		if(cur) {
			f.addr = cur->addr;
			f.naddr = cur->naddr;
		}
		if(ig_decide(view, &f, &po, &v)) {
			listed(csv, &v, z->name, urgent, view);
			n++;
		}
	}
	return n;
}

/** mark the NS targets of zone apexes as name server hosts (bit 1) */
static void
mark_ns_hosts(struct ztable* t)
{
	size_t i;
	/* an NS target is exempt when some apex (SOA owner) has an NS;
	 * the target list is not kept per owner, so a name is exempt when
	 * it is an NS target and at least one apex of the files owns NS
	 * records (delegations inside a zone are rare in hosted zones) */
	int apex_ns = 0;
	for(i = 0; i < t->size; i++)
		if(t->slot[i].name && t->slot[i].apex &&
			(t->slot[i].ns_host & 4))
			apex_ns = 1;
	for(i = 0; i < t->size; i++)
		if(t->slot[i].name && (t->slot[i].ns_host & 2) && apex_ns)
			t->slot[i].ns_host |= 1;
}

int
ig_cmd_zone(int argc, char** argv)
{
	static const struct option opts[] = {
		{ "origin", required_argument, NULL, 'o' },
		{ "snapshot", required_argument, NULL, 's' },
		{ "orders-snapshot", required_argument, NULL, 'O' },
		{ "scope", required_argument, NULL, 'S' },
		{ "csv", no_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char* origin = NULL, *path = ig_default_snapshot(), *opath = NULL;
	struct ig_snapshot* snap = NULL, *osnap = NULL;
	struct ig_view view, oview;
	enum ig_scope scope = IG_SCOPE_DOMESTIC;
	struct ztable t = { NULL, 0, 0 };
	struct zread zr;
	int csv = 0, c, rc = 0;
	long n;
	size_t i;
	if(argc < 2 || strcmp(argv[1], "audit") != 0) {
		if(argc >= 2 && (!strcmp(argv[1], "--help") ||
			!strcmp(argv[1], "-h"))) {
			zone_usage(stdout);
			return 0;
		}
		zone_usage(stderr);
		return 2;
	}
	argc--;
	argv++;
	optind = 1;
	while((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch(c) {
		case 'o': origin = optarg; break;
		case 's': path = optarg; break;
		case 'O': opath = optarg; break;
		case 'S':
			if(!strcmp(optarg, "all")) scope = IG_SCOPE_ALL;
			else if(!strcmp(optarg, "domestic"))
				scope = IG_SCOPE_DOMESTIC;
			else {
				fprintf(stderr, "zone audit: --scope '%s': "
					"domestic or all\n", optarg);
				return 2;
			}
			break;
		case 'c': csv = 1; break;
		case 'h': zone_usage(stdout); return 0;
		default: zone_usage(stderr); return 2;
		}
	}
	if(optind >= argc) {
		zone_usage(stderr);
		return 2;
	}
	memset(&zr, 0, sizeof(zr));
	zr.t = &t;
	for(; optind < argc; optind++)
		if(!read_zone(argv[optind], origin, &zr)) {
			rc = 2;
			goto out;
		}
	mark_ns_hosts(&t);
	if(!open_view(path, &snap, &view)) {
		rc = 2;
		goto out;
	}
	if(opath && !open_view(opath, &osnap, &oview)) {
		rc = 2;
		goto view_end;
	}
	if(csv)
		printf("name,reason,match,record,document,detail,ede,"
			"snapshot\n");
	n = audit_names(&t, &view, osnap ? &oview : NULL, scope, csv);
	rc = n > 0 ? 1 : 0;
	if(osnap) {
		ig_view_end(&oview);
		ig_snapshot_unref(osnap);
	}
view_end:
	ig_view_end(&view);
	ig_snapshot_unref(snap);
out:
	for(i = 0; i < t.size; i++) {
		free(t.slot[i].name);
		free(t.slot[i].cname);
		free(t.slot[i].addr);
	}
	free(t.slot);
	return rc;
}
