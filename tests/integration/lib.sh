# tests/integration/lib.sh: helpers for the integration tests and tools/demo.
# Sourced (POSIX sh; dash and bash).  Real NSD and the real dynlib Unbound.
#
# Environment (set by `make check`; derived from this file's location otherwise):
#   top_srcdir, top_builddir   absolute paths of the source and build trees
#   ICPGUARD_BUILD_DIR         where tools/unbound-build put Unbound (<src>/build)
#   IG_NO_MODULE=1             run Unbound without the module ("validator
#                              iterator"): checks the DNS tree alone
#   IG_KEEP=1                  keep the work directory even when all passed
#   IG_TMP                     parent of the work directory (default $TMPDIR or /tmp)
#   IG_ASAN_DIR                run Unbound with libasan preloaded (for a module
#                              built with --enable-asan); reports go there
#
# The local DNS tree (tests/integration/zones/servers.txt): NSD instances on
# 127.0.0.2 (root), .3 (TLDs), .4 .5 .6 .7 (leaf zones), port 53, so the
# iterator follows real referrals; Unbound on 127.0.0.1 at a free port.
# Tests share those addresses: a lock file serialises them (bounded wait).
#
# Functions (TAP): ig_init NAME, ig_ok/ig_notok/ig_result, ig_diag, ig_done,
#   ig_skip_all, ig_bail; checks on the last ig_dig answer: check_rcode,
#   check_ede, check_no_policy_ede, check_ad_clear, check_answer_contains,
#   check_no_address, check_answer_empty, check_ttl_le, check_policy_soa,
#   check_upstream_soa.
# Processes: ig_start_tree, ig_build_policy, ig_policy_copy_and_start,
#   ig_start_unbound, ig_stop_unbound,
#   ig_stop_all (EXIT trap), ig_uctl, ig_nsd_queries, ig_tree_queries.

# ---------------------------------------------------------------- paths
if [ -z "${top_srcdir:-}" ]; then
	# sourced from tests/integration/*.sh or tools/demo: $0 is the script
	top_srcdir=$(cd "$(dirname "$0")/../.." && pwd)
fi
[ -n "${top_builddir:-}" ] || top_builddir=$top_srcdir
IG_SRC=$top_srcdir/tests/integration
IG_ZONES=$IG_SRC/zones
IG_POLICY_SRC=$IG_SRC/policy
IG_SBIN=${ICPGUARD_BUILD_DIR:-$top_srcdir/build}/unbound/prefix/sbin
IG_UNBOUND=$IG_SBIN/unbound
IG_UCONTROL=$IG_SBIN/unbound-control
IG_ICPGUARD=$top_builddir/tools/icpguard
IG_MODULE=$top_builddir/module/.libs/icpguard.so
# policy TTL used by the tests' module configuration
IG_POLICY_TTL=${IG_POLICY_TTL:-30}

IG_N=0
IG_FAILS=0
IG_PLANNED=0
IG_PIDS=""
IG_WORK=""
IG_BASE=""
# may be set before sourcing: IG_PORT (default: a free port), IG_TAP=0
IG_PORT=${IG_PORT:-}
IG_UNBOUND_PID=""
IG_OUT=""
IG_Q=""
IG_TAP=${IG_TAP:-1}

# ---------------------------------------------------------------- TAP
ig_diag() {
	# ig_diag TEXT...: each line as a TAP diagnostic (stderr outside TAP)
	if [ "$IG_TAP" = 1 ]; then
		printf '%s\n' "$@" | sed 's/^/# /'
	else
		printf '%s\n' "$@" | sed 's/^/  | /' >&2
	fi
}
ig_ok() {
	IG_N=$((IG_N + 1))
	echo "ok $IG_N - $*"
}
ig_notok() {
	IG_N=$((IG_N + 1))
	IG_FAILS=$((IG_FAILS + 1))
	echo "not ok $IG_N - $*"
}
ig_result() {
	# ig_result STATUS DESC: ok when STATUS is 0
	_st=$1
	shift
	if [ "$_st" = 0 ]; then ig_ok "$@"; else ig_notok "$@"; fi
	return "$_st"
}
ig_plan() {
	IG_PLANNED=$1
	echo "1..$1"
}
ig_done() {
	[ "$IG_PLANNED" != 0 ] || echo "1..$IG_N"
	if [ "$IG_FAILS" != 0 ]; then
		ig_diag "$IG_FAILS of $IG_N checks failed"
	fi
	exit 0
}
ig_skip_all() {
	if [ "$IG_TAP" != 1 ]; then
		echo "${IG_NAME:-lib.sh}: cannot run: $*" >&2
		exit 1
	fi
	echo "1..0 # SKIP $*"
	exit 0
}
ig_bail() {
	IG_FAILS=$((IG_FAILS + 1))
	if [ "$IG_TAP" = 1 ]; then echo "Bail out! $*"; else echo "${IG_NAME:-lib.sh}: error: $*" >&2; fi
	exit 1
}

# ---------------------------------------------------------------- time
ig_now_ms() {
	_t=$(date +%s%N 2>/dev/null)
	case "$_t" in
	*N|"") echo $(($(date +%s) * 1000)) ;;
	*) echo $((_t / 1000000)) ;;
	esac
}
ig_sleep_ms() {
	sleep "$(awk -v m="$1" 'BEGIN { printf "%.3f", m / 1000 }')"
}

# ---------------------------------------------------------------- setup
ig_require() {
	# ig_require: skip the whole test when something it needs is missing
	[ "$(id -u)" = 0 ] || ig_skip_all "needs root (NSD listens on 127.0.0.x port 53)"
	for _c in nsd nsd-control nsd-checkzone dig flock ss awk; do
		command -v "$_c" >/dev/null 2>&1 || ig_skip_all "$_c not installed (run tools/deps)"
	done
	[ -x "$IG_UNBOUND" ] || ig_skip_all "no dynlib Unbound at $IG_UNBOUND (run tools/unbound-build)"
	[ -x "$IG_UCONTROL" ] || ig_skip_all "no unbound-control at $IG_UCONTROL"
	[ -x "$IG_ICPGUARD" ] || ig_skip_all "icpguard tool not built ($IG_ICPGUARD)"
	if [ "${IG_NO_MODULE:-0}" != 1 ] && [ ! -f "$IG_MODULE" ]; then
		ig_skip_all "module not built ($IG_MODULE)"
	fi
	# 127.0.0.0/8 must be usable on lo (Linux: all of it is local)
	if ! ip -4 addr show lo 2>/dev/null | grep -q '127\.0\.0\.1/8'; then
		ig_skip_all "loopback is not 127.0.0.0/8 here"
	fi
}

ig_init() {
	# ig_init NAME: check requirements, take the tree lock, make the work dir,
	# install the EXIT trap.  Prints nothing on success.  Set IG_TAP=0 before
	# (tools/demo) for plain messages on stderr instead of TAP.
	IG_NAME=$1
	ig_require
	IG_BASE=$(mktemp -d "${IG_TMP:-${TMPDIR:-/tmp}}/icpguard-it.XXXXXX") ||
		ig_bail "cannot make a temporary directory"
	IG_WORK=$IG_BASE/$IG_NAME
	mkdir -p "$IG_WORK"
	: >"$IG_WORK/pids"
	trap 'ig_on_exit' EXIT
	trap 'exit 129' HUP
	trap 'exit 130' INT
	trap 'exit 141' PIPE
	trap 'exit 143' TERM
	# one test (or demo) at a time owns 127.0.0.2-7 port 53
	_lock=${IG_LOCK:-${TMPDIR:-/tmp}/icpguard-it.lock}
	exec 9>"$_lock"
	if ! flock -n 9; then
		ig_diag "waiting (at most ${IG_LOCK_WAIT:-600} s) for another integration test or tools/demo to finish ($_lock)"
	fi
	if ! flock -w "${IG_LOCK_WAIT:-600}" 9; then
		ig_bail "another integration test or demo holds $_lock for more than ${IG_LOCK_WAIT:-600}s"
	fi
	ig_watchdog
}

ig_watchdog() {
	# a helper that outlives this shell only to stop what it started: when
	# the script is killed without running its EXIT trap (SIGKILL), the
	# daemons listed in $IG_WORK/pids are stopped within about a second
	_main=$$
	(
		trap '' INT HUP PIPE
		while kill -0 "$_main" 2>/dev/null; do sleep 1; done
		_l=$(cat "$IG_WORK/pids" 2>/dev/null)
		[ -n "$_l" ] || exit 0
		for _p in $_l; do kill -TERM "$_p" 2>/dev/null; done
		sleep 3
		for _p in $_l; do kill -KILL "$_p" 2>/dev/null; done
	) </dev/null >/dev/null 2>&1 9>&- &
	IG_WATCHDOG=$!
}

ig_on_exit() {
	_rc=$?
	trap '' PIPE
	if [ -n "${IG_WATCHDOG:-}" ]; then
		kill "$IG_WATCHDOG" 2>/dev/null
		wait "$IG_WATCHDOG" 2>/dev/null
	fi
	ig_stop_all
	if [ -n "$IG_BASE" ] && [ -d "$IG_BASE" ]; then
		_clean=0
		if [ "${IG_KEEP:-0}" != 1 ] && [ "$IG_FAILS" = 0 ]; then
			case "$_rc" in 0) _clean=1 ;; 130|143) [ "$IG_TAP" = 1 ] || _clean=1 ;; esac
		fi
		if [ $_clean = 1 ]; then
			rm -rf "$IG_BASE"
		elif [ "$IG_TAP" = 1 ]; then
			ig_diag "work directory kept: $IG_WORK"
		else
			echo "${IG_NAME:-lib.sh}: work directory kept: $IG_WORK" >&2
		fi
	fi
}

# ---------------------------------------------------------------- processes
ig_track() {
	IG_PIDS="$IG_PIDS $1"
	echo "$1" >>"$IG_WORK/pids"
}

ig_stop_watch_and_load() {
	# ig_stop_watch_and_load STOPFILE WATCH_PID PERF_PID: end a watcher
	# loop (it stops at its next turn once STOPFILE exists) and a dnsperf
	# run (SIGINT: it prints its statistics; queries in flight count as
	# "interrupted", not lost); each bounded (10 s, then killed)
	touch "$1"
	_k=0
	while kill -0 "$2" 2>/dev/null && [ $_k -lt 100 ]; do sleep 0.1; _k=$((_k + 1)); done
	ig_kill_wait "$2" 2
	ig_untrack "$2"
	kill -INT "$3" 2>/dev/null
	_k=0
	while kill -0 "$3" 2>/dev/null && [ $_k -lt 100 ]; do sleep 0.1; _k=$((_k + 1)); done
	ig_kill_wait "$3" 2
	ig_untrack "$3"
}

ig_kill_wait() {
	# ig_kill_wait PID [TIMEOUT_S]: TERM, wait up to TIMEOUT (default 5 s), KILL
	_p=$1
	_lim=$(( ${2:-5} * 10 ))
	kill -0 "$_p" 2>/dev/null || { wait "$_p" 2>/dev/null; return 0; }
	kill -TERM "$_p" 2>/dev/null
	_i=0
	while kill -0 "$_p" 2>/dev/null && [ $_i -lt $_lim ]; do
		# a zombie child of ours counts as gone
		case "$(ps -o stat= -p "$_p" 2>/dev/null)" in Z*) break ;; esac
		sleep 0.1
		_i=$((_i + 1))
	done
	if kill -0 "$_p" 2>/dev/null && ! ps -o stat= -p "$_p" 2>/dev/null | grep -q '^Z'; then
		kill -KILL "$_p" 2>/dev/null
	fi
	wait "$_p" 2>/dev/null
	return 0
}

ig_stop_all() {
	# stop everything this script started (only our own PIDs), newest first
	_rev=""
	for _p in $IG_PIDS; do _rev="$_p $_rev"; done
	for _p in $_rev; do ig_kill_wait "$_p" 5; done
	IG_PIDS=""
	[ -z "$IG_WORK" ] || [ ! -d "$IG_WORK" ] || : >"$IG_WORK/pids"
	IG_UNBOUND_PID=""
}

ig_wait_exit() {
	# ig_wait_exit PID TENTHS: wait at most TENTHS tenths of a second until
	# PID has exited (or is a zombie); 0 then, 1 when it still runs
	_w=0
	while kill -0 "$1" 2>/dev/null && [ $_w -lt "$2" ]; do
		case "$(ps -o stat= -p "$1" 2>/dev/null)" in Z*) return 0 ;; esac
		sleep 0.1
		_w=$((_w + 1))
	done
	! kill -0 "$1" 2>/dev/null || ps -o stat= -p "$1" | grep -q '^Z'
}

ig_untrack() {
	_new=""
	for _p in $IG_PIDS; do [ "$_p" = "$1" ] || _new="$_new $_p"; done
	IG_PIDS=$_new
	for _p in $IG_PIDS; do echo "$_p"; done >"$IG_WORK/pids"
}

ig_addr_busy() {
	# ig_addr_busy ADDR PORT: is something listening there (udp or tcp)?
	[ -n "$(ss -Hlnu "src $1:$2" 2>/dev/null)$(ss -Hlnt "src $1:$2" 2>/dev/null)" ]
}

ig_free_port() {
	# print a free unprivileged port on 127.0.0.1 (udp and tcp), below the
	# kernel's ephemeral range (a port in it can be taken at any moment
	# as the local end of some other socket)
	_i=0
	_seed=$(( $$ + $(date +%s) ))
	_lo=$(awk '{ print $1 }' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null)
	[ "${_lo:-0}" -gt 21000 ] || _lo=32768
	while [ $_i -lt 50 ]; do
		_p=$(( 20000 + (_seed + _i * 7919) % (_lo - 20000) ))
		if ! ig_addr_busy 127.0.0.1 "$_p"; then
			echo "$_p"
			return 0
		fi
		_i=$((_i + 1))
	done
	return 1
}

# ---------------------------------------------------------------- NSD tree
ig_start_tree() {
	# ig_start_tree [SERVERS_FILE [ZONES_DIR]]: one NSD per address listed,
	# each with its zones; waits (bounded) until every instance answers.
	_servers=${1:-$IG_ZONES/servers.txt}
	_zdir=${2:-$(dirname "$_servers")}
	IG_TREE_ADDRS=$(grep -v '^[[:space:]]*#' "$_servers" | awk 'NF >= 3 { print $1 }' | sort -u)
	for _a in $IG_TREE_ADDRS; do
		if ig_addr_busy "$_a" 53; then
			ig_diag "$_a port 53 is in use:" "$(ss -Hlnup "src $_a:53" 2>/dev/null)"
			# we hold the lock: an NSD of this harness still running is an
			# orphan of a killed run; say how to stop it (we do not)
			_stale=$(ps -eo pid=,args= | awk '$2 == "nsd" && $3 == "-d" && $5 ~ /icpguard-it\./ && $5 ~ /\/nsd-/ { print $1 }' | tr '\n' ' ')
			[ -z "$_stale" ] || ig_diag "NSD processes left by an earlier (killed) run of this harness: $_stale" \
				"stop them with: kill $_stale"
			ig_bail "cannot start the DNS tree: $_a:53 busy"
		fi
	done
	for _a in $IG_TREE_ADDRS; do
		_d=$IG_WORK/nsd-$_a
		mkdir -p "$_d"
		cat >"$_d/nsd.conf" <<EOF
server:
	ip-address: $_a
	port: 53
	do-ip6: no
	username: ""
	chroot: ""
	zonesdir: "$_zdir"
	database: ""
	pidfile: "$_d/nsd.pid"
	logfile: "$_d/nsd.log"
	xfrdfile: "$_d/xfrd.state"
	zonelistfile: "$_d/zone.list"
	xfrdir: "$_d"
	verbosity: 1
	server-count: 1
	hide-version: yes
	rrl-ratelimit: 0
	zonefiles-write: 0
remote-control:
	control-enable: yes
	control-interface: "$_d/nsd.ctl"
EOF
		grep -v '^[[:space:]]*#' "$_servers" | awk -v a="$_a" '$1 == a && NF >= 3 {
			printf "zone:\n\tname: \"%s\"\n\tzonefile: \"%s\"\n", $2, $3 }' >>"$_d/nsd.conf"
		if ! nsd-checkconf "$_d/nsd.conf" >"$_d/checkconf.out" 2>&1; then
			ig_diag "$(cat "$_d/checkconf.out")"
			ig_bail "nsd-checkconf failed for $_a"
		fi
		nsd -d -c "$_d/nsd.conf" >"$_d/nsd.stdout" 2>&1 9>&- &
		_pid=$!
		ig_track "$_pid"
		eval "IG_NSD_PID_$(echo "$_a" | tr . _)=$_pid"
	done
	for _a in $IG_TREE_ADDRS; do
		_d=$IG_WORK/nsd-$_a
		_i=0
		until nsd-control -c "$_d/nsd.conf" status >/dev/null 2>&1; do
			_i=$((_i + 1))
			_pid=$(eval echo "\$IG_NSD_PID_$(echo "$_a" | tr . _)")
			if [ $_i -gt 100 ] || ! kill -0 "$_pid" 2>/dev/null; then
				ig_diag "NSD on $_a did not come up; its log:" "$(tail -20 "$_d/nsd.log" 2>/dev/null)" "$(cat "$_d/nsd.stdout" 2>/dev/null)"
				ig_bail "NSD on $_a failed to start"
			fi
			sleep 0.1
		done
	done
	# the root answers its SOA
	if ! dig @127.0.0.2 +norec +tries=1 +time=2 . SOA 2>&1 | grep -q 'status: NOERROR'; then
		ig_bail "the local root on 127.0.0.2 does not answer"
	fi
	return 0
}

ig_nsd_queries() {
	# ig_nsd_queries ADDR: queries the NSD instance on ADDR received so far
	nsd-control -c "$IG_WORK/nsd-$1/nsd.conf" stats_noreset 2>/dev/null |
		sed -n 's/^num\.queries=\([0-9]*\)$/\1/p'
}

ig_tree_queries() {
	# the sum over every NSD instance of the tree
	_sum=0
	for _a in $IG_TREE_ADDRS; do
		_q=$(ig_nsd_queries "$_a")
		_sum=$((_sum + ${_q:-0}))
	done
	echo "$_sum"
}

# ---------------------------------------------------------------- policy
ig_build_policy() {
	# ig_build_policy SRC_DIR [OUT]: build and publish a snapshot (default
	# $IG_WORK/snapshot.mdb); the tool's messages go to $IG_WORK/build.log
	_out=${2:-$IG_WORK/snapshot.mdb}
	echo "== build $1 -> $_out" >>"$IG_WORK/build.log"
	"$IG_ICPGUARD" build --source "$1" --out "$_out" >>"$IG_WORK/build.log" 2>&1
}

ig_policy_copy_and_start() {
	# a copy of the test policy in $POL (a test changes it and publishes
	# it again), built into the snapshot, and Unbound with the module
	POL=$IG_WORK/policy-src
	cp -r "$IG_POLICY_SRC" "$POL"
	ig_build_policy "$POL" || { ig_diag "$(cat "$IG_WORK/build.log")"; ig_bail "icpguard build failed"; }
	ig_start_unbound || ig_bail "Unbound with the module did not start"
}

# ---------------------------------------------------------------- Unbound
ig_merge_conf() {
	# ig_merge_conf FILE OVERRIDES: replace or add "key: value" lines of FILE
	_f=$1
	printf '%s\n' "$2" | while IFS= read -r _l; do
		_l=$(printf '%s' "$_l" | sed 's/^[[:space:]]*//')
		[ -n "$_l" ] || continue
		_k=${_l%%:*}
		grep -v "^[[:space:]]*$_k:" "$_f" >"$_f.tmp"
		printf '\t%s\n' "$_l" >>"$_f.tmp"
		mv "$_f.tmp" "$_f"
	done
}

ig_write_unbound_conf() {
	# ig_write_unbound_conf [MODULE_OVERRIDES [SERVER_OVERRIDES]]
	# writes $IG_WORK/unbound.conf and $IG_WORK/icpguard.conf
	[ -n "$IG_PORT" ] || IG_PORT=$(ig_free_port) || ig_bail "no free port on 127.0.0.1"
	cat >"$IG_WORK/root.hints" <<EOF
.                    3600000  NS  a.root-servers.net.
a.root-servers.net.  3600000  A   127.0.0.2
EOF
	cat >"$IG_WORK/icpguard.conf" <<EOF
	snapshot: $IG_WORK/snapshot.mdb
	scope: domestic
	chain-check: all
	mode: enforce
	action-order: nxdomain
	action-blacklist: nxdomain
	action-nofiling: nxdomain
	action-redirect: nxdomain
	notice-ipv4: 127.0.0.1
	notice-ipv6: ::1
	policy-ttl: $IG_POLICY_TTL
	fail-open: no
	poll-interval: 100
	log-blocks: yes
EOF
	ig_merge_conf "$IG_WORK/icpguard.conf" "${1:-}"
	sed -i 's/^\t//' "$IG_WORK/icpguard.conf"
	if [ "${IG_NO_MODULE:-0}" = 1 ]; then
		_modcfg='"validator iterator"'
	else
		_modcfg='"validator dynlib iterator"'
	fi
	cat >"$IG_WORK/server.conf" <<EOF
	verbosity: 1
	interface: 127.0.0.1
	port: $IG_PORT
	do-ip4: yes
	do-ip6: no
	chroot: ""
	username: ""
	directory: "$IG_WORK"
	pidfile: "$IG_WORK/unbound.pid"
	logfile: "$IG_WORK/unbound.log"
	use-syslog: no
	log-time-ascii: yes
	root-hints: "$IG_WORK/root.hints"
	do-not-query-localhost: no
	module-config: $_modcfg
	num-threads: 2
	access-control: 127.0.0.0/8 allow
	prefetch: no
	ede: yes
	val-log-level: 1
EOF
	ig_merge_conf "$IG_WORK/server.conf" "${2:-}"
	{
		echo "server:"
		cat "$IG_WORK/server.conf"
		if [ "${IG_NO_MODULE:-0}" != 1 ]; then
			printf 'dynlib:\n\tdynlib-file: "%s"\n' "$IG_MODULE"
		fi
		cat <<EOF
remote-control:
	control-enable: yes
	control-interface: "$IG_WORK/unbound.ctl"
	control-use-cert: no
EOF
	} >"$IG_WORK/unbound.conf"
}

ig_launch_unbound() {
	# start Unbound in the foreground (background job) with the current
	# configuration files; sets IG_UNBOUND_PID; does not wait
	rm -f "$IG_WORK/unbound.ctl"
	ICPGUARD_CONF=$IG_WORK/icpguard.conf
	export ICPGUARD_CONF
	if [ -n "${IG_ASAN_DIR:-}" ]; then
		# the module was built with AddressSanitizer (tools/check
		# --asan): preload its runtime into the uninstrumented Unbound
		# and collect reports, which tools/check reads afterwards
		mkdir -p "$IG_ASAN_DIR"
		LD_PRELOAD=$(${CC:-gcc} -print-file-name=libasan.so) \
		ASAN_OPTIONS="log_path=$IG_ASAN_DIR/unbound:detect_leaks=1" \
		"$IG_UNBOUND" -d -c "$IG_WORK/unbound.conf" >>"$IG_WORK/unbound.stderr" 2>&1 9>&- &
	else
		"$IG_UNBOUND" -d -c "$IG_WORK/unbound.conf" >>"$IG_WORK/unbound.stderr" 2>&1 9>&- &
	fi
	IG_UNBOUND_PID=$!
	ig_track "$IG_UNBOUND_PID"
}

ig_wait_unbound() {
	# wait (bounded, 15 s) until Unbound answers on its control socket and
	# port; returns 1 (with the log as diagnostics) when it died or hung
	_i=0
	while [ $_i -lt 150 ]; do
		if ! kill -0 "$IG_UNBOUND_PID" 2>/dev/null; then
			wait "$IG_UNBOUND_PID" 2>/dev/null
			IG_UNBOUND_RC=$?
			ig_untrack "$IG_UNBOUND_PID"
			[ "${1:-}" = quiet ] || ig_diag "unbound exited (status $IG_UNBOUND_RC):" \
				"$(tail -15 "$IG_WORK/unbound.log" 2>/dev/null)" "$(tail -5 "$IG_WORK/unbound.stderr" 2>/dev/null)"
			IG_UNBOUND_PID=""
			return 1
		fi
		if ig_uctl status >/dev/null 2>&1 &&
			dig @127.0.0.1 -p "$IG_PORT" +tries=1 +time=1 . SOA >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.1
		_i=$((_i + 1))
	done
	[ "${1:-}" = quiet ] || ig_diag "unbound did not come up within 15 s:" "$(tail -15 "$IG_WORK/unbound.log" 2>/dev/null)"
	return 1
}

ig_wait_unbound_idle() {
	# wait (bounded, 5 s) until Unbound has no request in its mesh: the
	# queries it sends by itself after start (root priming, the addresses
	# of the root's servers) have all been answered, so an upstream query
	# counter read now moves only for the queries the test sends; returns 1
	# (with the stats as diagnostics) when it did not go idle
	_i=0
	while [ $_i -lt 50 ]; do
		_rl=$(ig_uctl stats_noreset 2>/dev/null | sed -n 's/^total\.requestlist\.current\.all=//p')
		[ "$_rl" = 0 ] && return 0
		sleep 0.1
		_i=$((_i + 1))
	done
	ig_diag "unbound still has ${_rl:-?} requests in its mesh after 5 s"
	return 1
}

ig_start_unbound() {
	# ig_start_unbound [MODULE_OVERRIDES [SERVER_OVERRIDES]]: write the
	# configuration (overrides: newline-separated "key: value" lines that
	# replace the defaults) and start Unbound; returns 1 when it failed
	ig_write_unbound_conf "${1:-}" "${2:-}"
	ig_launch_unbound
	ig_wait_unbound
}

ig_stop_unbound() {
	[ -n "$IG_UNBOUND_PID" ] || return 0
	ig_kill_wait "$IG_UNBOUND_PID" 10
	ig_untrack "$IG_UNBOUND_PID"
	IG_UNBOUND_PID=""
}

ig_uctl() {
	"$IG_UCONTROL" -c "$IG_WORK/unbound.conf" "$@"
}

ig_log_mark() {
	# number of lines in the unbound log now (for ig_log_since)
	if [ -f "$IG_WORK/unbound.log" ]; then wc -l <"$IG_WORK/unbound.log"; else echo 0; fi
}
ig_log_since() {
	# ig_log_since MARK: the unbound log lines after MARK
	tail -n +"$(( $1 + 1 ))" "$IG_WORK/unbound.log" 2>/dev/null
}

# ---------------------------------------------------------------- queries
ig_dig() {
	# ig_dig NAME TYPE [DIG_OPTIONS...]: query Unbound; the output is in
	# $IG_OUT (and $IG_WORK/last.dig), the query in $IG_Q
	_name=$1
	_type=$2
	shift 2
	IG_Q="$_name $_type"
	# a UTF-8 locale: EDE texts (函号) print as they are
	IG_OUT=$(LC_ALL=C.UTF-8 dig @127.0.0.1 -p "$IG_PORT" +tries=1 +time="${IG_DIG_TIME:-2}" "$@" "$_name" "$_type" 2>&1)
	IG_DIG_RC=$?
	printf '%s\n' "$IG_OUT" >"$IG_WORK/last.dig"
	return 0
}

ig_rcode() {
	printf '%s\n' "$IG_OUT" | sed -n 's/.*->>HEADER<<-.*status: \([A-Z0-9]*\),.*/\1/p' | head -1
}
ig_flags() {
	printf '%s\n' "$IG_OUT" | sed -n 's/^;; flags: \([^;]*\);.*/\1/p' | head -1
}
ig_ede_line() {
	printf '%s\n' "$IG_OUT" | grep '^; EDE: ' | head -1
}
ig_section() {
	# ig_section ANSWER|AUTHORITY|ADDITIONAL: the records of that section
	printf '%s\n' "$IG_OUT" | awk -v s=";; $1 SECTION:" '
		$0 == s { on = 1; next }
		on && /^$/ { exit }
		on && !/^;/ { print }'
}
ig_dump() {
	# the last answer as diagnostics
	ig_diag "query: $IG_Q" "$(printf '%s\n' "$IG_OUT" | grep -v '^$' | grep -v '^;; \(global options\|Got answer\|Query time\|SERVER\|WHEN\|MSG SIZE\)')"
}
ig_lc() {
	printf '%s' "$1" | tr 'A-Z' 'a-z'
}
ig_fqdn() {
	case "$1" in *.) ig_lc "$1" ;; *) ig_lc "$1." ;; esac
}

ig_check() {
	# ig_check STATUS DESC [WHY]: ok/not ok plus the answer when not ok
	if [ "$1" = 0 ]; then
		ig_ok "$2"
	else
		ig_notok "$2"
		[ -z "${3:-}" ] || ig_diag "$3"
		ig_dump
	fi
}

check_rcode() {
	# check_rcode WANT [DESC]
	_got=$(ig_rcode)
	[ "$_got" = "$1" ]
	ig_check $? "${2:-$IG_Q: rcode $1}" "rcode: got '${_got:-no answer}', want $1"
}

check_ad_clear() {
	case " $(ig_flags) " in
	*" ad "*) ig_check 1 "${1:-$IG_Q: AD clear}" "AD is set" ;;
	*) ig_check 0 "${1:-$IG_Q: AD clear}" ;;
	esac
}

check_ede() {
	# check_ede CODE [EXTENDED_REGEX [DESC]]: an EDE with CODE whose text
	# matches the regex (case-insensitive)
	_l=$(ig_ede_line)
	_code=$(printf '%s' "$_l" | sed -n 's/^; EDE: \([0-9]*\).*/\1/p')
	_why=""
	if [ "$_code" != "$1" ]; then
		_why="EDE: got '${_l:-none}', want code $1"
	elif [ -n "${2:-}" ] && ! printf '%s' "$_l" | grep -qiE -- "$2"; then
		_why="EDE text does not match /$2/: $_l"
	fi
	[ -z "$_why" ]
	ig_check $? "${3:-$IG_Q: EDE $1${2:+ /$2/}}" "$_why"
}

check_no_policy_ede() {
	# no EDE 15 (Blocked), 16 (Censored), 17 (Filtered)
	_l=$(ig_ede_line)
	case "$_l" in
	"; EDE: 15"*|"; EDE: 16"*|"; EDE: 17"*) ig_check 1 "${1:-$IG_Q: no policy EDE}" "unexpected $_l" ;;
	*) ig_check 0 "${1:-$IG_Q: no policy EDE}" ;;
	esac
}

check_answer_contains() {
	# check_answer_contains TYPE REGEX [DESC]: an answer record of TYPE whose
	# rdata matches REGEX
	_m=$(ig_section ANSWER | awk -v t="$1" '$4 == t { $1 = $2 = $3 = $4 = ""; sub(/^ +/, ""); print }' | grep -E -- "$2")
	[ -n "$_m" ]
	ig_check $? "${3:-$IG_Q: answer has $1 /$2/}" "no $1 record matching /$2/ in the answer"
}

check_no_address() {
	# no A, AAAA, HTTPS or SVCB record in the answer (nothing leaked)
	_m=$(ig_section ANSWER | awk '$4 == "A" || $4 == "AAAA" || $4 == "HTTPS" || $4 == "SVCB"')
	[ -z "$_m" ]
	ig_check $? "${1:-$IG_Q: no address in the answer}" "address records in the answer: $_m"
}

check_answer_empty() {
	_m=$(ig_section ANSWER)
	[ -z "$_m" ]
	ig_check $? "${1:-$IG_Q: empty answer section}" "answer section: $_m"
}

check_ttl_le() {
	# check_ttl_le MAX [SECTION [DESC]]: every TTL in SECTION (ANSWER) <= MAX,
	# and the section is not empty
	_sec=${2:-ANSWER}
	_bad=$(ig_section "$_sec" | awk -v m="$1" '$2 + 0 > m + 0 || $2 !~ /^[0-9]+$/')
	_n=$(ig_section "$_sec" | wc -l)
	[ -z "$_bad" ] && [ "$_n" -gt 0 ]
	ig_check $? "${3:-$IG_Q: $_sec TTLs <= $1}" "records over the limit (or none): ${_bad:-empty section}"
}

check_policy_soa() {
	# check_policy_soa QNAME TTLMIN TTLMAX [DESC]: the authority section has
	# a synthesized SOA owned by QNAME, RNAME under icpguard.invalid., TTL in
	# [TTLMIN, TTLMAX]
	_q=$(ig_fqdn "$1")
	_soa=$(ig_section AUTHORITY | awk '$4 == "SOA"' | head -1)
	_why=""
	if [ -z "$_soa" ]; then
		_why="no SOA in the authority section"
	else
		_own=$(ig_lc "$(printf '%s' "$_soa" | awk '{ print $1 }')")
		_ttl=$(printf '%s' "$_soa" | awk '{ print $2 }')
		_rname=$(ig_lc "$(printf '%s' "$_soa" | awk '{ print $6 }')")
		if [ "$_own" != "$_q" ]; then
			_why="SOA owner $_own, want $_q"
		fi
		case "$_rname" in
		*icpguard.invalid.) ;;
		*) _why="$_why${_why:+; }SOA RNAME $_rname does not end in icpguard.invalid." ;;
		esac
		case "$_ttl" in ""|*[!0-9]*) _ttl=-1 ;; esac
		if [ "$_ttl" -lt "$2" ] || [ "$_ttl" -gt "$3" ]; then
			_why="$_why${_why:+; }SOA TTL $_ttl not in [$2, $3]"
		fi
	fi
	[ -z "$_why" ]
	ig_check $? "${4:-$IG_Q: policy SOA (owner $_q, icpguard.invalid., TTL $2..$3)}" "$_why"
}

check_upstream_soa() {
	# check_upstream_soa ZONE [DESC]: the authority SOA is the real zone's
	# (owner ZONE, RNAME not icpguard.invalid.)
	_z=$(ig_fqdn "$1")
	_soa=$(ig_section AUTHORITY | awk '$4 == "SOA"' | head -1)
	_own=$(ig_lc "$(printf '%s' "$_soa" | awk '{ print $1 }')")
	_rname=$(ig_lc "$(printf '%s' "$_soa" | awk '{ print $6 }')")
	_why=""
	[ "$_own" = "$_z" ] || _why="SOA owner '${_own}', want $_z"
	case "$_rname" in *icpguard.invalid.) _why="$_why${_why:+; }synthesized SOA ($_rname)" ;; esac
	[ -z "$_why" ]
	ig_check $? "${2:-$IG_Q: upstream SOA of $_z unchanged}" "$_why"
}

# --- dnstap capture (tests/audit/audit.sh, tests/knot/knot.sh)

# ig_capture_start FILE: fstrm_capture (Debian fstrm-bin) listening on the
# Unix socket $IG_CAP_SOCK, writing FILE; waits (bounded, 5 s) for the
# socket; its pid in IG_CAP_PID
IG_CAP_PID=""
ig_capture_start() {
	rm -f "$IG_CAP_SOCK"
	fstrm_capture -t protobuf:dnstap.Dnstap -u "$IG_CAP_SOCK" -w "$1" \
		>>"$IG_WORK/capture.log" 2>&1 9>&- &
	IG_CAP_PID=$!
	ig_track "$IG_CAP_PID"
	_i=0
	while [ ! -S "$IG_CAP_SOCK" ] && [ $_i -lt 50 ]; do sleep 0.1; _i=$((_i + 1)); done
	[ -S "$IG_CAP_SOCK" ] || ig_bail "fstrm_capture did not create $IG_CAP_SOCK: $(cat "$IG_WORK/capture.log")"
}
# ig_capture_stop: SIGTERM (after SIGCONT, if stopped): fstrm_capture
# writes the STOP frame and closes the file
ig_capture_stop() {
	[ -n "$IG_CAP_PID" ] || return 0
	kill -CONT "$IG_CAP_PID" 2>/dev/null
	ig_kill_wait "$IG_CAP_PID" 5
	ig_untrack "$IG_CAP_PID"
	IG_CAP_PID=""
}
# ig_audit_json FILE [ARGS...]: `icpguard audit` output in
# $IG_WORK/audit.out, its exit status in IG_AUDIT_RC
ig_audit_json() {
	_f=$1
	shift
	"$IG_ICPGUARD" audit "$@" "$_f" >"$IG_WORK/audit.out" 2>"$IG_WORK/audit.err"
	IG_AUDIT_RC=$?
}
# ig_audit_record_of QNAME [N]: the Nth (default 1st) JSON record for QNAME
ig_audit_record_of() {
	grep -F "\"qname\":\"$1\"" "$IG_WORK/audit.out" | sed -n "${2:-1}p"
}
# ig_check_field RECORD KEY VALUE DESC: "KEY":VALUE in the JSON record
ig_check_field() {
	case "$1" in
	*"\"$2\":$3"[,}]*) ig_ok "$4" ;;
	*) ig_notok "$4"; ig_diag "want \"$2\":$3 in: ${1:-no record}" ;;
	esac
}
