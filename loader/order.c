/*
 * loader/order.c - takedown order messages.
 *
 * \file
 * See order.h.
 */
#include "loader/order.h"
#include "lib/name.h"
#include "lib/timefmt.h"
#include "lib/validate.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/** the context line signed before the canonical order */
static const char order_context[] = "icpguard-order-v1\n";

char*
ig_order_canonical(json_t* order)
{
	return json_dumps(order, JSON_COMPACT | JSON_SORT_KEYS);
}

char*
ig_order_content(json_t* order)
{
	json_t* c = json_copy(order);
	char* t;
	if(!c) return NULL;
	json_object_del(c, "issued");
	t = ig_order_canonical(c);
	json_decref(c);
	return t;
}

/** context + canonical bytes in one buffer (free() it) */
static unsigned char*
signed_bytes(json_t* order, size_t* len)
{
	char* c = ig_order_canonical(order);
	unsigned char* b;
	size_t cl;
	if(!c) return NULL;
	cl = strlen(c);
	*len = sizeof(order_context) - 1 + cl;
	if((b = malloc(*len)) != NULL) {
		memcpy(b, order_context, sizeof(order_context) - 1);
		memcpy(b + sizeof(order_context) - 1, c, cl);
	}
	free(c);
	return b;
}

/** parse hex into out (n bytes); 1 ok */
static int
unhex(const char* s, uint8_t* out, size_t n)
{
	size_t i;
	if(!s || strlen(s) != 2 * n) return 0;
	for(i = 0; i < n; i++) {
		unsigned v;
		if(sscanf(s + 2 * i, "%2x", &v) != 1) return 0;
		out[i] = (uint8_t)v;
	}
	return 1;
}

json_t*
ig_order_sign(json_t* order, EVP_PKEY* key, char* err, size_t errlen)
{
	EVP_MD_CTX* md = EVP_MD_CTX_new();
	unsigned char* b = NULL, sig[64];
	size_t len = 0, siglen = sizeof(sig);
	char id[17], hex[129];
	json_t* env = NULL;
	if(!md || !(b = signed_bytes(order, &len))) {
		snprintf(err, errlen, "out of memory");
		goto done;
	}
	if(EVP_DigestSignInit(md, NULL, NULL, NULL, key) != 1 ||
		EVP_DigestSign(md, sig, &siglen, b, len) != 1 ||
		!ig_key_id(key, id)) {
		snprintf(err, errlen, "Ed25519 signing failed (is the key an "
			"Ed25519 private key?)");
		goto done;
	}
	ig_hex(sig, siglen, hex);
	env = json_pack("{s:O,s:s,s:s}", "order", order, "key_id", id,
		"signature", hex);
done:
	EVP_MD_CTX_free(md);
	free(b);
	return env;
}

int
ig_order_verify(json_t* envelope, const struct ig_keyring* kr,
	json_t** order, const char** key_name, const char** code, char* err,
	size_t errlen)
{
	json_t* o = json_object_get(envelope, "order");
	const char* kid = json_string_value(json_object_get(envelope,
		"key_id"));
	const char* sighex = json_string_value(json_object_get(envelope,
		"signature"));
	uint8_t sig[64];
	unsigned char* b = NULL;
	size_t len;
	int i, ok = 0;
	EVP_MD_CTX* md = NULL;
	*order = NULL;
	*code = "malformed";
	if(json_is_object(envelope) && !o && (json_object_get(envelope, "id")
		|| json_object_get(envelope, "op"))) {
		*code = "unsigned";
		snprintf(err, errlen, "a bare order: not signed (send the "
			"envelope of `icpguard order sign`)");
		return 0;
	}
	if(!json_is_object(envelope) || !json_is_object(o)) {
		snprintf(err, errlen, "not an order envelope ({\"order\": {...}"
			", \"key_id\": ..., \"signature\": ...})");
		return 0;
	}
	if(!kid || !sighex) {
		*code = "unsigned";
		snprintf(err, errlen, "order is not signed (key_id and "
			"signature missing)");
		return 0;
	}
	if(!unhex(sighex, sig, sizeof(sig))) {
		snprintf(err, errlen, "signature is not 128 hex digits");
		return 0;
	}
	for(i = 0; i < kr->n; i++)
		if(strcmp(kr->id[i], kid) == 0) break;
	if(i == kr->n) {
		*code = "unknown_key";
		snprintf(err, errlen, "signed by key %s, which is not an "
			"order key of this loader", kid);
		return 0;
	}
	if(!(b = signed_bytes(o, &len)) || !(md = EVP_MD_CTX_new())) {
		snprintf(err, errlen, "out of memory");
		goto done;
	}
	if(EVP_DigestVerifyInit(md, NULL, NULL, NULL, kr->key[i]) != 1 ||
		EVP_DigestVerify(md, sig, sizeof(sig), b, len) != 1) {
		*code = "bad_signature";
		snprintf(err, errlen, "signature by key %s (%s) does not match"
			" the order (tampered, or signed over other content)",
			kid, kr->name[i]);
		goto done;
	}
	*order = json_incref(o);
	*key_name = kr->name[i];
	ok = 1;
done:
	EVP_MD_CTX_free(md);
	free(b);
	return ok;
}

/** a required non-empty string field */
static const char*
req_str(json_t* o, const char* key, const char** code, char* err,
	size_t errlen)
{
	const char* v = json_string_value(json_object_get(o, key));
	if(!v || !*v) {
		*code = "bad_field";
		snprintf(err, errlen, "field '%s': missing or not a string",
			key);
		return NULL;
	}
	return v;
}

/** a time field; absent gives dflt; 0 on a bad value */
static int
time_field(json_t* o, const char* key, int64_t dflt, int64_t* out,
	const char** code, char* err, size_t errlen)
{
	json_t* v = json_object_get(o, key);
	if(!v || json_is_null(v)) {
		*out = dflt;
		return 1;
	}
	if(json_is_integer(v)) {
		*out = json_integer_value(v);
		return 1;
	}
	if(json_is_string(v) && ig_parse_time(json_string_value(v), out))
		return 1;
	*code = "bad_field";
	snprintf(err, errlen, "field '%s': not a time (unix seconds or "
		"ISO 8601)", key);
	return 0;
}

int
ig_order_check(json_t* order, int64_t now, struct ig_order_req* out,
	const char** code, char* err, size_t errlen)
{
	const char* op, *id;
	json_t* tg;
	struct ig_reject rj;
	size_t i;
	memset(out, 0, sizeof(*out));
	*code = "malformed";
	if(!json_is_object(order)) {
		snprintf(err, errlen, "order is not a JSON object");
		return 0;
	}
	if(!(op = req_str(order, "op", code, err, errlen)) ||
		!(id = req_str(order, "id", code, err, errlen)))
		return 0;
	if(!ig_order_id_ok(id)) {
		*code = "bad_field";
		snprintf(err, errlen, "field 'id': '%.80s' (want 1-%d letters, "
			"digits, '-')", id, IG_ORDER_ID_MAX);
		return 0;
	}
	snprintf(out->id, sizeof(out->id), "%s", id);
	if(strcmp(op, "lift") == 0) {
		out->add = 0;
		return time_field(order, "at", now, &out->at, code, err,
			errlen);
	}
	if(strcmp(op, "add") != 0) {
		*code = "bad_field";
		snprintf(err, errlen, "field 'op': '%s' (want add or lift)", op);
		return 0;
	}
	out->add = 1;
	if(!(out->doc_no = req_str(order, "doc_no", code, err, errlen)) ||
		!(out->unit = req_str(order, "unit", code, err, errlen)) ||
		!(out->reason = req_str(order, "reason", code, err, errlen)))
		return 0;
	tg = json_object_get(order, "targets");
	if(!json_is_array(tg)) {
		*code = "bad_field";
		snprintf(err, errlen, "field 'targets': want a list of 1 to %d "
			"names", IG_ORDER_MAX_TARGETS);
		return 0;
	}
	if(!ig_valid_order_texts(id, out->doc_no, out->unit, out->reason,
		json_array_size(tg), &rj)) {
		*code = strcmp(rj.code, "too_long") == 0 || strcmp(rj.code,
			"too_many") == 0 ? "too_large" : "bad_field";
		snprintf(err, errlen, "field '%s': %s", rj.field ? rj.field :
			"order", rj.msg);
		return 0;
	}
	if(!time_field(order, "effective", now, &out->effective, code, err,
		errlen) || !time_field(order, "expiry", 0, &out->expiry, code,
		err, errlen))
		return 0;
	if(out->expiry && out->expiry <= out->effective) {
		*code = "bad_field";
		snprintf(err, errlen, "field 'expiry': not after 'effective'");
		return 0;
	}
	if(out->expiry && out->expiry <= now) {
		*code = "expired";
		snprintf(err, errlen, "order %s already expired", id);
		return 0;
	}
	for(i = 0; i < json_array_size(tg); i++) {
		json_t* t = json_array_get(tg, i);
		const char* nm = NULL;
		int st = 1;
		if(json_is_string(t)) nm = json_string_value(t);
		else if(json_is_object(t)) {
			json_t* s = json_object_get(t, "subtree");
			nm = json_string_value(json_object_get(t, "name"));
			if(s && !json_is_boolean(s)) nm = NULL;
			if(s) st = json_is_true(s);
		}
		if(!ig_valid_order_target(i, nm, out->target[out->ntargets],
			sizeof(out->target[0]), &rj)) {
			*code = strcmp(rj.code, "too_long") == 0 ? "too_large" :
				"bad_field";
			snprintf(err, errlen, "field 'targets': %s", rj.msg);
			return 0;
		}
		out->subtree[out->ntargets++] = st;
	}
	return 1;
}
