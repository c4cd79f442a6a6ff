#!/bin/bash
# bench/delta-publish.sh: a feed delta at national scale, from the loader
# seeing the new feed to the new verdicts in force in Unbound (issue 20).
# Figures, not a test.
#
#   bench/delta-publish.sh [-f FILINGS] [-c CHANGES]... [-k]
#
# Setup on loopback: nginx serving signed feeds made by `icpguard feed`
# (FILINGS synthetic filings site1.cn ... siteN.cn, default 10,000,000; a
# tlds feed; a domestic feed of 127.0.10.0/24), NSD on 127.0.0.2 answering
# every *.cn name with 127.0.10.1 (domestic), the real icpguard-loader
# publishing the main snapshot and the delta snapshot, and Unbound with the
# module reading both (one thread).  The full feed is pulled first (timed:
# the loader's full pull and publish).  Then for each CHANGES (default
# 2000 and 10000; -c repeats): the filings feed again with CHANGES/2
# filings renamed (CHANGES/2 removed, CHANGES/2 added: CHANGES changed
# records), and one `icpguard-loader --once` pulls and publishes it.  The
# names www.siteK.cn of the removed filings are in Unbound's cache before,
# answered; the time is from the loader's start (a new process: it opens
# its state, fetches latest.json, the delta, verifies, applies and
# publishes) to the first policy answer for the last renamed name, asked
# every half millisecond (bench_cmd_rcode_ms), and to the delta snapshot
# renamed into place.  Also printed: the loader's wall time, peak RSS and
# bytes written (its own writes: state and delta snapshot, from /proc's
# write_bytes via GNU time), and the delta snapshot's size.
# -k keeps the work directory.  Needs nginx, nsd, dnsperf (tools/deps), a
# built tree and tools/unbound-build; about 4 GB of disk in /tmp at 10 M.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
nfil=10000000 changes="" keep=""
while getopts f:c:kh o; do
	case $o in
	f) nfil=$OPTARG ;; c) changes="$changes $OPTARG" ;; k) keep=1 ;;
	*) sed -n '2,27p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	esac
done
[ -n "$changes" ] || changes="2000 10000"
. "$top/bench/lib.sh"
bench_init delta-publish
bench_keep=$keep
loader=$(bench_builddir)/loader/icpguard-loader
[ -x "$loader" ] || bench_die "missing $loader (make)"
cp "$loader" "$w/bin/"
loader=$w/bin/icpguard-loader
[ -x "${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}" ] || bench_die "nginx missing (tools/deps installs nginx-light)"
[ -x /usr/bin/time ] || bench_die "/usr/bin/time missing (Debian: time)"
nsport=5473 port=5474
for p in $nsport $port; do bench_port_free $p; done
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

mkdir -p "$w/src" "$w/www" "$w/live"
echo "bench: $nfil synthetic filings in $w"
t0=$(bench_now)
gen() { # gen RENAMED: the filings, the first RENAMED of them renamed
	awk -v n="$nfil" -v r="$1" 'BEGIN { for(i = 1; i <= n; i++)
		printf "{\"domain\":\"%ssite%d.cn\",\"number\":\"京ICP备%08d号-1\",\"subject_type\":\"enterprise\",\"province\":\"京\",\"approved\":%d}\n",
			i <= r ? "renamed-" : "", i, 10000000 + i, 1500000000 + i }'
}
gen 0 > "$w/src/filings.jsonl"
printf 'cn\n' > "$w/src/tlds.txt"
printf 'range,source\n127.0.10.0/24,bench\n' > "$w/src/domestic.csv"
"$ig" feed keygen "$w/pub" >/dev/null
feed() { # feed KIND SOURCE [options]: sign and publish into $w/www
	_k=$1 _s=$2
	shift 2
	"$ig" feed --kind "$_k" --source "$_s" --out "$w/www" --key "$w/pub.key" --quiet "$@"
}
feed tlds "$w/src/tlds.txt"
feed domestic "$w/src/domestic.csv"
feed filings "$w/src/filings.jsonl" --tlds "$w/src/tlds.txt"
echo "bench: source and feeds in $(secs "$t0" "$(bench_now)") s"

# nginx as the loader tests run it (tests/loader/lib.sh: www_start serves
# $W/www on a free port)
. "$top/tests/loader/lib.sh"
W=$w
www_start > "$w/www.log" 2>&1 || bench_die "nginx did not start: $(cat "$w/www.log")"
bench_track "$WWW_PID"
wwwport=$WWW_PORT
{
	echo "snapshot: $w/live/snapshot.mdb"
	echo "delta-snapshot: $w/live/delta.mdb"
	echo "state-dir: $w/state"
	echo "keep-snapshots: 1"
	echo "timeout: 600"
	echo "key: pub $w/pub.pub"
	for k in tlds domestic filings; do echo "feed: $k http://127.0.0.1:$wwwport/$k/ pub"; done
} > "$w/loader.conf"
# once LOG: one loader run under GNU time (wall, peak RSS, bytes written)
once() {
	/usr/bin/time -f "%e %M %O" -o "$1.time" "$loader" -c "$w/loader.conf" --once > "$1" 2>&1
}
sync
t0=$(bench_now)
once "$w/full.log" || { cat "$w/full.log"; bench_die "the full pull failed"; }
read -r fwall frss fout < "$w/full.log.time"
echo "bench: full feed pulled and published: $fwall s, peak RSS $((frss / 1024)) MiB, $((fout / 2048)) MiB written; snapshot $(du -h "$w/live/snapshot.mdb" | cut -f1)"

bench_wildcard_zone cn 127.0.10.1
bench_nsd_start 127.0.0.2 $nsport cn
bench_unbound_conf "$w/ub.conf" $port "validator dynlib iterator" 127.0.0.2 $nsport cn
printf 'dynlib:\n  dynlib-file: "%s"\nremote-control:\n  control-enable: no\n' "$so" >> "$w/ub.conf"
printf 'snapshot: %s\ndelta-snapshot: %s\nlog-blocks: no\n' "$w/live/snapshot.mdb" "$w/live/delta.mdb" > "$w/icpguard.conf"
ICPGUARD_CONF="$w/icpguard.conf" "$ub" -c "$w/ub.conf"
i=0
while [ $i -lt 300 ] && [ "$(bench_rcode $port www.site1.cn)" != NOERROR ]; do sleep 0.1; i=$((i + 1)); done
[ "$(bench_rcode $port www.site1.cn)" = NOERROR ] || bench_die "Unbound with the module does not answer (see $w/ub.conf.log)"
bench_track "$(cat "$w/ub.conf.pid")"

printf '\n%-10s %-14s %-14s %-10s %-12s %-14s %-12s %s\n' changes "in force (s)" "published (s)" "loader (s)" "loader RSS" "loader wrote" "delta file" "delta snapshot"
for c in $changes; do
	r=$((c / 2))
	gen "$r" > "$w/src/filings.jsonl"
	feed filings "$w/src/filings.jsonl" --tlds "$w/src/tlds.txt"
	# the names of the removed filings, answered and cached before
	awk -v r="$r" 'BEGIN { for(i = 1; i <= r; i++) printf "www.site%d.cn A\n", i }' > "$w/cached.txt"
	bench_qps $port "$w/cached.txt" -n 1 > /dev/null
	[ "$(bench_rcode $port "www.site$r.cn")" = NOERROR ] || bench_die "www.site$r.cn is not answered before the delta"
	sync
	# the checker starts the loader (bench_cmd_rcode_ms) and asks the name
	set -- $(bench_cmd_rcode_ms $port "www.site$r.cn" NXDOMAIN 10 "$w/delta-$c.log" \
		/usr/bin/time -f "%e %M %O" -o "$w/delta-$c.log.time" \
		"$loader" -c "$w/loader.conf" --once) || true
	inforce=$(awk -v ms="${1:-}" 'BEGIN { if(ms != "") printf "%.3f", ms / 1000 }')
	t0=${2:-$(bench_now)}
	grep -q "command failed" "$w/delta-$c.log" && { cat "$w/delta-$c.log"; bench_die "the delta pull failed"; }
	if [ -z "$inforce" ]; then
		inforce=never
		for k in 1 $((r / 2)) $r; do
			echo "bench: www.site$k.cn is $(bench_rcode $port "www.site$k.cn") after the delta"
		done
	fi
	read -r dwall drss dout < "$w/delta-$c.log.time"
	# when the delta snapshot was renamed into place (its mtime: the
	# loader's last write before the rename), from the loader's start
	pub=$(secs "$t0" "$(stat -c %.9Y "$w/live/delta.mdb")")
	ident=$(sed -n 's/.*: delta snapshot \([^,]*\), .*/\1/p' "$w/delta-$c.log" | tail -1)
	printf '%-10s %-14s %-14s %-10s %-12s %-14s %-12s %s\n' "$c" "$inforce" "$pub" "$dwall" "$((drss / 1024)) MiB" \
		"$((dout / 2)) KiB" "$(du -k "$w/live/delta.mdb" | cut -f1) KiB" "${ident:-?}"
	grep -q ": delta snapshot" "$w/delta-$c.log" ||
		{ sed 's/^/  loader: /' "$w/delta-$c.log" | tail -5; }
done
echo
echo "(in force: from the loader's start to the first policy answer for the last"
echo " removed filing's cached name; published: the delta snapshot renamed into"
echo " place (its mtime); loader RSS: peak, anonymous and file-backed;"
echo " wrote: the loader's write_bytes, state and delta snapshot, fsyncs included)"
