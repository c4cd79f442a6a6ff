/*
 * loader/fetch.h - get one URL into a file or memory, asynchronously.
 *
 * \file
 * http:// and https:// through libevent's evhttp client (https over a
 * bufferevent_openssl with certificate and host name verification),
 * file:/// by plain reads.  Conditional GET: pass the ETag and
 * Last-Modified of the previous answer; a 304 (or, for file://, the same
 * modification time and size) comes back as not modified.  The callback
 * runs from the event loop, once, after the request is over; the fetch
 * frees itself after the callback returns.
 */
#ifndef ICPGUARD_LOADER_FETCH_H
#define ICPGUARD_LOADER_FETCH_H
#include <stddef.h>
#include <event2/event.h>
#include <openssl/ssl.h>
#include "loader/growing.h"

/** the outcome of a fetch */
struct fetch_result {
	/** 1 got the body, 0 failed (err says why) */
	int ok;
	/** 1 not modified (ok is 1 too, no body) */
	int not_modified;
	/** HTTP status (200, 304, 404...), 0 for a transport failure */
	int status;
	/** validators of the answer ("" none) */
	char etag[256], lastmod[128];
	/** body, when fetched to memory (NUL-terminated, freed after the
	 * callback) */
	char* body;
	/** body length */
	size_t len;
	/** a body fetched to a file: its SHA-256 and size, digested as it
	 * was written (the caller need not read the file again) */
	uint8_t sha256[32];
	/** bytes written to the file */
	uint64_t size;
	/** why it failed */
	char err[512];
};

/** called once when a fetch is over */
typedef void (*fetch_cb)(const struct fetch_result* r, void* arg);

/**
 * Start fetching url.
 * @param dest: file to write the body to (created, replaced), or NULL
 *	to keep the body in memory (at most 16 MiB).
 * @param etag, lastmod: validators for a conditional GET, or NULL.
 * @param ssl: TLS context for https (NULL: https fails).
 * @param timeout: seconds for the whole request.
 * @param grow: with dest, told of every write of the body to dest and of
 *	the end (before cb runs: complete with the size and digest for a
 *	200 body, else failed), so that another thread can read the file as
 *	it grows (loader/growing.h); NULL none.  The caller owns it; it must
 *	live until cb has run (or fetch_free_all, which ends it as failed).
 * @return 1 started (cb will run), 0 not started (cb will not run; err;
 *	grow may have been ended as failed).
 * The loop's thread.
 */
int fetch_start(struct event_base* base, SSL_CTX* ssl, const char* url,
	const char* dest, const char* etag, const char* lastmod, int timeout,
	struct growing* grow, fetch_cb cb, void* arg, char* err,
	size_t errlen);

/** A TLS client context verifying peers (ca: CA file, "" system). */
SSL_CTX* fetch_tls_context(const char* ca, char* err, size_t errlen);

/**
 * Free every fetch still in flight or waiting to be freed, without calling
 * its callback (a loader stopping with downloads in flight drops them).
 * Call after the loop stopped, before event_base_free.  Loop thread.
 */
void fetch_free_all(void);

#endif /* ICPGUARD_LOADER_FETCH_H */
