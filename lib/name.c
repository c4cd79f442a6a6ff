/*
 * lib/name.c - domain name handling: UTS#46, wire and key forms, PSL.
 *
 * \file
 * See name.h.  IDNA is libidn2's, the public suffix list is libpsl's; the
 * code here only moves bytes between the three forms.
 */
#include "lib/name.h"
#include <ctype.h>
#include <idn2.h>
#include <libpsl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/** true for a byte allowed in a host-name label (LDH plus underscore) */
static int
ldh_byte(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'
		|| c == '_';
}

int
ig_name_from_text(const char* text, uint8_t* wire, size_t* wirelen,
	const char** err)
{
	char* ascii = NULL;
	const char* p;
	size_t n = 0, tl = strlen(text);
	int rc;

	if(tl == 0) { *err = "empty name"; return 0; }
	if(strcmp(text, ".") == 0) {
		wire[0] = 0; *wirelen = 1; return 1;
	}
	if(tl >= 2 && text[tl-1] == '.' && text[tl-2] == '.') {
		*err = "empty label"; return 0;
	}
	/* pure ASCII names skip libidn2 when they are already plain LDH;
	 * libidn2 would reject underscores (_dmarc) that DNS names carry */
	for(p = text; *p; p++)
		if((unsigned char)*p >= 0x80) break;
	if(*p) {
		rc = idn2_to_ascii_8z(text, &ascii,
			IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
		if(rc != IDN2_OK) {
			*err = idn2_strerror(rc);
			return 0;
		}
		p = ascii;
	} else p = text;

	while(*p) {
		const char* dot = strchr(p, '.');
		size_t ll = dot ? (size_t)(dot - p) : strlen(p);
		size_t i;
		if(ll == 0) {
			*err = "empty label";
			goto fail;
		}
		if(ll > 63) {
			*err = "label longer than 63 octets";
			goto fail;
		}
		if(n + 1 + ll + 1 > IG_NAME_MAX) {
			*err = "name longer than 255 octets";
			goto fail;
		}
		wire[n++] = (uint8_t)ll;
		for(i = 0; i < ll; i++) {
			unsigned char c = (unsigned char)tolower(
				(unsigned char)p[i]);
			if(!ldh_byte(c)) {
				*err = "character not allowed in a host name "
					"(letters, digits, '-', '_')";
				goto fail;
			}
			wire[n++] = c;
		}
		if(wire[n-ll] == '-' || wire[n-1] == '-') {
			*err = "label starts or ends with '-'";
			goto fail;
		}
		p += ll;
		if(*p == '.') p++;
	}
	wire[n++] = 0;
	*wirelen = n;
	free(ascii);
	return 1;
fail:
	free(ascii);
	return 0;
}

int
ig_name_wire_canon(const uint8_t* in, size_t inlen, uint8_t* out,
	size_t* outlen)
{
	size_t n = 0;
	while(1) {
		uint8_t ll;
		size_t i;
		if(n >= inlen) return 0;
		ll = in[n];
		if(ll > 63) return 0; /* pointer or extended label */
		if(n + 1 + ll > IG_NAME_MAX || n + 1 + ll > inlen) return 0;
		out[n] = ll;
		for(i = 1; i <= ll; i++)
			out[n+i] = ig_lower(in[n+i]);
		n += 1 + (size_t)ll;
		if(ll == 0) break;
	}
	*outlen = n;
	return 1;
}

size_t
ig_name_wire_len(const uint8_t* wire)
{
	size_t n = 0;
	while(wire[n]) n += 1 + (size_t)wire[n];
	return n + 1;
}

/** ig_lower of every byte, for the per-query loop */
static const uint8_t ig_lower_table[256] = {
#define L4(c) L1(c), L1((c) + 1), L1((c) + 2), L1((c) + 3)
#define L1(c) ((c) >= 'A' && (c) <= 'Z' ? (c) + ('a' - 'A') : (c))
#define L16(c) L4(c), L4((c) + 4), L4((c) + 8), L4((c) + 12)
#define L64(c) L16(c), L16((c) + 16), L16((c) + 32), L16((c) + 48)
	L64(0), L64(64), L64(128), L64(192)
#undef L64
#undef L16
#undef L1
#undef L4
};

size_t
ig_name_wire_to_key(const uint8_t* wire, uint8_t* key, size_t* labelend,
	int* nlabels)
{
	size_t starts[IG_LABELS_MAX];
	int nl = 0, i;
	size_t n = 0, k = 0;
	while(wire[n] && nl < IG_LABELS_MAX) {
		starts[nl++] = n;
		n += 1 + (size_t)wire[n];
	}
	for(i = nl - 1; i >= 0; i--) {
		size_t s = starts[i], ll = wire[s], j;
		key[k++] = (uint8_t)ll;
		for(j = 1; j <= ll; j++)
			key[k++] = ig_lower_table[wire[s+j]];
		if(labelend) labelend[nl - 1 - i] = k;
	}
	if(nlabels) *nlabels = nl;
	return k;
}

/** append one label in presentation form */
static size_t
label_text(const uint8_t* lab, size_t ll, char* buf, size_t pos,
	size_t buflen)
{
	size_t j;
	for(j = 0; j < ll && pos + 5 < buflen; j++) {
		unsigned char c = lab[j];
		if(ldh_byte((unsigned char)tolower(c)))
			buf[pos++] = (char)c;
		else pos += (size_t)snprintf(buf+pos, buflen-pos, "\\%03u", c);
	}
	if(pos + 1 < buflen) buf[pos++] = '.';
	return pos;
}

char*
ig_name_key_to_text(const uint8_t* key, size_t keylen, char* buf,
	size_t buflen)
{
	size_t starts[IG_LABELS_MAX];
	int nl = 0, i;
	size_t k = 0, pos = 0;
	if(keylen == 0) {
		snprintf(buf, buflen, ".");
		return buf;
	}
	while(k < keylen && nl < IG_LABELS_MAX) {
		starts[nl++] = k;
		k += 1 + (size_t)key[k];
	}
	for(i = nl - 1; i >= 0; i--)
		pos = label_text(key + starts[i] + 1, key[starts[i]], buf, pos,
			buflen);
	buf[pos < buflen ? pos : buflen - 1] = 0;
	return buf;
}

char*
ig_name_wire_to_text(const uint8_t* wire, char* buf, size_t buflen)
{
	size_t n = 0, pos = 0;
	if(wire[0] == 0) {
		snprintf(buf, buflen, ".");
		return buf;
	}
	while(wire[n]) {
		pos = label_text(wire + n + 1, wire[n], buf, pos, buflen);
		n += 1 + (size_t)wire[n];
	}
	buf[pos < buflen ? pos : buflen - 1] = 0;
	return buf;
}

static psl_ctx_t* psl_ctx;
static const psl_ctx_t* psl_in_use;
static pthread_mutex_t psl_lock = PTHREAD_MUTEX_INITIALIZER;
static int psl_loaded;

/** the public suffix list, loaded at first use */
static const psl_ctx_t*
psl_get(void)
{
	if(__atomic_load_n(&psl_loaded, __ATOMIC_ACQUIRE))
		return psl_in_use;
	pthread_mutex_lock(&psl_lock);
	if(!psl_loaded) {
		psl_ctx = psl_latest(NULL);
		psl_in_use = psl_ctx ? psl_ctx : psl_builtin();
		__atomic_store_n(&psl_loaded, 1, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&psl_lock);
	return psl_in_use;
}

void
ig_name_cleanup(void)
{
	pthread_mutex_lock(&psl_lock);
	if(psl_ctx) psl_free(psl_ctx);
	psl_ctx = NULL;
	psl_in_use = NULL;
	__atomic_store_n(&psl_loaded, 0, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&psl_lock);
}

const char*
ig_name_registrable(const char* name)
{
	const psl_ctx_t* p = psl_get();
	return p ? psl_registrable_domain(p, name) : NULL;
}

int
ig_name_is_public_suffix(const char* name)
{
	const psl_ctx_t* p = psl_get();
	return p ? psl_is_public_suffix2(p, name, PSL_TYPE_ANY) : 0;
}
