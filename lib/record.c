/*
 * lib/record.c - byte encoding of snapshot values.
 *
 * \file
 * See record.h.
 */
#include "lib/record.h"
#include <string.h>

void
ig_enc_bytes(struct ig_enc* e, const void* p, size_t n)
{
	if(e->overflow || e->len + n > e->cap) {
		e->overflow = 1;
		return;
	}
	memcpy(e->buf + e->len, p, n);
	e->len += n;
}

void
ig_enc_u8(struct ig_enc* e, uint8_t v)
{
	ig_enc_bytes(e, &v, 1);
}

void
ig_enc_u16(struct ig_enc* e, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)v, (uint8_t)(v >> 8) };
	ig_enc_bytes(e, b, 2);
}

void
ig_enc_i64(struct ig_enc* e, int64_t v)
{
	uint8_t b[8];
	uint64_t u = (uint64_t)v;
	int i;
	for(i = 0; i < 8; i++) b[i] = (uint8_t)(u >> (8 * i));
	ig_enc_bytes(e, b, 8);
}

void
ig_enc_str(struct ig_enc* e, const char* s)
{
	size_t n = s ? strlen(s) : 0;
	if(n > 0xfffe) {
		e->overflow = 1;
		return;
	}
	ig_enc_u16(e, (uint16_t)n);
	ig_enc_bytes(e, s ? s : "", n);
	ig_enc_u8(e, 0);
}
