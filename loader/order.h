/*
 * loader/order.h - takedown order messages: canonical form, Ed25519
 * signatures, validation.
 *
 * \file
 * An order travels as a signed envelope (JSON):
 *   {"order": {...}, "key_id": "HEX16", "signature": "HEX128"}
 * The signature is Ed25519 over the context line "icpguard-order-v1\n"
 * followed by the canonical form of the order object: jansson's compact
 * dump with sorted keys (UTF-8 as is).  The order object:
 *   add:  {"op":"add","id":ID,"doc_no":函号,"unit":来文单位,
 *          "reason":违规原因,"targets":[NAME | {"name":N,"subtree":B}...],
 *          "effective":TIME,"expiry":TIME (optional),"issued":TIME}
 *   lift: {"op":"lift","id":ID,"at":TIME (optional, default now),
 *          "issued":TIME}
 * TIME is unix seconds or ISO 8601 (lib/timefmt.h).  Shared by
 * icpguard-loader (verification) and `icpguard order` (signing).  All
 * functions are re-entrant; returned JSON is owned by the caller.
 */
#ifndef ICPGUARD_LOADER_ORDER_H
#define ICPGUARD_LOADER_ORDER_H
#include <stdint.h>
#include <jansson.h>
#include <openssl/evp.h>
#include "loader/feed.h"
#include "lib/limits.h"

/** a validated order message */
struct ig_order_req {
	/** 1 add, 0 lift */
	int add;
	/** order id */
	char id[64];
	/** document number, issuing unit, reason (add) */
	const char* doc_no, *unit, *reason;
	/** effective from, expiry (0 none) (add); lift time (lift) */
	int64_t effective, expiry, at;
	/** targets (add): normalised text names and subtree flags */
	char target[IG_ORDER_MAX_TARGETS][IG_ORDER_TARGET_MAX + 2];
	/** subtree flags */
	int subtree[IG_ORDER_MAX_TARGETS];
	/** count */
	unsigned ntargets;
};

/** The canonical bytes of an order object (free() them). */
char* ig_order_canonical(json_t* order);

/**
 * What an order says, for comparing two messages with one id: the
 * canonical form without "issued" (a re-sent order signed again is the
 * same order).  free() it.
 */
char* ig_order_content(json_t* order);

/**
 * Sign an order object.
 * @return the envelope (json_decref it), or NULL with err set.
 */
json_t* ig_order_sign(json_t* order, EVP_PKEY* key, char* err,
	size_t errlen);

/**
 * Check an envelope's signature against trusted keys.
 * @param order: out, a new reference to the order object.
 * @param key_name: out, the configured name of the signing key.
 * @param code: out on refusal: "malformed", "unsigned", "unknown_key",
 *	"bad_signature".
 * @return 1 good, 0 refused (err set).
 */
int ig_order_verify(json_t* envelope, const struct ig_keyring* kr,
	json_t** order, const char** key_name, const char** code, char* err,
	size_t errlen);

/**
 * Validate an order object (fields, names, times) and check it against
 * every limit of the snapshot writer (lib/limits.h): an order that passes
 * can always be written into the order snapshot.
 * @param now: the current time; an add whose expiry has passed is refused
 *	("expired").
 * @param code: out on refusal: "malformed", "bad_field", "too_large" (a
 *	field over its limit; err names the field and the limit),
 *	"expired".
 * @return 1 good (out filled; strings point into order), 0 refused.
 */
int ig_order_check(json_t* order, int64_t now, struct ig_order_req* out,
	const char** code, char* err, size_t errlen);

#endif /* ICPGUARD_LOADER_ORDER_H */
