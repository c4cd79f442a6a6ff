/*
 * module/conf.c - the icpguard module's own configuration file.
 *
 * \file
 * See config.h.  One table lists every key with its parser, so the
 * documentation (icpguard.conf.example) and the code name the same keys.
 */
#include "module/conf.h"
#include "lib/conffile.h"
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char* const action_names[] = { "nxdomain", "nodata", "refused",
	"redirect" };

const char*
icpguard_action_name(enum ig_action a)
{
	return (unsigned)a < 4 ? action_names[a] : "?";
}

void
icpguard_cfg_defaults(struct icpguard_cfg* cfg)
{
	int i;
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->snapshot, sizeof(cfg->snapshot), "%s",
		"/var/lib/icpguard/snapshot.mdb");
	cfg->scope = IG_SCOPE_DOMESTIC;
	cfg->chain = IG_CHAIN_ALL;
	for(i = 0; i < IG_REASON_COUNT; i++)
		cfg->action[i] = IG_ACTION_NXDOMAIN;
	cfg->ttl = 60;
	cfg->poll_ms = 100;
	cfg->log_blocks = 1;
	cfg->audit_queue = 16384;
}

const char*
icpguard_cfg_path(void)
{
	const char* e = getenv(ICPGUARD_CONF_ENV);
	return (e && *e) ? e : ICPGUARD_CONF_DEFAULT;
}

/** parse a yes/no */
static const char*
parse_bool(const char* v, int* out)
{
	if(!strcmp(v, "yes")) *out = 1;
	else if(!strcmp(v, "no")) *out = 0;
	else return "want yes or no";
	return NULL;
}

/** parse an unsigned integer within bounds */
static const char*
parse_uint(const char* v, long lo, long hi, long* out)
{
	char* end;
	errno = 0;
	*out = strtol(v, &end, 10);
	if(*v == 0 || *end || errno || *out < lo || *out > hi)
		return "want a whole number in range";
	return NULL;
}

const char*
icpguard_cfg_set(struct icpguard_cfg* cfg, const char* key, const char* v)
{
	long n;
	const char* e;
	if(!strcmp(key, "snapshot")) {
		if(*v != '/') return "want an absolute path";
		if(strlen(v) >= sizeof(cfg->snapshot)) return "path too long";
		snprintf(cfg->snapshot, sizeof(cfg->snapshot), "%s", v);
		return NULL;
	}
	if(!strcmp(key, "orders-snapshot")) {
		if(*v && *v != '/') return "want an absolute path";
		if(strlen(v) >= sizeof(cfg->orders_snapshot))
			return "path too long";
		snprintf(cfg->orders_snapshot, sizeof(cfg->orders_snapshot),
			"%s", v);
		return NULL;
	}
	if(!strcmp(key, "delta-snapshot")) {
		if(*v && *v != '/') return "want an absolute path";
		if(strlen(v) >= sizeof(cfg->delta_snapshot))
			return "path too long";
		snprintf(cfg->delta_snapshot, sizeof(cfg->delta_snapshot),
			"%s", v);
		return NULL;
	}
	if(!strcmp(key, "stats-file")) {
		if(*v && *v != '/') return "want an absolute path";
		if(strlen(v) >= sizeof(cfg->stats_file) - 2)
			return "path too long";
		snprintf(cfg->stats_file, sizeof(cfg->stats_file), "%s", v);
		return NULL;
	}
	if(!strcmp(key, "order-stats")) {
		if(*v && *v != '/') return "want an absolute path";
		if(strlen(v) >= sizeof(cfg->order_stats) - 2)
			return "path too long";
		snprintf(cfg->order_stats, sizeof(cfg->order_stats), "%s", v);
		return NULL;
	}
	if(!strcmp(key, "audit-identity")) {
		const char* p;
		for(p = v; *p; p++)
			if(*p == '"' || *p == '\\' || (unsigned char)*p < 0x20)
				return "no quotes, backslashes or control "
					"characters";
		if(strlen(v) >= sizeof(cfg->audit_identity)) return "too long";
		snprintf(cfg->audit_identity, sizeof(cfg->audit_identity), "%s",
			v);
		return NULL;
	}
	if(!strcmp(key, "scope")) {
		if(!strcmp(v, "domestic")) cfg->scope = IG_SCOPE_DOMESTIC;
		else if(!strcmp(v, "all")) cfg->scope = IG_SCOPE_ALL;
		else return "want domestic or all";
		return NULL;
	}
	if(!strcmp(key, "chain-check")) {
		if(!strcmp(v, "all")) cfg->chain = IG_CHAIN_ALL;
		else if(!strcmp(v, "qname")) cfg->chain = IG_CHAIN_QNAME;
		else return "want all or qname";
		return NULL;
	}
	if(!strcmp(key, "mode")) {
		if(!strcmp(v, "enforce")) cfg->monitor = 0;
		else if(!strcmp(v, "monitor")) cfg->monitor = 1;
		else return "want enforce or monitor";
		return NULL;
	}
	if(!strncmp(key, "action-", 7)) {
		int r = ig_reason_parse(key + 7), a;
		if(r != IG_REASON_ORDER && r != IG_REASON_BLACKLIST &&
			r != IG_REASON_NOFILING && r != IG_REASON_REDIRECT)
			return "unknown key (action-order, action-blacklist, "
				"action-nofiling, action-redirect)";
		for(a = 0; a < 4; a++)
			if(!strcmp(v, action_names[a])) break;
		if(a == 4) return "want nxdomain, nodata, refused or redirect";
		cfg->action[r] = (enum ig_action)a;
		return NULL;
	}
	if(!strcmp(key, "notice-ipv4")) {
		if(!ig_addr_parse(v, &cfg->notice4) ||
			!ig_addr_is_v4(&cfg->notice4))
			return "want an IPv4 address";
		cfg->have_notice4 = 1;
		return NULL;
	}
	if(!strcmp(key, "notice-ipv6")) {
		if(!strchr(v, ':') || !ig_addr_parse(v, &cfg->notice6))
			return "want an IPv6 address";
		cfg->have_notice6 = 1;
		return NULL;
	}
	if(!strcmp(key, "policy-ttl")) {
		if((e = parse_uint(v, 1, 86400, &n))) return
			"want 1..86400 seconds";
		cfg->ttl = (uint32_t)n;
		return NULL;
	}
	if(!strcmp(key, "poll-interval")) {
		if((e = parse_uint(v, 10, 60000, &n))) return
			"want 10..60000 milliseconds";
		cfg->poll_ms = (int)n;
		return NULL;
	}
	if(!strcmp(key, "strict-cache")) {
		/* obsolete: the module no longer changes Unbound's caching
		 * (docs/module.md); accepted so that old files still load */
		if(strcmp(v, "all") && strcmp(v, "unfiled"))
			return "want all or unfiled";
		cfg->strict_cache_given = 1;
		return NULL;
	}
	if(!strcmp(key, "audit-socket")) {
		if(*v && *v != '/') return "want an absolute path";
		if(strlen(v) >= sizeof(cfg->audit_socket)) return "path too long";
		snprintf(cfg->audit_socket, sizeof(cfg->audit_socket), "%s", v);
		return NULL;
	}
	if(!strcmp(key, "audit-tcp")) {
		const char* at = strrchr(v, '@');
		struct ig_addr a;
		char host[64];
		if(!*v) {
			cfg->audit_tcp_addr[0] = 0;
			return NULL;
		}
		if(!at || (size_t)(at - v) >= sizeof(host))
			return "want ADDRESS@PORT";
		memcpy(host, v, (size_t)(at - v));
		host[at - v] = 0;
		if(!ig_addr_parse(host, &a)) return "want ADDRESS@PORT";
		if(parse_uint(at + 1, 1, 65535, &n)) return "bad port";
		snprintf(cfg->audit_tcp_addr, sizeof(cfg->audit_tcp_addr), "%s",
			host);
		cfg->audit_tcp_port = (int)n;
		return NULL;
	}
	if(!strcmp(key, "audit-sample")) {
		char* end;
		double d = strtod(v, &end);
		if(*v == 0 || *end || d < 0 || d > 1)
			return "want a fraction from 0 to 1";
		cfg->audit_sample = d;
		return NULL;
	}
	if(!strcmp(key, "audit-queue")) {
		if(parse_uint(v, 2, 1 << 20, &n) || (n & (n - 1)))
			return "want a power of two from 2 to 1048576";
		cfg->audit_queue = (int)n;
		return NULL;
	}
	if(!strcmp(key, "fail-open")) return parse_bool(v, &cfg->fail_open);
	if(!strcmp(key, "log-blocks")) return parse_bool(v, &cfg->log_blocks);
	return "unknown key";
}

/** the reader's callback */
static const char*
apply_pair(void* ctx, const char* key, char* v)
{
	return icpguard_cfg_set((struct icpguard_cfg*)ctx, key, v);
}

int
icpguard_cfg_read(const char* path, struct icpguard_cfg* cfg, char* err,
	size_t errlen)
{
	int i;
	if(!ig_conf_read(path, apply_pair, cfg, err, errlen))
		return 0;
	for(i = 0; i < IG_REASON_COUNT; i++) {
		if(cfg->action[i] == IG_ACTION_REDIRECT && !cfg->have_notice4 &&
			!cfg->have_notice6) {
			snprintf(err, errlen, "%s: key 'action-%s': redirect "
				"needs notice-ipv4 or notice-ipv6", path,
				ig_reason_name((enum ig_reason)i));
			return 0;
		}
	}
	return 1;
}
