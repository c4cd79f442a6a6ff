#!/bin/sh
# bench/zone-audit.sh: `icpguard zone audit` over a zone of N records
# (default 1,000,000), time and peak memory (issue 19).  Not a test.
#
#   bench/zone-audit.sh [-n RECORDS]
#
# The zone big.cn holds N owner names in turn: a domestic A (127.0.10.x:
# unfiled, so listed), a foreign A, an AAAA, and a CNAME to the domestic
# name three before it (listed too).  The snapshot has no filings, the TLD
# cn and the domestic range 127.0.10.0/24.  Prints the audit's wall time,
# user time, peak RSS and the number of names listed (N/2).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
n=1000000
while getopts n:h o; do
	case $o in
	n) n=$OPTARG ;;
	*) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	esac
done
. "$top/bench/lib.sh"
ig=$(bench_builddir)/tools/icpguard
[ -x "$ig" ] || bench_die "missing $ig (make)"
w=$(mktemp -d /tmp/icpguard-zone-audit.XXXXXX)
trap 'rm -rf "$w"' EXIT
echo "bench: a zone of $n records in $w"
awk -v n="$n" 'BEGIN {
	print "$ORIGIN big.cn.\n$TTL 300\n@ SOA ns1 hostmaster 1 3600 600 86400 300\n@ NS ns1\nns1 A 127.0.20.53"
	for(i = 0; i < n; i++) {
		k = i % 4
		if(k == 0) printf "h%d A 127.0.10.%d\n", i, i % 250 + 1
		else if(k == 1) printf "h%d A 127.0.20.%d\n", i, i % 250 + 1
		else if(k == 2) printf "h%d AAAA 2001:db8::%x\n", i, i % 65535
		else printf "h%d CNAME h%d\n", i, i - 3 } }' > "$w/big.cn.zone"
mkdir "$w/src"
printf 'cn\n' > "$w/src/tlds.txt"
printf 'range\n127.0.10.0/24\n' > "$w/src/domestic.csv"
"$ig" build --quiet --source "$w/src" --out "$w/s.mdb"
set +e
/usr/bin/time -f "%e %U %M" -o "$w/time" "$ig" zone audit "$w/big.cn.zone" --snapshot "$w/s.mdb" > "$w/out.jsonl"
rc=$?
set -e
[ $rc -le 1 ] || bench_die "zone audit failed (exit $rc)"
read -r wall user rss <<T
$(tail -1 "$w/time")
T
echo "zone audit of $n records ($(du -m "$w/big.cn.zone" | cut -f1) MiB zone file): $wall s wall, $user s user, $((rss / 1024)) MiB peak RSS, $(wc -l < "$w/out.jsonl") names listed"
