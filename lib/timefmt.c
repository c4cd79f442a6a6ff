/*
 * lib/timefmt.c - times as operators write them.
 *
 * \file
 * See timefmt.h.
 */
#include "lib/timefmt.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int
ig_parse_time(const char* s, int64_t* out)
{
	struct tm tm;
	const char* p;
	char* end;
	long off = 8 * 3600; /* Beijing time unless stated */
	time_t t;
	errno = 0;
	{
		long long v = strtoll(s, &end, 10);
		if(*s && *end == 0 && errno == 0) {
			*out = v;
			return 1;
		}
	}
	memset(&tm, 0, sizeof(tm));
	p = strptime(s, "%Y-%m-%d", &tm);
	if(!p) return 0;
	if(*p == 'T' || *p == ' ') {
		const char* q = strptime(p + 1, "%H:%M:%S", &tm);
		if(!q) q = strptime(p + 1, "%H:%M", &tm);
		if(!q) return 0;
		p = q;
	}
	if(*p == 'Z') {
		off = 0;
		p++;
	} else if(*p == '+' || *p == '-') {
		/* exactly "+HH:MM": sscanf's %2d took "+1:2" (and signs,
		 * spaces), and the 6 bytes skipped then ran past the end of
		 * the text (found by tests/fuzz, fuzz_source) */
		int hh, mm, i;
		for(i = 1; i <= 5; i++)
			if(i == 3 ? p[i] != ':' : (p[i] < '0' || p[i] > '9'))
				return 0;
		hh = (p[1] - '0') * 10 + (p[2] - '0');
		mm = (p[4] - '0') * 10 + (p[5] - '0');
		if(hh > 23 || mm > 59) return 0;
		off = (long)(hh * 3600 + mm * 60) * (*p == '-' ? -1 : 1);
		p += 6;
	}
	if(*p) return 0;
	t = timegm(&tm);
	*out = (int64_t)t - off;
	return 1;
}

char*
ig_format_time(int64_t t, char* buf, size_t buflen)
{
	time_t tt;
	struct tm tm;
	/* a damaged or hostile time may sit near the ends of int64: no
	 * signed overflow, and no strftime of a tm that gmtime_r refused */
	if(t > INT64_MAX - 8 * 3600 || t < INT64_MIN + 8 * 3600) {
		snprintf(buf, buflen, "?");
		return buf;
	}
	tt = (time_t)(t + 8 * 3600);
	if(!gmtime_r(&tt, &tm) || strftime(buf, buflen,
		"%Y-%m-%dT%H:%M:%S+08:00", &tm) == 0)
		snprintf(buf, buflen, "?");
	return buf;
}

double
ig_seconds_since(struct timespec* t0, int lap)
{
	struct timespec t1;
	double s;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	s = (double)(t1.tv_sec - t0->tv_sec) +
		(double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
	if(lap) *t0 = t1;
	return s;
}
