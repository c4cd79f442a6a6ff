/*
 * common/pack.c - dnstap records packed without protobuf-c's reflection.
 *
 * See pack.h.  Protocol Buffers wire format: a field is a tag (field
 * number << 3 | wire type, a varint) and its value: a varint (enums as
 * int32, sign-extended to 64 bits like protobuf-c), 4 little-endian bytes
 * (fixed32), or a varint length and the bytes (bytes, strings, nested
 * messages).
 */
#include "config.h"
#include <string.h>
#include "common/pack.h"

/** wire types */
enum { WT_VARINT = 0, WT_LEN = 2, WT_FIXED32 = 5 };

/** bytes of v as a varint: 7 bits a byte (the highest set bit's
 * position times 9/64 is the same as dividing by 7 over 1..64) */
static size_t
varint_size(uint64_t v)
{
	return ((size_t)(64 - __builtin_clzll(v | 1)) * 9 + 64) / 64;
}

/** an enum value as protobuf-c writes it (int32, sign-extended) */
static uint64_t
enum_wire(int v)
{
	return (uint64_t)(int64_t)(int32_t)v;
}

/** size of a varint field */
static size_t
varint_field_size(unsigned num, uint64_t v)
{
	return varint_size(num << 3) + varint_size(v);
}

/** size of a length-delimited field of len bytes */
static size_t
len_field_size(unsigned num, size_t len)
{
	return varint_size(num << 3) + varint_size(len) + len;
}

/** write v as a varint at p; returns the end */
static uint8_t*
put_varint(uint8_t* p, uint64_t v)
{
	while(v >= 0x80) {
		*p++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*p++ = (uint8_t)v;
	return p;
}

/** write a varint field */
static uint8_t*
put_varint_field(uint8_t* p, unsigned num, uint64_t v)
{
	p = put_varint(p, (num << 3) | WT_VARINT);
	return put_varint(p, v);
}

/** write a fixed32 field */
static uint8_t*
put_fixed32_field(uint8_t* p, unsigned num, uint32_t v)
{
	p = put_varint(p, (num << 3) | WT_FIXED32);
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
	return p + 4;
}

/** write the tag and length of a length-delimited field */
static uint8_t*
put_len_head(uint8_t* p, unsigned num, size_t len)
{
	p = put_varint(p, (num << 3) | WT_LEN);
	return put_varint(p, len);
}

/** write a length-delimited field */
static uint8_t*
put_len_field(uint8_t* p, unsigned num, const void* data, size_t len)
{
	p = put_len_head(p, num, len);
	if(len) memcpy(p, data, len);
	return p + len;
}

/** the packed size of a Policy; *type_len: the length of its type */
static size_t
policy_size(const Dnstap__Policy* y, size_t* type_len)
{
	size_t n = 0;
	*type_len = y->type ? strlen(y->type) : 0;
	if(y->type) n += len_field_size(1, *type_len);
	if(y->has_rule) n += len_field_size(2, y->rule.len);
	if(y->has_action) n += varint_field_size(3, enum_wire(y->action));
	if(y->has_match) n += varint_field_size(4, enum_wire(y->match));
	if(y->has_value) n += len_field_size(5, y->value.len);
	return n;
}

/** the packed size of a Message whose policy (if any) packs to ps bytes */
static size_t
message_size(const Dnstap__Message* m, size_t ps)
{
	size_t n = varint_field_size(1, enum_wire(m->type));
	if(m->has_socket_family)
		n += varint_field_size(2, enum_wire(m->socket_family));
	if(m->has_socket_protocol)
		n += varint_field_size(3, enum_wire(m->socket_protocol));
	if(m->has_query_address) n += len_field_size(4, m->query_address.len);
	if(m->has_response_address)
		n += len_field_size(5, m->response_address.len);
	if(m->has_query_port) n += varint_field_size(6, m->query_port);
	if(m->has_response_port) n += varint_field_size(7, m->response_port);
	if(m->has_query_time_sec)
		n += varint_field_size(8, m->query_time_sec);
	if(m->has_query_time_nsec) n += 1 + 4;
	if(m->has_query_message) n += len_field_size(10, m->query_message.len);
	if(m->has_query_zone) n += len_field_size(11, m->query_zone.len);
	if(m->has_response_time_sec)
		n += varint_field_size(12, m->response_time_sec);
	if(m->has_response_time_nsec) n += 1 + 4;
	if(m->has_response_message)
		n += len_field_size(14, m->response_message.len);
	if(m->policy) n += len_field_size(15, ps);
	if(m->has_http_protocol)
		n += varint_field_size(16, enum_wire(m->http_protocol));
	return n;
}

size_t
pack_dnstap_size(const Dnstap__Dnstap* d, struct pack_sizes* sz)
{
	size_t n = 0;
	sz->policy_type = 0;
	sz->policy = d->message && d->message->policy ?
		policy_size(d->message->policy, &sz->policy_type) : 0;
	sz->message = d->message ? message_size(d->message, sz->policy) : 0;
	if(d->has_identity) n += len_field_size(1, d->identity.len);
	if(d->has_version) n += len_field_size(2, d->version.len);
	if(d->has_extra) n += len_field_size(3, d->extra.len);
	if(d->message) n += len_field_size(14, sz->message);
	sz->total = n + varint_field_size(15, enum_wire(d->type));
	return sz->total;
}

/** write a Policy measured into sz (its head included) */
static uint8_t*
put_policy(uint8_t* p, const Dnstap__Policy* y, const struct pack_sizes* sz)
{
	p = put_len_head(p, 15, sz->policy);
	if(y->type) p = put_len_field(p, 1, y->type, sz->policy_type);
	if(y->has_rule) p = put_len_field(p, 2, y->rule.data, y->rule.len);
	if(y->has_action) p = put_varint_field(p, 3, enum_wire(y->action));
	if(y->has_match) p = put_varint_field(p, 4, enum_wire(y->match));
	if(y->has_value) p = put_len_field(p, 5, y->value.data, y->value.len);
	return p;
}

/** write a Message measured into sz (its head included) */
static uint8_t*
put_message(uint8_t* p, const Dnstap__Message* m, const struct pack_sizes* sz)
{
	p = put_len_head(p, 14, sz->message);
	p = put_varint_field(p, 1, enum_wire(m->type));
	if(m->has_socket_family)
		p = put_varint_field(p, 2, enum_wire(m->socket_family));
	if(m->has_socket_protocol)
		p = put_varint_field(p, 3, enum_wire(m->socket_protocol));
	if(m->has_query_address)
		p = put_len_field(p, 4, m->query_address.data,
			m->query_address.len);
	if(m->has_response_address)
		p = put_len_field(p, 5, m->response_address.data,
			m->response_address.len);
	if(m->has_query_port) p = put_varint_field(p, 6, m->query_port);
	if(m->has_response_port) p = put_varint_field(p, 7, m->response_port);
	if(m->has_query_time_sec)
		p = put_varint_field(p, 8, m->query_time_sec);
	if(m->has_query_time_nsec)
		p = put_fixed32_field(p, 9, m->query_time_nsec);
	if(m->has_query_message)
		p = put_len_field(p, 10, m->query_message.data,
			m->query_message.len);
	if(m->has_query_zone)
		p = put_len_field(p, 11, m->query_zone.data, m->query_zone.len);
	if(m->has_response_time_sec)
		p = put_varint_field(p, 12, m->response_time_sec);
	if(m->has_response_time_nsec)
		p = put_fixed32_field(p, 13, m->response_time_nsec);
	if(m->has_response_message)
		p = put_len_field(p, 14, m->response_message.data,
			m->response_message.len);
	if(m->policy) p = put_policy(p, m->policy, sz);
	if(m->has_http_protocol)
		p = put_varint_field(p, 16, enum_wire(m->http_protocol));
	return p;
}

size_t
pack_dnstap(const Dnstap__Dnstap* d, const struct pack_sizes* sz,
	uint8_t* out)
{
	uint8_t* p = out;
	if(d->has_identity)
		p = put_len_field(p, 1, d->identity.data, d->identity.len);
	if(d->has_version)
		p = put_len_field(p, 2, d->version.data, d->version.len);
	if(d->has_extra) p = put_len_field(p, 3, d->extra.data, d->extra.len);
	if(d->message)
		p = put_message(p, d->message, sz);
	p = put_varint_field(p, 15, enum_wire(d->type));
	return (size_t)(p - out);
}
