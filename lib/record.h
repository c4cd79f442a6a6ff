/*
 * lib/record.h - byte encoding of snapshot values (internal to lib/).
 *
 * \file
 * Values are a sequence of fields: u8, little-endian i64, and strings
 * written as a u16 length, the bytes and a NUL (so readers can hand out
 * C strings that point into the mapped file).  Decoding is bounds-checked:
 * a corrupt snapshot yields "not found", never a read past the value.
 */
#ifndef ICPGUARD_RECORD_H
#define ICPGUARD_RECORD_H
#include <stddef.h>
#include <stdint.h>

/** an output buffer; fixed size, overflow sets the error flag */
struct ig_enc {
	/** the bytes */
	uint8_t* buf;
	/** capacity */
	size_t cap;
	/** used */
	size_t len;
	/** 1 if something did not fit */
	int overflow;
};

/** an input cursor over one value */
struct ig_dec {
	/** the bytes */
	const uint8_t* buf;
	/** value length */
	size_t len;
	/** position */
	size_t pos;
	/** 1 if a read ran past the end */
	int bad;
};

/** put a byte */
void ig_enc_u8(struct ig_enc* e, uint8_t v);
/** put a little-endian 64-bit integer */
void ig_enc_i64(struct ig_enc* e, int64_t v);
/** put a little-endian 16-bit integer */
void ig_enc_u16(struct ig_enc* e, uint16_t v);
/** put raw bytes */
void ig_enc_bytes(struct ig_enc* e, const void* p, size_t n);
/** put a string (NULL is written as the empty string) */
void ig_enc_str(struct ig_enc* e, const char* s);

/* The decoders are inline: the verdict decodes a filing record on every
 * query, and a call per field was a third of the walk's instructions. */

/** get a pointer to n raw bytes; NULL (and d->bad) past the end */
static inline const uint8_t*
ig_dec_bytes(struct ig_dec* d, size_t n)
{
	const uint8_t* p;
	if(d->bad || n > d->len - d->pos || d->pos > d->len) {
		d->bad = 1;
		return NULL;
	}
	p = d->buf + d->pos;
	d->pos += n;
	return p;
}

/** get a byte */
static inline uint8_t
ig_dec_u8(struct ig_dec* d)
{
	const uint8_t* p = ig_dec_bytes(d, 1);
	return p ? p[0] : 0;
}

/** get a little-endian 16-bit integer */
static inline uint16_t
ig_dec_u16(struct ig_dec* d)
{
	const uint8_t* p = ig_dec_bytes(d, 2);
	return p ? (uint16_t)(p[0] | (p[1] << 8)) : 0;
}

/** get a little-endian 64-bit integer */
static inline int64_t
ig_dec_i64(struct ig_dec* d)
{
	const uint8_t* p = ig_dec_bytes(d, 8);
	uint64_t u = 0;
	int i;
	if(!p) return 0;
	for(i = 0; i < 8; i++) u |= (uint64_t)p[i] << (8 * i);
	return (int64_t)u;
}

/** get a string; returns "" when bad */
static inline const char*
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

#endif /* ICPGUARD_RECORD_H */
