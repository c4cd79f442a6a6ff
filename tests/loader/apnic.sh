#!/bin/bash
# tests/loader/apnic.sh - TAP: the APNIC delegated-file importer
# (`icpguard feed --kind domestic --format apnic`) on a small sample
# (tests/loader/delegated-apnic-sample.txt): CN rows only, IPv4 counts that
# are not powers of two (768, 1000) turned into exact ranges, IPv6 prefix
# lengths, bad rows reported with file and line; then the feed is loaded
# over file:// by icpguard-loader and `icpguard explain` checks addresses
# at the edges of each range.
set -u
. "${top_srcdir:-$(dirname "$0")/../..}/tests/loader/lib.sh"
t_init apnic
sample=$top_srcdir/tests/loader/delegated-apnic-sample.txt
pub_keys
"$ICPGUARD" feed --kind domestic --format apnic --source "$sample" \
	--out "$W/www" --key "$W/pub.key" >"$W/feed.out" 2>&1
t_eq "importer: exit 1 (rows rejected)" "$?" 1
t_check "importer: bad rows named by file and line" sh -c "
	grep -q 'delegated-apnic-sample.txt:13: value: ipv4 .255.255.255.0. count .512. is not a range' '$W/feed.out' &&
	grep -q 'delegated-apnic-sample.txt:14: ' '$W/feed.out' &&
	grep -q 'delegated-apnic-sample.txt:18: value: ipv6 .2001:db8::1/64.: prefix has host bits set' '$W/feed.out'"
t_check "importer: 6 CN ranges, 3 rejected" grep -q "6 records .*3 rejected" "$W/feed.out"
{
	echo "snapshot: $W/live/snapshot.mdb"
	echo "state-dir: $W/state"
	echo "key: pub $W/pub.pub"
	echo "feed: domestic file://$W/www/domestic/ pub"
} >"$W/loader.conf"
loader_once
t_eq "loader: file:// feed loaded" "$?/$(snap_serial)" "0/1"
t_eq "loader: adjacent ranges merged (5 domestic ranges)" \
	"$(snap_meta count.range.domestic)" 5
# an unfiled .cn name is blocked only at domestic addresses
check_addr() {
	"$ICPGUARD" explain --snapshot "$W/live/snapshot.mdb" --json \
		unfiled-apnic-test.cn --addr "$1" >"$W/explain.out" 2>&1
	case $2 in
	domestic) grep -q '"reason":"nofiling"' "$W/explain.out" ;;
	abroad) grep -q '"reason":"abroad"' "$W/explain.out" ;;
	esac
}
for a in 1.0.1.0:domestic 1.0.3.255:domestic 1.0.4.0:abroad \
	1.0.0.255:abroad 1.1.2.255:domestic 1.1.3.0:abroad \
	1.2.0.0:domestic 1.2.3.231:domestic 1.2.3.232:abroad \
	2001:250::1:domestic 2001:250:1fff:ffff:ffff:ffff:ffff:ffff:domestic \
	2001:250:2000:::abroad 2400:da00:ffff::1:domestic 2001:c00::1:abroad; do
	addr=${a%:*}
	want=${a##*:}
	t_check "explain --addr $addr: $want" check_addr "$addr" "$want"
done
t_done
