/*
 * module/recent.c - the recent client queries of a domain.
 *
 * \file
 * See module/recent.h.
 */
#include "config.h"
#include "module/recent.h"
#include <stdlib.h>
#include <string.h>

/** every byte's bit 5: ASCII upper case to lower (and a few other bytes
 * moved too: only ever compared with bytes folded the same way) */
#define FOLD 0x2020202020202020ULL

int
ig_recent_init(struct ig_recent* r)
{
	r->bucket = calloc(IG_RECENT_BUCKETS, sizeof(*r->bucket));
	return r->bucket != NULL;
}

void
ig_recent_free(struct ig_recent* r)
{
	free(r->bucket);
	r->bucket = NULL;
}

/** the hash of bytes [from, end) of buf, which holds at least 8 readable
 * bytes from every position before end (zero padded): word by word, with
 * loads the compiler makes single instructions */
static uint64_t
span_hash(const uint8_t* buf, size_t from, size_t end)
{
	uint64_t h = 0x9e3779b97f4a7c15ULL;
	size_t i;
	for(i = from; i < end; i += 8) {
		uint64_t w;
		memcpy(&w, buf + i, 8);
		if(end - i < 8)
			w &= ((uint64_t)1 << ((end - i) * 8)) - 1;
		h = (h ^ (w | FOLD)) * 0xff51afd7ed558ccdULL;
		h ^= h >> 29;
	}
	return h ? h : 1;
}

/** the start of the last two labels (or the one) of a wire name and its
 * end (the root label's position); @return 0 for the root */
static int
domain_span(const uint8_t* wire, size_t* from, size_t* end)
{
	size_t last = 0, prev = 0, n = 0;
	int nl = 0;
	while(wire[n]) {
		prev = last;
		last = n;
		nl++;
		n += 1 + (size_t)wire[n];
	}
	*from = nl == 1 ? last : prev;
	*end = n;
	return nl > 0;
}

uint64_t
ig_recent_wire_domain(const uint8_t* wire)
{
	uint8_t buf[256 + 8];
	size_t from, end;
	if(!domain_span(wire, &from, &end)) return 0;
	memset(buf, 0, sizeof(buf));
	memcpy(buf, wire, end);
	return span_hash(buf, from, end);
}

/** the bucket of a domain hash */
static struct ig_recent_bucket*
bucket_of(struct ig_recent* r, uint64_t domain)
{
	return &r->bucket[(domain >> 20) & (IG_RECENT_BUCKETS - 1)];
}

void
ig_recent_note(struct ig_recent* r, const uint8_t* qname, size_t qname_len,
	uint16_t qtype, uint16_t qclass, uint16_t flags)
{
	/* the name zero padded, one word more for span_hash's loads */
	uint64_t name[IG_RECENT_NAME / 8 + 1], meta, d;
	struct ig_recent_bucket* b;
	struct ig_recent_rec* rec;
	uint32_t w;
	size_t i, from, end;
	if(!r->bucket || qname_len > IG_RECENT_NAME || qname_len == 0)
		return;
	memset(name, 0, sizeof(name));
	memcpy(name, qname, qname_len);
	if(!domain_span(qname, &from, &end)) return;
	d = span_hash((const uint8_t*)name, from, end);
	meta = (uint64_t)qtype | ((uint64_t)qclass << 16) |
		((uint64_t)flags << 32) | ((uint64_t)qname_len << 48);
	b = bucket_of(r, d);
	/* the same query again (a name asked often): nothing to write */
	for(w = 0; w < IG_RECENT_WAYS; w++) {
		if(__atomic_load_n(&b->rec[w].meta, __ATOMIC_RELAXED) != meta)
			continue;
		for(i = 0; i < IG_RECENT_NAME / 8 && __atomic_load_n(
			&b->rec[w].name[i], __ATOMIC_RELAXED) == name[i]; i++)
			;
		if(i == IG_RECENT_NAME / 8) return;
	}
	w = __atomic_fetch_add(&b->next, 1, __ATOMIC_RELAXED);
	rec = &b->rec[w % IG_RECENT_WAYS];
	for(i = 0; i < IG_RECENT_NAME / 8; i++)
		__atomic_store_n(&rec->name[i], name[i], __ATOMIC_RELAXED);
	__atomic_store_n(&rec->meta, meta, __ATOMIC_RELAXED);
}

int
ig_recent_get(struct ig_recent* r, uint64_t domain,
	struct ig_recent_query* out)
{
	struct ig_recent_bucket* b;
	int w, n = 0;
	if(!domain || !r->bucket) return 0;
	b = bucket_of(r, domain);
	for(w = 0; w < IG_RECENT_WAYS; w++) {
		uint64_t name[IG_RECENT_NAME / 8], meta;
		size_t i, len, p = 0;
		meta = __atomic_load_n(&b->rec[w].meta, __ATOMIC_RELAXED);
		for(i = 0; i < IG_RECENT_NAME / 8; i++)
			name[i] = __atomic_load_n(&b->rec[w].name[i],
				__ATOMIC_RELAXED);
		len = (size_t)(meta >> 48) & 0xff;
		if(!meta || len == 0 || len > IG_RECENT_NAME) continue;
		memcpy(out[n].qname, name, IG_RECENT_NAME);
		/* a whole wire name of exactly len bytes, or a mixed record */
		while(p < len && out[n].qname[p] && !(out[n].qname[p] & 0xc0))
			p += 1 + (size_t)out[n].qname[p];
		if(p != len - 1 || out[n].qname[p] != 0) continue;
		out[n].qname_len = len;
		out[n].qtype = (uint16_t)meta;
		out[n].qclass = (uint16_t)(meta >> 16);
		out[n].flags = (uint16_t)(meta >> 32);
		n++;
	}
	return n;
}

uint64_t
ig_recent_key_domain(const uint8_t* key, size_t len)
{
	uint8_t wire[2 * 64 + 1];
	size_t tl, sl;
	if(len == 0) return 0;
	tl = (size_t)key[0] + 1;
	if(tl >= len || tl > 64) return 0;
	sl = (size_t)key[tl] + 1;
	if(tl + sl > len || sl > 64) return 0;
	/* the name's last two labels in wire order: the second, the top */
	memcpy(wire, key + tl, sl);
	memcpy(wire + sl, key, tl);
	wire[sl + tl] = 0;
	return ig_recent_wire_domain(wire);
}
