/*
 * tests/fuzz/fuzz_snapshot.c - snapshot files through open and a verdict.
 *
 * \file
 * The input is a snapshot file (seeds: snapshots that `icpguard build`
 * writes from data/sample and tests/integration/policy, made by run.sh in
 * its temporary directory).  It goes through:
 *  - the cheap check every open makes (ig_snapshot_file_sane): a
 *    truncated or damaged file must be refused, never SIGBUS;
 *  - the verified open the module uses before a swap
 *    (ig_snapshot_open_verified: the seal's SHA-256), and, when it opens,
 *    verdicts on a few names (tests/fuzz/fuzz_verdict.h).
 * Verdicts are made only on a verified snapshot: the seal is what keeps a
 * damaged page from LMDB's page walk (docs/snapshot.md).
 *
 * Built with -DFUZZ_MEMO_OPEN it is the target snapshot_memo: the input
 * opened twice with one ig_snapshot_open_memo memo, as the loader's
 * status, publish decisions and order publishes open the same path again
 * and again: the first open verifies the whole file, the second (same
 * file, unchanged) only checks it cheaply.  A damaged file must be refused
 * the first time and never mapped.  (The plain ig_snapshot_open trusts
 * LMDB's pages and is kept for files a process has just written; no
 * reader of a file from elsewhere uses it.)
 *
 * Built with -DFUZZ_RESEAL it is the target snapshot_sealed (not run by
 * make check): the input's own seal, if any, is replaced by a good one
 * over the bytes as they are, so damaged pages reach LMDB and the
 * project's readers of records and the name index.  A crash in liblmdb
 * there is LMDB's known limit (it trusts its pages), one in lib/ is ours.
 */
#include "tests/fuzz/fuzz_common.h"
#include "tests/fuzz/fuzz_verdict.h"
#include "lib/snapshot.h"
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/evp.h>

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

#ifdef FUZZ_RESEAL
/** the input with a good seal (lib/snapshot_check.c's trailer) */
static const char*
resealed(const uint8_t* data, size_t size)
{
	static uint8_t* buf;
	static size_t cap;
	uint8_t md[32];
	unsigned mdlen = 0, i;
	char seal[IG_SEAL_LEN + 1];
	size_t body = size;
	if(body >= IG_SEAL_LEN && memcmp(data + body - IG_SEAL_LEN, "ICPGSUM1",
		8) == 0)
		body -= IG_SEAL_LEN;
	if(body + IG_SEAL_LEN > cap) {
		cap = body + IG_SEAL_LEN;
		if(!(buf = realloc(buf, cap))) abort();
	}
	memcpy(buf, data, body);
	if(!EVP_Digest(data, body, md, &mdlen, EVP_sha256(), NULL)) abort();
	i = (unsigned)snprintf(seal, sizeof(seal), "ICPGSUM1%016" PRIx64,
		(uint64_t)body);
	for(unsigned k = 0; k < 32; k++)
		i += (unsigned)snprintf(seal + i, sizeof(seal) - i, "%02x",
			md[k]);
	snprintf(seal + i, sizeof(seal) - i, "       \n");
	memcpy(buf + body, seal, IG_SEAL_LEN);
	return fuzz_file(buf, body + IG_SEAL_LEN, ".mdb");
}
#endif

int
LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
#ifdef FUZZ_RESEAL
	const char* path = resealed(data, size);
#else
	const char* path = fuzz_file(data, size, ".mdb");
#endif
	struct ig_snapshot* s = NULL;
	char err[1024];
	int fd;
	if((fd = open(path, O_RDONLY)) >= 0) {
		(void)ig_snapshot_file_sane(fd, path, err, sizeof(err));
		close(fd);
	}
#ifdef FUZZ_MEMO_OPEN
	{
		struct ig_snapshot_memo memo = { 0 };
		int k;
		for(k = 0; k < 2; k++)
			if(ig_snapshot_open_memo(path, &memo, &s, err,
				sizeof(err))) {
				(void)ig_snapshot_info(s);
				ig_snapshot_unref(s);
			}
	}
#endif
	(void)fuzz_snapshot_verdicts(path, NULL, NULL, 0);
	return 0;
}
