/*
 * lib/addr.c - IPv4/IPv6 addresses and ranges.
 *
 * \file
 * See addr.h.
 */
#include "lib/addr.h"
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t v4_mapped_prefix[12] =
	{0,0,0,0, 0,0,0,0, 0,0,0xff,0xff};

int
ig_addr_is_v4(const struct ig_addr* a)
{
	return memcmp(a->b, v4_mapped_prefix, 12) == 0;
}

void
ig_addr_from_v4(struct ig_addr* a, const uint8_t* v4)
{
	memcpy(a->b, v4_mapped_prefix, 12);
	memcpy(a->b + 12, v4, 4);
}

void
ig_addr_from_v6(struct ig_addr* a, const uint8_t* v6)
{
	memcpy(a->b, v6, 16);
}

int
ig_addr_parse(const char* text, struct ig_addr* a)
{
	uint8_t buf[16];
	if(strchr(text, ':')) {
		if(inet_pton(AF_INET6, text, buf) != 1) return 0;
		ig_addr_from_v6(a, buf);
		return 1;
	}
	if(inet_pton(AF_INET, text, buf) != 1) return 0;
	ig_addr_from_v4(a, buf);
	return 1;
}

char*
ig_addr_to_text(const struct ig_addr* a, char* buf, size_t buflen)
{
	if(ig_addr_is_v4(a))
		inet_ntop(AF_INET, a->b + 12, buf, (socklen_t)buflen);
	else inet_ntop(AF_INET6, a->b, buf, (socklen_t)buflen);
	return buf;
}

int
ig_addr_cmp(const struct ig_addr* a, const struct ig_addr* b)
{
	return memcmp(a->b, b->b, 16);
}

/** set the host part (bits past plen, counted over 128) to 0 or 1s */
static void
fill_host_bits(struct ig_addr* a, int plen, int ones)
{
	int i;
	for(i = plen; i < 128; i++) {
		uint8_t bit = (uint8_t)(0x80 >> (i % 8));
		if(ones) a->b[i/8] |= bit;
		else a->b[i/8] &= (uint8_t)~bit;
	}
}

int
ig_range_parse(const char* text, struct ig_range* r, const char** err)
{
	char buf[128];
	char* sep;
	if(strlen(text) >= sizeof(buf)) { *err = "range too long"; return 0; }
	strcpy(buf, text);
	if((sep = strchr(buf, '/')) != NULL) {
		char* end;
		long plen;
		int v4;
		*sep = 0;
		if(!ig_addr_parse(buf, &r->first)) {
			*err = "bad prefix address"; return 0;
		}
		v4 = ig_addr_is_v4(&r->first);
		plen = strtol(sep + 1, &end, 10);
		if(*end || sep[1] == 0 || plen < 0 || plen > (v4 ? 32 : 128)) {
			*err = "bad prefix length"; return 0;
		}
		if(v4) plen += 96;
		r->last = r->first;
		fill_host_bits(&r->last, (int)plen, 1);
		{
			struct ig_addr net = r->first;
			fill_host_bits(&net, (int)plen, 0);
			if(ig_addr_cmp(&net, &r->first) != 0) {
				*err = "prefix has host bits set"; return 0;
			}
		}
		return 1;
	}
	if((sep = strchr(buf, '-')) != NULL) {
		*sep = 0;
		if(!ig_addr_parse(buf, &r->first) ||
			!ig_addr_parse(sep + 1, &r->last)) {
			*err = "bad range address"; return 0;
		}
		if(ig_addr_is_v4(&r->first) != ig_addr_is_v4(&r->last)) {
			*err = "range mixes IPv4 and IPv6"; return 0;
		}
		if(ig_addr_cmp(&r->first, &r->last) > 0) {
			*err = "range first address after last"; return 0;
		}
		return 1;
	}
	if(!ig_addr_parse(buf, &r->first)) { *err = "bad address"; return 0; }
	r->last = r->first;
	return 1;
}

int
ig_range_from_v4_count(const struct ig_addr* start, uint64_t count,
	struct ig_range* r)
{
	uint64_t s, e;
	if(!ig_addr_is_v4(start) || count == 0) return 0;
	s = ((uint64_t)start->b[12] << 24) | ((uint64_t)start->b[13] << 16) |
		((uint64_t)start->b[14] << 8) | start->b[15];
	e = s + count - 1;
	if(e > 0xffffffffULL) return 0;
	r->first = *start;
	r->last = *start;
	r->last.b[12] = (uint8_t)(e >> 24);
	r->last.b[13] = (uint8_t)(e >> 16);
	r->last.b[14] = (uint8_t)(e >> 8);
	r->last.b[15] = (uint8_t)e;
	return 1;
}
