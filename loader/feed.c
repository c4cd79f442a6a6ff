/*
 * loader/feed.c - feed files: keys, signatures, streaming read and write.
 *
 * \file
 * See feed.h.  Ed25519 through OpenSSL's EVP_PKEY_ED25519 (one-shot
 * EVP_DigestSign/Verify; the signed statement is small, the file itself
 * is bound to it by size and SHA-256).
 */
#include "config.h"
#include "loader/feed.h"
#include "lib/addr.h"
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <openssl/pem.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static const char* const kind_names[] = { "unknown", "filings", "registrars",
	"blacklist", "domestic", "tlds" };

Icpguard__Feed__Kind
ig_feed_kind_parse(const char* name)
{
	int i;
	for(i = 1; i < 6; i++)
		if(strcmp(name, kind_names[i]) == 0)
			return (Icpguard__Feed__Kind)i;
	return ICPGUARD__FEED__KIND__KIND_UNKNOWN;
}

const char*
ig_feed_kind_name(Icpguard__Feed__Kind kind)
{
	return (unsigned)kind < 6 ? kind_names[kind] : "unknown";
}

char*
ig_hex(const uint8_t* b, size_t n, char* out)
{
	static const char d[] = "0123456789abcdef";
	size_t i;
	for(i = 0; i < n; i++) {
		out[2*i] = d[b[i] >> 4];
		out[2*i+1] = d[b[i] & 15];
	}
	out[2*n] = 0;
	return out;
}

void
ig_fsync_dir_of(const char* path)
{
	char* c = strdup(path);
	int fd;
	if(!c) return;
	fd = open(dirname(c), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if(fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
	free(c);
}

int
ig_write_file_atomic(const char* path, const void* data, size_t len,
	char* err, size_t errlen)
{
	char tmp[4096];
	int fd;
	const uint8_t* p = data;
	size_t left = len;
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
		0644);
	if(fd < 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		return 0;
	}
	while(left > 0) {
		ssize_t n = write(fd, p, left);
		if(n < 0 && errno == EINTR) continue;
		if(n <= 0) {
			snprintf(err, errlen, "%s: write: %s", tmp,
				strerror(errno));
			close(fd);
			unlink(tmp);
			return 0;
		}
		p += n;
		left -= (size_t)n;
	}
	if(fsync(fd) != 0 || close(fd) != 0) {
		snprintf(err, errlen, "%s: fsync: %s", tmp, strerror(errno));
		unlink(tmp);
		return 0;
	}
	if(rename(tmp, path) != 0) {
		snprintf(err, errlen, "rename %s: %s", path, strerror(errno));
		unlink(tmp);
		return 0;
	}
	ig_fsync_dir_of(path);
	return 1;
}

/* ------------------------------------------------------------------ */

int
ig_key_generate(const char* priv, const char* pub, char* err, size_t errlen)
{
	EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
	EVP_PKEY* key = NULL;
	FILE* f = NULL;
	int fd, ok = 0;
	if(!ctx || EVP_PKEY_keygen_init(ctx) <= 0 ||
		EVP_PKEY_keygen(ctx, &key) <= 0) {
		snprintf(err, errlen, "Ed25519 key generation failed");
		goto done;
	}
	fd = open(priv, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
		0600);
	if(fd < 0 || !(f = fdopen(fd, "w"))) {
		snprintf(err, errlen, "%s: %s", priv, strerror(errno));
		if(fd >= 0) close(fd);
		goto done;
	}
	if(!PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) ||
		fclose(f) != 0) {
		f = NULL;
		snprintf(err, errlen, "%s: cannot write the key", priv);
		goto done;
	}
	f = NULL;
	if(!(f = fopen(pub, "w"))) {
		snprintf(err, errlen, "%s: %s", pub, strerror(errno));
		goto done;
	}
	if(!PEM_write_PUBKEY(f, key) || fclose(f) != 0) {
		f = NULL;
		snprintf(err, errlen, "%s: cannot write the key", pub);
		goto done;
	}
	f = NULL;
	ok = 1;
done:
	if(f) fclose(f);
	EVP_PKEY_free(key);
	EVP_PKEY_CTX_free(ctx);
	return ok;
}

EVP_PKEY*
ig_key_read(const char* path, int private, char* err, size_t errlen)
{
	FILE* f = fopen(path, "r");
	EVP_PKEY* key;
	if(!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	key = private ? PEM_read_PrivateKey(f, NULL, NULL, NULL) :
		PEM_read_PUBKEY(f, NULL, NULL, NULL);
	fclose(f);
	if(!key) {
		snprintf(err, errlen, "%s: not a PEM %s key", path,
			private ? "private" : "public");
		return NULL;
	}
	if(EVP_PKEY_get_id(key) != EVP_PKEY_ED25519) {
		snprintf(err, errlen, "%s: not an Ed25519 key", path);
		EVP_PKEY_free(key);
		return NULL;
	}
	return key;
}

int
ig_key_id(EVP_PKEY* key, char id[17])
{
	uint8_t raw[64], dig[32];
	size_t rl = sizeof(raw);
	unsigned dl = 0;
	if(EVP_PKEY_get_raw_public_key(key, raw, &rl) != 1 ||
		!EVP_Digest(raw, rl, dig, &dl, EVP_sha256(), NULL))
		return 0;
	ig_hex(dig, 8, id);
	return 1;
}

int
ig_keyring_add(struct ig_keyring* kr, const char* name, const char* path,
	char* err, size_t errlen)
{
	EVP_PKEY* k = ig_key_read(path, 0, err, errlen);
	int n = kr->n + 1;
	if(!k) return 0;
	kr->id = realloc(kr->id, sizeof(*kr->id) * (size_t)n);
	kr->name = realloc(kr->name, sizeof(char*) * (size_t)n);
	kr->key = realloc(kr->key, sizeof(EVP_PKEY*) * (size_t)n);
	if(!kr->id || !kr->name || !kr->key) {
		snprintf(err, errlen, "out of memory");
		EVP_PKEY_free(k);
		return 0;
	}
	ig_key_id(k, kr->id[kr->n]);
	kr->name[kr->n] = strdup(name);
	kr->key[kr->n] = k;
	kr->n = n;
	return 1;
}

void
ig_keyring_free(struct ig_keyring* kr)
{
	int i;
	for(i = 0; i < kr->n; i++) {
		EVP_PKEY_free(kr->key[i]);
		free(kr->name[i]);
	}
	free(kr->id);
	free(kr->name);
	free(kr->key);
	memset(kr, 0, sizeof(*kr));
}

int
ig_feed_sign(const char* sigpath, EVP_PKEY* key,
	const struct ig_feed_stmt* st, char* err, size_t errlen)
{
	Icpguard__Feed__SignedStatement s = ICPGUARD__FEED__SIGNED_STATEMENT__INIT;
	Icpguard__Feed__FeedSignature fs = ICPGUARD__FEED__FEED_SIGNATURE__INIT;
	uint8_t* sbuf = NULL, *fbuf = NULL, sig[64];
	size_t slen, flen, siglen = sizeof(sig);
	char id[17];
	EVP_MD_CTX* md = EVP_MD_CTX_new();
	int ok = 0;
	s.context = (char*)IG_FEED_CONTEXT;
	s.has_kind = 1; s.kind = st->kind;
	s.has_serial = 1; s.serial = st->serial;
	s.has_base_serial = 1; s.base_serial = st->base;
	s.has_size = 1; s.size = st->size;
	s.has_sha256 = 1; s.sha256.data = (uint8_t*)st->sha256;
	s.sha256.len = 32;
	s.has_signed_at = 1; s.signed_at = st->signed_at;
	slen = icpguard__feed__signed_statement__get_packed_size(&s);
	if(!md || !(sbuf = malloc(slen))) {
		snprintf(err, errlen, "out of memory");
		goto done;
	}
	icpguard__feed__signed_statement__pack(&s, sbuf);
	if(EVP_DigestSignInit(md, NULL, NULL, NULL, key) != 1 ||
		EVP_DigestSign(md, sig, &siglen, sbuf, slen) != 1 ||
		!ig_key_id(key, id)) {
		snprintf(err, errlen, "%s: Ed25519 signing failed", sigpath);
		goto done;
	}
	fs.key_id = id;
	fs.has_statement = 1; fs.statement.data = sbuf; fs.statement.len = slen;
	fs.has_signature = 1; fs.signature.data = sig; fs.signature.len = siglen;
	flen = icpguard__feed__feed_signature__get_packed_size(&fs);
	if(!(fbuf = malloc(flen))) {
		snprintf(err, errlen, "out of memory");
		goto done;
	}
	icpguard__feed__feed_signature__pack(&fs, fbuf);
	ok = ig_write_file_atomic(sigpath, fbuf, flen, err, errlen);
done:
	EVP_MD_CTX_free(md);
	free(sbuf);
	free(fbuf);
	return ok;
}

int
ig_feed_sig_check(const uint8_t* sig, size_t siglen,
	const struct ig_keyring* kr, char* const* allowed, int nallowed,
	struct ig_feed_stmt* out, const char** code, char* err,
	size_t errlen)
{
	Icpguard__Feed__FeedSignature* fs;
	Icpguard__Feed__SignedStatement* st = NULL;
	EVP_MD_CTX* md = NULL;
	int i, j, k = -1, ok = 0;
	*code = "malformed";
	fs = icpguard__feed__feed_signature__unpack(NULL, siglen, sig);
	if(!fs || !fs->key_id || !fs->has_statement || !fs->has_signature) {
		snprintf(err, errlen, "signature file malformed");
		goto done;
	}
	for(i = 0; i < kr->n && k < 0; i++) {
		if(strcmp(kr->id[i], fs->key_id) != 0) continue;
		if(!allowed) k = i;
		for(j = 0; allowed && j < nallowed; j++)
			if(strcmp(allowed[j], kr->name[i]) == 0) k = i;
	}
	if(k < 0) {
		*code = "unknown_key";
		snprintf(err, errlen, "signed by unknown key %.16s",
			fs->key_id);
		goto done;
	}
	md = EVP_MD_CTX_new();
	if(!md || EVP_DigestVerifyInit(md, NULL, NULL, NULL, kr->key[k]) != 1
		|| EVP_DigestVerify(md, fs->signature.data, fs->signature.len,
		fs->statement.data, fs->statement.len) != 1) {
		*code = "bad_signature";
		snprintf(err, errlen, "signature by key %s (%s) does not "
			"verify", kr->name[k], fs->key_id);
		goto done;
	}
	st = icpguard__feed__signed_statement__unpack(NULL, fs->statement.len,
		fs->statement.data);
	if(!st || !st->context || strcmp(st->context, IG_FEED_CONTEXT) != 0
		|| !st->has_sha256 || st->sha256.len != 32 || !st->has_size ||
		!st->has_serial) {
		snprintf(err, errlen, "signed statement malformed");
		goto done;
	}
	memset(out, 0, sizeof(*out));
	out->kind = st->kind;
	out->serial = st->serial;
	out->base = st->base_serial;
	out->size = st->size;
	memcpy(out->sha256, st->sha256.data, 32);
	out->signed_at = st->signed_at;
	memcpy(out->key_id, fs->key_id, 17);
	out->key_id[16] = 0;
	*code = NULL;
	ok = 1;
done:
	EVP_MD_CTX_free(md);
	if(st) icpguard__feed__signed_statement__free_unpacked(st, NULL);
	if(fs) icpguard__feed__feed_signature__free_unpacked(fs, NULL);
	return ok;
}

int
ig_file_sha256(const char* path, uint8_t out[32], uint64_t* size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	EVP_MD_CTX* md;
	uint8_t buf[1 << 16];
	ssize_t n;
	unsigned dl = 0;
	if(fd < 0) return 0;
	md = EVP_MD_CTX_new();
	if(!md || !EVP_DigestInit_ex(md, EVP_sha256(), NULL)) {
		EVP_MD_CTX_free(md);
		close(fd);
		return 0;
	}
	*size = 0;
	while((n = read(fd, buf, sizeof(buf))) > 0) {
		EVP_DigestUpdate(md, buf, (size_t)n);
		*size += (uint64_t)n;
	}
	close(fd);
	EVP_DigestFinal_ex(md, out, &dl);
	EVP_MD_CTX_free(md);
	return n == 0;
}

/* ------------------------------------------------------------------ */

/** read a varint at *pos; 0 when it runs past end */
static int
get_varint(const uint8_t* p, size_t len, size_t* pos, uint64_t* v)
{
	int shift = 0;
	*v = 0;
	while(*pos < len && shift < 64) {
		uint8_t b = p[(*pos)++];
		*v |= (uint64_t)(b & 0x7f) << shift;
		if(!(b & 0x80)) return 1;
		shift += 7;
	}
	return 0;
}

/**
 * One top-level field at *pos.
 * @return 1 with field, wire type, value (varint) or data/len (bytes),
 *	0 at the end, -1 malformed.
 */
static int
next_field(const uint8_t* p, size_t len, size_t* pos, unsigned* field,
	uint64_t* value, const uint8_t** data, size_t* dlen)
{
	uint64_t tag, l;
	if(*pos >= len) return 0;
	if(!get_varint(p, len, pos, &tag) || (tag >> 3) == 0) return -1;
	*field = (unsigned)(tag >> 3);
	*data = NULL;
	*dlen = 0;
	switch(tag & 7) {
	case 0:
		return get_varint(p, len, pos, value) ? 1 : -1;
	case 1:
		if(len - *pos < 8) return -1;
		*pos += 8;
		return 1;
	case 5:
		if(len - *pos < 4) return -1;
		*pos += 4;
		return 1;
	case 2:
		if(!get_varint(p, len, pos, &l) || l > len - *pos) return -1;
		*data = p + *pos;
		*dlen = (size_t)l;
		*pos += (size_t)l;
		return 1;
	default:
		return -1;
	}
}

/** give pages behind the cursor back (a gigabyte feed is read once) */
#define FEED_DROP_STEP ((size_t)64 << 20)

/**
 * Give back the mapped pages up to one step behind pos (the record handed
 * out last may still be in use by the caller).
 */
static void
feed_drop(struct ig_feed_reader* r, size_t pos)
{
	size_t upto = (pos - FEED_DROP_STEP) & ~(size_t)0xfffff;
	if(upto <= r->dropped) return;
	madvise((void*)(r->p + r->dropped), upto - r->dropped, MADV_DONTNEED);
	r->dropped = upto;
}

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif
/** map the file's pages in this far ahead of the cursor, in one call */
#define FEED_AHEAD_STEP ((size_t)32 << 20)

/**
 * Map in the pages ahead of pos before the walk touches them: one call
 * for 32 MiB instead of a page fault every 64 KiB (a fault is dear on a
 * virtual machine: the record walk spent a twentieth of a full pull on
 * them).  The pages are in the page cache (the download wrote them).
 */
static void
feed_ahead(struct ig_feed_reader* r, size_t pos)
{
	size_t n;
	if(r->ready == (size_t)-1 || pos + FEED_AHEAD_STEP / 2 < r->ready ||
		r->ready >= r->len)
		return;
	if(r->ready < (pos & ~(size_t)4095)) r->ready = pos & ~(size_t)4095;
	n = r->len - r->ready < FEED_AHEAD_STEP ? r->len - r->ready :
		FEED_AHEAD_STEP;
	if(madvise((void*)(r->p + r->ready), n, MADV_POPULATE_READ) != 0) {
		r->ready = (size_t)-1; /* faults as before */
		return;
	}
	r->ready += n;
}

/** take a header field (1..5, 22); @return 0 when field is not one */
static int
header_field(struct ig_feed_reader* r, unsigned field, uint64_t v)
{
	switch(field) {
	case 1: r->version = (uint32_t)v; return 1;
	case 2: r->kind = (Icpguard__Feed__Kind)v; return 1;
	case 3: r->serial = v; return 1;
	case 4: r->base = v; return 1;
	case 5: r->created = (int64_t)v; return 1;
	case 22: r->record_count = v; return 1;
	default: return 0;
	}
}

/** the header names a feed; @return 1, or 0 with err (r closed) */
static int
header_check(struct ig_feed_reader* r, const char* path, char* err,
	size_t errlen)
{
	if(r->version == 1 && r->kind != 0 && r->serial != 0) return 1;
	snprintf(err, errlen, "%s: not an icpguard feed (version %u, kind %d, "
		"serial %llu)", path, r->version, (int)r->kind,
		(unsigned long long)r->serial);
	ig_feed_close(r);
	return 0;
}

int
ig_feed_open(struct ig_feed_reader* r, const char* path, const char** code,
	char* err, size_t errlen)
{
	struct stat st;
	int fd, rc;
	size_t pos = 0;
	unsigned field;
	uint64_t v;
	const uint8_t* d;
	size_t dl;
	memset(r, 0, sizeof(*r));
	*code = "malformed";
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if(fd < 0 || fstat(fd, &st) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		if(fd >= 0) close(fd);
		return 0;
	}
	r->len = (size_t)st.st_size;
	if(r->len > 0) {
		void* m = mmap(NULL, r->len, PROT_READ, MAP_PRIVATE, fd, 0);
		if(m == MAP_FAILED) {
			snprintf(err, errlen, "%s: mmap: %s", path,
				strerror(errno));
			close(fd);
			return 0;
		}
		madvise(m, r->len, MADV_SEQUENTIAL);
		r->p = m;
		r->maplen = r->len;
	}
	close(fd);
	while((rc = next_field(r->p, r->len, &pos, &field, &v, &d, &dl)) > 0) {
		if(pos - r->dropped >= 2 * FEED_DROP_STEP)
			feed_drop(r, pos);
		feed_ahead(r, pos);
		if(header_field(r, field, v)) continue;
		if(field >= 10 && field <= 15) r->nrecords++;
		else if(field == 20 || field == 21) r->nremoved++;
	}
	if(rc < 0) {
		snprintf(err, errlen, "%s: malformed or truncated at byte %zu "
			"of %zu", path, pos, r->len);
		ig_feed_close(r);
		return 0;
	}
	/* the walk above touched every page; the record walk will read
	 * them again in order */
	if(r->len > 0) madvise((void*)r->p, r->len, MADV_DONTNEED);
	r->dropped = 0;
	if(r->ready != (size_t)-1) r->ready = 0;
	if(!header_check(r, path, err, errlen)) return 0;
	*code = NULL;
	return 1;
}

/** a growing file's walk asks for this many more bytes at a time (a
 * download adds a few kilobytes per write; the two threads meet about
 * once per step) */
#define GROW_STEP ((size_t)8 << 20)

/** wait for more of a growing file; @return 0 when no more will come
 * (the download ended, or the signed size is all there) */
static int
feed_more(struct ig_feed_reader* r)
{
	uint64_t w, upto;
	if(r->ended || r->len >= r->maplen) return 0;
	upto = r->len + GROW_STEP < r->maplen ? r->len + GROW_STEP :
		r->maplen;
	if(growing_wait(r->grow, upto, &w) != GROWING_RUNNING) r->ended = 1;
	r->len = w < r->maplen ? (size_t)w : r->maplen;
	return 1;
}

/** next_field over what is there; a growing file's walk waits for the
 * rest of a field cut at the end of what was written */
static int
field_at(struct ig_feed_reader* r, size_t* pos, unsigned* field,
	uint64_t* v, const uint8_t** d, size_t* dl)
{
	for(;;) {
		size_t p0 = *pos;
		int rc = next_field(r->p, r->len, pos, field, v, d, dl);
		if(rc > 0 || !r->grow) return rc;
		*pos = p0;
		if(!feed_more(r)) return rc;
	}
}

/** a record (10..15) or a removal (20, 21) */
static int
record_field(unsigned field)
{
	return (field >= 10 && field <= 15) || field == 20 || field == 21;
}

int
ig_feed_open_growing(struct ig_feed_reader* r, const char* path,
	uint64_t size, struct growing* grow, const char** code, char* err,
	size_t errlen)
{
	int fd, rc;
	size_t pos = 0;
	unsigned field;
	uint64_t v;
	const uint8_t* d;
	size_t dl;
	memset(r, 0, sizeof(*r));
	*code = "malformed";
	if(size > SIZE_MAX / 2) {
		snprintf(err, errlen, "%s: %llu bytes signed: too large", path,
			(unsigned long long)size);
		return 0;
	}
	if((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return 0;
	}
	if(size > 0) {
		/* the signed size, though the file is shorter yet: only
		 * bytes the download has written are ever touched */
		void* m = mmap(NULL, (size_t)size, PROT_READ, MAP_SHARED, fd,
			0);
		if(m == MAP_FAILED) {
			snprintf(err, errlen, "%s: mmap: %s", path,
				strerror(errno));
			close(fd);
			return 0;
		}
		madvise(m, (size_t)size, MADV_SEQUENTIAL);
		r->p = m;
	}
	close(fd);
	r->grow = grow;
	r->maplen = (size_t)size;
	for(;;) {
		size_t p0 = pos;
		if((rc = field_at(r, &pos, &field, &v, &d, &dl)) <= 0) break;
		if(record_field(field)) {
			pos = p0; /* the walk starts at the first record */
			break;
		}
		(void)header_field(r, field, v);
	}
	if(rc < 0) {
		snprintf(err, errlen, "%s: malformed or truncated at byte %zu "
			"of %zu", path, pos, r->maplen);
		ig_feed_close(r);
		return 0;
	}
	if(!header_check(r, path, err, errlen)) return 0;
	r->pos = pos;
	*code = NULL;
	return 1;
}

int
ig_feed_next(struct ig_feed_reader* r, unsigned* field,
	const uint8_t** data, size_t* len)
{
	uint64_t v;
	int rc;
	if(r->pos - r->dropped >= 2 * FEED_DROP_STEP)
		feed_drop(r, r->pos);
	feed_ahead(r, r->pos);
	while((rc = field_at(r, &r->pos, field, &v, data, len)) > 0) {
		if(record_field(*field)) {
			/* a growing file had no walk at open: count here */
			if(r->grow) {
				if(*field <= 15) r->nrecords++;
				else r->nremoved++;
			}
			return 1;
		}
		if(!r->grow) continue;
		if(*field == 22) r->record_count = v;
		else if(*field >= 1 && *field <= 5) {
			/* the header was taken before the records */
			r->bad = 1;
			r->bad_at = r->pos;
			return 0;
		}
	}
	if(rc < 0) {
		r->bad = 1;
		r->bad_at = r->pos;
	}
	return 0;
}

void
ig_feed_close(struct ig_feed_reader* r)
{
	if(r->p) munmap((void*)r->p, r->maplen);
	memset(r, 0, sizeof(*r));
}

/* ------------------------------------------------------------------ */

/** write bytes to the feed file, digesting them */
static void
fw_put(struct ig_feed_writer* w, const void* p, size_t n)
{
	if(w->failed) return;
	if(fwrite(p, 1, n, w->out) != n) {
		w->failed = 1;
		return;
	}
	EVP_DigestUpdate(w->md, p, n);
	w->size += n;
}

/** write a varint */
static void
fw_varint(struct ig_feed_writer* w, uint64_t v)
{
	uint8_t b[10];
	size_t n = 0;
	do {
		b[n] = (uint8_t)(v & 0x7f);
		v >>= 7;
		if(v) b[n] |= 0x80;
		n++;
	} while(v);
	fw_put(w, b, n);
}

int
ig_feed_write_begin(struct ig_feed_writer* w, const char* path,
	const Icpguard__Feed__Feed* hdr, char* err, size_t errlen)
{
	Icpguard__Feed__Feed h = *hdr;
	uint8_t* buf;
	size_t n;
	int fd;
	memset(w, 0, sizeof(*w));
	h.n_filings = h.n_registrars = h.n_regdomains = h.n_blacklist =
		h.n_domestic = h.n_tlds = h.n_removed = h.n_removed_regdomains
		= 0;
	if(asprintf(&w->tmp, "%s.tmp.%d", path, (int)getpid()) < 0 ||
		!(w->path = strdup(path)) || !(w->md = EVP_MD_CTX_new()) ||
		!EVP_DigestInit_ex(w->md, EVP_sha256(), NULL)) {
		snprintf(err, errlen, "out of memory");
		ig_feed_write_abort(w);
		return 0;
	}
	fd = open(w->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
		O_NOFOLLOW, 0644);
	if(fd < 0 || !(w->out = fdopen(fd, "w"))) {
		snprintf(err, errlen, "%s: %s", w->tmp, strerror(errno));
		if(fd >= 0) close(fd);
		ig_feed_write_abort(w);
		return 0;
	}
	n = icpguard__feed__feed__get_packed_size(&h);
	if(!(buf = malloc(n ? n : 1))) {
		snprintf(err, errlen, "out of memory");
		ig_feed_write_abort(w);
		return 0;
	}
	icpguard__feed__feed__pack(&h, buf);
	fw_put(w, buf, n);
	free(buf);
	return 1;
}

void
ig_feed_write_field(struct ig_feed_writer* w, unsigned field,
	const void* data, size_t len)
{
	fw_varint(w, ((uint64_t)field << 3) | 2);
	fw_varint(w, len);
	fw_put(w, data, len);
}

void
ig_feed_write_msg(struct ig_feed_writer* w, unsigned field,
	const ProtobufCMessage* m)
{
	uint8_t stackbuf[4096], *buf = stackbuf;
	size_t n = protobuf_c_message_get_packed_size(m);
	if(n > sizeof(stackbuf) && !(buf = malloc(n))) {
		w->failed = 1;
		return;
	}
	protobuf_c_message_pack(m, buf);
	ig_feed_write_field(w, field, buf, n);
	if(buf != stackbuf) free(buf);
}

int
ig_feed_write_end(struct ig_feed_writer* w, uint64_t* size,
	uint8_t sha256[32], char* err, size_t errlen)
{
	unsigned dl = 0;
	if(w->failed || fflush(w->out) != 0 || fsync(fileno(w->out)) != 0) {
		snprintf(err, errlen, "%s: write: %s", w->tmp,
			strerror(errno));
		ig_feed_write_abort(w);
		return 0;
	}
	fclose(w->out);
	w->out = NULL;
	if(rename(w->tmp, w->path) != 0) {
		snprintf(err, errlen, "rename %s: %s", w->path,
			strerror(errno));
		ig_feed_write_abort(w);
		return 0;
	}
	ig_fsync_dir_of(w->path);
	EVP_DigestFinal_ex(w->md, sha256, &dl);
	*size = w->size;
	free(w->tmp);
	w->tmp = NULL;
	ig_feed_write_abort(w);
	return 1;
}

void
ig_feed_write_abort(struct ig_feed_writer* w)
{
	if(w->out) fclose(w->out);
	if(w->tmp) unlink(w->tmp);
	EVP_MD_CTX_free(w->md);
	free(w->tmp);
	free(w->path);
	memset(w, 0, sizeof(*w));
}

/* ------------------------------------------------------------------ */

int
ig_feed_key(unsigned field, const char* text, uint8_t* key, size_t* keylen)
{
	uint8_t wire[IG_NAME_MAX];
	size_t wl;
	const char* err;
	struct ig_range r;
	switch(field) {
	case 10: case 12: case 13: case 15:
		if(!text || !ig_name_from_text(text, wire, &wl, &err))
			return 0;
		*keylen = ig_name_wire_to_key(wire, key, NULL, NULL);
		return *keylen > 0;
	case 14:
		if(!text || !ig_range_parse(text, &r, &err)) return 0;
		memcpy(key, r.first.b, 16);
		memcpy(key + 16, r.last.b, 16);
		*keylen = 32;
		return 1;
	case 11:
		if(!text || !*text || strlen(text) > 255) return 0;
		*keylen = strlen(text);
		memcpy(key, text, *keylen);
		return 1;
	default:
		return 0;
	}
}

/** the arena's buffer: a decoded record is its packed size plus a
 * struct and a terminator per string; records are at most a few KiB */
#define ARENA_BUF (64 * 1024)

static void*
arena_alloc(void* data, size_t n)
{
	struct ig_unpack_arena* a = data;
	size_t at = (a->used + 15) & ~(size_t)15;
	void* p;
	if(!a->buf && !(a->buf = malloc(ARENA_BUF))) return NULL;
	a->cap = ARENA_BUF;
	if(at + n <= a->cap) {
		a->used = at + n;
		return a->buf + at;
	}
	if(a->nbig == a->capbig) {
		size_t c = a->capbig ? 2 * a->capbig : 8;
		void** v = realloc(a->big, c * sizeof(*v));
		if(!v) return NULL;
		a->big = v;
		a->capbig = c;
	}
	if(!(p = malloc(n))) return NULL;
	a->big[a->nbig++] = p;
	return p;
}

/** a message decoded into an arena goes at the reset */
static void
arena_free(void* data, void* p)
{
	(void)data;
	(void)p;
}

void
ig_unpack_arena_init(struct ig_unpack_arena* a)
{
	memset(a, 0, sizeof(*a));
	a->allocator.alloc = arena_alloc;
	a->allocator.free = arena_free;
	a->allocator.allocator_data = a;
}

void
ig_unpack_arena_reset(struct ig_unpack_arena* a)
{
	size_t i;
	for(i = 0; i < a->nbig; i++) free(a->big[i]);
	a->nbig = 0;
	a->used = 0;
}

void
ig_unpack_arena_free(struct ig_unpack_arena* a)
{
	ig_unpack_arena_reset(a);
	free(a->big);
	free(a->buf);
	ig_unpack_arena_init(a);
}

ProtobufCMessage*
ig_feed_record_unpack(unsigned field, const uint8_t* d, size_t n,
	struct ig_unpack_arena* arena, const char** kt)
{
	static const ProtobufCMessageDescriptor* const desc[6] = {
		&icpguard__feed__filing__descriptor,
		&icpguard__feed__registrar__descriptor,
		&icpguard__feed__reg_domain__descriptor,
		&icpguard__feed__blacklist_entry__descriptor,
		&icpguard__feed__domestic_range__descriptor,
		&icpguard__feed__tld__descriptor
	};
	ProtobufCMessage* m;
	*kt = NULL;
	if(field < 10 || field > 15) return NULL;
	if(!(m = protobuf_c_message_unpack(desc[field - 10], arena ?
		&arena->allocator : NULL, n, d)))
		return NULL;
	switch(field) {
	case 10: *kt = ((Icpguard__Feed__Filing*)m)->domain; break;
	case 11: *kt = ((Icpguard__Feed__Registrar*)m)->id; break;
	case 12: *kt = ((Icpguard__Feed__RegDomain*)m)->domain; break;
	case 13: *kt = ((Icpguard__Feed__BlacklistEntry*)m)->name; break;
	case 14: *kt = ((Icpguard__Feed__DomesticRange*)m)->range; break;
	default: *kt = ((Icpguard__Feed__Tld*)m)->tld; break;
	}
	return m;
}
