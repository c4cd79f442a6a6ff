/*
 * lib/timefmt.h - times as operators write them.
 *
 * \file
 * Sources, feeds, orders and command lines give times as unix seconds or
 * ISO 8601; without an offset they mean Beijing time (UTC+8), as the
 * documents they come from do.  Pure functions, thread-safe.
 */
#ifndef ICPGUARD_TIMEFMT_H
#define ICPGUARD_TIMEFMT_H
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/**
 * Parse a time: unix seconds, "YYYY-MM-DD" (00:00 UTC+8, Beijing time),
 * or "YYYY-MM-DDTHH:MM[:SS]" with an optional "Z" or "+HH:MM" offset
 * (none means UTC+8).
 * @return 1 ok, 0 bad.
 */
int ig_parse_time(const char* s, int64_t* out);

/** Format a unix time as ISO 8601 in UTC+8 into buf (32 bytes); "?" for
 * a time that has no such text (near the ends of int64, a year gmtime
 * cannot hold, or a text longer than buf).  Any thread. */
char* ig_format_time(int64_t t, char* buf, size_t buflen);

/** Seconds on the monotonic clock since *t0 (from clock_gettime with
 * CLOCK_MONOTONIC); with lap non-zero, *t0 moves to now (the next phase
 * is timed from here).  Any thread. */
double ig_seconds_since(struct timespec* t0, int lap);

#endif /* ICPGUARD_TIMEFMT_H */
