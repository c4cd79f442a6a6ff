#!/bin/sh
# bench/expiry.sh: what a delta publish costs a resolver with a large cache.
# Not a test.
#
#   bench/expiry.sh [-n CACHED] [-c CHANGED] [-q LOAD_QPS] [-s SNAPSHOT]
#
# One Unbound with the module (num-threads 2, the kernel's default socket
# buffer) fills its cache with CACHED answers (default 1,000,000) in a
# realistic mix: 40 % plain answers of filed names, 30 % foreign names
# behind an alias (CDN style), 20 % nonexistent names, 10 % policy answers
# (blacklisted names).  Then a delta snapshot is published with CHANGED
# (default 100) new blacklist entries: half of them names in the cache (a
# filed name, an alias owner, an alias target's subtree ...), half names
# nobody asked for.  Measured: the entries the module expired and the time
# of the pass (its log line), dnsperf at LOAD_QPS (default 10,000) over
# cached names during the swap (the highest latency, queries lost), and the
# upstream queries (counted at NSD) when every cached name is asked again
# after the swap.  BENCH_MODCFG sets module-config (default "validator dynlib
# iterator"; the module of 142fe13 and before needs "dynlib validator
# iterator").  -s SNAPSHOT: the module reads SNAPSHOT (for example one of
# ten million filings, `bench-verdict --filings 10M --out PATH --keep`)
# and the publish is a copy of it renamed over the path (a full swap: the
# same serial, every cached answer expires, a new mapping of the whole
# file) instead of the delta.  Needs dnsperf, nsd, a built tree and
# tools/unbound-build.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
ncached=1000000 nchanged=100 loadqps=10000 big=""
while getopts n:c:q:s:h o; do
	case $o in
	n) ncached=$OPTARG ;; c) nchanged=$OPTARG ;; q) loadqps=$OPTARG ;;
	s) big=$OPTARG ;;
	*) sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	esac
done
. "$top/bench/lib.sh"
bench_init expiry
nsport=5473 port=5474
for p in $nsport $port; do bench_port_free $p; done
modcfg=${BENCH_MODCFG:-validator dynlib iterator}

echo "bench: zones, policy and $ncached names in $w"
bench_zone cn 86400 "*.filed-bench.cn. IN A 127.0.10.1" "*.blk-bench.cn. IN A 127.0.10.2"
bench_zone com 86400 "*.alias-bench.com. IN CNAME edge.cdn-bench.com." \
	"edge.cdn-bench.com. IN A 127.0.20.1"
mkdir -p "$w/src"
printf 'cn\ncom\n' > "$w/src/tlds.txt"
printf '{"domain":"filed-bench.cn","number":"京ICP备16020626号-1"}\n' > "$w/src/filings.jsonl"
printf '{"name":"blk-bench.cn","reason":"bench"}\n' > "$w/src/blacklist.jsonl"
printf 'range\n127.0.10.0/24\n' > "$w/src/domestic.csv"
if [ -n "$big" ]; then
	# hard links on the same file system as the snapshot (no copy of a
	# gigabyte into $w); the swap renames the second one over the first
	bd=$(dirname "$big")
	ln -f "$big" "$bd/icpguard-expiry-$$.mdb" || bench_die "cannot link $big"
	cp "$big" "$bd/icpguard-expiry-$$.new.mdb" || bench_die "cannot copy $big"
	printf 'snapshot: %s\nlog-blocks: no\n' "$bd/icpguard-expiry-$$.mdb" > "$w/icpguard.conf"
	trap 'rm -f "$bd/icpguard-expiry-$$.mdb" "$bd/icpguard-expiry-$$.new.mdb"; bench_cleanup' EXIT
else
	"$ig" build --quiet --source "$w/src" --out "$w/snapshot.mdb"
	printf 'snapshot: %s\nlog-blocks: no\n' "$w/snapshot.mdb" > "$w/icpguard.conf"
fi
bench_unbound_conf "$w/ub.conf" $port "$modcfg" 127.0.0.2 $nsport cn com
sed -i 's/^  num-threads: 1$/  num-threads: 2/; s/^  msg-cache-size: 256m$/  msg-cache-size: 2g/; s/^  rrset-cache-size: 256m$/  rrset-cache-size: 2g/; s/^  verbosity: 0$/  verbosity: 1/' "$w/ub.conf"
case "$modcfg" in *dynlib*) printf 'dynlib:\n  dynlib-file: "%s"\n' "$so" >> "$w/ub.conf" ;; esac
printf 'remote-control:\n  control-enable: no\n' >> "$w/ub.conf"
awk -v n="$ncached" -v w="$w" 'BEGIN {
	for(i = 0; i < n; i++) {
		k = i % 10
		if(k < 4) printf "f%d.filed-bench.cn A\n", i > (w "/names.txt")
		else if(k < 7) printf "a%d.alias-bench.com A\n", i > (w "/names.txt")
		else if(k < 9) printf "nx%d-bench.com A\n", i > (w "/names.txt")
		else printf "b%d.blk-bench.cn A\n", i > (w "/names.txt")
	} }'
head -20000 "$w/names.txt" > "$w/load.txt"

bench_nsd_start 127.0.0.2 $nsport cn com
ICPGUARD_CONF="$w/icpguard.conf" "$ub" -c "$w/ub.conf"
i=0
while [ $i -lt 100 ] && ! [ -s "$w/ub.conf.pid" ]; do sleep 0.1; i=$((i + 1)); done
bench_track "$(cat "$w/ub.conf.pid")"
sleep 1
echo "bench: filling the cache"
t=$(bench_now)
dnsperf -s 127.0.0.1 -p $port -d "$w/names.txt" -n 1 -c 8 -q 500 -t 5 > "$w/fill.out" 2>&1 || true
echo "bench: $(awk '/Queries completed/ { print $3 }' "$w/fill.out") answers in $(awk -v a="$t" -v b="$(bench_now)" 'BEGIN { printf "%.0f", b - a }') s"

# the delta: half the changed names are cached, half not
awk -v c="$nchanged" 'BEGIN {
	for(i = 0; i < c / 2; i++) {
		k = i % 3
		if(k == 0) printf "{\"name\":\"f%d.filed-bench.cn\",\"reason\":\"bench delta\"}\n", i * 10
		else if(k == 1) printf "{\"name\":\"a%d.alias-bench.com\",\"reason\":\"bench delta\"}\n", i * 10 + 4
		else printf "{\"name\":\"nx%d-bench.com\",\"reason\":\"bench delta\"}\n", i * 10 + 7
	}
	for(i = 0; i < c - int(c / 2); i++) printf "{\"name\":\"never%d.example.com\",\"reason\":\"bench delta\"}\n", i
}' >> "$w/src/blacklist.jsonl"

echo "bench: load at $loadqps QPS over cached names, then the delta publish"
dnsperf -s 127.0.0.1 -p $port -d "$w/load.txt" -c 4 -q 200 -t 1 -Q "$loadqps" -l 8 -S 1 > "$w/load.out" 2>&1 &
lp=$!
sleep 2
mark=$(wc -l < "$w/ub.conf.log")
if [ -n "$big" ]; then
	mv "$bd/icpguard-expiry-$$.new.mdb" "$bd/icpguard-expiry-$$.mdb"
else
	"$ig" build --quiet --source "$w/src" --out "$w/snapshot.mdb"
fi
wait $lp || true
i=0
while [ $i -lt 100 ] && ! tail -n +"$mark" "$w/ub.conf.log" | grep -q 'cached messages after the swap'; do sleep 0.1; i=$((i + 1)); done
line=$(tail -n +"$mark" "$w/ub.conf.log" | grep 'cached messages after the swap' | tail -1)

echo "bench: every cached name again"
before=$(bench_nsd_queries)
dnsperf -s 127.0.0.1 -p $port -d "$w/names.txt" -n 1 -c 8 -q 500 -t 5 > "$w/again.out" 2>&1 || true
after=$(bench_nsd_queries)

echo
if [ -n "$big" ]; then
	echo "full swap to a copy of $big ($(du -h "$big" | cut -f1)), $ncached cached answers, module-config \"$modcfg\""
else
	echo "delta publish of $nchanged blacklist entries ($((nchanged / 2)) cached names), $ncached cached answers, module-config \"$modcfg\""
fi
echo "module:            ${line#*icpguard: }"
echo "load during swap:  $(awk '/Queries sent/ { s = $3 } /Queries lost/ { l = $3 } /Average Latency/ { m = $NF } END { printf "%s sent, %s lost, latency %s", s, l, m }' "$w/load.out")"
echo "                   (dnsperf -Q $loadqps -t 1, num-threads 2, default socket buffer; max in the (min, max) pair, seconds)"
echo "asked again:       $((after - before)) upstream queries for $ncached names"
