/*
 * loader/conf.h - icpguard-loader configuration.
 *
 * \file
 * "key: value" lines, '#' comments, like the module's file; every key is
 * in one table in conf.c and documented in icpguard-loader.conf.example.
 * An unknown key or a bad value fails the whole read with the file, line,
 * key and reason, and the caller keeps its previous configuration (SIGHUP
 * never leaves the loader half-configured).
 */
#ifndef ICPGUARD_LOADER_CONF_H
#define ICPGUARD_LOADER_CONF_H
#include <stddef.h>
#include "data/feed.pb-c.h"

/** default configuration file */
#define LOADER_CONF_DEFAULT "/etc/icpguard/icpguard-loader.conf"
/** most feeds and keys */
#define LOADER_MAX_FEEDS 8
#define LOADER_MAX_KEYS 16

/** one configured feed */
struct loader_feed_cfg {
	/** kind; the feed's name is the kind's name */
	Icpguard__Feed__Kind kind;
	/** base URL (ends in '/'): BASE/latest.json, BASE/full-N.pb ... */
	char url[1024];
	/** names of the keys allowed to sign it */
	char* keys[LOADER_MAX_KEYS];
	/** count */
	int nkeys;
};

/** one configured publisher key */
struct loader_key_cfg {
	/** name used by feed lines */
	char name[64];
	/** PEM public key file */
	char path[1024];
};

/** the loader configuration */
struct loader_cfg {
	/** where the module reads the snapshot */
	char snapshot[1024];
	/** state directory */
	char state_dir[1024];
	/** pidfile ("" none) */
	char pidfile[1024];
	/** status listen address ("" none), host:port */
	char status_listen[256];
	/** CA file for https ("" system default) */
	char tls_ca[1024];
	/** operator exemptions, a local source file ("" none) */
	char exemptions[1024];
	/** snapshots kept for rollback */
	int keep;
	/** largest allowed filing shrink, percent */
	int max_shrink;
	/** seconds between pulls */
	int interval;
	/** retry backoff bounds, seconds */
	int retry_min, retry_max;
	/** per-request timeout, seconds */
	int timeout;
	/** 1: syslog, 0: stderr */
	int syslog;
	/** keys */
	struct loader_key_cfg key[LOADER_MAX_KEYS];
	/** count */
	int nkeys;
	/** the delta snapshot the module reads beside the snapshot ("" :
	 * every publish writes a whole snapshot); docs/snapshot.md, "The
	 * delta layer" */
	char delta_snapshot[1024];
	/** a delta of more names than this is folded into a new snapshot */
	int delta_max;
	/** the order snapshot the module reads ("" : orders off) */
	char orders_snapshot[1024];
	/** names of the keys allowed to sign orders */
	char order_keys[LOADER_MAX_KEYS][64];
	/** count */
	int norder_keys;
	/** feeds */
	struct loader_feed_cfg feed[LOADER_MAX_FEEDS];
	/** count */
	int nfeeds;
};

/** Defaults for every key. */
void loader_cfg_defaults(struct loader_cfg* c);

/**
 * Read a configuration file over the defaults.
 * @param err: on failure "FILE:LINE: KEY: reason".
 * @return 1/0.
 */
int loader_cfg_read(const char* path, struct loader_cfg* c, char* err,
	size_t errlen);

/** Free what a read allocated (feed key names). */
void loader_cfg_free(struct loader_cfg* c);

#endif /* ICPGUARD_LOADER_CONF_H */
