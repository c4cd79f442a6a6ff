#!/bin/sh
# tests/tools/registrar.sh: `icpguard registrar audit` on a small snapshot
# (TAP).  Checks each finding kind, that filed and other registrars'
# domains are not listed, CSV output and the exit codes.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
IG=$top_builddir/tools/icpguard
w=$(mktemp -d /tmp/icpguard-reg.XXXXXX)
trap 'rm -rf "$w"' EXIT
n=0 fails=0
t() { # t DESC COMMAND...: ok when the command succeeds
	d=$1; shift
	n=$((n + 1))
	if "$@" >/dev/null 2>&1; then echo "ok $n - $d"; else echo "not ok $n - $d"; fails=$((fails + 1)); fi
}
echo "1..10"
mkdir "$w/src"
printf 'cn\ncom\n' > "$w/src/tlds.txt"
cat > "$w/src/filings.jsonl" <<'J'
{"domain":"filedfwd.cn","number":"京ICP备16020626号-1"}
{"domain":"gone.cn","number":"京ICP备16020626号-2","status":"cancelled"}
J
printf '{"name":"parkedbad.cn","reason":"fraud","source":"CNCERT"}\n' > "$w/src/blacklist.jsonl"
printf '{"id":"ord-r-1","doc_no":"工信厅信管函〔2022〕65号","unit":"工业和信息化部","reason":"涉嫌诈骗","targets":["ordered.cn"],"effective":"2022-01-01"}\n' > "$w/src/orders.jsonl"
cat > "$w/src/registrars.jsonl" <<'J'
{"id":"reg-a","name":"A","endpoint_ranges":["127.0.30.0/24"],"endpoint_hosts":["fwd.reg-a.cn"]}
{"id":"reg-b","name":"B"}
J
cat > "$w/src/regdomains.jsonl" <<'J'
{"domain":"unfiledfwd.cn","registrar":"reg-a","forwarding":true}
{"domain":"unfiledpark.com","registrar":"reg-a","parking":true}
{"domain":"filedfwd.cn","registrar":"reg-a","forwarding":true}
{"domain":"gone.cn","registrar":"reg-a","parking":true}
{"domain":"plain.cn","registrar":"reg-a"}
{"domain":"parkedbad.cn","registrar":"reg-a","parking":true}
{"domain":"ordered.cn","registrar":"reg-a"}
{"domain":"otherfwd.cn","registrar":"reg-b","forwarding":true}
J
"$IG" build --quiet --source "$w/src" --out "$w/s.mdb" || { echo "Bail out! build failed"; exit 1; }
"$IG" registrar audit --registrar reg-a --snapshot "$w/s.mdb" > "$w/out.jsonl" 2>/dev/null
rc=$?
t "exit 1 when there are findings" test "$rc" = 1
t "unfiled forwarding listed" grep -q '"domain":"unfiledfwd.cn","issue":"unfiled-forwarding"' "$w/out.jsonl"
t "unfiled parking listed" grep -q '"domain":"unfiledpark.com","issue":"unfiled-parking"' "$w/out.jsonl"
t "cancelled filing with parking listed" grep -q '"domain":"gone.cn","issue":"unfiled-parking"' "$w/out.jsonl"
t "blacklisted parked domain listed as blacklist" grep -q '"domain":"parkedbad.cn","issue":"blacklist"' "$w/out.jsonl"
t "ordered domain listed with its document number" grep -q '"domain":"ordered.cn","issue":"order".*"document":"工信厅信管函〔2022〕65号"' "$w/out.jsonl"
t "filed forwarded domain and unfiled domain without services not listed" sh -c "! grep -qE '\"domain\":\"(filedfwd|plain).cn' '$w/out.jsonl'"
t "other registrar's domain not listed" sh -c "! grep -q otherfwd '$w/out.jsonl'"
"$IG" registrar audit --csv --registrar reg-a --snapshot "$w/s.mdb" > "$w/out.csv" 2>/dev/null
t "CSV has a header and five rows" sh -c "head -1 '$w/out.csv' | grep -q '^registrar,domain,issue' && test \$(wc -l < '$w/out.csv') = 6"
"$IG" registrar audit --snapshot "$w/s.mdb" >/dev/null 2>&1
t "missing --registrar is a usage error (2)" test $? = 2
[ $fails = 0 ]
