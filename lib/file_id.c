/*
 * lib/file_id.c - the identity of the file at a path (lib/file_id.h).
 */
#include "lib/file_id.h"
#include <string.h>

void
ig_file_id_from_stat(const struct stat* st, struct ig_file_id* id)
{
	memset(id, 0, sizeof(*id));
	id->dev = st->st_dev;
	id->ino = st->st_ino;
	id->mtime_ns = (long long)st->st_mtim.tv_sec * 1000000000LL +
		st->st_mtim.tv_nsec;
	id->size = (long long)st->st_size;
}

int
ig_file_id_of(const char* path, struct ig_file_id* id)
{
	struct stat st;
	memset(id, 0, sizeof(*id));
	if(stat(path, &st) != 0) return 0;
	ig_file_id_from_stat(&st, id);
	return 1;
}

int
ig_file_id_equal(const struct ig_file_id* a, const struct ig_file_id* b)
{
	return a->dev == b->dev && a->ino == b->ino &&
		a->mtime_ns == b->mtime_ns && a->size == b->size;
}
