#!/bin/sh
# tests/tools/sources.sh: source rows that must be refused at the source,
# by `icpguard feed` and `icpguard build` alike, with FILE:LINE: field:
# reason (TAP); issue 17 findings 4, 5 and 6:
#  - a record over a limit of lib/limits.h (a blacklist reason of 7 KB, a
#    filing subject of 1.6 KB, a registrar name of 600 bytes);
#  - a CSV cell that is not valid UTF-8 (status "cancelled\xff", subtree
#    "false\xff"): the row is refused, never loaded with the default;
#  - a tlds.txt line longer than the limit: refused with its line, not
#    split into a second entry, and later line numbers stay right.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
IG=$top_builddir/tools/icpguard
[ -x "$IG" ] || { echo "1..0 # SKIP $IG not built"; exit 0; }
w=$(mktemp -d /tmp/icpguard-src.XXXXXX)
trap 'rm -rf "$w"' EXIT
n=0 fails=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; }
t() { # t DESC COMMAND...: ok when the command succeeds
	d=$1; shift
	if "$@" >/dev/null 2>&1; then ok "$d"; else notok "$d"; fi
}
# has FILE PATTERN: FILE contains PATTERN (grep -E), else show FILE
has() {
	if grep -Eq "$2" "$1"; then return 0; fi
	sed 's/^/# /' "$1" | head -10
	return 1
}
"$IG" feed keygen "$w/k" >/dev/null 2>&1 || { echo "Bail out! keygen failed"; exit 1; }
feed() { # feed KIND SOURCE [options]: icpguard feed into $w/out; stderr in $w/err
	_k=$1 _s=$2
	shift 2
	"$IG" feed --kind "$_k" --source "$_s" --out "$w/out" --key "$w/k.key" \
		--quiet "$@" >/dev/null 2>"$w/err"
}
# build DIR: icpguard build of DIR; stderr in $w/err
build() { "$IG" build --source "$1" --out "$w/b.mdb" --quiet >/dev/null 2>"$w/err"; }
count() { "$IG" info "$w/b.mdb" 2>/dev/null | awk -v k="count.$1" '$1 == k { print $2 }'; }
rep() { head -c "$1" /dev/zero | tr '\0' "$2"; }

mkdir -p "$w/s"
printf 'cn\ncom\n' >"$w/s/tlds.txt"

# ------------------------------------------------------------ finding 4
{
	echo '{"name":"bad1.cn","reason":"fraud","source":"CNCERT"}'
	echo '{"name":"bad2.cn","reason":"fraud","source":"CNCERT"}'
	printf '{"name":"bad3.cn","reason":"%s","source":"CNCERT"}\n' "$(rep 7000 x)"
} >"$w/s/blacklist.jsonl"
feed blacklist "$w/s/blacklist.jsonl"
t "feed: a 7 KB blacklist reason: exit 1" test $? = 1
t "feed: ... FILE:LINE: reason: 7000 bytes, at most 1024" \
	has "$w/err" "^$w/s/blacklist.jsonl:3: reason: 7000 bytes, at most 1024$"
{
	echo '{"domain":"filed1.cn","number":"京ICP备16020626号-1","subject":"某公司"}'
	printf '{"domain":"filed2.cn","number":"京ICP备16020626号-2","subject":"%s"}\n' "$(rep 1600 s)"
} >"$w/s/filings.jsonl"
feed filings "$w/s/filings.jsonl" --tlds "$w/s/tlds.txt"
t "feed: a 1.6 KB filing subject: exit 1" test $? = 1
t "feed: ... FILE:LINE: subject: 1600 bytes, at most 512" \
	has "$w/err" "^$w/s/filings.jsonl:2: subject: 1600 bytes, at most 512$"
printf '{"id":"reg-a","name":"%s"}\n' "$(rep 600 n)" >"$w/s/registrars.jsonl"
: >"$w/s/regdomains.jsonl"
feed registrars "$w/s/registrars.jsonl" --regdomains "$w/s/regdomains.jsonl"
t "feed: a 600-byte registrar name: FILE:LINE: name: ..." \
	has "$w/err" "registrars.jsonl:1: name: 600 bytes, at most 512$"
build "$w/s"
t "build: the same rows refused with FILE:LINE: field: reason" sh -c \
	"grep -q 'blacklist.jsonl:3: reason: 7000 bytes, at most 1024' '$w/err' &&
	 grep -q 'filings.jsonl:2: subject: 1600 bytes, at most 512' '$w/err' &&
	 grep -q 'registrars.jsonl:1: name: 600 bytes, at most 512' '$w/err'"
t "build: the good rows are in the snapshot (2 blacklisted, 1 filing)" \
	test "$(count blacklist)/$(count filing)" = "2/1"
{
	echo '{"id":"ord-1","doc_no":"函1","unit":"局","reason":"涉嫌诈骗","targets":["x.cn"]}'
	printf '{"id":"ord-2","doc_no":"函2","unit":"局","reason":"%s","targets":["y.cn"]}\n' "$(rep 5000 r)"
} >"$w/s/orders.jsonl"
build "$w/s"
t "build: an order reason over 4096 bytes: orders.jsonl:2: reason: ..." \
	has "$w/err" "orders.jsonl:2: reason: 5000 bytes, at most 4096$"
t "build: ... the other order is in" test "$(count order)" = 1
rm -f "$w/s/orders.jsonl" "$w/s/registrars.jsonl" "$w/s/regdomains.jsonl"

# ------------------------------------------------------------ finding 5
rm -f "$w/s/filings.jsonl" "$w/s/blacklist.jsonl"
{
	echo 'domain,number,status'
	echo 'active1.cn,京ICP备16020626号-1,active'
	printf 'gone.cn,京ICP备16020626号-2,cancelled\377\n'
} >"$w/s/filings.csv"
feed filings "$w/s/filings.csv" --tlds "$w/s/tlds.txt"
t "feed: status 'cancelled\\xff' in CSV: exit 1" test $? = 1
t "feed: ... filings.csv:3: status: not valid UTF-8" \
	has "$w/err" "^$w/s/filings.csv:3: status: not valid UTF-8"
{
	echo 'name,subtree,reason'
	echo 'sub.cn,true,fraud'
	printf 'exact.cn,false\377,fraud\n'
} >"$w/s/blacklist.csv"
feed blacklist "$w/s/blacklist.csv"
t "feed: subtree 'false\\xff' in CSV: blacklist.csv:3: subtree: not valid UTF-8" \
	has "$w/err" "^$w/s/blacklist.csv:3: subtree: not valid UTF-8"
build "$w/s"
t "build: both rows refused with FILE:LINE: field" sh -c \
	"grep -q 'filings.csv:3: status: not valid UTF-8' '$w/err' &&
	 grep -q 'blacklist.csv:3: subtree: not valid UTF-8' '$w/err'"
t "build: gone.cn is not loaded as an active filing" \
	sh -c "! '$IG' explain --snapshot '$w/b.mdb' gone.cn 2>&1 | grep -q 'ICP备16020626号-2'"
t "build: exact.cn is not loaded as a subtree entry" test "$(count blacklist)" = 1
rm -f "$w/s/filings.csv" "$w/s/blacklist.csv"

# ------------------------------------------------------------ finding 6
{
	echo cn
	printf '%s\n' "$(rep 1100 a)top"
	echo '#'
	echo 'bad_label!'
	echo com
} >"$w/s/tlds.txt"
feed tlds "$w/s/tlds.txt"
t "feed: a 1103-byte tlds.txt line: exit 1" test $? = 1
t "feed: ... tlds.txt:2: tld: line of 1103 bytes, at most 1024" \
	has "$w/err" "^$w/s/tlds.txt:2: tld: line of 1103 bytes, at most 1024$"
t "feed: ... its tail is not a TLD of its own (one refusal for line 2)" \
	test "$(grep -c 'tlds.txt:[23]:' "$w/err")" = 1
t "feed: ... the next bad line keeps its number (tlds.txt:4)" \
	has "$w/err" "^$w/s/tlds.txt:4: tld: "
build "$w/s"
t "build: the same refusal, two TLDs in the snapshot" sh -c \
	"grep -q 'tlds.txt:2: tld: line of 1103 bytes' '$w/err' &&
	 grep -q 'tlds.txt:4: tld: ' '$w/err' && test \"\$('$IG' info '$w/b.mdb' |
	 awk '\$1 == \"count.tld\" { print \$2 }')\" = 2"
mkdir -p "$w/s2"
{
	echo cn
	printf '%s\n' "$(rep 520 a)top"
	echo com
} >"$w/s2/tlds.txt"
build "$w/s2"
t "build: a 523-byte line is read whole: one refusal, its tail is no TLD" sh -c \
	"grep -q 'tlds.txt:2: tld: ' '$w/err' && test \$(grep -c 'tlds.txt:' '$w/err') = 1 &&
	 test \"\$('$IG' info '$w/b.mdb' | awk '\$1 == \"count.tld\" { print \$2 }')\" = 2"

echo "1..$n"
[ $fails = 0 ]
