#!/bin/bash
# tests/loader/orders.sh - TAP: the order intake of the real icpguard-loader
# over real HTTP (`icpguard order add` signs and posts), against the limits
# of the order snapshot (lib/limits.h), issue 17 findings 3 and 8:
#  - an order over a limit (a 70,000-byte reason, 257 targets, a target
#    name too long) is refused with HTTP 422 naming the field and the
#    limit, and is not journaled;
#  - an order at the limits (256 targets of 253 characters, a reason of
#    4096 bytes) is accepted, in force ("in_force": true) and published,
#    and the orders after it are published too;
#  - a re-sent order is answered from the table, not journaled again;
#  - an order journaled whose snapshot cannot be published is answered
#    503 "not in force", counted pending, and published with the next;
#  - a journal entry that fails the checks at start (journaled by an older
#    loader) is quarantined with a log line: the loader starts, the other
#    orders stay in force, new orders are published.
# No feeds: the loader only takes orders.
set -u
. "${top_srcdir:-$(dirname "$0")/../..}/tests/loader/lib.sh"
command -v curl >/dev/null 2>&1 || t_skip_all "curl missing (tools/deps)"
t_init orders

ORD=$W/live/orders.mdb
"$ICPGUARD" feed keygen "$W/miit" >/dev/null 2>&1 ||
	{ echo "Bail out! keygen failed"; exit 1; }
STATUS_PORT=$(free_port)
LURL=http://127.0.0.1:$STATUS_PORT
{
	echo "snapshot: $W/live/snapshot.mdb"
	echo "state-dir: $W/state"
	echo "status-listen: 127.0.0.1:$STATUS_PORT"
	echo "orders-snapshot: $ORD"
	echo "key: miit $W/miit.pub"
	echo "order-keys: miit"
	echo "log: stderr"
} >"$W/loader.conf"
loader_start || { echo "Bail out! loader did not start"; cat "$W/daemon.log"; exit 1; }

DOC='皖通信安简函〔2022〕83号'
# mkorder ID REASON TARGETS_JSON: an order file
mkorder() {
	printf '{"id":"%s","doc_no":"%s","unit":"安徽省通信管理局","reason":"%s","targets":%s,"effective":"2022-01-01"}\n' \
		"$1" "$DOC" "$2" "$3" >"$W/$1.json"
}
# add ID: sign and send; exit status of `icpguard order add`, body in ID.out
add() {
	"$ICPGUARD" order add "$W/$1.json" --key "$W/miit.key" --loader "$LURL" \
		>"$W/$1.out" 2>"$W/$1.err"
}
jlines() { wc -l <"$W/state/orders.journal" | tr -d ' '; }
ocount() { "$ICPGUARD" info "$ORD" 2>/dev/null | awk '$1 == "count.order" { print $2 }'; }
in_force() { grep -q '"in_force":true' "$W/$1.out"; }

# ------------------------------------------------------------ in limits
mkorder ord-ok-1 涉嫌诈骗 '["bad1.example.cn"]'
add ord-ok-1
t_eq "a plain order: accepted" "$?" 0
t_check "... and in force (in_force true)" in_force ord-ok-1
J0=$(jlines)

# ------------------------------------------------------------ over limits
big=$(head -c 70000 /dev/zero | tr '\0' 'x')
mkorder ord-big-reason "$big" '["bad2.example.cn"]'
add ord-big-reason
rc=$?
t_eq "a 70,000-byte reason: refused (exit 1)" "$rc" 1
t_check "... HTTP 422 too_large naming field and limit" \
	grep -q '"error":"too_large".*reason.*70000 bytes, at most 4096' "$W/ord-big-reason.out"
t_check "... the CLI says HTTP 422" grep -q 'HTTP 422' "$W/ord-big-reason.err"
t_eq "... not journaled" "$(jlines)" "$J0"

# 253-character names: 63.63.63.61 labels, distinct by their first label
name253() { printf 'a%03d%s.%s.%s.%s' "$1" "$(printf '%059d' 0 | tr 0 b)" \
	"$(printf '%063d' 0 | tr 0 c)" "$(printf '%063d' 0 | tr 0 d)" \
	"$(printf '%061d' 0 | tr 0 e)"; }
targets() { # targets N: a JSON list of N names of 253 characters
	_i=0
	printf '['
	while [ $_i -lt "$1" ]; do
		[ $_i = 0 ] || printf ','
		printf '"%s"' "$(name253 $_i)"
		_i=$((_i + 1))
	done
	printf ']'
}
t_eq "the test name has 253 characters" "$(name253 1 | wc -c | tr -d ' ')" 253
mkorder ord-257 涉嫌诈骗 "$(targets 257)"
add ord-257
t_eq "257 targets: refused" "$?" 1
t_check "... HTTP 422 naming targets and 256" \
	grep -q '"error":"too_large".*targets.*257 targets, want 1 to 256' "$W/ord-257.out"
long="$(printf '%063d' 0 | tr 0 a).$(name253 9)"
mkorder ord-long-name 涉嫌诈骗 "[\"$long\"]"
add ord-long-name
t_eq "a target longer than 253 characters: refused" "$?" 1
t_check "... 4xx naming targets" grep -q '"error":"bad_field".*targets' "$W/ord-long-name.out"
t_eq "... nothing journaled" "$(jlines)" "$J0"

# ------------------------------------------------------------ at the limits
reason4096=$(head -c 4096 /dev/zero | tr '\0' 'r')
mkorder ord-max "$reason4096" "$(targets 256)"
add ord-max
t_eq "256 targets of 253 characters, a 4096-byte reason: accepted" "$?" 0
t_check "... in force" in_force ord-max
t_eq "... in the order snapshot" "$(ocount)" 2
mkorder ord-ok-2 涉嫌诈骗 '["bad3.example.cn"]'
add ord-ok-2
t_eq "the next order: accepted" "$?" 0
t_check "... in force" in_force ord-ok-2
t_eq "... published (3 orders)" "$(ocount)" 3

# ------------------------------------------------------------ re-sent
J1=$(jlines)
"$ICPGUARD" order sign "$W/ord-ok-2.json" --key "$W/miit.key" >"$W/ord-ok-2.env.json"
cp "$W/ord-ok-2.env.json" "$W/ord-ok-2-again.json"
add ord-ok-2-again
t_eq "a re-sent order: 200" "$?" 0
t_check "... already accepted" grep -q 'already accepted' "$W/ord-ok-2-again.out"
add ord-ok-2-again
t_eq "... twice: not journaled again" "$(jlines)" "$J1"
"$ICPGUARD" order lift ord-ok-1 --key "$W/miit.key" --loader "$LURL" >/dev/null 2>&1
t_eq "a lift: journaled" "$(jlines)" $((J1 + 1))
"$ICPGUARD" order lift ord-ok-1 --key "$W/miit.key" --loader "$LURL" >"$W/relift.out" 2>&1
t_eq "a second lift: 200" "$?" 0
t_eq "... not journaled" "$(jlines)" $((J1 + 1))

# ------------------------------------------------------------ the front
# `icpguard` is a small front (tools/front.c): it posts an envelope itself,
# without the full tool (icpguard-tool: libcrypto and ten more libraries),
# and runs the full tool for anything else.  A copy of the front alone in
# a directory shows both: the envelope goes through, an order to sign
# needs the full tool, which the front names.
mkdir "$W/front"
cp "$ICPGUARD" "$W/front/icpguard"
mkorder ord-front 涉嫌诈骗 '["bad8.example.cn"]'
"$ICPGUARD" order sign "$W/ord-front.json" --key "$W/miit.key" >"$W/ord-front.env"
"$W/front/icpguard" order add "$W/ord-front.env" --loader="$LURL" >"$W/front.out" 2>"$W/front.err"
t_eq "the front alone submits an envelope: accepted" "$?" 0
t_check "... in force" in_force front
"$W/front/icpguard" order add "$W/ord-front.json" --loader "$LURL" >/dev/null 2>"$W/front-sign.err"
t_eq "an order to sign, without the full tool: exit 2" "$?" 2
t_check "... the front names the full tool it could not run" \
	grep -q "cannot run .*/icpguard-tool" "$W/front-sign.err"
"$ICPGUARD" order add "$W/ord-front.json" --loader "$LURL" >/dev/null 2>"$W/front-nokey.err"
t_eq "with the full tool: an order to sign without --key is refused (exit 2)" "$?" 2
t_check "... with the full tool's message" grep -q -- "--key PRIV is needed to sign" "$W/front-nokey.err"

# ------------------------------------------------------------ not in force
# the order snapshot's directory gone (a broken or full disk): the order is
# journaled but its snapshot cannot be published: HTTP 503 not_in_force,
# the CLI says "NOT in force", /status counts it pending; with the
# directory back, the next order publishes both
mv "$W/live" "$W/live.away"
J2=$(jlines)
mkorder ord-503 涉嫌诈骗 '["bad6.example.cn"]'
add ord-503
t_eq "order snapshot unpublishable: exit 1" "$?" 1
t_check "... HTTP 503 not_in_force, journaled" \
	grep -q '"error":"not_in_force".*"journaled":true' "$W/ord-503.out"
t_check "... the CLI says journaled but NOT in force" \
	grep -q 'journaled by the loader but NOT in force (HTTP 503)' "$W/ord-503.err"
t_eq "... journaled" "$(jlines)" $((J2 + 1))
t_check "... /status counts it pending" sh -c "curl -s $LURL/status | grep -q '\"orders_pending\": 1'"
mv "$W/live.away" "$W/live"
mkorder ord-after-503 涉嫌诈骗 '["bad7.example.cn"]'
add ord-after-503
t_eq "the directory back: the next order is accepted" "$?" 0
t_check "... in force" in_force ord-after-503
t_eq "... published with the pending one (6 orders)" "$(ocount)" 6
t_check "... nothing pending" sh -c "curl -s $LURL/status | grep -q '\"orders_pending\": 0'"

# ------------------------------------------------------------ a bad journal entry
# an older loader journaled an order over the limits: at start it is
# quarantined, the loader starts and the others stay in force
loader_stop
mkorder ord-old-big "$big" '["bad4.example.cn"]'
"$ICPGUARD" order sign "$W/ord-old-big.json" --key "$W/miit.key" | tr -d '\n' >"$W/old.env"
{
	printf '{"received_ns":%s000000000,"envelope":' "$(date +%s)"
	cat "$W/old.env"
	printf '}\n'
} >>"$W/state/orders.journal"
: >"$W/daemon.log"
loader_start
t_eq "a journal with an entry over the limits: the loader starts" "$?" 0
sleep 0.3
t_check "... a log line quarantines it" grep -q 'journal entry quarantined.*reason.*at most 4096' "$W/daemon.log"
t_check "... copied to quarantine/orders.jsonl" grep -q ord-old-big "$W/state/quarantine/orders.jsonl"
t_check "... /status counts it" sh -c "curl -s $LURL/status | grep -q '\"orders_quarantined\": 1'"
t_eq "... the other orders stay in force" "$(curl -s "$LURL/orders" | grep -o '"id":"ord-[a-z0-9-]*"' | sort | tr '\n' ' ')" \
	'"id":"ord-503" "id":"ord-after-503" "id":"ord-front" "id":"ord-max" "id":"ord-ok-1" "id":"ord-ok-2" '
mkorder ord-ok-3 涉嫌诈骗 '["bad5.example.cn"]'
add ord-ok-3
t_eq "a new order after the restart: accepted" "$?" 0
t_check "... in force" in_force ord-ok-3
t_eq "... published with the others" "$(ocount)" 7

t_done
