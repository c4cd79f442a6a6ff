/*
 * lib/addr.h - IPv4/IPv6 addresses and ranges.
 *
 * \file
 * Addresses are kept as 16 bytes in network order; IPv4 is mapped into
 * ::ffff:0:0/96 so that both families sort in one key space.  Ranges have
 * arbitrary first and last addresses (not only CIDR blocks): the APNIC
 * delegated file gives IPv4 blocks as a start and a count that need not be
 * a power of two.  All functions are pure and thread-safe.
 */
#ifndef ICPGUARD_ADDR_H
#define ICPGUARD_ADDR_H
#include <stddef.h>
#include <stdint.h>

/** an address in 16 bytes, IPv4 mapped */
struct ig_addr {
	/** network-order bytes */
	uint8_t b[16];
};

/** an inclusive range of addresses */
struct ig_range {
	/** first address */
	struct ig_addr first;
	/** last address (>= first) */
	struct ig_addr last;
};

/** 1 if the address is an IPv4-mapped one */
int ig_addr_is_v4(const struct ig_addr* a);

/** Make an address from 4 raw IPv4 bytes. */
void ig_addr_from_v4(struct ig_addr* a, const uint8_t* v4);

/** Make an address from 16 raw IPv6 bytes. */
void ig_addr_from_v6(struct ig_addr* a, const uint8_t* v6);

/**
 * Parse "192.0.2.1" or "2001:db8::1".
 * @return 1 on success, 0 on a bad address.
 */
int ig_addr_parse(const char* text, struct ig_addr* a);

/** Print an address in its family's usual form into buf (64 bytes). */
char* ig_addr_to_text(const struct ig_addr* a, char* buf, size_t buflen);

/** memcmp-order compare of two addresses */
int ig_addr_cmp(const struct ig_addr* a, const struct ig_addr* b);

/**
 * Parse a range: "FIRST-LAST", "PREFIX/LEN", or a single address.
 * Both ends must be of one family and FIRST <= LAST; the prefix must have
 * no host bits set.
 * @param err: set to a static reason on failure.
 * @return 1 on success, 0 on failure.
 */
int ig_range_parse(const char* text, struct ig_range* r, const char** err);

/**
 * Make the range for an IPv4 start and a host count (APNIC style).
 * @return 1, or 0 when the count runs past 255.255.255.255 or is 0.
 */
int ig_range_from_v4_count(const struct ig_addr* start, uint64_t count,
	struct ig_range* r);

#endif /* ICPGUARD_ADDR_H */
