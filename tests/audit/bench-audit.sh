#!/bin/sh
# tests/audit/bench-audit.sh: what dnstap audit records cost the resolver.
# A benchmark, not a test (make check does not run it).
#
#   tests/audit/bench-audit.sh [-l SECONDS] [-r ROUNDS] [-m MODULE.so] [-p]
#                              [-b PERCENT] [-L] [-u] [-g]
#
# Loopback only: NSD on 127.0.0.2 (port 5463) serving one zone, three
# Unbounds with the icpguard module (one thread each, 127.0.0.1 ports
# 5464-5466) differing only in audit:
#   off      no audit-socket
#   live     audit-socket -> fstrm_capture writing /dev/null
#   stalled  audit-socket -> fstrm_capture stopped with SIGSTOP
# The queries are 1000 names answered from the cache after a warm-up.
# By default all are blacklisted, so every answer is a policy answer and
# produces a record (the worst case); -b PERCENT makes only that share of
# them blacklisted and the rest filed names (no record: sampling is off),
# closer to a resolver's real traffic.
# dnsperf (-c 4 -q 200) runs SECONDS per run (default 10), ROUNDS times
# (default 3) per Unbound, alternating; the medians are printed side by
# side with the ratio to "off" (the median of the rounds' ratios, each
# round's runs back to back; target >= 0.95), with the CPU time per
# query of the Unbound worker (its main thread: num-threads 1) and of the
# whole process (the worker, the dnstap I/O thread, the module's snapshot
# watcher): the worker's figure is what bounds a busy resolver's QPS and is
# steadier than QPS on a shared machine.  And each
# Unbound's "records sent, dropped" line at the end.  -p pins each
# Unbound's worker (its main thread: num-threads 1) to CPU 0 and its other
# threads (the dnstap I/O thread, the module's snapshot watcher), dnsperf
# and the collectors to the other CPUs: the worker keeps a core of its own,
# as on a production resolver; without -p everything shares all CPUs.
# The module is copied first, so a rebuild during the run changes nothing.
# -L loads with bench/dnsload (-c 4 -q 800) instead of dnsperf: dnsperf
# needs about 7 us of CPU per query, a whole CPU at this rate, so on 2
# CPUs its QPS also measures what the audit threads and the collector
# take from it; dnsload batches its system calls (about 3 us a query)
# and leaves the worker to bound the rate.
# -u adds a fourth Unbound as a baseline: no audit, Unbound's own dnstap
# of every client response (dnstap-log-client-response-messages) to a
# live fstrm_capture: what the resolver's built-in log of the same
# answers costs.
# -g counts instructions instead (valgrind's callgrind, one Unbound
# thread per file): 4000 queries to each Unbound, gently, and for each of
# its threads the instructions per query (the worker, libfstrm's I/O
# thread, the encoder, the snapshot watcher).  The counts do not move with
# the load of a shared machine as QPS and CPU time do; the kernel's share
# (system calls, the copy into the socket) is not in them.
# Needs root (NSD), nsd, dnsperf, fstrm_capture, tools/unbound-build and
# make (and valgrind for -g).
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/bench/lib.sh"
bd=$(bench_builddir)
secs=10 rounds=3 so=$bd/module/.libs/icpguard.so pin=0 pct=100 cg=0 load=dnsperf
kinds="off live stalled"
while getopts l:r:m:pb:gLuh o; do
	case $o in
	l) secs=$OPTARG ;; r) rounds=$OPTARG ;; m) so=$OPTARG ;; p) pin=1 ;;
	b) pct=$OPTARG ;; g) cg=1 ;;
	L) load=dnsload ;;
	u) kinds="off live stalled ubtap" ;;
	*) sed -n '2,49p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	esac
done
case "$secs$rounds$pct" in *[!0-9]*) echo "bench: -l, -r and -b take numbers" >&2; exit 2 ;; esac
[ "$pct" -ge 1 ] && [ "$pct" -le 100 ] || { echo "bench: -b 1..100" >&2; exit 2; }
[ "$secs" -ge 1 ] && [ "$secs" -le 120 ] && [ "$rounds" -ge 1 ] && [ "$rounds" -le 20 ] ||
	{ echo "bench: -l 1..120, -r 1..20 (bounded runs)" >&2; exit 2; }
ub=$top/build/unbound/prefix/sbin/unbound
ig=$bd/tools/icpguard
dnsload=$bd/bench/dnsload
[ $load = dnsperf ] || [ -x "$dnsload" ] || { echo "bench: -L: missing $dnsload (make)" >&2; exit 2; }
for f in "$ub" "$so" "$ig"; do
	[ -f "$f" ] || { echo "bench: missing $f (run tools/unbound-build and make)" >&2; exit 2; }
done
for c in nsd dnsperf fstrm_capture; do
	command -v $c >/dev/null || { echo "bench: $c missing (tools/deps)" >&2; exit 2; }
done
# pinning: Unbound on CPU 0, the load and the collectors elsewhere
cli=""
if [ $pin = 1 ]; then
	n=$(nproc)
	[ "$n" -ge 2 ] || { echo "bench: -p needs 2 CPUs or more" >&2; exit 2; }
	command -v taskset >/dev/null || { echo "bench: -p needs taskset" >&2; exit 2; }
	cli="taskset -c 1-$((n - 1))"
fi
w=$(mktemp -d /tmp/icpguard-bench-audit.XXXXXX)
cp "$so" "$w/icpguard.so"
so_orig=$so
so=$w/icpguard.so
# and the load generator: a make during the run changes neither
if [ $load = dnsload ]; then cp "$dnsload" "$w/dnsload"; dnsload=$w/dnsload; fi
pids="" cap_live="" cap_stalled=""
cleanup() {
	# a stalled collector must run again, or the module's stop waits for it
	[ -z "$cap_stalled" ] || kill -CONT "$cap_stalled" 2>/dev/null || true
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	sleep 1
	for p in $pids; do kill -KILL "$p" 2>/dev/null || true; done
	# BENCH_KEEP=1 keeps the logs and the callgrind files (callgrind_annotate)
	if [ -n "${BENCH_KEEP:-}" ]; then echo "bench: kept $w" >&2; else rm -rf "$w"; fi
}
trap cleanup EXIT INT TERM
nsport=5463

cat > "$w/cn.zone" <<Z
\$TTL 3600
cn. IN SOA ns.cn. host.cn. 1 3600 600 86400 3600
cn. IN NS ns.cn.
ns.cn. IN A 127.0.0.2
*.blk-bench.cn. IN A 127.0.10.2
*.ok-bench.cn. IN A 127.0.10.3
Z
cat > "$w/nsd.conf" <<C
server:
  ip-address: 127.0.0.2@$nsport
  port: $nsport
  zonesdir: "$w"
  pidfile: "$w/nsd.pid"
  xfrdfile: "$w/xfrd.state"
  zonelistfile: "$w/zone.list"
  database: ""
  username: ""
  logfile: "$w/nsd.log"
  server-count: 1
remote-control:
  control-enable: no
zone:
  name: "cn"
  zonefile: "cn.zone"
C
mkdir -p "$w/src"
printf 'cn\n' > "$w/src/tlds.txt"
printf '{"name":"blk-bench.cn","reason":"bench"}\n' > "$w/src/blacklist.jsonl"
printf '{"domain":"ok-bench.cn","number":"京ICP备16020626号-1"}\n' > "$w/src/filings.jsonl"
printf 'range\n127.0.10.0/24\n' > "$w/src/domestic.csv"
"$ig" build --quiet --source "$w/src" --out "$w/snapshot.mdb"

# collectors: one live (to /dev/null), one to be stalled
$cli fstrm_capture -t protobuf:dnstap.Dnstap -u "$w/live.sock" -w /dev/null >"$w/cap-live.log" 2>&1 &
cap_live=$!
$cli fstrm_capture -t protobuf:dnstap.Dnstap -u "$w/stalled.sock" -w "$w/stalled.fstrm" >"$w/cap-stalled.log" 2>&1 &
cap_stalled=$!
pids="$cap_live $cap_stalled"
cap_ubtap=""
case $kinds in *ubtap*)
	$cli fstrm_capture -t protobuf:dnstap.Dnstap -u "$w/ubtap.sock" -w /dev/null >"$w/cap-ubtap.log" 2>&1 &
	cap_ubtap=$!
	pids="$pids $cap_ubtap" ;;
esac

port=5464
for kind in $kinds; do
	{
		printf 'snapshot: %s\nlog-blocks: no\n' "$w/snapshot.mdb"
		case $kind in off|ubtap) ;; *) printf 'audit-socket: %s\n' "$w/$kind.sock" ;; esac
		# -g: a short queue for the stalled collector, filled soon
		[ $kind != stalled ] || [ $cg = 0 ] || printf 'audit-queue: 256\n'
	} > "$w/$kind-icpguard.conf"
	cat > "$w/$kind.conf" <<C
server:
  interface: 127.0.0.1@$port
  port: $port
  chroot: ""
  username: ""
  directory: "$w"
  pidfile: "$w/$kind.pid"
  logfile: "$w/$kind.log"
  verbosity: 1
  num-threads: 1
  do-not-query-localhost: no
  msg-cache-size: 64m
  rrset-cache-size: 64m
  outgoing-range: 4096
  num-queries-per-thread: 4096
  so-reuseport: no
  so-rcvbuf: 4m
  minimal-responses: yes
  ede: yes
  module-config: "validator dynlib iterator"
stub-zone:
  name: "cn"
  stub-addr: 127.0.0.2@$nsport
dynlib:
  dynlib-file: "$so"
remote-control:
  control-enable: no
C
	[ $kind != ubtap ] || cat >> "$w/$kind.conf" <<C
dnstap:
  dnstap-enable: yes
  dnstap-socket-path: "$w/ubtap.sock"
  dnstap-log-client-response-messages: yes
C
	eval "port_$kind=$port"
	port=$((port + 1))
done
nsd -c "$w/nsd.conf"
i=0
while [ $i -lt 50 ] && ! [ -s "$w/nsd.pid" ]; do sleep 0.1; i=$((i+1)); done
pids="$pids $(cat "$w/nsd.pid")"
i=0
while [ $i -lt 50 ] && ! { [ -S "$w/live.sock" ] && [ -S "$w/stalled.sock" ] &&
	{ [ -z "$cap_ubtap" ] || [ -S "$w/ubtap.sock" ]; }; }; do sleep 0.1; i=$((i+1)); done
for kind in $kinds; do
	if [ $cg = 1 ]; then
		# in the foreground under valgrind (its pid is valgrind's)
		ICPGUARD_CONF="$w/$kind-icpguard.conf" valgrind --tool=callgrind \
			--separate-threads=yes --callgrind-out-file="$w/cg.$kind.%p" \
			"$ub" -d -c "$w/$kind.conf" >"$w/$kind.valgrind" 2>&1 &
		echo $! > "$w/$kind.vgpid"
	else
		ICPGUARD_CONF="$w/$kind-icpguard.conf" "$ub" -c "$w/$kind.conf"
	fi
done
i=0
# started: every pid file there
started() { for _k in $kinds; do [ -s "$w/$_k.pid" ] || return 1; done; }
while [ $i -lt 300 ] && ! started; do sleep 0.1; i=$((i+1)); done
for kind in $kinds; do pids="$pids $(cat "$w/$kind.pid")"; done
if [ $pin = 1 ]; then
	sleep 0.5
	for kind in $kinds; do
		pid=$(cat "$w/$kind.pid")
		for t in /proc/"$pid"/task/*; do
			tid=${t##*/}
			if [ "$tid" = "$pid" ]; then
				taskset -p -c 0 "$tid" >/dev/null
			else
				taskset -p -c "1-$(($(nproc) - 1))" "$tid" >/dev/null
			fi
		done
	done
fi

# PERCENT of every hundred names blacklisted, the others filed
awk -v p="$pct" 'BEGIN { for(i = 0; i < 1000; i++)
	if(i % 100 < p) printf "b%d.blk-bench.cn A\n", i
	else printf "a%d.ok-bench.cn A\n", i }' > "$w/blocked.txt"
# qps PORT [dnsperf args]: queries per second (integer); LOAD: the load
# generator (dnsload takes -l only)
qps() {
	_p=$1
	shift
	if [ "${LOAD:-dnsperf}" = dnsload ]; then
		$cli "$dnsload" -s 127.0.0.1 -p "$_p" -d "$w/blocked.txt" -c 4 -q 800 -t 2 "$@" 2>/dev/null >"$w/dnsperf.out"
	else
		$cli dnsperf -s 127.0.0.1 -p "$_p" -d "$w/blocked.txt" -c 4 -q 200 -t 2 "$@" 2>/dev/null >"$w/dnsperf.out"
	fi
	awk '/Queries per second/ { print int($4) }' "$w/dnsperf.out"
	sed -n 's/^ *dnsload CPU per query: \([0-9.]*\) us.*/\1/p' "$w/dnsperf.out" >>"$w/load.cpu"
}
# cpu PID: user + system CPU time of a process so far, in clock ticks
cpu() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# wcpu PID: the same for its main thread (the worker with num-threads 1)
wcpu() { awk '{ print $14 + $15 }' "/proc/$1/task/$1/stat"; }
# others_busy: "TOTAL BUSY" clock ticks so far of every CPU but CPU 0 (where
# -p puts the worker: the load generator's and collectors' CPUs)
others_busy() {
	awk '$1 ~ /^cpu[1-9][0-9]*$/ { for(i = 2; i <= NF; i++) t += $i; b += $2 + $3 + $4 + $7 + $8 }
		END { print t + 0, b + 0 }' /proc/stat
}
hz=$(getconf CLK_TCK)
if [ $cg = 1 ]; then
	command -v callgrind_control >/dev/null ||
		{ echo "bench: -g needs valgrind (apt-get install valgrind)" >&2; exit 2; }
	echo "bench: counting instructions (callgrind), $pct% blocked"
	gentle() { dnsperf -s 127.0.0.1 -p "$1" -d "$w/blocked.txt" -n "$2" -c 1 -q 20 -t 10 2>/dev/null | awk '/Queries completed/ { print $3 }'; }
	for kind in $kinds; do eval "gentle \$port_$kind 1" >/dev/null; done
	kill -STOP "$cap_stalled"
	printf '\n%-10s %8s %8s %8s %8s   %s\n' "" worker io encoder watcher "instructions per query, by thread (callgrind)"
	for kind in $kinds; do
		vp=$(cat "$w/$kind.vgpid")
		# the stalled collector's queue full first (256 records)
		[ $kind != stalled ] || gentle "$port_stalled" 3 >/dev/null
		callgrind_control -z "$vp" >/dev/null 2>&1
		eval "n=\$(gentle \$port_$kind 4)"
		sleep 2  # the encoder and the I/O thread catch up
		callgrind_control -d "$vp" >/dev/null 2>&1
		# one file per thread: .1-01 the worker, then the threads in
		# the order they started (the I/O thread, the encoder, the
		# watcher; without audit only the watcher)
		set --
		for f in "$w/cg.$kind.$vp".1-*; do
			set -- "$@" "$(awk -v n="${n:-0}" '/^totals:/ { if(n > 0) printf "%d", $2 / n }' "$f")"
		done
		if [ $# = 2 ]; then set -- "$1" - - "$2"; fi
		# Unbound's own dnstap: the worker, the module's watcher, then
		# Unbound's dnstap I/O thread (started after the modules)
		if [ $# = 3 ]; then set -- "$1" "$3" - "$2"; fi
		printf '%-10s %8s %8s %8s %8s   (%s queries answered)\n' "$kind" "${1:--}" "${2:--}" "${3:--}" "${4:--}" "${n:-0}"
	done
	kill -CONT "$cap_stalled"
	exit 0
fi
echo "bench: warming the caches"
for kind in $kinds; do
	eval "qps \$port_$kind -n 2" >/dev/null
done
kill -STOP "$cap_stalled"
: > "$w/res"
: > "$w/load.cpu"
r=0
while [ $r -lt "$rounds" ]; do
	echo "bench: round $((r+1))/$rounds"
	# the order alternates, so that a drift of the machine's speed
	# during a round weighs on both sides alike
	order=$kinds
	[ $((r % 2)) = 0 ] || order=$(echo $kinds | awk '{ for(i = NF; i > 0; i--) printf "%s ", $i }')
	for kind in $order; do
		pid=$(cat "$w/$kind.pid")
		c0=$(cpu "$pid") t0=$(wcpu "$pid") b0=$(others_busy) k0=$(cpu "$cap_live")
		eval "q=\$(LOAD=$load qps \$port_$kind -l $secs)"
		c1=$(cpu "$pid") t1=$(wcpu "$pid") b1=$(others_busy) k1=$(cpu "$cap_live")
		n=$(awk '/Queries completed/ { print $3 }' "$w/dnsperf.out")
		# microseconds of Unbound CPU per query: process, worker
		us=$(awk -v c=$((c1 - c0)) -v hz="$hz" -v n="${n:-0}" 'BEGIN { if(n > 0) printf "%.2f", c / hz * 1e6 / n; else print 0 }')
		wus=$(awk -v c=$((t1 - t0)) -v hz="$hz" -v n="${n:-0}" 'BEGIN { if(n > 0) printf "%.2f", c / hz * 1e6 / n; else print 0 }')
		# how busy the other CPUs were (percent), and the live
		# collector's CPU per query
		busy=$(echo "$b0 $b1" | awk '{ t = $3 - $1; if(t > 0) printf "%d", 100 * ($4 - $2) / t; else print 0 }')
		kus=$(awk -v c=$((k1 - k0)) -v hz="$hz" -v n="${n:-0}" 'BEGIN { if(n > 0) printf "%.2f", c / hz * 1e6 / n; else print 0 }')
		echo "$kind $q $us $wus $r $busy $kus ${n:-0}" >> "$w/res"
	done
	r=$((r+1))
done
get() { awk -v k="$1" -v f="${2:-2}" '$1 == k { print $f }' "$w/res" | bench_median; }
off=$(get off); live=$(get live); stalled=$(get stalled)
uoff=$(get off 3); ulive=$(get live 3); ustalled=$(get stalled 3)
woff=$(get off 4); wlive=$(get live 4); wstalled=$(get stalled 4)
# pratio KIND FIELD [INVERT]: the median over the rounds of the round's
# KIND / off (INVERT: off / KIND, for CPU per query); paired within a
# round, it is steadier than a ratio of medians on a shared machine
pratio() {
	awk -v k="$1" -v f="$2" -v inv="${3:-0}" '
		$1 == "off" { o[$5] = $f } $1 == k { x[$5] = $f }
		END { for(r in x) if(o[r] > 0 && x[r] > 0)
			printf "%.3f\n", inv ? o[r] / x[r] : x[r] / o[r] }' "$w/res" |
		bench_median
}
# the live Unbound's CPU by thread over all its runs (user and system):
# the worker, libfstrm's I/O thread, the encoder, the watcher (tids in
# the order the threads started), per query answered
lq=$(awk '$1 == "live" { n += $8 } END { print n + 0 }' "$w/res")
threads=$(lp=$(cat "$w/live.pid"); for t in $(ls /proc/"$lp"/task | sort -n); do
	awk '{ printf "%s/%s ", $14, $15 }' /proc/"$lp"/task/"$t"/stat; done)
# stop: the stalled collector runs again first (see cleanup)
kill -CONT "$cap_stalled"
for kind in $kinds; do
	kill "$(cat "$w/$kind.pid")" 2>/dev/null || true
done
# stopped: no pid file left
stopped() { for _k in $kinds; do [ ! -e "$w/$_k.pid" ] || return 1; done; }
i=0
while [ $i -lt 100 ] && ! stopped; do sleep 0.1; i=$((i+1)); done
printf '\n%-42s %8s %6s %7s   %s\n' "$pct% blocked, from cache (median of $rounds)" QPS ratio target "CPU us/query (ratio): worker, process"
printf '%-42s %8s %6s %7s   %5s (%5s), %5s (%5s)\n' "audit off" "$off" "1.000" "" "$woff" "1.000" "$uoff" "1.000"
printf '%-42s %8s %6s %7s   %5s (%5s), %5s (%5s)\n' "audit on, live collector (fstrm_capture)" "$live" "$(pratio live 2)" ">=0.95" "$wlive" "$(pratio live 4 1)" "$ulive" "$(pratio live 3 1)"
printf '%-42s %8s %6s %7s   %5s (%5s), %5s (%5s)\n' "audit on, stalled collector (SIGSTOP)" "$stalled" "$(pratio stalled 2)" ">=0.95" "$wstalled" "$(pratio stalled 4 1)" "$ustalled" "$(pratio stalled 3 1)"
[ -z "$cap_ubtap" ] || printf '%-42s %8s %6s %7s   %5s (%5s), %5s (%5s)\n' "baseline: Unbound's own dnstap, no audit" "$(get ubtap)" "$(pratio ubtap 2)" "" "$(get ubtap 4)" "$(pratio ubtap 4 1)" "$(get ubtap 3)" "$(pratio ubtap 3 1)"
echo "(ratios: the median of each round's ratio to audit off; CPU ratios are off / on)"
[ $pin = 0 ] || echo "CPUs 1-$(($(nproc) - 1)) busy ($load, the collectors, Unbound's other threads): off $(get off 6)%, live $(get live 6)%, stalled $(get stalled 6)%"
echo "the live collector (fstrm_capture) used $(get live 7) us of CPU per query"
[ $load = dnsperf ] || echo "dnsload used $(bench_median <"$w/load.cpu") us of CPU per query (median of its runs)"
echo "$threads" | awk -v n="$lq" -v hz="$hz" 'BEGIN { split("worker io encoder watcher", nm, " ") }
	{ if(n == 0) exit; printf "live Unbound, us of CPU per query (user+system) by thread:"
	  for(i = 1; i <= NF && i <= 4; i++) { split($i, c, "/"); printf " %s %.2f+%.2f", nm[i], c[1] / hz * 1e6 / n, c[2] / hz * 1e6 / n }
	  printf " (all runs, warm-up included)\n" }'
for kind in live stalled; do
	l=$(grep -o 'dnstap audit: [0-9]* records sent, [0-9]* dropped' "$w/$kind.log" | tail -1 || true)
	f=$(grep -o 'dnstap frames: .*' "$w/$kind.log" | tail -1 || true)
	printf '%-8s %s; %s\n' "$kind:" "${l:-no stop line in the log}" "${f:-}"
done
_p="shared CPUs"
[ $pin = 0 ] || _p="Unbound worker pinned to CPU 0; its other threads, $load and collectors on 1-$(($(nproc) - 1))"
[ $load = dnsperf ] && _q=200 || _q=800
echo "(unbound num-threads 1, so-rcvbuf 4m, $load -c 4 -q $_q, ${secs}s per run, $_p; $(nproc) CPUs: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1); module $so_orig)"
