#!/bin/bash
# tests/loader/crash.sh - TAP: icpguard-loader killed with SIGKILL at random
# moments while it publishes, at least 50 publishes, while a reader keeps
# opening the snapshot in force (`icpguard info`): the reader never finds
# it missing, torn (unopenable, no identity) or empty, its serial never goes
# down, and after the last kill the loader resumes: the next run publishes
# the feed serial in force and leaves no temporary files.  Then SIGTERM at
# random moments of ten daemon pulls: exit 0, no temporaries, and what was
# applied is published.
# The feed (60,000 synthetic filings, a new serial after every good
# publish) is served by nginx on 127.0.0.1.  Bounded: at most 400 kills.
set -u
. "${top_srcdir:-$(dirname "$0")/../..}/tests/loader/lib.sh"
[ -x "$NGINX" ] || t_skip_all "nginx not installed (tools/deps installs nginx-light)"
t_init crash

N=60000
WANT=${IG_CRASH_PUBLISHES:-50}
awk -v n=$N 'BEGIN{for(i=1;i<=n;i++) printf "{\"domain\":\"site%d.cn\",\"number\":\"京ICP备%08d号-1\",\"subject\":\"测试主体%d\",\"subject_type\":\"enterprise\",\"province\":\"京\",\"approved\":\"2020-01-01\"}\n", i, 10000000+i, i}' >"$W/src/f.jsonl"
pub_keys
pub filings "$W/src/f.jsonl"
www_start
{
	echo "snapshot: $W/live/snapshot.mdb"
	echo "state-dir: $W/state"
	echo "keep-snapshots: 3"
	echo "timeout: 10"
	echo "key: pub $W/pub.pub"
	echo "feed: filings http://127.0.0.1:$WWW_PORT/filings/ pub"
} >"$W/loader.conf"

# the first publish, timed: kills land within 1.3x a whole run
t0=$(date +%s%N)
loader_once
t1=$(date +%s%N)
t_eq "first publish" "$?/$(snap_serial)" "0/1"
run_ms=$(( (t1 - t0) / 1000000 ))
[ $run_ms -lt 50 ] && run_ms=50
t_diag "one pull + publish of $N filings: $run_ms ms"

# the reader: opens the snapshot in force over and over
reader() {
	last=0
	i=0
	while [ ! -e "$W/stop" ] && [ $i -lt 200000 ]; do
		i=$((i + 1))
		out=$("$ICPGUARD" info "$W/live/snapshot.mdb" 2>&1)
		rc=$?
		s=$(printf '%s\n' "$out" | sed -n 's/^serial *\([0-9]*\)$/\1/p' | head -1)
		c=$(printf '%s\n' "$out" | sed -n 's/^count.filing *\([0-9]*\)$/\1/p')
		if [ $rc != 0 ] || [ -z "$s" ] || [ "${c:-0}" -lt $((N - 10)) ] ||
			[ "$s" -lt "$last" ]; then
			echo "read $i: rc $rc serial '$s' (last $last) filings '$c': $out" >>"$W/reader.bad"
		else
			last=$s
		fi
		echo $i >"$W/reader.count"
	done
}
reader &
RPID=$!

publishes=0
kills=0
dry=0
widened=0
gen=0
i=0
last=$(snap_serial)
while [ $publishes -lt "$WANT" ] && [ $i -lt 400 ]; do
	i=$((i + 1))
	if [ "$(snap_meta source.filings)" = "$(sed -n 's/^ "serial": \([0-9]*\),$/\1/p' "$W/www/filings/latest.json")" ]; then
		# caught up: a new serial (one filing renamed)
		gen=$((gen + 1))
		sed -i "s/\"site$gen.cn\"/\"site${gen}x.cn\"/" "$W/src/f.jsonl"
		pub filings "$W/src/f.jsonl"
	fi
	"$LOADER" -c "$W/loader.conf" --once >>"$W/kill.log" 2>&1 &
	lp=$!
	ms=$(( RANDOM * 32768 + RANDOM ))
	ms=$(( ms % (run_ms * 13 / 10) ))
	sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
	if kill -KILL $lp 2>/dev/null; then kills=$((kills + 1)); fi
	wait $lp 2>/dev/null
	now=$(snap_serial)
	if [ "$now" != "$last" ]; then
		publishes=$((publishes + 1))
		last=$now
		dry=0
	else
		# a slower machine than the first run measured (load beside
		# the test): after 4 runs in a row without a publish the kills
		# land later, so that the test still makes progress
		dry=$((dry + 1))
		if [ $dry -ge 4 ] && [ $run_ms -lt 60000 ]; then
			run_ms=$((run_ms * 3 / 2))
			widened=$((widened + 1))
			dry=0
		fi
	fi
done
touch "$W/stop"
wait $RPID
t_diag "$i runs, $kills killed, $publishes publishes, $(cat "$W/reader.count") reads" \
	"kill window widened $widened times (now up to $((run_ms * 13 / 10)) ms)" \
	"$(grep -c 'lags the feed state' "$W/kill.log") restarts found a feed applied but not published"
t_check "at least $WANT publishes with random SIGKILLs ($kills kills)" \
	test $publishes -ge "$WANT" -a $kills -ge 1
if [ -e "$W/reader.bad" ]; then
	t_notok "the reader never saw a missing, torn or empty snapshot"
	head -5 "$W/reader.bad" | sed 's/^/# /'
else
	t_ok "the reader never saw a missing, torn or empty snapshot ($(cat "$W/reader.count") reads)"
fi

# resume: an undisturbed run brings everything up to date
loader_once
t_eq "resume: the next run exits 0" "$?" 0
t_eq "resume: the snapshot carries the publisher's serial" \
	"$(snap_meta source.filings)" \
	"$(sed -n 's/^ "serial": \([0-9]*\),$/\1/p' "$W/www/filings/latest.json")"
t_eq "resume: all filings in force" "$(snap_meta count.filing)" "$N"
t_eq "resume: no temporary files left" \
	"$(find "$W/state" "$W/live" -name '*.tmp*' | wc -l)" 0
t_check "resume: at most keep-snapshots (3) kept" \
	test "$(ls "$W/state/snapshots" | wc -l)" -le 3

# SIGTERM at random moments of a daemon's first pull (two feeds, so the
# signal can land between them): it exits 0, leaves no temporaries, and
# what it applied is published (the next start finds nothing to repair)
pub tlds "$SAMPLE/tlds.txt"
echo "feed: tlds http://127.0.0.1:$WWW_PORT/tlds/ pub" >>"$W/loader.conf"
term_bad=0
for j in 1 2 3 4 5 6 7 8 9 10; do
	gen=$((gen + 1))
	sed -i "s/\"site$gen.cn\"/\"site${gen}x.cn\"/" "$W/src/f.jsonl"
	pub filings "$W/src/f.jsonl"
	"$LOADER" -c "$W/loader.conf" --foreground >"$W/term.log" 2>&1 &
	lp=$!
	# signals are handled from "started" on (before, the default applies)
	wait_for 5 grep -q "started" "$W/term.log"
	ms=$(( (RANDOM * 32768 + RANDOM) % (run_ms * 13 / 10) ))
	sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
	kill -TERM $lp
	wait $lp
	rc=$?
	tmp=$(find "$W/state" "$W/live" -name '*.tmp*' ! -path '*/dl/*' | wc -l)
	loader_once
	if [ $rc != 0 ] || [ "$tmp" != 0 ] || grep -q 'lags the feed state' "$W/once.log"; then
		term_bad=$((term_bad + 1))
		t_diag "SIGTERM run $j: exit $rc, $tmp temporaries" "$(cat "$W/term.log")"
	fi
done
t_eq "SIGTERM during pulls: exit 0, no temporaries, nothing left unpublished (10 runs)" "$term_bad" 0

t_done
