/*
 * module/recent.c - where the recent answers of a domain are in the
 * message cache.
 *
 * \file
 * See module/recent.h.
 */
#include "config.h"
#include "module/recent.h"
#include "lib/name.h"
#include <stdlib.h>

/** FNV-1a over a label in key form: its length, its lower-case bytes */
static uint64_t
label_hash(uint64_t h, const uint8_t* lab)
{
	size_t j, ll = lab[0];
	h ^= ll;
	h *= 0x100000001b3ULL;
	for(j = 1; j <= ll; j++) {
		h ^= ig_lower(lab[j]);
		h *= 0x100000001b3ULL;
	}
	return h;
}

/** a hash never 0 (0 means none) */
static uint64_t
nonzero(uint64_t h)
{
	return h ? h : 1;
}

#define FNV_START 0xcbf29ce484222325ULL

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

uint64_t
ig_recent_wire_domain(const uint8_t* wire)
{
	size_t last = 0, prev = 0, n = 0;
	int nl = 0;
	while(wire[n] && nl < IG_LABELS_MAX) {
		prev = last;
		last = n;
		nl++;
		n += 1 + (size_t)wire[n];
	}
	if(nl == 0) return 0;
	if(nl == 1) return nonzero(label_hash(FNV_START, wire + last));
	return nonzero(label_hash(label_hash(FNV_START, wire + last),
		wire + prev));
}

uint64_t
ig_recent_key_domain(const uint8_t* key, size_t len)
{
	size_t second;
	if(len == 0 || (size_t)key[0] + 1 >= len) return 0;
	second = (size_t)key[0] + 1;
	if(second + 1 + key[second] > len) return 0;
	return nonzero(label_hash(label_hash(FNV_START, key), key + second));
}

void
ig_recent_note(struct ig_recent* r, const uint8_t* qname, uint32_t cache_hash)
{
	uint64_t d = ig_recent_wire_domain(qname);
	struct ig_recent_bucket* b;
	uint32_t w;
	if(!d || !r->bucket) return;
	b = &r->bucket[(d >> 17) & (IG_RECENT_BUCKETS - 1)];
	/* the same answer again (a name asked often): nothing to do */
	for(w = 0; w < IG_RECENT_WAYS; w++)
		if(__atomic_load_n(&b->hash[w], __ATOMIC_RELAXED) == cache_hash)
			return;
	w = __atomic_fetch_add(&b->next, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&b->hash[w % IG_RECENT_WAYS], cache_hash ?
		cache_hash : 1, __ATOMIC_RELAXED);
}

int
ig_recent_hashes(struct ig_recent* r, uint64_t domain, uint32_t* out)
{
	struct ig_recent_bucket* b;
	int w, n = 0;
	if(!domain || !r->bucket) return 0;
	b = &r->bucket[(domain >> 17) & (IG_RECENT_BUCKETS - 1)];
	for(w = 0; w < IG_RECENT_WAYS; w++) {
		uint32_t h = __atomic_load_n(&b->hash[w], __ATOMIC_RELAXED);
		if(h) out[n++] = h;
	}
	return n;
}
