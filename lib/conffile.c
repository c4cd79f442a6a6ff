/*
 * lib/conffile.c - "key: value" configuration files.
 *
 * \file
 * See conffile.h.
 */
#include "lib/conffile.h"
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

int
ig_conf_read(const char* path, ig_conf_apply_fn apply, void* ctx, char* err,
	size_t errlen)
{
	FILE* in = fopen(path, "r");
	char line[4096];
	long lineno = 0;
	if(!in) {
		snprintf(err, errlen, "%s: cannot read: %s", path,
			strerror(errno));
		return 0;
	}
	while(fgets(line, sizeof(line), in)) {
		char* p = line, *colon, *v, *end, *hash;
		const char* why;
		size_t vl;
		lineno++;
		if((hash = strchr(p, '#')) != NULL) *hash = 0;
		while(isspace((unsigned char)*p)) p++;
		end = p + strlen(p);
		while(end > p && isspace((unsigned char)end[-1])) *--end = 0;
		if(*p == 0) continue;
		if(!(colon = strchr(p, ':'))) {
			snprintf(err, errlen, "%s:%ld: want 'key: value'", path,
				lineno);
			fclose(in);
			return 0;
		}
		*colon = 0;
		v = colon + 1;
		while(isspace((unsigned char)*v)) v++;
		end = colon;
		while(end > p && isspace((unsigned char)end[-1])) *--end = 0;
		vl = strlen(v);
		if(vl >= 2 && v[0] == '"' && v[vl-1] == '"') {
			v[vl-1] = 0;
			v++;
		}
		if((why = apply(ctx, p, v)) != NULL) {
			snprintf(err, errlen, "%s:%ld: %s: %s (value '%s')", path,
				lineno, p, why, v);
			fclose(in);
			return 0;
		}
	}
	fclose(in);
	return 1;
}
