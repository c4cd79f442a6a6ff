/*
 * lib/hugepages.c - ask glibc's malloc for transparent huge pages.
 *
 * \file
 * See hugepages.h.
 */
#include "lib/hugepages.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

/** the tunable, as GLIBC_TUNABLES spells it */
#define TUNABLE "glibc.malloc.hugetlb"

/** 1 when the kernel's transparent huge pages are "always" or "madvise"
 * (glibc's tunable madvises its heaps); 0 when "never" or unknown */
static int
thp_usable(void)
{
	char line[256];
	FILE* f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
	int ok = 0;
	if(!f) return 0;
	if(fgets(line, sizeof(line), f))
		ok = strstr(line, "[always]") || strstr(line, "[madvise]");
	fclose(f);
	return ok;
}

void
ig_hugepages_reexec(char** argv)
{
	const char* old = getenv("GLIBC_TUNABLES");
	char* val;
	size_t n;
	if(old && strstr(old, TUNABLE)) return;
	/* setuid and the like: glibc may erase the tunable at start, and the
	 * program would run itself again and again */
	if(getauxval(AT_SECURE)) return;
	if(!thp_usable()) return;
	n = (old ? strlen(old) + 1 : 0) + sizeof(TUNABLE "=1");
	if(!(val = malloc(n))) return;
	snprintf(val, n, "%s%s" TUNABLE "=1", old ? old : "",
		old && *old ? ":" : "");
	if(setenv("GLIBC_TUNABLES", val, 1) == 0)
		execv("/proc/self/exe", argv);
	/* not run again: go on with the ordinary pages, and leave the
	 * tunable out of what this process starts */
	if(old) setenv("GLIBC_TUNABLES", old, 1);
	else unsetenv("GLIBC_TUNABLES");
	free(val);
}
