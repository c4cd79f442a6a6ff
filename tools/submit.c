/*
 * tools/submit.c - sending a signed order envelope to icpguard-loader.
 *
 * \file
 * See tools/submit.h.
 */
#include "config.h"
#include "tools/submit.h"
#include "tools/http_client.h"
#include <stdio.h>
#include <stdlib.h>

int
ig_order_submit(const char* loader, json_t* env)
{
	char url[1100], err[512], *body = json_dumps(env, JSON_COMPACT), *resp;
	int status, rc;
	snprintf(url, sizeof(url), "%s/orders", loader);
	rc = ig_http_request("POST", url, body, 10, &status, &resp, err,
		sizeof(err));
	free(body);
	if(!rc) {
		fprintf(stderr, "order: %s\n", err);
		return 2;
	}
	printf("%s", resp);
	if(status == 503) {
		json_t* j = json_loads(resp, 0, NULL);
		if(json_is_true(json_object_get(j, "journaled")))
			fprintf(stderr, "order: journaled by the loader but NOT "
				"in force (HTTP 503): %s\n", json_string_value(
				json_object_get(j, "reason")) ?
				json_string_value(json_object_get(j, "reason")) :
				"order snapshot not published");
		else fprintf(stderr, "order: refused by the loader (HTTP "
				"%d)\n", status);
		json_decref(j);
		free(resp);
		return 1;
	}
	free(resp);
	if(status != 200) {
		fprintf(stderr, "order: refused by the loader (HTTP %d)\n",
			status);
		return 1;
	}
	return 0;
}
