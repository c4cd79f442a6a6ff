/*
 * loader/orders.h - takedown orders in the loader: intake, journal, the
 * order snapshot.
 *
 * \file
 * An order arrives as a signed envelope (loader/order.h) in an HTTP POST
 * to /orders on the status server.  It is verified (a key named by
 * `order-keys:`), validated, appended to STATE_DIR/orders.journal and
 * fsync'ed; only then is it acknowledged.  Every change publishes the
 * order snapshot (`orders-snapshot:`) at once: a small snapshot with all
 * orders, which the module reads beside the main one, so an order never
 * waits for a rebuild of the filings.  At start the journal is replayed
 * and the order snapshot published again when it lags.
 *   POST /orders          add or lift (the envelope's op); 200 accepted
 *                         and in force ("in_force": true); 4xx refused
 *                         with {"error": code, "reason": ...} and nothing
 *                         journaled (422 "too_large": a field over its
 *                         limit in lib/limits.h); 503 "not_in_force":
 *                         journaled, the order snapshot not published
 *                         A re-sent message already in force is answered
 *                         200 from the table, not journaled again.
 *   GET  /orders          every order with its execution record
 *   GET  /orders/ID       one order
 * All of it runs in the loader's event loop thread.
 */
#ifndef ICPGUARD_LOADER_ORDERS_H
#define ICPGUARD_LOADER_ORDERS_H
#include <event2/http.h>

struct loader;
struct loader_orders;

/**
 * Open the journal, replay it and publish the order snapshot if it lags.
 * Does nothing when no orders-snapshot is configured.
 * @return 1/0 (err set).
 */
int orders_open(struct loader* L, char* err, size_t errlen);

/** Close the journal and free the orders. */
void orders_close(struct loader* L);

/** Register the /orders handlers on the status server. */
void orders_http_register(struct loader* L, struct evhttp* http);

/** Handle a request whose path starts with /orders/ (from the generic
 * callback).  @return 1 handled, 0 not an orders path. */
int orders_http_other(struct loader* L, struct evhttp_request* req);

/** Orders in the journal (for /status and /metrics). */
int orders_count(struct loader* L);

/** Orders in force at now: published, effective, neither lifted nor
 * expired (the gauge icpguard_loader_orders_in_force of /metrics). */
int orders_in_force(struct loader* L, time_t now);

/** Orders (adds or lifts) received and journaled but not yet in the
 * order snapshot in force (for /status and /metrics). */
int orders_pending(struct loader* L);

/** Journal entries skipped at start because they fail the order checks
 * (copied to STATE_DIR/quarantine/orders.jsonl). */
int orders_quarantined(struct loader* L);

#endif /* ICPGUARD_LOADER_ORDERS_H */
