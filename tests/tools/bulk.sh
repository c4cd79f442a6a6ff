#!/bin/sh
# tests/tools/bulk.sh: `icpguard build` reads the filings, blacklist,
# exemptions and TLDs in parallel parts and writes them sorted by name key
# (issue 20); what it writes and what it reports must not change (TAP):
#  - data/sample gives the content hash the unsorted builder gave (without
#    the public suffix list in the snapshot, so that the installed list does
#    not change the hash), with one thread or four, and with every source
#    file's rows in reverse order;
#  - a filings file large enough to be read in parts: every refused row is
#    named FILE:LINE: field: reason with its own line, in line order
#    ('filed twice' included), the quarantine report says the same, and one
#    thread or three give the same report and the same snapshot;
#  - a CSV blacklist cell that is not UTF-8 is refused with its line.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
IG=$top_builddir/tools/icpguard
[ -x "$IG" ] || { echo "1..0 # SKIP $IG not built"; exit 0; }
w=$(mktemp -d /tmp/icpguard-bulk.XXXXXX)
trap 'rm -rf "$w"' EXIT
n=0 fails=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); fails=$((fails + 1)); echo "not ok $n - $1"; }
t() { # t DESC COMMAND...: ok when the command succeeds
	d=$1; shift
	if "$@" >/dev/null 2>&1; then ok "$d"; else notok "$d"; fi
}
# no public suffix list in the snapshot: the hash is the data's alone
ICPGUARD_PSL_FILE=/nonexistent
export ICPGUARD_PSL_FILE
hash() { "$IG" info "$1" 2>/dev/null | awk '$1 == "hash" { print $2; exit }'; }

# ------------------------------------------------------------ data/sample
# The content hash the unsorted builder (before issue 20) gave for
# data/sample without the public suffix list.  If data/sample changes,
# take the new value from that builder (git worktree of commit 60eff5c^).
sample_hash=e01200abc9a287aadf656cf149ff9fe966b2d123e60c136ab8e3c82076f5fd76
"$IG" build --source "$top_srcdir/data/sample" --out "$w/s1.mdb" --quiet \
	--threads 1 2>"$w/err1"
t "sample: built with one thread (exit 0)" test $? = 0
h1=$(hash "$w/s1.mdb")
if [ "$h1" = "$sample_hash" ]; then
	ok "sample: the content hash of the unsorted builder"
else
	notok "sample: the content hash of the unsorted builder"
	echo "# got $h1, want $sample_hash"
fi
"$IG" build --source "$top_srcdir/data/sample" --out "$w/s4.mdb" --quiet \
	--threads 4 2>/dev/null
t "sample: four threads, the same hash" test "$(hash "$w/s4.mdb")" = "$h1"
mkdir "$w/rev"
for f in "$top_srcdir"/data/sample/*; do
	b=$(basename "$f")
	case $b in
	*.jsonl) tac "$f" >"$w/rev/$b" ;;
	*.csv) { head -1 "$f"; tail -n +2 "$f" | tac; } >"$w/rev/$b" ;;
	*) cp "$f" "$w/rev/$b" ;;
	esac
done
"$IG" build --source "$w/rev" --out "$w/rev.mdb" --quiet 2>/dev/null
t "sample: rows in reverse order, the same hash" \
	test "$(hash "$w/rev.mdb")" = "$h1"

# ------------------------------------------------------------ parts
# 30,000 filings (about 5 MB: read in parts), bad rows at known lines
mkdir "$w/p"
printf 'cn\ncom\n' >"$w/p/tlds.txt"
awk 'BEGIN {
	for(i = 1; i <= 30000; i++) {
		if(i == 7) print "{\"domain\":\"bad..cn\",\"number\":\"京ICP备16020626号-1\"}"
		else if(i == 15001) print "{\"domain\":\"ok15001.cn\",\"number\":\"ICP-123\"}"
		else if(i == 15002) print "# a comment line"
		else if(i == 22222) print "{\"domain\":\"first3.cn\",\"number\":\"京ICP备16020626号-2\"}"
		else if(i == 29999) print "{\"domain\":\"bad-json.cn\""
		else if(i == 30000) print "{\"domain\":\"late.org\",\"number\":\"京ICP备16020626号-1\"}"
		else printf "{\"domain\":\"first%d.cn\",\"number\":\"京ICP备%08d号-1\",\"subject\":\"某某科技有限公司某某分公司第%d号\",\"subject_type\":\"enterprise\",\"province\":\"京\",\"provider\":\"示例云计算有限公司\",\"approved\":\"2020-01-01\"}\n", i, i, i
	}
}' >"$w/p/filings.jsonl"
{
	echo 'name,subtree,reason'
	echo 'sub.cn,true,fraud'
	printf 'exact.cn,false\377,fraud\n'
} >"$w/p/blacklist.csv"
for th in 1 3; do
	"$IG" build --source "$w/p" --out "$w/p$th.mdb" --quiet --threads $th \
		--quarantine "$w/q$th" 2>"$w/e$th"
	echo $? >"$w/rc$th"
done
f=$w/p/filings.jsonl
cat >"$w/want" <<EOF
$f:7: domain: 'bad..cn': empty label
$f:15001: number: 'ICP-123' is not a filing number (like 京ICP备16020626号-8)
$f:22222: domain: 'first3.cn' filed twice (first row kept)
$f:29999: bad JSON at column 23: '}' expected near end of file
$f:30000: domain: 'late.org': TLD not on the filable list
$w/p/blacklist.csv:3: subtree: not valid UTF-8 (the cell cannot be read)
EOF
t "parts: exit 1 (rows refused)" test "$(cat "$w/rc3")" = 1
if cmp -s "$w/e3" "$w/want"; then
	ok "parts: every refusal with FILE:LINE: field: reason, in line order"
else
	notok "parts: every refusal with FILE:LINE: field: reason, in line order"
	diff "$w/want" "$w/e3" | sed 's/^/# /' | head -20
fi
t "parts: one thread reports the same" cmp "$w/e1" "$w/e3"
t "parts: the quarantine report names the same files and lines" sh -c \
	"test \$(grep -c '\"line\"' '$w/q3') = 6 &&
	 grep -q '\"line\": *22222' '$w/q3' && grep -q '\"line\": *15001' '$w/q3'"
t "parts: one thread, the same quarantine report" cmp "$w/q1" "$w/q3"
t "parts: one thread, the same snapshot" \
	test "$(hash "$w/p1.mdb")" = "$(hash "$w/p3.mdb")"
t "parts: 29,994 filings (30,000 lines, a comment, five refused)" test \
	"$("$IG" info "$w/p3.mdb" | awk '$1 == "count.filing" { print $2; exit }')" = 29994
t "parts: first3.cn keeps its first row's number" sh -c \
	"'$IG' explain --snapshot '$w/p3.mdb' --scope all first3.cn | grep -q 'ICP备00000003号-1'"

echo "1..$n"
[ $fails = 0 ]
