#!/bin/sh
# bench/module-qps.sh: dnsperf against Unbound without and with the icpguard
# module, side by side in one run, printed as ratios.  Not a test.
#
#   bench/module-qps.sh [-l SECONDS] [-r ROUNDS] [-n MISS_QUERIES]
#
# Setup on loopback: NSD on 127.0.0.2 serving bench.cn-style zones, two
# Unbounds with one thread each (plain: "validator iterator"; icpguard:
# "dynlib validator iterator") on 127.0.0.1.  Runs (each ROUNDS times,
# alternating, median reported):
#   hit     1000 filed names, all answered from the cache
#   miss    unique names, every query a cache miss answered by NSD
#   blocked 1000 blacklisted names answered from the cache (module only),
#           compared with "hit" of the same Unbound
# Needs root (NSD binds 127.0.0.2:53xx is fine unprivileged, but the
# tree under /tmp is cleaned up by this script), dnsperf, nsd, a built
# tree (make) and tools/unbound-build.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
secs=10 rounds=3 nmiss=60000
while getopts l:r:n:h o; do
	case $o in
	l) secs=$OPTARG ;; r) rounds=$OPTARG ;; n) nmiss=$OPTARG ;;
	*) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	esac
done
ub=$top/build/unbound/prefix/sbin/unbound
so=$top/module/.libs/icpguard.so
ig=$top/tools/icpguard
for f in "$ub" "$so" "$ig"; do
	[ -x "$f" ] || [ -f "$f" ] || { echo "bench: missing $f (run tools/unbound-build and make)" >&2; exit 2; }
done
command -v dnsperf >/dev/null || { echo "bench: dnsperf missing (tools/deps)" >&2; exit 2; }
w=$(mktemp -d /tmp/icpguard-bench.XXXXXX)
pids=""
cleanup() { for p in $pids; do kill "$p" 2>/dev/null || true; done; sleep 0.5; rm -rf "$w"; }
trap cleanup EXIT INT TERM
nsport=5453 plain=5454 mod=5455

echo "bench: zones and policy in $w"
cat > "$w/cn.zone" <<Z
\$TTL 3600
cn. IN SOA ns.cn. host.cn. 1 3600 600 86400 3600
cn. IN NS ns.cn.
ns.cn. IN A 127.0.0.2
*.filed-bench.cn. IN A 127.0.10.1
*.blk-bench.cn. IN A 127.0.10.2
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
printf '{"domain":"filed-bench.cn","number":"京ICP备16020626号-1"}\n' > "$w/src/filings.jsonl"
printf '{"name":"blk-bench.cn","reason":"bench"}\n' > "$w/src/blacklist.jsonl"
printf 'range\n127.0.10.0/24\n' > "$w/src/domestic.csv"
"$ig" build --quiet --source "$w/src" --out "$w/snapshot.mdb"
printf 'snapshot: %s\nlog-blocks: no\n' "$w/snapshot.mdb" > "$w/icpguard.conf"
for kind in plain mod; do
	eval port=\$$kind
	mc='"validator iterator"'
	dl=""
	if [ $kind = mod ]; then
		mc='"dynlib validator iterator"'
		dl="dynlib:
  dynlib-file: \"$so\""
	fi
	cat > "$w/$kind.conf" <<C
server:
  interface: 127.0.0.1@$port
  port: $port
  chroot: ""
  username: ""
  directory: "$w"
  pidfile: "$w/$kind.pid"
  logfile: "$w/$kind.log"
  verbosity: 0
  num-threads: 1
  do-not-query-localhost: no
  msg-cache-size: 256m
  rrset-cache-size: 256m
  outgoing-range: 4096
  num-queries-per-thread: 4096
  so-reuseport: no
  minimal-responses: yes
  ede: yes
  module-config: $mc
stub-zone:
  name: "cn"
  stub-addr: 127.0.0.2@$nsport
$dl
remote-control:
  control-enable: no
C
done
nsd -c "$w/nsd.conf"
sleep 0.5
pids="$(cat "$w/nsd.pid")"
"$ub" -c "$w/plain.conf"
ICPGUARD_CONF="$w/icpguard.conf" "$ub" -c "$w/mod.conf"
i=0
while [ $i -lt 50 ] && ! { [ -s "$w/plain.pid" ] && [ -s "$w/mod.pid" ]; }; do sleep 0.1; i=$((i+1)); done
pids="$pids $(cat "$w/plain.pid") $(cat "$w/mod.pid")"

i=0; : > "$w/hit.txt"; : > "$w/blocked.txt"
while [ $i -lt 1000 ]; do
	echo "w$i.filed-bench.cn A" >> "$w/hit.txt"
	echo "b$i.blk-bench.cn A" >> "$w/blocked.txt"
	i=$((i+1))
done
# unique names for every miss run: ROUNDS x 2 files
r=0
while [ $r -lt $((rounds * 2)) ]; do
	awk -v n="$nmiss" -v r="$r" 'BEGIN { for(i = 0; i < n; i++) printf "m%d-%d.filed-bench.cn A\n", r, i }' > "$w/miss$r.txt"
	r=$((r+1))
done

# qps PORT FILE [extra dnsperf args]
qps() {
	port=$1; file=$2; shift 2
	dnsperf -s 127.0.0.1 -p "$port" -d "$file" -c 4 -q 200 -t 2 "$@" 2>/dev/null |
		awk '/Queries per second/ { print int($4) }'
}
echo "bench: warming caches"
for p in $plain $mod; do
	qps $p "$w/hit.txt" -n 2 >/dev/null
	qps $p "$w/blocked.txt" -n 2 >/dev/null
done
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
: > "$w/res"
r=0
while [ $r -lt "$rounds" ]; do
	echo "bench: round $((r+1))/$rounds"
	echo "hit plain $(qps $plain "$w/hit.txt" -l "$secs")" >> "$w/res"
	echo "hit mod $(qps $mod "$w/hit.txt" -l "$secs")" >> "$w/res"
	echo "blocked mod $(qps $mod "$w/blocked.txt" -l "$secs")" >> "$w/res"
	echo "miss plain $(qps $plain "$w/miss$((r*2)).txt" -n 1)" >> "$w/res"
	echo "miss mod $(qps $mod "$w/miss$((r*2+1)).txt" -n 1)" >> "$w/res"
	r=$((r+1))
done
get() { awk -v a="$1" -v b="$2" '$1 == a && $2 == b { print $3 }' "$w/res" | median; }
hp=$(get hit plain); hm=$(get hit mod); bm=$(get blocked mod)
mp=$(get miss plain); mm=$(get miss mod)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if(b > 0) printf "%.3f", a / b; else print "n/a" }'; }
printf '\n%-34s %12s %12s %8s %8s\n' "queries (median of $rounds)" "plain QPS" "icpguard QPS" ratio target
printf '%-34s %12s %12s %8s %8s\n' "cache hit, filed names" "$hp" "$hm" "$(ratio "$hm" "$hp")" ">=0.98"
printf '%-34s %12s %12s %8s %8s\n' "cache miss, answered by NSD" "$mp" "$mm" "$(ratio "$mm" "$mp")" ">=0.95"
printf '%-34s %12s %12s %8s %8s\n' "blocked vs allowed, from cache" "$hm" "$bm" "$(ratio "$bm" "$hm")" ">=0.95"
echo "(unbound num-threads 1, dnsperf -c 4 -q 200, ${secs}s per hit run, $nmiss unique names per miss run)"
