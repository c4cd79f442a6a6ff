/*
 * tests/unit/unit_util.h - helpers shared by the cmocka unit tests.
 *
 * \file
 * Temporary directories, text-to-wire conversion that fails the test on a
 * bad name, and one-line writers for each snapshot record kind.  Every
 * helper asserts its own success with cmocka, so a test reads as a list
 * of facts and never silently continues after a broken fixture.
 * Include after <cmocka.h> and its prerequisites.
 */
#ifndef ICPGUARD_UNIT_UTIL_H
#define ICPGUARD_UNIT_UTIL_H
#include <stddef.h>
#include <stdint.h>
#include "lib/snapshot.h"
#include "lib/verdict.h"

/** a temporary directory for snapshot files */
struct ut_dir {
	/** its path */
	char path[256];
};

/** Create a fresh temporary directory (under $TMPDIR or /tmp). */
void ut_dir_make(struct ut_dir* d);

/** Remove every file in the directory and the directory itself. */
void ut_dir_remove(struct ut_dir* d);

/** Path of a file in the directory, in a caller buffer of 512 bytes. */
char* ut_dir_file(const struct ut_dir* d, const char* name, char* buf);

/** Number of entries (files) in the directory. */
int ut_dir_count(const struct ut_dir* d);

/** Text to wire; fails the test on a bad name. @return the wire length */
size_t ut_wire(const char* text, uint8_t* wire);

/** Text to key; fails the test on a bad name. @return the key length */
size_t ut_key(const char* text, uint8_t* key);

/** Start a writer for path; fails the test when it cannot. */
struct ig_writer* ut_writer(const char* path);

/** Add a filing of a registrable domain. */
void ut_filing(struct ig_writer* w, const char* domain,
	enum ig_filing_status status, const char* number);

/** Add a blacklist entry. */
void ut_blacklist(struct ig_writer* w, const char* name, int subtree,
	const char* reason, const char* source);

/** Add an operator exemption. */
void ut_exempt(struct ig_writer* w, const char* name, int subtree,
	const char* note);

/**
 * Add an order with targets.  names[i] with subtree[i]; times are unix
 * seconds, 0 for no expiry / not lifted.
 */
void ut_order(struct ig_writer* w, const char* id, const char* doc_no,
	const char* unit, const char* reason, int64_t effective,
	int64_t expiry, int64_t lifted, const char* const* names,
	const int* subtree, unsigned n);

/** Add a range of a kind from its text form ("a-b", "p/len", "a"). */
void ut_range(struct ig_writer* w, enum ig_range_kind kind, const char* text,
	const char* owner);

/** Add a registrar with one redirect/parking endpoint host. */
void ut_redirect_host(struct ig_writer* w, const char* host,
	const char* registrar);

/** Publish with a serial and open the result; fails the test on error. */
struct ig_snapshot* ut_publish_open(struct ig_writer* w, const char* path,
	uint64_t serial);

/** Parse an address; fails the test on a bad one. */
struct ig_addr ut_addr(const char* text);

/** 1 if the string contains the substring (NULL-safe). */
int ut_contains(const char* s, const char* sub);

#endif /* ICPGUARD_UNIT_UTIL_H */
