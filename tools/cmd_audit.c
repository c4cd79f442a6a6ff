/*
 * tools/cmd_audit.c - `icpguard audit`: dnstap audit records to JSON lines
 * or CSV.
 *
 * \file
 * Reads Frame Streams files captured from the module's audit-socket or
 * audit-tcp (for instance with `fstrm_capture -t protobuf:dnstap.Dnstap`),
 * applies the filters and prints one line per record.  Exit 0: records
 * printed; 1: no record matched; 2: usage error, or an input file that
 * could not be read completely (what could be read is printed).
 */
#include "config.h"
#include "tools/icpguard.h"
#include "tools/audit.h"
#include "tools/source.h"
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/** print the usage text of `icpguard audit` to out */
static void
audit_usage(FILE* out)
{
	fprintf(out,
"usage: icpguard audit [options] FILE...\n\n"
"Convert dnstap audit records (Frame Streams files of content type\n"
IG_DNSTAP_CONTENT_TYPE ", as written by the module to audit-socket or\n"
"audit-tcp and captured with fstrm_capture) to JSON lines or CSV.\n"
"FILE '-' reads standard input.  One record per line with the fields\n"
"  time unix identity client port protocol qname qtype rcode reason id\n"
"  doc_no match action snapshot mode policy message\n"
"time is ISO 8601 in Beijing time (UTC+8), unix is seconds since the epoch;\n"
"reason..mode come from the record's Policy (absent for sampled plain\n"
"answers: null in JSON, empty in CSV); policy is the dnstap Policy.type\n"
"(\"icpguard\"); message is dnstap's message type (CR).\n\n"
"options:\n"
"  --csv              CSV with a header row instead of JSON lines\n"
"  --from TIME        records at or after TIME\n"
"  --to TIME          records before TIME\n"
"                     TIME: unix seconds, YYYY-MM-DD (00:00 Beijing time)\n"
"                     or YYYY-MM-DDTHH:MM[:SS][Z|+HH:MM] (default UTC+8)\n"
"  --reason R         policy reason: order, blacklist, nofiling, redirect\n"
"  --order ID         order id (or record id) of the policy\n"
"  --client PREFIX    client in PREFIX (10.0.0.0/8, 2001:db8::/32,\n"
"                     FIRST-LAST or one address)\n"
"  --suffix NAME      QNAME at or under NAME (case-insensitive; Unicode\n"
"                     names are converted to A-labels)\n"
"  --policy           only records with a policy (no sampled answers)\n"
"  --truncate-client V4LEN[,V6LEN]\n"
"                     print clients with the host bits zeroed (V6LEN\n"
"                     default 48) and without the port\n"
"  --help             this text\n"
"Each filter option may be given more than once: a record must match one\n"
"value of every filter given.\n"
"exit: 0 records printed, 1 no record matched, 2 usage or input error\n"
"(a corrupt file is reported with its frame number and byte offset; the\n"
"records before the damage are printed)\n");
}

/** state of one run */
struct audit_run {
	/** the filters */
	struct ig_audit_filter filter;
	/** output options */
	struct ig_audit_out out;
	/** records printed */
	unsigned long printed;
};

/** ig_audit_fn: filter and print */
static int
audit_one(const struct ig_audit_rec* rec, void* arg)
{
	struct audit_run* run = (struct audit_run*)arg;
	if(!ig_audit_filter_match(&run->filter, rec))
		return 0;
	ig_audit_print(stdout, rec, &run->out);
	run->printed++;
	return 0;
}

/** grow an array by one element; returns the new element or NULL */
static void*
grow(void** arr, int* n, size_t size)
{
	void* a = realloc(*arr, (size_t)(*n + 1) * size);
	if(!a) return NULL;
	*arr = a;
	return (char*)a + (size_t)(*n)++ * size;
}

int
ig_cmd_audit(int argc, char** argv)
{
	static const struct option opts[] = {
		{ "csv", no_argument, NULL, 'c' },
		{ "from", required_argument, NULL, 'f' },
		{ "to", required_argument, NULL, 't' },
		{ "reason", required_argument, NULL, 'r' },
		{ "order", required_argument, NULL, 'o' },
		{ "client", required_argument, NULL, 'C' },
		{ "suffix", required_argument, NULL, 's' },
		{ "policy", no_argument, NULL, 'p' },
		{ "truncate-client", required_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct audit_run run;
	struct ig_audit_filter* f = &run.filter;
	const char* err;
	int c, i, rc = 0, bad = 0;
	memset(&run, 0, sizeof(run));
	optind = 1;
	while((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch(c) {
		case 'c': run.out.csv = 1; break;
		case 'f':
		case 't': {
			int64_t t;
			if(!ig_parse_time(optarg, &t)) {
				fprintf(stderr, "audit: --%s '%s': bad time "
					"(unix seconds, YYYY-MM-DD or ISO 8601)\n",
					c == 'f' ? "from" : "to", optarg);
				bad = 1;
			} else if(c == 'f') {
				f->has_from = 1;
				f->from = t;
			} else {
				f->has_to = 1;
				f->to = t;
			}
			break;
		}
		case 'r': {
			const char** p = grow((void**)&f->reasons,
				&f->nreasons, sizeof(*p));
			if(!p) goto nomem;
			*p = optarg;
			break;
		}
		case 'o': {
			const char** p = grow((void**)&f->ids, &f->nids,
				sizeof(*p));
			if(!p) goto nomem;
			*p = optarg;
			break;
		}
		case 'C': {
			struct ig_range* p = grow((void**)&f->clients,
				&f->nclients, sizeof(*p));
			if(!p) goto nomem;
			if(!ig_range_parse(optarg, p, &err)) {
				fprintf(stderr, "audit: --client '%s': %s\n",
					optarg, err);
				bad = 1;
			}
			break;
		}
		case 's': {
			uint8_t wire[IG_NAME_MAX];
			size_t wl;
			int n = f->nsuffixes;
			void* k = realloc(f->suffix_keys, (size_t)(n + 1) *
				sizeof(*f->suffix_keys));
			if(!k) goto nomem;
			f->suffix_keys = k;
			k = realloc(f->suffix_lens, (size_t)(n + 1) *
				sizeof(*f->suffix_lens));
			if(!k) goto nomem;
			f->suffix_lens = k;
			if(!ig_name_from_text(optarg, wire, &wl, &err)) {
				fprintf(stderr, "audit: --suffix '%s': %s\n",
					optarg, err);
				bad = 1;
				break;
			}
			f->suffix_lens[n] = ig_name_wire_to_key(wire,
				f->suffix_keys[n], NULL, NULL);
			f->nsuffixes++;
			break;
		}
		case 'p': f->policy_only = 1; break;
		case 'T':
			if(!ig_truncate_parse(optarg, &run.out.v4len,
				&run.out.v6len)) {
				fprintf(stderr, "audit: --truncate-client '%s': "
					"want V4LEN[,V6LEN], 0..32 and 0..128\n",
					optarg);
				bad = 1;
			}
			run.out.truncate = 1;
			break;
		case 'h':
			audit_usage(stdout);
			rc = 0;
			goto done;
		default:
			audit_usage(stderr);
			rc = 2;
			goto done;
		}
	}
	if(!bad && f->has_from && f->has_to && f->to <= f->from) {
		fprintf(stderr, "audit: --to must be after --from\n");
		bad = 1;
	}
	if(bad) {
		rc = 2;
		goto done;
	}
	if(optind >= argc) {
		fprintf(stderr, "audit: no input file (use '-' for standard "
			"input)\n");
		audit_usage(stderr);
		rc = 2;
		goto done;
	}
	if(run.out.csv)
		ig_audit_print_header(stdout, &run.out);
	for(i = optind; i < argc; i++) {
		int frc = ig_audit_scan("audit", argv[i], audit_one, &run, NULL);
		if(frc) rc = 2;
	}
	if(fflush(stdout) != 0 || ferror(stdout)) {
		perror("audit: standard output");
		rc = 2;
	}
	if(rc == 0 && run.printed == 0)
		rc = 1;
	goto done;
nomem:
	fprintf(stderr, "audit: out of memory\n");
	rc = 2;
done:
	free(f->reasons);
	free(f->ids);
	free(f->clients);
	free(f->suffix_keys);
	free(f->suffix_lens);
	return rc;
}
