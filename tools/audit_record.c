/*
 * tools/audit_record.c - dnstap audit records: decoding, filters, output.
 *
 * \file
 * See audit.h.  The dnstap schema is data/dnstap.proto compiled by
 * protoc-c; the module's Policy conventions are in module/audit.c:
 * Policy.rule "REASON ID DOCNO", Policy.value the matched name (wire),
 * Dnstap.extra a JSON object {"snapshot","reason","id","doc_no","mode"}.
 * The DNS messages are read only as far as the header and the first
 * question, every read bounded by the message length.
 */
#include "config.h"
#include "tools/audit.h"
#include "data/dnstap.pb-c.h"
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/** copy at most cap-1 bytes of a protobuf bytes field and terminate */
static void
copy_bytes(char* dst, size_t cap, const uint8_t* src, size_t len)
{
	if(len >= cap) len = cap - 1;
	if(len) memcpy(dst, src, len);
	dst[len] = 0;
}

/** copy a C string field from the extra JSON object, if present */
static void
extra_str(json_t* o, const char* key, char* dst, size_t cap)
{
	json_t* v = json_object_get(o, key);
	if(json_is_string(v))
		copy_bytes(dst, cap, (const uint8_t*)json_string_value(v),
			json_string_length(v));
}

/** the policy from Policy.rule "REASON [ID [DOCNO]]" (other writers) */
static void
policy_from_rule(struct ig_audit_rec* r, const uint8_t* rule, size_t len)
{
	char buf[512], *p, *sp;
	copy_bytes(buf, sizeof(buf), rule, len);
	p = buf;
	if((sp = strchr(p, ' ')) != NULL) *sp = 0;
	copy_bytes(r->reason, sizeof(r->reason), (uint8_t*)p, strlen(p));
	if(!sp) return;
	p = sp + 1;
	if((sp = strchr(p, ' ')) != NULL) *sp = 0;
	copy_bytes(r->id, sizeof(r->id), (uint8_t*)p, strlen(p));
	if(sp) copy_bytes(r->doc_no, sizeof(r->doc_no), (uint8_t*)sp + 1,
		strlen(sp + 1));
}

int
ig_dns_question(const uint8_t* msg, size_t len, uint8_t* qname, int* qtype,
	int* rcode)
{
	size_t ql;
	*qtype = -1;
	*rcode = -1;
	if(!msg || len < 12) return 0;
	*rcode = msg[3] & 0x0f;
	if(((unsigned)msg[4] << 8 | msg[5]) == 0) return 0;
	/* the question name is the first name: never compressed */
	if(!ig_name_wire_canon(msg + 12, len - 12, qname, &ql)) return 0;
	if(12 + ql + 4 > len) return 0;
	*qtype = (int)((unsigned)msg[12 + ql] << 8 | msg[12 + ql + 1]);
	return 1;
}

int
ig_audit_decode(const uint8_t* data, size_t len, struct ig_audit_rec* r,
	const char** err)
{
	Dnstap__Dnstap* d;
	Dnstap__Message* m;
	uint8_t qn[IG_NAME_MAX];
	int qt, rc;
	memset(r, 0, sizeof(*r));
	r->port = -1;
	r->qtype = -1;
	r->rcode = -1;
	r->action = -1;
	d = dnstap__dnstap__unpack(NULL, len, data);
	if(!d) {
		*err = "not a dnstap protobuf message";
		return 0;
	}
	m = d->message;
	if(d->type != DNSTAP__DNSTAP__TYPE__MESSAGE || !m) {
		dnstap__dnstap__free_unpacked(d, NULL);
		*err = "dnstap frame without a Message";
		return 0;
	}
	r->msg_type = (int)m->type;
	if(d->has_identity)
		copy_bytes(r->identity, sizeof(r->identity),
			d->identity.data, d->identity.len);
	if(m->has_response_time_sec) {
		r->has_time = 1;
		r->sec = (int64_t)m->response_time_sec;
		r->nsec = m->has_response_time_nsec ?
			m->response_time_nsec % 1000000000u : 0;
	} else if(m->has_query_time_sec) {
		r->has_time = 1;
		r->sec = (int64_t)m->query_time_sec;
		r->nsec = m->has_query_time_nsec ?
			m->query_time_nsec % 1000000000u : 0;
	}
	if(m->has_query_address && m->query_address.len == 4) {
		ig_addr_from_v4(&r->client, m->query_address.data);
		r->has_client = 1;
	} else if(m->has_query_address && m->query_address.len == 16) {
		ig_addr_from_v6(&r->client, m->query_address.data);
		r->has_client = 1;
	}
	if(m->has_query_port) r->port = (int)(m->query_port & 0xffff);
	if(m->has_socket_protocol) r->protocol = (int)m->socket_protocol;
	/* the response's question and rcode; the query's question if the
	 * response is absent or unreadable */
	if(m->has_response_message) {
		if(ig_dns_question(m->response_message.data,
			m->response_message.len, qn, &qt, &rc)) {
			memcpy(r->qname, qn, sizeof(qn));
			r->has_qname = 1;
			r->qtype = qt;
		}
		r->rcode = rc;
	}
	if(!r->has_qname && m->has_query_message &&
		ig_dns_question(m->query_message.data, m->query_message.len,
		qn, &qt, &rc)) {
		memcpy(r->qname, qn, sizeof(qn));
		r->has_qname = 1;
		r->qtype = qt;
	}
	/* the module's own summary; read even without a Policy (a writer
	 * whose Policy was lost still says what it decided here) */
	if(d->has_extra && d->extra.len > 0 && d->extra.data[0] == '{') {
		json_error_t je;
		json_t* x = json_loadb((const char*)d->extra.data,
			d->extra.len, 0, &je);
		if(json_is_object(x)) {
			extra_str(x, "reason", r->reason, sizeof(r->reason));
			extra_str(x, "id", r->id, sizeof(r->id));
			extra_str(x, "doc_no", r->doc_no, sizeof(r->doc_no));
			extra_str(x, "snapshot", r->snapshot,
				sizeof(r->snapshot));
			extra_str(x, "mode", r->mode, sizeof(r->mode));
		}
		json_decref(x);
	}
	if(m->policy) {
		Dnstap__Policy* p = m->policy;
		size_t ml;
		if(p->type)
			snprintf(r->policy_type, sizeof(r->policy_type), "%s",
				p->type);
		if(p->has_action) r->action = (int)p->action;
		if(p->has_value && p->value.len > 0 && ig_name_wire_canon(
			p->value.data, p->value.len, r->match, &ml))
			r->has_match = 1;
		if(!r->reason[0] && p->has_rule)
			policy_from_rule(r, p->rule.data, p->rule.len);
		if(!r->mode[0] && r->action >= 0)
			snprintf(r->mode, sizeof(r->mode), "%s", r->action ==
				DNSTAP__POLICY__ACTION__PASS ? "monitor" :
				"enforce");
	}
	r->has_policy = m->policy != NULL || r->reason[0] != 0;
	dnstap__dnstap__free_unpacked(d, NULL);
	return 1;
}

/** a number and its name */
struct code_name {
	/** the number */
	int code;
	/** the name */
	const char* name;
};

/** resource record types worth a name in an audit listing */
static const struct code_name rrtypes[] = {
	{1, "A"}, {2, "NS"}, {5, "CNAME"}, {6, "SOA"}, {12, "PTR"},
	{13, "HINFO"}, {15, "MX"}, {16, "TXT"}, {28, "AAAA"}, {33, "SRV"},
	{35, "NAPTR"}, {39, "DNAME"}, {41, "OPT"}, {43, "DS"}, {46, "RRSIG"},
	{47, "NSEC"}, {48, "DNSKEY"}, {50, "NSEC3"}, {51, "NSEC3PARAM"},
	{52, "TLSA"}, {53, "SMIMEA"}, {59, "CDS"}, {60, "CDNSKEY"},
	{61, "OPENPGPKEY"}, {64, "SVCB"}, {65, "HTTPS"}, {99, "SPF"},
	{252, "AXFR"}, {251, "IXFR"}, {255, "ANY"}, {256, "URI"},
	{257, "CAA"}, {0, NULL}
};

/** header rcodes */
static const struct code_name rcodes[] = {
	{0, "NOERROR"}, {1, "FORMERR"}, {2, "SERVFAIL"}, {3, "NXDOMAIN"},
	{4, "NOTIMP"}, {5, "REFUSED"}, {6, "YXDOMAIN"}, {7, "YXRRSET"},
	{8, "NXRRSET"}, {9, "NOTAUTH"}, {10, "NOTZONE"}, {0, NULL}
};

/** look a code up in a table */
static const char*
code_lookup(const struct code_name* t, int code)
{
	for(; t->name; t++)
		if(t->code == code) return t->name;
	return NULL;
}

const char*
ig_rrtype_text(int type, char* buf, size_t buflen)
{
	const char* n = code_lookup(rrtypes, type);
	if(n) return n;
	snprintf(buf, buflen, "TYPE%d", type);
	return buf;
}

const char*
ig_rcode_text(int rcode, char* buf, size_t buflen)
{
	const char* n = code_lookup(rcodes, rcode);
	if(n) return n;
	snprintf(buf, buflen, "RCODE%d", rcode);
	return buf;
}

const char*
ig_action_text(int action)
{
	static const struct code_name t[] = {
		{1, "NXDOMAIN"}, {2, "NODATA"}, {3, "PASS"}, {4, "DROP"},
		{5, "TRUNCATE"}, {6, "LOCAL_DATA"}, {0, NULL}
	};
	return code_lookup(t, action);
}

const char*
ig_protocol_text(int protocol)
{
	static const struct code_name t[] = {
		{1, "udp"}, {2, "tcp"}, {3, "dot"}, {4, "doh"},
		{5, "dnscrypt-udp"}, {6, "dnscrypt-tcp"}, {7, "doq"},
		{0, NULL}
	};
	return code_lookup(t, protocol);
}

const char*
ig_msgtype_text(int type)
{
	/* dnstap-ldns's two-letter codes */
	static const struct code_name t[] = {
		{1, "AQ"}, {2, "AR"}, {3, "RQ"}, {4, "RR"}, {5, "CQ"},
		{6, "CR"}, {7, "FQ"}, {8, "FR"}, {9, "SQ"}, {10, "SR"},
		{11, "TQ"}, {12, "TR"}, {13, "UQ"}, {14, "UR"}, {0, NULL}
	};
	return code_lookup(t, type);
}

int
ig_audit_filter_match(const struct ig_audit_filter* f,
	const struct ig_audit_rec* r)
{
	int i, ok;
	if(f->policy_only && !r->has_policy) return 0;
	if(f->has_from && (!r->has_time || r->sec < f->from)) return 0;
	if(f->has_to && (!r->has_time || r->sec >= f->to)) return 0;
	if(f->nreasons) {
		for(ok = 0, i = 0; i < f->nreasons && !ok; i++)
			ok = strcasecmp(f->reasons[i], r->reason) == 0;
		if(!ok) return 0;
	}
	if(f->nids) {
		for(ok = 0, i = 0; i < f->nids && !ok; i++)
			ok = r->id[0] && strcmp(f->ids[i], r->id) == 0;
		if(!ok) return 0;
	}
	if(f->nclients) {
		if(!r->has_client) return 0;
		for(ok = 0, i = 0; i < f->nclients && !ok; i++)
			ok = ig_addr_cmp(&f->clients[i].first, &r->client) <= 0
				&& ig_addr_cmp(&r->client,
				&f->clients[i].last) <= 0;
		if(!ok) return 0;
	}
	if(f->nsuffixes) {
		uint8_t key[IG_KEY_MAX];
		size_t kl;
		if(!r->has_qname) return 0;
		kl = ig_name_wire_to_key(r->qname, key, NULL, NULL);
		/* keys are length-prefixed labels from the top: an ancestor's
		 * key is a prefix of its descendants' keys, label-aligned */
		for(ok = 0, i = 0; i < f->nsuffixes && !ok; i++)
			ok = f->suffix_lens[i] <= kl && memcmp(key,
				f->suffix_keys[i], f->suffix_lens[i]) == 0;
		if(!ok) return 0;
	}
	return 1;
}

void
ig_addr_truncate(struct ig_addr* a, int v4len, int v6len)
{
	int keep = ig_addr_is_v4(a) ? 96 + v4len : v6len, i;
	for(i = keep; i < 128; i++)
		a->b[i / 8] &= (uint8_t)~(0x80 >> (i % 8));
}

int
ig_truncate_parse(const char* s, int* v4len, int* v6len)
{
	char* end;
	long a, b = 48;
	a = strtol(s, &end, 10);
	if(end == s || a < 0 || a > 32) return 0;
	if(*end == ',') {
		const char* p = end + 1;
		b = strtol(p, &end, 10);
		if(end == p || b < 0 || b > 128) return 0;
	}
	if(*end) return 0;
	*v4len = (int)a;
	*v6len = (int)b;
	return 1;
}

/** length of the valid UTF-8 sequence at s (n bytes left), 0 if invalid */
static size_t
utf8_seq(const unsigned char* s, size_t n)
{
	size_t len, i;
	uint32_t cp;
	if(s[0] < 0x80) return 1;
	if(s[0] >= 0xc2 && s[0] <= 0xdf) { len = 2; cp = s[0] & 0x1f; }
	else if(s[0] >= 0xe0 && s[0] <= 0xef) { len = 3; cp = s[0] & 0x0f; }
	else if(s[0] >= 0xf0 && s[0] <= 0xf4) { len = 4; cp = s[0] & 0x07; }
	else return 0;
	if(len > n) return 0;
	for(i = 1; i < len; i++) {
		if((s[i] & 0xc0) != 0x80) return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
		(len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

void
ig_json_string(FILE* out, const char* str, size_t len)
{
	const unsigned char* s = (const unsigned char*)str;
	size_t i = 0, n;
	putc('"', out);
	while(i < len) {
		unsigned char c = s[i];
		if(c == '"' || c == '\\') {
			putc('\\', out);
			putc(c, out);
			i++;
		} else if(c < 0x20) {
			switch(c) {
			case '\n': fputs("\\n", out); break;
			case '\r': fputs("\\r", out); break;
			case '\t': fputs("\\t", out); break;
			default: fprintf(out, "\\u%04x", c);
			}
			i++;
		} else if((n = utf8_seq(s + i, len - i)) == 0) {
			fputs("\xef\xbf\xbd", out);
			i++;
		} else {
			fwrite(s + i, 1, n, out);
			i += n;
		}
	}
	putc('"', out);
}

void
ig_csv_field(FILE* out, const char* str)
{
	const unsigned char* s = (const unsigned char*)str;
	size_t len = strlen(str), i = 0, n;
	int quote = strpbrk(str, ",\"\r\n") != NULL || (len > 0 &&
		(s[0] == ' ' || s[len - 1] == ' '));
	if(quote) putc('"', out);
	while(i < len) {
		if(s[i] == '"') {
			fputs("\"\"", out);
			i++;
		} else if((n = utf8_seq(s + i, len - i)) == 0) {
			fputs("\xef\xbf\xbd", out);
			i++;
		} else {
			fwrite(s + i, 1, n, out);
			i += n;
		}
	}
	if(quote) putc('"', out);
}

char*
ig_audit_time_text(int64_t sec, uint32_t nsec, char* buf, size_t buflen)
{
	time_t t;
	struct tm tm;
	char b[32];
	/* Beijing time is UTC+8; a damaged record's seconds may sit near the
	 * ends of int64 (no signed overflow here) */
	if(sec > INT64_MAX - 8 * 3600 || sec < INT64_MIN + 8 * 3600) {
		snprintf(buf, buflen, "?");
		return buf;
	}
	t = (time_t)(sec + 8 * 3600);
	if(!gmtime_r(&t, &tm)) {
		snprintf(buf, buflen, "?");
		return buf;
	}
	strftime(b, sizeof(b), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, buflen, "%s.%06u+08:00", b, (unsigned)(nsec / 1000));
	return buf;
}

/** the output columns, in order */
static const char* const columns[] = {
	"time", "unix", "identity", "client", "port", "protocol", "qname",
	"qtype", "rcode", "reason", "id", "doc_no", "match", "action",
	"snapshot", "mode", "policy", "message", NULL
};

void
ig_audit_print_header(FILE* out, const struct ig_audit_out* o)
{
	int i;
	(void)o;
	for(i = 0; columns[i]; i++)
		fprintf(out, "%s%s", i ? "," : "", columns[i]);
	putc('\n', out);
}

/** one field: a string or NULL (JSON null, CSV empty) */
static void
field(FILE* out, const struct ig_audit_out* o, int idx, const char* v)
{
	if(idx) putc(',', out);
	if(o->csv) {
		if(v) ig_csv_field(out, v);
		return;
	}
	ig_json_string(out, columns[idx], strlen(columns[idx]));
	putc(':', out);
	if(v) ig_json_string(out, v, strlen(v));
	else fputs("null", out);
}

/** one numeric field, written as is (v NULL: null/empty) */
static void
field_num(FILE* out, const struct ig_audit_out* o, int idx, const char* v)
{
	if(idx) putc(',', out);
	if(!o->csv) {
		ig_json_string(out, columns[idx], strlen(columns[idx]));
		putc(':', out);
	}
	if(v) fputs(v, out);
	else if(!o->csv) fputs("null", out);
}

/** the string or NULL when empty */
static const char*
opt(const char* s)
{
	return s && s[0] ? s : NULL;
}

void
ig_audit_print(FILE* out, const struct ig_audit_rec* r,
	const struct ig_audit_out* o)
{
	char tbuf[48], ubuf[40], abuf[64], pbuf[12], qn[1024], mn[1024];
	char tb[16], rb[16];
	struct ig_addr a = r->client;
	int n = 0;
	if(!o->csv) putc('{', out);
	if(r->has_time) {
		ig_audit_time_text(r->sec, r->nsec, tbuf, sizeof(tbuf));
		snprintf(ubuf, sizeof(ubuf), "%lld.%06u", (long long)r->sec,
			(unsigned)(r->nsec / 1000));
	}
	field(out, o, n++, r->has_time ? tbuf : NULL);
	field_num(out, o, n++, r->has_time ? ubuf : NULL);
	field(out, o, n++, opt(r->identity));
	if(r->has_client) {
		if(o->truncate) ig_addr_truncate(&a, o->v4len, o->v6len);
		ig_addr_to_text(&a, abuf, sizeof(abuf));
	}
	field(out, o, n++, r->has_client ? abuf : NULL);
	/* a truncated client has no port: with the port, an address
	 * translator's log would name the subscriber again */
	if(r->port >= 0 && !o->truncate)
		snprintf(pbuf, sizeof(pbuf), "%d", r->port);
	field_num(out, o, n++, r->port >= 0 && !o->truncate ? pbuf : NULL);
	field(out, o, n++, ig_protocol_text(r->protocol));
	field(out, o, n++, r->has_qname ? ig_name_wire_to_text(r->qname, qn,
		sizeof(qn)) : NULL);
	field(out, o, n++, r->qtype >= 0 ? ig_rrtype_text(r->qtype, tb,
		sizeof(tb)) : NULL);
	field(out, o, n++, r->rcode >= 0 ? ig_rcode_text(r->rcode, rb,
		sizeof(rb)) : NULL);
	field(out, o, n++, opt(r->reason));
	field(out, o, n++, opt(r->id));
	field(out, o, n++, opt(r->doc_no));
	field(out, o, n++, r->has_match ? ig_name_wire_to_text(r->match, mn,
		sizeof(mn)) : NULL);
	field(out, o, n++, ig_action_text(r->action));
	field(out, o, n++, opt(r->snapshot));
	field(out, o, n++, opt(r->mode));
	field(out, o, n++, opt(r->policy_type));
	field(out, o, n++, ig_msgtype_text(r->msg_type));
	if(!o->csv) putc('}', out);
	putc('\n', out);
}

void
ig_csv_cell(FILE* out, const char* s, int last)
{
	ig_csv_field(out, s ? s : "");
	fputc(last ? '\n' : ',', out);
}
