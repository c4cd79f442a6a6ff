/*
 * tools/http_client.c - a blocking HTTP request for the tools.
 *
 * \file
 * See http_client.h.
 */
#include "config.h"
#include "tools/http_client.h"
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/** the answer being collected */
struct answer {
	/** status, 0 none */
	int status;
	/** body */
	char* body;
	/** the loop */
	struct event_base* base;
};

/** request done (or failed: req NULL) */
static void
done_cb(struct evhttp_request* req, void* arg)
{
	struct answer* a = (struct answer*)arg;
	if(req && evhttp_request_get_response_code(req) > 0) {
		struct evbuffer* b = evhttp_request_get_input_buffer(req);
		size_t n = evbuffer_get_length(b);
		a->status = evhttp_request_get_response_code(req);
		a->body = malloc(n + 1);
		if(a->body) {
			evbuffer_remove(b, a->body, n);
			a->body[n] = 0;
		}
	}
	event_base_loopexit(a->base, NULL);
}

int
ig_http_request(const char* method, const char* url, const char* body,
	int timeout_s, int* status, char** resp, char* err, size_t errlen)
{
	struct evhttp_uri* u = evhttp_uri_parse(url);
	struct evhttp_connection* c = NULL;
	struct evhttp_request* req;
	struct answer a;
	char path[2048];
	const char* host;
	int port, ok = 0;
	memset(&a, 0, sizeof(a));
	*status = 0;
	*resp = NULL;
	if(!u || !(host = evhttp_uri_get_host(u)) ||
		!evhttp_uri_get_scheme(u) ||
		strcmp(evhttp_uri_get_scheme(u), "http") != 0) {
		snprintf(err, errlen, "%s: want http://HOST:PORT/PATH", url);
		goto done;
	}
	port = evhttp_uri_get_port(u) > 0 ? evhttp_uri_get_port(u) : 80;
	snprintf(path, sizeof(path), "%s%s%s", evhttp_uri_get_path(u) &&
		*evhttp_uri_get_path(u) ? evhttp_uri_get_path(u) : "/",
		evhttp_uri_get_query(u) ? "?" : "",
		evhttp_uri_get_query(u) ? evhttp_uri_get_query(u) : "");
	if(!(a.base = event_base_new()) ||
		!(c = evhttp_connection_base_new(a.base, NULL, host,
		(unsigned short)port))) {
		snprintf(err, errlen, "cannot make an HTTP connection");
		goto done;
	}
	evhttp_connection_set_timeout(c, timeout_s);
	if(!(req = evhttp_request_new(done_cb, &a))) {
		snprintf(err, errlen, "out of memory");
		goto done;
	}
	evhttp_add_header(evhttp_request_get_output_headers(req), "Host",
		host);
	if(body) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
			"Content-Type", "application/json");
		evbuffer_add(evhttp_request_get_output_buffer(req), body,
			strlen(body));
	}
	if(evhttp_make_request(c, req, strcmp(method, "POST") == 0 ?
		EVHTTP_REQ_POST : EVHTTP_REQ_GET, path) != 0) {
		snprintf(err, errlen, "%s: request failed", url);
		goto done;
	}
	event_base_dispatch(a.base);
	if(!a.status) {
		snprintf(err, errlen, "%s: no answer (is the loader running "
			"with status-listen there?)", url);
		goto done;
	}
	*status = a.status;
	*resp = a.body ? a.body : strdup("");
	a.body = NULL;
	ok = 1;
done:
	free(a.body);
	if(c) evhttp_connection_free(c);
	if(a.base) event_base_free(a.base);
	if(u) evhttp_uri_free(u);
	return ok;
}
