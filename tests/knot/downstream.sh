#!/bin/sh
# tests/knot/downstream.sh: what resolvers downstream of knotd with the
# module see (issue 19; TAP).
#
# knotd with mod-icpguard on 127.0.0.21 (a free port) serves filed.cn,
# DNSSEC-signed by knotd itself (ECDSA P-256, NSEC, keys in a temporary
# KASP database), and bad.cn (unsigned, blacklisted), policy TTL 3 s.  A
# plain Unbound (no icpguard module: "validator iterator") uses knotd as
# the stub for both zones, with filed.cn's KSK as its trust anchor:
#  - a filed name of the signed zone validates (AD);
#  - the blacklisted name is NXDOMAIN downstream, cached for the policy
#    TTL (the negative TTL Unbound reports is at most 3 s, and counts down
#    below it: the answer comes from its cache);
#  - an order on filed.cn: knotd's unsigned policy answer is bogus for the
#    validating resolver (SERVFAIL; with +cd the NXDOMAIN comes through),
#    while the zone's DNSKEY still validates (docs/knot.md, "A
#    DNSSEC-signed zone"); a name the resolver cached before the order
#    keeps its cached answer until its TTL;
#  - the order lifted, and the blacklist entry lifted: the resolver sees
#    the real answers once what it cached expires (bounded waits, never a
#    timed assertion).
set -u
IG_TAP=1
. "$(dirname "$0")/lib.sh"
TTL=3
knot_test_init knot-downstream "${IG_KNOT_DOWNSTREAM_ADDR:-127.0.0.21}" unbound
cp "$KZONES/filed.cn.zone" "$KZONES/bad.cn.zone" "$W/zones/"
POL=$W/policy-src
cp -r "$IG_POLICY_SRC" "$POL"
ig_build_policy "$POL" "$W/snapshot.mdb" || { ig_diag "$(cat "$W/build.log")"; ig_bail "icpguard build failed"; }
mkdir "$W/orders-src"
: >"$W/orders-src/orders.jsonl"
ig_build_policy "$W/orders-src" "$W/orders.mdb" || ig_bail "order snapshot build failed"

# knotd signs filed.cn itself (ECDSA, NSEC)
KNOT_SIGN="filed.cn=nsec"
write_conf enforce
start_knot filed.cn || { ig_diag "$(tail -20 "$W/knotd.log" "$W/knotd.out" 2>/dev/null)"; ig_bail "knotd with the module did not start"; }
# signing happens at load: wait for the signed DNSKEY set (bounded)
KSK=$(knot_ksk filed.cn)
ig_result $([ -n "$KSK" ]; echo $?) "knotd signs filed.cn (a KSK in its DNSKEY set)" ||
	ig_diag "$(tail -10 "$W/knotd.log")"

UB_ANCHORS="filed.cn. DNSKEY $KSK"
UB_EXTRA="val-bogus-ttl: 1"
start_downstream filed.cn bad.cn
ig_result $? "a plain Unbound (no icpguard module) resolves through knotd" ||
	ig_diag "$(tail -5 "$W/unbound.log" "$W/unbound.out" 2>/dev/null)"

# --- a filed name of the signed zone validates
d www.filed.cn A +dnssec
check_rcode NOERROR "www.filed.cn through the validating resolver: NOERROR"
ig_result $(has_ad; echo $?) "www.filed.cn: validated (AD)" || ig_diag "$IG_OUT"

# --- the blacklisted name: NXDOMAIN downstream, cached for the policy TTL
d www.bad.cn A
check_rcode NXDOMAIN "www.bad.cn through the resolver: NXDOMAIN"
d www.bad.cn A
soa_ttl=$(ig_section AUTHORITY | awk '$4 == "SOA" { print $2; exit }')
ig_result $([ -n "$soa_ttl" ] && [ "$soa_ttl" -le "$TTL" ]; echo $?) \
	"the cached policy answer lives at most the policy TTL ($soa_ttl s <= $TTL s)" || ig_diag "$IG_OUT"
# knotd always sends the policy TTL itself: a TTL below it is the
# resolver's cache counting down (asked until seen, bounded: 50 queries,
# 10 s; a fresh fetch after expiry starts at the policy TTL again)
_t0=$(ig_now_ms) _i=0 soa_ttl=""
while [ $_i -lt 50 ] && [ $(( $(ig_now_ms) - _t0 )) -lt 10000 ]; do
	d www.bad.cn A
	soa_ttl=$(ig_section AUTHORITY | awk '$4 == "SOA" { print $2; exit }')
	[ "$(ig_rcode)" = NXDOMAIN ] && [ -n "$soa_ttl" ] && [ "$soa_ttl" -lt "$TTL" ] && break
	ig_sleep_ms 200
	_i=$((_i + 1))
done
ig_result $([ "$(ig_rcode)" = NXDOMAIN ] && [ -n "$soa_ttl" ] && [ "$soa_ttl" -lt "$TTL" ]; echo $?) \
	"the resolver answers the policy answer from its cache (TTL counting down: $soa_ttl s, after $(( $(ig_now_ms) - _t0 )) ms)" ||
	ig_diag "$IG_OUT"

# --- an order on the signed zone: bogus downstream, the block holds
echo '{"id":"ord-ds-1","doc_no":"工信厅信管函〔2026〕21号","unit":"工业和信息化部","reason":"违法违规","targets":["filed.cn"],"effective":"2022-01-01"}' >"$W/orders-src/orders.jsonl"
ig_build_policy "$W/orders-src" "$W/orders.mdb" || ig_bail "order snapshot build failed"
until_rcode www.filed.cn A NXDOMAIN
ig_result $? "the order is in force at knotd ($IG_WAITED ms)"
check_ede 16 'ord-ds-1' "knotd: the policy answer carries EDE 16 with the order"
# a name not in the resolver's cache yet (filed.cn A): knotd's answer
ASK=d until_rcode filed.cn A SERVFAIL
ig_result $? "the validating resolver: the unsigned policy answer of the signed zone is bogus, SERVFAIL ($IG_WAITED ms)" ||
	ig_diag "$IG_OUT"
d mail.filed.cn MX +cd
check_rcode NXDOMAIN "with +cd (no validation): the NXDOMAIN comes through"
# what the resolver cached before the order it keeps until the record's
# TTL (300 s here): an authoritative server cannot reach downstream caches
d www.filed.cn A
check_rcode NOERROR "www.filed.cn, cached downstream before the order: still its cached answer (zone TTL)"
d filed.cn DNSKEY +dnssec
check_rcode NOERROR "the zone's DNSKEY is still answered downstream"
ig_result $(has_ad; echo $?) "... and validates (AD): the rest of the zone is not bogus" || ig_diag "$IG_OUT"

# --- the order lifted: the real, validated answer again
: >"$W/orders-src/orders.jsonl"
ig_build_policy "$W/orders-src" "$W/orders.mdb" || ig_bail "order snapshot rebuild failed"
ASK=d until_rcode filed.cn A NOERROR
ig_result $? "the order lifted: the resolver gets filed.cn again once the bogus answer's 1 s (val-bogus-ttl) passed ($IG_WAITED ms)"
d filed.cn A +dnssec
ig_result $(has_ad; echo $?) "... validated (AD)" || ig_diag "$IG_OUT"

# --- the blacklist entry lifted: the real answer once the cached policy
# answer expires
grep -v '"bad.cn"' "$POL/blacklist.jsonl" >"$POL/bl.tmp" && mv "$POL/bl.tmp" "$POL/blacklist.jsonl"
ig_build_policy "$POL" "$W/snapshot.mdb" || ig_bail "rebuild failed"
until_rcode www.bad.cn A NOERROR
ig_result $? "bad.cn lifted: knotd answers www.bad.cn ($IG_WAITED ms)"
ASK=d until_rcode www.bad.cn A NOERROR
ig_result $? "the resolver gets the real answer once its cached policy answer expired ($IG_WAITED ms)"
check_answer_contains A '^127\.0\.20\.9$' "www.bad.cn downstream: its own address"

ig_done
