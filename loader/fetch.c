/*
 * loader/fetch.c - get one URL into a file or memory, asynchronously.
 *
 * \file
 * See fetch.h.  One evhttp connection per fetch (feeds are few and
 * large); the body is streamed to its file by the chunk callback, so a
 * gigabyte feed never sits in memory.
 */
#include "config.h"
#include "loader/fetch.h"
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

/** most bytes kept in memory */
#define FETCH_MEM_MAX (16u << 20)
/** a file body is written in pieces of this size (take_body) */
#define FETCH_STAGE ((size_t)1 << 20)

/** one fetch in flight */
struct fetch {
	/** loop */
	struct event_base* base;
	/** the connection (http) */
	struct evhttp_connection* conn;
	/** parsed URL */
	struct evhttp_uri* uri;
	/** destination file, -1 for memory */
	int fd;
	/** memory body */
	struct evbuffer* mem;
	/** the digest of the file body as it is written */
	EVP_MD_CTX* md;
	/** told of the file's growth and end (fetch_start), or NULL */
	struct growing* grow;
	/** a file body's bytes not written yet (FETCH_STAGE) */
	uint8_t* stage;
	size_t staged;
	/** callback */
	fetch_cb cb;
	/** its argument */
	void* arg;
	/** the result being built */
	struct fetch_result res;
	/** the transport error libevent reported, if any */
	int reqerr;
	/** the body overflowed memory or a write failed */
	int bodyfail;
	/** the list of fetches not yet freed (in flight or finishing) */
	struct fetch* prev, *next;
};

/** every fetch not yet freed, for fetch_free_all (one loop thread) */
static struct fetch* fetch_list;

/** free everything of a fetch (from the loop, after the callback) */
static void
fetch_free(evutil_socket_t fd, short what, void* arg)
{
	struct fetch* f = arg;
	(void)fd; (void)what;
	/* freed before its end (fetch_free_all at a stop): failed */
	if(f->grow) growing_end(f->grow, 0, 0, NULL);
	if(f->prev) f->prev->next = f->next;
	else if(fetch_list == f) fetch_list = f->next;
	if(f->next) f->next->prev = f->prev;
	if(f->conn) evhttp_connection_free(f->conn);
	if(f->uri) evhttp_uri_free(f->uri);
	if(f->fd >= 0) close(f->fd);
	if(f->mem) evbuffer_free(f->mem);
	free(f->stage);
	EVP_MD_CTX_free(f->md);
	free(f->res.body);
	free(f);
}

/** report and schedule the free */
static void
fetch_finish(struct fetch* f)
{
	struct timeval now = { 0, 0 };
	/* a file body is not fsynced: it is a download in the state's dl
	 * directory, verified against its signed digest, applied and
	 * deleted; after a crash the loader deletes it at start and pulls
	 * again (loader_cleanup), so its durability buys nothing */
	if(f->res.ok && f->md && !EVP_DigestFinal_ex(f->md, f->res.sha256,
		NULL)) {
		f->res.ok = 0;
		snprintf(f->res.err, sizeof(f->res.err), "sha256 failed");
	}
	if(f->res.ok && f->mem) {
		f->res.len = evbuffer_get_length(f->mem);
		if((f->res.body = malloc(f->res.len + 1))) {
			evbuffer_remove(f->mem, f->res.body, f->res.len);
			f->res.body[f->res.len] = 0;
		} else {
			f->res.ok = 0;
			snprintf(f->res.err, sizeof(f->res.err),
				"out of memory");
		}
	}
	if(f->grow) {
		/* the reader learns the end before the callback, which may
		 * wait for the reader */
		growing_end(f->grow, f->res.ok && !f->res.not_modified &&
			f->res.status == 200, f->res.size, f->res.sha256);
		f->grow = NULL;
	}
	f->cb(&f->res, f->arg);
	event_base_once(f->base, -1, EV_TIMEOUT, fetch_free, f, &now);
}

/** write the staged bytes of a file body, digest them, tell the reader
 * of a growing file; @return 0 when the write failed */
static int
stage_flush(struct fetch* f)
{
	size_t off = 0;
	while(off < f->staged) {
		ssize_t n = write(f->fd, f->stage + off, f->staged - off);
		if(n <= 0) {
			if(n < 0 && errno == EINTR) continue;
			return 0;
		}
		off += (size_t)n;
	}
	EVP_DigestUpdate(f->md, f->stage, f->staged);
	f->res.size += (uint64_t)f->staged;
	if(f->grow) growing_add(f->grow, (uint64_t)f->staged);
	f->staged = 0;
	return 1;
}

/** move what arrived into the file or memory.  A file body is staged in
 * FETCH_STAGE bytes and written when they are full (libevent reads 4 KiB
 * at a time: a write, a digest update and a reader's wake-up per read
 * cost more than the copy into the stage) */
static void
take_body(struct fetch* f, struct evbuffer* in)
{
	if(f->bodyfail) {
		evbuffer_drain(in, evbuffer_get_length(in));
		return;
	}
	if(f->fd < 0) {
		if(evbuffer_get_length(f->mem) + evbuffer_get_length(in) >
			FETCH_MEM_MAX)
			f->bodyfail = 1;
		else evbuffer_add_buffer(f->mem, in);
		return;
	}
	while(evbuffer_get_length(in) > 0) {
		int n = evbuffer_remove(in, f->stage + f->staged,
			FETCH_STAGE - f->staged);
		if(n <= 0) {
			f->bodyfail = 1;
			break;
		}
		f->staged += (size_t)n;
		if(f->staged == FETCH_STAGE && !stage_flush(f)) {
			f->bodyfail = 1;
			break;
		}
	}
	if(f->bodyfail) evbuffer_drain(in, evbuffer_get_length(in));
}

/** evhttp: a piece of the body */
static void
chunk_cb(struct evhttp_request* req, void* arg)
{
	struct fetch* f = arg;
	if(evhttp_request_get_response_code(req) == 200)
		take_body(f, evhttp_request_get_input_buffer(req));
}

/** evhttp: the transport failed */
static void
error_cb(enum evhttp_request_error e, void* arg)
{
	struct fetch* f = arg;
	f->reqerr = (int)e + 1;
}

/** text of a libevent request error */
static const char*
reqerr_text(int e)
{
	switch(e - 1) {
	case EVREQ_HTTP_TIMEOUT: return "timed out";
	case EVREQ_HTTP_EOF: return "connection closed early";
	case EVREQ_HTTP_INVALID_HEADER: return "invalid header";
	case EVREQ_HTTP_BUFFER_ERROR: return "buffer error";
	case EVREQ_HTTP_REQUEST_CANCEL: return "cancelled";
	case EVREQ_HTTP_DATA_TOO_LONG: return "body too long";
	default: return "connection failed";
	}
}

/** evhttp: the request is over */
static void
done_cb(struct evhttp_request* req, void* arg)
{
	struct fetch* f = arg;
	struct fetch_result* r = &f->res;
	const char* h;
	int code = req ? evhttp_request_get_response_code(req) : 0;
	r->status = code;
	if(!req || code == 0) {
		char tls[256] = "";
		struct bufferevent* bev = f->conn ?
			evhttp_connection_get_bufferevent(f->conn) : NULL;
		SSL* ssl = bev ? bufferevent_openssl_get_ssl(bev) : NULL;
		if(ssl) {
			unsigned long e = bufferevent_get_openssl_error(bev);
			long v = SSL_get_verify_result(ssl);
			if(v != X509_V_OK)
				snprintf(tls, sizeof(tls), ": TLS: certificate "
					"not accepted: %s",
					X509_verify_cert_error_string(v));
			else if(e)
				snprintf(tls, sizeof(tls), ": TLS: %s",
					ERR_reason_error_string(e) ?
					ERR_reason_error_string(e) : "error");
		}
		snprintf(r->err, sizeof(r->err), "%s%s",
			f->reqerr ? reqerr_text(f->reqerr) : "connection failed",
			tls);
		fetch_finish(f);
		return;
	}
	if(code == 304) {
		r->ok = r->not_modified = 1;
	} else if(code == 200) {
		take_body(f, evhttp_request_get_input_buffer(req));
		if(f->fd >= 0 && !f->bodyfail && !stage_flush(f))
			f->bodyfail = 1;
		if(f->bodyfail) {
			snprintf(r->err, sizeof(r->err), f->fd < 0 ?
				"body larger than %u bytes" : "write failed",
				FETCH_MEM_MAX);
		} else r->ok = 1;
	} else {
		snprintf(r->err, sizeof(r->err), "HTTP %d %s", code,
			evhttp_request_get_response_code_line(req) ?
			evhttp_request_get_response_code_line(req) : "");
	}
	if((h = evhttp_find_header(evhttp_request_get_input_headers(req),
		"ETag")))
		snprintf(r->etag, sizeof(r->etag), "%s", h);
	if((h = evhttp_find_header(evhttp_request_get_input_headers(req),
		"Last-Modified")))
		snprintf(r->lastmod, sizeof(r->lastmod), "%s", h);
	fetch_finish(f);
}

/** file:// from the loop */
static void
file_cb(evutil_socket_t fd, short what, void* arg)
{
	struct fetch* f = arg;
	(void)fd; (void)what;
	fetch_finish(f);
}

/** do a file:/// fetch now, report from the loop */
static int
fetch_file(struct fetch* f, const char* path, const char* etag)
{
	struct stat st;
	struct timeval now = { 0, 0 };
	int in;
	char buf[1 << 16];
	ssize_t n = 0;
	if((in = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(in, &st) != 0)
	{
		snprintf(f->res.err, sizeof(f->res.err), "%s: %s", path,
			strerror(errno));
		if(in >= 0) close(in);
		in = -1;
	} else {
		snprintf(f->res.etag, sizeof(f->res.etag), "\"%lld.%09ld-%lld\"",
			(long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
			(long long)st.st_size);
		if(etag && !strcmp(etag, f->res.etag)) {
			f->res.ok = f->res.not_modified = 1;
			f->res.status = 304;
		} else {
			f->res.status = 200;
			while(!f->bodyfail && (n = f->fd >= 0 ? read(in,
				f->stage, FETCH_STAGE) : read(in, buf,
				sizeof(buf))) > 0) {
				if(f->fd >= 0) {
					f->staged = (size_t)n;
					if(!stage_flush(f)) f->bodyfail = 1;
				} else if(evbuffer_get_length(f->mem) + (size_t)n
					> FETCH_MEM_MAX) {
					f->bodyfail = 1;
				} else evbuffer_add(f->mem, buf, (size_t)n);
			}
			if(n < 0 || f->bodyfail)
				snprintf(f->res.err, sizeof(f->res.err),
					"%s: read or write failed", path);
			else f->res.ok = 1;
		}
		close(in);
	}
	return event_base_once(f->base, -1, EV_TIMEOUT, file_cb, f, &now) == 0;
}

SSL_CTX*
fetch_tls_context(const char* ca, char* err, size_t errlen)
{
	SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
	if(!ctx) {
		snprintf(err, errlen, "cannot make a TLS context");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if((ca && *ca) ? SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1 :
		SSL_CTX_set_default_verify_paths(ctx) != 1) {
		snprintf(err, errlen, "cannot load CA certificates %s",
			ca && *ca ? ca : "(system default)");
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

int
fetch_start(struct event_base* base, SSL_CTX* ssl, const char* url,
	const char* dest, const char* etag, const char* lastmod, int timeout,
	struct growing* grow, fetch_cb cb, void* arg, char* err, size_t errlen)
{
	struct fetch* f = calloc(1, sizeof(*f));
	struct evhttp_request* req;
	struct evkeyvalq* out;
	const char* host, *path, *query, *scheme;
	char target[4096], hosthdr[300];
	int port, https;
	if(!f) {
		snprintf(err, errlen, "out of memory");
		return 0;
	}
	f->base = base;
	f->cb = cb;
	f->arg = arg;
	f->fd = -1;
	f->next = fetch_list;
	if(fetch_list) fetch_list->prev = f;
	fetch_list = f;
	if(dest) {
		f->fd = open(dest, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
			O_NOFOLLOW, 0600);
		if(f->fd < 0) {
			snprintf(err, errlen, "%s: %s", dest, strerror(errno));
			fetch_free(-1, 0, f);
			return 0;
		}
		if(!(f->stage = malloc(FETCH_STAGE))) {
			snprintf(err, errlen, "out of memory");
			fetch_free(-1, 0, f);
			return 0;
		}
		if(!(f->md = EVP_MD_CTX_new()) ||
			!EVP_DigestInit_ex(f->md, EVP_sha256(), NULL)) {
			snprintf(err, errlen, "sha256 unavailable");
			fetch_free(-1, 0, f);
			return 0;
		}
		f->grow = grow; /* the file exists: a reader may open it */
	} else if(!(f->mem = evbuffer_new())) {
		snprintf(err, errlen, "out of memory");
		fetch_free(-1, 0, f);
		return 0;
	}
	if(!strncmp(url, "file://", 7)) {
		if(!fetch_file(f, url + 7, etag)) {
			snprintf(err, errlen, "cannot schedule");
			fetch_free(-1, 0, f);
			return 0;
		}
		return 1;
	}
	if(!(f->uri = evhttp_uri_parse(url)) ||
		!(scheme = evhttp_uri_get_scheme(f->uri)) ||
		!(host = evhttp_uri_get_host(f->uri))) {
		snprintf(err, errlen, "%s: not a URL", url);
		fetch_free(-1, 0, f);
		return 0;
	}
	https = !strcmp(scheme, "https");
	if((port = evhttp_uri_get_port(f->uri)) < 0) port = https ? 443 : 80;
	path = evhttp_uri_get_path(f->uri);
	query = evhttp_uri_get_query(f->uri);
	snprintf(target, sizeof(target), "%s%s%s", path && *path ? path : "/",
		query ? "?" : "", query ? query : "");
	if(https) {
		SSL* s;
		struct bufferevent* bev;
		if(!ssl || !(s = SSL_new(ssl))) {
			snprintf(err, errlen, "%s: no TLS context", url);
			fetch_free(-1, 0, f);
			return 0;
		}
		/* the certificate must name the host: an IP address in
		 * the URL is checked against IP SANs, a name against DNS
		 * names (and sent as SNI) */
		if(X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(s), host) != 1)
		{
			SSL_set_tlsext_host_name(s, host);
			X509_VERIFY_PARAM_set1_host(SSL_get0_param(s), host, 0);
		}
		bev = bufferevent_openssl_socket_new(base, -1, s,
			BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE |
			BEV_OPT_DEFER_CALLBACKS);
		if(!bev) {
			SSL_free(s);
			snprintf(err, errlen, "%s: cannot make a TLS stream", url);
			fetch_free(-1, 0, f);
			return 0;
		}
		bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
		f->conn = evhttp_connection_base_bufferevent_new(base, NULL, bev,
			host, (unsigned short)port);
	} else {
		f->conn = evhttp_connection_base_new(base, NULL, host,
			(unsigned short)port);
	}
	if(!f->conn || !(req = evhttp_request_new(done_cb, f))) {
		snprintf(err, errlen, "%s: cannot make a request", url);
		fetch_free(-1, 0, f);
		return 0;
	}
	evhttp_connection_set_timeout(f->conn, timeout);
	evhttp_request_set_chunked_cb(req, chunk_cb);
	evhttp_request_set_error_cb(req, error_cb);
	out = evhttp_request_get_output_headers(req);
	snprintf(hosthdr, sizeof(hosthdr), "%s:%d", host, port);
	evhttp_add_header(out, "Host", hosthdr);
	evhttp_add_header(out, "User-Agent", "icpguard-loader/" PACKAGE_VERSION);
	evhttp_add_header(out, "Connection", "close");
	if(etag && *etag) evhttp_add_header(out, "If-None-Match", etag);
	if(lastmod && *lastmod) evhttp_add_header(out, "If-Modified-Since",
		lastmod);
	if(evhttp_make_request(f->conn, req, EVHTTP_REQ_GET, target) != 0) {
		snprintf(err, errlen, "%s: cannot send the request", url);
		fetch_free(-1, 0, f);
		return 0;
	}
	return 1;
}

void
fetch_free_all(void)
{
	while(fetch_list)
		fetch_free(-1, 0, fetch_list);
}
