# bench/lib.sh: shell helpers shared by the benchmark scripts.  Sourced
# (POSIX sh), not run.  The caller sets `top` (the source tree) first.
#
#   bench_init NAME       check the binaries and tools, make the work
#                         directory $w (/tmp/icpguard-NAME.XXXXXX), copy the
#                         binaries into $w/bin (a concurrent `make` cannot
#                         swap them mid-run) and set $ub $uc $so $ig to the
#                         copies; install the cleanup trap
#   bench_track PID...    stop these processes at exit
#   bench_stop PID        stop one now (TERM, bounded wait, KILL)
#   bench_port_free PORT  fail when something listens on udp PORT
#   bench_zone ZONE [TTL] [RECORD...]
#                         $w/ZONE.zone: SOA, NS at 127.0.0.2, the records
#   bench_wildcard_zone ZONE ADDR
#                         $w/ZONE.zone: "*.ZONE A ADDR" (any name resolves)
#   bench_nsd_start ADDR PORT ZONE...
#                         NSD serving $w/ZONE.zone for each ZONE on ADDR@PORT
#                         (response rate limiting off)
#   bench_unbound_conf FILE PORT MODULE_CONFIG NSADDR NSPORT ZONE...
#                         an Unbound config: one thread, 256m caches,
#                         stub-zone ZONE -> NSADDR@NSPORT for each ZONE; the
#                         caller appends dynlib:, rpz:, remote-control:
#   bench_qps PORT FILE [dnsperf args]   dnsperf, prints the QPS (integer)
#   bench_median          median of the numbers on stdin
#   bench_ratio A B       A / B to 3 decimals, n/a when B is 0 or empty
#   bench_module_setup, bench_module_report
#                         the module benchmarks' data and result table
#                         (described where they are defined)
#   bench_now             seconds since the epoch, with nanoseconds
#   bench_rcode PORT NAME the rcode Unbound on 127.0.0.1@PORT answers for
#                         NAME A (NOERROR, NXDOMAIN, ...; TIMEOUT)
#   bench_wait_rcode_ms, bench_cmd_rcode_ms
#                         the same to the millisecond, the second timing a
#                         command it starts itself (described below)
#   bench_wait_rcode PORT NAME RCODE TIMEOUT [T0]
#                         poll every 50 ms until NAME gets RCODE; prints
#                         the seconds since T0 (a bench_now value; default:
#                         the call); fails after TIMEOUT seconds

bench_pids=""
bench_keep=""

bench_die() {
	echo "bench: $*" >&2
	exit 2
}

# bench_builddir: where icpguard was built: $ICPGUARD_BUILDDIR, else
# build/obj (tools/check, tools/demo), else the source tree (in place)
bench_builddir() {
	if [ -n "${ICPGUARD_BUILDDIR:-}" ]; then
		echo "$ICPGUARD_BUILDDIR"
	elif [ -f "$top/build/obj/module/.libs/icpguard.so" ]; then
		echo "$top/build/obj"
	else
		echo "$top"
	fi
}

bench_init() {
	ub=$top/build/unbound/prefix/sbin/unbound
	uc=$top/build/unbound/prefix/sbin/unbound-control
	bd=$(bench_builddir)
	so=$bd/module/.libs/icpguard.so
	ig=$bd/tools/icpguard
	for f in "$ub" "$uc" "$so" "$ig"; do
		[ -f "$f" ] || bench_die "missing $f (run tools/unbound-build and make)"
	done
	for t in dnsperf nsd dig awk; do
		command -v $t >/dev/null || bench_die "$t missing (tools/deps)"
	done
	w=$(mktemp -d "/tmp/icpguard-$1.XXXXXX")
	trap bench_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	mkdir "$w/bin"
	cp "$ub" "$uc" "$so" "$ig" "$ig-tool" "$w/bin/"
	ub=$w/bin/unbound uc=$w/bin/unbound-control
	so=$w/bin/icpguard.so ig=$w/bin/icpguard
}

bench_track() {
	bench_pids="$bench_pids $*"
}

# stop PID: TERM, up to 10 s for it to go, then KILL
bench_stop() {
	kill "$1" 2>/dev/null || return 0
	_i=0
	while [ $_i -lt 100 ] && kill -0 "$1" 2>/dev/null; do
		sleep 0.1
		_i=$((_i + 1))
	done
	kill -9 "$1" 2>/dev/null || true
	bench_pids=$(echo "$bench_pids" | tr ' ' '\n' | grep -vx "$1" | tr '\n' ' ')
}

bench_cleanup() {
	for _p in $bench_pids; do
		kill "$_p" 2>/dev/null || true
	done
	for _p in $bench_pids; do
		_i=0
		while [ $_i -lt 50 ] && kill -0 "$_p" 2>/dev/null; do
			sleep 0.1
			_i=$((_i + 1))
		done
		kill -9 "$_p" 2>/dev/null || true
	done
	bench_pids=""
	if [ -n "${w:-}" ] && [ -d "$w" ]; then
		if [ -n "$bench_keep" ]; then
			echo "bench: kept $w" >&2
		else
			rm -rf "$w"
		fi
	fi
}

bench_port_free() {
	if ss -Hlnu "sport = :$1" 2>/dev/null | grep -q .; then
		bench_die "udp port $1 is in use (another benchmark running?)"
	fi
}

bench_zone() {
	# bench_zone ZONE [TTL] [RECORD...]: $w/ZONE.zone with the SOA, the NS
	# ns.ZONE at 127.0.0.2 and one line per RECORD
	_z=$1 _ttl=${2:-3600}
	shift
	[ $# -gt 0 ] && shift
	{
		printf '$TTL %s\n%s. IN SOA ns.%s. host.%s. 1 3600 600 86400 %s\n' \
			"$_ttl" "$_z" "$_z" "$_z" "$_ttl"
		printf '%s. IN NS ns.%s.\nns.%s. IN A 127.0.0.2\n' "$_z" "$_z" "$_z"
		for _r in "$@"; do printf '%s\n' "$_r"; done
	} > "$w/$_z.zone"
}

bench_wildcard_zone() {
	bench_zone "$1" 3600 "*.$1. IN A $2"
}

bench_nsd_start() {
	_addr=$1 _port=$2
	shift 2
	cat > "$w/nsd.conf" <<C
server:
  ip-address: $_addr@$_port
  port: $_port
  zonesdir: "$w"
  pidfile: "$w/nsd.pid"
  xfrdfile: "$w/xfrd.state"
  zonelistfile: "$w/zone.list"
  database: ""
  username: ""
  logfile: "$w/nsd.log"
  server-count: 1
  # response rate limiting is on by default (200 qps per source, answers
  # from one wildcard counted together): it would drop the resolver's
  # cache-miss traffic
  rrl-ratelimit: 0
  rrl-whitelist-ratelimit: 0
remote-control:
  control-enable: yes
  control-interface: "$w/nsd.ctl"
C
	for _z in "$@"; do
		printf 'zone:\n  name: "%s"\n  zonefile: "%s.zone"\n' "$_z" "$_z" \
			>> "$w/nsd.conf"
	done
	nsd -c "$w/nsd.conf" || bench_die "nsd did not start (see $w/nsd.log)"
	_i=0
	while [ $_i -lt 100 ] && ! [ -s "$w/nsd.pid" ]; do
		sleep 0.1
		_i=$((_i + 1))
	done
	[ -s "$w/nsd.pid" ] || bench_die "nsd wrote no pid file"
	bench_track "$(cat "$w/nsd.pid")"
	_i=0
	while [ $_i -lt 50 ] && ! dig +time=1 +tries=1 -p "$_port" "@$_addr" \
		"ns.$1" A >/dev/null 2>&1; do
		sleep 0.1
		_i=$((_i + 1))
	done
}

# bench_nsd_queries: queries the NSD of bench_nsd_start received so far
bench_nsd_queries() {
	nsd-control -c "$w/nsd.conf" stats_noreset 2>/dev/null |
		sed -n 's/^num\.queries=\([0-9]*\)$/\1/p'
}

# bench_upstream_per_query QUERIES NSD_BEFORE: upstream queries per client
#	query since NSD_BEFORE (bench_nsd_queries), 3 decimals
bench_upstream_per_query() {
	awk -v q="$1" -v b="$2" -v a="$(bench_nsd_queries)" 'BEGIN {
		if(q > 0 && a != "") printf "%.3f", (a - b) / q; else print "n/a" }'
}

bench_unbound_conf() {
	_f=$1 _port=$2 _mc=$3 _nsa=$4 _nsp=$5
	shift 5
	cat > "$_f" <<C
server:
  interface: 127.0.0.1@$_port
  port: $_port
  chroot: ""
  username: ""
  directory: "$w"
  pidfile: "$_f.pid"
  logfile: "$_f.log"
  verbosity: 0
  num-threads: 1
  do-not-query-localhost: no
  msg-cache-size: 256m
  rrset-cache-size: 256m
  outgoing-range: 4096
  num-queries-per-thread: 4096
  so-reuseport: no
  minimal-responses: yes
  ede: yes
  module-config: "$_mc"
C
	for _z in "$@"; do
		printf 'stub-zone:\n  name: "%s"\n  stub-addr: %s@%s\n' \
			"$_z" "$_nsa" "$_nsp" >> "$_f"
	done
}

bench_qps() {
	_port=$1 _file=$2
	shift 2
	dnsperf -s 127.0.0.1 -p "$_port" -d "$_file" -c 4 -q 200 -t 2 "$@" \
		2>/dev/null | awk '/Queries per second/ { print int($4) }'
}

bench_median() {
	sort -n | awk '{ a[NR] = $1 } END { if(NR) print a[int((NR + 1) / 2)] }'
}

bench_ratio() {
	awk -v a="$1" -v b="$2" 'BEGIN {
		if(a != "" && b != "" && b + 0 > 0) printf "%.3f", a / b
		else print "n/a" }'
}

bench_now() {
	date +%s.%N
}

bench_rcode() {
	_r=$(dig +time=1 +tries=1 +noall +comments -p "$1" @127.0.0.1 "$2" A \
		2>/dev/null | sed -n 's/.*status: \([A-Z]*\),.*/\1/p')
	echo "${_r:-TIMEOUT}"
}

# bench_wait_rcode_ms PORT NAME RCODE LIMIT_S [T0]: ask NAME (A, UDP) every
#	half millisecond until an answer's rcode is RCODE; prints the ms since
#	T0 (bench_now; default: now) with one decimal, or returns 1 after
#	LIMIT_S seconds.  Python starts in about 0.3 s on the benchmark
#	machine: a T0 taken before the call counts that start; to time a
#	command, use bench_cmd_rcode_ms
bench_wait_rcode_ms() {
	bench_rcode_py "$1" "$2" "$3" "$4" "${5:-}" ""
}

# bench_cmd_rcode_ms PORT NAME RCODE LIMIT_S LOG CMD...: start CMD (output
#	appended to LOG) from a ready checker and ask NAME as above meanwhile;
#	prints the ms from CMD's start to the first answer with RCODE, and
#	when CMD started (seconds since the epoch); waits for CMD too.  Returns 1 when RCODE is not seen within LIMIT_S seconds
#	or CMD fails (its status is appended to LOG)
bench_cmd_rcode_ms() {
	_p=$1 _n=$2 _r=$3 _l=$4 _log=$5
	shift 5
	bench_rcode_py "$_p" "$_n" "$_r" "$_l" "" "$_log" "$@"
}

# the checker of the two above: PORT NAME RCODE LIMIT_S T0 LOG [CMD...]
bench_rcode_py() {
	python3 - "$@" <<'PY'
import socket, struct, subprocess, sys, time
port, name, want, limit = int(sys.argv[1]), sys.argv[2], sys.argv[3], float(sys.argv[4])
t0, log, cmd = sys.argv[5], sys.argv[6], sys.argv[7:]
want = {"NOERROR": 0, "SERVFAIL": 2, "NXDOMAIN": 3, "REFUSED": 5}[want]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.001)
q = struct.pack(">HHHHHH", 1, 0x0100, 1, 0, 0, 0)
for l in name.rstrip(".").split("."):
    q += bytes([len(l)]) + l.encode()
q += b"\0" + struct.pack(">HH", 1, 1)
proc = None
if cmd:
    out = open(log, "a")
    t0 = time.time()
    proc = subprocess.Popen(cmd, stdout=out, stderr=out)
else:
    t0 = float(t0) if t0 else time.time()
seen = None
while seen is None:
    s.sendto(q, ("127.0.0.1", port))
    # every reply waiting is read: all were asked after T0, so any of
    # them with the rcode counts; reading one a turn let a backlog of
    # stale replies (Unbound answers the queries it held for a name at
    # once) keep the reply to the newest query unread for ever
    try:
        while seen is None:
            r = s.recv(4096)
            if len(r) >= 4 and r[3] & 0xf == want:
                seen = (time.time() - t0) * 1000
    except socket.timeout:
        pass
    if seen is None and time.time() - t0 > limit:
        break
    time.sleep(0.0005)
rc = proc.wait() if proc else 0
if rc != 0:
    out.write("command failed: status %d\n" % rc)
if seen is None or rc != 0:
    sys.exit(1)
print("%.1f" % seen + (" %.6f" % t0 if proc else ""))
PY
}

bench_wait_rcode() {
	_t0=${5:-$(bench_now)}
	_end=$(awk -v t="$(bench_now)" -v d="$4" 'BEGIN { printf "%.3f", t + d }')
	while :; do
		if [ "$(bench_rcode "$1" "$2")" = "$3" ]; then
			awk -v a="$_t0" -v b="$(bench_now)" \
				'BEGIN { printf "%.2f\n", b - a }'
			return 0
		fi
		awk -v e="$_end" -v n="$(bench_now)" 'BEGIN { exit !(n > e) }' &&
			return 1
		sleep 0.05
	done
}

# bench_module_setup NSPORT PLAINPORT MODPORT NMISSFILES NMISS
#	the data of the module benchmarks: $w/cn.zone (wildcards under
#	filed-bench.cn and blk-bench.cn), $w/com.zone (a wildcard under
#	abroad-bench.com, NXDOMAIN elsewhere), a snapshot filing filed-bench.cn
#	and blacklisting blk-bench.cn, $w/plain.conf and $w/mod.conf (Unbound
#	without and with the module, stub zones cn and com), $w/hit.txt and
#	$w/blocked.txt (1000 names each), and NMISSFILES files each of NMISS
#	unique names: $w/missR.txt (filed), $w/unfiledR.txt (unfiled,
#	foreign address), $w/nxR.txt (nonexistent)
bench_module_setup() {
	nsport=$1 plain=$2 mod=$3 _nfiles=$4 _nmiss=$5
	echo "bench: zones and policy in $w"
	bench_zone cn 3600 "*.filed-bench.cn. IN A 127.0.10.1" \
		"*.blk-bench.cn. IN A 127.0.10.2"
	# com.: unfiled foreign names (a foreign address) and, for every
	# other name, NXDOMAIN: most of a real resolver's misses
	bench_zone com 3600 "*.abroad-bench.com. IN A 127.0.20.1"
	mkdir -p "$w/src"
	printf 'cn\ncom\n' > "$w/src/tlds.txt"
	printf '{"domain":"filed-bench.cn","number":"京ICP备16020626号-1"}\n' > "$w/src/filings.jsonl"
	printf '{"name":"blk-bench.cn","reason":"bench"}\n' > "$w/src/blacklist.jsonl"
	printf 'range\n127.0.10.0/24\n' > "$w/src/domestic.csv"
	"$ig" build --quiet --source "$w/src" --out "$w/snapshot.mdb"
	printf 'snapshot: %s\nlog-blocks: no\n' "$w/snapshot.mdb" > "$w/icpguard.conf"
	bench_unbound_conf "$w/plain.conf" "$plain" "validator iterator" 127.0.0.2 "$nsport" cn com
	bench_unbound_conf "$w/mod.conf" "$mod" "validator dynlib iterator" 127.0.0.2 "$nsport" cn com
	printf 'dynlib:\n  dynlib-file: "%s"\n' "$so" >> "$w/mod.conf"
	for _k in plain mod; do
		printf 'remote-control:\n  control-enable: no\n' >> "$w/$_k.conf"
	done
	awk -v w="$w" 'BEGIN { for(i = 0; i < 1000; i++) {
		printf "w%d.filed-bench.cn A\n", i > (w "/hit.txt")
		printf "b%d.blk-bench.cn A\n", i > (w "/blocked.txt") } }'
	_r=0
	while [ $_r -lt "$_nfiles" ]; do
		awk -v n="$_nmiss" -v r="$_r" -v w="$w" 'BEGIN { for(i = 0; i < n; i++) {
			printf "m%d-%d.filed-bench.cn A\n", r, i > (w "/miss" r ".txt")
			printf "u%d-%d.abroad-bench.com A\n", r, i > (w "/unfiled" r ".txt")
			printf "nx%d-%d-bench.com A\n", r, i > (w "/nx" r ".txt") } }'
		_r=$((_r+1))
	done
}

# bench_module_report HEADING PLAINCOL MODCOL qps|cost
#	the three rows of the module benchmarks from $w/res (lines "KIND
#	plain|mod VALUE", the median of each): cache hit, cache miss, blocked
#	vs allowed; qps: ratio icpguard / plain, cost: plain / icpguard
bench_module_report() {
	_get() { awk -v a="$1" -v b="$2" '$1 == a && $2 == b { print $3 }' "$w/res" | bench_median; }
	_r() { if [ "$4" = qps ]; then bench_ratio "$2" "$1"; else bench_ratio "$1" "$2"; fi; }
	_hp=$(_get hit plain) _hm=$(_get hit mod) _bm=$(_get blocked mod)
	_mp=$(_get miss plain) _mm=$(_get miss mod)
	printf '\n%-34s %12s %12s %8s %8s\n' "$1" "$2" "$3" ratio target
	printf '%-34s %12s %12s %8s %8s\n' "cache hit, filed names" "$_hp" "$_hm" "$(_r "$_hp" "$_hm" x "$4")" ">=0.98"
	printf '%-34s %12s %12s %8s %8s\n' "cache miss, filed names" "$_mp" "$_mm" "$(_r "$_mp" "$_mm" x "$4")" ">=0.95"
	for _k in unfiled nx; do
		_p=$(_get "$_k" plain) _m=$(_get "$_k" mod)
		[ -n "$_p$_m" ] || continue
		[ $_k = nx ] && _t="cache miss, nonexistent names" || _t="cache miss, unfiled foreign names"
		printf '%-34s %12s %12s %8s %8s\n' "$_t" "$_p" "$_m" "$(_r "$_p" "$_m" x "$4")" ">=0.95"
	done
	printf '%-34s %12s %12s %8s %8s\n' "blocked vs allowed, from cache" "$_hm" "$_bm" "$(_r "$_hm" "$_bm" x "$4")" ">=0.95"
	if grep -q '^up ' "$w/res"; then
		printf '\n%-34s %12s %12s\n' "upstream queries per client query" plain icpguard
		for _k in miss unfiled nx; do
			_p=$(awk -v k="$_k" '$1 == "up" && $2 == k && $3 == "plain" { print $4 }' "$w/res" | bench_median)
			_m=$(awk -v k="$_k" '$1 == "up" && $2 == k && $3 == "mod" { print $4 }' "$w/res" | bench_median)
			case $_k in miss) _t="cache miss, filed names" ;; unfiled) _t="cache miss, unfiled foreign names" ;; nx) _t="cache miss, nonexistent names" ;; esac
			printf '%-34s %12s %12s\n' "$_t" "$_p" "$_m"
		done
	fi
}
