/*
 * loader/status.c - the loader's status endpoint: GET /status (JSON) and
 * GET /metrics (Prometheus text), served by evhttp from the loader's loop.
 *
 * \file
 * Meant for a loopback address: it tells, never changes anything.
 */
#include "config.h"
#include "loader/loader.h"
#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/** the snapshot in force: serial, created, ident ("" when none) */
static int
live_info(struct loader* L, struct ig_snapshot_info* out, char* err,
	size_t errlen)
{
	struct ig_snapshot* s;
	if(!ig_snapshot_open_memo(L->cfg.snapshot, &L->status_memo, &s, err,
		errlen))
		return 0;
	*out = *ig_snapshot_info(s);
	ig_snapshot_unref(s);
	return 1;
}

/** a JSON object of code counts */
static json_t*
codes_json(const struct code_count* v, int n)
{
	json_t* o = json_object();
	int i;
	for(i = 0; i < n; i++)
		json_object_set_new(o, v[i].code, json_integer((json_int_t)
			v[i].n));
	return o;
}

/** GET /status */
static void
status_cb(struct evhttp_request* req, void* arg)
{
	struct loader* L = arg;
	struct ig_snapshot_info si;
	char err[1024];
	int64_t now = (int64_t)time(NULL);
	json_t* j, *feeds = json_object(), *snap;
	struct evbuffer* b = evbuffer_new();
	char* text;
	int i;
	if(live_info(L, &si, err, sizeof(err)))
		snap = json_pack("{s:s,s:I,s:s,s:I,s:I}", "path",
			L->cfg.snapshot, "serial", (json_int_t)si.serial,
			"ident", si.ident, "created", (json_int_t)si.created,
			"age_seconds", (json_int_t)(now - si.created));
	else snap = json_pack("{s:s,s:s}", "path", L->cfg.snapshot, "error",
		err);
	for(i = 0; i < L->nfeeds; i++) {
		struct feed_rt* f = &L->feed[i];
		struct feed_info fi;
		state_feed_get(L->state, f->kind, &fi);
		json_object_set_new(feeds, ig_feed_kind_name(f->kind), json_pack(
			"{s:I,s:I,s:I,s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:o,s:o}",
			"serial", (json_int_t)fi.serial,
			"records", (json_int_t)fi.records,
			"updated", (json_int_t)fi.updated,
			"result", f->result[0] ? f->result : "pending",
			"message", f->msg,
			"last_pull", (json_int_t)f->last_pull,
			"last_ok", (json_int_t)f->last_ok,
			"next_try", (json_int_t)f->next_try,
			"pulls", (json_int_t)f->pulls,
			"failures", (json_int_t)f->failures,
			"last_rejected", (json_int_t)f->last_rejected,
			"backoff", (json_int_t)f->backoff,
			"rejected", codes_json(f->rej, f->nrej),
			"refused", codes_json(f->refused, f->nrefused)));
	}
	j = json_pack("{s:s,s:i,s:I,s:o,s:{s:I,s:I,s:I,s:f,s:s},s:o,s:i,s:i,"
		"s:i}",
		"version", PACKAGE_VERSION, "pid", (int)getpid(), "started",
		(json_int_t)L->started, "snapshot", snap, "publish",
		"count", (json_int_t)L->publishes, "failures",
		(json_int_t)L->publish_failures, "last", (json_int_t)
		L->last_publish, "last_seconds", L->last_publish_s, "message",
		L->publish_msg, "feeds", feeds, "orders_pending",
		orders_pending(L), "orders", orders_count(L),
		"orders_quarantined", orders_quarantined(L));
	text = j ? json_dumps(j, JSON_INDENT(1) | JSON_PRESERVE_ORDER) : NULL;
	json_decref(j);
	if(!b || !text) {
		evhttp_send_error(req, 500, "out of memory");
	} else {
		evbuffer_add(b, text, strlen(text));
		evbuffer_add(b, "\n", 1);
		evhttp_add_header(evhttp_request_get_output_headers(req),
			"Content-Type", "application/json");
		evhttp_send_reply(req, 200, "OK", b);
	}
	free(text);
	if(b) evbuffer_free(b);
}

/** GET /metrics */
static void
metrics_cb(struct evhttp_request* req, void* arg)
{
	struct loader* L = arg;
	struct ig_snapshot_info si;
	char err[1024];
	int64_t now = (int64_t)time(NULL);
	struct evbuffer* b = evbuffer_new();
	int i, k, live;
	if(!b) {
		evhttp_send_error(req, 500, "out of memory");
		return;
	}
	live = live_info(L, &si, err, sizeof(err));
	evbuffer_add_printf(b,
		"# HELP icpguard_loader_snapshot_serial Serial of the snapshot in force.\n"
		"# TYPE icpguard_loader_snapshot_serial gauge\n"
		"icpguard_loader_snapshot_serial %llu\n"
		"# HELP icpguard_loader_snapshot_age_seconds Age of the snapshot in force.\n"
		"# TYPE icpguard_loader_snapshot_age_seconds gauge\n"
		"icpguard_loader_snapshot_age_seconds %lld\n"
		"# HELP icpguard_loader_publishes_total Snapshots published or failed.\n"
		"# TYPE icpguard_loader_publishes_total counter\n"
		"icpguard_loader_publishes_total{result=\"ok\"} %llu\n"
		"icpguard_loader_publishes_total{result=\"failed\"} %llu\n"
		"# HELP icpguard_loader_publish_duration_seconds Wall time of publishes.\n"
		"# TYPE icpguard_loader_publish_duration_seconds summary\n"
		"icpguard_loader_publish_duration_seconds_sum %.6f\n"
		"icpguard_loader_publish_duration_seconds_count %llu\n"
		"# HELP icpguard_loader_publish_last_duration_seconds Wall time of the last publish.\n"
		"# TYPE icpguard_loader_publish_last_duration_seconds gauge\n"
		"icpguard_loader_publish_last_duration_seconds %.6f\n"
		"# HELP icpguard_loader_publish_max_duration_seconds Longest publish since start.\n"
		"# TYPE icpguard_loader_publish_max_duration_seconds gauge\n"
		"icpguard_loader_publish_max_duration_seconds %.6f\n"
		"# HELP icpguard_loader_orders_pending Orders received, not yet published.\n"
		"# TYPE icpguard_loader_orders_pending gauge\n"
		"icpguard_loader_orders_pending %d\n"
		"# HELP icpguard_loader_orders_quarantined Journal entries skipped at start.\n"
		"# TYPE icpguard_loader_orders_quarantined gauge\n"
		"icpguard_loader_orders_quarantined %d\n"
		"# HELP icpguard_loader_orders_in_force Orders published, in effect, not lifted or expired.\n"
		"# TYPE icpguard_loader_orders_in_force gauge\n"
		"icpguard_loader_orders_in_force %d\n",
		live ? (unsigned long long)si.serial : 0ULL,
		live ? (long long)(now - si.created) : -1LL,
		(unsigned long long)L->publishes,
		(unsigned long long)L->publish_failures, L->publish_s_sum,
		(unsigned long long)L->publishes, L->last_publish_s,
		L->publish_s_max, orders_pending(L), orders_quarantined(L),
		orders_in_force(L, now));
	evbuffer_add_printf(b,
		"# HELP icpguard_loader_feed_serial Serial in force per feed.\n"
		"# TYPE icpguard_loader_feed_serial gauge\n"
		"# HELP icpguard_loader_feed_records Records in force per feed.\n"
		"# TYPE icpguard_loader_feed_records gauge\n"
		"# HELP icpguard_loader_feed_last_pull_timestamp_seconds Last pull attempt.\n"
		"# TYPE icpguard_loader_feed_last_pull_timestamp_seconds gauge\n"
		"# HELP icpguard_loader_feed_last_success_timestamp_seconds Last good pull.\n"
		"# TYPE icpguard_loader_feed_last_success_timestamp_seconds gauge\n"
		"# HELP icpguard_loader_feed_up 1 when the last pull was good.\n"
		"# TYPE icpguard_loader_feed_up gauge\n"
		"# HELP icpguard_loader_feed_pulls_total Pull attempts.\n"
		"# TYPE icpguard_loader_feed_pulls_total counter\n"
		"# HELP icpguard_loader_feed_refused_total Feed files or pulls refused, by reason.\n"
		"# TYPE icpguard_loader_feed_refused_total counter\n"
		"# HELP icpguard_loader_records_rejected_total Records rejected, by reason.\n"
		"# TYPE icpguard_loader_records_rejected_total counter\n");
	for(i = 0; i < L->nfeeds; i++) {
		struct feed_rt* f = &L->feed[i];
		struct feed_info fi;
		const char* n = ig_feed_kind_name(f->kind);
		state_feed_get(L->state, f->kind, &fi);
		evbuffer_add_printf(b,
			"icpguard_loader_feed_serial{feed=\"%s\"} %llu\n"
			"icpguard_loader_feed_records{feed=\"%s\"} %llu\n"
			"icpguard_loader_feed_last_pull_timestamp_seconds{feed=\"%s\"} %lld\n"
			"icpguard_loader_feed_last_success_timestamp_seconds{feed=\"%s\"} %lld\n"
			"icpguard_loader_feed_up{feed=\"%s\"} %d\n"
			"icpguard_loader_feed_pulls_total{feed=\"%s\"} %llu\n",
			n, (unsigned long long)fi.serial, n,
			(unsigned long long)fi.records, n,
			(long long)f->last_pull, n, (long long)f->last_ok, n,
			strcmp(f->result, "ok") == 0, n,
			(unsigned long long)f->pulls);
		for(k = 0; k < f->nrefused; k++)
			evbuffer_add_printf(b, "icpguard_loader_feed_refused_"
				"total{feed=\"%s\",reason=\"%s\"} %llu\n", n,
				f->refused[k].code,
				(unsigned long long)f->refused[k].n);
		for(k = 0; k < f->nrej; k++)
			evbuffer_add_printf(b, "icpguard_loader_records_"
				"rejected_total{feed=\"%s\",reason=\"%s\"} "
				"%llu\n", n, f->rej[k].code,
				(unsigned long long)f->rej[k].n);
	}
	evhttp_add_header(evhttp_request_get_output_headers(req),
		"Content-Type", "text/plain; version=0.0.4");
	evhttp_send_reply(req, 200, "OK", b);
	evbuffer_free(b);
}

/** anything else */
static void
other_cb(struct evhttp_request* req, void* arg)
{
	struct loader* L = (struct loader*)arg;
	if(orders_http_other(L, req)) return;
	evhttp_send_error(req, 404, "try /status, /metrics or /orders");
}

int
status_start(struct loader* L, char* err, size_t errlen)
{
	char host[256];
	const char* colon = strrchr(L->cfg.status_listen, ':');
	size_t hl = (size_t)(colon - L->cfg.status_listen);
	int port = atoi(colon + 1);
	if(hl >= sizeof(host)) hl = sizeof(host) - 1;
	memcpy(host, L->cfg.status_listen, hl);
	host[hl] = 0;
	if(host[0] == '[' && hl > 2 && host[hl-1] == ']') {
		memmove(host, host + 1, hl - 2);
		host[hl-2] = 0;
	}
	if(!(L->http = evhttp_new(L->base))) {
		snprintf(err, errlen, "status: cannot make an HTTP server");
		return 0;
	}
	evhttp_set_allowed_methods(L->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD);
	evhttp_set_cb(L->http, "/status", status_cb, L);
	evhttp_set_cb(L->http, "/metrics", metrics_cb, L);
	evhttp_set_gencb(L->http, other_cb, L);
	if(L->orders) orders_http_register(L, L->http);
	if(evhttp_bind_socket(L->http, host, (unsigned short)port) != 0) {
		snprintf(err, errlen, "status: cannot listen on %s",
			L->cfg.status_listen);
		evhttp_free(L->http);
		L->http = NULL;
		return 0;
	}
	return 1;
}

void
status_stop(struct loader* L)
{
	if(L->http) evhttp_free(L->http);
	L->http = NULL;
}
