/*
 * lib/conffile.h - "key: value" configuration files.
 *
 * \file
 * The module's file and the loader's file share one syntax: a "key: value"
 * pair per line, '#' starts a comment, blank lines are skipped, a value may
 * be in double quotes.  The reader calls a function per pair; the first
 * refusal stops the read with "FILE:LINE: KEY: reason (value 'V')".
 * Single-threaded; nothing is kept after the call.
 */
#ifndef ICPGUARD_CONFFILE_H
#define ICPGUARD_CONFFILE_H
#include <stddef.h>

/**
 * Apply one pair.
 * @param ctx: the caller's configuration.
 * @param key, value: NUL-terminated, trimmed; value may be modified.
 * @return NULL when good, else a static reason.
 */
typedef const char* (*ig_conf_apply_fn)(void* ctx, const char* key,
	char* value);

/**
 * Read a file, calling apply for every pair.
 * @return 1 all good, 0 with err set (cannot read, a line that is not
 *	"key: value", or the first refusal).
 */
int ig_conf_read(const char* path, ig_conf_apply_fn apply, void* ctx,
	char* err, size_t errlen);

#endif /* ICPGUARD_CONFFILE_H */
