#!/bin/bash
# tests/loader/seal.sh - TAP: icpguard-loader republishes a snapshot in force
# that readers refuse (issue 17 findings 1 and 2): one without a seal (what
# a version before seals wrote: the module would refuse it and, without
# fail-open, Unbound would not start after an upgrade) and one with a
# damaged page.  Each time the next `--once` run publishes a sealed,
# verified snapshot with a higher serial, although no feed changed; an
# intact snapshot is left alone.
set -u
. "${top_srcdir:-$(dirname "$0")/../..}/tests/loader/lib.sh"
[ -x "$NGINX" ] || t_skip_all "nginx not installed (tools/deps installs nginx-light)"
t_init seal

head -100 "$SAMPLE/filings.jsonl" >"$W/src/f1.jsonl"
pub_keys || { echo "Bail out! keygen failed"; exit 1; }
pub_sample "$W/src/f1.jsonl" || { echo "Bail out! feed failed"; exit 1; }
www_start
loader_conf
LIVE=$W/live/snapshot.mdb

loader_once
t_eq "first publish: exit 0, serial 1" "$?/$(snap_serial)" "0/1"
loader_once
t_eq "nothing changed: no publish (serial 1)" "$?/$(snap_serial)" "0/1"

# the seal cut off: pages whole, nothing vouching for them
size=$(stat -c %s "$LIVE")
head -c $((size - 96)) "$LIVE" >"$W/cut.mdb" && mv -f "$W/cut.mdb" "$LIVE"
"$ICPGUARD" info "$LIVE" >/dev/null 2>"$W/err"
t_eq "a snapshot without its seal is refused by info" "$?" 2
loader_once
rc=$?
"$ICPGUARD" info "$LIVE" >"$W/info" 2>&1
t_check "the loader publishes it again, sealed (exit $rc)" \
	grep -q "sealed, SHA-256 verified" "$W/info"
t_eq "... with a higher serial" "$(snap_serial)" 2

# a damaged page, seal intact
cp "$LIVE" "$W/page.mdb"
awk 'BEGIN{for(i=0;i<512;i++) printf "%c", 65 + (i * 7) % 26}' |
	dd of="$W/page.mdb" bs=1 seek=$((4096 * 5 + 1000)) conv=notrunc 2>/dev/null
mv -f "$W/page.mdb" "$LIVE"
"$ICPGUARD" info "$LIVE" >/dev/null 2>"$W/err"
t_eq "a snapshot with a damaged page is refused by info" "$?" 2
loader_once
rc=$?
"$ICPGUARD" info "$LIVE" >"$W/info" 2>&1
t_check "the loader publishes it again, verified (exit $rc)" \
	grep -q "sealed, SHA-256 verified" "$W/info"
t_eq "... with a higher serial" "$(snap_serial)" 3
t_eq "... and every filing" "$(snap_meta count.filing)" 100

# rollback to a kept snapshot with a damaged page: refused with the
# reason, never put in force (the plain open of before mapped it unchecked)
K2=$W/state/snapshots/snapshot-$(printf %020d 2).mdb
if [ -f "$K2" ]; then
	awk 'BEGIN{for(i=0;i<512;i++) printf "%c", 65 + (i * 7) % 26}' |
		dd of="$K2" bs=1 seek=$((4096 * 5 + 1000)) conv=notrunc 2>/dev/null
	"$LOADER" -c "$W/loader.conf" rollback >"$W/rollback.out" 2>&1
	rc=$?
	t_eq "rollback to a damaged kept snapshot fails (exit 1)" "$rc" 1
	t_check "... naming the file and the damage" grep -q "snapshot-0*2\.mdb.*\(SHA-256\|seal\|damaged\)" "$W/rollback.out"
	t_eq "... and serial 3 stays in force" "$(snap_serial)" 3
else
	t_notok "kept snapshot 2 at $K2"; t_diag "$(ls "$W/state/snapshots")"
fi

# the status server over a live snapshot damaged while the loader runs:
# the file is verified before its pages are read, /status reports it as
# damaged (the plain open of before read the identity from it as if
# whole) and the loader keeps serving (no pull cycle in between:
# poll-interval 3600 s)
loader_conf "poll-interval: 3600"
loader_start || t_diag "loader did not start: $(tail -3 "$W/daemon.log")"
cp "$LIVE" "$W/page2.mdb"
awk 'BEGIN{for(i=0;i<512;i++) printf "%c", 65 + (i * 7) % 26}' |
	dd of="$W/page2.mdb" bs=1 seek=$((4096 * 5 + 1000)) conv=notrunc 2>/dev/null
mv -f "$W/page2.mdb" "$LIVE"
status_get /status >"$W/status.json"
t_check "/status reports the damaged live snapshot as an error" grep -q '"error": *"[^"]*snapshot.mdb[^"]*SHA-256' "$W/status.json"
t_check "... and the loader still runs" kill -0 "$LOADER_PID"
loader_stop
t_done
