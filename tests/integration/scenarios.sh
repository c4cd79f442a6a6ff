#!/bin/sh
# tests/integration/scenarios.sh: the policy scenarios end to end (TAP).
#
# Real NSD tree on 127.0.0.2-7 (tests/integration/zones), the real dynlib
# Unbound with the icpguard module, the test policy (tests/integration/policy).
# Every scenario is asked twice: the first answer is resolved (or decided
# before resolution), the second comes from Unbound's cache (checked: the
# tree receives no query for it).  Blocked answers: NXDOMAIN, AD clear, the
# EDE (15 Blocked, or 16 Censored with the order's document number), no
# address in the answer, a synthesized SOA owned by the QNAME with RNAME
# under icpguard.invalid. and TTL = policy-ttl.  Passing answers: NOERROR,
# the expected records, TTLs no longer than the zone's, no policy EDE.
# Blocks known before resolution (order, blacklist) send nothing upstream:
# proved with NSD's query counters.  At the end, the options: scope all,
# chain-check qname, monitor mode, the nodata/refused/redirect actions.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/integration/lib.sh"

ig_init scenarios
ig_start_tree
ig_build_policy "$IG_POLICY_SRC" || { ig_diag "$(cat "$IG_WORK/build.log")"; ig_bail "icpguard build failed"; }
ig_start_unbound || ig_bail "Unbound with the module did not start"

TTL=$IG_POLICY_TTL
ZONE_TTL=300
ORDER_DOC='工信厅信管函〔2022〕65号'
# EDE text patterns per reason (case-insensitive extended regex)
RE_ORDER="$ORDER_DOC"
RE_BLACKLIST='blacklist'
RE_NOFILING='nofiling|no filing|not filed|unfiled|未备案'
RE_REDIRECT='redirect|forward|parking'

blocked() {
	# blocked NAME TYPE EDE_CODE EDE_REGEX WHAT: asked twice
	_bn=$1 _bt=$2 _bc=$3 _br=$4 _bw=$5
	for _run in 1 2; do
		if [ $_run = 1 ]; then _lo=$((TTL - 1)); _tag="$_bw"; else _lo=1; _tag="$_bw (cached)"; fi
		_before=$(ig_tree_queries)
		ig_dig "$_bn" "$_bt"
		_after=$(ig_tree_queries)
		check_rcode NXDOMAIN "$_tag: $_bn $_bt -> NXDOMAIN"
		check_ede "$_bc" "$_br" "$_tag: $_bn $_bt -> EDE $_bc /$_br/"
		check_ad_clear "$_tag: $_bn $_bt -> AD clear"
		check_no_address "$_tag: $_bn $_bt -> no address in the answer"
		check_policy_soa "$_bn" "$_lo" "$TTL" "$_tag: $_bn $_bt -> synthesized SOA, TTL $_lo..$TTL"
		if [ $_run = 2 ]; then
			[ "$_before" = "$_after" ]
			ig_check $? "$_tag: $_bn $_bt answered from the cache (no upstream query)" \
				"the tree received $((_after - _before)) queries"
		fi
	done
}

passes() {
	# passes NAME TYPE RRTYPE RDATA_REGEX WHAT [RRTYPE2 REGEX2]: asked twice
	_pn=$1 _pt=$2 _pr=$3 _px=$4 _pw=$5 _pr2=${6:-} _px2=${7:-}
	for _run in 1 2; do
		if [ $_run = 1 ]; then _tag="$_pw"; else _tag="$_pw (cached)"; fi
		_before=$(ig_tree_queries)
		ig_dig "$_pn" "$_pt"
		_after=$(ig_tree_queries)
		check_rcode NOERROR "$_tag: $_pn $_pt -> NOERROR"
		check_answer_contains "$_pr" "$_px" "$_tag: $_pn $_pt -> $_pr $_px"
		[ -z "$_pr2" ] || check_answer_contains "$_pr2" "$_px2" "$_tag: $_pn $_pt -> $_pr2 $_px2"
		check_ttl_le "$ZONE_TTL" ANSWER "$_tag: $_pn $_pt -> TTLs <= $ZONE_TTL"
		check_no_policy_ede "$_tag: $_pn $_pt -> no policy EDE"
		if [ $_run = 2 ]; then
			[ "$_before" = "$_after" ]
			ig_check $? "$_tag: $_pn $_pt answered from the cache (no upstream query)" \
				"the tree received $((_after - _before)) queries"
		fi
	done
}

# ---------------------------------------------------------------- before resolution
# Right after start only the root is primed; wait until the queries that
# Unbound sends by itself have been answered, then ask for names under an
# order and under the blacklist: neither their server (127.0.0.7) nor any
# other server of the tree may see a query.
ig_wait_unbound_idle
pre_checks() {
	# pre_checks NAME CODE REGEX WHAT
	_n7=$(ig_nsd_queries 127.0.0.7)
	_nall=$(ig_tree_queries)
	ig_dig "$1" A
	check_rcode NXDOMAIN "$4 before resolution: $1 -> NXDOMAIN"
	check_ede "$2" "$3" "$4 before resolution: $1 -> EDE $2"
	_m7=$(ig_nsd_queries 127.0.0.7)
	_mall=$(ig_tree_queries)
	[ "$_n7" = "$_m7" ]
	ig_check $? "$4 before resolution: $1: its server 127.0.0.7 got no query ($_n7 -> $_m7)" \
		"127.0.0.7 received $((_m7 - _n7)) queries"
	[ "$_nall" = "$_mall" ]
	ig_check $? "$4 before resolution: $1: no server of the tree got a query ($_nall -> $_mall)" \
		"the tree received $((_mall - _nall)) queries"
}
pre_checks mail.ordered.cn 16 "$RE_ORDER" "order"
pre_checks deep.name.ordered.cn 16 "$RE_ORDER" "order (subtree)"
pre_checks mail.bad.cn 15 "$RE_BLACKLIST" "blacklist"
pre_checks deep.name.bad.cn 15 "$RE_BLACKLIST" "blacklist (subtree)"
# positive control: the counter sees a query that does go upstream
_n7=$(ig_nsd_queries 127.0.0.7)
ig_dig www.future.cn A
_m7=$(ig_nsd_queries 127.0.0.7)
[ "${_m7:-0}" -gt "${_n7:-0}" ]
ig_check $? "control: www.future.cn (order not yet effective) reaches 127.0.0.7 ($_n7 -> $_m7)" \
	"the query counter of 127.0.0.7 did not move"

# ---------------------------------------------------------------- scenarios
passes  www.filed.cn A         A '^127\.0\.10\.1$' "filed name"
passes  www.filed.cn AAAA      AAAA '^fd00:10::1$' "filed name AAAA"
passes  deep.sub.filed.cn A    A '^127\.0\.10\.3$' "subdomain of a filed domain"
blocked www.unfiled-dom.cn A 15 "$RE_NOFILING" "unfiled, domestic address"
blocked v6.unfiled-dom.cn AAAA 15 "$RE_NOFILING" "unfiled, domestic IPv6 address (AAAA only)"
blocked www.unfiled-v6.cn AAAA 15 "$RE_NOFILING" "unfiled AAAA-only name, domestic"
passes  abroad.unfiled-v6.cn AAAA AAAA '^2001:db8:20::1$' "unfiled AAAA-only name, abroad"
passes  www.unfiled-abroad.com A A '^127\.0\.20\.1$' "unfiled, foreign address (scope domestic)"
blocked www.unfiled-mixed.cn A 15 "$RE_NOFILING" "unfiled, domestic and foreign addresses"
blocked www.cancelled.cn A 15 "$RE_NOFILING" "filing cancelled"
blocked www.unfiled.cn A 15 "$RE_NOFILING" "unfiled alias to a filed target (www.unfiled.cn CNAME www.filed.cn)"
blocked img.unfiled.cn A 15 "$RE_NOFILING" "unfiled alias to a filed CDN (img.unfiled.cn CNAME img.filed-cdn.cn)"
passes  abroad.unfiled.cn A A '^127\.0\.20\.1$' "unfiled alias to an unfiled foreign target" CNAME 'www\.unfiled-abroad\.com\.$'
passes  cdn.filed.cn A A '^127\.0\.10\.4$' "filed alias to an unfiled domestic target" CNAME '^edge\.unfiled-cdn\.cn\.$'
blocked chain.filed.cn A 15 "$RE_NOFILING" "filed -> unfiled middle alias -> filed target"
blocked go.filed.cn A 15 "$RE_BLACKLIST" "alias chain through a blacklisted name"
blocked www.mirror.filed.cn A 15 "$RE_BLACKLIST" "DNAME into the blacklisted subtree"
blocked www.legacy.olddom.cn A 15 "$RE_NOFILING" "unfiled DNAME owner, filed target"
passes  www.new.filed.cn A A '^127\.0\.10\.20$' "DNAME between filed domains" DNAME '^filed-cdn\.cn\.$'
blocked svc.unfiled-https.cn HTTPS 15 "$RE_NOFILING" "unfiled, HTTPS ipv4hint domestic"
blocked svc6.unfiled-https.cn HTTPS 15 "$RE_NOFILING" "unfiled, HTTPS ipv6hint domestic"
passes  abroad.unfiled-https.cn HTTPS HTTPS 'ipv4hint=127\.0\.20\.7' "unfiled, HTTPS ipv4hint abroad"
passes  svc.filed.cn HTTPS     HTTPS 'ipv4hint=127\.0\.10\.7' "filed, HTTPS ipv4hint domestic"
passes  www.xn--srsw86a.xn--fiqs8s A A '^127\.0\.10\.8$' "IDN www.备案.中国, filed"
blocked www.xn--srsv24atya.xn--fiqs8s A 15 "$RE_NOFILING" "IDN www.未备案.中国, unfiled, domestic"
blocked www.ordered.cn A 16 "$RE_ORDER" "takedown order ord-it-1"
blocked ordered.cn A 16 "$RE_ORDER" "takedown order ord-it-1 (apex)"
blocked www.bad.cn A 15 "$RE_BLACKLIST" "blacklisted subtree"
passes  www.future.cn A        A '^127\.0\.20\.71$' "order effective 2099-01-01 (not yet active)"
blocked www.parked.cn A 15 "$RE_REDIRECT" "registrar forwarding endpoint address (127.0.30.0/24)"
blocked www.fwd-alias.com A 15 "$RE_REDIRECT" "alias to the registrar forwarding host fwd.reg-it.cn"
blocked www.parkhost.cn A 15 "$RE_REDIRECT" "parking: alias to the registrar parking host park.reg-it.cn (abroad address)"
blocked www.parkedbad.cn A 15 "$RE_BLACKLIST" "blacklisted domain parked at a registrar endpoint (blacklist wins)"
passes  fwd.filed.cn A         A '^127\.0\.30\.6$' "filed name at a registrar endpoint address"
passes  www.hosted.cn A        A '^127\.0\.10\.60$' "filed zone served by an unfiled domestic name server"

# upstream NXDOMAIN and SERVFAIL pass through unchanged
for _run in 1 2; do
	_tag="upstream NXDOMAIN"; [ $_run = 1 ] || _tag="$_tag (cached)"
	ig_dig nonexistent.filed.cn A
	check_rcode NXDOMAIN "$_tag: nonexistent.filed.cn -> NXDOMAIN"
	check_upstream_soa filed.cn "$_tag: nonexistent.filed.cn -> the zone's own SOA"
	check_no_policy_ede "$_tag: nonexistent.filed.cn -> no policy EDE"
	check_ttl_le 120 AUTHORITY "$_tag: nonexistent.filed.cn -> negative TTL <= 120 (SOA minimum)"
	_tag="upstream NXDOMAIN, unfiled zone"; [ $_run = 1 ] || _tag="$_tag (cached)"
	ig_dig nonexistent.unfiled-dom.cn A
	check_rcode NXDOMAIN "$_tag: nonexistent.unfiled-dom.cn -> NXDOMAIN"
	check_upstream_soa unfiled-dom.cn "$_tag: nonexistent.unfiled-dom.cn -> the zone's own SOA"
	check_no_policy_ede "$_tag: nonexistent.unfiled-dom.cn -> no policy EDE"
	_tag="upstream SERVFAIL (lame delegation)"; [ $_run = 1 ] || _tag="$_tag (cached)"
	ig_dig www.lame.cn A
	check_rcode SERVFAIL "$_tag: www.lame.cn -> SERVFAIL"
	check_no_policy_ede "$_tag: www.lame.cn -> no policy EDE"
done

# NODATA of an unfiled domestic name: nothing to judge, passes unchanged
ig_dig www.unfiled-dom.cn TXT
check_rcode NOERROR "unfiled name, NODATA (TXT): NOERROR"
check_answer_empty "unfiled name, NODATA (TXT): empty answer"
check_upstream_soa unfiled-dom.cn "unfiled name, NODATA (TXT): the zone's own SOA"

# ---------------------------------------------------------------- options
restart() {
	# restart WHAT MODULE_OVERRIDES
	ig_stop_unbound
	ig_start_unbound "$2" || ig_bail "Unbound did not start with $1"
	ig_wait_unbound_idle
}

restart "scope all" "scope: all"
_nall=$(ig_tree_queries)
ig_dig www.unfiled-abroad.com A
_mall=$(ig_tree_queries)
check_rcode NXDOMAIN "scope all: unfiled foreign name www.unfiled-abroad.com -> NXDOMAIN"
check_ede 15 "$RE_NOFILING" "scope all: www.unfiled-abroad.com -> EDE 15 nofiling"
[ "$_nall" = "$_mall" ]
ig_check $? "scope all: www.unfiled-abroad.com decided before resolution (no upstream query)" \
	"the tree received $((_mall - _nall)) queries"
ig_dig www.unfiled-abroad.com A
check_rcode NXDOMAIN "scope all: www.unfiled-abroad.com (cached) -> NXDOMAIN"
ig_dig www.filed.cn A
check_rcode NOERROR "scope all: filed name still resolves"
check_answer_contains A '^127\.0\.10\.1$' "scope all: www.filed.cn -> A 127.0.10.1"
ig_dig abroad.unfiled.cn A
check_rcode NXDOMAIN "scope all: unfiled alias to a foreign target -> NXDOMAIN"

restart "chain-check qname" "chain-check: qname"
ig_dig chain.filed.cn A
check_rcode NOERROR "chain-check qname: chain.filed.cn (unfiled middle alias) -> NOERROR"
check_answer_contains A '^127\.0\.10\.21$' "chain-check qname: chain.filed.cn -> A 127.0.10.21"
ig_dig www.unfiled.cn A
check_rcode NXDOMAIN "chain-check qname: www.unfiled.cn (unfiled QNAME) still NXDOMAIN"
ig_dig go.filed.cn A
check_rcode NXDOMAIN "chain-check qname: alias through the blacklist still NXDOMAIN"

restart "monitor mode" "mode: monitor"
_mark=$(ig_log_mark)
ig_dig www.unfiled-dom.cn A
check_rcode NOERROR "monitor: www.unfiled-dom.cn answers normally"
check_answer_contains A '^127\.0\.10\.2$' "monitor: www.unfiled-dom.cn -> A 127.0.10.2"
check_no_policy_ede "monitor: no policy EDE"
ig_dig www.ordered.cn A
check_rcode NOERROR "monitor: www.ordered.cn answers normally"
# the worker logs the verdict before it answers; waited for (bounded, 2 s)
# all the same, in case the log file is written after the answer
i=0
until ig_log_since "$_mark" | grep -q 'www\.unfiled-dom\.cn' || [ $i -ge 20 ]; do
	ig_sleep_ms 100
	i=$((i + 1))
done
ig_log_since "$_mark" | grep -q 'www\.unfiled-dom\.cn'
ig_check $? "monitor: the verdict on www.unfiled-dom.cn is logged" \
	"no log line names www.unfiled-dom.cn: $(ig_log_since "$_mark" | tail -5)"

restart "action nodata/refused" "action-nofiling: nodata
action-order: refused"
ig_dig www.unfiled-dom.cn A
check_rcode NOERROR "action nodata: www.unfiled-dom.cn -> NOERROR"
check_answer_empty "action nodata: www.unfiled-dom.cn -> empty answer"
check_ede 15 "$RE_NOFILING" "action nodata: www.unfiled-dom.cn -> EDE 15"
check_policy_soa www.unfiled-dom.cn $((TTL - 1)) "$TTL" "action nodata: synthesized SOA"
ig_dig www.unfiled-dom.cn A
check_rcode NOERROR "action nodata: www.unfiled-dom.cn (cached) -> NOERROR"
check_answer_empty "action nodata: www.unfiled-dom.cn (cached) -> empty answer"
ig_dig www.ordered.cn A
check_rcode REFUSED "action refused: www.ordered.cn -> REFUSED"
check_ede 16 "$RE_ORDER" "action refused: www.ordered.cn -> EDE 16"
ig_dig www.ordered.cn A
check_rcode REFUSED "action refused: www.ordered.cn (cached) -> REFUSED"

restart "action redirect" "action-nofiling: redirect
notice-ipv4: 127.0.0.80
notice-ipv6: fd00:80::1"
ig_dig www.unfiled-dom.cn A
check_rcode NOERROR "action redirect: www.unfiled-dom.cn A -> NOERROR"
check_answer_contains A '^127\.0\.0\.80$' "action redirect: www.unfiled-dom.cn A -> the notice server 127.0.0.80"
check_ede 15 "$RE_NOFILING" "action redirect: www.unfiled-dom.cn A -> EDE 15"
check_ad_clear "action redirect: AD clear"
ig_dig www.unfiled-dom.cn A
check_answer_contains A '^127\.0\.0\.80$' "action redirect: www.unfiled-dom.cn A (cached) -> 127.0.0.80"
_bad=$(ig_section ANSWER | awk '$4 == "A" && $5 != "127.0.0.80"')
[ -z "$_bad" ]
ig_check $? "action redirect: the real address is not in the answer" "$_bad"
ig_dig v6.unfiled-dom.cn AAAA
check_answer_contains AAAA '^fd00:80::1$' "action redirect: v6.unfiled-dom.cn AAAA -> fd00:80::1"
ig_dig svc.unfiled-https.cn HTTPS
check_rcode NOERROR "action redirect: HTTPS of a blocked name -> NOERROR (NODATA)"
check_no_address "action redirect: HTTPS of a blocked name -> no HTTPS record"

ig_done
