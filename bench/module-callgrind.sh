#!/bin/sh
# bench/module-callgrind.sh: instructions per query of Unbound without and
# with the icpguard module, counted by callgrind, side by side.  Not a test.
#
#   bench/module-callgrind.sh [-n QUERIES] [-o DIR]
#
# The same setup as bench/module-qps.sh (NSD on 127.0.0.2 with a stub zone,
# one-thread Unbounds, the same snapshot), but each Unbound runs under
# valgrind --tool=callgrind, one after the other.  For each kind of query
# the counters are zeroed (callgrind_control -z), dnsperf sends QUERIES
# queries, and the counters are dumped (-d): instructions / answered
# queries.  Kinds: cache hit (filed names, warm cache), cache miss (unique
# names answered by NSD: filed, unfiled foreign, nonexistent), blocked from
# cache (module only).  Instruction
# counts do not move with the load of a shared machine as QPS does.
# -o DIR keeps the dumps there (KIND-plain.out, KIND-mod.out) for
# callgrind_annotate.  Needs valgrind, dnsperf, nsd, a built tree and tools/unbound-build.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
nq=4000 keep=""
while getopts n:o:h o; do
	case $o in
	n) nq=$OPTARG ;; o) keep=$OPTARG ;;
	*) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	esac
done
command -v valgrind >/dev/null && command -v callgrind_control >/dev/null ||
	{ echo "bench: valgrind is not installed (apt-get install valgrind)" >&2; exit 2; }
. "$top/bench/lib.sh"
bench_init callgrind
nsport=5463 plain=5464 mod=5465
for p in $nsport $plain $mod; do bench_port_free $p; done
bench_module_setup "$nsport" "$plain" "$mod" 2 "$nq"
bench_nsd_start 127.0.0.2 $nsport cn com

# run: dnsperf over FILE for N queries, gently (valgrind is ~50x slower);
# prints the queries answered
run() {
	dnsperf -s 127.0.0.1 -p "$1" -d "$2" -n 1 -c 1 -q 20 -t 10 \
		2>/dev/null | awk '/Queries completed/ { print $3 }'
}
# count KIND PORT PID FILE: instructions per answered query
count() {
	callgrind_control -z "$3" >/dev/null 2>&1
	_done=$(run "$2" "$4")
	callgrind_control -d "$3" >/dev/null 2>&1
	_dump=$(ls -t "$w"/cg."$3".out.* | head -1)
	_ir=$(awk '/^totals:/ { print $2 }' "$_dump")
	if [ -n "$keep" ]; then
		mkdir -p "$keep"
		mv "$_dump" "$keep/$1-$kind.out"
	fi
	rm -f "$_dump"
	awk -v ir="$_ir" -v n="$_done" 'BEGIN { if(n > 0) printf "%d", ir / n; else print "n/a" }'
}

: > "$w/res"
for kind in plain mod; do
	port=$plain
	[ $kind = mod ] && port=$mod
	echo "bench: starting $kind Unbound under callgrind"
	ICPGUARD_CONF="$w/icpguard.conf" valgrind --tool=callgrind \
		--callgrind-out-file="$w/cg.%p.out" "$ub" -d -c "$w/$kind.conf" \
		2> "$w/$kind.valgrind.log" &
	pid=$!
	bench_track $pid
	i=0
	while [ $i -lt 300 ] && [ "$(bench_rcode $port w0.filed-bench.cn)" != NOERROR ]; do
		sleep 0.2; i=$((i+1))
	done
	[ $i -lt 300 ] || bench_die "$kind Unbound did not answer in 60 s"
	echo "bench: $kind: warming the cache"
	run $port "$w/hit.txt" >/dev/null
	run $port "$w/blocked.txt" >/dev/null
	echo "bench: $kind: counting"
	echo "hit $kind $(count hit $port $pid "$w/hit.txt")" >> "$w/res"
	echo "blocked $kind $(count blocked $port $pid "$w/blocked.txt")" >> "$w/res"
	f=0
	[ $kind = mod ] && f=1
	for k in miss unfiled nx; do
		echo "$k $kind $(count $k $port $pid "$w/$k$f.txt")" >> "$w/res"
	done
	bench_stop $pid
done
bench_module_report "instructions per query" plain icpguard cost
echo "(ratio: plain instructions / icpguard instructions, the QPS ratio a CPU-bound one-thread Unbound would show; $nq queries per kind)"
