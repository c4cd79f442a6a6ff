/*
 * lib/snapshot_check.c - is a snapshot file whole and unaltered.
 *
 * \file
 * A published snapshot never changes (readers open it read-only, without a
 * lock file), so the writer can seal its bytes: after the last LMDB commit
 * it appends a trailer of IG_SEAL_LEN bytes holding the length and the
 * SHA-256 of everything before it.  LMDB ignores bytes past its last page.
 *
 *   "ICPGSUM1" LENGTH(16 hex) SHA256(64 hex) 7 spaces "\n"
 *
 * A reader checks two things before LMDB touches a page:
 *  - cheaply, on every open (ig_snapshot_file_sane): the file holds LMDB's
 *    last page (LMDB maps the file and dies of SIGBUS on a page past its
 *    end) and, when sealed, exactly the sealed length;
 *  - fully, before a snapshot is put in force (ig_snapshot_file_verify):
 *    the SHA-256 of the sealed bytes, so no damaged page (a disk error, a
 *    bad copy, a mutation) ever reaches LMDB's page walk or a verdict.
 * A file without a seal (written before seals existed) passes the cheap
 * check but not the full one: it is never put in force.
 */
#include "lib/snapshot.h"
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/** the trailer's magic */
#define SEAL_MAGIC "ICPGSUM1"

/** read exactly n bytes at off; @return 1/0 */
static int
pread_all(int fd, void* buf, size_t n, off_t off)
{
	size_t got = 0;
	while(got < n) {
		ssize_t r = pread(fd, (char*)buf + got, n - got,
			off + (off_t)got);
		if(r < 0 && errno == EINTR) continue;
		if(r <= 0) return 0;
		got += (size_t)r;
	}
	return 1;
}

/** little-endian integers at p */
static uint64_t
le64(const uint8_t* p)
{
	uint64_t v = 0;
	int i;
	for(i = 7; i >= 0; i--) v = (v << 8) | p[i];
	return v;
}
static uint32_t
le32(const uint8_t* p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
		(uint32_t)p[3] << 24;
}

/**
 * Parse the seal at the end of a file of size bytes.
 * @return 1 with *body and hex (65 bytes) set, 0 when there is none.
 */
static int
seal_read(int fd, off_t size, uint64_t* body, char* hex)
{
	char t[IG_SEAL_LEN + 1];
	char len[17];
	if(size < IG_SEAL_LEN || !pread_all(fd, t, IG_SEAL_LEN,
		size - IG_SEAL_LEN))
		return 0;
	if(memcmp(t, SEAL_MAGIC, 8) != 0 || t[IG_SEAL_LEN - 1] != '\n')
		return 0;
	memcpy(len, t + 8, 16);
	len[16] = 0;
	*body = strtoull(len, NULL, 16);
	memcpy(hex, t + 24, 64);
	hex[64] = 0;
	return 1;
}

int
ig_snapshot_file_sane(int fd, const char* path, char* err, size_t errlen)
{
	struct stat st;
	uint8_t meta[2][160];
	uint64_t body = 0, last_pg, need;
	uint32_t psize;
	char hex[65];
	int m, sealed;
	if(fstat(fd, &st) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return 0;
	}
	sealed = seal_read(fd, st.st_size, &body, hex);
	if(sealed && body != (uint64_t)st.st_size - IG_SEAL_LEN) {
		snprintf(err, errlen, "%s: damaged: %lld bytes, the seal says "
			"%" PRIu64 " and its own %d", path,
			(long long)st.st_size, body, IG_SEAL_LEN);
		return 0;
	}
	/* LMDB's two meta pages: page header 16 bytes, then MDB_meta:
	 * magic @16, version @20, the free DB's md_pad (the page size) @40,
	 * mm_last_pg @136, mm_txnid @144 (lmdb 0.9, 64-bit) */
	if(!pread_all(fd, meta[0], sizeof(meta[0]), 0)) {
		snprintf(err, errlen, "%s: truncated: %lld bytes, not even "
			"LMDB's first page", path, (long long)st.st_size);
		return 0;
	}
	if(le32(meta[0] + 16) != 0xBEEFC0DE) {
		snprintf(err, errlen, "%s: not an LMDB file (no meta page)",
			path);
		return 0;
	}
	psize = le32(meta[0] + 40);
	if(psize < 512 || psize > 65536 || (psize & (psize - 1))) {
		snprintf(err, errlen, "%s: damaged: page size %u", path, psize);
		return 0;
	}
	if(!pread_all(fd, meta[1], sizeof(meta[1]), (off_t)psize)) {
		snprintf(err, errlen, "%s: truncated: %lld bytes, not LMDB's "
			"second meta page", path, (long long)st.st_size);
		return 0;
	}
	/* the meta LMDB uses: the valid one with the higher transaction */
	m = 0;
	if(le32(meta[1] + 16) == 0xBEEFC0DE &&
		le64(meta[1] + 144) > le64(meta[0] + 144))
		m = 1;
	last_pg = le64(meta[m] + 136);
	if(last_pg > ((uint64_t)1 << 40) / psize) {
		snprintf(err, errlen, "%s: damaged: last page %" PRIu64, path,
			last_pg);
		return 0;
	}
	need = (last_pg + 1) * psize;
	if(!sealed && st.st_size % psize != 0) {
		/* LMDB writes whole pages: a tail that is not one is a seal
		 * cut short, or something else appended */
		snprintf(err, errlen, "%s: damaged: %lld bytes, not whole "
			"pages and no seal", path, (long long)st.st_size);
		return 0;
	}
	if((uint64_t)st.st_size - (sealed ? IG_SEAL_LEN : 0) < need) {
		snprintf(err, errlen, "%s: truncated: %lld bytes, LMDB's last "
			"page ends at %" PRIu64, path, (long long)st.st_size,
			need);
		return 0;
	}
	return 1;
}

/** the full check on an open file (not closed); see the header */
static int
verify_fd(int fd, const char* path, int* sealed, char* err, size_t errlen)
{
	struct stat st;
	uint64_t body = 0, done = 0;
	char hex[65], got[65];
	EVP_MD_CTX* md = NULL;
	unsigned char dig[32], *buf = NULL;
	unsigned dl = 0;
	int ok = 0, i;
	*sealed = 0;
	if(fstat(fd, &st) != 0 || !ig_snapshot_file_sane(fd, path, err,
		errlen))
		goto done;
	if(!seal_read(fd, st.st_size, &body, hex)) {
		/* nothing says the pages are what the writer wrote, and LMDB
		 * does not survive damaged ones (found by tests/fuzz): an
		 * unsealed file is not put in force */
		snprintf(err, errlen, "%s: not sealed (written by an icpguard "
			"older than the seal, or damaged at its end): publish it "
			"again with this version", path);
		goto done;
	}
	*sealed = 1;
	if(!(buf = malloc(1 << 20)) || !(md = EVP_MD_CTX_new()) ||
		!EVP_DigestInit_ex(md, EVP_sha256(), NULL)) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto done;
	}
	while(done < body) {
		size_t n = body - done > (1 << 20) ? (1 << 20) :
			(size_t)(body - done);
		if(!pread_all(fd, buf, n, (off_t)done)) {
			snprintf(err, errlen, "%s: read error at %" PRIu64,
				path, done);
			goto done;
		}
		EVP_DigestUpdate(md, buf, n);
		done += n;
	}
	EVP_DigestFinal_ex(md, dig, &dl);
	for(i = 0; i < 32; i++)
		snprintf(got + 2 * i, 3, "%02x", dig[i]);
	/* CRYPTO_memcmp: a digest comparison in constant time, and one a
	 * fuzzer's comparison hooks cannot read the expected value from (a
	 * strcmp let libFuzzer copy the computed digest into the seal and
	 * reach LMDB with damaged pages behind a good seal) */
	if(CRYPTO_memcmp(got, hex, 64) != 0) {
		snprintf(err, errlen, "%s: damaged: the file's SHA-256 is "
			"%.16s..., its seal says %.16s...", path, got, hex);
		goto done;
	}
	ok = 1;
done:
	EVP_MD_CTX_free(md);
	free(buf);
	return ok;
}

int
ig_snapshot_file_verify(const char* path, int* sealed, char* err,
	size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), ok;
	*sealed = 0;
	if(fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return 0;
	}
	ok = verify_fd(fd, path, sealed, err, errlen);
	close(fd);
	return ok;
}

/** open_verified and open_memo: verify (or, for the file memo names,
 * check cheaply), then open that very file */
static int
open_verified_memo(const char* path, struct ig_snapshot_memo* memo,
	struct ig_snapshot** out, int* sealed, char* err, size_t errlen)
{
	int tries;
	*out = NULL;
	*sealed = 0;
	for(tries = 0; ; tries++) {
		struct stat a, b;
		struct ig_file_id aid;
		int fd = open(path, O_RDONLY | O_CLOEXEC), known;
		if(fd < 0) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			return 0;
		}
		if(fstat(fd, &a) != 0) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			close(fd);
			return 0;
		}
		ig_file_id_from_stat(&a, &aid);
		known = memo && memo->valid && ig_file_id_equal(&memo->id, &aid);
		if(known ? !ig_snapshot_file_sane(fd, path, err, errlen) :
			!verify_fd(fd, path, sealed, err, errlen)) {
			close(fd);
			return 0;
		}
		if(known) *sealed = 1;
		/* LMDB opens the path again: ig_snapshot_open_checked
		 * refuses anything but the file just verified, before it
		 * reads a page */
		if(ig_snapshot_open_checked(path, fd, out, err, errlen)) {
			if(memo) {
				memo->valid = 1;
				memo->id = aid;
			}
			close(fd);
			return 1;
		}
		*out = NULL;
		/* a publisher renamed a new file over the path meanwhile:
		 * that one gets the same check (a few times at most) */
		if(tries < 4 && stat(path, &b) == 0 &&
			(a.st_dev != b.st_dev || a.st_ino != b.st_ino)) {
			close(fd);
			continue;
		}
		close(fd);
		return 0;
	}
}

int
ig_snapshot_open_verified(const char* path, struct ig_snapshot** out,
	int* sealed, char* err, size_t errlen)
{
	return open_verified_memo(path, NULL, out, sealed, err, errlen);
}

int
ig_snapshot_open_memo(const char* path, struct ig_snapshot_memo* memo,
	struct ig_snapshot** out, char* err, size_t errlen)
{
	int sealed;
	return open_verified_memo(path, memo, out, &sealed, err, errlen);
}

int
ig_snapshot_file_seal(const char* path, char* err, size_t errlen)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);
	struct stat st;
	EVP_MD_CTX* md = NULL;
	unsigned char dig[32], *buf = NULL;
	char t[IG_SEAL_LEN + 1];
	uint64_t done = 0;
	unsigned dl = 0;
	int ok = 0, i, n;
	if(fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return 0;
	}
	if(fstat(fd, &st) != 0 || !(buf = malloc(1 << 20)) ||
		!(md = EVP_MD_CTX_new()) ||
		!EVP_DigestInit_ex(md, EVP_sha256(), NULL)) {
		snprintf(err, errlen, "%s: cannot seal: %s", path,
			strerror(errno));
		goto done;
	}
	while(done < (uint64_t)st.st_size) {
		size_t k = (uint64_t)st.st_size - done > (1 << 20) ?
			(1 << 20) : (size_t)((uint64_t)st.st_size - done);
		if(!pread_all(fd, buf, k, (off_t)done)) {
			snprintf(err, errlen, "%s: cannot seal: read error",
				path);
			goto done;
		}
		EVP_DigestUpdate(md, buf, k);
		done += k;
	}
	EVP_DigestFinal_ex(md, dig, &dl);
	n = snprintf(t, sizeof(t), "%s%016" PRIx64, SEAL_MAGIC,
		(uint64_t)st.st_size);
	for(i = 0; i < 32; i++)
		n += snprintf(t + n, sizeof(t) - (size_t)n, "%02x", dig[i]);
	while(n < IG_SEAL_LEN - 1) t[n++] = ' ';
	t[n++] = '\n';
	if(pwrite(fd, t, IG_SEAL_LEN, st.st_size) != IG_SEAL_LEN) {
		snprintf(err, errlen, "%s: cannot seal: %s", path,
			strerror(errno));
		goto done;
	}
	ok = 1;
done:
	EVP_MD_CTX_free(md);
	free(buf);
	close(fd);
	return ok;
}
