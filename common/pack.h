/*
 * common/pack.h - dnstap records packed without protobuf-c's reflection.
 *
 * \file
 * protobuf-c packs a message by walking its descriptor: a switch on the
 * label and type of every field of Dnstap, Message and Policy, with the
 * nested messages measured first.  For the audit record that is about
 * 2,000 instructions, two thirds of the encoder thread's work per record
 * (callgrind, tests/audit/bench-audit.sh -g).  pack_dnstap writes the
 * same bytes straight from the same generated structs (data/dnstap.proto
 * as protoc-c compiles it): fields in field-number order, minimal
 * varints, a field written when protobuf-c would write it (has_X for
 * scalars and bytes, non-NULL for strings and messages, required fields
 * always).  tests/unit/test_pack.c checks the output byte for byte
 * against dnstap__dnstap__pack and decodes it with protobuf-c.  Reading
 * stays protobuf-c's (icpguard audit).
 *
 * Unknown fields (never set by the module) are not written.
 *
 * Thread rules: none; both functions only read the record.
 */
#ifndef ICPGUARD_COMMON_PACK_H
#define ICPGUARD_COMMON_PACK_H
#include <stddef.h>
#include <stdint.h>
#include "data/dnstap.pb-c.h"

/** the packed sizes of a record, measured once for its packing */
struct pack_sizes {
	/** the whole Dnstap message */
	size_t total;
	/** its Message and that message's Policy (0 when absent) */
	size_t message, policy;
	/** the length of the Policy's type string */
	size_t policy_type;
};

/**
 * Measure d (the caller keeps d; nothing is written).
 * @param d: the record.
 * @param sz: out: its sizes, for pack_dnstap.
 * @return sz->total, byte for byte what dnstap__dnstap__get_packed_size
 *	returns.
 */
size_t pack_dnstap_size(const Dnstap__Dnstap* d, struct pack_sizes* sz);

/**
 * Pack d, measured by pack_dnstap_size into sz and not changed since,
 * into out, which the caller owns and which holds sz->total bytes.
 * @return the bytes written (sz->total): the same bytes as
 *	dnstap__dnstap__pack.
 */
size_t pack_dnstap(const Dnstap__Dnstap* d, const struct pack_sizes* sz,
	uint8_t* out);

#endif /* ICPGUARD_COMMON_PACK_H */
