/*
 * tests/fuzz/fuzz_common.h - what the libFuzzer targets share.
 *
 * \file
 * Most readers of the project take a path: the input is written to a
 * temporary file first (one per process, reused; the fuzzer runs one input
 * at a time in a process).  Targets that need a directory of their own (a
 * loader state, a source directory) get one per process from fuzz_dir and
 * empty it between inputs with fuzz_dir_clear, so every input starts from
 * the same state and a crash reproduces from its file alone.
 *
 * The project's code reports bad input on stderr (one line per bad row or
 * record); fuzz_quiet points the stdio stream stderr at /dev/null for the
 * length of one call.  File descriptor 2 is left alone, so the sanitizers'
 * and libFuzzer's own reports still reach the log.
 */
#ifndef ICPGUARD_FUZZ_COMMON_H
#define ICPGUARD_FUZZ_COMMON_H
#include <dirent.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/** the directory for this process's files: $TMPDIR or /tmp */
static inline const char*
fuzz_tmp(void)
{
	const char* t = getenv("TMPDIR");
	return (t && *t) ? t : "/tmp";
}

/**
 * Write data to path; aborts on an I/O error (a harness bug, not a
 * finding).
 */
static inline void
fuzz_write(const char* path, const uint8_t* data, size_t size)
{
	FILE* f;
	if(!(f = fopen(path, "wb")) || (size && fwrite(data, 1, size, f) !=
		size) || fclose(f) != 0)
		abort();
}

/**
 * Write data to this process's temporary file with the given suffix (the
 * readers choose their format by it) and return its path (static buffer,
 * valid until the next call).
 */
static inline const char*
fuzz_file(const uint8_t* data, size_t size, const char* suffix)
{
	static char path[256];
	snprintf(path, sizeof(path), "%s/icpguard-fuzz-%d%s", fuzz_tmp(),
		(int)getpid(), suffix);
	fuzz_write(path, data, size);
	return path;
}

/**
 * This process's own directory (made at the first call, under $TMPDIR,
 * left for the runner to remove with $TMPDIR).  Static buffer.
 */
static inline const char*
fuzz_dir(void)
{
	static char dir[256];
	if(!dir[0]) {
		snprintf(dir, sizeof(dir), "%s/icpguard-fuzz-dir-%d.XXXXXX",
			fuzz_tmp(), (int)getpid());
		if(!mkdtemp(dir)) abort();
	}
	return dir;
}

/** Remove everything inside dir (not dir itself). */
static inline void
fuzz_dir_clear(const char* dir)
{
	DIR* d = opendir(dir);
	struct dirent* e;
	if(!d) return;
	while((e = readdir(d))) {
		char p[1024];
		struct stat st;
		if(!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		if(lstat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
			fuzz_dir_clear(p);
			rmdir(p);
		} else unlink(p);
	}
	closedir(d);
}

/**
 * Point the stdio stream stderr at /dev/null (on 1) or back (on 0).  The
 * project's messages about bad input are many and expected; the
 * sanitizers write to descriptor 2 and are not affected.  Set
 * FUZZ_VERBOSE=1 to see the messages.
 */
static inline void
fuzz_quiet(int on)
{
	static FILE* null_out, *saved;
	if(getenv("FUZZ_VERBOSE")) return;
	if(on) {
		if(!null_out && !(null_out = fopen("/dev/null", "w"))) abort();
		saved = stderr;
		stderr = null_out;
	} else if(saved) {
		stderr = saved;
		saved = NULL;
	}
}
#endif
