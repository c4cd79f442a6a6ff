#!/bin/bash
# tests/loader/feeds.sh - TAP: icpguard-loader pulling real feed files from
# a real nginx on 127.0.0.1: full load, deltas, conditional GET (304), the
# quarantine report, every kind of refused feed (bad signature, unknown
# key, tampered, truncated, serial going backwards, a delta that does not
# apply, a 10% shrink), the server going down (backoff, snapshot kept),
# the status endpoint, SIGHUP, SIGTERM and rollback.
# Run by `make check`; by hand: top_srcdir=. top_builddir=. tests/loader/feeds.sh
set -u
. "${top_srcdir:-$(dirname "$0")/../..}/tests/loader/lib.sh"
[ -x "$NGINX" ] || t_skip_all "nginx not installed (tools/deps installs nginx-light)"
command -v curl >/dev/null || t_skip_all "curl not installed"
t_init feeds

# filings: the first 100 sample filings, then variations
head -100 "$SAMPLE/filings.jsonl" >"$W/src/f1.jsonl"
pub_keys || { echo "Bail out! keygen failed"; exit 1; }
pub_sample "$W/src/f1.jsonl" || { echo "Bail out! feed failed"; exit 1; }
cp -a "$W/www/filings" "$W/filings-serial1"
www_start
loader_conf

# ------------------------------------------------------------ full load
if loader_once; then t_ok "full load: loader --once exits 0"; else
	t_notok "full load: loader --once exited $?"; sed 's/^/# /' "$W/once.log"; fi
t_eq "full load: snapshot serial 1" "$(snap_serial)" 1
t_check "full load: 100 filings, feed serials recorded" test \
	"$(snap_meta count.filing)/$(snap_meta source.filings)/$(snap_meta source.tlds)" = "100/1/1"
# the same sources through `icpguard build` give the same content hash
mkdir -p "$W/bsrc"
cp "$SAMPLE/tlds.txt" "$SAMPLE/registrars.jsonl" "$SAMPLE/regdomains.jsonl" \
	"$SAMPLE/blacklist.jsonl" "$SAMPLE/domestic.csv" "$W/bsrc/"
cp "$W/src/f1.jsonl" "$W/bsrc/filings.jsonl"
"$ICPGUARD" build --source "$W/bsrc" --out "$W/build.mdb" --quiet
t_check "full load: content hash equals icpguard build of the same sources" \
	test "$(snap_meta hash)" = "$("$ICPGUARD" info "$W/build.mdb" | sed -n 's/^hash *//p' | head -1)"
# the full filings feed's filings went into the snapshot while the state
# stored them (loader/prewrite.h), not copied back: the hash above is
# that path's
cp "$W/once.log" "$W/once-full.log"
t_check "full load: the filings were written beside the feed, not copied from the state" \
	grep -q "state to snapshot [0-9.]* without the filings, written beside the feed" "$W/once.log"
t_check "full load: explain on the published snapshot" \
	"$ICPGUARD" explain --snapshot "$W/live/snapshot.mdb" filed.cn

# ------------------------------------------------------------ unchanged
: >"$W/nginx/access.log"
loader_once
t_eq "unchanged: exit 0, no new snapshot" "$?/$(snap_serial)" "0/1"
t_check "unchanged: conditional GET answered 304" \
	grep -q '"GET /filings/latest.json HTTP/1.1" 304' "$W/nginx/access.log"
t_check "unchanged: no feed file downloaded" \
	sh -c "! grep -q 'full-' '$W/nginx/access.log'"

# ------------------------------------------------------------ deltas
{ sed -n '3,100p' "$W/src/f1.jsonl"; sed -n '101,105p' "$SAMPLE/filings.jsonl"; } >"$W/src/f2.jsonl"
pub filings "$W/src/f2.jsonl" --tlds "$SAMPLE/tlds.txt"
: >"$W/nginx/access.log"
loader_once
t_eq "delta: exit 0, snapshot serial 2 (previous + 1)" "$?/$(snap_serial)" "0/2"
t_check "delta: only the delta was downloaded" sh -c \
	"grep -q 'GET /filings/delta-1-2.pb ' '$W/nginx/access.log' && ! grep -q 'full-2' '$W/nginx/access.log'"
t_check "delta: 103 filings, 7 names in the changed set" \
	test "$(snap_meta count.filing)/$(snap_meta count.changed)" = "103/7"
{ cat "$W/src/f2.jsonl"; sed -n '106,107p' "$SAMPLE/filings.jsonl"; } >"$W/src/f3.jsonl"
{ cat "$W/src/f3.jsonl"; sed -n '108,109p' "$SAMPLE/filings.jsonl"; } >"$W/src/f4.jsonl"
pub filings "$W/src/f3.jsonl" --tlds "$SAMPLE/tlds.txt"
pub filings "$W/src/f4.jsonl" --tlds "$SAMPLE/tlds.txt"
: >"$W/nginx/access.log"
loader_once
t_check "two deltas in one pull: one publish (serial 3), feed serial 4" \
	test "$?/$(snap_serial)/$(snap_meta source.filings)/$(snap_meta count.filing)" = "0/3/4/107"
t_check "two deltas in one pull: delta-2-3 and delta-3-4 downloaded" sh -c \
	"grep -q 'delta-2-3.pb ' '$W/nginx/access.log' && grep -q 'delta-3-4.pb ' '$W/nginx/access.log'"

# ------------------------------------------------------------ quarantine
{ cat "$W/src/f4.jsonl"
  echo '{"domain":"badnumber.cn","number":"ICP-123"}'
  echo '{"domain":"www.subdomain-only.cn","number":"京ICP备16020626号-1"}'
  echo '{"domain":"badstatus.cn","number":"京ICP备16020626号-1","status":"weird"}'
} >"$W/src/f5.jsonl"
pub filings "$W/src/f5.jsonl" --unchecked
loader_once
t_check "bad records: the good ones load (serial 4, 107 filings)" \
	test "$?/$(snap_serial)/$(snap_meta count.filing)" = "0/4/107"
q=$W/state/quarantine/filings.jsonl
t_check "bad records: 3 lines in the quarantine report" test "$(wc -l <"$q")" = 3
t_check "bad records: each with feed, position, field and reason" sh -c \
	"grep -q '\"feed\":\"filings\".*\"record\":[0-9].*\"field\":\"number\".*\"code\":\"bad_number\"' '$q' &&
	 grep -q 'not_registrable' '$q' && grep -q 'bad_status' '$q'"
t_check "bad records: logged with the quarantine path" grep -q "3 records rejected" "$W/once.log"

# ------------------------------------------------------------ refusals
# refused FILE-MAKER CODE DESC: make a bad serial 6 of the filings feed,
# check the loader refuses it with CODE and keeps the snapshot, restore
cp -a "$W/www/filings" "$W/filings-good"
{ cat "$W/src/f5.jsonl"; sed -n '110p' "$SAMPLE/filings.jsonl"; } >"$W/src/f6.jsonl"
refused() {
	_code=$1
	_desc=$2
	_before=$(snap_serial)
	loader_once
	_rc=$?
	if [ "$_rc" = 1 ] && [ "$(snap_serial)" = "$_before" ] &&
		grep -q "feed filings not updated ($_code)" "$W/once.log"; then
		t_ok "$_desc: refused ($_code), snapshot $_before kept"
	else
		t_notok "$_desc: rc $_rc, serial $(snap_serial) (was $_before)"
		sed 's/^/# /' "$W/once.log"
	fi
	rm -rf "$W/www/filings"
	cp -a "$W/filings-good" "$W/www/filings"
}
flip() { # flip one byte at offset $2 of file $1
	_b=$(dd if="$1" bs=1 skip="$2" count=1 2>/dev/null | od -An -tu1 | tr -d ' ')
	printf "$(printf '\\%03o' $(( (_b + 1) % 256 )))" |
		dd of="$1" bs=1 seek="$2" count=1 conv=notrunc 2>/dev/null
}
pub filings "$W/src/f6.jsonl" --unchecked
for s in "$W"/www/filings/*-6.pb.sig; do flip "$s" $(($(stat -c %s "$s") - 5)); done
refused bad_signature "bad signature"
pub filings "$W/src/f6.jsonl" --unchecked
for p in "$W"/www/filings/*-6.pb; do flip "$p" 40; done
refused digest_mismatch "tampered payload"
pub filings "$W/src/f6.jsonl" --unchecked
for p in "$W"/www/filings/*-6.pb; do truncate -s -20 "$p"; done
refused truncated "truncated payload"
"$ICPGUARD" feed --kind filings --source "$W/src/f6.jsonl" --out "$W/www" \
	--key "$W/other.key" --quiet --unchecked
refused unknown_key "signature by an unknown key"
rm -rf "$W/www/filings"
cp -a "$W/filings-serial1" "$W/www/filings"
refused serial_backwards "serial going backwards"
# 10%: 11 of 107 filings removed
head -96 "$W/src/f4.jsonl" >"$W/src/shrunk.jsonl"
pub filings "$W/src/shrunk.jsonl"
refused shrink "filings shrinking by 10%"
t_check "shrink: the status names the reason" grep -q "would shrink from 107 to 96" "$W/once.log"
# the refused full feed's filings were being written into the next
# snapshot beside it (loader/prewrite.c): that temporary is gone with it
t_eq "shrink: no temporary snapshot left by the refused feed" \
	"$(ls "$W/state/snapshots" | grep -c '\.tmp')" 0
pub filings "$W/src/shrunk.jsonl"
"$LOADER" -c "$W/loader.conf" allow-shrink filings >/dev/null
loader_once
t_check "shrink: applied after icpguard-loader allow-shrink filings" \
	test "$?/$(snap_meta count.filing)/$(snap_serial)" = "0/96/5"
t_check "shrink: its filings were written beside the feed" \
	grep -q "without the filings, written beside the feed" "$W/once.log"
t_check "shrink: the override is used up" test ! -e "$W/state/allow-shrink.filings"

# a delta that does not apply: the publisher's history at serial 6 is not
# the loader's (an extra filing), so its delta 6->7 removes a name the
# loader never had; the loader falls back to the full feed
rm -rf "$W/www/filings"
{ cat "$W/src/shrunk.jsonl"; sed -n '200p' "$SAMPLE/filings.jsonl"; } >"$W/src/other6.jsonl"
pub filings "$W/src/other6.jsonl" --serial 6
pub filings "$W/src/f4.jsonl"
: >"$W/nginx/access.log"
loader_once
t_check "delta not applying: falls back to the full feed (serial 7, 107 filings)" \
	test "$?/$(snap_meta source.filings)/$(snap_meta count.filing)" = "0/7/107"
t_check "delta not applying: the reason is logged" \
	grep -q "delta delta-6-7.pb: refused (delta_mismatch" "$W/once.log"
t_check "delta not applying: full-7.pb downloaded" grep -q "GET /filings/full-7.pb " "$W/nginx/access.log"

# ------------------------------------------------------------ the daemon
loader_conf "poll-interval: 1" "retry-min: 1" "retry-max: 4"
if loader_start; then t_ok "daemon: started, status server up"; else
	t_notok "daemon: no status server"; sed 's/^/# /' "$W/daemon.log"; fi
status_get /status >"$W/status.json"
t_check "status: JSON with the snapshot serial and every feed" python3 -c "
import json,sys
s=json.load(open('$W/status.json'))
assert s['snapshot']['serial']==$(snap_serial), s['snapshot']
assert set(s['feeds'])=={'tlds','filings','registrars','blacklist','domestic'}
assert s['feeds']['filings']['serial']==7
"
status_get /metrics >"$W/metrics.txt"
t_check "metrics: snapshot serial, feed serials, publish durations" sh -c "
	grep -q '^icpguard_loader_snapshot_serial $(snap_serial)\$' '$W/metrics.txt' &&
	grep -q '^icpguard_loader_feed_serial{feed=\"filings\"} 7\$' '$W/metrics.txt' &&
	grep -q '^icpguard_loader_snapshot_age_seconds ' '$W/metrics.txt' &&
	grep -q '^icpguard_loader_publish_duration_seconds_count ' '$W/metrics.txt'"
before=$(snap_serial)
pub filings "$W/src/f5.jsonl" --unchecked
t_check "daemon: a new serial is published within 5 s" \
	wait_for 5 meta_is source.filings 8
t_check "daemon: snapshot serial grew by one" test "$(snap_serial)" = $((before + 1))
status_get /metrics >"$W/metrics.txt"
t_check "metrics: rejected records by reason" grep -q \
	'icpguard_loader_records_rejected_total{feed="filings",reason="bad_number"} 1' "$W/metrics.txt"
: >"$W/nginx/access.log"
t_check "daemon: unchanged feeds are polled with conditional GET (304)" \
	wait_for 10 grep -q '"GET /filings/latest.json HTTP/1.1" 304' "$W/nginx/access.log"

# the server goes down: retries back off, the snapshot stays
kept=$(snap_serial)
www_stop
# waited for (bounded, 20 s): two failures and a grown backoff in /status
down_backoff() {
	status_get /status >"$W/status.json" && python3 -c "
import json
f=json.load(open('$W/status.json'))['feeds']['filings']
assert f['result']=='unreachable', f
assert f['backoff']>=2 and f['failures']>=2, f
" 2>/dev/null
}
t_check "server down: status says unreachable, backoff grows" wait_for 20 down_backoff
t_eq "server down: the snapshot in force stays readable" "$(snap_serial)" "$kept"
www_start
t_check "server back: the feed is up again within 8 s" wait_for 8 sh -c \
	"curl -s http://127.0.0.1:$STATUS_PORT/metrics | grep -q '^icpguard_loader_feed_up{feed=\"filings\"} 1'"

# SIGHUP rereads the configuration; a bad one is refused and kept
echo "max-shrink: 20%" >>"$W/loader.conf"
kill -HUP "$LOADER_PID"
t_check "SIGHUP: configuration reloaded" wait_for 5 grep -q "reloaded" "$W/daemon.log"
echo "bogus-key: 1" >>"$W/loader.conf"
kill -HUP "$LOADER_PID"
t_check "SIGHUP: a bad configuration is refused with file, line and key" \
	wait_for 5 grep -q "reload refused, configuration kept: .*loader.conf:[0-9]*: bogus-key: unknown key" "$W/daemon.log"
t_check "pidfile holds the daemon's pid" test "$(cat "$W/loader.pid")" = "$LOADER_PID"
kill -TERM "$LOADER_PID"
wait "$LOADER_PID"
rc=$?
LOADER_PID=""
t_check "SIGTERM: exit 0, pidfile removed" test "$rc/$(test -e "$W/loader.pid"; echo $?)" = "0/1"

# ------------------------------------------------------------ exemptions
# operator exemptions come from a local file, published with the feeds
{ cat "$SAMPLE/exemptions.jsonl"; echo '{"name":"bad..name.cn"}'; } >"$W/src/ex.jsonl"
sed -i '/^bogus-key/d' "$W/loader.conf"
echo "exemptions: $W/src/ex.jsonl" >>"$W/loader.conf"
before=$(snap_serial)
loader_once
t_eq "exemptions: published with the feeds (5 good, serial +1)" \
	"$?/$(snap_meta count.exempt)/$(snap_serial)" "0/5/$((before + 1))"
t_check "exemptions: the bad row is quarantined with its line" \
	grep -q '"line":6,"field":"name","code":"bad_name"' "$W/state/quarantine/exemptions.jsonl"
loader_once
t_eq "exemptions: unchanged file, no new snapshot" "$(snap_serial)" "$((before + 1))"
sed -i '1d' "$W/src/ex.jsonl"
loader_once
t_eq "exemptions: a changed file is published (4, everything marked changed)" \
	"$(snap_meta count.exempt)/$(snap_meta changed_all)/$(snap_serial)" "4/1/$((before + 2))"

# ------------------------------------------------------------ rollback
cur=$(snap_serial)
"$LOADER" -c "$W/loader.conf" rollback >"$W/rollback.out" 2>&1
t_eq "rollback: previous kept snapshot in force" "$?/$(snap_serial)" "0/$((cur - 1))"
t_check "rollback: kept snapshots limited to keep-snapshots (3)" \
	test "$(ls "$W/state/snapshots" | wc -l)" = 3

t_done
