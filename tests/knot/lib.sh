# tests/knot/lib.sh: what the Knot module's tests share (sources
# tests/integration/lib.sh unless the caller did): knotd started with the
# module (AddressSanitizer runtime preloaded in tools/check's sanitizer
# suite), queries to it, a bounded wait for an answer, signed zones and a
# plain Unbound downstream of knotd.  Needs W (the work directory, with
# knot.conf), KADDR and IG_PORT (where knotd listens).
command -v ig_init >/dev/null 2>&1 ||
	. "${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}/tests/integration/lib.sh"

# knot_test_init NAME ADDR [unbound]: the common start of a Knot module test
# NAME (IG_NAME): skips (with the reason) when knotd, knotc, dig, the
# module or the icpguard tool is missing, or with "unbound" the Unbound the
# tests run ($IG_UNBOUND); sets KZONES, KMOD, KADDR=ADDR, a work directory W
# (run/, db/, zones/) under a new IG_BASE, the exit traps, and IG_PORT (free
# on ADDR)
knot_test_init() {
	IG_NAME=$1
	KZONES=$top_srcdir/tests/knot/zones
	KMOD=$top_builddir/knot/.libs/mod-icpguard.so
	KADDR=$2
	command -v knotd >/dev/null 2>&1 || ig_skip_all "knotd not installed (Debian: knot; run tools/deps)"
	command -v knotc >/dev/null 2>&1 || ig_skip_all "knotc not installed (Debian: knot)"
	command -v dig >/dev/null 2>&1 || ig_skip_all "dig not installed (Debian: dnsutils)"
	[ -f "$KMOD" ] || ig_skip_all "Knot module not built ($KMOD; configure found no libknot-dev?)"
	[ -x "$IG_ICPGUARD" ] || ig_skip_all "icpguard tool not built ($IG_ICPGUARD)"
	[ "${3:-}" != unbound ] || [ -x "$IG_UNBOUND" ] ||
		ig_skip_all "Unbound not built ($IG_UNBOUND; tools/unbound-build)"
	knot_module_lock
	IG_BASE=$(mktemp -d "${IG_TMP:-${TMPDIR:-/tmp}}/icpguard-$1.XXXXXX") || ig_bail "no temporary directory"
	IG_WORK=$IG_BASE/knot
	W=$IG_WORK
	mkdir -p "$W/run" "$W/db" "$W/zones"
	: >"$W/pids"
	trap 'ig_on_exit' EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	IG_PORT=$(ig_free_port) || ig_bail "no free port"
	ig_addr_busy "$KADDR" "$IG_PORT" && ig_bail "$KADDR port $IG_PORT is busy"
}

# knot_module_lock: a shared lock (fd 8) on $IG_KNOT_LOCK for as long as
# the test runs.  knotd loads every module in its module directory at
# start: while tests/package/package.sh has knot-module-icpguard installed
# there, the tests' `module:` section for the build's module is a duplicate
# and knotd refuses the configuration.  package.sh holds this lock alone
# from its install to its purge; the Knot tests share it (bounded wait)
IG_KNOT_LOCK=${IG_KNOT_LOCK:-${TMPDIR:-/tmp}/icpguard-knot-module.lock}
knot_module_lock() {
	exec 8>"$IG_KNOT_LOCK"
	flock -s -n 8 && return 0
	ig_diag "waiting (at most 900 s) for tests/package/package.sh to purge the installed Knot module ($IG_KNOT_LOCK)"
	flock -s -w 900 8 || ig_bail "the installed Knot module's lock $IG_KNOT_LOCK is held for more than 900 s"
}

# write_conf MODE: knotd's configuration in $W/knot.conf: listen on
# KADDR@IG_PORT, the module (KMOD) over $W/snapshot.mdb and $W/orders.mdb
# with policy TTL $TTL in MODE (enforce or monitor), every zone file of
# $W/zones.  KNOT_SIGN="ZONE=POLICY ...": knotd signs those zones itself
# (dnssec-signing) with POLICY nsec or nsec3 (ECDSA P-256, keys made at
# load in the KASP database $W/kasp).  KNOT_MOD_KEYS: more keys of the
# module's section, one "key: value" a line (the audit keys)
write_conf() {
	cat >"$W/knot.conf" <<C
server:
    rundir: "$W/run"
    user: root:root
    listen: $KADDR@$IG_PORT
    udp-workers: 2
    tcp-workers: 1
    background-workers: 1
log:
  - target: "$W/knotd.log"
    any: info
database:
    storage: "$W/db"
    kasp-db: "$W/kasp"
policy:
  - id: nsec
    algorithm: ecdsap256sha256
    nsec3: off
  - id: nsec3
    algorithm: ecdsap256sha256
    nsec3: on
    nsec3-iterations: 0
module:
  - id: mod-icpguard
    file: "$KMOD"
mod-icpguard:
  - id: test
    snapshot: "$W/snapshot.mdb"
    orders-snapshot: "$W/orders.mdb"
    policy-ttl: $TTL
    mode: $1
    stats-file: "$W/icpguard.prom"
$(printf '%s\n' "${KNOT_MOD_KEYS:-}" | sed '/^$/d; s/^/    /')
template:
  - id: default
    storage: "$W/zones"
    file: "%s.zone"
    zonefile-sync: -1
    journal-content: none
    module: mod-icpguard/test
zone:
C
	for z in "$W"/zones/*.zone; do
		z=$(basename "$z" .zone)
		printf '  - domain: %s\n' "$z" >>"$W/knot.conf"
		for _s in ${KNOT_SIGN:-}; do
			[ "${_s%%=*}" = "$z" ] || continue
			printf '    dnssec-signing: on\n    dnssec-policy: %s\n' "${_s#*=}" >>"$W/knot.conf"
		done
	done
}

KNOTD_PID=""
# start_knot [ZONE]: knotd -c $W/knot.conf, until it answers ZONE's SOA
# (default filed.cn; bounded, 10 s); 1 when it died or hung
start_knot() {
	if [ -n "${IG_ASAN_DIR:-}" ]; then
		# the module built with AddressSanitizer (tools/check): its
		# runtime preloaded into Debian's uninstrumented knotd; reports
		# go where tools/check reads them (leaks off: knotd's own
		# allocations at exit are not the module's)
		mkdir -p "$IG_ASAN_DIR"
		LD_PRELOAD=$(${CC:-gcc} -print-file-name=libasan.so) \
		ASAN_OPTIONS="log_path=$IG_ASAN_DIR/knotd:detect_leaks=0" \
		knotd -c "$W/knot.conf" >>"$W/knotd.out" 2>&1 8>&- &
	else
		knotd -c "$W/knot.conf" >>"$W/knotd.out" 2>&1 8>&- &
	fi
	KNOTD_PID=$!
	ig_track "$KNOTD_PID"
	wait_serving "$KNOTD_PID" q "${1:-filed.cn}"
}
# wait_serving PID ASK ZONE: until ASK (q: knotd, d: the downstream
# Unbound) gets ZONE's SOA, bounded (100 queries, 10 s); 1 when it does not
# or the process PID is gone
wait_serving() {
	_t0=$(ig_now_ms) _i=0
	while [ $_i -lt 100 ] && [ $(( $(ig_now_ms) - _t0 )) -lt 10000 ]; do
		"$2" "$3" SOA +time=1
		[ "$(ig_rcode)" = NOERROR ] && return 0
		kill -0 "$1" 2>/dev/null || return 1
		ig_sleep_ms 100
		_i=$((_i + 1))
	done
	return 1
}
# q NAME TYPE [DIG_OPTIONS]: ask knotd (RD=0); output in IG_OUT
q() {
	_name=$1 _type=$2
	shift 2
	IG_Q="$_name $_type"
	IG_OUT=$(LC_ALL=C.UTF-8 dig @"$KADDR" -p "$IG_PORT" +norec +tries=1 +time=2 "$@" "$_name" "$_type" 2>&1)
	printf '%s\n' "$IG_OUT" >"$W/last.dig"
}

# until_rcode NAME TYPE RCODE: ask (with $ASK, default q: knotd) until the
# answer has RCODE, bounded (600 queries, 50 ms apart, 30 s at most); sets
# IG_WAITED to the ms it took.
# The tests wait for what they observe and never assert a duration.
until_rcode() {
	_t0=$(ig_now_ms) _n=0
	while [ $_n -lt 600 ] && [ $(( $(ig_now_ms) - _t0 )) -lt 30000 ]; do
		${ASK:-q} "$1" "$2"
		if [ "$(ig_rcode)" = "$3" ]; then IG_WAITED=$(( $(ig_now_ms) - _t0 )); return 0; fi
		ig_sleep_ms 50
		_n=$((_n + 1))
	done
	IG_WAITED=$(( $(ig_now_ms) - _t0 ))
	return 1
}

# knot_ksk ZONE: print ZONE's KSK (its DNSKEY with flags 257, "257 3 13
# KEY") once knotd has signed the zone (bounded: 100 queries, 10 s);
# nothing when it did not
knot_ksk() {
	_t0=$(ig_now_ms) _i=0 _k=""
	while [ $_i -lt 100 ] && [ $(( $(ig_now_ms) - _t0 )) -lt 10000 ]; do
		_k=$(dig @"$KADDR" -p "$IG_PORT" +norec +tries=1 +time=1 +short "$1" DNSKEY 2>/dev/null |
			awk '$1 == 257 { $1 = $1; print; exit }')
		[ -n "$_k" ] && break
		ig_sleep_ms 100
		_i=$((_i + 1))
	done
	printf '%s\n' "$_k"
}

UB_PID=""
# start_downstream ZONE...: a plain Unbound ($IG_UNBOUND, no icpguard
# module: module-config "validator iterator") on 127.0.0.1 port UPORT (a
# free one), each ZONE a stub zone at knotd; UB_ANCHORS: its trust anchors,
# one "ZONE. DNSKEY 257 3 13 KEY" a line; UB_EXTRA: more server: lines.
# Waits until it answers the first ZONE's SOA (wait_serving); 1 when it
# does not
start_downstream() {
	UPORT=$(ig_free_port) || ig_bail "no free port"
	{
		cat <<C
server:
    interface: 127.0.0.1
    port: $UPORT
    do-not-query-localhost: no
    username: ""
    chroot: ""
    directory: "$W"
    pidfile: "$W/unbound.pid"
    logfile: "$W/unbound.log"
    use-syslog: no
    verbosity: 1
    module-config: "validator iterator"
    qname-minimisation: no
C
		printf '%s\n' "${UB_ANCHORS:-}" | while IFS= read -r _a; do
			[ -z "$_a" ] || printf '    trust-anchor: "%s"\n' "$_a"
		done
		[ -z "${UB_EXTRA:-}" ] || printf '%s\n' "$UB_EXTRA" | sed 's/^ */    /'
		printf 'remote-control:\n    control-enable: no\n'
		for _z in "$@"; do
			printf 'stub-zone:\n    name: "%s"\n    stub-addr: %s@%s\n' "$_z" "$KADDR" "$IG_PORT"
		done
	} >"$W/unbound.conf"
	"$IG_UNBOUND" -d -c "$W/unbound.conf" >"$W/unbound.out" 2>&1 8>&- &
	UB_PID=$!
	ig_track "$UB_PID"
	wait_serving "$UB_PID" d "$1"
}
# d NAME TYPE [DIG_OPTIONS]: ask the downstream Unbound; output in IG_OUT
d() {
	_name=$1 _type=$2
	shift 2
	IG_Q="$_name $_type (downstream)"
	IG_OUT=$(LC_ALL=C.UTF-8 dig @127.0.0.1 -p "$UPORT" +tries=1 +time=2 "$@" "$_name" "$_type" 2>&1)
	printf '%s\n' "$IG_OUT" >"$W/last.dig"
}
# has_ad: the last answer has AD set (validated)
has_ad() {
	case " $(ig_flags) " in *" ad "*) return 0 ;; esac
	return 1
}
