#!/bin/sh
# tests/knot/knot.sh: the Knot DNS module (knot/, mod-icpguard.so) in
# Debian's real knotd (TAP).
#
# knotd listens on 127.0.0.20 at a free port (no address of the NSD tree of
# tests/integration), with its own rundir and storage in a temporary
# directory, and serves the hosted zones of tests/knot/zones with the
# module over a snapshot built from tests/integration/policy.  Every query
# is sent twice, RD=0.  Checked: rcode, AA, the zone's SOA in the authority
# section with the policy TTL, the EDE code and text (order: the document
# number); infrastructure (SOA, NS, DNSKEY, the name server's address)
# answered; a snapshot rebuilt over the path changes the verdict within a
# bounded wait; a damaged snapshot is refused with a log line while the old
# one serves; `knotc reload` keeps the module working; monitor mode.
# dnstap audit (audit-socket to a real fstrm_capture, Debian fstrm-bin)
# for the whole run: `icpguard audit` reads the records from the capture
# (AUTH_RESPONSE with the Policy: reason, order id and document number,
# matched name, snapshot, mode, client), dnstap-ldns reads them too, no
# record for allowed names (audit-sample 0), the stop line's counts and
# the stats file's audit counters.
# Skips with the reason when knotd, kdig/dig or the module is missing.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
IG_TAP=1
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/knot/lib.sh"
IG_NAME=knot
TTL=30
knot_test_init knot "${IG_KNOT_ADDR:-127.0.0.20}"
cp "$KZONES"/*.zone "$W/zones/"
POL=$W/policy-src
cp -r "$IG_POLICY_SRC" "$POL"
ig_build_policy "$POL" "$W/snapshot.mdb" || { ig_diag "$(cat "$W/build.log")"; ig_bail "icpguard build failed"; }
# the identity of the first snapshot: what the first records name
IDENT="$("$IG_ICPGUARD" info "$W/snapshot.mdb" | awk '$1 == "serial" { s = $2 } $1 == "hash" { h = substr($2, 1, 12) } END { print s "-" h }')"
# dnstap audit to a live collector for the whole run
AUDIT=0
if command -v fstrm_capture >/dev/null 2>&1; then
	AUDIT=1
	IG_CAP_SOCK=$W/audit.sock
	ig_capture_start "$W/audit.fstrm"
	KNOT_MOD_KEYS="audit-socket: \"$IG_CAP_SOCK\"
audit-identity: knot-audit
audit-sample: 0"
else
	ig_diag "fstrm_capture not installed (Debian: fstrm-bin): the dnstap checks are skipped"
fi

kctl() {
	knotc -c "$W/knot.conf" -s "$W/run/knot.sock" "$@"
}

check_aa() {
	case " $(ig_flags) " in
	*" aa "*) ig_check 0 "${1:-$IG_Q: AA set}" ;;
	*) ig_check 1 "${1:-$IG_Q: AA set}" "AA is clear" ;;
	esac
}
# check_zone_soa ZONE: the authority SOA is the zone's own, TTL and MINIMUM
# the policy TTL
check_zone_soa() {
	_soa=$(ig_section AUTHORITY | awk '$4 == "SOA"' | head -1)
	_own=$(ig_lc "$(printf '%s' "$_soa" | awk '{ print $1 }')")
	_ttl=$(printf '%s' "$_soa" | awk '{ print $2 }')
	_rname=$(ig_lc "$(printf '%s' "$_soa" | awk '{ print $6 }')")
	_min=$(printf '%s' "$_soa" | awk '{ print $NF }')
	_why=""
	[ "$_own" = "$(ig_fqdn "$1")" ] || _why="SOA owner '$_own', want $1."
	[ "$_rname" = "hostmaster.$(ig_fqdn "$1")" ] || _why="$_why; RNAME '$_rname' is not the zone's"
	[ "$_ttl" = "$TTL" ] || _why="$_why; SOA TTL '$_ttl', want $TTL"
	[ "$_min" = "$TTL" ] || _why="$_why; SOA MINIMUM '$_min', want $TTL"
	[ -z "$_why" ]
	ig_check $? "$IG_Q: the zone's SOA, TTL and MINIMUM $TTL" "$_why"
}

# blocked NAME TYPE ZONE EDE REGEX: asked twice, the policy answer each time
blocked() {
	for _try in 1 2; do
		q "$1" "$2"
		check_rcode NXDOMAIN "$1 $2 ($_try): NXDOMAIN"
		check_aa "$1 $2 ($_try): AA"
		check_answer_empty "$1 $2 ($_try): empty answer"
		check_zone_soa "$3"
		check_ede "$4" "$5" "$1 $2 ($_try): EDE $4 /$5/"
	done
}
# allowed NAME TYPE REGEX: asked twice, the zone's answer each time
allowed() {
	for _try in 1 2; do
		q "$1" "$2"
		check_rcode NOERROR "$1 $2 ($_try): NOERROR"
		check_aa "$1 $2 ($_try): AA"
		check_answer_contains "$2" "$3" "$1 $2 ($_try): answer $2 /$3/"
		check_no_policy_ede "$1 $2 ($_try): no policy EDE"
	done
}

write_conf enforce
start_knot || { ig_diag "$(tail -20 "$W/knotd.log" "$W/knotd.out" 2>/dev/null)"; ig_bail "knotd with the module did not start"; }
ig_result 0 "knotd $(knotd -V | awk '{ print $NF }') with mod-icpguard answers on $KADDR@$IG_PORT"
grep -q "snapshot .* in force" "$W/knotd.log"
ig_result $? "the snapshot in force is logged" || ig_diag "$(tail -5 "$W/knotd.log")"

# --- the zones
allowed www.filed.cn A '^127\.0\.10\.1$'
allowed mail.filed.cn MX 'www\.filed\.cn'
allowed www.unfiled-abroad.com A '^127\.0\.20\.1$'
allowed www.xn--srsw86a.xn--fiqs8s A '^127\.0\.10\.10$'
blocked www.unfiled-dom.cn A unfiled-dom.cn 15 'icpguard: nofiling www\.unfiled-dom\.cn\. snapshot [0-9]+'
blocked unfiled-dom.cn A unfiled-dom.cn 15 'nofiling'
blocked v6.unfiled-dom.cn AAAA unfiled-dom.cn 15 'nofiling'
blocked start.unfiled-dom.cn A unfiled-dom.cn 15 'nofiling'
blocked x.wild.unfiled-dom.cn A unfiled-dom.cn 15 'nofiling'
blocked www.xn--srsv24atya.xn--fiqs8s A xn--srsv24atya.xn--fiqs8s 15 'nofiling www\.xn--srsv24atya\.xn--fiqs8s\.'
blocked www.bad.cn A bad.cn 15 'icpguard: blacklist bad\.cn\. snapshot'
blocked nothere.bad.cn A bad.cn 15 'blacklist'
blocked www.ordered.cn A ordered.cn 16 'icpguard: order ord-it-1 工信厅信管函〔2022〕65号 \(工业和信息化部; 违法违规\) ordered\.cn\. snapshot'
blocked www.fwd-demo.cn A fwd-demo.cn 15 'redirect'
# answers without an address pass (the resolver side's rule)
allowed unfiled-dom.cn MX 'mx\.example\.net'
allowed txt.unfiled-dom.cn TXT 'unfiled'
# the chain's CNAMEs are not returned when blocked
q start.unfiled-dom.cn A
check_no_address "start.unfiled-dom.cn: no address leaked"
# an alias leaving the server's zones: decided on what is known (filed owner)
q out.filed.cn A
check_rcode NOERROR "out.filed.cn (CNAME out of the zones): NOERROR"
check_answer_contains CNAME 'www\.unfiled-dom\.cn' "out.filed.cn: the CNAME is answered"

# --- infrastructure
for t in SOA NS DNSKEY; do
	q unfiled-dom.cn $t
	check_rcode NOERROR "unfiled-dom.cn $t answered (NOERROR)"
	check_no_policy_ede "unfiled-dom.cn $t: no policy EDE"
done
q unfiled-dom.cn SOA
check_answer_contains SOA 'hostmaster\.unfiled-dom\.cn' "unfiled-dom.cn SOA: the zone's SOA"
q bad.cn NS
check_rcode NOERROR "bad.cn NS (blacklisted zone) answered"
check_answer_contains NS 'ns1\.bad\.cn' "bad.cn NS: the NS record"
allowed ns1.unfiled-dom.cn A '^127\.0\.10\.53$'
q unfiled-dom.cn AXFR
printf '%s\n' "$IG_OUT" | grep -q 'Transfer failed\|REFUSED\|NOTAUTH\|SOA'
ig_result $? "AXFR is Knot's business (ACL), not the policy's" || ig_dump

# --- without EDNS: the same answer, no EDE
q www.unfiled-dom.cn A +noedns
check_rcode NXDOMAIN "no EDNS: NXDOMAIN"
[ -z "$(ig_ede_line)" ]
ig_result $? "no EDNS: no EDE (no OPT to carry it)"

# --- swap: file unfiled-dom.cn, rebuild over the path
echo '{"domain":"unfiled-dom.cn","number":"京ICP备19999999号","status":"active","subject_type":"enterprise","province":"北京","approved":"2020-01-01"}' >>"$POL/filings.jsonl"
ig_build_policy "$POL" "$W/snapshot.mdb" || ig_bail "rebuild failed"
until_rcode www.unfiled-dom.cn A NOERROR
ig_result $? "after a rebuild that files unfiled-dom.cn, it resolves ($IG_WAITED ms after the build)"
allowed www.unfiled-dom.cn A '^127\.0\.10\.2$'
grep -q "snapshot .* in force (.*, was " "$W/knotd.log"
ig_result $? "the swap is logged"

# --- a damaged snapshot is refused, the one in force keeps serving
cp "$W/snapshot.mdb" "$W/good.mdb"
head -c 20000 "$W/good.mdb" >"$W/cut.mdb"
mv "$W/cut.mdb" "$W/snapshot.mdb"
_ok=1
for _i in $(seq 1 600); do
	if grep -q "refusing snapshot" "$W/knotd.log"; then _ok=0; break; fi
	ig_sleep_ms 50
done
ig_result $_ok "a cut snapshot is refused with a log line" || ig_diag "$(tail -3 "$W/knotd.log")"
grep "refusing snapshot" "$W/knotd.log" | head -1 | grep -q "$W/snapshot.mdb"
ig_result $? "the refusal names the file"
allowed www.unfiled-dom.cn A '^127\.0\.10\.2$'
blocked www.bad.cn A bad.cn 15 'blacklist'

# --- a takedown through the order snapshot (a snapshot of its own)
mkdir "$W/orders-src"
cp "$POL/tlds.txt" "$W/orders-src/"
echo '{"id":"ord-knot-1","doc_no":"工信厅信管函〔2026〕19号","unit":"工业和信息化部","reason":"违法违规","targets":["filed.cn"],"effective":"2022-01-01"}' >"$W/orders-src/orders.jsonl"
ig_build_policy "$W/orders-src" "$W/orders.mdb" || { ig_diag "$(tail -5 "$W/build.log")"; ig_bail "order snapshot build failed"; }
until_rcode www.filed.cn A NXDOMAIN
ig_result $? "an order snapshot's takedown reaches knotd ($IG_WAITED ms after the build)"
blocked www.filed.cn A filed.cn 16 'order ord-knot-1 工信厅信管函〔2026〕19号'
# lifted: an order snapshot without it
: >"$W/orders-src/orders.jsonl"
ig_build_policy "$W/orders-src" "$W/orders.mdb" || ig_bail "order snapshot rebuild failed"
until_rcode www.filed.cn A NOERROR
ig_result $? "an order snapshot without the order lifts it ($IG_WAITED ms)"

# --- knotc reload keeps it working (knotc returns when knotd has
# reloaded: the new configuration's instances are loaded, the old ones
# unloaded; nothing to wait for)
mv "$W/good.mdb" "$W/snapshot.mdb"
kctl reload >"$W/reload.out" 2>&1
ig_result $? "knotc reload" || ig_diag "$(cat "$W/reload.out")"
kill -0 "$KNOTD_PID" 2>/dev/null
ig_result $? "knotd still runs after the reload"
blocked www.bad.cn A bad.cn 15 'blacklist'
allowed www.filed.cn A '^127\.0\.10\.1$'

# --- monitor mode: logged, answered as normal
write_conf monitor
kctl reload >"$W/reload.out" 2>&1
ig_result $? "knotc reload into monitor mode" || ig_diag "$(cat "$W/reload.out")"
allowed www.bad.cn A '^127\.0\.20\.9$'
grep -q "monitor: would block blacklist www.bad.cn" "$W/knotd.log"
ig_result $? "monitor mode logs the block it did not make" || ig_diag "$(grep icpguard "$W/knotd.log" | tail -3)"
write_conf enforce
kctl reload >"$W/reload.out" 2>&1
ig_result $? "knotc reload back into enforce mode" || ig_diag "$(cat "$W/reload.out")"
blocked www.bad.cn A bad.cn 15 'blacklist'

# --- counters
kctl zone-stats bad.cn mod-icpguard >"$W/stats.out" 2>&1
grep -q 'verdict\[blacklist\]' "$W/stats.out"
ig_result $? "knotc zone-stats bad.cn mod-icpguard counts verdicts" || ig_diag "$(head -5 "$W/stats.out")"
# the stats file: the Unbound module's metrics and format (written once a
# second by the watch thread; a bounded wait for a blacklist verdict in it)
_i=0
until grep -q '^icpguard_verdicts_total{reason="blacklist"} [1-9]' "$W/icpguard.prom" 2>/dev/null || [ $_i -ge 100 ]; do
	ig_sleep_ms 100
	_i=$((_i + 1))
done
ig_result $(grep -q '^icpguard_verdicts_total{reason="blacklist"} [1-9]' "$W/icpguard.prom" 2>/dev/null; echo $?) \
	"stats-file: icpguard_verdicts_total counts the blacklist verdicts (Prometheus text)" ||
	ig_diag "$(cat "$W/icpguard.prom" 2>/dev/null | head -20)"
ig_result $(grep -q '^icpguard_snapshot_serial{slot="main"} [0-9]' "$W/icpguard.prom" &&
	grep -q '^# TYPE icpguard_snapshot_swaps_total counter' "$W/icpguard.prom"; echo $?) \
	"stats-file: the snapshot serial in force and the swap counter"

if [ $AUDIT = 1 ]; then
	_i=0
	until grep -q '^icpguard_audit_sent_total [1-9]' "$W/icpguard.prom" 2>/dev/null || [ $_i -ge 100 ]; do
		ig_sleep_ms 100
		_i=$((_i + 1))
	done
	ig_result $(grep -q '^icpguard_audit_sent_total [1-9]' "$W/icpguard.prom" &&
		grep -q '^icpguard_audit_dropped_total 0$' "$W/icpguard.prom"; echo $?) \
		"stats-file: icpguard_audit_sent_total counts the records, none dropped" ||
		ig_diag "$(grep audit "$W/icpguard.prom" 2>/dev/null)"
fi

kctl stop >/dev/null 2>&1
ig_wait_exit "$KNOTD_PID" 50
ig_result $? "knotd stops cleanly (knotc stop)"
ig_untrack "$KNOTD_PID"
# knotd frees a zone's name before it unloads the zone's modules: a line
# logged through an unloading instance shows a freed name ("[.]" when its
# first byte is 0, or nothing when it is garbage); none may be
! grep -q "^[^ ]* [a-z]*: \[\.\] module 'mod-icpguard" "$W/knotd.log"
ig_result $? "no module line under a freed zone name (at reloads or the stop)" ||
	ig_diag "$(grep "\[\.\] module 'mod-icpguard" "$W/knotd.log" | head -2)"

# --- dnstap audit records (the writer flushed at knotd's stop)
if [ $AUDIT = 1 ]; then
	ig_capture_stop
	ig_audit_json "$W/audit.fstrm"
	[ "$IG_AUDIT_RC" = 0 ] && [ -s "$IG_WORK/audit.out" ]
	ig_result $? "icpguard audit reads the Knot module's records" || ig_diag "exit $IG_AUDIT_RC: $(head -c 600 "$IG_WORK/audit.err")"
	# the last unload writes the final counts to the stats file after the
	# writer stopped (its stop line goes to syslog: knotd has freed the
	# zone's name the instance would log under, docs/knot.md): every
	# record sent is in the capture, none dropped
	_n=$(wc -l <"$IG_WORK/audit.out")
	_s=$(awk '$1 == "icpguard_audit_sent_total" { print $2 }' "$W/icpguard.prom")
	_d=$(awk '$1 == "icpguard_audit_dropped_total" { print $2 }' "$W/icpguard.prom")
	[ "${_s:-x}" = "$_n" ] && [ "${_d:-x}" = 0 ]
	ig_result $? "at stop the stats file counts the records sent, all of them in the capture ($_n), none dropped" ||
		ig_diag "sent ${_s:-none}, dropped ${_d:-none}, records read $_n"
	R=$(ig_audit_record_of www.ordered.cn.)
	ig_check_field "$R" reason '"order"' "record of www.ordered.cn: reason order"
	ig_check_field "$R" id '"ord-it-1"' "record of www.ordered.cn: order id ord-it-1"
	ig_check_field "$R" doc_no '"工信厅信管函〔2022〕65号"' "record of www.ordered.cn: the order's document number"
	ig_check_field "$R" match '"ordered.cn."' "record of www.ordered.cn: matched name ordered.cn. (the order target)"
	ig_check_field "$R" policy '"icpguard"' "record of www.ordered.cn: the standard dnstap Policy, type icpguard"
	ig_check_field "$R" action '"NXDOMAIN"' "record of www.ordered.cn: Policy action NXDOMAIN"
	ig_check_field "$R" rcode '"NXDOMAIN"' "record of www.ordered.cn: the answer sent, NXDOMAIN"
	ig_check_field "$R" snapshot "\"$IDENT\"" "record of www.ordered.cn: snapshot $IDENT"
	ig_check_field "$R" mode '"enforce"' "record of www.ordered.cn: mode enforce"
	ig_check_field "$R" identity '"knot-audit"' "record of www.ordered.cn: identity from audit-identity"
	ig_check_field "$R" message '"AR"' "record of www.ordered.cn: an AUTH_RESPONSE message"
	ig_check_field "$R" protocol '"udp"' "record of www.ordered.cn: protocol udp"
	case "$R" in
	*'"client":"127.'*) ig_result 0 "record of www.ordered.cn: the loopback client" ;;
	*) ig_result 1 "record of www.ordered.cn: the loopback client"; ig_diag "$R" ;;
	esac
	R=$(ig_audit_record_of www.unfiled-dom.cn.)
	ig_check_field "$R" reason '"nofiling"' "record of www.unfiled-dom.cn: reason nofiling (decided on the answer)"
	ig_check_field "$R" match '"www.unfiled-dom.cn."' "record of www.unfiled-dom.cn: matched name"
	R=$(ig_audit_record_of www.bad.cn.)
	ig_check_field "$R" reason '"blacklist"' "record of www.bad.cn: reason blacklist"
	R=$(grep -F '"qname":"www.filed.cn."' "$IG_WORK/audit.out" | grep -F '"id":"ord-knot-1"' | head -1)
	ig_check_field "$R" doc_no '"工信厅信管函〔2026〕19号"' "record of www.filed.cn: the order snapshot's takedown, its document number"
	R=$(grep -F '"qname":"www.bad.cn."' "$IG_WORK/audit.out" | grep -F '"mode":"monitor"' | head -1)
	ig_check_field "$R" action '"PASS"' "monitor mode: the verdict recorded, action PASS"
	ig_check_field "$R" rcode '"NOERROR"' "monitor mode: the record holds the zone's own answer"
	! grep -q '"qname":"www.unfiled-abroad.com."' "$IG_WORK/audit.out"
	ig_result $? "no record for an allowed name (audit-sample 0)"
	! grep -q '"qname":"unfiled-dom.cn.","qtype":"SOA"' "$IG_WORK/audit.out"
	ig_result $? "no record for the zone's infrastructure"
	_n=$(wc -l <"$IG_WORK/audit.out")
	_p=$(grep -c '"policy":"icpguard"' "$IG_WORK/audit.out")
	[ "$_n" = "$_p" ]
	ig_result $? "every record is a policy record ($_p of $_n)"
	if command -v dnstap-ldns >/dev/null 2>&1; then
		dnstap-ldns -r "$W/audit.fstrm" >"$W/ldns.out" 2>&1
		_a=$(grep -c ' AR .*"www\.ordered\.cn\." IN A' "$W/ldns.out")
		[ "${_a:-0}" -ge 1 ]
		ig_result $? "dnstap-ldns reads the AR records ($_a for www.ordered.cn)" || ig_diag "$(head -5 "$W/ldns.out")"
		dnstap-ldns -y -r "$W/audit.fstrm" 2>/dev/null | grep -q 'query_zone: "ordered\.cn\."'
		ig_result $? "the record names the zone that answered (dnstap query_zone)"
	fi
fi
ig_done
