#!/bin/sh
# bench/build-feed.sh: the publisher side at national scale (issue 20):
# `icpguard build` from source files and `icpguard feed` (a full feed, then
# the next version's full feed with its delta), timed with /usr/bin/time
# (wall clock, peak RSS).  Not a test.
#
#   bench/build-feed.sh [--filings N] [--blacklist N] [--ranges N]
#       [--data DIR] [--icpguard BINARY] [--threads N] [--report FILE]
#       [--keep]
#
# Defaults: 10,000,000 filings, 1,000,000 blacklist entries, 100,000
# domestic ranges (bench/gen-dataset.py, versions 1 and 2: 0.1 % of the
# filings dropped and 0.1 % added).  Steps, each a separate process:
#   build       icpguard build of version 1 into an empty directory
#   rebuild     icpguard build of version 2 over it (the changed set against
#               the previous snapshot)
#   feed full   icpguard feed --kind filings of version 1 (a full feed)
#   feed delta  icpguard feed --kind filings of version 2 (full feed + delta
#               against version 1)
# Every step must succeed; the two builds' content hashes are printed.
# Targets (10 M filings, this 2-core machine): build <= 30 s; feed (full +
# delta) <= 30 s and <= 1 GiB.
#
# --data DIR keeps the generated sources there and reuses them next time
# (about 4.5 GB at 10 M, 1 min to generate).  --icpguard runs another
# binary (an older build, for before/after figures).  --threads is passed
# to both commands (default: theirs, the CPUs up to 4).  The work
# directory ($TMPDIR or /tmp, about 6 GB at 10 M: snapshots and feeds) is
# removed at exit unless --keep.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
filings=10000000 black=1000000 ranges=100000
data="" ig="" threads="" report="" keep=""
usage() { sed -n '2,29p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
	case $1 in
	--keep) keep=1; shift; continue ;;
	-h|--help) usage; exit 0 ;;
	esac
	[ $# -ge 2 ] || { usage >&2; exit 2; }
	case $1 in
	--filings) filings=$2 ;; --blacklist) black=$2 ;; --ranges) ranges=$2 ;;
	--data) data=$2 ;; --icpguard) ig=$2 ;; --threads) threads=$2 ;;
	--report) report=$2 ;;
	*) usage >&2; exit 2 ;;
	esac
	shift 2
done
for v in "$filings" "$black" "$ranges" ${threads:+"$threads"}; do
	case $v in ''|*[!0-9]*) echo "build-feed: not a number: '$v'" >&2; exit 2 ;; esac
done
[ -n "$ig" ] || ig=${top_builddir:-$top}/tools/icpguard
[ -x "$ig" ] || ig=$top/build/obj/tools/icpguard
[ -x "$ig" ] || { echo "build-feed: no icpguard binary (build first, or --icpguard)" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "build-feed: /usr/bin/time missing (Debian: time)" >&2; exit 2; }
command -v python3 >/dev/null || { echo "build-feed: python3 missing" >&2; exit 2; }
w=$(mktemp -d "${TMPDIR:-/tmp}/icpguard-build-feed.XXXXXX") || exit 1
[ -n "$keep" ] || trap 'rm -rf "$w"' EXIT
trap 'exit 1' INT TERM
# a copy: a concurrent make cannot swap the binary mid-run
cp "$ig" "$ig-tool" "$w/" && ig=$w/icpguard
log() { echo "build-feed: $*" >&2; }

# ---------------------------------------------------------------- data
gen=$top/bench/gen-dataset.py
[ -n "$data" ] || data=$w/data
mkdir -p "$data"
stamp="$filings $black $ranges $(md5sum < "$gen" | cut -c1-32)"
if [ -f "$data/stamp" ] && [ "$(cat "$data/stamp")" = "$stamp" ]; then
	log "reusing the sources in $data"
else
	rm -rf "$data/src1" "$data/src2" "$data/stamp"
	log "generating $filings filings, $black blacklist entries, $ranges ranges in $data"
	sz="--filings $filings --blacklist $black --ranges $ranges"
	nice -n 10 python3 "$gen" $sz --icpguard "$data/src1" || exit 1
	nice -n 10 python3 "$gen" $sz --version 2 --icpguard "$data/src2" || exit 1
	echo "$stamp" > "$data/stamp"
fi

# ---------------------------------------------------------------- steps
res=$w/results
: > "$res"
# step NAME CMD...: run under /usr/bin/time -v, record wall s and peak KiB
step() {
	_n=$1
	shift
	log "$_n: $*"
	sync
	/usr/bin/time -v -o "$w/$_n.time" "$@" >"$w/$_n.log" 2>&1
	_rc=$?
	_wall=$(awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, a, ":");
		s = 0; for(i = 1; i <= n; i++) s = s * 60 + a[i]; printf "%.1f", s }' "$w/$_n.time")
	_rss=$(awk -F': ' '/Maximum resident set size/ { printf "%.0f", $2 / 1024 }' "$w/$_n.time")
	_cpu=$(awk -F': ' '/User time/ { u = $2 } /System time/ { s = $2 } END { printf "%.1f", u + s }' "$w/$_n.time")
	echo "$_n $_rc $_wall $_rss $_cpu" >> "$res"
	if [ $_rc != 0 ]; then
		log "$_n failed (exit $_rc):"
		tail -5 "$w/$_n.log" >&2
		exit 1
	fi
}
th=${threads:+--threads $threads}
mkdir -p "$w/snap"
step build "$ig" build --source "$data/src1" --out "$w/snap/snapshot.mdb" $th
step rebuild "$ig" build --source "$data/src2" --out "$w/snap/snapshot.mdb" $th
"$ig" feed keygen "$w/key" >/dev/null || exit 1
step feed_full "$ig" feed --kind filings --source "$data/src1/filings.jsonl" \
	--tlds "$data/src1/tlds.txt" --out "$w/feeds" --key "$w/key.key" $th
sleep 1 # latest.json is replaced at most once a second
step feed_delta "$ig" feed --kind filings --source "$data/src2/filings.jsonl" \
	--tlds "$data/src2/tlds.txt" --out "$w/feeds" --key "$w/key.key" $th

# ---------------------------------------------------------------- report
{
	echo "icpguard build / feed: $filings filings, $black blacklist entries, $ranges domestic ranges"
	echo "($(nproc) CPUs, load average at the end: $(cut -d' ' -f1-3 /proc/loadavg); binary $ig)"
	printf '%-44s %8s %10s %8s %s\n' step "wall s" "peak MiB" "CPU s" target
	awk '{ t = "";
		if($1 == "build") t = "<= 30 s";
		if($1 == "feed_delta") t = "<= 30 s, <= 1024 MiB";
		d = $1;
		if($1 == "build") d = "build (version 1, no previous snapshot)";
		if($1 == "rebuild") d = "build (version 2, changed set vs version 1)";
		if($1 == "feed_full") d = "feed filings (version 1: full feed)";
		if($1 == "feed_delta") d = "feed filings (version 2: full feed + delta)";
		printf "%-44s %8s %10s %8s %s\n", d, $3, $4, $5, t }' "$res"
	grep -h "published\|^feed:" "$w/build.log" "$w/rebuild.log" \
		"$w/feed_full.log" "$w/feed_delta.log" | sed 's/^/  /'
} | tee ${report:+"$report"}
