#!/bin/sh
# tests/integration/expiry.sh: a snapshot swap expires only what changed
# (TAP).
#
# The cache holds a realistic mix: plain answers of filed names
# (x-N.load.filed.cn), foreign names behind an alias
# (x-N.alias.unfiled-abroad.com CNAME www.unfiled-abroad.com), nonexistent
# names (nx-N-icpguard.com) and policy answers (blocked names under
# bad.cn).  Then, each time waiting for the module's log line of the swap
# (never for a fixed time):
#  1. a blacklist entry for an unrelated name: nothing is expired, and
#     asking every name again sends nothing upstream;
#  2. a blacklist entry for the alias owners' parent (alias.unfiled-abroad
#     .com, subtree): exactly the alias answers are expired, and blocked;
#  3. a blacklist entry for the alias target (www.unfiled-abroad.com,
#     name only), after lifting 2: the chains through it are expired;
#  4. the blacklist of bad.cn lifted: the policy answers (their matched
#     name is bad.cn) are expired and get the real answer (NXDOMAIN from
#     bad.cn, without a policy EDE);
#  5. the same file copied over the path: the same content hash, nothing
#     expired;
#  6. a serial jump (a snapshot built without the previous one): everything
#     is expired, and the log says why.
# The policy answers live 600 s here (the suite's default is 30 s): the
# counts of expired answers must not depend on how long the steps take,
# or a policy answer cached at step 1 would expire by its TTL before the
# swap of step 4 on a slow machine (seen: 21 of 30 under AddressSanitizer
# on a loaded machine).  Every zone TTL of the tree is 300 s or more.
IG_POLICY_TTL=${IG_POLICY_TTL:-600}
. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/integration/lib.sh"

ig_init expiry
ig_start_tree
ig_policy_copy_and_start
N=${IG_EXPIRY_NAMES:-30}

ask_all() {
	# ask_all KIND...: every name of those kinds once; $IG_WORK/rcodes
	: >"$IG_WORK/rcodes"
	for _k in "$@"; do
		_i=1
		while [ $_i -le "$N" ]; do
			case $_k in
			filed) _n=x-$_i.load.filed.cn ;;
			alias) _n=x-$_i.alias.unfiled-abroad.com ;;
			nx) _n=nx-$_i-icpguard.com ;;
			policy) _n=b-$_i.bad.cn ;;
			esac
			ig_dig "$_n" A
			_e=$(ig_ede_line | sed -n 's/^; EDE: \([0-9]*\).*/ede\1/p')
			echo "$_k $_n $(ig_rcode) ${_e:-none}" >>"$IG_WORK/rcodes"
			_i=$((_i + 1))
		done
	done
}
count_rcode() {
	# count_rcode KIND RCODE: how many names of KIND got RCODE last time
	awk -v k="$1" -v r="$2" '$1 == k && $3 == r { n++ } END { print n + 0 }' "$IG_WORK/rcodes"
}
publish_wait() {
	# publish_wait WHAT: rebuild over the snapshot path (a delta against it
	# unless WHAT is "jump"), wait (bounded, 10 s) for the module's log line
	# of the swap; sets EXPIRED (the count) and SWAPLINE
	_mark=$(ig_log_mark)
	if [ "$1" = jump ]; then
		_args="--serial $(( $(date +%s) + 1000 )) --previous /nonexistent"
	else
		_args=""
	fi
	"$IG_ICPGUARD" build --quiet --source "$POL" --out "$IG_WORK/snapshot.mdb" $_args \
		>>"$IG_WORK/build.log" 2>&1 || ig_bail "icpguard build failed ($1): $(tail -3 "$IG_WORK/build.log")"
	_i=0
	SWAPLINE=""
	while [ $_i -lt 100 ]; do
		SWAPLINE=$(ig_log_since "$_mark" | grep 'icpguard: expired [0-9]* cached messages after the swap' | tail -1)
		[ -n "$SWAPLINE" ] && break
		ig_sleep_ms 100
		_i=$((_i + 1))
	done
	[ -n "$SWAPLINE" ] || ig_bail "no swap log line within 10 s after publishing ($1)"
	EXPIRED=$(printf '%s\n' "$SWAPLINE" | sed 's/.*expired \([0-9]*\) cached.*/\1/')
}

# the mix, asked twice: the second time from the cache
ask_all filed alias nx policy
ask_all filed alias nx policy
B=$(ig_tree_queries)
ask_all filed alias nx policy
[ "$(ig_tree_queries)" = "$B" ] && [ "$(count_rcode filed NOERROR)" = "$N" ] &&
	[ "$(count_rcode alias NOERROR)" = "$N" ] && [ "$(count_rcode nx NXDOMAIN)" = "$N" ] &&
	[ "$(count_rcode policy NXDOMAIN)" = "$N" ]
ig_check $? "the mix ($N names of each kind) is in the cache: asked again, nothing goes upstream" \
	"$(sort "$IG_WORK/rcodes" | awk '{ print $1, $3 }' | uniq -c)"

# 1. an unrelated blacklist entry
echo '{"name":"unrelated-entry.cn","subtree":true,"reason":"fraud","source":"it"}' >>"$POL/blacklist.jsonl"
publish_wait "unrelated entry"
[ "$EXPIRED" = 0 ]
ig_check $? "1. an unrelated blacklist entry: no cached answer expired ($EXPIRED)" "$SWAPLINE"
printf '%s\n' "$SWAPLINE" | grep -q '(changed names)'
ig_check $? "1. the swap says it expired changed names only" "$SWAPLINE"
B=$(ig_tree_queries)
ask_all filed alias nx policy
Q=$(( $(ig_tree_queries) - B ))
[ "$Q" = 0 ]
ig_check $? "1. every cached name asked again: no upstream query ($Q)"

# 2. the alias owners' parent blacklisted
echo '{"name":"alias.unfiled-abroad.com","subtree":true,"reason":"fraud","source":"it"}' >>"$POL/blacklist.jsonl"
publish_wait "alias owners"
[ "$EXPIRED" = "$N" ]
ig_check $? "2. alias owners blacklisted: exactly the $N alias answers expired ($EXPIRED)" "$SWAPLINE"
ask_all alias filed
[ "$(count_rcode alias NXDOMAIN)" = "$N" ] && [ "$(count_rcode filed NOERROR)" = "$N" ]
ig_check $? "2. the alias names are blocked now, the filed names still resolve"

# 3. the alias target blacklisted (name only), the owners' entry lifted
grep -v '"alias.unfiled-abroad.com"' "$POL/blacklist.jsonl" >"$POL/bl.tmp" && mv "$POL/bl.tmp" "$POL/blacklist.jsonl"
echo '{"name":"www.unfiled-abroad.com","subtree":false,"reason":"fraud","source":"it"}' >>"$POL/blacklist.jsonl"
publish_wait "alias target"
# the policy answers of the alias names (owners changed) and nothing else
# was cached for the target itself
[ "$EXPIRED" = "$N" ]
ig_check $? "3. the alias target blacklisted (and the owners' entry lifted): the $N alias answers expired ($EXPIRED)" "$SWAPLINE"
ask_all alias
[ "$(count_rcode alias NXDOMAIN)" = "$N" ]
ig_check $? "3. the chains through the blacklisted target are blocked"
grep -v '"www.unfiled-abroad.com"' "$POL/blacklist.jsonl" >"$POL/bl.tmp" && mv "$POL/bl.tmp" "$POL/blacklist.jsonl"
publish_wait "alias target lifted"
ask_all alias
[ "$(count_rcode alias NOERROR)" = "$N" ]
ig_check $? "3. the target's entry lifted: the chains resolve again (expired $EXPIRED)" "$SWAPLINE"

# 4. bad.cn lifted: its policy answers (matched name bad.cn) go
grep -v '"name":"bad.cn"' "$POL/blacklist.jsonl" >"$POL/bl.tmp" && mv "$POL/bl.tmp" "$POL/blacklist.jsonl"
ask_all policy
publish_wait "bad.cn lifted"
[ "$EXPIRED" -ge "$N" ] && [ "$EXPIRED" -le $((N + N / 100 + 2)) ]
ig_check $? "4. bad.cn lifted: its $N policy answers expired ($EXPIRED)" "$SWAPLINE"
ask_all policy
# they do not exist: the real NXDOMAIN now, without a policy EDE
[ "$(awk '$1 == "policy" && $4 == "none" { n++ } END { print n + 0 }' "$IG_WORK/rcodes")" = "$N" ]
ig_check $? "4. the names under bad.cn are no longer blocked: the real answer, no policy EDE" "$(awk '{ print $3, $4 }' "$IG_WORK/rcodes" | sort | uniq -c)"

# 5. the same file again (a copy renamed over the path, as a mirror does):
# the same content hash, nothing expired, nothing sent upstream
ask_all filed alias nx policy
_mark=$(ig_log_mark)
cp "$IG_WORK/snapshot.mdb" "$IG_WORK/snapshot.copy" && mv "$IG_WORK/snapshot.copy" "$IG_WORK/snapshot.mdb"
_i=0
SWAPLINE=""
while [ $_i -lt 100 ] && [ -z "$SWAPLINE" ]; do
	SWAPLINE=$(ig_log_since "$_mark" | grep 'icpguard: expired [0-9]* cached messages after the swap' | tail -1)
	ig_sleep_ms 100
	_i=$((_i + 1))
done
printf '%s\n' "$SWAPLINE" | grep -q 'expired 0 cached messages after the swap (the same serial and content hash'
ig_check $? "5. the same snapshot copied over the path: nothing expired" "$SWAPLINE"
B=$(ig_tree_queries)
ask_all filed alias nx policy
[ "$(ig_tree_queries)" = "$B" ]
ig_check $? "5. every cached name asked again: no upstream query"

# 6. a serial jump: everything
publish_wait jump
printf '%s\n' "$SWAPLINE" | grep -q '(all: the serial jumped or the snapshot says everything changed)' &&
	[ "$EXPIRED" -ge $((3 * N)) ]
ig_check $? "6. a serial jump expires everything and says why ($EXPIRED)" "$SWAPLINE"
ig_done
