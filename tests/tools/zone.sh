#!/bin/sh
# tests/tools/zone.sh: `icpguard zone audit` on the Knot test's hosted zones
# (tests/knot/zones) over the integration policy (TAP): every blocked name
# with its reason, nothing filed or abroad listed, name server hosts and
# answers without addresses skipped, CSV, exit codes.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
IG=$top_builddir/tools/icpguard
Z=$top_srcdir/tests/knot/zones
"$IG" zone --help >/dev/null 2>&1 || { echo "1..0 # SKIP icpguard built without libzscanner (libknot-dev)"; exit 0; }
w=$(mktemp -d /tmp/icpguard-zone.XXXXXX)
trap 'rm -rf "$w"' EXIT
n=0
t() { # t DESC COMMAND...: ok when the command succeeds
	d=$1; shift
	n=$((n + 1))
	if "$@" >/dev/null 2>&1; then echo "ok $n - $d"; else echo "not ok $n - $d"; fi
}
echo "1..17"
"$IG" build --source "$top_srcdir/tests/integration/policy" --out "$w/s.mdb" >"$w/build.log" 2>&1 || { echo "Bail out! build failed"; exit 1; }
"$IG" zone audit --snapshot "$w/s.mdb" "$Z"/*.zone >"$w/out.jsonl" 2>"$w/err"
rc=$?
t "exit 1 when names are listed" test $rc = 1
has() { grep -q "\"name\":\"$1\",\"reason\":\"$2\"" "$w/out.jsonl"; }
t "www.unfiled-dom.cn: nofiling" has 'www.unfiled-dom.cn.' nofiling
t "the apex unfiled-dom.cn: nofiling" has 'unfiled-dom.cn.' nofiling
t "start.unfiled-dom.cn (in-zone chain): nofiling" has 'start.unfiled-dom.cn.' nofiling
t "v6.unfiled-dom.cn (AAAA): nofiling" has 'v6.unfiled-dom.cn.' nofiling
t "www.bad.cn: blacklist" has 'www.bad.cn.' blacklist
t "www.ordered.cn: order with its document number" grep -q '"name":"www.ordered.cn.","reason":"order","match":"ordered.cn.","record":"ord-it-1","document":"工信厅信管函〔2022〕65号"' "$w/out.jsonl"
t "www.fwd-demo.cn: redirect (registrar endpoint)" has 'www.fwd-demo.cn.' redirect
t "the IDN zone 未备案.中国: nofiling" has 'www.xn--srsv24atya.xn--fiqs8s.' nofiling
t "nothing filed or abroad listed" sh -c "! grep -q 'filed.cn.\"\\|unfiled-abroad\\|xn--srsw86a' '$w/out.jsonl'"
t "name server hosts not listed" sh -c "! grep -q '\"ns1\\.' '$w/out.jsonl'"
t "a name with only TXT is not listed" sh -c "! grep -q 'txt.unfiled-dom' '$w/out.jsonl'"
t "the EDE text is the modules' text" grep -q '"ede":"icpguard: blacklist bad.cn. snapshot [0-9]*"' "$w/out.jsonl"
"$IG" zone audit --snapshot "$w/s.mdb" --csv "$Z/bad.cn.zone" >"$w/out.csv"
t "CSV: header and one row" sh -c "head -1 '$w/out.csv' | grep -q '^name,reason,match,record,document,detail,ede,snapshot$' && [ \$(wc -l <'$w/out.csv') = 2 ]"
"$IG" zone audit --snapshot "$w/s.mdb" "$Z/filed.cn.zone" "$Z/unfiled-abroad.com.zone" >"$w/none" 2>&1
t "exit 0 and no output for clean zones" sh -c "[ $? = 0 ] && [ ! -s '$w/none' ]"
"$IG" zone audit --snapshot "$w/s.mdb" "$w/missing.zone" 2>"$w/err2"
t "a missing zone file: exit 2 naming it" sh -c "[ $? = 2 ] && grep -q missing.zone '$w/err2'"
printf '$ORIGIN x.cn.\n@ SOA a b 1 2 3 4 5\nwww IN A 300.1.1.1\n' >"$w/bad.zone"
"$IG" zone audit --snapshot "$w/s.mdb" "$w/bad.zone" 2>"$w/err3"
t "a bad record: exit 2 with file and line" sh -c "[ $? = 2 ] && grep -q 'bad.zone:[0-9]' '$w/err3'"
