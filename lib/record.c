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

const uint8_t*
ig_dec_bytes(struct ig_dec* d, size_t n)
{
	const uint8_t* p;
	if(d->bad || d->pos + n > d->len) {
		d->bad = 1;
		return NULL;
	}
	p = d->buf + d->pos;
	d->pos += n;
	return p;
}

uint8_t
ig_dec_u8(struct ig_dec* d)
{
	const uint8_t* p = ig_dec_bytes(d, 1);
	return p ? p[0] : 0;
}

uint16_t
ig_dec_u16(struct ig_dec* d)
{
	const uint8_t* p = ig_dec_bytes(d, 2);
	return p ? (uint16_t)(p[0] | (p[1] << 8)) : 0;
}

int64_t
ig_dec_i64(struct ig_dec* d)
{
	const uint8_t* p = ig_dec_bytes(d, 8);
	uint64_t u = 0;
	int i;
	if(!p) return 0;
	for(i = 0; i < 8; i++) u |= (uint64_t)p[i] << (8 * i);
	return (int64_t)u;
}

const char*
ig_dec_str(struct ig_dec* d)
{
	uint16_t n = ig_dec_u16(d);
	const uint8_t* p = ig_dec_bytes(d, (size_t)n + 1);
	if(!p || p[n] != 0) {
		d->bad = 1;
		return "";
	}
	return (const char*)p;
}
