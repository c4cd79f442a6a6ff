#!/bin/sh
# bench/module-qps.sh: dnsperf against Unbound without and with the icpguard
# module, side by side in one run, printed as ratios.  Not a test.
#
#   bench/module-qps.sh [-l SECONDS] [-r ROUNDS] [-n MISS_QUERIES]
#
# Setup on loopback: NSD on 127.0.0.2 serving bench.cn-style zones, two
# Unbounds with one thread each (plain: "validator iterator"; icpguard:
# "validator dynlib iterator") on 127.0.0.1.  Runs (each ROUNDS times,
# alternating, median reported):
#   hit     1000 filed names, all answered from the cache
#   miss    unique names, every query a cache miss answered by NSD, of
#           three kinds: filed (filed-bench.cn), unfiled foreign
#           (abroad-bench.com, a foreign address) and nonexistent (NXDOMAIN
#           from com.); upstream queries per client query counted at NSD
#   blocked 1000 blacklisted names answered from the cache (module only),
#           compared with "hit" of the same Unbound
# Needs dnsperf, nsd, a built tree (make) and tools/unbound-build; shared
# helpers in bench/lib.sh.  Everything lives in /tmp/icpguard-bench.*,
# removed at exit.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
secs=10 rounds=3 nmiss=60000
while getopts l:r:n:h o; do
	case $o in
	l) secs=$OPTARG ;; r) rounds=$OPTARG ;; n) nmiss=$OPTARG ;;
	*) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	esac
done
. "$top/bench/lib.sh"
bench_init bench
nsport=5453 plain=5454 mod=5455
for p in $nsport $plain $mod; do bench_port_free $p; done

bench_module_setup "$nsport" "$plain" "$mod" $((rounds * 2)) "$nmiss"
bench_nsd_start 127.0.0.2 $nsport cn com
"$ub" -c "$w/plain.conf"
ICPGUARD_CONF="$w/icpguard.conf" "$ub" -c "$w/mod.conf"
i=0
while [ $i -lt 50 ] && ! { [ -s "$w/plain.conf.pid" ] && [ -s "$w/mod.conf.pid" ]; }; do sleep 0.1; i=$((i+1)); done
bench_track "$(cat "$w/plain.conf.pid")" "$(cat "$w/mod.conf.pid")"

echo "bench: warming caches"
for p in $plain $mod; do
	bench_qps $p "$w/hit.txt" -n 2 >/dev/null
	bench_qps $p "$w/blocked.txt" -n 2 >/dev/null
done
: > "$w/res"
r=0
while [ $r -lt "$rounds" ]; do
	echo "bench: round $((r+1))/$rounds"
	echo "hit plain $(bench_qps $plain "$w/hit.txt" -l "$secs")" >> "$w/res"
	echo "hit mod $(bench_qps $mod "$w/hit.txt" -l "$secs")" >> "$w/res"
	echo "blocked mod $(bench_qps $mod "$w/blocked.txt" -l "$secs")" >> "$w/res"
	for k in miss unfiled nx; do
		# plain and module get different names (each its own misses);
		# upstream queries counted at NSD around each run
		b=$(bench_nsd_queries)
		echo "$k plain $(bench_qps $plain "$w/$k$((r*2)).txt" -n 1)" >> "$w/res"
		echo "up $k plain $(bench_upstream_per_query "$nmiss" "$b")" >> "$w/res"
		b=$(bench_nsd_queries)
		echo "$k mod $(bench_qps $mod "$w/$k$((r*2+1)).txt" -n 1)" >> "$w/res"
		echo "up $k mod $(bench_upstream_per_query "$nmiss" "$b")" >> "$w/res"
	done
	r=$((r+1))
done
bench_module_report "queries (median of $rounds)" "plain QPS" "icpguard QPS" qps
echo "(unbound num-threads 1, dnsperf -c 4 -q 200, ${secs}s per hit run, $nmiss unique names per miss run)"
