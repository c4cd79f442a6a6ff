#!/bin/sh
# tests/integration/swap.sh: snapshot swaps under load, bad snapshots,
# start-up without a snapshot, `unbound-control reload` (TAP).
#
# 1. 20 swaps (icpguard build --out SAME_PATH, an atomic rename) while a
#    bounded dnsperf runs and a dig loop watches names whose verdicts do not
#    change: no lost queries, no SERVFAIL, no wrong verdict; each swap is
#    seen (a canary name flips between pass and order) within a bounded wait (the time is printed; bench/ measures it).
# 2. A corrupt new snapshot (garbage, empty, truncated at 8192, 12288, 20000
#    and 40960 bytes, random bytes over a page, a digit of the stored content
#    hash changed, the seal cut off, the seal altered; renamed over the path)
#    is refused with a log line and the old snapshot keeps serving (a blocked
#    name stays blocked, a filed one resolves); `icpguard info` and `explain`
#    refuse the same file (exit 2, no crash); a good one published afterwards
#    is taken.
# 3. `unbound-control reload`: enforcement continues and the module's
#    configuration file is read again (policy-ttl change).
# 4. No snapshot at start: Unbound stops with a message naming the snapshot,
#    unless fail-open: yes (then it serves, and takes the snapshot once it
#    appears).
# 5. The module in front of the validator, or no validator, in module-config:
#    Unbound stops with a message saying so
#    (checked before the fail-open part, which ends the test).
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/integration/lib.sh"

ig_init swap
command -v dnsperf >/dev/null 2>&1 || ig_skip_all "dnsperf not installed (run tools/deps)"
ig_start_tree
SNAP=$IG_WORK/snapshot.mdb
POL_A=$IG_WORK/policy-a
POL_B=$IG_WORK/policy-b
cp -r "$IG_POLICY_SRC" "$POL_A"
cp -r "$IG_POLICY_SRC" "$POL_B"
# variant B: an order on the canary filed-cdn.cn
cat >>"$POL_B/orders.jsonl" <<'EOF'
{"id":"ord-it-canary","doc_no":"工信厅信管函〔2024〕9号","unit":"工业和信息化部","reason":"测试","targets":["filed-cdn.cn"],"effective":"2020-01-01"}
EOF
ig_build_policy "$POL_A" || { ig_diag "$(cat "$IG_WORK/build.log")"; ig_bail "icpguard build failed"; }
# log-replies: when a wrong answer is seen, Unbound's own record of what it
# sent (rcode, from the cache or not, size) is in the diagnostics
ig_start_unbound "" "log-replies: yes" || ig_bail "Unbound with the module did not start"
CANARY=www.filed-cdn.cn

publish() {
	# publish DIR: rebuild the snapshot at the same path; sets T0
	if ! "$IG_ICPGUARD" build --source "$1" --out "$SNAP" --quiet >>"$IG_WORK/build.log" 2>&1; then
		ig_diag "$(tail -5 "$IG_WORK/build.log")"
		ig_bail "icpguard build failed ($1)"
	fi
	T0=$(ig_now_ms)
}

canary_state() {
	# prints pass, order or other for the canary (one query)
	ig_dig "$CANARY" A
	if [ "$(ig_rcode)" = NOERROR ] && [ -n "$(ig_section ANSWER | awk '$4 == "A"')" ]; then
		echo pass
	elif [ "$(ig_rcode)" = NXDOMAIN ] && ig_ede_line | grep -q '^; EDE: 16 .*〔2024〕9号'; then
		echo order
	else
		echo "other($(ig_rcode))"
	fi
}

wait_canary() {
	# wait_canary WANT: bounded poll (10 s, 500 queries); prints the time
	# in ms or "timeout"; the time is printed, never asserted (bench/
	# measures latency; a timed assertion flakes on a busy machine)
	_i=0
	while [ $_i -lt 500 ]; do
		_s=$(canary_state)
		if [ "$_s" = "$1" ]; then
			echo $(( $(ig_now_ms) - T0 ))
			return 0
		fi
		[ $(( $(ig_now_ms) - T0 )) -gt 10000 ] && break
		ig_sleep_ms 20
		_i=$((_i + 1))
	done
	echo "timeout($_s)"
	return 1
}

# ---------------------------------------------------------------- 1. swaps under load
QF=$IG_WORK/queries.txt
cat >"$QF" <<'EOF'
www.filed.cn A
www.filed.cn AAAA
deep.sub.filed.cn A
cdn.filed.cn A
www.unfiled-dom.cn A
www.unfiled-abroad.com A
www.unfiled-mixed.cn A
www.unfiled.cn A
www.ordered.cn A
www.bad.cn A
go.filed.cn A
www.parked.cn A
www.fwd-alias.com A
svc.unfiled-https.cn HTTPS
www.hosted.cn A
www.filed-cdn.cn A
img.filed-cdn.cn A
www.future.cn A
EOF
# warm the cache so dnsperf mostly measures answering, not resolution
while read -r n t; do ig_dig "$n" "$t"; done <"$QF"

s0=$(canary_state)
[ "$s0" = pass ]
ig_check $? "before the swaps: canary $CANARY passes" "canary: $s0"

# bounded load: 500 queries/s, at most 120 s; stopped (SIGINT) after the swaps
dnsperf -s 127.0.0.1 -p "$IG_PORT" -d "$QF" -l 120 -Q 500 -c 2 -t 2 \
	>"$IG_WORK/dnsperf.out" 2>&1 9>&- &
PERF=$!
ig_track "$PERF"

# the watcher: verdicts of names no swap touches, until the stop file appears
STOP=$IG_WORK/watch.stop
rm -f "$STOP"
(
	n=0 bad=0
	while [ ! -f "$STOP" ] && [ $n -lt 3000 ]; do
		r1=$(dig @127.0.0.1 -p "$IG_PORT" +tries=1 +time=2 www.filed.cn A 2>&1)
		r2=$(dig @127.0.0.1 -p "$IG_PORT" +tries=1 +time=2 www.ordered.cn A 2>&1)
		case "$r1" in *"status: NOERROR"*127.0.10.1*) ;; *) bad=$((bad + 1)); echo "www.filed.cn: $(echo "$r1" | grep -E 'status:|EDE|timed out' | tr '\n' ' ')" >>"$IG_WORK/watch.bad"; [ $bad -gt 3 ] || printf '%s\n' "$r1" >>"$IG_WORK/watch.full" ;; esac
		case "$r2" in *"status: NXDOMAIN"*"EDE: 16"*) ;; *) bad=$((bad + 1)); echo "www.ordered.cn: $(echo "$r2" | grep -E 'status:|EDE|timed out' | tr '\n' ' ')" >>"$IG_WORK/watch.bad"; [ $bad -gt 3 ] || printf '%s\n' "$r2" >>"$IG_WORK/watch.full" ;; esac
		n=$((n + 1))
		sleep 0.05
	done
	echo "$n $bad" >"$IG_WORK/watch.result"
) </dev/null >/dev/null 2>&1 9>&- &
WATCH=$!
ig_track "$WATCH"

sleep 1
maxms=0
i=1
while [ $i -le 20 ]; do
	if [ $((i % 2)) = 1 ]; then src=$POL_B; want=order; else src=$POL_A; want=pass; fi
	publish "$src"
	ms=$(wait_canary "$want")
	case "$ms" in
	timeout*) ig_check 1 "swap $i: canary becomes '$want'" "canary after 10 s: $ms" ;;
	*)
		ig_check 0 "swap $i: canary becomes '$want' (took $ms ms)"
		[ "$ms" -gt "$maxms" ] && maxms=$ms
		;;
	esac
	sleep 0.2
	i=$((i + 1))
done
ig_diag "slowest swap seen by a client: $maxms ms"

ig_stop_watch_and_load "$STOP" "$WATCH" "$PERF"

read -r wn wbad <"$IG_WORK/watch.result" 2>/dev/null || { wn=0; wbad=unknown; }
[ "${wn:-0}" -gt 0 ] && [ "$wbad" = 0 ]
ig_check $? "during the swaps: $wn rounds, www.filed.cn always NOERROR and www.ordered.cn always NXDOMAIN EDE 16" \
	"$wbad wrong answers: $(head -5 "$IG_WORK/watch.bad" 2>/dev/null)
$(cat "$IG_WORK/watch.full" 2>/dev/null)
what Unbound sent for the watched names (count, name, type, rcode, cached, size):
$(awk '/ info: 127\.0\.0\.1 www\.(filed|ordered)\.cn\. A IN / { print $(NF-6), $(NF-5), $(NF-3), $(NF-1), $NF }' "$IG_WORK/unbound.log" | sort | uniq -c)"

sent=$(sed -n 's/^ *Queries sent: *\([0-9]*\).*/\1/p' "$IG_WORK/dnsperf.out")
lost=$(sed -n 's/^ *Queries lost: *\([0-9]*\).*/\1/p' "$IG_WORK/dnsperf.out")
codes=$(sed -n 's/^ *Response codes: *//p' "$IG_WORK/dnsperf.out")
[ "${sent:-0}" -gt 500 ]
ig_check $? "dnsperf ran during the swaps (${sent:-0} queries sent)" "$(cat "$IG_WORK/dnsperf.out")"
[ "${lost:-x}" = 0 ]
ig_check $? "dnsperf: no query lost (timeouts) during the swaps" "$(grep -E 'Queries|Response' "$IG_WORK/dnsperf.out")"
case "$codes" in *SERVFAIL*|"") false ;; *) true ;; esac
ig_check $? "dnsperf: no SERVFAIL during the swaps ($codes)" "response codes: ${codes:-none}"
kill -0 "$IG_UNBOUND_PID" 2>/dev/null
ig_check $? "Unbound is still running after 20 swaps"

# ---------------------------------------------------------------- 2. bad snapshots
# state now: variant A (canary passes); uncached probes below must be
# decided by the old snapshot, not by nothing (fail-open) or a broken one
# every bad file is made from this good copy (not from the bad file the
# case before left at the path)
GOOD=$IG_WORK/good.mdb
cp "$SNAP" "$GOOD"
GOOD_HASH=$("$IG_ICPGUARD" info "$GOOD" | awk '$1 == "hash" {print $2; exit}')
[ "$(stat -c %s "$GOOD")" -gt 65536 ] && [ -n "$GOOD_HASH" ]
ig_check $? "the good snapshot is verified and larger than every cut ($(stat -c %s "$GOOD") bytes)"
corrupt() {
	# corrupt KIND: put a bad file in place with a rename, like a publisher
	_tmp=$IG_WORK/.snapshot.new.$$
	case "$1" in
	garbage) head -c 65536 /dev/urandom >"$_tmp" ;;
	empty) : >"$_tmp" ;;
	truncated) head -c 8192 "$GOOD" >"$_tmp" ;;
	cut-*) head -c "${1#cut-}" "$GOOD" >"$_tmp" ;;
	page) # random bytes over the middle of a page of a whole copy
		cp "$GOOD" "$_tmp"
		head -c 512 /dev/urandom | dd of="$_tmp" bs=1 seek=$((4096 * 5 + 1000)) conv=notrunc 2>/dev/null ;;
	hash) # a digit of the content hash stored in meta altered (the
		# seal left as it was): what a flipped bit in a page looks like
		cp "$GOOD" "$_tmp"
		_h=$GOOD_HASH
		_off=$(grep -obUaF "$_h" "$GOOD" | head -1 | cut -d: -f1)
		if [ -n "$_off" ]; then
			case "$_h" in 0*) _d=1 ;; *) _d=0 ;; esac
			printf '%s' "$_d" | dd of="$_tmp" bs=1 seek="$_off" conv=notrunc 2>/dev/null
		else
			ig_diag "content hash '$_h' not found in $SNAP"
		fi ;;
	unsealed) # the seal cut off whole: LMDB's pages all there, unvouched
		head -c $(( $(stat -c %s "$GOOD") - 96 )) "$GOOD" >"$_tmp" ;;
	seal) # the stored SHA-256 altered (a digit of the seal)
		cp "$GOOD" "$_tmp"
		printf '0' | dd of="$_tmp" bs=1 seek=$(( $(stat -c %s "$GOOD") - 20 )) conv=notrunc 2>/dev/null
		cmp -s "$GOOD" "$_tmp" && printf '1' | dd of="$_tmp" bs=1 seek=$(( $(stat -c %s "$GOOD") - 20 )) conv=notrunc 2>/dev/null ;;
	esac
	mv -f "$_tmp" "$SNAP"
}
for kind in garbage empty truncated cut-12288 cut-20000 cut-40960 page hash unsealed seal; do
	mark=$(ig_log_mark)
	corrupt "$kind"
	# the module's refusal is the event to wait for (bounded: 5 s)
	k=0
	while [ $k -lt 50 ] && ! ig_log_since "$mark" | grep -q 'icpguard: refusing new snapshot'; do
		sleep 0.1
		k=$((k + 1))
	done
	kill -0 "$IG_UNBOUND_PID" 2>/dev/null
	ig_check $? "$kind snapshot: Unbound is still running"
	ig_dig www.ordered.cn A
	check_ede 16 '工信厅信管函〔2022〕65号' "$kind snapshot: www.ordered.cn still blocked (old snapshot serves)"
	ig_dig "probe-$kind.ordered.cn" A
	check_ede 16 '工信厅信管函〔2022〕65号' "$kind snapshot: uncached probe-$kind.ordered.cn blocked by the old snapshot"
	ig_dig www.filed.cn A
	check_rcode NOERROR "$kind snapshot: www.filed.cn still resolves"
	s=$(canary_state)
	[ "$s" = pass ]
	ig_check $? "$kind snapshot: canary keeps the old verdict (pass)" "canary: $s"
	ig_log_since "$mark" | grep -i 'snapshot' | grep -qiE 'refus|invalid|corrupt|bad|fail|error|cannot|keep'
	ig_check $? "$kind snapshot: refused with a log line" \
		"no matching line in the unbound log since the swap: $(ig_log_since "$mark" | tail -5)"
	# the tools refuse the same file with a reason, exit 2, no signal
	"$IG_ICPGUARD" info "$SNAP" >/dev/null 2>"$IG_WORK/info.err"
	rc=$?
	[ $rc -eq 2 ] && grep -q "$SNAP" "$IG_WORK/info.err"
	ig_check $? "$kind snapshot: icpguard info refuses it (exit $rc)" "$(cat "$IG_WORK/info.err")"
	"$IG_ICPGUARD" explain --snapshot "$SNAP" www.ordered.cn >/dev/null 2>"$IG_WORK/explain.err"
	rc=$?
	[ $rc -eq 2 ] && grep -q "$SNAP" "$IG_WORK/explain.err"
	ig_check $? "$kind snapshot: icpguard explain refuses it (exit $rc)" "$(cat "$IG_WORK/explain.err")"
done
publish "$POL_B"
ms=$(wait_canary order)
case "$ms" in timeout*) false ;; *) true ;; esac
ig_check $? "a good snapshot after the bad ones is taken ($ms ms)" "canary: $ms"

# ---------------------------------------------------------------- 3. reload
mark=$(ig_log_mark)
sed -i "s/^policy-ttl:.*/policy-ttl: 45/" "$IG_WORK/icpguard.conf"
out=$(ig_uctl reload 2>&1)
[ "$out" = ok ]
ig_check $? "unbound-control reload -> ok" "unbound-control: $out"
k=0
until ig_uctl status >/dev/null 2>&1 || [ $k -ge 100 ]; do sleep 0.1; k=$((k + 1)); done
ig_dig www.ordered.cn A
check_rcode NXDOMAIN "after reload: www.ordered.cn -> NXDOMAIN"
check_ede 16 '工信厅信管函〔2022〕65号' "after reload: www.ordered.cn -> EDE 16 with the document number"
check_policy_soa www.ordered.cn 44 45 "after reload: policy-ttl 45 from the re-read configuration"
ig_dig www.unfiled-dom.cn A
check_rcode NXDOMAIN "after reload: www.unfiled-dom.cn (needs resolution) -> NXDOMAIN"
check_ede 15 'nofiling|no filing|not filed|unfiled|未备案' "after reload: www.unfiled-dom.cn -> EDE 15"
ig_dig www.unfiled-dom.cn A
check_rcode NXDOMAIN "after reload: www.unfiled-dom.cn (cached) -> NXDOMAIN"
ig_dig www.filed.cn A
check_rcode NOERROR "after reload: www.filed.cn -> NOERROR"
s=$(canary_state)
[ "$s" = order ]
ig_check $? "after reload: the current snapshot (variant B) is in force" "canary: $s"
publish "$POL_A"
ms=$(wait_canary pass)
case "$ms" in timeout*) false ;; *) true ;; esac
ig_check $? "after reload: snapshot swaps still work ($ms ms)" "canary: $ms"

# ---------------------------------------------------------------- 4. no snapshot at start
# expect_stop WHAT [MODULE_OVERRIDES [SERVER_OVERRIDES]]: start Unbound with
# these overrides; it must stop by itself within 15 s with a failure
# status (two checks); its messages are left in $msgs
expect_stop() {
	ig_write_unbound_conf "${2:-}" "${3:-}"
	: >"$IG_WORK/unbound.log"
	: >"$IG_WORK/unbound.stderr"
	ig_launch_unbound
	if ! ig_wait_exit "$IG_UNBOUND_PID" 150; then
		ig_check 1 "$1: Unbound stops" "still running after 15 s"
		ig_stop_unbound
	else
		wait "$IG_UNBOUND_PID"
		rc=$?
		ig_untrack "$IG_UNBOUND_PID"
		IG_UNBOUND_PID=""
		[ $rc != 0 ]
		ig_check $? "$1: Unbound stops with a failure status ($rc)"
	fi
	msgs=$(cat "$IG_WORK/unbound.log" "$IG_WORK/unbound.stderr" 2>/dev/null)
}
ig_stop_unbound
MISSING=$IG_WORK/later/snapshot.mdb
mkdir -p "$IG_WORK/later"
expect_stop "missing snapshot, fail-open no" "snapshot: $MISSING"
printf '%s\n' "$msgs" | grep -F "$MISSING" | grep -qi snapshot
ig_check $? "missing snapshot, fail-open no: the message names the snapshot path" \
	"log: $(printf '%s\n' "$msgs" | tail -5)"

# ---------------------------------------------------------------- 5. module place
# the module sits between the validator and the iterator: in front of the
# validator, the validator would store raw answers before the module saw
# them (docs/module.md)
expect_stop "module-config with the module in front of the validator" "" 'module-config: "dynlib validator iterator"'
printf '%s\n' "$msgs" | grep -F 'module-config "dynlib validator iterator" has no validator before the module' |
	grep -qF 'use "validator dynlib iterator"'
ig_check $? "module in front of the validator: the message says what is wrong and what to use" \
	"log: $(printf '%s\n' "$msgs" | tail -5)"
expect_stop "module-config without the validator" "" 'module-config: "dynlib iterator"'
printf '%s\n' "$msgs" | grep -qF 'module-config "dynlib iterator" has no validator before the module'
ig_check $? "module-config without the validator: the message says what is missing" \
	"log: $(printf '%s\n' "$msgs" | tail -5)"

ig_write_unbound_conf "snapshot: $MISSING
fail-open: yes"
: >"$IG_WORK/unbound.log"
ig_launch_unbound
ig_wait_unbound
ig_check $? "missing snapshot, fail-open yes: Unbound starts"
if [ -n "$IG_UNBOUND_PID" ]; then
	ig_dig www.ordered.cn A
	check_rcode NOERROR "fail-open: www.ordered.cn passes while there is no snapshot"
	grep -F "$MISSING" "$IG_WORK/unbound.log" | grep -qi snapshot
	ig_check $? "fail-open: the log says the snapshot is missing" "log: $(tail -5 "$IG_WORK/unbound.log")"
	ig_build_policy "$POL_A" "$MISSING" || ig_bail "icpguard build failed"
	T0=$(ig_now_ms)
	k=0
	while [ $k -lt 500 ]; do
		ig_dig www.ordered.cn A
		ig_ede_line | grep -q '^; EDE: 16 ' && break
		[ $(( $(ig_now_ms) - T0 )) -gt 10000 ] && break
		ig_sleep_ms 20
		k=$((k + 1))
	done
	ms=$(( $(ig_now_ms) - T0 ))
	check_ede 16 '工信厅信管函〔2022〕65号' "fail-open: once the snapshot appears www.ordered.cn is blocked (after $ms ms)"
	ig_dig www.unfiled-dom.cn A
	check_rcode NXDOMAIN "fail-open: and an unfiled domestic name is blocked"
else
	ig_notok "fail-open: queries (Unbound did not start)"
fi

ig_done
