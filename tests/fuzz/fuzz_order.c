/*
 * tests/fuzz/fuzz_order.c - takedown orders through the intake's verify
 * and checks.
 *
 * \file
 * The input is an order envelope or a bare order (JSON; seeds: the orders
 * of data/sample and tests/integration/policy, bare and signed by
 * `icpguard order sign`, run.sh).  As the loader's POST /orders does
 * (loader/orders.c intake):
 *  - parsed with duplicate keys refused, the envelope's signature checked
 *    by ig_order_verify (loader/order.c) as it is;
 *  - the order object signed by the harness key (tests/fuzz/fuzz_key.h),
 *    sent as text and parsed again: it must verify (abort otherwise; the
 *    canonical form must survive the trip);
 *  - ig_order_check against the writer's limits (lib/limits.h); an add
 *    that passes must encode into the order snapshot's target list (abort
 *    otherwise: issue 17 finding 3).
 * The journal and the order snapshot are the journal target's.
 */
#include "tests/fuzz/fuzz_common.h"
#include "tests/fuzz/fuzz_key.h"
#include "config.h"
#include "loader/order.h"
#include "lib/snapshot.h"

int LLVMFuzzerInitialize(int* argc, char*** argv);
int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

int
LLVMFuzzerInitialize(int* argc, char*** argv)
{
	(void)argc;
	(void)argv;
	fuzz_key_init();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
	json_t* j = json_loadb((const char*)data, size,
		JSON_REJECT_DUPLICATES, NULL), *order = NULL, *o, *env;
	struct ig_order_req req;
	const char* code, *key;
	char err[1024], *text;
	if(!j) return 0;
	(void)ig_order_verify(j, &fuzz_keys, &order, &key, &code, err,
		sizeof(err));
	if(order) json_decref(order);
	order = NULL;
	o = json_object_get(j, "order");
	if(!json_is_object(o)) o = j;
	if(!json_is_object(o)) {
		json_decref(j);
		return 0;
	}
	/* signed by a trusted key, over the wire, verified */
	if(!(env = ig_order_sign(o, fuzz_priv, err, sizeof(err)))) abort();
	text = json_dumps(env, JSON_COMPACT);
	json_decref(env);
	if(!text) abort();
	env = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
	free(text);
	if(!env || !ig_order_verify(env, &fuzz_keys, &order, &key, &code, err,
		sizeof(err))) {
		fprintf(stderr, "fuzz: an order signed by a trusted key does not "
			"verify after the trip: %s\n", env ? err : "unparsable");
		abort();
	}
	if(ig_order_check(order, 1700000000, &req, &code, err, sizeof(err))
		&& req.add) {
		uint8_t buf[IG_ORDER_TARGETS_BYTES];
		const char* names[IG_ORDER_MAX_TARGETS];
		unsigned i;
		for(i = 0; i < req.ntargets; i++)
			names[i] = req.target[i];
		if(!ig_order_targets_encode(names, req.subtree, req.ntargets,
			buf, sizeof(buf))) {
			fprintf(stderr, "fuzz: order %s passed the checks but "
				"its targets do not encode\n", req.id);
			abort();
		}
	}
	json_decref(order);
	json_decref(env);
	json_decref(j);
	return 0;
}
