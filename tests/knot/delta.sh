#!/bin/bash
# tests/knot/delta.sh: feed deltas reach knotd through the delta snapshot
# (issue 20; docs/knot.md, "The delta snapshot"; TAP).
#
# The real icpguard-loader pulls signed feeds (tests/integration/policy,
# made by `icpguard feed`) from a real nginx on 127.0.0.1 and publishes the
# main snapshot and, for filings and blacklist deltas, a delta snapshot;
# Debian's knotd with mod-icpguard on 127.0.0.24 serves tests/knot/zones
# over both.  Checked, each by a bounded wait for what knotd answers (the
# time is printed, never asserted): a filing removed by a delta blocks
# www.filed.cn, its log line naming the snapshot BASE+DELTA (the EDE text
# names the base's serial, as on the resolver side), a filing added lets www.unfiled-dom.cn through, a blacklist entry
# added blocks www.unfiled-abroad.com; a fold (another feed moved) puts a
# whole snapshot and an empty delta over it in force and keeps every
# verdict; a delta over another main snapshot is held back (log line) and
# changes no verdict.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
IG_TAP=1
. "$top_srcdir/tests/integration/lib.sh"
# the feed helpers of the loader tests (nginx: www_start; pub); they reset
# W, which knot_test_init sets below
. "$top_srcdir/tests/loader/lib.sh"
. "$top_srcdir/tests/knot/lib.sh"
TTL=30
knot_test_init knot-delta "${IG_KNOT_DELTA_ADDR:-127.0.0.24}"
[ -x "$LOADER" ] || ig_skip_all "icpguard-loader not built ($LOADER)"
[ -x "$NGINX" ] || ig_skip_all "nginx not installed (tools/deps installs nginx-light)"
cp "$KZONES"/*.zone "$W/zones/"
POL=$W/policy
cp -r "$IG_POLICY_SRC" "$POL"
DELTA=$W/delta.mdb
policy_feeds "$POL" "$W/snapshot.mdb" "$DELTA" >"$W/www.log" 2>&1 ||
	ig_bail "icpguard feed failed: $(cat "$W/www.log")"
ig_track "$WWW_PID"
pull() { "$LOADER" -c "$W/loader.conf" --once >>"$W/loader.log" 2>&1; }
pull || ig_bail "the first pull failed: $(tail -3 "$W/loader.log")"
KNOT_MOD_KEYS="delta-snapshot: \"$DELTA\""
write_conf enforce
start_knot || { ig_diag "$(tail -20 "$W/knotd.log" "$W/knotd.out" 2>/dev/null)"; ig_bail "knotd with the module did not start"; }

# ok DESC CMD...: ok when CMD succeeds
ok() {
	_d=$1
	shift
	"$@" >/dev/null 2>&1
	ig_result $? "$_d"
}
# log_wait REGEX: until knotd's log has a line matching REGEX (bounded:
# 250 looks, 20 ms apart)
log_wait() {
	_i=0
	while [ $_i -lt 250 ]; do
		grep -qE -- "$1" "$W/knotd.log" && return 0
		ig_sleep_ms 20
		_i=$((_i + 1))
	done
	return 1
}
# blocked_as NAME IDENT_REGEX DESC: ask NAME A once more; knotd's log line
# for that block names the snapshot IDENT_REGEX (whole: followed by " (")
blocked_as() {
	_n=$(wc -l <"$W/knotd.log")
	q "$1" A
	_i=0
	while [ $_i -lt 250 ]; do
		tail -n +$((_n + 1)) "$W/knotd.log" | grep -qE -- "block [a-z]+ $1\..* snapshot $2 \(" && break
		ig_sleep_ms 20
		_i=$((_i + 1))
	done
	tail -n +$((_n + 1)) "$W/knotd.log" | grep -qE -- "block [a-z]+ $1\..* snapshot $2 \("
	ig_result $? "$3" || ig_diag "$(tail -n +$((_n + 1)) "$W/knotd.log" | grep "$1" | head -3)"
}
H="[0-9a-f]{12}"
# expect NAME RCODE DESC: knotd answers NAME A with RCODE within the
# bounded wait (until_rcode); the policy answer's EDE is checked by the
# caller
expect() {
	until_rcode "$1" A "$2"
	ig_result $? "$3 ($IG_WAITED ms)" || ig_dump
}

q www.filed.cn A
check_rcode NOERROR "before: www.filed.cn (filed) resolves"
q www.unfiled-dom.cn A
check_rcode NXDOMAIN "before: www.unfiled-dom.cn (unfiled, domestic) is blocked"
q www.unfiled-abroad.com A
check_rcode NOERROR "before: www.unfiled-abroad.com (abroad) resolves"
ok "before: knotd took the empty delta over snapshot 1" \
	log_wait "delta snapshot 1-[0-9a-f]+\+1-[0-9a-f]+ in force"

# ------------------------------------------------------------ filings delta
grep -v '"filed.cn"' "$IG_POLICY_SRC/filings.jsonl" >"$POL/filings.jsonl"
echo '{"domain":"unfiled-dom.cn","number":"京ICP备19000001号","status":"active","subject_type":"enterprise","subject":"测试","province":"北京","approved":"2020-01-01"}' >>"$POL/filings.jsonl"
pub filings "$POL/filings.jsonl" --tlds "$POL/tlds.txt" || ig_bail "icpguard feed failed"
pull || ig_bail "the delta pull failed: $(tail -3 "$W/loader.log")"
ok "filings delta: the loader published a delta snapshot of 2 names" \
	grep -q "delta snapshot 1-.*+2-.*, 2 names" "$W/loader.log"
expect www.filed.cn NXDOMAIN "filings delta: a removed filing blocks www.filed.cn"
check_ede 15 "nofiling www\.filed\.cn\. snapshot 1\)" "filings delta: EDE 15, the text names the base's serial"
blocked_as www.filed.cn "1-$H\+2-$H" "filings delta: the block's log line names the snapshot as BASE+DELTA"
expect www.unfiled-dom.cn NOERROR "filings delta: an added filing lets www.unfiled-dom.cn through"
ok "filings delta: knotd took the delta snapshot" \
	log_wait "delta snapshot 1-[0-9a-f]+\+2-[0-9a-f]+ in force"
q www.unfiled-abroad.com A
check_rcode NOERROR "filings delta: www.unfiled-abroad.com (not in the delta) still resolves"
# kept for the held-back case below: a delta over snapshot 1
cp "$DELTA" "$W/delta-over-1.mdb"

# ------------------------------------------------------------ blacklist delta
cp "$IG_POLICY_SRC/blacklist.jsonl" "$POL/blacklist.jsonl"
echo '{"name":"unfiled-abroad.com","subtree":true,"reason":"测试","source":"CNCERT"}' >>"$POL/blacklist.jsonl"
pub blacklist "$POL/blacklist.jsonl" || ig_bail "icpguard feed failed"
pull || ig_bail "the blacklist pull failed: $(tail -3 "$W/loader.log")"
expect www.unfiled-abroad.com NXDOMAIN "blacklist delta: an added entry blocks www.unfiled-abroad.com"
blocked_as www.unfiled-abroad.com "1-$H\+3-$H" "blacklist delta: the log line names delta 3 over snapshot 1"
q www.filed.cn A
check_rcode NXDOMAIN "blacklist delta: cumulative, the delta before still holds (www.filed.cn blocked)"

# ------------------------------------------------------------ fold
echo "10.99.0.0/24,test" >>"$POL/domestic.csv"
pub domestic "$POL/domestic.csv" || ig_bail "icpguard feed failed"
pull || ig_bail "the domestic pull failed: $(tail -3 "$W/loader.log")"
ok "fold: the loader published a whole snapshot 2" \
	grep -q "snapshot 2-.*not a delta: the domestic feed moved" "$W/loader.log"
ok "fold: knotd took snapshot 2 and the empty delta over it" \
	log_wait "delta snapshot 2-[0-9a-f]+\+1-[0-9a-f]+ in force"
q www.filed.cn A
check_rcode NXDOMAIN "fold: www.filed.cn still blocked (snapshot 2 holds the change)"
blocked_as www.filed.cn "2-$H" "fold: the log line names snapshot 2 alone (the empty delta decides nothing)"
q www.unfiled-dom.cn A
check_rcode NOERROR "fold: www.unfiled-dom.cn still resolves"
q www.unfiled-abroad.com A
check_rcode NXDOMAIN "fold: www.unfiled-abroad.com still blocked"

# ------------------------------------------------------------ held back
# a delta over snapshot 1 put in place while snapshot 2 is in force: it
# must not be read (its changes are in snapshot 2 already, and over it
# they would be applied over the wrong base)
cp "$W/delta-over-1.mdb" "$W/delta.tmp" && mv "$W/delta.tmp" "$DELTA"
ok "held back: knotd logs the delta over snapshot 1 as held back" \
	log_wait "delta snapshot 1-[0-9a-f]+\+2-[0-9a-f]+ held back"
q www.unfiled-abroad.com A
check_rcode NXDOMAIN "held back: www.unfiled-abroad.com still blocked (the old delta did not remove it)"
blocked_as www.unfiled-abroad.com "2-$H" "held back: the log line names snapshot 2 alone"
ok "knotd still runs" kill -0 "$KNOTD_PID"
ig_done
