#!/bin/sh
# tests/audit/convert.sh: `icpguard audit` and `icpguard report monthly` on
# a capture written by tests/audit/mkcapture (libfstrm's file writer, the
# records of tests/audit/fixture.c) (TAP).
#
# Every filter and its edges, JSON lines and CSV, client truncation,
# standard input, exit codes 0/1/2, corrupt input (truncated file, a frame
# that is not protobuf, another content type, empty and missing files)
# reported with the file and frame number; a third-party reader
# (dnstap-ldns) reads the same capture; the monthly report against a
# snapshot built from tests/audit/policy (month edges in Beijing time,
# monitor records not counted, an order without queries counted 0, an
# order absent from the snapshot).  No root needed.
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
IG=$top_builddir/tools/icpguard
MK=$top_builddir/tests/audit/mkcapture

N=0
FAILS=0
ok() { N=$((N + 1)); echo "ok $N - $*"; }
notok() { N=$((N + 1)); FAILS=$((FAILS + 1)); echo "not ok $N - $*"; }
diag() { printf '%s\n' "$@" | sed 's/^/# /'; }
check() {
	# check STATUS DESC [WHY...]
	_st=$1 _d=$2
	shift 2
	if [ "$_st" = 0 ]; then ok "$_d"; else notok "$_d"; [ $# -eq 0 ] || diag "$@"; fi
}

for _f in "$IG" "$MK"; do
	[ -x "$_f" ] || { echo "1..0 # SKIP $_f not built"; exit 0; }
done
W=$(mktemp -d "${TMPDIR:-/tmp}/icpguard-audit.XXXXXX") || { echo "Bail out! mktemp"; exit 1; }
trap 'if [ "$FAILS" = 0 ] && [ "${IG_KEEP:-0}" != 1 ]; then rm -rf "$W"; else diag "work directory kept: $W"; fi' EXIT
CAP=$W/cap.fstrm
"$MK" "$CAP" || { echo "Bail out! mkcapture failed"; exit 1; }

run() {
	# run ARGS...: icpguard with output in $W/out, errors in $W/err, exit in $RC
	"$IG" "$@" >"$W/out" 2>"$W/err"
	RC=$?
}
lines() { wc -l <"$W/out" | tr -d ' '; }
expect_lines() {
	# expect_lines N RC DESC: output lines and exit code
	_l=$(lines)
	[ "$_l" = "$1" ] && [ "$RC" = "$2" ]
	check $? "$3 ($1 lines, exit $2)" "got $_l lines, exit $RC" "$(cat "$W/err")" "$(head -20 "$W/out")"
}
has() {
	# has REGEX DESC: some output line matches (fixed string)
	grep -qF -- "$1" "$W/out"
	check $? "$2" "no line with: $1" "$(head -20 "$W/out")"
}
err_has() {
	grep -qF -- "$1" "$W/err"
	check $? "$2" "stderr lacks: $1" "stderr: $(cat "$W/err")"
}

# ---------------------------------------------------------------- conversion
run audit "$CAP"
expect_lines 13 0 "all records as JSON lines"
has '{"time":"2024-05-01T00:00:00.000000+08:00","unix":1714492800.000000,"identity":"test-resolver","client":"10.1.2.3","port":5353,"protocol":"udp","qname":"www.site-a.cn.","qtype":"A","rcode":"NXDOMAIN","reason":"order","id":"ord-a","doc_no":"工信厅信管函〔2024〕1号","match":"site-a.cn.","action":"NXDOMAIN","snapshot":"7","mode":"enforce","policy":"icpguard","message":"CR"}' \
	"record 1: every field (Beijing time, order, document number, matched name, action, snapshot)"
has '"client":"2001:db8:1:2::5","port":40000,"protocol":"tcp","qname":"www.site-b.com.cn."' "IPv6 client over TCP"
has '"qname":"www.filed.cn.","qtype":"A","rcode":"NOERROR","reason":null,"id":null,"doc_no":null,"match":null,"action":null,"snapshot":null,"mode":null,"policy":null' \
	"a sampled plain answer has null policy fields"
has '"reason":"order","id":"ord-x","doc_no":"皖通信安简函〔2022〕83号","match":"other.cn.","action":"NXDOMAIN","snapshot":null,"mode":"enforce"' \
	"another writer: reason, id and document number from Policy.rule"
has '"qname":"www.site-a.cn.","qtype":"A","rcode":"NXDOMAIN"' "upper case on the wire is printed in lower case"
has '"mode":"monitor","policy":"icpguard"' "monitor-mode record"
has '"qtype":"AAAA"' "AAAA question"

if command -v dnstap-ldns >/dev/null 2>&1; then
	_n=$(dnstap-ldns -r "$CAP" 2>"$W/err" | grep -c ' CR ')
	[ "$_n" = 13 ]
	check $? "dnstap-ldns (third-party reader) reads 13 CR records from the capture" "got $_n" "$(cat "$W/err")"
else
	ok "# SKIP dnstap-ldns not installed"
fi

run audit --csv "$CAP"
expect_lines 14 0 "CSV: a header and 13 rows"
has 'time,unix,identity,client,port,protocol,qname,qtype,rcode,reason,id,doc_no,match,action,snapshot,mode,policy,message' "CSV header"
has '2024-05-01T00:00:00.000000+08:00,1714492800.000000,test-resolver,10.1.2.3,5353,udp,www.site-a.cn.,A,NXDOMAIN,order,ord-a,工信厅信管函〔2024〕1号,site-a.cn.,NXDOMAIN,7,enforce,icpguard,CR' "CSV row of record 1"

# ---------------------------------------------------------------- filters
run audit --from 2024-05-01 --to 2024-06-01 "$CAP"
expect_lines 11 0 "--from/--to: May in Beijing time (the first second in, the first of June out)"
run audit --from 2024-05-31T23:59:59 --to 2024-06-01T00:00:00+08:00 "$CAP"
expect_lines 1 0 "--from/--to with ISO times: one second"
has '"qname":"x.site-d.cn."' "... the record of 23:59:59"
run audit --from 2024-04-30T16:00:00Z --to 1714492801 "$CAP"
expect_lines 1 0 "--from in UTC (Z), --to in unix seconds"
run audit --reason order "$CAP"
expect_lines 9 0 "--reason order"
run audit --reason blacklist --reason NOFILING "$CAP"
expect_lines 2 0 "--reason twice (either; case-insensitive)"
run audit --order ord-a "$CAP"
expect_lines 7 0 "--order ord-a"
run audit --order ord-a --from 2024-05-01 --to 2024-06-01 --reason order "$CAP"
expect_lines 5 0 "--order with a time range (filters combine)"
run audit --client 10.1.2.0/30 "$CAP"
expect_lines 1 0 "--client 10.1.2.0/30"
run audit --client 2001:db8::/32 "$CAP"
expect_lines 1 0 "--client 2001:db8::/32"
run audit --client 10.1.2.0/30 --client 2001:db8::/32 "$CAP"
expect_lines 2 0 "--client twice"
run audit --client 10.0.0.0/8 "$CAP"
expect_lines 10 0 "--client 10.0.0.0/8"
run audit --client 192.168.7.9 "$CAP"
expect_lines 1 0 "--client one address"
run audit --suffix site-a.cn "$CAP"
expect_lines 3 0 "--suffix site-a.cn (two names and one in upper case on the wire)"
run audit --suffix A.CN "$CAP"
expect_lines 0 1 "--suffix a.cn matches no site-a.cn name (label boundary); exit 1"
run audit --suffix 公司.中国 "$CAP"
expect_lines 1 0 "--suffix with a Unicode name (IDN)"
has '"qname":"www.xn--55qx5d.xn--fiqs8s."' "... the A-label QNAME"
run audit --policy "$CAP"
expect_lines 12 0 "--policy drops the sampled plain answer"

# ---------------------------------------------------------------- privacy
run audit --truncate-client 24,48 "$CAP"
has '"client":"10.1.2.0","port":null' "--truncate-client 24: IPv4 /24, no port"
has '"client":"2001:db8:1::","port":null' "--truncate-client ,48: IPv6 /48, no port"
if grep -q '10\.1\.2\.3\|"port":[0-9]' "$W/out"; then notok "no full address or port left"; else ok "no full address or port left"; fi
run audit --csv --truncate-client 16 "$CAP"
has ',10.1.0.0,,udp,' "CSV --truncate-client 16: empty port column"

# ---------------------------------------------------------------- input
run audit - <"$CAP"
expect_lines 13 0 "'-' reads standard input"
run audit "$CAP" "$CAP"
expect_lines 26 0 "two files"
run audit --order nope "$CAP"
expect_lines 0 1 "nothing matched: exit 1"
run audit --help
[ "$RC" = 0 ] && grep -q -- '--truncate-client' "$W/out"
check $? "--help: exit 0, options listed"
for _bad in "--from yesterday" "--to 2024-13-01" "--truncate-client 33" "--truncate-client 24,200" "--client 10.0.0.1/8" "--suffix bad..name" "--bogus"; do
	# shellcheck disable=SC2086
	run audit $_bad "$CAP"
	[ "$RC" = 2 ] && [ -s "$W/err" ] && [ ! -s "$W/out" ]
	check $? "usage error '$_bad': exit 2 with a message" "exit $RC: $(cat "$W/err")"
done
run audit
[ "$RC" = 2 ]
check $? "no file: exit 2"
run audit --from 2024-06-01 --to 2024-05-01 "$CAP"
[ "$RC" = 2 ]
check $? "--to before --from: exit 2"

# corrupt and foreign input
_size=$(wc -c <"$CAP")
head -c $((_size - 30)) "$CAP" >"$W/trunc.fstrm"
run audit "$W/trunc.fstrm"
expect_lines 12 2 "truncated file: the records before the damage, exit 2"
err_has "$W/trunc.fstrm: frame 13 (byte offset " "... the message names the file and frame 13"
err_has "truncated" "... and says truncated"
"$MK" "$W/garbage.fstrm" --garbage 3
run audit "$W/garbage.fstrm"
expect_lines 13 2 "a frame that is not protobuf is skipped, exit 2"
err_has "$W/garbage.fstrm: frame 3 (byte offset " "... named by file and frame number"
err_has "not a dnstap protobuf message" "... with the reason"
# a frame length over the reader's limit (256 KiB) after two good frames:
# libfstrm says success without setting the frame (issue 17 finding 7:
# uninitialized pointers reached the decoder)
be32() { od -An -tu1 -j "$2" -N4 "$1" | awk '{print ((($1 * 256 + $2) * 256) + $3) * 256 + $4}'; }
_o=$(( 8 + $(be32 "$CAP" 4) ))
_o=$(( _o + 4 + $(be32 "$CAP" $_o) ))
_o=$(( _o + 4 + $(be32 "$CAP" $_o) ))
{ head -c $_o "$CAP"; printf '\000\005\000\000'; head -c 64 /dev/zero; } >"$W/long.fstrm"
run audit "$W/long.fstrm"
expect_lines 2 2 "a frame length over the limit: the records before it, exit 2"
err_has "$W/long.fstrm: frame 3 (byte offset $_o): corrupt (a frame length over the limit" "... names the frame, its offset and the reason"
"$MK" "$W/other.fstrm" --content-type text/plain
run audit "$W/other.fstrm"
expect_lines 0 2 "another content type: exit 2"
err_has "content type is 'text/plain', not protobuf:dnstap.Dnstap" "... names both content types"
: >"$W/empty.fstrm"
run audit "$W/empty.fstrm"
expect_lines 0 2 "empty file: exit 2"
err_has "$W/empty.fstrm: empty file" "... says empty"
printf 'hello world, not frame streams\n' >"$W/text.fstrm"
run audit "$W/text.fstrm"
expect_lines 0 2 "a text file: exit 2"
run audit "$W/missing.fstrm" "$CAP"
expect_lines 13 2 "a missing file and a good one: the good one printed, exit 2"
err_has "$W/missing.fstrm: cannot open" "... names the missing file"
run audit - <"$W/trunc.fstrm"
err_has "(stdin): frame 13" "damage on standard input is named (stdin)"

# ---------------------------------------------------------------- report
SNAP=$W/snapshot.mdb
if ! "$IG" build --quiet --source "$top_srcdir/tests/audit/policy" --out "$SNAP" --serial 7 >"$W/build.log" 2>&1; then
	notok "build the report snapshot"; diag "$(cat "$W/build.log")"
else
	ok "build the report snapshot (tests/audit/policy)"
fi
run report monthly --month 2024-05 --csv --snapshot "$SNAP" "$CAP"
cat >"$W/want.csv" <<'CSV'
序号,来文单位,违规原因,函号,数量,指令编号,拦截次数
1,安徽省通信管理局,赌博网站,皖通信安简函〔2024〕83号,1,ord-d,1
2,工业和信息化部,违法违规网站,工信厅信管函〔2024〕1号,2,ord-a,4
3,北京市通信管理局,涉诈网站,京通信管函〔2024〕12号,0,ord-b,0
4,,,皖通信安简函〔2022〕83号,1,ord-x,1
CSV
cmp -s "$W/out" "$W/want.csv" && [ "$RC" = 0 ]
check $? "report 2024-05 CSV: per order unit, reason, document number, sites; month edges in Beijing time; monitor not counted; ord-b in force without queries: 0; ord-c expired and ord-e not yet effective: absent" \
	"exit $RC; diff:" "$(diff "$W/want.csv" "$W/out")" "$(cat "$W/err")"
err_has "order 'ord-x' of the audit records is not in the snapshot" "an order missing from the snapshot is reported on stderr"
run report monthly --month 2024-05 --snapshot "$SNAP" "$CAP"
has '| 2 | 工业和信息化部 | 违法违规网站 | 工信厅信管函〔2024〕1号 | 2 | ord-a | 4 |' "report Markdown: the ord-a row"
has '| 序号 | 来文单位 | 违规原因 | 函号 | 数量 | 指令编号 | 拦截次数 |' "report Markdown: Chinese column headers"
has '合计：指令 4 条，关闭网站 4 个，拦截应答 6 次。' "report Markdown: totals"
has '另有监测模式记录 1 条未计入' "report Markdown: monitor records noted, not counted"
run report monthly --month 2024-06 --csv --snapshot "$SNAP" "$CAP"
cat >"$W/want6.csv" <<'CSV'
序号,来文单位,违规原因,函号,数量,指令编号,拦截次数
1,安徽省通信管理局,赌博网站,皖通信安简函〔2024〕83号,0,ord-d,0
2,工业和信息化部,违法违规网站,工信厅信管函〔2024〕1号,1,ord-a,1
3,北京市通信管理局,涉诈网站,京通信管函〔2024〕12号,0,ord-b,0
4,工业和信息化部,违法违规网站,工信厅信管函〔2024〕9号,0,ord-e,0
CSV
cmp -s "$W/out" "$W/want6.csv" && [ "$RC" = 0 ]
check $? "report 2024-06 CSV: the first second of June counted, ord-e in force from 06-01" "diff:" "$(diff "$W/want6.csv" "$W/out")"
run report monthly --month 2024-05 --csv --bom --no-snapshot - <"$CAP"
head -c 3 "$W/out" | od -An -tx1 | grep -q 'ef bb bf' && grep -q '^1,,,工信厅信管函〔2024〕1号,2,ord-a,4$' "$W/out"
check $? "report --no-snapshot from standard input, --bom" "$(cat "$W/out")"
run report monthly --month 2024-05 --csv --snapshot "$SNAP" "$W/trunc.fstrm"
[ "$RC" = 2 ] && [ ! -s "$W/out" ]
check $? "report on a truncated capture: exit 2, no report" "exit $RC"
run report monthly --month 2024-13 --snapshot "$SNAP" "$CAP"
[ "$RC" = 2 ]
check $? "report --month 2024-13: exit 2"
run report monthly --snapshot "$SNAP" "$CAP"
[ "$RC" = 2 ]
check $? "report without --month: exit 2"
run report monthly --month 2024-05 --snapshot "$W/none.mdb" "$CAP"
[ "$RC" = 2 ] && [ ! -s "$W/out" ]
check $? "report with a missing snapshot: exit 2" "$(cat "$W/err")"
run report weekly --month 2024-05 "$CAP"
[ "$RC" = 2 ]
check $? "unknown report: exit 2"

echo "1..$N"
[ "$FAILS" = 0 ] || diag "$FAILS of $N checks failed"
exit 0
