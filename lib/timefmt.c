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
		int hh, mm;
		if(sscanf(p + 1, "%2d:%2d", &hh, &mm) != 2) return 0;
		off = (hh * 3600 + mm * 60) * (*p == '-' ? -1 : 1);
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
	time_t tt = (time_t)(t + 8 * 3600);
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(buf, buflen, "%Y-%m-%dT%H:%M:%S+08:00", &tm);
	return buf;
}
