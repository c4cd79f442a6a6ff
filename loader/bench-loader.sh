#!/bin/bash
# loader/bench-loader.sh - benchmark: icpguard-loader pulling, validating and
# publishing a synthetic filings feed (default 10 million filings) from
# nginx on 127.0.0.1, with the raw LMDB bulk-load time of the same keys
# beside it (loader/bench-bulkload).  Figures, not a test: see
# docs/loader.md for recorded results.
#
#   loader/bench-loader.sh [--tlds] [--against BUILDDIR [--rounds R]] [N]
#   (run from the build tree; N default 10000000)
#
# --tlds also publishes a tlds feed (the seven filable TLDs of
# bench/gen-dataset.py) and pulls it before the filings, as a deployment
# does: the snapshot's name database then holds the TLDs beside the
# filings (issue 20: they used to defeat the writer's appends).
#
# Prints: feed generation time, the full pull+publish wall time and peak
# RSS (sampled from /proc: anonymous and file-backed), a 1,000-rename
# delta pull+publish, and the raw bulk load.  Needs nginx (tools/deps) or falls back to file://; about
# 3 GB of disk in $IG_TMP (default /tmp) for 10 M filings.
# --against BUILDDIR: side by side instead of the full report: after the
# feed is made once, full pulls alternate between the loader of BUILDDIR
# (the baseline, for example a worktree of an earlier commit built with
# configure) and this tree's, R rounds (default 2), each into an empty
# state; prints each pull and the ratio of the medians.  A busy or slow
# machine moves both alike, so the ratio says more than either figure.
# IG_LOADER_WRAP, if set, prefixes the full pull's loader command (for
# example IG_LOADER_WRAP="perf record -o /tmp/pull.perf"): a profile of
# the pull, not of the feed generation around it.
set -u
tlds="" against="" rounds=2
while [ $# -gt 0 ]; do
	case $1 in
	--tlds) tlds=1; shift ;;
	--against) against=${2:?--against needs a build directory}; shift 2 ;;
	--rounds) rounds=${2:?--rounds needs a count}; shift 2 ;;
	-h|--help) sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	*) break ;;
	esac
done
if [ -n "$against" ] && [ ! -x "$against/loader/icpguard-loader" ]; then
	echo "bench: no $against/loader/icpguard-loader (build the baseline first)" >&2
	exit 2
fi
N=${1:-10000000}
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
. "$top_srcdir/tests/loader/lib.sh"
t_init bench
[ -x /usr/bin/time ] || { echo "bench: /usr/bin/time missing (Debian: time)"; exit 1; }
# run_sampled LOG CMD...: run CMD, sampling /proc/PID/status every 0.1 s;
# prints "wall S s, peak RSS K KiB (anonymous A KiB, file-backed F KiB)"
run_sampled() {
	_log=$1
	shift
	_t0=$(date +%s%N)
	"$@" >"$_log" 2>&1 &
	_pid=$!
	_ma=0 _mf=0 _mr=0
	while kill -0 $_pid 2>/dev/null; do
		read -r _r _a _f < <(awk '/^VmRSS/{r=$2} /^RssAnon/{a=$2} /^RssFile/{f=$2} END{print r+0, a+0, f+0}' /proc/$_pid/status 2>/dev/null)
		[ "${_r:-0}" -gt $_mr ] && _mr=$_r
		[ "${_a:-0}" -gt $_ma ] && _ma=$_a
		[ "${_f:-0}" -gt $_mf ] && _mf=$_f
		sleep 0.1
	done
	wait $_pid
	_rc=$?
	_t1=$(date +%s%N)
	_wall=$(secs "$_t0" "$_t1")
	echo "  wall $_wall s, peak RSS $_mr KiB (anonymous $_ma KiB, file-backed $_mf KiB)"
	return $_rc
}
secs() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.1f", (b-a)/1e9}'; }

echo "bench: $N synthetic filings in $W"
t0=$(date +%s%N)
awk -v n="$N" 'BEGIN{for(i=1;i<=n;i++) printf "{\"domain\":\"site%d.cn\",\"number\":\"京ICP备%08d号-1\",\"subject\":\"测试主体%d有限公司\",\"subject_type\":\"enterprise\",\"province\":\"京\",\"provider\":\"示例云\",\"approved\":%d}\n", i, 10000000+i, i, 1500000000+i}' >"$W/src/f.jsonl"
t1=$(date +%s%N)
pub_keys
if [ -n "$tlds" ]; then
	printf 'cn\ncom\nnet\norg\ntop\nxyz\nxn--fiqs8s\n' >"$W/src/tlds.txt"
	"$ICPGUARD" feed --kind tlds --source "$W/src/tlds.txt" --out "$W/www" \
		--key "$W/pub.key" --quiet || { echo "bench: tlds feed failed"; exit 1; }
fi
/usr/bin/time -f "%e s, peak RSS %M KiB" -o "$W/feed.time" \
	"$ICPGUARD" feed --kind filings --source "$W/src/f.jsonl" --out "$W/www" \
	--key "$W/pub.key" --quiet
t2=$(date +%s%N)
echo "source: $(secs "$t0" "$t1") s to write $(du -h "$W/src/f.jsonl" | cut -f1)"
echo "icpguard feed (full feed, signed): $(cat "$W/feed.time"), $(du -h "$W/www/filings/full-1.pb" | cut -f1)"
if [ -x "$NGINX" ]; then
	www_start
	url=http://127.0.0.1:$WWW_PORT/filings/
else
	url=file://$W/www/filings/
fi
{
	echo "snapshot: $W/live/snapshot.mdb"
	echo "state-dir: $W/state"
	echo "keep-snapshots: 2"
	echo "timeout: 600"
	echo "key: pub $W/pub.pub"
	[ -n "$tlds" ] && echo "feed: tlds ${url%filings/}tlds/ pub"
	echo "feed: filings $url pub"
} >"$W/loader.conf"
sync
if [ -n "$against" ]; then
	cp "$against/loader/icpguard-loader" "$W/bin/baseline-loader"
	# pull LOADER LABEL: one full pull into an empty state; prints the
	# loader's own publish line and appends the wall seconds to $W/LABEL
	pull() {
		rm -rf "$W/state" "$W/live"
		mkdir -p "$W/state" "$W/live"
		sync
		echo "$2:"
		run_sampled "$W/once.log" ${IG_LOADER_WRAP:-} "$1" -c "$W/loader.conf" --once ||
			{ echo "bench: loader failed"; cat "$W/once.log"; exit 1; }
		sed -n 's/.*feed \(filings\): serial \([0-9]*\) applied from [^ ]*: .*(\(.*\))$/  \1: \3/p; s/.*published [^:]*: \(snapshot .*\)/  \1/p' "$W/once.log"
		echo "$_wall" >>"$W/$2"
	}
	median() { sort -n "$1" | awk '{ v[NR] = $1 } END { m = int((NR + 1) / 2); print (NR % 2) ? v[m] : (v[m] + v[m + 1]) / 2 }'; }
	r=1
	while [ $r -le "$rounds" ]; do
		echo "round $r of $rounds"
		pull "$W/bin/baseline-loader" baseline
		pull "$LOADER" this
		r=$((r + 1))
	done
	b=$(median "$W/baseline") t=$(median "$W/this")
	echo "full pull of $N filings, median of $rounds: baseline ($against) $b s, this tree $t s, ratio $(awk -v a="$t" -v b="$b" 'BEGIN { printf "%.2f", a / b }')"
	t_cleanup
	rm -rf "$W"
	trap - EXIT
	exit 0
fi
echo "icpguard-loader --once, full feed over $url:"
run_sampled "$W/once.log" ${IG_LOADER_WRAP:-} "$LOADER" -c "$W/loader.conf" --once ||
	{ echo "bench: loader failed"; cat "$W/once.log"; exit 1; }
sed -n 's/.*\(published .*\)/  \1/p; s/.*feed \([a-z]*\): serial \([0-9]*\) applied from [^ ]*: \(.*\)/  \1 serial \2: \3/p' "$W/once.log"
echo "  snapshot $(du -h "$W/live/snapshot.mdb" | cut -f1), state $(du -h "$W/state/state.mdb" | cut -f1)"
# a delta: 1,000 filings renamed
awk 'NR <= 1000 { sub(/"site/, "\"renamed-site") } { print }' "$W/src/f.jsonl" >"$W/src/f2.jsonl"
/usr/bin/time -f "%e s, peak RSS %M KiB" -o "$W/feed2.time" \
	"$ICPGUARD" feed --kind filings --source "$W/src/f2.jsonl" --out "$W/www" \
	--key "$W/pub.key" --quiet
echo "icpguard feed (delta of 1000+1000 changes): $(cat "$W/feed2.time")"
echo "icpguard-loader --once, delta:"
run_sampled "$W/once2.log" "$LOADER" -c "$W/loader.conf" --once ||
	{ echo "bench: loader failed"; cat "$W/once2.log"; exit 1; }
sed -n 's/.*\(published .*\)/  \1/p; s/.*feed \([a-z]*\): serial \([0-9]*\) applied from [^ ]*: \(.*\)/  \1 serial \2: \3/p' "$W/once2.log"
echo "raw LMDB bulk load of the same $N keys (MDB_APPEND, 72-byte values, one txn, sync): $("$top_builddir/loader/bench-bulkload" "$N" "$W") s"
t_cleanup
rm -rf "$W"
trap - EXIT
