#!/bin/sh
# tests/knot/swap.sh: snapshot swaps in knotd with the Knot module under
# load (issue 19; TAP).
#
# knotd with mod-icpguard on 127.0.0.22 serves tests/knot/zones.  dnsperf
# keeps it busy (500 queries/s, bounded: at most 120 s, stopped after the
# swaps) with filed, blacklisted, ordered and foreign names; a snapshot
# rebuilt over the path 10 times flips a canary (www.unfiled-dom.cn filed,
# then not); a watcher asks two names no swap touches throughout.  Checked:
# every swap reaches knotd (a bounded wait on the canary, never a timed
# assertion), the watched names never change, dnsperf lost no query and
# saw no SERVFAIL, knotd still runs.
set -u
IG_TAP=1
. "$(dirname "$0")/lib.sh"
TTL=30
knot_test_init knot-swap "${IG_KNOT_SWAP_ADDR:-127.0.0.22}"
command -v dnsperf >/dev/null 2>&1 || ig_skip_all "dnsperf not installed (run tools/deps)"
cp "$KZONES"/*.zone "$W/zones/"
# two policies: A as tests/integration/policy (unfiled-dom.cn unfiled),
# B with unfiled-dom.cn filed
POL_A=$W/policy-a
POL_B=$W/policy-b
cp -r "$IG_POLICY_SRC" "$POL_A"
cp -r "$IG_POLICY_SRC" "$POL_B"
echo '{"domain":"unfiled-dom.cn","number":"京ICP备19999999号","status":"active","subject_type":"enterprise","province":"北京","approved":"2020-01-01"}' >>"$POL_B/filings.jsonl"
ig_build_policy "$POL_A" "$W/snapshot.mdb" || { ig_diag "$(cat "$W/build.log")"; ig_bail "icpguard build failed"; }
write_conf enforce
start_knot || { ig_diag "$(tail -20 "$W/knotd.log" "$W/knotd.out" 2>/dev/null)"; ig_bail "knotd with the module did not start"; }
CANARY=www.unfiled-dom.cn
q "$CANARY" A
check_rcode NXDOMAIN "before the swaps: the canary $CANARY (unfiled) is blocked"

QF=$W/queries.txt
printf '%s\n' "www.filed.cn A" "www.bad.cn A" "www.ordered.cn A" "www.unfiled-abroad.com A" \
	"filed.cn SOA" "mail.filed.cn MX" >"$QF"
dnsperf -s "$KADDR" -p "$IG_PORT" -d "$QF" -l 120 -Q 500 -c 2 -t 2 >"$W/dnsperf.out" 2>&1 9>&- &
PERF=$!
ig_track "$PERF"

STOP=$W/watch.stop
(
	n=0 bad=0
	while [ ! -f "$STOP" ] && [ $n -lt 3000 ]; do
		r1=$(dig @"$KADDR" -p "$IG_PORT" +norec +tries=1 +time=2 www.filed.cn A 2>&1)
		r2=$(dig @"$KADDR" -p "$IG_PORT" +norec +tries=1 +time=2 www.bad.cn A 2>&1)
		case "$r1" in *"status: NOERROR"*127.0.10.1*) ;; *) bad=$((bad + 1)); echo "www.filed.cn: $r1" >>"$W/watch.bad" ;; esac
		case "$r2" in *"status: NXDOMAIN"*"EDE: 15"*) ;; *) bad=$((bad + 1)); echo "www.bad.cn: $r2" >>"$W/watch.bad" ;; esac
		n=$((n + 1))
		sleep 0.05
	done
	echo "$n $bad" >"$W/watch.result"
) </dev/null >/dev/null 2>&1 9>&- &
WATCH=$!
ig_track "$WATCH"

i=1
while [ $i -le 10 ]; do
	if [ $((i % 2)) = 1 ]; then src=$POL_B want=NOERROR; else src=$POL_A want=NXDOMAIN; fi
	ig_build_policy "$src" "$W/snapshot.mdb" || ig_bail "rebuild $i failed"
	until_rcode "$CANARY" A "$want"
	ig_result $? "swap $i under load: the canary becomes $want ($IG_WAITED ms)"
	ig_sleep_ms 200
	i=$((i + 1))
done

ig_stop_watch_and_load "$STOP" "$WATCH" "$PERF"

read -r wn wbad <"$W/watch.result" 2>/dev/null || { wn=0; wbad=unknown; }
ig_result $([ "${wn:-0}" -gt 0 ] && [ "$wbad" = 0 ]; echo $?) \
	"during the swaps: $wn rounds, www.filed.cn always answered and www.bad.cn always blocked" ||
	ig_diag "$(head -20 "$W/watch.bad" 2>/dev/null)"
sent=$(sed -n 's/^ *Queries sent: *\([0-9]*\).*/\1/p' "$W/dnsperf.out")
lost=$(sed -n 's/^ *Queries lost: *\([0-9]*\).*/\1/p' "$W/dnsperf.out")
codes=$(sed -n 's/^ *Response codes: *//p' "$W/dnsperf.out")
ig_result $([ "${sent:-0}" -gt 500 ]; echo $?) "dnsperf ran during the swaps (${sent:-0} queries sent)" ||
	ig_diag "$(cat "$W/dnsperf.out")"
ig_result $([ "${lost:-x}" = 0 ]; echo $?) "dnsperf: no query lost during the swaps" ||
	ig_diag "$(grep -E 'Queries|Response' "$W/dnsperf.out")"
case "$codes" in *SERVFAIL*|"") r=1 ;; *) r=0 ;; esac
ig_result $r "dnsperf: no SERVFAIL during the swaps ($codes)"
ig_result $(kill -0 "$KNOTD_PID" 2>/dev/null; echo $?) "knotd still runs after 10 swaps under load"
ig_done
