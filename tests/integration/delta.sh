#!/bin/bash
# tests/integration/delta.sh: feed deltas reach Unbound through delta
# snapshots (docs/snapshot.md, "The delta layer"; TAP).
#
# The real icpguard-loader pulls signed feeds (the integration policy,
# made by `icpguard feed`) from a real nginx on 127.0.0.1 and publishes the
# snapshot and, for filings and blacklist deltas, a delta snapshot; the
# real dynlib Unbound with the module reads both; the local NSD tree
# answers.  Checks: a filing removed by a delta blocks a cached name, a
# filing added unblocks a cached policy answer, a blacklist entry added
# and removed again; each reaches the cached name within a bounded wait
# (the time is printed, never asserted); a cached answer of a name the
# delta does not hold stays cached (no query to the tree); the log names
# the snapshot as BASE+DELTA; a fold (another feed moved) keeps every
# verdict and leaves an empty delta over the new snapshot.
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/integration/lib.sh"

ig_init delta
IG_LOADER=$top_builddir/loader/icpguard-loader
[ -x "$IG_LOADER" ] || ig_skip_all "icpguard-loader not built"
NGINX=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}
[ -x "$NGINX" ] || ig_skip_all "nginx not installed (tools/deps installs nginx-light)"
# the feed helpers of the loader tests: nginx (www_start) and pub
. "$top_srcdir/tests/loader/lib.sh"
W=$IG_WORK/feeds
ig_start_tree
POL=$IG_WORK/policy
cp -r "$IG_POLICY_SRC" "$POL"
DELTA=$IG_WORK/delta.mdb
policy_feeds "$POL" "$IG_WORK/snapshot.mdb" "$DELTA" || ig_bail "icpguard feed failed"
# stopped at exit with the other processes (it was left running, holding
# the integration lock for every test after it)
ig_track "$WWW_PID"
pull() { "$IG_LOADER" -c "$W/loader.conf" --once >>"$IG_WORK/loader.log" 2>&1; }
pull || ig_bail "the first pull failed: $(tail -3 "$IG_WORK/loader.log")"
ig_start_unbound "delta-snapshot: $DELTA" || ig_bail "Unbound with the module did not start"

# state NAME: pass (an A record), or the EDE code of a policy answer
state() {
	ig_dig "$1" A
	if [ "$(ig_rcode)" = NOERROR ] && [ -n "$(ig_section ANSWER | awk '$4 == "A"')" ]; then
		echo pass
	else
		ig_ede_line | sed -n 's/^; EDE: \([0-9]*\) .*/block\1/p' | head -1 | grep . ||
			echo "other-$(ig_rcode)"
	fi
}
# wait_state NAME WANT: poll every 20 ms, 500 times at most; prints the ms
wait_state() {
	_s=$(ig_now_ms)
	_i=0
	while [ $_i -lt 500 ]; do
		if [ "$(state "$1")" = "$2" ]; then echo $(($(ig_now_ms) - _s)); return 0; fi
		sleep 0.02
		_i=$((_i + 1))
	done
	echo never
	return 1
}
# expect NAME WANT DESC: the name reaches the state within the bounded wait
expect() {
	if _ms=$(wait_state "$1" "$2"); then
		ig_ok "$3 ($_ms ms)"
	else
		ig_notok "$3: $1 is $(state "$1"), want $2"
	fi
}

# ok DESC CMD...: ok when CMD succeeds
ok() {
	_d=$1
	shift
	"$@" >/dev/null 2>&1
	ig_result $? "$_d"
}

# the answers the deltas will change, and one they will not, in the cache
ok "before: www.filed-cdn.cn resolves" test "$(state www.filed-cdn.cn)" = pass
ok "before: www.unfiled-dom.cn is blocked (no filing)" test "$(state www.unfiled-dom.cn)" = block15
ok "before: www.filed.cn resolves" test "$(state www.filed.cn)" = pass
ok "before: the delta over snapshot 1 is empty" \
	sh -c "'$IG_ICPGUARD' info '$DELTA' | grep -q '^count.filing  *0$'"

# ------------------------------------------------------------ filings delta
grep -v '"filed-cdn.cn"' "$IG_POLICY_SRC/filings.jsonl" >"$POL/filings.jsonl"
echo '{"domain":"unfiled-dom.cn","number":"京ICP备19000001号","status":"active","subject_type":"enterprise","subject":"测试","province":"北京","approved":"2020-01-01"}' >>"$POL/filings.jsonl"
pub filings "$POL/filings.jsonl" --tlds "$POL/tlds.txt" || ig_bail "icpguard feed failed"
tq=$(ig_tree_queries)
pull || ig_bail "the delta pull failed: $(tail -3 "$IG_WORK/loader.log")"
ok "filings delta: published as a delta snapshot" \
	grep -q "delta snapshot 1-.*+2-.*, 2 names" "$IG_WORK/loader.log"
expect www.filed-cdn.cn block15 "filings delta: a removed filing blocks the cached www.filed-cdn.cn"
expect www.unfiled-dom.cn pass "filings delta: an added filing unblocks the cached policy answer of www.unfiled-dom.cn"
ok "filings delta: Unbound took the delta snapshot" \
	grep -q "delta snapshot 1-[0-9a-f]*+2-[0-9a-f]* in force" "$IG_WORK/unbound.log"
ok "filings delta: the block names the snapshot as BASE+DELTA" \
	grep -q "block www.filed-cdn.cn.*snapshot 1-[0-9a-f]*+2-[0-9a-f]*" "$IG_WORK/unbound.log"
# www.filed.cn is not in the delta: still served from the cache
tq_before=$(ig_tree_queries)
ok "filings delta: www.filed.cn still resolves" test "$(state www.filed.cn)" = pass
ok "filings delta: www.filed.cn came from the cache (no query to the tree)" \
	test "$(ig_tree_queries)" = "$tq_before"

# ------------------------------------------------------------ blacklist delta
cp "$IG_POLICY_SRC/blacklist.jsonl" "$POL/blacklist.jsonl"
echo '{"name":"filed.cn","subtree":true,"reason":"测试","source":"CNCERT"}' >>"$POL/blacklist.jsonl"
pub blacklist "$POL/blacklist.jsonl" || ig_bail "icpguard feed failed"
pull || ig_bail "the blacklist pull failed"
expect www.filed.cn block15 "blacklist delta: an added entry blocks the cached www.filed.cn"
ok "blacklist delta: cumulative (delta 3: 3 names)" \
	grep -q "delta snapshot 1-.*+3-.*, 3 names" "$IG_WORK/loader.log"
ok "blacklist delta: the delta before still holds (www.filed-cdn.cn blocked)" \
	test "$(state www.filed-cdn.cn)" = block15
cp "$IG_POLICY_SRC/blacklist.jsonl" "$POL/blacklist.jsonl"
pub blacklist "$POL/blacklist.jsonl" || ig_bail "icpguard feed failed"
pull || ig_bail "the blacklist pull failed"
expect www.filed.cn pass "blacklist delta: the entry removed again, www.filed.cn resolves"

# ------------------------------------------------------------ fold
echo "10.99.0.0/24,test" >>"$POL/domestic.csv"
pub domestic "$POL/domestic.csv" || ig_bail "icpguard feed failed"
pull || ig_bail "the domestic pull failed"
ok "fold: a whole snapshot (serial 2), then an empty delta over it" \
	grep -q "snapshot 2-.*not a delta: the domestic feed moved" "$IG_WORK/loader.log"
_i=0
while [ $_i -lt 250 ] && ! grep -q "delta snapshot 2-[0-9a-f]*+1-[0-9a-f]* in force" "$IG_WORK/unbound.log"; do
	sleep 0.02
	_i=$((_i + 1))
done
ok "fold: Unbound took snapshot 2 and the empty delta over it" \
	grep -q "delta snapshot 2-[0-9a-f]*+1-[0-9a-f]* in force" "$IG_WORK/unbound.log"
ok "fold: www.filed-cdn.cn still blocked" test "$(state www.filed-cdn.cn)" = block15
ok "fold: www.unfiled-dom.cn still resolves" test "$(state www.unfiled-dom.cn)" = pass
ok "fold: www.filed.cn still resolves" test "$(state www.filed.cn)" = pass
ig_done
