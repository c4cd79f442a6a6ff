/*
 * loader/bench_bulkload.c - the floor for loader/bench-loader.sh: the
 * time LMDB needs to bulk-load the same 10 million filing keys with
 * MDB_APPEND, nothing else (no feed, no validation, no snapshot format).
 *
 * \file
 * usage: bench-bulkload N DIR
 * Makes the name keys of site1.cn .. siteN.cn (as lib/name.h makes them),
 * sorts them (not timed), appends them with a 72-byte value (about the
 * size of a filing record) to DIR/bulk.mdb in one transaction, syncs, and
 * prints the seconds taken.
 */
#include "config.h"
#include "lib/hugepages.h"
#include "lib/name.h"
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/** one key */
struct key {
	/** length */
	uint8_t len;
	/** bytes */
	uint8_t b[31];
};

/** byte order of keys, as LMDB compares them */
static int
key_cmp(const void* a, const void* b)
{
	const struct key* x = a, *y = b;
	int c = memcmp(x->b, y->b, x->len < y->len ? x->len : y->len);
	return c ? c : (int)x->len - (int)y->len;
}

int
main(int argc, char** argv)
{
	long n, i;
	struct key* k;
	MDB_env* env;
	MDB_txn* txn;
	MDB_dbi dbi;
	uint8_t val[72];
	char path[4096];
	struct timespec t0, t1;
	int rc;
	/* the same pages as the loader's (lib/hugepages.h): a floor for it */
	ig_hugepages_reexec(argv);
	if(argc != 3 || (n = atol(argv[1])) <= 0) {
		fprintf(stderr, "usage: bench-bulkload N DIR\n");
		return 2;
	}
	if(!(k = malloc(sizeof(*k) * (size_t)n))) return 1;
	for(i = 0; i < n; i++) {
		char text[32];
		uint8_t wire[IG_NAME_MAX];
		size_t wl;
		const char* err;
		snprintf(text, sizeof(text), "site%ld.cn", i + 1);
		if(!ig_name_from_text(text, wire, &wl, &err)) return 1;
		k[i].len = (uint8_t)ig_name_wire_to_key(wire, k[i].b, NULL, NULL);
	}
	qsort(k, (size_t)n, sizeof(*k), key_cmp);
	memset(val, 0x5a, sizeof(val));
	snprintf(path, sizeof(path), "%s/bulk.mdb", argv[2]);
	remove(path);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if((rc = mdb_env_create(&env)) != 0 ||
		(rc = mdb_env_set_mapsize(env, (size_t)64 << 30)) != 0 ||
		(rc = mdb_env_open(env, path, MDB_NOSUBDIR | MDB_NOLOCK |
		MDB_NOSYNC, 0644)) != 0 ||
		(rc = mdb_txn_begin(env, NULL, 0, &txn)) != 0 ||
		(rc = mdb_dbi_open(txn, NULL, 0, &dbi)) != 0) {
		fprintf(stderr, "%s: %s\n", path, mdb_strerror(rc));
		return 1;
	}
	for(i = 0; i < n; i++) {
		MDB_val kv, vv;
		kv.mv_data = k[i].b;
		kv.mv_size = k[i].len;
		vv.mv_data = val;
		vv.mv_size = sizeof(val);
		if((rc = mdb_put(txn, dbi, &kv, &vv, MDB_APPEND)) != 0) {
			fprintf(stderr, "put: %s\n", mdb_strerror(rc));
			return 1;
		}
	}
	if((rc = mdb_txn_commit(txn)) != 0 || (rc = mdb_env_sync(env, 1)) != 0)
	{
		fprintf(stderr, "commit: %s\n", mdb_strerror(rc));
		return 1;
	}
	mdb_env_close(env);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("%.2f\n", (double)(t1.tv_sec - t0.tv_sec) +
		(double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	remove(path);
	free(k);
	return 0;
}
