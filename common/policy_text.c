/*
 * common/policy_text.c - EDE texts and answer facts shared by the modules.
 *
 * \file
 * See common/policy_text.h.
 */
#include "config.h"
#include "common/policy_text.h"
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int
ig_policy_order_find(struct ig_view* urgent, struct ig_view* main,
	const char* id, struct ig_order* o)
{
	if(!id || !id[0]) return 0;
	if(urgent && ig_view_order(urgent, id, o)) return 1;
	if(main && ig_view_order(main, id, o)) return 1;
	return 0;
}

/** vsnprintf that may cut the text short */
static void ede_text(char* buf, size_t len, const char* fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void
ede_text(char* buf, size_t len, const char* fmt, ...)
{
	va_list ap;
	if(len == 0) return;
	va_start(ap, fmt);
	(void)vsnprintf(buf, len, fmt, ap);
	va_end(ap);
}

uint16_t
ig_policy_ede(const char* reason, const char* id, const char* match,
	uint32_t serial, const struct ig_order* o, char* text, size_t len)
{
	if(strcmp(reason, "order") != 0) {
		ede_text(text, len, "icpguard: %s %s snapshot %u", reason,
			match, serial);
		return IG_EDE_BLOCKED;
	}
	if(o)
		ede_text(text, len, "icpguard: order %s %s (%s; %s) %s "
			"snapshot %u", id, o->doc_no, o->unit, o->reason,
			match, serial);
	else ede_text(text, len, "icpguard: order %s %s snapshot %u", id,
			match, serial);
	return IG_EDE_CENSORED;
}

size_t
ig_wire_name_len(const uint8_t* p, size_t max)
{
	size_t n = 0;
	while(n < max) {
		uint8_t l = p[n];
		if(l > 63) return 0;
		n += 1 + (size_t)l;
		if(l == 0) return n <= max ? n : 0;
	}
	return 0;
}

void
ig_svcb_hints(const uint8_t* rd, size_t len, struct ig_addr* addrs,
	int* n, int max)
{
	size_t pos, tl;
	/* SvcPriority (2), TargetName, then key (2) length (2) value */
	if(len < 3) return;
	if(!(tl = ig_wire_name_len(rd + 2, len - 2))) return;
	pos = 2 + tl;
	while(pos + 4 <= len) {
		uint16_t key = (uint16_t)(rd[pos] << 8 | rd[pos+1]);
		uint16_t vl = (uint16_t)(rd[pos+2] << 8 | rd[pos+3]);
		size_t i;
		pos += 4;
		if(pos + vl > len) return;
		if(key == 4) { /* ipv4hint */
			for(i = 0; i + 4 <= vl && *n < max; i += 4)
				ig_addr_from_v4(&addrs[(*n)++], rd + pos + i);
		} else if(key == 6) { /* ipv6hint */
			for(i = 0; i + 16 <= vl && *n < max; i += 16)
				ig_addr_from_v6(&addrs[(*n)++], rd + pos + i);
		}
		pos += vl;
	}
}
