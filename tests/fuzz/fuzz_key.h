/*
 * tests/fuzz/fuzz_key.h - the harness's own publisher key, for the targets
 * that go past a signature check (feed, sig, order).
 *
 * \file
 * A mutated input never carries a good Ed25519 signature, so a target that
 * must reach the code behind the check signs the input itself with a key
 * made at start (ig_key_generate, in a directory of its own under
 * $TMPDIR) and trusted under the name "fuzz" in fuzz_keys.  The check
 * itself is fuzzed as it is, by the sig target and by each target's
 * unsigned pass.
 */
#ifndef ICPGUARD_FUZZ_KEY_H
#define ICPGUARD_FUZZ_KEY_H
#include "tests/fuzz/fuzz_common.h"
#include "loader/feed.h"

/** the private key (after fuzz_key_init) */
static EVP_PKEY* fuzz_priv;
/** a keyring holding its public half, named "fuzz" */
static struct ig_keyring fuzz_keys;

/** Make the key pair and the keyring (once); aborts on failure. */
static inline void
fuzz_key_init(void)
{
	char dir[256], priv[300], pub[300], err[512];
	if(fuzz_priv) return;
	snprintf(dir, sizeof(dir), "%s/icpguard-fuzz-key-%d.XXXXXX",
		fuzz_tmp(), (int)getpid());
	if(!mkdtemp(dir)) abort();
	snprintf(priv, sizeof(priv), "%s/k.key", dir);
	snprintf(pub, sizeof(pub), "%s/k.pub", dir);
	if(!ig_key_generate(priv, pub, err, sizeof(err)) ||
		!(fuzz_priv = ig_key_read(priv, 1, err, sizeof(err))) ||
		!ig_keyring_add(&fuzz_keys, "fuzz", pub, err, sizeof(err))) {
		fprintf(stderr, "fuzz: key: %s\n", err);
		abort();
	}
	unlink(priv);
	unlink(pub);
	rmdir(dir);
}

/**
 * Sign a feed file at path with the harness key: the statement is taken
 * from the file's own header when it reads (so the apply goes past the
 * statement checks), else kind, serial 1.  Writes path.sig.
 */
static inline void
fuzz_feed_sign(const char* path, const char* sigpath,
	Icpguard__Feed__Kind kind)
{
	struct ig_feed_stmt st;
	struct ig_feed_reader r;
	const char* code;
	char err[1024];
	memset(&st, 0, sizeof(st));
	st.kind = kind;
	st.serial = 1;
	if(ig_feed_open(&r, path, &code, err, sizeof(err))) {
		st.kind = r.kind;
		st.serial = r.serial;
		st.base = r.base;
		ig_feed_close(&r);
	}
	st.signed_at = 1700000000;
	if(!ig_file_sha256(path, st.sha256, &st.size) ||
		!ig_feed_sign(sigpath, fuzz_priv, &st, err, sizeof(err))) {
		fprintf(stderr, "fuzz: sign %s: %s\n", path, err);
		abort();
	}
}
#endif
