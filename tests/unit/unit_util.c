/*
 * tests/unit/unit_util.c - helpers shared by the cmocka unit tests.
 *
 * \file
 * See unit_util.h.
 */
#include "config.h"
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "tests/unit/unit_util.h"

void
ut_dir_make(struct ut_dir* d)
{
	const char* base = getenv("TMPDIR");
	if(!base || !*base) base = "/tmp";
	snprintf(d->path, sizeof(d->path), "%s/icpguard-unit.XXXXXX", base);
	assert_non_null(mkdtemp(d->path));
}

void
ut_dir_remove(struct ut_dir* d)
{
	DIR* dir = opendir(d->path);
	struct dirent* e;
	char p[512];
	if(!dir) return;
	while((e = readdir(dir)) != NULL) {
		if(!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(p, sizeof(p), "%s/%s", d->path, e->d_name);
		unlink(p);
	}
	closedir(dir);
	rmdir(d->path);
}

char*
ut_dir_file(const struct ut_dir* d, const char* name, char* buf)
{
	snprintf(buf, 512, "%s/%s", d->path, name);
	return buf;
}

int
ut_dir_count(const struct ut_dir* d)
{
	DIR* dir = opendir(d->path);
	struct dirent* e;
	int n = 0;
	assert_non_null(dir);
	while((e = readdir(dir)) != NULL)
		if(strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(dir);
	return n;
}

size_t
ut_wire(const char* text, uint8_t* wire)
{
	const char* err = NULL;
	size_t wl = 0;
	if(!ig_name_from_text(text, wire, &wl, &err))
		fail_msg("bad test name '%s': %s", text, err);
	return wl;
}

size_t
ut_key(const char* text, uint8_t* key)
{
	uint8_t wire[IG_NAME_MAX];
	ut_wire(text, wire);
	return ig_name_wire_to_key(wire, key, NULL, NULL);
}

struct ig_writer*
ut_writer(const char* path)
{
	char err[512];
	struct ig_writer* w = ig_writer_create(path, (size_t)64 << 20, err,
		sizeof(err));
	if(!w) fail_msg("ig_writer_create %s: %s", path, err);
	return w;
}

void
ut_filing(struct ig_writer* w, const char* domain,
	enum ig_filing_status status, const char* number)
{
	uint8_t wire[IG_NAME_MAX];
	struct ig_filing f;
	memset(&f, 0, sizeof(f));
	f.status = status;
	f.subject_type = IG_SUBJECT_ENTERPRISE;
	f.approved = 1600000000;
	f.number = number;
	f.subject = "测试科技有限公司";
	f.province = "京";
	f.provider = "阿里云";
	ut_wire(domain, wire);
	if(!ig_writer_filing(w, wire, &f))
		fail_msg("filing %s: %s", domain, ig_writer_error(w));
}

void
ut_blacklist(struct ig_writer* w, const char* name, int subtree,
	const char* reason, const char* source)
{
	uint8_t wire[IG_NAME_MAX];
	struct ig_blacklist b;
	b.subtree = subtree;
	b.added = 1650000000;
	b.reason = reason;
	b.source = source;
	ut_wire(name, wire);
	if(!ig_writer_blacklist(w, wire, &b))
		fail_msg("blacklist %s: %s", name, ig_writer_error(w));
}

void
ut_exempt(struct ig_writer* w, const char* name, int subtree,
	const char* note)
{
	uint8_t wire[IG_NAME_MAX];
	struct ig_exempt x;
	x.subtree = subtree;
	x.note = note;
	ut_wire(name, wire);
	if(!ig_writer_exempt(w, wire, &x))
		fail_msg("exempt %s: %s", name, ig_writer_error(w));
}

void
ut_order(struct ig_writer* w, const char* id, const char* doc_no,
	const char* unit, const char* reason, int64_t effective,
	int64_t expiry, int64_t lifted, const char* const* names,
	const int* subtree, unsigned n)
{
	uint8_t buf[4096];
	struct ig_order o;
	memset(&o, 0, sizeof(o));
	o.id = id;
	o.doc_no = doc_no;
	o.unit = unit;
	o.reason = reason;
	o.effective = effective;
	o.expiry = expiry;
	o.lifted = lifted;
	o.ntargets = n;
	o.targets = buf;
	assert_true(ig_order_targets_encode(names, subtree, n, buf,
		sizeof(buf)) > 0);
	if(!ig_writer_order(w, &o))
		fail_msg("order %s: %s", id, ig_writer_error(w));
}

void
ut_range(struct ig_writer* w, enum ig_range_kind kind, const char* text,
	const char* owner)
{
	struct ig_range r;
	const char* err = NULL;
	if(!ig_range_parse(text, &r, &err))
		fail_msg("bad test range '%s': %s", text, err);
	if(!ig_writer_range(w, kind, &r, owner))
		fail_msg("range %s: %s", text, ig_writer_error(w));
}

void
ut_redirect_host(struct ig_writer* w, const char* host,
	const char* registrar)
{
	uint8_t wire[IG_NAME_MAX];
	ut_wire(host, wire);
	if(!ig_writer_redirect_host(w, wire, registrar))
		fail_msg("redirect host %s: %s", host, ig_writer_error(w));
}

struct ig_snapshot*
ut_publish_open(struct ig_writer* w, const char* path, uint64_t serial)
{
	char err[512];
	struct ig_snapshot* s = NULL;
	if(!ig_writer_publish(w, serial, NULL, err, sizeof(err)))
		fail_msg("publish %s: %s", path, err);
	if(!ig_snapshot_open(path, &s, err, sizeof(err)))
		fail_msg("open %s: %s", path, err);
	return s;
}

struct ig_addr
ut_addr(const char* text)
{
	struct ig_addr a;
	if(!ig_addr_parse(text, &a))
		fail_msg("bad test address '%s'", text);
	return a;
}

int
ut_contains(const char* s, const char* sub)
{
	return s && sub && strstr(s, sub) != NULL;
}
