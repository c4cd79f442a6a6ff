/*
 * loader/loader.h - icpguard-loader: the daemon's state and its parts.
 *
 * \file
 * The daemon is one thread around a libevent loop.  A pull cycle walks
 * the configured feeds one after another: GET latest.json (conditional),
 * then the deltas from the serial in force or else the full feed, each
 * with its detached signature, into STATE_DIR/dl/; each file is verified
 * and applied to the feed state (loader/state.h) in one transaction.
 * When any feed moved, one snapshot is published (loader/publish.h).
 * Verification, applying and publishing run inside the loop callbacks, so
 * a signal (handled as a libevent signal event) is only acted on between
 * them: SIGTERM never interrupts a publish.
 *
 * The status server (loader/status.c) reads this struct from the same
 * loop.
 */
#ifndef ICPGUARD_LOADER_H
#define ICPGUARD_LOADER_H
#include <pthread.h>
#include <stdint.h>
#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>
#include "loader/conf.h"
#include "loader/feed.h"
#include "loader/publish.h"
#include "loader/state.h"
#include "loader/orders.h"
#include "loader/growing.h"

/** one feed at run time */
struct feed_rt {
	/** kind (index into the configuration by kind) */
	Icpguard__Feed__Kind kind;
	/** time of the last pull attempt, last success, next attempt */
	int64_t last_pull, last_ok, next_try;
	/** current backoff, seconds (0: none) */
	int backoff;
	/** "ok", "unchanged", or the refusal/failure code */
	char result[32];
	/** message of the last pull */
	char msg[3072];
	/** pulls, failed pulls, unchanged pulls, applied files */
	uint64_t pulls, failures, unchanged, applied;
	/** records rejected by the last applied file */
	uint64_t last_rejected;
	/** rejected records by reason, since start */
	struct code_count rej[LOADER_MAX_CODES];
	/** count */
	int nrej;
	/** refused feed files by reason, since start */
	struct code_count refused[LOADER_MAX_CODES];
	/** count */
	int nrefused;

	/* the pull in progress */
	/** the parsed latest pointer */
	json_t* latest;
	/** its validators */
	char etag[256], lastmod[128];
	/** files to get and apply (pointer entries) */
	json_t* plan;
	/** next entry */
	size_t idx;
	/** 1 after falling back from deltas to the full feed */
	int fell_back;
	/** the serial in force when the pull started */
	uint64_t start_serial;
	/** any file applied during this pull */
	int moved;
	/** when the current entry's payload download started (monotonic
	 * seconds) */
	double fetch_t0;
};

/** a feed file applied while it downloads (loader.c, apply_begin): the
 * thread runs state_apply on the growing file; the loop joins it when
 * the download ends.  The loop's thread owns the struct; the thread
 * reads o and the paths, writes r */
struct apply_run {
	/** 1 from apply_begin until apply_finish or apply_cancel */
	int active;
	/** the download's progress, shared with the fetch and the thread */
	struct growing grow;
	/** the thread (thread_on: it started; else state_apply runs when
	 * the download has ended) */
	pthread_t thread;
	int thread_on;
	/** what state_apply gets and gives */
	struct apply_opts o;
	struct apply_result r;
	/** its files and names */
	char payload[2100], sig[2100], quar[2100], shrink[2100];
	char origin[2100];
	/** the state and the kind (the thread's arguments) */
	struct loader_state* state;
	Icpguard__Feed__Kind kind;
	/** when the download ended (monotonic seconds) */
	double t_downloaded;
	/** cancelled with its download in flight: grow is destroyed after
	 * fetch_free_all (apply_cancel) */
	int grow_live;
};

/** the daemon */
struct loader {
	/** configuration in force */
	struct loader_cfg cfg;
	/** its path */
	const char* cfgpath;
	/** event loop */
	struct event_base* base;
	/** feed state */
	struct loader_state* state;
	/** trusted keys */
	struct ig_keyring keys;
	/** TLS client context (NULL until an https feed needs it) */
	SSL_CTX* ssl;
	/** feeds, in configuration order */
	struct feed_rt feed[LOADER_MAX_FEEDS];
	/** count */
	int nfeeds;
	/** the feed being pulled, -1 none */
	int cur;
	/** 1 while a pull cycle runs */
	int pulling;
	/** something was applied and awaits a publish */
	int dirty;
	/** the next snapshot, filings written while the full filings feed
	 * applied was stored (loader/prewrite.h); NULL none */
	struct prewrite* prewrite;
	/** the feed file being applied as it downloads, if active */
	struct apply_run apply;
	/** the thread removing the last applied payload (payload_discard),
	 * while discard_on */
	pthread_t discard;
	int discard_on;
	/** --once: one cycle, then exit */
	int once;
	/** 1 when daemonized (logs go to syslog whatever the file says) */
	int daemonized;
	/** --allow-shrink */
	int allow_shrink;
	/** exit code for --once */
	int exit_code;
	/** SIGHUP arrived during a pull */
	int reload_pending;
	/** SIGTERM arrived */
	int stopping;
	/** start time */
	int64_t started;
	/** cycle timer */
	struct event* timer;
	/** status server */
	struct evhttp* http;
	/** publishes, failed ones */
	uint64_t publishes, publish_failures;
	/** last publish: time, duration, result */
	int64_t last_publish;
	/** duration of the last publish, sum and max */
	double last_publish_s, publish_s_sum, publish_s_max;
	/** last publish message */
	char publish_msg[2048];
	/** takedown orders (loader/orders.h), NULL when not configured */
	struct loader_orders* orders;
	/** the snapshot in force as /status last verified it whole */
	struct ig_snapshot_memo status_memo;
};

/** log a line (stderr or syslog) */
void loader_log(struct loader* L, int prio, const char* fmt, ...)
	__attribute__((format(printf, 3, 4)));

/** Start the status server on cfg.status_listen.  @return 1/0. */
int status_start(struct loader* L, char* err, size_t errlen);

/** Stop it. */
void status_stop(struct loader* L);

#endif /* ICPGUARD_LOADER_H */
