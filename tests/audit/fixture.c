/*
 * tests/audit/fixture.c - dnstap audit records for the converter's tests.
 *
 * \file
 * See fixture.h.  The list below is what tests/audit/convert.sh expects;
 * change both together.  Month of the report test: 2024-05 (Beijing
 * time), with records on both edges of it.
 */
#include "config.h"
#include "tests/audit/fixture.h"
#include "data/dnstap.pb-c.h"
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DOC_A "工信厅信管函〔2024〕1号"
#define DOC_D "皖通信安简函〔2024〕83号"
#define DOC_X "皖通信安简函〔2022〕83号"

const struct fx_rec fx_records[] = {
	/* 1: the first second of May: an order, IPv4, UDP */
	{ "2024-05-01T00:00:00", "10.1.2.3", 5353, 1, "www.site-a.cn", 1, 3,
	  "order", "ord-a", DOC_A, "site-a.cn", 1, 0, 0, 0 },
	/* 2: the same site under the same order, another name */
	{ "2024-05-10T12:00:00", "10.1.2.4", 5354, 1, "mail.site-a.cn", 28, 3,
	  "order", "ord-a", DOC_A, "site-a.cn", 1, 0, 0, 0 },
	/* 3: a second site of the order (under com.cn), IPv6, TCP */
	{ "2024-05-11T08:30:00", "2001:db8:1:2::5", 40000, 2,
	  "www.site-b.com.cn", 1, 3, "order", "ord-a", DOC_A,
	  "site-b.com.cn", 1, 0, 0, 0 },
	/* 4: monitor mode: answered normally, not a closure */
	{ "2024-05-12T09:00:00", "10.1.2.5", 5355, 1, "www.site-c.cn", 1, 0,
	  "order", "ord-a", DOC_A, "site-c.cn", 3, 1, 0, 0 },
	/* 5: the last second of May, another order */
	{ "2024-05-31T23:59:59", "10.1.2.6", 5356, 1, "x.site-d.cn", 1, 3,
	  "order", "ord-d", DOC_D, "site-d.cn", 1, 0, 0, 0 },
	/* 6: the first second of June */
	{ "2024-06-01T00:00:00", "10.1.2.7", 5357, 1, "www.site-e.cn", 1, 3,
	  "order", "ord-a", DOC_A, "site-e.cn", 1, 0, 0, 0 },
	/* 7: the last second of April */
	{ "2024-04-30T23:59:59", "10.1.2.8", 5358, 1, "www.site-f.cn", 1, 3,
	  "order", "ord-a", DOC_A, "site-f.cn", 1, 0, 0, 0 },
	/* 8: blacklist, private IPv4 client over TCP */
	{ "2024-05-15T10:00:00", "192.168.7.9", 6000, 2, "evil.bad.cn", 1, 3,
	  "blacklist", "", "", "bad.cn", 1, 0, 0, 0 },
	/* 9: no filing, an IDN name (公司.中国), NODATA action */
	{ "2024-05-16T10:00:00", "10.9.9.9", 6001, 1,
	  "www.xn--55qx5d.xn--fiqs8s", 1, 0, "nofiling", "", "",
	  "www.xn--55qx5d.xn--fiqs8s", 2, 0, 0, 0 },
	/* 10: a sampled plain answer: no policy, no extra */
	{ "2024-05-17T10:00:00", "10.1.2.9", 6002, 1, "www.filed.cn", 1, 0,
	  NULL, "", "", NULL, 0, 0, 0, 0 },
	/* 11: another writer: the policy only in Policy.rule */
	{ "2024-05-18T10:00:00", "172.16.0.1", 6003, 1, "a.other.cn", 1, 3,
	  "order", "ord-x", DOC_X, "other.cn", 1, 0, 1, 0 },
	/* 12: upper case on the wire; same site as 1 */
	{ "2024-05-19T10:00:00", "10.1.2.10", 6004, 1, "WWW.Site-A.CN", 1, 3,
	  "order", "ord-a", DOC_A, "site-a.cn", 1, 0, 0, 0 },
	/* 13: redirect, the policy summary without a Policy message */
	{ "2024-05-20T10:00:00", "10.1.2.11", 6005, 1, "fwd.parked.cn", 1, 3,
	  "redirect", "reg-1", "", "parked.cn", 1, 0, 0, 1 },
	{ NULL, NULL, 0, 0, NULL, 0, 0, NULL, NULL, NULL, NULL, 0, 0, 0, 0 }
};

/** encode a text name as wire, case kept; 0 on failure */
static size_t
name_wire(const char* text, uint8_t* out, size_t cap)
{
	size_t n = 0;
	const char* p = text;
	while(*p) {
		const char* dot = strchr(p, '.');
		size_t ll = dot ? (size_t)(dot - p) : strlen(p);
		if(ll == 0 || ll > 63 || n + 1 + ll + 1 > cap) return 0;
		out[n++] = (uint8_t)ll;
		memcpy(out + n, p, ll);
		n += ll;
		p += ll;
		if(*p == '.') p++;
	}
	out[n++] = 0;
	return n;
}

size_t
fx_dns_message(const char* qname, int qtype, int response, int rcode,
	uint8_t* buf)
{
	size_t nl;
	memset(buf, 0, 12);
	buf[2] = response ? 0x81 : 0x01; /* QR, RD */
	buf[3] = response ? (uint8_t)(0x80 | (rcode & 0x0f)) : 0; /* RA */
	buf[5] = 1; /* QDCOUNT */
	if(!(nl = name_wire(qname, buf + 12, 300))) return 0;
	buf[12 + nl] = (uint8_t)(qtype >> 8);
	buf[13 + nl] = (uint8_t)qtype;
	buf[14 + nl] = 0;
	buf[15 + nl] = 1; /* IN */
	return 16 + nl;
}

/** "YYYY-MM-DDTHH:MM:SS" Beijing time to unix seconds */
static int64_t
bj_time(const char* s)
{
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	if(!strptime(s, "%Y-%m-%dT%H:%M:%S", &tm)) return -1;
	return (int64_t)timegm(&tm) - 8 * 3600;
}

size_t
fx_pack(const struct fx_rec* r, uint8_t** out)
{
	Dnstap__Dnstap d = DNSTAP__DNSTAP__INIT;
	Dnstap__Message m = DNSTAP__MESSAGE__INIT;
	Dnstap__Policy p = DNSTAP__POLICY__INIT;
	static const char version[] = "icpguard test";
	uint8_t q[512], resp[512], addr[16], match[300];
	char rule[512], extra[1024];
	size_t ql, rl, ml, len;
	int64_t t = bj_time(r->time);
	if(t < 0) return 0;
	d.identity.data = (uint8_t*)"test-resolver";
	d.identity.len = strlen("test-resolver");
	d.has_identity = 1;
	d.version.data = (uint8_t*)version;
	d.version.len = sizeof(version) - 1;
	d.has_version = 1;
	d.type = DNSTAP__DNSTAP__TYPE__MESSAGE;
	d.message = &m;
	m.type = DNSTAP__MESSAGE__TYPE__CLIENT_RESPONSE;
	if(r->client) {
		if(strchr(r->client, ':')) {
			if(inet_pton(AF_INET6, r->client, addr) != 1) return 0;
			m.query_address.len = 16;
			m.socket_family = DNSTAP__SOCKET_FAMILY__INET6;
		} else {
			if(inet_pton(AF_INET, r->client, addr) != 1) return 0;
			m.query_address.len = 4;
			m.socket_family = DNSTAP__SOCKET_FAMILY__INET;
		}
		m.query_address.data = addr;
		m.has_query_address = m.has_socket_family = 1;
		m.query_port = r->port;
		m.has_query_port = 1;
		m.socket_protocol = (Dnstap__SocketProtocol)r->protocol;
		m.has_socket_protocol = 1;
	}
	if(!(ql = fx_dns_message(r->qname, r->qtype, 0, 0, q)) ||
		!(rl = fx_dns_message(r->qname, r->qtype, 1, r->rcode, resp)))
		return 0;
	m.query_message.data = q;
	m.query_message.len = ql;
	m.has_query_message = 1;
	m.response_message.data = resp;
	m.response_message.len = rl;
	m.has_response_message = 1;
	m.response_time_sec = (uint64_t)t;
	m.response_time_nsec = 0;
	m.has_response_time_sec = m.has_response_time_nsec = 1;
	if(r->reason) {
		snprintf(rule, sizeof(rule), "%s%s%s%s%s", r->reason,
			r->id[0] ? " " : "", r->id, r->doc_no[0] ? " " : "",
			r->doc_no);
		p.type = "icpguard";
		p.rule.data = (uint8_t*)rule;
		p.rule.len = strlen(rule);
		p.has_rule = 1;
		p.action = (Dnstap__Policy__Action)r->action;
		p.has_action = 1;
		p.match = DNSTAP__POLICY__MATCH__QNAME;
		p.has_match = 1;
		if(!(ml = name_wire(r->match, match, sizeof(match))))
			return 0;
		p.value.data = match;
		p.value.len = ml;
		p.has_value = 1;
		if(!r->no_policy_msg) m.policy = &p;
		if(!r->no_extra) {
			snprintf(extra, sizeof(extra), "{\"snapshot\":\"7\","
				"\"reason\":\"%s\",\"id\":\"%s\",\"doc_no\":"
				"\"%s\",\"mode\":\"%s\"}", r->reason, r->id,
				r->doc_no, r->monitor ? "monitor" : "enforce");
			d.extra.data = (uint8_t*)extra;
			d.extra.len = strlen(extra);
			d.has_extra = 1;
		}
	}
	len = dnstap__dnstap__get_packed_size(&d);
	if(!(*out = malloc(len))) return 0;
	dnstap__dnstap__pack(&d, *out);
	return len;
}
