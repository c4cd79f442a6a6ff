#!/bin/sh
# tests/knot/dnssec.sh: a DNSSEC-signed hosted zone and the Knot module
# (issue 19; TAP): what knotd sends for a policy answer with DO set, and
# what a validating resolver makes of it (docs/knot.md, "A DNSSEC-signed
# zone").
#
# knotd with mod-icpguard on 127.0.0.23 (a free port) signs three zones
# itself (ECDSA P-256, keys made at load in a temporary KASP database):
# filed.cn and bad.cn with NSEC, unfiled-dom.cn with NSEC3; policy TTL 3 s.
# Asked directly with +dnssec (RD=0), each twice:
#  - a policy answer, decided before the answer (bad.cn, blacklisted) or on
#    it (unfiled-dom.cn, unfiled with domestic addresses; an in-zone CNAME
#    chain), is NXDOMAIN, AA, DO echoed, the zone's SOA with the policy TTL
#    as the only authority record, no RRSIG, NSEC or NSEC3 anywhere, the
#    EDE; the module has no keys and signs nothing;
#  - what the policy lets through keeps Knot's signatures: a filed name's
#    RRSIG, a nonexistent name's signed denial (NSEC, NSEC3), the blocked
#    zones' SOA, DNSKEY and MX.
# A plain validating Unbound (no icpguard module, "validator iterator",
# the three KSKs as trust anchors, ede: yes) downstream:
#  - the filed name, the nonexistent name's denial and the blocked zone's
#    DNSKEY validate (AD): the zones themselves are not bogus;
#  - each policy answer (an existing name or, blacklisted, one that does
#    not exist) is bogus: SERVFAIL with one of Unbound's DNSSEC EDEs (6
#    DNSSEC Bogus, 9 DNSKEY Missing, 10 RRSIGs Missing), a validation
#    failure in its log, twice; nothing of the block's reason reaches the
#    client; with +cd knotd's NXDOMAIN (the policy SOA, or the zone's own
#    validated SOA when the resolver holds one).
set -u
IG_TAP=1
. "$(dirname "$0")/lib.sh"
TTL=3
knot_test_init knot-dnssec "${IG_KNOT_DNSSEC_ADDR:-127.0.0.23}" unbound
for z in filed.cn bad.cn unfiled-dom.cn; do cp "$KZONES/$z.zone" "$W/zones/"; done
ig_build_policy "$IG_POLICY_SRC" "$W/snapshot.mdb" || { ig_diag "$(cat "$W/build.log")"; ig_bail "icpguard build failed"; }

KNOT_SIGN="filed.cn=nsec bad.cn=nsec unfiled-dom.cn=nsec3"
write_conf enforce
start_knot filed.cn || { ig_diag "$(tail -20 "$W/knotd.log" "$W/knotd.out" 2>/dev/null)"; ig_bail "knotd with the module did not start"; }
UB_ANCHORS=""
for z in filed.cn bad.cn unfiled-dom.cn; do
	_k=$(knot_ksk "$z")
	ig_result $([ -n "$_k" ]; echo $?) "knotd signs $z (a KSK in its DNSKEY set)" ||
		ig_diag "$(tail -10 "$W/knotd.log")"
	UB_ANCHORS="$UB_ANCHORS
$z. DNSKEY $_k"
done
q unfiled-dom.cn NSEC3PARAM +dnssec +nomultiline
check_answer_contains NSEC3PARAM '^1 ' "unfiled-dom.cn is signed with NSEC3 (NSEC3PARAM)"

# the types of the records in SECTION of the last answer, one a line
types_in() {
	ig_section "$1" | awk '{ print $4 }'
}
# dnssec_types: how many RRSIG, NSEC and NSEC3 records the last answer has
dnssec_types() {
	printf '%s\n' "$IG_OUT" | awk '!/^;/ && ($4 == "RRSIG" || $4 == "NSEC" || $4 == "NSEC3")' | wc -l
}
check_do() {
	printf '%s\n' "$IG_OUT" | grep -q '^; EDNS: version: 0, flags: do;'
	ig_check $? "$1" "DO is not set in the answer's OPT"
}

# signed_policy NAME ZONE EDE REGEX: knotd's policy answer with DO set,
# asked twice
signed_policy() {
	for _try in 1 2; do
		q "$1" A +dnssec +nomultiline
		check_rcode NXDOMAIN "$1 +dnssec ($_try): NXDOMAIN"
		case " $(ig_flags) " in *" aa "*) _aa=0 ;; *) _aa=1 ;; esac
		ig_check $_aa "$1 +dnssec ($_try): AA" "AA is clear"
		check_do "$1 +dnssec ($_try): DO echoed in the OPT record"
		check_answer_empty "$1 +dnssec ($_try): empty answer"
		_auth=$(ig_section AUTHORITY)
		_soa=$(printf '%s\n' "$_auth" | awk -v z="$2." -v t="$TTL" \
			'$1 == z && $2 == t && $4 == "SOA" && $NF == t')
		[ "$(printf '%s\n' "$_auth" | grep -c .)" = 1 ] && [ -n "$_soa" ]
		ig_check $? "$1 +dnssec ($_try): the only authority record is $2's SOA, TTL and MINIMUM $TTL" \
			"authority: $_auth"
		[ "$(dnssec_types)" = 0 ] && [ -z "$(ig_section ADDITIONAL)" ]
		ig_check $? "$1 +dnssec ($_try): no RRSIG, NSEC or NSEC3, no additional record" \
			"$(dnssec_types) DNSSEC records; additional: $(ig_section ADDITIONAL)"
		check_ede "$3" "$4" "$1 +dnssec ($_try): EDE $3 /$4/"
	done
}
# signed_answer NAME TYPE RCODE TYPES: knotd's own signed answer (asked
# twice): RCODE and, in the answer or authority section, the record types
# TYPES (a space-separated list, each at least once)
signed_answer() {
	for _try in 1 2; do
		q "$1" "$2" +dnssec +nomultiline
		check_rcode "$3" "$1 $2 +dnssec ($_try): $3"
		_have=" $(types_in ANSWER | tr '\n' ' ') $(types_in AUTHORITY | tr '\n' ' ') "
		_miss=""
		for _t in $4; do
			case "$_have" in *" $_t "*) ;; *) _miss="$_miss $_t" ;; esac
		done
		[ -z "$_miss" ]
		ig_check $? "$1 $2 +dnssec ($_try): signed by knotd ($4)" "missing:$_miss"
		check_no_policy_ede "$1 $2 +dnssec ($_try): no policy EDE"
	done
}

# --- knotd directly, DO set
signed_policy www.bad.cn bad.cn 15 'icpguard: blacklist bad\.cn\. snapshot'
signed_policy www.unfiled-dom.cn unfiled-dom.cn 15 'icpguard: nofiling www\.unfiled-dom\.cn\. snapshot'
signed_policy start.unfiled-dom.cn unfiled-dom.cn 15 'nofiling'
signed_answer www.filed.cn A NOERROR "A RRSIG"
signed_answer nope.filed.cn A NXDOMAIN "SOA NSEC RRSIG"
signed_answer nope.unfiled-dom.cn A NXDOMAIN "SOA NSEC3 RRSIG"
signed_answer unfiled-dom.cn MX NOERROR "MX RRSIG"
signed_answer unfiled-dom.cn DNSKEY NOERROR "DNSKEY RRSIG"
signed_answer bad.cn SOA NOERROR "SOA RRSIG"

# --- a validating resolver downstream
UB_EXTRA="ede: yes
val-log-level: 2"
start_downstream filed.cn bad.cn unfiled-dom.cn
ig_result $? "a plain validating Unbound (no icpguard module) resolves through knotd" ||
	ig_diag "$(tail -5 "$W/unbound.log" "$W/unbound.out" 2>/dev/null)"
# secure NAME TYPE RCODE: validated downstream
secure() {
	d "$1" "$2" +dnssec
	check_rcode "$3" "$1 $2 downstream: $3"
	ig_result $(has_ad; echo $?) "$1 $2 downstream: validated (AD)" || ig_dump
}
secure www.filed.cn A NOERROR
secure nope.unfiled-dom.cn A NXDOMAIN
secure unfiled-dom.cn MX NOERROR
secure unfiled-dom.cn DNSKEY NOERROR
secure bad.cn SOA NOERROR

# unbound_dnssec_ede: the last answer has one of the EDE codes Unbound's
# validator gives (6 DNSSEC Bogus, 9 DNSKEY Missing, 10 RRSIGs Missing:
# which one depends on the name and on what its cache holds)
unbound_dnssec_ede() {
	case "$(ig_ede_line)" in "; EDE: 6 "*|"; EDE: 9 "*|"; EDE: 10 "*) return 0 ;; esac
	return 1
}
# bogus NAME ZONE SOA: the policy answer of a signed zone through the
# validator: SERVFAIL (twice: the second from its cache of bogus answers);
# with +cd knotd's NXDOMAIN, whose SOA is ZONE's: SOA=policy the policy SOA
# (TTL at most the policy TTL), SOA=any also the zone's own validated SOA
# when the resolver holds it from an earlier negative answer
bogus() {
	for _try in 1 2; do
		d "$1" A +dnssec
		check_rcode SERVFAIL "$1 downstream ($_try): SERVFAIL (the unsigned policy answer is bogus)"
		ig_result $(unbound_dnssec_ede; echo $?) "$1 downstream ($_try): Unbound's DNSSEC EDE (6, 9 or 10): $(ig_ede_line | sed 's/^; //')" || ig_dump
		check_no_address "$1 downstream ($_try): no address"
	done
	grep -q "validation failure <$1\. A IN>" "$W/unbound.log"
	ig_result $? "$1: Unbound logs the validation failure: $(grep "validation failure <$1\. A IN>" "$W/unbound.log" | head -1 | sed 's/.*>: //')" ||
		ig_diag "$(grep 'validation failure' "$W/unbound.log" | tail -3)"
	d "$1" A +dnssec +cd
	check_rcode NXDOMAIN "$1 downstream with +cd (no validation): knotd's NXDOMAIN"
	check_ad_clear "$1 +cd: not validated (AD clear)"
	check_no_policy_ede "$1 +cd: knotd's EDE does not pass the resolver"
	_soa=$(ig_section AUTHORITY | awk -v z="$2." '$1 == z && $4 == "SOA"')
	if [ "$3" = policy ]; then
		[ -n "$_soa" ] && [ -z "$(printf '%s\n' "$_soa" | awk -v t="$TTL" '$2 > t || $NF != t')" ]
		ig_check $? "$1 +cd: $2's policy SOA, TTL at most $TTL s, MINIMUM $TTL" "SOA: ${_soa:-none}"
	else
		[ -n "$_soa" ]
		ig_check $? "$1 +cd: $2's SOA (TTL $(printf '%s' "$_soa" | awk '{ print $2 }'), MINIMUM $(printf '%s' "$_soa" | awk '{ print $NF }'))" "no SOA of $2"
	fi
}
bogus www.bad.cn bad.cn policy
bogus nothere.bad.cn bad.cn policy
# the resolver validated unfiled-dom.cn's own SOA with nope.unfiled-dom.cn's
# denial above: with +cd it may answer with that one
bogus www.unfiled-dom.cn unfiled-dom.cn any
bogus start.unfiled-dom.cn unfiled-dom.cn any
# the bogus answers did not make the zones bogus
secure unfiled-dom.cn DNSKEY NOERROR
secure bad.cn DNSKEY NOERROR
secure txt.unfiled-dom.cn TXT NOERROR
secure www.filed.cn A NOERROR

ig_done
