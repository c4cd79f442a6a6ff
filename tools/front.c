/*
 * tools/front.c - the `icpguard` command: a small front to the full tool.
 *
 * \file
 * An emergency takedown is timed from the moment the operator submits
 * the administration's signed order (`icpguard order add ENVELOPE`).  The
 * full tool (icpguard-tool, tools/icpguard.c) links twelve libraries, and
 * loading them costs more than everything else on that path: about 10 ms
 * per start on the reference machine, 7 of them for OpenSSL's libcrypto
 * (docs/benchmarks.md).  This front links libevent and jansson only.  It
 * submits an envelope itself (the loader verifies the signature; the
 * front does not need libcrypto for that) and hands every other command,
 * unchanged, to the full tool with execv: found next to this binary (a
 * build tree), else in PKGLIBEXECDIR (installed).  An order file that is
 * not an envelope, --key, --help or any other option goes to the full
 * tool too, so behaviour and messages are the full tool's.
 */
#include "config.h"
#include "tools/submit.h"
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/** the full tool's file name */
#define TOOL_NAME "icpguard-tool"

/** run the full tool with argv; returns only when it cannot be run */
static int
exec_tool(char** argv)
{
	char self[PATH_MAX], path[PATH_MAX + sizeof(TOOL_NAME) + 1];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if(n > 0) {
		self[n] = 0;
		snprintf(path, sizeof(path), "%s/" TOOL_NAME, dirname(self));
		if(access(path, X_OK) == 0) {
			execv(path, argv);
			fprintf(stderr, "icpguard: cannot run %s: %s\n", path,
				strerror(errno));
			return 2;
		}
	}
	execv(PKGLIBEXECDIR "/" TOOL_NAME, argv);
	fprintf(stderr, "icpguard: cannot run %s: %s (is the icpguard-tools "
		"package complete?)\n", PKGLIBEXECDIR "/" TOOL_NAME,
		strerror(errno));
	return 2;
}

/**
 * `order add FILE [--loader URL]` and nothing else: sets file and
 * loader.  @return 1 when argv is that command.
 */
static int
is_plain_add(int argc, char** argv, const char** file, const char** loader)
{
	int i;
	if(argc < 4 || strcmp(argv[1], "order") != 0 ||
		strcmp(argv[2], "add") != 0)
		return 0;
	*file = NULL;
	*loader = IG_LOADER_URL_DEFAULT;
	for(i = 3; i < argc; i++) {
		if(!strcmp(argv[i], "--loader") && i + 1 < argc)
			*loader = argv[++i];
		else if(!strncmp(argv[i], "--loader=", 9))
			*loader = argv[i] + 9;
		else if(argv[i][0] != '-' && !*file)
			*file = argv[i];
		else return 0;
	}
	return *file != NULL;
}

int
main(int argc, char** argv)
{
	const char* file, *loader;
	json_t* env;
	int rc;
	if(!is_plain_add(argc, argv, &file, &loader))
		return exec_tool(argv);
	/* an envelope is posted as it is; anything else (an order to sign,
	 * a file the full tool reports on) is the full tool's */
	env = json_load_file(file, JSON_REJECT_DUPLICATES, NULL);
	if(!env || !json_is_object(env) || !json_object_get(env,
		"signature")) {
		json_decref(env);
		return exec_tool(argv);
	}
	rc = ig_order_submit(loader, env);
	json_decref(env);
	return rc;
}
