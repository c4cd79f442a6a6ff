/*
 * tools/http_client.h - a blocking HTTP request for the command-line
 * tools (libevent's evhttp client, one request per call).
 *
 * \file
 * Single-threaded; each call makes its own event base.
 */
#ifndef ICPGUARD_HTTP_CLIENT_H
#define ICPGUARD_HTTP_CLIENT_H
#include <stddef.h>

/**
 * Make one request.
 * @param method: "GET" or "POST".
 * @param url: http://HOST:PORT/PATH.
 * @param body: request body for POST (NULL for none).
 * @param status: out, HTTP status (0 when no answer).
 * @param resp: out, the response body, malloc'ed, NUL-terminated.
 * @param err, errlen: on failure why.
 * @return 1 an answer came (any status), 0 no answer.
 */
int ig_http_request(const char* method, const char* url, const char* body,
	int timeout_s, int* status, char** resp, char* err, size_t errlen);

#endif /* ICPGUARD_HTTP_CLIENT_H */
