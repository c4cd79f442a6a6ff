/*
 * lib/verdict.c - the policy decision.
 *
 * \file
 * See verdict.h.  Each chain name is walked once: one LMDB lookup per
 * ancestor in the name database, whose flags say which other databases
 * hold a record at that exact name.
 */
#include "lib/verdict.h"
#include <stdio.h>
#include <string.h>

static const char* const reason_names[IG_REASON_COUNT] = {
	"filed", "exempt", "abroad", "pending", "order", "blacklist",
	"nofiling", "redirect"
};

const char*
ig_reason_name(enum ig_reason r)
{
	return (unsigned)r < IG_REASON_COUNT ? reason_names[r] : "?";
}

int
ig_reason_parse(const char* s)
{
	int i;
	for(i = 0; i < IG_REASON_COUNT; i++)
		if(strcmp(s, reason_names[i]) == 0) return i;
	return -1;
}

/** copy a string into a fixed buffer, cut to fit (snprintf "%s" without
 * the format parsing: this is on every query's path) */
static void
copy_str(char* dst, size_t cap, const char* src)
{
	size_t n = strlen(src);
	if(n >= cap) n = cap - 1;
	memcpy(dst, src, n);
	dst[n] = 0;
}

/** one name and what the snapshot holds along its ancestors */
struct walk {
	/** the wire name */
	const uint8_t* wire;
	/** its key */
	uint8_t key[IG_KEY_MAX];
	/** key length of the ancestor with i+1 labels */
	size_t labelend[IG_LABELS_MAX];
	/** number of labels */
	int nl;
	/** IG_NAME_* flags at each ancestor (index = labels - 1) */
	uint8_t flags[IG_LABELS_MAX];
	/** union of the flags */
	unsigned any;
	/** flags in the order snapshot, when there is one */
	uint8_t uflags[IG_LABELS_MAX];
	/** their union */
	unsigned uany;
	/** level of the nearest filing, -1 if none */
	int filing_level;
	/** exempt: -1 not known yet, else 0/1 (libpsl is asked once) */
	int exempt;
	/** level of the operator exemption that matched, -1 none */
	int exempt_level;
	/** that filing */
	struct ig_filing filing;
	/** 1 when a delta snapshot holds a record at some ancestor */
	int layered;
	/** where it does (index = labels - 1); read only when layered */
	uint8_t dpresent[IG_LABELS_MAX];
};

/**
 * Lay the delta snapshot d over a name walked in the main snapshot v: at
 * each ancestor the delta holds, its filing and blacklist flags replace
 * the main snapshot's (IG_DELTA_FLAGS; the others stay), and the nearest
 * filing is found again over the merged flags.  A filing the delta hides
 * may uncover one higher up in v: that one is read from v (one lookup, only
 * then).
 */
static void
walk_delta(struct ig_view* v, struct ig_view* d, struct walk* w)
{
	uint8_t dflags[IG_LABELS_MAX];
	struct ig_filing df;
	int dlevel, lvl, top = -1;
	int nl = w->nl < IG_LABELS_MAX ? w->nl : IG_LABELS_MAX;
	w->layered = ig_view_walk_layer(d, w->key, w->labelend, nl, dflags,
		w->dpresent, &df, &dlevel) > 0;
	if(!w->layered) return;
	w->any = 0;
	for(lvl = 0; lvl < nl; lvl++) {
		if(w->dpresent[lvl])
			w->flags[lvl] = (uint8_t)((w->flags[lvl] &
				~IG_DELTA_FLAGS) | (dflags[lvl] & IG_DELTA_FLAGS));
		w->any |= w->flags[lvl];
		if(w->flags[lvl] & IG_NAME_FILING) top = lvl;
	}
	if(top >= 0 && w->dpresent[top]) {
		/* the delta's own nearest filing (no deeper level of the
		 * delta has one, or top would be deeper) */
		w->filing = df;
	} else if(top >= 0 && top != w->filing_level &&
		!(ig_view_name(v, w->key, w->labelend[top], &w->filing) &
		IG_NAME_FILING)) {
		top = -1;
	}
	w->filing_level = top;
}

/** the view that holds the records behind flags IG_DELTA_FLAGS at level
 * lvl of a walked name: the delta where it holds the name, else v */
static struct ig_view*
layer_at(struct ig_view* v, struct ig_view* d, const struct walk* w, int lvl)
{
	return (d && w->layered && w->dpresent[lvl]) ? d : v;
}

/** walk one name through the name database(s): the order snapshot u,
 * the main snapshot v and the delta d over it (u and d may be NULL) */
static void
walk_name(struct ig_view* v, struct ig_view* u, struct ig_view* d,
	const uint8_t* wire, struct walk* w)
{
	struct ig_filing uf;
	int ulevel;
	w->wire = wire;
	ig_name_wire_to_key(wire, w->key, w->labelend, &w->nl);
	w->uany = 0;
	w->exempt = -1;
	w->exempt_level = -1;
	/* the order snapshot holds orders and urgent blacklist entries only:
	 * its filings (none) are not used */
	if(u)
		w->uany = ig_view_walk(u, w->key, w->labelend, w->nl, w->uflags,
			&uf, &ulevel);
	w->any = ig_view_walk(v, w->key, w->labelend, w->nl, w->flags,
		&w->filing, &w->filing_level);
	w->layered = 0;
	if(d) walk_delta(v, d, w);
}

/** copy the ancestor of w with lvl+1 labels into out as a wire name */
static void
ancestor_wire(const struct walk* w, int lvl, uint8_t* out)
{
	const uint8_t* p = w->wire;
	int skip = w->nl - (lvl + 1), i;
	for(i = 0; i < skip; i++) p += 1 + *p;
	memcpy(out, p, ig_name_wire_len(p));
}

/** the identity a verdict names when its record comes from view v: the
 * snapshot's, a delta's naming its base too; the serial is the base's */
static void
identity_from(struct ig_view* v, struct ig_verdict* out)
{
	const struct ig_snapshot_info* si = ig_snapshot_info(v->snap);
	out->serial = si->is_delta ? si->base_serial : si->serial;
	copy_str(out->snapshot, sizeof(out->snapshot), si->ident);
}

/** start a verdict; v the main snapshot's view, or the delta's over it */
static void
verdict_init(struct ig_view* v, const struct ig_facts* f,
	struct ig_verdict* out)
{
	/* not a memset of the whole record (1 KiB, a tenth of a verdict):
	 * every field is set or its string emptied */
	out->block = 0;
	out->reason = IG_REASON_FILED;
	memcpy(out->name, f->qname, ig_name_wire_len(f->qname));
	out->match[0] = 0;
	out->id[0] = 0;
	out->doc_no[0] = 0;
	out->detail[0] = 0;
	identity_from(v, out);
}

/** set a block verdict about chain name w matched at level lvl */
static int
block(struct ig_verdict* out, enum ig_reason r, const struct walk* w,
	int lvl)
{
	out->block = 1;
	out->reason = r;
	memcpy(out->name, w->wire, ig_name_wire_len(w->wire));
	if(lvl >= 0) ancestor_wire(w, lvl, out->match);
	return 1;
}


/** an active order at one level of a chain name, in view v */
static int
order_at(struct ig_view* v, struct walk* w, int lvl, int64_t now,
	struct ig_verdict* out)
{
	struct ig_order o;
	if(!ig_view_order_at(v, w->key, w->labelend[lvl], lvl == w->nl - 1,
		now, &o))
		return 0;
	copy_str(out->id, sizeof(out->id), o.id);
	copy_str(out->doc_no, sizeof(out->doc_no), o.doc_no);
	snprintf(out->detail, sizeof(out->detail), "%s: %s", o.unit, o.reason);
	identity_from(v, out);
	return block(out, IG_REASON_ORDER, w, lvl);
}

/** a covering blacklist entry at one level of a chain name, in view v;
 * the verdict names ident's snapshot (the delta's over v names both) */
static int
blacklist_at(struct ig_view* v, struct ig_view* ident, struct walk* w,
	int lvl, struct ig_verdict* out)
{
	struct ig_blacklist b;
	if(!ig_view_blacklist(v, w->key, w->labelend[lvl], &b)) return 0;
	if(!b.subtree && lvl != w->nl - 1) return 0;
	copy_str(out->detail, sizeof(out->detail), b.reason);
	copy_str(out->id, sizeof(out->id), b.source);
	identity_from(ident, out);
	return block(out, IG_REASON_BLACKLIST, w, lvl);
}

/**
 * rules 1 and 2: an active order (flag IG_NAME_ORDER) or a blacklist entry
 * (IG_NAME_BLACKLIST) on any chain name, in the order snapshot u or the
 * main snapshot v with the delta d over it (orders are never in a delta)
 */
static int
rule_listed(struct ig_view* v, struct ig_view* u, struct ig_view* d,
	struct walk* ws, int n, unsigned flag, int64_t now,
	struct ig_verdict* out)
{
	struct ig_view* ident = d ? d : v;
	int i, lvl;
	for(i = 0; i < n; i++) {
		if(!((ws[i].any | ws[i].uany) & flag)) continue;
		for(lvl = ws[i].nl - 1; lvl >= 0; lvl--) {
			if(flag == IG_NAME_ORDER) {
				if(u && (ws[i].uflags[lvl] & flag) &&
					order_at(u, &ws[i], lvl, now, out))
					return 1;
				if((ws[i].flags[lvl] & flag) &&
					order_at(v, &ws[i], lvl, now, out)) {
					if(d) identity_from(d, out);
					return 1;
				}
			} else {
				if(u && (ws[i].uflags[lvl] & flag) &&
					blacklist_at(u, u, &ws[i], lvl, out))
					return 1;
				if((ws[i].flags[lvl] & flag) &&
					blacklist_at(layer_at(v, d, &ws[i],
					lvl), ident, &ws[i], lvl, out))
					return 1;
			}
		}
	}
	return 0;
}

/**
 * Is the name exempt?  Built in: the root, arpa. and below, every public
 * suffix (TLDs included); and operator exemptions.
 * @param lvl_out: level of the matching operator exemption, or -1.
 */
static int
name_exempt_find(struct ig_view* v, const struct walk* w, int* lvl_out)
{
	int lvl;
	char text[1024];
	size_t tl;
	*lvl_out = -1;
	if(w->nl == 0) return 1;
	if(w->key[0] == 4 && memcmp(w->key + 1, "arpa", 4) == 0) return 1;
	if(w->any & IG_NAME_EXEMPT) {
		for(lvl = w->nl - 1; lvl >= 0; lvl--) {
			struct ig_exempt x;
			if(!(w->flags[lvl] & IG_NAME_EXEMPT)) continue;
			if(!ig_view_exempt(v, w->key, w->labelend[lvl], &x))
				continue;
			if(x.subtree || lvl == w->nl - 1) {
				*lvl_out = lvl;
				return 1;
			}
		}
	}
	if(w->nl == 1) return 1; /* a TLD */
	if(w->filing_level >= 0) return 0; /* registrable: has a filing */
	if(ig_snapshot_info(v->snap)->has_psl) {
		/* the suffix list is in the snapshot: the walk's flags say */
		if(w->flags[w->nl - 1] & IG_NAME_SUFFIX) return 1;
		return (w->flags[w->nl - 2] & IG_NAME_SUFFIX_WILD) &&
			!ig_snapshot_psl_exception(v->snap, w->key,
			w->labelend[w->nl - 1]);
	}
	/* from the key, which is lower case: the PSL lookup is
	 * case-sensitive and a QNAME off the wire may be in any case */
	ig_name_key_to_text(w->key, w->labelend[w->nl - 1], text,
		sizeof(text));
	tl = strlen(text);
	if(tl > 1 && text[tl-1] == '.') text[tl-1] = 0;
	return ig_name_is_public_suffix(text);
}

/** name_exempt_find, remembered in the walk */
static int
name_exempt(struct ig_view* v, struct walk* w, int* lvl_out)
{
	if(w->exempt < 0)
		w->exempt = name_exempt_find(v, w, &w->exempt_level);
	*lvl_out = w->exempt_level;
	return w->exempt;
}

/** is the name covered by an active filing (or exempt)? */
static int
name_filed(struct ig_view* v, struct walk* w)
{
	int lvl;
	if(w->filing_level >= 0 && w->filing.status == IG_FILING_ACTIVE)
		return 1;
	return name_exempt(v, w, &lvl);
}

/** rule 5 redirect part: endpoint host in the chain or address in range */
static int
rule_redirect(struct ig_view* v, struct walk* ws, int n,
	const struct ig_facts* f, const struct walk* unfiled,
	struct ig_verdict* out)
{
	int i, lvl;
	for(i = 1; i < n; i++) {
		if(!(ws[i].any & IG_NAME_REDIRECT)) continue;
		for(lvl = ws[i].nl - 1; lvl >= 0; lvl--) {
			const char* reg;
			char t[1024];
			if(!(ws[i].flags[lvl] & IG_NAME_REDIRECT)) continue;
			if(!ig_view_redirect_host(v, ws[i].key,
				ws[i].labelend[lvl], &reg)) continue;
			copy_str(out->id, sizeof(out->id), reg);
			snprintf(out->detail, sizeof(out->detail),
				"alias %s is a registrar forwarding/parking "
				"host", ig_name_wire_to_text(ws[i].wire, t,
				sizeof(t)));
			block(out, IG_REASON_REDIRECT, unfiled, -1);
			ancestor_wire(&ws[i], lvl, out->match);
			return 1;
		}
	}
	for(i = 0; i < f->naddr; i++) {
		const char* reg;
		char t[64];
		if(!ig_view_range(v, IG_RANGE_REDIRECT, &f->addr[i], NULL, &reg))
			continue;
		copy_str(out->id, sizeof(out->id), reg);
		snprintf(out->detail, sizeof(out->detail), "address %s is a "
			"registrar forwarding/parking endpoint",
			ig_addr_to_text(&f->addr[i], t, sizeof(t)));
		return block(out, IG_REASON_REDIRECT, unfiled, -1);
	}
	return 0;
}

int
ig_addrs_matter(struct ig_view* v, const struct ig_addr* a, int n)
{
	int i;
	for(i = 0; i < n; i++)
		if(ig_view_range(v, IG_RANGE_DOMESTIC, &a[i], NULL, NULL) ||
			ig_view_range(v, IG_RANGE_REDIRECT, &a[i], NULL, NULL))
			return 1;
	return 0;
}

int
ig_decide(struct ig_view* v, const struct ig_facts* f,
	const struct ig_policy_opts* o, struct ig_verdict* out)
{
	struct walk ws[IG_CHAIN_MAX + 1];
	int n = 1, i, nfiling, lvl;
	const struct walk* unfiled = NULL;

	verdict_init(o->delta ? o->delta : v, f, out);
	walk_name(v, o->urgent, o->delta, f->qname, &ws[0]);
	for(i = 0; f->answered && i < f->nalias && i < IG_CHAIN_MAX; i++)
		walk_name(v, o->urgent, o->delta, f->alias[i], &ws[n++]);

	if(rule_listed(v, o->urgent, o->delta, ws, n, IG_NAME_ORDER, o->now,
		out))
		return 1;
	if(rule_listed(v, o->urgent, o->delta, ws, n, IG_NAME_BLACKLIST,
		o->now, out))
		return 1;
	if(name_exempt(v, &ws[0], &lvl)) {
		out->reason = IG_REASON_EXEMPT;
		if(lvl >= 0) ancestor_wire(&ws[0], lvl, out->match);
		return 0;
	}
	/* the names that need a filing: the QNAME and each alias owner (all
	 * chain names but the final target) */
	nfiling = (o->chain == IG_CHAIN_QNAME) ? 1 : (n > 1 ? n - 1 : 1);
	for(i = 0; i < nfiling; i++) {
		if(!name_filed(v, &ws[i])) {
			unfiled = &ws[i];
			break;
		}
	}
	if(!unfiled) {
		out->reason = IG_REASON_FILED;
		if(ws[0].filing_level >= 0) {
			ancestor_wire(&ws[0], ws[0].filing_level, out->match);
			copy_str(out->id, sizeof(out->id),
				ws[0].filing.number);
		}
		return 0;
	}
	/* why unfiled, for the record */
	if(unfiled->filing_level >= 0) {
		copy_str(out->id, sizeof(out->id), unfiled->filing.number);
		copy_str(out->detail, sizeof(out->detail),
			unfiled->filing.status == IG_FILING_REVOKED ?
			"filing revoked" : "filing cancelled");
	} else if(unfiled->nl > 0 && !(unfiled->flags[0] & IG_NAME_TLD)) {
		copy_str(out->detail, sizeof(out->detail),
			"no filing; TLD not on the filable list");
	} else {
		copy_str(out->detail, sizeof(out->detail), "no filing");
	}
	if(f->answered && rule_redirect(v, ws, n, f, unfiled, out)) {
		if(unfiled->filing_level >= 0)
			ancestor_wire(unfiled, unfiled->filing_level,
				out->match);
		return 1;
	}
	if(o->scope == IG_SCOPE_ALL) {
		block(out, IG_REASON_NOFILING, unfiled,
			unfiled->filing_level);
		return 1;
	}
	if(!f->answered) {
		out->reason = IG_REASON_PENDING;
		return 0;
	}
	for(i = 0; i < f->naddr; i++) {
		char t[64];
		if(!ig_view_range(v, IG_RANGE_DOMESTIC, &f->addr[i], NULL, NULL))
			continue;
		{
			size_t dl = strlen(out->detail);
			snprintf(out->detail + dl, sizeof(out->detail) - dl,
				"; domestic address %s",
				ig_addr_to_text(&f->addr[i], t, sizeof(t)));
		}
		block(out, IG_REASON_NOFILING, unfiled, unfiled->filing_level);
		return 1;
	}
	out->reason = IG_REASON_ABROAD;
	out->id[0] = 0;
	return 0;
}
