#!/bin/sh
# tests/integration/transparency.sh: the module is invisible to allowed
# traffic (TAP).
#
# The same fresh names are asked of Unbound without the module
# ("validator iterator") and, after a restart with an empty cache, of
# Unbound with it ("validator dynlib iterator"), over a realistic snapshot
# (tests/integration/policy) in which none of them is blocked:
#   filed           x-N.load.filed.cn            (filed, domestic address)
#   unfiled-foreign x-N.fresh.unfiled-abroad.com (unfiled, foreign address)
#   alias-foreign   x-N.alias.unfiled-abroad.com (CNAME to a foreign name)
#   nonexistent     nx-N-icpguard.com            (NXDOMAIN from com.)
# Each name is asked twice.  Required, kind by kind: the same upstream
# queries counted at the NSD tree (first and second ask), the same answers,
# and the same message and RRset cache contents at the end (unbound-control
# dump_cache, TTLs left out).
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/integration/lib.sh"

ig_init transparency
ig_start_tree
ig_build_policy "$IG_POLICY_SRC" || { ig_diag "$(cat "$IG_WORK/build.log")"; ig_bail "icpguard build failed"; }
N=${IG_TRANSPARENCY_NAMES:-20}
KINDS="filed unfiled-foreign alias-foreign nonexistent"

kind_name() {
	# kind_name KIND I: the I-th fresh name of KIND
	case "$1" in
	filed) echo "x-$2.load.filed.cn" ;;
	unfiled-foreign) echo "x-$2.fresh.unfiled-abroad.com" ;;
	alias-foreign) echo "x-$2.alias.unfiled-abroad.com" ;;
	nonexistent) echo "nx-$2-icpguard.com" ;;
	esac
}

run_side() {
	# run_side SIDE: ask every name twice; writes $IG_WORK/SIDE.counts
	# ("KIND ASK QUERIES" lines), SIDE.answers and SIDE.cache
	_side=$1
	: >"$IG_WORK/$_side.counts"
	: >"$IG_WORK/$_side.answers"
	for _k in $KINDS; do
		for _ask in 1 2; do
			_before=$(ig_tree_queries)
			_i=1
			while [ $_i -le "$N" ]; do
				_n=$(kind_name "$_k" $_i)
				ig_dig "$_n" A
				printf '%s %s %s\n' "$_n" "$(ig_rcode)" \
					"$(ig_section ANSWER | awk '{ $2 = ""; print }' | sort | tr '\n' ' ')" \
					>>"$IG_WORK/$_side.answers"
				_i=$((_i + 1))
			done
			echo "$_k $_ask $(( $(ig_tree_queries) - _before ))" >>"$IG_WORK/$_side.counts"
		done
	done
	# the cache: message lines without their TTL field, RRset lines
	# without theirs; the module's own state is not in it
	ig_uctl dump_cache | awk '
		/^msg / { $7 = ""; print; next }
		/^;rrset / { $2 = ""; print; next }
		/^;/ || /^START/ || /^END/ || NF < 4 { print; next }
		{ $2 = ""; print }' | sort >"$IG_WORK/$_side.cache"
}

IG_NO_MODULE=1 ig_start_unbound || ig_bail "Unbound without the module did not start"
run_side plain
ig_stop_unbound
ig_start_unbound || ig_bail "Unbound with the module did not start"
run_side module

for k in $KINDS; do
	for ask in 1 2; do
		p=$(awk -v k="$k" -v a=$ask '$1 == k && $2 == a { print $3 }' "$IG_WORK/plain.counts")
		m=$(awk -v k="$k" -v a=$ask '$1 == k && $2 == a { print $3 }' "$IG_WORK/module.counts")
		[ -n "$p" ] && [ "$p" = "$m" ]
		ig_check $? "$k names, ask $ask: $N names cost the same upstream queries with the module ($m) as without ($p)" \
			"without: $p, with: $m"
	done
	# a fresh name costs something, a second ask nothing: the counts measure
	p1=$(awk -v k="$k" '$1 == k && $2 == 1 { print $3 }' "$IG_WORK/plain.counts")
	p2=$(awk -v k="$k" '$1 == k && $2 == 2 { print $3 }' "$IG_WORK/plain.counts")
	[ "${p1:-0}" -ge "$N" ] && [ "${p2:-1}" = 0 ]
	ig_check $? "$k names: fresh names go upstream ($p1 queries), second asks are cache hits ($p2)"
done
diff "$IG_WORK/plain.answers" "$IG_WORK/module.answers" >"$IG_WORK/answers.diff"
ig_check $? "the same answers with and without the module" "$(head -20 "$IG_WORK/answers.diff")"
grep -q "NOERROR.*127.0.20.5" "$IG_WORK/module.answers" &&
	grep -q "nx-1-icpguard.com NXDOMAIN" "$IG_WORK/module.answers"
ig_check $? "the answers are the real ones (foreign address, NXDOMAIN)"
diff "$IG_WORK/plain.cache" "$IG_WORK/module.cache" >"$IG_WORK/cache.diff"
ig_check $? "the same message and RRset cache contents with and without the module ($(wc -l <"$IG_WORK/module.cache") lines)" \
	"$(head -20 "$IG_WORK/cache.diff")"
ig_done
