/*
 * tools/submit.h - sending a signed order envelope to icpguard-loader.
 *
 * \file
 * Shared by the full tool (`icpguard order add|lift`, tools/cmd_order.c)
 * and the command's front (tools/front.c), which submits an envelope
 * the administration signed without loading the full tool.
 */
#ifndef ICPGUARD_SUBMIT_H
#define ICPGUARD_SUBMIT_H
#include <jansson.h>

/** the loader's status address when --loader is not given */
#define IG_LOADER_URL_DEFAULT "http://127.0.0.1:8053"

/**
 * POST env (an envelope, loader/order.h) to LOADER/orders; prints the
 * loader's answer on stdout and why it refused on stderr.
 * Single-threaded (one blocking request, tools/http_client.h); env stays
 * the caller's.
 * @return the exit code: 0 accepted (journaled and in force), 1 refused
 *	or journaled but not in force (HTTP 503), 2 no answer.
 */
int ig_order_submit(const char* loader, json_t* env);

#endif /* ICPGUARD_SUBMIT_H */
