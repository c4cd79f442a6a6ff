#!/bin/bash
# tests/loader/delta.sh - TAP: the loader's delta snapshots (docs/snapshot.md,
# "The delta layer") with real feed files from a real nginx on 127.0.0.1:
# a full load publishes a whole snapshot and an empty delta over it; pulls
# that apply only filings and blacklist deltas publish a cumulative delta
# snapshot over the same whole snapshot (its changed set: what changed
# since the delta before); a registrars feed, a delta past
# delta-max-records and a rollback make the loader fold (a whole snapshot
# with the same content hash as `icpguard build` of the same sources, then
# an empty delta over it); a restart after a crash between the two
# publishes the delta again.
# Run by `make check`; by hand: top_srcdir=. top_builddir=. tests/loader/delta.sh
set -u
. "${top_srcdir:-$(dirname "$0")/../..}/tests/loader/lib.sh"
[ -x "$NGINX" ] || t_skip_all "nginx not installed (tools/deps installs nginx-light)"
t_init delta

D=$W/live/delta.mdb
# delta_meta KEY: a meta value of the delta snapshot
delta_meta() {
	"$ICPGUARD" info "$D" 2>/dev/null | sed -n "s/^$1  *\\(.*\\)\$/\\1/p" |
		head -1
}
# delta_state: BASE-SERIAL/DELTA-SERIAL/NAMES/CHANGED of the delta snapshot
delta_state() {
	echo "$(delta_meta delta.base.serial)/$(delta_meta serial)/$(delta_meta count.filing)/$(delta_meta count.changed)"
}

head -100 "$SAMPLE/filings.jsonl" >"$W/src/f1.jsonl"
pub_keys || { echo "Bail out! keygen failed"; exit 1; }
pub_sample "$W/src/f1.jsonl" || { echo "Bail out! feed failed"; exit 1; }
www_start
loader_conf "delta-snapshot: $D" "delta-max-records: 20"

# ------------------------------------------------------------ full load
loader_once
t_eq "full load: exit 0, snapshot serial 1" "$?/$(snap_serial)" "0/1"
t_eq "full load: an empty delta over it (base 1, delta 1, 0 filings, 0 changed)" \
	"$(delta_state)" "1/1/0/0"
t_eq "full load: the delta names the snapshot's content hash" \
	"$(delta_meta delta.base.hash)" "$(snap_meta hash)"

# ------------------------------------------------------------ deltas
# two filings removed, five added: seven names
{ sed -n '3,100p' "$W/src/f1.jsonl"; sed -n '101,105p' "$SAMPLE/filings.jsonl"; } >"$W/src/f2.jsonl"
pub filings "$W/src/f2.jsonl" --tlds "$SAMPLE/tlds.txt"
: >"$W/nginx/access.log"
loader_once
t_eq "delta: exit 0, the snapshot in force is still serial 1" \
	"$?/$(snap_serial)" "0/1"
t_eq "delta: delta 2 over 1: 5 filings (7 names), 7 changed" \
	"$(delta_state)" "1/2/5/7"
t_check "delta: the loader says it published a delta snapshot" \
	grep -q "delta snapshot 1-.*+2-.*, 7 names" "$W/once.log"
t_eq "delta: it carries the feed serials (filings 2)" \
	"$(delta_meta source.filings)/$(delta_meta source.tlds)" "2/1"
# cumulative: two more filings; the changed set holds only those two
{ cat "$W/src/f2.jsonl"; sed -n '106,107p' "$SAMPLE/filings.jsonl"; } >"$W/src/f3.jsonl"
pub filings "$W/src/f3.jsonl" --tlds "$SAMPLE/tlds.txt"
loader_once
t_eq "second delta: delta 3 over 1: 7 filings (9 names), 2 changed" \
	"$(delta_state)" "1/3/7/2"
# a blacklist delta: one entry added
sed -n '1,3p' "$SAMPLE/blacklist.jsonl" >"$W/src/b2.jsonl"
cp "$SAMPLE/blacklist.jsonl" "$W/src/b1.jsonl"
printf '%s\n' '{"name":"delta-bad.cn","subtree":true,"reason":"test","source":"CNCERT"}' >>"$W/src/b1.jsonl"
pub blacklist "$W/src/b1.jsonl"
loader_once
t_eq "blacklist delta: delta 4 over 1, one more name, 1 changed" \
	"$(delta_meta serial)/$(delta_meta count.blacklist)/$(delta_meta count.changed)" "4/1/1"
t_eq "blacklist delta: the snapshot in force is still serial 1" "$(snap_serial)" 1
# unchanged: nothing published
loader_once
t_eq "unchanged: no new delta" "$(delta_meta serial)" 4

# ------------------------------------------------------------ folds
# the domestic ranges moved: a delta cannot carry them
{ cat "$SAMPLE/domestic.csv"; echo "10.99.0.0/24,test"; } >"$W/src/d2.csv"
pub domestic "$W/src/d2.csv"
loader_once
t_eq "fold (domestic): snapshot serial 2, empty delta 1 over it" \
	"$(snap_serial)/$(delta_state)" "2/2/1/0/0"
t_check "fold (domestic): the reason is logged" \
	grep -q "not a delta: the domestic feed moved" "$W/once.log"
mkdir -p "$W/bsrc"
cp "$SAMPLE/tlds.txt" "$SAMPLE/registrars.jsonl" "$SAMPLE/regdomains.jsonl" \
	"$W/bsrc/"
# the content hash covers the changed set: build snapshot 1's sources
# first, then the fold's over it
cp "$SAMPLE/domestic.csv" "$SAMPLE/blacklist.jsonl" "$W/bsrc/"
cp "$W/src/f1.jsonl" "$W/bsrc/filings.jsonl"
"$ICPGUARD" build --source "$W/bsrc" --out "$W/build.mdb" --quiet
cp "$W/src/d2.csv" "$W/bsrc/domestic.csv"
cp "$W/src/f3.jsonl" "$W/bsrc/filings.jsonl"
cp "$W/src/b1.jsonl" "$W/bsrc/blacklist.jsonl"
"$ICPGUARD" build --source "$W/bsrc" --out "$W/build.mdb" --quiet
t_check "fold: content hash equals icpguard build of the same sources" \
	test "$(snap_meta hash)" = "$("$ICPGUARD" info "$W/build.mdb" | sed -n 's/^hash *//p' | head -1)"
# past delta-max-records (20): folded
{ cat "$W/src/f3.jsonl"; sed -n '108,140p' "$SAMPLE/filings.jsonl"; } >"$W/src/f4.jsonl"
pub filings "$W/src/f4.jsonl" --tlds "$SAMPLE/tlds.txt"
loader_once
t_eq "fold (33 names > 20): snapshot serial 3, empty delta over it" \
	"$(snap_serial)/$(delta_state)" "3/3/1/0/0"
t_check "fold (33 names > 20): the reason is logged" \
	grep -q "not a delta: more than 20 names changed" "$W/once.log"

# ------------------------------------------------------------ crash between
# a whole snapshot in force and its empty delta: the delta over the old one
# stays behind (readers ignore it); the next start publishes the delta
{ cat "$W/src/f4.jsonl"; sed -n '141,142p' "$SAMPLE/filings.jsonl"; } >"$W/src/f5.jsonl"
pub filings "$W/src/f5.jsonl" --tlds "$SAMPLE/tlds.txt"
loader_once
t_eq "delta after the fold: delta 2 over 3, 2 changed" \
	"$(delta_state)" "3/2/2/2"
cp "$D" "$W/delta-over-3.mdb"
{ cat "$W/src/d2.csv"; echo "10.98.0.0/24,test"; } >"$W/src/d3.csv"
pub domestic "$W/src/d3.csv"
loader_once
t_eq "fold again: snapshot serial 4" "$(snap_serial)/$(delta_meta delta.base.serial)" "4/4"
cp "$W/delta-over-3.mdb" "$D"
loader_once
t_eq "a delta over an older snapshot: republished over the one in force" \
	"$(snap_serial)/$(delta_state)" "4/4/1/0/0"

# ------------------------------------------------------------ rollback
"$LOADER" -c "$W/loader.conf" rollback >"$W/rollback.log" 2>&1
t_eq "rollback: serial 3 in force, the delta removed" \
	"$(snap_serial)/$(test -e "$D" && echo delta || echo none)" "3/none"
loader_once
t_eq "after the rollback: a whole snapshot again (serial 5), empty delta over it" \
	"$(snap_serial)/$(delta_state)" "5/5/1/0/0"
t_check "no temporaries left" sh -c "! ls '$W/live' '$W/state/snapshots' | grep -q '\.tmp'"
t_done
