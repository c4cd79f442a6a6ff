#!/bin/sh
# tests/unit/sample_verdicts.sh - TAP test: the sample dataset's verdicts.
#
# Builds a snapshot from data/sample with `icpguard build` (which must
# accept every row) and checks each line of data/sample/expected.tsv,
#   NAME <TAB> ARGS <TAB> pass:REASON | block:REASON
# against `icpguard explain --json NAME ARGS` (ARGS "-" means none): the
# verdict, the reason and the exit code (0 pass, 1 block).
# Run by `make check` with top_srcdir and top_builddir set; by hand:
#   top_srcdir=. top_builddir=. tests/unit/sample_verdicts.sh
set -u
srcdir=${top_srcdir:-.}
builddir=${top_builddir:-.}
icpguard=$builddir/tools/icpguard
sample=$srcdir/data/sample
expected=$sample/expected.tsv
tab=$(printf '\t')

if [ ! -x "$icpguard" ]; then
	echo "1..0 # SKIP $icpguard not built"
	exit 0
fi
if [ ! -r "$expected" ]; then
	echo "Bail out! $expected missing"
	exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/icpguard-sample.XXXXXX") || {
	echo "Bail out! cannot make a temporary directory"
	exit 1
}
trap 'rm -rf "$tmp"' EXIT INT TERM
snap=$tmp/snapshot.mdb

# the plan: one test for the build, one per expected line
n=$(grep -v -e '^#' -e '^[[:space:]]*$' "$expected" | wc -l)
echo "1..$((n + 1))"

if "$icpguard" build --source "$sample" --out "$snap" --quiet \
	>"$tmp/build.out" 2>&1; then
	echo "ok 1 - icpguard build --source data/sample (no rejected rows)"
else
	echo "not ok 1 - icpguard build --source data/sample exited $?"
	sed 's/^/# /' "$tmp/build.out"
	i=1
	while [ $i -le "$n" ]; do
		i=$((i + 1))
		echo "not ok $i - no snapshot"
	done
	exit 1
fi

# explain's JSON is compact: "key":"value"
field() {
	sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p" "$tmp/out"
}

i=1
grep -v -e '^#' -e '^[[:space:]]*$' "$expected" |
while IFS="$tab" read -r name args want; do
	i=$((i + 1))
	[ "$args" = "-" ] && args=""
	# ARGS is a word list (names and addresses have no blanks)
	# shellcheck disable=SC2086
	"$icpguard" explain --snapshot "$snap" --json "$name" $args \
		>"$tmp/out" 2>"$tmp/err"
	rc=$?
	got="$(field verdict):$(field reason)"
	case $want in
	pass:*) want_rc=0 ;;
	block:*) want_rc=1 ;;
	*) want_rc=x ;;
	esac
	if [ "$got" = "$want" ] && [ "$rc" = "$want_rc" ]; then
		echo "ok $i - $name ${args:+$args }=> $want"
	else
		echo "not ok $i - $name ${args:+$args }=> $got (exit $rc), want $want"
		sed 's/^/# /' "$tmp/out" "$tmp/err"
	fi
done
