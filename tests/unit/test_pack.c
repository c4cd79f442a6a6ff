/*
 * tests/unit/test_pack.c - unit tests of common/pack.c, the dnstap packer
 * of the audit records.
 *
 * \file
 * The reference is protobuf-c itself: every record packed by pack_dnstap
 * must be the bytes dnstap__dnstap__pack writes for the same structs, its
 * size what dnstap__dnstap__get_packed_size says, and protobuf-c must
 * read it back to the same fields.  Records: the module's own (a policy
 * answer rebuilt from its SOA, a sampled plain answer), every field set
 * with values that take the longest varints, only the required fields,
 * and 20,000 random ones (any subset of the fields, lengths across the
 * one- and two-byte length boundaries, a seed printed for replay).
 */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "common/pack.h"

/** a record and the storage of its bytes fields */
struct rec {
	Dnstap__Dnstap d;
	Dnstap__Message m;
	Dnstap__Policy p;
	uint8_t bytes[8][400];
	char type[64];
};

/** pack r both ways; fail unless the bytes are identical */
static void
assert_packs_as_protobuf_c(const struct rec* r)
{
	size_t want = dnstap__dnstap__get_packed_size(&r->d);
	uint8_t* a = malloc(want + 16), *b = malloc(want + 16);
	size_t la, lb, i;
	struct pack_sizes sz;
	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(pack_dnstap_size(&r->d, &sz), want);
	assert_int_equal(sz.total, want);
	memset(a, 0xee, want + 16);
	la = pack_dnstap(&r->d, &sz, a);
	lb = dnstap__dnstap__pack(&r->d, b);
	assert_int_equal(lb, want);
	assert_int_equal(la, want);
	for(i = 0; i < want; i++)
		if(a[i] != b[i])
			fail_msg("byte %zu of %zu: 0x%02x, protobuf-c 0x%02x",
				i, want, a[i], b[i]);
	/* nothing written past the end */
	for(i = want; i < want + 16; i++) assert_int_equal(a[i], 0xee);
	free(a);
	free(b);
}

/** the binary field f equals n bytes at data */
static void
assert_bin(ProtobufCBinaryData f, const void* data, size_t n)
{
	assert_int_equal(f.len, n);
	if(n) assert_memory_equal(f.data, data, n);
}

/** an empty record: Dnstap of type MESSAGE with a Message and a Policy
 * initialised but not linked */
static void
rec_init(struct rec* r)
{
	Dnstap__Dnstap d = DNSTAP__DNSTAP__INIT;
	Dnstap__Message m = DNSTAP__MESSAGE__INIT;
	Dnstap__Policy p = DNSTAP__POLICY__INIT;
	memset(r, 0, sizeof(*r));
	r->d = d;
	r->m = m;
	r->p = p;
	r->d.type = DNSTAP__DNSTAP__TYPE__MESSAGE;
}

/** set a bytes field to n bytes of storage slot i filled with c */
static void
set_bin(struct rec* r, ProtobufCBinaryData* f, int i, size_t n, int c)
{
	memset(r->bytes[i], c, n);
	f->data = r->bytes[i];
	f->len = n;
}

/* the module's policy record: identity, version, extra; a client over
 * UDP/IPv4; the response rebuilt from the SOA; Policy with rule, action,
 * match and the matched name */
static void
test_module_policy_record(void** state)
{
	static const uint8_t addr[4] = { 127, 0, 0, 1 };
	static const uint8_t name[] = "\3www\3bad\2cn";
	static const char rule[] = "order ord-it-1 工信厅信管函〔2022〕65号";
	static const char extra[] = "{\"snapshot\":\"7-0123456789ab\","
		"\"reason\":\"order\",\"id\":\"ord-it-1\"}";
	struct rec r;
	Dnstap__Dnstap* u;
	(void)state;
	rec_init(&r);
	r.d.identity.data = (uint8_t*)"resolver-1";
	r.d.identity.len = 10;
	r.d.has_identity = 1;
	r.d.version.data = (uint8_t*)"icpguard 0.1";
	r.d.version.len = 12;
	r.d.has_version = 1;
	r.d.extra.data = (uint8_t*)extra;
	r.d.extra.len = sizeof(extra) - 1;
	r.d.has_extra = 1;
	r.d.message = &r.m;
	r.m.type = DNSTAP__MESSAGE__TYPE__CLIENT_RESPONSE;
	r.m.query_address.data = (uint8_t*)addr;
	r.m.query_address.len = 4;
	r.m.has_query_address = 1;
	r.m.query_port = 53123;
	r.m.has_query_port = 1;
	r.m.socket_family = DNSTAP__SOCKET_FAMILY__INET;
	r.m.has_socket_family = 1;
	r.m.socket_protocol = DNSTAP__SOCKET_PROTOCOL__UDP;
	r.m.has_socket_protocol = 1;
	set_bin(&r, &r.m.response_message, 0, 90, 0x41);
	r.m.has_response_message = 1;
	r.m.response_time_sec = 1714492800;
	r.m.response_time_nsec = 123456789;
	r.m.has_response_time_sec = r.m.has_response_time_nsec = 1;
	r.p.type = "icpguard";
	r.p.rule.data = (uint8_t*)rule;
	r.p.rule.len = strlen(rule);
	r.p.has_rule = 1;
	r.p.action = DNSTAP__POLICY__ACTION__NXDOMAIN;
	r.p.has_action = 1;
	r.p.match = DNSTAP__POLICY__MATCH__QNAME;
	r.p.has_match = 1;
	r.p.value.data = (uint8_t*)name;
	r.p.value.len = sizeof(name);
	r.p.has_value = 1;
	r.m.policy = &r.p;
	assert_packs_as_protobuf_c(&r);
	/* and protobuf-c reads it back */
	{
		uint8_t buf[1024];
		struct pack_sizes sz;
		size_t n = pack_dnstap_size(&r.d, &sz);
		assert_true(n <= sizeof(buf));
		n = pack_dnstap(&r.d, &sz, buf);
		u = dnstap__dnstap__unpack(NULL, n, buf);
	}
	assert_non_null(u);
	assert_non_null(u->message);
	assert_non_null(u->message->policy);
	assert_bin(u->identity, "resolver-1", 10);
	assert_bin(u->extra, extra, sizeof(extra) - 1);
	assert_int_equal(u->message->type,
		DNSTAP__MESSAGE__TYPE__CLIENT_RESPONSE);
	assert_bin(u->message->query_address, addr, 4);
	assert_int_equal(u->message->query_port, 53123);
	assert_int_equal(u->message->response_time_sec, 1714492800);
	assert_int_equal(u->message->response_time_nsec, 123456789);
	assert_int_equal(u->message->response_message.len, 90);
	assert_string_equal(u->message->policy->type, "icpguard");
	assert_bin(u->message->policy->rule, rule, strlen(rule));
	assert_int_equal(u->message->policy->action,
		DNSTAP__POLICY__ACTION__NXDOMAIN);
	assert_bin(u->message->policy->value, name, sizeof(name));
	dnstap__dnstap__free_unpacked(u, NULL);
}

/* a sampled plain answer: no policy, no extra, IPv6 over TCP */
static void
test_module_sampled_record(void** state)
{
	struct rec r;
	(void)state;
	rec_init(&r);
	r.d.message = &r.m;
	r.m.type = DNSTAP__MESSAGE__TYPE__CLIENT_RESPONSE;
	set_bin(&r, &r.m.query_address, 0, 16, 0xfd);
	r.m.has_query_address = 1;
	r.m.socket_family = DNSTAP__SOCKET_FAMILY__INET6;
	r.m.has_socket_family = 1;
	r.m.socket_protocol = DNSTAP__SOCKET_PROTOCOL__TCP;
	r.m.has_socket_protocol = 1;
	set_bin(&r, &r.m.response_message, 1, 200, 0);
	r.m.has_response_message = 1;
	assert_packs_as_protobuf_c(&r);
}

/* every field, with the longest varints each can take: 64-bit times,
 * 32-bit ports, a negative enum (10 bytes, as int32 is written), field
 * 16's two-byte tag, lengths over 127 */
static void
test_every_field_longest(void** state)
{
	struct rec r;
	(void)state;
	rec_init(&r);
	set_bin(&r, &r.d.identity, 0, 300, 'i');
	r.d.has_identity = 1;
	set_bin(&r, &r.d.version, 1, 128, 'v');
	r.d.has_version = 1;
	set_bin(&r, &r.d.extra, 2, 127, 'x');
	r.d.has_extra = 1;
	r.d.message = &r.m;
	r.m.type = (Dnstap__Message__Type)-1;
	r.m.socket_family = (Dnstap__SocketFamily)0x7fffffff;
	r.m.has_socket_family = 1;
	r.m.socket_protocol = DNSTAP__SOCKET_PROTOCOL__DOQ;
	r.m.has_socket_protocol = 1;
	set_bin(&r, &r.m.query_address, 3, 16, 1);
	r.m.has_query_address = 1;
	set_bin(&r, &r.m.response_address, 4, 4, 2);
	r.m.has_response_address = 1;
	r.m.query_port = 0xffffffffu;
	r.m.has_query_port = 1;
	r.m.response_port = 0;
	r.m.has_response_port = 1;
	r.m.query_time_sec = UINT64_MAX;
	r.m.has_query_time_sec = 1;
	r.m.query_time_nsec = 0xffffffffu;
	r.m.has_query_time_nsec = 1;
	set_bin(&r, &r.m.query_message, 5, 399, 3);
	r.m.has_query_message = 1;
	set_bin(&r, &r.m.query_zone, 6, 0, 0);
	r.m.has_query_zone = 1;
	r.m.response_time_sec = 1ull << 35;
	r.m.has_response_time_sec = 1;
	r.m.response_time_nsec = 1;
	r.m.has_response_time_nsec = 1;
	set_bin(&r, &r.m.response_message, 7, 256, 4);
	r.m.has_response_message = 1;
	strcpy(r.type, "");
	r.p.type = r.type;
	r.p.action = (Dnstap__Policy__Action)-7;
	r.p.has_action = 1;
	r.p.match = DNSTAP__POLICY__MATCH__NS_IP;
	r.p.has_match = 1;
	r.m.policy = &r.p;
	r.m.http_protocol = DNSTAP__HTTP_PROTOCOL__HTTP3;
	r.m.has_http_protocol = 1;
	assert_packs_as_protobuf_c(&r);
}

/* only what is required: the Dnstap type; then a Message with only its
 * type; then an empty Policy */
static void
test_required_only(void** state)
{
	struct rec r;
	(void)state;
	rec_init(&r);
	assert_packs_as_protobuf_c(&r);
	r.d.message = &r.m;
	assert_packs_as_protobuf_c(&r);
	r.m.policy = &r.p;
	assert_packs_as_protobuf_c(&r);
}

/** a random length: around the varint boundaries more often than not */
static size_t
rand_len(void)
{
	static const size_t edge[] = { 0, 1, 126, 127, 128, 129, 255, 256, 399 };
	if(rand() % 2) return edge[rand() % (sizeof(edge) / sizeof(edge[0]))];
	return (size_t)(rand() % 400);
}

/** a random 64-bit value of random magnitude */
static uint64_t
rand_u64(void)
{
	uint64_t v = ((uint64_t)rand() << 42) ^ ((uint64_t)rand() << 21) ^
		(uint64_t)rand();
	return v >> (rand() % 64);
}

/* random records: any subset of the fields */
static void
test_random_records(void** state)
{
	struct rec r;
	unsigned seed = (unsigned)strtoul(getenv("IG_PACK_SEED") ?
		getenv("IG_PACK_SEED") : "20261125", NULL, 10);
	int k;
	(void)state;
	srand(seed);
	for(k = 0; k < 20000; k++) {
		int c = k & 0xff;
		rec_init(&r);
#define MAYBE (rand() % 2)
		if((r.d.has_identity = MAYBE))
			set_bin(&r, &r.d.identity, 0, rand_len(), c);
		if((r.d.has_version = MAYBE))
			set_bin(&r, &r.d.version, 1, rand_len(), c + 1);
		if((r.d.has_extra = MAYBE))
			set_bin(&r, &r.d.extra, 2, rand_len(), c + 2);
		if(MAYBE) {
			r.d.message = &r.m;
			r.m.type = (Dnstap__Message__Type)(rand() % 15);
			if((r.m.has_socket_family = MAYBE))
				r.m.socket_family = (Dnstap__SocketFamily)(rand() % 3);
			if((r.m.has_socket_protocol = MAYBE))
				r.m.socket_protocol = (Dnstap__SocketProtocol)(rand() % 8);
			if((r.m.has_query_address = MAYBE))
				set_bin(&r, &r.m.query_address, 3, MAYBE ? 4 : 16, c);
			if((r.m.has_response_address = MAYBE))
				set_bin(&r, &r.m.response_address, 4, rand_len(), c);
			if((r.m.has_query_port = MAYBE))
				r.m.query_port = (uint32_t)rand_u64();
			if((r.m.has_response_port = MAYBE))
				r.m.response_port = (uint32_t)rand_u64();
			if((r.m.has_query_time_sec = MAYBE))
				r.m.query_time_sec = rand_u64();
			if((r.m.has_query_time_nsec = MAYBE))
				r.m.query_time_nsec = (uint32_t)rand_u64();
			if((r.m.has_query_message = MAYBE))
				set_bin(&r, &r.m.query_message, 5, rand_len(), c);
			if((r.m.has_query_zone = MAYBE))
				set_bin(&r, &r.m.query_zone, 6, rand_len(), c);
			if((r.m.has_response_time_sec = MAYBE))
				r.m.response_time_sec = rand_u64();
			if((r.m.has_response_time_nsec = MAYBE))
				r.m.response_time_nsec = (uint32_t)rand_u64();
			if((r.m.has_response_message = MAYBE))
				set_bin(&r, &r.m.response_message, 7, rand_len(), c);
			if((r.m.has_http_protocol = MAYBE))
				r.m.http_protocol = (Dnstap__HttpProtocol)(rand() % 4);
			if(MAYBE) {
				r.m.policy = &r.p;
				if(MAYBE) {
					size_t n = (size_t)(rand() % 63);
					memset(r.type, 'a' + (c % 26), n);
					r.type[n] = 0;
					r.p.type = r.type;
				}
				if((r.p.has_rule = MAYBE))
					set_bin(&r, &r.p.rule, 0, rand_len(), c + 3);
				if((r.p.has_action = MAYBE))
					r.p.action = (Dnstap__Policy__Action)(rand() % 7);
				if((r.p.has_match = MAYBE))
					r.p.match = (Dnstap__Policy__Match)(rand() % 6);
				if((r.p.has_value = MAYBE))
					set_bin(&r, &r.p.value, 1, rand_len(), c + 4);
			}
		}
#undef MAYBE
		assert_packs_as_protobuf_c(&r);
	}
	print_message("20000 random records identical to protobuf-c "
		"(IG_PACK_SEED=%u)\n", seed);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_module_policy_record),
		cmocka_unit_test(test_module_sampled_record),
		cmocka_unit_test(test_every_field_longest),
		cmocka_unit_test(test_required_only),
		cmocka_unit_test(test_random_records),
	};
	return cmocka_run_group_tests_name("pack", tests, NULL, NULL);
}
