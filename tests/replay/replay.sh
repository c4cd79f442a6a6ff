#!/bin/sh
# tests/replay/replay.sh: Unbound's own regression suite with the module in
# the stack (TAP).
#
# Every replay file of the Unbound source tree (testdata/*.rpl, run by
# testbound, built from the same configured tree as the dynlib Unbound by
# tools/unbound-build) runs three times: without the module, as Unbound's
# own `make test` runs it, and with the module put between the validator
# and the iterator ("validator dynlib iterator"), once over an empty
# snapshot (every name unfiled, nothing blocked: no domestic ranges) and
# once over the sample snapshot (data/sample: filings, blacklist, orders,
# 335 domestic ranges).  A file that passes without the module must pass
# with it: testbound compares every reply and, where the file says so,
# every upstream query (CHECK_OUT_QUERY) with what the file expects.
#
# Files the module cannot run in are reported as skipped, each with its
# reason: a module-config without a validator (the module refuses to start
# there, docs/module.md), and files that fail without the module too.
# Over the sample snapshot a file in which the module blocked a name (its
# log says which) cannot expect Unbound's answer: it is skipped with that
# name, and must still not crash.
#
# Env: IG_REPLAY_FILES (a list of .rpl files instead of all of them),
#      IG_REPLAY_JOBS (parallel runs, default the number of CPUs).
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
src=${ICPGUARD_BUILD_DIR:-$top_srcdir/build}/unbound/src
tb=$src/testbound
so=$top_builddir/module/.libs/icpguard.so
icpguard=$top_builddir/tools/icpguard

skip_all() { echo "1..0 # SKIP $*"; exit 0; }
[ -x "$tb" ] || skip_all "no testbound at $tb (tools/unbound-build builds it)"
[ -f "$so" ] || skip_all "no module at $so (configure found no Unbound source tree)"
[ -x "$icpguard" ] || skip_all "no icpguard tool at $icpguard"

files=${IG_REPLAY_FILES:-$(ls "$src"/testdata/*.rpl)}
jobs=${IG_REPLAY_JOBS:-$(nproc 2>/dev/null || echo 2)}

# the module-config a file runs with: its own (or Unbound's default),
# "dynlib" put in front of the iterator; empty when there is no validator
# before the iterator
module_config() {
	_mc=$(sed -n '/CONFIG_END/q; s/^[[:space:]]*module-config:[[:space:]]*"\(.*\)".*/\1/p' "$1" | tail -1)
	[ -n "$_mc" ] || _mc="validator iterator"
	case " $_mc " in
	*" validator "*"iterator "*)
		echo "$_mc" | sed 's/\([[:space:]]\)iterator$/\1dynlib iterator/; s/^iterator$/dynlib iterator/' ;;
	*) echo "" ;;
	esac
}

# run_one FILE: all three runs of one file, results in $work/out/NAME.*
run_one() {
	f=$1
	n=$(basename "$f" .rpl)
	o=$work/out/$n
	"$tb" -p "$f" -o -vv >"$o.plain.log" 2>&1
	echo $? >"$o.plain.rc"
	mc=$(module_config "$f")
	if [ -z "$mc" ]; then
		echo "module-config \"$(sed -n '/CONFIG_END/q; s/^[[:space:]]*module-config:[[:space:]]*"\(.*\)".*/\1/p' "$f" | tail -1)\" has no validator before the iterator (the module refuses it)" >"$o.na"
		return 0
	fi
	# the file with the module: our server: clause first (Unbound takes
	# several), the file's own module-config dropped
	{
		printf 'server:\n\tmodule-config: "%s"\ndynlib:\n\tdynlib-file: "%s"\n' "$mc" "$so"
		awk '/CONFIG_END/ { done = 1 } !done && /^[[:space:]]*module-config:/ { next } { print }' "$f"
	} >"$o.mod.rpl"
	for s in empty sample; do
		if [ -n "${IG_ASAN_DIR:-}" ]; then
			# the module built with AddressSanitizer (tools/check):
			# its runtime preloaded into the uninstrumented testbound,
			# reports collected for tools/check (testbound's own
			# allocations are not the module's: no leak check here)
			mkdir -p "$IG_ASAN_DIR"
			LD_PRELOAD=$(${CC:-gcc} -print-file-name=libasan.so) \
			ASAN_OPTIONS="log_path=$IG_ASAN_DIR/testbound:detect_leaks=0" \
			ICPGUARD_CONF=$work/$s.conf "$tb" -p "$o.mod.rpl" -o -vv >"$o.$s.log" 2>&1
		else
			ICPGUARD_CONF=$work/$s.conf "$tb" -p "$o.mod.rpl" -o -vv >"$o.$s.log" 2>&1
		fi
		echo $? >"$o.$s.rc"
	done
}

if [ "${1:-}" = --one ]; then
	# internal: xargs calls this script once per file, in the parent's
	# work directory (before: each call made and left a directory of its
	# own and built both snapshots again)
	work=$2
	run_one "$3"
	exit 0
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/icpguard-replay.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/empty-src" "$work/out"
"$icpguard" build --source "$work/empty-src" --out "$work/empty.mdb" >"$work/build.log" 2>&1 &&
	"$icpguard" build --source "$top_srcdir/data/sample" --out "$work/sample.mdb" >>"$work/build.log" 2>&1 ||
	{ echo "Bail out! icpguard build failed: $(tail -3 "$work/build.log")"; exit 1; }
for s in empty sample; do
	cat >"$work/$s.conf" <<EOF
snapshot: $work/$s.mdb
fail-open: no
log-blocks: yes
mode: enforce
EOF
done


echo "# replay: $(echo "$files" | wc -w) files, $jobs at a time, testbound $tb" >&2
export top_srcdir top_builddir
[ -z "${ICPGUARD_BUILD_DIR:-}" ] || export ICPGUARD_BUILD_DIR
[ -z "${IG_ASAN_DIR:-}" ] || export IG_ASAN_DIR
printf '%s\n' $files | xargs -P "$jobs" -n 1 sh "$0" --one "$work"

n=0 plain_fail=0 na=0 blocked=0 diff=0 pass=0
for f in $files; do
	b=$(basename "$f" .rpl)
	o=$work/out/$b
	if [ "$(cat "$o.plain.rc" 2>/dev/null)" != 0 ]; then
		n=$((n + 1)); plain_fail=$((plain_fail + 1))
		echo "ok $n - $b # SKIP fails without the module too: $(grep -m1 -iE 'error|fail' "$o.plain.log" | cut -c1-120)"
		continue
	fi
	if [ -f "$o.na" ]; then
		n=$((n + 1)); na=$((na + 1))
		echo "ok $n - $b # SKIP $(cat "$o.na")"
		continue
	fi
	for s in empty sample; do
		n=$((n + 1))
		rc=$(cat "$o.$s.rc" 2>/dev/null)
		if ! grep -q 'icpguard: started' "$o.$s.log"; then
			diff=$((diff + 1))
			echo "not ok $n - $b with the module, $s snapshot: the module did not start (testbound status $rc)"
			grep -E 'icpguard|error' "$o.$s.log" | tail -5 | sed 's/^/# /'
			continue
		fi
		if [ "$rc" = 0 ]; then
			pass=$((pass + 1))
			echo "ok $n - $b with the module, $s snapshot: same as without"
			continue
		fi
		blk=$(grep -m1 'icpguard: block ' "$o.$s.log" | sed 's/.*icpguard: block //' | cut -c1-100)
		if [ "$s" = sample ] && [ -n "$blk" ] && [ "$rc" -lt 128 ]; then
			blocked=$((blocked + 1))
			echo "ok $n - $b with the module, $s snapshot # SKIP the sample policy blocks a name of the file: $blk"
			continue
		fi
		diff=$((diff + 1))
		echo "not ok $n - $b with the module, $s snapshot: testbound status $rc (passes without the module)"
		grep -E 'icpguard|FAILED|failed|error|mismatch|Assertion' "$o.$s.log" | tail -15 | sed 's/^/# /'
	done
done
echo "1..$n"
echo "# replay: $pass runs same as without the module, $diff differ; skipped: $na files without a validator, $plain_fail failing without the module, $blocked runs where the sample policy blocks a name" >&2
exit 0
