/*
 * lib/file_id.h - the identity of the file at a path.
 *
 * \file
 * Snapshots are published by renaming a new file over the path: a reader
 * notices a new file by its identity (device, inode, size, modification
 * time), without opening it.  Used by the Unbound module's and the Knot
 * module's watch threads and by ig_snapshot_open_memo.
 */
#ifndef ICPGUARD_FILE_ID_H
#define ICPGUARD_FILE_ID_H
#include <sys/stat.h>
#include <sys/types.h>

/** the identity of a file: a rename over its path or a write changes it */
struct ig_file_id {
	/** device */
	dev_t dev;
	/** inode */
	ino_t ino;
	/** modification time, ns since the epoch */
	long long mtime_ns;
	/** size in bytes */
	long long size;
};

/**
 * The identity of the file at path (stat, following links).
 * Any thread.
 * @param id: set (all zero when there is no file).
 * @return 1, or 0 with errno when there is no file at path.
 */
int ig_file_id_of(const char* path, struct ig_file_id* id);

/** The identity described by st (from stat or fstat).  Any thread. */
void ig_file_id_from_stat(const struct stat* st, struct ig_file_id* id);

/** 1 when a and b are the same file, unchanged.  Any thread. */
int ig_file_id_equal(const struct ig_file_id* a, const struct ig_file_id* b);

#endif /* ICPGUARD_FILE_ID_H */
