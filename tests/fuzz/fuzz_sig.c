/*
 * tests/fuzz/fuzz_sig.c - detached feed signatures through the loader's
 * check.
 *
 * \file
 * The input is a signature file, FILE.sig (a FeedSignature holding a
 * SignedStatement, docs/feeds.md; seeds: the .sig files `icpguard feed`
 * writes, run.sh).  It goes through ig_feed_sig_check (loader/feed.c) as
 * it is, against the harness key trusted for any feed, for this feed
 * ("fuzz" allowed) and for another one only; then again with its key id
 * and signature replaced by the harness key's over the same statement
 * bytes, so the statement parser behind a good signature is fuzzed too.
 * A re-signed statement must verify (abort otherwise) unless the
 * statement itself is malformed.
 */
#include "tests/fuzz/fuzz_common.h"
#include "tests/fuzz/fuzz_key.h"
#include "config.h"
#include "data/feed.pb-c.h"

int LLVMFuzzerInitialize(int* argc, char*** argv);
int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

int
LLVMFuzzerInitialize(int* argc, char*** argv)
{
	(void)argc;
	(void)argv;
	fuzz_key_init();
	return 0;
}

/** the check with each allowed list */
static int
check_all(const uint8_t* sig, size_t len, const char** code)
{
	static char* const mine[] = { (char*)"fuzz" };
	static char* const other[] = { (char*)"other", (char*)"" };
	struct ig_feed_stmt st;
	char err[1024];
	const char* c2;
	int good = ig_feed_sig_check(sig, len, &fuzz_keys, NULL, 0, &st, code,
		err, sizeof(err));
	(void)ig_feed_sig_check(sig, len, &fuzz_keys, mine, 1, &st, &c2, err,
		sizeof(err));
	if(ig_feed_sig_check(sig, len, &fuzz_keys, other, 2, &st, &c2, err,
		sizeof(err)))
		abort(); /* a key not allowed for the feed was accepted */
	return good;
}

int
LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
	Icpguard__Feed__FeedSignature* fs;
	Icpguard__Feed__FeedSignature out = ICPGUARD__FEED__FEED_SIGNATURE__INIT;
	EVP_MD_CTX* md;
	uint8_t sigbytes[64], *buf;
	size_t siglen = sizeof(sigbytes), len;
	char id[17];
	const char* code;
	(void)check_all(data, size, &code);
	/* the same statement bytes signed by the harness key */
	if(!(fs = icpguard__feed__feed_signature__unpack(NULL, size, data)))
		return 0;
	if(!fs->has_statement) {
		icpguard__feed__feed_signature__free_unpacked(fs, NULL);
		return 0;
	}
	if(!(md = EVP_MD_CTX_new()) || EVP_DigestSignInit(md, NULL, NULL, NULL,
		fuzz_priv) != 1 || EVP_DigestSign(md, sigbytes, &siglen,
		fs->statement.data, fs->statement.len) != 1 ||
		!ig_key_id(fuzz_priv, id))
		abort();
	EVP_MD_CTX_free(md);
	out.key_id = id;
	out.has_statement = 1;
	out.statement = fs->statement;
	out.has_signature = 1;
	out.signature.data = sigbytes;
	out.signature.len = siglen;
	len = icpguard__feed__feed_signature__get_packed_size(&out);
	if(!(buf = malloc(len ? len : 1))) abort();
	icpguard__feed__feed_signature__pack(&out, buf);
	if(!check_all(buf, len, &code) && strcmp(code, "malformed") != 0) {
		fprintf(stderr, "fuzz: a statement signed by a trusted key was "
			"refused: %s\n", code);
		abort();
	}
	free(buf);
	icpguard__feed__feed_signature__free_unpacked(fs, NULL);
	return 0;
}
