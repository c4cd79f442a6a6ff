#!/bin/sh
# bench/knot-qps.sh: knotd with the Knot module against the same knotd
# without it, side by side (issue 19).  Not a test.
#
#   bench/knot-qps.sh [-f FILINGS] [-l SECONDS] [-r ROUNDS]
#
# Two knotd (Debian's knot), each on 127.0.0.1 at its own port, serve the
# same zones: kb-filed.cn (filed: a wildcard, and names that do not exist),
# kb-black.cn (blacklisted), kb-abroad.com (unfiled, a foreign address).
# One also loads mod-icpguard over a snapshot of FILINGS synthetic filings
# (default 100,000; -f 10000000 for the national scale: about 2 GB of
# source and a 1.4 GB snapshot under the work directory) plus the bench's
# own records.  dnsperf (-c 4 -q 200, SECONDS each, default 10) asks each
# list of 10,000 unique names of both servers in alternation, ROUNDS times
# (default 3), and the medians are printed with the module's ratios:
# allowed names (filed, unfiled foreign, nonexistent; target >= 0.95 of
# plain) and blocked names against allowed ones on the module (>= 0.95).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
filings=100000 secs=10 rounds=3
while getopts f:l:r:h o; do
	case $o in
	f) filings=$OPTARG ;; l) secs=$OPTARG ;; r) rounds=$OPTARG ;;
	*) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	esac
done
. "$top/bench/lib.sh"
bench_init knot-qps
command -v knotd >/dev/null || bench_die "knotd missing (tools/deps: knot)"
kmod=$(bench_builddir)/knot/.libs/mod-icpguard.so
[ -f "$kmod" ] || bench_die "missing $kmod (configure with libknot-dev, make)"
pplain=5490 pmod=5491
for p in $pplain $pmod; do bench_port_free $p; done

echo "bench: zones and $filings filings in $w"
mkdir -p "$w/zones" "$w/src"
for z in kb-filed.cn kb-black.cn kb-abroad.com; do
	case $z in kb-abroad.com) a=127.0.20.1 ;; *) a=127.0.10.1 ;; esac
	printf '$TTL 300\n@ SOA ns1 hostmaster 1 3600 600 86400 300\n@ NS ns1\nns1 A %s\n*.w A %s\n' \
		"$a" "$a" > "$w/zones/$z.zone"
done
printf 'cn\ncom\n' > "$w/src/tlds.txt"
printf 'range\n127.0.10.0/24\n' > "$w/src/domestic.csv"
printf '{"name":"kb-black.cn","subtree":true,"reason":"bench","source":"bench"}\n' > "$w/src/blacklist.jsonl"
awk -v n="$filings" 'BEGIN {
	printf "{\"domain\":\"kb-filed.cn\",\"number\":\"京ICP备16020626号-1\"}\n"
	for(i = 1; i < n; i++)
		printf "{\"domain\":\"f%d-bench.cn\",\"number\":\"京ICP备%08d号-1\"}\n", i, i % 100000000 }' \
	> "$w/src/filings.jsonl"
t0=$(bench_now)
"$ig" build --quiet --source "$w/src" --out "$w/snapshot.mdb"
echo "bench: snapshot built in $(awk -v a="$t0" -v b="$(bench_now)" 'BEGIN { printf "%.1f", b - a }') s, $(du -m "$w/snapshot.mdb" | cut -f1) MiB"

# knot_conf NAME PORT WITH_MODULE
knot_conf() {
	mkdir -p "$w/$1/run" "$w/$1/db"
	{
		printf 'server:\n    rundir: "%s"\n    user: root:root\n    listen: 127.0.0.1@%s\n' "$w/$1/run" "$2"
		printf '    udp-workers: 2\n    tcp-workers: 1\n    background-workers: 1\n'
		printf 'log:\n  - target: "%s"\n    any: warning\n' "$w/$1/knotd.log"
		printf 'database:\n    storage: "%s"\n' "$w/$1/db"
		if [ "$3" = 1 ]; then
			printf 'module:\n  - id: mod-icpguard\n    file: "%s"\n' "$kmod"
			printf 'mod-icpguard:\n  - id: b\n    snapshot: "%s"\n    log-blocks: off\n' "$w/snapshot.mdb"
		fi
		printf 'template:\n  - id: default\n    storage: "%s"\n    file: "%%s.zone"\n' "$w/zones"
		printf '    zonefile-sync: -1\n    journal-content: none\n'
		[ "$3" = 1 ] && printf '    module: mod-icpguard/b\n'
		printf 'zone:\n  - domain: kb-filed.cn\n  - domain: kb-black.cn\n  - domain: kb-abroad.com\n'
	} > "$w/$1.conf"
}
knot_conf plain $pplain 0
knot_conf mod $pmod 1
for s in plain mod; do
	knotd -c "$w/$s.conf" >> "$w/$s/knotd.out" 2>&1 &
	bench_track $!
done
for p in $pplain $pmod; do
	i=0
	until [ "$(bench_rcode $p kb-filed.cn)" = NOERROR ] || [ $i -ge 100 ]; do sleep 0.1; i=$((i + 1)); done
	[ "$(bench_rcode $p kb-filed.cn)" = NOERROR ] || bench_die "knotd on port $p does not answer (see $w/*/knotd.log)"
done
[ "$(bench_rcode $pmod a.w.kb-black.cn)" = NXDOMAIN ] || bench_die "the module does not block kb-black.cn"
[ "$(bench_rcode $pmod a.w.kb-filed.cn)" = NOERROR ] || bench_die "the module blocks a filed name"

# 10,000 unique names per kind
awk -v w="$w" 'BEGIN {
	for(i = 0; i < 10000; i++) {
		printf "n%d.w.kb-filed.cn A\n", i > (w "/filed.txt")
		printf "n%d.w.kb-abroad.com A\n", i > (w "/abroad.txt")
		printf "n%d.nx.kb-filed.cn A\n", i > (w "/nx.txt")
		printf "n%d.w.kb-black.cn A\n", i > (w "/black.txt") } }'
# qps PORT LIST: dnsperf's QPS (RD clear: an authoritative server)
qps() {
	dnsperf -s 127.0.0.1 -p "$1" -d "$w/$2.txt" -c 4 -q 200 -t 2 -l "$secs" -e 2>/dev/null |
		awk '/Queries per second/ { print int($4) }'
}
r=1
while [ $r -le "$rounds" ]; do
	for k in filed abroad nx black; do
		echo "plain $k $(qps $pplain $k)" >> "$w/res"
		echo "mod $k $(qps $pmod $k)" >> "$w/res"
	done
	echo "bench: round $r of $rounds done"
	r=$((r + 1))
done
med() { awk -v s="$1" -v k="$2" '$1 == s && $2 == k { print $3 }' "$w/res" | bench_median; }
echo
echo "knotd $(knotd -V 2>&1 | awk '{ print $NF }'), udp-workers 2; snapshot: $filings filings; dnsperf -c 4 -q 200, $secs s runs, median of $rounds"
printf '%-34s %10s %10s %8s %8s\n' "queries (10,000 unique names)" "no module" "module" ratio target
for k in filed abroad nx black; do
	case $k in
	filed) d="filed names (answered)" t=">= 0.95" ;;
	abroad) d="unfiled foreign names (answered)" t=">= 0.95" ;;
	nx) d="nonexistent names (NXDOMAIN)" t=">= 0.95" ;;
	black) d="blacklisted names (policy answer)" t="" ;;
	esac
	printf '%-34s %10s %10s %8s %8s\n' "$d" "$(med plain $k)" "$(med mod $k)" \
		"$(bench_ratio "$(med mod $k)" "$(med plain $k)")" "$t"
done
printf '%-34s %10s %10s %8s %8s\n' "module: blocked vs filed names" "" "" \
	"$(bench_ratio "$(med mod black)" "$(med mod filed)")" ">= 0.95"
