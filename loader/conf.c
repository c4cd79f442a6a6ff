/*
 * loader/conf.c - icpguard-loader configuration.
 *
 * \file
 * See conf.h.  One table: key, parser, what the documentation says.
 */
#include "config.h"
#include "loader/conf.h"
#include "lib/conffile.h"
#include "loader/feed.h"
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
loader_cfg_defaults(struct loader_cfg* c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->snapshot, sizeof(c->snapshot), "%s",
		"/var/lib/icpguard/snapshot.mdb");
	snprintf(c->state_dir, sizeof(c->state_dir), "%s",
		"/var/lib/icpguard/loader");
	c->keep = 5;
	c->max_shrink = 5;
	c->delta_max = 100000;
	c->interval = 300;
	c->retry_min = 5;
	c->retry_max = 600;
	c->timeout = 60;
}

/** a whole number in [lo, hi] */
static const char*
int_in(const char* v, long lo, long hi, int* out)
{
	char* end;
	long n;
	errno = 0;
	n = strtol(v, &end, 10);
	if(*end == '%') end++;
	if(*v == 0 || *end || errno || n < lo || n > hi)
		return "want a whole number in range";
	*out = (int)n;
	return NULL;
}

/** an absolute path into a buffer */
static const char*
path_in(const char* v, char* out, size_t outlen, int empty_ok)
{
	if(!(empty_ok && *v == 0) && *v != '/') return "want an absolute path";
	if(strlen(v) >= outlen) return "too long";
	snprintf(out, outlen, "%s", v);
	return NULL;
}

/** "key: NAME PATH" */
static const char*
key_line(struct loader_cfg* c, char* v)
{
	char* path = strpbrk(v, " \t");
	struct loader_key_cfg* k;
	if(!path) return "want NAME PATH";
	*path++ = 0;
	while(isspace((unsigned char)*path)) path++;
	if(c->nkeys == LOADER_MAX_KEYS) return "too many keys";
	if(strlen(v) >= sizeof(k->name)) return "name too long";
	k = &c->key[c->nkeys];
	snprintf(k->name, sizeof(k->name), "%s", v);
	if(path_in(path, k->path, sizeof(k->path), 0))
		return "want NAME /absolute/path.pub";
	c->nkeys++;
	return NULL;
}

/** "feed: KIND URL KEYNAME[,KEYNAME...]" */
static const char*
feed_line(struct loader_cfg* c, char* v)
{
	char* f[3], *save = NULL, *t, *ks;
	int n = 0, i;
	struct loader_feed_cfg* fd;
	for(t = strtok_r(v, " \t", &save); t && n < 3;
		t = strtok_r(NULL, " \t", &save))
		f[n++] = t;
	if(n != 3 || strtok_r(NULL, " \t", &save))
		return "want KIND URL KEYNAME[,KEYNAME...]";
	if(c->nfeeds == LOADER_MAX_FEEDS) return "too many feeds";
	fd = &c->feed[c->nfeeds];
	memset(fd, 0, sizeof(*fd));
	if(!(fd->kind = ig_feed_kind_parse(f[0])))
		return "unknown kind (filings, registrars, blacklist, "
			"domestic, tlds)";
	for(i = 0; i < c->nfeeds; i++)
		if(c->feed[i].kind == fd->kind) return "feed kind repeated";
	if(strncmp(f[1], "http://", 7) && strncmp(f[1], "https://", 8) &&
		strncmp(f[1], "file:///", 8))
		return "want an http://, https:// or file:/// URL";
	if(strlen(f[1]) + 2 >= sizeof(fd->url)) return "URL too long";
	snprintf(fd->url, sizeof(fd->url), "%s%s", f[1],
		f[1][strlen(f[1]) - 1] == '/' ? "" : "/");
	save = NULL;
	for(ks = strtok_r(f[2], ",", &save); ks; ks = strtok_r(NULL, ",",
		&save)) {
		for(i = 0; i < c->nkeys; i++)
			if(!strcmp(c->key[i].name, ks)) break;
		if(i == c->nkeys) return "key name not defined by an earlier "
			"'key:' line";
		if(fd->nkeys == LOADER_MAX_KEYS) return "too many keys";
		fd->keys[fd->nkeys++] = strdup(ks);
	}
	c->nfeeds++;
	return NULL;
}

/** apply one key; NULL or the reason */
static const char*
apply(struct loader_cfg* c, const char* key, char* v)
{
	if(!strcmp(key, "snapshot"))
		return path_in(v, c->snapshot, sizeof(c->snapshot), 0);
	if(!strcmp(key, "state-dir"))
		return path_in(v, c->state_dir, sizeof(c->state_dir), 0);
	if(!strcmp(key, "pidfile"))
		return path_in(v, c->pidfile, sizeof(c->pidfile), 1);
	if(!strcmp(key, "tls-ca"))
		return path_in(v, c->tls_ca, sizeof(c->tls_ca), 1);
	if(!strcmp(key, "exemptions"))
		return path_in(v, c->exemptions, sizeof(c->exemptions), 1);
	if(!strcmp(key, "status-listen")) {
		const char* colon = strrchr(v, ':');
		if(*v == 0) { c->status_listen[0] = 0; return NULL; }
		if(!colon || atoi(colon + 1) <= 0 || atoi(colon + 1) > 65535)
			return "want ADDRESS:PORT";
		if(strlen(v) >= sizeof(c->status_listen)) return "too long";
		snprintf(c->status_listen, sizeof(c->status_listen), "%s", v);
		return NULL;
	}
	if(!strcmp(key, "keep-snapshots"))
		return int_in(v, 1, 1000, &c->keep);
	if(!strcmp(key, "max-shrink"))
		return int_in(v, 0, 100, &c->max_shrink);
	if(!strcmp(key, "poll-interval"))
		return int_in(v, 1, 86400, &c->interval);
	if(!strcmp(key, "retry-min"))
		return int_in(v, 1, 86400, &c->retry_min);
	if(!strcmp(key, "retry-max"))
		return int_in(v, 1, 86400, &c->retry_max);
	if(!strcmp(key, "timeout"))
		return int_in(v, 1, 3600, &c->timeout);
	if(!strcmp(key, "log")) {
		if(!strcmp(v, "syslog")) c->syslog = 1;
		else if(!strcmp(v, "stderr")) c->syslog = 0;
		else return "want stderr or syslog";
		return NULL;
	}
	if(!strcmp(key, "delta-snapshot"))
		return path_in(v, c->delta_snapshot, sizeof(c->delta_snapshot),
			1);
	if(!strcmp(key, "delta-max-records"))
		return int_in(v, 1, 10000000, &c->delta_max);
	if(!strcmp(key, "orders-snapshot"))
		return path_in(v, c->orders_snapshot, sizeof(c->orders_snapshot),
			1);
	if(!strcmp(key, "order-keys")) {
		char* save = NULL, *t;
		int i;
		c->norder_keys = 0;
		for(t = strtok_r(v, ", \t", &save); t;
			t = strtok_r(NULL, ", \t", &save)) {
			for(i = 0; i < c->nkeys; i++)
				if(!strcmp(c->key[i].name, t)) break;
			if(i == c->nkeys) return "key name not defined by an "
				"earlier 'key:' line";
			if(c->norder_keys == LOADER_MAX_KEYS) return "too many";
			snprintf(c->order_keys[c->norder_keys++],
				sizeof(c->order_keys[0]), "%s", t);
		}
		return NULL;
	}
	if(!strcmp(key, "key")) return key_line(c, v);
	if(!strcmp(key, "feed")) return feed_line(c, v);
	return "unknown key";
}

/** the reader's callback */
static const char*
apply_pair(void* ctx, const char* key, char* v)
{
	return apply((struct loader_cfg*)ctx, key, v);
}

int
loader_cfg_read(const char* path, struct loader_cfg* c, char* err,
	size_t errlen)
{
	if(!ig_conf_read(path, apply_pair, c, err, errlen))
		return 0;
	if(c->retry_min > c->retry_max) {
		snprintf(err, errlen, "%s: retry-min is above retry-max", path);
		return 0;
	}
	return 1;
}

void
loader_cfg_free(struct loader_cfg* c)
{
	int i, j;
	for(i = 0; i < c->nfeeds; i++)
		for(j = 0; j < c->feed[i].nkeys; j++) {
			free(c->feed[i].keys[j]);
			c->feed[i].keys[j] = NULL;
		}
	c->nfeeds = 0;
}
