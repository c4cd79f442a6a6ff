/*
 * lib/validate.c - per-record validation shared by the builder, the feed
 * tool and the loader.
 *
 * \file
 * See validate.h.  The messages are the ones `icpguard build` has always
 * printed; tests compare them.
 */
#include "lib/validate.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int
ig_reject_set(struct ig_reject* r, const char* field, const char* code,
	const char* fmt, ...)
{
	va_list ap;
	r->field = field;
	r->code = code;
	va_start(ap, fmt);
	vsnprintf(r->msg, sizeof(r->msg), fmt, ap);
	va_end(ap);
	return 0;
}

int
ig_tldset_add(struct ig_tldset* t, const uint8_t* wire)
{
	uint8_t (*n)[IG_NAME_MAX] = realloc(t->tld, sizeof(*t->tld) *
		(size_t)(t->n + 1));
	if(!n) return 0;
	t->tld = n;
	memcpy(t->tld[t->n++], wire, ig_name_wire_len(wire));
	return 1;
}

int
ig_tldset_filable(const struct ig_tldset* t, const uint8_t* wire)
{
	const uint8_t* p = wire;
	int i;
	if(t->n == 0) return 1;
	while(p[0] && p[1 + p[0]]) p += 1 + p[0];
	for(i = 0; i < t->n; i++)
		if(memcmp(t->tld[i], p, ig_name_wire_len(p)) == 0) return 1;
	return 0;
}

void
ig_tldset_free(struct ig_tldset* t)
{
	free(t->tld);
	t->tld = NULL;
	t->n = 0;
}

int
ig_valid_name(const char* field, const char* text, uint8_t* wire,
	struct ig_reject* r)
{
	const char* err;
	size_t wl;
	if(!text)
		return ig_reject_set(r, field, "missing", "missing");
	if(!ig_name_from_text(text, wire, &wl, &err))
		return ig_reject_set(r, field, "bad_name", "'%s': %s", text,
			err);
	return 1;
}

int
ig_valid_str(const char* field, const char* v, struct ig_reject* r)
{
	if(!v || !*v)
		return ig_reject_set(r, field, "missing", "missing");
	return 1;
}

int
ig_valid_len(const char* field, const char* v, size_t max,
	struct ig_reject* r)
{
	size_t n;
	if(!v || (n = strlen(v)) <= max) return 1;
	return ig_reject_set(r, field, "too_long", "%zu bytes, at most %zu",
		n, max);
}

int
ig_valid_blacklist_texts(const char* reason, const char* source,
	struct ig_reject* r)
{
	return ig_valid_len("reason", reason, IG_BLACKLIST_REASON_MAX, r) &&
		ig_valid_len("source", source, IG_BLACKLIST_SOURCE_MAX, r);
}

int
ig_valid_registrar(const char* id, const char* name, struct ig_reject* r)
{
	return ig_valid_str("id", id, r) &&
		ig_valid_len("id", id, IG_REGISTRAR_ID_MAX, r) &&
		ig_valid_len("name", name, IG_REGISTRAR_NAME_MAX, r);
}

int
ig_valid_regdomain(const char* domain, const char* registrar,
	const char* status, uint8_t* wire, struct ig_reject* r)
{
	return ig_valid_name("domain", domain, wire, r) &&
		ig_valid_str("registrar", registrar, r) &&
		ig_valid_len("registrar", registrar, IG_REGISTRAR_ID_MAX, r) &&
		ig_valid_len("status", status, IG_REGDOMAIN_STATUS_MAX, r);
}

int
ig_valid_order_texts(const char* id, const char* doc_no,
	const char* unit, const char* reason, size_t ntargets,
	struct ig_reject* r)
{
	if(!ig_valid_str("id", id, r)) return 0;
	if(!ig_order_id_ok(id))
		return ig_reject_set(r, "id", "bad_id", "'%.80s' (want 1-%d "
			"letters, digits, '-')", id, IG_ORDER_ID_MAX);
	if(!ig_valid_str("doc_no", doc_no, r) ||
		!ig_valid_len("doc_no", doc_no, IG_ORDER_DOC_NO_MAX, r) ||
		!ig_valid_str("unit", unit, r) ||
		!ig_valid_len("unit", unit, IG_ORDER_UNIT_MAX, r) ||
		!ig_valid_str("reason", reason, r) ||
		!ig_valid_len("reason", reason, IG_ORDER_REASON_MAX, r))
		return 0;
	if(ntargets == 0 || ntargets > IG_ORDER_MAX_TARGETS)
		return ig_reject_set(r, "targets", ntargets ? "too_many" :
			"missing", "%zu targets, want 1 to %d", ntargets,
			IG_ORDER_MAX_TARGETS);
	return 1;
}

int
ig_valid_order_target(size_t idx, const char* name, char* text,
	size_t textlen, struct ig_reject* r)
{
	uint8_t wire[IG_NAME_MAX];
	size_t wl;
	const char* why;
	if(!name)
		return ig_reject_set(r, "targets", "bad_name", "entry %zu: "
			"want a name or {\"name\", \"subtree\"}", idx + 1);
	if(!ig_name_from_text(name, wire, &wl, &why))
		return ig_reject_set(r, "targets", "bad_name", "entry %zu "
			"'%.300s': %s", idx + 1, name, why);
	if(wire[0] == 0)
		return ig_reject_set(r, "targets", "root", "entry %zu '%s': "
			"the root", idx + 1, name);
	ig_name_wire_to_text(wire, text, textlen);
	if(strlen(text) > IG_ORDER_TARGET_MAX)
		return ig_reject_set(r, "targets", "too_long", "entry %zu: "
			"%zu bytes, at most %d", idx + 1, strlen(text),
			IG_ORDER_TARGET_MAX);
	return 1;
}

int
ig_valid_tld(const char* text, uint8_t* wire, struct ig_reject* r)
{
	if(!ig_valid_name("tld", text, wire, r)) return 0;
	if(wire[0] == 0 || wire[1 + wire[0]] != 0)
		return ig_reject_set(r, "tld", "not_single_label",
			"not a single label");
	return 1;
}

int
ig_filing_number_ok(const char* n)
{
	static const char* const prov[] = { "京","津","冀","晋","蒙","辽",
		"吉","黑","沪","苏","浙","皖","闽","赣","鲁","豫","鄂","湘",
		"粤","桂","琼","渝","蜀","川","黔","贵","滇","云","藏","陕",
		"陇","甘","青","宁","新", NULL };
	int i, digits = 0;
	const char* p = NULL;
	for(i = 0; prov[i]; i++)
		if(strncmp(n, prov[i], strlen(prov[i])) == 0) {
			p = n + strlen(prov[i]);
			break;
		}
	if(!p) return 0;
	if(strncmp(p, "ICP备", strlen("ICP备")) != 0 &&
		strncmp(p, "ICP证", strlen("ICP证")) != 0) return 0;
	p += strlen("ICP备");
	while(*p >= '0' && *p <= '9') { p++; digits++; }
	if(digits < 6 || digits > 12) return 0;
	if(strncmp(p, "号", strlen("号")) != 0) return 0;
	p += strlen("号");
	if(*p == 0) return 1;
	if(*p != '-') return 0;
	p++;
	if(!(*p >= '0' && *p <= '9')) return 0;
	while(*p >= '0' && *p <= '9') p++;
	if(*p == 'A') p++;
	return *p == 0;
}

/** map a word to a value, -1 when unknown */
static int
parse_enum(const char* s, const char* const* words, const int* vals)
{
	int i;
	for(i = 0; words[i]; i++)
		if(strcasecmp(s, words[i]) == 0) return vals[i];
	return -1;
}

/** status words of filings */
static const char* const st_w[] = { "active", "cancelled", "canceled",
	"revoked", "已备案", "已注销", "已撤销", NULL };
static const int st_v[] = { 1, 2, 2, 3, 1, 2, 3 };
/** subject type words */
static const char* const ty_w[] = { "enterprise", "individual",
	"government", "institution", "other", "企业", "个人",
	"政府机关", "事业单位", "其他", NULL };
static const int ty_v[] = { 1, 2, 3, 4, 5, 1, 2, 3, 4, 5 };

int
ig_filing_status_parse(const char* word)
{
	return word ? parse_enum(word, st_w, st_v) : IG_FILING_ACTIVE;
}

int
ig_subject_type_parse(const char* word)
{
	return word ? parse_enum(word, ty_w, ty_v) : IG_SUBJECT_OTHER;
}

int
ig_valid_filing(const struct ig_filing_fields* in,
	const struct ig_tldset* tlds, uint8_t* wire, char* text,
	struct ig_filing* f, struct ig_reject* r)
{
	const char* reg;
	int st = 1, ty = 5;
	size_t tl;
	if(!ig_valid_name("domain", in->domain, wire, r)) return 0;
	ig_name_wire_to_text(wire, text, 1024);
	tl = strlen(text);
	if(tl > 1) text[tl-1] = 0;
	reg = ig_name_registrable(text);
	if(!reg)
		return ig_reject_set(r, "domain", "public_suffix", "'%s' is a "
			"public suffix, not a registrable domain", text);
	if(strcmp(reg, text) != 0)
		return ig_reject_set(r, "domain", "not_registrable", "'%s' is "
			"not a registrable domain (file its registrable domain "
			"%s)", text, reg);
	if(!ig_tldset_filable(tlds, wire))
		return ig_reject_set(r, "domain", "tld_not_filable", "'%s': "
			"TLD not on the filable list", text);
	memset(f, 0, sizeof(*f));
	if(!ig_valid_str("number", in->number, r)) return 0;
	if(!ig_filing_number_ok(in->number))
		return ig_reject_set(r, "number", "bad_number", "'%s' is not a "
			"filing number (like 京ICP备16020626号-8)", in->number);
	if(in->status && (st = ig_filing_status_parse(in->status)) < 0)
		return ig_reject_set(r, "status", "bad_status", "'%s' (want "
			"active, cancelled or revoked)", in->status);
	if(in->subject_type && (ty = ig_subject_type_parse(
		in->subject_type)) < 0)
		return ig_reject_set(r, "subject_type", "bad_subject_type",
			"'%s' (want enterprise, individual, government, "
			"institution or other)", in->subject_type);
	if(!ig_valid_len("number", in->number, IG_FILING_NUMBER_MAX, r) ||
		!ig_valid_len("subject", in->subject, IG_FILING_SUBJECT_MAX, r)
		|| !ig_valid_len("province", in->province,
		IG_FILING_PROVINCE_MAX, r) || !ig_valid_len("provider",
		in->provider, IG_FILING_PROVIDER_MAX, r))
		return 0;
	f->number = in->number;
	f->status = (enum ig_filing_status)st;
	f->subject_type = (enum ig_subject_type)ty;
	f->subject = in->subject;
	f->province = in->province;
	f->provider = in->provider;
	return 1;
}

int
ig_reject_filed_twice(struct ig_reject* r, const char* text)
{
	return ig_reject_set(r, "domain", "duplicate", "'%s' filed twice "
		"(first row kept)", text);
}

int
ig_valid_blacklist_name(const char* text, uint8_t* wire, struct ig_reject* r)
{
	if(!ig_valid_name("name", text, wire, r)) return 0;
	if(wire[0] == 0)
		return ig_reject_set(r, "name", "root", "the root cannot be "
			"blacklisted");
	return 1;
}

int
ig_order_id_ok(const char* id)
{
	size_t n = strlen(id), i;
	if(n == 0 || n > IG_ORDER_ID_MAX) return 0;
	for(i = 0; i < n; i++) {
		char c = id[i];
		if(!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			(c >= '0' && c <= '9') || c == '-'))
			return 0;
	}
	return id[0] != '-' && id[n-1] != '-';
}

int
ig_valid_range(const char* field, const char* text, struct ig_range* out,
	struct ig_reject* r)
{
	const char* err;
	if(!ig_valid_str(field, text, r)) return 0;
	if(!ig_range_parse(text, out, &err))
		return ig_reject_set(r, field, "bad_range", "'%s': %s", text,
			err);
	return 1;
}

int
ig_valid_endpoints(const char* const* ranges, size_t nranges,
	const char* const* hosts, size_t nhosts, struct ig_reject* r)
{
	size_t i;
	for(i = 0; i < nranges; i++) {
		struct ig_range rg;
		const char* err = "not a string";
		if(!ranges[i] || !ig_range_parse(ranges[i], &rg, &err))
			return ig_reject_set(r, "endpoint_ranges", "bad_range",
				"entry %zu: %s", i + 1, err);
	}
	for(i = 0; i < nhosts; i++) {
		uint8_t wire[IG_NAME_MAX];
		size_t wl;
		const char* err = "not a string";
		if(!hosts[i] || !ig_name_from_text(hosts[i], wire, &wl, &err))
			return ig_reject_set(r, "endpoint_hosts", "bad_name",
				"entry %zu: %s", i + 1, err);
	}
	return 1;
}

/** a range waiting to be merged */
struct ig_pending_range {
	/** kind */
	enum ig_range_kind kind;
	/** the range */
	struct ig_range r;
	/** owner (malloced) */
	char* owner;
};

int
ig_rangeset_add(struct ig_rangeset* s, enum ig_range_kind kind,
	const struct ig_range* r, const char* owner)
{
	if(s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 256;
		struct ig_pending_range* v = realloc(s->v, cap * sizeof(*v));
		if(!v) return 0;
		s->v = v;
		s->cap = cap;
	}
	if(!(s->v[s->n].owner = strdup(owner ? owner : ""))) return 0;
	s->v[s->n].kind = kind;
	s->v[s->n].r = *r;
	s->n++;
	return 1;
}

/** qsort order for ranges: kind, first */
static int
range_cmp(const void* a, const void* b)
{
	const struct ig_pending_range* x = a, *y = b;
	if(x->kind != y->kind) return (int)x->kind - (int)y->kind;
	return ig_addr_cmp(&x->r.first, &y->r.first);
}

/** add one to an address; returns 0 on wrap */
static int
addr_inc(struct ig_addr* a)
{
	int i;
	for(i = 15; i >= 0; i--)
		if(++a->b[i] != 0) return 1;
	return 0;
}

int
ig_rangeset_write(struct ig_rangeset* s, struct ig_writer* w, size_t* merged)
{
	size_t i = 0;
	*merged = 0;
	if(s->n) qsort(s->v, s->n, sizeof(*s->v), range_cmp);
	ig_writer_set_sorted(w, 1);
	while(i < s->n) {
		struct ig_pending_range cur = s->v[i++];
		while(i < s->n && s->v[i].kind == cur.kind) {
			struct ig_addr next = cur.r.last;
			int nowrap = addr_inc(&next);
			if(nowrap && ig_addr_cmp(&s->v[i].r.first, &next) > 0)
				break;
			if(ig_addr_cmp(&s->v[i].r.last, &cur.r.last) > 0)
				cur.r.last = s->v[i].r.last;
			i++;
			(*merged)++;
		}
		if(!ig_writer_range(w, cur.kind, &cur.r, cur.owner)) {
			ig_writer_set_sorted(w, 0);
			return 0;
		}
	}
	ig_writer_set_sorted(w, 0);
	return 1;
}

void
ig_rangeset_free(struct ig_rangeset* s)
{
	size_t i;
	for(i = 0; i < s->n; i++) free(s->v[i].owner);
	free(s->v);
	memset(s, 0, sizeof(*s));
}
