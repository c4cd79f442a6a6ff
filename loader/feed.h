/*
 * loader/feed.h - feed files: keys, signatures, streaming read and write.
 *
 * \file
 * Shared by `icpguard feed` (which writes and signs feed files) and
 * icpguard-loader (which verifies and reads them).  The protocol is in
 * docs/feeds.md, the payload schema in data/feed.proto.
 *
 * A feed file is one serialized icpguard.feed.Feed message.  It is never
 * unpacked whole: a 10-million-filing feed is about a gigabyte, so the
 * reader maps the file and walks its top-level fields, and the writer
 * appends one packed record at a time.  Records are unpacked one by one
 * with protobuf-c.
 *
 * Errors: functions return 1 on success and 0 on failure with a message
 * in err (naming the file) and, where the caller needs to count causes, a
 * static short code.  Nothing is thread-safe per object; objects may be
 * used by different threads one at a time.
 */
#ifndef ICPGUARD_FEED_H
#define ICPGUARD_FEED_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "loader/growing.h"
#include <openssl/evp.h>
#include "data/feed.pb-c.h"
#include "lib/name.h"

/** the signing context string inside every SignedStatement */
#define IG_FEED_CONTEXT "icpguard-feed-1"
/** the latest-pointer format tag */
#define IG_FEED_LATEST_FORMAT "icpguard-feed-latest-1"
/** longest record key: a name key, or 32 address bytes, or an id */
#define IG_FEED_KEY_MAX 512

/** feed kind by name ("filings", ...), KIND_UNKNOWN if none */
Icpguard__Feed__Kind ig_feed_kind_parse(const char* name);
/** name of a feed kind */
const char* ig_feed_kind_name(Icpguard__Feed__Kind kind);

/* ------------------------------------------------------------------ */
/* Keys                                                                */

/**
 * Make an Ed25519 key pair and write it as PEM: the private key (mode
 * 0600, PKCS#8) at priv, the public key (SubjectPublicKeyInfo) at pub.
 * @return 1/0.
 */
int ig_key_generate(const char* priv, const char* pub, char* err,
	size_t errlen);

/**
 * Read a PEM key.  @param private: 1 private key, 0 public key.
 * @return the key (EVP_PKEY_free it) or NULL with err set; the key must
 *	be Ed25519.
 */
EVP_PKEY* ig_key_read(const char* path, int private, char* err,
	size_t errlen);

/** The key id: hex of the first 8 bytes of SHA-256(raw public key). */
int ig_key_id(EVP_PKEY* key, char id[17]);

/* ------------------------------------------------------------------ */
/* Signatures                                                          */

/** what a signature says about a feed file */
struct ig_feed_stmt {
	/** kind */
	Icpguard__Feed__Kind kind;
	/** serial after the file */
	uint64_t serial;
	/** base serial of a delta, 0 for a full feed */
	uint64_t base;
	/** file size */
	uint64_t size;
	/** SHA-256 of the file */
	uint8_t sha256[32];
	/** signing time */
	int64_t signed_at;
	/** key id of the signer */
	char key_id[17];
};

/**
 * Write the detached signature "PATH.sig" (temporary file + rename) for
 * a feed file whose size and digest the caller computed.
 * @return 1/0.
 */
int ig_feed_sign(const char* sigpath, EVP_PKEY* key,
	const struct ig_feed_stmt* st, char* err, size_t errlen);

/** a set of trusted publisher keys */
struct ig_keyring {
	/** key ids */
	char (*id)[17];
	/** key names from the configuration */
	char** name;
	/** the keys */
	EVP_PKEY** key;
	/** count */
	int n;
};

/** Add a public key under a name.  @return 1/0 (err set). */
int ig_keyring_add(struct ig_keyring* kr, const char* name, const char* path,
	char* err, size_t errlen);

/** Free the keys. */
void ig_keyring_free(struct ig_keyring* kr);

/**
 * Check a signature file and the signed statement in it.
 * @param sig, siglen: the contents of the signature file.
 * @param kr: trusted keys; only the key names in allowed (NULL: any) may
 *	sign.
 * @param out: the statement, when the signature is good.
 * @param code: out, "malformed", "unknown_key" or "bad_signature".
 * @return 1 good, 0 refused.
 */
int ig_feed_sig_check(const uint8_t* sig, size_t siglen,
	const struct ig_keyring* kr, char* const* allowed, int nallowed,
	struct ig_feed_stmt* out, const char** code, char* err,
	size_t errlen);

/** SHA-256 of a file and its size.  @return 1/0. */
int ig_file_sha256(const char* path, uint8_t out[32], uint64_t* size);

/** hex of n bytes into out (2n+1 bytes) */
char* ig_hex(const uint8_t* b, size_t n, char* out);

/* ------------------------------------------------------------------ */
/* Reading                                                             */

/** a feed file mapped for reading */
struct ig_feed_reader {
	/** the mapped bytes */
	const uint8_t* p;
	/** size */
	size_t len;
	/** cursor of the record walk */
	size_t pos;
	/** header fields */
	uint32_t version;
	/** kind */
	Icpguard__Feed__Kind kind;
	/** serials */
	uint64_t serial, base;
	/** creation time */
	int64_t created;
	/** record count after applying */
	uint64_t record_count;
	/** records (fields 10..15) and removals (20, 21) seen */
	uint64_t nrecords, nremoved;
	/** bytes before this offset were given back to the kernel */
	size_t dropped;
	/** bytes mapped in ahead of the cursor so far (feed_ahead); -1
	 * when the kernel cannot (before Linux 5.14) */
	size_t ready;
	/** a file still being written (ig_feed_open_growing), else NULL:
	 * len is then the bytes written so far, at most maplen */
	struct growing* grow;
	/** the size mapped (the signed size) */
	size_t maplen;
	/** the writer is done: len is all there will be */
	int ended;
	/** the walk met a field that does not parse (growing files: found
	 * as the records are read), at byte bad_at */
	int bad;
	size_t bad_at;
};

/**
 * Map a feed file and read its header fields; checks that the top-level
 * structure is complete (a truncated file fails here).
 * @param code: out, "malformed" on failure.
 * @return 1/0.
 */
int ig_feed_open(struct ig_feed_reader* r, const char* path,
	const char** code, char* err, size_t errlen);

/**
 * Map a feed file that a download is still writing (loader/growing.h) and
 * read its header fields, waiting for their bytes; the records are read
 * as they arrive (ig_feed_next waits for them).  Nothing walks the file
 * first: the caller checks the structure after the walk (r->bad), the
 * record count (r->nrecords against r->record_count) and the download's
 * digest before it keeps anything read.  Header fields must precede the
 * records (as ig_feed_write_begin writes them).  The reader's thread.
 * @param size: the signed size: at most this much is mapped and read.
 * @param grow: the download's progress; must outlive the reader.
 * @param code: out, "malformed" on failure, "download" when the download
 *	ended without the header.
 * @return 1/0.
 */
int ig_feed_open_growing(struct ig_feed_reader* r, const char* path,
	uint64_t size, struct growing* grow, const char** code, char* err,
	size_t errlen);

/**
 * Next record or removal.
 * @param field: out, the Feed field number (10..15 records, 20..21
 *	removals).
 * @param data, len: out, the record's packed bytes (unpack with the
 *	message's unpack function) or the removal key text (not NUL
 *	terminated).
 * @return 1 while there is one, 0 at the end (of a growing file: the
 *	download's end, or a field that does not parse: r->bad).
 */
int ig_feed_next(struct ig_feed_reader* r, unsigned* field,
	const uint8_t** data, size_t* len);

/** Unmap. */
void ig_feed_close(struct ig_feed_reader* r);

/* ------------------------------------------------------------------ */
/* Writing                                                             */

/** a feed file being written: header, then records one by one */
struct ig_feed_writer {
	/** the stream (a temporary file) */
	FILE* out;
	/** running digest */
	EVP_MD_CTX* md;
	/** bytes written */
	uint64_t size;
	/** temporary and final path */
	char* tmp, *path;
	/** 1 after a write error */
	int failed;
};

/**
 * Start a feed file at path (written to path.tmp until finished) with
 * the header of hdr (its repeated fields are ignored).
 * @return 1/0.
 */
int ig_feed_write_begin(struct ig_feed_writer* w, const char* path,
	const Icpguard__Feed__Feed* hdr, char* err, size_t errlen);

/** Append one packed record (or removal text) as field number field. */
void ig_feed_write_field(struct ig_feed_writer* w, unsigned field,
	const void* data, size_t len);

/** Append a message as field number field (packs it). */
void ig_feed_write_msg(struct ig_feed_writer* w, unsigned field,
	const ProtobufCMessage* m);

/**
 * Finish: flush, fsync, rename into place.
 * @param size, sha256: out, the file's size and digest.
 * @return 1/0 (the temporary is removed on failure).
 */
int ig_feed_write_end(struct ig_feed_writer* w, uint64_t* size,
	uint8_t sha256[32], char* err, size_t errlen);

/** Abandon a feed file being written. */
void ig_feed_write_abort(struct ig_feed_writer* w);

/* ------------------------------------------------------------------ */
/* Record keys                                                         */

/**
 * The storage key of a record key text: a name key for names (domains,
 * blacklist names, TLDs), 32 address bytes (first, last) for ranges, the
 * bytes of an id for registrars.
 * @param field: the record's Feed field (10..15), or for removals the
 *	record field they remove (removed_regdomains: 12).
 * @param key: out, IG_FEED_KEY_MAX bytes; *keylen its length.
 * @return 1, or 0 when the text is not a valid key of that kind.
 */
int ig_feed_key(unsigned field, const char* text, uint8_t* key,
	size_t* keylen);

/**
 * A bump allocator for decoding records one at a time without malloc: a
 * loop that decodes millions of records (the feed's check, the loader's
 * prewrite and publish) resets it before each record instead of freeing
 * the message.  What does not fit its buffer comes from malloc and goes
 * back at the reset.  One thread uses an arena at a time.
 */
struct ig_unpack_arena {
	/** give this to the unpack (allocator_data points at the arena) */
	ProtobufCAllocator allocator;
	/** the buffer and how much of it is used */
	uint8_t* buf;
	size_t cap, used;
	/** blocks that did not fit, freed at the reset */
	void** big;
	size_t nbig, capbig;
};

/** Set up an arena (its buffer comes at the first use). */
void ig_unpack_arena_init(struct ig_unpack_arena* a);

/** Forget every message decoded with it (they must not be used again). */
void ig_unpack_arena_reset(struct ig_unpack_arena* a);

/** Free the arena's memory. */
void ig_unpack_arena_free(struct ig_unpack_arena* a);

/**
 * Unpack one record of a feed file.
 * @param field: its Feed field number (10..15).
 * @param arena: decode into it (the message lives until its reset), or
 *	NULL: malloc (protobuf_c_message_free_unpacked the message).
 * @param keytext: out, the record's key field (points into the result;
 *	NULL when the record lacks it).
 * @return the message, or NULL when the bytes do not decode.
 */
ProtobufCMessage* ig_feed_record_unpack(unsigned field, const uint8_t* data,
	size_t len, struct ig_unpack_arena* arena, const char** keytext);

/** Write a file atomically: temp + fsync + rename + dir fsync. @return 1/0 */
int ig_write_file_atomic(const char* path, const void* data, size_t len,
	char* err, size_t errlen);

/** fsync the directory holding path (best effort) */
void ig_fsync_dir_of(const char* path);

#endif /* ICPGUARD_FEED_H */
