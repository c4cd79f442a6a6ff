/*
 * lib/name.h - domain name handling for icpguard.
 *
 * \file
 * Names travel in three forms:
 *  - text: what operators and feeds write, Unicode or A-labels, any case;
 *  - wire: DNS wire format (length-prefixed labels, ending in the root
 *    label), lower case after normalisation;
 *  - key: the LMDB key of a name: its labels in reverse order, each
 *    length-prefixed, lower case, without the root label.  The key of an
 *    ancestor is a prefix of the key of every name below it, so a subtree
 *    is one contiguous key range and the nearest ancestor is found by
 *    trying ever shorter prefixes.
 * None of these functions allocate unless stated; all are thread-safe.
 */
#ifndef ICPGUARD_NAME_H
#define ICPGUARD_NAME_H
#include <stddef.h>
#include <stdint.h>

/** maximum length of a wire-format name, root label included */
#define IG_NAME_MAX 255
/** maximum length of a key (the wire length minus the root label) */
#define IG_KEY_MAX 255
/** maximum number of labels in a name */
#define IG_LABELS_MAX 128

/** DNS case folding: ASCII letters only, whatever the C locale says
 * (RFC 4343); inline, it runs for every byte of every query name */
static inline uint8_t
ig_lower(uint8_t c)
{
	return (uint8_t)(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
}

/**
 * Normalise a text name to lower-case A-label wire format.
 * Unicode labels are converted with UTS#46 (non-transitional) by libidn2.
 * A trailing dot is optional; "." is the root.
 * @param text: NUL-terminated UTF-8 name.
 * @param wire: out buffer of at least IG_NAME_MAX bytes.
 * @param wirelen: out, length of the wire name including the root label.
 * @param err: on failure set to a static string saying what is wrong.
 * @return 1 on success, 0 on a bad name.
 */
int ig_name_from_text(const char* text, uint8_t* wire, size_t* wirelen,
	const char** err);

/**
 * Check a wire name received from the network and lower-case it into out.
 * Any byte is accepted inside a label (the DNS allows it); compression
 * pointers are not.
 * @param in: wire name; inlen: bytes available at in.
 * @param out: IG_NAME_MAX bytes; outlen: out, length written.
 * @return 1 on success, 0 when malformed (too long, truncated, pointer).
 */
int ig_name_wire_canon(const uint8_t* in, size_t inlen, uint8_t* out,
	size_t* outlen);

/**
 * Turn a wire name into its key form.
 * @param wire: valid wire name (see ig_name_wire_canon); case is folded.
 * @param key: out buffer of at least IG_KEY_MAX bytes.
 * @param labelend: optional out array of IG_LABELS_MAX entries: labelend[i]
 *	is the key length of the ancestor with i+1 labels (the TLD is 0).
 * @param nlabels: optional out, number of labels (0 for the root).
 * @return the key length (0 for the root).
 */
size_t ig_name_wire_to_key(const uint8_t* wire, uint8_t* key,
	size_t* labelend, int* nlabels);

/**
 * Turn a key back into presentation text ("www.example.cn.", "." for the
 * root).  Bytes outside LDH are written as \DDD escapes.
 * @param key, keylen: the key.
 * @param buf, buflen: out buffer; 1024 bytes always suffice.
 * @return buf.
 */
char* ig_name_key_to_text(const uint8_t* key, size_t keylen, char* buf,
	size_t buflen);

/** Presentation text of a wire name, same escaping as ig_name_key_to_text. */
char* ig_name_wire_to_text(const uint8_t* wire, char* buf, size_t buflen);

/** Length of a valid wire name including the root label. */
size_t ig_name_wire_len(const uint8_t* wire);

/**
 * Public suffix list access (libpsl).  Loaded once per process from the
 * Debian publicsuffix package, falling back to libpsl's built-in list.
 * Thread-safe: the first call loads the list under a mutex.
 */

/**
 * The registrable domain of a normalised text name (no trailing dot).
 * @return pointer into name at the registrable domain, or NULL when the
 *	name is itself a public suffix (or the root).
 */
const char* ig_name_registrable(const char* name);

/** 1 when the normalised text name (no trailing dot) is a public suffix. */
int ig_name_is_public_suffix(const char* name);

/**
 * Free the public suffix list.  Call only when no other thread uses the
 * name functions (a module's deinit, before it is unloaded); the next use
 * loads the list again.
 */
void ig_name_cleanup(void);

#endif /* ICPGUARD_NAME_H */
