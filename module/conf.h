/*
 * module/conf.h - the icpguard module's own configuration file.
 *
 * \file
 * Unbound's configuration cannot carry unknown keys, so the module reads
 * its own file (module/icpguard.conf.example documents every key).  The
 * parser has no Unbound dependency, so `icpguard checkconf` uses it too.
 * Reading is done once, at module init, by one thread.
 */
#ifndef ICPGUARD_MODULE_CONF_H
#define ICPGUARD_MODULE_CONF_H
#include <stddef.h>
#include <stdint.h>
#include "lib/addr.h"
#include "lib/verdict.h"

/** default configuration file */
#define ICPGUARD_CONF_DEFAULT "/etc/icpguard/icpguard.conf"
/** environment variable naming the configuration file */
#define ICPGUARD_CONF_ENV "ICPGUARD_CONF"

/** what a block answer looks like */
enum ig_action {
	IG_ACTION_NXDOMAIN = 0,
	IG_ACTION_NODATA,
	IG_ACTION_REFUSED,
	IG_ACTION_REDIRECT
};

/** the module configuration */
struct icpguard_cfg {
	/** snapshot file */
	char snapshot[1024];
	/** order snapshot file ("" none) */
	char orders_snapshot[1024];
	/** delta snapshot file ("" none): docs/snapshot.md, "The delta
	 * layer" */
	char delta_snapshot[1024];
	/** per-order hit counts written here ("" off) */
	char order_stats[1024];
	/** module counters written here, Prometheus text ("" off) */
	char stats_file[1024];
	/** scope of the filing rule */
	enum ig_scope scope;
	/** which chain names need a filing */
	enum ig_chain_check chain;
	/** 1: monitor (log only) */
	int monitor;
	/** action per block reason (indexed by enum ig_reason) */
	enum ig_action action[IG_REASON_COUNT];
	/** notice server addresses for the redirect action */
	struct ig_addr notice4, notice6;
	/** set when configured */
	int have_notice4, have_notice6;
	/** TTL of policy answers */
	uint32_t ttl;
	/** start without a snapshot */
	int fail_open;
	/** snapshot poll interval, milliseconds */
	int poll_ms;
	/** log each block */
	int log_blocks;
	/** the obsolete key strict-cache was given (it is ignored) */
	int strict_cache_given;
	/** dnstap audit to a Unix socket path ("" off) */
	char audit_socket[256];
	/** dnstap audit to a TCP address ("" off) and port */
	char audit_tcp_addr[64];
	/** its port */
	int audit_tcp_port;
	/** fraction of plain client answers also recorded, 0..1 */
	double audit_sample;
	/** dnstap identity ("" : the host name) */
	char audit_identity[128];
	/** records the I/O queue holds before dropping (power of 2) */
	int audit_queue;
};

/** Fill in the defaults. */
void icpguard_cfg_defaults(struct icpguard_cfg* cfg);

/**
 * Read a configuration file over the defaults.
 * @param path: the file.
 * @param cfg: filled in (call icpguard_cfg_defaults first).
 * @param err, errlen: on failure "FILE:LINE: key 'K': reason".
 * @return 1 on success, 0 on failure.
 */
int icpguard_cfg_read(const char* path, struct icpguard_cfg* cfg, char* err,
	size_t errlen);

/**
 * Set one key from its text, as a configuration file line would (the
 * Knot module reads its audit-* keys through this, so they mean the same).
 * @param cfg: the configuration changed (the caller's; any thread).
 * @return NULL, or the reason the value is bad ("want ADDRESS@PORT");
 *	"unknown key" for a key the module does not have.
 */
const char* icpguard_cfg_set(struct icpguard_cfg* cfg, const char* key,
	const char* v);

/** The configuration path: $ICPGUARD_CONF or the default. */
const char* icpguard_cfg_path(void);

/** "nxdomain", "nodata", "refused", "redirect" */
const char* icpguard_action_name(enum ig_action a);

#endif /* ICPGUARD_MODULE_CONF_H */
